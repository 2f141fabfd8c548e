"""BatchNormalization, LayerNormalization, GroupNormalization, UnitNormalization: NumPy
references, training vs inference, moving statistics (eager, compiled, under gradients), errors,
configs, and Keras 3 side by side when it is installed."""

import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    RMSNormalization,
    UnitNormalization,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 3, 2)).astype("float32") * 2 + 1


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def random_weights(layer, positive_last=0):
    """Random values for `layer.weights`; the last `positive_last` are made positive."""
    weights = [RNG.normal(size=v.shape).astype(v.dtype) for v in layer.weights]
    for i in range(len(weights) - positive_last, len(weights)):
        weights[i] = np.abs(weights[i]) + 0.5
    layer.set_weights(weights)
    return weights


def assert_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def compare_with_keras(keras3, ours, theirs, x, training_modes=(False, True), **call_kwargs):
    """Same weights and inputs in lamina and Keras 3: equal outputs (and weights after each
    call, so moving statistics are checked too) and equal configs apart from the name."""
    ours(x, **call_kwargs)
    theirs(x, **call_kwargs)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert [v.path.split("/")[-1] for v in ours.weights] == \
        [v.path.split("/")[-1] for v in theirs.weights]
    assert [v.trainable for v in ours.weights] == [v.trainable for v in theirs.weights]
    theirs.set_weights(ours.get_weights())
    for training in training_modes:
        expected = np.asarray(theirs(x, training=training, **call_kwargs))
        np.testing.assert_allclose(ours(x, training=training, **call_kwargs), expected,
                                   rtol=1e-5, atol=1e-5, err_msg=f"training={training}")
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ours_config = {k: v for k, v in ours.get_config().items() if k != "name"}
    theirs_config = {k: v for k, v in theirs.get_config().items() if k != "name"}
    assert ours_config == theirs_config


def numpy_batch_norm(x, mean, var, gamma, beta, eps, axis=-1):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.reshape(v, shape)
    return (x - r(mean)) / np.sqrt(r(var) + eps) * r(gamma) + r(beta)


# ------------------------------------------------------------------------ BatchNormalization
def test_batch_norm_weights_in_keras_order():
    bn = BatchNormalization(name="bn")
    bn(X)
    assert [v.path for v in bn.weights] == [
        "bn/gamma", "bn/beta", "bn/moving_mean", "bn/moving_variance"]
    assert [v.trainable for v in bn.weights] == [True, True, False, False]
    assert all(v.shape == (2,) for v in bn.weights)
    assert bn.trainable_weights == bn.weights[:2]
    assert bn.non_trainable_weights == bn.weights[2:]


def test_batch_norm_without_center_and_scale_has_only_statistics():
    bn = BatchNormalization(center=False, scale=False)
    bn(X)
    assert [v.name for v in bn.weights] == ["moving_mean", "moving_variance"]


def test_batch_norm_inference_uses_moving_statistics():
    bn = BatchNormalization(epsilon=0.01)
    bn(X)
    gamma, beta, mean, var = random_weights(bn, positive_last=1)
    expected = numpy_batch_norm(X, mean, var, gamma, beta, 0.01)
    np.testing.assert_allclose(bn(X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn(X, training=False), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mean)  # nothing updated


def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones():
    bn = BatchNormalization(momentum=0.9)
    bn(X)
    gamma, beta, mean, var = random_weights(bn, positive_last=1)
    y = bn(X, training=True)
    batch_mean, batch_var = X.mean(axis=(0, 1)), X.var(axis=(0, 1))
    np.testing.assert_allclose(
        y, numpy_batch_norm(X, batch_mean, batch_var, gamma, beta, 1e-3), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean * 0.9 + batch_mean * 0.1,
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bn.moving_variance.numpy(), var * 0.9 + batch_var * 0.1,
                               rtol=1e-6, atol=1e-7)


def test_batch_norm_hand_computed_single_feature():
    bn = BatchNormalization(momentum=0.5, epsilon=0.0 + 1e-8)
    y = bn(jnp.array([[1.0], [3.0]]), training=True)
    np.testing.assert_allclose(y[:, 0], [-1.0, 1.0], atol=1e-6)
    assert float(bn.moving_mean[0]) == pytest.approx(1.0)  # 0 * 0.5 + 2 * 0.5
    assert float(bn.moving_variance[0]) == pytest.approx(1.0)  # 1 * 0.5 + 1 * 0.5


def test_frozen_batch_norm_runs_in_inference_mode():
    bn = BatchNormalization()
    bn(X)
    _, _, mean, var = random_weights(bn, positive_last=1)
    bn.trainable = False
    y = bn(X, training=True)
    np.testing.assert_allclose(y, bn(X, training=False), rtol=1e-6)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), mean)
    np.testing.assert_array_equal(bn.moving_variance.numpy(), var)


