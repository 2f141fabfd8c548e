"""SwapEMAWeights: validation and predictions with the moving average, Keras 3's numbers."""

import os

import numpy as np
import pytest

import lamina

RNG = np.random.default_rng(1)
X = RNG.normal(size=(8, 3)).astype("float32")
Y = RNG.normal(size=(8, 2)).astype("float32")


def _model(k, optimizer):
    model = k.Sequential([k.Input((3,)),
                          k.layers.Dense(2, kernel_initializer="ones", use_bias=False)])
    model.compile(optimizer=optimizer, loss="mse", steps_per_execution=1)
    return model


def _keras():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_fit_matches_keras(swap_on_epoch):
    keras = _keras()
    results = {}
    for k in (keras, lamina):
        model = _model(k, k.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9))
        history = model.fit(X, Y, batch_size=4, epochs=3, validation_data=(X, Y), shuffle=False,
                            callbacks=[k.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch)],
                            verbose=0)
        results[k] = (history.history, np.asarray(model.get_weights()[0]),
                      [np.asarray(v.numpy()) for v in model.optimizer.variables])
    (theirs, their_kernel, their_state), (ours, our_kernel, our_state) = results.values()
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6)
    np.testing.assert_allclose(our_kernel, their_kernel, rtol=1e-6)
    for a, b in zip(our_state, their_state):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_validation_uses_the_averages_and_training_goes_on_from_the_weights():
    plain = _model(lamina, lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9))
    swapped = _model(lamina, lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9))
    seen = []

    class Probe(lamina.callbacks.Callback):
        def on_test_begin(self, logs=None):
            seen.append(self.model.get_weights()[0].copy())

    plain.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    history = swapped.fit(X, Y, batch_size=4, epochs=1, validation_data=(X, Y), shuffle=False,
                          callbacks=[lamina.callbacks.SwapEMAWeights(), Probe()], verbose=0)
    # The probe runs after the swap: it sees the average, which fit then finalizes into the
    # weights (finalize_variable_values), so both models end with the same kernel.
    np.testing.assert_array_equal(seen[0], swapped.get_weights()[0])
    np.testing.assert_allclose(plain.get_weights()[0], swapped.get_weights()[0])
    np.testing.assert_allclose(history.history["val_loss"][0],
                               swapped.evaluate(X, Y, verbose=0), rtol=1e-6)


def test_evaluate_and_predict_swap_back_afterwards():
    model = _model(lamina, lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5))
    model.train_on_batch(X, Y)
    kernel = model.layers[0].kernel
    average = model.optimizer._model_variables_moving_average[0]
    kernel.assign(np.full((3, 2), 2.0, "float32"))
    average.assign(np.full((3, 2), 9.0, "float32"))
    swap = lamina.callbacks.SwapEMAWeights()
    expected = X @ np.full((3, 2), 9.0, "float32")
    np.testing.assert_allclose(model.predict(X, callbacks=[swap], verbose=0), expected,
                               rtol=1e-6)
    # Keras 3.15 leaves the averages in the model after predict; here both are restored.
    np.testing.assert_array_equal(kernel.numpy(), 2.0)
    np.testing.assert_array_equal(average.numpy(), 9.0)
    loss = model.evaluate(X, Y, callbacks=[swap], verbose=0)
    np.testing.assert_allclose(loss, np.mean((expected - Y) ** 2), rtol=1e-5)
    np.testing.assert_array_equal(kernel.numpy(), 2.0)
    np.testing.assert_array_equal(average.numpy(), 9.0)


def test_multi_optimizer_swaps_only_the_variables_of_ema_optimizers():
    ema = lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.9)
    plain = lamina.optimizers.SGD(0.1)
    model = lamina.Sequential([lamina.Input((1,)),
                               lamina.layers.Dense(2, use_bias=False, name="dense_1"),
                               lamina.layers.Dense(1, use_bias=False, name="dense_2")])
    model.compile(optimizer=lamina.optimizers.MultiOptimizer(lamina.optimizers.OptimizerMap(
        default_optimizer=plain, optimizer_map={".*dense_1/.*": ema})), loss="mse")
    model.train_on_batch(np.ones((1, 1), "float32"), np.ones((1, 1), "float32"))
    first, second = (layer.kernel for layer in model.layers)
    first.assign([[2.0, 2.0]])
    second.assign([[3.0], [3.0]])
    ema._model_variables_moving_average[0].assign([[9.0, 9.0]])
    swap = lamina.callbacks.SwapEMAWeights()
    swap.set_model(model)
    swap.on_test_begin()
    np.testing.assert_array_equal(first.numpy(), [[9.0, 9.0]])
    np.testing.assert_array_equal(ema._model_variables_moving_average[0].numpy(), [[2.0, 2.0]])
    np.testing.assert_array_equal(second.numpy(), [[3.0], [3.0]])
    swap.on_test_end()
    np.testing.assert_array_equal(first.numpy(), [[2.0, 2.0]])
    np.testing.assert_array_equal(ema._model_variables_moving_average[0].numpy(), [[9.0, 9.0]])


def test_refuses_optimizers_without_averages_before_touching_weights():
    model = _model(lamina, lamina.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="use_ema=True.*Received: use_ema=False"):
        model.fit(X, Y, validation_data=(X, Y), callbacks=[lamina.callbacks.SwapEMAWeights()],
                  verbose=0)
    multi = lamina.optimizers.MultiOptimizer(
        lamina.optimizers.OptimizerMap(default_optimizer=lamina.optimizers.SGD()))
    model = _model(lamina, multi)
    model.train_on_batch(X, Y)
    with pytest.raises(ValueError, match="at least one inner optimizer"):
        model.evaluate(X, Y, callbacks=[lamina.callbacks.SwapEMAWeights()], verbose=0)
    unbuilt = _model(lamina, lamina.optimizers.SGD(use_ema=True))
    before = unbuilt.get_weights()[0]
    with pytest.raises(ValueError, match="not been built"):
        unbuilt.evaluate(X, Y, callbacks=[lamina.callbacks.SwapEMAWeights()], verbose=0)
    np.testing.assert_array_equal(unbuilt.get_weights()[0], before)
    with pytest.raises(TypeError, match="swap_on_epoch.*Received: swap_on_epoch='yes'"):
        lamina.callbacks.SwapEMAWeights(swap_on_epoch="yes")


def test_a_loss_scale_optimizer_swaps_the_averages_of_the_optimizer_it_wraps():
    inner = lamina.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5)
    model = _model(lamina, lamina.optimizers.LossScaleOptimizer(inner))
    model.train_on_batch(X, Y)
    kernel = model.layers[0].kernel
    kernel.assign(np.full((3, 2), 2.0, "float32"))
    inner._model_variables_moving_average[0].assign(np.full((3, 2), 9.0, "float32"))
    seen = []

    class Probe(lamina.callbacks.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            seen.append(kernel.numpy().copy())

    model.evaluate(X, Y, callbacks=[lamina.callbacks.SwapEMAWeights(), Probe()], verbose=0)
    np.testing.assert_array_equal(seen[0], 9.0)
    np.testing.assert_array_equal(kernel.numpy(), 2.0)
