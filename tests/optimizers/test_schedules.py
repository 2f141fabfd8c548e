"""keras.optimizers.schedules: values against the formulas, jit safety, configs, Keras parity."""

import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina.optimizers import schedules

STEPS = [0, 1, 2, 3, 5, 8, 10, 13, 20, 31, 50]


def _exponential(step, staircase=False):
    p = step / 4
    return 0.5 * 0.8 ** (math.floor(p) if staircase else p)


def _piecewise(step):
    return 1.0 if step <= 3 else 0.5 if step <= 10 else 0.1


def _polynomial(step, cycle=False, power=2.0):
    decay_steps = 10
    if cycle:
        decay_steps *= max(1, math.ceil(step / 10))
    else:
        step = min(step, 10)
    return (1.0 - 0.01) * (1 - step / decay_steps) ** power + 0.01


def _inverse_time(step, staircase=False):
    p = step / 5
    return 0.3 / (1 + 0.5 * (math.floor(p) if staircase else p))


def _cosine(step, warmup_target=None, warmup_steps=0, alpha=0.1):
    if warmup_target is None:
        start = 0.2
    else:
        if step < warmup_steps:
            return 0.2 + (warmup_target - 0.2) * step / warmup_steps
        start, step = warmup_target, step - warmup_steps
    step = min(step, 20)
    return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / 20)) + alpha)


def _restarts(step, t_mul=2.0, m_mul=0.5, alpha=0.1):
    fraction, length, restart = step / 4, 1.0, 0
    while fraction >= length:  # walk through the periods: 1, t_mul, t_mul**2, ... (in units)
        fraction -= length
        length *= t_mul
        restart += 1
    return 1.0 * ((1 - alpha) * 0.5 * m_mul ** restart * (1 + math.cos(math.pi * fraction / length))
                  + alpha)


CASES = [
    (schedules.ExponentialDecay(0.5, 4, 0.8), _exponential),
    (schedules.ExponentialDecay(0.5, 4, 0.8, staircase=True),
     lambda s: _exponential(s, staircase=True)),
    (schedules.PiecewiseConstantDecay([3, 10], [1.0, 0.5, 0.1]), _piecewise),
    (schedules.PolynomialDecay(1.0, 10, 0.01, power=2.0), _polynomial),
    (schedules.PolynomialDecay(1.0, 10, 0.01, power=2.0, cycle=True),
     lambda s: _polynomial(s, cycle=True)),
    (schedules.InverseTimeDecay(0.3, 5, 0.5), _inverse_time),
    (schedules.InverseTimeDecay(0.3, 5, 0.5, staircase=True),
     lambda s: _inverse_time(s, staircase=True)),
    (schedules.CosineDecay(0.2, 20, alpha=0.1), _cosine),
    (schedules.CosineDecay(0.2, 20, alpha=0.1, warmup_target=1.0, warmup_steps=5),
     lambda s: _cosine(s, warmup_target=1.0, warmup_steps=5)),
    (schedules.CosineDecayRestarts(1.0, 4, t_mul=2.0, m_mul=0.5, alpha=0.1), _restarts),
    (schedules.CosineDecayRestarts(1.0, 4, t_mul=1.0, m_mul=0.5, alpha=0.1),
     lambda s: _restarts(s, t_mul=1.0)),
]
IDS = [f"{type(s).__name__}-{i}" for i, (s, _) in enumerate(CASES)]


@pytest.mark.parametrize("schedule, formula", CASES, ids=IDS)
def test_schedule_matches_formula_eagerly_and_under_jit(schedule, formula):
    expected = np.array([formula(s) for s in STEPS], np.float32)
    eager = np.array([float(schedule(s)) for s in STEPS], np.float32)
    np.testing.assert_allclose(eager, expected, rtol=2e-6, atol=1e-7)
    # One compiled program for all steps: no Python branch on the (traced) step.
    traced = jax.jit(jax.vmap(schedule))(jnp.asarray(STEPS, jnp.int32))
    np.testing.assert_allclose(traced, expected, rtol=2e-6, atol=1e-7)
    assert float(schedule(lamina.Variable(STEPS[4]))) == pytest.approx(expected[4], rel=2e-6)
    assert jnp.asarray(schedule(3)).dtype == jnp.float32


@pytest.mark.parametrize("schedule", [s for s, _ in CASES], ids=IDS)
def test_config_round_trip(schedule):
    config = schedules.serialize(schedule)
    assert config["module"] == "keras.optimizers.schedules"
    assert config["class_name"] == type(schedule).__name__
    restored = schedules.deserialize(config)
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    assert float(restored(7)) == float(schedule(7))


def test_invalid_arguments():
    for build in (lambda: schedules.ExponentialDecay(0.1, 0, 0.5),
                  lambda: schedules.PolynomialDecay(0.1, -1),
                  lambda: schedules.InverseTimeDecay(0.1, 0, 0.5),
                  lambda: schedules.CosineDecay(0.1, 0),
                  lambda: schedules.CosineDecayRestarts(0.1, 0)):
        with pytest.raises(ValueError, match="must be > 0"):
            build()
    with pytest.raises(ValueError, match="one more value"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])


def test_custom_schedule_protocol():
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, initial):
            self.initial = initial

        def __call__(self, step):
            return self.initial * 0.5 ** jnp.asarray(getattr(step, "value", step))

    with pytest.raises(NotImplementedError, match="get_config"):
        Halving(1.0).get_config()
    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)
    w = lamina.Variable(np.zeros(2, np.float32))
    optimizer = lamina.optimizers.SGD(learning_rate=Halving(1.0))
    for _ in range(3):
        optimizer.apply_gradients([(np.ones(2, np.float32), w)])
    np.testing.assert_allclose(w.numpy(), -1.75)


def test_optimizer_config_holds_the_schedule_as_keras_writes_it():
    schedule = schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=10)
    optimizer = lamina.optimizers.Adam(learning_rate=schedule)
    config = optimizer.get_config()
    assert config["learning_rate"] == {
        "module": "keras.optimizers.schedules", "class_name": "CosineDecay",
        "config": schedule.get_config(), "registered_name": None}
    restored = lamina.optimizers.Adam.from_config(config)
    assert isinstance(restored._learning_rate, schedules.CosineDecay)
    assert restored.get_config() == config


def test_values_match_keras():
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    for schedule, _ in CASES:
        theirs = keras.optimizers.schedules.deserialize(schedules.serialize(schedule))
        ours = np.array([float(schedule(s)) for s in STEPS])
        expected = np.array([float(theirs(s)) for s in STEPS])
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-7,
                                   err_msg=type(schedule).__name__)
        assert keras.optimizers.schedules.serialize(theirs) == schedules.serialize(schedule)
