"""Geometric warps of images: `affine_transform`, `perspective_transform`, `elastic_transform`.

Each computes, for every output pixel, the fractional input position it reads from, and
samples the input there with `_sample`. The sampler follows `jax.scipy.ndimage.
map_coordinates` (Keras's JAX backend samples with it) term for term: the same rounding for
nearest, the same corner weights and summation order for bilinear, the same index rules for
the fill modes. It reads whole pixels (all channels at once) with one gather per corner,
where Keras maps each channel separately.
"""

import jax
import jax.numpy as jnp

from lamina._runtime import rng
from lamina.ops._convert import compiled, tensor
from lamina.ops._convolution import depthwise_conv
from lamina.ops._convert import data_format as _data_format

INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _mirror(index, size):
    half = size - 1  # the triangular wave's half period
    if half == 0:
        return jnp.zeros_like(index)
    return jnp.abs((index + half) % (2 * half) - half)


def _fix_index(index, size, mode):
    if mode == "nearest":
        return jnp.clip(index, 0, size - 1)
    if mode == "wrap":
        return index % size
    if mode == "mirror":
        return _mirror(index, size)
    if mode == "reflect":
        return jnp.floor_divide(_mirror(2 * index + 1, 2 * size + 1) - 1, 2)
    return index  # constant: out-of-range reads are replaced by the fill value


def _nodes(coordinate, order):
    """(index, weight) pairs of one axis: one for nearest, two for linear."""
    if order == 0:
        # lax.round rounds halves away from zero, as map_coordinates does (jnp.round: to even).
        return [(jax.lax.round(coordinate).astype(jnp.int32), None)]
    lower = jnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(jnp.int32)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


def _sample(images, y, x, order, fill_mode, fill_value):
    """`images` (batch, height, width, channels) read at rows `y` and columns `x` (batch,
    out_height, out_width); returns (batch, out_height, out_width, channels)."""
    batch, height, width, channels = images.shape
    flat = images.reshape(batch, height * width, channels)
    fill = jnp.asarray(fill_value, images.dtype)
    terms = []
    for iy, wy in _nodes(y, order):
        for ix, wx in _nodes(x, order):
            fixed_y = _fix_index(iy, height, fill_mode)
            fixed_x = _fix_index(ix, width, fill_mode)
            position = (jnp.clip(fixed_y, 0, height - 1) * width
                        + jnp.clip(fixed_x, 0, width - 1)).reshape(batch, -1, 1)
            value = jnp.take_along_axis(flat, position, axis=1).reshape(
                y.shape + (channels,))
            if fill_mode == "constant":
                valid = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
                value = jnp.where(valid[..., None], value, fill)
            if wy is not None:
                value = (wy * wx)[..., None] * value
            terms.append(value)
    result = terms[0]
    for term in terms[1:]:
        result = result + term
    if jnp.issubdtype(images.dtype, jnp.integer) and jnp.issubdtype(result.dtype, jnp.floating):
        result = jax.lax.round(result)
    return result.astype(images.dtype)


def _check(op, interpolation, fill_mode=None):
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"ops.image.{op}: unknown interpolation {interpolation!r}. Expected one of "
            f"{INTERPOLATIONS}. Received: interpolation={interpolation!r}")
    if fill_mode is not None and fill_mode not in FILL_MODES:
        raise ValueError(
            f"ops.image.{op}: unknown fill_mode {fill_mode!r}. Expected one of {FILL_MODES}. "
            f"Received: fill_mode={fill_mode!r}")


def _batch_images(images, op, data_format):
    images = tensor(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            f"ops.image.{op} takes a single image (rank 3) or a batch of images (rank 4). "
            f"Received: images of shape {images.shape}.")
    single = images.ndim == 3
    if single:
        images = images[None]
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    return images, single


def _unbatch(images, single, data_format):
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 3, 1, 2))
    return images[0] if single else images


