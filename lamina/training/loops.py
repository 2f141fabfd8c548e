"""The epoch loops of `fit`, `evaluate` and `predict`: data in, compiled programs run, hooks out.

One pass over the data is a short Python loop over compiled programs (see `engine.py`): with
no callback that listens to batches it is a single program for the whole epoch, plus one for
the last, partial batch. Between programs, and only there, the loop calls the batch hooks,
checks for a deferred Ctrl-C and for `model.stop_training`. The logs stay on the device until
a hook listens or the epoch ends, so `verbose=0` costs one host sync per epoch (and the
8-byte read of the shuffling key).

Errors get a note saying where they happened (which batch, which hook, which shapes); the
model then holds the state of the last completed step, because state is written back after
every program and a failed program never ran.
"""

import contextlib
import functools

import jax
import numpy as np

from lamina._runtime import sharding
from lamina._runtime.rng import draw_seed
from lamina._runtime.scope import StateScope
from lamina._runtime.state import commit
from lamina.training import data as data_lib

# Steps per compiled program while a progress bar is shown (it updates once per program).
DISPLAY_CHUNK = 32
# Streamed batches per compiled program when no callback needs each batch (and at most
# data.GROUP_BYTES of them): one program runs them all, as for arrays.
STREAM_GROUP = 32
# Steps per program in `predict` while a progress bar (or another batch-level callback)
# listens; the rest of the batches run in the same program, told to stop early.
PREDICT_CHUNK = 32

_STOP_FLAGS = {"train": "stop_training", "test": "stop_evaluating",
               "predict": "stop_predicting"}


def to_python(logs):
    """Device logs -> a dict of Python floats (scalars) and NumPy arrays; one host sync."""
    values = jax.device_get(logs)
    return {key: (float(value) if np.ndim(value) == 0 else np.asarray(value))
            for key, value in values.items()}


def spec_of(batch):
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), batch)


def call_hook(hook, *args, where=""):
    """Calls a CallbackList hook; an error gets a note naming the hook and the loop position."""
    try:
        hook(*args)
    except Exception as error:
        name = getattr(hook, "__name__", "a callback hook")
        error.add_note(
            f"Raised by a callback in {name}{where}. The model keeps the weights and optimizer "
            "state of the last completed step.")
        raise


def _batch_text(step, batch):
    return f"batch {step} ({data_lib.describe_batch(batch)})"


def describe_first(data):
    return data_lib.describe_batch(data.first_batch())


@contextlib.contextmanager
def noted(kind, describe, epoch=None):
    """Adds "where" to any error raised in the block (`describe()` names the batch), and
    re-raises it."""
    try:
        yield
    except Exception as error:
        epoch_text = f" of epoch {epoch + 1}" if epoch is not None else ""
        error.add_note(f"Raised while running the {kind} step on {describe()}{epoch_text}. "
                       "The model keeps the weights and optimizer state of the last "
                       "completed step.")
        raise


