"""Regularization layers: the dropout family, GaussianNoise, ActivityRegularization.

Random layers are the identity in inference and random in training. Each draws from its own
`SeedGenerator`, created in `__init__`: its state is a Variable, so inside `keras.function`
or a compiled train step it is carried like any other state, and every call gets fresh noise
that is still reproducible from `seed`.
"""

import math

import jax.numpy as jnp

from lamina import random, regularizers
from lamina._runtime import config
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

# SELU's constants (Klambauer et al., 2017): AlphaDropout drops to SELU's negative saturation.
_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _check_rate(layer, rate, what="rate"):
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': {what} must be a number between 0 and 1. "
            f"Received: {what}={rate!r}")


def _check_noise_shape(layer, noise_shape):
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}': noise_shape must be a tuple of positive "
            f"ints or None (None takes the input's size). Received: noise_shape={noise_shape!r}")
    noise_shape = tuple(noise_shape)
    for index, size in enumerate(noise_shape):
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)
                                 or size <= 0):
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': noise_shape must hold positive ints "
                f"or None, but entry {index} is {size!r}. Received: noise_shape={noise_shape}")
    return noise_shape


def _concrete_noise_shape(noise_shape, inputs):
    if noise_shape is None:
        return inputs.shape
    return tuple(inputs.shape[i] if size is None else size
                 for i, size in enumerate(noise_shape))


