"""`keras.utils`: helpers that are not layers, models or ops.

A public facade: it re-exports helpers defined where they belong, and may sit above any of
them. `PyDataset` and `unpack_x_y_sample_weight` live in `lamina._data`, below the trainer
that consumes them, so importing this namespace never imports the trainer.
"""

from lamina._data import PyDataset as PyDataset
from lamina._data import unpack_x_y_sample_weight as unpack_x_y_sample_weight
from lamina._runtime.rng import set_random_seed as set_random_seed
from lamina.utils.file_utils import get_file as get_file
from lamina.utils.numerical_utils import to_categorical as to_categorical
