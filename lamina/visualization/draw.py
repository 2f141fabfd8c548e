"""Drawing on batches of images, in NumPy: bounding boxes (with their class names) and
segmentation masks. Both return new arrays; the inputs are left as they were.

Keras 3 draws boxes and text with OpenCV; lamina draws the boxes with NumPy and the labels
with Pillow (a dependency of matplotlib), so neither needs OpenCV. Lines and labels are placed
as Keras places them; the glyphs differ from OpenCV's Hershey font.
"""

import numpy as np

from lamina._registry import keras_export
from lamina._runtime.config import image_data_format
from lamina.utils.bounding_boxes import convert_format

# Keras's default palette: class i gets (i * _PALETTE) % 255.
_PALETTE = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])


def _data_format(data_format, function):
    data_format = data_format or image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{function}: data_format must be 'channels_last' or 'channels_first'. Received: "
            f"data_format={data_format!r}")
    return data_format


def _images_4d(images, function):
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"{function}: `images` must be a batched 4D array (batch, height, width, "
            f"channels). Received: images.shape={images.shape}. Add a batch axis with "
            "images[None] for a single image.")
    return images


def to_uint8(images):
    """Images as `uint8`, as Keras's drawing functions read them: floats whose maximum is at
    most 1 are scaled by 255, other floats clipped to [0, 255]."""
    if images.dtype.kind == "f" and images.size:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    return images.astype("uint8")


def _channel_color(color, channels):
    color = [int(c) for c in color]
    if channels == 1:
        return np.array(color[:1], "uint8")
    if channels == 4 and len(color) == 3:
        color = color + [255]
    return np.array(color[:channels], "uint8")


def _fill(image, top, bottom, left, right, color):
    height, width = image.shape[:2]
    top, bottom = max(top, 0), min(bottom, height - 1)
    left, right = max(left, 0), min(right, width - 1)
    if top <= bottom and left <= right:
        image[top:bottom + 1, left:right + 1] = color


def _rectangle(image, x1, y1, x2, y2, color, thickness):
    """The outline of the box with corners (x1, y1) and (x2, y2), `thickness` pixels wide and
    centred on the edges (as OpenCV draws it); parts outside the image are cut off."""
    before, after = (thickness - 1) // 2, thickness // 2
    left, right = min(x1, x2), max(x1, x2)
    top, bottom = min(y1, y2), max(y1, y2)
    _fill(image, top - before, top + after, left - before, right + after, color)
    _fill(image, bottom - before, bottom + after, left - before, right + after, color)
    _fill(image, top - before, bottom + after, left - before, left + after, color)
    _fill(image, top - before, bottom + after, right - before, right + after, color)


def _text_origin(x, y, font_scale, thickness):
    # Keras's placement: above the box when there is room, else just inside its top-left.
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def _draw_text(image, text, origin, color, font_scale, thickness):
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as error:
        raise ImportError(
            "draw_bounding_boxes draws class names with Pillow, which is not installed. "
            "Install it with `pip install pillow` (matplotlib brings it), or pass "
            "class_mapping=None to draw the boxes without names.") from error
    channels = image.shape[-1]
    canvas = Image.fromarray(image[..., 0] if channels == 1 else image[..., :3])
    font = ImageFont.load_default(size=max(1, round(20 * font_scale)))
    fill = tuple(int(c) for c in color[:1]) if channels == 1 else tuple(
        int(c) for c in color[:3])
    ImageDraw.Draw(canvas).text(origin, text, fill=fill[0] if channels == 1 else fill,
                                font=font, anchor="ls", stroke_width=max(0, thickness - 1),
                                stroke_fill=fill[0] if channels == 1 else fill)
    drawn = np.asarray(canvas)
    if channels == 1:
        image[..., 0] = drawn
    else:
        image[..., :3] = drawn


