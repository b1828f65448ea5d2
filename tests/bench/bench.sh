#!/usr/bin/env bash
# Benchmark of issue 5: metaplast's time per episode against this machine's roofline
# (one single-thread cblas_sgemv pass through the five weight matrices of the default
# network), and its peak memory against the dataset's own bytes.
#
#   tests/bench/bench.sh [BUILD_DIR]        (default: build/ in the source tree)
#   cmake --build build --target bench      (the same, after building what it needs)
#
# BUILD_DIR must hold metaplast, make_test_data and roofline. The data: the directory in
# $METAPLAST_BENCH_DATA if set (it must hold emnist/ with EMNIST bymerge), else
# ../shared/data beside the source tree if it holds EMNIST bymerge, else a small fake
# database that make_test_data writes into a temporary directory (then the figures only
# show that the benchmark works, and --K 200 is skipped: it needs 210 images per class).
#
# Per configuration: ms/episode is the median of the run's own per-episode timer (the
# `seconds` column of metrics.csv: no start-up, no data loading), the first 2 episodes
# left out as warm-up; peak MiB is the maximum resident set size from GNU time.
# Not a test (ctest never runs it): speed depends on the machine and its load.
set -euo pipefail

readonly WARMUP_EPISODES=2
readonly IMAGES=emnist-bymerge-test-images-idx3-ubyte.gz
readonly CLASSES=47 # of emnist_bymerge

die() {
    echo "bench: $*" >&2
    exit 1
}

[ $# -le 1 ] || die "usage: tests/bench/bench.sh [BUILD_DIR]"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$src/build}
[ -d "$build" ] || die "no build directory $build: cmake -S $src -B $build && cmake --build $build"
build=$(cd "$build" && pwd)
for prog in metaplast make_test_data roofline; do
    [ -x "$build/$prog" ] || die "$build/$prog is missing: cmake --build $build"
done
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) is missing: apt-get install time"

# shellcheck source=tests/bench/median.sh
. "$src/tests/bench/median.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- data --------------------------------------------------------------------
if [ -n "${METAPLAST_BENCH_DATA:-}" ]; then
    data=$METAPLAST_BENCH_DATA
    [ -r "$data/emnist/$IMAGES" ] || die "METAPLAST_BENCH_DATA=$data has no emnist/$IMAGES"
    data_kind="given by METAPLAST_BENCH_DATA"
elif [ -r "$src/../shared/data/emnist/$IMAGES" ]; then
    data=$(cd "$src/../shared/data" && pwd)
    data_kind="EMNIST bymerge beside the source tree"
else
    data=$tmp/data
    "$build/make_test_data" "$data" >/dev/null
    data_kind="FAKE data from make_test_data (EMNIST is not in $src/../shared/data): figures not comparable"
fi
# IDX header: magic (0 0 8 3), then count, rows, cols as big-endian 32-bit integers
read -r -a hdr < <(od -An -tu1 -N16 < <(gzip -dc "$data/emnist/$IMAGES" 2>/dev/null))
if [ "${#hdr[@]}" -ne 16 ] || [ "${hdr[2]}" -ne 8 ] || [ "${hdr[3]}" -ne 3 ]; then
    die "$data/emnist/$IMAGES is not a gzipped IDX file of bytes with 3 dimensions"
fi
be32() { echo $(((hdr[$1] << 24) | (hdr[$1 + 1] << 16) | (hdr[$1 + 2] << 8) | hdr[$1 + 3])); }
count=$(be32 4) rows=$(be32 8) cols=$(be32 12)
data_bytes=$((count * rows * cols))

# --- machine -----------------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
echo "== metaplast benchmark (issue 5), $(date '+%Y-%m-%d %H:%M:%S')"
echo "machine:  $(nproc) cores, ${cpu:-unknown CPU}"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: figures are noisy)"
echo "source:   $src at $(git -C "$src" describe --always --dirty 2>/dev/null || echo 'unknown revision')"
echo "build:    $build${build_type:+ ($build_type)}"
echo "data:     $data: $data_kind"
echo "          $count images of ${rows}x${cols} = $data_bytes bytes of pixels"

