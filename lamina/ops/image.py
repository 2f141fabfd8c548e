"""`keras.ops.image`: resizing, padding, cropping, patches and color conversion of images.

Images are `(height, width, channels)` or `(batch, height, width, channels)`, or channels
first with `data_format="channels_first"` (default: `keras.config.image_data_format()`).
This namespace covers the common part of Keras 3's `keras.ops.image`.
"""

import jax
import jax.numpy as jnp
import jax.scipy.ndimage as jsp_ndimage

from lamina._runtime import config
from lamina.ops._convert import compiled, tensor
from lamina.ops._convert import data_format as _data_format
from lamina.ops._convolution import conv, depthwise_conv
from lamina.ops._image_warps import affine_transform as affine_transform
from lamina.ops._image_warps import elastic_transform as elastic_transform
from lamina.ops._image_warps import perspective_transform as perspective_transform

__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches",
    "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images",
    "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv", "scale_and_translate",
    "sobel_edges", "ssim",
]

_INTERPOLATIONS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")


def _images(images, op):
    images = tensor(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            f"ops.image.{op} takes a single image (rank 3) or a batch of images (rank 4). "
            f"Received: shape {images.shape}.")
    return images


def _spatial_axes(images, data_format):
    """Indices of the height and width axes, and of the channels axis."""
    if data_format == "channels_last":
        return images.ndim - 3, images.ndim - 2, images.ndim - 1
    return images.ndim - 2, images.ndim - 1, images.ndim - 3


def _height_width(images, data_format):
    h, w, _ = _spatial_axes(images, data_format)
    return images.shape[h], images.shape[w]


