"""The hook between the runtime and `keras.distribution`, which sits above it.

Variables are created with a layout, and the trainer splits batches along the data axis, so
both need the active distribution; but `lamina.distribution` is a layer above the runtime and
the runtime never imports upward. The distribution registers itself here instead
(`set_active`), and the runtime and trainer ask it through a small protocol:

* `variable_sharding(variable)` -> a `jax.sharding.Sharding` or None: where a new Variable's
  value goes (it raises, naming the variable, if its layout does not fit);
* `data_sharding(ndim)` -> the sharding of one batch leaf, split along its first axis;
* `replicated()` -> a sharding that copies an array to every device of the mesh;
* `data_shards` (the size of the data axis) and `num_processes`.

With no distribution (the default) every call here is one global read and returns None, so
the single-device path costs what it did.
"""

import contextlib
import contextvars

import jax
import numpy as np

_active = None  # the Distribution set by keras.distribution.set_distribution / scope()
_used = False  # whether a distribution was ever set (then Variables may need moving back)
# A Variable created in this context takes this Variable's layout when the distribution has
# none of its own for it (an optimizer slot follows its weight).
_like = contextvars.ContextVar("lamina_layout_like", default=None)


def active():
    """The active distribution, or None."""
    return _active


def set_active(distribution):
    global _active, _used
    _active = distribution
    _used = _used or distribution is not None


@contextlib.contextmanager
def layout_like(variable):
    """Variables created in the block without a layout of their own follow `variable`'s."""
    token = _like.set(variable)
    try:
        yield
    finally:
        _like.reset(token)


def variable_sharding(variable):
    """The sharding a new Variable's value takes under the active distribution, or None."""
    distribution = _active
    if distribution is None:
        return None
    reference = _like.get()
    if reference is not None and tuple(reference.shape) == tuple(variable.shape):
        variable._layout_reference = reference
    return _target(distribution, variable, {})


def _target(distribution, variable, planned):
    """The variable's sharding: its own layout, else its reference's (`planned` holds the
    shardings being given to other Variables in the same move, by id)."""
    sharding = distribution._variable_sharding(variable)
    reference = variable.__dict__.get("_layout_reference")
    if reference is not None and not distribution._has_own_layout(variable):
        followed = planned.get(id(reference), reference._sharding)
        if followed is not None:
            sharding = followed
    return sharding


def place(variables):
    """Moves each Variable's value to the layout the active distribution gives it (or, with
    none, back to the default device if a distribution had placed it). All values are
    computed before any is stored, so an error leaves every Variable as it was."""
    distribution = _active
    if distribution is None and not _used:
        return
    moves, planned = [], {}
    # Weights first, so that the slots that follow them see where they go.
    for variable in sorted(variables, key=lambda v: "_layout_reference" in v.__dict__):
        sharding = None if distribution is None else _target(distribution, variable, planned)
        planned[id(variable)] = sharding
        value = variable._value
        if sharding is None:
            if variable._sharding is not None:  # back to one device, uncommitted as new
                moves.append((variable, None, jax.device_put(np.asarray(value))))
        elif variable._sharding is not sharding or value.sharding != sharding:
            moves.append((variable, sharding, jax.device_put(value, sharding)))
    for variable, sharding, value in moves:
        variable._sharding = sharding
        variable._value = value


def data_sharding(ndim):
    """The sharding of a batch leaf of rank `ndim` (split along axis 0), or None."""
    distribution = _active
    return None if distribution is None else distribution._data_sharding(ndim)


def replicated():
    """A sharding that copies arrays to every device of the active mesh, or None."""
    distribution = _active
    return None if distribution is None else distribution._replicated_sharding()


def data_shards():
    """How many parts a batch is split into (1 without a distribution)."""
    distribution = _active
    return 1 if distribution is None else distribution._data_shards()


def token():
    """What compiled programs depend on: the active distribution (None without one)."""
    return _active


def multi_process():
    """Whether the active distribution spans several processes (hosts)."""
    distribution = _active
    return distribution is not None and distribution.num_processes > 1


def array_placement():
    """Where `fit`/`evaluate`/`predict` put their array data: copied to every device of the
    mesh in one process (each program then gathers its batch and splits it); None otherwise
    (one device; or several processes, whose batches are assembled from each one's rows)."""
    distribution = _active
    if distribution is None or distribution.num_processes > 1:
        return None
    return distribution._replicated_sharding()


def check_batch_size(batch_size, where):
    """Refuses a batch size that the data axis does not divide (before any step runs)."""
    distribution = _active
    if distribution is None or batch_size is None:
        return
    shards = distribution._data_shards()
    global_size = batch_size * distribution.num_processes
    if global_size % shards:
        per_process = (f" ({distribution.num_processes} processes x {batch_size} rows)"
                       if distribution.num_processes > 1 else "")
        raise ValueError(
            f"{where}: a batch of {global_size} rows{per_process} cannot be split evenly "
            f"across the {shards} devices of the data axis "
            f"'{distribution.batch_dim_name}' of {distribution}. Received: "
            f"batch_size={batch_size}. Use a batch size divisible by {shards}, e.g. "
            f"{max(shards, (batch_size // shards) * shards)}.")