# --- roofline ----------------------------------------------------------------
"$build/roofline" | tee "$tmp/roofline.txt"
roof_us=$(sed -n 's/^roofline 1 thread: \([0-9.]*\) us$/\1/p' "$tmp/roofline.txt")
[ -n "$roof_us" ] || die "roofline printed no 1-thread figure"

# --- metaplast, one configuration at a time ----------------------------------
# run ID EPISODES FLAGS...: runs metaplast, sets ms[ID], mk[ID] (= M*K) and rss_kb[ID]
declare -A ms mk rss_kb wall
run() {
    local id=$1 episodes=$2
    shift 2
    echo "running:  metaplast --episodes $episodes $* ..."
    /usr/bin/time -v -o "$tmp/$id.time" "$build/metaplast" --episodes "$episodes" "$@" \
        --database emnist_bymerge --data_dir "$data" --res "$tmp/res" --test_name "$id" \
        --gpu_mode 0 >"$tmp/$id.log" 2>&1 || {
        cat "$tmp/$id.log" >&2
        die "metaplast failed on: $*"
    }
    local dir
    dir=$(find "$tmp/res/$id" -mindepth 1 -maxdepth 1 -type d)
    ms[$id]=$(episode_median_ms "$dir/metrics.csv" "$WARMUP_EPISODES") ||
        die "$dir/metrics.csv has no 'seconds' column or too few episodes"
    local M K
    M=$(sed -n 's/^M : //p' "$dir/args.txt")
    K=$(sed -n 's/^K : //p' "$dir/args.txt")
    mk[$id]=$((M * K))
    rss_kb[$id]=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tmp/$id.time")
    wall[$id]=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$tmp/$id.time")
}

run default 30 --fbk fix
run vec12 40 --fbk fix --vec 1 2
run sym 30 --fbk sym
# what the second core buys (--threads 2 is the default; the numbers are the same)
run default1 20 --fbk fix --threads 1
run vec12_1 20 --fbk fix --vec 1 2 --threads 1
# the rule pool: each new term with the pseudo-gradient, and all ten
for k in 3 4 5 6 7 8 9; do run "term$k" 20 --fbk fix --vec "$k"; done
run pool 20 --fbk fix --vec 1 2 3 4 5 6 7 8 9
if ((count >= CLASSES * 210)); then
    run k200 15 --fbk fix --K 200
else
    echo "skipped:  --K 200 needs K+Q = 210 images per class; this database has $count images for $CLASSES classes"
fi

