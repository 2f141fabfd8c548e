"""Declared sizes are checked before anything is allocated.

XLA aborts the whole process when an allocation fails, so a config from a file declaring
`Dense(10**12)` used to kill the interpreter. Shapes are now validated and the memory a weight
needs is compared with what its device has before its initial value is computed.

In-process tests pretend the device is small (100 MB), so that were the check missing they
would allocate a few hundred MB instead of crashing the test run; the truly absurd sizes run in
a subprocess, which also shows that the process survives.
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina as keras
from lamina._runtime import variable as variable_module
from lamina._runtime.variable import AllocationError

MB = 10**6


@pytest.fixture
def small_device(monkeypatch):
    """The device where Variables are made reports 100 MB free."""
    monkeypatch.setattr(variable_module, "available_memory", lambda: ("the CPU host", 100 * MB))


@pytest.fixture
def memory_never_read(monkeypatch):
    """Fails the test if the available memory is read."""
    def fail():
        raise AssertionError("available memory was read")
    monkeypatch.setattr(variable_module, "available_memory", fail)


def test_a_weight_larger_than_free_memory_is_refused_naming_layer_variable_and_size(
        small_device):
    layer = keras.layers.Dense(100_000, name="big")
    with pytest.raises(AllocationError) as caught:
        layer.build((None, 1000))  # a 400 MB kernel
    message = str(caught.value)
    assert "Layer 'big' cannot create variable 'big/kernel'" in message
    assert "(1000, 100000) float32" in message
    assert "400.0 MB (400000000 bytes)" in message and "100.0 MB available" in message
    assert "units" in message and "untrusted file" in message
    # Nothing is left half-made: the layer can be rebuilt for a shape that fits.
    assert not layer.built and layer.weights == []
    layer.build((None, 10))
    assert layer.built and layer.kernel.shape == (10, 100_000)


def test_allocation_error_is_both_a_value_error_and_a_memory_error(small_device):
    """Code that catches a bad config (ValueError) or an out-of-memory (MemoryError) sees it."""
    for expected in (ValueError, MemoryError):
        with pytest.raises(expected):
            keras.Variable("zeros", shape=(1000, 100_000))


def test_the_dtype_counts_in_the_size(small_device):
    keras.Variable("zeros", shape=(45 * MB,), dtype="int8")  # 45 MB fits
    with pytest.raises(AllocationError, match=r"float32: it needs 180\.0 MB"):
        keras.Variable("zeros", shape=(45 * MB,), dtype="float32", name="w")


def test_small_weights_do_not_read_the_available_memory(memory_never_read):
    """The check runs on every weight, so ordinary ones must cost no system call."""
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64),
                              keras.layers.Dense(8)])
    assert len(model.weights) == 4


def test_sizes_past_int64_are_refused_before_reading_memory(memory_never_read):
    layer = keras.layers.Dense(2**63, name="huge")
    with pytest.raises(AllocationError, match=r"'huge/kernel'.*2\*\*63 - 1"):
        layer.build((None, 10))
    # A zero-sized array with an impossible dimension is refused too.
    with pytest.raises(AllocationError, match="2\\*\\*63 - 1"):
        keras.Variable("zeros", shape=(0, 2**64))
    # Sizes too long to print in decimal still give a readable message.
    with pytest.raises(AllocationError, match="more than 1000 YB"):
        keras.Variable("zeros", shape=(10**4000,))


def test_initializers_called_directly_check_the_size_too(small_device):
    with pytest.raises(AllocationError, match="Cannot create an initial value"):
        keras.initializers.GlorotUniform(seed=0)((1000, 100_000))
    with pytest.raises(AllocationError, match="initial value"):
        keras.initializers.Zeros()((1000, 100_000))
    with pytest.raises(ValueError, match="dimension 0 is 2.5"):
        keras.initializers.RandomNormal(seed=0)((2.5, 3))


@pytest.mark.parametrize("shape, words", [
    ((3, 1.5), "dimension 1 is 1.5 (float)"),
    ((3, 2.0), "dimension 1 is 2.0 (float)"),
    ((None, 3), "dimension 0 is None"),
    ((3, "4"), "dimension 1 is '4' (str)"),
    ((True, 2), "dimension 0 is True (bool)"),
    ((3, -1), "dimension 1 of its shape is negative"),
    (5, "must be a tuple of non-negative integers"),
    ("34", "must be a tuple of non-negative integers"),
])
def test_malformed_shapes_are_refused_not_converted(shape, words):
    with pytest.raises(ValueError, match="Cannot create variable 'v'") as caught:
        keras.Variable("zeros", shape=shape, name="v")
    assert words in str(caught.value)


def test_integer_like_dimensions_are_accepted_as_python_ints():
    v = keras.Variable("zeros", shape=[np.int64(2), np.int32(3)])
    assert v.shape == (2, 3) and all(type(d) is int for d in v.shape)


def test_add_weight_errors_name_the_layer_and_leave_no_weight():
    class Odd(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1], 1.5))

        def call(self, x):
            return x

    layer = Odd(name="odd")
    with pytest.raises(ValueError, match=r"Layer 'odd' cannot create variable 'odd/w'.*1\.5"):
        layer(np.ones((2, 3), "float32"))
    assert not layer.built and layer.weights == []


def test_metric_variable_errors_name_the_metric():
    class Total(keras.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = self.add_variable(shape=(None,), initializer="zeros", name="total")

    with pytest.raises(ValueError, match="Metric 'tot' cannot create variable 'tot/total'"):
        Total(name="tot")


def test_accelerator_free_memory_comes_from_memory_stats(monkeypatch):
    class FakeGPU:
        platform, id = "gpu", 0

        def __init__(self, stats):
            self.stats = stats

        def memory_stats(self):
            return self.stats

    monkeypatch.setattr(variable_module, "_default_device",
                        lambda: FakeGPU({"bytes_limit": 1000 * MB, "bytes_in_use": 400 * MB}))
    assert variable_module.available_memory() == ("GPU device 0", 600 * MB)
    with pytest.raises(AllocationError, match="GPU device 0 has 600.0 MB available"):
        keras.Variable("zeros", shape=(200 * MB,))  # 800 MB of float32
    # A backend that reports nothing is not guessed at.
    monkeypatch.setattr(variable_module, "_default_device", lambda: FakeGPU(None))
    assert variable_module.available_memory() == ("GPU device 0", None)


def test_a_cgroup_limit_bounds_the_host_memory(monkeypatch, tmp_path):
    """In a container, the limit counts, less what is used, plus page cache it can reclaim."""
    (tmp_path / "max").write_text("1000000\n")
    (tmp_path / "current").write_text("700000\n")
    (tmp_path / "stat").write_text("anon 600000\ninactive_file 100000\n")
    unlimited = tmp_path / "unlimited"
    unlimited.write_text("max\n")
    files = ((str(unlimited), "", "", b""),
             (str(tmp_path / "max"), str(tmp_path / "current"), str(tmp_path / "stat"),
              b"inactive_file"))
    monkeypatch.setattr(variable_module, "_CGROUP_FILES", files)
    assert variable_module._cgroup_headroom() == 400_000
    assert variable_module._host_available_memory() <= 400_000


def test_sizes_read_well_in_messages():
    assert [variable_module.format_bytes(n) for n in (12, 1500, 999_960, 4 * 10**13)] == [
        "12 bytes", "1.5 KB", "1.0 MB", "40.0 TB"]


@pytest.mark.parametrize("make, words", [
    (lambda: keras.layers.Dense(-3), "units must be a positive integer"),
    (lambda: keras.layers.Dense(1.5), "units must be a positive integer"),
    (lambda: keras.layers.Dense("10"), "units must be a positive integer"),
    (lambda: keras.layers.Embedding(1.5, 8), "input_dim must be a positive integer"),
    (lambda: keras.layers.Embedding("10", 8), "input_dim must be a positive integer"),
    (lambda: keras.layers.Embedding(10, 0), "output_dim must be a positive integer"),
    (lambda: keras.layers.Embedding(10, True), "output_dim must be a positive integer"),
    (lambda: keras.layers.Conv2D(-1, 3), "filters"),
    (lambda: keras.layers.Conv2D(1.5, 3), "filters"),
])
def test_layer_sizes_must_be_positive_integers(make, words):
    with pytest.raises(ValueError, match=words):
        make()


_HOSTILE_CONFIGS = textwrap.dedent("""
    import json, sys
    import lamina as keras

    def hostile_json(layer, input_shape, key, value):
        inputs = keras.Input(input_shape)
        config = json.loads(keras.Model(inputs, layer(inputs)).to_json())
        for entry in config["config"]["layers"]:
            if entry["config"]["name"] == "hostile":
                entry["config"][key] = value
        return json.dumps(config)

    cases = [
        (keras.layers.Dense(4, name="hostile"), (10,), "units", 10**12),
        (keras.layers.Embedding(4, 8, name="hostile"), (10,), "input_dim", 10**12),
        (keras.layers.Conv2D(4, 3, name="hostile"), (8, 8, 64), "filters", 10**9),
        (keras.layers.Dense(4, name="hostile"), (10,), "units", 2**63),
    ]
    results = []
    for layer, shape, key, value in cases:
        try:
            keras.models.model_from_json(hostile_json(layer, shape, key, value))
            results.append("loaded")
        except ValueError as error:
            results.append(f"{type(error).__name__}: {error}")
    print(json.dumps(results))
""")


def test_absurd_sizes_in_a_model_file_raise_and_the_process_survives():
    """`Dense(10**12)`, `Embedding(10**12, 8)`, `Conv2D(10**9, 3)` and `Dense(2**63)` in a
    model's JSON: each load raises a clear error instead of aborting inside XLA."""
    done = subprocess.run([sys.executable, "-c", _HOSTILE_CONFIGS], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) == 4
    for result, variable in zip(results, ["kernel", "embeddings", "kernel", "kernel"]):
        assert result.startswith("AllocationError: Layer 'hostile' cannot create variable "
                                 f"'hostile/{variable}'"), result
        assert "bytes" in result and "untrusted file" in result
    assert "40.0 TB" in results[0] and "32.0 TB" in results[1] and "2.3 TB" in results[2]
