"""Attention layers: MultiHeadAttention, Attention, AdditiveAttention, against NumPy and (when
installed) Keras 3."""

import os
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras

sys.path.insert(0, os.path.dirname(__file__))
import _recurrent_helpers as helpers

L = keras.layers
RNG = np.random.default_rng(0)
Q = RNG.normal(size=(2, 4, 5)).astype("float32")
V = RNG.normal(size=(2, 3, 6)).astype("float32")
K = RNG.normal(size=(2, 3, 7)).astype("float32")
ATTENTION_MASK = RNG.random((2, 4, 3)) > 0.4
ATTENTION_MASK[..., 0] = True  # every query sees at least one key
CHEAP = {"kernel_initializer": "ones"}


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def mha_reference(weights, query, value, key=None, mask=None, fused=False):
    """Multi-head attention over the time axis, from the projection weights (Keras's order:
    query, key, value, output, each kernel then bias). A query whose keys are all masked gets
    zero weights, or with `fused` (Keras's path without scores or dropout) even weights."""
    wq, bq, wk, bk, wv, bv, wo, bo = [np.asarray(w, np.float64) for w in weights]
    key = value if key is None else key
    q = np.einsum("btd,dnh->btnh", query, wq) + bq
    k = np.einsum("bsd,dnh->bsnh", key, wk) + bk
    v = np.einsum("bsd,dnh->bsnh", value, wv) + bv
    scores = np.einsum("btnh,bsnh->bnts", q / np.sqrt(q.shape[-1]), k)
    if mask is not None:
        scores = np.where(mask[:, None], scores, -1e9)
    probabilities = softmax(scores)
    if mask is not None and not fused:
        probabilities = np.where(mask[:, None], probabilities, 0.0)
    heads = np.einsum("bnts,bsnh->btnh", probabilities, v)
    return np.einsum("btnh,nhd->btd", heads, wo) + bo, probabilities


def assert_close(received, expected, tol=1e-5):
    np.testing.assert_allclose(np.asarray(received), expected, rtol=tol, atol=tol)


def build_mha(layer, query_shape, value_shape, key_shape=None, seed=0):
    shapes = {"query_shape": query_shape, "value_shape": value_shape}
    if key_shape is not None:
        shapes["key_shape"] = key_shape
    layer.build_from_config({"shapes_dict": shapes})
    return helpers.random_weights(layer, seed)


# ----------------------------------------------------------------------------- MultiHeadAttention
def test_multi_head_attention_matches_numpy_with_every_mask():
    layer = L.MultiHeadAttention(num_heads=2, key_dim=3, name="mha", **CHEAP)
    weights = build_mha(layer, Q.shape, V.shape, K.shape)
    assert [(w.path, w.shape) for w in layer.weights] == [
        ("mha/query/kernel", (5, 2, 3)), ("mha/query/bias", (2, 3)),
        ("mha/key/kernel", (7, 2, 3)), ("mha/key/bias", (2, 3)),
        ("mha/value/kernel", (6, 2, 3)), ("mha/value/bias", (2, 3)),
        ("mha/attention_output/kernel", (2, 3, 5)), ("mha/attention_output/bias", (5,))]
    query_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
    value_mask = np.array([[1, 1, 0], [1, 0, 1]], bool)
    causal_q = Q[:, :3]
    plain, masked, combined, causal = helpers.compiled(lambda: (
        layer(Q, V, key=K, return_attention_scores=True),
        layer(Q, V, key=K, attention_mask=ATTENTION_MASK),
        layer(Q, V, key=K, query_mask=query_mask, value_mask=value_mask),
        layer(causal_q, V, key=K, use_causal_mask=True, return_attention_scores=True)))

    output, scores = mha_reference(weights, Q, V, K)
    assert_close(plain[0], output)
    assert_close(plain[1], scores)
    assert_close(masked, mha_reference(weights, Q, V, K, ATTENTION_MASK)[0])
    both = query_mask[:, :, None] & value_mask[:, None, :]
    assert not both[0, 3].any()  # a padded query: its keys are all masked
    assert_close(combined, mha_reference(weights, Q, V, K, both, fused=True)[0])
    lower = np.tril(np.ones((3, 3), bool))[None].repeat(2, 0)
    output, scores = mha_reference(weights, causal_q, V, K, lower)
    assert_close(causal[0], output)
    assert_close(causal[1], scores)
    assert np.all(np.asarray(causal[1])[:, :, 0, 1:] == 0.0)


