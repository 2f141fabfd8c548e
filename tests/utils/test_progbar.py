"""`keras.utils.Progbar`: Keras's averaging and lines, drawn by fit's display (tqdm on a
terminal, plain lines elsewhere, the `lamina` logger with interactive logging off)."""

import logging
import os
import re

import numpy as np
import pytest

import lamina
from lamina.callbacks import progbar_logger
from lamina.utils import Progbar

BAR = "━" * 20
TIME = re.compile(r"\d+(us|ms|s)/(step|sample)|\d+s\b")


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def _normalized(text):
    return TIME.sub("T", text)


def _run(progbar_class, target, updates, **options):
    bar = progbar_class(target, **options)
    for current, values, finalize in updates:
        bar.update(current, values, finalize=finalize)
    return bar


UPDATES = [
    # (current, values, finalize): a loss averaged over uneven steps, a stateful accuracy,
    # then the final update with no values (the averages are shown).
    [(1, [("loss", 4.0), ("acc", 0.5)], None), (3, [("loss", 1.0), ("acc", 0.6)], None),
     (4, [("loss", 2.0), ("acc", 0.75)], False), (4, None, True)],
    # The final update's values are shown as given (Keras's rule).
    [(1, [("loss", 1.0)], None), (2, [("loss", 0.5)], None), (3, [("loss", 1 / 3)], None)],
    # Arrays are averaged to one number; tiny values use Keras's exponent format.
    [(2, [("loss", np.array([1e-5, 3e-5]))], None), (4, None, None)],
]


@pytest.mark.parametrize("updates", UPDATES)
def test_verbose_2_prints_keras_line(keras3, capsys, updates):
    target = updates[-1][0]
    _run(keras3.utils.Progbar, target, updates, verbose=2, stateful_metrics=["acc"])
    expected = capsys.readouterr().out
    _run(Progbar, target, updates, verbose=2, stateful_metrics=["acc"])
    ours = capsys.readouterr().out
    assert _normalized(ours) == _normalized(expected), (ours, expected)


def test_stateless_metrics_average_only_those(keras3):
    updates = [(1, [("loss", 4.0), ("lr", 0.1)], None), (2, [("loss", 2.0), ("lr", 0.05)], False)]
    ours = _run(Progbar, 2, updates, verbose=0, stateless_metrics=["loss"])
    theirs = _run(keras3.utils.Progbar, 2, updates, verbose=0, stateless_metrics=["loss"])
    assert ours._values == theirs._values == {"loss": [6.0, 2], "lr": [0.05, 1]}


def test_off_a_terminal_verbose_1_prints_fit_style_lines(capsys, monkeypatch):
    monkeypatch.setattr(Progbar, "line_interval", 0.0)
    bar = Progbar(4, verbose=1, unit_name="sample")
    bar.update(2, [("loss", 1.0)])
    bar.add(2, [("loss", 3.0)])
    shown = capsys.readouterr().out.splitlines()
    assert "\r" not in "".join(shown) and len(shown) == 2
    assert re.fullmatch(r"2/4 ━{10}─{10} \d+s \d+(us|ms|s)/sample - loss: 1\.0000", shown[0])
    assert re.fullmatch(rf"4/4 {BAR} \d+s \d+(us|ms|s)/sample - loss: 3\.0000", shown[1])


def test_unknown_target_counts_then_finishes(capsys, monkeypatch):
    monkeypatch.setattr(Progbar, "line_interval", 0.0)
    bar = Progbar(None, verbose=1, width=10)
    bar.update(3)
    bar.update(5, finalize=True)
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("      3/Unknown ")
    assert shown[1].startswith("5/5 " + "━" * 10 + " ")


def test_on_a_terminal_tqdm_draws_the_bar(capsys, monkeypatch):
    monkeypatch.setattr(progbar_logger, "_is_terminal", lambda stream: True)
    bar = Progbar(3, verbose=1, interval=0.0)
    for step in range(3):
        bar.update(step + 1, [("loss", 0.5)])
    frames = capsys.readouterr().out.replace("\n", "\r").split("\r")
    frames = [frame.rstrip() for frame in frames if frame.strip()]
    assert re.fullmatch(r"3/3 \S{20} 00:00, .*(step/s|s/step) - loss: 0\.5000", frames[-1])


def test_verbose_0_prints_nothing(capsys):
    _run(Progbar, 2, UPDATES[1], verbose=0)
    assert capsys.readouterr().out == ""


def test_interactive_logging_off_sends_lines_to_the_logger(capsys, caplog):
    lamina.utils.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="lamina"):
            bar = Progbar(2, verbose=1)
            bar.update(1, [("loss", 1.0)])
            bar.update(2, [("loss", 0.5)])
    finally:
        lamina.utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    assert [r.name for r in caplog.records] == ["lamina"]
    assert caplog.records[0].getMessage().startswith(f"2/2 {BAR} ")
    assert caplog.records[0].getMessage().endswith(" - loss: 0.5000")


def test_interactive_logging_off_applies_to_fit(capsys, caplog):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert lamina.utils.is_interactive_logging_enabled()
    lamina.utils.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="lamina"):
            model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, batch_size=4, verbose=1)
    finally:
        lamina.utils.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    messages = [r.getMessage() for r in caplog.records if r.name == "lamina"]
    assert messages[0] == "Epoch 1/2" and messages[2] == "Epoch 2/2"
    assert messages[1].startswith(f"2/2 {BAR} ") and " - loss: " in messages[1]


@pytest.mark.parametrize("arguments, error, words", [
    ({"target": 3, "stateful_metrics": ["a"], "stateless_metrics": ["b"]}, ValueError,
     "not both"),
    ({"target": -1}, ValueError, "target=-1"),
    ({"target": 2.5}, ValueError, "target=2.5"),
    ({"target": 3, "verbose": 3}, ValueError, "verbose=3"),
    ({"target": 3, "width": 0}, ValueError, "width=0"),
    ({"target": 3, "interval": -1}, ValueError, "interval=-1"),
    ({"target": 3, "stateful_metrics": 5}, TypeError, "stateful_metrics=5"),
])
def test_bad_arguments_name_what_was_expected(arguments, error, words):
    with pytest.raises(error, match=re.escape(words)):
        Progbar(**arguments)


def test_bad_update_arguments_leave_the_bar_as_it_was():
    bar = Progbar(3, verbose=0)
    bar.update(1, [("loss", 1.0)])
    with pytest.raises(TypeError, match=r"\(name, value\) pairs.*Received: values=\[1\.0\]"):
        bar.update(2, [1.0])
    with pytest.raises(ValueError, match=r"current=-2"):
        bar.update(-2)
    with pytest.raises(ValueError, match=r"n='1'"):
        bar.add("1")
    assert bar._seen_so_far == 1 and bar._values == {"loss": [1.0, 1]}
