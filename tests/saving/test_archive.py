"""`.keras` archives and `.weights.h5` files: round trips, custom objects, bad files."""

import json
import os
import zipfile

import numpy as np
import pytest

import lamina as keras
from lamina.compat import tf


def huber_fn(y_true, y_pred):
    error = y_true - y_pred
    is_small_error = tf.abs(error) < 1
    squared_loss = tf.square(error) / 2
    linear_loss = tf.abs(error) - 0.5
    return tf.where(is_small_error, squared_loss, linear_loss)


class HuberLoss(keras.losses.Loss):
    def __init__(self, threshold=1.0, **kwargs):
        self.threshold = threshold
        super().__init__(**kwargs)

    def call(self, y_true, y_pred):
        error = y_true - y_pred
        is_small_error = tf.abs(error) < self.threshold
        squared_loss = tf.square(error) / 2
        linear_loss = self.threshold * tf.abs(error) - self.threshold ** 2 / 2
        return tf.where(is_small_error, squared_loss, linear_loss)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "threshold": self.threshold}


class MyL1Regularizer(keras.regularizers.Regularizer):
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, weights):
        return tf.reduce_sum(tf.abs(self.factor * weights))

    def get_config(self):
        return {"factor": self.factor}


def my_softplus(z):
    return tf.math.log(tf.exp(z) + 1.0)


