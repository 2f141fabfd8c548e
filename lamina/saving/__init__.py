"""`keras.saving`: the custom-object registry, Keras 3 configs, and `.keras` files.

`register_keras_serializable` and `custom_object_scope` tell loading code what a saved name
means; `serialize_keras_object` / `deserialize_keras_object` convert objects to and from the
dicts that Keras 3 writes in `config.json`, so configs move between lamina and Keras. The
registry (`lamina._registry`) and the config conversion (`lamina._serialization`) live at the
bottom of the library, because every layer, loss, metric and optimizer uses them in its
`get_config`/`from_config`; this package re-exports them next to the archive and weights-file
code, which sits above the objects it saves. tf.keras 2's legacy `.h5` files (whole models and
weights) load and save through the same functions (`legacy_h5.py`, `legacy_config.py`).

Loading a file is loading a stranger's input, so what a config may name is an allow list:

* built-in classes made to be saved (with `get_config`/`from_config`) from the modeling
  namespaces (`keras.layers`, `keras.losses`, `keras.metrics`, `keras.optimizers`, the
  building blocks, `keras.models`, ...), and built-in functions only from the namespaces of a
  model's math (`keras.activations`, `keras.losses`, `keras.metrics`, `keras.ops`,
  `keras.random`);
* objects the user registered (`register_keras_serializable`) or passes in `custom_objects`.

Nothing else resolves, in safe mode or not: no function that touches files, the network,
processes or loading settings, no private name, and no module named in the file is ever
imported. Safe mode decides one more thing, whether Python bytecode stored in the file
(lambdas) may load: an explicit `safe_mode=True` always refuses it, `safe_mode=False` allows
it, and the default follows an enclosing load, then
`keras.config.enable_unsafe_deserialization()`.
"""

from lamina._registry import CustomObjectScope as CustomObjectScope
from lamina._registry import custom_object_scope as custom_object_scope
from lamina._registry import get_custom_objects as get_custom_objects
from lamina._registry import get_registered_name as get_registered_name
from lamina._registry import get_registered_object as get_registered_object
from lamina._registry import register_keras_serializable as register_keras_serializable
from lamina._serialization import allow_lambda_code as allow_lambda_code
from lamina._serialization import deserialize_keras_object as deserialize_keras_object
from lamina._serialization import serialize_keras_object as serialize_keras_object
from lamina.saving.file_editor import KerasFileEditor as KerasFileEditor
from lamina.saving.saving_api import load_model as load_model
from lamina.saving.saving_api import load_weights as load_weights
from lamina.saving.saving_api import save_model as save_model
from lamina.saving.saving_api import save_weights as save_weights

__all__ = [
    "CustomObjectScope", "KerasFileEditor", "allow_lambda_code", "custom_object_scope",
    "deserialize_keras_object", "get_custom_objects", "get_registered_name",
    "get_registered_object", "load_model", "load_weights", "register_keras_serializable",
    "save_model", "save_weights", "serialize_keras_object",
]
