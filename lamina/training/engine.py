"""The compiled programs behind `fit`, `evaluate` and `predict`.

The model's `train_step` (and `test_step`, `predict_step`) is ordinary stateful Python: it calls
the model, computes gradients, lets the optimizer assign, updates metrics. `StepPrograms`
turns it into pure JAX over a `TrainState`, the state values grouped by role (trainable and
non-trainable weights, optimizer slots, metric totals, and the rest: seed state and whatever
else a custom step touches):

* the step is traced once per batch layout into a jaxpr over the state values
  (`trace_stateful`), which also finds the state Variables; every program evaluates that
  jaxpr, so the user's Python runs once per layout, however many programs use it;
* `run_single(batch)` runs one step on a batch given as arrays (generators, `*_on_batch`);
* `run_gather(arrays, indices)` runs one step on rows of device-resident arrays, gathered
  inside the program (the last, partial batch of an epoch);
* `run_steps(count, arrays, index_table, start)` runs `count` steps in one compiled loop; step
  `i` uses rows `index_table[start + i]`. For training and evaluation `count` is an argument
  of the program, so every chunk size (a progress bar's 32 steps, the rest of an epoch) runs
  the same compiled program; `predict` stacks each step's outputs in a buffer of a fixed
  number of steps (all the full batches, or a progress bar's 32), so one program serves
  its chunks too.
* `prepare_gather(arrays, indices)` compiles the partial-batch program in a background thread
  (traced here, compiled there), so that on the first epoch it compiles while the main
  program compiles and runs instead of after it: XLA compiles without holding the GIL. It
  runs one step per epoch, yet at XLA's default optimization: the cheapest level halved its
  compile time but made a convolutional step up to 2.8x slower, every epoch (see
  `_ONCE_PER_EPOCH_OPTIONS`).
* `run_whole(arrays, index_table, partial)` runs a whole pass, full batches and the partial
  one, as one program: `fit` (without a loss guard), `evaluate` and `predict` over arrays
  when nothing must hear from the program between batches (one dispatch and one compilation
  instead of two; and XLA runs the training loop of that program faster, measured on the
  small CNN: 9% less time per epoch).

Steps are never skipped inside a program (no `lax.cond`, which costs a host round trip per
step on some accelerators): the trainer asks for exactly the steps it wants.

With `guard_loss` (TerminateOnNaN), a step whose loss is not finite leaves the state as it was,
and so do the remaining steps of its program; the logs are those of the bad step, so the
callback sees the NaN and stops training with the last good weights.

State buffers are donated to each program, so weights and optimizer slots exist once. The
Variables stay the source of truth: values are read from them before each program and
committed back after it (`lamina._runtime.state`), so callbacks always see current weights,
and an error between programs leaves the state of the last completed step.
"""

import concurrent.futures
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lamina._runtime import sharding
from lamina._runtime.state import commit, current_values
from lamina._runtime.tracing import trace_stateful

# Threads that compile programs ahead of need (XLA releases the GIL while it compiles): two,
# so that an epoch's loop program and its partial-batch program compile side by side.
_COMPILER = concurrent.futures.ThreadPoolExecutor(max_workers=2,
                                                  thread_name_prefix="lamina-compile")

# The partial-batch program is compiled at XLA's default backend optimization level. Level 0
# (used before) halved its compile time but made it run 1.6-2.8x slower, once per epoch:
# measured by benchmarks/partial_batch_opt.py (2026-12-05, load average 5-6, CPU seconds),
# the small CNN's step on 35 rows saved 0.56-0.60 s of compile CPU and cost 23-34 ms an
# epoch (even after 18-24 epochs), the ResNet's on 67 rows saved 2.2-2.3 s and cost 0.50-0.56 s
# an epoch (even after 4); level 1 saved little (0.07-0.75 s) and ran as fast as the default.
# The compilation runs on a background thread beside the main program's, and lamina's
# persistent compilation cache makes the saving a first run's only, while the run-time cost
# is every epoch's of every run. (On the book's MLP level 0 saved 0.23 s and cost nothing
# measurable: a first epoch 0.1-0.2 s longer there is the price.)
_ONCE_PER_EPOCH_OPTIONS = None


