"""`fit` and `evaluate` give the numbers a hand computation gives: SGD on a linear model, the
partial last batch counted with its true size, sample and class weights, validation split,
shuffling and seeds, steps per program, eager mode."""

import numpy as np

import lamina
from lamina.training import loops

from .conftest import assert_weights_equal, numpy_sgd_linear_epoch, regression_data

LR = 0.1


def _fit(model, x, y, **kwargs):
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("shuffle", False)
    return model.fit(x, y, **kwargs)


def test_one_epoch_of_sgd_matches_numpy_with_partial_last_batch(linear):
    model = linear.restore()
    x, y = regression_data(10)  # batches of 4, 4 and 2
    w0, b0 = model.get_weights()
    history = _fit(model, x, y, epochs=2)
    w, b, loss1 = numpy_sgd_linear_epoch(w0, b0, x, y, 4, LR)
    w, b, loss2 = numpy_sgd_linear_epoch(w, b, x, y, 4, LR)
    assert_weights_equal(model.get_weights(), [w, b], rtol=1e-5, atol=1e-6)
    # The loss is the mean over batches weighted by their sizes (4, 4, 2), not the plain
    # mean of the three batch losses.
    np.testing.assert_allclose(history.history["loss"], [loss1, loss2], rtol=1e-5)
    assert history.epoch == [0, 1]
    assert sorted(history.history) == ["loss", "mae", "weighted_mae"]
    assert int(model.optimizer.iterations.numpy()) == 6


def test_evaluate_matches_numpy_and_return_forms(linear):
    model = linear.restore()
    x, y = regression_data(10)
    w, b = model.get_weights()
    error = x.astype(np.float64) @ w + b - y
    expected = {"loss": np.mean(error ** 2), "mae": np.mean(np.abs(error)),
                "weighted_mae": np.mean(np.abs(error))}
    as_list = model.evaluate(x, y, batch_size=4, verbose=0)
    as_dict = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    np.testing.assert_allclose(as_list, [expected["loss"], expected["mae"],
                                         expected["weighted_mae"]], rtol=1e-5)
    assert sorted(as_dict) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(as_dict[key], value, rtol=1e-5)
    assert isinstance(as_dict["loss"], float)
    assert_weights_equal(model.get_weights(), [w, b])  # evaluate changes no weight


def test_sample_weight_weighs_loss_and_weighted_metrics_only(linear):
    model = linear.restore()
    x, y = regression_data(10)
    weights = np.linspace(0.0, 2.0, 10).astype("float32")
    w0, b0 = model.get_weights()
    error = x.astype(np.float64) @ w0 + b0 - y
    logs = model.evaluate(x, y, sample_weight=weights, batch_size=4, verbose=0,
                          return_dict=True)
    # Loss: Keras's "sum_over_batch_size" divides the weighted sum by the batch size; the
    # tracker weighs batches by size, so the epoch value is sum(w * e^2) / N.
    np.testing.assert_allclose(logs["loss"], np.sum(weights * error[:, 0] ** 2) / 10, rtol=1e-5)
    # `metrics` ignore sample weights, `weighted_metrics` use them: sum(w|e|) / sum(w).
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(error)), rtol=1e-5)
    np.testing.assert_allclose(logs["weighted_mae"],
                               np.sum(weights * np.abs(error[:, 0])) / weights.sum(), rtol=1e-5)
    history = _fit(model, x, y, sample_weight=weights)
    w, b, loss = numpy_sgd_linear_epoch(w0, b0, x, y, 4, LR, sample_weight=weights)
    assert_weights_equal(model.get_weights(), [w, b], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"], [loss], rtol=1e-5)


def test_class_weight_equals_the_matching_sample_weight(linear):
    x, _ = regression_data(10)
    labels = (np.arange(10) % 3 == 0).astype("float32")[:, None]
    class_weight = {0: 0.5, 1: 3.0}
    as_sample_weight = np.where(labels[:, 0] == 1, 3.0, 0.5).astype("float32")
    results = []
    for kwargs in ({"class_weight": class_weight}, {"sample_weight": as_sample_weight}):
        model = linear.restore()
        history = _fit(model, x, labels, epochs=2, **kwargs)
        results.append((model.get_weights(), history.history))
    assert_weights_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]


