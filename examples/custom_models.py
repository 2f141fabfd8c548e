"""Custom models (Chapter 12, "Custom Models").

A ResidualBlock layer (its own sublayers, a skip connection) and a ResidualRegressor that
subclasses keras.Model and reuses one block four times in its call(). The model is trained,
evaluated, saved to a .keras file and reloaded. Keras 3's format rebuilds a subclassed model
from its config, so both classes get a get_config() (the book's SavedModel needed none).

    python examples/custom_models.py [--small] [--out DIR]
"""

import os

import numpy as np

import lamina as keras

from _common import add_out_flag, load_housing, make_parser, output_folder


class ResidualBlock(keras.layers.Layer):
    def __init__(self, n_layers, n_neurons, **kwargs):
        super().__init__(**kwargs)
        self.n_layers, self.n_neurons = n_layers, n_neurons
        self.hidden = [keras.layers.Dense(n_neurons, activation="elu",
                                          kernel_initializer="he_normal")
                       for _ in range(n_layers)]

    def call(self, inputs):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        return inputs + Z

    def get_config(self):
        return {**super().get_config(), "n_layers": self.n_layers, "n_neurons": self.n_neurons}


class ResidualRegressor(keras.models.Model):
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = output_dim
        self.hidden1 = keras.layers.Dense(30, activation="elu",
                                          kernel_initializer="he_normal")
        self.block1 = ResidualBlock(2, 30)
        self.block2 = ResidualBlock(2, 30)
        self.out = keras.layers.Dense(output_dim)

    def call(self, inputs):
        Z = self.hidden1(inputs)
        for _ in range(1 + 3):
            Z = self.block1(Z)
        Z = self.block2(Z)
        return self.out(Z)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim}


def main(argv=None):
    parser = make_parser(__doc__)
    add_out_flag(parser)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(42)
    (X_train, y_train), _, (X_test, y_test) = load_housing(300 if args.small else 5000)
    X_new = X_test[:3]

    model = ResidualRegressor(1)
    model.compile(loss="mse", optimizer="nadam")
    history = model.fit(X_train, y_train, epochs=1 if args.small else 5, verbose=0)
    score = model.evaluate(X_test, y_test, verbose=0)
    y_pred = model.predict(X_new, verbose=0)
    model.summary()
    # block1 is called four times but owns its weights once: 2 Dense layers of 30x30 + 30.
    print(f"block1 weights: {len(model.block1.weights)}, "
          f"trainable weights in the model: {len(model.trainable_weights)}")
    print(f"training loss per epoch: {np.round(history.history['loss'], 4).tolist()}")
    print(f"test MSE: {score:.4f}")
    print(f"predictions for 3 new districts: {y_pred.ravel().astype(float).round(3).tolist()}")

    with output_folder(args.out) as folder:
        path = os.path.join(folder, "my_custom_model.keras")
        model.save(path)
        reloaded = keras.models.load_model(path, custom_objects={
            "ResidualRegressor": ResidualRegressor, "ResidualBlock": ResidualBlock})
    same = np.allclose(reloaded.predict(X_new, verbose=0), y_pred, atol=1e-6)
    print(f"reloaded a {type(reloaded).__name__}: same predictions: {same}")


if __name__ == "__main__":
    main()
