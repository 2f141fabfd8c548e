"""Ctrl-C during `fit` stops at the next safe point, so the model stays usable.

Compiled steps consume (donate) the state buffers they are given; between a program returning
and its results being written back into the Variables, the model's state exists only in a
local variable. A KeyboardInterrupt in that window would lose it. While training, SIGINT is
recorded instead of raised, and the trainer raises KeyboardInterrupt itself between steps.
"""

import contextlib
import signal
import threading


class InterruptGuard:
    def __init__(self):
        self.requested = False

    def check(self):
        """Raises KeyboardInterrupt if Ctrl-C was pressed since the last check."""
        if self.requested:
            self.requested = False
            raise KeyboardInterrupt


@contextlib.contextmanager
def deferred_interrupts():
    guard = InterruptGuard()
    if threading.current_thread() is not threading.main_thread():
        yield guard  # signals are delivered to the main thread only; nothing to defer
        return
    try:
        previous = signal.getsignal(signal.SIGINT)
    except (ValueError, TypeError):
        yield guard
        return
    if previous is not signal.default_int_handler:
        yield guard  # someone else (a debugger, a notebook kernel) handles SIGINT: leave it
        return

    def record(signum, frame):
        guard.requested = True

    signal.signal(signal.SIGINT, record)
    try:
        yield guard
    finally:
        signal.signal(signal.SIGINT, previous)
    guard.check()
