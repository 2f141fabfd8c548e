"""Input that Keras trains on silently, with a wrong answer, is refused by lamina before the
first step: the error names the argument (or output), what was expected and what was
received, and the model's weights and optimizer state are left as they were."""

import numpy as np
import pytest

import lamina

from .conftest import assert_weights_equal, regression_data, snapshot


def _state(model):
    return model.get_weights() + [v.numpy() for v in model.optimizer.variables]


@pytest.fixture(scope="module")
def classifier():
    """Dense(3) logits on 4 features, sparse cross-entropy and accuracy, SGD."""
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3, name="logits")])
    model.compile(optimizer="sgd",
                  loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    return snapshot(model)


def _features(rows=8):
    return np.random.default_rng(0).normal(size=(rows, 4)).astype("float32")


# ------------------------------------------------------------------------- target shapes
def test_targets_that_would_broadcast_against_the_output_are_refused(linear):
    """y of shape (n, 3) against a one-unit output: MSE would broadcast to (n, 3) and train
    on the wrong pairs; the error names the output, both shapes and the loss."""
    model = linear.restore()
    x, _ = regression_data(8)
    before = _state(model)
    for run in (lambda y: model.fit(x, y, batch_size=4, verbose=0),
                lambda y: model.evaluate(x, y, batch_size=4, verbose=0)):
        with pytest.raises(ValueError) as info:
            run(np.zeros((8, 3), "float32"))
        message = str(info.value)
        assert "Output 'dense' has shape (4, 1)" in message
        assert "target y has shape (4, 3)" in message and "'mse'" in message
        assert "broadcast them to (4, 3)" in message and "(None, 1)" in message
    assert_weights_equal(_state(model), before)


def test_targets_that_only_lack_or_add_a_trailing_unit_axis_still_train(linear):
    """Keras's rank alignment stays: (n,) and (n, 1) targets both fit a one-unit output."""
    x, y = regression_data(8)
    first = linear.restore().fit(x, y[:, 0], batch_size=4, verbose=0, shuffle=False)
    second = linear.restore().fit(x, y, batch_size=4, verbose=0, shuffle=False)
    assert first.history["loss"] == pytest.approx(second.history["loss"])


def test_a_multi_output_target_mismatch_names_the_output():
    inputs = lamina.Input((3,))
    outputs = {"price": lamina.layers.Dense(1, name="price")(inputs),
               "kind": lamina.layers.Dense(2, name="kind", activation="softmax")(inputs)}
    model = lamina.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss={"price": "mse", "kind": "categorical_crossentropy"})
    x, _ = regression_data(4)
    with pytest.raises(ValueError, match=r"Output 'kind' has shape \(4, 2\) but its target "
                                         r"y\['kind'\] has shape \(4, 1\).*sparse_categorical"):
        model.fit(x, {"price": np.zeros((4, 1)), "kind": np.zeros((4, 1))}, verbose=0)


def test_a_custom_loss_sees_targets_as_given():
    """A custom loss may pack extra columns into y (here: a per-sample weight), so the shape
    rule applies to the built-in element-wise losses only."""
    def weighted_mse(y_true, y_pred):
        return y_true[:, 1] * (y_true[:, 0] - y_pred[:, 0]) ** 2

    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=weighted_mse)
    x, y = regression_data(4)
    packed = np.concatenate([y, np.ones_like(y)], axis=1)
    assert np.isfinite(model.fit(x, packed, verbose=0).history["loss"][0])


# ------------------------------------------------------------------------- sparse labels
@pytest.mark.parametrize("labels, expected", [
    ([0, 1, 2, 3, 0, 1, 2, 0], r"labels from 3 to 3 outside that range, e\.g\. y\[3\] = 3"
                               r".*one unit per class \(4 for labels up to 3\)"),
    ([0, 1, -1, 2, 0, 1, 2, 0], r"labels from -1 to -1 .* y\[2\] = -1.*start at 0"),
    ([0, 1, 0.5, 2, 0, 1, 2, 0], r"not an integer: y\[2\] = 0\.5.*categorical_crossentropy"),
])
def test_sparse_labels_out_of_range_negative_or_fractional_are_refused(
        classifier, labels, expected):
    """Compiled training cannot raise on a value: such labels would give a loss of 0 (or
    train on the wrong class). They are found on the host before the first step."""
    model = classifier.restore()
    before = _state(model)
    y = np.asarray(labels, "float32" if 0.5 in labels else "int32")
    with pytest.raises(ValueError, match=r"y for output 'logits' must hold integer class "
                                         r"labels in \[0, 3\).*" + expected) as info:
        model.fit(_features(), y, batch_size=4, verbose=0)
    assert "sparse_categorical_crossentropy" in str(info.value)
    assert_weights_equal(_state(model), before)
    with pytest.raises(ValueError, match=expected):
        model.evaluate(_features(), y, verbose=0)
    with pytest.raises(ValueError, match=expected):
        model.train_on_batch(_features(), y)
    assert_weights_equal(_state(model), before)


