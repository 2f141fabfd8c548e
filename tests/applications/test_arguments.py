"""The arguments every application takes (`include_top`, `pooling`, `classes`,
`classifier_activation`, `input_shape`, `input_tensor`) and Keras's checks of them, with its
messages. Nothing is downloaded: every check runs before `get_file`. Models are built inside
`abstract_variables()` (shapes without memory): these tests read graphs, not weights."""

import numpy as np
import pytest

import lamina
from lamina._runtime.variable import abstract_variables
from lamina.applications import VGG16, MobileNetV2, ResNet50, imagenet_utils


@pytest.fixture(autouse=True)
def _abstract():
    with abstract_variables():
        yield

SMALL = dict(weights=None, input_shape=(32, 32, 3))


@pytest.mark.parametrize("pooling, shape", [(None, (None, 1, 1, 512)), ("avg", (None, 512)),
                                             ("max", (None, 512))])
def test_pooling_without_the_top(pooling, shape):
    model = VGG16(include_top=False, pooling=pooling, **SMALL)
    assert model.output.shape == shape
    assert model.layers[-1].name.startswith({None: "block5_pool", "avg": "global_average",
                                             "max": "global_max"}[pooling])


def test_classes_and_classifier_activation_shape_the_top():
    model = VGG16(classes=7, classifier_activation=None, **SMALL)
    assert model.output.shape == (None, 7)
    assert model.get_layer("predictions").activation is lamina.activations.linear
    assert model.name == "vgg16"


def test_input_tensor_becomes_the_input():
    images = lamina.Input((48, 48, 3), name="images")
    features = MobileNetV2(input_tensor=images, include_top=False, weights=None, alpha=0.35)
    assert features.inputs[0] is images
    assert features.output.shape == (None, 2, 2, 1280)
    assert features.name == "mobilenetv2_0.35_None"  # Keras names it from input_shape


def test_default_input_shapes():
    assert ResNet50(weights=None, include_top=False).input_shape == (None, None, None, 3)
    assert VGG16(weights=None).input_shape == (None, 224, 224, 3)


