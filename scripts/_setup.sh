# Sourced by demo.sh and test.sh: creates .venv and installs lamina with the given extras,
# once per version of pyproject.toml. Needs only Python 3.11+ and the package registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
extras="$1"
python_bin="${PYTHON:-python3}"
if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "lamina needs Python 3.11 or newer; $python_bin is $("$python_bin" --version 2>&1)." >&2
  echo "Run with PYTHON=/path/to/python3.11 $0" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  echo "Setting up .venv (lamina[${extras}])..." >&2
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[${extras}]"
  touch "$stamp"
fi