class EpochRunner:
    """Runs passes of one kind (`"train"`, `"test"`) over one dataset for one model."""

    def __init__(self, model, kind, data, callbacks, interrupts, guard_loss=None,
                 steps_per_epoch=None, where="y"):
        self.model = model
        self.kind = kind
        self.data = data
        self.callbacks = callbacks
        self.interrupts = interrupts
        self.guard_loss = guard_loss
        self.steps_per_epoch = steps_per_epoch
        self._where = where  # how errors name the targets ("validation y" inside fit)
        self.begin = getattr(callbacks, f"on_{kind}_batch_begin")
        self.end = getattr(callbacks, f"on_{kind}_batch_end")
        self.epoch = None

    def _stopped(self):
        return bool(getattr(self.model, _STOP_FLAGS[self.kind], False))

    def run(self, epoch=None):
        """One epoch; returns its logs as Python values (those of the last step run)."""
        self.epoch = epoch
        if self.model.run_eagerly:
            logs = self._run_eagerly()
        elif isinstance(self.data, data_lib.ArrayData):
            logs = self._run_arrays()
        else:
            logs = self._run_generator()
        if logs is None:
            raise ValueError(
                f"No data to {'train on' if self.kind == 'train' else 'evaluate'}: the dataset "
                "produced no batches. Check its length and steps_per_epoch / steps.")
        return to_python(logs)

    def _hook(self, hook, step, logs=None):
        call_hook(hook, step, logs, where=f"(batch={step})" + (
            f" during epoch {self.epoch + 1}" if self.epoch is not None else ""))

    def _after_program(self, last_step, logs):
        self._hook(self.end, last_step, logs)
        self.interrupts.check()
        return self._stopped()

    def _run_arrays(self):
        data, kind = self.data, self.kind
        sharding.check_batch_size(data.batch_size if data.full_batches else None,
                                  "fit" if kind == "train" else "evaluate")
        if sharding.multi_process():
            return self._run_process_batches()
        with noted(kind, lambda: f"the first batch ({describe_first(data)})", self.epoch):
            programs = self.model._programs_for_spec(
                kind, data.batch_spec(data.batch_size if data.full_batches
                                      else data.partial_size), self.guard_loss)
        # Done by fit/evaluate already, unless a custom step built the loss while tracing.
        self.model._check_data(kind, data, self._where)
        key_fn = (lambda: draw_seed(None)) if kind == "train" else None
        plan = data.epoch_plan(self.steps_per_epoch, key_fn)
        chunk = self.model._chunk_for(kind, self.callbacks) or max(plan.full_steps, 1)
        # One program for the whole pass when nothing hears from it between batches. Not
        # under TerminateOnNaN's loss guard, whose bad step must end its own program's logs.
        # For fit this is also faster per epoch, not only one dispatch less: the small CNN
        # benchmark's epoch with a partial batch took 9% less time in one program than in
        # two (as fast as its hand-written JAX), and its first epoch compiled one program.
        if self.guard_loss is None and _whole_pass(plan, chunk, data):
            self._hook(self.begin, 0)
            with noted(kind, lambda: f"batches 0..{plan.full_steps} (each "
                       f"{describe_first(data)}, the last {data.partial_size} rows)",
                       self.epoch):
                logs = programs.run_whole(data.arrays, plan.table, plan.partial,
                                          plan.contiguous)
            self._after_program(plan.full_steps, logs)
            return logs
        if plan.run_partial and plan.full_steps:
            # Both programs compile in the background, side by side, while this thread traces.
            with noted(kind, lambda: f"the first batch ({describe_first(data)})", self.epoch):
                programs.prepare_steps(data.arrays, plan.table, contiguous=plan.contiguous)
            with noted(kind, lambda: f"the last batch ({data.partial_size} rows)", self.epoch):
                programs.prepare_gather(data.arrays, plan.partial)
        logs, step = None, 0
        while step < plan.full_steps:
            count = min(chunk, plan.full_steps - step)
            self._hook(self.begin, step)
            with noted(kind, lambda first=step, last=step + count - 1: f"batches {first}.."
                        f"{last} (each {describe_first(data)})", self.epoch):
                logs = programs.run_steps(count, data.arrays, plan.table, plan.start + step,
                                          contiguous=plan.contiguous)
            step += count
            if self._after_program(step - 1, logs):
                return logs
        if plan.run_partial:
            self._hook(self.begin, step)
            with noted(kind, lambda last=step: f"the last batch (batch {last}, "
                        f"{data.partial_size} rows)", self.epoch):
                logs = programs.run_gather(data.arrays, plan.partial)
            self._after_program(step, logs)
        return logs

    def _run_generator(self):
        # Runs of batches go through one program each, as chunks of array data do (a
        # callback that must see every batch makes them single batches).
        group = self.model._chunk_for(self.kind, self.callbacks) or STREAM_GROUP
        if sharding.multi_process():
            group = 1  # each process's rows of a global batch are assembled batch by batch
        # Closed on any exit: the prefetch thread is joined before the epoch returns or raises.
        with contextlib.closing(self.data.epoch_batches(
                group, first=data_lib.FIRST_GROUP)) as batches:
            return self._run_batches(batches)

    def _run_batches(self, batches):
        logs, step = None, 0
        for batch in batches:
            if isinstance(batch, data_lib.StackedBatches):
                logs, stop = self._run_stacked(step, batch)
                step += batch.count
                if stop:
                    break
                continue
            describe = functools.partial(_batch_text, step, batch)
            with noted(self.kind, describe, self.epoch):
                programs = self.model._programs_for_spec(self.kind, spec_of(batch),
                                                         self.guard_loss)
            self.model._check_batch_targets(batch, self.data.class_weight, self._where)
            self._hook(self.begin, step)
            with noted(self.kind, describe, self.epoch):
                logs = programs.run_single(batch)
            step += 1
            if self._after_program(step - 1, logs):
                break
        return logs

    def _run_stacked(self, step, stacked):
        """Batches `step .. step + stacked.count - 1` in one program."""
        last = step + stacked.count - 1

        def describe():
            return f"batches {step}..{last} (each {stacked.describe()})"

        with noted(self.kind, describe, self.epoch):
            programs = self.model._programs_for_spec(self.kind, stacked.batch_spec(),
                                                     self.guard_loss)
        # Targets are checked batch by batch, as they would be one at a time: the batches
        # before a refused one still run.
        count, refused = stacked.count, None
        for index in range(stacked.count if stacked.targets is not None else 0):
            rows = slice(index * stacked.batch_size, (index + 1) * stacked.batch_size)
            targets = jax.tree_util.tree_map(lambda a, rows=rows: a[rows], stacked.targets)
            try:
                self.model._check_batch_targets((None, targets), self.data.class_weight,
                                                self._where)
            except ValueError as error:
                count, refused = index, error
                break
        logs, stop = None, False
        if count:
            self._hook(self.begin, step)
            with noted(self.kind, describe, self.epoch):
                logs = programs.run_steps(count, stacked.arrays, stacked.table, 0)
            stop = self._after_program(step + count - 1, logs)
        if refused is not None:
            raise refused
        return logs, stop

    def _run_process_batches(self):
        """Arrays under a distribution over several processes: each process's batches are
        its rows of each global batch, assembled step by step (`run_single`). Every process
        first checks, with the others, that they all feed as many rows: with uneven data one
        would wait forever for the others' next batch."""
        data = self.data
        sharding.active()._check_process_rows(
            data.num_samples, data.batch_size, data.partial_size,
            "fit" if self.kind == "train" else "evaluate")
        logs = None
        for step, batch in enumerate(self._eager_batches()):
            describe = functools.partial(_batch_text, step, batch)
            with noted(self.kind, describe, self.epoch):
                programs = self.model._programs_for_spec(self.kind, spec_of(batch),
                                                         self.guard_loss)
                self._hook(self.begin, step)
                logs = programs.run_single(batch)
            if self._after_program(step, logs):
                break
        return logs

    def _eager_batches(self):
        data = self.data
        if not isinstance(data, data_lib.ArrayData):
            with contextlib.closing(data.epoch_batches()) as batches:
                yield from batches
            return
        key_fn = (lambda: draw_seed(None)) if self.kind == "train" else None
        plan = data.epoch_plan(self.steps_per_epoch, key_fn)
        for row in range(plan.start, plan.start + plan.full_steps):
            yield data.take(plan.table[row])
        if plan.run_partial:
            yield data.take(plan.partial)

    def _run_eagerly(self):
        """The same steps, op by op (`run_eagerly=True`): for print() and pdb in steps."""
        model, kind = self.model, self.kind
        step_fn = model._stateful_step(kind)
        with contextlib.closing(self._eager_batches()) as batches:
            return self._run_eager_batches(model, kind, step_fn, batches)

    def _run_eager_batches(self, model, kind, step_fn, batches):
        logs = None
        for step, batch in enumerate(batches):
            describe = functools.partial(_batch_text, step, batch)
            with noted(kind, describe, self.epoch):
                model._symbolic_build(spec_of(batch))
                if kind == "train":
                    model._prepare_training_state()
            if isinstance(self.data, data_lib.ArrayData):
                model._check_data(kind, self.data, self._where)
            else:
                model._check_batch_targets(batch, self.data.class_weight, self._where)
            self._hook(self.begin, step)
            with noted(kind, describe, self.epoch), StateScope() as scope:
                logs = step_fn(batch)  # the scope keeps assignments: all or nothing
                logs = jax.tree_util.tree_map(np.asarray, dict(logs))
            guard = self.guard_loss
            if guard is None or guard not in logs or np.all(np.isfinite(logs[guard])):
                commit(scope.assigned())
            if self._after_program(step, logs):
                break
        return logs


