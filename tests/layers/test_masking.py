"""Keras masks (issue 16): made by `Embedding(mask_zero=True)` and `Masking`, carried through
layers, Sequential, functional, nested and subclassed models, used by pooling, losses and
metrics, and compiled as arrays, as in Keras 3. Side-by-side checks run the same code in Keras
3.15 (JAX backend) when it is installed."""

import os
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina import layers, ops

TOKENS = np.array([[3, 7, 2, 0, 0], [5, 0, 0, 0, 0], [1, 4, 6, 9, 8]], "int32")
VALID = TOKENS != 0


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    return keras


def _fresh(lib):
    if lib is not lamina:
        lib.utils.clear_session()
    return lib


# ------------------------------------------------------------------------- making masks
def test_embedding_mask_zero_marks_the_padding():
    embedding = layers.Embedding(10, 4, mask_zero=True)
    outputs = embedding(TOKENS)
    np.testing.assert_array_equal(outputs._keras_mask, VALID)
    assert embedding.supports_masking
    plain = layers.Embedding(10, 4)
    assert getattr(plain(TOKENS), "_keras_mask", None) is None and not plain.supports_masking
    symbolic = layers.Embedding(10, 4, mask_zero=True)(lamina.Input((None,), dtype="int32"))
    assert symbolic._keras_mask.shape == (None, None) and symbolic._keras_mask.dtype == "bool"
    assert type(symbolic._keras_mask._keras_history.operation).__name__ == "NotEqual"


def test_embedding_mask_zero_needs_a_token_besides_padding():
    with pytest.raises(ValueError, match=r"mask_zero=True reserves index 0.*input_dim >= 2.*"
                                         r"input_dim=1"):
        layers.Embedding(1, 4, mask_zero=True)
    layers.Embedding(1, 4)  # without masking one index is a vocabulary


def test_masking_layer_zeroes_and_masks_padded_steps(keras3):
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]],
                  [[-1.0, -1.0], [-1.0, -1.0], [0.0, 5.0]]], "float32")
    for value in (0.0, -1.0):
        ours = layers.Masking(mask_value=value)(x)
        theirs = keras3.layers.Masking(mask_value=value)(x)
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        np.testing.assert_array_equal(ours._keras_mask, np.asarray(theirs._keras_mask))
    masking = layers.Masking(mask_value=-1.0, name="pad")
    assert masking.get_config() == keras3.layers.Masking(mask_value=-1.0, name="pad").get_config()
    restored = lamina.saving.deserialize_keras_object(lamina.saving.serialize_keras_object(masking))
    assert restored.mask_value == -1.0 and restored.supports_masking


