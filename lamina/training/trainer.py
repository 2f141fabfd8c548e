"""`compile`, `fit`, `evaluate`, `predict` and the `*_on_batch` methods of `Model`.

The steps (`train_step`, `test_step`, `predict_step`) are stateful Python, Keras/TF style, and
may be overridden by a subclass. `engine.StepPrograms` compiles them into pure programs that
run many steps per call; this module drives epochs, data, callbacks and logs around them.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime.grad import value_and_grad
from lamina._runtime.rng import draw_seed
from lamina._runtime.scope import StateScope, current_scope
from lamina.layers import tracking
from lamina.training import data as data_lib
from lamina.training.engine import StepPrograms
from lamina.training.interrupts import deferred_interrupts

# Steps per compiled program while a progress bar is shown (it updates once per program).
_DISPLAY_CHUNK = 32


def _to_python(logs):
    values = jax.device_get(logs)
    return {key: (float(value) if np.ndim(value) == 0 else np.asarray(value))
            for key, value in values.items()}


def _batch_size_of(x):
    leaves = jax.tree_util.tree_leaves(x)
    return leaves[0].shape[0] if leaves else 0


class Trainer:
    """The training half of `Model` (mixed into it)."""

    compiled = False
    optimizer = None
    loss = None
    stop_training = False

    # ----------------------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution="auto",
                jit_compile="auto", auto_scale_loss=True):
        """Configures the model for training (Keras 3's arguments).

        `steps_per_execution="auto"` (lamina's default) runs as many steps per compiled
        program as the progress display and callbacks allow; an int fixes it, as in Keras.
        """
        from lamina import optimizers
        from lamina.training.compile_utils import CompileLoss, CompileMetrics

        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_loss = CompileLoss(loss, loss_weights) if loss is not None else None
        self._compile_metrics = (CompileMetrics(metrics, weighted_metrics)
                                 if metrics is not None or weighted_metrics is not None else None)
        if steps_per_execution != "auto" and (
                not isinstance(steps_per_execution, int) or steps_per_execution < 1):
            raise ValueError(
                f"steps_per_execution must be 'auto' or a positive int. Received: "
                f"{steps_per_execution!r}")
        self.steps_per_execution = steps_per_execution
        self.run_eagerly = bool(run_eagerly) or jit_compile is False
        self.jit_compile = jit_compile
        self._compile_config = {
            "optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
            "metrics": metrics, "weighted_metrics": weighted_metrics,
            "run_eagerly": run_eagerly, "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile, "auto_scale_loss": auto_scale_loss}
        from lamina.metrics import Mean

        object.__setattr__(self, "_loss_tracker", Mean(name="loss"))
        self._programs = {}
        self.compiled = True

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {what}(). For example: "
                "model.compile(optimizer='adam', loss='mse').")

    # ----------------------------------------------------------------------------- metrics
    @property
    def metrics(self):
        """The loss tracker, the compiled metrics, then the metrics the model holds."""
        result = []
        if self.compiled:
            result.append(self._loss_tracker)
            if self._compile_metrics is not None:
                result.extend(self._compile_metrics.metrics)
            if self._compile_loss is not None:
                result.extend(self._compile_loss.metrics)
        for metric in super().metrics:
            if not any(metric is m for m in result):
                result.append(metric)
        return result

    @property
    def metrics_names(self):
        return [metric.name for metric in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def get_metrics_result(self):
        """The current value of every metric, as a flat dict (the logs of a step)."""
        logs = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                logs.update(result)
            else:
                logs[metric.name] = result
        return logs

    # ----------------------------------------------------------------------------- steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus the model's own losses (regularization, `add_loss`)."""
        total = jnp.zeros((), dtype="float32")
        if self._compile_loss is not None:
            total = total + self._compile_loss(y, y_pred, sample_weight,
                                               output_names=self._output_names_by_index())
        for extra in self.losses:
            total = total + jnp.asarray(extra, dtype="float32")
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if self._compile_metrics is not None:
            losses = self._compile_loss._losses if self._compile_loss is not None else None
            self._compile_metrics.update_state(y, y_pred, sample_weight, loss_for_output=losses,
                                               output_names=self._output_names_by_index())
        return self.get_metrics_result()

    def _output_names_by_index(self):
        """Output index -> the name Keras reports it under (the output layer's name)."""
        outputs = getattr(self, "_outputs_struct", None)
        if isinstance(outputs, (list, tuple)):
            return {i: t._keras_history.operation.name for i, t in enumerate(outputs)}
        return {}

    def train_step(self, data):
        """One step of training on a batch; returns the logs. Override to customize `fit`."""
        x, y, sample_weight = data_lib.unpack_x_y_sample_weight(data)

        def loss_fn():
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                     training=True)
            return loss, y_pred

        variables = self.trainable_variables
        (loss, y_pred), grads = value_and_grad(loss_fn, variables, has_aux=True)()
        self.optimizer.apply(grads, variables)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = data_lib.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                 training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = data_lib.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ----------------------------------------------------------------------------- programs
    def _step_programs(self, kind, batch_spec, guard_loss=None):
        """Compiled programs for `kind` ("train", "test", "predict") and this batch layout."""
        structure = jax.tree_util.tree_structure(batch_spec)
        shapes = tuple((tuple(s.shape[1:]), str(s.dtype))
                       for s in jax.tree_util.tree_leaves(batch_spec))
        key = (kind, structure, shapes, guard_loss, tracking.version())
        programs = self._programs.get(key)
        if programs is None:
            if kind == "train":
                self._prepare_training_state()
            step = {"train": self.train_step, "test": self.test_step,
                    "predict": self.predict_step}[kind]
            programs = StepPrograms(
                step if kind != "predict" else (lambda batch: {"outputs": step(batch)}),
                batch_spec, guard_loss=guard_loss, collect_outputs=kind == "predict")
            self._programs = {k: v for k, v in self._programs.items() if k[-1] == key[-1]}
            self._programs[key] = programs
        return programs

    def _prepare_training_state(self):
        # The optimizer's slots must exist before the step is compiled, so that they are
        # carried like every other piece of state.
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def _ensure_built(self, batch):
        """Builds the model from a batch by tracing a call abstractly (no computation)."""
        if self.built:
            return
        x, _, _ = data_lib.unpack_x_y_sample_weight(batch)

        def call(inputs):
            with StateScope():
                return self._call((inputs,), {})

        jax.eval_shape(call, _spec_of(x))

    # ----------------------------------------------------------------------------- fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model; returns a `History`. Arguments and semantics are Keras 3's."""
        from lamina import callbacks as callbacks_module

        self._assert_compiled("fit")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_lib.split_validation(
                x, y, sample_weight, validation_split)
        train_data = data_lib.make_data(x, y, sample_weight, batch_size=batch_size,
                                        steps=steps_per_epoch, shuffle=shuffle,
                                        class_weight=class_weight)
        val_data = None
        if validation_data is not None:
            val_data = self._validation_data(validation_data, validation_batch_size or batch_size,
                                             validation_steps)
        verbose = 1 if verbose == "auto" else verbose
        steps = self._epoch_steps(train_data, steps_per_epoch)
        callback_list = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        guard = "loss" if any(type(c).__name__ == "TerminateOnNaN"
                              for c in callback_list.callbacks) else None
        chunk = self._chunk_size(callback_list, verbose, steps)
        self.stop_training = False
        callback_list.on_train_begin()
        # BackupAndRestore sets this in on_train_begin to resume after a crash.
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch
        epoch_logs = {}
        with deferred_interrupts() as interrupts:
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                callback_list.on_epoch_begin(epoch)
                logs = self._run_epoch("train", train_data, callback_list, chunk, interrupts,
                                       guard_loss=guard, steps_per_epoch=steps_per_epoch)
                epoch_logs = dict(logs)
                if val_data is not None and self._should_validate(epoch, validation_freq):
                    val_logs = self._evaluate_data(val_data, callbacks=callback_list,
                                                   interrupts=interrupts)
                    epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                callback_list.on_epoch_end(epoch, epoch_logs)
                interrupts.check()
                if self.stop_training:
                    break
        callback_list.on_train_end(epoch_logs)
        return self.history

    def _validation_data(self, validation_data, batch_size, steps):
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) and \
                data_lib.is_array_data(validation_data[0]):
            vx, vy, vw = data_lib.unpack_x_y_sample_weight(tuple(validation_data))
            return data_lib.make_data(vx, vy, vw, batch_size=batch_size, shuffle=False)
        return data_lib.make_data(validation_data, steps=steps, shuffle=False)

    @staticmethod
    def _should_validate(epoch, validation_freq):
        if isinstance(validation_freq, int):
            return (epoch + 1) % validation_freq == 0
        return (epoch + 1) in validation_freq

    @staticmethod
    def _epoch_steps(data, steps_per_epoch):
        if isinstance(data, data_lib.ArrayData):
            steps = data.steps
            return min(steps, int(steps_per_epoch)) if steps_per_epoch else steps
        return data.steps

    def _chunk_size(self, callback_list, verbose, steps):
        if self.steps_per_execution != "auto":
            return self.steps_per_execution
        if callback_list.needs_batch_hooks("train"):
            return 1
        if callback_list.wants_progress("train"):
            return _DISPLAY_CHUNK
        return max(1, steps or 1)

    def _run_epoch(self, kind, data, callback_list, chunk, interrupts, guard_loss=None,
                   steps_per_epoch=None):
        """Runs one pass over `data`; returns the logs of the last step as Python floats."""
        begin = getattr(callback_list, f"on_{kind}_batch_begin")
        end = getattr(callback_list, f"on_{kind}_batch_end")
        hooks = callback_list.needs_batch_hooks(kind)
        progress = callback_list.wants_progress(kind)
        logs = None
        if self.run_eagerly:
            return self._run_epoch_eagerly(kind, data, begin, end, interrupts, steps_per_epoch)
        if isinstance(data, data_lib.ArrayData):
            programs = self._programs_for(kind, data, guard_loss)
            order = data.permutation(draw_seed(None)) if kind == "train" else \
                jnp.arange(data.num_samples)
            full, partial = data.batch_indices(order)
            full_steps = data.full_batches
            if steps_per_epoch:
                full_steps = min(full_steps, int(steps_per_epoch))
                partial = None if full_steps < data.full_batches or \
                    int(steps_per_epoch) <= data.full_batches else partial
            chunk = max(1, min(chunk, full_steps)) if full_steps else 1
            n_chunks = math.ceil(full_steps / chunk) if full_steps else 0
            padding = n_chunks * chunk - full_steps
            if padding:
                full = jnp.concatenate([full[:full_steps], jnp.zeros(
                    (padding, data.batch_size), full.dtype)])
            step = 0
            for number in range(n_chunks):
                if hooks:
                    begin(step)
                logs = programs.run_chunk(chunk, data.arrays, full, number, full_steps)
                step = min(step + chunk, full_steps)
                if hooks or progress:
                    end(step - 1, _to_python(logs))
                interrupts.check()
                if self.stop_training and kind == "train":
                    return _to_python(logs)
            if partial is not None:
                if hooks:
                    begin(step)
                logs = programs.run_single(data.take(partial))
                if hooks or progress:
                    end(step, _to_python(logs))
                interrupts.check()
        else:
            programs = None
            for step, batch in enumerate(self._generator_batches(data)):
                if programs is None:
                    self._ensure_built(batch)
                    programs = self._step_programs(kind, _spec_of(batch), guard_loss)
                if hooks:
                    begin(step)
                logs = programs.run_single(batch)
                if hooks or progress:
                    end(step, _to_python(logs))
                interrupts.check()
                if self.stop_training and kind == "train":
                    break
        if logs is None:
            raise ValueError(
                f"No data to {'train on' if kind == 'train' else 'evaluate'}: the dataset "
                "produced no batches. Check its length and steps_per_epoch.")
        return _to_python(logs)

    def _programs_for(self, kind, data, guard_loss):
        spec = data.batch_spec(data.batch_size if data.full_batches else data.partial_size)
        if not self.built:
            self._ensure_built(data.take(jnp.arange(min(data.batch_size, data.num_samples))))
        return self._step_programs(kind, spec, guard_loss)

    @staticmethod
    def _generator_batches(data):
        iterator = data.epoch_batches()
        index = 0
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except Exception as error:
                error.add_note(
                    f"Raised by the data generator while producing batch {index}. The model "
                    "keeps the weights of the last completed step.")
                raise
            yield batch
            index += 1

    def _run_epoch_eagerly(self, kind, data, begin, end, interrupts, steps_per_epoch):
        step_fn = {"train": self.train_step, "test": self.test_step,
                   "predict": self.predict_step}[kind]
        if isinstance(data, data_lib.ArrayData):
            order = data.permutation(draw_seed(None)) if kind == "train" else \
                jnp.arange(data.num_samples)
            bounds = range(0, data.num_samples, data.batch_size)
            batches = (data.take(order[i:i + data.batch_size]) for i in bounds)
        else:
            batches = self._generator_batches(data)
        logs = None
        for step, batch in enumerate(batches):
            if steps_per_epoch and step >= steps_per_epoch:
                break
            self._ensure_built(batch)
            if kind == "train" and not self.optimizer.built:
                self.optimizer.build(self.trainable_variables)
            begin(step)
            with StateScope() as scope:  # all or nothing, as in compiled mode
                logs = step_fn(batch)
            for variable, value in scope.assigned():
                variable.assign(value)
            logs = _to_python(logs)
            end(step, logs)
            interrupts.check()
            if self.stop_training and kind == "train":
                break
        return logs

    # ----------------------------------------------------------------------------- evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Returns the loss and metrics on the data: a scalar, a list, or a dict."""
        from lamina import callbacks as callbacks_module

        self._assert_compiled("evaluate")
        data = data_lib.make_data(x, y, sample_weight, batch_size=batch_size, steps=steps,
                                  shuffle=False)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = callbacks_module.CallbackList(
            callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
            steps=self._epoch_steps(data, steps))
        with deferred_interrupts() as interrupts:
            logs = self._evaluate_data(data, callback_list, interrupts, steps=steps)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_data(self, data, callbacks, interrupts, steps=None):
        for metric in self.metrics:
            metric.reset_state()
        callbacks.on_test_begin()
        chunk = 1 if callbacks.needs_batch_hooks("test") else max(
            1, self._epoch_steps(data, steps) or 1)
        logs = self._run_epoch("test", data, callbacks, chunk, interrupts, steps_per_epoch=steps)
        callbacks.on_test_end(logs)
        return logs

    # ----------------------------------------------------------------------------- predict
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Predictions for the inputs, batched; NumPy arrays in the model's output structure."""
        if data_lib.is_array_data(x) and not callbacks and steps is None:
            count = data_lib.check_sample_counts(x, None, None)
            if count <= (batch_size or 32):
                return self._predict_small(x)
        return self._predict_batched(x, batch_size, verbose, steps, callbacks)

    def _predict_small(self, x):
        """One batch: the model's cached compiled forward pass, no data machinery."""
        x = jax.tree_util.tree_map(data_lib._to_array, x)
        if not self.built:
            self(x)
        outputs = self(x) if current_scope() is None else self._call((x,), {})
        return jax.tree_util.tree_map(np.asarray, outputs)

    def _predict_batched(self, x, batch_size, verbose, steps, callbacks):
        from lamina import callbacks as callbacks_module

        data = data_lib.make_data(x, batch_size=batch_size, steps=steps, shuffle=False)
        verbose = 1 if verbose == "auto" else verbose
        total = self._epoch_steps(data, steps)
        callback_list = callbacks_module.CallbackList(
            callbacks, add_progbar=verbose != 0 and (total or 2) > 1, model=self,
            verbose=verbose, epochs=1, steps=total)
        callback_list.on_predict_begin()
        outputs = []
        with deferred_interrupts() as interrupts:
            if isinstance(data, data_lib.ArrayData):
                programs = self._programs_for("predict", data, None)
                full, partial = data.batch_indices(jnp.arange(data.num_samples))
                if data.full_batches:
                    stacked = programs.run_chunk(data.full_batches, data.arrays, full, 0,
                                                 data.full_batches)["outputs"]
                    outputs.append(jax.tree_util.tree_map(
                        lambda a: np.asarray(a).reshape((-1,) + a.shape[2:]), stacked))
                if partial is not None:
                    single = programs.run_single(data.take(partial))["outputs"]
                    outputs.append(jax.tree_util.tree_map(np.asarray, single))
                callback_list.on_predict_batch_end(total - 1, {})
            else:
                programs = None
                for step, batch in enumerate(self._generator_batches(data)):
                    if programs is None:
                        self._ensure_built(batch)
                        programs = self._step_programs("predict", _spec_of(batch))
                    result = programs.run_single(batch)["outputs"]
                    outputs.append(jax.tree_util.tree_map(np.asarray, result))
                    callback_list.on_predict_batch_end(step, {})
                    interrupts.check()
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("predict received no data: the input produced no batches.")
        return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *outputs)

    # ----------------------------------------------------------------------------- on_batch
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One step of training on one batch; returns the logs (scalar, list or dict)."""
        self._assert_compiled("train_on_batch")
        if class_weight is not None:
            sample_weight = data_lib.class_weights_to_sample_weights(y, class_weight,
                                                                     sample_weight)
        batch = data_lib.GeneratorData._convert(
            data_lib.pack_x_y_sample_weight(x, y, sample_weight), 0)
        self._ensure_built(batch)
        logs = _to_python(self._step_programs("train", _spec_of(batch)).run_single(batch))
        return self._format_logs(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._assert_compiled("test_on_batch")
        batch = data_lib.GeneratorData._convert(
            data_lib.pack_x_y_sample_weight(x, y, sample_weight), 0)
        self._ensure_built(batch)
        for metric in self.metrics:
            metric.reset_state()
        logs = _to_python(self._step_programs("test", _spec_of(batch)).run_single(batch))
        return self._format_logs(logs, return_dict)

    def predict_on_batch(self, x):
        return self._predict_small(x)

    @staticmethod
    def _format_logs(logs, return_dict):
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ----------------------------------------------------------------------------- configs
    def get_compile_config(self):
        if not self.compiled:
            return None
        from lamina.saving import serialize_keras_object

        return serialize_keras_object(self._compile_config)

    def compile_from_config(self, config):
        from lamina.saving import deserialize_keras_object

        config = deserialize_keras_object(config)
        self.compile(**config)


def _spec_of(batch):
    return jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), batch)

