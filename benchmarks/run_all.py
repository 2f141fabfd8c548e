"""Runs every benchmark that has a headline figure, collects their ratios, and records the run.

Each script runs in its own process, one after another, with its output shown as it comes; the
`RESULT` lines it prints (`_results.emit`) are its figures. A script that is not in this folder
(yet) is reported as skipped, one that fails or runs out of time as failed, and the rest still
run; a side a script cannot run (Keras or TensorFlow missing) is in its notes. A result whose
losses disagreed between sides (`"failure": true`) is listed as a FAILURE, not a speed-up.

The run is then appended as one JSON line to benchmarks/results.jsonl (date, commit, mode,
load average, machine, versions, each script's status and every result; see `_history.py`)
and the ratios over all runs are drawn into benchmarks/results.png, which README.md links and
the documentation's Benchmarks page shows.

Modes: `--quick` passes each script smaller data and fewer epochs (its own flags) so that all
of it takes under 5 minutes on a quiet 2-core machine: its figures are for spotting
regressions between commits, not for quoting. The full mode (the default) runs the scripts as
their figures are published (fit_cnn.py with `--repeats 5`, so the CNN ratios have a spread);
about an hour on 2 cores.

    python benchmarks/run_all.py --quick [--only fit_mlp,fit_cnn] [--skip text_vectorization]
    python benchmarks/run_all.py [--tf-python /tmp/tfvenv/bin/python] [--no-record]
"""

import argparse
import datetime
import importlib.metadata
import os
import pathlib
import platform
import re
import signal
import subprocess
import sys
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import _history  # noqa: E402
import _results  # noqa: E402
from _worker import default_tf_python  # noqa: E402

DEFAULT_TF_PYTHON = default_tf_python()

# (script, quick-mode flags, full-mode flags). A flag is passed only when the script's source
# names it, so a script written with other flags still runs (with its defaults for the rest).
SCRIPTS = [
    ("fit_mlp.py", ["--epochs", "3", "--first-epoch-runs", "0"], []),
    ("fit_cnn.py", ["--rows", "3000", "--epochs", "2", "--plain-steps", "0",
                    "--skip", "matmul"], ["--repeats", "5"]),
    # Two steps an epoch leave the ResNet's epoch losses near ln(10), set by each side's own
    # initial weights: 2.11-2.44 in a quick run (2026-12-05), 0.33 apart. 0.5 still catches
    # a side that diverges or returns NaN.
    ("fit_resnet.py", ["--rows", "256", "--epochs", "2", "--loss-tolerance", "0.5"], []),
    # The plain lax.conv_transpose side is ~15x slower and the scatter-form side is a
    # before/after of the formulation choice: the full mode measures both.
    ("fit_vae_decoder.py",
     ["--rows", "1280", "--epochs", "2", "--skip", "conv_transpose,scatter"], []),
    ("fit_lstm.py", ["--rows", "640", "--epochs", "2"], []),
    ("fit_gru.py", ["--rows", "640", "--epochs", "2"], []),
    ("fit_streaming.py", ["--rows", "1024", "--epochs", "2"], []),
    # Quick: the augmentation's cost and the ratio to Keras 3 on TensorFlow (the faster Keras
    # side here); Keras 3 on JAX's two sides took a third of the script's 42 s.
    ("fit_cnn_augmented.py", ["--rows", "640", "--epochs", "2", "--skip", "keras-jax"], []),
    ("text_vectorization.py", ["--rows", "10000", "--rounds", "1"], []),
    ("fit_transformer.py", ["--rows", "640", "--epochs", "2"], []),
    # Quick: the MLP's predict/evaluate at one batch size; start-up of the MLP, lamina with
    # its cache and both Keras backends, once.
    ("throughput.py", ["--rows", "6000", "--models", "mlp", "--batch-sizes", "1024",
                       "--rounds", "2", "--min-seconds", "0.2"], []),
    ("startup.py", ["--repeats", "1", "--rows", "256", "--workloads", "cnn",
                    "--skip", "cache off,1 s,keras 3 (jax) +"], []),
]
TIMEOUT = {"quick": 150, "full": 3 * 3600}
# Every side now reports the same quantity, the epoch's mean loss weighted by batch rows (as
# Keras's loss tracker does); what still separates agreeing sides is their own random initial
# weights and shuffling, which a quick run (10-20 steps an epoch, 2 epochs) has not yet trained
# away. The largest gaps from lamina's seen in a quick run (2026-12-05): 0.106 (augmented CNN,
# Keras on TensorFlow), 0.074 (VAE decoder), 0.073 (transformer, hand-written), below 0.015 on
# the small CNN, the LSTM and the GRU. 0.2 is about twice the largest: it catches a side that
# does not learn, diverges or returns NaN, not a subtle difference (the full mode's longer
# runs keep each script's default, 0.1). A script's own quick flags may set another.
QUICK_LOSS_TOLERANCE = ["--loss-tolerance", "0.2"]


