"""Refusing bad input to `fit`, `evaluate` and `predict` before anything trains on it.

Everything here runs on the host, once per call or once per array, never per compiled step:

* the loop arguments (`epochs`, `batch_size`, `steps_per_epoch`, `validation_freq`, ...);
* `class_weight`: a dict of class index -> non-negative weight, for classes the single output
  has (a one-unit output has classes 0 and 1);
* sparse labels: where a loss or metric reads integer class labels
  (`sparse_categorical_crossentropy`, `sparse_categorical_accuracy`, ...), every label must
  be an integer in `[0, num_classes)` (or the loss's `ignore_class`). Compiled code cannot
  raise on a value: such a label would silently give a loss of 0 (out of range) or a wrong
  one-hot row (fractional). An array costs one `min` and one `max` (and, for float labels, one
  integrality pass); a generator's batches are checked as they arrive, each a few
  microseconds.

Shape mismatches between targets and outputs are static, so `CompileLoss` refuses them when
the step is traced (`compile_utils.py`), at no cost per step.
"""

import math
import numbers

import numpy as np

from lamina.losses import LossFunctionWrapper
from lamina.losses import functions as loss_functions
from lamina.metrics import accuracy as accuracy_metrics

# Functions that read y_true as integer class labels, with how to find the class axis of
# y_pred and the label that counts for nothing, from the function's keyword arguments (None:
# labels are not class indices under these arguments).
_SPARSE_LABEL_FUNCTIONS = {
    loss_functions.sparse_categorical_crossentropy:
        lambda kwargs: (kwargs.get("axis", -1), kwargs.get("ignore_class")),
    loss_functions.categorical_generalized_cross_entropy: lambda kwargs: (-1, None),
    accuracy_metrics.sparse_categorical_accuracy: lambda kwargs: (-1, None),
    accuracy_metrics.sparse_top_k_categorical_accuracy:
        lambda kwargs: None if kwargs.get("from_sorted_ids") else (-1, None),
}


# ----------------------------------------------------------------------------- arguments
def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_count(method, name, value, minimum=1, allow_none=True, meaning=""):
    """`value` must be an int >= `minimum` (or None when `allow_none`)."""
    if value is None and allow_none:
        return None
    if not _is_int(value) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        if allow_none:
            wanted += " or None"
        raise ValueError(
            f"{method}(): `{name}` must be {wanted}{meaning}. Received: {name}={value!r}"
            + (f" (of type {type(value).__name__})" if not _is_int(value) else "") + ".")
    return int(value)


def check_fit_arguments(epochs, initial_epoch, batch_size, steps_per_epoch, validation_split,
                        validation_steps, validation_batch_size, validation_freq, shuffle):
    """Refuses `fit` arguments that would train on the wrong thing or not at all, silently."""
    check_count("fit", "epochs", epochs, minimum=0, allow_none=False,
                meaning=" (the number of the epoch to stop after)")
    check_count("fit", "initial_epoch", initial_epoch, minimum=0, allow_none=False,
                meaning=" (the epoch to start from, 0-based)")
    if initial_epoch > epochs:
        raise ValueError(
            f"fit(): initial_epoch={initial_epoch} is after epochs={epochs}, so nothing would "
            "train. `epochs` is the number of the last epoch, not a count of epochs to run: "
            f"to train {epochs} more epochs from epoch {initial_epoch}, pass "
            f"epochs={initial_epoch + epochs}.")
    check_count("fit", "batch_size", batch_size)
    check_count("fit", "steps_per_epoch", steps_per_epoch)
    check_count("fit", "validation_steps", validation_steps)
    check_count("fit", "validation_batch_size", validation_batch_size)
    if isinstance(validation_split, bool) or not isinstance(
            validation_split, (numbers.Real, np.number)) or not 0 <= validation_split < 1:
        raise ValueError(
            "fit(): `validation_split` must be a number in [0, 1): the fraction of the data "
            f"kept for validation. Received: validation_split={validation_split!r}.")
    if isinstance(validation_freq, (list, tuple, set, range, frozenset)):
        bad = [epoch for epoch in validation_freq if not _is_int(epoch) or epoch < 1]
        if bad:
            raise ValueError(
                "fit(): `validation_freq` as a collection lists the epochs (1-based) after "
                f"which to validate. Received entries {bad!r} in validation_freq="
                f"{validation_freq!r}.")
    else:
        check_count("fit", "validation_freq", validation_freq, allow_none=False,
                    meaning=" (validate every N epochs), or a list of epochs (1-based)")
    check_shuffle(shuffle)


def check_shuffle(shuffle):
    if not isinstance(shuffle, (bool, np.bool_)) and shuffle != "batch":
        raise ValueError(
            f"fit(): `shuffle` must be True, False or 'batch'. Received: shuffle={shuffle!r}.")


