"""`keras.utils.load_img`, `save_img`, `img_to_array` and `array_to_img`: image files to and
from NumPy arrays, through Pillow (`pip install pillow`), in Keras's conventions."""

import io
import os
import pathlib
import warnings

import numpy as np

from lamina._runtime import config

try:
    from PIL import Image as _pil_image
except ImportError:  # an optional dependency: only these functions need it
    _pil_image = None

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
_COLOR_MODES = ("grayscale", "rgb", "rgba")


def _require_pil(function):
    if _pil_image is None:
        raise ImportError(
            f"Could not import PIL.Image. The use of `{function}` requires PIL: install "
            "Pillow with `pip install pillow`.")


def _data_format(data_format):
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(
            "`data_format` must be 'channels_first', 'channels_last' or None (the global "
            f"keras.config.image_data_format()). Received: data_format={data_format!r}")
    return data_format


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A 3-D array (one image) as a PIL image: 1 channel gives grayscale (`"L"`, or 32-bit
    `"I"` when values exceed 255 unscaled), 3 give RGB, 4 give RGBA.

    Args:
        x: the image, `(height, width, channels)` (or channels first, see `data_format`).
        data_format: `"channels_last"`, `"channels_first"` or None for
            `keras.config.image_data_format()`.
        scale: whether to stretch the values to fill 0..255 (the minimum becomes 0 and the
            maximum 255); False keeps them as they are.
        dtype: the float dtype for the conversion; None for `keras.config.floatx()`.

    Examples:
        >>> image = lamina.utils.array_to_img(np.zeros((4, 6, 3)))
        >>> image.size, image.mode   # PIL gives (width, height)
        ((6, 4), 'RGB')
    """
    data_format = _data_format(data_format)
    _require_pil("array_to_img")
    x = np.asarray(x, dtype=config.floatx() if dtype is None else dtype)
    if x.ndim != 3:
        raise ValueError(
            "Expected image array to have rank 3 (single image): (height, width, channels). "
            f"Got array with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels == 4:
        return _pil_image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return _pil_image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:  # values that 8 bits cannot hold: PIL's 32-bit grayscale
            return _pil_image.fromarray(x[:, :, 0].astype("int32"), "I")
        return _pil_image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(
        f"Unsupported channel number: {channels}. An image has 1 (grayscale), 3 (RGB) or 4 "
        f"(RGBA) channels; the array has shape {x.shape} ({data_format}).")


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image (or any 2-D/3-D array-like) as a 3-D NumPy array: `(height, width,
    channels)`, or channels first.

    Args:
        img: a PIL image.
        data_format: `"channels_last"`, `"channels_first"` or None for
            `keras.config.image_data_format()`.
        dtype: the result's dtype; None for `keras.config.floatx()`.

    Examples:
        >>> image = lamina.utils.array_to_img(np.zeros((4, 6, 1)))
        >>> lamina.utils.img_to_array(image).shape
        (4, 6, 1)
    """
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=config.floatx() if dtype is None else dtype)
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[:, :, None]
    raise ValueError(
        f"Unsupported image shape: {x.shape}. An image is 2-D (grayscale) or 3-D (with "
        "channels).")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves a 3-D array as an image file (through `array_to_img`).

    Args:
        path: a path or a writable file object.
        x: the image array.
        data_format: `"channels_last"`, `"channels_first"` or None for the global setting.
        file_format: the format (`"png"`, `"jpeg"`, ...); None takes the path's extension
            (pass it when `path` is a file object).
        scale: whether to stretch the values to fill 0..255.
        **kwargs: passed to `PIL.Image.save` (e.g. `quality=90` for JPEG).

    Examples:
        >>> lamina.utils.save_img("image.png", np.random.rand(8, 8, 3))  # doctest: +SKIP
    """
    data_format = _data_format(data_format)
    if file_format is None and isinstance(path, (str, os.PathLike)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format is not None and file_format.lower() == "jpg":
        file_format = "jpeg"
    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        image = image.convert("RGB")
    try:
        image.save(path, format=file_format, **kwargs)
    except (KeyError, ValueError) as error:
        # Pillow's words for an unknown format: a KeyError naming it, or "unknown file
        # extension" when it had to guess from the path.
        if isinstance(error, KeyError) or "unknown file extension" in str(error):
            raise ValueError(
                f"save_img cannot write an image of format {file_format!r} to {path!r}. Give "
                "the path an extension Pillow knows, such as '.png' or '.jpg', or pass "
                "file_format='png'.") from None
        raise


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Loads an image file as a PIL image, converted to `color_mode` and optionally resized.

    Args:
        path: a path, or an `io.BytesIO` holding the file's bytes.
        color_mode: `"rgb"` (default), `"rgba"` or `"grayscale"` (8-, 16- and 32-bit
            grayscale images are kept as they are; others become 8-bit).
        target_size: None (the file's size) or `(height, width)`.
        interpolation: how to resample when resizing: `"nearest"` (default), `"bilinear"`,
            `"bicubic"`, `"hamming"`, `"box"` or `"lanczos"`.
        keep_aspect_ratio: whether to crop the centre of the image to the target's aspect
            ratio before resizing, instead of stretching it.

    Examples:
        >>> image = lamina.utils.load_img("cat.jpg", target_size=(224, 224))  # doctest: +SKIP
        >>> batch = lamina.utils.img_to_array(image)[None]                   # doctest: +SKIP
    """
    _require_pil("load_img")
    if color_mode not in _COLOR_MODES:
        raise ValueError(
            'color_mode must be "grayscale", "rgb", or "rgba". '
            f"Received: color_mode={color_mode!r}")
    if target_size is not None:
        try:
            height, width = (int(size) for size in target_size)
        except (TypeError, ValueError):
            height = width = None
        if height is None or height < 1 or width < 1:
            raise ValueError(
                "load_img's `target_size` must be None or (height, width), two positive ints. "
                f"Received: target_size={target_size!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"Invalid interpolation method {interpolation!r} specified. Supported methods "
                f"are {', '.join(_INTERPOLATIONS)}.")
    if isinstance(path, io.BytesIO):
        image = _pil_image.open(path)
    elif isinstance(path, (str, bytes, os.PathLike)):
        with open(path, "rb") as file:
            image = _pil_image.open(io.BytesIO(file.read()))
    else:
        raise TypeError(
            f"load_img's `path` should be path-like or io.BytesIO, not {type(path).__name__}.")
    if color_mode == "grayscale":
        if image.mode not in ("L", "I;16", "I"):
            image = image.convert("L")
    elif color_mode == "rgba":
        if image.mode != "RGBA":
            image = image.convert("RGBA")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    if target_size is None or image.size == (width, height):
        return image
    resample = getattr(_pil_image.Resampling, interpolation.upper())
    if not keep_aspect_ratio:
        return image.resize((width, height), resample)
    # The largest centred box with the target's aspect ratio, then resized to the target.
    original_width, original_height = image.size
    crop_height = min(original_height, (original_width * height) // width)
    crop_width = min(original_width, (original_height * width) // height)
    top = (original_height - crop_height) // 2
    left = (original_width - crop_width) // 2
    return image.resize((width, height), resample,
                        box=[left, top, left + crop_width, top + crop_height])
