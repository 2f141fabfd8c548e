"""Bounding boxes: format conversions, clipping, cropping, padding, affine maps, anchor
deltas and IoU (`keras.utils.bounding_boxes`).

Boxes are arrays whose last axis holds 4 numbers, `(boxes, 4)` or `(batch, boxes, 4)`, in one
of `SUPPORTED_FORMATS` (case-insensitive):

* `"xyxy"`: left, top, right, bottom; `"yxyx"`: top, left, bottom, right;
* `"xywh"`: left, top, width, height;
* `"center_xywh"`: centre x, centre y, width, height; `"center_yxhw"`: centre y, centre x,
  height, width;
* `"rel_xyxy"`, `"rel_yxyx"`, `"rel_xywh"`, `"rel_center_xywh"`: the same with coordinates
  divided by the image width and height (they need `height` and `width`).

The augmentation layers keep boxes with their images as a dict `{"boxes", "labels"}`; a box
whose area becomes zero gets the label -1. Everything here is JAX ops, so it runs inside
compiled steps. This module sits with the layers (which use it); `keras.utils.bounding_boxes`
re-exports it.
"""

import math

import jax.numpy as jnp

from lamina._runtime import config
from lamina.ops._convert import compiled

__all__ = [
    "SUPPORTED_FORMATS", "affine_transform", "clip_to_image_size", "compute_ciou",
    "compute_iou", "convert_format", "crop", "decode_deltas_to_boxes",
    "encode_box_to_deltas", "pad",
]

SUPPORTED_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy",
                     "rel_yxyx", "rel_xywh", "rel_center_xywh")


def _split(boxes):
    return tuple(boxes[..., i:i + 1] for i in range(4))


def _join(*parts):
    return jnp.concatenate(parts, axis=-1)


def _to_xyxy(boxes, source, height, width):
    a, b, c, d = _split(boxes)
    if source == "xyxy":
        return boxes
    if source == "yxyx":
        return _join(b, a, d, c)
    if source == "xywh":
        return _join(a, b, a + c, b + d)
    if source == "center_xywh":
        return _join(a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0)
    if source == "center_yxhw":
        return _join(b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0)
    if source == "rel_xyxy":
        return _join(a * width, b * height, c * width, d * height)
    if source == "rel_yxyx":
        return _join(b * width, a * height, d * width, c * height)
    if source == "rel_xywh":
        return _join(a * width, b * height, (a + c) * width, (b + d) * height)
    # rel_center_xywh
    return _join((a - c / 2.0) * width, (b - d / 2.0) * height, (a + c / 2.0) * width,
                 (b + d / 2.0) * height)


