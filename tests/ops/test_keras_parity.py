"""Side-by-side checks against Keras 3 on the JAX backend (skipped when Keras is absent).

Ops whose Keras implementation is slow to run eagerly (CTC, STFT, fold) are checked against
hand-computed values and NumPy in the other test files instead.
"""

import inspect
import os

import numpy as np
import pytest

from lamina import ops

os.environ["KERAS_BACKEND"] = "jax"
keras = pytest.importorskip("keras")

if keras.backend.backend() != "jax":
    pytest.skip("Keras was imported with another backend", allow_module_level=True)

RNG = np.random.default_rng(4)
F = RNG.normal(size=(3, 4)).astype("float32")
G = RNG.normal(size=(3, 4)).astype("float32")
I = RNG.integers(1, 5, size=(3, 4)).astype("int32")
CUBE = RNG.normal(size=(2, 3, 4)).astype("float32")
IMAGES = RNG.normal(size=(2, 7, 6, 3)).astype("float32")
SEQ = RNG.normal(size=(2, 9, 3)).astype("float32")
SPD = (F[:, :3] @ F[:, :3].T + 3 * np.eye(3)).astype("float32")


def kernel(*shape):
    return RNG.normal(size=shape).astype("float32")


CASES = [
    ("divide", (I, I), {}), ("exp", (np.array([True, False]),), {}), ("floor", (I,), {}),
    ("mean", (I,), {"axis": 0}), ("mean", (F.astype("float16"),), {"axis": -1}),
    ("var", (CUBE,), {"axis": (0, 2), "keepdims": True}),
    ("max", (CUBE,), {"axis": 2, "initial": 0.5}), ("quantile", (CUBE, 0.3), {"axis": 2}),
    ("round", (I * 17,), {"decimals": -1}), ("clip", (F > 0, 0, 1), {}),
    ("matmul", (I.astype("int8"), I.T.astype("int8")), {}), ("arange", (0.0, 1.0, 0.3), {}),
    ("one_hot", (I, 5), {"axis": 0}), ("multi_hot", (I, 5), {}),
    ("softmax", (CUBE,), {"axis": (1, 2)}), ("moments", (CUBE, (0, 2)), {}),
    ("layer_normalization", (CUBE,), {"gamma": F[0] + 1}),
    ("batch_normalization", (CUBE, F[0], np.abs(G[0]), -1), {"offset": G[1], "scale": F[1]}),
    ("normalize", (F,), {"order": 1, "axis": 0}),
    ("categorical_crossentropy", (np.eye(4)[[0, 1, 3]].astype("float32"), F),
     {"from_logits": True}),
    ("sparse_categorical_crossentropy", (np.array([0, 1, 3]), np.abs(F)), {}),
    ("binary_crossentropy", ((F > 0).astype("float32"), G), {"from_logits": True}),
    ("conv", (IMAGES, kernel(3, 2, 3, 4)), {"strides": 2, "padding": "same"}),
    ("conv", (SEQ, kernel(4, 3, 5)), {"padding": "same", "dilation_rate": 2}),
    ("depthwise_conv", (IMAGES, kernel(3, 3, 3, 2)), {"strides": (1, 2), "padding": "same"}),
    ("separable_conv", (IMAGES, kernel(3, 3, 3, 2), kernel(1, 1, 6, 4)), {"padding": "same"}),
    ("conv_transpose", (IMAGES, kernel(3, 3, 5, 3)), {"strides": 2, "padding": "same"}),
    ("conv_transpose", (IMAGES, kernel(2, 3, 5, 3)), {"strides": 3, "output_padding": 1}),
    ("max_pool", (IMAGES, 3), {"strides": 2, "padding": "same"}),
    ("average_pool", (IMAGES, 3), {"strides": 2, "padding": "same"}),
    ("adaptive_max_pool", (SEQ, 4), {}),
    ("depth_to_space", (kernel(2, 8, 3, 3), 2), {"data_format": "channels_first"}),
    ("dot_product_attention", (CUBE[:, :, None].repeat(2, 2), CUBE[:, :, None], CUBE[:, :, None]),
     {"is_causal": True}),
    ("ctc_decode", (kernel(2, 6, 4), np.array([6, 4])), {}),
    ("saturate_cast", (F * 200, "uint8"), {}), ("rearrange", (CUBE, "b h w -> (b w) h"), {}),
]


