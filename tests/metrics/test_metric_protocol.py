"""The Metric protocol: the book's examples, state Variables, the three ways of running a metric
(eagerly, inside keras.function, purely), failure atomicity, configs and tracking."""

import json
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
import lamina as keras
from lamina.compat import tf
from lamina.metrics.base import ensure_built

sys.path.insert(0, os.path.dirname(__file__))
from _metric_cases import CASES, LAZY, make_batches  # noqa: E402

IDS = [c[0] for c in CASES]
# One case per metric class for the three-way comparison (variants share the update code).
_seen = set()
ONE_PER_CLASS = []
for _case in CASES:
    _name = _case[0].split("_")[0]
    if _name not in _seen:
        _seen.add(_name)
        ONE_PER_CLASS.append(_case)


# ------------------------------------------------------------------------------ the book
def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < threshold
        squared_loss = tf.square(error) / 2
        linear_loss = threshold * tf.abs(error) - threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)
    return huber_fn


class HuberMetric(keras.metrics.Metric):
    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)  # handles base args (e.g., dtype)
        self.threshold = threshold
        self.huber_fn = create_huber(threshold)
        self.total = self.add_weight("total", initializer="zeros")
        self.count = self.add_weight("count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        metric = self.huber_fn(y_true, y_pred)
        self.total.assign_add(tf.reduce_sum(metric))
        self.count.assign_add(tf.cast(tf.size(y_true), tf.float32))

    def result(self):
        return self.total / self.count

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


def test_book_precision():
    precision = keras.metrics.Precision()
    assert float(precision([0, 1, 1, 1, 0, 1, 0, 1], [1, 1, 0, 1, 0, 1, 0, 1])) == \
        pytest.approx(0.8, abs=1e-6)
    assert float(precision([0, 1, 0, 0, 1, 0, 1, 1], [1, 0, 1, 1, 0, 0, 0, 0])) == \
        pytest.approx(0.5, abs=1e-6)
    assert float(precision.result()) == pytest.approx(0.5, abs=1e-6)
    assert [v.name for v in precision.variables] == ["true_positives", "false_positives"]
    assert [v.numpy().tolist() for v in precision.variables] == [[4.0], [4.0]]
    precision.reset_states()
    assert [v.numpy().tolist() for v in precision.variables] == [[0.0], [0.0]]


def test_book_huber_metric():
    m = HuberMetric(2.0)
    assert float(m(tf.constant([[2.0]]), tf.constant([[10.0]]))) == 14.0
    assert float(m(tf.constant([[0.0], [5.0]]), tf.constant([[1.0], [9.25]]))) == 7.0
    assert [v.path for v in m.variables] == ["huber_metric/total", "huber_metric/count"]
    assert m.get_config() == {"name": "huber_metric", "dtype": "float32", "threshold": 2.0}
    clone = HuberMetric.from_config(m.get_config())
    assert clone.threshold == 2.0
    config = json.loads(json.dumps(keras.metrics.serialize(m)))
    loaded = keras.metrics.deserialize(config, custom_objects={"HuberMetric": HuberMetric})
    assert isinstance(loaded, HuberMetric) and loaded.threshold == 2.0
    m.reset_state()
    assert [float(v.numpy()) for v in m.variables] == [0.0, 0.0]


# ------------------------------------------------------------------------------ state
def test_add_weight_and_add_variable():
    class Counts(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.a = self.add_weight("a", initializer="zeros")  # Keras 2 / book order
            self.b = self.add_weight(shape=(2,), initializer="ones", name="b")
            self.c = self.add_variable((3,), "zeros", dtype="int32", name="c")
            self.d = self.add_weight("d", (2, 2))

    m = Counts(name="counts")
    assert [v.shape for v in m.variables] == [(), (2,), (3,), (2, 2)]
    assert [v.path for v in m.variables] == ["counts/a", "counts/b", "counts/c", "counts/d"]
    assert all(not v.trainable and v.aggregation == "sum" for v in m.variables)
    assert m.variables[2].dtype == "int32"
    np.testing.assert_array_equal(m.variables[1].numpy(), [1.0, 1.0])


def test_variables_assigned_as_attributes_and_nested_metrics_are_tracked():
    class Pair(keras.metrics.Metric):
        def __init__(self):
            super().__init__(name="pair")
            self.extra = keras.Variable(0.0, name="extra", trainable=False)
            self.inner = keras.metrics.Mean(name="inner")

        def update_state(self, x):
            self.extra.assign_add(1.0)
            self.inner.update_state(x)

        def result(self):
            return self.inner.result() + self.extra

    m = Pair()
    assert [v.name for v in m.variables] == ["extra", "total", "count"]
    assert float(m(jnp.array([1.0, 3.0]))) == 3.0
    assert float(m.stateless_result([1.0, 10.0, 2.0])) == 6.0


def test_builtin_state_declares_sum_aggregation():
    for case_id, factory, kind in CASES:
        metric = factory(lamina.metrics)
        args, kwargs = make_batches(kind, count=1)[0]
        if case_id in LAZY:
            ensure_built(metric, *args)
        assert metric.variables, case_id
        assert all(v.aggregation == "sum" and not v.trainable for v in metric.variables)


def test_metric_is_not_a_layer_but_layers_track_it():
    assert not isinstance(keras.metrics.Mean(), keras.layers.Layer)

    class WithMetric(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.tracker = keras.metrics.Mean(name="tracker")

        def call(self, x):
            self.tracker.update_state(x)
            return x

    layer = WithMetric()
    assert layer.metrics == [layer.tracker]
    assert layer.metrics_variables == layer.tracker.variables


def test_missing_super_init_is_explained():
    class Broken(keras.metrics.Metric):
        def __init__(self):
            pass

    with pytest.raises(RuntimeError, match="super"):
        Broken()(1.0)


# ------------------------------------------------------------------------------ three ways
def _stream_eagerly(metric, batches):
    for args, kwargs in batches:
        metric.update_state(*args, **kwargs)
    return np.asarray(metric.result())


def _stream_in_function(metric, batches):
    @keras.function
    def step(*args, **kwargs):
        metric.update_state(*args, **kwargs)
        return metric.result()

    for args, kwargs in batches:
        result = step(*args, **kwargs)
    return np.asarray(result)


def _stream_statelessly(metric, batches):
    ensure_built(metric, *batches[0][0])
    values = [v.value for v in metric.variables]
    update = jax.jit(metric.stateless_update_state)
    for args, kwargs in batches:
        values = update(values, *args, **kwargs)
    return np.asarray(jax.jit(metric.stateless_result)(values))


@pytest.mark.parametrize("case_id, factory, kind", ONE_PER_CLASS,
                         ids=[c[0] for c in ONE_PER_CLASS])
def test_eager_function_and_stateless_agree(case_id, factory, kind):
    # Weighted batches only, so each path compiles one update (unweighted updates are compared
    # with Keras in test_keras_parity.py).
    batches = [(args, {"sample_weight": make_batches(kind, count=2)[1][1]["sample_weight"]})
               for args, _ in make_batches(kind, seed=3, count=2)]
    eager = _stream_eagerly(factory(lamina.metrics), batches)
    compiled = _stream_in_function(factory(lamina.metrics), batches)
    stateless_metric = factory(lamina.metrics)
    pure = _stream_statelessly(stateless_metric, batches)
    np.testing.assert_allclose(compiled, eager, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(pure, eager, rtol=1e-6, atol=1e-6)
    # The pure path left the Variables alone.
    for variable, value in zip(stateless_metric.variables,
                               stateless_metric.stateless_reset_state()):
        np.testing.assert_array_equal(variable.numpy(), np.asarray(value))


@pytest.mark.parametrize("case_id, factory, kind", CASES, ids=IDS)
def test_config_round_trip(case_id, factory, kind):
    metric = factory(lamina.metrics)
    clone = type(metric).from_config(metric.get_config())
    assert json.dumps(clone.get_config(), default=str) == \
        json.dumps(metric.get_config(), default=str)
    config = json.loads(json.dumps(lamina.metrics.serialize(metric), default=lambda a: a.tolist()))
    loaded = lamina.metrics.deserialize(config)
    assert type(loaded) is type(metric)
    assert json.dumps(loaded.get_config(), default=str) == \
        json.dumps(metric.get_config(), default=str)


@pytest.mark.parametrize("case_id, factory, kind", ONE_PER_CLASS,
                         ids=[c[0] for c in ONE_PER_CLASS])
def test_result_before_any_update_is_zero(case_id, factory, kind):
    result = np.asarray(factory(lamina.metrics).result())
    assert not np.isnan(result).any()
    np.testing.assert_array_equal(result, np.zeros_like(result))


def test_eager_calls_are_compiled_once():
    traces = []

    class Counting(keras.metrics.Mean):
        def update_state(self, values, sample_weight=None):
            traces.append(1)
            super().update_state(values, sample_weight)

    m = Counting()
    for i in range(20):
        m.update_state(np.full((4,), float(i), "float32"))
    assert float(m.result()) == pytest.approx(9.5)
    assert len(traces) <= 2  # a first trace finds the Variables, the second compiles
    m.update_state(np.zeros((7,), "float32"))  # a new shape: one more trace
    assert len(traces) <= 3


def test_changing_an_attribute_recompiles():
    class Scaled(keras.metrics.Mean):
        scale = 1.0

        def update_state(self, values):
            super().update_state(jnp.asarray(values) * self.scale)

    m = Scaled()
    m.update_state([1.0])
    m.scale = 10.0
    m.update_state([1.0])
    assert float(m.result()) == 5.5


def test_python_that_needs_values_runs_op_by_op():
    class NeedsValues(keras.metrics.Metric):
        def __init__(self):
            super().__init__()
            self.positives = self.add_weight("positives")

        def update_state(self, values):
            if float(np.sum(values)) > 0:  # not traceable: runs eagerly instead
                self.positives.assign_add(1.0)

        def result(self):
            return self.positives.value

    m = NeedsValues()
    m.update_state(np.array([1.0, 2.0]))
    m.update_state(np.array([-1.0]))
    m.update_state(np.array([3.0]))
    assert float(m.result()) == 2.0


# ------------------------------------------------------------------------------ failures
def _values(metric):
    return [v.numpy().copy() for v in metric.variables]


def test_update_that_raises_leaves_state_unchanged_in_every_mode():
    m = keras.metrics.MeanSquaredError()
    m.update_state(np.ones((4, 3)), np.zeros((4, 3)))
    before = _values(m)
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(4, 3\).*\(4, 2\)"):
        m.update_state(np.ones((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="sample_weight"):
        m.update_state(np.ones((4, 3)), np.zeros((4, 3)), sample_weight=np.ones((3,)))
    step = keras.function(lambda a, b: m.update_state(a, b))
    with pytest.raises(ValueError, match=r"\(4, 2\)"):
        step(np.ones((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError):
        m.stateless_update_state([v.value for v in m.variables], np.ones((4, 3)),
                                 np.zeros((4, 2)))
    for a, b in zip(before, _values(m)):
        np.testing.assert_array_equal(a, b)

    class FailsAfterAssigning(keras.metrics.Metric):
        def __init__(self):
            super().__init__()
            self.total = self.add_weight("total")

        def update_state(self, values):
            self.total.assign_add(float(np.sum(values)))  # runs op by op
            raise RuntimeError("late failure")

        def result(self):
            return self.total.value

    late = FailsAfterAssigning()
    for _ in range(2):
        with pytest.raises(RuntimeError, match="late failure"):
            late.update_state(np.array([5.0]))
    assert float(late.result()) == 0.0


def test_out_of_range_sparse_labels():
    m = keras.metrics.SparseCategoricalCrossentropy()
    probabilities = np.array([[0.2, 0.8], [0.5, 0.5]], "float32")
    m.update_state(np.array([0, 1]), probabilities)
    before = _values(m)
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy.*\[0, 2\)"):
        m.update_state(np.array([0, 2]), probabilities)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        m(np.array([-1, 0]), probabilities)
    for a, b in zip(before, _values(m)):
        np.testing.assert_array_equal(a, b)
    # Under jit the values cannot be checked: the out-of-range entry contributes 0.
    jitted = keras.metrics.SparseCategoricalCrossentropy()
    keras.function(lambda a, b: jitted.update_state(a, b))(np.array([0, 2]), probabilities)
    assert float(jitted.result()) == pytest.approx(-np.log(0.2) / 2, rel=1e-6)


def test_integer_predictions_give_numbers_not_nan():
    m = keras.metrics.MeanSquaredError()
    assert float(m(np.array([[1, 2]]), np.array([[1, 4]]))) == 2.0
    assert float(keras.metrics.AUC()(np.array([0, 1, 1]), np.array([0, 1, 0]))) == 0.75
    bce = keras.metrics.BinaryCrossentropy()(np.array([[0, 1]]), np.array([[0, 1]]))
    assert np.isfinite(float(bce))


def test_stateless_api_checks_lengths():
    m = keras.metrics.Mean()
    with pytest.raises(ValueError, match="expected 2 variables"):
        m.stateless_update_state([jnp.zeros(())], jnp.ones(3))
    with pytest.raises(ValueError, match="expected 2 variables"):
        m.stateless_result([])
    values = m.stateless_update_state([jnp.zeros(()), jnp.zeros(())], jnp.array([1.0, 3.0]))
    assert float(m.stateless_result(values)) == 2.0
    assert [float(v) for v in m.stateless_reset_state()] == [0.0, 0.0]
    assert float(m.result()) == 0.0


def test_ensure_built_creates_lazy_state_without_changing_it():
    f1 = keras.metrics.F1Score()
    assert f1.variables == []
    spec = jax.ShapeDtypeStruct((8, 3), "float32")
    ensure_built(f1, spec, spec)
    assert [v.name for v in f1.variables] == [
        "true_positives", "false_positives", "false_negatives", "intermediate_weights"]
    assert all(float(jnp.sum(v.value)) == 0 for v in f1.variables)


# ------------------------------------------------------------------------------ cost
@pytest.mark.parametrize("case", ONE_PER_CLASS, ids=[c[0] for c in ONE_PER_CLASS])
def test_reset_state_compiles_nothing(case, caplog):
    # fit resets every metric at its start; a jnp op there would compile an XLA program per
    # new shape and dtype, paid in the first epoch.
    _, factory, kind = case
    metric = factory(keras.metrics)
    args, kwargs = make_batches(kind)[0]
    metric.update_state(*args, **kwargs)
    with caplog.at_level("WARNING", logger="jax"), jax.log_compiles(True):
        metric.reset_state()
    compiled = [r.getMessage()[:80] for r in caplog.records if "Compiling" in r.getMessage()]
    assert compiled == []
    assert all(float(jnp.sum(v.value)) == 0.0 for v in metric.variables)


def test_reset_state_keeps_a_bfloat16_state_in_bfloat16():
    m = keras.metrics.Mean(dtype="bfloat16")
    m.update_state([1.0, 2.0])
    m.reset_state()
    assert [v.dtype for v in m.variables] == ["bfloat16", "bfloat16"]
    assert float(m.result()) == 0.0
