"""Normalization (adapt, invert, fixed statistics) and Rescaling."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.layers.preprocessing import Normalization, Rescaling

RNG = np.random.default_rng(1)
DATA = (RNG.normal(size=(10, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]).astype("float32")


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def assert_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_adapt_on_an_array_learns_per_feature_statistics():
    norm = Normalization(name="norm")
    norm.adapt(DATA)
    assert [v.path for v in norm.weights] == ["norm/mean", "norm/variance", "norm/count"]
    assert [v.trainable for v in norm.weights] == [False, False, False]
    assert norm.count.dtype == "int32" and int(norm.count.numpy()) == 0  # as Keras 3 leaves it
    np.testing.assert_allclose(norm.adapt_mean.numpy(), DATA.mean(0), rtol=1e-5)
    np.testing.assert_allclose(norm.adapt_variance.numpy(), DATA.var(0), rtol=1e-5)
    y = np.asarray(norm(DATA))
    np.testing.assert_allclose(y.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(0), 1.0, rtol=1e-4)
    assert norm.mean.shape == (1, 3) and norm.get_build_config() == {"input_shape": (10, 3)}


def test_adapt_on_batches_equals_adapt_on_the_whole():
    whole, batched, pairs = Normalization(), Normalization(), Normalization()
    whole.adapt(DATA)
    batched.adapt([DATA[:3], DATA[3:4], DATA[4:]])
    pairs.adapt((x, np.zeros(len(x))) for x in (DATA[:5], DATA[5:]))  # a generator of (x, y)
    for layer in (batched, pairs):
        np.testing.assert_allclose(layer.adapt_mean.numpy(), whole.adapt_mean.numpy(),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(layer.adapt_variance.numpy(), whole.adapt_variance.numpy(),
                                   rtol=1e-5)


def test_adapt_replaces_statistics_and_compiled_calls_see_the_new_ones():
    norm = Normalization()
    norm.adapt(DATA)
    call = keras.function(norm)
    x = jnp.asarray(DATA[:2])
    np.testing.assert_allclose(call(x), norm(x), rtol=1e-6)
    norm.adapt(DATA * 2 + 1)
    np.testing.assert_allclose(norm.adapt_mean.numpy(), DATA.mean(0) * 2 + 1, rtol=1e-5)
    np.testing.assert_allclose(call(x), (DATA[:2] - norm.mean) / np.sqrt(norm.variance),
                               rtol=1e-5, atol=1e-6)


def test_axis_choices():
    images = RNG.normal(size=(4, 2, 3)).astype("float32")
    per_pixel = Normalization(axis=(1, 2))
    per_pixel.adapt(images)
    assert per_pixel.adapt_mean.shape == (2, 3)
    np.testing.assert_allclose(per_pixel.adapt_mean.numpy(), images.mean(0), rtol=1e-5,
                               atol=1e-6)
    overall = Normalization(axis=None)
    overall.adapt(images)
    assert overall.adapt_mean.shape == ()
    assert float(overall.adapt_variance.numpy()) == pytest.approx(images.var(), rel=1e-5)
    np.testing.assert_allclose(overall(images), (images - images.mean()) / images.std(),
                               rtol=1e-4, atol=1e-5)


def test_invert_undoes_the_standardization():
    norm, denorm = Normalization(), Normalization(invert=True)
    norm.adapt(DATA)
    denorm.adapt(DATA)
    np.testing.assert_allclose(denorm(norm(DATA)), DATA, rtol=1e-5, atol=1e-5)


def test_fixed_mean_and_variance():
    norm = Normalization(mean=[1.0, 2.0], variance=[4.0, 0.0])
    y = norm(np.array([[3.0, 2.0]], "float32"))
    assert norm.weights == []
    # A zero variance is floored at keras.config.epsilon(), so no division by zero.
    np.testing.assert_allclose(y, [[1.0, 0.0]])
    scalar = Normalization(axis=None, mean=2.0, variance=4.0)
    np.testing.assert_allclose(scalar(np.array([[4.0, 0.0]])), [[1.0, -1.0]])
    with pytest.raises(ValueError, match="nothing to learn"):
        norm.adapt(DATA)


def test_integer_inputs_are_cast_to_float():
    norm = Normalization(axis=None, mean=1.0, variance=1.0)
    y = norm(np.array([[1, 2]], "int32"))
    assert y.dtype == jnp.float32 and y.tolist() == [[0.0, 1.0]]


def test_normalization_errors():
    with pytest.raises(ValueError, match="pass both mean and variance"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ValueError, match="more than the 1 kept axes"):
        Normalization(mean=np.ones((2, 2)), variance=np.ones((2, 2)))
    with pytest.raises(TypeError, match="axis must be None, an int"):
        Normalization(axis="last")
    norm = Normalization(name="n")
    norm.adapt(DATA)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(10, 3\).*\(4, 5\)"):
        norm.adapt(np.ones((4, 5)))
    with pytest.raises(ValueError, match="received no data"):
        Normalization().adapt([])
    with pytest.raises(ValueError, match="every axis must be in"):
        Normalization(axis=3).adapt(DATA)


def test_normalization_config():
    config = Normalization(axis=(1, 2), mean=np.array([1.0]), variance=np.array([2.0]),
                           invert=True, name="n").get_config()
    assert config["axis"] == (1, 2) and config["mean"] == [1.0] and config["invert"] is True
    assert_config_round_trip(Normalization(axis=None, name="n"))
    assert_config_round_trip(Normalization(mean=[1.0, 2.0], variance=[3.0, 4.0], name="n"))


def test_normalization_matches_keras(keras3, keras_preprocessing_layers):
    for kwargs in [{}, {"axis": None}]:
        ours, theirs = Normalization(**kwargs), keras3.layers.Normalization(**kwargs)
        ours.adapt(DATA)
        theirs.adapt(DATA)
        for a, b in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5)
            assert a.dtype == b.dtype
        np.testing.assert_allclose(ours(DATA), theirs(DATA), rtol=1e-5, atol=1e-5)
        assert {k: v for k, v in ours.get_config().items() if k != "name"} == \
            {k: v for k, v in theirs.get_config().items() if k != "name"}
    fixed = {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0], "invert": True}
    ours, theirs = Normalization(**fixed), keras3.layers.Normalization(**fixed)
    np.testing.assert_allclose(ours(DATA), theirs(DATA), rtol=1e-6)
    assert ours.get_config().keys() == theirs.get_config().keys()


# ------------------------------------------------------------------------------- Rescaling
def test_rescaling():
    assert Rescaling(1 / 255)(np.array([0, 255], "uint8")).tolist() == [0.0, 1.0]
    y = Rescaling(scale=[1.0, 2.0], offset=-1.0)(np.ones((2, 2), "float32"))
    assert y.tolist() == [[0.0, 1.0], [0.0, 1.0]]
    assert Rescaling(2.0, dtype="float16")(np.ones(2)).dtype == jnp.float16
    assert Rescaling(2.0).weights == []


def test_rescaling_per_channel_scale_follows_channels_first():
    previous = keras.config.image_data_format()
    keras.config.set_image_data_format("channels_first")
    try:
        y = Rescaling(np.array([1.0, 10.0]))(np.ones((1, 2, 1, 1), "float32"))
    finally:
        keras.config.set_image_data_format(previous)
    assert y[0, :, 0, 0].tolist() == [1.0, 10.0]


def test_rescaling_config_round_trip_with_an_array_scale():
    layer = Rescaling(np.array([1.0, 2.0]), offset=0.5, name="r")
    config = layer.get_config()
    assert config["scale"]["class_name"] == "__numpy__" and config["offset"] == 0.5
    clone = Rescaling.from_config(config)
    np.testing.assert_array_equal(clone.scale, [1.0, 2.0])
    assert_config_round_trip(Rescaling(0.5, name="r"))


def test_rescaling_matches_keras(keras3, keras_preprocessing_layers):
    for kwargs in [{"scale": 1 / 127.5, "offset": -1}, {"scale": np.array([0.5, 2.0, 3.0])}]:
        ours, theirs = Rescaling(**kwargs), keras3.layers.Rescaling(**kwargs)
        np.testing.assert_allclose(ours(DATA), theirs(DATA), rtol=1e-6)
        assert {k: v for k, v in ours.get_config().items() if k not in ("name", "scale")} == \
            {k: v for k, v in theirs.get_config().items() if k not in ("name", "scale")}
        assert str(ours.get_config()["scale"]) == str(theirs.get_config()["scale"])
