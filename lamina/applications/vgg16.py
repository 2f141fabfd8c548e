"""`keras.applications.vgg16`: VGG16 (Simonyan & Zisserman, 2015), and the VGG builder."""

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]

from lamina import layers
from lamina._registry import keras_export
from lamina.applications import _common, imagenet_utils


def vgg(depths, model_name, include_top, weights, input_tensor, input_shape, pooling, classes,
        classifier_activation, name, hashes):
    """VGG with `depths[i]` 3x3 convolutions in block `i + 1` (filters 64 to 512)."""
    _common.check_weights(weights, include_top, classes)
    input_shape = _common.obtain_input_shape(input_shape, 224, 32, include_top, weights)
    img_input = _common.image_input(input_shape, input_tensor)
    x = img_input
    for block, (depth, filters) in enumerate(zip(depths, (64, 128, 256, 512, 512)), start=1):
        for conv in range(1, depth + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{conv}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        _common.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pool(x, pooling)
    suffix = "" if include_top else "_notop"
    pretrained = (model_name, f"{model_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                  hashes[0 if include_top else 1])
    return _common.finish(img_input, input_tensor, x, name, weights, pretrained)


@keras_export("keras.applications.vgg16.VGG16", "keras.applications.VGG16")
def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    return vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape,
               pooling, classes, classifier_activation, name,
               ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"))


_common.document(
    VGG16, "VGG16: 13 convolutions in 5 blocks and 3 dense layers (138M parameters with the "
    "top). Expects `vgg16.preprocess_input` (caffe mode).", "(224, 224, 3)", 32,
    'VGG16(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")',
    "(None, 512)")


@keras_export("keras.applications.vgg16.preprocess_input")
def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


@keras_export("keras.applications.vgg16.decode_predictions")
def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


_common.preprocessing_docstring(preprocess_input, "caffe mode (RGB to BGR, minus the "
                                "ImageNet channel means).")
decode_predictions.__doc__ = imagenet_utils.decode_predictions.__doc__
