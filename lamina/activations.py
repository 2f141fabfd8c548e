"""`keras.activations`: element-wise activation functions, and lookup by name.

Each function takes an array (or a Variable, or a nested list) and returns a JAX array; all are
pure JAX, so they work under `jax.jit`, `jax.grad` and `keras.function`. Names, arguments and
defaults are Keras 3's. Any function `f(x)` works wherever a built-in does:

Examples:
    >>> def my_softplus(z):
    ...     return jnp.log1p(jnp.exp(z))
    >>> lamina.activations.get(my_softplus) is my_softplus
    True
"""

import jax
import jax.numpy as jnp

from lamina import _identifiers
from lamina import _serialization as serialization
from lamina._registry import keras_export

__all__ = [
    "celu", "deserialize", "elu", "exponential", "gelu", "get", "glu", "hard_shrink",
    "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu", "linear",
    "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "serialize", "sigmoid", "silu",
    "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid",
    "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink", "threshold",
]


def _array(x):
    # Lists, NumPy arrays and Variables all become JAX arrays; a Variable yields its current
    # value (the scope's value inside keras.function).
    return jnp.asarray(x)


@keras_export("keras.activations.relu")
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, with Keras 3's optional leak, ceiling and threshold.

    Returns `x` where `x > threshold`, else `negative_slope * (x - threshold)`; the result is
    then capped at `max_value` if given.

    Examples:
        >>> lamina.activations.relu([-10.0, -5.0, 0.0, 5.0, 10.0], max_value=5.0).tolist()
        [0.0, 0.0, 0.0, 5.0, 5.0]
    """
    x = _array(x)
    if negative_slope == 0 and max_value is None and threshold == 0:
        return jax.nn.relu(x)
    if negative_slope != 0 and max_value is None and threshold == 0:
        return jax.nn.leaky_relu(x, negative_slope=negative_slope)
    if threshold != 0:
        output = jnp.where(x > threshold, x, jnp.zeros_like(x))
    else:
        output = jax.nn.relu(x)
    if max_value is not None:
        output = jnp.clip(output, 0, max_value)
    if negative_slope != 0:
        # Below the threshold the slope applies to the distance from it (Keras 3's definition).
        output = output - negative_slope * jax.nn.relu(threshold - x)
    return output


@keras_export("keras.activations.leaky_relu")
def leaky_relu(x, negative_slope=0.2):
    """`x` for positive inputs, `negative_slope * x` otherwise.

    Examples:
        >>> lamina.activations.leaky_relu([-1.0, 2.0]).tolist()
        [-0.2..., 2.0]
    """
    return jax.nn.leaky_relu(_array(x), negative_slope=negative_slope)


@keras_export("keras.activations.relu6")
def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`.

    Examples:
        >>> lamina.activations.relu6([-1.0, 3.0, 9.0]).tolist()
        [0.0, 3.0, 6.0]
    """
    return jax.nn.relu6(_array(x))