def _crop_or_pad(images, data_format, top, left, height, width, fill_value=0.0):
    """Crops (negative top/left) or pads (positive) to `height` x `width`."""
    h_axis, w_axis, _ = _spatial_axes(images, data_format)
    pads = [(0, 0)] * images.ndim
    old_h, old_w = images.shape[h_axis], images.shape[w_axis]
    pads[h_axis] = (max(top, 0), max(height - old_h - top, 0))
    pads[w_axis] = (max(left, 0), max(width - old_w - left, 0))
    images = jnp.pad(images, pads, constant_values=jnp.asarray(fill_value, images.dtype))
    start_h, start_w = max(-top, 0), max(-left, 0)
    index = [slice(None)] * images.ndim
    index[h_axis] = slice(start_h, start_h + height)
    index[w_axis] = slice(start_w, start_w + width)
    return images[tuple(index)]


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resizes images to `size = (height, width)`.

    `crop_to_aspect_ratio` crops the center to the target aspect ratio first;
    `pad_to_aspect_ratio` pads with `fill_value` instead.

    Examples:
        >>> ops.image.resize(ops.ones((4, 4, 3)), (2, 2)).shape
        (2, 2, 3)
    """
    data_format = _data_format(data_format)
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(
            f"ops.image.resize takes interpolation in {_INTERPOLATIONS}. Received: "
            f"interpolation={interpolation!r}")
    if fill_mode != "constant":
        raise ValueError(
            f"ops.image.resize supports fill_mode='constant' only. Received: "
            f"fill_mode={fill_mode!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(
            "ops.image.resize takes crop_to_aspect_ratio or pad_to_aspect_ratio, not both.")
    if len(size) != 2:
        raise ValueError(
            f"ops.image.resize takes size=(height, width). Received: size={size!r}")
    images = _images(images, "resize")
    target_h, target_w = (int(s) for s in size)
    height, width = _height_width(images, data_format)
    if crop_to_aspect_ratio:
        crop_h = max(min(height, int(width * target_h / target_w)), 1)
        crop_w = max(min(width, int(height * target_w / target_h)), 1)
        images = _crop_or_pad(images, data_format, -((height - crop_h) // 2),
                              -((width - crop_w) // 2), crop_h, crop_w)
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(width * target_h / target_w))
        pad_w = max(width, int(height * target_w / target_h))
        # Keras pads the same amount on both sides, so an odd surplus loses a row/column.
        top, left = (pad_h - height) // 2, (pad_w - width) // 2
        images = _crop_or_pad(images, data_format, top, left, height + 2 * top,
                              width + 2 * left, fill_value)
    h_axis, w_axis, _ = _spatial_axes(images, data_format)
    shape = list(images.shape)
    shape[h_axis], shape[w_axis] = target_h, target_w
    if not jnp.issubdtype(images.dtype, jnp.inexact) and interpolation != "nearest":
        images = images.astype(config.floatx())
    return jax.image.resize(images, tuple(shape), method=interpolation, antialias=antialias)


def _padding_or_cropping(before, after, target, current, what):
    given = sum(v is not None for v in (before, after, target))
    if given != 2:
        raise ValueError(
            f"Give exactly two of the {what} arguments (the third is inferred). Received "
            f"{given}.")
    if before is None:
        before = target - after - current if what == "padding" else current - target - after
    if target is None:
        target = current + before + after if what == "padding" else current - before - after
    if before < 0 or target < 0 or (what == "padding" and target < current + before) or (
            what == "cropping" and target + before > current):
        raise ValueError(
            f"Invalid {what}: the values give a negative size or offset. Received a size "
            f"{current} with before={before}, target={target}.")
    return before, target


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Pads images with zeros; per axis give two of (before, after, target size).

    Examples:
        >>> ops.image.pad_images(ops.ones((2, 2, 1)), 1, 1, 1, 1).shape
        (4, 4, 1)
    """
    data_format = _data_format(data_format)
    images = _images(images, "pad_images")
    height, width = _height_width(images, data_format)
    top, new_h = _padding_or_cropping(top_padding, bottom_padding, target_height, height,
                                      "padding")
    left, new_w = _padding_or_cropping(left_padding, right_padding, target_width, width,
                                       "padding")
    return _crop_or_pad(images, data_format, top, left, new_h, new_w)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crops images; per axis give two of (before, after, target size).

    Examples:
        >>> ops.image.crop_images(ops.ones((4, 4, 1)), 1, 1, 1, 1).shape
        (2, 2, 1)
    """
    data_format = _data_format(data_format)
    images = _images(images, "crop_images")
    height, width = _height_width(images, data_format)
    top, new_h = _padding_or_cropping(top_cropping, bottom_cropping, target_height, height,
                                      "cropping")
    left, new_w = _padding_or_cropping(left_cropping, right_cropping, target_width, width,
                                       "cropping")
    return _crop_or_pad(images, data_format, -top, -left, new_h, new_w)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of `size` from images, flattened (row, column, channel) into the channels.

    Examples:
        >>> ops.image.extract_patches(ops.ones((4, 4, 3)), 2).shape
        (2, 2, 12)
    """
    data_format = _data_format(data_format)
    images = _images(images, "extract_patches")
    size = (size, size) if isinstance(size, int) else tuple(size)
    if len(size) != 2:
        raise ValueError(
            f"ops.image.extract_patches takes size as an int or (height, width). Received: "
            f"size={size}")
    channels = images.shape[_spatial_axes(images, data_format)[2]]
    features = size[0] * size[1] * channels
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.inexact) else jnp.float32
    # An identity kernel copies each (row, column, channel) of a patch to its own output
    # channel.
    strides = size if not strides else (strides if isinstance(strides, int) else tuple(strides))
    dilation_rate = dilation_rate if isinstance(dilation_rate, int) else tuple(dilation_rate)
    return _extract_patches(images.astype(dtype), size, strides, dilation_rate, padding,
                            data_format, features)


