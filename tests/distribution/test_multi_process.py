"""Two processes on localhost join with `keras.distribution.initialize` and train one model
data-parallel (each feeding its own rows of every batch); a worker that cannot reach its
coordinator gets a clear error after a bounded wait."""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import lamina as keras

WORKER = pathlib.Path(__file__).with_name("_two_process_worker.py")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    work = tmp_path_factory.mktemp("two_processes")
    port = _free_port()
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    workers = [subprocess.Popen([sys.executable, str(WORKER), str(port), str(i),
                                 str(work / f"process_{i}.json")], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in range(2)]
    try:
        outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output[-4000:]
    reports = [json.loads((work / f"process_{i}.json").read_text()) for i in range(2)]
    for index, report in enumerate(reports):
        report["file"] = work / f"process_{index}.keras"
    return reports


def test_two_processes_span_one_mesh(two_processes):
    for index, report in enumerate(two_processes):
        assert report["process_index"] == index and report["process_count"] == 2
        assert report["device_count"] == 4 and report["local_device_count"] == 2


def test_two_processes_end_with_identical_weights(two_processes):
    first, second = two_processes
    assert first["loss"] == second["loss"]
    for a, b in zip(first["weights"], second["weights"]):
        np.testing.assert_array_equal(a, b)


def test_two_processes_train_as_one_process_on_the_global_batches(two_processes):
    # Global batch i is process 0's batch i followed by process 1's (Keras's rule for
    # per-process data): one process training on those batches ends at the same weights.
    parts = []
    for process_id in range(2):
        rows = np.random.default_rng(10 + process_id)
        x = rows.normal(size=(32, 6)).astype("float32")
        parts.append((x, x.sum(axis=1, keepdims=True)))
    x = np.concatenate([np.concatenate([p[0][i:i + 8] for p in parts]) for i in (0, 8, 16, 24)])
    y = np.concatenate([np.concatenate([p[1][i:i + 8] for p in parts]) for i in (0, 8, 16, 24)])
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], two_processes[0]["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), two_processes[0]["weights"]):
        np.testing.assert_allclose(a, b, atol=1e-5)


_UNREACHABLE = """
import sys, time
import lamina as keras
start = time.monotonic()
try:
    keras.distribution.initialize(f"127.0.0.1:{sys.argv[1]}", num_processes=2, process_id=1,
                                  initialization_timeout=2)
except ConnectionError as error:
    print("ConnectionError", round(time.monotonic() - start, 1), error)
"""


def test_initialize_with_an_unreachable_coordinator_fails_after_the_timeout():
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", _UNREACHABLE, str(_free_port())],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert result.returncode == 0, result.stderr[-3000:]
    kind, waited, message = result.stdout.strip().split(" ", 2)
    assert kind == "ConnectionError" and 2 <= float(waited) < 10
    assert "could not reach the coordinator at 127.0.0.1:" in message
    assert "initialization_timeout" in message
    assert time.monotonic() - start < 60


def test_each_process_saves_a_model_that_loads_on_one_device(two_processes):
    for report in two_processes:
        model = keras.saving.load_model(report["file"])
        for ours, saved in zip(model.get_weights(), report["weights"]):
            np.testing.assert_array_equal(ours, saved)


def _process_rows(process_id):
    x = np.random.default_rng(10 + process_id).normal(size=(32, 6)).astype("float32")
    return x[:28]


def test_predict_gives_each_process_the_outputs_of_its_own_rows_in_order(two_processes):
    # Keras 3 on JAX raises here (the outputs span other hosts' devices); lamina returns each
    # process its rows' predictions, as one process would compute them with the same weights.
    for index, report in enumerate(two_processes):
        model = keras.saving.load_model(report["file"])
        ours = np.asarray(report["predictions"])
        assert ours.shape == (28, 1)
        expected = model.predict(_process_rows(index), verbose=0)
        np.testing.assert_allclose(ours, expected, atol=1e-5)
        np.testing.assert_allclose(report["small_predictions"], expected[:4], atol=1e-5)


def test_predict_refuses_uneven_rows_across_processes_instead_of_hanging(two_processes):
    for index, report in enumerate(two_processes):
        uneven = report["errors"]["uneven"]  # 28 rows on process 0, 24 on process 1
        assert "every process must pass the same number of rows" in uneven
        assert f"on process {index}" in uneven and "[28, 24]" in uneven
        for call in ("fit", "evaluate"):
            refused = report["errors"][f"uneven_{call}"]
            assert refused.startswith(f"{call}: ") and "[28, 24]" in refused
            assert f"on process {index}" in refused
        odd = report["errors"]["odd_last"]  # a last batch of 7 x 2 processes, 4 devices
        assert "7 rows on each of the 2 processes (14 in all)" in odd and "4 devices" in odd


def test_both_processes_write_one_orbax_checkpoint_that_loads_on_one_device(two_processes):
    first, second = two_processes
    files = first["checkpoint_files"]
    assert files == second["checkpoint_files"]
    # One step (max_to_keep=1) with its metadata (Orbax writes it from the primary process
    # only), and each process's own part of the arrays.
    assert sorted({name.split("/")[0] for name in files}) == ["1"]
    assert "1/_CHECKPOINT_METADATA" in files and "1/commit_success.txt" in files
    for process_id in (0, 1):
        assert f"1/pytree/array_metadatas/process_{process_id}" in files
        assert f"1/pytree/ocdbt.process_{process_id}/manifest.ocdbt" in files
    model = keras.saving.load_model(first["file"].parent / "orbax")
    for ours, saved in zip(model.get_weights(), first["weights"]):
        np.testing.assert_array_equal(ours, saved)
    assert int(model.optimizer.iterations.numpy()) == 8  # 2 epochs x 4 global batches
