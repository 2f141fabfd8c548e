"""serialize_keras_object / deserialize_keras_object: Keras 3's format, safety, error messages."""

import json
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import lamina
import lamina as keras
from lamina import saving
from lamina import _registry as registry
from lamina import _serialization as serialization

serialize = saving.serialize_keras_object
deserialize = saving.deserialize_keras_object


@pytest.fixture(autouse=True)
def _restore_registry():
    objects = dict(saving.get_custom_objects())
    names = dict(registry._GLOBAL_CUSTOM_NAMES)
    yield
    saving.get_custom_objects().clear()
    saving.get_custom_objects().update(objects)
    registry._GLOBAL_CUSTOM_NAMES.clear()
    registry._GLOBAL_CUSTOM_NAMES.update(names)


def through_json(config):
    """What a config becomes after a trip through config.json."""
    return json.loads(json.dumps(config))


# ------------------------------------------------------------------------------ plain values
def test_plain_values_and_containers():
    assert serialize(None) is None
    for value in (3, 2.5, True, "text"):
        assert serialize(value) == value and deserialize(value) == value
    assert serialize((1, 2, (3, 4))) == (1, 2, (3, 4))  # tuples stay tuples, as in Keras
    assert serialize([1, (2, 3)]) == [1, (2, 3)]
    assert serialize({"a": (1, 2), "b": [None]}) == {"a": (1, 2), "b": [None]}
    assert deserialize([1, {"a": 2}]) == [1, {"a": 2}]
    assert deserialize((1, 2)) == [1, 2]


def test_numpy_and_jax_values():
    assert serialize(np.float32(1.5)) == 1.5 and type(serialize(np.float32(1.5))) is float
    assert serialize(np.int64(3)) == 3 and serialize(np.bool_(True)) is True
    assert serialize(np.array(2.5)) == 2.5
    config = serialize(np.array([1, 2], dtype="int32"))
    assert config == {"class_name": "__numpy__", "config": {"value": [1, 2], "dtype": "int32"}}
    restored = deserialize(through_json(config))
    assert restored.dtype == np.int32 and restored.tolist() == [1, 2]
    config = serialize(jnp.array([[1.0, 2.0]]))
    assert config == {"class_name": "__tensor__",
                      "config": {"value": [[1.0, 2.0]], "dtype": "float32"}}
    restored = deserialize(config)
    assert restored.dtype == jnp.float32 and restored.shape == (1, 2)


def test_dtypes_bytes_slices_ellipsis():
    assert serialize(np.dtype("float32")) == "float32"
    assert serialize(jnp.float32) == "float32" and serialize(np.int8) == "int8"
    for value in (b"ab", slice(1, None, 2), Ellipsis):
        assert deserialize(through_json(serialize(value))) == value
    assert serialize(slice(1, 2)) == {"class_name": "__slice__",
                                      "config": {"start": 1, "stop": 2, "step": None}}


def test_unserializable_values():
    with pytest.raises(TypeError, match="must define get_config"):
        serialize(object())
    with pytest.raises(TypeError, match="weights are saved separately"):
        serialize(lamina.Variable(1.0))

    class BadConfig:
        def get_config(self):
            return [1]

    with pytest.raises(TypeError, match="must return a dict"):
        serialize(BadConfig())


# ------------------------------------------------------------------------ functions, classes
def plain_function(x):
    return x + 1


def test_functions_are_saved_by_name():
    expected = {"module": "builtins", "class_name": "function", "config": "plain_function",
                "registered_name": "function"}
    assert serialize(plain_function) == expected
    assert deserialize(expected, custom_objects={"plain_function": plain_function}) \
        is plain_function
    with saving.custom_object_scope({"plain_function": plain_function}):
        assert deserialize(expected) is plain_function
    # A bare name in a legacy config resolves through custom objects.
    assert deserialize("plain_function", custom_objects={"plain_function": plain_function}) \
        is plain_function
    # Built-in activation functions load without help, whatever module the config names.
    for module in ("builtins", "keras.activations", None):
        config = {"module": module, "class_name": "function", "config": "relu",
                  "registered_name": "function"}
        assert deserialize(config) is lamina.activations.relu


