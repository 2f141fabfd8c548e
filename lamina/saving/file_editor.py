"""`keras.saving.KerasFileEditor`: inspect and edit the weights of a `.keras` or `.weights.h5`
file without building its model.

The weights are read into `weights_dict`, nested dicts that follow the file's object paths
(`{"layers": {"dense": {"0": kernel, "1": bias}}, "optimizer": {...}}`: each object's `vars`
group is folded into the object's own dict, as Keras's editor shows it). Edits change that dict;
`save` writes it as a `.weights.h5` file that Keras 3 and lamina load.

A file to edit may come from anywhere, so it is read with the loader's rules (see
`lamina.saving.archive` and `docs/safe-loading.md`): the archive's directory and sizes are
checked before anything is decompressed; only plain groups and datasets are read (no links,
virtual datasets or external storage), and only numeric values; the values' declared sizes
together may not pass `archive.MAX_WEIGHTS_BYTES` (checked from the headers, before reading);
group nesting is bounded. Nothing in the file is executed and no model is built.
"""

import json
import math
import os

import numpy as np

from lamina.saving import archive
from lamina.saving.atomic import atomic_output
from lamina.saving.object_graph import own_variables, walk
from lamina.saving.weights_file import _STORED_DTYPES, _h5py, _member

MAX_GROUP_DEPTH = 100
"""How deep the groups of a weights file may nest (a model's paths are a few levels deep)."""


def _bfloat16():
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16)


