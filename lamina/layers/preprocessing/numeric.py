"""Numeric preprocessing layers: Normalization (with `adapt`) and Rescaling."""

import math

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime import config
from lamina._runtime.variable import Variable
from lamina._serialization import deserialize_keras_object, serialize_keras_object
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor


def _first_of_pair(batch):
    # Datasets of (features, labels) pairs: adapt() learns from the features.
    return batch[0] if isinstance(batch, tuple) else batch


def _is_number_list(value):
    return isinstance(value, list) and bool(value) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) or _is_number_list(v)
        for v in value)


class Normalization(Layer):
    """Standardizes features: `(x - mean) / sqrt(variance)`, with the statistics either given
    or learned from data by `adapt(data)`.

    `axis` names the axes that keep their own statistics (by default the last: one mean and
    variance per feature); every other axis is reduced over. With `invert=True` the layer
    undoes the standardization: `mean + x * sqrt(variance)`. The standard deviation is floored
    at `keras.config.epsilon()` so that a constant feature does not divide by zero.

    Without `mean`/`variance`, `build` creates three non-trainable weights, in Keras 3's order
    and names: `mean` and `variance` (shaped like the kept axes) and `count` (an int32 scalar
    that Keras 3 stores but never updates; lamina leaves it at 0 too). `adapt` accepts an
    array, or an iterable of batches (arrays, or `(x, y)` pairs), and replaces the statistics
    with those of the data (it does not accumulate across calls).

    Examples:
        >>> norm = Normalization()
        >>> norm.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> norm(np.array([[1.0, 20.0]])).tolist()
        [[0.0, 0.0]]
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int) and not isinstance(axis, bool):
            axis = (axis,)
        elif isinstance(axis, (list, tuple)) and all(
                isinstance(a, int) and not isinstance(a, bool) for a in axis):
            axis = tuple(axis)
        else:
            raise TypeError(
                f"Normalization '{self.name}': axis must be None, an int or a tuple of ints. "
                f"Received: axis={axis!r}")
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                f"Normalization '{self.name}': pass both mean and variance, or neither (and "
                f"call adapt()). Received: mean={mean!r}, variance={variance!r}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    f"Normalization '{self.name}': mean and variance must have the same shape. "
                    f"Received: mean shape {np.shape(mean)}, variance shape "
                    f"{np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f"Normalization '{self.name}': mean has rank {np.ndim(mean)}, more than the "
                    f"{len(self.axis)} kept axes (axis={self.axis}). Give one value per kept "
                    "feature, or a scalar.")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self.supports_masking = True
        self._keep_axis = None

    def build(self, input_shape):
        rank = len(input_shape)
        if any(not -rank <= a < rank for a in self.axis):
            raise ValueError(
                f"Normalization '{self.name}': every axis must be in [{-rank}, {rank}) for "
                f"inputs of shape {tuple(input_shape)}. Received: axis={self.axis}")
        self._keep_axis = tuple(sorted(a % rank for a in self.axis))
        for a in self._keep_axis:
            if input_shape[a] is None:
                raise ValueError(
                    f"Normalization '{self.name}': the kept axis {a} needs a known size, but "
                    f"the input shape is {tuple(input_shape)}. Received: axis={self.axis}")
        self._reduce_axis = tuple(d for d in range(rank) if d not in self._keep_axis)
        self._broadcast_shape = tuple(
            input_shape[d] if d in self._keep_axis else 1 for d in range(rank))
        self._mean_and_var_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._build_input_shape = tuple(input_shape)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                name="mean", shape=self._mean_and_var_shape, initializer="zeros",
                trainable=False)
            self.adapt_variance = self.add_weight(
                name="variance", shape=self._mean_and_var_shape, initializer="ones",
                trainable=False)
            self.count = self.add_weight(
                name="count", shape=(), dtype="int32", initializer="zeros", trainable=False)
        self.built = True

    def _fixed_statistic(self, value):
        # A given mean/variance fills the last kept axes (Keras's rule), then broadcasts.
        value = np.asarray(value)
        if value.ndim:
            expanded = [1] * len(self._broadcast_shape)
            for i in range(1, value.ndim + 1):
                expanded[self._keep_axis[-i]] = value.shape[-i]
            value = value.reshape(expanded)
        return jnp.broadcast_to(jnp.asarray(value, self.compute_dtype), self._broadcast_shape)

    @property
    def mean(self):
        """The mean, shaped to broadcast against the inputs (None before build)."""
        if not self.built:
            return None
        if self.input_mean is not None:
            return self._fixed_statistic(self.input_mean)
        return self.adapt_mean.value.reshape(self._broadcast_shape).astype(self.compute_dtype)

    @property
    def variance(self):
        """The variance, shaped to broadcast against the inputs (None before build)."""
        if not self.built:
            return None
        if self.input_variance is not None:
            return self._fixed_statistic(self.input_variance)
        return self.adapt_variance.value.reshape(self._broadcast_shape).astype(
            self.compute_dtype)

    def adapt(self, data):
        """Sets `mean` and `variance` to the statistics of `data` over the reduced axes.

        `data`: a NumPy or JAX array (or nested number list), or an iterable of batches, each
        an array or an `(x, y)` pair. Batches are combined exactly (parallel variance formula),
        so the result does not depend on how the data is split.
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization '{self.name}' was given a fixed mean and variance, so adapt() "
                "has nothing to learn. Create the layer without mean/variance to adapt it.")
        if isinstance(data, Variable):
            data = data.value
        if _is_number_list(data):
            data = np.asarray(data)
        if isinstance(data, (np.ndarray, jax.Array)):
            batches = [data]
        elif hasattr(data, "__iter__"):
            batches = data
        else:
            raise TypeError(
                f"Normalization '{self.name}'.adapt() expects an array or an iterable of "
                f"batches (arrays or (x, y) pairs). Received: {type(data).__name__}")

        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            batch = _first_of_pair(batch)
            if not hasattr(batch, "shape"):
                if _is_number_list(batch):
                    batch = np.asarray(batch)
                else:
                    raise TypeError(
                        f"Normalization '{self.name}'.adapt() needs batches that are arrays "
                        f"(with a .shape). Received a batch of type {type(batch).__name__}.")
            self._check_adapt_shape(tuple(batch.shape))
            batch = jnp.asarray(batch, self.compute_dtype)
            batch_mean = jnp.mean(batch, axis=self._reduce_axis)
            batch_var = jnp.var(batch, axis=self._reduce_axis)
            batch_count = math.prod(batch.shape[d] for d in self._reduce_axis)
            if total_mean is None:
                total_mean, total_var, total_count = batch_mean, batch_var, batch_count
                continue
            total_count += batch_count
            weight = batch_count / total_count
            new_mean = total_mean * (1.0 - weight) + batch_mean * weight
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1.0 - weight)
                         + (batch_var + (batch_mean - new_mean) ** 2) * weight)
            total_mean = new_mean
        if total_mean is None:
            raise ValueError(
                f"Normalization '{self.name}'.adapt() received no data (an empty iterable). "
                "Pass an array, or at least one batch.")
        self.adapt_mean.assign(total_mean)
        self.adapt_variance.assign(total_var)

    def _check_adapt_shape(self, shape):
        if not self.built:
            self._maybe_build((KerasTensor(shape),), {})
            return
        if len(shape) != len(self._build_input_shape) or any(
                shape[d] != self._build_input_shape[d] for d in self._keep_axis):
            raise ValueError(
                f"Normalization '{self.name}' was built for inputs of shape "
                f"{self._build_input_shape} (axis={self.axis}), but adapt() received data of "
                f"shape {shape}. The kept axes {self._keep_axis} must match.")

    def call(self, inputs):
        inputs = jnp.asarray(inputs).astype(self.compute_dtype)
        mean = self.mean
        std = jnp.maximum(jnp.sqrt(self.variance), config.epsilon())
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": np.array(self.input_mean).tolist(),
            "variance": np.array(self.input_variance).tolist(),
        }


class Rescaling(Layer):
    """Computes `inputs * scale + offset` in the layer's compute dtype.

    Typical use: `Rescaling(1 / 255)` maps pixels to [0, 1], `Rescaling(1 / 127.5, offset=-1)`
    to [-1, 1]. `scale` and `offset` may be numbers or per-channel arrays (with
    `image_data_format() == "channels_first"` a per-channel scale is aligned to the channel
    axis of images).

    Examples:
        >>> Rescaling(0.5, offset=1.0)(jnp.array([2.0, 4.0])).tolist()
        [2.0, 3.0]
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def call(self, inputs):
        dtype = self.compute_dtype
        scale = jnp.asarray(self.scale, dtype)
        offset = jnp.asarray(self.offset, dtype)
        if scale.ndim and config.image_data_format() == "channels_first":
            scale = scale.reshape(scale.shape + (1,) * (3 - scale.ndim))
        return jnp.asarray(inputs).astype(dtype) * scale + offset

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "scale": serialize_keras_object(self.scale),
            "offset": serialize_keras_object(self.offset),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("scale", "offset"):
            if key in config:
                config[key] = deserialize_keras_object(config[key])
        return super().from_config(config)
