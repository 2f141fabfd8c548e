"""Finding metrics by name: get/serialize/deserialize, MeanMetricWrapper naming, and the
resolution `compile(metrics=...)` uses."""

import json

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.metrics.compile_utils import resolve_metric


def my_metric(y_true, y_pred):
    return jnp.abs(y_true - y_pred)


def test_get_serialize_deserialize():
    assert isinstance(keras.metrics.get("mse"), keras.metrics.MeanSquaredError)
    assert isinstance(keras.metrics.get("MAE"), keras.metrics.MeanAbsoluteError)
    assert isinstance(keras.metrics.get("accuracy"), keras.metrics.Accuracy)
    assert isinstance(keras.metrics.get("sparse_categorical_accuracy"),
                      keras.metrics.SparseCategoricalAccuracy)
    assert isinstance(keras.metrics.get("AUC"), keras.metrics.AUC)
    assert keras.metrics.get(my_metric) is my_metric
    assert keras.metrics.get(None) is None
    with pytest.raises(ValueError, match="Did you mean"):
        keras.metrics.get("precison")
    config = json.loads(json.dumps(keras.metrics.serialize(keras.metrics.AUC(curve="PR"))))
    assert config["module"] == "keras.metrics" and config["class_name"] == "AUC"
    assert keras.metrics.deserialize(config).curve == "PR"
    assert keras.metrics.serialize(keras.metrics.binary_accuracy)["config"] == "binary_accuracy"


def test_mean_metric_wrapper_keeps_the_function_name_and_kwargs():
    m = keras.metrics.MeanMetricWrapper(my_metric)
    assert m.name == "my_metric"
    assert float(m(np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]]))) == 2.0
    wrapper = keras.metrics.MeanMetricWrapper(keras.metrics.binary_accuracy, name="acc_7",
                                              threshold=0.7)
    config = json.loads(json.dumps(wrapper.get_config()))
    assert config["threshold"] == 0.7 and config["fn"]["config"] == "binary_accuracy"
    loaded = keras.metrics.MeanMetricWrapper.from_config(config)
    assert loaded._fn is keras.metrics.binary_accuracy and loaded.name == "acc_7"


@pytest.mark.parametrize("true_shape, pred_shape, expected", [
    ((8, 1), (8, 1), "BinaryAccuracy"),
    ((8,), (8, 1), "BinaryAccuracy"),
    ((8,), (8, 5), "SparseCategoricalAccuracy"),
    ((8, 1), (8, 5), "SparseCategoricalAccuracy"),
    ((8, 5), (8, 5), "CategoricalAccuracy"),
])
def test_accuracy_follows_shapes(true_shape, pred_shape, expected):
    for name in ("accuracy", "acc"):
        m = resolve_metric(name, jnp.zeros(true_shape), jnp.zeros(pred_shape))
        assert type(m).__name__ == expected and m.name == name


def test_accuracy_from_the_loss_when_shapes_are_unknown():
    assert type(resolve_metric("accuracy", loss="binary_crossentropy")).__name__ == \
        "BinaryAccuracy"
    assert type(resolve_metric("acc", loss=keras.losses.SparseCategoricalCrossentropy())
                ).__name__ == "SparseCategoricalAccuracy"
    assert type(resolve_metric("accuracy", loss=keras.losses.categorical_crossentropy)
                ).__name__ == "CategoricalAccuracy"
    with pytest.raises(ValueError, match="y_true and y_pred"):
        resolve_metric("accuracy", loss="mse")


def test_other_identifiers():
    for name, cls in (("mse", "MeanSquaredError"), ("mae", "MeanAbsoluteError"),
                      ("mape", "MeanAbsolutePercentageError"),
                      ("msle", "MeanSquaredLogarithmicError")):
        m = resolve_metric(name)
        assert type(m).__name__ == cls and m.name == name
    ce = resolve_metric("crossentropy", jnp.zeros((4,)), jnp.zeros((4, 3)))
    assert type(ce).__name__ == "SparseCategoricalCrossentropy" and ce.name == "crossentropy"
    assert type(resolve_metric("ce", jnp.zeros((4, 1)), jnp.zeros((4, 1)))).__name__ == \
        "BinaryCrossentropy"
    wrapped = resolve_metric(my_metric)
    assert isinstance(wrapped, keras.metrics.MeanMetricWrapper) and wrapped.name == "my_metric"
    precision = keras.metrics.Precision(name="p")
    assert resolve_metric(precision) is precision and precision.name == "p"
    assert isinstance(resolve_metric(keras.metrics.Recall), keras.metrics.Recall)
    with pytest.raises(ValueError, match="None"):
        resolve_metric(None)


def test_class_weight_to_sample_weight():
    from lamina.metrics.compile_utils import class_weight_to_sample_weight

    weights = {0: 0.5, 2: 3.0}
    np.testing.assert_array_equal(class_weight_to_sample_weight(np.array([0, 1, 2, 7]), weights),
                                  [0.5, 1.0, 3.0, 1.0])
    np.testing.assert_array_equal(
        class_weight_to_sample_weight(np.array([[0.0], [2.0]]), weights), [0.5, 3.0])
    one_hot = np.eye(3)[[2, 0, 1]]
    np.testing.assert_array_equal(class_weight_to_sample_weight(one_hot, weights),
                                  [3.0, 0.5, 1.0])
    # metrics= ignore sample weights, weighted_metrics= apply them: the same metric class
    # gives the unweighted or the weighted mean depending on what the trainer passes.
    y, p = np.array([0, 2, 2]), np.array([[0.9, 0.1, 0], [0.1, 0.9, 0], [0, 0.2, 0.8]])
    sample_weight = class_weight_to_sample_weight(y, weights)
    unweighted = keras.metrics.SparseCategoricalAccuracy()
    weighted = keras.metrics.SparseCategoricalAccuracy()
    assert float(unweighted(y, p)) == pytest.approx(2 / 3)
    assert float(weighted(y, p, sample_weight=sample_weight)) == pytest.approx(3.5 / 6.5)
