"""TF names over lamina's runtime and ops: `Variable`, `function`, `custom_gradient`, `print`,
and a `GradientTape` that explains how to port tape code to `keras.value_and_grad`."""

import functools
import inspect
import sys

import jax
import numpy as np

from lamina._runtime.function import function as _function
from lamina._runtime.variable import Variable as _Variable
from lamina.compat._tf_core import as_array, is_traced, unwrap
from lamina.compat._tf_shape import TensorSpec
from lamina.ops import custom_gradient as _ops_custom_gradient

__all__ = [
    "GradientTape", "Variable", "VariableAggregation", "VariableSynchronization",
    "custom_gradient", "function", "print",
]


class VariableAggregation:
    """`tf.VariableAggregation`: how per-replica values of a Variable combine.

    Stored on the Variable (as `aggregation`) for the data-parallel trainer to read.

    Examples:
        >>> tf.Variable(1.0, aggregation=tf.VariableAggregation.MEAN).aggregation
        'mean'
    """

    NONE = "none"
    SUM = "sum"
    MEAN = "mean"
    ONLY_FIRST_REPLICA = "only_first_replica"


class VariableSynchronization:
    """`tf.VariableSynchronization`: accepted for compatibility.

    Only `ON_READ` changes anything: as in TF, such a Variable is not trainable unless
    `trainable=True` is passed (streaming-metric totals are created this way).

    Examples:
        >>> tf.Variable(0.0, synchronization=tf.VariableSynchronization.ON_READ).trainable
        False
    """

    AUTO = "auto"
    NONE = "none"
    ON_WRITE = "on_write"
    ON_READ = "on_read"


class _VariableMeta(type):
    def __instancecheck__(cls, instance):
        return isinstance(instance, _Variable)

    def __subclasscheck__(cls, subclass):
        return issubclass(subclass, _Variable)


class Variable(metaclass=_VariableMeta):
    """`tf.Variable`: makes a lamina `Variable` from TF's arguments.

    `isinstance(v, tf.Variable)` holds for every lamina Variable (layer weights included).

    Examples:
        >>> v = tf.Variable([1.0, 2.0], name="v")
        >>> v.assign_add(tf.constant([1.0, 1.0])).tolist()
        [2.0, 3.0]
    """

    def __new__(cls, initial_value=None, trainable=None, validate_shape=True,
                caching_device=None, name=None, variable_def=None, dtype=None,
                import_scope=None, constraint=None,
                synchronization=VariableSynchronization.AUTO,
                aggregation=VariableAggregation.NONE, shape=None,
                experimental_enable_variable_lifting=True):
        if initial_value is None:
            raise ValueError(
                "tf.Variable needs an initial_value, e.g. tf.Variable(tf.zeros([3]), "
                "name='v').")
        if callable(initial_value) and not hasattr(initial_value, "__array__"):
            initial_value = initial_value()  # TF calls a callable initial value with no arguments
        synchronization = str(synchronization).lower()
        if trainable is None:
            trainable = synchronization != VariableSynchronization.ON_READ
        # TF uses `shape` to allow a shape that changes later; JAX shapes are fixed, so only a
        # fully known shape means anything here (a check against the initial value).
        if shape is not None:
            try:
                dims = tuple(shape)
            except (TypeError, ValueError):  # an unknown rank
                dims = (None,)
            shape = None if None in dims else dims
        return _Variable(unwrap(initial_value), shape=shape, dtype=dtype,
                         trainable=bool(trainable), name=name, constraint=constraint,
                         aggregation=str(aggregation).lower(),
                         synchronization=synchronization)


def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, experimental_implements=None,
             experimental_autograph_options=None, experimental_relax_shapes=None,
             experimental_compile=None, experimental_follow_type_hints=None,
             experimental_attributes=None):
    """`tf.function`: compiles `func` with `keras.function` (always with XLA, through jax.jit).

    `input_signature` is checked for form but not needed: lamina traces once per input shape
    and dtype, as TF does without a signature. The other options only tune TF's own tracing.

    Examples:
        >>> tf.function(lambda x: x ** 3)(tf.constant(2.0))
        Array(8., dtype=float32)
    """
    if input_signature is not None:
        specs = list(input_signature)
        if not all(isinstance(spec, TensorSpec) for spec in specs):
            raise TypeError(
                "tf.function: input_signature must be a list of tf.TensorSpec. Received: "
                f"{input_signature!r}.")
    if func is None:
        return functools.partial(function, input_signature=input_signature)
    return _function(func)


