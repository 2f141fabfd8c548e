"""Transposed convolutions equal Keras 3's (JAX backend) exactly, values and gradients.

On CPU lamina computes them as a GEMM and strided adds (`transposed_convolution`), not as
`lax.conv_transpose`; with small integers every sum is exact, so the numbers recorded from
Keras 3.15.1 (`keras.ops.conv_transpose` and `jax.vjp` of it) must match to the last bit.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import ops
from lamina.ops._convolution import _dimension_numbers, _transpose_padding

X = (np.arange(12).reshape(1, 2, 3, 2) % 5 - 2).astype("float32")
W = (np.arange(36).reshape(3, 3, 2, 2) % 7 - 3).astype("float32")

# (arguments, output shape, output, input gradient, kernel gradient), the cotangent being
# `arange(size) % 3 - 1` in the output's shape; recorded from Keras 3.15.1 on JAX.
KERAS = [
    (dict(strides=2, padding="same"), (1, 4, 6, 2),
     [8, 2, -4, -3, 3, -1, 2, -3, -3, -1, -2, 12, -7, 8, 2, -4, 0, 3, 0, 2, -5, -3, -2, -2, 2,
      -6, 7, -1, -8, -1, 3, -3, 4, -1, -6, -5, -2, 3, 1, -1, 5, -5, -1, 5, -10, 4, 2, -4],
     [-4, -4, 2, 2, 4, 0, -5, 2, -1, -8, 7, 2],
     [3, -2, 1, 6, -4, -4, 3, -2, 1, 3, -4, -4, 3, -2, 1, 6, -4, -4, 3, -2, 1, 3, -4, -4, 4,
      -1, -2, 3, -2, -2, 4, -1, 0, 1, -2, -2]),
    (dict(strides=2, padding="valid"), (1, 5, 7, 2),
     [8, 2, -4, -3, 3, -1, 2, -3, -3, -1, -2, 12, -2, -2, -7, 8, 2, -4, 0, 3, 0, 2, -5, -3,
      -2, -2, 12, -2, 2, -6, 7, -1, -8, -1, 3, -3, 4, -1, -6, -5, 3, 11, -2, 3, 1, -1, 5, -5,
      -1, 5, -10, 4, 2, -4, -3, 5, 0, -2, 3, 1, 1, 5, -7, -1, 4, -10, 8, 2, -4, -3],
     [7, 28, -14, -14, 7, -14, -14, -14, 7, -14, 7, 28],
     [7, 2, -4, 1, -3, -3, 7, 2, -4, 1, -3, -3, -3, -3, 7, 2, -4, 1, -3, -3, 7, 2, -4, 1, -4,
      1, -3, -3, 7, 2, -4, 1, -3, -3, 7, 2]),
    (dict(strides=(2, 3), padding="same", output_padding=(1, 2)), (1, 4, 9, 2),
     [8, 2, -4, -3, 5, -1, -2, 0, 2, -3, -1, 1, -2, -2, -2, 12, -2, -2, -7, 8, 2, -4, -3, 5,
      3, -2, 0, 2, -3, -1, -2, -2, -2, -2, 12, -2, 2, -6, 7, -1, -2, -3, -6, 2, 3, -3, -2,
      -1, 6, 0, -6, -5, 3, 11, -2, 3, 1, -1, -3, 2, 8, -7, -1, 5, -3, -4, -7, 8, 2, -4, -3,
      5],
     [-4, -4, -4, -4, -4, -4, -5, 2, -5, 2, -5, 2],
     [2, 1, 0, 0, -2, -1, 2, 1, 0, 0, -2, -1, 2, 1, 0, 0, -2, -1, 2, 1, 0, 0, -2, -1, 0, 2, 0,
      0, 0, -2, 0, 2, 0, 0, 0, -2]),
    (dict(strides=1, padding="same", dilation_rate=2), (1, 2, 3, 2),
     [0, -6, 0, 2, -5, 3, -6, 7, -1, 5, -1, -2],
     [-1, -1, -2, -2, -1, -1, -1, -1, -2, -2, -1, -1],
     [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 4, 4, -1, -6, 0, 0, -3, -1, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0]),
]


def _cotangent(shape):
    return (np.arange(int(np.prod(shape))).reshape(shape) % 3 - 1).astype("float32")


@pytest.mark.parametrize("arguments, shape, output, grad_x, grad_w", KERAS)
def test_values_and_gradients_equal_keras(arguments, shape, output, grad_x, grad_w):
    @jax.jit  # one compiled program per case (op-by-op dispatch compiles each op)
    def values_and_gradients(x, w, cotangent):
        y, pullback = jax.vjp(lambda a, b: ops.conv_transpose(a, b, **arguments), x, w)
        return (y, *pullback(cotangent))

    y, gx, gw = values_and_gradients(jnp.asarray(X), jnp.asarray(W),
                                     jnp.asarray(_cotangent(shape)))
    assert y.shape == shape
    np.testing.assert_array_equal(np.asarray(y).ravel(), output)
    np.testing.assert_array_equal(np.asarray(gx).ravel(), grad_x)
    np.testing.assert_array_equal(np.asarray(gw).ravel(), grad_w)


def test_channels_first_equals_channels_last():
    arguments, shape, output, _, _ = KERAS[2]
    y = ops.conv_transpose(np.moveaxis(X, -1, 1), W, data_format="channels_first",
                           **arguments)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(y), 1, -1).ravel(), output)


def test_layer_trains_to_keras_numbers_inside_fit():
    # One SGD step of fit (the compiled loop) on a Conv2DTranspose with the kernel W: the
    # kernel moves by -lr * the kernel gradient of a sum-of-products loss, recorded above.
    arguments, shape, output, _, grad_w = KERAS[0]
    layer = lamina.layers.Conv2DTranspose(2, 3, use_bias=False, **arguments)
    model = lamina.Sequential([lamina.Input(X.shape[1:]), layer])
    layer.kernel.assign(W)
    cotangent = _cotangent(shape)
    model.compile(optimizer=lamina.optimizers.SGD(0.5),
                  loss=lambda y_true, y_pred: lamina.ops.sum(y_true * y_pred))
    history = model.fit(X, cotangent[None], batch_size=1, epochs=1, verbose=0)
    assert history.history["loss"][0] == float(np.dot(output, cotangent.ravel()))
    np.testing.assert_array_equal(layer.kernel.numpy().ravel(), W.ravel() - 0.5 * np.array(grad_w))


# Channels (in, out) that make the CPU path pick each of its two forms: few input channels
# the phase form (each output phase from a small input neighbourhood), few output channels
# the scatter form (each tap's product added at its strided place).
@pytest.mark.parametrize("channels", [(1, 5), (5, 1)], ids=["phase", "scatter"])
@pytest.mark.parametrize("spatial, arguments", [
    ((4,), dict(strides=3, padding="valid", output_padding=2)),
    ((3, 4), dict(strides=(2, 3), padding="same")),
    ((3, 4), dict(strides=2, padding="valid", kernel=(4, 2))),
    ((4, 3), dict(strides=1, padding="same", dilation_rate=2)),
    ((2, 3, 2), dict(strides=2, padding="same", output_padding=1)),
])
def test_both_cpu_forms_equal_lax_conv_transpose_on_integers(channels, spatial, arguments):
    arguments = dict(arguments)
    rank = len(spatial)
    kernel_size = arguments.pop("kernel", (3,) * rank)
    (cin, cout), rng = channels, np.random.default_rng(rank)
    x = rng.integers(-3, 4, (2, *spatial, cin)).astype("float32")
    w = rng.integers(-3, 4, (*kernel_size, cout, cin)).astype("float32")

    @jax.jit
    def both(x, w):
        y, pullback = jax.vjp(lambda a, b: ops.conv_transpose(a, b, **arguments), x, w)
        # Keras's JAX backend: lax.conv_transpose with the same padding (ops' own rule).
        strides = arguments["strides"]
        strides = (strides,) * rank if isinstance(strides, int) else strides
        dilation = (arguments.get("dilation_rate", 1),) * rank
        pads = [_transpose_padding(k, s, d, arguments["padding"].upper(),
                                   arguments.get("output_padding"))
                for k, s, d in zip(kernel_size, strides, dilation)]
        reference, reference_pullback = jax.vjp(lambda a, b: jax.lax.conv_transpose(
            a, b, strides, pads, rhs_dilation=dilation, transpose_kernel=True,
            dimension_numbers=_dimension_numbers(rank, "channels_last")), x, w)
        cotangent = (jnp.arange(y.size).reshape(y.shape) % 3 - 1).astype(y.dtype)
        return (y, *pullback(cotangent)), (reference, *reference_pullback(cotangent))

    for ours, reference in zip(*both(jnp.asarray(x), jnp.asarray(w))):
        assert ours.shape == reference.shape
        np.testing.assert_array_equal(ours, reference)
