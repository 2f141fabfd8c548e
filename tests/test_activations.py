"""keras.activations: values (NumPy references), lookup, serialization, Keras 3 parity."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import activations

X = np.array([-4.0, -2.5, -1.0, -0.3, 0.0, 0.3, 1.0, 2.5, 4.0, 7.0], dtype=np.float32)
X2 = np.array([[0.5, -1.0, 2.0, 0.0], [3.0, 3.0, -2.0, 1.0]], dtype=np.float32)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.log1p(np.exp(x))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _erf(x):
    return np.vectorize(__import__("math").erf)(x)


def _sparsemax_reference(row):
    # Projection onto the simplex by sorting (Martins & Astudillo, 2016, Algorithm 1).
    z = np.sort(row)[::-1]
    cumulative = np.cumsum(z)
    k = np.arange(1, len(z) + 1)
    support = k[1 + k * z > cumulative].max()
    tau = (cumulative[support - 1] - 1) / support
    return np.maximum(row - tau, 0)


SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

REFERENCES = {
    "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
    "celu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "softplus": _softplus,
    "softsign": lambda x: x / (np.abs(x) + 1),
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hard_silu": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_swish": lambda x: x * np.clip(x / 6 + 0.5, 0, 1),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
    "hard_shrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "soft_shrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
    "tanh_shrink": lambda x: x - np.tanh(x),
    "log_sigmoid": lambda x: -_softplus(-x),
    "sparse_sigmoid": lambda x: np.clip((x + 1) / 2, 0, 1),
    "sparse_plus": lambda x: np.where(x <= -1, 0, np.where(x >= 1, x, (x + 1) ** 2 / 4)),
    "squareplus": lambda x: (x + np.sqrt(x**2 + 4)) / 2,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "linear": lambda x: x,
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "sparsemax": lambda x: np.apply_along_axis(_sparsemax_reference, -1, x),
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_matches_numpy_reference(name):
    fn = getattr(activations, name)
    for x in (X, X2):
        np.testing.assert_allclose(np.asarray(fn(x)), REFERENCES[name](x.astype(np.float64)),
                                   rtol=2e-6, atol=2e-6)


def test_relu_options_follow_keras_3():
    x = np.array([-10.0, -5.0, 0.0, 5.0, 10.0], dtype=np.float32)
    relu = activations.relu
    np.testing.assert_allclose(relu(x, negative_slope=0.5), [-5.0, -2.5, 0.0, 5.0, 10.0])
    np.testing.assert_allclose(relu(x, max_value=5.0), [0.0, 0.0, 0.0, 5.0, 5.0])
    np.testing.assert_allclose(relu(x, threshold=5.0), [0.0, 0.0, 0.0, 0.0, 10.0])
    np.testing.assert_allclose(relu(x, max_value=6.0), [0.0, 0.0, 0.0, 5.0, 6.0])
    # Below the threshold the slope applies to (x - threshold): -0.5 * (threshold - x).
    np.testing.assert_allclose(relu(x, negative_slope=0.5, max_value=4.0, threshold=1.0),
                               [-5.5, -3.0, -0.5, 4.0, 4.0])


def test_parameters():
    np.testing.assert_allclose(activations.elu(X, alpha=2.0), np.where(X > 0, X, 2 * np.expm1(X)),
                               rtol=1e-6)
    np.testing.assert_allclose(activations.celu(X, alpha=2.0),
                               np.where(X > 0, X, 2 * np.expm1(X / 2)), rtol=1e-6)
    np.testing.assert_allclose(activations.leaky_relu(X, negative_slope=0.1),
                               np.where(X > 0, X, 0.1 * X), rtol=1e-6)
    tanh_gelu = 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3)))
    np.testing.assert_allclose(activations.gelu(X, approximate=True), tanh_gelu, rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(activations.softmax(X2, axis=0), _softmax(X2, axis=0), rtol=1e-6)
    np.testing.assert_allclose(activations.glu(X2), X2[:, :2] * _sigmoid(X2[:, 2:]), rtol=1e-6)
    np.testing.assert_allclose(activations.threshold(X, 1.0, -7.0), np.where(X > 1, X, -7.0))
    np.testing.assert_allclose(activations.squareplus(X, b=1),
                               (X + np.sqrt(X**2 + 1)) / 2, rtol=1e-6)
    np.testing.assert_allclose(activations.sparsemax(X2.T, axis=0),
                               np.apply_along_axis(_sparsemax_reference, 0, X2.T), atol=1e-6)
    assert np.allclose(np.asarray(activations.sparsemax(X2)).sum(axis=-1), 1.0)


def test_accepts_lists_variables_and_jit():
    v = lamina.Variable(X)
    np.testing.assert_allclose(activations.relu(v), np.maximum(X, 0))
    np.testing.assert_allclose(activations.sigmoid([0.0]), [0.5])
    jitted = jax.jit(lambda x: activations.softmax(activations.gelu(x)))
    np.testing.assert_allclose(jitted(X2), _softmax(REFERENCES["gelu"](X2)), rtol=1e-5)
    grad = jax.grad(lambda x: jnp.sum(activations.mish(x)))(X)
    assert np.all(np.isfinite(grad))


BUILTIN_NAMES = sorted(activations.ALL_OBJECTS_DICT)


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_get_serialize_deserialize_round_trip(name):
    fn = activations.get(name)
    assert fn is getattr(activations, name)
    saved = activations.serialize(fn)
    assert saved == fn.__name__  # built-ins are saved by bare name (aliases by canonical name)
    assert activations.deserialize(saved) is fn
    assert activations.get(saved) is fn
    as_config = lamina.saving.serialize_keras_object(fn)
    assert as_config == {"module": "builtins", "class_name": "function",
                         "config": fn.__name__, "registered_name": "function"}
    assert activations.deserialize(as_config) is fn
    assert activations.get(as_config) is fn


def test_get_none_and_callables():
    assert activations.get(None) is activations.linear
    assert activations.get(jnp.tanh) is jnp.tanh
    with pytest.raises(ValueError, match="Could not interpret the activation identifier 3"):
        activations.get(3)


def my_softplus(z):
    return jnp.log(jnp.exp(z) + 1.0)


def test_book_custom_activation_round_trip():
    assert activations.get(my_softplus) is my_softplus
    saved = activations.serialize(my_softplus)
    assert saved == {"module": "builtins", "class_name": "function", "config": "my_softplus",
                     "registered_name": "function"}
    assert activations.deserialize(saved, custom_objects={"my_softplus": my_softplus}) \
        is my_softplus
    with lamina.saving.custom_object_scope({"my_softplus": my_softplus}):
        assert activations.get("my_softplus") is my_softplus
        assert activations.get(saved) is my_softplus
    with pytest.raises(TypeError, match=r"custom_objects=\{'my_softplus': my_softplus\}"):
        activations.deserialize(saved)


def test_registered_custom_activation(registered):
    fn = registered(package="book")(my_softplus)
    saved = activations.serialize(fn)
    assert saved["config"] == "book>my_softplus"
    assert activations.deserialize(saved) is fn
    assert activations.get("book>my_softplus") is fn


def test_unknown_name_suggests_close_names():
    with pytest.raises(ValueError) as info:
        activations.get("relux")
    message = str(info.value)
    assert "Unknown activation 'relux'" in message and "'relu'" in message
    assert "register_keras_serializable" in message
    with pytest.raises(ValueError, match="'softmax'"):
        activations.deserialize("sofmax")


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

    results = doctest.testmod(activations, extraglobs={"lamina": lamina, "jnp": jnp},
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.failed == 0 and results.attempted > 0


# ----------------------------------------------------------------------------- Keras 3 parity
@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


# Keras 3.15's JAX sparsemax sums the cumulative sums over the support instead of taking the
# last one, so its rows do not sum to 1; lamina follows the definition (tested above).
KERAS_COMPARABLE = sorted(set(BUILTIN_NAMES) - {"sparsemax"})


def test_same_values_and_names_as_keras(keras3):
    for name in KERAS_COMPARABLE:
        ours, theirs = getattr(activations, name), getattr(keras3.activations, name)
        extra = (1.0, -7.0) if name == "threshold" else ()
        for x in (X, X2):
            np.testing.assert_allclose(np.asarray(ours(x, *extra)), np.asarray(theirs(x, *extra)),
                                       rtol=1e-6, atol=1e-6, err_msg=name)
        assert activations.serialize(ours) == keras3.activations.serialize(theirs)
        assert (lamina.saving.serialize_keras_object(ours)
                == keras3.saving.serialize_keras_object(theirs))
    for kwargs in ({"negative_slope": 0.3}, {"max_value": 2.0}, {"threshold": 1.5},
                   {"negative_slope": 0.1, "max_value": 3.0, "threshold": -1.0}):
        np.testing.assert_allclose(activations.relu(X, **kwargs),
                                   keras3.activations.relu(X, **kwargs), rtol=1e-6,
                                   err_msg=str(kwargs))


def test_keras_saved_activations_load(keras3):
    assert set(KERAS_COMPARABLE) | {"sparsemax"} == {
        name for name in dir(keras3.activations)
        if not name.startswith("_") and name not in ("get", "serialize", "deserialize")}
    for name in BUILTIN_NAMES:
        saved = keras3.activations.serialize(getattr(keras3.activations, name))
        assert activations.deserialize(saved) is activations.get(name)
        config = keras3.saving.serialize_keras_object(getattr(keras3.activations, name))
        assert activations.get(config) is activations.get(name)
    assert keras3.activations.serialize(my_softplus) == activations.serialize(my_softplus)
