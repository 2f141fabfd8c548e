"""`keras.applications.nasnet`: NASNetMobile and NASNetLarge (Zoph et al., 2018), cells found
by neural architecture search."""

__all__ = ["NASNetLarge", "NASNetMobile", "decode_predictions", "preprocess_input"]

import warnings

from lamina import layers
from lamina._registry import keras_export
from lamina._runtime import config
from lamina._runtime.naming import name_scope
from lamina.applications import _common, imagenet_utils


def _bn(name):
    return layers.BatchNormalization(axis=_common.channel_axis(), momentum=0.9997, epsilon=1e-3,
                                      name=name)


def _conv1x1(filters, name, strides=(1, 1)):
    return layers.Conv2D(filters, (1, 1), strides=strides, padding="same", use_bias=False,
                         name=name, kernel_initializer="he_normal")


def _separable_conv_block(ip, filters, kernel_size=(3, 3), strides=(1, 1), block_id=None):
    """Two ReLU-separable convolution-batch norm steps (the first may be strided)."""
    with name_scope(f"separable_conv_block_{block_id}"):
        x = layers.Activation("relu")(ip)
        if strides == (2, 2):
            x = layers.ZeroPadding2D(padding=_common.correct_pad(x, kernel_size),
                                     name=f"separable_conv_1_pad_{block_id}")(x)
        x = layers.SeparableConv2D(filters, kernel_size, strides=strides,
                                   name=f"separable_conv_1_{block_id}",
                                   padding="valid" if strides == (2, 2) else "same",
                                   use_bias=False)(x)
        x = _bn(f"separable_conv_1_bn_{block_id}")(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, kernel_size, name=f"separable_conv_2_{block_id}",
                                   padding="same", use_bias=False)(x)
        x = _bn(f"separable_conv_2_bn_{block_id}")(x)
    return x


def _adjust_block(p, ip, filters, block_id=None):
    """Brings the previous cell's output `p` to the size and width of `ip`."""
    axis = _common.channel_axis()
    img_dim = 2 if axis == 1 else -2
    with name_scope("adjust_block"):
        if p is None:
            p = ip
        elif p.shape[img_dim] != ip.shape[img_dim]:
            with name_scope(f"adjust_reduction_block_{block_id}"):
                p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
                p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                             name=f"adjust_avg_pool_1_{block_id}")(p)
                p1 = _conv1x1(filters // 2, f"adjust_conv_1_{block_id}")(p1)
                p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
                p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
                p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                             name=f"adjust_avg_pool_2_{block_id}")(p2)
                p2 = _conv1x1(filters // 2, f"adjust_conv_2_{block_id}")(p2)
                p = layers.concatenate([p1, p2], axis=axis)
                p = _bn(f"adjust_bn_{block_id}")(p)
        elif p.shape[axis] != filters:
            with name_scope(f"adjust_projection_block_{block_id}"):
                p = layers.Activation("relu")(p)
                p = _conv1x1(filters, f"adjust_conv_projection_{block_id}")(p)
                p = _bn(f"adjust_bn_{block_id}")(p)
    return p


def _avg3(name, strides=(1, 1), padding="same"):
    return layers.AveragePooling2D((3, 3), strides=strides, padding=padding, name=name)


def _normal_a_cell(ip, p, filters, block_id=None):
    with name_scope(f"normal_A_block_{block_id}"):
        p = _adjust_block(p, ip, filters, block_id)
        h = _conv1x1(filters, f"normal_conv_1_{block_id}")(layers.Activation("relu")(ip))
        h = _bn(f"normal_bn_1_{block_id}")(h)
        with name_scope("block_1"):
            x1 = layers.add([
                _separable_conv_block(h, filters, (5, 5), block_id=f"normal_left1_{block_id}"),
                _separable_conv_block(p, filters, block_id=f"normal_right1_{block_id}")],
                name=f"normal_add_1_{block_id}")
        with name_scope("block_2"):
            x2 = layers.add([
                _separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}"),
                _separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")],
                name=f"normal_add_2_{block_id}")
        with name_scope("block_3"):
            x3 = layers.add([_avg3(f"normal_left3_{block_id}")(h), p],
                            name=f"normal_add_3_{block_id}")
        with name_scope("block_4"):
            x4 = layers.add([_avg3(f"normal_left4_{block_id}")(p),
                             _avg3(f"normal_right4_{block_id}")(p)],
                            name=f"normal_add_4_{block_id}")
        with name_scope("block_5"):
            x5 = _separable_conv_block(h, filters, block_id=f"normal_left5_{block_id}")
            x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")
        x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=_common.channel_axis(),
                               name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_a_cell(ip, p, filters, block_id=None):
    with name_scope(f"reduction_A_block_{block_id}"):
        p = _adjust_block(p, ip, filters, block_id)
        h = _conv1x1(filters, f"reduction_conv_1_{block_id}")(layers.Activation("relu")(ip))
        h = _bn(f"reduction_bn_1_{block_id}")(h)
        h3 = layers.ZeroPadding2D(padding=_common.correct_pad(h, 3),
                                  name=f"reduction_pad_1_{block_id}")(h)
        with name_scope("block_1"):
            x1 = layers.add([
                _separable_conv_block(h, filters, (5, 5), strides=(2, 2),
                                      block_id=f"reduction_left1_{block_id}"),
                _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                                      block_id=f"reduction_right1_{block_id}")],
                name=f"reduction_add_1_{block_id}")
        with name_scope("block_2"):
            x2 = layers.add([
                layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                                    name=f"reduction_left2_{block_id}")(h3),
                _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                                      block_id=f"reduction_right2_{block_id}")],
                name=f"reduction_add_2_{block_id}")
        with name_scope("block_3"):
            x3 = layers.add([
                _avg3(f"reduction_left3_{block_id}", (2, 2), "valid")(h3),
                _separable_conv_block(p, filters, (5, 5), strides=(2, 2),
                                      block_id=f"reduction_right3_{block_id}")],
                name=f"reduction_add3_{block_id}")
        with name_scope("block_4"):
            x4 = layers.add([x2, _avg3(f"reduction_left4_{block_id}")(x1)])
        with name_scope("block_5"):
            x5 = layers.add([
                _separable_conv_block(x1, filters, (3, 3),
                                      block_id=f"reduction_left4_{block_id}"),
                layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                                    name=f"reduction_right5_{block_id}")(h3)],
                name=f"reduction_add4_{block_id}")
        x = layers.concatenate([x2, x3, x4, x5], axis=_common.channel_axis(),
                               name=f"reduction_concat_{block_id}")
        return x, ip


