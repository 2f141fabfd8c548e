"""`keras.initializers`: the starting values of weights, and lookup by name.

An initializer is any callable `init(shape, dtype=None)` returning an array of that shape: an
`Initializer` subclass (saved with its `get_config()`), or a plain function, as in the book:

Examples:
    >>> def my_glorot_initializer(shape, dtype=None):
    ...     stddev = (2.0 / (shape[0] + shape[1])) ** 0.5
    ...     return lamina.random.normal(shape, stddev=stddev, dtype=dtype)
    >>> lamina.Variable(my_glorot_initializer, shape=(3, 2)).shape
    (3, 2)

    Random initializers follow Keras 3's seeding: `seed=None` picks a seed from Python's `random`
    module when the initializer is created (so `keras.utils.set_random_seed` makes it
    reproducible), and an int seed or an unseeded initializer gives the same values at every call.
    Pass a `keras.random.SeedGenerator` to get new values at each call.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from lamina import _identifiers
from lamina import _serialization as serialization
from lamina import random as _random
from lamina._registry import keras_export
from lamina._runtime import variable as _variable
from lamina._runtime.dtypes import standardize_dtype
from lamina._runtime.rng import SeedGenerator, make_default_seed

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "STFT", "STFTInitializer",
    "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "constant", "deserialize", "get",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
    "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform", "serialize",
    "stft", "truncated_normal", "variance_scaling", "zeros",
]

# The standard deviation of a standard normal truncated to [-2, 2]; dividing by it makes a
# truncated sample's stddev the one asked for.
_TRUNCATED_STDDEV = 0.87962566103423978


def _shape(shape):
    """`shape` as a tuple of non-negative Python ints; a clear ValueError otherwise."""
    return _variable.standardize_shape(shape, "an initial value")


def _sized(shape, dtype):
    """`(shape, dtype)` standardized, once the memory for such an array is known to be there.

    Initializers are called directly too (`GlorotUniform()((n, m))`), and XLA aborts the
    process rather than raising when an array does not fit.
    """
    shape, dtype = _shape(shape), standardize_dtype(dtype)
    _variable.check_allocation(shape, dtype, "an initial value")
    return shape, dtype


@keras_export("keras.Initializer", "keras.initializers.Initializer")
class Initializer:
    """Base class of initializers: subclasses implement `__call__(shape, dtype=None)`.

    `get_config()` returns the constructor arguments (empty by default) and `from_config()`
    calls the constructor with them, so a subclass whose `__init__` arguments match its config
    needs nothing more to be saved.

    Examples:
        >>> class ConstantTimesTwo(lamina.initializers.Initializer):
        ...     def __init__(self, value):
        ...         self.value = value
        ...     def __call__(self, shape, dtype=None):
        ...         return jnp.full(shape, 2 * self.value, dtype=dtype or "float32")
        ...     def get_config(self):
        ...         return {"value": self.value}
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __call__(self, shape, dtype=None), returning "
            "an array of the given shape.")

    def get_config(self):
        """The constructor arguments, as a JSON-ready dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Creates an initializer from the dict `get_config()` returned."""
        return cls(**config)

    def clone(self):
        """A new initializer with the same configuration."""
        return self.__class__.from_config(self.get_config())


@keras_export("keras.initializers.Zeros", "keras.initializers.zeros")
class Zeros(Initializer):
    """Fills with 0.

    Examples:
        >>> lamina.initializers.Zeros()((2,)).tolist()
        [0.0, 0.0]
    """

    def __call__(self, shape, dtype=None):
        return _filled(shape, dtype, 0)


def _filled(shape, dtype, value):
    # Built on the host and copied over: an eager jnp.full compiles a program for every new
    # shape, which dominated model-building time.
    shape, dtype = _sized(shape, dtype)
    return jax.device_put(np.full(shape, value, dtype=jnp.dtype(dtype)))


