"""Legacy HDF5 files: `model.save("x.h5")` and `save_weights("x.h5")` of tf.keras 2 (and of
Keras 3, which still writes the format for `.h5` names).

The layout:

* attributes `model_config` (the architecture, JSON in tf.keras 2's format) and
  `training_config` (the compile arguments and `optimizer_config`);
* `model_weights/` (or the file's root, for a weights file) with the attribute `layer_names`,
  one group per layer with the attribute `weight_names`, and each weight as a dataset at
  that name inside the layer's group (`dense/dense/kernel:0`), in the legacy order (a layer's
  trainable weights, then its other ones); `top_level_model_weights` for a model's own;
* `optimizer_weights/` with `weight_names`: the optimizer's iteration count and slots.

Loading reads it as Keras 3 does (`keras/src/legacy/saving/legacy_h5_format.py`): configs go
through `legacy_config` and then lamina's safe deserialization, weights match layers by
order (or by name, `by_name=True`). The file is a stranger's input as much as a `.keras`
archive is: every member is reached through plain groups (links, external and virtual
datasets are refused, as in `weights_file`), a value's shape and dtype are checked from its
header before it is read, the JSON is bounded in size and depth, and weights are assigned
only when the whole file fits the model.

tf.keras 2.11+'s optimizer slots (`Adam/m/dense/kernel:0`) are matched to lamina's by the
variable they belong to and the slot's name, so a compiled model resumes training where
tf.keras left it; where they do not match, training resumes with fresh slots and a warning
(Keras 3 does the same).
"""

import json
import os
import re
import warnings

import numpy as np

from lamina import _serialization as serialization
from lamina._registry import custom_object_scope, get_registered_name
from lamina.saving import legacy_config
from lamina.saving.atomic import atomic_output
from lamina.saving.weights_file import _h5py, _member, _read, _stored_dtype

MAX_JSON_BYTES = 64 * 2**20
"""Bytes of the `model_config` or `training_config` attribute a file may hold."""
_KERAS_VERSION = "3.15.1"  # the Keras whose legacy writer this follows
_SAVE_WARNING = (
    "You are saving your model as an HDF5 file via `model.save()` or "
    "`keras.saving.save_model(model)`. This file format is considered legacy. We recommend "
    "using instead the native Keras format, e.g. `model.save('my_model.keras')` or "
    "`keras.saving.save_model(model, 'my_model.keras')`.")


class LegacyH5Warning(UserWarning):
    """Warnings about legacy `.h5` files: saving in the legacy format, skipped weights,
    optimizer state that could not be restored."""


# ----------------------------------------------------------------------------------- reading
def _open(filepath, function):
    h5py = _h5py()
    try:
        return h5py.File(filepath, "r")
    except FileNotFoundError:
        raise
    except OSError as error:
        if not os.path.exists(filepath):
            raise FileNotFoundError(
                f"keras.saving.{function}: file not found: {filepath!r}") from error
        raise ValueError(
            f"keras.saving.{function}: {filepath!r} is not a readable HDF5 file ({error}). It "
            "is truncated, damaged, or not a Keras `.h5` file.") from error


def _attribute_text(h5_object, name, where):
    """A string attribute (JSON or a name), or None when absent; bounded in size."""
    try:
        if name not in h5_object.attrs:
            return None
        value = h5_object.attrs[name]
    except Exception as error:  # an attribute h5py cannot read back
        raise ValueError(f"Cannot read the attribute '{name}' of {where}: {error}. The file "
                         "is damaged.") from error
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes):
        if len(value) > MAX_JSON_BYTES:
            raise ValueError(
                f"Refusing to load {where}: its attribute '{name}' holds {len(value):,} bytes, "
                f"over lamina.saving.legacy_h5.MAX_JSON_BYTES={MAX_JSON_BYTES:,}. A genuine "
                "model's config is far smaller; raise the limit only for a file you trust.")
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"The attribute '{name}' of {where} is not UTF-8 text "
                             f"({error}). The file is damaged.") from error
    if not isinstance(value, str):
        raise ValueError(
            f"The attribute '{name}' of {where} must be a string (JSON). Received a "
            f"{type(value).__name__} ({serialization.short_repr(value, 100)}). The file is "
            "damaged or not a Keras `.h5` file.")
    if len(value) > MAX_JSON_BYTES:
        raise ValueError(
            f"Refusing to load {where}: its attribute '{name}' holds {len(value):,} characters, "
            f"over lamina.saving.legacy_h5.MAX_JSON_BYTES={MAX_JSON_BYTES:,}.")
    return value


