"""keras.utils helpers side by side with Keras 3.15: Config, pad_sequences, normalize,
pack/unpack_x_y_sample_weight, get_source_inputs, is_keras_tensor, and the re-exports."""

import copy
import inspect
import json
import os
import pickle
import re

import numpy as np
import pytest

import lamina
from lamina import utils


@pytest.fixture(scope="module")
def keras3():
    os.environ["KERAS_BACKEND"] = "jax"
    return pytest.importorskip("keras")


# ----------------------------------------------------------------------------- names
def test_re_exports_are_the_library_objects():
    assert utils.Sequence is utils.PyDataset
    assert utils.custom_object_scope is lamina.saving.custom_object_scope
    assert utils.CustomObjectScope is lamina.saving.CustomObjectScope
    assert utils.serialize_keras_object is lamina.saving.serialize_keras_object
    assert utils.deserialize_keras_object is lamina.saving.deserialize_keras_object
    assert utils.get_registered_name is lamina.saving.get_registered_name
    assert utils.standardize_dtype is lamina.backend.standardize_dtype
    assert utils.clear_session is lamina.backend.clear_session


def test_registration_round_trip_through_utils():
    @utils.register_keras_serializable(package="UtilsTest")
    class Scale(lamina.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    assert utils.get_registered_name(Scale) == "UtilsTest>Scale"
    assert utils.get_registered_object("UtilsTest>Scale") is Scale
    assert utils.get_custom_objects()["UtilsTest>Scale"] is Scale
    restored = utils.deserialize_keras_object(utils.serialize_keras_object(Scale(3.0)))
    assert isinstance(restored, Scale) and restored.factor == 3.0


def test_sequence_is_a_pydataset_fit_takes():
    class Batches(utils.Sequence):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return np.ones((4, 2)), np.ones((4, 1))

    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    assert len(model.fit(Batches(), epochs=1, verbose=0).history["loss"]) == 1


# ----------------------------------------------------------------------------- Config
def test_config_like_keras(keras3):
    for module in (utils, keras3.utils):
        config = module.Config(learning_rate=0.1, momentum=0.9)
        config.seed = 123
        config["zeta"] = 1
        assert (config.seed, config["learning_rate"], len(config)) == (123, 0.1, 4)
        assert list(config) == ["learning_rate", "momentum", "seed", "zeta"]  # sorted
        assert json.loads(config.to_json()) == config.as_dict()
        assert "seed" in config and config.get("nope", 5) == 5
        assert config.pop("zeta") == 1
        config.update(momentum=0.5)
        assert repr(config) == "<Config {'learning_rate': 0.1, 'momentum': 0.5, 'seed': 123}>"
        with pytest.raises(AttributeError, match="Unknown attribute: 'sead'. Did you mean 'seed'"):
            config.sead
        config.freeze()
        assert config.frozen
        for change in (lambda: setattr(config, "seed", 1), lambda: config.update(a=1),
                       lambda: config.__setitem__("a", 1), lambda: config.pop("seed"),
                       lambda: config.__delitem__("seed")):
            with pytest.raises(ValueError, match="frozen"):
                change()
        config.unfreeze()
        config.seed = 7
        assert config.seed == 7


def test_config_copies_pickles_and_refuses_shadowing_its_methods():
    config = utils.Config(a=[1])
    clone = copy.deepcopy(config)
    clone.a.append(2)
    assert config.a == [1] and pickle.loads(pickle.dumps(config)).as_dict() == {"a": [1]}
    with pytest.raises(AttributeError, match=r"config\['items'\] = \.\.\."):
        config.items = 3
    config["items"] = 3  # a key may still be named like a method
    assert config["items"] == 3 and callable(config.items)


# ----------------------------------------------------------------------------- pad_sequences
PAD_CASES = [
    ([[1], [2, 3], [4, 5, 6]], {}),
    ([[1], [2, 3], [4, 5, 6]], {"maxlen": 2}),
    ([[1], [2, 3], [4, 5, 6]], {"maxlen": 2, "truncating": "post", "padding": "post"}),
    ([[1], [], [4, 5, 6]], {"value": -1, "maxlen": 4}),
    ([[1.5, 2.5], [3.5]], {"dtype": "float32"}),
    ([np.ones((2, 3)), np.zeros((1, 3))], {"padding": "post"}),
    ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
]


@pytest.mark.parametrize("sequences, options", PAD_CASES)
def test_pad_sequences_like_keras(keras3, sequences, options):
    expected = keras3.utils.pad_sequences(sequences, **options)
    ours = utils.pad_sequences(sequences, **options)
    assert ours.dtype == expected.dtype and ours.shape == expected.shape
    np.testing.assert_array_equal(ours, expected)


def test_pad_sequences_zero_length():
    assert utils.pad_sequences([[1, 2], [3]], maxlen=0).shape == (2, 0)
    assert utils.pad_sequences([]).shape == (0, 0)


@pytest.mark.parametrize("arguments, words", [
    (([[1]],), None),
    (([[1]], None, "int32", "middle"), "padding='middle'"),
    (([[1]], None, "int32", "pre", "both"), "truncating='both'"),
    (([[1]], -1), "maxlen=-1"),
    (([[1]], 2.5), "maxlen=2.5"),
    ((5,), "Received: sequences of type int"),
    (([[1], 7],), "Received a int at position 1"),
    (([[1]], None, "int32", "pre", "pre", "x"), "Pass dtype=object"),
    (([np.ones((1, 2)), np.ones((1, 3))],), "sequence 1 have shape (3,)"),
])
def test_pad_sequences_bad_input(arguments, words):
    if words is None:
        utils.pad_sequences(*arguments)
        return
    with pytest.raises(ValueError, match=re.escape(words)):
        utils.pad_sequences(*arguments)


# ----------------------------------------------------------------------------- normalize
@pytest.mark.parametrize("x, options", [
    (np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]]), {}),
    (np.array([[3.0, 4.0], [1.0, -1.0]]), {"order": 1}),
    (np.arange(24, dtype="float64").reshape(2, 3, 4), {"axis": 1}),
])
def test_normalize_numpy_like_keras(keras3, x, options):
    ours = utils.normalize(x, **options)
    assert isinstance(ours, np.ndarray)
    np.testing.assert_allclose(ours, keras3.utils.normalize(x, **options), rtol=1e-12)


