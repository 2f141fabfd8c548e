"""Quantization configs: what `model.quantize(mode, config=...)` and a quantized layer's
`quantization_config` hold (Keras 3's classes, saved in Keras's format)."""

from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina._runtime.dtypes import short_repr as _short_repr
from lamina.dtype_policies import QUANTIZATION_MODES
from lamina.quantizers.quantizers import AbsMaxQuantizer

__all__ = ["AWQConfig", "Float8QuantizationConfig", "GPTQConfig", "Int4QuantizationConfig",
           "Int8QuantizationConfig", "QuantizationConfig", "validate_and_resolve_config"]


@keras_export("keras.quantizers.QuantizationConfig")
class QuantizationConfig:
    """The base of quantization configs: the quantizers for a layer's weights and inputs.

    A `None` quantizer means the layer's default for weights, and no quantization for
    inputs. Subclasses name their `mode`.

    Examples:
        >>> config = lamina.quantizers.Int8QuantizationConfig(activation_quantizer=None)
        >>> config.mode, config.activation_quantizer      # weight-only int8
        ('int8', None)
    """

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        for name, value in (("weight_quantizer", weight_quantizer),
                            ("activation_quantizer", activation_quantizer)):
            if value is not None and not callable(value):
                raise TypeError(
                    f"{type(self).__name__}: {name} must be a Quantizer or None. Received: "
                    f"{name}={_short_repr(value)} (of type {type(value).__name__})")
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self):
        raise NotImplementedError(
            "QuantizationConfig is a base class: use Int8QuantizationConfig, "
            "Int4QuantizationConfig, Float8QuantizationConfig, GPTQConfig or AWQConfig.")

    def get_config(self):
        return {"weight_quantizer": serialization.serialize_keras_object(self.weight_quantizer),
                "activation_quantizer": serialization.serialize_keras_object(
                    self.activation_quantizer)}

    @classmethod
    def from_config(cls, config):
        return cls(weight_quantizer=serialization.deserialize_keras_object(
                       config.get("weight_quantizer")),
                   activation_quantizer=serialization.deserialize_keras_object(
                       config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config, default):
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        return config.activation_quantizer if config is not None else default


@keras_export("keras.quantizers.Int8QuantizationConfig")
class Int8QuantizationConfig(QuantizationConfig):
    """int8 quantization: int8 weights with a per-output-channel scale, and (by default) inputs
    quantized per row at each call, so the product runs in int8 (`AbsMaxQuantizer`).

    Args:
        weight_quantizer: the kernel's quantizer (None: abs-max over the reduced axes).
        activation_quantizer: the inputs' quantizer; `"default"` is `AbsMaxQuantizer()`, None
            keeps the inputs in float (weight-only quantization).

    Examples:
        >>> lamina.quantizers.Int8QuantizationConfig().activation_quantizer.value_range
        (-127, 127)
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if weight_quantizer is not None and \
                getattr(weight_quantizer, "output_dtype", "int8") != "int8":
            raise ValueError(
                "Int8QuantizationConfig needs a weight_quantizer with output_dtype='int8'. "
                f"Received: output_dtype={weight_quantizer.output_dtype!r}")

    @property
    def mode(self):
        return "int8"


@keras_export("keras.quantizers.Int4QuantizationConfig")
class Int4QuantizationConfig(QuantizationConfig):
    """int4 quantization: weights packed two per byte; by default weight-only and in groups
    of `block_size` input rows, each group with its own scale and zero point per column.

    Args:
        weight_quantizer: for per-channel int4 only (`block_size=None` or -1): an
            `AbsMaxQuantizer` with `value_range=(-8, 7)`.
        activation_quantizer: the inputs' quantizer; `"default"` is None (weight-only).
        block_size: rows per group (128), or None / -1 for one symmetric scale per column.

    Examples:
        >>> config = lamina.quantizers.Int4QuantizationConfig(block_size=64)
        >>> config.mode, config.block_size, config.activation_quantizer
        ('int4', 64, None)
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if isinstance(activation_quantizer, str) and activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and (not isinstance(block_size, int) or isinstance(
                block_size, bool) or (block_size != -1 and block_size <= 0)):
            raise ValueError(
                "Int4QuantizationConfig: block_size must be None, -1 (one scale per output "
                f"channel) or a positive integer (rows per group). Received: "
                f"block_size={block_size!r}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (
                weight_quantizer is not None or activation_quantizer is not None):
            raise ValueError(
                "Int4QuantizationConfig: grouped int4 (block_size > 0) takes no custom "
                f"quantizers. Received: block_size={block_size} with a weight or activation "
                "quantizer. Pass block_size=None (per-channel) to use them, or drop them.")
        if weight_quantizer is not None:
            if tuple(getattr(weight_quantizer, "value_range", (-8, 7))) != (-8, 7):
                raise ValueError(
                    "Int4QuantizationConfig needs a weight_quantizer with value_range=(-8, 7). "
                    f"Received: value_range={weight_quantizer.value_range}")
            if getattr(weight_quantizer, "output_dtype", "int8") != "int8":
                raise ValueError(
                    "Int4QuantizationConfig needs a weight_quantizer with output_dtype='int8' "
                    f"(int4 values held in int8). Received: "
                    f"output_dtype={weight_quantizer.output_dtype!r}")

    @property
    def mode(self):
        return "int4"

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config):
        # Files written before block_size existed were per-channel.
        return cls(weight_quantizer=serialization.deserialize_keras_object(
                       config.get("weight_quantizer")),
                   activation_quantizer=serialization.deserialize_keras_object(
                       config.get("activation_quantizer")),
                   block_size=config.get("block_size"))


