"""`keras.applications.inception_resnet_v2`: InceptionResNetV2 (Szegedy et al., 2017)."""

__all__ = ["InceptionResNetV2", "decode_predictions", "preprocess_input"]

from lamina import layers
from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu",
              use_bias=False, name=None):
    """Convolution, batch norm without scale (when no bias), activation (`name_ac`)."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=_common.channel_axis(), scale=False,
                                      name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


class CustomScaleLayer(layers.Layer):
    """`inputs[0] + scale * inputs[1]`: an Inception-ResNet block's scaled residual sum.

    Examples:
        >>> import numpy as np
        >>> CustomScaleLayer(0.5)([np.ones(2), np.ones(2)]).tolist()
        [1.5, 1.5]
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale


_BRANCHES = {  # per block type: each branch's (filters, kernel size) chain
    "block35": [[(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]],
    "block17": [[(192, 1)], [(128, 1), (160, (1, 7)), (192, (7, 1))]],
    "block8": [[(192, 1)], [(192, 1), (224, (1, 3)), (256, (3, 1))]],
}


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    """`x + scale * (1x1 conv of the concatenated branches)`, then `activation`."""
    if block_type not in _BRANCHES:
        raise ValueError(
            'Unknown Inception-ResNet block type. Expects "block35", "block17" or "block8", '
            f"but got: {block_type}")
    branches = []
    for chain in _BRANCHES[block_type]:
        y = x
        for filters, kernel in chain:
            y = conv2d_bn(y, filters, kernel)
        branches.append(y)
    name = f"{block_type}_{block_idx}"
    axis = _common.channel_axis()
    mixed = layers.Concatenate(axis=axis, name=f"{name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True, name=f"{name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_ac")(x)
    return x


def _chain(x, specs):
    for filters, kernel, *rest in specs:
        x = conv2d_bn(x, filters, kernel, *rest)
    return x


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None,
                      input_shape=None, pooling=None, classes=1000,
                      classifier_activation="softmax", name="inception_resnet_v2"):
    _common.check_weights(
        weights, include_top, classes,
        weights_message="The `weights` argument should be either `None` (random "
                        "initialization), `imagenet` (pre-training on ImageNet), or the path "
                        "to the weights file to be loaded.",
        classes_message=_common.INCEPTION_MESSAGES["classes_message"])
    input_shape = _common.obtain_input_shape(input_shape, 299, 75, include_top, weights)
    img_input = _common.image_input(input_shape, input_tensor)
    axis = _common.channel_axis()
    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branches = [conv2d_bn(x, 96, 1), _chain(x, [(48, 1), (64, 5)]),
                _chain(x, [(64, 1), (96, 3), (96, 3)]),
                conv2d_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), 64, 1)]
    x = layers.Concatenate(axis=axis, name="mixed_5b")(branches)
    for i in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=i)
    branches = [conv2d_bn(x, 384, 3, strides=2, padding="valid"),
                _chain(x, [(256, 1), (256, 3), (384, 3, 2, "valid")]),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_6a")(branches)
    for i in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=i)
    branches = [_chain(x, [(256, 1), (384, 3, 2, "valid")]),
                _chain(x, [(256, 1), (288, 3, 2, "valid")]),
                _chain(x, [(256, 1), (288, 3), (320, 3, 2, "valid")]),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=axis, name="mixed_7a")(branches)
    for i in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=i)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8",
                               block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")
    x = _common.top_or_pool(x, include_top, pooling, classes, classifier_activation, weights)
    suffix = "" if include_top else "_notop"
    pretrained = ("inception_resnet_v2",
                  f"inception_resnet_v2_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                  "e693bd0210a403b3192acc6073ad2e96" if include_top
                  else "d19885ff4a710c122648d3b5c3b684e4")
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


keras_export("keras.applications.inception_resnet_v2.InceptionResNetV2",
             "keras.applications.InceptionResNetV2")(InceptionResNetV2)
_common.document(
    InceptionResNetV2, "InceptionResNetV2: Inception modules with scaled residual sums (56M "
    "parameters with the top). Expects `inception_resnet_v2.preprocess_input` (tf mode).",
    "(299, 299, 3)", 75,
    'InceptionResNetV2(weights=None, include_top=False, input_shape=(75, 75, 3), '
    'pooling="avg")', "(None, 1536)")


@keras_export("keras.applications.inception_resnet_v2.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.inception_resnet_v2.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
