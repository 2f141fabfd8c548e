"""`Pipeline`: preprocessing layers applied one after the other."""

from lamina._serialization import deserialize_keras_object, serialize_keras_object
from lamina.layers.layer import Layer

__all__ = ["Pipeline"]


class Pipeline(Layer):
    """Applies `layers` in order, passing `training` on; for chaining augmentation layers
    (which may take dicts of images, labels, boxes and masks, unlike `Sequential`).

    Args:
        layers: the layers, applied first to last.
        name: the name of the pipeline.

    Examples:
        >>> augment = keras.layers.Pipeline([keras.layers.RandomFlip(seed=1),
        ...                                  keras.layers.Resizing(4, 4)])
        >>> augment(np.ones((2, 8, 8, 3)), training=False).shape
        (2, 4, 4, 3)
    """

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        layers = list(layers)
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"Pipeline '{self.name}': every element of `layers` must be a layer. "
                    f"Received {type(layer).__name__} at position {index}: {layer!r}")
        self._pipeline_layers = layers

    @property
    def layers(self):
        return list(self._pipeline_layers)

    def call(self, inputs, training=True):
        for layer in self._pipeline_layers:
            if layer._call_takes_training or layer._call_takes_var_kwargs:
                inputs = layer(inputs, training=training)
            else:
                inputs = layer(inputs)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        return {"layers": serialize_keras_object(self._pipeline_layers), "name": self.name}

    @classmethod
    def from_config(cls, config):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(
                "A Pipeline config must have a 'layers' key holding a list of serialized "
                f"layers. Received: layers={layers!r}")
        config = dict(config)
        config["layers"] = [deserialize_keras_object(layer) for layer in layers]
        return cls(**config)
