#!/usr/bin/env bash
# Set up the project on a fresh machine: a .venv from a Python 3.12 interpreter, with the extension
# installed in editable mode together with its test extras (Isaac Lab 3.0.0 and its pinned stack).
#   usage: bash scripts/setup.sh            (PYTHON=/path/to/python3.12 to choose the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."

is_python312() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; }

find_python312() {
    local candidate
    for candidate in "${PYTHON:-}" python3.12 python3 python; do
        if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 && is_python312 "$candidate"; then
            command -v "$candidate"; return 0
        fi
    done
    # pyenv keeps every installed version even when another one is selected
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if [ -x "$candidate" ] && is_python312 "$candidate"; then echo "$candidate"; return 0; fi
    done
    if command -v uv >/dev/null 2>&1 && candidate=$(uv python find 3.12 2>/dev/null) && is_python312 "$candidate"; then
        echo "$candidate"; return 0
    fi
    return 1
}

if ! python=$(find_python312); then
    echo "error: no Python 3.12 interpreter found (Isaac Lab 3.0.0 needs exactly 3.12)." >&2
    echo "Install one (pyenv install 3.12, uv python install 3.12, or your OS package python3.12)" >&2
    echo "and rerun, or point to it: PYTHON=/path/to/python3.12 bash scripts/setup.sh" >&2
    exit 1
fi
echo "Using $python ($("$python" --version))"
[ -x .venv/bin/python ] && is_python312 .venv/bin/python || "$python" -m venv --clear .venv
.venv/bin/python -m pip install --disable-pip-version-check -q -e ".[test]"
echo "Set up: .venv is ready. Run the tests with: .venv/bin/python -m pytest"
