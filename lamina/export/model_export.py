"""`Model.export`: the formats lamina writes, and why it refuses the others Keras offers."""

from lamina.export import signatures
from lamina.export.archive import DEFAULT_ENDPOINT_NAME, ExportArchive
from lamina.export.onnx import export_onnx

FORMATS = ("stablehlo", "onnx")

_ALTERNATIVES = (
    "lamina writes format='stablehlo' (JAX's serialized StableHLO: a folder with "
    "serve.jax_exported, which any JAX program loads with jax.export.deserialize and calls, "
    "on CPU, GPU or TPU) and format='onnx' (an ONNX file for ONNX Runtime, TensorRT or "
    "OpenVINO)")
_KERAS_ROUTE = (
    "To get this format anyway, save the model with model.save('model.keras') (Keras 3's "
    "format) and export it from Keras 3 on the backend it needs.")
_NOT_OFFERED = {
    "tf_saved_model": (
        "a TensorFlow SavedModel, which Keras makes by converting the model to TensorFlow "
        "(jax2tf on its JAX backend); lamina runs on JAX without TensorFlow"),
    "litert": (
        "a LiteRT (TFLite) file, which Keras makes only on its TensorFlow and PyTorch "
        "backends, with their converters; lamina runs on JAX"),
    "openvino": (
        "an OpenVINO model, which Keras makes through TensorFlow or its OpenVINO backend; "
        "OpenVINO reads ONNX files directly (openvino.convert_model('model.onnx')), so use "
        "format='onnx'"),
    "torch": (
        "a PyTorch ExportedProgram, which Keras makes only on its PyTorch backend; lamina "
        "runs on JAX"),
}


def export_model(model, filepath, format="tf_saved_model", verbose=None, input_signature=None,
                 **kwargs):
    """Exports `model`'s inference pass (`model(x, training=False)`) to `filepath`.

    See `Model.export`. Raises ValueError for a format lamina does not write, saying why and
    what to use instead.
    """
    if format in _NOT_OFFERED:
        raise ValueError(
            f"model.export(format={format!r}) would write {_NOT_OFFERED[format]}. "
            f"{_ALTERNATIVES}. {_KERAS_ROUTE}")
    if format not in FORMATS:
        raise ValueError(
            f"Unrecognized format={format!r}. Supported formats are: {list(FORMATS)} "
            f"(Keras's {sorted(_NOT_OFFERED)} are not offered; see docs/exporting.md).")
    if format == "onnx":
        export_onnx(model, filepath, verbose=verbose, input_signature=input_signature,
                    **kwargs)
        return
    platforms = kwargs.pop("platforms", None)
    if kwargs:
        raise TypeError(
            f"export(format='stablehlo') got unexpected keyword arguments {sorted(kwargs)}; "
            "it takes platforms (e.g. ('cpu', 'cuda')).")
    if input_signature is None:
        input_signature = signatures.model_input_signature(model)
    archive = ExportArchive(platforms=platforms)
    archive.track_and_add_endpoint(DEFAULT_ENDPOINT_NAME, model, input_signature)
    archive.write_out(filepath, verbose=True if verbose is None else verbose)
