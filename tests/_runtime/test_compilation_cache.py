"""JAX's persistent compilation cache, which lamina turns on at import in a user cache folder.

tests/conftest.py keeps lamina's cache off for the suite (which shares its programs through
JAX's own settings in a temporary folder); here those settings are cleared and lamina's cache
is turned on in temporary folders only, in child processes (what a user's second run sees) and
in this process with JAX's settings put back after each test.
"""

import json
import os
import subprocess
import sys
import warnings

import jax
import numpy as np
import pytest

import lamina
from lamina._runtime import compilation_cache as cache

_SETTINGS = ("jax_compilation_cache_dir", "jax_enable_compilation_cache",
             "jax_persistent_cache_min_compile_time_secs", "jax_compilation_cache_max_size")

# One compiled training program, then what JAX's monitoring says about the cache.
_CHILD = """
import json, os, sys
import jax, numpy as np
hits = []
def listen(event, **kwargs):
    if event == "/jax/compilation_cache/cache_hits":
        hits.append(event)
jax.monitoring.register_event_listener(listen)
import lamina as keras
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.compile(optimizer="sgd", loss="mse")
model.fit(np.ones((8, 3), "float32"), np.zeros((8, 2), "float32"), batch_size=4, verbose=0)
print(json.dumps({"dir": keras.config.compilation_cache_dir(), "hits": len(hits)}))
"""


def _run_child(tmp_path, **env):
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("LAMINA_COMPILATION_CACHE", "XDG_CACHE_HOME", *_SUITE_VARIABLES)}
    environment.update(HOME=str(tmp_path / "home"), **env)
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True,
                          env=environment, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


# What tests/conftest.py sets for the suite's shared cache (JAX's own settings, which lamina
# leaves alone): cleared where lamina's cache is the subject.
_SUITE_VARIABLES = ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
                    "JAX_COMPILATION_CACHE_MAX_SIZE")


@pytest.fixture
def jax_settings(monkeypatch):
    """Starts from JAX's defaults (the suite's shared cache cleared) and puts JAX's cache
    settings back (and reopens JAX's cache) after a test changes them."""
    saved = {name: getattr(jax.config, name) for name in _SETTINGS}
    for variable in _SUITE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    jax.config.update("jax_compilation_cache_dir", None)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    yield
    for name, value in saved.items():
        jax.config.update(name, value)
    from jax.experimental.compilation_cache import compilation_cache

    compilation_cache.reset_cache()


def test_a_second_process_reads_the_programs_the_first_compiled(tmp_path):
    folder = tmp_path / "cache"
    first, _ = _run_child(tmp_path, LAMINA_COMPILATION_CACHE=str(folder))
    assert first == {"dir": str(folder), "hits": 0}
    assert any(name.endswith("-cache") for name in os.listdir(folder))
    second, _ = _run_child(tmp_path, LAMINA_COMPILATION_CACHE=str(folder))
    assert second["hits"] >= 1
    # The default folder was never used.
    assert not (tmp_path / "home" / ".cache").exists()


def test_an_unwritable_folder_leaves_the_cache_off_and_training_quiet(
        tmp_path, monkeypatch, jax_settings):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LAMINA_COMPILATION_CACHE", str(blocker / "cache"))
    jax.config.update("jax_compilation_cache_dir", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache.configure_at_import()        # what `import lamina` runs
        assert lamina.config.compilation_cache_dir() is None
        model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(np.ones((8, 3), "float32"), np.zeros((8, 2), "float32"),
                            batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_the_default_folder_follows_xdg_cache_home(tmp_path, monkeypatch, jax_settings):
    monkeypatch.delenv("LAMINA_COMPILATION_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    jax.config.update("jax_compilation_cache_dir", None)
    cache.configure_at_import()
    assert lamina.config.compilation_cache_dir() == str(tmp_path / "lamina" / "jax")
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0
    assert os.stat(tmp_path / "lamina" / "jax").st_mode & 0o077 == 0   # owner only


@pytest.mark.parametrize("word", ["off", "0", "False", "none", ""])
def test_the_environment_variable_turns_it_off(word, tmp_path, monkeypatch, jax_settings):
    monkeypatch.setenv("LAMINA_COMPILATION_CACHE", word)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    jax.config.update("jax_compilation_cache_dir", None)
    cache.configure_at_import()
    assert lamina.config.compilation_cache_dir() is None
    assert not (tmp_path / "lamina").exists()


def test_a_users_own_jax_cache_settings_are_left_alone(tmp_path, monkeypatch, jax_settings):
    monkeypatch.setenv("LAMINA_COMPILATION_CACHE", str(tmp_path / "lamina-cache"))
    jax.config.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    cache.configure_at_import()
    assert lamina.config.compilation_cache_dir() == str(tmp_path / "mine")
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 1.0
    assert not (tmp_path / "lamina-cache").exists()


def test_set_compilation_cache_dir_moves_it_and_turns_it_off(tmp_path, jax_settings):
    lamina.config.set_compilation_cache_dir(tmp_path / "moved")
    assert lamina.config.compilation_cache_dir() == str(tmp_path / "moved")
    assert (tmp_path / "moved").is_dir()
    lamina.config.set_compilation_cache_dir(None)
    assert lamina.config.compilation_cache_dir() is None


def test_set_compilation_cache_dir_refuses_bad_folders_and_changes_nothing(
        tmp_path, jax_settings):
    lamina.config.set_compilation_cache_dir(tmp_path / "kept")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="cannot be created or this process cannot write"):
        lamina.config.set_compilation_cache_dir(blocker / "cache")
    with pytest.raises(ValueError, match="Received: path=3 of type int"):
        lamina.config.set_compilation_cache_dir(3)
    assert lamina.config.compilation_cache_dir() == str(tmp_path / "kept")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lamina.function(lambda x: x * 2)(jax.numpy.ones(3))
