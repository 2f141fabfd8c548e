"""The dropout family, GaussianNoise and ActivityRegularization: identity in inference,
statistics in training, random state carried through compiled functions, errors, configs."""

import math
import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)

# Few distinct shapes on purpose: each new shape of random draws costs a compilation.
ONES = jnp.ones((100, 100))


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def assert_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


RANDOM_LAYERS = [
    lambda **kw: Dropout(0.3, **kw), lambda **kw: GaussianNoise(0.5, **kw),
    lambda **kw: GaussianDropout(0.3, **kw), lambda **kw: AlphaDropout(0.3, **kw),
    lambda **kw: SpatialDropout1D(0.3, **kw),
]
X = jnp.linspace(-1.0, 1.0, 24).reshape(2, 3, 4)


@pytest.mark.parametrize("make", RANDOM_LAYERS)
def test_identity_in_inference_and_fresh_noise_in_training(make):
    layer = make(seed=7)
    np.testing.assert_array_equal(layer(X), X)
    np.testing.assert_array_equal(layer(X, training=False), X)
    assert layer.weights == [] and layer.variables == [layer.seed_generator.state]
    # Wider than X: SpatialDropout1D's mask has one entry per (sample, channel), and two
    # independent masks of X's 8 such entries are equal about 1% of the time.
    x = jnp.linspace(-1.0, 1.0, 96).reshape(2, 3, 16)
    first, second = layer(x, training=True), layer(x, training=True)
    assert not np.allclose(first, x) and not np.allclose(first, second)  # fresh at each call