# ----------------------------------------------------------------------------- class_weight
def standardize_class_weight(class_weight):
    """`class_weight` as `{int class: float weight}`, or an error naming the bad entry.

    Keys may be ints or integral floats (`dict(zip(np.unique(y), weights))` gives floats for
    float labels); weights must be finite non-negative numbers.
    """
    if class_weight is None:
        return None
    if not isinstance(class_weight, dict):
        raise TypeError(
            "class_weight must be a dict mapping class indices to weights, e.g. "
            f"{{0: 1.0, 1: 5.0}}. Received: {type(class_weight).__name__}")
    result = {}
    for key, weight in class_weight.items():
        integral_float = isinstance(key, (float, np.floating)) and float(key).is_integer()
        if not (_is_int(key) or integral_float):
            raise TypeError(
                "class_weight keys must be class indices (ints 0, 1, ...). Received key "
                f"{key!r} of type {type(key).__name__}. Key the dict by class index, e.g. "
                "{0: 1.0, 1: 5.0}.")
        if key < 0:
            raise ValueError(
                f"class_weight keys must be class indices >= 0. Received key {key!r}.")
        is_number = isinstance(weight, (numbers.Real, np.number)) and not isinstance(
            weight, (bool, np.bool_))
        if not is_number and np.ndim(weight) == 0 and hasattr(weight, "dtype"):
            is_number = np.issubdtype(np.asarray(weight).dtype, np.number)
        if not is_number:
            raise TypeError(
                f"class_weight[{key!r}] must be a number (the weight of class {key!r}). "
                f"Received: {weight!r} of type {type(weight).__name__}.")
        weight = float(weight)
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(
                f"class_weight[{key!r}] must be a finite number >= 0. Received: {weight!r}.")
        result[int(key)] = weight
    return result


def check_class_weight_classes(class_weight, layout, labels=None):
    """Every class in `class_weight` must be a class of the model's single output.

    Args:
        class_weight: the standardized dict.
        layout: the compiled `OutputLayout` (names and shapes of the outputs).
        labels: the targets, if at hand, to list the classes present in the error.
    """
    if not class_weight or layout is None:
        return
    if layout.count > 1:
        raise ValueError(
            "class_weight is only supported for models with a single output; this model has "
            f"{layout.count} outputs ({layout.names}). Weight the samples of each output with "
            "sample_weight (a dict or list with one array per output) instead.")
    shape = layout.shapes[0]
    units = shape[-1] if len(shape) >= 2 else 1
    num_classes = units if units and units > 1 else 2
    unknown = sorted(key for key in class_weight if key >= num_classes)
    if not unknown:
        return
    kind = ("a one-unit output has classes 0 and 1" if num_classes == 2 and units == 1
            else f"its classes are 0 to {num_classes - 1}")
    seen = ""
    if labels is not None:
        present = _classes_present(labels)
        if present is not None:
            seen = f" The targets hold classes {present}."
    raise ValueError(
        f"class_weight names class{'es' if len(unknown) > 1 else ''} "
        f"{', '.join(map(str, unknown))}, but output '{layout.names[0]}' has shape "
        f"{_shape_text(shape)}: {kind}.{seen} Remove the unknown classes from class_weight, or "
        "give the output layer one unit per class.")


def _classes_present(labels):
    labels = np.asarray(labels)
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    values = np.unique(np.round(labels.reshape(-1)))
    if values.size > 20:
        return f"{values[:20].astype(int).tolist()[:-1]} ... ({values.size} in all)"
    return values.astype(int).tolist()


def _shape_text(shape):
    return str((None,) + tuple(shape[1:]))


# ----------------------------------------------------------------------------- sparse labels
class SparseLabels:
    """How the labels of one output are read: `num_classes`, the labels allowed besides
    (`ignore_class`), and who reads them (for the error)."""

    __slots__ = ("ignored", "num_classes", "readers")

    def __init__(self, num_classes, ignored, readers):
        self.num_classes = num_classes
        self.ignored = ignored
        self.readers = readers


def _sparse_use(obj, prediction_shape):
    """`(num_classes, ignore_class)` if the loss or metric `obj` reads integer labels from
    the targets of an output of `prediction_shape`, else None."""
    if isinstance(obj, LossFunctionWrapper):
        if type(obj).call is not LossFunctionWrapper.call:
            return None  # a subclass with its own call may read the targets its own way
        fn, kwargs = obj.fn, obj._fn_kwargs
    else:
        fn, kwargs = getattr(obj, "_fn", None), getattr(obj, "_fn_kwargs", None) or {}
    try:
        rule = _SPARSE_LABEL_FUNCTIONS.get(fn)
    except TypeError:  # an unhashable callable
        return None
    found = rule(kwargs) if rule is not None else None
    if found is None or not prediction_shape:
        return None
    axis, ignore_class = found
    try:
        num_classes = prediction_shape[axis]
    except (IndexError, TypeError):
        return None
    return (num_classes, ignore_class) if isinstance(num_classes, int) else None


