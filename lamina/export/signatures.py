"""Input signatures of exported functions: what a model takes, and the symbolic shapes it is
traced with.

An input signature is a list with one entry per positional argument of the function; each
entry is a spec or a nested structure (list, tuple, dict) of specs. A spec gives a shape, in
which `None` marks a size chosen at serving time, and a dtype: a `keras.InputSpec`, a
`keras.KerasTensor`, a `jax.ShapeDtypeStruct` or an array (whose first axis, the batch, becomes
`None`, as in Keras).

Exports trace the function once with symbolic sizes for the `None`s (`jax.export`'s shape
polymorphism): the first axis of every input shares one size, `batch`, so inputs that are
combined along it agree; any other `None` gets a size of its own, `dim_<input>_<axis>`.
"""

import jax
import numpy as np

from lamina._runtime.dtypes import standardize_dtype
from lamina.layers.input_spec import InputSpec
from lamina.layers.symbolic import KerasTensor

BATCH = "batch"


class Spec:
    """One input of an exported function: `shape` (ints, `None` where free), `dtype`, `name`."""

    __slots__ = ("shape", "dtype", "name")

    def __init__(self, shape, dtype, name=None):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name

    def __repr__(self):
        name = f", name={self.name!r}" if self.name else ""
        return f"InputSpec(shape={self.shape}, dtype={self.dtype!r}{name})"

    def describe(self):
        """A JSON-ready record of the spec, for an archive's manifest."""
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


def _is_leaf(value):
    return isinstance(value, (InputSpec, KerasTensor, jax.ShapeDtypeStruct, Spec)) or (
        hasattr(value, "shape") and hasattr(value, "dtype"))


def _is_text(dtype):
    if isinstance(dtype, str) and dtype in ("string", "str") or dtype is str:
        return True
    try:
        return np.dtype(dtype).kind in "USO"
    except TypeError:
        return False


def _check_dtype(dtype, where):
    if _is_text(dtype):
        raise ValueError(
            f"{where}: an exported program takes arrays, not strings (dtype='string'). lamina "
            "runs string layers (TextVectorization, StringLookup, ...) on the host, outside "
            "compiled code, so they cannot be exported. Export the model that starts after "
            "them (e.g. keras.Model(vectorized_input, outputs)) and run the string "
            "preprocessing in the server.")
    return standardize_dtype(dtype)


def _as_spec(value, where):
    if isinstance(value, Spec):
        return value
    if isinstance(value, InputSpec):
        if value.shape is None or value.dtype is None:
            raise ValueError(
                f"{where}: an InputSpec in an input signature needs both `shape` and `dtype`. "
                f"Received: {value!r}. Give both, e.g. keras.InputSpec(shape=(None, 3), "
                "dtype='float32').")
        return Spec(value.shape, _check_dtype(value.dtype, where), value.name)
    if isinstance(value, KerasTensor):
        return Spec((None,) + tuple(value.shape)[1:], _check_dtype(value.dtype, where),
                    value.name)
    if isinstance(value, jax.ShapeDtypeStruct):
        return Spec(tuple(value.shape), _check_dtype(value.dtype, where))
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        shape = tuple(value.shape)
        if isinstance(value, (np.ndarray, np.generic, jax.Array)) and shape:
            shape = (None,) + shape[1:]  # an example batch: its size is not part of the spec
        dims = []
        for dim in shape:
            dim = getattr(dim, "value", dim)  # a tf.TensorShape's Dimension
            dims.append(None if dim is None else int(dim))
        name = getattr(value, "name", None)
        return Spec(dims, _check_dtype(value.dtype, where), name if isinstance(name, str)
                    else None)
    raise TypeError(
        f"{where}: each entry of an input signature must be a keras.InputSpec, a "
        f"keras.KerasTensor, a jax.ShapeDtypeStruct or an array (a structure of them for an "
        f"argument that is a list or dict). Received: {value!r} of type "
        f"{type(value).__name__}.")


