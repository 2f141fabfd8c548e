"""Math, reduction and array functions of `lamina.compat.tf`, against NumPy."""

import math

import jax
import jax.numpy as jnp
import numpy as np

import lamina
from lamina.compat import tf

X = np.array([[0.5, -1.5, 2.0], [-0.25, 3.0, -4.0]], np.float32)
POSITIVE = np.abs(X) + 0.5
Y = np.array([[1.0, 2.0, -2.0], [0.5, -3.0, 4.0]], np.float32)


def _erf(x):
    return np.vectorize(math.erf)(x)


with np.errstate(divide="ignore", invalid="ignore"):
    WITH_NAN = np.log(X)
    WITH_INF = X / (X > 0)

# name: (tf function, NumPy reference, input)
UNARY = {
    "abs": (tf.abs, np.abs, X), "negative": (tf.negative, np.negative, X),
    "sign": (tf.sign, np.sign, X), "square": (tf.square, np.square, X),
    "sqrt": (tf.sqrt, np.sqrt, POSITIVE), "exp": (tf.exp, np.exp, X),
    "log": (tf.math.log, np.log, POSITIVE), "log1p": (tf.math.log1p, np.log1p, POSITIVE),
    "expm1": (tf.math.expm1, np.expm1, X), "rsqrt": (tf.math.rsqrt, lambda a: a ** -0.5, POSITIVE),
    "reciprocal": (tf.math.reciprocal, np.reciprocal, X), "sin": (tf.sin, np.sin, X),
    "cos": (tf.cos, np.cos, X), "tanh": (tf.tanh, np.tanh, X),
    "sigmoid": (tf.sigmoid, lambda a: 1 / (1 + np.exp(-a)), X),
    "log_sigmoid": (tf.math.log_sigmoid, lambda a: -np.log1p(np.exp(-a)), X),
    "softplus": (tf.math.softplus, lambda a: np.log1p(np.exp(a)), X),
    "softsign": (tf.math.softsign, lambda a: a / (1 + np.abs(a)), X),
    "erf": (tf.math.erf, _erf, X), "floor": (tf.floor, np.floor, X),
    "ceil": (tf.ceil, np.ceil, X), "round": (tf.round, np.round, X * 2),
    "is_nan": (tf.math.is_nan, np.isnan, WITH_NAN),
    "is_inf": (tf.math.is_inf, np.isinf, WITH_INF),
    "is_finite": (tf.math.is_finite, np.isfinite, WITH_INF),
    "logical_not": (tf.logical_not, np.logical_not, X > 0),
}

BINARY = {
    "add": (tf.add, np.add), "subtract": (tf.subtract, np.subtract),
    "multiply": (tf.multiply, np.multiply), "divide": (tf.divide, np.divide),
    "truediv": (tf.truediv, np.true_divide), "floordiv": (tf.math.floordiv, np.floor_divide),
    "floormod": (tf.math.floormod, np.mod), "pow": (tf.pow, lambda a, b: np.abs(a) ** b),
    "maximum": (tf.maximum, np.maximum), "minimum": (tf.minimum, np.minimum),
    "squared_difference": (tf.math.squared_difference, lambda a, b: (a - b) ** 2),
    "equal": (tf.equal, np.equal), "not_equal": (tf.not_equal, np.not_equal),
    "greater": (tf.greater, np.greater), "greater_equal": (tf.greater_equal, np.greater_equal),
    "less": (tf.less, np.less), "less_equal": (tf.less_equal, np.less_equal),
}

LOGICAL = {"logical_and": (tf.logical_and, np.logical_and),
           "logical_or": (tf.logical_or, np.logical_or),
           "logical_xor": (tf.math.logical_xor, np.logical_xor)}


def _check_all(fns, args, expected):
    """Eagerly on Variables and under jax.jit, all ops in one program (compiling each op
    separately would make the suite slow; keras.function is jax.jit plus state, tested
    elsewhere)."""
    def run_all(*a):
        return {name: fn(*a) for name, fn in fns.items()}

    variables = [lamina.Variable(a) for a in args]
    for mode, results in {"variables": run_all(*variables),
                          "jax.jit": jax.jit(run_all)(*args)}.items():
        for name, value in results.items():
            np.testing.assert_allclose(np.asarray(value), expected[name], rtol=2e-6, atol=1e-6,
                                       err_msg=f"{name} ({mode})")


