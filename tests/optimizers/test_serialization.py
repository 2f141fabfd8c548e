"""keras.optimizers.get / serialize / deserialize, config round trips, the public names."""

import os

import pytest

import lamina
from lamina import optimizers

BUILTINS = ["SGD", "Adam", "AdamW", "Adamax", "Nadam", "Lamb", "RMSprop", "Adagrad",
            "Adadelta", "Adafactor", "Ftrl", "Lion", "Muon"]
# A non-default value for one argument of each, so the round trip shows it is kept.
CHANGED = {"SGD": {"momentum": 0.5, "nesterov": True}, "Adam": {"amsgrad": True},
           "AdamW": {"weight_decay": 0.1}, "Adamax": {"beta_2": 0.9}, "Nadam": {"epsilon": 1e-4},
           "Lamb": {"beta_1": 0.5}, "RMSprop": {"centered": True, "momentum": 0.1},
           "Adagrad": {"initial_accumulator_value": 0.3}, "Adadelta": {"rho": 0.5},
           "Adafactor": {"clip_threshold": 2.0}, "Ftrl": {"beta": 0.2}, "Lion": {"beta_2": 0.9},
           "Muon": {"exclude_layers": ["head"], "ns_steps": 3}}


def test_public_names():
    assert sorted(optimizers.__all__) == sorted(BUILTINS + [
        "LossScaleOptimizer", "MultiOptimizer", "Optimizer", "OptimizerMap", "ScheduleFreeAdamW",
        "deserialize", "get",
        "legacy", "schedules", "serialize"])
    assert sorted(optimizers.schedules.__all__) == [
        "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
        "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
        "serialize"]
    assert lamina.optimizers is optimizers


@pytest.mark.parametrize("name", BUILTINS)
def test_get_by_name_and_config_round_trip(name):
    cls = getattr(optimizers, name)
    for spelling in (name, name.lower(), name.upper()):
        assert type(optimizers.get(spelling)) is cls
    optimizer = cls(learning_rate=0.25, clipnorm=2.0, use_ema=True, name="opt",
                    **CHANGED[name])
    config = optimizer.get_config()
    assert config["learning_rate"] == 0.25 and config["clipnorm"] == 2.0
    assert cls.from_config(config).get_config() == config
    serialized = optimizers.serialize(optimizer)
    assert (serialized["module"], serialized["class_name"]) == ("keras.optimizers", name)
    assert optimizers.deserialize(serialized).get_config() == config
    assert optimizers.get(serialized).get_config() == config


def test_get_passes_instances_and_none_and_refuses_the_rest():
    optimizer = optimizers.SGD()
    assert optimizers.get(optimizer) is optimizer
    assert optimizers.get(None) is None
    assert type(optimizers.get(optimizers.Adam)) is optimizers.Adam
    with pytest.raises(ValueError, match="Could not interpret"):
        optimizers.get(42)


def test_unknown_names_suggest_close_ones():
    with pytest.raises(ValueError, match="Did you mean 'Adam'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Unknown optimizer 'rmsprob'.*'RMSprop'"):
        optimizers.get("rmsprob")
    with pytest.raises(ValueError, match="class_name"):
        optimizers.deserialize({"config": {}})


def test_registered_custom_optimizer_by_name():
    @lamina.saving.register_keras_serializable(package="test_opt")
    class Plain(optimizers.SGD):
        pass

    try:
        restored = optimizers.deserialize(optimizers.serialize(Plain(learning_rate=0.3)))
        assert type(restored) is Plain and float(restored.learning_rate) == pytest.approx(0.3)
    finally:
        lamina.saving.get_custom_objects().pop("test_opt>Plain", None)


def test_configs_move_between_lamina_and_keras():
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    for name in BUILTINS:
        ours = getattr(optimizers, name)(learning_rate=0.25, name="opt", **CHANGED[name])
        # keras.saving (not keras.optimizers.deserialize, which does not know Lamb).
        theirs = keras.saving.deserialize_keras_object(optimizers.serialize(ours))
        assert type(theirs).__name__ == name
        assert theirs.get_config() == ours.get_config()
        back = optimizers.deserialize(keras.optimizers.serialize(theirs))
        assert back.get_config() == ours.get_config()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    theirs = keras.optimizers.SGD(learning_rate=schedule, name="opt")
    ours = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert isinstance(ours._learning_rate, optimizers.schedules.ExponentialDecay)
    assert ours.get_config() == theirs.get_config()
