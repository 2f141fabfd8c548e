"""CutMix and MixUp (lamina/layers/preprocessing/image/mixing.py): images and labels mixed as
Keras 3.15 (JAX backend) mixes them for the same seeds, masks and boxes carried along."""

import os
import sys

import numpy as np
import pytest

import lamina

sys.path.insert(0, os.path.dirname(__file__))
import _augmentation_checks as checks  # noqa: E402

IMAGES, LABELS = checks.IMAGES, checks.LABELS
L = lamina.layers

KERAS = {
    "cutmix": (lambda: L.CutMix(seed=1),
               [[[[0.0, 37.0, 74.0], [111.0, 148.0, 185.0]],
                 [[222.0, 3.0, 40.0], [9.0, 46.0, 83.0]]],
                [[[188.0, 225.0, 6.0], [43.0, 80.0, 117.0]],
                 [[154.0, 191.0, 228.0], [9.0, 46.0, 83.0]]]],
               [[0.00112, 0.99888], [0.02381, 0.97619]]),
    "mixup": (lambda: L.MixUp(seed=3, bounding_box_format="xyxy"),
              [[[[0.591, 37.591, 73.786], [110.786, 147.786, 184.786]],
                [[221.786, 3.591, 40.591], [76.786, 113.786, 150.786]]],
               [[[50.213, 87.213, 55.838], [92.838, 129.838, 166.838]],
                [[203.838, 53.213, 90.213], [58.838, 95.838, 132.838]]]],
              [[0.99685, 0.00315], [0.73291, 0.26709]]),
}


MASKS = IMAGES[..., :1].astype("int32")
BOXES = {"boxes": np.array([[[0, 0, 1, 1]], [[1, 1, 2, 2]]], "float32"),
         "labels": np.array([[5], [6]], "int32")}


def _data(case):
    # CutMix carries masks, MixUp boxes: Keras's numbers cover the images and labels.
    targets = {"segmentation_masks": MASKS} if case == "cutmix" else {"bounding_boxes": BOXES}
    return {"images": IMAGES, "labels": LABELS, **targets}


@pytest.fixture(scope="module")
def calls():
    return checks.first_calls(KERAS, _data)


@pytest.mark.parametrize("case", sorted(KERAS))
def test_images_and_labels_mix_as_in_keras(case, calls):
    _, images, labels = KERAS[case]
    first = calls[case][0]
    np.testing.assert_allclose(first["images"], images, atol=2e-3)
    np.testing.assert_allclose(first["labels"], labels, atol=1e-4)


@pytest.mark.parametrize("case", sorted(KERAS))
def test_identity_at_inference_and_new_draws_each_call(case, calls):
    first, second, inference = calls[case]
    np.testing.assert_array_equal(inference["images"], IMAGES)
    np.testing.assert_array_equal(inference["labels"], LABELS)
    assert not np.allclose(first["labels"], second["labels"])


def test_cutmix_pastes_the_same_rectangle_into_masks(calls):
    for out in calls["cutmix"][:2]:
        assert out["segmentation_masks"].shape == MASKS.shape
        assert out["segmentation_masks"].dtype == MASKS.dtype
        np.testing.assert_array_equal(out["images"][..., :1], out["segmentation_masks"])


def test_mixup_appends_the_partner_boxes(calls):
    boxes = calls["mixup"][0]["bounding_boxes"]
    assert boxes["boxes"].shape == (2, 2, 4) and boxes["labels"].shape == (2, 2)
    np.testing.assert_array_equal(boxes["labels"][:, 0], [5, 6])
    np.testing.assert_array_equal(np.sort(boxes["labels"][:, 1]), [5, 6])


def test_single_image_passes_through_cutmix():
    np.testing.assert_array_equal(L.CutMix(seed=0)(IMAGES[0]), IMAGES[0])


def test_cutmix_refuses_boxes_as_keras_does():
    with pytest.raises(NotImplementedError, match="bounding boxes"):
        L.CutMix(bounding_box_format="xyxy")({"images": IMAGES, "bounding_boxes": {
            "boxes": np.zeros((2, 1, 4), "float32"), "labels": np.zeros((2, 1), "int32")}})


def test_configs_are_keras_configs():
    assert L.CutMix(name="cm").get_config()["factor"] == (0, 1.0)
    config = L.MixUp(name="mu").get_config()
    assert (config["alpha"], config["seed"]) == (0.2, None)
    checks.check_config_round_trip(L.MixUp(alpha=0.4, seed=1))
    checks.check_config_round_trip(L.CutMix(factor=(0.2, 0.5), seed=1))


@pytest.mark.parametrize("make, words", [
    (lambda: L.CutMix(factor=2.0), ["CutMix", "factor=2.0", "[0, 1]"]),
    (lambda: L.MixUp(alpha=0), ["MixUp", "alpha=0", "positive"]),
])
def test_bad_arguments_are_refused_naming_them(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)
