"""Mixed precision: layers compute in the compute dtype, keep float32 variables (cast when read
inside `call`), losses compute in float32, and models train and save as in Keras 3."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import dtype_policies, layers, mixed_precision
from lamina._runtime.variable import AutocastScope

os.environ["KERAS_BACKEND"] = "jax"


@pytest.fixture(autouse=True)
def _global_policy_restored():
    yield
    mixed_precision.set_global_policy(None)


class Probe(layers.Layer):
    """Records how its weight reads inside call."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
        self.stat = self.add_weight(shape=(), initializer="zeros", name="stat",
                                    trainable=False, autocast=False)

    def call(self, inputs):
        self.seen = (self.w.dtype, self.w.value.dtype, self.stat.value.dtype, inputs.dtype)
        return inputs * self.w


def test_a_mixed_layer_computes_in_half_and_keeps_float32_weights():
    probe = Probe(dtype="mixed_bfloat16")
    out = probe(np.ones((2, 3), "float32"))
    assert out.dtype == jnp.bfloat16
    assert probe.seen == ("bfloat16", jnp.bfloat16, jnp.float32, jnp.bfloat16)
    assert probe.w.dtype == "float32" and probe.w.value.dtype == jnp.float32  # outside call
    dense = layers.Dense(2, dtype="mixed_bfloat16", kernel_initializer="ones")
    x = np.array([[1.0, 1.0 / 3.0]], "float32")
    expected = jnp.matmul(jnp.asarray(x, jnp.bfloat16), jnp.ones((2, 2), jnp.bfloat16))
    np.testing.assert_array_equal(np.asarray(dense(x)), np.asarray(expected))
    assert dense.kernel.dtype == "float32" and dense.bias.dtype == "float32"


def test_integer_inputs_and_int_variables_are_not_cast():
    with AutocastScope("bfloat16"):
        counter = lamina.Variable(3)
        assert counter.value.dtype == jnp.int32 and counter.dtype == "int32"
    embedding = layers.Embedding(2000, 4, dtype="mixed_bfloat16")
    vectors = embedding(np.array([1001.0, 3.0]))  # float indices stay exact (no bfloat16)
    assert vectors.dtype == jnp.bfloat16
    np.testing.assert_array_equal(
        np.asarray(vectors[0]), np.asarray(embedding.embeddings.value[1001], jnp.bfloat16))


def test_global_policy_applies_to_new_layers_and_models():
    mixed_precision.set_global_policy("mixed_bfloat16")
    inputs = lamina.Input((4,))
    assert inputs.dtype == "float32"  # as in Keras: inputs stay floatx, layers cast
    hidden = layers.Dense(3)(inputs)
    outputs = layers.Activation("softmax", dtype="float32")(layers.Dense(2)(hidden))
    model = lamina.Model(inputs, outputs)
    assert model.dtype_policy.name == "mixed_bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)
    assert hidden.dtype == "bfloat16" and model(np.ones((2, 4))).dtype == jnp.float32
    assert model.predict(np.ones((2, 4)), verbose=0).dtype == np.float32
    sequential = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    assert sequential(np.ones((1, 4))).dtype == jnp.bfloat16


def test_a_float32_layer_inside_a_mixed_layer_reads_float32():
    class Block(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = Probe(dtype="float32")
            self.raw = Probe(dtype="mixed_bfloat16", autocast=False)

        def call(self, inputs):
            self.outer_read = self.inner.w.value.dtype if self.inner.built else None
            return self.inner(inputs), self.raw(inputs)

    block = Block(dtype="mixed_bfloat16")
    inner_out, raw_out = block(np.ones((1, 2), "float32"))
    assert block.inner.seen[:2] == ("float32", jnp.float32) and inner_out.dtype == jnp.float32
    # autocast=False: weights read in their own dtype (the input is the block's, bfloat16).
    assert block.raw.seen[1:] == (jnp.float32, jnp.float32, jnp.bfloat16)
    assert raw_out.dtype == jnp.float32
    raw = Probe(dtype="mixed_bfloat16", autocast=False)
    raw(np.ones((1, 2), "float32"))
    assert raw.seen[1:] == (jnp.float32, jnp.float32, jnp.float32)  # inputs not cast either
    block(np.ones((1, 2), "float32"))
    assert block.outer_read == jnp.bfloat16  # read in the block's own call


def test_gradients_reach_float32_weights_in_float32():
    dense = layers.Dense(2, dtype="mixed_float16")
    dense.build((None, 3))
    x = np.ones((4, 3), "float32")
    loss, grads = lamina.value_and_grad(
        lambda: jnp.sum(dense(x).astype("float32") ** 2), dense.trainable_weights)()
    assert [g.dtype for g in grads] == [jnp.float32, jnp.float32]
    # As in Keras, stateless_call runs call() on the inputs as given.
    outputs, _ = dense.stateless_call([w.value for w in dense.trainable_weights], [],
                                      jnp.asarray(x, "float16"))
    assert outputs.dtype == jnp.float16


def test_statistics_and_metric_totals_are_not_rounded_to_half():
    bn = layers.BatchNormalization(dtype="mixed_bfloat16", momentum=0.5)
    x = np.full((4, 1), 1.0 + 2.0 ** -12, "float32")  # not representable in bfloat16
    bn(x, training=True)
    assert bn.moving_mean.dtype == "float32"
    # moving = 0.5 * 0 + 0.5 * mean, with the mean of the bfloat16 input computed in float32
    assert float(bn.moving_mean.numpy()[0]) == 0.5

    class Counting(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = lamina.metrics.Sum()

        def call(self, inputs):
            self.total.update_state(1.0)
            return inputs

    counting = Counting(dtype="mixed_bfloat16")
    for _ in range(260):  # bfloat16 stops counting at 256
        counting(np.ones((1, 1), "float32"))
    assert float(counting.total.result()) == 260.0


def test_losses_compute_in_float32():
    y_pred = jnp.asarray([[0.2, 0.8]], jnp.bfloat16)
    assert lamina.losses.CategoricalCrossentropy()([[0.0, 1.0]], y_pred).dtype == jnp.float32
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2, dtype="mixed_bfloat16")])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=2, verbose=0)
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert model.layers[0].kernel.dtype == "float32"


