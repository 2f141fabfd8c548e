"""The runnable examples in the docstrings of lamina.losses and lamina.metrics."""

import doctest
import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina.metrics.base import ensure_built
from lamina.metrics.compile_utils import class_weight_to_sample_weight, resolve_metric

MODULES = [
    "lamina.losses", "lamina.losses.base", "lamina.losses.functions", "lamina.losses.classes",
    "lamina.metrics", "lamina.metrics.base", "lamina.metrics.reduction",
    "lamina.metrics.accuracy", "lamina.metrics.confusion", "lamina.metrics.f_score",
    "lamina.metrics.regression", "lamina.metrics.iou", "lamina.metrics.probabilistic",
    "lamina.metrics.compile_utils",
]


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    globs = {"lamina": lamina, "jnp": jnp, "jax": jax, "np": np, "ensure_built": ensure_built,
             "resolve_metric": resolve_metric,
             "LossFunctionWrapper": lamina.losses.LossFunctionWrapper,
             "class_weight_to_sample_weight": class_weight_to_sample_weight}
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name, globs=globs):
        if test.name.split(".")[-1].startswith("_") and "__init__" not in test.name:
            continue
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} docstring example(s) failed"
