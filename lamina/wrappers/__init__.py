"""`keras.wrappers`: scikit-learn estimators around Keras models.

`SKLearnClassifier`, `SKLearnRegressor` and `SKLearnTransformer` put a compiled model (or a
function that builds one for the data) behind scikit-learn's estimator API, so that it can be
fitted, scored, cloned and tuned like any scikit-learn estimator. scikit-learn is needed only
when an estimator is created (`pip install 'scikit-learn>=1.6'`).

Examples:
    >>> from sklearn.model_selection import cross_val_score
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> reg = lamina.wrappers.SKLearnRegressor(model, fit_kwargs={"verbose": 0})
    >>> X = np.random.rand(12, 2)
    >>> cross_val_score(reg, X, X.sum(axis=1), cv=3).shape
    (3,)
"""

from lamina.wrappers.sklearn_wrapper import SKLearnClassifier as SKLearnClassifier
from lamina.wrappers.sklearn_wrapper import SKLearnRegressor as SKLearnRegressor
from lamina.wrappers.sklearn_wrapper import SKLearnTransformer as SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
