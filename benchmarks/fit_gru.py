"""Time per epoch of a GRU time-series forecaster: lamina vs Keras 3 (JAX, TensorFlow) vs JAX.

The model, on windows of 200 steps of an 8-feature series (sines of several periods plus
noise; the target is the first feature 10 steps after the window): GRU(64) -> Dense(1), mean
squared error, Adam, batch 64. No masks. The sides and the report are those of
`fit_lstm.py` (whose driver this script reuses); the hand-written JAX side's GRU is a
`lax.scan` over time with the input projection of all steps done before the loop, as Keras's
JAX backend writes its GRU when there is no mask.

    python benchmarks/fit_gru.py [--epochs 4] [--rows 6400] [--profile]
"""

import os

import numpy as np

import fit_lstm as common

LENGTH, FEATURES, UNITS, HORIZON = 200, 8, 64, 10
BATCH = common.BATCH
FULL_EPOCH_ROWS = 25000


def make_data(rows):
    rng = np.random.default_rng(42)
    total = rows + LENGTH + HORIZON
    t = np.arange(total)[:, None]
    periods = rng.uniform(10, 300, FEATURES)
    series = np.sin(2 * np.pi * t / periods + rng.uniform(0, 6, FEATURES))
    series = (series + 0.1 * rng.normal(size=series.shape)).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(series, (LENGTH, FEATURES))[:rows, 0]
    targets = series[LENGTH + HORIZON - 1:LENGTH + HORIZON - 1 + rows, 0]
    return np.ascontiguousarray(windows), targets.astype(np.float32)


def build_keras_model(keras):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((LENGTH, FEATURES)), keras.layers.GRU(UNITS),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    return model


def gru_params(key):
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(key, 3)
    return {"kernel": common.glorot(jax, keys[0], (FEATURES, 3 * UNITS)),
            "recurrent": jnp.linalg.qr(jax.random.normal(keys[1], (3 * UNITS, UNITS)))[0].T,
            "bias": jnp.zeros((2, 3 * UNITS)), "dense": common.glorot(jax, keys[2], (UNITS, 1)),
            "dense_bias": jnp.zeros(1)}


def gru_loss(params, x, y):
    import jax
    import jax.numpy as jnp

    inputs = jnp.swapaxes(x, 0, 1) @ params["kernel"] + params["bias"][0]

    def step(h, x_t):
        x_z, x_r, x_h = jnp.split(x_t, 3, axis=-1)
        r_z, r_r, r_h = jnp.split(h @ params["recurrent"] + params["bias"][1], 3, axis=-1)
        z = jax.nn.sigmoid(x_z + r_z)
        r = jax.nn.sigmoid(x_r + r_r)
        return z * h + (1 - z) * jnp.tanh(x_h + r * r_h), None

    h, _ = jax.lax.scan(step, jnp.zeros((x.shape[0], UNITS)), inputs)
    prediction = (h @ params["dense"] + params["dense_bias"])[:, 0]
    return jnp.mean((prediction - y) ** 2)


def main():
    # Per time step: x @ kernel and h @ recurrent_kernel forward; backward, the same two
    # recomputed (on CPU), the state's gradient and both weight gradients (the data need no
    # gradient).
    flops = 2 * BATCH * 3 * UNITS * (3 * FEATURES + 4 * UNITS)
    args = common.run_sides("GRU forecaster", os.path.abspath(__file__),
                            "hand-written jax (lax.scan)", FULL_EPOCH_ROWS, "window", flops)
    if args is None:
        return
    if args.worker in ("lamina", "keras"):
        worker = common.FitWorker(args.worker, args.rows, make_data, build_keras_model)
    else:
        worker = common.JaxWorker(args.rows, make_data, gru_loss, gru_params)
    common.serve(worker)


if __name__ == "__main__":
    main()
