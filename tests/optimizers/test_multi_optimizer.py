"""OptimizerMap and MultiOptimizer: routing, Keras 3's numbers and file layout, pure form."""

import os

import jax
import numpy as np
import pytest

import lamina
from lamina import optimizers
from lamina._runtime.naming import name_scope

os.environ["KERAS_BACKEND"] = "jax"
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _keras():
    return pytest.importorskip("keras")


def _variable(scope, value, name="kernel"):
    with name_scope(scope):
        return lamina.Variable(np.asarray(value, "float32"), name=name)


# ----------------------------------------------------------------------------- OptimizerMap
def test_lookup_exact_key_then_one_pattern_then_default():
    adam, sgd, rmsprop = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    mapping = optimizers.OptimizerMap(default_optimizer=rmsprop)
    mapping["encoder/layer_0/dense"] = adam
    mapping["encoder/.*"] = sgd
    mapping["decoder"] = adam
    assert mapping["decoder"] is adam
    assert mapping["encoder/layer_0/dense"] is adam  # exact beats the pattern it also matches
    assert mapping["encoder/layer_0/attention/query"] is sgd
    assert mapping["decoder/layer_0/dense"] is rmsprop  # patterns match the whole path
    assert mapping(_variable("encoder", [1.0])) is sgd
    assert len(mapping) == 3 and list(mapping) == ["encoder/layer_0/dense", "encoder/.*",
                                                   "decoder"]
    del mapping["decoder"]
    assert mapping["decoder"] is rmsprop
    mapping[".*kernel"] = adam
    with pytest.raises(ValueError, match="Multiple optimizers assigned to variable encoder/k"):
        mapping["encoder/kernel"]


def test_map_refuses_bad_keys_values_and_nesting():
    sgd = optimizers.SGD()
    mapping = optimizers.OptimizerMap(sgd)
    mapping["a"] = sgd
    with pytest.raises(ValueError, match="'a' already exists"):
        mapping["a"] = optimizers.Adam()
    with pytest.raises(ValueError, match="key must be a string.*Received: key=3"):
        mapping[3] = sgd
    with pytest.raises(ValueError, match="not a valid regular expression"):
        mapping["dense/(kernel"] = sgd
    with pytest.raises(ValueError, match="must be a keras Optimizer.*'adam'"):
        mapping["b"] = "adam"
    with pytest.raises(ValueError, match="optimizer cannot be MultiOptimizer"):
        mapping["c"] = optimizers.MultiOptimizer(mapping)
    with pytest.raises(TypeError, match="default_optimizer.*Received: default_optimizer='sgd'"):
        optimizers.OptimizerMap("sgd")
    with pytest.raises(TypeError, match="optimizer_map.*Received: optimizer_map=\\[\\]"):
        optimizers.OptimizerMap(sgd, [])
    with pytest.raises(ValueError, match="must be a keras Optimizer"):
        optimizers.OptimizerMap(sgd, {"x": None})
    assert set(mapping) == {"a"}  # the refused items left it as it was


# ----------------------------------------------------------------------------- routing
def test_optimizers_are_listed_map_values_first_then_the_default():
    adam, sgd, default = optimizers.Adam(), optimizers.SGD(), optimizers.RMSprop()
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(
        default_optimizer=default, optimizer_map={"^dense_1/.*": adam, "^dense_2/.*": sgd}))
    w1, w2, w3 = (_variable(scope, [[1.0]]) for scope in ("dense_1", "dense_2", "other"))
    multi.build([w1, w2, w3])
    assert multi.optimizers == [adam, sgd, default]
    assert [o._trainable_variables for o in multi.optimizers] == [[w1], [w2], [w3]]


def test_apply_routes_each_gradient_and_counts_iterations():
    w1, w2, w3 = (_variable(s, [[v, v]]) for s, v in
                  (("dense_1", 2.0), ("dense_2", 3.0), ("other", 4.0)))
    first, second, default = optimizers.SGD(0.1), optimizers.SGD(1.0), optimizers.SGD(0.0)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(
        default_optimizer=default, optimizer_map={"^dense_1/.*": first, "^dense_2/.*": second}))
    ones = np.ones((1, 2), "float32")
    multi.apply([ones, ones, ones], [w1, w2, w3])
    np.testing.assert_allclose(w1.numpy(), [[1.9, 1.9]])
    np.testing.assert_allclose(w2.numpy(), [[2.0, 2.0]])
    np.testing.assert_allclose(w3.numpy(), [[4.0, 4.0]])
    multi.apply_gradients([(ones, w1)])  # a subset: only its optimizer steps
    np.testing.assert_allclose(w1.numpy(), [[1.8, 1.8]])
    assert int(multi.iterations) == 2
    assert [int(o.iterations) for o in multi.optimizers] == [2, 1, 1]


