"""Convolution and pooling against naive NumPy loops on tiny inputs."""

import jax
import numpy as np
import pytest

from lamina import ops

RNG = np.random.default_rng(2)


def close(actual, expected, atol=1e-5):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-4, atol=atol)


def same_padding(size, kernel, stride, dilation=1):
    """TensorFlow's "same" padding: the output has ceil(size / stride) positions."""
    span = (kernel - 1) * dilation + 1
    total = max((-(-size // stride) - 1) * stride + span - size, 0)
    return total // 2, total - total // 2


def windows(x, kernel, strides, padding, dilation, fill):
    """Yields (output position, window of shape (batch, *kernel, channels)) channels-last."""
    spatial = x.shape[1:-1]
    if padding == "same":
        pads = [same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides, dilation)]
        x = np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=fill)
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    out_shape = [(n - span) // s + 1 for n, span, s in zip(x.shape[1:-1], spans, strides)]
    for position in np.ndindex(*out_shape):
        window = x
        for axis, (p, k, s, d) in enumerate(zip(position, kernel, strides, dilation)):
            window = np.take(window, p * s + d * np.arange(k), axis=axis + 1)
        yield position, window, out_shape


def naive_conv(x, w, strides, padding, dilation):
    kernel = w.shape[:-2]
    out = None
    for position, window, out_shape in windows(x, kernel, strides, padding, dilation, 0.0):
        if out is None:
            out = np.zeros((x.shape[0], *out_shape, w.shape[-1]))
        value = np.tensordot(window, w, axes=(list(range(1, window.ndim)),
                                              list(range(w.ndim - 1))))
        out[(slice(None), *position)] = value
    return out


def naive_pool(x, size, strides, padding, reduce):
    out = None
    for position, window, out_shape in windows(x, size, strides, padding, [1] * len(size),
                                               np.nan):
        if out is None:
            out = np.zeros((x.shape[0], *out_shape, x.shape[-1]))
        out[(slice(None), *position)] = reduce(window.reshape(x.shape[0], -1, x.shape[-1]), 1)
    return out


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides, dilation", [(1, 1), (2, 1), (1, 2)])
def test_conv1d_matches_naive_loop(padding, strides, dilation):
    x = RNG.normal(size=(2, 7, 3)).astype("float32")
    w = RNG.normal(size=(3, 3, 4)).astype("float32")
    expected = naive_conv(x, w, (strides,), padding, (dilation,))
    close(ops.conv(x, w, strides=strides, padding=padding, dilation_rate=dilation), expected)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, (2, 1)])
def test_conv2d_matches_naive_loop(padding, strides):
    x = RNG.normal(size=(2, 5, 6, 2)).astype("float32")
    w = RNG.normal(size=(3, 2, 2, 3)).astype("float32")
    tuple_strides = (strides, strides) if isinstance(strides, int) else strides
    expected = naive_conv(x, w, tuple_strides, padding, (1, 1))
    close(ops.conv(x, w, strides=strides, padding=padding), expected)


def test_conv2d_channels_first_and_padding_case():
    x = RNG.normal(size=(1, 5, 5, 2)).astype("float32")
    w = RNG.normal(size=(3, 3, 2, 4)).astype("float32")
    expected = np.asarray(ops.conv(x, w, padding="same"))
    first = ops.conv(x.transpose(0, 3, 1, 2), w, padding="SAME", data_format="channels_first")
    close(np.asarray(first).transpose(0, 2, 3, 1), expected)


def test_depthwise_and_separable_conv():
    x = RNG.normal(size=(1, 6, 5, 2)).astype("float32")
    w = RNG.normal(size=(3, 3, 2, 2)).astype("float32")  # 2 channels x multiplier 2
    per_channel = [naive_conv(x[..., c:c + 1], w[:, :, c:c + 1, :], (1, 1), "same", (1, 1))
                   for c in range(2)]
    expected = np.concatenate(per_channel, axis=-1)  # channel c, multiplier m -> c * 2 + m
    close(ops.depthwise_conv(x, w, padding="same"), expected)
    pointwise = RNG.normal(size=(1, 1, 4, 3)).astype("float32")
    close(ops.separable_conv(x, w, pointwise, padding="same"),
          np.tensordot(expected, pointwise[0, 0], axes=(-1, 0)))


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("strides", [1, 2])
def test_conv_transpose_is_the_gradient_of_conv(padding, strides):
    kernel = RNG.normal(size=(3, 2, 4)).astype("float32")  # (k, out_channels, in_channels)
    length = 8
    x = np.zeros((1, length, 2), "float32")
    y, vjp = jax.vjp(lambda t: ops.conv(t, kernel, strides=strides, padding=padding), x)
    cotangent = RNG.normal(size=y.shape).astype("float32")
    expected = vjp(cotangent)[0]
    transposed = ops.conv_transpose(cotangent, kernel, strides=strides, padding=padding,
                                    output_padding=None if padding == "same" else
                                    length - ((y.shape[1] - 1) * strides + 3))
    close(transposed, expected)


