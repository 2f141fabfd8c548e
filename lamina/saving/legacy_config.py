"""tf.keras 2 configs, rewritten into the Keras 3 configs that lamina's deserializer reads.

A legacy `.h5` model file (`model.save("x.h5")` in tf.keras 2, or in Keras 3) holds its
architecture in the `model_config` attribute and its compile arguments in `training_config`,
in tf.keras 2's format, which differs from Keras 3's:

* objects are `{"class_name": ..., "config": ...}` without `module`: a built-in is named by its
  bare class name (`"Dense"`, `"GlorotUniform"`), an optimizer of tf.keras 2.11+ as
  `"Custom>Adam"`, a dtype policy as `"Policy"` (or a plain dtype string);
* the first layer carries `batch_input_shape`, an axis may be a one-element list, a `Lambda`
  stores its function as `[bytecode, defaults, closure]`, losses use `reduction="auto"`;
* a functional model (`"Functional"`, `"Model"` before tf.keras 2.4) lists each layer call as
  `[[layer name, node index, tensor index, kwargs], ...]`;
* metrics are nested one list per output.

`model_config` and `training_config` below rewrite a whole config into Keras 3's (the rules
of Keras 3's `keras/src/legacy/saving/`), so that the ordinary, safe deserialization builds it:
built-ins are named with their Keras module, so they resolve from the allow list; every other
class must be a custom object the caller passes or registered. Nothing is imported or built
here: the functions map JSON to JSON, and a layer that names no known class is refused with
its name before anything is built.
"""

import warnings

from lamina import _registry as registry
from lamina import _serialization as serialization

# The keys of a layer's config that hold an object of one kind, and that kind's namespace.
_NESTED = (
    ("_initializer", "keras.initializers"), ("_regularizer", "keras.regularizers"),
    ("_constraint", "keras.constraints"),
)
_NESTED_LAYERS = ("layer", "cell", "forward_layer", "backward_layer")
_MODEL_CLASSES = ("Sequential", "Functional", "Model")
# Arguments tf.keras 2's Lambda wrote that Keras 3 has no use for.
_LAMBDA_LEGACY_KEYS = ("module", "function_type", "output_shape_type", "output_shape_module")
# tf.keras 2 layer arguments that Keras 3 dropped: {key: the value that left it inert}, per
# class (None: a key tf.keras wrote but never used). Another value is refused, naming it.
_SEPARABLE = {"groups": 1, "kernel_initializer": None, "kernel_regularizer": None,
              "kernel_constraint": None}
_RECURRENT = {"time_major": False}
_DROPPED_ARGUMENTS = {
    "SeparableConv1D": _SEPARABLE, "SeparableConv2D": _SEPARABLE,
    "DepthwiseConv1D": {"groups": 1, "kernel_initializer": None, "kernel_regularizer": None,
                        "kernel_constraint": None, "filters": None},
    "DepthwiseConv2D": {"groups": 1, "kernel_initializer": None, "kernel_regularizer": None,
                        "kernel_constraint": None, "filters": None},
    "Conv1DTranspose": {"groups": 1}, "Conv2DTranspose": {"groups": 1},
    "Conv3DTranspose": {"groups": 1},
    "LSTM": _RECURRENT, "GRU": _RECURRENT, "SimpleRNN": _RECURRENT, "RNN": _RECURRENT,
    "Embedding": {"input_length": None},
}
# Keys of tf.keras 2's optimizers (2.11+ and the legacy ones) that Keras 3's do not take.
_OPTIMIZER_LEGACY_KEYS = ("is_legacy_optimizer", "jit_compile", "decay")


class LegacyConfigError(serialization.DeserializationError):
    """A legacy model config that cannot be read: a `ValueError` (and `TypeError`) naming
    where in the file and what is wrong."""


def _custom_objects(custom_objects):
    return {**registry.get_custom_objects(), **registry.scoped_custom_objects(),
            **(custom_objects or {})}


def _is_custom(name, objects):
    if name in objects:
        return True
    return ">" not in name and any(key.endswith(">" + name) for key in objects)


