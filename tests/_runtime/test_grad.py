import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras


def _book_f(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


def test_book_example_value_and_gradients():
    w1, w2 = keras.Variable(5.0), keras.Variable(3.0)
    value, grads = keras.value_and_grad(lambda: _book_f(w1, w2), [w1, w2])()
    assert float(value) == 105.0
    assert [float(g) for g in grads] == [36.0, 10.0]


def test_arguments_are_passed_through_and_grad_returns_only_gradients():
    w1, w2 = keras.Variable(5.0), keras.Variable(3.0)
    grads = keras.grad(_book_f, [w1, w2])(w1, w2)
    assert [float(g) for g in grads] == [36.0, 10.0]
    single = keras.grad(lambda: w1 ** 2, w1)()
    assert float(single) == 10.0


def test_gradients_inside_a_compiled_function():
    w1, w2 = keras.Variable(5.0), keras.Variable(3.0)

    @keras.function
    def step():
        value, grads = keras.value_and_grad(lambda: _book_f(w1, w2), [w1, w2])()
        w1.assign_sub(0.01 * grads[0])
        w2.assign_sub(0.01 * grads[1])
        return value

    assert float(step()) == 105.0
    assert float(w1.numpy()) == pytest.approx(5.0 - 0.36)
    assert float(w2.numpy()) == pytest.approx(3.0 - 0.10)


def test_assignments_inside_the_loss_take_effect():
    w = keras.Variable(2.0)
    calls = keras.Variable(0)
    running = keras.Variable(0.0)

    def loss():
        calls.assign_add(1)
        running.assign(0.9 * running + 0.1 * w)
        return w ** 2

    value, (g,) = keras.value_and_grad(loss, [w])()
    assert float(g) == 4.0
    assert int(calls.numpy()) == 1 and float(running.numpy()) == pytest.approx(0.2)

    compiled = keras.function(lambda: keras.value_and_grad(loss, [w])()[0])
    compiled()
    compiled()
    assert int(calls.numpy()) == 3


def test_has_aux():
    w = keras.Variable(3.0)
    (value, aux), grads = keras.value_and_grad(lambda: (w ** 2, {"double": 2 * w}), [w],
                                               has_aux=True)()
    assert float(value) == 9.0 and float(aux["double"]) == 6.0 and float(grads[0]) == 6.0
    grads, aux = keras.grad(lambda: (w ** 2, w), [w], has_aux=True)()
    assert float(aux) == 3.0


def test_second_order_gradients():
    w = keras.Variable(3.0)

    def first_derivative():
        return keras.grad(lambda: w ** 3, [w])()[0]  # 3 w^2

    second = keras.grad(first_derivative, [w])()[0]  # 6 w
    assert float(second) == 18.0

    @keras.function
    def compiled_second():
        return keras.grad(first_derivative, [w])()[0]

    assert float(compiled_second()) == 18.0


def test_gradient_matches_jax_on_a_small_network():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    kernel = keras.Variable(rng.normal(size=(3, 2)).astype(np.float32))
    bias = keras.Variable(np.zeros(2, np.float32))

    def loss():
        return jnp.mean(jnp.tanh(x @ kernel + bias) ** 2)

    _, grads = keras.value_and_grad(loss, [kernel, bias])()
    expected = jax.grad(lambda k, b: jnp.mean(jnp.tanh(x @ k + b) ** 2), argnums=(0, 1))(
        kernel.value, bias.value)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_non_scalar_loss_is_refused_and_state_is_unchanged():
    w = keras.Variable(jnp.ones(3), name="w")
    calls = keras.Variable(0)

    def loss():
        calls.assign_add(1)
        return w * 2

    with pytest.raises(ValueError, match=r"scalar.*shape \(3,\).*ops.mean"):
        keras.value_and_grad(loss, [w])()
    assert int(calls.numpy()) == 0


def test_only_variables_can_be_differentiated():
    with pytest.raises(TypeError, match="item 1 of `variables` is a ArrayImpl"):
        keras.value_and_grad(lambda: 0.0, [keras.Variable(1.0), jnp.ones(2)])
    with pytest.raises(TypeError, match="'steps' of dtype int32"):
        keras.grad(lambda: 0.0, [keras.Variable(0, name="steps")])
    with pytest.raises(TypeError, match="list of Variables"):
        keras.grad(lambda: 0.0, 3.0)


def test_integer_loss_is_refused():
    w = keras.Variable(1.0)
    with pytest.raises(TypeError, match="dtype int32.*cast"):
        keras.grad(lambda: jnp.int32(3), [w])()