def test_multi_head_attention_options():
    x = Q[:, :3]
    gated = L.MultiHeadAttention(2, 3, value_dim=4, output_shape=(6,), use_gate=True,
                                 use_bias=False, name="mha", **CHEAP)
    build_mha(gated, x.shape, x.shape)
    assert [(w.path, w.shape) for w in gated.weights] == [
        ("mha/query/kernel", (5, 2, 3)), ("mha/key/kernel", (5, 2, 3)),
        ("mha/gate/kernel", (5, 2, 4)), ("mha/value/kernel", (5, 2, 4)),
        ("mha/attention_output/kernel", (2, 4, 6))]
    wq, wk, wg, wv, wo = [w.numpy() for w in gated.weights]
    # Attention over two axes of (batch, rows, cols, features) is attention over the flattened
    # rows * cols positions, with the same weights.
    images = RNG.normal(size=(2, 2, 3, 5)).astype("float32")
    two_axes = L.MultiHeadAttention(2, 3, attention_axes=(1, 2), **CHEAP)
    flat = L.MultiHeadAttention(2, 3, **CHEAP)
    weights = build_mha(two_axes, images.shape, images.shape)
    build_mha(flat, (2, 6, 5), (2, 6, 5))
    flat.set_weights(weights)
    window = L.MultiHeadAttention(2, 3, sliding_window=2, **CHEAP)
    window_weights = build_mha(window, x.shape, x.shape)
    (gated_out, _), (image_out, image_scores), flat_out, window_out = helpers.compiled(
        lambda: (gated(x, x, return_attention_scores=True),
                 two_axes(images, images, return_attention_scores=True),
                 flat(images.reshape(2, 6, 5), images.reshape(2, 6, 5)), window(x, x)))

    q, k = np.einsum("btd,dnh->btnh", x, wq), np.einsum("btd,dnh->btnh", x, wk)
    v, gate = np.einsum("btd,dnh->btnh", x, wv), np.einsum("btd,dnh->btnh", x, wg)
    p = softmax(np.einsum("btnh,bsnh->bnts", q / np.sqrt(3), k))
    heads = np.einsum("bnts,bsnh->btnh", p, v) / (1 + np.exp(-gate))
    assert_close(gated_out, np.einsum("btnh,nhd->btd", heads, wo))
    assert image_out.shape == (2, 2, 3, 5) and image_scores.shape == (2, 2, 2, 3, 2, 3)
    assert_close(np.asarray(image_out).reshape(2, 6, 5), np.asarray(flat_out), tol=1e-5)
    band = np.abs(np.arange(3)[:, None] - np.arange(3)[None]) < 2
    assert_close(window_out, mha_reference(window_weights, x, x, mask=band[None].repeat(2, 0))[0])
    assert two_axes.get_config()["attention_axes"] == (1, 2)


def test_multi_head_attention_dropout_only_in_training():
    layer = L.MultiHeadAttention(2, 3, dropout=0.5, seed=3, **CHEAP)
    build_mha(layer, Q.shape, V.shape)
    run = keras.function(lambda training: layer(Q, V, training=training,
                                                return_attention_scores=True))
    (inference, scores), (first, _), (second, _) = run(False), run(True), run(True)
    weights = [w.numpy() for w in layer.weights]
    output, expected_scores = mha_reference(weights, Q, V)
    assert_close(inference, output)
    assert_close(scores, expected_scores)
    assert not np.allclose(first, inference) and not np.allclose(first, second)