def sparse_label_specs(compile_loss, compile_metrics):
    """One `SparseLabels` (or None) per output, from the built compiled loss and metrics."""
    layout = None
    for obj in (compile_loss, compile_metrics):
        if obj is not None and obj.built:
            layout = obj.layout
    if layout is None:
        return None
    users = [[] for _ in range(layout.count)]
    if compile_loss is not None and compile_loss.built:
        for index, loss in enumerate(compile_loss._losses):
            if loss is not None:
                users[index].append((f"loss '{loss.name}'", loss))
    if compile_metrics is not None and compile_metrics.built:
        for index in range(layout.count):
            for metric in (compile_metrics._unweighted[index] + compile_metrics._weighted[index]):
                users[index].append((f"metric '{metric.name}'", metric))
    specs = []
    for index, readers in enumerate(users):
        found = [(who, _sparse_use(obj, layout.shapes[index])) for who, obj in readers]
        found = [(who, use) for who, use in found if use is not None]
        if not found:
            specs.append(None)
            continue
        # Labels equal to any reader's ignore_class are padding (their loss and metrics
        # ignore or miss them); the smallest class count bounds the rest.
        num_classes = min(use[0] for _, use in found)
        ignored = {use[1] for _, use in found if use[1] is not None}
        specs.append(SparseLabels(num_classes, ignored, [who for who, _ in found]))
    return specs if any(spec is not None for spec in specs) else None


def check_sparse_labels(labels, spec, where, output):
    """Refuses labels that are not integers in `[0, spec.num_classes)` (nor ignored).

    One `min` and one `max` over the array; float labels add one integrality pass, and only
    a failing array pays for finding an example.
    """
    if labels is None or spec is None:
        return
    labels = np.asarray(labels)
    kind = labels.dtype.kind  # (not np.issubdtype: a generator's batch pays for every us)
    if labels.size == 0 or kind not in "iuf":
        return  # booleans are 0/1; other dtypes are refused elsewhere with their own message
    low, high = labels.min(), labels.max()
    in_range = low >= 0 and high < spec.num_classes
    # floor is a vectorized pass (np.mod is 20x slower); NaN never equals itself.
    integral = kind != "f" or bool((np.floor(labels) == labels).all())
    if in_range and integral:
        return
    valid = np.ones(labels.shape, bool)
    for ignored in spec.ignored:
        valid &= labels != ignored
    bad = valid & ~((labels >= 0) & (labels < spec.num_classes) & (np.floor(labels) == labels))
    if not bad.any():
        return
    position = tuple(int(i) for i in np.argwhere(bad)[0])
    example = labels[position]
    index_text = ",".join(map(str, position))
    readers = " and ".join(spec.readers)
    ignored = (f" (or the ignore_class {sorted(spec.ignored)})" if spec.ignored else "")
    head = (f"{where} for output '{output}' must hold integer class labels in "
            f"[0, {spec.num_classes}){ignored}: the output has {spec.num_classes} classes and "
            f"{readers} read{'s' if len(spec.readers) == 1 else ''} y as class indices.")
    if np.floor(example) != example:
        raise ValueError(
            f"{head} Received a label that is not an integer: {where}[{index_text}] = "
            f"{float(example)!r}. If y holds probabilities or one-hot rows, use "
            "'categorical_crossentropy' (and an output with one unit per class); for numeric "
            "targets, use a regression loss such as 'mse'.")
    bad_values = labels[bad]
    low, high = bad_values.min(), bad_values.max()
    fix = "Check that the labels start at 0 (subtract 1 from 1-based labels)"
    if high >= spec.num_classes:
        fix += (f", or give the output layer one unit per class ({_number(high + 1)} for "
                "labels up to " f"{_number(high)})")
    raise ValueError(
        f"{head} Received labels from {_number(low)} to {_number(high)} outside that range, "
        f"e.g. {where}[{index_text}] = {_number(example)}; compiled training would give them "
        f"a loss of 0. {fix}.")


def _number(value):
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def check_targets(y, specs, layout, where="y"):
    """Checks every output's targets in `y` (arrays, in the model's output structure)."""
    if specs is None or y is None:
        return
    targets = [y] if layout.count == 1 and hasattr(y, "shape") else layout.align(y, "y")
    for index, (spec, target) in enumerate(zip(specs, targets)):
        if spec is None or target is None:
            continue
        place = where if layout.count == 1 else f"{where}[{layout.names[index]!r}]"
        check_sparse_labels(np.asarray(target), spec, place, layout.names[index])
