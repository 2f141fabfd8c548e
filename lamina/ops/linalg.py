"""`keras.ops.linalg`: decompositions, solvers, inverses and norms of (batches of) matrices.

Every function takes matrices in the last two axes and broadcasts over leading batch axes.
Integer inputs are cast to `keras.config.floatx()`.
"""

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsp_linalg

from lamina.ops._convert import compiled, float_tensor, floats, unwrap_tree
from lamina.ops._symbolic import symbolic_op

__all__ = [
    "cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq", "lu_factor",
    "matrix_rank", "norm", "pinv", "qr", "solve", "solve_triangular", "svd",
]


def _matrix(x, name, square=False):
    x = float_tensor(x)
    if x.ndim < 2:
        raise ValueError(
            f"ops.{name} takes a matrix (or a batch of matrices) of rank 2 or more. "
            f"Received: shape {x.shape}.")
    if square and x.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"ops.{name} takes square matrices. Received: shape {x.shape}, whose last two "
            "axes differ.")
    return x


@symbolic_op
def cholesky(x, upper=False):
    """The Cholesky factor `L` (or `U` with `upper=True`) of positive-definite matrices.

    Examples:
        >>> ops.cholesky([[4., 0.], [0., 9.]])
        Array([[2., 0.],
               [0., 3.]], dtype=float32)
    """
    x = _matrix(x, "cholesky", square=True)
    factor = jnp.linalg.cholesky(x, upper=upper)
    if not isinstance(factor, jax.core.Tracer) and bool(jnp.any(jnp.isnan(factor))):
        raise ValueError(
            "ops.cholesky failed: the input is not a (numerically) positive-definite matrix. "
            "Check that it is symmetric with positive eigenvalues; adding a small multiple of "
            "the identity often helps.")
    return factor


@symbolic_op
def cholesky_inverse(x, upper=False):
    """The inverse of `A` given its Cholesky factor `x` (lower, or upper with `upper=True`).

    Examples:
        >>> ops.cholesky_inverse([[2., 0.], [0., 2.]])
        Array([[0.25, 0.  ],
               [0.  , 0.25]], dtype=float32)
    """
    return _cholesky_inverse(_matrix(x, "cholesky_inverse", square=True), bool(upper))


@compiled("upper")
def _cholesky_inverse(x, upper):
    identity = jnp.broadcast_to(jnp.eye(x.shape[-1], dtype=x.dtype), x.shape)
    inverse_factor = jsp_linalg.solve_triangular(x, identity, lower=not upper)
    if upper:
        return inverse_factor @ jnp.swapaxes(inverse_factor, -1, -2)
    return jnp.swapaxes(inverse_factor, -1, -2) @ inverse_factor


@symbolic_op
def det(x):
    """Determinant of square matrices.

    Examples:
        >>> ops.det([[2., 0.], [0., 3.]])
        Array(6., dtype=float32)
    """
    return jnp.linalg.det(_matrix(x, "det", square=True))


@symbolic_op
def eig(x):
    """Eigenvalues and right eigenvectors of general square matrices (complex results; CPU only
    in JAX).

    Examples:
        >>> w, v = ops.eig([[2., 0.], [0., 3.]])
        >>> w
        Array([2.+0.j, 3.+0.j], dtype=complex64)
    """
    return jnp.linalg.eig(_matrix(x, "eig", square=True))


