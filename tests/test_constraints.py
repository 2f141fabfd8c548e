"""keras.constraints: projections (NumPy references), lookup, serialization, Keras 3 parity."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import constraints

EPSILON = 1e-7
W = np.array([[3.0, 0.1, -1.0], [4.0, 0.2, 0.0]], dtype=np.float32)  # column norms 5, .2236, 1


def _norms(w, axis):
    return np.sqrt(np.sum(np.square(w), axis=axis, keepdims=True))


def test_non_neg():
    np.testing.assert_array_equal(constraints.NonNeg()(W), np.maximum(W, 0))


def test_max_norm():
    norms = _norms(W, 0)
    expected = W * np.clip(norms, 0, 2.0) / (EPSILON + norms)
    np.testing.assert_allclose(constraints.MaxNorm()(W), expected, rtol=1e-6)  # max_value=2
    np.testing.assert_allclose(constraints.MaxNorm(1.0)(W)[:, 0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(constraints.MaxNorm(1.0, axis=1)(W),
                               W * np.clip(_norms(W, 1), 0, 1) / (EPSILON + _norms(W, 1)),
                               rtol=1e-6)


def test_unit_norm():
    out = np.asarray(constraints.UnitNorm()(W))
    np.testing.assert_allclose(out, W / (EPSILON + _norms(W, 0)), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), 1.0, rtol=1e-5)


def test_min_max_norm():
    norms = _norms(W, 0)
    strict = W * np.clip(norms, 0.5, 2.0) / (EPSILON + norms)
    np.testing.assert_allclose(constraints.MinMaxNorm(0.5, 2.0)(W), strict, rtol=1e-6)
    half = W * (0.5 * np.clip(norms, 0.5, 2.0) + 0.5 * norms) / (EPSILON + norms)
    np.testing.assert_allclose(constraints.MinMaxNorm(0.5, 2.0, rate=0.5)(W), half, rtol=1e-6)


def test_conv_kernel_axes():
    kernel = np.arange(2 * 2 * 3 * 4, dtype=np.float32).reshape(2, 2, 3, 4) - 20.0
    out = np.asarray(constraints.MaxNorm(1.0, axis=[0, 1, 2])(kernel))
    np.testing.assert_allclose(np.sqrt((out**2).sum(axis=(0, 1, 2))), 1.0, rtol=1e-5)
    restored = constraints.deserialize(constraints.serialize(
        constraints.UnitNorm(axis=[0, 1, 2])))
    assert restored.axis == [0, 1, 2]
    np.testing.assert_allclose(np.sqrt((np.asarray(restored(kernel))**2).sum(axis=(0, 1, 2))),
                               1.0, rtol=1e-5)


def test_base_constraint_and_variables_and_jit():
    np.testing.assert_array_equal(constraints.Constraint()(W), W)
    assert constraints.Constraint().get_config() == {}
    v = lamina.Variable(W)
    np.testing.assert_array_equal(constraints.NonNeg()(v), np.maximum(W, 0))
    v.assign(constraints.MaxNorm(1.0)(v))
    np.testing.assert_allclose(np.linalg.norm(v.numpy(), axis=0)[0], 1.0, rtol=1e-6)
    jitted = jax.jit(constraints.UnitNorm())
    np.testing.assert_allclose(jitted(W), constraints.UnitNorm()(W), rtol=1e-6)


NAMES = {"non_neg": "NonNeg", "max_norm": "MaxNorm", "min_max_norm": "MinMaxNorm",
         "unit_norm": "UnitNorm", "constraint": "Constraint"}


@pytest.mark.parametrize("name, class_name", sorted(NAMES.items()))
def test_get_by_name(name, class_name):
    assert type(constraints.get(name)).__name__ == class_name
    assert type(constraints.get(class_name)).__name__ == class_name
    assert type(constraints.deserialize(name)).__name__ == class_name
    if name != "constraint":
        assert getattr(constraints, name) is getattr(constraints, class_name)


@pytest.mark.parametrize("obj", [constraints.NonNeg(), constraints.MaxNorm(3, axis=1),
                                 constraints.MinMaxNorm(0.1, 0.9, 0.5, 1),
                                 constraints.UnitNorm(axis=-1), constraints.Constraint()])
def test_builtin_round_trip(obj):
    config = constraints.serialize(obj)
    assert config["module"] == "keras.constraints"
    assert config["class_name"] == type(obj).__name__ and config["registered_name"] is None
    for restored in (constraints.deserialize(config), constraints.get(config)):
        assert type(restored) is type(obj) and restored.get_config() == obj.get_config()
        np.testing.assert_allclose(restored(W), obj(W))
    assert constraints.get(obj) is obj
    assert constraints.get(None) is None


def my_positive_weights(weights):
    return jnp.where(weights < 0.0, jnp.zeros_like(weights), weights)


def test_book_plain_function_constraint():
    assert constraints.get(my_positive_weights) is my_positive_weights
    np.testing.assert_array_equal(my_positive_weights(W), np.maximum(W, 0))
    config = constraints.serialize(my_positive_weights)
    assert config == {"module": "builtins", "class_name": "function",
                      "config": "my_positive_weights", "registered_name": "function"}
    assert constraints.deserialize(config, custom_objects={
        "my_positive_weights": my_positive_weights}) is my_positive_weights
    with pytest.raises(TypeError, match="custom_objects=\\{'my_positive_weights'"):
        constraints.deserialize(config)


def test_unknown_names():
    with pytest.raises(ValueError) as info:
        constraints.get("max_nrom")
    assert "Unknown constraint 'max_nrom'" in str(info.value)
    assert "'max_norm'" in str(info.value)
    with pytest.raises(ValueError, match="Could not interpret the constraint identifier"):
        constraints.get(1.5)


def test_docstring_examples():
    import doctest

    results = doctest.testmod(constraints, extraglobs={"lamina": lamina, "jnp": jnp},
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0 and results.attempted > 0


# ----------------------------------------------------------------------------- Keras 3 parity
@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def _instances(module):
    return [module.NonNeg(), module.MaxNorm(), module.MaxNorm(1.5, axis=1), module.UnitNorm(),
            module.UnitNorm(axis=1), module.MinMaxNorm(), module.MinMaxNorm(0.2, 0.8, 0.5, 1)]


def test_same_configs_and_values_as_keras(keras3):
    for ours, theirs in zip(_instances(constraints), _instances(keras3.constraints)):
        expected = keras3.saving.serialize_keras_object(theirs)
        assert constraints.serialize(ours) == expected
        assert constraints.deserialize(expected).get_config() == ours.get_config()
        assert keras3.constraints.deserialize(constraints.serialize(ours)).get_config() == \
            theirs.get_config()
        np.testing.assert_allclose(np.asarray(ours(W)), np.asarray(theirs(W)), rtol=1e-6)
    for name in NAMES:
        assert constraints.get(name).get_config() == keras3.constraints.get(name).get_config()
