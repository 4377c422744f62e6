#!/usr/bin/env bash
# Builds every cargo-fuzz target and runs each for a bounded time on the
# stable toolchain (`--sanitizer none`). Installs cargo-fuzz if missing.
#
#   bash scripts/fuzz.sh [TARGET...]
#
#   FUZZ_SECONDS  seconds per target (default 20)
#   FUZZ_SEED     libFuzzer seed (default 1, so that a CI run repeats the
#                 same inputs and a failure reproduces); "random" lets
#                 libFuzzer pick one, for long exploratory runs.
#
# A crash leaves its input in fuzz/artifacts/TARGET/ and the script fails.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

seconds="${FUZZ_SECONDS:-20}"
seed="${FUZZ_SEED:-1}"
seed_flag=()
if [ "$seed" != "random" ]; then
    seed_flag=(-seed="$seed")
fi

cargo fuzz build --sanitizer none
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi
for target in "${targets[@]}"; do
    printf '\n==> fuzz %s (%ss, seed %s)\n' "$target" "$seconds" "$seed"
    mkdir -p "corpus/$target"
    cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" "${seed_flag[@]}" -print_final_stats=1
done
