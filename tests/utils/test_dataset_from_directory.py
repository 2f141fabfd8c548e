"""keras.utils image/text/audio_dataset_from_directory and timeseries_dataset_from_array, on
folders and files the tests write. Reference numbers: Keras 3.15 on JAX (format="grain",
its TensorFlow-free path), recorded from the same files."""

import os
import threading

import numpy as np
import pytest
from PIL import Image
from scipy.io import wavfile

import lamina as keras

# A 4x6 RGB image with a known gradient; class "b" holds its left 4 columns.
IMAGE = (np.arange(4 * 6 * 3).reshape(4, 6, 3) * 3 % 256).astype(np.uint8)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    for name, image in (("a", IMAGE), ("b", IMAGE[:, :4])):
        (root / name).mkdir()
        Image.fromarray(image).save(root / name / "x.png")
    return root


def _first(dataset):
    return dataset[0]


@pytest.mark.parametrize("kwargs, expected", [
    ({}, [[[13.5, 31.5, 49.5], [85.5, 103.5, 121.5], [157.5, 175.5, 193.5]],
          [[10.5, 22.5, 34.5], [82.5, 94.5, 106.5], [154.5, 166.5, 178.5]]]),
    ({"crop_to_aspect_ratio": True},
     [[[19.5, 31.5, 43.5], [91.5, 103.5, 115.5], [163.5, 175.5, 187.5]],
      [[10.5, 22.5, 34.5], [82.5, 94.5, 106.5], [154.5, 166.5, 178.5]]]),
    ({"pad_to_aspect_ratio": True},
     [[[2.25, 11.25, 20.25], [85.5, 103.5, 121.5], [83.25, 92.25, 101.25]],
      [[10.5, 22.5, 34.5], [82.5, 94.5, 106.5], [154.5, 166.5, 178.5]]]),
    ({"interpolation": "bicubic", "color_mode": "grayscale"},
     [[[11.2595, 30.0536, 48.8477], [86.7059, 105.5, 124.2941], [162.1523, 180.9464, 199.7405]],
      [[8.4792, 21.0536, 33.628], [83.9256, 96.5, 109.0744], [159.372, 171.9464, 184.5208]]]),
])
def test_images_resized_cropped_padded_as_keras(images, kwargs, expected):
    dataset = keras.utils.image_dataset_from_directory(
        images, image_size=(3, 3), shuffle=False, batch_size=2, verbose=False, **kwargs)
    x, y = dataset[0]
    channels = 1 if kwargs.get("color_mode") == "grayscale" else 3
    assert x.shape == (2, 3, 3, channels) and x.dtype == np.float32
    np.testing.assert_allclose(x[..., 0], expected, atol=2e-4)
    assert y.tolist() == [0, 1] and y.dtype == np.int32
    assert dataset.class_names == ["a", "b"]
    assert dataset.file_paths == [str(images / "a" / "x.png"), str(images / "b" / "x.png")]


@pytest.fixture(scope="module")
def three_classes(tmp_path_factory):
    """12 images of different sizes in three classes, a non-image file and a hidden folder."""
    root = tmp_path_factory.mktemp("three")
    rng = np.random.default_rng(0)
    for label, name in enumerate(("cat", "dog", "eel")):
        (root / name).mkdir()
        for index in range(4):
            size = (5 + index, 7 - index, 3)
            Image.fromarray(np.full(size, 60 * label + index, np.uint8)).save(
                root / name / f"{index}.{'png' if index % 2 else 'jpg'}")
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    Image.fromarray(rng.integers(0, 255, (4, 4, 3), np.uint8)).save(root / ".hidden" / "h.png")
    return root


def test_label_modes_class_names_and_sizes(three_classes):
    kwargs = dict(image_size=(4, 5), batch_size=12, shuffle=False, verbose=False)
    x, y = keras.utils.image_dataset_from_directory(three_classes, **kwargs)[0]
    assert x.shape == (12, 4, 5, 3) and y.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    # Each image is flat, so resizing keeps its value: 60 * class + index.
    assert x[:, 0, 0, 0].tolist() == [60 * c + i for c in range(3) for i in range(4)]
    _, onehot = keras.utils.image_dataset_from_directory(
        three_classes, label_mode="categorical", **kwargs)[0]
    np.testing.assert_array_equal(onehot, np.eye(3, dtype=np.float32)[y])
    ordered = keras.utils.image_dataset_from_directory(
        three_classes, class_names=["eel", "cat"], label_mode="binary", **kwargs)
    x2, binary = ordered[0]
    assert ordered.class_names == ["eel", "cat"] and binary.shape == (8, 1)
    assert binary[:, 0].tolist() == [0.0] * 4 + [1.0] * 4 and x2[0, 0, 0, 0] == 120
    alone = keras.utils.image_dataset_from_directory(three_classes, labels=None, **kwargs)
    assert isinstance(alone[0], np.ndarray) and alone.class_names is None
    # Without inferred labels every file counts, hidden folders too (as in Keras).
    listed = keras.utils.image_dataset_from_directory(
        three_classes, labels=list(range(13)), **kwargs)
    assert listed[0][1].tolist() == list(range(12)) and len(listed.class_names) == 13
    channels_first = keras.utils.image_dataset_from_directory(
        three_classes, data_format="channels_first", color_mode="rgba", **kwargs)
    assert channels_first[0][0].shape == (12, 4, 4, 5)


