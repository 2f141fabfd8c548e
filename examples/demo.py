"""lamina's demo: the book's custom components training on real data, saved and reloaded.

Data: scikit-learn's bundled diabetes regression set and 8x8 digits images (shipped with the
package; nothing is downloaded). The demo shows a model summary, live progress bars, a custom
loss, a streaming custom metric, a custom layer, a regularizer and a constraint at work, saves
each model, reloads it, checks that predictions agree, reports test error / accuracy, and
writes learning curves as a PNG.

Every output is written to a temporary file in the output folder and renamed into place when
complete, so a second run replaces the first run's files whole, and Ctrl-C (exit code 130) or a
failure never leaves a half-written file. An output folder that cannot be written is reported
before any training, with how to choose another (exit code 73).

    bash scripts/demo.sh            # or: python examples/demo.py [--out DIR] [--epochs N] [--small]
"""

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time

import numpy as np

import lamina as keras
from lamina.compat import tf


# --- the book's custom components (Chapter 12), imports aside -------------------------------
@keras.saving.register_keras_serializable(package="demo")
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
        return {**super().get_config(), "threshold": self.threshold}


def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < threshold
        squared_loss = tf.square(error) / 2
        linear_loss = threshold * tf.abs(error) - threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)
    return huber_fn


@keras.saving.register_keras_serializable(package="demo")
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
        return {**super().get_config(), "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="demo")
class MyL1Regularizer(keras.regularizers.Regularizer):
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, weights):
        return tf.reduce_sum(tf.abs(self.factor * weights))

    def get_config(self):
        return {"factor": self.factor}


@keras.saving.register_keras_serializable(package="demo")
def my_positive_weights(weights):
    return tf.where(weights < 0., tf.zeros_like(weights), weights)


@keras.saving.register_keras_serializable(package="demo")
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

    def compute_output_shape(self, batch_input_shape):
        return tf.TensorShape(batch_input_shape.as_list()[:-1] + [self.units])

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


# --- data ------------------------------------------------------------------------------------
def split(x, y, seed=42, test_fraction=0.2):
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(len(x) * (1 - test_fraction))
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


def load_data():
    try:
        from sklearn.datasets import load_diabetes, load_digits
    except ImportError:
        sys.exit("The demo needs scikit-learn's bundled datasets: pip install 'lamina[examples]'")
    diabetes = load_diabetes()
    x = diabetes.data.astype(np.float32)
    x = (x - x.mean(0)) / x.std(0)
    y = diabetes.target.astype(np.float32)[:, None]
    y = (y - y.mean()) / y.std()
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    return split(x, y), split(images, digits.target.astype(np.int32))


# --- the two models ---------------------------------------------------------------------------
def regression_model(n_features):
    inputs = keras.Input(shape=(n_features,), name="features")
    hidden = MyDense(32, activation="selu", name="my_dense")(inputs)
    hidden = keras.layers.Dense(16, activation="selu", kernel_initializer="lecun_normal",
                                kernel_regularizer=MyL1Regularizer(1e-3),
                                kernel_constraint=my_positive_weights, name="constrained")(hidden)
    outputs = keras.layers.Dense(1, name="prediction")(hidden)
    model = keras.Model(inputs, outputs, name="diabetes_regressor")
    model.compile(loss=HuberLoss(2.0), optimizer="nadam",
                  metrics=[HuberMetric(2.0, name="huber"), "mae"])
    return model


def digits_model():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ], name="digits_classifier")
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


def train_save_reload(model, train, test, epochs, out_dir, verbose):
    model.summary()
    history = model.fit(*train, validation_split=0.1, epochs=epochs, batch_size=32,
                        verbose=verbose)
    scores = model.evaluate(*test, verbose=0, return_dict=True)
    path = os.path.join(out_dir, f"{model.name}.keras")
    with reporting_output_errors(out_dir):
        model.save(path)
    reloaded = keras.models.load_model(path)
    before = model.predict(test[0], verbose=0)
    after = reloaded.predict(test[0], verbose=0)
    if not np.allclose(before, after, atol=1e-5):
        sys.exit(f"demo failed: {model.name} predicts differently after reloading")
    return history.history, scores, path


class OutputError(Exception):
    """An output file could not be written; the message says where and how to fix it."""


@contextlib.contextmanager
def reporting_output_errors(out_dir):
    """Turns an OSError from writing an output into an OutputError with a full explanation
    (other OSErrors, such as a closed stdout, are not about the output folder)."""
    try:
        yield
    except OSError as error:
        raise OutputError(unwritable_folder_message(out_dir, error).replace(
            "Nothing was written.", "Files already written are complete.")) from error


