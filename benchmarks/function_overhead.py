"""Per-call overhead of `keras.function` updating 10 Variables vs a hand-written `jax.jit`.

The hand-written side passes the 10 values in and gets the 10 new values back explicitly; the
lamina side closes over Variables and assigns them. Both run the same arithmetic on scalars,
so the time is almost all dispatch overhead.

    python benchmarks/function_overhead.py
"""

import argparse

import jax
import jax.numpy as jnp

import lamina as keras
from _timing import interleaved

N_VARIABLES = 10


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    variables = [keras.Variable(float(i), name=f"v{i}") for i in range(N_VARIABLES)]

    @keras.function
    def lamina_step(x):
        for v in variables:
            v.assign(v * 0.5 + x)
        return variables[0]

    @jax.jit
    def jax_step(values, x):
        return [v * 0.5 + x for v in values]

    x = jnp.float32(1.0)
    state = {"values": [jnp.float32(i) for i in range(N_VARIABLES)]}

    def run_jax():
        state["values"] = jax_step(state["values"], x)

    def run_lamina():
        lamina_step(x)

    run_jax(), run_lamina()  # compile both
    times = interleaved(
        {"jax.jit (explicit state)": run_jax, "keras.function": run_lamina},
        args.calls, args.repeats,
        sync={"jax.jit (explicit state)": lambda: jax.block_until_ready(state["values"]),
              "keras.function": lambda: jax.block_until_ready(variables[0].value)})
    base = times["jax.jit (explicit state)"]
    print(f"compiled step updating {N_VARIABLES} Variables, median of {args.repeats} x "
          f"{args.calls} calls")
    for name, seconds in times.items():
        print(f"  {name:26s} {seconds * 1e6:8.1f} us/call   {seconds / base:5.2f}x")
    ratio = times["keras.function"] / base
    print(f"ratio keras.function / jax.jit = {ratio:.2f} (target <= 2.0)")


if __name__ == "__main__":
    main()
