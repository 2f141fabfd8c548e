"""`model.export(format="stablehlo")` and `keras.export.ExportArchive`: endpoints written as
JAX's serialized StableHLO, loaded back with JAX alone, any batch size."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import lamina as keras


@pytest.fixture(scope="module")
def wide_and_deep():
    """A functional model with two inputs (wide, deep) and a dict of two outputs."""
    keras.utils.set_random_seed(7)
    wide = keras.Input((3,), name="wide")
    deep = keras.Input((5,), name="deep")
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(deep)
    hidden = keras.layers.Dropout(0.5)(hidden)
    merged = keras.layers.Concatenate()([wide, hidden])
    outputs = {"price": keras.layers.Dense(1, name="price")(merged),
               "kind": keras.layers.Dense(2, activation="softmax", name="kind")(merged)}
    model = keras.Model({"wide": wide, "deep": deep}, outputs)
    rng = np.random.default_rng(0)
    data = {"wide": rng.normal(size=(7, 3)).astype("float32"),
            "deep": rng.normal(size=(7, 5)).astype("float32")}
    return model, data, model.predict(data, verbose=0)


def _load(path, endpoint="serve"):
    with open(os.path.join(path, f"{endpoint}.jax_exported"), "rb") as file:
        return jax.export.deserialize(bytearray(file.read()))


_JAX_ONLY = textwrap.dedent("""
    import sys
    import jax, numpy as np
    with open(sys.argv[1] + "/serve.jax_exported", "rb") as file:
        serve = jax.export.deserialize(bytearray(file.read()))
    data = dict(np.load(sys.argv[2]))
    results = {}
    for size in (7, 2):
        out = serve.call({"wide": data["wide"][:size], "deep": data["deep"][:size]})
        results[f"price{size}"] = np.asarray(out["price"])
        results[f"kind{size}"] = np.asarray(out["kind"])
    np.savez(sys.argv[3], **results)
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("lamina", "keras", "tensorflow"))
    print("LOADED", loaded)