@keras_export("keras.visualization.draw_bounding_boxes")
def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None,
                        color=(128, 128, 128), line_thickness=2, text_thickness=1,
                        font_scale=1.0, data_format=None):
    """Draws bounding boxes, and optionally their class names, on a batch of images.

    For looking at a detection data set or a detector's output: each box is outlined in
    `color`; with a `class_mapping`, its class name (and confidence, when given) is written
    above it. Boxes whose label is -1 (padding) are skipped.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first).
            Floats whose maximum is at most 1 are read as [0, 1], other values as [0, 255].
        bounding_boxes: a dict with `"boxes"`, `(batch, num_boxes, 4)`, `"labels"`,
            `(batch, num_boxes)`, and optionally `"confidences"`, `(batch, num_boxes)`.
        bounding_box_format: the boxes' format, one of `keras.utils.bounding_boxes`'s
            (`"xyxy"`, `"yxyx"`, `"xywh"`, `"center_xywh"`, `"center_yxhw"`, `"rel_xyxy"`,
            ...).
        class_mapping: `{class id: name}`; boxes of classes it names are labelled.
        color: the RGB color of boxes and labels.
        line_thickness: the width of the outline in pixels.
        text_thickness: the weight of the labels' strokes (defaults to `line_thickness`
            when None).
        font_scale: the labels' size (1.0 is about 20 pixels).
        data_format: `"channels_last"` or `"channels_first"` (default: the Keras config).

    Returns:
        A `uint8` NumPy array of the images with the boxes drawn, in the input's shape.

    Examples:
        >>> images = np.zeros((1, 8, 8, 3), "uint8")
        >>> boxes = {"boxes": np.array([[[1, 1, 6, 6]]]), "labels": np.array([[0]])}
        >>> drawn = keras.visualization.draw_bounding_boxes(
        ...     images, boxes, "xyxy", color=(255, 0, 0), line_thickness=1)
        >>> drawn[0, 1, 1:7, 0].tolist(), drawn[0, 3, 3].tolist()   # an edge, the inside
        ([255, 255, 255, 255, 255, 255], [0, 0, 0])
    """
    function = "draw_bounding_boxes"
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = _data_format(data_format, function)
    images = _images_4d(images, function)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(
            f"{function}: `bounding_boxes` should be a dict with 'boxes' and 'labels'. "
            f"Received: bounding_boxes of type {type(bounding_boxes).__name__}.")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(
            f"{function}: `bounding_boxes` should be a dict containing 'boxes' and 'labels' "
            f"keys. Received keys: {sorted(bounding_boxes)}.")
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
    batch, height, width, channels = images.shape
    boxes = np.asarray(bounding_boxes["boxes"])
    labels = np.asarray(bounding_boxes["labels"])
    if boxes.ndim != 3 or boxes.shape[0] != batch or boxes.shape[-1] != 4:
        raise ValueError(
            f"{function}: bounding_boxes['boxes'] must have shape (batch, num_boxes, 4) with "
            f"the images' batch size {batch}. Received: shape {boxes.shape}.")
    if labels.shape != boxes.shape[:2]:
        raise ValueError(
            f"{function}: bounding_boxes['labels'] must have shape (batch, num_boxes) = "
            f"{boxes.shape[:2]}, one label per box. Received: shape {labels.shape}.")
    confidences = bounding_boxes.get("confidences")
    confidences = None if confidences is None else np.asarray(confidences)
    boxes = np.asarray(convert_format(boxes, bounding_box_format, "xyxy", height=height,
                                      width=width))
    result = to_uint8(images).copy()
    paint = _channel_color(color, channels)
    for i in range(batch):
        image = result[i]
        for j, (box, label) in enumerate(zip(boxes[i], labels[i])):
            if int(label) == -1 or not np.all(np.isfinite(box)):
                continue
            x1, y1, x2, y2 = (int(v) for v in box.astype("int32"))
            _rectangle(image, x1, y1, x2, y2, paint, int(line_thickness))
            name = class_mapping.get(int(label))
            if name is not None:
                if confidences is not None:
                    name = f"{name} | {float(confidences[i][j]):.2f}"
                _draw_text(image, str(name), _text_origin(x1, y1, font_scale, text_thickness),
                           color, font_scale, int(text_thickness))
    if data_format == "channels_first":
        result = np.transpose(result, (0, 3, 1, 2))
    return result