class TrainState(NamedTuple):
    """What a compiled step carries, grouped by role; each field is a tuple.

    The same type holds the Variables (`StepPrograms.state`) and, in a program, their values.
    The first four groups are Keras's JAX training state, in Keras's orders (the model's
    `trainable_variables` and `non_trainable_variables`, the optimizer's `variables`, the
    metrics' variables in `model.metrics` order); `other_variables` holds the process's random
    seed state and any Variable a custom step touches besides those.
    """

    trainable_variables: tuple = ()
    non_trainable_variables: tuple = ()
    optimizer_variables: tuple = ()
    metrics_variables: tuple = ()
    other_variables: tuple = ()

    @classmethod
    def of(cls, **groups):
        """A state from lists of Variables; a Variable listed twice stays in its first group."""
        seen = set()
        fields = {}
        for name in cls._fields:
            kept = []
            for variable in groups.get(name, ()):
                if id(variable) not in seen:
                    seen.add(id(variable))
                    kept.append(variable)
            fields[name] = tuple(kept)
        return cls(**fields)

    def flat(self):
        return tuple(v for group in self for v in group)

    def unflatten(self, flat):
        """`flat` (one item per Variable, in `flat()` order) grouped like this state."""
        groups, start = [], 0
        for group in self:
            groups.append(tuple(flat[start:start + len(group)]))
            start += len(group)
        return type(self)(*groups)


def _gather(arrays, indices):
    return jax.tree_util.tree_map(lambda a: jnp.take(a, indices, axis=0), arrays)


def _batch_rows(arrays, index_table, step, contiguous):
    """The batch of row `step` of `index_table`. With `contiguous` (every row of the table is
    a run of consecutive indices: data not shuffled, or shuffled batch by batch) a slice,
    which XLA's CPU backend copies several times faster than it gathers rows by index (2.5x
    on the book's MLP's predict at batch 32)."""
    rows = lax.dynamic_index_in_dim(index_table, step, keepdims=False)
    if not contiguous:
        return _gather(arrays, rows)
    size = index_table.shape[1]
    return jax.tree_util.tree_map(
        lambda a: lax.dynamic_slice_in_dim(a, rows[0], size, axis=0), arrays)


def _spec(tree):
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), tree)


