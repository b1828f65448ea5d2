# shellcheck shell=bash
# Checks shared by .ci/parallel-test.sh and .ci/slurm-test.sh (sourced; bash).

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

# The rows of metrics.csv in $1 (0 when there is none yet).
rows_of() {
    local n
    n=$( (wc -l <"$1/metrics.csv") 2>/dev/null) || n=1
    [ "$n" -gt 0 ] || n=1
    echo $((n - 1))
}

# Waits until the run in $1 has at least $2 rows (at most $3 seconds).
wait_rows() {
    local deadline=$((SECONDS + $3))
    while [ "$(rows_of "$1")" -lt "$2" ]; do
        [ $SECONDS -lt $deadline ] || fail "$1 did not reach $2 episodes in $3 s"
        sleep 0.02
    done
}

# The run in $1 is complete with episodes 1..$2, each once and in order.
assert_rows_once() {
    awk -F, -v want="$2" 'NR > 1 { n++; if ($1 != n) bad = bad " row " n " is episode " $1 }
        END { if (n != want || bad != "") { print FILENAME ": " n " rows, expected 1.." want bad; exit 1 } }' \
        "$1/metrics.csv" || fail "$1/metrics.csv"
}

# The sweep directory $1 holds exactly the run directories seed_S of the seeds $2 ("1 2 3
# 4"), nothing else that is a directory (one run per seed), each complete with $3 episodes.
assert_one_run_per_seed() {
    local dirs want
    dirs=$(cd "$1" && find . -mindepth 1 -maxdepth 1 -type d | sed 's|^\./||' | sort | tr '\n' ' ')
    want=$(for s in $2; do echo "seed_$s"; done | sort | tr '\n' ' ')
    [ "$dirs" = "$want" ] || fail "$1 holds the directories '$dirs', expected '$want'"
    for s in $2; do assert_rows_once "$1/seed_$s" "$3"; done
}

# The episode after which the last start in log $1 resumed ("resuming after episode k of
# N"), or nothing.
resumed_after() {
    grep -o "resuming after episode [0-9]* of [0-9]*" "$1" | tail -n 1 | awk '{print $4}'
}

# `metaplast --report` over the sweep directory $2 with binary $1, the report written under
# $4: summary.csv must have one group whose runs are the seeds $3 ("1 2 3 4"). Prints
# "report: N seeds aggregated".
check_report() {
    local bin=$1 dir=$2 seeds=$3 res=$4 out report
    out=$("$bin" --report "$dir" --res "$res" 2>&1) || fail "metaplast --report $dir: $out"
    report=$(sed -n 's/^report directory: //p' <<<"$out" | tail -n 1)
    [ -n "$report" ] && [ -r "$report/summary.csv" ] || fail "metaplast --report $dir: no summary.csv: $out"
    python3 - "$report/summary.csv" "$seeds" <<'EOF' || fail "$report/summary.csv"
import csv, sys
path, want = sys.argv[1], sys.argv[2].split()
with open(path, newline="") as f:
    reader = csv.DictReader(f)
    missing = [c for c in ("group", "runs", "seeds") if c not in (reader.fieldnames or [])]
    rows = list(reader)
if missing:
    sys.exit(f"{path}: no column {', '.join(missing)} (columns: {reader.fieldnames})")
if len(rows) != 1:
    sys.exit(f"{path}: {len(rows)} groups, expected 1 (the seeds differ in --seed only)")
row = rows[0]
seeds = sorted(row["seeds"].split(), key=int)
if row.get("unfinished", "0") not in ("", "0"):
    sys.exit(f"{path}: group {row['group']}: {row['unfinished']} unfinished runs (seeds {row.get('unfinished_seeds')})")
if int(row["runs"]) != len(want) or seeds != sorted(want, key=int):
    sys.exit(f"{path}: group {row['group']}: runs {row['runs']}, seeds '{row['seeds']}'; expected {len(want)}, '{' '.join(want)}'")
print(f"report: {row['runs']} seeds aggregated (group {row['group']}: seeds {' '.join(seeds)}; {path})")
EOF
}
