"""`SpectralNormalization` (Miyato et al., 2018): a wrapper that divides a layer's kernel by an
estimate of its largest singular value, refined by power iteration at each training call.

Keras 3 keeps the estimate's left vector as a non-trainable weight `vector_u` and, in training,
assigns the normalized kernel back to the wrapped layer's `kernel` (or `embeddings`), which it
also tracks as its own weight; lamina does the same, so the weights, their order and the
weights file are Keras's.
"""

import jax
import jax.numpy as jnp

from lamina import initializers
from lamina.layers.input_spec import InputSpec
from lamina.layers.wrappers import Wrapper


def _l2_normalize(x, epsilon=1e-7):
    # Keras's ops.normalize(axis=None): x * min(rsqrt(sum(x^2)), 1 / epsilon).
    return x * jnp.minimum(jax.lax.rsqrt(jnp.sum(jnp.square(x))), 1.0 / epsilon)


class SpectralNormalization(Wrapper):
    """Constrains the spectral norm (the largest singular value) of a layer's kernel to about 1,
    which bounds the layer's Lipschitz constant and stabilizes GAN discriminators.

    In training (`training=True`), each call runs `power_iterations` steps of power iteration
    from the stored vector `u` to estimate the kernel's largest singular value `sigma`, then
    assigns `kernel / sigma` to the wrapped layer and the new `u` to `vector_u` (an all-zero
    kernel is left as it is). Inference uses the kernel as it stands.

    Args:
        layer: a layer with a `kernel` (Dense, Conv2D, ...) or `embeddings` (Embedding) weight.
        power_iterations: the number of power-iteration steps per training call (>= 1).

    The output is cast to the input's dtype, as in Keras (integer inputs, such as an
    Embedding's ids, keep the wrapped layer's output dtype).

    Examples:
        >>> layer = SpectralNormalization(lamina.layers.Dense(4))
        >>> layer(jnp.ones((2, 3)), training=True).shape
        (2, 4)
        >>> [w.path for w in layer.weights]
        ['spectral_normalization/dense/kernel', 'spectral_normalization/vector_u', \
'spectral_normalization/dense/bias']
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(layer, **kwargs)
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) \
                or power_iterations <= 0:
            raise ValueError(
                f"SpectralNormalization '{self.name}': power_iterations must be a positive "
                f"integer. Received: power_iterations={power_iterations!r}")
        self.power_iterations = power_iterations

    def build(self, input_shape):
        super().build(input_shape)
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ValueError(
                f"SpectralNormalization '{self.name}' normalizes a layer's 'kernel' or "
                f"'embeddings' weight, and {type(self.layer).__name__} '{self.layer.name}' has "
                "neither. Wrap a layer such as Dense, Conv2D or Embedding.")
        # Tracked as this layer's own weight too (Keras's order and weights file).
        self.kernel = kernel
        self.kernel_shape = tuple(kernel.shape)
        self.vector_u = self.add_weight(
            name="vector_u", shape=(1, self.kernel_shape[-1]),
            initializer=initializers.TruncatedNormal(stddev=0.02), trainable=False,
            dtype=kernel.dtype)
        self.built = True

    def normalized_weights(self):
        """`(new_vector_u, kernel / sigma)`: one round of power iteration from `vector_u`."""
        kernel = self.kernel.value
        weights = kernel.reshape(-1, self.kernel_shape[-1])
        vector_u = self.vector_u.value
        for _ in range(self.power_iterations):
            vector_v = _l2_normalize(vector_u @ weights.T)
            vector_u = _l2_normalize(vector_v @ weights)
        vector_u = jax.lax.stop_gradient(vector_u)
        vector_v = jax.lax.stop_gradient(vector_v)
        sigma = vector_v @ weights @ vector_u.T
        return (vector_u.astype(self.vector_u.dtype),
                (kernel / sigma).reshape(self.kernel_shape).astype(self.kernel.dtype))

    def call(self, inputs, training=False):
        if training:
            kernel, vector_u = self.kernel.value, self.vector_u.value
            new_u, new_kernel = self.normalized_weights()
            # Arrays, not a Python branch: the test runs inside the compiled step.
            unchanged = jnp.all(kernel == 0)
            self.vector_u.assign(jnp.where(unchanged, vector_u, new_u))
            self.kernel.assign(jnp.where(unchanged, kernel, new_kernel))
        output = self.layer(inputs)
        if jnp.issubdtype(jnp.asarray(inputs).dtype, jnp.inexact):
            output = output.astype(jnp.asarray(inputs).dtype)
        return output

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "power_iterations": self.power_iterations}


__all__ = ["SpectralNormalization"]
