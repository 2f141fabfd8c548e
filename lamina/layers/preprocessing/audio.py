"""Audio layers: STFTSpectrogram (a short-time Fourier transform as a strided convolution with
trainable kernels) and MelSpectrogram (a fixed log-mel spectrogram), in Keras 3's numerics.

Both run on the device, inside the compiled step, on float signals `(batch, samples)`
(MelSpectrogram) or `(batch, samples, channels)` (STFTSpectrogram, channels last).
"""

import math
import warnings

import jax.numpy as jnp
import numpy as np

from lamina._runtime import config
from lamina.initializers import STFT
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.ops import _convolution
from lamina.ops import math as ops_math

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
_MEL_BREAK_FREQUENCY_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def _check_window(window):
    if isinstance(window, str):
        from scipy import signal

        signal.get_window(window, 1)  # raises for a window SciPy does not know


class STFTSpectrogram(Layer):
    """The short-time Fourier transform of each channel of a signal, as a layer whose Fourier
    kernels (`real_kernel`, `imag_kernel`, initialized by `keras.initializers.STFT`) are
    weights that training may tune.

    Frames of `frame_length` samples, `frame_step` apart (default half a frame), are windowed
    (`window`, a SciPy window name or None; `periodic`, `scaling`) and transformed with
    `fft_length` bins (default: the next power of two); `padding` is the convolution's
    ("valid" or "same"). `mode` chooses the output: "log" (log magnitude, the default),
    "magnitude", "psd" (power, doubled for the bins with a mirror image), "real", "imag",
    "angle", or "stft" (real and imaginary parts side by side). The output is
    `(batch, frames, channels * bins)` for channels-last inputs `(batch, samples, channels)`,
    or `(batch, frames, bins, channels)` with `expand_dims=True`.

    Examples:
        >>> layer = keras.layers.STFTSpectrogram(frame_length=8, frame_step=4, mode="magnitude")
        >>> layer(np.ones((2, 32, 1), "float32")).shape
        (2, 7, 5)
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None,
                 window="hann", periodic=False, scaling="density", padding="valid",
                 expand_dims=False, data_format=None, **kwargs):
        if frame_step is not None and (frame_step > frame_length or frame_step < 1):
            raise ValueError(
                "`frame_step` should be a positive integer not greater than `frame_length`. "
                f"Received frame_step={frame_step}, frame_length={frame_length}")
        if fft_length is not None and fft_length < frame_length:
            raise ValueError(
                "`fft_length` should be not less than `frame_length`. Received "
                f"fft_length={fft_length}, frame_length={frame_length}")
        if fft_length is not None and (fft_length & -fft_length) != fft_length:
            warnings.warn(
                f"`fft_length` is recommended to be a power of two. Received "
                f"fft_length={fft_length}", stacklevel=2)
        if mode not in _MODES:
            raise ValueError(
                f"Output mode is invalid, it must be one of {', '.join(_MODES)}. Received: "
                f"mode={mode}")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or "
                             f"'spectrum'. Received scaling={scaling}")
        if padding not in ("valid", "same"):
            raise ValueError(
                f"Padding is invalid, it should be 'valid', 'same'. Received: padding={padding}")
        _check_window(window)
        super().__init__(**kwargs)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self._frame_step = frame_step or frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        data_format = config.image_data_format() if data_format is None else data_format
        if data_format not in ("channels_first", "channels_last"):
            raise ValueError("`data_format` must be 'channels_first', 'channels_last' or None. "
                             f"Received: data_format={data_format!r}")
        self.data_format = data_format
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape,
                initializer=STFT("real", self.window, self.scaling, self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape,
                initializer=STFT("imag", self.window, self.scaling, self.periodic))

    def _transform(self, inputs, kernel):
        """`(batch, channels, bins, frames)`: each channel convolved with `kernel`."""
        if self.data_format == "channels_last":
            batch, length, channels = inputs.shape
            signals = jnp.transpose(inputs, (0, 2, 1)).reshape(-1, length, 1)
        else:
            batch, channels, length = inputs.shape
            signals = inputs.reshape(-1, 1, length)
        out = _convolution.conv(signals, jnp.asarray(kernel, inputs.dtype), strides=self._frame_step,
                                padding=self.padding, data_format=self.data_format)
        if self.data_format == "channels_last":
            out = jnp.transpose(out, (0, 2, 1))
        return out.reshape(batch, channels, out.shape[1], out.shape[2])

    def _arrange(self, outputs):
        batch, channels, bins, frames = outputs.shape
        if self.data_format == "channels_last":
            if self.expand_dims:
                return jnp.transpose(outputs, (0, 3, 2, 1))
            return jnp.transpose(outputs.reshape(batch, channels * bins, frames), (0, 2, 1))
        if self.expand_dims:
            return jnp.transpose(outputs, (0, 1, 3, 2))
        return outputs.reshape(batch, channels * bins, frames)

    def call(self, inputs):
        inputs = jnp.asarray(inputs)
        if inputs.dtype not in (jnp.float16, jnp.float32, jnp.float64):
            raise TypeError(
                f"Invalid input type. Expected `float16`, `float32` or `float64`. Received: "
                f"input type={inputs.dtype} (layer '{self.name}'). Cast the signal to float "
                "first.")
        real = None if self.mode == "imag" else self._transform(inputs, self.real_kernel)
        imag = None if self.mode == "real" else self._transform(inputs, self.imag_kernel)
        if self.mode == "real":
            return self._arrange(real)
        if self.mode == "imag":
            return self._arrange(imag)
        if self.mode == "angle":
            return self._arrange(jnp.arctan2(imag, real))
        if self.mode == "stft":
            return self._arrange(jnp.concatenate([real, imag], axis=2))
        power = jnp.square(real) + jnp.square(imag)
        if self.mode == "psd":
            mirrored = jnp.pad(power[:, :, 1:-1, :], [(0, 0), (0, 0), (1, 1), (0, 0)])
            return self._arrange(power + mirrored)
        magnitude = self._arrange(jnp.sqrt(jnp.maximum(power, config.epsilon())))
        if self.mode == "magnitude":
            return magnitude
        return jnp.log(jnp.maximum(magnitude, config.epsilon()))

    def compute_output_shape(self, input_shape):
        if self.data_format == "channels_last":
            length, channels = input_shape[1], input_shape[2]
        else:
            channels, length = input_shape[1], input_shape[2]
        bins = self._fft_length // 2 + 1
        if self.mode == "stft":
            bins *= 2
        if length is None:
            frames = None
        elif self.padding == "same":
            frames = -(-length // self._frame_step)
        else:
            frames = (length - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            if self.data_format == "channels_last":
                return (input_shape[0], frames, bins, channels)
            return (input_shape[0], channels, frames, bins)
        width = None if channels is None else bins * channels
        if self.data_format == "channels_last":
            return (input_shape[0], frames, width)
        return (input_shape[0], width, frames)

    def get_config(self):
        config_ = super().get_config()
        config_.update({
            "mode": self.mode, "frame_length": self.frame_length,
            "frame_step": self.frame_step, "fft_length": self.fft_length,
            "window": self.window, "periodic": self.periodic, "scaling": self.scaling,
            "padding": self.padding, "data_format": self.data_format,
            "expand_dims": self.expand_dims,
        })
        return config_


def _hertz_to_mel(frequencies):
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + frequencies / _MEL_BREAK_FREQUENCY_HERTZ)


def linear_to_mel_weight_matrix(num_mel_bins=20, num_spectrogram_bins=129, sampling_rate=8000,
                                lower_edge_hertz=125.0, upper_edge_hertz=3800.0,
                                dtype="float32"):
    """`(num_spectrogram_bins, num_mel_bins)`: triangular mel filters (HTK's mel scale, peaks
    of 1) mapping linear frequency bins from 0 to `sampling_rate / 2` onto mel bands between
    the two edges; bin 0 (DC) maps to nothing."""
    dtype = np.dtype(dtype)
    frequencies = np.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins,
                              dtype=dtype)[1:]
    bins_mel = _hertz_to_mel(frequencies)[:, None]
    edges = np.linspace(_hertz_to_mel(np.asarray(lower_edge_hertz, dtype)),
                        _hertz_to_mel(np.asarray(upper_edge_hertz, dtype)),
                        num_mel_bins + 2, dtype=dtype)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling)).astype(dtype)
    return np.pad(weights, [(1, 0), (0, 0)])


class MelSpectrogram(Layer):
    """A log-mel spectrogram of raw audio: the short-time Fourier transform (frames of
    `sequence_length` samples, default `fft_length`, every `sequence_stride`, centred and
    reflect-padded, `window`), its magnitude to the power `mag_exp`, `num_mel_bins`
    triangular mel filters between `min_freq` and `max_freq` (default half of
    `sampling_rate`), then, with `power_to_db`, decibels relative to `ref_power`, floored at
    `min_power` and at `top_db` below the largest value of the batch.

    Input: `(batch, samples)` or `(samples,)`; output `(batch, num_mel_bins, frames)`. It has
    no weights, and runs the same in training and inference.

    Examples:
        >>> layer = keras.layers.MelSpectrogram(fft_length=64, sequence_stride=16,
        ...                                     num_mel_bins=8, sampling_rate=8000)
        >>> layer(np.zeros((2, 128), "float32")).shape
        (2, 8, 9)
    """

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None,
                 window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                 max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length or fft_length
        if self.fft_length < self.sequence_length:
            raise ValueError(
                "`fft_length` must be greater than or equal to `sequence_length`. Received: "
                f"`sequence_length`={self.sequence_length}, `fft_length`={self.fft_length}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        super().__init__(**kwargs)

    def call(self, inputs):
        dtype = self.compute_dtype if self.compute_dtype in ("float32", "float64") \
            else "float32"
        inputs = jnp.asarray(inputs, dtype=dtype)
        real, imag = ops_math.stft(inputs, sequence_length=self.sequence_length,
                                   sequence_stride=self.sequence_stride,
                                   fft_length=self.fft_length, window=self.window,
                                   center=True)
        spectrum = jnp.power(jnp.sqrt(jnp.square(real) + jnp.square(imag)), self.mag_exp)
        matrix = linear_to_mel_weight_matrix(
            num_mel_bins=self.num_mel_bins, num_spectrogram_bins=spectrum.shape[-1],
            sampling_rate=self.sampling_rate, lower_edge_hertz=self.min_freq,
            upper_edge_hertz=self.max_freq, dtype=dtype)
        mel = jnp.tensordot(spectrum, jnp.asarray(matrix), axes=1)
        if self.power_to_db:
            mel = self._decibels(mel)
        return jnp.swapaxes(mel, -1, -2).astype(self.compute_dtype)

    def _decibels(self, power):
        db = 10.0 * jnp.log10(jnp.maximum(power, self.min_power))
        db = db - 10.0 * jnp.log10(jnp.maximum(abs(self.ref_power), self.min_power))
        return jnp.maximum(db, jnp.max(db) - self.top_db)

    def compute_output_shape(self, input_shape):
        length = input_shape[-1]
        frames = None if length is None else \
            (length + self.sequence_stride + 1) // self.sequence_stride
        if len(input_shape) == 1:
            return (self.num_mel_bins, frames)
        return (input_shape[0], self.num_mel_bins, frames)

    def get_config(self):
        config_ = super().get_config()
        config_.update({
            "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length, "window": self.window,
            "sampling_rate": self.sampling_rate, "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq, "max_freq": self.max_freq,
            "power_to_db": self.power_to_db, "top_db": self.top_db,
            "mag_exp": self.mag_exp, "min_power": self.min_power,
            "ref_power": self.ref_power,
        })
        return config_
