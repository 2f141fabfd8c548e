"""Element-wise math, comparisons, reductions, dtype rules and products, against NumPy."""

import numpy as np
import pytest

from lamina import ops

RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)).astype("float32")
Y = RNG.normal(size=(3, 4)).astype("float32")
POSITIVE = np.abs(X) + 0.5
INTS = RNG.integers(-5, 5, size=(3, 4)).astype("int32")


def close(actual, expected, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name, reference, data", [
    ("exp", np.exp, X), ("log", np.log, POSITIVE), ("sqrt", np.sqrt, POSITIVE),
    ("sin", np.sin, X), ("tanh", np.tanh, X), ("abs", np.abs, X), ("square", np.square, X),
    ("floor", np.floor, X), ("ceil", np.ceil, X), ("sign", np.sign, X), ("log1p", np.log1p, POSITIVE),
    ("expm1", np.expm1, X), ("arctan", np.arctan, X), ("negative", np.negative, X),
    ("reciprocal", np.reciprocal, POSITIVE), ("cbrt", np.cbrt, X), ("trunc", np.trunc, X),
])
def test_unary_math_matches_numpy(name, reference, data):
    close(getattr(ops, name)(data), reference(data))


@pytest.mark.parametrize("name, reference", [
    ("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply), ("divide", np.divide),
    ("maximum", np.maximum), ("minimum", np.minimum), ("power", np.power),
    ("arctan2", np.arctan2), ("hypot", np.hypot), ("logaddexp", np.logaddexp),
])
def test_binary_math_matches_numpy(name, reference):
    a, b = (POSITIVE, Y) if name == "power" else (X, Y)
    close(getattr(ops, name)(a, b), reference(a, b))


def test_binary_math_broadcasts_python_numbers():
    close(ops.add(X, 1), X + 1)
    close(ops.multiply(2.0, X), 2 * X)
    close(ops.subtract([1.0, 2.0], [[1.0], [3.0]]), [[0.0, 1.0], [-2.0, -1.0]])


@pytest.mark.parametrize("name, reference", [
    ("equal", np.equal), ("not_equal", np.not_equal), ("less", np.less),
    ("less_equal", np.less_equal), ("greater", np.greater), ("greater_equal", np.greater_equal),
])
def test_comparisons_match_numpy(name, reference):
    a, b = X, np.where(RNG.random((3, 4)) > 0.5, X, Y)
    result = getattr(ops, name)(a, b)
    assert result.dtype == np.bool_
    np.testing.assert_array_equal(result, reference(a, b))


def test_logical_and_predicates():
    a, b = X > 0, Y > 0
    np.testing.assert_array_equal(ops.logical_and(a, b), a & b)
    np.testing.assert_array_equal(ops.logical_xor(a, b), a ^ b)
    np.testing.assert_array_equal(ops.logical_not(a), ~a)
    special = np.array([np.nan, np.inf, -np.inf, 1.0], "float32")
    np.testing.assert_array_equal(ops.isnan(special), np.isnan(special))
    np.testing.assert_array_equal(ops.isfinite(special), np.isfinite(special))
    assert bool(ops.allclose(X, X + 1e-9))


def test_where_selects_and_broadcasts():
    close(ops.where(X > 0, X, 0.0), np.where(X > 0, X, 0.0))
    close(ops.where([True, False], 1.0, [[2.0], [3.0]]), [[1.0, 2.0], [1.0, 3.0]])
    with pytest.raises(ValueError, match="both x1 and x2"):
        ops.where(X > 0, X)


def test_clip_round_divide_no_nan():
    close(ops.clip(X, -0.5, 0.5), np.clip(X, -0.5, 0.5))
    close(ops.round(X * 10, decimals=1), np.round(X * 10, 1))
    np.testing.assert_array_equal(ops.round(INTS * 17, decimals=-1), np.round(INTS * 17, -1))
    close(ops.divide_no_nan([1.0, 2.0], [0.0, 4.0]), [0.0, 0.5])


# ----------------------------------------------------------------------------- dtypes


def test_cast_and_dtype_names():
    assert ops.cast(X, "int32").dtype == np.int32
    np.testing.assert_array_equal(ops.cast([1.7, -1.7], "int32"), [1, -1])
    assert ops.dtype(ops.cast(X, "bfloat16")) == "bfloat16"
    assert ops.dtype(X) == "float32"
    assert ops.dtype(ops.convert_to_tensor([1, 2])) == "int32"
    assert ops.dtype(ops.convert_to_tensor(np.array([1.0, 2.0]))) == "float32"
    np.testing.assert_array_equal(ops.saturate_cast([-5.0, 300.0, 7.0], "uint8"), [0, 255, 7])


def test_keras_dtype_rules():
    assert ops.mean(INTS).dtype == np.float32  # integer means are floats
    assert ops.var(INTS, axis=0).dtype == np.float32
    assert ops.sqrt(np.array([4, 9], "int32")).dtype == np.float32
    assert ops.sin(np.array([True])).dtype == np.float32
    assert ops.divide(INTS, 2).dtype == np.float32
    assert ops.sum(INTS).dtype == np.int32
    assert ops.sum(X > 0).dtype == np.int32
    assert ops.zeros((2,)).dtype == np.float32
    assert ops.arange(3).dtype == np.int32 and ops.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert ops.add(np.array([1], "int8"), 1).dtype == np.int8  # Python numbers are weak
    assert ops.argmax(X).dtype == np.int32
    assert ops.mean(X.astype("float16")).dtype == np.float16


# ----------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "var", "std", "any", "all"])
@pytest.mark.parametrize("axis, keepdims", [(None, False), (-1, True), ((0, 1), False)])
def test_reductions_match_numpy(name, axis, keepdims):
    data = X > 0 if name in ("any", "all") else X
    expected = getattr(np, name)(data, axis=axis, keepdims=keepdims)
    close(getattr(ops, name)(data, axis=axis, keepdims=keepdims), expected)


def test_arg_and_order_reductions():
    np.testing.assert_array_equal(ops.argmax(X, axis=1), np.argmax(X, axis=1))
    np.testing.assert_array_equal(ops.argmin(X, axis=0, keepdims=True),
                                  np.argmin(X, axis=0, keepdims=True))
    close(ops.sort(X, axis=0), np.sort(X, axis=0))
    np.testing.assert_array_equal(ops.argsort(X), np.argsort(X))
    close(ops.cumsum(X, axis=1), np.cumsum(X, axis=1))
    close(ops.median(X, axis=1), np.median(X, axis=1))
    close(ops.quantile(X, [0.25, 0.5], axis=0), np.quantile(X, [0.25, 0.5], axis=0))
    close(ops.logsumexp(X, axis=1), np.log(np.sum(np.exp(X), axis=1)))
    close(ops.logsumexp([1000.0, 1000.0]), 1000.0 + np.log(2.0))  # no overflow
    np.testing.assert_array_equal(ops.count_nonzero(INTS, axis=0), np.count_nonzero(INTS, 0))


# ----------------------------------------------------------------------------- shapes


def test_shape_manipulation_matches_numpy():
    cube = np.arange(24.0, dtype="float32").reshape(2, 3, 4)
    close(ops.reshape(cube, (4, -1)), cube.reshape(4, -1))
    close(ops.transpose(cube, (2, 0, 1)), cube.transpose(2, 0, 1))
    close(ops.transpose(cube), cube.T)
    assert ops.expand_dims(cube, (0, -1)).shape == (1, 2, 3, 4, 1)
    assert ops.squeeze(cube[:, :1]).shape == (2, 4)
    close(ops.concatenate([cube, cube], axis=1), np.concatenate([cube, cube], axis=1))
    close(ops.stack([cube, cube], axis=-1), np.stack([cube, cube], axis=-1))
    for part, expected in zip(ops.split(cube, 2, axis=2), np.split(cube, 2, axis=2)):
        close(part, expected)
    for part, expected in zip(ops.split(cube, [1, 3], axis=2), np.split(cube, [1, 3], axis=2)):
        close(part, expected)
    close(ops.tile(X, (2, 1)), np.tile(X, (2, 1)))
    close(ops.repeat(X, 2, axis=1), np.repeat(X, 2, axis=1))
    close(ops.flip(cube, axis=1), np.flip(cube, axis=1))
    close(ops.pad(X, ((1, 0), (0, 2))), np.pad(X, ((1, 0), (0, 2))))
    close(ops.moveaxis(cube, 0, -1), np.moveaxis(cube, 0, -1))
    assert ops.shape(cube) == (2, 3, 4)
    assert [t.shape for t in ops.unstack(cube, axis=1)] == [(2, 4)] * 3


def test_shape_errors_say_what_to_do():
    with pytest.raises(ValueError, match="same number of elements"):
        ops.reshape(X, (5, -1))
    with pytest.raises(ValueError, match="size is 4, not 1"):
        ops.squeeze(X, axis=1)
    with pytest.raises(ValueError, match="same shape"):
        ops.stack([X, X[:2]])
    with pytest.raises(ValueError, match="equal sections"):
        ops.split(X, 3, axis=1)


def test_indexing_and_creation():
    close(ops.take(X, [2, 0], axis=1), np.take(X, [2, 0], axis=1))
    close(ops.take_along_axis(X, np.argsort(X, axis=1), axis=1), np.sort(X, axis=1))
    np.testing.assert_array_equal(ops.one_hot([0, 2], 3), np.eye(3)[[0, 2]])
    close(ops.tril(X), np.tril(X))
    close(ops.eye(3, k=1), np.eye(3, k=1))
    close(ops.linspace(0, 1, 5), np.linspace(0, 1, 5))
    close(ops.full((2,), 3.0), [3.0, 3.0])
    close(ops.get_item(X, (slice(1, None), 2)), X[1:, 2])
    close(ops.scatter([[0, 1], [1, 1], [0, 1]], [1.0, 2.0, 3.0], (2, 2)), [[0, 4], [0, 2]])
    close(ops.scatter_update(np.zeros(3, "float32"), [[1]], [5.0]), [0, 5, 0])
    close(ops.slice(X, (1, 1), (2, -1)), X[1:3, 1:])
    expected = X.copy()
    expected[0, 1:3] = 1.0
    close(ops.slice_update(X, (0, 1), np.ones((1, 2), "float32")), expected)


# ----------------------------------------------------------------------------- products


def test_products_match_numpy():
    a = RNG.normal(size=(2, 3, 4)).astype("float32")
    b = RNG.normal(size=(2, 4, 5)).astype("float32")
    close(ops.matmul(a, b), np.matmul(a, b), rtol=1e-4)
    close(ops.einsum("bij,bjk->bik", a, b), np.einsum("bij,bjk->bik", a, b), rtol=1e-4)
    close(ops.tensordot(a[0], b[0], 1), np.tensordot(a[0], b[0], 1), rtol=1e-4)
    close(ops.tensordot(a, a, axes=([1, 2], [1, 2])), np.tensordot(a, a, axes=([1, 2], [1, 2])),
          rtol=1e-4)
    close(ops.dot(X[0], Y[0]), np.dot(X[0], Y[0]), rtol=1e-4)
    close(ops.outer([1.0, 2.0], [3.0, 4.0]), [[3.0, 4.0], [6.0, 8.0]])
    int8 = np.array([[100, 100]], "int8")
    assert ops.matmul(int8, int8.T).dtype == np.int32  # int8 products accumulate in int32
    assert int(ops.matmul(int8, int8.T)[0, 0]) == 20000


def test_matmul_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(3, 4\)"):
        ops.matmul(X, Y)
