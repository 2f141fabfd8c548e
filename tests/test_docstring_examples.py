"""Every `>>>` example in lamina's docstrings runs and prints what it says.

One test per module, so that a failure names its module and the two workers share the load.
The training modules' examples run in tests/training/test_docstrings.py.
"""

import importlib
import pkgutil

import pytest

import lamina
from _docexamples import run_docstring_examples

RUN_ELSEWHERE = {"lamina.training.trainer"}
MODULES = ["lamina"] + sorted(
    info.name for info in pkgutil.walk_packages(lamina.__path__, "lamina.")
    if info.name not in RUN_ELSEWHERE)


def test_every_module_is_found():
    assert {"lamina.ops._elementwise", "lamina.layers.core", "lamina.compat.tf",
            "lamina._runtime.function"} <= set(MODULES)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name):
    attempted, failed, report = run_docstring_examples(importlib.import_module(module_name))
    assert failed == 0, f"{failed} of {attempted} examples failed in {module_name}:\n{report}"
