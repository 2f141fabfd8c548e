"""Losses and metrics based on model internals (Chapter 12, "Losses and Metrics Based on Model
Internals").

ReconstructingRegressor predicts the target from five hidden layers and also tries to rebuild
its inputs from the last one; the reconstruction error joins the training loss through
add_loss() (an auxiliary loss that regularizes the hidden layers) and is reported through a
keras.metrics.Mean held as an attribute. The script checks the reported loss by hand.

    python examples/model_internals.py [--small]
"""

import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import load_housing, make_parser


class ReconstructingRegressor(keras.models.Model):
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(30, activation="selu",
                                          kernel_initializer="lecun_normal")
                       for _ in range(5)]
        self.out = keras.layers.Dense(output_dim)
        self.reconstruction_mean = keras.metrics.Mean(name="reconstruction_error")

    def build(self, batch_input_shape):
        n_inputs = batch_input_shape[-1]
        self.reconstruct = keras.layers.Dense(n_inputs)
        super().build(batch_input_shape)

    def call(self, inputs, training=None):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        reconstruction = self.reconstruct(Z)
        recon_loss = tf.reduce_mean(tf.square(reconstruction - inputs))
        self.add_loss(0.05 * recon_loss)
        # Keras 3 has no add_metric(): a metric held as an attribute is updated here and
        # reported by fit and evaluate (so for validation too, unlike the book's version,
        # which updated it only when training).
        self.reconstruction_mean.update_state(recon_loss)
        return self.out(Z)


def loss_by_hand(model, X, y):
    """The mse plus 0.05 times the reconstruction error, computed outside the model."""
    Z = X
    for layer in model.hidden:
        Z = layer(Z)
    reconstruction_error = np.mean(np.square(np.asarray(model.reconstruct(Z)) - X))
    mse = np.mean(np.square(np.asarray(model.out(Z)) - y))
    return mse + 0.05 * reconstruction_error, reconstruction_error


def main(argv=None):
    args = make_parser(__doc__).parse_args(argv)
    keras.utils.set_random_seed(42)
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = load_housing(
        300 if args.small else 5000)
    model = ReconstructingRegressor(1)
    model.compile(loss="mse", optimizer="nadam")
    history = model.fit(X_train, y_train, epochs=1 if args.small else 5,
                        validation_data=(X_valid, y_valid), verbose=0)
    for key, values in history.history.items():
        print(f"{key} per epoch: {np.round(values, 4).tolist()}")
    # One batch, so that the per-batch means of evaluate are the means over the whole set.
    scores = model.evaluate(X_test, y_test, batch_size=len(X_test), verbose=0,
                            return_dict=True)
    total, reconstruction_error = loss_by_hand(model, X_test, y_test)
    print(f"test loss (mse + 0.05 * reconstruction): {scores['loss']:.4f}, "
          f"by hand: {total:.4f}")
    print(f"test reconstruction error: {scores['reconstruction_error']:.4f}, "
          f"by hand: {reconstruction_error:.4f}")


if __name__ == "__main__":
    main()
