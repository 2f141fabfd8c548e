"""Activations, softmax, encodings, losses, normalization and attention, against formulas."""

import math

import numpy as np
import pytest

from lamina import ops

RNG = np.random.default_rng(1)
X = RNG.normal(size=(2, 3, 4)).astype("float32") * 3


def close(actual, expected, rtol=1e-5, atol=1e-5):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=atol)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softplus(x):
    return np.log1p(np.exp(x))


erf = np.vectorize(math.erf)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

ACTIVATIONS = [
    ("relu", lambda x: np.maximum(x, 0)),
    ("relu6", lambda x: np.clip(x, 0, 6)),
    ("sigmoid", sigmoid),
    ("softplus", softplus),
    ("softsign", lambda x: x / (1 + np.abs(x))),
    ("silu", lambda x: x * sigmoid(x)),
    ("swish", lambda x: x * sigmoid(x)),
    ("elu", lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    ("selu", lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1))),
    ("leaky_relu", lambda x: np.where(x > 0, x, 0.2 * x)),
    ("hard_sigmoid", lambda x: np.clip(x / 6 + 0.5, 0, 1)),
    ("hard_silu", lambda x: x * np.clip(x / 6 + 0.5, 0, 1)),
    ("mish", lambda x: x * np.tanh(softplus(x))),
    ("log_sigmoid", lambda x: -softplus(-x)),
    ("tanh", np.tanh),
    ("gelu", lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    ("celu", lambda x: np.maximum(x, 0) + np.minimum(0, np.exp(x) - 1)),
    ("hard_tanh", lambda x: np.clip(x, -1, 1)),
    ("tanh_shrink", lambda x: x - np.tanh(x)),
    ("soft_shrink", lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0)),
    ("hard_shrink", lambda x: np.where(np.abs(x) > 0.5, x, 0)),
    ("squareplus", lambda x: (x + np.sqrt(x * x + 4)) / 2),
]


@pytest.mark.parametrize("name, formula", ACTIVATIONS)
def test_activation_matches_formula(name, formula):
    close(getattr(ops, name)(X), formula(X.astype("float64")))


def test_gelu_exact_and_glu():
    close(ops.gelu(X, approximate=False), 0.5 * X * (1 + erf(X / np.sqrt(2))))
    a, b = np.split(X, 2, axis=-1)
    close(ops.glu(X), a * sigmoid(b))


@pytest.mark.parametrize("axis", [-1, 0, 1, (1, 2)])
def test_softmax_and_log_softmax_over_axis(axis):
    shifted = np.exp(X - X.max(axis=axis, keepdims=True))
    expected = shifted / shifted.sum(axis=axis, keepdims=True)
    close(ops.softmax(X, axis=axis), expected)
    close(ops.log_softmax(X, axis=axis), np.log(expected), atol=1e-4)
    close(np.sum(ops.softmax(X, axis=axis), axis=axis), 1.0)


def test_softmax_is_stable_for_large_logits():
    close(ops.softmax([1000.0, 1000.0]), [0.5, 0.5])
    close(ops.log_softmax([1000.0, 0.0]), [0.0, -1000.0])


def test_sparsemax_projects_onto_the_simplex():
    out = np.asarray(ops.sparsemax(X))
    close(out.sum(axis=-1), 1.0)
    assert (out >= 0).all()
    close(ops.sparsemax([0.5, 0.2, 0.1]), [0.5 + 0.2 / 3, 0.2 + 0.2 / 3, 0.1 + 0.2 / 3])