def test_batch_norm_compiled_training_updates_statistics_like_eager():
    eager, compiled = BatchNormalization(momentum=0.8), BatchNormalization(momentum=0.8)
    eager(X)
    compiled(X)
    compiled.set_weights(random_weights(eager, positive_last=1))
    step = keras.function(lambda x: compiled(x, training=True))
    for _ in range(2):  # the second call checks the carried state, not just the first trace
        expected = eager(X, training=True)
        np.testing.assert_allclose(step(jnp.asarray(X)), expected, rtol=1e-6, atol=1e-6)
        for a, b in zip(compiled.get_weights(), eager.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    assert not np.allclose(eager.moving_mean.numpy(), 0)


def test_batch_norm_statistics_update_inside_value_and_grad():
    bn = BatchNormalization(momentum=0.5)
    bn(X)
    random_weights(bn, positive_last=1)
    mean_before = bn.moving_mean.numpy()

    def loss():
        return jnp.sum(bn(X, training=True) ** 2 * jnp.arange(2.0))

    value, grads = keras.value_and_grad(loss, bn.trainable_variables)()
    np.testing.assert_allclose(bn.moving_mean.numpy(),
                               mean_before * 0.5 + X.mean(axis=(0, 1)) * 0.5, rtol=1e-6, atol=1e-7)

    gamma, beta = (v.numpy() for v in bn.trainable_variables)

    def reference(gamma, beta):
        m, v = X.mean(axis=(0, 1)), X.var(axis=(0, 1))
        y = (X - m) / jnp.sqrt(v + 1e-3) * gamma + beta
        return jnp.sum(y ** 2 * jnp.arange(2.0))

    expected_value, expected_grads = jax.jit(jax.value_and_grad(reference, argnums=(0, 1)))(
        gamma, beta)
    assert float(value) == pytest.approx(float(expected_value), rel=1e-5)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)

    # Compiled around the gradient computation too: statistics still flow out.
    compiled = keras.function(keras.value_and_grad(loss, bn.trainable_variables))
    before = bn.moving_mean.numpy()
    compiled()
    np.testing.assert_allclose(bn.moving_mean.numpy(),
                               before * 0.5 + X.mean(axis=(0, 1)) * 0.5, rtol=1e-6, atol=1e-7)


def test_batch_norm_channels_first_axis():
    x = RNG.normal(size=(2, 3, 2, 2)).astype("float32")
    bn = BatchNormalization(axis=1, momentum=0.0)
    y = bn(x, training=True)
    assert bn.gamma.shape == (3,)
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(y, numpy_batch_norm(x, mean, var, 1, 0, 1e-3, axis=1),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn.moving_mean.numpy(), mean, rtol=1e-6, atol=1e-7)


