"""ProgbarLogger: tqdm bars for verbose=1 on a terminal, plain lines elsewhere (logs, CI,
pipes), one line per epoch for verbose=2, unknown steps."""

import io
import re
import sys
import time

import pytest

from lamina.callbacks import CallbackList, ProgbarLogger
from lamina.callbacks import progbar_logger
from lamina.callbacks.progbar_logger import format_logs

BAR = "━" * 20


@pytest.fixture
def terminal(monkeypatch):
    """Standard output taken for a terminal (pytest's capture is not one)."""
    monkeypatch.setattr(progbar_logger, "_is_terminal", lambda stream: True)


def lines(text):
    """Terminal lines as a reader sees them last: each '\\r' rewrite keeps only its end."""
    return [line.split("\r")[-1] for line in text.split("\n") if line.split("\r")[-1]]


def test_verbose_1_draws_a_bar_per_epoch_with_validation_at_the_end(fake, capsys, terminal):
    fake.run_fit(fake.Model(), epochs=2, steps=4, verbose=1,
                 validation=lambda e: {"loss": 3.0 + e})
    out = capsys.readouterr().out
    shown = lines(out)
    assert shown[0] == "Epoch 1/2" and shown[2] == "Epoch 2/2"
    assert re.fullmatch(
        r"4/4 \S{20} 00:00, .*(step/s|s/step) - loss: 1\.0300 - mae: 0\.5000 - "
        r"val_loss: 3\.0000", shown[1]), shown[1]
    assert shown[3].endswith(" - loss: 0.5300 - mae: 0.2500 - val_loss: 4.0000")
    assert len(shown) == 4  # validation inside fit draws no bar of its own
    assert "0/4 " in out  # the bar is live from the start of the epoch


def test_verbose_1_shows_running_metrics_and_eta(fake, capsys, terminal):
    def slow_metrics(epoch, step):
        time.sleep(0.12)  # past tqdm's refresh interval, so each update is drawn
        return {"loss": 1.0 - 0.25 * step}

    fake.run_fit(fake.Model(), epochs=1, steps=3, verbose=1, metrics=slow_metrics)
    frames = capsys.readouterr().out.split("\r")
    assert any(re.match(r"2/3 \S+\s* 00:00<00:00, .* - loss: 0\.7500$", f) for f in frames), frames


def test_verbose_1_unknown_steps_then_known(fake, capsys, terminal):
    fake.run_fit(fake.Model(), epochs=2, steps=3, steps_known=False, verbose=1,
                 steps_per_execution=2)
    out = capsys.readouterr().out
    first_epoch, second_epoch = out.split("Epoch 2/2")
    assert "0/Unknown" in first_epoch and "/Unknown" not in second_epoch
    assert lines(first_epoch)[-1].startswith("3/3 ")  # the total found at the end
    assert "0/3 " in second_epoch and lines(second_epoch)[-1].startswith("3/3 ")


def test_verbose_2_prints_one_line_per_epoch(fake, capsys):
    fake.run_fit(fake.Model(), epochs=2, steps=4, verbose=2, steps_per_execution=3,
                 validation=lambda e: {"loss": 3.0})
    out = capsys.readouterr().out
    assert "\r" not in out
    shown = out.splitlines()
    assert shown[0] == "Epoch 1/2" and shown[2] == "Epoch 2/2"
    assert re.fullmatch(r"4/4 - \d+s - \d+(us|ms|s)/step - loss: 1\.0300 - mae: 0\.5000 - "
                        r"val_loss: 3\.0000", shown[1]), shown[1]
    assert len(shown) == 4


def test_verbose_2_unknown_steps_counts_them(fake, capsys):
    fake.run_fit(fake.Model(), epochs=1, steps=5, verbose=2, steps_known=False)
    assert capsys.readouterr().out.startswith("5/5 - ")  # one epoch: no "Epoch" header


def test_verbose_0_and_auto(fake, capsys):
    callback_list = CallbackList([ProgbarLogger()], model=fake.Model(), verbose=0, epochs=2,
                                 steps=2)
    fake.run_fit(fake.Model(), callback_list, epochs=2, steps=2)
    assert capsys.readouterr().out == ""
    logger = ProgbarLogger()
    logger.set_params({"verbose": "auto", "epochs": 1, "steps": 1})
    assert logger.verbose == 1


def test_evaluate_and_predict_bars(fake, capsys, terminal):
    model = fake.Model()
    evaluate = CallbackList(add_progbar=True, model=model, verbose=1, epochs=1, steps=3)
    evaluate.on_test_begin()
    for batch in range(3):
        evaluate.on_test_batch_begin(batch)
        evaluate.on_test_batch_end(batch, {"loss": 0.5})
    evaluate.on_test_end({"loss": 0.25, "accuracy": 0.75})
    assert lines(capsys.readouterr().out)[-1].endswith(" - accuracy: 0.7500 - loss: 0.2500")
    predict = CallbackList(add_progbar=True, model=model, verbose=1, epochs=1, steps=None)
    predict.on_predict_begin()
    for batch in range(2):
        predict.on_predict_batch_end(batch, {"outputs": [[1.0]]})
    predict.on_predict_end()
    assert lines(capsys.readouterr().out)[-1].startswith("2/2 ")


