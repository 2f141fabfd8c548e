"""keras.utils.FeatureSpace: Keras 3.15's encodings of structured data (numbers computed with
Keras 3.15 on JAX), adapt on dicts and iterables, the errors, and `.keras` files that move
both ways with Keras 3.15 (checked by running Keras in a subprocess)."""

import importlib.metadata
import io
import json
import os
import subprocess
import sys
import zipfile

import h5py
import numpy as np
import pytest

import lamina as keras
from lamina._serialization import DeserializationError

FS = keras.utils.FeatureSpace
DATA = {
    "price": np.array([1.0, 2.0, 3.0, 10.0, 4.0, 2.5]),
    "age": np.array([20.0, 35.0, 50.0, 65.0, 28.0, 41.0]),
    "color": np.array(["red", "blue", "red", "green", "blue", "red"]),
    "size": np.array([1, 2, 2, 3, 1, 2]),
    "tag": np.array(["a", "b", "c", "a", "b", "z"]),
}
# Keras 3.15's output for the first and fourth rows: age (3 bins), color (4), price
# (normalized), size (4), tag (4 hash bins), color_X_size (5 hash bins).
ROW_0 = [1, 0, 0, 0, 1, 0, 0, -0.9352533, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]
ROW_3 = [0, 0, 1, 0, 0, 0, 1, 2.1256, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]


def _space():
    return FS(features={
        "price": FS.float_normalized(), "age": FS.float_discretized(num_bins=3),
        "color": FS.string_categorical(), "size": FS.integer_categorical(),
        "tag": FS.string_hashed(num_bins=4)},
        crosses=[FS.cross(("color", "size"), crossing_dim=5)])


def test_concat_output_equals_keras():
    space = _space()
    space.adapt(DATA)
    out = np.asarray(space(DATA))
    assert out.shape == (6, 21)
    np.testing.assert_allclose(out[0], ROW_0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[3], ROW_3, rtol=1e-4, atol=1e-4)
    # One sample (scalars) gives one vector.
    np.testing.assert_allclose(space({k: v[0] for k, v in DATA.items()}), ROW_0, rtol=1e-5,
                               atol=1e-6)


def test_dict_output_by_feature_type_names_equals_keras():
    space = FS(features={"color": "string_categorical", "size": "integer_categorical",
                         "price": "float_rescaled"}, output_mode="dict")
    space.adapt(DATA)
    out = space({"color": np.array(["red", "pink"]), "size": np.array([3, 9]),
                 "price": np.array([2.0, 4.0])})
    assert {k: np.asarray(v).tolist() for k, v in out.items()} == {
        "color": [[0, 1, 0, 0], [1, 0, 0, 0]], "price": [[2.0], [4.0]],
        "size": [[0, 0, 0, 1], [1, 0, 0, 0]]}


def test_adapt_on_an_iterable_of_dict_batches():
    space = FS(features={"color": "string_categorical"})
    space.adapt({"color": b} for b in (np.array(["red", "blue"]), np.array(["red"])))
    assert space.preprocessors["color"].get_vocabulary() == ["[UNK]", "red", "blue"]


def test_a_failed_adapt_changes_nothing_and_use_before_adapt_is_refused():
    space = FS(features={"color": "string_categorical"})
    with pytest.raises(ValueError, match="call `.adapt"):
        space({"color": np.array(["red"])})

    def broken():
        yield {"color": np.array(["red"])}
        raise OSError("lost the file")

    with pytest.raises(OSError, match="lost the file"):
        space.adapt(broken())
    assert space.preprocessors["color"].get_vocabulary() == ["[UNK]"]


def test_bad_arguments_name_what_is_wrong():
    with pytest.raises(ValueError, match="invalid feature type 'floaty' for feature 'x'"):
        FS(features={"x": "floaty"})
    with pytest.raises(ValueError, match=r"unknown features \['z'\]"):
        FS(features={"x": "float"}, crosses=[("x", "z")])
    with pytest.raises(ValueError, match="no column for the features"):
        FS(features={"x": "float_normalized"}).adapt({"y": np.ones(3)})


