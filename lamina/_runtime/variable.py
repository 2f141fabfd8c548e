"""`Variable`: a mutable holder of one array, named and placed by path.

Eagerly a Variable behaves like the array it holds: it works in arithmetic, in `jax.numpy`
functions and in `lamina.ops`, and `assign` replaces its value. Inside a state scope (see
`scope.py`) it reads and writes the scope instead, which is how compiled functions, gradients and
the trainer turn stateful user code into pure JAX.
"""

import contextlib
import contextvars
import math
import operator
import os

import jax
import jax.numpy as jnp
import numpy as np

from lamina import _registry
from lamina._runtime import config, dtypes, naming, sharding
from lamina._runtime.arrays import to_device
from lamina._runtime.scope import _current_scope, outside_scopes

_AGGREGATIONS = ("none", "mean", "sum", "only_first_replica")
_SYNCHRONIZATIONS = ("none", "on_write", "on_read", "auto")


def _is_tracer(value):
    return isinstance(value, jax.core.Tracer)


# Shapes without values. A Variable created inside `abstract_variables()` from a callable
# initializer holds a `jax.ShapeDtypeStruct`: no memory, no initializer run. Functional models
# still build, because a symbolic call reads Variables inside `jax.eval_shape`, where the read
# gives traced zeros (free); a read anywhere else raises.
_abstract = contextvars.ContextVar("lamina_abstract_variables", default=False)


@contextlib.contextmanager
def abstract_variables():
    """Variables created in the block have a shape and dtype but no value.

    For inspecting an architecture without allocating its weights (lamina.applications' graph
    checks build ConvNeXtXLarge, 350M parameters, this way): layer names, classes, weight
    shapes and `count_params()` are all there. Such a Variable cannot be read, assigned or
    trained outside a trace; build the model again outside the block to use it.

    Examples:
        >>> with abstract_variables():
        ...     v = Variable(lambda shape, dtype: jnp.ones(shape, dtype), shape=(40000, 40000))
        >>> v.shape
        (40000, 40000)
    """
    token = _abstract.set(True)
    try:
        yield
    finally:
        _abstract.reset(token)


def _abstract_value(variable, struct):
    zero = jnp.zeros((), struct.dtype)
    if not _is_tracer(zero):
        raise ValueError(
            f"Variable '{variable.path}' was created inside abstract_variables(): it has a shape "
            f"{tuple(struct.shape)} and dtype but no value, so it cannot be read here. Create "
            "the model again outside abstract_variables() to read, assign or train it.")
    return jnp.broadcast_to(zero, struct.shape)