@keras_export("keras.activations.softmax")
def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis`: each slice becomes a probability distribution.

    Examples:
        >>> lamina.activations.softmax([[0.0, 0.0]]).tolist()
        [[0.5, 0.5]]
    """
    return jax.nn.softmax(_array(x), axis=axis)


@keras_export("keras.activations.log_softmax")
def log_softmax(x, axis=-1):
    """`log(softmax(x))` along `axis`, computed stably.

    Examples:
        >>> float(lamina.activations.log_softmax([0.0, 0.0])[0])
        -0.693...
    """
    return jax.nn.log_softmax(_array(x), axis=axis)


@keras_export("keras.activations.elu")
def elu(x, alpha=1.0):
    """Exponential linear unit: `x` if `x > 0`, else `alpha * (exp(x) - 1)`.

    Examples:
        >>> round(float(lamina.activations.elu(-1.0)), 4)
        -0.6321
    """
    return jax.nn.elu(_array(x), alpha=alpha)


@keras_export("keras.activations.selu")
def selu(x):
    """Scaled ELU: `scale * elu(x, alpha)` with `alpha=1.67326324`, `scale=1.05070098`.

    Use with the `lecun_normal` initializer (Klambauer et al., 2017).

    Examples:
        >>> round(float(lamina.activations.selu(1.0)), 5)
        1.0507
    """
    return jax.nn.selu(_array(x))


@keras_export("keras.activations.celu")
def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `x` if `x >= 0`, else `alpha * (exp(x / alpha) - 1)`.

    Examples:
        >>> round(float(lamina.activations.celu(-1.0, alpha=2.0)), 4)
        -0.7869
    """
    return jax.nn.celu(_array(x), alpha=alpha)


@keras_export("keras.activations.softplus")
def softplus(x):
    """`log(exp(x) + 1)`, computed without overflow.

    Examples:
        >>> round(float(lamina.activations.softplus(0.0)), 4)
        0.6931
    """
    return jax.nn.softplus(_array(x))


@keras_export("keras.activations.softsign")
def softsign(x):
    """`x / (abs(x) + 1)`.

    Examples:
        >>> lamina.activations.softsign([-1.0, 3.0]).tolist()
        [-0.5, 0.75]
    """
    return jax.nn.soft_sign(_array(x))


@keras_export("keras.activations.silu", "keras.activations.swish")
def silu(x):
    """Swish / SiLU: `x * sigmoid(x)`. Also available as `swish`.

    Examples:
        >>> round(float(lamina.activations.swish(1.0)), 4)
        0.7311
    """
    return jax.nn.silu(_array(x))


swish = silu


@keras_export("keras.activations.gelu")
def gelu(x, approximate=False):
    """Gaussian error linear unit: `x * P(X <= x)` for a standard normal `X`.

    `approximate=True` uses the tanh approximation; Keras 3's default is the exact form.

    Examples:
        >>> round(float(lamina.activations.gelu(1.0)), 4)
        0.8413
    """
    return jax.nn.gelu(_array(x), approximate=approximate)


@keras_export("keras.activations.glu")
def glu(x, axis=-1):
    """Gated linear unit: splits `x` in two halves `a, b` along `axis`; returns `a * sigmoid(b)`.

    Examples:
        >>> lamina.activations.glu([2.0, 0.0]).tolist()
        [1.0]
    """
    return jax.nn.glu(_array(x), axis=axis)


@keras_export("keras.activations.tanh")
def tanh(x):
    """Hyperbolic tangent.

    Examples:
        >>> float(lamina.activations.tanh(0.0))
        0.0
    """
    return jnp.tanh(_array(x))


@keras_export("keras.activations.sigmoid")
def sigmoid(x):
    """`1 / (1 + exp(-x))`.

    Examples:
        >>> float(lamina.activations.sigmoid(0.0))
        0.5
    """
    return jax.nn.sigmoid(_array(x))


@keras_export("keras.activations.exponential")
def exponential(x):
    """`exp(x)`.

    Examples:
        >>> float(lamina.activations.exponential(0.0))
        1.0
    """
    return jnp.exp(_array(x))


@keras_export("keras.activations.hard_sigmoid")
def hard_sigmoid(x):
    """Piecewise-linear sigmoid: 0 below -3, 1 above 3, `x / 6 + 0.5` between.

    Examples:
        >>> lamina.activations.hard_sigmoid([-4.0, 0.0, 4.0]).tolist()
        [0.0, 0.5, 1.0]
    """
    return jax.nn.hard_sigmoid(_array(x))


@keras_export("keras.activations.hard_silu", "keras.activations.hard_swish")
def hard_silu(x):
    """Hard SiLU / hard swish: `x * hard_sigmoid(x)`. Also available as `hard_swish`.

    Examples:
        >>> lamina.activations.hard_silu([-4.0, 0.0, 4.0]).tolist()
        [-0.0, 0.0, 4.0]
    """
    return jax.nn.hard_silu(_array(x))


hard_swish = hard_silu


@keras_export("keras.activations.hard_tanh")
def hard_tanh(x):
    """`x` clipped to `[-1, 1]`.

    Examples:
        >>> lamina.activations.hard_tanh([-2.0, 0.5, 2.0]).tolist()
        [-1.0, 0.5, 1.0]
    """
    return jax.nn.hard_tanh(_array(x))


@keras_export("keras.activations.hard_shrink")
def hard_shrink(x, threshold=0.5):
    """`x` where `abs(x) > threshold`, else 0.

    Examples:
        >>> lamina.activations.hard_shrink([-1.0, 0.2, 1.0]).tolist()
        [-1.0, 0.0, 1.0]
    """
    x = _array(x)
    return jnp.where(jnp.abs(x) > threshold, x, jnp.zeros_like(x))


@keras_export("keras.activations.soft_shrink")
def soft_shrink(x, threshold=0.5):
    """Moves `x` toward 0 by `threshold`; values within `threshold` of 0 become 0.

    Examples:
        >>> lamina.activations.soft_shrink([-1.0, 0.2, 1.0]).tolist()
        [-0.5, 0.0, 0.5]
    """
    x = _array(x)
    zero = jnp.zeros_like(x)
    return jnp.where(x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, zero))


@keras_export("keras.activations.tanh_shrink")
def tanh_shrink(x):
    """`x - tanh(x)`.

    Examples:
        >>> float(lamina.activations.tanh_shrink(0.0))
        0.0
    """
    x = _array(x)
    return x - jnp.tanh(x)


@keras_export("keras.activations.threshold")
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`.

    Examples:
        >>> lamina.activations.threshold([0.5, 2.0], 1.0, -1.0).tolist()
        [-1.0, 2.0]
    """
    x = _array(x)
    return jnp.where(x > threshold, x, jnp.asarray(default_value, dtype=x.dtype))


@keras_export("keras.activations.log_sigmoid")
def log_sigmoid(x):
    """`log(sigmoid(x))`, computed stably.

    Examples:
        >>> round(float(lamina.activations.log_sigmoid(0.0)), 4)
        -0.6931
    """
    return jax.nn.log_sigmoid(_array(x))


@keras_export("keras.activations.sparse_sigmoid")
def sparse_sigmoid(x):
    """0 for `x <= -1`, 1 for `x >= 1`, `(x + 1) / 2` between (Blondel et al., 2019).

    Examples:
        >>> lamina.activations.sparse_sigmoid([-2.0, 0.0, 2.0]).tolist()
        [0.0, 0.5, 1.0]
    """
    return jax.nn.sparse_sigmoid(_array(x))


@keras_export("keras.activations.sparse_plus")
def sparse_plus(x):
    """0 for `x <= -1`, `x` for `x >= 1`, `(x + 1)**2 / 4` between.

    Examples:
        >>> lamina.activations.sparse_plus([-2.0, 0.0, 2.0]).tolist()
        [0.0, 0.25, 2.0]
    """
    return jax.nn.sparse_plus(_array(x))


@keras_export("keras.activations.squareplus")
def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2`, a smooth ReLU (So & Ramachandran, 2021).

    Examples:
        >>> float(lamina.activations.squareplus(0.0))
        1.0
    """
    return jax.nn.squareplus(_array(x), b=b)


