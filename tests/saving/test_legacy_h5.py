"""The book's legacy `.h5` files: written by tf.keras 2, read by lamina.

`_tf_keras_files.py` trains the models of the book's chapters 10-12 in tf.keras 2 (the
`tf-keras` package, a test dependency) and saves them, with tf-keras's predictions and next
losses in `expected.npz`. Its output is committed in `tf_keras_h5/` (see `GENERATED_BY`): a
TensorFlow process costs ~15 s of CPU, and the files a user brings were written by tf.keras
long ago anyway. If the generator changes, `test_committed_files_come_from_the_generator`
fails until they are written again, and meanwhile the fixture runs the generator once per
module in a subprocess (TensorFlow never enters this process), caching its files under
pytest's cache, keyed by the generator's source and the tf-keras version. Each model loads in
lamina, predicts what tf-keras predicted, and, compiled from the file with its optimizer state,
goes on training exactly as tf-keras does (the losses of the next epoch, `shuffle=False`).
"""

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pytest

import lamina as keras
from lamina import ops
from lamina.saving.legacy_h5 import LegacyH5Warning

GENERATOR = pathlib.Path(__file__).with_name("_tf_keras_files.py")
# Written by `python tests/saving/_tf_keras_files.py tests/saving/tf_keras_h5` with tf-keras
# 2.21.0 (TensorFlow 2.21.0, CPU); GENERATED_BY is the SHA-256 of the generator's source then.
COMMITTED = pathlib.Path(__file__).with_name("tf_keras_h5")
GENERATED_BY = "6aa030059f74"
CLOSE = dict(rtol=1e-5, atol=1e-6)
# One epoch of float32 training in TensorFlow and in XLA: the same steps, summed differently.
TRAINING = dict(rtol=2e-5, atol=1e-6)


@pytest.fixture(scope="module")
def files(request, tmp_path_factory):
    """{name: path} of the tf-keras files, and "expected": tf-keras's numbers."""
    if _generator_digest() == GENERATED_BY:
        return _read(COMMITTED)
    if importlib.util.find_spec("tf_keras") is None:
        pytest.skip("tf-keras (a test dependency) is not installed")
    version = importlib.metadata.version("tf-keras")
    key = hashlib.sha256(GENERATOR.read_bytes() + version.encode()).hexdigest()[:16]
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    base = pathlib.Path(cache.mkdir("tf_keras_h5_files")) if cache is not None else \
        tmp_path_factory.mktemp("tf_keras_h5_files")
    folder = base / key
    # Under xdist both workers may reach this first: a lock makes one write the files (one
    # TensorFlow process, not two racing on the same folder) and the other wait for them.
    with open(base / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "expected.npz").exists():
            partial = folder.with_name(key + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            result = subprocess.run(
                [sys.executable, str(GENERATOR), str(partial)], capture_output=True, text=True,
                timeout=600,
                env={**os.environ, "TF_USE_LEGACY_KERAS": "1", "CUDA_VISIBLE_DEVICES": ""})
            assert result.returncode == 0, \
                f"tf-keras failed to write the files:\n{result.stderr[-3000:]}"
            shutil.rmtree(folder, ignore_errors=True)
            partial.rename(folder)
    return _read(folder)


def _generator_digest():
    return hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:12]


def _read(folder):
    paths = {path.stem: str(path) for path in folder.glob("*.h5")}
    with np.load(folder / "expected.npz") as expected:
        paths["expected"] = dict(expected)
    return paths


def test_committed_files_come_from_the_generator():
    assert _generator_digest() == GENERATED_BY, (
        "tests/saving/_tf_keras_files.py changed since tests/saving/tf_keras_h5/ was written: "
        "run `python tests/saving/_tf_keras_files.py tests/saving/tf_keras_h5` with tf-keras "
        f"installed, commit the files and set GENERATED_BY to {_generator_digest()!r}.")
    assert sorted(p.name for p in COMMITTED.iterdir()) == sorted(
        [f"{name}.h5" for name in ("custom_layer_metric", "deep_layers", "huber_loss", "nested",
                                   "sequential", "sequential_weights", "subclassed",
                                   "wide_deep")] + ["expected.npz"])


