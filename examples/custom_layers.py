"""Custom layers (Chapter 12, "Custom Layers").

Four kinds, each used in a model: a layer without weights (a Lambda around keras.ops.exp), a
layer with weights (MyDense: build, add_weight, call, compute_output_shape, get_config; saved
and reloaded), a layer with two inputs and three outputs (MyMultiLayer), and a layer that acts
differently in training and inference (MyGaussianNoise).

    python examples/custom_layers.py [--small] [--out DIR]
"""

import os

import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import add_out_flag, load_housing, make_parser, output_folder


class MyDense(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=[batch_input_shape[-1], self.units],
            initializer="glorot_normal")
        self.bias = self.add_weight(
            name="bias", shape=[self.units], initializer="zeros")
        super().build(batch_input_shape)  # must be at the end

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def compute_output_shape(self, batch_input_shape):
        return tf.TensorShape(batch_input_shape.as_list()[:-1] + [self.units])

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


class MyMultiLayer(keras.layers.Layer):
    def call(self, X):
        X1, X2 = X
        return [X1 + X2, X1 * X2, X1 / X2]

    def compute_output_shape(self, batch_input_shape):
        b1, b2 = batch_input_shape
        return [b1, b1, b1]  # should probably handle broadcasting rules


class MyGaussianNoise(keras.layers.Layer):
    def __init__(self, stddev, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev

    def call(self, X, training=None):
        if training:
            noise = tf.random.normal(tf.shape(X), stddev=self.stddev)
            return X + noise
        else:
            return X

    def compute_output_shape(self, batch_input_shape):
        return batch_input_shape

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


def fit_and_report(title, model, data, epochs):
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = data
    model.compile(loss="mse", optimizer="sgd")
    model.fit(X_train, y_train, epochs=epochs, validation_data=(X_valid, y_valid), verbose=0)
    print(f"  {title}: test MSE {model.evaluate(X_test, y_test, verbose=0):.4f}")
    return model


def weightless_layer(data, epochs):
    print("== a layer without weights: Lambda(keras.ops.exp) ==")
    # The book writes Lambda(lambda x: tf.exp(x)); a named function can also be saved.
    exponential_layer = keras.layers.Lambda(keras.ops.exp)
    print(f"  exp(-1, 0, 1) = {np.asarray(exponential_layer(np.array([-1., 0., 1.]))).round(4)}")
    # An exponential output layer suits targets of very different scales; here, positive ones.
    model = keras.models.Sequential([
        keras.layers.Dense(30, activation="relu", input_shape=[8]),
        keras.layers.Dense(1),
        exponential_layer,
    ])
    fit_and_report("Dense -> Dense -> exp", model, data, epochs)


def stateful_layer(data, epochs, folder):
    print("== a layer with weights: MyDense ==")
    model = keras.models.Sequential([
        keras.Input(shape=[8]),
        MyDense(30, activation="relu"),
        MyDense(1),
    ])
    print(f"  weights of the first MyDense: "
          f"{[(w.name, tuple(w.shape)) for w in model.layers[0].weights]}")
    print(f"  its output shape for a batch of (None, 8): "
          f"{model.layers[0].compute_output_shape(tf.TensorShape([None, 8]))}")
    fit_and_report("MyDense -> MyDense", model, data, epochs)
    path = os.path.join(folder, "my_model_with_a_custom_layer.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects={"MyDense": MyDense})
    X_test = data[2][0]
    same = np.allclose(model.predict(X_test, verbose=0), reloaded.predict(X_test, verbose=0))
    print(f"  reloaded: units={reloaded.layers[0].units}, same predictions: {same}")


def multi_io_layer():
    print("== two inputs, three outputs: MyMultiLayer ==")
    inputs1 = keras.layers.Input(shape=[2])
    inputs2 = keras.layers.Input(shape=[2])
    outputs1, outputs2, outputs3 = MyMultiLayer()((inputs1, inputs2))
    model = keras.Model([inputs1, inputs2], [outputs1, outputs2, outputs3])
    print(f"  symbolic output shapes: {[tuple(o.shape) for o in model.outputs]}")
    X1, X2 = np.array([[1.0, 2.0]]), np.array([[4.0, 8.0]])
    for name, value in zip(("sum", "product", "ratio"), model.predict([X1, X2], verbose=0)):
        print(f"  {name}: {value.tolist()}")


def training_dependent_layer(data, epochs):
    print("== different in training and inference: MyGaussianNoise ==")
    keras.utils.set_random_seed(0)
    noise = MyGaussianNoise(stddev=1.0)
    x = np.zeros((1000, 1), np.float32)
    print(f"  std of the output, training=True: {np.std(noise(x, training=True)):.2f}; "
          f"training=False: {np.std(noise(x, training=False)):.2f}")
    model = keras.models.Sequential([
        keras.Input(shape=[8]),
        MyGaussianNoise(stddev=0.1),  # fit passes training=True, evaluate and predict False
        keras.layers.Dense(30, activation="relu"),
        keras.layers.Dense(1),
    ])
    fit_and_report("noise -> Dense -> Dense", model, data, epochs)


def main(argv=None):
    parser = make_parser(__doc__)
    add_out_flag(parser)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(42)
    data = load_housing(300 if args.small else 5000)
    epochs = 1 if args.small else 5
    weightless_layer(data, epochs)
    with output_folder(args.out) as folder:
        stateful_layer(data, epochs, folder)
    multi_io_layer()
    training_dependent_layer(data, epochs)


if __name__ == "__main__":
    main()