def test_unary_ops_match_numpy():
    inputs = [x for _, _, x in UNARY.values()]
    fns = {name: lambda *a, fn=fn, i=i: fn(a[i]) for i, (name, (fn, _, _)) in enumerate(
        UNARY.items())}
    _check_all(fns, inputs, {name: ref(x) for name, (_, ref, x) in UNARY.items()})


def test_binary_ops_match_numpy():
    pow_base = np.abs(X)
    fns = {name: fn for name, (fn, _) in BINARY.items() if name != "pow"}
    expected = {name: reference(X, Y) for name, (_, reference) in BINARY.items() if name != "pow"}
    _check_all(fns, [X, Y], expected)
    _check_all({"pow": tf.pow}, [pow_base, Y], {"pow": pow_base ** Y})
    a, b = X > 0, Y > 0
    _check_all({n: f for n, (f, _) in LOGICAL.items()}, [a, b],
               {n: r(a, b) for n, (_, r) in LOGICAL.items()})


def test_ops_accept_python_numbers_and_lists():
    assert tf.abs(-3) == 3 and tf.abs([-3]).dtype == tf.int32
    np.testing.assert_allclose(tf.square([1.0, 2.0]), [1.0, 4.0])
    np.testing.assert_allclose(tf.add([1.0, 2.0], 1), [2.0, 3.0])
    assert float(tf.sigmoid(0)) == 0.5


def test_round_is_half_to_even_like_tf():
    np.testing.assert_array_equal(tf.round([0.5, 1.5, 2.5, -0.5]), [0.0, 2.0, 2.0, -0.0])


REDUCTIONS = {
    tf.reduce_sum: np.sum, tf.reduce_mean: np.mean, tf.reduce_max: np.max,
    tf.reduce_min: np.min, tf.reduce_prod: np.prod, tf.math.reduce_std: np.std,
    tf.math.reduce_variance: np.var,
    tf.reduce_logsumexp: lambda a, axis, keepdims: np.log(
        np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
    tf.math.reduce_euclidean_norm: lambda a, axis, keepdims: np.sqrt(
        np.sum(a ** 2, axis=axis, keepdims=keepdims)),
}
AXES = [None, 0, -1, [0, 1]]


def test_reductions_match_numpy():
    def run_all(x):
        return [[fn(x, axis=axis, keepdims=keepdims) for fn in REDUCTIONS]
                + [tf.reduce_any(x > 0, axis, keepdims), tf.reduce_all(x > 0, axis, keepdims)]
                for axis in AXES for keepdims in (False, True)]

    expected = [[ref(X, axis=tuple(axis) if isinstance(axis, list) else axis, keepdims=keepdims)
                 for ref in REDUCTIONS.values()]
                + [np.any(X > 0, axis=tuple(axis) if isinstance(axis, list) else axis,
                          keepdims=keepdims),
                   np.all(X > 0, axis=tuple(axis) if isinstance(axis, list) else axis,
                          keepdims=keepdims)]
                for axis in AXES for keepdims in (False, True)]
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-6),
                           jax.jit(run_all)(X), expected)


def test_reductions_follow_tf_integer_rules():
    assert tf.reduce_mean(tf.constant([1, 2, 4])) == 2  # integer mean truncates
    assert tf.reduce_mean(tf.constant([-1, -2])) == -1  # toward zero, as in TF
    assert tf.reduce_sum(np.array([100, 100], np.int8)).dtype == tf.int8
    assert tf.reduce_mean([1.0, 2.0]).dtype == tf.float32
    assert tf.math.count_nonzero([[0, 1], [2, 0]], axis=1).tolist() == [1, 1]


def test_reductions_under_jit_and_with_variables():
    v = lamina.Variable(X)
    np.testing.assert_allclose(jax.jit(lambda a: tf.reduce_mean(a, axis=1))(v), X.mean(1))
    np.testing.assert_allclose(lamina.function(lambda: tf.reduce_sum(v, axis=[0]))(), X.sum(0))


def test_argmax_argmin_default_to_axis_zero_like_tf():
    np.testing.assert_array_equal(tf.argmax(X), np.argmax(X, axis=0))
    np.testing.assert_array_equal(tf.argmin(X, axis=1), np.argmin(X, axis=1))
    assert tf.argmax(X, output_type=tf.int32).dtype == tf.int32


