"""`weights="imagenet"` downloads Keras's file through `get_file` (checked against its hash)
and loads it; `weights=<path>` loads a file. Tested on a local HTTP server serving a small
MobileNet (alpha=0.25, 32x32) weights file this test writes in the legacy HDF5 layout that
Keras's application files use."""

import functools
import hashlib
import http.server
import threading

import h5py
import numpy as np
import pytest

import lamina
from lamina.applications import _common, mobilenet_v3
from lamina.saving.legacy_h5 import write_weights

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """An HTTP server over a folder; yields (folder, base URL)."""
    root = tmp_path_factory.mktemp("weights_server")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def pretrained(server):
    """A MobileNet(alpha=0.25) without its top, with random weights, served where
    `weights="imagenet"` looks for it (Keras's file name for 224x224)."""
    root, _ = server
    model = lamina.applications.MobileNet(alpha=0.25, include_top=False, weights=None,
                                          input_shape=(32, 32, 3), pooling="avg")
    (root / "mobilenet").mkdir()
    path = root / "mobilenet" / "mobilenet_2_5_224_tf_no_top.h5"
    with h5py.File(path, "w") as f:
        write_weights(model, f)
    return model, path


@pytest.fixture
def keras_home(tmp_path, monkeypatch, server):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(_common, "KERAS_WEIGHTS", server[1])
    return tmp_path


def test_imagenet_weights_are_downloaded_cached_and_loaded(pretrained, keras_home):
    model, served = pretrained
    with pytest.warns(UserWarning, match="Weights for input shape \\(224, 224\\)"):
        loaded = lamina.applications.MobileNet(alpha=0.25, include_top=False,
                                               weights="imagenet", input_shape=(32, 32, 3),
                                               pooling="avg")
    cached = keras_home / "models" / "mobilenet_2_5_224_tf_no_top.h5"
    assert cached.read_bytes() == served.read_bytes()
    for mine, theirs in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def test_a_weights_path_is_loaded(pretrained):
    model, served = pretrained
    loaded = lamina.applications.MobileNet(alpha=0.25, include_top=False, weights=str(served),
                                           input_shape=(32, 32, 3), pooling="avg")
    for mine, theirs in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())


def _serve_mobilenet_v3(root, model):
    name = "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5"
    (root / "mobilenet_v3").mkdir(exist_ok=True)
    with h5py.File(root / "mobilenet_v3" / name, "w") as f:
        write_weights(model, f)
    return name, hashlib.sha256((root / "mobilenet_v3" / name).read_bytes()).hexdigest()


def test_the_file_hash_is_checked(server, keras_home, monkeypatch):
    root, base = server
    arguments = dict(minimalistic=True, include_top=False, input_shape=(32, 32, 3))
    model = lamina.applications.MobileNetV3Small(weights=None, **arguments)
    name, sha256 = _serve_mobilenet_v3(root, model)
    keras_md5 = mobilenet_v3.WEIGHTS_HASHES["small_minimalistic_224_1.0_float"][1]
    # Keras's hash does not match this file: refused, naming the URL and both hashes.
    with pytest.warns(UserWarning), pytest.raises(ValueError) as error:
        lamina.applications.MobileNetV3Small(weights="imagenet", **arguments)
    message = str(error.value)
    assert f"{base}mobilenet_v3/{name}" in message and keras_md5 in message
    assert hashlib.md5((root / "mobilenet_v3" / name).read_bytes()).hexdigest() in message
    assert not (keras_home / "models" / name).exists()  # nothing cached
    # With the file's own hash it loads.
    monkeypatch.setitem(mobilenet_v3.WEIGHTS_HASHES, "small_minimalistic_224_1.0_float",
                        ("unused", sha256))
    with pytest.warns(UserWarning):
        loaded = lamina.applications.MobileNetV3Small(weights="imagenet", **arguments)
    for mine, theirs in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