def test_a_model_on_the_encoded_features_takes_raw_columns():
    space = FS(features={"color": "string_categorical", "size": "integer_categorical",
                         "price": "float_normalized", "tag": FS.string_hashed(num_bins=4)})
    space.adapt(DATA)
    inputs, encoded = space.get_inputs(), space.get_encoded_features()
    assert encoded.shape == (None, 13)
    model = keras.Model(inputs, encoded)
    columns = {key: DATA[key][:, None] for key in inputs}
    np.testing.assert_allclose(model.predict(columns, verbose=0), space(DATA), rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match="has crosses"):
        _space_adapted = _space()
        _space_adapted.adapt(DATA)
        _space_adapted.get_encoded_features()


# ------------------------------------------------------------------------------- saving
# Keras's FeatureSpace runs on tf.data, which tests/conftest.py hides from this process, so
# Keras 3.15 (on JAX) runs in one subprocess: it loads lamina's file, and writes its own from
# the same space (adapted, and once before adapt).
KERAS_SIDE = r"""
import json, os, sys, warnings
os.environ["KERAS_BACKEND"] = "jax"
import numpy as np
import keras
folder = sys.argv[1]
data = {k: np.array(v) for k, v in json.loads(sys.argv[2]).items()}
FS = keras.utils.FeatureSpace
def space():
    return FS(features={"price": FS.float_normalized(), "age": FS.float_discretized(num_bins=3),
                        "color": FS.string_categorical(), "size": FS.integer_categorical()},
              crosses=[FS.cross(("color", "size"), crossing_dim=5)])
loaded = keras.saving.load_model(os.path.join(folder, "lamina.keras"))
ours = space()
ours.adapt(data)
ours.save(os.path.join(folder, "keras.keras"))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    space().save(os.path.join(folder, "keras_unadapted.keras"))
print(json.dumps({"type": type(loaded).__name__,
                  "on_lamina_file": np.asarray(loaded(data)).tolist(),
                  "keras": np.asarray(ours(data)).tolist()}))
"""
SAVE_DATA = {key: DATA[key] for key in ("price", "age", "color", "size")}


def _save_space():
    return FS(features={"price": FS.float_normalized(), "age": FS.float_discretized(num_bins=3),
                        "color": FS.string_categorical(), "size": FS.integer_categorical()},
              crosses=[FS.cross(("color", "size"), crossing_dim=5)])


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("feature_space")
    keras.utils.clear_session()  # auto-names count from zero, as in Keras's fresh process
    space = _save_space()
    space.adapt(SAVE_DATA)
    space.save(str(folder / "lamina.keras"))
    return folder, space, np.asarray(space(SAVE_DATA))


