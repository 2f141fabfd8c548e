"""Moving host data onto the device without compiling anything.

`jnp.asarray(numpy_array)` runs a small compiled conversion that XLA compiles once per new
shape (about 0.1 s each on CPU), which made building and loading models slow. `to_device`
converts on the host with NumPy and copies with `jax.device_put`, which compiles nothing.
Traced values and JAX arrays pass through `jnp.asarray` as before.
"""

import jax
import jax.numpy as jnp
import numpy as np


def to_device(value, dtype=None):
    """`value` as a JAX array (of `dtype` if given), converting on the host when it is host data."""
    if isinstance(value, jax.Array):
        if dtype is None or value.dtype == jnp.dtype(dtype):
            return value
        return jnp.asarray(value, dtype=dtype)
    array = np.asarray(value, dtype=None if dtype is None else jnp.dtype(dtype))
    if dtype is None:
        # Follow JAX's defaults: without x64, 64-bit host types become 32-bit.
        array = array.astype(jax.dtypes.canonicalize_dtype(array.dtype), copy=False)
    # A copy, never an alias: the caller may change its NumPy array later, and the trainer
    # donates Variable buffers to its compiled steps. `device_put` copies asynchronously (on
    # CPU it reads the host array after returning), so wait for the copy: otherwise a caller
    # who changes the array right away changes the device value too.
    copy = jax.device_put(array, may_alias=False)
    if not isinstance(copy, jax.core.Tracer):  # inside a trace it is a constant of the program
        copy.block_until_ready()
    return copy
