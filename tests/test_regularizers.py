"""keras.regularizers: penalties (hand-computed), lookup, serialization, Keras 3 parity."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import regularizers

W = np.array([[1.0, -2.0], [0.5, 0.0], [-3.0, 4.0]], dtype=np.float32)  # sum|w| 10.5, sum w^2 30.25


def test_l1_l2_l1l2_values():
    assert float(regularizers.L1(0.1)(W)) == pytest.approx(1.05, rel=1e-6)
    assert float(regularizers.L2(0.1)(W)) == pytest.approx(3.025, rel=1e-6)
    assert float(regularizers.L1L2(l1=0.1, l2=0.01)(W)) == pytest.approx(1.05 + 0.3025, rel=1e-6)
    assert float(regularizers.L1L2()(W)) == 0.0
    assert float(regularizers.L1()(W)) == pytest.approx(0.105, rel=1e-6)  # default l1=0.01
    assert float(regularizers.L2()(W)) == pytest.approx(0.3025, rel=1e-6)
    assert float(regularizers.Regularizer()(W)) == 0.0


def test_defaults_and_validation_follow_keras_3():
    assert regularizers.L1().get_config() == {"l1": 0.009999999776482582}  # float32, as Keras
    assert regularizers.L2().get_config() == {"l2": 0.01}
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.L1L2(l1=None, l2=0.5).get_config() == {"l1": 0.0, "l2": 0.5}
    assert regularizers.OrthogonalRegularizer().get_config() == {
        "factor": 0.009999999776482582, "mode": "rows"}
    for bad in (-1.0, float("nan"), float("inf"), "0.1"):
        with pytest.raises(ValueError, match="expected a non-negative float"):
            regularizers.L2(bad)
    with pytest.raises(ValueError, match="mode must be 'rows' or 'columns'"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(NotImplementedError, match="does not implement get_config"):
        regularizers.Regularizer().get_config()


def _orthogonal_reference(w, factor, mode):
    vectors = w if mode == "rows" else w.T
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    product = vectors @ vectors.T
    n = len(vectors)
    return factor * 0.5 * np.abs(product - np.diag(np.diag(product))).sum() / (n * (n - 1) / 2)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer(mode):
    factor = 0.25  # exact in float32
    value = regularizers.OrthogonalRegularizer(factor, mode=mode)(W)
    assert float(value) == pytest.approx(_orthogonal_reference(W.astype(float), factor, mode),
                                         rel=1e-5)
    assert float(regularizers.OrthogonalRegularizer(1.0)(np.eye(3))) == 0.0
    with pytest.raises(ValueError, match="rank-2"):
        regularizers.OrthogonalRegularizer()(np.ones(3))


def test_accepts_variables_and_jit():
    v = lamina.Variable(W)
    assert float(regularizers.L1(0.1)(v)) == pytest.approx(1.05, rel=1e-6)
    jitted = jax.jit(lambda w: regularizers.L1L2(0.1, 0.01)(w))
    assert float(jitted(W)) == pytest.approx(1.3525, rel=1e-6)
    grad = jax.grad(lambda w: regularizers.L2(0.5)(w))(W)
    np.testing.assert_allclose(grad, W, rtol=1e-6)  # d/dw 0.5 * w^2 = w
    assert regularizers.L2(0.5)(W.astype(np.float16)).dtype == jnp.float16


NAMES = {"l1": "L1", "l2": "L2", "l1l2": "L1L2", "l1_l2": "L1L2",
         "orthogonal_regularizer": "OrthogonalRegularizer", "regularizer": "Regularizer"}


@pytest.mark.parametrize("name, class_name", sorted(NAMES.items()))
def test_get_by_name(name, class_name):
    assert type(regularizers.get(name)).__name__ == class_name
    assert type(regularizers.get(class_name)).__name__ == class_name
    assert type(regularizers.deserialize(name)).__name__ == class_name


@pytest.mark.parametrize("obj", [regularizers.L1(0.3), regularizers.L2(0.2),
                                 regularizers.L1L2(0.1, 0.2),
                                 regularizers.OrthogonalRegularizer(0.5, "columns")])
def test_builtin_round_trip(obj):
    config = regularizers.serialize(obj)
    assert config["module"] == "keras.regularizers"
    assert config["class_name"] == type(obj).__name__ and config["registered_name"] is None
    for restored in (regularizers.deserialize(config), regularizers.get(config),
                     lamina.saving.deserialize_keras_object(config)):
        assert type(restored) is type(obj)
        assert restored.get_config() == obj.get_config()
        assert float(restored(W)) == pytest.approx(float(obj(W)))
    assert regularizers.get(obj) is obj


def test_aliases_are_the_classes():
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    assert regularizers.get(None) is None


class MyL1Regularizer(regularizers.Regularizer):
    """The book's regularizer: no super().__init__(), its own get_config."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, weights):
        return jnp.sum(jnp.abs(self.factor * weights))

    def get_config(self):
        return {"factor": self.factor}


