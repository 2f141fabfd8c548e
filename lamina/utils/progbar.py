"""`keras.utils.Progbar`: the progress bar of custom training loops, drawn like `fit`'s.

The display (a tqdm bar on a terminal and in Jupyter, plain lines in log files, log records
when interactive logging is off) is `fit`'s own (`lamina.callbacks.progbar_logger`); this
module adds Keras's bookkeeping: values averaged over the steps they cover unless they are
stateful metrics.
"""

import numbers
import time

import numpy as np

from lamina.callbacks.progbar_logger import ProgressDisplay, format_logs


class Progbar:
    """Displays a progress bar with running metric values, as `fit` does.

    Values passed to `update` are averaged over the steps they cover (a loss per batch
    becomes the epoch's running mean) unless their name is in `stateful_metrics`, whose values
    are shown as given (a metric that already accumulates). Or name the averaged ones with
    `stateless_metrics`, and every other value is shown as given. As in Keras, the values of
    the final update (`finalize`, by default when `current` reaches `target`) are shown as
    given: pass the run's totals there, as `fit` does with an epoch's metrics.

    Args:
        target: the total number of steps, or None when unknown (a running count is shown).
        width: the bar's width in characters.
        verbose: 0 (silent), 1 (a live bar; plain lines at most every 10 s and at the end
            when standard output is not a terminal) or 2 (one line at the end).
        interval: the minimum number of seconds between two redraws of the bar.
        stateful_metrics: names of values shown as given, not averaged.
        stateless_metrics: names of values averaged; all others shown as given. Pass at
            most one of the two.
        unit_name: what a step is called in the display (`"step"`, `"sample"`).

    Examples:
        >>> bar = Progbar(target=3, verbose=2)
        >>> for step in range(3):
        ...     bar.update(step + 1, values=[("loss", 0.5)])  # doctest: +ELLIPSIS
        3/3 - 0s - ...s/step - loss: 0.5000
    """

    # Seconds between progress lines when the output is not a terminal (as for fit).
    line_interval = 10.0

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 stateless_metrics=None, unit_name="step"):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError(
                "Progbar takes `stateful_metrics` (the names not averaged) or "
                "`stateless_metrics` (the names averaged), not both. Received: "
                f"stateful_metrics={stateful_metrics!r}, "
                f"stateless_metrics={stateless_metrics!r}")
        if target is not None and (not isinstance(target, numbers.Integral)
                                   or isinstance(target, bool) or target < 0):
            raise ValueError(
                "Progbar's `target` must be the number of steps (an int >= 0) or None when "
                f"unknown. Received: target={target!r}")
        if not isinstance(width, numbers.Integral) or isinstance(width, bool) or width < 1:
            raise ValueError(
                f"Progbar's `width` must be a positive int. Received: width={width!r}")
        if verbose not in (0, 1, 2) or isinstance(verbose, bool):
            raise ValueError(
                f"Progbar's `verbose` must be 0, 1 or 2. Received: verbose={verbose!r}")
        if not isinstance(interval, numbers.Real) or interval < 0:
            raise ValueError(
                "Progbar's `interval` must be a number of seconds >= 0. Received: "
                f"interval={interval!r}")
        if not isinstance(unit_name, str):
            raise TypeError(
                f"Progbar's `unit_name` must be a string. Received: unit_name={unit_name!r}")
        self.target = None if target is None else int(target)
        self.width = int(width)
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        if stateful_metrics is not None:
            self.stateful_metrics = set(_names(stateful_metrics, "stateful_metrics"))
            self.stateless_metrics = None
        elif stateless_metrics is not None:
            self.stateful_metrics = None
            self.stateless_metrics = set(_names(stateless_metrics, "stateless_metrics"))
        else:
            self.stateful_metrics = set()
            self.stateless_metrics = None
        self._seen_so_far = 0
        self._values = {}  # name -> [weighted sum, steps] (averaged) or [value, 1]
        self._start = time.perf_counter()
        self._display = ProgressDisplay(self.target, verbose=verbose, width=self.width,
                                        unit_name=unit_name, min_interval=interval)
        self._open = False

    def update(self, current, values=None, finalize=None):
        """Shows `current` steps done and the values so far.

        Args:
            current: the number of steps done (not an increment; see `add`).
            values: a list of `(name, value)` pairs for the last step(s); a value is a number
                or an array (its mean is used), or any other object shown as text.
            finalize: whether this is the last update; by default, when `current` reaches
                `target`.

        Examples:
            The loss is averaged over the steps, `acc` is shown as given:

            >>> bar = Progbar(target=2, verbose=2, stateful_metrics=["acc"])
            >>> bar.update(1, [("loss", 4.0), ("acc", 0.5)])
            >>> bar.update(2, [("loss", 2.0), ("acc", 0.75)], finalize=False)
            >>> bar.update(2, finalize=True)  # doctest: +ELLIPSIS
            2/2 - 0s - ...s/step - loss: 3.0000 - acc: 0.7500
        """
        if not isinstance(current, numbers.Integral) or isinstance(current, bool) or \
                current < 0:
            raise ValueError(
                "Progbar.update's `current` must be the number of steps done (an int >= 0). "
                f"Received: current={current!r}")
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in _pairs(values):
            if self.stateful_metrics is not None:
                averaged = name not in self.stateful_metrics
            else:
                averaged = name in self.stateless_metrics
            number = _number(value)
            if not averaged or number is None:
                self._values[name] = [value if number is None else number, 1]
            elif finalize:
                # A final value covers the whole run (the epoch's mean, as fit reports it).
                self._values[name] = [number, 1]
            else:
                steps = max(current - self._seen_so_far, 1)
                total, count = self._values.get(name, (0.0, 0))
                self._values[name] = [total + number * steps, count + steps]
        self._seen_so_far = int(current)
        if self.verbose == 0:
            return
        if not self._open:
            self._display.line_interval = self.line_interval
            self._display.start(start_time=self._start)
            self._open = True
        description = format_logs(self._shown_values())
        if finalize:
            self._display.target = self.target if self.target is not None else int(current)
            self._display.seen = int(current)
            self._display.finish(description)
            self._open = False
        else:
            self._display.update(int(current), description)

    def add(self, n, values=None):
        """Advances by `n` steps: `update(steps so far + n, values)`.

        Examples:
            >>> bar = Progbar(target=4, verbose=2)
            >>> bar.add(2)
            >>> bar.add(2, [("loss", 0.5)])  # doctest: +ELLIPSIS
            4/4 - 0s - ...s/step - loss: 0.5000
        """
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            raise ValueError(f"Progbar.add's `n` must be an int. Received: n={n!r}")
        self.update(self._seen_so_far + int(n), values)

    def _shown_values(self):
        shown = {}
        for name, (value, count) in self._values.items():
            shown[name] = value / max(count, 1) if isinstance(value, float) else value
        return shown


def _names(names, argument):
    if isinstance(names, str):
        return [names]
    try:
        return list(names)
    except TypeError:
        raise TypeError(
            f"Progbar's `{argument}` must be a list of metric names. Received: "
            f"{argument}={names!r}") from None


def _pairs(values):
    if values is None:
        return []
    if isinstance(values, dict):
        return list(values.items())
    try:
        pairs = [tuple(pair) for pair in values]
    except TypeError:
        pairs = None
    if pairs is None or any(len(pair) != 2 or not isinstance(pair[0], str) for pair in pairs):
        raise TypeError(
            "Progbar.update's `values` must be a list of (name, value) pairs, e.g. "
            f"[('loss', 0.25)]. Received: values={values!r}")
    return pairs


def _number(value):
    """The value as a float (the mean of an array), or None when it is not numeric."""
    if isinstance(value, str):
        return None
    try:
        return float(np.mean(np.asarray(value, dtype=float)))
    except (TypeError, ValueError):
        return None
