"""What `compile(loss=..., metrics=...)` turns into: one loss and metric set per model output.

A model's prediction is a leaf, a list, or a dict (possibly nested). `OutputLayout` flattens it
to a list of outputs, each with the name Keras reports it under: the output layer's name for a
functional model, the key for a dict, `output_<i>` (1-based, tf.keras's names) otherwise.
Everything the user gives per output (`loss`, `loss_weights`, `metrics`, `weighted_metrics`,
`y`, `sample_weight`) may be one value for all outputs, a list in output order, or a dict keyed
by output name, and is spread over that flat list once, so the traced step only indexes lists.

Names follow Keras 3: with one output, metrics keep their own names (`"mae"`); with several,
they are prefixed by the output name (`"out_mae"`), a repeated name gets `_1`, `_2`, ..., a
weighted metric that collides with an unweighted one becomes `"out_weighted_mae"`, and when
more than one output has a loss each is reported as `"<output>_loss"` (unweighted).
"""

import jax
import jax.numpy as jnp

from lamina import losses, metrics
from lamina.losses import functions as loss_functions
from lamina.metrics.base import Metric
from lamina.metrics.compile_utils import resolve_metric


def _is_nested(value):
    return isinstance(value, (list, tuple, dict))


class OutputLayout:
    """The flat list of a model's outputs and their names.

    Args:
        y_pred: one batch of predictions (arrays or shape specs), in the model's structure.
        model_output_names: the output layer names of a functional model, in flat order, or
            None for a model without a graph.
    """

    def __init__(self, y_pred, model_output_names=None):
        leaves_with_paths, self.treedef = jax.tree_util.tree_flatten_with_path(y_pred)
        self.count = len(leaves_with_paths)
        # The outputs' shapes on the batch they were built from (batch axis included).
        self.shapes = [tuple(getattr(leaf, "shape", ())) for _, leaf in leaves_with_paths]
        self.is_dict = isinstance(y_pred, dict)
        names = []
        for index, (path, _) in enumerate(leaves_with_paths):
            if model_output_names is not None and len(model_output_names) == self.count and (
                    not self.is_dict):
                names.append(model_output_names[index])
            elif path and all(hasattr(key, "key") for key in path):
                names.append("/".join(str(key.key) for key in path))
            else:
                names.append(f"output_{index + 1}")
        self.names = _deduplicate(names)

    def flatten(self, y_pred):
        return jax.tree_util.tree_leaves(y_pred)

    def align(self, value, what):
        """`value` (targets or sample weights) as one entry per output, or an error that says
        which structure was expected."""
        if value is None:
            return [None] * self.count
        leaves, structure = jax.tree_util.tree_flatten(value)
        if structure == self.treedef:
            return leaves
        if isinstance(value, dict):
            unknown = [key for key in value if key not in self.names]
            if unknown:
                raise ValueError(
                    f"{what} is a dict with keys {sorted(map(str, value))}, but the model's "
                    f"outputs are named {self.names}. Key {what} by output name, or pass a "
                    "list in output order.")
            return [value.get(name) for name in self.names]
        if isinstance(value, (list, tuple)):
            leaves = jax.tree_util.tree_leaves(value)
            if len(value) == self.count:
                return list(value)
            if len(leaves) == self.count:
                return leaves
            raise ValueError(
                f"{what} has {len(value)} entries, but the model has {self.count} outputs "
                f"({self.names}). Pass one entry per output, in order, or a dict keyed by "
                "output name.")
        if self.count == 1 or what == "sample_weight":
            return [value] * self.count  # one weight per sample, shared by every output
        raise ValueError(
            f"{what} is a single array of shape {getattr(value, 'shape', '?')}, but the model "
            f"has {self.count} outputs ({self.names}). Pass a list with one array per "
            "output, or a dict keyed by output name.")

    def spread(self, spec, what):
        """A compile argument (`loss`, `loss_weights`, `metrics`, `weighted_metrics`) as one
        entry per output."""
        many = self.count > 1
        if spec is None:
            return [None] * self.count
        if isinstance(spec, dict):
            unknown = [key for key in spec if key not in self.names]
            if unknown:
                raise ValueError(
                    f"compile({what}=...) names outputs {unknown}, but the model's outputs are "
                    f"{self.names}. Use the output names, or a list in output order.")
            return [spec.get(name) for name in self.names]
        is_metrics = what in ("metrics", "weighted_metrics")
        if isinstance(spec, (list, tuple)):
            if is_metrics and not many:
                if len(spec) == 1 and _is_nested(spec[0]):
                    return [spec[0]]
                return [list(spec)]
            if len(spec) == self.count:
                return list(spec)
            if is_metrics and not any(_is_nested(item) for item in spec):
                # tf.keras's rule, kept for ported code: a flat list of metrics (whose length
                # is not the number of outputs) applies to every output.
                return [list(spec) for _ in range(self.count)]
            raise ValueError(
                f"compile({what}=...) got a list of {len(spec)} entries, but the model has "
                f"{self.count} outputs ({self.names}). Give one entry per output, or a dict "
                "keyed by output name.")
        return [spec] * self.count