def _from_xyxy(boxes, target, height, width):
    x1, y1, x2, y2 = _split(boxes)
    if target == "xyxy":
        return boxes
    if target == "yxyx":
        return _join(y1, x1, y2, x2)
    if target == "xywh":
        return _join(x1, y1, x2 - x1, y2 - y1)
    if target == "center_xywh":
        return _join(x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0, x2 - x1, y2 - y1)
    if target == "center_yxhw":
        return _join(y1 + (y2 - y1) / 2.0, x1 + (x2 - x1) / 2.0, y2 - y1, x2 - x1)
    if target == "rel_xyxy":
        return _join(x1 / width, y1 / height, x2 / width, y2 / height)
    if target == "rel_yxyx":
        return _join(y1 / height, x1 / width, y2 / height, x2 / width)
    if target == "rel_xywh":
        return _join(x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height)
    # rel_center_xywh
    return _join((x1 + (x2 - x1) / 2.0) / width, (y1 + (y2 - y1) / 2.0) / height,
                 (x2 - x1) / width, (y2 - y1) / height)


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Converts boxes from the format `source` to `target` (see `SUPPORTED_FORMATS`).

    `boxes` is an array `(..., 4)`, or a dict whose `"boxes"` are converted (a new dict is
    returned; other keys are kept). Relative formats need the image `height` and `width`.

    Examples:
        >>> boxes = np.array([[10, 20, 30, 40]])
        >>> keras.utils.bounding_boxes.convert_format(boxes, "xyxy", "xywh").tolist()
        [[10.0, 20.0, 20.0, 20.0]]
        >>> keras.utils.bounding_boxes.convert_format(boxes, "xyxy", "rel_xyxy", height=200,
        ...                                           width=100).tolist()
        [[0.10000000149011612, 0.10000000149011612, 0.30000001192092896, 0.20000000298023224]]
    """
    if isinstance(boxes, dict):
        result = dict(boxes)
        result["boxes"] = convert_format(boxes["boxes"], source, target, height=height,
                                         width=width, dtype=dtype)
        return result
    boxes = jnp.asarray(boxes)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(
            "convert_format: `boxes` must have a last axis of 4 (one box per row). Received: "
            f"boxes.shape={tuple(boxes.shape)}")
    source, target = str(source).lower(), str(target).lower()
    for name, value in (("source", source), ("target", target)):
        if value not in SUPPORTED_FORMATS:
            raise ValueError(
                f"convert_format: unknown {name} format {value!r}. Supported formats: "
                f"{SUPPORTED_FORMATS}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (
            height is None or width is None):
        raise ValueError(
            "convert_format needs `height` and `width` to convert between relative and "
            f"absolute formats. Received: source={source!r}, target={target!r}, "
            f"height={height}, width={width}")
    boxes = boxes.astype(dtype)
    if source == target:
        return boxes
    if source.startswith("rel_") and target.startswith("rel_"):
        source, target = source[4:], target[4:]
    height = None if height is None else jnp.asarray(height, dtype)
    width = None if width is None else jnp.asarray(width, dtype)
    return _convert(boxes, height, width, source, target)


@compiled("source", "target")
def _convert(boxes, height, width, source, target):
    return _from_xyxy(_to_xyxy(boxes, source, height, width), target, height, width)


def _area(boxes):
    x1, y1, x2, y2 = _split(boxes)
    return ((x2 - x1) * (y2 - y1))[..., 0]


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Clips `{"boxes", "labels"}` to the image (`"xyxy"`: to `[0, width] x [0, height]`;
    `"rel_xyxy"`: to `[0, 1]`); boxes left with no area get the label -1.

    Examples:
        >>> boxes = {"boxes": np.array([[-10., -20., 150., 160.], [50., 40., 50., 80.]]),
        ...          "labels": np.array([0, 1])}
        >>> out = keras.utils.bounding_boxes.clip_to_image_size(boxes, height=100, width=120)
        >>> out["boxes"].tolist(), out["labels"].tolist()
        ([[0.0, 0.0, 120.0, 100.0], [50.0, 40.0, 50.0, 80.0]], [0, -1])
    """
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(
            "clip_to_image_size works on 'xyxy' or 'rel_xyxy' boxes; convert them first with "
            f"convert_format. Received: bounding_box_format={bounding_box_format!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError(
            "clip_to_image_size needs `height` and `width` for 'xyxy' boxes. Received: "
            f"height={height}, width={width}")
    boxes = jnp.asarray(bounding_boxes["boxes"])
    if bounding_box_format == "xyxy":
        high_x, high_y = jnp.asarray(width, boxes.dtype), jnp.asarray(height, boxes.dtype)
    else:
        high_x = high_y = jnp.asarray(1.0, boxes.dtype)
    labels = bounding_boxes.get("labels")
    result = dict(bounding_boxes)
    result["boxes"], new_labels = _clip(boxes, None if labels is None else jnp.asarray(labels),
                                        high_x, high_y)
    if labels is not None:
        result["labels"] = new_labels
    return result


@compiled()
def _clip(boxes, labels, high_x, high_y):
    x1, y1, x2, y2 = _split(boxes)
    boxes = _join(jnp.clip(x1, 0, high_x), jnp.clip(y1, 0, high_y), jnp.clip(x2, 0, high_x),
                  jnp.clip(y2, 0, high_y))
    if labels is None:
        return boxes, None
    return boxes, jnp.where(_area(boxes) > 0, labels, -1)


