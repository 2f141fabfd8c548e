"""benchmarks/run_all.py and its results file, on canned script output (nothing is trained):
the RESULT lines are collected, failures and missing scripts are reported, a run is appended
as one line without damaging the history, and the history is plotted."""

import importlib.util
import json
import pathlib
import sys

import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def run_all():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("run_all", BENCHMARKS / "run_all.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def history(run_all):
    return run_all._history


CANNED_OK = '''import sys
print("book MLP, 11610 rows: a table the collector must ignore")
print("(keras not installed: comparing with hand-written JAX only)")
print("args " + " ".join(sys.argv[1:]))
print('RESULT {"workload": "MLP epoch", "against": "keras 3 (jax)", "speedup": 12.5}')
print('RESULT {"workload": "MLP epoch", "against": "hand-written jax+optax", "speedup": 1.6}')
print('RESULT {"workload": "MLP epoch", "against": "nothing"}')
print('RESULT {"workload": "MLP epoch", "against": ')
# the flags run_all may pass: "--epochs" "--first-epoch-runs"
'''
CANNED_FAILURE = '''import sys
print("args " + " ".join(sys.argv[1:]))  # names "--rows" and "--loss-tolerance"
print('RESULT {"workload": "small CNN step", '
      '"against": "keras 3 (tensorflow)", "speedup": 2.3, "failure": true}')
print('RESULT {"workload": "small CNN step", "against": "keras 3 (jax)", "speedup": 4.0, '
      '"min": 3.5, "max": 4.4, "repeats": 5}')
'''
CANNED_CRASH = '''raise SystemExit("ValueError: no such layer")'''


@pytest.fixture(scope="module")
def canned_run(run_all, tmp_path_factory):
    folder = tmp_path_factory.mktemp("benchmarks")
    (folder / "fit_mlp.py").write_text(CANNED_OK)
    (folder / "fit_cnn.py").write_text(CANNED_FAILURE)
    (folder / "fit_resnet.py").write_text(CANNED_CRASH)
    echoed = []
    run = run_all.run_all(["fit_mlp.py", "fit_cnn.py", "fit_resnet.py", "startup.py"], "quick",
                          folder=folder, tf_python=str(folder / "no-python"),
                          echo=echoed.append)
    return run, echoed


def test_results_are_collected_from_each_scripts_output(run_all, canned_run):
    run, echoed = canned_run
    assert [(r["script"], r["workload"], r["against"], r["speedup"]) for r in run["results"]] == [
        ("fit_mlp.py", "MLP epoch", "keras 3 (jax)", 12.5),
        ("fit_mlp.py", "MLP epoch", "hand-written jax+optax", 1.6),
        ("fit_cnn.py", "small CNN step", "keras 3 (tensorflow)", 2.3),
        ("fit_cnn.py", "small CNN step", "keras 3 (jax)", 4.0)]
    assert any("a table the collector must ignore" in line for line in echoed)
    # Only the quick flags the script names are passed (fit_mlp.py has no --rows).
    assert "    args --epochs 3 --first-epoch-runs 0" in echoed
    # A quick run compares losses more loosely where the script takes a tolerance.
    assert "    args --rows 3000 " + " ".join(run_all.QUICK_LOSS_TOLERANCE) in echoed


def test_a_failing_or_missing_script_is_reported_and_the_rest_still_runs(canned_run):
    run, _ = canned_run
    status = {entry["script"]: entry for entry in run["scripts"]}
    assert status["fit_mlp.py"]["status"] == "ok"
    first, malformed = status["fit_mlp.py"]["notes"]
    assert first == "(keras not installed: comparing with hand-written JAX only)"
    # A RESULT line without a speedup, or cut short, is left out and said, not fatal.
    assert malformed.startswith("(malformed RESULT lines, left out:") and "nothing" in malformed
    assert status["fit_resnet.py"]["status"] == "failed"
    assert "exit status 1: ValueError: no such layer" in status["fit_resnet.py"]["error"]
    assert status["startup.py"]["status"] == "skipped"
    assert run["mode"] == "quick" and len(run["load_average"]) == 3
    assert run["machine"]["cpus"] >= 1 and run["versions"]["jax"]


def test_a_result_whose_losses_disagree_is_shown_as_a_failure(run_all, canned_run):
    text = run_all.summary(canned_run[0])
    failed = next(line for line in text.splitlines() if "keras 3 (tensorflow)" in line)
    assert "FAILURE" in failed and "not a speed-up" in failed
    spread = next(line for line in text.splitlines() if "small CNN step" in line
                  and "keras 3 (jax)" in line)
    assert "4.00x (min 3.50, max 4.40, 5 runs)" in spread
    assert "quick mode: for spotting regressions, not for quoting" in text


def test_a_timed_out_script_is_a_failure_not_a_hang(run_all, tmp_path):
    (tmp_path / "fit_gru.py").write_text("import time\nprint('started')\ntime.sleep(60)\n")
    run = run_all.run_all(["fit_gru.py"], "quick", folder=tmp_path, timeout=1.0,
                          tf_python=str(tmp_path / "none"), echo=lambda line: None)
    (entry,) = run["scripts"]
    assert entry["status"] == "failed" and "timed out after 1.0 s" in entry["error"]
    assert entry["seconds"] < 30


def test_each_run_appends_one_line_and_bad_records_leave_the_file_as_it_was(
        history, canned_run, tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text('{"date": "2026-12-04", "commit": "abc1234", "mode": "full", '
                    '"results": [{"workload": "MLP epoch", "against": "keras 3 (jax)", '
                    '"speedup": 17.3}]}')  # no newline at the end: fixed before appending
    history.append(canned_run[0], path)
    runs = history.read(path)
    assert len(runs) == 2 and runs[1]["results"] == canned_run[0]["results"]
    before = path.read_bytes()
    for bad in ({**canned_run[0], "mode": "fast"},
                {**canned_run[0], "results": [{"workload": "x", "against": "y",
                                                "speedup": "fast"}]},
                {"date": "2026-12-05", "commit": "abc"}):
        with pytest.raises(ValueError, match="expected"):
            history.append(bad, path)
    assert path.read_bytes() == before
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(ValueError, match="line 3: not JSON"):
        history.read(path)


def test_the_history_is_plotted_with_failures_and_spreads(history, canned_run):
    runs = history.read() + [canned_run[0]]
    png = history.plot(runs)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    _, lines = history.series(runs, "quick")
    assert lines["small CNN step vs keras 3 (jax)"][-1][1]["max"] == 4.4


def test_the_recorded_history_reads_and_every_quick_flag_reaches_its_script(run_all, history):
    runs = history.read()  # benchmarks/results.jsonl as committed: the docs site plots it
    assert runs and all(run["mode"] in ("full", "quick") for run in runs)
    assert json.loads(json.dumps(runs)) == runs
    for script, quick, full in run_all.SCRIPTS:
        path = BENCHMARKS / script
        if path.exists():
            source = run_all.source_of(path)
            assert run_all.supported(quick, source) == quick, script
            assert run_all.supported(full, source) == full, script
            assert "emit(" in source or "workload=" in source, script


def test_a_script_with_its_own_parser_gets_only_its_own_flags(run_all, tmp_path):
    # throughput.py imports fit_cnn.py (which takes --loss-tolerance) for its model only.
    (tmp_path / "driver.py").write_text('parser.add_argument("--loss-tolerance")')
    (tmp_path / "own.py").write_text('import driver\nargparse.ArgumentParser()\n'
                                     'parser.add_argument("--rows")')
    (tmp_path / "built_on_driver.py").write_text("import driver\ndriver.parser_for()")
    flags = ["--rows", "9", "--loss-tolerance", "0.3"]
    assert run_all.supported(flags, run_all.source_of(tmp_path / "own.py")) == ["--rows", "9"]
    assert run_all.supported(flags, run_all.source_of(tmp_path / "built_on_driver.py")) == [
        "--loss-tolerance", "0.3"]


def test_unknown_script_names_are_refused(run_all):
    names = [script for script, _, _ in run_all.SCRIPTS]
    assert run_all.select(names, "fit_mlp,fit_cnn.py", "") == ["fit_mlp.py", "fit_cnn.py"]
    assert "fit_mlp.py" not in run_all.select(names, "", "fit_mlp")
    with pytest.raises(ValueError, match="unknown benchmark.*fit_mpl.py"):
        run_all.select(names, "fit_mpl", "")


def test_a_hand_written_sides_epoch_loss_is_keras_mean_weighted_by_batch_rows(run_all):
    import numpy as np
    import fit_vae_decoder

    # Two full batches of 4 rows (losses 1 and 2), a partial batch of 2 rows (loss 4):
    # Keras's loss tracker gives (4*1 + 4*2 + 2*4) / 10, not the last batch's 4.
    mean = fit_vae_decoder.epoch_mean(np.array([1.0, 2.0]), 4, np.float64(4.0), 2)
    assert mean == pytest.approx(2.0)
    assert fit_vae_decoder.epoch_mean(np.array([1.0, 2.0]), 4) == pytest.approx(1.5)


def test_keras_on_tensorflow_is_left_out_and_said_so_without_its_python(run_all, capsys):
    import _worker

    sides = _worker.keras_sides("/nonexistent/python")
    assert [name for name, _, _ in sides] == ["keras 3 (jax)"]
    assert sides[0][2] == {"KERAS_BACKEND": "jax"}
    assert "no TensorFlow Python at /nonexistent/python" in capsys.readouterr().out
    sides = _worker.keras_sides(sys.executable, names=(_worker.TENSORFLOW,))
    assert [(name, python, env["KERAS_BACKEND"]) for name, python, env in sides] == [
        ("keras 3 (tensorflow)", sys.executable, "tensorflow")]
