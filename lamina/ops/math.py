"""`keras.ops` math functions: special functions, segment reductions, top-k, FFTs and framing.

Complex results are returned as `(real, imaginary)` pairs of float tensors and complex inputs are
taken as such pairs, as Keras 3 does, so that every backend can represent them.
"""

import math as _math

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp_special

from lamina.ops._convert import compiled, float_tensor, tensor
from lamina.ops._products import slogdet
from lamina.ops._symbolic import symbolic_op

__all__ = [
    "cdist", "erf", "erfc", "erfinv", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k",
    "irfft", "istft", "logdet", "logsumexp", "rfft", "rsqrt", "segment_max", "segment_min",
    "segment_prod", "segment_sum", "stft", "top_k", "view_as_complex", "view_as_real",
]


# ------------------------------------------------------------------------------- special functions


@symbolic_op
def erf(x):
    """The error function, element-wise.

    Examples:
        >>> ops.erf([0.])
        Array([0.], dtype=float32)
    """
    return jsp_special.erf(float_tensor(x))


@symbolic_op
def erfc(x):
    """The complementary error function `1 - erf(x)`, element-wise.

    Examples:
        >>> ops.erfc([0.])
        Array([1.], dtype=float32)
    """
    return jsp_special.erfc(float_tensor(x))


@symbolic_op
def erfinv(x):
    """The inverse error function, element-wise.

    Examples:
        >>> ops.erfinv([0.])
        Array([0.], dtype=float32)
    """
    return jsp_special.erfinv(float_tensor(x))


@symbolic_op
def rsqrt(x):
    """`1 / sqrt(x)`, element-wise.

    Examples:
        >>> ops.rsqrt([4., 16.])
        Array([0.5 , 0.25], dtype=float32)
    """
    return jax.lax.rsqrt(float_tensor(x))


