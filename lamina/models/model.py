"""`Model`: a layer with the extras of a whole model (summary, layer lookup, training, saving).

`Model(inputs=..., outputs=...)` builds a functional model; subclassing `Model` writes the
forward pass by hand. Eager calls on a built model (`model(x)`) go through a compiled forward
pass cached per input signature, so a notebook user does not pay Python overhead per layer.
"""

import inspect
import json
import os
import re
import warnings

from lamina._serialization import serialize_keras_object
from lamina.export.model_export import export_model
from lamina.layers.layer import Layer
from lamina.models.functional_config import functional_from_config
from lamina.models.summary import print_summary
from lamina.quantizers.config import validate_and_resolve_config
from lamina.saving import orbax_checkpoint, saving_api
from lamina.saving.archive import load_weights, save_model
from lamina.saving.weights_file import save_weights
from lamina.training.trainer import Trainer


def _is_functional_call(args, kwargs):
    return "inputs" in kwargs and "outputs" in kwargs or (
        len(args) >= 2) or ("outputs" in kwargs and len(args) == 1)


def _inherit_from_functional(cls):
    """Makes the user's Model subclass `cls` a subclass of Functional, in place.

    Every `Model` among the bases of `cls` (directly or through the user's intermediate
    classes) is replaced by `Functional`, so the class keeps its identity (`type(model) is
    CustomModel`, its registration and saved name) while gaining the graph methods, with its
    own methods still first in the lookup order. This is how Keras 3 treats the same call.
    """
    Functional = Model._graph_class
    if cls is Model:
        return Functional
    if not issubclass(cls, Model) or issubclass(cls, Functional):
        return cls
    if cls.__module__.startswith("lamina."):
        raise TypeError(
            f"{cls.__name__} was given inputs and outputs, but it is a lamina model class "
            "that is not functional. Use keras.Model(inputs=..., outputs=...) for a "
            "functional model.")
    cls.__bases__ = tuple(_inherit_from_functional(base) for base in cls.__bases__)
    return cls


def _functional_like_constructor(cls):
    """True when `cls(inputs=..., outputs=..., name=...)` builds the model, so that it can be
    saved as a graph and rebuilt from one: its constructor is Functional's (same positional
    parameters) or forwards `*args, **kwargs`."""
    def positional(function):
        return [p.name for p in list(inspect.signature(function).parameters.values())[1:]
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]

    parameters = inspect.signature(cls.__init__).parameters.values()
    kinds = {p.kind for p in parameters}
    if inspect.Parameter.VAR_POSITIONAL in kinds and inspect.Parameter.VAR_KEYWORD in kinds:
        return True
    return positional(cls.__init__) == positional(Model._graph_class.__init__)


def _matches(layer, filters):
    """Whether `model.quantize(filters=...)` takes `layer` (Keras's rules)."""
    if filters is None:
        return True
    if isinstance(filters, str):
        return bool(re.search(filters, layer.name))
    if isinstance(filters, (list, tuple)):
        return any(re.search(pattern, layer.name) for pattern in filters)
    return bool(filters(layer))


def _is_functional_config(config):
    return all(key in config for key in ("name", "layers", "input_layers", "output_layers"))


