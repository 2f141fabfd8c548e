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


# Shapes Keras 3.15 gives for each form (the layer's real output, its kernel and its bias),
# read from keras.layers.EinsumDense on the JAX backend.
ELLIPSIS_CASES = [
    ("...b,bc->...c", 64, None, (2, 3, 4, 5), (2, 3, 4, 64), (5, 64), None),
    ("...b,bc->...c", (7,), "c", (2, 5), (2, 7), (5, 7), (7,)),
    ("...ab,bc->...ac", (None, 6), "c", (2, 3, 4, 5), (2, 3, 4, 6), (5, 6), (6,)),
    ("abc...,cd->abd...", (3, 6), "bd", (2, 3, 4, 5, 7), (2, 3, 6, 5, 7), (4, 6), (3, 6, 1, 1)),
    ("ab...,bc->ac...", (6,), "c", (2, 4, 5), (2, 6, 5), (4, 6), (6, 1)),
]


@pytest.mark.parametrize("case", ELLIPSIS_CASES, ids=[c[0] for c in ELLIPSIS_CASES])
def test_equations_with_an_ellipsis_build_and_compute_as_keras(case):
    equation, output_shape, bias_axes, input_shape, expected, kernel_shape, bias_shape = case
    layer = layers.EinsumDense(equation, output_shape, bias_axes=bias_axes,
                               bias_initializer="ones")
    x = np.random.default_rng(0).random(input_shape, np.float32)
    y = np.asarray(layer(x))
    assert y.shape == expected and layer.compute_output_shape(input_shape) == expected
    assert layer.kernel.shape == kernel_shape
    assert (layer.bias is None and bias_shape is None) or layer.bias.shape == bias_shape
    reference = np.einsum(equation, x, layer.kernel.numpy())
    if layer.bias is not None:
        reference = reference + 1.0
    np.testing.assert_allclose(y, reference, rtol=1e-5, atol=1e-5)


def test_an_ellipsis_layer_keeps_a_free_batch_and_saves(tmp_path):
    inputs = lamina.Input((3, 5))
    model = lamina.Model(inputs, layers.EinsumDense("...b,bc->...c", 4, bias_axes="c")(inputs))
    assert model.output.shape == (None, 3, 4)
    x = np.ones((2, 3, 5), np.float32)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(lamina.models.load_model(tmp_path / "m.keras").predict(
        x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("equation, bias_axes, rank, message", [
    ("a...b,bc->ac", None, 3, "an ellipsis only at the start or the end"),
    ("ab,bc->ac", "z", 2, "bias_axes 'z' names 'z', which is not an output axis"),
    ("...abc,cd->...abd", None, 2, "names 3 input axes besides the ellipsis, but the input "
                                   "has rank 2"),
])
def test_bad_equations_say_which_form_is_expected(equation, bias_axes, rank, message):
    with pytest.raises(ValueError, match=message):
        layers.EinsumDense(equation, 4, bias_axes=bias_axes)(np.ones((2,) * rank, np.float32))


@pytest.mark.parametrize("equation, output_shape, bias_axes", [
    ("abc,cde->abde", (3, 2, 4), "de"),   # a multi-head projection: the bias over two axes
    ("abc,cde->abde", (3, 2, 4), "e"),    # a bias over the last axis only
    ("abc,cd->abd", (3, 4), "d"),
])
def test_outputs_and_bias_gradient_equal_a_broadcast_add(equation, output_shape, bias_axes):
    import jax
    import jax.numpy as jnp

    layer = layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes,
                               bias_initializer="random_normal")
    x = jnp.asarray(np.random.default_rng(0).normal(size=(2, 3, 5)), "float32")
    layer.build(x.shape)
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    cotangent = jnp.asarray(np.random.default_rng(1).normal(
        size=(2,) + output_shape), "float32")

    def ours(k, b):
        return jnp.sum(layer.stateless_call([k, b], [], x)[0] * cotangent)

    def reference(k, b):
        return jnp.sum((jnp.einsum(equation, x, k) + b) * cotangent)

    np.testing.assert_allclose(ours(kernel, bias), reference(kernel, bias), rtol=1e-5)
    for a, b in zip(jax.grad(ours, (0, 1))(kernel, bias),
                    jax.grad(reference, (0, 1))(kernel, bias)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
