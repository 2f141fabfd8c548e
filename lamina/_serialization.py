"""Configs: objects to Keras 3's JSON-ready dicts and back.

The format is Keras 3's, byte for byte, so a config written by lamina loads in Keras and the
reverse. What each kind of object becomes:

* an object with `get_config()`: `{"module", "class_name", "config", "registered_name"}`. A
  lamina built-in is written under its Keras name (`"keras.initializers"`, `"GlorotUniform"`,
  `registered_name=None`); a user class under its own module (`None` for `__main__`) and its
  registered name (`"package>Name"`, or the class name when it is not registered).
* a named function (built-in or not): `{"module": "builtins", "class_name": "function",
  "config": <registered name>, "registered_name": "function"}`.
* a class object: the same with `"class_name": "type"`.
* a lambda: `{"class_name": "__lambda__", "config": {"value": (code, defaults, closure)}}`; it
  loads only with `safe_mode=False`, because loading runs its bytecode.
* NumPy arrays: `{"class_name": "__numpy__", "config": {"value": [...], "dtype": "int32"}}`;
  JAX arrays the same under `"__tensor__"`; NumPy scalars and 0-d arrays become Python scalars;
  tuples stay tuples (JSON turns them into lists); lists and dicts are converted item by item.

Loading resolves names in this order: the caller's `custom_objects`, active
`custom_object_scope`s, registered objects, then lamina's built-ins (a `"keras.*"` module maps
to the matching `lamina.*` module). In safe mode, the only modules ever imported are lamina's.
What a name may resolve to is an allow list: modeling objects (layers, losses, metrics,
optimizers, initializers, activations, ops, ...), plus, by exact name, one class outside the
modeling namespaces, `keras.utils.FeatureSpace` (a preprocessing Layer Keras saves on its
own), with the helpers its config nests (`_ADMITTED_CLASSES`); the rest of `keras.utils` and
every other namespace is refused by name.

This module sits just above the runtime and below every package whose objects it converts
(activations, layers, losses, metrics, optimizers, models), because their `get_config` and
`from_config` call it. So it never imports them: classes are found through `lamina._registry`
by their Keras names, and objects are converted through their own `get_config`/`from_config`.
`lamina.saving` re-exports the public functions.
"""

import builtins
import codecs
import contextlib
import contextvars
import difflib
import importlib
import inspect
import json
import marshal
import re
import types

import jax
import numpy as np

from lamina import _registry as registry
from lamina._runtime.dtypes import short_repr, standardize_dtype
from lamina._runtime.variable import Variable

__all__ = [
    "MAX_CONFIG_DEPTH", "DeserializationError", "ObjectSharingScope", "SafeModeScope",
    "check_config", "config_from_json", "deserialize_keras_object",
    "enable_unsafe_deserialization", "in_safe_mode", "register_special_type", "resolve_name",
    "serialize_keras_object", "unknown_name_error",
]

PLAIN_TYPES = (str, int, float, bool)


class DeserializationError(TypeError, ValueError):
    """A config names an object lamina cannot find, or holds arguments its class refuses.

    It is both a TypeError (what Keras 3 raises for a missing class) and a ValueError (what it
    raises for an unknown name), so code written against either keeps working.
    """


# ------------------------------------------------------------------------------------ safe mode
_safe_mode_scope = contextvars.ContextVar("lamina_safe_mode", default=None)
_unsafe_everywhere = False


def enable_unsafe_deserialization():
    """Turns safe mode off for the whole process, so configs with lambdas load.

    Only call this for files you trust: loading a lambda runs the bytecode stored in the file.
    """
    global _unsafe_everywhere
    _unsafe_everywhere = True


def in_safe_mode():
    """The safe mode set by an enclosing `SafeModeScope` or globally; None if neither set it."""
    scoped = _safe_mode_scope.get()
    if scoped is not None:
        return scoped
    if _unsafe_everywhere:
        return False
    return None


def effective_safe_mode(safe_mode):
    """Whether a load with this `safe_mode` argument is safe: an explicit True always is; else
    an enclosing scope or the process-wide setting decides; else explicit False is unsafe and
    None (no choice made) is safe."""
    if safe_mode is True:
        return True
    scoped = in_safe_mode()
    if scoped is not None:
        return scoped
    return safe_mode is not False


class SafeModeScope:
    """Passes a loader's `safe_mode` down to nested `deserialize_keras_object` calls.

    A layer's `from_config` that deserializes its sub-objects without choosing a safe mode
    obeys the `safe_mode` the user gave `load_model`.
    """

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode
        self._tokens = []

    def __enter__(self):
        value = None if self.safe_mode is None else bool(self.safe_mode)
        self._tokens.append(_safe_mode_scope.set(value))
        return self

    def __exit__(self, *exc_info):
        _safe_mode_scope.reset(self._tokens.pop())
        return False


# ------------------------------------------------------------------------------- shared objects
# Inside an ObjectSharingScope, an object met twice while serializing is written with a
# `shared_object_id` on both configs, and loading rebuilds it once. Archive saving uses this.
_sharing = contextvars.ContextVar("lamina_object_sharing", default=None)