def test_a_function_can_choose_the_optimizer():
    adam, sgd = optimizers.Adam(1e-3), optimizers.SGD(1e-2)
    multi = optimizers.MultiOptimizer(lambda v: adam if "dense_1" in v.path else sgd)
    w1, w2 = _variable("dense_1", [[1.0]]), _variable("dense_2", [[1.0]])
    multi.apply_gradients([(np.ones((1, 1), "float32"), w1), (np.ones((1, 1), "float32"), w2)])
    assert multi.optimizers == [adam, sgd]
    np.testing.assert_allclose(w2.numpy(), [[0.99]])
    np.testing.assert_allclose(w1.numpy(), [[0.999]], rtol=1e-5)


def test_loss_scale_factor_is_set_on_every_inner_optimizer():
    adam = optimizers.Adam(loss_scale_factor=3.0)
    sgd = optimizers.SGD(0.1, loss_scale_factor=2.0)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd, {"^dense_1/.*": adam}),
                                      loss_scale_factor=5.0)
    assert adam.loss_scale_factor == sgd.loss_scale_factor == 5.0
    np.testing.assert_allclose(multi.scale_loss(2.0), 10.0)
    w = _variable("other", [[2.0, 2.0]])
    multi.apply([np.full((1, 2), 10.0, "float32")], [w])  # unscaled to 2.0 by the SGD
    np.testing.assert_allclose(w.numpy(), [[1.8, 1.8]])
    multi.loss_scale_factor = None
    assert adam.loss_scale_factor is None and sgd.loss_scale_factor is None


def test_callable_learning_rates_of_inner_optimizers_are_read_at_each_eager_step():
    rate = [0.1]
    sgd = optimizers.SGD(learning_rate=lambda: rate[0])
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd))
    w = _variable("dense", [1.0])
    one = np.ones(1, "float32")
    multi.apply_gradients([(one, w)])
    rate[0] = 0.5
    multi.apply_gradients([(one, w)])
    np.testing.assert_allclose(w.numpy(), [0.4])


def test_stateless_apply_is_pure_and_agrees_with_apply():
    def setup():
        first, second = optimizers.Adam(0.1), optimizers.SGD(0.5, momentum=0.9)
        multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(second,
                                                                  {"^dense_1/.*": first}))
        ws = [_variable("dense_1", [[2.0, 2.0]]), _variable("dense_2", [[3.0, 3.0]])]
        multi.build(ws)
        return multi, ws

    grads = [np.array([[1.0, -1.0]], "float32"), np.array([[0.5, 2.0]], "float32")]
    multi, ws = setup()
    state = [v.value for v in multi.variables]
    step = jax.jit(multi.stateless_apply)
    values = [w.value for w in ws]
    for _ in range(3):
        values, state = step(state, grads, values)
    np.testing.assert_array_equal(ws[0].numpy(), [[2.0, 2.0]])  # nothing assigned
    assert int(multi.iterations) == 0
    reference, reference_ws = setup()
    for _ in range(3):
        reference.apply(grads, reference_ws)
    for a, b in zip(values, reference_ws):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-6)
    for a, b in zip(state, reference.variables):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="optimizer_variables.*Received 2 values, expected"):
        multi.stateless_apply(state[:2], grads, values)


# ----------------------------------------------------------------------------- Keras 3
def _model_and_optimizer(k):
    optimizer = k.optimizers.MultiOptimizer(k.optimizers.OptimizerMap(
        default_optimizer=k.optimizers.SGD(0.1, momentum=0.9, name="sgd"),
        optimizer_map={".*dense_1/.*": k.optimizers.Adam(0.01, use_ema=True, name="adam"),
                       ".*unused/.*": k.optimizers.RMSprop(name="rmsprop")}),
        name="multi")
    model = k.Sequential([k.Input((3,)), k.layers.Dense(2, name="dense_1"),
                          k.layers.Dense(1, name="dense_2")], name="net")
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=1)
    return model, optimizer


def test_fit_state_and_files_match_keras(tmp_path):
    keras = _keras()
    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    y = np.ones((4, 1), "float32")
    theirs, their_optimizer = _model_and_optimizer(keras)
    ours, our_optimizer = _model_and_optimizer(lamina)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    for model in (theirs, ours):
        model.fit(x, y, epochs=2, batch_size=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6, atol=1e-7)
    assert [v.path for v in our_optimizer.variables] == [v.path for v in their_optimizer.variables]
    for a, b in zip(our_optimizer.variables, their_optimizer.variables):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=1e-6, atol=1e-7)
    # The optimizer with no variables never stepped; the others once per batch.
    assert [int(o.iterations) for o in our_optimizer.optimizers] == [4, 0, 4]
    assert our_optimizer.get_config() == their_optimizer.get_config()

    for source, target in ((ours, keras), (theirs, lamina)):
        path = str(tmp_path / f"{type(source).__module__.split('.')[0]}.keras")
        source.save(path)
        loaded = target.models.load_model(path)
        assert type(loaded.optimizer).__name__ == "MultiOptimizer"
        assert [type(o).__name__ for o in loaded.optimizer.optimizers] == [
            "Adam", "RMSprop", "SGD"]
        for a, b in zip(loaded.optimizer.variables, source.optimizer.variables):
            np.testing.assert_allclose(np.asarray(a.numpy()), np.asarray(b.numpy()), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                                   np.asarray(source.predict(x, verbose=0)), rtol=1e-6)