# ----------------------------------------------------------------- the book's custom objects
def create_huber(threshold=1.0):
    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small_error = ops.abs(error) < threshold
        squared_loss = ops.square(error) / 2
        linear_loss = threshold * ops.abs(error) - threshold ** 2 / 2
        return ops.where(is_small_error, squared_loss, linear_loss)
    return huber_fn


class HuberLoss(keras.losses.Loss):
    def __init__(self, threshold=1.0, **kwargs):
        self.threshold = threshold
        super().__init__(**kwargs)

    def call(self, y_true, y_pred):
        return create_huber(self.threshold)(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class HuberMetric(keras.metrics.Metric):
    def __init__(self, threshold=1.0, **kwargs):
        super().__init__(**kwargs)
        self.threshold = threshold
        self.huber_fn = create_huber(threshold)
        self.total = self.add_weight(name="total", initializer="zeros")
        self.count = self.add_weight(name="count", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        metric = self.huber_fn(y_true, y_pred)
        self.total.assign_add(ops.sum(metric))
        self.count.assign_add(ops.cast(ops.size(y_true), "float32"))

    def result(self):
        return self.total / self.count

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class MyDense(keras.layers.Layer):
    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, batch_input_shape):
        self.kernel = self.add_weight(name="kernel", shape=[batch_input_shape[-1], self.units],
                                      initializer="glorot_normal")
        self.bias = self.add_weight(name="bias", shape=[self.units], initializer="zeros")

    def call(self, X):
        return self.activation(X @ self.kernel + self.bias)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


class WideAndDeepModel(keras.Model):
    def __init__(self, units=30, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.norm_layer_wide = keras.layers.Normalization()
        self.norm_layer_deep = keras.layers.Normalization()
        self.hidden1 = keras.layers.Dense(units, activation=activation)
        self.hidden2 = keras.layers.Dense(units, activation=activation)
        self.main_output = keras.layers.Dense(1)
        self.aux_output = keras.layers.Dense(1)

    def call(self, inputs):
        input_wide, input_deep = inputs
        norm_wide = self.norm_layer_wide(input_wide)
        norm_deep = self.norm_layer_deep(input_deep)
        hidden2 = self.hidden2(self.hidden1(norm_deep))
        concat = keras.layers.concatenate([norm_wide, hidden2])
        return self.main_output(concat), self.aux_output(hidden2)


CUSTOM = {"HuberLoss": HuberLoss, "HuberMetric": HuberMetric, "MyDense": MyDense,
          "huber_fn": create_huber(2.0)}


def _inputs(files, name, rows=None):
    x = files["expected"]["x"] if rows is None else files["expected"]["x"][:rows]
    return (x[:, :5], x[:, 2:]) if name in ("wide_deep", "subclassed") else x


def _continues_like_tf_keras(model, files, name):
    """One more epoch from the file's state gives tf-keras's losses and metrics."""
    expected = files["expected"]
    history = model.fit(_inputs(files, name), expected["y"], batch_size=16, epochs=1,
                        shuffle=False, verbose=0)
    prefix = f"{name}/next_"
    for key in (k for k in expected if k.startswith(prefix)):
        np.testing.assert_allclose(history.history[key[len(prefix):]], expected[key],
                                   **TRAINING, err_msg=key)


# ------------------------------------------------------------------------- whole-model files
@pytest.fixture(scope="module")
def book_model(files):
    """Loads each whole-model file once (a load builds, compiles and restores the optimizer
    state): the test that trains a model on and the one that reads its settings share it."""
    loaded = {}

    def load(name, custom_objects):
        if name not in loaded:
            with warnings.catch_warnings():
                warnings.simplefilter("error", LegacyH5Warning)  # optimizer state in full
                loaded[name] = keras.models.load_model(files[name],
                                                       custom_objects=custom_objects)
        return loaded[name]

    return load


@pytest.mark.parametrize("name, custom_objects", [
    ("sequential", None),                                   # chapter 10: the regression MLP
    ("wide_deep", None),                                    # two inputs, Normalization adapted
    ("huber_loss", {"HuberLoss": HuberLoss}),               # a Loss subclass with a threshold
    ("custom_layer_metric", CUSTOM),                        # MyDense, HuberMetric, huber_fn
])
def test_book_h5_model_predicts_and_trains_on_as_in_tf_keras(files, book_model, name,
                                                            custom_objects):
    model = book_model(name, custom_objects)
    np.testing.assert_allclose(model.predict(_inputs(files, name, rows=5), verbose=0),
                               files["expected"][f"{name}/predict"], **CLOSE)
    assert int(model.optimizer.iterations.numpy()) == 8  # 2 epochs of 4 batches in tf-keras
    _continues_like_tf_keras(model, files, name)


def test_chapter_11_layers_and_tf_keras_2_arguments(files):
    """Batch norm, LeakyReLU(alpha=...), PReLU, SELU, alpha dropout, max-norm, l2, Nesterov
    SGD, and separable, depthwise and recurrent layers whose configs hold arguments Keras 3
    dropped (`groups`, a separable convolution's unused `kernel_*`, `time_major`). Dropout
    draws different masks in each library, so training is compared elsewhere."""
    model = keras.models.load_model(files["deep_layers"])
    np.testing.assert_allclose(model.predict(_inputs(files, "deep_layers", rows=5), verbose=0),
                               files["expected"]["deep_layers/predict"], **CLOSE)
    assert int(model.optimizer.iterations.numpy()) == 4 and model.optimizer.nesterov
    assert model.get_layer(index=7).negative_slope == pytest.approx(0.2)


def test_loaded_objects_are_the_book_classes_with_their_settings(files, book_model):
    model = book_model("huber_loss", {"HuberLoss": HuberLoss})
    assert isinstance(model.loss, HuberLoss) and model.loss.threshold == 2.0
    assert type(model.optimizer).__name__ == "Nadam"
    model = book_model("custom_layer_metric", CUSTOM)
    assert isinstance(model.layers[0], MyDense) and model.layers[0].units == 30
    assert model.loss is CUSTOM["huber_fn"]
    model = keras.models.load_model(files["wide_deep"], compile=False)
    assert not model.compiled and len(model.inputs) == 2
    assert model.get_layer("norm_wide").mean.shape == (1, 5)
    assert model.get_layer("concatenate").axis == -1  # tf.keras 2 wrote it as [-1]... or -1


def test_models_nested_in_a_functional_model(files):
    with pytest.warns(LegacyH5Warning, match="No training configuration"):
        model = keras.models.load_model(files["nested"])
    added, first = model(_inputs(files, "nested", rows=5))
    np.testing.assert_allclose(added, files["expected"]["nested/predict"], **CLOSE)
    np.testing.assert_allclose(first, files["expected"]["nested/predict_inner"], **CLOSE)
    assert [layer.name for layer in model.layers[1:3]] == ["inner_sequential", "inner_functional"]


def test_unknown_layer_names_the_layer_and_custom_objects(files):
    with pytest.raises(ValueError, match=r"layer 'my_dense' of class 'MyDense'.*"
                                         r"custom_objects=\{'MyDense': MyDense\}"):
        keras.models.load_model(files["custom_layer_metric"])


# ------------------------------------------------------------------------------ weights files
def test_subclassed_model_loads_weights_by_order(files):
    model = WideAndDeepModel(30, activation="relu", name="my_cool_model")
    x = _inputs(files, "subclassed", rows=5)
    model(x)  # builds it (tf-keras's subclassed models were saved as weights alone)
    model.load_weights(files["subclassed"])
    main, aux = model(x)
    np.testing.assert_allclose(main, files["expected"]["subclassed/predict"], **CLOSE)
    np.testing.assert_allclose(aux, files["expected"]["subclassed/predict_aux"], **CLOSE)


def _mlp(units=30, outputs=1, names=("dense", "dense_1")):
    return keras.Sequential([keras.Input((8,)),
                             keras.layers.Dense(units, activation="relu", name=names[0]),
                             keras.layers.Dense(outputs, name=names[1])])


def test_weights_file_by_order_and_by_name(files):
    x, expected = _inputs(files, "sequential", rows=5), files["expected"]["sequential/predict"]
    model = _mlp(names=("first", "second"))  # other names: matched by order
    model.load_weights(files["sequential_weights"])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, **CLOSE)
    # By name: only the layer whose name is in the file takes its weights.
    model = _mlp(names=("dense", "other"))
    before = model.layers[1].get_weights()
    model.load_weights(files["sequential_weights"], by_name=True)
    with h5py.File(files["sequential_weights"]) as f:
        np.testing.assert_array_equal(model.layers[0].kernel.numpy(), f["dense/dense/kernel:0"])
    np.testing.assert_array_equal(model.layers[1].get_weights()[0], before[0])
    # A whole-model file's weights load the same way.
    model = _mlp(names=("first", "second"))
    keras.saving.load_weights(model, files["sequential"])
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, **CLOSE)


