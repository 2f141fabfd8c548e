"""`keras.applications.xception`: Xception (Chollet, 2017), depthwise separable convolutions
with residual connections."""

__all__ = ["Xception", "decode_predictions", "preprocess_input"]

from lamina import layers
from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils


def _bn(name=None):
    return layers.BatchNormalization(axis=_common.channel_axis(), name=name)


def _sepconv(x, filters, name, relu_first=True):
    if relu_first:
        x = layers.Activation("relu", name=f"{name}_act")(x)
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return _bn(f"{name}_bn")(x)


def _strided_residual(x, filters):
    residual = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return _bn()(residual)


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="xception"):
    _common.check_weights(
        weights, include_top, classes,
        weights_message="The `weights` argument should be either `None` (random "
                        "initialization), 'imagenet' (pre-training on ImageNet), or the path "
                        "to the weights file to be loaded.")
    input_shape = _common.obtain_input_shape(input_shape, 299, 71, include_top, weights)
    img_input = _common.image_input(input_shape, input_tensor)
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.Activation("relu", name="block1_conv1_act")(_bn("block1_conv1_bn")(x))
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(_bn("block1_conv2_bn")(x))
    # Entry flow: blocks 2-4 halve the size; block 2 starts without its first ReLU.
    for block, filters in ((2, 128), (3, 256), (4, 728)):
        residual = _strided_residual(x, filters)
        if block == 2:
            x = _sepconv(x, filters, "block2_sepconv1", relu_first=False)
            x = layers.Activation("relu", name="block2_sepconv2_act")(x)
            x = _sepconv(x, filters, "block2_sepconv2", relu_first=False)
        else:
            x = _sepconv(x, filters, f"block{block}_sepconv1")
            x = _sepconv(x, filters, f"block{block}_sepconv2")
        x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same",
                                name=f"block{block}_pool")(x)
        x = layers.add([x, residual])
    # Middle flow.
    for block in range(5, 13):
        residual = x
        for conv in (1, 2, 3):
            x = _sepconv(x, 728, f"block{block}_sepconv{conv}")
        x = layers.add([x, residual])
    # Exit flow.
    residual = _strided_residual(x, 1024)
    x = _sepconv(x, 728, "block13_sepconv1")
    x = _sepconv(x, 1024, "block13_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name="block13_pool")(x)
    x = layers.add([x, residual])
    x = _sepconv(x, 1536, "block14_sepconv1", relu_first=False)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sepconv(x, 2048, "block14_sepconv2", relu_first=False)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)
    x = _common.top_or_pool(x, include_top, pooling, classes, classifier_activation, weights)
    suffix = "" if include_top else "_notop"
    pretrained = ("xception", f"xception_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                  "0a58e3b7378bc2990ea3b43d5981f1f6" if include_top
                  else "b0042744bf5b25fce3cb969f33bebb97")
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


keras_export("keras.applications.xception.Xception", "keras.applications.Xception")(Xception)
_common.document(
    Xception, "Xception: depthwise separable convolutions with residual connections (23M "
    "parameters with the top). Expects `xception.preprocess_input` (tf mode).",
    "(299, 299, 3)", 71,
    'Xception(weights=None, include_top=False, input_shape=(71, 71, 3), pooling="avg")',
    "(None, 2048)")


@keras_export("keras.applications.xception.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.xception.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