def test_function_like_callables_are_saved_by_name():
    import jax

    config = serialize(jax.nn.relu)  # a custom_jvp object, not a Python function
    assert config["class_name"] == "function" and config["config"] == "relu"
    assert deserialize(config) is lamina.activations.relu


def test_registered_function():
    fn = saving.register_keras_serializable(package="pk", name="nm")(plain_function)
    config = serialize(fn)
    assert config == {"module": "builtins", "class_name": "function", "config": "pk>nm",
                      "registered_name": "function"}
    assert deserialize(config) is fn
    # Keras <= 3.6 saved registered functions by bare name.
    saving.register_keras_serializable()(plain_function)
    old = {**config, "config": "plain_function"}
    assert deserialize(old) is plain_function


def test_a_bare_name_that_two_packages_register_is_refused_not_guessed():
    first = saving.register_keras_serializable(package="team_a", name="scale")(
        lambda x: x * 2)
    second = saving.register_keras_serializable(package="team_b", name="scale")(
        lambda x: x * 3)
    old = {"module": "builtins", "class_name": "function", "config": "scale",
           "registered_name": "function"}
    with pytest.raises(serialization.DeserializationError) as info:
        deserialize(old)
    message = str(info.value)
    assert "'team_a>scale', 'team_b>scale'" in message
    assert "custom_objects={'scale': ...}" in message
    assert deserialize(old, custom_objects={"scale": second}) is second
    assert deserialize({**old, "config": "team_a>scale"}) is first


def test_classes_are_saved_as_type():
    config = serialize(lamina.constraints.NonNeg)
    assert config == {"module": "builtins", "class_name": "type", "config": "NonNeg",
                      "registered_name": "type"}
    with saving.custom_object_scope({"NonNeg": lamina.constraints.NonNeg}):
        assert deserialize(config) is lamina.constraints.NonNeg


# --------------------------------------------------------------------------- custom classes
class Scaler:
    """A user class with get_config but no from_config: it is rebuilt with cls(**config)."""

    def __init__(self, factor, offset=0.0):
        self.factor = factor
        self.offset = offset

    def get_config(self):
        return {"factor": self.factor, "offset": self.offset}


class Holder:
    """A user class whose config holds another object (deserialized in from_config)."""

    def __init__(self, inner):
        self.inner = inner

    def get_config(self):
        return {"inner": serialize(self.inner)}

    @classmethod
    def from_config(cls, config):
        return cls(deserialize(config["inner"]))


def test_custom_class_format_and_round_trip():
    config = serialize(Scaler(2.0))
    assert config == {"module": __name__, "class_name": "Scaler",
                      "config": {"factor": 2.0, "offset": 0.0}, "registered_name": "Scaler"}
    restored = deserialize(through_json(config), custom_objects={"Scaler": Scaler})
    assert isinstance(restored, Scaler) and restored.factor == 2.0


def test_main_module_is_written_as_none():
    cls = type("InMain", (Scaler,), {"__module__": "__main__"})
    assert serialize(cls(1.0))["module"] is None


def test_nested_objects_see_the_outer_custom_objects():
    config = serialize(Holder(Scaler(3.0)))
    assert config["config"]["inner"]["class_name"] == "Scaler"
    restored = deserialize(config, custom_objects={"Holder": Holder, "Scaler": Scaler})
    assert isinstance(restored.inner, Scaler) and restored.inner.factor == 3.0


def test_registered_custom_class_wins_over_name_clash():
    registered = saving.register_keras_serializable(package="mine")(Scaler)
    config = serialize(registered(1.5))
    assert config["registered_name"] == "mine>Scaler"
    assert isinstance(deserialize(config), Scaler)


