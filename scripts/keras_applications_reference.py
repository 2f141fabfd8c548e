"""Writes tests/applications/keras_reference.json: Keras 3's application graphs.

For each of the 40 architectures of `keras.applications`, with `include_top=True` and
`False`, `weights=None`, at the small input size listed in `SIZES` (the tests build lamina's
models at the same size): the ordered layer names and classes, the weights' paths and shapes
in `model.weights` order, and the parameter count. The tests compare lamina's graphs with it,
so they need no Keras; tests/applications/test_reference.py checks a few entries against the
installed Keras.

Run with the test dependencies installed: `.venv/bin/python scripts/keras_applications_reference.py`
(several minutes: Keras allocates every model, ConvNeXtXLarge has 350M parameters).
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")

# Input side per architecture: its minimum (NASNetMobile/Large and Inception need more than 32).
SIZES = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71,
         "NASNetMobile": 32, "NASNetLarge": 32}
DEFAULT_SIZE = 32
OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "applications" / "keras_reference.json"


def architecture_names(keras):
    return sorted(n for n in dir(keras.applications) if n[0].isupper())


def describe(model):
    """The comparable summary of a model: layers, weights and parameter count."""
    return {
        "layers": [f"{layer.name}:{type(layer).__name__}" for layer in model.layers],
        "weights": [f"{w.path}:{'x'.join(map(str, w.shape))}" for w in model.weights],
        "params": int(model.count_params()),
    }


def keras_entry(keras, name, include_top):
    size = SIZES.get(name, DEFAULT_SIZE)
    model = getattr(keras.applications, name)(
        weights=None, include_top=include_top, input_shape=(size, size, 3))
    summary = describe(model)
    summary["input_shape"] = [size, size, 3]
    keras.backend.clear_session()
    return summary


def main(names=None):
    import keras

    names = names or architecture_names(keras)
    reference = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name in names:  # written after each architecture: the whole run takes minutes
        for include_top in (True, False):
            reference.setdefault(name, {})[str(include_top).lower()] = keras_entry(
                keras, name, include_top)
        print(name, reference[name]["true"]["params"], flush=True)
        reference = {"keras_version": keras.__version__,
                     **{k: reference[k] for k in sorted(reference) if k != "keras_version"}}
        OUT.write_text(json.dumps(reference, indent=0, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
