"""The Layer protocol, exercised with the seed's listings and small custom layers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.compat import tf


class MyDense(keras.layers.Layer):
    """The seed's listing, imports aside."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=[batch_input_shape[-1], self.units],
            initializer="glorot_normal")
        self.bias = self.add_weight(
            name="bias", shape=[self.units], initializer="zeros")
        super().build(batch_input_shape)  # must be at the end

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def compute_output_shape(self, batch_input_shape):
        return tf.TensorShape(batch_input_shape.as_list()[:-1] + [self.units])

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


class MyMultiLayer(keras.layers.Layer):
    def call(self, X):
        X1, X2 = X
        return [X1 + X2, X1 * X2, X1 / X2]

    def compute_output_shape(self, batch_input_shape):
        b1, b2 = batch_input_shape
        return [b1, b1, b1]


def test_my_dense_builds_lazily_once_and_computes():
    layer = MyDense(3, activation="relu", name="my_dense")
    assert not layer.built and layer.weights == []
    x = np.ones((2, 4), np.float32)
    y = layer(x)
    assert layer.built and y.shape == (2, 3)
    assert [v.path for v in layer.weights] == ["my_dense/kernel", "my_dense/bias"]
    kernel = layer.kernel
    layer(x)
    assert layer.kernel is kernel  # built once
    expected = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert layer.count_params() == 4 * 3 + 3


def test_my_dense_config_round_trip_and_output_shape():
    layer = MyDense(5, activation="selu", name="d")
    config = layer.get_config()
    assert config["units"] == 5 and config["activation"] == "selu" and config["name"] == "d"
    clone = MyDense.from_config(config)
    assert clone.units == 5 and clone.name == "d"
    assert tuple(layer.compute_output_shape(keras.layers.symbolic.ShapeTuple((None, 3)))) == \
        (None, 5)


def test_multi_input_multi_output_layer():
    a, b = jnp.array([[2.0]]), jnp.array([[4.0]])
    out = MyMultiLayer()((a, b))
    assert [float(o[0, 0]) for o in out] == [6.0, 8.0, 0.5]


def test_exponential_lambda_layer():
    exponential_layer = keras.layers.Lambda(lambda x: tf.exp(x))
    np.testing.assert_allclose(exponential_layer(jnp.array([0.0, 1.0])), [1.0, np.e], rtol=1e-6)


