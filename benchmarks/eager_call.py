"""`model(x)` and `model.predict(x)` on one row: lamina's cached compiled forward vs the bare
compiled computation (a hand-written `jax.jit` of the same math) and vs Keras 3 on JAX when
installed. `predict` takes a NumPy row and returns NumPy (the result is on the host), so it
includes the transfers both ways; the issue's target for it is 200 us.

    python benchmarks/eager_call.py
"""

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

import lamina
from _timing import interleaved


def build_lamina():
    return lamina.Sequential([
        lamina.Input((8,)), lamina.layers.Dense(30, activation="selu"), lamina.layers.Dense(1)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    x = np.random.default_rng(0).normal(size=(1, 8)).astype(np.float32)
    model = build_lamina()
    weights = [w.value for w in model.weights]

    @jax.jit
    def bare(w, x):
        h = jax.nn.selu(x @ w[0] + w[1])
        return h @ w[2] + w[3]

    xj = jnp.asarray(x)
    candidates = {
        "jax.jit forward (bare)": lambda: bare(weights, xj),
        "lamina model(x)": lambda: model(xj),
        "lamina model(x), NumPy x": lambda: model(x),
        "lamina predict(x)": lambda: model.predict(x, verbose=0),
    }
    keras_model = None
    try:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras

        keras_model = keras.Sequential([
            keras.Input((8,)), keras.layers.Dense(30, activation="selu"), keras.layers.Dense(1)])
        candidates["keras 3 (jax) model(x)"] = lambda: keras_model(x)
        candidates["keras 3 (jax) predict(x)"] = lambda: keras_model.predict(x, verbose=0)
    except ImportError:
        pass
    for fn in candidates.values():
        jax.block_until_ready(fn())
    last = {}

    def wrap(name, fn):
        def run():
            last[name] = fn()
        return run

    runners = {name: wrap(name, fn) for name, fn in candidates.items()}
    sync = {name: (lambda n=name: jax.block_until_ready(last.get(n))) for name in candidates}
    times = interleaved(runners, args.calls, args.repeats, sync)
    base = times["jax.jit forward (bare)"]
    print(f"model(x) on one row, median of {args.repeats} x {args.calls} calls")
    for name, seconds in times.items():
        print(f"  {name:30s} {seconds * 1e6:8.1f} us/call   overhead "
              f"{(seconds - base) * 1e6:7.1f} us")
    for kind in ("model(x)", "predict(x)"):
        ours, theirs = times.get(f"lamina {kind}"), times.get(f"keras 3 (jax) {kind}")
        if ours and theirs:
            print(f"  keras 3 (jax) {kind} / lamina {kind} = {theirs / ours:.1f}")


if __name__ == "__main__":
    main()
