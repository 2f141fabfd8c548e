"""`keras.visualization`: boxes and masks drawn where they belong, galleries rendered to PNG
(matplotlib's Agg backend) with the images, boxes and masks at the right pixels."""

import numpy as np
import pytest

import lamina as keras

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
Image = pytest.importorskip("PIL.Image")

RED = (255, 0, 0)


def _png(path):
    """The opaque part of a rendered PNG (transparent margins cut off), as RGB uint8."""
    rgba = np.asarray(Image.open(path).convert("RGBA"))
    rows = np.nonzero(rgba[..., 3].max(axis=1) > 0)[0]
    cols = np.nonzero(rgba[..., 3].max(axis=0) > 0)[0]
    return rgba[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1, :3].astype(int)


def _near(pixel, color, tolerance=12):
    return bool(np.all(np.abs(np.asarray(pixel) - np.asarray(color)) <= tolerance))


# ---------------------------------------------------------------------- draw_bounding_boxes
def _one_box(fmt, box):
    return {"boxes": np.array([[box]], "float32"), "labels": np.array([[0]])}


def test_boxes_are_drawn_on_their_edges_in_every_format():
    images = np.zeros((1, 20, 20, 3), "uint8")
    drawn = keras.visualization.draw_bounding_boxes(
        images, _one_box("xyxy", [4, 5, 15, 14]), "xyxy", color=RED, line_thickness=1)
    red = np.all(drawn[0] == RED, axis=-1)
    expected = np.zeros((20, 20), bool)
    expected[5, 4:16] = expected[14, 4:16] = True  # top and bottom edges (rows are y)
    expected[5:15, 4] = expected[5:15, 15] = True  # left and right edges
    np.testing.assert_array_equal(red, expected)
    assert images.max() == 0  # the input is not drawn on
    for fmt, box in [("xywh", [4, 5, 11, 9]), ("yxyx", [5, 4, 14, 15]),
                     ("center_xywh", [9.5, 9.5, 11, 9]),
                     ("rel_xyxy", [4 / 20, 5 / 20, 15 / 20, 14 / 20])]:
        other = keras.visualization.draw_bounding_boxes(
            images, _one_box(fmt, box), fmt, color=RED, line_thickness=1)
        np.testing.assert_array_equal(other, drawn, err_msg=fmt)


def test_thick_lines_labels_padding_and_value_ranges():
    images = np.full((2, 64, 64, 3), 0.5, "float32")  # floats <= 1 are read as [0, 1]
    boxes = {"boxes": np.array([[[5, 40, 60, 60], [1, 1, 3, 3]], [[0, 0, 0, 0]] * 2],
                               "float32"),
             "labels": np.array([[0, -1], [-1, -1]]),  # -1: padding, not drawn
             "confidences": np.array([[0.9, 0.0], [0.0, 0.0]])}
    plain = keras.visualization.draw_bounding_boxes(images, boxes, "xyxy", color=RED,
                                                    line_thickness=3)
    assert plain.dtype == np.uint8 and plain[0, 0, 0].tolist() == [127, 127, 127]
    assert np.all(plain[0, 39:42, 4:62] == RED)  # a 3-pixel edge centred on y=40
    assert _near(plain[0, 50, 20], (127, 127, 127), 0) and _near(plain[0, 2, 2], (127,) * 3, 0)
    assert np.all(plain[1] == 127)  # only padding boxes: untouched
    labelled = keras.visualization.draw_bounding_boxes(
        images, boxes, "xyxy", class_mapping={0: "cat"}, color=RED, line_thickness=3)
    # "cat | 0.90" is written in red above the box (its baseline 8 pixels above the edge).
    reddish = (labelled[0, ..., 0] > 190) & (labelled[0, ..., 1] < 90)
    assert reddish[14:37, 5:62].sum() > 30 and not reddish[:14].any()
    assert not reddish[37:39].any()
    np.testing.assert_array_equal(labelled[0, 39:], plain[0, 39:])  # the box is unchanged


