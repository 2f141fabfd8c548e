"""`keras.applications.resnet50`: ResNet50 and its preprocessing (Keras's older module name)."""

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]

from lamina.applications.resnet import ResNet50, decode_predictions, preprocess_input

