"""The Optimizer base: clipping, weight decay, EMA, accumulation, loss scaling, constraints,
learning rates, the eager compiled path, compiled and pure use, custom optimizers, errors."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import optimizers
from lamina._runtime.scope import run_pure

W = np.array([1.0, -2.0, 3.0], np.float32)
G = np.array([0.5, 1.0, -2.0], np.float32)


def _variable(value=W, name="w", **kwargs):
    return lamina.Variable(np.array(value, np.float32), name=name, **kwargs)


def _snapshot(optimizer, variables):
    return ([v.numpy().copy() for v in variables],
            [v.numpy().copy() for v in optimizer.variables], optimizer.built,
            len(optimizer.variables))


def _assert_same(before, after):
    weights, state, built, count = before
    assert (built, count) == after[2:]
    for a, b in zip(weights + state, after[0] + after[1]):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- gradient handling
def test_clipnorm_clips_each_gradient_to_its_norm():
    w1, w2 = _variable(name="a"), _variable(name="b")
    small = np.array([0.1, 0.0, 0.0], np.float32)
    optimizers.SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients([(G, w1), (small, w2)])
    np.testing.assert_allclose(W - w1.numpy(), G / np.linalg.norm(G), rtol=1e-6)
    np.testing.assert_allclose(W - w2.numpy(), small, rtol=1e-6)  # under the norm: unchanged


def test_global_clipnorm_scales_all_gradients_together():
    w1, w2 = _variable(name="a"), _variable(name="b")
    norm = np.sqrt(2 * np.sum(G ** 2))
    optimizers.SGD(learning_rate=1.0, global_clipnorm=1.0).apply_gradients([(G, w1), (G, w2)])
    for w in (w1, w2):
        np.testing.assert_allclose(W - w.numpy(), G / norm, rtol=1e-6)


def test_clipvalue_clips_elements():
    w = _variable()
    optimizers.SGD(learning_rate=1.0, clipvalue=0.75).apply_gradients([(G, w)])
    np.testing.assert_allclose(W - w.numpy(), np.clip(G, -0.75, 0.75), rtol=1e-6)


def test_invalid_clip_arguments():
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    for argument in ("clipnorm", "clipvalue", "global_clipnorm"):
        with pytest.raises(ValueError, match=argument):
            optimizers.SGD(**{argument: -1.0})
        with pytest.raises(ValueError, match=argument):
            optimizers.SGD(**{argument: "big"})


def test_loss_scale_factor_unscales_gradients():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.1, loss_scale_factor=8.0)
    assert float(optimizer.scale_loss(jnp.asarray(2.0))) == 16.0
    optimizer.apply_gradients([(G * 8.0, w)])
    np.testing.assert_allclose(w.numpy(), W - 0.1 * G, rtol=1e-6)
    assert optimizers.SGD().scale_loss(3.0) == 3.0


def test_weight_decay_is_decoupled_and_exclusions_apply():
    kernel, bias = _variable(name="kernel"), _variable(name="bias")
    listed = _variable(name="listed")
    optimizer = optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[listed], var_names=["bias"])
    optimizer.apply_gradients([(G, kernel), (G, bias), (G, listed)])
    np.testing.assert_allclose(kernel.numpy(), W - W * 0.5 * 0.1 - 0.1 * G, rtol=1e-6)
    for w in (bias, listed):
        np.testing.assert_allclose(w.numpy(), W - 0.1 * G, rtol=1e-6)
    with pytest.raises(ValueError, match="before"):
        optimizer.exclude_from_weight_decay(var_names=["kernel"])
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.SGD(weight_decay=-1.0)


def test_ema_tracks_the_weights_and_finalize_overwrites_them():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_momentum=0.9)
    average = W.copy()
    for step in range(3):
        optimizer.apply_gradients([(G, w)])
        momentum = 0.0 if step == 0 else 0.9  # the first average is the weights themselves
        average = momentum * average + (1 - momentum) * w.numpy()
    ema = optimizer.variables[2]
    assert ema.path == "sgd/w_average"
    np.testing.assert_allclose(ema.numpy(), average, rtol=1e-6)
    np.testing.assert_allclose(w.numpy(), W - 0.3 * G, rtol=1e-6)
    optimizer.finalize_variable_values([w])
    np.testing.assert_allclose(w.numpy(), average, rtol=1e-6)
    with pytest.raises(ValueError, match="moving averages"):
        optimizer.finalize_variable_values([w, _variable(name="other")])


def test_ema_overwrite_frequency_and_swap():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.1, use_ema=True, ema_overwrite_frequency=2)
    optimizer.apply_gradients([(G, w)])
    optimizer.apply_gradients([(G, w)])  # second step: weights replaced by their average
    np.testing.assert_allclose(w.numpy(), optimizer._model_variables_moving_average[0].numpy())
    optimizer.apply_gradients([(G, w)])
    weights, average = w.numpy(), optimizer._model_variables_moving_average[0].numpy()
    optimizer._swap_ema_weights()
    np.testing.assert_array_equal(w.numpy(), average)
    np.testing.assert_array_equal(optimizer._model_variables_moving_average[0].numpy(), weights)
    for bad in ({"ema_momentum": 1.5}, {"ema_overwrite_frequency": 0}):
        with pytest.raises(ValueError):
            optimizers.SGD(use_ema=True, **bad)


def test_gradient_accumulation_applies_the_mean_every_n_calls():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.1, gradient_accumulation_steps=3)
    grads = [G, 2 * G, -G]
    for call, g in enumerate(grads, start=1):
        optimizer.apply_gradients([(g, w)])
        if call < 3:
            np.testing.assert_array_equal(w.numpy(), W)
            assert int(optimizer.iterations) == 0
    np.testing.assert_allclose(w.numpy(), W - 0.1 * np.mean(grads, axis=0), rtol=1e-6)
    assert int(optimizer.iterations) == 1 and int(optimizer._iterations) == 3
    np.testing.assert_array_equal(optimizer.variables[2].numpy(), 0)  # accumulator reset
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.SGD(gradient_accumulation_steps=1)


def test_accumulation_keeps_slots_until_the_update_step():
    w = _variable()
    optimizer = optimizers.Adam(learning_rate=0.1, gradient_accumulation_steps=2)
    optimizer.apply_gradients([(G, w)])
    momentum = next(v for v in optimizer.variables if v.path.endswith("momentum"))
    np.testing.assert_array_equal(momentum.numpy(), 0)
    optimizer.apply_gradients([(G, w)])
    np.testing.assert_allclose(momentum.numpy(), 0.1 * G, rtol=1e-6)


def test_constraints_apply_after_the_update():
    w = _variable(constraint=lamina.constraints.NonNeg())
    optimizers.SGD(learning_rate=1.0).apply_gradients([(G, w)])
    np.testing.assert_allclose(w.numpy(), np.maximum(W - G, 0))
    v = _variable(constraint=lambda x: jnp.clip(x, -1.0, 1.0), name="v")

    @lamina.function
    def step():
        optimizers_sgd.apply_gradients([(jnp.asarray(G), v)])

    optimizers_sgd = optimizers.SGD(learning_rate=1.0)
    step()
    np.testing.assert_allclose(v.numpy(), np.clip(W - G, -1, 1))


def test_none_gradients_are_skipped_with_a_warning():
    w1, w2 = _variable(name="a"), _variable(name="b")
    optimizer = optimizers.Adam(learning_rate=0.1)
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['b'\]"):
        optimizer.apply_gradients([(G, w1), (None, w2)])
    np.testing.assert_array_equal(w2.numpy(), W)
    assert len(optimizer.variables) == 6  # slots exist for both, as in Keras
    before = _snapshot(optimizer, [w1, w2])
    with pytest.raises(ValueError, match="No gradients provided"):
        optimizer.apply_gradients([(None, w1), (None, w2)])
    _assert_same(before, _snapshot(optimizer, [w1, w2]))


# ----------------------------------------------------------------------------- learning rate
def test_learning_rate_property_setter_and_iterations():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.5)
    assert isinstance(optimizer.learning_rate, lamina.Variable)
    assert optimizer.lr is optimizer.learning_rate
    optimizer.learning_rate = 0.1
    optimizer.apply_gradients([(G, w)])
    np.testing.assert_allclose(w.numpy(), W - 0.1 * G, rtol=1e-6)
    assert int(optimizer.iterations) == 1 and optimizer.iterations.dtype == "int32"
    for bad in (-0.1, float("nan"), "fast", None, True):
        with pytest.raises((ValueError, TypeError)):
            optimizers.SGD(learning_rate=bad)
    with pytest.raises(ValueError, match="non-negative"):
        optimizer.learning_rate = -1.0
    assert optimizers.SGD(learning_rate=1).learning_rate.dtype == "float32"  # ints accepted


def test_schedule_is_evaluated_at_iterations_and_cannot_take_a_float():
    w = _variable()
    schedule = optimizers.schedules.PiecewiseConstantDecay([0], [1.0, 0.1])
    optimizer = optimizers.SGD(learning_rate=schedule)
    assert len(optimizer.variables) == 1  # no learning-rate variable
    assert float(optimizer.learning_rate) == 1.0
    optimizer.apply_gradients([(G, w)])
    optimizer.apply_gradients([(G, w)])
    np.testing.assert_allclose(w.numpy(), W - 1.1 * G, rtol=1e-6)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        optimizer.learning_rate = 0.5


def test_callable_learning_rate_is_read_at_every_eager_step():
    w = _variable()
    rates = [0.1]
    optimizer = optimizers.SGD(learning_rate=lambda: rates[0])
    optimizer.apply_gradients([(G, w)])
    rates[0] = 1.0
    optimizer.apply_gradients([(G, w)])
    np.testing.assert_allclose(w.numpy(), W - 1.1 * G, rtol=1e-6)


def test_replacing_the_rate_by_a_schedule_updates_state_and_compiled_updates():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.1)
    optimizer.apply_gradients([(G, w)])
    optimizer.learning_rate = optimizers.schedules.ExponentialDecay(1.0, 1, 0.5)
    assert [v.name for v in optimizer.variables] == ["iteration"]
    optimizer.apply_gradients([(G, w)])  # step 1: 1.0 * 0.5 ** 1
    np.testing.assert_allclose(w.numpy(), W - 0.6 * G, rtol=1e-6)


# ----------------------------------------------------------------------------- eager compiled path
def test_eager_updates_are_compiled_once_and_match_op_by_op():
    grads = [G, 2 * G, -G, 0.5 * G]
    results = []
    for compiled in (True, False):
        w = _variable()
        optimizer = optimizers.Nadam(learning_rate=0.1, clipnorm=1.0, weight_decay=0.01)
        optimizer._compile_eager_calls = compiled
        for g in grads:
            optimizer.apply_gradients([(g, w)])
        results.append(w.numpy())
        if compiled:
            update = optimizer._compiled_calls["apply_gradients"][1]
            assert update.tracing_count == 2  # once to find the slots, once carrying them
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6, atol=1e-7)


def test_eager_updates_follow_changing_variable_sets_and_hyperparameters():
    def run(compiled):
        a, b = _variable(name="a"), _variable(name="b")
        optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.9)
        optimizer._compile_eager_calls = compiled
        optimizer.apply_gradients([(G, a), (G, b)])
        optimizer.apply_gradients([(G, b)])  # a subset of the built variables
        optimizer.apply_gradients([(2 * G, a), (G, b)])
        before = optimizer._compiled_calls.get("apply_gradients")
        optimizer.momentum = 0.5  # a hyperparameter changed between steps
        optimizer.apply_gradients([(G, b), (G, a)])  # another order
        return a.numpy(), b.numpy(), before, optimizer._compiled_calls.get("apply_gradients")

    *compiled, before, after = run(True)
    *eager, _, _ = run(False)
    for x, y in zip(compiled, eager):
        np.testing.assert_allclose(x, y, rtol=1e-6)
    assert before[1] is not after[1]  # the momentum change compiled a new update


def test_apply_with_grads_only_uses_the_built_variables():
    a, b = _variable(name="a"), _variable(name="b")
    optimizer = optimizers.SGD(learning_rate=0.1)
    with pytest.raises(ValueError, match="not built"):
        optimizer.apply([G, G])
    optimizer.build([a, b])
    optimizer.apply([G, 2 * G])
    np.testing.assert_allclose(b.numpy(), W - 0.2 * G, rtol=1e-6)


# ----------------------------------------------------------------------------- compiled and pure
def _dense_model():
    lamina.utils.set_random_seed(0)
    return lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])


def test_book_style_custom_loop_inside_keras_function():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(8, 3)), jnp.float32)
    y = jnp.asarray(np.random.default_rng(1).normal(size=(8, 2)), jnp.float32)
    results = []
    for compiled in (True, False):
        model = _dense_model()
        optimizer = optimizers.Adam(learning_rate=0.05)

        def loss_fn(x, y, model=model):
            return jnp.mean((model(x) - y) ** 2)

        def train_step(x, y, model=model, optimizer=optimizer, loss_fn=loss_fn):
            loss, grads = lamina.value_and_grad(loss_fn, model.trainable_variables)(x, y)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        step = lamina.function(train_step) if compiled else train_step
        losses = [float(step(x, y)) for _ in range(4)]
        assert losses[-1] < losses[0]
        assert int(optimizer.iterations) == 4 and len(optimizer.variables) == 6
        if compiled:
            assert step.tracing_count == 2  # the first call created the slots
        results.append([v.numpy() for v in model.trainable_variables + optimizer.variables])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_stateless_apply_is_pure_and_matches_apply():
    w = _variable()
    optimizer = optimizers.Adam(learning_rate=0.1, use_ema=True)
    with pytest.raises(ValueError, match="must be built"):
        optimizer.stateless_apply([], [G], [W])
    optimizer.build([w])
    state = [v.value for v in optimizer.variables]
    weights = [w.value]
    step = jax.jit(optimizer.stateless_apply)
    for _ in range(3):
        weights, state = step(state, [jnp.asarray(G)], weights)
    np.testing.assert_array_equal(w.numpy(), W)  # nothing was written
    assert int(optimizer.iterations) == 0
    for _ in range(3):
        optimizer.apply_gradients([(G, w)])
    np.testing.assert_allclose(weights[0], w.numpy(), rtol=1e-6)
    for value, variable in zip(state, optimizer.variables):
        np.testing.assert_allclose(value, variable.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="optimizer_variables"):
        optimizer.stateless_apply(state[:-1], [G], weights)
    with pytest.raises(ValueError, match="trainable_variables"):
        optimizer.stateless_apply(state, [G], weights * 2)


def test_stateless_apply_inside_lax_scan():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    optimizer.build([w])

    def body(carry, g):
        weights, state = carry
        return optimizer.stateless_apply(state, [g], weights), None

    state = [v.value for v in optimizer.variables]
    (weights, state), _ = jax.lax.scan(body, ([w.value], state), jnp.stack([G, G, G]))
    expected = _variable(name="reference")
    reference = optimizers.SGD(learning_rate=0.1, momentum=0.9)
    for _ in range(3):
        reference.apply_gradients([(G, expected)])
    np.testing.assert_allclose(weights[0], expected.numpy(), rtol=1e-6)
    assert int(state[0]) == 3


def test_apply_under_run_pure_writes_nothing():
    w = _variable()
    optimizer = optimizers.SGD(learning_rate=0.1)
    optimizer.build([w])
    variables = [w] + optimizer.variables
    _, new = run_pure(variables, [v.value for v in variables], optimizer.apply, [G])
    np.testing.assert_allclose(new[0], W - 0.1 * G, rtol=1e-6)
    np.testing.assert_array_equal(w.numpy(), W)
    assert int(new[1]) == 1 and int(optimizer.iterations) == 0


def test_traced_gradients_outside_a_scope_raise():
    w = _variable()
    optimizer = optimizers.SGD()

    def update(g):
        optimizer.apply_gradients([(g, w)])
        return g

    with pytest.raises(RuntimeError, match="stateless_apply"):
        jax.jit(update)(jnp.asarray(G))
    assert not optimizer.built


# ----------------------------------------------------------------------------- custom optimizers
class MomentumSGD(optimizers.Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.9, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        velocity = self.velocities[self._get_variable_index(variable)]
        self.assign(velocity, self.momentum * velocity - learning_rate * gradient)
        self.assign_add(variable, velocity)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


def _momentum_reference(steps):
    w, velocity = W.copy(), np.zeros_like(W)
    for _ in range(steps):
        velocity = np.float32(0.9) * velocity - np.float32(0.1) * G
        w = w + velocity
    return w


def test_custom_optimizer_eagerly_compiled_and_pure():
    w = _variable()
    optimizer = MomentumSGD(learning_rate=0.1)
    for _ in range(3):
        optimizer.apply_gradients([(G, w)])
    np.testing.assert_allclose(w.numpy(), _momentum_reference(3), rtol=1e-6)
    assert [v.path for v in optimizer.variables] == [
        "momentum_sgd/iteration", "momentum_sgd/learning_rate", "momentum_sgd/w_velocity"]

    v = _variable(name="v")
    compiled_optimizer = MomentumSGD(learning_rate=0.1)

    @lamina.function
    def step(g):
        compiled_optimizer.apply_gradients([(g, v)])

    for _ in range(3):
        step(jnp.asarray(G))
    np.testing.assert_allclose(v.numpy(), _momentum_reference(3), rtol=1e-6)

    restored = MomentumSGD.from_config(optimizer.get_config())
    assert restored.get_config() == optimizer.get_config()
    config = optimizers.serialize(optimizer)
    assert config["class_name"] == "MomentumSGD"
    again = optimizers.deserialize(config, custom_objects={"MomentumSGD": MomentumSGD})
    assert isinstance(again, MomentumSGD) and again.momentum == 0.9


def test_custom_optimizer_must_call_super_and_implement_update_step():
    class Forgetful(optimizers.Optimizer):
        def __init__(self):
            self.slot = lamina.Variable(0.0)

    with pytest.raises(RuntimeError, match="super"):
        Forgetful()

    class NoUpdate(optimizers.Optimizer):
        pass

    w = _variable()
    optimizer = NoUpdate(learning_rate=0.1)
    with pytest.raises(NotImplementedError, match="update_step"):
        optimizer.apply_gradients([(G, w)])
    np.testing.assert_array_equal(w.numpy(), W)
    assert int(optimizer.iterations) == 0


def test_failing_build_is_rolled_back():
    class BadBuild(optimizers.Optimizer):
        def build(self, var_list):
            super().build(var_list)
            self.add_variable((2,), name="ok")
            raise RuntimeError("boom")

    optimizer = BadBuild(learning_rate=0.1)
    with pytest.raises(RuntimeError, match="boom"):
        optimizer.apply_gradients([(G, _variable())])
    assert not optimizer.built and len(optimizer.variables) == 2


# ----------------------------------------------------------------------------- errors
def test_bad_inputs_raise_clear_errors_and_change_nothing():
    a, b = _variable(name="a"), _variable(name="b")
    optimizer = optimizers.Adam(learning_rate=0.1)
    optimizer.apply_gradients([(G, a), (G, b)])
    before = _snapshot(optimizer, [a, b])
    cases = [
        (lambda: optimizer.apply([G], [a, b]), ValueError, "1 gradients for 2 variables"),
        (lambda: optimizer.apply_gradients([(G, a), (np.ones(4, np.float32), b)]), ValueError,
         r"'b' has shape \(4,\), but the variable has shape \(3,\)"),
        (lambda: optimizer.apply_gradients([(G, a), (G, W)]), TypeError, "item 1"),
        (lambda: optimizer.apply_gradients([(G, a), (G, a)]), ValueError, "appears twice"),
        (lambda: optimizer.apply_gradients([(G, _variable(name="new"))]), ValueError,
         "Unknown variable 'new'"),
        (lambda: optimizer.apply_gradients([(np.array(["x"] * 3), a)]), TypeError, "'a'"),
        (lambda: optimizer.apply_gradients([G]), TypeError, "pairs"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
        _assert_same(before, _snapshot(optimizer, [a, b]))

    fresh = optimizers.Adam()
    counter = lamina.Variable(0, name="counter")
    with pytest.raises(TypeError, match="float variables"):
        fresh.apply_gradients([(np.zeros((), np.float32), counter)])
    assert not fresh.built and len(fresh.variables) == 2


def test_unknown_constructor_arguments():
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(bogus=1)
    with pytest.warns(UserWarning, match="decay"):
        optimizers.Adam(decay=0.1)
    with pytest.warns(DeprecationWarning, match="lr"):
        assert float(optimizers.SGD(lr=0.5).learning_rate) == 0.5


def test_empty_gradient_list_is_a_no_op():
    optimizer = optimizers.SGD()
    assert int(optimizer.apply_gradients([])) == 0
    assert optimizer.apply([], []) is None and not optimizer.built


# ----------------------------------------------------------------------------- state
def test_set_weights_and_own_variables_round_trip():
    w = _variable()
    optimizer = optimizers.Adam(learning_rate=0.1)
    with pytest.raises(ValueError, match="not built"):
        optimizer.set_weights([])
    optimizer.apply_gradients([(G, w)])
    store = {}
    optimizer.save_own_variables(store)
    other = optimizers.Adam(learning_rate=0.1)
    other.build([_variable(name="w2")])
    other.load_own_variables(store)
    for a, b in zip(optimizer.variables, other.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="shape"):
        other.set_weights([v.numpy() for v in other.variables[:-1]] + [np.zeros(2)])
    with pytest.raises(ValueError, match="3 arrays"):
        other.set_weights([v.numpy() for v in other.variables[:3]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizers.Adam().load_own_variables(store)
    assert "Skipping variable loading" in str(caught[0].message)


def test_setting_the_learning_rate_does_not_recompile():
    w = _variable()
    optimizer = optimizers.Adam(learning_rate=0.1)
    for rate in (0.1, 0.05, 0.01):
        optimizer.learning_rate = rate  # as a LearningRateScheduler callback does each epoch
        optimizer.apply_gradients([(G, w)])
    update = optimizer._compiled_calls["apply_gradients"][1]
    assert update.tracing_count == 2
