"""`keras.applications.efficientnet_v2`: EfficientNetV2 B0-B3, S, M, L (Tan & Le, 2021). The
models rescale [0, 255] inputs themselves (`include_preprocessing=True`), so
`preprocess_input` returns its input."""

__all__ = ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S", "decode_predictions", "preprocess_input"]

import copy
import math

from lamina import initializers, layers
from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils
from lamina.applications.efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER

BASE_WEIGHTS_PATH = ("https://storage.googleapis.com/tensorflow/keras-applications/"
                     "efficientnet_v2/")
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(*rows):
    """Stage arguments from rows of (repeats, in, out, expand, se_ratio, strides, fused)."""
    return [dict(kernel_size=3, num_repeat=r, input_filters=i, output_filters=o,
                 expand_ratio=e, se_ratio=se, strides=s, conv_type=1 if fused else 0)
            for r, i, o, e, se, s, fused in rows]


_B = _stages((1, 32, 16, 1, 0, 1, True), (2, 16, 32, 4, 0, 2, True), (2, 32, 48, 4, 0, 2, True),
             (3, 48, 96, 4, 0.25, 2, False), (5, 96, 112, 6, 0.25, 1, False),
             (8, 112, 192, 6, 0.25, 2, False))
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages(
        (2, 24, 24, 1, 0, 1, True), (4, 24, 48, 4, 0, 2, True), (4, 48, 64, 4, 0, 2, True),
        (6, 64, 128, 4, 0.25, 2, False), (9, 128, 160, 6, 0.25, 1, False),
        (15, 160, 256, 6, 0.25, 2, False)),
    "efficientnetv2-m": _stages(
        (3, 24, 24, 1, 0, 1, True), (5, 24, 48, 4, 0, 2, True), (5, 48, 80, 4, 0, 2, True),
        (7, 80, 160, 4, 0.25, 2, False), (14, 160, 176, 6, 0.25, 1, False),
        (18, 176, 304, 6, 0.25, 2, False), (5, 304, 512, 6, 0.25, 1, False)),
    "efficientnetv2-l": _stages(
        (4, 32, 32, 1, 0, 1, True), (7, 32, 64, 4, 0, 2, True), (7, 64, 96, 4, 0, 2, True),
        (10, 96, 192, 4, 0.25, 2, False), (19, 192, 224, 6, 0.25, 1, False),
        (25, 224, 384, 6, 0.25, 2, False), (7, 384, 640, 6, 0.25, 1, False)),
    **{f"efficientnetv2-b{i}": _B for i in range(4)},
}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    filters *= width_coefficient
    minimum = min_depth or depth_divisor
    return int(max(minimum, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def _bn(momentum, name):
    return layers.BatchNormalization(axis=_common.channel_axis(), momentum=momentum, name=name)


def _conv(filters, kernel_size=1, strides=1, name=None, **kwargs):
    return layers.Conv2D(filters, kernel_size=kernel_size, strides=strides,
                         kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same",
                         use_bias=False, name=name, **kwargs)


def _squeeze_excite(x, filters, input_filters, se_ratio, activation, name):
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    shape = (filters, 1, 1) if _common.channel_axis() == 1 else (1, 1, filters)
    se = layers.Reshape(shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(max(1, int(input_filters * se_ratio)), 1, padding="same",
                       activation=activation, kernel_initializer=CONV_KERNEL_INITIALIZER,
                       name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name):
    if strides == 1 and input_filters == output_filters:
        if survival_probability:
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1),
                               name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def mb_conv(inputs, input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1,
            se_ratio=0.0, bn_momentum=0.9, activation="swish", survival_probability=0.8,
            name=""):
    """An MBConv block: 1x1 expansion, depthwise convolution, squeeze-excite, projection."""
    filters = input_filters * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = _bn(bn_momentum, f"{name}expand_bn")(_conv(filters, name=f"{name}expand_conv")(x))
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides,
                               depthwise_initializer=CONV_KERNEL_INITIALIZER, padding="same",
                               use_bias=False, name=f"{name}dwconv2")(x)
    x = layers.Activation(activation, name=f"{name}activation")(_bn(bn_momentum, f"{name}bn")(x))
    if 0 < se_ratio <= 1:
        x = _squeeze_excite(x, filters, input_filters, se_ratio, activation, name)
    x = _bn(bn_momentum, f"{name}project_bn")(_conv(output_filters, name=f"{name}project_conv")(x))
    return _residual(x, inputs, strides, input_filters, output_filters, survival_probability,
                     name)


def fused_mb_conv(inputs, input_filters, output_filters, expand_ratio=1, kernel_size=3,
                  strides=1, se_ratio=0.0, bn_momentum=0.9, activation="swish",
                  survival_probability=0.8, name=""):
    """A fused MBConv block: one full convolution in place of expansion and depthwise."""
    filters = input_filters * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = _conv(filters, kernel_size, strides, name=f"{name}expand_conv")(x)
        x = layers.Activation(activation=activation, name=f"{name}expand_activation")(
            _bn(bn_momentum, f"{name}expand_bn")(x))
    if 0 < se_ratio <= 1:
        x = _squeeze_excite(x, filters, input_filters, se_ratio, activation, name)
    fused = expand_ratio == 1
    x = _conv(output_filters, kernel_size if fused else 1, strides if fused else 1,
              name=f"{name}project_conv")(x)
    x = _bn(bn_momentum, f"{name}project_bn")(x)
    if fused:
        x = layers.Activation(activation=activation, name=f"{name}project_activation")(x)
    return _residual(x, inputs, strides, input_filters, output_filters, survival_probability,
                     name)


def efficientnet_v2(width_coefficient, depth_coefficient, default_size, variant,
                    dropout_rate=0.2, drop_connect_rate=0.2, depth_divisor=8, min_depth=8,
                    bn_momentum=0.9, activation="swish", name="efficientnetv2",
                    include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax",
                    include_preprocessing=True):
    """EfficientNetV2 `variant` ("b0".."b3", "s", "m", "l")."""
    _common.check_weights(
        weights, include_top, classes,
        weights_message="The `weights` argument should be either `None` (random "
                        "initialization), `imagenet` (pre-training on ImageNet), or the path "
                        "to the weights file to be loaded.Received: weights={weights}",
        classes_message='If using `weights="imagenet"` with `include_top` as true, `classes` '
                        "should be 1000")
    blocks_args = copy.deepcopy(DEFAULT_BLOCKS_ARGS[f"efficientnetv2-{variant}"])
    input_shape = _common.obtain_input_shape(input_shape, default_size, 32, include_top,
                                             weights)
    img_input = _common.image_input(input_shape, input_tensor)
    axis = _common.channel_axis()
    x = img_input
    if include_preprocessing:
        channels = input_shape[axis]
        if variant.startswith("b") and channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406],
                                     variance=[0.229**2, 0.224**2, 0.225**2], axis=axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def rounded(filters):
        return round_filters(filters, width_coefficient, min_depth, depth_divisor)

    x = _conv(rounded(blocks_args[0]["input_filters"]), 3, 2, name="stem_conv")(x)
    x = layers.Activation(activation, name="stem_activation")(_bn(bn_momentum, "stem_bn")(x))
    done = 0
    total = float(sum(args["num_repeat"] for args in blocks_args))
    for i, args in enumerate(blocks_args):
        args["input_filters"] = rounded(args["input_filters"])
        args["output_filters"] = rounded(args["output_filters"])
        block = fused_mb_conv if args.pop("conv_type") else mb_conv
        for j in range(int(math.ceil(depth_coefficient * args.pop("num_repeat")))):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = block(x, activation=activation, bn_momentum=bn_momentum,
                      survival_probability=drop_connect_rate * done / total,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)
            done += 1
    x = _conv(rounded(1280), name="top_conv")(x)
    x = layers.Activation(activation=activation, name="top_activation")(
        _bn(bn_momentum, "top_bn")(x))
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        _common.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=DENSE_KERNEL_INITIALIZER,
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
    else:
        x = _common.pool(x, pooling, "avg_pool", "max_pool")
    pretrained = None
    if weights == "imagenet":
        key = variant if variant.startswith("b") else f"-{variant}"
        pretrained = (BASE_WEIGHTS_PATH, name + (".h5" if include_top else "_notop.h5"),
                      WEIGHTS_HASHES[key][0 if include_top else 1])
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


