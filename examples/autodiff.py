"""Computing gradients (Chapter 12, "Computing Gradients Using Autodiff").

The book records operations on a tf.GradientTape; JAX differentiates functions instead, so
each `with tf.GradientTape() as tape: z = f(w1, w2)` / `tape.gradient(z, [w1, w2])` pair
becomes `keras.value_and_grad(f, [w1, w2])(w1, w2)`. Shown: finite differences against
autodiff (36 and 10 at w1=5, w2=3), second derivatives, gradients of constants, stop_gradient,
the softplus that overflows to NaN gradients and its fix with tf.custom_gradient, and the
gradient of an l1 regularizer.

    python examples/autodiff.py [--small]
"""

import jax
import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import make_parser


def f(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


def f_with_stop_gradient(w1, w2):
    return 3 * w1 ** 2 + tf.stop_gradient(2 * w1 * w2)


def my_softplus(z):
    return tf.math.log(tf.exp(z) + 1.0)


@tf.custom_gradient
def my_better_softplus(z):
    exp = tf.exp(z)

    def my_softplus_gradients(grad):
        return grad / (1 + 1 / exp)
    # For large z, log(exp(z) + 1) is z, and computing it so avoids exp(z) = inf.
    return tf.where(z > 30., z, tf.math.log(exp + 1.)), my_softplus_gradients


def my_l1_regularizer(weights):
    return tf.reduce_sum(tf.abs(0.01 * weights))


def as_floats(values, digits=6):
    """Plain rounded floats, so that float32 noise does not clutter the printout."""
    return np.asarray(values, dtype=np.float64).round(digits).tolist()


def finite_differences():
    print("== finite differences: an approximation, one evaluation per parameter ==")
    w1, w2 = 5, 3
    eps = 1e-6
    print(f"  df/dw1 ~ {(f(w1 + eps, w2) - f(w1, w2)) / eps:.6f}")
    print(f"  df/dw2 ~ {(f(w1, w2 + eps) - f(w1, w2)) / eps:.6f}")


def reverse_mode():
    print("== reverse-mode autodiff: exact, one pass for all parameters ==")
    w1, w2 = keras.Variable(5.), keras.Variable(3.)
    # tf.GradientTape's role: value_and_grad differentiates f with respect to the Variables.
    z, gradients = keras.value_and_grad(f, [w1, w2])(w1, w2)
    print(f"  f(5, 3) = {float(z)}, gradients = {as_floats(gradients)}")
    # No tape to keep (the book's persistent=True): call keras.grad as often as needed.
    dz_dw1 = keras.grad(f, [w1])(w1, w2)[0]
    print(f"  keras.grad with respect to w1 alone: {float(dz_dw1)}")

    # Second derivatives: nested differentiation (the book's two nested tapes).
    def first_derivative(index):
        return lambda: keras.grad(f, [w1, w2])(w1, w2)[index]
    hessian = [as_floats(keras.grad(first_derivative(i), [w1, w2])()) for i in (0, 1)]
    print(f"  Hessian: {hessian} (d2f/dw1^2 = 6, d2f/dw1dw2 = 2, d2f/dw2^2 = 0)")

    # Constants: the book watches them on the tape; with JAX, differentiate the plain
    # function with jax.grad (or wrap the values in keras.Variable).
    c1, c2 = tf.constant(5.), tf.constant(3.)
    print(f"  gradients with respect to constants: "
          f"{as_floats(jax.grad(f, argnums=(0, 1))(c1, c2))}")

    _, gradients = keras.value_and_grad(f_with_stop_gradient, [w1, w2])(w1, w2)
    # TensorFlow returns None for w2 here; JAX returns an explicit zero.
    print(f"  with stop_gradient around 2*w1*w2: {as_floats(gradients)}")


def softplus_instability():
    print("== numerical instability and tf.custom_gradient ==")
    x = keras.Variable(100.)
    for function in (my_softplus, my_better_softplus):
        value, gradient = keras.value_and_grad(function, x)(x)
        print(f"  {function.__name__}(100) = {float(value)}, gradient {float(gradient)}")
    z = tf.constant([-10.0, 0.0, 10.0, 100.0])
    gradients = jax.vmap(jax.grad(my_better_softplus))(z)
    print(f"  my_better_softplus' at {as_floats(z)}: {as_floats(gradients, 5)} "
          "(the sigmoid)")


def regularizer_gradient():
    print("== the gradient of a regularizer ==")
    weights = keras.Variable([[-2.0, 0.5], [1.0, -0.1]])
    penalty, gradient = keras.value_and_grad(my_l1_regularizer, weights)(weights)
    print(f"  my_l1_regularizer = {float(penalty):.3f}, gradient "
          f"{as_floats(gradient)} (0.01 times the signs)")


def main(argv=None):
    make_parser(__doc__).parse_args(argv)  # --small is accepted; everything here is tiny
    finite_differences()
    reverse_mode()
    softplus_instability()
    regularizer_gradient()


if __name__ == "__main__":
    main()
