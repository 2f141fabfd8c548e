"""Activation layers with arguments or weights: ReLU, LeakyReLU, PReLU, ELU, Softmax.

(`Activation("name")`, for any activation function, is in `core.py`.)
"""

import warnings

import jax
import jax.numpy as jnp

from lamina import activations, constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


def _check_non_negative(layer, name, value, allow_none=False):
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) \
            or value < 0:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': {name} must be a non-negative number"
            f"{' or None' if allow_none else ''}. Received: {name}={value!r}")


class ReLU(Layer):
    """Rectified linear unit with Keras 3's options: `x` above `threshold`,
    `negative_slope * (x - threshold)` below it, and the result capped at `max_value`.

    Examples:
        >>> ReLU(max_value=1.0)(jnp.array([-1.0, 0.5, 2.0])).tolist()
        [0.0, 0.5, 1.0]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        _check_non_negative(self, "max_value", max_value, allow_none=True)
        _check_non_negative(self, "negative_slope", negative_slope)
        _check_non_negative(self, "threshold", threshold)
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """`x` for positive inputs, `negative_slope * x` otherwise (`alpha=` is accepted as the
    deprecated Keras 2 name).

    Examples:
        >>> LeakyReLU(negative_slope=0.5)(jnp.array([-2.0, 3.0])).tolist()
        [-1.0, 3.0]
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: the argument `alpha` is deprecated; use `negative_slope`.",
                          stacklevel=2)
        super().__init__(**kwargs)
        _check_non_negative(self, "negative_slope", negative_slope)
        self.negative_slope = negative_slope
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Leaky ReLU with a learned slope: `x` for positive inputs, `alpha * x` otherwise.

    `alpha` is a trainable weight shaped like one sample (`input_shape[1:]`); the axes in
    `shared_axes` (1-based, batch excluded) get size 1 and share one slope, e.g.
    `shared_axes=[1, 2]` for one slope per channel of an image.

    Examples:
        >>> layer = PReLU(alpha_initializer="ones")
        >>> layer(jnp.array([[-2.0, 3.0]])).tolist(), layer.alpha.shape
        ([[-2.0, 3.0]], (2,))
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis < len(input_shape):
                raise ValueError(
                    f"PReLU '{self.name}': shared_axes holds axis {axis}, but inputs of shape "
                    f"{tuple(input_shape)} have axes 1..{len(input_shape) - 1} (1-based, "
                    f"batch excluded). Received: shared_axes={self.shared_axes}")
            param_shape[axis - 1] = 1
        if None in param_shape:
            raise ValueError(
                f"PReLU '{self.name}' needs known sizes for its alpha weight, but the input "
                f"shape is {tuple(input_shape)}. Share the unknown axes (shared_axes=[...]) "
                "or give them fixed sizes.")
        self.alpha = self.add_weight(
            shape=param_shape, name="alpha", initializer=self.alpha_initializer,
            regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        axes = {}
        if self.shared_axes:
            axes = {i: input_shape[i] for i in range(1, len(input_shape))
                    if i not in self.shared_axes}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        return jax.nn.relu(inputs) - self.alpha.value * jax.nn.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        }


class ELU(Layer):
    """Exponential linear unit: `x` for positive inputs, `alpha * (exp(x) - 1)` otherwise.

    Examples:
        >>> [round(v, 4) for v in ELU()(jnp.array([-1.0, 2.0])).tolist()]
        [-0.6321, 2.0]
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


def _large_negative(dtype):
    # Large enough to vanish after exp, small enough not to overflow float16.
    return -3e4 if jnp.dtype(dtype) == jnp.float16 else -1e9


class Softmax(Layer):
    """Softmax over `axis` (an int or a tuple of axes normalized jointly).

    Call arguments: `inputs`, and an optional `mask` broadcastable to the inputs: positions
    where it is False (or <= 0.5 for a numeric mask) get probability 0, and the rest
    renormalize among themselves.

    Examples:
        >>> Softmax()(jnp.array([[1.0, 1.0, 5.0]]), mask=jnp.array([[True, True, False]])).tolist()
        [[0.5, 0.5, 0.0]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim > inputs.ndim or any(
                    m != 1 and m != i for m, i in zip(mask.shape[::-1], inputs.shape[::-1])):
                raise ValueError(
                    f"Softmax '{self.name}': the mask must broadcast to the inputs (each mask "
                    "axis of size 1 or equal to the input's, no extra axes). Received: "
                    f"inputs.shape={inputs.shape}, mask.shape={mask.shape}")
            if mask.dtype != jnp.bool_:
                mask = mask > 0.5
            inputs = jnp.where(mask, inputs, _large_negative(inputs.dtype))
        axis = self.axis
        if isinstance(axis, (list, tuple)):
            axis = tuple(axis) if len(axis) > 1 else axis[0]
        if isinstance(axis, tuple):
            outputs = jnp.exp(inputs - jax.nn.logsumexp(inputs, axis=axis, keepdims=True))
        else:
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = jnp.where(mask, outputs, jnp.zeros((), outputs.dtype))
        return outputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
