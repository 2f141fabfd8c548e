"""Operations on symbolic tensors become graph nodes: `x + 1`, `x[:, 0]`, `ops.mean(x)`.

Applying a Python operator or a `keras.ops` function to a `KerasTensor` records a node of the
operation class Keras 3 records for the same code (`Add`, `GetItem`, `Mean`, `NotEqual`, ...),
with Keras's split of the arguments: the static ones (`axis=1`) form the node's config, the
tensors are its call arguments. A functional model's config then lists these nodes exactly as
Keras writes them (`{"module": "keras.src.ops.numpy", "class_name": "NotEqual", "config":
{"name": "not_equal"}, "registered_name": "NotEqual", ...}`), so such files move both ways.
`_op_table.py` (generated from Keras) says, per class, which function it calls and how.

A lamina op Keras has no class for (`ops.mish`) is recorded as an `OpLayer` naming the function
(`lamina>OpLayer`, which lamina wrote for every op before); those configs load in lamina only.

`KerasTensor` gets its operators here, and `__lamina_op__`, the protocol through which
`keras.ops` functions hand it their calls (see `lamina/ops/_symbolic.py`). They are set here
rather than in the class body because recording a node makes a Layer, and `layer.py` imports
the class. As in Keras, `!=` records a node and `==` does not: `x == y` compares the tensors
themselves (use `keras.ops.equal` for an element-wise comparison).
"""

import inspect
import operator

from lamina import ops
from lamina._registry import keras_export, register_keras_serializable
from lamina._runtime import config as runtime_config
from lamina._runtime import naming
from lamina._runtime.dtypes import standardize_dtype
from lamina.layers._op_table import ALIASES, OPS
from lamina.layers.layer import Layer
from lamina.layers.operation import Operation
from lamina.layers.symbolic import KerasTensor
from lamina.ops import core as ops_core
from lamina.ops import einops as ops_einops
from lamina.ops import image as ops_image
from lamina.ops import linalg as ops_linalg
from lamina.ops import math as ops_math
from lamina.ops import nn as ops_nn
from lamina.ops import numpy as ops_numpy

_NAMESPACES = {"numpy": ops_numpy, "nn": ops_nn, "math": ops_math, "core": ops_core,
               "linalg": ops_linalg, "image": ops_image, "einops": ops_einops}
# lamina names that Keras spells otherwise (its `abs` records `Absolute`).
_LAMINA_ALIASES = {"abs": "absolute", "conj": "conjugate", "getitem": "get_item"}
# Classes Keras keeps for files of older releases; no function records them any more.
_LOAD_ONLY = frozenset({"Abs", "Conj"})
_PLAIN = (str, int, float, bool, type(None))


def _function(module, name):
    function = getattr(_NAMESPACES[module], name, None) or getattr(ops, name, None)
    return None if function is None else getattr(function, "__wrapped__", function)


def _tuples(value):
    """A config read back from JSON holds lists where the op was given tuples (axes)."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


def _is_plain(value):
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return isinstance(value, _PLAIN)


class KerasOperation(Operation):
    """A `keras.ops` call recorded in a functional graph, saved as Keras 3's operation class.

    Each Keras operation class (`NotEqual`, `Mean`, ...) is a subclass made from
    `_op_table.py`; its constructor takes the call's static arguments by name (the node's
    config) and `call` takes the tensors, as in Keras.
    """

    _spec = None  # (module, function, constructor parameters, call parameters, defaults)

    def __init__(self, name=None, **arguments):
        super().__init__(name=name)
        module, function, parameters, _, defaults = self._spec
        unknown = sorted(set(arguments) - set(parameters))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} (keras.ops.{function}) got unexpected arguments "
                f"{unknown}; it takes {list(parameters)}. The config may come from another "
                "Keras release.")
        values = {}
        for parameter in parameters:
            value = arguments.get(parameter, defaults.get(parameter))
            if parameter == "dtype" and value is not None and not isinstance(value, str):
                value = standardize_dtype(value)  # Keras's functions standardize dtypes first
            values[parameter] = value
        self._arguments = values

    def _convert_inputs(self, args, on_host=False):
        return args  # arguments go to the op exactly as written (shapes stay Python lists)

    def get_config(self):
        """`{"name", **static arguments}`, Keras's config for an operation node."""
        if not _is_plain(list(self._arguments.values())):
            raise NotImplementedError(
                f"Cannot save the operation node '{self.name}' ({type(self).__name__}): its "
                f"arguments {self._arguments!r} are not plain values (numbers, strings, "
                "booleans, None and lists of them), so Keras could not save it either. Wrap "
                "the computation in a layer with a get_config().")
        return {"name": self.name, **self._arguments}

    def call(self, *args, **kwargs):
        kwargs.pop("training", None)
        module, function_name, parameters, call_parameters, defaults = self._spec
        function = _function(module, function_name)
        if function is None:
            raise NotImplementedError(
                f"The graph has a {type(self).__name__} node (keras.ops.{module}."
                f"{function_name}), which lamina does not implement.")
        values = {key: _tuples(value) for key, value in self._arguments.items()}
        varargs, varkw = self._bind_call(args, kwargs, call_parameters, values)
        return _invoke(function, values, varargs, varkw, defaults, type(self).__name__)

    def _bind_call(self, args, kwargs, call_parameters, values):
        regular = [p.rstrip("=") for p in call_parameters if not p.startswith("*")]
        star = any(p.startswith("*") and not p.startswith("**") for p in call_parameters)
        double_star = any(p.startswith("**") for p in call_parameters)
        args = list(args)
        for name in regular:
            if not args:
                break
            values[name] = args.pop(0)
        if args and not star:
            raise TypeError(
                f"{type(self).__name__} takes {len(regular)} tensor arguments "
                f"({regular}); received {len(regular) + len(args)}.")
        varkw = {}
        for key, value in kwargs.items():
            if key in regular:
                values[key] = value
            elif double_star:
                varkw[key] = value
            else:
                raise TypeError(
                    f"{type(self).__name__} got an unexpected argument {key!r}; its call "
                    f"takes {regular}.")
        return args, varkw