def test_channels_first_and_grayscale_images():
    images = np.zeros((1, 1, 10, 10), "uint8")  # channels first, one channel
    drawn = keras.visualization.draw_bounding_boxes(
        images, _one_box("xyxy", [2, 2, 7, 7]), "xyxy", color=(200, 0, 0), line_thickness=1,
        data_format="channels_first")
    assert drawn.shape == (1, 1, 10, 10)
    assert drawn[0, 0, 2, 2:8].tolist() == [200] * 6 and drawn[0, 0, 4, 4] == 0


# ------------------------------------------------------------------- draw_segmentation_masks
# Keras 3.15.1's outputs for these inputs (num_classes given: 3.15.1 infers one class too few).
SEG_IMAGES = np.arange(27, dtype="float32").reshape(1, 3, 3, 3) * 9
SEG_MASKS = np.array([[[0, 1, 2], [2, -1, 1], [0, 0, 3]]], "int32")
KERAS_BLENDED = [[[[0, 1, 3], [6, 108, 33], [12, 215, 64]],
                  [[17, 221, 69], [108, 117, 126], [27, 130, 55]],
                  [[32, 34, 36], [37, 39, 41], [45, 145, 121]]]]
KERAS_PAINTED = [[[[0, 0, 0], [1, 127, 31], [2, 254, 62]],
                  [[2, 254, 62], [108, 117, 126], [1, 127, 31]],
                  [[0, 0, 0], [0, 0, 0], [216, 225, 234]]]]


def test_segmentation_masks_match_keras():
    blended = keras.visualization.draw_segmentation_masks(SEG_IMAGES, SEG_MASKS[..., None],
                                                          num_classes=4)
    assert blended.dtype == np.uint8 and blended.tolist() == KERAS_BLENDED
    # Masks without the trailing axis, and the class count inferred (the largest class + 1).
    assert keras.visualization.draw_segmentation_masks(SEG_IMAGES, SEG_MASKS).tolist() == \
        KERAS_BLENDED
    painted = keras.visualization.draw_segmentation_masks(
        SEG_IMAGES, SEG_MASKS[..., None], num_classes=3, blend=False, alpha=0.5)
    assert painted.dtype == np.float32 and painted.tolist() == KERAS_PAINTED
    first = keras.visualization.draw_segmentation_masks(
        np.transpose(SEG_IMAGES, (0, 3, 1, 2)), SEG_MASKS[:, None], num_classes=4,
        data_format="channels_first")
    assert np.transpose(first, (0, 2, 3, 1)).tolist() == KERAS_BLENDED


