"""keras.distribution on 8 simulated CPU devices.

The checks run in one subprocess (`_eight_devices.py`, started once for the module with
`XLA_FLAGS=--xla_force_host_platform_device_count=8`: this process keeps its one device); the
tests assert on what it reports. Files cross between the two: a model saved here (one
device) is loaded there, and one saved there (8 devices) is loaded here.
"""

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

import lamina as keras
from lamina import layers

WORKER = pathlib.Path(__file__).with_name("_eight_devices.py")
KILLED = pathlib.Path(__file__).with_name("_orbax_killed.py")
# DataParallel runs the same arithmetic on split batches; XLA sums the per-device gradient
# parts in another order than one device does, so results agree to float32 rounding.
TOLERANCE = 1e-5


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 12)).astype("float32")
    return x, (x[:, :1] * 2 - x[:, 1:2]).astype("float32")


def _mlp():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((12,)), layers.Dense(32, activation="relu"), layers.Dropout(0.25),
        layers.BatchNormalization(), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def _wide():
    keras.utils.set_random_seed(2)
    inputs = keras.Input((12,))
    hidden = layers.Dense(64, activation="relu", name="dense_in")(inputs)
    hidden = layers.EinsumDense("ab,bcd->acd", (8, 4), bias_axes="cd", name="einsum")(hidden)
    hidden = layers.Reshape((32,))(hidden)
    return keras.Model(inputs, layers.Dense(8, name="dense_out")(hidden))


