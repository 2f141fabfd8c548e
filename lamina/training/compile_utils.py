"""What `compile(loss=..., metrics=...)` turns into: one loss and metric set per model output.

`loss`, `loss_weights`, `metrics` and `weighted_metrics` may each be a single value (applied to
every output), a list (one per output, in order), or a dict keyed by output name. Names follow
Keras 3: with one output, metrics keep their own names (`"mae"`); with several, they are
prefixed by the output name (`"out_mae"`), and each output's loss is reported as
`"<output>_loss"`.
"""

import jax.numpy as jnp


def _flatten_outputs(structure):
    """`[(name or index, leaf), ...]` for a model output structure (a leaf, a list, a dict)."""
    if isinstance(structure, dict):
        return [(key, structure[key]) for key in sorted(structure)]
    if isinstance(structure, (list, tuple)):
        return list(enumerate(structure))
    return [(0, structure)]


def _per_output(spec, keys, what):
    """Spreads a compile argument over the outputs: `{key: value or None}`."""
    if isinstance(spec, dict):
        unknown = [k for k in spec if k not in keys]
        if unknown:
            raise ValueError(
                f"compile({what}=...) names outputs {unknown}, but the model's outputs are "
                f"{list(keys)}. Use the output names (or a list in output order).")
        return {key: spec.get(key) for key in keys}
    if isinstance(spec, (list, tuple)) and len(keys) > 1:
        if what in ("metrics", "weighted_metrics") and not any(
                isinstance(item, (list, tuple, dict)) for item in spec):
            return {key: list(spec) for key in keys}  # the same metrics for every output
        if len(spec) != len(keys):
            raise ValueError(
                f"compile({what}=...) got a list of {len(spec)} entries, but the model has "
                f"{len(keys)} outputs ({list(keys)}). Give one entry per output, or a dict.")
        return dict(zip(keys, spec))
    return {key: spec for key in keys}


class CompileLoss:
    """The total loss of a compiled model: the sum over outputs of weight x loss(y, y_pred)."""

    def __init__(self, loss, loss_weights=None):
        self._spec = loss
        self._loss_weights = loss_weights
        self._built_for = None
        self._losses = {}
        self._weights = {}
        self._trackers = {}

    @property
    def metrics(self):
        return list(self._trackers.values())

    def _build(self, y_true, y_pred, output_names):
        from lamina import losses, metrics

        pairs = _flatten_outputs(y_pred)
        keys = [key for key, _ in pairs]
        specs = _per_output(self._spec, keys, "loss")
        weights = _per_output(self._loss_weights, keys, "loss_weights") \
            if self._loss_weights is not None else {key: None for key in keys}
        targets = dict(_flatten_outputs(y_true)) if y_true is not None else {}
        predictions = dict(pairs)
        for key in keys:
            spec = specs[key]
            self._losses[key] = None if spec is None else losses.resolve_loss(
                spec, targets.get(key), predictions[key])
            self._weights[key] = 1.0 if weights[key] is None else float(weights[key])
        if len(keys) > 1:
            for key in keys:
                if self._losses[key] is not None:
                    name = output_names.get(key, f"output_{key}") if isinstance(key, int) \
                        else key
                    self._trackers[key] = metrics.Mean(name=f"{name}_loss")
        self._built_for = keys

    def __call__(self, y_true, y_pred, sample_weight=None, output_names=None):
        if self._built_for is None:
            self._build(y_true, y_pred, output_names or {})
        predictions = _flatten_outputs(y_pred)
        targets = dict(_flatten_outputs(y_true)) if y_true is not None else {}
        weights = dict(_flatten_outputs(sample_weight)) if isinstance(
            sample_weight, (list, tuple, dict)) else None
        total = jnp.zeros((), "float32")
        for key, prediction in predictions:
            loss_fn = self._losses.get(key)
            if loss_fn is None:
                continue
            if key not in targets:
                raise ValueError(
                    f"The model has an output {key!r} with a loss, but y has no target for it. "
                    f"Provide y with the same structure as the outputs ({self._built_for}).")
            target = targets[key]
            weight = weights.get(key) if weights is not None else sample_weight
            value = loss_fn(target, prediction, sample_weight=weight)
            if key in self._trackers:
                self._trackers[key].update_state(value, sample_weight=jnp.shape(prediction)[0])
            total = total + self._weights[key] * jnp.asarray(value, "float32")
        return total


class CompileMetrics:
    """The metrics of a compiled model, per output, weighted or not."""

    def __init__(self, metrics=None, weighted_metrics=None):
        self._metrics_spec = metrics
        self._weighted_spec = weighted_metrics
        self._built = False
        self._unweighted = {}
        self._weighted = {}

    @property
    def metrics(self):
        result = []
        for table in (self._unweighted, self._weighted):
            for items in table.values():
                result.extend(items)
        return result

    def build(self, y_true, y_pred, loss_for_output=None, output_names=None):
        from lamina.metrics.compile_utils import resolve_metric

        pairs = _flatten_outputs(y_pred)
        keys = [key for key, _ in pairs]
        targets = dict(_flatten_outputs(y_true)) if y_true is not None else {}
        several = len(keys) > 1
        for spec, table, what in ((self._metrics_spec, self._unweighted, "metrics"),
                                  (self._weighted_spec, self._weighted, "weighted_metrics")):
            if spec is None:
                continue
            per_output = _per_output(spec, keys, what)
            for key, prediction in pairs:
                items = per_output[key] or []
                if not isinstance(items, (list, tuple)):
                    items = [items]
                prefix = ""
                if several:
                    name = (output_names or {}).get(key, f"output_{key}") if isinstance(
                        key, int) else key
                    prefix = f"{name}_"
                resolved = []
                for item in items:
                    metric = resolve_metric(
                        item, y_true=targets.get(key), y_pred=prediction,
                        loss=(loss_for_output or {}).get(key))
                    if prefix:
                        metric.name = prefix + metric.name
                    if what == "weighted_metrics" and not several and any(
                            m.name == metric.name for m in self._unweighted.get(key, [])):
                        metric.name = "weighted_" + metric.name
                    resolved.append(metric)
                table[key] = resolved
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None, loss_for_output=None,
                     output_names=None):
        if not self._built:
            self.build(y_true, y_pred, loss_for_output, output_names)
        targets = dict(_flatten_outputs(y_true)) if y_true is not None else {}
        weights = dict(_flatten_outputs(sample_weight)) if isinstance(
            sample_weight, (list, tuple, dict)) else None
        for key, prediction in _flatten_outputs(y_pred):
            target = targets.get(key)
            for metric in self._unweighted.get(key, []):
                metric.update_state(target, prediction)
            weight = weights.get(key) if weights is not None else sample_weight
            for metric in self._weighted.get(key, []):
                metric.update_state(target, prediction, sample_weight=weight)

