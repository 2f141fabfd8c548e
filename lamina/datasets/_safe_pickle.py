"""Loading the pickles inside dataset files without letting them run code.

Unpickling runs whatever callables the pickle names, so a tampered CIFAR batch or IMDB `.npz`
could execute code on load. These loaders resolve only the few globals that rebuild NumPy arrays
(plus `_codecs.encode`, which Python 3 uses for `bytes` in protocol-2 pickles); anything else is
refused with `pickle.UnpicklingError`. Lists, dicts, ints, strings and bytes need no globals.
"""

import io
import pickle
import zipfile

import numpy as np

# ndarray.__reduce__ names numpy.core.multiarray._reconstruct (NumPy 1) or
# numpy._core.multiarray._reconstruct (NumPy 2); both resolve to the installed function here, so
# the deprecated numpy.core shim is never imported.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]
_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("_codecs", "encode"): __import__("codecs").encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds NumPy arrays, containers and scalars, and nothing else."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Refusing to load `{module}.{name}` from a dataset file: only NumPy arrays and "
                "plain Python containers are allowed. The file may be corrupted or malicious; "
                "delete it and download it again from a source you trust.") from None


def load_pickle(path, encoding="ASCII"):
    """Unpickles one file with `RestrictedUnpickler`."""
    with open(path, "rb") as file:
        return RestrictedUnpickler(file, encoding=encoding).load()


def load_npz(path):
    """Reads every array of an `.npz` into a dict; object arrays go through `RestrictedUnpickler`.

    A safe stand-in for `np.load(path, allow_pickle=True)`, which the ragged IMDB arrays need.
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if member.endswith(".npy"):
                arrays[member[:-4]] = _read_npy(io.BytesIO(archive.read(member)))
    return arrays


def _read_npy(stream):
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        # Version 3.0 differs from 2.0 only in allowing UTF-8 field names.
        shape, _, dtype = np.lib.format.read_array_header_2_0(stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    array = RestrictedUnpickler(stream).load()
    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
        raise ValueError(
            f"An object array in the .npz holds {type(array).__name__} of shape "
            f"{getattr(array, 'shape', None)}, but its header says {tuple(shape)}. The file is "
            "corrupted; delete it and download it again.")
    return array
