/* The report over many runs: `metaplast --report DIR [DIR ...] [--res RES] [--test_name
 * NAME] [--avg_window N]` (src/report/report.c; README, "Report over many runs"). */
#ifndef METAPLAST_REPORT_H
#define METAPLAST_REPORT_H

#include <stdio.h>

/* argv[1] is "--report". Finds the run directories (and meta-test directories) under the
 * DIRs, groups the runs that differ only in --seed, writes the report into a new
 * directory RES/NAME/<timestamp>_<n>/ and prints "report directory: PATH", then a table
 * of the groups, on out; notes and errors (each naming the directory it is about) on err.
 * Returns the exit status: 0, 1 (no runs, nothing to report, a write failed) or 2 (a
 * usage error). */
int mp_report_main(int argc, char **argv, FILE *out, FILE *err);

#endif
