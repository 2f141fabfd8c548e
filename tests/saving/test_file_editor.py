"""KerasFileEditor: inspect and edit a saved file's weights without building its model, on files
saved by lamina and by Keras 3, with the loader's rules for files from strangers."""

import os
import zipfile

import h5py
import ml_dtypes
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import KerasFileEditor, archive


def _model(extra=False):
    blocks = [lamina.Input((3,)), layers.Dense(4, name="first"), layers.BatchNormalization()]
    if extra:
        blocks.append(layers.Dense(4, name="inserted"))
    blocks.append(layers.Dense(1, name="head"))
    return lamina.Sequential(blocks)


def _trained(tmp_path):
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((8, 3)), np.ones((8, 1)), verbose=0)
    model.save(tmp_path / "model.keras")
    return model


def test_reads_weights_metadata_and_config_of_a_keras_archive(tmp_path, capsys):
    model = _trained(tmp_path)
    editor = KerasFileEditor(tmp_path / "model.keras")
    dense = editor.weights_dict["layers"]["dense"]
    np.testing.assert_array_equal(dense["0"], model.layers[0].kernel.numpy())
    np.testing.assert_array_equal(dense["1"], model.layers[0].bias.numpy())
    assert list(editor.weights_dict["optimizer"])[:3] == ["0", "1", "2"]   # "10" after "9"
    assert len(editor.weights_dict["optimizer"]) == 2 + 2 * 6   # iterations, rate, m and v
    assert editor.object_metadata["layers/dense"] == {"name": "first"}
    assert editor.config["class_name"] == "Sequential"
    assert editor.metadata["keras_version"] == "3.15.1"
    editor.summary()
    printed = capsys.readouterr().out
    assert "Weights structure" in printed and "dense ('first')" in printed
    assert "0: shape=(3, 4), dtype=float32" in printed


def test_compare_lists_what_differs(tmp_path, capsys):
    model = _trained(tmp_path)
    editor = KerasFileEditor(tmp_path / "model.keras")
    assert editor.compare(model) == {"status": "success", "error_count": 0, "match_count": 22}
    bigger = _model(extra=True)
    bigger.compile(optimizer="adam", loss="mse")
    bigger.optimizer.build(bigger.trainable_variables)
    result = editor.compare(bigger)
    printed = capsys.readouterr().out
    assert result["status"] == "error"
    # The inserted layer shifts names (dense_1 -> dense_2) and the optimizer gains 4 slots.
    assert "Object layers/dense_2 present in reference model, missing from saved file" in \
        printed
    assert "Weight shape mismatch for layers/dense_1/0" in printed


