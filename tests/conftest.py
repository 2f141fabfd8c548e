"""Shared test fixtures."""

import importlib.abc
import sys

import pytest



class _HideTensorFlow(importlib.abc.MetaPathFinder):
    """TensorFlow is installed for one test dependency (tf-keras, which writes the legacy .h5
    files of tests/saving/test_legacy_h5.py in a subprocess) and never runs in this process.
    Keras 3 imports it whenever it is importable (its file utilities use tf.io.gfile), which
    costs seconds per process on every Keras side-by-side test. Importing it here fails as if
    it were not installed, so Keras runs as it does without TensorFlow. (A None entry in
    sys.modules would not do: Keras's preprocessing layers take any 'tensorflow' entry there
    for a tf.data graph.)"""

    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(
                f"No module named {name!r} (hidden from the test process by tests/conftest.py)",
                name=name)
        return None


if "tensorflow" not in sys.modules:
    sys.meta_path.insert(0, _HideTensorFlow())


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test starts with auto-names counting from zero (`dense`, not `dense_7`)."""
    from lamina._runtime import naming

    naming.reset_names()
    yield
