"""Keras 3's dtype promotion (`keras.backend.result_type`): the dtype an operation on values of
several dtypes returns.

Keras adopts JAX's promotion lattice, with Python's `int` and `float` as *weak* types (a Python
number does not widen an array: `int8` and `int` give `int8`, `bfloat16` and `float` give
`bfloat16`). The result is the least upper bound of the inputs on the lattice below; a weak
result takes the precision of `floatx()`; and, as Keras does on JAX, 64-bit results come back
as their 32-bit counterparts (`float64` -> `float32`), whatever JAX's x64 mode.
"""

import functools

from lamina._runtime import config
from lamina._runtime.dtypes import standardize_dtype

_WEAK_INT, _WEAK_FLOAT = "int", "float"
_FLOAT8 = ("float8_e4m3fn", "float8_e5m2")

# Each dtype -> the dtypes directly above it (JAX's lattice, as Keras 3 states it). Weak types
# sit below every strong type of their kind.
_DIRECTLY_ABOVE = {
    "bool": (_WEAK_INT,),
    _WEAK_INT: ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"),
    "uint16": ("int32", "uint32"),
    "uint32": ("int64", "uint64"),
    "uint64": (_WEAK_FLOAT,),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": (_WEAK_FLOAT,),
    _WEAK_FLOAT: ("bfloat16", "float16"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex64": ("complex128",),
    "complex128": (),
}

_TO_32_BITS = {"int64": "int32", "uint64": "uint32", "float64": "float32",
               "complex128": "complex64"}


def _upper_bounds():
    """Every dtype -> the set of dtypes at or above it (the lattice's transitive closure)."""
    bounds = {}

    def above(dtype):
        if dtype not in bounds:
            found = {dtype}
            for parent in _DIRECTLY_ABOVE[dtype]:
                found |= above(parent)
            bounds[dtype] = frozenset(found)
        return bounds[dtype]

    for dtype in _DIRECTLY_ABOVE:
        above(dtype)
    return bounds


_UPPER_BOUNDS = _upper_bounds()


@functools.lru_cache(maxsize=512)
def _least_upper_bound(nodes):
    common = frozenset.intersection(*(_UPPER_BOUNDS[node] for node in nodes))
    # The least common upper bound: the one whose own upper bounds hold all the others. The
    # lattice has exactly one for every set of its nodes.
    (least,) = [c for c in common if common <= _UPPER_BOUNDS[c]]
    return least


def _weak_version(dtype):
    if dtype.startswith(("float", "bfloat")):
        return _WEAK_FLOAT
    if dtype.startswith(("int", "uint")):
        return _WEAK_INT
    return dtype  # bool stays bool; complex is never weak (only int and float are)


def _resolve_weak(dtype):
    """A weak result in the precision of floatx (`int` -> `int32` under float32)."""
    bits = config.floatx()[-2:]
    return f"int{bits}" if dtype == _WEAK_INT else f"float{bits}"


def result_type(*dtypes):
    """The dtype Keras 3 gives an operation on inputs of `dtypes` (see the module docstring).

    Each argument is a dtype (a name, a NumPy/JAX dtype or type), `None` (floatx), or Python's
    `int`/`float` type, which are weak. With no argument, floatx.

    Examples:
        >>> result_type("int8", "uint8"), result_type("bfloat16", int), result_type(int, float)
        ('int16', 'bfloat16', 'float32')
        >>> result_type("bfloat16", "float16"), result_type("float64", "int32")
        ('float32', 'float32')
    """
    if not dtypes:
        return config.floatx()
    names, weak = [], []
    for position, dtype in enumerate(dtypes):
        is_weak = dtype is int or dtype is float
        try:
            name = config.floatx() if dtype is None else standardize_dtype(
                "float32" if dtype is float else dtype)
        except ValueError as error:
            raise ValueError(
                f"keras.backend.result_type: argument {position} is not a dtype. Received: "
                f"{_describe(dtype)}. Pass dtype names ('float32'), NumPy/JAX dtypes or "
                f"Python's int/float types. {error}") from None
        if name in _FLOAT8:
            raise ValueError(
                "keras.backend.result_type: float8 dtypes do not promote implicitly to any "
                f"other dtype. Received: {tuple(_describe(d) for d in dtypes)}. Cast the "
                "float8 values explicitly (ops.cast) first.")
        names.append(name)
        weak.append(is_weak)

    if len(names) == 1:
        result, result_is_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        result, result_is_weak = names[0], False
    elif all(weak):
        result, result_is_weak = _least_upper_bound(frozenset(names)), True
    else:
        nodes = frozenset(_weak_version(n) if w else n for n, w in zip(names, weak))
        result = _least_upper_bound(nodes)
        result_is_weak = result in (_WEAK_INT, _WEAK_FLOAT)
    if result_is_weak and result != "bool":
        result = _resolve_weak(_weak_version(result) if result not in (
            _WEAK_INT, _WEAK_FLOAT) else result)
    return _TO_32_BITS.get(result, result)


def _describe(value):
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:65]}...({len(text)} chars)"
