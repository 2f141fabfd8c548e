"""`keras.optimizers`: the `Optimizer` protocol, Keras 3's built-ins, lookup by name.

Examples:
    >>> optimizer = lamina.optimizers.get("nadam")          # as in compile(optimizer="nadam")
    >>> optimizer = lamina.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0)
    >>> w = lamina.Variable([1.0, 2.0])
    >>> _ = optimizer.apply_gradients([(jnp.array([0.1, 0.1]), w)])

    A custom optimizer subclasses `Optimizer` and implements `build(var_list)` and
    `update_step(gradient, variable, learning_rate)` (see `Optimizer`).
"""

import inspect

from lamina import _registry
from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina.optimizers import legacy as legacy
from lamina.optimizers import schedules as schedules
from lamina.optimizers.adam import Adam as Adam
from lamina.optimizers.adam import Adamax as Adamax
from lamina.optimizers.adam import AdamW as AdamW
from lamina.optimizers.adam import Lamb as Lamb
from lamina.optimizers.adam import Nadam as Nadam
from lamina.optimizers.adaptive import Adadelta as Adadelta
from lamina.optimizers.adaptive import Adafactor as Adafactor
from lamina.optimizers.adaptive import Adagrad as Adagrad
from lamina.optimizers.adaptive import RMSprop as RMSprop
from lamina.optimizers.ftrl import Ftrl as Ftrl
from lamina.optimizers.lion import Lion as Lion
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer as LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer as MultiOptimizer
from lamina.optimizers.multi_optimizer import OptimizerMap as OptimizerMap
from lamina.optimizers.muon import Muon as Muon
from lamina.optimizers.optimizer import Optimizer as Optimizer
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW as ScheduleFreeAdamW
from lamina.optimizers.sgd import SGD as SGD

__all__ = [
    "SGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lamb",
    "Lion", "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer",
    "OptimizerMap", "RMSprop", "ScheduleFreeAdamW", "deserialize", "get", "legacy", "schedules",
    "serialize",
]

_CLASSES = (Optimizer, SGD, Adam, AdamW, Adamax, Nadam, Lamb, RMSprop, Adagrad, Adadelta,
            Adafactor, Ftrl, Lion, Muon, ScheduleFreeAdamW, MultiOptimizer, OptimizerMap,
            LossScaleOptimizer)
# Keras looks built-ins up by lowercased class name, so "adam", "Adam" and "ADAM" all work.
# (Keras 3 leaves Lamb out of this table; lamina includes it.)
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in _CLASSES}


@keras_export("keras.optimizers.serialize")
def serialize(optimizer):
    """The Keras 3 config dict of an optimizer (its hyperparameters, not its state).

    Examples:
        >>> config = lamina.optimizers.serialize(lamina.optimizers.SGD(momentum=0.9))
        >>> config["class_name"], config["config"]["momentum"]
        ('SGD', 0.9)
    """
    return serialization.serialize_keras_object(optimizer)


@keras_export("keras.optimizers.deserialize")
def deserialize(config, custom_objects=None):
    """Rebuilds an optimizer from a config dict (the inverse of `serialize`).

    Built-in class names are matched case-insensitively, as in Keras.

    Examples:
        >>> lamina.optimizers.deserialize({"class_name": "adam", "config": {}})
        <Adam name=adam..., built=False>
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "keras.optimizers.deserialize expects a config dict with 'class_name' and "
            f"'config' keys. Received: {config!r}")
    class_name = config["class_name"]
    if isinstance(class_name, str) and class_name.lower() in ALL_OBJECTS_DICT:
        config = {**config, "class_name": class_name.lower()}
    return serialization.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT,
        printable_module_name="optimizer")


@keras_export("keras.optimizers.get")
def get(identifier):
    """Returns an optimizer from a name (`"adam"`), a config dict, or an optimizer instance.

    A name gives a new optimizer with its default arguments. None gives None.

    Examples:
        >>> lamina.optimizers.get("rmsprop")
        <RMSprop name=rm_sprop..., built=False>
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        found = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier.lower() not in ALL_OBJECTS_DICT and not _is_known_custom(identifier):
            raise serialization.unknown_name_error("optimizer", identifier, _NAMES)
        found = deserialize({"class_name": identifier, "config": {}})
    else:
        found = identifier
    if inspect.isclass(found) and issubclass(found, Optimizer):
        found = found()
    if isinstance(found, Optimizer):
        return found
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Expected an optimizer "
        "name such as 'adam', a config dict, or an Optimizer instance.")


def _is_known_custom(name):
    return _registry.get_registered_object(name) is not None


_NAMES = sorted({cls.__name__ for cls in _CLASSES if cls is not Optimizer}
                | {key for key in ALL_OBJECTS_DICT if key != "optimizer"})
