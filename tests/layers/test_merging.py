"""Merging layers and their functional forms: values, broadcasting, shape checks, masks."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.layers import merging
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)

RNG = np.random.default_rng(2)
A, B, C = (RNG.normal(size=(2, 3)).astype("float32") for _ in range(3))


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


@pytest.mark.parametrize("layer_class, function, reference", [
    (Add, merging.add, lambda a, b, c: a + b + c),
    (Multiply, merging.multiply, lambda a, b, c: a * b * c),
    (Average, merging.average, lambda a, b, c: (a + b + c) / 3),
    (Maximum, merging.maximum, lambda a, b, c: np.maximum(np.maximum(a, b), c)),
    (Minimum, merging.minimum, lambda a, b, c: np.minimum(np.minimum(a, b), c)),
])
def test_elementwise_merges(layer_class, function, reference):
    expected = reference(A, B, C)
    np.testing.assert_allclose(layer_class()([A, B, C]), expected, rtol=1e-6)
    np.testing.assert_allclose(function([A, B, C]), expected, rtol=1e-6)
    assert layer_class().compute_output_shape([(None, 3), (2, 3)]) == (2, 3)


def test_subtract_takes_exactly_two():
    np.testing.assert_allclose(Subtract()([A, B]), A - B)
    np.testing.assert_allclose(merging.subtract([A, B]), A - B)
    with pytest.raises(ValueError, match="Subtract 'sub' must be called on a list of at least 2"):
        Subtract(name="sub")([A])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Subtract()([A, B, C])


def test_broadcasting_and_rank_expansion():
    # (2, 1) broadcasts against (2, 3); a rank-2 input meets a rank-3 one after the batch axis.
    assert Add()([A, A[:, :1]]).shape == (2, 3)
    y = Add()([np.ones((2, 4, 3), "float32"), A])
    np.testing.assert_allclose(y, np.broadcast_to(1 + A[:, None, :], (2, 4, 3)))
    assert Add().compute_output_shape([(None, 4, 3), (None, 3)]) == (None, 4, 3)


def test_incompatible_shapes_are_reported_at_build():
    with pytest.raises(ValueError, match=r"Add 'add' received inputs with incompatible shapes "
                                         r"\[\(2, 3\), \(2, 4\)\]"):
        Add(name="add")([A, np.ones((2, 4), "float32")])
    with pytest.raises(ValueError, match="different batch sizes"):
        Add()([A, np.ones((5, 3), "float32")])
    with pytest.raises(ValueError, match="must be called on a list"):
        Add()(A)
    x, y = keras.layers.Input(shape=(3,)), keras.layers.Input(shape=(4,))
    with pytest.raises(ValueError, match=r"incompatible shapes \[\(None, 3\), \(None, 4\)\]"):
        Add()([x, y])


def test_concatenate():
    np.testing.assert_array_equal(Concatenate()([A, B]), np.concatenate([A, B], -1))
    np.testing.assert_array_equal(Concatenate(axis=0)([A, B]), np.concatenate([A, B], 0))
    np.testing.assert_array_equal(merging.concatenate([A, B], axis=1), np.concatenate([A, B], 1))
    assert Concatenate().compute_output_shape([(None, 2, 3), (None, 2, 5)]) == (None, 2, 8)
    assert Concatenate(axis=1).compute_output_shape([(None, None, 3), (None, 2, 3)]) == \
        (None, None, 3)
    with pytest.raises(ValueError, match=r"Concatenate 'cat' requires inputs with matching shapes "
                                         r"except on the concatenation axis \(-1\), but axis 1"):
        Concatenate(name="cat")([np.ones((2, 3, 1)), np.ones((2, 4, 1))])
    with pytest.raises(ValueError, match="same rank"):
        Concatenate()([A, np.ones((2, 3, 1), "float32")])
    with pytest.raises(ValueError, match="axis 3 is out of bounds"):
        Concatenate(axis=3)([A, B])


def test_dot_products():
    np.testing.assert_allclose(Dot(axes=1)([A, B]), (A * B).sum(1, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(merging.dot([A, B], axes=-1), (A * B).sum(1, keepdims=True),
                               rtol=1e-5)
    x, y = RNG.normal(size=(2, 4, 3)), RNG.normal(size=(2, 3, 5))
    np.testing.assert_allclose(Dot(axes=(2, 1))([x, y]), x @ y, rtol=1e-5)
    z = RNG.normal(size=(2, 5, 4))
    np.testing.assert_allclose(Dot(axes=(1, 2))([x, z]), np.einsum("bij,bki->bjk", x, z),
                               rtol=1e-5)
    cosine = Dot(axes=1, normalize=True)([A, 2 * A])
    np.testing.assert_allclose(cosine, np.ones((2, 1)), rtol=1e-5)
    assert Dot(axes=(2, 1)).compute_output_shape([(None, 4, 3), (None, 3, 5)]) == (None, 4, 5)
    assert Dot(axes=1).compute_output_shape([(None, 3), (None, 3)]) == (None, 1)


def test_dot_errors():
    with pytest.raises(TypeError, match="axes must be an int or a pair"):
        Dot(axes="last")
    with pytest.raises(ValueError, match="pair of ints"):
        Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match=r"Dot 'dot': the contracted axes differ in size: 3"):
        Dot(axes=1, name="dot")([A, np.ones((2, 4), "float32")])
    with pytest.raises(ValueError, match="cannot contract the batch axis"):
        Dot(axes=0)([A, B])
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        Dot(axes=1)([A, B, C])


def test_masks():
    x = jnp.array([[[1.0], [5.0]]])
    y = jnp.array([[[3.0], [2.0]]])
    mask_x, mask_y = jnp.array([[True, False]]), jnp.array([[True, True]])
    # A masked-out entry never wins a maximum: the other input's value is taken.
    np.testing.assert_array_equal(Maximum()([x, y], mask=[mask_x, mask_y]), [[[3.0], [2.0]]])
    np.testing.assert_array_equal(Multiply()([x, y], mask=[mask_x, mask_y]), [[[3.0], [2.0]]])
    assert Add().compute_mask([x, y], [mask_x, mask_y]).tolist() == [[True, True]]
    assert Add().compute_mask([x, y], [mask_x, None]) is None
    assert Concatenate(axis=1).compute_mask([x, y], [mask_x, None]).shape == (1, 4)


def test_functional_model_graph_and_configs():
    a, b = keras.layers.Input(shape=(3,)), keras.layers.Input(shape=(3,))
    assert merging.concatenate([a, b]).shape == (None, 6)
    assert merging.dot([a, b], axes=1).shape == (None, 1)
    assert merging.add([a, b]).shape == (None, 3)
    for layer in (Add(name="x"), Concatenate(axis=1, name="x"), Dot(axes=(1, 2), name="x",
                                                                    normalize=True)):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config


def test_merging_layers_under_function():
    f = keras.function(lambda a, b: Dot(axes=1)([Add()([a, b]), Concatenate()([a, b])[:, :3]]))
    np.testing.assert_allclose(f(jnp.asarray(A), jnp.asarray(B)),
                               ((A + B) * A).sum(1, keepdims=True), rtol=1e-5)


def test_merging_layers_match_keras(keras3):
    x3 = RNG.normal(size=(2, 4, 3)).astype("float32")
    cases = [("Add", {}, [A, B, C]), ("Subtract", {}, [A, B]), ("Multiply", {}, [A, B]),
             ("Average", {}, [A, B]), ("Maximum", {}, [A, B]), ("Minimum", {}, [A, B]),
             ("Concatenate", {"axis": 0}, [A, B]), ("Add", {}, [x3, A]),
             ("Dot", {"axes": 1, "normalize": True}, [A, B]),
             ("Dot", {"axes": (1, 1)}, [x3, x3])]
    for name, kwargs, inputs in cases:
        ours, theirs = getattr(merging, name)(**kwargs), getattr(keras3.layers, name)(**kwargs)
        np.testing.assert_allclose(ours(inputs), np.asarray(theirs(inputs)), rtol=1e-5,
                                   atol=1e-6, err_msg=name)
        assert {k: v for k, v in ours.get_config().items() if k != "name"} == \
            {k: v for k, v in theirs.get_config().items() if k != "name"}, name