class Model(Trainer, Layer):
    """A model: layers grouped with training and saving features.

    Three ways to make one:

    * functional: `Model(inputs=keras.Input((8,)), outputs=...)`;
    * subclassing: `class MyModel(Model)` with layers created in `__init__` and a `call`;
    * `Sequential([...])` for a plain stack.

    A subclass given inputs and outputs, `CustomModel(inputs, outputs)`, is a functional
    model that keeps the subclass's methods (a custom `train_step`, extra metrics): its class
    gains `Functional` as a base, as in Keras 3.

    Examples:
        >>> class TwoLayers(Model):
        ...     def __init__(self, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.hidden = lamina.layers.Dense(4, activation="relu")
        ...         self.out = lamina.layers.Dense(1)
        ...     def call(self, x):
        ...         return self.out(self.hidden(x))
        >>> TwoLayers()(jnp.ones((2, 3))).shape
        (2, 1)
    """

    _compile_eager_calls = True
    # The class that `Model(inputs=..., outputs=...)` builds: `Functional`. It subclasses Model,
    # so this module cannot import it; it records itself here when it is defined, through
    # `class Functional(Model, graph=True)` and `__init_subclass__`.
    _graph_class = None
    _untracked_attributes = Layer._untracked_attributes | Trainer._training_bookkeeping

    def __init_subclass__(cls, graph=False, **kwargs):
        super().__init_subclass__(**kwargs)
        if graph:
            Model._graph_class = cls

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_call(args, kwargs):
            return Model._graph_class.__new__(Model._graph_class, *args, **kwargs)
        return super().__new__(cls, *args, **kwargs)

    def __init__(self, *args, **kwargs):
        if _is_functional_call(args, kwargs):
            # A subclass given inputs and outputs (`CustomModel(inputs, outputs)`, or a
            # `super().__init__(inputs, outputs)` in its constructor) becomes a functional model
            # that keeps its own methods (train_step, metrics, ...).
            _inherit_from_functional(type(self))
            Model._graph_class.__init__(self, *args, **kwargs)
            return
        if args:
            raise TypeError(
                f"Model takes keyword arguments only (name=, trainable=, dtype=). Received "
                f"positional arguments: {args!r}")
        super().__init__(**kwargs)
        self.run_eagerly = False

    @property
    def layers(self):
        """The model's direct sublayers, in the order they were assigned."""
        return list(self._layers)

    def get_layer(self, name=None, index=None):
        """A sublayer by name or by index (in `model.layers`)."""
        if index is not None and name is not None:
            raise ValueError("get_layer takes a name or an index, not both.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"get_layer(index={index}) on model '{self.name}', which has "
                    f"{len(layers)} layers.")
            return layers[index]
        if name is None:
            raise ValueError("get_layer needs a name or an index.")
        for layer in layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in layers]
        raise ValueError(
            f"No layer named '{name}' in model '{self.name}'. Its layers are: {names}.")

    def quantize(self, mode=None, config=None, filters=None, **kwargs):
        """Quantizes the weights of the model's Dense, EinsumDense and Embedding layers.

        Args:
            mode: `"int8"`, `"int4"` or `"float8"` (Keras's `"gptq"` and `"awq"` need a
                calibration lamina does not implement).
            config: a `keras.quantizers.QuantizationConfig` instead of (or agreeing with)
                `mode`, to choose the quantizers or int4's `block_size`.
            filters: which layers to quantize: a regular expression over layer names, a list
                of them, or a callable taking a layer. None: all.

        The model must be built. Every layer is checked before any changes, so an error (a
        layer already quantized, a bad mode) leaves the model as it was. Other layers that
        hold weights are skipped with a warning that names them; layers without weights are
        skipped silently (Keras warns for those too).

        Examples:
            >>> model = lamina.Sequential([lamina.Input((8,)), lamina.layers.Dense(4)])
            >>> model.quantize("int4")
            >>> model.layers[0].dtype_policy.name, model.layers[0].kernel.shape
            ('int4/128_from_float32', (8, 2))
        """
        type_check = kwargs.pop("type_check", True)
        if kwargs:
            raise ValueError(
                f"Unrecognized keyword arguments passed to {type(self).__name__}.quantize: "
                f"{kwargs}. It takes mode, config, filters and type_check.")
        if filters is not None and not (isinstance(filters, (str, list, tuple))
                                        or callable(filters)):
            raise ValueError(
                "The `filters` argument must be a regex string, a list of regex strings, or a "
                f"callable. Received: {type(filters).__name__}")
        config = validate_and_resolve_config(mode, config)
        mode = config.mode
        if mode in ("gptq", "awq"):
            raise NotImplementedError(
                f"model.quantize('{mode}'): lamina does not run {mode.upper()} calibration "
                "(it reads GPTQ/AWQ configs and dtype policies only). Use 'int8', 'int4' or "
                "'float8'.")
        chosen = []
        for layer in self._flatten_layers(include_self=False):
            if len(list(layer._flatten_layers())) != 1 or not _matches(layer, filters):
                continue
            if not layer._own_variables():
                continue
            checked = getattr(layer, "_check_quantize", None)
            if checked is not None:  # lamina's quantizable layers: checked before any change
                try:
                    checked(mode, type_check)
                except NotImplementedError as error:
                    warnings.warn(str(error), stacklevel=2)
                    continue
            chosen.append(layer)
        for layer in chosen:
            try:
                layer.quantize(mode, type_check=type_check, config=config)
            except NotImplementedError as error:  # a layer with no quantized form
                warnings.warn(str(error), stacklevel=2)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    # ----------------------------------------------------------------------------- saving
    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Saves the model (architecture, weights, optimizer state) to a `.keras` archive, or
        to a `.h5` / `.hdf5` file in tf.keras 2's legacy format, as Keras 3 does (with its
        warning; `include_optimizer=False` leaves the optimizer out)."""
        if _is_legacy_h5(filepath):
            saving_api.save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)
            return
        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True):
        """Saves the weights (and optimizer state) to a `.weights.h5` file, Keras 3's layout."""
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights from a `.weights.h5` file or a `.keras` archive, all or nothing; or the
        whole state (weights, optimizer, metrics) from an Orbax checkpoint directory; or a
        legacy `.h5` file of tf.keras 2 by layer order (by layer name with `by_name=True`)."""
        if _is_legacy_h5(filepath) or kwargs.get("by_name") is not None:
            saving_api.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)
            return
        if isinstance(filepath, (str, os.PathLike)) and orbax_checkpoint.is_checkpoint(
                os.fspath(filepath)):
            orbax_checkpoint.load_weights(self, os.fspath(filepath), skip_mismatch=skip_mismatch)
            return
        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Exports the inference pass (`model(x, training=False)`) for serving without lamina.

        Args:
            filepath: where to write: a folder for `"stablehlo"`, a file for `"onnx"`.
            format: `"stablehlo"` (JAX's serialized StableHLO, `jax.export`: a folder with
                `serve.jax_exported`, loaded by `jax.export.deserialize` and run with JAX
                alone) or `"onnx"` (an ONNX file, through jax2onnx: `pip install
                "lamina[export]"`). Keras's `"tf_saved_model"` (its default), `"litert"`,
                `"openvino"` and `"torch"` need TensorFlow or PyTorch and are refused with a
                `ValueError` that says what to use instead.
            verbose: print where the artifact was written (default True).
            input_signature: the inputs' shapes and dtypes, a list of `keras.InputSpec`
                (one per positional argument); by default the model's own inputs with a free
                batch size. A model never built or called needs it (it is built from it).
            **kwargs: `opset_version` for `"onnx"`; `platforms` (e.g. `("cpu", "cuda")`)
                for `"stablehlo"`.

        A `None` in the signature (the batch size by default) stays free in the artifact.
        See docs/exporting.md for serving the files.

        Examples:
            >>> import os, tempfile
            >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            >>> path = os.path.join(tempfile.mkdtemp(), "model")
            >>> model.export(path, format="stablehlo", verbose=False)
            >>> with open(os.path.join(path, "serve.jax_exported"), "rb") as file:
            ...     serve = jax.export.deserialize(bytearray(file.read()))
            >>> serve.call(np.ones((4, 3), "float32")).shape
            (4, 2)
        """
        export_model(self, filepath, format=format, verbose=verbose,
                     input_signature=input_signature, **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from its config.

        A functional config (`layers`, `input_layers`, `output_layers`) rebuilds the graph and
        passes it to `cls(inputs=..., outputs=..., name=...)`, for `Model`, `Functional` and
        subclasses whose constructor takes those (or `*args, **kwargs`); anything else calls
        the constructor with the config.
        """
        if _is_functional_config(config) and (cls is Model or
                                              _functional_like_constructor(cls)):
            return functional_from_config(Model._graph_class if cls is Model else cls, config,
                                          custom_objects)
        return super().from_config(config)

    @classmethod
    def _arguments_rebuilt_from_config(cls, config):
        """The constructor arguments `from_config` makes itself rather than reading them from
        `config` (asked by serialization's save-time check of configs)."""
        if _is_functional_config(config) and _functional_like_constructor(cls):
            return ("inputs", "outputs")
        return ()

    def to_json(self, **kwargs):
        """The model's architecture as a JSON string (Keras 3's format; no weights)."""
        return json.dumps(serialize_keras_object(self), default=_json_default, **kwargs)


def _is_legacy_h5(filepath):
    return isinstance(filepath, (str, os.PathLike)) and os.fspath(filepath).endswith(
        (".h5", ".hdf5")) and not os.fspath(filepath).endswith(".weights.h5")


def _json_default(value):
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
