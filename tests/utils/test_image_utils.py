"""Image files to and from arrays (`load_img`, `save_img`, `img_to_array`, `array_to_img`),
pixel for pixel as Keras 3.15 gives them."""

import io
import os
import re

import numpy as np
import pytest

import lamina
from lamina.utils import image_utils

pytest.importorskip("PIL.Image", reason="the image helpers need Pillow")
RNG = np.random.default_rng(0)
IMAGE = RNG.random((5, 7, 3)) * 300 - 20


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


@pytest.mark.parametrize("array, options", [
    (IMAGE, {}),
    (RNG.random((5, 7, 4)), {}),
    (RNG.random((5, 7, 1)), {}),
    (RNG.random((5, 7, 1)) * 1000, {"scale": False}),   # 32-bit grayscale
    (RNG.random((3, 5, 7)), {"data_format": "channels_first"}),
])
def test_array_to_img_like_keras(keras3, array, options):
    ours, theirs = lamina.utils.array_to_img(array, **options), \
        keras3.utils.array_to_img(array, **options)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.fixture(scope="module")
def png_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("images") / "image.png"
    lamina.utils.save_img(path, IMAGE)
    return path


@pytest.mark.parametrize("options", [
    {}, {"target_size": (3, 4)},
    {"target_size": (3, 4), "keep_aspect_ratio": True, "interpolation": "bilinear"},
    {"color_mode": "grayscale", "target_size": (9, 2), "keep_aspect_ratio": True},
    {"color_mode": "rgba", "interpolation": "lanczos", "target_size": (10, 10)},
])
def test_load_img_and_img_to_array_like_keras(keras3, png_file, options):
    ours = lamina.utils.img_to_array(lamina.utils.load_img(png_file, **options))
    theirs = keras3.utils.img_to_array(keras3.utils.load_img(png_file, **options))
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)


def test_save_img_bytes_like_keras(keras3, tmp_path):
    lamina.utils.save_img(tmp_path / "ours.png", IMAGE)
    keras3.utils.save_img(tmp_path / "theirs.png", IMAGE)
    assert (tmp_path / "ours.png").read_bytes() == (tmp_path / "theirs.png").read_bytes()


def test_file_objects_and_channels_first(png_file):
    buffer = io.BytesIO()
    lamina.utils.save_img(buffer, IMAGE, file_format="png")
    loaded = lamina.utils.load_img(io.BytesIO(buffer.getvalue()))
    first = lamina.utils.img_to_array(loaded, data_format="channels_first", dtype="uint8")
    assert first.shape == (3, 5, 7) and first.dtype == np.uint8
    gray = lamina.utils.load_img(png_file, color_mode="grayscale")
    assert lamina.utils.img_to_array(gray, data_format="channels_first").shape == (1, 5, 7)


def test_jpeg_drops_alpha_with_a_warning(tmp_path):
    with pytest.warns(UserWarning, match="JPEG format does not support RGBA"):
        lamina.utils.save_img(tmp_path / "image.jpg", RNG.random((4, 4, 4)))
    assert lamina.utils.load_img(tmp_path / "image.jpg").size == (4, 4)


@pytest.mark.parametrize("call, error, words", [
    (lambda: lamina.utils.array_to_img(np.ones((2, 2))), ValueError, "rank 3"),
    (lambda: lamina.utils.array_to_img(np.ones((2, 2, 2))), ValueError,
     "Unsupported channel number: 2"),
    (lambda: lamina.utils.array_to_img(np.ones((2, 2, 3)), data_format="NHWC"), ValueError,
     "data_format='NHWC'"),
    (lambda: lamina.utils.img_to_array(np.ones((1, 2, 2, 3))), ValueError,
     "Unsupported image shape: (1, 2, 2, 3)"),
    (lambda: lamina.utils.load_img(3), TypeError, "path-like or io.BytesIO, not int"),
    (lambda: lamina.utils.load_img("x.png", color_mode="bgr"), ValueError,
     "color_mode='bgr'"),
    (lambda: lamina.utils.load_img("x.png", target_size=(0, 3)), ValueError,
     "target_size=(0, 3)"),
    (lambda: lamina.utils.load_img("x.png", target_size=(3, 3), interpolation="cubic"),
     ValueError, "'cubic'"),
    (lambda: lamina.utils.save_img("image.unknownformat", IMAGE), ValueError,
     "Give the path an extension"),
])
def test_bad_input_names_what_was_expected(call, error, words):
    with pytest.raises(error, match=re.escape(words)):
        call()


def test_without_pillow_says_what_to_install(monkeypatch):
    monkeypatch.setattr(image_utils, "_pil_image", None)
    with pytest.raises(ImportError, match=r"`load_img` requires PIL.*pip install pillow"):
        lamina.utils.load_img("x.png")
