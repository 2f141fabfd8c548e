"""The one exception to the modeling-only allow list: `keras.utils.FeatureSpace` and the
helpers its config nests resolve by their exact names; every other `keras.utils` name, and the
rest of Keras's feature_space module, stays refused."""

import pytest

import lamina as keras
from lamina import _serialization as serialization

KERAS_MODULE = "keras.src.layers.preprocessing.feature_space"


def _object(module, class_name, config, registered_name=None):
    return {"module": module, "class_name": class_name, "config": config,
            "registered_name": registered_name}


def _space_config(preprocessor):
    feature = _object(KERAS_MODULE, "Feature", {
        "dtype": "float32", "preprocessor": preprocessor, "output_mode": "float"}, "Feature")
    return _object("keras.utils", "FeatureSpace", {"features": {"x": feature},
                                                   "output_mode": "concat", "crosses": []})


def test_feature_space_and_its_helpers_resolve_in_safe_mode():
    identity = _object(KERAS_MODULE, "TFDIdentity", {"name": "x_preprocessor",
                                                      "dtype": "float32"}, "TFDIdentity")
    space = serialization.deserialize_keras_object(_space_config(identity), safe_mode=True)
    assert isinstance(space, keras.utils.FeatureSpace)
    assert type(space.preprocessors["x"]).__name__ == "TFDIdentity"
    cross = serialization.deserialize_keras_object(_object(
        KERAS_MODULE, "Cross", {"feature_names": ["a", "b"], "crossing_dim": 4}, "Cross"))
    assert cross.name == "a_X_b"


@pytest.mark.parametrize("class_name", ["Progbar", "PyDataset", "Config"])
def test_other_keras_utils_classes_are_still_refused_in_every_mode(class_name):
    config = _object("keras.utils", class_name, {})
    for safe_mode in (None, True, False):
        with pytest.raises(serialization.DeserializationError,
                           match=f"Refusing to deserialize 'keras.utils.{class_name}'"):
            serialization.deserialize_keras_object(config, safe_mode=safe_mode)


def test_the_rest_of_kerass_feature_space_module_does_not_resolve():
    config = _object(KERAS_MODULE, "TFDConcat", {"axis": -1}, "TFDConcat")
    with pytest.raises(serialization.DeserializationError, match="no such built-in"):
        serialization.deserialize_keras_object(config)


def test_a_feature_space_config_cannot_reach_other_keras_utils_names():
    """What a FeatureSpace config nests goes through the same allow list."""
    get_file = _object("keras.utils", "function", "get_file", "function")
    with pytest.raises(serialization.DeserializationError,
                       match="Refusing to deserialize 'keras.utils.get_file'"):
        serialization.deserialize_keras_object(_space_config(get_file), safe_mode=False)
