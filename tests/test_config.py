"""keras.config: Keras 3.15's 25 names (and lamina's two), and each switch changes what it says
it changes."""

import logging
import traceback

import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import config, layers

KERAS_CONFIG_NAMES = [  # dir(keras.config) of Keras 3.15.1
    "backend", "disable_flash_attention", "disable_interactive_logging",
    "disable_traceback_filtering", "dtype_policy", "enable_flash_attention",
    "enable_interactive_logging", "enable_traceback_filtering", "enable_unsafe_deserialization",
    "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
    "is_interactive_logging_enabled", "is_nnx_enabled", "is_traceback_filtering_enabled",
    "max_epochs", "max_steps_per_epoch", "set_backend", "set_dtype_policy", "set_epsilon",
    "set_floatx", "set_image_data_format", "set_max_epochs", "set_max_steps_per_epoch",
]

# lamina's own: the folder of JAX's persistent compilation cache (tests/_runtime/
# test_compilation_cache.py).
LAMINA_CONFIG_NAMES = ["compilation_cache_dir", "set_compilation_cache_dir"]


def test_config_has_keras_names():
    assert sorted(config.__all__) == sorted(KERAS_CONFIG_NAMES + LAMINA_CONFIG_NAMES)
    assert all(callable(getattr(config, name)) for name in KERAS_CONFIG_NAMES)
    assert config.dtype_policy is lamina.dtype_policies.dtype_policy
    assert config.set_dtype_policy is lamina.dtype_policies.set_dtype_policy


def test_backend_switches():
    assert config.backend() == "jax" and config.is_nnx_enabled() is False
    config.set_backend("jax")
    with pytest.raises(ValueError, match="lamina runs on JAX only. Received: backend='torch'"):
        config.set_backend("torch")


def _compiled_model():
    model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


@pytest.fixture
def caps():
    yield
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(None)


def test_max_epochs_caps_fit(caps):
    assert config.max_epochs() is None
    config.set_max_epochs(2)
    model = _compiled_model()
    with pytest.warns(UserWarning, match="Limiting epochs to 2"):
        history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=5, verbose=0)
    assert len(history.history["loss"]) == 2
    config.set_max_epochs(None)
    assert len(model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0)
               .history["loss"]) == 3


def test_max_steps_per_epoch_caps_fit_evaluate_and_predict(caps):
    config.set_max_steps_per_epoch(2)
    assert config.max_steps_per_epoch() == 2
    model = _compiled_model()
    x, y = np.ones((40, 2)), np.ones((40, 1))
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 2"):
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 4        # 2 epochs x 2 steps, not 20
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 2"):
        assert model.predict(x, batch_size=4, verbose=0).shape == (8, 1)
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 2"):
        model.evaluate(x, y, batch_size=4, verbose=0)


@pytest.mark.parametrize("value", [0, -1, 2.5, "3", True])
def test_caps_refuse_bad_values(value, caps):
    with pytest.raises(ValueError, match=r"`max_epochs` must be a positive integer, or None.*"
                                         r"Received: max_epochs="):
        config.set_max_epochs(value)
    with pytest.raises(ValueError, match="`max_steps_per_epoch` must be a positive integer"):
        config.set_max_steps_per_epoch(value)
    assert config.max_epochs() is None and config.max_steps_per_epoch() is None


def test_interactive_logging_sends_progress_to_logging(capsys, caplog):
    model = _compiled_model()
    config.disable_interactive_logging()
    try:
        assert config.is_interactive_logging_enabled() is False
        with caplog.at_level(logging.INFO, logger="lamina"):
            model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=1)
    finally:
        config.enable_interactive_logging()
    assert "loss:" not in capsys.readouterr().out
    assert any("loss:" in record.getMessage() for record in caplog.records)
    model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=2)
    assert "loss:" in capsys.readouterr().out


class _Faulty(layers.Layer):
    def call(self, x):
        raise ValueError("the user's own error")


def _frames(error):
    return [frame.filename for frame in traceback.extract_tb(error.__traceback__)]


def test_traceback_filtering_hides_lamina_frames():
    model = lamina.Sequential([layers.Dense(2), _Faulty()])
    with pytest.raises(ValueError, match="the user's own error") as caught:
        model(np.ones((1, 2)))
    frames = _frames(caught.value)
    internal = [f for f in frames if "/lamina/" in f]
    assert internal == [lamina._runtime.traceback_filter.__file__], frames
    assert frames[-1] == __file__     # the raising frame, in the user's code, is kept
    with pytest.raises(ValueError, match="`epochs` must be an int") as caught:
        _compiled_model().fit(np.ones((4, 2)), np.ones((4, 1)), epochs=-1, verbose=0)
    assert [f for f in _frames(caught.value) if "/lamina/" in f] == [
        lamina._runtime.traceback_filter.__file__]


def test_disabled_traceback_filtering_shows_everything():
    config.disable_traceback_filtering()
    try:
        assert config.is_traceback_filtering_enabled() is False
        with pytest.raises(ValueError) as caught:
            lamina.Sequential([layers.Dense(2), _Faulty()])(np.ones((1, 2)))
    finally:
        config.enable_traceback_filtering()
    assert any(f.endswith("lamina/layers/layer.py") for f in _frames(caught.value))
    assert config.is_traceback_filtering_enabled() is True


def test_flash_attention_switch():
    assert config.is_flash_attention_enabled() is None   # Keras's default: automatic
    config.disable_flash_attention()
    try:
        assert config.is_flash_attention_enabled() is False
        assert layers.MultiHeadAttention(2, 4)._flash_attention is False
        assert layers.MultiHeadAttention(2, 4, flash_attention=True)._flash_attention is True
    finally:
        config.enable_flash_attention()
    assert config.is_flash_attention_enabled() is None
    assert layers.MultiHeadAttention(2, 4)._flash_attention is None


def test_flash_attention_requests_are_checked():
    x = np.ones((1, 3, 8), "float32")
    with pytest.raises(ValueError, match=r"dropout is not supported with flash attention.*"
                                         r"dropout=0.1"):
        layers.MultiHeadAttention(2, 4, dropout=0.1, flash_attention=True)
    flash = layers.MultiHeadAttention(2, 4, flash_attention=True)
    with pytest.raises(ValueError, match="needs a GPU"):   # this machine's CPU
        flash(x, x)
    with pytest.raises(ValueError, match="attention scores are not computed with flash"):
        flash(x, x, return_attention_scores=True)


def test_the_fused_path_computes_what_the_explicit_one_does():
    layer = layers.MultiHeadAttention(2, 4)
    x = np.random.default_rng(0).normal(size=(2, 3, 8)).astype("float32")
    layer(x, x)
    q, k, v = (jnp.asarray(np.random.default_rng(i).normal(size=(2, 3, 2, 4)), "float32")
               for i in range(3))
    mask = jnp.asarray(np.tril(np.ones((3, 3), bool)))[None].repeat(2, axis=0)
    explicit, _ = layer._compute_attention(q, k, v, attention_mask=mask)
    fused = lamina.ops.dot_product_attention(q, k, v, mask=jnp.expand_dims(mask, -3),
                                             scale=layer._inverse_sqrt_key_dim,
                                             flash_attention=False)
    np.testing.assert_allclose(fused, explicit, rtol=1e-5, atol=1e-6)
