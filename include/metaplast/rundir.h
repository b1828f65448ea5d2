/* The results tree: <res>/<test_name>/<YYYY-mm-dd_HH-MM-SS>_<n>/, never reused. */
#ifndef METAPLAST_RUNDIR_H
#define METAPLAST_RUNDIR_H

#include <stddef.h>

#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "metaplast/util.h"

/* Creates the run directory (and its parents) atomically: a directory that exists is
 * never reused, so concurrent runs started in the same second get distinct ones.
 * Writes the path into out. */
int mp_rundir_create(const char *res, const char *test_name, char *out, size_t cap, mp_err *err);

/* Writes <run_dir>/args.txt: every flag, the seed, the data files, the version. */
int mp_rundir_write_args(const char *run_dir, const mp_config *cfg, const mp_dataset *ds, mp_err *err);

#endif