@pytest.mark.parametrize("make", RANDOM_LAYERS[:2])
def test_compiled_calls_carry_the_random_state(make):
    eager, compiled = make(seed=7), make(seed=7)
    step = keras.function(lambda x: compiled(x, training=True))
    # The same seed gives the same sequence, eagerly or compiled, and each compiled call
    # advances the generator (fresh noise, no constant baked into the program).
    for _ in range(2):
        np.testing.assert_allclose(step(X), eager(X, training=True), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(compiled.seed_generator.state.numpy(),
                                  eager.seed_generator.state.numpy())


def test_dropout_statistics():
    layer = Dropout(0.25, seed=1)
    y = np.asarray(layer(ONES, training=True))
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert (y == 0).mean() == pytest.approx(0.25, abs=0.02)
    assert y.mean() == pytest.approx(1.0, abs=0.03)


def test_dropout_noise_shape_shares_the_mask():
    y = np.asarray(Dropout(0.5, noise_shape=(None, 1, 4), seed=0)(
        jnp.ones((2, 3, 4)), training=True))
    assert (y == y[:, :1, :]).all() and (y == 0).any()


def test_dropout_edge_rates():
    x = jnp.ones((2, 3))
    zero = Dropout(0.0)
    assert zero.variables == [] and np.array_equal(zero(x, training=True), x)
    np.testing.assert_array_equal(Dropout(1.0)(x, training=True), jnp.zeros((2, 3)))


def test_dropout_under_value_and_grad():
    layer = Dropout(0.5, seed=3)
    w = keras.Variable(jnp.ones((2, 3, 4)))
    (loss, _), (grad,) = keras.value_and_grad(
        lambda: (jnp.sum(layer(w * 3.0, training=True)), None), [w], has_aux=True)()
    kept = np.asarray(grad) != 0
    # The gradient flows through kept entries only, scaled by 3 / keep_prob.
    np.testing.assert_allclose(np.asarray(grad)[kept], 6.0)
    assert float(loss) == pytest.approx(kept.sum() * 6.0)


def test_dropout_errors_and_config():
    with pytest.raises(ValueError, match=r"Dropout 'd': rate must be a number between 0 and 1"):
        Dropout(1.5, name="d")
    with pytest.raises(ValueError, match="noise_shape must be a tuple"):
        Dropout(0.5, noise_shape="batch")
    with pytest.raises(ValueError, match="entry 1 is -2"):
        Dropout(0.5, noise_shape=(None, -2))
    config = Dropout(0.2, noise_shape=[None, 1], seed=4, name="d").get_config()
    assert config["noise_shape"] == (None, 1) and config["seed"] == 4
    assert_config_round_trip(Dropout(0.2, noise_shape=(None, 1), seed=4, name="d"))


@pytest.mark.parametrize("layer_class, shape, spatial_axes", [
    (SpatialDropout1D, (2, 3, 4), (1,)), (SpatialDropout2D, (2, 3, 3, 4), (1, 2)),
    (SpatialDropout3D, (2, 2, 2, 2, 4), (1, 2, 3))])
def test_spatial_dropout_drops_whole_channels(layer_class, shape, spatial_axes):
    y = np.asarray(layer_class(0.5, seed=2)(jnp.ones(shape), training=True))
    assert np.all(y == y.max(axis=spatial_axes, keepdims=True))
    assert (y == 0).any() and (y == 2).any()
    with pytest.raises(ValueError, match=f"expected ndim={len(shape)}"):
        layer_class(0.5)(jnp.ones((2,) * (len(shape) + 1)))


def test_spatial_dropout_channels_first_and_config():
    y = np.asarray(SpatialDropout2D(0.5, data_format="channels_first", seed=0)(
        jnp.ones((2, 4, 3, 3)), training=True))
    assert np.all(y == y[:, :, :1, :1])
    with pytest.raises(ValueError, match="data_format must be"):
        SpatialDropout2D(0.5, data_format="nhwc")
    assert set(SpatialDropout1D(0.1, name="s").get_config()) == {"rate", "seed", "name", "dtype"}
    assert_config_round_trip(SpatialDropout3D(0.1, data_format="channels_first", name="s"))


def test_gaussian_noise_and_dropout_statistics():
    noisy = np.asarray(GaussianNoise(0.5, seed=0)(jnp.zeros((100, 100)), training=True))
    assert noisy.mean() == pytest.approx(0.0, abs=0.02)
    assert noisy.std() == pytest.approx(0.5, rel=0.03)
    factor = np.asarray(GaussianDropout(0.2, seed=0)(ONES, training=True))
    assert factor.mean() == pytest.approx(1.0, abs=0.02)
    assert factor.std() == pytest.approx(math.sqrt(0.2 / 0.8), rel=0.03)
    with pytest.raises(ValueError, match="stddev must be a number between 0 and 1"):
        GaussianNoise(2.0)
    assert GaussianNoise(0.0).variables == []


def test_alpha_dropout_keeps_mean_and_variance():
    x = jnp.asarray(np.random.default_rng(0).normal(size=(100, 100)), "float32")
    y = np.asarray(AlphaDropout(0.2, seed=0)(x, training=True))
    assert y.mean() == pytest.approx(0.0, abs=0.03)
    assert y.std() == pytest.approx(1.0, abs=0.03)
    rate, alpha_p = 0.2, -1.6732632423543772 * 1.0507009873554805
    a = ((1 - rate) * (1 + rate * alpha_p**2)) ** -0.5
    dropped_value = a * alpha_p - a * alpha_p * rate
    dropped = np.isclose(y, dropped_value, atol=1e-6)
    assert dropped.mean() == pytest.approx(rate, abs=0.02)
    assert_config_round_trip(AlphaDropout(0.2, noise_shape=(None, 1), seed=1, name="a"))


def test_activity_regularization_adds_the_penalty_per_sample():
    layer = ActivityRegularization(l1=0.1, l2=0.5)
    x = jnp.array([[1.0, -2.0], [3.0, 0.0]])
    assert layer(x) is x
    expected = (0.1 * 6.0 + 0.5 * 14.0) / 2  # divided by the batch size
    assert [float(v) for v in layer.losses] == [pytest.approx(expected)]
    config = layer.get_config()
    assert "activity_regularizer" not in config and config["l1"] == 0.1
    assert_config_round_trip(layer)


def test_regularization_layers_match_keras(keras3):
    x = np.linspace(-1, 1, 24, dtype="float32").reshape(2, 3, 4)
    cases = [
        ("Dropout", (0.3,), {"noise_shape": (None, 1, 4), "seed": 1}),
        ("SpatialDropout1D", (0.3,), {"seed": 2}),
        ("SpatialDropout2D", (0.3,), {"data_format": "channels_first"}),
        ("SpatialDropout3D", (0.3,), {}),
        ("GaussianNoise", (0.3,), {"seed": 3}),
        ("GaussianDropout", (0.3,), {}),
        ("AlphaDropout", (0.3,), {"noise_shape": (None, 1, 4)}),
        ("ActivityRegularization", (), {"l1": 0.1, "l2": 0.2}),
    ]
    import lamina.layers.regularization as ours_module

    for name, args, kwargs in cases:
        ours = getattr(ours_module, name)(*args, **kwargs)
        theirs = getattr(keras3.layers, name)(*args, **kwargs)
        ours_config = {k: v for k, v in ours.get_config().items() if k != "name"}
        theirs_config = {k: v for k, v in theirs.get_config().items() if k != "name"}
        assert ours_config == theirs_config, name
        if name.startswith("Spatial"):
            continue  # they need inputs of their own rank; checked above
        np.testing.assert_array_equal(ours(x), np.asarray(theirs(x)))
    ours, theirs = ActivityRegularization(l1=0.1, l2=0.2), keras3.layers.ActivityRegularization(
        l1=0.1, l2=0.2)
    ours(x)
    theirs(x)
    assert float(ours.losses[0]) == pytest.approx(float(theirs.losses[0]), rel=1e-6)
