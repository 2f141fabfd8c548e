"""`keras.wrappers`: scikit-learn's estimator checks, Keras 3's numbers side by side, cloning,
pickling, warm starts, metadata routing and bad input."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402

import lamina  # noqa: E402
from lamina.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402


def dynamic_model(X, y, loss, out_activation="softmax", units=8, lib=lamina):
    """Keras's test model: an MLP sized from the data."""
    inputs = lib.Input(shape=(X.shape[1],))
    hidden = lib.layers.Dense(units, activation="relu")(inputs)
    outputs = lib.layers.Dense(y.shape[1] if y.ndim > 1 else 1, activation=out_activation)(hidden)
    model = lib.Model(inputs, outputs)
    model.compile(loss=loss, optimizer="rmsprop")
    return model


def _estimators():
    quiet = {"verbose": 0}
    return [
        SKLearnClassifier(model=dynamic_model, fit_kwargs=quiet,
                          model_kwargs={"loss": "categorical_crossentropy"}),
        SKLearnRegressor(model=dynamic_model, fit_kwargs=quiet,
                         model_kwargs={"loss": "mse", "out_activation": "linear"}),
        SKLearnTransformer(model=dynamic_model, fit_kwargs=quiet,
                           model_kwargs={"loss": "mse", "out_activation": "linear"}),
    ]


# scikit-learn's checks of the estimator contract that need no fit (or fail before one):
# parameters, cloning, tags, unfitted errors, input validation.
CONTRACT_CHECKS = {
    "check_no_attributes_set_in_init", "check_get_params_invariance", "check_set_params",
    "check_do_not_raise_errors_in_init_or_set_params", "check_estimators_unfitted",
    "check_transformers_unfitted", "check_estimator_repr", "check_mixin_order",
    "check_valid_tag_types", "check_estimator_tags_renamed", "check_fit1d",
    "check_estimators_empty_data_messages", "check_complex_data", "check_estimator_sparse_tag",
    "check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_requires_y_none",
    "check_supervised_y_no_nan", "check_classifiers_regression_target",
    "check_classifiers_one_label", "check_parameters_default_constructible",
}
# Checks that fit models (about a second each): a few per estimator, so the file stays fast.
# The full list passes too, except those Keras's own test expects to fail (fits are not
# reproducible) and check_regressor_multioutput (float32 predictions, as Keras returns them).
FIT_CHECKS = {
    "SKLearnClassifier": {"check_fit_score_takes_y", "check_dtype_object"},
    "SKLearnRegressor": {"check_estimators_pickle", "check_fit2d_predict1d"},
    "SKLearnTransformer": {"check_estimators_overwrite_params"},
}


def _checks():
    for estimator in _estimators():
        name = type(estimator).__name__
        for est, check in estimator_checks_generator(estimator, legacy=True):
            check_name = getattr(check, "func", check).__name__
            if check_name in CONTRACT_CHECKS or check_name in FIT_CHECKS[name]:
                yield pytest.param(est, check, id=f"{name}-{check_name}")


@pytest.mark.parametrize(("estimator", "check"), list(_checks()))
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def test_every_selected_check_exists():
    ran = {param.id.split("-", 1)[1] for param in _checks()}
    wanted = CONTRACT_CHECKS | set().union(*FIT_CHECKS.values())
    assert wanted <= ran, f"not yielded by scikit-learn: {sorted(wanted - ran)}"


# ------------------------------------------------------------------- side by side with Keras
def _fixed_model(lib, n_features, n_outputs, activation, loss):
    """A model whose weights start at fixed values, so lamina and Keras train it alike."""
    inputs = lib.Input(shape=(n_features,))
    hidden = lib.layers.Dense(
        4, activation="tanh",
        kernel_initializer=lib.initializers.Constant(np.linspace(-0.5, 0.5, n_features * 4)
                                                     .reshape(n_features, 4)))(inputs)
    outputs = lib.layers.Dense(n_outputs, activation=activation,
                               kernel_initializer=lib.initializers.Constant(
                                   np.linspace(0.3, -0.3, 4 * n_outputs).reshape(4, n_outputs)))(hidden)
    model = lib.Model(inputs, outputs)
    model.compile(optimizer=lib.optimizers.SGD(0.1), loss=loss)
    return model


@pytest.fixture(scope="module")
def keras():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3))
    return X, rng


