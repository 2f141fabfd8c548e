"""`keras.export.ExportArchive`: serving endpoints written as JAX's serialized StableHLO.

Keras 3's `ExportArchive` writes a TensorFlow SavedModel. lamina runs on JAX alone, so its
archive holds what JAX serves: each endpoint is a `jax.export.Exported` (StableHLO with its
calling convention), serialized to `<endpoint>.jax_exported`, which any JAX program loads with
`jax.export.deserialize` and calls, without lamina, the model's code or Python objects of it.

The archive is a folder:

```
path/
  manifest.json              endpoints, their input and output shapes, variable collections
  serve.jax_exported         one file per endpoint (jax.export.Exported.serialize())
  variables/<name>.npz       one file per variable collection (NumPy arrays by variable path)
```

Each endpoint is traced once with symbolic sizes where its input signature has `None` (see
`lamina.export.signatures`), so one file serves every batch size. The model's weights are
read when the archive is written and become constants of the endpoints.
"""

import json
import os
import re

import jax
import numpy as np

from lamina._registry import keras_export
from lamina._runtime.scope import StateScope
from lamina._runtime.state import current_values
from lamina._runtime.tracing import trace_stateful
from lamina._runtime.variable import Variable
from lamina.export import _files, signatures
from lamina.layers.layer import Layer

DEFAULT_ENDPOINT_NAME = "serve"
_PLATFORMS = ("cpu", "cuda", "rocm", "tpu")
_ENDPOINT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _CreatesVariables(Exception):
    """The function created Variables while traced with symbolic sizes: build it first."""


def _refuse_creation(variable):
    raise _CreatesVariables(variable)


class _Endpoint:
    __slots__ = ("name", "fn", "signature", "arguments", "variables", "output_spec")

    def __init__(self, name, fn, signature, arguments, variables, output_spec):
        self.name = name
        self.fn = fn
        self.signature = signature
        self.arguments = arguments
        self.variables = variables
        self.output_spec = output_spec

    def serving_function(self):
        """`fn` as a pure function of its inputs: the Variables' current values are bound
        (they become constants of the export) and assignments stay in the scope."""
        variables = self.variables
        values = tuple(jax.numpy.asarray(v) for v in current_values(variables))
        fn = self.fn

        def serve(*args):
            with StateScope(zip(variables, values)):
                return fn(*args)

        return serve

    def live_function(self):
        """`fn` compiled with `jax.jit`, reading the Variables' values at each call."""
        variables, fn = self.variables, self.fn

        @jax.jit
        def pure(values, *args):
            with StateScope(zip(variables, values)):
                return fn(*args)

        def call(*args):
            return pure(tuple(current_values(variables)), *args)

        return call


def _trace(fn, arguments, allow_creation):
    return trace_stateful(lambda *args: fn(*args), *arguments, allow_creation=allow_creation,
                          forbid_creation=_refuse_creation)


def trace_endpoint(name, fn, signature, where):
    """Traces `fn` on `signature`'s symbolic arguments; returns an `_Endpoint`.

    A function that builds layers on its first call is first traced once with every `None`
    set to 1, so that its Variables exist before the symbolic trace.
    """
    arguments = signatures.symbolic_arguments(signature)
    try:
        try:
            trace = _trace(fn, arguments, allow_creation=False)
        except _CreatesVariables:
            _trace(fn, signatures.concrete_arguments(signature), allow_creation=True)
            trace = _trace(fn, arguments, allow_creation=False)
    except _CreatesVariables as error:
        raise ValueError(
            f"{where}: the function creates a new Variable ('{error.args[0].path}') each time "
            "it is traced, so it has no fixed weights to export. Create Variables once (in "
            "build() or __init__), then export.") from None
    except Exception as error:  # noqa: BLE001 (annotated and re-raised unchanged)
        error.add_note(_trace_note(where, signature, error))
        raise
    return _Endpoint(name, fn, signature, arguments, trace.variables, trace.output_spec)


