"""`tf.nn` and `tf.random` of `lamina.compat.tf`, against NumPy references."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina.compat import tf

RNG = np.random.RandomState(0)
IMAGES = RNG.randn(2, 5, 6, 3).astype(np.float32)
KERNEL = RNG.randn(3, 2, 3, 4).astype(np.float32)


def _same_pads(size, window, stride, dilation=1):
    """TF's SAME padding: the output has ceil(size / stride) positions, extra pad after."""
    effective = (window - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def _reference_conv2d(x, w, strides, padding, dilations=(1, 1)):
    if padding == "SAME":
        pads = [_same_pads(x.shape[i + 1], w.shape[i], strides[i], dilations[i]) for i in (0, 1)]
    else:
        pads = [(0, 0), (0, 0)]
    x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)])
    kh, kw = (w.shape[0] - 1) * dilations[0] + 1, (w.shape[1] - 1) * dilations[1] + 1
    out_h = (x.shape[1] - kh) // strides[0] + 1
    out_w = (x.shape[2] - kw) // strides[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, w.shape[3]), np.float64)
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, i * strides[0]:i * strides[0] + kh:dilations[0],
                      j * strides[1]:j * strides[1] + kw:dilations[1], :]
            out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def _reference_pool(x, size, stride, padding, kind):
    pads = ([_same_pads(x.shape[i + 1], size, stride) for i in (0, 1)]
            if padding == "SAME" else [(0, 0), (0, 0)])
    fill = -np.inf if kind == "max" else np.nan
    x = np.pad(x, [(0, 0), pads[0], pads[1], (0, 0)], constant_values=fill)
    out_h = (x.shape[1] - size) // stride + 1
    out_w = (x.shape[2] - size) // stride + 1
    reduce = np.max if kind == "max" else np.nanmean  # TF's average skips the padding
    return np.stack([np.stack([
        reduce(x[:, i * stride:i * stride + size, j * stride:j * stride + size], axis=(1, 2))
        for j in range(out_w)], axis=1) for i in range(out_h)], axis=1)


@pytest.mark.parametrize("strides,padding,dilations", [
    (1, "SAME", None), (2, "SAME", None), ([1, 2, 1, 1], "VALID", None),
    ([1, 1], "SAME", [2, 1])])
def test_conv2d_matches_reference(strides, padding, dilations):
    s = [strides] * 2 if isinstance(strides, int) else (
        strides[1:3] if len(strides) == 4 else strides)
    d = dilations or (1, 1)
    expected = _reference_conv2d(IMAGES, KERNEL, s, padding, d)
    result = tf.nn.conv2d(IMAGES, lamina.Variable(KERNEL), strides=strides, padding=padding,
                          dilations=dilations)
    np.testing.assert_allclose(result, expected, rtol=1e-4, atol=1e-4)


