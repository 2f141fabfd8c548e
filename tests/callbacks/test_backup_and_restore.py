"""BackupAndRestore: a crashed fit resumes with the same weights, optimizer state and epoch."""

import json
import os

import numpy as np
import pytest

from lamina.callbacks import BackupAndRestore, LambdaCallback


def uninterrupted(fake, model_cls, epochs, steps=4):
    model = model_cls()
    fake.run_fit(model, [], epochs=epochs, steps=steps)
    return model


def assert_same_state(a, b):
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    for x, y in zip(a.optimizer.variables, b.optimizer.variables):
        np.testing.assert_array_equal(x.numpy(), y.numpy())


@pytest.mark.parametrize("saving", [False, True], ids=["npz", "save_weights"])
def test_resume_after_crash(fake, tmp_path, saving):
    model_cls = fake.SavingModel if saving else fake.Model
    backup_dir = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="crash at epoch 2"):
        fake.run_fit(model_cls(), [BackupAndRestore(str(backup_dir))], epochs=4,
                     crash_at_epoch=2)
    expected_file = "latest.weights.h5" if saving else "latest.weights.npz"
    assert sorted(os.listdir(backup_dir)) == [expected_file, "training_metadata.json"]
    with open(backup_dir / "training_metadata.json") as f:
        assert json.load(f) == {"epoch": 2, "batch": 0}

    resumed = model_cls()  # a new process: fresh weights
    history = fake.run_fit(resumed, [BackupAndRestore(str(backup_dir))], epochs=4)
    assert history.epoch == [2, 3]
    assert_same_state(resumed, uninterrupted(fake, fake.Model, epochs=4))
    assert not backup_dir.exists()  # deleted after a completed fit
    assert resumed._initial_epoch is None  # a later fit starts from its own initial_epoch


def test_backup_every_n_batches_resumes_mid_epoch_state(fake, tmp_path):
    backup_dir = tmp_path / "backup"

    def crash(batch, logs):
        if crash.epoch == 1 and batch == 2:
            raise RuntimeError("crash mid-epoch")

    crash.epoch = None
    tracker = LambdaCallback(on_epoch_begin=lambda epoch, logs: setattr(crash, "epoch", epoch),
                             on_train_batch_end=crash)
    model = fake.Model()
    with pytest.raises(RuntimeError, match="mid-epoch"):
        fake.run_fit(model, [BackupAndRestore(str(backup_dir), save_freq=3), tracker],
                     epochs=3, steps=4)
    # Saves at steps 3 (epoch 0, batch 2) and 6 (epoch 1, batch 1); crash at step 7.
    with open(backup_dir / "training_metadata.json") as f:
        assert json.load(f) == {"epoch": 1, "batch": 1}
    resumed = fake.Model()
    fake.run_fit(resumed, [BackupAndRestore(str(backup_dir), save_freq=3)], epochs=3, steps=4)
    # Restored after 6 steps, then reruns epoch 1 and runs epoch 2: 6 + 8 steps in all.
    np.testing.assert_array_equal(resumed.get_weights()[1], [14.0, 14.0])


def test_double_checkpoint_falls_back_to_previous_backup(fake, tmp_path):
    backup_dir = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        fake.run_fit(fake.Model(), [BackupAndRestore(str(backup_dir), double_checkpoint=True)],
                     epochs=4, crash_at_epoch=3)
    assert sorted(os.listdir(backup_dir)) == [
        "latest.weights.npz", "latest.weights.npz.bkp", "training_metadata.json",
        "training_metadata.json.bkp"]
    (backup_dir / "latest.weights.npz").write_bytes(b"corrupted")
    resumed = fake.Model()
    history = fake.run_fit(
        resumed, [BackupAndRestore(str(backup_dir), double_checkpoint=True,
                                   delete_checkpoint=False)], epochs=4)
    assert history.epoch == [2, 3]  # the previous backup was after epoch index 1
    assert_same_state(resumed, uninterrupted(fake, fake.Model, epochs=4))
    assert (backup_dir / "latest.weights.npz").exists()  # delete_checkpoint=False


