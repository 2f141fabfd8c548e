"""ScheduleFreeAdamW: Keras 3's numbers step by step, inside fit, in configs and in .keras files."""

import inspect
import os

import numpy as np
import pytest

import lamina
from lamina import optimizers

os.environ["KERAS_BACKEND"] = "jax"
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

VECTOR = np.array([1.0, -2.0, 3.0], "float32")
MATRIX = np.array([[0.5, -0.5], [1.5, 2.0]], "float32")
RNG = np.random.default_rng(0)
GRADS = [[RNG.normal(size=3).astype("float32"), RNG.normal(size=(2, 2)).astype("float32")]
         for _ in range(5)]

CASES = [{}, {"warmup_steps": 3}, {"weight_decay": 0.1}, {"beta_1": 0.5, "epsilon": 1e-3},
         {"use_ema": True}, {"gradient_accumulation_steps": 2}, {"clipnorm": 0.5}]


@pytest.mark.parametrize("kwargs", CASES, ids=lambda kwargs: ",".join(kwargs) or "defaults")
def test_matches_keras_step_by_step(kwargs):
    theirs = keras.optimizers.ScheduleFreeAdamW(learning_rate=0.05, name="sf", **kwargs)
    ours = optimizers.ScheduleFreeAdamW(learning_rate=0.05, name="sf", **kwargs)
    their_weights = [keras.Variable(VECTOR, name="v"), keras.Variable(MATRIX, name="m")]
    our_weights = [lamina.Variable(VECTOR, name="v"), lamina.Variable(MATRIX, name="m")]
    for grads in GRADS:
        theirs.apply_gradients(zip(grads, their_weights))
        ours.apply_gradients(zip(grads, our_weights))
        for a, b in zip(our_weights, their_weights):
            np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=1e-6, atol=1e-6)
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    for a, b in zip(ours.variables, theirs.variables):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=1e-5, atol=1e-6)


def test_first_step_by_hand_and_momentum_starts_at_the_weights():
    w = lamina.Variable([1.0, 2.0])
    optimizer = optimizers.ScheduleFreeAdamW(learning_rate=0.1)
    optimizer.build([w])
    momentum, velocity = optimizer.variables[2:]
    assert momentum.path.endswith("_momentum") and velocity.path.endswith("_velocity")
    np.testing.assert_array_equal(momentum.numpy(), [1.0, 2.0])
    w.assign([5.0, 5.0])  # the slot is a copy, not the weights' buffer
    np.testing.assert_array_equal(momentum.numpy(), [1.0, 2.0])
    w.assign([1.0, 2.0])
    optimizer.apply_gradients([(np.array([0.5, -2.0], "float32"), w)])
    # Step 1: v = 0.001 g^2 is bias-corrected to g^2, so z moves by lr * sign(g); the average
    # x is z itself (weight 1/t = 1), so y = z.
    np.testing.assert_allclose(w.numpy(), [0.9, 2.1], rtol=1e-6)


def _model(k, seed_weights=None):
    model = k.Sequential([k.Input((3,)), k.layers.Dense(4, activation="tanh", name="hidden"),
                          k.layers.Dense(1, name="out")], name="net")
    if seed_weights is not None:
        model.set_weights(seed_weights)
    return model


def test_fit_and_keras_files_match_keras(tmp_path):
    x = RNG.normal(size=(8, 3)).astype("float32")
    y = RNG.normal(size=(8, 1)).astype("float32")
    reference = _model(keras)
    start = [np.asarray(w) for w in reference.get_weights()]
    models = {}
    for name, k in (("keras", keras), ("lamina", lamina)):
        model = _model(k, start)
        model.compile(optimizer=k.optimizers.ScheduleFreeAdamW(learning_rate=0.01,
                                                               warmup_steps=2),
                      loss="mse", steps_per_execution=1)
        model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        models[name] = model
    for a, b in zip(models["lamina"].get_weights(), models["keras"].get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)

    # Saved on one side, loaded on the other: the slots land where the other side keeps them.
    for source, target in (("lamina", keras), ("keras", lamina)):
        path = str(tmp_path / f"{source}.keras")
        models[source].save(path)
        loaded = target.models.load_model(path)
        assert type(loaded.optimizer).__name__ == "ScheduleFreeAdamW"
        assert loaded.optimizer.get_config()["warmup_steps"] == 2
        for a, b in zip(loaded.optimizer.variables, models[source].optimizer.variables):
            np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=1e-6)


def test_signature_config_and_lookup_match_keras():
    ours = inspect.signature(optimizers.ScheduleFreeAdamW.__init__).parameters
    theirs = inspect.signature(keras.optimizers.ScheduleFreeAdamW.__init__).parameters
    for key in ("learning_rate", "beta_1", "beta_2", "epsilon", "warmup_steps"):
        assert ours[key].default == theirs[key].default
    assert optimizers.ScheduleFreeAdamW(name="o").get_config() == \
        keras.optimizers.ScheduleFreeAdamW(name="o").get_config()
    # Base arguments pass positionally after the own ones, as in Keras.
    positional = (0.01, 0.8, 0.99, 1e-6, 4, 0.02, 1.0)
    assert optimizers.ScheduleFreeAdamW(*positional, name="p").get_config() == \
        keras.optimizers.ScheduleFreeAdamW(*positional, name="p").get_config()
    config = optimizers.serialize(optimizers.ScheduleFreeAdamW(warmup_steps=5, name="sf"))
    assert config == keras.optimizers.serialize(
        keras.optimizers.ScheduleFreeAdamW(warmup_steps=5, name="sf"))
    assert isinstance(optimizers.get("schedulefreeadamw"), optimizers.ScheduleFreeAdamW)
    assert optimizers.deserialize(config).warmup_steps == 5


@pytest.mark.parametrize("kwargs, argument", [
    ({"beta_1": 0.0}, "beta_1"), ({"beta_1": 1.5}, "beta_1"), ({"beta_1": "0.9"}, "beta_1"),
    ({"beta_2": 1.0}, "beta_2"), ({"epsilon": -1e-8}, "epsilon"),
    ({"warmup_steps": -1}, "warmup_steps"), ({"warmup_steps": 2.5}, "warmup_steps"),
    ({"learning_rate": "fast"}, "learning_rate"), ({"clipnorm": -1.0}, "clipnorm"),
])
def test_bad_arguments_name_what_was_expected_and_received(kwargs, argument):
    with pytest.raises(ValueError, match=f"{argument}.*Received: {argument}="):
        optimizers.ScheduleFreeAdamW(**kwargs)
