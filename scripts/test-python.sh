#!/usr/bin/env bash
# The Python package's tests (python/), run by scripts/test.sh: a virtual
# environment under target/python/venv (made once, reused) gets maturin,
# pytest, mypy and the Anthropic SDK from PyPI; the wheel is built (debug,
# in the shared target directory) and installed into it; pytest runs
# python/tests/ against the installed wheel. Re-runs reuse the environment
# and cargo's incremental build: with nothing changed they take seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

PY_DIR=target/python
VENV=$PY_DIR/venv
# Pinned so that a run today and a run next month test the same thing.
PY_REQUIREMENTS="maturin==1.16.0 pytest==9.2.0 mypy==2.4.1 anthropic==2.17.0"
if [[ ! -x $VENV/bin/python ]]; then
    python3 -m venv "$VENV"
fi
if [[ "$(cat "$VENV/.requirements" 2>/dev/null)" != "$PY_REQUIREMENTS" ]]; then
    # shellcheck disable=SC2086 # one word per requirement
    "$VENV/bin/pip" install --quiet --disable-pip-version-check $PY_REQUIREMENTS
    echo "$PY_REQUIREMENTS" >"$VENV/.requirements"
fi

rm -rf "$PY_DIR/wheels"
"$VENV/bin/maturin" build --quiet -m python/Cargo.toml --out "$PY_DIR/wheels"
WHEEL=$(echo "$PY_DIR"/wheels/dreamwork-*.whl)
SUM=$(sha256sum "$WHEEL" | cut -d' ' -f1)
if [[ "$(cat "$VENV/.wheel" 2>/dev/null)" != "$SUM" ]]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall "$WHEEL"
    echo "$SUM" >"$VENV/.wheel"
fi
DREAMWORK_WHEEL=$PWD/$WHEEL "$VENV/bin/python" -m pytest -q python/tests
