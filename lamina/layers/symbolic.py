"""Symbolic tensors (`keras.Input`, `KerasTensor`) and the graph nodes that calls on them record.

Calling a layer on symbolic tensors runs no real computation: the output shape comes from the
layer's `compute_output_shape` when it defines one, or from tracing `call` with `jax.eval_shape`
(no FLOPs). Each such call records a `Node`, and the functional `Model` walks those nodes.
"""

import collections

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime.dtypes import standardize_dtype
from lamina._runtime.scope import StateScope
from lamina._runtime.symbolic_scope import SymbolicScope

KerasHistory = collections.namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])

# Stand-ins for unknown (None) dimensions while tracing shapes. Two different primes: an output
# dimension that follows the stand-in is unknown, one that does not is fixed.
_PROBE_SIZES = (83, 89)


class KerasTensor:
    """A symbolic tensor: a shape and dtype with the history of the layer call that made it.

    Python operators (`x + 1`, `x * y`, `x != 0`, `x[:, 0]`, `~m`, `round(x)`) and `keras.ops`
    functions on it record the operation nodes Keras 3 records; as in Keras, `x == y` is not
    an operation but compares the tensors themselves (use `keras.ops.equal`). A tensor made by
    a layer that masks (`Embedding(mask_zero=True)`, `Masking`) carries its symbolic mask as
    `_keras_mask`.

    Examples:
        >>> x = KerasTensor((None, 3), name="features")
        >>> x.shape, x.dtype
        ((None, 3), 'float32')
    """

    def __init__(self, shape, dtype="float32", sparse=False, name=None):
        self._shape = tuple(None if d is None else int(d) for d in shape)
        # "string": the inputs of host-side text layers (never an array's dtype in JAX).
        self._dtype = "string" if dtype == "string" else standardize_dtype(dtype)
        self.sparse = bool(sparse)
        self.name = name
        self._keras_history = None

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def ndim(self):
        return len(self._shape)

    def __repr__(self):
        name = f", name={self.name}" if self.name else ""
        return f"<KerasTensor shape={self._shape}, dtype={self._dtype}, sparse={self.sparse}{name}>"

    def __hash__(self):
        return id(self)

    def __iter__(self):
        raise TypeError(
            "A symbolic KerasTensor cannot be iterated: it has no values. Use layers or ops "
            "(e.g. keras.ops.unstack) to split it.")

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no truth value: Python `if`/`and`/`or` cannot branch "
            "on it. Use keras.ops.where or keras.ops.cond inside a layer's call().")

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "A symbolic KerasTensor (from keras.Input) has no values and cannot be converted "
            "to a NumPy array. Build a Model from it and call the model on real data.")


def is_symbolic(value):
    return isinstance(value, KerasTensor)


def any_symbolic(tree):
    return any(isinstance(leaf, KerasTensor) for leaf in jax.tree_util.tree_leaves(
        tree, is_leaf=is_symbolic))


class Node:
    """One call of an operation on symbolic tensors: its arguments and its outputs."""

    def __init__(self, operation, call_args, call_kwargs, outputs):
        self.operation = operation
        self.arguments = (call_args, call_kwargs)
        self.outputs = outputs
        leaves = jax.tree_util.tree_leaves((call_args, call_kwargs), is_leaf=is_symbolic)
        self.input_tensors = [x for x in leaves if isinstance(x, KerasTensor)]
        self.output_tensors = [x for x in jax.tree_util.tree_leaves(outputs, is_leaf=is_symbolic)
                               if isinstance(x, KerasTensor)]
        self.parent_nodes = []
        for x in self.input_tensors:
            history = x._keras_history
            if history is not None:
                parent = history.operation._inbound_nodes[history.node_index]
                if parent not in self.parent_nodes:
                    self.parent_nodes.append(parent)
        node_index = len(operation._inbound_nodes)
        operation._inbound_nodes.append(self)
        for tensor_index, tensor in enumerate(self.output_tensors):
            tensor._keras_history = KerasHistory(operation, node_index, tensor_index)

    @property
    def is_input(self):
        return not self.input_tensors

    def __repr__(self):
        return f"<Node {getattr(self.operation, 'name', self.operation)}>"


def _to_struct(tensor, probe):
    shape = tuple(probe if d is None else d for d in tensor.shape)
    return jax.ShapeDtypeStruct(shape, jnp.dtype(tensor.dtype))


def trace_output_spec(fn, args, kwargs):
    """The outputs of `fn(*args, **kwargs)` as KerasTensors, found by `jax.eval_shape`.

    Symbolic inputs become abstract arrays; unknown dimensions are traced twice, with different
    stand-in sizes, to tell which output dimensions depend on them. Assignments and added
    losses made while tracing are discarded.
    """
    leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=is_symbolic)
    symbolic_positions = [i for i, leaf in enumerate(leaves) if isinstance(leaf, KerasTensor)]
    has_unknown = any(None in leaves[i].shape for i in symbolic_positions)

    def run(probe):
        structs = [_to_struct(leaves[i], probe) for i in symbolic_positions]

        def call_with(*arrays):
            filled = list(leaves)
            for position, array in zip(symbolic_positions, arrays):
                filled[position] = array
            call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, filled)
            with StateScope(), SymbolicScope():  # shapes only (keras.SymbolicScope)
                return fn(*call_args, **call_kwargs)

        return jax.eval_shape(call_with, *structs)

    first = run(_PROBE_SIZES[0])
    second = run(_PROBE_SIZES[1]) if has_unknown else first

    def merge(a, b):
        shape = tuple(da if da == db else None for da, db in zip(a.shape, b.shape))
        return KerasTensor(shape, dtype=standardize_dtype(a.dtype))

    return jax.tree_util.tree_map(merge, first, second)


def as_shape_tuple(shape):
    """Normalises a shape returned by user code (tuple, list, TensorShape) to a tuple."""
    if hasattr(shape, "as_list"):
        shape = shape.as_list()
    return tuple(None if d is None else int(d) for d in shape)


def shape_of(value):
    """The shape of an array, a KerasTensor, or a NumPy array, as a tuple."""
    if isinstance(value, KerasTensor):
        return value.shape
    return tuple(np.shape(value))


class ShapeTuple(tuple):
    """The shape handed to `build` and `compute_output_shape`: a tuple that also offers the
    `tf.TensorShape` methods book code calls (`as_list()`, `rank`)."""

    def as_list(self):
        return list(self)

    @property
    def rank(self):
        return len(self)

    def __getitem__(self, index):
        item = super().__getitem__(index)
        return ShapeTuple(item) if isinstance(index, slice) else item


def to_shape_tuple(shape):
    """Wraps a shape (or a nested list of shapes) in ShapeTuple."""
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and shape and all(
            isinstance(s, (list, tuple)) or s is None or hasattr(s, "as_list") for s in shape) \
            and any(isinstance(s, (list, tuple)) or hasattr(s, "as_list") for s in shape):
        return type(shape)(to_shape_tuple(s) for s in shape) if isinstance(shape, list) \
            else tuple(to_shape_tuple(s) for s in shape)
    if isinstance(shape, dict):
        return {k: to_shape_tuple(v) for k, v in shape.items()}
    return ShapeTuple(as_shape_tuple(shape))
