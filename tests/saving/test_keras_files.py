"""`.keras` archives and `.weights.h5` files move between lamina and Keras 3, both ways.

Each family of built-in layers is written once, as a function of the library (`family(lamina)`
or `family(keras)`), built and trained for two steps in both libraries so that the optimizers
have state, and saved once per module. The tests load each file on the other side and check
predictions (to 1e-5), optimizer variables, compile settings, further training, weights-only
files, JSON configs, and that both libraries write the same config.
Keras (JAX backend) is a test-only dependency; lamina never imports it.
"""

import os

import numpy as np
import pytest

import lamina

os.environ["KERAS_BACKEND"] = "jax"
keras = pytest.importorskip("keras")
# Keras's own Variable.__array__ predates NumPy 2's `copy` argument.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

TOLERANCE = dict(rtol=1e-5, atol=1e-5)
RNG = np.random.default_rng(0)


# ------------------------------------------------------------------------------ the families
# lamina's default steps_per_execution="auto" is not a value Keras can run (see
# test_default_compile_config_runs_in_keras), so the families use Keras's default.
ONE_STEP = 1


def dense_family(k):
    model = k.Sequential([
        k.Input((6,), name="features"),
        k.layers.Dense(8, activation="relu", name="hidden"),
        k.layers.Activation("tanh", name="squash"),
        k.layers.Dropout(0.25, name="drop"),
        k.layers.Dense(3, activation="softmax", name="probs"),
    ], name="dense_family")
    model.compile(optimizer=k.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  steps_per_execution=ONE_STEP)
    return model


def conv2d_family(k):
    model = k.Sequential([
        k.Input((8, 8, 3), name="image"),
        k.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
        k.layers.BatchNormalization(name="bn"),
        k.layers.MaxPooling2D(2, name="max_pool"),
        k.layers.SeparableConv2D(4, 3, padding="same", name="separable"),
        k.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise"),
        k.layers.Conv2DTranspose(3, 3, strides=2, padding="same", name="transpose"),
        k.layers.AveragePooling2D(2, name="avg_pool"),
        k.layers.LayerNormalization(name="ln"),
        k.layers.Flatten(name="flatten"),
        k.layers.Dense(2, name="out"),
    ], name="conv2d_family")
    model.compile(optimizer=k.optimizers.SGD(learning_rate=0.05, momentum=0.9), loss="mse",
                  metrics=[k.metrics.MeanAbsoluteError(name="mae")],
                  steps_per_execution=ONE_STEP)
    return model


def sequence_family(k):
    """Conv1D and 1D pooling feeding self-attention: a functional graph with a residual."""
    signal = k.Input((12, 3), name="signal")
    x = k.layers.Conv1D(6, 3, activation="relu", name="conv")(signal)
    x = k.layers.AveragePooling1D(2, name="avg_pool")(x)
    x = k.layers.Reshape((5, 6), name="reshape")(x)
    attended = k.layers.MultiHeadAttention(num_heads=2, key_dim=3, name="mha")(x, x)
    x = k.layers.Add(name="residual")([x, attended])
    x = k.layers.LayerNormalization(name="ln")(x)
    pooled = [k.layers.GlobalMaxPooling1D(name="global_max")(x),
              k.layers.GlobalAveragePooling1D(name="global_avg")(x)]
    x = k.layers.Concatenate(name="pooled")(pooled)
    outputs = k.layers.Dense(2, name="out")(x)
    model = k.Model(signal, outputs, name="sequence_family")
    model.compile(optimizer=k.optimizers.RMSprop(learning_rate=0.01),
                  # Keras's Huber config leaves `delta` out, so only the default moves.
                  loss=k.losses.Huber(), metrics=["mse"],
                  steps_per_execution=ONE_STEP)
    return model