def default_colors(num_classes):
    """Keras's palette: one RGB color per class."""
    return [((i * _PALETTE) % 255).tolist() for i in range(num_classes)]


@keras_export("keras.visualization.draw_segmentation_masks")
def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None,
                            alpha=0.8, blend=True, ignore_index=-1, data_format=None):
    """Overlays segmentation masks on a batch of images, one color per class.

    Each pixel of class `c` takes the color of `c`, blended with the image by `alpha`;
    pixels equal to `ignore_index` keep the image, as do classes at or past `num_classes`.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first),
            with values in [0, 255].
        segmentation_masks: integer class indices, `(batch, height, width)` or
            `(batch, height, width, 1)` (`(batch, 1, height, width)` channels first).
        num_classes: the number of classes (default: the largest class present, plus 1).
        color_mapping: `{class: (r, g, b)}` for every class below `num_classes`
            (default: Keras's palette).
        alpha: the masks' opacity, in [0, 1].
        blend: blend the colors with the image (`uint8` result); if False, paint them over
            it (`float32` result, as in Keras).
        ignore_index: the class value left undrawn.
        data_format: `"channels_last"` or `"channels_first"` (default: the Keras config).

    Returns:
        A NumPy array of the images with the masks drawn, in the images' layout.

    Examples:
        >>> images = np.full((1, 2, 2, 3), 100, "uint8")
        >>> masks = np.array([[[0, 1], [1, -1]]])
        >>> out = keras.visualization.draw_segmentation_masks(
        ...     images, masks, color_mapping={0: (255, 0, 0), 1: (0, 0, 255)}, alpha=0.5)
        >>> out[0, 0, 0].tolist(), out[0, 0, 1].tolist(), out[0, 1, 1].tolist()
        ([177, 50, 50], [50, 50, 177], [100, 100, 100])
    """
    function = "draw_segmentation_masks"
    data_format = _data_format(data_format, function)
    images = _images_4d(images, function)
    masks = np.asarray(segmentation_masks)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
        if masks.ndim == 4:
            masks = np.transpose(masks, (0, 2, 3, 1))
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3 or masks.shape != images.shape[:3]:
        raise ValueError(
            f"{function}: `segmentation_masks` must have shape (batch, height, width) or "
            f"(batch, height, width, 1) matching the images' {images.shape[:3]}. Received: "
            f"segmentation_masks.shape={np.shape(segmentation_masks)}.")
    if masks.dtype.kind not in "iu":
        raise TypeError(
            f"{function}: `segmentation_masks` must be in integer dtype (class indices). "
            f"Received: segmentation_masks.dtype={masks.dtype}. Cast it, e.g. "
            "masks.astype('int32').")
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"{function}: alpha must be in [0, 1]. Received: alpha={alpha}.")
    valid = masks != ignore_index
    if num_classes is None:
        num_classes = max(1, int(np.max(np.where(valid, masks, -1))) + 1)
    if color_mapping is None:
        colors = default_colors(num_classes)
    else:
        missing = [c for c in range(num_classes) if c not in color_mapping]
        if missing:
            raise ValueError(
                f"{function}: color_mapping has no color for classes {missing} (it needs one "
                f"for each class below num_classes={num_classes}).")
        colors = [color_mapping[c] for c in range(num_classes)]
    images = images.astype("float32")
    painted = images.copy()
    for index, color in enumerate(colors):
        painted[(masks == index) & valid] = np.asarray(color, "float32")[:images.shape[-1]]
    if blend:
        mixed = images * (1 - alpha) + painted * alpha
        painted = np.where(valid[..., None], mixed, images)
        painted = np.clip(painted, 0, 255).astype("uint8")
    if data_format == "channels_first":
        painted = np.transpose(painted, (0, 3, 1, 2))
    return painted
