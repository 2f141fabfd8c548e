"""`keras.applications.vgg19`: VGG19 (Simonyan & Zisserman, 2015)."""

__all__ = ["VGG19", "decode_predictions", "preprocess_input"]

from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils
from lamina.applications.vgg16 import vgg


@keras_export("keras.applications.vgg19.VGG19", "keras.applications.VGG19")
def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    return vgg((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape,
               pooling, classes, classifier_activation, name,
               ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"))


_common.document(
    VGG19, "VGG19: 16 convolutions in 5 blocks and 3 dense layers (144M parameters with the "
    "top). Expects `vgg19.preprocess_input` (caffe mode).", "(224, 224, 3)", 32,
    'VGG19(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="max")',
    "(None, 512)")


@keras_export("keras.applications.vgg19.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


@keras_export("keras.applications.vgg19.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "caffe mode (RGB to BGR, minus the "
                                "ImageNet channel means).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
