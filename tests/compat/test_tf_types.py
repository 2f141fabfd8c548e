"""DTypes, TensorShape, TensorSpec, Tensor, Variable and the runtime names of `tf`."""

import pickle
import sys

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import lamina
from lamina.compat import tf


# ----------------------------------------------------------------------------- dtypes
def test_dtype_attributes():
    assert tf.float32.name == "float32" and tf.float32.as_numpy_dtype is np.float32
    assert tf.bfloat16.as_numpy_dtype is ml_dtypes.bfloat16
    assert tf.float16.is_floating and not tf.float16.is_integer
    assert tf.int8.is_integer and not tf.int8.is_unsigned and tf.uint8.is_unsigned
    assert tf.bool.is_bool and tf.complex64.is_complex and tf.complex64.real_dtype == tf.float32
    assert (tf.int32.min, tf.int32.max, tf.uint8.max) == (-2**31, 2**31 - 1, 255)
    assert tf.float32.size == 4 and tf.double is tf.float64 and tf.half is tf.float16
    assert repr(tf.float32) == "tf.float32" and str(tf.float32) == "<dtype: 'float32'>"


def test_dtype_equality_and_conversion():
    assert tf.float32 == "float32" and tf.float32 == np.float32 and tf.float32 == jnp.float32
    assert tf.float32 == np.dtype("float32") and np.dtype("float32") == tf.float32
    assert tf.zeros(2).dtype == tf.float32 and tf.float32 != tf.int32
    assert tf.float32 != None  # noqa: E711
    assert {tf.float32: 1}["float32"] == 1
    assert np.dtype(tf.int16) == np.int16
    assert jnp.zeros(2, dtype=tf.bfloat16).dtype == jnp.bfloat16
    assert lamina.Variable(1.0, dtype=tf.float16).dtype == "float16"
    for value in ("float32", np.float32, np.dtype("float32"), jnp.float32, tf.float32, float):
        assert tf.dtypes.as_dtype(value) is tf.float32
    assert tf.as_dtype("double") is tf.float64 and tf.as_dtype("float") is tf.float32
    assert tf.dtypes.cast is tf.cast and tf.dtypes.float32 is tf.float32
    assert pickle.loads(pickle.dumps(tf.int32)) is tf.int32


def test_int64_is_int32_without_x64():
    # JAX keeps 64-bit types off unless asked; TF's int64 defaults follow JAX's choice.
    expected = "int64" if jax.config.jax_enable_x64 else "int32"
    assert tf.cast([1.0], tf.int64).dtype == expected
    assert tf.argmax([1.0, 2.0]).dtype == expected


# ----------------------------------------------------------------------------- TensorShape
def test_tensor_shape_behaves_like_a_tuple():
    shape = tf.TensorShape([None, 28, 28])
    assert shape[0] is None and shape[-1] == 28 and shape[1:] == (28, 28)
    assert isinstance(shape[1:], tf.TensorShape)
    assert list(shape) == [None, 28, 28] and len(shape) == 3 and shape.rank == 3
    assert shape == (None, 28, 28) and shape == [None, 28, 28] and shape != (1, 28, 28)
    assert shape.as_list() == [None, 28, 28] and shape.ndims == 3 and shape.dims == [None, 28, 28]
    assert repr(shape) == "TensorShape([None, 28, 28])" and str(shape) == "(None, 28, 28)"
    assert hash(tf.TensorShape([1, 2])) == hash(tf.TensorShape((1, 2)))
    assert tf.TensorShape([]) == () and bool(tf.TensorShape([]))
    assert tf.TensorShape(3) == (3,) and tf.TensorShape(np.int64(3)) == [3]


def test_tensor_shape_methods():
    shape = tf.TensorShape([2, None])
    assert shape.concatenate([4]) == (2, None, 4) and shape + (5,) == (2, None, 5)
    assert (1,) + shape == (1, 2, None)
    assert shape.num_elements() is None and tf.TensorShape([2, 3]).num_elements() == 6
    assert not shape.is_fully_defined() and tf.TensorShape([2, 3]).is_fully_defined()
    assert shape.is_compatible_with([2, 7]) and not shape.is_compatible_with([3, 7])
    assert shape.merge_with([None, 7]) == (2, 7)
    assert pickle.loads(pickle.dumps(shape)) == shape
    assert jnp.zeros(tf.TensorShape([2, 3])).shape == (2, 3)
    assert tf.zeros(tf.TensorShape([2, 3])).shape == (2, 3)
    assert tf.random.normal(tf.TensorShape([2, 3]), seed=0).shape == (2, 3)


def test_tensor_shape_unknown_rank():
    unknown = tf.TensorShape(None)
    assert unknown.rank is None and repr(unknown) == "TensorShape(None)" and not unknown
    assert unknown[0] is None and unknown.concatenate([2]) == tf.TensorShape(None)
    assert unknown.is_compatible_with([1, 2, 3])
    with pytest.raises(ValueError, match="unknown rank"):
        unknown.as_list()
    with pytest.raises(ValueError, match="unknown rank"):
        len(unknown)


