"""STFTSpectrogram, MelSpectrogram and the STFT initializer: Keras 3.15's numbers (recorded on
JAX from the same signals; 20 configurations were also compared side by side, within 3e-6
for STFTSpectrogram and 2.3e-5 on 25 dB for MelSpectrogram), shapes, configs, training."""

import numpy as np
import pytest

import lamina as keras

SIGNAL = np.sin(np.arange(16) * 0.7).astype("float32").reshape(1, 16, 1)
AUDIO = (np.sin(np.arange(64) * 0.9) + 0.5 * np.cos(np.arange(64) * 2.1)).astype(
    "float32").reshape(1, 64)


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[-0.08779, 0.05771, -0.56436, -3.35416, -4.01051],
          [0.20993, 0.11956, -0.5895, -3.3269701, -4.41871],
          [0.34266, 0.15751, -0.60728, -3.30935, -5.38541]]),
    ({"mode": "psd", "window": "hamming", "scaling": "spectrum"},
     [[0.13441, 0.48154, 0.08868, 0.00073, 0.00016],
      [0.24379, 0.52751, 0.08625, 0.00059, 0.00007],
      [0.31791, 0.55867, 0.08461, 0.00049, 0.00001]]),
])
def test_stft_spectrogram_equals_keras(kwargs, expected):
    layer = keras.layers.STFTSpectrogram(frame_length=8, frame_step=4, **kwargs)
    out = np.asarray(layer(SIGNAL))
    assert out.shape == (1, 3, 5)
    np.testing.assert_allclose(out[0], expected, atol=2e-5)
    assert [w.name for w in layer.weights] == ["real_kernel", "imag_kernel"]
    assert layer.compute_output_shape((None, 16, 1)) == (None, 3, 5)


def test_stft_spectrogram_modes_shapes_and_config():
    x = np.random.default_rng(0).normal(size=(2, 40, 3)).astype("float32")
    shapes = {"real": (2, 17, 15), "stft": (2, 17, 30), "angle": (2, 17, 15)}
    for mode, shape in shapes.items():
        layer = keras.layers.STFTSpectrogram(mode=mode, frame_length=8, frame_step=2)
        assert layer(x).shape == shape == layer.compute_output_shape(x.shape)
        assert len(layer.weights) == (1 if mode == "real" else 2)
    layer = keras.layers.STFTSpectrogram(frame_length=8, padding="same", expand_dims=True,
                                         data_format="channels_first")
    assert layer(x.transpose(0, 2, 1)).shape == (2, 3, 10, 5)  # 40 / 4 frames, 5 bins
    clone = keras.layers.STFTSpectrogram.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert layer.get_config()["window"] == "hann" and layer.get_config()["frame_step"] is None


def test_stft_kernels_train():
    model = keras.Sequential([keras.Input((16, 1)),
                              keras.layers.STFTSpectrogram(frame_length=8, frame_step=4),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    before = np.asarray(model.layers[0].real_kernel)
    model.fit(np.repeat(SIGNAL, 4, axis=0), np.ones((4, 1)), verbose=0)
    assert not np.allclose(before, np.asarray(model.layers[0].real_kernel))


def test_mel_spectrogram_equals_keras():
    layer = keras.layers.MelSpectrogram(fft_length=16, sequence_stride=8, num_mel_bins=4,
                                        sampling_rate=800)
    out = np.asarray(layer(AUDIO))
    assert out.shape == (1, 4, 9) == tuple(layer.compute_output_shape(AUDIO.shape))
    np.testing.assert_allclose(out[0, :, :3], [[8.3199, 10.7369, 10.7146],
                                               [6.7897, 10.5864, 10.6171],
                                               [3.1575, 4.7888, 4.7517],
                                               [0.0290, 4.6855, 4.6867]], atol=2e-3)
    np.testing.assert_allclose(out[0, :, 8], [7.2445, 9.4214, 9.8979, 6.2465], atol=2e-3)
    assert layer.weights == []
    clone = keras.layers.MelSpectrogram.from_config(layer.get_config())
    assert clone.get_config()["max_freq"] == 400 and clone.get_config()["sequence_length"] == 16


def test_stft_initializer_and_aliases():
    kernel = keras.initializers.STFT("imag", "hann", "density", True)((4, 1, 3))
    np.testing.assert_allclose(np.asarray(kernel)[:, 0, :],
                               [[0, 0, 0], [0, -0.40825, 0], [0, 0, 0], [0, 0.40825, 0]],
                               atol=1e-5)
    assert keras.initializers.STFTInitializer is keras.initializers.stft is \
        keras.initializers.STFT
    restored = keras.initializers.get({"class_name": "STFT", "config": {
        "side": "real", "window": None, "periodic": False, "scaling": None}})
    assert np.asarray(restored((4, 1, 3)))[:, 0, 2].tolist() == [1.0, -1.0, 1.0, -1.0]


def test_bad_arguments_are_refused_as_keras_does():
    with pytest.raises(ValueError, match="`frame_step` should be a positive integer"):
        keras.layers.STFTSpectrogram(frame_length=8, frame_step=9)
    with pytest.raises(ValueError, match="`fft_length` should be not less than"):
        keras.layers.STFTSpectrogram(frame_length=8, fft_length=4)
    with pytest.raises(ValueError, match="Output mode is invalid.*mode=loud"):
        keras.layers.STFTSpectrogram(mode="loud")
    with pytest.raises(ValueError, match="no-such-window"):
        keras.layers.STFTSpectrogram(window="no-such-window")
    with pytest.raises(TypeError, match="Expected `float16`, `float32` or `float64`.*int32"):
        keras.layers.STFTSpectrogram(frame_length=8)(np.ones((1, 16, 1), "int32"))
    with pytest.raises(ValueError, match="`fft_length` must be greater than or equal to"):
        keras.layers.MelSpectrogram(fft_length=16, sequence_length=32)
    with pytest.raises(ValueError, match="side should be 'real' or 'imag'"):
        keras.initializers.STFT(side="both")
    with pytest.raises(ValueError, match=r"The shape of `window` must be equal to "
                                         r"\[frame_length\]"):
        keras.initializers.STFT(window=np.ones(3))((4, 1, 3))
