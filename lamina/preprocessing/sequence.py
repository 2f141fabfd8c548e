"""`keras.preprocessing.sequence`: `pad_sequences` (the `keras.utils` function)."""

from lamina.utils.sequence_utils import pad_sequences as pad_sequences
