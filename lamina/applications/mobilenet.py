"""`keras.applications.mobilenet`: MobileNet (Howard et al., 2017), depthwise separable
convolutions with a width multiplier `alpha`."""

__all__ = ["MobileNet", "decode_predictions", "preprocess_input"]

import warnings

from lamina import layers
from lamina._registry import keras_export
from lamina._runtime import config
from lamina.applications import _common, imagenet_utils

_SIZES = (128, 160, 192, 224)
# (pointwise filters, stride) of depthwise blocks 1-13.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def _depthwise_block(x, filters, alpha, depth_multiplier, stride, block_id):
    axis = _common.channel_axis()
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid",
                               depth_multiplier=depth_multiplier, strides=(stride, stride),
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(filters * alpha), (1, 1), padding="same", use_bias=False,
                      strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def _spatial(input_shape):  # noqa: D103
    if config.image_data_format() == "channels_first":
        return input_shape[1], input_shape[2]
    return input_shape[0], input_shape[1]


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True,
              weights="imagenet", input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    _common.check_weights(
        weights, include_top, classes,
        weights_message="The `weights` argument should be either `None` (random "
                        "initialization), 'imagenet' (pre-training on ImageNet), or the path "
                        "to the weights file to be loaded. Received weights={weights}")
    default_size = 224
    if input_shape is not None:
        rows, cols = _spatial(input_shape)
        if rows == cols and rows in _SIZES:
            default_size = rows
    input_shape = _common.obtain_input_shape(input_shape, default_size, 32, include_top,
                                             weights)
    rows, cols = _spatial(input_shape)
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(
                "If imagenet weights are being loaded, depth multiplier must be 1.  "
                f"Received depth_multiplier={depth_multiplier}")
        if alpha not in [0.25, 0.50, 0.75, 1.0]:
            raise ValueError(
                "If imagenet weights are being loaded, alpha can be one of`0.25`, `0.50`, "
                f"`0.75` or `1.0` only.  Received alpha={alpha}")
        if rows != cols or rows not in _SIZES:
            rows = 224
            warnings.warn(
                "`input_shape` is undefined or non-square, or `rows` is not in [128, 160, "
                "192, 224]. Weights for input shape (224, 224) will be loaded as the default.",
                stacklevel=2)
    img_input = _common.image_input(input_shape, input_tensor)
    axis = _common.channel_axis()
    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2),
                      name="conv1")(img_input)
    x = layers.ReLU(6.0, name="conv1_relu")(layers.BatchNormalization(axis=axis,
                                                                      name="conv1_bn")(x))
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _depthwise_block(x, filters, alpha, depth_multiplier, stride, block_id)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        _common.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0"}.get(alpha, "2_5")
    suffix = "" if include_top else "_no_top"
    pretrained = ("mobilenet", f"mobilenet_{alpha_text}_{rows}_tf{suffix}.h5", None)
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


keras_export("keras.applications.mobilenet.MobileNet", "keras.applications.MobileNet")(MobileNet)
_common.document(
    MobileNet, "MobileNet: depthwise separable convolutions, `alpha` scaling every layer's "
    "width (4.2M parameters with the top at alpha=1). Expects `mobilenet.preprocess_input` "
    "(tf mode).", "(224, 224, 3)", 32,
    'MobileNet(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.25, '
    'pooling="avg")', "(None, 256)",
    extra="\n        alpha: the width multiplier (0.25, 0.5, 0.75 or 1.0 with ImageNet weights)."
          "\n        depth_multiplier: the depthwise convolutions' multiplier (1 with ImageNet "
          "weights).\n        dropout: the dropout rate before the top.")


@keras_export("keras.applications.mobilenet.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.mobilenet.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
