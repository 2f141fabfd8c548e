"""The runtime: Variables, state scopes, compiled functions, gradients and random state.

Everything else in lamina stands on these modules; below them is only the registry of public
names (`lamina._registry`), which they use to declare their own and to find an initializer by
name. `stateful.py` holds the base that layers, metrics and optimizers share.
"""

from lamina._runtime.function import Function as Function
from lamina._runtime.function import function as function
from lamina._runtime.grad import grad as grad
from lamina._runtime.grad import value_and_grad as value_and_grad
from lamina._runtime.naming import name_scope as name_scope
from lamina._runtime.rng import SeedGenerator as SeedGenerator
from lamina._runtime.scope import StateScope as StateScope
from lamina._runtime.scope import StatelessScope as StatelessScope
from lamina._runtime.scope import run_pure as run_pure
from lamina._runtime.variable import Variable as Variable
from lamina._runtime.compilation_cache import configure_at_import as _configure_cache

_configure_cache()
