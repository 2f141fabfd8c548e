"""Padding, cropping and upsampling layers: ZeroPadding*, Cropping*, UpSampling*."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina

sys.path.insert(0, os.path.dirname(__file__))
import _spatial_helpers as helpers


def pairs(value, rank):
    if isinstance(value, int):
        return [(value, value)] * rank
    if rank == 1:
        return [tuple(value)]
    return [(v, v) if isinstance(v, int) else tuple(v) for v in value]


def ref_bilinear_axis(x, axis, factor):
    """Half-pixel-centre linear interpolation along one axis, edges clamped."""
    n = x.shape[axis]
    source = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, n - 1)
    weight = (source - low).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
    return np.take(x, low, axis) * (1 - weight) + np.take(x, high, axis) * weight


def reference(layer, x):
    """The NumPy result, computed channels-last."""
    name = type(layer).__name__
    fmt = getattr(layer, "data_format", "channels_last")
    x = helpers.to_channels_last(x, fmt).astype(np.float64)
    rank = x.ndim - 2
    if name.startswith("ZeroPadding"):
        out = np.pad(x, [(0, 0), *pairs(layer.padding, rank), (0, 0)])
    elif name.startswith("Cropping"):
        index = [slice(None)]
        for n, (start, end) in zip(x.shape[1:-1], pairs(layer.cropping, rank)):
            index.append(slice(start, n - end))
        out = x[tuple(index)]
    else:
        sizes = (layer.size,) * rank if isinstance(layer.size, int) else layer.size
        out = x
        for axis, factor in enumerate(sizes, start=1):
            if getattr(layer, "interpolation", "nearest") == "bilinear":
                out = ref_bilinear_axis(out, axis, factor)
            else:
                out = np.repeat(out, factor, axis=axis)
    return helpers.to_channels_first(out, fmt)


CF = "channels_first"
CASES = [
    ("ZeroPadding1D", (), {}, (2, 4, 3)),
    ("ZeroPadding1D", ((1, 2),), {"data_format": CF}, (2, 3, 4)),
    ("ZeroPadding2D", (), {}, (1, 3, 4, 2)),
    ("ZeroPadding2D", (((1, 0), (2, 3)),), {"data_format": CF}, (1, 2, 3, 4)),
    ("ZeroPadding2D", ((2, 0),), {}, (1, 3, 4, 2)),
    ("ZeroPadding3D", ((1, (0, 2), 0),), {}, (1, 2, 3, 2, 2)),
    ("Cropping1D", (), {}, (2, 5, 3)),
    ("Cropping1D", ((0, 2),), {}, (2, 5, 3)),
    ("Cropping2D", (((1, 0), (1, 2)),), {}, (1, 5, 6, 2)),
    ("Cropping2D", (1,), {"data_format": CF}, (1, 2, 4, 5)),
    ("Cropping3D", (), {}, (1, 4, 3, 5, 2)),
    ("Cropping3D", (((0, 1), 0, (2, 0)),), {"data_format": CF}, (1, 2, 3, 3, 4)),
    ("UpSampling1D", (3,), {}, (2, 4, 3)),
    ("UpSampling2D", (), {}, (1, 3, 2, 2)),
    ("UpSampling2D", ((2, 3),), {"data_format": CF}, (1, 2, 3, 2)),
    ("UpSampling2D", ((2, 3),), {"interpolation": "bilinear"}, (1, 3, 4, 2)),
    ("UpSampling2D", (2,), {"interpolation": "bilinear", "data_format": CF}, (1, 2, 3, 4)),
    ("UpSampling3D", ((1, 2, 3),), {}, (1, 2, 2, 2, 2)),
    ("UpSampling3D", (2,), {"data_format": CF}, (1, 2, 2, 1, 2)),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_numpy_reference_and_output_shape(case):
    layer, x, y = helpers.built_layer(*case)
    assert y.shape == tuple(layer.compute_output_shape(x.shape))
    np.testing.assert_allclose(y, reference(layer, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_keras(case):
    helpers.check_against_keras(*case)


@pytest.mark.parametrize("case", CASES[1::3], ids=IDS[1::3])
def test_gradients_are_finite(case):
    layer, x, _ = helpers.built_layer(*case)
    helpers.check_gradients(layer, x)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_round_trip(case):
    helpers.check_config_round_trip(helpers.built_layer(*case)[0])


@pytest.mark.parametrize("name", sorted({name for name, *_ in CASES}))
def test_constructor_signature_matches_keras(name):
    helpers.check_signature_matches_keras(name)


def test_upsampling_bilinear_is_exact_on_a_tiny_image():
    x = np.array([[0.0, 4.0]], np.float32).reshape(1, 1, 2, 1)
    y = lamina.layers.UpSampling2D((1, 2), interpolation="bilinear")(x)
    assert y[0, 0, :, 0].tolist() == [0.0, 1.0, 3.0, 4.0]


@pytest.mark.parametrize("case", [CASES[3], CASES[8], CASES[15]], ids=[IDS[3], IDS[8], IDS[15]])
def test_compiled_call_matches_eager_and_has_no_per_element_loops(case):
    layer, x, y = helpers.built_layer(*case)
    np.testing.assert_allclose(lamina.function(lambda v: layer(v))(x), y, rtol=1e-6)

    def forward_and_gradient(inputs):
        return jax.grad(lambda v: jnp.sum(layer(v) ** 2))(inputs)

    small = jax.make_jaxpr(forward_and_gradient)(x)
    large = jax.make_jaxpr(forward_and_gradient)(np.ones(
        [n * 3 for n in x.shape[:-1]] + [x.shape[-1]], np.float32))
    assert len(small.eqns) == len(large.eqns)


def test_symbolic_shapes_with_unknown_sizes():
    inputs = lamina.layers.Input(shape=(None, 6, 3))
    assert lamina.layers.ZeroPadding2D(1)(inputs).shape == (None, None, 8, 3)
    assert lamina.layers.Cropping2D(((1, 1), (2, 1)))(inputs).shape == (None, None, 3, 3)
    assert lamina.layers.UpSampling2D(2)(inputs).shape == (None, None, 12, 3)
    assert lamina.layers.UpSampling2D(2, interpolation="bilinear")(inputs).shape == \
        (None, None, 12, 3)


def test_errors_say_what_and_how():
    with pytest.raises(ValueError, match="`padding` must be an int, a tuple of 2 ints"):
        lamina.layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="`cropping` cannot be negative"):
        lamina.layers.Cropping2D(-1)
    with pytest.raises(ValueError, match=r"every value of `1st entry of padding` must be >= 0"):
        lamina.layers.ZeroPadding2D(((-1, 0), (0, 0)))
    with pytest.raises(ValueError, match="Cropping2D 'crop': cropping .* removes everything"):
        lamina.layers.Cropping2D(2, name="crop")(np.ones((1, 4, 6, 1), np.float32))
    with pytest.raises(ValueError, match="removes everything"):
        lamina.layers.Cropping1D((2, 2))(lamina.layers.Input(shape=(4, 2)))
    with pytest.raises(TypeError, match="`size` must be an int"):
        lamina.layers.UpSampling1D((2,))
    with pytest.raises(ValueError, match="`interpolation` must be one of"):
        lamina.layers.UpSampling2D(interpolation="area")
    with pytest.raises(ValueError, match="layer 'up'.*expected ndim=4, found ndim=3"):
        lamina.layers.UpSampling2D(name="up")(np.ones((1, 4, 4), np.float32))
