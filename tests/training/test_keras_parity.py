"""Side by side with Keras 3 on JAX: the same initial weights, data and settings give the same
weights and history after two epochs of SGD (to 1e-5). Skipped when Keras is not installed."""

import os
import warnings

import numpy as np
import pytest

import lamina

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "jax":
    pytest.skip("the parity tests need Keras on the JAX backend", allow_module_level=True)

ROWS, BATCH, LR = 22, 8, 0.05  # batches of 8, 8 and 6


def _mlp(library):
    model = library.Sequential([library.Input((4,)),
                                library.layers.Dense(5, activation="tanh"),
                                library.layers.Dense(1)])
    model.compile(optimizer=library.optimizers.SGD(LR), loss="mse", metrics=["mae"],
                  weighted_metrics=["mae"])
    return model


@pytest.fixture(scope="module")
def pair():
    """A lamina MLP and a Keras MLP with the same initial weights, and a reset function."""
    lamina.utils.set_random_seed(0)
    ours = _mlp(lamina)
    theirs = _mlp(keras)
    initial = ours.get_weights()

    def reset():
        for model in (ours, theirs):
            model.set_weights(initial)
            for variable in model.optimizer.variables:
                variable.assign(np.zeros(variable.shape, variable.dtype)
                                if "iteration" in variable.path else variable.numpy())
        return ours, theirs

    return reset


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS, 4)).astype("float32")
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2]).astype("float32")
    return x, y


def _compare(ours, theirs, history_ours, history_theirs):
    for mine, reference in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    assert sorted(history_ours.history) == sorted(history_theirs.history)
    for key, values in history_theirs.history.items():
        np.testing.assert_allclose(history_ours.history[key], values, rtol=1e-5, atol=1e-7,
                                   err_msg=key)


def _fit_both(reset, *args, **kwargs):
    ours, theirs = reset()
    kwargs.update(epochs=kwargs.get("epochs", 2), shuffle=False, verbose=0,
                  batch_size=kwargs.get("batch_size", BATCH))
    history_ours = ours.fit(*args, **kwargs)
    history_theirs = theirs.fit(*args, **kwargs)
    _compare(ours, theirs, history_ours, history_theirs)
    return ours, theirs


def test_mlp_with_a_partial_last_batch(pair):
    x, y = _data()
    ours, theirs = _fit_both(pair, x, y)
    # As dicts: Keras's list form repeats "mae" here (its order lists the metric's own name
    # twice, for the plain and the weighted metric); lamina lists each value once.
    mine = ours.evaluate(x, y, verbose=0, return_dict=True)
    reference = theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(mine) == sorted(reference)
    for key in reference:
        np.testing.assert_allclose(mine[key], reference[key], rtol=1e-5)
    np.testing.assert_allclose(ours.predict(x, batch_size=BATCH, verbose=0),
                               theirs.predict(x, batch_size=BATCH, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_validation_split(pair):
    x, y = _data()
    _fit_both(pair, x, y, validation_split=0.2)


def test_sample_weights(pair):
    x, y = _data()
    weights = np.linspace(0.1, 2.0, ROWS).astype("float32")
    xv, yv = _data(seed=1)
    _fit_both(pair, x, y, sample_weight=weights,
              validation_data=(xv[:9], yv[:9], weights[:9]))


def test_class_weight(pair):
    x, _ = _data()
    labels = (x[:, :1] > 0).astype("float32")
    _fit_both(pair, x, labels, class_weight={0: 0.3, 1: 2.0})


def test_steps_per_epoch_continues_across_epochs(pair):
    x, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both warn that the data ran out in epoch 2
        _fit_both(pair, x, y, steps_per_epoch=2, epochs=3)


def _two_outputs(library):
    in1, in2 = library.Input((3,), name="in1"), library.Input((2,), name="in2")
    hidden = library.layers.Dense(4, activation="tanh", name="hidden")(
        library.layers.Concatenate(name="join")([in1, in2]))
    out1 = library.layers.Dense(1, name="out1")(hidden)
    out2 = library.layers.Dense(2, name="out2")(hidden)
    model = library.Model([in1, in2], [out1, out2])
    model.compile(optimizer=library.optimizers.SGD(LR), loss=["mse", "mae"],
                  loss_weights=[1.0, 0.5], metrics=[["mae"], ["mse"]])
    return model


def test_multi_output_functional():
    rng = np.random.default_rng(2)
    x1 = rng.normal(size=(ROWS, 3)).astype("float32")
    x2 = rng.normal(size=(ROWS, 2)).astype("float32")
    y1 = rng.normal(size=(ROWS, 1)).astype("float32")
    y2 = rng.normal(size=(ROWS, 2)).astype("float32")
    lamina.utils.set_random_seed(3)
    ours, theirs = _two_outputs(lamina), _two_outputs(keras)
    theirs.set_weights(ours.get_weights())
    kwargs = {"batch_size": BATCH, "epochs": 2, "shuffle": False, "verbose": 0,
              "validation_data": ([x1[:7], x2[:7]], [y1[:7], y2[:7]])}
    history_ours = ours.fit([x1, x2], [y1, y2], **kwargs)
    history_theirs = theirs.fit([x1, x2], [y1, y2], **kwargs)
    _compare(ours, theirs, history_ours, history_theirs)
    assert "out1_loss" in history_ours.history and "val_out2_mse" in history_ours.history
    np.testing.assert_allclose(ours.evaluate([x1, x2], [y1, y2], verbose=0),
                               theirs.evaluate([x1, x2], [y1, y2], verbose=0), rtol=1e-5)