@keras_export("keras.activations.mish")
def mish(x):
    """`x * tanh(softplus(x))` (Misra, 2019).

    Examples:
        >>> round(float(lamina.activations.mish(1.0)), 4)
        0.8651
    """
    x = _array(x)
    return x * jnp.tanh(jax.nn.softplus(x))


@keras_export("keras.activations.sparsemax")
def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`.

    Like softmax it returns a distribution, but small entries become exactly 0
    (Martins & Astudillo, 2016).

    Examples:
        >>> lamina.activations.sparsemax([0.0, 2.0]).tolist()
        [0.0, 1.0]
    """
    x = _array(x)
    axis = axis % x.ndim
    ordered = -jnp.sort(-x, axis=axis)  # descending
    cumulative = jnp.cumsum(ordered, axis=axis)
    ranks_shape = [1] * x.ndim
    ranks_shape[axis] = x.shape[axis]
    ranks = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(ranks_shape)
    # The support is every rank k with ordered[k] > (cumsum[k] - 1) / k; tau then shifts the
    # supported entries so that they sum to 1.
    in_support = ordered - (cumulative - 1) / ranks > 0
    support_size = jnp.sum(in_support, axis=axis, keepdims=True)
    support_total = jnp.take_along_axis(cumulative, support_size - 1, axis=axis)
    tau = (support_total - 1) / support_size.astype(x.dtype)
    return jnp.maximum(x - tau, 0)


@keras_export("keras.activations.linear")
def linear(x):
    """The identity: returns `x` unchanged (what `activation=None` means).

    Examples:
        >>> lamina.activations.linear(3.0)
        3.0
    """
    return x


_BUILTINS = {
    fn.__name__: fn
    for fn in (
        relu, leaky_relu, relu6, softmax, log_softmax, elu, selu, celu, softplus, softsign, silu,
        gelu, glu, tanh, sigmoid, exponential, hard_sigmoid, hard_silu, hard_tanh, hard_shrink,
        soft_shrink, tanh_shrink, threshold, log_sigmoid, sparse_sigmoid, sparse_plus,
        squareplus, mish, sparsemax, linear,
    )
}
ALL_OBJECTS_DICT = {**_BUILTINS, "swish": silu, "hard_swish": hard_silu}
_LOOKUP = _identifiers.Lookup(
    "activation", ALL_OBJECTS_DICT, "None, a name such as 'relu', a config dict, or a callable",
    default=linear, instantiate=False)


def serialize(activation):
    """The saved form of an activation: its name for a built-in, else a config dict.

    Examples:
        >>> lamina.activations.serialize(lamina.activations.relu)
        'relu'
        >>> def my_softplus(z):
        ...     return jnp.log1p(jnp.exp(z))
        >>> lamina.activations.serialize(my_softplus)
        {'module': 'builtins', 'class_name': 'function', 'config': 'my_softplus',
         'registered_name': 'function'}
    """
    config = serialization.serialize_keras_object(activation)
    if not isinstance(config, dict) or "config" not in config:
        raise ValueError(
            f"Cannot serialize the activation {activation!r}: expected a function, a callable "
            "object with get_config(), or a built-in activation name. Use a named function "
            f"(not a lambda), or a layer. Received config: {config!r}")
    name = config["config"]
    if (config.get("class_name") == "function" and isinstance(name, str)
            and _BUILTINS.get(name) is activation):
        return name  # built-ins are saved by bare name, as Keras 3 does
    return config


def deserialize(config, custom_objects=None):
    """Returns the activation a name or config describes (the inverse of `serialize`).

    Examples:
        >>> lamina.activations.deserialize("swish") is lamina.activations.silu
        True
    """
    return _LOOKUP.deserialize(config, custom_objects)


def get(identifier):
    """Returns an activation function from a name, a config, a callable, or None (linear).

    A class (an activation layer class, such as `keras.layers.ReLU`) gives an instance.

    Examples:
        >>> lamina.activations.get("relu") is lamina.activations.relu
        True
        >>> lamina.activations.get(None) is lamina.activations.linear
        True
    """
    return _LOOKUP.get(identifier)
