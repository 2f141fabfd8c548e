"""Custom losses, and saving and loading models that use them (Chapter 12, "Custom Loss Functions").

Three ways to write the Huber loss, each trained, saved to a .keras file and loaded back:
a plain function, a function made by `create_huber(threshold)` (the threshold is not saved,
so loading must supply the same one), and a `keras.losses.Loss` subclass whose `get_config`
saves the threshold with the model.

    python examples/custom_losses.py [--small] [--out DIR]
"""

import os

import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import add_out_flag, load_housing, make_parser, output_folder


def huber_fn(y_true, y_pred):
    error = y_true - y_pred
    is_small_error = tf.abs(error) < 1
    squared_loss = tf.square(error) / 2
    linear_loss = tf.abs(error) - 0.5
    return tf.where(is_small_error, squared_loss, linear_loss)


def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < threshold
        squared_loss = tf.square(error) / 2
        linear_loss = threshold * tf.abs(error) - threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)
    return huber_fn


class HuberLoss(keras.losses.Loss):
    def __init__(self, threshold=1.0, **kwargs):
        self.threshold = threshold
        super().__init__(**kwargs)

    def call(self, y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < self.threshold
        squared_loss = tf.square(error) / 2
        linear_loss = self.threshold * tf.abs(error) - self.threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


def build_model():
    return keras.models.Sequential([
        keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal",
                           input_shape=[8]),
        keras.layers.Dense(1),
    ])


def train_save_reload(title, loss, custom_objects, data, epochs, folder):
    """Trains with `loss`, saves, reloads with `custom_objects`; returns the reloaded model."""
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = data
    model = build_model()
    model.compile(loss=loss, optimizer="nadam", metrics=["mae"])
    model.fit(X_train, y_train, epochs=epochs, validation_data=(X_valid, y_valid), verbose=0)
    path = os.path.join(folder, f"my_model_with_{title}.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects=custom_objects)
    y_pred = model.predict(X_test, verbose=0)
    same = np.allclose(y_pred, reloaded.predict(X_test, verbose=0))
    # The reloaded model's loss, applied to the same predictions, must give the same number.
    before = np.mean(model.loss(y_test, y_pred))
    after = np.mean(reloaded.loss(y_test, y_pred))
    print(f"{title:>16}: test loss {before:.4f}, reloaded loss {after:.4f}, "
          f"same predictions after reloading: {same}")
    return reloaded


def main(argv=None):
    parser = make_parser(__doc__)
    add_out_flag(parser)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(42)
    data = load_housing(300 if args.small else 5000)
    epochs = 1 if args.small else 5

    print("huber_fn at 0 and 3 (errors 0.5 and 3.0):",
          huber_fn(tf.constant([0.0, 0.0]), tf.constant([0.5, 3.0])).tolist())
    with output_folder(args.out) as folder:
        train_save_reload("a_function", huber_fn, {"huber_fn": huber_fn}, data, epochs, folder)
        # The closure is saved by name only ("huber_fn"): loading must rebuild it with the
        # same threshold, or the reloaded model would silently train with another loss.
        train_save_reload("a_closure", create_huber(2.0), {"huber_fn": create_huber(2.0)},
                          data, epochs, folder)
        reloaded = train_save_reload("a_loss_class", HuberLoss(2.0), {"HuberLoss": HuberLoss},
                                     data, epochs, folder)
        print(f"the reloaded HuberLoss kept its threshold: {reloaded.loss.threshold}")
        try:
            keras.models.load_model(os.path.join(folder, "my_model_with_a_function.keras"))
        except Exception as error:  # without custom_objects, loading must say what is missing
            print(f"loading without custom_objects fails: {type(error).__name__}")


if __name__ == "__main__":
    main()