def test_tensor_spec():
    spec = tf.TensorSpec([None, 3], tf.float32, name="x")
    assert spec.shape == (None, 3) and spec.dtype is tf.float32
    assert spec.is_compatible_with(tf.zeros((5, 3))) and not spec.is_compatible_with(
        tf.zeros((5, 4)))
    assert spec == tf.TensorSpec((None, 3), "float32", name="x")


# ----------------------------------------------------------------------------- Tensor
def test_tensor_isinstance():
    assert isinstance(tf.constant([1.0]), tf.Tensor) and isinstance(jnp.ones(2), tf.Tensor)
    assert not isinstance(np.ones(2), tf.Tensor) and not isinstance(1.0, tf.Tensor)
    assert not isinstance(lamina.Variable(1.0), tf.Tensor)  # as in TF
    seen = []
    jax.jit(lambda x: seen.append(isinstance(x, tf.Tensor)) or x)(1.0)
    assert seen == [True]
    assert tf.is_tensor(jnp.ones(1)) and tf.is_tensor(lamina.Variable(1.0))
    assert not tf.is_tensor([1.0])
    with pytest.raises(TypeError, match="tf.constant"):
        tf.Tensor()


# ----------------------------------------------------------------------------- Variable
def test_variable_with_tf_arguments():
    v = tf.Variable(initial_value=[1.0, 2.0], trainable=False, name="v", dtype=tf.float32)
    assert isinstance(v, lamina.Variable) and isinstance(v, tf.Variable)
    assert isinstance(lamina.Variable(1.0), tf.Variable) and not isinstance(1.0, tf.Variable)
    assert v.name == "v" and not v.trainable and v.dtype == "float32"
    assert v.assign_add(tf.constant([1.0, 1.0])).tolist() == [2.0, 3.0]
    assert tf.Variable(0.0).trainable and tf.Variable(0).dtype == "int32"
    assert tf.Variable(3, dtype=tf.float32).dtype == tf.float32
    assert tf.Variable(lambda: tf.zeros([2])).shape == (2,)
    assert tf.Variable(tf.zeros([2]), shape=tf.TensorShape(None)).shape == (2,)
    total = tf.Variable(0.0, synchronization=tf.VariableSynchronization.ON_READ,
                        aggregation=tf.VariableAggregation.SUM)
    assert total.aggregation == "sum" and not total.trainable
    with pytest.raises(ValueError, match="initial_value"):
        tf.Variable()


def test_variable_works_with_value_and_grad_and_function():
    w = tf.Variable([1.0, -2.0])
    loss, (grad,) = lamina.value_and_grad(lambda: tf.reduce_sum(tf.square(w)), [w])()
    assert float(loss) == 5.0 and grad.tolist() == [2.0, -4.0]
    step = tf.function(lambda: w.assign(tf.nn.relu(w)))
    step()
    assert w.numpy().tolist() == [1.0, 0.0]


# ----------------------------------------------------------------------------- runtime names
def test_custom_gradient_with_several_inputs_and_none_gradients():
    @tf.custom_gradient
    def scaled(x, scale):
        return x * scale, lambda dy: (dy * scale * 10.0, None)

    grads = jax.grad(lambda x, s: tf.reduce_sum(scaled(x, s)), argnums=(0, 1))(
        jnp.array([1.0, 2.0]), 3.0)
    assert grads[0].tolist() == [30.0, 30.0] and float(grads[1]) == 0.0

    @tf.custom_gradient
    def count_based(x, n):
        return x * n, lambda dy: (dy * n, None)

    assert float(jax.grad(count_based)(2.0, 3)) == 3.0


def test_custom_gradient_with_several_outputs():
    @tf.custom_gradient
    def both(x):
        return (x * 2.0, x * 3.0), lambda d2, d3: d2 + d3

    assert float(jax.grad(lambda x: sum(both(x)))(1.0)) == 2.0


def test_gradient_tape_explains_how_to_port():
    with pytest.raises(NotImplementedError) as info:
        tf.GradientTape()
    message = str(info.value)
    assert "keras.value_and_grad(compute_loss, model.trainable_variables)" in message
    assert "def compute_loss():" in message


def test_print_eager_and_inside_jit(capsys):
    tf.print("loss:", tf.constant([1, 2]), lamina.Variable(0.5))
    assert capsys.readouterr().err == "loss: [1 2] 0.5\n"
    jax.jit(lambda x: tf.print("x {=}", x, sep="|", output_stream=sys.stdout))(jnp.array(3.0))
    jax.effects_barrier()
    assert capsys.readouterr().out == "x {=}|3.0\n"
