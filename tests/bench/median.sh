# Sourced by bench.sh and ab.sh: medians of episode times.

# median: the median of the numbers on standard input, one per line (fails on none)
median() {
    sort -g | awk '{ v[NR] = $1 } END { if (!NR) exit 1; print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# episode_median_ms METRICS_CSV SKIP: the median of the `seconds` column in ms, the first
# SKIP episodes (warm-up) left out
episode_median_ms() {
    awk -F, -v skip="$2" '
        NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seconds") c = i; next }
        c && NR > 1 + skip { print $c * 1000 }
        END { if (!c) exit 1 }' "$1" | median
}
