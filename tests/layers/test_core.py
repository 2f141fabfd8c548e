"""Dense (lamina/layers/core.py) on inputs of rank > 2: computed as one 2D product, with the
values and gradients of a batched matmul."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina import layers


@pytest.mark.parametrize("shape", [(4, 5), (2, 4, 5), (2, 3, 4, 5)])
def test_dense_values_and_gradients_equal_a_batched_matmul(shape):
    layer = layers.Dense(3, bias_initializer="random_normal")
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=shape), "float32")
    layer.build(x.shape)
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    cotangent = jnp.asarray(rng.normal(size=shape[:-1] + (3,)), "float32")

    def ours(k, b, x):
        return jnp.sum(layer.stateless_call([k, b], [], x)[0] * cotangent)

    def reference(k, b, x):
        return jnp.sum((jnp.matmul(x, k) + b) * cotangent)

    assert layer(x).shape == shape[:-1] + (3,)
    np.testing.assert_allclose(ours(kernel, bias, x), reference(kernel, bias, x), rtol=1e-5)
    for a, b in zip(jax.grad(ours, (0, 1, 2))(kernel, bias, x),
                    jax.grad(reference, (0, 1, 2))(kernel, bias, x)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
