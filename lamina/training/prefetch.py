"""Streamed batches placed on the device ahead of the step that needs them.

When `fit`, `evaluate` or `predict` read a generator, an iterable (a Grain loader, a
`PyDataset`), each batch is produced by Python code on the host, then copied to the device.
Done in line, the compiled step waits for both. `Prefetcher` moves them to a background
thread: it pulls batch `i + 1` (and `i + 2`) from the source and calls `jax.device_put` on
it while the step runs on batch `i`, through a bounded queue, so the host never runs more
than `size` batches ahead and memory stays bounded.

Its contract with the loops:

* batches come out in the source's order, already on the device;
* an exception raised by the source (or by converting a batch) is raised by `next()` in the
  caller's thread, once the batches before it have been consumed, with a note naming the
  batch index if the source did not name it;
* `close()` (also on `with` exit, on an exception in the consumer, on `break`) stops the
  thread and joins it: no thread outlives the loop that started it.
"""

import queue
import threading

import jax

_BATCH, _END, _ERROR = 0, 1, 2
_POLL_S = 0.05  # how often a blocked producer checks whether the consumer has gone


class Prefetcher:
    """Iterates `source` (an iterator of batches) on a background thread, `size` batches
    ahead, each placed by `place` (by default `jax.device_put`)."""

    def __init__(self, source, size=2, place=jax.device_put, name="lamina-prefetch"):
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"The prefetch buffer size must be an int >= 1. Received: {size!r}")
        self._source = source
        self._place = place
        self._queue = queue.Queue(maxsize=size)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    # --------------------------------------------------------------------------- producer
    def _put(self, item):
        """Blocks until the queue takes `item`; False if the consumer closed meanwhile."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self):
        index = 0
        try:
            for batch in self._source:
                if self._stop.is_set():
                    return
                if not self._put((_BATCH, self._place(batch), index)):
                    return
                index += 1
            self._put((_END, None, index))
        except BaseException as error:  # noqa: BLE001  (handed to the consumer, not lost)
            self._put((_ERROR, error, index))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()  # the source generator's cleanup runs here, on its own thread

    # --------------------------------------------------------------------------- consumer
    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        kind, value, index = self._queue.get()
        if kind == _BATCH:
            return value
        self.close()
        if kind == _END:
            raise StopIteration
        if not getattr(value, "__notes__", None):
            value.add_note(f"Raised while producing batch {index} of the epoch on the "
                           "prefetch thread.")
        raise value

    def close(self):
        """Stops the producer and joins its thread; batches not consumed are dropped."""
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:  # unblock a producer waiting on a full queue
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(timeout=_POLL_S)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        if not self._done:
            self._stop.set()