# ---------------------------------------------------------------------------------- errors
def test_missing_class_error_names_key_and_decorator():
    with pytest.raises(TypeError) as info:
        deserialize(serialize(Scaler(1.0)))
    message = str(info.value)
    assert "class 'Scaler'" in message
    assert "custom_objects={'Scaler': Scaler}" in message
    assert "@keras.saving.register_keras_serializable()" in message
    assert isinstance(info.value, ValueError)  # code catching either error type works


def test_missing_registered_class_error_names_package():
    config = {"module": "somewhere", "class_name": "Dense2", "config": {},
              "registered_name": "my_pkg>Dense2"}
    with pytest.raises(TypeError) as info:
        deserialize(config)
    message = str(info.value)
    assert "custom_objects={'my_pkg>Dense2': Dense2}" in message
    assert "register_keras_serializable(package='my_pkg')" in message
    assert "never imports the module 'somewhere'" in message


def test_missing_function_error():
    config = serialize(plain_function)
    with pytest.raises(TypeError, match=r"function 'plain_function'.*custom_objects="
                                        r"\{'plain_function': plain_function\}"):
        deserialize(config)


def test_unknown_config_key_names_key_class_and_arguments():
    config = {"module": "keras.initializers", "class_name": "HeNormal",
              "config": {"sed": 3}, "registered_name": None}
    with pytest.raises(TypeError) as info:
        deserialize(config)
    message = str(info.value)
    assert "'sed'" in message and "HeNormal" in message
    assert "seed, input_axes, output_axes" in message
    with pytest.raises(TypeError, match="does not accept the key 'scale'.*factor, offset"):
        deserialize({**serialize(Scaler(1.0)), "config": {"factor": 1.0, "scale": 2}},
                    custom_objects={"Scaler": Scaler})


def test_missing_required_argument():
    with pytest.raises(TypeError, match="lacks the required argument factor"):
        deserialize({**serialize(Scaler(1.0)), "config": {"offset": 1.0}},
                    custom_objects={"Scaler": Scaler})


def test_unknown_keras_builtin():
    config = {"module": "keras.initializers", "class_name": "NoSuchInit", "config": {},
              "registered_name": None}
    with pytest.raises(TypeError, match="'keras.initializers.NoSuchInit': lamina has no such"):
        deserialize(config)


@pytest.mark.parametrize("module, class_name, cls", [
    ("keras.src.models.functional", "Functional", lamina.models.functional.Functional),
    ("keras.src.engine.sequential", "Sequential", lamina.Sequential),
    ("keras.src.layers.core.dense", "Dense", lamina.layers.Dense),
    ("keras.src.optimizers.adam", "Adam", lamina.optimizers.Adam),
    ("keras.src.losses.losses", "MeanSquaredError", lamina.losses.MeanSquaredError),
    ("keras.src.optimizers.schedules.learning_rate_schedule", "ExponentialDecay",
     lamina.optimizers.schedules.ExponentialDecay),
])
def test_keras_source_module_paths_find_the_public_class(module, class_name, cls):
    """Keras writes `keras.src.<package>...` for classes outside its public API (and older
    Keras 3 releases for more of them); they resolve to the class of the public package."""
    config = {"module": module, "class_name": class_name, "config": {},
              "registered_name": class_name}
    assert serialization._Loader({}, True, "object")._find_class(
        class_name, class_name, module, config) is cls


def test_keras_source_module_paths_stay_within_modeling_objects():
    config = {"module": "keras.src.saving.saving_api", "class_name": "function",
              "config": "load_model", "registered_name": "function"}
    with pytest.raises(TypeError, match="load_model"):
        deserialize(config)


@pytest.mark.parametrize("module, name", [
    ("keras.models", "load_model"), ("keras.utils", "get_file"),
    ("keras.config", "enable_unsafe_deserialization"), ("keras.activations", "deserialize"),
    ("keras.saving", "deserialize_keras_object"),
])
def test_non_modeling_apis_are_refused_in_every_mode(module, name):
    config = {"module": module, "class_name": "function", "config": name,
              "registered_name": "function"}
    for safe_mode in (None, True, False):
        with pytest.raises(TypeError, match="Refusing to deserialize"):
            deserialize(config, safe_mode=safe_mode)