def _one_device_reference(x, y):
    """What the worker's runs give on this process's one device (computed while it runs)."""
    plain = _mlp()
    reference = {"history": plain.fit(x, y, batch_size=16, epochs=2, verbose=0).history,
                 "weights": plain.get_weights(),
                 "predict": plain.predict(x, batch_size=16, verbose=0),
                 "evaluate": plain.evaluate(x, y, batch_size=16, verbose=0)}
    model, optimizer = _wide(), keras.optimizers.SGD(0.1)

    @keras.function
    def step(xb, yb):
        loss, grads = keras.value_and_grad(
            lambda: keras.ops.mean((model(xb) - yb) ** 2), model.trainable_variables)()
        optimizer.apply(grads, model.trainable_variables)
        return loss

    reference["custom_losses"] = [float(step(x[:16], np.tile(y[:16], (1, 8))))
                                  for _ in range(3)]
    return reference


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("eight_devices")
    x, y = _data()
    one = _mlp()
    one.save(work / "one_device.keras")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
           "JAX_PLATFORMS": "cpu"}
    # The run that is killed while saving starts first; the worker resumes from what it left
    # once this process has recorded it (killed.json), after the worker's other checks.
    killed = subprocess.Popen([sys.executable, str(KILLED), str(work / "orbax_killed")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    worker = subprocess.Popen([sys.executable, str(WORKER), str(work)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        reference = _one_device_reference(x, y)  # on the other core meanwhile
        _, killed_stderr = killed.communicate(timeout=300)
        on_disk = sorted(os.listdir(work / "orbax_killed"))
        for name in on_disk:  # kept aside: the resumed run rewrites it
            if not name.isdigit():
                shutil.copytree(work / "orbax_killed" / name, work / "half_written" / name)
        (work / "killed.json").write_text(json.dumps(
            {"returncode": killed.returncode, "on_disk": on_disk}))
        _, stderr = worker.communicate(timeout=600)
    finally:
        for process in (killed, worker):
            if process.poll() is None:
                process.kill()
    assert killed.returncode == -signal.SIGKILL, killed_stderr[-4000:]
    assert worker.returncode == 0, stderr[-4000:]
    results = json.loads((work / "results.json").read_text())
    results["killed"]["on_disk"] = on_disk
    results["work"] = work
    results["one_device_predictions"] = one.predict(x[:8], verbose=0)
    results["reference"] = reference
    return results


def test_the_worker_sees_eight_devices(run):
    assert run["device_count"] == 8


def test_data_parallel_fit_ends_at_the_one_device_weights(run):
    dp, reference = run["dp"], run["reference"]
    # Dropout and BatchNormalization included: the noise is drawn for the global batch, and
    # the batch statistics are those of the global batch, as on one device.
    for ours, expected in zip(dp["weights"], reference["weights"]):
        np.testing.assert_allclose(ours, expected, atol=TOLERANCE)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(dp["history"][key], reference["history"][key], rtol=1e-5)
    np.testing.assert_allclose(dp["evaluate"], reference["evaluate"], rtol=1e-5)
    # One array, rows in order (the last batch of 4, which 8 devices cannot split, too).
    np.testing.assert_allclose(dp["predict"], reference["predict"], atol=TOLERANCE)


def test_data_parallel_state_is_on_every_device_and_the_batch_is_split(run):
    dp = run["dp"]
    assert dp["kernel_devices"] == dp["slot_devices"] == dp["metric_devices"] == 8
    assert dp["kernel_spec"] == [None, None]  # replicated
    assert dp["all_reduce"]  # the compiled epoch loop sums gradients across devices


def test_batch_not_divisible_by_the_data_axis_is_refused(run):
    error = run["dp"]["odd_batch"]
    assert error["type"] == "ValueError"
    assert "batch_size=12" in error["message"] and "8 devices" in error["message"]


def test_model_parallel_shards_dense_and_einsum_kernels_as_asked(run):
    variables = run["mp"]["variables"]
    assert variables["dense_in/kernel"] == {"spec": [None, "model"], "shard": [12, 16],
                                            "shape": [12, 64]}
    assert variables["dense_in/bias"]["shard"] == [16]
    assert variables["einsum/kernel"] == {"spec": [None, "model", None], "shard": [64, 2, 4],
                                          "shape": [64, 8, 4]}
    assert variables["einsum/bias"]["spec"] == [None, None]  # no key matches: replicated
    assert variables["dense_out/kernel"]["shard"] == [32, 2]
    assert run["mp"]["predict_diff"] < TOLERANCE  # predicts as the unsharded model


def test_model_parallel_fit_keeps_weights_and_adam_slots_sharded(run):
    assert run["mp"]["kernel_after_fit"] == [None, "model"]
    slots = run["mp"]["slots"]
    assert slots["dense_in_kernel_momentum"] == {"spec": [None, "model"],
                                                        "shard": [12, 16]}
    assert slots["einsum_kernel_velocity"]["shard"] == [64, 2, 4]
    assert slots["einsum_bias_momentum"]["spec"] == [None, None]


def test_custom_loop_with_function_and_value_and_grad_on_sharded_variables(run):
    custom = run["custom"]
    np.testing.assert_allclose(custom["losses"], run["reference"]["custom_losses"], rtol=1e-5)
    assert custom["kernel_spec"] == [None, "model"] and custom["kernel_shard"] == [12, 16]


def test_layouts_that_do_not_fit_name_the_variable_its_shape_and_the_layout(run):
    rank = run["bad_rank"]
    assert rank["type"] == "ValueError"
    assert "'dense_bad/kernel'" in rank["message"] and "(3, 4)" in rank["message"]
    assert "('model',)" in rank["message"]
    split = run["bad_split"]["message"]
    assert "'dense_odd/kernel'" in split and "(3, 6)" in split and "4 equal parts" in split
    axis = run["bad_axis"]
    assert axis["type"] == "ValueError" and "['nope']" in axis["message"]


def test_a_mesh_larger_than_the_devices_is_refused(run):
    error = run["mesh_too_large"]
    assert error["type"] == "ValueError"
    assert "needs 16 devices, but 8 were given" in error["message"]


def test_switching_distributions_between_compile_and_fit_moves_the_state(run):
    switch = run["switch"]
    assert switch["kernel_shard"] == [12, 8] and switch["slot_shard"] == [12, 8]
    assert switch["back_devices"] == 1  # fit without a distribution: back on one device


def test_a_layout_error_leaves_nothing_half_sharded(run):
    half = run["half_sharded"]
    assert half["error"]["type"] == "ValueError"
    assert re.search(r"variable 'sequential(_\d+)?/dense_\d+/kernel' of shape \(32, 1\)",
                     half["error"]["message"])
    before, after = half["devices"]
    assert before == after and half["unchanged"]


def test_saved_on_eight_devices_loads_on_one(run):
    x, _ = _data()
    expected = np.asarray(run["dp"]["saved_predictions"])
    model = keras.saving.load_model(run["work"] / "eight_devices.keras")
    np.testing.assert_allclose(model.predict(x[:8], verbose=0), expected, atol=1e-6)
    fresh = _mlp()
    fresh.load_weights(run["work"] / "eight_devices.weights.h5")
    np.testing.assert_allclose(fresh.predict(x[:8], verbose=0), expected, atol=1e-6)


def test_saved_on_one_device_loads_on_eight(run):
    loaded = run["loaded_from_one"]
    assert loaded["kernel_devices"] == 8
    np.testing.assert_allclose(loaded["predictions"], run["one_device_predictions"], atol=1e-6)


def test_orbax_checkpoint_saves_sharded_state_and_restores_it_sharded(run):
    orbax = run["orbax"]
    assert orbax["steps"] == ["1", "2"]  # three epochs, max_to_keep=2
    assert orbax["resumed_diff"] == 0.0
    assert orbax["resumed_iterations"] == 18  # 3 epochs x 6 batches, optimizer state back
    assert orbax["resumed_kernel"] == {"spec": [None, "model"], "shard": [12, 16]}
    assert orbax["resumed_slot_shard"] == [12, 16]


def test_orbax_checkpoint_from_eight_devices_restores_on_one(run):
    x, _ = _data()
    model = keras.saving.load_model(run["work"] / "orbax")  # the latest step
    np.testing.assert_allclose(model.predict(x[:8], verbose=0), run["orbax"]["predictions"],
                               atol=1e-6)
    assert int(model.optimizer.iterations.numpy()) == 18


def test_orbax_checkpoint_resumes_after_a_kill_where_an_uninterrupted_run_ends(run):
    killed = run["killed"]
    # Killed while the checkpoint of epoch 1 was being written: Orbax keeps it in a
    # temporary folder until it is complete, so only step 0 counts.
    assert killed["on_disk"] == ["0", "1.orbax-checkpoint-tmp"]
    restored = killed["restored"]
    assert restored["iterations"] == 6 and killed["resumed_from"] == 0  # step 0, not 1
    assert restored["kernel"] == {"spec": [None, "model"], "shard": [12, 16]}
    assert restored["slot"]["shard"] == [12, 16]  # Adam's moments, in their layout
    # The resumed fit writes steps 1 and 2 (over the half-written one); max_to_keep=2.
    assert killed["steps_after"] == ["1", "2"]
    assert killed["iterations_after"] == 18
    # The same programs on the same state and batches (no shuffling): the same numbers,
    # bit for bit, as the run that was never interrupted.
    assert killed["weights_diff"] == 0.0 and killed["optimizer_diff"] == 0.0


def test_a_half_written_orbax_step_is_refused_when_named(run):
    half = run["work"] / "half_written" / "1.orbax-checkpoint-tmp"
    with pytest.raises(ValueError, match="had not finished writing"):
        keras.saving.load_model(half)
