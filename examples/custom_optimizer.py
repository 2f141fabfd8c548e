"""A custom optimizer (Chapter 12, "Implementing a custom optimizer" in the notebook).

Momentum gradient descent written by hand with Keras 3's optimizer protocol: slots created in
build(var_list) with add_variable_from_reference, the update in update_step(gradient,
variable, learning_rate), and get_config for saving. The book's version targets the older
tf.keras protocol (_create_slots, _resource_apply_dense); the idea is the same. The script
checks it against the built-in SGD(momentum=0.9): same weights after the same training, and
the optimizer survives a save and reload of the model.

    python examples/custom_optimizer.py [--small] [--out DIR]
"""

import os

import numpy as np

import lamina as keras

from _common import add_out_flag, load_housing, make_parser, output_folder


class MyMomentumOptimizer(keras.optimizers.Optimizer):
    """velocity = momentum * velocity - learning_rate * gradient; weight += velocity."""

    def __init__(self, learning_rate=0.001, momentum=0.9, name="my_momentum_optimizer",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = momentum

    def build(self, var_list):
        if self.built:  # build is called by the first update; slots are made once
            return
        super().build(var_list)
        self.velocities = [self.add_variable_from_reference(variable, "velocity")
                           for variable in var_list]

    def update_step(self, gradient, variable, learning_rate):
        velocity = self.velocities[self._get_variable_index(variable)]
        self.assign(velocity, self.momentum * velocity - learning_rate * gradient)
        self.assign_add(variable, velocity)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


def one_step_by_hand():
    print("== two updates of one weight, by hand ==")
    weight = keras.Variable([1.0, 2.0])
    optimizer = MyMomentumOptimizer(learning_rate=0.1, momentum=0.9)
    for _ in range(2):
        optimizer.apply_gradients([(np.array([1.0, -1.0], np.float32), weight)])
    # velocity: -0.1, then 0.9 * -0.1 - 0.1 = -0.19 (signs flip for the second element)
    print(f"  weight after two steps: {weight.numpy().astype(float).round(6).tolist()} "
          "(expected [0.71, 2.29])")
    print(f"  the optimizer's variables: {[v.path for v in optimizer.variables]}")


def build_model():
    return keras.models.Sequential([
        keras.Input(shape=[8]),
        keras.layers.Dense(30, activation="relu"),
        keras.layers.Dense(1),
    ])


def against_builtin(small, folder):
    print("== the same training with MyMomentumOptimizer and SGD(momentum=0.9) ==")
    (X_train, y_train), _, (X_test, y_test) = load_housing(300 if small else 5000)
    mine, builtin = build_model(), build_model()
    builtin.set_weights(mine.get_weights())
    results = {}
    for model, optimizer in ((mine, MyMomentumOptimizer(learning_rate=0.01, momentum=0.9)),
                             (builtin, keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))):
        model.compile(loss="mse", optimizer=optimizer)
        history = model.fit(X_train, y_train, epochs=1 if small else 5, batch_size=32,
                            shuffle=False, verbose=0)
        results[type(optimizer).__name__] = history.history["loss"]
    for name, losses in results.items():
        print(f"  {name:>19}: loss per epoch {np.round(losses, 5).tolist()}")
    difference = max(np.abs(a - b).max() for a, b in zip(mine.get_weights(),
                                                         builtin.get_weights()))
    print(f"  largest weight difference: {difference:.2e}")

    config = mine.optimizer.get_config()
    clone = MyMomentumOptimizer.from_config(config)
    print(f"  get_config round trip: momentum={clone.momentum}, "
          f"learning_rate={float(clone.learning_rate):g}, "
          f"same config: {clone.get_config() == config}")
    path = os.path.join(folder, "my_model_with_a_custom_optimizer.keras")
    mine.save(path)
    reloaded = keras.models.load_model(
        path, custom_objects={"MyMomentumOptimizer": MyMomentumOptimizer})
    velocities_kept = all(np.array_equal(a.numpy(), b.numpy()) for a, b in
                          zip(mine.optimizer.velocities, reloaded.optimizer.velocities))
    print(f"  reloaded optimizer: {type(reloaded.optimizer).__name__}, "
          f"velocities restored: {velocities_kept}")


def main(argv=None):
    parser = make_parser(__doc__)
    add_out_flag(parser)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(42)
    one_step_by_hand()
    with output_folder(args.out) as folder:
        against_builtin(args.small, folder)


if __name__ == "__main__":
    main()