def _builtin(namespace, name):
    return serialization.modeling_symbol(f"{namespace}.{name}") is not None


def _object(config, namespace, objects):
    """`{"class_name", "config"}` of `namespace` (a built-in or a custom object) in Keras 3's
    form. A class name that is neither stays without a module, so loading it fails naming it."""
    class_name = config["class_name"]
    inner = {k: v for k, v in config["config"].items() if k != "__passive_serialization__"} \
        if isinstance(config.get("config"), dict) else config.get("config")
    if config.get("module") is not None:  # already Keras 3's form (Keras 3 wrote the file)
        return {**config, "config": inner}
    if isinstance(class_name, str) and class_name.startswith("Custom>"):
        short = class_name[len("Custom>"):]
        if not _is_custom(class_name, objects) and _builtin(namespace, short):
            class_name = short  # tf.keras 2.11+ registers its own optimizers as "Custom>"
    if isinstance(class_name, str) and not _is_custom(class_name, objects) \
            and _builtin(namespace, class_name):
        return {"module": namespace, "class_name": class_name, "config": inner,
                "registered_name": None}
    return {"class_name": class_name, "config": inner,
            "registered_name": config.get("registered_name", class_name)}


def _is_object_config(value):
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) \
        and "config" in value


def _dtype(value):
    """A dtype policy: a dtype string stays; tf.keras 2's `Policy` becomes `DTypePolicy`."""
    if _is_object_config(value) and value.get("module") is None and isinstance(
            value["config"], dict) and value["class_name"] in ("Policy", "DTypePolicy"):
        return {"module": "keras", "class_name": "DTypePolicy",
                "config": {"name": value["config"].get("name", "float32")},
                "registered_name": None}
    return value


def _layer_config(inner, class_name, objects, where):
    inner = {k: v for k, v in inner.items() if k != "__passive_serialization__"}
    axis = inner.get("axis")
    if isinstance(axis, list) and len(axis) == 1 and isinstance(axis[0], int):
        inner["axis"] = axis[0]
    if "dtype" in inner:
        inner["dtype"] = _dtype(inner["dtype"])
    for key, value in list(inner.items()):
        if not _is_object_config(value):
            if key == "cells" and isinstance(value, list):
                inner[key] = [layer(cell, objects, f"{where}.cells[{i}]")
                              if _is_object_config(cell) else cell
                              for i, cell in enumerate(value)]
            continue
        if key in _NESTED_LAYERS:
            inner[key] = layer(value, objects, f"{where}.{key}")
            continue
        for suffix, namespace in _NESTED:
            if key.endswith(suffix):
                inner[key] = _object(value, namespace, objects)
                break
        else:
            if key == "activation":
                inner[key] = _object(value, "keras.activations", objects)
            elif value.get("module") is None and value.get("__passive_serialization__"):
                inner[key] = {k: v for k, v in value.items()
                              if k != "__passive_serialization__"}
    for key, inert in _DROPPED_ARGUMENTS.get(class_name, {}).items():
        if key not in inner:
            continue
        value = inner.pop(key)
        if inert is not None and value != inert:
            raise LegacyConfigError(
                f"The legacy model config's {where} ({class_name} "
                f"'{inner.get('name')}') sets {key}={value!r}, a tf.keras 2 argument that "
                f"Keras 3 and lamina no longer have (only {key}={inert!r} can be read). "
                "Rebuild this layer without it, then load the weights with load_weights.")
    if class_name == "LeakyReLU" and "alpha" in inner and "negative_slope" not in inner:
        inner["negative_slope"] = inner.pop("alpha")  # Keras 3's name for it
    if class_name == "Lambda":
        for key in _LAMBDA_LEGACY_KEYS:
            inner.pop(key, None)
        for key in ("function", "output_shape", "mask"):
            value = inner.get(key)
            if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
                # [marshalled bytecode, defaults, closure]: loads only with safe_mode=False.
                inner[key] = {"class_name": "__lambda__", "config": {"value": value[0]}}
    return inner


