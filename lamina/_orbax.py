"""Orbax checkpoints of a model's state, in Keras 3.15's layout: shared by
`keras.callbacks.OrbaxCheckpoint` (which writes them) and `keras.saving.load_model` /
`load_weights` (which read them). It sits below both, which may not import each other.

A checkpoint directory holds one folder per step (`<directory>/<step>/`), each with Orbax's
checkpointables:

* `pytree`: the model's state as nested dicts, `{"trainable_variables": {...},
  "non_trainable_variables": {...}, "optimizer_variables": {...}, "metrics_variables":
  {...}}`, each keyed by the parts of the variables' paths (`seq/dense/kernel` ->
  `{"seq": {"dense": {"kernel": array}}}`), as Keras's `Model.get_state_tree()` gives;
* `model_config` (unless weights only): `{"config": <the model's JSON config>}`, the JSON that
  `.keras` archives hold as `config.json`.

The layout and the variable paths are Keras's, so checkpoints move between lamina and Keras 3
both ways. orbax-checkpoint is optional; it is imported only when a checkpoint is written or
read.
"""

import importlib
import json
import os
import warnings

import jax
import numpy as np

from lamina import _serialization as serialization

GROUPS = ("trainable_variables", "non_trainable_variables", "optimizer_variables",
          "metrics_variables")
WEIGHT_GROUPS = GROUPS[:2]
PYTREE = "pytree"
MODEL_CONFIG = "model_config"
VARIABLE_PATHS = "variable_paths"  # lamina's: Keras reads only the two above
_STEP_MARKERS = ("_CHECKPOINT_METADATA", PYTREE, "commit_success.txt")
_TMP_SUFFIX = ".orbax-checkpoint-tmp"  # Orbax's name for a step being written


def orbax():
    """Orbax's v1 API (`orbax.checkpoint.v1`), or ImportError saying what to install."""
    try:
        return importlib.import_module("orbax.checkpoint").v1
    except ImportError as error:
        raise ImportError(
            "Orbax checkpoints need the 'orbax-checkpoint' package, which is not installed "
            f"({error}). Install it with `pip install orbax-checkpoint` (or `pip install "
            "'lamina[orbax]'`).") from error


def multihost():
    """Orbax's multi-host helpers (`orbax.checkpoint.multihost`)."""
    orbax()
    return importlib.import_module("orbax.checkpoint").multihost


# --------------------------------------------------------------------------------- the state
def group_variables(model, group):
    """The model's Variables of one state group, in Keras's order."""
    if group == "optimizer_variables":
        optimizer = getattr(model, "optimizer", None)
        return list(optimizer.variables) if optimizer is not None else []
    return list(getattr(model, group))


def state_tree(model, groups=GROUPS):
    """`{group: nested dict of arrays}` of the model's current state (Keras's
    `get_state_tree()`). Raises ValueError if two variables share a path."""
    tree = {}
    for group in groups:
        nested = {}
        for variable in group_variables(model, group):
            *parents, leaf = variable.path.split("/")
            node = nested
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    node = None
                    break
            if node is None or leaf in node:
                raise ValueError(
                    f"Cannot checkpoint the model: the variable path '{variable.path}' is found "
                    f"twice in its {group} (or is the parent of another variable's path). "
                    "Checkpoints key variables by path: give your layers (and other objects) "
                    "unique names.")
            node[leaf] = variable.value
        tree[group] = nested
    return tree


def flatten(nested, prefix=""):
    """`{"a/b/c": array}` from nested dicts."""
    flat = {}
    for key, value in nested.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def model_config_json(model):
    """The model's config as the JSON a `.keras` archive holds (shared objects written once)."""
    with serialization.ObjectSharingScope():
        config = serialization.serialize_keras_object(model)
    return json.dumps(config, default=_json_default)


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(
        f"Cannot write a value of type {type(value).__name__} into a checkpoint's model config: "
        "configs hold plain values. Make get_config() return numbers, strings, lists and "
        "dicts, or save with save_weights_only=True.")