def merging_family(k):
    left = k.Input((4,), name="left")
    right = k.Input((4,), name="right")
    shared = k.layers.Dense(4, activation="tanh", name="shared")  # two nodes in one model
    a, b = shared(left), shared(right)
    merged = [
        k.layers.Add(name="add")([a, b]),
        k.layers.Subtract(name="subtract")([a, b]),
        k.layers.Multiply(name="multiply")([a, b]),
        k.layers.Average(name="average")([a, b]),
        k.layers.Maximum(name="maximum")([a, b]),
        k.layers.Minimum(name="minimum")([a, b]),
        k.layers.Dot(axes=1, name="dot")([a, b]),
    ]
    x = k.layers.Concatenate(name="concat")(merged)
    outputs = k.layers.Dense(1, activation="sigmoid", name="out")(x)
    model = k.Model([left, right], outputs, name="merging_family")
    model.compile(optimizer="nadam", loss=k.losses.BinaryCrossentropy(label_smoothing=0.1),
                  metrics=[k.metrics.BinaryAccuracy(), "auc"], steps_per_execution=ONE_STEP)
    return model


def recurrent_family(k):
    model = k.Sequential([
        k.Input((6,), dtype="int32", name="token_ids"),
        k.layers.Embedding(10, 4, name="embed"),
        k.layers.LSTM(5, return_sequences=True, name="lstm"),
        k.layers.Bidirectional(k.layers.GRU(3, return_sequences=True, name="gru"),
                               name="bidirectional"),
        k.layers.TimeDistributed(k.layers.Dense(2, name="step_dense"), name="per_step"),
        k.layers.SimpleRNN(3, name="simple_rnn"),
        k.layers.Dense(1, name="out"),
    ], name="recurrent_family")
    model.compile(optimizer=k.optimizers.AdamW(learning_rate=0.01), loss="mae",
                  steps_per_execution=ONE_STEP)
    return model


def nested_family(k):
    """A Sequential and a shared functional model inside a functional model, whose output is
    a third (functional) model's."""
    stack = k.Sequential([k.Input((4,), name="stack_in"),
                          k.layers.Dense(6, activation="relu", name="stack_hidden"),
                          k.layers.Dense(4, name="stack_out")], name="inner_stack")
    inner_in = k.Input((4,), name="inner_in")
    inner = k.Model(inner_in, k.layers.Dense(3, name="inner_dense")(inner_in), name="inner_graph")
    head_in = k.Input((6,), name="head_in")
    head = k.Model(head_in, k.layers.Dense(1, name="head_dense")(head_in), name="head")
    inputs = k.Input((4,), name="features")
    joined = k.layers.Concatenate(name="join")([inner(stack(inputs)), inner(inputs)])
    model = k.Model(inputs, head(joined), name="nested_family")
    model.compile(optimizer=k.optimizers.Adam(learning_rate=0.01, amsgrad=True),
                  loss=k.losses.MeanSquaredError(),
                  metrics=[k.metrics.RootMeanSquaredError(), "mae"], steps_per_execution=ONE_STEP)
    return model


def _data(family):
    n = 16
    if family == "dense":
        return RNG.normal(size=(n, 6)), RNG.integers(0, 3, size=(n,))
    if family == "conv2d":
        return RNG.normal(size=(n, 8, 8, 3)), RNG.normal(size=(n, 2))
    if family == "sequence":
        return RNG.normal(size=(n, 12, 3)), RNG.normal(size=(n, 2))
    if family == "merging":
        return ([RNG.normal(size=(n, 4)), RNG.normal(size=(n, 4))],
                RNG.integers(0, 2, size=(n, 1)).astype("float32"))
    if family == "recurrent":
        return RNG.integers(0, 10, size=(n, 6)).astype("int32"), RNG.normal(size=(n, 1))
    return RNG.normal(size=(n, 4)), RNG.normal(size=(n, 1))


FAMILIES = {"dense": dense_family, "conv2d": conv2d_family, "sequence": sequence_family,
            "merging": merging_family, "recurrent": recurrent_family, "nested": nested_family}
BATCH = 8  # 16 rows: two optimizer steps per epoch
# Loaded into lamina, every family trains further; loaded into Keras, these do (Nadam's extra
# `u_product` variable, and a nested model with AMSGrad's extra slots).
KERAS_TRAINS_FURTHER = ("merging", "nested")


def _cast(x):
    if isinstance(x, list):
        return [_cast(v) for v in x]
    return x if x.dtype.kind == "i" else x.astype("float32")


