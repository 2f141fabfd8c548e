"""Flatten, Reshape, Permute, RepeatVector: shapes, values, symbolic outputs, errors, configs."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.layers.reshaping import Flatten, Permute, RepeatVector, Reshape

X = np.arange(24, dtype="float32").reshape(2, 3, 4)


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def assert_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_flatten():
    np.testing.assert_array_equal(Flatten()(X), X.reshape(2, 12))
    assert Flatten()(jnp.arange(3.0)).shape == (3, 1)  # rank 1: one feature per sample
    channels_first = Flatten(data_format="channels_first")(X)
    np.testing.assert_array_equal(channels_first, X.transpose(0, 2, 1).reshape(2, 12))
    assert Flatten().compute_output_shape((None, 3, None)) == (None, None)
    with pytest.raises(ValueError, match="data_format must be"):
        Flatten(data_format="NHWC")
    with pytest.raises(ValueError, match="min_ndim=1"):
        Flatten()(jnp.float32(1.0))
    assert_config_round_trip(Flatten(data_format="channels_first", name="f"))


def test_reshape_with_and_without_minus_one():
    np.testing.assert_array_equal(Reshape((4, 3))(X), X.reshape(2, 4, 3))
    assert Reshape((-1, 2))(X).shape == (2, 6, 2)
    assert Reshape((2, -1)).compute_output_shape((None, 3, 4)) == (None, 2, 6)
    assert Reshape((-1,)).compute_output_shape((None, None, 4)) == (None, None)
    assert Reshape(12)(X).shape == (2, 12)


def test_reshape_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Reshape 'r': cannot reshape a sample of shape "
                                         r"\(3, 4\) \(12 values\) into target_shape=\(5, 2\)"):
        Reshape((5, 2), name="r")(X)
    with pytest.raises(ValueError, match="12 is not a multiple of 5"):
        Reshape((5, -1))(X)
    with pytest.raises(ValueError, match="at most one entry of target_shape may be -1"):
        Reshape((-1, -1))
    with pytest.raises(ValueError, match="non-negative int, or -1"):
        Reshape((None, 2))
    with pytest.raises(ValueError, match="12 values"):
        Reshape((5,)).compute_output_shape((None, 3, 4))
    with pytest.raises(TypeError, match="target_shape must be a tuple"):
        Reshape(2.5)


def test_permute():
    np.testing.assert_array_equal(Permute((2, 1))(X), X.transpose(0, 2, 1))
    assert Permute((2, 1)).compute_output_shape((None, 3, 4)) == (None, 4, 3)
    with pytest.raises(ValueError, match=r"permutation of 1..2.*dims=\(0, 1\)"):
        Permute((0, 1))
    with pytest.raises(ValueError, match="expected ndim=3"):
        Permute((2, 1))(np.ones((2, 3, 4, 5)))
    assert_config_round_trip(Permute((2, 1), name="p"))


def test_repeat_vector():
    y = RepeatVector(3)(X[:, 0])
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y[:, 1], X[:, 0])
    with pytest.raises(TypeError, match="n must be an int"):
        RepeatVector(2.0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        RepeatVector(0)
    with pytest.raises(ValueError, match="expected ndim=2"):
        RepeatVector(2)(X)


def test_symbolic_outputs_keep_the_input_dtype():
    tokens = keras.layers.Input(shape=(3, 4), dtype="int32")
    for layer, shape in [(Flatten(), (None, 12)), (Reshape((12,)), (None, 12)),
                         (Permute((2, 1)), (None, 4, 3))]:
        out = layer(tokens)
        assert out.shape == shape and out.dtype == "int32"
    assert RepeatVector(5)(keras.layers.Input(shape=(2,))).shape == (None, 5, 2)


def test_work_under_function():
    f = keras.function(lambda x: RepeatVector(2)(Flatten()(Reshape((4, 3))(x))))
    assert f(jnp.asarray(X)).shape == (2, 2, 12)


def test_reshaping_layers_match_keras(keras3):
    cases = [("Flatten", (), {}, X), ("Flatten", (), {"data_format": "channels_first"}, X),
             ("Reshape", ((-1, 2),), {}, X), ("Permute", ((2, 1),), {}, X),
             ("RepeatVector", (3,), {}, X[:, 0])]
    import lamina.layers.reshaping as ours_module

    for name, args, kwargs, x in cases:
        ours = getattr(ours_module, name)(*args, **kwargs)
        theirs = getattr(keras3.layers, name)(*args, **kwargs)
        np.testing.assert_array_equal(ours(x), np.asarray(theirs(x)))
        assert {k: v for k, v in ours.get_config().items() if k != "name"} == \
            {k: v for k, v in theirs.get_config().items() if k != "name"}, name
        assert ours.compute_output_shape((None,) + x.shape[1:]) == \
            theirs.compute_output_shape((None,) + x.shape[1:])
