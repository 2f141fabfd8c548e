"""Time per epoch of the book's regression MLP: lamina vs Keras 3 (JAX) vs hand-written JAX.

The model: 8 features -> Dense(30, selu) -> Dense(1), MSE, Nadam, batch 32, 11,610 rows (the
size of the book's California housing training split; the data here are generated, so nothing
is downloaded). All three sides shuffle every epoch and train on the last partial batch.

* lamina: `model.fit(..., verbose=0)`;
* Keras 3 on the JAX backend (if installed): `model.fit(..., verbose=0)`;
* hand-written: one `jax.jit` epoch (`lax.scan` over the full batches) plus one jitted step
  for the partial batch, with optax's nadam.

Epoch times are medians over epochs after the first (compilation is reported separately), and
the three sides alternate epoch by epoch so that machine noise hits them alike.

    python benchmarks/fit_mlp.py [--epochs 7]
"""

import argparse
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

ROWS, FEATURES, BATCH = 11610, 8, 32


def make_data():
    rng = np.random.default_rng(42)
    x = rng.normal(size=(ROWS, FEATURES)).astype(np.float32)
    w = rng.normal(size=(FEATURES, 1)).astype(np.float32)
    y = (np.tanh(x @ w) + 0.1 * rng.normal(size=(ROWS, 1))).astype(np.float32)
    return x, y


class Side:
    """One contender: `epoch()` trains one epoch and returns the final-batch loss or None."""

    compile_seconds = None


class LaminaSide(Side):
    name = "lamina"

    def __init__(self, x, y):
        import lamina

        lamina.utils.set_random_seed(0)
        self.model = lamina.Sequential([
            lamina.Input((FEATURES,)),
            lamina.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal"),
            lamina.layers.Dense(1)])
        self.model.compile(loss="mse", optimizer="nadam")
        self.x, self.y = x, y

    def epoch(self):
        history = self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0)
        return history.history["loss"][-1]


class KerasSide(Side):
    name = "keras 3 (jax)"

    def __init__(self, x, y):
        import keras

        keras.utils.set_random_seed(0)
        self.model = keras.Sequential([
            keras.Input((FEATURES,)),
            keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal"),
            keras.layers.Dense(1)])
        self.model.compile(loss="mse", optimizer="nadam")
        self.x, self.y = x, y

    def epoch(self):
        history = self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0)
        return history.history["loss"][-1]


class JaxSide(Side):
    name = "hand-written jax+optax"

    def __init__(self, x, y):
        import optax

        key = jax.random.PRNGKey(0)
        k1, k2 = jax.random.split(key)
        self.params = {
            "w1": jax.random.normal(k1, (FEATURES, 30)) / np.sqrt(FEATURES), "b1": jnp.zeros(30),
            "w2": jax.random.normal(k2, (30, 1)) / np.sqrt(30), "b2": jnp.zeros(1)}
        self.optimizer = optax.nadam(1e-3, eps=1e-7)
        self.opt_state = self.optimizer.init(self.params)
        self.x, self.y = jnp.asarray(x), jnp.asarray(y)
        self.key = jax.random.PRNGKey(1)
        full = ROWS // BATCH
        optimizer = self.optimizer

        def loss_fn(params, xb, yb):
            hidden = jax.nn.selu(xb @ params["w1"] + params["b1"])
            return jnp.mean((hidden @ params["w2"] + params["b2"] - yb) ** 2)

        def step(state, batch):
            params, opt_state = state
            loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        @jax.jit
        def run_epoch(params, opt_state, x, y, key):
            order = jax.random.permutation(key, ROWS)
            idx = order[: full * BATCH].reshape(full, BATCH)
            (params, opt_state), losses = jax.lax.scan(
                lambda s, i: step(s, (x[i], y[i])), (params, opt_state), idx)
            rest = order[full * BATCH:]
            (params, opt_state), last = step((params, opt_state), (x[rest], y[rest]))
            return params, opt_state, last

        self.run_epoch = run_epoch

    def epoch(self):
        self.key, sub = jax.random.split(self.key)
        self.params, self.opt_state, loss = self.run_epoch(
            self.params, self.opt_state, self.x, self.y, sub)
        return float(loss)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=7)
    args = parser.parse_args()
    x, y = make_data()
    sides = [JaxSide(x, y), LaminaSide(x, y)]
    try:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        sides.append(KerasSide(x, y))
    except ImportError:
        print("(keras not installed: comparing with hand-written JAX only)")
    times = {side.name: [] for side in sides}
    losses = {}
    for epoch in range(args.epochs):
        for side in sides:
            start = time.perf_counter()
            losses[side.name] = side.epoch()
            elapsed = time.perf_counter() - start
            if epoch == 0:
                side.compile_seconds = elapsed
            else:
                times[side.name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"book MLP, {ROWS} rows, batch {BATCH}: median of {args.epochs - 1} epochs "
          "(after the first)")
    for side in sides:
        print(f"  {side.name:24s} {medians[side.name] * 1e3:8.1f} ms/epoch   first epoch "
              f"{side.compile_seconds:6.2f} s   last loss {losses[side.name]:.4f}")
    lamina_t = medians["lamina"]
    print(f"lamina / hand-written jax = {lamina_t / medians['hand-written jax+optax']:.2f} "
          "(target <= 1.3)")
    if "keras 3 (jax)" in medians:
        print(f"keras 3 (jax) / lamina   = {medians['keras 3 (jax)'] / lamina_t:.1f} "
              "(target >= 5)")
        print(f"first epoch keras / lamina = "
              f"{sides[2].compile_seconds / sides[1].compile_seconds:.2f} (target >= 1)")


if __name__ == "__main__":
    main()