class MyDense(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(name="kernel", shape=[batch_input_shape[-1], self.units],
                                      initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")
        super().build(batch_input_shape)

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


CUSTOM = {"HuberLoss": HuberLoss, "MyL1Regularizer": MyL1Regularizer, "my_softplus": my_softplus,
          "MyDense": MyDense, "huber_fn": huber_fn}
DATA = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
TARGET = DATA.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def trained_functional(tmp_path_factory):
    """A functional model with custom parts, trained a little and saved once."""
    inputs = keras.Input((4,), name="features")
    hidden = MyDense(8, activation=my_softplus, name="my_dense")(inputs)
    hidden = keras.layers.Dense(8, activation="relu", kernel_regularizer=MyL1Regularizer(0.01),
                                name="regularized")(hidden)
    outputs = keras.layers.Dense(1, name="out")(hidden)
    model = keras.Model(inputs, outputs, name="custom_parts")
    model.compile(loss=HuberLoss(2.0), optimizer="nadam", metrics=[huber_fn])
    model.fit(DATA, TARGET, epochs=2, verbose=0)
    path = tmp_path_factory.mktemp("saved") / "model.keras"
    model.save(path)
    return model, path


def test_archive_layout_is_keras_3(trained_functional):
    _, path = trained_functional
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json",
                                              "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
    assert config["class_name"] == "Functional"
    assert config["compile_config"]["loss"]["config"]["threshold"] == 2.0
    layer_names = [entry["name"] for entry in config["config"]["layers"]]
    assert layer_names == ["features", "my_dense", "regularized", "out"]


def test_round_trip_with_custom_objects(trained_functional):
    model, path = trained_functional
    restored = keras.models.load_model(path, custom_objects=CUSTOM)
    np.testing.assert_allclose(restored.predict(DATA, verbose=0), model.predict(DATA, verbose=0),
                               rtol=1e-6)
    assert restored.loss.threshold == 2.0
    assert restored.get_layer("regularized").kernel_regularizer.factor == 0.01
    assert restored.get_layer("my_dense").activation is my_softplus
    optimizer_values = [v.numpy() for v in model.optimizer.variables]
    restored_values = [v.numpy() for v in restored.optimizer.variables]
    for a, b in zip(optimizer_values, restored_values):
        np.testing.assert_allclose(a, b)
    restored.fit(DATA, TARGET, epochs=1, verbose=0)  # training resumes


def test_registered_objects_need_no_custom_objects(tmp_path):
    @keras.saving.register_keras_serializable(package="tests")
    class Scale(keras.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    model = keras.Sequential([keras.Input((2,)), Scale(3.0), keras.layers.Dense(1)])
    model.save(tmp_path / "s.keras")
    restored = keras.models.load_model(tmp_path / "s.keras")
    np.testing.assert_allclose(restored(np.ones((1, 2))), model(np.ones((1, 2))), rtol=1e-6)


def test_missing_custom_object_is_named(trained_functional):
    _, path = trained_functional
    with pytest.raises(Exception, match="MyDense") as info:
        keras.models.load_model(path, custom_objects={k: v for k, v in CUSTOM.items()
                                                      if k != "MyDense"})
    assert "custom_objects" in str(info.value)


def test_subclassed_model_round_trip(tmp_path):
    @keras.saving.register_keras_serializable(package="tests")
    class Regressor(keras.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = keras.layers.Dense(units, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    model = Regressor(5)
    model.compile(loss="mse", optimizer="adam")
    model.fit(DATA, TARGET, epochs=1, verbose=0)
    model.save(tmp_path / "r.keras")
    restored = keras.models.load_model(tmp_path / "r.keras")
    assert restored.units == 5
    np.testing.assert_allclose(restored.predict(DATA, verbose=0), model.predict(DATA, verbose=0),
                               rtol=1e-6)


def test_weights_files_and_mismatches(tmp_path):
    def make(units):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, name="hidden"),
                                 keras.layers.Dense(1, name="head")])

    model = make(3)
    model.save_weights(tmp_path / "w.weights.h5")
    other = make(3)
    other.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    wrong = make(5)
    before = wrong.get_weights()
    with pytest.raises(ValueError, match=r"(?s)nothing was loaded.*'sequential_2/hidden/kernel': "
                                         r"expected shape \(4, 5\), the weights file has "
                                         r"\(4, 3\)"):
        wrong.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(before, wrong.get_weights()):
        np.testing.assert_array_equal(a, b)  # unchanged
    with pytest.warns(UserWarning, match="Skipped mismatched"):
        wrong.load_weights(tmp_path / "w.weights.h5", skip_mismatch=True)
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        model.save_weights(tmp_path / "w.h5")


def test_saving_is_atomic(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    target = tmp_path / "m.keras"
    model.save(target)
    good = target.read_bytes()

    from lamina.saving import archive

    def explode(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(archive.zipfile.ZipFile, "writestr", explode)
    with pytest.raises(OSError, match="disk full"):
        model.save(target)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.keras"]  # no temporary left behind


def test_bad_archives_are_refused_before_loading(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save(tmp_path / "m.keras")
    data = (tmp_path / "m.keras").read_bytes()
    (tmp_path / "truncated.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a valid .keras archive|corrupted|not a readable"):
        keras.models.load_model(tmp_path / "truncated.keras")
    with zipfile.ZipFile(tmp_path / "evil.keras", "w") as archive:
        archive.writestr("../config.json", "{}")
        archive.writestr("config.json", "{}")
        archive.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="'\\.\\./config.json'.*malicious"):
        keras.models.load_model(tmp_path / "evil.keras")
    with pytest.raises(FileNotFoundError):
        keras.models.load_model(tmp_path / "absent.keras")


def test_config_naming_a_foreign_module_is_refused_in_safe_mode(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        config = json.loads(archive.read("config.json"))
        weights = archive.read("model.weights.h5")
    config["config"]["layers"][1]["module"] = "os"
    config["config"]["layers"][1]["class_name"] = "system"
    with zipfile.ZipFile(tmp_path / "foreign.keras", "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", weights)
    import sys

    was_imported = "this_module_does_not_exist" in sys.modules
    with pytest.raises(Exception, match="system"):
        keras.models.load_model(tmp_path / "foreign.keras")
    assert not was_imported


def test_json_and_clone(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    rebuilt = keras.models.model_from_json(model.to_json())
    assert [l.name for l in rebuilt.layers] == ["d"]
    clone = keras.models.clone_model(model)
    assert clone is not model and len(clone.weights) == 2
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])
    os.environ.get("HOME")


def test_get_config_missing_a_constructor_argument_fails_at_save_time(tmp_path):
    class Forgetful(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def call(self, x):
            return x

        def get_config(self):
            return super().get_config()  # forgets "units"

    model = keras.Sequential([keras.Input((2,)), Forgetful(3)])
    with pytest.raises(ValueError, match=r"Forgetful.get_config\(\) does not include the "
                                         r"constructor argument\(s\) \['units'\]"):
        model.save(tmp_path / "f.keras")
    assert not (tmp_path / "f.keras").exists()