class ObjectSharingScope:
    """Detects objects serialized twice and rebuilds them once when loading (Keras 3's ids)."""

    def __init__(self):
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_sharing.set(({}, {})))  # (id -> loaded object, id -> config)
        return self

    def __exit__(self, *exc_info):
        _sharing.reset(self._tokens.pop())
        return False


def _record_serialized(obj, config):
    if config.get("module") == "__main__":
        config["module"] = None  # Keras writes None for classes defined in a script
    maps = _sharing.get()
    if maps is None:
        return
    seen = maps[1]
    key = id(obj)
    if key in seen:
        config["shared_object_id"] = key
        seen[key]["shared_object_id"] = key
    else:
        seen[key] = config


# -------------------------------------------------------------------------------- special types
# Higher layers (symbolic tensors of functional models) plug their `"__name__"` configs in here,
# so this module never imports them.
_SPECIAL_SAVERS = []
_SPECIAL_LOADERS = {}


def register_special_type(cls, class_name, to_config, from_config):
    """Serializes instances of `cls` as `{"class_name": class_name, "config": to_config(obj)}`.

    `from_config(inner_config)` rebuilds them. Used for values that are not Keras objects but
    appear in configs, such as the symbolic tensors in a functional model's node arguments
    (`"__keras_tensor__"`).
    """
    _SPECIAL_SAVERS.append((cls, class_name, to_config))
    _SPECIAL_LOADERS[class_name] = from_config


# -------------------------------------------------------------------------------- serialization
def serialize_keras_object(obj):
    """Returns the Keras 3 config of `obj`: a dict, list or plain value that JSON can hold.

    Examples:
        >>> lamina.saving.serialize_keras_object(lamina.initializers.GlorotUniform(seed=1))
        {'module': 'keras.initializers', 'class_name': 'GlorotUniform',
         'config': {'seed': 1, 'input_axes': None, 'output_axes': None},
         'registered_name': None}
    """
    if obj is None or isinstance(obj, PLAIN_TYPES):
        return obj
    if isinstance(obj, (list, tuple)):
        items = [serialize_keras_object(item) for item in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if isinstance(obj, dict):
        return serialize_dict(obj)
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start),
            "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    for cls, class_name, to_config in _SPECIAL_SAVERS:
        if isinstance(obj, cls):
            return {"class_name": class_name, "config": to_config(obj)}
    if _is_tensor_shape(obj):
        dims = obj.as_list() if getattr(obj, "rank", 0) is not None else None
        return dims
    if _is_dtype(obj):
        return standardize_dtype(obj)
    if isinstance(obj, Variable):
        raise TypeError(
            f"Cannot serialize the Variable '{obj.path}' inside a config: configs hold "
            "hyperparameters, and weights are saved separately. Store a plain value instead "
            "(e.g. variable.numpy()), or save the weights with save_weights().")
    if isinstance(obj, jax.Array):
        if isinstance(obj, jax.core.Tracer):
            raise TypeError(
                "Cannot serialize a traced array: get_config() ran inside jax.jit or "
                "keras.function. Call it outside compiled code.")
        return {"class_name": "__tensor__", "config": {
            "value": np.asarray(obj).tolist(), "dtype": standardize_dtype(obj.dtype)}}
    if isinstance(obj, (np.ndarray, np.generic)):
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__", "config": {
                "value": obj.tolist(), "dtype": standardize_dtype(obj.dtype)}}
        return obj.item()
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        return _serialize_lambda(obj)
    if inspect.isclass(obj):
        config = {"module": "builtins", "class_name": "type",
                  "config": registry.get_registered_name(obj), "registered_name": "type"}
        _record_serialized(obj, config)
        return config
    if _is_named_function(obj):
        config = {"module": "builtins", "class_name": "function",
                  "config": registry.get_registered_name(obj), "registered_name": "function"}
        _record_serialized(obj, config)
        return config
    return _serialize_instance(obj)


def serialize_dict(config):
    """Serializes every value of a dict (keys are kept as they are)."""
    return {key: serialize_keras_object(value) for key, value in config.items()}


def _serialize_instance(obj):
    cls = type(obj)
    get_config = getattr(obj, "get_config", None)
    if get_config is None:
        raise TypeError(
            f"Cannot serialize {obj!r} of type {cls.__name__}: to be saved, a class must "
            "define get_config() returning its constructor arguments as a dict.")
    try:
        inner = get_config()
    except NotImplementedError as error:
        raise NotImplementedError(
            f"Cannot serialize {cls.__name__}: it does not implement get_config(). Define "
            "get_config() returning its constructor arguments as a dict.") from error
    if not isinstance(inner, dict):
        raise TypeError(
            f"{cls.__name__}.get_config() must return a dict. It returned {inner!r} of type "
            f"{type(inner).__name__}.")
    api_name = registry.public_name(cls)
    if api_name is None:
        _check_constructor_arguments(cls, inner)
    inner = serialize_dict(inner)
    if api_name is not None:
        module, _, class_name = api_name.rpartition(".")
        # Keras names a class outside its public API (`keras.src.models.functional`) by its
        # module path and its registered name, which is the class name.
        config = {"module": module, "class_name": class_name, "config": inner,
                  "registered_name": class_name if module.startswith("keras.src.") else None}
    else:
        module = cls.__module__
        config = {"module": module, "class_name": cls.__name__, "config": inner,
                  "registered_name": None if module == "builtins"
                  else registry.get_registered_name(cls)}
    build_config = getattr(obj, "get_build_config", None)
    if build_config is not None and (build_config := build_config()) is not None:
        config["build_config"] = serialize_dict(build_config)
    compile_config = getattr(obj, "get_compile_config", None)
    if compile_config is not None and (compile_config := compile_config()) is not None:
        config["compile_config"] = serialize_dict(compile_config)
    _record_serialized(obj, config)
    return config


