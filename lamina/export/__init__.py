"""`keras.export`: models and functions written out for serving without lamina.

`ExportArchive` writes endpoints as JAX's serialized StableHLO (`jax.export`), and
`Model.export(path, format=...)` writes `"stablehlo"` archives or `"onnx"` files. Keras's
TensorFlow-based formats are not offered; docs/exporting.md says why and what to use.
"""

from lamina.export.archive import ExportArchive as ExportArchive

__all__ = ["ExportArchive"]
