"""MkDocs hook (mkdocs.yml `hooks:`): the "Benchmarks" page, built from the benchmarks folder.

The page is benchmarks/README.md as it is (the current figures, with how they were measured),
after a plot of benchmarks/history.csv: the headline speed-ups (how many times faster lamina
is than the other side, measured side by side in one run) at each commit that recorded them.
Add a row to the history whenever a headline figure in the README is measured again.
"""

import csv
import io
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "benchmarks" / "README.md"
HISTORY = ROOT / "benchmarks" / "history.csv"
PAGE, PLOT = "benchmarks.md", "benchmarks-history.png"
COLUMNS = ["date", "commit", "workload", "against", "speedup"]


def read_history():
    """The rows of benchmarks/history.csv, checked: [{column: value}], speedup a float."""
    with HISTORY.open(newline="") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames != COLUMNS:
            raise ValueError(f"{HISTORY.name}: expected the columns {COLUMNS}, found "
                             f"{reader.fieldnames}")
        rows = []
        for number, row in enumerate(reader, start=2):
            try:
                row["speedup"] = float(row["speedup"])
            except ValueError:
                raise ValueError(f"{HISTORY.name}, line {number}: speedup {row['speedup']!r} "
                                 "is not a number") from None
            rows.append(row)
    return rows


def plot_history(rows):
    """PNG bytes: one line per (workload, against), speed-up over the recorded commits."""
    import matplotlib  # noqa: PLC0415  (the docs extra brings it)

    matplotlib.use("Agg")
    from matplotlib import pyplot  # noqa: PLC0415

    order = list(dict.fromkeys(f"{r['date']}\n{r['commit']}" for r in rows))
    figure, axes = pyplot.subplots(figsize=(9, 4.5), dpi=100)
    series = {}
    for row in rows:
        key = f"{row['workload']} vs {row['against']}"
        series.setdefault(key, []).append((order.index(f"{row['date']}\n{row['commit']}"),
                                           row["speedup"]))
    for key, points in series.items():
        xs, ys = zip(*points)
        axes.plot(xs, ys, marker="o", label=key)
    axes.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
    axes.set_yscale("log")
    axes.set_xticks(range(len(order)), order, fontsize=8)
    axes.set_ylabel("times faster than the other side")
    axes.set_title("lamina's headline speed-ups, side by side (2-core CPU)")
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    return buffer.getvalue()


def build_page(rows):
    readme = README.read_text()
    title, _, body = readme.partition("\n")
    latest = {}
    for row in rows:
        latest[(row["workload"], row["against"])] = row
    table = ["| workload | against | times faster | measured at |", "| --- | --- | --- | --- |"]
    for (workload, against), row in latest.items():
        table.append(f"| {workload} | {against} | {row['speedup']:g}x | {row['date']} "
                     f"(`{row['commit']}`) |")
    return "\n".join([
        title, "",
        "The headline figures over time (benchmarks/history.csv), then the current figures "
        "and how they are measured (benchmarks/README.md).", "",
        f"![Speed-up history]({PLOT})", "", *table, "", body.lstrip("\n")])


def on_files(files, config):
    from mkdocs.structure.files import File  # noqa: PLC0415

    rows = read_history()
    files.append(File.generated(config, PAGE, content=build_page(rows)))
    files.append(File.generated(config, PLOT, content=plot_history(rows)))
    return files
