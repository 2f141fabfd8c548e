"""Writes tests/keras_public_names.json: the public names of the installed Keras's namespaces.

The documentation's "Keras compatibility" page is generated from this snapshot (the site builds
without Keras installed), and tests/test_keras_api_coverage.py checks that the snapshot equals
what the installed Keras lists, so it cannot go stale. Run it after moving the Keras pin:

    .venv/bin/python scripts/keras_public_names.py
"""

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "tests" / "keras_public_names.json"

# Run in a child process: this one never imports Keras.
_LIST_NAMES = """
import importlib, json, os, sys
os.environ["KERAS_BACKEND"] = "jax"
import keras
names = {}
for namespace in json.loads(sys.argv[1]):
    module = importlib.import_module("keras" + ("." + namespace if namespace else ""))
    names[namespace] = sorted(n for n in dir(module) if not n.startswith("_"))
print(json.dumps({"version": keras.__version__, "names": names}))
"""


def list_keras_names(namespaces, python=sys.executable):
    """`{"version": ..., "names": {namespace: [public names]}}` of the installed Keras."""
    result = subprocess.run([python, "-c", _LIST_NAMES, json.dumps(list(namespaces))],
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"listing Keras's names failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    sys.path.insert(0, str(ROOT / "scripts"))
    from docs_compatibility import coverage_lists  # noqa: PLC0415  (scripts/ is not a package)

    namespaces = coverage_lists()["NAMESPACES"]
    listing = list_keras_names(namespaces)
    SNAPSHOT.write_text(json.dumps(listing, indent=1, sort_keys=True) + "\n")
    count = sum(map(len, listing["names"].values()))
    print(f"wrote {SNAPSHOT.relative_to(ROOT)}: Keras {listing['version']}, {count} names")


if __name__ == "__main__":
    main()