def test_weights_shape_mismatch_names_the_layer_and_both_shapes(files):
    model = _mlp(outputs=2)
    kernel = model.layers[0].kernel.numpy()
    with pytest.raises(ValueError, match=r"layer #1 \(named 'dense_1' in the model, 'dense_1' "
                                         r"in the file\).*expects shape \(30, 2\).*\(30, 1\)"):
        model.load_weights(files["sequential_weights"])
    np.testing.assert_array_equal(model.layers[0].kernel.numpy(), kernel)  # nothing loaded
    with pytest.warns(LegacyH5Warning, match=r"dense_1.*\(30, 2\).*\(30, 1\)"):
        model.load_weights(files["sequential_weights"], skip_mismatch=True)
    with h5py.File(files["sequential_weights"]) as f:
        np.testing.assert_array_equal(model.layers[0].kernel.numpy(), f["dense/dense/kernel:0"])


def test_weights_layer_count_mismatch_is_refused(files):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(30, name="a"),
                              keras.layers.Dense(4, name="b"), keras.layers.Dense(1, name="c")])
    with pytest.raises(ValueError, match=r"Layer count mismatch.*model has 3 layers with weights "
                                         r"\['a', 'b', 'c'\], the file has 2 \['dense', 'dense_1'\]"):
        model.load_weights(files["sequential_weights"])
    with pytest.raises(ValueError, match=r"`by_name` only applies to legacy"):
        model.load_weights("model.weights.h5", by_name=True)
    unbuilt = WideAndDeepModel()  # a subclassed model has no weights before its first call
    with pytest.raises(ValueError, match=r"model is not built.*call it on a batch"):
        unbuilt.load_weights(files["subclassed"])