def _inverse_affine_matrix(center_x, center_y, angle, translate_x, translate_y, scale,
                           shear_x, shear_y, height, width):
    """(batch, 3, 3) matrices sending input pixels to output pixels (the inverse of what
    ops.image.affine_transform takes), for rotation/translation/scale/shear in Keras's
    conventions (angles in degrees, translations as fractions of the size)."""
    angle = jnp.asarray(angle)
    dtype = angle.dtype
    to_radians = 1.0 / 180.0 * math.pi
    cx = center_x * (width - 1)
    cy = center_y * (height - 1)
    rotation = -angle * to_radians
    tx = -translate_x * (width - 1)
    ty = -translate_y * (height - 1)
    sx = -shear_x * to_radians
    sy = -shear_y * to_radians
    cos_sy, tan_sx = jnp.cos(sy), jnp.tan(sx)
    a = jnp.cos(rotation - sy) / cos_sy
    b = a * tan_sx + jnp.sin(rotation)
    c = -jnp.sin(rotation - sy) / cos_sy
    d = jnp.cos(rotation) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * (cx + tx) - a1 * (cy + ty)
    b2 = cy - b0 * (cx + tx) - b1 * (cy + ty)
    batch = angle.shape[0]
    zeros, ones = jnp.zeros((batch,), dtype), jnp.ones((batch,), dtype)
    return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], axis=-1).reshape(batch, 3, 3)


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                     width, center_x=None, center_y=None, bounding_box_format="xyxy"):
    """Moves `"xyxy"` boxes `(batch, boxes, 4)` by the affine map of the geometric
    augmentation layers (per image: `angle` and shears in degrees, translations as fractions of
    the image size, `scale`, about the centre `(center_x, center_y)`, default 0.5, 0.5), and
    returns the boxes around the four moved corners.

    Examples:
        >>> boxes = np.array([[[10., 10., 20., 30.]]])
        >>> zero, one = np.zeros(1), np.ones(1)
        >>> moved = keras.utils.bounding_boxes.affine_transform(   # 10% of (51 - 1) right
        ...     boxes, zero, np.array([0.1]), zero, one, zero, zero, height=51, width=51)
        >>> np.round(np.float64(moved), 3).tolist()
        [[[15.0, 10.0, 25.0, 30.0]]]
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            "bounding_boxes.affine_transform works on 'xyxy' boxes; convert them first with "
            f"convert_format. Received: bounding_box_format={bounding_box_format!r}")
    center_x = 0.5 if center_x is None else center_x
    center_y = 0.5 if center_y is None else center_y
    return _affine_boxes(jnp.asarray(boxes), center_x, center_y, jnp.asarray(angle),
                         translate_x, translate_y, scale, shear_x, shear_y, height, width)


@compiled()
def _affine_boxes(boxes, center_x, center_y, angle, translate_x, translate_y, scale, shear_x,
                  shear_y, height, width):
    matrix = _inverse_affine_matrix(center_x, center_y, angle, translate_x, translate_y,
                                    scale, shear_x, shear_y, height, width)
    boxes = boxes.astype(matrix.dtype)
    batch, count = boxes.shape[0], boxes.shape[1]
    corners = jnp.stack([boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 1],
                         boxes[..., 2], boxes[..., 3], boxes[..., 0], boxes[..., 3]], axis=-1)
    corners = corners.reshape(batch, count, 4, 2)
    corners = jnp.concatenate([corners, jnp.ones((batch, count, 4, 1), corners.dtype)], -1)
    moved = jnp.einsum("bnxy,byz->bnxz", corners, jnp.transpose(matrix[:, :2, :], (0, 2, 1)))
    return jnp.concatenate([jnp.min(moved, axis=2), jnp.max(moved, axis=2)], axis=-1)


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Shifts `"xyxy"` boxes into a crop of `height` x `width` starting at `(top, left)` and
    clips them to it.

    Examples:
        >>> keras.utils.bounding_boxes.crop(np.array([[10., 20., 50., 60.]]), top=10, left=20,
        ...                                 height=40, width=30).tolist()
        [[0.0, 10.0, 30.0, 40.0]]
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            "bounding_boxes.crop works on 'xyxy' boxes; convert them first with "
            f"convert_format. Received: bounding_box_format={bounding_box_format!r}")
    return _crop(jnp.asarray(boxes), top, left, height, width)


@compiled()
def _crop(boxes, top, left, height, width):
    x1, y1, x2, y2 = _split(boxes)
    return _join(jnp.clip(x1 - left, 0, width), jnp.clip(y1 - top, 0, height),
                 jnp.clip(x2 - left, 0, width), jnp.clip(y2 - top, 0, height))


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Shifts `"xyxy"` boxes by the padding `top` and `left` added before the image.

    Examples:
        >>> keras.utils.bounding_boxes.pad(np.array([[1., 2., 3., 4.]]), top=10, left=5).tolist()
        [[6.0, 12.0, 8.0, 14.0]]
    """
    del height, width
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            "bounding_boxes.pad works on 'xyxy' boxes; convert them first with "
            f"convert_format. Received: bounding_box_format={bounding_box_format!r}")
    return _pad(jnp.asarray(boxes), top, left)