def _deduplicate(names):
    seen, result = {}, []
    for name in names:
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        result.append(name)
    return result


def _label(loss_fn):
    return getattr(loss_fn, "name", None) or getattr(loss_fn, "__name__", type(loss_fn).__name__)


class CompileLoss:
    """The compiled loss: the sum over outputs of `loss_weight * loss(y_true, y_pred, w)`."""

    def __init__(self, loss, loss_weights=None):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, float,
                                                                       int)):
            raise TypeError(
                "loss_weights must be a number (one output), or a list or dict with one "
                f"number per output. Received: {loss_weights!r}")
        self._spec = loss
        self._loss_weights = loss_weights
        self.built = False
        self.layout = None
        self._losses = []
        self._weights = []
        self._trackers = []
        self._tracker_order = []

    @property
    def metrics(self):
        """The per-output loss trackers (only when more than one output has a loss), in the
        order of a `loss` dict as written, else in output order."""
        return [tracker for tracker in self._tracker_order if tracker is not None]

    def loss_for_output(self, index):
        return self._losses[index] if self.built else None

    def build(self, y_true, y_pred, layout):
        """Resolves the losses from one batch's targets and predictions (arrays or specs)."""
        self.layout = layout
        specs = layout.spread(self._spec, "loss")
        weights = layout.spread(self._loss_weights, "loss_weights")
        targets = layout.align(y_true, "y") if y_true is not None else [None] * layout.count
        predictions = layout.flatten(y_pred)
        self._losses = [None if spec is None else losses.resolve_loss(spec, target, prediction)
                        for spec, target, prediction in zip(specs, targets, predictions)]
        self._weights = [None if w is None else float(w) for w in weights]
        active = [i for i, loss in enumerate(self._losses) if loss is not None]
        self._trackers = [None] * layout.count
        if len(active) > 1:
            for index in active:
                self._trackers[index] = metrics.Mean(name=f"{layout.names[index]}_loss")
        order = list(range(layout.count))
        if isinstance(self._spec, dict):
            order = sorted(order, key=lambda i: list(self._spec).index(layout.names[i])
                           if layout.names[i] in self._spec else len(self._spec))
        self._tracker_order = [self._trackers[i] for i in order]
        self.built = True

    def __call__(self, y_true, y_pred, sample_weight=None):
        layout = self.layout
        predictions = layout.flatten(y_pred)
        if len(predictions) != layout.count:
            raise ValueError(
                f"The model returned {len(predictions)} outputs, but its loss was set up for "
                f"{layout.count} ({layout.names}). A model must return the same structure on "
                "every call.")
        targets = layout.align(y_true, "y")
        weights = layout.align(sample_weight, "sample_weight")
        total = jnp.zeros((), "float32")
        for index, (loss_fn, target, prediction, weight) in enumerate(
                zip(self._losses, targets, predictions, weights)):
            if loss_fn is None:
                continue
            name = layout.names[index]
            if target is None:
                raise ValueError(
                    f"Output '{name}' has a loss ({_label(loss_fn)}), but y has no target for "
                    f"it. Pass y with one array per output ({layout.names}).")
            _check_target_shape(loss_fn, target, prediction, name, layout)
            try:
                value = jnp.asarray(loss_fn(target, prediction, sample_weight=weight), "float32")
            except Exception as error:
                where = f" for output '{name}'" if layout.count > 1 else ""
                error.add_note(
                    f"Raised by loss {_label(loss_fn)}{where}: y_true has shape "
                    f"{tuple(jnp.shape(target))} ({jnp.result_type(target)}), y_pred has shape "
                    f"{tuple(jnp.shape(prediction))}"
                    + ("" if weight is None else
                       f", sample_weight has shape {tuple(jnp.shape(weight))}") + ".")
                raise
            if self._trackers[index] is not None:
                self._trackers[index].update_state(value, sample_weight=jnp.shape(prediction)[0])
            if self._weights[index] is not None:
                value = value * self._weights[index]
            total = total + value
        return total


def _aligned_shapes(true_shape, pred_shape):
    """The shapes `squeeze_or_expand_to_same_rank` gives (Keras's rank alignment)."""
    true_rank, pred_rank = len(true_shape), len(pred_shape)
    if true_rank == pred_rank + 1 and true_shape[-1] == 1:
        if pred_rank == 1:
            return true_shape, pred_shape + (1,)
        return true_shape[:-1], pred_shape
    if pred_rank == true_rank + 1 and pred_shape[-1] == 1:
        if true_rank == 1:
            return true_shape + (1,), pred_shape
        return true_shape, pred_shape[:-1]
    return true_shape, pred_shape


