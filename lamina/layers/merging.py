"""Merging layers: combine a list of tensors into one.

`Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` work element-wise with
broadcasting over the non-batch axes; `Concatenate` joins along an axis; `Dot` takes batched
dot products. Shapes are checked when the layer is built, and errors name the layer and the
shapes. Each class has a functional twin (`keras.layers.add([a, b])`, ...).
"""

import functools

import jax
import jax.numpy as jnp

from lamina import ops
from lamina._runtime import config
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or isinstance(d, int) for d in value)


class Merge(Layer):
    """The base of the element-wise merging layers: checks the input shapes at build, brings
    inputs of lower rank up to the highest rank (new axes after the batch axis, as Keras
    does), and applies `_merge_function` to the list.

    Call arguments: `inputs` (a list of tensors) and an optional `mask` (a list with one
    boolean mask of shape `x.shape[:-1]`, or None, per input).
    """

    _min_inputs = 1

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_list(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(
                _is_shape(s) for s in input_shape):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' must be called on a list of at least "
                f"{max(self._min_inputs, 1)} tensors. Received input shape: {input_shape}")
        if len(input_shape) < self._min_inputs:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' must be called on a list of at least "
                f"{self._min_inputs} tensors. Received {len(input_shape)}: shapes "
                f"{[tuple(s) for s in input_shape]}")
        batch_sizes = {s[0] for s in input_shape if len(s)} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' cannot merge tensors with different batch "
                f"sizes. Received shapes: {[tuple(s) for s in input_shape]}")

    def _broadcast_shape(self, input_shape):
        """The broadcast of the non-batch shapes (right-aligned), or a ValueError."""
        shapes = [tuple(s)[1:] for s in input_shape]
        rank = max(len(s) for s in shapes)
        result = []
        for position in range(-rank, 0):
            sizes = [s[position] for s in shapes if len(s) >= -position]
            known = {d for d in sizes if d is not None and d != 1}
            if len(known) > 1:
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' received inputs with incompatible "
                    f"shapes {[tuple(s) for s in input_shape]}: on axis {position} the sizes "
                    f"{sorted(known)} cannot be broadcast together. Merged tensors must have "
                    "equal sizes (or size 1) on every non-batch axis.")
            if None in sizes:
                result.append(known.pop() if known else None)
            else:
                result.append(known.pop() if known else 1)
        return tuple(result)

    def build(self, input_shape):
        self._check_list(input_shape)
        self._broadcast_shape(input_shape)
        self.built = True

    def _merge_function(self, inputs, masks):
        raise NotImplementedError

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(
                f"{type(self).__name__} '{self.name}' must be called on a list of tensors. "
                f"Received a single tensor of shape {getattr(inputs, 'shape', None)}.")
        inputs = list(inputs)
        rank = max(x.ndim for x in inputs)
        # Keras inserts the missing axes right after the batch axis.
        inputs = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])
                  for x in inputs]
        masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
        return self._merge_function(inputs, masks)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        batch_sizes = {s[0] for s in input_shape if len(s)} - {None}
        batch = batch_sizes.pop() if batch_sizes else None
        return (batch,) + self._broadcast_shape(input_shape)

    def compute_output_spec(self, inputs, *args, **kwargs):
        shape = self.compute_output_shape([tuple(x.shape) for x in inputs])
        return KerasTensor(shape, dtype=self.compute_dtype)

    def compute_mask(self, inputs, mask=None):
        """The union of the input masks (None if any input has none). Written with
        `keras.ops`, so that on symbolic inputs it records Keras's `LogicalOr` nodes."""
        if mask is None or any(m is None for m in mask):
            return None
        return functools.reduce(ops.logical_or, mask)

    def get_config(self):
        return super().get_config()


def _masked_reduce(op, inputs, masks):
    """`op` over the inputs where masked-out positions take the other operand's value (Keras
    3's rule for Maximum/Minimum), so padding never wins."""
    output, output_mask = None, None
    for x, mask in zip(inputs, masks):
        if mask is not None:
            mask = jnp.broadcast_to(jnp.asarray(mask)[..., None], x.shape)
        if output is None:
            output, output_mask = x, mask
            continue
        if mask is not None:
            x = jnp.where(mask, x, output)
        if output_mask is not None:
            output = jnp.where(output_mask, output, x)
        output_mask = (jnp.logical_or(output_mask, mask)
                       if mask is not None and output_mask is not None else None)
        output = op(output, x)
    return output


class Add(Merge):
    """Sums a list of tensors element-wise.

    Examples:
        >>> Add()([jnp.ones((2, 3)), jnp.ones((2, 3))]).tolist()[0]
        [2.0, 2.0, 2.0]
    """

    def _merge_function(self, inputs, masks):
        return functools.reduce(jnp.add, inputs)


