import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina._runtime.naming import name_scope


def test_variable_reads_like_an_array():
    v = keras.Variable([1.0, 2.0], name="w")
    assert v.shape == (2,) and v.ndim == 1 and v.dtype == "float32"
    assert v.name == "w" and v.path == "w" and v.trainable
    np.testing.assert_allclose(v + 1, [2.0, 3.0])
    np.testing.assert_allclose(1 - v, [0.0, -1.0])
    np.testing.assert_allclose(v * v, [1.0, 4.0])
    np.testing.assert_allclose(v @ v, 5.0)
    np.testing.assert_allclose(np.asarray(v), [1.0, 2.0])
    np.testing.assert_allclose(jnp.sum(v), 3.0)
    np.testing.assert_allclose(jax.nn.relu(-v), [0.0, 0.0])
    np.testing.assert_allclose(jnp.concatenate([v, v]), [1, 2, 1, 2])
    np.testing.assert_allclose(np.array([1.0, 1.0]) + v, [2.0, 3.0])
    assert float(v[1]) == 2.0 and len(v) == 2
    assert isinstance(v.numpy(), np.ndarray)


def test_default_dtypes_follow_keras():
    assert keras.Variable(1.0).dtype == "float32"
    assert keras.Variable(np.float64(1.0)).dtype == "float32"
    assert keras.Variable(np.zeros(3)).dtype == "float32"
    assert keras.Variable(0).dtype == "int32"
    assert keras.Variable(True).dtype == "bool"
    assert keras.Variable(jnp.zeros(2, jnp.float16)).dtype == "float16"
    assert keras.Variable(1, dtype="float32").dtype == "float32"


def test_assign_family_returns_new_value():
    v = keras.Variable(1.0)
    assert float(v.assign(5.0)) == 5.0
    assert float(v.assign_add(2.0)) == 7.0
    assert float(v.assign_sub(3.0)) == 4.0
    assert float(v.numpy()) == 4.0
    counter = keras.Variable(0)
    counter.assign_add(1)
    assert counter.dtype == "int32" and int(counter.numpy()) == 1


def test_assign_converts_precision_within_a_kind():
    v = keras.Variable(np.zeros(2, np.float32))
    v.assign(np.array([1.5, 2.5], np.float64))
    assert v.value.dtype == jnp.float32
    v.assign(jnp.asarray([1, 2], jnp.int32))  # ints fit in a float
    np.testing.assert_allclose(v.numpy(), [1.0, 2.0])


def test_assign_wrong_shape_names_variable_and_leaves_it_unchanged():
    with name_scope("dense"):
        v = keras.Variable(np.ones((2, 3)), name="kernel")
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*'dense/kernel' of shape \(2, 3\)"):
        v.assign(np.zeros((3, 2)))
    np.testing.assert_allclose(v.numpy(), np.ones((2, 3)))


def test_assign_lossy_dtype_is_refused():
    counter = keras.Variable(0, name="steps")
    with pytest.raises(TypeError, match="float32.*'steps' of dtype int32.*cast"):
        counter.assign(jnp.asarray(1.5))
    with pytest.raises(TypeError, match="'steps'"):
        counter.assign(2.5)
    counter.assign(3.0)  # an exact integer is fine
    assert int(counter.numpy()) == 3


def test_assign_garbage_is_refused():
    v = keras.Variable(0.0, name="x")
    with pytest.raises(TypeError, match="'x'"):
        v.assign("hello")
    assert float(v.numpy()) == 0.0


def test_name_and_path():
    with name_scope("model"), name_scope("dense"):
        v = keras.Variable(0.0, name="bias")
    assert v.name == "bias" and v.path == "model/dense/bias"
    with pytest.raises(ValueError, match="without '/'"):
        keras.Variable(0.0, name="a/b")


def test_constraint_and_trainable_attributes():
    clip = lambda w: jnp.clip(w, 0, 1)  # noqa: E731
    v = keras.Variable(0.5, trainable=False, constraint=clip)
    assert v.trainable is False and v.constraint is clip
    v.trainable = True
    assert v.trainable


def test_callable_initializer_needs_shape_and_must_honour_it():
    v = keras.Variable(lambda shape, dtype: jnp.ones(shape, dtype), shape=(2, 2))
    np.testing.assert_allclose(v.numpy(), np.ones((2, 2)))
    with pytest.raises(ValueError, match="needs a shape"):
        keras.Variable(lambda shape, dtype: jnp.ones(shape, dtype))
    with pytest.raises(ValueError, match=r"returned shape \(3,\), expected \(2,\)"):
        keras.Variable(lambda shape, dtype: jnp.ones((3,), dtype), shape=(2,), name="w")


def test_assigning_a_tracer_outside_a_scope_is_an_error():
    v = keras.Variable(1.0, name="leaky")

    @jax.jit
    def leak(x):
        v.assign(x)
        return x

    with pytest.raises(RuntimeError, match="'leaky'.*keras.function"):
        leak(2.0)
    assert float(v.numpy()) == 1.0


def test_repr_mentions_path_shape_dtype():
    text = repr(keras.Variable(np.zeros(2), name="b"))
    assert "path=b" in text and "shape=(2,)" in text and "float32" in text


def test_variable_keeps_the_value_a_numpy_array_had_when_it_was_assigned():
    # jax.device_put copies host data asynchronously; changing the source array right after
    # the assignment must not reach the variable (large enough for the copy to take time).
    source = np.ones((1024, 1024), np.float32)
    variable = keras.Variable(source)
    source[:] = 0.0
    variable.assign(np.full((1024, 1024), 2.0, np.float32))
    other = np.full((1024, 1024), 3.0, np.float32)
    for _ in range(3):
        other[:] = 3.0
        variable.assign(other)
        other[:] = -1.0
        assert float(jnp.min(variable.value)) == 3.0