def custom_gradient(f=None):
    """`tf.custom_gradient`: `f(*x)` returns `(y, grad_fn)`, and `grad_fn(dy)` returns the
    gradients for `x` (one per input, None for zero).

    It is `lamina.ops.custom_gradient` with TF's conventions: inputs and outputs become
    tensors, and `grad_fn` takes one upstream gradient per output (`grad_fn(d1, d2)` for
    `y = (y1, y2)`). Built on `jax.custom_vjp`, so it works under `jax.jit`, `jax.grad`,
    `keras.function` and `keras.value_and_grad`; the backward pass calls `f` again to get
    `grad_fn`, recomputing what `grad_fn` needs, as rematerialization does.

    Examples:
        >>> @tf.custom_gradient
        ... def clip_gradient(x):
        ...     return x, lambda dy: tf.clip_by_value(dy, -1.0, 1.0)
    """
    if f is None:
        return custom_gradient
    _reject_variables_argument(f)

    @functools.wraps(f)
    def with_tf_conventions(*args, **kwargs):
        result = f(*args, **kwargs)
        if not (isinstance(result, (tuple, list)) and len(result) == 2 and callable(result[1])):
            return result  # ops.custom_gradient explains what it must return
        output, grad_fn = result
        if isinstance(output, (tuple, list)):
            return type(output)(as_array(o) for o in output), lambda dys: grad_fn(*dys)
        return as_array(output), grad_fn

    differentiable = _ops_custom_gradient(with_tf_conventions)

    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return differentiable(*(as_array(arg) for arg in args), **kwargs)

    return wrapper


def _reject_variables_argument(f):
    try:
        parameters = inspect.signature(f).parameters
    except (TypeError, ValueError):
        return
    if "variables" in parameters:
        raise NotImplementedError(
            "tf.custom_gradient functions with a `variables` argument (gradients for Variables "
            "used inside) are not supported in lamina. Pass the Variables as positional inputs "
            "instead, and return their gradients from grad_fn.")


class GradientTape:
    """`tf.GradientTape` is not available: lamina differentiates functions, not recordings.

    Constructing one raises an error that shows how to port the code: the body of the `with`
    block becomes a function returning the loss, given to `keras.value_and_grad`.

    Examples:
        >>> with tf.GradientTape() as tape:
        ...     pass
        Traceback (most recent call last):
        NotImplementedError: tf.GradientTape is not supported in lamina: ...
        >>> w = tf.Variable(3.0)
        >>> loss, grads = lamina.value_and_grad(lambda: w ** 2, [w])()  # tape.gradient(loss, [w])
        >>> grads
        [Array(6., dtype=float32)]
    """

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(_TAPE_MESSAGE)


_TAPE_MESSAGE = """\
tf.GradientTape is not supported in lamina: JAX differentiates functions, it cannot record \
operations as they run. Move the code inside the `with tf.GradientTape() as tape:` block into a \
function that returns the loss, and differentiate it with keras.value_and_grad:

    def compute_loss():
        return loss_fn(y_batch, model(X_batch, training=True))
    loss, grads = keras.value_and_grad(compute_loss, model.trainable_variables)()

Then use `grads` as you used `tape.gradient(loss, model.trainable_variables)`, e.g. \
optimizer.apply_gradients(zip(grads, model.trainable_variables)). For auxiliary outputs, use \
keras.value_and_grad(fn, variables, has_aux=True) with fn returning (loss, aux)."""


def print(*inputs, sep=" ", end="\n", output_stream=None, summarize=None, name=None):
    """`tf.print`: prints at every call, also inside `jax.jit` and `keras.function` (through
    `jax.debug.callback`), to `output_stream` (stderr by default, as in TF).

    Python's `print` inside a compiled function runs only while tracing, and shows tracers;
    `tf.print` shows the values of every call.

    Examples:
        >>> tf.print("loss:", tf.constant(0.5), [1, 2], output_stream=sys.stdout)
        loss: 0.5 [1, 2]
    """
    # Looked up at call time, so that redirecting sys.stderr (pytest, notebooks) is honoured.
    output_stream = sys.stderr if output_stream is None else output_stream
    values = [unwrap(value) for value in inputs]
    slots = [isinstance(value, jax.Array) for value in values]
    arrays = [value for value, is_array in zip(values, slots) if is_array]

    def emit(*concrete):
        concrete = iter(concrete)
        parts = [str(np.asarray(next(concrete))) if is_array else str(value)
                 for value, is_array in zip(values, slots)]
        output_stream.write(sep.join(parts) + end)

    if any(is_traced(array) for array in arrays):
        jax.debug.callback(emit, *arrays)
    else:
        emit(*arrays)