class StepPrograms:
    """Pure, compiled versions of one stateful step function.

    Args:
        step_fn: `step_fn(batch) -> logs` (a dict of arrays), stateful.
        batch_spec: a pytree of `jax.ShapeDtypeStruct` describing one batch.
        state: a `TrainState` of the Variables the step is expected to touch; Variables the
            step touches besides are found by tracing and join `other_variables`. With a
            complete state, the first trace is the only one.
        guard_loss: a key of the logs; when set, a step whose value under that key is not
            finite leaves the state unchanged, and so do the later steps of its program.
        collect_outputs: stack each step's logs (used by `predict`) instead of keeping the last.
    """

    def __init__(self, step_fn, batch_spec, state, guard_loss=None, collect_outputs=False):
        self.step_fn = step_fn
        self.guard_loss = guard_loss
        self.collect_outputs = collect_outputs
        first = trace_stateful(self._logs_of, batch_spec, hint=state.flat())
        found = first.variables[len(state.flat()):]
        self.state = state._replace(other_variables=state.other_variables + tuple(found))
        self.variables = self.state.flat()
        self._traces = {_layout_key(batch_spec): first}  # batch layout -> StatefulTrace
        self._distribution = sharding.active()
        jit_options = {"donate_argnums": 0}
        self._placements = None
        if self._distribution is not None or sharding._used:
            # keras.distribution: the state moves to the active distribution's layouts (or
            # back to one device) and every program returns it in them, so weights, slots and
            # metric totals stay sharded from program to program.
            sharding.place(self.variables)
            self._placements = (tuple(v._value.sharding for v in self.variables),
                                tuple(v._sharding for v in self.variables))
        if self._distribution is not None:
            layouts = self.state.unflatten(self._placements[0])
            jit_options["out_shardings"] = (layouts, None)
        self._jit_options = jit_options
        self._single = jax.jit(self._single_impl, **jit_options)
        self._gather = jax.jit(self._gather_impl, **jit_options)
        self._loops = {contiguous: jax.jit(functools.partial(self._loop_impl,
                                                            contiguous=contiguous),
                                          **jit_options) for contiguous in (False, True)}
        self._collects = {}  # predict's programs, by steps per program
        self._wholes = {contiguous: jax.jit(functools.partial(self._whole_impl, contiguous),
                                            **jit_options) for contiguous in (False, True)}
        self._pending = {}  # program and batch layout -> Future of its compilation

    # ----------------------------------------------------------------------------- pure step
    def _logs_of(self, batch):
        """The step's logs as arrays; the step must return a dict."""
        logs = self.step_fn(batch)
        if not isinstance(logs, dict):
            raise TypeError(
                f"A train/test step must return a dict of logs (name -> value), e.g. "
                f"{{'loss': loss}}. Received: {type(logs).__name__}.")
        return jax.tree_util.tree_map(jnp.asarray, logs)

    def _trace_for(self, batch):
        """The step traced for batches shaped like `batch` (arrays, tracers or specs)."""
        key = _layout_key(batch)
        trace = self._traces.get(key)
        if trace is None:
            trace = trace_stateful(self._logs_of, _spec(batch), hint=self.variables,
                                   allow_creation=False, forbid_creation=self._forbid_creation)
            if len(trace.variables) != len(self.variables):
                names = sorted(v.path for v in trace.variables[len(self.variables):])
                raise RuntimeError(
                    f"The step touched variables it did not use when it was first traced: "
                    f"{names}. A step must use the same state every time; create variables "
                    "in build() or __init__, not conditionally during training.")
            self._traces[key] = trace
        return trace

    @staticmethod
    def _forbid_creation(variable):
        raise RuntimeError(
            f"The step created variable '{variable.path}' for a new batch layout (the last, "
            "smaller batch, or a new input shape). Variables may be created only on the first "
            "step; create them in build() or __init__, not conditionally during training.")

    def _pure(self, state, batch):
        new_values, logs = self._trace_for(batch)(state.flat(), batch)
        return state.unflatten(new_values), logs

    def _empty_logs(self, batch_spec):
        """Zeros shaped like one step's logs on batches like `batch_spec` (a loop's carry)."""
        spec = self._trace_for(batch_spec).output_spec
        return jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), spec)

    def _guarded_step(self, values, batch, logs, healthy):
        """One step; with a guard, a non-finite loss keeps the old state (and, once unhealthy,
        every later step does too, keeping the logs of the first bad step)."""
        if self._distribution is not None:
            batch = self._split_batch(batch)
        new_values, new_logs = self._pure(values, batch)
        if self.guard_loss is None or self.guard_loss not in new_logs:
            return new_values, new_logs, healthy
        ok = healthy & jnp.all(jnp.isfinite(new_logs[self.guard_loss]))
        kept = jax.tree_util.tree_map(lambda new, old: jnp.where(ok, new, old), new_values,
                                      values)
        if logs is not None:
            new_logs = jax.tree_util.tree_map(
                lambda new, old: jnp.where(healthy, new, old), new_logs, logs)
        return kept, new_logs, ok

    def _split_batch(self, batch):
        """The batch laid out along the data axis (XLA then runs each device on its rows and
        sums what the step reduces over the batch). A batch the axis does not divide, the
        last of an epoch, stays whole: every device computes it."""
        shards = self._distribution._data_shards()

        def split(leaf):
            if leaf.ndim == 0 or leaf.shape[0] % shards:
                return leaf
            return lax.with_sharding_constraint(
                leaf, self._distribution._data_sharding(leaf.ndim))

        return jax.tree_util.tree_map(split, batch)

    def _place_batch(self, batch):
        """A batch from the host as arrays laid out along the data axis; with several
        processes each one's batch is its part of the global batch (Keras's rule)."""
        distribution = self._distribution
        shards = distribution._data_shards()

        def place(leaf):
            if distribution.num_processes > 1:
                return jax.make_array_from_process_local_data(
                    distribution._data_sharding(np.ndim(leaf)), np.asarray(leaf))
            if np.ndim(leaf) == 0 or np.shape(leaf)[0] % shards:
                return jax.device_put(leaf, distribution._replicated_sharding())
            return jax.device_put(leaf, distribution._data_sharding(np.ndim(leaf)))

        return jax.tree_util.tree_map(place, batch)

    def _single_impl(self, values, batch):
        new_values, logs, _ = self._guarded_step(values, batch, None, jnp.bool_(True))
        if self.collect_outputs and self._distribution is not None and \
                self._distribution.num_processes > 1:
            # Outputs laid out as the batch was, so each process holds its own rows.
            logs = self._split_batch(logs)
        return new_values, logs

    def _gather_impl(self, values, arrays, indices):
        return self._single_impl(values, _gather(arrays, indices))

    def _loop_impl(self, values, arrays, index_table, start, count, contiguous=False):
        """`count` (traced) steps from row `start`; returns the state and the last logs."""
        empty_logs = self._empty_logs(jax.eval_shape(lambda: _gather(arrays, index_table[0])))

        def body(i, carry):
            values, logs, healthy = carry
            batch = _batch_rows(arrays, index_table, start + i, contiguous)
            return self._guarded_step(values, batch, logs, healthy)

        values, logs, _ = lax.fori_loop(0, count, body,
                                        (values, empty_logs, jnp.bool_(True)))
        return values, logs

    def _collect_impl(self, length, contiguous, values, arrays, index_table, start, count):
        """`count` (traced, at most `length`) steps from row `start`; returns the state and
        every step's logs stacked in a buffer of `length` (static) steps, zeros past `count`
        (predict's outputs). One program serves every count up to `length`."""
        spec = self._trace_for(jax.eval_shape(lambda: _gather(arrays, index_table[0])))
        buffer = jax.tree_util.tree_map(
            lambda s: jnp.zeros((length,) + tuple(s.shape), s.dtype), spec.output_spec)

        def body(i, carry):
            values, buffer, healthy = carry
            batch = _batch_rows(arrays, index_table, start + i, contiguous)
            values, logs, healthy = self._guarded_step(values, batch, None, healthy)
            buffer = jax.tree_util.tree_map(
                lambda stack, step: lax.dynamic_update_index_in_dim(stack, step, i, 0),
                buffer, logs)
            return values, buffer, healthy

        values, buffer, _ = lax.fori_loop(0, count, body, (values, buffer, jnp.bool_(True)))
        return values, buffer

    def _whole_impl(self, contiguous, values, arrays, index_table, partial):
        """A whole pass in one program: every full batch of `index_table`, then the partial
        batch `partial`. Returns the state and, with `collect_outputs`, every row's outputs in
        order (one array per output); otherwise the partial batch's logs. Only for steps
        without a loss guard (the guard's bad step must end its program)."""
        full = index_table.shape[0]
        if self.collect_outputs:
            values, buffer = self._collect_impl(full, contiguous, values, arrays, index_table,
                                                0, full)
        else:
            values, _ = self._loop_impl(values, arrays, index_table, 0, full, contiguous)
        values, logs, _ = self._guarded_step(values, _gather(arrays, partial), None,
                                             jnp.bool_(True))
        if self.collect_outputs:
            logs = jax.tree_util.tree_map(
                lambda stacked, last: jnp.concatenate(
                    [stacked.reshape((-1,) + stacked.shape[2:]), last]), buffer, logs)
        return values, logs

    # ----------------------------------------------------------------------------- running
    def read_values(self):
        """The state's current values, each its own buffer (every one is donated)."""
        values = current_values(self.variables, distinct=True)
        if self._placements is not None:
            values = self._adopt(values)
        return self.state.unflatten(values)

    def _adopt(self, values):
        """Values where this program expects them. Under distributions, a Variable shared
        by programs compiled for different ones (the global seed state, a layer in two
        models) may have been moved by another program since; it comes back here."""
        expected, layouts = self._placements
        moved = list(values)
        for index, (value, where) in enumerate(zip(values, expected)):
            if value.sharding != where:
                # Back to one device as an uncommitted array, as plain programs see them
                # (a committed one would make jit compile them once more).
                moved[index] = jax.device_put(value, where) if layouts[index] is not None \
                    else jax.device_put(np.asarray(value))
                self.variables[index]._sharding = layouts[index]
        return tuple(moved)

    def write_values(self, values):
        commit(zip(self.variables, values.flat()))

    def run_single(self, batch):
        if self._distribution is not None:
            batch = self._place_batch(batch)
        values, logs = self._single(self.read_values(), batch)
        self.write_values(values)
        return logs

    def _compile_ahead(self, key, jitted, args, options=None):
        """Traces `jitted` for `args()` here, on the calling thread (it runs the user's
        Python), and compiles it on a compile thread; once per key. `args` is called only
        then: reading the state's values for a program already compiled is wasted work, once
        per epoch or call."""
        if key not in self._pending:
            lowered = jitted.lower(*args())
            self._pending[key] = _COMPILER.submit(lowered.compile, options)

    def _compiled(self, key, jitted):
        """The executable compiled ahead under `key` (waiting for it, and raising its error);
        without one, `jitted` itself, which compiles on its first call."""
        pending = self._pending.get(key)
        return jitted if pending is None else pending.result()

    def prepare_gather(self, arrays, indices):
        """Starts compiling `run_gather`'s program for these shapes in the background (once);
        tracing, which runs the user's Python, happens here, on the calling thread."""
        self._compile_ahead(("gather", _layout_key((arrays, indices))), self._gather,
                            lambda: (self.read_values(), arrays, indices),
                            _ONCE_PER_EPOCH_OPTIONS)

    def run_gather(self, arrays, indices):
        program = self._compiled(("gather", _layout_key((arrays, indices))), self._gather)
        values, logs = program(self.read_values(), arrays, indices)
        self.write_values(values)
        return logs

    def run_whole(self, arrays, index_table, partial, contiguous=False):
        """Runs a whole pass, the full batches (`index_table`) and the partial one
        (`partial`), as one program: one dispatch where `run_steps` and `run_gather` take two,
        and one compilation on the first call. `fit`, `evaluate` and `predict` use it when
        nothing needs to hear from the program between batches; returns as `_whole_impl`
        says."""
        if self.guard_loss is not None:
            raise ValueError("run_whole runs steps without a loss guard (TerminateOnNaN); "
                             "this program has one. Use run_steps and run_gather.")
        # Compiled through the same cache as the other programs (`_pending`, keyed by the
        # layout), so every executable of these programs can be found and read back.
        key = ("whole", contiguous, _layout_key((arrays, index_table, partial)))
        self._compile_ahead(key, self._wholes[contiguous],
                            lambda: (self.read_values(), arrays, index_table, partial))
        program = self._compiled(key, self._wholes[contiguous])
        values, logs = program(self.read_values(), arrays, index_table, partial)
        self.write_values(values)
        return logs

    def prepare_steps(self, arrays, index_table, length=None, contiguous=False):
        """Starts compiling `run_steps`'s program for these shapes in the background (once;
        the arguments as in `run_steps`). Tracing happens here; while the program compiles,
        the calling thread can trace the partial-batch program (`prepare_gather`)."""
        key, jitted = self._steps_program(arrays, index_table, length, contiguous)
        self._compile_ahead(key, jitted,
                            lambda: (self.read_values(), arrays, index_table, 0, 1))

    def run_steps(self, count, arrays, index_table, start, length=None, contiguous=False):
        """Runs `count` steps on the batches `index_table[start:start + count]`;
        `contiguous` says that each row of the table is a run of consecutive indices (the
        batches are then sliced, not gathered).

        Training and evaluation return the last step's logs. With `collect_outputs`
        (predict) every step's logs come back stacked, in a buffer of `length` steps
        (default `count`) whose rows past `count` are zeros: one compiled program serves
        every count up to `length`, the rest of an epoch included."""
        key, jitted = self._steps_program(arrays, index_table,
                                          count if length is None else length, contiguous)
        program = self._compiled(key, jitted)
        values, logs = program(self.read_values(), arrays, index_table, start, count)
        self.write_values(values)
        return logs

    def _steps_program(self, arrays, index_table, length, contiguous):
        """(compile-ahead key, jitted program) of `run_steps`."""
        layout = _layout_key((arrays, index_table))
        if not self.collect_outputs:
            return ("loop", contiguous, layout), self._loops[contiguous]
        program = self._collects.get((length, contiguous))
        if program is None:
            program = jax.jit(functools.partial(self._collect_impl, length, contiguous),
                              **self._jit_options)
            self._collects[(length, contiguous)] = program
        return ("collect", length, contiguous, layout), program


def _layout_key(tree):
    """Structure, shapes and dtypes of a pytree of arrays or specs (a cache key)."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((tuple(leaf.shape), str(leaf.dtype)) for leaf in leaves)
