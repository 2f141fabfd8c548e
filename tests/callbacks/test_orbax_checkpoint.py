"""`OrbaxCheckpoint` with real Orbax: what it saves and when, restoring with `load_model` and
`load_weights`, checkpoints moving between lamina and Keras 3, and bad input."""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("orbax.checkpoint")

import lamina  # noqa: E402
from lamina.callbacks import OrbaxCheckpoint  # noqa: E402

X = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
Y = X @ np.array([[1.0], [-2.0], [0.5]], "float32")


def _model(lib=lamina, name=None):
    inputs = lib.Input((3,), name="features")
    hidden = lib.layers.Dense(4, activation="relu", name="hidden")(inputs)
    norm = lib.layers.BatchNormalization(name="norm")(hidden)
    model = lib.Model(inputs, lib.layers.Dense(1, name="out")(norm), name=name or "net")
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def _sequential():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4),
                               lamina.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _state(model):
    return {"weights": [np.asarray(w) for w in model.get_weights()],
            "optimizer": [np.asarray(v.numpy()) for v in model.optimizer.variables]}


def _assert_same_state(a, b):
    assert len(a["weights"]) == len(b["weights"]) and len(a["optimizer"]) == len(b["optimizer"])
    for x, y in zip(a["weights"] + a["optimizer"], b["weights"] + b["optimizer"]):
        np.testing.assert_array_equal(x, y)


def _steps(directory):
    return sorted(int(name) for name in os.listdir(directory) if name.isdigit())


def test_saves_each_epoch_keeps_the_newest_and_restores_everything(tmp_path):
    model = _sequential()
    checkpoint = OrbaxCheckpoint(tmp_path, max_to_keep=2)
    model.fit(X, Y, epochs=3, batch_size=4, verbose=0, callbacks=[checkpoint])
    assert _steps(tmp_path) == [1, 2]
    trained = _state(model)
    assert int(model.optimizer.iterations.numpy()) == 6

    # A new model from the checkpoint's config (paths 'dense/...', not 'sequential/dense/...').
    loaded = lamina.saving.load_model(tmp_path)
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    _assert_same_state(_state(loaded), trained)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))

    # The same architecture built again in this process (auto-names 'dense_2', 'adam_1'...).
    fresh = _sequential()
    fresh.load_weights(tmp_path)
    _assert_same_state(_state(fresh), trained)
    # Training resumes where it stopped: the same next step as the original model's.
    fresh.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    model.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_every_n_batches_steps_count_batches_and_a_step_folder_loads(tmp_path):
    model = _model()
    checkpoint = OrbaxCheckpoint(tmp_path, save_freq=3, max_to_keep=None,
                                 save_on_background=False)
    states = {}
    callback = lamina.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: states.setdefault(
            int(model.optimizer.iterations.numpy()), _state(model)))
    model.fit(X, Y, epochs=3, batch_size=2, verbose=0, callbacks=[checkpoint, callback])
    assert _steps(tmp_path) == [3, 6, 9, 12]  # 4 batches an epoch, 12 in all
    restored = _model(name="other")
    restored.load_weights(tmp_path / "6")
    _assert_same_state(_state(restored), states[6])
    assert checkpoint.is_primary_host() and not checkpoint.is_multihost_enabled()


def test_save_best_only_and_weights_only(tmp_path):
    model = _model()
    loss_values = iter([0.5, 0.7, 0.4, 0.45])
    fake_loss = lamina.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: logs.update(val_score=next(loss_values)))
    best = OrbaxCheckpoint(tmp_path / "best", monitor="val_score", mode="min",
                           save_best_only=True, max_to_keep=None, save_weights_only=True)
    model.fit(X, Y, epochs=4, verbose=0, callbacks=[fake_loss, best])
    assert _steps(tmp_path / "best") == [0, 2] and best.best == 0.4
    with pytest.raises(ValueError, match="save_weights_only=True.*model.load_weights"):
        lamina.saving.load_model(tmp_path / "best")
    target = _model(name="target")
    target.load_weights(tmp_path / "best")  # weights only: the optimizer keeps its own state
    for a, b in zip(target.get_weights(), model.get_weights()):
        assert a.shape == b.shape
    assert int(target.optimizer.iterations.numpy()) == 0

    missing = OrbaxCheckpoint(tmp_path / "none", monitor="val_loss", save_best_only=True)
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available, "
                                         "skipping save at epoch 0"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[missing])
    assert _steps(tmp_path / "none") == []


