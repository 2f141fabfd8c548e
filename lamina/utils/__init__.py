"""`keras.utils`: helpers that are not layers, models or ops."""

from lamina._runtime.rng import set_random_seed as set_random_seed
from lamina.utils.file_utils import get_file as get_file
from lamina.utils.numerical_utils import to_categorical as to_categorical

# Names defined with the trainer's data handling, loaded on first use, so that
# `keras.utils.set_random_seed` does not import the trainer.
_FROM_TRAINING_DATA = ("PyDataset", "unpack_x_y_sample_weight")


def __getattr__(name):
    if name in _FROM_TRAINING_DATA:
        from lamina.training import data

        value = getattr(data, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_FROM_TRAINING_DATA))
