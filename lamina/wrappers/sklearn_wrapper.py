"""scikit-learn estimators around a Keras model: `SKLearnClassifier`, `SKLearnRegressor`,
`SKLearnTransformer` (Keras 3's `keras.wrappers`).

Each wraps a compiled model, or a function that builds one from the training data, behind
scikit-learn's estimator API (`fit`, `predict`/`transform`, `score`, `get_params`/
`set_params`, `clone`), so that the model can sit in a `Pipeline` or a `GridSearchCV`.

scikit-learn (1.6 or newer) is an optional dependency, as in Keras: this module imports
without it, and creating an estimator then raises `ImportError` saying what to install.
"""

import copy
import os
import tempfile

import numpy as np

from lamina._registry import keras_export
from lamina.callbacks import History
from lamina.models import Model, clone_model
from lamina.saving import load_model, save_model

_MIN_SKLEARN = (1, 6)

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.utils.metadata_routing import MetadataRequest
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:  # scikit-learn missing or older than 1.6 (no validate_data)
    sklearn = None

    class BaseEstimator:  # noqa: D101  (stand-ins so that the classes below can be defined)
        pass

    class ClassifierMixin:  # noqa: D101
        pass

    class RegressorMixin:  # noqa: D101
        pass

    class TransformerMixin:  # noqa: D101
        pass


def _require_sklearn(owner):
    if sklearn is None:
        raise ImportError(
            f"{owner} requires scikit-learn {'.'.join(map(str, _MIN_SKLEARN))} or newer, "
            "which is not installed (or is older). Install it with "
            "`pip install 'scikit-learn>=1.6'` (or `pip install 'lamina[sklearn]'`).")


def _describe(value, limit=80):
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001  (a repr that fails still gets described)
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = text[:limit - 15] + f"...({len(text)} chars)"
    return f"{text} of type {type(value).__name__}"


def _several_outputs(owner, count):
    return (f"{owner} needs a model with one output, since scikit-learn works on one array "
            f"of targets and predictions; this model has {count} outputs. Concatenate them "
            "into one output layer, or wrap each in its own estimator.")


def _target_type(y):
    kind = type_of_target(y, input_name="y")
    if kind == "unknown":
        raise ValueError(
            f"Unknown label type for y: {_describe(y)}. Pass numbers (a regression target) "
            "or class labels (ints, strings or bools), one row per sample.")
    return kind


class _TargetReshaper(TransformerMixin, BaseEstimator):
    """Makes a 1-D target 2-D (one column) and undoes it on predictions, so that encoders
    that want 2-D input, and models that output one column, see the shapes they expect."""

    def fit(self, y):
        self.ndim_ = np.ndim(y)
        return self

    def transform(self, y):
        y = np.asarray(y)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def inverse_transform(self, y):
        check_is_fitted(self)
        y = np.asarray(y)
        if self.ndim_ == 1 and y.ndim == 2 and y.shape[1] == 1:
            return y[:, 0]
        return y


