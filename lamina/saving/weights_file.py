"""`model.weights.h5`: Keras 3's HDF5 weights layout, written and read through h5py.

Each saveable object's own variables sit in a group `<path>/vars` (attribute `name`: the
object's name), as datasets `"0"`, `"1"`, ... (see `object_graph.py` for the paths). Loading
checks everything first and assigns only when the whole file fits, so a mismatched or
truncated file leaves the model unchanged.
"""

import warnings

import numpy as np

from lamina._runtime import dtypes
from lamina.saving.atomic import atomic_output
from lamina.saving.object_graph import own_variables, walk


def _h5py():
    try:
        import h5py
    except ImportError as error:  # pragma: no cover - h5py is a dependency
        raise ImportError("Saving weights needs h5py: pip install h5py") from error
    return h5py


def write_weights(model, h5_file):
    """Writes the variables of `model` (and its optimizer) into an open, writable h5 file."""
    for path, obj, kind in walk(model):
        variables = own_variables(obj, kind)
        if variables is None:
            continue
        group = h5_file.require_group(path).create_group("vars") if path else \
            h5_file.create_group("vars")
        group.attrs["name"] = getattr(obj, "name", "") or ""
        for index, variable in enumerate(variables):
            value = variable.numpy()
            if variable.dtype == "bfloat16":
                # As Keras writes it: h5py stores the 2-byte values as an opaque type, and the
                # attribute says how to read them (Keras cannot read a uint16 view back).
                dataset = group.create_dataset(str(index), data=value)
                dataset.attrs["dtype"] = "bfloat16"
            else:
                group.create_dataset(str(index), data=value)
        # Values an object stores under its own keys (Keras's `store["idf_weights"]`).
        for key, value in getattr(obj, "save_own_values", dict)().items():
            group.create_dataset(key, data=value)


