"""keras.utils.FeatureSpace: Keras 3.15's encodings of structured data (numbers computed with
Keras 3.15 on JAX), adapt on dicts and iterables, and the errors."""

import numpy as np
import pytest

import lamina as keras

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
