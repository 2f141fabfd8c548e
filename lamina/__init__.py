"""lamina: the Keras model-customization API, rebuilt on JAX.

    import lamina as keras
    from lamina.compat import tf   # TensorFlow-style op names for ported code

Submodules load on first use, so `import lamina` costs little more than `import jax`.
"""

import importlib as _importlib

from lamina._runtime import Function as Function
from lamina._runtime import StatelessScope as StatelessScope
from lamina._runtime import Variable as Variable
from lamina._runtime import function as function
from lamina._runtime import grad as grad
from lamina._runtime import name_scope as name_scope
from lamina._runtime import value_and_grad as value_and_grad
from lamina._version import __version__ as __version__
from lamina._version import version as version

_SUBMODULES = frozenset({
    "callbacks", "datasets", "distillation", "export", "layers", "dtype_policies", "models",
    "activations", "backend", "compat", "config", "constraints", "initializers", "legacy",
    "losses",
    "metrics", "mixed_precision", "ops", "optimizers", "random", "visualization",
    "quantizers", "regularizers", "saving", "tree", "utils", "wrappers", "distribution",
    "preprocessing", "applications",
})


# Top-level names that live in lazily loaded submodules: name -> module.
_LAZY_NAMES = {
    "Model": "lamina.models", "Sequential": "lamina.models",
    "Input": "lamina.layers", "InputSpec": "lamina.layers", "Layer": "lamina.layers",
    "Optimizer": "lamina.optimizers", "Loss": "lamina.losses", "Metric": "lamina.metrics",
    "DTypePolicy": "lamina.dtype_policies", "FloatDTypePolicy": "lamina.dtype_policies",
    "Quantizer": "lamina.quantizers",
    "KerasTensor": "lamina.layers.symbolic",
    "StatelessScope": "lamina._runtime",
    "Initializer": "lamina.initializers", "Regularizer": "lamina.regularizers",
    "Operation": "lamina.layers.operation",
    "RematScope": "lamina._runtime.remat", "remat": "lamina._runtime.remat",
    "SymbolicScope": "lamina._runtime.symbolic_scope", "device": "lamina._runtime.device",
}


def __getattr__(name):
    if name in _LAZY_NAMES:
        value = getattr(_importlib.import_module(_LAZY_NAMES[name]), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f"lamina.{name}")
    else:
        raise AttributeError(f"module 'lamina' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | set(_LAZY_NAMES))
