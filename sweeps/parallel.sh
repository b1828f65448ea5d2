#!/usr/bin/env bash
# A seed sweep on one machine with GNU parallel (Debian's `parallel`).
#
#   sweeps/parallel.sh [options] -- [metaplast flags]
#
#   --seeds LIST    seeds to run: 1-4, 1,3,5, 1-3,7 (default 1-4)
#   --jobs N        seeds run at a time (default: the CPUs this process may use, divided
#                   by --threads)
#   --threads N     metaplast's --threads for each seed, 1 or 2 (default 1: one process
#                   per core)
#   --res DIR       results root (default results)
#   --name NAME     the sweep's name (default sweep): seed S runs in RES/NAME/seed_S
#   --bin PATH      the metaplast binary (default $METAPLAST_BIN, else build/metaplast of
#                   this checkout)
#   -h, --help      this text
#
# Everything after `--` goes to every seed's metaplast, which gets --seed S, --threads and
# --run_dir RES/NAME/seed_S besides (so those flags, --res, --test_name and --resume are not
# allowed there). Each seed's output (stdout and stderr, every start of it appended, each
# start headed by a "== seed S: start" line) is in RES/NAME/seed_S.log; the console gets one
# line per seed as it ends.
#
# Rerunning the same command is safe and is how a sweep is finished: a seed whose run is
# complete exits 0 without training, an interrupted one (Ctrl-C, a kill, a reboot)
# resumes from its last finished episode, to the same numbers, and a seed never run
# starts. A seed whose run
# is in use by another process (this sweep started twice) fails with exit 1, leaving that
# run alone. The number-changing flags must stay the same between reruns (metaplast refuses
# a seed otherwise, exit 2, naming the flag).
#
# Exit status: 0 when every seed's metaplast exited 0, else 1 (the console lines and the
# logs say which did not); 2 for a usage error of this script.
set -uo pipefail

self=$(readlink -f "$0")
here=$(dirname "$self")

