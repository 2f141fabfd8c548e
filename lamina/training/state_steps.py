"""Keras 3's JAX training protocol: steps that take and return the training state.

On Keras's JAX backend a model customizes `fit` with pure steps:
`train_step(self, state, data) -> (logs, state)`, where `state` is the tuple
`(trainable_variables, non_trainable_variables, optimizer_variables, metrics_variables)` of
value lists; `test_step(self, state, data) -> (logs, state)` with
`(trainable_variables, non_trainable_variables, metrics_variables)`; and
`predict_step(self, state, data) -> (outputs, non_trainable_variables)` with
`(trainable_variables, non_trainable_variables)`. lamina tells such a step from its stateful
form (`train_step(self, data)`) by its number of parameters, as the two forms cannot be
confused, and runs it through the same compiled programs: inside the trainer's trace, the
state values are read from the Variables' scope and the returned ones assigned back, so a
pure step and a stateful step cost the same.
"""

import inspect

_GROUPS = {
    "train": ("trainable_variables", "non_trainable_variables", "optimizer_variables",
              "metrics_variables"),
    "test": ("trainable_variables", "non_trainable_variables", "metrics_variables"),
    "predict": ("trainable_variables", "non_trainable_variables"),
}


def takes_state(method):
    """Whether a bound step method has Keras's JAX signature `(state, data)`."""
    parameters = [p for p in inspect.signature(method).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(parameters) == 2


def _variable_groups(model, kind):
    groups = {
        "trainable_variables": model.trainable_variables,
        "non_trainable_variables": model.non_trainable_variables,
        "metrics_variables": model.metrics_variables,
    }
    if kind == "train":
        groups["optimizer_variables"] = model.optimizer.variables
    return [(name, list(groups[name])) for name in _GROUPS[kind]]


def _flatten_logs(logs):
    """`{"compile_metrics": {"mae": x}}` -> `{"mae": x}`: Keras's logs may nest one level."""
    flat = {}
    for key, value in logs.items():
        if isinstance(value, dict):
            flat.update(_flatten_logs(value))
        else:
            flat[key] = value
    return flat


def _assign_group(name, variables, values, step):
    values = list(values)
    if len(values) != len(variables):
        raise ValueError(
            f"{step} returned {len(values)} values for `{name}`, but the model has "
            f"{len(variables)} ({[v.path for v in variables][:5]}...). Return the state in "
            "the order it was received, one value per variable.")
    for variable, value in zip(variables, values):
        variable.assign(value)


def run_state_step(model, kind, batch):
    """Runs the model's `(state, data)` step of `kind` statefully; returns its logs (for
    "predict", `{"outputs": ...}`)."""
    groups = _variable_groups(model, kind)
    state = tuple([variable.value for variable in variables] for _, variables in groups)
    step_name = f"{kind}_step"
    result = getattr(model, step_name)(state, batch)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        expected = ("(outputs, non_trainable_variables)" if kind == "predict"
                    else "(logs, state)")
        raise TypeError(
            f"{type(model).__name__}.{step_name}(state, data) must return {expected}. "
            f"Received: a {type(result).__name__}.")
    first, second = result
    if kind == "predict":
        _assign_group("non_trainable_variables", groups[1][1], second, step_name)
        return {"outputs": first}
    if not isinstance(second, (tuple, list)) or len(second) != len(groups):
        raise ValueError(
            f"{type(model).__name__}.{step_name}(state, data) must return the state as a "
            f"tuple of {len(groups)} lists ({', '.join(name for name, _ in groups)}). "
            f"Received: {type(second).__name__} of length "
            f"{len(second) if hasattr(second, '__len__') else '?'}.")
    for (name, variables), values in zip(groups, second):
        _assign_group(name, variables, values, step_name)
    if not isinstance(first, dict):
        raise TypeError(
            f"{type(model).__name__}.{step_name}(state, data) must return a dict of logs "
            f"first. Received: {type(first).__name__}.")
    return _flatten_logs(first)


def accepts_training(compute_loss):
    """Whether a `compute_loss` override takes `training` (Keras passes it only then)."""
    return "training" in inspect.signature(compute_loss).parameters
