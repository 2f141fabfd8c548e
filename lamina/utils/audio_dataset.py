"""`keras.utils.audio_dataset_from_directory`: a folder of `.wav` files, one class per
subfolder, as batches of float32 waveforms.

WAV files are read by `scipy.io.wavfile` (SciPy is a dependency of JAX, so nothing is added),
and resampled by `scipy.signal.resample`, as Keras 3 does on its TensorFlow-free path
(`format="grain"`): integer PCM is scaled to [-1, 1) the same way (int16 / 32768, int32 /
2^31, (uint8 - 128) / 128), float WAV is kept.
"""

import functools

import numpy as np

from lamina._registry import keras_export
from lamina.utils import dataset_from_directory as folders

ALLOWED_FORMATS = (".wav",)


def read_wav(path, sampling_rate=None, output_sequence_length=None):
    """One WAV file as float32 `(samples, channels)`, resampled and cut or zero-padded."""
    from scipy import signal
    from scipy.io import wavfile

    rate, audio = wavfile.read(path)
    if audio.dtype == np.int16:
        audio = audio.astype(np.float32) / 32768.0
    elif audio.dtype == np.int32:
        audio = audio.astype(np.float32) / 2147483648.0
    elif audio.dtype == np.uint8:
        audio = (audio.astype(np.float32) - 128.0) / 128.0
    else:
        audio = audio.astype(np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    if sampling_rate is not None and rate != sampling_rate and len(audio):
        count = max(1, int(round(len(audio) * sampling_rate / rate)))
        audio = signal.resample(audio, count, axis=0).astype(np.float32)
    if output_sequence_length is not None:
        if len(audio) < output_sequence_length:
            padding = np.zeros((output_sequence_length - len(audio), audio.shape[1]),
                               np.float32)
            audio = np.concatenate([audio, padding])
        audio = audio[:output_sequence_length]
    return audio


def pad_and_stack(waveforms):
    """Waveforms `(samples, channels)` of different lengths as one zero-padded batch."""
    longest = max(len(wave) for wave in waveforms)
    channels = {wave.shape[1] for wave in waveforms}
    if len(channels) > 1:
        raise ValueError(
            f"The audio files of one batch have different numbers of channels: "
            f"{sorted(channels)}. Convert them to one channel count (e.g. mono).")
    batch = np.zeros((len(waveforms), longest, channels.pop()), np.float32)
    for index, wave in enumerate(waveforms):
        batch[index, :len(wave)] = wave
    return batch


@keras_export("keras.utils.audio_dataset_from_directory")
def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size=32, sampling_rate=None,
                                 output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 follow_links=False, format="tf", verbose=True):
    """A dataset of the `.wav` files in `directory`, one class per subfolder, for `fit`.

    Labels, `class_names`, `shuffle`/`seed` and `validation_split`/`subset` work as in
    `image_dataset_from_directory`. Batches are `(audio, labels)`: audio float32
    `(batch, samples, channels)` in [-1, 1], resampled to `sampling_rate` if set, cut or
    zero-padded to `output_sequence_length`, or else zero-padded to the longest file of the
    batch. `ragged=True` is refused: NumPy and JAX have no ragged arrays (pad, or batch by
    length yourself).

    Returns a `keras.utils.PyDataset` of NumPy batches with `class_names` and `file_paths`
    (Keras returns a `tf.data.Dataset`), or a `grain.IterDataset` with `format="grain"`.

    Examples:
        >>> import os, tempfile
        >>> from scipy.io import wavfile
        >>> folder = tempfile.mkdtemp()
        >>> for name, length in (("no", 5), ("yes", 3)):
        ...     os.makedirs(os.path.join(folder, name))
        ...     wavfile.write(os.path.join(folder, name, "1.wav"), 16000,
        ...                   np.full(length, 16384, np.int16))
        >>> dataset = keras.utils.audio_dataset_from_directory(
        ...     folder, batch_size=2, shuffle=False, verbose=False)
        >>> audio, labels = dataset[0]
        >>> audio.shape, audio[1, :, 0].tolist(), labels.tolist()
        ((2, 5, 1), [0.5, 0.5, 0.5, 0.0, 0.0], [0, 1])
    """
    folders.check_arguments(labels, label_mode, class_names, validation_split, subset,
                            shuffle, seed, format, "audio")
    if ragged:
        raise ValueError(
            "ragged=True is not supported: lamina's batches are NumPy arrays, which cannot "
            "be ragged. Leave ragged=False (batches are zero-padded to their longest file) "
            "or pass output_sequence_length.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if sampling_rate is not None:
        if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, int):
            raise ValueError("`sampling_rate` should have an integer value. "
                             f"Received: sampling_rate={sampling_rate}")
        if sampling_rate <= 0:
            raise ValueError("`sampling_rate` should be higher than 0. "
                             f"Received: sampling_rate={sampling_rate}")
    if seed is None:
        seed = np.random.randint(1e6)
    file_paths, labels, class_names = folders.index_directory(
        directory, labels, formats=ALLOWED_FORMATS, class_names=class_names, shuffle=shuffle,
        seed=seed, follow_links=follow_links, verbose=verbose)
    load = functools.partial(read_wav, sampling_rate=sampling_rate,
                             output_sequence_length=output_sequence_length)

    def make(paths, encoded, training):
        dataset = folders.FileDataset(
            paths, encoded, load, batch_size=batch_size, shuffle=shuffle and training,
            seed=seed, collate=pad_and_stack, class_names=class_names, what="audio",
            fix="Replace it with a readable WAV file, or remove it from the folder.")
        return folders.to_grain(dataset) if format == "grain" else dataset

    return folders.build(file_paths, labels, label_mode, class_names, validation_split,
                         subset, make, directory, "audio files",
                         f"Allowed format(s): {ALLOWED_FORMATS}", verbose)
