"""Compiled functions and their tracing rules (Chapter 12, "TensorFlow Functions and Graphs").

keras.function plays the role of tf.function: it traces the Python function once per input
signature into a JAX program, compiles it with XLA, and reuses it. The script shows when it
traces again, that Python side effects happen only while tracing, what the traced graph
looks like, and what each of the book's "TF Function rules" becomes with JAX.

    python examples/tracing.py [--small]
"""

import sys

import jax
import jax.numpy as jnp
import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import make_parser


def cube(x):
    return x ** 3


def basics():
    print("== a Python function and its compiled version ==")
    print(f"  cube(2) = {cube(2)}, cube(tf.constant(2.0)) = {cube(tf.constant(2.0))}")
    tf_cube = keras.function(cube)  # the book's tf.function(cube)
    print(f"  tf_cube(2) = {tf_cube(2)!r}")
    print(f"  tf_cube(tf.constant(2.0)) = {tf_cube(tf.constant(2.0))!r}")
    # The book's tf_cube.python_function: the original function is kept as __wrapped__.
    print(f"  tf_cube.__wrapped__(2) = {tf_cube.__wrapped__(2)}")
    # The book's concrete function graph: JAX's intermediate program for one signature.
    print("  the traced program for a float32 scalar:")
    for line in str(jax.make_jaxpr(cube)(jnp.float32(2.0))).splitlines():
        print(f"    {line}")


def retracing():
    print("== when a compiled function traces again ==")
    traces = []

    @keras.function
    def tf_cube(x, label="cube"):
        traces.append(f"{label}{tuple(jnp.shape(x))}")  # a Python side effect: tracing only
        return x ** 3

    tf_cube(tf.constant(2.0))
    tf_cube(tf.constant(3.0))                  # same shape and dtype: reused
    tf_cube(tf.constant([1.0, 2.0]))           # new shape: traced again
    tf_cube(tf.constant([5.0, 6.0]))           # reused
    tf_cube(2.0)                               # a Python float (weakly typed): traced again
    tf_cube(3.0)                               # another float: reused, numbers are values
    tf_cube(tf.constant(2.0), label="other")   # a new string (or bool, or None): traced again
    print(f"  8 calls, {tf_cube.tracing_count} traces: {traces}")
    # Unlike tf.function, which retraces for every new Python number, lamina traces numbers
    # as values. When Python code must see the number itself, make the argument static.
    power = keras.function(lambda x, n: x ** n, static_argnames="n")
    power(2.0, n=2), power(2.0, n=3), power(3.0, n=3)
    print(f"  with static_argnames='n', n=2 then n=3: {power.tracing_count} traces")


def side_effects():
    print("== side effects run once, at tracing ==")
    counter = keras.Variable(0)
    calls = []

    @keras.function
    def increment(step):
        calls.append("python")                  # runs while tracing only
        tf.print("  tf.print runs at every call: step", step, output_stream=sys.stdout)
        counter.assign_add(1)                   # Variable updates are part of the program
        return counter

    for step in range(3):
        increment(step)
    jax.effects_barrier()  # tf.print's output comes asynchronously: wait for it
    # Two traces, not one: the first finds the Variable `counter` and traces again carrying it.
    print(f"  3 calls: the Python list grew {len(calls)} times, the Variable is "
          f"{int(counter.numpy())}")


def rules():
    print("== the book's TF Function rules, with JAX ==")
    # Rule 1: NumPy and plain Python run once, at tracing; their results are constants.
    @keras.function
    def noisy(x):
        return x + np.random.rand()      # frozen at tracing; use keras.random for fresh noise

    print(f"  np.random.rand() inside: {float(noisy(0.0)) == float(noisy(0.0))} "
          "(the same number at every call)")

    @keras.function
    def fresh(x):
        return x + keras.random.uniform(())

    print(f"  keras.random.uniform inside: {float(fresh(0.0)) != float(fresh(0.0))} "
          "(new numbers at every call)")

    # Rule 2: other Python functions called inside are traced into the same program.
    print(f"  calling cube inside: {float(keras.function(lambda x: cube(x) + 1)(2.0))}")

    # Rule 3: Variables are created on the first call only (a layer built lazily, optimizer
    # slots); creating one on a later trace is refused with a fix.
    layer = keras.layers.Dense(1)
    apply = keras.function(lambda x: layer(x))
    apply(np.ones((1, 3), np.float32))
    print(f"  Dense built on the first call: {len(layer.weights)} weights")

    # As with tf.function, a Variable created at every call is refused (even on the first
    # call, which traces twice), with how to fix it.
    @keras.function
    def make_variable(x):
        return keras.Variable(0.0) + x

    try:
        make_variable(1.0)
    except ValueError as error:
        print(f"  a Variable created at every call: ValueError: {str(error)[:70]}...")

    # Rule 5: loops and branches. There is no AutoGraph: a Python `for` over range(n) is
    # unrolled at tracing, and a Python `if` on a traced value is an error. Use tf.where or
    # jax.lax.cond for branches, and jax.lax.fori_loop for loops that should stay loops.
    @keras.function
    def absolute(x):
        if x > 0:
            return x
        return -x

    try:
        absolute(tf.constant(-2.0))
    except jax.errors.TracerBoolConversionError:
        print("  `if x > 0` on a traced x: TracerBoolConversionError; tf.where works: "
              f"{float(keras.function(lambda x: tf.where(x > 0, x, -x))(-2.0))}")

    @keras.function
    def add_10(x):
        return jax.lax.fori_loop(0, 10, lambda i, total: total + 1, x)

    print(f"  jax.lax.fori_loop adding 1 ten times to 0: {float(add_10(0.0))}")

    # Rule 6: prefer vectorized code; a Python loop over the elements unrolls into one op
    # per element, while the vectorized form is one op whatever the size.
    x = jnp.arange(100.0)
    looped = jax.make_jaxpr(lambda x: jnp.stack([v ** 3 for v in x]))(x)
    vectorized = jax.make_jaxpr(cube)(x)
    print(f"  cubing 100 numbers: {len(looped.eqns)} operations looped, "
          f"{len(vectorized.eqns)} vectorized")


def main(argv=None):
    make_parser(__doc__).parse_args(argv)  # --small is accepted; everything here is tiny
    keras.utils.set_random_seed(42)
    basics()
    retracing()
    side_effects()
    rules()


if __name__ == "__main__":
    main()
