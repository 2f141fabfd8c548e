"""Host buffers that streamed batches are stacked into, reused instead of freed.

The prefetch thread stacks runs of streamed batches into one 64-byte-aligned host array per
group (`data._stack`); on the CPU backend `jax.device_put` adopts that memory without
copying, on an accelerator it copies from it. A fresh buffer of a few megabytes costs a page
fault per 4 KB page (or a huge-page fault with compaction: NumPy asks for huge pages above
4 MB) the first time it is written, which on a virtual machine cost as much as stacking the
batches, and far more while memory is fragmented. Freed memory goes back to the system, so
every group paid again.

`HostBuffers` keeps the buffers and hands one out again once nothing refers to it any more:
each array it hands out is a view of its buffer, and every view (the group's host arrays,
the device array that adopted or is still copying them, the targets kept for the label
checks) holds a reference to the buffer, so a buffer whose reference count is back to the
pool's own is unused. JAX keeps a host array it adopted alive until the programs reading it
have finished, so a buffer is never written while a step may still read it.
"""

import sys
import threading

import numpy as np

ALIGNMENT = 64


class HostBuffers:
    """A pool of aligned host buffers, keeping at most `keep_bytes` of them between uses."""

    def __init__(self, keep_bytes):
        self._keep_bytes = int(keep_bytes)
        self._buffers = []  # uint8 arrays; each hands out views starting on a 64-byte boundary
        self._lock = threading.Lock()
        # The count of a buffer nothing else refers to, measured the way `_take` asks (the
        # interpreter's own references to a call's argument differ between versions).
        probe = [np.empty(1, np.uint8)]
        self._idle_references = _references(probe[0])

    def empty(self, shape, dtype):
        """An uninitialized `shape`/`dtype` array whose data starts on a 64-byte boundary,
        in a reused buffer when one of this size is free."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        with self._lock:
            buffer = self._take(nbytes + ALIGNMENT)
            offset = -buffer.ctypes.data % ALIGNMENT
            return buffer[offset:offset + nbytes].view(dtype).reshape(shape)

    def _take(self, size):
        unused = [index for index in range(len(self._buffers))
                  if _references(self._buffers[index]) <= self._idle_references]
        for index in unused:
            if self._buffers[index].nbytes == size:
                return self._buffers[index]
        buffer = np.empty(size, np.uint8)
        kept = sum(buffer.nbytes for buffer in self._buffers)
        # Unused buffers of other sizes (another layout, a smaller last group) make room.
        for index in reversed(unused):
            if kept + size <= self._keep_bytes:
                break
            kept -= self._buffers.pop(index).nbytes
        if kept + size <= self._keep_bytes:
            self._buffers.append(buffer)
        return buffer

    def kept_bytes(self):
        """Bytes held by the pool, in use or not."""
        with self._lock:
            return sum(buffer.nbytes for buffer in self._buffers)


def _references(buffer):
    # Any view handed out (and so anything holding one) adds one to the pool's own.
    return sys.getrefcount(buffer)