def test_bad_validation_labels_are_refused_before_training(classifier):
    model = classifier.restore()
    before = _state(model)
    good = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    with pytest.raises(ValueError, match=r"validation y for output 'logits'.*from 9 to 9"):
        model.fit(_features(), good, validation_data=(_features(), good + 7 * (good == 2)),
                  verbose=0)
    assert_weights_equal(_state(model), before)


def test_a_generator_batch_with_bad_labels_is_refused_before_its_step(classifier):
    """Generator batches are checked as they arrive: batch 0 trains, batch 1 is refused."""
    model = classifier.restore()
    x = _features()
    batches = iter([(x[:4], np.array([0, 1, 2, 0])), (x[4:], np.array([0, 9, 1, 2]))])
    with pytest.raises(ValueError, match=r"y\[1\] = 9"):
        model.fit(batches, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 1


def test_ignore_class_labels_are_allowed():
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=lamina.losses.SparseCategoricalCrossentropy(
        from_logits=True, ignore_class=-1))
    history = model.fit(_features(), np.array([0, 1, -1, 2, -1, 1, 2, 0]), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(ValueError, match=r"ignore_class \[-1\]"):
        model.fit(_features(), np.array([0, 1, -2, 2, -1, 1, 2, 0]), verbose=0)


# ------------------------------------------------------------------------- loop arguments
@pytest.mark.parametrize("kwargs, expected", [
    ({"epochs": -1}, r"`epochs` must be an int >= 0.*Received: epochs=-1"),
    ({"epochs": 2.5}, r"`epochs` must be .*epochs=2\.5 \(of type float\)"),
    ({"epochs": 2, "initial_epoch": 5}, r"initial_epoch=5 is after epochs=2.*epochs=7"),
    ({"batch_size": 0}, r"`batch_size` must be a positive int or None.*batch_size=0"),
    ({"steps_per_epoch": -1}, r"`steps_per_epoch` must be a positive int"),
    ({"validation_split": 1.5}, r"`validation_split` must be a number in \[0, 1\)"),
    ({"validation_freq": 0}, r"`validation_freq` must be a positive int"),
    ({"validation_freq": [0, 2]}, r"validation_freq.*entries \[0\]"),
    ({"shuffle": "yes"}, r"`shuffle` must be True, False or 'batch'"),
])
def test_fit_arguments_that_would_train_silently_wrong_are_refused(linear, kwargs, expected):
    model = linear.restore()
    before = _state(model)
    x, y = regression_data(8)
    with pytest.raises(ValueError, match=expected):
        model.fit(x, y, verbose=0, **kwargs)
    assert_weights_equal(_state(model), before)


def test_epochs_zero_trains_nothing_as_in_keras(linear):
    model = linear.restore()
    before = _state(model)
    x, y = regression_data(8)
    assert model.fit(x, y, epochs=0, verbose=0).history == {}
    assert_weights_equal(_state(model), before)


def test_evaluate_and_predict_refuse_bad_batch_size_and_steps(linear):
    x, y = regression_data(8)
    with pytest.raises(ValueError, match=r"evaluate\(\): `steps` must be a positive int"):
        linear.restore().evaluate(x, y, steps=0, verbose=0)
    with pytest.raises(ValueError, match=r"predict\(\): `batch_size` must be a positive int"):
        linear.model.predict(x, batch_size=-4, verbose=0)


# ------------------------------------------------------------------------- class_weight
def test_class_weight_for_a_class_the_output_does_not_have(linear):
    """A one-unit output has classes 0 and 1: a weight for class 7 would be ignored."""
    model = linear.restore()
    before = _state(model)
    x, _ = regression_data(8)
    labels = (np.arange(8) % 2).astype("float32")[:, None]
    with pytest.raises(ValueError, match=r"class_weight names class 7, but output 'dense' "
                                         r"has shape \(None, 1\): a one-unit output has "
                                         r"classes 0 and 1\. The targets hold classes \[0, 1\]"):
        model.fit(x, labels, class_weight={0: 1.0, 7: 3.0}, verbose=0)
    assert_weights_equal(_state(model), before)
    # Float keys of whole numbers (dict(zip(np.unique(y), weights))) are class indices.
    model.fit(x, labels, class_weight={np.float64(0.0): 1.0, np.float64(1.0): 2.0}, verbose=0)


@pytest.mark.parametrize("class_weight, error, expected", [
    ({0: "heavy"}, TypeError, r"class_weight\[0\] must be a number.*'heavy'"),
    ({"cat": 1.0}, TypeError, r"keys must be class indices.*'cat' of type str"),
    ({0: -1.0}, ValueError, r"class_weight\[0\] must be a finite number >= 0"),
    ({0: float("nan")}, ValueError, r"class_weight\[0\] must be a finite number"),
    ([1.0, 2.0], TypeError, r"class_weight must be a dict"),
])
def test_class_weight_entries_that_are_not_weights(linear, class_weight, error, expected):
    x, y = regression_data(8)
    with pytest.raises(error, match=expected):
        linear.restore().fit(x, y, class_weight=class_weight, verbose=0)


def test_class_weight_with_several_outputs_is_refused():
    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, [lamina.layers.Dense(1)(inputs), lamina.layers.Dense(1)(inputs)])
    model.compile(optimizer="sgd", loss="mse")
    x, _ = regression_data(4)
    with pytest.raises(ValueError, match="single output.*sample_weight"):
        model.fit(x, [np.zeros((4, 1)), np.zeros((4, 1))], class_weight={0: 2.0}, verbose=0)


