#!/usr/bin/env bash
# The main job: sets up .venv if needed, then runs the demo.
source "$(dirname "$0")/_setup.sh" "examples"
exec .venv/bin/python examples/demo.py "$@"