@compiled("size", "strides", "dilation_rate", "padding", "data_format", "features")
def _extract_patches(images, size, strides, dilation_rate, padding, data_format, features):
    channels = features // (size[0] * size[1])
    kernel = jnp.eye(features, dtype=images.dtype).reshape(size[0], size[1], channels, features)
    batched = images if images.ndim == 4 else images[None]
    patches = conv(batched, kernel, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate)
    return patches if images.ndim == 4 else patches[0]


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """Patches of `size` (depth, height, width) from volumes, flattened into the channels.

    Volumes are `(depth, height, width, channels)` or batched `(batch, depth, height, width,
    channels)` (channels first with `data_format="channels_first"`). `strides` defaults to
    `size`: patches that tile the volume.

    Examples:
        >>> ops.image.extract_patches_3d(ops.ones((2, 6, 6, 6, 3)), (3, 3, 3)).shape
        (2, 2, 2, 2, 81)
    """
    data_format = _data_format(data_format)
    volumes = tensor(volumes)
    if volumes.ndim not in (4, 5):
        raise ValueError(
            "ops.image.extract_patches_3d takes a single volume (rank 4) or a batch of "
            f"volumes (rank 5). Received: volumes of shape {volumes.shape}.")
    size = _triple(size, "size")
    strides = size if strides is None else _triple(strides, "strides")
    dilation_rate = dilation_rate if isinstance(dilation_rate, int) else tuple(dilation_rate)
    channel_axis = volumes.ndim - 1 if data_format == "channels_last" else volumes.ndim - 4
    features = size[0] * size[1] * size[2] * volumes.shape[channel_axis]
    dtype = volumes.dtype if jnp.issubdtype(volumes.dtype, jnp.inexact) else jnp.float32
    return _extract_patches_3d(volumes.astype(dtype), size, strides, dilation_rate, padding,
                               data_format, features)


def _triple(value, name):
    value = (value,) * 3 if isinstance(value, int) else tuple(value)
    if len(value) != 3 or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValueError(
            f"ops.image.extract_patches_3d takes {name} as a positive int or a tuple of three "
            f"(depth, height, width). Received: {name}={value}")
    return value


@compiled("size", "strides", "dilation_rate", "padding", "data_format", "features")
def _extract_patches_3d(volumes, size, strides, dilation_rate, padding, data_format, features):
    channels = features // (size[0] * size[1] * size[2])
    # An identity kernel copies each (depth, row, column, channel) of a patch to its own
    # output channel.
    kernel = jnp.eye(features, dtype=volumes.dtype).reshape(*size, channels, features)
    batched = volumes if volumes.ndim == 5 else volumes[None]
    patches = conv(batched, kernel, strides=strides, padding=padding, data_format=data_format,
                   dilation_rate=dilation_rate)
    return patches if volumes.ndim == 5 else patches[0]


def sobel_edges(images, data_format=None):
    """Vertical and horizontal Sobel gradients of each channel: `[..., 0]` is d/dy (rows),
    `[..., 1]` is d/dx (columns); the border is zero-padded, as Keras's JAX backend does
    (so the last column below sees a drop to 0).

    Takes a batch `(batch, height, width, channels)` (or channels first) and returns
    `(batch, height, width, channels, 2)` (or `(batch, channels, height, width, 2)`).

    Examples:
        >>> image = np.zeros((1, 4, 4, 1), "float32"); image[0, :, 2:, 0] = 1.0
        >>> ops.image.sobel_edges(image)[0, 1, :, 0, 1]
        Array([ 0.,  4.,  4., -4.], dtype=float32)
    """
    data_format = _data_format(data_format)
    images = tensor(images)
    if images.ndim != 4:
        raise ValueError(
            "ops.image.sobel_edges takes a batch of images (rank 4). Received: images of "
            f"shape {images.shape}; add a batch axis with images[None] for one image.")
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.inexact) else jnp.float32
    return _sobel_edges(images.astype(dtype), data_format)