def layer(config, objects, where="layer"):
    """One layer's config (a nested model's included) in Keras 3's form; `where` names it in
    errors. Refuses a class that is neither a lamina layer nor a custom object."""
    if not _is_object_config(config):
        raise LegacyConfigError(
            f"The legacy model config's {where} must be a layer's {{'class_name': ..., "
            f"'config': {{...}}}}. Received: {serialization.short_repr(config, 200)}. The file "
            "is damaged; re-save the model.")
    class_name = config["class_name"]
    inner = config["config"]
    name = inner.get("name") if isinstance(inner, dict) else None
    if config.get("module") is not None:
        # Keras 3's form (tf.keras 2.13+ writes it for nested layers too, with its own
        # arguments): a built-in layer's arguments are still read as tf.keras 2's.
        translated = dict(config)
        if isinstance(inner, dict) and not _is_custom(class_name, objects) \
                and _builtin("keras.layers", class_name):
            translated["config"] = _layer_config(inner, class_name, objects, where)
        return translated
    if class_name in _MODEL_CLASSES and not _is_custom(class_name, objects):
        translated = model(config, objects, where)
    elif _is_custom(class_name, objects) or _builtin("keras.layers", class_name):
        if not isinstance(inner, dict):
            raise LegacyConfigError(
                f"The legacy model config's {where} ({class_name}) has a 'config' that is not "
                f"a dict: {serialization.short_repr(inner, 200)}. The file is damaged.")
        translated = _object({"class_name": class_name, "config": _layer_config(
            inner, class_name, objects, where)}, "keras.layers", objects)
    else:
        label = f"'{name}' " if isinstance(name, str) else ""
        raise LegacyConfigError(
            f"The legacy model file uses layer {label}of class '{class_name}' (at {where}), "
            "which lamina does not know: it is not a built-in Keras layer, and no custom "
            f"object is named '{class_name}'. If it is your own layer, pass "
            f"custom_objects={{'{class_name}': {class_name}}} to load_model (or register it "
            "with @keras.saving.register_keras_serializable()).")
    for key in ("name", "inbound_nodes", "shared_object_id"):
        if key in config:
            translated[key] = config[key]
    return translated


def _node(node, where, nested=()):
    """A tf.keras 2 call `[[layer, node, tensor, kwargs], ...]` as Keras 3's `{args, kwargs}`.

    tf.keras 2 numbers the calls of a nested model from 1 (its own input-to-output node is 0);
    Keras 3's `inbound_nodes` count them from 0: indices into the models in `nested` shift.
    """
    if isinstance(node, dict):
        return node
    if not isinstance(node, list):
        raise LegacyConfigError(
            f"The legacy model config's {where} must be a list of inbound tensors. Received: "
            f"{serialization.short_repr(node, 200)}")
    tensors, kwargs = [], {}
    for index, entry in enumerate(node):
        if not (isinstance(entry, list) and len(entry) in (3, 4)
                and isinstance(entry[0], str) and all(isinstance(i, int) and not
                                                      isinstance(i, bool) for i in entry[1:3])):
            raise LegacyConfigError(
                f"The legacy model config's {where}[{index}] must be [layer name, node index, "
                f"tensor index, kwargs]. Received: {serialization.short_repr(entry, 200)}")
        if len(entry) == 4:
            if not isinstance(entry[3], dict):
                raise LegacyConfigError(
                    f"The legacy model config's {where}[{index}][3] must be a dict of call "
                    f"arguments. Received: {serialization.short_repr(entry[3], 200)}")
            kwargs = entry[3]
        history = list(entry[:3])
        if history[0] in nested and history[1] > 0:
            history[1] -= 1
        tensors.append({"class_name": "__keras_tensor__", "config": {"keras_history": history}})
    args = [tensors[0]] if len(tensors) == 1 else [tensors]
    return {"args": args, "kwargs": kwargs}


