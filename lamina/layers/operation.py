"""`keras.Operation`: the base of anything callable on tensors and on symbolic tensors.

In Keras 3, `Operation` is the base class of `Layer` and of every op. In lamina, `Layer` is the
base of everything that takes part in a functional graph, so `Operation` is a weightless
`Layer` with Keras's `Operation` conventions (a `name`, `call`, `compute_output_spec`, no
autocasting of inputs), and `isinstance(layer, keras.Operation)` holds for every layer, as in
Keras.
"""

import inspect

from lamina._registry import keras_export
from lamina.layers.layer import Layer


class _OperationType(type):
    """Makes every Layer an instance (and every Layer class a subclass) of `Operation`,
    which is what Keras code checking `isinstance(x, keras.Operation)` expects."""

    def __instancecheck__(cls, instance):
        if cls is Operation:
            return isinstance(instance, Layer)
        return super().__instancecheck__(instance)

    def __subclasscheck__(cls, subclass):
        if cls is Operation:
            return isinstance(subclass, type) and issubclass(subclass, Layer)
        return super().__subclasscheck__(subclass)


@keras_export("keras.Operation")
class Operation(Layer, metaclass=_OperationType):
    """A stateless computation usable on arrays and, in the functional API, on symbolic
    tensors: subclass it, define `call` (and, optionally, `compute_output_spec`, which lamina
    otherwise finds by tracing `call`).

    Inputs reach `call` as given (no cast to a compute dtype). Calling an operation on a
    `keras.Input` records it in the graph like a layer, so it can be part of a functional
    model and is saved with it (register the class with `register_keras_serializable`).

    Args:
        name: the operation's name (unique by default, from the class name).

    Examples:
        >>> class Double(lamina.Operation):
        ...     def call(self, x):
        ...         return x * 2
        >>> Double()(jnp.ones(2))
        Array([2., 2.], dtype=float32)
        >>> inputs = lamina.Input((3,))
        >>> Double()(inputs).shape
        (None, 3)
        >>> isinstance(lamina.layers.Dense(1), lamina.Operation)
        True
    """

    _mask_plumbing = False  # operations take their arguments as given (Keras's Operation)

    def __init__(self, name=None, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(name=name, **kwargs)
        self.built = True  # no weights to build

    def get_config(self):
        """Keras's `Operation` config: the name, and the constructor arguments when they are
        plain values and the subclass does not define `get_config` itself."""
        config = {"name": self.name}
        if self._init_arguments is None or _overrides_get_config(type(self)):
            return config
        parameters = inspect.signature(type(self).__init__).parameters
        if "name" not in parameters and not any(
                p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
            config.pop("name")  # the constructor could not take it back
        return {**config, **self._init_arguments}

    def symbolic_call(self, *args, **kwargs):
        """Records a call on symbolic tensors in the graph and returns its symbolic outputs
        (Keras's name for what `__call__` does with `keras.Input`s)."""
        return self._symbolic_call(args, kwargs)


def is_operation(obj):
    """Whether `obj` is an operation of a graph rather than a layer: an instance of a class
    derived from `Operation` (a `keras.ops` node, a user Operation). Every layer passes
    `isinstance(obj, Operation)`; this tells the two apart, as Keras's `model.layers` does."""
    return any(klass is Operation for klass in type(obj).__mro__)


def _overrides_get_config(cls):
    for klass in cls.__mro__:
        if klass is Operation:
            return False
        if "get_config" in klass.__dict__:
            return True
    return False
