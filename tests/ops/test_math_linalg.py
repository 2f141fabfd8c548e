"""`ops.math`, `ops.linalg` and `ops.image` functions against NumPy and hand-computed values."""

import numpy as np
import pytest

from lamina import ops

RNG = np.random.default_rng(3)
A = RNG.normal(size=(3, 3)).astype("float32")
SPD = (A @ A.T + 3 * np.eye(3)).astype("float32")


def close(actual, expected, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=atol)


def test_top_k_and_in_top_k():
    values, indices = ops.top_k([[1.0, 5.0, 3.0, 4.0]], 2)
    np.testing.assert_array_equal(values, [[5.0, 4.0]])
    np.testing.assert_array_equal(indices, [[1, 3]])
    predictions = [[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]]
    np.testing.assert_array_equal(ops.in_top_k([2, 2], predictions, 2), [True, False])
    with pytest.raises(ValueError, match="0 <= k <= 4"):
        ops.top_k([[1.0, 2.0, 3.0, 4.0]], 5)


def test_segment_reductions():
    data = np.array([[1, 2], [3, 4], [5, 6], [7, 8]], "float32")
    ids = np.array([0, 0, 2, 2])
    close(ops.segment_sum(data, ids, num_segments=3), [[4, 6], [0, 0], [12, 14]])
    close(ops.segment_sum(data, ids), [[4, 6], [0, 0], [12, 14]])  # inferred eagerly
    close(np.asarray(ops.segment_max(data, ids, num_segments=3))[[0, 2]], [[3, 4], [7, 8]])
    with pytest.raises(ValueError, match="one segment id per row"):
        ops.segment_sum(data, ids[:3], num_segments=3)


def test_special_functions():
    x = np.array([-1.0, 0.0, 0.5], "float32")
    close(ops.erf(x), [-0.8427008, 0.0, 0.5204999])
    close(ops.erfinv(ops.erf(x)), x)
    close(ops.rsqrt([4.0, 0.25]), [0.5, 2.0])
    close(ops.logdet(SPD), np.linalg.slogdet(SPD)[1])


def test_linalg_matches_numpy():
    b = RNG.normal(size=(3, 2)).astype("float32")
    close(ops.inv(SPD), np.linalg.inv(SPD))
    close(ops.det(SPD), np.linalg.det(SPD), rtol=1e-4)
    close(ops.solve(SPD, b), np.linalg.solve(SPD, b))
    close(ops.cholesky(SPD), np.linalg.cholesky(SPD))
    close(ops.cholesky_inverse(np.linalg.cholesky(SPD)), np.linalg.inv(SPD))
    close(ops.norm(A), np.linalg.norm(A))
    close(ops.norm(A, ord=1, axis=0), np.linalg.norm(A, ord=1, axis=0))
    close(ops.svd(A, compute_uv=False), np.linalg.svd(A, compute_uv=False))
    q, r = ops.qr(A)
    close(np.asarray(q) @ np.asarray(r), A)
    w, _ = ops.eigh(SPD)
    close(w, np.linalg.eigvalsh(SPD))
    close(ops.lstsq(A[:, :2], b[:, 0]), np.linalg.lstsq(A[:, :2], b[:, 0], rcond=None)[0])
    close(ops.solve_triangular(np.triu(SPD), b), np.linalg.solve(np.triu(SPD), b))
    close(ops.pinv(A), np.linalg.pinv(A), atol=1e-4)
    assert int(ops.matrix_rank(np.outer([1.0, 2.0], [3.0, 4.0]))) == 1
    batch = np.stack([SPD, 2 * SPD])
    close(ops.det(batch), np.linalg.det(batch), rtol=1e-4)


def test_linalg_errors():
    with pytest.raises(ValueError, match="square matrices"):
        ops.inv(np.ones((2, 3)))
    with pytest.raises(ValueError, match="rank 2 or more"):
        ops.det(np.ones(3))
    with pytest.raises(ValueError, match="positive-definite"):
        ops.cholesky(-np.eye(2))


