#!/usr/bin/env bash
# The test suite: sets up .venv with the test extras if needed, then runs pytest.
source "$(dirname "$0")/_setup.sh" "test"
exec .venv/bin/python -m pytest "$@"
