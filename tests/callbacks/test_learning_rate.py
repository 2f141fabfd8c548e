"""LearningRateScheduler and ReduceLROnPlateau (cooldown, min_lr), with a Keras reference."""

import itertools
import os
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

from lamina.callbacks import LearningRateScheduler, ReduceLROnPlateau


def test_scheduler_sets_rate_each_epoch_and_logs_it(fake):
    model = fake.Model()
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch < 2 else lr * 0.5

    history = fake.run_fit(model, [LearningRateScheduler(schedule)], epochs=4, steps=1)
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.1), (3, 0.05)]
    assert model.optimizer.learning_rate == 0.025
    assert history.history["learning_rate"] == [0.1, 0.1, 0.05, 0.025]


def test_scheduler_accepts_epoch_only_functions_and_array_results(fake):
    model = fake.Model()
    fake.run_fit(model, [LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], epochs=2,
                 steps=1)
    assert model.optimizer.learning_rate == pytest.approx(0.02)
    fake.run_fit(model, [LearningRateScheduler(lambda e, lr: jnp.float32(0.5))], epochs=1,
                 steps=1)
    assert model.optimizer.learning_rate == 0.5 and type(model.optimizer.learning_rate) is float


def test_scheduler_bad_output_and_input(fake):
    with pytest.raises(ValueError, match=r"should be a float.*Got: 'fast' at epoch 0"):
        fake.run_fit(fake.Model(), [LearningRateScheduler(lambda e, lr: "fast")], epochs=1)
    with pytest.raises(TypeError, match=r"schedule\(epoch, lr\)"):
        LearningRateScheduler(0.1)
    model = fake.Model()
    model.optimizer = None
    with pytest.raises(ValueError, match=r"no optimizer.*compile\(optimizer="):
        fake.run_fit(model, [LearningRateScheduler(lambda e, lr: lr)], epochs=1)


def test_scheduler_verbose_message(fake, capsys):
    fake.run_fit(fake.Model(), [LearningRateScheduler(lambda e, lr: 0.2, verbose=1)],
                 epochs=1, steps=1)
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.2." in capsys.readouterr().out


def test_reduce_on_plateau_patience_and_cooldown(fake):
    model = fake.Model()
    reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, cooldown=2,
                               min_delta=0)
    losses = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    history = fake.run_fit(model, [reduce], epochs=7, steps=1, metrics=fake.per_epoch(losses))
    # Reduced at epoch 1 (patience 1). The cooldown counter (2) runs down at epochs 2 and 3;
    # epoch 3 is out of cooldown once counted down, so it waits 1 and reduces again; then 5.
    # The logged rate is read before each epoch's reduction (as Keras does).
    assert history.history["learning_rate"] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]
    assert model.optimizer.learning_rate == pytest.approx(0.0125)


def test_reduce_on_plateau_respects_min_lr(fake):
    model = fake.Model()
    reduce = ReduceLROnPlateau(monitor="loss", factor=0.1, patience=0, min_lr=0.005,
                               verbose=1)
    fake.run_fit(model, [reduce], epochs=4, steps=1, metrics=fake.per_epoch([1.0] * 4))
    assert model.optimizer.learning_rate == 0.005


def test_reduce_on_plateau_arguments():
    with pytest.raises(ValueError, match=r"factor >= 1\.0.*Received factor=1\.5"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.warns(UserWarning, match="epsilon"):
        assert ReduceLROnPlateau(epsilon=0.01).min_delta == 0.01
    with pytest.raises(TypeError, match=r"unexpected arguments \['patients'\]"):
        ReduceLROnPlateau(patients=3)


def test_reduce_on_plateau_matches_keras(fake):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras reference runs with the JAX backend only")
    rng = np.random.default_rng(1)
    for factor, patience, cooldown, min_lr, min_delta, mode in itertools.product(
            [0.5, 0.1], [0, 2], [0, 1, 3], [0.0, 0.01], [0.0, 0.05], ["min", "max"]):
        losses = list(np.round(rng.uniform(0, 1, 15), 2))
        config = {"monitor": "loss", "factor": factor, "patience": patience,
                  "cooldown": cooldown, "min_lr": min_lr, "min_delta": min_delta, "mode": mode}
        rates = []
        for callback in (ReduceLROnPlateau(**config), keras.callbacks.ReduceLROnPlateau(**config)):
            model = fake.Model()
            callback.set_model(model)
            callback.on_train_begin()
            trace = []
            for epoch, loss in enumerate(losses):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    callback.on_epoch_end(epoch, {"loss": loss})
                trace.append(float(model.optimizer.learning_rate))
            rates.append(trace)
        np.testing.assert_allclose(rates[0], rates[1], rtol=1e-7, err_msg=str((config, losses)))