@pytest.mark.parametrize("call, message", [
    (lambda: VGG16(weights="no_such_file.h5"),
     "The `weights` argument should be either `None` (random initialization), 'imagenet' "
     "(pre-training on ImageNet), or the path to the weights file to be loaded.  Received: "
     "weights=no_such_file.h5"),
    (lambda: ResNet50(weights="imagenet", classes=10),
     "If using `weights='imagenet'` with `include_top=True`, `classes` should be 1000.  "
     "Received classes=10"),
    (lambda: VGG16(weights="imagenet", input_shape=(64, 64, 3)),
     "When setting `include_top=True` and loading `imagenet` weights, `input_shape` should be "
     "(224, 224, 3).  Received: input_shape=(64, 64, 3)"),
    (lambda: VGG16(include_top=False, weights=None, input_shape=(31, 64, 3)),
     "Input size must be at least 32x32; Received: input_shape=(31, 64, 3)"),
    (lambda: lamina.applications.InceptionV3(include_top=False, weights=None,
                                             input_shape=(74, 74, 3)),
     "Input size must be at least 75x75; Received: input_shape=(74, 74, 3)"),
    (lambda: VGG16(include_top=False, weights="imagenet", input_shape=(64, 64, 1)),
     "The input must have 3 channels; Received `input_shape=(64, 64, 1)`"),
    (lambda: VGG16(include_top=False, weights=None, input_shape=(64, 64)),
     "`input_shape` must be a tuple of three integers."),
    (lambda: VGG16(weights="imagenet", classifier_activation="relu"),
     "Only `None` and `softmax` activations are allowed for the `classifier_activation` "
     "argument when using pretrained weights, with `include_top=True`; Received: "
     "classifier_activation=relu"),
    (lambda: lamina.applications.MobileNet(weights="imagenet", alpha=0.3),
     "If imagenet weights are being loaded, alpha can be one of`0.25`, `0.50`, `0.75` or "
     "`1.0` only.  Received alpha=0.3"),
    (lambda: lamina.applications.DenseNet121(weights="imagenet", classes=10),
     'If using `weights` as `"imagenet"` with `include_top` as true, `classes` should be 1000'),
])
def test_bad_arguments_raise_keras_errors(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert str(error.value) == message


def test_other_channel_counts_warn_without_imagenet_weights():
    with pytest.warns(UserWarning, match="usually expects 1 or 3 input channels. However, it "
                                         "was passed an input_shape with 4 input channels"):
        model = VGG16(include_top=False, weights=None, input_shape=(32, 32, 4))
    assert model.get_layer("block1_conv1").kernel.shape == (3, 3, 4, 64)


# Keras 3.15's outputs for this pixel (RGB 10, 120, 250), in float32.
PIXEL = np.array([[[[10.0, 120.0, 250.0]]]], "float32")
EXPECTED = {
    "caffe": [146.061, 3.221, -113.68],
    "tf": [-0.92156863, -0.05882353, 0.96078432],
    "torch": [-1.9466565, 0.06512605, 2.5528543],
}


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_preprocess_input_modes(mode):
    for x in (PIXEL.copy(), lamina.ops.convert_to_tensor(PIXEL)):
        out = imagenet_utils.preprocess_input(x, mode=mode)
        np.testing.assert_allclose(np.asarray(out).ravel(), EXPECTED[mode], rtol=1e-5)
    channels_first = imagenet_utils.preprocess_input(PIXEL.transpose(0, 3, 1, 2).copy(),
                                                     data_format="channels_first", mode=mode)
    np.testing.assert_allclose(channels_first.ravel(), EXPECTED[mode], rtol=1e-5)


def test_family_preprocessing_uses_its_mode():
    applications = lamina.applications
    np.testing.assert_allclose(applications.resnet.preprocess_input(PIXEL.copy()).ravel(),
                               EXPECTED["caffe"], rtol=1e-5)
    np.testing.assert_allclose(applications.densenet.preprocess_input(PIXEL.copy()).ravel(),
                               EXPECTED["torch"], rtol=1e-5)
    np.testing.assert_allclose(applications.xception.preprocess_input(PIXEL.copy()).ravel(),
                               EXPECTED["tf"], rtol=1e-5)
    assert applications.efficientnet.preprocess_input(PIXEL) is PIXEL


def test_preprocess_input_refuses_unknown_mode_and_format():
    with pytest.raises(ValueError, match="Expected mode to be one of `caffe`, `tf` or `torch`. "
                                         "Received: mode=keras"):
        imagenet_utils.preprocess_input(PIXEL, mode="keras")
    with pytest.raises(ValueError, match="Received: data_format=nhwc"):
        imagenet_utils.preprocess_input(PIXEL, data_format="nhwc")


def test_decode_predictions(monkeypatch):
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX",
                        {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)})
    preds = np.zeros((2, 1000), "float32")
    preds[0, [3, 7, 5]] = [0.2, 0.5, 0.3]
    preds[1, 999] = 1.0
    decoded = lamina.applications.vgg16.decode_predictions(preds, top=3)
    assert [(c, n) for c, n, _ in decoded[0]] == [("n00000007", "class_7"),
                                                  ("n00000005", "class_5"),
                                                  ("n00000003", "class_3")]
    assert decoded[1][0][:2] == ("n00000999", "class_999") and decoded[1][0][2] == 1.0
    with pytest.raises(ValueError, match=r"\(samples, 1000\)\). Received array with shape: "
                                         r"\(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_abstract_weights_have_shapes_but_cannot_be_read():
    model = VGG16(include_top=False, **SMALL)
    kernel = model.get_layer("block1_conv1").kernel
    assert kernel.shape == (3, 3, 3, 64) and model.count_params() == 14714688
    with pytest.raises(ValueError, match="'block1_conv1/kernel' was created inside "
                                         "abstract_variables\\(\\)"):
        kernel.numpy()
