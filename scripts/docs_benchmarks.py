"""MkDocs hook (mkdocs.yml `hooks:`): the "Benchmarks" page, built from the benchmarks folder.

The page is benchmarks/README.md as it is (the current figures, with how they were measured),
after a plot of benchmarks/results.jsonl, the one benchmark history (`benchmarks/_history.py`
reads, checks and plots it; `benchmarks/run_all.py` appends a line per run): the headline
speed-ups (how many times faster lamina is than the other side, measured side by side in one
run) at each run that recorded them, and a table of the newest full-mode figure of each.
"""

import importlib.util
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "benchmarks" / "README.md"
PAGE, PLOT = "benchmarks.md", "benchmarks-history.png"


def _history_module():
    """benchmarks/_history.py, loaded from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("_benchmarks_history",
                                                  ROOT / "benchmarks" / "_history.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_page(history, runs):
    readme = README.read_text()
    title, _, body = readme.partition("\n")
    # The README shows run_all.py's PNG of the same history; the page shows its own, above.
    body = re.sub(r"^!\[[^]]*\]\(results\.png\)\n\n?", "", body, flags=re.MULTILINE)
    body = body.replace("(results.png)", f"({PLOT})")
    table = ["| workload | against | times faster | measured at |", "| --- | --- | --- | --- |"]
    for (workload, against), (run, result) in history.latest(runs, "full").items():
        figure = ("FAILURE (losses disagree)" if result.get("failure")
                  else f"{result['speedup']:g}x")
        table.append(f"| {workload} | {against} | {figure} | {run['date'][:10]} "
                     f"(`{run['commit'][:7]}`) |")
    return "\n".join([
        title, "",
        "The headline figures over time (benchmarks/results.jsonl; full runs above, quick "
        "runs, for spotting regressions only, below), then the newest full-mode figure of "
        "each, then the current figures and how they are measured (benchmarks/README.md).", "",
        f"![Speed-up history]({PLOT})", "", *table, "", body.lstrip("\n")])


def on_files(files, config):
    from mkdocs.structure.files import File  # noqa: PLC0415

    history = _history_module()
    runs = history.read()
    files.append(File.generated(config, PAGE, content=build_page(history, runs)))
    files.append(File.generated(config, PLOT, content=history.plot(runs)))
    return files
