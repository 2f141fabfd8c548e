"""`keras.optimizers.schedules`: learning rates that change with the optimizer's step.

A schedule is called with the step (the optimizer's `iterations`: an int Variable, an array or
a Python int) and returns the learning rate as a scalar array. Every built-in is written with
array operations only (no Python `if` on the step), so it works eagerly, under `jax.jit` and
inside a compiled train step where the step is traced.

Examples:
    >>> schedule = lamina.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> float(schedule(10))
    0.05000000074505806
    >>> optimizer = lamina.optimizers.SGD(learning_rate=schedule)

    The formulas, argument names, defaults and configs are Keras 3's, so a schedule saved by one
    loads in the other.
"""

import math

import jax.numpy as jnp

from lamina import _serialization as serialization
from lamina._registry import keras_export
from lamina._runtime import config as _config
from lamina._runtime.state import unwrap
from lamina._runtime.variable import Variable

__all__ = [
    "CosineDecay", "CosineDecayRestarts", "ExponentialDecay", "InverseTimeDecay",
    "LearningRateSchedule", "PiecewiseConstantDecay", "PolynomialDecay", "deserialize",
    "serialize",
]


def _step(step):
    return jnp.asarray(unwrap(step))


def _rate(value):
    """A rate as an array: Python numbers become `floatx()`, as Keras converts them."""
    if isinstance(value, Variable):
        value = value.value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return jnp.asarray(value, dtype=_config.floatx())
    return jnp.asarray(value)


def _positive_steps(cls, name, value):
    if value <= 0:
        raise ValueError(
            f"{cls}: argument `{name}` must be > 0 (it divides the step). "
            f"Received: {name}={value}")