def variable_paths(model, groups=GROUPS):
    """`{group: [paths in Keras's order]}`: saved beside the state (as JSON), so that a model
    whose variables are named differently (auto-named layers built again in the same process,
    a `Sequential` rebuilt from its config) is restored by position."""
    return {group: [variable.path for variable in group_variables(model, group)]
            for group in groups}


def _suffix_key(path, group):
    # Optimizer variables are named "<optimizer>/<model path with '/' as '_'>_<slot>": the
    # optimizer's name and the model's outer names are what differ between two processes.
    if group == "optimizer_variables":
        return tuple("_".join(path.split("/")[1:]).split("_"))
    return tuple(path.split("/"))


def _is_suffix(short, long):
    return len(short) <= len(long) and long[len(long) - len(short):] == short


def _pair_group(group, variables, leaves, order):
    """`{saved path: variable}` for one group: by equal paths, else by position (when the
    checkpoint lists its paths in order and every shape agrees), else by unique path suffixes
    (`dense/kernel` ~ `sequential/dense/kernel`). None if no rule pairs them all."""
    by_path = {variable.path: variable for variable in variables}
    if set(by_path) == set(leaves):
        return {path: by_path[path] for path in leaves}
    if order is not None and sorted(order) == sorted(leaves) and len(order) == len(variables) \
            and all(tuple(leaves[path].shape) == tuple(variable.shape)
                    for path, variable in zip(order, variables)):
        return dict(zip(order, variables))
    if len(leaves) != len(variables):
        return None
    pairs, used = {}, set()
    for variable in variables:
        key = _suffix_key(variable.path, group)
        found = [path for path in leaves
                 if _is_suffix(key, _suffix_key(path, group))
                 or _is_suffix(_suffix_key(path, group), key)]
        if len(found) != 1 or found[0] in used:
            return None
        used.add(found[0])
        pairs[found[0]] = variable
    return pairs


def match_state(model, saved, what, skip_mismatch=False, order=None):
    """Pairs a checkpoint's state with the model's Variables, or raises ValueError listing
    every problem (nothing is read or changed yet).

    `saved` is `{group: nested dict}` whose leaves have a `.shape` (Orbax's metadata, or
    arrays); `order` is the checkpoint's `variable_paths`, if it has them. The weights and
    the optimizer's state must pair up one to one (by path, by position or by path suffix,
    see `_pair_group`); a weight whose shape differs is skipped with a warning when
    `skip_mismatch`. The optimizer's state is restored when both the model and the
    checkpoint have one; the metrics' state where paths match (a fresh model builds its
    compiled metrics later). Returns `{(group, saved path): variable}`.
    """
    problems, skipped, matches = [], [], {}
    for group, nested in sorted(saved.items(), key=lambda item: (
            GROUPS.index(item[0]) if item[0] in GROUPS else len(GROUPS))):
        if group not in GROUPS:
            problems.append(f"the checkpoint holds an unknown state group {group!r} (expected "
                            f"{list(GROUPS)})")
            continue
        variables = group_variables(model, group)
        if group == "optimizer_variables" and not variables:
            continue  # a model without an optimizer: the checkpoint's is not needed
        leaves = flatten(nested) if isinstance(nested, dict) else {}
        if group == "metrics_variables":
            by_path = {variable.path: variable for variable in variables}
            pairs = {path: by_path[path] for path in leaves if path in by_path}
        else:
            pairs = _pair_group(group, variables, leaves, (order or {}).get(group))
        if pairs is None:
            paths = [variable.path for variable in variables]
            problems.append(
                f"its {group} do not pair up with the model's: the checkpoint has "
                f"{len(leaves)} ({_listing(leaves)}), the model {len(paths)} "
                f"({_listing(paths)})")
            continue
        for path, variable in pairs.items():
            shape = tuple(getattr(leaves[path], "shape", np.shape(leaves[path])))
            if shape != tuple(variable.shape):
                message = (f"'{variable.path}' has shape {tuple(variable.shape)} in the model "
                           f"and {shape} in the checkpoint ('{path}')")
                if skip_mismatch and group in WEIGHT_GROUPS:
                    skipped.append(message)
                else:
                    problems.append(message)
                continue
            matches[(group, path)] = variable
    if problems:
        if len(problems) > 8:
            problems = problems[:8] + [f"and {len(problems) - 8} more"]
        raise ValueError(
            f"Cannot load {what} into model '{model.name}': " + "; ".join(problems) + ". The "
            "checkpoint must come from a model with the same architecture, compiled with the "
            "same optimizer to restore its state. Nothing was loaded.")
    for message in skipped:
        warnings.warn(f"Skipping loading {message} (skip_mismatch=True).", stacklevel=3)
    return matches


