"""The keras-io guide "Customizing what happens in `fit()` with JAX"
(guides/custom_train_step_in_jax.py, by fchollet), run as a user would run it on lamina.

The guide's code is copied as written, with `import lamina as keras` instead of `import keras`
and without `os.environ["KERAS_BACKEND"]`; the data are the guide's (1000 random rows), the
epochs as few as the guide's. Each section becomes a test that checks what the guide shows: the
loss goes down, the logs have the keys the guide prints, the weights move, `evaluate` runs the
custom `test_step`. A section of an earlier version of the guide (`self.compute_loss(x, y,
y_pred)` inside the stateless step) and the rest of Keras 3's JAX training protocol
(`compute_loss` overrides without `training`, `predict_step(self, state, data)`) follow.

The guide's steps have Keras's JAX signature, `train_step(self, state, data)` returning
`(logs, state)`; `fit`/`evaluate`/`predict` detect it and drive the state tuple. The same steps
are also called by hand below, jitted, the way Keras's `fit` calls them, which checks the
stateless pieces the guide uses (`stateless_call`, `optimizer.stateless_apply`,
`metric.stateless_*`, `stateless_compute_loss`) on their own.
"""

import jax
import numpy as np
import pytest

import lamina as keras



@pytest.fixture(autouse=True)
def _seeded():
    """The initial weights are drawn from the global seed; how much 30 Adam steps gain depends
    on them (from 6% to 60% of the error over seeds), so each test starts from the same."""
    keras.utils.set_random_seed(0)


def guide_data(seed=0):
    np.random.seed(seed)
    x = np.random.random((1000, 32))
    y = np.random.random((1000, 1))
    return x, y


# --------------------------------------------------------------------------------------
# "A first simple example" (the guide's code)


class FirstCustomModel(keras.Model):
    def compute_loss_and_updates(
        self,
        trainable_variables,
        non_trainable_variables,
        metrics_variables,
        x,
        y,
        sample_weight,
        training=False,
    ):
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables,
            non_trainable_variables,
            x,
            training=training,
        )
        loss, (
            trainable_variables,
            non_trainable_variables,
            metrics_variables,
        ) = self.stateless_compute_loss(
            trainable_variables,
            non_trainable_variables,
            metrics_variables,
            x=x,
            y=y,
            y_pred=y_pred,
            sample_weight=sample_weight,
            training=training,
        )
        return loss, (y_pred, non_trainable_variables, metrics_variables)

    def train_step(self, state, data):
        (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            metrics_variables,
        ) = state
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)

        # Get the gradient function.
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)

        # Compute the gradients.
        (loss, (y_pred, non_trainable_variables, metrics_variables)), grads = grad_fn(
            trainable_variables,
            non_trainable_variables,
            metrics_variables,
            x,
            y,
            sample_weight,
            training=True,
        )

        # Update trainable variables and optimizer variables.
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables
        )

        # Update metrics.
        new_metrics_vars = []
        logs = {}
        for metric in self.metrics:
            this_metric_vars = metrics_variables[
                len(new_metrics_vars) : len(new_metrics_vars) + len(metric.variables)
            ]
            if metric.name == "loss":
                this_metric_vars = metric.stateless_update_state(
                    this_metric_vars, loss, sample_weight=sample_weight
                )
            else:
                this_metric_vars = metric.stateless_update_state(
                    this_metric_vars, y, y_pred, sample_weight=sample_weight
                )
            logs[metric.name] = metric.stateless_result(this_metric_vars)
            new_metrics_vars += this_metric_vars

        # Return metric logs and updated state variables.
        state = (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            new_metrics_vars,
        )
        return logs, state


def first_example():
    # Construct and compile an instance of CustomModel
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = FirstCustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def test_a_model_subclass_called_with_inputs_and_outputs_is_a_functional_model():
    model = first_example()
    assert type(model) is FirstCustomModel
    assert isinstance(model, keras.Model) and isinstance(model, keras.models.Functional)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert model(np.ones((2, 32), "float32")).shape == (2, 1)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(FirstCustomModel)" in text or "first_custom_model" in text
    assert "Total params: 33" in text


