"""The arguments every optimizer's constructor shares: their names, their checks (run before
anything is made), and the config of a built-in's own arguments.

A built-in optimizer states only its own arguments and passes the rest on:

    def __init__(self, learning_rate=0.001, beta_1=0.9, *args, **kwargs):
        super().__init__(learning_rate, *args, **kwargs)

Keras's built-ins take the base arguments after their own, in `BASE_ARGUMENTS`' order, which
is also `Optimizer.__init__`'s; so `*args` passes positional base arguments on where Keras
would put them (`SGD(0.01, 0.9, True, 1e-4)` sets `weight_decay`).
"""

import functools
import inspect
import numbers
import warnings

import numpy as np

from lamina._runtime.variable import Variable
from lamina.optimizers.schedules import LearningRateSchedule

# `Optimizer.__init__`'s arguments, in its (and Keras's) positional order.
BASE_ARGUMENTS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm",
                  "use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                  "gradient_accumulation_steps", "name")


@functools.cache
def _own_arguments(cls):
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]  # after self
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in parameters
                 if p.kind in named and p.name not in BASE_ARGUMENTS)


def own_config(optimizer, cls):
    """The arguments of `cls`'s constructor that the base does not take, each read from the
    optimizer's attribute of the same name: what `cls.get_config` adds to the base's config.

    `cls` is named rather than taken from `type(optimizer)`, so that a user's subclass with
    arguments of its own (stored under other names) inherits a working `get_config`.
    """
    return {name: getattr(optimizer, name) for name in _own_arguments(cls)}


def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_nonnegative(cls, argument, value):
    if value is not None and (not is_number(value) or not value >= 0):
        raise ValueError(
            f"{cls}: `{argument}` must be a non-negative number or None. "
            f"Received: {argument}={value!r}")


def check_learning_rate(cls, learning_rate):
    """The learning rate as a float, a schedule or a callable; raises for anything else."""
    if isinstance(learning_rate, LearningRateSchedule):
        return learning_rate
    if isinstance(learning_rate, Variable):
        learning_rate = learning_rate.numpy()
    elif callable(learning_rate):
        return learning_rate
    if isinstance(learning_rate, (np.ndarray, np.generic)) or hasattr(learning_rate, "shape"):
        array = np.asarray(learning_rate)
        if array.shape == () and array.dtype.kind in "iuf":
            learning_rate = array.item()
    if not is_number(learning_rate):
        raise ValueError(
            f"{cls}: argument `learning_rate` should be a float, a "
            "keras.optimizers.schedules.LearningRateSchedule, or a callable taking no "
            "arguments and returning the rate. Received: "
            f"learning_rate={learning_rate!r} of type {type(learning_rate).__name__}")
    learning_rate = float(learning_rate)
    if not learning_rate >= 0:  # also refuses NaN
        raise ValueError(
            f"{cls}: the learning rate must be a non-negative number. Received: "
            f"learning_rate={learning_rate}. To maximize a function, minimize its negative.")
    return learning_rate


def check_base_arguments(cls, learning_rate, kwargs, *, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency,
                         loss_scale_factor, gradient_accumulation_steps):
    """Raises for a bad base argument; returns the checked learning rate.

    `kwargs` are the extra keyword arguments: Keras's ignored `decay` and Keras 2's `lr` are
    accepted with a warning, anything else is refused.
    """
    if kwargs.pop("decay", None) is not None:
        warnings.warn("Argument `decay` is no longer supported and will be ignored. Use a "
                      "keras.optimizers.schedules.InverseTimeDecay learning rate instead.",
                      stacklevel=4)
    if "lr" in kwargs:  # the Keras 2 spelling in older book code
        warnings.warn(f"{cls}: `lr` is a deprecated alias of `learning_rate`.",
                      DeprecationWarning, stacklevel=4)
        learning_rate = kwargs.pop("lr")
    if kwargs:
        raise ValueError(
            f"Argument(s) not recognized by {cls}: {kwargs}. Every optimizer accepts "
            f"{', '.join(BASE_ARGUMENTS[:-1])} and {BASE_ARGUMENTS[-1]}, besides its own "
            "arguments.")
    check_nonnegative(cls, "weight_decay", weight_decay)
    for argument, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                            ("global_clipnorm", global_clipnorm)):
        check_nonnegative(cls, argument, value)
    if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
        raise ValueError(
            "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
            f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
            f"global_clipnorm={global_clipnorm}")
    if use_ema:
        if not is_number(ema_momentum) or not 0 <= ema_momentum <= 1:
            raise ValueError(
                f"{cls}: `ema_momentum` must be in the range [0, 1]. "
                f"Received: ema_momentum={ema_momentum!r}")
        if ema_overwrite_frequency is not None and (
                not _is_int(ema_overwrite_frequency) or ema_overwrite_frequency < 1):
            raise ValueError(
                f"{cls}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                f"Received: ema_overwrite_frequency={ema_overwrite_frequency!r}")
    if loss_scale_factor is not None and (not is_number(loss_scale_factor)
                                          or not loss_scale_factor > 0):
        raise ValueError(
            f"{cls}: `loss_scale_factor` must be a positive number or None. "
            f"Received: loss_scale_factor={loss_scale_factor!r}")
    if gradient_accumulation_steps and (not _is_int(gradient_accumulation_steps)
                                        or gradient_accumulation_steps < 2):
        raise ValueError(
            "`gradient_accumulation_steps` must be an integer >= 2. "
            f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}")
    return check_learning_rate(cls, learning_rate)
