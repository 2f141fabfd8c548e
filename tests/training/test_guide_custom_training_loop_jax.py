"""The keras-io guide "Writing a training loop from scratch in JAX"
(guides/writing_a_custom_training_loop_in_jax.py, by fchollet), run as a user would run it on
lamina.

The guide's code is copied as written, with `import lamina as keras` instead of `import keras`
and without `os.environ["KERAS_BACKEND"]`. Two things the guide takes from outside Keras are
replaced by small stand-ins with the same calls, so that the test needs no download and no
TensorFlow: `keras.datasets.mnist.load_data()` by MNIST-shaped synthetic digits (a few
thousand, with labels that a small MLP can learn), and `tf.data.Dataset` by a class with the
three methods the guide calls (`from_tensor_slices`, `shuffle`, `batch`; batches have
`.numpy()`). Each section becomes a test checking what the guide shows: the loss goes down,
the loops are stateless until the state is assigned back, the metrics' states come back out of
the jitted steps, `stateless_call(..., return_losses=True)` returns the layers' `add_loss`
values.

The guide passes the models' and optimizers' Variables themselves (`state =
model.trainable_variables, ...`) to the jitted steps. lamina accepts them; Keras 3.15 on the
JAX this project uses stops there ("Triggering __jax_array__() during abstractification is no
longer supported").
"""

import jax
import numpy as np

import lamina as keras

# --------------------------------------------------------------------------------------
# Stand-ins for MNIST and tf.data.


def load_mnist_like(train=3000, test=500, seed=0):
    """`(x_train, y_train), (x_test, y_test)` shaped like `mnist.load_data()`: uint8 images
    of 28x28 and integer labels 0-9. Each digit is a bright horizontal band (rows
    2k+4 .. 2k+6) over noise, so the classes are learnable but not trivially so."""
    rng = np.random.default_rng(seed)

    def make(count):
        labels = rng.integers(0, 10, size=count)
        images = rng.integers(0, 120, size=(count, 28, 28))
        for index, label in enumerate(labels):
            images[index, 2 * label + 4:2 * label + 7, 4:24] += 120
        return images.astype("uint8"), labels.astype("uint8")

    return make(train), make(test)


class _Tensor:
    def __init__(self, array):
        self._array = array

    def numpy(self):
        return self._array


class _Dataset:
    """The part of `tf.data.Dataset` the guide uses."""

    def __init__(self, arrays, batch_size=None, shuffle_seed=None):
        self._arrays, self._batch_size, self._shuffle_seed = arrays, batch_size, shuffle_seed

    @classmethod
    def from_tensor_slices(cls, arrays):
        return cls(tuple(np.asarray(a) for a in arrays))

    def shuffle(self, buffer_size):
        return _Dataset(self._arrays, self._batch_size, shuffle_seed=buffer_size)

    def batch(self, batch_size):
        return _Dataset(self._arrays, batch_size, self._shuffle_seed)

    def __iter__(self):
        count = len(self._arrays[0])
        order = np.arange(count)
        if self._shuffle_seed is not None:
            order = np.random.default_rng(self._shuffle_seed).permutation(count)
        for start in range(0, count, self._batch_size):
            rows = order[start:start + self._batch_size]
            yield tuple(_Tensor(a[rows]) for a in self._arrays)


class tf:  # noqa: N801 - stands in for the `tf` module the guide imports
    class data:  # noqa: N801
        Dataset = _Dataset


# --------------------------------------------------------------------------------------
# "A first end-to-end example" (the guide's code from here on)


def get_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


def prepare_data():
    # Prepare the training dataset.
    batch_size = 32
    (x_train, y_train), (x_test, y_test) = load_mnist_like()
    x_train = np.reshape(x_train, (-1, 784)).astype("float32")
    x_test = np.reshape(x_test, (-1, 784)).astype("float32")
    y_train = keras.utils.to_categorical(y_train)
    y_test = keras.utils.to_categorical(y_test)

    # Reserve 10,000 samples for validation (here: 500).
    x_val = x_train[-500:]
    y_val = y_train[-500:]
    x_train = x_train[:-500]
    y_train = y_train[:-500]

    # Prepare the training dataset.
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    train_dataset = train_dataset.shuffle(buffer_size=1024).batch(batch_size)

    # Prepare the validation dataset.
    val_dataset = tf.data.Dataset.from_tensor_slices((x_val, y_val))
    val_dataset = val_dataset.batch(batch_size)
    return batch_size, train_dataset, val_dataset, (x_val, y_val)