def test_edited_file_loads_into_the_changed_model(tmp_path):
    model = _trained(tmp_path)
    editor = KerasFileEditor(tmp_path / "model.keras")
    bigger = _model(extra=True)
    # The new architecture's head is dense_2; the old head (dense_1) moves there, and the
    # inserted layer gets an identity.
    editor.rename_object("layers/dense_1", "dense_2")
    editor.add_object("layers/dense_1", {"0": np.eye(4, dtype="float32"),
                                         "1": np.zeros(4, "float32")})
    editor.delete_object("optimizer")
    assert editor.object_metadata["layers/dense_2"] == {"name": "head"}
    assert editor.compare(bigger)["status"] == "success"
    editor.save(tmp_path / "edited.weights.h5")
    bigger.load_weights(tmp_path / "edited.weights.h5")
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(bigger.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_weight_edits_and_name_lookup(tmp_path):
    _trained(tmp_path)
    editor = KerasFileEditor(tmp_path / "model.keras")
    editor.delete_weight("batch_normalization", "3")
    assert list(editor.weights_dict["layers"]["batch_normalization"]) == ["0", "1", "2"]
    editor.add_weights("batch_normalization", {"3": np.ones(4, "float32")})
    np.testing.assert_array_equal(editor.weights_dict["layers"]["batch_normalization"]["3"],
                                  np.ones(4))
    with pytest.raises(ValueError, match=r"name '0' occurs more than once.*full path"):
        editor.delete_object("0")
    with pytest.raises(ValueError, match="name 'conv' does not appear in the file"):
        editor.delete_object("conv")
    with pytest.raises(ValueError, match="path 'layers/conv' not found"):
        editor.rename_object("layers/conv", "x")
    with pytest.raises(ValueError, match=r"weight '7' not found in object "
                                         r"'layers/batch_normalization'. Weights found: \['0'"):
        editor.delete_weight("layers/batch_normalization", "7")
    with pytest.raises(ValueError, match="'dense_1' already exists beside 'layers/dense'"):
        editor.rename_object("layers/dense", "dense_1")
    with pytest.raises(ValueError, match="must be a single name, not a path"):
        editor.rename_object("layers/dense", "a/b")
    with pytest.raises(ValueError, match="'layers/dense' already exists"):
        editor.add_object("layers/dense", {"0": np.ones(2)})
    with pytest.raises(ValueError, match="the path 'nowhere' is not an object"):
        editor.add_object("nowhere/dense", {"0": np.ones(2)})
    with pytest.raises(ValueError, match=r"`weights` must be a dict.*type\(weights\)=list"):
        editor.add_object("layers/new", [np.ones(2)])
    with pytest.raises(ValueError, match="weight '0' must hold numbers"):
        editor.add_weights("layers/dense", {"0": np.array(["a"])})
    with pytest.raises(TypeError, match=r"`object_name` must be a non-empty string.*"
                                        r"object_name=3 of type int"):
        editor.delete_object(3)
    with pytest.raises(ValueError, match=r"must be a path ending in `.weights.h5`.*"
                                         r"filepath='out.keras'"):
        editor.save("out.keras")
    # None of the refused edits changed anything.
    assert sorted(editor.weights_dict["layers"]) == ["batch_normalization", "dense", "dense_1"]


def test_a_file_keras_saved_is_read_and_resaved_for_keras(tmp_path):
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3),
                              keras.layers.BatchNormalization()])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, dtype="bfloat16")(inner(inputs)))
    model.save(tmp_path / "k.keras")
    editor = KerasFileEditor(tmp_path / "k.keras")
    # Keras 3.15.1's own editor drops the nested model's weights; lamina keeps them.
    nested = editor.weights_dict["layers"]["sequential"]["layers"]
    assert sorted(nested) == ["batch_normalization", "dense"]
    assert editor.weights_dict["layers"]["dense"]["0"].dtype == ml_dtypes.bfloat16
    editor.save(tmp_path / "resaved.weights.h5")
    clone = keras.models.clone_model(model)
    clone.load_weights(tmp_path / "resaved.weights.h5")
    for a, b in zip(model.get_weights(), clone.get_weights()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    ours = lamina.saving.load_model(tmp_path / "k.keras")
    assert editor.compare(ours)["status"] == "success"
    ours.load_weights(tmp_path / "resaved.weights.h5")


def _weights_file(tmp_path, build):
    path = tmp_path / "hostile.weights.h5"
    with h5py.File(path, "w") as h5_file:
        group = h5_file.create_group("layers/dense/vars")
        group["0"] = np.ones((2, 2), "float32")
        build(h5_file, group)
    return path


@pytest.mark.parametrize("build, message", [
    (lambda f, g: g.__setitem__("1", h5py.SoftLink("/layers/dense/vars/0")), "SoftLink"),
    (lambda f, g: g.__setitem__("1", h5py.ExternalLink("/etc/passwd", "/x")), "ExternalLink"),
    (lambda f, g: g.create_dataset("1", data=np.array([b"text"])), "where a weight's numeric"),
    (lambda f, g: g.create_dataset("1", data=np.ones(2, "uint16")).attrs.__setitem__(
        "dtype", "float64"), "Keras writes only 'bfloat16'"),
])
def test_hostile_weights_files_are_refused(tmp_path, build, message):
    with pytest.raises(ValueError, match=message):
        KerasFileEditor(_weights_file(tmp_path, build))


def test_declared_sizes_are_bounded_before_reading(tmp_path, monkeypatch):
    def huge(h5_file, group):  # a chunked, compressed dataset declaring far more than it holds
        group.create_dataset("1", shape=(4096, 4096), dtype="float32", chunks=(64, 64),
                             compression="gzip")

    path = _weights_file(tmp_path, huge)
    monkeypatch.setattr(archive, "MAX_WEIGHTS_BYTES", 2**20)
    with pytest.raises(ValueError, match=r"declares more than MAX_WEIGHTS_BYTES=1,048,576"):
        KerasFileEditor(path)


def test_deep_group_nesting_is_refused(tmp_path):
    def deep(h5_file, group):
        h5_file.create_group("/".join(["g"] * 150))

    with pytest.raises(ValueError, match="nests groups more than 100 levels"):
        KerasFileEditor(_weights_file(tmp_path, deep))


def test_bad_files_and_paths(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `.keras` or `.weights.h5`.*model.h5"):
        KerasFileEditor(tmp_path / "model.h5")
    with pytest.raises(ValueError, match="must be a path"):
        KerasFileEditor(3)
    with pytest.raises(FileNotFoundError):
        KerasFileEditor(tmp_path / "absent.weights.h5")
    (tmp_path / "junk.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        KerasFileEditor(tmp_path / "junk.weights.h5")
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as zipped:
        zipped.writestr("../config.json", "{}")
        zipped.writestr("config.json", "{}")
        zipped.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="malicious"):   # the archive loader's checks
        KerasFileEditor(tmp_path / "evil.keras")