def _check_constructor_arguments(cls, config):
    """At save time, not load time: a config must hold every required constructor argument.

    Only checked when loading will call the generic `from_config` (`cls(**config)`); a class
    with its own `from_config` decides for itself.
    """
    owner = next((klass for klass in cls.__mro__ if "from_config" in vars(klass)), None)
    if owner is not None and not owner.__module__.startswith("lamina."):
        return
    try:
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return
    # A class whose from_config rebuilds some arguments from the config (a functional model
    # subclass gets `inputs` and `outputs` from its graph) names them in this hook.
    supplied = getattr(cls, "_arguments_rebuilt_from_config", lambda config: ())(config)
    missing = [p.name for p in parameters
               if p.default is inspect.Parameter.empty
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               and p.name not in config and p.name not in supplied]
    if missing:
        raise ValueError(
            f"{cls.__name__}.get_config() does not include the constructor argument(s) "
            f"{missing}, so a saved copy could not be recreated. Add them to the dict that "
            f"get_config() returns, e.g. `return {{**super().get_config(), "
            f"{', '.join(repr(m) + ': self.' + m for m in missing)}}}`.")


def _is_named_function(obj):
    # Plain functions, builtins, and function-like callables such as jax.nn.relu (a custom_jvp
    # object) are all saved by name, as Keras saves plain functions.
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        return True
    return (callable(obj) and not hasattr(obj, "get_config")
            and isinstance(getattr(obj, "__name__", None), str))


def _is_tensor_shape(obj):
    # lamina.compat.tf.TensorShape (not imported here: compat sits above this module).
    return type(obj).__name__ == "TensorShape" and hasattr(obj, "as_list")


def _is_dtype(obj):
    if isinstance(obj, np.dtype) or hasattr(obj, "as_numpy_dtype"):
        return True
    # NumPy scalar types (np.float32) and JAX's (jnp.float32, a class with a `dtype`).
    return inspect.isclass(obj) and (
        issubclass(obj, np.generic) or isinstance(getattr(obj, "dtype", None), np.dtype))


_allow_lambda_code = contextvars.ContextVar("lamina_allow_lambda_code", default=False)


@contextlib.contextmanager
def allow_lambda_code():
    """Lets anonymous functions (lambdas, Lambda layers wrapping them) be saved as bytecode.

    Loading such a file runs the stored code, so lamina writes it only on request and loads it
    only with `safe_mode=False`.

    Examples:
        >>> with allow_lambda_code():
        ...     config = serialize_keras_object(lambda x: x * 2)
        >>> config["class_name"]
        '__lambda__'
    """
    token = _allow_lambda_code.set(True)
    try:
        yield
    finally:
        _allow_lambda_code.reset(token)


def lambda_code_allowed():
    return _allow_lambda_code.get()


def function_code(fn):
    """`(code, defaults, closure)`: Keras's bytecode form of a function (base64 of marshal)."""
    code = codecs.encode(marshal.dumps(fn.__code__), "base64").decode("ascii")
    closure = tuple(cell.cell_contents for cell in fn.__closure__) if fn.__closure__ else None
    return code, fn.__defaults__, closure


def function_from_code(code, defaults=None, closure=None):
    """Rebuilds a function from `function_code`'s output. Runs stored bytecode: unsafe."""
    code = marshal.loads(codecs.decode(code.encode("ascii"), "base64"))
    cells = tuple(types.CellType(item) for item in closure) if closure else None
    return types.FunctionType(code, _lambda_globals(), name=code.co_name,
                              argdefs=tuple(defaults) if defaults else None, closure=cells)


def _serialize_lambda(fn):
    if not _allow_lambda_code.get():
        try:
            source = inspect.getsource(fn).strip()
        except (OSError, TypeError):
            source = "<source unavailable>"
        raise ValueError(
            f"Cannot save the anonymous function `{source}` by reference: it has no importable "
            "name. Define it with `def` at module level (it is then saved by name), or opt in "
            "to saving its bytecode with `with keras.saving.allow_lambda_code(): ...` (the file "
            "will then only load with safe_mode=False, on the same Python version).")
    return {"class_name": "__lambda__", "config": {"value": function_code(fn)}}


def _load_lambda(value):
    code, defaults, closure = value if isinstance(value, (list, tuple)) else (value, None, None)
    return function_from_code(code, defaults, closure)


# The names a loaded lambda sees: book code writes `lambda x: tf.exp(x)` or `keras.ops...`.
# The modules are the public facades at the top of the library, so they are imported by name
# when a lambda is loaded (this module sits below them and never imports them statically).
_LAMBDA_MODULES = {"keras": "lamina", "tf": "lamina.compat.tf", "ops": "lamina.ops"}


