"""`keras.utils.pad_sequences`: a list of sequences of different lengths to one array."""

import numbers

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (or truncates) sequences to one length: a NumPy array `(len(sequences), maxlen)`.

    Each sequence is a list (or array) of steps; a step may itself be an array, all of one
    shape, which becomes the trailing axes of the result. `maxlen` defaults to the longest
    sequence. Shorter sequences are filled with `value` before (`padding="pre"`, the default)
    or after (`"post"`) their steps; longer ones lose steps at the start (`truncating="pre"`)
    or at the end (`"post"`).

    Args:
        sequences: a list of sequences.
        maxlen: the length of the result, or None for the longest sequence.
        dtype: the result's dtype (`"int32"`); `object` or a string dtype for text.
        padding: `"pre"` or `"post"`: where the filling goes.
        truncating: `"pre"` or `"post"`: which end of a long sequence is cut.
        value: the fill value (a number, or a string with an object or string `dtype`).

    Returns:
        A NumPy array of shape `(len(sequences), maxlen) + step shape`.

    Examples:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post", value=-1)
        array([[ 1, -1],
               [ 2,  3],
               [ 5,  6]], dtype=int32)
    """
    for name, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(
                f"pad_sequences' `{name}` must be 'pre' or 'post'. Received: {name}={choice!r}")
    if maxlen is not None and (not isinstance(maxlen, numbers.Integral)
                               or isinstance(maxlen, bool) or maxlen < 0):
        raise ValueError(
            "pad_sequences' `maxlen` must be None or an int >= 0. Received: "
            f"maxlen={maxlen!r}")
    if isinstance(sequences, (str, bytes)) or not hasattr(sequences, "__len__"):
        raise ValueError(
            "pad_sequences expects `sequences`, a list of sequences (e.g. lists of token "
            f"ids). Received: sequences of type {type(sequences).__name__}")
    lengths, step_shape, first = [], (), True
    for index, sequence in enumerate(sequences):
        if isinstance(sequence, (str, bytes)) or not hasattr(sequence, "__len__"):
            raise ValueError(
                "pad_sequences expects `sequences` to be a list of sequences (lists or "
                f"arrays). Received a {type(sequence).__name__} at position {index}: "
                f"{sequence!r:.80}")
        lengths.append(len(sequence))
        if first and len(sequence):
            step_shape = np.asarray(sequence).shape[1:]
            first = False
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)
    dtype = np.dtype(dtype)
    textual = dtype.kind in ("U", "S")
    if isinstance(value, str) and dtype != np.dtype(object) and not textual:
        raise ValueError(
            f"pad_sequences' fill `value` is a string ({value!r}) but `dtype` is {dtype}. "
            "Pass dtype=object (or a string dtype) to pad sequences of strings.")
    result = np.full((len(lengths), maxlen) + step_shape, value, dtype=dtype)
    if maxlen == 0:
        return result
    for index, sequence in enumerate(sequences):
        if not lengths[index]:
            continue
        kept = sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != step_shape:
            raise ValueError(
                f"pad_sequences: the steps of sequence {index} have shape {kept.shape[1:]}, "
                f"but those of the first non-empty sequence have shape {step_shape}. Every "
                "step must have the same shape.")
        if padding == "post":
            result[index, :len(kept)] = kept
        else:
            result[index, -len(kept):] = kept
    return result
