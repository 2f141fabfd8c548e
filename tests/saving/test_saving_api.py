"""keras.saving.save_model / load_model / save_weights / load_weights and
keras.models.save_model: Keras 3's functions and arguments; what lamina cannot do is refused."""

import numpy as np
import pytest

import lamina
from lamina import saving


def _model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_the_functions_are_exported_where_keras_has_them():
    assert lamina.models.save_model is saving.save_model
    assert lamina.models.load_model is saving.load_model
    for name in ("load_model", "save_model", "load_weights", "save_weights", "KerasFileEditor"):
        assert name in saving.__all__


def test_round_trips(tmp_path):
    model = _model()
    x = np.ones((2, 3), "float32")
    saving.save_model(model, tmp_path / "m.keras")
    loaded = saving.load_model(str(tmp_path / "m.keras"))
    np.testing.assert_allclose(loaded(x), model(x))
    assert loaded.compiled
    assert not saving.load_model(tmp_path / "m.keras", compile=False).compiled
    saving.save_weights(model, tmp_path / "m.weights.h5")
    other = _model()
    saving.load_weights(other, tmp_path / "m.weights.h5")
    np.testing.assert_allclose(other(x), model(x))
    third = _model()
    saving.load_weights(third, tmp_path / "m.keras")   # an archive's weights
    np.testing.assert_allclose(third(x), model(x))
    saving.save_model(lamina.layers.Dense(2), tmp_path / "layer.keras")  # a layer too, as Keras


def test_save_model_arguments(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match=r"not supported: \['foo'\]"):
        saving.save_model(model, tmp_path / "m.keras", foo=1)
    saving.save_model(model, tmp_path / "m.keras", include_optimizer=False)
    with pytest.warns(UserWarning, match="save_format"):
        saving.save_model(model, tmp_path / "m.keras", save_format="keras")
    with pytest.raises(ValueError, match=r"save_format.*deprecated.*filepath="):
        saving.save_model(model, tmp_path / "m", save_format="keras")
    with pytest.raises(ValueError, match="zipped=False"):
        saving.save_model(model, tmp_path / "folder", zipped=False)
    with pytest.warns(UserWarning, match="HDF5 file.*legacy"):  # tf.keras 2's format
        saving.save_model(model, tmp_path / "m.h5", include_optimizer=False)
    with pytest.warns(UserWarning, match="No training configuration"):
        assert not saving.load_model(tmp_path / "m.h5").compiled  # no optimizer, no compile
    with pytest.raises(ValueError, match=r"Invalid filepath extension.*m\.txt"):
        saving.save_model(model, tmp_path / "m.txt")
    with pytest.raises(ValueError, match=r"`filepath` must be a path.*filepath=3 of type int"):
        saving.save_model(model, 3)
    with pytest.raises(TypeError, match=r"`model` must be a Keras model.*model='x' of type "
                                        r"str"):
        saving.save_model("x", tmp_path / "x.keras")
    with pytest.raises(FileExistsError, match="overwrite=False"):
        saving.save_model(model, tmp_path / "m.keras", overwrite=False)


def test_load_model_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"file not found") as caught:
        saving.load_model(tmp_path / "absent.keras")
    assert isinstance(caught.value, FileNotFoundError)   # and the ValueError Keras raises
    with pytest.raises(ValueError, match=r"file format not supported.*SavedModel"):
        saving.load_model(tmp_path / "saved_model.pb")
    with pytest.raises(FileNotFoundError):
        saving.load_model(tmp_path / "absent.h5")
    with pytest.raises(ValueError, match=r"holds weights only.*load_weights"):
        saving.load_model(tmp_path / "m.weights.h5")
    with pytest.raises(TypeError, match=r"`custom_objects` must be a dict.*list"):
        saving.load_model(tmp_path / "m.keras", custom_objects=[])


def test_weights_arguments(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match=r"must end in `.weights.h5`. Received: filepath="):
        saving.save_weights(model, tmp_path / "w.h5")
    with pytest.raises(ValueError, match="max_shard_size"):
        saving.save_weights(model, tmp_path / "w.weights.json", max_shard_size=1)
    with pytest.raises(ValueError, match=r"invalid keyword arguments: \['foo'\]"):
        saving.save_weights(model, tmp_path / "w.weights.h5", foo=1)
    with pytest.raises(ValueError, match=r"file format not supported.*w\.txt"):
        saving.load_weights(model, tmp_path / "w.txt")
    with pytest.raises(ValueError, match=r"invalid keyword arguments: \['foo'\]"):
        saving.load_weights(model, tmp_path / "w.weights.h5", foo=1)
    with pytest.raises(ValueError, match="`by_name` only applies to legacy '.h5'"):
        saving.load_weights(model, tmp_path / "w.weights.h5", by_name=True)
    with pytest.raises(FileNotFoundError):
        saving.load_weights(model, tmp_path / "absent.weights.h5")
    with pytest.raises(TypeError, match=r"`model` must be a Keras model"):
        saving.load_weights(None, tmp_path / "w.weights.h5")
