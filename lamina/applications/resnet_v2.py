"""`keras.applications.resnet_v2`: ResNet50V2/101V2/152V2, pre-activation residual networks
(He et al., 2016)."""

__all__ = ["ResNet101V2", "ResNet152V2", "ResNet50V2", "decode_predictions", "preprocess_input"]

from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils
from lamina.applications.resnet import _resnet_function

ResNet50V2 = _resnet_function("ResNet50V2", (3, 4, 6, 3), "resnet50v2", preact=True)
ResNet101V2 = _resnet_function("ResNet101V2", (3, 4, 23, 3), "resnet101v2", preact=True)
ResNet152V2 = _resnet_function("ResNet152V2", (3, 8, 36, 3), "resnet152v2", preact=True)


@keras_export("keras.applications.resnet_v2.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.resnet_v2.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
