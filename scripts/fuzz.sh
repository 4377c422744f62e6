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
#   FUZZ_JOBS     targets run at once (default: the number of CPUs). A
#                 libFuzzer run is one thread, so one at a time would leave
#                 every other core idle; each still gets its FUZZ_SECONDS.
#
# Each run's output goes to fuzz/target/fuzz-logs/TARGET.log; the script
# prints its final stats, or the whole log when the target fails. A crash
# leaves its input in fuzz/artifacts/TARGET/ and the script fails (after the
# other targets have run).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

seconds="${FUZZ_SECONDS:-20}"
seed="${FUZZ_SEED:-1}"
jobs="${FUZZ_JOBS:-$(nproc)}"

# `--dev`: the profile fuzz/Cargo.toml sets for the fuzz targets (optimized,
# 16 codegen units, no debug info), which builds in about half the time of
# cargo-fuzz's default release build (one codegen unit, line tables). The
# binaries go to fuzz/target/x86_64-unknown-linux-gnu/debug/.
# run_target below passes the same flags, so that `cargo fuzz run` finds
# this build up to date.
#
# One cargo invocation for all the targets, so that cargo schedules their
# compilation and links together.
cargo fuzz build --dev --sanitizer none
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

logs=target/fuzz-logs
mkdir -p "$logs"
# One target: run it (cargo fuzz run finds the build above up to date), then
# print its summary. Runs in a child bash of xargs, hence the exports.
run_target() {
    local target=$1 log="$logs/$1.log" status=0 seed_flag=()
    if [ "$seed" != "random" ]; then
        seed_flag=(-seed="$seed")
    fi
    mkdir -p "corpus/$target"
    cargo fuzz run --dev --sanitizer none "$target" "corpus/$target" -- \
        -max_total_time="$seconds" "${seed_flag[@]}" -print_final_stats=1 >"$log" 2>&1 || status=$?
    if [ "$status" -eq 0 ]; then
        # One write, so that targets finishing together do not interleave.
        printf '==> fuzz %s (%ss, seed %s): ok\n%s\n' "$target" "$seconds" "$seed" \
            "$(grep -E '^(Done|stat::)' "$log")"
    else
        printf '==> fuzz %s (%ss, seed %s): FAILED (exit %s), its log:\n%s\n' \
            "$target" "$seconds" "$seed" "$status" "$(cat "$log")"
    fi
    return "$status"
}
export -f run_target
export seconds seed logs

# xargs runs up to $jobs at once and exits non-zero if any target failed.
printf '%s\n' "${targets[@]}" |
    xargs -P "$jobs" -I '{}' bash -c 'run_target "$1"' _ '{}'
