"""Writes lamina/layers/_op_table.py: how Keras 3 records each `keras.ops` call as a graph node.

Keras saves a `keras.ops` call on symbolic tensors (`x * 2.0`, `ops.mean(x, axis=1)`) as a node
of an operation class (`Multiply`, `Mean`) whose constructor takes the static arguments (saved in
the node's config) and whose `call` takes the tensors (saved as the node's arguments). lamina's
ops have Keras's signatures, so the table only needs, per class: its module, the function, which
parameters go to the constructor, how the function passes the others to `call`, and the
constructor defaults the function does not pass. This script reads them from an installed Keras
(run it with KERAS_BACKEND=jax; lamina never imports Keras):

    KERAS_BACKEND=jax .venv/bin/python scripts/keras_op_table.py

tests/models/test_functional_ops_nodes.py checks the table against the installed Keras.
"""

import ast
import importlib
import inspect
import os
import pprint
import re
import sys
import textwrap

MODULES = ("numpy", "nn", "math", "core", "linalg", "image", "einops")
TARGET = os.path.join(os.path.dirname(__file__), "..", "lamina", "layers", "_op_table.py")
# Classes no public function records (a base class), and aliases Keras keeps for old files.
SKIP = {"SegmentReduction"}
ALIAS_CLASSES = {"Abs": "absolute", "Conj": "conjugate"}


def _call_spec(cls, invocation):
    """The class's call parameters as the function passes them: `name` (positional),
    `name=` (keyword), `*name`, `**name`."""
    parameters = [p for p in inspect.signature(cls.call).parameters.values()
                  if p.name != "self"]
    keywords = set()
    if invocation is not None:
        keywords = {k.arg for k in invocation.keywords if k.arg is not None}
    spec = []
    for p in parameters:
        if p.kind == p.VAR_POSITIONAL:
            spec.append("*" + p.name)
        elif p.kind == p.VAR_KEYWORD:
            spec.append("**" + p.name)
        elif p.name in keywords or p.kind == p.KEYWORD_ONLY:
            spec.append(p.name + "=")
        else:
            spec.append(p.name)
    return spec


def _invocations(function, class_names):
    """`{class name: the Call node that passes the tensors}` in a function's source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = node.func
        if isinstance(target, ast.Attribute) and target.attr == "symbolic_call":
            target = target.value
        if isinstance(target, ast.Call) and isinstance(target.func, ast.Name) and \
                target.func.id in class_names:
            found.setdefault(target.func.id, node)
    return found


def build_table():
    from keras.src.ops.operation import Operation

    table = {}
    for short in MODULES:
        module = importlib.import_module(f"keras.src.ops.{short}")
        classes = {name: value for name, value in vars(module).items()
                   if inspect.isclass(value) and issubclass(value, Operation)
                   and value.__module__ == module.__name__ and name not in SKIP}
        functions = [value for value in vars(module).values()
                     if inspect.isfunction(value) and value.__module__ == module.__name__]
        users = {}
        for function in functions:
            for name, node in _invocations(function, classes).items():
                users.setdefault(name, []).append((function, node))
        for name, cls in classes.items():
            init = [p for p in inspect.signature(cls.__init__).parameters.values()
                    if p.name not in ("self", "name") and p.kind not in (p.VAR_POSITIONAL,
                                                                       p.VAR_KEYWORD)]
            candidates = users.get(name, [])
            snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
            chosen = next((c for c in candidates if c[0].__name__ == snake), None) or \
                next(iter(candidates), None)
            if chosen is None:
                function_name, invocation = ALIAS_CLASSES.get(name, snake), None
            else:
                function_name, invocation = chosen[0].__name__, chosen[1]
            function_parameters = set()
            if chosen is not None:
                function_parameters = set(inspect.signature(chosen[0]).parameters)
            extra = {p.name: p.default for p in init
                     if p.name not in function_parameters and p.default is not p.empty}
            table[name] = (short, function_name, tuple(p.name for p in init),
                           tuple(_call_spec(cls, invocation)), extra)
    return table


def build_aliases():
    """lamina/Keras op names that are another function's alias (`abs` -> `absolute`)."""
    import keras

    aliases = {}
    for namespace in (keras.ops, keras.ops.nn, keras.ops.numpy, keras.ops.linalg,
                      keras.ops.image):
        for name in dir(namespace):
            value = getattr(namespace, name)
            real = getattr(value, "__name__", name)
            if inspect.isfunction(value) and real != name and not name.startswith("_"):
                aliases[name] = real
    return aliases


HEADER = '''"""How Keras 3 records each `keras.ops` call as a node of a functional graph (generated).

`OPS[class_name] = (module, function, constructor parameters, call parameters, defaults)`:
`keras.src.ops.<module>.<class_name>` is the class Keras saves; `function` is the `keras.ops`
function that records it; the constructor parameters form the node's config; the call
parameters are the node's arguments as the function passes them (`x` positional, `bias=` by
keyword, `*operands`, `**kwargs`); `defaults` are constructor defaults the function does not
pass. `ALIASES` maps alias names to the function they stand for.

Generated from Keras {version} by scripts/keras_op_table.py; do not edit by hand.
"""

'''


def main():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    table = build_table()
    aliases = build_aliases()
    with open(TARGET, "w") as handle:
        handle.write(HEADER.format(version=keras.__version__))
        handle.write("OPS = ")
        handle.write(pprint.pformat(table, width=100, sort_dicts=True))
        handle.write("\n\nALIASES = ")
        handle.write(pprint.pformat(aliases, width=100, sort_dicts=True))
        handle.write("\n")
    print(f"{len(table)} operations, {len(aliases)} aliases -> {os.path.normpath(TARGET)}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