def test_multi_head_attention_functional_config_and_errors():
    query, value = L.Input((4, 5)), L.Input((3, 6))
    layer = L.MultiHeadAttention(2, 3, **CHEAP)
    output, scores = layer(query, value, return_attention_scores=True)
    assert output.shape == (None, 4, 5) and scores.shape == (None, 2, 4, 3)
    assert len(layer.weights) == 8  # created with the functional graph, not at first run
    assert layer.get_build_config() == {
        "shapes_dict": {"query_shape": (None, 4, 5), "value_shape": (None, 3, 6)}}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert [(w.path, w.shape) for w in restored.weights] == [
        (w.path, w.shape) for w in layer.weights]
    assert restored.get_config() == layer.get_config()

    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        L.MultiHeadAttention(0, 3)
    with pytest.raises(ValueError, match="value and key must have the same shape except"):
        L.MultiHeadAttention(2, 3)(Q, V, key=K[:, :2])
    with pytest.raises(ValueError, match=r"attention_mask must end with.*\(4, 3\).*\(2, 3, 4\)"):
        layer(Q, V, attention_mask=np.ones((2, 3, 4), bool))


# ----------------------------------------------------------------------------- Attention
def attention_reference(scores, value, query_mask=None, value_mask=None, causal=False):
    hidden = np.zeros(scores.shape, bool)
    if value_mask is not None:
        hidden |= ~value_mask[:, None, :]
    if causal:
        hidden |= ~np.tril(np.ones(scores.shape[-2:], bool))[None]
    weights = softmax(np.where(hidden, scores - 1e9, scores))
    output = weights @ value
    if query_mask is not None:
        output = np.where(query_mask[..., None], output, 0.0)
    return output, weights


def test_attention_dot_concat_and_additive_match_numpy():
    query, value = Q[..., :4], RNG.normal(size=(2, 3, 4)).astype("float32")
    key = RNG.normal(size=(2, 3, 4)).astype("float32")
    query_mask = np.array([[1, 0, 1, 1], [1, 1, 1, 1]], bool)
    value_mask = np.array([[1, 1, 0], [0, 1, 1]], bool)
    dot = L.Attention(use_scale=True)
    concat = L.Attention(score_mode="concat")
    additive = L.AdditiveAttention()
    for layer in (dot, concat, additive):
        layer.build_from_config({"input_shape": [query.shape, value.shape, key.shape]})
    dot.scale.assign(0.7)
    concat.concat_score_weight.assign(1.3)
    scale = additive.scale.numpy()
    (dot_out, dot_weights), concat_out, additive_out, causal = helpers.compiled(lambda: (
        dot([query, value, key], mask=[query_mask, value_mask], return_attention_scores=True),
        concat([query, value]), additive([query, value, key], mask=[None, value_mask]),
        dot([query[:, :3], value], use_causal_mask=True)))

    expected, weights = attention_reference(0.7 * query @ key.transpose(0, 2, 1), value,
                                            query_mask, value_mask)
    assert_close(dot_out, expected)
    assert_close(dot_weights, weights)
    pairs = query[:, :, None, :] + value[:, None, :, :]
    assert_close(concat_out, attention_reference(1.3 * np.tanh(pairs).sum(-1), value)[0])
    pairs = query[:, :, None, :] + key[:, None, :, :]
    assert_close(additive_out, attention_reference((scale * np.tanh(pairs)).sum(-1), value,
                                                   value_mask=value_mask)[0])
    scores = 0.7 * query[:, :3] @ value.transpose(0, 2, 1)
    assert_close(causal, attention_reference(scores, value, causal=True)[0])
    assert [w.path for w in additive.weights] == ["additive_attention/scale"]


def test_attention_config_shapes_and_errors():
    layer = L.Attention(use_scale=True, score_mode="concat", dropout=0.1, seed=2)
    assert L.Attention.from_config(layer.get_config()).get_config() == layer.get_config()
    assert "score_mode" not in L.AdditiveAttention().get_config()
    query, value = L.Input((4, 3)), L.Input((6, 3))
    output, scores = L.Attention()([query, value], return_attention_scores=True)
    assert output.shape == (None, 4, 3) and scores.shape == (None, 4, 6)
    with pytest.raises(ValueError, match=r"list \[query, value\]"):
        L.Attention()(Q)
    with pytest.raises(ValueError, match="score_mode must be 'dot' or 'concat'"):
        L.Attention(score_mode="general")
    with pytest.raises(ValueError, match=r"mask must be a list \[query_mask, value_mask\]"):
        L.Attention()([Q, Q], mask=np.ones((2, 4), bool))
    dropped = L.Attention(dropout=0.5, seed=1)
    ones = jnp.ones((2, 4, 3))
    _, weights = dropped([ones, ones], training=True, return_attention_scores=True)
    assert set(np.unique(np.asarray(weights)).round(4)) <= {0.0, 0.5}


