"""Shared test fixtures."""

import os
import sys

import pytest

# lamina turns on JAX's persistent compilation cache at import, in the user's cache folder
# (~/.cache/lamina/jax). The suite must not write there, and it keeps it off rather than
# pointing it at a temporary folder: its timings and its budget then do not depend on what an
# earlier run left, and the xdist workers and the subprocesses that tests start (they inherit
# this variable) compile as a user's first run does. tests/_runtime/test_compilation_cache.py
# turns the cache on, in temporary folders, where it is the subject.
os.environ["LAMINA_COMPILATION_CACHE"] = "off"

# TensorFlow is installed for one test dependency (tf-keras, which writes the legacy .h5 files
# of tests/saving/test_legacy_h5.py in a subprocess) and never runs in this process. Keras 3
# imports it whenever it is importable (its file utilities use tf.io.gfile), which costs
# seconds per process on every Keras side-by-side test. A None entry makes `import tensorflow`
# fail and `importlib.util.find_spec("tensorflow")` answer None (what Orbax's etils asks), as
# on a machine without TensorFlow.
sys.modules.setdefault("tensorflow", None)


@pytest.fixture
def keras_preprocessing_layers(monkeypatch):
    """For tests that call Keras's own preprocessing layers: they take any 'tensorflow' entry
    in sys.modules for a tf.data graph and try to import it, so the None entry goes for the
    test (monkeypatch puts it back)."""
    if sys.modules.get("tensorflow", False) is None:
        monkeypatch.delitem(sys.modules, "tensorflow")


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test starts with auto-names counting from zero (`dense`, not `dense_7`)."""
    from lamina._runtime import naming

    naming.reset_names()
    yield