class Variable:
    """A named, mutable array: weights, metric totals, optimizer slots, counters, seeds.

    Args:
        initializer: the initial value (array, NumPy array, Python number, nested list), or a
            callable `initializer(shape, dtype)` (an initializer object or a plain function), or
            the name of a built-in initializer. A callable or a name needs `shape`.
        shape: the shape, when `initializer` is a callable or a name.
        dtype: the dtype; by default that of the value, with Python and NumPy floats taken as
            `keras.config.floatx()`.
        trainable: whether gradients and optimizers should update it.
        autocast: whether a float Variable reads as the compute dtype inside the `call` of a
            mixed-precision layer (see `AutocastScope`); False keeps it in its own dtype
            (normalization statistics, metric totals).
        aggregation: how per-device values combine (`"none"`, `"mean"`, `"sum"`,
            `"only_first_replica"`); metrics declare `"sum"` for totals and counts.
        synchronization: accepted for Keras compatibility.
        name: the name; its path adds the active name scopes (`dense/kernel`).
        constraint: a callable applied by optimizers after each update (`NonNeg()`, ...).

    Examples:
        >>> counter = lamina.Variable(0, name="counter")
        >>> counter.assign_add(2)
        Array(2, dtype=int32)
        >>> counter.numpy()
        array(2, dtype=int32)
    """

    __array_priority__ = 100  # NumPy defers `ndarray + variable` to our reflected operators.
    _lamina_tracked_as = "variables"  # layers track Variables assigned to their attributes
    # Under keras.distribution: the layout Keras code may set before the value is created
    # (a TensorLayout), and the jax.sharding.Sharding the value is kept in (None: one device).
    _layout = None
    _sharding = None

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, constraint=None):
        if name is None:
            name = naming.unique_name("variable")
        if not isinstance(name, str) or "/" in name:
            raise ValueError(
                "A Variable's name must be a string without '/' (paths come from name scopes). "
                f"Received: name={name!r}")
        if aggregation not in _AGGREGATIONS:
            raise ValueError(
                f"Invalid aggregation for variable '{name}': expected one of {_AGGREGATIONS}. "
                f"Received: aggregation={aggregation!r}")
        if synchronization not in _SYNCHRONIZATIONS:
            raise ValueError(
                f"Invalid synchronization for variable '{name}': expected one of "
                f"{_SYNCHRONIZATIONS}. Received: synchronization={synchronization!r}")
        self._name = name
        self._path = naming.join_path(name)
        self.trainable = bool(trainable)
        self.autocast = autocast
        self.aggregation = aggregation
        self.synchronization = synchronization
        self.constraint = constraint
        self.regularizer = None  # set by Layer.add_weight; read by Layer.losses

        # Initial values are computed outside any scope and trace, so that a Variable created
        # inside a compiled function (a lazily built layer, an optimizer slot) holds a concrete
        # value that outlives the trace.
        with outside_scopes(), jax.ensure_compile_time_eval():
            value = self._initial_value(initializer, shape, dtype)
        if _is_tracer(value):
            raise ValueError(
                f"Variable '{self._path}' was created from a traced value inside a compiled "
                "function. Its initial value must not depend on the function's inputs: create it "
                "from a shape and an initializer, or create it outside the function and assign "
                "to it inside.")
        self._dtype = dtypes.standardize_dtype(value.dtype)
        self._shape = tuple(value.shape)
        if sharding._active is not None and not isinstance(value, jax.ShapeDtypeStruct):
            # keras.distribution: created with its layout
            placed = sharding.variable_sharding(self)
            if placed is not None:
                with jax.ensure_compile_time_eval():  # concrete even inside a trace
                    value = jax.device_put(value, placed)
            self._sharding = placed
        self._value = value

        scope = _current_scope.get()
        if scope is not None:
            trace_scope = scope.trace_scope()
            if trace_scope is not None:
                trace_scope.trace.on_variable_created(self)

    def _initial_value(self, initializer, shape, dtype):
        if isinstance(initializer, str):
            # A built-in initializer's name ("zeros"). The initializers sit above the runtime,
            # so their `get` is found by its Keras name in the registry below it, which loads
            # `lamina.initializers` on first use and keeps `import lamina` light.
            initializer = _registry.public_symbol("keras.initializers.get")(initializer)
        if isinstance(initializer, Variable):
            initializer = initializer.value
        if callable(initializer) and not hasattr(initializer, "__array__"):
            if shape is None:
                raise ValueError(
                    f"Variable '{self._path}' is created from a callable initializer, so it "
                    "needs a shape. Pass shape=..., e.g. "
                    "Variable(initializer, shape=(3, 4)).")
            what = f"variable '{self._path}'"
            shape = standardize_shape(shape, what)
            dtype = _standardize_dtype(dtype, what)
            if _abstract.get():
                return jax.ShapeDtypeStruct(shape, np.dtype(dtype))
            check_allocation(shape, dtype, what)
            value = to_device(initializer(shape, dtype=dtype))
            value = value.astype(dtype) if value.dtype != np.dtype(dtype) else value
            if tuple(value.shape) != tuple(shape):
                raise ValueError(
                    f"The initializer of variable '{self._path}' returned shape "
                    f"{tuple(value.shape)}, expected {tuple(shape)}. An initializer must return "
                    "an array of exactly the shape it is given.")
            return value
        if dtype is None:
            dtype = _default_dtype(initializer)
        else:
            dtype = _standardize_dtype(dtype, f"variable '{self._path}'")
        value = to_device(initializer, dtype=dtype)
        if shape is not None:
            shape = standardize_shape(shape, f"variable '{self._path}'")
        if shape is not None and shape != tuple(value.shape):
            raise ValueError(
                f"Variable '{self._path}': the initial value has shape {tuple(value.shape)} but "
                f"shape={tuple(shape)} was given. Pass a value of that shape, or drop shape=.")
        return value

    # ----------------------------------------------------------------------------- properties
    @property
    def name(self):
        return self._name

    @property
    def path(self):
        """The name with the name scopes it was created in: `sequential/dense/kernel`."""
        return self._path

    @property
    def shape(self):
        return self._shape

    @property
    def ndim(self):
        return len(self._shape)

    @property
    def dtype(self):
        """The dtype as Keras names it: `"float32"`, `"int32"`, ...

        Inside an `AutocastScope` (a mixed-precision layer's `call`) a float Variable with
        `autocast=True` reports the dtype it reads as, as in Keras.
        """
        cast = _autocast_dtype.get()
        if cast is not None and self.autocast and self._dtype.startswith(("float", "bfloat")):
            return cast
        return self._dtype

    @property
    def value(self):
        """The current value: the active scope's, or the Variable's own outside any scope.

        Inside an `AutocastScope`, a float Variable with `autocast=True` reads cast to the
        scope's dtype (the differentiable cast is traced into the caller's program).
        """
        scope = _current_scope.get()
        value = self._value if scope is None else scope.read(self)
        if isinstance(value, jax.ShapeDtypeStruct):
            value = _abstract_value(self, value)
        cast = _autocast_dtype.get()
        if cast is not None and self.autocast and value.dtype != cast and \
                self._dtype.startswith(("float", "bfloat")):
            return value.astype(cast)
        return value

    def _read(self):
        """The current value in the Variable's own dtype, whatever the autocast scope."""
        scope = _current_scope.get()
        value = self._value if scope is None else scope.read(self)
        if isinstance(value, jax.ShapeDtypeStruct):
            value = _abstract_value(self, value)
        return value

    def numpy(self):
        """A NumPy copy of the current value."""
        return np.array(self.value)

    # ----------------------------------------------------------------------------- assignment
    def _check_assignable(self, value):
        """Converts `value` to this Variable's dtype, or raises if shape or dtype cannot fit."""
        if isinstance(value, Variable):
            value = value._read()
            if not _is_tracer(value):
                # Two Variables must not share a buffer: donating one would delete the other.
                value = jax.device_put(value, may_alias=False)
        if isinstance(value, (jax.Array, np.ndarray, np.generic)):
            if value.dtype != np.dtype(self._dtype) or getattr(value, "weak_type", False):
                if not dtypes.can_store(value.dtype, self._dtype):
                    raise TypeError(
                        f"Cannot assign a value of dtype {value.dtype} to variable '{self._path}' "
                        f"of dtype {self._dtype}: the conversion would lose information. Cast "
                        f"the value first, e.g. ops.cast(value, '{self._dtype}').")
                value = to_device(value, dtype=self._dtype)
            elif not isinstance(value, jax.Array):
                value = to_device(value)  # NumPy data: copied onto the device
        else:
            value = self._convert_python_value(value)
        if value.shape != self._shape:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(value.shape)} to variable "
                f"'{self._path}' of shape {self._shape}. Reshape the value, or create the "
                "variable with the shape you need.")
        return value

    def _convert_python_value(self, value):
        try:
            array = np.asarray(value)
        except Exception as error:
            raise TypeError(
                f"Cannot assign a value of type {type(value).__name__} to variable "
                f"'{self._path}': expected an array, a number or a nested list of numbers.") from error
        if array.dtype.kind not in "biufc":
            raise TypeError(
                f"Cannot assign {value!r} to variable '{self._path}': expected an array, a "
                "number or a nested list of numbers.")
        if not dtypes.can_store(array.dtype, self._dtype):
            converted = array.astype(self._dtype)
            if not np.array_equal(converted, array):
                raise TypeError(
                    f"Cannot assign {value!r} to variable '{self._path}' of dtype "
                    f"{self._dtype} without losing information. Cast or round it first.")
        return to_device(array, dtype=self._dtype)

    def assign(self, value):
        """Replaces the value; returns the new value. Shape must match; dtype is converted."""
        value = self._check_assignable(value)
        scope = _current_scope.get()
        if scope is not None:
            scope.write(self, value)
        elif _is_tracer(value):
            raise RuntimeError(
                f"Cannot store a traced value in variable '{self._path}' outside a lamina state "
                "scope: the value would outlive the jax.jit/jax.grad trace that made it. Wrap "
                "the function with keras.function (or use keras.value_and_grad), which carry "
                "Variables through the trace.")
        else:
            if self._sharding is not None and value.sharding != self._sharding:
                with jax.ensure_compile_time_eval():  # keeps its layout, as a concrete array
                    value = jax.device_put(value, self._sharding)
            self._value = value
        return value

    # Both read the stored value, not the autocast one: a float32 total updated inside a
    # bfloat16 layer must not be rounded to bfloat16 on every update.
    def assign_add(self, value):
        """Adds `value` to the variable; returns the new value."""
        return self.assign(self._read() + _unwrap(value))

    def assign_sub(self, value):
        """Subtracts `value` from the variable; returns the new value."""
        return self.assign(self._read() - _unwrap(value))

    # ----------------------------------------------------------------------------- array protocol
    def __jax_array__(self):
        return self.value

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)

    def __repr__(self):
        return (f"<Variable path={self._path}, shape={self._shape}, dtype={self._dtype}, "
                f"value={np.array(self.value) if not _is_tracer(self.value) else self.value}>")

    def __bool__(self):
        return bool(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __index__(self):
        return int(self.value)

    def __len__(self):
        return len(self.value)

    def __iter__(self):
        return iter(self.value)

    def __getitem__(self, index):
        return self.value[index]

    __hash__ = object.__hash__  # identity, so Variables can key dicts and sets

    @property
    def T(self):
        return self.value.T

    def __neg__(self):
        return -self.value

    def __pos__(self):
        return self.value

    def __abs__(self):
        return jnp.abs(self.value)

    def __invert__(self):
        return ~self.value


# ----------------------------------------------------------------------------- autocast
# Mixed precision (Keras's AutocastScope): a layer whose compute dtype differs from its
# variables' dtype runs `call` inside a scope, and float Variables read there come back cast
# to the compute dtype. The weights stay float32 and the cast is part of the traced program,
# so gradients reach them in float32. Outside any scope reads cost one ContextVar lookup.
_autocast_dtype = contextvars.ContextVar("lamina_autocast_dtype", default=None)


class AutocastScope:
    """Reads float Variables (those created with `autocast=True`) as `dtype` inside the block.

    `Layer.__call__` opens one around `call` for mixed-precision layers; `AutocastScope(None)`
    turns casting off in a block (a float32 layer inside a bfloat16 one opens
    `AutocastScope("float32")` instead).

    Examples:
        >>> v = lamina.Variable([1.0, 2.0])
        >>> with AutocastScope("bfloat16"):
        ...     v.value.dtype, v.dtype
        (dtype(bfloat16), 'bfloat16')
        >>> v.value.dtype
        dtype('float32')
    """

    def __init__(self, dtype):
        if dtype is not None:
            dtype = dtypes.standardize_dtype(dtype)
            if not dtypes.is_float(dtype):
                raise ValueError(
                    "AutocastScope can only cast to a floating-point dtype, such as "
                    f"'bfloat16'. Received: dtype={dtype!r}")
        self.dtype = dtype
        self._tokens = []

    def __enter__(self):
        self._tokens.append(_autocast_dtype.set(self.dtype))
        return self

    def __exit__(self, *exc_info):
        _autocast_dtype.reset(self._tokens.pop())
        return False


def autocast_dtype():
    """The dtype float Variables read as here (an `AutocastScope`'s), or None."""
    return _autocast_dtype.get()


# ----------------------------------------------------------------------------- declared sizes
# A weight's shape and dtype often come from a file (a layer config's units, filters, input_dim,
# dtype). XLA does not raise when an allocation cannot be made: it aborts the whole process. So
# every shape is checked before an initial value is computed, and so is the memory it needs.

class AllocationError(MemoryError, ValueError):
    """A Variable's declared size cannot fit in the memory of the device that would hold it.

    It is a `ValueError` because the usual cause is a bad argument or config (`Dense(10**12)`,
    a config from an untrusted file), which Keras users catch as `ValueError`; and a
    `MemoryError` because that is what it prevents (XLA would abort the process instead of
    raising), for code that handles running out of memory.
    """


# Below this size the memory is not measured: no weight this small can be an absurd declared
# size, and an odd reading of available memory (some containers report little) must never stop
# an ordinary model. The shape is still validated.
_UNCHECKED_BYTES = 1 << 24
_MAX_INDEX = 2**63 - 1  # XLA indexes dimensions and element counts with int64
_creator = contextvars.ContextVar("lamina_variable_creator", default=None)


@contextlib.contextmanager
def created_by(description):
    """Names who creates the Variables in the block (`"Layer 'dense_3'"`), for their errors."""
    token = _creator.set(description)
    try:
        yield
    finally:
        _creator.reset(token)


def _cannot_create(what):
    creator = _creator.get()
    return f"{creator} cannot create {what}" if creator else f"Cannot create {what}"


def _standardize_dtype(dtype, what):
    try:
        return dtypes.standardize_dtype(dtype)
    except ValueError as error:
        raise ValueError(f"{_cannot_create(what)}: {error}") from None


def standardize_shape(shape, what):
    """`shape` as a tuple of Python ints, each >= 0; a ValueError naming `what` otherwise.

    `what` names the array in errors: `"variable 'dense/kernel'"`.

    Floats (`1.5`, even `2.0`), booleans, strings and `None` are refused rather than converted:
    `int(1.5)` would silently build a different layer from the one a config declares.
    """
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape  # the common case, checked without a loop of conversions
    if shape is None or isinstance(shape, (str, bytes, dict)) or not hasattr(shape, "__iter__"):
        raise ValueError(
            f"{_cannot_create(what)}: its shape must be a tuple of non-negative integers. "
            f"Received: shape={dtypes.short_repr(shape)}. Pass e.g. shape=(3, 4), or shape=(n,) "
            "for a vector.")
    shape = tuple(shape)
    dims = []
    for axis, dim in enumerate(shape):
        try:
            if isinstance(dim, (bool, np.bool_)):
                raise TypeError
            dim = operator.index(dim)
        except TypeError:
            if dim is None:
                hint = ("None means the size is unknown: a weight needs a full shape, so "
                        "build the layer with a fully known input shape")
            else:
                hint = ("check the argument that sets it (units, filters, input_dim, ...): it "
                        "must be an int, not a float or a string")
            raise ValueError(
                f"{_cannot_create(what)}: every dimension of its shape must be a non-negative "
                f"integer, but dimension {axis} is {dtypes.short_repr(dim)} "
                f"({type(dim).__name__}). Received: shape={dtypes.short_repr(shape)}; "
                f"{hint}.") from None
        if dim < 0:
            raise ValueError(
                f"{_cannot_create(what)}: dimension {axis} of its shape is negative. Received: "
                f"shape={dtypes.short_repr(shape)}. Check the argument that sets it (units, "
                "filters, input_dim, ...): sizes must be >= 0.")
        dims.append(dim)
    return tuple(dims)


def check_allocation(shape, dtype, what):
    """Raises `AllocationError` if a `shape`/`dtype` array cannot fit where it would be made.

    `shape` is a standardized shape and `dtype` a standardized dtype name. The element count is
    a Python int, so no size overflows; the available memory is read once per large request
    (`device.memory_stats()` on an accelerator, the host's available memory on CPU).
    """
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > _MAX_INDEX or max(shape, default=0) > _MAX_INDEX:
        room = "no device can hold it: an array's bytes and dimensions stop at 2**63 - 1"
        remedy = ""
    elif nbytes < _UNCHECKED_BYTES:
        return
    else:
        where, available = available_memory()
        if available is None or nbytes <= available:
            return
        room = f"{where} has {format_bytes(available)} available"
        remedy = " If the size is intended, free memory or use a device with more."
    exact = f" ({nbytes} bytes)" if 1000 <= nbytes < 10**27 else ""
    raise AllocationError(
        f"{_cannot_create(what)} of shape {dtypes.short_repr(shape)} {dtype}: it needs "
        f"{format_bytes(nbytes)}{exact}, and {room}. Check the arguments that set this shape "
        "(units, filters, input_dim, output_dim, ...) and the dtype: a config from an "
        f"untrusted file may declare absurd sizes.{remedy}")


def format_bytes(nbytes):
    """`40.0 TB`, `512.0 MB`, `12 bytes`: a size for error messages, in powers of 1000."""
    if nbytes < 1000:
        return f"{nbytes} bytes"
    if nbytes >= 10**27:  # no float or decimal string needed for a size from a hostile file
        return "more than 1000 YB"
    size = nbytes / 1000
    for unit in ("KB", "MB", "GB", "TB", "PB", "EB", "ZB"):
        if round(size, 1) < 1000:
            return f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} YB"


