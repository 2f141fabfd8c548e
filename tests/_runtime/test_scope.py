import threading

import jax
import jax.numpy as jnp
import numpy as np

import lamina as keras
from lamina._runtime.scope import StateScope, current_scope, run_pure


def test_scope_reads_and_collects_without_touching_variables():
    v = keras.Variable(1.0)
    with StateScope([(v, 5.0)]) as scope:
        assert float(v.value) == 5.0
        v.assign_add(1.0)
        assert float(v.value) == 6.0
    assert float(scope.get(v)) == 6.0
    assert float(v.numpy()) == 1.0
    assert [var for var, _ in scope.assigned()] == [v]


def test_transparent_scope_falls_back_to_parent_and_variable():
    a, b = keras.Variable(1.0), keras.Variable(2.0)
    with StateScope([(a, 10.0)]):
        with StateScope([(b, 20.0)]):
            assert float(a.value) == 10.0 and float(b.value) == 20.0
        assert float(b.value) == 2.0


def test_run_pure_is_a_pure_function_of_values():
    total = keras.Variable(0.0)
    count = keras.Variable(0.0)

    def update(x):
        total.assign_add(jnp.sum(x))
        count.assign_add(x.shape[0])
        return total / count

    @jax.jit
    def pure(values, x):
        return run_pure([total, count], values, update, x)

    out, new = pure((jnp.float32(2.0), jnp.float32(1.0)), jnp.array([4.0, 6.0]))
    assert float(out) == 4.0
    np.testing.assert_allclose([float(v) for v in new], [12.0, 3.0])
    assert float(total.numpy()) == 0.0  # the Variables never saw the traced values


def test_keras_stateless_scope_signature():
    v = keras.Variable(1.0)
    with keras.StatelessScope(state_mapping=[(v, 3.0)]) as scope:
        v.assign(v * 2)
    assert float(scope.get_current_value(v)) == 6.0
    assert float(v.numpy()) == 1.0


def test_scopes_are_per_thread():
    v = keras.Variable(0.0)
    seen = []
    with StateScope([(v, 7.0)]):
        thread = threading.Thread(target=lambda: seen.append((current_scope(), float(v.value))))
        thread.start()
        thread.join()
    assert seen == [(None, 0.0)]
