import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras
from lamina.compat import tf


class ResidualBlock(keras.layers.Layer):
    def __init__(self, n_layers, n_neurons, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(n_neurons, activation="relu",
                                          kernel_initializer="he_normal")
                       for _ in range(n_layers)]

    def call(self, inputs):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        return inputs + Z


class ResidualRegressor(keras.Model):
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = keras.layers.Dense(30, activation="relu", kernel_initializer="he_normal")
        self.block1 = ResidualBlock(2, 30)
        self.block2 = ResidualBlock(2, 30)
        self.out = keras.layers.Dense(output_dim)

    def call(self, inputs):
        Z = self.hidden1(inputs)
        for _ in range(1 + 3):
            Z = self.block1(Z)
        Z = self.block2(Z)
        return self.out(Z)


def test_residual_regressor_reuses_one_block_four_times():
    model = ResidualRegressor(1)
    y = model(np.ones((3, 8), np.float32))
    assert y.shape == (3, 1)
    # hidden1 (8*30+30) + two blocks of two Dense(30) + out (31): block1 counted once
    assert model.count_params() == 270 + 2 * 2 * 930 + 31
    assert len(model.weights) == 2 + 4 + 4 + 2
    assert [layer.name for layer in model.layers] == [
        "dense", "residual_block", "residual_block_1", "dense_5"]
    assert model.weights[0].path == "residual_regressor/dense/kernel"


class ReconstructingRegressor(keras.Model):
    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal")
                       for _ in range(5)]
        self.out = keras.layers.Dense(output_dim)

    def build(self, batch_input_shape):
        n_inputs = batch_input_shape[-1]
        self.reconstruct = keras.layers.Dense(n_inputs)
        super().build(batch_input_shape)

    def call(self, inputs, training=None):
        Z = inputs
        for layer in self.hidden:
            Z = layer(Z)
        reconstruction = self.reconstruct(Z)
        recon_loss = tf.reduce_mean(tf.square(reconstruction - inputs))
        self.add_loss(0.05 * recon_loss)
        return self.out(Z)


def test_layers_created_in_build_and_add_loss_in_call():
    model = ReconstructingRegressor(1)
    x = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    model(x)
    assert len(model.layers) == 7 and model.reconstruct.kernel.shape == (30, 8)
    (loss,) = model.losses
    assert float(loss) > 0

    @keras.function
    def total(x):
        y = model(x, training=True)
        return jnp.mean(y) + sum(model.losses)

    assert np.isfinite(float(total(x)))


def test_summary_for_subclassed_model_and_print_fn():
    model = ResidualRegressor(1, name="res")
    model(np.ones((2, 8), np.float32))
    lines = []
    model.summary(print_fn=lines.append)
    text = "".join(lines)
    assert 'Model: "res"' in text and "residual_block (ResidualBlock)" in text
    assert "(None, 30)" in text and "Total params: 4,021" in text


def test_model_rejects_positional_arguments():
    # (inputs and outputs make a functional subclass: tests/models/test_functional_subclass.py)
    class Plain(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TypeError, match="keyword arguments only"):
        Plain("name")