def _names(group, name, where):
    """A list-of-names attribute (`layer_names`, `weight_names`), chunked as `name0`, `name1`,
    ... when it was too long for one HDF5 attribute."""
    keys = [name] if name in group.attrs else []
    index = 0
    while not keys and f"{name}{index}" in group.attrs:
        index += 1
    if not keys:
        keys = [f"{name}{i}" for i in range(index)]
    names = []
    for key in keys:
        try:
            values = group.attrs[key]
        except Exception as error:
            raise ValueError(f"Cannot read the attribute '{key}' of {where}: {error}. The "
                             "file is damaged.") from error
        values = np.asarray(values)
        if values.size == 0:
            continue
        if values.ndim != 1:
            raise ValueError(f"The attribute '{key}' of {where} must be a list of names. "
                             f"Received an array of shape {values.shape}.")
        for value in values.tolist():
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if not isinstance(value, str) or not value or len(value) > 4096:
                raise ValueError(
                    f"The attribute '{key}' of {where} must hold names (non-empty strings). "
                    f"Received: {serialization.short_repr(value, 100)}. The file is damaged.")
            names.append(value)
    return names


def _group_at(root, path, what):
    """The member at `path` (parts separated by `/`), through plain groups only."""
    h5py = _h5py()
    member, walked = root, []
    for part in [p for p in path.split("/") if p]:
        walked.append(part)
        if not isinstance(member, h5py.Group):
            return None
        member = _member(member, part, what, "/".join(walked))
        if member is None:
            return None
    return member


def _stored_weights(root, layer_name, what):
    """`[(weight name, dataset)]` of one layer's group, in its `weight_names` order."""
    h5py = _h5py()
    group = _group_at(root, layer_name, what)
    if group is None:
        raise ValueError(f"The {what} lists the layer '{layer_name}' in 'layer_names' but "
                         "holds no group for it. The file is damaged.")
    if not isinstance(group, h5py.Group):
        raise ValueError(f"The {what} holds a dataset at '{layer_name}' where a layer's group "
                         "belongs. The file is damaged.")
    stored = []
    for name in _names(group, "weight_names", f"the {what}'s layer '{layer_name}'"):
        dataset = _group_at(group, name, what)
        if not isinstance(dataset, h5py.Dataset):
            found = "it is missing" if dataset is None else "a group is there, not a dataset"
            raise ValueError(
                f"The {what} lists the weight '{name}' for layer '{layer_name}', but {found}. "
                "The file is damaged; nothing was loaded.")
        stored.append((name, dataset))
    return stored


def _legacy_weights(layer):
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _weights_root(h5_file, what):
    if "layer_names" in h5_file.attrs or "layer_names0" in h5_file.attrs:
        return h5_file
    root = _group_at(h5_file, "model_weights", what)
    if root is None:
        raise ValueError(
            f"The {what} holds no weights in the legacy layout (no 'layer_names' attribute and "
            "no 'model_weights' group). Is it a Keras 3 weights file? Those end in "
            "`.weights.h5`: rename it so.")
    return root


class _Mismatch(ValueError):
    """A file that does not fit the model (counts, shapes, names), as opposed to one that is
    damaged or hostile (links, values that are not numbers), which is always refused."""


