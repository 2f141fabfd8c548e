"""Galleries of images with matplotlib: plain, with bounding boxes, with segmentation masks.

matplotlib is an optional dependency (`pip install "lamina[visualization]"`), imported when a
gallery is drawn. Each gallery is saved to `path` (any format matplotlib writes: PNG, SVG,
PDF) or shown with `plt.show()`.

Where Keras 3 differs: its galleries drop the last images when the batch does not fill the
grid (`cols = batch // rows`) and, for `value_range=(0, 1)`, scale boxes' and masks' images
twice; lamina shows every image (empty cells are left blank) and brings images to [0, 255]
once, before drawing on them.
"""

import functools
import math

import numpy as np

from lamina._registry import keras_export
from lamina.visualization.draw import (
    _data_format,
    _images_4d,
    draw_bounding_boxes,
    draw_segmentation_masks,
)


def _pyplot(function):
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"{function} draws with matplotlib, which is not installed. Install it with "
            "`pip install matplotlib` (or `pip install \"lamina[visualization]\"`).") from error
    return plt


def _to_255(images, value_range, function):
    """Images in `value_range` mapped linearly to [0, 255] (clipped), as float32."""
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"{function}: value_range must be a pair (low, high), e.g. (0, 255) or (0, 1). "
            f"Received: value_range={value_range!r}.") from None
    if not high > low:
        raise ValueError(
            f"{function}: value_range must have low < high. Received: "
            f"value_range={value_range!r}.")
    images = (np.asarray(images, "float32") - low) * (255.0 / (high - low))
    return np.clip(images, 0, 255)


@keras_export("keras.visualization.plot_image_gallery")
def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None,
                       value_range=(0, 255), scale=2, path=None, show=None, transparent=True,
                       dpi=60, legend_handles=None, data_format=None):
    """Draws a grid of images, optionally titled with their true and predicted classes.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first).
        y_true: the images' class indices, shown as `Label: <name>`.
        y_pred: predicted class indices, shown as `Pred: <name>`.
        label_map: `{class index: name}`; needed with `y_true` or `y_pred`.
        rows: the grid's rows (default: about the square root of the batch size).
        cols: the grid's columns (default: enough for the whole batch).
        value_range: the images' value range, mapped to the displayed [0, 255].
        scale: the size of each cell, in inches.
        path: save the gallery to this file instead of showing it.
        show: show it with `plt.show()` (default: when there is no `path`).
        transparent: save with a transparent background.
        dpi: the resolution of the saved file.
        legend_handles: matplotlib `Patch`es for a legend under the grid.
        data_format: `"channels_last"` or `"channels_first"` (default: the Keras config).

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "gallery.png")
        >>> keras.visualization.plot_image_gallery(
        ...     np.random.randint(0, 256, (4, 8, 8, 3)), path=path)
        >>> os.path.getsize(path) > 0
        True
    """
    function = "plot_image_gallery"
    plt = _pyplot(function)
    if path is not None and show:
        raise ValueError(
            f"{function} saves the gallery to `path` or shows it, not both. Received: "
            f"path={path!r}, show=True. Pass one of them.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError(
            f"{function}: if `y_true` or `y_pred` are provided, a `label_map` must also be "
            "provided ({class index: name}).")
    show = path is None if show is None else show
    data_format = _data_format(data_format, function)
    images = _images_4d(images, function)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
    batch = images.shape[0]
    rows = int(rows) if rows else (int(math.ceil(batch / cols)) if cols else
                                   int(math.ceil(math.sqrt(batch))))
    cols = int(cols) if cols else int(math.ceil(batch / rows))
    images = _to_255(images[:rows * cols], value_range, function).astype("uint8")
    if images.shape[-1] == 1:
        images = images[..., 0]  # matplotlib draws (h, w) as grey with cmap="gray"
    y_true = None if y_true is None else np.asarray(y_true).reshape(-1)
    y_pred = None if y_pred is None else np.asarray(y_pred).reshape(-1)

    figure, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale),
                                frameon=False, layout="tight", squeeze=False, sharex="row",
                                sharey="col")
    if legend_handles is not None:
        figure.legend(handles=legend_handles, loc="lower center")
    for index, axis in enumerate(axes.reshape(-1)):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(images[index], cmap="gray" if images.ndim == 3 else None,
                    vmin=0, vmax=255)
        axis.margins(x=0, y=0)
        title = []
        if y_true is not None and index < len(y_true):
            title.append(f"Label: {label_map.get(int(y_true[index]), 'Unknown')}")
        if y_pred is not None and index < len(y_pred):
            title.append(f"Pred: {label_map.get(int(y_pred[index]), 'Unknown')}")
        if title:
            axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        figure.savefig(path, pad_inches=0, bbox_inches="tight", transparent=transparent,
                       dpi=dpi)
        plt.close(figure)
    elif show:
        plt.show()
        plt.close(figure)