def test_cumsum_cumprod_options():
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    np.testing.assert_allclose(tf.math.cumsum(x), np.cumsum(x))
    np.testing.assert_allclose(tf.math.cumsum(x, exclusive=True), [0, 1, 3, 6])
    np.testing.assert_allclose(tf.math.cumsum(x, reverse=True), [10, 9, 7, 4])
    np.testing.assert_allclose(tf.math.cumprod(x, exclusive=True, reverse=True), [24, 12, 4, 1])
    np.testing.assert_allclose(tf.math.cumsum(X, axis=1), np.cumsum(X, axis=1))


def test_no_nan_divisions_and_their_gradients():
    np.testing.assert_allclose(tf.math.divide_no_nan([1.0, 2.0], [0.0, 4.0]), [0.0, 0.5])
    grads = jax.grad(lambda y: tf.reduce_sum(tf.math.divide_no_nan(1.0, y)))(jnp.array([0.0, 2.0]))
    np.testing.assert_allclose(grads, [0.0, -0.25])
    np.testing.assert_allclose(tf.math.multiply_no_nan([np.inf, np.nan, 2.0], [0.0, 0.0, 3.0]),
                               [0.0, 0.0, 6.0])


def test_top_k_and_in_top_k():
    values, indices = tf.math.top_k([[1.0, 5.0, 3.0]], k=2)
    assert values.tolist() == [[5.0, 3.0]] and indices.tolist() == [[1, 2]]
    predictions = [[0.1, 0.5, 0.4], [0.3, 0.3, 0.3], [0.2, 0.8, 0.0]]
    assert tf.math.in_top_k([2, 2, 0], predictions, k=1).tolist() == [False, True, False]
    assert tf.math.in_top_k([2, 0, 0], predictions, k=2).tolist() == [True, True, True]


def test_segment_sums_and_confusion_matrix():
    np.testing.assert_allclose(tf.math.segment_sum([1.0, 2.0, 3.0, 4.0], [0, 0, 1, 3]),
                               [3.0, 3.0, 0.0, 4.0])
    np.testing.assert_allclose(
        jax.jit(lambda d, i: tf.math.unsorted_segment_sum(d, i, 3))(
            jnp.array([1.0, 2.0, 3.0]), jnp.array([2, 0, 2])), [2.0, 0.0, 4.0])
    matrix = tf.math.confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2])
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    assert tf.math.confusion_matrix([0, 1], [1, 1], num_classes=3).shape == (3, 3)