# ------------------------------------------------------------------------- Input shapes
@pytest.mark.parametrize("shape, expected", [
    ((-1,), r"dimension of shape must be an int >= 0 or None.*shape=\(-1,\).*Use None"),
    ((0.5,), r"shape=\(0\.5,\), with the dimension 0\.5 \(float\)"),
    ("abc", r"shape must be a tuple of dimensions.*Received: shape='abc'"),
    ((3, "4"), r"dimension '4' \(str\)"),
])
def test_input_refuses_shapes_that_are_not_dimensions(shape, expected):
    with pytest.raises(ValueError, match=expected):
        lamina.Input(shape=shape)


def test_input_accepts_none_zero_and_numpy_dimensions():
    assert lamina.Input(shape=(None, 0, np.int64(3))).shape == (None, None, 0, 3)
    with pytest.raises(ValueError, match=r"batch_shape=\(None, -2\)"):
        lamina.layers.InputLayer(batch_shape=(None, -2))
    with pytest.raises(ValueError, match=r"batch_size must be a positive int or None"):
        lamina.Input(shape=(3,), batch_size=0)


# ------------------------------------------------------------------------- data types
def test_a_ragged_list_is_reported_as_ragged(linear):
    model = linear.restore()
    with pytest.raises(ValueError, match=r"x is a ragged Python list: x\[0\] has 3 items but "
                                         r"x\[2\] has 1\..*pad") as info:
        model.fit([[1, 2, 3], [4, 5, 6], [7]], np.zeros((3, 1)), verbose=0)
    assert "generator" not in str(info.value).split(".")[0]
    with pytest.raises(ValueError, match=r"y is a Python list of numbers \(shape \(3,\)\).*"
                                         r"np\.asarray\(y\)"):
        model.fit(np.zeros((3, 3)), [0.0, 1.0, 2.0], verbose=0)


@pytest.mark.parametrize("x, expected", [
    ("hello", r"x is a str \('hello'\)\. fit/evaluate/predict take NumPy or JAX arrays"),
    ({"features": "abc"}, r"x\['features'\] is a str"),
    (np.array(["a", "b"]), r"x holds strings \(dtype <U1\)"),
    (np.array([[1, 2], [3]], dtype=object), r"dtype object .* different lengths"),
    (3.0, r"x is a single number \(3\.0\), not an array with a leading sample axis"),
    (object(), r"x is a builtins\.object, not an array"),
])
def test_predict_says_which_types_it_takes(linear, x, expected):
    with pytest.raises(ValueError, match=expected) as info:
        linear.model.predict(x, verbose=0)
    assert "exhausted" not in str(info.value) and "must yield" not in str(info.value)
