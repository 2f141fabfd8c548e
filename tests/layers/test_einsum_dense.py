"""EinsumDense's kernel initialization (issue 16, item 5): a variance-scaling initializer takes
its fan-in and fan-out from the einsum's axes, as in Keras 3, so attention kernels start at
Keras's scale."""

import math
import os

import numpy as np
import pytest

import lamina
from lamina import layers


def test_fans_come_from_the_einsum_axes():
    """A `(64, 4, 16)` query kernel maps 64 inputs to 4 * 16 outputs: Glorot's limit is
    sqrt(6 / (64 + 64)), not the convolution rule's sqrt(6 / (4 * 64 + 16 * 64))."""
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 4, 16), bias_axes="de",
                               kernel_initializer=lamina.initializers.GlorotUniform(seed=3))
    layer.build((None, 5, 64))
    kernel = layer.kernel.numpy()
    limit = math.sqrt(6 / 128)
    assert np.abs(kernel).max() <= limit
    np.testing.assert_allclose(kernel.std(), limit / math.sqrt(3), rtol=0.03)
    # The layer's own initializer (and its config) is unchanged.
    assert layer.get_config()["kernel_initializer"]["config"] == {
        "seed": 3, "input_axes": None, "output_axes": None}
    explicit = layers.EinsumDense("ab,bc->ac", output_shape=8,
                                  kernel_initializer=lamina.initializers.VarianceScaling(
                                      scale=1.0, mode="fan_in", seed=0, input_axes=[1],
                                      output_axes=[0]))
    explicit.build((None, 2))
    assert explicit.kernel_initializer.input_axes == [1]  # axes given are used as given


def test_kernels_equal_keras_for_the_same_seed():
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    x = np.ones((1, 5, 64), "float32")  # (its shape: the layers are built, not called)
    weights = []
    for lib in (keras, lamina):
        dense = lib.layers.EinsumDense("abc,cde->abde", output_shape=(None, 4, 16),
                                       kernel_initializer=lib.initializers.GlorotUniform(seed=3))
        dense.build((None, 5, 64))
        attention = lib.layers.MultiHeadAttention(
            num_heads=4, key_dim=16, kernel_initializer=lib.initializers.HeNormal(seed=1))
        attention.build(x.shape, x.shape)
        weights.append([np.asarray(dense.kernel.numpy())]
                       + [np.asarray(w) for w in attention.get_weights()])
    for theirs, ours in zip(*weights):
        np.testing.assert_array_equal(ours, theirs)
    # He normal over fan-in 64: standard deviation sqrt(2 / 64) for the query kernel.
    np.testing.assert_allclose(weights[1][1].std(), math.sqrt(2 / 64), rtol=0.1)
