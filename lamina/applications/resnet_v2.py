"""`keras.applications.resnet_v2`: ResNet50V2/101V2/152V2, pre-activation residual networks
(He et al., 2016)."""

__all__ = ["ResNet101V2", "ResNet152V2", "ResNet50V2", "decode_predictions", "preprocess_input"]

from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils
from lamina.applications.resnet import resnet


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax",
               name="resnet50v2"):
    return resnet((3, 4, 6, 3), True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name, "resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet101v2"):
    return resnet((3, 4, 23, 3), True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name, "resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet152v2"):
    return resnet((3, 8, 36, 3), True, include_top, weights, input_tensor, input_shape,
                  pooling, classes, classifier_activation, name, "resnet152v2")


for _function, _blocks in ((ResNet50V2, 16), (ResNet101V2, 33), (ResNet152V2, 50)):
    keras_export(f"keras.applications.resnet_v2.{_function.__name__}",
                 f"keras.applications.{_function.__name__}")(_function)
    _common.document(
        _function, f"{_function.__name__}: a residual network of {_blocks} pre-activation "
        "bottleneck blocks. Expects `resnet_v2.preprocess_input` (tf mode).", "(224, 224, 3)",
        32, f'{_function.__name__}(weights=None, include_top=False, input_shape=(32, 32, 3), '
        'pooling="avg")', "(None, 2048)")


@keras_export("keras.applications.resnet_v2.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.resnet_v2.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