def _lambda_globals():
    names = {"__builtins__": builtins, "np": np, "jnp": jax.numpy, "jax": jax}
    for alias, module in _LAMBDA_MODULES.items():
        names[alias] = importlib.import_module(module)
    return names


# ------------------------------------------------------------------------------ deserialization
def deserialize_keras_object(config, custom_objects=None, safe_mode=None, **kwargs):
    """Rebuilds the object a Keras 3 config describes (the inverse of `serialize_keras_object`).

    Args:
        config: a config dict, a list of them, a name, or a plain value (returned as is).
        custom_objects: `{name: class_or_function}` for user objects the config names.
        safe_mode: True refuses lambdas (stored bytecode), always. False allows them, unless an
            enclosing `SafeModeScope(True)` says otherwise. None (the default) follows the
            enclosing scope, then `keras.config.enable_unsafe_deserialization()`, and is safe
            when neither says anything. In every mode a config can name only modeling objects
            (and `keras.utils.FeatureSpace`) and registered or given custom objects, and no
            module it names is imported.
        module_objects: (keyword) `{name: object}` of built-ins a bare name or `class_name` may
            refer to; `keras.activations.deserialize` and friends pass theirs.
        printable_module_name: (keyword) what the objects are, for error messages.

    Examples:
        >>> lamina.saving.deserialize_keras_object(
        ...     {"module": "keras.regularizers", "class_name": "L2",
        ...      "config": {"l2": 0.5}, "registered_name": None})
        <lamina.regularizers.L2 object at ...>
    """
    module_objects = kwargs.pop("module_objects", None)
    kind = kwargs.pop("printable_module_name", None) or "object"
    if kwargs:
        raise TypeError(
            f"deserialize_keras_object() got unexpected arguments: {sorted(kwargs)}. It accepts "
            "config, custom_objects, safe_mode, module_objects and printable_module_name.")
    safe_mode = effective_safe_mode(safe_mode)
    objects = _available_objects(custom_objects)
    loader = _Loader(objects, safe_mode, kind)
    if not isinstance(config, (dict, list, tuple)) or _config_checked.get():
        return loader.load(config, module_objects)
    # The outermost call checks the whole config once; the from_config calls it makes load
    # parts of it.
    check_config(config)
    token = _config_checked.set(True)
    try:
        return loader.load(config, module_objects)
    finally:
        _config_checked.reset(token)


# ------------------------------------------------------------------------------- config shape
# A config from a file is a stranger's input. Two things about its shape are checked before
# anything is built, so that they fail naming the key path instead of deep inside a
# from_config: nesting depth (past Python's recursion limit a load ends in a bare
# RecursionError; a genuine config nests about 10 levels, 5 more per nested model), and object
# configs whose "class_name" is not a string or whose "config" is null or of the wrong type
# (Keras reads a null config as no arguments, which turns a damaged file into an empty model).
MAX_CONFIG_DEPTH = 100
_config_checked = contextvars.ContextVar("lamina_config_checked", default=False)
# A JSON string (skipped whole, so brackets inside it do not count), an opening or a closing
# bracket.
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|([\]}])')


def config_from_json(text, source="the JSON config"):
    """`json.loads(text)` for a config, refusing nesting deeper than `MAX_CONFIG_DEPTH` first.

    `source` names the text in errors (e.g. "config.json in 'model.keras'"). Every error is a
    ValueError. The scan that bounds the depth skips strings whole and stops at the first level
    too many, so it costs little next to parsing, and a hostile file fails at once.
    """
    depth = 0
    for token in _JSON_TOKENS.finditer(text):
        if token.lastindex == 1:
            depth += 1
            if depth > MAX_CONFIG_DEPTH:
                raise ValueError(
                    f"{source} nests lists and objects more than {MAX_CONFIG_DEPTH} levels deep "
                    f"(at character {token.start()}), and no model's config does: the file is "
                    "damaged or hostile. (If a genuine config nests deeper, raise "
                    "lamina._serialization.MAX_CONFIG_DEPTH.)")
        elif token.lastindex == 2:
            depth -= 1
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        raise ValueError(f"{source} is not valid JSON ({error}).") from error


def check_config(config, root="config"):
    """Refuses a config nested more than `MAX_CONFIG_DEPTH` levels (or containing itself), and
    object configs (dicts with "class_name" and "config") whose "class_name" is not a string or
    whose "config" is null or of the wrong type. Errors name the key path from `root`.

    Iterative, so it cannot itself run out of stack. `deserialize_keras_object` calls it.
    """
    stack = [(config, 1, None)]  # (value, depth, (parent path, key))
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_CONFIG_DEPTH:
            raise DeserializationError(
                f"The config nests lists and dicts more than {MAX_CONFIG_DEPTH} levels deep (at "
                f"{_key_path(root, path)}), and no model's config does: it is damaged, hostile "
                "or contains itself. (If a genuine config nests deeper, raise "
                "lamina._serialization.MAX_CONFIG_DEPTH.)")
        if isinstance(value, dict):
            _check_object_config(value, root, path)
            items = value.items()
        else:
            items = enumerate(value)
        for key, item in items:
            if isinstance(item, (dict, list, tuple)):
                stack.append((item, depth + 1, (path, key)))


