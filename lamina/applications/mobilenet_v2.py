"""`keras.applications.mobilenet_v2`: MobileNetV2 (Sandler et al., 2018), inverted residual
blocks with linear bottlenecks."""

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

import warnings

from lamina import layers
from lamina._registry import keras_export
from lamina._runtime import config
from lamina.applications import _common, imagenet_utils
from lamina.backend import is_keras_tensor

_SIZES = (96, 128, 160, 192, 224)
# (filters, stride, expansion) of blocks 0-16.
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6),
           (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6),
           (160, 1, 6), (160, 1, 6), (320, 1, 6))


def _bn(name):
    return layers.BatchNormalization(axis=_common.channel_axis(), epsilon=1e-3, momentum=0.999,
                                      name=name)


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    in_channels = inputs.shape[_common.channel_axis()]
    pointwise_filters = _common.make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same",
                          use_bias=False, activation=None, name=f"{prefix}expand")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(_bn(f"{prefix}expand_BN")(x))
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_common.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(_bn(f"{prefix}depthwise_BN")(x))
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=f"{prefix}project")(x)
    x = _bn(f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _default_size(input_shape, input_tensor):
    """The pretrained size the given shape (or symbolic tensor) names, else 224."""
    if input_shape is None and input_tensor is not None and is_keras_tensor(input_tensor):
        first = config.image_data_format() == "channels_first"
        rows, cols = input_tensor.shape[2:4] if first else input_tensor.shape[1:3]
    elif input_shape is not None:
        rows, cols = _common.spatial(input_shape)
    else:
        return 224
    return rows if rows == cols and rows in _SIZES else 224


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet",
                input_tensor=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None):
    _common.check_weights(
        weights, include_top, classes,
        weights_message="The `weights` argument should be either `None` (random "
                        "initialization), `imagenet` (pre-training on ImageNet), or the path "
                        "to the weights file to be loaded.  Received `weights={weights}`",
        classes_message='If using `weights="imagenet"` with `include_top` as true, `classes` '
                        "should be 1000. Received `classes={classes}`")
    if input_shape is not None and input_tensor is not None:
        if not is_keras_tensor(input_tensor):
            raise ValueError(
                f"input_tensor is not a Keras tensor; Received `input_tensor={input_tensor}`")
        first = config.image_data_format() == "channels_first"
        if first and input_tensor.shape[1] != input_shape[1]:
            raise ValueError(
                "input_shape[1] must equal shape(input_tensor)[1] when `image_data_format` is "
                f"`channels_first`; Received `input_tensor.shape={input_tensor.shape}`, "
                f"`input_shape={input_shape}`")
        if not first and input_tensor.shape[2] != input_shape[1]:
            raise ValueError(
                "input_tensor.shape[2] must equal input_shape[1]; Received "
                f"`input_tensor.shape={input_tensor.shape}`, `input_shape={input_shape}`")
    input_shape = _common.obtain_input_shape(
        input_shape, _default_size(input_shape, input_tensor), 32, include_top, weights)
    rows, cols = _common.spatial(input_shape)
    if weights == "imagenet":
        if alpha not in [0.35, 0.50, 0.75, 1.0, 1.3, 1.4]:
            raise ValueError(
                "If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, "
                f"`0.75`, `1.0`, `1.3` or `1.4` only; Received `alpha={alpha}`")
        if rows != cols or rows not in _SIZES:
            rows = 224
            warnings.warn(
                "`input_shape` is undefined or non-square, or `rows` is not in [96, 128, 160, "
                "192, 224]. Weights for input shape (224, 224) will be loaded as the default.",
                stacklevel=2)
    img_input = _common.image_input(input_shape, input_tensor)
    x = layers.Conv2D(_common.make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(img_input)
    x = layers.ReLU(6.0, name="Conv1_relu")(_bn("bn_Conv1")(x))
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride,
                                expansion=expansion, block_id=block_id)
    last = _common.make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.ReLU(6.0, name="out_relu")(_bn("Conv_1_bn")(x))
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        _common.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    suffix = "" if include_top else "_no_top"
    pretrained = ("mobilenet_v2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_"
                  f"{float(alpha)}_{rows}{suffix}.h5", None)
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


keras_export("keras.applications.mobilenet_v2.MobileNetV2",
             "keras.applications.MobileNetV2")(MobileNetV2)
_common.document(
    MobileNetV2, "MobileNetV2: inverted residual blocks with linear bottlenecks, `alpha` "
    "scaling the widths (3.5M parameters with the top at alpha=1). Expects "
    "`mobilenet_v2.preprocess_input` (tf mode).", "(224, 224, 3)", 32,
    'MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35, '
    'pooling="avg")', "(None, 1280)",
    extra="\n        alpha: the width multiplier (0.35, 0.5, 0.75, 1.0, 1.3 or 1.4 with "
          "ImageNet weights).")


@keras_export("keras.applications.mobilenet_v2.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.mobilenet_v2.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
