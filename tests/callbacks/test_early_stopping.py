"""EarlyStopping: patience, min_delta, baseline, restore_best_weights, start_from_epoch, modes.

Hand-worked cases, then a side-by-side run against Keras 3's EarlyStopping on the same
sequences (when Keras is installed).
"""

import itertools
import os
import warnings

import numpy as np
import pytest

from lamina.callbacks import EarlyStopping


def drive(callback, model, values, monitor="loss", extra=None):
    """Epoch hooks only, as fit calls them; returns the number of epochs run."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        model.train_steps(1)
        callback.on_epoch_end(epoch, {monitor: value, **(extra or {})})
        ran += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return ran


def test_patience_counts_epochs_without_improvement(fake):
    stop = EarlyStopping(monitor="loss", patience=2)
    ran = drive(stop, fake.Model(), [1.0, 0.9, 0.95, 0.97, 0.8])
    assert (ran, stop.stopped_epoch, stop.best) == (4, 3, 0.9)


def test_patience_zero_stops_at_first_non_improvement(fake):
    stop = EarlyStopping(monitor="loss")
    assert drive(stop, fake.Model(), [1.0, 0.9, 0.9, 0.5]) == 3


def test_min_delta_ignores_small_improvements(fake):
    stop = EarlyStopping(monitor="loss", min_delta=0.05, patience=1)
    # 0.97 improves by 0.03 < 0.05: no improvement, so it stops at epoch 1.
    assert drive(stop, fake.Model(), [1.0, 0.97, 0.5]) == 2
    stop = EarlyStopping(monitor="loss", min_delta=-0.05, patience=1)  # sign is ignored
    assert drive(stop, fake.Model(), [1.0, 0.97, 0.5]) == 2


def test_baseline_must_be_beaten(fake):
    # Improving but never beating 0.5: improvements do not reset the wait, but an epoch
    # that improves never triggers the stop; the first non-improvement after the wait does.
    stop = EarlyStopping(monitor="loss", patience=2, baseline=0.5)
    assert drive(stop, fake.Model(), [0.9, 0.8, 0.85, 0.7, 0.6]) == 3
    stop = EarlyStopping(monitor="loss", patience=2, baseline=0.5)
    assert drive(stop, fake.Model(), [0.4, 0.45, 0.46, 0.47]) == 3


def test_restore_best_weights(fake):
    model = fake.Model()
    stop = EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    drive(stop, model, [1.0, 0.5, 0.7, 0.8, 0.9])
    assert stop.best_epoch == 1
    # One step per epoch adds 1 to each weight: after epoch 1 they were 2.
    np.testing.assert_array_equal(model.get_weights()[0], np.full((2, 2), 2.0))
    assert model.steps_run == 4  # stopped at epoch 3


def test_restore_best_weights_without_beating_baseline_restores_best_seen(fake):
    model = fake.Model()
    stop = EarlyStopping(monitor="loss", patience=1, baseline=0.1, restore_best_weights=True)
    drive(stop, model, [0.9, 0.95, 0.99])
    np.testing.assert_array_equal(model.get_weights()[1], [1.0, 1.0])  # epoch 0's weights


def test_start_from_epoch_skips_warm_up(fake):
    stop = EarlyStopping(monitor="loss", patience=0, start_from_epoch=2)
    # Epochs 0 and 1 are ignored even though the loss rises.
    assert drive(stop, fake.Model(), [0.1, 0.5, 0.9, 0.95, 0.5]) == 4


def test_modes(fake):
    stop = EarlyStopping(monitor="accuracy", patience=0)  # auto: accuracy is maximized
    assert drive(stop, fake.Model(), [0.5, 0.6, 0.55], "accuracy") == 3
    stop = EarlyStopping(monitor="val_mae", patience=0)  # auto: an error is minimized
    assert drive(stop, fake.Model(), [0.5, 0.6], "val_mae") == 2
    stop = EarlyStopping(monitor="score", mode="max", patience=0)
    assert drive(stop, fake.Model(), [1.0, 2.0, 1.5], "score") == 3


def test_auto_mode_uses_metric_direction(fake):
    class Metric:
        name = "score"
        _direction = "up"

    model = fake.Model()
    model.metrics = [Metric()]
    stop = EarlyStopping(monitor="val_score", patience=0)
    assert drive(stop, model, [1.0, 2.0, 1.5], "val_score") == 3


def test_auto_mode_unknown_metric_says_how_to_fix(fake):
    stop = EarlyStopping(monitor="score")
    with pytest.raises(ValueError, match=r"monitor='score'.*mode='max'.*mode='min'"):
        drive(stop, fake.Model(), [1.0], "score")


def test_bad_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match=r"'auto', 'min' or 'max'. Received: mode='minimum'"):
        stop = EarlyStopping(mode="minimum")
    assert stop.mode == "auto"


def test_missing_monitor_warns_with_available_metrics(fake):
    stop = EarlyStopping(monitor="val_loss")
    with pytest.warns(UserWarning, match=r"`val_loss` which is not available.*loss"):
        assert drive(stop, fake.Model(), [1.0, 2.0, 3.0]) == 3


# ------------------------------------------------------------------------ Keras reference
def _keras_callbacks():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras reference runs with the JAX backend only")
    return keras.callbacks


def test_matches_keras_on_random_sequences(fake):
    keras_callbacks = _keras_callbacks()
    rng = np.random.default_rng(0)
    configs = [
        {"patience": p, "min_delta": d, "baseline": b, "restore_best_weights": True,
         "start_from_epoch": s, "mode": m}
        for p, d, b, s, m in itertools.product(
            [0, 1, 3], [0, 0.02], [None, 0.3], [0, 2], ["min", "max"])
    ]
    for config, sequence in itertools.product(configs, range(3)):
        values = list(np.round(rng.uniform(0, 1, size=12), 3))
        ours, theirs = EarlyStopping(monitor="loss", **config), keras_callbacks.EarlyStopping(
            monitor="loss", **config)
        model_ours, model_theirs = fake.Model(), fake.Model()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ran_ours = drive(ours, model_ours, values)
            ran_theirs = drive(theirs, model_theirs, values)
        context = f"{config}, {values}"
        assert ran_ours == ran_theirs, context
        assert ours.stopped_epoch == theirs.stopped_epoch, context
        assert ours.best_epoch == theirs.best_epoch, context
        assert float(ours.best) == float(theirs.best), context
        for a, b in zip(model_ours.get_weights(), model_theirs.get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=context)
