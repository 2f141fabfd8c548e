"""`ops.image.ssim`, `sobel_edges` and `extract_patches_3d`, with values computed by Keras 3.15
(JAX backend) on the same inputs."""

import numpy as np
import pytest

from lamina import ops

A = np.linspace(0, 1, 2 * 8 * 8 * 2, dtype="float32").reshape(2, 8, 8, 2)
B = np.cos(A * 7).astype("float32")


def test_ssim_matches_keras():
    np.testing.assert_allclose(ops.image.ssim(A, B, filter_size=3),
                               [0.10565918, 0.11489819], rtol=1e-5)
    np.testing.assert_allclose(
        ops.image.ssim(A * 255, B * 255, max_val=255.0, filter_size=5, filter_sigma=1.0),
        [0.07729146, 0.25516477], rtol=1e-5)


def test_ssim_of_an_image_with_itself_is_one_in_either_layout_and_unbatched():
    np.testing.assert_allclose(ops.image.ssim(A, A, filter_size=3), [1.0, 1.0], rtol=1e-6)
    first = np.moveaxis(A, -1, 1)
    np.testing.assert_allclose(ops.image.ssim(first, np.moveaxis(B, -1, 1), filter_size=3,
                                              data_format="channels_first"),
                               ops.image.ssim(A, B, filter_size=3), rtol=1e-6)
    single = ops.image.ssim(A[1], B[1], filter_size=3)
    assert single.shape == ()
    np.testing.assert_allclose(single, 0.11489819, rtol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda: ops.image.ssim(A, B[:1]), "one shape"),
    (lambda: ops.image.ssim(A[0, 0], B[0, 0]), "rank 3"),
    (lambda: ops.image.ssim(A, B, filter_size=9), "at most 8"),
    (lambda: ops.image.ssim(A, B, filter_size=0), "filter_size"),
])
def test_ssim_refuses_images_it_cannot_compare(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_sobel_edges_match_keras():
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1) ** 2 / 10
    edges = ops.image.sobel_edges(image)
    assert edges.shape == (1, 4, 4, 1, 2)
    np.testing.assert_allclose(edges[0, :, :, 0, 0], [
        [5.7, 10.2, 14.6, 13.4], [20.8, 32.0, 38.4, 32.0], [40.0, 57.6, 64.0, 51.2],
        [-20.9, -32.6, -40.2, -34.2]], rtol=1e-5)
    np.testing.assert_allclose(edges[0, :, :, 0, 1], [
        [2.7, 2.8, 4.0, -4.4], [13.2, 8.0, 9.6, -17.6], [35.6, 14.4, 16.0, -43.2],
        [41.9, 14.0, 15.2, -49.2]], rtol=1e-5)
    first = ops.image.sobel_edges(np.moveaxis(image, -1, 1), data_format="channels_first")
    np.testing.assert_allclose(first[0, 0], edges[0, :, :, 0], rtol=1e-6)
    with pytest.raises(ValueError, match="rank 4"):
        ops.image.sobel_edges(image[0])


def test_extract_patches_3d_copies_each_patch_into_the_channels():
    volume = np.arange(2 * 4 * 4 * 4 * 3, dtype="float32").reshape(2, 4, 4, 4, 3)
    patches = ops.image.extract_patches_3d(volume, 2)
    assert patches.shape == (2, 2, 2, 2, 24)
    np.testing.assert_array_equal(patches[1, 1, 0, 1], volume[1, 2:4, 0:2, 2:4].reshape(-1))
    assert ops.image.extract_patches_3d(volume, (2, 3, 2), strides=1).shape == (2, 3, 2, 3, 36)
    assert ops.image.extract_patches_3d(volume[0], 2, padding="same",
                                        strides=(1, 2, 1)).shape == (4, 2, 4, 24)
    first = ops.image.extract_patches_3d(np.moveaxis(volume, -1, 1), 2,
                                         data_format="channels_first")
    np.testing.assert_array_equal(first, np.moveaxis(patches, -1, 1))
    with pytest.raises(ValueError, match="size"):
        ops.image.extract_patches_3d(volume, (2, 2))
    with pytest.raises(ValueError, match="rank 4"):
        ops.image.extract_patches_3d(volume[0, 0], 2)