def test_first_end_to_end_example(capsys):
    keras.utils.set_random_seed(0)
    model = get_model()
    batch_size, train_dataset, val_dataset, _ = prepare_data()

    # Instantiate a loss function.
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    # Instantiate an optimizer.
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)

    def compute_loss_and_updates(trainable_variables, non_trainable_variables, x, y):
        y_pred, non_trainable_variables = model.stateless_call(
            trainable_variables, non_trainable_variables, x, training=True
        )
        loss = loss_fn(y, y_pred)
        return loss, non_trainable_variables

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables = state
        x, y = data
        (loss, non_trainable_variables), grads = grad_fn(
            trainable_variables, non_trainable_variables, x, y
        )
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables
        )
        # Return updated state
        return loss, (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
        )

    eager_train_step = train_step

    @jax.jit
    def train_step(state, data):
        trainable_variables, non_trainable_variables, optimizer_variables = state
        x, y = data
        (loss, non_trainable_variables), grads = grad_fn(
            trainable_variables, non_trainable_variables, x, y
        )
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables
        )
        # Return updated state
        return loss, (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
        )

    # Build optimizer variables.
    optimizer.build(model.trainable_variables)

    trainable_variables = model.trainable_variables
    non_trainable_variables = model.non_trainable_variables
    optimizer_variables = optimizer.variables
    state = trainable_variables, non_trainable_variables, optimizer_variables

    # The eager step (not jitted) and the jitted one compute the same thing.
    first_batch = next(iter(train_dataset))
    first_batch = (first_batch[0].numpy(), first_batch[1].numpy())
    eager_loss, eager_state = eager_train_step(state, first_batch)
    jit_loss, jit_state = train_step(state, first_batch)
    np.testing.assert_allclose(eager_loss, jit_loss, rtol=1e-5)
    for a, b in zip(jax.tree_util.tree_leaves(eager_state), jax.tree_util.tree_leaves(jit_state)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)

    initial_weights = model.get_weights()
    losses = []
    # Training loop
    for step, data in enumerate(train_dataset):
        data = (data[0].numpy(), data[1].numpy())
        loss, state = train_step(state, data)
        losses.append(float(loss))
        # Log every 100 batches.
        if step % 100 == 0:
            print(f"Training loss (for 1 batch) at step {step}: {float(loss):.4f}")
            print(f"Seen so far: {(step + 1) * batch_size} samples")

    printed = capsys.readouterr().out
    assert "Training loss (for 1 batch) at step 0:" in printed
    assert "Seen so far: 3232 samples" not in printed and "Seen so far: 32 samples" in printed
    assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:10])
    # The loop is stateless: the model's Variables still hold their initial values.
    for before, now in zip(initial_weights, model.get_weights()):
        np.testing.assert_array_equal(before, now)

    trainable_variables, non_trainable_variables, optimizer_variables = state
    for variable, value in zip(model.trainable_variables, trainable_variables):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable_variables):
        variable.assign(value)

    # Once assigned, the model predicts with the trained weights.
    x_batch, y_batch = first_batch
    trained_loss = float(loss_fn(y_batch, model(x_batch)))
    assert trained_loss < 0.5 * losses[0]


