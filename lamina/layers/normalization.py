"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
UnitNormalization, RMSNormalization.

All of them compute their statistics in at least float32 (as Keras 3 does), so a
`mixed_float16` model normalizes float16 activations without overflow, and cast the result
back to the layer's compute dtype.
"""

import functools
import warnings

import jax
import jax.numpy as jnp

from lamina import constraints, initializers, regularizers
from lamina._runtime import config
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


def _statistics_dtype(dtype):
    # float16/bfloat16 statistics overflow or lose too much precision; float64 stays float64.
    return jnp.promote_types(dtype, jnp.float32)


# The numerical cores are compiled functions of arrays: an eager call is one dispatch (not one
# per operation), and inside `keras.function` or a gradient they simply inline. Variables are
# read by the layers and passed in as arrays, so nothing stateful crosses the jit boundary.
def _moments(x, mask, reduction_axes, mask_epsilon):
    if mask is None:
        return jnp.mean(x, axis=reduction_axes), jnp.var(x, axis=reduction_axes)
    weights = jnp.broadcast_to(mask[..., None], x.shape).astype(x.dtype)
    # Keras adds its epsilon to the count, so an all-masked batch gives 0 rather than NaN.
    count = jnp.sum(weights, axis=reduction_axes) + mask_epsilon
    mean = jnp.sum(x * weights, axis=reduction_axes) / count
    centered = (x - jnp.expand_dims(mean, reduction_axes)) * weights
    return mean, jnp.sum(centered * centered, axis=reduction_axes) / count


def _normalize(x, mean, variance, gamma, beta, axis, epsilon):
    shape = [1] * x.ndim
    shape[axis] = mean.shape[0]
    # `x * inv + (beta - mean * inv)`: one multiply-add over the large tensor, the rest on
    # per-feature vectors (Keras's order of operations, so results agree to rounding).
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    offset = -mean * inv
    if beta is not None:
        offset = offset + beta
    return x * inv.reshape(shape) + offset.reshape(shape)


def _cast_all(dtype, *arrays):
    return [None if a is None else a.astype(dtype) for a in arrays]


@functools.partial(jax.jit, static_argnames=("axis", "epsilon", "out_dtype"))
def _batch_norm_inference(x, gamma, beta, mean, variance, *, axis, epsilon, out_dtype):
    dtype = _statistics_dtype(x.dtype)
    x, gamma, beta, mean, variance = _cast_all(dtype, x, gamma, beta, mean, variance)
    return _normalize(x, mean, variance, gamma, beta, axis, epsilon).astype(out_dtype)


@functools.partial(jax.jit, static_argnames=(
    "axis", "reduction_axes", "epsilon", "momentum", "mask_epsilon", "out_dtype"))
def _batch_norm_training(x, mask, gamma, beta, moving_mean, moving_variance, *, axis,
                         reduction_axes, epsilon, momentum, mask_epsilon, out_dtype):
    dtype = _statistics_dtype(x.dtype)
    x, gamma, beta, moving_mean, moving_variance = _cast_all(
        dtype, x, gamma, beta, moving_mean, moving_variance)
    if mask is None:
        outputs, mean, variance = _batch_norm_unmasked(
            x, gamma, beta, axis, reduction_axes, epsilon)
    else:
        mean, variance = _moments(x, mask, reduction_axes, mask_epsilon)
        outputs = _normalize(x, mean, variance, gamma, beta, axis, epsilon)
    return (outputs.astype(out_dtype), moving_mean * momentum + mean * (1.0 - momentum),
            moving_variance * momentum + variance * (1.0 - momentum))


def _batch_norm_forward(x, gamma, beta, axis, reduction_axes, epsilon):
    mean, variance = _moments(x, None, reduction_axes, None)
    return _normalize(x, mean, variance, gamma, beta, axis, epsilon), mean, variance


# Training-mode batch norm with its derivative in closed form. Differentiated op by op, the
# statistics' chain (mean, centred squares, rsqrt, the broadcasts between them) took about as
# many passes over the activations in the backward step as the convolutions' patches (the
# profile in benchmarks/README.md, "Residual CNN"); the closed form is two reductions and one
# elementwise pass. Returns the batch statistics too (for the moving averages), with their
# tangents, so forward mode and higher derivatives stay exact. A JVP rule, transposed by JAX.
@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4, 5))
def _batch_norm_unmasked(x, gamma, beta, axis, reduction_axes, epsilon):
    return _batch_norm_forward(x, gamma, beta, axis, reduction_axes, epsilon)


@_batch_norm_unmasked.defjvp
def _batch_norm_unmasked_jvp(axis, reduction_axes, epsilon, primals, tangents):
    x, gamma, beta = primals
    dx, dgamma, dbeta = tangents
    primal_out = _batch_norm_forward(x, gamma, beta, axis, reduction_axes, epsilon)
    _, mean, variance = primal_out
    shape = [1] * x.ndim
    shape[axis] = mean.shape[0]
    rstd = jax.lax.rsqrt(variance + epsilon)
    scale = rstd if gamma is None else rstd * gamma
    # Per-feature coefficients only: the tangent is `scale * dx + slope * x + constant`, so its
    # linear part reads `x` itself, which the forward pass has anyway: no centred or normalized
    # copy is computed and kept for the backward pass (that variant measured no faster than
    # the op-by-op derivative), and the transpose is two reductions, `sum(g)` and
    # `sum(g * x)`, and one elementwise pass. `mean(x * dx) - mean * mean(dx)` loses
    # |mean| / stddev times float rounding to cancellation, not more.
    dmean = jnp.mean(dx, axis=reduction_axes)
    dcovariance = jnp.mean(x * dx, axis=reduction_axes) - mean * dmean  # mean((x - mean) dx)
    slope = -scale * rstd * rstd * dcovariance
    if gamma is not None:
        slope = slope + rstd * dgamma  # `(x - mean) * rstd * dgamma`, folded in
    constant = -scale * dmean - slope * mean
    if beta is not None:
        constant = constant + dbeta
    doutputs = dx * scale.reshape(shape) + x * slope.reshape(shape) + constant.reshape(shape)
    dvariance = 2.0 * dcovariance
    return primal_out, (doutputs, dmean, dvariance)


@functools.partial(jax.jit, static_argnames=("axes", "epsilon", "rms_scaling", "out_dtype"))
def _layer_norm(x, gamma, beta, *, axes, epsilon, rms_scaling, out_dtype):
    input_dtype = x.dtype
    x = x.astype(_statistics_dtype(input_dtype))
    broadcast_shape = [1] * x.ndim
    for axis in axes:
        broadcast_shape[axis] = x.shape[axis]
    # A weight over several axes is laid out in sorted-axis order, as Keras 3 does.
    gamma, beta = (None if w is None else w.astype(x.dtype).reshape(broadcast_shape)
                   for w in (gamma, beta))
    if rms_scaling:
        outputs = x * jax.lax.rsqrt(jnp.var(x, axis=axes, keepdims=True) + epsilon)
        if gamma is not None:
            outputs = outputs * gamma
    else:
        outputs = _centered_layer_norm(x, gamma, beta, axes, epsilon)
    return outputs.astype(input_dtype).astype(out_dtype)


def _layer_norm_forward(x, gamma, beta, axes, epsilon):
    """`x * inv + (beta - mean * inv)` with `inv = gamma / sqrt(variance + epsilon)` (Keras's
    order of operations); also returns the mean and `1 / sqrt(variance + epsilon)`."""
    mean = jnp.mean(x, axis=axes, keepdims=True)
    rstd = jax.lax.rsqrt(jnp.var(x, axis=axes, keepdims=True) + epsilon)
    inv = rstd if gamma is None else rstd * gamma
    offset = -mean * inv
    if beta is not None:
        offset = offset + beta
    return x * inv + offset, mean, rstd


# The derivative is given in closed form: differentiated op by op, the statistics' chain (mean,
# variance, rsqrt, the broadcasts between them) made about ten passes over the activations
# in the backward step, several of them broadcasts that XLA's CPU backend writes out in full;
# the closed form is two reductions and one elementwise pass. A JVP rule (not a VJP) keeps
# forward-mode differentiation working; JAX transposes it for the gradient.
@functools.partial(jax.custom_jvp, nondiff_argnums=(3, 4))
def _centered_layer_norm(x, gamma, beta, axes, epsilon):
    return _layer_norm_forward(x, gamma, beta, axes, epsilon)[0]


@_centered_layer_norm.defjvp
def _centered_layer_norm_jvp(axes, epsilon, primals, tangents):
    x, gamma, beta = primals
    dx, dgamma, dbeta = tangents
    outputs, mean, rstd = _layer_norm_forward(x, gamma, beta, axes, epsilon)
    normalized = (x - mean) * rstd
    # d(normalized) = rstd * (dx - mean(dx) - normalized * mean(dx * normalized))
    dnormalized = rstd * (dx - jnp.mean(dx, axis=axes, keepdims=True) - normalized * jnp.mean(
        dx * normalized, axis=axes, keepdims=True))
    doutputs = dnormalized if gamma is None else dnormalized * gamma + normalized * dgamma
    if beta is not None:
        doutputs = doutputs + dbeta
    return outputs, doutputs


@functools.partial(jax.jit, static_argnames=("groups", "axis", "epsilon", "out_dtype"))
def _group_norm(x, gamma, beta, *, groups, axis, epsilon, out_dtype):
    input_dtype = x.dtype
    x = x.astype(_statistics_dtype(input_dtype))
    rank = x.ndim
    axis = axis % rank
    # (..., C, ...) -> (..., groups, C // groups, ...): a group's statistics reduce over every
    # axis except the batch and the new group axis.
    split = [groups, x.shape[axis] // groups]
    grouped_shape = list(x.shape)
    grouped_shape[axis:axis + 1] = split
    grouped = x.reshape(grouped_shape)
    axes = tuple(i for i in range(1, rank + 1) if i != axis)
    mean = jnp.mean(grouped, axis=axes, keepdims=True)
    variance = jnp.var(grouped, axis=axes, keepdims=True)
    weight_shape = [1] * (rank + 1)
    weight_shape[axis:axis + 2] = split
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma.astype(x.dtype).reshape(weight_shape)
    offset = -mean * inv
    if beta is not None:
        offset = offset + beta.astype(x.dtype).reshape(weight_shape)
    outputs = (grouped * inv + offset).astype(input_dtype).reshape(x.shape)
    return outputs.astype(out_dtype)


@functools.partial(jax.jit, static_argnames=("axis",))
def _unit_norm(x, *, axis):
    squared_norm = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    # rsqrt(0) is inf; Keras's cap (1 / 1e-12) turns an all-zero sample into zeros, not NaN.
    return x * jnp.minimum(jax.lax.rsqrt(squared_norm), 1e12)


@functools.partial(jax.jit, static_argnames=("axes", "epsilon"))
def _rms_norm(x, scale, *, axes, epsilon):
    # As Keras's ops.rms_normalization: statistics in at least float32, the input's dtype out.
    compute = jnp.promote_types(x.dtype, jnp.float32)
    y = x.astype(compute)
    y = y * jax.lax.rsqrt(jnp.mean(jnp.square(y), axis=axes, keepdims=True) + epsilon)
    return (y * scale.astype(compute)).astype(x.dtype)


def _check_axes_in_range(layer, axes, input_shape):
    rank = len(input_shape)
    for axis in axes:
        if not -rank <= axis < rank:
            raise ValueError(
                f"{type(layer).__name__} '{layer.name}': axis {axis} is out of bounds for an "
                f"input of shape {tuple(input_shape)} (rank {rank}). Received: "
                f"axis={layer.axis}. Pass an axis between {-rank} and {rank - 1}.")


def _check_known_size(layer, axis, input_shape):
    if input_shape[axis] is None:
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' needs a known size on axis {axis} to create "
            f"its weights, but the input shape is {tuple(input_shape)}. Give that axis a fixed "
            "size (e.g. keras.Input(shape=(..., channels))).")


class BatchNormalization(Layer):
    """Normalizes each feature with the statistics of the batch (training) or of the data seen
    so far (inference).

    In training (`training=True` and the layer trainable) the output is
    `gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta` with the mean and variance of the
    current batch over every axis but `axis`, and the moving statistics are updated:
    `moving = moving * momentum + batch_statistic * (1 - momentum)`. Otherwise the moving
    statistics replace the batch ones and nothing is updated. As in Keras 3, a layer with
    `trainable=False` always runs in inference mode (the usual choice for fine-tuning).

    Weights, in order: `gamma` (if `scale`), `beta` (if `center`), both trainable; then
    `moving_mean` and `moving_variance`, non-trainable (and, with `renorm=True`,
    `moving_stddev`, `renorm_mean`, `renorm_stddev`).

    Args:
        axis: the feature axis (normalized independently); -1 for channels-last data.
        momentum: the weight of the old value in the moving averages.
        epsilon: added to the variance before the square root.
        center, scale: whether to learn an offset `beta` / a factor `gamma`.
        beta_*, gamma_*, moving_mean_initializer, moving_variance_initializer: the
            initializers, regularizers and constraints of the weights, as in `Dense`.
        renorm: use Batch Renormalization (Ioffe, 2017), correcting batch statistics towards
            the moving ones by `r`, `d` factors in training.
        renorm_clipping: `{"rmax", "rmin", "dmax"}` bounds for those factors.
        renorm_momentum: momentum of the statistics the correction uses.
        synchronized: accepted for Keras compatibility; in lamina statistics are always over
            the global batch, because a batch sharded across devices is still one array in JAX.

    Call arguments: `inputs`, `training`, and an optional boolean `mask` of shape
    `inputs.shape[:-1]` whose False positions are left out of the batch statistics.

    Examples:
        >>> bn = BatchNormalization()
        >>> y = bn(jnp.array([[0.0], [2.0]]), training=True)
        >>> [round(v, 4) for v in y[:, 0].tolist()], round(float(bn.moving_mean[0]), 6)
        ([-0.9995, 0.9995], 0.01)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                f"BatchNormalization '{self.name}': axis must be a single int (the feature "
                f"axis). Received: axis={axis!r}. To normalize over several feature axes, "
                "reshape them into one first, or use LayerNormalization.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        if self.epsilon <= 0:
            raise ValueError(
                f"BatchNormalization '{self.name}': epsilon must be positive (it keeps the "
                f"division finite). Received: epsilon={epsilon!r}")
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = synchronized
        self.renorm = renorm
        if renorm:
            renorm_clipping = dict(renorm_clipping or {})
            unknown = set(renorm_clipping) - {"rmax", "rmin", "dmax"}
            if unknown:
                raise ValueError(
                    f"BatchNormalization '{self.name}': renorm_clipping accepts the keys "
                    f"'rmax', 'rmin' and 'dmax'. Received: renorm_clipping={renorm_clipping}")
            rmax, rmin = renorm_clipping.get("rmax"), renorm_clipping.get("rmin")
            dmax = renorm_clipping.get("dmax")
            if rmax is not None and rmin is not None and rmax < rmin:
                raise ValueError(
                    f"BatchNormalization '{self.name}': renorm_clipping needs rmax >= rmin. "
                    f"Received: rmax={rmax}, rmin={rmin}")
            if dmax is not None and dmax < 0:
                raise ValueError(
                    f"BatchNormalization '{self.name}': renorm_clipping needs dmax >= 0. "
                    f"Received: dmax={dmax}")
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.supports_masking = True
        self.gamma = None
        self.beta = None
        self.moving_mean = None
        self.moving_variance = None
        self._reduction_axes = None

    def build(self, input_shape):
        _check_axes_in_range(self, [self.axis], input_shape)
        _check_known_size(self, self.axis, input_shape)
        shape = (input_shape[self.axis],)
        # Statistics and affine weights stay in the variable dtype (autocast=False), so mixed
        # precision never rounds them to float16.
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                trainable=True, autocast=False)
        if self.center:
            self.beta = self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                trainable=True, autocast=False)
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
            trainable=False, autocast=False)
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance", initializer=self.moving_variance_initializer,
            trainable=False, autocast=False)
        if self.renorm:
            variance_initializer = self.moving_variance_initializer

            def stddev_initializer(shape, dtype=None):
                return jnp.sqrt(jnp.asarray(variance_initializer(shape, dtype=dtype)))

            self.moving_stddev = self.add_weight(
                shape=shape, name="moving_stddev", initializer=stddev_initializer,
                trainable=False, autocast=False)
            self.renorm_mean = self.add_weight(
                shape=shape, name="renorm_mean", initializer=self.moving_mean_initializer,
                trainable=False, autocast=False)
            self.renorm_stddev = self.add_weight(
                shape=shape, name="renorm_stddev", initializer=stddev_initializer,
                trainable=False, autocast=False)
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: shape[0]})
        axis = self.axis % len(input_shape)
        self._reduction_axes = tuple(i for i in range(len(input_shape)) if i != axis)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        weights = (None if self.gamma is None else self.gamma.value,
                   None if self.beta is None else self.beta.value)
        statistics = (self.moving_mean.value, self.moving_variance.value)
        # Keras 3: a frozen BatchNormalization normalizes with its moving statistics.
        if not (training and self.trainable):
            return _batch_norm_inference(inputs, *weights, *statistics, axis=self.axis,
                                         epsilon=self.epsilon, out_dtype=self.compute_dtype)
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim != inputs.ndim - 1:
                raise ValueError(
                    f"BatchNormalization '{self.name}': the mask must have one axis less than "
                    f"the inputs (no feature axis). Received: mask.shape={mask.shape}, "
                    f"inputs.shape={inputs.shape}")
        if self.renorm:
            x = inputs.astype(_statistics_dtype(inputs.dtype))
            mean, variance = _moments(x, mask, self._reduction_axes, config.epsilon())
            gamma, beta = self._renormalize(mean, variance, *(
                None if w is None else w.astype(x.dtype) for w in weights))
            return _batch_norm_inference(x, gamma, beta, mean, variance, axis=self.axis,
                                         epsilon=self.epsilon, out_dtype=self.compute_dtype)
        outputs, moving_mean, moving_variance = _batch_norm_training(
            inputs, mask, *weights, *statistics, axis=self.axis,
            reduction_axes=self._reduction_axes, epsilon=self.epsilon,
            momentum=self.momentum, mask_epsilon=config.epsilon(),
            out_dtype=self.compute_dtype)
        self.moving_mean.assign(moving_mean)
        self.moving_variance.assign(moving_variance)
        return outputs

    def _renormalize(self, mean, variance, gamma, beta):
        """Batch Renormalization: returns the corrected (gamma, beta) and updates statistics."""
        dtype = mean.dtype
        stddev = jnp.sqrt(variance + self.epsilon)
        renorm_mean = self.renorm_mean.value.astype(dtype)
        renorm_stddev = self.renorm_stddev.value.astype(dtype)
        safe_stddev = jnp.maximum(renorm_stddev, jnp.sqrt(jnp.asarray(self.epsilon, dtype)))
        r = stddev / safe_stddev
        d = (mean - renorm_mean) / safe_stddev
        clipping = self.renorm_clipping
        if clipping.get("rmin") is not None:
            r = jnp.maximum(r, clipping["rmin"])
        if clipping.get("rmax") is not None:
            r = jnp.minimum(r, clipping["rmax"])
        if clipping.get("dmax") is not None:
            d = jnp.clip(d, -clipping["dmax"], clipping["dmax"])
        # The correction is treated as a constant, as in the paper.
        r, d = jax.lax.stop_gradient(r), jax.lax.stop_gradient(d)
        if gamma is not None:
            new_gamma, new_beta = r * gamma, d * gamma
        else:
            new_gamma, new_beta = r, d
        if beta is not None:
            new_beta = new_beta + beta

        m = self.renorm_momentum
        self.renorm_mean.assign(renorm_mean * m + mean * (1.0 - m))
        self.renorm_stddev.assign(renorm_stddev * m + stddev * (1.0 - m))
        momentum = self.momentum
        self.moving_mean.assign(
            self.moving_mean.value.astype(dtype) * momentum + mean * (1.0 - momentum))
        moving_stddev = (self.moving_stddev.value.astype(dtype) * momentum
                         + stddev * (1.0 - momentum))
        self.moving_stddev.assign(moving_stddev)
        self.moving_variance.assign(jax.nn.relu(moving_stddev * moving_stddev - self.epsilon))
        return new_gamma, new_beta

    def compute_output_shape(self, input_shape):
        _check_axes_in_range(self, [self.axis], input_shape)
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(
                self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        }