def test_batch_norm_mask_leaves_masked_positions_out_of_statistics():
    x = np.array([[[1.0], [3.0], [100.0]]], "float32")
    mask = np.array([[True, True, False]])
    bn = BatchNormalization(momentum=0.0)
    bn(x, training=True, mask=mask)
    np.testing.assert_allclose(bn.moving_mean.numpy(), [2.0], rtol=1e-6)
    np.testing.assert_allclose(bn.moving_variance.numpy(), [1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="one axis less"):
        bn(x, training=True, mask=mask[..., None])


def test_batch_norm_renorm_first_step_is_identity_and_adds_weights():
    bn = BatchNormalization(renorm=True, renorm_clipping={"rmax": 100.0, "dmax": 100.0})
    y = bn(X, training=True)
    assert [v.name for v in bn.weights][4:] == ["moving_stddev", "renorm_mean", "renorm_stddev"]
    # With renorm statistics at their initial (0, 1), the correction undoes the batch
    # normalization exactly: r = batch std, d = batch mean.
    np.testing.assert_allclose(y, X, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="renorm_clipping accepts"):
        BatchNormalization(renorm=True, renorm_clipping={"rmaxx": 1.0})


def test_batch_norm_mixed_precision_keeps_float32_weights():
    bn = BatchNormalization(dtype="mixed_float16")
    y = bn(X, training=True)
    assert y.dtype == jnp.float16 and bn.moving_mean.dtype == "float32"


def test_batch_norm_errors_and_shapes():
    with pytest.raises(TypeError, match="axis must be a single int"):
        BatchNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match=r"'bn'.*axis 3 is out of bounds.*\(4, 3, 2\)"):
        BatchNormalization(axis=3, name="bn")(X)
    with pytest.raises(ValueError, match="known size on axis -1"):
        BatchNormalization().build((None, None))
    bn = BatchNormalization()
    bn(X)
    with pytest.raises(ValueError, match="expected axis -1 of the input to have size 2"):
        bn(np.ones((4, 3, 5), "float32"))
    assert bn.compute_output_shape((None, 3, 2)) == (None, 3, 2)
    symbolic = bn(keras.layers.Input(shape=(3, 2)))
    assert symbolic.shape == (None, 3, 2)


def test_batch_norm_config_round_trip():
    bn = BatchNormalization(axis=1, momentum=0.9, epsilon=1e-2, center=False,
                            gamma_regularizer="l2", beta_constraint="non_neg", name="bn")
    config = bn.get_config()
    assert config["momentum"] == 0.9 and config["axis"] == 1 and config["center"] is False
    assert_config_round_trip(bn)


def test_batch_norm_matches_keras(keras3):
    for kwargs, x in [({"axis": 1, "momentum": 0.7, "center": False}, X),
                      ({"scale": False, "epsilon": 0.1}, X[:, 0])]:
        ours, theirs = BatchNormalization(**kwargs), keras3.layers.BatchNormalization(**kwargs)
        ours(x)
        random_weights(ours, positive_last=1)
        compare_with_keras(keras3, ours, theirs, x)


def test_batch_norm_renorm_matches_keras(keras3):
    kwargs = {"renorm": True, "renorm_clipping": {"rmax": 1.5, "rmin": 0.5, "dmax": 0.3},
              "renorm_momentum": 0.5, "momentum": 0.6}
    ours, theirs = BatchNormalization(**kwargs), keras3.layers.BatchNormalization(**kwargs)
    compare_with_keras(keras3, ours, theirs, X, training_modes=(True, True, False))


# ------------------------------------------------------------------------ LayerNormalization
def test_layer_norm_numerics_and_weights():
    ln = LayerNormalization(epsilon=0.01, name="ln")
    y = ln(X)
    assert [v.path for v in ln.weights] == ["ln/gamma", "ln/beta"]
    assert ln.axis == [-1]  # stored as a list after build, as in Keras 3
    gamma, beta = random_weights(ln)
    mean, var = X.mean(-1, keepdims=True), X.var(-1, keepdims=True)
    expected = (X - mean) / np.sqrt(var + 0.01) * gamma + beta
    np.testing.assert_allclose(ln(X), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ln(X, training=True), ln(X), rtol=0)
    assert y.shape == X.shape


def test_layer_norm_several_axes():
    ln = LayerNormalization(axis=(2, 1), center=False)
    y = ln(X)
    assert ln.gamma.shape == (3, 2) and ln.beta is None and ln.axis == [1, 2]
    mean, var = X.mean((1, 2), keepdims=True), X.var((1, 2), keepdims=True)
    np.testing.assert_allclose(y, (X - mean) / np.sqrt(var + 1e-3), rtol=1e-5, atol=1e-5)


def test_layer_norm_rms_scaling_is_deprecated_but_reproduced():
    with pytest.warns(UserWarning, match="deprecated"):
        ln = LayerNormalization(rms_scaling=True)
    y = ln(X)
    assert [v.name for v in ln.weights] == ["gamma"]
    np.testing.assert_allclose(y, X / np.sqrt(X.var(-1, keepdims=True) + 1e-3), rtol=1e-5)


