"""Listings from the book's chapter 12, with only the imports changed."""

import jax
import jax.numpy as jnp
import numpy as np

import lamina
import lamina as keras
from lamina.compat import tf


def huber_fn(y_true, y_pred):
    error = y_true - y_pred
    is_small_error = tf.abs(error) < 1
    squared_loss = tf.square(error) / 2
    linear_loss = tf.abs(error) - 0.5
    return tf.where(is_small_error, squared_loss, linear_loss)


def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < threshold
        squared_loss = tf.square(error) / 2
        linear_loss = threshold * tf.abs(error) - threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)
    return huber_fn


def my_softplus(z):
    return tf.math.log(tf.exp(z) + 1.0)


def my_glorot_initializer(shape, dtype=tf.float32):
    stddev = tf.sqrt(2. / (shape[0] + shape[1]))
    return tf.random.normal(shape, stddev=stddev, dtype=dtype)


def my_l1_regularizer(weights):
    return tf.reduce_sum(tf.abs(0.01 * weights))


def my_positive_weights(weights):
    return tf.where(weights < 0., tf.zeros_like(weights), weights)


class MyL1Regularizer:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, weights):
        return tf.reduce_sum(tf.abs(self.factor * weights))


def test_huber_fn_exact_values(in_all_modes):
    y_true = np.array([[0.0], [1.0], [2.0], [-1.0]], np.float32)
    y_pred = np.array([[0.5], [3.0], [2.0], [0.5]], np.float32)
    loss = in_all_modes(huber_fn, y_true, y_pred)
    np.testing.assert_array_equal(np.asarray(loss), [[0.125], [1.5], [0.0], [1.0]])
    assert loss.dtype == tf.float32


def test_create_huber_threshold_matches_numpy():
    y_true = np.linspace(-3, 3, 13).astype(np.float32)
    y_pred = np.zeros(13, np.float32)
    error = np.abs(y_true - y_pred)
    expected = np.where(error < 2.0, error ** 2 / 2, 2.0 * error - 2.0)
    np.testing.assert_allclose(create_huber(2.0)(y_true, y_pred), expected, rtol=1e-6)


def test_my_softplus_matches_numpy(in_all_modes):
    z = np.array([-3.0, 0.0, 2.5], np.float32)
    np.testing.assert_allclose(in_all_modes(my_softplus, z), np.log1p(np.exp(z)), rtol=1e-6)


def test_my_glorot_initializer_shape_dtype_scale_and_seed():
    tf.random.set_seed(42)
    kernel = my_glorot_initializer((200, 300))
    tf.random.set_seed(42)
    again = my_glorot_initializer((200, 300))
    assert kernel.shape == (200, 300) and kernel.dtype == tf.float32
    np.testing.assert_array_equal(kernel, again)
    assert abs(float(jnp.std(kernel)) / np.sqrt(2 / 500) - 1) < 0.03
    assert my_glorot_initializer(tf.TensorShape([3, 4]), dtype=tf.float16).dtype == "float16"


def test_glorot_initializer_as_a_variable_initializer():
    variable = keras.Variable(my_glorot_initializer, shape=(3, 4), name="kernel")
    assert variable.shape == (3, 4)


def test_my_l1_regularizer_on_variable(in_all_modes):
    weights = np.array([[1.0, -2.0], [0.5, -0.25]], np.float32)
    np.testing.assert_allclose(in_all_modes(my_l1_regularizer, weights),
                               0.01 * np.abs(weights).sum(), rtol=1e-6)
    np.testing.assert_allclose(MyL1Regularizer(0.1)(keras.Variable(weights)),
                               0.1 * np.abs(weights).sum(), rtol=1e-6)


def test_my_positive_weights_on_variable(in_all_modes):
    weights = np.array([[1.0, -2.0], [-0.5, 3.0]], np.float32)
    np.testing.assert_array_equal(in_all_modes(my_positive_weights, weights),
                                  np.maximum(weights, 0))