@keras_export("keras.quantizers.Float8QuantizationConfig")
class Float8QuantizationConfig(QuantizationConfig):
    """float8 training: inputs and kernel quantize-dequantized to float8_e4m3fn and output
    gradients to float8_e5m2, with scales from an amax history (delayed scaling). It takes
    no quantizers.

    Examples:
        >>> lamina.quantizers.Float8QuantizationConfig().mode
        'float8'
    """

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self):
        return "float8"

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls()


def _check_positive(owner, name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive integer. Received: "
                         f"{name}={value!r}")


def _check_group_size(owner, group_size):
    if not isinstance(group_size, int) or group_size < -1 or group_size == 0:
        raise ValueError(
            f"{owner}: group_size must be -1 (no grouping) or a positive integer. Received: "
            f"group_size={group_size!r}")


@keras_export("keras.quantizers.GPTQConfig")
class GPTQConfig(QuantizationConfig):
    """The settings of GPTQ post-training quantization (Keras's `GPTQConfig`).

    lamina reads, writes and validates this config (and `GPTQDTypePolicy`), but does not run
    GPTQ's calibration: `model.quantize("gptq", config=...)` raises NotImplementedError.

    Examples:
        >>> config = lamina.quantizers.GPTQConfig(dataset=None, tokenizer=None, weight_bits=4)
        >>> config.mode, config.dtype_policy_string()
        ('gptq', 'gptq/4/128')
    """

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128, per_channel=True,
                 sequence_length=512, hessian_damping=0.01, group_size=128, symmetric=False,
                 activation_order=False, quantization_layer_structure=None):
        super().__init__()
        if weight_bits not in (2, 3, 4, 8):
            raise ValueError(
                "GPTQConfig: weight_bits must be 2, 3, 4 or 8. Received: "
                f"weight_bits={weight_bits!r}")
        _check_positive("GPTQConfig", "num_samples", num_samples)
        _check_positive("GPTQConfig", "sequence_length", sequence_length)
        if not 0 <= hessian_damping <= 1:
            raise ValueError("GPTQConfig: hessian_damping must be between 0 and 1. Received: "
                             f"hessian_damping={hessian_damping!r}")
        _check_group_size("GPTQConfig", group_size)
        self.dataset, self.tokenizer = dataset, tokenizer
        self.weight_bits, self.num_samples, self.per_channel = weight_bits, num_samples, \
            per_channel
        self.sequence_length, self.hessian_damping = sequence_length, hessian_damping
        self.group_size, self.symmetric = group_size, symmetric
        self.activation_order = activation_order
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self):
        return "gptq"

    def dtype_policy_string(self):
        """The policy name prefix of layers this config quantizes: `"gptq/<bits>/<group>"`."""
        return f"gptq/{self.weight_bits}/{self.group_size}"

    def get_config(self):
        # The dataset and tokenizer are not saved (as in Keras).
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits,
                "num_samples": self.num_samples, "per_channel": self.per_channel,
                "sequence_length": self.sequence_length,
                "hessian_damping": self.hessian_damping, "group_size": self.group_size,
                "symmetric": self.symmetric, "activation_order": self.activation_order,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras_export("keras.quantizers.AWQConfig")
