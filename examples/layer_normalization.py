"""A Layer Normalization layer written by hand (Chapter 12, exercise 12a).

Each instance's features are normalized to mean 0 and variance 1, then scaled by a trainable
alpha and shifted by a trainable beta (one of each per feature). The script compares it with
keras.layers.LayerNormalization: outputs with the initial weights and with random ones, and
the gradients with respect to the weights.

    python examples/layer_normalization.py [--small]
"""

import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import load_housing, make_parser


class LayerNormalization(keras.layers.Layer):
    def __init__(self, eps=0.001, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps

    def build(self, batch_input_shape):
        self.alpha = self.add_weight(
            name="alpha", shape=batch_input_shape[-1:], initializer="ones")
        self.beta = self.add_weight(
            name="beta", shape=batch_input_shape[-1:], initializer="zeros")
        super().build(batch_input_shape)

    def call(self, X):
        mean, variance = tf.nn.moments(X, axes=-1, keepdims=True)
        return self.alpha * (X - mean) / (tf.sqrt(variance + self.eps)) + self.beta

    def compute_output_shape(self, batch_input_shape):
        return batch_input_shape

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "eps": self.eps}


def mean_absolute_difference(a, b):
    return float(tf.reduce_mean(keras.losses.mean_absolute_error(a, b)))


def weight_gradients(layer, X, direction):
    """Gradients of sum(layer(X) * direction) with respect to the layer's two weights."""
    return keras.grad(lambda: tf.reduce_sum(layer(X) * direction), layer.trainable_weights)()


def main(argv=None):
    args = make_parser(__doc__).parse_args(argv)
    (X, _), _, _ = load_housing(100 if args.small else 5000)
    X = X.astype(np.float32)

    custom_layer_norm = LayerNormalization()
    keras_layer_norm = keras.layers.LayerNormalization()  # epsilon=0.001 by default too
    print(f"mean absolute difference, initial weights: "
          f"{mean_absolute_difference(keras_layer_norm(X), custom_layer_norm(X)):.2e}")

    rng = np.random.default_rng(42)
    random_alpha = rng.random(X.shape[-1]).astype(np.float32)
    random_beta = rng.random(X.shape[-1]).astype(np.float32)
    custom_layer_norm.set_weights([random_alpha, random_beta])
    keras_layer_norm.set_weights([random_alpha, random_beta])
    print(f"mean absolute difference, random weights: "
          f"{mean_absolute_difference(keras_layer_norm(X), custom_layer_norm(X)):.2e}")

    direction = rng.normal(size=X.shape).astype(np.float32)
    ours = weight_gradients(custom_layer_norm, X, direction)
    theirs = weight_gradients(keras_layer_norm, X, direction)
    # Relative, since the gradients sum over every instance and grow with the data set.
    difference = max(float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(b).max())
                     for a, b in zip(ours, theirs))
    print(f"largest relative difference between the weight gradients: {difference:.2e}")
    normalized = np.asarray(LayerNormalization()(X))
    print(f"per-instance mean and std after normalizing: "
          f"{abs(normalized.mean(-1)).max():.1e}, {normalized.std(-1).mean():.4f}")


if __name__ == "__main__":
    main()
