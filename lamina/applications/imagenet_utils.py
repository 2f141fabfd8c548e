"""`keras.applications.imagenet_utils`: the ImageNet preprocessing modes and class names.

Each application family preprocesses with one mode: `"caffe"` (RGB to BGR, minus the
ImageNet channel means), `"tf"` (scaled to [-1, 1]) or `"torch"` (scaled to [0, 1], then
standardized per channel); some models preprocess inside the graph and take [0, 255] as is.
"""

__all__ = ["decode_predictions", "preprocess_input"]

import json

import jax.numpy as jnp
import numpy as np

from lamina._registry import keras_export
from lamina._runtime import config
from lamina.utils.file_utils import get_file

CLASS_INDEX = None
CLASS_INDEX_PATH = ("https://storage.googleapis.com/download.tensorflow.org/"
                    "data/imagenet_class_index.json")
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"

_CAFFE_MEAN = (103.939, 116.779, 123.68)  # BGR
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@keras_export("keras.applications.imagenet_utils.preprocess_input")
def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocesses a batch of RGB images in [0, 255] in one of the ImageNet modes.

    Args:
        x: a float NumPy array or tensor, 3D or 4D with 3 color channels. A float NumPy array
            is modified in place and returned, as in Keras (pass `np.copy(x)` to keep it); an
            integer array is converted to `keras.config.floatx()` first.
        data_format: `"channels_last"`, `"channels_first"`, or `None` for
            `keras.config.image_data_format()`.
        mode: `"caffe"` (RGB to BGR, then minus the ImageNet means per channel), `"tf"`
            (`x / 127.5 - 1`) or `"torch"` (`x / 255`, then standardized per channel with the
            ImageNet means and standard deviations).

    Returns:
        The preprocessed images, of the input's kind.

    Raises:
        ValueError: unknown `mode` or `data_format`.

    Examples:
        >>> import numpy as np
        >>> preprocess_input(np.array([[[255.0, 0.0, 127.5]]]), mode="tf")
        array([[[ 1., -1.,  0.]]])
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(
            f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = config.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            "Expected data_format to be one of `channels_first` or `channels_last`. "
            f"Received: data_format={data_format}")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _channel_shape(ndim, data_format):
    if data_format == "channels_first":
        return (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    return (1,) * (ndim - 1) + (3,)


def _reverse_channels(x, data_format, flip):
    if data_format == "channels_last":
        return flip(x, -1)
    return flip(x, 0 if x.ndim == 3 else 1)


def _preprocess_numpy(x, data_format, mode):
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(config.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        x = _reverse_channels(x, data_format, np.flip)
        mean, std = _CAFFE_MEAN, None
    shape = _channel_shape(x.ndim, data_format)
    x -= np.reshape(np.asarray(mean, x.dtype), shape)
    if std is not None:
        x /= np.reshape(np.asarray(std, x.dtype), shape)
    return x


def _preprocess_tensor(x, data_format, mode):
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(config.floatx())
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        x = _reverse_channels(x, data_format, jnp.flip)
        mean, std = _CAFFE_MEAN, None
    shape = _channel_shape(x.ndim, data_format)
    x = x - jnp.reshape(jnp.asarray(mean, x.dtype), shape)
    if std is not None:
        x = x / jnp.reshape(jnp.asarray(std, x.dtype), shape)
    return x


@keras_export("keras.applications.imagenet_utils.decode_predictions")
def decode_predictions(preds, top=5):
    """Names the `top` ImageNet classes of each prediction: `(class_id, name, score)` tuples.

    The class names come from Keras's `imagenet_class_index.json`, downloaded once through
    `keras.utils.get_file` into `~/.keras/models` and checked against its hash.

    Args:
        preds: predictions of shape `(samples, 1000)`.
        top: how many classes to return per sample, best first.

    Returns:
        One list of `(class_id, class_name, score)` per sample.

    Raises:
        ValueError: `preds` is not of shape `(samples, 1000)`.

    Examples:
        >>> import numpy as np
        >>> decode_predictions(np.eye(1, 1000, 1))[0][0][:2]  # doctest: +SKIP
        ('n01443537', 'goldfish')
    """
    global CLASS_INDEX
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects a batch of predictions (i.e. a 2D array of shape "
            f"(samples, 1000)). Received array with shape: {preds.shape}")
    if CLASS_INDEX is None:
        path = get_file("imagenet_class_index.json", CLASS_INDEX_PATH, cache_subdir="models",
                        file_hash=CLASS_INDEX_HASH)
        with open(path) as f:
            CLASS_INDEX = json.load(f)
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        result = [tuple(CLASS_INDEX[str(i)]) + (pred[i],) for i in best]
        result.sort(key=lambda item: item[2], reverse=True)
        results.append(result)
    return results