@pytest.fixture(scope="module")
def keras_side(saved):
    for package in ("keras", "tensorflow"):
        try:
            importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pytest.skip(f"Keras's FeatureSpace needs {package}, which is not installed")
    folder = saved[0]
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    data = json.dumps({key: value.tolist() for key, value in SAVE_DATA.items()})
    run = subprocess.run([sys.executable, "-c", KERAS_SIDE, str(folder), data],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_saved_space_loads_adapted_and_encodes_the_same(saved):
    folder, space, expected = saved
    loaded = keras.saving.load_model(str(folder / "lamina.keras"))
    assert isinstance(loaded, FS) and loaded is not space
    assert loaded.preprocessors["color"].get_vocabulary() == \
        space.preprocessors["color"].get_vocabulary()
    assert loaded.preprocessors["age"].bin_boundaries == space.preprocessors["age"].bin_boundaries
    np.testing.assert_array_equal(loaded(SAVE_DATA), expected)


def test_a_lamina_file_loads_in_keras_and_encodes_the_same(saved, keras_side):
    assert keras_side["type"] == "FeatureSpace"
    np.testing.assert_allclose(keras_side["on_lamina_file"], saved[2], rtol=1e-6, atol=1e-6)


def test_a_keras_file_loads_in_lamina_and_encodes_the_same(saved, keras_side):
    loaded = keras.saving.load_model(str(saved[0] / "keras.keras"))
    assert isinstance(loaded, FS)
    np.testing.assert_allclose(keras_side["keras"], saved[2], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(loaded(SAVE_DATA), keras_side["keras"], rtol=1e-6, atol=1e-6)


def _entries(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        assets = {n: archive.read(n) for n in archive.namelist() if n.startswith("assets/")}
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            paths = []
            weights.visit(paths.append)
            values = {p: weights[p][()].tolist() for p in paths
                      if isinstance(weights[p], h5py.Dataset)}
    return _without_sharing_ids(config), assets, sorted(paths), values


def _without_sharing_ids(value):
    # Keras marks a dtype policy object met twice with a `shared_object_id` (its id()).
    if isinstance(value, dict):
        return {k: _without_sharing_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_without_sharing_ids(v) for v in value]
    return value


def test_lamina_writes_the_file_keras_writes(saved, keras_side):
    """The same config, vocabulary assets, weights layout and statistics, entry by entry."""
    ours = _entries(saved[0] / "lamina.keras")
    theirs = _entries(saved[0] / "keras.keras")
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert ours[2] == theirs[2]
    assert ours[3].keys() == theirs[3].keys()
    for path in ours[3]:
        np.testing.assert_allclose(ours[3][path], theirs[3][path], rtol=1e-6, err_msg=path)


def test_a_space_saved_before_adapt_loads_unadapted(tmp_path):
    space = FS(features={"price": "float_normalized", "color": "string_categorical"})
    path = str(tmp_path / "unadapted.keras")
    with pytest.warns(UserWarning, match="before adapt"):
        space.save(path)
    loaded = keras.saving.load_model(path)
    with pytest.raises(ValueError, match="call `.adapt"):
        loaded(DATA)
    loaded.adapt(DATA)
    fresh = FS(features={"price": "float_normalized", "color": "string_categorical"})
    fresh.adapt(DATA)
    np.testing.assert_allclose(loaded(DATA), fresh(DATA), rtol=1e-6)


def test_a_keras_file_saved_before_adapt_loads_unadapted(saved, keras_side):
    # Keras itself marks such a file adapted and encodes with empty statistics.
    loaded = keras.saving.load_model(str(saved[0] / "keras_unadapted.keras"))
    with pytest.raises(ValueError, match="call `.adapt"):
        loaded(SAVE_DATA)
    loaded.adapt(SAVE_DATA)
    np.testing.assert_allclose(loaded(SAVE_DATA), saved[2], rtol=1e-6, atol=1e-6)


def _edited(source, folder, edit):
    with zipfile.ZipFile(source) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(entries["config.json"])
    edit(config)
    entries["config.json"] = json.dumps(config).encode()
    path = str(folder / "edited.keras")
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _set(*keys, value):
    def edit(config):
        for key in keys[:-1]:
            config = config[key]
        config[keys[-1]] = value
    return edit


@pytest.mark.parametrize("edit, message", [
    (_set("config", "features", value={}), r"config\['features'\]: expected a non-empty dict"),
    (_set("config", "features", "price", "config", "output_mode", value="binary"),
     r"config\['features'\]\['price'\]\['config'\]\['output_mode'\]: expected one of"),
    (_set("config", "features", "color", value=[1, 2]),
     r"config\['features'\]\['color'\]: expected a Feature config"),
    (_set("config", "crosses", 0, "config", "feature_names", value=["color", "shape"]),
     r"config\['crosses'\]\[0\]\['config'\]\['feature_names'\]: expected a list of feature"),
    (_set("config", "crossing_dim", value=-3), r"config\['crossing_dim'\]: expected a positive"),
    (_set("build_config", "weight", value={"input_shape": [None, 1]}),
     r"build_config of FeatureSpace .* names the features \['weight'\]"),
    (_set("config", "features", "price", "config", "preprocessor",
          value={"module": "keras.losses", "class_name": "MeanSquaredError", "config": {},
                 "registered_name": None}), "must describe a preprocessing layer"),
])
def test_a_malformed_config_is_refused_naming_the_key(saved, tmp_path, edit, message):
    path = _edited(saved[0] / "lamina.keras", tmp_path, edit)
    with pytest.raises(DeserializationError, match=message):
        keras.saving.load_model(path)
