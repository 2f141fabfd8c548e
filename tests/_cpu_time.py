"""A pytest plugin that measures what each test costs in CPU time, not wall time.

Wall time on a shared machine says more about the neighbours than about the test; the process's
CPU time (`time.process_time()`, which counts every thread, JAX's compile threads included) plus
the CPU time of the subprocesses a test waited for (`RUSAGE_CHILDREN`) does not move with the load.

Off by default. Turn it on for one run with `-p _cpu_time`, or with the environment variable
`PYTEST_PLUGINS=_cpu_time`, in a single process (`-p no:xdist`; under xdist each worker writes
its own report):

    .venv/bin/python -m pytest tests/layers -p no:xdist -p _cpu_time \
        --cpu-time-report=/tmp/layers.txt

The report (also written as JSON next to it, `<report>.json`, for before/after comparisons)
lists, sorted by cost:

- every test: setup + call + teardown, with the module- and session-scoped fixtures it set up
  counted separately (the first test of a module would otherwise carry the module's model);
- every fixture of a wider scope than `function`, as `fixture <module>::<name>`;
- collecting each module (its imports: `import keras` costs seconds);
- the totals per file and per directory.

The path defaults to the environment variable `LAMINA_CPU_TIME_REPORT`, then to
`cpu_time_report.txt` in the current directory.
"""

import json
import os
import resource
import time
from collections import defaultdict

import pytest

_REPORT_ENV = "LAMINA_CPU_TIME_REPORT"


def _cpu():
    """CPU seconds of this process (all threads) and of the children it has waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def pytest_addoption(parser):
    parser.addoption(
        "--cpu-time-report",
        default=None,
        help=f"where _cpu_time writes its report (default: ${_REPORT_ENV}, then cpu_time_report.txt)",
    )


def pytest_configure(config):
    config.pluginmanager.register(_CpuTimer(config), "_cpu_timer")


class _CpuTimer:
    def __init__(self, config):
        self.config = config
        self.tests = defaultdict(lambda: {"cpu": 0.0, "wall": 0.0, "fixtures": 0.0})
        self.fixtures = {}  # "file::name" -> [cpu, wall]
        self.collect = {}  # file -> [cpu, wall]
        self._fixture_depth = 0
        self._current = None
        self.start_cpu = _cpu()
        self.start_wall = time.perf_counter()
        self._last_write = self.start_wall

    # Tests: setup, call and teardown, each timed on its own (a failing setup still counts).
    def _timed_phase(self, item):
        self._current = item.nodeid
        cpu, wall = _cpu(), time.perf_counter()
        yield
        record = self.tests[item.nodeid]
        record["cpu"] += _cpu() - cpu
        record["wall"] += time.perf_counter() - wall
        self._current = None

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item):
        yield from self._timed_phase(item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        yield from self._timed_phase(item)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self, item):
        yield from self._timed_phase(item)

    # Fixtures wider than a function: their cost is shared by a module's tests, so it is shown
    # once under the fixture's name and subtracted from the test that happened to set it up.
    @pytest.hookimpl(hookwrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        if fixturedef.scope == "function":
            yield
            return
        self._fixture_depth += 1
        cpu, wall = _cpu(), time.perf_counter()
        yield
        cpu, wall = _cpu() - cpu, time.perf_counter() - wall
        self._fixture_depth -= 1
        if self._fixture_depth:  # nested: the outer fixture's time already includes it
            return
        if fixturedef.scope == "module":
            where = request.node.nodeid.split("::")[0]
        else:  # class, package or session: named by where the fixture is defined
            where = fixturedef.baseid or "."
        key = f"fixture {where}::{fixturedef.argname}"
        entry = self.fixtures.setdefault(key, [0.0, 0.0])
        entry[0] += cpu
        entry[1] += wall
        if self._current is not None:
            self.tests[self._current]["fixtures"] += cpu

    # Collection: importing a test module (and whatever it imports first).
    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        if not isinstance(collector, pytest.Module):
            yield
            return
        cpu, wall = _cpu(), time.perf_counter()
        yield
        self.collect[collector.nodeid] = [_cpu() - cpu, time.perf_counter() - wall]

    def pytest_runtest_logfinish(self, nodeid, location):
        # A long run that is cut short still leaves its report so far (every 30 s of wall).
        if time.perf_counter() - self._last_write > 30:
            self._write(final=False)

    def pytest_sessionfinish(self, session):
        self._write(final=True)

    def _write(self, final):
        self._last_write = time.perf_counter()
        path = (
            self.config.getoption("--cpu-time-report")
            or os.environ.get(_REPORT_ENV)
            or "cpu_time_report.txt"
        )
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        if worker:
            path = f"{path}.{worker}"
        rows = []  # (cpu, wall, kind, name)
        for nodeid, record in self.tests.items():
            rows.append((record["cpu"] - record["fixtures"], record["wall"], "test", nodeid))
        for name, (cpu, wall) in self.fixtures.items():
            rows.append((cpu, wall, "fixture", name))
        for nodeid, (cpu, wall) in self.collect.items():
            rows.append((cpu, wall, "collect", nodeid))
        rows.sort(reverse=True)

        per_file = defaultdict(float)
        for cpu, _, kind, name in rows:
            per_file[name.removeprefix("fixture ").split("::")[0]] += cpu
        per_dir = defaultdict(float)
        for file, cpu in per_file.items():
            per_dir[os.path.dirname(file) or "."] += cpu

        total_cpu = _cpu() - self.start_cpu
        total_wall = time.perf_counter() - self.start_wall
        lines = [
            ("" if final else "PARTIAL (the run is still going or was cut short)\n")
            + f"CPU time report: {len(self.tests)} tests, {total_cpu:.1f} s CPU "
            f"(process + waited-for subprocesses), {total_wall:.1f} s wall",
            "",
            "per directory (CPU s):",
            *(f"{cpu:9.2f}  {d}" for d, cpu in sorted(per_dir.items(), key=lambda kv: -kv[1])),
            "",
            "per file (CPU s):",
            *(f"{cpu:9.2f}  {f}" for f, cpu in sorted(per_file.items(), key=lambda kv: -kv[1])),
            "",
            "tests, wider-scoped fixtures and module collection (CPU s, wall s):",
            *(f"{cpu:9.2f} {wall:9.2f}  {kind:8} {name}" for cpu, wall, kind, name in rows),
        ]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(path + ".json", "w") as f:
            json.dump(
                {
                    "total_cpu": total_cpu,
                    "total_wall": total_wall,
                    "rows": [
                        {"cpu": cpu, "wall": wall, "kind": kind, "name": name}
                        for cpu, wall, kind, name in rows
                    ],
                },
                f,
                indent=1,
            )
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if final and reporter is not None:
            reporter.write_line(f"_cpu_time: {total_cpu:.1f} s CPU, report in {path}")
