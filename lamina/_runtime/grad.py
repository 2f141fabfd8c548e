"""Gradients of stateful functions with respect to Variables (the role of `tf.GradientTape`).

`value_and_grad(fn, variables)` binds `variables` to the differentiated inputs of
`jax.value_and_grad` through a transparent `StateScope`: `fn` reads them like any Variable, reads
every other Variable from the enclosing context, and whatever it assigns (batch-norm statistics,
metric totals, random seeds) is returned beside the loss and written back afterwards. Because
the scope is transparent, the same code works eagerly, inside `keras.function`, and inside
another `value_and_grad` (higher-order gradients).
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime.scope import StateScope
from lamina._runtime.state import commit, unwrap
from lamina._runtime.variable import Variable


def _check_variables(variables, api):
    single = isinstance(variables, Variable)
    variables = [variables] if single else variables
    try:
        variables = list(variables)
    except TypeError:
        raise TypeError(
            f"{api} expects a Variable or a list of Variables to differentiate with respect "
            f"to. Received: {variables!r} of type {type(variables).__name__}.") from None
    for index, variable in enumerate(variables):
        if not isinstance(variable, Variable):
            raise TypeError(
                f"{api} can only differentiate with respect to Variables, but item {index} of "
                f"`variables` is a {type(variable).__name__}. Wrap the value in "
                "keras.Variable, or use jax.grad for gradients with respect to plain arrays.")
        if not jnp.issubdtype(np.dtype(variable.dtype), jnp.inexact):
            raise TypeError(
                f"{api} cannot differentiate with respect to variable '{variable.path}' of "
                f"dtype {variable.dtype}: gradients need a float or complex variable. Create "
                "it with a float dtype, or leave it out of `variables`.")
    return variables, single


def _scalar_loss(loss, api):
    if isinstance(loss, Variable):
        loss = loss.value
    try:
        shape = jnp.shape(loss)
    except TypeError:
        raise TypeError(
            f"{api}: the function must return a scalar loss, but returned a "
            f"{type(loss).__name__}. With has_aux=True it must return (loss, aux).") from None
    if shape != ():
        raise ValueError(
            f"{api}: the function must return a scalar to differentiate, but returned shape "
            f"{shape}. Reduce it first (ops.mean or ops.sum), or use jax.jacobian for "
            "non-scalar outputs.")
    loss = jnp.asarray(loss)
    if not jnp.issubdtype(loss.dtype, jnp.inexact):
        raise TypeError(
            f"{api}: the function returned a scalar of dtype {loss.dtype}; gradients need a "
            "float. Cast the loss with ops.cast(loss, 'float32').")
    return loss


def value_and_grad(fn, variables, has_aux=False):
    """Returns a callable giving `fn`'s value and its gradients with respect to `variables`.

    `fn` is called with the arguments given to the returned callable; it may use any Variables.
    The gradients come back in the order of `variables` (a single array if `variables` is one
    Variable). Variables that `fn` assigns keep the assigned values afterwards.

    Args:
        fn: a function returning a scalar loss, or `(loss, aux)` when `has_aux` is True.
        variables: a Variable or a list of Variables to differentiate with respect to.
        has_aux: whether `fn` returns `(loss, aux)`; then the callable returns
            `((loss, aux), grads)`.

    Examples:
        >>> w1, w2 = lamina.Variable(5.0), lamina.Variable(3.0)
        >>> f = lambda: 3 * w1 ** 2 + 2 * w1 * w2
        >>> value, grads = lamina.value_and_grad(f, [w1, w2])()
        >>> float(value), [float(g) for g in grads]
        (105.0, [36.0, 10.0])
    """
    api = "keras.value_and_grad"
    variables, single = _check_variables(variables, api)

    def compute(*args, **kwargs):
        assigned_variables = []

        def pure(values):
            with StateScope(zip(variables, values)) as scope:
                output = fn(*args, **kwargs)
            if has_aux:
                if not (isinstance(output, (tuple, list)) and len(output) == 2):
                    raise ValueError(
                        f"{api}(has_aux=True): the function must return a pair (loss, aux). "
                        f"Received a {type(output).__name__}.")
                loss, aux = output
            else:
                loss, aux = output, None
            loss = _scalar_loss(loss, api)
            aux = unwrap(aux)
            assigned = scope.assigned()
            assigned_variables[:] = [variable for variable, _ in assigned]
            return loss, (aux, [value for _, value in assigned])

        values = [variable.value for variable in variables]
        (loss, (aux, new_values)), grads = jax.value_and_grad(pure, has_aux=True)(values)
        commit(zip(assigned_variables, new_values))
        grads = grads[0] if single else grads
        return ((loss, aux), grads) if has_aux else (loss, grads)

    compute.__name__ = f"value_and_grad_{getattr(fn, '__name__', 'fn')}"
    return compute


def grad(fn, variables, has_aux=False):
    """Like `value_and_grad`, but returns only the gradients (and `aux` when `has_aux`).

    Examples:
        >>> w = lamina.Variable(3.0)
        >>> float(lamina.grad(lambda: w ** 3, [w])()[0])
        27.0
    """
    value_and_grads = value_and_grad(fn, variables, has_aux=has_aux)

    def compute(*args, **kwargs):
        if has_aux:
            (_, aux), grads = value_and_grads(*args, **kwargs)
            return grads, aux
        return value_and_grads(*args, **kwargs)[1]

    compute.__name__ = f"grad_{getattr(fn, '__name__', 'fn')}"
    return compute
