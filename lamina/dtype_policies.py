"""`keras.dtype_policies`: which dtype a layer computes in and which its variables are stored in.

`"float32"` computes and stores in float32; `"mixed_float16"` / `"mixed_bfloat16"` store
variables in float32 and compute in the half type (Keras's mixed precision): a layer casts its
floating inputs to the compute dtype, and inside its `call` its float weights read as the compute
dtype (`lamina._runtime.variable.AutocastScope`), so gradients still reach float32 weights.

A `DTypePolicyMap` gives the layers of a block their own policies by path. The global policy
(`set_dtype_policy`) is what layers created without `dtype=` take.

The quantized policies (`"int8_from_float32"`, `"int4/128_from_float32"`,
`"float8_from_mixed_bfloat16"`, ...) are what `layer.quantize(mode)` gives a layer: the mode,
and the float policy it computes in (Keras 3's classes and names, so they move in files).
"""

import re
from collections.abc import MutableMapping

import jax.numpy as jnp
import numpy as np

from lamina._registry import keras_export as _keras_export
from lamina._runtime import config
from lamina._runtime.dtypes import ALLOWED_DTYPES as _ALLOWED_DTYPES
from lamina._runtime.dtypes import short_repr as _short_repr
from lamina._runtime.dtypes import standardize_dtype as _standardize_dtype
from lamina._runtime.session import on_clear_session as _on_clear_session

_MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")
# The quantization modes of Keras's quantized policies ("int8_from_float32", ...).
QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")
_QUANTIZATION_MODES = QUANTIZATION_MODES
_global_policy = None


def _quantized_refusal(name, what):
    return ValueError(
        f"{what}: {_short_repr(name)} names a quantized dtype policy, which DTypePolicy does "
        "not take. Use keras.dtype_policies.get(name) (a QuantizedDTypePolicy), or a float "
        "policy such as 'float32' or 'mixed_bfloat16'.")


@_keras_export("keras.DTypePolicy", "keras.dtype_policies.DTypePolicy",
              "keras.mixed_precision.DTypePolicy", "keras.mixed_precision.Policy")
class DTypePolicy:
    """A layer's dtype policy: the dtype it computes in and the dtype of its variables.

    Args:
        name: `"float32"` (or any float dtype name: both dtypes are that one),
            `"mixed_float16"` or `"mixed_bfloat16"` (variables float32, computation in the half
            type). None takes the global policy's name (`keras.config.dtype_policy()`).

    Pass a policy or its name as a layer's `dtype=`; `set_dtype_policy` sets the default.

    Examples:
        >>> p = DTypePolicy("mixed_float16")
        >>> p.compute_dtype, p.variable_dtype
        ('float16', 'float32')
        >>> layer = lamina.layers.Dense(2, dtype="mixed_bfloat16")
        >>> layer(np.ones((1, 3))).dtype, layer.kernel.dtype
        (dtype(bfloat16), 'float32')
    """

    def __init__(self, name=None):
        if name is None:
            name = _default_name()
        if not isinstance(name, str):
            raise TypeError(
                f"A DTypePolicy name must be a string such as 'float32' or 'mixed_float16'. "
                f"Received: name={_short_repr(name)} (of type {type(name).__name__})")
        self._compute_dtype, self._variable_dtype = self._parse_name(name)
        self._name = name

    @staticmethod
    def _parse_name(name):
        if name in _MIXED_POLICIES:
            return name[len("mixed_"):], "float32"
        if name.startswith(_QUANTIZATION_MODES) and "_from_" in name:
            raise _quantized_refusal(name, "Invalid dtype policy name")
        try:
            dtype = _standardize_dtype(name)
        except ValueError:
            # Names come from layer configs ("dtype": {"class_name": "DTypePolicy", ...}),
            # so the message lists every accepted one, mixed policies included.
            raise ValueError(
                f"Invalid dtype policy name: {_short_repr(name)}. Expected "
                f"{' or '.join(map(repr, _MIXED_POLICIES))}, or a dtype name: "
                f"{', '.join(_ALLOWED_DTYPES)}. If it comes from a layer's 'dtype' in a "
                "config, correct it there.") from None
        return dtype, dtype

    @property
    def name(self):
        """The policy's name: `"float32"`, `"mixed_bfloat16"`, ..."""
        return self._name

    @property
    def compute_dtype(self):
        """The dtype layers compute in and return (`"bfloat16"` for `"mixed_bfloat16"`)."""
        return self._compute_dtype

    @property
    def variable_dtype(self):
        """The dtype layers create their weights in (`"float32"` for the mixed policies)."""
        return self._variable_dtype

    @property
    def quantization_mode(self):
        """The quantization mode (`"int8"`, `"int4"`, `"float8"`, ...), None for float policies."""
        return None

    def convert_input(self, x, autocast, dtype):
        """`x` as an array, cast to `dtype` if `autocast` and it is floating (ints untouched).

        Examples:
            >>> DTypePolicy("mixed_bfloat16").convert_input(np.ones(2), True, "bfloat16").dtype
            dtype(bfloat16)
            >>> DTypePolicy("mixed_bfloat16").convert_input(np.arange(2), True, "bfloat16").dtype
            dtype('int32')
        """
        dtype = _standardize_dtype(dtype)
        if not hasattr(x, "dtype") and not hasattr(x, "__array__"):
            return x
        if not hasattr(x, "shape") or isinstance(x, (np.ndarray, np.generic)):
            x = jnp.asarray(x)
        if autocast and str(x.dtype).startswith(("float", "bfloat")) and str(x.dtype) != dtype:
            x = x.astype(dtype)
        return x

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        # A FloatDTypePolicy is a DTypePolicy by another name (Keras 3.0-3.3 wrote it).
        if type(self) in (DTypePolicy, FloatDTypePolicy):
            if type(other) not in (DTypePolicy, FloatDTypePolicy):
                return False
        elif type(other) is not type(self):
            return False
        return self._name == other._name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self):
        name = type(self).__name__
        return f'<{"DTypePolicy" if name == "FloatDTypePolicy" else name} "{self._name}">'