class _Plan:
    """Assignments gathered before any is made (all or nothing), and the problems met."""

    def __init__(self, what, skip_mismatch):
        self.what, self.skip_mismatch = what, skip_mismatch
        self.assignments, self.skipped = [], []
        self.names = {}  # a stored weight's name (no ":0") -> the variable it loads into

    def problem(self, message):
        if not self.skip_mismatch:
            raise _Mismatch(
                f"{message}. Nothing was loaded. Load into a model built with the same "
                "architecture, or pass skip_mismatch=True to skip what does not fit.")
        self.skipped.append(message)

    def add(self, label, variables, stored):
        """Plans `stored` [(name, dataset)] into `variables` of the layer `label`."""
        if len(variables) != len(stored):
            self.problem(
                f"Weight count mismatch for {label}: the layer has {len(variables)} weight(s) "
                f"{[v.path for v in variables]}, the {self.what} has {len(stored)} "
                f"{[name for name, _ in stored]}")
            return
        for variable, (name, dataset) in zip(variables, stored):
            if tuple(dataset.shape) != tuple(variable.shape):
                self.problem(
                    f"Shape mismatch in {label} for weight '{variable.path}': the model "
                    f"expects shape {tuple(variable.shape)}, the {self.what} has "
                    f"{tuple(dataset.shape)} (saved as '{name}')")
                continue
            value_dtype, problem = _stored_dtype(dataset, variable, self.what)
            if problem is not None:
                raise ValueError(f"Cannot load {problem}. Nothing was loaded.")
            self.assignments.append((variable, dataset, value_dtype))
            self.names[_strip(name)] = variable

    def commit(self):
        if self.skipped:
            warnings.warn("Skipped loading weights from the legacy HDF5 file:\n  "
                          + "\n  ".join(self.skipped), LegacyH5Warning, stacklevel=4)
        values = [(v, v._check_assignable(_read(d, dtype, v, self.what)))
                  for v, d, dtype in self.assignments]
        for variable, value in values:
            variable.assign(value)


def _own_weights(model):
    return list(getattr(model, "_trainable_variables", [])) + list(
        getattr(model, "_non_trainable_variables", []))


def read_weights(model, root, by_name=False, skip_mismatch=False, what="legacy weights file"):
    """Loads a legacy weights group (`layer_names` and one group per layer) into `model`.

    By order (`by_name=False`): the model's layers that have weights take the file's layers
    that have weights, one for one. By name: each layer takes the file's layer of its name,
    and layers without one are left alone. All or nothing unless `skip_mismatch`, which skips
    what does not fit (a layer whose weight count, or a weight whose shape, differs) with a
    warning. Returns `{stored weight name: variable}` of what was loaded (without TensorFlow's
    `:0`), by which optimizer slots find their variables.
    """
    plan = _Plan(what, skip_mismatch)
    saved = [(name, _stored_weights(root, name, what))
             for name in _names(root, "layer_names", what)]
    layers = list(getattr(model, "layers", []))
    if by_name:
        index = {}
        for layer in layers:
            index.setdefault(layer.name, []).append(layer)
        for position, (name, stored) in enumerate(saved):
            for layer in index.get(name, []):
                plan.add(f"layer #{position} (named '{layer.name}')", _legacy_weights(layer),
                         stored)
    else:
        with_weights = [layer for layer in layers if _legacy_weights(layer)]
        saved = [(name, stored) for name, stored in saved if stored]
        if len(with_weights) != len(saved):
            hint = ("Load into the model the file was saved from, or pass by_name=True to load "
                    "the layers whose names match.")
            if not with_weights and not getattr(model, "built", True):
                hint = ("The model is not built, so its layers have no weights yet: call it on "
                        "a batch of data (or build it) first, then load.")
            raise _Mismatch(
                f"Layer count mismatch when loading weights from the {what}: the model has "
                f"{len(with_weights)} layers with weights {[l.name for l in with_weights]}, "
                f"the file has {len(saved)} {[name for name, _ in saved]}. Nothing was loaded. "
                + hint)
        for position, (layer, (name, stored)) in enumerate(zip(with_weights, saved)):
            label = (f"layer #{position} (named '{layer.name}' in the model, '{name}' in the "
                     "file)")
            plan.add(label, _legacy_weights(layer), stored)
    top = _group_at(root, "top_level_model_weights", what)
    stored_top = _stored_weights(root, "top_level_model_weights", what) if top is not None \
        else []
    own = _own_weights(model)
    if stored_top or (top is not None and own and not by_name):
        plan.add(f"the top-level weights of model '{model.name}'", own, stored_top)
    plan.commit()
    return plan.names


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """`model.load_weights("x.h5")`: a legacy weights file, or a whole-model `.h5` file's
    weights (see `read_weights`)."""
    filepath = os.fspath(filepath)
    what = f"legacy weights file {filepath!r}"
    with _open(filepath, "load_weights") as h5_file:
        read_weights(model, _weights_root(h5_file, what), by_name=by_name,
                     skip_mismatch=skip_mismatch, what=what)