def test_config_carries_the_policy_in_keras_format():
    dense = layers.Dense(2, dtype="mixed_bfloat16")
    assert dense.get_config()["dtype"] == {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"},
        "registered_name": None}
    rebuilt = layers.Dense.from_config(dense.get_config())
    assert rebuilt.compute_dtype == "bfloat16" and rebuilt.variable_dtype == "float32"


def test_policy_changes_reach_compiled_calls():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    assert model(np.ones((1, 3))).dtype == jnp.float32
    model.layers[0].dtype_policy = "mixed_bfloat16"
    assert model(np.ones((1, 3))).dtype == jnp.bfloat16


def test_float32_models_trace_no_casts():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(4), layers.Dense(1)])
    model.build((None, 3))
    values = [w.value for w in model.trainable_weights]
    jaxpr = jax.make_jaxpr(lambda v, x: model.stateless_call(v, [], x)[0])(
        values, jnp.ones((2, 3)))
    assert "convert_element_type" not in str(jaxpr)


def test_mixed_float16_compile_wraps_the_optimizer():
    def model(policy):
        return lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])

    mixed_precision.set_global_policy("mixed_float16")
    wrapped = model("mixed_float16")
    wrapped.compile(optimizer=lamina.optimizers.Adam(), loss="mse")
    assert isinstance(wrapped.optimizer, mixed_precision.LossScaleOptimizer)
    assert wrapped.optimizer.name == "loss_scale_optimizer"
    assert isinstance(wrapped.optimizer.inner_optimizer, lamina.optimizers.Adam)
    plain = model("mixed_float16")
    plain.compile(optimizer="adam", loss="mse", auto_scale_loss=False)
    assert isinstance(plain.optimizer, lamina.optimizers.Adam)
    mixed_precision.set_global_policy("mixed_bfloat16")  # bfloat16 needs no loss scaling
    bf16 = model("mixed_bfloat16")
    bf16.compile(optimizer="adam", loss="mse")
    assert isinstance(bf16.optimizer, lamina.optimizers.Adam)


# ----------------------------------------------------------------------------- Keras 3
def _small_model(k):
    k.mixed_precision.set_global_policy("mixed_bfloat16")
    model = k.Sequential([k.Input((4,)), k.layers.Dense(8, activation="relu"),
                          k.layers.BatchNormalization(), k.layers.Dense(3),
                          k.layers.Activation("softmax", dtype="float32")])
    model.compile(k.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_training_matches_keras_and_files_move_both_ways(tmp_path):
    keras = pytest.importorskip("keras")
    try:
        theirs, ours = _small_model(keras), _small_model(lamina)
    finally:
        keras.mixed_precision.set_global_policy("float32")
        mixed_precision.set_global_policy(None)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 4)).astype("float32"), rng.integers(0, 3, 16)
    histories = [m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
                 for m in (theirs, ours)]
    for key in ("loss", "accuracy"):
        assert histories[0][key] == pytest.approx(histories[1][key], rel=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, np.asarray(b))
    for source, target in ((ours, keras), (theirs, lamina)):
        path = str(tmp_path / f"{type(source).__module__.split('.')[0]}.keras")
        source.save(path)
        loaded = target.models.load_model(path)
        assert [layer.dtype_policy.name for layer in loaded.layers] == [
            "mixed_bfloat16", "mixed_bfloat16", "mixed_bfloat16", "float32"]
        # (Keras's Sequential.from_config leaves the model itself at the global policy;
        # its layers carry theirs.)
        assert str(np.asarray(loaded.layers[0](x[:1])).dtype) == "bfloat16"
        np.testing.assert_array_equal(np.asarray(loaded.predict(x, verbose=0)),
                                      np.asarray(source.predict(x, verbose=0)))
    assert dtype_policies.dtype_policy().name == "float32"  # loading set no global policy