@symbolic_op
def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of symmetric/Hermitian matrices.

    Examples:
        >>> w, v = ops.eigh([[2., 0.], [0., 1.]])
        >>> w
        Array([1., 2.], dtype=float32)
    """
    return jnp.linalg.eigh(_matrix(x, "eigh", square=True))


@symbolic_op
def inv(x):
    """Inverse of square matrices.

    Examples:
        >>> ops.inv([[2., 0.], [0., 4.]])
        Array([[0.5 , 0.  ],
               [0.  , 0.25]], dtype=float32)
    """
    return jnp.linalg.inv(_matrix(x, "inv", square=True))


@symbolic_op
def lu_factor(x):
    """Pivoted LU decomposition: `(lu, pivots)` as in `scipy.linalg.lu_factor`, batched.

    Examples:
        >>> lu, pivots = ops.lu_factor([[1., 2.], [3., 4.]])
        >>> pivots
        Array([1, 1], dtype=int32)
    """
    return _lu_factor(_matrix(x, "lu_factor", square=True))


@compiled()
def _lu_factor(x):
    factor = jsp_linalg.lu_factor
    for _ in range(x.ndim - 2):
        factor = jax.vmap(factor)
    return factor(x)


@symbolic_op
def solve(a, b):
    """Solves `a @ x = b` for `x`.

    Examples:
        >>> ops.solve([[2., 0.], [0., 4.]], [2., 4.])
        Array([1., 1.], dtype=float32)
    """
    a, b = floats(a, b)
    return jnp.linalg.solve(_matrix(a, "solve", square=True), b)


@symbolic_op
def solve_triangular(a, b, lower=False):
    """Solves `a @ x = b` for triangular `a` (upper unless `lower=True`).

    Examples:
        >>> ops.solve_triangular([[2., 1.], [0., 1.]], [3., 1.])
        Array([1., 1.], dtype=float32)
    """
    a, b = floats(a, b)
    return jsp_linalg.solve_triangular(_matrix(a, "solve_triangular", square=True), b,
                                       lower=lower)


@symbolic_op
def lstsq(a, b, rcond=None):
    """The least-squares solution `x` of `a @ x = b`.

    Examples:
        >>> ops.lstsq([[1., 0.], [0., 1.], [0., 0.]], [1., 2., 3.])
        Array([1., 2.], dtype=float32)
    """
    a, b = floats(a, b)
    return jnp.linalg.lstsq(_matrix(a, "lstsq"), b, rcond=rcond)[0]


@symbolic_op
def matrix_rank(x, tol=None):
    """The rank of matrices, by counting singular values above `tol`.

    Examples:
        >>> ops.matrix_rank([[1., 2.], [2., 4.]])
        Array(1, dtype=int32)
    """
    return jnp.linalg.matrix_rank(_matrix(x, "matrix_rank"), tol=tol).astype("int32")


@symbolic_op
def pinv(x, rcond=None):
    """The Moore-Penrose pseudo-inverse.

    Examples:
        >>> ops.pinv([[2., 0.], [0., 0.]])
        Array([[0.5, 0. ],
               [0. , 0. ]], dtype=float32)
    """
    x = _matrix(x, "pinv")
    return jnp.linalg.pinv(x) if rcond is None else jnp.linalg.pinv(x, rtol=rcond)


@symbolic_op
def qr(x, mode="reduced"):
    """QR decomposition `(q, r)`; `mode` is "reduced" or "complete".

    Examples:
        >>> q, r = ops.qr([[1., 0.], [0., 1.], [0., 0.]])
        >>> q.shape, r.shape
        ((3, 2), (2, 2))
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"ops.qr takes mode='reduced' or 'complete'. Received: mode={mode!r}")
    return jnp.linalg.qr(_matrix(x, "qr"), mode=mode)


@symbolic_op
def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition `(u, s, vh)`, or only `s` with `compute_uv=False`.

    Examples:
        >>> ops.svd([[3., 0.], [0., 2.]], compute_uv=False)
        Array([3., 2.], dtype=float32)
    """
    return jnp.linalg.svd(_matrix(x, "svd"), full_matrices=full_matrices, compute_uv=compute_uv)


@symbolic_op
def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm (as `numpy.linalg.norm`).

    Examples:
        >>> ops.norm([3., 4.])
        Array(5., dtype=float32)
    """
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnp.linalg.norm(float_tensor(x), ord=ord, axis=axis, keepdims=keepdims)


@symbolic_op
def jvp(fun, primals, tangents, has_aux=False):
    """Jacobian-vector product: `(fun(*primals), J @ tangents)` (plus aux with `has_aux`).

    Examples:
        >>> out, tangent = ops.jvp(lambda x: x * x, (3.,), (1.,))
        >>> float(tangent)
        6.0
    """
    return jax.jvp(fun, tuple(unwrap_tree(primals)), tuple(unwrap_tree(tangents)),
                   has_aux=has_aux)
