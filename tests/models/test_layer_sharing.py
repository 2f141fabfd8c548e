"""One layer at several places: in a Sequential stack and in a functional graph, with one set
of weights, in summaries, configs, clones and .keras files (lamina's and Keras 3's)."""

import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina as keras

X = np.arange(6, dtype="float32").reshape(2, 3) / 5


def shared_stack():
    shared = keras.layers.Dense(3, activation="tanh", name="shared")
    model = keras.Sequential([keras.Input((3,)), shared, shared,
                              keras.layers.Dense(2, name="out")], name="stack")
    return model, shared


def by_hand(model, x):
    kernel, bias, out_kernel, out_bias = model.get_weights()
    h = np.tanh(np.tanh(x @ kernel + bias) @ kernel + bias)
    return h @ out_kernel + out_bias


def summary_of(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- Sequential
def test_sequential_calls_the_layer_at_each_place_with_one_set_of_weights():
    model, shared = shared_stack()
    assert model.layers == [shared, shared, model.layers[2]]
    assert [w.path for w in model.weights] == [
        "stack/shared/kernel", "stack/shared/bias", "stack/out/kernel", "stack/out/bias"]
    assert model.count_params() == 12 + 8
    np.testing.assert_allclose(model(X), by_hand(model, X), rtol=1e-5, atol=1e-6)
    # Training moves the one kernel by the gradients of both places.
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    before = shared.kernel.numpy()
    model.fit(X, np.ones((2, 2), "float32"), verbose=0)
    assert not np.allclose(shared.kernel.numpy(), before)
    np.testing.assert_allclose(model(X), by_hand(model, X), rtol=1e-5, atol=1e-6)
    assert len(model.optimizer.variables) == 2 + 4  # iterations, rate, one slot per weight


def test_sequential_summary_lists_each_place_and_counts_weights_once():
    model, _ = shared_stack()
    text = summary_of(model)
    assert text.count("shared (Dense)") == 2 and text.count("│ (None, 3)") == 2
    assert "Total params: 20 (80.00 B)" in text


def test_a_lazy_stack_builds_on_its_first_call():
    shared = keras.layers.Dense(3, name="shared")
    model = keras.Sequential([shared, keras.layers.ReLU(name="relu"), shared])
    out = model(X)
    kernel, bias = shared.get_weights()
    np.testing.assert_allclose(out, np.maximum(X @ kernel + bias, 0) @ kernel + bias,
                               rtol=1e-6)
    assert len(model.weights) == 2


def test_pop_keeps_a_layer_that_is_still_in_the_stack():
    model, shared = shared_stack()
    model.pop()
    assert model.layers == [shared, shared] and len(model.weights) == 2
    model.pop()
    assert model.layers == [shared] and len(model.weights) == 2
    np.testing.assert_allclose(model(X), np.tanh(X @ shared.kernel.numpy()
                                                 + shared.bias.numpy()), rtol=1e-6)


def test_bad_additions_leave_the_stack_as_it_was():
    model, shared = shared_stack()
    with pytest.raises(ValueError, match="already has a layer named 'shared'.*same layer "
                                         "instance"):
        model.add(keras.layers.Dense(3, name="shared"))
    narrow = keras.layers.Dense(5, name="narrow")
    model.add(narrow)
    with pytest.raises(ValueError):
        model.add(shared)  # expects 3 features, receives 5
    assert [layer.name for layer in model.layers] == ["shared", "shared", "out", "narrow"]
    assert model(X).shape == (2, 5)
    with pytest.raises(ValueError, match="cannot contain itself"):
        model.add(model)


def test_config_lists_each_place_and_rebuilds_one_layer():
    model, _ = shared_stack()
    config = model.get_config()
    assert [c["config"]["name"] for c in config["layers"]] == [
        "input_layer", "shared", "shared", "out"]
    assert "shared_object_id" not in config["layers"][1]  # only inside a saving scope
    rebuilt = keras.Sequential.from_config(config)
    assert rebuilt.layers[0] is rebuilt.layers[1] and len(rebuilt.weights) == 4
    copy = keras.models.model_from_json(model.to_json())
    assert copy.layers[0] is copy.layers[1]
    config["layers"][2]["config"]["units"] = 4  # two different layers under one name
    with pytest.raises(ValueError, match="two different layers named 'shared'"):
        keras.Sequential.from_config(config)


@pytest.mark.parametrize("clone_function", [None, lambda layer: layer.__class__.from_config(
    layer.get_config())], ids=["from-config", "clone-function"])
def test_clones_stay_shared(clone_function):
    model, shared = shared_stack()
    clone = keras.models.clone_model(model, clone_function=clone_function)
    assert clone.layers[0] is clone.layers[1] and clone.layers[0] is not shared
    assert len(clone.weights) == 4


def test_keras_file_keeps_the_sharing(tmp_path):
    model, _ = shared_stack()
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, np.ones((2, 2), "float32"), verbose=0)
    path = str(tmp_path / "shared.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        layers = json.loads(archive.read("config.json"))["config"]["layers"]
        archive.extract("model.weights.h5", tmp_path)
    ids = [entry.get("shared_object_id") for entry in layers]
    assert ids[1] is not None and ids[1] == ids[2] and ids[0] is None and ids[3] is None
    with h5py.File(tmp_path / "model.weights.h5") as weights:
        # Keras's walk names the places dense, dense_1, dense_2 and writes a layer once.
        assert sorted(weights["layers"]) == ["dense", "dense_2"]
    loaded = keras.models.load_model(path)
    assert loaded.layers[0] is loaded.layers[1] and len(loaded.weights) == 4
    np.testing.assert_allclose(loaded(X), model(X), rtol=1e-6)
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_keras_loads_the_shared_stack_that_lamina_saves(tmp_path):
    os.environ["KERAS_BACKEND"] = "jax"
    real_keras = pytest.importorskip("keras")
    model, _ = shared_stack()
    path = str(tmp_path / "shared.keras")
    model.save(path)
    theirs = real_keras.models.load_model(path)
    assert theirs.layers[0] is theirs.layers[1] and len(theirs.weights) == 4
    np.testing.assert_allclose(np.asarray(theirs(X)), model(X), rtol=1e-6)
    # Keras 3.15 writes the same weights layout for a stack it builds itself.
    shared = real_keras.layers.Dense(3, activation="tanh", name="shared")
    their_model = real_keras.Sequential([real_keras.Input((3,)), shared, shared,
                                         real_keras.layers.Dense(2, name="out")])
    their_model.save_weights(str(tmp_path / "theirs.weights.h5"))
    with h5py.File(tmp_path / "theirs.weights.h5") as weights:
        assert sorted(weights["layers"]) == ["dense", "dense_2"]
    model.load_weights(str(tmp_path / "theirs.weights.h5"))
    np.testing.assert_allclose(model(X), np.asarray(their_model(X)), rtol=1e-6)


# ----------------------------------------------------------------------------- functional
def shared_graph():
    inputs = keras.Input((3,), name="x")
    shared = keras.layers.Dense(3, activation="tanh", name="shared")
    outputs = keras.layers.Dense(2, name="out")(shared(shared(inputs)))
    return keras.Model(inputs, outputs, name="graph"), shared


def test_functional_layer_called_twice_has_one_set_of_weights():
    model, shared = shared_graph()
    assert [layer.name for layer in model.layers] == ["x", "shared", "out"]
    assert len(model.weights) == 4
    np.testing.assert_allclose(model(X), by_hand(model, X), rtol=1e-5, atol=1e-6)
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["name"] == "shared")
    histories = [node["args"][0]["config"]["keras_history"] for node in entry["inbound_nodes"]]
    assert histories == [["x", 0, 0], ["shared", 0, 0]]
    rebuilt = keras.Model.from_config(config)
    assert [layer.name for layer in rebuilt.layers] == ["x", "shared", "out"]
    assert len(rebuilt.weights) == 4


def test_functional_summary_shows_what_feeds_each_call():
    model, _ = shared_graph()
    text = summary_of(model)
    assert "Connected to" in text and text.count("shared (Dense)") == 1
    row = text[text.index("shared (Dense)"):text.index("out (Dense)")]
    assert "x[0][0]," in row and "shared[0][0]" in row  # the first call, then the second
    assert "shared[1][0]" in text[text.index("out (Dense)"):]
    assert "Total params: 20 (80.00 B)" in text


def test_functional_file_keeps_one_layer(tmp_path):
    model, _ = shared_graph()
    path = str(tmp_path / "graph.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert len(loaded.weights) == 4 and len(loaded.get_layer("shared")._inbound_nodes) >= 2
    np.testing.assert_allclose(loaded(X), model(X), rtol=1e-6)