def _efficientnet_v2_function(variant, width, depth, size, dropout):
    public = f"EfficientNetV2{variant.upper()}"
    default_name = f"efficientnetv2-{variant}"

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              include_preprocessing=True, name=default_name):
        return efficientnet_v2(width, depth, size, variant, dropout_rate=dropout, name=name,
                               include_top=include_top, weights=weights,
                               input_tensor=input_tensor, input_shape=input_shape,
                               pooling=pooling, classes=classes,
                               classifier_activation=classifier_activation,
                               include_preprocessing=include_preprocessing)

    build.__name__ = build.__qualname__ = public
    keras_export(f"keras.applications.efficientnet_v2.{public}",
                 f"keras.applications.{public}")(build)
    top = round_filters(1280, width, 8, 8)
    return _common.document(
        build, f"{public}: EfficientNetV2 ({variant.upper()}) with fused and plain MBConv "
        f"blocks, input size {size}. Takes [0, 255] inputs (the model rescales them).",
        f"({size}, {size}, 3)", 32,
        f'{public}(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")',
        f"(None, {top})",
        extra="\n        include_preprocessing: whether the model rescales (and, for B0-B3, "
              "normalizes) [0, 255] inputs itself.")


EfficientNetV2B0 = _efficientnet_v2_function("b0", 1.0, 1.0, 224, 0.2)
EfficientNetV2B1 = _efficientnet_v2_function("b1", 1.0, 1.1, 240, 0.2)
EfficientNetV2B2 = _efficientnet_v2_function("b2", 1.1, 1.2, 260, 0.2)
EfficientNetV2B3 = _efficientnet_v2_function("b3", 1.2, 1.4, 300, 0.2)
EfficientNetV2S = _efficientnet_v2_function("s", 1.0, 1.0, 384, 0.2)
EfficientNetV2M = _efficientnet_v2_function("m", 1.0, 1.0, 480, 0.2)
EfficientNetV2L = _efficientnet_v2_function("l", 1.0, 1.0, 480, 0.2)


@keras_export("keras.applications.efficientnet_v2.preprocess_input")
def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: EfficientNetV2 models rescale their inputs themselves.

    Kept so that code written for the other families runs as is.

    Examples:
        >>> preprocess_input(255.0)
        255.0
    """
    return x


@keras_export("keras.applications.efficientnet_v2.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
