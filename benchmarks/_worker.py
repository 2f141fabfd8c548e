"""The driver's end of a benchmark side that runs in its own process (a process holds one
library, or one Keras backend): the child prints JSON lines, the first when it is set up, then
one reply per command it reads from its stdin; other output is skipped. `keras_sides` is the
one list of Keras 3 sides (which backends, from which Python) that every script starts."""

import importlib.util
import json
import os
import subprocess
import sys

_TF_VENV_PYTHON = "/tmp/tfvenv/bin/python"


def default_tf_python():
    """The Python that runs the Keras 3 on TensorFlow sides unless `--tf-python` says
    otherwise: a separate venv at /tmp/tfvenv when there is one (the README's set-up), else
    this Python when TensorFlow is installed in it (the project's test extras bring it in),
    else the /tmp/tfvenv path, which the scripts then report as missing."""
    if os.path.exists(_TF_VENV_PYTHON) or importlib.util.find_spec("tensorflow") is None:
        return _TF_VENV_PYTHON
    return sys.executable


class WorkerProcess:
    """Starts `command` with `env` added to this environment and waits for its first JSON
    line; `ok` says whether it came. `stderr` is where the child's errors go (DEVNULL, or a
    file that `why_not` then reads)."""

    def __init__(self, name, command, env, stderr=subprocess.DEVNULL):
        self.name = name
        self._stderr = stderr
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
            env={**os.environ, **env})
        self.ok = self.read() is not None

    def read(self):
        """The child's next JSON line, or None once it has exited."""
        while True:
            line = self.process.stdout.readline()
            if not line:
                return None
            if line.startswith("{"):
                return json.loads(line)

    def send(self, command):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def ask(self, command):
        """Sends one command line and returns the reply; a child that died raises, saying so."""
        self.send(command)
        reply = self.read()
        if reply is None:
            raise RuntimeError(f"side {self.name!r} died: {self.why_not()}")
        return reply

    def why_not(self):
        """The child's last error line, when its errors went to a file."""
        if not hasattr(self._stderr, "seek"):
            return "its error output was not kept"
        self._stderr.seek(0)
        lines = [line.strip() for line in self._stderr if line.strip()]
        return lines[-1] if lines else "no error output"


TENSORFLOW = "keras 3 (tensorflow)"
_BACKEND_ENV = {"jax": {"KERAS_BACKEND": "jax"},
                "tensorflow": {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}}


def keras_sides(tf_python, names=("keras 3 (jax)", TENSORFLOW)):
    """The Keras 3 sides a script can run, as [(name, python, env)]: on JAX from this Python,
    on TensorFlow from `tf_python` only when that Python exists (otherwise this says so on
    stdout, and the side is left out). `names` picks which of the two are wanted."""
    sides = []
    if "keras 3 (jax)" in names:
        sides.append(("keras 3 (jax)", sys.executable, dict(_BACKEND_ENV["jax"])))
    if TENSORFLOW in names:
        if tf_python and os.path.exists(tf_python):
            sides.append((TENSORFLOW, tf_python, dict(_BACKEND_ENV["tensorflow"])))
        else:
            print(f"(no TensorFlow Python at {tf_python}: {TENSORFLOW} is not measured)",
                  flush=True)
    return sides