def test_config_round_trip_keeps_the_routing():
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(
        optimizers.RMSprop(1e-4), {"^dense_1/.*": optimizers.Adam(), "^dense_2/.*":
                                   optimizers.SGD(momentum=0.5)}), loss_scale_factor=2.0)
    config = optimizers.serialize(multi)
    assert config["class_name"] == "MultiOptimizer"
    assert config["config"]["optimizer_map"]["class_name"] == "OptimizerMap"
    rebuilt = optimizers.deserialize(config)
    ws = [_variable(s, [[1.0]]) for s in ("dense_1", "dense_2", "other")]
    rebuilt.build(ws)
    assert [type(o).__name__ for o in rebuilt.optimizers] == ["Adam", "SGD", "RMSprop"]
    assert rebuilt.optimizers[1].momentum == 0.5 and rebuilt.loss_scale_factor == 2.0
    assert optimizers.get(config).get_config() == multi.get_config()


# ----------------------------------------------------------------------------- with fit
def test_learning_rate_callbacks_act_on_each_inner_optimizer():
    first, second = optimizers.SGD(0.1), optimizers.SGD(0.01)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(second, {".*dense_1/.*": first}))
    with pytest.raises(AttributeError, match="individual sub-optimizers"):
        multi.learning_rate
    with pytest.raises(AttributeError, match="individual sub-optimizers"):
        multi.learning_rate = 0.5
    model = lamina.Sequential([lamina.Input((1,)), lamina.layers.Dense(2, name="dense_1"),
                               lamina.layers.Dense(1, name="dense_2")])
    model.compile(optimizer=multi, loss="mse")
    history = model.fit(np.ones((2, 1)), np.zeros((2, 1)), epochs=2, verbose=0, callbacks=[
        lamina.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)])
    np.testing.assert_allclose([float(first.learning_rate), float(second.learning_rate)],
                               [0.025, 0.0025])
    assert "learning_rate_" + first.name in history.history


def test_a_changed_inner_optimizer_recompiles_the_step():
    sgd = optimizers.SGD(1.0)
    model = lamina.Sequential([lamina.Input((1,)),
                               lamina.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd)), loss="mse")
    x, y = np.ones((1, 1), "float32"), np.full((1, 1), 10.0, "float32")
    model.fit(x, y, verbose=0)  # gradient -20: the kernel moves to 20
    sgd.clipvalue = 1.0  # from now on, a step of at most 1
    model.fit(x, y, verbose=0)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), [[19.0]])


# ----------------------------------------------------------------------------- bad input
def test_bad_maps_are_refused_before_anything_is_built():
    with pytest.raises(TypeError, match="optimizer_map.*Received: optimizer_map='adam'"):
        optimizers.MultiOptimizer("adam")
    with pytest.raises(TypeError, match="pass that optimizer to compile"):
        optimizers.MultiOptimizer(optimizers.Adam())
    adam = optimizers.Adam()
    multi = optimizers.MultiOptimizer(lambda v: adam if "dense_1" in v.path else None)
    w1, w2 = _variable("dense_1", [1.0]), _variable("dense_2", [1.0])
    with pytest.raises(ValueError, match="Optimizer for variable dense_2/kernel is not an "
                                         "Optimizer instance.*None"):
        multi.build([w1, w2])
    assert not multi.built and not adam.built and len(adam.variables) == 2
    inner = optimizers.MultiOptimizer(optimizers.OptimizerMap(optimizers.SGD()))
    with pytest.raises(ValueError, match="MultiOptimizer cannot be used inside an "
                                         "MultiOptimizer"):
        optimizers.MultiOptimizer(lambda v: inner).build([w1])
    used = optimizers.SGD()
    used.build([w1])
    with pytest.raises(ValueError, match="already built"):
        optimizers.MultiOptimizer(optimizers.OptimizerMap(used)).build([w2])


def test_a_failing_inner_build_rolls_the_others_back():
    class Broken(optimizers.SGD):
        def build(self, var_list):
            raise RuntimeError("no slots today")

    adam, broken = optimizers.Adam(), Broken()
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(broken, {"^dense_1/.*": adam}))
    with pytest.raises(RuntimeError, match="no slots today"):
        multi.build([_variable("dense_1", [1.0]), _variable("dense_2", [1.0])])
    assert not adam.built and len(adam.variables) == 2 and not multi.built


def test_an_optimizer_both_mapped_and_default_is_saved_and_loaded_once(tmp_path):
    sgd = optimizers.SGD(0.1, momentum=0.5)
    multi = optimizers.MultiOptimizer(optimizers.OptimizerMap(sgd, {".*dense_1/.*": sgd}))
    assert multi.optimizers == [sgd]
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1, name="dense_1")])
    model.compile(optimizer=multi, loss="mse")
    model.fit(np.ones((2, 2)), np.zeros((2, 1)), verbose=0)
    model.save(str(tmp_path / "model.keras"))
    loaded = lamina.models.load_model(str(tmp_path / "model.keras"))
    assert len(loaded.optimizer.optimizers) == 1
    for a, b in zip(loaded.optimizer.variables, multi.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
