"""`keras.utils`: helpers that are not layers, models or ops."""

from lamina._runtime.rng import set_random_seed as set_random_seed
from lamina.utils.file_utils import get_file as get_file


def __getattr__(name):
    # Loaded on first use, so that `keras.utils.set_random_seed` does not import the trainer.
    if name == "PyDataset":
        from lamina.training.data import PyDataset

        globals()[name] = PyDataset
        return PyDataset
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"PyDataset"})