def _json_attribute(h5_file, name, filepath):
    text = _attribute_text(h5_file, name, repr(filepath))
    if text is None:
        return None
    # Bounded in depth here; its shape is checked as it is translated, then by the
    # deserialization (tf.keras 2's Sequential config may be a bare list of layers).
    return serialization.config_from_json(text, f"the '{name}' attribute of {filepath!r}")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=None):
    """`load_model("x.h5")`: a whole model saved by tf.keras 2 (or Keras 3) in HDF5.

    Builds the model from `model_config` (through `legacy_config` and the safe
    deserialization: built-ins, registered objects and `custom_objects` only), loads its
    weights by order, and, with `compile=True` and a `training_config`, compiles it and
    restores the optimizer's state.
    """
    filepath = os.fspath(filepath)
    with _open(filepath, "load_model") as h5_file:
        config = _json_attribute(h5_file, "model_config", filepath)
        if config is None:
            hint = ("It holds weights only: build the model, then call "
                    "model.load_weights(filepath)."
                    if "layer_names" in h5_file.attrs or "model_weights" in h5_file else
                    "It is not a model saved by Keras.")
            raise ValueError(
                f"keras.saving.load_model: no model config found in {filepath!r} (no "
                f"'model_config' attribute). {hint}")
        config = legacy_config.model_config(config, custom_objects)
        with custom_object_scope(custom_objects or {}), serialization.ObjectSharingScope():
            model = serialization.deserialize_keras_object(
                config, custom_objects=custom_objects, safe_mode=safe_mode)
        what = f"weights in {os.path.basename(filepath)}"
        weight_names = read_weights(model, _weights_root(h5_file, what), what=what)
        training = _json_attribute(h5_file, "training_config", filepath) if compile else None
        if training is None:
            if compile:
                warnings.warn(
                    f"No training configuration found in {filepath!r}, so the model was not "
                    "compiled. Compile it manually.", LegacyH5Warning, stacklevel=3)
            return model
        _compile(model, training, custom_objects)
        if "optimizer_weights" in h5_file:
            _load_optimizer_state(model, h5_file, filepath, weight_names)
    return model


def _compile(model, training, custom_objects):
    outputs = getattr(model, "outputs", None)
    count = len(outputs) if isinstance(outputs, (list, tuple)) else 1
    arguments = legacy_config.training_config(training, count, custom_objects)
    with custom_object_scope(custom_objects or {}):
        compiled = {key: serialization.deserialize_keras_object(
            value, custom_objects=custom_objects) for key, value in arguments.items()}
    model.compile(**compiled)


# tf.keras 2's slot names (2.11+ and the legacy optimizers) -> Keras 3's, where they differ.
_SLOT_NAMES = {"m": ("momentum", "m"), "v": ("velocity", "v"), "vhat": ("velocity_hat",),
               "u": ("norm", "u"), "rms": ("velocity",), "mg": ("average_gradient",)}
_ITERATION = re.compile(r"(^|/)(iter|iteration|iterations)(:\d+)?$")


