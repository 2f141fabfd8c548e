"""RandAugment and AugMix (lamina/layers/preprocessing/image/rand_augment.py), which compose
the colour, intensity and histogram layers with the geometric ones; and `.keras` files of
augmentation layers moving both ways between lamina and Keras 3.15."""

import json
import os
import sys

import numpy as np
import pytest

import lamina

sys.path.insert(0, os.path.dirname(__file__))
import _augmentation_checks as checks  # noqa: E402

IMAGES = checks.IMAGES
L = lamina.layers

# Keras 3.15 (JAX backend), same seed, on IMAGES: the ops picked include shear and translation.
RAND_AUGMENT = {
    "three_ops": (lambda: L.RandAugment(num_ops=3, factor=0.8, seed=5,
                                        bounding_box_format="xyxy"),
                  [[[[19.826, 23.791, 23.791], [48.139, 108.732, 108.732]],
                    [[104.767, 23.791, 23.791], [48.139, 108.732, 108.732]]],
                   [[[157.059, 157.059, 16.394], [38.831, 38.831, 75.508]],
                    [[137.355, 137.355, 154.327], [19.126, 19.126, 55.803]]]]),
}


MASKS = np.arange(8, dtype="int32").reshape(2, 2, 2, 1)
BOXES = {"boxes": np.array([[[0, 0, 1, 1]], [[0, 0, 2, 2]]], "float32"),
         "labels": np.array([[1], [2]], "int32")}


@pytest.fixture(scope="module")
def calls():
    # Keras's numbers cover the images; the boxes and masks ride along in the same call.
    return checks.first_calls(RAND_AUGMENT, lambda case: {
        "images": IMAGES, "segmentation_masks": MASKS, "bounding_boxes": BOXES})


@pytest.mark.parametrize("case", sorted(RAND_AUGMENT))
def test_rand_augment_computes_keras_numbers(case, calls):
    np.testing.assert_allclose(calls[case][0]["images"], RAND_AUGMENT[case][1], atol=2e-3)


@pytest.mark.parametrize("case", sorted(RAND_AUGMENT))
def test_rand_augment_is_identity_at_inference_and_draws_anew(case, calls):
    first, second, inference = calls[case]
    np.testing.assert_array_equal(inference["images"], IMAGES)
    np.testing.assert_array_equal(inference["segmentation_masks"], MASKS)
    assert not np.allclose(first["images"], second["images"])


def test_rand_augment_moves_boxes_and_masks_with_the_images(calls):
    out = calls["three_ops"][0]
    assert out["segmentation_masks"].shape == MASKS.shape
    assert out["segmentation_masks"].dtype == MASKS.dtype
    assert out["bounding_boxes"]["boxes"].shape == (2, 1, 4)
    np.testing.assert_array_equal(out["bounding_boxes"]["labels"], BOXES["labels"])


def test_aug_mix_respects_the_value_range_repeats_from_its_seed_and_skips_inference():
    layer = L.AugMix(value_range=(0, 1), num_chains=2, chain_depth=1, all_ops=False, seed=3)
    images = IMAGES / 255
    first, second = np.asarray(layer(images)), np.asarray(layer(images))
    checks.check_within(first, 0, 1)
    assert not np.allclose(first, second)
    layer.generator.state.assign(np.array([3, 0], "uint32"))  # back to the seed's start
    np.testing.assert_array_equal(layer(images), first)
    np.testing.assert_array_equal(layer(images, training=False), images)


def test_configs_are_keras_configs_and_round_trip():
    config = L.AugMix(name="am").get_config()
    del config["dtype"]
    assert config == {
        "name": "am", "trainable": True, "data_format": "channels_last",
        "value_range": (0, 255), "num_chains": 3, "chain_depth": 3, "factor": (0, 0.3),
        "alpha": 1.0, "all_ops": True, "interpolation": "bilinear", "seed": None}
    config = L.RandAugment(name="ra").get_config()
    assert (config["num_ops"], config["factor"], config["value_range"]) == (2, (0, 0.5),
                                                                           (0, 255))
    checks.check_config_round_trip(L.RandAugment(num_ops=1, factor=(0.1, 0.2), seed=3))
    checks.check_config_round_trip(L.AugMix(all_ops=False, alpha=0.5, seed=3))


@pytest.mark.parametrize("make, words", [
    (lambda: L.RandAugment(factor=1.5), ["RandAugment", "factor=1.5"]),
    (lambda: L.RandAugment(num_ops=0), ["num_ops=0", "positive int"]),
    (lambda: L.AugMix(value_range=(0, 1, 2)), ["AugMix", "value_range=(0, 1, 2)"]),
    (lambda: L.AugMix(chain_depth=-1), ["chain_depth=-1"]),
    (lambda: L.AugMix(alpha=0), ["alpha=0"]),
])
def test_bad_arguments_are_refused_naming_them(make, words):
    with pytest.raises(ValueError) as info:
        make()
    for word in words:
        assert word in str(info.value)


@pytest.fixture(scope="module")
def keras_module():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


def _as_json(config):
    return json.loads(json.dumps(config))  # tuples and lists alike, as in a file


def test_keras_files_move_both_ways(keras_module, tmp_path, monkeypatch):
    keras = keras_module
    # tests/conftest.py marks TensorFlow absent with a None entry; Keras's preprocessing
    # layers take any "tensorflow" entry for a tf.data graph, so the entry goes for this test.
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    ours = lamina.Sequential([
        lamina.Input((2, 2, 3)), L.RandomContrast(0.3, seed=1), L.RandAugment(seed=2),
        L.Solarization(threshold_factor=(0.2, 0.4), seed=3), L.AutoContrast()])
    ours.save(tmp_path / "ours.keras")
    loaded = keras.saving.load_model(tmp_path / "ours.keras")
    for mine, theirs in zip(ours.layers, loaded.layers):
        assert type(theirs).__name__ == type(mine).__name__
        assert _as_json(theirs.get_config()) == _as_json(mine.get_config())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(IMAGES, training=False)),
                               ours(IMAGES, training=False), atol=1e-4)

    theirs = keras.Sequential([
        keras.Input((2, 2, 3)), keras.layers.RandomHue(0.2, seed=1),
        keras.layers.CutMix(seed=2), keras.layers.RandomSaturation((0.3, 0.6), seed=3),
        keras.layers.AugMix(num_chains=2, seed=4),
        keras.layers.ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(1, 2))])
    theirs.save(tmp_path / "theirs.keras")
    back = lamina.saving.load_model(tmp_path / "theirs.keras")
    for original, mine in zip(theirs.layers, back.layers):
        assert type(mine).__name__ == type(original).__name__
        assert _as_json(mine.get_config()) == _as_json(original.get_config())
