"""`ProgbarLogger`: the progress display of `fit`, `evaluate` and `predict`.

On a terminal (and in Jupyter) tqdm draws a live bar; anywhere else (a log file, CI, a pipe
through `tee`) the same information is printed as plain lines, as Keras does there.
"""

import logging
import sys
import time

from lamina._runtime.config import is_interactive_logging_enabled
from lamina.callbacks.callback import Callback

_LOGGER = logging.getLogger("lamina")
_BAR_WIDTH_DEFAULT = 20

# tqdm `bar_format`s. `{desc}` carries the metrics (" - loss: 0.1234 - mae: 0.2345"), placed
# after the timing the way Keras prints them.
_LIVE_FORMAT = "{n_fmt}/{total_fmt} {bar:20} {elapsed}<{remaining}, {rate_fmt}{desc}"
_UNKNOWN_FORMAT = "{n_fmt}/Unknown {elapsed}, {rate_fmt}{desc}"
_DONE_FORMAT = "{n_fmt}/{total_fmt} {bar:20} {elapsed}, {rate_fmt}{desc}"


class ProgbarLogger(Callback):
    """Prints progress and metrics to standard output.

    Added by `fit`, `evaluate` and `predict` when `verbose` is not 0. It reads `verbose`,
    `epochs` and `steps` from the loop parameters:

    * `verbose=1` (or `"auto"`): a live bar per epoch, drawn by `tqdm.auto` (a widget in
      Jupyter), with elapsed time, ETA, speed and the running metric values, Keras-style:
      `loss: 0.1234 - mae: 0.2345`. Validation metrics appear on the bar's final line.
      When standard output is not a terminal (a log file, CI, `| tee`), no carriage
      returns are written: one line per epoch, `32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 31ms/step -
      loss: 0.1234`, and a progress line at most every `line_interval` seconds (10) while
      a long epoch runs.
    * `verbose=2`: one line per epoch with the time taken and the metrics.

    `steps=None` (a generator of unknown length) shows a running count until the epoch ends;
    the count found in the first epoch is the total of the later ones. Batch updates may jump
    by several steps (the trainer runs several steps per compiled program).

    Examples:
        >>> logger = ProgbarLogger()
        >>> logger.set_params({"verbose": 2, "epochs": 1, "steps": 2})
        >>> logger.on_train_begin(); logger.on_epoch_begin(0)
        >>> logger.on_train_batch_end(1, {"loss": 0.5})
        >>> logger.on_epoch_end(0, {"loss": 0.5})  # doctest: +ELLIPSIS
        2/2 - 0s - ...s/step - loss: 0.5000
    """

    _sparse_batch_hooks = True
    # Seconds between progress lines within an epoch when the output is not a terminal.
    line_interval = 10.0

    def __init__(self):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.seen = 0
        self._display = ProgressDisplay()
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _listens_to_batches(self, mode):
        if not self.verbose or (mode == "test" and self._called_in_fit):
            return False
        # verbose=2 prints at the end only; it counts batches when their number is unknown.
        return self.verbose == 1 or self.target is None

    # ------------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_train_end(self, logs=None):
        self._display.close()
        self._called_in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            emit(f"Epoch {epoch + 1}/{self.epochs}")
        self._open_bar()

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:  # validation inside fit shows on the epoch's bar
            self._reset()
            self._open_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._reset()
        self._open_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_predict_end(self, logs=None):
        self._finalize(None)

    # ------------------------------------------------------------------------ display
    def _reset(self):
        self._display.close()
        self.seen = 0

    def _open_bar(self):
        display = self._display
        display.target, display.verbose = self.target, self.verbose
        display.line_interval = self.line_interval
        display.start()

    def _update(self, batch, logs):
        self.seen = batch + 1  # batch is 0-based; it may jump by several steps
        self._display.update(self.seen, format_logs(logs))

    def _finalize(self, logs):
        if self.target is None:
            self.target = self.seen  # learnt in the first epoch; later epochs show a total
        self._display.target = self.target
        self._display.finish(format_logs(logs))