@compiled()
def _pad(boxes, top, left):
    x1, y1, x2, y2 = _split(boxes)
    return _join(x1 + left, y1 + top, x2 + left, y2 + top)


def _variance(variance):
    if variance is None:
        return None
    variance = jnp.asarray(variance, jnp.float32)
    if variance.shape[-1:] != (4,):
        raise ValueError(f"`variance` must have 4 values. Received: variance={variance}")
    return variance


def _image_hw(image_shape):
    return (None, None) if image_shape is None else tuple(image_shape[:2])


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format,
                         encoding_format="center_yxhw", variance=None, image_shape=None):
    """The offsets of `boxes` from `anchors` that a detection head learns: centre offsets in
    units of the anchor's size, then the log of the size ratios, in `encoding_format`
    (`"center_yxhw"` or `"center_xywh"`), divided by `variance` if given.

    Examples:
        >>> anchors = np.array([[0., 0., 10., 10.]])
        >>> keras.utils.bounding_boxes.encode_box_to_deltas(
        ...     anchors, np.array([[1., 1., 11., 11.]]), "xyxy", "xyxy").tolist()
        [[0.10000000149011612, 0.10000000149011612, 0.0, 0.0]]
    """
    variance = _variance(variance)
    if encoding_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(
            "`encoding_format` should be one of 'center_xywh' or 'center_yxhw'. Received: "
            f"encoding_format={encoding_format!r}")
    height, width = _image_hw(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height=height,
                             width=width)
    boxes = convert_format(boxes, box_format, encoding_format, height=height, width=width)
    return _encode(anchors, boxes, variance)


@compiled()
def _encode(anchors, boxes, variance):
    anchor_size = jnp.maximum(anchors[..., 2:], config.epsilon())
    box_size = jnp.maximum(boxes[..., 2:], config.epsilon())
    deltas = jnp.concatenate([(boxes[..., :2] - anchors[..., :2]) / anchor_size,
                              jnp.log(box_size / anchor_size)], axis=-1)
    return deltas if variance is None else deltas / variance


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format,
                           encoded_format="center_yxhw", variance=None, image_shape=None):
    """Inverts `encode_box_to_deltas`: boxes in `box_format` from `anchors` and deltas (arrays,
    or dicts of them keyed by feature level).

    Examples:
        >>> anchors = np.array([[0., 0., 10., 10.]])
        >>> keras.utils.bounding_boxes.decode_deltas_to_boxes(
        ...     anchors, np.array([[0.1, 0.1, 0., 0.]]), "xyxy", "xyxy").tolist()
        [[1.0, 1.0, 11.0, 11.0]]
    """
    variance = _variance(variance)
    if encoded_format not in ("center_xywh", "center_yxhw"):
        raise ValueError(
            "`encoded_format` should be 'center_xywh' or 'center_yxhw'. Received: "
            f"encoded_format={encoded_format!r}")
    height, width = _image_hw(image_shape)

    def decode(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height=height,
                                width=width)
        box = _decode(anchor, jnp.asarray(delta), variance)
        return convert_format(box, encoded_format, box_format, height=height, width=width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


@compiled()
def _decode(anchor, delta, variance):
    if variance is not None:
        delta = delta * variance
    return jnp.concatenate([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                            jnp.exp(delta[..., 2:]) * anchor[..., 2:]], axis=-1)


def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1,
                image_shape=None):
    """Pairwise intersection over union: `(N, 4)` and `(M, 4)` boxes give `(N, M)`; batched
    boxes give `(batch, N, M)`. With `use_masking`, pairs with a padding box (all four values
    negative) get `mask_val`.

    Examples:
        >>> a = np.array([[0., 0., 2., 2.]]); b = np.array([[1., 0., 3., 2.], [5., 5., 6., 6.]])
        >>> print(keras.utils.bounding_boxes.compute_iou(a, b, "xyxy").round(4))
        [[0.3333 0.    ]]
    """
    boxes1, boxes2 = jnp.asarray(boxes1), jnp.asarray(boxes2)
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if boxes.ndim not in (2, 3):
            raise ValueError(
                f"compute_iou expects {name} of shape (boxes, 4) or (batch, boxes, 4). "
                f"Received: {name}.shape={tuple(boxes.shape)}")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError(
            "compute_iou needs `image_shape` for relative box formats. Received: "
            f"bounding_box_format={bounding_box_format!r}, image_shape=None")
    height, width = _image_hw(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "yxyx", height=height, width=width)
    boxes2 = convert_format(boxes2, bounding_box_format, "yxyx", height=height, width=width)
    return _iou(boxes1, boxes2, mask_val, bool(use_masking))