def test_classifier_matches_keras(keras):
    X, rng = _data()
    y = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, 24)]
    fit = {"epochs": 3, "batch_size": 8, "shuffle": False, "verbose": 0}
    results = []
    for lib, wrappers in ((lamina, lamina.wrappers), (keras, keras.wrappers)):
        clf = wrappers.SKLearnClassifier(
            model=lambda X, y, lib=lib: _fixed_model(lib, 3, y.shape[1], "softmax",
                                                     "categorical_crossentropy"),
            fit_kwargs=fit)
        clf.fit(X, y)
        results.append((clf.classes_, clf.predict(X), clf.decision_function(X),
                        clf.score(X, y), clf.history_.history["loss"]))
    ours, theirs = results
    assert list(ours[0]) == list(theirs[0]) == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-5, atol=1e-6)
    assert ours[3] == pytest.approx(theirs[3])
    np.testing.assert_allclose(ours[4], theirs[4], rtol=1e-5)


def test_regressor_matches_keras(keras):
    X, rng = _data()
    y = X @ np.array([0.5, -1.0, 2.0]) + 0.1 * rng.normal(size=24)
    fit = {"epochs": 2, "batch_size": 6, "shuffle": False, "verbose": 0}
    results = []
    for lib, wrappers in ((lamina, lamina.wrappers), (keras, keras.wrappers)):
        reg = wrappers.SKLearnRegressor(
            model=lambda X, y, lib=lib: _fixed_model(lib, 3, 1, "linear", "mse"),
            fit_kwargs=fit)
        reg.fit(X, y)
        results.append((reg.predict(X), reg.score(X, y), reg.n_features_in_))
    ours, theirs = results
    assert ours[0].shape == theirs[0].shape == (24,)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
    assert ours[1] == pytest.approx(theirs[1], rel=1e-5)
    assert ours[2] == theirs[2] == 3


# ------------------------------------------------------------------------------ behaviour
def _compiled(n_features=3, n_outputs=1):
    model = lamina.Sequential([lamina.Input((n_features,)), lamina.layers.Dense(n_outputs)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_a_model_instance_is_cloned_with_its_compile_configuration():
    model = _compiled()
    before = [w.numpy().copy() for w in model.weights]
    X, y = np.random.rand(10, 3), np.random.rand(10)
    reg = SKLearnRegressor(model, fit_kwargs={"verbose": 0, "epochs": 2}).fit(X, y)
    assert reg.model_ is not model
    assert reg.model_.compiled and type(reg.model_.optimizer).__name__ == "SGD"
    for old, new in zip(before, model.weights):  # the given model was not trained
        np.testing.assert_array_equal(old, new.numpy())
    assert reg.epoch_ == 2 and reg.history_.epoch == [0, 1]


def test_warm_start_continues_training_the_same_model():
    X, y = np.random.rand(10, 3), np.random.rand(10)
    model = _compiled()
    reg = SKLearnRegressor(model, warm_start=True, fit_kwargs={"verbose": 0})
    reg.fit(X, y)
    assert reg.model_ is model  # warm_start trains the instance itself
    first = [w.numpy().copy() for w in model.weights]
    reg.fit(X, y)
    assert reg.model_ is model
    assert int(model.optimizer.iterations.numpy()) == 2  # one batch per fit, carried on
    assert not np.allclose(first[0], model.weights[0].numpy())
    cold = SKLearnRegressor(model=lambda X, y: _compiled(), fit_kwargs={"verbose": 0})
    first_model = cold.fit(X, y).model_
    assert cold.fit(X, y).model_ is not first_model


def test_fit_arguments_take_precedence_and_the_parameter_is_not_changed():
    X, y = np.random.rand(8, 3), np.random.rand(8)
    fit_kwargs = {"epochs": 1, "verbose": 0}
    reg = SKLearnRegressor(model=lambda X, y: _compiled(), fit_kwargs=fit_kwargs)
    reg.fit(X, y, epochs=3)
    assert reg.epoch_ == 3
    assert reg.get_params()["fit_kwargs"] == {"epochs": 1, "verbose": 0}
    assert reg.fit_kwargs is fit_kwargs


def test_clone_keeps_every_parameter():
    reg = SKLearnRegressor(model=dynamic_model, warm_start=True,
                           model_kwargs={"loss": "mse"}, fit_kwargs={"epochs": 4})
    copy = clone(reg)
    assert copy.get_params() == reg.get_params()
    assert copy.model is dynamic_model and copy.fit_kwargs is not reg.fit_kwargs


def test_in_a_pipeline_and_cross_validation():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2)) * [1.0, 100.0]
    y = (X[:, 0] > 0).astype(int)
    clf = SKLearnClassifier(model=dynamic_model, model_kwargs={"loss": "categorical_crossentropy"},
                            fit_kwargs={"epochs": 2, "verbose": 0})
    scores = cross_val_score(make_pipeline(StandardScaler(), clf), X, y, cv=2)
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))


