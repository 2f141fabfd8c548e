"""Custom metrics and streaming metrics (Chapter 12, "Custom Metrics" and "Streaming metrics").

A function used as a metric is averaged over the batches of an epoch. That is wrong for a
metric such as precision, which needs running counts: keras.metrics.Precision keeps them in
Variables, and a subclass of keras.metrics.Metric can do the same with add_weight. The script
shows the book's Precision numbers (0.8, then 0.5), a HuberMetric fed batch by batch, and both
kinds of metric used in training, then saved and reloaded.

    python examples/custom_metrics.py [--small] [--out DIR]
"""

import os

import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import add_out_flag, load_housing, make_parser, output_folder


def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < threshold
        squared_loss = tf.square(error) / 2
        linear_loss = threshold * tf.abs(error) - threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)
    return huber_fn


class HuberMetric(keras.metrics.Metric):
    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)  # handles base args (e.g., dtype)
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


def precision_demo():
    print("== a streaming metric: keras.metrics.Precision ==")
    precision = keras.metrics.Precision()
    first = precision([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1])
    second = precision([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])
    print(f"  after batch 1: {float(first):.2f} (4 of 5 positives right)")
    print(f"  after batch 2: {float(second):.2f} (4 of 8 overall; the mean of the two "
          "batches' precisions would be 0.40)")
    print(f"  result(): {float(precision.result()):.2f}")
    for variable in precision.variables:
        print(f"  {variable.name}: {variable.numpy()}")
    precision.reset_state()  # the book's reset_states() works too
    print(f"  after reset_state(): {[float(v.numpy()[0]) for v in precision.variables]}")


def huber_metric_demo():
    print("== a custom streaming metric: HuberMetric(2.0) ==")
    metric = HuberMetric(2.0)
    # error 8: 2 * 8 - 2**2 / 2 = 14
    print(f"  after one instance: {float(metric(tf.constant([[2.0]]), tf.constant([[10.0]]))):.2f}")
    # errors 1 and 4.25: 0.5 and 2 * 4.25 - 2 = 6.5; mean over the three instances (14 + 7) / 3
    value = metric(tf.constant([[0.0], [5.0]]), tf.constant([[1.0], [9.25]]))
    print(f"  after three instances: {float(value):.2f}")
    print(f"  total={float(metric.total.numpy()):.2f}, count={float(metric.count.numpy()):.0f}")
    metric.reset_state()
    print(f"  after reset_state(): total={float(metric.total.numpy()):.1f}")


def training_demo(small, folder):
    print("== metrics in training ==")
    (X_train, y_train), (X_valid, y_valid), (X_test, y_test) = load_housing(
        300 if small else 5000)
    model = keras.models.Sequential([
        keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal",
                           input_shape=[8]),
        keras.layers.Dense(1),
    ])
    # The same Huber function twice: as a function metric and as a streaming metric. Keras 3
    # (and lamina) average a function metric weighted by batch size, so the two agree; the
    # book's older Keras averaged batch means, which differ slightly with a short last batch.
    model.compile(loss=create_huber(2.0), optimizer="nadam",
                  metrics=[create_huber(2.0), HuberMetric(2.0, name="huber_metric")])
    history = model.fit(X_train, y_train, epochs=1 if small else 3, batch_size=32,
                        validation_data=(X_valid, y_valid), verbose=0)
    for key, values in history.history.items():
        print(f"  {key}: {values[-1]:.4f}")
    path = os.path.join(folder, "my_model_with_a_custom_metric.keras")
    model.save(path)
    reloaded = keras.models.load_model(
        path, custom_objects={"huber_fn": create_huber(2.0), "HuberMetric": HuberMetric})
    scores = reloaded.evaluate(X_test, y_test, verbose=0, return_dict=True)
    by_hand = np.mean(create_huber(2.0)(y_test, model.predict(X_test, verbose=0)))
    print(f"  reloaded model's test HuberMetric: {scores['huber_metric']:.4f} "
          f"(by hand: {by_hand:.4f})")


def main(argv=None):
    parser = make_parser(__doc__)
    add_out_flag(parser)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(42)
    precision_demo()
    huber_metric_demo()
    with output_folder(args.out) as folder:
        training_demo(args.small, folder)


if __name__ == "__main__":
    main()