# ------------------------------------------------------------------- lamina writes the format
def test_save_h5_writes_the_legacy_format_with_keras_warning(files, tmp_path):
    model = keras.models.load_model(files["custom_layer_metric"], custom_objects=CUSTOM)
    path = tmp_path / "my_keras_model.h5"
    with pytest.warns(LegacyH5Warning, match=r"saving your model as an HDF5 file.*legacy"):
        model.save(path)
    with h5py.File(path) as f:
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert [layer["class_name"] for layer in config["config"]["layers"]] == [
            "InputLayer", "MyDense", "Dense"]
        assert all("module" not in layer for layer in config["config"]["layers"])
        assert list(f["model_weights"].attrs["layer_names"]) == ["my_dense", "dense_10"]
        assert json.loads(f.attrs["training_config"])["optimizer_config"]["class_name"] == "SGD"
        assert len(f["optimizer_weights"].attrs["weight_names"]) == 6  # iteration, rate, 4 slots
    again = keras.models.load_model(path, custom_objects=CUSTOM)
    x = _inputs(files, "sequential", rows=5)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), **CLOSE)
    assert int(again.optimizer.iterations.numpy()) == 8
    for restored, saved in zip(again.optimizer.variables[2:], model.optimizer.variables[2:],
                               strict=True):  # the momentum restored from tf.keras's legacy SGD
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())
    assert all(np.any(v.numpy() != 0) for v in again.optimizer.variables[2:])
    # A failed save leaves the previous file whole (written to a temporary, then renamed).
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        model.save(path, overwrite=False)
    assert path.read_bytes() == before