@compiled("data_format")
def _sobel_edges(images, data_format):
    channels = images.shape[3 if data_format == "channels_last" else 1]
    smooth = jnp.asarray([1.0, 2.0, 1.0], images.dtype)
    slope = jnp.asarray([-1.0, 0.0, 1.0], images.dtype)

    def gradient(kernel):
        kernel = jnp.broadcast_to(kernel[:, :, None, None], kernel.shape + (channels, 1))
        return depthwise_conv(images, kernel, padding="same", data_format=data_format)

    return jnp.stack([gradient(jnp.outer(slope, smooth)), gradient(jnp.outer(smooth, slope))],
                     axis=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """The structural similarity index of two images (Wang et al. 2004, eq. 13): local means,
    variances and covariance under a Gaussian window, averaged over the valid positions and
    the channels. 1 for identical images.

    Returns one value per image of a batch `(batch,)`, or a scalar for single images.

    Examples:
        >>> image = np.linspace(0, 1, 16 * 16 * 3, dtype="float32").reshape(16, 16, 3)
        >>> float(ops.image.ssim(image, image))
        1.0
    """
    data_format = _data_format(data_format)
    image1, image2 = tensor(image1), tensor(image2)
    for name, image in (("image1", image1), ("image2", image2)):
        if image.ndim not in (3, 4):
            raise ValueError(
                f"ops.image.ssim takes single images (rank 3) or batches (rank 4). Received: "
                f"{name} of shape {image.shape}.")
    if image1.shape != image2.shape:
        raise ValueError(
            "ops.image.ssim compares images of one shape. Received: image1 of shape "
            f"{image1.shape} and image2 of shape {image2.shape}.")
    if not isinstance(filter_size, int) or filter_size < 1:
        raise ValueError(f"ops.image.ssim takes filter_size as a positive int. Received: "
                         f"filter_size={filter_size!r}")
    height, width = _height_width(image1, data_format)
    if filter_size > min(height, width):
        raise ValueError(
            f"ops.image.ssim: filter_size={filter_size} is larger than the images "
            f"({height}x{width}). Use a filter_size of at most {min(height, width)}.")
    original = image1.dtype
    dtype = original if jnp.issubdtype(original, jnp.inexact) else jnp.float32
    value = _ssim(image1.astype(dtype), image2.astype(dtype),
                  tensor([max_val, filter_sigma, k1, k2], dtype), filter_size, data_format)
    return value.astype(original)


@compiled("filter_size", "data_format")
def _ssim(image1, image2, constants, filter_size, data_format):
    max_val, sigma, k1, k2 = constants
    single = image1.ndim == 3
    if single:
        image1, image2 = image1[None], image2[None]
    if data_format == "channels_first":
        image1, image2 = jnp.moveaxis(image1, 1, -1), jnp.moveaxis(image2, 1, -1)
    offsets = jnp.arange(filter_size, dtype=image1.dtype) - (filter_size - 1) / 2
    window = jnp.exp(-(offsets ** 2) / (2 * sigma ** 2))
    window = window / jnp.sum(window)
    channels = image1.shape[-1]
    kernel = jnp.broadcast_to(jnp.outer(window, window)[:, :, None, None],
                              (filter_size, filter_size, channels, 1))

    def local_mean(x):
        return depthwise_conv(x, kernel, padding="valid", data_format="channels_last")

    mean1, mean2 = local_mean(image1), local_mean(image2)
    variance1 = local_mean(image1 * image1) - mean1 * mean1
    variance2 = local_mean(image2 * image2) - mean2 * mean2
    covariance = local_mean(image1 * image2) - mean1 * mean2
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    index = ((2 * mean1 * mean2 + c1) * (2 * covariance + c2)
             / ((mean1 ** 2 + mean2 ** 2 + c1) * (variance1 + variance2 + c2)))
    per_image = jnp.mean(index, axis=(1, 2, 3))  # over positions, then channels (equal counts)
    return per_image[0] if single else per_image


def rgb_to_grayscale(images, data_format=None):
    """Converts RGB images to one-channel grayscale (ITU-R 601 luma weights).

    Examples:
        >>> ops.image.rgb_to_grayscale(ops.ones((2, 2, 3))).shape
        (2, 2, 1)
    """
    data_format = _data_format(data_format)
    images = _images(images, "rgb_to_grayscale")
    channel_axis = _spatial_axes(images, data_format)[2]
    if images.shape[channel_axis] == 1:
        return images
    if images.shape[channel_axis] != 3:
        raise ValueError(
            "ops.image.rgb_to_grayscale takes 3 (RGB) or 1 channels. Received: shape "
            f"{images.shape} ({data_format}).")
    return _grayscale(images, channel_axis)


@compiled("channel_axis")
def _grayscale(images, channel_axis):
    original = images.dtype
    compute = original if jnp.issubdtype(original, jnp.inexact) else jnp.float32
    weights = jnp.asarray([0.2989, 0.5870, 0.1140], compute)
    gray = jnp.tensordot(images.astype(compute), weights, axes=([channel_axis], [0]))
    return jnp.expand_dims(gray, channel_axis).astype(original)


def _color_images(images, op, data_format):
    """`images` checked for `op`: rank 3 or 4, a float dtype, 3 channels."""
    images = _images(images, op)
    if not jnp.issubdtype(images.dtype, jnp.floating):
        raise ValueError(
            f"ops.image.{op} takes float images (values in [0, 1]). Received: "
            f"images.dtype={images.dtype}. Cast them first, e.g. "
            "ops.cast(images, 'float32') / 255.")
    channel_axis = _spatial_axes(images, data_format)[2]
    if images.shape[channel_axis] != 3:
        raise ValueError(
            f"ops.image.{op} takes 3 channels. Received: shape {images.shape} "
            f"({data_format}, channels on axis {channel_axis}).")
    return images, channel_axis


def rgb_to_hsv(images, data_format=None):
    """Converts RGB images with values in `[0, 1]` to HSV, each component in `[0, 1]`.

    A hue of 0 is red, 1/3 green and 2/3 blue; gray pixels get hue and saturation 0. The
    images must be floats; the numerics are Keras 3's on JAX (dm_pix's formulas).

    Examples:
        >>> ops.image.rgb_to_hsv(ops.convert_to_tensor([[[0.0, 0.5, 1.0]]]))
        Array([[[0.5833334, 1.       , 1.       ]]], dtype=float32)
    """
    data_format = _data_format(data_format)
    images, channel_axis = _color_images(images, "rgb_to_hsv", data_format)
    return _rgb_to_hsv(images, channel_axis)


@compiled("channel_axis")
def _rgb_to_hsv(images, channel_axis):
    eps = jnp.finfo(images.dtype).eps
    images = jnp.where(jnp.abs(images) < eps, 0.0, images).astype(images.dtype)
    red, green, blue = (jnp.take(images, i, axis=channel_axis) for i in range(3))
    value = jnp.maximum(jnp.maximum(red, green), blue)
    spread = value - jnp.minimum(jnp.minimum(red, green), blue)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * jnp.where(spread > 0, spread, 1.0))
    # The sextant follows the largest component; ties go to red, then green.
    hue = jnp.where(value == green, norm * (blue - red) + 2.0 / 6.0,
                    norm * (red - green) + 4.0 / 6.0)
    hue = jnp.where(value == red, norm * (green - blue), hue)
    hue = jnp.where(spread > 0, hue, 0.0) + (hue < 0.0).astype(hue.dtype)
    return jnp.stack([hue, saturation, value], axis=channel_axis).astype(images.dtype)