def test_add_weight_keras2_form_with_name_first():
    class Totals(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = self.add_weight("total", initializer="zeros")
            self.count = self.add_weight("count", initializer="zeros", trainable=False)

        def call(self, x):
            self.total.assign_add(jnp.sum(x))
            self.count.assign_add(x.shape[0])
            return self.total / self.count

    layer = Totals(name="totals")
    assert layer.total.shape == () and layer.total.path == "totals/total"
    layer(jnp.array([2.0, 4.0]))
    assert float(layer(jnp.array([6.0]))) == 4.0
    assert layer.trainable_weights == [layer.total]
    assert layer.non_trainable_weights == [layer.count]


def test_default_initializers_are_glorot_uniform_and_zeros_for_ints():
    class L(keras.layers.Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(100, 100))
            self.steps = self.add_weight(shape=(), dtype="int32")

        def call(self, x):
            return x

    layer = L()
    layer(jnp.ones((1, 1)))
    limit = np.sqrt(6 / 200)
    assert np.abs(layer.w.numpy()).max() <= limit
    assert layer.w.numpy().std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    assert layer.steps.dtype == "int32" and int(layer.steps.numpy()) == 0


class Block(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(units, activation="relu") for _ in range(2)]
        self.heads = {"out": keras.layers.Dense(1)}

    def call(self, x, training=None):
        for layer in self.hidden:
            x = layer(x)
        return self.heads["out"](x)


def test_sublayers_in_lists_and_dicts_are_tracked_in_order():
    block = Block(4, name="block")
    block(jnp.ones((2, 3)))
    assert [v.path for v in block.weights] == [
        "block/dense/kernel", "block/dense/bias", "block/dense_1/kernel", "block/dense_1/bias",
        "block/dense_2/kernel", "block/dense_2/bias"]
    assert len(block.trainable_variables) == 6
    block.hidden.append(keras.layers.Dense(4))
    assert len(block._layers) == 4
    block.trainable = False
    assert block.trainable_weights == [] and len(block.non_trainable_weights) == 6
    assert all(not v.trainable for v in block.weights)


def test_training_flag_reaches_nested_layers_and_defaults_to_inference():
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Outer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.probe = Probe()

        def call(self, x):  # does not take training itself
            return self.probe(x)

    outer = Outer()
    outer(jnp.ones(1))  # builds (tracing call once on an abstract input), then calls
    del seen[:]
    outer(jnp.ones(1))
    outer(jnp.ones(1), training=True)
    outer(jnp.ones(1), training=False)
    assert seen == [None, True, False]


def test_training_dependent_layer_under_function():
    class NoisyIdentity(keras.layers.Layer):
        def call(self, x, training=None):
            if training:
                return x + 1.0
            return x

    layer = NoisyIdentity()
    f = keras.function(lambda x, training: layer(x, training=training))
    assert float(f(jnp.zeros(()), training=True)) == 1.0
    assert float(f(jnp.zeros(()), training=False)) == 0.0


def test_add_loss_and_regularization_losses():
    class ActivityLoss(keras.layers.Layer):
        def call(self, x):
            self.add_loss(0.5 * jnp.sum(x))
            return x

    class Net(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1),
                                            kernel_initializer="ones")
            self.act = ActivityLoss()

        def call(self, x):
            return self.act(self.dense(x))

    net = Net()
    net(jnp.ones((1, 3)))
    losses = net.losses
    assert len(losses) == 2
    assert float(losses[0]) == pytest.approx(0.5 * 6.0)  # sum of outputs (3 + 3)
    assert float(losses[1]) == pytest.approx(0.1 * 6.0)  # l2 on a ones (3, 2) kernel
    net(jnp.zeros((1, 3)))
    assert float(net.losses[0]) == 0.0 and len(net.losses) == 2  # only the last call counts

    @keras.function
    def total_loss(x):
        net(x)
        return sum(net.losses)

    assert float(total_loss(jnp.ones((1, 3)))) == pytest.approx(3.6)
    grads = keras.grad(lambda: sum(net.losses) + 0.0 * jnp.sum(net(jnp.ones((1, 3)))),
                       net.trainable_variables)()
    assert len(grads) == 2


def test_compute_output_shape_inferred_by_tracing():
    class Double(keras.layers.Layer):
        def call(self, x):
            return jnp.concatenate([x, x], axis=-1)

    assert Double().compute_output_shape((None, 3)) == (None, 6)


def test_stateless_call_is_pure():
    dense = keras.layers.Dense(2, kernel_initializer="ones")
    dense(jnp.ones((1, 2)))
    kernel = jnp.full((2, 2), 3.0)
    out, non_trainable = jax.jit(lambda k, b, x: dense.stateless_call([k, b], [], x))(
        kernel, jnp.zeros(2), jnp.ones((1, 2)))
    np.testing.assert_allclose(out, [[6.0, 6.0]])
    np.testing.assert_allclose(dense.kernel.numpy(), np.ones((2, 2)))
    assert non_trainable == []


def test_shape_mismatch_after_build_names_the_layer():
    dense = keras.layers.Dense(2, name="head")
    dense(jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"layer 'head'.*axis -1.*size 3.*shape \(1, 4\)"):
        dense(jnp.ones((1, 4)))


def test_dense_on_rank0_input_is_explained():
    with pytest.raises(ValueError, match=r"layer 'dense'.*min_ndim=2, found ndim=0"):
        keras.layers.Dense(2, name="dense")(jnp.float32(1.0))


