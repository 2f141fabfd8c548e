"""The Stateful base: one tracker, versions that change exactly when compiled code is stale,
one cache of compiled eager calls, and eager calls agreeing with `fit`/`predict` after a change.
"""

import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina._runtime.stateful import Stateful


class Scaled(keras.Model):
    """A subclassed model whose call reads a plain Python attribute."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = 2.0
        self.dense = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)

    def call(self, x):
        return self.dense(x) * self.scale


def test_changed_plain_attribute_reaches_eager_calls_and_predict():
    model = Scaled()
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(model(x), 6.0)
    np.testing.assert_allclose(model(x), 6.0)  # the compiled forward is cached now
    model.scale = 3.0
    np.testing.assert_allclose(model(x), 9.0)
    np.testing.assert_allclose(model.predict(x, verbose=0), 9.0)
    np.testing.assert_allclose(model.predict(np.ones((40, 3), "float32"), verbose=0), 9.0)
    model.scale = 0.5
    np.testing.assert_allclose(model.predict(np.ones((40, 3), "float32"), verbose=0), 1.5)
    np.testing.assert_allclose(model(x), 1.5)


def test_unchanged_model_keeps_its_compiled_programs_when_other_layers_are_built():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    model.fit(x, y, batch_size=4, verbose=0)
    model(x)
    programs = dict(model._programs)
    forward = model._compiled_calls["call"]
    keras.layers.Dense(5)(np.ones((1, 4), "float32"))  # an unrelated layer, built
    keras.Sequential([keras.layers.Dense(3)]).build((None, 2))
    model.fit(x, y, batch_size=4, verbose=0)
    model(x)
    assert list(model._programs.values()) == list(programs.values())
    assert model._compiled_calls["call"][1] is forward[1]


def test_a_changed_sublayer_makes_its_owners_programs_stale():
    inner = keras.layers.Dense(2)
    model = keras.Sequential([keras.Input((3,)), inner])
    before = model._version
    inner.some_setting = 1  # a plain attribute of a sublayer, set outside any trace
    assert model._version > before
    unrelated = keras.layers.Dense(2)
    after = model._version
    unrelated.some_setting = 1
    assert model._version == after


def test_changed_clipvalue_is_honoured_by_fit_as_by_eager_updates():
    def train(with_fit):
        keras.utils.set_random_seed(1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
        x, y = np.ones((4, 3), "float32"), np.full((4, 1), 100.0, "float32")
        model.fit(x, y, batch_size=4, verbose=0)
        model.optimizer.clipvalue = 0.001
        before = model.get_weights()
        if with_fit:
            model.fit(x, y, batch_size=4, verbose=0)
        else:
            grads = keras.grad(lambda: jnp.mean((model(x) - y) ** 2),
                               model.trainable_variables)()
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return [w - b for w, b in zip(model.get_weights(), before)]

    for changes in (train(True), train(False)):
        for change in changes:
            # learning rate 1, so each step moves a weight by the clipped gradient, 0.001
            np.testing.assert_allclose(np.abs(change), 0.001, rtol=0.02)


class Above(keras.metrics.Metric):
    """The fraction of predictions above `threshold`, a plain attribute read by update_state."""

    def __init__(self, threshold=0.5, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.hits = self.add_weight("hits")
        self.count = self.add_weight("count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.hits.assign_add(jnp.sum(y_pred > self.threshold))
        self.count.assign_add(jnp.size(y_pred))

    def result(self):
        return self.hits / self.count


def test_changed_metric_setting_is_honoured_by_evaluate_and_eager_calls():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(
        1, kernel_initializer="ones", use_bias=False)])
    above = Above(0.5, name="above")
    model.compile(optimizer="sgd", loss="mse", metrics=[above])
    x = np.array([[0.6], [0.6]], "float32")
    y = np.ones((2, 1), "float32")
    assert model.evaluate(x, y, verbose=0, return_dict=True)["above"] == 1.0
    above.threshold = 0.7
    assert model.evaluate(x, y, verbose=0, return_dict=True)["above"] == 0.0
    above.reset_state()
    assert float(above(y, x)) == 0.0
    above.threshold = 0.1
    assert float(above(y, x)) == 0.5


def test_eager_metric_and_optimizer_calls_share_one_versioned_cache():
    metric = keras.metrics.Mean()
    metric.update_state(np.ones(3))
    entry = metric._compiled_calls["update_state"]
    metric.update_state(np.ones(3))
    assert metric._compiled_calls["update_state"][1] is entry[1]  # same version, same program
    optimizer = keras.optimizers.SGD(0.1)
    w = keras.Variable(np.ones(2, "float32"))
    optimizer.apply_gradients([(np.ones(2, "float32"), w)])
    entry = optimizer._compiled_calls["apply_gradients"]
    optimizer.learning_rate = 0.5  # a Variable assignment: read at run time, no recompile
    optimizer.apply_gradients([(np.ones(2, "float32"), w)])
    assert optimizer._compiled_calls["apply_gradients"][1] is entry[1]
    np.testing.assert_allclose(w.numpy(), 1.0 - 0.1 - 0.5)


def test_code_that_needs_values_runs_op_by_op_with_one_warning():
    class Branchy(keras.Model):
        def call(self, x):
            if float(jnp.sum(x)) > 0:  # Python control flow on a value
                return x * 2
            return x

    model = Branchy()
    model(np.ones((1, 2), "float32"))  # builds the model, op by op
    with pytest.warns(UserWarning, match="cannot be compiled.*op by op"):
        model(np.ones((1, 2), "float32"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(model(np.ones((1, 2), "float32")), 2.0)
        np.testing.assert_allclose(model(-np.ones((1, 2), "float32")), -1.0)


def test_tracked_attributes_before_super_init_are_refused_with_one_message():
    for base, make in ((keras.layers.Layer, lambda: keras.Variable(1.0)),
                       (keras.metrics.Metric, lambda: keras.Variable(1.0)),
                       (keras.optimizers.Optimizer, lambda: keras.Variable(1.0))):
        class Early(base):
            def __init__(self):
                self.v = make()

        with pytest.raises(RuntimeError, match=r"before super\(\).__init__\(\) was called"):
            Early()


def test_every_stateful_kind_shares_the_base():
    assert issubclass(keras.layers.Layer, Stateful)
    assert issubclass(keras.metrics.Metric, Stateful)
    assert issubclass(keras.optimizers.Optimizer, Stateful)
    assert issubclass(keras.Model, Stateful)


def test_pickled_and_copied_models_keep_their_owner_links_and_drop_compiled_calls():
    import copy
    import pickle

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    x = np.ones((1, 3), "float32")
    expected = model(x)
    model(x)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert clone._compiled_calls == {}
        dense = clone.layers[0]
        assert clone in dense._owners and model not in dense._owners
        before = clone._version
        dense.some_setting = 1  # still reaches its new owner
        assert clone._version > before
        np.testing.assert_allclose(clone(x), expected)
