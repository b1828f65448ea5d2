/* The meta-test (--eval RUN_DIR ...): the learned rules of finished runs, frozen, judged
 * on the same fresh test tasks (docs/METHOD.md, "Meta-test"). */
#ifndef METAPLAST_EVAL_H
#define METAPLAST_EVAL_H

#include <stdio.h>

#include "metaplast/cli.h"

/* The generator of the test tasks is seeded with --eval_seed XOR this, so that it never
 * replays a run's draws, even one made with the same --seed. */
#define MP_EVAL_STREAM 0x6d657461746573ULL /* "metates" */

/* Runs the meta-test that cli (parsed with --eval) asks for: loads the runs, the test
 * data, judges every rule on --eval_tasks tasks and writes the eval directory; its path
 * goes to out first ("eval directory: PATH"), then the summary table. Returns the exit
 * status: 0; 1 when a run directory is missing, unfinished, damaged or of another
 * version, or the data cannot be read, or a file cannot be written; 2 when the flags do
 * not fit (runs that differ in a data flag the command line does not set, classes that
 * leave fewer than M for the test, images that do not fit the runs' input without
 * --dim). Messages go to err. */
int mp_eval_main(const mp_config *cli, FILE *out, FILE *err);

/* Mean and 95% interval (mean +- t_{0.975,n-1} sd / sqrt(n)) of the n finite values of v
 * (NaNs are left out; *used says how many were used). With fewer than 2 values the
 * interval is NaN. */
void mp_eval_interval(const double *v, int n, double *mean, double *lo, double *hi, int *used);

#endif