def test_custom_layer_error_names_layer_input_and_build_shapes():
    layer = MyDense(3, name="mine")
    layer(jnp.ones((2, 3)))
    with pytest.raises(TypeError, match=r"(?s)layer 'mine'.*built for input shape \(2, 3\).*"
                                        r"shape=\(2, 4\)"):
        layer(jnp.ones((2, 4)))


def test_unknown_constructor_kwarg_and_missing_super_init():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Dense"):
        keras.layers.Dense(2, unitz=3)

    class Forgetful(keras.layers.Layer):
        def __init__(self):
            self.dense = keras.layers.Dense(1)

    with pytest.raises(RuntimeError, match="super\\(\\).__init__"):
        Forgetful()


def test_automatic_get_config_from_plain_constructor_arguments():
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, axes=(1, 2), **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    config = Scale(3.0, name="s").get_config()
    assert config["factor"] == 3.0 and config["axes"] == (1, 2) and config["name"] == "s"
    assert Scale.from_config(config).factor == 3.0


def test_layer_input_shape_argument_is_kept():
    dense = keras.layers.Dense(2, input_shape=(3,))
    assert dense._batch_input_shape == (None, 3)


def test_variables_include_seed_state_but_weights_do_not():
    class Noisy(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(1)

        def call(self, x):
            return x + keras.random.normal(x.shape, seed=self.seed_generator)

    layer = Noisy()
    assert layer.weights == [] and layer.variables == [layer.seed_generator.state]
    a = keras.function(layer)(jnp.zeros(2))
    b = keras.function(layer)(jnp.zeros(2))
    assert not np.allclose(a, b)


def _triple(x):
    return x * 3


def test_lambda_with_named_function_saves_by_reference():
    layer = keras.layers.Lambda(_triple, name="triple")
    config = keras.saving.serialize_keras_object(layer)
    assert config["config"]["function"]["config"] == "_triple"
    restored = keras.saving.deserialize_keras_object(config, custom_objects={"_triple": _triple})
    assert float(restored(jnp.float32(2.0))) == 6.0


def test_anonymous_lambda_needs_opt_in_to_save_and_unsafe_mode_to_load():
    layer = keras.layers.Lambda(lambda x: tf.exp(x), name="exp")
    with pytest.raises(ValueError, match="Lambda layer 'exp'.*allow_lambda_code"):
        layer.get_config()
    with keras.saving.allow_lambda_code():
        config = keras.saving.serialize_keras_object(layer)
    assert config["config"]["function"]["class_name"] == "__lambda__"
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.saving.deserialize_keras_object(config)
    restored = keras.saving.deserialize_keras_object(config, safe_mode=False)
    assert float(restored(jnp.float32(0.0))) == 1.0


def test_eager_call_on_numpy_input_does_not_read_the_callers_array_later():
    # The compiled eager call hands host data to jit, which may read a NumPy argument in place
    # while it runs asynchronously: lamina must pass its own copy, not the caller's array.
    layer = keras.layers.Dense(64, kernel_initializer="ones")
    x = np.ones((512, 512), np.float32)
    layer(x)  # build and compile
    expected = np.full((512, 64), 512.0, np.float32)
    for _ in range(3):
        x[:] = 1.0
        y = layer(x)
        x[:] = 0.0  # before y is necessarily computed
        np.testing.assert_array_equal(np.asarray(y), expected)


def test_eager_call_casts_numpy_input_like_jax_does():
    layer = keras.layers.Lambda(lambda t: t)
    layer(np.zeros((1, 2), np.float32))
    assert layer(np.zeros((1, 2), np.float64)).dtype == jnp.float32
    assert layer(np.zeros((1, 2), np.int64)).dtype == jnp.int32
    assert layer([[1.0, 2.0]]).dtype == jnp.float32