def nasnet(input_shape=None, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
           skip_reduction=True, filter_multiplier=2, include_top=True, weights="imagenet",
           input_tensor=None, pooling=None, classes=1000, default_size=None,
           classifier_activation="softmax", name="NASNet"):
    """NASNet-A with `num_blocks` normal cells between reductions."""
    if config.image_data_format() == "channels_first":
        raise ValueError(
            "NASNet does not support the `channels_first` image data format. Switch to "
            "`channels_last` by editing your local config file at ~/.keras/keras.json")
    _common.check_weights(
        weights, include_top, classes,
        weights_message="The `weights` argument should be either `None` (random "
                        "initialization), `imagenet` (pre-training on ImageNet), or the path "
                        "to the weights file to be loaded.",
        classes_message='If using `weights` as `"imagenet"` with `include_top` as true, '
                        "`classes` should be 1000")
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError(
            "When specifying the input shape of a NASNet and loading `ImageNet` weights, the "
            f"input_shape argument must be static (no None entries). Got: "
            f"`input_shape={input_shape}`.")
    default_size = 331 if default_size is None else default_size
    input_shape = _common.obtain_input_shape(input_shape, default_size, 32, include_top,
                                             weights)
    img_input = _common.image_input(input_shape, input_tensor)
    if penultimate_filters % (24 * (filter_multiplier**2)) != 0:
        raise ValueError(
            "For NASNet-A models, the `penultimate_filters` must be a multiple of 24 * "
            f"(`filter_multiplier` ** 2). Current value: {penultimate_filters}")
    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid",
                      use_bias=False, name="stem_conv1", kernel_initializer="he_normal")(img_input)
    x = _bn("stem_bn1")(x)
    p = None
    x, p = _reduction_a_cell(x, p, filters // (filter_multiplier**2), block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stage in range(3):
        width = filters * filter_multiplier**stage
        if stage:
            x, p0 = _reduction_a_cell(x, p, width, block_id=f"reduce_{stage * num_blocks}")
            p = p if skip_reduction else p0
        for i in range(num_blocks):
            block_id = f"{i}" if stage == 0 else f"{stage * num_blocks + i + 1}"
            x, p = _normal_a_cell(x, p, width, block_id=block_id)
    x = layers.Activation("relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        _common.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    pretrained = None
    if weights == "imagenet":
        if default_size not in (224, 331):
            raise ValueError(
                "ImageNet weights can only be loaded with NASNetLarge or NASNetMobile")
        kind = "mobile" if default_size == 224 else "large"
        hashes = {("mobile", True): "020fb642bf7360b370c678b08e0adf61",
                  ("mobile", False): "1ed92395b5b598bdda52abe5c0dbfd63",
                  ("large", True): "11577c9a518f0070763c2b964a382f17",
                  ("large", False): "d81d89dc07e6e56530c4e77faddd61b5"}
        suffix = "" if include_top else "_no_top"
        remote_suffix = "" if include_top else "-no-top"
        pretrained = ("nasnet", f"nasnet_{kind}{suffix}.h5", hashes[kind, include_top],
                      f"NASNet-{kind}{remote_suffix}.h5")
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


@keras_export("keras.applications.nasnet.NASNetMobile", "keras.applications.NASNetMobile")
def NASNetMobile(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="nasnet_mobile"):
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return nasnet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                  skip_reduction=False, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=224, classifier_activation=classifier_activation, name=name)


@keras_export("keras.applications.nasnet.NASNetLarge", "keras.applications.NASNetLarge")
def NASNetLarge(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="nasnet_large"):
    return nasnet(input_shape, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
                  skip_reduction=True, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=331, classifier_activation=classifier_activation, name=name)


_common.document(
    NASNetMobile, "NASNetMobile: NASNet-A cells found by architecture search, sized for mobile "
    "(5.3M parameters with the top). Expects `nasnet.preprocess_input` (tf mode).",
    "(224, 224, 3)", 32,
    'NASNetMobile(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")',
    "(None, 1056)")
_common.document(
    NASNetLarge, "NASNetLarge: NASNet-A cells found by architecture search (89M parameters "
    "with the top). Expects `nasnet.preprocess_input` (tf mode).", "(331, 331, 3)", 32,
    'NASNetLarge(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")',
    "(None, 4032)")


@keras_export("keras.applications.nasnet.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.nasnet.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