def _float(x):
    x = tensor(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(jnp.float32)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Warps images by projective transforms given as rows of 8 numbers.

    A row `[a0, a1, a2, b0, b1, b2, c0, c1]` sends each output pixel `(x, y)` to the input
    position `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1` (the
    inverse of the map from input to output). `transform` is one row `(8,)` or one per image
    `(batch, 8)`. Positions are sampled with `interpolation` ("nearest" or "bilinear"); those
    outside the image follow `fill_mode` ("constant" fills with `fill_value`, "nearest",
    "wrap", "mirror", "reflect"). With `c0 = c1 = 0` (every transform Keras's layers make) the
    result equals Keras 3 on JAX; lamina also applies `c0, c1` (as Keras on TensorFlow does),
    where Keras's JAX backend ignores them.

    Examples:
        >>> image = np.arange(9.0).reshape(3, 3, 1)
        >>> shift_left = [1, 0, 1, 0, 1, 0, 0, 0]   # output (x, y) reads input (x + 1, y)
        >>> ops.image.affine_transform(image, shift_left)[..., 0]
        Array([[1., 2., 0.],
               [4., 5., 0.],
               [7., 8., 0.]], dtype=float32)
    """
    data_format = _data_format(data_format)
    _check("affine_transform", interpolation, fill_mode)
    images, single = _batch_images(images, "affine_transform", data_format)
    transform = _float(transform)
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError(
            "ops.image.affine_transform takes transform of shape (8,) or (batch, 8). "
            f"Received: transform of shape {transform.shape}.")
    if transform.ndim == 1:
        transform = transform[None]
    if transform.shape[0] not in (1, images.shape[0]):
        raise ValueError(
            f"ops.image.affine_transform: {transform.shape[0]} transforms for "
            f"{images.shape[0]} images. Give one transform, or one per image.")
    out = _affine(images, transform, float(fill_value), INTERPOLATIONS.index(interpolation),
                  fill_mode)
    return _unbatch(out, single, data_format)


@compiled("fill_value", "order", "fill_mode")
def _affine(images, transform, fill_value, order, fill_mode):
    _, height, width, _ = images.shape
    y = jnp.arange(height, dtype=transform.dtype)[None, :, None]
    x = jnp.arange(width, dtype=transform.dtype)[None, None, :]
    a0, a1, a2, b0, b1, b2, c0, c1 = (transform[:, i, None, None] for i in range(8))
    k = x * c0 + y * c1 + 1
    x_in = (y * a1 + x * a0 + a2) / k
    y_in = (y * b1 + x * b0 + b2) / k
    shape = (images.shape[0], height, width)
    return _sample(images, jnp.broadcast_to(y_in, shape), jnp.broadcast_to(x_in, shape), order,
                   fill_mode, fill_value)


def _homography(start_points, end_points):
    """The 8 coefficients that send each end point to its start point (output to input)."""
    sx, sy = start_points[..., 0], start_points[..., 1]
    ex, ey = end_points[..., 0], end_points[..., 1]
    zeros, ones = jnp.zeros_like(ex), jnp.ones_like(ex)
    x_rows = jnp.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], axis=-1)
    y_rows = jnp.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], axis=-1)
    matrix = jnp.concatenate([x_rows, y_rows], axis=1)
    target = jnp.concatenate([sx, sy], axis=-1)[..., None]
    return jnp.linalg.solve(matrix, target)[..., 0]


def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Warps images so that the four `start_points` land on the four `end_points`.

    Points are `(x, y)` pixel positions, shape `(4, 2)` or one set per image `(batch, 4, 2)`.
    The homography through the four pairs is solved for each image; positions outside the
    input are filled with `fill_value`.

    Examples:
        >>> corners = np.array([[0, 0], [3, 0], [0, 3], [3, 3]], "float32")
        >>> image = np.arange(16.0).reshape(4, 4, 1)
        >>> bool(np.allclose(ops.image.perspective_transform(image, corners, corners), image))
        True
    """
    data_format = _data_format(data_format)
    _check("perspective_transform", interpolation)
    images, single = _batch_images(images, "perspective_transform", data_format)
    start_points = tensor(start_points, "float32")
    end_points = tensor(end_points, "float32")
    for name, points in (("start_points", start_points), ("end_points", end_points)):
        if points.ndim not in (2, 3) or points.shape[-2:] != (4, 2):
            raise ValueError(
                f"ops.image.perspective_transform takes {name} of shape (4, 2) or (batch, 4, "
                f"2): four (x, y) points. Received: {name} of shape {points.shape}.")
    if start_points.shape != end_points.shape:
        raise ValueError(
            "ops.image.perspective_transform: start_points and end_points must have the same "
            f"shape. Received: {start_points.shape} and {end_points.shape}.")
    if start_points.ndim == 2:
        start_points, end_points = start_points[None], end_points[None]
    if start_points.shape[0] not in (1, images.shape[0]):
        raise ValueError(
            f"ops.image.perspective_transform: {start_points.shape[0]} sets of points for "
            f"{images.shape[0]} images. Give one set, or one per image.")
    out = _perspective(images, start_points, end_points, float(fill_value),
                       INTERPOLATIONS.index(interpolation))
    return _unbatch(out, single, data_format)


@compiled("fill_value", "order")
def _perspective(images, start_points, end_points, fill_value, order):
    _, height, width, _ = images.shape
    h = _homography(start_points, end_points)
    y = jnp.arange(height, dtype=h.dtype)[None, :, None]
    x = jnp.arange(width, dtype=h.dtype)[None, None, :]
    h0, h1, h2, h3, h4, h5, h6, h7 = (h[:, i, None, None] for i in range(8))
    denominator = h6 * x + h7 * y + 1.0
    x_in = (h0 * x + h1 * y + h2) / denominator
    y_in = (h3 * x + h4 * y + h5) / denominator
    shape = (images.shape[0], height, width)
    return _sample(images, jnp.broadcast_to(y_in, shape), jnp.broadcast_to(x_in, shape), order,
                   "constant", fill_value)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Distorts images by a smooth random displacement field.

    A field of standard normal noise times `sigma` is blurred by a Gaussian of standard
    deviation `sigma` (kernel size `int(6 * sigma) | 1`), scaled by `alpha` and added to every
    pixel's position; the image is sampled there. As in Keras 3 on JAX, one noise field (one
    draw from `seed`) displaces both axes, so the same seed gives Keras's numbers.

    Examples:
        >>> image = np.ones((8, 8, 1), "float32")
        >>> ops.image.elastic_transform(image, alpha=2.0, sigma=1.0, seed=0).shape
        (8, 8, 1)
    """
    data_format = _data_format(data_format)
    _check("elastic_transform", interpolation, fill_mode)
    sigma_value = float(sigma)
    kernel = int(6 * sigma_value) | 1
    images, single = _batch_images(images, "elastic_transform", data_format)
    out = elastic_warp(images, alpha, sigma, kernel, rng.draw_seed(seed), interpolation,
                       fill_mode, fill_value)
    return _unbatch(out, single, data_format)


def elastic_warp(images, alpha, sigma, kernel_size, key, interpolation, fill_mode,
                 fill_value):
    """`elastic_transform` on a channels-last batch, where `alpha` and `sigma` may be traced
    (the augmentation layer draws them): `kernel_size` (static) must be at least
    `int(6 * sigma) | 1` for every sigma the caller may pass."""
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
    return _elastic(images, jnp.asarray(alpha, dtype), jnp.asarray(sigma, dtype), key,
                    int(kernel_size), INTERPOLATIONS.index(interpolation), fill_mode,
                    float(fill_value))


@compiled("kernel_size", "order", "fill_mode", "fill_value")
def _elastic(images, alpha, sigma, key, kernel_size, order, fill_mode, fill_value):
    batch, height, width, _ = images.shape
    dtype = alpha.dtype
    noise = jax.random.normal(key, (batch, height, width), dtype=dtype) * sigma
    offsets = jnp.arange(kernel_size, dtype=dtype) - (kernel_size - 1) / 2
    weights = jnp.exp(-0.5 * (offsets / sigma) ** 2)
    # `kernel_size` is the largest the caller needs; the Gaussian keeps Keras's support
    # `int(6 * sigma) | 1` (a traced sigma cannot size an array), zero outside it.
    support = jnp.bitwise_or(jnp.floor(6 * sigma).astype(jnp.int32), 1)
    weights = jnp.where(jnp.abs(offsets) <= (support - 1) / 2, weights, 0)
    weights = weights / jnp.sum(weights)
    kernel = jnp.outer(weights, weights)[:, :, None, None]
    field = depthwise_conv(noise[..., None], kernel, padding="same",
                           data_format="channels_last")[..., 0]
    y = jnp.arange(height, dtype=dtype)[None, :, None] + alpha * field
    x = jnp.arange(width, dtype=dtype)[None, None, :] + alpha * field
    return _sample(images, y, x, order, fill_mode, fill_value)
