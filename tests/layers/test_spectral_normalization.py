"""SpectralNormalization: power iteration against NumPy, Keras 3 side by side, training in fit,
weights file layout, configs and errors."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras

L = keras.layers
RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 3)).astype("float32")
Y = RNG.normal(size=(4, 2)).astype("float32")


def import_keras():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def normalize(x):
    return x / np.sqrt((x ** 2).sum())


def reference(kernel, u, iterations):
    """(new u, kernel / sigma) by the power iteration of Miyato et al."""
    w = kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)
    for _ in range(iterations):
        v = normalize(u @ w.T)
        u = normalize(v @ w)
    sigma = (v @ w @ u.T).item()
    return u, kernel / sigma


def wrapped_dense(power_iterations=1, name="sn", seed=1):
    layer = L.SpectralNormalization(L.Dense(2, name="d"), power_iterations=power_iterations,
                                    name=name)
    layer.build((None, 3))
    rng = np.random.default_rng(seed)  # the same values whatever the tests run before
    values = [rng.normal(size=w.shape).astype("float32") for w in layer.weights]
    layer.set_weights(values)
    return layer, values


def test_training_call_normalizes_the_kernel_and_inference_uses_it():
    layer, (kernel, u, bias) = wrapped_dense(power_iterations=2)
    assert [(w.path, w.trainable) for w in layer.weights] == [
        ("sn/d/kernel", True), ("sn/vector_u", False), ("sn/d/bias", True)]
    inference = layer(X)
    np.testing.assert_allclose(inference, X @ kernel + bias, rtol=1e-5)
    assert np.array_equal(layer.layer.kernel.numpy(), kernel)  # inference changes nothing
    new_u, new_kernel = reference(kernel, u, 2)
    np.testing.assert_allclose(layer(X, training=True), X @ new_kernel + bias, rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(layer.layer.kernel.numpy(), new_kernel, rtol=1e-4)
    np.testing.assert_allclose(layer.vector_u.numpy(), new_u, rtol=1e-4)
    # Repeated training calls converge to a kernel whose largest singular value is 1.
    step = keras.function(lambda: layer(X, training=True))
    for _ in range(10):
        step()
    assert abs(np.linalg.svd(layer.layer.kernel.numpy(), compute_uv=False)[0] - 1.0) < 1e-3


def test_zero_kernel_conv_and_embedding():
    layer, _ = wrapped_dense()
    layer.layer.kernel.assign(jnp.zeros((3, 2)))
    u = layer.vector_u.numpy()
    layer(X, training=True)  # no division by a zero sigma: nothing changes
    assert np.all(layer.layer.kernel.numpy() == 0) and np.array_equal(layer.vector_u.numpy(), u)
    conv = L.SpectralNormalization(L.Conv2D(4, 2))
    conv.build((1, 5, 5, 3))
    kernel, u = conv.layer.kernel.numpy(), conv.vector_u.numpy()
    assert conv(np.ones((1, 5, 5, 3), "float32"), training=True).shape == (1, 4, 4, 4)
    assert kernel.shape == (2, 2, 3, 4) and u.shape == (1, 4)
    new_u, new_kernel = reference(kernel, u, 1)  # the kernel is seen as a (12, 4) matrix
    np.testing.assert_allclose(conv.layer.kernel.numpy(), new_kernel, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(conv.vector_u.numpy(), new_u, rtol=1e-4, atol=1e-6)
    embedding = L.SpectralNormalization(L.Embedding(5, 3))
    out = embedding(np.array([[1, 2]]), training=True)
    assert out.shape == (1, 2, 3) and out.dtype == jnp.float32  # not cast to the ids' dtype
    assert embedding.vector_u.shape == (1, 3)


def test_errors_and_config():
    with pytest.raises(ValueError, match="power_iterations must be a positive integer"):
        L.SpectralNormalization(L.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="Flatten 'flat' has neither"):
        L.SpectralNormalization(L.Flatten(name="flat"))(np.ones((2, 3), "float32"))
    with pytest.raises(ValueError, match="wraps a keras.layers.Layer"):
        L.SpectralNormalization("dense")
    layer = L.SpectralNormalization(L.Dense(2), power_iterations=3, name="s")
    restored = L.SpectralNormalization.from_config(layer.get_config())
    assert restored.get_config() == layer.get_config()
    assert type(restored.layer) is L.Dense


def test_fit_keeps_the_normalized_kernel():
    """In fit, the step reads the normalized kernel and the optimizer updates it: the kernel
    after one SGD step is `W / sigma - lr * grad` (the gradient through the normalization).
    Keras 3 on JAX gives `W - lr * grad`: its JAX trainer drops assignments to trainable
    variables made during the forward pass, so its kernel is never normalized in fit."""
    model = keras.Sequential([keras.Input((3,)), L.SpectralNormalization(
        L.Dense(2, name="d"), power_iterations=2, name="sn")])
    values = [RNG.normal(size=w.shape).astype("float32") for w in model.weights]
    model.set_weights(values)
    kernel, u, bias = (jnp.asarray(v) for v in values)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0)

    def normalized(w):
        v_, u_ = None, u
        for _ in range(2):
            v_ = w @ u_.T
            v_ = (v_ / jnp.linalg.norm(v_)).T
            u_ = v_ @ w
            u_ = u_ / jnp.linalg.norm(u_)
        v_, u_ = jax.lax.stop_gradient(v_), jax.lax.stop_gradient(u_)
        return w / (v_ @ w @ u_.T)

    grad = jax.grad(lambda w: jnp.mean((X @ normalized(w) + bias - Y) ** 2))(kernel)
    np.testing.assert_allclose(model.weights[0].numpy(), normalized(kernel) - 0.1 * grad,
                               rtol=1e-4, atol=1e-6)


def test_matches_keras_and_files_move_both_ways(tmp_path):
    k = import_keras()
    ours, values = wrapped_dense(power_iterations=2)
    theirs = k.layers.SpectralNormalization(k.layers.Dense(2, name="d"), power_iterations=2,
                                            name="sn")
    theirs.build((None, 3))
    assert [w.path for w in theirs.weights] == [w.path for w in ours.weights]
    theirs.set_weights(values)
    np.testing.assert_allclose(ours(X, training=True), theirs(X, training=True), rtol=1e-5,
                               atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert ours.get_config() == theirs.get_config()

    for source, target in ((keras, k), (k, keras)):
        model = source.Sequential([source.Input((3,)), source.layers.SpectralNormalization(
            source.layers.Dense(2))])
        model.set_weights(values)
        path = tmp_path / f"{source.__name__}.keras"
        model.save(path)
        loaded = target.models.load_model(path)
        np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                                   rtol=1e-5, atol=1e-6)
        for a, b in zip(loaded.get_weights(), values):
            np.testing.assert_array_equal(a, b)
