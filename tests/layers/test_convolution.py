"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

Every number is checked against a naive NumPy loop, and, when Keras 3 is installed, against
Keras with the same weights.
"""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina._runtime import config

sys.path.insert(0, os.path.dirname(__file__))
import _spatial_helpers as helpers


# ----------------------------------------------------------------------------- references
def same_padding(sizes, kernel, strides, dilation):
    """TensorFlow's "same" padding: the odd extra entry goes after."""
    pads = []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def ref_conv(x, w, strides, dilation, pads, groups=1):
    """Channels-last cross-correlation by explicit loops over output positions and taps."""
    x = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    rank = x.ndim - 2
    ksize = w.shape[:rank]
    out_sizes = [(x.shape[1 + i] - dilation[i] * (ksize[i] - 1) - 1) // strides[i] + 1
                 for i in range(rank)]
    cin, filters = w.shape[-2:]
    per = filters // groups
    out = np.zeros((x.shape[0], *out_sizes, filters))
    for pos in np.ndindex(*out_sizes):
        for tap in np.ndindex(*ksize):
            index = tuple(p * s + t * d for p, t, s, d in zip(pos, tap, strides, dilation))
            patch = x[(slice(None), *index)]
            for g in range(groups):
                out[(slice(None), *pos, slice(g * per, (g + 1) * per))] += \
                    patch[:, g * cin:(g + 1) * cin] @ w[tap][:, g * per:(g + 1) * per]
    return out


def transposed_length(n, k, s, d, padding, output_padding):
    """Keras 3's documented output length of a transposed convolution."""
    k = (k - 1) * d + 1
    if padding == "valid":
        return (n - 1) * s + k + (max(k, s) - k if output_padding is None else output_padding)
    return n * s if output_padding is None else (n - 1) * s + k % 2 + output_padding


def ref_conv_transpose(x, w, strides, dilation, padding, output_padding):
    """Each input position adds `x[pos] @ w[tap].T` at `pos * s + tap * d`; the output window
    starts where a forward "same" convolution back to the input would start reading."""
    rank = x.ndim - 2
    ksize = w.shape[:rank]
    sizes = x.shape[1:-1]
    ops = output_padding or (None,) * rank
    lengths = [transposed_length(n, k, s, d, padding, p)
               for n, k, s, d, p in zip(sizes, ksize, strides, dilation, ops)]
    crops = [max((n - 1) * s + (k - 1) * d + 1 - length, 0) // 2
             for n, k, s, d, length in zip(sizes, ksize, strides, dilation, lengths)]
    full = np.zeros((x.shape[0], *[c + length + max(ksize) * max(strides) * 2
                                   for c, length in zip(crops, lengths)], w.shape[-2]))
    for pos in np.ndindex(*sizes):
        for tap in np.ndindex(*ksize):
            index = tuple(p * s + t * d for p, t, s, d in zip(pos, tap, strides, dilation))
            full[(slice(None), *index)] += x[(slice(None), *pos)].astype(np.float64) @ w[tap].T
    return full[(slice(None), *[slice(c, c + length) for c, length in zip(crops, lengths)])]


def ref_depthwise(x, w, strides, dilation, pads):
    channels, multiplier = w.shape[-2:]
    outs = [ref_conv(x[..., c:c + 1], w[..., c:c + 1, m:m + 1], strides, dilation, pads)
            for c in range(channels) for m in range(multiplier)]
    return np.concatenate(outs, axis=-1)  # channel c * multiplier + m


def _tuple(value, rank):
    return (value,) * rank if isinstance(value, int) else tuple(value)


def reference(layer, x):
    """The NumPy result for a built lamina layer on input `x` (any data_format)."""
    fmt = layer.data_format
    x = helpers.to_channels_last(x, fmt)
    rank = layer.rank
    strides, dilation = _tuple(layer.strides, rank), _tuple(layer.dilation_rate, rank)
    weights = layer.get_weights()
    name = type(layer).__name__
    if "Transpose" in name:
        out = ref_conv_transpose(x, weights[0], strides, dilation, layer.padding,
                                 layer.output_padding)
    else:
        if layer.padding == "causal":
            pads = [((layer.kernel_size[0] - 1) * dilation[0], 0)]
        elif layer.padding == "same":
            pads = same_padding(x.shape[1:-1], layer.kernel_size, strides, dilation)
        else:
            pads = [(0, 0)] * rank
        if name.startswith("Depthwise"):
            out = ref_depthwise(x, weights[0], strides, dilation, pads)
        elif name.startswith("Separable"):
            out = ref_depthwise(x, weights[0], strides, dilation, pads)
            out = out @ weights[1].reshape(weights[1].shape[-2:])
        else:
            out = ref_conv(x, weights[0], strides, dilation, pads, groups=layer.groups)
    if layer.use_bias:
        out = out + weights[-1]
    if layer.activation is lamina.activations.relu:
        out = np.maximum(out, 0)
    return helpers.to_channels_first(out, fmt)