def _check_object_config(config, root, path):
    if "class_name" not in config or "config" not in config:
        return
    class_name, inner = config["class_name"], config["config"]
    if not isinstance(class_name, str):
        raise DeserializationError(
            f"{_key_path(root, (path, 'class_name'))} must be a string naming a class or "
            f"function. Received: {short_repr(class_name, 200)} of type {type(class_name).__name__}. "
            "The config is damaged; re-save the model.")
    if class_name in ("function", "type"):
        expected, kind = f"the {'function' if class_name == 'function' else 'class'}'s name", str
    else:
        expected, kind = f"a dict of {class_name}'s arguments", dict
    if inner is None:
        raise DeserializationError(
            f"{_key_path(root, (path, 'config'))} is null, where {expected} belongs. (Keras would "
            f"read it as no arguments, building an empty {class_name} from a damaged file.) "
            "Write {} for the default arguments, or re-save the model.")
    if not isinstance(inner, kind):
        raise DeserializationError(
            f"{_key_path(root, (path, 'config'))} must be {expected}. Received: "
            f"{short_repr(inner, 200)} of type {type(inner).__name__}. The config is damaged; "
            "re-save the model.")
    for key in ("build_config", "compile_config"):
        value = config.get(key)
        if value is not None and not isinstance(value, dict):
            raise DeserializationError(
                f"{_key_path(root, (path, key))} must be a dict (or absent). Received: "
                f"{short_repr(value, 200)} of type {type(value).__name__}. The config is damaged; "
                "re-save the model.")


def _key_path(root, path):
    keys = []
    while path is not None:
        path, key = path
        keys.append(f"[{key!r}]")
    return root + "".join(reversed(keys))


def _available_objects(custom_objects):
    # The caller's explicit custom_objects win over scopes and the registry: they are the most
    # specific statement of what a name means for this load.
    return {**registry.get_custom_objects(), **registry.scoped_custom_objects(),
            **(custom_objects or {})}


_NOT_FOUND = object()
_KERAS_PACKAGES = ("keras", "lamina")

# What a config may name: safe loading is an allow list, never a deny list. A class resolves
# from these namespaces when it is made to be saved (it has get_config or from_config); a
# function only from the namespaces of the math a model is made of, and only if lamina defines
# it. So nothing that touches files, the network, processes or loading settings
# (keras.utils.get_file, keras.models.load_model, keras.config.enable_unsafe_deserialization)
# is reachable from a file, in safe mode or not. User objects resolve only through
# registration or `custom_objects`: no module named in a file is ever imported.
_MODELING_NAMESPACES = frozenset({
    "keras", "keras.activations", "keras.constraints", "keras.distillation",
    "keras.dtype_policies", "keras.initializers", "keras.layers", "keras.losses",
    "keras.metrics", "keras.models", "keras.ops", "keras.ops.image", "keras.ops.linalg",
    "keras.ops.nn", "keras.ops.numpy", "keras.optimizers", "keras.optimizers.schedules",
    "keras.quantizers", "keras.random", "keras.regularizers",
})
_FUNCTION_NAMESPACES = frozenset({
    "keras.activations", "keras.losses", "keras.metrics", "keras.ops", "keras.ops.image",
    "keras.ops.linalg", "keras.ops.nn", "keras.ops.numpy", "keras.random",
})
# Searched, in order, for a function saved only by name (`"module": "builtins"`).
_FUNCTION_MODULES = ("activations", "losses", "metrics", "initializers", "regularizers",
                     "constraints", "optimizers")
_NOT_MODELING_FUNCTIONS = frozenset({"get", "serialize", "deserialize"})
# The one exception, by exact name: keras.utils.FeatureSpace is a preprocessing Layer that
# Keras saves as a .keras file of its own, and its config nests Keras's Feature and Cross
# helpers and the identity layer of float features under Keras's source module. Each name maps
# to the lamina module that defines it (imported to look it up). No other keras.utils name,
# and nothing else of that source module, resolves.
_ADMITTED_CLASSES = {
    "keras.utils.FeatureSpace": "lamina.utils.feature_space",
    "keras.src.layers.preprocessing.feature_space.Feature": "lamina.utils.feature_space",
    "keras.src.layers.preprocessing.feature_space.Cross": "lamina.utils.feature_space",
    "keras.src.layers.preprocessing.feature_space.TFDIdentity": "lamina.utils.feature_space",
}


def modeling_symbol(api_name):
    """The built-in a Keras public name may stand for in a config, or None (see above)."""
    if api_name in _ADMITTED_CLASSES:
        registry._import_if_present(_ADMITTED_CLASSES[api_name])
        symbol = registry.public_symbol(api_name)
        return symbol if inspect.isclass(symbol) else None
    namespace, _, name = api_name.rpartition(".")
    if namespace not in _MODELING_NAMESPACES:
        return None
    symbol = registry.public_symbol(api_name)
    if inspect.isclass(symbol):
        saveable = hasattr(symbol, "get_config") or hasattr(symbol, "from_config")
        return symbol if saveable else None
    if (callable(symbol) and namespace in _FUNCTION_NAMESPACES
            and name not in _NOT_MODELING_FUNCTIONS
            and (getattr(symbol, "__module__", None) or "").startswith("lamina.")):
        return symbol
    return None


