"""CSVLogger: file content, separator, append, and byte-for-byte agreement with Keras."""

import csv
import os

import numpy as np
import pytest

from lamina.callbacks import CSVLogger, LambdaCallback


def read_rows(path, separator=","):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=separator))


def test_rows_per_epoch_with_validation(fake, tmp_path):
    path = tmp_path / "log.csv"
    fake.run_fit(fake.Model(), [CSVLogger(str(path))], epochs=2, steps=1,
                 validation=lambda e: {"loss": 2.0 + e})
    assert read_rows(path) == [
        ["epoch", "loss", "mae", "val_loss"],
        ["0", "1.0", "0.5", "2.0"],
        ["1", "0.5", "0.25", "3.0"],
    ]


def test_without_validation_adds_empty_val_columns_like_keras(fake, tmp_path):
    path = tmp_path / "log.csv"
    fake.run_fit(fake.Model(), [CSVLogger(str(path), separator=";")], epochs=1, steps=1)
    assert read_rows(path, ";") == [
        ["epoch", "loss", "mae", "val_loss", "val_mae"], ["0", "1.0", "0.5", "NA", "NA"]]


def test_append_keeps_old_rows_and_writes_header_once(fake, tmp_path):
    path = tmp_path / "log.csv"
    fake.run_fit(fake.Model(), [CSVLogger(str(path), append=True)], epochs=1, steps=1,
                 validation=lambda e: {"loss": 1.0})
    fake.run_fit(fake.Model(), [CSVLogger(str(path), append=True)], epochs=2, steps=1,
                 validation=lambda e: {"loss": 1.0})
    rows = read_rows(path)
    assert rows[0] == ["epoch", "loss", "mae", "val_loss"]
    assert [row[0] for row in rows[1:]] == ["0", "0", "1"]
    fake.run_fit(fake.Model(), [CSVLogger(str(path))], epochs=1, steps=1,
                 validation=lambda e: {"loss": 1.0})
    assert len(read_rows(path)) == 2  # append=False overwrites


def test_file_is_complete_after_each_epoch_and_no_temporaries(fake, tmp_path):
    path = tmp_path / "log.csv"
    lines_seen = []

    logger = CSVLogger(str(path))
    peek = LambdaCallback(on_epoch_end=lambda epoch, logs: lines_seen.append(
        len(read_rows(path))))
    fake.run_fit(fake.Model(), [logger, peek], epochs=3, steps=1)
    assert lines_seen == [2, 3, 4]
    assert os.listdir(tmp_path) == ["log.csv"]


def test_array_values_are_quoted_lists(fake, tmp_path):
    path = tmp_path / "log.csv"
    logger = CSVLogger(str(path))
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0, "per_class": np.array([0.5, 0.25]),
                            "val_loss": 2.0})
    logger.on_train_end()
    assert read_rows(path)[1] == ["0", "1.0", '"[0.5, 0.25]"', "2.0"]


def test_matches_keras_byte_for_byte(fake, tmp_path):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("Keras reference runs with the JAX backend only")
    epochs = [{"loss": 0.123456789, "accuracy": 0.5, "val_loss": 1e-8},
              {"loss": 2.0, "accuracy": 0.75, "val_loss": 3.5}]
    for append in (False, True):
        contents = []
        for name, cls in (("ours.csv", CSVLogger), ("keras.csv", keras.callbacks.CSVLogger)):
            path = str(tmp_path / name)
            for _ in range(2 if append else 1):
                logger = cls(path, separator="\t", append=append)
                logger.set_model(fake.Model())
                logger.on_train_begin()
                for epoch, logs in enumerate(epochs):
                    logger.on_epoch_end(epoch, dict(logs))
                logger.on_train_end()
            with open(path, "rb") as f:
                contents.append(f.read())
        assert contents[0] == contents[1]
