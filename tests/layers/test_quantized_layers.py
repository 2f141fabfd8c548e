"""Quantized Dense, EinsumDense and Embedding (`quantize("int8" | "int4" | "float8")`).

Parity with Keras 3.15 (KERAS_BACKEND=jax, in this process) on one small model with two Dense,
two EinsumDense and an Embedding, quantized layer by layer (`filters=`) in two plans that
together cover every layer type in every mode it has: Keras quantizes the float weights lamina
saved and lamina quantizes the same weights (equal variables and predictions), each side loads
the other's quantized `.keras` file (equal predictions), and the model of plan A (int8, int4
and float8 layers) trains alike from Keras's file (equal losses, and equal float8 scales and
amax histories after the two batches).
"""

import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import layers, quantizers

# (mode, layers) in the order they are quantized.
PLANS = {
    "A": [("int8", ["^emb$", "^d1$", "^e2$"]), ("int4", "^d2$"), ("float8", "^e1$")],
    "B": [("int4", ["^emb$", "^e1$"]), ("float8", "^d1$")],
}
TOKENS = np.array([[1, 2, 3], [4, 0, 9], [5, 5, 1], [0, 0, 0], [9, 8, 7], [3, 3, 3]], "int32")
FEATURES = np.random.RandomState(0).randn(6, 3).astype("float32")
TARGETS = np.random.RandomState(1).randn(6, 4, 2, 3).astype("float32")


def _model(lib):
    tokens = lib.Input((3,), name="tokens", dtype="int32")
    features = lib.Input((3,), name="features")
    embedded = lib.layers.Embedding(10, 4, name="emb")(tokens)
    hidden = lib.layers.Dense(4, activation="relu", name="d1")(features)
    hidden = lib.layers.Dense(4, name="d2")(hidden)
    hidden = lib.layers.Reshape((1, 4), name="reshape")(hidden)
    joined = lib.layers.Concatenate(axis=1, name="concat")([embedded, hidden])
    joined = lib.layers.EinsumDense("abc,cd->abd", (4, 5), bias_axes="d", name="e1")(joined)
    outputs = lib.layers.EinsumDense("abc,cde->abde", (4, 2, 3), bias_axes="de",
                                     name="e2")(joined)
    return lib.Model([tokens, features], outputs)


def _quantize(model, plan):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the layers left out
        for mode, names in PLANS[plan]:
            model.quantize(mode, filters=names)


def _predict(model):
    # One compiled program (Keras's eager call compiles each of its many ops instead).
    return np.asarray(model.predict_on_batch([TOKENS, FEATURES]))


def _values(model):
    return {f"{layer.name}/{w.name}": np.asarray(w.numpy() if hasattr(w, "numpy") else w)
            for layer in model.layers for w in layer.weights}


def _train(model, lib):
    """Two SGD batches; (losses, variables after)."""
    model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    history = model.fit([TOKENS, FEATURES], TARGETS, batch_size=3, epochs=1, shuffle=False,
                        verbose=0)
    return history.history["loss"], _values(model)


@pytest.fixture(scope="module")
def parity(tmp_path_factory):
    """Everything compared with Keras, computed once: lamina's files and predictions, then
    Keras's, then lamina on Keras's files."""
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    folder = tmp_path_factory.mktemp("quantized")
    lamina.utils.set_random_seed(3)
    float_path = str(folder / "float.keras")
    _model(lamina).save(float_path)
    # Keras's serializer imports TensorFlow (if installed) to test for tf.TensorShape; Keras
    # on JAX needs none of it, so these saves run as without TensorFlow (5-8 s less here).
    from keras.src.utils import module_utils
    tensorflow, was_available = module_utils.tensorflow, module_utils.tensorflow._available
    if was_available is None:
        tensorflow._available = False
    try:
        return _compare(keras, folder, float_path)
    finally:
        if was_available is None:
            tensorflow._available = None