def _load_optimizer_state(model, h5_file, filepath, weight_names):
    """Restores the optimizer's iteration count and slots from `optimizer_weights`, matching
    each stored slot to the variable it belongs to by the file's weight names
    (`weight_names`: file name -> model variable); warns and keeps fresh slots when they do
    not match."""
    what = f"optimizer weights in {filepath!r}"
    h5py = _h5py()
    optimizer = model.optimizer
    try:
        group = _group_at(h5_file, "optimizer_weights", what)
        if not isinstance(group, h5py.Group):
            raise _Mismatch("'optimizer_weights' is not a group")
        names = _names(group, "weight_names", what)
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        plan = _optimizer_plan(optimizer, weight_names, group, names, what)
    except _Mismatch as error:  # links, external storage, bad values: refused, not skipped
        warnings.warn(
            f"Could not restore the optimizer state from {filepath!r} ({error}). Training "
            "resumes with a freshly initialized optimizer.", LegacyH5Warning, stacklevel=4)
        return
    plan.commit()
    u_product = getattr(optimizer, "_u_product", None)
    if u_product is not None:
        # Nadam's product of momentum schedules is not in the file (tf.keras keeps it outside
        # its variables): it is a function of the step count, so it is recomputed.
        steps = np.arange(1, int(np.asarray(optimizer.iterations.numpy())) + 1)
        beta_1 = float(optimizer.beta_1)
        u_product.assign(np.prod(beta_1 * (1.0 - 0.5 * 0.96 ** steps)).astype(
            u_product.dtype))


def _strip(name):
    """A weight name without TensorFlow's output index (`dense/kernel:0` -> `dense/kernel`)."""
    return re.sub(r":\d+$", "", name)


def _slot_of(name, weight_names):
    """(slot, model variable) of a tf.keras 2 optimizer weight: `Adam/m/dense/kernel:0`
    (2.11+) or `Adam/dense/kernel/m:0` (the legacy optimizers), by the file's weight names."""
    parts = _strip(name).split("/")[1:]  # after the optimizer's name
    if len(parts) >= 2:
        if "/".join(parts[1:]) in weight_names:
            return parts[0], weight_names["/".join(parts[1:])]
        if "/".join(parts[:-1]) in weight_names:
            return parts[-1], weight_names["/".join(parts[:-1])]
    raise _Mismatch(f"cannot tell which variable the optimizer weight '{name}' belongs to")


def _optimizer_plan(optimizer, weight_names, group, names, what):
    plan = _Plan(what, skip_mismatch=False)
    variables = list(optimizer.variables)
    short = [name.rsplit("/", 1)[-1] for name in names]
    if short == [v.path.rsplit("/", 1)[-1] for v in variables]:
        # Keras 3's (and lamina's) own names: the optimizer's variables, in order.
        for variable, name in zip(variables, names):
            plan.add(f"the optimizer variable '{variable.path}'", [variable],
                     [(name, _group_at(group, name, what))])
        return plan
    by_path = {v.path: v for v in variables}
    iterations = getattr(optimizer, "iterations", None)
    filled = set()
    for name in names:
        dataset = _group_at(group, name, what)
        if not isinstance(dataset, _h5py().Dataset):
            raise _Mismatch(f"the weight '{name}' is missing")
        if _ITERATION.search(_strip(name)):
            if iterations is not None:
                plan.add("the optimizer's iteration count", [iterations], [(name, dataset)])
            continue
        slot, variable = _slot_of(name, weight_names)
        prefix = f"{optimizer.name}/{variable.path.replace('/', '_').replace(':', '_')}_"
        target = next((by_path[prefix + candidate] for candidate in _SLOT_NAMES.get(slot, ())
                       + (slot,) if prefix + candidate in by_path), None)
        if target is None:
            if any(path.startswith(prefix) for path in by_path):
                raise _Mismatch(f"the optimizer has no slot for '{name}'")
            # The optimizer, configured as in the file, keeps no slot for this variable:
            # tf.keras's SGD creates momentum slots even with momentum=0, and never reads them.
            continue
        plan.add(f"the optimizer slot '{target.path}'", [target], [(name, dataset)])
        filled.add(id(target))
    slots = [v for v in variables if v is not iterations and id(v) not in filled
             and v is not getattr(optimizer, "_u_product", None)
             and not v.path.endswith("/learning_rate")]
    if slots:
        raise _Mismatch(f"the file holds no value for the slot '{slots[0].path}'")
    return plan