# ----------------------------------------------------------------------------- safe mode
@pytest.fixture
def trap_module(tmp_path, monkeypatch):
    """A module that records being imported, with a saveable class in it."""
    name = "lamina_test_trap_module"
    (tmp_path / f"{name}.py").write_text(
        "import builtins\n"
        "builtins._lamina_trap_imported = True\n"
        "class Saveable:\n"
        "    def __init__(self, x=1):\n"
        "        self.x = x\n"
        "    def get_config(self):\n"
        "        return {'x': self.x}\n"
        "class NotSaveable:\n"
        "    def __init__(self, **kwargs):\n"
        "        raise AssertionError('constructed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)
    import builtins

    if hasattr(builtins, "_lamina_trap_imported"):
        del builtins._lamina_trap_imported


def test_modules_named_in_a_file_are_never_imported(trap_module):
    """Safe mode or not: a user class comes from registration or custom_objects, never from an
    import the file asks for (Keras 3.15 refuses those imports too)."""
    import builtins

    config = {"module": trap_module, "class_name": "Saveable", "config": {"x": 5},
              "registered_name": "Saveable"}
    for safe_mode in (True, False):
        with pytest.raises(TypeError, match="never imports the module"):
            deserialize(config, safe_mode=safe_mode)
    assert not hasattr(builtins, "_lamina_trap_imported")


def test_lambdas_need_safe_mode_false():
    with pytest.raises(ValueError, match="allow_lambda_code"):
        serialize(lambda x, k=2: x * k)
    with saving.allow_lambda_code():
        config = serialize(lambda x, k=2: x * k)
    assert config["class_name"] == "__lambda__"
    config = through_json(config)
    with pytest.raises(ValueError, match="Refusing to deserialize a Python lambda"):
        deserialize(config)
    assert deserialize(config, safe_mode=False)(3) == 6

    offset = 10
    with saving.allow_lambda_code():
        closure_config = serialize(lambda x: x + offset)
    assert deserialize(closure_config, safe_mode=False)(1) == 11


def test_safe_mode_reaches_nested_loads():
    with saving.allow_lambda_code():
        config = serialize(Holder(lambda x: x * 3))
    custom = {"Holder": Holder}
    with pytest.raises(ValueError, match="lambda"):
        deserialize(config, custom_objects=custom)
    # Holder.from_config calls deserialize() with its default safe_mode=True; the outer
    # safe_mode=False still applies.
    assert deserialize(config, custom_objects=custom, safe_mode=False).inner(2) == 6


# ----------------------------------------------------------------- sharing, build, specials
def test_object_sharing_scope():
    shared = Scaler(2.0)
    with serialization.ObjectSharingScope():
        config = serialize([shared, shared, Scaler(3.0)])
    assert config[0]["shared_object_id"] == config[1]["shared_object_id"]
    assert "shared_object_id" not in config[2]
    with serialization.ObjectSharingScope():
        restored = deserialize(config, custom_objects={"Scaler": Scaler})
    assert restored[0] is restored[1] and restored[2] is not restored[0]
    assert "shared_object_id" not in serialize(shared)  # outside a scope, no ids


class Buildable:
    def __init__(self, units=1):
        self.units = units
        self.built = False
        self.build_shape = None

    def get_config(self):
        return {"units": self.units}

    def get_build_config(self):
        return {"input_shape": (None, 3)}

    def build_from_config(self, config):
        self.build_shape = config["input_shape"]


def test_build_config_is_saved_and_replayed():
    config = serialize(Buildable(2))
    assert config["build_config"] == {"input_shape": (None, 3)}
    restored = deserialize(through_json(config), custom_objects={"Buildable": Buildable})
    assert restored.built and restored.build_shape == [None, 3]


def test_register_special_type():
    class Marker:
        def __init__(self, tag):
            self.tag = tag

    serialization.register_special_type(
        Marker, "__test_marker__", lambda m: {"tag": m.tag}, lambda c: Marker(c["tag"]))
    try:
        config = serialize({"m": Marker("x")})
        assert config == {"m": {"class_name": "__test_marker__", "config": {"tag": "x"}}}
        assert deserialize(config)["m"].tag == "x"
    finally:
        serialization._SPECIAL_SAVERS.pop()
        serialization._SPECIAL_LOADERS.pop("__test_marker__")


# --------------------------------------------------------- configs captured from Keras 3.15
# Written by `keras.saving.serialize_keras_object` (KERAS_BACKEND=jax), so these tests need no
# Keras install; tests/saving/test_keras_interop.py checks the same against a live Keras.
KERAS_WRITTEN = [
    ({"module": "keras.initializers", "class_name": "GlorotUniform",
      "config": {"seed": 1, "input_axes": None, "output_axes": None}, "registered_name": None},
     lamina.initializers.GlorotUniform),
    ({"module": "keras.initializers", "class_name": "RandomNormal", "config": {
        "seed": {"module": "keras.random", "class_name": "SeedGenerator",
                 "config": {"seed": 3, "name": "seed_generator"}, "registered_name": None},
        "mean": 0.0, "stddev": 0.05}, "registered_name": None},
     lamina.initializers.RandomNormal),
    ({"module": "keras.initializers", "class_name": "Identity", "config": {},
      "registered_name": None}, lamina.initializers.Identity),
    ({"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.009999999776482582},
      "registered_name": None}, lamina.regularizers.L1),
    ({"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2},
      "registered_name": None}, lamina.regularizers.L1L2),
    ({"module": "keras.constraints", "class_name": "MinMaxNorm",
      "config": {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0},
      "registered_name": None}, lamina.constraints.MinMaxNorm),
]


@pytest.mark.parametrize("config, cls", KERAS_WRITTEN,
                         ids=[c["class_name"] for c, _ in KERAS_WRITTEN])
def test_configs_written_by_keras_load(config, cls):
    restored = deserialize(through_json(config))
    assert type(restored) is cls
    again = serialize(restored)
    if cls is lamina.initializers.RandomNormal:
        assert isinstance(restored.seed, lamina.random.SeedGenerator)
        assert again["config"]["seed"]["config"]["seed"] == 3
    elif cls is lamina.initializers.Identity:
        assert again["config"] == {"gain": 1.0}
    else:
        assert again == config


def test_custom_configs_written_by_keras_load():
    keras_function = {"module": "builtins", "class_name": "function", "config": "plain_function",
                      "registered_name": "function"}
    assert deserialize(keras_function, custom_objects={"plain_function": plain_function}) \
        is plain_function
    keras_class = {"module": None, "class_name": "Scaler", "config": {"factor": 0.01},
                   "registered_name": "Scaler"}
    assert deserialize(keras_class, custom_objects={"Scaler": Scaler}).factor == 0.01


def test_loaded_lambdas_see_keras_names():
    # Book code writes `import lamina as keras` at the top and `keras.*` inside lambdas: the
    # loaded lambda finds `keras` (and `tf`, `np`, `jnp`) among its globals.
    with saving.allow_lambda_code():
        config = serialize(lambda x: keras.activations.relu(x))
    fn = deserialize(through_json(config), safe_mode=False)
    assert fn(jnp.array([-1.0, 2.0])).tolist() == [0.0, 2.0]


def test_enable_unsafe_deserialization(monkeypatch):
    monkeypatch.setattr(serialization, "_unsafe_everywhere", False)
    with saving.allow_lambda_code():
        config = serialize(lambda x: x - 1)
    serialization.enable_unsafe_deserialization()
    assert deserialize(config)(1) == 0  # the default (safe_mode=None) follows the process
    with serialization.SafeModeScope(True):  # an explicit scope still wins
        with pytest.raises(ValueError, match="lambda"):
            deserialize(config)
    with pytest.raises(ValueError, match="lambda"):  # and so does an explicit safe_mode=True
        deserialize(config, safe_mode=True)
