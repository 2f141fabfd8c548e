"""`MonitorCallback`: the shared logic of callbacks that watch one metric for improvement."""

import operator
import warnings

from lamina.callbacks.callback import Callback

_MODES = ("auto", "min", "max")

# Used by mode="auto" when the model's metric objects do not say their direction (Keras 3
# raises in that case; these names are unambiguous). Compared after dropping "val_".
_HIGHER_IS_BETTER = frozenset({
    "accuracy", "acc", "binary_accuracy", "categorical_accuracy",
    "sparse_categorical_accuracy", "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy", "auc", "precision", "recall", "f1_score",
    "fbeta_score", "r2_score", "iou", "mean_iou", "one_hot_iou", "one_hot_mean_iou",
    "binary_iou", "specificity_at_sensitivity", "sensitivity_at_specificity",
    "precision_at_recall", "recall_at_precision", "cosine_similarity",
})
_LOWER_IS_BETTER = frozenset({
    "mae", "mse", "mape", "msle", "rmse", "mean_absolute_error", "mean_squared_error",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error",
    "root_mean_squared_error", "log_cosh_error", "logcosh", "hinge", "squared_hinge",
    "categorical_hinge", "kl_divergence", "kld", "poisson", "binary_crossentropy",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "crossentropy",
    "false_positives", "false_negatives",
})


class MonitorCallback(Callback):
    """Base of `EarlyStopping`, `ModelCheckpoint` and `ReduceLROnPlateau`.

    Args:
        monitor: the name of the quantity in the epoch logs, e.g. `"val_loss"`.
        mode: `"min"`, `"max"`, or `"auto"` to infer the direction from the metric: losses
            and error metrics are minimized, accuracy-like metrics maximized (a metric object
            with `_direction` "up"/"down" on the model decides first, as in Keras 3).
        baseline: the initial "best" value, or None to take the first one seen.
        min_delta: the smallest change that counts as an improvement.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in _MODES:
            # Keras 3 warns and falls back; refusing would break code that runs in Keras.
            warnings.warn(
                f"{type(self).__name__} expects mode 'auto', 'min' or 'max'. Received: "
                f"mode={mode!r}; falling back to 'auto'. Pass mode='min' for quantities to "
                "minimize (losses, errors) or mode='max' for ones to maximize (accuracy).",
                stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = operator.lt
        elif self.mode == "max":
            self.monitor_op = operator.gt
        else:
            self.monitor_op = _infer_direction(self.monitor, self._model, type(self).__name__)

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.monitor_op is operator.lt:
            return bool(monitor_value + self.min_delta < reference_value)
        return bool(monitor_value - self.min_delta > reference_value)


def _infer_direction(monitor, model, owner):
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return operator.lt
    direction = _metric_direction(model, name)
    if direction == "up":
        return operator.gt
    if direction == "down":
        return operator.lt
    if name in _HIGHER_IS_BETTER:
        return operator.gt
    if name in _LOWER_IS_BETTER:
        return operator.lt
    raise ValueError(
        f"{owner} received monitor={monitor!r}, but cannot tell whether that metric should "
        "be maximized or minimized. Pass mode='max' to keep the highest value, or mode='min' "
        "to keep the lowest.")


def _metric_direction(model, name):
    """The `_direction` ("up"/"down") of the model's metric called `name`, if any."""
    try:
        pending = list(getattr(model, "metrics", None) or [])
    except Exception:  # noqa: BLE001  (a model that cannot list its metrics yet)
        return None
    seen = set()
    while pending:
        metric = pending.pop()
        if id(metric) in seen:
            continue
        seen.add(id(metric))
        if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
            return metric._direction
        inner = getattr(metric, "metrics", None)  # containers of metrics
        if isinstance(inner, (list, tuple)):
            pending.extend(inner)
    return None