def _entry_name(entry):
    inner = entry.get("config")
    return entry.get("name") or (inner.get("name") if isinstance(inner, dict) else None)


def _endpoints(spec, sequential):
    """`input_layers` / `output_layers` with the node indices of nested Sequential models
    counted as Keras 3 counts them (from 0)."""
    if isinstance(spec, list) and len(spec) == 3 and isinstance(spec[0], str):
        if spec[0] in sequential and isinstance(spec[1], int) and spec[1] > 0:
            return [spec[0], spec[1] - 1, spec[2]]
        return spec
    if isinstance(spec, list):
        return [_endpoints(item, sequential) for item in spec]
    if isinstance(spec, dict):
        return {key: _endpoints(item, sequential) for key, item in spec.items()}
    return spec


def model(config, objects, where="model_config"):
    """A whole model's config (`Sequential`, `Functional`/`Model`) in Keras 3's form."""
    class_name = config.get("class_name")
    inner = config.get("config")
    if isinstance(inner, list):  # Keras 2.0's Sequential: the layer list alone
        inner = {"name": None, "layers": inner}
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise LegacyConfigError(
            f"The legacy model config's {where} ({class_name}) must hold a dict with a "
            f"'layers' list. Received: {serialization.short_repr(inner, 200)}. The file is "
            "damaged; re-save the model.")
    inner = dict(inner)
    layers = []
    # Nested models, by name: Sequential ones are counted from 1 in tf.keras 2's input and
    # output lists too, where Keras 3 counts only nested functional models so.
    nested = {_entry_name(entry): entry["class_name"] for entry in inner["layers"]
              if _is_object_config(entry) and entry["class_name"] in _MODEL_CLASSES
              and not _is_custom(entry["class_name"], objects) and entry.get("module") is None}
    for index, entry in enumerate(inner["layers"]):
        place = f"{where}.layers[{index}]"
        translated = layer(entry, objects, place)
        batch_shape = translated["config"].pop("batch_input_shape", None) \
            if isinstance(translated.get("config"), dict) else None
        if batch_shape is not None:
            key = "batch_shape" if entry["class_name"] == "InputLayer" else "batch_input_shape"
            if key == "batch_input_shape" and index > 0 and class_name == "Sequential" and \
                    inner["layers"][0].get("class_name") == "InputLayer":
                key = None  # the InputLayer before it already says it
            if key:
                translated["config"][key] = batch_shape
        if isinstance(entry.get("inbound_nodes"), list):
            translated["inbound_nodes"] = [
                _node(node, f"{place}.inbound_nodes[{i}]", nested)
                for i, node in enumerate(entry["inbound_nodes"])]
        layers.append(translated)
    inner["layers"] = layers
    if class_name == "Sequential":
        return {"module": "keras", "class_name": "Sequential", "config": inner,
                "registered_name": None}
    if "input_layers" not in inner or "output_layers" not in inner:
        raise LegacyConfigError(
            f"The legacy model config's {where} ({class_name}) lacks 'input_layers' or "
            "'output_layers'; a functional model's config lists both. The file is damaged.")
    for key in ("input_layers", "output_layers"):
        inner[key] = _endpoints(inner[key], {name for name, kind in nested.items()
                                             if kind == "Sequential"})
    outputs = inner["output_layers"]
    if isinstance(outputs, list) and len(outputs) == 1 and isinstance(outputs[0], list):
        # tf.keras 2 lists even one output; it returned that output alone, as Keras 3 does.
        inner["output_layers"] = outputs[0]
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": inner, "registered_name": "Functional"}


def model_config(config, custom_objects=None):
    """The `model_config` attribute of a legacy `.h5` file (parsed JSON) in Keras 3's form.

    Raises `LegacyConfigError` naming the first layer that is neither built in nor among the
    custom objects (`custom_objects`, registered ones, and an enclosing
    `custom_object_scope`)."""
    objects = _custom_objects(custom_objects)
    if not _is_object_config(config):
        raise LegacyConfigError(
            "The legacy model file's 'model_config' must describe a model: "
            "{'class_name': ..., 'config': {...}}. Received: "
            f"{serialization.short_repr(config, 200)}. The file is damaged; re-save the model.")
    if config["class_name"] in _MODEL_CLASSES and not _is_custom(config["class_name"], objects):
        return model(config, objects)
    return layer(config, objects, "model_config")


