"""`ops.image.affine_transform`, `perspective_transform` and `elastic_transform`, against values
computed by Keras 3.15 (JAX backend) on the same small inputs: every fill mode, both
interpolations, integer images (rounded as Keras rounds), and a seeded elastic warp."""

import jax
import numpy as np
import pytest

from lamina import ops

IMAGE = np.arange(12, dtype="float32").reshape(3, 4, 1)
TRANSFORM = np.array([0.8, 0.3, 0.6, -0.2, 1.1, -0.4, 0, 0], "float32")
# Keras 3.15: ops.image.affine_transform(IMAGE, TRANSFORM, "bilinear", mode, fill_value=-1.0)
KERAS_BILINEAR = {
    "constant": [[-0.04, -0.04, -0.36, -1.0], [3.7, 3.7, 3.7, 2.079999], [8.4, 8.4, 8.4, 2.52]],
    "nearest": [[0.6, 1.4, 2.2, 3.0], [3.7, 3.7, 3.7, 3.4], [8.4, 8.4, 8.4, 7.8]],
    "wrap": [[3.8, 6.2, 8.6, 11.0], [3.7, 3.7, 3.7, 2.499999], [8.4, 8.4, 8.4, 6.0]],
    "mirror": [[2.2, 3.8, 5.4, 7.0], [3.7, 3.7, 3.7, 3.1], [8.4, 8.4, 8.4, 7.2]],
    "reflect": [[0.6, 1.4, 2.2, 3.0], [3.7, 3.7, 3.7, 3.4], [8.4, 8.4, 8.4, 7.8]],
}


@pytest.mark.parametrize("fill_mode", sorted(KERAS_BILINEAR))
def test_affine_transform_bilinear_matches_keras(fill_mode):
    out = ops.image.affine_transform(IMAGE, TRANSFORM, "bilinear", fill_mode, -1.0)
    np.testing.assert_allclose(out[..., 0], KERAS_BILINEAR[fill_mode], atol=2e-5)


def test_affine_transform_nearest_integer_and_channels_first_match_keras():
    out = ops.image.affine_transform(IMAGE, TRANSFORM, "nearest", "constant", -1.0)
    np.testing.assert_array_equal(out[..., 0], [[1, -1, -1, -1], [5, 6, 3, 3], [9, 10, 7, -1]])
    pixels = (np.arange(12).reshape(3, 4, 1) * 20).astype("uint8")
    out = ops.image.affine_transform(pixels, TRANSFORM)
    assert out.dtype == np.uint8  # bilinear results rounded half away from zero, as Keras
    np.testing.assert_array_equal(out[..., 0], [[7, 11, 9, 0], [74, 74, 74, 48],
                                                [168, 168, 168, 62]])
    batch = np.stack([IMAGE, IMAGE[::-1]])
    first = ops.image.affine_transform(np.moveaxis(batch, -1, 1), np.stack([TRANSFORM] * 2),
                                       fill_mode="wrap", fill_value=-1.0,
                                       data_format="channels_first")
    np.testing.assert_allclose(first[0, 0], KERAS_BILINEAR["wrap"], atol=2e-5)


def test_affine_transform_identity_shift_and_jit():
    np.testing.assert_array_equal(
        ops.image.affine_transform(IMAGE, [1, 0, 0, 0, 1, 0, 0, 0]), IMAGE)
    shifted = jax.jit(ops.image.affine_transform)(IMAGE, [1, 0, 0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(shifted[:2], IMAGE[1:])  # output row y reads row y + 1
    np.testing.assert_array_equal(shifted[2], 0.0)


def test_perspective_transform_matches_keras():
    start = np.array([[0, 0], [3, 0], [0, 2], [3, 2]], "float32")
    end = np.array([[0.5, 0], [3, 0.5], [0, 2], [2.5, 2]], "float32")
    out = ops.image.perspective_transform(IMAGE, start, end, fill_value=-1.0)
    np.testing.assert_allclose(
        out[..., 0], [[-0.208635, 0.313215, 0.716123, 0.598493],
                      [2.890674, 4.277228, 4.923077, 3.791952], [8.0, 9.010527, 10.258823, 0.92]],
        atol=2e-5)


def test_elastic_transform_matches_keras_for_a_seed():
    image = np.arange(36, dtype="float32").reshape(6, 6, 1)
    out = ops.image.elastic_transform(image, alpha=2.0, sigma=1.0, seed=3)
    np.testing.assert_allclose(out[..., 0], [
        [2.71503, 2.82046, 4.6526, 5.32211, 3.90244, 4.73426],
        [7.30668, 8.01767, 11.46706, 13.85373, 12.48011, 11.76418],
        [11.75907, 13.55878, 18.75322, 22.92366, 20.53922, 18.12383],
        [19.96805, 21.04078, 26.70078, 30.31034, 25.56606, 22.42516],
        [29.22762, 29.67192, 33.11811, 34.15478, 29.75748, 26.96442],
        [30.66737, 31.63891, 32.77735, 33.60994, 34.06588, 33.53862]], atol=1e-4)


def test_bad_arguments_name_what_is_expected():
    with pytest.raises(ValueError, match=r"interpolation 'cubic'.*\('nearest', 'bilinear'\)"):
        ops.image.affine_transform(IMAGE, TRANSFORM, interpolation="cubic")
    with pytest.raises(ValueError, match=r"fill_mode 'edge'.*'constant', 'nearest', 'wrap'"):
        ops.image.affine_transform(IMAGE, TRANSFORM, fill_mode="edge")
    with pytest.raises(ValueError, match=r"rank 3.*rank 4.*\(12,\)"):
        ops.image.affine_transform(np.zeros(12), TRANSFORM)
    with pytest.raises(ValueError, match=r"transform of shape \(8,\) or \(batch, 8\).*\(6,\)"):
        ops.image.affine_transform(IMAGE, TRANSFORM[:6])
    with pytest.raises(ValueError, match=r"end_points of shape \(4, 2\).*\(3, 2\)"):
        ops.image.perspective_transform(IMAGE, np.zeros((4, 2)), np.zeros((3, 2)))