class _PickledModel:
    """A model inside a pickled estimator: its `.keras` archive (architecture, weights,
    optimizer state and compile configuration), as Keras pickles models."""

    def __init__(self, model):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            save_model(model, path)
            with open(path, "rb") as handle:
                self.archive = handle.read()

    def restore(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            with open(path, "wb") as handle:
                handle.write(self.archive)
            # Unpickling already trusts the pickle with arbitrary code; Lambda layers load.
            return load_model(path, safe_mode=False)


def _without_model(history):
    """A copy of a `History` that does not hold the model (for pickling)."""
    copied = History()
    copied.history = {key: list(values) for key, values in history.history.items()}
    copied.epoch = list(history.epoch)
    copied.params = history.params
    return copied


class SKLBase(BaseEstimator):
    """What the three estimators share: building, checking and fitting the model.

    Args:
        model: a compiled `keras.Model`, or a function `model(X=..., y=..., **model_kwargs)`
            that returns one built for the data (X as validated by scikit-learn, y as the
            model will see it: one-hot for a classifier, 2-D for a 1-D regression target).
            A model instance is cloned (with its compile configuration) at each `fit`, so the
            instance you pass is never trained, unless `warm_start=True`.
        warm_start: whether `fit` continues training the model of the previous `fit` (or the
            given model instance itself, the first time) instead of starting afresh.
        model_kwargs: keyword arguments for `model` when it is a function.
        fit_kwargs: keyword arguments for `model.fit` (`epochs`, `batch_size`, `verbose`,
            ...); those passed to `fit` itself take precedence.

    Attributes:
        model_: the fitted model.
        history_: the `History` returned by the last `model.fit`.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        _require_sklearn(type(self).__name__)
        # scikit-learn's convention: store the arguments untouched; fit() checks them.
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True  # weights start random, batches are shuffled
        tags.target_tags.multi_output = self._multi_output
        return tags

    def __sklearn_clone__(self):
        # The model (instance or function) is shared, not deep-copied: fit() clones an
        # instance anyway, and copying a model would copy its weights for nothing.
        return type(self)(
            model=self.model, warm_start=self.warm_start,
            model_kwargs=None if self.model_kwargs is None else dict(self.model_kwargs),
            fit_kwargs=None if self.fit_kwargs is None else dict(self.fit_kwargs))

    def __getstate__(self):
        # Pickling (joblib.dump, parallel searches) stores models as `.keras` archives.
        state = dict(super().__getstate__())
        for name in ("model", "model_"):
            if isinstance(state.get(name), Model):
                state[name] = _PickledModel(state[name])
        if isinstance(state.get("history_"), History):
            state["history_"] = _without_model(state["history_"])
        return state

    def __setstate__(self, state):
        state = {name: value.restore() if isinstance(value, _PickledModel) else value
                 for name, value in state.items()}
        super().__setstate__(state)

    @property
    def epoch_(self):
        """The number of epochs the last `fit` ran (0 before the first)."""
        history = getattr(self, "history_", None)
        return len(getattr(history, "epoch", ())) if history is not None else 0

    def set_fit_request(self, **kwargs):
        """Asks scikit-learn's metadata routing to pass these arguments to `fit` (and so to
        `model.fit`), e.g. `set_fit_request(sample_weight=True)` inside a `Pipeline`.

        Each keyword is a `fit` argument; its value is True (pass it), False (do not), None
        (raise if given) or a string (pass the metadata of that name). Needs
        `sklearn.set_config(enable_metadata_routing=True)`.

        Returns:
            self.

        Examples:
            >>> import sklearn
            >>> est = lamina.wrappers.SKLearnRegressor(model=None)
            >>> with sklearn.config_context(enable_metadata_routing=True):
            ...     est = est.set_fit_request(sample_weight=True)
        """
        _require_sklearn(type(self).__name__)
        if not sklearn.get_config().get("enable_metadata_routing", False):
            raise RuntimeError(
                "set_fit_request is only available when scikit-learn's metadata routing is "
                "enabled. Enable it with sklearn.set_config(enable_metadata_routing=True).")
        request = copy.deepcopy(self._get_metadata_request())
        if not isinstance(request, MetadataRequest):  # pragma: no cover  (defensive)
            request = MetadataRequest(owner=type(self).__name__)
        for param, alias in kwargs.items():
            request.fit.add_request(param=param, alias=alias)
        self._metadata_request = request
        return self

    # --------------------------------------------------------------------------- fitting
    def _check_arguments(self):
        owner = type(self).__name__
        if not isinstance(self.warm_start, (bool, np.bool_)):
            raise TypeError(
                f"{owner}: `warm_start` must be a bool. Received: "
                f"warm_start={_describe(self.warm_start)}.")
        for name in ("model_kwargs", "fit_kwargs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise TypeError(
                    f"{owner}: `{name}` must be a dict of keyword arguments or None. "
                    f"Received: {name}={_describe(value)}.")
        if not isinstance(self.model, Model) and not callable(self.model):
            raise TypeError(
                f"{owner}: `model` must be a compiled keras.Model, or a function "
                "model(X=..., y=..., **model_kwargs) returning one. Received: "
                f"model={_describe(self.model)}.")
        if isinstance(self.model, Model) and self.model_kwargs:
            raise ValueError(
                f"{owner}: `model_kwargs` are passed to `model` when it is a function that "
                f"builds the model; `model` is a model instance. Received: "
                f"model_kwargs={_describe(self.model_kwargs)}. Remove model_kwargs, or pass "
                "a function as `model`.")

    def _get_model(self, X, y):
        owner = type(self).__name__
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            if self.warm_start:
                model = self.model
            else:
                model = clone_model(self.model)
                if self.model.compiled and not model.compiled:
                    model.compile_from_config(self.model.get_compile_config())
            where = "the given model"
        else:
            model = self.model(X=X, y=y, **(self.model_kwargs or {}))
            where = f"model(X=..., y=...{', **model_kwargs' if self.model_kwargs else ''})"
            if not isinstance(model, Model):
                raise TypeError(
                    f"{owner}: {where} must return a compiled keras.Model. It returned "
                    f"{_describe(model)}.")
        if not model.compiled or model.loss is None or model.optimizer is None:
            raise RuntimeError(
                f"{owner}: {where} needs to be compiled, with a loss and an optimizer. Call "
                "model.compile(optimizer=..., loss=...) before returning it (or before "
                "passing it).")
        try:
            outputs = model.outputs
        except (AttributeError, ValueError):  # a subclassed or not yet built model
            outputs = None
        if isinstance(outputs, (list, tuple)) and len(outputs) > 1:
            raise ValueError(_several_outputs(owner, len(outputs)))
        return model

    def fit(self, X, y, **kwargs):
        """Builds (or clones) the model and trains it on `X`, `y`.

        Args:
            X: array-like of shape `(n_samples, n_features)`.
            y: array-like of shape `(n_samples,)` or `(n_samples, n_outputs)`.
            **kwargs: arguments for `model.fit`, over `fit_kwargs`.

        Returns:
            self.
        """
        self._check_arguments()
        X, y = validate_data(self, X, y, multi_output=self._multi_output,
                             y_numeric=self._numeric_target)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        self.history_ = model.fit(X, y, **{**(self.fit_kwargs or {}), **kwargs})
        self.model_ = model
        return self

    def _raw_predictions(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        outputs = self.model_.predict(X)
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]  # a subclassed model whose call returns [y]
        if isinstance(outputs, (list, tuple, dict)):
            raise ValueError(_several_outputs(type(self).__name__, len(outputs)))
        return np.asarray(outputs)

    def predict(self, X):
        """The model's predictions for `X`, in the form of the training targets."""
        return self._reverse_process_target(self._raw_predictions(X))

    _numeric_target = True
    _multi_output = True

    def _process_target(self, y, reset=False):
        _target_type(y)
        if reset:
            self._target_encoder = _TargetReshaper().fit(y)
        return self._target_encoder.transform(y)

    def _reverse_process_target(self, y):
        return self._target_encoder.inverse_transform(y)


