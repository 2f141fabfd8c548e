"""`keras.legacy`: what Keras 3 keeps of tf.keras 2 for old code, `keras.legacy.saving` (its
object-config format).

Legacy `.h5` model and weights files need nothing from here: `keras.models.load_model`,
`model.load_weights` and `model.save` read and write them (see `lamina.saving.legacy_h5`).
"""

from lamina.legacy import saving as saving

__all__ = ["saving"]
