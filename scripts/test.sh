#!/usr/bin/env bash
# The test suite: sets up .venv with the test extras if needed, then runs pytest.
source "$(dirname "$0")/_setup.sh" "test"
# Two worker processes: the suite compiles many small XLA programs, which parallelizes well.
if [ "$#" -eq 0 ]; then
  set -- -n 2
fi
exec .venv/bin/python -m pytest "$@"