def test_validation_split_takes_the_last_fraction_before_shuffling(linear):
    model = linear.restore()
    x, y = regression_data(10)
    w0, b0 = model.get_weights()
    history = _fit(model, x, y, validation_split=0.3, shuffle=False)
    w, b, loss = numpy_sgd_linear_epoch(w0, b0, x[:7], y[:7], 4, LR)
    assert_weights_equal(model.get_weights(), [w, b], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"], [loss], rtol=1e-5)
    expected = model.evaluate(x[7:], y[7:], verbose=0, return_dict=True)
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae",
                                       "val_weighted_mae", "weighted_mae"]
    for key, value in expected.items():
        np.testing.assert_allclose(history.history[f"val_{key}"], [value], rtol=1e-6)
    # With shuffling, the validation rows are still the last three.
    model = linear.restore()
    history = _fit(model, x, y, validation_split=0.3, shuffle=True)
    np.testing.assert_allclose(history.history["val_loss"],
                               [model.evaluate(x[7:], y[7:], verbose=0)[0]], rtol=1e-6)


def test_shuffle_false_and_seeded_shuffles_reproduce(linear):
    x, y = regression_data(10)
    runs = []
    for shuffle, seed in ((False, 1), (False, 2), (True, 5), (True, 5), (True, 6)):
        model = linear.restore()
        lamina.utils.set_random_seed(seed)
        history = _fit(model, x, y, epochs=2, shuffle=shuffle)
        runs.append((model.get_weights(), history.history["loss"]))
    assert_weights_equal(runs[0][0], runs[1][0])  # no shuffle: the seed does not matter
    assert runs[0][1] == runs[1][1]
    assert_weights_equal(runs[2][0], runs[3][0])  # same seed, same order
    assert runs[2][1] == runs[3][1]
    assert not np.allclose(runs[2][0][0], runs[4][0][0])  # another seed, another order
    assert not np.allclose(runs[0][0][0], runs[2][0][0])


def test_steps_per_execution_and_run_eagerly_give_the_same_result(linear):
    x, y = regression_data(10)
    results = {}
    for label, attributes in (("auto", {}), ("one", {"steps_per_execution": 1}),
                              ("three", {"steps_per_execution": 3}),
                              ("eager", {"run_eagerly": True})):
        model = linear.restore()
        for name, value in attributes.items():
            setattr(model, name, value)
        try:
            history = _fit(model, x, y, epochs=2, validation_data=(x[:4], y[:4]))
        finally:
            model.steps_per_execution, model.run_eagerly = "auto", False
        results[label] = (model.get_weights(), history.history)
    reference_weights, reference_history = results["auto"]
    for label, (weights, history) in results.items():
        assert_weights_equal(weights, reference_weights, rtol=1e-6, atol=1e-7)
        assert sorted(history) == sorted(reference_history)
        for key in history:
            np.testing.assert_allclose(history[key], reference_history[key], rtol=1e-5,
                                       err_msg=f"{label}: {key}")


def test_epochs_reuse_compiled_programs(linear):
    """The partial last batch and later epochs run programs compiled once."""
    model = linear.restore()
    x, y = regression_data(10)
    _fit(model, x, y)
    sizes = {key: (programs._single._cache_size(), programs._gather._cache_size(),
                   {count: p._cache_size() for count, p in programs._collects.items()})
             for key, programs in model._programs.items()}
    _fit(model, x, y, epochs=3)
    after = {key: (programs._single._cache_size(), programs._gather._cache_size(),
                   {count: p._cache_size() for count, p in programs._collects.items()})
             for key, programs in model._programs.items()}
    assert after == sizes


def test_display_chunks_split_the_epoch(linear, capsys):
    """With a progress bar the epoch runs in chunks; the numbers do not change."""
    model = linear.restore()
    x, y = regression_data(10)
    reference = _fit(model, x, y, batch_size=1).history
    model = linear.restore()
    old, loops.DISPLAY_CHUNK = loops.DISPLAY_CHUNK, 4
    try:
        history = _fit(model, x, y, batch_size=1, verbose=1).history
    finally:
        loops.DISPLAY_CHUNK = old
    np.testing.assert_allclose(history["loss"], reference["loss"], rtol=1e-6)
    assert "10/10" in capsys.readouterr().out


