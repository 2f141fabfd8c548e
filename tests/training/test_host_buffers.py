"""The pool of host buffers that streamed groups are stacked into: a buffer is handed out
again only once nothing (a host view, a device array adopting it) refers to it."""

import jax
import numpy as np

from lamina.training.host_buffers import HostBuffers


def test_a_buffer_is_reused_only_once_every_view_is_gone():
    pool = HostBuffers(keep_bytes=1 << 20)
    first = pool.empty((8, 3), np.float32)
    assert first.ctypes.data % 64 == 0 and first.shape == (8, 3) and first.dtype == np.float32
    address = first.ctypes.data
    rows = first[:2]  # a slice (the targets kept for label checks) keeps the buffer in use
    del first
    second = pool.empty((8, 3), np.float32)
    assert second.ctypes.data != address
    del rows
    assert pool.empty((8, 3), np.float32).ctypes.data == address


def test_a_device_array_adopting_the_buffer_keeps_it_in_use():
    pool = HostBuffers(keep_bytes=1 << 20)
    host = pool.empty((16, 4), np.float32)
    host[:] = 1.0
    address = host.ctypes.data
    device = jax.device_put(host)
    del host
    other = pool.empty((16, 4), np.float32)
    assert other.ctypes.data != address
    other[:] = 2.0  # writing the new buffer leaves the device array's values alone
    np.testing.assert_array_equal(np.asarray(device), np.ones((16, 4), np.float32))


def test_the_pool_keeps_at_most_keep_bytes():
    pool = HostBuffers(keep_bytes=3000)
    held = [pool.empty((250,), np.float32) for _ in range(3)]  # 1000 bytes (+64) each
    assert pool.kept_bytes() <= 3000
    del held
    # Unused buffers of another size make room for the new size.
    pool.empty((600,), np.float32)
    assert 2400 < pool.kept_bytes() <= 3000
