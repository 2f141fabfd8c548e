"""`keras.utils.Config`: a dict of named settings read and written as attributes."""

import copy
import difflib
import json


class Config:
    """A dict of named values with attribute access, freezing and JSON export.

    Values are read and written as attributes (`config.seed`) or items (`config["seed"]`).
    `freeze()` makes any later change raise a `ValueError`, so a run's settings cannot change
    by accident after it starts; `unfreeze()` allows changes again. Iterating yields the keys
    in sorted order, as in Keras.

    Examples:
        >>> config = Config(learning_rate=0.1, momentum=0.9)
        >>> config.seed = 123
        >>> config["seed"], config.learning_rate
        (123, 0.1)
        >>> list(config), config.to_json()
        (['learning_rate', 'momentum', 'seed'], '{"learning_rate": 0.1, "momentum": 0.9, "seed": 123}')
        >>> config.freeze()
        >>> config.seed = 7
        Traceback (most recent call last):
        ValueError: Cannot mutate attribute(s) because the config is frozen. ...
    """

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        """Whether the config refuses changes (after `freeze()`)."""
        return self._frozen

    def freeze(self):
        """Refuses any later change until `unfreeze()`."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        """Allows changes again after `freeze()`."""
        object.__setattr__(self, "_frozen", False)

    def _raise_if_frozen(self):
        if self._frozen:
            raise ValueError(
                "Cannot mutate attribute(s) because the config is frozen. Call "
                "config.unfreeze() first, or make a new Config from config.as_dict().")

    def as_dict(self):
        """A shallow copy of the values as a plain dict."""
        return copy.copy(self._config)

    def to_json(self):
        """The values as a JSON string (each value must be JSON-serializable)."""
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def pop(self, *args):
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._raise_if_frozen()
        return self._config.update(*args, **kwargs)

    def get(self, keyname, value=None):
        return self._config.get(keyname, value)

    def __setattr__(self, name, value):
        if name.startswith("__") or hasattr(type(self), name):
            raise AttributeError(
                f"Cannot set attribute {name!r} of a Config: it is one of Config's own "
                f"members. Store the value as an item instead: config[{name!r}] = ...")
        self._raise_if_frozen()
        self._config[name] = value

    def __getattr__(self, name):
        # Only reached when normal lookup fails. `_config` is missing while copy or pickle
        # builds an instance without __init__: never look it up through itself.
        if name.startswith("__") or name in ("_config", "_frozen"):
            raise AttributeError(name)
        config = self._config
        if name in config:
            return config[name]
        message = f"Unknown attribute: '{name}'."
        matches = difflib.get_close_matches(name, config.keys(), n=1, cutoff=0.7)
        if matches:
            message += f" Did you mean '{matches[0]}'?"
        raise AttributeError(message)

    def __delattr__(self, name):
        self._raise_if_frozen()
        if name not in self._config:
            raise AttributeError(f"Unknown attribute: '{name}'.")
        del self._config[name]

    def __setitem__(self, key, item):
        self._raise_if_frozen()
        self._config[key] = item

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key):
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, item):
        return item in self._config

    def __iter__(self):
        return iter(sorted(self._config.keys()))

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"