@compiled("use_masking")
def _iou(boxes1, boxes2, mask_val, use_masking):
    perm = (1, 0) if boxes2.ndim == 2 else (0, 2, 1)
    t1, l1, b1, r1 = _split(boxes1)
    t2, l2, b2, r2 = (jnp.transpose(p, perm) for p in _split(boxes2))
    inter_h = jnp.maximum(0.0, jnp.minimum(b1, b2) - jnp.maximum(t1, t2))
    inter_w = jnp.maximum(0.0, jnp.minimum(r1, r2) - jnp.maximum(l1, l2))
    intersection = inter_h * inter_w
    area1 = _area(boxes1)[..., None]
    area2 = jnp.expand_dims(_area(boxes2), axis=1 if boxes2.ndim == 3 else 0)
    iou = intersection / (area1 + area2 - intersection + config.epsilon())
    if not use_masking:
        return iou
    perm1 = (1, 0) if boxes1.ndim == 2 else (0, 2, 1)
    background = (jnp.max(boxes1, axis=-1, keepdims=True) < 0) | jnp.transpose(
        jnp.max(boxes2, axis=-1, keepdims=True) < 0, perm1)
    return jnp.where(background, jnp.asarray(mask_val, iou.dtype), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """Complete IoU of matching boxes (`(..., 4)` each): IoU minus the squared centre distance
    over the squared diagonal of the enclosing box, minus an aspect-ratio term (Zheng et al.
    2020).

    Examples:
        >>> a = np.array([[0., 0., 2., 2.]])
        >>> keras.utils.bounding_boxes.compute_ciou(a, a, "xyxy").round(4).tolist()
        [1.0]
    """
    if "rel" in bounding_box_format:
        raise ValueError(
            "compute_ciou does not take relative box formats; convert the boxes to an "
            f"absolute format first. Received: bounding_box_format={bounding_box_format!r}")
    height, width = _image_hw(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "xyxy", height=height, width=width)
    boxes2 = convert_format(boxes2, bounding_box_format, "xyxy", height=height, width=width)
    return _ciou(boxes1, boxes2, config.epsilon())


@compiled()
def _ciou(boxes1, boxes2, eps):
    x11, y11, x12, y12 = _split(boxes1)
    x21, y21, x22, y22 = _split(boxes2)
    w1, h1 = x12 - x11, y12 - y11 + eps
    w2, h2 = x22 - x21, y22 - y21 + eps
    intersection = (jnp.maximum(jnp.minimum(x12, x22) - jnp.maximum(x11, x21), 0)
                    * jnp.maximum(jnp.minimum(y12, y22) - jnp.maximum(y11, y21), 0))
    union = w1 * h1 + w2 * h2 - intersection + eps
    iou = (intersection / (union + eps))[..., 0]
    enclosing_w = jnp.maximum(x12, x22) - jnp.minimum(x11, x21)
    enclosing_h = jnp.maximum(y12, y22) - jnp.minimum(y11, y21)
    diagonal = (enclosing_w ** 2 + enclosing_h ** 2 + eps)[..., 0]
    distance = (((x11 + x12) / 2 - (x21 + x22) / 2) ** 2
                + ((y11 + y12) / 2 - (y21 + y22) / 2) ** 2)[..., 0]
    v = ((4 / math.pi ** 2) * (jnp.arctan(w2 / h2) - jnp.arctan(w1 / h1)) ** 2)[..., 0]
    alpha = v / (v - iou + (1 + eps))
    return iou - (distance / diagonal + v * alpha)