def test_after_a_fallback_the_unreadable_latest_is_not_copied_over_the_previous(fake, tmp_path):
    """The next backup replaces the unreadable latest one, but the `.bkp` that saved the run
    stays readable instead of becoming a copy of the broken file."""
    backup_dir = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        fake.run_fit(fake.Model(), [BackupAndRestore(str(backup_dir), double_checkpoint=True)],
                     epochs=4, crash_at_epoch=3)
    (backup_dir / "latest.weights.npz").write_bytes(b"corrupted")
    previous = (backup_dir / "latest.weights.npz.bkp").read_bytes()
    with pytest.raises(RuntimeError):
        fake.run_fit(fake.Model(), [BackupAndRestore(str(backup_dir), double_checkpoint=True)],
                     epochs=4, crash_at_epoch=3)  # resumes at 2, backs up epoch 2, crashes
    assert (backup_dir / "latest.weights.npz.bkp").read_bytes() == previous
    with open(backup_dir / "training_metadata.json") as f:
        assert json.load(f)["epoch"] == 3


def test_the_weights_file_records_its_own_epoch(fake, tmp_path):
    """A run killed between the rename of the weights and that of training_metadata.json
    leaves metadata one backup behind; the epoch recorded in the weights file wins, so no
    epoch is trained twice on top of its own result."""
    backup_dir = tmp_path / "backup"
    with pytest.raises(RuntimeError):
        fake.run_fit(fake.Model(), [BackupAndRestore(str(backup_dir))], epochs=4,
                     crash_at_epoch=2)
    (backup_dir / "training_metadata.json").write_text(json.dumps({"epoch": 1, "batch": 0}))
    resumed = fake.Model()
    history = fake.run_fit(resumed, [BackupAndRestore(str(backup_dir))], epochs=4)
    assert history.epoch == [2, 3]
    assert_same_state(resumed, uninterrupted(fake, fake.Model, epochs=4))


def test_metadata_without_weights_is_ignored(fake, tmp_path):
    """A deletion cut short can leave training_metadata.json alone: training starts over
    instead of skipping epochs with fresh weights."""
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / "training_metadata.json").write_text(json.dumps({"epoch": 3, "batch": 0}))
    model = fake.Model()
    history = fake.run_fit(model, [BackupAndRestore(str(backup_dir))], epochs=4)
    assert history.epoch == [0, 1, 2, 3]
    assert_same_state(model, uninterrupted(fake, fake.Model, epochs=4))


def test_metadata_without_an_epoch_says_what_is_wrong(fake, tmp_path):
    backup_dir = tmp_path / "backup"
    fake.run_fit(fake.SavingModel(), [BackupAndRestore(str(backup_dir), delete_checkpoint=False)],
                 epochs=1)
    (backup_dir / "training_metadata.json").write_text('{"epoch": "two"}')
    with pytest.raises(OSError, match=r"does not record the epoch.*non-negative integer.*"
                                      r"Delete the folder"):
        fake.run_fit(fake.SavingModel(), [BackupAndRestore(str(backup_dir))], epochs=2)


def test_unreadable_backup_without_fallback_says_what_to_do(fake, tmp_path):
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / "latest.weights.npz").write_bytes(b"corrupted")
    with pytest.raises(OSError, match="could not read the backup.*Delete the folder"):
        fake.run_fit(fake.Model(), [BackupAndRestore(str(backup_dir))], epochs=1)


def test_only_its_own_files_are_deleted(fake, tmp_path):
    backup_dir = tmp_path / "backup"
    backup_dir.mkdir()
    (backup_dir / "notes.txt").write_text("mine")
    fake.run_fit(fake.Model(), [BackupAndRestore(str(backup_dir))], epochs=2)
    assert os.listdir(backup_dir) == ["notes.txt"]


def test_arguments_and_unbuilt_model(fake, tmp_path):
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        BackupAndRestore("")
    with pytest.raises(ValueError, match=r"save_freq='batch'.*'epoch', a positive integer"):
        BackupAndRestore(str(tmp_path), save_freq="batch")
    model = fake.Model()
    model.built = False
    with pytest.raises(ValueError, match="must be built before you call `fit\\(\\)`"):
        fake.run_fit(model, [BackupAndRestore(str(tmp_path / "b"))], epochs=1)
    no_backups = fake.Model()
    fake.run_fit(no_backups, [BackupAndRestore(str(tmp_path / "c"), save_freq=False)], epochs=1)
    assert not (tmp_path / "c").exists()