def _is_library_module(module):
    return isinstance(module, str) and module.split(".", 1)[0] in _KERAS_PACKAGES


def _keras_spelling(module):
    return "keras" + module[len("lamina"):] if module.split(".", 1)[0] == "lamina" else module


# Keras's source packages whose public home has another name (Keras 3.0 wrote
# `keras.src.engine.functional`).
_RENAMED_PACKAGES = {"engine": "models"}


def _public_homes(api_name):
    """Public names to try for a Keras source path, most specific first.

    Keras writes `keras.src.<package>.<file>.<Class>` for a class outside its public API, and
    older Keras 3 releases did so for more classes; the class lives in lamina under the public
    package: `keras.src.optimizers.schedules.learning_rate_schedule.ExponentialDecay` is tried
    as `keras.optimizers.schedules.ExponentialDecay`, then `keras.optimizers.ExponentialDecay`.
    """
    module, _, name = api_name.rpartition(".")
    parts = module.split(".")
    if parts[:2] != ["keras", "src"] or len(parts) < 3:
        return []
    path = [_RENAMED_PACKAGES.get(parts[2], parts[2]), *parts[3:]]
    return [".".join(["keras", *path[:depth], name]) for depth in range(len(path), -1, -1)]


class _Loader:
    """One deserialization: the objects names resolve to, and the safe-mode setting."""

    def __init__(self, objects, safe_mode, kind):
        self.objects = objects
        self.safe_mode = safe_mode
        self.kind = kind

    def load(self, config, module_objects=None):
        if config is None:
            return None
        if isinstance(config, str):
            if config in self.objects:
                return self.objects[config]  # a plain function saved by name (legacy format)
            if module_objects is not None:
                return resolve_name(config, module_objects, self.kind, self.objects)
            return config
        if isinstance(config, (list, tuple)):
            return [self.load(item) for item in config]
        if isinstance(config, PLAIN_TYPES):
            return config
        if not isinstance(config, dict):
            raise DeserializationError(
                f"Cannot deserialize {short_repr(config, 500)} of type {type(config).__name__}: expected a "
                "config dict, a list, a name or a plain value.")
        if module_objects is not None:
            if "class_name" not in config:
                raise DeserializationError(
                    f"Cannot deserialize this {self.kind} config: it has no 'class_name' key. "
                    f"Expected {{'class_name': ..., 'config': {{...}}}}. Received: {short_repr(config, 500)}")
            found = self._load_builtin(config, module_objects)
            if found is not _NOT_FOUND:
                return found
            return self._load_object({**config, "config": config.get("config")})
        if "class_name" not in config or "config" not in config:
            return {key: self.load(value) for key, value in config.items()}
        return self._load_object(config)

    def _load_builtin(self, config, module_objects):
        """Resolves `class_name` (or a function name) among `module_objects`, if it is there."""
        class_name = config["class_name"]
        inner = config.get("config")
        if class_name == "function":
            if isinstance(inner, str) and inner not in self.objects:
                function = module_objects.get(inner)
                if function is not None and not inspect.isclass(function):
                    return function
            return _NOT_FOUND
        registered_name = config.get("registered_name")
        if registered_name and not _is_library_module(config.get("module")):
            return _NOT_FOUND  # a user class that happens to share a built-in's name
        if class_name in self.objects or class_name not in module_objects:
            return _NOT_FOUND
        target = module_objects[class_name]
        if not inspect.isclass(target):
            return target
        return self._instantiate(target, inner or {}, config)

    def _load_object(self, config):
        class_name = config["class_name"]
        inner = config["config"] if config["config"] is not None else {}
        if class_name in _SPECIAL_NAMES:
            return _SPECIAL_NAMES[class_name](self, inner)
        if class_name in _SPECIAL_LOADERS or (class_name.startswith("__")
                                              and class_name.endswith("__")):
            return self._load_registered_special(class_name, inner, config)
        module = config.get("module")
        registered_name = config.get("registered_name", class_name)
        if class_name == "function":
            if not isinstance(inner, str):
                raise DeserializationError(
                    f"A function config must hold the function's name as 'config'. "
                    f"Received: {short_repr(config, 500)}")
            return self._find_function(inner, module, config)
        if class_name == "type" and isinstance(inner, str):
            return self._find_class(inner, inner, None, config)
        if not isinstance(inner, dict):
            raise DeserializationError(
                f"The config of {class_name} must be a dict. Received: {short_repr(config, 500)}")
        shared_id = config.get("shared_object_id")
        maps = _sharing.get()
        if shared_id is not None and maps is not None and shared_id in maps[0]:
            return maps[0][shared_id]
        cls = self._find_class(class_name, registered_name, module, config)
        if not inspect.isclass(cls):
            return cls  # a function registered under this name
        instance = self._instantiate(cls, inner, config)
        if shared_id is not None and maps is not None:
            maps[0][shared_id] = instance
        return instance

    def _load_registered_special(self, class_name, inner, config):
        if class_name not in _SPECIAL_LOADERS:
            registry._import_if_present("lamina.models")  # home of "__keras_tensor__"
        if class_name not in _SPECIAL_LOADERS:
            raise DeserializationError(
                f"Cannot deserialize a '{class_name}' value: lamina has no loader for it. "
                f"Config: {short_repr(config, 500)}")
        return _SPECIAL_LOADERS[class_name](inner)

    # -------------------------------------------------------------------------- name lookup
    def _find_function(self, name, module, config):
        found = self.objects.get(name)
        if found is not None:
            return found
        if _is_library_module(module):
            api_name = f"{_keras_spelling(module)}.{name}"
            for candidate in (api_name, *_public_homes(api_name)):
                found = modeling_symbol(candidate)
                if found is not None and not inspect.isclass(found):
                    return found
            _refuse_if_other_public_api(api_name, config)
        if module in (None, "builtins") or _is_library_module(module):
            for home in _FUNCTION_MODULES:
                found = modeling_symbol(f"keras.{home}.{name}")
                if found is not None and not inspect.isclass(found):
                    return found
            # Keras <= 3.6 saved registered functions by bare name; accept "pkg>name".
            found = self._find_by_short_name(name, "function", config)
            if found is not None:
                return found
        raise _missing_object_error("function", name, name, module, config)

    def _find_by_short_name(self, name, what, config):
        """The object registered as "<package>>name", when exactly one package registers it.

        A config written before its object was registered names it without a package. Two
        packages registering the same short name make that ambiguous; guessing would build
        the wrong class silently, so the caller must say which one it means.
        """
        if ">" in name:
            return None
        matches = {key: value for key, value in self.objects.items()
                   if key.endswith(">" + name)}
        if len(matches) > 1:
            names = ", ".join(repr(key) for key in sorted(matches))
            raise DeserializationError(
                f"The config names the {what} '{name}' without a package, and {len(matches)} "
                f"registered objects match it: {names}. Pass custom_objects={{'{name}': ...}} "
                f"with the one this file needs. Config: {short_repr(config, 500)}")
        return next(iter(matches.values()), None)

    def _find_class(self, class_name, registered_name, module, config):
        for key in (registered_name, class_name):
            if key and key in self.objects:
                return self.objects[key]
        if _is_library_module(module):
            api_name = f"{_keras_spelling(module)}.{class_name}"
            for candidate in (api_name, *_public_homes(api_name)):
                found = modeling_symbol(candidate)
                if inspect.isclass(found):
                    return found
            _refuse_if_other_public_api(api_name, config)
            raise DeserializationError(
                f"Cannot deserialize '{api_name}': lamina has no such built-in. If it is a "
                f"custom class, pass custom_objects={{'{class_name}': {class_name}}} or "
                "decorate it with @keras.saving.register_keras_serializable(). "
                f"Config: {short_repr(config, 500)}")
        # Saved before the class was registered: its config names it without a package.
        found = self._find_by_short_name(registered_name or class_name, "class", config)
        if found is not None:
            return found
        raise _missing_object_error("class", class_name, registered_name, module, config)

    # ------------------------------------------------------------------------ instantiation
    def _instantiate(self, cls, inner, config):
        with registry.CustomObjectScope(self.objects), SafeModeScope(self.safe_mode):
            try:
                if hasattr(cls, "from_config"):
                    instance = cls.from_config(inner)
                else:
                    instance = cls(**inner)
            except DeserializationError:
                raise
            except TypeError as error:
                raise _config_error(cls, inner, config, error) from error
            except (KeyError, IndexError, AttributeError) as error:
                raise _malformed_config_error(cls, "config", config, error) from error
            for key, method, flag in (("build_config", "build_from_config", "built"),
                                      ("compile_config", "compile_from_config", "compiled")):
                section = config.get(key)
                if not section or not hasattr(instance, method):
                    continue
                if key == "build_config" and getattr(instance, "built", True):
                    continue
                try:
                    getattr(instance, method)(section)
                except (KeyError, IndexError, AttributeError) as error:
                    raise _malformed_config_error(cls, key, config, error) from error
                setattr(instance, flag, True)
        return instance