def _flatten(value):
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _flatten(item)]
    return [np.asarray(value)]


@pytest.mark.parametrize("name, args, kwargs", CASES, ids=[c[0] for c in CASES])
def test_matches_keras_values_and_dtypes(name, args, kwargs):
    expected = _flatten(getattr(keras.ops, name)(*args, **kwargs))
    actual = _flatten(getattr(ops, name)(*args, **kwargs))
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.dtype == e.dtype, f"{name}: dtype {a.dtype}, Keras gives {e.dtype}"
        assert a.shape == e.shape
        np.testing.assert_allclose(a.astype("float64"), e.astype("float64"), rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name, args, kwargs", [
    ("resize", (IMAGES, (3, 4)), {}), ("resize", (IMAGES[0], (9, 5), "nearest"), {}),
    ("rgb_to_grayscale", (IMAGES,), {}), ("pad_images", (IMAGES, 1, 2, 3, 0), {}),
    ("crop_images", (IMAGES, 1, 2, 3, 0), {}), ("extract_patches", (IMAGES, 2), {}),
    # Keras's eager gaussian_blur ignores data_format=None, so pass it explicitly.
    ("gaussian_blur", (IMAGES, (5, 3), (2.0, 0.5)), {"data_format": "channels_last"}),
    ("map_coordinates", (F, RNG.uniform(-1, 5, size=(2, 7)).astype("float32"), 1),
     {"fill_mode": "reflect"}),
], ids=lambda value: value if isinstance(value, str) else "")
def test_image_ops_match_keras(name, args, kwargs):
    expected = np.asarray(getattr(keras.ops.image, name)(*args, **kwargs))
    np.testing.assert_allclose(getattr(ops.image, name)(*args, **kwargs), expected, rtol=1e-4,
                               atol=1e-5)


def _namespaces():
    return [(keras.ops, ops), (keras.ops.numpy, ops.numpy), (keras.ops.nn, ops.nn),
            (keras.ops.linalg, ops.linalg), (keras.ops.image, ops.image)]


def test_every_name_has_the_keras_signature():
    """Each implemented `keras.ops` name exists in lamina with Keras's parameters and defaults."""
    mismatches, compared = [], 0
    for keras_namespace, lamina_namespace in _namespaces():
        for name in dir(keras_namespace):
            if name.startswith("_") or not hasattr(lamina_namespace, name):
                continue
            theirs = getattr(keras_namespace, name)
            if inspect.ismodule(theirs):
                continue
            ours = getattr(lamina_namespace, name)
            expected = [(p.name, p.kind, p.default)
                        for p in inspect.signature(theirs).parameters.values()]
            actual = [(p.name, p.kind, p.default)
                      for p in inspect.signature(ours).parameters.values()]
            compared += 1
            if expected != actual:
                mismatches.append(f"{name}: {actual} != Keras {expected}")
    assert not mismatches, "\n".join(mismatches)
    assert compared > 400


# Keras ops that lamina leaves out on purpose (see lamina/ops/image.py).
NOT_IMPLEMENTED = {
    "affine_transform", "elastic_transform", "extract_patches_3d", "hsv_to_rgb",
    "perspective_transform", "rgb_to_hsv", "sobel_edges", "ssim",
}


def test_no_keras_op_is_missing_unexpectedly():
    missing = sorted(
        f"{keras_namespace.__name__}.{name}"
        for keras_namespace, lamina_namespace in _namespaces()
        for name in dir(keras_namespace)
        if not name.startswith("_") and not hasattr(lamina_namespace, name)
        and name not in NOT_IMPLEMENTED)
    assert not missing, missing
