"""`keras.utils.bounding_boxes`, against values computed by Keras 3.15 (JAX backend) on the
same boxes: every format conversion both ways, clipping (labels of empty boxes become -1),
the augmentation layers' affine map, IoU (masked and not), CIoU, anchor deltas, crop, pad."""

import numpy as np
import pytest

import lamina
from lamina.utils import bounding_boxes as bb

BOXES = np.array([[10., 20., 30., 60.], [5., 5., 50., 15.]], "float32")  # xyxy
KERAS_CONVERTED = {  # convert_format(BOXES, "xyxy", target, height=80, width=40)
    "yxyx": [[20.0, 10.0, 60.0, 30.0], [5.0, 5.0, 15.0, 50.0]],
    "xywh": [[10.0, 20.0, 20.0, 40.0], [5.0, 5.0, 45.0, 10.0]],
    "center_xywh": [[20.0, 40.0, 20.0, 40.0], [27.5, 10.0, 45.0, 10.0]],
    "center_yxhw": [[40.0, 20.0, 40.0, 20.0], [10.0, 27.5, 10.0, 45.0]],
    "rel_xyxy": [[0.25, 0.25, 0.75, 0.75], [0.125, 0.0625, 1.25, 0.1875]],
    "rel_yxyx": [[0.25, 0.25, 0.75, 0.75], [0.0625, 0.125, 0.1875, 1.25]],
    "rel_xywh": [[0.25, 0.25, 0.5, 0.5], [0.125, 0.0625, 1.125, 0.125]],
    "rel_center_xywh": [[0.5, 0.5, 0.5, 0.5], [0.6875, 0.125, 1.125, 0.125]],
}


def test_the_namespace_is_keras_utils_bounding_boxes():
    assert lamina.utils.bounding_boxes is bb
    assert sorted(bb.__all__) == [
        "affine_transform", "clip_to_image_size", "compute_ciou", "compute_iou",
        "convert_format", "crop", "decode_deltas_to_boxes", "encode_box_to_deltas", "pad"]


@pytest.mark.parametrize("target", sorted(KERAS_CONVERTED))
def test_convert_format_matches_keras_both_ways(target):
    out = bb.convert_format(BOXES, "xyxy", target, height=80, width=40)
    np.testing.assert_allclose(out, KERAS_CONVERTED[target], rtol=1e-6)
    back = bb.convert_format(out, target.upper(), "xyxy", height=80, width=40)
    np.testing.assert_allclose(back, BOXES, rtol=1e-6, atol=1e-5)
    as_dict = bb.convert_format({"boxes": BOXES, "labels": [1, 2]}, "xyxy", target, 80, 40)
    assert as_dict["labels"] == [1, 2]
    np.testing.assert_allclose(as_dict["boxes"], KERAS_CONVERTED[target], rtol=1e-6)


def test_clip_to_image_size_matches_keras():
    boxes = {"boxes": np.array([[[-10, -20, 150, 160], [50, 40, 50, 80], [3, 4, 5, 6]]],
                              "float32"), "labels": np.array([[0, 1, 2]])}
    out = bb.clip_to_image_size(boxes, height=100, width=120)
    np.testing.assert_allclose(out["boxes"], [[[0.0, 0.0, 120.0, 100.0], [50.0, 40.0, 50.0, 80.0], [3.0, 4.0, 5.0, 6.0]]])
    np.testing.assert_array_equal(out["labels"], [[0, -1, 2]])
    assert boxes["labels"].tolist() == [[0, 1, 2]]  # the input dict is left alone


def test_affine_transform_crop_pad_match_keras():
    out = bb.affine_transform(np.array([[[10, 10, 20, 30], [0, 0, 5, 5]]], "float32"),
                              np.array([30.]), np.array([0.1]), np.array([-0.2]),
                              np.array([1.2]), np.array([10.]), np.array([-5.]), 40, 60)
    np.testing.assert_allclose(out, [[[0.31960487365722656, 4.91676139831543, 27.409957885742188, 31.56071662902832], [-19.030864715576172, 5.413201332092285, -9.355629920959473, 13.801492691040039]]], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(bb.crop(BOXES, 10, 3, 30, 20), [[7.0, 10.0, 20.0, 30.0], [2.0, 0.0, 20.0, 5.0]])
    np.testing.assert_allclose(bb.pad(BOXES, 10, 3), [[13.0, 30.0, 33.0, 70.0], [8.0, 15.0, 53.0, 25.0]])


def test_iou_and_ciou_match_keras():
    a = np.array([[0, 0, 2, 2], [1, 1, 4, 3], [-1, -1, -1, -1]], "float32")
    b = np.array([[1, 0, 3, 2], [0, 0, 2, 2]], "float32")
    np.testing.assert_allclose(bb.compute_iou(a, b, "xyxy"), [[0.3333333432674408, 1.0], [0.25, 0.1111111119389534], [0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(
        bb.compute_iou(a[None], b[None], "xyxy", use_masking=True, mask_val=-2),
        [[[0.3333333432674408, 1.0], [0.25, 0.1111111119389534], [-2.0, -2.0]]], rtol=1e-6)
    np.testing.assert_allclose(bb.compute_ciou(a[:2], b, "xyxy"), [0.25641027092933655, -0.019164539873600006], rtol=1e-5)


def test_box_deltas_match_keras_and_invert():
    anchors = np.array([[0, 0, 10, 10], [5, 5, 25, 15]], "float32")
    boxes = np.array([[1, 2, 12, 9], [4, 6, 30, 20]], "float32")
    deltas = bb.encode_box_to_deltas(anchors, boxes, "xyxy", "xyxy",
                                     variance=[0.1, 0.1, 0.2, 0.2])
    np.testing.assert_allclose(deltas, [[0.5, 1.5, -1.7833747863769531, 0.47655102610588074], [3.0, 1.0, 1.682361125946045, 1.3118212223052979]], rtol=1e-5)
    back = bb.decode_deltas_to_boxes(anchors, deltas, "xyxy", "xyxy",
                                     variance=[0.1, 0.1, 0.2, 0.2])
    np.testing.assert_allclose(back, boxes, rtol=1e-5, atol=1e-5)
    decoded = bb.decode_deltas_to_boxes(
        anchors, np.array([[0.1, -0.2, 0.3, 0.05], [0, 0.5, -0.1, 0.2]], "float32"), "xyxy",
        "xywh", encoded_format="center_xywh")
    np.testing.assert_allclose(decoded, [[-0.7492938041687012, -2.2563552856445312, 13.498588562011719, 10.512710571289062], [5.951625823974609, 8.892986297607422, 18.09674835205078, 12.214027404785156]], rtol=1e-5)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"unknown target format 'xyzw'.*'center_xywh'"):
        bb.convert_format(BOXES, "xyxy", "xyzw")
    with pytest.raises(ValueError, match=r"needs `height` and `width`.*height=None"):
        bb.convert_format(BOXES, "xyxy", "rel_xyxy")
    with pytest.raises(ValueError, match=r"last axis of 4.*\(2, 3\)"):
        bb.convert_format(BOXES[:, :3], "xyxy", "xywh")
    with pytest.raises(ValueError, match="`variance` must have 4 values"):
        bb.encode_box_to_deltas(BOXES, BOXES, "xyxy", "xyxy", variance=[1, 2])
