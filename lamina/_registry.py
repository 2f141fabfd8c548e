"""Names for objects: the custom-object registry and the table of Keras public names.

This module is the bottom of lamina's import graph: it imports nothing from lamina, so that
every package above it (the runtime included) can declare its public names without importing
`saving` or anything else. Two tables live here, and serialization reads both:

* **Custom objects.** `register_keras_serializable` records a user class or function under
  `"package>name"`; `custom_object_scope` adds objects for the duration of a block; together
  with a loader's `custom_objects` argument they decide what a saved name means.
* **Public names.** `keras_export("keras.initializers.GlorotUniform", ...)` marks a lamina
  built-in with the name Keras 3 gives it. Serialization writes that name (so a lamina file
  reads as a Keras file), and deserialization maps a Keras name back to the lamina object,
  importing the matching `lamina.*` module on demand. That import goes by name
  (`"keras.layers"` -> `"lamina.layers"`), never by an import statement, so `import lamina`
  stays light and every public name still resolves after it.

Scopes are held in `contextvars`, so threads and async tasks each see their own.
"""

import contextvars
import importlib
import importlib.util
import inspect
import sys
import threading

__all__ = [
    "CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
    "get_registered_object", "keras_export", "public_name", "public_symbol",
    "register_keras_serializable",
]

# The live dict `get_custom_objects()` returns: users may add to it directly, as in Keras.
_GLOBAL_CUSTOM_OBJECTS = {}
# object -> registered name; keyed by the object itself, so a re-registered class (a notebook
# cell run twice) simply replaces its entry.
_GLOBAL_CUSTOM_NAMES = {}
_registry_lock = threading.Lock()

_scope_objects = contextvars.ContextVar("lamina_custom_object_scope", default=None)


def register_keras_serializable(package="Custom", name=None):
    """Registers a class or function so that saved configs can find it by name.

    The object is registered as `"package>name"` (`name` defaults to the object's `__name__`).
    A registered class must define `get_config()`; a function needs nothing more. Registering
    the same name again replaces the old entry, so re-running a notebook cell works.

    Examples:
        >>> @lamina.saving.register_keras_serializable(package="my_pkg")
        ... def shifted_softplus(z):
        ...     return jnp.log1p(jnp.exp(z))
        >>> lamina.saving.get_registered_name(shifted_softplus)
        'my_pkg>shifted_softplus'
    """
    if not isinstance(package, str) or ">" in package:
        raise ValueError(
            "register_keras_serializable: package must be a string without '>'. "
            f"Received: package={package!r}")

    def decorator(obj):
        object_name = name if name is not None else getattr(obj, "__name__", None)
        if not object_name:
            raise ValueError(
                f"Cannot register {obj!r}: it has no __name__. Pass name=... to "
                "register_keras_serializable.")
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(
                f"Cannot register the class {obj.__name__}: it has no get_config() method, so "
                "its instances could not be saved. Define get_config() returning the "
                "constructor arguments as a dict.")
        registered_name = f"{package}>{object_name}"
        with _registry_lock:
            _GLOBAL_CUSTOM_OBJECTS[registered_name] = obj
            _GLOBAL_CUSTOM_NAMES[obj] = registered_name
        return obj

    return decorator