def test_global_average_pooling_averages_the_real_steps_only():
    x = np.arange(30, dtype="float32").reshape(3, 5, 2)
    mask = np.array([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    pooled = layers.GlobalAveragePooling1D()(x, mask=mask)
    expected = np.stack([x[i][mask[i]].mean(0) for i in range(3)])
    np.testing.assert_allclose(pooled, expected, rtol=1e-6)
    assert getattr(pooled, "_keras_mask", None) is None  # the mask is consumed
    kept = layers.GlobalAveragePooling1D(keepdims=True)(x, mask=mask)
    np.testing.assert_allclose(kept[:, 0], expected, rtol=1e-6)
    first = layers.GlobalAveragePooling1D(data_format="channels_first")
    np.testing.assert_allclose(first(np.swapaxes(x, 1, 2), mask=mask), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"GlobalAveragePooling1D 'pool' received a mask of "
                                         r"shape \(3, 4\) for inputs of shape \(3, 5, 2\).*"
                                         r"\(batch, steps\) = \(3, 5\)"):
        layers.GlobalAveragePooling1D(name="pool")(x, mask=mask[:, :4])


# ----------------------------------------------------------------------- passing them on
def test_layers_that_keep_positions_pass_the_mask_on():
    x = layers.Embedding(10, 4, mask_zero=True)(TOKENS)
    for layer in (layers.Dense(3), layers.Dropout(0.5), layers.LayerNormalization(),
                  layers.Activation("relu"), layers.Identity()):
        y = layer(x)
        np.testing.assert_array_equal(y._keras_mask, VALID, err_msg=layer.name)


def test_a_layer_that_does_not_support_masking_warns_as_keras(keras3):
    class Plain(lamina.layers.Layer):
        def call(self, x):
            return x * 2

    x = layers.Embedding(10, 4, mask_zero=True)(TOKENS)
    with pytest.warns(UserWarning, match=r"Layer 'plain' \(of type Plain\) was passed an input "
                                         r"with a mask attached to it. However, this layer does "
                                         r"not support masking and will therefore destroy the "
                                         r"mask information.*supports_masking = True"):
        y = Plain()(x)
    assert getattr(y, "_keras_mask", None) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Plain()(jnp.ones((2, 3)))  # no mask, no warning
    # GlobalMaxPooling1D does not support masking in Keras 3 either.
    assert not layers.GlobalMaxPooling1D().supports_masking
    assert not keras3.layers.GlobalMaxPooling1D().supports_masking


def test_supports_masking_and_compute_mask_as_in_keras():
    class PassOn(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x):
            return x + 1.0

    class Shorten(lamina.layers.Layer):
        def call(self, x):
            return x[:, 1:]

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else mask[:, 1:]

    assert not lamina.layers.Layer().supports_masking
    assert Shorten().supports_masking  # defining compute_mask is declaring support
    x = layers.Embedding(10, 4, mask_zero=True)(TOKENS)
    np.testing.assert_array_equal(PassOn()(x)._keras_mask, VALID)
    np.testing.assert_array_equal(Shorten()(x)._keras_mask, VALID[:, 1:])


def test_a_mask_that_does_not_fit_names_the_layer_and_both_shapes():
    class Wrong(lamina.layers.Layer):
        def call(self, x):
            return x * 1.0

        def compute_mask(self, inputs, mask=None):
            return mask[:, :2]

    x = layers.Embedding(10, 4, mask_zero=True)(TOKENS)
    with pytest.raises(ValueError, match=r"Layer 'wrong' \(Wrong\) would attach a mask of shape "
                                         r"\(3, 2\) to its output of shape \(3, 5, 4\).*"
                                         r"compute_mask"):
        Wrong()(x)
    inputs = lamina.Input((5, 4), name="steps")
    model = lamina.Model(inputs, layers.GlobalAveragePooling1D()(inputs))
    with pytest.raises(ValueError, match=r"received a mask \(mask\) of shape \(3, 4\) for input "
                                         r"'steps' of shape \(3, 5, 4\)"):
        model(np.ones((3, 5, 4), "float32"), mask=np.ones((3, 4), bool))


# ---------------------------------------------------------------------------- in models
def _sequential(k):
    return k.Sequential([k.Input((None,), dtype="int32"),
                         k.layers.Embedding(10, 4, mask_zero=True, name="embed"),
                         k.layers.Dense(3, name="hidden"),
                         k.layers.GlobalAveragePooling1D(name="pool"),
                         k.layers.Dense(1, name="out")])


def _several_inputs(k):
    a = k.Input((None,), dtype="int32", name="a")
    b = k.Input((None,), dtype="int32", name="b")
    ea = k.layers.Embedding(10, 4, mask_zero=True, name="ea")(a)
    eb = k.layers.Embedding(10, 4, mask_zero=True, name="eb")(b)
    attended = k.layers.MultiHeadAttention(2, 2, name="mha")(ea, eb)
    joined = k.layers.Concatenate(name="cat")([ea, attended])
    summed = k.layers.Add(name="add")([ea, eb])
    return k.Model([a, b], [k.layers.GlobalAveragePooling1D(name="gap")(joined),
                            k.layers.GlobalAveragePooling1D(name="gap2")(summed)])


def _nested(k):
    inner_input = k.Input((None, 4))
    inner = k.Model(inner_input, k.layers.Dense(3, name="d")(inner_input), name="inner")
    tokens = k.Input((None,), dtype="int32")
    embedded = k.layers.Embedding(10, 4, mask_zero=True, name="e")(tokens)
    return k.Model(tokens, k.layers.GlobalAveragePooling1D(name="g")(inner(embedded)))


def _subclassed(k):
    class Pooled(k.Model):
        def __init__(self):
            super().__init__()
            self.embed = k.layers.Embedding(10, 4, mask_zero=True)
            self.hidden = k.layers.Dense(3)
            self.pool = k.layers.GlobalAveragePooling1D()

        def call(self, x):
            return self.pool(self.hidden(self.embed(x)))

    model = Pooled()
    model(TOKENS)
    return model


def _masking_stack(k):
    return k.Sequential([k.Input((5, 2)), k.layers.Masking(0.0), k.layers.Dense(3),
                         k.layers.GlobalAveragePooling1D()])


SECOND = np.array([[4, 4, 0, 0, 0], [2, 3, 1, 0, 0], [9, 0, 0, 0, 0]], "int32")
STEPS = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
STEPS[0, 2:] = 0.0
STEPS[2, 4] = 0.0


@pytest.mark.parametrize("build, data", [
    (_sequential, TOKENS), (_several_inputs, [TOKENS, SECOND]), (_nested, TOKENS),
    (_subclassed, TOKENS), (_masking_stack, STEPS)],
    ids=["sequential", "several_inputs", "nested", "subclassed", "masking"])
def test_masked_models_predict_as_keras(keras3, build, data):
    """The same weights give Keras's numbers on padded batches: the masks reach every layer
    that uses them (pooling, attention's query/value masks, merging), nested and subclassed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Keras warns that a nested model drops the mask
        theirs = build(_fresh(keras3))
        ours = build(lamina)
        ours.set_weights(theirs.get_weights())
        expected, got = theirs(data), ours(data)
    expected = expected if isinstance(expected, list) else [expected]
    got = got if isinstance(got, list) else [got]
    for a, b in zip(expected, got):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-5, atol=1e-6)
    # The mask changes the numbers: the same model without it gives others.
    if build is _sequential:
        unmasked = np.asarray(ours(np.where(VALID, TOKENS, 1)))
        assert not np.allclose(unmasked, np.asarray(got[0]))


def test_model_outputs_carry_their_mask():
    model = lamina.Sequential([lamina.Input((None,), dtype="int32"),
                               layers.Embedding(10, 4, mask_zero=True), layers.Dense(2)])
    outputs = model(TOKENS)  # a compiled call: the mask comes back with the outputs
    np.testing.assert_array_equal(outputs._keras_mask, VALID)
    assert model.outputs[0]._keras_mask.shape == (None, None)


def test_masks_are_arrays_in_compiled_code():
    """One trace serves every padding pattern: nothing branches on a mask's values."""
    traces = []

    class Count(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, x):
            traces.append(1)
            return x

    embed = layers.Embedding(10, 2, mask_zero=True, embeddings_initializer="ones")
    pool = layers.GlobalAveragePooling1D()
    counter = Count()
    step = lamina.function(lambda t: pool(counter(embed(t))) * jnp.sum(t != 0, axis=1)[:, None])
    np.testing.assert_allclose(step(TOKENS), [[3.0, 3.0], [1.0, 1.0], [5.0, 5.0]])
    traced = len(traces)
    np.testing.assert_allclose(step(SECOND), [[2.0, 2.0], [3.0, 3.0], [1.0, 1.0]])
    assert len(traces) == traced  # the other padding ran the same program


def test_sequential_takes_another_sequence_length_later():
    model = lamina.Sequential([layers.Embedding(10, 4, mask_zero=True),
                               layers.GlobalAveragePooling1D(), layers.Dense(1)])
    short = model(TOKENS[:, :4])
    longer = model(np.pad(TOKENS[:, :4], ((0, 0), (0, 3))))  # more padding, same answer
    np.testing.assert_allclose(longer, short, rtol=1e-6)
    fixed = lamina.Sequential([lamina.Input((4,), dtype="int32"),
                               layers.Embedding(10, 4, mask_zero=True),
                               layers.GlobalAveragePooling1D()])
    assert fixed(TOKENS).shape == (3, 4)  # Keras 3 takes it too
    with pytest.raises(ValueError, match="expects shape"):
        fixed(TOKENS[:, :, None])  # the rank is still checked


# -------------------------------------------------------------------- losses and metrics
def _per_step(k):
    tokens = k.Input((None,), dtype="int32")
    outputs = k.layers.Dense(1, name="out")(
        k.layers.Embedding(12, 4, mask_zero=True, name="emb")(tokens))
    model = k.Model(tokens, outputs)
    model.compile(optimizer=k.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    return model


def test_losses_and_metrics_leave_padded_steps_out(keras3):
    rng = np.random.default_rng(1)
    x = rng.integers(1, 12, size=(8, 6)).astype("int32")
    for row in range(8):
        x[row, rng.integers(2, 6):] = 0
    y = rng.normal(size=(8, 6, 1)).astype("float32")
    theirs = _per_step(_fresh(keras3))
    ours = _per_step(lamina)
    ours.set_weights(theirs.get_weights())
    prediction = np.asarray(ours.predict(x, verbose=0))
    valid = x != 0
    loss = np.mean(((prediction - y)[..., 0] ** 2)[valid])  # the mean over the real steps
    evaluated = ours.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(evaluated[0], loss, rtol=1e-5)
    np.testing.assert_allclose(evaluated, theirs.evaluate(x, y, verbose=0), rtol=1e-6)
    history = ours.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    expected = theirs.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    for key in ("loss", "mae"):
        np.testing.assert_allclose(history[key], expected[key], rtol=1e-5)
    masked = jnp.asarray(prediction)
    lamina._runtime.masking.set_keras_mask(masked, jnp.asarray(valid))
    direct = lamina.losses.MeanSquaredError()(y, masked)
    np.testing.assert_allclose(direct, loss, rtol=1e-5)  # a loss called directly, too