def run_predict(model, data, callbacks, interrupts, steps=None):
    """All batches of `data` through `predict_step`; outputs concatenated on the host.

    Under a distribution over several processes each process feeds its rows of every global
    batch and gets back the outputs of its own rows, in its order (Keras 3 on JAX raises
    there: the outputs span other hosts' devices)."""
    outputs = []
    to_host = sharding.active()._process_rows if sharding.multi_process() else np.asarray

    def collect(first, last, batch_outputs, stacked):
        """`stacked`: how many steps' outputs `batch_outputs` stacks (0: one batch's)."""
        if stacked:
            batch_outputs = jax.tree_util.tree_map(
                lambda a: np.asarray(a)[:stacked].reshape((-1,) + a.shape[2:]), batch_outputs)
        else:
            batch_outputs = jax.tree_util.tree_map(to_host, batch_outputs)
        outputs.append(batch_outputs)
        call_hook(callbacks.on_predict_batch_end, last, {"outputs": batch_outputs},
                  where=f"(batch={last})")
        interrupts.check()
        return bool(getattr(model, "stop_predicting", False))

    if isinstance(data, data_lib.ArrayData) and sharding.multi_process():
        sharding.check_batch_size(data.batch_size if data.full_batches else None, "predict")
        plan = data.epoch_plan(steps)
        sharding.active()._check_process_rows(
            data.num_samples, data.batch_size, data.partial_size if plan.run_partial else 0,
            "predict")
        rows = [plan.table[row] for row in range(plan.start, plan.start + plan.full_steps)]
        for step, indices in enumerate(rows + ([plan.partial] if plan.run_partial else [])):
            # Each process's rows of a global batch are assembled batch by batch.
            batch = data.take(indices)
            programs = model._programs_for_spec("predict", spec_of(batch))
            call_hook(callbacks.on_predict_batch_begin, step, where=f"(batch={step})")
            with noted("predict", functools.partial(_batch_text, step, batch)):
                result = programs.run_single(batch)["outputs"]
            if collect(step, step, result, 0):
                break
    elif isinstance(data, data_lib.ArrayData):
        sharding.check_batch_size(data.batch_size if data.full_batches else None, "predict")
        programs = model._programs_for_spec(
            "predict", data.batch_spec(data.batch_size if data.full_batches
                                       else data.partial_size))
        plan = data.epoch_plan(steps)
        length = _predict_length(model, callbacks, plan.full_steps)
        step = 0
        if _whole_pass(plan, length, data):
            call_hook(callbacks.on_predict_batch_begin, 0, where="(batch=0)")
            with noted("predict", lambda: f"batches 0..{plan.full_steps} (each "
                       f"{describe_first(data)}, the last {data.partial_size} rows)"):
                result = programs.run_whole(data.arrays, plan.table, plan.partial,
                                            plan.contiguous)["outputs"]
            collect(0, plan.full_steps, result, 0)
            plan = None
        elif plan.full_steps:
            # Both programs compile in the background, side by side, while this thread traces.
            with noted("predict", lambda: f"the first batch ({describe_first(data)})"):
                programs.prepare_steps(data.arrays, plan.table, length, plan.contiguous)
                if plan.run_partial:
                    programs.prepare_gather(data.arrays, plan.partial)
        while plan is not None and step < plan.full_steps:
            count = min(length, plan.full_steps - step)
            call_hook(callbacks.on_predict_batch_begin, step, where=f"(batch={step})")
            with noted("predict", lambda first=step, last=step + count - 1: f"batches "
                       f"{first}..{last} (each {describe_first(data)})"):
                stacked = programs.run_steps(count, data.arrays, plan.table, plan.start + step,
                                             length, plan.contiguous)["outputs"]
            if collect(step, step + count - 1, stacked, count):
                break
            step += count
        else:
            if plan is not None and plan.run_partial:
                call_hook(callbacks.on_predict_batch_begin, step, where=f"(batch={step})")
                with noted("predict", lambda: f"the last batch (batch {step}, "
                           f"{data.partial_size} rows)"):
                    single = programs.run_gather(data.arrays, plan.partial)["outputs"]
                collect(step, step, single, 0)
    else:
        every = getattr(model, "steps_per_execution", "auto")
        group = 1 if callbacks.needs_batch_hooks("predict") or sharding.multi_process() \
            else (PREDICT_CHUNK if every == "auto" else every)
        with contextlib.closing(data.epoch_batches(group)) as batches:
            step = 0
            for batch in batches:
                if isinstance(batch, data_lib.StackedBatches):
                    programs = model._programs_for_spec("predict", batch.batch_spec())
                    count = batch.count
                    call_hook(callbacks.on_predict_batch_begin, step, where=f"(batch={step})")
                    with noted("predict", lambda first=step, last=step + count - 1:
                               f"batches {first}..{last} (each {batch.describe()})"):
                        stacked = programs.run_steps(count, batch.arrays, batch.table,
                                                     0)["outputs"]
                    step += count
                    if collect(step - count, step - 1, stacked, count):
                        break
                    continue
                programs = model._programs_for_spec("predict", spec_of(batch))
                call_hook(callbacks.on_predict_batch_begin, step, where=f"(batch={step})")
                with noted("predict", functools.partial(_batch_text, step, batch)):
                    result = programs.run_single(batch)["outputs"]
                if collect(step, step, result, 0):
                    break
                step += 1
    if not outputs:
        raise ValueError("predict received no data: the input produced no batches.")
    return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *outputs)


def _whole_pass(plan, chunk, data):
    """Whether one program can run the whole pass of array data, full batches and the
    partial one (`StepPrograms.run_whole`): there are both, the pass starts at the first
    batch and covers all of them, and one program is allowed every full batch (`chunk`)."""
    return (plan.run_partial and plan.start == 0 and plan.full_steps > 0
            and plan.full_steps == data.full_batches and chunk >= plan.full_steps)


def _predict_length(model, callbacks, full_steps):
    """Steps per predict program on array data: `steps_per_execution` if set, one while a
    callback must see every batch, PREDICT_CHUNK while a progress bar or a batch-level
    callback listens (it hears from each program), else all the full batches at once."""
    every = getattr(model, "steps_per_execution", "auto")
    if every != "auto":
        return every
    if callbacks.needs_batch_hooks("predict"):
        return 1
    if callbacks.wants_progress("predict"):
        return PREDICT_CHUNK
    return max(full_steps, 1)
