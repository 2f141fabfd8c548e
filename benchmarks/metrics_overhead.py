"""Eager `Precision.update_state` + `result()` on 8 values: lamina vs Keras 3 (JAX backend).

The book's usage: a metric called from Python, batch after batch, outside any compiled step.
lamina answers through a compiled program cached per input signature; Keras 3 on JAX runs the
update op by op. Both sides get the same NumPy arrays; the Keras side runs only if Keras is
importable (it is set to the JAX backend first).

    python benchmarks/metrics_overhead.py
"""

import argparse
import os

import jax
import numpy as np

import lamina
from _timing import interleaved

Y_TRUE = np.array([0, 1, 1, 1, 0, 1, 0, 1], "float32")
Y_PRED = np.array([1, 1, 0, 1, 0, 1, 0, 1], "float32")
TARGET_US = 150.0


def _candidates():
    ours = lamina.metrics.Precision()
    state = {}

    def run_lamina():
        ours.update_state(Y_TRUE, Y_PRED)
        state["lamina"] = ours.result()

    candidates = {"lamina": run_lamina}
    sync = {"lamina": lambda: jax.block_until_ready(state["lamina"])}
    try:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras
    except ImportError:
        keras = None
    if keras is not None and keras.backend.backend() == "jax":
        theirs = keras.metrics.Precision()

        def run_keras():
            theirs.update_state(Y_TRUE, Y_PRED)
            state["keras"] = theirs.result()

        candidates["keras 3 (jax)"] = run_keras
        sync["keras 3 (jax)"] = lambda: jax.block_until_ready(state["keras"])
    return candidates, sync


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    candidates, sync = _candidates()
    for run in candidates.values():  # compile and warm up
        for _ in range(5):
            run()
    times = interleaved(candidates, args.calls, args.repeats, sync)
    print(f"eager Precision update_state + result on 8 values, median of {args.repeats} x "
          f"{args.calls} calls")
    for name, seconds in times.items():
        print(f"  {name:16s} {seconds * 1e6:8.1f} us/call")
    ours = times["lamina"] * 1e6
    print(f"lamina: {ours:.1f} us (target <= {TARGET_US:.0f} us)")
    if "keras 3 (jax)" in times:
        print(f"ratio keras / lamina = {times['keras 3 (jax)'] / times['lamina']:.1f}x")


if __name__ == "__main__":
    main()
