"""GroupQueryAttention: NumPy reference with shared key/value heads, masks, Keras 3 side by
side, configs, `.keras` files both ways and errors."""

import os
import sys

import jax
import numpy as np
import pytest

import lamina as keras

sys.path.insert(0, os.path.dirname(__file__))
import _recurrent_helpers as helpers

L = keras.layers
RNG = np.random.default_rng(0)
Q = RNG.normal(size=(2, 4, 6)).astype("float32")
V = RNG.normal(size=(2, 5, 6)).astype("float32")
QUERY_MASK = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
VALUE_MASK = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 0]], bool)
CHEAP = {"kernel_initializer": "ones"}


def build(layer, query_shape=Q.shape, value_shape=V.shape, seed=0):
    layer.build_from_config({"shapes_dict": {"query_shape": query_shape,
                                             "value_shape": value_shape}})
    return helpers.random_weights(layer, seed)


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def reference(weights, query, value, repeats, mask=None, zero_masked_rows=False):
    """Grouped-query attention from the weights (query, key, value, output; kernel then bias):
    key/value head j serves query heads j * repeats ... (j + 1) * repeats - 1."""
    wq, bq, wk, bk, wv, bv, wo, bo = [np.asarray(w, np.float64) for w in weights]
    q = np.einsum("btd,dnh->btnh", query, wq) + bq
    k = np.repeat(np.einsum("bsd,dnh->bsnh", value, wk) + bk, repeats, axis=2)
    v = np.repeat(np.einsum("bsd,dnh->bsnh", value, wv) + bv, repeats, axis=2)
    scores = np.einsum("btnh,bsnh->bnts", q / np.sqrt(q.shape[-1]), k)
    if mask is not None:
        scores = np.where(mask[:, None], scores, -1e9)
    probabilities = softmax(scores)
    if mask is not None and zero_masked_rows:
        probabilities = np.where(mask[:, None], probabilities, 0.0)
    heads = np.einsum("bnts,bsnh->btnh", probabilities, v)
    return np.einsum("btnh,nhd->btd", heads, wo) + bo, probabilities