def _target_shape_hint(fn, true_shape, pred_shape):
    pred_units = pred_shape[-1] if pred_shape else 1
    true_units = true_shape[-1] if true_shape else 1
    if fn in loss_functions.CATEGORICAL_FUNCTIONS and pred_units > 1 and (
            len(true_shape) < len(pred_shape) or true_units == 1):
        return ("y holds one value per sample, as integer class labels do: use "
                "loss='sparse_categorical_crossentropy', or one-hot encode y with "
                "keras.utils.to_categorical(y, num_classes=" f"{pred_units}).")
    expected = (None,) + tuple(pred_shape[1:])
    hint = f"Give targets of shape {expected} (one per output value)"
    if len(true_shape) == len(pred_shape) and true_shape[:-1] == pred_shape[:-1]:
        hint += f", or an output layer with {true_units} units"
    return hint + "."


def _check_target_shape(loss_fn, target, prediction, name, layout):
    """Refuses, at trace time, targets that a built-in element-wise loss would broadcast
    against the output: `(n, 3)` targets for an `(n, 1)` output train on the wrong pairs
    without any error in Keras. Custom losses see the targets as given (some pack extra
    columns into y on purpose)."""
    if not isinstance(loss_fn, losses.LossFunctionWrapper) or \
            type(loss_fn).call is not losses.LossFunctionWrapper.call:
        return
    try:
        elementwise = loss_fn.fn in loss_functions.ELEMENTWISE_FUNCTIONS
    except TypeError:
        return
    if not elementwise:
        return
    true_shape, pred_shape = tuple(jnp.shape(target)), tuple(jnp.shape(prediction))
    aligned_true, aligned_pred = _aligned_shapes(true_shape, pred_shape)
    if aligned_true == aligned_pred:
        return
    try:
        broadcast = tuple(jnp.broadcast_shapes(aligned_true, aligned_pred))
        combined = f"would broadcast them to {broadcast} and train on the wrong pairs"
    except ValueError:
        combined = "cannot combine them"
    which = "y" if layout.count == 1 else f"y[{name!r}]"
    raise ValueError(
        f"Output '{name}' has shape {pred_shape} but its target {which} has shape "
        f"{true_shape}: loss '{_label(loss_fn)}' compares them element by element and "
        f"{combined}. {_target_shape_hint(loss_fn.fn, true_shape, pred_shape)}")


class CompileMetrics:
    """The metrics of a compiled model, per output, unweighted and weighted."""

    def __init__(self, metrics=None, weighted_metrics=None):
        self._metrics_spec = metrics
        self._weighted_spec = weighted_metrics
        self.built = False
        self._unweighted = []  # per output: a list of metrics
        self._weighted = []
        self._base_names = {}

    @property
    def metrics(self):
        """All unweighted metrics (output by output), then all weighted ones: Keras's order."""
        return [m for items in self._unweighted + self._weighted for m in items]

    def base_name(self, metric):
        """The metric's name before the output prefix and de-duplication (for Keras's order
        of `evaluate`'s list)."""
        return self._base_names.get(id(metric), metric.name)

    def build(self, y_true, y_pred, layout, loss_for_output=None):
        targets = layout.align(y_true, "y") if y_true is not None else [None] * layout.count
        predictions = layout.flatten(y_pred)
        taken = set()
        tables = []
        for spec, what in ((self._metrics_spec, "metrics"),
                           (self._weighted_spec, "weighted_metrics")):
            table = []
            for index, items in enumerate(layout.spread(spec, what)):
                if items is None:
                    items = []
                elif not isinstance(items, (list, tuple)):
                    items = [items]
                resolved = []
                for item in items:
                    if item is None:
                        continue
                    if layout.count > 1 and _is_shared_instance(item, spec, layout):
                        raise ValueError(
                            f"compile({what}=...) uses the metric object {item.name!r} for "
                            "several outputs, so they would share its state. Give each output "
                            "its own metric (a dict or list per output), or use a string name.")
                    metric = resolve_metric(
                        item, y_true=targets[index], y_pred=predictions[index],
                        loss=loss_for_output(index) if loss_for_output else None)
                    self._base_names[id(metric)] = metric.name
                    metric.name = _unique_name(metric.name, layout, index, taken,
                                               weighted=what == "weighted_metrics")
                    resolved.append(metric)
                table.append(resolved)
            tables.append(table)
        self._unweighted, self._weighted = tables
        self.layout = layout
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        layout = self.layout
        targets = layout.align(y_true, "y")
        weights = layout.align(sample_weight, "sample_weight")
        for index, prediction in enumerate(layout.flatten(y_pred)):
            for metric in self._unweighted[index]:
                metric.update_state(targets[index], prediction)
            for metric in self._weighted[index]:
                metric.update_state(targets[index], prediction, sample_weight=weights[index])


def _is_shared_instance(item, spec, layout):
    return isinstance(item, Metric) and not isinstance(spec, dict) and not (
        isinstance(spec, (list, tuple)) and len(spec) == layout.count)


def _unique_name(name, layout, index, taken, weighted):
    prefix = f"{layout.names[index]}_" if layout.count > 1 else ""
    candidate = prefix + name
    if candidate in taken and weighted:
        candidate = f"{prefix}weighted_{name}"
    if candidate in taken:
        number = 1
        while f"{candidate}_{number}" in taken:
            number += 1
        candidate = f"{candidate}_{number}"
    taken.add(candidate)
    return candidate
