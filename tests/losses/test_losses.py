"""Losses: hand-computed values, reductions and sample weights, errors, configs, the book's
custom losses, and lookup by name."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.compat import tf


# ------------------------------------------------------------------------------ the book
def huber_fn(y_true, y_pred):
    error = y_true - y_pred
    is_small_error = tf.abs(error) < 1
    squared_loss = tf.square(error) / 2
    linear_loss = tf.abs(error) - 0.5
    return tf.where(is_small_error, squared_loss, linear_loss)


def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < threshold
        squared_loss = tf.square(error) / 2
        linear_loss = threshold * tf.abs(error) - threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)
    return huber_fn


class HuberLoss(keras.losses.Loss):
    def __init__(self, threshold=1.0, **kwargs):
        self.threshold = threshold
        super().__init__(**kwargs)

    def call(self, y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < self.threshold
        squared_loss = tf.square(error) / 2
        linear_loss = self.threshold * tf.abs(error) - self.threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


def test_book_huber_functions_and_class():
    y_true = tf.constant([[0.0], [5.0]])
    y_pred = tf.constant([[0.5], [9.25]])
    np.testing.assert_allclose(huber_fn(y_true, y_pred), [[0.125], [3.75]])
    np.testing.assert_allclose(create_huber(2.0)(y_true, y_pred), [[0.125], [6.5]])
    loss = HuberLoss(2.0)
    assert float(loss(y_true, y_pred)) == pytest.approx((0.125 + 6.5) / 2)
    assert loss.get_config() == {"name": "huber_loss", "reduction": "sum_over_batch_size",
                                 "threshold": 2.0}
    config = json.loads(json.dumps(keras.losses.serialize(loss)))
    loaded = keras.losses.deserialize(config, custom_objects={"HuberLoss": HuberLoss})
    assert isinstance(loaded, HuberLoss) and loaded.threshold == 2.0
    wrapped = keras.losses.LossFunctionWrapper(create_huber(2.0))
    assert float(wrapped(y_true, y_pred)) == pytest.approx((0.125 + 6.5) / 2)


def test_custom_loss_works_under_jit_and_grad():
    loss = HuberLoss(2.0)
    w = keras.Variable([[1.0]])

    def objective():
        return loss(jnp.array([[0.0], [5.0]]), jnp.array([[0.5], [9.25]]) * w)

    value, grads = keras.value_and_grad(objective, [w])()
    assert float(value) == pytest.approx(3.3125)
    assert jnp.isfinite(grads[0]).all()
    assert float(jax.jit(lambda a, b: loss(a, b))(jnp.zeros((2, 1)), jnp.ones((2, 1)))) == 0.5


# ------------------------------------------------------------------------------ reductions
Y_TRUE = np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 1.0]], "float32")
Y_PRED = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 3.0]], "float32")
PER_SAMPLE = np.array([0.5, 0.5, 2.0])  # mean squared error per row


@pytest.mark.parametrize("reduction, sample_weight, expected", [
    ("sum_over_batch_size", None, PER_SAMPLE.mean()),
    ("mean", None, PER_SAMPLE.mean()),
    ("sum", None, PER_SAMPLE.sum()),
    ("none", None, PER_SAMPLE),
    (None, None, PER_SAMPLE),
    # Weighted sum divided by the number of samples, not by the weights' sum (Keras 3).
    ("sum_over_batch_size", [1.0, 0.0, 2.0], (0.5 + 4.0) / 3),
    ("sum", [1.0, 0.0, 2.0], 4.5),
    ("mean_with_sample_weight", [1.0, 0.0, 2.0], 4.5 / 3.0),
    ("none", [1.0, 0.0, 2.0], [0.5, 0.0, 4.0]),
    # A (batch, 1) weight scales (batch,) values; a scalar weight scales everything.
    ("sum", [[1.0], [0.0], [2.0]], 4.5),
    ("sum", 2.0, 6.0),
])
def test_reductions_and_sample_weights(reduction, sample_weight, expected):
    loss = keras.losses.MeanSquaredError(reduction=reduction)
    np.testing.assert_allclose(loss(Y_TRUE, Y_PRED, sample_weight=sample_weight), expected,
                               rtol=1e-6)


def test_invalid_reduction():
    with pytest.raises(ValueError, match="reduction"):
        keras.losses.MeanSquaredError(reduction="average")


def test_dtype_casting():
    loss = keras.losses.MeanAbsoluteError(dtype="float16")
    assert loss.dtype == "float16"
    assert loss(np.array([[1, 2]]), np.array([[1.0, 4.0]])).dtype == jnp.float16
    # Integer labels and predictions are computed in floats.
    assert float(keras.losses.MeanSquaredError()(np.array([[1, 2]]), np.array([[1, 5]]))) == 4.5
    assert float(keras.losses.mean_squared_error([[1, 2]], [[1, 5]])[0]) == 4.5


# ------------------------------------------------------------------------------ values
def test_hand_computed_values():
    eps = 1e-7
    np.testing.assert_allclose(keras.losses.binary_crossentropy([[1.0, 0.0]], [[0.8, 0.4]]),
                               [-(np.log(0.8) + np.log(0.6)) / 2], rtol=1e-6)
    np.testing.assert_allclose(
        keras.losses.categorical_crossentropy([[0.0, 1.0, 0.0]], [[0.2, 0.5, 0.3]]),
        [-np.log(0.5)], rtol=1e-6)
    np.testing.assert_allclose(
        keras.losses.categorical_crossentropy([[0.0, 1.0]], [[0.0, 2.0]], from_logits=True),
        [np.log1p(np.exp(-2.0))], rtol=1e-6)
    np.testing.assert_allclose(
        keras.losses.categorical_crossentropy([[0.0, 1.0]], [[0.5, 0.5]], label_smoothing=0.2),
        [-np.log(0.5)], rtol=1e-6)
    np.testing.assert_allclose(
        keras.losses.sparse_categorical_crossentropy([2, 0], [[0.1, 0.1, 0.8], [0.5, 0.25, 0.25]]),
        [-np.log(0.8), -np.log(0.5)], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.hinge([[1.0, -1.0]], [[0.3, 0.4]]),
                               [(0.7 + 1.4) / 2], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]]),
                               [0.5 * np.log(2) + 0.5 * np.log(0.5 / 0.75)], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.poisson([[2.0]], [[1.0]]),
                               [1.0 - 2.0 * np.log(1.0 + eps)], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.log_cosh([[0.0, 0.0]], [[1.0, -2.0]]),
                               [(np.log(np.cosh(1.0)) + np.log(np.cosh(2.0))) / 2], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.cosine_similarity([[1.0, 0.0]], [[1.0, 1.0]]),
                               [-1 / np.sqrt(2)], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.huber([[0.0, 0.0]], [[0.5, 3.0]], delta=2.0),
                               [(0.125 + 4.0) / 2], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.mean_absolute_percentage_error([[4.0]], [[3.0]]),
                               [25.0], rtol=1e-6)
    np.testing.assert_allclose(keras.losses.categorical_hinge([[0.0, 1.0]], [[0.8, 0.5]]),
                               [1.3], rtol=1e-6)


def test_ignore_class_averages_over_the_other_entries():
    probabilities = np.array([[0.5, 0.5, 0.0], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]], "float32")
    labels = np.array([0, 2, 2])
    per_entry = keras.losses.sparse_categorical_crossentropy(labels, probabilities,
                                                             ignore_class=0)
    np.testing.assert_allclose(per_entry, [0.0, -np.log(0.1), -np.log(0.6)], rtol=1e-6)
    loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=0)
    np.testing.assert_allclose(loss(labels, probabilities), -(np.log(0.1) + np.log(0.6)) / 2,
                               rtol=1e-6)
    assert np.isfinite(jax.grad(lambda p: loss(labels, p))(jnp.asarray(probabilities))).all()


# ------------------------------------------------------------------------------ errors
def test_shapes_that_cannot_broadcast_name_the_loss_and_both_shapes():
    loss = keras.losses.MeanSquaredError(name="my_mse")
    with pytest.raises(ValueError, match=r"my_mse.*MeanSquaredError.*\(4, 3\).*\(4, 2\)"):
        loss(np.ones((4, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"binary_crossentropy.*\(2, 3\).*\(2, 4\)"):
        keras.losses.BinaryCrossentropy()(np.ones((2, 3)), np.ones((2, 4)) / 2)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\)"):
        keras.losses.MeanSquaredError()(np.ones((4, 2)), np.ones((4, 2)), sample_weight=np.ones(3))


def test_out_of_range_sparse_labels():
    probabilities = np.array([[0.2, 0.8], [0.5, 0.5]], "float32")
    loss = keras.losses.SparseCategoricalCrossentropy(name="scce")
    with pytest.raises(ValueError, match=r"scce.*\[0, 2\).*from 0 to 2"):
        loss(np.array([0, 2]), probabilities)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        keras.losses.sparse_categorical_crossentropy(np.array([-1, 0]), probabilities)
    # Under jit values cannot be checked: the documented behaviour is a loss of 0.
    per_entry = jax.jit(keras.losses.sparse_categorical_crossentropy)(
        jnp.array([0, 2]), probabilities)
    np.testing.assert_allclose(per_entry, [-np.log(0.2), 0.0], rtol=1e-6)
    # An ignored label is not checked.
    keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)(np.array([-1, 1]), probabilities)


# ------------------------------------------------------------------------------ configs
ALL_CLASSES = [
    name for name in keras.losses.__all__
    if name[0].isupper() and name not in ("Loss", "LossFunctionWrapper")]


@pytest.mark.parametrize("name", ALL_CLASSES)
def test_config_round_trip(name):
    loss = getattr(keras.losses, name)(reduction="sum")
    config = json.loads(json.dumps(keras.losses.serialize(loss)))
    assert config["module"] == "keras.losses" and config["class_name"] == name
    loaded = keras.losses.deserialize(config)
    assert type(loaded) is type(loss)
    assert loaded.get_config() == loss.get_config()
    assert loaded.reduction == "sum"


def test_non_default_hyperparameters_survive_even_where_keras_drops_them():
    for loss, attribute, value in ((keras.losses.Huber(delta=2.5), "delta", 2.5),
                                   (keras.losses.CosineSimilarity(axis=0), "axis", 0),
                                   (keras.losses.SparseCategoricalCrossentropy(axis=1), "axis",
                                    1)):
        loaded = keras.losses.deserialize(keras.losses.serialize(loss))
        assert getattr(loaded, attribute) == value
    assert "delta" not in keras.losses.Huber().get_config()


def test_loss_function_wrapper_config():
    loss = keras.losses.LossFunctionWrapper(keras.losses.huber, name="h", delta=0.5)
    config = loss.get_config()
    assert config["fn"]["config"] == "huber" and config["delta"] == 0.5
    loaded = keras.losses.LossFunctionWrapper.from_config(json.loads(json.dumps(config)))
    assert loaded.fn is keras.losses.huber and loaded._fn_kwargs == {"delta": 0.5}


def test_get_and_aliases():
    assert keras.losses.get("mse") is keras.losses.mean_squared_error
    assert keras.losses.get("MAE") is keras.losses.mean_absolute_error
    assert keras.losses.get("kld") is keras.losses.kl_divergence
    assert isinstance(keras.losses.get("Huber"), keras.losses.Huber)
    assert keras.losses.get(None) is None
    assert keras.losses.get(huber_fn) is huber_fn
    custom = keras.losses.get({"class_name": "BinaryCrossentropy",
                               "config": {"from_logits": True}})
    assert custom.from_logits
    with pytest.raises(ValueError, match="Did you mean"):
        keras.losses.get("mean_sqared_error")


def test_resolve_loss_for_compile():
    from lamina.losses import resolve_loss

    assert resolve_loss(None) is None
    mse = resolve_loss("mse")
    assert isinstance(mse, keras.losses.LossFunctionWrapper) and mse.name == "mse"
    assert resolve_loss(huber_fn).name == "huber_fn"
    huber = keras.losses.Huber()
    assert resolve_loss(huber) is huber
    cases = [((8, 1), (8, 1), "binary_crossentropy"),
             ((8,), (8, 5), "sparse_categorical_crossentropy"),
             ((8, 1), (8, 5), "sparse_categorical_crossentropy"),
             ((8, 5), (8, 5), "categorical_crossentropy")]
    for true_shape, pred_shape, expected in cases:
        loss = resolve_loss("crossentropy", jnp.zeros(true_shape), jnp.zeros(pred_shape))
        assert loss.fn.__name__ == expected and loss.name == "crossentropy"