# ----------------------------------------------------------------------------- cases
CF = "channels_first"
CASES = [
    ("Conv1D", (3, 3), {}, (2, 7, 2)),
    ("Conv1D", (2, 3), {"padding": "causal", "dilation_rate": 2}, (2, 7, 2)),
    ("Conv1D", (4, 2), {"padding": "same", "strides": 2, "groups": 2, "data_format": CF},
     (2, 4, 7)),
    ("Conv2D", (3, 3), {"padding": "same", "strides": 2}, (2, 6, 5, 2)),
    ("Conv2D", (4, (3, 2)), {"dilation_rate": (2, 1), "activation": "relu", "groups": 2},
     (1, 7, 5, 4)),
    ("Conv2D", (2, 3), {"padding": "same", "data_format": CF, "use_bias": False},
     (1, 3, 5, 4)),
    ("Conv3D", (2, 2), {"padding": "same", "strides": (1, 2, 2)}, (1, 3, 4, 5, 2)),
    ("Conv3D", (2, 2), {"data_format": CF}, (1, 2, 3, 4, 3)),
    ("Conv1DTranspose", (2, 3), {"strides": 2, "padding": "same"}, (2, 4, 3)),
    ("Conv1DTranspose", (2, 4), {"strides": 3, "output_padding": 2}, (1, 3, 2)),
    ("Conv1DTranspose", (2, 3), {"dilation_rate": 2, "data_format": CF}, (1, 2, 4)),
    ("Conv2DTranspose", (3, 3), {"strides": 2, "padding": "same", "output_padding": 1},
     (1, 3, 4, 2)),
    ("Conv2DTranspose", (2, (4, 2)), {"strides": (2, 3), "padding": "same"}, (1, 3, 2, 2)),
    ("Conv2DTranspose", (2, 2), {"strides": 3, "data_format": CF}, (1, 2, 2, 3)),
    ("Conv3DTranspose", (2, 2), {"strides": 2, "padding": "same"}, (1, 2, 2, 3, 2)),
    ("DepthwiseConv1D", (3,), {"depth_multiplier": 2, "padding": "same"}, (2, 6, 3)),
    ("DepthwiseConv2D", (3,), {"strides": 2, "depth_multiplier": 2}, (1, 6, 5, 2)),
    ("DepthwiseConv2D", ((2, 3),), {"padding": "same", "dilation_rate": 2, "data_format": CF},
     (1, 3, 5, 5)),
    ("SeparableConv1D", (3, 3), {"strides": 2, "depth_multiplier": 2}, (2, 7, 2)),
    ("SeparableConv2D", (4, 3), {"padding": "same"}, (1, 5, 4, 3)),
    ("SeparableConv2D", (2, 2), {"dilation_rate": 2, "data_format": CF}, (1, 2, 5, 5)),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_numpy_reference_and_output_shape(case):
    layer, x, y = helpers.built_layer(*case)
    assert y.shape == tuple(layer.compute_output_shape(x.shape))
    np.testing.assert_allclose(y, reference(layer, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_keras(case):
    helpers.check_against_keras(*case)


@pytest.mark.parametrize("case", CASES[::3], ids=IDS[::3])
def test_gradients_are_finite(case):
    layer, x, _ = helpers.built_layer(*case)
    helpers.check_gradients(layer, x)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_round_trip(case):
    helpers.check_config_round_trip(helpers.built_layer(*case)[0])


@pytest.mark.parametrize("name", sorted({name for name, *_ in CASES}))
def test_constructor_signature_matches_keras(name):
    helpers.check_signature_matches_keras(name)


def make(class_name, /, *args, **kwargs):
    """A lamina layer with constant initial weights (cheaper to create than random ones)."""
    return getattr(lamina.layers, class_name)(
        *args, **{**helpers.constant_initializers(class_name), **kwargs})


def test_weight_names_shapes_and_order_follow_keras():
    shape = (1, 6, 6, 4)
    expected = {
        make("Conv2D", 8, 3, groups=2, name="c"): [("c/kernel", (3, 3, 2, 8)), ("c/bias", (8,))],
        make("Conv2DTranspose", 8, (3, 2), name="t"): [("t/kernel", (3, 2, 8, 4)),
                                                       ("t/bias", (8,))],
        make("DepthwiseConv2D", 3, depth_multiplier=2, name="d"): [
            ("d/kernel", (3, 3, 4, 2)), ("d/bias", (8,))],
        make("SeparableConv2D", 5, 3, depth_multiplier=2, name="s"): [
            ("s/depthwise_kernel", (3, 3, 4, 2)), ("s/pointwise_kernel", (1, 1, 8, 5)),
            ("s/bias", (5,))],
        make("Conv2D", 2, 1, use_bias=False, name="n"): [("n/kernel", (1, 1, 4, 2))],
    }
    for layer, names in expected.items():
        layer.build(shape)
        assert [(v.path, v.shape) for v in layer.weights] == names
        assert all(v.trainable for v in layer.weights)


def test_default_initializers_are_glorot_uniform_and_zeros():
    layer = lamina.layers.Conv1D(3, 2)
    layer.build((1, 4, 2))
    limit = np.sqrt(6 / (2 * 2 + 2 * 3))  # fan_in = 2 taps * 2 channels, fan_out = 2 * 3
    kernel = layer.kernel.numpy()
    assert np.all(np.abs(kernel) <= limit) and np.std(kernel) > 0
    assert np.all(layer.bias.numpy() == 0)


@pytest.mark.parametrize("name, args", [
    ("Conv2D", (2, 3)), ("Conv2DTranspose", (2, 3)), ("SeparableConv2D", (2, 3)),
    ("DepthwiseConv2D", (3,))])
def test_compiled_call_matches_eager_and_has_no_per_element_loops(name, args):
    layer, x, y = helpers.built_layer(name, args, {"padding": "same"}, (1, 5, 5, 2))
    compiled = lamina.function(lambda inputs: layer(inputs))
    np.testing.assert_allclose(compiled(x), y, rtol=1e-6, atol=1e-6)

    def forward_and_gradient(inputs):
        return jax.grad(lambda v: jnp.sum(layer(v) ** 2))(inputs)

    small = jax.make_jaxpr(forward_and_gradient)(x)
    large = jax.make_jaxpr(forward_and_gradient)(np.ones((3, 9, 9, 2), np.float32))
    # The program does not grow with the input: no Python loops over positions.
    assert len(small.eqns) == len(large.eqns) < 30
    # On CPU a transposed convolution is made of GEMMs, slices and pads (fast inside fit's loop).
    transposed_on_cpu = name == "Conv2DTranspose" and jax.default_backend() == "cpu"
    assert ("dot_general" if transposed_on_cpu else "conv_general_dilated") in str(small)


def test_symbolic_shapes_with_unknown_sizes():
    inputs = lamina.layers.Input(shape=(None, None, 3))
    assert make("Conv2D", 4, 3, strides=2)(inputs).shape == (None, None, None, 4)
    assert make("Conv2DTranspose", 2, 3, strides=2)(inputs).shape == (None, None, None, 2)
    fixed = lamina.layers.Input(shape=(9, 8, 3))
    assert make("Conv2D", 4, 3, strides=2)(fixed).shape == (None, 4, 3, 4)
    assert make("SeparableConv2D", 4, 3, padding="same")(fixed).shape == (None, 9, 8, 4)
    assert make("DepthwiseConv2D", 3, depth_multiplier=3)(fixed).shape == (None, 7, 6, 9)
    assert make("Conv2DTranspose", 2, 3, strides=2, padding="same",
                output_padding=0)(fixed).shape == (None, 17, 15, 2)


def test_data_format_none_follows_the_global_setting():
    previous = config.image_data_format()
    try:
        config.set_image_data_format("channels_first")
        layer = make("Conv2D", 4, 3)
        assert layer.data_format == "channels_first"
        assert layer(np.ones((1, 2, 5, 5), np.float32)).shape == (1, 4, 3, 3)
    finally:
        config.set_image_data_format(previous)
    assert lamina.layers.Conv2D(4, 3).data_format == "channels_last"


def test_mixed_precision_computes_in_half_and_stores_float32():
    layer = make("Conv2D", 4, 3, dtype="mixed_float16")
    y = layer(np.ones((1, 5, 5, 2), np.float32))
    assert y.dtype == jnp.float16 and layer.kernel.dtype == "float32"


@pytest.mark.parametrize("make, message", [
    (lambda: lamina.layers.Conv2D(0, 3), "`filters` must be a positive integer"),
    (lambda: lamina.layers.Conv2D(4, (3, 3, 3)), "tuple of 2 ints"),
    (lambda: lamina.layers.Conv2D(4, 3, padding="full"), "Received: padding='full'"),
    (lambda: lamina.layers.Conv2D(4, 3, padding="causal"), "only for Conv1D"),
    (lambda: lamina.layers.Conv2D(4, 3, strides=2, dilation_rate=2), "cannot be combined"),
    (lambda: lamina.layers.Conv2D(5, 3, groups=2), "divisible by `groups`"),
    (lambda: lamina.layers.Conv2D(4, 3, data_format="NHWC"), "data_format='NHWC'"),
    (lambda: lamina.layers.Conv2DTranspose(4, 3, strides=2, output_padding=2),
     "smaller than the matching stride"),
    (lambda: lamina.layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
    (lambda: lamina.layers.SeparableConv1D(2, 0), "`kernel_size` must be >= 1"),
])
def test_constructor_errors_say_what_and_how(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_input_errors_name_the_layer():
    layer = make("Conv2D", 4, 3, name="features")
    with pytest.raises(ValueError, match="layer 'features'.*expected ndim=4, found ndim=3"):
        layer(np.ones((2, 5, 3), np.float32))
    layer(np.ones((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="layer 'features'.*axis -1 .* size 3"):
        layer(np.ones((1, 5, 5, 4), np.float32))
    with pytest.raises(ValueError, match="Conv2D 'features': the output would have size 0"):
        layer(np.ones((1, 2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="divisible by groups=2"):
        make("Conv2D", 4, 3, groups=2)(np.ones((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match="number of input channels"):
        make("Conv1D", 4, 3)(lamina.layers.Input(shape=(5, None)))