def test_one_hot_and_multi_hot():
    np.testing.assert_array_equal(ops.one_hot([1, 0, 3], 3), [[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    assert ops.one_hot(np.array([1, 2]), 4, axis=0).shape == (4, 2)
    assert ops.one_hot([1], 2, dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(ops.multi_hot([[0, 2], [1, 1]], 3), [[1, 0, 1], [0, 1, 0]])


def test_one_hot_takes_float_labels_as_keras_on_jax_does():
    # Keras 3.15 on JAX: ops.one_hot(np.array([1.0, 0.0, 2.7, -1.5]), 3) gives these rows (a
    # fractional label matches no class).
    np.testing.assert_array_equal(ops.one_hot(np.array([1.0, 0.0, 2.7, -1.5]), 3),
                                  [[0, 1, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])
    assert ops.one_hot(np.array([2.0], "float16"), 3, dtype="int32").tolist() == [[0, 0, 1]]


def test_one_hot_rejects_non_real_labels_with_a_fix():
    with pytest.raises(TypeError, match=r"integer class labels.*complex64.*ops.cast"):
        ops.one_hot(np.array([1 + 1j]), 3)


def test_crossentropies_match_formulas():
    probs = ops.softmax(X[0])
    labels = np.array([0, 3, 1])
    one_hot = np.eye(4)[labels].astype("float32")
    expected = -np.log(np.asarray(probs)[np.arange(3), labels])
    close(ops.categorical_crossentropy(one_hot, probs), expected, atol=1e-4)
    close(ops.categorical_crossentropy(one_hot, X[0], from_logits=True), expected, atol=1e-4)
    close(ops.sparse_categorical_crossentropy(labels, probs), expected, atol=1e-4)
    close(ops.sparse_categorical_crossentropy(labels, X[0], from_logits=True), expected,
          atol=1e-4)
    target = (X > 0).astype("float32")
    p = sigmoid(X)
    bce = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    close(ops.binary_crossentropy(target, X, from_logits=True), bce, atol=1e-4)
    close(ops.binary_crossentropy(target, p.astype("float32")), bce, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="same shape"):
        ops.binary_crossentropy(target, X[0])


def test_moments_and_normalization():
    mean, variance = ops.moments(X, axes=(0, 2))
    close(mean, X.mean(axis=(0, 2)))
    close(variance, X.var(axis=(0, 2)), rtol=1e-4)
    mean, variance = ops.moments(X, axes=[1], keepdims=True)
    assert mean.shape == variance.shape == (2, 1, 4)
    m, v = X.mean(axis=(0, 1)), X.var(axis=(0, 1))
    offset, scale = np.arange(4.0, dtype="float32"), np.full(4, 2.0, "float32")
    close(ops.batch_normalization(X, m, v, axis=-1, offset=offset, scale=scale, epsilon=1e-3),
          (X - m) / np.sqrt(v + 1e-3) * scale + offset, atol=1e-4)
    rows = X.reshape(-1, 4)
    close(ops.layer_normalization(X, epsilon=1e-6).reshape(-1, 4),
          (rows - rows.mean(1, keepdims=True)) / np.sqrt(rows.var(1, keepdims=True) + 1e-6),
          atol=1e-4)
    close(ops.normalize(X), X / np.linalg.norm(X, axis=-1, keepdims=True), atol=1e-6)
    close(ops.rms_normalization(X, epsilon=0.0), X / np.sqrt((X ** 2).mean(-1, keepdims=True)),
          atol=1e-5)


def naive_attention(q, k, v, mask=None):
    logits = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        logits = np.where(mask, logits, -1e9)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return np.einsum("bnts,bsnh->btnh", weights, v)


def test_dot_product_attention_matches_naive():
    q, k, v = (RNG.normal(size=(2, 3, 2, 4)).astype("float32") for _ in range(3))
    close(ops.dot_product_attention(q, k, v), naive_attention(q, k, v), atol=1e-5)
    causal = np.tril(np.ones((3, 3), bool))
    close(ops.dot_product_attention(q, k, v, is_causal=True),
          naive_attention(q, k, v, causal), atol=1e-5)
    close(ops.dot_product_attention(q, k, v, mask=causal), naive_attention(q, k, v, causal),
          atol=1e-5)


def test_float32_attention_matches_jax_in_values_and_gradients():
    # float32 attention is lamina's own arrangement of jax.nn.dot_product_attention's (the
    # query scaled before the product): the same values and gradients up to rounding, with a
    # bias, a mask with a fully masked query row (attends evenly, as jax's), causally.
    import jax

    q, k, v = (RNG.normal(size=(2, 4, 2, 3)).astype("float32") for _ in range(3))
    bias = RNG.normal(size=(1, 2, 4, 4)).astype("float32")
    mask = RNG.random((2, 1, 4, 4)) > 0.3
    mask[0, 0, 2] = False
    kwargs = {"bias": bias, "mask": mask, "scale": 0.3, "is_causal": True}

    def value_and_grads(attention):
        loss = lambda q, k, v: (attention(q, k, v, **kwargs) * v).sum()  # noqa: E731
        return jax.jit(jax.value_and_grad(loss, (0, 1, 2)))(q, k, v)

    (ours, ours_grads), (reference, grads) = (
        value_and_grads(ops.dot_product_attention),
        value_and_grads(jax.nn.dot_product_attention))
    close(ours, reference, atol=1e-5)
    for got, want in zip(ours_grads, grads):
        close(got, want, atol=1e-5)


def test_dot_product_attention_takes_a_traced_scale():
    import jax

    q = RNG.normal(size=(1, 3, 2, 4)).astype("float32")
    traced = jax.jit(lambda s: ops.dot_product_attention(q, q, q, scale=s))(0.5)
    close(traced, ops.dot_product_attention(q, q, q, scale=0.5), atol=1e-6)