@_keras_export("keras.FloatDTypePolicy", "keras.dtype_policies.FloatDTypePolicy")
class FloatDTypePolicy(DTypePolicy):
    """The name Keras 3.0 to 3.3 gave `DTypePolicy` (their files say `"FloatDTypePolicy"`).

    Examples:
        >>> FloatDTypePolicy("mixed_float16") == DTypePolicy("mixed_float16")
        True
    """


@_keras_export("keras.dtype_policies.QuantizedDTypePolicy")
class QuantizedDTypePolicy(DTypePolicy):
    """The policy of a quantized layer: a quantization `mode` on top of a float policy.

    Its name is `"<mode>_from_<source_name>"` (`"int8_from_float32"`); it computes in the
    source policy's compute dtype. `layer.quantize(mode)` sets it; a layer built with it
    (from a config) creates quantized weights.

    Args:
        mode: one of `"int8"`, `"float8"`, `"int4"`, `"gptq"`, `"awq"`.
        source_name: the float policy's name (None: the global policy's).

    Examples:
        >>> policy = lamina.dtype_policies.get("int8_from_mixed_bfloat16")
        >>> policy.quantization_mode, policy.compute_dtype, policy.variable_dtype
        ('int8', 'bfloat16', 'float32')
    """

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = _default_name()
        self._compute_dtype, self._variable_dtype = self._parse_name(source_name)
        if mode not in QUANTIZATION_MODES:
            raise ValueError(
                f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                f"Received: mode={_short_repr(mode)}")
        if mode == "int8" and self._compute_dtype == "float16":
            raise ValueError(
                "Quantization mode='int8' does not work well with compute_dtype='float16' "
                f"(source_name={source_name!r}): use 'mixed_bfloat16' or 'float32'.")
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    @property
    def quantization_mode(self):
        return self._quantization_mode

    def get_config(self):
        return {"mode": self._quantization_mode, "source_name": self._source_name}