def _invoke(function, values, varargs, varkw, defaults, what):
    """Calls a lamina op with the node's arguments, matched to its parameters by name."""
    parameters = list(inspect.signature(function).parameters.values())
    has_star = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    call_args, call_kwargs, before_star = [], {}, has_star
    used = set()
    for parameter in parameters:
        if parameter.kind == parameter.VAR_POSITIONAL:
            call_args.extend(varargs)
            before_star = False
        elif parameter.kind == parameter.VAR_KEYWORD:
            call_kwargs.update(varkw)
            call_kwargs.update({k: v for k, v in values.items()
                                if k not in used and k not in defaults})
            used.update(values)
        elif parameter.name in values:
            used.add(parameter.name)
            if before_star:
                call_args.append(values[parameter.name])
            else:
                call_kwargs[parameter.name] = values[parameter.name]
        elif before_star:
            call_args.append(parameter.default)
    leftover = {k: v for k, v in values.items() if k not in used and defaults.get(k) != v}
    if leftover:
        raise NotImplementedError(
            f"{what}: lamina's keras.ops.{function.__name__} has no parameters "
            f"{sorted(leftover)} (values {leftover}).")
    if "key" in call_kwargs and function.__name__ == "get_item":
        call_kwargs["key"] = _tuples(call_kwargs["key"])
    return function(*call_args, **call_kwargs)


def _extract_patches_config(self):
    """Keras's `ExtractPatches` writes its arguments completed (a tuple size, the strides,
    the data format) and no name."""
    values = dict(self._arguments)
    size = values["size"]
    values["size"] = (size, size) if isinstance(size, int) else size
    if values["strides"] is None:
        values["strides"] = values["size"]
    if values["data_format"] is None:
        values["data_format"] = runtime_config.image_data_format()
    return values


_CONFIG_WRITERS = {"ExtractPatches": _extract_patches_config}


def _make_class(class_name, spec):
    module = spec[0]
    attributes = {
        "_spec": spec, "__module__": __name__, "__qualname__": class_name,
        "__doc__": f"The graph node Keras 3 records for `keras.ops.{spec[1]}` "
                   f"(`keras.src.ops.{module}.{class_name}`)."}
    if class_name in _CONFIG_WRITERS:
        attributes["get_config"] = _CONFIG_WRITERS[class_name]
    cls = type(class_name, (KerasOperation,), attributes)
    # The first name is what configs say (Keras's module path); the others are where a
    # config's `keras.src.ops...` name is looked up (its public homes).
    return keras_export(f"keras.src.ops.{module}.{class_name}",
                        f"keras.ops.{module}.{class_name}", f"keras.ops.{class_name}")(cls)


OPERATIONS = {name: _make_class(name, spec) for name, spec in OPS.items()}
_BY_FUNCTION = {spec[1]: name for name, spec in OPS.items() if name not in _LOAD_ONLY}


# ----------------------------------------------------------------------------------- legacy
def _resolve(function_name):
    if function_name == "getitem":
        return operator.getitem
    function = getattr(ops, function_name, None)
    if function is None or not callable(function):
        raise ValueError(
            f"OpLayer refers to ops.{function_name}, which lamina.ops does not define. The "
            "config may come from a newer lamina; check the function name.")
    return getattr(function, "__wrapped__", function)