def hsv_to_rgb(images, data_format=None):
    """Converts HSV images (each component in `[0, 1]`, hue taken modulo 1) to RGB.

    The inverse of `rgb_to_hsv`; the images must be floats. Numerics are Keras 3's on JAX.

    Examples:
        >>> ops.image.hsv_to_rgb(ops.convert_to_tensor([[[0.5, 1.0, 1.0]]]))
        Array([[[0., 1., 1.]]], dtype=float32)
    """
    data_format = _data_format(data_format)
    images, channel_axis = _color_images(images, "hsv_to_rgb", data_format)
    return _hsv_to_rgb(images, channel_axis)


@compiled("channel_axis")
def _hsv_to_rgb(images, channel_axis):
    hue, saturation, value = (jnp.take(images, i, axis=channel_axis) for i in range(3))
    sextant = jnp.mod(hue, 1.0) * 6.0
    red = jnp.clip(jnp.abs(sextant - 3.0) - 1.0, 0.0, 1.0)
    green = jnp.clip(2.0 - jnp.abs(sextant - 2.0), 0.0, 1.0)
    blue = jnp.clip(2.0 - jnp.abs(sextant - 4.0), 0.0, 1.0)
    gray = 1.0 - saturation
    planes = [value * (gray + saturation * c) for c in (red, green, blue)]
    return jnp.stack(planes, axis=channel_axis).astype(images.dtype)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blurs each channel with a Gaussian kernel of `kernel_size` and `sigma` (per axis:
    `(width, height)` order, as Keras); the border is zero-padded.

    Examples:
        >>> ops.image.gaussian_blur(ops.ones((5, 5, 1)))[2, 2, 0].round(4)
        Array(1., dtype=float32)
    """
    data_format = _data_format(data_format)
    images = _images(images, "gaussian_blur")
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.inexact) else jnp.float32
    kernel_size = ((kernel_size, kernel_size) if isinstance(kernel_size, int)
                   else tuple(int(k) for k in kernel_size))
    sigma = (sigma, sigma) if isinstance(sigma, (int, float)) else sigma
    return _gaussian_blur(images.astype(dtype), tensor(sigma, dtype), kernel_size, data_format)


@compiled("kernel_size", "data_format")
def _gaussian_blur(images, sigma, kernel_size, data_format):
    dtype = images.dtype

    def gaussian(size, scale):
        offsets = jnp.arange(size, dtype=dtype) - (size - 1) / 2
        weights = jnp.exp(-0.5 * (offsets / scale) ** 2)
        return weights / jnp.sum(weights)

    # Keras pairs kernel_size[0] and sigma[0] with the width axis.
    kernel = jnp.outer(gaussian(kernel_size[1], sigma[1]), gaussian(kernel_size[0], sigma[0]))
    channels = images.shape[_spatial_axes(images, data_format)[2]]
    kernel = jnp.broadcast_to(kernel[:, :, None, None], kernel.shape + (channels, 1))
    batched = images if images.ndim == 4 else images[None]
    blurred = depthwise_conv(batched, kernel, padding="same", data_format=data_format)
    return blurred if images.ndim == 4 else blurred[0]


_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Samples `inputs` at fractional `coordinates` (one row of coordinates per input axis)
    by nearest (`order=0`) or linear (`order=1`) interpolation.

    Examples:
        >>> ops.image.map_coordinates(ops.arange(4.), [[0.5, 2.]], order=1)
        Array([0.5, 2. ], dtype=float32)
    """
    inputs, coordinates = tensor(inputs), tensor(coordinates)
    if coordinates.ndim < 2 or coordinates.shape[0] != inputs.ndim:
        raise ValueError(
            "ops.image.map_coordinates takes coordinates of shape (inputs.ndim, ...): one "
            f"row per input axis. Received: inputs shape {inputs.shape}, coordinates shape "
            f"{coordinates.shape}.")
    if fill_mode not in _FILL_MODES:
        raise ValueError(
            f"ops.image.map_coordinates takes fill_mode in {_FILL_MODES}. Received: "
            f"fill_mode={fill_mode!r}")
    if order not in (0, 1):
        raise ValueError(
            f"ops.image.map_coordinates takes order 0 (nearest) or 1 (linear). Received: "
            f"order={order!r}")
    # JAX takes the fill value as a static Python number.
    return _map_coordinates(inputs, coordinates, float(fill_value), order, fill_mode)