@_keras_export("keras.dtype_policies.QuantizedFloat8DTypePolicy")
class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The policy of a float8-quantized layer: `"float8_from_<source>"`, with the length of
    the amax history its delayed scaling keeps.

    Examples:
        >>> policy = lamina.dtype_policies.QuantizedFloat8DTypePolicy(
        ...     "float8", "float32", amax_history_length=16)
        >>> policy.name, policy.amax_history_length
        ('float8_from_float32', 16)
    """

    default_amax_history_length = 1024

    def __init__(self, mode, source_name=None, amax_history_length=1024):
        super().__init__(mode, source_name)
        if not isinstance(amax_history_length, int) or isinstance(amax_history_length, bool) \
                or amax_history_length <= 0:
            raise TypeError(
                "QuantizedFloat8DTypePolicy: amax_history_length must be a positive integer. "
                f"Received: amax_history_length={_short_repr(amax_history_length)}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self):
        """How many steps of largest magnitudes the float8 scaling factors are taken over."""
        return self._amax_history_length

    def __eq__(self, other):
        return super().__eq__(other) and \
            self._amax_history_length == other._amax_history_length

    __hash__ = DTypePolicy.__hash__

    def get_config(self):
        return {**super().get_config(), "amax_history_length": self._amax_history_length}


def _parse_mode(cls, mode, fields, check):
    """`"int4/128"` -> (base mode, [128]); errors name the expected format."""
    expected = "'" + "/".join([cls.__name__[:-len("DTypePolicy")].lower()] +
                              [f"<{f}>" for f in fields]) + "'"
    parts = mode.split("/") if isinstance(mode, str) else []
    base = cls.__name__[:-len("DTypePolicy")].lower()
    if len(parts) != len(fields) + 1 or parts[0] != base:
        raise ValueError(f"Invalid mode for {cls.__name__}. Expected format {expected}, but "
                         f"got {_short_repr(mode)}.")
    try:
        values = [int(p) for p in parts[1:]]
    except ValueError:
        raise ValueError(f"Invalid mode for {cls.__name__}: {', '.join(fields)} must be "
                         f"integers. Expected format {expected}, but got {mode!r}.") from None
    check(dict(zip(fields, values)), mode)
    return base, values


def _check_group(name):
    def check(values, mode):
        if values[name] < -1 or values[name] == 0:
            raise ValueError(f"Invalid {name} in mode {mode!r}: expected -1 (per channel) or a "
                             f"positive integer, got {values[name]}.")
    return check


class _SizedQuantizedPolicy(QuantizedDTypePolicy):
    _fields = ()

    def __init__(self, mode, source_name=None):
        base, values = _parse_mode(type(self), mode, self._fields, self._check)
        super().__init__(base, source_name)
        for field, value in zip(self._fields, values):
            setattr(self, field, value)
        self._name = f"{mode}_from_{self._source_name}"

    @staticmethod
    def _check(values, mode):
        pass

    def get_config(self):
        mode = "/".join([self._quantization_mode] +
                        [str(getattr(self, f)) for f in self._fields])
        return {"mode": mode, "source_name": self._source_name}


@_keras_export("keras.dtype_policies.Int4DTypePolicy")
class Int4DTypePolicy(_SizedQuantizedPolicy):
    """The policy of an int4-quantized layer with its group size: `"int4/<block_size>"`
    (`-1`: one scale per output channel).

    Examples:
        >>> policy = lamina.dtype_policies.get("int4/128_from_float32")
        >>> type(policy).__name__, policy.quantization_mode, policy.block_size
        ('Int4DTypePolicy', 'int4', 128)
    """

    _fields = ("block_size",)
    _check = staticmethod(_check_group("block_size"))


@_keras_export("keras.dtype_policies.GPTQDTypePolicy")
class GPTQDTypePolicy(_SizedQuantizedPolicy):
    """The policy of a GPTQ-quantized layer: `"gptq/<weight_bits>/<group_size>"`. lamina
    reads and writes it; building a layer with it (GPTQ's weights) is not implemented.

    Examples:
        >>> policy = lamina.dtype_policies.GPTQDTypePolicy("gptq/4/128", "float32")
        >>> policy.name, policy.weight_bits, policy.group_size
        ('gptq/4/128_from_float32', 4, 128)
    """

    _fields = ("weight_bits", "group_size")

    @staticmethod
    def _check(values, mode):
        if values["weight_bits"] not in (2, 3, 4, 8):
            raise ValueError(f"Invalid weight_bits in mode {mode!r}: expected 2, 3, 4 or 8, "
                             f"got {values['weight_bits']}.")
        _check_group("group_size")(values, mode)


@_keras_export("keras.dtype_policies.AWQDTypePolicy")
class AWQDTypePolicy(_SizedQuantizedPolicy):
    """The policy of an AWQ-quantized layer: `"awq/4/<group_size>"`. lamina reads and
    writes it; building a layer with it (AWQ's weights) is not implemented.

    Examples:
        >>> lamina.dtype_policies.AWQDTypePolicy("awq/4/-1", "float32").group_size
        -1
    """

    _fields = ("weight_bits", "group_size")

    @staticmethod
    def _check(values, mode):
        if values["weight_bits"] != 4:
            raise ValueError(f"Invalid weight_bits in mode {mode!r}: AWQ quantizes to 4 bits, "
                             f"got {values['weight_bits']}.")
        _check_group("group_size")(values, mode)


def _quantized_policy_from_name(name):
    """`"int8_from_float32"` -> QuantizedDTypePolicy("int8", "float32"), and so on."""
    mode, separator, source = name.partition("_from_")
    if not separator or not source:
        raise ValueError(
            f"Cannot read the quantized dtype policy name {_short_repr(name)}: expected "
            "'<mode>_from_<source policy>', e.g. 'int8_from_float32' or "
            "'int4/128_from_mixed_bfloat16'.")
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source)
    if mode.startswith("int4") and "/" in mode:
        return Int4DTypePolicy(mode, source)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)


@_keras_export("keras.dtype_policies.DTypePolicyMap")
class DTypePolicyMap(DTypePolicy, MutableMapping):
    """A dict of layer paths (or regular expressions over them) to policies, used as a policy.

    A block passes one map as `dtype=` to itself and its sublayers; each sublayer looks up its
    own `path`: an exact key wins, else the one key whose pattern `re.fullmatch`es the path,
    else `default_policy`. It saves in layer configs (Keras 3's format).

    Args:
        default_policy: the policy for paths no key matches (a policy or a name); None takes
            the global policy at construction.
        policy_map: an initial dict of keys to policies.

    Examples:
        >>> policies = DTypePolicyMap(default_policy="mixed_bfloat16")
        >>> policies["block/head"] = "float32"
        >>> policies["block/.*_norm"] = "float32"
        >>> policies["block/head"].name, policies["block/layer_norm"].name
        ('float32', 'float32')
        >>> policies["block/dense"].name, policies.compute_dtype
        ('mixed_bfloat16', 'bfloat16')
    """

    def __init__(self, default_policy=None, policy_map=None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError(
                "DTypePolicyMap: `default_policy` cannot be a DTypePolicyMap. Pass a "
                f"DTypePolicy or a policy name. Received: default_policy={default_policy!r}")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(
                "DTypePolicyMap: if given, `policy_map` must be a dict of layer paths to "
                f"policies. Received: policy_map={_short_repr(policy_map)} (of type "
                f"{type(policy_map).__name__})")
        try:
            default = get(default_policy)
        except (TypeError, ValueError) as error:
            raise type(error)(f"DTypePolicyMap, argument `default_policy`: {error}") from None
        self._default_policy_arg = default_policy
        self._default_policy = default
        self._policy_map = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def name(self):
        return f"map_{self._default_policy.name}"

    @property
    def default_policy(self):
        """The policy of paths no key matches."""
        return self._default_policy

    @property
    def compute_dtype(self):
        return self._default_policy.compute_dtype

    @property
    def variable_dtype(self):
        return self._default_policy.variable_dtype

    def __getitem__(self, key):
        if not isinstance(key, str):
            raise TypeError(
                "DTypePolicyMap keys are layer paths (strings such as 'block/dense'). "
                f"Received: key={_short_repr(key)} (of type {type(key).__name__})")
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches several keys of the DTypePolicyMap: {matches}. Make "
                "each path match at most one key (an exact path, or one pattern).")
        if matches:
            return self._policy_map[matches[0]]
        return self._default_policy

    def __setitem__(self, key, policy):
        if not isinstance(key, str):
            raise TypeError(
                "DTypePolicyMap keys are layer paths (strings such as 'block/dense', or "
                f"regular expressions). Received: key={_short_repr(key)} (of type "
                f"{type(key).__name__})")
        if key in self._policy_map:
            raise ValueError(
                f"'{key}' is already in the DTypePolicyMap, with {self._policy_map[key]!r}. "
                f"Delete it first (del policy_map['{key}']) to replace it.")
        if isinstance(policy, DTypePolicyMap):
            raise ValueError(
                f"DTypePolicyMap['{key}']: a map cannot hold another DTypePolicyMap. Pass a "
                "DTypePolicy or a policy name.")
        try:
            policy = get(policy)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"DTypePolicyMap['{key}']: cannot interpret {_short_repr(policy)} (of type "
                f"{type(policy).__name__}) as a dtype policy: {error}") from None
        self._policy_map[key] = policy

    def __delitem__(self, key):
        return self._policy_map.pop(key)

    def __contains__(self, key):
        return key in self._policy_map

    def __len__(self):
        return len(self._policy_map)

    def __iter__(self):
        return iter(self._policy_map)

    def __eq__(self, other):
        return (type(other) is type(self) and self._default_policy == other._default_policy
                and self._policy_map == other._policy_map)

    __hash__ = None  # mutable

    def get_config(self):
        # Keras writes the entries with "name": null when default_policy is None (to defer
        # quantized ones to the loader's global policy), and clears the live policies' names
        # while doing so; lamina writes the real names and changes nothing. Both load in both.
        default = self._default_policy_arg
        return {"default_policy": serialize(default) if isinstance(default, DTypePolicy)
                else default,
                "policy_map": {key: serialize(policy)
                               for key, policy in self._policy_map.items()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        del custom_objects
        if not isinstance(config, dict) or not set(config) <= {"default_policy", "policy_map"}:
            raise ValueError(
                f"Cannot read a DTypePolicyMap from {_short_repr(config)}: expected "
                "{'default_policy': ..., 'policy_map': {path: policy config}}.")
        default = config.get("default_policy")
        if isinstance(default, dict):
            default = get(default)
        return cls(default_policy=default, policy_map=config.get("policy_map"))

    def __repr__(self):
        mapping = [(key, policy.name) for key, policy in self._policy_map.items()]
        return (f"<DTypePolicyMap default_policy={self._default_policy.name}, "
                f"mapping={mapping}>")


_CLASS_NAMES = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy,
                # tf.keras 2's mixed-precision class, as older files name it
                "Policy": DTypePolicy}
_QUANTIZED_CLASSES = {cls.__name__: cls for cls in (
    QuantizedDTypePolicy, QuantizedFloat8DTypePolicy, Int4DTypePolicy, GPTQDTypePolicy,
    AWQDTypePolicy)}


def _default_name():
    policy = dtype_policy()
    return policy.default_policy.name if isinstance(policy, DTypePolicyMap) else policy.name


def _from_dict(identifier):
    class_name = identifier.get("class_name", "DTypePolicy")
    config = identifier.get("config", {}) if "class_name" in identifier else identifier
    if class_name in _QUANTIZED_CLASSES and "class_name" in identifier:
        cls = _QUANTIZED_CLASSES[class_name]
        fields = {"mode", "source_name"} | (
            {"amax_history_length"} if cls is QuantizedFloat8DTypePolicy else set())
        if not isinstance(config, dict) or "mode" not in config or not set(config) <= fields:
            raise ValueError(
                f"Cannot read a {class_name} from {_short_repr(identifier)}: its config needs "
                f"'mode' and may have {sorted(fields - {'mode'})}.")
        return cls(**config)
    if class_name == "DTypePolicyMap" and "class_name" in identifier:
        return DTypePolicyMap.from_config(config)
    if (class_name in _CLASS_NAMES and isinstance(config, dict) and set(config) <= {"name"}
            and ("class_name" in identifier or "name" in config)):
        return _CLASS_NAMES[class_name](config.get("name"))
    raise ValueError(
        f"Cannot read a dtype policy from {_short_repr(identifier)}: expected a serialized "
        "DTypePolicy ({'class_name': 'DTypePolicy', 'config': {'name': 'float32'}}), a "
        "serialized DTypePolicyMap, or {'name': 'float32'}.")


@_keras_export("keras.dtype_policies.get")
def get(identifier):
    """A DTypePolicy from None (the global policy), a name, a config dict or a policy.

    Examples:
        >>> lamina.dtype_policies.get("mixed_bfloat16").compute_dtype
        'bfloat16'
        >>> lamina.dtype_policies.get(None).name   # the global policy
        'float32'
        >>> lamina.dtype_policies.get(
        ...     {"class_name": "FloatDTypePolicy", "config": {"name": "mixed_float16"}})
        <DTypePolicy "mixed_float16">
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return _from_dict(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(QUANTIZATION_MODES) and "_from_" in identifier:
            return _quantized_policy_from_name(identifier)
        return DTypePolicy(identifier)
    if hasattr(identifier, "as_numpy_dtype") or isinstance(identifier, (np.dtype, type)):
        return DTypePolicy(_standardize_dtype(identifier))  # np.float16, jnp.bfloat16, tf dtypes
    raise ValueError(
        "Cannot interpret `dtype` argument. Expected a string (a dtype or policy name such as "
        "'float32' or 'mixed_bfloat16'), a DTypePolicy or its config dict. Received: "
        f"dtype={_short_repr(identifier)} (of type {type(identifier).__name__})")


@_keras_export("keras.dtype_policies.serialize")
def serialize(dtype_policy):
    """Keras 3's serialized form of a policy, as found in layer configs.

    Examples:
        >>> lamina.dtype_policies.serialize(lamina.dtype_policies.DTypePolicy("float32"))["config"]
        {'name': 'float32'}
    """
    if dtype_policy is None:
        return None
    if not isinstance(dtype_policy, DTypePolicy):
        raise TypeError(
            "dtype_policies.serialize: `dtype_policy` must be a DTypePolicy (or None). "
            f"Received: dtype_policy={_short_repr(dtype_policy)} (of type "
            f"{type(dtype_policy).__name__})")
    module = "keras.dtype_policies" if isinstance(
        dtype_policy, (DTypePolicyMap, QuantizedDTypePolicy)) else "keras"
    return {"module": module, "class_name": type(dtype_policy).__name__,
            "config": dtype_policy.get_config(), "registered_name": None}


@_keras_export("keras.dtype_policies.deserialize")
def deserialize(config, custom_objects=None):
    """The policy a layer config names (the inverse of `serialize`); also takes a name.

    Examples:
        >>> policy = lamina.dtype_policies.DTypePolicy("mixed_float16")
        >>> config = lamina.dtype_policies.serialize(policy)
        >>> lamina.dtype_policies.deserialize(config) == policy
        True
    """
    del custom_objects
    return get(config)


@_keras_export("keras.config.dtype_policy", "keras.mixed_precision.dtype_policy",
              "keras.mixed_precision.global_policy")
def dtype_policy():
    """The global policy (`float32`, or what `set_dtype_policy` chose).

    Examples:
        >>> lamina.dtype_policies.dtype_policy()
        <DTypePolicy "float32">
    """
    return _global_policy or DTypePolicy(config.floatx())


@_keras_export("keras.config.set_dtype_policy", "keras.mixed_precision.set_dtype_policy",
              "keras.mixed_precision.set_global_policy")
def set_dtype_policy(policy):
    """Sets the global policy: the one layers (and models) created from now on without a
    `dtype=` take. None goes back to `keras.config.floatx()` (a lamina extension).

    Examples:
        >>> lamina.dtype_policies.set_dtype_policy("mixed_float16")
        >>> layer = lamina.layers.Dense(2)
        >>> layer.build((None, 3))
        >>> layer.compute_dtype, layer.kernel.dtype   # compute in half, store in float32
        ('float16', 'float32')
        >>> lamina.dtype_policies.set_dtype_policy(None)  # back to following floatx()
    """
    global _global_policy
    if policy is not None and not isinstance(policy, (str, DTypePolicy)):
        raise ValueError(
            "Invalid `policy` argument. Expected the name of a policy (such as "
            "'mixed_bfloat16') or a DTypePolicy instance. Received: "
            f"policy={_short_repr(policy)} (of type {type(policy).__name__})")
    _global_policy = None if policy is None else get(policy)


@_on_clear_session
def _reset_global_policy():
    """`keras.utils.clear_session()` forgets the global policy, as Keras's does."""
    global _global_policy
    _global_policy = None


__all__ = ["AWQDTypePolicy", "DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy",
           "GPTQDTypePolicy", "Int4DTypePolicy", "QuantizedDTypePolicy",
           "QuantizedFloat8DTypePolicy", "deserialize", "dtype_policy", "get", "serialize",
           "set_dtype_policy"]
