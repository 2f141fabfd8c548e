"""Hostile HDF5 weights files: members that would make h5py read bytes from other files.

A weights file from a stranger may hold a soft or external link, a virtual dataset, or a
dataset whose storage is another file. Followed, they load the bytes of any file on disk (a
secret, `/etc/hostname`) into the weights, or silent zeros when the target is missing. Each
is refused with an error naming the member, before any variable changes, both for
`load_weights` on a `.weights.h5` file and inside a `.keras` archive.
"""

import zipfile

import h5py
import numpy as np
import pytest

import lamina as keras


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, use_bias=False)])
    model.layers[0].kernel.assign(np.full((2, 2), 7.0, "float32"))
    return model


def _secret(tmp_path):
    """Another file whose bytes must never reach the weights: 16 bytes, a (2, 2) float32."""
    path = tmp_path / "secret.bin"
    path.write_bytes(np.arange(4, dtype="float32").tobytes())
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("kernel", data=np.arange(4, dtype="float32").reshape(2, 2))
    return path, other


def _tamper(path, member, kind, tmp_path):
    """Replaces the kernel's dataset `member` of the weights file by a hostile one."""
    secret, other = _secret(tmp_path)
    with h5py.File(path, "r+") as f:
        where = f"layers/dense/vars/{member}"
        del f[where]
        if kind == "external link":
            f[where] = h5py.ExternalLink(str(other), "/kernel")
        elif kind == "soft link":
            f.create_dataset("elsewhere", data=np.zeros((2, 2), "float32"))
            f[where] = h5py.SoftLink("/elsewhere")
        elif kind == "external storage":
            f.create_dataset(where, shape=(2, 2), dtype="float32",
                             external=[(str(secret), 0, 16)])
        elif kind == "virtual dataset":
            layout = h5py.VirtualLayout(shape=(2, 2), dtype="float32")
            layout[:] = h5py.VirtualSource(str(other), "kernel", shape=(2, 2))
            f.create_virtual_dataset(where, layout)


KINDS = ["external link", "soft link", "external storage", "virtual dataset"]


@pytest.mark.parametrize("kind", KINDS)
def test_weights_files_that_read_other_files_are_refused(tmp_path, kind):
    path = tmp_path / "model.weights.h5"
    _model().save_weights(path)
    _tamper(path, "0", kind, tmp_path)
    target = _model()
    target.layers[0].kernel.assign(np.ones((2, 2), "float32"))
    with pytest.raises(ValueError, match="layers/dense/vars/0") as caught:
        target.load_weights(path)
    assert "refusing" in str(caught.value)
    np.testing.assert_array_equal(target.layers[0].kernel.numpy(), 1.0)  # nothing loaded


@pytest.mark.parametrize("kind", ["external link", "external storage"])
def test_archives_whose_weights_read_other_files_are_refused(tmp_path, kind):
    archive = tmp_path / "model.keras"
    _model().save(archive)
    with zipfile.ZipFile(archive) as source:
        entries = {name: source.read(name) for name in source.namelist()}
    weights = tmp_path / "inner.weights.h5"
    weights.write_bytes(entries["model.weights.h5"])
    _tamper(weights, "0", kind, tmp_path)
    entries["model.weights.h5"] = weights.read_bytes()
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(hostile, "w") as target:
        for name, data in entries.items():
            target.writestr(name, data)
    with pytest.raises(ValueError, match="refusing"):
        keras.models.load_model(hostile)


def test_plain_weights_still_load(tmp_path):
    path = tmp_path / "model.weights.h5"
    _model().save_weights(path)
    target = _model()
    target.layers[0].kernel.assign(np.ones((2, 2), "float32"))
    target.load_weights(path)
    np.testing.assert_array_equal(target.layers[0].kernel.numpy(), 7.0)