# the meta-test: the three rules above judged on 30 test tasks, the curve at its default
# step. Its cost per task and rule = the judging loop's wall time / (tasks x rules), as
# --eval prints it (two tasks at a time with --threads 2, as training uses two threads);
# latency = the median of tasks.csv's `seconds` (one rule adapting to one task, one thread)
declare -A eval_ms eval_lat
echo "running:  metaplast --eval (the default, --vec 1 2 and sym runs) --eval_tasks 30, each rule alone ..."
for id in default vec12 sym; do
    "$build/metaplast" --eval "$(find "$tmp/res/$id" -mindepth 1 -maxdepth 1 -type d)" --eval_tasks 30 \
        --res "$tmp/eval_$id" >"$tmp/eval_$id.log" 2>&1 || {
        cat "$tmp/eval_$id.log" >&2
        die "metaplast --eval failed"
    }
    eval_ms[$id]=$(sed -n 's/^judged .*: \([0-9.]*\) ms per task and rule.*/\1/p' "$tmp/eval_$id.log")
    [ -n "${eval_ms[$id]}" ] || die "metaplast --eval printed no time per task"
    eval_lat[$id]=$(awk -F, 'NR > 1 { print $8 * 1000 }' "$(find "$tmp/eval_$id" -name tasks.csv)" | sort -g |
        awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
done

if [ "$data_kind" = "${data_kind#FAKE}" ]; then
    run full600 600 --fbk fix
else
    echo "skipped:  the whole 600-episode run (fake data)"
fi

# --- table -------------------------------------------------------------------
# row ID LABEL PASSES_TARGET MEM_TARGET: one line; a target "-" is not judged
row() {
    local id=$1 label=$2 ptarget=$3 mtarget=$4
    awk -v label="$label" -v ms="${ms[$id]}" -v mk="${mk[$id]}" -v roof="$roof_us" \
        -v kb="${rss_kb[$id]}" -v data="$data_bytes" -v pt="$ptarget" -v mt="$mtarget" '
        function judge(v, t) { return t == "-" ? "" : v <= t ? "met" : "MISSED" }
        BEGIN {
            passes = ms * 1000 / (mk * roof)
            peak = kb / 1024; beyond = (kb * 1024 - data) / 1048576
            line = sprintf("%-20s %10.2f %13.1f  %-4s %-6s %8.1f %15.1f  %-4s %s", label, ms, passes,
                           pt == "-" ? "" : "<=" pt, judge(passes, pt), peak, beyond,
                           mt == "-" ? "" : "<=" mt, judge(beyond, mt))
            sub(/ +$/, "", line)
            print line
        }'
}
echo
echo "passes/sample = ms/episode / (M*K * $roof_us us); MiB beyond data = peak - $data_bytes bytes"
printf "%-20s %10s %13s  %-11s %8s %15s  %s\n" configuration ms/episode passes/sample target \
    "peak MiB" "MiB beyond data" target
row default "--fbk fix (default)" 10 32
row vec12 "--fbk fix --vec 1 2" 14 -
row sym "--fbk sym" 10 -
row default1 "--fbk fix --threads 1" - -
row vec12_1 "--vec 1 2 --threads 1" - -
for k in 3 4 5 6 7 8 9; do row "term$k" "--fbk fix --vec $k" 14 -; done
row pool "--vec all (the pool)" 25 -
if [ -n "${ms[k200]:-}" ]; then
    row k200 "--fbk fix --K 200" - -
    awk -v a="${ms[k200]}" -v b="${ms[default]}" -v ka="${rss_kb[k200]}" -v kb="${rss_kb[default]}" \
        -v steps=$((mk[k200] - mk[default])) 'BEGIN {
        printf "cost in T:   K=200 / default = %.2fx ms/episode (target: about 4x, linear in T)\n", a / b
        printf "memory in T: K=200 - default = %+.1f MiB peak (target: flat in T, or vectors per step;\n", (ka - kb) / 1024
        printf "             the weights per step of %d more steps would be %+.0f MiB)\n", steps, steps * 178670 * 4 / 1048576 }'
fi
echo
echo "meta-test (--eval, curve every 25 samples): one rule on one task against one training episode"
echo "of the same rule and size (target: at most 1x; no reverse sweep to pay for)"
printf "%-20s %12s %16s %8s %s\n" rule "ms/task" "ms/episode" ratio "  (latency: one task, 1 thread)"
for id in default vec12 sym; do
    awk -v label="$id" -v e="${eval_ms[$id]}" -v t="${ms[$id]}" -v l="${eval_lat[$id]}" 'BEGIN {
        printf "%-20s %12.2f %16.2f %7.2fx %-6s   (%.2f ms)\n", label, e, t, e / t, e <= t ? "met" : "MISSED", l }'
done
echo
awk -v ms="${ms[default]}" 'BEGIN {
    printf "600 default episodes: %.1f s of episode time (median x 600)\n", 600 * ms / 1000 }'
if [ -n "${wall[full600]:-}" ]; then
    echo "a whole 600-episode default run: ${wall[full600]} (m:ss) wall, data loading and plots included" \
        "(target: under 15 s)"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