def normalize(input_signature, where):
    """The signature as a list (one entry per positional argument) of structures of `Spec`s.

    `where` names the call for error messages (`"add_endpoint(name='serve')"`).
    """
    if _is_leaf(input_signature):
        input_signature = [input_signature]
    if isinstance(input_signature, dict):
        raise TypeError(
            f"{where}: input_signature lists the function's positional arguments, so it is a "
            "list; a dict describes one argument. Received a dict with keys "
            f"{sorted(input_signature)}. Wrap it in a list: input_signature=[{{...}}].")
    if not isinstance(input_signature, (list, tuple)) or not input_signature:
        raise TypeError(
            f"{where}: input_signature must be a non-empty list with one entry per positional "
            "argument of the function, e.g. [keras.InputSpec(shape=(None, 3), "
            f"dtype='float32')]. Received: {input_signature!r}.")
    return [jax.tree_util.tree_map(lambda v: _as_spec(v, where), entry, is_leaf=_is_leaf)
            for entry in input_signature]


def flat_specs(signature):
    """The `Spec`s of a normalized signature, in flattening order."""
    return jax.tree_util.tree_leaves(signature, is_leaf=lambda v: isinstance(v, Spec))


def dimension_names(signature):
    """For each flat input, its shape with each `None` replaced by a size's name."""
    names = []
    for index, spec in enumerate(flat_specs(signature)):
        names.append(tuple(
            (BATCH if axis == 0 else f"dim_{index}_{axis}") if dim is None else dim
            for axis, dim in enumerate(spec.shape)))
    return names


def symbolic_arguments(signature):
    """`jax.ShapeDtypeStruct`s with symbolic sizes for the `None`s, in the signature's
    structure (one symbolic scope, so the `batch` of every input is the same size)."""
    scope = jax.export.SymbolicScope()
    leaves = []
    for spec, dims in zip(flat_specs(signature), dimension_names(signature)):
        text = ", ".join(str(d) for d in dims)
        shape = jax.export.symbolic_shape(text, scope=scope) \
            if any(isinstance(d, str) for d in dims) else tuple(dims)
        leaves.append(jax.ShapeDtypeStruct(tuple(shape), spec.dtype))
    structure = jax.tree_util.tree_structure(signature, is_leaf=lambda v: isinstance(v, Spec))
    return jax.tree_util.tree_unflatten(structure, leaves)


def concrete_arguments(signature, size=1):
    """`jax.ShapeDtypeStruct`s with every `None` set to `size` (to build lazily built layers)."""
    return jax.tree_util.tree_map(
        lambda s: jax.ShapeDtypeStruct(tuple(size if d is None else d for d in s.shape),
                                       s.dtype),
        signature, is_leaf=lambda v: isinstance(v, Spec))


def describe_shape(shape):
    """A shape with symbolic sizes as their names (`(batch, 3)`), JSON-ready."""
    return [d if isinstance(d, int) else str(d) for d in shape]


def model_input_signature(model):
    """The input signature of a built model, as Keras 3 infers it for `model.export`.

    A functional model takes one argument, the structure of its `Input`s; a Sequential model
    its one input; a subclassed model the shapes of its first call (batch size free).
    """
    name = getattr(model, "name", type(model).__name__)
    if not getattr(model, "built", False):
        raise ValueError(
            f"Model '{name}' has not been built, so the shapes of its inputs are unknown and "
            "it cannot be exported. Build it first: call it on a batch of data (model(x) or "
            "model.predict(x)); or pass input_signature=[keras.InputSpec(shape=(None, ...), "
            "dtype='float32')] to export(), which builds it. (A Sequential or functional "
            "model built from keras.Input(shape=...) is built from the start.)")
    structure = getattr(model, "_inputs_struct", None)
    if structure is not None:  # functional: one argument holding every input
        return normalize([structure], f"export() of model '{name}'")
    inputs = getattr(model, "inputs", None)
    if inputs:  # Sequential
        return normalize(list(inputs), f"export() of model '{name}'")
    shapes = getattr(model, "_build_shapes", None)
    if shapes is None:
        raise ValueError(
            f"Model '{name}' has never been called, so the shapes of its inputs are unknown "
            "and it cannot be exported. Call it once on a batch of data (model(x) or "
            "model.predict(x)), or pass input_signature=[keras.InputSpec(shape=(None, ...), "
            "dtype='float32')] to export().")
    dtype = standardize_dtype(getattr(model, "input_dtype", None) or "float32")

    def to_spec(shape):
        return Spec((None,) + tuple(shape)[1:], dtype)

    def is_shape(value):
        return isinstance(value, (tuple, list)) and all(
            d is None or isinstance(d, int) for d in value)

    return [jax.tree_util.tree_map(to_spec, shapes, is_leaf=is_shape)]
