"""A witness for loading untrusted files: what did the load do to the world outside it?

Python's audit hooks (PEP 578) report every file opened, process started, socket used, module
imported and code object executed through the interpreter. `LoadWatch` records those events
while a load runs and names each one that a load has no business causing: opening any file
but the one being loaded (and the library's own modules), starting a process, touching the
network, changing files or folders, importing a module outside the numerical stack, or
unmarshalling and running code that is not part of an import. Together with a sentinel file an
attack tries to create, it shows "no code ran, nothing outside the load was read or written".

It also bounds what a load costs: `measure()` reports the wall time and how far the process's
peak resident memory grew. (The C library HDF5 opens files without Python seeing it; the
hostile weights files are checked by their values instead.)
"""

import contextlib
import os
import resource
import sys
import sysconfig
import threading
import time

# Events that a load never needs. Audit event names are those of the Python documentation's
# "Audit events table".
_FORBIDDEN_EVENTS = {
    "os.system", "subprocess.Popen", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "pty.spawn", "socket.connect", "socket.bind",
    "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request", "http.client.connect",
    "ftplib.connect", "smtplib.connect", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
    "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.utime", "os.putenv",
    "os.unsetenv", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree",
    "shutil.move", "shutil.rmtree", "shutil.unpack_archive", "tempfile.mkstemp",
    "tempfile.mkdtemp", "ctypes.dlopen", "ctypes.call_function", "webbrowser.open",
    "pickle.find_class", "code.__new__", "function.__new__",
}
# The numerical stack a load may import lazily (the first time a code path runs).
_IMPORTABLE = ("lamina", "jax", "jaxlib", "numpy", "h5py", "ml_dtypes", "scipy", "opt_einsum",
               "encodings", "zlib", "_compression", "bz2", "lzma", "json", "tqdm")


def _code_folders():
    """Folders whose files a load may read: Python's and installed packages' code, lamina."""
    paths = {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib",
                                                    "platlib")}
    paths.add(os.path.dirname(os.path.abspath(__import__("lamina").__file__)))
    return tuple(os.path.realpath(path) + os.sep for path in paths)


class LoadWatch:
    """Records forbidden side effects of the code run inside `watching(allowed_paths)`.

    Audit hooks cannot be removed, so one hook is installed per process and only records
    while a watch is active, and only on the thread that started it.
    """

    _installed = None

    def __init__(self):
        self._active = None
        self.violations = []
        self._code_folders = _code_folders()

    @classmethod
    def instance(cls):
        if cls._installed is None:
            cls._installed = cls()
            sys.addaudithook(cls._installed._hook)
        return cls._installed

    @contextlib.contextmanager
    def watching(self, allowed_paths=()):
        self.violations = []
        self._allowed = {os.path.realpath(os.fspath(p)) for p in allowed_paths}
        self._modules_before = set(sys.modules)
        self._active = threading.get_ident()
        try:
            yield self
        finally:
            self._active = None

    # ------------------------------------------------------------------ the hook
    def _hook(self, event, args):
        if self._active != threading.get_ident():
            return
        self._active = None  # the checks below must not record themselves
        try:
            problem = self._judge(event, args)
            if problem:
                self.violations.append(problem)
        finally:
            self._active = threading.get_ident()

    def _judge(self, event, args):
        if event == "open":
            return self._judge_open(*args[:2])
        if event == "import":
            name = args[0]
            if name not in self._modules_before and not name.startswith(_IMPORTABLE):
                return f"imported module {name!r}"
            return None
        if event in ("exec", "marshal.loads", "marshal.load"):
            if self._inside_import():
                return None
            if event == "exec" and self._is_library_code(args[0]):
                return None
            return f"{event} of code outside an import"
        if event in _FORBIDDEN_EVENTS or event.startswith(("os.exec", "os.spawn")):
            return f"{event}{_short(args)}"
        return None

    def _judge_open(self, path, mode):
        if isinstance(path, int):
            return None  # an already open descriptor
        path = os.path.realpath(os.fsdecode(path))
        writing = mode is not None and any(flag in str(mode) for flag in "wax+")
        if path in self._allowed and not writing:
            return None
        if not writing and (path.startswith(self._code_folders)
                            or path.startswith(("/proc/", "/sys/"))
                            or path in self._sources_on_stack()):
            return None  # code, system facts, or a warning quoting its caller's line
        return f"open({path!r}, {mode!r})"

    @staticmethod
    def _sources_on_stack():
        frame, files = sys._getframe(2), set()
        while frame is not None:
            files.add(os.path.realpath(frame.f_code.co_filename))
            frame = frame.f_back
        return files

    @staticmethod
    def _inside_import():
        frame = sys._getframe(2)
        while frame is not None:
            if frame.f_code.co_filename.startswith("<frozen importlib"):
                return True
            frame = frame.f_back
        return False

    def _is_library_code(self, code):
        filename = getattr(code, "co_filename", "")
        if not filename or filename.startswith("<"):  # code compiled from a string
            return False
        return os.path.realpath(filename).startswith(self._code_folders)


def _short(args):
    text = repr(args)
    return text if len(text) < 200 else text[:200] + "...)"


class Cost:
    """Wall time and growth of the peak resident memory of one block of code."""

    def __init__(self):
        self.seconds = None
        self.peak_growth_bytes = None


@contextlib.contextmanager
def measure():
    """Measures the block: `cost.seconds`, `cost.peak_growth_bytes` (Linux reports KiB)."""
    cost = Cost()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        yield cost
    finally:
        cost.seconds = time.perf_counter() - start
        growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
        cost.peak_growth_bytes = growth * (1 if sys.platform == "darwin" else 1024)
