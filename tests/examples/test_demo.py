"""The demo (the README's first command): it trains, saves, reloads and plots, and when run
twice, into a folder it cannot write, or interrupted, it says so and leaves no partial file."""

import os
import pathlib
import signal
import subprocess
import sys
import zipfile

import pytest

DEMO = pathlib.Path(__file__).resolve().parents[2] / "examples" / "demo.py"
OUTPUTS = {"diabetes_regressor.keras", "digits_classifier.keras", "learning_curves.png"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_demo(out, *args):
    return subprocess.run([sys.executable, str(DEMO), "--small", "--verbose", "2",
                           "--out", str(out), *args],
                          capture_output=True, text=True, timeout=300)


def assert_outputs_complete(folder):
    """No temporary file is left, the PNG is whole and every .keras archive is a complete zip
    with a config and weights. (The demo itself reloads its models and compares predictions;
    they are not loaded here, where registering its classes would leak into other tests.)"""
    names = set(os.listdir(folder))
    # The demo's own temporaries end in ".tmp"; lamina's saves name theirs
    # ".<target>.tmp-<host>-<pid>-<random><extension>".
    assert not [n for n in names if n.endswith(".tmp") or ".tmp-" in n], (
        f"temporary files left: {names}")
    for name in names & OUTPUTS:
        path = os.path.join(folder, name)
        if name.endswith(".png"):
            assert pathlib.Path(path).read_bytes().startswith(PNG_SIGNATURE)
        else:
            with zipfile.ZipFile(path) as archive:
                assert archive.testzip() is None
                assert {"config.json", "model.weights.h5"} <= set(archive.namelist())
    return names


def test_demo_runs_twice_in_a_row_and_replaces_its_outputs(tmp_path):
    first = run_demo(tmp_path)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert "reloaded models predict exactly as the originals" in first.stdout
    assert "digits test accuracy:" in first.stdout and "Total params" in first.stdout
    assert str(tmp_path) in first.stdout  # says where its outputs are
    assert assert_outputs_complete(tmp_path) == OUTPUTS
    stamps = {n: os.stat(tmp_path / n).st_mtime_ns for n in OUTPUTS}

    second = run_demo(tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "holds outputs of an earlier run" in second.stdout
    assert assert_outputs_complete(tmp_path) == OUTPUTS
    assert all(os.stat(tmp_path / n).st_mtime_ns > stamps[n] for n in OUTPUTS)


def test_demo_refuses_an_output_path_that_is_a_file_before_training(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    result = run_demo(target)
    assert result.returncode == 73
    assert "cannot write its outputs" in result.stderr and "--out DIR" in result.stderr
    assert "Nothing was written" in result.stderr
    assert "Epoch" not in result.stdout  # reported before any training
    assert target.read_text() == "not a folder"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write into read-only folders")
def test_demo_reports_a_read_only_output_folder(tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        result = run_demo(folder)
    finally:
        folder.chmod(0o755)
    assert result.returncode == 73
    assert "Permission denied" in result.stderr and "--out DIR" in result.stderr
    assert os.listdir(folder) == []


def test_demo_interrupted_with_ctrl_c_says_so_and_leaves_only_whole_files(tmp_path):
    stderr_path = tmp_path / "stderr.txt"
    out = tmp_path / "out"
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen(
            # Unbuffered (-u): through a pipe the demo's output is block-buffered, and the
            # line below then arrived only when the buffer filled, sometimes at the very end,
            # so the interrupt came after a finished run.
            [sys.executable, "-u", str(DEMO), "--small", "--verbose", "2", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=stderr, text=True)
        try:
            for line in process.stdout:  # interrupt once the first model is saved
                if line.startswith("== Digits classification"):
                    break
            process.send_signal(signal.SIGINT)
            process.stdout.read()
            returncode = process.wait(timeout=120)
        finally:
            process.kill()
    message = stderr_path.read_text()
    assert returncode == 130, message[-3000:]
    assert "Interrupted (Ctrl-C)" in message and "Run again to finish" in message
    assert "Traceback" not in message
    names = assert_outputs_complete(out)
    assert "diabetes_regressor.keras" in names
    assert "learning_curves.png" not in names
