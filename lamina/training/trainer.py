"""`compile`, `fit`, `evaluate`, `predict` and the `*_on_batch` methods of `Model`.

The steps (`train_step`, `test_step`, `predict_step`) are stateful Python, Keras/TF style, and
may be overridden by a subclass (`train_step(self, data)` returning a dict of logs).
`engine.StepPrograms` compiles them into pure programs that run many steps per call;
`loops.py` drives the epochs; this module holds the public methods and the state they share.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from lamina import optimizers
from lamina._runtime import sharding
from lamina._runtime.grad import value_and_grad
from lamina._runtime.rng import global_seed_generator
from lamina._runtime.config import capped_steps, max_epochs
from lamina._runtime.scope import StateScope, current_scope, run_pure
from lamina._runtime.traceback_filter import filter_traceback
from lamina._serialization import deserialize_keras_object, serialize_keras_object
from lamina.callbacks import CallbackList, TerminateOnNaN
from lamina.metrics import Mean
from lamina.training import data as data_lib
from lamina.training import checks, host_stage, loops, state_steps
from lamina.training.compile_utils import CompileLoss, CompileMetrics, OutputLayout
from lamina.training.engine import StepPrograms, TrainState
from lamina.training.interrupts import deferred_interrupts


def _batch_size_of(x):
    leaves = jax.tree_util.tree_leaves(x)
    return leaves[0].shape[0] if leaves else 0


def _resolve_verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2) or isinstance(verbose, bool):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto'. Received: {verbose!r}")
    return verbose


class Trainer:
    """The training half of `Model` (mixed into it)."""

    # Set during training by the loops and callbacks; none changes what the model computes.
    _training_bookkeeping = frozenset({
        "stop_training", "stop_evaluating", "stop_predicting", "history", "_initial_epoch"})

    compiled = False
    optimizer = None
    loss = None
    stop_training = False
    _compile_loss = None
    _compile_metrics = None

    @filter_traceback  # the user's frames, not this wrapper's, in an error from the call
    def __call__(self, *args, **kwargs):
        # `model(raw_strings)`: a model starting with string layers runs them on the host
        # first, as fit/predict do (training/host_stage.py); one cached lookup otherwise.
        if args:
            args = (host_stage.preprocess_call(self, args[0]),) + args[1:]
        return super().__call__(*args, **kwargs)

    # ----------------------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution="auto",
                jit_compile="auto", auto_scale_loss=True):
        """Configures the model for training (Keras 3's arguments).

        `loss`, `loss_weights`, `metrics` and `weighted_metrics` may be given once for all
        outputs, as a list in output order, or as a dict keyed by output name.
        `steps_per_execution="auto"` (lamina's default) runs as many steps per compiled
        program as the progress display and callbacks allow; an int fixes it, as in Keras.
        `run_eagerly=True` (or `jit_compile=False`) runs the steps op by op, for debugging.
        With `auto_scale_loss=True` and a model whose dtype policy is `"mixed_float16"`, the
        optimizer is wrapped in a `LossScaleOptimizer` (dynamic loss scaling), as in Keras.

        Examples:
            >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        """
        if steps_per_execution != "auto" and (
                isinstance(steps_per_execution, bool) or
                not isinstance(steps_per_execution, (int, np.integer)) or
                steps_per_execution < 1):
            raise ValueError(
                f"steps_per_execution must be 'auto' or a positive int. Received: "
                f"{steps_per_execution!r}")
        self.optimizer = optimizers.get(optimizer)
        if (auto_scale_loss and self.dtype_policy.name == "mixed_float16"
                and self.optimizer is not None
                and not isinstance(self.optimizer, optimizers.LossScaleOptimizer)):
            # float16 gradients underflow without it; train_step scales the loss with
            # optimizer.scale_loss, and the wrapper unscales and skips non-finite steps.
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer,
                                                           name="loss_scale_optimizer")
        self.loss = loss
        self._compile_loss = CompileLoss(loss, loss_weights) if loss is not None else None
        self._compile_metrics = (CompileMetrics(metrics, weighted_metrics)
                                 if metrics is not None or weighted_metrics is not None else None)
        self.steps_per_execution = (steps_per_execution if steps_per_execution == "auto"
                                    else int(steps_per_execution))
        self.run_eagerly = bool(run_eagerly) or jit_compile is False
        # Resolved as Keras resolves "auto" on JAX (compiled unless run eagerly), and saved so:
        # Keras's compile config holds a bool.
        self.jit_compile = not self.run_eagerly
        self._compile_config = {
            "optimizer": optimizer, "loss": loss, "loss_weights": loss_weights,
            "metrics": metrics, "weighted_metrics": weighted_metrics,
            # Keras reads an int here; "auto" is lamina's own default, saved as Keras's 1.
            "run_eagerly": run_eagerly,
            "steps_per_execution": 1 if steps_per_execution == "auto" else steps_per_execution,
            "jit_compile": self.jit_compile, "auto_scale_loss": auto_scale_loss}
        object.__setattr__(self, "_loss_tracker", Mean(name="loss"))
        object.__setattr__(self, "_programs", {})
        self.compiled = True

    def _assert_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(
                f"You must call compile() before {what}(). For example: "
                "model.compile(optimizer='adam', loss='mse').")

    # ----------------------------------------------------------------------------- metrics
    @property
    def metrics(self):
        """The loss tracker, the compiled metrics, the per-output loss trackers, then the
        metrics the model and its layers hold (Keras's order)."""
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

    def _flatten_metrics_in_order(self, logs):
        """`evaluate`'s list: Keras's order (the model's metrics by their own names, then the
        remaining keys sorted, which puts per-output metrics of multi-output models last)."""
        compiled = self._compile_metrics
        names = []
        for metric in self.metrics:
            if compiled is not None and any(metric is m for m in compiled.metrics):
                name = compiled.base_name(metric)
            else:
                name = metric.name
            if name not in names:
                names.append(name)
        values = [logs[name] for name in names if name in logs]
        values += [logs[key] for key in sorted(logs) if key not in names]
        return values[0] if len(values) == 1 else values

    # ----------------------------------------------------------------------------- steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus the model's own losses (regularization, `add_loss`)."""
        del x, training
        total = jnp.zeros((), dtype="float32")
        if self._compile_loss is not None:
            self._build_compile_objects(y, y_pred)
            total = total + self._compile_loss(y, y_pred, sample_weight)
        for extra in self.losses:
            total = total + jnp.sum(jnp.asarray(extra, dtype="float32"))
        return total

    def _compute_loss(self, x, y, y_pred, sample_weight, training):
        """Calls `compute_loss`, passing `training` only to an override that takes it (as
        Keras does: older overrides have no such parameter)."""
        if state_steps.accepts_training(self.compute_loss):
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables,
                               metrics_variables, x=None, y=None, y_pred=None,
                               sample_weight=None, training=True):
        """`compute_loss` as a pure function of the given variable values (Keras 3's JAX API).

        Returns `(loss, (trainable_variables, non_trainable_variables, metrics_variables))`:
        the trainable values as given, the others as `compute_loss` left them. Regularization
        penalties are computed on the given trainable values; no Variable changes.
        """
        groups = (self.trainable_variables, self.non_trainable_variables,
                  self.metrics_variables)
        given = (list(trainable_variables), list(non_trainable_variables),
                 list(metrics_variables))
        for name, variables, values in zip(
                ("trainable_variables", "non_trainable_variables", "metrics_variables"),
                groups, given):
            if len(values) != len(variables):
                raise ValueError(
                    f"stateless_compute_loss on model '{self.name}': `{name}` must hold one "
                    f"value per variable of model.{name}, in order. Received {len(values)} "
                    f"values, expected {len(variables)}.")
        loss, new_values = run_pure(
            [v for group in groups for v in group], [v for values in given for v in values],
            self._compute_loss, x, y, y_pred, sample_weight, training)
        count, extra = len(given[0]), len(given[1])
        return loss, (trainable_variables, list(new_values[count:count + extra]),
                      list(new_values[count + extra:]))

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics; returns every metric's result (the step's logs)."""
        del x
        if self._compile_metrics is not None:
            self._build_compile_objects(y, y_pred)
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def train_step(self, data):
        """One step of training on a batch; returns the logs. Override to customize `fit`."""
        x, y, sample_weight = data_lib.unpack_x_y_sample_weight(data)

        def loss_fn():
            y_pred = self(x, training=True)
            if self._compile_loss is None and not self.losses and \
                    type(self).compute_loss is Trainer.compute_loss:
                raise ValueError(
                    "No loss to compute: compile() got no `loss` and the model adds no "
                    "losses. Pass loss=... to compile(), or call self.add_loss(...) in call().")
            loss = self._compute_loss(x, y, y_pred, sample_weight, training=True)
            # Gradients of the scaled loss (the optimizer unscales them); logs get the loss.
            scaled = self.optimizer.scale_loss(loss) if hasattr(
                self.optimizer, "scale_loss") else loss
            return scaled, (loss, y_pred)

        variables = self.trainable_variables
        (_, (loss, y_pred)), grads = value_and_grad(loss_fn, variables, has_aux=True)()
        if variables:
            self.optimizer.apply(grads, variables)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        """One step of evaluation on a batch; returns the logs."""
        x, y, sample_weight = data_lib.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self._compute_loss(x, y, y_pred, sample_weight, training=False)
        self._loss_tracker.update_state(loss, sample_weight=_batch_size_of(x))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        """The model's outputs for one batch."""
        x, _, _ = data_lib.unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ----------------------------------------------------------------------------- building
    def _model_output_names(self):
        outputs = getattr(self, "_flat_outputs", None)
        if outputs is None:
            functional = getattr(self, "_functional", None)
            outputs = getattr(functional, "_flat_outputs", None)
        if not outputs:
            return None
        return [t._keras_history.operation.name for t in outputs]

    def _build_compile_objects(self, y, y_pred):
        """Resolves the compiled losses and metrics from one batch (arrays, tracers or
        shape specs). Done before the first step is traced, so a custom `train_step` that
        walks `self.metrics` sees them all."""
        loss, metrics = self._compile_loss, self._compile_metrics
        if (loss is None or loss.built) and (metrics is None or metrics.built):
            return
        layout = OutputLayout(y_pred, self._model_output_names())
        if loss is not None and not loss.built:
            loss.build(y, y_pred, layout)
        if metrics is not None and not metrics.built:
            metrics.build(y, y_pred, layout,
                          loss.loss_for_output if loss is not None else None)

    def _symbolic_build(self, batch_spec):
        """Builds the model and the compiled losses and metrics from a batch's shapes, by
        tracing the forward pass abstractly (no computation)."""
        x, y, _ = data_lib.unpack_x_y_sample_weight(batch_spec)
        needs_compile_objects = y is not None and any(
            obj is not None and not obj.built
            for obj in (self._compile_loss, self._compile_metrics))
        if self.built and not needs_compile_objects:
            return

        def forward(inputs):
            with StateScope():
                return self._call((inputs,), {"training": False})

        custom = any(getattr(type(self), name) is not getattr(Trainer, name)
                     for name in ("train_step", "test_step", "predict_step"))
        try:
            y_pred = jax.eval_shape(forward, x)
            if needs_compile_objects:
                self._build_compile_objects(y, y_pred)
        except Exception:
            if not custom:
                raise
            # A custom step may call the model or use the data in its own way; it builds
            # what it uses on its first trace (compute_loss/compute_metrics build lazily).

    def _prepare_training_state(self):
        # The optimizer's slots must exist before the step is compiled, so that they are
        # carried like every other piece of state.
        if self.optimizer is None:
            raise ValueError("compile() got optimizer=None; pass an optimizer to train.")
        if not self.optimizer.built:
            self.optimizer.build(self.trainable_variables)

    def _programs_for_spec(self, kind, batch_spec, guard_loss=None):
        """Compiled programs for `kind` ("train", "test", "predict") and this batch layout
        (the batch size aside: a smaller last batch reuses them, traced once more)."""
        self._symbolic_build(batch_spec)
        if kind == "train":
            self._prepare_training_state()
        structure = jax.tree_util.tree_structure(batch_spec)
        shapes = tuple((tuple(s.shape[1:]), str(s.dtype))
                       for s in jax.tree_util.tree_leaves(batch_spec))
        key = (kind, structure, shapes, guard_loss, sharding.token(),
               self._compiled_state_version())
        cache = self.__dict__.get("_programs")
        if cache is None:  # predict on a model that was never compiled
            cache = {}
            object.__setattr__(self, "_programs", cache)
        programs = cache.get(key)
        if programs is None:
            step = self._stateful_step(kind)
            if kind == "predict":
                predict = step

                def step(batch):
                    return {"outputs": predict(batch)}
            programs = StepPrograms(step, batch_spec, self._train_state(kind),
                                    guard_loss=guard_loss, collect_outputs=kind == "predict")
            # Programs traced before the model, optimizer or metrics changed are stale. The
            # programs are stored under the version after tracing, which may have built more.
            key = key[:-1] + (self._compiled_state_version(),)
            for stale in [k for k in cache if k[-2:] != key[-2:]]:  # or distribution
                del cache[stale]
            cache[key] = programs
        return programs

    def _stateful_step(self, kind):
        """The step of `kind` as a stateful `step(batch) -> logs` (outputs for "predict"):
        the model's own, or an adapter around Keras's JAX form `step(state, data)`."""
        method = getattr(self, f"{kind}_step")
        if not state_steps.takes_state(method):
            return method
        if kind == "predict":
            return lambda batch: state_steps.run_state_step(self, kind, batch)["outputs"]
        return lambda batch: state_steps.run_state_step(self, kind, batch)

    def _compiled_state_version(self):
        """Changes exactly when a compiled step may be stale: the model's structure or plain
        attributes, the optimizer's hyperparameters or slots, a metric's settings (Variable
        values are inputs of the programs, so they are not part of it)."""
        optimizer = self.optimizer
        return (self._version, getattr(optimizer, "_version", None),
                tuple(metric._version for metric in self.metrics))

    def _train_state(self, kind):
        """The Variables a built-in step touches, by role, so that it is traced once; whatever
        else a custom step or layer touches is found by tracing."""
        optimizer = self.optimizer if kind == "train" else None
        return TrainState.of(
            trainable_variables=self.trainable_variables,
            non_trainable_variables=self.non_trainable_variables,
            optimizer_variables=optimizer.variables if optimizer is not None else (),
            metrics_variables=self.metrics_variables,
            other_variables=[global_seed_generator().state])

    def _chunk_for(self, kind, callbacks):
        """Steps per compiled program: `steps_per_execution` if set, one while a callback
        must see every batch, a display-sized chunk for a progress bar, else the whole epoch
        (None)."""
        if self.steps_per_execution != "auto":
            return self.steps_per_execution
        if callbacks.needs_batch_hooks(kind):
            return 1
        if callbacks.wants_progress(kind):
            return loops.DISPLAY_CHUNK
        return None

    # ----------------------------------------------------------------------------- fit
    @filter_traceback  # errors show the user's frames, not lamina's
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model; returns a `History`. Arguments and semantics are Keras 3's.

        The last, smaller batch of an epoch is used (with its true size in the loss mean).
        `model.stop_training = True` (set by a callback) ends training after the current
        batch; Ctrl-C stops after the current compiled program and leaves the model usable.

        Examples:
            >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> history = model.fit(np.ones((10, 3)), np.zeros((10, 1)), batch_size=4,
            ...                     epochs=2, validation_split=0.2, verbose=0)
            >>> sorted(history.history)
            ['loss', 'mae', 'val_loss', 'val_mae']
        """
        self._assert_compiled("fit")
        verbose = _resolve_verbose(verbose)
        checks.check_fit_arguments(epochs, initial_epoch, batch_size, steps_per_epoch,
                                   validation_split, validation_steps, validation_batch_size,
                                   validation_freq, shuffle)
        # keras.config.set_max_epochs / set_max_steps_per_epoch: debugging caps.
        if max_epochs() is not None and max_epochs() < epochs:
            warnings.warn(f"Limiting epochs to {max_epochs()} (keras.config.set_max_epochs).",
                          stacklevel=3)
            epochs = max_epochs()
        steps_per_epoch = capped_steps(steps_per_epoch)
        validation_steps = capped_steps(validation_steps)
        class_weight = checks.standardize_class_weight(class_weight)
        x = host_stage.preprocess(self, x)  # string layers run on the host first
        if validation_data is not None:
            validation_data = host_stage.preprocess_validation(self, validation_data)
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
        # Bad targets are refused here, before the first step (arrays: once, on the host).
        self._check_data("train", train_data)
        if val_data is not None:
            self._check_data("test", val_data, where="validation y")
        if isinstance(callbacks, CallbackList):
            callback_list = callbacks
        else:
            steps = steps_per_epoch or train_data.steps
            if steps is not None and train_data.steps is not None:
                steps = min(int(steps), train_data.steps)
            callback_list = CallbackList(
                callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                verbose=verbose, epochs=epochs, steps=steps)
        guard = "loss" if any(isinstance(c, TerminateOnNaN)
                              for c in callback_list.callbacks) else None
        runner = loops.EpochRunner(self, "train", train_data, callback_list, None,
                                   guard_loss=guard, steps_per_epoch=steps_per_epoch)
        self.stop_training = False
        loops.call_hook(callback_list.on_train_begin)
        # BackupAndRestore sets this in on_train_begin to resume after a crash.
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch
        epoch_logs = {}
        try:
            with deferred_interrupts() as interrupts:
                runner.interrupts = interrupts
                for epoch in range(initial_epoch, epochs):
                    self.reset_metrics()
                    loops.call_hook(callback_list.on_epoch_begin, epoch,
                                    where=f"(epoch={epoch})")
                    epoch_logs = dict(runner.run(epoch))
                    if val_data is not None and self._should_validate(epoch, validation_freq):
                        val_logs = self._evaluate_data(val_data, callback_list, interrupts,
                                                       validation_steps, "validation y")
                        epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
                    loops.call_hook(callback_list.on_epoch_end, epoch, epoch_logs,
                                    where=f"(epoch={epoch})")
                    interrupts.check()
                    if self.stop_training:
                        break
        finally:
            if epochs > initial_epoch and hasattr(self.optimizer, "finalize_variable_values"):
                self.optimizer.finalize_variable_values(self.trainable_weights)
        loops.call_hook(callback_list.on_train_end, epoch_logs)
        return self.history

    def _validation_data(self, validation_data, batch_size, steps):
        names = tuple(f"validation_data[{i}]" for i in range(3))
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) and \
                data_lib.is_array_data(validation_data[0]):
            vx, vy, vw = data_lib.unpack_x_y_sample_weight(tuple(validation_data))
            return data_lib.make_data(vx, vy, vw, batch_size=batch_size, steps=steps,
                                      shuffle=False, names=names)
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            problem = data_lib.data_problem(names[0], validation_data[0])
            if problem is not None:
                raise problem
        return data_lib.make_data(validation_data, steps=steps, shuffle=False,
                                  names=("validation_data",) + names[1:])

    # ----------------------------------------------------------------------------- checks
    def _output_layout(self):
        for obj in (self._compile_loss, self._compile_metrics):
            if obj is not None and obj.built:
                return obj.layout
        return None

    def _sparse_label_specs(self):
        """Per output, how the compiled loss and metrics read integer labels (cached: the
        generator path asks once per batch)."""
        loss, metrics = self._compile_loss, self._compile_metrics
        # The objects themselves (not ids, which a recompiled model could reuse).
        key = (loss, getattr(loss, "built", None), metrics, getattr(metrics, "built", None))
        cached = self.__dict__.get("_label_specs")
        if cached is not None and cached[0] == key:
            return cached[1]
        specs = checks.sparse_label_specs(loss, metrics)
        object.__setattr__(self, "_label_specs", (key, specs))
        return specs

    def _check_data(self, kind, data, where="y"):
        """Checks array targets once, on the host, before any step runs on them: sparse
        labels in range and integral, class_weight classes that the output has. Builds the
        model and the compiled loss from the data's shapes if needed (as the first step
        would). Generators are checked batch by batch by the loops."""
        if not isinstance(data, data_lib.ArrayData) or data.targets is None:
            return
        if not self.built or any(obj is not None and not obj.built
                                 for obj in (self._compile_loss, self._compile_metrics)):
            size = data.batch_size if data.full_batches else data.partial_size
            with loops.noted(kind, lambda: f"the first batch ({loops.describe_first(data)})"):
                self._symbolic_build(data.batch_spec(size))
        layout = self._output_layout()
        if layout is None and self.compiled and (
                self._compile_loss is not None or self._compile_metrics is not None):
            return  # a custom step builds them when traced: the loop checks again then
        self._check_targets(data.targets, data.class_weight, where)
        data.targets = None  # checked: the host copy is no longer needed

    def _check_batch_targets(self, batch, class_weight=None, where="y"):
        """The same checks for one batch (generators, `*_on_batch`): a few microseconds."""
        _, y, _ = data_lib.unpack_x_y_sample_weight(batch)
        if y is not None:
            self._check_targets(y, class_weight, where)

    def _check_targets(self, y, class_weight, where):
        layout = self._output_layout()
        if layout is None:
            return
        if class_weight:
            checks.check_class_weight_classes(class_weight, layout, labels=y)
        checks.check_targets(y, self._sparse_label_specs(), layout, where)

    @staticmethod
    def _should_validate(epoch, validation_freq):
        if isinstance(validation_freq, int):
            return (epoch + 1) % validation_freq == 0
        if isinstance(validation_freq, (list, tuple, set, range)):
            return (epoch + 1) in validation_freq
        raise ValueError(
            "validation_freq must be an int or a list of epochs (1-based). Received: "
            f"{validation_freq!r}")

    # ----------------------------------------------------------------------------- evaluate
    @filter_traceback
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Returns the loss and metrics on the data: a scalar (the loss alone), a list in
        Keras's order, or a dict with `return_dict=True`.

        Examples:
            >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> sorted(model.evaluate(np.ones((4, 3)), np.zeros((4, 1)), verbose=0,
            ...                       return_dict=True))
            ['loss', 'mae']
        """
        self._assert_compiled("evaluate")
        if kwargs:
            raise ValueError(f"Arguments not recognized by evaluate(): {sorted(kwargs)}")
        verbose = _resolve_verbose(verbose)
        checks.check_count("evaluate", "batch_size", batch_size)
        checks.check_count("evaluate", "steps", steps)
        steps = capped_steps(steps)
        x = host_stage.preprocess(self, x)  # string layers run on the host first
        data = data_lib.make_data(x, y, sample_weight, batch_size=batch_size, steps=steps,
                                  shuffle=False)
        self._check_data("test", data)
        if isinstance(callbacks, CallbackList):
            callback_list = callbacks
        else:
            total = min(steps, data.steps) if steps and data.steps else (steps or data.steps)
            callback_list = CallbackList(
                callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                steps=total)
        with deferred_interrupts() as interrupts:
            logs = self._evaluate_data(data, callback_list, interrupts, steps)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    def _evaluate_data(self, data, callbacks, interrupts, steps=None, where="y"):
        self.stop_evaluating = False
        self.reset_metrics()
        data.reset()
        loops.call_hook(callbacks.on_test_begin)
        runner = loops.EpochRunner(self, "test", data, callbacks, interrupts,
                                   steps_per_epoch=steps, where=where)
        logs = runner.run()
        loops.call_hook(callbacks.on_test_end, logs)
        return logs

    # ----------------------------------------------------------------------------- predict
    @filter_traceback
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Predictions for the inputs, batched; NumPy arrays in the model's output structure.

        Under a `keras.distribution` over several processes, each process passes its own rows
        and gets back the predictions of those rows, in their order.

        Examples:
            >>> model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
            >>> model.predict(np.ones((70, 3)), verbose=0).shape
            (70, 2)
        """
        verbose = _resolve_verbose(verbose)
        checks.check_count("predict", "batch_size", batch_size)
        checks.check_count("predict", "steps", steps)
        steps = capped_steps(steps)
        x = host_stage.preprocess(self, x)  # string layers run on the host first
        if data_lib.is_array_data(x) and not callbacks and steps is None and \
                not self.run_eagerly and not sharding.multi_process():
            count = data_lib.check_sample_counts(x, None, None)
            if count <= (batch_size or 32):
                return self._predict_small(x)
        data = data_lib.make_data(x, batch_size=batch_size, steps=steps, shuffle=False)
        if isinstance(callbacks, CallbackList):
            callback_list = callbacks
        else:
            total = min(steps, data.steps) if steps and data.steps else (steps or data.steps)
            callback_list = CallbackList(
                callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                steps=total)
        self.stop_predicting = False
        loops.call_hook(callback_list.on_predict_begin)
        with deferred_interrupts() as interrupts:
            if self.run_eagerly:
                outputs = self._predict_eagerly(data, steps)
            else:
                outputs = loops.run_predict(self, data, callback_list, interrupts, steps)
        loops.call_hook(callback_list.on_predict_end)
        return outputs

    def _predict_small(self, x):
        """One batch: the model's cached compiled forward pass, no data machinery. `x` went
        through the host stage already (predict, predict_on_batch)."""
        problem = data_lib.data_problem("x", x)
        if problem is not None:
            raise problem
        x = jax.tree_util.tree_map(data_lib.to_array, x)
        if not self.built:
            self._symbolic_build(loops.spec_of((x,)))
        with host_stage.applied():
            outputs = self(x, training=False) if current_scope() is None else \
                self._call((x,), {"training": False})
        return jax.tree_util.tree_map(np.asarray, outputs)

    def _predict_eagerly(self, data, steps=None):
        if isinstance(data, data_lib.ArrayData):
            plan = data.epoch_plan(steps)
            batches = [data.take(plan.table[row]) for row in range(plan.full_steps)]
            batches += [data.take(plan.partial)] if plan.run_partial else []
        else:
            batches = data.epoch_batches()
        outputs = []
        predict = self._stateful_step("predict")
        try:
            for batch in batches:
                with StateScope():  # op by op; nothing the step assigns is kept
                    outputs.append(jax.tree_util.tree_map(np.asarray, predict(batch)))
        finally:
            if hasattr(batches, "close"):
                batches.close()  # joins the prefetch thread
        return jax.tree_util.tree_map(lambda *parts: np.concatenate(parts, axis=0), *outputs)

    # ----------------------------------------------------------------------------- on_batch
    def _run_on_batch(self, kind, batch, class_weight=None):
        if self.run_eagerly:
            self._symbolic_build(loops.spec_of(batch))
            self._check_batch_targets(batch, class_weight)
            data = data_lib.GeneratorData([batch])
            runner = loops.EpochRunner(self, kind, data, _NoCallbacks(), _NoInterrupts())
            return runner.run()
        programs = self._programs_for_spec(kind, loops.spec_of(batch))
        self._check_batch_targets(batch, class_weight)
        return loops.to_python(programs.run_single(batch))

    @filter_traceback
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One step of training on one batch; returns its logs (scalar, list or dict).

        As in Keras 3, the metrics are reset first, so the logs describe this batch only.
        """
        self._assert_compiled("train_on_batch")
        class_weight = checks.standardize_class_weight(class_weight)
        batch = data_lib.convert_batch(host_stage.preprocess(self, x), y, sample_weight,
                                       "train_on_batch")
        if class_weight is not None:
            x, y, sample_weight = data_lib.unpack_x_y_sample_weight(batch)
            batch = data_lib.pack_x_y_sample_weight(x, y, data_lib.to_array(
                data_lib.class_weights_to_sample_weights(y, class_weight, sample_weight)))
        self.reset_metrics()
        logs = self._run_on_batch("train", batch, class_weight)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    @filter_traceback
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """The loss and metrics on one batch (metrics reset first)."""
        self._assert_compiled("test_on_batch")
        batch = data_lib.convert_batch(host_stage.preprocess(self, x), y, sample_weight,
                                       "test_on_batch")
        self.reset_metrics()
        logs = self._run_on_batch("test", batch)
        return logs if return_dict else self._flatten_metrics_in_order(logs)

    @filter_traceback
    def predict_on_batch(self, x):
        """The model's outputs for `x` as one batch, as NumPy arrays."""
        return self._predict_small(host_stage.preprocess(self, x))

    # ----------------------------------------------------------------------------- configs
    def get_compile_config(self):
        if not self.compiled:
            return None
        return serialize_keras_object(self._compile_config)

    def compile_from_config(self, config):
        config = deserialize_keras_object(config)
        self.compile(**config)


class _NoCallbacks:
    """The hooks a loop calls, doing nothing (for the `*_on_batch` methods)."""

    def __getattr__(self, name):
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)

    def needs_batch_hooks(self, mode):
        return False

    def wants_progress(self, mode):
        return False


class _NoInterrupts:
    def check(self):
        pass
