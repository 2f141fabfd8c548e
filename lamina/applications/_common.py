"""What every application shares: argument checks with Keras's messages, the input, the
classifier head, and loading weights (Keras's files through `get_file`, or a path).

Keras's pretrained files are legacy HDF5 weights files (tf.keras 2's layout: one group per
layer, in topological order); `Model.load_weights` reads them (lamina/saving/legacy_h5.py).
"""

import os
import warnings

from lamina import activations, layers
from lamina._runtime import config
from lamina.backend import is_keras_tensor
from lamina.models import Functional
from lamina.utils.file_utils import get_file
from lamina.utils.graph_utils import get_source_inputs

KERAS_WEIGHTS = "https://storage.googleapis.com/tensorflow/keras-applications/"


INCEPTION_MESSAGES = {
    "weights_message": "The `weights` argument should be either `None` (random "
                       "initialization), `imagenet` (pre-training on ImageNet), or the path to "
                       "the weights file to be loaded; Received: weights={weights}",
    "classes_message": 'If using `weights="imagenet"` with `include_top=True`, `classes` '
                       "should be 1000. Received classes={classes}",
}


def check_weights(weights, include_top, classes, weights_message=None, classes_message=None):
    """Keras's checks of `weights` and `classes`, with its messages (`*_message`: a family's
    own wording, formatted with `weights` and `classes`)."""
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike))
                                              and os.path.exists(weights))):
        if weights_message:
            raise ValueError(weights_message.format(weights=weights))
        raise ValueError(
            "The `weights` argument should be either `None` (random initialization), "
            "'imagenet' (pre-training on ImageNet), or the path to the weights file to be "
            f"loaded.  Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        if classes_message:
            raise ValueError(classes_message.format(classes=classes))
        raise ValueError(
            "If using `weights='imagenet'` with `include_top=True`, `classes` should be "
            f"1000.  Received classes={classes}")


def obtain_input_shape(input_shape, default_size, min_size, require_flatten, weights=None,
                       data_format=None):
    """The model's input shape: the default, or `input_shape` checked as Keras checks it."""
    data_format = data_format or config.image_data_format()
    first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn(
                "This model usually expects 1 or 3 input channels. However, it was passed an "
                f"input_shape with {channels} input channels.", stacklevel=3)
        default_shape = ((channels, default_size, default_size) if first
                         else (default_size, default_size, channels))
    else:
        default_shape = (3, default_size, default_size) if first else (default_size,
                                                                       default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError(
                "When setting `include_top=True` and loading `imagenet` weights, "
                f"`input_shape` should be {default_shape}.  Received: "
                f"input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels = input_shape[0] if first else input_shape[-1]
        if channels != 3 and weights == "imagenet":
            raise ValueError(
                f"The input must have 3 channels; Received `input_shape={input_shape}`")
        spatial = input_shape[1:] if first else input_shape[:2]
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(
                f"Input size must be at least {min_size}x{min_size}; Received: "
                f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(
            "If `include_top` is True, you should specify a static `input_shape`. "
            f"Received: input_shape={input_shape}")
    return tuple(input_shape)


def image_input(input_shape, input_tensor):
    """The graph's image input: a new `Input`, or `input_tensor` (wrapped if not symbolic)."""
    if input_tensor is None:
        return layers.Input(shape=input_shape)
    if not is_keras_tensor(input_tensor):
        return layers.Input(tensor=input_tensor, shape=input_shape)
    return input_tensor


def validate_activation(classifier_activation, weights):
    """Pretrained tops end in softmax or nothing (Keras's rule and message)."""
    if weights is None:
        return
    activation = activations.get(classifier_activation)
    if activation not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError(
            "Only `None` and `softmax` activations are allowed for the "
            "`classifier_activation` argument when using pretrained weights, with "
            f"`include_top=True`; Received: classifier_activation={classifier_activation}")


def pool(x, pooling, avg_name=None, max_name=None):
    """`pooling="avg"` or `"max"` of a headless model (anything else keeps the 4D output)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=max_name)(x)
    return x


def channel_axis():
    return 1 if config.image_data_format() == "channels_first" else -1


def correct_pad(inputs, kernel_size):
    """The zero padding before a strided 'valid' convolution that mimics 'same' (Keras's)."""
    first = 2 if config.image_data_format() == "channels_first" else 1
    size = inputs.shape[first:first + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def finish(img_input, input_tensor, outputs, name, weights, pretrained=None):
    """The Functional model, with its weights loaded.

    `pretrained` is `(folder, file_name, file_hash)` of Keras's file for `weights="imagenet"`,
    fetched from `KERAS_WEIGHTS + folder + "/" + file_name` (or `folder + file_name` when
    `folder` is a URL; a fourth item names the file at the URL when it differs; None when Keras offers none for
    these arguments: the model keeps random weights, as in Keras).
    """
    inputs = get_source_inputs(input_tensor) if input_tensor is not None else img_input
    model = Functional(inputs, outputs, name=name)
    if weights == "imagenet":
        if pretrained is not None:
            folder, file_name, file_hash, *remote = pretrained
            base = folder if "://" in folder else f"{KERAS_WEIGHTS}{folder}/"
            origin = base + (remote[0] if remote else file_name)
            model.load_weights(get_file(file_name, origin, cache_subdir="models",
                                        file_hash=file_hash))
    elif weights is not None:
        model.load_weights(weights)
    return model


def top_or_pool(x, include_top, pooling, classes, classifier_activation, weights, flatten=None,
                avg_name="avg_pool", max_name="max_pool", pool_names=(None, None)):
    """The usual ending: `avg_name` pooling then the `predictions` Dense, or `pool()`."""
    if include_top:
        x = layers.GlobalAveragePooling2D(name=avg_name)(x)
        validate_activation(classifier_activation, weights)
        return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return pool(x, pooling, *pool_names)


_ARGS = """
    Args:
        include_top: whether to end with the ImageNet classifier (else the feature maps, or
            their `pooling`).
        weights: `None` (random initialization), `"imagenet"` (Keras's pretrained file,
            downloaded once through `keras.utils.get_file` and checked against its hash), or
            the path of a weights file.
        input_tensor: a tensor (a `keras.Input` or a layer's output) to use as the image input.
        input_shape: the image shape without the batch axis, e.g. `(160, 160, 3)`; with
            `include_top=True` and ImageNet weights it must be the default `{default}`.
        pooling: without the top, `"avg"` or `"max"` pools the last feature maps to a vector;
            `None` keeps them.
        classes: the number of classes of the top (1000 with ImageNet weights).
        classifier_activation: the top's activation (`"softmax"`; `None` for logits; only
            those two with pretrained weights).
        name: the model's name.{extra}

    Returns:
        A `keras.Model` (a Functional model with Keras's layer names, so Keras's weight files
        load into it).

    Raises:
        ValueError: `weights` is neither `None`, `"imagenet"` nor an existing file; `classes` is
            not 1000 with ImageNet weights and the top; `input_shape` is smaller than {min}x{min},
            has the wrong number of channels for ImageNet weights, or differs from the default
            with the ImageNet top.

    Examples:
        >>> model = {call}{skip}
        >>> model.output.shape{skip}
        {shape}
"""


# Architectures whose docstring example runs in the test suite (small ones; the others would
# allocate up to 350M parameters there).
_RUN_EXAMPLES = {"MobileNet", "MobileNetV2", "MobileNetV3Small", "EfficientNetB0"}


def document(function, summary, default, min_size, call, shape, extra=""):
    """Gives an application function its docstring (the arguments are the same everywhere)."""
    skip = "" if function.__name__ in _RUN_EXAMPLES else "  # doctest: +SKIP"
    function.__doc__ = summary.strip() + "\n" + _ARGS.format(
        default=default, min=min_size, call=call, shape=shape, extra=extra, skip=skip)
    return function


def preprocessing_docstring(function, what):
    function.__doc__ = f"""Preprocesses a batch of RGB images in [0, 255] for this family: {what}

    Args:
        x: a float NumPy array or tensor of images, 3D or 4D, with 3 color channels. A NumPy
            array of a float type is preprocessed in place, as in Keras (pass a copy to keep it).
        data_format: `"channels_last"`, `"channels_first"`, or `None` for
            `keras.config.image_data_format()`.

    Returns:
        The preprocessed images.

    Examples:
        >>> import numpy as np
        >>> preprocess_input(np.full((1, 2, 2, 3), 255.0)).shape
        (1, 2, 2, 3)
    """
    return function


def make_divisible(value, divisor, min_value=None):
    """`value` rounded to a multiple of `divisor`, never more than 10% below it."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def spatial(shape):
    """(rows, cols) of an image shape without its batch axis."""
    if config.image_data_format() == "channels_first":
        return shape[1], shape[2]
    return shape[0], shape[1]