def test_book_subclass_round_trip_with_custom_objects():
    reg = MyL1Regularizer(0.01)
    assert float(reg(W)) == pytest.approx(0.105, rel=1e-6)
    config = regularizers.serialize(reg)
    assert config == {"module": __name__, "class_name": "MyL1Regularizer",
                      "config": {"factor": 0.01}, "registered_name": "MyL1Regularizer"}
    restored = regularizers.deserialize(config,
                                        custom_objects={"MyL1Regularizer": MyL1Regularizer})
    assert isinstance(restored, MyL1Regularizer) and restored.factor == 0.01
    with lamina.saving.custom_object_scope({"MyL1Regularizer": MyL1Regularizer}):
        assert isinstance(regularizers.get(config), MyL1Regularizer)
    with pytest.raises(TypeError) as info:
        regularizers.deserialize(config)
    message = str(info.value)
    assert "'MyL1Regularizer'" in message
    assert "custom_objects={'MyL1Regularizer': MyL1Regularizer}" in message
    assert "@keras.saving.register_keras_serializable()" in message


def test_book_subclass_round_trip_with_registration(registered):
    cls = registered(package="book")(MyL1Regularizer)
    config = regularizers.serialize(cls(0.5))
    assert config["registered_name"] == "book>MyL1Regularizer"
    restored = regularizers.deserialize(config)
    assert isinstance(restored, MyL1Regularizer) and restored.factor == 0.5
    # A config saved before the class was registered still finds it by class name.
    old_config = {**config, "registered_name": "MyL1Regularizer"}
    assert isinstance(regularizers.deserialize(old_config), MyL1Regularizer)


def l1_penalty(weights):
    return 0.01 * jnp.sum(jnp.abs(weights))


def test_plain_function_regularizer():
    assert regularizers.get(l1_penalty) is l1_penalty
    config = regularizers.serialize(l1_penalty)
    assert config["config"] == "l1_penalty" and config["class_name"] == "function"
    assert regularizers.deserialize(config, custom_objects={"l1_penalty": l1_penalty}) \
        is l1_penalty


def test_unknown_names():
    with pytest.raises(ValueError) as info:
        regularizers.get("l3")
    assert "Unknown regularizer 'l3'" in str(info.value) and "'l1'" in str(info.value)


@pytest.fixture
def registered():
    """register_keras_serializable, with the registry restored after the test."""
    objects = dict(lamina.saving.get_custom_objects())
    names = dict(lamina._registry._GLOBAL_CUSTOM_NAMES)
    yield lamina.saving.register_keras_serializable
    lamina.saving.get_custom_objects().clear()
    lamina.saving.get_custom_objects().update(objects)
    lamina._registry._GLOBAL_CUSTOM_NAMES.clear()
    lamina._registry._GLOBAL_CUSTOM_NAMES.update(names)


def test_docstring_examples():
    import doctest

    results = doctest.testmod(regularizers, extraglobs={"lamina": lamina, "jnp": jnp},
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0 and results.attempted > 0


# ----------------------------------------------------------------------------- Keras 3 parity
@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def _instances(module):
    return [module.L1(), module.L1(0.3), module.L2(), module.L2(0.25), module.L1L2(),
            module.L1L2(l1=0.1, l2=0.2), module.OrthogonalRegularizer(),
            module.OrthogonalRegularizer(0.5, mode="columns")]


def test_same_configs_and_values_as_keras(keras3):
    for ours, theirs in zip(_instances(regularizers), _instances(keras3.regularizers)):
        expected = keras3.saving.serialize_keras_object(theirs)
        assert regularizers.serialize(ours) == expected
        assert regularizers.deserialize(expected).get_config() == ours.get_config()
        assert keras3.regularizers.deserialize(regularizers.serialize(ours)).get_config() == \
            theirs.get_config()
        # A JAX array for Keras: its NumPy path normalizes columns along the wrong axis.
        np.testing.assert_allclose(np.asarray(ours(W)), np.asarray(theirs(jnp.asarray(W))),
                                   rtol=1e-6)
    for name in ("l1", "l2", "l1l2", "orthogonal_regularizer"):
        assert regularizers.get(name).get_config() == keras3.regularizers.get(name).get_config()


def test_book_subclass_config_matches_keras(keras3):
    class KerasL1(keras3.regularizers.Regularizer):
        def __init__(self, factor):
            self.factor = factor

        def get_config(self):
            return {"factor": self.factor}

    KerasL1.__name__ = KerasL1.__qualname__ = "MyL1Regularizer"
    expected = keras3.saving.serialize_keras_object(KerasL1(0.01))
    assert regularizers.serialize(MyL1Regularizer(0.01)) == expected
    restored = regularizers.deserialize(expected,
                                        custom_objects={"MyL1Regularizer": MyL1Regularizer})
    assert isinstance(restored, MyL1Regularizer)
