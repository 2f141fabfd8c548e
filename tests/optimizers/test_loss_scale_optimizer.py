"""LossScaleOptimizer: Keras 3's dynamic loss scaling, step by step, in every way an update runs
(eager, compiled, pure, fit), its configs and its weights files."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import mixed_precision, optimizers

os.environ["KERAS_BACKEND"] = "jax"

# Scaled gradients fed to LossScaleOptimizer(SGD(0.1), initial_scale=8, dynamic_growth_steps=2)
# for w = [1, 2], and what Keras 3.15.1 (JAX) gives after each step through stateless_apply:
# (w, step_counter, dynamic_scale, inner iterations).
GRADS = [[8.0, -16.0], [np.inf, 1.0], [4.0, 4.0], [8.0, 8.0], [np.nan, 0.0], [2.0, 2.0]]
KERAS_STEPS = [
    ([0.8999999761581421, 2.200000047683716], 1, 8.0, 1),
    ([0.8999999761581421, 2.200000047683716], 0, 4.0, 1),   # inf: skipped, scale halved
    ([0.7999999523162842, 2.1000001430511475], 1, 4.0, 2),
    ([0.5999999642372131, 1.9000000953674316], 0, 8.0, 3),  # 2 finite steps: scale doubled
    ([0.5999999642372131, 1.9000000953674316], 0, 4.0, 3),  # nan: skipped
    ([0.5499999523162842, 1.8500001430511475], 1, 4.0, 4),
]


def _setup():
    w = lamina.Variable(np.array([1.0, 2.0], "float32"), name="w")
    optimizer = optimizers.LossScaleOptimizer(optimizers.SGD(0.1), initial_scale=8.0,
                                              dynamic_growth_steps=2)
    return w, optimizer


def _state(w, optimizer):
    return (w.numpy().tolist(), int(optimizer.step_counter.numpy()),
            float(optimizer.dynamic_scale.numpy()), int(optimizer.iterations.numpy()))


@pytest.fixture(autouse=True)
def _global_policy_restored():
    yield
    mixed_precision.set_global_policy(None)


def test_eager_apply_follows_keras_step_by_step():
    w, optimizer = _setup()
    assert float(optimizer.scale_loss(2.0)) == 16.0  # initial_scale before building
    for grads, expected in zip(GRADS, KERAS_STEPS):
        optimizer.apply_gradients([(jnp.asarray(grads, "float32"), w)])
        assert _state(w, optimizer) == expected
    assert int(optimizer._iterations.numpy()) == 0  # its own counter, unused as in Keras


def test_stateless_apply_follows_keras_and_changes_no_variable():
    w, optimizer = _setup()
    optimizer.build([w])
    assert [v.path for v in optimizer.variables] == [
        "loss_scale_optimizer/iteration", "loss_scale_optimizer/learning_rate",
        "loss_scale_optimizer/step_counter", "loss_scale_optimizer/dynamic_scale",
        "sgd/iteration", "sgd/learning_rate"]
    step = jax.jit(optimizer.stateless_apply)
    state, values = [v.value for v in optimizer.variables], [w.value]
    for grads, (weights, counter, scale, iterations) in zip(GRADS, KERAS_STEPS):
        values, state = step(state, [jnp.asarray(grads, "float32")], values)
        assert np.asarray(values[0]).tolist() == weights
        assert [float(v) for v in state] == [0.0, 0.0, counter, scale, iterations,
                                             float(np.float32(0.1))]
    assert w.numpy().tolist() == [1.0, 2.0] and int(optimizer.step_counter.numpy()) == 0
    with pytest.raises(ValueError, match="optimizer_variables.*Received 4 values, expected 6"):
        optimizer.stateless_apply(state[:4], [values[0]], values)
    with pytest.raises(ValueError, match="must be built"):
        _setup()[1].stateless_apply([], [jnp.ones(2)], [jnp.ones(2)])


def test_custom_training_loop_compiled_with_keras_function():
    w, optimizer = _setup()

    @lamina.function
    def train_step(grads):
        optimizer.apply([grads], [w])

    for grads, expected in zip(GRADS, KERAS_STEPS):
        train_step(jnp.asarray(grads, "float32"))
        assert _state(w, optimizer) == expected


def test_scaled_loss_gradients_in_a_tape_style_loop():
    w = lamina.Variable(np.array([0.5, -0.5], "float32"))
    optimizer = mixed_precision.LossScaleOptimizer(optimizers.SGD(1.0), initial_scale=1024.0)
    loss, grads = lamina.value_and_grad(
        lambda: optimizer.scale_loss(jnp.sum(jnp.asarray(w, "float16") ** 2)), [w])()
    assert float(loss) == 512.0 and grads[0].tolist() == [1024.0, -1024.0]
    optimizer.apply_gradients(zip(grads, [w]))
    assert w.numpy().tolist() == [-0.5, 0.5]  # w - 1.0 * (2w)


def test_inner_optimizer_settings_stay_live():
    w, optimizer = _setup()
    optimizer.apply([jnp.array([8.0, 8.0])], [w])  # compiles the eager update
    optimizer.inner_optimizer.clipvalue = 0.5       # seen by the next update
    optimizer.learning_rate = 1.0                   # the inner optimizer's rate
    assert float(optimizer.inner_optimizer.learning_rate.numpy()) == 1.0
    before = w.numpy()
    optimizer.apply([jnp.array([80.0, -80.0])], [w])  # unscaled: [10, -10], clipped: 0.5
    np.testing.assert_allclose(w.numpy(), before - np.array([0.5, -0.5]))
    calls = iter([0.25, 0.5])
    lazy = optimizers.LossScaleOptimizer(optimizers.SGD(lambda: next(calls)), initial_scale=1.0)
    v = lamina.Variable([0.0])
    lazy.apply([jnp.array([1.0])], [v])
    lazy.apply([jnp.array([1.0])], [v])  # a callable rate is called on every eager step
    assert v.numpy().tolist() == [-0.75]


def test_arguments_are_checked():
    sgd = optimizers.SGD()
    with pytest.raises(TypeError, match=r"`inner_optimizer` must be a.*Received: "
                                        r"inner_optimizer='adam' of type str"):
        optimizers.LossScaleOptimizer("adam")
    with pytest.raises(ValueError, match="already a LossScaleOptimizer"):
        optimizers.LossScaleOptimizer(optimizers.LossScaleOptimizer(sgd))
    with pytest.raises(TypeError, match=r"`initial_scale` must be a positive number.*str"):
        optimizers.LossScaleOptimizer(sgd, initial_scale="1e4")
    with pytest.raises(ValueError, match="`initial_scale` must be a positive, finite"):
        optimizers.LossScaleOptimizer(sgd, initial_scale=0.0)
    with pytest.raises(TypeError, match="`dynamic_growth_steps` must be a positive int"):
        optimizers.LossScaleOptimizer(sgd, dynamic_growth_steps=10.5)
    with pytest.raises(ValueError, match="`dynamic_growth_steps` must be >= 1"):
        optimizers.LossScaleOptimizer(sgd, dynamic_growth_steps=0)
    with pytest.raises(ValueError, match="no longer supports `dynamic=False`"):
        optimizers.LossScaleOptimizer(sgd, dynamic=False)
    with pytest.raises(ValueError, match="does not support `clipnorm`.*on the `inner_optimizer`"):
        optimizers.LossScaleOptimizer(sgd, clipnorm=1.0)
    with pytest.raises(ValueError, match=r"does not support arguments: \['beta_1'\]"):
        optimizers.LossScaleOptimizer(sgd, beta_1=0.5)
    # Older Keras configs carry the base arguments at their defaults: accepted.
    optimizers.LossScaleOptimizer(sgd, clipnorm=None, use_ema=False, ema_momentum=0.99)


def test_config_round_trip_and_lookup():
    optimizer = optimizers.LossScaleOptimizer(optimizers.Adam(0.01, clipnorm=1.0),
                                              initial_scale=64, dynamic_growth_steps=10)
    config = optimizers.serialize(optimizer)
    assert config["class_name"] == "LossScaleOptimizer"
    assert config["config"]["initial_scale"] == 64
    assert config["config"]["inner_optimizer"]["class_name"] == "Adam"
    rebuilt = optimizers.deserialize(config)
    assert isinstance(rebuilt.inner_optimizer, optimizers.Adam)
    assert rebuilt.inner_optimizer.clipnorm == 1.0 and rebuilt.dynamic_growth_steps == 10
    assert rebuilt.get_config() == optimizer.get_config()
    assert optimizers.get(config).get_config() == optimizer.get_config()


# ----------------------------------------------------------------------------- Keras 3
def _mixed_float16_model(k):
    k.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = k.Sequential([k.Input((3,)), k.layers.Dense(
            2, kernel_initializer=k.initializers.Constant(0.5), bias_initializer="zeros")])
    finally:
        k.mixed_precision.set_global_policy(None if k is lamina else "float32")
    model.compile(k.optimizers.SGD(0.01, name="sgd"), "mse")  # wrapped: mixed_float16 model
    return model


def test_fit_skips_overflowing_steps_as_keras_does_and_files_move_both_ways(tmp_path):
    keras = pytest.importorskip("keras")
    x = np.arange(24, dtype="float32").reshape(8, 3) / 4.0
    y = np.stack([x.sum(1) * 3.0, -x.sum(1)], 1).astype("float32")
    theirs, ours = _mixed_float16_model(keras), _mixed_float16_model(lamina)
    assert type(ours.optimizer).__name__ == type(theirs.optimizer).__name__ == \
        "LossScaleOptimizer"
    for epoch in range(3):
        losses = [m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
                  .history["loss"] for m in (theirs, ours)]
        assert losses[0] == losses[1]
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, np.asarray(b))
        for a, b in zip(ours.optimizer.variables, theirs.optimizer.variables):
            np.testing.assert_array_equal(a.numpy(), np.asarray(b.numpy()))
    # A scale of 2**15 overflows the float16 gradients: 5 steps are skipped while the scale
    # falls to 2**10; the 6th updates the weights.
    assert float(ours.optimizer.dynamic_scale.numpy()) == 1024.0
    assert int(ours.optimizer.iterations.numpy()) == 1
    assert ours.optimizer.get_config() == theirs.optimizer.get_config()
    for source, target in ((ours, keras), (theirs, lamina)):
        path = str(tmp_path / f"{type(source).__module__.split('.')[0]}.keras")
        source.save(path)
        # compile() wraps the optimizer again on loading if the model is mixed_float16, and a
        # loaded Sequential takes the global policy (in Keras too): load under it.
        target.mixed_precision.set_global_policy("mixed_float16")
        try:
            loaded = target.models.load_model(path)
        finally:
            target.mixed_precision.set_global_policy(None if target is lamina else "float32")
        assert type(loaded.optimizer).__name__ == "LossScaleOptimizer"
        assert len(loaded.optimizer.variables) == len(source.optimizer.variables) == 6
        for a, b in zip(loaded.optimizer.variables, source.optimizer.variables):
            np.testing.assert_array_equal(np.asarray(a.numpy()), np.asarray(b.numpy()))
        np.testing.assert_array_equal(np.asarray(loaded.predict(x, verbose=0)),
                                      np.asarray(source.predict(x, verbose=0)))
