"""Loading Orbax checkpoint directories, as written by `keras.callbacks.OrbaxCheckpoint`
(lamina's or Keras 3's): `load_model(directory)` rebuilds the model from the saved config and
restores its state; `model.load_weights(directory)` restores the state into a built model.

A checkpoint directory holds one folder per step; the latest step is read unless a step's
folder is given. See `lamina._orbax` for the layout.
"""

import os

from lamina import _orbax
from lamina import _serialization as serialization
from lamina._registry import custom_object_scope
from lamina.layers.layer import Layer


def _saved_groups(ocp, step_path):
    with ocp.Context():
        metadata = ocp.checkpointables_metadata(step_path).metadata
    if _orbax.PYTREE not in metadata:
        raise ValueError(
            f"{step_path!r} is an Orbax checkpoint without the model's state (no "
            f"'{_orbax.PYTREE}' entry): it was not written by OrbaxCheckpoint.")
    return metadata, metadata[_orbax.PYTREE]


def _variable_paths(ocp, step_path, metadata):
    """The checkpoint's `{group: [paths in order]}` (lamina writes them), or None."""
    if _orbax.VARIABLE_PATHS not in metadata:
        return None
    with ocp.Context():
        entry = ocp.load_checkpointables(step_path, {_orbax.VARIABLE_PATHS: None})
    text = entry[_orbax.VARIABLE_PATHS].get("config") if isinstance(
        entry[_orbax.VARIABLE_PATHS], dict) else None
    order = serialization.config_from_json(text, f"the variable paths in {step_path!r}") \
        if isinstance(text, str) else None
    if not isinstance(order, dict) or not all(
            isinstance(paths, list) and all(isinstance(p, str) for p in paths)
            for paths in order.values()):
        return None  # not lamina's: pair by paths alone
    return order


def _restore(ocp, model, step_path, metadata, saved, skip_mismatch):
    what = f"the Orbax checkpoint {step_path!r}"
    if not model.weights and any(saved.get(group) for group in _orbax.WEIGHT_GROUPS):
        raise ValueError(
            f"Cannot load {what} into model '{model.name}': the model has no weights yet. "
            "Build it first (call it on a batch, or give it an Input), then load.")
    optimizer = getattr(model, "optimizer", None)
    if saved.get("optimizer_variables") and optimizer is not None and not optimizer.built:
        optimizer.build(model.trainable_variables)  # so that its slots can be restored
    matches = _orbax.match_state(model, saved, what, skip_mismatch=skip_mismatch,
                                 order=_variable_paths(ocp, step_path, metadata))
    with ocp.Context():
        loaded = ocp.load_checkpointables(
            step_path, {_orbax.PYTREE: _orbax.abstract_tree(saved, matches)})[_orbax.PYTREE]
    _orbax.assign_matched(matches, loaded)


def load_weights(model, path, skip_mismatch=False):
    """Restores a model's state (weights, optimizer and metric state) from an Orbax
    checkpoint: its latest step, or the step folder given. All or nothing."""
    ocp = _orbax.orbax()
    step_path = _orbax.resolve_step(path)
    metadata, saved = _saved_groups(ocp, step_path)
    _restore(ocp, model, step_path, metadata, saved, skip_mismatch)


def load_model(path, custom_objects=None, compile=True, safe_mode=None):
    """Rebuilds a model from an Orbax checkpoint (its latest step, or the step folder given)
    and restores its state."""
    ocp = _orbax.orbax()
    step_path = _orbax.resolve_step(path)
    metadata, saved = _saved_groups(ocp, step_path)
    if _orbax.MODEL_CONFIG not in metadata:
        raise ValueError(
            f"The Orbax checkpoint {step_path!r} holds no model configuration: it was saved "
            "with save_weights_only=True. Build the model, then call "
            f"model.load_weights({path!r}).")
    with ocp.Context():
        entry = ocp.load_checkpointables(step_path, {_orbax.MODEL_CONFIG: None})
    text = entry[_orbax.MODEL_CONFIG].get("config") if isinstance(
        entry[_orbax.MODEL_CONFIG], dict) else None
    source = f"the model config in {step_path!r}"
    if not isinstance(text, str):
        raise ValueError(f"{source} is not a JSON string: the checkpoint is damaged.")
    config = serialization.config_from_json(text, source)
    if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
        raise ValueError(
            f"Refusing to load {source}: it must describe a model (a dict with 'class_name' "
            "and a 'config' dict). The checkpoint is damaged or hostile.")
    serialization.check_config(config, root="model_config")
    if not compile:
        config = {key: value for key, value in config.items() if key != "compile_config"}
    with custom_object_scope(custom_objects or {}), serialization.ObjectSharingScope():
        model = serialization.deserialize_keras_object(
            config, custom_objects=custom_objects, safe_mode=safe_mode)
    if not isinstance(model, Layer):
        raise ValueError(
            f"Refusing to load {source}: it describes a {type(model).__name__}, not a model.")
    _restore(ocp, model, step_path, metadata, saved, skip_mismatch=False)
    return model


def is_checkpoint(path):
    """Whether `path` (a str) is an Orbax checkpoint directory or one of its step folders."""
    return os.path.isdir(path) and _orbax.is_checkpoint(path)
