import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras


def test_counter_passed_as_argument_as_in_the_book():
    counter = keras.Variable(0)

    @keras.function
    def increment(counter, c=1):
        return counter.assign_add(c)

    increment(counter)
    assert int(counter.numpy()) == 1
    increment(counter)
    assert int(counter.numpy()) == 2
    assert int(increment(counter, 5)) == 7


def test_closed_over_variables_are_carried_without_arguments():
    total = keras.Variable(0.0)
    scale = keras.Variable(2.0)

    @keras.function
    def accumulate(x):
        total.assign_add(jnp.sum(x) * scale)
        return total

    accumulate(jnp.ones(3))
    out = accumulate(jnp.ones(3))
    assert float(out) == 12.0 and float(total.numpy()) == 12.0
    assert float(scale.numpy()) == 2.0
    assert set(map(id, accumulate.carried_variables)) == {id(total), id(scale)}
    scale.assign(10.0)  # eager changes are seen by the next call: values are inputs
    assert float(accumulate(jnp.ones(3))) == 42.0


def test_cube_and_tracing_rules():
    traces = []

    def cube(x):
        traces.append(1)  # a Python side effect: runs only while tracing
        return x ** 3

    tf_cube = keras.function(cube)
    out = tf_cube(2)
    assert int(out) == 8 and out.dtype == jnp.int32
    assert float(tf_cube(jnp.asarray(2.0))) == 8.0
    assert tf_cube.tracing_count == 2  # int and float32 inputs: two signatures
    tf_cube(3)
    tf_cube(jnp.asarray(5.0))  # new values: no retrace
    assert tf_cube.tracing_count == 2 and len(traces) == 2
    tf_cube(jnp.ones((3,)))  # new shape: retrace
    tf_cube(jnp.ones((3,), jnp.int32))  # new dtype: retrace
    assert tf_cube.tracing_count == 4
    tf_cube(jnp.zeros((3,)))
    assert tf_cube.tracing_count == 4


def test_python_bools_and_strings_select_a_trace():
    @keras.function
    def f(x, training=False, mode="sum"):
        y = x * 2 if training else x
        return jnp.sum(y) if mode == "sum" else jnp.max(y)

    x = jnp.array([1.0, 3.0])
    assert float(f(x)) == 4.0
    assert float(f(x, training=True)) == 8.0
    assert float(f(x, mode="max")) == 3.0


def test_static_argnames_for_python_loops():
    v = keras.Variable(0)

    @keras.function(static_argnames="n")
    def repeat(n):
        for _ in range(n):
            v.assign_add(1)
        return v

    repeat(n=3)
    repeat(n=3)
    assert int(v.numpy()) == 6 and repeat.tracing_count == 2


class _LazyDense:
    """A stand-in for a lazily built layer: creates its weights on first call."""

    def __init__(self, units):
        self.units = units
        self.kernel = None

    def __call__(self, x):
        if self.kernel is None:
            self.kernel = keras.Variable(
                lambda shape, dtype: jnp.ones(shape, dtype), shape=(x.shape[-1], self.units),
                name="kernel")
        return x @ self.kernel


def test_variables_created_on_first_call_are_created_once_and_carried():
    layer = _LazyDense(2)

    @keras.function
    def forward(x):
        return layer(x)

    np.testing.assert_allclose(forward(jnp.ones((1, 3))), [[3.0, 3.0]])
    kernel = layer.kernel
    assert not isinstance(kernel.value, __import__("jax").core.Tracer)
    kernel.assign(jnp.full((3, 2), 2.0))
    np.testing.assert_allclose(forward(jnp.ones((1, 3))), [[6.0, 6.0]])
    assert layer.kernel is kernel


def test_slots_created_and_updated_in_the_first_call():
    w = keras.Variable(1.0)
    slots = {}

    @keras.function
    def momentum_step(g):
        if "m" not in slots:
            slots["m"] = keras.Variable(lambda shape, dtype: jnp.zeros(shape, dtype),
                                        shape=w.shape, name="m")
        m = slots["m"]
        m.assign(0.9 * m + g)
        w.assign_sub(0.1 * m)
        return w

    momentum_step(jnp.float32(1.0))
    momentum_step(jnp.float32(1.0))
    assert float(slots["m"].numpy()) == pytest.approx(1.9)
    assert float(w.numpy()) == pytest.approx(1.0 - 0.1 - 0.19)


def test_creating_variables_on_a_later_call_is_an_error():
    made = []

    @keras.function
    def make(x):
        made.append(keras.Variable(0.0, name=f"v{len(made)}"))
        return x + made[-1]

    with pytest.raises(ValueError, match="only while it is first traced.*outside the function"):
        make(1.0)


def test_variable_from_traced_value_is_an_error():
    @keras.function
    def bad(x):
        return keras.Variable(x * 2, name="from_input")

    with pytest.raises(ValueError, match="'from_input'.*traced value"):
        bad(jnp.ones(2))


def test_error_inside_compiled_function_leaves_variables_unchanged():
    v = keras.Variable(1.0)
    w = keras.Variable(jnp.zeros(2), name="w")

    @keras.function
    def step(x):
        v.assign_add(1.0)
        w.assign(x)  # wrong shape for a (3,) input
        return v

    step(jnp.ones(2))
    assert float(v.numpy()) == 2.0
    with pytest.raises(ValueError, match="'w' of shape \\(2,\\)"):
        step(jnp.ones(3))
    assert float(v.numpy()) == 2.0


def test_unsupported_argument_type_names_the_argument():
    @keras.function
    def f(x, options):
        return x

    with pytest.raises(TypeError, match=r"argument 'options'.*set"):
        f(1.0, options={1, 2})
    with pytest.raises(TypeError, match=r"argument 1\[0\].*set"):
        f(1.0, [{3}])


def test_returning_a_variable_returns_its_new_value_and_strings_are_refused():
    v = keras.Variable(1.0)

    @keras.function
    def f():
        v.assign(3.0)
        return v

    assert float(f()) == 3.0

    @keras.function
    def g():
        return "text"

    with pytest.raises(TypeError, match="returned a value of type str"):
        g()


def test_eager_mode_runs_python_each_call_and_is_all_or_nothing():
    v = keras.Variable(0.0)
    calls = []

    @keras.function(jit_compile=False)
    def step(x, fail=False):
        calls.append(float(x))  # real values: eager
        v.assign_add(x)
        if fail:
            raise RuntimeError("boom")
        return v

    step(1.0)
    step(2.0)
    assert calls == [1.0, 2.0] and float(v.numpy()) == 3.0
    with pytest.raises(RuntimeError):
        step(5.0, fail=True)
    assert float(v.numpy()) == 3.0


def test_nested_functions_share_state():
    v = keras.Variable(0.0)

    @keras.function
    def inner(x):
        return v.assign_add(x)

    @keras.function
    def outer(x):
        inner(x)
        return inner(x)

    assert float(outer(1.0)) == 2.0
    assert float(inner(1.0)) == 3.0
    assert float(v.numpy()) == 3.0


def test_decorated_method_is_per_instance():
    class Counter:
        def __init__(self):
            self.count = keras.Variable(0)

        @keras.function
        def tick(self):
            return self.count.assign_add(1)

    a, b = Counter(), Counter()
    a.tick()
    a.tick()
    b.tick()
    assert int(a.count.numpy()) == 2 and int(b.count.numpy()) == 1


def test_keras_function_rejects_non_callables():
    with pytest.raises(TypeError, match="expects a callable"):
        keras.function(3)
