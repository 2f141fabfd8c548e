"""ModelCheckpoint: filepath templates, save_best_only, weights-only, save_freq in batches."""

import json
import os

import pytest

from lamina.callbacks import ModelCheckpoint


def saved_files(folder):
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def test_template_with_epoch_and_metric(fake, tmp_path):
    model = fake.SavingModel()
    checkpoint = ModelCheckpoint(str(tmp_path / "model_{epoch:02d}-{val_loss:.2f}.keras"))
    fake.run_fit(model, [checkpoint], epochs=3, validation=lambda e: {"loss": 1.0 / (e + 2)})
    assert saved_files(tmp_path) == [
        "model_01-0.50.keras", "model_02-0.33.keras", "model_03-0.25.keras"]
    assert [kind for kind, _ in model.saved] == ["model"] * 3
    with open(tmp_path / "model_02-0.33.keras") as f:
        state = json.load(f)
    assert state["weights"][1] == [8.0, 8.0]  # 4 steps per epoch, 2 epochs done


def test_save_best_only_keeps_improvements(fake, tmp_path):
    model = fake.SavingModel()
    checkpoint = ModelCheckpoint(str(tmp_path / "best_{epoch}.keras"), save_best_only=True)
    losses = [0.5, 0.6, 0.4, 0.45]
    fake.run_fit(model, [checkpoint], epochs=4,
                 validation=lambda e: {"loss": losses[e]})
    assert saved_files(tmp_path) == ["best_1.keras", "best_3.keras"]
    assert checkpoint.best == 0.4


def test_save_best_only_fixed_path_holds_best_model(fake, tmp_path):
    model = fake.SavingModel()
    path = tmp_path / "best.keras"
    checkpoint = ModelCheckpoint(str(path), monitor="acc", mode="max", save_best_only=True,
                                 verbose=1)
    fake.run_fit(model, [checkpoint], epochs=4, steps=1,
                 metrics=fake.per_epoch([0.5, 0.8, 0.7, 0.6], "acc"))
    with open(path) as f:
        assert json.load(f)["weights"][1] == [2.0, 2.0]  # saved after epoch index 1
    assert saved_files(tmp_path) == ["best.keras"]  # no temporary file left behind


def test_initial_value_threshold(fake, tmp_path):
    model = fake.SavingModel()
    checkpoint = ModelCheckpoint(str(tmp_path / "m{epoch}.keras"), monitor="loss",
                                 save_best_only=True, initial_value_threshold=0.45)
    fake.run_fit(model, [checkpoint], epochs=3, steps=1,
                 metrics=fake.per_epoch([0.5, 0.4, 0.42]))
    assert saved_files(tmp_path) == ["m2.keras"]


def test_save_weights_only(fake, tmp_path):
    model = fake.SavingModel()
    checkpoint = ModelCheckpoint(str(tmp_path / "w{epoch}.weights.h5"), save_weights_only=True)
    fake.run_fit(model, [checkpoint], epochs=2)
    assert all(kind == "weights" for kind, _ in model.saved) and len(model.saved) == 2
    assert saved_files(tmp_path) == ["w1.weights.h5", "w2.weights.h5"]


def test_save_freq_in_batches_handles_jumps(fake, tmp_path):
    model = fake.SavingModel()
    checkpoint = ModelCheckpoint(str(tmp_path / "e{epoch}b{batch}.keras"), save_freq=3)
    # 4 steps per epoch, 2 per program: batch ends at 1, 3 | 1, 3, so the count reaches
    # 2, 4 (save, restart at 0) | 2, 4 (save), as Keras counts with steps_per_execution.
    fake.run_fit(model, [checkpoint], epochs=2, steps=4, steps_per_execution=2)
    assert saved_files(tmp_path) == ["e1b4.keras", "e2b4.keras"]
    checkpoint = ModelCheckpoint(str(tmp_path / "s{epoch}-{batch}.keras"), save_freq=5)
    fake.run_fit(model, [checkpoint], epochs=3, steps=4, steps_per_execution=3)
    # Programs end at batches 2, 3 in each epoch: counts 3, 4 | 7 (save), 1 | 4, 5 (save).
    assert [name for name in saved_files(tmp_path) if name.startswith("s")] == [
        "s2-3.keras", "s3-4.keras"]


def test_wrong_extensions_say_what_to_use(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`.*Received: "
                                         r"filepath=.*w\.keras.*'.*w\.weights\.h5'"):
        ModelCheckpoint(str(tmp_path / "w.keras"), save_weights_only=True)
    with pytest.raises(ValueError, match=r"must end in `\.keras`.*model\.ckpt.*model\.keras"):
        ModelCheckpoint(str(tmp_path / "model.ckpt"))
    with pytest.raises(ValueError, match="save_freq='epoch'.*positive integer"):
        ModelCheckpoint(str(tmp_path / "m.keras"), save_freq="batch")


def test_bad_templates_say_what_is_available(fake, tmp_path):
    with pytest.raises(ValueError, match="could not read the filepath template"):
        ModelCheckpoint(str(tmp_path / "m_{epoch.keras"))
    with pytest.raises(ValueError, match="could not read the filepath template"):
        ModelCheckpoint(str(tmp_path / "m_{}.keras"))
    checkpoint = ModelCheckpoint(str(tmp_path / "m_{val_acc:.2f}.keras"))
    with pytest.raises(KeyError, match=r"'val_acc' is not available.*\['epoch', 'loss'"):
        fake.run_fit(fake.SavingModel(), [checkpoint], epochs=1)
    checkpoint = ModelCheckpoint(str(tmp_path / "m_{loss:02d}.keras"))
    with pytest.raises(ValueError, match=r"Unknown format code 'd'.*\{val_loss:\.2f\}"):
        fake.run_fit(fake.SavingModel(), [checkpoint], epochs=1)


def test_directory_as_filepath_is_refused(fake, tmp_path):
    (tmp_path / "dir.keras").mkdir()
    checkpoint = ModelCheckpoint(str(tmp_path / "dir.keras"))
    with pytest.raises(IsADirectoryError, match="non-directory filepath"):
        fake.run_fit(fake.SavingModel(), [checkpoint], epochs=1)


def test_failed_save_leaves_previous_file_and_no_temporary(fake, tmp_path):
    model = fake.SavingModel()
    path = tmp_path / "m.keras"
    checkpoint = ModelCheckpoint(str(path))
    fake.run_fit(model, [checkpoint], epochs=1)
    before = path.read_text()

    def broken_save(filepath, overwrite=True):
        with open(filepath, "w") as f:
            f.write("half")
        raise OSError("disk full")

    model.save = broken_save
    with pytest.raises(OSError, match="disk full"):
        fake.run_fit(model, [checkpoint], epochs=1)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["m.keras"]
