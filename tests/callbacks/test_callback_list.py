"""Callback and CallbackList: hook order and arguments, logs, History, batch-hook needs."""

import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import callbacks
from lamina.callbacks import Callback, CallbackList, History, ProgbarLogger


class Recorder(Callback):
    """Records every hook call as (hook, first argument or None, logs)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, hook, arg=None, logs=None):
        self.calls.append((hook, arg, logs))


for _hook in ("on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
              "on_predict_begin", "on_predict_end"):
    setattr(Recorder, _hook, lambda self, logs=None, _h=_hook: self._record(_h, None, logs))
for _hook in ("on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end",
              "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
              "on_predict_batch_end"):
    setattr(Recorder, _hook, lambda self, i, logs=None, _h=_hook: self._record(_h, i, logs))


def test_public_names_match_keras():
    expected = {
        "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping",
        "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
        "OrbaxCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
        "SwapEMAWeights", "TensorBoard", "TerminateOnNaN",
    }
    assert set(callbacks.__all__) == expected
    assert lamina.callbacks is callbacks
    for name in expected:
        assert getattr(callbacks, name).__doc__


def test_hook_order_and_arguments(fake):
    recorder = Recorder()
    model = fake.Model()
    fake.run_fit(model, [recorder], epochs=2, steps=2,
                 validation=lambda epoch: {"loss": 0.5})
    hooks = [(hook, arg) for hook, arg, _ in recorder.calls]
    epoch = [("on_train_batch_begin", 0), ("on_train_batch_end", 0),
             ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
             ("on_test_begin", None), ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
             ("on_test_end", None)]
    assert hooks == [("on_train_begin", None),
                     ("on_epoch_begin", 0), *epoch, ("on_epoch_end", 0),
                     ("on_epoch_begin", 1), *epoch, ("on_epoch_end", 1),
                     ("on_train_end", None)]
    logs = {hook_arg: logs for hook, hook_arg, logs in recorder.calls if hook == "on_epoch_end"}
    assert logs[1] == {"loss": 0.51, "mae": 0.25, "val_loss": 0.5}
    assert recorder.model is model
    assert recorder.params == {"verbose": 0, "epochs": 2, "steps": 2}


def test_legacy_batch_aliases_are_called():
    seen = []

    class Legacy(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs["loss"]))

    callback_list = CallbackList([Legacy()])
    callback_list.on_train_batch_begin(3)
    callback_list.on_train_batch_end(3, {"loss": 2})
    callback_list.on_batch_end(4, {"loss": 1})
    assert seen == [("begin", 3), ("end", 3, 2.0), ("end", 4, 1.0)]


def test_logs_become_python_floats_sorted_and_flat():
    received = []
    recorder = Recorder()
    recorder.on_epoch_end = lambda epoch, logs=None: received.append(logs)
    callback_list = CallbackList([recorder])
    original = {"mae": jnp.float32(0.25), "loss": np.float64(1.5),
                "nested": {"acc": jnp.array(1.0)}, "vector": jnp.arange(3)}
    callback_list.on_epoch_end(0, original)
    (logs,) = received
    assert list(logs) == ["loss", "mae", "acc", "vector"]  # sorted; nested in place (Keras)
    assert logs["acc"] == 1.0 and type(logs["acc"]) is float
    assert type(logs["mae"]) is float and logs["loss"] == 1.5
    assert isinstance(logs["vector"], np.ndarray)  # a host copy, not a device array
    np.testing.assert_array_equal(logs["vector"], [0, 1, 2])
    assert "nested" in original  # the caller's dict is left alone


def test_history_records_epochs_and_becomes_model_history(fake):
    model = fake.Model()
    history = fake.run_fit(model, epochs=3, steps=2,
                           validation=lambda epoch: {"loss": 2.0 - epoch})
    assert isinstance(history, History) and model.history is history
    assert history.epoch == [0, 1, 2]
    assert history.history == {
        "loss": [1.01, 0.51, 1 / 3 + 0.01], "mae": [0.5, 0.25, 0.5 / 3],
        "val_loss": [2.0, 1.0, 0.0]}
    assert history.params["epochs"] == 3


def test_history_keeps_values_across_fits_but_restarts_epochs(fake):
    model = fake.Model()
    history = History()
    fake.run_fit(model, [history], epochs=2, steps=1)
    fake.run_fit(model, [history], epochs=1, steps=1)
    assert history.epoch == [0]
    assert len(history.history["loss"]) == 3


def test_default_callbacks_added_once(fake):
    model = fake.Model()
    mine = History()
    callback_list = CallbackList([mine], add_history=True, add_progbar=True, model=model,
                                 verbose=0, epochs=1, steps=1)
    assert [type(c) for c in callback_list.callbacks] == [History, ProgbarLogger]
    assert callback_list.callbacks[0] is mine and model.history is mine
    nested = CallbackList([[Recorder()], (Recorder(),)])
    assert len(nested.callbacks) == 2


def test_append_gives_model_and_params(fake):
    model = fake.Model()
    callback_list = CallbackList([], model=model, epochs=1, steps=1, verbose=0)
    recorder = Recorder()
    callback_list.append(recorder)
    assert recorder.model is model and recorder.params["steps"] == 1
    callback_list.on_train_batch_end(0, {"loss": 1.0})
    assert recorder.calls[-1] == ("on_train_batch_end", 0, {"loss": 1.0})


def test_bad_callbacks_say_how_to_fix():
    with pytest.raises(TypeError, match=r"Create one first: EarlyStopping\(\.\.\.\)"):
        CallbackList([callbacks.EarlyStopping])
    with pytest.raises(TypeError, match="LambdaCallback for plain functions"):
        CallbackList([lambda epoch, logs: None])
    with pytest.raises(ValueError, match="'train', 'test' or 'predict'"):
        CallbackList([]).needs_batch_hooks("fit")


def test_needs_batch_hooks_only_for_callbacks_outside_the_builtins(tmp_path):
    builtins = [
        History(), ProgbarLogger(), callbacks.EarlyStopping(),
        callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq=2),
        callbacks.BackupAndRestore(str(tmp_path / "b"), save_freq=3),
        callbacks.TensorBoard(str(tmp_path / "tb"), update_freq="batch"),
        callbacks.TerminateOnNaN(), callbacks.CSVLogger(str(tmp_path / "log.csv")),
        callbacks.LearningRateScheduler(lambda epoch, lr: lr), callbacks.ReduceLROnPlateau(),
        callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None),
    ]
    assert not CallbackList(builtins).needs_batch_hooks("train")

    class EpochOnly(Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    class Legacy(Callback):
        def on_batch_end(self, batch, logs=None):
            pass

    class MyCheckpoint(callbacks.ModelCheckpoint):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)

    class TestOnly(Callback):
        def on_test_batch_end(self, batch, logs=None):
            pass

    assert not CallbackList([EpochOnly()]).needs_batch_hooks()
    assert CallbackList([Legacy()]).needs_batch_hooks("train")
    assert CallbackList([MyCheckpoint(str(tmp_path / "m.keras"))]).needs_batch_hooks()
    assert CallbackList([Recorder()]).needs_batch_hooks("predict")
    lambda_batches = callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: None)
    assert CallbackList([lambda_batches]).needs_batch_hooks("train")
    assert not CallbackList([lambda_batches]).needs_batch_hooks("test")
    assert CallbackList([TestOnly()]).needs_batch_hooks("test")
    assert not CallbackList([TestOnly()]).needs_batch_hooks("train")


def test_batch_logs_not_converted_when_nobody_listens():
    class Exploding:
        def __array__(self, *args, **kwargs):
            raise AssertionError("batch logs were fetched although no callback listens")

    callback_list = CallbackList([History(), callbacks.EarlyStopping()])
    callback_list.on_train_batch_end(0, {"loss": Exploding()})
    callback_list.on_test_batch_end(0, {"loss": Exploding()})


def test_subclass_without_super_init_still_works():
    class Forgetful(Callback):
        def __init__(self):
            self.count = 0

        def on_epoch_end(self, epoch, logs=None):
            self.count += 1

    forgetful = Forgetful()
    callback_list = CallbackList([forgetful], epochs=1)
    callback_list.on_epoch_end(0, {})
    assert forgetful.count == 1 and forgetful.model is None


def test_model_property_syncs_trainer_state(fake):
    model = fake.Model()
    synced = []
    model.jax_state_sync = lambda: synced.append(True)
    recorder = Recorder()
    recorder.set_model(model)
    assert recorder.model is model and synced == [True]


def test_wants_progress_follows_settings(tmp_path):
    def wants(callback_list_args, mode="train", **params):
        params = {"verbose": 1, "epochs": 1, "steps": 4, **params}
        return CallbackList(callback_list_args, **params).wants_progress(mode)

    assert not wants([History(), callbacks.EarlyStopping(), callbacks.CSVLogger(
        str(tmp_path / "log.csv"))])
    assert wants([ProgbarLogger()])
    assert not wants([ProgbarLogger()], verbose=0)
    assert not wants([ProgbarLogger()], verbose=2)  # prints at the epoch's end only
    assert wants([ProgbarLogger()], verbose=2, steps=None)  # ...but counts unknown steps
    assert not wants([callbacks.ModelCheckpoint(str(tmp_path / "m.keras"))])
    assert wants([callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_freq=10)])
    assert not wants([callbacks.BackupAndRestore(str(tmp_path / "b"))])
    assert wants([callbacks.BackupAndRestore(str(tmp_path / "b"), save_freq=10)])
    assert not wants([callbacks.TensorBoard(str(tmp_path / "tb"))])
    assert wants([callbacks.TensorBoard(str(tmp_path / "tb"), update_freq=100)])
    assert wants([callbacks.TerminateOnNaN()])
    assert wants([Recorder()], "predict") and not wants([History()], "predict")


def test_override_in_a_subclass_of_a_builtin_is_always_called(tmp_path):
    seen = []

    class MyCheckpoint(callbacks.ModelCheckpoint):  # save_freq="epoch": the base needs no batch
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            super().on_train_batch_end(batch, logs)

    callback_list = CallbackList([MyCheckpoint(str(tmp_path / "m.keras"))])
    assert callback_list.needs_batch_hooks() and callback_list.wants_progress()
    callback_list.on_train_batch_end(0, {"loss": 1.0})
    assert seen == [0]


def test_progress_bar_ignores_validation_batches_inside_fit():
    logger = ProgbarLogger()
    callback_list = CallbackList([logger], verbose=1, epochs=1, steps=2)
    assert callback_list.wants_progress("test")  # a standalone evaluate shows a bar
    callback_list.on_train_begin()
    assert not callback_list.wants_progress("test")
    callback_list.on_train_end()
    assert callback_list.wants_progress("test")


def test_verbose_2_line_without_any_batch_hook(fake, capsys):
    callback_list = CallbackList(add_progbar=True, model=fake.Model(), verbose=2, epochs=1,
                                 steps=4)
    callback_list.on_train_begin()
    callback_list.on_epoch_begin(0)
    callback_list.on_epoch_end(0, {"loss": 0.5})
    callback_list.on_train_end()
    assert capsys.readouterr().out.startswith("4/4 - 0s - ")
