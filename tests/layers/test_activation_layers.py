"""ReLU, LeakyReLU, PReLU, ELU, Softmax: hand-computed values, weights, masks, errors, configs."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax

X = np.array([[-3.0, -1.0, 0.0, 0.5, 2.0, 7.0]], "float32")


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def assert_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_relu_options():
    assert ReLU()(X).tolist() == [[0.0, 0.0, 0.0, 0.5, 2.0, 7.0]]
    assert ReLU(max_value=1.0)(X).tolist() == [[0.0, 0.0, 0.0, 0.5, 1.0, 1.0]]
    np.testing.assert_allclose(ReLU(negative_slope=0.1)(X), [[-0.3, -0.1, 0, 0.5, 2, 7]],
                               rtol=1e-6)
    # Below the threshold the slope applies to the distance from the threshold.
    np.testing.assert_allclose(ReLU(threshold=1.0, negative_slope=0.5, max_value=5.0)(X),
                               [[-2.0, -1.0, -0.5, -0.25, 2.0, 5.0]], rtol=1e-6)
    with pytest.raises(ValueError, match=r"ReLU 'r': max_value must be a non-negative"):
        ReLU(max_value=-1.0, name="r")
    with pytest.raises(ValueError, match="negative_slope must be a non-negative number"):
        ReLU(negative_slope=None)
    assert_config_round_trip(ReLU(max_value=6.0, threshold=0.5, name="r"))


def test_leaky_relu_and_its_keras2_alias():
    np.testing.assert_allclose(LeakyReLU()(X), np.where(X > 0, X, 0.3 * X), rtol=1e-6)
    with pytest.warns(UserWarning, match="alpha"):
        layer = LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    with pytest.raises(ValueError, match="negative_slope must be"):
        LeakyReLU(-0.1)
    assert_config_round_trip(LeakyReLU(0.2, name="l"))


def test_prelu_weight_and_shared_axes():
    layer = PReLU(name="p")
    x = np.arange(-12, 12, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(layer(x), np.maximum(x, 0))  # alpha starts at zero
    assert [v.path for v in layer.weights] == ["p/alpha"] and layer.alpha.shape == (3, 4)
    assert layer.alpha.trainable
    shared = PReLU(alpha_initializer=keras.initializers.Constant(0.5), shared_axes=[1])
    y = shared(x)
    assert shared.alpha.shape == (1, 4)
    np.testing.assert_allclose(y, np.where(x > 0, x, 0.5 * x))
    with pytest.raises(ValueError, match="expected axis 2 of the input to have size 4"):
        shared(np.ones((2, 5, 3), "float32"))
    assert shared(np.ones((2, 7, 4), "float32")).shape == (2, 7, 4)  # the shared axis is free
    with pytest.raises(ValueError, match="shared_axes holds axis 3"):
        PReLU(shared_axes=3)(x)
    with pytest.raises(ValueError, match="needs known sizes"):
        PReLU().build((None, None, 4))
    assert_config_round_trip(PReLU(shared_axes=[1, 2], alpha_regularizer="l2", name="p"))


def test_prelu_learns_its_slope():
    layer = PReLU()
    x = jnp.array([[-2.0, 3.0]])
    layer(x)
    _, (grad,) = keras.value_and_grad(lambda: jnp.sum(layer(x)), [layer.alpha])()
    assert grad.tolist() == [-2.0, 0.0]


def test_elu():
    np.testing.assert_allclose(ELU(alpha=2.0)(X), np.where(X > 0, X, 2.0 * np.expm1(X)),
                               rtol=1e-6)
    assert ELU(alpha=0.5, name="e").get_config()["alpha"] == 0.5
    assert_config_round_trip(ELU(alpha=0.5, name="e"))


def test_softmax_axes_and_masks():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], "float32")
    expected = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    np.testing.assert_allclose(Softmax()(x), expected, rtol=1e-6)
    np.testing.assert_allclose(Softmax(axis=0)(x), np.exp(x) / np.exp(x).sum(0), rtol=1e-6)
    joint = Softmax(axis=(0, 1))(x)
    np.testing.assert_allclose(joint, np.exp(x) / np.exp(x).sum(), rtol=1e-6)
    mask = np.array([[True, False, True], [True, True, True]])
    y = np.asarray(Softmax()(x, mask=mask))
    assert y[0, 1] == 0.0
    np.testing.assert_allclose(y[0, [0, 2]], np.exp([1, 3]) / np.exp([1, 3]).sum(), rtol=1e-6)
    # A numeric mask counts values above 0.5, and a mask broadcasts over the batch.
    np.testing.assert_allclose(Softmax()(x, mask=np.array([[1.0, 0.0, 1.0]])),
                               Softmax()(x, mask=np.array([[True, False, True]] * 2)))
    with pytest.raises(ValueError, match="mask must broadcast to the inputs"):
        Softmax()(x, mask=np.ones((2, 2), bool))
    assert_config_round_trip(Softmax(axis=[1, 2], name="s"))


def test_activation_layers_under_function_and_symbolic():
    softmax, prelu, relu = Softmax(), PReLU(), ReLU(max_value=6.0)
    f = keras.function(lambda x: softmax(prelu(relu(x))))
    np.testing.assert_allclose(f(jnp.asarray(X)).sum(), 1.0, rtol=1e-6)
    assert ELU()(keras.layers.Input(shape=(3,))).shape == (None, 3)


def test_activation_layers_match_keras(keras3):
    x = np.linspace(-3, 3, 24, dtype="float32").reshape(2, 3, 4)
    cases = [("ReLU", {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.5}),
             ("LeakyReLU", {"negative_slope": 0.2}), ("ELU", {"alpha": 0.7}),
             ("Softmax", {"axis": 1}), ("Softmax", {"axis": (1, 2)}),
             ("PReLU", {"shared_axes": [1]})]
    import lamina.layers.activation_layers as ours_module

    for name, kwargs in cases:
        ours, theirs = getattr(ours_module, name)(**kwargs), getattr(keras3.layers, name)(**kwargs)
        ours(x)
        theirs(x)
        if ours.weights:
            ours.set_weights([np.random.default_rng(0).normal(size=w.shape).astype("float32")
                              for w in ours.get_weights()])
            theirs.set_weights(ours.get_weights())
            assert [v.path.split("/")[-1] for v in ours.weights] == \
                [v.path.split("/")[-1] for v in theirs.weights]
        np.testing.assert_allclose(ours(x), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
        assert {k: v for k, v in ours.get_config().items() if k != "name"} == \
            {k: v for k, v in theirs.get_config().items() if k != "name"}, name
    mask = np.array([[[True], [False], [True]]] * 2)
    np.testing.assert_allclose(Softmax(axis=1)(x, mask=mask),
                               np.asarray(keras3.layers.Softmax(axis=1)(x, mask=mask)),
                               rtol=1e-6)
