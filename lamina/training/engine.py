"""The compiled programs behind `fit`, `evaluate` and `predict`.

The model's `train_step` (and `test_step`, `predict_step`) is ordinary stateful Python: it calls
the model, computes gradients, lets the optimizer assign, updates metrics. `StepPrograms`
turns it into pure JAX over an explicit tuple of state values:

* the state Variables are found once by abstract tracing (`discover_variables`);
* `single(values, batch) -> (values, logs)` runs one step on one batch;
* `chunk(values, arrays, indices, chunk_number, steps) -> (values, logs)` runs up to
  `chunk_size` steps in one `lax.scan`, gathering each batch from device-resident arrays by
  index; steps past the end of the epoch are skipped with `lax.cond`, so one program serves
  every chunk, whatever the number of batches.

State buffers are donated to each program, so weights and optimizer slots exist once. The
Variables stay the source of truth: values are read from them before each program and written
back after it, so callbacks always see current weights.
"""

import jax
import jax.numpy as jnp
from jax import lax

from lamina._runtime.discovery import discover_variables
from lamina._runtime.scope import StateScope


def _logs_like(logs_spec):
    return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), logs_spec)


class StepPrograms:
    """Pure, compiled versions of one stateful step function.

    Args:
        step_fn: `step_fn(batch) -> logs` (a dict of arrays), stateful.
        batch_spec: a pytree of `jax.ShapeDtypeStruct` describing one full batch.
        guard_loss: a key of the logs; when set, a step whose value under that key is not
            finite leaves the state unchanged, and so do the remaining steps of its chunk
            (TerminateOnNaN then stops training with the last good weights).
        collect_outputs: stack each step's logs (used by `predict`) instead of keeping the last.
    """

    def __init__(self, step_fn, batch_spec, guard_loss=None, collect_outputs=False):
        self.step_fn = step_fn
        self.guard_loss = guard_loss
        self.collect_outputs = collect_outputs
        self.variables = tuple(discover_variables(step_fn, batch_spec))
        self._single = jax.jit(self._single_impl, donate_argnums=0)
        self._chunks = {}

    # ----------------------------------------------------------------------------- pure step
    def _pure(self, values, batch):
        scope = StateScope(zip(self.variables, values), opaque=True)
        with scope:
            logs = self.step_fn(batch)
        if scope.missing:
            names = sorted(v.path for v in scope.missing.values())
            raise RuntimeError(
                f"The training step touched variables it did not use when it was first traced: "
                f"{names}. A step must use the same state every time; create variables in "
                "build() or __init__, not conditionally during training.")
        new_values = tuple(scope.read(variable) for variable in self.variables)
        return new_values, logs

    def _guarded(self, values, batch, healthy):
        new_values, logs = self._pure(values, batch)
        if self.guard_loss is None:
            return new_values, logs, healthy
        healthy = healthy & jnp.all(jnp.isfinite(logs[self.guard_loss]))
        kept = tuple(jnp.where(healthy, new, old) for new, old in zip(new_values, values))
        return kept, logs, healthy

    def _single_impl(self, values, batch):
        new_values, logs, _ = self._guarded(values, batch, jnp.bool_(True))
        return new_values, logs

    def _chunk_impl(self, chunk_size, values, arrays, indices, chunk_number, steps):
        start = chunk_number * chunk_size
        chunk_indices = lax.dynamic_slice_in_dim(indices, start, chunk_size, axis=0)
        valid = (start + jnp.arange(chunk_size)) < steps
        logs_spec = jax.eval_shape(
            lambda v, b: self._pure(v, b)[1], values,
            jax.tree_util.tree_map(lambda a: jnp.take(a, chunk_indices[0], axis=0), arrays))
        empty_logs = _logs_like(logs_spec)

        def body(carry, step_inputs):
            values, logs, healthy = carry
            batch_indices, is_valid = step_inputs
            batch = jax.tree_util.tree_map(lambda a: jnp.take(a, batch_indices, axis=0), arrays)

            def run(operands):
                values, _, healthy = operands
                return self._guarded(values, batch, healthy)

            def skip(operands):
                return operands

            new_carry = lax.cond(is_valid & healthy, run, skip, (values, logs, healthy))
            output = new_carry[1] if self.collect_outputs else None
            return new_carry, output

        (values, logs, _), stacked = lax.scan(
            body, (values, empty_logs, jnp.bool_(True)), (chunk_indices, valid))
        return values, (stacked if self.collect_outputs else logs)

    # ----------------------------------------------------------------------------- running
    def read_values(self):
        return tuple(variable._value for variable in self.variables)

    def write_values(self, values):
        for variable, value in zip(self.variables, values):
            variable._value = value

    def run_single(self, batch):
        values, logs = self._single(self.read_values(), batch)
        self.write_values(values)
        return logs

    def run_chunk(self, chunk_size, arrays, indices, chunk_number, steps):
        program = self._chunks.get(chunk_size)
        if program is None:
            program = jax.jit(
                lambda *a: self._chunk_impl(chunk_size, *a), donate_argnums=0)
            self._chunks[chunk_size] = program
        values, logs = program(self.read_values(), arrays, indices, jnp.int32(chunk_number),
                               jnp.int32(steps))
        self.write_values(values)
        return logs
