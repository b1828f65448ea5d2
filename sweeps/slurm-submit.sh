#!/usr/bin/env bash
# Submits sweeps/slurm.sbatch as a job array, one task per seed.
#
#   sweeps/slurm-submit.sh [options] -- [metaplast flags]
#
#   --seeds LIST    the array's indices = the seeds: 1-4, 1,3,5, 1-8%2 (sbatch --array's
#                   syntax; %N runs at most N at a time) (default 1-4)
#   --threads N     metaplast's --threads per task, 1 or 2 (default 1), also the CPUs each
#                   task asks for (--cpus-per-task)
#   --res DIR       results root (default results)
#   --name NAME     the sweep's name (default sweep): seed S runs in RES/NAME/seed_S and
#                   logs to RES/NAME/metaplast_<job>_<S>.log (%x_%A_%a)
#   --bin PATH      the metaplast binary (default $METAPLAST_BIN, else build/metaplast of
#                   this checkout); it must be reachable at this path on the nodes
#   --sbatch ARG    an extra sbatch option, e.g. --sbatch --partition=long (repeatable)
#   -h, --help      this text
#
# Prints "array submitted: job N" (N the array's job id). Submitting the same command again
# skips the seeds that are complete and resumes the others (see slurm.sbatch).
set -euo pipefail

self=$(readlink -f "$0")
here=$(dirname "$self")
usage() { sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$self"; }
die() { echo "sweeps/slurm-submit.sh: $*" >&2; exit 2; }

seeds=1-4 threads=1 res=results name=sweep bin=${METAPLAST_BIN:-$here/../build/metaplast} extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --seeds | --threads | --res | --name | --bin | --sbatch)
        [ $# -ge 2 ] || die "$1: missing value"
        case $1 in
        --seeds) seeds=$2 ;; --threads) threads=$2 ;; --res) res=$2 ;; --name) name=$2 ;; --bin) bin=$2 ;;
        --sbatch) extra+=("$2") ;;
        esac
        shift 2
        ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (metaplast's flags go after --; see --help)" ;;
    esac
done
[[ $seeds =~ ^[0-9,%-]+$ ]] || die "--seeds: '$seeds' is not an array list (e.g. 1-4 or 1,3,5)"
[[ $threads =~ ^[12]$ ]] || die "--threads: '$threads' is not 1 or 2"
[[ -n $name && $name != */* && $name != . && $name != .. ]] || die "--name: '$name' must be one path component"
[ -n "$res" ] || die "--res: must not be empty"
# refused here, before the array queues, as slurm.sbatch would refuse them in every task
# shellcheck source=sweeps/own-flags.sh
. "$here/own-flags.sh"
for f in "$@"; do
    ! sweep_own_flag "$f" ||
        die "metaplast flag '$f': each array task gets --seed \$SLURM_ARRAY_TASK_ID, --threads and --run_dir" \
            "RES/NAME/seed_S from this script (set them with --seeds, --threads, --res and --name)"
done
[ -x "$bin" ] || die "--bin: '$bin' is not an executable (build it: cmake -B build && cmake --build build -j2)"
command -v sbatch >/dev/null || die "sbatch is not installed (apt-get install slurm-client, or run on a login node)"

mkdir -p "$res/$name" # sbatch writes the logs there, and does not create it
dir=$(cd "$res/$name" && pwd)
job=$(METAPLAST_BIN=$(readlink -f "$bin") SWEEP_DIR=$dir SWEEP_THREADS=$threads \
    sbatch --parsable --array="$seeds" --cpus-per-task="$threads" --output="$dir/%x_%A_%a.log" \
    "${extra[@]}" "$here/slurm.sbatch" "$@")
echo "array submitted: job ${job%%;*} (seeds $seeds, in $dir)"