def test_shuffle_split_and_reshuffle_are_seeded(three_classes):
    kwargs = dict(image_size=(2, 2), batch_size=3, verbose=False, seed=7,
                  validation_split=0.25)
    train, val = keras.utils.image_dataset_from_directory(three_classes, subset="both",
                                                          **kwargs)
    assert (len(train.file_paths), len(val.file_paths)) == (9, 3)
    assert not set(train.file_paths) & set(val.file_paths)
    again = keras.utils.image_dataset_from_directory(three_classes, subset="training",
                                                     **kwargs)
    assert again.file_paths == train.file_paths
    assert keras.utils.image_dataset_from_directory(
        three_classes, subset="validation", **kwargs).file_paths == val.file_paths
    first = [train[i][1].tolist() for i in range(3)]
    train.on_epoch_end()  # a new order each epoch, the same samples
    second = [train[i][1].tolist() for i in range(3)]
    assert first != second and sorted(sum(first, [])) == sorted(sum(second, []))
    # Labels travel with their images.
    x, y = train[0]
    assert (x[:, 0, 0, 0] // 60).astype(int).tolist() == y.tolist()


def test_fit_and_predict_iterate_the_dataset(three_classes):
    dataset = keras.utils.image_dataset_from_directory(
        three_classes, image_size=(4, 4), batch_size=4, seed=1, verbose=False)
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Flatten(), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(dataset, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(dataset, verbose=0).shape == (12, 3)


def test_grain_format_yields_the_same_batches(three_classes):
    pytest.importorskip("grain")
    kwargs = dict(image_size=(3, 3), batch_size=5, shuffle=False, verbose=False)
    ours = keras.utils.image_dataset_from_directory(three_classes, **kwargs)
    grained = keras.utils.image_dataset_from_directory(three_classes, format="grain",
                                                       **kwargs)
    assert grained.class_names == ours.class_names and grained.file_paths == ours.file_paths
    for index, (x, y) in enumerate(grained):
        np.testing.assert_array_equal(x, ours[index][0])
        np.testing.assert_array_equal(y, ours[index][1])


def test_an_unreadable_image_is_reported_naming_the_file(tmp_path):
    (tmp_path / "a").mkdir()
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(tmp_path / "a" / "good.png")
    (tmp_path / "a" / "broken.jpg").write_bytes(b"this is not a jpeg")
    dataset = keras.utils.image_dataset_from_directory(
        tmp_path, image_size=(2, 2), shuffle=False, batch_size=2, verbose=False)
    with pytest.raises(OSError, match="broken.jpg") as info:
        dataset[0]
    assert any("broken.jpg" in note and "Remove it" in note for note in info.value.__notes__)
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(OSError, match="broken.jpg"):
        model.fit(dataset, verbose=0)
    assert not [t for t in threading.enumerate() if t.name.startswith("lamina-prefetch")]


def test_bad_arguments_and_empty_folders_give_keras_messages(tmp_path, three_classes):
    with pytest.raises(ValueError, match=r"Invalid `image_size` value. Expected a tuple of 2 "
                                         r"integers. Received: image_size=None"):
        keras.utils.image_dataset_from_directory(three_classes, image_size=None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"No images found in directory .*empty. Allowed "
                                         r"formats: \('.bmp', '.gif', '.jpeg', '.jpg', "
                                         r"'.png'\)"):
        keras.utils.image_dataset_from_directory(tmp_path / "empty", verbose=False)
    with pytest.raises(ValueError, match="there must be exactly 2 class_names"):
        keras.utils.image_dataset_from_directory(three_classes, label_mode="binary",
                                                 verbose=False)
    with pytest.raises(ValueError, match="must provide a `seed`"):
        keras.utils.image_dataset_from_directory(three_classes, validation_split=0.2,
                                                 subset="training")
    with pytest.raises(ValueError, match=r"class_names=\['cow'\]"):
        keras.utils.image_dataset_from_directory(three_classes, class_names=["cow"])
    with pytest.raises(ValueError, match="len\\(labels\\) is 2 while we found 13 files"):
        keras.utils.image_dataset_from_directory(three_classes, labels=[0, 1],
                                                 verbose=False)
    with pytest.raises(ValueError, match="does not exist"):
        keras.utils.image_dataset_from_directory(tmp_path / "nowhere")


def test_text_dataset(tmp_path):
    for name, texts in (("neg", ["awful film", "bad"]), ("pos", ["great fun, é"])):
        (tmp_path / name).mkdir()
        for index, text in enumerate(texts):
            (tmp_path / name / f"{index}.txt").write_text(text, encoding="utf-8")
    (tmp_path / "pos" / "skip.md").write_text("not read")
    dataset = keras.utils.text_dataset_from_directory(
        tmp_path, batch_size=8, shuffle=False, max_length=7, verbose=False)
    texts, labels = dataset[0]
    assert texts.tolist() == ["awful f", "bad", "great f"] and labels.tolist() == [0, 0, 1]
    assert dataset.class_names == ["neg", "pos"]
    (tmp_path / "neg" / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(UnicodeDecodeError) as info:
        keras.utils.text_dataset_from_directory(tmp_path, shuffle=False, verbose=False)[0]
    assert any("latin1.txt" in note and "UTF-8" in note for note in info.value.__notes__)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"No text files found in directory .*empty. "
                                         "Allowed format: .txt"):
        keras.utils.text_dataset_from_directory(tmp_path / "empty", verbose=False)


def test_audio_dataset(tmp_path):
    for name, waves in (("no", [np.full(5, 16384, np.int16)]),
                        ("yes", [np.array([0, 255, 128], np.uint8),
                                 np.array([[0.25, -0.5]] * 4, np.float32)])):
        (tmp_path / name).mkdir()
        for index, wave in enumerate(waves):
            wavfile.write(tmp_path / name / f"{index}.wav", 8000, wave)
    mono = keras.utils.audio_dataset_from_directory(
        tmp_path / "yes", labels=None, batch_size=1, shuffle=False, verbose=False)
    np.testing.assert_allclose(mono[0][0, :, 0], [-1.0, 127 / 128, 0.0])
    assert mono[1].shape == (1, 4, 2)
    dataset = keras.utils.audio_dataset_from_directory(
        tmp_path / "no", batch_size=2, shuffle=False, verbose=False,
        output_sequence_length=7, labels=[3])
    audio, labels = dataset[0]
    assert audio[0, :, 0].tolist() == [0.5] * 5 + [0.0] * 2 and labels.tolist() == [3]
    resampled = keras.utils.audio_dataset_from_directory(
        tmp_path / "no", batch_size=1, shuffle=False, verbose=False, sampling_rate=16000,
        labels=None)
    assert resampled[0].shape == (1, 10, 1)
    with pytest.raises(ValueError, match="ragged=True is not supported"):
        keras.utils.audio_dataset_from_directory(tmp_path, ragged=True)
    with pytest.raises(ValueError, match=r"different numbers of channels: \[1, 2\]"):
        keras.utils.audio_dataset_from_directory(tmp_path / "yes", labels=None,
                                                 shuffle=False, verbose=False)[0]


def test_timeseries_windows_as_keras():
    data = np.arange(100).reshape(50, 2)
    targets = np.arange(50) * 10
    dataset = keras.utils.timeseries_dataset_from_array(
        data, targets, sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=4,
        start_index=3, end_index=40)
    assert len(dataset) == 3
    x, y = dataset[0]
    assert x[:, :, 0].tolist() == [[6, 10, 14, 18], [12, 16, 20, 24], [18, 22, 26, 30],
                                   [24, 28, 32, 36]]
    assert y.tolist() == [30, 60, 90, 120]
    assert dataset[2][1].tolist() == [270, 300, 330]
    shuffled = keras.utils.timeseries_dataset_from_array(
        data, None, sequence_length=5, batch_size=7, shuffle=True, seed=3)
    firsts = np.concatenate([shuffled[i][:, 0, 0] for i in range(len(shuffled))])
    assert sorted(firsts.tolist()) == list(range(0, 92, 2)) and firsts.tolist() != sorted(
        firsts.tolist())
    with pytest.raises(ValueError, match="`sequence_stride` must be lower than the length"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, sequence_stride=50)
    with pytest.raises(ValueError, match="`end_index` must be higher than `start_index`"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, start_index=5, end_index=4)