def test_layer_norm_half_precision_inputs_are_normalized_in_float32():
    x = (np.arange(8, dtype="float32").reshape(2, 4) * 1000).astype("float16")
    y = LayerNormalization(dtype="float16")(x)
    assert y.dtype == jnp.float16
    np.testing.assert_allclose(np.asarray(y, "float32")[0], [-1.342, -0.447, 0.447, 1.342],
                               atol=2e-3)


def test_layer_norm_errors_and_config():
    with pytest.raises(TypeError, match="axis must be an int or a list"):
        LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="axis 5 is out of bounds"):
        LayerNormalization(axis=5)(X)
    ln = LayerNormalization(axis=[1, 2], epsilon=1e-5, name="ln")
    assert_config_round_trip(ln)
    ln(X)
    assert_config_round_trip(ln)


def test_layer_norm_matches_keras(keras3):
    cases = [{"axis": [1, 2]}, {"axis": 1, "scale": False, "epsilon": 0.1}]
    for kwargs in cases:
        ours, theirs = LayerNormalization(**kwargs), keras3.layers.LayerNormalization(**kwargs)
        ours(X)
        random_weights(ours)
        compare_with_keras(keras3, ours, theirs, X)
    with pytest.warns(UserWarning):
        ours = LayerNormalization(rms_scaling=True)
    with pytest.warns(UserWarning):
        theirs = keras3.layers.LayerNormalization(rms_scaling=True)
    ours(X)
    random_weights(ours)
    compare_with_keras(keras3, ours, theirs, X)


def reference_layer_norm(x, gamma, beta, axes, epsilon):
    """Layer normalization op by op, differentiated by JAX (the reference for the closed-form
    derivative lamina gives)."""
    mean = jnp.mean(x, axis=axes, keepdims=True)
    y = (x - mean) / jnp.sqrt(jnp.var(x, axis=axes, keepdims=True) + epsilon)
    return y if gamma is None else y * gamma + (0 if beta is None else beta)


@pytest.mark.parametrize("kwargs", [{}, {"axis": [1, 2]}, {"center": False, "epsilon": 0.1},
                                    {"scale": False, "center": False}])
def test_layer_norm_gradients_and_forward_mode_match_autodiff(kwargs):
    ln = LayerNormalization(**kwargs)
    ln(X)
    if ln.gamma is not None:
        random_weights(ln)
    gamma = None if ln.gamma is None else jnp.asarray(ln.gamma.numpy())
    beta = None if ln.beta is None else jnp.asarray(ln.beta.numpy())
    axes = tuple(ln.axis)
    cotangent = jnp.asarray(RNG.normal(size=X.shape), "float32")

    def ours(x, g, b):
        return jnp.sum(ln.stateless_call([w for w in (g, b) if w is not None], [], x)[0]
                       * cotangent)

    def reference(x, g, b):
        return jnp.sum(reference_layer_norm(x, g, b, axes, ln.epsilon) * cotangent)

    grads = jax.jit(jax.grad(ours, argnums=(0, 1, 2)))(jnp.asarray(X), gamma, beta)
    expected = jax.jit(jax.grad(reference, argnums=(0, 1, 2)))(jnp.asarray(X), gamma, beta)
    for a, b in zip(grads, expected):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # Forward mode (jax.jvp) still works, and agrees with the reference.
    tangent = jnp.asarray(RNG.normal(size=X.shape), "float32")
    _, out = jax.jit(lambda x, t: jax.jvp(lambda x: ours(x, gamma, beta), (x,), (t,)))(
        jnp.asarray(X), tangent)
    _, want = jax.jit(lambda x, t: jax.jvp(lambda x: reference(x, gamma, beta), (x,), (t,)))(
        jnp.asarray(X), tangent)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------------ GroupNormalization
def numpy_group_norm(x, groups, eps):
    batch, channels = x.shape[0], x.shape[-1]
    grouped = x.reshape(batch, -1, groups, channels // groups)
    mean = grouped.mean(axis=(1, 3), keepdims=True)
    var = grouped.var(axis=(1, 3), keepdims=True)
    return ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)


