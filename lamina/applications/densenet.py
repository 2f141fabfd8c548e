"""`keras.applications.densenet`: DenseNet121/169/201 (Huang et al., 2017)."""

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "decode_predictions", "preprocess_input"]

from lamina import layers
from lamina._registry import keras_export
from lamina._runtime import config
from lamina.applications import _common, imagenet_utils

_HASHES = {  # (top, no top)
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7",
                      "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b",
                      "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807",
                      "c13680b51ded0fb44dff2d8f86ac8bb1"),
}


def _bn(name):
    return layers.BatchNormalization(axis=_common.channel_axis(), epsilon=1.001e-5, name=name)


def conv_block(x, growth_rate, name):
    """One dense layer: BN-ReLU-1x1 conv, BN-ReLU-3x3 conv, concatenated to its input."""
    y = layers.Activation("relu", name=f"{name}_0_relu")(_bn(f"{name}_0_bn")(x))
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn")(y))
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=_common.channel_axis(), name=f"{name}_concat")([x, y])


def transition_block(x, reduction, name):
    x = layers.Activation("relu", name=f"{name}_relu")(_bn(f"{name}_bn")(x))
    channels = x.shape[_common.channel_axis()]
    x = layers.Conv2D(int(channels * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def densenet(blocks, include_top, weights, input_tensor, input_shape, pooling, classes,
             classifier_activation, name):
    if config.image_data_format() == "channels_first":
        raise ValueError(
            "DenseNet does not support the `channels_first` image data format. Switch to "
            "`channels_last` by editing your local config file at ~/.keras/keras.json")
    _common.check_weights(weights, include_top, classes, classes_message=(
        'If using `weights` as `"imagenet"` with `include_top` as true, `classes` should be '
        "1000"))
    input_shape = _common.obtain_input_shape(input_shape, 224, 32, include_top, weights)
    img_input = _common.image_input(input_shape, input_tensor)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.Activation("relu", name="conv1_relu")(_bn("conv1_bn")(x))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks, start=2):
        for i in range(count):
            x = conv_block(x, 32, name=f"conv{stage}_block{i + 1}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.Activation("relu", name="relu")(_bn("bn")(x))
    x = _common.top_or_pool(x, include_top, pooling, classes, classifier_activation, weights,
                            pool_names=("avg_pool", "max_pool"))
    model_name, top_hash, notop_hash = _HASHES[tuple(blocks)]
    suffix = "" if include_top else "_notop"
    pretrained = ("densenet", f"{model_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                  top_hash if include_top else notop_hash)
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


def _densenet_function(public, blocks, default_name):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=default_name):
        return densenet(blocks, include_top, weights, input_tensor, input_shape, pooling,
                        classes, classifier_activation, name)

    build.__name__ = build.__qualname__ = public
    keras_export(f"keras.applications.densenet.{public}", f"keras.applications.{public}")(build)
    return _common.document(
        build, f"{public}: a densely connected network of {sum(blocks)} dense layers in 4 "
        "blocks. Expects `densenet.preprocess_input` (torch mode).", "(224, 224, 3)", 32,
        f'{public}(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")',
        f"(None, {_final(blocks)})")


def _final(blocks):
    channels = 64
    for stage, count in enumerate(blocks):
        channels += 32 * count
        if stage < 3:
            channels //= 2
    return channels


DenseNet121 = _densenet_function("DenseNet121", (6, 12, 24, 16), "densenet121")
DenseNet169 = _densenet_function("DenseNet169", (6, 12, 32, 32), "densenet169")
DenseNet201 = _densenet_function("DenseNet201", (6, 12, 48, 32), "densenet201")


@keras_export("keras.applications.densenet.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


@keras_export("keras.applications.densenet.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "torch mode (scaled to [0, 1], then "
                                "standardized per channel).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