@keras_export("keras.wrappers.SKLearnClassifier")
class SKLearnClassifier(ClassifierMixin, SKLBase):
    """A scikit-learn classifier around a Keras model.

    Labels (of any type scikit-learn accepts: ints, strings, ...) are one-hot encoded for the
    model, which should output one score per class (`classes_`, sorted); `predict` returns the
    label of the highest score, `decision_function` the raw outputs, and `score` the accuracy.
    Binary and multiclass targets are supported.

    Args:
        model: a compiled `keras.Model`, or a function `model(X=..., y=..., **model_kwargs)`
            returning one (y is one-hot, shape `(n_samples, n_classes)`). An instance is
            cloned at each `fit` unless `warm_start=True`.
        warm_start: whether `fit` continues training the previous model.
        model_kwargs: keyword arguments for `model` when it is a function.
        fit_kwargs: keyword arguments for `model.fit`.

    Attributes:
        model_: the fitted model.
        history_: the `History` of the last `fit`.
        classes_: the class labels, sorted.

    Examples:
        >>> from sklearn.datasets import make_classification
        >>> def build(X, y, hidden=8):
        ...     model = lamina.Sequential([
        ...         lamina.Input((X.shape[1],)),
        ...         lamina.layers.Dense(hidden, activation="relu"),
        ...         lamina.layers.Dense(y.shape[1], activation="softmax")])
        ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
        ...     return model
        >>> X, y = make_classification(n_samples=40, n_features=4, random_state=0)
        >>> clf = lamina.wrappers.SKLearnClassifier(
        ...     model=build, model_kwargs={"hidden": 8}, fit_kwargs={"epochs": 2, "verbose": 0})
        >>> clf = clf.fit(X, y)
        >>> clf.classes_
        array([0, 1])
        >>> clf.predict(X[:3]).shape
        (3,)
    """

    _numeric_target = False
    _multi_output = False

    def decision_function(self, X):
        """The model's raw outputs for `X`: one column per class, in `classes_` order."""
        return self._raw_predictions(X)

    def _process_target(self, y, reset=False):
        kind = _target_type(y)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                "SKLearnClassifier supports binary and multiclass targets only. Received a "
                f"target of type {kind!r}. For several labels per sample, use "
                "SKLearnRegressor with a sigmoid output, or a model of your own.")
        if reset:
            classes = np.unique(y)
            if len(classes) == 1:
                raise ValueError(
                    "Classifier can't train when only one class is present: y holds only "
                    f"{classes[0]!r}. Give it samples of at least two classes.")
            self._target_encoder = make_pipeline(
                _TargetReshaper(), OneHotEncoder(sparse_output=False)).fit(y)
            self.classes_ = classes
        return self._target_encoder.transform(y)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


