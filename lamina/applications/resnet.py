"""`keras.applications.resnet`: ResNet50/101/152 (He et al., 2015) and the ResNet builder
shared with `resnet_v2` (pre-activation blocks)."""

__all__ = ["ResNet101", "ResNet152", "ResNet50", "decode_predictions", "preprocess_input"]

from lamina import layers
from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils

WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}


def _bn(name):
    return layers.BatchNormalization(axis=_common.channel_axis(), epsilon=1.001e-5, name=name)


def block_v1(x, filters, stride=1, conv_shortcut=True, name=None):
    """A bottleneck block (1x1, 3x3, 1x1 convolutions) with the activation after the sum."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn")(x))
    x = layers.Conv2D(filters, 3, padding="SAME", name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_bn(f"{name}_2_bn")(x))
    x = _bn(f"{name}_3_bn")(layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x))
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def block_v2(x, filters, stride=1, conv_shortcut=False, name=None):
    """A pre-activation bottleneck block (batch norm and ReLU before the convolutions)."""
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(_bn(f"{name}_preact_bn")(x))
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.Activation("relu", name=f"{name}_1_relu")(_bn(f"{name}_1_bn")(x))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(_bn(f"{name}_2_bn")(x))
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_v1(x, filters, blocks, stride1=2, name=None):
    x = block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def stack_v2(x, filters, blocks, stride1=2, name=None):
    x = block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = block_v2(x, filters, name=f"{name}_block{i}")
    return block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def resnet(blocks, preact, include_top, weights, input_tensor, input_shape, pooling, classes,
           classifier_activation, name, weights_name):
    """ResNet with `blocks[i]` bottleneck blocks in stage `i + 2` (v2: `preact=True`)."""
    _common.check_weights(weights, include_top, classes)
    input_shape = _common.obtain_input_shape(input_shape, 224, 32, include_top, weights)
    img_input = _common.image_input(input_shape, input_tensor)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    if not preact:
        x = layers.Activation("relu", name="conv1_relu")(_bn("conv1_bn")(x))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, count) in enumerate(zip((64, 128, 256, 512), blocks), start=2):
        if preact:
            x = stack_v2(x, filters, count, stride1=1 if stage == 5 else 2, name=f"conv{stage}")
        else:
            x = stack_v1(x, filters, count, stride1=1 if stage == 2 else 2, name=f"conv{stage}")
    if preact:
        x = layers.Activation("relu", name="post_relu")(_bn("post_bn")(x))
    x = _common.top_or_pool(x, include_top, pooling, classes, classifier_activation, weights,
                            pool_names=("avg_pool", "max_pool"))
    suffix = "" if include_top else "_notop"
    pretrained = ("resnet", f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                  WEIGHTS_HASHES[weights_name][0 if include_top else 1])
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


def _resnet_function(public, blocks, default_name, preact=False, extra_names=()):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=default_name):
        return resnet(blocks, preact, include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name, default_name)

    build.__name__ = build.__qualname__ = public
    family = "resnet_v2" if preact else "resnet"
    keras_export(f"keras.applications.{family}.{public}", f"keras.applications.{public}",
                 *extra_names)(build)
    kind = "pre-activation bottleneck" if preact else "bottleneck"
    mode = "tf mode" if preact else "caffe mode"
    return _common.document(
        build, f"{public}: a residual network of {sum(blocks)} {kind} blocks. Expects "
        f"`{family}.preprocess_input` ({mode}).", "(224, 224, 3)", 32,
        f'{public}(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")',
        "(None, 2048)")


ResNet50 = _resnet_function("ResNet50", (3, 4, 6, 3), "resnet50",
                            extra_names=("keras.applications.resnet50.ResNet50",))
ResNet101 = _resnet_function("ResNet101", (3, 4, 23, 3), "resnet101")
ResNet152 = _resnet_function("ResNet152", (3, 8, 36, 3), "resnet152")


@keras_export("keras.applications.resnet.preprocess_input",
              "keras.applications.resnet50.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


@keras_export("keras.applications.resnet.decode_predictions",
              "keras.applications.resnet50.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "caffe mode (RGB to BGR, minus the "
                                "ImageNet channel means).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