class ProgressDisplay:
    """One progress display, shared by `ProgbarLogger` and `keras.utils.Progbar`.

    `verbose=1`: a tqdm bar on a terminal and in Jupyter; anywhere else (a log file, CI, a
    pipe) Keras's bar line without control codes, at most every `line_interval` seconds and
    once at the end; with interactive logging off (`keras.utils.disable_interactive_logging`)
    the same lines go to the `"lamina"` logger. `verbose=2`: one summary line at the end.
    `description` is the text after the timing (`" - loss: 0.1234"`, see `format_logs`).
    """

    def __init__(self, target=None, verbose=1, width=_BAR_WIDTH_DEFAULT, unit_name="step",
                 line_interval=10.0, min_interval=None):
        self.target = target
        self.verbose = verbose
        self.width = width
        self.unit_name = unit_name
        self.line_interval = line_interval
        self.min_interval = min_interval  # tqdm's mininterval; None keeps tqdm's
        self.seen = 0
        self._bar = None
        self._in_notebook = False
        self._lines = False  # plain lines instead of a bar (output is not a terminal)
        self._last_line = None
        self._start = None

    def start(self, start_time=None):
        """Starts the clock (at `start_time`, a `time.perf_counter()` value, if given) and, for
        `verbose=1`, opens the bar or the line output."""
        self.close()
        self.seen = 0
        self._lines = self._in_notebook = False
        self._start = time.perf_counter() if start_time is None else start_time
        if self.verbose != 1:
            return
        if not is_interactive_logging_enabled():
            self._lines = True
            self._last_line = time.perf_counter()
            return
        from tqdm.auto import tqdm  # imported here: `import lamina` stays light

        notebook = sys.modules.get("tqdm.notebook")  # loaded by tqdm.auto inside Jupyter
        self._in_notebook = notebook is not None and issubclass(tqdm, notebook.tqdm_notebook)
        # Jupyter's text output (a kernel without the widget) also redraws on '\r'.
        self._lines = not self._in_notebook and not _is_terminal(sys.stdout) and \
            "ipykernel" not in sys.modules
        if self._lines:
            self._last_line = time.perf_counter()
            return
        options = {} if self.min_interval is None else {"mininterval": self.min_interval}
        self._bar = tqdm(
            total=self.target, unit=self.unit_name, leave=True, file=sys.stdout,
            bar_format=self._format(_UNKNOWN_FORMAT if self.target is None else _LIVE_FORMAT),
            **options)

    def _format(self, bar_format):
        # Jupyter's widget draws its own bar where the format says plain `{bar}`.
        bar_format = bar_format.replace("{bar:20}", "{bar}" if self._in_notebook
                                        else f"{{bar:{self.width}}}")
        return bar_format

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def update(self, seen, description=""):
        """Shows `seen` steps done, with `description` after the timing."""
        self.seen = seen
        if self._lines and self.verbose == 1:
            now = time.perf_counter()
            if now - self._last_line >= self.line_interval and self.seen != self.target:
                self._last_line = now
                self._print_line(description, final=False)
            return
        if self._bar is None:
            return
        self._bar.set_description_str(description, refresh=False)
        self._bar.update(max(self.seen - self._bar.n, 0))

    def finish(self, description=""):
        """The final line: the total, the time taken, the time per step and `description`."""
        if self.target is None:
            self.target = self.seen
        if self.verbose == 1 and self._lines:
            self.seen = self.seen or self.target  # stopped early: shows where
            self._print_line(description, final=True)
        elif self.verbose == 1 and self._bar is not None:
            bar = self._bar
            bar.total = self.target
            bar.bar_format = self._format(_DONE_FORMAT)
            # Live lines are cut to the terminal's width; the summary line is not.
            bar.ncols = None
            bar.set_description_str(description, refresh=False)
            bar.update(max(self.target - bar.n, 0))
            self.close()
        elif self.verbose == 2:
            elapsed = time.perf_counter() - (self._start or time.perf_counter())
            width = len(str(self.target))
            line = f"{self.target:>{width}d}/{self.target} - {elapsed:.0f}s"
            if self.target:
                line += f" - {_format_step_time(elapsed / self.target, self.unit_name)}"
            emit(line + description)

    def _print_line(self, description, final):
        """Keras's progress line without terminal control codes: the count, a bar, the time
        taken (the ETA while it runs), the time per step and the description."""
        elapsed = time.perf_counter() - (self._start or time.perf_counter())
        seen, target, bar_width = self.seen, self.target, self.width
        per_step = elapsed / seen if seen else 0.0
        if target:
            width = len(str(target))
            done = max(0, min(bar_width, bar_width * seen // target))
            line = f"{seen:>{width}d}/{target} {'━' * done}{'─' * (bar_width - done)}"
            timing = f"{elapsed:.0f}s" if final else _format_eta(per_step * (target - seen))
        else:
            line = f"{seen:>7d}/Unknown"
            timing = f"{elapsed:.0f}s"
        emit(line + f" {timing} {_format_step_time(per_step, self.unit_name)}" + description)


def emit(line):
    """Prints one progress line, or logs it (logger `"lamina"`, INFO) when interactive logging
    is off. Box-drawing characters become '=' and '.' on a stream that cannot encode them."""
    if not is_interactive_logging_enabled():
        _LOGGER.info(line)
        return
    try:
        print(line, file=sys.stdout, flush=True)
    except UnicodeEncodeError:  # a log whose encoding has no box-drawing characters
        print(line.translate(_ASCII_BAR), file=sys.stdout, flush=True)


_ASCII_BAR = str.maketrans({"━": "=", "─": "."})


def _is_terminal(stream):
    """Whether `stream` shows carriage-return redraws as one changing line (a terminal)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def _format_eta(seconds):
    if seconds > 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds > 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{seconds:.0f}s"


def format_logs(logs):
    """`" - loss: 0.1234 - mae: 2.3450e-04"`: Keras's way of printing metric values."""
    parts = []
    for name, value in (logs or {}).items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            parts.append(f" - {name}: {value}")
            continue
        parts.append(f" - {name}: {number:.4f}" if abs(number) > 1e-3 or number == 0
                     else f" - {name}: {number:.4e}")
    return "".join(parts)


def _format_step_time(seconds, unit="step"):
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"