def test_conv_transpose_output_sizes():
    x = np.ones((1, 4, 4, 3), "float32")
    assert ops.conv_transpose(x, np.ones((3, 3, 5, 3)), strides=2).shape == (1, 9, 9, 5)
    assert ops.conv_transpose(x, np.ones((3, 3, 5, 3)), strides=2,
                              padding="same").shape == (1, 8, 8, 5)
    assert ops.conv_transpose(x, np.ones((2, 2, 5, 3)), strides=3).shape == (1, 12, 12, 5)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("size, strides", [(2, None), (3, 2), ((2, 3), 1)])
def test_pooling_matches_naive_loop(padding, size, strides):
    x = RNG.normal(size=(2, 5, 7, 3)).astype("float32")
    pool = (size, size) if isinstance(size, int) else size
    step = pool if strides is None else (strides, strides)
    close(ops.max_pool(x, size, strides, padding), naive_pool(x, pool, step, padding, np.nanmax))
    close(ops.average_pool(x, size, strides, padding),
          naive_pool(x, pool, step, padding, np.nanmean))


def test_pool1d_and_channels_first():
    x = RNG.normal(size=(1, 6, 2)).astype("float32")
    close(ops.max_pool(x, 2), x.reshape(1, 3, 2, 2).max(axis=2))
    first = ops.average_pool(x.transpose(0, 2, 1), 3, data_format="channels_first")
    close(np.asarray(first).transpose(0, 2, 1), x.reshape(1, 2, 3, 2).mean(axis=2))


def test_adaptive_pooling_bins():
    x = np.arange(10.0, dtype="float32").reshape(1, 5, 2)
    # 5 samples into 2 bins: [0, 3) and [2, 5) overlap at sample 2.
    close(ops.adaptive_average_pool(x, 2)[0, :, 0], [2.0, 6.0])
    close(ops.adaptive_max_pool(x, 2)[0, :, 0], [4.0, 8.0])


def test_conv_errors_say_what_was_expected():
    x = np.ones((1, 5, 5, 3), "float32")
    with pytest.raises(ValueError, match=r"inputs have 3 channels.*expects 2 input channels"):
        ops.conv(x, np.ones((3, 3, 2, 4)))
    with pytest.raises(ValueError, match="same rank as the inputs"):
        ops.conv(x, np.ones((3, 3, 4)))
    with pytest.raises(ValueError, match="rank 3, 4 or 5.*expand_dims"):
        ops.conv(np.ones((5, 5)), np.ones((3, 5, 1)))
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        ops.conv(x, np.ones((3, 3, 3, 4)), padding="causal")
    with pytest.raises(ValueError, match="empty output"):
        ops.conv(np.ones((1, 2, 3)), np.ones((3, 3, 1)))


def test_grouped_conv():
    x = RNG.normal(size=(1, 6, 4)).astype("float32")
    w = RNG.normal(size=(3, 2, 6)).astype("float32")  # 2 groups of 2 channels -> 3 filters each
    first = naive_conv(x[..., :2], w[..., :3], (1,), "valid", (1,))
    second = naive_conv(x[..., 2:], w[..., 3:], (1,), "valid", (1,))
    close(ops.conv(x, w), np.concatenate([first, second], axis=-1))


def test_patches_fold_unfold_and_depth_space():
    images = RNG.normal(size=(1, 2, 4, 4)).astype("float32")
    columns = ops.unfold(images, 2, stride=2)
    assert columns.shape == (1, 8, 4)
    close(ops.fold(columns, (4, 4), 2, stride=2), images)  # non-overlapping: exact inverse
    x = RNG.normal(size=(1, 4, 6, 8)).astype("float32")
    close(ops.depth_to_space(ops.space_to_depth(x, 2), 2), x)
    close(ops.space_to_depth(x, 2)[0, 0, 0], x[0, :2, :2].reshape(-1))