def _axis_argument(layer, axis):
    if isinstance(axis, (list, tuple)) and all(
            isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return list(axis)
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    raise TypeError(
        f"{type(layer).__name__} '{layer.name}': axis must be an int or a list/tuple of ints. "
        f"Received: axis={axis!r}")


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (by default its features), independently of the
    batch: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    Behaves the same in training and inference. Weights: `gamma` (if `scale`) and `beta` (if
    `center`), shaped like the normalized axes. After `build`, `axis` is stored as a sorted
    list, as in Keras 3.

    Args:
        axis: an int or a list of ints: the axes normalized together.
        epsilon: added to the variance before the square root.
        center, scale: whether to learn `beta` / `gamma`.
        rms_scaling: Keras 3's deprecated option: `x / sqrt(var + epsilon) * gamma`, without
            centering (kept for loading old configs; prefer an RMS normalization layer).

    Examples:
        >>> y = LayerNormalization()(jnp.array([[1.0, 3.0]]))
        >>> [round(v, 4) for v in y[0].tolist()]
        [-0.9995, 0.9995]
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(self, axis)
        if rms_scaling:
            warnings.warn(
                f"LayerNormalization '{self.name}': rms_scaling=True is deprecated in Keras 3; "
                "it scales by the variance (not the root mean square) and does not center. "
                "It is kept only so that old models load with the same numbers.",
                stacklevel=2)
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        # Inputs are not cast: the statistics are computed in at least float32 regardless.
        self.autocast = False
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        _check_axes_in_range(self, axes, input_shape)
        for axis in axes:
            _check_known_size(self, axis, input_shape)
        self.axis = axes
        shape = tuple(input_shape[axis] for axis in axes)
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                name="gamma", shape=shape, initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                trainable=True, autocast=False)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                name="beta", shape=shape, initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                trainable=True, autocast=False)
        self.built = True

    def call(self, inputs):
        return _layer_norm(
            inputs, None if self.gamma is None else self.gamma.value,
            None if self.beta is None else self.beta.value, axes=tuple(self.axis),
            epsilon=self.epsilon, rms_scaling=self.rms_scaling, out_dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        _check_axes_in_range(self, axes, input_shape)
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class GroupNormalization(Layer):
    """Splits the channels on `axis` into `groups` groups and normalizes each group of each
    sample over the group's channels and all other non-batch axes (Wu & He, 2018).

    `groups=1` is LayerNormalization over all non-batch axes; `groups=-1` (one channel per
    group) is instance normalization. Weights: `gamma` and `beta`, one value per channel.

    Args:
        groups: the number of groups; it must divide the number of channels.
        axis: the channel axis.
        epsilon, center, scale, and the initializers, regularizers and constraints: as in
            LayerNormalization.

    Examples:
        >>> GroupNormalization(groups=2)(jnp.ones((1, 5, 4))).shape
        (1, 5, 4)
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or (
                groups <= 0 and groups != -1):
            raise ValueError(
                f"GroupNormalization '{self.name}': groups must be a positive integer, or -1 "
                f"for instance normalization. Received: groups={groups!r}")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(
                f"GroupNormalization '{self.name}': axis must be a single int (the channel "
                f"axis). Received: axis={axis!r}")
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.autocast = False
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        _check_axes_in_range(self, [self.axis], input_shape)
        _check_known_size(self, self.axis, input_shape)
        channels = input_shape[self.axis]
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ValueError(
                f"GroupNormalization '{self.name}': the {channels} channels on axis "
                f"{self.axis} cannot be split into groups={self.groups} equal groups. Choose a "
                f"number of groups that divides {channels}.")
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: channels})
        if self.scale:
            self.gamma = self.add_weight(
                shape=(channels,), name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                autocast=False)
        if self.center:
            self.beta = self.add_weight(
                shape=(channels,), name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint,
                autocast=False)
        self.built = True

    def call(self, inputs):
        return _group_norm(
            inputs, None if self.gamma is None else self.gamma.value,
            None if self.beta is None else self.beta.value, groups=self.groups, axis=self.axis,
            epsilon=self.epsilon, out_dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        _check_axes_in_range(self, [self.axis], input_shape)
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over `axis`: `x / max(||x||, 1e-12)`.

    Args:
        axis: an int or a list of ints: the axes whose joint norm becomes 1.

    Examples:
        >>> UnitNormalization()(jnp.array([[3.0, 4.0]])).tolist()
        [[0.6..., 0.8...]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(self, axis)
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        return _unit_norm(inputs if inputs.ndim else inputs[None], axis=axis)

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        _check_axes_in_range(self, axes, input_shape)
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019): each sample divided by its
    root mean square over `axis`, times a learned `scale`:
    `x * rsqrt(mean(square(x)) + epsilon) * scale`.

    Unlike `LayerNormalization`, nothing is centred and there is no offset: cheaper, and the
    normalization used by most recent transformers. The statistics are computed in at least
    float32; the output has the input's (compute) dtype. The weight `scale` has the shape of the
    normalized axes; after `build`, `axis` is stored as a sorted list, as in Keras 3.

    Args:
        axis: an int or a list of ints: the axes normalized together.
        epsilon: added to the mean square before the square root.

    Examples:
        >>> y = RMSNormalization(epsilon=0.0)(jnp.array([[3.0, -4.0]]))
        >>> [round(v, 4) for v in y[0].tolist()]
        [0.8485, -1.1314]
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_argument(self, axis)
        self.epsilon = epsilon
        self.scale = None

    def build(self, input_shape):
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        _check_axes_in_range(self, axes, input_shape)
        for axis in axes:
            _check_known_size(self, axis, input_shape)
        self.axis = axes
        self.scale = self.add_weight(name="scale", shape=tuple(input_shape[a] for a in axes),
                                     initializer="ones")
        self.built = True

    def call(self, inputs):
        return _rms_norm(inputs, self.scale.value, axes=tuple(self.axis), epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        _check_axes_in_range(self, axes, input_shape)
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