def test_normalize_axis_0_divides_by_the_column_norms():
    # Keras 3.15 turns axis=0 into -1 ("axis or -1") for NumPy input; lamina normalizes
    # along the axis asked for.
    x = np.array([[3.0, 0.0], [4.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(utils.normalize(x, axis=0), x / np.array([5.0, 2.0]))


def test_normalize_tensors_go_through_ops(keras3):
    x = np.array([[3.0, 4.0], [1.0, 2.0]], dtype="float32")
    ours = utils.normalize(lamina.ops.convert_to_tensor(x))
    assert not isinstance(ours, np.ndarray)
    np.testing.assert_allclose(ours, keras3.utils.normalize(keras3.ops.convert_to_tensor(x)),
                               rtol=1e-6)


@pytest.mark.parametrize("options, words", [
    ({"order": 0}, "order=0"), ({"order": 2.0}, "order=2.0"), ({"axis": 2}, "axis=2"),
    ({"axis": None}, "axis=None"),
])
def test_normalize_bad_arguments(options, words):
    with pytest.raises(ValueError, match=words):
        utils.normalize(np.ones((2, 2)), **options)


def test_normalize_refuses_non_numbers():
    with pytest.raises(TypeError, match="real numbers.*<U1"):
        utils.normalize(np.array(["a", "b"]))


# ----------------------------------------------------------------------------- packing
def test_pack_and_unpack_like_keras(keras3):
    x, y, w = np.ones((4, 3)), np.zeros((4, 1)), np.ones(4)
    cases = [(x,), (x, y), (x, y, w), ([x, x],), ((x, x), y)]
    for args in cases:
        ours, theirs = utils.pack_x_y_sample_weight(*args), \
            keras3.utils.pack_x_y_sample_weight(*args)
        assert type(ours) is type(theirs)
        assert (len(ours) if isinstance(ours, tuple) else None) == \
            (len(theirs) if isinstance(theirs, tuple) else None)
        unpacked = utils.unpack_x_y_sample_weight(ours)
        expected = keras3.utils.unpack_x_y_sample_weight(theirs)
        assert [u is None for u in unpacked] == [e is None for e in expected]
    assert utils.pack_x_y_sample_weight(x) is x
    for data in ([x, y], (x,), x):
        assert [v is None for v in utils.unpack_x_y_sample_weight(data)] == \
            [v is None for v in keras3.utils.unpack_x_y_sample_weight(data)]


def test_pack_keeps_sample_weight_without_y():
    x, w = np.ones((4, 3)), np.ones(4)
    packed = utils.pack_x_y_sample_weight(x, None, w)
    assert packed[0] is x and packed[1] is None and packed[2] is w
    assert utils.unpack_x_y_sample_weight(packed)[2] is w


def test_unpack_refuses_four_elements():
    with pytest.raises(ValueError, match=r"\(x, y, sample_weight\).*4 elements"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))


# ----------------------------------------------------------------------------- symbolic tensors
def test_is_keras_tensor():
    inputs = lamina.Input((3,))
    assert utils.is_keras_tensor(inputs)
    assert utils.is_keras_tensor(lamina.layers.Dense(2)(inputs))
    assert not utils.is_keras_tensor(np.ones(3))
    assert not utils.is_keras_tensor(lamina.ops.ones(3))
    assert not utils.is_keras_tensor(lamina.Variable(1.0))


def test_get_source_inputs_like_keras(keras3):
    def build(k):
        a, b, c = (k.Input((3,), name=n) for n in ("a", "b", "c"))
        shared = k.layers.Dense(3, name="shared")
        left = k.layers.Add(name="add")([shared(b), a])
        right = k.layers.Multiply(name="mul")([shared(a), c, left])
        return a, right, k.layers.Dense(2, name="head")(right)

    for module in (lamina, keras3):
        a, right, out = build(module)
        names = [t.name for t in module.utils.get_source_inputs(out)]
        assert names == ["a", "c", "b"], (module.__name__, names)  # depth first, call order
        assert module.utils.get_source_inputs(a) == [a]


def test_get_source_inputs_refuses_arrays():
    with pytest.raises(TypeError, match="symbolic tensor.*Received: tensor of type ndarray"):
        utils.get_source_inputs(np.ones(3))


# Deliberate differences of keras.saving's objects, which keras.utils re-exports: scopes take
# several dicts (TF-Keras 2 code passes them), and safe_mode=None follows an enclosing load.
SIGNATURES_DIFFER = {"CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
                     # format= ("tf" or "grain"), as its image and text siblings take it in
                     # Keras 3.15 and Keras's next release gives it too; 3.15.1's lacks it.
                     "audio_dataset_from_directory"}


def test_signatures_match_keras(keras3):
    """Each keras.utils function or class lamina has takes Keras's parameters and defaults."""
    differ = []
    for name in dir(keras3.utils):
        theirs = getattr(keras3.utils, name)
        if name.startswith("_") or not callable(theirs) or not hasattr(utils, name) or \
                name in SIGNATURES_DIFFER:
            continue
        try:
            expected = inspect.signature(theirs)
        except (TypeError, ValueError):
            continue
        ours = inspect.signature(getattr(utils, name))
        as_list = lambda s: [(p.name, p.default, p.kind) for p in s.parameters.values()]  # noqa: E731
        if as_list(ours) != as_list(expected):
            differ.append(f"{name}: {ours} vs Keras {expected}")
    assert not differ, "\n".join(differ)
