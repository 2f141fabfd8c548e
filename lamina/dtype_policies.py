"""`keras.dtype_policies`: which dtype a layer computes in and which its variables are stored in.

`"float32"` computes and stores in float32; `"mixed_float16"` / `"mixed_bfloat16"` store
variables in float32 and compute in the half type (Keras's mixed precision).
"""

from lamina._runtime import config
from lamina._runtime.dtypes import ALLOWED_DTYPES as _ALLOWED_DTYPES
from lamina._runtime.dtypes import short_repr as _short_repr
from lamina._runtime.dtypes import standardize_dtype

_MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")
_global_policy = None


class DTypePolicy:
    """A layer's dtype policy.

    Examples:
        >>> p = DTypePolicy("mixed_float16")
        >>> p.compute_dtype, p.variable_dtype
        ('float16', 'float32')
    """

    def __init__(self, name=None):
        if name is None:
            name = config.floatx()
        if not isinstance(name, str):
            raise TypeError(
                f"A DTypePolicy name must be a string such as 'float32' or 'mixed_float16'. "
                f"Received: name={_short_repr(name)}")
        if name in _MIXED_POLICIES:
            self._compute_dtype, self._variable_dtype = name[len("mixed_"):], "float32"
        else:
            try:
                self._compute_dtype = self._variable_dtype = standardize_dtype(name)
            except ValueError:
                # Names come from layer configs ("dtype": {"class_name": "DTypePolicy", ...}),
                # so the message lists every accepted one, mixed policies included.
                raise ValueError(
                    f"Invalid dtype policy name: {_short_repr(name)}. Expected "
                    f"{' or '.join(map(repr, _MIXED_POLICIES))}, or a dtype name: "
                    f"{', '.join(_ALLOWED_DTYPES)}. If it comes from a layer's 'dtype' in a "
                    "config, correct it there.") from None
        self._name = name

    @property
    def name(self):
        return self._name

    @property
    def compute_dtype(self):
        return self._compute_dtype

    @property
    def variable_dtype(self):
        return self._variable_dtype

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other._name == self._name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'


def get(identifier):
    """A DTypePolicy from None (the global policy), a name, a config dict or a policy.

    Examples:
        >>> lamina.dtype_policies.get("mixed_bfloat16").compute_dtype
        'bfloat16'
        >>> lamina.dtype_policies.get(None).name   # the global policy
        'float32'
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        config = identifier.get("config", {}) if "class_name" in identifier else identifier
        if (identifier.get("class_name", "DTypePolicy") == "DTypePolicy"
                and isinstance(config, dict) and set(config) <= {"name"}
                and ("class_name" in identifier or "name" in config)):
            return DTypePolicy(config.get("name"))
        raise ValueError(
            f"Cannot read a dtype policy from {_short_repr(identifier)}: expected a serialized "
            "DTypePolicy ({'class_name': 'DTypePolicy', 'config': {'name': 'float32'}}) or "
            "{'name': 'float32'}.")
    if hasattr(identifier, "as_numpy_dtype") or not isinstance(identifier, str):
        identifier = standardize_dtype(identifier)
    return DTypePolicy(identifier)


def serialize(policy):
    """Keras 3's serialized form of a policy, as found in layer configs.

    Examples:
        >>> lamina.dtype_policies.serialize(lamina.dtype_policies.DTypePolicy("float32"))["config"]
        {'name': 'float32'}
    """
    return {"module": "keras", "class_name": "DTypePolicy",
            "config": policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """The policy a layer config names (the inverse of `serialize`); also takes a name.

    Examples:
        >>> policy = lamina.dtype_policies.DTypePolicy("mixed_float16")
        >>> config = lamina.dtype_policies.serialize(policy)
        >>> lamina.dtype_policies.deserialize(config) == policy
        True
    """
    return get(config)


def dtype_policy():
    """The global policy (`float32`, or what `set_dtype_policy` chose).

    Examples:
        >>> lamina.dtype_policies.dtype_policy()
        <DTypePolicy "float32">
    """
    return _global_policy or DTypePolicy(config.floatx())


def set_dtype_policy(policy):
    """Sets the global policy, e.g. `set_dtype_policy("mixed_float16")`.

    Examples:
        >>> lamina.dtype_policies.set_dtype_policy("mixed_float16")
        >>> layer = lamina.layers.Dense(2)
        >>> layer.build((None, 3))
        >>> layer.compute_dtype, layer.kernel.dtype   # compute in half, store in float32
        ('float16', 'float32')
        >>> lamina.dtype_policies.set_dtype_policy(None)  # back to floatx()
    """
    global _global_policy
    _global_policy = None if policy is None else get(policy)
