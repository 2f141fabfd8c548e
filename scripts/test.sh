#!/usr/bin/env bash
# The test suite: sets up .venv with the test extras if needed, then runs pytest.
source "$(dirname "$0")/_setup.sh" "test"
# Two worker processes: the suite compiles many small XLA programs, which parallelizes well.
# Work stealing keeps both busy to the end: a few tests (the demo, the examples, Keras
# interop) take 10-50 s each, and with fixed shares one worker idled while the other ran
# them (8m20s -> 7m10s on 2 cores).
if [ "$#" -eq 0 ]; then
  set -- -n 2 --dist worksteal
fi
exec .venv/bin/python -m pytest "$@"