class HuberMetricState:
    """The state updates of the book's HuberMetric, on plain Variables."""

    def __init__(self, threshold=1.0):
        self.huber_fn = create_huber(threshold)
        self.total = keras.Variable(0.0, name="total")
        self.count = keras.Variable(0.0, name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        metric = self.huber_fn(y_true, y_pred)
        self.total.assign_add(tf.reduce_sum(metric))
        self.count.assign_add(tf.cast(tf.size(y_true), tf.float32))

    def result(self):
        return self.total / self.count


def test_huber_metric_update_state_eager_and_compiled():
    y_true = np.array([[0.0], [1.0]], np.float32)
    y_pred = np.array([[0.5], [3.0]], np.float32)
    metric = HuberMetricState()
    metric.update_state(y_true, y_pred)
    update = lamina.function(metric.update_state)
    update(y_true, y_pred)
    update(y_true, y_pred)
    assert float(metric.count.value) == 6.0
    np.testing.assert_allclose(metric.result(), (0.125 + 1.5) / 2, rtol=1e-6)
    assert tf.cast(tf.size(y_true), tf.float32).dtype == tf.float32


def test_my_dense_compute_output_shape():
    def compute_output_shape(batch_input_shape, units=10):
        return tf.TensorShape(batch_input_shape.as_list()[:-1] + [units])

    shape = compute_output_shape(tf.TensorShape([None, 8]))
    assert shape == (None, 10) and shape == [None, 10]
    assert shape.as_list() == [None, 10] and shape.rank == 2 and len(shape) == 2
    assert repr(shape) == "TensorShape([None, 10])" and str(shape) == "(None, 10)"
    assert compute_output_shape(tf.TensorShape([32, 5, 8])) == (32, 5, 10)


def test_my_multi_layer_math(in_all_modes):
    x1 = np.array([[1.0, 2.0]], np.float32)
    x2 = np.array([[4.0, 8.0]], np.float32)
    outputs = in_all_modes(lambda a, b: [a + b, a * b, a / b], x1, x2)
    np.testing.assert_allclose(outputs[2], x1 / x2)


def test_layer_normalization_with_moments(in_all_modes):
    eps = 0.001
    alpha = keras.Variable(np.array([1.0, 2.0, 0.5], np.float32), name="alpha")
    beta = keras.Variable(np.array([0.0, 1.0, -1.0], np.float32), name="beta")

    def layer_norm(X):
        mean, variance = tf.nn.moments(X, axes=-1, keepdims=True)
        std = tf.sqrt(variance + eps)
        return alpha * (X - mean) / std + beta

    X = np.array([[1.0, 2.0, 4.0], [-1.0, 0.0, 3.0]], np.float32)
    expected = (np.asarray(alpha) * (X - X.mean(-1, keepdims=True))
                / np.sqrt(X.var(-1, keepdims=True) + eps) + np.asarray(beta))
    # The book's code broadcasts alpha (3,) against X (2, 3) implicitly, as TF allows.
    with jax.numpy_rank_promotion("allow"):
        result = in_all_modes(layer_norm, X)
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=1e-6)


@tf.custom_gradient
def my_better_softplus(z):
    exp = tf.exp(z)

    def my_softplus_gradients(grad):
        return grad / (1 + 1 / exp)

    return tf.math.log(exp + 1), my_softplus_gradients


def test_custom_gradient_softplus_at_100_is_one_where_plain_formula_is_nan():
    z = keras.Variable(100.0, name="z")
    _, (plain,) = keras.value_and_grad(lambda: my_softplus(z), [z])()
    _, (better,) = keras.value_and_grad(lambda: my_better_softplus(z), [z])()
    assert np.isnan(float(plain))
    assert float(better) == 1.0
    assert float(jax.jit(jax.grad(my_better_softplus))(100.0)) == 1.0
    compiled = lamina.function(lambda: keras.value_and_grad(lambda: my_better_softplus(z), [z])())
    assert float(compiled()[1][0]) == 1.0


def test_custom_gradient_matches_true_gradient_where_finite():
    z = jnp.array([-2.0, 0.0, 3.0])
    grads = jax.vmap(jax.grad(my_better_softplus))(z)
    np.testing.assert_allclose(grads, 1 / (1 + np.exp(-np.asarray(z))), rtol=1e-6)
    np.testing.assert_allclose(my_better_softplus(z), np.log1p(np.exp(z)), rtol=1e-6)


def test_tf_function_cube():
    def cube(x):
        return x ** 3

    tf_cube = tf.function(cube)
    assert tf_cube(2) == 8
    result = tf_cube(tf.constant(2.0))
    assert result == 8.0 and result.dtype == tf.float32


def test_tf_function_decorator_with_tf_arguments():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)], jit_compile=True,
                 reduce_retracing=True)
    def square_sum(x):
        return tf.reduce_sum(tf.square(x))

    assert float(square_sum(tf.constant([1.0, 2.0]))) == 5.0
