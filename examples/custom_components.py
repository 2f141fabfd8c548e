"""Custom activations, initializers, regularizers and constraints (Chapter 12, "Custom Activation
Functions, Initializers, Regularizers, and Constraints").

Each is written twice: as a plain function (saved by name; loading needs custom_objects) and as
a subclass whose get_config() saves its hyperparameter. Both sets go into a Dense layer of a
small regression model, which is trained, saved and reloaded; the script checks that the
constraint held, that the regularizer added its penalty to the model's losses, and that the
reloaded model predicts the same and kept the hyperparameters.

    python examples/custom_components.py [--small] [--out DIR]
"""

import os

import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import add_out_flag, load_housing, make_parser, output_folder


# --- functions: the book's versions ------------------------------------------------------------
def my_softplus(z):
    return tf.math.log(1.0 + tf.exp(z))


def my_glorot_initializer(shape, dtype=tf.float32):
    stddev = tf.sqrt(2. / (shape[0] + shape[1]))
    return tf.random.normal(shape, stddev=stddev, dtype=dtype)


def my_l1_regularizer(weights):
    return tf.reduce_sum(tf.abs(0.01 * weights))


def my_positive_weights(weights):
    return tf.where(weights < 0., tf.zeros_like(weights), weights)


# --- subclasses: the same ideas with a hyperparameter that is saved ----------------------------
class MySoftplus(keras.layers.Layer):
    """An activation with a hyperparameter is a layer (the book's advice): `sharpness` is saved
    by get_config, which a plain function cannot do."""

    def __init__(self, sharpness=1.0, **kwargs):
        super().__init__(**kwargs)
        self.sharpness = sharpness

    def call(self, z):
        return tf.math.log(1.0 + tf.exp(self.sharpness * z)) / self.sharpness

    def get_config(self):
        return {**super().get_config(), "sharpness": self.sharpness}


class MyGlorotInitializer(keras.initializers.Initializer):
    def __init__(self, scale=1.0):
        self.scale = scale

    def __call__(self, shape, dtype=tf.float32):
        stddev = tf.sqrt(2. * self.scale / (shape[0] + shape[1]))
        return tf.random.normal(shape, stddev=stddev, dtype=dtype)

    def get_config(self):
        return {"scale": self.scale}


class MyL1Regularizer(keras.regularizers.Regularizer):
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, weights):
        return tf.reduce_sum(tf.abs(self.factor * weights))

    def get_config(self):
        return {"factor": self.factor}


class MyMinimumWeight(keras.constraints.Constraint):
    def __init__(self, minimum=0.0):
        self.minimum = minimum

    def __call__(self, weights):
        return tf.where(weights < self.minimum, tf.fill(tf.shape(weights), self.minimum),
                        weights)

    def get_config(self):
        return {"minimum": self.minimum}


FUNCTIONS = {"my_softplus": my_softplus, "my_glorot_initializer": my_glorot_initializer,
             "my_l1_regularizer": my_l1_regularizer, "my_positive_weights": my_positive_weights}
CLASSES = {"MySoftplus": MySoftplus, "MyGlorotInitializer": MyGlorotInitializer,
           "MyL1Regularizer": MyL1Regularizer, "MyMinimumWeight": MyMinimumWeight}


def build_model(with_classes):
    hidden = keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal",
                                input_shape=[8])
    if with_classes:
        output = keras.layers.Dense(1, activation=MySoftplus(2.0),
                                    kernel_initializer=MyGlorotInitializer(0.5),
                                    kernel_regularizer=MyL1Regularizer(0.01),
                                    kernel_constraint=MyMinimumWeight(-0.05))
    else:
        output = keras.layers.Dense(1, activation=my_softplus,
                                    kernel_initializer=my_glorot_initializer,
                                    kernel_regularizer=my_l1_regularizer,
                                    kernel_constraint=my_positive_weights)
    return keras.models.Sequential([hidden, output])


def run(title, with_classes, data, epochs, folder):
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = data
    model = build_model(with_classes)
    model.compile(loss="mse", optimizer="nadam", metrics=["mae"])
    model.fit(X_train, y_train, epochs=epochs, validation_data=(X_valid, y_valid), verbose=0)
    path = os.path.join(folder, f"my_model_with_{title}.keras")
    model.save(path)
    reloaded = keras.models.load_model(
        path, custom_objects=CLASSES if with_classes else FUNCTIONS)
    kernel = model.layers[-1].kernel.numpy()
    same = np.allclose(model.predict(X_test, verbose=0), reloaded.predict(X_test, verbose=0))
    print(f"== {title} ==")
    print(f"  smallest output-layer weight after training: {kernel.min():.4f}")
    print(f"  regularization loss: {float(sum(model.losses)):.4f} "
          f"(= {float(my_l1_regularizer(kernel)):.4f} by hand)")
    print(f"  same predictions after reloading: {same}")
    return reloaded


def main(argv=None):
    parser = make_parser(__doc__)
    add_out_flag(parser)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(42)
    data = load_housing(300 if args.small else 5000)
    epochs = 1 if args.small else 5
    z = tf.constant([-3.0, 0.0, 3.0])
    print(f"my_softplus(-3, 0, 3) = {np.asarray(my_softplus(z)).round(4)}, "
          f"built-in softplus: {np.asarray(keras.activations.softplus(z)).round(4)}")
    with output_folder(args.out) as folder:
        run("functions", False, data, epochs, folder)
        reloaded = run("subclasses", True, data, epochs, folder)
    output = reloaded.layers[-1]
    print("reloaded hyperparameters: "
          f"sharpness={output.activation.sharpness}, "
          f"scale={output.kernel_initializer.scale}, "
          f"factor={output.kernel_regularizer.factor}, "
          f"minimum={output.kernel_constraint.minimum}")


if __name__ == "__main__":
    main()
