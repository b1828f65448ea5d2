/* The results tree: <res>/<test_name>/<YYYY-mm-dd_HH-MM-SS>_<n>/, never reused. */
#ifndef METAPLAST_RUNDIR_H
#define METAPLAST_RUNDIR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "metaplast/util.h"

/* Creates the run directory (and its parents) atomically: a directory that exists is
 * never reused, so concurrent runs started in the same second get distinct ones.
 * Writes the path into out. */
int mp_rundir_create(const char *res, const char *test_name, char *out, size_t cap, mp_err *err);

/* Writes <run_dir>/args.txt: every flag, the seed, the data files, the version. */
int mp_rundir_write_args(const char *run_dir, const mp_config *cfg, const mp_dataset *ds, mp_err *err);

/* The "images_fingerprint : N bytes, crc32 X" and "labels_fingerprint" lines of the data
 * files, as args.txt and the binding hold them. Returns 0 or -1. */
int mp_data_fingerprint_lines(const mp_dataset *ds, FILE *f);
/* One file's fingerprint as those lines give it: "N bytes, crc32 X". */
void mp_data_fingerprint(uint64_t bytes, uint32_t crc, char *buf, size_t cap);
/* The CRC-32 of a binding's text, as args.txt's binding_crc32 line gives it. */
unsigned mp_binding_crc32(const char *binding);

/* The run's binding: mp_config_binding's lines, then the data's fingerprint lines; what a
 * checkpoint carries and --resume checks a run against. Returns 0, or -1 when cap is too
 * small. */
int mp_run_binding(const mp_config *cfg, const mp_dataset *ds, char *buf, size_t cap);
/* The same from the flags and the two fingerprints as args.txt records them ("N bytes,
 * crc32 X"): a run's binding read back without its data (--eval, --report). */
int mp_run_binding_text(const mp_config *cfg, const char *images_fp, const char *labels_fp, char *buf, size_t cap);

/* The value of the last "name : value" line of an args.txt (the lines rundir adds to the
 * flags: images_fingerprint, binding_crc32, version, ...) into value: 1 found, 0 not and
 * -1 when the file cannot be read (err, if not NULL, says why); value is written only
 * when found. */
int mp_rundir_args_value(const char *args_path, const char *name, char *value, size_t cap, mp_err *err);

/* The lock file in a run directory: held by the one process that writes the run. */
#define MP_RUNDIR_LOCK_FILE "lock"

/* Takes run_dir's lock for the life of the process: a POSIX record lock on run_dir/lock
 * (the kernel releases it when the process ends, kill -9 included), the holder's pid
 * written into the file. Returns the descriptor (keep it open), or -1 with a message
 * naming the process that holds the lock. With read_only given, a directory where the
 * lock file cannot be created (read-only) sets *read_only = 1 and returns -1 with no
 * message: the caller may go on only if it writes nothing. */
int mp_rundir_lock(const char *run_dir, int *read_only, mp_err *err);

/* --run_dir: creates dir (and its parents) when missing, takes its lock (as
 * mp_rundir_lock, read_only alike), then looks inside: *holds_run = 1 when it has an
 * args.txt (a run to continue, for --resume's checks to judge), 0 when it is empty but for
 * what a start killed before args.txt leaves (a new run goes there). Returns the lock's
 * descriptor (keep it open), or -1 with a message: the lock is held elsewhere, or dir holds
 * other things and no run. With *read_only set, -1 without a message means a read-only
 * run to read (*holds_run = 1). */
int mp_rundir_claim(const char *dir, int *holds_run, int *read_only, mp_err *err);

#endif
