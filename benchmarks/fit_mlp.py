"""Time per epoch of the book's regression MLP: lamina vs Keras 3 (JAX) vs hand-written JAX.

The model: 8 features -> Dense(30, selu) -> Dense(1), MSE, Nadam, batch 32, 11,610 rows (the
size of the book's California housing training split; the data here are generated, so nothing
is downloaded). All three sides shuffle every epoch and train on the last partial batch.

* lamina: `model.fit(..., verbose=0)`;
* Keras 3 on the JAX backend (if installed): `model.fit(..., verbose=0)`;
* hand-written: one `jax.jit` epoch (`lax.scan` over the full batches) plus one jitted step
  for the partial batch, with optax's nadam.

Epoch times are medians over epochs after the first, and the three sides alternate epoch by
epoch so that machine noise hits them alike. After training, each side's loss on the whole
training set is computed the same way (NumPy MSE of its predictions), to show that the sides
reach the same loss (a side more than `--loss-tolerance` away from lamina's is a FAILURE).
The headline ratios are also printed as `RESULT` lines (`_results.emit`) for run_all.py.

The first epoch (tracing and compilation included) is timed in fresh processes, one per side
and run, alternating, so that no side profits from another's warm-up of JAX in the same
process; with `verbose=0` and with `verbose=1` (a progress bar: programs of 32 steps plus
the rest of the epoch).

    python benchmarks/fit_mlp.py [--epochs 7] [--first-epoch-runs 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import _results
from fit_vae_decoder import epoch_mean

ROWS, FEATURES, BATCH = 11610, 8, 32


def make_data(rows=ROWS):
    rng = np.random.default_rng(42)
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    w = rng.normal(size=(FEATURES, 1)).astype(np.float32)
    y = (np.tanh(x @ w) + 0.1 * rng.normal(size=(rows, 1))).astype(np.float32)
    return x, y


def build_model(keras):
    """The book's MLP, compiled, in `keras` (lamina or Keras 3); also used by throughput.py."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal"),
        keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="nadam")
    return model


class Side:
    """One contender: `epoch()` trains one epoch and returns the epoch's mean loss (as `fit`
    reports it); the sides are compared by their training-set loss after training."""

    compile_seconds = None


class LaminaSide(Side):
    name = "lamina"

    def __init__(self, x, y):
        import lamina

        self.model = build_model(lamina)
        self.x, self.y = x, y

    def epoch(self, verbose=0):
        history = self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=verbose)
        return history.history["loss"][-1]

    def predict(self, x):
        return self.model.predict(x, batch_size=1024, verbose=0)


class KerasSide(Side):
    name = "keras 3 (jax)"

    def __init__(self, x, y):
        import keras

        self.model = build_model(keras)
        self.x, self.y = x, y

    def epoch(self, verbose=0):
        history = self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=verbose)
        return history.history["loss"][-1]

    def predict(self, x):
        return self.model.predict(x, batch_size=1024, verbose=0)


class JaxSide(Side):
    name = "hand-written jax+optax"

    def __init__(self, x, y):
        import jax
        import jax.numpy as jnp
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

        def forward(params, xb):
            hidden = jax.nn.selu(xb @ params["w1"] + params["b1"])
            return hidden @ params["w2"] + params["b2"]

        def loss_fn(params, xb, yb):
            return jnp.mean((forward(params, xb) - yb) ** 2)

        self.forward = jax.jit(forward)

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
            return params, opt_state, epoch_mean(losses, BATCH, last, ROWS % BATCH)

        self.run_epoch = run_epoch
        self.jax = jax

    def epoch(self, verbose=0):
        self.key, sub = self.jax.random.split(self.key)
        self.params, self.opt_state, loss = self.run_epoch(
            self.params, self.opt_state, self.x, self.y, sub)
        return float(loss)

    def predict(self, x):
        return np.asarray(self.forward(self.params, self.jax.numpy.asarray(x)))