class Dropout(Layer):
    """In training, zeroes each input entry with probability `rate` and scales the others by
    `1 / (1 - rate)` (so expected values are unchanged); in inference, returns the input.

    Args:
        rate: the fraction of entries to drop, in [0, 1].
        noise_shape: the shape of the keep/drop mask, broadcast to the input; e.g.
            `(batch, 1, features)` drops the same features at every timestep. None entries
            take the input's size.
        seed: an int for a reproducible sequence of masks.

    Examples:
        >>> layer = Dropout(0.5, seed=0)
        >>> x = jnp.ones((2, 4))
        >>> bool((layer(x) == x).all()), sorted(set(layer(x, training=True).ravel().tolist()))
        (True, [0.0, 2.0])
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(self, rate)
        self.rate = rate
        self.seed = seed
        self.noise_shape = _check_noise_shape(self, noise_shape)
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            # Everything dropped; dividing by a keep probability of 0 would give NaN gradients.
            return jnp.zeros_like(inputs)
        return random.dropout(inputs, self.rate, noise_shape=self._noise_shape(inputs),
                              seed=self.seed_generator)

    def _noise_shape(self, inputs):
        return self.noise_shape

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class _SpatialDropout(Dropout):
    """Drops whole feature maps: one keep/drop decision per (sample, channel)."""

    _rank = None

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        if data_format is None:
            data_format = config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(
                f"{type(self).__name__} '{self.name}': data_format must be 'channels_last' or "
                f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format
        self.input_spec = InputSpec(ndim=self._rank)

    def _noise_shape(self, inputs):
        batch = inputs.shape[0]
        spatial = (1,) * (inputs.ndim - 2)
        if self.data_format == "channels_first":
            return (batch, inputs.shape[1]) + spatial
        return (batch,) + spatial + (inputs.shape[-1],)

    def get_config(self):
        # Keras 3 writes exactly these keys for spatial dropout (no 'trainable').
        return {"rate": self.rate, "seed": self.seed, "name": self.name,
                "dtype": self.dtype_policy.name, "data_format": self.data_format}


class SpatialDropout1D(_SpatialDropout):
    """Dropout of entire 1D feature maps: for inputs `(batch, steps, channels)` each channel of
    each sample is kept or dropped at all steps together (adjacent steps are correlated, so
    ordinary dropout would barely regularize).

    Examples:
        >>> y = SpatialDropout1D(0.5, seed=1)(jnp.ones((2, 3, 4)), training=True)
        >>> bool((y == y[:, :1, :]).all())
        True
    """

    _rank = 3

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, data_format="channels_last", seed=seed, name=name, dtype=dtype,
                         **kwargs)

    def get_config(self):
        config_ = super().get_config()
        del config_["data_format"]
        return config_


class SpatialDropout2D(_SpatialDropout):
    """Dropout of entire 2D feature maps: for images, each channel of each sample is kept or
    dropped as a whole.

    Args:
        rate: the fraction of channels to drop.
        data_format: `"channels_last"` (`(batch, rows, cols, channels)`) or
            `"channels_first"`; default `keras.config.image_data_format()`.
        seed: an int for reproducible masks.

    Examples:
        >>> SpatialDropout2D(0.5)(jnp.ones((1, 4, 4, 3)), training=True).shape
        (1, 4, 4, 3)
    """

    _rank = 4


class SpatialDropout3D(_SpatialDropout):
    """Dropout of entire 3D feature maps (volumes): one decision per (sample, channel).

    Examples:
        >>> SpatialDropout3D(0.5)(jnp.ones((1, 2, 2, 2, 3)), training=True).shape
        (1, 2, 2, 2, 3)
    """

    _rank = 5


class GaussianNoise(Layer):
    """In training, adds zero-mean Gaussian noise of standard deviation `stddev`; in
    inference, returns the input.

    Examples:
        >>> layer = GaussianNoise(0.1, seed=0)
        >>> layer(jnp.zeros(3)).tolist()
        [0.0, 0.0, 0.0]
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(self, stddev, "stddev")
        self.stddev = stddev
        self.seed = seed
        if stddev > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.stddev > 0:
            return inputs + random.normal(inputs.shape, stddev=self.stddev,
                                          dtype=self.compute_dtype, seed=self.seed_generator)
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """In training, multiplies the input by Gaussian noise of mean 1 and standard deviation
    `sqrt(rate / (1 - rate))` (dropout's variance without its zeros); in inference, returns
    the input.

    Examples:
        >>> GaussianDropout(0.2)(jnp.ones(3)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(self, rate)
        self.rate = rate
        self.seed = seed
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if training and self.rate > 0:
            if self.rate == 1:
                raise ValueError(
                    f"GaussianDropout '{self.name}': rate=1 gives noise of infinite variance. "
                    "Use a rate below 1.")
            stddev = math.sqrt(self.rate / (1.0 - self.rate))
            noise = random.normal(inputs.shape, mean=1.0, stddev=stddev,
                                  dtype=self.compute_dtype, seed=self.seed_generator)
            return inputs * noise
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(Layer):
    """Dropout for self-normalizing (SELU) networks: dropped entries are set to SELU's
    negative saturation value, and an affine correction keeps the mean and variance of the
    inputs (Klambauer et al., 2017). Identity in inference.

    Examples:
        >>> y = AlphaDropout(0.5, seed=0)(jnp.zeros((1000,)), training=True)
        >>> abs(float(y.mean())) < 0.1
        True
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(self, rate)
        self.rate = rate
        self.seed = seed
        self.noise_shape = _check_noise_shape(self, noise_shape)
        if rate > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.built = True

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        rate = self.rate
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        keep = random.uniform(_concrete_noise_shape(self.noise_shape, inputs),
                              dtype=self.compute_dtype, seed=self.seed_generator) >= rate
        keep = keep.astype(inputs.dtype)
        # a, b restore zero mean and unit variance after the dropped entries take alpha_p.
        a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * rate
        return a * (inputs * keep + alpha_p * (1 - keep)) + b

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class ActivityRegularization(Layer):
    """Returns its input unchanged and adds `l1 * sum(|x|) + l2 * sum(x**2)`, divided by the
    batch size, to the model's losses.

    Examples:
        >>> layer = ActivityRegularization(l1=0.5)
        >>> _ = layer(jnp.array([[1.0, -3.0]]))
        >>> float(layer.losses[0])
        2.0
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config_ = super().get_config()
        # The regularizer is rebuilt from l1/l2, so it is not saved twice.
        config_.pop("activity_regularizer", None)
        return {**config_, "l1": self.l1, "l2": self.l2}