def source_of(path):
    """The text that defines the script's flags: its own when it builds its own parser
    (throughput.py imports fit_cnn.py for the model, not for its flags), else its own plus
    that of the sibling modules it imports (a shared driver such as fit_vae_decoder.py or
    fit_lstm.py builds the parser of the scripts built on it)."""
    text = path.read_text()
    if "ArgumentParser(" in text:
        return text
    siblings = re.findall(r"^\s*(?:import|from)\s+(\w+)", text, flags=re.MULTILINE)
    for name in dict.fromkeys(siblings):
        sibling = path.parent / f"{name}.py"
        if sibling.exists() and sibling != path:
            text += "\n" + sibling.read_text()
    return text


def supported(flags, source):
    """The (flag, value) pairs of `flags` whose flag `source` names."""
    kept = []
    for index in range(0, len(flags), 2):
        if f'"{flags[index]}"' in source:
            kept += flags[index:index + 2]
    return kept


def run_script(path, flags, timeout, echo=print):
    """Runs one script; returns (return code or None on timeout, printed lines, seconds).
    Its output (stdout and stderr together) is echoed line by line as it comes."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(path), *flags], cwd=path.parent, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    expired = threading.Event()

    def stop():
        expired.set()
        os.killpg(process.pid, signal.SIGKILL)  # the script and the side processes it started

    timer = threading.Timer(timeout, stop)
    timer.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            echo("    " + lines[-1])
        process.wait()
    finally:
        timer.cancel()
    return (None if expired.is_set() else process.returncode), lines, (
        time.perf_counter() - start)


def collect(script, returncode, lines, seconds, timeout=None):
    """One script's entry for the results file and its results, from what it printed:
    (entry, [result records, each with "script"])."""
    results, malformed = [], []
    for line in lines:
        if not line.startswith(_results.PREFIX):
            continue
        try:
            (record,) = _results.parse(line)
            record = dict(record, script=script)
            _history.check_run({"date": "", "commit": "", "mode": "quick",
                                "results": [record]})
        except ValueError:  # JSONDecodeError too: one bad line must not lose the run
            malformed.append(line[:200])
            continue
        results.append(record)
    notes = [line.strip() for line in lines
             if line.strip().startswith("(") and line.strip().endswith(")")]
    entry = {"script": script, "seconds": round(seconds, 1), "results": len(results)}
    if malformed:
        notes.append(f"(malformed RESULT lines, left out: {malformed})")
    if returncode is None:
        entry.update(status="failed", error=f"timed out after {timeout} s")
    elif returncode != 0:
        tail = [line for line in lines if line.strip()][-1:] or ["(no output)"]
        entry.update(status="failed", error=f"exit status {returncode}: {tail[0][:300]}")
    elif not results:
        entry.update(status="failed", error="printed no RESULT line")
    else:
        entry["status"] = "ok"
    if notes:
        entry["notes"] = notes
    return entry, results


def select(names, only, skip):
    """The scripts to run, in order; `only`/`skip` are script names with or without `.py`.
    Raises ValueError naming an unknown script."""
    def normalize(text):
        chosen = [n if n.endswith(".py") else n + ".py" for n in text.split(",") if n.strip()]
        unknown = [n for n in chosen if n not in names]
        if unknown:
            raise ValueError(f"unknown benchmark(s) {unknown}: expected names among {names}")
        return chosen
    picked = normalize(only) if only else list(names)
    dropped = set(normalize(skip)) if skip else set()
    return [n for n in names if n in picked and n not in dropped]


def version(distribution, python=None):
    if python is None:
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            return None
    try:
        out = subprocess.run(
            [python, "-c", "import importlib.metadata as m, sys\n"
             "try: print(m.version(sys.argv[1]))\nexcept Exception: print('')", distribution],
            capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def machine():
    summary = {"platform": platform.platform(), "python": platform.python_version(),
               "cpus": os.cpu_count()}
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                summary["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                summary["memory_gb"] = round(int(line.split()[1]) / 2 ** 20, 1)
                break
    except OSError:
        pass
    return summary


def commit():
    def git(*args):
        return subprocess.run(["git", *args], cwd=HERE, capture_output=True, text=True).stdout
    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    return head, dirty


def load_average():
    return [round(value, 2) for value in os.getloadavg()]


def describe(result):
    if result.get("failure"):
        return f"FAILURE (losses disagree; measured {result['speedup']:.2f}x, not a speed-up)"
    text = f"{result['speedup']:.2f}x"
    if "min" in result and "max" in result:
        text += f" (min {result['min']:.2f}, max {result['max']:.2f}, {result['repeats']} runs)"
    return text


def summary(run):
    """The run's closing report: each script's status, then each result."""
    mode = run["mode"] + (" mode: for spotting regressions, not for quoting"
                          if run["mode"] == "quick" else " mode")
    dirty = " (with uncommitted changes)" if run.get("dirty") else ""
    lines = [f"\nrun_all ({mode}), commit {run['commit']}{dirty}, load average "
             f"{run['load_average'][0]} at the start, {run['load_average_end'][0]} at the end"]
    for entry in run["scripts"]:
        line = f"  {entry['script']:24s} {entry['status']:8s} {entry.get('seconds', 0):7.1f} s"
        if entry.get("error"):
            line += f"  {entry['error']}"
        lines.append(line)
        for note in entry.get("notes", []):
            lines.append(f"  {'':24s} {note}")
    lines.append("  times faster than the other side (its time over lamina's):")
    for result in run["results"]:
        lines.append(f"  {result['workload'][:48]:48s} {result['against'][:36]:36s} "
                     f"{describe(result)}")
    return "\n".join(lines)


def run_all(names, mode, folder=HERE, tf_python=DEFAULT_TF_PYTHON, timeout=None,
            echo=print):
    """Runs the benchmarks `names` (files in `folder`) in `mode`; returns the run record."""
    table = {script: (quick, full) for script, quick, full in SCRIPTS}
    timeout = timeout or TIMEOUT[mode]
    head, dirty = commit()
    run = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "commit": head, "dirty": dirty, "mode": mode, "load_average": load_average(),
           "machine": machine(),
           "versions": {"jax": version("jax"), "jaxlib": version("jaxlib"),
                        "keras": version("keras"), "optax": version("optax"),
                        "numpy": version("numpy"),
                        "tensorflow (--tf-python)": version("tensorflow", tf_python)
                        if os.path.exists(tf_python) else None,
                        "keras (--tf-python)": version("keras", tf_python)
                        if os.path.exists(tf_python) else None},
           "scripts": [], "results": []}
    for script in names:
        path = pathlib.Path(folder) / script
        if not path.exists():
            echo(f"\n== {script}: not in {folder}, skipped")
            run["scripts"].append({"script": script, "status": "skipped",
                                   "error": "not in the benchmarks folder"})
            continue
        source = source_of(path)
        quick, full = table.get(script, ([], []))
        flags = supported(quick if mode == "quick" else full, source)
        if mode == "quick" and "--loss-tolerance" not in flags:
            flags += supported(QUICK_LOSS_TOLERANCE, source)
        flags += supported(["--tf-python", tf_python], source)
        echo(f"\n== {script} {' '.join(flags)}")
        returncode, lines, seconds = run_script(path, flags, timeout, echo)
        entry, results = collect(script, returncode, lines, seconds, timeout)
        run["scripts"].append(entry)
        run["results"] += results
    run["load_average_end"] = load_average()
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small data and few epochs: under 5 minutes, for regressions")
    parser.add_argument("--only", default="", help="comma-separated scripts to run")
    parser.add_argument("--skip", default="", help="comma-separated scripts to leave out")
    parser.add_argument("--tf-python", default=DEFAULT_TF_PYTHON)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per script (default 150 quick, 3 hours full)")
    parser.add_argument("--results", default=str(_history.RESULTS),
                        help="the JSON-lines file the run is appended to")
    parser.add_argument("--plot", default=str(_history.PLOT),
                        help="the PNG redrawn from the results file")
    parser.add_argument("--no-record", action="store_true",
                        help="print the summary only: append nothing, draw nothing")
    args = parser.parse_args(argv)
    names = [script for script, _, _ in SCRIPTS]
    try:
        chosen = select(names, args.only, args.skip)
    except ValueError as error:
        parser.error(str(error))
    # Read the history first: a damaged results file stops the run before an hour is spent.
    history = _history.read(args.results)
    run = run_all(chosen, "quick" if args.quick else "full", tf_python=args.tf_python,
                  timeout=args.timeout)
    print(summary(run))
    if not args.no_record:
        _history.append(run, args.results)
        pathlib.Path(args.plot).write_bytes(_history.plot(history + [run]))
        print(f"appended to {args.results}; drew {args.plot}")
    bad = [e for e in run["scripts"] if e["status"] == "failed"]
    return 1 if bad or any(r.get("failure") for r in run["results"]) else 0


if __name__ == "__main__":
    sys.exit(main())