def _loss(value, objects):
    if _is_object_config(value):
        translated = _object(value, "keras.losses", objects)
        inner = translated["config"]
        if isinstance(inner, dict):
            inner = dict(inner)
            if inner.get("reduction") == "auto":  # tf.keras 2's default: the batch mean
                inner["reduction"] = "sum_over_batch_size"
            if inner.get("name") is None:
                inner.pop("name", None)
            translated["config"] = inner
        return translated
    return value


def _metric(value, objects):
    if _is_object_config(value):
        translated = _object(value, "keras.metrics", objects)
        inner = translated["config"]
        if isinstance(inner, dict) and isinstance(inner.get("fn"), str):
            # MeanMetricWrapper(fn="mean_absolute_error"): a function saved by its name.
            translated["config"] = {**inner, "fn": {
                "module": "builtins", "class_name": "function", "config": inner["fn"],
                "registered_name": "function"}}
        return translated
    return value


def _nested(value, convert, objects):
    if isinstance(value, list):
        return [_nested(item, convert, objects) for item in value]
    if isinstance(value, dict) and not _is_object_config(value):
        return {key: _nested(item, convert, objects) for key, item in value.items()}
    return convert(value, objects)


def _optimizer(value, objects):
    translated = _object(value, "keras.optimizers", objects)
    inner = translated["config"]
    if isinstance(inner, dict) and translated.get("module"):
        if inner.get("decay") not in (None, 0, 0.0):
            warnings.warn(
                f"The legacy file's optimizer has decay={inner['decay']!r}, which Keras 3 "
                "optimizers do not take (Keras 3 ignores it too): training goes on at a fixed "
                "learning rate. Compile with a keras.optimizers.schedules.InverseTimeDecay to "
                "keep decaying it.", stacklevel=6)
        inner = {k: v for k, v in inner.items() if k not in _OPTIMIZER_LEGACY_KEYS}
        if "lr" in inner and "learning_rate" not in inner:  # Keras 2.2's spelling
            inner["learning_rate"] = inner.pop("lr")
        rate = inner.get("learning_rate")
        if _is_object_config(rate):
            inner["learning_rate"] = _object(rate, "keras.optimizers.schedules", objects)
        translated["config"] = inner
    return translated


def training_config(config, output_count, custom_objects=None):
    """The `training_config` attribute (parsed JSON) as `model.compile` arguments in Keras 3's
    config form: `{"optimizer", "loss", "metrics", "weighted_metrics", "loss_weights"}`.

    tf.keras 2 nests metrics one list per output; a model with one output gets a flat list.
    """
    objects = _custom_objects(custom_objects)
    if not isinstance(config, dict):
        raise LegacyConfigError(
            "The legacy model file's 'training_config' must be a dict of compile arguments. "
            f"Received: {serialization.short_repr(config, 200)}. Load with compile=False to "
            "skip it.")
    optimizer = config.get("optimizer_config")
    if not _is_object_config(optimizer):
        raise LegacyConfigError(
            "The legacy model file's training_config has no 'optimizer_config' "
            "{'class_name': ..., 'config': {...}}. Received: "
            f"{serialization.short_repr(optimizer, 200)}. Load with compile=False to skip it.")
    arguments = {"optimizer": _optimizer(optimizer, objects),
                 "loss": _nested(config.get("loss"), _loss, objects)}
    for key in ("metrics", "weighted_metrics"):
        value = config.get(key)
        if output_count == 1 and isinstance(value, list) and len(value) == 1 \
                and isinstance(value[0], list):
            value = value[0]
        arguments[key] = _nested(value, _metric, objects)
    arguments["loss_weights"] = config.get("loss_weights")
    return arguments
