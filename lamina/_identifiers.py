"""Lookup by identifier: what `get` and `deserialize` do in `keras.activations`,
`keras.initializers`, `keras.regularizers`, `keras.constraints`, `keras.losses` and
`keras.metrics`.

Each of those modules describes its kind of object once, as a `Lookup`, and its public `get`
and `deserialize` (which keep their own docstrings and examples) call it; so the rules, and
the error messages, are the same for every kind:

* `get(None)` gives the kind's default (None; `linear` for activations);
* a name is a built-in (`objects`) or a custom object (custom object scopes, registered
  names), else an error lists the closest valid names;
* a dict is a config, read by `deserialize`;
* a class is instantiated with its defaults; anything callable is returned as it is.
"""

import inspect

from lamina import _serialization as serialization
from lamina._runtime.naming import to_snake_case


def by_name(classes, **aliases):
    """The built-ins table Keras 3 builds for a module of classes: each class under its name
    and its snake case (`"MaxNorm"`, `"max_norm"`), then the `aliases`."""
    table = {cls.__name__: cls for cls in classes}
    table.update({to_snake_case(cls.__name__): cls for cls in classes})
    table.update(aliases)
    return table


class Lookup:
    """The `get` and `deserialize` of one kind of object.

    Args:
        kind: the kind, singular (`"constraint"`), as error messages name it.
        objects: the built-ins by name (the module's `ALL_OBJECTS_DICT`).
        expected: what `get` accepts, for its error message ("a name such as 'non_neg', a
            config dict, ...").
        default: what `get(None)` returns.
        convert: called by `get` on an identifier that is neither None, a name nor a config;
            returns the object it stands for (initializers turn an array into an initializer).
        instantiate: whether `deserialize` instantiates a class it resolves a name to. Losses
            and activations return the class, as Keras does; `get` instantiates it either way.
        saved_objects: the names `deserialize` also resolves, beyond `objects` (metrics read
            back the functions a `MeanMetricWrapper` saves by name, which `get` does not take).
    """

    def __init__(self, kind, objects, expected, *, default=None, convert=None,
                 instantiate=True, saved_objects=None):
        self.kind = kind
        self.objects = objects
        self.expected = expected
        self.default = default
        self.convert = convert
        self.instantiate = instantiate
        self.saved_objects = {**(saved_objects or {}), **objects}

    def deserialize(self, config, custom_objects=None):
        found = serialization.deserialize_keras_object(
            config, custom_objects=custom_objects, module_objects=self.saved_objects,
            printable_module_name=self.kind)
        return found() if self.instantiate and inspect.isclass(found) else found

    def get(self, identifier):
        if identifier is None:
            return self.default
        if isinstance(identifier, str):
            found = serialization.resolve_name(identifier, self.objects, self.kind)
        elif isinstance(identifier, dict):
            found = self.deserialize(identifier)
        elif self.convert is not None:
            found = self.convert(identifier)
        else:
            found = identifier
        if inspect.isclass(found):
            found = found()
        if callable(found):
            return found
        raise ValueError(
            f"Could not interpret the {self.kind} identifier {identifier!r} of type "
            f"{type(identifier).__name__}: expected {self.expected}.")