def _member(group, name, what, where):
    """`group[name]`, refusing anything that would make h5py read outside this file: soft and
    external links (which may point anywhere), and datasets whose bytes live elsewhere
    (external storage, virtual datasets). None when there is no such member."""
    h5py = _h5py()
    link = group.get(name, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        raise ValueError(
            f"The {what} holds a {type(link).__name__} at '{where}', which could make the load "
            "read another file or a member chosen by the file. Weights files written by Keras "
            "or lamina hold only plain groups and datasets; refusing to load this one.")
    member = group[name]
    if isinstance(member, h5py.Dataset) and (member.is_virtual or member.external):
        kind = "a virtual dataset" if member.is_virtual else "a dataset with external storage"
        raise ValueError(
            f"The {what} holds {kind} at '{where}': its bytes would be read from other files. "
            "Weights files written by Keras or lamina store every value inside the file; "
            "refusing to load this one.")
    return member


def _stored_values(h5_file, where, what):
    """The datasets "0", "1", ... of the group at `where` (a path of plain members only)."""
    group = h5_file
    walked = []
    for part in where.split("/"):
        walked.append(part)
        group = _member(group, part, what, "/".join(walked))
        if group is None:
            return []
    h5py = _h5py()
    if not isinstance(group, h5py.Group):
        raise ValueError(f"The {what} holds a dataset at '{where}' where a group of variables "
                         "belongs; it was not written for this model.")
    stored = []
    for index in range(len(group)):
        dataset = _member(group, str(index), what, f"{where}/{index}")
        if dataset is None:
            continue
        if not isinstance(dataset, h5py.Dataset):
            raise ValueError(f"The {what} holds a group at '{where}/{index}' where a variable's "
                             "values belong; it was not written for this model.")
        stored.append(dataset)
    return stored


def _keyed_values(h5_file, where, what):
    """`{key: array}` of the datasets with non-numeric names in the group at `where`
    (values an object saved under its own keys), read only from plain numeric datasets."""
    group = h5_file
    for part in where.split("/"):
        group = _member(group, part, what, where)
        if group is None:
            return {}
    values = {}
    for key in list(group.keys()):
        if key.isdigit():
            continue
        dataset = _member(group, key, what, f"{where}/{key}")
        if not isinstance(dataset, _h5py().Dataset) or dataset.dtype.name not in _STORED_DTYPES:
            raise ValueError(f"The {what} holds '{where}/{key}', which is not an array of "
                             "numbers; it was not written for this model.")
        values[key] = dataset[()]
    return values


# The dtypes a stored value may have (a bfloat16 is stored as 2-byte words marked by a "dtype"
# attribute). Anything else, strings, compound records, object references, is no weight, and an
# exotic dtype may make an element of any size.
_STORED_DTYPES = frozenset({
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
    "float32", "float64", "complex64", "complex128",
})


def _stored_dtype(dataset, variable, what):
    """The dtype of the values `dataset` holds, from its header alone (nothing is read), and
    None with the reason when they are not numbers that `variable` can take."""
    h5py = _h5py()
    stored = dataset.dtype
    try:
        tag = dataset.attrs.get("dtype")
    except Exception as error:  # an attribute h5py cannot read back
        return None, f"'{variable.path}': the {what} marks its values with an unreadable " \
                     f"'dtype' attribute ({error})"
    if isinstance(tag, bytes):
        tag = tag.decode("utf-8", "replace")
    if tag is not None:
        if not isinstance(tag, str) or tag != "bfloat16":
            return None, (f"'{variable.path}': the {what} marks its values with the dtype "
                          f"attribute {str(tag)[:80]!r}; Keras writes only 'bfloat16' there")
        if stored.itemsize != 2 or stored.kind not in "uV" or stored.fields is not None:
            return None, (f"'{variable.path}': the {what} marks {stored} values as bfloat16, "
                          "which takes 2-byte words")
        import ml_dtypes

        value_dtype = np.dtype(ml_dtypes.bfloat16)
    elif stored.name in _STORED_DTYPES and stored.fields is None and stored.subdtype is None:
        value_dtype = stored
    else:
        if h5py.check_string_dtype(stored) is not None or stored.kind in "SU":
            kind = "strings"
        elif h5py.check_ref_dtype(stored) is not None:
            kind = "object references"
        elif stored.fields is not None:
            kind = "compound records"
        else:
            kind = "values"
        return None, (f"'{variable.path}': the {what} holds {kind} of dtype {stored}, where a "
                      "weight's numeric values belong")
    if not dtypes.can_store(value_dtype, variable.dtype):
        return None, (f"'{variable.path}': the {what} holds {value_dtype} values, which the "
                      f"variable's dtype {variable.dtype} cannot hold without losing information")
    return value_dtype, None


def _read(dataset, value_dtype, variable, what):
    """The values of `dataset` (already checked by `_stored_dtype`) in `variable`'s dtype."""
    try:
        value = np.asarray(dataset[()])
    except Exception as error:  # h5py: a missing compression filter, damaged chunks
        raise ValueError(
            f"Cannot read the values of '{variable.path}' from the {what}: {error}. The file is "
            "damaged, or was written with an HDF5 compression filter (plugin) that is not "
            "installed; nothing was loaded.") from error
    if value_dtype != value.dtype:
        value = value.view(value_dtype)  # bfloat16 words
    return _converted(value, variable, what)


def _converted(value, variable, what):
    """`value` in `variable`'s dtype, refusing conversions that change numbers: a float64 1e300
    is no float32 (it would become inf), an int64 2**40 no int32 (it would wrap around)."""
    target = np.dtype(variable.dtype)
    if value.dtype == target:
        return value
    with np.errstate(all="ignore"):
        converted = value.astype(target)
        if dtypes.is_float(variable.dtype) or target.kind == "c":
            changed = np.isfinite(value) & ~np.isfinite(converted)
            effect = "overflow to infinity"
        else:  # integers (can_store keeps floats out of integer variables)
            changed = converted.astype(value.dtype) != value
            effect = "overflow (wrap around)"
    if np.any(changed):
        example = value[changed].flat[0]
        raise ValueError(
            f"Cannot load the {what}: '{variable.path}' holds {value.dtype} values out of the "
            f"range of its dtype {variable.dtype} (e.g. {example!r}), which would {effect}; "
            "nothing was loaded. The file is damaged or hostile, or was saved from a model "
            f"with wider dtypes: build the model with dtype='{value.dtype}' to load it.")
    return converted


def read_weights(model, h5_file, skip_mismatch=False, what="weights file", source=None):
    """Loads variables from an open h5 file into `model`, all or nothing.

    Raises a ValueError listing every mismatch (by variable path: expected and found shapes and
    dtypes, missing or extra variables) unless `skip_mismatch`, which skips those with a
    warning. Values that are not numbers, that overflow the variable's dtype, or that cannot be
    read always raise. `what` names the file in messages; `source` (a path) is added to it.
    """
    named = f"{what} {source!r}" if source else what
    assignments, problems, keyed = [], [], []
    for path, obj, kind in walk(model):
        variables = own_variables(obj, kind)
        if variables is None:
            continue
        where = f"{path}/vars" if path else "vars"
        stored = _stored_values(h5_file, where, named)
        if hasattr(obj, "load_own_values"):
            keyed.append((obj, _keyed_values(h5_file, where, named)))
        label = f"'{getattr(obj, 'name', path)}' (at {path or '/'})"
        if len(stored) != len(variables):
            if kind == "Optimizer":
                if stored or variables:
                    warnings.warn(
                        f"Skipping the optimizer state in the {what}: optimizer {label} has "
                        f"{len(variables)} variables, the file has {len(stored)}. Training "
                        "resumes with fresh optimizer slots. (Build the optimizer, e.g. by "
                        "compiling before loading, to restore them.)", stacklevel=3)
                continue
            message = (f"{label} has {len(variables)} variables "
                       f"{[v.path for v in variables]}, the {what} has {len(stored)}")
            if not variables and stored and not getattr(obj, "built", True):
                message += (" (the layer is not built: build the model, e.g. by calling it on "
                            "data, before loading weights)")
            problems.append(message)
            continue
        for variable, dataset in zip(variables, stored):
            # Shape and dtype come from the dataset's header: a dataset declaring terabytes is
            # refused before any of it is read.
            shape = tuple(dataset.shape)
            if shape != tuple(variable.shape):
                problems.append(f"'{variable.path}': expected shape {tuple(variable.shape)}, "
                                f"the {what} has {shape}")
                continue
            value_dtype, problem = _stored_dtype(dataset, variable, what)
            if problem is not None:
                problems.append(problem)
                continue
            assignments.append((variable, dataset, value_dtype))
    if problems and not skip_mismatch:
        listing = "\n  ".join(problems)
        raise ValueError(
            f"The {named} does not match the model ({len(problems)} problem(s)); nothing was "
            f"loaded:\n  {listing}\nLoad into a model built with the same architecture, or "
            "pass skip_mismatch=True to load what fits.")
    if problems:
        warnings.warn("Skipped mismatched weights:\n  " + "\n  ".join(problems), stacklevel=3)
    values = [(variable, variable._check_assignable(_read(dataset, value_dtype, variable, named)))
              for variable, dataset, value_dtype in assignments]
    for variable, value in values:
        variable.assign(value)
    for obj, stored in keyed:
        obj.load_own_values(stored)


def save_weights(model, filepath, overwrite=True):
    """`model.save_weights("x.weights.h5")`: atomic (a crash never leaves a half file)."""
    filepath = str(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(
            f"The filename must end in `.weights.h5`. Received: filepath={filepath!r}")
    h5py = _h5py()
    with atomic_output(filepath, overwrite=overwrite) as temporary:
        with h5py.File(temporary, "w") as h5_file:
            write_weights(model, h5_file)


def load_weights(model, filepath, skip_mismatch=False):
    """Loads a `.weights.h5` file (`archive.load_weights` also reads `.keras` archives)."""
    filepath = str(filepath)
    if not filepath.endswith(".weights.h5"):
        raise ValueError(
            "load_weights takes a `.weights.h5` file (or a `.keras` archive). Received: "
            f"filepath={filepath!r}")
    h5py = _h5py()
    try:
        h5_file = h5py.File(filepath, "r")
    except OSError as error:
        raise ValueError(
            f"Cannot read weights from {filepath!r}: {error}. The file is missing, truncated "
            "or not an HDF5 weights file.") from error
    with h5_file:
        read_weights(model, h5_file, skip_mismatch=skip_mismatch, source=filepath)
