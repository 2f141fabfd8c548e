"""Operations on symbolic tensors become graph nodes: `x + 1`, `x[:, 0]`, `ops.sum(x)`.

Applying an operator or a `keras.ops` function to a `KerasTensor` records a node for an
`OpLayer`: a weightless layer that calls the named `lamina.ops` function with the same
arguments, symbolic ones replaced by values. The function is stored by name, so the model's
config stays safe to load.

`KerasTensor` gets its operators here, and `__lamina_op__`, the protocol through which
`keras.ops` functions hand it their calls (see `lamina/ops/_symbolic.py`). They are set here
rather than in the class body because recording a node makes a Layer, and `layer.py` imports
the class.
"""

import operator

from lamina import ops
from lamina._registry import register_keras_serializable
from lamina._runtime import naming
from lamina.layers.layer import Layer
from lamina.layers.symbolic import KerasTensor

# Python operators with no `ops` function of their own.
_OPERATORS = {"getitem": operator.getitem}


def _resolve(function_name):
    if function_name in _OPERATORS:
        return _OPERATORS[function_name]
    function = getattr(ops, function_name, None)
    if function is None or not callable(function):
        raise ValueError(
            f"OpLayer refers to ops.{function_name}, which lamina.ops does not define. The "
            "config may come from a newer lamina; check the function name.")
    return getattr(function, "__wrapped__", function)


@register_keras_serializable(package="lamina")
class OpLayer(Layer):
    """A graph node applying `keras.ops.<function>` (made by ops on symbolic tensors)."""

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self._callable = _resolve(function)
        self.built = True

    def _convert_inputs(self, args):
        return args  # arguments go to the op exactly as written (shapes stay Python lists)

    def call(self, *args, **kwargs):
        kwargs.pop("training", None)
        if self.function == "getitem" and isinstance(args[1], list):
            args = (args[0], tuple(args[1]))  # a JSON round trip turns the index into a list
        return self._callable(*args, **kwargs)

    def get_config(self):
        return {**super().get_config(), "function": self.function}


def apply(function_name, args, kwargs):
    """Records `ops.<function_name>(*args, **kwargs)` on symbolic inputs; returns its outputs."""
    return OpLayer(function_name, name=_op_name(function_name))(*args, **kwargs)


def _op_name(function_name):
    return naming.unique_name(function_name)


def _binary(name, reflected=False):
    def method(self, other):
        return apply(name, (other, self) if reflected else (self, other), {})
    return method


for _dunder, _op in {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "divide",
    "floordiv": "floor_divide", "mod": "mod", "pow": "power", "matmul": "matmul",
}.items():
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op))
    setattr(KerasTensor, f"__r{_dunder}__", _binary(_op, reflected=True))
for _dunder, _op in {"lt": "less", "le": "less_equal", "gt": "greater",
                     "ge": "greater_equal"}.items():
    setattr(KerasTensor, f"__{_dunder}__", _binary(_op))
KerasTensor.__neg__ = lambda self: apply("negative", (self,), {})
KerasTensor.__abs__ = lambda self: apply("abs", (self,), {})
KerasTensor.__getitem__ = lambda self, key: apply("getitem", (self, key), {})

# `keras.ops` functions called with a KerasTensor argument record a node through this.
KerasTensor.__lamina_op__ = staticmethod(apply)
