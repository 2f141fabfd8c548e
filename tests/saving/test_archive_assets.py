"""`assets/` entries of `.keras` archives: written where Keras writes them, read back into the
objects that own them, and bounded like every other entry when the file is hostile."""

import zipfile

import numpy as np
import pytest

import lamina as keras
from lamina.saving import archive


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    vectorize = keras.layers.TextVectorization(output_sequence_length=3, name="words")
    vectorize.adapt(["red fish", "blue fish", "red red"])
    inputs = keras.Input(shape=(1,), dtype="string")
    model = keras.Model(inputs, vectorize(inputs))
    path = str(tmp_path_factory.mktemp("assets") / "model.keras")
    model.save(path)
    return path, model


def _rewrite(source, target, change):
    """Copies the archive `source` to `target`, entries passed through `change(name, data)`
    (which returns a list of (name, data) to write)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in old.namelist():
            for new_name, data in change(name, old.read(name)):
                new.writestr(new_name, data)


def test_vocabulary_round_trips_through_the_assets(saved):
    path, model = saved
    with zipfile.ZipFile(path) as zipped:
        assert zipped.read("assets/layers/text_vectorization/vocabulary.txt") == \
            b"\n[UNK]\nred\nfish\nblue"
    loaded = keras.models.load_model(path)
    assert loaded.predict(np.array([["red fish blue"]]), verbose=0).tolist() == [[2, 3, 4]]
    assert loaded.predict(np.array([["blue"]]), verbose=0).tolist() == \
        model.predict(np.array([["blue"]]), verbose=0).tolist()


@pytest.mark.parametrize("bad_name", [
    "assets/layers/text_vectorization/sub\\evil.txt",
    "assets/layers/text_vectorization/c:evil.txt",
    "assets/layers//vocabulary.txt",
    "assets/layers/./text_vectorization/vocabulary.txt",
])
def test_an_asset_name_that_is_not_a_plain_relative_path_is_refused(saved, tmp_path, bad_name):
    path, _ = saved
    hostile = str(tmp_path / "hostile.keras")
    _rewrite(path, hostile, lambda name, data: [(name, data)] + (
        [(bad_name, b"x")] if name == "model.weights.h5" else []))
    with pytest.raises(ValueError, match="asset entry .* plain relative paths"):
        keras.models.load_model(hostile)


def test_assets_larger_than_the_limit_are_refused_before_reading(saved, tmp_path,
                                                                 monkeypatch):
    path, _ = saved
    hostile = str(tmp_path / "big.keras")
    _rewrite(path, hostile, lambda name, data: [(name, data + b"\nfiller" * 50
                                                 if name.startswith("assets/") else data)])
    monkeypatch.setattr(archive, "MAX_ASSETS_BYTES", 100)
    with pytest.raises(ValueError, match="over MAX_ASSETS_BYTES=100"):
        keras.models.load_model(hostile)


def test_a_traversing_asset_is_refused_and_nothing_is_written_outside(saved, tmp_path):
    path, _ = saved
    hostile = str(tmp_path / "traversal.keras")
    _rewrite(path, hostile, lambda name, data: [(name, data)] + (
        [("assets/../../escaped.txt", b"x")] if name == "model.weights.h5" else []))
    with pytest.raises(ValueError, match="'..'"):
        keras.models.load_model(hostile)
    assert not (tmp_path / "escaped.txt").exists()


def test_assets_for_objects_the_model_lacks_are_ignored(saved, tmp_path):
    path, _ = saved
    extra = str(tmp_path / "extra.keras")
    _rewrite(path, extra, lambda name, data: [(name, data)] + (
        [("assets/layers/no_such_layer/vocabulary.txt", b"a\nb")]
        if name == "model.weights.h5" else []))
    loaded = keras.models.load_model(extra)
    assert loaded.layers[1].get_vocabulary() == ["", "[UNK]", "red", "fish", "blue"]