def _compare(keras, folder, float_path):
    ours, theirs, ours_in_keras = {}, {}, {}
    for plan in PLANS:
        model = lamina.saving.load_model(float_path)
        _quantize(model, plan)
        model.save(folder / f"lamina_{plan}.keras")
        ours[plan] = (_predict(model), _values(model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for plan in PLANS:
            model = keras.saving.load_model(float_path)
            _quantize(model, plan)
            model.save(folder / f"keras_{plan}.keras")
            theirs[plan] = (_predict(model), _values(model))
            ours_in_keras[plan] = _predict(
                keras.saving.load_model(folder / f"lamina_{plan}.keras"))
        keras_training = _train(keras.saving.load_model(folder / "keras_A.keras"), keras)
    return {"folder": folder, "ours": ours, "theirs": theirs, "ours_in_keras": ours_in_keras,
            "keras_training": keras_training}


@pytest.mark.parametrize("plan", PLANS)
def test_quantize_gives_keras_variables_and_predictions(parity, plan):
    our_predictions, our_values = parity["ours"][plan]
    keras_predictions, keras_values = parity["theirs"][plan]
    assert sorted(our_values) == sorted(keras_values)
    for name, value in keras_values.items():
        assert our_values[name].shape == value.shape, name
        assert our_values[name].dtype == value.dtype, name
        np.testing.assert_allclose(our_values[name], value, rtol=1e-6, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(our_predictions, keras_predictions, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("plan, policies", [
    ("A", {"emb": "int8_from_float32", "d1": "int8_from_float32",
           "d2": "int4/128_from_float32", "e1": "float8_from_float32",
           "e2": "int8_from_float32"}),
    ("B", {"emb": "int4/128_from_float32", "d1": "float8_from_float32", "d2": "float32",
           "e1": "int4/128_from_float32", "e2": "float32"}),
])
def test_quantized_files_load_both_ways(parity, plan, policies):
    keras_file = lamina.saving.load_model(parity["folder"] / f"keras_{plan}.keras")
    np.testing.assert_allclose(_predict(keras_file), parity["theirs"][plan][0], rtol=1e-6,
                               atol=1e-6)
    assert {layer.name: layer.dtype_policy.name for layer in keras_file.layers
            if layer.weights} == policies
    np.testing.assert_allclose(parity["ours_in_keras"][plan], parity["ours"][plan][0],
                               rtol=1e-6, atol=1e-6)


def test_quantized_models_train_as_in_keras(parity):
    losses, values = _train(lamina.saving.load_model(parity["folder"] / "keras_A.keras"), lamina)
    keras_losses, keras_values = parity["keras_training"]
    np.testing.assert_allclose(losses, keras_losses, rtol=1e-5)
    assert sorted(values) == sorted(keras_values)
    for name, value in keras_values.items():
        np.testing.assert_allclose(values[name], value, rtol=1e-5, atol=1e-6, err_msg=name)
    # Delayed scaling: the amax histories recorded the two batches, and the next scales moved.
    assert np.count_nonzero(values["e1/inputs_amax_history"]) == 2
    assert values["e1/outputs_grad_scale"] != 1.0
    # The int8 and int4 kernels stay; the biases of the layers above them trained.
    assert not np.allclose(values["d1/bias"], parity["theirs"]["A"][1]["d1/bias"])


def test_layer_quantize_names_shapes_and_policies():
    dense = layers.Dense(6, name="d")
    dense.build((None, 5))
    dense.quantize("int8")
    assert [(w.name, w.dtype, w.shape, w.trainable) for w in dense.weights] == [
        ("bias", "float32", (6,), True), ("kernel", "int8", (5, 6), False),
        ("kernel_scale", "float32", (6,), False)]
    assert dense.dtype_policy.name == "int8_from_float32" and dense.quantization_mode == "int8"
    assert dense.get_config()["quantization_config"]["class_name"] == "Int8QuantizationConfig"
    einsum = layers.EinsumDense("abc,cde->abde", (5, 2, 3), bias_axes="de")
    einsum.build((None, 5, 4))
    einsum.quantize(config=quantizers.Int4QuantizationConfig(block_size=None))
    assert einsum.dtype_policy.name == "int4/-1_from_float32"
    assert [(w.name, w.shape) for w in einsum.weights] == [
        ("bias", (2, 3)), ("kernel", (4, 3)), ("kernel_scale", (6,))]
    embedding = layers.Embedding(7, 5, dtype="mixed_bfloat16")
    embedding.build()
    embedding.quantize("int4")
    assert embedding.dtype_policy.name == "int4/128_from_mixed_bfloat16"
    assert embedding(jnp.array([[1, 6]])).dtype == jnp.bfloat16


def test_a_quantized_policy_on_a_built_layer_quantizes_it():
    dense = layers.Dense(3)
    dense.build((None, 4))
    dense.dtype_policy = "int4/2_from_float32"  # as in Keras: weights follow the policy
    assert dense.quantization_mode == "int4" and dense.kernel_scale.shape == (2, 3)
    conv = layers.Conv1D(2, 3)
    conv.build((None, 5, 1))
    with pytest.raises(NotImplementedError, match="does not support quantize"):
        conv.dtype_policy = "int8_from_float32"
    assert conv.dtype_policy.name == "float32"  # refused: nothing changed


def test_int8_gradients_reach_the_inputs_through_the_dequantized_kernel():
    dense = layers.Dense(3, use_bias=False)
    x = jnp.array([[0.5, -1.0], [2.0, 0.25]])
    dense.build((None, 2))
    dense.quantize("int8")
    float_kernel = dense.kernel.numpy().astype("float32") / dense.kernel_scale.numpy()
    upstream = jnp.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]])
    _, pullback = jax.vjp(lambda x: dense(x), x)
    np.testing.assert_allclose(pullback(upstream)[0], upstream @ float_kernel.T, rtol=1e-6)


def test_quantizing_twice_or_an_unsupported_layer_is_refused():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, name="head")])
    model.quantize("int8")
    policy, kernel = model.layers[0].dtype_policy, model.layers[0].kernel.numpy()
    with pytest.raises(ValueError, match=r"'head' \(Dense\) is already quantized with "
                                         r"dtype_policy='int8_from_float32'.*mode=int4"):
        model.quantize("int4")
    assert model.layers[0].dtype_policy == policy
    assert np.array_equal(model.layers[0].kernel.numpy(), kernel)
    conv = layers.Conv1D(2, 3, name="conv")
    conv.build((None, 8, 1))
    with pytest.raises(NotImplementedError, match=r"Conv1D \('conv'\) does not support "
                                                  r"quantize\(\).*Dense, EinsumDense and "
                                                  "Embedding"):
        conv.quantize("int8")
    with pytest.raises(NotImplementedError, match=r"Embedding \('e'\) does not support "
                                                  r"quantization mode 'float8'"):
        embedding = layers.Embedding(4, 2, name="e")
        embedding.build()
        embedding.quantize("float8")
    mixed = lamina.Sequential([lamina.Input((8, 1)), layers.Conv1D(2, 3, name="conv"),
                               layers.Flatten(), layers.Dense(2, name="out")])
    with pytest.warns(UserWarning, match=r"Conv1D \('conv'\) does not support quantize"):
        mixed.quantize("int8")
    assert [layer.quantization_mode for layer in mixed.layers] == [None, None, "int8"]


def test_unknown_modes_and_unbuilt_layers_are_refused():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    with pytest.raises(ValueError, match=r"Expected one of \('int8', 'float8', 'int4', "
                                         r"'gptq', 'awq'\)\. Received: mode='int3'"):
        model.quantize("int3")
    with pytest.raises(ValueError, match=r"contradictory arguments: mode='int8' but "
                                         r"config.mode='int4'"):
        model.quantize("int8", config=quantizers.Int4QuantizationConfig())
    with pytest.raises(NotImplementedError, match="does not run GPTQ calibration"):
        model.quantize(config=quantizers.GPTQConfig(None, None))
    with pytest.raises(ValueError, match=r"Cannot quantize layer 'lazy' \(Dense\): it is not "
                                         "built yet"):
        layers.Dense(2, name="lazy").quantize("int8")
    assert model.layers[0].quantization_mode is None