def _load_numpy(loader, inner):
    return np.array(inner["value"], dtype=inner["dtype"])


def _load_tensor(loader, inner):
    return jax.numpy.asarray(np.array(inner["value"]), dtype=inner["dtype"])


def _load_slice(loader, inner):
    return slice(*(loader.load(inner[key]) for key in ("start", "stop", "step")))


def _load_lambda_config(loader, inner):
    if loader.safe_mode:
        raise DeserializationError(
            "Refusing to deserialize a Python lambda: loading one runs bytecode stored in the "
            "file, which could execute arbitrary code. If you trust this file, pass "
            "safe_mode=False to the loading function, or call "
            "keras.config.enable_unsafe_deserialization().")
    return _load_lambda(inner["value"])


_SPECIAL_NAMES = {
    "__numpy__": _load_numpy,
    "__tensor__": _load_tensor,
    "__bytes__": lambda loader, inner: inner["value"].encode("utf-8"),
    "__ellipsis__": lambda loader, inner: Ellipsis,
    "__slice__": _load_slice,
    "__lambda__": _load_lambda_config,
}


def _refuse_if_other_public_api(api_name, config):
    """Refuses a name of the public API that is not a modeling object. A namespace outside the
    modeling ones (`keras.utils`, `keras.config`, ...) is refused by its name alone: it is not
    even imported to look the name up."""
    namespace = api_name.rpartition(".")[0]
    if namespace not in registry.PUBLIC_NAMESPACES:
        return
    if namespace not in _MODELING_NAMESPACES or registry.public_symbol(api_name) is not None:
        _refuse_non_modeling(api_name, config)


