"""The compiled programs behind `fit`, `evaluate` and `predict`.

The model's `train_step` (and `test_step`, `predict_step`) is ordinary stateful Python: it calls
the model, computes gradients, lets the optimizer assign, updates metrics. `StepPrograms`
turns it into pure JAX over an explicit tuple of state values:

* the state Variables are found once by abstract tracing (`discover_variables`);
* `run_single(batch)` runs one step on a batch given as arrays (generators, `*_on_batch`);
* `run_gather(arrays, indices)` runs one step on rows of device-resident arrays, gathered
  inside the program (the last, partial batch of an epoch);
* `run_steps(count, arrays, index_table, start)` runs `count` steps in one `lax.scan`; step
  `i` uses rows `index_table[start + i]`. One program per `count`, so an epoch with a
  constant plan (the same chunk size and remainder every epoch) compiles once.

Steps are never skipped inside a program (no `lax.cond`, which costs a host round trip per
step on some accelerators): the trainer asks for exactly the steps it wants.

With `guard_loss` (TerminateOnNaN), a step whose loss is not finite leaves the state as it was,
and so do the remaining steps of its program; the logs are those of the bad step, so the
callback sees the NaN and stops training with the last good weights.

State buffers are donated to each program, so weights and optimizer slots exist once. The
Variables stay the source of truth: values are read from them before each program and written
back after it, so callbacks always see current weights, and an error between programs leaves
the state of the last completed step.
"""

import jax
import jax.numpy as jnp
from jax import lax

from lamina._runtime.discovery import discover_variables
from lamina._runtime.scope import StateScope


def _gather(arrays, indices):
    return jax.tree_util.tree_map(lambda a: jnp.take(a, indices, axis=0), arrays)


class StepPrograms:
    """Pure, compiled versions of one stateful step function.

    Args:
        step_fn: `step_fn(batch) -> logs` (a dict of arrays), stateful.
        batch_spec: a pytree of `jax.ShapeDtypeStruct` describing one batch.
        guard_loss: a key of the logs; when set, a step whose value under that key is not
            finite leaves the state unchanged, and so do the later steps of its program.
        collect_outputs: stack each step's logs (used by `predict`) instead of keeping the last.
    """

    def __init__(self, step_fn, batch_spec, guard_loss=None, collect_outputs=False):
        self.step_fn = step_fn
        self.guard_loss = guard_loss
        self.collect_outputs = collect_outputs
        self.variables = tuple(discover_variables(step_fn, batch_spec))
        self._single = jax.jit(self._single_impl, donate_argnums=0)
        self._gather = jax.jit(self._gather_impl, donate_argnums=0)
        self._scans = {}

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
        if not isinstance(logs, dict):
            raise TypeError(
                f"A train/test step must return a dict of logs (name -> value), e.g. "
                f"{{'loss': loss}}. Received: {type(logs).__name__}.")
        new_values = tuple(scope.read(variable) for variable in self.variables)
        logs = jax.tree_util.tree_map(jnp.asarray, logs)
        return new_values, logs

    def _guarded_step(self, values, batch, logs, healthy):
        """One step; with a guard, a non-finite loss keeps the old state (and, once unhealthy,
        every later step does too, keeping the logs of the first bad step)."""
        new_values, new_logs = self._pure(values, batch)
        if self.guard_loss is None or self.guard_loss not in new_logs:
            return new_values, new_logs, healthy
        ok = healthy & jnp.all(jnp.isfinite(new_logs[self.guard_loss]))
        kept = tuple(jnp.where(ok, new, old) for new, old in zip(new_values, values))
        if logs is not None:
            new_logs = jax.tree_util.tree_map(
                lambda new, old: jnp.where(healthy, new, old), new_logs, logs)
        return kept, new_logs, ok

    def _single_impl(self, values, batch):
        new_values, logs, _ = self._guarded_step(values, batch, None, jnp.bool_(True))
        return new_values, logs

    def _gather_impl(self, values, arrays, indices):
        return self._single_impl(values, _gather(arrays, indices))

    def _scan_impl(self, count, values, arrays, index_table, start):
        rows = lax.dynamic_slice_in_dim(index_table, start, count, axis=0)
        batch_spec = jax.eval_shape(lambda: _gather(arrays, rows[0]))
        logs_spec = jax.eval_shape(lambda v, b: self._pure(v, b)[1], values, batch_spec)
        empty_logs = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), logs_spec)

        def body(carry, batch_indices):
            values, logs, healthy = carry
            values, logs, healthy = self._guarded_step(
                values, _gather(arrays, batch_indices), logs, healthy)
            return (values, logs, healthy), (logs if self.collect_outputs else None)

        (values, logs, _), stacked = lax.scan(body, (values, empty_logs, jnp.bool_(True)), rows)
        return values, (stacked if self.collect_outputs else logs)

    # ----------------------------------------------------------------------------- running
    def read_values(self):
        values = [variable._value for variable in self.variables]
        if len({id(value) for value in values}) != len(values):
            # Two Variables holding one buffer (e.g. assigned the same array) cannot both be
            # donated; give the later ones their own copy.
            seen = set()
            for index, value in enumerate(values):
                if id(value) in seen:
                    values[index] = jnp.array(value, copy=True)
                seen.add(id(value))
        return tuple(values)

    def write_values(self, values):
        for variable, value in zip(self.variables, values):
            variable._value = value

    def run_single(self, batch):
        values, logs = self._single(self.read_values(), batch)
        self.write_values(values)
        return logs

    def run_gather(self, arrays, indices):
        values, logs = self._gather(self.read_values(), arrays, indices)
        self.write_values(values)
        return logs

    def run_steps(self, count, arrays, index_table, start):
        """Runs `count` steps on the batches `index_table[start:start + count]`."""
        program = self._scans.get(count)
        if program is None:
            def scan(values, arrays, index_table, start):
                return self._scan_impl(count, values, arrays, index_table, start)

            program = jax.jit(scan, donate_argnums=0)
            self._scans[count] = program
        values, logs = program(self.read_values(), arrays, index_table, start)
        self.write_values(values)
        return logs
