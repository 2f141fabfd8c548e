"""A `keras.Model` subclass given inputs and outputs: `CustomModel(inputs, outputs)`.

As in Keras 3, the subclass becomes a functional model (its class gains `Functional` as a
base, in place of `Model`) and keeps its own methods, `__init__` and attributes; it calls,
summarizes, saves and loads like any functional model.
"""

import numpy as np
import pytest

import lamina as keras
from lamina.models import Functional

X = np.linspace(-1.0, 1.0, 24, dtype="float32").reshape(6, 4)
Y = X.sum(axis=1, keepdims=True)


def graph(units=3):
    inputs = keras.Input(shape=(4,), name="features")
    hidden = keras.layers.Dense(units, activation="relu", name="hidden")(inputs)
    outputs = keras.layers.Dense(1, name="out")(hidden)
    return inputs, outputs


class WithTrainStep(keras.Model):
    """The guides' form: no __init__, a custom method."""

    def describe(self):
        return f"{type(self).__name__} with {len(self.layers)} layers"


class WithInit(keras.Model):
    """The guides' lower-level form: `__init__(*args, **kwargs)` adding metrics."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")

    @property
    def metrics(self):
        return [self.loss_tracker]


def test_positional_and_keyword_forms_build_the_graph_and_keep_the_class():
    inputs, outputs = graph()
    for model in (WithTrainStep(inputs, outputs),
                  WithTrainStep(inputs=inputs, outputs=outputs, name="kw"),
                  WithTrainStep(inputs, outputs=outputs)):
        assert type(model) is WithTrainStep
        assert isinstance(model, Functional) and isinstance(model, keras.Model)
        assert [layer.name for layer in model.layers] == ["features", "hidden", "out"]
        assert model.describe() == "WithTrainStep with 3 layers"
        assert model(X).shape == (6, 1)
        assert model.inputs[0] is inputs and model.outputs[0] is outputs
    assert model.name == "with_train_step" or model.name.startswith("with_train_step")
    assert WithTrainStep.__mro__[1] is Functional


def test_init_of_the_subclass_runs_and_its_attributes_are_tracked():
    model = WithInit(*graph())
    assert [m.name for m in model.metrics] == ["loss"]
    assert len(model.metrics_variables) == 2
    np.testing.assert_allclose(model.predict(X, verbose=0), np.asarray(model(X)), rtol=1e-6)


def test_intermediate_user_classes_and_mixins():
    class Mixin:
        def greeting(self):
            return "hello"

    class Base(keras.Model):
        def base_method(self):
            return "base"

    class Leaf(Mixin, Base):
        pass

    model = Leaf(*graph())
    assert type(model) is Leaf and isinstance(model, Functional)
    assert model.greeting() == "hello" and model.base_method() == "base"
    assert Mixin.__bases__ == (object,)  # a class outside Model's hierarchy is left alone
    assert model(X).shape == (6, 1)


def test_constructor_that_builds_its_own_graph():
    @keras.saving.register_keras_serializable(package="functional_subclass")
    class Builder(keras.Model):
        def __init__(self, units=3, **kwargs):
            inputs, outputs = graph(units)
            super().__init__(inputs, outputs, **kwargs)
            self.units = units

    model = Builder(units=5, name="builder")
    assert isinstance(model, Functional) and model.units == 5
    assert model.get_layer("hidden").units == 5
    # Its constructor is not (inputs, outputs, name): the config is its arguments.
    config = model.get_config()
    assert config["units"] == 5 and "layers" not in config
    copy = Builder.from_config(config)
    assert type(copy) is Builder and copy.units == 5 and copy.name == "builder"


def test_summary_names_the_subclass():
    model = WithTrainStep(*graph(), name="custom")
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "custom"' in text
    assert "hidden (Dense)" in text and "Total params: 19" in text


def test_config_round_trip_keeps_the_class():
    model = WithInit(*graph(), name="with_init")
    config = model.get_config()
    assert {"layers", "input_layers", "output_layers"} <= set(config)
    copy = WithInit.from_config(config)
    assert type(copy) is WithInit and [m.name for m in copy.metrics] == ["loss"]
    copy.set_weights(model.get_weights())
    np.testing.assert_allclose(np.asarray(copy(X)), np.asarray(model(X)), rtol=1e-6)


def test_keras_archive_round_trip_with_custom_objects(tmp_path):
    model = WithTrainStep(*graph(), name="saved")
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, epochs=2, verbose=0)
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(Exception, match="WithTrainStep"):
        keras.models.load_model(path)
    restored = keras.models.load_model(path, custom_objects={"WithTrainStep": WithTrainStep})
    assert type(restored) is WithTrainStep and restored.name == "saved"
    np.testing.assert_allclose(restored.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)
    restored.fit(X, Y, epochs=1, verbose=0)  # compiled from the archive, trains on


def test_keras_archive_round_trip_of_a_registered_subclass(tmp_path):
    @keras.saving.register_keras_serializable(package="functional_subclass")
    class Registered(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.tracker = keras.metrics.Mean(name="tracked")

    model = Registered(*graph())
    path = tmp_path / "registered.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    assert type(restored) is Registered and restored.tracker.name == "tracked"
    np.testing.assert_allclose(restored.predict(X, verbose=0), model.predict(X, verbose=0),
                               rtol=1e-6)


def test_plain_model_and_functional_are_unchanged():
    inputs, outputs = graph()
    assert type(keras.Model(inputs, outputs)) is Functional
    assert type(Functional(inputs, outputs)) is Functional
    assert Functional not in keras.Model.__mro__
