"""A whole pass of `predict` or `evaluate` over arrays with a partial last batch runs as one
program (`StepPrograms.run_whole`): the same outputs and metrics as batch by batch, and the
batch-level callbacks still hear from every batch when they ask to."""

import numpy as np
import pytest

import lamina

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