@keras_export("keras.visualization.plot_bounding_box_gallery")
def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None,
                              value_range=(0, 255), true_color=(0, 188, 212),
                              pred_color=(255, 235, 59), line_thickness=2, font_scale=1.0,
                              text_thickness=None, class_mapping=None,
                              ground_truth_mapping=None, prediction_mapping=None, legend=False,
                              legend_handles=None, rows=None, cols=None, data_format=None,
                              **kwargs):
    """Draws a grid of images with their true and/or predicted bounding boxes.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first).
        bounding_box_format: the boxes' format (see `draw_bounding_boxes`).
        y_true: true boxes, a dict as `draw_bounding_boxes` takes (`"boxes"`, `"labels"`).
        y_pred: predicted boxes, the same kind of dict (with `"confidences"` if wanted).
        value_range: the images' value range.
        true_color: the RGB color of true boxes.
        pred_color: the RGB color of predicted boxes.
        line_thickness: the boxes' outline width in pixels.
        font_scale: the labels' size.
        text_thickness: the labels' stroke weight (default: `line_thickness`).
        class_mapping: `{class id: name}` for both kinds of boxes.
        ground_truth_mapping: names for true boxes (default: `class_mapping`).
        prediction_mapping: names for predicted boxes (default: `class_mapping`).
        legend: add a legend telling the two colors apart.
        legend_handles: matplotlib `Patch`es for a legend of your own (not with `legend`).
        rows: the grid's rows.
        cols: the grid's columns.
        data_format: `"channels_last"` or `"channels_first"` (default: the Keras config).
        **kwargs: passed to `plot_image_gallery` (`path`, `show`, `scale`, `dpi`, ...).

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "boxes.png")
        >>> boxes = {"boxes": np.array([[[2, 2, 12, 12]]]), "labels": np.array([[0]])}
        >>> keras.visualization.plot_bounding_box_gallery(
        ...     np.zeros((1, 16, 16, 3)), "xyxy", y_true=boxes, path=path)
        >>> os.path.exists(path)
        True
    """
    function = "plot_bounding_box_gallery"
    plt = _pyplot(function)
    if legend and legend_handles:
        raise ValueError(
            "Only pass `legend` OR `legend_handles` to "
            "`keras.visualization.plot_bounding_box_gallery()`.")
    data_format = _data_format(data_format, function)
    images = _images_4d(images, function)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
    plotted = _to_255(images, value_range, function).astype("uint8")
    draw = functools.partial(draw_bounding_boxes, bounding_box_format=bounding_box_format,
                             line_thickness=line_thickness, text_thickness=text_thickness,
                             font_scale=font_scale, data_format="channels_last")
    if y_true is not None:
        plotted = draw(plotted, y_true, color=true_color,
                       class_mapping=ground_truth_mapping or class_mapping)
    if y_pred is not None:
        plotted = draw(plotted, y_pred, color=pred_color,
                       class_mapping=prediction_mapping or class_mapping)
    if legend:
        patches = plt.matplotlib.patches
        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction"),
        ]
    return plot_image_gallery(plotted, value_range=(0, 255), legend_handles=legend_handles,
                              rows=rows, cols=cols, data_format="channels_last", **kwargs)


@keras_export("keras.visualization.plot_segmentation_mask_gallery")
def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None,
                                   y_pred=None, color_mapping=None, blend=True, alpha=0.8,
                                   ignore_index=-1, data_format=None, **kwargs):
    """Draws each image beside its true and/or predicted segmentation masks, one row per
    image.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first).
        num_classes: the number of classes.
        value_range: the images' value range.
        y_true: true class masks, `(batch, height, width)` or `(batch, height, width, 1)`.
        y_pred: predicted class masks, the same shape.
        color_mapping: `{class: (r, g, b)}` (default: Keras's palette).
        blend: blend the mask colors with the image (see `draw_segmentation_masks`).
        alpha: the masks' opacity.
        ignore_index: the class value left undrawn.
        data_format: `"channels_last"` or `"channels_first"` (default: the Keras config).
        **kwargs: passed to `plot_image_gallery` (`path`, `show`, `scale`, `dpi`, ...).

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "masks.png")
        >>> masks = np.zeros((2, 8, 8), "int32")
        >>> keras.visualization.plot_segmentation_mask_gallery(
        ...     np.zeros((2, 8, 8, 3)), num_classes=2, y_true=masks, path=path)
        >>> os.path.exists(path)
        True
    """
    function = "plot_segmentation_mask_gallery"
    _pyplot(function)
    data_format = _data_format(data_format, function)
    images = _images_4d(images, function)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
    images = _to_255(images, value_range, function)

    def channels_last(masks):
        masks = np.asarray(masks)
        if data_format == "channels_first" and masks.ndim == 4:
            masks = np.transpose(masks, (0, 2, 3, 1))
        return masks.astype("int32")

    draw = functools.partial(draw_segmentation_masks, num_classes=num_classes,
                             color_mapping=color_mapping, alpha=alpha, blend=blend,
                             ignore_index=ignore_index, data_format="channels_last")
    columns = [images]
    if y_true is not None:
        columns.append(draw(images, channels_last(y_true)).astype("float32"))
    if y_pred is not None:
        columns.append(draw(images, channels_last(y_pred)).astype("float32"))
    gallery = np.stack(columns, axis=1).reshape((-1,) + images.shape[1:])
    return plot_image_gallery(gallery, value_range=(0, 255), rows=images.shape[0],
                              cols=len(columns), data_format="channels_last", **kwargs)