class KerasFileEditor:
    """Reads the weights of a `.keras` or `.weights.h5` file for inspection and editing.

    Use it to adapt a saved file after changing a model's architecture: rename, delete or add
    the weights of objects (layers, the optimizer) by their path in the file, check the result
    against the new model with `compare`, then `save` it and `model.load_weights` it.

    Objects are named by path (`"layers/dense_2"`) or, when the name occurs once in the file,
    by name alone (`"dense_2"`). Weights inside an object are named `"0"`, `"1"`, ... in the
    object's variable order.

    Args:
        filepath: a `.keras` archive or a `.weights.h5` file.

    Attributes:
        weights_dict: the nested dict of weights (NumPy arrays) being edited.
        object_metadata: `{path: {attribute: value}}`, each object's stored attributes
            (Keras stores its name).
        config: the model's config (`.keras` files only; else None).
        metadata: the archive's `metadata.json` (Keras version, date; else None).

    Examples:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, name="a"),
        ...                            lamina.layers.Dense(1, name="b")])
        >>> model.save(os.path.join(folder, "model.keras"))
        >>> editor = lamina.saving.KerasFileEditor(os.path.join(folder, "model.keras"))
        >>> sorted(editor.weights_dict["layers"])
        ['dense', 'dense_1']
        >>> editor.weights_dict["layers"]["dense"]["0"].shape
        (3, 2)
        >>> editor.delete_object("layers/dense_1")
        >>> editor.compare(lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)]))
        ... # doctest: +ELLIPSIS
        Running comparison
        ...
        {'status': 'success', 'error_count': 0, 'match_count': 2}
        >>> editor.save(os.path.join(folder, "edited.weights.h5"))
    """

    def __init__(self, filepath):
        try:
            filepath = os.fspath(filepath)
        except TypeError:
            raise ValueError(
                "KerasFileEditor: `filepath` must be a path (a str or pathlib.Path) to a "
                f"`.keras` or `.weights.h5` file. Received: filepath={filepath!r} of type "
                f"{type(filepath).__name__}.") from None
        self.filepath = filepath
        self.config = None
        self.metadata = None
        if filepath.endswith(".keras"):
            with archive._open_archive(filepath) as zipped:
                self.config = archive._read_config(zipped, filepath)
                if archive.METADATA in zipped.namelist():
                    self.metadata = self._read_metadata(zipped)
                weights = archive._read_entry(zipped, archive.WEIGHTS, "MAX_WEIGHTS_BYTES",
                                              filepath)
            source = weights
            what = f"model.weights.h5 in {filepath!r}"
        elif filepath.endswith(".weights.h5"):
            if not os.path.exists(filepath):
                raise FileNotFoundError(f"KerasFileEditor: no such file: {filepath!r}.")
            source = filepath
            what = f"weights file {filepath!r}"
        else:
            raise ValueError(
                "KerasFileEditor: `filepath` must end in `.keras` or `.weights.h5`. Received: "
                f"filepath={filepath!r}")
        try:
            h5_file = _h5py().File(source, "r")
        except OSError as error:
            raise ValueError(f"KerasFileEditor: the {what} is not a readable HDF5 file "
                             f"({error}).") from error
        with h5_file:
            self.weights_dict, self.object_metadata = _Reader(what).read(h5_file)

    def _read_metadata(self, zipped):
        data = archive._read_entry(zipped, archive.METADATA, "MAX_JSON_BYTES", self.filepath)
        try:
            metadata = json.loads(data.getvalue().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None  # metadata is informative only; a damaged one does not stop editing
        return metadata if isinstance(metadata, dict) else None

    # ---------------------------------------------------------------------------- display
    def summary(self):
        """Prints the file's name, the Keras version and date it was saved with (`.keras`
        files), and the tree of objects and weights with their shapes and dtypes."""
        print(f"Keras model file '{self.filepath}'")
        if self.metadata:
            print(f"Saved with Keras {self.metadata.get('keras_version', '?')} - date: "
                  f"{self.metadata.get('date_saved', '?')}")
        print("Weights structure")
        self._print_tree(self.weights_dict, "  ", "")

    def _print_tree(self, node, prefix, path):
        items = list(node.items())
        for index, (key, value) in enumerate(items):
            last = index == len(items) - 1
            connector = "└─ " if last else "├─ "
            child_path = f"{path}/{key}" if path else key
            if isinstance(value, dict):
                name = self.object_metadata.get(child_path, {}).get("name")
                print(f"{prefix}{connector}{key}" + (f" ('{name}')" if name else ""))
                self._print_tree(value, prefix + ("    " if last else "│   "), child_path)
            else:
                print(f"{prefix}{connector}{key}: shape={value.shape}, dtype={value.dtype}")

    # ---------------------------------------------------------------------------- compare
    def compare(self, reference_model):
        """Lists every difference between the file's weights and `reference_model`'s:
        objects or weights present in one and not the other, and shapes that differ.

        Args:
            reference_model: a model (or layer) built with the architecture the file should
                fit.

        Returns:
            `{"status": "success" or "error", "error_count": n, "match_count": m}`, where
            `m` counts the weights whose shapes match.
        """
        if not hasattr(reference_model, "_trainable_variables"):
            raise TypeError(
                "KerasFileEditor.compare: `reference_model` must be a Keras model or layer. "
                f"Received: {type(reference_model).__name__}.")
        print("Running comparison")
        reference = _weight_spec(reference_model)
        errors, matches = [], 0

        def visit(ours, theirs, path):
            nonlocal matches
            for key in list(theirs) + [k for k in ours if k not in theirs]:
                where = f"{path}/{key}" if path else key
                if key not in ours or key not in theirs:
                    holder, other = ("reference model", "saved file") if key in theirs else \
                        ("saved file", "reference model")
                    value = theirs.get(key, ours.get(key))
                    kind = "Object" if isinstance(value, dict) else "Weight"
                    errors.append(f"...{kind} {where} present in {holder}, missing from {other}")
                elif isinstance(theirs[key], dict) != isinstance(ours[key], dict):
                    errors.append(f"...{where} is an object in one and a weight in the other")
                elif isinstance(theirs[key], dict):
                    visit(ours[key], theirs[key], where)
                elif tuple(ours[key].shape) != tuple(theirs[key].shape):
                    errors.append(f"...Weight shape mismatch for {where}\n    In reference "
                                  f"model: shape={tuple(theirs[key].shape)}\n    In saved "
                                  f"file: shape={tuple(ours[key].shape)}")
                else:
                    matches += 1

        visit(self.weights_dict, reference, "")
        for line in errors:
            print(line)
        print("─────────────────────")
        if errors:
            plural = "" if len(errors) == 1 else "s"
            print(f"Found {len(errors)} error{plural}: saved file is not compatible with the "
                  "reference model")
        else:
            plural = "" if matches == 1 else "s"
            print("Comparison successful: saved file is compatible with the reference model")
            print(f"    Found {matches} matching weight{plural}")
        return {"status": "error" if errors else "success", "error_count": len(errors),
                "match_count": matches}

    # ---------------------------------------------------------------------------- editing
    def rename_object(self, object_name, new_name):
        """Renames an object (its last path element): `rename_object("dense_2", "head")`.

        Args:
            object_name: the object's path (`"layers/dense_2"`) or its name if unique.
            new_name: the new name: one path element, not yet used beside it.
        """
        new_name = _checked_name(new_name, "rename_object", "new_name")
        if "/" in new_name:
            raise ValueError(
                "KerasFileEditor.rename_object: `new_name` must be a single name, not a path. "
                f"Received: new_name={new_name!r}")
        parent, key, path = self._find(object_name, "rename_object")
        if new_name in parent and new_name != key:
            raise ValueError(
                f"KerasFileEditor.rename_object: '{new_name}' already exists beside "
                f"'{path}'. Delete or rename it first. Received: new_name={new_name!r}")
        parent[new_name] = parent.pop(key)
        new_path = path[:len(path) - len(key)] + new_name
        self.object_metadata = {
            (new_path + stored[len(path):] if stored == path or stored.startswith(path + "/")
             else stored): value for stored, value in self.object_metadata.items()}

    def delete_object(self, object_name):
        """Removes an object and all its weights: `delete_object("layers/dense_2")`.

        Args:
            object_name: the object's path or its name if unique.
        """
        parent, key, _ = self._find(object_name, "delete_object")
        del parent[key]

    def add_object(self, object_path, weights):
        """Adds an object with its weights at a new path:
        `add_object("layers/einsum_dense", {"0": kernel, "1": bias})`.

        Args:
            object_path: the full path of the new object; its parent must exist.
            weights: `{weight name: array}`, names `"0"`, `"1"`, ... in the order of the
                object's variables.
        """
        object_path = _checked_name(object_path, "add_object", "object_path")
        weights = _checked_weights(weights, "add_object")
        *parents, key = object_path.split("/")
        node = self.weights_dict
        for depth, part in enumerate(parents):
            if not isinstance(node.get(part), dict):
                raise ValueError(
                    f"KerasFileEditor.add_object: the path '{'/'.join(parents[:depth + 1])}' "
                    f"is not an object in the file, so '{object_path}' cannot be added under "
                    "it. Add the parent first, or check the path with summary().")
            node = node[part]
        if not key or key in node:
            raise ValueError(
                f"KerasFileEditor.add_object: '{object_path}' "
                + ("already exists; delete it first or use add_weights." if key else
                   "ends with '/'; give the new object's name.")
                + f" Received: object_path={object_path!r}")
        node[key] = weights

    def delete_weight(self, object_name, weight_name):
        """Removes one weight from an object: `delete_weight("dense_2", "1")`.

        Args:
            object_name: the object's path or its name if unique.
            weight_name: the weight's name in the object (`"0"`, `"1"`, ...).
        """
        weight_name = _checked_name(weight_name, "delete_weight", "weight_name")
        parent, key, path = self._find(object_name, "delete_weight")
        node = parent[key]
        if not isinstance(node, dict) or weight_name not in node or isinstance(
                node[weight_name], dict):
            found = [k for k, v in node.items() if not isinstance(v, dict)] \
                if isinstance(node, dict) else []
            raise ValueError(
                f"KerasFileEditor.delete_weight: weight '{weight_name}' not found in object "
                f"'{path}'. Weights found: {found}")
        del node[weight_name]

    def add_weights(self, object_name, weights):
        """Adds weights to an existing object (replacing those of the same names).

        Args:
            object_name: the object's path or its name if unique.
            weights: `{weight name: array}`.
        """
        weights = _checked_weights(weights, "add_weights")
        parent, key, path = self._find(object_name, "add_weights")
        if not isinstance(parent[key], dict):
            raise ValueError(
                f"KerasFileEditor.add_weights: '{path}' is a weight, not an object. Name the "
                "object that holds it.")
        clash = [name for name in weights if isinstance(parent[key].get(name), dict)]
        if clash:
            raise ValueError(
                f"KerasFileEditor.add_weights: {clash} in '{path}' are objects, not weights; "
                "choose other weight names.")
        parent[key].update(weights)

    def _find(self, object_name, method):
        """`(parent dict, key, path)` of an object given by path or by a unique name."""
        object_name = _checked_name(object_name, method, "object_name")
        if "/" in object_name:
            node = self.weights_dict
            *parents, key = object_name.split("/")
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if not isinstance(node, dict) or key not in node:
                raise ValueError(
                    f"KerasFileEditor.{method}: path '{object_name}' not found in the file. "
                    "summary() lists the paths.")
            return node, key, object_name
        found = []

        def search(node, path):
            for key, value in node.items():
                where = f"{path}/{key}" if path else key
                if key == object_name:
                    found.append((node, key, where))
                if isinstance(value, dict):
                    search(value, where)

        search(self.weights_dict, "")
        if not found:
            raise ValueError(
                f"KerasFileEditor.{method}: name '{object_name}' does not appear in the file. "
                "summary() lists the objects.")
        if len(found) > 1:
            raise ValueError(
                f"KerasFileEditor.{method}: name '{object_name}' occurs more than once in the "
                f"file ({[where for _, _, where in found]}); pass the full path.")
        return found[0]

    # ---------------------------------------------------------------------------- saving
    def save(self, filepath):
        """Writes the edited weights to a `.weights.h5` file (atomically), in the layout that
        `model.load_weights` reads in lamina and Keras 3.

        Args:
            filepath: a path ending in `.weights.h5`.
        """
        try:
            filepath = os.fspath(filepath)
        except TypeError:
            filepath = None
        if filepath is None or not filepath.endswith(".weights.h5"):
            raise ValueError(
                "KerasFileEditor.save: `filepath` must be a path ending in `.weights.h5`. "
                f"Received: filepath={filepath!r}")
        h5py = _h5py()
        with atomic_output(filepath) as temporary:
            with h5py.File(temporary, "w") as h5_file:
                self._write(h5_file, self.weights_dict, "")

    def resave_weights(self, filepath):
        """The same as `save(filepath)` (Keras's other name for it)."""
        self.save(filepath)

    def _write(self, h5_file, node, path):
        arrays = {k: v for k, v in node.items() if not isinstance(v, dict)}
        if arrays:
            # The root's own weights live in the top-level "vars" group, shown as "vars".
            where = path if path == "vars" else (f"{path}/vars" if path else "vars")
            group = h5_file.require_group(where)
            for attribute, value in self.object_metadata.get(path, {}).items():
                group.attrs[attribute] = value
            for name, value in arrays.items():
                value = np.asarray(value)
                dataset = group.create_dataset(name, data=value)
                if value.dtype == _bfloat16():
                    dataset.attrs["dtype"] = "bfloat16"   # as Keras writes it
        for key, value in node.items():
            if isinstance(value, dict):
                self._write(h5_file, value, f"{path}/{key}" if path else key)


class _Reader:
    """Reads a weights file's groups and datasets into nested dicts, with the loader's rules."""

    def __init__(self, what):
        self.what = what
        self.total_bytes = 0

    def read(self, h5_file):
        metadata = {}
        tree = self._group(h5_file, "", metadata, depth=0)
        return tree, metadata

    def _group(self, group, path, metadata, depth):
        if depth > MAX_GROUP_DEPTH:
            raise ValueError(
                f"KerasFileEditor: the {self.what} nests groups more than {MAX_GROUP_DEPTH} "
                "levels deep (no model's weights do); the file is damaged or hostile.")
        h5py = _h5py()
        result = {}
        names = sorted(group.keys(), key=_natural)
        if path and "vars" in names:
            vars_group = _member(group, "vars", self.what, f"{path}/vars")
            if isinstance(vars_group, h5py.Group):
                self._attributes(vars_group, path, metadata)
                result.update(self._datasets(vars_group, f"{path}/vars"))
                names.remove("vars")
        for name in names:
            where = f"{path}/{name}" if path else name
            member = _member(group, name, self.what, where)
            if isinstance(member, h5py.Group):
                if path == "" and name == "vars":
                    self._attributes(member, "vars", metadata)
                    child = self._datasets(member, "vars")
                else:
                    child = self._group(member, where, metadata, depth + 1)
                if child:
                    result[name] = child
            elif isinstance(member, h5py.Dataset):
                result[name] = self._value(member, where)
        return result

    def _attributes(self, group, path, metadata):
        attributes = {}
        for key in group.attrs:
            try:
                value = group.attrs[key]
            except Exception:  # an attribute h5py cannot read back is skipped, not fatal
                continue
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            if isinstance(value, (str, int, float, np.generic)):
                attributes[key] = value
        if attributes:
            metadata[path] = attributes

    def _datasets(self, group, path):
        h5py = _h5py()
        values = {}
        for name in sorted(group.keys(), key=_natural):
            member = _member(group, name, self.what, f"{path}/{name}")
            if isinstance(member, h5py.Dataset):
                values[name] = self._value(member, f"{path}/{name}")
        return values

    def _value(self, dataset, where):
        stored = dataset.dtype
        tag = dataset.attrs.get("dtype")
        if isinstance(tag, bytes):
            tag = tag.decode("utf-8", "replace")
        if tag is not None:
            if tag != "bfloat16" or stored.itemsize != 2 or stored.kind not in "uV" or \
                    stored.fields is not None:
                raise ValueError(
                    f"KerasFileEditor: the {self.what} holds {stored} values marked with the "
                    f"dtype attribute {str(tag)[:80]!r} at '{where}'; Keras writes only "
                    "'bfloat16' there, on 2-byte words.")
            dtype = _bfloat16()
        elif stored.name in _STORED_DTYPES and stored.fields is None and stored.subdtype is None:
            dtype = stored
        else:
            raise ValueError(
                f"KerasFileEditor: the {self.what} holds values of dtype {stored} at '{where}', "
                "where a weight's numeric values belong; refusing to read it.")
        declared = math.prod(dataset.shape) * stored.itemsize
        self.total_bytes += declared
        if self.total_bytes > archive.MAX_WEIGHTS_BYTES:
            raise ValueError(
                f"KerasFileEditor: the {self.what} declares more than "
                f"MAX_WEIGHTS_BYTES={archive.MAX_WEIGHTS_BYTES:,} bytes of weights (reaching "
                f"'{where}', shape {dataset.shape}); nothing more is read. If you trust the "
                "file, raise lamina.saving.archive.MAX_WEIGHTS_BYTES.")
        try:
            value = np.asarray(dataset[()])
        except Exception as error:  # a missing compression filter, damaged chunks
            raise ValueError(
                f"KerasFileEditor: cannot read '{where}' from the {self.what}: {error}.") \
                from error
        return value.view(dtype) if value.dtype != dtype else value


def _natural(name):
    """Sorts "2" before "10" (HDF5 lists names as strings)."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def _weight_spec(model):
    """`{path parts...: {"0": variable, ...}}` for the weights `model` writes, in the layout of
    `weights_dict` (the root's own weights under "vars")."""
    spec = {}
    for path, obj, kind in walk(model):
        variables = own_variables(obj, kind)
        if not variables:
            continue
        node = spec
        for part in (path.split("/") if path else ["vars"]):
            node = node.setdefault(part, {})
        node.update({str(index): variable for index, variable in enumerate(variables)})
    return spec


def _checked_name(value, method, argument):
    if not isinstance(value, str) or not value:
        raise TypeError(
            f"KerasFileEditor.{method}: `{argument}` must be a non-empty string. Received: "
            f"{argument}={value!r} of type {type(value).__name__}.")
    return value


def _checked_weights(weights, method):
    if not isinstance(weights, dict):
        raise ValueError(
            f"KerasFileEditor.{method}: `weights` must be a dict of {{weight name: array}} "
            "(names '0', '1', ... in the object's variable order). Received: "
            f"type(weights)={type(weights).__name__}")
    checked = {}
    for name, value in weights.items():
        _checked_name(name, method, "weights' keys")
        try:
            array = np.asarray(value)
        except Exception as error:
            raise ValueError(f"KerasFileEditor.{method}: weight '{name}' is not an array "
                             f"({error}).") from None
        if array.dtype.name not in _STORED_DTYPES and array.dtype != _bfloat16():
            raise ValueError(
                f"KerasFileEditor.{method}: weight '{name}' must hold numbers; received an "
                f"array of dtype {array.dtype}.")
        checked[name] = array
    return checked
