"""Image preprocessing and augmentation layers, one module per family.

`base` holds `BaseImagePreprocessingLayer`, which every layer here subclasses (its docstring
says how a subclass plugs in); `bounding_boxes` the box utilities (`keras.utils.
bounding_boxes`); `sizing` Resizing, CenterCrop and RandomCrop; `geometric` the random affine
layers (flip, rotation, zoom, translation, shear); `warps` RandomPerspective and
RandomElasticTransform; `max_num_bounding_boxes` MaxNumBoundingBoxes. Everything public is
re-exported by `lamina.layers`.
"""

from lamina.layers.preprocessing.image.base import (
    BaseImagePreprocessingLayer as BaseImagePreprocessingLayer,
)
from lamina.layers.preprocessing.image.geometric import RandomFlip as RandomFlip
from lamina.layers.preprocessing.image.geometric import RandomRotation as RandomRotation
from lamina.layers.preprocessing.image.geometric import RandomShear as RandomShear
from lamina.layers.preprocessing.image.geometric import RandomTranslation as RandomTranslation
from lamina.layers.preprocessing.image.geometric import RandomZoom as RandomZoom
from lamina.layers.preprocessing.image.max_num_bounding_boxes import (
    MaxNumBoundingBoxes as MaxNumBoundingBoxes,
)
from lamina.layers.preprocessing.image.sizing import CenterCrop as CenterCrop
from lamina.layers.preprocessing.image.sizing import RandomCrop as RandomCrop
from lamina.layers.preprocessing.image.sizing import Resizing as Resizing
from lamina.layers.preprocessing.image.warps import (
    RandomElasticTransform as RandomElasticTransform,
)
from lamina.layers.preprocessing.image.warps import RandomPerspective as RandomPerspective