def _trace_note(where, signature, error):
    note = (f"Raised while tracing {where} with input_signature={signature}. The signature "
            "must match what the function takes: one entry per positional argument, each "
            "with the shape and dtype the function accepts.")
    if "symbolic dimension" in str(error).lower() or type(error).__name__ in (
            "InconclusiveDimensionOperation", "UnexpectedDimension"):
        note += (" Each `None` in the signature is traced as a symbolic size (the first axis "
                 "as `batch`); this code needs a known size there. Give that axis a number in "
                 "input_signature (e.g. shape=(1, ...)) to export a fixed size.")
    return note


@keras_export("keras.export.ExportArchive")
class ExportArchive:
    """Writes a model's (or any function's) serving endpoints as JAX StableHLO, for serving
    without lamina.

    Register the layers or models used with `track()`, add endpoints with `add_endpoint()`
    (a name, a function and its input signature), optionally `add_variable_collection()`,
    then `write_out(path)`. The result is a folder holding one `<endpoint>.jax_exported` file
    per endpoint: `jax.export.deserialize(data).call(x)` runs it with JAX alone, and a
    `None` in a signature stays free at serving time (one file serves every batch size).

    Keras 3 writes a TensorFlow SavedModel here; lamina, which runs on JAX without
    TensorFlow, writes JAX's own serialized form instead (see docs/exporting.md).

    Args:
        format: `"stablehlo"`, the only format of lamina's archive. Keras's
            `"saved_model"` and `"neptune_model"` are refused with an explanation.
        platforms: the platforms the endpoints are compiled for, e.g. `("cpu", "cuda")`;
            `None` (the default) means the platform of the machine that exports.

    Examples:
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> archive = keras.export.ExportArchive()
        >>> archive.track(model)
        >>> _ = archive.add_endpoint(
        ...     "serve", lambda x: model(x, training=False),
        ...     input_signature=[keras.InputSpec(shape=(None, 3), dtype="float32")])
        >>> path = os.path.join(tempfile.mkdtemp(), "served")
        >>> archive.write_out(path, verbose=False)
        >>> with open(os.path.join(path, "serve.jax_exported"), "rb") as file:
        ...     serve = jax.export.deserialize(bytearray(file.read()))
        >>> serve.call(np.ones((5, 3), "float32")).shape     # any batch size
        (5, 2)
    """

    def __init__(self, format="stablehlo", platforms=None):
        if format != "stablehlo":
            if format in ("saved_model", "neptune_model"):
                raise ValueError(
                    f"ExportArchive(format={format!r}) writes a TensorFlow artifact, which "
                    "lamina (on JAX, without TensorFlow) does not write. Use "
                    "ExportArchive() (format='stablehlo'): JAX's serialized StableHLO, served "
                    "with jax.export.deserialize; or model.export(path, format='onnx') for "
                    "ONNX Runtime. See docs/exporting.md.")
            raise ValueError(
                f"Unsupported format={format!r} for ExportArchive. lamina's archive has one "
                "format: 'stablehlo'.")
        if platforms is not None:
            platforms = (platforms,) if isinstance(platforms, str) else tuple(platforms)
            unknown = [p for p in platforms if p not in _PLATFORMS]
            if unknown or not platforms:
                raise ValueError(
                    f"ExportArchive(platforms={platforms!r}): expected one or more of "
                    f"{list(_PLATFORMS)} (JAX's platform names), or None for the platform of "
                    "this machine.")
        self._platforms = platforms
        self._endpoints = {}
        self._tracked = []
        self._collections = {}

    # --------------------------------------------------------------------------- registering
    def track(self, resource):
        """Registers a layer or model whose Variables the endpoints use.

        Endpoints find the Variables they read on their own; tracking checks early that the
        layer is built (its weights exist), as Keras does.
        """
        if not isinstance(resource, Layer):
            raise ValueError(
                "ExportArchive.track() takes a keras Layer or Model. Received "
                f"{resource!r} of type {type(resource).__name__}.")
        if not resource.built:
            raise ValueError(
                f"Layer '{resource.name}' has not been built, so it has no weights to export "
                "yet. Call it on a batch of data first (or, for a model, give it a "
                "keras.Input), or add an endpoint with an input_signature, which builds it.")
        if not any(resource is tracked for tracked in self._tracked):
            self._tracked.append(resource)

    def add_endpoint(self, name, fn, input_signature=None, **kwargs):
        """Registers `fn` as the serving endpoint `name`, traced on `input_signature`.

        Args:
            name: the endpoint's name (a Python identifier); its file is
                `<name>.jax_exported`.
            fn: a function of arrays, e.g. `model.call` or
                `lambda x: model(x, training=False)`. The Variables it reads become
                constants of the endpoint when the archive is written.
            input_signature: a list with one entry per positional argument of `fn`: a
                `keras.InputSpec` (shape with `None` where the size is free, and a dtype),
                a `keras.KerasTensor`, a `jax.ShapeDtypeStruct`, an example array, or a
                structure (list, dict) of them for an argument that is one.
            **kwargs: `is_static` is accepted for Keras compatibility (an endpoint never
                keeps state between calls); `jax2tf_kwargs` is refused, lamina does not
                convert through TensorFlow.

        Returns:
            `fn` compiled with `jax.jit` (as Keras returns its `tf.function`).

        The function is traced right away (abstractly, no computation), so a signature that
        does not fit the function fails here, with the function's own error and a note.
        """
        where = f"ExportArchive.add_endpoint(name={name!r})"
        if not isinstance(name, str) or not _ENDPOINT_NAME.match(name):
            raise ValueError(
                f"{where}: an endpoint name must be a Python identifier (letters, digits and "
                "underscores, not starting with a digit), since it names the endpoint's file "
                "and the attribute servers look up.")
        if name in self._endpoints:
            raise ValueError(f"Endpoint name '{name}' is already taken.")
        kwargs.pop("is_static", None)
        if "jax2tf_kwargs" in kwargs:
            raise ValueError(
                f"{where}: jax2tf_kwargs configures Keras's conversion to TensorFlow; lamina "
                "exports JAX's StableHLO directly and has no such conversion. Remove it.")
        if kwargs:
            raise TypeError(
                f"{where}: unexpected keyword arguments {sorted(kwargs)}. It takes name, fn, "
                "input_signature (and is_static, accepted for Keras compatibility).")
        if not callable(fn):
            raise TypeError(f"{where}: fn must be callable. Received {fn!r}.")
        if input_signature is None:
            raise ValueError(
                f"{where}: give an input_signature, the shape and dtype of each argument of "
                "fn, e.g. input_signature=[keras.InputSpec(shape=(None, 224, 224, 3), "
                "dtype='float32')]. (Keras also takes a tf.function called once; lamina "
                "needs the signature.)")
        signature = signatures.normalize(input_signature, where)
        self._endpoints[name] = trace_endpoint(name, fn, signature, where)
        return self._endpoints[name].live_function()

    def track_and_add_endpoint(self, name, resource, input_signature, **kwargs):
        """Tracks `resource` (a layer or model) and adds an endpoint calling it in inference
        mode (`resource(x, training=False)`) on `input_signature`."""
        if not isinstance(resource, Layer):
            raise ValueError(
                "ExportArchive.track_and_add_endpoint() takes a keras Layer or Model. "
                f"Received {resource!r} of type {type(resource).__name__}.")

        def call(*args):
            return resource(*args, training=False)

        compiled = self.add_endpoint(name, call, input_signature, **kwargs)
        self.track(resource)  # after the endpoint, which builds an unbuilt resource
        return compiled

    def add_variable_collection(self, name, variables):
        """Saves the values of `variables` (a list, tuple or set of Variables) in the archive
        as `variables/<name>.npz`, keyed by variable path, to read back after loading (e.g.
        an optimizer's state)."""
        where = f"ExportArchive.add_variable_collection(name={name!r})"
        if not isinstance(name, str) or not _ENDPOINT_NAME.match(name):
            raise ValueError(f"{where}: the name must be a Python identifier; it names the "
                             "collection's file.")
        if not isinstance(variables, (list, tuple, set)):
            raise ValueError(
                "Expected `variables` to be a list/tuple/set. "
                f"Received instead object of type '{type(variables).__name__}'.")
        wrong = sorted({type(v).__name__ for v in variables if not isinstance(v, Variable)})
        if wrong:
            raise ValueError(
                f"{where}: expected every element of `variables` to be a keras.Variable. Found "
                f"instead elements of type {wrong}.")
        self._collections[name] = list(variables)

    # --------------------------------------------------------------------------- writing
    def write_out(self, filepath, options=None, verbose=True):
        """Writes the archive (a folder) at `filepath`.

        An archive lamina wrote earlier at that path is replaced (Keras overwrites too); a
        folder holding other files, or a file, is refused rather than deleted. Nothing at
        `filepath` changes if the export fails.

        Args:
            filepath: the folder to write.
            options: must be None (Keras's `tf.saved_model.SaveOptions` has no JAX meaning).
            verbose: print the path and each endpoint's signature.
        """
        if not self._endpoints:
            raise ValueError("No endpoints have been set yet. Call add_endpoint().")
        if options is not None:
            raise ValueError(
                "write_out(options=...) takes TensorFlow's tf.saved_model.SaveOptions, which "
                "do not apply to lamina's StableHLO archive. Remove the argument.")
        filepath = os.fspath(filepath)
        _files.check_folder_target(os.path.abspath(filepath))
        exported = {name: self._export(endpoint) for name, endpoint in self._endpoints.items()}
        collections = {name: _collection_arrays(variables)
                       for name, variables in self._collections.items()}

        def write(folder):
            manifest = {"format": _files.ARCHIVE_FORMAT, "version": 1,
                        "default_endpoint": next(iter(self._endpoints)),
                        "endpoints": {}, "variable_collections": {}}
            for name, (endpoint, blob, out_shapes, platforms) in exported.items():
                with open(os.path.join(folder, f"{name}.jax_exported"), "wb") as file:
                    file.write(blob)
                manifest["endpoints"][name] = {
                    "file": f"{name}.jax_exported",
                    "inputs": [s.describe() for s in signatures.flat_specs(endpoint.signature)],
                    "outputs": out_shapes,
                    "platforms": list(platforms),
                }
            if collections:
                os.makedirs(os.path.join(folder, "variables"))
            for name, (arrays, described) in collections.items():
                np.savez(os.path.join(folder, "variables", f"{name}.npz"), **arrays)
                manifest["variable_collections"][name] = {
                    "file": f"variables/{name}.npz", "variables": described}
            with open(os.path.join(folder, _files.MANIFEST), "w", encoding="utf-8") as file:
                json.dump(manifest, file, indent=2)

        _files.write_folder(filepath, write)
        if verbose:
            print(self._describe(filepath, exported))

    def _export(self, endpoint):
        serve = endpoint.serving_function()
        try:
            exported = jax.export.export(jax.jit(serve), platforms=self._platforms)(
                *endpoint.arguments)
        except Exception as error:  # noqa: BLE001 (annotated and re-raised unchanged)
            error.add_note(_trace_note(f"endpoint '{endpoint.name}'", endpoint.signature,
                                       error))
            raise
        out_shapes = [{"shape": signatures.describe_shape(a.shape), "dtype": str(a.dtype)}
                      for a in exported.out_avals]
        return endpoint, exported.serialize(), out_shapes, exported.platforms

    def _describe(self, filepath, exported):
        lines = [f"Saved artifact at '{filepath}'. The following endpoints are available:"]
        for name, (endpoint, _, out_shapes, _) in exported.items():
            lines += ["", f"* Endpoint '{name}'"]
            for index, argument in enumerate(endpoint.signature):
                lines.append(f"  args_{index}: {argument}")
            lines.append("Output Type:")
            lines += [f"  shape=({', '.join(str(d) for d in o['shape'])}), dtype={o['dtype']}"
                      for o in out_shapes]
        return "\n".join(lines)


def _collection_arrays(variables):
    arrays, described, taken = {}, [], set()
    for variable, value in zip(variables, current_values(variables)):
        key, count = variable.path, 1
        while key in taken:
            count += 1
            key = f"{variable.path}#{count}"
        taken.add(key)
        value = np.asarray(value)
        described.append({"key": key, "shape": list(value.shape), "dtype": str(value.dtype),
                          "trainable": bool(variable.trainable)})
        if value.dtype.kind == "V" or str(value.dtype) == "bfloat16":
            value = value.astype(np.float32)  # NumPy files have no bfloat16; dtype kept above
        arrays[key] = value
    return arrays, described
