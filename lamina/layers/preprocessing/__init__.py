"""Preprocessing and augmentation layers, one module per family.

`numeric` holds Normalization and Rescaling; the text, categorical, image, audio and
structured-data families live beside it. Everything public is re-exported by `lamina.layers`.
"""

from lamina.layers.preprocessing.numeric import Normalization as Normalization
from lamina.layers.preprocessing.numeric import Rescaling as Rescaling