def test_conv2d_channels_first_explicit_padding_and_conv1d():
    nchw = np.transpose(IMAGES, (0, 3, 1, 2))
    result = tf.nn.conv2d(nchw, KERNEL, strides=1, padding=[[0, 0], [0, 0], [1, 1], [0, 1]],
                          data_format="NCHW")
    padded = np.pad(IMAGES, [(0, 0), (1, 1), (0, 1), (0, 0)])
    expected = _reference_conv2d(padded, KERNEL, (1, 1), "VALID")
    np.testing.assert_allclose(result, np.transpose(expected, (0, 3, 1, 2)), rtol=1e-4,
                               atol=1e-4)
    one_d = tf.nn.conv1d(IMAGES[:, 0], KERNEL[0], stride=1, padding="VALID")
    expected_1d = _reference_conv2d(IMAGES[:, :1], KERNEL[:1], (1, 1), "VALID")[:, 0]
    np.testing.assert_allclose(one_d, expected_1d, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("size,stride,padding", [(2, 2, "VALID"), (3, 2, "SAME"),
                                                 (2, 1, "SAME")])
def test_pooling_matches_reference(size, stride, padding):
    np.testing.assert_allclose(tf.nn.max_pool2d(IMAGES, size, stride, padding),
                               _reference_pool(IMAGES, size, stride, padding, "max"), rtol=1e-6)
    np.testing.assert_allclose(tf.nn.avg_pool2d(IMAGES, [1, size, size, 1], stride, padding),
                               _reference_pool(IMAGES, size, stride, padding, "avg"),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tf.nn.max_pool(IMAGES, size, stride, padding),
                               tf.nn.max_pool2d(IMAGES, size, stride, padding))


def test_conv_and_pool_are_differentiable_under_jit():
    def loss(kernel):
        features = tf.nn.relu(tf.nn.conv2d(IMAGES, kernel, 1, "SAME"))
        return tf.reduce_mean(tf.nn.avg_pool2d(tf.nn.max_pool2d(features, 2, 1, "SAME"), 2, 2,
                                               "VALID"))

    grads = jax.jit(jax.grad(loss))(jnp.asarray(KERNEL))
    assert grads.shape == KERNEL.shape and np.isfinite(grads).all()


def test_activations_match_formulas(in_all_modes):
    x = np.array([-3.0, -0.5, 0.0, 0.5, 7.0], np.float32)
    sigmoid = 1 / (1 + np.exp(-x))
    cases = {
        tf.nn.relu: np.maximum(x, 0), tf.nn.relu6: np.clip(x, 0, 6),
        tf.nn.elu: np.where(x > 0, x, np.expm1(x)),
        tf.nn.selu: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)),
        tf.nn.gelu: x * 0.5 * (1 + np.vectorize(math.erf)(x / np.sqrt(2))),
        tf.nn.swish: x * sigmoid, tf.nn.silu: x * sigmoid,
        tf.nn.leaky_relu: np.where(x > 0, x, 0.2 * x),
        tf.nn.sigmoid: sigmoid, tf.nn.tanh: np.tanh(x),
        tf.nn.softplus: np.log1p(np.exp(x)), tf.nn.softsign: x / (1 + np.abs(x)),
        tf.nn.softmax: np.exp(x) / np.exp(x).sum(),
        tf.nn.log_softmax: x - np.log(np.exp(x).sum()),
    }
    results = in_all_modes(lambda a: [fn(a) for fn in cases], x, rtol=1e-5)
    for (fn, expected), result in zip(cases.items(), results):
        np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6, err_msg=fn.__name__)
    np.testing.assert_allclose(tf.nn.gelu(x, approximate=True), jax.nn.gelu(x), rtol=1e-6)
    np.testing.assert_allclose(tf.nn.leaky_relu(x, alpha=0.1), np.where(x > 0, x, 0.1 * x))


def test_moments_and_batch_normalization():
    x = RNG.randn(4, 3).astype(np.float32)
    mean, variance = tf.nn.moments(x, axes=[0])
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance, x.var(0), rtol=1e-5)
    mean, variance = tf.nn.moments(lamina.Variable(x), axes=-1, keepdims=True)
    assert mean.shape == (4, 1) and variance.shape == (4, 1)
    half_mean, _ = tf.nn.moments(x.astype(np.float16), axes=[0, 1])
    assert half_mean.dtype == tf.float16
    scale, offset = np.array([1.0, 2.0, 3.0], np.float32), np.array([0.0, 1.0, -1.0], np.float32)
    normalized = tf.nn.batch_normalization(x, x.mean(0), x.var(0), offset, scale, 1e-3)
    np.testing.assert_allclose(normalized,
                               scale * (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) + offset,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(tf.nn.l2_loss(x), (x ** 2).sum() / 2, rtol=1e-6)


def test_cross_entropies_match_numpy():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], np.float32)
    wide = logits.astype(np.float64)
    log_probs = wide - np.log(np.exp(wide).sum(-1, keepdims=True))
    labels = np.array([2, 1])
    np.testing.assert_allclose(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
        -log_probs[[0, 1], labels], rtol=1e-5)
    one_hot = np.eye(3, dtype=np.float32)[labels]
    np.testing.assert_allclose(
        tf.nn.softmax_cross_entropy_with_logits(labels=one_hot, logits=logits),
        -log_probs[[0, 1], labels], rtol=1e-5)
    targets = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]], np.float32)
    expected = -(targets * np.log(1 / (1 + np.exp(-logits)))
                 + (1 - targets) * np.log(1 - 1 / (1 + np.exp(-logits))))
    np.testing.assert_allclose(
        tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits), expected,
        rtol=1e-5)
    # Stable where the naive formula overflows.
    extreme = tf.nn.sigmoid_cross_entropy_with_logits(labels=[1.0, 0.0], logits=[200.0, -200.0])
    np.testing.assert_allclose(extreme, [0.0, 0.0])


