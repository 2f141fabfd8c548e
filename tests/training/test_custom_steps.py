"""Models that customize training the TF/Keras way: a stateful `train_step(self, data)`,
`compute_loss`, metrics held as attributes and updated in `call`, `add_loss`-only models."""

import jax
import numpy as np

import lamina

from .conftest import numpy_sgd_linear_epoch, regression_data

LR = 0.1


class HandWrittenStep(lamina.Model):
    """A subclass with the classic stateful train_step of the Keras guides."""

    def __init__(self):
        super().__init__()
        self.dense = lamina.layers.Dense(1)

    def call(self, inputs):
        return self.dense(inputs)

    def train_step(self, data):
        x, y = data

        def loss_fn():
            y_pred = self(x, training=True)
            return self.compute_loss(y=y, y_pred=y_pred), y_pred

        (loss, y_pred), grads = lamina.value_and_grad(loss_fn, self.trainable_variables,
                                                      has_aux=True)()
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        self.metrics[0].update_state(self.compute_loss(y=y, y_pred=y_pred))
        for metric in self.metrics[1:]:
            metric.update_state(y, y_pred)
        return {"custom_" + m.name: m.result() for m in self.metrics}


def test_stateful_train_step_override_works_with_fit():
    x, y = regression_data(8)
    model = HandWrittenStep()
    model(x[:1])
    w0 = [np.full((3, 1), 0.2, "float32"), np.zeros(1, "float32")]
    model.set_weights(w0)
    model.compile(optimizer=lamina.optimizers.SGD(LR), loss="mse", metrics=["mae"])
    # The compiled metrics exist before the first step is traced, so the loop over
    # self.metrics above sees "mae" from the first batch.
    history = model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0,
                        validation_data=(x, y))
    w, b, _ = numpy_sgd_linear_epoch(*w0, x, y, 4, LR)
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-5, atol=1e-6)
    assert sorted(history.history) == ["loss", "mae", "val_custom_loss", "val_custom_mae"]
    error = x @ w + b - y
    np.testing.assert_allclose(history.history["val_custom_mae"], [np.mean(np.abs(error))],
                               rtol=1e-5)


class AutoEncoder(lamina.Model):
    """Tracks a metric as an attribute, updated in call; adds a loss in call."""

    def __init__(self):
        super().__init__()
        self.encoder = lamina.layers.Dense(2, kernel_initializer="ones")
        self.decoder = lamina.layers.Dense(3, kernel_initializer="ones")
        self.reconstruction_error = lamina.metrics.Mean(name="reconstruction_error")

    def call(self, inputs):
        codes = self.encoder(inputs)
        outputs = self.decoder(codes)
        error = lamina.ops.mean((outputs - inputs) ** 2)
        self.reconstruction_error.update_state(error)
        self.add_loss(0.5 * lamina.ops.mean(codes ** 2))
        return outputs


def _numpy_autoencoder(model, x):
    we, be, wd, bd = (w.astype(np.float64) for w in model.get_weights())
    codes = x @ we + be
    outputs = codes @ wd + bd
    return outputs, codes


def test_attribute_metric_and_add_loss_are_reported_by_fit():
    x, _ = regression_data(8)
    model = AutoEncoder()
    model.compile(optimizer=lamina.optimizers.SGD(0.01), loss="mse")
    history = model.fit(x, x, batch_size=4, epochs=2, verbose=0, validation_split=0.5)
    assert sorted(history.history) == ["loss", "reconstruction_error", "val_loss",
                                       "val_reconstruction_error"]
    outputs, codes = _numpy_autoencoder(model, x)
    logs = model.evaluate(x, x, batch_size=4, verbose=0, return_dict=True)
    mse = np.mean((outputs - x) ** 2)
    np.testing.assert_allclose(logs["reconstruction_error"], mse, rtol=1e-5)
    # The added loss joins the compiled one (both averaged per batch of 4).
    extra = np.mean([0.5 * np.mean(codes[s:s + 4] ** 2) for s in (0, 4)])
    np.testing.assert_allclose(logs["loss"], mse + extra, rtol=1e-5)
    assert model.metrics_names == ["loss", "reconstruction_error"]


class OwnLoss(lamina.Model):
    """compile(loss=None): the model's own losses are the whole loss."""

    def __init__(self):
        super().__init__()
        self.dense = lamina.layers.Dense(1, kernel_initializer="ones")

    def call(self, inputs):
        outputs = self.dense(inputs)
        self.add_loss(lamina.ops.mean(outputs ** 2))
        return outputs


def test_add_loss_only_model_trains_on_x_alone():
    x, _ = regression_data(8)
    model = OwnLoss()
    model.compile(optimizer=lamina.optimizers.SGD(0.05))
    first = model.evaluate(x, batch_size=8, verbose=0)
    history = model.fit(x, batch_size=8, epochs=3, verbose=0)
    np.testing.assert_allclose(history.history["loss"][0], first, rtol=1e-5)
    assert history.history["loss"][2] < history.history["loss"][0]


