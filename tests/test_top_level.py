"""Keras 3's top-level names beyond models and layers: Operation, Initializer, Regularizer,
SymbolicScope, device, version (RematScope and remat: tests/_runtime/test_remat.py)."""

import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina
from lamina._runtime.symbolic_scope import in_symbolic_scope


def test_initializer_and_regularizer_are_the_base_classes():
    assert lamina.Initializer is lamina.initializers.Initializer
    assert lamina.Regularizer is lamina.regularizers.Regularizer
    assert isinstance(lamina.initializers.Zeros(), lamina.Initializer)
    assert isinstance(lamina.regularizers.L2(0.1), lamina.Regularizer)


class Scale(lamina.Operation):
    def __init__(self, factor=2.0, name=None):
        super().__init__(name=name)
        self.factor = factor

    def call(self, x):
        return x * self.factor


def test_an_operation_runs_on_arrays_and_in_functional_models_and_saves():
    op = Scale(3.0)
    assert op.name == "scale" or op.name.startswith("scale_")
    half = jnp.ones(2, "float16")
    assert op(half).dtype == jnp.float16   # no autocast to float32, as in Keras
    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, Scale(3.0)(inputs))
    np.testing.assert_allclose(model(np.ones((1, 2))), [[3.0, 3.0]])
    path = os.path.join(tempfile.mkdtemp(), "op.keras")
    model.save(path)
    loaded = lamina.models.load_model(path, custom_objects={"Scale": Scale})
    np.testing.assert_allclose(loaded(np.ones((1, 2))), [[3.0, 3.0]])


def test_every_layer_is_an_operation():
    assert isinstance(lamina.layers.Dense(1), lamina.Operation)
    assert issubclass(lamina.layers.Conv2D, lamina.Operation)
    assert isinstance(Scale(), lamina.Operation) and isinstance(Scale(), lamina.layers.Layer)
    assert not isinstance(jnp.ones(2), lamina.Operation)
    assert not issubclass(int, lamina.Operation)


def test_symbolic_scope_is_active_while_shapes_are_inferred():
    seen = []

    class Probe(lamina.layers.Layer):
        def call(self, x):
            seen.append(in_symbolic_scope())
            return x

    probe = Probe()
    probe(lamina.Input((3,)))
    assert seen and all(seen)   # one abstract trace per unknown-dimension probe
    probe(np.ones((1, 3)))
    assert seen[-1] is False
    with lamina.SymbolicScope() as scope:
        assert in_symbolic_scope() and isinstance(scope, lamina.SymbolicScope)
    assert not in_symbolic_scope()


def test_device_places_new_arrays_and_names_bad_devices():
    cpu = jax.devices("cpu")[0]
    for name in ("cpu:0", "CPU", cpu):
        with lamina.device(name):
            x = lamina.ops.ones((2,))
            variable = lamina.Variable(jnp.zeros(3))
        assert x.devices() == {cpu} and variable.value.devices() == {cpu}
    with pytest.raises(ValueError, match=r"no device 'cpu:99' here.*available: cpu:0"):
        lamina.device("cpu:99")
    with pytest.raises(ValueError, match=r"`device_name` must be a string.*Received: "
                                         r"device_name=0 of type int"):
        lamina.device(0)
    with pytest.raises(ValueError, match=r"index in 'cpu:one' must be a non-negative integer"):
        lamina.device("cpu:one")


def test_version():
    assert lamina.version() == lamina.__version__
    assert isinstance(lamina.version(), str)