def test_pickled_estimators_predict_the_same():
    X, y = np.random.rand(10, 3), np.random.rand(10)
    reg = SKLearnRegressor(_compiled(), fit_kwargs={"verbose": 0}).fit(X, y)
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(X), reg.predict(X))
    assert restored.history_.history.keys() == reg.history_.history.keys()
    assert isinstance(restored.model, lamina.Model) and restored.model is not reg.model
    # The optimizer's state travels too, so a warm start resumes where it was.
    assert int(restored.model_.optimizer.iterations.numpy()) == 1


def test_string_labels_and_a_transformer():
    X = np.random.rand(12, 3)
    y = np.array(["no", "yes"] * 6)
    clf = SKLearnClassifier(model=dynamic_model, model_kwargs={"loss": "categorical_crossentropy"},
                            fit_kwargs={"verbose": 0}).fit(X, y)
    assert set(clf.predict(X)) <= {"no", "yes"} and clf.decision_function(X).shape == (12, 2)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[clf.decision_function(X).argmax(1)])
    embed = SKLearnTransformer(model=dynamic_model, fit_kwargs={"verbose": 0},
                               model_kwargs={"loss": "mse", "out_activation": "linear"})
    assert embed.fit(X, np.random.rand(12, 2)).transform(X).shape == (12, 2)


def test_metadata_routing_passes_sample_weight_to_model_fit():
    X, y = np.random.rand(8, 3), np.random.rand(8)
    model = _compiled()
    start = model.predict(X, verbose=0)
    reg = SKLearnRegressor(model, warm_start=True, fit_kwargs={"verbose": 0})
    with pytest.raises(RuntimeError, match="enable_metadata_routing=True"):
        reg.set_fit_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(reg.set_fit_request(sample_weight=True))
        pipe.fit(X, y, sample_weight=np.zeros(8))  # zero weights: no gradient at all
    np.testing.assert_allclose(model.predict(X, verbose=0), start, rtol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == 1  # but fit did run


# ------------------------------------------------------------------------------- bad input
X_BAD, Y_BAD = np.random.rand(6, 3), np.random.rand(6)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"model": "dense"}, TypeError, r"`model` must be a compiled keras.Model.*model='dense'"),
    ({"model": lambda X, y: "not a model"}, TypeError,
     r"must return a compiled keras.Model. It returned 'not a model' of type str"),
    ({"model": lambda X, y: lamina.Sequential([lamina.layers.Dense(1)])}, RuntimeError,
     r"needs to be compiled, with a loss and an optimizer"),
    ({"model": dynamic_model, "model_kwargs": ["mse"]}, TypeError,
     r"`model_kwargs` must be a dict.*Received: model_kwargs=\['mse'\] of type list"),
    ({"model": dynamic_model, "fit_kwargs": 3}, TypeError, r"`fit_kwargs` must be a dict"),
    ({"model": dynamic_model, "warm_start": "yes"}, TypeError, r"`warm_start` must be a bool"),
    ({"model": _compiled(), "model_kwargs": {"units": 3}}, ValueError,
     r"`model` is a model instance"),
])
def test_bad_arguments_are_named_at_fit(kwargs, error, match):
    reg = SKLearnRegressor(**kwargs)
    with pytest.raises(error, match=match):
        reg.fit(X_BAD, Y_BAD)
    assert not hasattr(reg, "model_")


def test_bad_targets_and_models():
    clf = SKLearnClassifier(model=dynamic_model, model_kwargs={"loss": "categorical_crossentropy"})
    with pytest.raises(ValueError, match="binary and multiclass targets only.*'continuous'"):
        clf.fit(X_BAD, Y_BAD)
    with pytest.raises(ValueError, match="only one class is present"):
        clf.fit(X_BAD, np.zeros(6, int))

    def two_outputs(X, y):
        inputs = lamina.Input((3,))
        model = lamina.Model(inputs, [lamina.layers.Dense(1)(inputs),
                                      lamina.layers.Dense(1)(inputs)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    reg = SKLearnRegressor(model=two_outputs, fit_kwargs={"verbose": 0})
    with pytest.raises(ValueError, match="needs a model with one output.*has 2 outputs"):
        reg.fit(X_BAD, Y_BAD)


def test_without_scikit_learn_the_module_imports_and_creating_an_estimator_says_what_to_install():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "import lamina.wrappers as w\n"
            "try:\n    w.SKLearnRegressor(model=None)\n"
            "except ImportError as e:\n    print('ImportError:', e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ImportError: SKLearnRegressor requires scikit-learn 1.6 or newer" in result.stdout
    assert "pip install 'scikit-learn>=1.6'" in result.stdout
