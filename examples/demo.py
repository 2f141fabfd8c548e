"""lamina's demo: the runtime at work on a small regression problem.

Fits y = 3*x0 - 2*x1 + 0.5 with hand-made Variables, a compiled training step, gradients of a
stateful loss, a streaming mean kept in Variables, and reproducible randomness. Later issues
grow this into the full demo (models, fit, saving) on real data.
"""

import time

import jax.numpy as jnp

import lamina as keras


def main():
    keras.utils.set_random_seed(42)
    true_w = jnp.array([[3.0], [-2.0]])
    x = keras.random.normal((512, 2))
    y = x @ true_w + 0.5 + 0.05 * keras.random.normal((512, 1))

    kernel = keras.Variable(keras.random.normal((2, 1), stddev=0.1), name="kernel")
    bias = keras.Variable(jnp.zeros((1,)), name="bias")
    loss_total = keras.Variable(0.0, name="loss_total")  # a streaming mean, as metrics keep
    loss_count = keras.Variable(0.0, name="loss_count")
    learning_rate = 0.1

    def mse(xb, yb):
        loss = jnp.mean((xb @ kernel + bias - yb) ** 2)
        loss_total.assign_add(loss)  # assignments inside the loss take effect
        loss_count.assign_add(1.0)
        return loss

    @keras.function
    def train_step(xb, yb):
        loss, (g_kernel, g_bias) = keras.value_and_grad(mse, [kernel, bias])(xb, yb)
        kernel.assign_sub(learning_rate * g_kernel)
        bias.assign_sub(learning_rate * g_bias)
        return loss

    print("lamina demo: linear regression with a compiled, stateful training step")
    start = time.perf_counter()
    for epoch in range(5):
        loss_total.assign(0.0)
        loss_count.assign(0.0)
        order = keras.random.shuffle(jnp.arange(512))
        for i in range(0, 512, 32):
            idx = order[i:i + 32]
            train_step(x[idx], y[idx])
        print(f"  epoch {epoch + 1}: mean loss {float(loss_total.numpy() / loss_count.numpy()):.5f}")
    elapsed = time.perf_counter() - start
    print(f"  traced {train_step.tracing_count} time(s); 80 steps in {elapsed:.2f} s")
    w = kernel.numpy().ravel()
    print(f"  learned w = [{w[0]:.3f}, {w[1]:.3f}], b = {float(bias.numpy()[0]):.3f} "
          "(true: [3, -2], 0.5)")
    if abs(w[0] - 3) > 0.05 or abs(w[1] + 2) > 0.05:
        raise SystemExit("demo failed: the weights did not converge")


if __name__ == "__main__":
    main()
