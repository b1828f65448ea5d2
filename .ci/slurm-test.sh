#!/usr/bin/env bash
# CI: the Slurm recipe (sweeps/slurm-submit.sh, sweeps/slurm.sbatch) for real, on a
# single-node Slurm brought up here from Debian's packages: munged, slurmctld and slurmd
# started by hand (no systemd), every file of theirs (keys, sockets, state, spool, logs,
# pid files) in a temporary directory, on free ports, so nothing of the machine's own
# configuration is used or changed. A 4-task array runs (seed = task index); task 2 is
# requeued mid-run (scontrol requeue) and must resume its own run directory, not start
# again; every seed ends with one run directory holding each episode once; the report
# aggregates the 4 seeds. The daemons are stopped by their pid files on every exit.
#
#   .ci/slurm-test.sh [BINARY [DATA_DIR]]   (default build/metaplast, ../shared/data)
#
# Needs root (slurmd starts jobs as their user). No slurmdbd, so no sacct: the waiting is
# done with squeue.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/sweep-checks.sh

bin=$(readlink -f "${1:-build/metaplast}")
data_dir=$(readlink -f "${2:-../shared/data}")
episodes=120 # about 3 s a task: the requeue lands mid-run
t_start=$SECONDS

[ "$(id -u)" = 0 ] || fail "the Slurm test needs root (slurmd runs the jobs as their user)"
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
    ! command -v munged >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge >/dev/null
    echo "slurm: installed slurm-wlm and munge ($((SECONDS - t_start)) s)"
fi

tmp=$(mktemp -d /tmp/metaplast-slurm.XXXXXX)
chmod 755 "$tmp" # munged and the job's user must reach what is inside
export SLURM_CONF=$tmp/slurm.conf

# Ends the daemon whose pid file is $1 and waits for it (a zombie counts as gone: its
# parent, not we, reaps it).
stop_daemon() {
    local pid
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        case $(ps -o stat= -p "$pid" 2>/dev/null) in "" | Z*) return 0 ;; esac
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}
show_logs() {
    for f in "$tmp/slurmctld.log" "$tmp/slurmd.log" "$tmp/munge/munged.log"; do
        [ -r "$f" ] && { echo "--- $f (last 20 lines)"; tail -n 20 "$f"; }
    done
}
cleanup() {
    local status=$?
    [ $status = 0 ] || show_logs >&2
    if [ -s "$tmp/slurmctld.pid" ]; then # a failure may leave tasks running: end them first
        scancel --quiet --user=root 2>/dev/null || true
        for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
    fi
    stop_daemon "$tmp/slurmd.pid"
    stop_daemon "$tmp/slurmctld.pid"
    stop_daemon "$tmp/munge/munged.pid"
    echo "slurm: daemons stopped"
    rm -rf "$tmp"
}
trap cleanup EXIT

# munge: its own key, socket, pid and log files; munged runs as the munge user and insists
# that the key's directory is private and the socket's reachable by all
t0=$SECONDS
mkdir "$tmp/munge" "$tmp/munge-run"
chown munge:munge "$tmp/munge" "$tmp/munge-run"
chmod 700 "$tmp/munge"
chmod 755 "$tmp/munge-run"
runuser -u munge -- mungekey --create --keyfile="$tmp/munge/munge.key"
runuser -u munge -- munged --key-file="$tmp/munge/munge.key" --socket="$tmp/munge-run/munge.socket" \
    --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed"
munge -S "$tmp/munge-run/munge.socket" -n | unmunge -S "$tmp/munge-run/munge.socket" >/dev/null ||
    fail "munged does not answer on $tmp/munge-run/munge.socket"

# two free ports, so that another Slurm on this machine is no obstacle
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }
    done
}
ctld_port=$(free_port)
slurmd_port=$(free_port)
while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
host=$(hostname -s)
node=$(slurmd -C | head -n 1) # NodeName=host CPUs=... RealMemory=...: what this machine has
mkdir "$tmp/state" "$tmp/spool"
# SlurmUser=root: slurmctld runs as the user that starts it. cred_expire=5: a requeued job
# waits cred_expire + 1 s before it may start (120 s by default). bf_interval=1: the
# scheduler looks at pending jobs every second.
cat >"$SLURM_CONF" <<EOF
ClusterName=metaplast-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge-run/munge.socket,cred_expire=5
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1
MpiDefault=none
ReturnToService=2
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld
slurmd
deadline=$((SECONDS + 30))
until [ "$(sinfo -h -n "$host" -o %T 2>/dev/null)" = idle ]; do
    [ $SECONDS -lt $deadline ] || fail "the node $host is not idle after 30 s: $(sinfo 2>&1)"
    sleep 0.1
done
echo "slurm: munged, slurmctld (port $ctld_port), slurmd (port $slurmd_port) up, node $host idle ($((SECONDS - t0)) s): $node"

# the array: 4 seeds
t0=$SECONDS
res=$tmp/res
dir=$res/slurm
out=$(sweeps/slurm-submit.sh --seeds 1-4 --res "$res" --name slurm --bin "$bin" -- \
    --database emnist_bymerge --data_dir "$data_dir" --gpu_mode 0 --episodes $episodes)
job=$(sed -n 's/^array submitted: job \([0-9][0-9]*\).*/\1/p' <<<"$out")
[ -n "$job" ] || fail "slurm-submit.sh: $out"
echo "array submitted: job $job"

# task 2, mid-run: requeued once its run has 5 episodes
wait_rows "$dir/seed_2" 5 60
scontrol requeue "${job}_2"
k0=$(rows_of "$dir/seed_2")
echo "slurm: task ${job}_2 requeued at episode $k0 of $episodes"

deadline=$((SECONDS + 150))
while [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || { squeue; fail "the array is not done after 150 s"; }
    sleep 0.2
done
echo "slurm: array $job done ($((SECONDS - t0)) s)"

log=$dir/metaplast_${job}_2.log
[ -r "$log" ] || fail "no log $log (%x_%A_%a): $(ls "$dir")"
starts=$(grep -c "^== task ${job}_2 " "$log")
[ "$starts" = 2 ] || { cat "$log"; fail "task ${job}_2 started $starts times, expected 2 (once, then once requeued)"; }
grep -q "DUE TO JOB REQUEUE" "$log" || fail "$log does not show the requeue"
stopped=$(sed -n 's/.*stopped by signal SIGTERM after episode \([0-9]*\) .*/\1/p' "$log")
k=$(resumed_after "$log")
[ -n "$stopped" ] && [ "$k" = "$stopped" ] && [ "$k" -gt 0 ] && [ "$k" -lt $episodes ] ||
    { cat "$log"; fail "task ${job}_2 should stop after an episode k > 0 and resume after k (stopped '$stopped', resumed '$k')"; }
for s in 1 3 4; do
    [ "$(grep -c "^== task ${job}_$s " "$dir/metaplast_${job}_$s.log")" = 1 ] || fail "task ${job}_$s started more than once"
done
assert_one_run_per_seed "$dir" "1 2 3 4" $episodes
echo "task ${job}_2 requeued after episode $k; resumed from episode $k"
echo "slurm: one run directory per seed, each with episodes 1..$episodes once"

check_report "$bin" "$dir" "1 2 3 4" "$tmp/reports"
echo "slurm: passed in $((SECONDS - t_start)) s"
