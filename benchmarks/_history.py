"""The benchmark history: benchmarks/results.jsonl, one JSON line per run of `run_all.py`.

Each line is a run: when and where it was measured (date, commit, mode "quick" or "full",
load average, machine, library versions), what each script did (ran, failed, skipped) and every
result its scripts printed through `_results.emit`. The first lines were migrated from the
hand-kept history.csv (their `source` says so). This one file feeds both plots: the PNG that
benchmarks/README.md links (`run_all.py` redraws it after each run) and the documentation
site's Benchmarks page (scripts/docs_benchmarks.py), so there is one history, not two.

Quick runs (smaller data, fewer epochs) spot regressions between commits; only full runs
measure the figures that are quoted, so the plot draws the two modes in separate panels.
"""

import io
import json
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
RESULTS = HERE / "results.jsonl"
PLOT = HERE / "results.png"
MODES = ("full", "quick")
REQUIRED = {"date": str, "commit": str, "mode": str, "results": list}


def check_run(run, where="run"):
    """Raises ValueError unless `run` is a run record: the required keys with the right types,
    mode in MODES, and every result with a workload, an against and a numeric speedup."""
    if not isinstance(run, dict):
        raise ValueError(f"{where}: expected a JSON object, received {type(run).__name__}")
    for key, kind in REQUIRED.items():
        if not isinstance(run.get(key), kind):
            raise ValueError(f"{where}: expected {key!r} to be a {kind.__name__}, received "
                             f"{run.get(key)!r}; a run needs {sorted(REQUIRED)}")
    if run["mode"] not in MODES:
        raise ValueError(f"{where}: expected mode to be one of {MODES}, received "
                         f"{run['mode']!r}")
    for index, result in enumerate(run["results"]):
        if not (isinstance(result, dict) and isinstance(result.get("workload"), str)
                and isinstance(result.get("against"), str)
                and isinstance(result.get("speedup"), (int, float))
                and not isinstance(result.get("speedup"), bool)):
            raise ValueError(f"{where}, result {index}: expected workload and against (text) "
                             f"and speedup (a number), received {result!r}")
    return run


def read(path=RESULTS):
    """The runs in the results file, oldest first, each checked by `check_run`."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    runs = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            run = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path.name}, line {number}: not JSON ({error}); fix or remove "
                             "the line") from None
        runs.append(check_run(run, f"{path.name}, line {number}"))
    return runs


def append(run, path=RESULTS):
    """Checks `run` and appends it to the results file as one line. Nothing is written when
    the run is not valid, and a file whose last line lacks its newline gets one first, so a
    bad record never corrupts the history."""
    check_run(run)
    line = json.dumps(run, sort_keys=False)
    path = pathlib.Path(path)
    prefix = ""
    if path.exists() and path.stat().st_size:
        with path.open("rb") as file:
            file.seek(-1, 2)
            prefix = "" if file.read(1) == b"\n" else "\n"
    with path.open("a") as file:
        file.write(prefix + line + "\n")


def series(runs, mode):
    """{"workload vs against": [(run index, result)]} over the runs of one mode."""
    chosen = [run for run in runs if run["mode"] == mode]
    lines = {}
    for index, run in enumerate(chosen):
        for result in run["results"]:
            key = f"{result['workload']} vs {result['against']}"
            lines.setdefault(key, []).append((index, result))
    return chosen, lines


def plot(runs):
    """PNG bytes: the speed-ups over the runs, a panel per mode that has runs; a result whose
    losses disagreed (`"failure": true`) is a red cross, not a point of its line; a result with
    a spread (`min`, `max`) has an error bar."""
    import matplotlib  # noqa: PLC0415  (only the plot needs it)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    modes = [mode for mode in MODES if any(run["mode"] == mode for run in runs)] or ["full"]
    figure, axes_list = pyplot.subplots(len(modes), 1, figsize=(10, 4.5 * len(modes)),
                                        dpi=90, squeeze=False)
    for axes, mode in zip(axes_list[:, 0], modes):
        chosen, lines = series(runs, mode)
        for key, points in lines.items():
            good = [(i, r) for i, r in points if not r.get("failure")]
            if good:
                xs = [i for i, _ in good]
                ys = [r["speedup"] for _, r in good]
                low = [y - r.get("min", y) for y, (_, r) in zip(ys, good)]
                high = [r.get("max", y) - y for y, (_, r) in zip(ys, good)]
                axes.errorbar(xs, ys, yerr=[low, high], marker="o", markersize=4,
                              capsize=3, label=key)
            failed = [(i, r) for i, r in points if r.get("failure")]
            if failed:
                axes.plot([i for i, _ in failed], [r["speedup"] for _, r in failed], "x",
                          color="red", markersize=9)
        axes.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
        axes.set_yscale("log")
        ticks = [f"{run['date'][:10]}\n{run['commit'][:7]}" for run in chosen]
        axes.set_xticks(range(len(ticks)), ticks, fontsize=7)
        axes.set_ylabel("times faster than the other side")
        note = ("the published figures" if mode == "full"
                else "for spotting regressions, not for quoting")
        axes.set_title(f"{mode} runs: {note} (red x: the losses disagreed)", fontsize=9)
        if lines:
            axes.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle("lamina's speed-ups, side by side (the other side's time over lamina's)",
                    fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def latest(runs, mode="full"):
    """{(workload, against): (run, result)}: the newest result of each pair in `mode`."""
    found = {}
    for run in runs:
        if run["mode"] != mode:
            continue
        for result in run["results"]:
            found[(result["workload"], result["against"])] = (run, result)
    return found
