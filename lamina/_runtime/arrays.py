"""Moving host data onto the device without compiling anything, and without racing the caller.

`jnp.asarray(numpy_array)` runs a small compiled conversion that XLA compiles once per new
shape (about 0.1 s each on CPU), which made building and loading models slow. `to_device`
converts on the host with NumPy and copies with `jax.device_put`, which compiles nothing.
Traced values and JAX arrays pass through `jnp.asarray` as before.

Both functions here first make a private host copy. On CPU, `device_put` and `jax.jit`
read a NumPy argument asynchronously, after they have returned, and
`block_until_ready()` on the result does not wait for that read. Handing them the caller's
own array therefore lets a caller who changes the array right afterwards change the device
value too (seen as a flaky test). A copy that nobody else holds cannot change under the read.
"""

import jax
import jax.numpy as jnp
import numpy as np


def host_copy(value, dtype=None, float_dtype=None):
    """A fresh NumPy array of `value` that no caller holds.

    Its dtype is `dtype` when given; otherwise floating data takes `float_dtype` when given
    (Keras's autocast), and other types follow JAX's defaults: without x64, 64-bit host
    types become 32-bit.
    """
    array = np.asarray(value)
    if dtype is not None:
        target = jnp.dtype(dtype)
    elif float_dtype is not None and jnp.issubdtype(array.dtype, jnp.floating):
        target = jnp.dtype(float_dtype)
    else:
        target = jax.dtypes.canonicalize_dtype(array.dtype)
    return np.array(array, dtype=target, copy=True)


def to_device(value, dtype=None):
    """`value` as a JAX array (of `dtype` if given), converting on the host when it is host data."""
    if isinstance(value, jax.Array):
        if dtype is None or value.dtype == jnp.dtype(dtype):
            return value
        return jnp.asarray(value, dtype=dtype)
    # `may_alias=False`: the device buffer must not share memory with the host copy either,
    # because the trainer donates Variable buffers to its compiled steps.
    return jax.device_put(host_copy(value, dtype), may_alias=False)
