"""Every public class and function has a docstring with an example (STYLE.md, item 7).

A public name is one a public module exports: its `__all__`, or, for a module without one,
the names `dir()` shows that do not start with an underscore. An example is a `>>>` line or an
`Example:` / `Examples:` section; tests/test_docstring_examples.py runs the `>>>` ones.
"""

import ast
import functools
import importlib
import inspect
import pathlib
import re
import types

import pytest

import lamina
from lamina.compat import tf

PUBLIC_MODULES = [
    "lamina", "lamina.activations", "lamina.backend", "lamina.callbacks", "lamina.config",
    "lamina.constraints", "lamina.distribution", "lamina.datasets.boston_housing",
    "lamina.datasets.california_housing",
    "lamina.datasets.cifar10", "lamina.datasets.fashion_mnist", "lamina.datasets.imdb",
    "lamina.datasets.mnist", "lamina.dtype_policies", "lamina.initializers", "lamina.layers",
    "lamina.legacy.saving",
    "lamina.losses", "lamina.metrics", "lamina.mixed_precision", "lamina.models", "lamina.ops",
    "lamina.ops.image",
    "lamina.ops.linalg", "lamina.ops.nn", "lamina.ops.numpy", "lamina.optimizers",
    "lamina.optimizers.schedules", "lamina.preprocessing", "lamina.preprocessing.image",
    "lamina.preprocessing.sequence", "lamina.quantizers", "lamina.random", "lamina.regularizers",
    "lamina.saving",
    "lamina.tree", "lamina.utils", "lamina.export", "lamina.visualization", "lamina.wrappers",
    "lamina.distillation", "lamina.optimizers.legacy",
]
TF_NAMESPACES = [tf, tf.math, tf.nn, tf.linalg, tf.random, tf.dtypes]
EXAMPLE = re.compile(r"^\s*(>>> |Examples?:\s*$)", re.MULTILINE)
SECTION = re.compile(r"^(\s*)([A-Z][A-Za-z ]*):\s*$")


def _modules():
    return [importlib.import_module(name) for name in PUBLIC_MODULES] + TF_NAMESPACES


def exported_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in dir(module) if not name.startswith("_")]
    return sorted(names)


@functools.cache
def public_objects():
    """`{qualified name: object}` for every exported class and function (not modules, dtype
    instances or other values)."""
    found = {}
    for module in _modules():
        for name in exported_names(module):
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isroutine(value) or \
                    isinstance(value, lamina.Function):
                found[f"{module.__name__}.{name}"] = value
    return found


def own_docstring(value):
    """The object's own docstring: a class does not inherit its base class's."""
    if inspect.isclass(value):
        return value.__dict__.get("__doc__") or ""
    return inspect.getdoc(value) or ""


def test_the_walk_finds_the_public_surface():
    found = public_objects()
    assert len(found) > 900
    for name in ("lamina.Variable", "lamina.value_and_grad", "lamina.layers.Dense",
                 "lamina.ops.matmul", "lamina.compat.tf.reduce_sum", "lamina.compat.tf.nn.moments",
                 "lamina.datasets.mnist.load_data", "lamina.utils.PyDataset"):
        assert name in found, name
    assert not any(isinstance(value, types.ModuleType) for value in found.values())


def test_the_example_pattern():
    assert EXAMPLE.search(own_docstring(lamina.ops.matmul))
    assert not EXAMPLE.search("Computes x.\n\nFor example, x + 1.")
    assert EXAMPLE.search("Computes x.\n\nExample:\n    x = f(1)\n")


@pytest.mark.parametrize("module", _modules(), ids=lambda m: m.__name__)
def test_every_public_name_has_a_docstring_with_an_example(module):
    prefix = module.__name__ + "."
    missing = sorted(name for name, value in public_objects().items()
                     if name.startswith(prefix) and name.count(".") == prefix.count(".")
                     and not EXAMPLE.search(own_docstring(value)))
    assert missing == []


def bare_examples(docstring):
    """The `>>>` lines of a docstring that are not inside an `Examples:` section.

    The API reference parses docstrings as Google style (griffe), where only `Examples:`
    starts a section of code; anywhere else, `Example:` included (an admonition), a `>>>` line
    is Markdown and renders as nested quotes."""
    bare = []
    section = None  # (name, indent) of the section being read
    for line in inspect.cleandoc(docstring).splitlines():
        indent = len(line) - len(line.lstrip())
        header = SECTION.match(line)
        if header:
            section = (header.group(2), indent)
        elif line.strip() and section is not None and indent <= section[1]:
            section = None
        if line.lstrip().startswith(">>>") and (
                section is None or section[0] != "Examples"):
            bare.append(line.strip())
    return bare


def test_bare_examples_are_found():
    assert bare_examples("Adds.\n\n>>> add(1, 2)\n3\n") == [">>> add(1, 2)"]
    assert bare_examples("Adds.\n\nExamples:\n    >>> add(1, 2)\n    3\n") == []
    assert bare_examples("Adds.\n\nExample:\n    >>> add(1, 2)\n") == [">>> add(1, 2)"]
    assert bare_examples("Adds.\n\nArgs:\n    x: a number.\n\n>>> add(1, 2)\n") == \
        [">>> add(1, 2)"]


def test_examples_sit_in_examples_sections():
    package = pathlib.Path(lamina.__file__).parent
    found = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                docstring = ast.get_docstring(node, clean=False)
                if docstring and bare_examples(docstring):
                    found.append(f"{path.relative_to(package)}:{getattr(node, 'lineno', 1)}")
    assert found == []