def test_first_example_fit():
    model = first_example()
    before = model.get_weights()
    # Just use `fit` as usual
    x, y = guide_data()
    history = model.fit(x, y, epochs=3)
    assert sorted(history.history) == ["loss", "mae"]
    losses = history.history["loss"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert history.history["mae"][-1] < history.history["mae"][0]
    # The state the jitted steps returned is written back to the model's Variables.
    assert any(not np.allclose(b, a) for b, a in zip(before, model.get_weights()))
    prediction = model.predict(x, verbose=0)
    mse = float(np.mean((prediction - y) ** 2))
    assert mse < losses[0]
    assert np.isclose(float(model.get_metrics_result()["loss"]), losses[-1], rtol=1e-5)


def run_train_steps_by_hand(model, x, y, steps, batch_size=32):
    """What Keras's JAX `fit` does with a `train_step(self, state, data)`: the state tuple from
    the model's Variables, the step jitted, the new state written back at the end."""
    model.optimizer.build(model.trainable_variables)
    state = (
        [v.value for v in model.trainable_variables],
        [v.value for v in model.non_trainable_variables],
        [v.value for v in model.optimizer.variables],
        [v.value for v in model.metrics_variables],
    )
    train_step = jax.jit(model.train_step)
    history = []
    for step in range(steps):
        rows = slice(step * batch_size, (step + 1) * batch_size)
        logs, state = train_step(state, (x[rows], y[rows]))
        # Keras's logs may nest a dict ("compile_metrics": {"mae": ...}); fit flattens them.
        flat = {}
        for name, value in logs.items():
            flat.update(value if isinstance(value, dict) else {name: value})
        history.append({k: float(v) for k, v in flat.items()})
    groups = (model.trainable_variables, model.non_trainable_variables,
              model.optimizer.variables, model.metrics_variables)
    for variables, values in zip(groups, state):
        for variable, value in zip(variables, values):
            variable.assign(value)
    return history


def mse(model, x, y):
    return float(np.mean((np.asarray(model(x)) - y) ** 2))


def build_compiled_metrics(model, x, y):
    """Keras's `fit` builds the compiled loss and metrics from the first batch before the step
    is traced; by hand, one eager call of `compute_loss` and `compute_metrics` does it."""
    y_pred = model(x[:2])
    model.compute_loss(x[:2], y[:2], y_pred)
    model.compute_metrics(x[:2], y[:2], y_pred)
    model.reset_metrics()


def test_first_example_train_step_called_as_keras_fit_calls_it():
    model = first_example()
    x, y = guide_data()
    x, y = x.astype("float32"), y.astype("float32")
    build_compiled_metrics(model, x, y)
    before, mse_before = model.get_weights(), mse(model, x, y)
    history = run_train_steps_by_hand(model, x, y, steps=30)
    assert sorted(history[0]) == ["loss", "mae"]
    assert any(not np.allclose(b, a) for b, a in zip(before, model.get_weights()))
    assert mse(model, x, y) < 0.95 * mse_before


# --------------------------------------------------------------------------------------
# "Going lower-level" (the guide's code)


class LowerLevelCustomModel(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def compute_loss_and_updates(
        self,
        trainable_variables,
        non_trainable_variables,
        x,
        y,
        sample_weight,
        training=False,
    ):
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables,
            non_trainable_variables,
            x,
            training=training,
        )
        loss = self.loss_fn(y, y_pred, sample_weight=sample_weight)
        return loss, (y_pred, non_trainable_variables)

    def train_step(self, state, data):
        (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            metrics_variables,
        ) = state
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)

        # Get the gradient function.
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)

        # Compute the gradients.
        (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
            trainable_variables,
            non_trainable_variables,
            x,
            y,
            sample_weight,
            training=True,
        )

        # Update trainable variables and optimizer variables.
        trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables
        )

        # Update metrics.
        loss_tracker_vars = metrics_variables[: len(self.loss_tracker.variables)]
        mae_metric_vars = metrics_variables[len(self.loss_tracker.variables) :]

        loss_tracker_vars = self.loss_tracker.stateless_update_state(
            loss_tracker_vars, loss, sample_weight=sample_weight
        )
        mae_metric_vars = self.mae_metric.stateless_update_state(
            mae_metric_vars, y, y_pred, sample_weight=sample_weight
        )

        logs = {}
        logs[self.loss_tracker.name] = self.loss_tracker.stateless_result(
            loss_tracker_vars
        )
        logs[self.mae_metric.name] = self.mae_metric.stateless_result(mae_metric_vars)

        new_metrics_vars = loss_tracker_vars + mae_metric_vars

        # Return metric logs and updated state variables.
        state = (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            new_metrics_vars,
        )
        return logs, state

    @property
    def metrics(self):
        # We list our `Metric` objects here so that `reset_states()` can be
        # called automatically at the start of each epoch
        # or at the start of `evaluate()`.
        return [self.loss_tracker, self.mae_metric]


def lower_level_example():
    # Construct an instance of CustomModel
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = LowerLevelCustomModel(inputs, outputs)

    # We don't pass a loss or metrics here.
    model.compile(optimizer="adam")
    return model