def test_group_norm_numerics():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    gn = GroupNormalization(groups=2, name="gn")
    y = gn(x)
    assert [v.path for v in gn.weights] == ["gn/gamma", "gn/beta"] and gn.gamma.shape == (4,)
    np.testing.assert_allclose(y, numpy_group_norm(x, 2, 1e-3), rtol=1e-5, atol=1e-5)
    gamma, beta = random_weights(gn)
    np.testing.assert_allclose(gn(x), numpy_group_norm(x, 2, 1e-3) * gamma + beta,
                               rtol=1e-5, atol=1e-5)


def test_group_norm_instance_and_layer_extremes_and_channels_first():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    instance = GroupNormalization(groups=-1)
    np.testing.assert_allclose(instance(x), numpy_group_norm(x, 4, 1e-3), rtol=1e-5, atol=1e-5)
    assert instance.groups == 4
    layer_like = GroupNormalization(groups=1)
    np.testing.assert_allclose(layer_like(x), LayerNormalization(axis=[1, 2])(x),
                               rtol=1e-5, atol=1e-5)
    channels_first = GroupNormalization(groups=2, axis=1)
    xt = np.transpose(x, (0, 2, 1))
    np.testing.assert_allclose(channels_first(xt),
                               np.transpose(numpy_group_norm(x, 2, 1e-3), (0, 2, 1)),
                               rtol=1e-5, atol=1e-5)


def test_group_norm_errors_and_config():
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        GroupNormalization(groups=0)
    with pytest.raises(ValueError, match=r"4 channels on axis -1 cannot be split into groups=3"):
        GroupNormalization(groups=3)(np.ones((1, 4), "float32"))
    assert_config_round_trip(GroupNormalization(groups=4, axis=1, epsilon=1e-4, name="g"))


def test_group_norm_matches_keras(keras3):
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    for kwargs in [{"groups": 3, "axis": 1}, {"groups": -1, "center": False}]:
        ours, theirs = GroupNormalization(**kwargs), keras3.layers.GroupNormalization(**kwargs)
        ours(x)
        random_weights(ours)
        compare_with_keras(keras3, ours, theirs, x)


# ------------------------------------------------------------------------ UnitNormalization
def test_unit_normalization():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], "float32")
    y = UnitNormalization()(x)
    np.testing.assert_allclose(y, [[0.6, 0.8], [0.0, 0.0]], rtol=1e-6)  # zeros stay zeros
    y = UnitNormalization(axis=[1, 2])(X)
    np.testing.assert_allclose(np.sqrt((np.asarray(y) ** 2).sum(axis=(1, 2))), 1.0, rtol=1e-5)
    assert UnitNormalization().weights == []
    with pytest.raises(TypeError, match="axis must be an int or a list"):
        UnitNormalization(axis=1.5)
    with pytest.raises(ValueError, match="out of bounds"):
        UnitNormalization(axis=4).compute_output_shape((None, 3))
    assert_config_round_trip(UnitNormalization(axis=[1, 2], name="u"))


def test_unit_normalization_matches_keras(keras3):
    for axis in (-1, [1, 2]):
        compare_with_keras(keras3, UnitNormalization(axis=axis),
                           keras3.layers.UnitNormalization(axis=axis), X)


# ------------------------------------------------------------------------ RMSNormalization
def test_rms_normalization_numerics_weights_and_config():
    layer = RMSNormalization(name="rms")
    y = layer(X)
    assert [(w.path, w.shape) for w in layer.weights] == [("rms/scale", (2,))]
    expected = X / np.sqrt((X ** 2).mean(-1, keepdims=True) + 1e-6)
    np.testing.assert_allclose(y, expected, rtol=1e-5)
    scale = random_weights(layer)[0]
    np.testing.assert_allclose(layer(X), expected * scale, rtol=1e-5)
    assert layer.axis == [-1] and layer.get_config()["axis"] == [-1]  # a list after build
    several = RMSNormalization(axis=[2, 1], epsilon=0.0)
    y = several(X)
    assert several.axis == [1, 2] and several.scale.shape == (3, 2)
    np.testing.assert_allclose(y, X / np.sqrt((X ** 2).mean((1, 2), keepdims=True)), rtol=1e-5)
    assert_config_round_trip(RMSNormalization(axis=1, epsilon=1e-3, name="r"))
    half = RMSNormalization(dtype="mixed_float16")
    y = half(X * 300)  # squares overflow float16: the statistics are float32
    assert y.dtype == jnp.float16 and half.scale.dtype == "float32"
    np.testing.assert_allclose(y, expected, rtol=2e-3, atol=2e-3)
    with pytest.raises(ValueError, match="axis 3 is out of bounds"):
        RMSNormalization(axis=3)(X)
    with pytest.raises(TypeError, match="axis must be an int or a list"):
        RMSNormalization(axis="last")


