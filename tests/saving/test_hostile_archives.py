"""The limits loading puts on an archive, and the knobs that raise them for a trusted file.

The hostile-file corpus (test_hostile_corpus.py) shows each limit refusing an attack; these
tests show the other side: a genuine archive, re-zipped as a user might, still loads, and each
limit names the module attribute that lets a trusted file through.
"""

import io
import json
import struct
import zipfile

import numpy as np
import pytest

import lamina as keras
from lamina import _serialization as serialization
from lamina.saving import archive as archive_module


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    return model, path, entries


def _rezip(path, entries, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as target:
        for name, data in entries.items():
            target.writestr(name, data)
    return path


def test_an_archive_rezipped_with_deflate_loads(saved, tmp_path):
    model, _, entries = saved
    path = _rezip(tmp_path / "deflated.keras", entries, zipfile.ZIP_DEFLATED)
    loaded = keras.models.load_model(path)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(loaded(x), model(x))


def test_a_big_all_zero_model_compressed_past_the_ratio_is_refused_unless_trusted(
        tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(256, kernel_initializer="zeros")])
    path = tmp_path / "zeros.keras"
    model.save(path)
    with zipfile.ZipFile(path) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    path = _rezip(tmp_path / "zeros_deflated.keras", entries, zipfile.ZIP_DEFLATED)
    monkeypatch.setattr(archive_module, "RATIO_EXEMPT_BYTES", 1024)
    with pytest.raises(ValueError, match="MAX_COMPRESSION_RATIO=100:1") as caught:
        keras.models.load_model(path)
    assert "model.weights.h5" in str(caught.value)
    monkeypatch.setattr(archive_module, "MAX_COMPRESSION_RATIO", 10**6)
    assert keras.models.load_model(path).layers[0].kernel.shape == (64, 256)


def test_entry_size_limits_name_their_knob(saved, monkeypatch):
    _, path, entries = saved
    monkeypatch.setattr(archive_module, "MAX_JSON_BYTES", len(entries["config.json"]) - 1)
    with pytest.raises(ValueError, match="MAX_JSON_BYTES") as caught:
        keras.models.load_model(path)
    assert "config.json" in str(caught.value)
    monkeypatch.setattr(archive_module, "MAX_JSON_BYTES", 2**20)
    monkeypatch.setattr(archive_module, "MAX_WEIGHTS_BYTES", 100)
    with pytest.raises(ValueError, match="MAX_WEIGHTS_BYTES"):
        keras.models.load_model(path)
    monkeypatch.setattr(archive_module, "MAX_WEIGHTS_BYTES", 2**30)
    keras.models.load_model(path)


def test_entry_count_limit_names_its_knob(saved, tmp_path, monkeypatch):
    _, _, entries = saved
    entries = dict(entries, **{f"assets/{i}": b"" for i in range(20)})
    path = _rezip(tmp_path / "assets.keras", entries)
    monkeypatch.setattr(archive_module, "MAX_ENTRIES", 10)
    with pytest.raises(ValueError, match="MAX_ENTRIES"):
        keras.models.load_model(path)
    monkeypatch.setattr(archive_module, "MAX_ENTRIES", 100)
    keras.models.load_model(path)


def _overlapping_archive(entries):
    """A zip whose directory lists the weights bytes a second time under another name: the
    overlapped-file bomb makes a few bytes on disk count many times."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, data in entries.items():
            target.writestr(name, data)
    data = bytearray(buffer.getvalue())
    end = data.rfind(b"PK\x05\x06")
    count, directory_size, directory_at = struct.unpack_from("<H2L", data, end + 10)
    first = data.find(b"PK\x01\x02", directory_at)
    name_length = struct.unpack_from("<H", data, first + 28)[0]
    record = bytes(data[first:first + 46 + name_length])
    copy = bytearray(record[:46]) + b"x" * name_length  # same data, another name
    directory = bytes(data[directory_at:end]) + bytes(copy)
    tail = bytearray(data[end:])
    struct.pack_into("<2H2L", tail, 8, count + 1, count + 1, directory_size + len(copy),
                     directory_at)
    return bytes(data[:directory_at]) + directory + bytes(tail)


def test_overlapping_entries_are_refused(saved, tmp_path):
    _, _, entries = saved
    path = tmp_path / "overlap.keras"
    path.write_bytes(_overlapping_archive(entries))
    with pytest.raises(ValueError, match="overlap|run into"):
        keras.models.load_model(path)


def test_a_crc_mismatch_is_found_while_streaming(saved, tmp_path):
    _, _, entries = saved
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        target.writestr("config.json", entries["config.json"])
        target.writestr("model.weights.h5", entries["model.weights.h5"])
    data = bytearray(buffer.getvalue())
    at = data.find(b"PK\x03\x04", 1)  # the weights entry's local header
    data[at + 30 + len("model.weights.h5") + 100] ^= 0xFF  # one byte of its stored data
    path = tmp_path / "flipped.keras"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum"):
        keras.models.load_model(path)


def test_config_depth_is_bounded_but_genuine_nesting_loads(tmp_path, monkeypatch):
    inner = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    for _ in range(6):  # models inside models: each level adds a few JSON levels
        inner = keras.Sequential([keras.Input((3,)), inner])
    path = tmp_path / "nested.keras"
    inner.save(path)
    keras.models.load_model(path)
    monkeypatch.setattr(serialization, "MAX_CONFIG_DEPTH", 10)
    with pytest.raises(ValueError, match="MAX_CONFIG_DEPTH"):
        keras.models.load_model(path)
    with pytest.raises(ValueError, match="MAX_CONFIG_DEPTH"):
        serialization.deserialize_keras_object(json.loads(
            '{"class_name": "Dense", "config": {"units": ' + "[" * 20 + "]" * 20 + "}}"))


def test_overflowing_weights_are_refused_but_float64_within_range_loads(tmp_path):
    import h5py

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, use_bias=False)])
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    for values, error in ((np.array([[0.25], [-3.0]]), None),
                          (np.array([[1e300], [0.0]]), "overflow to infinity")):
        with h5py.File(path, "r+") as f:
            del f["layers/dense/vars/0"]
            f.create_dataset("layers/dense/vars/0", data=values)  # float64
        if error is None:
            model.load_weights(path)
            np.testing.assert_array_equal(model.layers[0].kernel.numpy(), values)
            continue
        with pytest.raises(ValueError, match=error) as caught:
            model.load_weights(path)
        assert "dense/kernel" in str(caught.value)
        np.testing.assert_array_equal(model.layers[0].kernel.numpy(), [[0.25], [-3.0]])


def test_the_limits_are_documented_module_attributes():
    for name in ("MAX_ENTRIES", "MAX_JSON_BYTES", "MAX_WEIGHTS_BYTES", "MAX_COMPRESSION_RATIO",
                 "RATIO_EXEMPT_BYTES"):
        assert isinstance(getattr(archive_module, name), int)
        assert name in archive_module.__doc__