def test_shared_heads_weights_and_masks_match_numpy():
    layer = L.GroupQueryAttention(head_dim=3, num_query_heads=4, num_key_value_heads=2,
                                  name="gqa", **CHEAP)
    weights = build(layer)
    assert [(w.path, w.shape) for w in layer.weights] == [
        ("gqa/query/kernel", (6, 4, 3)), ("gqa/query/bias", (4, 3)),
        ("gqa/key/kernel", (6, 2, 3)), ("gqa/key/bias", (2, 3)),
        ("gqa/value/kernel", (6, 2, 3)), ("gqa/value/bias", (2, 3)),
        ("gqa/attention_output/kernel", (4, 3, 6)), ("gqa/attention_output/bias", (6,))]
    causal = np.tril(np.ones((4, 5), bool))[None].repeat(2, 0)
    masks = QUERY_MASK[:, :, None] & VALUE_MASK[:, None, :]
    plain, masked, (causal_out, causal_scores) = helpers.compiled(lambda: (
        layer(Q, V), layer(Q, V, query_mask=QUERY_MASK, value_mask=VALUE_MASK),
        layer(Q, V, use_causal_mask=True, return_attention_scores=True)))
    np.testing.assert_allclose(plain, reference(weights, Q, V, 2)[0], rtol=1e-5, atol=1e-5)
    # The padded query (row 0, position 3) has no key: it attends to all of them evenly.
    np.testing.assert_allclose(masked, reference(weights, Q, V, 2, masks)[0], rtol=1e-5,
                               atol=1e-5)
    expected, scores = reference(weights, Q, V, 2, causal, zero_masked_rows=True)
    np.testing.assert_allclose(causal_out, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(causal_scores, scores, rtol=1e-5, atol=1e-6)
    assert causal_scores.shape == (2, 4, 4, 5)


def test_masks_are_arrays_in_the_compiled_step():
    layer = L.GroupQueryAttention(3, 2, 1, **CHEAP)
    build(layer, Q.shape, Q.shape)
    run = keras.function(lambda x, mask: layer(x, x, query_mask=mask, value_mask=mask))
    full, padded = run(Q, np.ones((2, 4), bool)), run(Q, QUERY_MASK)
    np.testing.assert_allclose(full[1], padded[1], rtol=1e-6)  # the second row is unpadded
    assert not np.allclose(full[0, :3], padded[0, :3])  # the first no longer sees position 3


def test_dropout_only_in_training_and_multi_query():
    layer = L.GroupQueryAttention(3, 4, 1, dropout=0.5, seed=1, **CHEAP)
    weights = build(layer)
    assert layer.weights[2].shape == (6, 1, 3)  # one key head
    run = keras.function(lambda training: layer(Q, V, training=training))
    inference, first, second = run(False), run(True), run(True)
    np.testing.assert_allclose(inference, reference(weights, Q, V, 4)[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(first, inference) and not np.allclose(first, second)


def test_functional_config_and_errors():
    query, value = L.Input((4, 6)), L.Input((5, 6))
    layer = L.GroupQueryAttention(2, 4, 2, use_gate=True, sliding_window=3, name="g")
    output, scores = layer(query, value, return_attention_scores=True)
    assert output.shape == (None, 4, 6) and scores.shape == (None, 4, 4, 5)
    assert [w.path.split("/", 1)[1] for w in layer.weights][4:6] == [
        "gate/kernel", "gate/bias"]
    restored = L.deserialize(L.serialize(layer))
    assert type(restored) is L.GroupQueryAttention
    assert restored.get_config() == layer.get_config()
    assert [(w.path, w.shape) for w in restored.weights] == [
        (w.path, w.shape) for w in layer.weights]

    with pytest.raises(ValueError, match="num_query_heads must be divisible by"):
        L.GroupQueryAttention(2, 4, 3)
    with pytest.raises(ValueError, match="head_dim must be a positive integer"):
        L.GroupQueryAttention(0, 4, 2)
    with pytest.raises(ValueError, match=r"last axes of query and value must be equal"):
        L.GroupQueryAttention(2, 2, 1)(Q, V[..., :5])
    with pytest.raises(ValueError, match=r"'g'.*value_mask.*\(2, 4\).*\(2, 5, 6\)"):
        layer(Q, V, value_mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match="dropout is not supported with flash"):
        L.GroupQueryAttention(2, 2, 1, dropout=0.1, flash_attention=True)
    flash = L.GroupQueryAttention(2, 2, 1, flash_attention=True)
    with pytest.raises(ValueError, match="attention scores are not computed with flash"):
        flash(Q, Q, return_attention_scores=True)
    if jax.devices()[0].platform == "cpu":
        with pytest.raises(ValueError, match="needs a GPU"):
            flash(Q, Q)


@pytest.mark.parametrize("case", ["plain", "masks", "causal_scores", "gate_window"])
def test_matches_keras(case):
    k = helpers.import_keras()
    options = {"gate_window": {"use_gate": True, "sliding_window": 2}}.get(case, {})
    kwargs = {"masks": {"query_mask": QUERY_MASK, "value_mask": VALUE_MASK},
              "causal_scores": {"use_causal_mask": True, "return_attention_scores": True,
                                "value_mask": VALUE_MASK}}.get(case, {})
    helpers.assert_matches_keras(
        k.layers.GroupQueryAttention(3, 4, 2, name="g", **options),
        L.GroupQueryAttention(3, 4, 2, name="g", **options),
        {"shapes_dict": {"query_shape": Q.shape, "value_shape": V.shape}}, Q, V, **kwargs)


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_keras_files_move_both_ways(source, tmp_path):
    k = helpers.import_keras()
    lib, other = (k, keras) if source == "keras" else (keras, k)
    inputs = lib.Input((4, 6))
    outputs = lib.layers.GroupQueryAttention(3, 4, 2, name="gqa")(inputs, inputs,
                                                                 use_causal_mask=True)
    model = lib.Model(inputs, outputs)
    model.set_weights([RNG.normal(size=w.shape).astype("float32") for w in model.weights])
    model.save(tmp_path / "gqa.keras")
    loaded = other.models.load_model(tmp_path / "gqa.keras")
    np.testing.assert_allclose(loaded.predict(Q, verbose=0), model.predict(Q, verbose=0),
                               rtol=1e-5, atol=1e-5)