def _refuse_non_modeling(api_name, config):
    raise DeserializationError(
        f"Refusing to deserialize '{api_name}': configs may name only modeling objects (layers, "
        "losses, metrics, optimizers, initializers, activations and other array functions) "
        "and objects you registered or pass in custom_objects; this name is not one of them. "
        "This holds with safe_mode=False too: a file never chooses other functions to run. "
        f"Config: {short_repr(config, 500)}")


# ------------------------------------------------------------------------------------ messages
def _missing_object_error(what, name, registered_name, module, config):
    key = registered_name if registered_name and registered_name not in ("function", "type") \
        else name
    package, separator, short_name = key.partition(">")
    if separator:
        decorator = f"@keras.saving.register_keras_serializable(package={package!r})"
    else:
        short_name = key
        decorator = "@keras.saving.register_keras_serializable()"
    python_name = short_name if short_name.isidentifier() else name
    message = (
        f"Could not find the {what} '{short_name}' named in this config: it is not a lamina or "
        f"Keras built-in, and no custom object is known under '{key}'. Supply it in one of "
        f"two ways: pass custom_objects={{'{key}': {python_name}}} to the loading function "
        "(or wrap the load in keras.saving.custom_object_scope), or decorate its definition "
        f"with {decorator} and import the module that defines it before loading.")
    if module not in (None, "__main__", "builtins") and not _is_library_module(module):
        message += (
            f" lamina never imports the module '{module}' that the file names (a file must not "
            "choose what code is imported, in safe mode or not): import it yourself before "
            "loading, so that its registrations run.")
    return DeserializationError(f"{message} Config: {short_repr(config, 500)}")


def _malformed_config_error(cls, key, config, error):
    """A from_config (or build/compile_from_config) that met a missing key or a value of the
    wrong kind: the config was not written by Keras or lamina for this class, or was edited."""
    return DeserializationError(
        f"Cannot create {cls.__name__} from the '{key}' of its config: it is missing an entry "
        f"or holds a value of the wrong kind ({type(error).__name__}: {error}). The config was "
        f"not written for this class by Keras or lamina, or it was modified. Config: "
        f"{short_repr(config, 500)}")


def _config_error(cls, inner, config, error):
    """Explains a from_config TypeError: unknown keys, missing arguments, or the raw error."""
    name = cls.__name__
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        parameters = None
    if parameters is not None:
        takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        accepted = [p for p, v in parameters.items()
                    if v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
        unknown = [key for key in inner if key not in parameters]
        required = [p for p, v in parameters.items()
                    if v.default is v.empty and v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)
                    and p not in inner]
        if unknown and not takes_any and "unexpected keyword argument" in str(error):
            keys = ", ".join(repr(key) for key in unknown)
            return DeserializationError(
                f"Cannot create {name} from its config: {name} does not accept the "
                f"key{'s' if len(unknown) > 1 else ''} {keys}. Accepted arguments: "
                f"{', '.join(accepted) or '(none)'}. Fix the config, or make "
                f"{name}.__init__ (or {name}.from_config) take these keys. Config: {short_repr(config, 500)}")
        if required and "required" in str(error):
            return DeserializationError(
                f"Cannot create {name} from its config: the config lacks the required "
                f"argument{'s' if len(required) > 1 else ''} {', '.join(required)}. Make "
                f"{name}.get_config() return every constructor argument. Config: {short_repr(config, 500)}")
    return DeserializationError(
        f"{name}.from_config() failed: {error}. get_config() should return exactly the "
        "constructor arguments, and a from_config() should deserialize nested objects (layers, "
        f"initializers, ...) it receives as configs. Config: {short_repr(config, 500)}")


def unknown_name_error(kind, name, candidates):
    """The error for a name that is neither a built-in nor a known custom object.

    Lists the closest valid names and says how to register a custom one.
    """
    candidates = sorted({c for c in candidates if isinstance(c, str)})
    by_lower = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=5, cutoff=0.6)
    if close:
        hint = "Did you mean " + ", ".join(repr(by_lower[c]) for c in close) + "?"
    else:
        hint = "Valid names: " + ", ".join(repr(c) for c in candidates) + "."
    return DeserializationError(
        f"Unknown {kind} {name!r}. {hint} To use your own {kind}, pass the object itself, "
        "or decorate it with @keras.saving.register_keras_serializable() and refer to it by "
        f"its registered name ('Custom>{name}'), or pass custom_objects={{{str(name)!r}: ...}} "
        "when loading.")


def resolve_name(name, module_objects, kind, objects=None):
    """The built-in (from `module_objects`) or custom object called `name`; raises if none."""
    if name in module_objects:
        return module_objects[name]
    if objects is None:
        objects = _available_objects(None)
    if name in objects:
        return objects[name]
    raise unknown_name_error(kind, name, module_objects)