class AWQConfig(QuantizationConfig):
    """The settings of AWQ (activation-aware weight quantization), Keras's `AWQConfig`.

    lamina reads, writes and validates this config (and `AWQDTypePolicy`), but does not run
    AWQ's calibration: `model.quantize("awq", config=...)` raises NotImplementedError.

    Examples:
        >>> lamina.quantizers.AWQConfig(dataset=None, tokenizer=None).dtype_policy_string()
        'awq/4/128'
    """

    def __init__(self, dataset, tokenizer, *, weight_bits=4, num_samples=128,
                 sequence_length=512, group_size=128, num_grid_points=20,
                 quantization_layer_structure=None):
        super().__init__()
        if weight_bits != 4:
            raise ValueError(f"AWQConfig: AWQ quantizes to 4 bits only. Received: "
                             f"weight_bits={weight_bits!r}")
        _check_positive("AWQConfig", "num_samples", num_samples)
        _check_positive("AWQConfig", "sequence_length", sequence_length)
        _check_group_size("AWQConfig", group_size)
        _check_positive("AWQConfig", "num_grid_points", num_grid_points)
        self.dataset, self.tokenizer = dataset, tokenizer
        self.weight_bits, self.num_samples = weight_bits, num_samples
        self.sequence_length, self.group_size = sequence_length, group_size
        self.num_grid_points = num_grid_points
        self.quantization_layer_structure = quantization_layer_structure

    @property
    def mode(self):
        return "awq"

    def dtype_policy_string(self):
        """The policy name prefix of layers this config quantizes: `"awq/<bits>/<group>"`."""
        return f"awq/{self.weight_bits}/{self.group_size}"

    def get_config(self):
        return {"dataset": None, "tokenizer": None, "weight_bits": self.weight_bits,
                "num_samples": self.num_samples, "sequence_length": self.sequence_length,
                "group_size": self.group_size, "num_grid_points": self.num_grid_points,
                "quantization_layer_structure": self.quantization_layer_structure}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_DEFAULT_CONFIGS = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig,
                    "float8": Float8QuantizationConfig}


def _invalid_mode(mode):
    return ValueError(
        f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: "
        f"mode={_short_repr(mode)}")


def validate_and_resolve_config(mode, config):
    """The config `quantize(mode, config)` uses: the mode's default config when only a mode
    is given, the config (checked against `mode`) otherwise."""
    if isinstance(config, str):
        mode, config = config, None
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise _invalid_mode(mode)
    if config is None:
        if mode in ("gptq", "awq"):
            raise ValueError(
                f"quantize('{mode}') needs its calibration settings: pass "
                f"config={'GPTQConfig' if mode == 'gptq' else 'AWQConfig'}(...).")
        if mode is None:
            raise ValueError(
                "quantize() needs a mode (one of "
                f"{QUANTIZATION_MODES}) or a config (a QuantizationConfig).")
        return _DEFAULT_CONFIGS[mode]()
    if not isinstance(config, QuantizationConfig):
        raise ValueError(
            "quantize(): `config` must be a QuantizationConfig (Int8QuantizationConfig, ...). "
            f"Received: config={_short_repr(config)} (of type {type(config).__name__})")
    if mode is not None and config.mode != mode:
        raise ValueError(
            f"quantize(): contradictory arguments: mode='{mode}' but config.mode="
            f"'{config.mode}'. Pass one of them, or make them agree.")
    if config.mode not in QUANTIZATION_MODES:
        raise _invalid_mode(config.mode)
    return config