def test_bias_add_embedding_lookup_l2_normalize():
    np.testing.assert_allclose(tf.nn.bias_add(IMAGES, [1.0, 2.0, 3.0]), IMAGES + [1, 2, 3])
    nchw = np.transpose(IMAGES, (0, 3, 1, 2))
    np.testing.assert_allclose(tf.nn.bias_add(nchw, [1.0, 2.0, 3.0], data_format="NCHW"),
                               nchw + np.array([1.0, 2.0, 3.0])[:, None, None])
    table = np.arange(8, dtype=np.float32).reshape(4, 2)
    np.testing.assert_allclose(tf.nn.embedding_lookup(lamina.Variable(table), [[3, 0]]),
                               table[[[3, 0]]])
    clipped = tf.nn.embedding_lookup(table, [3, 0], max_norm=1.0)
    np.testing.assert_allclose(clipped, [table[3] / np.linalg.norm(table[3]), table[0]],
                               rtol=1e-6)
    np.testing.assert_allclose(tf.nn.l2_normalize([3.0, 4.0]), [0.6, 0.8], rtol=1e-6)


def test_dropout_statistics_and_seed():
    x = np.ones((2000,), np.float32)
    dropped = tf.nn.dropout(x, rate=0.25, seed=3)
    assert set(np.unique(np.asarray(dropped)).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    assert abs(float(jnp.mean(dropped == 0)) - 0.25) < 0.04
    np.testing.assert_array_equal(dropped, tf.nn.dropout(x, rate=0.25, seed=3))
    tf.random.set_seed(1)
    first = tf.nn.dropout(x, rate=0.5)
    assert not np.array_equal(first, tf.nn.dropout(x, rate=0.5))


def test_random_functions():
    tf.random.set_seed(7)
    normal = tf.random.normal([4000], mean=1.0, stddev=2.0)
    assert normal.dtype == tf.float32
    assert tf.random.normal([2], stddev=tf.constant(0.5), dtype=tf.float16).dtype == tf.float16
    assert abs(float(jnp.mean(normal)) - 1.0) < 0.15 and abs(float(jnp.std(normal)) - 2) < 0.15

    @jax.jit  # int seeds make the ops pure, so they also run under a plain jax.jit
    def draws():
        return {
            "uniform": tf.random.uniform((3, 4), minval=2.0, maxval=3.0, seed=1),
            "ints": tf.random.uniform([100], maxval=5, dtype=tf.int32, seed=2),
            "truncated": tf.random.truncated_normal([1000], stddev=0.5, seed=0),
            "shuffled": tf.random.shuffle(jnp.arange(5), seed=0),
            "samples": tf.random.categorical(tf.math.log([[0.0, 1.0]]), 5, seed=0),
        }

    d = draws()
    assert d["uniform"].shape == (3, 4) and bool(((d["uniform"] >= 2) & (d["uniform"] < 3)).all())
    assert d["ints"].dtype == tf.int32 and set(np.asarray(d["ints"]).tolist()) <= set(range(5))
    assert float(jnp.max(jnp.abs(d["truncated"]))) <= 1.0
    assert sorted(d["shuffled"].tolist()) == [0, 1, 2, 3, 4]
    assert d["samples"].shape == (1, 5) and d["samples"].tolist() == [[1] * 5]
    np.testing.assert_array_equal(d["uniform"],
                                  tf.random.uniform((3, 4), minval=2.0, maxval=3.0, seed=1))
    tf.random.set_seed(5)
    a = tf.random.normal([3])
    tf.random.set_seed(5)
    np.testing.assert_array_equal(a, tf.random.normal([3]))


def test_unseeded_random_inside_keras_function_is_fresh_each_call():
    draw = lamina.function(lambda: tf.random.normal([3]))
    assert not np.array_equal(draw(), draw())