@keras_export("keras.optimizers.schedules.LearningRateSchedule")
class LearningRateSchedule:
    """Base class of learning rate schedules: implement `__call__(step)` and `get_config()`.

    `step` is the optimizer's iteration count (an int Variable when the optimizer calls the
    schedule); return a scalar. Use `jnp.where` rather than Python `if` on the step, so the
    schedule also works inside compiled steps.

    Examples:
        >>> class InverseStep(lamina.optimizers.schedules.LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / (step + 1)
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> float(InverseStep(0.1)(4))
        0.02
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must implement __call__(self, "
            "step), returning the learning rate for that step.")

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must implement get_config() to "
            "be saved: return its constructor arguments as a dict.")

    @classmethod
    def from_config(cls, config):
        """Creates the schedule from the dict `get_config()` returned."""
        return cls(**config)


@keras_export("keras.optimizers.schedules.ExponentialDecay")
class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    With `staircase=True` the exponent is `floor(step / decay_steps)`, so the rate drops in
    steps.

    Examples:
        >>> s = lamina.optimizers.schedules.ExponentialDecay(1.0, 2, 0.5, staircase=True)
        >>> [float(s(i)) for i in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _positive_steps("ExponentialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        initial = _rate(self.initial_learning_rate)
        dtype = initial.dtype
        p = _step(step).astype(dtype) / jnp.asarray(self.decay_steps, dtype)
        if self.staircase:
            p = jnp.floor(p)
        return initial * jnp.power(jnp.asarray(self.decay_rate, dtype), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@keras_export("keras.optimizers.schedules.PiecewiseConstantDecay")
class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[1]` while `step <= boundaries[1]`,
    ..., and `values[-1]` once `step > boundaries[-1]`.

    Examples:
        >>> s = lamina.optimizers.schedules.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
        >>> [round(float(s(i)), 2) for i in range(6)]
        [1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay needs one more value than boundaries (a value before "
                f"the first boundary and one after each). Received: boundaries={boundaries} "
                f"of length {len(boundaries)}, and values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = _step(step)
        # As Keras does, boundaries take the step's dtype and the result the first value's.
        boundaries = jnp.asarray(self.boundaries).astype(step.dtype)
        values = jnp.stack([_rate(v) for v in self.values])
        # The first boundary >= step: values[i] covers (boundaries[i-1], boundaries[i]].
        index = jnp.searchsorted(boundaries, step, side="left")
        return values[index]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@keras_export("keras.optimizers.schedules.PolynomialDecay")
class PolynomialDecay(LearningRateSchedule):
    """Decays from `initial_learning_rate` to `end_learning_rate` over `decay_steps`:
    `(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end`.

    With `cycle=True`, `decay_steps` is replaced by its first multiple that is >= `step`, so
    the rate jumps back up and decays again.

    Examples:
        >>> s = lamina.optimizers.schedules.PolynomialDecay(1.0, 4, end_learning_rate=0.0)
        >>> [float(s(i)) for i in (0, 2, 4, 8)]
        [1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _positive_steps("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        initial = _rate(self.initial_learning_rate)
        dtype = initial.dtype
        end = jnp.asarray(self.end_learning_rate, dtype)
        power = jnp.asarray(self.power, dtype)
        step = _step(step).astype(dtype)
        decay_steps = jnp.asarray(self.decay_steps, dtype)
        if self.cycle:
            multiplier = jnp.where(step == 0, 1.0, jnp.ceil(step / self.decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = jnp.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * jnp.power(1 - p, power) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


@keras_export("keras.optimizers.schedules.InverseTimeDecay")
class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`.

    With `staircase=True`, `step / decay_steps` is floored.

    Examples:
        >>> s = lamina.optimizers.schedules.InverseTimeDecay(1.0, 1, 0.5)
        >>> [float(s(i)) for i in range(3)]
        [1.0, 0.6666666865348816, 0.5]
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _positive_steps("InverseTimeDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        initial = _rate(self.initial_learning_rate)
        dtype = initial.dtype
        p = _step(step).astype(dtype) / jnp.asarray(self.decay_steps, dtype)
        if self.staircase:
            p = jnp.floor(p)
        return initial / (jnp.asarray(1, dtype) + jnp.asarray(self.decay_rate, dtype) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


@keras_export("keras.optimizers.schedules.CosineDecay")
class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter, 2016, SGDR), with an optional linear warmup.

    Without `warmup_target`: `initial_learning_rate * ((1 - alpha) * c + alpha)` where
    `c = 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps))`.

    With `warmup_target`: the rate rises linearly from `initial_learning_rate` to
    `warmup_target` over `warmup_steps`, then decays as above from `warmup_target` over the
    next `decay_steps` (Goyal et al., 2017).

    Examples:
        >>> s = lamina.optimizers.schedules.CosineDecay(0.0, 10, warmup_target=1.0,
        ...                                             warmup_steps=2)
        >>> [round(float(s(i)), 3) for i in (0, 1, 2, 7, 12)]
        [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _positive_steps("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step, decay_steps, start, dtype):
        completed = step / decay_steps
        cosine = 0.5 * (1.0 + jnp.cos(jnp.asarray(math.pi, dtype) * completed))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        initial = _rate(self.initial_learning_rate)
        dtype = initial.dtype
        decay_steps = jnp.asarray(self.decay_steps, dtype)
        step = _step(step).astype(dtype)
        if self.warmup_target is None:
            return self._decay(jnp.minimum(step, decay_steps), decay_steps, initial, dtype)
        target = jnp.asarray(self.warmup_target, dtype)
        warmup_steps = jnp.asarray(self.warmup_steps, dtype)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        # Both branches are computed and one selected: no Python branch on a traced step.
        warmup = (target - initial) * (step / warmup_steps) + initial
        decay = self._decay(step - warmup_steps, decay_steps, target, dtype)
        return jnp.where(step < warmup_steps, warmup, decay)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


@keras_export("keras.optimizers.schedules.CosineDecayRestarts")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter, 2016).

    The multiplier decays from 1 to `alpha` over `first_decay_steps`; then the schedule
    restarts, each period `t_mul` times longer than the last and starting from `m_mul` times
    the previous peak.

    Examples:
        >>> s = lamina.optimizers.schedules.CosineDecayRestarts(1.0, 2, t_mul=1.0)
        >>> [round(float(s(i)), 3) for i in range(5)]
        [1.0, 0.5, 1.0, 0.5, 1.0]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _positive_steps("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        initial = _rate(self.initial_learning_rate)
        dtype = initial.dtype
        alpha = jnp.asarray(self.alpha, dtype)
        t_mul = jnp.asarray(self._t_mul, dtype)
        m_mul = jnp.asarray(self._m_mul, dtype)
        completed = _step(step).astype(dtype) / jnp.asarray(self.first_decay_steps, dtype)
        if self._t_mul == 1.0:  # a hyperparameter, not the step: a Python branch is fine
            restart = jnp.floor(completed)
            completed = completed - restart
        else:
            # Periods grow geometrically: the restart index solves a geometric sum.
            restart = jnp.floor(jnp.log(1.0 - completed * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - jnp.power(t_mul, restart)) / (1.0 - t_mul)
            completed = (completed - done) / jnp.power(t_mul, restart)
        cosine = 0.5 * jnp.power(m_mul, restart) * (
            1.0 + jnp.cos(jnp.asarray(math.pi, dtype) * completed))
        return initial * ((1 - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = (LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
            InverseTimeDecay, CosineDecay, CosineDecayRestarts)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}


@keras_export("keras.optimizers.schedules.serialize")
def serialize(learning_rate_schedule):
    """The Keras 3 config dict of a schedule.

    Examples:
        >>> config = lamina.optimizers.schedules.serialize(
        ...     lamina.optimizers.schedules.ExponentialDecay(0.1, 100, 0.96))
        >>> config["module"], config["class_name"]
        ('keras.optimizers.schedules', 'ExponentialDecay')
    """
    return serialization.serialize_keras_object(learning_rate_schedule)


@keras_export("keras.optimizers.schedules.deserialize")
def deserialize(config, custom_objects=None):
    """Rebuilds a schedule from its config (the inverse of `serialize`).

    Examples:
        >>> s = lamina.optimizers.schedules.deserialize(
        ...     {"class_name": "InverseTimeDecay",
        ...      "config": {"initial_learning_rate": 1.0, "decay_steps": 1, "decay_rate": 1.0}})
        >>> float(s(1))
        0.5
    """
    return serialization.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT,
        printable_module_name="learning rate schedule")
