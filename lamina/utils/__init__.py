"""`keras.utils`: helpers that are not layers, models or ops.

A public facade: it re-exports helpers defined where they belong, and may sit above any of
them. `PyDataset` and `unpack_x_y_sample_weight` live in `lamina._data`, below the trainer
that consumes them; `plot_model` and `model_to_dot` load on first use, so importing this
namespace never imports the models or the trainer.
"""

import importlib as _importlib

from lamina._data import PyDataset as PyDataset
from lamina._data import PyDataset as Sequence
from lamina._data import unpack_x_y_sample_weight as unpack_x_y_sample_weight
from lamina._registry import CustomObjectScope as CustomObjectScope
from lamina._registry import custom_object_scope as custom_object_scope
from lamina._registry import get_custom_objects as get_custom_objects
from lamina._registry import get_registered_name as get_registered_name
from lamina._registry import get_registered_object as get_registered_object
from lamina._registry import register_keras_serializable as register_keras_serializable
from lamina._runtime.config import disable_interactive_logging as disable_interactive_logging
from lamina._runtime.config import enable_interactive_logging as enable_interactive_logging
from lamina._runtime.config import is_interactive_logging_enabled as is_interactive_logging_enabled
from lamina._runtime.dtypes import standardize_dtype as standardize_dtype
from lamina._runtime.rng import set_random_seed as set_random_seed
from lamina._runtime.session import clear_session as clear_session
from lamina._serialization import deserialize_keras_object as deserialize_keras_object
from lamina._serialization import serialize_keras_object as serialize_keras_object
from lamina.utils import bounding_boxes as bounding_boxes
from lamina.utils import legacy as legacy
from lamina.utils.config import Config as Config
from lamina.utils.dataset_utils import pack_x_y_sample_weight as pack_x_y_sample_weight
from lamina.utils.dataset_utils import split_dataset as split_dataset
from lamina.utils.feature_space import FeatureSpace as FeatureSpace
from lamina.utils.file_utils import get_file as get_file
from lamina.utils.audio_dataset import audio_dataset_from_directory as audio_dataset_from_directory
from lamina.utils.graph_utils import get_source_inputs as get_source_inputs
from lamina.utils.graph_utils import is_keras_tensor as is_keras_tensor
from lamina.utils.image_dataset import image_dataset_from_directory as image_dataset_from_directory
from lamina.utils.image_utils import array_to_img as array_to_img
from lamina.utils.image_utils import img_to_array as img_to_array
from lamina.utils.image_utils import load_img as load_img
from lamina.utils.image_utils import save_img as save_img
from lamina.utils.numerical_utils import normalize as normalize
from lamina.utils.numerical_utils import to_categorical as to_categorical
from lamina.utils.progbar import Progbar as Progbar
from lamina.utils.sequence_utils import pad_sequences as pad_sequences
from lamina.utils.text_dataset import text_dataset_from_directory as text_dataset_from_directory
from lamina.utils.timeseries_dataset import timeseries_dataset_from_array as timeseries_dataset_from_array

# Names whose module imports the models (and so the trainer): loaded on first use.
_LAZY_NAMES = {
    "model_to_dot": "lamina.utils.model_visualization",
    "plot_model": "lamina.utils.model_visualization",
}


def __getattr__(name):
    if name not in _LAZY_NAMES:
        raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_LAZY_NAMES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY_NAMES))