def test_a_restarted_fit_into_the_same_directory_warns_instead_of_skipping_silently(tmp_path):
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[OrbaxCheckpoint(tmp_path)])
    with pytest.warns(UserWarning, match=r"did not save step 0.*already holds step 1.*"
                                         r"initial_epoch"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[OrbaxCheckpoint(tmp_path)])
    model.fit(X, Y, epochs=3, initial_epoch=2, verbose=0, callbacks=[OrbaxCheckpoint(tmp_path)])
    assert _steps(tmp_path) == [2]


def test_loading_into_another_architecture_changes_nothing(tmp_path):
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[OrbaxCheckpoint(tmp_path)])
    other = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(5), lamina.layers.Dense(1)])
    other.compile(optimizer="adam", loss="mse")
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(ValueError, match="trainable_variables do not pair up with the model's: "
                                         "the checkpoint has 6 .* the model 4"):
        other.load_weights(tmp_path)
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"'hidden/kernel' has shape \(3, 5\) in the model and "
                                         r"\(3, 4\) in the checkpoint.*and \d+ more"):
        _wider(compiled=True).load_weights(tmp_path)
    wider = _wider(compiled=False)  # no optimizer: only the weights are restored
    with pytest.warns(UserWarning, match=r"Skipping loading 'hidden/kernel' .*skip_mismatch"):
        wider.load_weights(tmp_path, skip_mismatch=True)
    np.testing.assert_array_equal(wider.get_layer("out").get_weights()[1],
                                  lamina.saving.load_model(tmp_path).get_layer("out")
                                  .get_weights()[1])


def _wider(compiled):
    # The same names as _model's, with 5 hidden units instead of 4.
    inputs = lamina.Input((3,), name="features")
    hidden = lamina.layers.Dense(5, activation="relu", name="hidden")(inputs)
    norm = lamina.layers.BatchNormalization(name="norm")(hidden)
    wide = lamina.Model(inputs, lamina.layers.Dense(1, name="out")(norm), name="net")
    if compiled:
        wide.compile(optimizer=lamina.optimizers.Adam(0.01), loss="mse")
    return wide


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"directory": 3}, r"`directory` must be a path.*Received: directory=3 of type int"),
    ({"save_freq": "batch"}, r"Unrecognized save_freq: 'batch'"),
    ({"save_freq": 0}, r"Unrecognized save_freq: 0"),
    ({"max_to_keep": 0}, r"`max_to_keep` must be a positive integer.*max_to_keep=0"),
    ({"save_best_only": "yes"}, r"`save_best_only` must be a bool"),
    ({"save_on_background": None}, r"`save_on_background` must be a bool"),
])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        OrbaxCheckpoint(**{"directory": tmp_path, **kwargs})


def test_without_orbax_the_error_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['orbax'] = None\n"
            "import lamina\n"
            "try:\n    lamina.callbacks.OrbaxCheckpoint(sys.argv[1])\n"
            "except ImportError as e:\n    print('ImportError:', e)\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "ImportError: Orbax checkpoints need the 'orbax-checkpoint' package" in result.stdout
    assert "pip install orbax-checkpoint" in result.stdout


def test_checkpoints_move_between_lamina_and_keras(tmp_path):
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _model(keras)
        theirs.fit(X, Y, epochs=1, verbose=0, callbacks=[
            keras.callbacks.OrbaxCheckpoint(str(tmp_path / "keras"), save_on_background=False)])
    ours = lamina.saving.load_model(tmp_path / "keras")
    expected = {"weights": [np.asarray(w) for w in theirs.get_weights()],
                "optimizer": [np.asarray(v) for v in theirs.optimizer.variables]}
    _assert_same_state(_state(ours), expected)

    model = _model()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[OrbaxCheckpoint(tmp_path / "lamina")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_keras = keras.saving.load_model(str(tmp_path / "lamina"))
    _assert_same_state({"weights": [np.asarray(w) for w in in_keras.get_weights()],
                        "optimizer": [np.asarray(v) for v in in_keras.optimizer.variables]},
                       _state(model))