# ----------------------------------------------------------------------------- Keras 3
@pytest.mark.parametrize("case", ["plain", "attention_mask", "causal_scores", "options"])
def test_multi_head_attention_matches_keras(case):
    k = helpers.import_keras()
    options = {"options": {"value_dim": 4, "output_shape": (6,), "use_gate": True,
                           "sliding_window": 2}}.get(case, {})
    kwargs = {"attention_mask": {"attention_mask": ATTENTION_MASK},
              "causal_scores": {"use_causal_mask": True, "return_attention_scores": True},
              "options": {"return_attention_scores": True}}.get(case, {})
    shapes = {"query_shape": Q.shape, "value_shape": V.shape}
    helpers.assert_matches_keras(
        k.layers.MultiHeadAttention(2, 3, name="mha", **CHEAP, **options),
        L.MultiHeadAttention(2, 3, name="mha", **CHEAP, **options), {"shapes_dict": shapes},
        Q, V, **kwargs)


@pytest.mark.parametrize("name,options", [
    ("Attention", {"use_scale": True}), ("Attention", {"score_mode": "concat"}),
    ("AdditiveAttention", {}),
])
def test_attention_matches_keras(name, options):
    k = helpers.import_keras()
    value = V[..., :5]
    mask = [np.array([[1, 1, 0, 1], [1, 1, 1, 1]], bool), np.array([[1, 0, 1], [1, 1, 1]], bool)]
    helpers.assert_matches_keras(
        getattr(k.layers, name)(name="att", **options), getattr(L, name)(name="att", **options),
        {"input_shape": [Q.shape, value.shape]}, [Q, value], mask=mask,
        return_attention_scores=True)
    assert getattr(L, name)(name="a", **options).get_config() == getattr(k.layers, name)(
        name="a", **options).get_config()


# ----------------------------------------------------------------------------- masks
QUERY_MASK = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
VALUE_MASK = np.array([[1, 1, 0], [1, 0, 1]], bool)


@pytest.mark.parametrize("case", ["query_value", "causal", "causal_scores"])
def test_multi_head_attention_masks_match_keras(case):
    """Keras takes the query mask from the query's Keras mask (and ignores an explicit
    `query_mask=`); lamina takes it from either. A padded query attends to every key evenly
    on the fused path (no scores, no dropout), and gets zero weights otherwise, as in Keras."""
    k = helpers.import_keras()
    from keras.src import backend

    kwargs = {"value_mask": VALUE_MASK, "use_causal_mask": case != "query_value",
              "return_attention_scores": case == "causal_scores"}
    query = Q[:, :3] if case != "query_value" else Q
    query_mask = QUERY_MASK[:, :3] if case != "query_value" else QUERY_MASK
    theirs = k.layers.MultiHeadAttention(2, 3, name="mha")
    ours = L.MultiHeadAttention(2, 3, name="mha")
    shapes = {"shapes_dict": {"query_shape": query.shape, "value_shape": V.shape}}
    ours.build_from_config(shapes)
    theirs.build_from_config(shapes)
    theirs.set_weights(helpers.random_weights(ours, seed=2))
    keras_query = k.ops.convert_to_tensor(query)
    backend.set_keras_mask(keras_query, k.ops.convert_to_tensor(query_mask))
    expected = theirs(keras_query, V, **kwargs)
    received = ours(query, V, query_mask=query_mask, **kwargs)
    for e, r in zip(*(x if isinstance(x, tuple) else (x,) for x in (expected, received))):
        np.testing.assert_allclose(np.asarray(r), np.asarray(e), rtol=1e-5, atol=1e-5)