def test_regularization_and_add_loss_join_the_loss():
    x, y = regression_data(6)

    class Penalized(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(1, kernel_regularizer=lamina.regularizers.L2(0.1))

        def call(self, inputs):
            outputs = self.dense(inputs)
            self.add_loss(0.5 * lamina.ops.mean(outputs ** 2))
            return outputs

    model = Penalized()
    model(x)
    kernel = np.array([[0.2], [-0.1], [0.3]], "float32")
    model.set_weights([kernel, np.array([0.1], "float32")])
    model.compile(optimizer=lamina.optimizers.SGD(LR), loss="mse")
    prediction = x.astype(np.float64) @ kernel + 0.1
    mse = np.mean((prediction - y) ** 2)
    penalty = 0.1 * np.sum(kernel.astype(np.float64) ** 2)
    extra = 0.5 * np.mean(prediction ** 2)
    np.testing.assert_allclose(model.evaluate(x, y, batch_size=6, verbose=0),
                               mse + penalty + extra, rtol=1e-5)
    # One step: the gradient includes both extra terms.
    logs = model.train_on_batch(x, y, return_dict=True)
    np.testing.assert_allclose(logs["loss"], mse + penalty + extra, rtol=1e-5)
    error = prediction - y
    grad_kernel = x.T @ (2 * error / 6 + prediction / 6) + 0.2 * kernel
    grad_bias = np.sum(2 * error / 6 + prediction / 6)
    np.testing.assert_allclose(model.get_weights()[0], kernel - LR * grad_kernel, rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[1], 0.1 - LR * grad_bias, rtol=1e-5)


def test_constraints_run_after_every_step():
    x, y = regression_data(8)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(
        1, kernel_constraint=lamina.constraints.NonNeg())])
    model.set_weights([np.full((3, 1), 0.05, "float32"), np.zeros(1, "float32")])
    model.compile(optimizer=lamina.optimizers.SGD(0.5), loss="mse")
    w, b = (a.astype(np.float64) for a in model.get_weights())
    model.fit(x, -10 * np.abs(y), batch_size=4, epochs=1, shuffle=False, verbose=0)
    for start in (0, 4):  # NumPy: project onto w >= 0 after each update
        xb, yb = x[start:start + 4].astype(np.float64), -10 * np.abs(y[start:start + 4])
        error = xb @ w + b - yb
        w = np.maximum(w - 0.5 * xb.T @ (2 * error / 4), 0.0)
        b = b - 0.5 * np.sum(2 * error / 4, axis=0)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5)
    assert (model.get_weights()[0] >= 0).all()


class TrainingShift(lamina.layers.Layer):
    """Adds 1 to its input in training, nothing otherwise."""

    def call(self, inputs, training=None):
        return inputs + (1.0 if training else 0.0)


def test_training_flag_reaches_nested_layers():
    inner = lamina.Sequential([lamina.Input((1,)), TrainingShift()])
    inputs = lamina.Input((3,))
    outputs = inner(lamina.layers.Dense(1, use_bias=False, kernel_initializer="zeros")(inputs))
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    x, y = regression_data(4)
    trained = model.train_on_batch(x, y)
    tested = model.test_on_batch(x, y)
    np.testing.assert_allclose(trained, np.mean((1.0 - y) ** 2), rtol=1e-6)
    np.testing.assert_allclose(tested, np.mean(y ** 2), rtol=1e-6)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.zeros((4, 1)))


def largest_error(y_true, y_pred):
    return lamina.ops.max(lamina.ops.abs(y_true - y_pred), axis=-1)


def test_function_and_object_losses_and_metrics_are_named_like_keras():
    x, y = regression_data(8, outputs=2)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    predictions = model.predict(x, batch_size=4, verbose=0)  # before compile: fine
    np.testing.assert_allclose(predictions, x @ model.get_weights()[0], rtol=1e-5, atol=1e-6)

    def half_squared(y_true, y_pred):
        return 0.5 * lamina.ops.mean((y_true - y_pred) ** 2, axis=-1)

    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss=half_squared,
                  metrics=[largest_error, lamina.metrics.MeanSquaredError(name="msq"), "mae"])
    logs = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    error = predictions - y
    expected = {"loss": 0.5 * np.mean(error ** 2), "largest_error": np.abs(error).max(1).mean(),
                "msq": np.mean(error ** 2), "mae": np.mean(np.abs(error))}
    assert sorted(logs) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(logs[key], value, rtol=1e-5, err_msg=key)
    model.compile(optimizer="sgd", loss=lamina.losses.Huber(), jit_compile=False)
    assert model.run_eagerly