def test_lower_level_model_keeps_its_init_and_metrics():
    model = lower_level_example()
    assert type(model) is LowerLevelCustomModel
    assert [m.name for m in model.metrics] == ["loss", "mae"]
    assert len(model.metrics_variables) == 4  # Mean: total, count; MAE: total, count
    assert isinstance(model.loss_fn, keras.losses.MeanSquaredError)


def test_lower_level_fit():
    model = lower_level_example()
    before = model.get_weights()
    # Just use `fit` as usual -- you can use callbacks, etc.
    x, y = guide_data()
    history = model.fit(x, y, epochs=5)
    assert sorted(history.history) == ["loss", "mae"]
    losses = history.history["loss"]
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert any(not np.allclose(b, a) for b, a in zip(before, model.get_weights()))
    # The metrics' state came back from the jitted steps: their results are the last logs.
    assert np.isclose(float(model.loss_tracker.result()), losses[-1], rtol=1e-5)
    assert np.isclose(float(model.mae_metric.result()), history.history["mae"][-1], rtol=1e-5)


def test_lower_level_train_step_called_as_keras_fit_calls_it():
    model = lower_level_example()
    x, y = guide_data()
    x, y = x.astype("float32"), y.astype("float32")
    before, mse_before = model.get_weights(), mse(model, x, y)
    history = run_train_steps_by_hand(model, x, y, steps=30)
    assert sorted(history[0]) == ["loss", "mae"]
    # The logs are running means over the steps (the first is one batch's loss), so they
    # show little; the model's own error on the data, after the state is written back, shows
    # the training.
    after = model.get_weights()
    assert any(not np.allclose(b, a) for b, a in zip(before, after))
    assert mse(model, x, y) < 0.95 * mse_before
    # The metrics' state came back out of the jitted steps: 30 batches of 32 rows, and the
    # last logged value.
    assert float(model.loss_tracker.count.numpy()) == 30
    assert np.isclose(float(model.loss_tracker.result()), history[-1]["loss"], rtol=1e-6)
    assert float(model.mae_metric.count.numpy()) == 30 * 32


# --------------------------------------------------------------------------------------
# "Providing your own evaluation step" (the guide's code)


class EvalCustomModel(keras.Model):
    def test_step(self, state, data):
        # Unpack the data.
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        (
            trainable_variables,
            non_trainable_variables,
            metrics_variables,
        ) = state

        # Compute predictions and loss.
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables,
            non_trainable_variables,
            x,
            training=False,
        )
        loss, (
            trainable_variables,
            non_trainable_variables,
            metrics_variables,
        ) = self.stateless_compute_loss(
            trainable_variables,
            non_trainable_variables,
            metrics_variables,
            x=x,
            y=y,
            y_pred=y_pred,
            sample_weight=sample_weight,
            training=False,
        )

        # Update metrics.
        new_metrics_vars = []
        logs = {}
        for metric in self.metrics:
            this_metric_vars = metrics_variables[
                len(new_metrics_vars) : len(new_metrics_vars) + len(metric.variables)
            ]
            if metric.name == "loss":
                this_metric_vars = metric.stateless_update_state(
                    this_metric_vars, loss, sample_weight=sample_weight
                )
            else:
                this_metric_vars = metric.stateless_update_state(
                    this_metric_vars, y, y_pred, sample_weight=sample_weight
                )
            logs[metric.name] = metric.stateless_result(this_metric_vars)
            new_metrics_vars += this_metric_vars

        # Return metric logs and updated state variables.
        state = (
            trainable_variables,
            non_trainable_variables,
            new_metrics_vars,
        )
        return logs, state


def eval_example():
    # Construct an instance of CustomModel
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = EvalCustomModel(inputs, outputs)
    model.compile(loss="mse", metrics=["mae"])
    return model


def test_custom_test_step_evaluate():
    model = eval_example()
    # Evaluate with our custom test_step
    x, y = guide_data()
    logs = model.evaluate(x, y, return_dict=True)
    assert sorted(logs) == ["loss", "mae"]
    error = model.predict(x, verbose=0) - y
    # The guide's loop gives the "loss" Mean one value per batch (its sample_weight is None),
    # so the loss is the mean of the 32 batch losses (31 of 32 rows, one of 8); the compiled
    # "mae" is a per-sample mean.
    batch_losses = [np.mean(error[start:start + 32] ** 2) for start in range(0, 1000, 32)]
    np.testing.assert_allclose(logs["loss"], np.mean(batch_losses), rtol=1e-4)
    np.testing.assert_allclose(logs["mae"], np.mean(np.abs(error)), rtol=1e-4)
    # The list form, in Keras's order: the loss, then the compiled metric.
    loss, mae = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose([loss, mae], [logs["loss"], logs["mae"]], rtol=1e-6)