def test_masks_are_arrays_in_the_compiled_step_and_bad_shapes_are_named():
    layer = L.MultiHeadAttention(2, 3, name="mha", **CHEAP)
    weights = build_mha(layer, Q.shape, V.shape)
    run = keras.function(lambda q_mask, v_mask: layer(Q, V, query_mask=q_mask,
                                                      value_mask=v_mask))
    both = QUERY_MASK[:, :, None] & VALUE_MASK[:, None, :]
    assert_close(run(QUERY_MASK, VALUE_MASK), mha_reference(weights, Q, V, mask=both,
                                                              fused=True)[0])
    ones = np.ones((2, 3), bool)
    assert_close(run(np.ones((2, 4), bool), ones), mha_reference(weights, Q, V)[0])

    with pytest.raises(ValueError, match=r"'mha'.*value_mask.*\(2, 4\).*\(2, 3, 6\)"):
        layer(Q, V, value_mask=np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"'mha'.*query_mask.*\(2, 3\).*\(2, 4, 5\)"):
        layer(Q, V, query_mask=np.ones((2, 3), bool))
    with pytest.raises(ValueError, match=r"'mha'.*query_mask.*\(2, 3\).*\(2, 4, 5\)"):
        layer.call(Q, V, query_mask=np.ones((2, 3), bool))  # checked inside call too
    attention = L.Attention(name="att")
    with pytest.raises(ValueError, match=r"'att'.*\(2, 3\).*\(2, 4, 5\)"):
        attention([Q, V[..., :5]], mask=[np.ones((2, 3), bool), None])
    with pytest.raises(ValueError, match=r"'att'.*value mask.*\(2, 4\).*\(2, 3, 5\)"):
        attention.call([Q, V[..., :5]], mask=[None, np.ones((2, 4), bool)])


# ----------------------------------------------------------------------------- end to end
def padded_tokens(rng, batch=16, length=6, vocabulary=20):
    tokens = rng.integers(1, vocabulary, size=(batch, length))
    lengths = rng.integers(2, length + 1, size=batch)
    tokens[np.arange(length)[None] >= lengths[:, None]] = 0
    return tokens, lengths


def attention_stack(lib, kind="mha"):
    """Embedding(mask_zero=True) -> self-attention -> GlobalAveragePooling1D -> Dense: the
    masks flow from the embedding through attention into the pooling."""
    tokens = lib.Input((None,), dtype="int32")
    x = lib.layers.Embedding(20, 8, mask_zero=True)(tokens)
    if kind == "mha":
        x = lib.layers.MultiHeadAttention(2, 4)(x, x)
    elif kind == "gqa":
        x = lib.layers.GroupQueryAttention(4, 2, 1)(x, x, use_causal_mask=True)
    else:
        x = getattr(lib.layers, kind)()([x, x])
    x = lib.layers.GlobalAveragePooling1D()(x)
    return lib.Model(tokens, lib.layers.Dense(2, activation="softmax")(x))


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_attention_stack_trained_and_saved_on_one_side_predicts_the_same_on_the_other(
        source, tmp_path):
    k = helpers.import_keras()
    libraries = {"keras": k, "lamina": keras}
    lib, other = libraries[source], libraries["lamina" if source == "keras" else "keras"]
    rng = np.random.default_rng(3)
    tokens, lengths = padded_tokens(rng)
    model = attention_stack(lib)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(tokens, rng.integers(0, 2, size=16), epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "stack.keras")
    loaded = other.models.load_model(tmp_path / "stack.keras")
    expected = model.predict(tokens, verbose=0)
    np.testing.assert_allclose(loaded.predict(tokens, verbose=0), expected, rtol=1e-5,
                               atol=1e-6)
    # The masks make padding irrelevant: a padded row predicts what the unpadded one does.
    row = int(np.argmin(lengths))
    alone = tokens[row:row + 1, :lengths[row]]
    np.testing.assert_allclose(loaded.predict(alone, verbose=0)[0], expected[row], rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("kind", ["gqa", "Attention", "AdditiveAttention"])
def test_embedding_masks_reach_every_attention_layer_as_in_keras(kind):
    k = helpers.import_keras()
    tokens, _ = padded_tokens(np.random.default_rng(4), batch=4)
    ours, theirs = attention_stack(keras, kind), attention_stack(k, kind)
    theirs.set_weights(helpers.random_weights(ours, seed=5))
    np.testing.assert_allclose(ours.predict(tokens, verbose=0),
                               theirs.predict(tokens, verbose=0), rtol=1e-5, atol=1e-6)
    unmasked = np.where(tokens == 0, 3, tokens)  # the same tokens without padding differ
    assert not np.allclose(ours.predict(unmasked, verbose=0), ours.predict(tokens, verbose=0))
