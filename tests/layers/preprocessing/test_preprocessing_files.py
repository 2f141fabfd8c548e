"""Adapted preprocessing layers in `.keras` files, both ways with Keras 3.15.

`data/keras_preprocessing_model.keras` was written by Keras 3.15 on JAX (the script beside
it): its vocabularies sit in `assets/<layer path>/vocabulary.txt` (a TextVectorization's
twice: its own and its inner `_lookup_layer`'s), TF-IDF weights in the layer's
`vars/idf_weights`, Discretization's boundaries in its config.
"""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina as keras

DATA = os.path.join(os.path.dirname(__file__), "data")
KERAS_FILE = os.path.join(DATA, "keras_preprocessing_model.keras")


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(DATA, "keras_preprocessing_model.json")) as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def loaded():
    return keras.models.load_model(KERAS_FILE)


def _inputs(expected):
    return [np.array(expected["text"])[:, None], np.array(expected["tags"]),
            np.array(expected["ids"]), np.array(expected["values"], "float32")]


def test_a_keras_file_loads_with_its_vocabularies_and_predicts_kerass_numbers(loaded, expected):
    assert loaded.get_layer("vectorize").get_vocabulary() == expected["vocabulary"]
    assert loaded.get_layer("tag_lookup").get_vocabulary() == expected["tag_vocabulary"]
    assert loaded.get_layer("id_lookup").get_vocabulary() == expected["id_vocabulary"]
    assert loaded.get_layer("bins").bin_boundaries == expected["bin_boundaries"]
    np.testing.assert_array_equal(
        loaded.get_layer("vectorize")(np.array(expected["text"])[:, None]),
        expected["token_ids"])
    np.testing.assert_allclose(loaded.get_layer("tag_lookup")(np.array(expected["tags"])),
                               expected["tag_tf_idf"], rtol=1e-6)
    np.testing.assert_allclose(loaded.predict(_inputs(expected), verbose=0),
                               expected["outputs"], rtol=1e-5, atol=1e-6)


def test_lamina_writes_the_assets_where_keras_does(loaded, tmp_path):
    path = str(tmp_path / "model.keras")
    loaded.save(path)
    with zipfile.ZipFile(KERAS_FILE) as theirs, zipfile.ZipFile(path) as ours:
        their_assets = {n: theirs.read(n) for n in theirs.namelist() if n.startswith("assets")}
        our_assets = {n: ours.read(n) for n in ours.namelist() if n.startswith("assets")}
    assert our_assets == their_assets
    again = keras.models.load_model(path)
    np.testing.assert_allclose(again.get_layer("tag_lookup").idf_weights,
                               loaded.get_layer("tag_lookup").idf_weights)


def _without_sharing_ids(value):
    # Keras marks a dtype policy object met twice with a `shared_object_id` (its id()).
    if isinstance(value, dict):
        return {k: _without_sharing_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_without_sharing_ids(v) for v in value]
    return value


def _layer_configs(config):
    return {layer["name"]: _without_sharing_ids(layer["config"])
            for layer in config["config"]["layers"]}


def test_a_lamina_file_holds_what_keras_reads(loaded, tmp_path):
    """What Keras 3 reads back (Keras itself loads such a file in the next test): the
    preprocessing layers' configs, the vocabulary assets and the TF-IDF weights at
    `vars/idf_weights`, as Keras wrote them."""
    path = str(tmp_path / "from_lamina.keras")
    loaded.save(path)
    with zipfile.ZipFile(KERAS_FILE) as theirs, zipfile.ZipFile(path) as ours:
        their_config = _layer_configs(json.loads(theirs.read("config.json")))
        our_config = _layer_configs(json.loads(ours.read("config.json")))
        weights = {}
        for name, archive in (("theirs", theirs), ("ours", ours)):
            with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
                weights[name] = h5["layers/string_lookup/vars/idf_weights"][()]
    for name in ("vectorize", "tag_lookup", "id_lookup", "bins", "text", "tags"):
        assert our_config[name] == their_config[name], name
    np.testing.assert_array_equal(weights["ours"], weights["theirs"])


def test_keras_loads_a_lamina_file_with_its_vocabularies(loaded, tmp_path, monkeypatch,
                                                         keras_preprocessing_layers):
    """Keras 3 itself loads a file lamina saved and finds the adapted state: vocabularies,
    token ids, TF-IDF outputs and bin boundaries (the script's `--check`, run in-process)."""
    os.environ["KERAS_BACKEND"] = "jax"
    pytest.importorskip("keras")
    pytest.importorskip("tensorflow")  # Keras runs these layers through TensorFlow
    import importlib.util

    from keras.src.utils import module_utils

    # Keras remembers whether TensorFlow imported the first time it asked; an earlier test
    # may have asked while the suite hid it (tests/conftest.py), so it asks again here.
    monkeypatch.setattr(module_utils.tensorflow, "_available", None)

    spec = importlib.util.spec_from_file_location(
        "make_keras_preprocessing_model", os.path.join(DATA, "make_keras_preprocessing_model.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    path = str(tmp_path / "from_lamina.keras")
    loaded.save(path)
    script.check(path)