class Subtract(Merge):
    """Subtracts the second of exactly two tensors from the first.

    Examples:
        >>> Subtract()([jnp.array([[3.0]]), jnp.array([[1.0]])]).tolist()
        [[2.0]]
    """

    _min_inputs = 2

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"Subtract '{self.name}' takes exactly 2 inputs. Received "
                f"{len(input_shape)}: shapes {[tuple(s) for s in input_shape]}")

    def _merge_function(self, inputs, masks):
        if len(inputs) != 2:
            raise ValueError(
                f"Subtract '{self.name}' takes exactly 2 inputs. Received {len(inputs)}.")
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Multiplies a list of tensors element-wise (masked-out positions count as 1, and are 0
    in the output where every input is masked).

    Examples:
        >>> Multiply()([jnp.array([[2.0]]), jnp.array([[3.0]])]).tolist()
        [[6.0]]
    """

    def _merge_function(self, inputs, masks):
        if all(m is None for m in masks):
            return functools.reduce(jnp.multiply, inputs)
        all_masked = all(m is not None for m in masks)
        output, output_mask = None, None
        for x, mask in zip(inputs, masks):
            if mask is not None:
                mask = jnp.broadcast_to(jnp.asarray(mask)[..., None], x.shape)
                x = jnp.where(mask, x, jnp.ones((), x.dtype))
                if all_masked:
                    output_mask = mask if output_mask is None else output_mask | mask
            output = x if output is None else output * x
        if all_masked:
            output = jnp.where(output_mask, output, jnp.zeros((), output.dtype))
        return output


class Average(Merge):
    """Averages a list of tensors element-wise.

    Examples:
        >>> Average()([jnp.array([[1.0]]), jnp.array([[3.0]])]).tolist()
        [[2.0]]
    """

    def _merge_function(self, inputs, masks):
        return functools.reduce(jnp.add, inputs) / len(inputs)


class Maximum(Merge):
    """The element-wise maximum of a list of tensors.

    Examples:
        >>> Maximum()([jnp.array([[1.0, 5.0]]), jnp.array([[3.0, 2.0]])]).tolist()
        [[3.0, 5.0]]
    """

    def _merge_function(self, inputs, masks):
        return _masked_reduce(jnp.maximum, inputs, masks)


class Minimum(Merge):
    """The element-wise minimum of a list of tensors.

    Examples:
        >>> Minimum()([jnp.array([[1.0, 5.0]]), jnp.array([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """

    def _merge_function(self, inputs, masks):
        return _masked_reduce(jnp.minimum, inputs, masks)


class Concatenate(Merge):
    """Concatenates a list of tensors along `axis`; all other axes must match.

    Examples:
        >>> Concatenate()([jnp.ones((2, 3)), jnp.zeros((2, 1))]).shape
        (2, 4)
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                f"Concatenate '{self.name}': axis must be an int. Received: axis={axis!r}")
        self.axis = axis

    def _check_shapes(self, input_shape):
        self._check_list(input_shape)
        shapes = [tuple(s) for s in input_shape]
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            raise ValueError(
                f"Concatenate '{self.name}' requires inputs of the same rank. Received shapes: "
                f"{shapes}")
        rank = ranks.pop()
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"Concatenate '{self.name}': axis {self.axis} is out of bounds for inputs of "
                f"rank {rank}. Received shapes: {shapes}")
        axis = self.axis % rank
        for position in range(rank):
            if position == axis:
                continue
            known = {s[position] for s in shapes} - {None}
            if len(known) > 1:
                raise ValueError(
                    f"Concatenate '{self.name}' requires inputs with matching shapes except on "
                    f"the concatenation axis ({self.axis}), but axis {position} has sizes "
                    f"{sorted(known)}. Received shapes: {shapes}")
        return shapes, axis

    def build(self, input_shape):
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        return jnp.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes, axis = self._check_shapes(input_shape)
        output = []
        for position in range(len(shapes[0])):
            sizes = [s[position] for s in shapes]
            if position == axis:
                output.append(None if None in sizes else sum(sizes))
            else:
                known = set(sizes) - {None}
                output.append(known.pop() if known else None)
        return tuple(output)

    def compute_mask(self, inputs, mask=None):
        """Concatenates the masks (all-True for inputs without one), reduced over the last
        axis as Keras 3 does."""
        if mask is None or all(m is None for m in mask):
            return None
        # keras.ops, in Keras's order, so that symbolic inputs record Keras's nodes.
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                masks.append(ops.ones_like(x, dtype="bool"))
            elif len(m.shape) < len(x.shape):
                masks.append(ops.logical_or(ops.expand_dims(m, axis=-1),
                                            ops.zeros_like(x, dtype="bool")))
            else:
                masks.append(m)
        return ops.any(ops.concatenate(masks, axis=self.axis), axis=-1, keepdims=False)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(x, axis):
    # Keras's ops.normalize: x * min(1/||x||, 1/epsilon), so a zero vector stays zero.
    inv = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv, 1.0 / config.epsilon())


class Dot(Merge):
    """Batched dot products of two tensors: for each sample, contracts axis `axes[0]` of the
    first with axis `axes[1]` of the second (an int uses the same axis for both; axes count
    the batch axis as 0, which cannot be contracted).

    The result has the batch axis, then the first input's remaining axes, then the second's;
    a result with only the batch axis gets a trailing axis of size 1. With `normalize=True`
    both inputs are L2-normalized along the contracted axes first, so the result is the
    cosine similarity.

    Examples:
        >>> Dot(axes=1)([jnp.array([[1.0, 2.0]]), jnp.array([[3.0, 4.0]])]).tolist()
        [[11.0]]
    """

    _min_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int) or isinstance(axes, bool):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(
                    f"Dot '{self.name}': axes must be an int or a pair of ints. Received: "
                    f"axes={axes!r}")
            if len(axes) != 2 or not all(
                    isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError(
                    f"Dot '{self.name}': axes must be an int or a pair of ints (one axis per "
                    f"input). Received: axes={axes!r}")
        self.axes = axes
        self.normalize = normalize

    def _resolve_axes(self, shape1, shape2):
        if isinstance(self.axes, int):
            axes = [self.axes, self.axes]
        else:
            axes = list(self.axes)
        resolved = []
        for axis, shape in zip(axes, (shape1, shape2)):
            if not -len(shape) <= axis < len(shape):
                raise ValueError(
                    f"Dot '{self.name}': axis {axis} is out of bounds for an input of shape "
                    f"{tuple(shape)}. Received: axes={self.axes}")
            resolved.append(axis % len(shape))
        return resolved

    def _check_shapes(self, input_shape):
        self._check_list(input_shape)
        if len(input_shape) != 2:
            raise ValueError(
                f"Dot '{self.name}' takes exactly 2 inputs. Received {len(input_shape)}: shapes "
                f"{[tuple(s) for s in input_shape]}")
        shape1, shape2 = (tuple(s) for s in input_shape)
        if len(shape1) < 2 or len(shape2) < 2:
            raise ValueError(
                f"Dot '{self.name}' needs inputs of rank >= 2 (a batch axis and at least one "
                f"more). Received shapes: {shape1}, {shape2}")
        a1, a2 = self._resolve_axes(shape1, shape2)
        if a1 == 0 or a2 == 0:
            raise ValueError(
                f"Dot '{self.name}' cannot contract the batch axis (0). Received: "
                f"axes={self.axes} for shapes {shape1}, {shape2}")
        d1, d2 = shape1[a1], shape2[a2]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(
                f"Dot '{self.name}': the contracted axes differ in size: {d1} (axis {a1} of "
                f"{shape1}) != {d2} (axis {a2} of {shape2}).")
        return shape1, shape2, a1, a2

    def build(self, input_shape):
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs, mask=None):
        x1, x2 = inputs
        a1, a2 = self._resolve_axes(x1.shape, x2.shape)
        if self.normalize:
            x1 = _l2_normalize(x1, a1)
            x2 = _l2_normalize(x2, a2)
        output = jax.lax.dot_general(x1, x2, (((a1,), (a2,)), ((0,), (0,))))
        return output[:, None] if output.ndim == 1 else output

    def compute_output_shape(self, input_shape):
        shape1, shape2, a1, a2 = self._check_shapes(input_shape)
        batch = shape1[0] if shape1[0] is not None else shape2[0]
        rest = ([d for i, d in enumerate(shape1) if i not in (0, a1)]
                + [d for i, d in enumerate(shape2) if i not in (0, a2)])
        return (batch,) + tuple(rest or [1])

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """Functional form of `Add`: `add([a, b])`.

    Examples:
        >>> add([jnp.array([[1.0]]), jnp.array([[2.0]])]).tolist()
        [[3.0]]
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`: `subtract([a, b])` is `a - b`.

    Examples:
        >>> subtract([jnp.array([[5.0]]), jnp.array([[2.0]])]).tolist()
        [[3.0]]
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`.

    Examples:
        >>> multiply([jnp.array([[2.0, 3.0]]), jnp.array([[4.0, 5.0]])]).tolist()
        [[8.0, 15.0]]
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`.

    Examples:
        >>> average([jnp.array([[1.0]]), jnp.array([[2.0]]), jnp.array([[6.0]])]).tolist()
        [[3.0]]
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`.

    Examples:
        >>> maximum([jnp.array([[1.0, 7.0]]), jnp.array([[4.0, 2.0]])]).tolist()
        [[4.0, 7.0]]
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`.

    Examples:
        >>> minimum([jnp.array([[1.0, 7.0]]), jnp.array([[4.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`.

    Examples:
        >>> concatenate([jnp.ones((1, 2)), jnp.ones((1, 3))]).shape
        (1, 5)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of `Dot` (default: contract the last axes).

    Examples:
        >>> dot([jnp.array([[1.0, 2.0]]), jnp.array([[3.0, 4.0]])]).tolist()   # one per row
        [[11.0]]
    """
    return Dot(axes=axes, **kwargs)(inputs)