def _default_device():
    device = jax.config.jax_default_device  # honours `with jax.default_device(...)`
    if isinstance(device, str):
        return jax.devices(device)[0]
    return device if device is not None else jax.devices()[0]


def available_memory():
    """`(description, bytes)` of free memory where new Variables are placed; bytes may be None.

    An accelerator reports its own limit and use (`memory_stats()`); on CPU it is the host's
    available memory, bounded by the process's cgroup limit when there is one.
    """
    device = _default_device()
    try:
        stats = device.memory_stats()
    except Exception:  # some backends do not implement it
        stats = None
    if stats and "bytes_limit" in stats:
        free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
        return f"{device.platform.upper()} device {device.id}", max(free, 0)
    if device.platform != "cpu":
        return f"{device.platform.upper()} device {device.id}", None
    return "the CPU host", _host_available_memory()


def _host_available_memory():
    available = _meminfo_available()  # Linux: free memory plus what the kernel can reclaim
    # Elsewhere free pages, or at least the physical memory (macOS has no free-page count):
    # an array larger than the machine's RAM is refused on every system.
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        if available is not None:
            break
        try:
            available = os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, OSError, ValueError):
            available = None
    headroom = _cgroup_headroom()
    if headroom is not None:
        available = headroom if available is None else min(available, headroom)
    return available


