"""Preprocessing and augmentation layers, one module per family.

`numeric` holds Normalization and Rescaling; the text, categorical, image, audio and
structured-data families live beside it. Everything public is re-exported by `lamina.layers`.
"""

from lamina.layers.preprocessing.numeric import Normalization as Normalization
from lamina.layers.preprocessing.numeric import Rescaling as Rescaling
from lamina.layers.preprocessing.category_encoding import CategoryEncoding as CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization as Discretization
from lamina.layers.preprocessing.hashed_crossing import HashedCrossing as HashedCrossing
from lamina.layers.preprocessing.hashing import Hashing as Hashing
from lamina.layers.preprocessing.integer_lookup import IntegerLookup as IntegerLookup
from lamina.layers.preprocessing.string_lookup import StringLookup as StringLookup
from lamina.layers.preprocessing.text_vectorization import TextVectorization as TextVectorization
