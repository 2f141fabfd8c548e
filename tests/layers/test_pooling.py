"""Pooling layers: Max/AveragePooling1D/2D/3D and GlobalMax/GlobalAveragePooling1D/2D/3D."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina

sys.path.insert(0, os.path.dirname(__file__))
import _spatial_helpers as helpers


def ref_pool(x, pool, strides, padding, mode):
    """Channels-last pooling by loops; "same" pads with NaN, which nanmax/nanmean skip (so
    the average counts only real inputs)."""
    x = x.astype(np.float64)
    if padding == "same":
        pads = []
        for n, k, s in zip(x.shape[1:-1], pool, strides):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=np.nan)
    sizes = [(n - k) // s + 1 for n, k, s in zip(x.shape[1:-1], pool, strides)]
    out = np.zeros((x.shape[0], *sizes, x.shape[-1]))
    reduce = np.nanmax if mode == "max" else np.nanmean
    for pos in np.ndindex(*sizes):
        window = x[(slice(None), *[slice(p * s, p * s + k)
                                   for p, s, k in zip(pos, strides, pool)])]
        out[(slice(None), *pos)] = reduce(window.reshape(x.shape[0], -1, x.shape[-1]), axis=1)
    return out


def reference(layer, x):
    fmt = layer.data_format
    x = helpers.to_channels_last(x, fmt)
    name = type(layer).__name__
    if name.startswith("Global"):
        axes = tuple(range(1, x.ndim - 1))
        reduce = np.max if "Max" in name else np.mean
        out = reduce(x.astype(np.float64), axis=axes, keepdims=True)
        if not layer.keepdims:
            return out.reshape(x.shape[0], x.shape[-1])
    else:
        out = ref_pool(x, layer.pool_size, layer.strides, layer.padding,
                       "max" if "Max" in name else "average")
    return helpers.to_channels_first(out, fmt)


CF = "channels_first"
CASES = [
    ("MaxPooling1D", (), {}, (2, 7, 3)),
    ("MaxPooling1D", (3,), {"strides": 2, "padding": "same", "data_format": CF}, (2, 3, 8)),
    ("MaxPooling2D", (), {}, (2, 5, 5, 2)),
    ("MaxPooling2D", ((3, 2),), {"strides": (2, 1), "padding": "same"}, (1, 5, 4, 2)),
    ("MaxPooling2D", (2,), {"strides": 1, "data_format": CF}, (1, 2, 4, 3)),
    ("MaxPooling3D", (), {"padding": "same"}, (1, 3, 4, 5, 2)),
    ("AveragePooling1D", (2,), {}, (2, 7, 3)),
    ("AveragePooling1D", (3,), {"strides": 2, "padding": "same", "data_format": CF},
     (2, 3, 8)),
    ("AveragePooling2D", (3,), {"strides": 2, "padding": "same"}, (2, 5, 6, 2)),
    ("AveragePooling2D", ((2, 3),), {"strides": 1, "padding": "same", "data_format": CF},
     (1, 2, 4, 5)),
    ("AveragePooling2D", (2,), {}, (1, 5, 5, 2)),
    ("AveragePooling3D", (2,), {"strides": 1, "padding": "same"}, (1, 3, 3, 4, 2)),
    ("AveragePooling3D", (2,), {"data_format": CF}, (1, 2, 4, 4, 5)),
    ("GlobalAveragePooling1D", (), {}, (2, 5, 3)),
    ("GlobalAveragePooling1D", (), {"data_format": CF, "keepdims": True}, (2, 3, 5)),
    ("GlobalAveragePooling2D", (), {"keepdims": True}, (2, 4, 3, 2)),
    ("GlobalAveragePooling3D", (), {"data_format": CF}, (1, 2, 3, 2, 2)),
    ("GlobalMaxPooling1D", (), {"keepdims": True}, (2, 5, 3)),
    ("GlobalMaxPooling2D", (), {"data_format": CF}, (2, 3, 4, 3)),
    ("GlobalMaxPooling3D", (), {"keepdims": True}, (1, 2, 3, 2, 2)),
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


@pytest.mark.parametrize("case", CASES[1::2], ids=IDS[1::2])
def test_gradients_are_finite(case):
    layer, x, _ = helpers.built_layer(*case)
    helpers.check_gradients(layer, x)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_round_trip(case):
    helpers.check_config_round_trip(helpers.built_layer(*case)[0])


@pytest.mark.parametrize("name", sorted({name for name, *_ in CASES}))
def test_constructor_signature_matches_keras(name):
    helpers.check_signature_matches_keras(name)


def test_same_average_excludes_padding():
    x = np.arange(1.0, 4.0, dtype=np.float32).reshape(1, 3, 1)
    y = lamina.layers.AveragePooling1D(2, padding="same")(x)
    assert y[0, :, 0].tolist() == [1.5, 3.0]  # not (3 + 0) / 2


def test_max_pooling_gradient_goes_to_the_maximum():
    x = lamina.Variable(np.array([[[1.0], [5.0], [2.0], [0.0]]], np.float32))
    layer = lamina.layers.MaxPooling1D(2)
    _, grad = lamina.value_and_grad(lambda: jnp.sum(layer(x.value)), [x])()
    assert grad[0][0, :, 0].tolist() == [0.0, 1.0, 1.0, 0.0]


def test_masked_global_average_pooling_1d():
    x = np.arange(12.0, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[True, True, False], [True, False, False]])
    y = lamina.layers.GlobalAveragePooling1D()(x, mask=mask)
    np.testing.assert_allclose(y, [x[0, :2].mean(0), x[1, 0]])
    keras = helpers.keras_module()
    np.testing.assert_allclose(
        y, keras.layers.GlobalAveragePooling1D()(x, mask=mask), rtol=1e-6)


def test_compiled_call_matches_eager_and_has_no_per_element_loops():
    layer, x, y = helpers.built_layer(*CASES[8])  # AveragePooling2D, "same"
    np.testing.assert_allclose(lamina.function(lambda v: layer(v))(x), y, rtol=1e-6)

    def forward_and_gradient(inputs):
        return jax.grad(lambda v: jnp.sum(layer(v) ** 2))(inputs)

    small = jax.make_jaxpr(forward_and_gradient)(x)
    large = jax.make_jaxpr(forward_and_gradient)(np.ones((3, 17, 15, 2), np.float32))
    assert len(small.eqns) == len(large.eqns) < 20


def test_symbolic_shapes_and_built_at_construction():
    inputs = lamina.layers.Input(shape=(None, 7, 3))
    assert lamina.layers.MaxPooling2D()(inputs).shape == (None, None, 3, 3)
    assert lamina.layers.AveragePooling2D(3, 2, "same")(inputs).shape == (None, None, 4, 3)
    assert lamina.layers.GlobalMaxPooling2D()(inputs).shape == (None, 3)
    layer = lamina.layers.MaxPooling2D()
    assert layer.built and layer.weights == [] and layer.count_params() == 0


def test_errors_say_what_and_how():
    with pytest.raises(ValueError, match="`pool_size` must be an int or a tuple of 2 ints"):
        lamina.layers.MaxPooling2D((2, 2, 2))
    with pytest.raises(ValueError, match="Received: padding='full'"):
        lamina.layers.AveragePooling1D(2, padding="full")
    with pytest.raises(ValueError, match="layer 'pool'.*expected ndim=4, found ndim=3"):
        lamina.layers.MaxPooling2D(name="pool")(np.ones((1, 4, 4), np.float32))
    with pytest.raises(ValueError, match="MaxPooling2D 'small': the output would have size 0"):
        lamina.layers.MaxPooling2D(3, name="small")(np.ones((1, 2, 5, 1), np.float32))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        lamina.layers.GlobalAveragePooling1D()(np.ones((1, 2, 5, 1), np.float32))
