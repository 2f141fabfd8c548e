"""Time per training step of a transformer text classifier: lamina vs Keras 3 (JAX,
TensorFlow) vs hand-written JAX of the same formulation.

The model of the Keras example "Text classification with Transformer": a token embedding
Embedding(20000, 32) plus a learned positional Embedding(200, 32) (a small custom layer), one
encoder block (MultiHeadAttention(num_heads=2, key_dim=32), Dropout(0.1), residual +
LayerNormalization(epsilon=1e-6), feed-forward Dense(32, relu) -> Dense(32), Dropout(0.1),
residual + LayerNormalization), GlobalAveragePooling1D, Dropout(0.1), Dense(20, relu),
Dropout(0.1), Dense(2, softmax); Adam, sparse categorical cross-entropy, sequences of 200
tokens, batch 32, 25,000 generated rows (each label decides which of two small sets of "cue"
words a sequence carries more of, among random filler words; nothing is downloaded).

Sides, each in its own process, alternate epoch by epoch (the driver is fit_vae_decoder.py's):
lamina's `fit`, Keras 3 on JAX and on TensorFlow (`--tf-python`), and hand-written JAX (one
jitted epoch, `lax.scan` over batches, optax's adam; attention, layer normalization and
dropout written out, Keras's initializers, and Keras's way of seeding dropout masks: a raw
uint32 key per draw, advanced by one each time), once as Keras 3 on JAX computes (attention
in the textbook order `softmax(q k^T * scale) v`, as jax.nn.dot_product_attention does;
layer normalization differentiated op by op; masks from `jax.random.bernoulli`; dense layers
as batched matmuls) and once in lamina's formulation: float32 attention arranged as
`lamina.ops._attention._float32_attention` computes it, layer normalization with its
closed-form derivative (`lamina.layers.normalization._centered_layer_norm`), masks from one
threefry hash per two positions (`lamina.random._keep_mask`), dense layers over 2D views of
their inputs and multi-head biases added over 2D views (`lamina.layers.core`).

    python benchmarks/fit_transformer.py [--epochs 4] [--rows 25000] [--skip tensorflow]
    python benchmarks/fit_transformer.py --rows 3200 --epochs 3      # a quick run

`make_data(rows)` and `build_model(keras)` are imported by other benchmarks (start-up times).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fit_vae_decoder as driver  # noqa: E402

ROWS, BATCH = 25000, 32
VOCAB, MAXLEN, EMBED, HEADS, FF, CLASSES = 20000, 200, 32, 2, 32, 2
CUES, CUES_PER_ROW = 100, 12


def make_data(rows):
    """`(tokens, labels)`: int32 `(rows, 200)` token ids and int32 `(rows,)` labels in {0, 1}.

    Filler tokens are drawn uniformly from the vocabulary (above the cue words); each row then
    carries 12 cue words at random positions, 8 from its label's set (ids 1-100 or 101-200)
    and 4 from the other's, so the label is decided by the content."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, CLASSES, rows).astype(np.int32)
    tokens = rng.integers(2 * CUES + 1, VOCAB, (rows, MAXLEN))
    own = rng.integers(1, CUES + 1, (rows, CUES_PER_ROW)) + CUES * labels[:, None]
    other = rng.integers(1, CUES + 1, (rows, CUES_PER_ROW)) + CUES * (1 - labels[:, None])
    cues = np.where(np.arange(CUES_PER_ROW) < 2 * CUES_PER_ROW // 3, own, other)
    positions = np.argsort(rng.random((rows, MAXLEN)), axis=1)[:, :CUES_PER_ROW]
    np.put_along_axis(tokens, positions, cues, axis=1)
    return tokens.astype(np.int32), labels


def build_model(keras):
    """The Keras example's classifier, compiled with Adam and sparse categorical
    cross-entropy; `keras` is `lamina` or Keras 3."""
    keras.utils.set_random_seed(0)
    layers, ops = keras.layers, keras.ops

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim):
            super().__init__()
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            positions = self.pos_emb(ops.arange(0, ops.shape(x)[-1], 1))
            return self.token_emb(x) + positions

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
            super().__init__()
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = keras.Sequential([layers.Dense(ff_dim, activation="relu"),
                                         layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs):
            attn_output = self.dropout1(self.att(inputs, inputs))
            out1 = self.layernorm1(inputs + attn_output)
            ffn_output = self.dropout2(self.ffn(out1))
            return self.layernorm2(out1 + ffn_output)

    inputs = layers.Input(shape=(MAXLEN,))
    x = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED)(inputs)
    x = TransformerBlock(EMBED, HEADS, FF)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(CLASSES, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def jax_transformer(rows, arranged=False):
    """The same model and step in hand-written JAX; returns `run()` giving (steps, epoch loss).

    `arranged`: lamina's formulation (see the module docstring) instead of Keras 3 on JAX's:
    attention arranged for float32 (query scaled before the product, heads in front of time,
    softmax normalized after the product with the values), layer normalization's closed-form
    derivative, dropout masks from threefry over halves, 2D dense products."""
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax
    from jax.extend.random import threefry_2x32

    keys = iter(jax.random.split(jax.random.PRNGKey(0), 16))

    def uniform(shape, limit):
        return jax.random.uniform(next(keys), shape, jnp.float32, -limit, limit)

    def glorot(shape):
        # Keras's fans: the last axis is fan-out, the one before it fan-in, the rest a
        # receptive field multiplying both (so a (32, 2, 32) projection has fans 64, 1024).
        field = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
        return uniform(shape, np.sqrt(6 / ((shape[-2] + shape[-1]) * field)))

    def zeros(*shape):
        return jnp.zeros(shape, jnp.float32)

    params = {
        "token": uniform((VOCAB, EMBED), 0.05), "position": uniform((MAXLEN, EMBED), 0.05),
        "wq": glorot((EMBED, HEADS, EMBED)), "bq": zeros(HEADS, EMBED),
        "wk": glorot((EMBED, HEADS, EMBED)), "bk": zeros(HEADS, EMBED),
        "wv": glorot((EMBED, HEADS, EMBED)), "bv": zeros(HEADS, EMBED),
        "wo": glorot((HEADS, EMBED, EMBED)), "bo": zeros(EMBED),
        "g1": jnp.ones(EMBED), "b1": zeros(EMBED),
        "wf1": glorot((EMBED, FF)), "bf1": zeros(FF), "wf2": glorot((FF, EMBED)),
        "bf2": zeros(EMBED), "g2": jnp.ones(EMBED), "b2": zeros(EMBED),
        "wd": glorot((EMBED, 20)), "bd": zeros(20), "wc": glorot((20, CLASSES)),
        "bc": zeros(CLASSES)}

    def plain_layer_norm(x, gamma, beta):
        mean = jnp.mean(x, -1, keepdims=True)
        inv = lax.rsqrt(jnp.var(x, -1, keepdims=True) + 1e-6) * gamma
        return x * inv + (beta - mean * inv)

    @jax.custom_jvp
    def closed_form_layer_norm(x, gamma, beta):
        return plain_layer_norm(x, gamma, beta)

    @closed_form_layer_norm.defjvp
    def _(primals, tangents):
        (x, gamma, beta), (dx, dgamma, dbeta) = primals, tangents
        mean = jnp.mean(x, -1, keepdims=True)
        rstd = lax.rsqrt(jnp.var(x, -1, keepdims=True) + 1e-6)
        normalized = (x - mean) * rstd
        dnormalized = rstd * (dx - jnp.mean(dx, -1, keepdims=True) - normalized * jnp.mean(
            dx * normalized, -1, keepdims=True))
        return (plain_layer_norm(x, gamma, beta),
                dnormalized * gamma + normalized * dgamma + dbeta)

    layer_norm = closed_form_layer_norm if arranged else plain_layer_norm

    def dropout(x, key):
        if arranged:  # one threefry hash per two positions, bernoulli's uniform floats
            bits = threefry_2x32((key[0], key[1]), lax.iota(jnp.uint32, x.size))
            floats = lax.bitcast_convert_type((bits >> 9) | jnp.uint32(0x3F800000),
                                              jnp.float32) - 1.0
            keep = (floats < 0.9).reshape(x.shape)
        else:
            keep = jax.random.bernoulli(key, 0.9, x.shape)
        return jnp.where(keep, x / 0.9, 0.0)

    def dense(x, w, b):
        if arranged:
            return (x.reshape(-1, x.shape[-1]) @ w + b).reshape(x.shape[:-1] + w.shape[-1:])
        return x @ w + b

    def project(x, w, b):
        y = jnp.einsum("btd,dnh->btnh", x, w)
        if arranged:
            return (y.reshape(-1, b.size) + b.reshape(-1)).reshape(y.shape)
        return y + b

    def attention(p, x):
        q, k, v = (project(x, p["w" + n], p["b" + n]) for n in "qkv")
        if arranged:
            q, k, v = (jnp.swapaxes(t, 1, 2) for t in (q * np.float32(1 / np.sqrt(EMBED)), k, v))
            logits = jnp.einsum("bnth,bnsh->bnts", q, k)
            e = jnp.exp(logits - lax.stop_gradient(jnp.max(logits, -1, keepdims=True)))
            out = jnp.einsum("bnts,bnsh->bnth", e, v) / jnp.sum(e, -1)[..., None]
            out = jnp.swapaxes(out, 1, 2)
        else:
            logits = jnp.einsum("btnh,bsnh->bnts", q, k) * (1 / np.sqrt(EMBED))
            weights = jax.nn.softmax(logits, axis=-1)
            out = jnp.einsum("bnts,bsnh->btnh", weights, v)
        return jnp.einsum("btnh,nhd->btd", out, p["wo"]) + p["bo"]

    def loss_fn(p, seed, tokens, labels):
        # Four dropout draws per step from consecutive raw keys, as Keras's seed generators
        # give them (one generator per Dropout layer, each advanced by one per draw).
        drop = [seed + jnp.array([i, 0], jnp.uint32) for i in range(4)]
        x = jnp.take(p["token"], tokens, axis=0) + jnp.take(p["position"],
                                                            jnp.arange(MAXLEN), axis=0)
        h = layer_norm(x + dropout(attention(p, x), drop[0]), p["g1"], p["b1"])
        f = dense(jax.nn.relu(dense(h, p["wf1"], p["bf1"])), p["wf2"], p["bf2"])
        h = layer_norm(h + dropout(f, drop[1]), p["g2"], p["b2"])
        h = dropout(jnp.mean(h, axis=1), drop[2])
        h = dropout(jax.nn.relu(h @ p["wd"] + p["bd"]), drop[3])
        probs = jax.nn.softmax(h @ p["wc"] + p["bc"])
        probs = jnp.clip(probs / jnp.sum(probs, -1, keepdims=True), 1e-7, 1 - 1e-7)
        return -jnp.mean(jnp.sum(jax.nn.one_hot(labels, CLASSES) * jnp.log(probs), -1))

    optimizer = optax.adam(1e-3, eps=1e-7)

    def step(state, batch):
        p, opt_state, seed = state
        loss, grads = jax.value_and_grad(loss_fn)(p, seed, *batch)
        updates, opt_state = optimizer.update(grads, opt_state, p)
        return (optax.apply_updates(p, updates), opt_state,
                seed + jnp.array([0, 1], jnp.uint32)), loss

    tokens, labels = make_data(rows)
    tokens, labels = jnp.asarray(tokens), jnp.asarray(labels)
    full = rows // BATCH

    # driver.scan_epoch's loop, with the dropout seed carried beside the parameters and the
    # epoch's mean loss returned (the last batch's alone is too noisy to compare).
    @jax.jit
    def epoch(state, key):
        order = jax.random.permutation(key, rows)
        idx = order[: full * BATCH].reshape(full, BATCH)
        state, losses = lax.scan(lambda s, i: step(s, (tokens[i], labels[i])), state, idx)
        if rows % BATCH:
            rest = order[full * BATCH:]
            state, loss = step(state, (tokens[rest], labels[rest]))
            return state, driver.epoch_mean(losses, BATCH, loss, rows % BATCH)
        return state, driver.epoch_mean(losses, BATCH)

    holder = {"state": (params, optimizer.init(params), jnp.array([1, 0], jnp.uint32)),
              "key": jax.random.PRNGKey(1)}

    def run():
        holder["key"], sub = jax.random.split(holder["key"])
        holder["state"], loss = epoch(holder["state"], sub)
        return -(-rows // BATCH), float(loss)
    return run


def worker_main(kind, rows):
    if kind in ("lamina", "keras"):
        worker = driver.FitWorker(kind, rows, build=build_model, data=make_data, batch=BATCH)
    else:
        worker = driver.FnWorker(jax_transformer(rows, arranged=kind == "jax-arranged"))
    driver.serve(worker)


def main():
    args = driver.parser_for(__doc__, ROWS).parse_args()
    if args.worker:
        return worker_main(args.worker, args.rows)
    kinds = [("lamina", "lamina"), ("hand-written jax (same formulation)", "jax"),
             ("hand-written jax (lamina's formulation)", "jax-arranged"),
             ("keras 3 (jax)", "keras")]
    sides = driver.run_sides(driver.side_specs(__file__, kinds, args), args.epochs)
    driver.report(f"Transformer text classifier, {args.rows} rows, batch {BATCH}: median of "
                  f"{args.epochs - 1} rounds after the first", sides, args.loss_tolerance,
                  workload="Transformer classifier step")


if __name__ == "__main__":
    main()
