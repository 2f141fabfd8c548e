"""A whole pass of `fit`, `predict` or `evaluate` over arrays with a partial last batch runs as
one program (`StepPrograms.run_whole`): the same weights, outputs and metrics as batch by
batch, and the batch-level callbacks (and TerminateOnNaN's loss guard) still get programs that
end where they need them."""

import numpy as np
import pytest

import lamina
from lamina.training import engine

from .conftest import linear_model, regression_data


@pytest.fixture(scope="module")
def model():
    return linear_model(metrics=("mae",))


def forward(model, x):
    kernel, bias = model.get_weights()
    return x @ kernel + bias


def test_predict_with_a_partial_batch_gives_every_row_in_order(model):
    x, _ = regression_data(rows=11)
    out = model.predict(x, batch_size=4, verbose=0)
    np.testing.assert_allclose(out, forward(model, x), rtol=1e-6, atol=1e-6)
    out[0] = 0.0  # the result is the caller's own array


def test_evaluate_with_a_partial_batch_weights_it_by_its_rows(model):
    x, y = regression_data(rows=11)
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    error = forward(model, x) - y
    assert logs["loss"] == pytest.approx(float(np.mean(error ** 2)), rel=1e-5)
    assert logs["mae"] == pytest.approx(float(np.mean(np.abs(error))), rel=1e-5)


def test_a_batch_level_callback_still_hears_every_batch(model):
    x, y = regression_data(rows=11)
    heard = []

    class Listener(lamina.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            heard.append(("predict", batch, len(logs["outputs"])))

        def on_test_batch_end(self, batch, logs=None):
            heard.append(("test", batch))

    out = model.predict(x, batch_size=4, verbose=0, callbacks=[Listener()])
    model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[Listener()])
    assert heard == [("predict", 0, 4), ("predict", 1, 4), ("predict", 2, 3),
                     ("test", 0), ("test", 1), ("test", 2)]
    np.testing.assert_allclose(out, forward(model, x), rtol=1e-6, atol=1e-6)


def sgd_by_hand(model, x, y, batch_size, lr=0.1):
    """The linear model's weights after one epoch of SGD on MSE, in row order."""
    kernel, bias = (w.astype("float64") for w in model.get_weights())
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        error = xb @ kernel + bias - yb
        kernel = kernel - lr * 2 * xb.T @ error / error.size
        bias = bias - lr * 2 * error.sum(axis=0) / error.size
    return kernel, bias


@pytest.fixture
def whole_passes(monkeypatch):
    """How many times fit ran a whole epoch as one program (the real method, counted)."""
    calls = []
    run_whole = engine.StepPrograms.run_whole

    def counted(self, *args, **kwargs):
        calls.append(1)
        return run_whole(self, *args, **kwargs)
    monkeypatch.setattr(engine.StepPrograms, "run_whole", counted)
    return calls


def test_fit_with_a_partial_batch_runs_one_program_per_epoch(whole_passes):
    model = linear_model(metrics=("mae",))
    x, y = regression_data(rows=11)
    kernel, bias = sgd_by_hand(model, x, y, batch_size=4)
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    assert len(whole_passes) == 1
    np.testing.assert_allclose(model.get_weights()[0], kernel, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], bias, rtol=1e-5, atol=1e-6)
    assert np.isfinite(history.history["loss"][0]) and "mae" in history.history


def test_fit_under_terminate_on_nan_or_a_batch_listener_runs_batch_programs(whole_passes):
    x, y = regression_data(rows=11)
    heard = []

    class Listener(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            heard.append(batch)

    for callback in (lamina.callbacks.TerminateOnNaN(), Listener()):
        model = linear_model(metrics=())
        kernel, bias = sgd_by_hand(model, x, y, batch_size=4)
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0,
                  callbacks=[callback])
        np.testing.assert_allclose(model.get_weights()[0], kernel, rtol=1e-5, atol=1e-6)
    assert whole_passes == [] and heard == [0, 1, 2]
