"""A custom training loop (Chapter 12, "Custom Training Loops").

The book's loop on a housing-shaped regression: random batches, the main loss plus the
regularization losses, gradients applied by the optimizer, constraints applied after each
step, a running mean of the loss and a streaming MAE, a status bar (the book's
print_status_bar, or tqdm with --tqdm), and the metrics reset at each epoch end.

The gradient tape becomes keras.value_and_grad, and the step is compiled with keras.function
(the book's tf.function), so that each step is one XLA program rather than many small ops.

    python examples/custom_training_loop.py [--small] [--tqdm]
"""

import numpy as np

import lamina as keras
from lamina.compat import tf

from _common import load_housing, make_parser


def random_batch(X, y, batch_size=32):
    idx = np.random.randint(len(X), size=batch_size)
    return X[idx], y[idx]


def print_status_bar(iteration, total, loss, metrics=None):
    metrics = " - ".join(f"{m.name}: {float(m.result()):.4f}"
                         for m in [loss] + (metrics or []))
    end = "" if iteration < total else "\n"
    print(f"\r{iteration}/{total} - " + metrics, end=end)


def build_model():
    l2_reg = keras.regularizers.l2(0.05)
    return keras.models.Sequential([
        keras.layers.Dense(30, activation="elu", kernel_initializer="he_normal",
                           kernel_regularizer=l2_reg, input_shape=[8],
                           # Not in the book's model: a constraint, for the loop to apply.
                           kernel_constraint=keras.constraints.MaxNorm(1.0)),
        keras.layers.Dense(1, kernel_regularizer=l2_reg),
    ])


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--tqdm", action="store_true", help="show a tqdm progress bar")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(42)
    np.random.seed(42)
    (X_train, y_train), (X_valid, y_valid), _ = load_housing(400 if args.small else 10000)

    model = build_model()
    n_epochs = 2 if args.small else 5
    batch_size = 32
    n_steps = len(X_train) // batch_size
    optimizer = keras.optimizers.Nadam(learning_rate=0.01)
    loss_fn = keras.losses.mean_squared_error
    mean_loss = keras.metrics.Mean(name="loss")
    metrics = [keras.metrics.MeanAbsoluteError()]

    @keras.function  # the book's tf.function: traced once, then one compiled program a step
    def train_step(X_batch, y_batch):
        def compute_loss():  # the body of the book's `with tf.GradientTape() as tape:`
            y_pred = model(X_batch, training=True)
            main_loss = tf.reduce_mean(loss_fn(y_batch, y_pred))
            loss = tf.add_n([main_loss] + model.losses)
            return loss, y_pred

        (loss, y_pred), gradients = keras.value_and_grad(
            compute_loss, model.trainable_variables, has_aux=True)()
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        for variable in model.variables:
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable))
        mean_loss(loss)
        for metric in metrics:
            metric(y_batch, y_pred)

    for epoch in range(1, n_epochs + 1):
        if args.tqdm:
            from tqdm.auto import trange

            steps = trange(1, n_steps + 1, desc=f"Epoch {epoch}/{n_epochs}")
        else:
            print(f"Epoch {epoch}/{n_epochs}")
            steps = range(1, n_steps + 1)
        for step in steps:
            train_step(*random_batch(X_train, y_train, batch_size))
            if args.tqdm:
                steps.set_postfix({m.name: f"{float(m.result()):.4f}"
                                   for m in [mean_loss] + metrics}, refresh=False)
            else:
                print_status_bar(step * batch_size, len(y_train), mean_loss, metrics)
        if not args.tqdm:
            print_status_bar(len(y_train), len(y_train), mean_loss, metrics)
        for metric in [mean_loss] + metrics:
            metric.reset_state()

    y_pred = model(X_valid)
    kernel_norms = np.linalg.norm(model.layers[0].kernel.numpy(), axis=0)
    print(f"validation MSE: {np.mean(np.square(np.asarray(y_pred) - y_valid)):.4f}")
    print(f"largest norm of a first-layer kernel column: {kernel_norms.max():.4f} "
          "(MaxNorm(1.0) holds)")
    # The first call traces twice: once to find the Variables the step uses and creates (the
    # optimizer's slots), as tf.function does when a call creates variables; then never again.
    print(f"train_step was traced {train_step.tracing_count} times for {n_epochs * n_steps} "
          "steps")


if __name__ == "__main__":
    main()