def _meminfo_available():
    try:
        with open("/proc/meminfo", "rb") as meminfo:
            for line in meminfo:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _read_number(path, key=None):
    """The integer in a cgroup file (or after `key` in a `memory.stat`); None if absent."""
    try:
        with open(path, "rb") as file:
            if key is None:
                return int(file.read().strip())
            for line in file:
                name, _, value = line.partition(b" ")
                if name == key:
                    return int(value)
    except (OSError, ValueError):
        pass
    return None


# (limit, usage, reclaimable page cache) files of cgroup v2, then v1. Cache counts in usage but
# is given back on demand, as MemAvailable counts it.
_CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current",
     "/sys/fs/cgroup/memory.stat", b"inactive_file"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
     "/sys/fs/cgroup/memory/memory.stat", b"total_inactive_file"),
)


def _cgroup_headroom():
    for limit_file, usage_file, stat_file, cache_key in _CGROUP_FILES:
        limit = _read_number(limit_file)  # None for "max" (no limit) or no such file
        if limit is None or limit >= _MAX_INDEX // 2:  # v1 writes "no limit" as a huge number
            continue
        usage = _read_number(usage_file) or 0
        cache = _read_number(stat_file, cache_key) or 0
        return max(limit - usage + cache, 0)
    return None


def _unwrap(value):
    if isinstance(value, Variable):
        return value.value
    if isinstance(value, (list, tuple)):
        return jnp.asarray(value)  # TF accepts `v.assign_add([1.0, 2.0])`
    return value


