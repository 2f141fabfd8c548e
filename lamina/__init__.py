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

__version__ = "0.1.0"

_SUBMODULES = frozenset({"layers", "dtype_policies", 
    "activations", "backend", "compat", "config", "constraints", "initializers", "ops", "random",
    "regularizers", "saving", "utils",
})


def __getattr__(name):
    if name in _SUBMODULES:
        module = _importlib.import_module(f"lamina.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
