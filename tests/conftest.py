"""Shared test fixtures."""

import sys

import pytest

# TensorFlow is installed for one test dependency (tf-keras, which writes the legacy .h5 files
# of tests/saving/test_legacy_h5.py in a subprocess) and never runs in this process. Keras 3
# imports it whenever it is importable (its file utilities use tf.io.gfile), which costs
# seconds per process on every Keras side-by-side test; marked absent, Keras runs as it does
# where TensorFlow is not installed.
sys.modules.setdefault("tensorflow", None)


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test starts with auto-names counting from zero (`dense`, not `dense_7`)."""
    from lamina._runtime import naming

    naming.reset_names()
    yield