def get_registered_name(obj):
    """The name `obj` is saved under: its registered `"package>name"`, else its `__name__`.

    Examples:
        >>> lamina.saving.get_registered_name(lamina.activations.relu)
        'relu'
    """
    try:
        registered = _GLOBAL_CUSTOM_NAMES.get(obj)
    except TypeError:  # unhashable objects are never registered
        registered = None
    if registered is not None:
        return registered
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered or supplied under `name`, or None.

    Looks in the active `custom_object_scope`s, then the global registry, then
    `custom_objects`, then `module_objects` (the order Keras 3 uses).

    Examples:
        >>> with lamina.saving.custom_object_scope({"my_fn": abs}):
        ...     lamina.saving.get_registered_object("my_fn") is abs
        True
    """
    scoped = _scope_objects.get()
    if scoped and name in scoped:
        return scoped[name]
    if name in _GLOBAL_CUSTOM_OBJECTS:
        return _GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_custom_objects():
    """The live global dict of registered objects (`"package>name"` -> object).

    Adding to it registers an object under that key; objects of an active
    `custom_object_scope` are not in it.

    Examples:
        >>> lamina.saving.get_custom_objects()["my_fn"] = abs   # now loadable as "my_fn"
        >>> del lamina.saving.get_custom_objects()["my_fn"]
    """
    return _GLOBAL_CUSTOM_OBJECTS


def scoped_custom_objects():
    """The objects of all active `custom_object_scope`s (inner scopes win), as a new dict."""
    return dict(_scope_objects.get() or {})


class CustomObjectScope:
    """Makes custom classes and functions visible to deserialization inside a `with` block.

    Accepts one or more dicts `{name: object}`. Scopes nest: an inner scope adds to (and may
    override) the names of the outer ones. The scope belongs to the current thread or task.

    Examples:
        >>> def my_softplus(z):
        ...     return jnp.log1p(jnp.exp(z))
        >>> with lamina.saving.custom_object_scope({"my_softplus": my_softplus}):
        ...     fn = lamina.activations.get("my_softplus")
        >>> fn is my_softplus
        True
    """

    def __init__(self, *custom_objects):
        merged = {}
        for objects in custom_objects:
            if objects is None:
                continue
            if not isinstance(objects, dict):
                raise TypeError(
                    "custom_object_scope expects dicts mapping names to objects. "
                    f"Received: {objects!r} of type {type(objects).__name__}")
            merged.update(objects)
        self.custom_objects = merged
        self._tokens = []

    def __enter__(self):
        combined = {**(_scope_objects.get() or {}), **self.custom_objects}
        self._tokens.append(_scope_objects.set(combined))
        return self

    def __exit__(self, *exc_info):
        _scope_objects.reset(self._tokens.pop())
        return False


custom_object_scope = CustomObjectScope


# --------------------------------------------------------------------------------- public names
# "keras.initializers.GlorotUniform" -> GlorotUniform, and GlorotUniform -> its first name.
_SYMBOL_BY_NAME = {}
_NAME_BY_SYMBOL = {}


def keras_export(*names):
    """Declares the Keras 3 public names of a lamina built-in (the first one is canonical).

    Serialization writes the canonical name's module (`"keras.initializers"`), so files saved by
    lamina load in Keras; deserialization maps every listed name back to the lamina object.

    Example (how lamina's modules declare their built-ins)::

        @keras_export("keras.constraints.NonNeg", "keras.constraints.non_neg")
        class NonNeg(Constraint):
            ...
    """
    if not names or not all(isinstance(n, str) and n.startswith("keras") for n in names):
        raise ValueError(
            f"keras_export expects names such as 'keras.layers.Dense'. Received: {names!r}")

    def decorator(symbol):
        with _registry_lock:
            for name in names:
                _SYMBOL_BY_NAME[name] = symbol
            _NAME_BY_SYMBOL.setdefault(symbol, names[0])
        return symbol

    return decorator


def public_name(symbol):
    """The Keras public name of a lamina built-in class or function (`"keras.layers.Dense"`).

    Uses `keras_export` declarations first. For lamina classes that were not declared, the
    shallowest public lamina module exposing the class gives the name: `lamina.layers.Dense`
    defined in `lamina/layers/core.py` is `"keras.layers.Dense"`. Returns None for anything
    that is not a lamina built-in (user classes, subclasses of built-ins).

    Examples:
        >>> public_name(lamina.initializers.GlorotUniform)
        'keras.initializers.GlorotUniform'
    """
    try:
        declared = _NAME_BY_SYMBOL.get(symbol)
    except TypeError:
        return None
    if declared is not None:
        return declared
    module_name = getattr(symbol, "__module__", None) or ""
    if not inspect.isclass(symbol) or not module_name.startswith("lamina."):
        return None
    parts = module_name.split(".")
    for depth in range(1, len(parts) + 1):
        namespace = ".".join(["keras", *parts[1:depth]])
        if namespace not in PUBLIC_NAMESPACES:
            continue  # only the public namespaces are homes: what resolves is what is written
        module = sys.modules.get(".".join(parts[:depth]))
        if module is not None and module.__dict__.get(symbol.__name__) is symbol:
            return f"{namespace}.{symbol.__name__}"
    return None


# The Keras public namespaces lamina implements. A name resolves only inside one of them, so no
# string can reach a private helper or a module that is not part of the public API.
PUBLIC_NAMESPACES = frozenset({
    "keras", "keras.activations", "keras.backend", "keras.callbacks", "keras.config",
    "keras.constraints", "keras.datasets", "keras.distillation", "keras.dtype_policies",
    "keras.initializers",
    "keras.layers", "keras.losses", "keras.metrics", "keras.models", "keras.ops",
    "keras.ops.image", "keras.ops.linalg", "keras.ops.nn", "keras.ops.numpy",
    "keras.optimizers", "keras.optimizers.schedules", "keras.random", "keras.regularizers",
    "keras.saving", "keras.utils",
})


def _import_if_present(module_name):
    """Imports a lamina module if it exists; None if it does not (yet) exist."""
    if module_name in sys.modules:
        return sys.modules[module_name]
    try:
        if importlib.util.find_spec(module_name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(module_name)


# Modules whose built-ins are declared with keras_export. Names such as "keras.Regularizer" live
# in one of them rather than in the module their name suggests, so lookups load these too.
BUILDING_BLOCK_MODULES = (
    "lamina.activations", "lamina.initializers", "lamina.regularizers", "lamina.constraints",
)


def public_symbol(api_name):
    """The lamina object for a Keras public name (`"keras.layers.Dense"`), or None.

    A name resolves when it was declared with `keras_export`, or when it is a public attribute
    of one of the `PUBLIC_NAMESPACES` (`keras.layers.Dense` is `lamina.layers.Dense`). Nothing
    else is imported or looked up: not a module outside lamina, not a submodule of a namespace
    (`keras.utils.file_utils`), not a private name.

    Examples:
        >>> public_symbol("keras.activations.swish") is lamina.activations.silu
        True
        >>> public_symbol("keras.utils.file_utils.get_file") is None
        True
    """
    if api_name in _SYMBOL_BY_NAME:
        return _SYMBOL_BY_NAME[api_name]
    namespace, _, attribute = api_name.rpartition(".")
    if namespace not in PUBLIC_NAMESPACES or not attribute or attribute.startswith("_"):
        return None
    module = _import_if_present("lamina" + namespace[len("keras"):])
    if api_name in _SYMBOL_BY_NAME:  # the import ran the module's keras_export declarations
        return _SYMBOL_BY_NAME[api_name]
    for building_block in BUILDING_BLOCK_MODULES:
        _import_if_present(building_block)
    if api_name in _SYMBOL_BY_NAME:
        return _SYMBOL_BY_NAME[api_name]
    if module is None:
        return None
    exported = getattr(module, "__all__", None)
    if exported is not None and attribute not in exported:
        return None
    return getattr(module, attribute, None)
