#!/usr/bin/env bash
# A/B timing of two metaplast binaries on this noisy, shared machine: ROUNDS rounds, each
# runs A then B for EPISODES episodes with the same flags; per run the median of the
# `seconds` column (the first 2 episodes left out), per round the ratio B/A, and at the
# end the median ratio. Alternating keeps slow phases of the machine from favouring one.
#
#   tests/bench/ab.sh A_BINARY B_BINARY [ROUNDS [EPISODES [FLAGS...]]]   (7 rounds, 20 episodes)
#
# The data: $METAPLAST_BENCH_DATA, else ../shared/data beside the source tree (EMNIST
# bymerge). Not a test.
set -euo pipefail

die() {
    echo "ab: $*" >&2
    exit 1
}

[ $# -ge 2 ] || die "usage: tests/bench/ab.sh A_BINARY B_BINARY [ROUNDS [EPISODES [FLAGS...]]]"
a=$1 b=$2
rounds=${3:-7} episodes=${4:-20}
shift $(($# < 4 ? $# : 4))
for bin in "$a" "$b"; do [ -x "$bin" ] || die "$bin is not an executable"; done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$rounds'"
[[ $episodes =~ ^[0-9]+$ ]] && ((episodes >= 5)) || die "EPISODES must be an integer >= 5, not '$episodes'"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data=${METAPLAST_BENCH_DATA:-$src/../shared/data}
[ -r "$data/emnist/emnist-bymerge-test-images-idx3-ubyte.gz" ] ||
    die "no EMNIST bymerge in $data/emnist (set METAPLAST_BENCH_DATA)"

# shellcheck source=tests/bench/median.sh
. "$src/tests/bench/median.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_median_ms BINARY FLAGS...: runs it, prints the median episode time in ms
run_median_ms() {
    local bin=$1
    shift
    rm -rf "$tmp/res"
    "$bin" --episodes "$episodes" "$@" --database emnist_bymerge --data_dir "$data" --res "$tmp/res" --gpu_mode 0 \
        >"$tmp/log" 2>&1 || {
        cat "$tmp/log" >&2
        die "$bin failed"
    }
    local csv=("$tmp"/res/*/metrics.csv)
    episode_median_ms "${csv[0]}" 2
}

echo "A: $a"
echo "B: $b"
echo "flags: --episodes $episodes $*"
ratios=()
for r in $(seq "$rounds"); do
    ma=$(run_median_ms "$a" "$@")
    mb=$(run_median_ms "$b" "$@")
    ratio=$(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", b / a }')
    ratios+=("$ratio")
    printf "round %d: A %8.2f ms  B %8.2f ms  B/A %s\n" "$r" "$ma" "$mb" "$ratio"
done
echo "median B/A over $rounds rounds: $(printf "%s\n" "${ratios[@]}" | median)"