def test_low_level_handling_of_metrics(capsys):
    keras.utils.set_random_seed(1)
    batch_size, train_dataset, val_dataset, (x_val, y_val) = prepare_data()

    # Get a fresh model
    model = get_model()

    # Instantiate an optimizer to train the model.
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    # Instantiate a loss function.
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)

    # Prepare the metrics.
    train_acc_metric = keras.metrics.CategoricalAccuracy()
    val_acc_metric = keras.metrics.CategoricalAccuracy()

    def compute_loss_and_updates(
        trainable_variables, non_trainable_variables, metric_variables, x, y
    ):
        y_pred, non_trainable_variables = model.stateless_call(
            trainable_variables, non_trainable_variables, x
        )
        loss = loss_fn(y, y_pred)
        metric_variables = train_acc_metric.stateless_update_state(
            metric_variables, y, y_pred
        )
        return loss, (non_trainable_variables, metric_variables)

    grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)

    @jax.jit
    def train_step(state, data):
        (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            metric_variables,
        ) = state
        x, y = data
        (loss, (non_trainable_variables, metric_variables)), grads = grad_fn(
            trainable_variables, non_trainable_variables, metric_variables, x, y
        )
        trainable_variables, optimizer_variables = optimizer.stateless_apply(
            optimizer_variables, grads, trainable_variables
        )
        # Return updated state
        return loss, (
            trainable_variables,
            non_trainable_variables,
            optimizer_variables,
            metric_variables,
        )

    @jax.jit
    def eval_step(state, data):
        trainable_variables, non_trainable_variables, metric_variables = state
        x, y = data
        y_pred, non_trainable_variables = model.stateless_call(
            trainable_variables, non_trainable_variables, x
        )
        loss = loss_fn(y, y_pred)
        metric_variables = val_acc_metric.stateless_update_state(
            metric_variables, y, y_pred
        )
        return loss, (
            trainable_variables,
            non_trainable_variables,
            metric_variables,
        )

    # Build optimizer variables.
    optimizer.build(model.trainable_variables)

    trainable_variables = model.trainable_variables
    non_trainable_variables = model.non_trainable_variables
    optimizer_variables = optimizer.variables
    metric_variables = train_acc_metric.variables
    state = (
        trainable_variables,
        non_trainable_variables,
        optimizer_variables,
        metric_variables,
    )

    accuracies = []
    # Training loop
    for step, data in enumerate(train_dataset):
        data = (data[0].numpy(), data[1].numpy())
        loss, state = train_step(state, data)
        # Log every 100 batches (here: every 20).
        if step % 20 == 0:
            print(f"Training loss (for 1 batch) at step {step}: {float(loss):.4f}")
            _, _, _, metric_variables = state
            for variable, value in zip(train_acc_metric.variables, metric_variables):
                variable.assign(value)
            print(f"Training accuracy: {train_acc_metric.result()}")
            accuracies.append(float(train_acc_metric.result()))
            print(f"Seen so far: {(step + 1) * batch_size} samples")

    # The accuracy accumulated over the epoch rises well above chance (0.1).
    assert accuracies[-1] > accuracies[0] and accuracies[-1] > 0.5
    assert "Training accuracy: " in capsys.readouterr().out
    # The metric's count is every sample seen up to the last assignment.
    _, _, _, metric_variables = state
    total, count = (float(np.asarray(v)) for v in metric_variables)
    assert count == 2500 and 0 < total <= count

    metric_variables = val_acc_metric.variables
    (
        trainable_variables,
        non_trainable_variables,
        optimizer_variables,
        metric_variables,
    ) = state
    state = trainable_variables, non_trainable_variables, metric_variables
    # The guide passes the training metric's state on to the validation loop; starting from
    # fresh state measures the validation accuracy alone.
    state = trainable_variables, non_trainable_variables, val_acc_metric.variables

    # Eval loop
    for step, data in enumerate(val_dataset):
        data = (data[0].numpy(), data[1].numpy())
        loss, state = eval_step(state, data)
        # Log every 100 batches (here: every 5).
        if step % 5 == 0:
            print(f"Validation loss (for 1 batch) at step {step}: {float(loss):.4f}")
            _, _, metric_variables = state
            for variable, value in zip(val_acc_metric.variables, metric_variables):
                variable.assign(value)
            print(f"Validation accuracy: {val_acc_metric.result()}")
            print(f"Seen so far: {(step + 1) * batch_size} samples")

    _, _, metric_variables = state
    for variable, value in zip(val_acc_metric.variables, metric_variables):
        variable.assign(value)
    for variable, value in zip(model.trainable_variables, trainable_variables):
        variable.assign(value)
    predicted = np.argmax(np.asarray(model(x_val)), axis=-1)
    expected = float(np.mean(predicted == np.argmax(y_val, axis=-1)))
    np.testing.assert_allclose(float(val_acc_metric.result()), expected, rtol=1e-6)
    assert expected > 0.5
    # reset_state clears the metric, as the guide says to do at the end of an epoch.
    train_acc_metric.reset_state()
    assert float(train_acc_metric.result()) == 0.0


class ActivityRegularizationLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * jax.numpy.sum(inputs))
        return inputs


def test_low_level_handling_of_losses_tracked_by_the_model():
    keras.utils.set_random_seed(2)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.CategoricalAccuracy()

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu")(inputs)
    # Insert activity regularization as a layer
    x = ActivityRegularizationLayer()(x)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)

    model = keras.Model(inputs=inputs, outputs=outputs)

    def compute_loss_and_updates(
        trainable_variables, non_trainable_variables, metric_variables, x, y
    ):
        y_pred, non_trainable_variables, losses = model.stateless_call(
            trainable_variables, non_trainable_variables, x, return_losses=True
        )
        loss = loss_fn(y, y_pred)
        if losses:
            # The guide writes `jax.numpy.sum(losses)`, which JAX refuses for a Python list
            # ("sum requires ndarray or scalar arguments"), with Keras as with lamina.
            loss += jax.numpy.sum(jax.numpy.array(losses))
        metric_variables = train_acc_metric.stateless_update_state(
            metric_variables, y, y_pred
        )
        return loss, non_trainable_variables, metric_variables

    rng = np.random.default_rng(0)
    x_batch = rng.random((16, 784)).astype("float32")
    y_batch = keras.utils.to_categorical(rng.integers(0, 10, size=16), num_classes=10)
    state = ([v.value for v in model.trainable_variables],
             [v.value for v in model.non_trainable_variables],
             [v.value for v in train_acc_metric.variables])

    loss, non_trainable_variables, metric_variables = jax.jit(compute_loss_and_updates)(
        *state, x_batch, y_batch)

    # The loss holds the activity penalty: 1e-2 * the sum of the first Dense's outputs.
    hidden = np.maximum(x_batch @ model.layers[1].kernel.numpy() + model.layers[1].bias.numpy(),
                        0.0)
    penalty = 1e-2 * hidden.sum()
    plain = float(loss_fn(y_batch, model(x_batch)))
    assert penalty > 1.0
    np.testing.assert_allclose(float(loss), plain + penalty, rtol=1e-4)
    assert float(np.asarray(metric_variables[1])) == 16.0

    # Its gradient includes the penalty's: value_and_grad over the loss alone.
    def loss_only(trainable_variables):
        return compute_loss_and_updates(trainable_variables, *state[1:], x_batch, y_batch)[0]

    value, grads = jax.value_and_grad(loss_only)(state[0])
    np.testing.assert_allclose(float(value), float(loss), rtol=1e-5)
    assert len(grads) == len(model.trainable_variables)
    assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)


def test_returned_losses_include_regularization_penalties_of_the_passed_values():
    # The guide's recipe (sum `losses` into the loss) relies on Keras's `losses` list: the
    # `add_loss` values of the call, then each regularizer applied to the passed weights.
    inputs = keras.Input(shape=(2,))
    hidden = keras.layers.Dense(3, kernel_initializer="ones",
                                kernel_regularizer=keras.regularizers.L2(1.0))(inputs)
    outputs = ActivityRegularizationLayer()(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs)
    doubled = [2.0 * v.value for v in model.trainable_variables]
    x = np.ones((1, 2), "float32")
    _, _, losses = model.stateless_call(doubled, [], x, return_losses=True)
    activity = 1e-2 * 3 * 4.0  # three units, each 2 + 2
    np.testing.assert_allclose([float(np.sum(loss)) for loss in losses],
                               [activity, 6 * 2.0 ** 2], rtol=1e-6)
