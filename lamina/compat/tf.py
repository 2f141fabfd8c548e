"""TensorFlow names for porting Keras/TensorFlow code to lamina: `from lamina.compat import tf`.

A thin layer over `jax.numpy`, `jax.nn` and `jax.lax` with TF's function names, argument names
(`axis`, `keepdims`, `name` accepted and ignored) and semantics. Every function accepts JAX and
NumPy arrays, Python numbers and lists, and lamina Variables; results are JAX arrays, except
`shape`, `size` and `rank`, which return NumPy int32 arrays so that they stay static inside
`jax.jit`. Everything works eagerly, under `jax.jit`, `keras.function` (= `tf.function`) and
`keras.value_and_grad`; functions whose output size depends on values (`boolean_mask`,
one-argument `where`) work eagerly only, and say so.

`tf.GradientTape` is deliberately absent (it raises with the recipe): lamina differentiates
functions with `keras.value_and_grad(fn, variables)`.

Examples:
    >>> from lamina.compat import tf
    >>> def huber_fn(y_true, y_pred):
    ...     error = y_true - y_pred
    ...     is_small_error = tf.abs(error) < 1
    ...     return tf.where(is_small_error, tf.square(error) / 2, tf.abs(error) - 0.5)
    >>> huber_fn(tf.constant([0.0, 0.0]), tf.constant([0.5, 3.0])).tolist()
    [0.125, 2.5]
"""

import types as _types

from lamina.compat import _tf_array, _tf_dtypes, _tf_linalg, _tf_math, _tf_nn, _tf_random
from lamina.compat._tf_array import (argsort, boolean_mask, broadcast_to, cast, concat,
                                     constant, convert_to_tensor, expand_dims, eye, fill,
                                     gather, identity, linspace, newaxis, one_hot, ones,
                                     ones_like, pad, range, rank, reshape, reverse, shape, size,
                                     sort, split, squeeze, stack, stop_gradient, tile, transpose,
                                     unstack, where, zeros, zeros_like)
from lamina.compat._tf_dtypes import (DType, as_dtype, bfloat16, bool, complex64, complex128,
                                      double, float16, float32, float64, half, int8, int16,
                                      int32, int64, uint8, uint16, uint32, uint64)
from lamina.compat._tf_linalg import einsum, matmul, tensordot
from lamina.compat._tf_math import (abs, add, add_n, argmax, argmin, ceil, clip_by_norm,
                                    clip_by_value, cos, cumsum, divide, equal, exp, floor,
                                    greater, greater_equal, less, less_equal, log, logical_and,
                                    logical_not, logical_or, maximum, minimum, multiply,
                                    negative, norm, not_equal, pow, reduce_all, reduce_any,
                                    reduce_logsumexp, reduce_max, reduce_mean, reduce_min,
                                    reduce_prod, reduce_sum, round, sigmoid, sign, sin, sqrt,
                                    square, subtract, tanh, truediv)
from lamina.compat._tf_runtime import (GradientTape, Variable, VariableAggregation,
                                       VariableSynchronization, custom_gradient, function,
                                       print)
from lamina.compat._tf_shape import Tensor, TensorShape, TensorSpec, is_tensor


def _namespace(name, doc, *groups):
    module = _types.ModuleType(f"lamina.compat.tf.{name}", doc)
    members = {}
    for source, names in groups:
        members.update((n, getattr(source, n)) for n in names)
    for member, value in members.items():
        setattr(module, member, value)
    module.__all__ = sorted(members)
    return module


_MATH_NAMES = (
    "abs", "add", "add_n", "argmax", "argmin", "ceil", "confusion_matrix", "cos",
    "count_nonzero", "cumprod", "cumsum", "divide", "divide_no_nan", "equal", "erf", "exp",
    "expm1", "floor", "floordiv", "floormod", "greater", "greater_equal", "in_top_k",
    "is_finite", "is_inf", "is_nan", "l2_normalize", "less", "less_equal", "log", "log1p",
    "log_sigmoid", "log_softmax", "logical_and", "logical_not", "logical_or", "logical_xor",
    "maximum", "minimum", "multiply", "multiply_no_nan", "negative", "not_equal", "pow",
    "reciprocal", "reduce_all", "reduce_any", "reduce_euclidean_norm", "reduce_logsumexp",
    "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_std", "reduce_sum",
    "reduce_variance", "round", "rsqrt", "segment_sum", "sigmoid", "sign", "sin", "softmax",
    "softplus", "softsign", "sqrt", "square", "squared_difference", "subtract", "tanh", "top_k",
    "truediv", "unsorted_segment_sum",
)

math = _namespace(
    "math", "`tf.math`: elementwise math, comparisons, reductions, segment sums, top-k.",
    (_tf_math, _MATH_NAMES))

nn = _namespace(
    "nn", "`tf.nn`: activations, moments, cross-entropies, dropout, convolution, pooling.",
    (_tf_nn, _tf_nn.__all__),
    (_tf_math, ("l2_normalize", "log_softmax", "sigmoid", "softmax", "softplus", "softsign",
                "tanh", "top_k")))

linalg = _namespace(
    "linalg", "`tf.linalg`: matrix functions over the last two axes (batched).",
    (_tf_linalg, _tf_linalg.__all__),
    (_tf_array, ("eye",)),
    (_tf_math, ("l2_normalize", "norm")))

random = _namespace(
    "random", _tf_random.__doc__, (_tf_random, _tf_random.__all__))

dtypes = _namespace(
    "dtypes", "`tf.dtypes`: DType objects, `as_dtype` and `cast`.",
    (_tf_dtypes, _tf_dtypes.__all__),
    (_tf_array, ("cast",)))

__all__ = [
    "DType", "GradientTape", "Tensor", "TensorShape", "TensorSpec", "Variable",
    "VariableAggregation", "VariableSynchronization", "abs", "add", "add_n", "argmax",
    "argmin", "argsort", "as_dtype", "bfloat16", "bool", "boolean_mask", "broadcast_to",
    "cast", "ceil", "clip_by_norm", "clip_by_value", "complex128", "complex64", "concat",
    "constant", "convert_to_tensor", "cos", "cumsum", "custom_gradient", "divide", "double",
    "dtypes", "einsum", "equal", "exp", "expand_dims", "eye", "fill", "float16", "float32",
    "float64", "floor", "function", "gather", "greater", "greater_equal", "half", "identity",
    "int16", "int32", "int64", "int8", "is_tensor", "less", "less_equal", "linalg", "linspace",
    "log", "logical_and", "logical_not", "logical_or", "math", "matmul", "maximum", "minimum",
    "multiply", "negative", "newaxis", "nn", "norm", "not_equal", "one_hot", "ones",
    "ones_like", "pad", "pow", "print", "random", "range", "rank", "reduce_all", "reduce_any",
    "reduce_logsumexp", "reduce_max", "reduce_mean", "reduce_min", "reduce_prod", "reduce_sum",
    "reshape", "reverse", "round", "shape", "sigmoid", "sign", "sin", "size", "sort", "split",
    "sqrt", "square", "squeeze", "stack", "stop_gradient", "subtract", "tanh", "tensordot",
    "tile", "transpose", "truediv", "uint16", "uint32", "uint64", "uint8", "unstack", "where",
    "zeros", "zeros_like"
]