def test_legacy_serialization_names():
    config = keras.legacy.saving.serialize_keras_object(keras.regularizers.L1L2(l1=0.5))
    assert config == {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.0}}
    deserialize = keras.utils.legacy.deserialize_keras_object
    assert deserialize(config, module_objects={"L1L2": keras.regularizers.L1L2}).l1 == 0.5
    with pytest.raises(ValueError, match=r"Unknown regularizer: 'L1L2'.*custom_objects"):
        deserialize(config, printable_module_name="regularizer")


def _write_legacy(path, model_config, layers, training_config=None):
    """A legacy `.h5` file as Keras 2.2 wrote it: `{layer: [(weight name, value)]}`."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(model_config).encode()
        f.attrs["keras_version"] = b"2.2.4"
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [name.encode() for name in layers]
        for layer, weights in layers.items():
            sub = group.create_group(layer)
            sub.attrs["weight_names"] = [name.encode() for name, _ in weights]
            for name, value in weights:
                sub.create_dataset(name, data=value)


def test_keras_2_2_era_configs(tmp_path):
    """Older spellings: a Sequential config that is the bare layer list with
    `batch_input_shape` on its first layer, a functional model called "Model", one-element
    `axis` lists, `lr`, a `Policy` dtype."""
    rng = np.random.default_rng(1)
    kernel, bias = rng.normal(size=(3, 2)).astype("float32"), np.float32([0.5, -0.5])
    gamma = np.float32([2.0, 3.0])
    dense = {"class_name": "Dense", "config": {
        "name": "dense_1", "units": 2, "activation": "relu", "batch_input_shape": [None, 3],
        "dtype": {"class_name": "Policy", "config": {"name": "float32"}},
        "kernel_initializer": {"class_name": "VarianceScaling", "config": {
            "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}}}
    norm = {"class_name": "LayerNormalization", "config": {"name": "norm", "axis": [-1],
                                                           "center": False}}
    weights = {"dense_1": [("dense_1/kernel:0", kernel), ("dense_1/bias:0", bias)],
               "norm": [("norm/gamma:0", gamma)]}
    training = {"loss": "mean_squared_error", "metrics": ["mae"], "loss_weights": None,
                "optimizer_config": {"class_name": "SGD", "config": {
                    "lr": 0.5, "momentum": 0.0, "decay": 0.0, "nesterov": False}}}
    _write_legacy(tmp_path / "sequential.h5", {"class_name": "Sequential",
                                               "config": [dense, norm]}, weights, training)
    functional = {"class_name": "Model", "config": {
        "name": "model_1", "input_layers": [["input_1", 0, 0]],
        "output_layers": [["norm", 0, 0]], "layers": [
            {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [], "config": {
                "batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
                "name": "input_1"}},
            {**dense, "name": "dense_1", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
            {**norm, "name": "norm", "inbound_nodes": [[["dense_1", 0, 0, {}]]]}]}}
    _write_legacy(tmp_path / "functional.h5", functional, {"input_1": [], **weights})
    x = rng.normal(size=(4, 3)).astype("float32")
    hidden = np.maximum(x @ kernel + bias, 0)
    expected = gamma * (hidden - hidden.mean(-1, keepdims=True)) / np.sqrt(
        hidden.var(-1, keepdims=True) + 1e-3)
    model = keras.models.load_model(tmp_path / "sequential.h5")
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-5)
    assert model.layers[1].axis in (-1, [-1], (-1,)) and model.optimizer.learning_rate == 0.5
    with pytest.warns(LegacyH5Warning, match="No training configuration"):
        model = keras.models.load_model(tmp_path / "functional.h5")
    np.testing.assert_allclose(model(x), expected, rtol=1e-5, atol=1e-5)
