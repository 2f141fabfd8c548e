"""Each of the 40 architectures builds Keras's graph: the layer names and classes in order, the
weights' paths and shapes in order, and the parameter count, compared with
tests/applications/keras_reference.json (written from Keras 3.15 by
scripts/keras_applications_reference.py; test_reference.py checks it against the installed
Keras).

The models are built inside `abstract_variables()`: their Variables get shapes but no memory,
so ConvNeXtXLarge's 350M parameters cost nothing. Each architecture is checked with its top;
the headless graphs (`include_top=False`) are the same graphs without their last layers, so a
variant of each kind of ending is checked without the top (the test time stays small).
"""

import json
import pathlib
import sys

import pytest

import lamina
from lamina._runtime.session import clear_session
from lamina._runtime.variable import abstract_variables

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
from keras_applications_reference import describe  # noqa: E402

REFERENCE = json.loads((pathlib.Path(__file__).parent / "keras_reference.json").read_text())
ARCHITECTURES = sorted(name for name in REFERENCE if name != "keras_version")
# One variant per way of ending without the top (named or unnamed pooling, ConvNeXt's final
# layer norm, MobileNet's reshaped convolution top, pre-activation ResNet's final norm).
HEADLESS = ["ConvNeXtTiny", "DenseNet121", "EfficientNetB0", "EfficientNetV2B0", "MobileNet",
            "MobileNetV2", "MobileNetV3Small", "ResNet50V2", "VGG16", "Xception"]


def build(name, include_top):
    entry = REFERENCE[name][str(include_top).lower()]
    clear_session()  # layer names without a given name count up from 0, as in a fresh Keras
    with abstract_variables():
        model = getattr(lamina.applications, name)(
            weights=None, include_top=include_top, input_shape=tuple(entry["input_shape"]))
    return describe(model), entry


def assert_same_graph(name, ours, keras):
    for key in ("layers", "weights"):
        for position, (mine, theirs) in enumerate(zip(ours[key], keras[key])):
            assert mine == theirs, f"{name}: {key}[{position}] is {mine}, Keras has {theirs}"
        assert len(ours[key]) == len(keras[key]), f"{name}: number of {key}"
    assert ours["params"] == keras["params"]


def test_the_reference_lists_the_40_architectures():
    keras_names = sorted(n for n in dir(lamina.applications) if n[0].isupper())
    assert ARCHITECTURES == keras_names and len(keras_names) == 40


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_graph_with_the_top_is_keras_graph(name):
    assert_same_graph(name, *build(name, include_top=True))


@pytest.mark.parametrize("name", HEADLESS)
def test_graph_without_the_top_is_keras_graph(name):
    assert_same_graph(name, *build(name, include_top=False))
