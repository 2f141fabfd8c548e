"""`keras.utils.image_dataset_from_directory` and `keras.preprocessing.image.smart_resize`.

Images are decoded by Pillow and resized on the host with NumPy, in Keras's numerics (those of
`keras.ops.image.resize` on JAX, i.e. `jax.image.resize` without antialiasing): resizing is
separable and linear, so each axis is one small matrix, built once per (source size, target
size, interpolation); a folder of images of many sizes never compiles a program per size.
"""

import functools

import numpy as np

from lamina._registry import keras_export
from lamina._runtime import config
from lamina.ops import image as image_ops
from lamina.utils import dataset_from_directory as folders

try:
    from PIL import Image as _pil_image
except ImportError:  # an optional dependency: only image loading needs it
    _pil_image = None

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                   "gaussian", "mitchellcubic")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


def _triangle(x):
    return np.maximum(0.0, 1.0 - x)


def _keys_cubic(x):
    near = ((1.5 * x - 2.5) * x) * x + 1.0
    far = ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0
    return np.where(x >= 2.0, 0.0, np.where(x >= 1.0, far, near))


def _lanczos(radius):
    def kernel(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius) / (np.pi ** 2 * x ** 2)
        return np.where(x > radius, 0.0, np.where(x > 1e-3, y, 1.0))
    return kernel


_KERNELS = {"bilinear": _triangle, "bicubic": _keys_cubic, "lanczos3": _lanczos(3),
            "lanczos5": _lanczos(5)}


@functools.lru_cache(maxsize=1024)
def _resize_matrix(source, target, interpolation):
    """`(target, source)`: the linear map `keras.ops.image.resize` (`jax.image.resize`
    without antialiasing) applies along one axis: half-pixel centres, the kernel's weights
    normalized over the pixels inside the image."""
    if interpolation == "nearest":
        matrix = np.zeros((target, source), np.float32)
        columns = np.floor((np.arange(target) + 0.5) * source / target).astype(np.int64)
        matrix[np.arange(target), np.minimum(columns, source - 1)] = 1.0
        return matrix
    inverse = np.float32(source / target)
    samples = (np.arange(target, dtype=np.float32) + 0.5) * inverse - 0.5
    distance = np.abs(samples[:, None] - np.arange(source, dtype=np.float32)[None, :])
    weights = _KERNELS[interpolation](distance).astype(np.float32)
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.where(np.abs(totals) > 1000.0 * np.finfo(np.float32).eps,
                       weights / np.where(totals != 0, totals, 1), 0.0)
    inside = (samples >= -0.5) & (samples <= source - 0.5)
    return np.where(inside[:, None], weights, 0.0).astype(np.float32)


def _resize(image, size, interpolation):
    """`image` (height, width, channels) resized to `size` with Keras's numerics."""
    height, width = image.shape[:2]
    rows = _resize_matrix(height, size[0], interpolation)
    cols = _resize_matrix(width, size[1], interpolation)
    out = np.tensordot(rows, image, axes=(1, 0))  # (target height, width, channels)
    return np.einsum("jw,iwc->ijc", cols, out).astype(np.float32)


def _aspect_box(height, width, size, pad):
    """Keras's window of the target aspect ratio: (box height, box width, top, left); a crop
    inside the image, or with `pad` the padded canvas the image sits in."""
    target_height, target_width = size
    box_height = int(float(width * target_height) / target_width)
    box_width = int(float(height * target_width) / target_height)
    if pad:  # the same margin on both sides, as Keras pads (so odd margins lose a row)
        top = int(float(max(height, box_height) - height) / 2)
        left = int(float(max(width, box_width) - width) / 2)
        return height + 2 * top, width + 2 * left, top, left
    box_height = max(min(height, box_height), 1)
    box_width = max(min(width, box_width), 1)
    return (box_height, box_width, int(float(height - box_height) / 2),
            int(float(width - box_width) / 2))


def load_image(path, image_size, num_channels, interpolation, data_format,
               crop_to_aspect_ratio=False, pad_to_aspect_ratio=False):
    """One image file as float32 `(height, width, channels)` (or channels first), resized."""
    if _pil_image is None:
        raise ImportError(
            "Could not import PIL.Image. image_dataset_from_directory requires Pillow: "
            "install it with `pip install pillow`.")
    with _pil_image.open(path) as img:
        if num_channels == 1:
            if img.mode not in ("L", "I;16", "I"):
                img = img.convert("L")
        elif num_channels == 4:
            if img.mode != "RGBA":
                img = img.convert("RGBA")
        elif img.mode != "RGB":
            img = img.convert("RGB")
        image = np.asarray(img, dtype=np.float32)
    if image.ndim == 2:
        image = image[:, :, None]
    height, width = image.shape[:2]
    if crop_to_aspect_ratio:
        box_height, box_width, top, left = _aspect_box(height, width, image_size, pad=False)
        image = image[top:top + box_height, left:left + box_width]
    elif pad_to_aspect_ratio:
        box_height, box_width, top, left = _aspect_box(height, width, image_size, pad=True)
        canvas = np.zeros((box_height, box_width, image.shape[2]), np.float32)
        canvas[top:top + height, left:left + width] = image
        image = canvas
    image = _resize(image, image_size, interpolation)
    if data_format == "channels_first":
        image = np.ascontiguousarray(image.transpose(2, 0, 1))
    return image