# ----------------------------------------------------------------------------------- writing
def _legacy_entry(entry):
    """A Keras 3 layer entry in the legacy file's form: the registered class name, no module."""
    legacy = {"class_name": entry.get("registered_name") or entry["class_name"],
              "config": entry["config"]}
    for key in ("name", "inbound_nodes", "shared_object_id"):
        if key in entry:
            legacy[key] = entry[key]
    return legacy


def model_metadata(model, include_optimizer=True):
    """The file attributes Keras 3 writes: `keras_version`, `backend`, `model_config` and,
    for a compiled model, `training_config`."""
    with serialization.ObjectSharingScope():
        config = serialization.serialize_keras_object(model)
    inner = dict(config["config"])
    if isinstance(inner.get("layers"), list):
        inner["layers"] = [_legacy_entry(entry) for entry in inner["layers"]]
    metadata = {"keras_version": _KERAS_VERSION, "backend": "jax",
                "model_config": {"class_name": type(model).__name__, "config": inner}}
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and getattr(model, "compiled", False):
        training = dict(model.get_compile_config() or {})
        training.pop("optimizer", None)
        training["optimizer_config"] = {
            "class_name": get_registered_name(type(optimizer)),
            "config": optimizer.get_config()}
        metadata["training_config"] = training
    return metadata


def _write_names(group, name, names):
    group.attrs[name] = np.array([n.encode("utf-8") for n in names], dtype=object) if names \
        else np.array([], dtype="float64")


def _write_values(group, variables):
    names = [v.path for v in variables]
    _write_names(group, "weight_names", names)
    for name, variable in zip(names, variables):
        group.create_dataset(name, data=np.asarray(variable.numpy()))


def write_weights(model, group):
    """The `model_weights` layout (by layer, legacy weight order) into an open h5 group."""
    layers = list(model.layers)
    _write_names(group, "layer_names", [layer.name for layer in layers])
    group.attrs["backend"] = b"jax"
    group.attrs["keras_version"] = _KERAS_VERSION.encode()
    for layer in sorted(layers, key=lambda layer: layer.name):
        _write_values(group.create_group(layer.name), _legacy_weights(layer))
    _write_values(group.create_group("top_level_model_weights"), _own_weights(model))


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """`model.save("x.h5")`: the legacy HDF5 format, as Keras 3 writes it, with Keras's
    warning that the format is legacy; atomic (a crash never leaves half a file)."""
    filepath = os.fspath(filepath)
    warnings.warn(_SAVE_WARNING, LegacyH5Warning, stacklevel=3)
    metadata = model_metadata(model, include_optimizer)
    encoded = {key: json.dumps(value, default=_json_default).encode("utf-8")
               if isinstance(value, dict) else value for key, value in metadata.items()}
    h5py = _h5py()
    with atomic_output(filepath, overwrite=overwrite, create_folder=True) as temporary:
        with h5py.File(temporary, "w") as h5_file:
            for key, value in encoded.items():
                h5_file.attrs[key] = value
            write_weights(model, h5_file.create_group("model_weights"))
            optimizer = getattr(model, "optimizer", None)
            if include_optimizer and optimizer is not None and optimizer.variables:
                group = h5_file.create_group("optimizer_weights")
                _write_values(group, list(optimizer.variables))


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(
        f"Cannot write a value of type {type(value).__name__} into the model config: configs "
        "hold plain values. Make get_config() return numbers, strings, lists and dicts.")


__all__ = ["LegacyH5Warning", "load_model", "load_weights", "read_weights", "save_model",
           "model_metadata", "write_weights", "MAX_JSON_BYTES"]
