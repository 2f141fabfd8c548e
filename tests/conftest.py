"""Shared test fixtures."""

import atexit
import os
import shutil
import sys
import tempfile

import pytest

# lamina turns on JAX's persistent compilation cache at import, in the user's cache folder
# (~/.cache/lamina/jax). The suite never writes there: lamina's own cache is off, and the run
# shares its programs through JAX's settings in a fresh temporary folder instead
# (`_share_compiled_programs_within_the_run` below), which lamina leaves alone as it leaves
# any user's JAX settings. tests/_runtime/test_compilation_cache.py clears both where lamina's
# cache is the subject.
os.environ["LAMINA_COMPILATION_CACHE"] = "off"

# TensorFlow is installed for one test dependency (tf-keras, which writes the legacy .h5 files
# of tests/saving/test_legacy_h5.py in a subprocess) and never runs in this process. Keras 3
# imports it whenever it is importable (its file utilities use tf.io.gfile), which costs
# seconds per process on every Keras side-by-side test. A None entry makes `import tensorflow`
# fail and `importlib.util.find_spec("tensorflow")` answer None (what Orbax's etils asks), as
# on a machine without TensorFlow.
sys.modules.setdefault("tensorflow", None)


def _share_compiled_programs_within_the_run():
    """JAX's persistent compilation cache, in a folder made fresh for this run and removed at
    its end, shared by the xdist workers and by the processes tests start (they inherit the
    environment): a program compiled once in the run is read back wherever the same program
    (same HLO, shapes, options and device count) is compiled again, by the same test model in
    another test, a second run of the demo, Keras and lamina in two workers. The suite compiles
    thousands of small XLA programs and compiling is most of its CPU time; a run still starts
    from an empty cache, so its time does not depend on earlier runs, and nothing is written
    outside the temporary folder. What a test proves does not change: a program read back is
    the one XLA compiled for the same computation.

    The folder's size is not capped: with a cap JAX lists the whole folder at every write to
    find what to evict (37 ms per write at 1,000 entries, quadratic over a run). Without it
    JAX takes no file lock, so a worker could in principle read an entry the other is still
    writing (a window of microseconds); JAX then warns and compiles the program itself. Not
    set when the user set JAX_COMPILATION_CACHE_DIR themselves.
    """
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    folder = os.environ.get("LAMINA_TESTS_JAX_CACHE")
    if folder is None:  # the process that starts the run owns the folder
        folder = tempfile.mkdtemp(prefix="lamina-tests-jax-cache-")
        os.environ["LAMINA_TESTS_JAX_CACHE"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    settings = {
        "JAX_COMPILATION_CACHE_DIR": folder,
        # JAX writes only programs that took over a second to compile; on a CPU most of the
        # suite's take less.
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        # Uncapped, said explicitly: lamina caps a cache it turns on (1 GiB, least recently
        # used first) unless the user set the size, and a docstring example that turns the
        # cache back on would otherwise cap this one for the rest of the worker's run.
        "JAX_COMPILATION_CACHE_MAX_SIZE": "-1",
    }
    os.environ.update(settings)
    if "jax" in sys.modules:  # imported before this file (a plugin): set it there too
        import jax

        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_compilation_cache_max_size", -1)


_share_compiled_programs_within_the_run()


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
