#!/usr/bin/env bash
# Seeds per hour of a sweep on this machine, two ways: the seeds one at a time with
# --threads 2, and two at a time with --threads 1 each (sweeps/parallel.sh both times,
# each in a fresh results directory). It is a measurement: run it when the machine is
# otherwise idle (it prints the load average before and after each layout).
#
#   sweeps/throughput.sh [options] [-- metaplast flags]
#
#   --seeds LIST     the sweep's seeds (default 1-4)
#   --episodes N     episodes per seed (default 600, the default run)
#   --database NAME  (default emnist_bymerge)
#   --data_dir DIR   (default ../shared/data beside this checkout)
#   --bin PATH       the metaplast binary (default $METAPLAST_BIN, else build/metaplast)
#   --keep DIR       keep the runs in DIR (default: a temporary directory, removed)
#   -h, --help       this text
#
# Prints, for each layout, the wall time and seeds per hour, then README table rows.
set -euo pipefail

self=$(readlink -f "$0")
here=$(dirname "$self")
usage() { sed -n '2,/^[^#]/{/^#/{s/^# \{0,1\}//;p}}' "$self"; }
die() { echo "sweeps/throughput.sh: $*" >&2; exit 2; }

seeds=1-4 episodes=600 database=emnist_bymerge data_dir=$here/../../shared/data
bin=${METAPLAST_BIN:-$here/../build/metaplast} keep=""
while [ $# -gt 0 ]; do
    case $1 in
    --seeds | --episodes | --database | --data_dir | --bin | --keep)
        [ $# -ge 2 ] || die "$1: missing value"
        case $1 in
        --seeds) seeds=$2 ;; --episodes) episodes=$2 ;; --database) database=$2 ;;
        --data_dir) data_dir=$2 ;; --bin) bin=$2 ;; --keep) keep=$2 ;;
        esac
        shift 2
        ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ $episodes =~ ^[1-9][0-9]*$ ]] || die "--episodes: '$episodes' is not a positive integer"
[ -d "$data_dir" ] || die "--data_dir: '$data_dir' is not a directory"
data_dir=$(readlink -f "$data_dir")

if [ -n "$keep" ]; then
    mkdir -p "$keep"
    res=$(cd "$keep" && pwd)
else
    res=$(mktemp -d)
    trap 'rm -rf "$res"' EXIT
fi
flags=(--database "$database" --data_dir "$data_dir" --gpu_mode 0 --episodes "$episodes" "$@")
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "throughput: seeds $seeds x $episodes episodes, ${flags[*]}; $(nproc) CPUs; runs in $res"
rows=()
for layout in "1 2" "2 1"; do
    read -r jobs threads <<<"$layout"
    name=jobs${jobs}_threads$threads
    before=$(load)
    t0=$(date +%s.%N)
    "$here/parallel.sh" --seeds "$seeds" --jobs "$jobs" --threads "$threads" --res "$res" --name "$name" \
        --bin "$bin" -- "${flags[@]}" >"$res/$name.txt" 2>&1 || { cat "$res/$name.txt"; die "the $name sweep failed"; }
    t1=$(date +%s.%N)
    n=$(grep -c "^seed .*: done" "$res/$name.txt")
    [ "$n" -gt 0 ] || { cat "$res/$name.txt"; die "the $name sweep ran no seed (were they complete already in --keep?)"; }
    read -r wall per_hour < <(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN { w = b - a; printf "%.1f %.0f\n", w, n * 3600 / w }')
    what=$([ "$jobs" = 1 ] && echo "one at a time, --threads 2" || echo "two at a time, --threads 1")
    printf '  %-28s %3d seeds in %7.1f s: %6d seeds/hour (load average before: %s; after: %s)\n' "$what:" "$n" \
        "$wall" "$per_hour" "$before" "$(load)"
    rows+=("| $what (\`--jobs $jobs --threads $threads\`) | $n x $episodes episodes | $wall s | $per_hour |")
done
echo "README rows:"
printf '%s\n' "${rows[@]}"