def test_fft_and_framing():
    signal = RNG.normal(size=(2, 8)).astype("float32")
    real, imag = ops.rfft(signal)
    expected = np.fft.rfft(signal)
    close(real, expected.real)
    close(imag, expected.imag)
    close(ops.irfft((real, imag)), signal)
    real, imag = ops.fft((signal, np.zeros_like(signal)))
    close(real, np.fft.fft(signal).real)
    close(ops.extract_sequences(np.arange(6.0), 3, 2), [[0, 1, 2], [2, 3, 4]])
    long = RNG.normal(size=(32,)).astype("float32")
    spectrum = ops.stft(long, 8, 2, 8)
    close(ops.istft(spectrum, 8, 2, 8, length=32), long, atol=1e-4)  # round trip
    frames = long[np.arange(7)[:, None] * 4 + np.arange(8)]
    real, imag = ops.stft(long, 8, 4, 8, window=None, center=False)
    close(real, np.fft.rfft(frames).real, atol=1e-4)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(8) / 8)  # periodic, as scipy's get_window
    real, imag = ops.stft(long, 8, 4, 8, center=False)
    close(imag, np.fft.rfft(frames * hann).imag, atol=1e-4)
    with pytest.raises(ValueError, match=r"pair \(real, imaginary\)"):
        ops.fft(signal)


def test_image_resize_pad_crop():
    image = np.arange(16.0, dtype="float32").reshape(1, 4, 4, 1)
    close(ops.image.resize(image, (2, 2), interpolation="nearest")[0, :, :, 0],
          image[0, 1::2, 1::2, 0])
    close(ops.image.resize(image, (4, 4))[0], image[0])
    assert ops.image.resize(image, (8, 6)).shape == (1, 8, 6, 1)
    assert ops.image.resize(image[0], (3, 2), crop_to_aspect_ratio=True).shape == (3, 2, 1)
    padded = ops.image.pad_images(image, 1, 2, 0, 0)
    assert padded.shape == (1, 5, 6, 1) and float(padded[0, 0, 0, 0]) == 0.0
    close(ops.image.crop_images(padded, 1, 2, 0, 0), image)
    patches = ops.image.extract_patches(image, 2)
    close(patches[0, 0, 0], [0.0, 1.0, 4.0, 5.0])
    gray = ops.image.rgb_to_grayscale(np.ones((2, 2, 3), "float32"))
    close(gray, np.full((2, 2, 1), 0.2989 + 0.5870 + 0.1140))
    blurred = ops.image.gaussian_blur(image, (3, 3), (1.0, 1.0))
    weights = np.exp(-0.5 * np.array([1.0, 0.0, 1.0]) ** 2)
    weights = np.outer(weights, weights) / weights.sum() ** 2
    close(blurred[0, 1, 1, 0], np.sum(image[0, :3, :3, 0] * weights))
    close(ops.image.map_coordinates(image[0, :, :, 0], [[0.5, 3.0], [0.0, 1.5]], order=1),
          [2.0, 13.5])  # image[i, j] = 4 i + j


def test_rearrange():
    x = np.arange(24.0).reshape(2, 3, 4)
    close(ops.rearrange(x, "b h w -> b w h"), x.transpose(0, 2, 1))
    close(ops.rearrange(x, "b h w -> (b h) w"), x.reshape(6, 4))
    close(ops.rearrange(x, "b h (w1 w) -> b w1 h w", w1=2),
          x.reshape(2, 3, 2, 2).transpose(0, 2, 1, 3))
    with pytest.raises(ValueError, match="names 2 input axes"):
        ops.rearrange(x, "a b -> b a")


def test_ctc_loss_against_hand_computed_paths():
    uniform = np.zeros((1, 3, 2), "float32")  # two classes (blank 0, label 1), p = 1/2 each
    # Label "1" in 2 steps: paths 11, 01, 10 -> probability 3/4.
    close(ops.ctc_loss([[1]], uniform[:, :2], [1], [2]), [-np.log(0.75)])
    # Label "1 1" in 3 steps needs a blank between: only 1 0 1 -> probability 1/8.
    close(ops.ctc_loss([[1, 1]], uniform, [2], [3]), [np.log(8.0)])
    # Padding beyond target_length and output_length is ignored.
    close(ops.ctc_loss([[1, 0, 0]], np.zeros((1, 5, 2), "float32"), [1], [2]), [-np.log(0.75)])
    decoded, _ = ops.ctc_decode(np.log(np.array([[[0.1, 0.9], [0.1, 0.9], [0.9, 0.1],
                                                  [0.1, 0.9]]], "float32")), [4])
    np.testing.assert_array_equal(decoded[0], [[1, 1, -1, -1]])
