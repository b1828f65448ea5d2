/* Command line: the release's flags (same names, meanings, defaults) plus ours. */
#ifndef METAPLAST_CLI_H
#define METAPLAST_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "metaplast/data.h"
#include "metaplast/util.h"

#define MP_MAX_VEC 16     /* entries of --vec */
#define MP_PATH_MAX 4096

typedef struct {
    /* the release's flags */
    int gpu_mode;                  /* --gpu_mode (1) */
    long long seed;                /* --seed (1) */
    char database[64];             /* --database (emnist) */
    int dim;                       /* --dim (28) */
    char test_name[256];           /* --test_name ('') */
    long episodes;                 /* --episodes (600) */
    int K, Q, M;                   /* --K (50) --Q (10) --M (5) */
    double lamb;                   /* --lamb (0.0) */
    double lr_meta;                /* --lr_meta (1e-3) */
    double a;                      /* --a (1e-3) */
    char res[MP_PATH_MAX];         /* --res (results) */
    int avg_window;                /* --avg_window (10) */
    int vec[MP_MAX_VEC];           /* --vec (empty): rule-pool indices, explicit (`all` is expanded) */
    int nvec;
    int fbk_sym;                   /* --fbk: 0 = fix (default), 1 = sym */
    /* ours */
    char data_dir[MP_PATH_MAX];    /* --data_dir (data) */
    int plot_every;                /* --plot_every (0: plots only at the end) */
    int threads;                   /* --threads (2): 1, or 2 with a worker thread */
    int diverge_skip;              /* --diverge: 0 = stop (default), 1 = skip */
    int gradcheck;                 /* --gradcheck */
    char resume[MP_PATH_MAX];      /* --resume RUN_DIR ('' = new run) */
    char run_dir[MP_PATH_MAX];     /* --run_dir DIR ('' = a new time-stamped directory) */
    char classes[1024];            /* --classes ('' = every class): the canonical list, e.g. "0-35" */
    char images[MP_PATH_MAX];      /* --images FILE: a user's IDX images (--database idx) */
    char labels[MP_PATH_MAX];      /* --labels FILE: its labels */
    /* the meta-test: --eval RUN_DIR ... (pointers into argv; mp_config_eval_dir) and its flags */
    char *const *eval_dirs;
    const char *eval_first;        /* --eval=DIR: the first, before eval_dirs */
    int eval_n;
    int eval_tasks;                /* --eval_tasks (100) */
    long long eval_seed;           /* --eval_seed (1) */
    int eval_every;                /* --eval_every (25): the curve's step, in training samples */
    unsigned long long given;      /* bit i: flag i of the table was on the command line */
} mp_config;

/* Result of parsing: go on, help was printed (exit 0), or a usage error (exit 2). */
enum { MP_CLI_RUN = 0, MP_CLI_HELP = 1, MP_CLI_ERROR = 2 };

void mp_config_defaults(mp_config *cfg);

/* Parses argv into cfg (which it first sets to the defaults). Help goes to out,
 * error messages (naming the flag and the value) to err. Checks everything that
 * does not need the data; mp_dataset_load checks M and K+Q against the labels. */
int mp_cli_parse(int argc, char **argv, mp_config *cfg, FILE *out, FILE *err);

/* --resume: out = the stored flags (from the run's args.txt) with the command line
 * applied on top. A flag that would change a number (any but those the flag table marks
 * resumable: --episodes, --gpu_mode, --avg_window, --plot_every, --data_dir, --threads,
 * --diverge, --resume, --run_dir) and differs from the stored value is an error naming it
 * and both values. Returns 0 or -1. */
int mp_config_for_resume(int argc, char **argv, const mp_config *stored, mp_config *out, mp_err *err);

/* Run directory i (0 .. eval_n - 1) of --eval. */
const char *mp_config_eval_dir(const mp_config *cfg, int i);

/* 1 when the flag called name was given on the command line that made cfg. */
int mp_config_given(const mp_config *cfg, const char *name);

/* The mask of the terms in use (bit k = term k of the rule pool): the pseudo-gradient
 * and every --vec entry, as the model's mp_rule_mask gives it. */
unsigned mp_config_terms(const mp_config *cfg);

/* The data a run of cfg needs: --database, --data_dir, --dim, --M and K + Q. */
mp_data_request mp_config_data_request(const mp_config *cfg);

/* The "name : value" lines of every flag that changes the numbers of a run (not the
 * resumable ones, nor --res and --test_name, which only say where it is): what a
 * checkpoint is bound to. Returns 0, or -1 when cap is too small. */
int mp_config_binding(const mp_config *cfg, char *buf, size_t cap);

/* Writes the "name : value" lines of args.txt (every flag). Returns 0, or -1 when a
 * write fails (errno tells why). */
int mp_config_write_args(const mp_config *cfg, FILE *f);

/* Reads an args.txt written by mp_config_write_args (plus lines that are not flags, which
 * it skips) into cfg, with the command line's checks. Every flag must have its line but
 * those added after metaplast 0.2 (the flag table's late ones: their default then).
 * Returns 0, or -1 with a message naming the file, the line and the flag. */
int mp_config_read_args(const char *path, mp_config *cfg, mp_err *err);

#endif