usage() { sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$self"; }
die() { echo "sweeps/parallel.sh: $*" >&2; exit 2; }

# One seed (run by parallel, through this script; the settings come in the environment).
if [ "${1:-}" = --run-one ]; then
    seed=$2
    dir=$SWEEP_DIR/seed_$seed
    log=$SWEEP_DIR/seed_$seed.log
    eval "flags=($SWEEP_FLAGS)" # printf %q's quoting: each flag as it was given
    offset=$(stat -c %s "$log" 2>/dev/null || echo 0)
    echo "== seed $seed: start $(date '+%F %T') on $(hostname), pid $$: $SWEEP_BIN ${flags[*]} --seed $seed" \
        "--threads $SWEEP_THREADS --run_dir $dir" >>"$log"
    "$SWEEP_BIN" "${flags[@]}" --seed "$seed" --threads "$SWEEP_THREADS" --run_dir "$dir" >>"$log" 2>&1
    status=$?
    echo "== seed $seed: exit $status $(date '+%F %T')" >>"$log"
    this_start=$(tail -c +$((offset + 1)) "$log")
    if [ $status = 0 ] && grep -q "^the run in .* is complete" <<<"$this_start"; then
        what="complete already"
    elif [ $status = 0 ] && k=$(grep -o "resuming after episode [0-9]* of [0-9]*" <<<"$this_start"); then
        what="done (${k})"
    elif [ $status = 0 ]; then
        what="done"
    else
        last=$(grep -v '^== ' <<<"$this_start" | tail -n 1)
        what="FAILED: exit $status; last line: ${last:-(no output)}"
    fi
    echo "seed $seed: $what ($log)"
    exit $status
fi

seeds=1-4 jobs="" threads=1 res=results name=sweep bin=${METAPLAST_BIN:-$here/../build/metaplast}
while [ $# -gt 0 ]; do
    case $1 in
    --seeds | --jobs | --threads | --res | --name | --bin)
        [ $# -ge 2 ] || die "$1: missing value"
        opt=${1#--} value=$2
        shift 2
        case $opt in
        seeds) seeds=$value ;; jobs) jobs=$value ;; threads) threads=$value ;;
        res) res=$value ;; name) name=$value ;; bin) bin=$value ;;
        esac
        ;;
    --seeds=* | --jobs=* | --threads=* | --res=* | --name=* | --bin=*)
        opt=${1%%=*} value=${1#*=}
        shift
        set -- "$opt" "$value" "$@"
        ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (metaplast's flags go after --; see --help)" ;;
    esac
done
flags=("$@")

# the seeds: comma-separated integers and ranges a-b
seed_list=()
IFS=, read -ra parts <<<"$seeds"
for p in "${parts[@]}"; do
    if [[ $p =~ ^-?[0-9]+$ ]]; then
        # canonical: 01 and 1 are one seed (one run directory, seed_1), and -0 is 0
        p=$(sed -E 's/^(-?)0+([0-9])/\1\2/; s/^-0$/0/' <<<"$p")
        seed_list+=("$p")
    elif [[ $p =~ ^([0-9]+)-([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -le "${BASH_REMATCH[2]}" ]; then
        mapfile -t -O ${#seed_list[@]} seed_list < <(seq "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
    else
        die "--seeds: '$p' in '$seeds' is not a seed or a range a-b with a <= b"
    fi
done
[ ${#seed_list[@]} -gt 0 ] || die "--seeds: '$seeds' names no seed"
dups=$(printf '%s\n' "${seed_list[@]}" | sort | uniq -d | tr '\n' ' ')
[ -z "$dups" ] || die "--seeds: '$seeds' names seed(s) ${dups% } twice"
[[ $threads =~ ^[12]$ ]] || die "--threads: '$threads' is not 1 or 2"
if [ -z "$jobs" ]; then
    jobs=$(($(nproc) / threads))
    [ "$jobs" -ge 1 ] || jobs=1
fi
[[ $jobs =~ ^[1-9][0-9]*$ ]] || die "--jobs: '$jobs' is not a positive integer"
[ -n "$res" ] || die "--res: must not be empty"
[[ -n $name && $name != */* && $name != . && $name != .. ]] || die "--name: '$name' must be one path component"
# shellcheck source=sweeps/own-flags.sh
. "$here/own-flags.sh"
for f in "${flags[@]}"; do
    ! sweep_own_flag "$f" ||
        die "metaplast flag '$f': the sweep gives each seed --seed, --threads and --run_dir RES/NAME/seed_S" \
            "itself (set them with this script's --seeds, --threads, --res and --name)"
done
[ -x "$bin" ] || die "--bin: '$bin' is not an executable (build it: cmake -B build && cmake --build build -j2)"
command -v parallel >/dev/null || die "GNU parallel is not installed (apt-get install parallel)"

dir=$res/$name
mkdir -p "$dir" || die "cannot create '$dir'"
SWEEP_DIR=$(cd "$dir" && pwd) SWEEP_BIN=$(readlink -f "$bin") SWEEP_THREADS=$threads SWEEP_FLAGS=""
[ ${#flags[@]} = 0 ] || SWEEP_FLAGS=$(printf '%q ' "${flags[@]}")
export SWEEP_DIR SWEEP_BIN SWEEP_THREADS SWEEP_FLAGS
echo "sweep: ${#seed_list[@]} seeds (${seed_list[*]}), $jobs at a time, --threads $threads each, in $SWEEP_DIR"
# --halt never: one seed's failure does not stop the others; parallel's status is the
# number of seeds that failed
parallel --will-cite --halt never --jobs "$jobs" -q "$self" --run-one {} ::: "${seed_list[@]}"
failed=$?
if [ $failed = 0 ]; then
    echo "sweep: all ${#seed_list[@]} seeds done, in $SWEEP_DIR"
    exit 0
fi
if [ $failed -le 100 ]; then # parallel's status: how many jobs failed, 101 for more, 255 interrupted
    echo "sweep: $failed of ${#seed_list[@]} seeds did not finish (see their logs); rerun the same command to" \
        "resume them" >&2
else
    echo "sweep: stopped (parallel exited $failed); rerun the same command to resume the seeds" >&2
fi
exit 1
