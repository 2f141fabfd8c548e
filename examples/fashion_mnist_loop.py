"""A custom training loop on Fashion-MNIST-shaped data (Chapter 12, exercise 12b).

28x28 grayscale images of 10 classes, generated here (each class a blocky random pattern,
each image that pattern shifted, dimmed and noisy) so that nothing is downloaded; use
keras.datasets.fashion_mnist.load_data() for the real images. The loop is the exercise's:
random batches, a tqdm bar per epoch showing the running loss and accuracy, and the
validation loss and accuracy at each epoch's end.

    python examples/fashion_mnist_loop.py [--small]
"""

import numpy as np
from tqdm.auto import tqdm, trange

import lamina as keras
from lamina.compat import tf

from _common import make_parser


def fashion_like(n_images, seed=0):
    """Images in [0, 1] of shape (n, 28, 28) and int labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    # Classes share 40% of their pattern, and images are shifted and noisy, so that (as with
    # the real data set) a linear model gets about 75% and a small MLP does better.
    shared = rng.random((1, 7, 7))
    coarse = 0.4 * shared + 0.6 * rng.random((10, 7, 7))
    patterns = np.kron(coarse, np.ones((4, 4)))  # 7x7 blocks, upsampled to 28x28
    labels = rng.integers(0, 10, size=n_images)
    shifts = rng.integers(-3, 4, size=(n_images, 2))
    images = np.stack([np.roll(patterns[label], tuple(shift), axis=(0, 1))
                       for label, shift in zip(labels, shifts)])
    images = images * rng.uniform(0.6, 1.0, size=(n_images, 1, 1))
    images = np.clip(images + rng.normal(0, 0.45, size=images.shape), 0, 1)
    return images.astype(np.float32), labels.astype(np.int32)


def random_batch(X, y, batch_size=32):
    idx = np.random.randint(len(X), size=batch_size)
    return X[idx], y[idx]


def main(argv=None):
    args = make_parser(__doc__).parse_args(argv)
    keras.utils.set_random_seed(42)
    np.random.seed(42)
    X, y = fashion_like(1200 if args.small else 30000)
    n_valid = len(X) // 6
    X_train, y_train, X_valid, y_valid = X[n_valid:], y[n_valid:], X[:n_valid], y[:n_valid]

    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    n_epochs = 2 if args.small else 5
    batch_size = 32
    n_steps = len(X_train) // batch_size
    optimizer = keras.optimizers.Nadam(learning_rate=0.01)
    loss_fn = keras.losses.sparse_categorical_crossentropy
    mean_loss = keras.metrics.Mean(name="loss")
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]

    @keras.function  # tf.function in the book's solution; the tape becomes value_and_grad
    def train_step(X_batch, y_batch):
        def compute_loss():
            y_pred = model(X_batch, training=True)
            main_loss = tf.reduce_mean(loss_fn(y_batch, y_pred))
            return tf.add_n([main_loss] + model.losses), y_pred

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
        with trange(1, n_steps + 1, desc=f"Epoch {epoch}/{n_epochs}") as steps:
            for step in steps:
                train_step(*random_batch(X_train, y_train, batch_size))
                status = {m.name: float(m.result()) for m in [mean_loss] + metrics}
                steps.set_postfix(status, refresh=False)
            y_pred = model(X_valid)
            status["val_loss"] = float(np.mean(loss_fn(y_valid, y_pred)))
            status["val_accuracy"] = float(np.mean(
                keras.metrics.sparse_categorical_accuracy(y_valid, y_pred)))
            steps.set_postfix(status)
        tqdm.write(f"epoch {epoch}: " + ", ".join(f"{k}={v:.4f}" for k, v in status.items()))
        for metric in [mean_loss] + metrics:
            metric.reset_state()


if __name__ == "__main__":
    main()