def test_norms_and_clipping():
    np.testing.assert_allclose(tf.norm(X), np.linalg.norm(X), rtol=1e-6)
    np.testing.assert_allclose(tf.norm(X, axis=1), np.linalg.norm(X, axis=1), rtol=1e-6)
    np.testing.assert_allclose(tf.norm(X, ord=1, axis=-1, keepdims=True),
                               np.abs(X).sum(-1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(tf.norm(X, ord="fro", axis=[0, 1]), np.linalg.norm(X), rtol=1e-6)
    np.testing.assert_allclose(tf.norm(X, ord=np.inf), np.abs(X).max())
    np.testing.assert_allclose(tf.clip_by_value(X, -1.0, 1.0), np.clip(X, -1, 1))
    np.testing.assert_allclose(tf.clip_by_norm([3.0, 4.0], 1.0), [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(tf.clip_by_norm([0.3, 0.4], 1.0), [0.3, 0.4], rtol=1e-6)
    np.testing.assert_allclose(tf.clip_by_norm(X, 1.0, axes=[1]),
                               X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1),
                               rtol=1e-6)
    zero_grad = jax.grad(lambda x: tf.reduce_sum(tf.clip_by_norm(x, 1.0)))(jnp.zeros(2))
    assert np.isfinite(zero_grad).all()
    np.testing.assert_allclose(tf.math.l2_normalize(X, axis=1),
                               X / np.linalg.norm(X, axis=1, keepdims=True), rtol=1e-6)


def test_add_n_matmul_tensordot_einsum():
    np.testing.assert_allclose(tf.add_n([X, Y, lamina.Variable(X)]), 2 * X + Y)
    np.testing.assert_allclose(tf.matmul(X, Y, transpose_b=True), X @ Y.T, rtol=1e-6)
    np.testing.assert_allclose(tf.matmul(X, Y, transpose_a=True), X.T @ Y, rtol=1e-6)
    np.testing.assert_allclose(tf.tensordot(X, Y, axes=[[1], [1]]), X @ Y.T, rtol=1e-6)
    np.testing.assert_allclose(tf.einsum("ij,kj->ik", X, Y), X @ Y.T, rtol=1e-6)


def test_linalg():
    m = np.array([[2.0, 1.0], [1.0, 3.0]], np.float32)
    np.testing.assert_allclose(tf.linalg.inv(m), np.linalg.inv(m), rtol=1e-5)
    np.testing.assert_allclose(tf.linalg.det(m), 5.0, rtol=1e-6)
    np.testing.assert_allclose(tf.linalg.trace(m), 5.0)
    np.testing.assert_allclose(tf.linalg.diag_part(m), [2.0, 3.0])
    np.testing.assert_allclose(tf.linalg.diag([[1.0, 2.0], [3.0, 4.0]])[1], np.diag([3.0, 4.0]))
    np.testing.assert_allclose(tf.linalg.solve(m, [[1.0], [2.0]]),
                               np.linalg.solve(m, [[1.0], [2.0]]), rtol=1e-5)
    np.testing.assert_allclose(tf.linalg.cholesky(m), np.linalg.cholesky(m), rtol=1e-6)
    np.testing.assert_allclose(tf.linalg.matrix_transpose(X), X.T)
    np.testing.assert_allclose(tf.linalg.eye(2), np.eye(2))


# ----------------------------------------------------------------------------- array functions
def test_constant_and_convert_to_tensor_use_tf_default_dtypes():
    assert tf.constant(2.0).dtype == tf.float32 and not tf.constant(2.0).weak_type
    assert tf.constant(2).dtype == tf.int32
    assert tf.constant([True]).dtype == tf.bool
    assert tf.constant(1, dtype=tf.float32).dtype == tf.float32
    assert tf.convert_to_tensor(3, dtype_hint=tf.float32).dtype == tf.float32
    np.testing.assert_array_equal(tf.constant(7.0, shape=[2, 2]), np.full((2, 2), 7.0))
    np.testing.assert_array_equal(tf.constant([1, 2, 3, 4], shape=(2, 2)), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(tf.convert_to_tensor(lamina.Variable([1.0])), [1.0])


def test_cast():
    np.testing.assert_array_equal(tf.cast([1.7, -1.7], tf.int32), [1, -1])
    assert tf.cast([1, 0], "bool").tolist() == [True, False]
    assert tf.cast(lamina.Variable(2), tf.float32).dtype == tf.float32
    assert float(tf.cast(1 + 2j, tf.float32)) == 1.0


def test_shape_size_rank_stay_static_under_jit():
    @jax.jit
    def flatten_and_pad(x):
        batch = tf.shape(x)[0]
        flat = tf.reshape(x, [batch, -1])
        return tf.concat([flat, tf.zeros([batch, tf.size(x) // batch])], axis=1), tf.rank(x)

    out, rank = flatten_and_pad(jnp.ones((2, 3, 4)))
    assert out.shape == (2, 24) and int(rank) == 3
    assert tf.shape(X).tolist() == [2, 3] and tf.shape(X).dtype == tf.int32
    assert int(tf.size(lamina.Variable(X))) == 6


def test_shape_functions_match_numpy(in_all_modes):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    cases = [
        (lambda t: tf.reshape(t, [4, -1]), a.reshape(4, -1)),
        (lambda t: tf.transpose(t), a.transpose()),
        (lambda t: tf.transpose(t, perm=[1, 0, 2]), a.transpose(1, 0, 2)),
        (lambda t: tf.expand_dims(t, -1), a[..., None]),
        (lambda t: tf.squeeze(tf.expand_dims(t, 1), axis=[1]), a),
        (lambda t: tf.concat([t, t], axis=-1), np.concatenate([a, a], -1)),
        (lambda t: tf.stack([t, t], axis=1), np.stack([a, a], 1)),
        (lambda t: tf.unstack(t, axis=1), list(np.moveaxis(a, 1, 0))),
        (lambda t: tf.split(t, 2, axis=2), np.split(a, 2, axis=2)),
        (lambda t: tf.split(t, [1, -1], axis=1), np.split(a, [1], axis=1)),
        (lambda t: tf.tile(t, [1, 2, 1]), np.tile(a, (1, 2, 1))),
        (lambda t: tf.gather(t, [2, 0], axis=1), a[:, [2, 0]]),
        (lambda t: tf.gather(t, [[1], [0]], axis=1, batch_dims=1),
         np.stack([a[0, [1]], a[1, [0]]])),
        (lambda t: tf.reverse(t, [0, 2]), a[::-1, :, ::-1]),
        (lambda t: tf.pad(t, [[0, 0], [1, 0], [0, 2]]), np.pad(a, [(0, 0), (1, 0), (0, 2)])),
        (lambda t: tf.pad(t, [[0, 0], [1, 1], [0, 0]], mode="REFLECT"),
         np.pad(a, [(0, 0), (1, 1), (0, 0)], mode="reflect")),
        (lambda t: tf.broadcast_to(t[:1], [3, 3, 4]), np.broadcast_to(a[:1], (3, 3, 4))),
        (lambda t: t[:, tf.newaxis], a[:, None]),
        (lambda t: tf.sort(t[0, 0] * -1.0, direction="DESCENDING"), np.sort(-a[0, 0])[::-1]),
        (lambda t: tf.argsort(-t[0, 0]), np.argsort(-a[0, 0])),
        (lambda t: tf.zeros_like(t, dtype=tf.int32), np.zeros_like(a, np.int32)),
        (lambda t: tf.ones_like(t), np.ones_like(a)),
    ]
    results = in_all_modes(lambda t: [fn(t) for fn, _ in cases], a)
    for result, (_, expected) in zip(results, cases):
        jax.tree_util.tree_map(np.testing.assert_allclose, result, expected)


def test_creation_functions():
    assert tf.zeros([2, 3]).dtype == tf.float32 and tf.ones((2,), dtype=tf.int32).tolist() == [1, 1]
    assert tf.fill([2], 3).tolist() == [3, 3] and tf.fill([2], 3.0).dtype == tf.float32
    np.testing.assert_array_equal(tf.eye(2, 3), np.eye(2, 3))
    assert tf.eye(2, batch_shape=[4]).shape == (4, 2, 2)
    assert tf.range(5).tolist() == [0, 1, 2, 3, 4] and tf.range(5).dtype == tf.int32
    np.testing.assert_allclose(tf.range(1, 2, 0.25), [1.0, 1.25, 1.5, 1.75])
    assert tf.range(10, 0, -3).tolist() == [10, 7, 4, 1]
    assert tf.range(tf.size(X)).shape == (6,)
    np.testing.assert_allclose(tf.linspace(0.0, 1.0, 5), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(tf.one_hot([0, 2, -1], 3), np.eye(3)[[0, 2]].tolist() + [[0] * 3])
    assert tf.one_hot([1], 2, on_value=5, off_value=-1).tolist() == [[-1, 5]]
    assert tf.one_hot([1], 2, axis=0).shape == (2, 1)


def test_where_boolean_mask_stop_gradient_identity():
    np.testing.assert_array_equal(tf.where(X > 0, X, 0.0), np.where(X > 0, X, 0))
    assert tf.where([True, False, True]).tolist() == [[0], [2]]
    np.testing.assert_array_equal(tf.boolean_mask(X, X[:, 0] > 0), X[X[:, 0] > 0])
    np.testing.assert_array_equal(tf.boolean_mask(X, X > 0), X[X > 0])
    np.testing.assert_array_equal(tf.boolean_mask(X, [True, False, True], axis=1), X[:, [0, 2]])
    assert float(jax.grad(lambda x: tf.stop_gradient(x) * x)(3.0)) == 3.0
    np.testing.assert_array_equal(tf.identity(lamina.Variable(X)), X)


def test_gradients_through_tf_ops_with_value_and_grad():
    w = lamina.Variable(np.array([[0.5], [-1.0], [2.0]], np.float32), name="w")
    y = np.array([[1.0], [0.0]], np.float32)

    def loss():
        residual = tf.matmul(X, w) - y
        return tf.reduce_mean(tf.square(residual)) + tf.nn.l2_loss(w)

    value, (grad,) = lamina.value_and_grad(loss, [w])()
    residual = X @ np.asarray(w) - y
    np.testing.assert_allclose(value, np.mean(residual ** 2) + np.sum(np.asarray(w) ** 2) / 2,
                               rtol=1e-6)
    np.testing.assert_allclose(grad, 2 * X.T @ residual / residual.size + np.asarray(w),
                               rtol=1e-5)
    compiled = lamina.function(lambda: lamina.value_and_grad(loss, [w])())
    np.testing.assert_allclose(compiled()[1][0], grad, rtol=1e-6)