@register_keras_serializable(package="lamina")
class OpLayer(Operation):
    """A graph node applying `keras.ops.<function>`, for the lamina ops Keras has no
    operation class for (and the files lamina wrote before it wrote Keras's classes)."""

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self._callable = _resolve(function)

    def _convert_inputs(self, args, on_host=False):
        return args  # arguments go to the op exactly as written (shapes stay Python lists)

    def call(self, *args, **kwargs):
        kwargs.pop("training", None)
        if self.function == "getitem" and isinstance(args[1], list):
            args = (args[0], tuple(args[1]))  # a JSON round trip turns the index into a list
        return self._callable(*args, **kwargs)

    def get_config(self):
        return {**Layer.get_config(self), "function": self.function}  # the format it had


# ------------------------------------------------------------------------------- recording
def _symbolic_answer(function_name, args):
    """What Keras's `ops.shape` / `ops.dtype` / `ops.is_tensor` answer for a symbolic tensor
    without recording anything, or None."""
    x = args[0] if args else None
    if not isinstance(x, KerasTensor):
        return None
    if function_name == "shape":
        return (x.shape,)
    if function_name == "dtype":
        return (x.dtype,)
    if function_name == "is_tensor":
        return (False,)
    return None


def apply(function_name, args, kwargs):
    """Records `ops.<function_name>(*args, **kwargs)` on symbolic inputs as Keras would;
    returns its symbolic outputs."""
    answer = _symbolic_answer(function_name, args)
    if answer is not None:
        return answer[0]
    keras_name = ALIASES.get(function_name) or _LAMINA_ALIASES.get(function_name, function_name)
    class_name = _BY_FUNCTION.get(keras_name)
    if class_name is None:
        return OpLayer(function_name, name=naming.unique_name(function_name))(*args, **kwargs)
    cls = OPERATIONS[class_name]
    module, function_name, parameters, call_parameters, _ = cls._spec
    function = _function(module, function_name)
    values = dict(inspect.signature(function).bind(*args, **kwargs).arguments)
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name not in values:
            if parameter.kind == parameter.VAR_POSITIONAL:
                values[parameter.name] = ()
            elif parameter.kind == parameter.VAR_KEYWORD:
                values[parameter.name] = {}
            elif parameter.default is not parameter.empty:
                values[parameter.name] = parameter.default
        elif parameter.kind == parameter.VAR_KEYWORD and \
                f"**{parameter.name}" not in call_parameters:
            values.update(values.pop(parameter.name))  # options passed through **kwargs
    node = cls(**{p: values[p] for p in parameters if p in values})
    call_args, call_kwargs = [], {}
    for parameter in call_parameters:
        if parameter.startswith("**"):
            call_kwargs.update(values.get(parameter[2:], {}))
        elif parameter.startswith("*"):
            call_args.extend(values.get(parameter[1:], ()))
        elif parameter.endswith("="):
            call_kwargs[parameter[:-1]] = values.get(parameter[:-1])
        else:
            call_args.append(values.get(parameter))
    return node(*call_args, **call_kwargs)


def _binary(name, reflected=False):
    def method(self, other):
        return apply(name, (other, self) if reflected else (self, other), {})
    method.__name__ = name
    return method


# Keras 3's KerasTensor operators and the op each records (`/` is `true_divide`).
for _dunder, _op in {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
    "floordiv": "floor_divide", "mod": "mod", "pow": "power", "matmul": "matmul",
    "and": "logical_and", "or": "logical_or", "xor": "logical_xor",
}.items():
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op))
    setattr(KerasTensor, f"__r{_dunder}__", _binary(_op, reflected=True))
for _dunder, _op in {"lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
                     "ne": "not_equal"}.items():
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op))
KerasTensor.__neg__ = lambda self: apply("negative", (self,), {})
KerasTensor.__abs__ = lambda self: apply("absolute", (self,), {})
KerasTensor.__invert__ = lambda self: apply("logical_not", (self,), {})
KerasTensor.__round__ = lambda self, ndigits=None: apply("round", (self,),
                                                           {"decimals": ndigits or 0})
KerasTensor.__getitem__ = lambda self, key: apply("getitem", (self, key), {})
KerasTensor.reshape = lambda self, newshape: apply("reshape", (self, newshape), {})
KerasTensor.squeeze = lambda self, axis=None: apply("squeeze", (self,), {"axis": axis})

# `keras.ops` functions called with a KerasTensor argument record a node through this.
KerasTensor.__lamina_op__ = staticmethod(apply)

__all__ = ["KerasOperation", "OPERATIONS", "OpLayer", "apply"]
