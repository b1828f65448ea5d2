#!/usr/bin/env bash
# CI: the GNU parallel recipe (sweeps/parallel.sh) for real: 4 seeds, 2 at a time; one seed
# is stopped by SIGTERM mid-run, so the sweep reports it unfinished; the same command again
# resumes that seed (its log says after which episode) and finds the other three complete;
# a third time does nothing but say so. Every seed has one run directory with each episode
# once, and the report aggregates the 4 seeds.
#
#   .ci/parallel-test.sh [BINARY [DATA_DIR]]   (default build/metaplast, ../shared/data)
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/sweep-checks.sh

bin=$(readlink -f "${1:-build/metaplast}")
data_dir=${2:-../shared/data}
episodes=120 # long enough (about 3 s a seed) for the SIGTERM to land mid-run

if ! command -v parallel >/dev/null; then
    [ "$(id -u)" = 0 ] || fail "GNU parallel is not installed, and installing it needs root"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends parallel >/dev/null
fi
tmp=$(mktemp -d)
sweep_pid=""
cleanup() {
    [ -z "$sweep_pid" ] || kill "$sweep_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

t0=$SECONDS
flags=(--database emnist_bymerge --data_dir "$data_dir" --gpu_mode 0 --episodes "$episodes")
sweep=(sweeps/parallel.sh --seeds 1-4 --jobs 2 --res "$tmp/res" --name par --bin "$bin" -- "${flags[@]}")
dir=$tmp/res/par

"${sweep[@]}" >"$tmp/first.txt" 2>&1 &
sweep_pid=$!
wait_rows "$dir/seed_2" 5 60
victim=$(cat "$dir/seed_2/lock") # the pid of the process that writes the run
kill -TERM "$victim"
k0=$(rows_of "$dir/seed_2")
status=0
wait "$sweep_pid" || status=$?
sweep_pid=""
cat "$tmp/first.txt"
[ $status = 1 ] || fail "the sweep with a stopped seed exited $status, expected 1"
grep -q "^seed 2: FAILED: exit 143" "$tmp/first.txt" || fail "the sweep should report seed 2's exit 143"
echo "parallel: seed 2 (pid $victim) stopped by SIGTERM after episode $k0 or so; the sweep exited 1"

"${sweep[@]}" >"$tmp/second.txt" 2>&1 || { cat "$tmp/second.txt"; fail "the rerun of the sweep failed"; }
cat "$tmp/second.txt"
k=$(resumed_after "$dir/seed_2.log")
[ -n "$k" ] && [ "$k" -ge "$k0" ] && [ "$k" -lt $episodes ] ||
    fail "seed 2's log should say it resumed after episode $k0..$((episodes - 1)), says '${k}'"
for s in 1 3 4; do
    grep -q "^seed $s: complete already" "$tmp/second.txt" || fail "the rerun should find seed $s complete"
done
assert_one_run_per_seed "$dir" "1 2 3 4" $episodes
echo "parallel: rerun: seed 2 resumed from episode $k; seeds 1, 3, 4 complete already; each episode once"

t1=$SECONDS
"${sweep[@]}" >"$tmp/third.txt" 2>&1 || { cat "$tmp/third.txt"; fail "the third run of the sweep failed"; }
[ "$(grep -c "complete already" "$tmp/third.txt")" = 4 ] || { cat "$tmp/third.txt"; fail "the third run should find 4 seeds complete"; }
echo "parallel: third run: 4 seeds complete already ($((SECONDS - t1)) s)"

check_report "$bin" "$dir" "1 2 3 4" "$tmp/reports"
echo "parallel: passed in $((SECONDS - t0)) s"