@keras_export("keras.wrappers.SKLearnRegressor")
class SKLearnRegressor(RegressorMixin, SKLBase):
    """A scikit-learn regressor around a Keras model.

    The model sees a 1-D target as one column and `predict` returns it 1-D again; `score` is
    R^2.

    Args:
        model: a compiled `keras.Model`, or a function `model(X=..., y=..., **model_kwargs)`
            returning one (y is 2-D, shape `(n_samples, n_outputs)`). An instance is cloned at
            each `fit` unless `warm_start=True`.
        warm_start: whether `fit` continues training the previous model.
        model_kwargs: keyword arguments for `model` when it is a function.
        fit_kwargs: keyword arguments for `model.fit`.

    Attributes:
        model_: the fitted model.
        history_: the `History` of the last `fit`.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> reg = lamina.wrappers.SKLearnRegressor(model, fit_kwargs={"verbose": 0})
        >>> X, y = np.random.rand(8, 3), np.random.rand(8)
        >>> reg.fit(X, y).predict(X).shape
        (8,)
        >>> reg.model_ is model    # the instance was cloned, not trained
        False
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


@keras_export("keras.wrappers.SKLearnTransformer")
class SKLearnTransformer(TransformerMixin, SKLBase):
    """A scikit-learn transformer around a Keras model: `transform(X)` is the model's output.

    A transformer in scikit-learn's sense (a pipeline step that maps features to features,
    such as an embedding model), not the attention architecture. `fit` trains the model on
    `X`, `y`; wrap it in `sklearn.frozen.FrozenEstimator` to use an already trained model
    unchanged.

    Args:
        model: a compiled `keras.Model`, or a function `model(X=..., y=..., **model_kwargs)`
            returning one. An instance is cloned at each `fit` unless `warm_start=True`.
        warm_start: whether `fit` continues training the previous model.
        model_kwargs: keyword arguments for `model` when it is a function.
        fit_kwargs: keyword arguments for `model.fit`.

    Attributes:
        model_: the fitted model.
        history_: the `History` of the last `fit`.

    Examples:
        >>> model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> embed = lamina.wrappers.SKLearnTransformer(model, fit_kwargs={"verbose": 0})
        >>> X, y = np.random.rand(6, 4), np.random.rand(6, 2)
        >>> embed.fit(X, y).transform(X).shape
        (6, 2)
    """

    def transform(self, X):
        """The model's outputs for `X`, shape `(n_samples, n_outputs)`."""
        return self._raw_predictions(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
