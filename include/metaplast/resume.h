/* --resume: checks a run directory against the run it claims to be and finds the state
 * that continues it (see src/train/resume.c). */
#ifndef METAPLAST_RESUME_H
#define METAPLAST_RESUME_H

#include <stdio.h>

#include "metaplast/checkpoint.h"
#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "metaplast/record.h"

typedef struct {
    mp_checkpoint state; /* after state.episode == n episodes */
    mp_record *history;  /* the rows of metrics.csv (cap entries; rows read, n kept) */
    long cap, rows, n;
    int complete;        /* n == --episodes */
} mp_resume;

/* For the run in cfg->resume (locked by the caller), with cfg its stored flags and the
 * command line's, ds the data loaded for it and binding the run's binding
 * (mp_run_binding): checks args.txt's data fingerprints and checksum and the checkpoint's
 * binding (a mismatch names what differs), reads the rows, and sets r->state to the
 * checkpoint, or to the state rebuilt from the rows when the checkpoint is missing or
 * ahead of them (saying so on note). Nothing is written. Returns an exit status:
 * MP_EXIT_OK, MP_EXIT_RUNTIME or MP_EXIT_USAGE (too few --episodes), with err. */
int mp_resume_prepare(const mp_config *cfg, const mp_dataset *ds, const char *binding, mp_resume *r, FILE *note,
                      mp_err *err);

/* Before anything else of --resume: refuses (-1, with a message naming the file and
 * MP_BEFORE_POOL_WHY) a run directory written by metaplast 0.1 (5 thetas), told by
 * metrics.csv's header, the checkpoint's version or args.txt's version line. */
int mp_resume_check_format(const char *run_dir, mp_err *err);

/* 1 when run_dir holds the four plots. */
int mp_resume_has_plots(const char *run_dir);

#endif