class Saved:
    """One family, built and trained in one library and saved in both file kinds."""

    def __init__(self, lib, family, directory):
        self.x, self.y = (_cast(v) for v in _data(family))
        self.model = FAMILIES[family](lib)
        self.model.fit(self.x, self.y, batch_size=BATCH, epochs=1, verbose=0)
        self.prediction = np.asarray(self.model.predict(self.x, verbose=0))
        self.optimizer_values = [np.asarray(v) for v in self.model.optimizer.variables]
        self.archive = str(directory / f"{family}.keras")
        self.weights = str(directory / f"{family}.weights.h5")
        self.model.save(self.archive)
        self.model.save_weights(self.weights)


@pytest.fixture(scope="module", params=list(FAMILIES))
def family(request):
    return request.param


@pytest.fixture(scope="module")
def saved(family, tmp_path_factory):
    """`{"keras": Saved, "lamina": Saved}` for the family."""
    keras.utils.set_random_seed(1)
    lamina.utils.set_random_seed(1)
    return {"keras": Saved(keras, family, tmp_path_factory.mktemp(f"keras_{family}")),
            "lamina": Saved(lamina, family, tmp_path_factory.mktemp(f"lamina_{family}"))}


LIBS = {"keras": keras, "lamina": lamina}
OTHER = {"keras": "lamina", "lamina": "keras"}


def _predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


def _iterations(model):
    return int(np.asarray(model.optimizer.iterations))


# -------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_archive_loads_on_the_other_side(saved, family, source):
    """Predictions, optimizer state and compile settings survive; training resumes."""
    original = saved[source]
    target = LIBS[OTHER[source]]
    loaded = target.models.load_model(original.archive)
    np.testing.assert_allclose(_predict(loaded, original.x), original.prediction, **TOLERANCE)
    assert type(loaded.optimizer).__name__ == type(original.model.optimizer).__name__
    _assert_same_values(loaded.optimizer.variables, original.optimizer_values)
    ours, theirs = (_compile_config(m, lib) for m, lib in ((loaded, target), (original.model,
                                                                                LIBS[source])))
    assert _differences(ours, theirs) == []
    steps = _iterations(original.model)
    assert _iterations(loaded) == steps
    if target is keras and family not in KERAS_TRAINS_FURTHER:
        return  # a Keras training step costs seconds of compiling; a few families suffice
    history = loaded.fit(original.x, original.y, batch_size=BATCH, epochs=1, verbose=0)
    assert _iterations(loaded) == 2 * steps
    assert np.isfinite(history.history["loss"][-1])
    assert set(history.history) == set(original.model.history.history)


def _compile_config(model, lib):
    """The loss and metrics of a compiled model, as its library serializes them."""
    config = lib.saving.serialize_keras_object(model.get_compile_config())
    return {key: config[key] for key in ("loss", "loss_weights", "metrics", "weighted_metrics")}


def _assert_same_values(got, expected):
    assert [np.shape(v) for v in got] == [np.shape(v) for v in expected]
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), **TOLERANCE)


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_archive_loads_without_compiling(saved, source):
    original = saved[source]
    loaded = LIBS[OTHER[source]].models.load_model(original.archive, compile=False)
    assert not loaded.compiled
    _assert_same_values(loaded.get_weights(), original.model.get_weights())


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_weights_file_loads_on_the_other_side(saved, family, source):
    """`save_weights` files (model and optimizer variables) load into the other library."""
    original = saved[source]
    target = LIBS[OTHER[source]]
    target.utils.set_random_seed(2)
    fresh = FAMILIES[family](target)
    fresh.optimizer.build(fresh.trainable_variables)
    fresh.load_weights(original.weights)
    _assert_same_values(fresh.get_weights(), original.model.get_weights())
    _assert_same_values(fresh.optimizer.variables, original.optimizer_values)


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_json_config_loads_on_the_other_side(saved, source):
    """`model_from_json(other.to_json())` rebuilds the architecture with the same weight order."""
    original = saved[source]
    rebuilt = LIBS[OTHER[source]].models.model_from_json(original.model.to_json())
    assert [layer.name for layer in rebuilt.layers] == \
        [layer.name for layer in original.model.layers]
    weights = original.model.get_weights()
    assert [w.shape for w in rebuilt.get_weights()] == [w.shape for w in weights]
    rebuilt.set_weights(weights)
    assert rebuilt.compiled


