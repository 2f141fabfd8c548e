"""Gradient plumbing shared by all optimizers: input checks and clipping.

The checks run in Python before an update touches any state, so a bad call raises with the
optimizer, its slots and the weights exactly as they were. The clipping functions are pure
array code, traced into the compiled update like the update rules themselves.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lamina._runtime.variable import Variable


def is_traced(value):
    return isinstance(value, jax.core.Tracer)


def check_variables(variables, optimizer_name):
    """Raises unless `variables` is a list of distinct float Variables."""
    seen = {}
    for index, variable in enumerate(variables):
        if not isinstance(variable, Variable):
            kind = type(variable).__name__
            hint = (" It looks like an array: pass the Variables themselves (e.g. "
                    "model.trainable_variables), not their values."
                    if hasattr(variable, "shape") else "")
            raise TypeError(
                f"Optimizer '{optimizer_name}' can only update Variables, but item {index} of "
                f"the variable list is a {kind}: {variable!r}.{hint}")
        if id(variable) in seen:
            raise ValueError(
                f"Optimizer '{optimizer_name}': variable '{variable.path}' appears twice in the "
                f"variable list (items {seen[id(variable)]} and {index}). Pass each variable "
                "once, with the sum of its gradients.")
        seen[id(variable)] = index


def check_float_variables(variables, optimizer_name):
    for variable in variables:
        if not jnp.issubdtype(np.dtype(variable.dtype), jnp.inexact):
            raise TypeError(
                f"Optimizer '{optimizer_name}' cannot update variable '{variable.path}' of dtype "
                f"{variable.dtype}: optimizers update float variables. Leave it out of the "
                "list (create it with trainable=False), or give it a float dtype.")


def as_gradient(gradient, variable, optimizer_name):
    """`gradient` as an array of `variable`'s shape; None stays None."""
    if gradient is None:
        return None
    if isinstance(gradient, Variable):
        gradient = gradient.value
    if not isinstance(gradient, jax.Array):
        try:
            gradient = jnp.asarray(gradient)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"Optimizer '{optimizer_name}': the gradient for variable '{variable.path}' is "
                f"a {type(gradient).__name__}, which is not an array or a number. Received: "
                f"{gradient!r}") from error
    if not jnp.issubdtype(gradient.dtype, jnp.number):
        raise TypeError(
            f"Optimizer '{optimizer_name}': the gradient for variable '{variable.path}' has "
            f"dtype {gradient.dtype}; gradients must be numbers (float arrays).")
    if tuple(gradient.shape) != tuple(variable.shape):
        raise ValueError(
            f"Optimizer '{optimizer_name}': the gradient for variable '{variable.path}' has "
            f"shape {tuple(gradient.shape)}, but the variable has shape {variable.shape}. "
            "Gradients must match their variables one to one, in the same order (as "
            "keras.value_and_grad(fn, variables) returns them).")
    return gradient


def clip_by_norm(gradient, clipnorm):
    """Rescales `gradient` so that its L2 norm is at most `clipnorm` (Keras 3's formula)."""
    squared = jnp.sum(jnp.square(gradient), keepdims=True)
    positive = squared > 0
    # Two `where`s keep the gradient of sqrt at 0 finite (the tf.clip_by_norm trick).
    safe = jnp.where(positive, squared, jnp.ones_like(squared))
    norm = jnp.where(positive, jnp.sqrt(safe), squared)
    return gradient * clipnorm / jnp.maximum(norm, clipnorm)


def global_norm(gradients):
    """The L2 norm of all `gradients` together."""
    return jnp.sqrt(jnp.sum(jnp.stack([jnp.sum(jnp.square(g)) for g in gradients])))


def clip_by_global_norm(gradients, clipnorm):
    """Scales all `gradients` by one factor so that their global norm is at most `clipnorm`.

    A non-finite norm makes the factor NaN, so a step with an overflowed gradient shows up
    instead of silently scaling everything to zero.
    """
    norm = global_norm(gradients)
    scale = clipnorm * jnp.minimum(1.0 / norm, 1.0 / clipnorm)
    scale = scale + (norm - norm)
    return [g * scale for g in gradients]
