"""JaxLayer and FlaxLayer: pure JAX functions and Flax modules as layers that train, update
their state and save inside lamina models; Keras 3 side by side and Keras-written files."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lamina as keras

L = keras.layers
RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 4)).astype("float32")
Y = RNG.normal(size=(5, 3)).astype("float32")


@pytest.fixture(autouse=True)
def _restore_registries():
    """The tests register their functions and modules; later tests see the registry as it was."""
    from lamina import _registry

    saved = (dict(keras.saving.get_custom_objects()), dict(_registry._GLOBAL_CUSTOM_NAMES))
    yield
    keras.saving.get_custom_objects().clear()
    keras.saving.get_custom_objects().update(saved[0])
    _registry._GLOBAL_CUSTOM_NAMES.clear()
    _registry._GLOBAL_CUSTOM_NAMES.update(saved[1])


def import_keras():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


def linear_init(rng, inputs):
    return {"w": jax.random.normal(rng, (inputs.shape[-1], 3)), "b": jnp.zeros((3,))}


def linear_call(params, inputs):
    return inputs @ params["w"] + params["b"]


def counting_call(params, state, rng, inputs, training):
    """A linear map with dropout in training, counting its calls in its state."""
    outputs = inputs @ params["w"] + params["b"]
    if training:
        outputs = jnp.where(jax.random.bernoulli(rng, 0.5, outputs.shape), outputs * 2, 0.0)
    return outputs, {"calls": state["calls"] + 1}


def counting_init(rng, inputs, training):
    assert training is True and inputs.shape[-1] == 4 and float(inputs.min()) == 1.0
    return linear_init(rng, inputs), {"calls": jnp.array(0, "int32")}


# ----------------------------------------------------------------------------- JaxLayer
def test_init_fn_creates_variables_in_tree_order_and_fit_trains_them():
    layer = L.JaxLayer(linear_call, linear_init, name="jax")
    assert not layer.built
    inputs = L.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    assert [(w.path, w.shape, w.trainable) for w in layer.weights] == [
        (layer.weights[0].path, (3,), True), (layer.weights[1].path, (4, 3), True)]
    assert layer.params["w"] is layer.weights[1]  # the tree holds the Variables
    w, b = layer.params["w"].numpy(), layer.params["b"].numpy()
    np.testing.assert_allclose(model.predict(X, verbose=0), X @ w + b, rtol=1e-5, atol=1e-6)

    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=5, epochs=1, verbose=0)
    loss = lambda p: jnp.mean((X @ p["w"] + p["b"] - Y) ** 2)  # noqa: E731
    grads = jax.grad(loss)({"w": w, "b": b})
    np.testing.assert_allclose(layer.params["w"].numpy(), w - 0.1 * grads["w"], rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(layer.params["b"].numpy(), b - 0.1 * grads["b"], rtol=1e-5,
                               atol=1e-6)


def test_state_rng_and_training():
    layer = L.JaxLayer(counting_call, counting_init, seed=5)
    inputs = L.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    params = {k: v.numpy() for k, v in layer.params.items()}
    assert [w.trainable for w in layer.weights] == [True, True, False]
    assert layer.state["calls"].dtype == "int32"
    inference = model.predict(X, verbose=0)
    np.testing.assert_allclose(inference, X @ params["w"] + params["b"], rtol=1e-5, atol=1e-6)
    assert int(layer.state["calls"].numpy()) == 1  # inference calls update the state too
    # Training calls get fresh keys from the layer's seed generator: [seed, 0], [seed, 1], ...
    first = layer(X, training=True)
    keep = jax.random.bernoulli(jnp.array([5, 0], jnp.uint32), 0.5, (5, 3))
    np.testing.assert_allclose(first, np.where(keep, 2 * inference, 0.0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(layer(X, training=True), first)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(X, Y, batch_size=5, epochs=2, verbose=0)
    assert int(layer.state["calls"].numpy()) == 5  # state assigned inside the compiled step


def test_given_params_and_state_keep_dtypes():
    params = {"w": np.ones((4, 3)), "b": [0.5, None], "scale": 2.0}
    layer = L.JaxLayer(lambda params, inputs: inputs @ params["w"] * params["scale"]
                       + params["b"][0], params=params,
                       state={"step": np.array(3, "int32")}, dtype="float32")
    assert layer.built
    by_shape = {tuple(w.shape): w for w in layer.weights}
    assert by_shape[(4, 3)].dtype == "float32"  # float64 NumPy leaves take the layer's dtype
    assert layer.state["step"].dtype == "int32" and not layer.state["step"].trainable
    assert layer.params["b"][1] is None  # non-array leaves pass through
    np.testing.assert_allclose(layer(X), X @ np.ones((4, 3)) * 2 + 0.5, rtol=1e-5)


def test_argument_errors():
    with pytest.raises(ValueError, match=r"call_fn takes an argument `x`"):
        L.JaxLayer(lambda params, x: x, params={})
    with pytest.raises(ValueError, match="call_fn must take an argument named `inputs`"):
        L.JaxLayer(lambda params: params, params={})
    with pytest.raises(ValueError, match="init_fn takes an argument `key`"):
        L.JaxLayer(linear_call, lambda key, inputs: {})
    with pytest.raises(ValueError, match="needs init_fn, params or state"):
        L.JaxLayer(linear_call)
    assert L.JaxLayer(lambda inputs: inputs * 2)(X).shape == (5, 4)  # no parameters at all
    bad_state = L.JaxLayer(lambda state, inputs: (inputs, {"other": state["calls"]}),
                           state={"calls": np.array(0)})
    with pytest.raises(ValueError, match="does not have the structure of the state"):
        bad_state(X)
    with pytest.raises(ValueError, match=r"must return \(outputs, new_state\)"):
        L.JaxLayer(lambda state, inputs: inputs, state={"calls": np.array(0)})(X)


def test_saving_rebuilds_with_init_fn_and_restores_values(tmp_path):
    call = keras.saving.register_keras_serializable("jax_layer_test")(counting_call)
    init = keras.saving.register_keras_serializable("jax_layer_test")(counting_init)
    inputs = L.Input((4,))
    model = keras.Model(inputs, L.JaxLayer(call, init, name="jax")(inputs))
    model.predict(X, verbose=0)
    model.save(tmp_path / "jax.keras")
    loaded = keras.models.load_model(tmp_path / "jax.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)
    assert int(loaded.get_layer("jax").state["calls"].numpy()) == 2  # 1 call, then 1 more
    assert loaded.get_layer("jax").get_config() == model.get_layer("jax").get_config()

    params_only = keras.Model(inputs, L.JaxLayer(call, params={"w": np.ones((4, 3)),
                                                                "b": np.zeros(3)},
                                                 state={"calls": np.array(0)})(inputs))
    params_only.save(tmp_path / "params_only.keras")
    with pytest.raises(ValueError, match="create the layer with an init_fn"):
        keras.models.load_model(tmp_path / "params_only.keras")


def test_matches_keras_and_loads_keras_files(tmp_path):
    k = import_keras()
    call = keras.saving.register_keras_serializable("jax_layer_test")(counting_call)
    k.saving.register_keras_serializable("jax_layer_test")(counting_call)
    init = keras.saving.register_keras_serializable("jax_layer_test")(counting_init)
    k.saving.register_keras_serializable("jax_layer_test")(counting_init)
    params = linear_init(jax.random.key(0), X)
    state = {"calls": np.array(0, "int32")}
    # Keras 3.15 builds from init_fn only with TensorFlow installed: give it the params too.
    theirs = k.layers.JaxLayer(call, init, params=params, state=state, seed=3, name="j")
    ours = L.JaxLayer(call, init, params=params, state=state, seed=3, name="j")
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    for training in (True, False, True):
        np.testing.assert_allclose(ours(X, training=training), theirs(X, training=training),
                                   rtol=1e-6)
    assert [int(np.asarray(w)) for w in (ours.state["calls"], theirs.state["calls"])] == [3, 3]
    assert L.serialize(ours)["config"] == k.layers.serialize(theirs)["config"]

    inputs = k.Input((4,))
    model = k.Model(inputs, theirs(inputs))
    model.save(tmp_path / "keras.keras")
    loaded = keras.models.load_model(tmp_path / "keras.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)


# ----------------------------------------------------------------------------- FlaxLayer
def flax_module_class():
    nn = pytest.importorskip("flax.linen")

    class Block(nn.Module):
        features: int = 3

        @nn.compact
        def __call__(self, inputs, training):
            x = nn.Dense(self.features)(inputs)
            x = nn.BatchNorm(use_running_average=not training, momentum=0.5)(x)
            return nn.Dropout(0.5, deterministic=not training)(x)

        def get_config(self):
            return {"features": self.features}

    return Block


def test_flax_module_trains_and_updates_batch_stats():
    block = flax_module_class()(features=3)
    layer = L.FlaxLayer(block, name="flax")
    inputs = L.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    assert list(layer.params) == ["params"] and list(layer.state) == ["batch_stats"]
    assert [w.trainable for w in layer.weights] == [True] * 4 + [False] * 2
    variables = jax.tree_util.tree_map(lambda v: v.numpy(), {**layer.params, **layer.state},
                                       is_leaf=lambda v: isinstance(v, keras.Variable))
    np.testing.assert_allclose(model.predict(X, verbose=0),
                               block.apply(variables, X, training=False), rtol=1e-5,
                               atol=1e-6)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(X, Y, batch_size=5, epochs=1, verbose=0)
    # The step ran Flax in training: the batch statistics moved halfway to the batch's.
    dense = X @ variables["params"]["Dense_0"]["kernel"] + variables["params"]["Dense_0"]["bias"]
    np.testing.assert_allclose(layer.state["batch_stats"]["BatchNorm_0"]["mean"].numpy(),
                               0.5 * dense.mean(0), rtol=1e-4, atol=1e-6)
    assert not np.allclose(layer.params["params"]["Dense_0"]["kernel"].numpy(),
                           variables["params"]["Dense_0"]["kernel"])


def test_flax_methods_and_saving(tmp_path):
    nn = pytest.importorskip("flax.linen")
    block_class = keras.saving.register_keras_serializable("flax_layer_test")(
        flax_module_class())
    inputs = L.Input((4,))
    model = keras.Model(inputs, L.FlaxLayer(block_class(features=2), name="flax")(inputs))
    model.save(tmp_path / "flax.keras")
    loaded = keras.models.load_model(tmp_path / "flax.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)
    assert loaded.get_layer("flax").get_config() == model.get_layer("flax").get_config()

    by_name = L.FlaxLayer(block_class(features=2), method="__call__")
    assert by_name(X).shape == (5, 2)
    assert by_name.get_config()["method"] == "__call__"  # a bound method is saved by name
    assert L.deserialize(L.serialize(by_name)).method.__name__ == "__call__"
    dense = nn.Dense(2)
    doubled = L.FlaxLayer(dense, method=lambda module, inputs: 2 * module(inputs))
    assert doubled(X).shape == (5, 2)
    with pytest.raises(TypeError, match="wraps a flax.linen.Module instance"):
        L.FlaxLayer(lambda inputs: inputs)


def test_flax_matches_keras_and_loads_keras_files(tmp_path):
    k = import_keras()
    block_class = flax_module_class()
    keras.saving.register_keras_serializable("flax_layer_test")(block_class)
    k.saving.register_keras_serializable("flax_layer_test")(block_class)
    block = block_class()
    variables = block.init({"params": jax.random.key(0), "dropout": jax.random.key(1)},
                           jnp.ones((2, 4)), training=True)
    theirs = k.layers.FlaxLayer(block, variables=variables, seed=7, name="f")
    ours = L.FlaxLayer(block, variables=variables, seed=7, name="f")
    for training in (True, False, True):
        np.testing.assert_allclose(ours(X, training=training), theirs(X, training=training),
                                   rtol=1e-6, atol=1e-7)
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-6, atol=1e-7)
    assert L.serialize(ours)["config"] == k.layers.serialize(theirs)["config"]
    inputs = k.Input((4,))
    model = k.Model(inputs, theirs(inputs))
    model.save(tmp_path / "keras_flax.keras")
    loaded = keras.models.load_model(tmp_path / "keras_flax.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6, atol=1e-7)


def test_flax_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "flax", None)  # as if Flax were not installed
    with pytest.raises(ImportError, match="pip install flax"):
        L.FlaxLayer(object())