def test_configs_are_the_same(saved):
    """The two libraries describe the same model with the same config."""
    ours = lamina.saving.serialize_keras_object(saved["lamina"].model)
    theirs = keras.saving.serialize_keras_object(saved["keras"].model)
    assert _differences(ours, theirs) == []


# Keys that legitimately differ: ids of shared objects, and what Keras writes for models as
# leftovers of its build/compile machinery (`{"input_shape": None}`, `{}`) that loading ignores
# (the top-level compile configs are checked by loading them on the other side).
_IGNORED = ("shared_object_id", "compile_config", "build_config")


def _differences(ours, theirs, path="config"):
    """Where two configs differ, as readable lines ([] when they are the same)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        is_model = ours.get("class_name") in ("Sequential", "Functional")
        lines = []
        for key in list(ours) + [k for k in theirs if k not in ours]:
            if key == "shared_object_id" or (is_model and key in _IGNORED):
                continue
            if key == "mask" and path.endswith(".kwargs") and theirs.get(key) is None and \
                    key not in ours:
                continue  # Keras records `mask=None` for layers whose call takes a mask
            if key not in ours or key not in theirs:
                lines.append(f"{path}.{key}: only in {'Keras' if key in theirs else 'lamina'}")
            else:
                lines += _differences(ours[key], theirs[key], f"{path}.{key}")
        return lines
    if isinstance(ours, (list, tuple)) and isinstance(theirs, (list, tuple)) and \
            len(ours) == len(theirs):
        return [line for index, (a, b) in enumerate(zip(ours, theirs))
                for line in _differences(a, b, f"{path}[{index}]")]
    if isinstance(ours, float) and isinstance(theirs, float) and np.isclose(ours, theirs):
        return []
    return [] if ours == theirs else [f"{path}: lamina {ours!r}, Keras {theirs!r}"]


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_sequential_built_by_its_first_call_moves_both_ways(source, tmp_path):
    """A Sequential model without an Input records its first batch shape; the loaded model
    still takes any batch size, as in Keras."""
    lib, target = LIBS[source], LIBS[OTHER[source]]
    model = lib.Sequential([lib.layers.Dense(3, activation="relu", name="hidden"),
                            lib.layers.Dense(1, name="out")], name="built_by_call")
    x = RNG.normal(size=(5, 4)).astype("float32")
    model(x)
    model.save(tmp_path / "built_by_call.keras")
    loaded = target.models.load_model(tmp_path / "built_by_call.keras")
    np.testing.assert_allclose(np.asarray(loaded(x[:3])), np.asarray(model(x[:3])), **TOLERANCE)


def test_default_compile_config_runs_in_keras(tmp_path):
    model = lamina.Sequential([lamina.Input((3,), name="x"), lamina.layers.Dense(1, name="y")])
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "default.keras")
    loaded = keras.models.load_model(tmp_path / "default.keras")
    x = np.ones((4, 3), "float32")
    np.testing.assert_allclose(_predict(loaded, x), _predict(model, x), **TOLERANCE)
    loaded.fit(x, np.ones((4, 1), "float32"), verbose=0)


@pytest.mark.parametrize("source", ["keras", "lamina"])
def test_bfloat16_weights_move_both_ways(source, tmp_path):
    """bfloat16 weights are stored as Keras stores them (2-byte values marked by a "dtype"
    attribute), so each side reads the other's exactly."""
    lib, target = LIBS[source], LIBS[OTHER[source]]
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2, dtype="bfloat16", name="d")])
    model.save(tmp_path / "bf16.keras")
    loaded = target.models.load_model(tmp_path / "bf16.keras")
    assert str(loaded.layers[0].kernel.dtype) == "bfloat16"
    np.testing.assert_array_equal(np.asarray(loaded.layers[0].kernel, "float32"),
                                  np.asarray(model.layers[0].kernel, "float32"))
