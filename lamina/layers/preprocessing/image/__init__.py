"""Image preprocessing and augmentation layers, one module per family.

`base` holds `BaseImagePreprocessingLayer`, which every layer here subclasses (its docstring
says how a subclass plugs in). Everything public is re-exported by `lamina.layers`.
"""

from lamina.layers.preprocessing.image.base import (
    BaseImagePreprocessingLayer as BaseImagePreprocessingLayer,
)