class ScaledLoss(lamina.Model):
    def __init__(self):
        super().__init__()
        self.dense = lamina.layers.Dense(1, kernel_initializer="zeros")

    def call(self, inputs):
        return self.dense(inputs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return 3.0 * lamina.ops.mean(lamina.ops.abs(y - y_pred))


def test_compute_loss_override_drives_training_and_logs():
    x, y = regression_data(6)
    model = ScaledLoss()
    model.compile(optimizer=lamina.optimizers.SGD(0.0))
    value = model.evaluate(x, y, batch_size=6, verbose=0)
    np.testing.assert_allclose(value, 3.0 * np.mean(np.abs(y)), rtol=1e-6)
    history = model.fit(x, y, batch_size=6, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [value], rtol=1e-6)


def test_loss_scale_factor_scales_gradients_not_the_logged_loss():
    x, y = regression_data(8)
    results = []
    for factor in (None, 64.0):
        model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        model.set_weights([np.full((3, 1), 0.2, "float32"), np.zeros(1, "float32")])
        model.compile(optimizer=lamina.optimizers.SGD(LR, loss_scale_factor=factor),
                      loss="mse")
        history = model.fit(x, y, batch_size=8, verbose=0)
        results.append((model.get_weights(), history.history["loss"]))
    for left, right in zip(results[0][0], results[1][0]):
        np.testing.assert_allclose(left, right, rtol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-6)


class CountedStep(HandWrittenStep):
    """Counts how often its Python runs: once per trace."""

    traces = 0

    def train_step(self, data):
        type(self).traces += 1
        return super().train_step(data)


def test_a_train_step_runs_its_python_once_per_batch_shape():
    # Like tf.function: one trace for the full batches and one for the smaller last batch,
    # however many compiled programs (chunks for the progress bar, the partial batch) use them.
    model = CountedStep()
    model.compile(optimizer=lamina.optimizers.SGD(LR), loss="mse")
    x = np.random.default_rng(0).normal(size=(100, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert CountedStep.traces == 2
    model.fit(x, y, batch_size=8, epochs=1, verbose=2, steps_per_epoch=None)
    assert CountedStep.traces == 2


def test_chunks_of_any_length_share_one_compiled_training_loop():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((8 * 45, 3), "float32")
    y = np.zeros((8 * 45, 1), "float32")
    for spe in (4, 7, 45):  # chunks of 4, of 7 (and a rest of 3), one of 45
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=spe)
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        (programs,) = model._programs.values()
        assert sum(loop._cache_size() for loop in programs._loops.values()) == 1


def test_an_epoch_with_a_partial_batch_compiles_each_program_once(caplog):
    # With a progress bar, the loop program and the partial-batch program compile ahead, in
    # the background, on the first epoch; later epochs and chunks (verbose=1 runs the loop in
    # pieces) reuse them. Without one, the whole epoch is one program, compiled once.
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    # 40 full batches: a progress bar hears from every 32, so the loop runs in two pieces.
    x = np.random.default_rng(1).normal(size=(8 * 40 + 5, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    # Set globally: `jax.log_compiles()` as a context manager would not reach the compile
    # threads.
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING", logger="jax"):
            history = model.fit(x, y, batch_size=8, epochs=3, verbose=1)
            model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    finally:
        jax.config.update("jax_log_compiles", False)
    compiled = [r.getMessage().split(" in ")[0] for r in caplog.records
                if r.getMessage().startswith("Finished XLA compilation of jit(_")]
    assert sorted(compiled) == ["Finished XLA compilation of jit(_gather_impl)",
                                "Finished XLA compilation of jit(_loop_impl)",
                                "Finished XLA compilation of jit(_whole_impl)"]
    losses = history.history["loss"]
    assert losses[2] < losses[0] and all(np.isfinite(losses))


def test_predict_compiles_one_program_for_its_full_batches_and_one_for_the_rest(caplog):
    # 45 full batches and a partial one: with a progress bar, programs of 32 batches and the
    # rest (13) are one program; so are several calls. The outputs are the model's.
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    x = np.random.default_rng(2).normal(size=(2 * 45 + 1, 3)).astype("float32")
    kernel, bias = model.get_weights()
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING", logger="jax"):
            outputs = [model.predict(x, batch_size=2, verbose=1) for _ in range(2)]
    finally:
        jax.config.update("jax_log_compiles", False)
    compiled = [r.getMessage().split(" in ")[0] for r in caplog.records
                if r.getMessage().startswith("Finished XLA compilation of jit(_")]
    assert sorted(compiled) == ["Finished XLA compilation of jit(_collect_impl)",
                                "Finished XLA compilation of jit(_gather_impl)"]
    for predicted in outputs + [model.predict(x, batch_size=2, verbose=0)]:
        np.testing.assert_allclose(predicted, x @ kernel + bias, rtol=1e-5, atol=1e-6)