@keras_export("keras.utils.image_dataset_from_directory",
              "keras.preprocessing.image_dataset_from_directory")
def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf",
                                 verbose=True):
    """A dataset of the images in `directory`, one class per subfolder, for `fit`.

    With `labels="inferred"`, `directory/class_a/*.png` are class 0, `directory/class_b/...`
    class 1 (subfolders in alphanumeric order, or in `class_names`' order); `labels` may
    instead be a list (one per file, in sorted path order) or None. Files ending in `.bmp`,
    `.gif`, `.jpeg`, `.jpg` or `.png` are read (by Pillow; a GIF's first frame), converted to
    `color_mode` ("grayscale", "rgb", "rgba": 1, 3 or 4 channels) and resized to `image_size`
    (all images, of any size: batches need one shape), optionally after cropping
    (`crop_to_aspect_ratio`) or padding (`pad_to_aspect_ratio`) to its aspect ratio. Batches
    are `(images, labels)`: float32 `(batch, height, width, channels)` with values 0-255, and
    labels in `label_mode` ("int": int32 `(batch,)`; "categorical": one-hot float32;
    "binary": float32 `(batch, 1)`; None: images alone). `validation_split` with `subset`
    ("training", "validation" or "both", which returns the two) splits the (seeded, shuffled)
    files as Keras does.

    Returns a `keras.utils.PyDataset` of NumPy batches with `class_names` and `file_paths`
    (Keras returns a `tf.data.Dataset`; see `lamina.utils.dataset_from_directory`), or with
    `format="grain"` a `grain.IterDataset`, as Keras does. A file that Pillow cannot read
    raises its error when its batch is read, with a note naming the file.

    Examples:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> for name in ("cats", "dogs"):
        ...     os.makedirs(os.path.join(folder, name))
        ...     keras.utils.save_img(os.path.join(folder, name, "1.png"),
        ...                          np.zeros((8, 6, 3)))
        >>> dataset = keras.utils.image_dataset_from_directory(
        ...     folder, image_size=(4, 4), batch_size=2, verbose=False)
        >>> images, labels = dataset[0]
        >>> images.shape, sorted(labels.tolist()), dataset.class_names
        ((2, 4, 4, 3), [0, 1], ['cats', 'dogs'])
    """
    folders.check_arguments(labels, label_mode, class_names, validation_split, subset,
                            shuffle, seed, format, "image")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    num_channels = _CHANNELS[color_mode]
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError("Invalid `image_size` value. Expected a tuple of 2 integers. "
                         f"Received: image_size={image_size}. Images of different sizes "
                         "are resized to it, since a batch has one shape.")
    image_size = tuple(int(side) for side in image_size)
    interpolation = interpolation.lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if interpolation not in image_ops._INTERPOLATIONS:
        raise ValueError(
            f"interpolation={interpolation!r} is a TensorFlow resize method; without "
            f"TensorFlow, use one of {image_ops._INTERPOLATIONS}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be "
                         "set to `True`.")
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("`data_format` must be 'channels_first', 'channels_last' or None. "
                         f"Received: data_format={data_format!r}")
    if seed is None:
        seed = np.random.randint(1e6)
    file_paths, labels, class_names = folders.index_directory(
        directory, labels, formats=ALLOWLIST_FORMATS, class_names=class_names,
        shuffle=shuffle, seed=seed, follow_links=follow_links, verbose=verbose)
    load = functools.partial(
        load_image, image_size=image_size, num_channels=num_channels,
        interpolation=interpolation, data_format=data_format,
        crop_to_aspect_ratio=crop_to_aspect_ratio, pad_to_aspect_ratio=pad_to_aspect_ratio)

    def make(paths, encoded, training):
        dataset = folders.FileDataset(
            paths, encoded, load, batch_size=batch_size, shuffle=shuffle and training,
            seed=seed, class_names=class_names, what="image",
            fix=f"Remove it from the folder, or replace it with a readable image (files "
                f"ending in {', '.join(ALLOWLIST_FORMATS)} are read).")
        return folders.to_grain(dataset) if format == "grain" else dataset

    return folders.build(file_paths, labels, label_mode, class_names, validation_split,
                         subset, make, directory, "images",
                         f"Allowed formats: {ALLOWLIST_FORMATS}", verbose)


@keras_export("keras.preprocessing.image.smart_resize")
def smart_resize(x, size, interpolation="bilinear", data_format="channels_last",
                 backend_module=None):
    """Resizes an image (or a batch) to `size` without distorting it: the largest centered
    window of the target aspect ratio is cropped, then resized.

    Examples:
        >>> keras.preprocessing.image.smart_resize(np.ones((10, 20, 3)), (5, 5)).shape
        (5, 5, 3)
    """
    del backend_module  # Keras's hook for its TensorFlow pipeline; lamina has one backend
    if len(size) != 2:
        raise ValueError("Expected `size` to be a tuple of 2 integers, but got: "
                         f"{size}.")
    if np.ndim(x) not in (3, 4):
        raise ValueError("Expected an image array with shape `(height, width, channels)`, "
                         "or `(batch_size, height, width, channels)`, but got input with "
                         f"incorrect rank, of shape {np.shape(x)}.")
    return image_ops.resize(x, tuple(size), interpolation=interpolation,
                            crop_to_aspect_ratio=True, data_format=data_format)