def test_metric_formatting_matches_keras():
    assert format_logs({"loss": 0.123456, "tiny": 1.5e-5, "big": 12345.0, "name": "x"}) == (
        " - loss: 0.1235 - tiny: 1.5000e-05 - big: 12345.0000 - name: x")
    assert format_logs(None) == ""


def test_live_lines_fit_the_terminal_but_the_summary_is_whole(fake, capsys, terminal, monkeypatch):
    import tqdm.std

    monkeypatch.setattr(tqdm.std, "_screen_shape_wrapper", lambda: lambda fp: (40, 20))
    fake.run_fit(fake.Model(), epochs=1, steps=2, verbose=1,
                 metrics=lambda e, s: {"loss": 1.0, "a_long_metric_name": 2.0})
    frames = capsys.readouterr().out.replace("\n", "\r").split("\r")
    frames = [f.rstrip() for f in frames if f.strip()]
    assert all(len(f) <= 40 for f in frames[:-1]), frames
    assert frames[-1].endswith(" - a_long_metric_name: 2.0000 - loss: 1.0000")


# ----------------------------------------------------------------------------- not a terminal
def test_verbose_1_off_a_terminal_prints_one_clean_line_per_epoch(fake, capsys):
    """In a log file, CI or `| tee`, carriage-return redraws pile up as garbage: each epoch is
    one line, Keras's bar line without its control codes."""
    fake.run_fit(fake.Model(), epochs=2, steps=4, verbose=1, steps_per_execution=1,
                 validation=lambda e: {"loss": 3.0 + e})
    out = capsys.readouterr().out
    assert "\r" not in out and "\x1b" not in out and "\x08" not in out
    shown = out.splitlines()
    assert len(shown) == 4 and shown[0] == "Epoch 1/2" and shown[2] == "Epoch 2/2"
    assert re.fullmatch(rf"4/4 {BAR} \d+s \d+(us|ms|s)/step - loss: 1\.0300 - mae: 0\.5000 - "
                        r"val_loss: 3\.0000", shown[1]), shown[1]
    assert shown[3].endswith(" - loss: 0.5300 - mae: 0.2500 - val_loss: 4.0000")


def test_off_a_terminal_a_long_epoch_prints_progress_lines_at_intervals(fake, capsys,
                                                                          monkeypatch):
    monkeypatch.setattr(ProgbarLogger, "line_interval", 0.0)  # every update is "long"
    fake.run_fit(fake.Model(), epochs=1, steps=4, verbose=1, steps_per_execution=2)
    shown = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"2/4 ━{10}─{10} \d+s \d+(us|ms|s)/step - loss: 1\.0100 - "
                        r"mae: 0\.5000", shown[0]), shown
    assert shown[1].startswith(f"4/4 {BAR} ") and len(shown) == 2
    fake.run_fit(fake.Model(), epochs=1, steps=3, verbose=1, steps_known=False)
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("      1/Unknown ") and shown[-1].startswith(f"3/3 {BAR} ")


def test_off_a_terminal_evaluate_and_predict_print_one_line(fake, capsys):
    model = fake.Model()
    evaluate = CallbackList(add_progbar=True, model=model, verbose=1, epochs=1, steps=3)
    evaluate.on_test_begin()
    for batch in range(3):
        evaluate.on_test_batch_end(batch, {"loss": 0.5})
    evaluate.on_test_end({"loss": 0.25})
    predict = CallbackList(add_progbar=True, model=model, verbose=1, epochs=1, steps=None)
    predict.on_predict_begin()
    for batch in range(2):
        predict.on_predict_batch_end(batch, {"outputs": [[1.0]]})
    predict.on_predict_end()
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) == 2
    assert shown[0].startswith(f"3/3 {BAR} ") and shown[0].endswith(" - loss: 0.2500")
    assert re.fullmatch(rf"2/2 {BAR} \d+s \d+(us|ms|s)/step", shown[1]), shown[1]


def test_off_a_terminal_without_box_drawing_characters(fake, monkeypatch):
    """A log whose encoding lacks '━' (ASCII) gets '=' instead of an encoding error."""
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    fake.run_fit(fake.Model(), epochs=1, steps=2, verbose=1)
    sys.stdout.flush()
    assert raw.getvalue().decode("ascii").startswith("2/2 " + "=" * 20 + " ")


def test_a_real_terminal_is_told_by_isatty():
    class Stream(io.StringIO):
        def __init__(self, answer):
            super().__init__()
            self.answer = answer

        def isatty(self):
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer

    assert progbar_logger._is_terminal(Stream(True))
    assert not progbar_logger._is_terminal(Stream(False))
    assert not progbar_logger._is_terminal(Stream(ValueError("I/O operation on closed file")))
    assert not progbar_logger._is_terminal(object())
