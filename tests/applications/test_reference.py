"""tests/applications/keras_reference.json is what the installed Keras builds: two small
architectures are rebuilt with Keras (in a subprocess, so this process never imports Keras)
and compared with their entries. Regenerate the file with
`.venv/bin/python scripts/keras_applications_reference.py` when the Keras pin moves."""

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests" / "applications" / "keras_reference.json").read_text())
CHECKED = ["MobileNetV3Small", "VGG16"]
# Keras initializes every weight with eagerly compiled ops; compiling them without XLA's
# expensive passes halves the run (shapes and names are all that is compared).
FAST_XLA = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
_ENTRIES = """
import json, sys
sys.path.insert(0, sys.argv[1])
import keras
import keras_applications_reference as reference
out = {"keras_version": keras.__version__}
for name in sys.argv[2:]:
    out[name] = {str(top).lower(): reference.keras_entry(keras, name, top) for top in (True, False)}
print(json.dumps(out))
"""


def test_reference_matches_the_installed_keras():
    if importlib.util.find_spec("keras") is None:
        pytest.skip("Keras 3 (a test dependency) is not installed")
    result = subprocess.run(
        [sys.executable, "-c", _ENTRIES, str(ROOT / "scripts"), *CHECKED], capture_output=True,
        text=True, timeout=600, env={**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": FAST_XLA})
    assert result.returncode == 0, result.stderr[-3000:]
    keras = json.loads(result.stdout.strip().splitlines()[-1])
    assert keras["keras_version"] == REFERENCE["keras_version"]
    for name in CHECKED:
        assert keras[name] == REFERENCE[name], (
            f"{name}: the reference differs from Keras {keras['keras_version']}; run "
            "scripts/keras_applications_reference.py")