# ------------------------------------------------------------------------------- galleries
def test_image_gallery_png_shows_each_image_in_its_cell(tmp_path):
    images = np.zeros((2, 8, 8, 3), "float32")
    images[0, ..., 0] = 1.0   # red
    images[1, ..., 2] = 1.0   # blue
    path = tmp_path / "gallery.png"
    keras.visualization.plot_image_gallery(images, value_range=(0, 1), path=path)
    png = _png(path)  # two rows, one column
    height, width = png.shape[:2]
    assert _near(png[height // 4, width // 2], RED)
    assert _near(png[3 * height // 4, width // 2], (0, 0, 255))
    grid = tmp_path / "grid.png"  # 3 images on a 2 x 2 grid: the last cell stays empty
    keras.visualization.plot_image_gallery(np.concatenate([images, images[:1]]) * 255,
                                           path=grid, transparent=False)
    png = np.asarray(Image.open(grid).convert("RGB")).astype(int)
    height, width = png.shape[:2]
    assert _near(png[3 * height // 4, width // 4], RED)
    assert _near(png[3 * height // 4, 3 * width // 4], (255, 255, 255))


def test_bounding_box_gallery_png_has_true_and_predicted_boxes(tmp_path):
    images = np.full((1, 32, 32, 3), 0.5, "float32")
    y_true = {"boxes": np.array([[[2, 2, 29, 29]]]), "labels": np.array([[0]])}
    y_pred = {"boxes": np.array([[[10, 10, 21, 21]]]), "labels": np.array([[0]])}
    path = tmp_path / "boxes.png"
    keras.visualization.plot_bounding_box_gallery(
        images, "xyxy", y_true=y_true, y_pred=y_pred, value_range=(0, 1), line_thickness=1,
        scale=3.2, dpi=10 * 10, path=path)
    png = _png(path)  # one cell of 32 x 32 image pixels, shown at 10 screen pixels each
    cell = png.shape[0] / 32

    def at(x, y):
        return png[int((y + 0.5) * cell), int((x + 0.5) * cell)]

    assert _near(at(16, 2), (0, 188, 212))    # the true box's top edge
    assert _near(at(10, 16), (255, 235, 59))  # the predicted box's left edge
    assert _near(at(16, 16), (127, 127, 127))  # inside both: the image, scaled once
    assert _near(at(5, 5), (127, 127, 127))


def test_segmentation_mask_gallery_png_puts_masks_beside_images(tmp_path):
    images = np.full((1, 16, 16, 3), 100, "uint8")
    masks = np.zeros((1, 16, 16, 1), "int32")
    masks[0, :, 8:] = 1
    path = tmp_path / "masks.png"
    keras.visualization.plot_segmentation_mask_gallery(
        images, num_classes=2, y_true=masks, color_mapping={0: (0, 0, 255), 1: RED},
        alpha=0.5, path=path)
    png = _png(path)  # one row: the image, then the image with its mask
    height, width = png.shape[:2]
    assert _near(png[height // 2, width // 4], (100, 100, 100))
    assert _near(png[height // 2, width // 2 + width // 8], (50, 50, 177))
    assert _near(png[height // 2, width - width // 8], (177, 50, 50))


# ------------------------------------------------------------------------------- bad input
def test_bad_input_is_refused_with_what_was_expected():
    images = np.zeros((1, 8, 8, 3), "uint8")
    box = _one_box("xyxy", [1, 1, 5, 5])
    with pytest.raises(ValueError, match=r"batched 4D.*images.shape=\(8, 8, 3\).*images\[None\]"):
        keras.visualization.draw_bounding_boxes(images[0], box, "xyxy")
    with pytest.raises(TypeError, match="should be a dict"):
        keras.visualization.draw_bounding_boxes(images, [box["boxes"]], "xyxy")
    with pytest.raises(ValueError, match=r"'boxes' and 'labels'.*Received keys: \['boxes'\]"):
        keras.visualization.draw_bounding_boxes(images, {"boxes": box["boxes"]}, "xyxy")
    with pytest.raises(ValueError, match=r"\(batch, num_boxes, 4\).*batch size 1"):
        keras.visualization.draw_bounding_boxes(
            images, {"boxes": np.zeros((2, 1, 4)), "labels": np.zeros((2, 1))}, "xyxy")
    with pytest.raises(ValueError, match="unknown source format 'xyz'"):
        keras.visualization.draw_bounding_boxes(images, box, "xyz")
    with pytest.raises(TypeError, match=r"integer dtype.*float32.*astype\('int32'\)"):
        keras.visualization.draw_segmentation_masks(images, np.zeros((1, 8, 8), "float32"))
    with pytest.raises(ValueError, match=r"matching the images' \(1, 8, 8\)"):
        keras.visualization.draw_segmentation_masks(images, np.zeros((1, 4, 4), "int32"))
    with pytest.raises(ValueError, match=r"no color for classes \[1\]"):
        keras.visualization.draw_segmentation_masks(
            images, np.ones((1, 8, 8), "int32"), color_mapping={0: RED})
    with pytest.raises(ValueError, match="not both"):
        keras.visualization.plot_image_gallery(images, path="x.png", show=True)
    with pytest.raises(ValueError, match="label_map"):
        keras.visualization.plot_image_gallery(images, y_true=[0], path="x.png")
    with pytest.raises(ValueError, match="low < high"):
        keras.visualization.plot_image_gallery(images, value_range=(1, 1), path="x.png")
    with pytest.raises(ValueError, match="Only pass `legend` OR `legend_handles`"):
        keras.visualization.plot_bounding_box_gallery(images, "xyxy", legend=True,
                                                      legend_handles=["a"])
