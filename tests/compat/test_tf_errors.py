"""Bad input gives errors that say what was expected, what was received, and how to fix it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lamina.compat import tf

X = np.zeros((2, 3), np.float32)


def test_reshape_to_incompatible_shape():
    with pytest.raises(ValueError, match=r"shape \(2, 3\) \(6 elements\) into shape \[4, -1\]"):
        tf.reshape(X, [4, -1])
    with pytest.raises(ValueError, match="at most one -1"):
        tf.reshape(X, [-1, -1])


def test_concat_and_stack_mismatches():
    with pytest.raises(ValueError, match=r"same rank.*\[\(2, 3\), \(3,\)\].*tf.expand_dims"):
        tf.concat([X, np.zeros(3)], axis=0)
    with pytest.raises(ValueError, match="all other dimensions must match"):
        tf.concat([X, np.zeros((2, 4))], axis=0)
    with pytest.raises(ValueError, match=r"axis 2 is out of range for a tensor of rank 2"):
        tf.concat([X, X], axis=2)
    with pytest.raises(ValueError, match="same shape"):
        tf.stack([X, np.zeros((3, 2))])


def test_unknown_dtype_names():
    with pytest.raises(TypeError, match="Did you mean 'float32'"):
        tf.cast(X, "flaot32")
    with pytest.raises(TypeError, match="no JAX equivalent"):
        tf.as_dtype("string")
    with pytest.raises(TypeError, match="tf.float32"):
        tf.zeros([2], dtype=object())


def test_shape_argument_errors():
    with pytest.raises(TypeError, match="must be known when the function is traced"):
        jax.jit(lambda n: tf.zeros([n, 2]))(3)
    with pytest.raises(ValueError, match="unknown \\(None\\) dimension"):
        tf.zeros([None, 2])
    with pytest.raises(ValueError, match=">= 0"):
        tf.TensorShape([-1])


def test_squeeze_split_tile_transpose():
    with pytest.raises(ValueError, match="cannot squeeze axis 1 .* its size is 3, not 1"):
        tf.squeeze(X, axis=1)
    with pytest.raises(ValueError, match="cannot divide axis 1 of size 3 into 2 equal parts"):
        tf.split(X, 2, axis=1)
    with pytest.raises(ValueError, match="do not add up"):
        tf.split(X, [1, 1], axis=1)
    with pytest.raises(ValueError, match="one multiple per dimension"):
        tf.tile(X, [2])
    with pytest.raises(ValueError, match="permutation of range\\(2\\)"):
        tf.transpose(X, perm=[0, 0])


def test_value_dependent_shapes_under_jit():
    with pytest.raises(TypeError, match=r"tf.where\(mask, x, tf.zeros_like\(x\)\)"):
        jax.jit(lambda x: tf.boolean_mask(x, x > 0))(jnp.ones(3))
    with pytest.raises(TypeError, match=r"tf.where\(condition, x, y\)"):
        jax.jit(lambda x: tf.where(x > 0))(jnp.ones(3))
    with pytest.raises(TypeError, match="unsorted_segment_sum"):
        jax.jit(lambda ids: tf.math.segment_sum(jnp.ones(3), ids))(jnp.array([0, 0, 1]))
    with pytest.raises(ValueError, match="both x and y, or neither"):
        tf.where(X > 0, X)
    with pytest.raises(ValueError, match="mask's shape"):
        tf.boolean_mask(X, [True, False, True])


def test_math_errors():
    with pytest.raises(ValueError, match="inner dimensions do not match"):
        tf.matmul(X, X)
    with pytest.raises(ValueError, match="same shape.*tf.add for broadcasting"):
        tf.add_n([X, np.zeros(3)])
    with pytest.raises(ValueError, match="at least one tensor"):
        tf.add_n([])
    with pytest.raises(ValueError, match="ord='fro' is a matrix norm"):
        tf.norm(X, ord="fro", axis=0)
    with pytest.raises(ValueError, match="out of range"):
        tf.reduce_sum(X, axis=2)


def test_nn_errors():
    with pytest.raises(ValueError, match="labels must have the shape of logits without its"):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[[0, 1]], logits=X)
    with pytest.raises(ValueError, match="same shape"):
        tf.nn.sigmoid_cross_entropy_with_logits(labels=X, logits=X[0])
    images = np.zeros((1, 4, 4, 3), np.float32)
    with pytest.raises(ValueError, match="expect 2 input channels .* the input has 3"):
        tf.nn.conv2d(images, np.zeros((3, 3, 2, 4), np.float32), 1, "SAME")
    with pytest.raises(ValueError, match="expects a rank-4 input"):
        tf.nn.conv2d(X, np.zeros((3, 3, 2, 4), np.float32), 1, "SAME")
    with pytest.raises(ValueError, match="padding must be 'SAME', 'VALID'"):
        tf.nn.max_pool2d(images, 2, 2, "FULL")
    with pytest.raises(ValueError, match="data_format must be one of"):
        tf.nn.avg_pool2d(images, 2, 2, "SAME", data_format="HWC")
    with pytest.raises(ValueError, match="one entry per channel"):
        tf.nn.bias_add(images, [1.0, 2.0])
    with pytest.raises(ValueError, match="needs maxval"):
        tf.random.uniform([2], dtype=tf.int32)
    with pytest.raises(ValueError, match="direction must be"):
        tf.sort([1, 2], direction="UP")


def test_custom_gradient_misuse():
    @tf.custom_gradient
    def no_grad_fn(x):
        return x

    with pytest.raises(TypeError, match=r"must return \(output, grad_fn\)"):
        no_grad_fn(1.0)

    @tf.custom_gradient
    def too_many(x):
        return x, lambda dy: (dy, dy)

    with pytest.raises(ValueError, match="returned 2 gradient\\(s\\) for 1 input\\(s\\)"):
        jax.grad(too_many)(1.0)

    with pytest.raises(NotImplementedError, match="variables"):
        tf.custom_gradient(lambda x, variables=None: (x, None))


def test_function_input_signature_must_hold_tensor_specs():
    with pytest.raises(TypeError, match="list of tf.TensorSpec"):
        tf.function(lambda x: x, input_signature=[(None, 3)])