@keras_export("keras.initializers.Ones", "keras.initializers.ones")
class Ones(Initializer):
    """Fills with 1.

    Examples:
        >>> lamina.initializers.Ones()((2,), dtype="int32").tolist()
        [1, 1]
    """

    def __call__(self, shape, dtype=None):
        return _filled(shape, dtype, 1)


@keras_export("keras.initializers.Constant", "keras.initializers.constant")
class Constant(Initializer):
    """Fills with `value` (a scalar, or an array that broadcasts to the shape).

    Examples:
        >>> lamina.initializers.Constant(3.0)((2,)).tolist()
        [3.0, 3.0]
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        if isinstance(self.value, (int, float)):
            return _filled(shape, dtype, self.value)
        shape, dtype = _sized(shape, dtype)
        return jnp.asarray(self.value, dtype=dtype) * jnp.ones(shape, dtype=dtype)

    def get_config(self):
        return {"value": serialization.serialize_keras_object(self.value)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "value" in config:  # may be a saved array ({"class_name": "__numpy__", ...})
            config["value"] = serialization.deserialize_keras_object(config["value"])
        return cls(**config)


@keras_export("keras.initializers.Identity", "keras.initializers.identity",
              "keras.initializers.IdentityInitializer")
class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only; rectangular shapes are allowed).

    Examples:
        >>> lamina.initializers.Identity(gain=2.0)((2, 2)).tolist()
        [[2.0, 0.0], [0.0, 2.0]]
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape, dtype = _sized(shape, dtype)
        if len(shape) != 2:
            raise ValueError(
                "The Identity initializer only makes 2-D matrices. "
                f"Received: shape={shape} of rank {len(shape)}.")
        return jnp.asarray(self.gain, dtype=dtype) * jnp.eye(*shape, dtype=dtype)

    def get_config(self):
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """Base of the random initializers: holds the seed (None, an int or a SeedGenerator)."""

    def __init__(self, seed=None):
        # Keras 3 saves the seed as given (None stays None), but draws from a fixed one.
        self._init_seed = seed
        if seed is None:
            seed = make_default_seed()
        elif isinstance(seed, dict):
            seed = serialization.deserialize_keras_object(seed)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, SeedGenerator)):
            raise ValueError(
                f"{type(self).__name__}'s seed must be None, an int or a "
                f"keras.random.SeedGenerator. Received: seed={seed!r}")
        self.seed = int(seed) if isinstance(seed, (int, np.integer)) else seed

    def get_config(self):
        return {"seed": serialization.serialize_keras_object(self._init_seed)}


@keras_export("keras.initializers.RandomNormal", "keras.initializers.random_normal")
class RandomNormal(RandomInitializer):
    """Samples from a normal distribution with mean `mean` and standard deviation `stddev`.

    Examples:
        >>> lamina.initializers.RandomNormal(stddev=1.0, seed=0)((2, 3)).shape
        (2, 3)
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _sized(shape, dtype)
        return _random.normal(shape, mean=self.mean, stddev=self.stddev, dtype=dtype,
                              seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@keras_export("keras.initializers.TruncatedNormal", "keras.initializers.truncated_normal")
class TruncatedNormal(RandomInitializer):
    """Like `RandomNormal`, but values beyond two standard deviations are drawn again.

    Examples:
        >>> x = lamina.initializers.TruncatedNormal(stddev=1.0, seed=0)((1000,))
        >>> bool((abs(x) <= 2.0).all())
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _sized(shape, dtype)
        return _random.truncated_normal(shape, mean=self.mean, stddev=self.stddev,
                                        dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


@keras_export("keras.initializers.RandomUniform", "keras.initializers.random_uniform")
class RandomUniform(RandomInitializer):
    """Samples uniformly from `[minval, maxval)`.

    Examples:
        >>> x = lamina.initializers.RandomUniform(0.0, 1.0, seed=0)((100,))
        >>> bool(((x >= 0) & (x < 1)).all())
        True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _sized(shape, dtype)
        return _random.uniform(shape, minval=self.minval, maxval=self.maxval,
                               dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def compute_fans(shape, input_axes=None, output_axes=None):
    """`(fan_in, fan_out)` of a weight shape, as Keras 3 computes them.

    A matrix `(in, out)` gives `(in, out)`; a convolution kernel `(*window, in, out)` multiplies
    both by the window size; `input_axes` / `output_axes` name the axes explicitly instead.

    Examples:
        >>> lamina.initializers.compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    shape = _shape(shape)
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[axis] for axis in input_axes),
                math.prod(shape[axis] for axis in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


@keras_export("keras.initializers.VarianceScaling", "keras.initializers.variance_scaling")
class VarianceScaling(RandomInitializer):
    """Random values whose variance is `scale / n`, with `n` a fan of the weight shape.

    `mode` picks `n`: `"fan_in"`, `"fan_out"` or `"fan_avg"` (their mean). `distribution` is
    `"truncated_normal"` (stddev `sqrt(scale / n) / 0.8796...`, which corrects for the
    truncation), `"untruncated_normal"` (stddev `sqrt(scale / n)`) or `"uniform"` (within
    `[-limit, limit]`, `limit = sqrt(3 * scale / n)`).

    Examples:
        >>> init = lamina.initializers.VarianceScaling(scale=2.0, distribution="uniform", seed=0)
        >>> init((64, 32)).shape
        (64, 32)
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0.0:
            raise ValueError(
                f"VarianceScaling's scale must be a positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                "VarianceScaling's mode must be 'fan_in', 'fan_out' or 'fan_avg'. "
                f"Received: mode={mode!r}")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"  # Keras's older spelling
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(
                "VarianceScaling's distribution must be 'truncated_normal', "
                f"'untruncated_normal' or 'uniform'. Received: distribution={distribution!r}")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _sized(shape, dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        scale = self.scale / max(1.0, fan[self.mode])
        if self.distribution == "truncated_normal":
            return _random.truncated_normal(shape, mean=0.0,
                                            stddev=math.sqrt(scale) / _TRUNCATED_STDDEV,
                                            dtype=dtype, seed=self.seed)
        if self.distribution == "untruncated_normal":
            return _random.normal(shape, mean=0.0, stddev=math.sqrt(scale), dtype=dtype,
                                  seed=self.seed)
        limit = math.sqrt(3.0 * scale)
        return _random.uniform(shape, minval=-limit, maxval=limit, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A named VarianceScaling preset: only the seed and axes are arguments."""

    _preset = {}

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(seed=seed, input_axes=input_axes, output_axes=output_axes,
                         **self._preset)

    def get_config(self):
        return {"seed": serialization.serialize_keras_object(self._init_seed),
                "input_axes": self.input_axes, "output_axes": self.output_axes}


@keras_export("keras.initializers.GlorotUniform", "keras.initializers.glorot_uniform")
class GlorotUniform(_FixedVarianceScaling):
    """Glorot (Xavier) uniform: within `±sqrt(6 / (fan_in + fan_out))` (Glorot & Bengio, 2010).

    Examples:
        >>> lamina.initializers.GlorotUniform(seed=1)((3, 2)).shape
        (3, 2)
    """

    _preset = {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform"}


@keras_export("keras.initializers.GlorotNormal", "keras.initializers.glorot_normal")
class GlorotNormal(_FixedVarianceScaling):
    """Glorot (Xavier) normal: truncated normal, stddev `sqrt(2 / (fan_in + fan_out))`.

    Examples:
        >>> lamina.initializers.GlorotNormal(seed=1)((3, 2)).shape
        (3, 2)
    """

    _preset = {"scale": 1.0, "mode": "fan_avg", "distribution": "truncated_normal"}


@keras_export("keras.initializers.HeNormal", "keras.initializers.he_normal")
class HeNormal(_FixedVarianceScaling):
    """He normal: truncated normal, stddev `sqrt(2 / fan_in)` (He et al., 2015); for ReLU nets.

    Examples:
        >>> lamina.initializers.HeNormal(seed=1)((3, 2)).shape
        (3, 2)
    """

    _preset = {"scale": 2.0, "mode": "fan_in", "distribution": "truncated_normal"}


@keras_export("keras.initializers.HeUniform", "keras.initializers.he_uniform")
class HeUniform(_FixedVarianceScaling):
    """He uniform: within `±sqrt(6 / fan_in)`.

    Examples:
        >>> lamina.initializers.HeUniform(seed=1)((3, 2)).shape
        (3, 2)
    """

    _preset = {"scale": 2.0, "mode": "fan_in", "distribution": "uniform"}


@keras_export("keras.initializers.LecunNormal", "keras.initializers.lecun_normal")
class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal, stddev `sqrt(1 / fan_in)`; pairs with `selu`.

    Examples:
        >>> lamina.initializers.LecunNormal(seed=1)((3, 2)).shape
        (3, 2)
    """

    _preset = {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}


@keras_export("keras.initializers.LecunUniform", "keras.initializers.lecun_uniform")
class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: within `±sqrt(3 / fan_in)`.

    Examples:
        >>> lamina.initializers.LecunUniform(seed=1)((3, 2)).shape
        (3, 2)
    """

    _preset = {"scale": 1.0, "mode": "fan_in", "distribution": "uniform"}


@keras_export("keras.initializers.Orthogonal", "keras.initializers.orthogonal",
              "keras.initializers.OrthogonalInitializer")
class Orthogonal(RandomInitializer):
    """A random orthogonal matrix times `gain` (Saxe et al., 2014).

    For shapes of rank > 2, the matrix is `(prod(shape[:-1]), shape[-1])`, reshaped. Rows are
    orthonormal when there are fewer rows than columns, columns otherwise.

    Examples:
        >>> q = lamina.initializers.Orthogonal(seed=0)((3, 3))
        >>> bool(jnp.allclose(q @ q.T, jnp.eye(3), atol=1e-5))
        True
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed=seed)

    def __call__(self, shape, dtype=None):
        shape, dtype = _sized(shape, dtype)
        if len(shape) < 2:
            raise ValueError(
                "The Orthogonal initializer needs a shape of rank 2 or more. "
                f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        sample = _random.normal((max(rows, cols), min(rows, cols)), dtype=dtype, seed=self.seed)
        if isinstance(sample, jax.core.Tracer):
            q, r = jnp.linalg.qr(sample)
            q = q * jnp.sign(jnp.diag(r))
        else:
            # Eagerly, NumPy's QR: jnp's would compile a program per new shape (seconds).
            q, r = np.linalg.qr(np.asarray(sample, dtype=np.float64))
            q = (q * np.sign(np.diag(r))).astype(jnp.dtype(standardize_dtype(dtype)))
        # Fixing the signs by R's diagonal makes Q uniformly distributed over orthogonal matrices.
        if rows < cols:
            q = q.T
        value = self.gain * q.reshape(shape)
        return value if isinstance(value, jax.core.Tracer) else jax.device_put(np.asarray(value))

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# Lowercase aliases, as Keras 3 exports them (the classes themselves).
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
IdentityInitializer, OrthogonalInitializer, orthogonal = Identity, Orthogonal, Orthogonal
random_normal, truncated_normal, random_uniform = RandomNormal, TruncatedNormal, RandomUniform
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal, lecun_uniform = HeNormal, HeUniform, LecunNormal, LecunUniform

@keras_export("keras.initializers.STFT", "keras.initializers.stft",
              "keras.initializers.STFTInitializer")
class STFT(Initializer):
    """The kernels of a short-time Fourier transform as a convolution (STFTSpectrogram's):
    for a shape `(frame_length, 1, bins)`, `cos` (`side="real"`) or `sin` (`"imag"`) of
    `-2 pi t k / (2 (bins - 1))`, times a window (a SciPy window name, e.g. "hann", with
    `periodic`, or an array of `frame_length` values, or None), divided by the window's
    `scaling` ("density": its L2 norm; "spectrum": its L1 norm; None: 1).

    Examples:
        >>> kernel = lamina.initializers.STFT("real", window=None)((4, 1, 3))
        >>> kernel[:, 0, 2].round(3).tolist()
        [1.0, -1.0, 1.0, -1.0]
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            from scipy import signal

            signal.get_window(window, 1)  # raises for a window SciPy does not know
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        shape, dtype = _sized(shape, dtype)
        if len(shape) != 3:
            raise ValueError(
                "STFT initializes kernels of shape (frame_length, input_channels, bins). "
                f"Received: shape={shape}")
        frame_length, _, bins = shape
        dtype = np.dtype(jnp.dtype(dtype))
        scale, window = 1.0, None
        if self.window is not None:
            window = self.window
            if isinstance(window, str):
                from scipy import signal

                window = signal.get_window(window, frame_length, self.periodic)
            window = np.asarray(window, dtype=dtype)
            if window.shape != (frame_length,):
                raise ValueError(
                    "The shape of `window` must be equal to [frame_length]. Received: window "
                    f"shape={window.shape}, frame_length={frame_length}")
            window = window.reshape(frame_length, 1, 1)
            if self.scaling == "density":
                scale = np.sqrt(np.sum(np.square(window)))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(window))
        frequency = np.arange(bins, dtype=dtype).reshape(1, 1, bins) / dtype.type(
            (bins - 1) * 2)
        time = np.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
        angle = (-2 * time * frequency) * np.arccos(dtype.type(-1))
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if window is not None:
            kernel = kernel * window / dtype.type(scale)
        return jax.device_put(np.broadcast_to(kernel, shape).astype(dtype))

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic,
                "scaling": self.scaling}


ALL_OBJECTS_DICT = _identifiers.by_name(
    (Initializer, Zeros, Ones, Constant, Identity, RandomNormal, TruncatedNormal, RandomUniform,
     VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
     LecunUniform, Orthogonal, STFT),
    IdentityInitializer=Identity, OrthogonalInitializer=Orthogonal, normal=RandomNormal,
    uniform=RandomUniform, one=Ones, zero=Zeros, STFTInitializer=STFT, stft=STFT)
STFTInitializer = stft = STFT  # Keras 3's aliases


def _from_array(identifier):
    """An initializer that returns `identifier` (for its own shape only) when it is an array;
    anything else unchanged. `get` calls it on what is neither a name nor a config."""
    if not (isinstance(identifier, (np.ndarray, np.generic, _variable.Variable)) or (
            hasattr(identifier, "shape") and hasattr(identifier, "dtype")
            and not callable(identifier))):
        return identifier
    value = jnp.asarray(identifier)

    def initialize_fn(shape, dtype=None):
        if _shape(shape) != tuple(value.shape):
            raise ValueError(
                f"This initializer holds a fixed array of shape {tuple(value.shape)}, so it "
                f"cannot fill shape={_shape(shape)}.")
        return value.astype(standardize_dtype(dtype))

    return initialize_fn


_LOOKUP = _identifiers.Lookup(
    "initializer", ALL_OBJECTS_DICT,
    "a name such as 'glorot_uniform', a config dict, an Initializer, an array, or a "
    "function(shape, dtype=None)", convert=_from_array)


def serialize(initializer):
    """The config dict of an initializer (or the function config of a plain function).

    Examples:
        >>> lamina.initializers.serialize(lamina.initializers.Zeros())
        {'module': 'keras.initializers', 'class_name': 'Zeros', 'config': {},
         'registered_name': None}
    """
    return serialization.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """Rebuilds an initializer from a name or a config (the inverse of `serialize`).

    Examples:
        >>> lamina.initializers.deserialize("he_normal")
        <lamina.initializers.HeNormal object at ...>
    """
    return _LOOKUP.deserialize(config, custom_objects)


def get(identifier):
    """Returns an initializer from a name, a config, a class, an array or a callable.

    None gives None; an array gives an initializer that returns it (for its own shape only).

    Examples:
        >>> lamina.initializers.get("glorot_uniform")
        <lamina.initializers.GlorotUniform object at ...>
    """
    return _LOOKUP.get(identifier)
