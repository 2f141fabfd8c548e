"""`keras.applications.inception_v3`: InceptionV3 (Szegedy et al., 2016)."""

__all__ = ["InceptionV3", "decode_predictions", "preprocess_input"]

from lamina import layers
from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """Convolution without bias, batch norm without scale, ReLU (named `name`)."""
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding,
                      use_bias=False, name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=_common.channel_axis(), scale=False,
                                  name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _avg_branch(x, filters):
    return conv2d_bn(layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x),
                     filters, 1, 1)


def _chain(x, specs):
    for spec in specs:
        x = conv2d_bn(x, *spec)
    return x


def _module_35(x, pool_filters, name):
    axis = _common.channel_axis()
    branches = [conv2d_bn(x, 64, 1, 1), _chain(x, [(48, 1, 1), (64, 5, 5)]),
                _chain(x, [(64, 1, 1), (96, 3, 3), (96, 3, 3)]), _avg_branch(x, pool_filters)]
    return layers.concatenate(branches, axis=axis, name=name)


def _module_17(x, width, name):
    axis = _common.channel_axis()
    branches = [conv2d_bn(x, 192, 1, 1),
                _chain(x, [(width, 1, 1), (width, 1, 7), (192, 7, 1)]),
                _chain(x, [(width, 1, 1), (width, 7, 1), (width, 1, 7), (width, 7, 1),
                           (192, 1, 7)]),
                _avg_branch(x, 192)]
    return layers.concatenate(branches, axis=axis, name=name)


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="inception_v3"):
    _common.check_weights(weights, include_top, classes, **_common.INCEPTION_MESSAGES)
    input_shape = _common.obtain_input_shape(input_shape, 299, 75, include_top, weights)
    img_input = _common.image_input(input_shape, input_tensor)
    axis = _common.channel_axis()
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    for i, pool_filters in enumerate((32, 64, 64)):
        x = _module_35(x, pool_filters, f"mixed{i}")
    x = layers.concatenate(
        [conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid"),
         conv2d_bn(_chain(x, [(64, 1, 1), (96, 3, 3)]), 96, 3, 3, strides=(2, 2),
                   padding="valid"),
         layers.MaxPooling2D((3, 3), strides=(2, 2))(x)], axis=axis, name="mixed3")
    for i, width in enumerate((128, 160, 160, 192)):
        x = _module_17(x, width, f"mixed{4 + i}")
    x = layers.concatenate(
        [conv2d_bn(conv2d_bn(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid"),
         conv2d_bn(_chain(x, [(192, 1, 1), (192, 1, 7), (192, 7, 1)]), 192, 3, 3,
                   strides=(2, 2), padding="valid"),
         layers.MaxPooling2D((3, 3), strides=(2, 2))(x)], axis=axis, name="mixed8")
    for i in range(2):
        branch1x1 = conv2d_bn(x, 320, 1, 1)
        branch3x3 = conv2d_bn(x, 384, 1, 1)
        branch3x3 = layers.concatenate(
            [conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)], axis=axis,
            name=f"mixed9_{i}")
        double = _chain(x, [(448, 1, 1), (384, 3, 3)])
        double = layers.concatenate(
            [conv2d_bn(double, 384, 1, 3), conv2d_bn(double, 384, 3, 1)], axis=axis)
        x = layers.concatenate([branch1x1, branch3x3, double, _avg_branch(x, 192)], axis=axis,
                               name=f"mixed{9 + i}")
    x = _common.top_or_pool(x, include_top, pooling, classes, classifier_activation, weights)
    suffix = "" if include_top else "_notop"
    pretrained = ("inception_v3", f"inception_v3_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                  "9a0d58056eeedaa3f26cb7ebd46da564" if include_top
                  else "bcbd6486424b2319ff4ef7d526e38f63")
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


keras_export("keras.applications.inception_v3.InceptionV3",
             "keras.applications.InceptionV3")(InceptionV3)
_common.document(
    InceptionV3, "InceptionV3: factorized Inception modules (24M parameters with the top). "
    "Expects `inception_v3.preprocess_input` (tf mode).", "(299, 299, 3)", 75,
    'InceptionV3(weights=None, include_top=False, input_shape=(75, 75, 3), pooling="avg")',
    "(None, 2048)")


@keras_export("keras.applications.inception_v3.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


@keras_export("keras.applications.inception_v3.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "tf mode (scaled to [-1, 1]).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
