"""Every public name of keras.applications and its family modules has a docstring with an
example (the rule tests/test_public_docstrings.py applies to the other namespaces; the
examples themselves run in tests/test_docstring_examples.py)."""

import importlib
import inspect

import pytest
from test_public_docstrings import EXAMPLE, exported_names, own_docstring

import lamina.applications

FAMILIES = sorted(name for name in dir(lamina.applications)
                  if inspect.ismodule(getattr(lamina.applications, name))
                  and not name.startswith("_"))


def test_the_family_modules_are_keras_s():
    assert FAMILIES == [
        "convnext", "densenet", "efficientnet", "efficientnet_v2", "imagenet_utils",
        "inception_resnet_v2", "inception_v3", "mobilenet", "mobilenet_v2", "mobilenet_v3",
        "nasnet", "resnet", "resnet50", "resnet_v2", "vgg16", "vgg19", "xception"]


@pytest.mark.parametrize("module", ["lamina.applications"] + [
    f"lamina.applications.{name}" for name in FAMILIES])
def test_public_names_have_docstrings_with_examples(module):
    module = importlib.import_module(module)
    missing = []
    for name in exported_names(module):
        value = getattr(module, name)
        if (inspect.isclass(value) or inspect.isroutine(value)) and \
                not EXAMPLE.search(own_docstring(value)):
            missing.append(name)
    assert not missing, f"{module.__name__}: no docstring with an example for {missing}"