SIDES = {"jax": JaxSide, "lamina": LaminaSide, "keras": KerasSide}


def first_epoch_worker(kind, verbose):
    """In a fresh process: build the side, then time its first epoch."""
    x, y = make_data()
    side = SIDES[kind](x, y)
    start = time.perf_counter()
    side.epoch(verbose=verbose)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def first_epoch_seconds(kinds, verbose, runs):
    """Median first-epoch time of each side over `runs` fresh processes, alternating sides."""
    samples = {kind: [] for kind in kinds}
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    for _ in range(runs):
        for kind in kinds:
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--first-epoch-worker", kind,
                 "--verbose", str(verbose)], capture_output=True, text=True, env=env,
                check=True).stdout
            samples[kind].append(json.loads(out.strip().splitlines()[-1])["seconds"])
    return {kind: statistics.median(values) for kind, values in samples.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=7)
    parser.add_argument("--first-epoch-runs", type=int, default=3)
    parser.add_argument("--loss-tolerance", type=float, default=0.1,
                        help="largest training-set MSE difference from lamina's that passes")
    parser.add_argument("--first-epoch-worker", help=argparse.SUPPRESS)
    parser.add_argument("--verbose", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.first_epoch_worker:
        return first_epoch_worker(args.first_epoch_worker, args.verbose)
    x, y = make_data()
    sides = [JaxSide(x, y), LaminaSide(x, y)]
    try:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        sides.append(KerasSide(x, y))
    except ImportError:
        print("(keras not installed: comparing with hand-written JAX only)")
    times = {side.name: [] for side in sides}
    for epoch in range(args.epochs):
        for side in sides:
            start = time.perf_counter()
            side.epoch()
            elapsed = time.perf_counter() - start
            if epoch > 0:
                times[side.name].append(elapsed)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"book MLP, {ROWS} rows, batch {BATCH}: median of {args.epochs - 1} epochs "
          f"(after the first); loss: MSE on the training set after {args.epochs} epochs")
    losses = {}
    for side in sides:
        losses[side.name] = loss = float(np.mean((side.predict(x) - y) ** 2))
        print(f"  {side.name:24s} {medians[side.name] * 1e3:8.1f} ms/epoch   loss {loss:.4f}")
    lamina_t = medians["lamina"]
    failed = {name: not abs(loss - losses["lamina"]) <= args.loss_tolerance
              for name, loss in losses.items()}
    for name in failed:
        if failed[name]:
            print(f"  FAILURE: {name}'s loss differs from lamina's by more than "
                  f"{args.loss_tolerance}")
    print(f"lamina / hand-written jax = {lamina_t / medians['hand-written jax+optax']:.2f} "
          "(target <= 1.3)")
    _results.emit("MLP epoch", "hand-written jax+optax",
                  medians["hand-written jax+optax"] / lamina_t,
                  failure=failed["hand-written jax+optax"])
    if "keras 3 (jax)" not in medians:
        return
    print(f"keras 3 (jax) / lamina   = {medians['keras 3 (jax)'] / lamina_t:.1f} "
          "(target >= 5)")
    _results.emit("MLP epoch", "keras 3 (jax)", medians["keras 3 (jax)"] / lamina_t,
                  failure=failed["keras 3 (jax)"])
    if args.first_epoch_runs:
        for verbose in (0, 1):
            first = first_epoch_seconds(["lamina", "keras"], verbose, args.first_epoch_runs)
            print(f"first epoch, verbose={verbose}, fresh processes (median of "
                  f"{args.first_epoch_runs}): lamina {first['lamina']:.2f} s, keras 3 (jax) "
                  f"{first['keras']:.2f} s; keras / lamina = "
                  f"{first['keras'] / first['lamina']:.2f} (target >= 1)")
            _results.emit(f"MLP first epoch in a fresh process (verbose={verbose})",
                          "keras 3 (jax)", first["keras"] / first["lamina"],
                          lamina_first_epoch_s=round(first["lamina"], 3))


if __name__ == "__main__":
    main()
