"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector.

None of them touches the batch axis (axis 0), and none changes the dtype: their symbolic
outputs keep the input's dtype, so integer inputs stay integer in functional models.
"""

import math

import jax.numpy as jnp

from lamina._runtime import config
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor


class _ShapeOnlyLayer(Layer):
    """A layer whose output dtype is its input's (the base would report the compute dtype)."""

    def compute_output_spec(self, inputs, *args, **kwargs):
        return KerasTensor(self.compute_output_shape(tuple(inputs.shape)), dtype=inputs.dtype)


class Flatten(_ShapeOnlyLayer):
    """Flattens every axis but the batch: `(batch, d1, d2, ...)` -> `(batch, d1 * d2 * ...)`.

    With `data_format="channels_first"` the channel axis is moved last first, so the order of
    the flattened features matches a channels-last model. A rank-1 input becomes
    `(batch, 1)`.

    Examples:
        >>> Flatten()(jnp.ones((2, 3, 4))).shape
        (2, 12)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format is None:
            data_format = config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"Flatten '{self.name}': data_format must be 'channels_last' or "
                f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        rank = inputs.ndim
        if self.data_format == "channels_first" and rank > 2:
            inputs = jnp.transpose(inputs, (0, *range(2, rank), 1))
        return jnp.reshape(inputs, (inputs.shape[0], math.prod(inputs.shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape)[1:]
        size = None if None in rest else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(_ShapeOnlyLayer):
    """Reshapes each sample to `target_shape` (the batch axis is kept).

    One entry of `target_shape` may be -1: its size is inferred from the number of values per
    sample.

    Examples:
        >>> Reshape((3, -1))(jnp.ones((2, 12))).shape
        (2, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, int) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        try:
            target_shape = tuple(target_shape)
        except TypeError:
            raise TypeError(
                f"Reshape '{self.name}': target_shape must be a tuple of ints (one sample's "
                f"shape, without the batch axis). Received: target_shape={target_shape!r}"
            ) from None
        for size in target_shape:
            if isinstance(size, bool) or not isinstance(size, int) or size < -1:
                raise ValueError(
                    f"Reshape '{self.name}': every entry of target_shape must be a "
                    "non-negative int, or -1 for the one size to infer. Received: "
                    f"target_shape={target_shape}")
        if target_shape.count(-1) > 1:
            raise ValueError(
                f"Reshape '{self.name}': at most one entry of target_shape may be -1 (only one "
                f"size can be inferred). Received: target_shape={target_shape}")
        self.target_shape = target_shape
        self.built = True

    def _resolve(self, sample_shape):
        """`target_shape` with -1 replaced (None if the sample shape is not fully known)."""
        target = self.target_shape
        if None in sample_shape:
            return tuple(None if size == -1 else size for size in target)
        size = math.prod(sample_shape)
        known = math.prod(s for s in target if s != -1)
        if -1 not in target:
            if known != size:
                raise ValueError(
                    f"Reshape '{self.name}': cannot reshape a sample of shape {sample_shape} "
                    f"({size} values) into target_shape={target} ({known} values). The number "
                    "of values per sample must stay the same.")
            return target
        if known == 0 or size % known:
            raise ValueError(
                f"Reshape '{self.name}': cannot reshape a sample of shape {sample_shape} "
                f"({size} values) into target_shape={target}: {size} is not a multiple of "
                f"{known}, the product of the known sizes.")
        return tuple(size // known if s == -1 else s for s in target)

    def call(self, inputs):
        target = self._resolve(tuple(inputs.shape[1:]))
        return jnp.reshape(inputs, (inputs.shape[0],) + target)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return (input_shape[0],) + self._resolve(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(_ShapeOnlyLayer):
    """Permutes the non-batch axes: `dims` is a permutation of `1..rank-1` (1-based, the batch
    axis is not counted).

    Examples:
        >>> Permute((2, 1))(jnp.ones((4, 2, 3))).shape
        (4, 3, 2)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            raise TypeError(
                f"Permute '{self.name}': dims must be a tuple of axis indices. Received: "
                f"dims={dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                f"Permute '{self.name}': dims must be a permutation of 1..{len(dims)} (axes "
                f"are counted from 1, skipping the batch axis). Received: dims={dims}")
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)

    def call(self, inputs):
        return jnp.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(_ShapeOnlyLayer):
    """Repeats each sample `n` times along a new axis: `(batch, features)` ->
    `(batch, n, features)`.

    Examples:
        >>> RepeatVector(3)(jnp.ones((2, 5))).shape
        (2, 3, 5)
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(
                f"RepeatVector '{self.name}': n must be an int (the number of repetitions). "
                f"Received: n={n!r} of type {type(n).__name__}")
        if n <= 0:
            raise ValueError(
                f"RepeatVector '{self.name}': n must be a positive integer. Received: n={n}")
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def call(self, inputs):
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}