def _listing(paths, limit=6):
    paths = list(paths)
    shown = ", ".join(repr(path) for path in paths[:limit])
    return shown + (f", ... {len(paths) - limit} more" if len(paths) > limit else "")


def abstract_tree(saved, matches):
    """What to restore the checkpoint as: its structure, with each array placed as the model's
    Variable is (or on the default device for arrays that are not restored)."""
    default = jax.sharding.SingleDeviceSharding(jax.devices()[0])

    def walk(group, nested, prefix):
        result = {}
        for key, leaf in nested.items():
            path = f"{prefix}{key}"
            if isinstance(leaf, dict):
                result[key] = walk(group, leaf, path + "/")
                continue
            variable = matches.get((group, path))
            sharding = getattr(variable.value, "sharding", None) if variable is not None else None
            result[key] = jax.ShapeDtypeStruct(tuple(leaf.shape), leaf.dtype,
                                               sharding=sharding or default)
        return result

    return {group: walk(group, nested, "") for group, nested in saved.items()}


def assign_matched(matches, loaded):
    """Assigns the loaded arrays to their Variables, after checking every one (all or
    nothing)."""
    flat = {group: flatten(nested) for group, nested in loaded.items()}
    checked = [(variable, variable._check_assignable(flat[group][path]))
               for (group, path), variable in matches.items()]
    for variable, value in checked:
        variable.assign(value)


# ---------------------------------------------------------------------------- on the disk
def is_step_directory(path):
    try:
        return any(os.path.exists(os.path.join(path, marker)) for marker in _STEP_MARKERS)
    except OSError:
        return False


def step_directories(directory):
    """`{step: path}` of the finished steps under a checkpoint directory."""
    try:
        names = os.listdir(directory)
    except OSError:
        return {}
    return {int(name): os.path.join(directory, name) for name in names
            if name.isdigit() and is_step_directory(os.path.join(directory, name))}


def is_checkpoint(path):
    """Whether `path` is an Orbax checkpoint directory (of steps) or one step of it."""
    return os.path.isdir(path) and (is_step_directory(path) or bool(step_directories(path)))


def resolve_step(path):
    """The step folder to read: `path` itself if it is one, else the latest step under it.
    Steps still being written (or left half-written by a process that died) sit in Orbax's
    temporary folders, `<step>.orbax-checkpoint-tmp...`, which are never read."""
    if _TMP_SUFFIX in os.path.basename(os.path.normpath(path)):
        raise ValueError(
            f"{path!r} is a checkpoint step that Orbax had not finished writing (its folder "
            f"name has '{_TMP_SUFFIX}': the save was still in progress, or the process was "
            "killed during it). Load the checkpoint directory itself, which reads the latest "
            "complete step, or one of its numbered step folders.")
    if is_step_directory(path):
        return path
    steps = step_directories(path)
    if not steps:
        raise ValueError(f"No valid checkpoints found in {path!r}.")
    return steps[max(steps)]
