"""`model.export(path, format="onnx")`: an ONNX file, through jax2onnx.

jax2onnx converts a JAX function's operations to ONNX directly (the route Keras 3 also takes
on its JAX backend), so the file runs in ONNX Runtime, TensorRT, OpenVINO and other ONNX
servers. The model's inference pass is traced once with named symbolic sizes for the `None`s
of the signature (`batch` for the first axis of every input), which the file keeps as
dynamic dimensions. jax2onnx is an optional dependency: `pip install "lamina[export]"`.
"""

import contextlib
import logging
import os

import jax
import numpy as np

from lamina.export import _files, signatures
from lamina.export.archive import trace_endpoint


@contextlib.contextmanager
def _quiet_plugin_import():
    # jax2onnx imports all of its plugins on first use and logs a traceback for each plugin
    # of a library it cannot load (dm-pix's, with some JAX releases); lamina needs none of
    # those, so only errors are shown while they load.
    logger = logging.getLogger("jax2onnx.plugins.plugin_system")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _jax2onnx():
    try:
        import jax2onnx
    except ImportError as error:
        raise ImportError(
            "model.export(format='onnx') converts the model with the jax2onnx package, which "
            "is not installed. Install it with `pip install \"lamina[export]\"` (or "
            "`pip install jax2onnx`), or export JAX's StableHLO instead: "
            "format='stablehlo'.") from error
    return jax2onnx


def _unique(names):
    seen, result = {}, []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        result.append(name if count == 0 else f"{name}_{count}")
    return result


def _output_names(output_spec):
    leaves = jax.tree_util.tree_flatten_with_path(output_spec)[0]
    if isinstance(output_spec, dict) and all(len(path) == 1 for path, _ in leaves):
        return [str(path[0].key) for path, _ in leaves]
    return [f"output_{index}" for index in range(len(leaves))]


def export_onnx(model, filepath, verbose=None, input_signature=None, opset_version=None,
                **kwargs):
    """Writes `model`'s inference pass to the ONNX file `filepath`.

    Args:
        model: a built (or called) layer or model; an unbuilt one is built by tracing it on
            `input_signature`.
        filepath: the `.onnx` file to write (an existing file is replaced in one rename).
        verbose: print the path when done (default True, as in Keras).
        input_signature: the model's inputs (see `ExportArchive.add_endpoint`); by default
            the model's own, with the batch size free.
        opset_version: the ONNX opset (default: jax2onnx's, 23).
    """
    if kwargs:
        raise TypeError(
            f"export(format='onnx') got unexpected keyword arguments {sorted(kwargs)}; it "
            "takes opset_version.")
    name = getattr(model, "name", type(model).__name__)
    where = f"export(format='onnx') of model '{name}'"
    _files.check_file_target(os.fspath(filepath))
    if input_signature is None:
        signature = signatures.model_input_signature(model)
    else:
        signature = signatures.normalize(input_signature, where)
    jax2onnx = _jax2onnx()
    endpoint = trace_endpoint("serve", lambda *args: model(*args, training=False), signature,
                              where)
    serve = endpoint.serving_function()
    specs = signatures.flat_specs(signature)
    structure = jax.tree_util.tree_structure(signature,
                                             is_leaf=lambda v: isinstance(v, signatures.Spec))

    def flat_serve(*flat_args):
        outputs = serve(*jax.tree_util.tree_unflatten(structure, flat_args))
        return tuple(jax.tree_util.tree_leaves(outputs))

    inputs = [jax.ShapeDtypeStruct(dims, spec.dtype)
              for spec, dims in zip(specs, signatures.dimension_names(signature))]
    options = {"input_names": _unique([spec.name or f"input_{index}"
                                       for index, spec in enumerate(specs)]),
               "output_names": _output_names(endpoint.output_spec),
               "model_name": name, "return_mode": "proto",
               "enable_double_precision": any(np.dtype(s.dtype) == np.float64 for s in specs)}
    if opset_version is not None:
        options["opset"] = int(opset_version)
    try:
        with _quiet_plugin_import():
            proto = jax2onnx.to_onnx(flat_serve, inputs, **options)
    except Exception as error:  # noqa: BLE001 (annotated and re-raised unchanged)
        error.add_note(
            f"Raised by jax2onnx while converting {where}. If it names an operation it cannot "
            "convert, export JAX's StableHLO instead (format='stablehlo'), which keeps every "
            "JAX operation.")
        raise
    _files.write_file(filepath, proto.SerializeToString())
    if verbose is None or verbose:
        print(f"Saved artifact at '{filepath}'.")