def test_rms_normalization_matches_keras(keras3):
    for kwargs in [{}, {"axis": [1, 2], "epsilon": 0.1}]:
        ours, theirs = RMSNormalization(**kwargs), keras3.layers.RMSNormalization(**kwargs)
        ours(X)
        random_weights(ours)
        compare_with_keras(keras3, ours, theirs, X)


def test_batch_norm_training_derivatives_match_op_by_op_differentiation():
    # Training-mode batch norm has a closed-form derivative (`_batch_norm_unmasked`): forward
    # mode, reverse mode and second derivatives must equal differentiating the same forward
    # computation op by op, statistics outputs (the moving averages' inputs) included.
    from lamina.layers.normalization import _batch_norm_forward, _batch_norm_unmasked

    rng = np.random.default_rng(1)
    x = (rng.normal(size=(3, 2, 2, 3)) * 2 + 3).astype("float32")
    gamma, beta, t = (rng.normal(size=s).astype("float32") for s in (3, 3, x.shape))
    # float32 throughout: the two derivatives agree to float rounding.
    for axis, reduction_axes, weights in [(3, (0, 1, 2), (gamma, beta)),
                                          (1, (0, 2, 3), (None, None))]:
        def loss(fn, x, *weights):
            y, mean, variance = fn(x, *weights, axis, reduction_axes, 1e-3)
            return jnp.sum(jnp.sin(y)) + jnp.sum(0.3 * mean + 0.7 * variance)

        closed, op_by_op = (functools.partial(loss, f) for f in (
            _batch_norm_unmasked, _batch_norm_forward))
        argnums = (0, 1, 2) if weights[0] is not None else (0,)

        def derivatives(fn):  # compiled as one program: op by op, the second derivative's
            return (jax.grad(fn, argnums)(x, *weights),  # hundreds of dispatches took seconds
                    jax.jvp(lambda x: fn(x, *weights), (x,), (t,)),
                    jax.grad(lambda x: jnp.sum(jax.grad(fn)(x, *weights) ** 2))(x))

        for got, want in zip(jax.jit(lambda: derivatives(closed))(),
                             jax.jit(lambda: derivatives(op_by_op))()):
            for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
                np.testing.assert_allclose(g, w, rtol=1e-4,
                                           atol=1e-5 * float(np.max(np.abs(w))))


def test_batch_norm_training_gradients_match_keras(keras3):
    x = (RNG.normal(size=(6, 2, 2, 3)) * 2 + 1).astype("float32")
    layers = [BatchNormalization(), keras3.layers.BatchNormalization()]
    for layer in layers:
        layer.build(x.shape)
    random_weights(layers[0], positive_last=1)
    for ours, theirs in zip(layers[0].weights, layers[1].weights):
        theirs.assign(np.asarray(ours.numpy()))

    def gradients(layer):
        def loss(trainable, x):
            y, new = layer.stateless_call(
                trainable, [v.value for v in layer.non_trainable_variables], x, training=True)
            return jnp.sum(jnp.sin(y)), new
        trainable = [jnp.asarray(v.value) for v in layer.trainable_variables]
        return jax.grad(loss, argnums=(0, 1), has_aux=True)(trainable, jnp.asarray(x))

    (ours, ours_new), (theirs, theirs_new) = (gradients(layer) for layer in layers)
    for got, want in zip(jax.tree.leaves((ours, ours_new)), jax.tree.leaves((theirs, theirs_new))):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
