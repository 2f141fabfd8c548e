"""Control flow, custom gradients, Variables as inputs, and ops under jit and lamina.function."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import ops


def test_cond_and_switch():
    assert float(ops.cond(True, lambda: 1.0, lambda: 0.0)) == 1.0
    assert float(ops.cond(ops.convert_to_tensor(False), lambda: 1.0, lambda: 0.0)) == 0.0
    pick = jax.jit(lambda p, x: ops.cond(p > 0, lambda: x * 2, lambda: x - 1))
    assert float(pick(1.0, 5.0)) == 10.0 and float(pick(-1.0, 5.0)) == 4.0
    branches = [lambda x: x + 1, lambda x: x * 10]
    assert int(ops.switch(1, branches, 2)) == 20
    assert int(ops.switch(7, branches, 2)) == 20  # the index is clamped


def test_while_loop_single_tuple_and_maximum_iterations():
    assert int(ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0)) == 10
    i, total = ops.while_loop(lambda i, t: i < 4, lambda i, t: (i + 1, t + i), (0, 0))
    assert (int(i), int(total)) == (4, 6)
    capped = ops.while_loop(lambda i: i < 100, lambda i: i + 1, 0, maximum_iterations=5)
    assert int(capped) == 5
    result = ops.while_loop(lambda d: d["i"] < 3, lambda d: {"i": d["i"] + 1, "x": d["x"] * 2},
                            {"i": 0, "x": 1})
    assert (int(result["i"]), int(result["x"])) == (3, 8)


def test_fori_loop_scan_map_associative_scan():
    assert int(ops.fori_loop(0, 5, lambda i, total: total + i, 0)) == 10
    carry, ys = ops.scan(lambda c, x: (c + x, c * x), 0.0, ops.arange(1.0, 5.0))
    assert float(carry) == 10.0
    np.testing.assert_allclose(ys, [0.0, 2.0, 9.0, 24.0])
    carry, ys = ops.scan(lambda c, _: (c + 1, c), 0, length=3, reverse=True)
    np.testing.assert_array_equal(ys, [2, 1, 0])
    np.testing.assert_array_equal(ops.map(lambda x: x * x, ops.arange(4)), [0, 1, 4, 9])
    np.testing.assert_array_equal(
        ops.associative_scan(lambda a, b: a + b, ops.arange(5)), np.cumsum(np.arange(5)))
    np.testing.assert_allclose(ops.vectorized_map(lambda row: ops.sum(row * row),
                                                  np.ones((3, 2), "float32")), [2.0, 2.0, 2.0])
    with pytest.raises(ValueError, match="unroll"):
        ops.scan(lambda c, x: (c, x), 0, np.ones(3), unroll=0)


def test_control_flow_is_differentiable():
    def loop(x):
        return ops.fori_loop(0, 3, lambda i, v: v * x, 1.0)  # x ** 3

    assert float(jax.grad(loop)(2.0)) == pytest.approx(12.0)

    def scanned(x):
        carry, _ = ops.scan(lambda c, _: (c * x, None), 1.0, length=4)
        return carry

    assert float(jax.grad(scanned)(2.0)) == pytest.approx(32.0)


def my_softplus_factory():
    @ops.custom_gradient
    def my_softplus(z):
        exp = ops.exp(z)

        def grad(g):
            return g / (1 + 1 / exp)

        return ops.log(1 + exp), grad

    return my_softplus


def test_custom_gradient_gives_a_stable_softplus_gradient():
    my_softplus = my_softplus_factory()
    assert float(jax.grad(my_softplus)(100.0)) == 1.0
    assert float(jax.grad(lambda z: ops.log(1 + ops.exp(z)))(100.0)) != 1.0  # nan without it
    assert float(jax.jit(jax.grad(my_softplus))(100.0)) == 1.0
    np.testing.assert_allclose(jax.vmap(jax.grad(my_softplus))(jnp.array([0.0, 100.0])),
                               [0.5, 1.0])
    assert float(my_softplus(0.0)) == pytest.approx(np.log(2.0))


def test_custom_gradient_with_variables_and_several_inputs():
    my_softplus = my_softplus_factory()
    v = lamina.Variable(100.0)
    _, grads = lamina.value_and_grad(lambda: my_softplus(v), [v])()
    assert float(grads[0]) == 1.0

    @ops.custom_gradient
    def product(x, y, n):
        def grad(g):
            return g * 2.0, g * 3.0, None  # deliberately not the true gradient

        return x * y * n, grad

    assert [float(g) for g in jax.grad(product, argnums=(0, 1))(1.0, 2.0, 3)] == [2.0, 3.0]


def test_custom_gradient_wrong_count_is_explained():
    @ops.custom_gradient
    def bad(x, y):
        return x * y, lambda g: g

    with pytest.raises(ValueError, match=r"returned 1 gradient\(s\) for 2 input\(s\)"):
        jax.grad(bad)(1.0, 2.0)


def test_stop_gradient():
    assert float(jax.grad(lambda x: ops.stop_gradient(x) * x)(3.0)) == 3.0


# ----------------------------------------------------------------------------- Variables

UNARY = ["exp", "abs", "square", "sqrt", "relu", "sigmoid", "softmax", "tanh", "sum", "mean",
         "max", "argmax", "cumsum", "transpose", "ravel", "sort", "negative", "log_softmax",
         "shape", "dtype", "convert_to_numpy", "stop_gradient", "ones_like", "logsumexp",
         "normalize", "round", "flip", "var", "unstack", "squeeze", "isnan", "norm"]
BINARY = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "equal",
          "less", "matmul", "dot", "where_like", "tensordot", "concatenate_like", "stack_like",
          "einsum_like", "arctan2", "logaddexp", "outer", "cdist", "binary_crossentropy"]


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_accept_variables(name):
    data = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    variable = lamina.Variable(data)
    op = getattr(ops, name)
    expected, actual = op(data), op(variable)
    if isinstance(expected, (tuple, list)):
        for a, e in zip(actual, expected):
            np.testing.assert_allclose(a, e)
    else:
        assert np.shape(actual) == np.shape(expected)
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


def _binary(name):
    if name == "where_like":
        return lambda a, b: ops.where(a > 1.5, a, b)
    if name == "concatenate_like":
        return lambda a, b: ops.concatenate([a, b], axis=1)
    if name == "stack_like":
        return lambda a, b: ops.stack([a, b])
    if name == "einsum_like":
        return lambda a, b: ops.einsum("ij,jk->ik", a, b)
    if name == "binary_crossentropy":
        return lambda a, b: ops.binary_crossentropy(a / 10, b / 10)
    return getattr(ops, name)


@pytest.mark.parametrize("name", BINARY)
def test_binary_ops_accept_variables(name):
    a = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    b = np.array([[0.5, 2.0], [1.0, 3.0]], "float32")
    op = _binary(name)
    expected = np.asarray(op(a, b))
    for args in ((lamina.Variable(a), b), (a, lamina.Variable(b)),
                 (lamina.Variable(a), lamina.Variable(b))):
        np.testing.assert_allclose(np.asarray(op(*args)), expected, rtol=1e-6)


def test_nn_and_control_flow_ops_accept_variables():
    x = lamina.Variable(np.ones((1, 5, 2), "float32"))
    kernel = lamina.Variable(np.ones((3, 2, 4), "float32"))
    np.testing.assert_allclose(ops.conv(x, kernel), np.full((1, 3, 4), 6.0))
    np.testing.assert_allclose(ops.max_pool(x, 2), np.ones((1, 2, 2)))
    labels = lamina.Variable(np.array([0, 2], "int32"))
    np.testing.assert_array_equal(ops.one_hot(labels, 3), np.eye(3)[[0, 2]])
    mean, _ = ops.moments(x, axes=(0, 1))
    np.testing.assert_allclose(mean, [1.0, 1.0])
    counter = lamina.Variable(0)
    assert int(ops.while_loop(lambda i: i < 3, lambda i: i + 1, counter)) == 3
    carry, _ = ops.scan(lambda c, v: (c + v, None), lamina.Variable(0.0), ops.ones(3))
    assert float(carry) == 3.0
    np.testing.assert_allclose(ops.slice(lamina.Variable(np.arange(4.0)), (1,), (2,)), [1, 2])
    values, _ = ops.top_k(lamina.Variable(np.array([1.0, 3.0, 2.0])), 1)
    assert float(values[0]) == 3.0


# ----------------------------------------------------------------------------- compilation


def _mixed_program(x, w):
    h = ops.relu(ops.matmul(x, w))
    h = ops.softmax(h, axis=-1)
    mean, variance = ops.moments(h, axes=0)
    images = ops.reshape(x, (2, 2, 2, 1))
    pooled = ops.max_pool(ops.conv(images, ops.ones((2, 2, 1, 1)), padding="same"), 2)
    looped = ops.fori_loop(0, 3, lambda i, v: v + ops.sum(h), 0.0)
    hot = ops.one_hot(ops.argmax(h, axis=-1), 3)
    return (ops.sum(mean) + ops.sum(variance) + ops.sum(pooled) + looped + ops.sum(hot)
            + ops.logsumexp(h) + ops.sum(ops.where(h > 0.3, h, 0.0)))


def test_ops_run_under_jax_jit_and_grad():
    x = np.arange(8.0, dtype="float32").reshape(2, 4) / 8
    w = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
    eager = _mixed_program(x, w)
    np.testing.assert_allclose(jax.jit(_mixed_program)(x, w), eager, rtol=1e-5)
    grads = jax.jit(jax.grad(_mixed_program, argnums=1))(x, w)
    assert grads.shape == w.shape and bool(jnp.all(jnp.isfinite(grads)))


def test_ops_run_inside_lamina_function():
    w = lamina.Variable(np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3))
    x = np.arange(8.0, dtype="float32").reshape(2, 4) / 8

    @lamina.function
    def step(x):
        loss, grads = lamina.value_and_grad(lambda: _mixed_program(x, w), [w])()
        w.assign_sub(0.1 * grads[0])
        return loss

    before = w.numpy()
    loss = step(x)
    np.testing.assert_allclose(loss, _mixed_program(x, before), rtol=1e-5)
    assert not np.allclose(w.numpy(), before)
