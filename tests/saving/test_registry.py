"""keras.saving registry: register_keras_serializable, custom object scopes, public names."""

import threading

import pytest

import lamina
from lamina import saving
from lamina import _registry as registry


@pytest.fixture(autouse=True)
def _restore_registry():
    objects = dict(saving.get_custom_objects())
    names = dict(registry._GLOBAL_CUSTOM_NAMES)
    yield
    saving.get_custom_objects().clear()
    saving.get_custom_objects().update(objects)
    registry._GLOBAL_CUSTOM_NAMES.clear()
    registry._GLOBAL_CUSTOM_NAMES.update(names)


def test_register_function_and_class_names():
    @saving.register_keras_serializable()
    def scaled(x):
        return 2 * x

    @saving.register_keras_serializable(package="my_pkg", name="Fancy")
    class MyThing:
        def get_config(self):
            return {}

    assert saving.get_registered_name(scaled) == "Custom>scaled"
    assert saving.get_registered_name(MyThing) == "my_pkg>Fancy"
    assert saving.get_registered_object("Custom>scaled") is scaled
    assert saving.get_registered_object("my_pkg>Fancy") is MyThing
    assert saving.get_custom_objects()["my_pkg>Fancy"] is MyThing


def test_unregistered_names_and_lookups():
    def plain(x):
        return x

    assert saving.get_registered_name(plain) == "plain"
    assert saving.get_registered_object("plain") is None
    assert saving.get_registered_object("plain", custom_objects={"plain": plain}) is plain
    assert saving.get_registered_object("plain", module_objects={"plain": plain}) is plain


def test_registration_rules():
    with pytest.raises(ValueError, match="no get_config"):
        saving.register_keras_serializable()(type("NoConfig", (), {}))
    with pytest.raises(ValueError, match="without '>'"):
        saving.register_keras_serializable(package="a>b")

    # Registering again (a notebook cell run twice) replaces the entry.
    first = saving.register_keras_serializable()(type("Again", (), {"get_config": dict}))
    second = saving.register_keras_serializable()(type("Again", (), {"get_config": dict}))
    assert saving.get_registered_object("Custom>Again") is second
    assert saving.get_registered_name(first) == "Custom>Again"


def test_get_custom_objects_is_live():
    saving.get_custom_objects()["my_abs"] = abs
    assert saving.get_registered_object("my_abs") is abs


def test_custom_object_scope_nests_and_restores():
    def a(x):
        return x

    def b(x):
        return x

    assert saving.custom_object_scope is saving.CustomObjectScope
    with saving.custom_object_scope({"a": a}):
        assert saving.get_registered_object("a") is a
        with saving.CustomObjectScope({"b": b}, {"a": b}):
            assert saving.get_registered_object("b") is b
            assert saving.get_registered_object("a") is b  # inner scope wins
        assert saving.get_registered_object("a") is a
        assert saving.get_registered_object("b") is None
    assert saving.get_registered_object("a") is None
    # Scope objects take precedence over registered ones and are not in the global dict.
    saving.get_custom_objects()["a"] = b
    with saving.custom_object_scope({"a": a}):
        assert saving.get_registered_object("a") is a
        assert saving.get_custom_objects()["a"] is b
    with pytest.raises(TypeError, match="expects dicts"):
        saving.custom_object_scope(["a"])


def test_custom_object_scope_is_per_thread():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def worker():
        with saving.custom_object_scope({"mine": abs}):
            inside.set()
            release.wait(5)
            seen["worker"] = saving.get_registered_object("mine")

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    seen["main"] = saving.get_registered_object("mine")
    release.set()
    thread.join()
    assert seen == {"worker": abs, "main": None}


def test_public_names_of_builtins():
    assert registry.public_name(lamina.initializers.GlorotUniform) == \
        "keras.initializers.GlorotUniform"
    assert registry.public_name(lamina.regularizers.Regularizer) == "keras.Regularizer"
    assert registry.public_name(lamina.random.SeedGenerator) == "keras.random.SeedGenerator"

    class UserSubclass(lamina.regularizers.L2):
        pass

    assert registry.public_name(UserSubclass) is None
    assert registry.public_symbol("keras.constraints.non_neg") is lamina.constraints.NonNeg
    assert registry.public_symbol("keras.activations.swish") is lamina.activations.silu
    assert registry.public_symbol("keras.Initializer") is lamina.initializers.Initializer
    assert registry.public_symbol("keras.no_such_module.Thing") is None
    assert registry.public_symbol("os.system") is None  # never imports outside lamina


def test_keras_export_requires_keras_names():
    with pytest.raises(ValueError, match="keras.layers.Dense"):
        registry.keras_export("lamina.layers.Dense")


def test_docstring_examples():
    import doctest

    import jax.numpy as jnp

    from lamina import _serialization as serialization

    for module in (registry, serialization):
        results = doctest.testmod(module, extraglobs={"lamina": lamina, "jnp": jnp},
                                  optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert results.failed == 0 and results.attempted > 0
