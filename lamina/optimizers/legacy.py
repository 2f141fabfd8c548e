"""`keras.optimizers.legacy`: the TF-Keras 2 optimizer names, kept so that old imports resolve.

Keras 3 has no legacy optimizers: it keeps these six names only so that code importing them
still imports, and creating one raises `ImportError`. lamina does the same, and the message
names the Keras 3 optimizer to use instead (`keras.optimizers.legacy.Adam` ->
`keras.optimizers.Adam`, which takes the same common arguments: `learning_rate`, `clipnorm`,
...; TF-Keras 2's `decay` becomes a learning-rate schedule).

Examples:
    >>> from lamina.optimizers import legacy
    >>> legacy.Adam(learning_rate=1e-3)
    Traceback (most recent call last):
    ImportError: keras.optimizers.legacy.Adam is TF-Keras 2's optimizer, ...
"""

__all__ = ["SGD", "Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop"]


class _LegacyOptimizer:
    """A TF-Keras 2 optimizer name: creating it raises `ImportError` saying what to use."""

    _name = "Optimizer"

    def __init__(self, *args, **kwargs):
        name = type(self)._name
        replacement = (
            "subclass keras.optimizers.Optimizer (implement build(var_list) and "
            "update_step(gradient, variable, learning_rate))" if name == "Optimizer" else
            f"use keras.optimizers.{name}(...), which takes the same learning_rate and "
            "clipping arguments (replace TF-Keras 2's `decay` with a "
            "keras.optimizers.schedules learning-rate schedule)")
        raise ImportError(
            f"keras.optimizers.legacy.{name} is TF-Keras 2's optimizer, which Keras 3 and "
            f"lamina do not have; the name exists only so that old imports resolve. To fix "
            f"this, {replacement}.")


def _legacy(name):
    cls = type(name, (_LegacyOptimizer,), {
        "_name": name, "__module__": __name__,
        "__doc__": (f"TF-Keras 2's `{name}` optimizer: not available; creating one raises "
                    "`ImportError` naming its Keras 3 replacement.\n\n"
                    "Examples:\n"
                    f"    >>> lamina.optimizers.legacy.{name}()\n"
                    "    Traceback (most recent call last):\n"
                    f"    ImportError: keras.optimizers.legacy.{name} is TF-Keras 2's ...\n")})
    cls.__qualname__ = name
    return cls


SGD = _legacy("SGD")
Adagrad = _legacy("Adagrad")
Adam = _legacy("Adam")
Ftrl = _legacy("Ftrl")
Optimizer = _legacy("Optimizer")
RMSprop = _legacy("RMSprop")