def write_atomically(path, data):
    """Writes `data` (bytes) to `path` through a temporary file in the same folder and one
    rename, so that `path` is always either the old complete file or the new one."""
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp",
                                         dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def plot(histories, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(histories), figsize=(5 * len(histories), 3.5))
    for axis, (title, history) in zip(np.atleast_1d(axes), histories.items()):
        for key, values in history.items():
            axis.plot(range(1, len(values) + 1), values, label=key)
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.legend(fontsize=7)
    figure.tight_layout()
    image = io.BytesIO()  # rendered in memory, so the file itself is written in one go
    figure.savefig(image, format="png", dpi=100)
    plt.close(figure)
    path = os.path.join(out_dir, "learning_curves.png")
    with reporting_output_errors(out_dir):
        write_atomically(path, image.getvalue())
    return path


OUTPUT_NAMES = ("diabetes_regressor.keras", "digits_classifier.keras", "learning_curves.png")


def unwritable_folder_message(out_dir, error):
    reason = error.strerror or str(error)
    return (
        f"The demo cannot write its outputs (two .keras models and a PNG plot) to the folder "
        f"{os.path.abspath(out_dir)!r}: {reason}"
        f"{f' ({error.filename})' if error.filename else ''}. It needs a folder it can "
        "create files in. Make that folder writable, or choose another one with "
        "--out DIR, e.g. `bash scripts/demo.sh --out /tmp/lamina-demo`. Nothing was written.")


def check_writable(out_dir):
    """Creates `out_dir` if needed and proves that a file can be created in it, so that a
    read-only folder is reported before minutes of training, not after."""
    os.makedirs(out_dir, exist_ok=True)
    handle, probe = tempfile.mkstemp(prefix=".write_test.", dir=out_dir)
    os.close(handle)
    os.remove(probe)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="out", help="folder for the models and the plot")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--small", action="store_true",
                        help="one epoch per model (a smoke test of the whole pipeline)")
    parser.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1; received {args.epochs}.")
    return args


def main(argv=None):
    args = parse_args(argv)
    # Piped (`demo.sh | tee log`), stdout would hold whole blocks back; show each line live.
    sys.stdout.reconfigure(line_buffering=True)
    try:
        check_writable(args.out)
    except OSError as error:
        print(unwritable_folder_message(args.out, error), file=sys.stderr)
        return 73  # EX_CANTCREAT, from sysexits.h
    earlier = [name for name in OUTPUT_NAMES if os.path.exists(os.path.join(args.out, name))]
    if earlier:
        print(f"{os.path.abspath(args.out)} holds outputs of an earlier run "
              f"({', '.join(earlier)}); each is replaced once its new version is complete.")
    regression_epochs = 1 if args.small else args.epochs
    digits_epochs = 1 if args.small else max(5, args.epochs // 3)
    keras.utils.set_random_seed(42)
    start = time.perf_counter()
    try:
        (regression_train, regression_test), (digits_train, digits_test) = load_data()
        print("== Diabetes regression: custom layer, loss, metric, regularizer, constraint ==")
        reg_history, reg_scores, reg_path = train_save_reload(
            regression_model(regression_train[0].shape[1]), regression_train,
            regression_test, regression_epochs, args.out, args.verbose)
        print("\n== Digits classification: a small CNN ==")
        dig_history, dig_scores, dig_path = train_save_reload(
            digits_model(), digits_train, digits_test, digits_epochs, args.out, args.verbose)
        curves = plot({"diabetes regression": reg_history, "digits CNN": dig_history},
                      args.out)
    except KeyboardInterrupt:
        done = [name for name in OUTPUT_NAMES if os.path.exists(os.path.join(args.out, name))]
        print(f"\nInterrupted (Ctrl-C). Nothing was left half-written in "
              f"{os.path.abspath(args.out)}: every file is written whole or not at all"
              f"{'; complete: ' + ', '.join(done) if done else ''}. Run again to finish.",
              file=sys.stderr)
        return 130
    except OutputError as error:  # the folder stopped being writable, or the disk is full
        print(error, file=sys.stderr)
        return 73
    print("\n== Results ==")
    print(f"  diabetes test MAE (standardized target): {reg_scores['mae']:.3f}, "
          f"Huber: {reg_scores['huber']:.3f}")
    print(f"  digits test accuracy: {dig_scores['accuracy']:.3f}")
    print("  reloaded models predict exactly as the originals")
    print(f"  outputs in {os.path.abspath(args.out)}:")
    for path in (reg_path, dig_path, curves):
        print(f"    {os.path.basename(path)}")
    print(f"  total time: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
