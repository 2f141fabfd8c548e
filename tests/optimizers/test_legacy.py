"""`keras.optimizers.legacy`: TF-Keras 2's names import, and creating one raises ImportError,
as in Keras 3, saying which Keras 3 optimizer replaces it."""

import os

import pytest

import lamina
from lamina.optimizers import legacy

NAMES = ("Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD")


@pytest.mark.parametrize("name", NAMES)
def test_creating_a_legacy_optimizer_raises_import_error_naming_the_replacement(name):
    cls = getattr(lamina.optimizers.legacy, name)
    with pytest.raises(ImportError, match=rf"keras\.optimizers\.legacy\.{name} is TF-Keras 2"):
        cls(learning_rate=0.01)
    with pytest.raises(ImportError) as raised:
        cls()
    expected = ("subclass keras.optimizers.Optimizer" if name == "Optimizer"
                else f"use keras.optimizers.{name}(...)")
    assert expected in str(raised.value)
    if name != "Optimizer":  # the replacement it names exists
        assert issubclass(getattr(lamina.optimizers, name), lamina.optimizers.Optimizer)


def test_the_names_are_keras_3s():
    os.environ["KERAS_BACKEND"] = "jax"
    keras = pytest.importorskip("keras")
    keras_names = {n for n in dir(keras.optimizers.legacy) if not n.startswith("_")}
    assert set(legacy.__all__) == keras_names == set(NAMES)
    for name in NAMES:  # Keras 3 raises the same exception class
        with pytest.raises(ImportError):
            getattr(keras.optimizers.legacy, name)()


def test_legacy_names_are_not_optimizers_and_do_not_shadow_keras_3s():
    assert lamina.optimizers.legacy.Adam is not lamina.optimizers.Adam
    assert not issubclass(legacy.Adam, lamina.optimizers.Optimizer)
    assert isinstance(lamina.optimizers.get("adam"), lamina.optimizers.Adam)
