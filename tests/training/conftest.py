"""Shared helpers for the trainer tests: small data, tiny models, state snapshots, NumPy refs.

Compiling a step costs far more than running one on this data, so tests that need the same
model share it through module-scoped fixtures and restore its whole state (weights, optimizer
slots, metric totals, seed) from a snapshot first: the compiled programs are reused, the
numbers start from the same place every time.
"""

import numpy as np
import pytest

import lamina


def regression_data(rows=10, features=3, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype("float32")
    w = rng.normal(size=(features, outputs)).astype("float32")
    y = (x @ w + 0.3 + 0.1 * rng.normal(size=(rows, outputs))).astype("float32")
    return x, y


def linear_model(features=3, outputs=1, lr=0.1, metrics=("mae",), **compile_kwargs):
    """A Dense layer with known weights (kernel 0.1 * k, bias 0), SGD, MSE."""
    model = lamina.Sequential([lamina.Input((features,)),
                               lamina.layers.Dense(outputs, name="dense")])
    kernel = (0.1 * np.arange(1, features * outputs + 1, dtype="float32")).reshape(
        features, outputs)
    model.set_weights([kernel, np.zeros(outputs, "float32")])
    model.compile(optimizer=lamina.optimizers.SGD(lr), loss="mse",
                  metrics=list(metrics) if metrics is not None else None, **compile_kwargs)
    model.optimizer.build(model.trainable_variables)
    return model


class Snapshot:
    """Every piece of state a fit touches, copied to the host; `restore()` puts it back."""

    def __init__(self, model):
        self.model = model
        variables = list(model.weights) + list(model.optimizer.variables) + \
            list(model.metrics_variables)
        from lamina._runtime.rng import global_seed_generator

        variables.append(global_seed_generator().state)
        self.values = [(v, np.array(v.numpy())) for v in variables]

    def restore(self):
        for variable, value in self.values:
            variable.assign(value.copy())  # a copy: a Variable may keep the array it is given
        self.model.stop_training = False
        return self.model


def snapshot(model):
    return Snapshot(model)


def numpy_sgd_linear_epoch(w, b, x, y, batch_size, lr, sample_weight=None):
    """One epoch of SGD on MSE for `x @ w + b`, in order, the last batch partial.

    Returns new (w, b) and the epoch's loss as Keras reports it: the mean of the batch
    losses weighted by batch size. With weights, each batch loss is Keras's
    "sum_over_batch_size": sum(w * squared error) / (batch size * outputs).
    """
    w, b = w.astype(np.float64).copy(), b.astype(np.float64).copy()
    total, count = 0.0, 0
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].astype(np.float64)
        yb = y[start:start + batch_size].astype(np.float64)
        sw = np.ones(len(xb)) if sample_weight is None else \
            sample_weight[start:start + batch_size].astype(np.float64)
        error = xb @ w + b - yb
        per_sample = (error ** 2).mean(axis=1)
        loss = (sw * per_sample).sum() / len(xb)
        grad_error = 2 * error * sw[:, None] / (len(xb) * error.shape[1])
        w -= lr * xb.T @ grad_error
        b -= lr * grad_error.sum(axis=0)
        total += loss * len(xb)
        count += len(xb)
    return w, b, total / count


def assert_weights_equal(a, b, rtol=0.0, atol=0.0):
    assert len(a) == len(b)
    for left, right in zip(a, b):
        np.testing.assert_allclose(left, right, rtol=rtol, atol=atol)


@pytest.fixture(scope="session")
def linear():
    """Dense(1) on 3 features with known weights, SGD(0.1), MSE, `metrics=["mae"]` and
    `weighted_metrics=["mae"]` (reported as `weighted_mae`), shared by the test modules."""
    return snapshot(linear_model(lr=0.1, metrics=["mae"], weighted_metrics=["mae"]))


@pytest.fixture
def fresh_seed():
    lamina.utils.set_random_seed(1234)
    yield
