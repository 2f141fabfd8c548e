"""Writes the book's legacy `.h5` files with tf.keras 2 (the `tf-keras` package), for
tests/saving/test_legacy_h5.py.

Run as a script, in a subprocess (TensorFlow never enters the pytest process):

    python tests/saving/_tf_keras_files.py OUTPUT_FOLDER

It trains the models of the book's chapters 10-12 for a few steps on fixed data and writes,
in OUTPUT_FOLDER: the whole-model files `model.save("NAME.h5")`, weights files
`save_weights("NAME.h5")`, and `expected.npz` holding the data, tf-keras's predictions for the
saved state, and the losses and metrics of one more epoch of training from that state
(`shuffle=False`), as the saved model goes on training without being reloaded.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["TF_USE_LEGACY_KERAS"] = "1"

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402


# ------------------------------------------------------------- the book's custom objects (ch 12)
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
        return create_huber(self.threshold)(y_true, y_pred)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


class HuberMetric(keras.metrics.Metric):
    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.huber_fn = create_huber(threshold)
        self.total = self.add_weight("total", initializer="zeros")
        self.count = self.add_weight("count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        metric = self.huber_fn(y_true, y_pred)
        self.total.assign_add(tf.reduce_sum(metric))
        self.count.assign_add(tf.cast(tf.size(y_true), tf.float32))

    def result(self):
        return self.total / self.count

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


class MyDense(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=[batch_input_shape[-1], self.units],
            initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")
        super().build(batch_input_shape)

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


class WideAndDeepModel(keras.Model):
    def __init__(self, units=30, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.norm_layer_wide = keras.layers.Normalization()
        self.norm_layer_deep = keras.layers.Normalization()
        self.hidden1 = keras.layers.Dense(units, activation=activation)
        self.hidden2 = keras.layers.Dense(units, activation=activation)
        self.main_output = keras.layers.Dense(1)
        self.aux_output = keras.layers.Dense(1)

    def call(self, inputs):
        input_wide, input_deep = inputs
        norm_wide = self.norm_layer_wide(input_wide)
        norm_deep = self.norm_layer_deep(input_deep)
        hidden1 = self.hidden1(norm_deep)
        hidden2 = self.hidden2(hidden1)
        concat = keras.layers.concatenate([norm_wide, hidden2])
        return self.main_output(concat), self.aux_output(hidden2)


# -------------------------------------------------------------------------------------- models
def main(folder):
    os.makedirs(folder, exist_ok=True)
    keras.utils.set_random_seed(42)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8)).astype("float32")
    y = (x @ rng.normal(size=(8, 1)) + 0.1 * rng.normal(size=(64, 1))).astype("float32")
    x_new = x[:5]
    expected = {"x": x, "y": y}

    def record(name, model, inputs, train_inputs):
        """tf-keras's predictions for the saved state, then the losses (and metrics) of one
        more epoch of training from it, in order (`shuffle=False`)."""
        expected[f"{name}/predict"] = np.asarray(model.predict(inputs, verbose=0))
        history = model.fit(train_inputs, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        for key, values in history.history.items():
            expected[f"{name}/next_{key}"] = np.asarray(values)

    # Chapter 10: the regression MLP (Sequential), whole model and weights alone.
    model = keras.Sequential([
        keras.layers.Dense(30, activation="relu", input_shape=[8]),
        keras.layers.Dense(1),
    ])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=1e-2),
                  metrics=["RootMeanSquaredError"])
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    model.save(os.path.join(folder, "sequential.h5"))
    model.save_weights(os.path.join(folder, "sequential_weights.h5"))
    record("sequential", model, x_new, x)

    # Chapter 10: wide and deep, two inputs (functional), Normalization adapted to the data.
    input_wide = keras.layers.Input(shape=[5], name="input_wide")
    input_deep = keras.layers.Input(shape=[6], name="input_deep")
    norm_layer_wide = keras.layers.Normalization(name="norm_wide")
    norm_layer_deep = keras.layers.Normalization(name="norm_deep")
    norm_wide = norm_layer_wide(input_wide)
    norm_deep = norm_layer_deep(input_deep)
    hidden1 = keras.layers.Dense(30, activation="relu")(norm_deep)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    concat = keras.layers.concatenate([norm_wide, hidden2])
    output = keras.layers.Dense(1, name="output")(concat)
    model = keras.Model(inputs=[input_wide, input_deep], outputs=[output])
    x_wide, x_deep = x[:, :5], x[:, 2:]
    norm_layer_wide.adapt(x_wide)
    norm_layer_deep.adapt(x_deep)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  metrics=["RootMeanSquaredError"])
    model.fit((x_wide, x_deep), y, batch_size=16, epochs=2, verbose=0)
    model.save(os.path.join(folder, "wide_deep.h5"))
    record("wide_deep", model, (x_wide[:5], x_deep[:5]), (x_wide, x_deep))

    # Chapter 10: the subclassed wide and deep model: its weights alone (HDF5).
    model = WideAndDeepModel(30, activation="relu", name="my_cool_model")
    model.norm_layer_wide.adapt(x_wide)
    model.norm_layer_deep.adapt(x_deep)
    model.compile(loss="mse", loss_weights=[0.9, 0.1], optimizer="adam")
    model.fit((x_wide, x_deep), (y, y), batch_size=16, epochs=1, verbose=0)
    model.save_weights(os.path.join(folder, "subclassed.h5"))
    main_out, aux_out = model.predict((x_wide[:5], x_deep[:5]), verbose=0)
    expected["subclassed/predict"] = np.asarray(main_out)
    expected["subclassed/predict_aux"] = np.asarray(aux_out)

    # Chapter 12: a custom loss with a threshold (a Loss subclass with get_config).
    model = keras.Sequential([
        keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal",
                           input_shape=[8]),
        keras.layers.Dense(1),
    ])
    model.compile(loss=HuberLoss(2.0), optimizer="nadam", metrics=["mae"])
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    model.save(os.path.join(folder, "huber_loss.h5"))
    record("huber_loss", model, x_new, x)

    # Chapter 12: a custom layer (MyDense), a custom metric (HuberMetric) and a loss function.
    model = keras.Sequential([
        MyDense(30, activation="relu", input_shape=[8], name="my_dense"),
        keras.layers.Dense(1),
    ])
    # TensorFlow < 2.11's optimizers (the book's era) name their slots `SGD/dense/kernel/momentum`.
    model.compile(loss=create_huber(2.0), metrics=[HuberMetric(2.0)],
                  optimizer=keras.optimizers.legacy.SGD(learning_rate=0.01, momentum=0.9))
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    model.save(os.path.join(folder, "custom_layer_metric.h5"))
    record("custom_layer_metric", model, x_new, x)

    # Chapter 11: the layers of deep networks (batch norm, leaky/parametric ReLU, SELU with
    # LeCun init, alpha dropout, max-norm, l2, Nesterov momentum), plus separable and depthwise
    # convolutions and recurrent layers, whose tf.keras 2 configs carry arguments Keras 3 dropped.
    layers = keras.layers
    model = keras.Sequential([
        layers.Reshape([8, 1], input_shape=[8]),
        layers.Conv1D(4, 3, padding="causal"), layers.SeparableConv1D(4, 2, padding="same"),
        layers.DepthwiseConv1D(2), layers.LSTM(4, return_sequences=True),
        layers.Bidirectional(layers.GRU(3)),
        layers.BatchNormalization(), layers.LeakyReLU(alpha=0.2),
        layers.Dense(6, kernel_initializer="he_normal", kernel_regularizer=keras.regularizers.l2(0.01),
                     kernel_constraint=keras.constraints.max_norm(1.0)),
        layers.PReLU(), layers.Dense(6, activation="selu", kernel_initializer="lecun_normal"),
        layers.AlphaDropout(0.1), layers.Dropout(0.2), layers.Dense(1),
    ])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9,
                                                             nesterov=True))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.save(os.path.join(folder, "deep_layers.h5"))
    expected["deep_layers/predict"] = np.asarray(model.predict(x_new, verbose=0))

    # Models inside a functional model: a Sequential called twice and a functional model, one
    # of whose outputs is the model's (tf.keras 2 numbers their calls from 1).
    inner = keras.Sequential([keras.layers.Dense(4, activation="relu", input_shape=[8]),
                              keras.layers.Dense(2)], name="inner_sequential")
    inner_input = keras.layers.Input(shape=[2])
    inner_functional = keras.Model(inner_input, keras.layers.Dense(2)(inner_input),
                                   name="inner_functional")
    inputs = keras.layers.Input(shape=[8], name="features")
    first = inner_functional(inner(inputs))
    added = keras.layers.Add()([first, inner(inputs)])
    model = keras.Model(inputs, [added, first])
    model.save(os.path.join(folder, "nested.h5"))
    added, first = model.predict(x_new, verbose=0)
    expected["nested/predict"], expected["nested/predict_inner"] = added, first

    np.savez(os.path.join(folder, "expected.npz"), **expected)


if __name__ == "__main__":
    main(sys.argv[1])
