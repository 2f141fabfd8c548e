"""The host stage: a model's string layers run on each call's data before the compiled step.

A layer that handles strings (TextVectorization, StringLookup, Hashing, HashedCrossing; see
`lamina.layers.preprocessing.host`) cannot run inside a JAX program. When such a layer reads
a model input directly (a functional model's `keras.Input(shape=(1,), dtype="string")`, or
the first layer of a Sequential), `fit`, `evaluate`, `predict` and the `*_on_batch` methods
call `preprocess` on their `x` first: the layer computes on the host with NumPy (arrays: once
per call, for all rows; generators and `PyDataset`s: once per batch, as it is drawn), and the
compiled step starts from its numeric output. The layer is marked `pre_applied`, so inside
the program it passes that output through; the model's graph, config and saved file keep
the layer where the user put it.

Models without such a layer pay one cached lookup per call.
"""

import contextlib
import contextvars

import numpy as np

from lamina._runtime.scope import current_scope
from lamina._runtime.state import has_tracers
from lamina.layers.preprocessing.host import HostLayer
from lamina.layers.symbolic import any_symbolic

_applied = contextvars.ContextVar("lamina_host_stage_applied", default=False)


def _is_host_layer(layer):
    return isinstance(layer, HostLayer) and not layer._device_capable


def _graph(model):
    """The model's functional graph (a Sequential's inner one), or None."""
    if hasattr(model, "_flat_inputs") and hasattr(model, "_nodes"):
        return model
    return getattr(model, "_functional", None)


def host_layers(model):
    """`[(input position, layer)]`: the host layers that read a model input directly (and
    are that input's only reader). Cached per model version."""
    version = getattr(model, "_version", None)
    cached = model.__dict__.get("_host_stage_cache")
    if cached is not None and cached[0] == version:
        return cached[1]
    found = []
    graph = _graph(model)
    if graph is None:
        layers = getattr(model, "layers", None)
        if layers and _is_host_layer(layers[0]) and hasattr(model, "_layer_stack"):
            found = [(0, layers[0])]  # a Sequential not built yet: built from the raw data
    else:
        readers = {}
        for node in graph._nodes:
            if node.is_input:
                continue
            for tensor in node.input_tensors:
                readers.setdefault(id(tensor), []).append(node)
        for position, tensor in enumerate(graph._flat_inputs):
            nodes = readers.get(id(tensor), [])
            if len(nodes) == 1 and _is_host_layer(nodes[0].operation) and \
                    len(nodes[0].input_tensors) == 1:
                found.append((position, nodes[0].operation))
    for _, layer in found:
        object.__setattr__(layer, "pre_applied", True)
    object.__setattr__(model, "_host_stage_cache", (version, found))
    return found


def _is_text(value):
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "USO"
    if isinstance(value, (list, tuple)) and value:
        first = value[0]
        while isinstance(first, (list, tuple)) and first:
            first = first[0]
        return isinstance(first, (str, bytes))
    return isinstance(value, (str, bytes))


def _apply(model, stage, x):
    graph = _graph(model)
    if graph is None:
        # A Sequential starting with a host layer: build it from the raw data's shape, with
        # a string input as Keras does (its input dtype is the first layer's, "string").
        shape = np.shape(np.asarray(x, dtype=object))
        model.build((None,) + tuple(shape[1:]))
        stage = host_layers(model)
        graph = _graph(model)
    if len(graph._flat_inputs) == 1:
        (_, layer), = stage
        return layer.host_call(x) if _needs_layer(layer, x) else x
    names = list(graph._input_names)
    converted = dict(x) if isinstance(x, dict) else list(x)
    for position, layer in stage:
        key = names[position] if isinstance(converted, dict) else position
        if isinstance(converted, dict) and key not in converted:
            continue
        if _needs_layer(layer, converted[key]):
            converted[key] = layer.host_call(converted[key])
    return converted if isinstance(x, dict) else type(x)(converted)


def _needs_layer(layer, value):
    # Numbers given to a string layer are its output already (token ids from a pipeline);
    # a layer that reads numbers (Hashing of ids) always runs.
    return _is_text(value) or getattr(layer, "input_dtype", None) != "string"


class _PreprocessedBatches:
    """An iterator of batches whose `x` go through the host stage as they are drawn."""

    def __init__(self, model, source):
        self._model = model
        self._source = source

    def __getattr__(self, name):
        return getattr(self._source, name)

    def _convert(self, batch):
        if isinstance(batch, tuple) and batch:
            return (preprocess(self._model, batch[0]),) + batch[1:]
        return preprocess(self._model, batch)

    def __iter__(self):
        return (self._convert(batch) for batch in self._source)


class _PreprocessedSequence(_PreprocessedBatches):
    """A PyDataset-style sequence (`__len__`, `__getitem__`, epoch hooks) likewise."""

    def __getitem__(self, index):
        return self._convert(self._source[index])

    def __len__(self):
        return len(self._source)


def preprocess(model, x):
    """`x` with the model's host layers applied (see the module docstring); `x` itself when
    the model has none."""
    if x is None:
        return x
    stage = host_layers(model)
    if not stage:
        return x
    if isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)) or hasattr(x, "__array__"):
        return _apply(model, stage, x)
    if hasattr(x, "__getitem__") and hasattr(x, "__len__"):
        return _PreprocessedSequence(model, x)
    if hasattr(x, "__iter__") or hasattr(x, "__next__"):
        return iter(_PreprocessedBatches(model, x))
    return x


def preprocess_validation(model, validation_data):
    """`fit`'s validation_data (an `(x, y[, sample_weight])` tuple or a source of batches)
    with its `x` preprocessed."""
    if not host_layers(model):
        return validation_data
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        return (preprocess(model, validation_data[0]),) + tuple(validation_data[1:])
    return preprocess(model, validation_data)


@contextlib.contextmanager
def applied():
    """Marks calls of the model inside the block as fed data the host stage produced."""
    token = _applied.set(True)
    try:
        yield
    finally:
        _applied.reset(token)


def preprocess_call(model, x):
    """`model(x)`'s input: preprocessed when the user calls the model on data; as it is for
    symbolic tensors, traced values, the trainer's own steps (inside a state scope) and
    data the host stage produced (`applied()`)."""
    if (_applied.get() or current_scope() is not None or not host_layers(model)
            or any_symbolic(x) or has_tracers(x)):
        return x
    return preprocess(model, x)
