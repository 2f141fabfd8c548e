"""Mutated `.keras` archives for fuzzing the loader, reproducible from a seed.

A mutant starts from a genuine archive of `base_model()` and changes one thing at random: bytes
of the file, a value of config.json (a number, a type, a key, a list), the shape, dtype or
attributes of an HDF5 dataset, or the file's length. Whatever the change, a load must either
give a model or refuse with a clear error of a Keras exception class, quickly, without side
effects (tests/saving/test_fuzz_loading.py; a long run: scripts/fuzz_loading.py).
"""

import io
import json
import os
import random
import tempfile
import zipfile

import numpy as np

import lamina as keras

# What a loader may raise for a bad file; anything else (KeyError, AttributeError,
# RecursionError, IndexError, a crash) is a bug the fuzzer reports.
REFUSALS = (ValueError, TypeError, OSError, MemoryError, NotImplementedError)

_VALUES = [None, True, False, 0, -1, 1, 3, 2**31, 2**63, 10**12, -10**9, 0.5, -0.0, 1e308,
           float("inf"), float("nan"), "", "x", "relu", "float64", "int8", "Dense", "keras.layers",
           "..", "/etc/passwd", [], [None], [1, 2], [[[]]], {}, {"class_name": None},
           {"class_name": "Dense", "config": {}}, {"module": "os", "class_name": "system"}]


def base_model():
    """A small functional model with the parts a config usually holds, trained one step so
    that the optimizer's slots are saved."""
    inputs = keras.Input((4,), name="features")
    x = keras.layers.Dense(3, activation="relu", kernel_regularizer="l2")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(np.ones((4, 4), "float32"), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    return model


_BASE = {}


def base_archive():
    """The bytes of a saved `base_model()` (built once per process)."""
    if "bytes" not in _BASE:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "base.keras")
            base_model().save(path)
            with open(path, "rb") as f:
                _BASE["bytes"] = f.read()
    return _BASE["bytes"]


def _entries(data):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(entries):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, value in entries.items():
            archive.writestr(name, value)
    return buffer.getvalue()


def _nodes(value, path=()):
    """Every (path, value) in a JSON document."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, path + (index,))


def _set(document, path, value):
    holder = document
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value


def _mutate_bytes(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data), "bytes flipped"


def _truncate(rng, data):
    cut = rng.randrange(len(data))
    return data[:cut], f"truncated at {cut}"


def _mutate_json(rng, data):
    entries = _entries(data)
    config = json.loads(entries["config.json"])
    nodes = [path for path, _ in _nodes(config) if path]
    path = rng.choice(nodes)
    action = rng.choice(["value", "value", "delete", "duplicate"])
    holder = config
    for key in path[:-1]:
        holder = holder[key]
    if action == "delete":
        del holder[path[-1]]
    elif action == "duplicate" and isinstance(holder, list):
        holder.insert(path[-1], json.loads(json.dumps(holder[path[-1]])))
    else:
        action = "value"
        replacement = rng.choice(_VALUES)
        _set(config, path, replacement)
    entries["config.json"] = json.dumps(config).encode()
    return _zip(entries), f"config {action} at {list(path)}"


def _mutate_hdf5(rng, data):
    import h5py

    entries = _entries(data)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "w.h5")
        with open(path, "wb") as f:
            f.write(entries["model.weights.h5"])
        with h5py.File(path, "r+") as f:
            datasets = []
            f.visititems(lambda name, obj: datasets.append(name)
                         if isinstance(obj, h5py.Dataset) else None)
            name = rng.choice(datasets)
            old = f[name]
            action = rng.choice(["shape", "dtype", "delete", "attribute", "group", "values"])
            if action == "shape":
                shape = tuple(rng.randint(0, 5) for _ in range(rng.randint(0, 3)))
                del f[name]
                f.create_dataset(name, data=np.zeros(shape, "float32"))
            elif action == "dtype":
                value = np.asarray(old[()])
                dtype = rng.choice(["float16", "float64", "int8", "int64", "uint8", "bool",
                                    "complex64", "S4"])
                del f[name]
                f.create_dataset(name, data=value.astype(dtype))
            elif action == "delete":
                del f[name]
            elif action == "attribute":
                f[name].attrs["dtype"] = rng.choice(["bfloat16", "float1024", "object", ""])
            elif action == "group":
                del f[name]
                f.create_group(name)
            else:
                value = np.asarray(old[()], "float64")
                value = value + rng.choice([1e300, -1e300, np.nan, np.inf])
                del f[name]
                f.create_dataset(name, data=value)
        with open(path, "rb") as f:
            entries["model.weights.h5"] = f.read()
    return _zip(entries), f"weights {action} at {name}"


_MUTATIONS = [_mutate_bytes, _truncate, _mutate_json, _mutate_json, _mutate_json,
              _mutate_hdf5, _mutate_hdf5]


def mutant(seed, index):
    """The `index`-th mutant of the run `seed`: (archive bytes, what was changed)."""
    rng = random.Random(f"{seed}/{index}")
    mutation = rng.choice(_MUTATIONS)
    return mutation(rng, base_archive())
