"""Tiny files in the exact formats of the real datasets (npz, gzipped IDX, CIFAR tar.gz)."""

import gzip
import io
import pickle
import struct
import tarfile

import numpy as np


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def idx_gz(array):
    """A gzipped IDX file of unsigned bytes (magic 2049 for 1-D labels, 2051 for images)."""
    array = np.asarray(array, np.uint8)
    magic = 2049 if array.ndim == 1 else 2051
    header = struct.pack(f">i{array.ndim}i", magic, *array.shape)
    return gzip.compress(header + array.tobytes())


def cifar_batch(data, labels, protocol=2):
    """A CIFAR batch as Python 2 wrote it: bytes keys, `data` (N, 3072) uint8, `labels` list."""
    batch = {b"batch_label": b"synthetic", b"labels": [int(v) for v in labels],
             b"data": np.asarray(data, np.uint8).reshape(len(labels), 3072),
             b"filenames": [b"img%d.png" % i for i in range(len(labels))]}
    return pickle.dumps(batch, protocol=protocol)


def cifar100_batch(data, fine, coarse, protocol=2):
    """A CIFAR-100 batch: like CIFAR-10's, with `fine_labels` and `coarse_labels`."""
    batch = {b"batch_label": b"synthetic", b"fine_labels": [int(v) for v in fine],
             b"coarse_labels": [int(v) for v in coarse],
             b"data": np.asarray(data, np.uint8).reshape(len(fine), 3072),
             b"filenames": [b"img%d.png" % i for i in range(len(fine))]}
    return pickle.dumps(batch, protocol=protocol)


def tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class Evil:
    """Unpickling this calls os.system: what a tampered dataset file could do."""

    def __reduce__(self):
        import os

        return (os.system, ("echo pwned > /dev/null",))
