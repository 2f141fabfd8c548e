"""JAX's persistent compilation cache, turned on by lamina in a user cache folder.

A fresh Python process compiles every training program again; with JAX's persistent cache the
compiled XLA executables of slow compilations are written to a folder and read back by the
next process that compiles the same program (same model, shapes, JAX version and machine),
which shortens the first epoch of a re-run script (figures in benchmarks/README.md).

At `import lamina` the cache goes on in `$XDG_CACHE_HOME/lamina/jax` (`~/.cache/lamina/jax`)
unless:

* the environment variable `LAMINA_COMPILATION_CACHE` says `0`, `off`, `false`, `no` or
  `none` (any other value is the folder to use instead);
* the user configured JAX's own cache (`jax_compilation_cache_dir` set, by
  `JAX_COMPILATION_CACHE_DIR` or `jax.config.update` before importing lamina), or turned it
  off (`jax_enable_compilation_cache` false): their settings are left exactly as they are;
* the folder cannot be created or written (a read-only home, a sandbox): the cache stays
  off, silently, and everything else works as before.

When lamina owns the cache it also sets two of JAX's options, each only where it still holds
JAX's default (never a value the user set, by `JAX_...` environment variables or
`jax.config.update` before importing lamina):

* `jax_persistent_cache_min_compile_time_secs` to 0 (JAX's default is one second): on a CPU
  most of lamina's programs compile in less than a second each, so with JAX's threshold a
  re-run still compiles most of them (benchmarks/startup.py measures both thresholds);
* `jax_compilation_cache_max_size` to 1 GiB, least recently used entries evicted first. It
  needs the `filelock` package, a dependency of lamina: every install must write the folder
  the same way, since an uncapped writer leaves entries without the access-time files the
  capped ones read, and JAX then fails (with a warning) to write any new entry. The file lock
  also keeps concurrent processes from reading an entry another one is still writing.

The folder is created readable by its owner only: JAX's cache holds executable code and must
be trusted (never point it at a folder others can write to).
"""

import importlib.util
import os

import jax
from jax.experimental.compilation_cache import compilation_cache as _jax_cache

ENVIRONMENT_VARIABLE = "LAMINA_COMPILATION_CACHE"
_OFF_WORDS = frozenset({"0", "off", "false", "no", "none"})
# Enough for the compiled programs of many models (a ResNet-20's programs take about 400 KB);
# least recently used entries go first.
MAX_CACHE_BYTES = 1 << 30
_JAX_DEFAULT_MAX_SIZE = -1
_JAX_DEFAULT_MIN_COMPILE_SECS = 1.0
_MIN_COMPILE_SECS_VARIABLE = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"
_MAX_SIZE_VARIABLE = "JAX_COMPILATION_CACHE_MAX_SIZE"


def default_cache_dir():
    """`$XDG_CACHE_HOME/lamina/jax`, or `~/.cache/lamina/jax` when that variable is unset."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lamina", "jax")


def _usable(path):
    """Creates `path` (owner-only) if needed; whether this process can write files in it."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError:
        return False
    return os.path.isdir(path) and os.access(path, os.W_OK | os.X_OK)


def _has_filelock():
    # Asked without importing it: JAX imports it at the first compilation, and importing it
    # here would add to every `import lamina`.
    return importlib.util.find_spec("filelock") is not None


def _turn_on(path):
    jax.config.update("jax_compilation_cache_dir", path)
    if (jax.config.jax_persistent_cache_min_compile_time_secs == _JAX_DEFAULT_MIN_COMPILE_SECS
            and _MIN_COMPILE_SECS_VARIABLE not in os.environ):
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    if (jax.config.jax_compilation_cache_max_size == _JAX_DEFAULT_MAX_SIZE
            and _MAX_SIZE_VARIABLE not in os.environ and _has_filelock()):
        jax.config.update("jax_compilation_cache_max_size", MAX_CACHE_BYTES)
    # JAX opens its cache once, at the first compilation; a folder set later needs a reopen.
    _jax_cache.reset_cache()


def configure_at_import():
    """Turns the cache on in the default (or `LAMINA_COMPILATION_CACHE`'s) folder, unless the
    user's environment or JAX configuration says otherwise (see the module docstring)."""
    if jax.config.jax_compilation_cache_dir is not None:
        return
    if not jax.config.jax_enable_compilation_cache:
        return
    value = os.environ.get(ENVIRONMENT_VARIABLE)
    if value is not None and value.strip().lower() in _OFF_WORDS | {""}:
        return
    path = os.path.abspath(os.path.expanduser(value.strip())) if value else default_cache_dir()
    if _usable(path):
        _turn_on(path)


def compilation_cache_dir():
    """The folder of JAX's persistent compilation cache in this process, or None when off.

    lamina turns the cache on at import in `~/.cache/lamina/jax` (or
    `$XDG_CACHE_HOME/lamina/jax`), so a script run again reads its compiled programs back
    instead of compiling them; the environment variable `LAMINA_COMPILATION_CACHE` moves the
    folder or, set to `off`, keeps the cache off. A folder set with JAX's own
    `jax_compilation_cache_dir` is reported as it is.

    Examples:
        >>> folder = lamina.config.compilation_cache_dir()  # '/home/me/.cache/lamina/jax'
        >>> folder is None or isinstance(folder, str)         # None: the cache is off
        True
    """
    if not jax.config.jax_enable_compilation_cache:
        return None
    return jax.config.jax_compilation_cache_dir


def set_compilation_cache_dir(path):
    """Moves JAX's persistent compilation cache to the folder `path`, or turns it off (None).

    Programs compiled from then on are looked up in, and written to, the new folder. Use it to
    keep the cache on a faster or larger disk, to share one between your own projects, or to
    turn it off for a process (`None`; the environment variable `LAMINA_COMPILATION_CACHE=off`
    does so before import, for every process).

    Raises:
        ValueError: `path` is not a string, a path-like object or None.
        PermissionError: the folder cannot be created or written.

    Examples:
        >>> before = lamina.config.compilation_cache_dir()
        >>> lamina.config.set_compilation_cache_dir(None)       # off for this process
        >>> lamina.config.compilation_cache_dir() is None
        True
        >>> lamina.config.set_compilation_cache_dir(before)     # back to where it was
    """
    if path is None:
        jax.config.update("jax_compilation_cache_dir", None)
        return
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(
            "set_compilation_cache_dir expects a folder path (a string or path-like object) "
            f"or None to turn the cache off. Received: path={path!r} of type "
            f"{type(path).__name__}.")
    folder = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not _usable(folder):
        raise PermissionError(
            f"Cannot use {folder!r} as the compilation cache folder: it cannot be created or "
            "this process cannot write in it. Pass a folder you can write to, or None to turn "
            "the cache off.")
    if not jax.config.jax_enable_compilation_cache:
        jax.config.update("jax_enable_compilation_cache", True)
    _turn_on(folder)
