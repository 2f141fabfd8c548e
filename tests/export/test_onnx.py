"""`model.export(format="onnx")`: the file runs in ONNX Runtime and predicts what the model
predicts, at any batch size. One conversion (jax2onnx loads all its plugins once, ~10 s)."""

import numpy as np
import pytest

import lamina as keras

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("jax2onnx")


def test_onnx_file_matches_predict_with_a_dynamic_batch_size(tmp_path):
    keras.utils.set_random_seed(3)
    wide = keras.Input((3,), name="wide")
    deep = keras.Input((5,), name="deep")
    hidden = keras.layers.Dense(8, activation="tanh")(deep)
    norm = keras.layers.BatchNormalization()
    hidden = norm(hidden)
    hidden = keras.layers.Dropout(0.5)(hidden)
    merged = keras.layers.Concatenate()([wide, hidden])
    output = keras.layers.Dense(2, activation="softmax")(merged)
    model = keras.Model([wide, deep], output)
    rng = np.random.default_rng(0)
    norm.moving_mean.assign(rng.normal(size=8))  # as after training: inference mode uses them
    norm.moving_variance.assign(rng.uniform(0.5, 2.0, size=8))
    x = [rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 5)).astype("float32")]
    expected = model.predict(x, verbose=0)

    path = tmp_path / "model.onnx"
    path.write_bytes(b"an older export")  # replaced, as Keras overwrites
    model.export(path, format="onnx", verbose=False)

    session = onnxruntime.InferenceSession(str(path))
    inputs = session.get_inputs()
    assert [(i.name, i.shape) for i in inputs] == [("wide", ["batch", 3]),
                                                   ("deep", ["batch", 5])]
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("output_0", ["batch", 2])]
    for size in (16, 1, 5):
        (served,) = session.run(None, {"wide": x[0][:size], "deep": x[1][:size]})
        np.testing.assert_allclose(served, expected[:size], rtol=1e-5, atol=1e-6)


def test_onnx_opset_and_integer_sequence_inputs(tmp_path):
    onnx = pytest.importorskip("onnx")
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((6,), dtype="int32", name="tokens"),
                              keras.layers.Embedding(20, 4), keras.layers.GRU(5),
                              keras.layers.Dense(1)])
    tokens = np.random.default_rng(1).integers(1, 20, size=(3, 6)).astype("int32")
    expected = model.predict(tokens, verbose=0)
    path = tmp_path / "text.onnx"
    model.export(path, format="onnx", verbose=False, opset_version=21)
    assert {o.domain: o.version for o in onnx.load(str(path)).opset_import}[""] == 21
    session = onnxruntime.InferenceSession(str(path))
    for size in (3, 1):
        (served,) = session.run(None, {"tokens": tokens[:size]})
        np.testing.assert_allclose(served, expected[:size], rtol=1e-5, atol=1e-6)


def test_onnx_export_of_multi_head_attention(tmp_path):
    # The attention scale is a constant of the program (a traced one could not be exported).
    keras.utils.set_random_seed(7)
    inputs = keras.Input((5, 8))
    outputs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(inputs, inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(2).normal(size=(3, 5, 8)).astype("float32")
    path = tmp_path / "attention.onnx"
    model.export(path, format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(path))
    (served,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(served, model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