def _default_dtype(value):
    if isinstance(value, (jax.Array, np.ndarray, np.generic)):
        if np.dtype(value.dtype).kind == "f" and isinstance(value, (np.ndarray, np.generic)):
            return config.floatx()  # NumPy's float64 default is an accident, not a choice
        return dtypes.standardize_dtype(value.dtype)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int32"
    if isinstance(value, float):
        return config.floatx()
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return config.floatx()
    if array.dtype.kind in "iu":
        return "int32" if array.dtype.itemsize >= 4 else dtypes.standardize_dtype(array.dtype)
    return dtypes.standardize_dtype(array.dtype)


def _binary(op):
    def forward(self, other):
        return op(self.value, _unwrap(other))

    def reflected(self, other):
        return op(_unwrap(other), self.value)

    return forward, reflected


for _name, _op in {
    "add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "truediv": jnp.true_divide,
    "floordiv": jnp.floor_divide, "mod": jnp.mod, "pow": jnp.power, "matmul": jnp.matmul,
    "and": jnp.bitwise_and, "or": jnp.bitwise_or, "xor": jnp.bitwise_xor,
}.items():
    _forward, _reflected = _binary(_op)
    setattr(Variable, f"__{_name}__", _forward)
    setattr(Variable, f"__r{_name}__", _reflected)

for _name, _op in {
    "lt": jnp.less, "le": jnp.less_equal, "gt": jnp.greater, "ge": jnp.greater_equal,
    "eq": jnp.equal, "ne": jnp.not_equal,
}.items():
    setattr(Variable, f"__{_name}__", _binary(_op)[0])

# As a pytree node a Variable flattens to its current value, so every jit-wrapped `jax.numpy`
# and `jax.nn` function accepts it (JAX no longer calls `__jax_array__` while abstracting).
jax.tree_util.register_pytree_node(
    Variable, lambda variable: ((variable.value,), None), lambda _, children: children[0])


def is_variable(value):
    return isinstance(value, Variable)