""")


def test_model_export_runs_with_jax_alone_at_any_batch_size(wide_and_deep, tmp_path):
    model, data, expected = wide_and_deep
    model.export(tmp_path / "served", format="stablehlo", verbose=False)
    np.savez(tmp_path / "inputs.npz", **data)
    result = subprocess.run(
        [sys.executable, "-c", _JAX_ONLY, str(tmp_path / "served"), str(tmp_path / "inputs.npz"),
         str(tmp_path / "outputs.npz")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "LOADED []" in result.stdout  # neither lamina nor Keras nor TensorFlow was imported
    outputs = np.load(tmp_path / "outputs.npz")
    for size in (7, 2):
        np.testing.assert_allclose(outputs[f"price{size}"], expected["price"][:size],
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(outputs[f"kind{size}"], expected["kind"][:size],
                                   rtol=1e-5, atol=1e-6)
    manifest = json.loads((tmp_path / "served" / "manifest.json").read_text())
    assert manifest["default_endpoint"] == "serve"
    serve = manifest["endpoints"]["serve"]
    assert serve["inputs"] == [{"name": "deep", "shape": [None, 5], "dtype": "float32"},
                               {"name": "wide", "shape": [None, 3], "dtype": "float32"}]
    assert serve["outputs"] == [{"shape": ["batch", 2], "dtype": "float32"},
                                {"shape": ["batch", 1], "dtype": "float32"}]


def test_archive_with_several_endpoints_and_a_variable_collection(wide_and_deep, tmp_path,
                                                                  capsys):
    model, data, expected = wide_and_deep
    hidden = model.get_layer("hidden")
    archive = keras.export.ExportArchive()
    archive.track(model)
    spec = keras.InputSpec(shape=(None, 5), dtype="float32")
    embed = archive.add_endpoint("embed", lambda x: hidden(x), input_signature=[spec])
    archive.add_endpoint(
        "price", lambda wide, deep: model({"wide": wide, "deep": deep})["price"],
        input_signature=[keras.InputSpec(shape=(None, 3), dtype="float32"), spec])
    archive.add_variable_collection("hidden_weights", hidden.weights)
    archive.write_out(tmp_path / "archive")
    printed = capsys.readouterr().out
    assert "The following endpoints are available" in printed
    assert "* Endpoint 'embed'" in printed and "* Endpoint 'price'" in printed

    expected_hidden = np.maximum(data["deep"] @ hidden.kernel.numpy() + hidden.bias.numpy(), 0)
    np.testing.assert_allclose(np.asarray(embed(data["deep"])), expected_hidden, rtol=1e-5,
                               atol=1e-6)  # add_endpoint returns the compiled function
    np.testing.assert_allclose(np.asarray(_load(tmp_path / "archive", "embed").call(
        data["deep"][:3])), expected_hidden[:3], rtol=1e-5, atol=1e-6)
    price = _load(tmp_path / "archive", "price").call(data["wide"], data["deep"])
    np.testing.assert_allclose(np.asarray(price), expected["price"], rtol=1e-5, atol=1e-6)
    collection = np.load(tmp_path / "archive" / "variables" / "hidden_weights.npz")
    assert list(collection) == ["hidden/kernel", "hidden/bias"]
    np.testing.assert_array_equal(collection["hidden/kernel"], hidden.kernel.numpy())
    np.testing.assert_array_equal(collection["hidden/bias"], hidden.bias.numpy())


def test_export_reads_the_weights_at_write_time(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    archive = keras.export.ExportArchive()
    serve = archive.track_and_add_endpoint(
        "serve", model, [keras.InputSpec(shape=(None, 2), dtype="float32")])
    model.layers[0].kernel.assign([[1.0], [2.0]])  # after add_endpoint, as after training
    assert np.asarray(serve(np.ones((1, 2), "float32"))).tolist() == [[3.0]]
    archive.write_out(tmp_path / "a", verbose=False)
    assert np.asarray(_load(tmp_path / "a").call(np.ones((4, 2), "float32"))).tolist() == \
        [[3.0]] * 4


def test_export_builds_an_unbuilt_model_from_its_input_signature(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2)])
    model.export(tmp_path / "a", format="stablehlo", verbose=False,
                 input_signature=[keras.InputSpec(shape=(None, 3), dtype="float32")])
    assert model.built
    x = np.arange(6, dtype="float32").reshape(2, 3)
    dense = model.layers[0]
    np.testing.assert_allclose(np.asarray(_load(tmp_path / "a").call(x)),
                               x @ dense.kernel.numpy() + dense.bias.numpy(), rtol=1e-5)


class _Scaled(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        return 2.0 * self.dense(x)


def test_subclassed_model_exports_the_shapes_of_its_first_call(tmp_path):
    model = _Scaled()
    x = np.ones((3, 4), "float32")
    expected = np.asarray(model(x))
    model.export(tmp_path / "a", format="stablehlo", verbose=False)
    served = _load(tmp_path / "a")
    np.testing.assert_allclose(np.asarray(served.call(np.ones((5, 4), "float32")))[:3],
                               expected, rtol=1e-6)


# ------------------------------------------------------------------------- bad input
def test_export_of_a_model_never_built_or_called_says_how_to_build_it(tmp_path):
    with pytest.raises(ValueError, match=r"has not been built.*call it on a batch of data"
                                         r".*input_signature"):
        keras.Sequential([keras.layers.Dense(2)]).export(tmp_path / "a", format="stablehlo")
    with pytest.raises(ValueError, match=r"'__scaled' has not been built.*input_signature"):
        _Scaled().export(tmp_path / "b", format="onnx")
    called = _Scaled()
    called.build((None, 4))  # built, but never called: the shapes of its inputs are unknown
    with pytest.raises(ValueError, match=r"never been called.*input_signature"):
        called.export(tmp_path / "b", format="stablehlo")
    with pytest.raises(ValueError, match=r"Layer 'head' has not been built"):
        keras.export.ExportArchive().track(keras.layers.Dense(2, name="head"))
    assert not os.path.exists(tmp_path / "a") and not os.path.exists(tmp_path / "b")


def test_an_endpoint_whose_signature_does_not_fit_is_refused_when_added(wide_and_deep):
    model, _, _ = wide_and_deep
    hidden = model.get_layer("hidden")
    archive = keras.export.ExportArchive()
    with pytest.raises(ValueError, match="hidden") as caught:  # built for 5 features
        archive.add_endpoint("embed", hidden,
                             [keras.InputSpec(shape=(None, 4), dtype="float32")])
    assert any("add_endpoint(name='embed')" in note and "input_signature" in note
               for note in caught.value.__notes__)
    with pytest.raises(TypeError):  # two arguments for a one-argument function
        archive.add_endpoint("embed", lambda x: hidden(x),
                             [keras.InputSpec(shape=(None, 5), dtype="float32")] * 2)
    with pytest.raises(ValueError, match="needs both `shape` and `dtype`"):
        archive.add_endpoint("embed", hidden, [keras.InputSpec(shape=(None, 5))])
    with pytest.raises(TypeError, match="Wrap it in a list"):
        archive.add_endpoint("embed", hidden, {"x": keras.InputSpec(shape=(None, 5),
                                                                    dtype="float32")})
    with pytest.raises(ValueError, match="not strings.*Export the model that starts after"):
        archive.add_endpoint("text", hidden, [keras.KerasTensor((None,), dtype="string")])
    with pytest.raises(ValueError, match="give an input_signature"):
        archive.add_endpoint("embed", hidden)
    with pytest.raises(ValueError, match="No endpoints have been set yet"):
        archive.write_out("unused")  # nothing was added by the failed calls
    archive.add_endpoint("embed", hidden, [keras.InputSpec(shape=(None, 5), dtype="float32")])
    with pytest.raises(ValueError, match="Endpoint name 'embed' is already taken"):
        archive.add_endpoint("embed", hidden, [keras.InputSpec(shape=(None, 5),
                                                                dtype="float32")])
    with pytest.raises(ValueError, match="Python identifier"):
        archive.add_endpoint("../x", hidden, [keras.InputSpec(shape=(None, 5),
                                                               dtype="float32")])
    with pytest.raises(ValueError, match="list/tuple/set"):
        archive.add_variable_collection("weights", hidden.kernel)


def test_existing_paths(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    model.layers[0].kernel.assign([[1.0], [1.0]])
    x = np.ones((1, 2), "float32")
    model.export(tmp_path / "a", format="stablehlo", verbose=False)
    # An archive lamina wrote is replaced, as Keras overwrites an existing artifact.
    model.layers[0].kernel.assign([[2.0], [2.0]])
    model.export(tmp_path / "a", format="stablehlo", verbose=False)
    assert np.asarray(_load(tmp_path / "a").call(x)).tolist() == [[4.0]]
    # A failed export leaves it as it was.
    failing = {"now": False}

    def serve(x):
        if failing["now"]:
            raise RuntimeError("the function fails when exported")
        return model(x)

    archive = keras.export.ExportArchive()
    archive.add_endpoint("serve", serve, [keras.InputSpec(shape=(None, 2), dtype="float32")])
    failing["now"] = True
    with pytest.raises(RuntimeError, match="fails when exported"):
        archive.write_out(tmp_path / "a", verbose=False)
    assert np.asarray(_load(tmp_path / "a").call(x)).tolist() == [[4.0]]
    assert sorted(os.listdir(tmp_path)) == ["a"]  # no temporary left behind
    # A folder of other files, or a file, is refused rather than deleted.
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(FileExistsError, match="not a lamina export archive"):
        model.export(tmp_path / "photos", format="stablehlo", verbose=False)
    assert os.listdir(tmp_path / "photos") == ["cat.jpg"]
    (tmp_path / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="it is a file"):
        model.export(tmp_path / "notes.txt", format="stablehlo", verbose=False)
    assert (tmp_path / "notes.txt").read_text() == "keep"
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        model.export(tmp_path / "photos", format="onnx", verbose=False)


@pytest.mark.parametrize("format", ["tf_saved_model", "litert", "openvino", "torch"])
def test_keras_formats_lamina_does_not_write_say_what_to_use(format, tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"format='stablehlo'.*format='onnx'.*model.keras"):
        model.export(tmp_path / "a", format=format)
    assert not os.path.exists(tmp_path / "a")


def test_unknown_formats_platforms_and_archive_formats_are_refused():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"Unrecognized format='pickle'.*'stablehlo', 'onnx'"):
        model.export("a", format="pickle")
    with pytest.raises(ValueError, match="format='stablehlo'"):
        keras.export.ExportArchive(format="saved_model")
    with pytest.raises(ValueError, match=r"platforms=\('gpu',\).*'cpu', 'cuda', 'rocm', 'tpu'"):
        keras.export.ExportArchive(platforms=["gpu"])


def test_a_convolutional_model_exports_with_a_free_batch_size(tmp_path):
    """lamina's CPU convolution kernels size their patches from the batch; with a symbolic
    batch they hand the convolution to XLA, so the export keeps `None`."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 3)).astype("float32")
    model.export(tmp_path / "served", format="stablehlo", verbose=False)
    serve = _load(tmp_path / "served")
    assert str(serve.in_avals[0].shape[0]) == "batch"
    for size in (5, 2):
        np.testing.assert_allclose(np.asarray(serve.call(x[:size])),
                                   model.predict(x[:size], verbose=0), rtol=1e-5, atol=1e-6)