@symbolic_op
def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` over `axis`, computed without overflow.

    Examples:
        >>> ops.logsumexp([0., 0.])
        Array(0.6931472, dtype=float32)
    """
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jsp_special.logsumexp(float_tensor(x), axis=axis, keepdims=keepdims)


@symbolic_op
def logdet(x):
    """Log-determinant of (batches of) Hermitian positive-definite matrices.

    Examples:
        >>> ops.logdet([[1., 0.], [0., 1.]])
        Array(0., dtype=float32)
    """
    return slogdet(x)[1]


@symbolic_op
def cdist(x, y):
    """Euclidean distances between each row vector of `x` and of `y` (batched).

    Examples:
        >>> ops.cdist([[0., 0.]], [[3., 4.], [0., 1.]])
        Array([[5., 1.]], dtype=float32)
    """
    x, y = float_tensor(x), float_tensor(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(
            "ops.cdist takes two tensors of rank 2 or more whose last axes (the vector "
            f"size) match. Received shapes {x.shape} and {y.shape}.")
    return _cdist(x, y)


@compiled()
def _cdist(x, y):
    difference = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(difference * difference, axis=-1))


# ------------------------------------------------------------------------------- segments


def _segment_arguments(data, segment_ids, num_segments, name):
    data = tensor(data)
    segment_ids = tensor(segment_ids)
    if segment_ids.ndim != 1:
        raise ValueError(
            f"ops.{name} takes 1D segment_ids. Received: shape {segment_ids.shape}. Flatten "
            "both: segment_ids.reshape(-1) and data.reshape((-1,) + trailing shape), or use "
            "ops.vectorized_map.")
    if data.ndim == 0 or segment_ids.shape[0] != data.shape[0]:
        raise ValueError(
            f"ops.{name} needs one segment id per row of data. Received: data shape "
            f"{data.shape}, segment_ids shape {segment_ids.shape}.")
    if num_segments is None:
        if isinstance(segment_ids, jax.core.Tracer):
            raise ValueError(
                f"ops.{name} needs num_segments inside a compiled function, because the "
                "output shape cannot depend on the values of segment_ids. Pass "
                "num_segments=<number of segments>.")
        num_segments = int(jnp.max(segment_ids)) + 1 if segment_ids.size else 0
    return data, segment_ids, num_segments


@symbolic_op
def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sums the rows of `data` that share a segment id.

    Examples:
        >>> ops.segment_sum([1, 2, 10, 20], [0, 0, 1, 1], num_segments=2)
        Array([ 3, 30], dtype=int32)
    """
    data, segment_ids, num_segments = _segment_arguments(
        data, segment_ids, num_segments, "segment_sum")
    return jax.ops.segment_sum(data, segment_ids, num_segments, indices_are_sorted=sorted)


@symbolic_op
def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maximum of the rows of `data` that share a segment id.

    Examples:
        >>> ops.segment_max([1, 2, 10, 20], [0, 0, 1, 1], num_segments=2)
        Array([ 2, 20], dtype=int32)
    """
    data, segment_ids, num_segments = _segment_arguments(
        data, segment_ids, num_segments, "segment_max")
    return jax.ops.segment_max(data, segment_ids, num_segments, indices_are_sorted=sorted)


@symbolic_op
def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minimum of the rows of `data` that share a segment id.

    Examples:
        >>> ops.segment_min([1, 2, 10, 20], [0, 0, 1, 1], num_segments=2)
        Array([ 1, 10], dtype=int32)
    """
    data, segment_ids, num_segments = _segment_arguments(
        data, segment_ids, num_segments, "segment_min")
    return jax.ops.segment_min(data, segment_ids, num_segments, indices_are_sorted=sorted)


@symbolic_op
def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Product of the rows of `data` that share a segment id.

    Examples:
        >>> ops.segment_prod([1, 2, 10, 20], [0, 0, 1, 1], num_segments=2)
        Array([  2, 200], dtype=int32)
    """
    data, segment_ids, num_segments = _segment_arguments(
        data, segment_ids, num_segments, "segment_prod")
    return jax.ops.segment_prod(data, segment_ids, num_segments, indices_are_sorted=sorted)


# ------------------------------------------------------------------------------- top-k


@symbolic_op
def top_k(x, k, sorted=True):
    """The `k` largest entries along the last axis and their indices: `(values, indices)`.

    Results are always sorted (descending), which `sorted=False` allows.

    Examples:
        >>> values, indices = ops.top_k([1, 5, 3], 2)
        >>> values, indices
        (Array([5, 3], dtype=int32), Array([1, 2], dtype=int32))
    """
    x = tensor(x)
    if not 0 <= k <= x.shape[-1]:
        raise ValueError(
            f"ops.top_k needs 0 <= k <= {x.shape[-1]} (the size of the last axis). "
            f"Received: k={k}")
    return jax.lax.top_k(x, k)


@symbolic_op
def in_top_k(targets, predictions, k):
    """Whether each target class is among the `k` highest predictions (ties count as in).

    Examples:
        >>> ops.in_top_k([1, 0], [[0.1, 0.9, 0.0], [0.2, 0.3, 0.5]], k=2)
        Array([ True, False], dtype=bool)
    """
    return _in_top_k(tensor(targets), tensor(predictions), k)


@compiled()
def _in_top_k(targets, predictions, k):
    target_score = jnp.take_along_axis(predictions, targets[..., None].astype("int32"), axis=-1)
    # A NaN score must not count as large.
    target_score = jnp.where(jnp.isnan(target_score), -jnp.inf, target_score)
    rank = 1 + jnp.sum(predictions > target_score, axis=-1)
    return rank <= k


# ------------------------------------------------------------------------------- complex views


def _complex(x, name):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(
            f"ops.{name} takes a pair (real, imaginary) of float tensors. "
            f"Received: {type(x).__name__}. Pass (ops.real(z), ops.imag(z)) for a complex z.")
    real, imag = tensor(x[0]), tensor(x[1])
    if real.shape != imag.shape:
        raise ValueError(
            f"ops.{name}: the real and imaginary parts must have the same shape. Received "
            f"shapes {real.shape} and {imag.shape}.")
    if not (jnp.issubdtype(real.dtype, jnp.floating)
            and jnp.issubdtype(imag.dtype, jnp.floating)):
        raise ValueError(
            f"ops.{name}: the real and imaginary parts must be floats. Received dtypes "
            f"{real.dtype} and {imag.dtype}. Cast them with ops.cast(x, 'float32').")
    return jax.lax.complex(real, imag)


def _pair(z):
    return jnp.real(z), jnp.imag(z)


@symbolic_op
def view_as_complex(x):
    """A complex tensor from a real tensor whose last axis (of size 2) holds (real, imag).

    Examples:
        >>> ops.view_as_complex([[1., 2.]])
        Array([1.+2.j], dtype=complex64)
    """
    x = float_tensor(x)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(
            "ops.view_as_complex needs a last axis of size 2 (real and imaginary parts). "
            f"Received: shape {x.shape}.")
    return jax.lax.complex(x[..., 0], x[..., 1])


@symbolic_op
def view_as_real(x):
    """A real tensor with a new last axis of size 2 holding (real, imag) of complex `x`.

    Examples:
        >>> ops.view_as_real(ops.convert_to_tensor([1 + 2j]))
        Array([[1., 2.]], dtype=float32)
    """
    x = tensor(x)
    return jnp.stack([jnp.real(x), jnp.imag(x)], axis=-1)


@symbolic_op
def fft(x):
    """FFT over the last axis of a complex signal given as `(real, imag)`.

    Examples:
        >>> real, imag = ops.fft((ops.ones(2), ops.zeros(2)))
        >>> real
        Array([2., 0.], dtype=float32)
    """
    return _pair(jnp.fft.fft(_complex(x, "fft")))


@symbolic_op
def fft2(x):
    """2D FFT over the last two axes of a complex signal given as `(real, imag)`.

    Examples:
        >>> real, imag = ops.fft2((ops.ones((2, 2)), ops.zeros((2, 2))))
        >>> float(real[0, 0])
        4.0
    """
    return _pair(jnp.fft.fft2(_complex(x, "fft2")))


@symbolic_op
def ifft2(x):
    """Inverse 2D FFT over the last two axes of `(real, imag)`.

    Examples:
        >>> real, imag = ops.ifft2((ops.ones((2, 2)), ops.zeros((2, 2))))
        >>> float(real[0, 0])
        1.0
    """
    return _pair(jnp.fft.ifft2(_complex(x, "ifft2")))


@symbolic_op
def rfft(x, fft_length=None):
    """FFT of a real signal over its last axis: `(real, imag)` of the non-negative bins.

    Examples:
        >>> real, imag = ops.rfft([1., 1., 1., 1.])
        >>> real
        Array([4., 0., 0.], dtype=float32)
    """
    return _pair(jnp.fft.rfft(float_tensor(x), n=fft_length, axis=-1))


@symbolic_op
def irfft(x, fft_length=None):
    """Inverse of `rfft`: a real signal from the `(real, imag)` non-negative bins.

    Examples:
        >>> ops.irfft(([4., 0., 0.], [0., 0., 0.]))
        Array([1., 1., 1., 1.], dtype=float32)
    """
    return jnp.fft.irfft(_complex(x, "irfft"), n=fft_length, axis=-1)


# ------------------------------------------------------------------------------- framing


def _frame_indices(num_frames, frame_length, stride):
    return (jnp.arange(num_frames)[:, None] * stride + jnp.arange(frame_length)[None, :])


@symbolic_op
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` samples, `sequence_stride` apart, over the last axis.

    Examples:
        >>> ops.extract_sequences(ops.arange(5), 3, 2)
        Array([[0, 1, 2],
               [2, 3, 4]], dtype=int32)
    """
    x = tensor(x)
    if x.ndim == 0 or x.shape[-1] < sequence_length:
        raise ValueError(
            f"ops.extract_sequences needs a last axis of at least sequence_length="
            f"{sequence_length} samples. Received: shape {x.shape}.")
    return _extract_sequences(x, sequence_length, sequence_stride)


@compiled("sequence_length", "sequence_stride")
def _extract_sequences(x, sequence_length, sequence_stride):
    num_frames = (x.shape[-1] - sequence_length) // sequence_stride + 1
    return x[..., _frame_indices(num_frames, sequence_length, sequence_stride)]


def _window_argument(window, sequence_length):
    """Splits `window` into a static name ("hann", "hamming", None, or "given") and values."""
    if window is None:
        return None, None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(
                "A window given by name must be 'hann' or 'hamming'. Received: "
                f"window={window!r}. Pass a 1D tensor of sequence_length values for others.")
        return window, None
    values = tensor(window)
    if values.shape != (sequence_length,):
        raise ValueError(
            f"The window must be a 1D tensor of sequence_length={sequence_length} values. "
            f"Received: shape {values.shape}.")
    return "given", values


def _window(name, values, sequence_length, fft_length, dtype):
    """The analysis window, zero-padded in the middle of `fft_length` samples."""
    if name is None:
        return jnp.ones((fft_length,), dtype)
    if name == "given":
        win = values.astype(dtype)
    else:
        # Periodic windows, as used for spectral analysis (scipy's `get_window` default).
        phase = 2 * _math.pi * jnp.arange(sequence_length, dtype=dtype) / sequence_length
        a0 = 0.5 if name == "hann" else 0.54
        win = a0 - (1 - a0) * jnp.cos(phase)
    left = (fft_length - sequence_length) // 2
    return jnp.pad(win, (left, fft_length - sequence_length - left))


@symbolic_op
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform over the last axis: `(real, imag)` of shape
    `(..., num_frames, fft_length // 2 + 1)`.

    Examples:
        >>> real, imag = ops.stft(ops.ones(16), 8, 4, 8)
        >>> real.shape
        (5, 5)
    """
    x = tensor(x)
    if x.dtype not in (jnp.float32, jnp.float64):
        raise TypeError(
            f"ops.stft takes float32 or float64 signals. Received: dtype {x.dtype}. Cast "
            "it with ops.cast(x, 'float32').")
    if fft_length < sequence_length:
        raise ValueError(
            f"ops.stft needs fft_length >= sequence_length. Received: fft_length={fft_length},"
            f" sequence_length={sequence_length}.")
    padded_length = x.shape[-1] + (2 * (fft_length // 2) if center else 0)
    if x.ndim == 0 or padded_length < fft_length:
        raise ValueError(
            f"ops.stft needs a signal of at least fft_length={fft_length} samples (after "
            f"centering). Received: shape {x.shape}.")
    name, values = _window_argument(window, sequence_length)
    return _stft(x, values, sequence_length, sequence_stride, fft_length, name, bool(center))


@compiled("sequence_length", "sequence_stride", "fft_length", "name", "center")
def _stft(x, values, sequence_length, sequence_stride, fft_length, name, center):
    if center:
        pad_width = [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)]
        x = jnp.pad(x, pad_width, mode="reflect")
    win = _window(name, values, sequence_length, fft_length, x.dtype)
    num_frames = (x.shape[-1] - fft_length) // sequence_stride + 1
    frames = x[..., _frame_indices(num_frames, fft_length, sequence_stride)] * win
    return _pair(jnp.fft.rfft(frames, n=fft_length, axis=-1))


@symbolic_op
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse of `stft` by windowed overlap-add: a real signal from `(real, imag)` frames.

    Examples:
        >>> real, imag = ops.stft(ops.ones(16), 8, 4, 8)
        >>> ops.istft((real, imag), 8, 4, 8).shape
        (16,)
    """
    spectrum = _complex(x, "istft")
    if spectrum.ndim < 2:
        raise ValueError(
            "ops.istft takes frames of shape (..., num_frames, fft_bins). Received: shape "
            f"{spectrum.shape}.")
    name, values = _window_argument(window, sequence_length)
    return _istft(spectrum, values, sequence_length, sequence_stride, fft_length, length, name,
                  bool(center))


@compiled("sequence_length", "sequence_stride", "fft_length", "length", "name", "center")
def _istft(spectrum, values, sequence_length, sequence_stride, fft_length, length, name, center):
    dtype = jnp.real(spectrum).dtype
    win = _window(name, values, sequence_length, fft_length, dtype)
    frames = jnp.fft.irfft(spectrum, n=fft_length, axis=-1) * win
    num_frames = frames.shape[-2]
    full_length = fft_length + sequence_stride * (num_frames - 1)
    indices = _frame_indices(num_frames, fft_length, sequence_stride)
    signal = jnp.zeros(frames.shape[:-2] + (full_length,), dtype).at[..., indices].add(frames)
    norm = jnp.zeros((full_length,), dtype).at[indices].add(
        jnp.broadcast_to(win * win, (num_frames, fft_length)))
    signal = signal / jnp.where(norm > 1e-10, norm, 1.0)
    if name is None:
        # Keras scales an unwindowed inverse by the frame count per sample.
        signal = signal * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = full_length - fft_length // 2
    else:
        end = full_length
    return signal[..., start:end]
