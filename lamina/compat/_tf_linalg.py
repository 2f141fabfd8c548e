"""TensorFlow's matrix products and `tf.linalg.*`; matrices are the last two axes, batched."""

import jax.numpy as jnp

from lamina.compat._tf_core import as_array, static_int
from lamina.compat._tf_dtypes import jax_dtype

__all__ = [
    "cholesky", "det", "diag", "diag_part", "einsum", "inv", "matmul", "matrix_transpose",
    "solve", "tensordot", "trace",
]


def _swap(x, conjugate):
    x = jnp.swapaxes(x, -1, -2)
    return jnp.conj(x) if conjugate else x


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, output_type=None, name=None):
    """`tf.matmul`: batched matrix product, optionally transposing (or adjoining) either side.

    Examples:
        >>> a = tf.ones([5, 2, 3])                       # a batch of five 2x3 matrices
        >>> tf.matmul(a, a, transpose_b=True).shape
        (5, 2, 2)
    """
    a, b = as_array(a), as_array(b)
    if transpose_a or adjoint_a:
        a = _swap(a, adjoint_a)
    if transpose_b or adjoint_b:
        b = _swap(b, adjoint_b)
    if a.ndim >= 1 and b.ndim >= 2 and a.shape[-1] != b.shape[-2]:
        raise ValueError(
            f"tf.matmul: the inner dimensions do not match: a has shape {tuple(a.shape)} and b "
            f"has shape {tuple(b.shape)} (after any transposes); a's last dimension must equal "
            "b's second-to-last.")
    out = jnp.matmul(a, b)
    return out if output_type is None else out.astype(jax_dtype(output_type))


def matrix_transpose(a, conjugate=False, name=None):
    """`tf.linalg.matrix_transpose`: swaps the last two axes.

    Examples:
        >>> tf.linalg.matrix_transpose(tf.zeros([5, 2, 3])).shape
        (5, 3, 2)
    """
    return _swap(as_array(a), conjugate)


def tensordot(a, b, axes, name=None):
    """`tf.tensordot`: `axes` is an int or a pair of axis lists.

    Examples:
        >>> tf.tensordot(tf.ones([2, 3]), tf.ones([3, 4]), axes=1).shape
        (2, 4)
    """
    return jnp.tensordot(as_array(a), as_array(b), axes)


def einsum(equation, *inputs, **kwargs):
    """`tf.einsum`: products and sums named by an equation such as "bij,bjk->bik".

    Examples:
        >>> tf.einsum("ij,j->i", [[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0])
        Array([3., 7.], dtype=float32)
    """
    kwargs.pop("name", None)
    return jnp.einsum(equation, *(as_array(x) for x in inputs), **kwargs)


def inv(input, adjoint=False, name=None):
    """`tf.linalg.inv`: the inverse of each matrix.

    Examples:
        >>> tf.linalg.inv([[2.0, 0.0], [0.0, 4.0]])
        Array([[0.5 , 0.  ],
               [0.  , 0.25]], dtype=float32)
    """
    x = jnp.linalg.inv(as_array(input))
    return _swap(x, True) if adjoint else x


def det(input, name=None):
    """`tf.linalg.det`: the determinant of each matrix.

    Examples:
        >>> tf.linalg.det([[2.0, 1.0], [1.0, 3.0]])
        Array(5., dtype=float32)
    """
    return jnp.linalg.det(as_array(input))


def solve(matrix, rhs, adjoint=False, name=None):
    """`tf.linalg.solve`: X such that matrix @ X = rhs.

    Examples:
        >>> tf.linalg.solve([[2.0, 0.0], [0.0, 4.0]], [[2.0], [2.0]])
        Array([[1. ],
               [0.5]], dtype=float32)
    """
    matrix = as_array(matrix)
    return jnp.linalg.solve(_swap(matrix, True) if adjoint else matrix, as_array(rhs))


def cholesky(input, name=None):
    """`tf.linalg.cholesky`: the lower Cholesky factor of each matrix.

    Examples:
        >>> tf.linalg.cholesky([[4.0, 2.0], [2.0, 2.0]])
        Array([[2., 0.],
               [1., 1.]], dtype=float32)
    """
    return jnp.linalg.cholesky(as_array(input))


def diag(diagonal, name=None, k=0):
    """`tf.linalg.diag`: square matrices with `diagonal`'s last axis on the k-th diagonal.

    Examples:
        >>> tf.linalg.diag([1.0, 2.0])
        Array([[1., 0.],
               [0., 2.]], dtype=float32)
    """
    k = static_int(k, "k", "tf.linalg.diag")
    return jnp.vectorize(lambda d: jnp.diag(d, k), signature="(n)->(m,m)")(as_array(diagonal))


def diag_part(input, name=None, k=0):
    """`tf.linalg.diag_part`: the k-th diagonal of the last two axes.

    Examples:
        >>> tf.linalg.diag_part([[1.0, 2.0], [3.0, 4.0]])
        Array([1., 4.], dtype=float32)
    """
    return jnp.diagonal(as_array(input), offset=static_int(k, "k", "tf.linalg.diag_part"),
                        axis1=-2, axis2=-1)


def trace(x, name=None):
    """`tf.linalg.trace`: the sum of the diagonal of the last two axes.

    Examples:
        >>> tf.linalg.trace([[1.0, 2.0], [3.0, 4.0]])
        Array(5., dtype=float32)
    """
    return jnp.trace(as_array(x), axis1=-2, axis2=-1)