@compiled("fill_value", "order", "fill_mode")
def _map_coordinates(inputs, coordinates, fill_value, order, fill_mode):
    return jsp_ndimage.map_coordinates(inputs, list(coordinates), order, fill_mode, fill_value)


_SCALE_METHODS = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic",
                  "lanczos3", "lanczos5")


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resamples `images` over `spatial_dims` to `output_shape` with a scale and translation
    (`jax.image.scale_and_translate`).

    Examples:
        >>> ops.image.scale_and_translate(ops.ones((4, 4)), (2, 2), [0.5, 0.5], [0., 0.], (0, 1),
        ...                               "linear").shape
        (2, 2)
    """
    if method not in _SCALE_METHODS:
        raise ValueError(
            f"ops.image.scale_and_translate takes method in {_SCALE_METHODS}. Received: "
            f"method={method!r}")
    images = tensor(images)
    if not jnp.issubdtype(images.dtype, jnp.inexact):
        images = images.astype(config.floatx())
    return _scale_and_translate(
        images, shape=tuple(int(d) for d in output_shape), spatial_dims=tuple(spatial_dims),
        scale=tensor(scale), translation=tensor(translation), method=method,
        antialias=bool(antialias))


_scale_and_translate = compiled("shape", "spatial_dims", "method", "antialias")(
    jax.image.scale_and_translate)