# --------------------------------------------------------------------------------------
# An earlier version of the guide: `self.compute_loss(x, y, y_pred)` (stateful, no sample
# weights) inside the stateless step, and `x, y = data`.


class EarlierGuideCustomModel(keras.Model):
    def compute_loss_and_updates(
        self,
        trainable_variables,
        non_trainable_variables,
        x,
        y,
        training=False,
    ):
        y_pred, non_trainable_variables = self.stateless_call(
            trainable_variables,
            non_trainable_variables,
            x,
            training=training,
        )
        loss = self.compute_loss(x, y, y_pred)
        return loss, (y_pred, non_trainable_variables)

    def train_step(self, state, data):
        (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            metrics_variables,
        ) = state
        x, y = data

        # Get the gradient function.
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)

        # Compute the gradients.
        (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
            trainable_variables,
            non_trainable_variables,
            x,
            y,
            training=True,
        )

        # Update trainable variables and optimizer variables.
        (
            trainable_variables,
            optimizer_variables,
        ) = self.optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables
        )

        # Update metrics.
        new_metrics_vars = []
        logs = {}
        for metric in self.metrics:
            this_metric_vars = metrics_variables[
                len(new_metrics_vars) : len(new_metrics_vars) + len(metric.variables)
            ]
            if metric.name == "loss":
                this_metric_vars = metric.stateless_update_state(this_metric_vars, loss)
            else:
                this_metric_vars = metric.stateless_update_state(
                    this_metric_vars, y, y_pred
                )
            logs[metric.name] = metric.stateless_result(this_metric_vars)
            new_metrics_vars += this_metric_vars

        # Return metric logs and updated state variables.
        state = (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            new_metrics_vars,
        )
        return logs, state


def test_earlier_guide_train_step_called_as_keras_fit_calls_it():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = EarlierGuideCustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = guide_data()
    x, y = x.astype("float32"), y.astype("float32")
    build_compiled_metrics(model, x, y)
    mse_before = mse(model, x, y)
    history = run_train_steps_by_hand(model, x, y, steps=30)
    assert sorted(history[0]) == ["loss", "mae"]
    assert mse(model, x, y) < 0.95 * mse_before


def test_earlier_guide_fit():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = EarlierGuideCustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    x, y = guide_data()
    history = model.fit(x, y, epochs=3, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]


# --------------------------------------------------------------------------------------
# The rest of Keras 3's JAX protocol that the guide's readers use.


class LossWithoutTraining(keras.Model):
    """`compute_loss` overridden with the signature from before Keras 3.3 (no `training`):
    Keras inspects the signature and calls it without the argument."""

    def compute_loss(self, x, y, y_pred, sample_weight):
        squared = (y_pred - y) ** 2
        return keras.ops.mean(squared) + 0.0 * keras.ops.sum(x)


def test_compute_loss_override_without_training_argument():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = LossWithoutTraining(inputs, outputs)
    model.compile(optimizer="adam")
    x, y = guide_data()
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(loss, np.mean((model.predict(x, verbose=0) - y) ** 2),
                               rtol=1e-4)


def test_stateless_compute_loss_calls_an_override_without_training_argument():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = LossWithoutTraining(inputs, outputs)
    model.compile(optimizer="adam")
    x, y = guide_data()
    x, y = x[:8].astype("float32"), y[:8].astype("float32")
    trainable = [v.value for v in model.trainable_variables]
    y_pred = model(x)
    loss, (new_trainable, non_trainable, metrics_variables) = model.stateless_compute_loss(
        trainable, [], [v.value for v in model.metrics_variables], x=x, y=y, y_pred=y_pred,
        training=True)
    np.testing.assert_allclose(loss, np.mean((np.asarray(y_pred) - y) ** 2), rtol=1e-6)
    assert new_trainable is trainable and non_trainable == []


class DoubledPredictions(keras.Model):
    """`predict_step(self, state, data)`: Keras's JAX form returns `(outputs,
    non_trainable_variables)`; `state` is `(trainable_variables, non_trainable_variables)`."""

    def predict_step(self, state, data):
        trainable_variables, non_trainable_variables = state
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        outputs, non_trainable_variables = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=False
        )
        return 2.0 * outputs, non_trainable_variables


def test_predict_step_with_state():
    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = DoubledPredictions(inputs, outputs)
    x, _ = guide_data()
    x = x.astype("float32")
    np.testing.assert_allclose(model.predict(x, batch_size=64, verbose=0),
                               2.0 * np.asarray(model(x)), rtol=1e-5)
