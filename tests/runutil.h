/* Running the metaplast binary and looking into its run directories: the helpers of the
 * end-to-end programs (test_resume, test_io_errors, test_run). Unlike testutil, this
 * links the library (mp_checkpoint_load).
 *
 * ru_setup gives a program its fake database and the files the children's stdout and
 * stderr go to; ru_run / ru_reap leave what a child wrote in ru_out_text / ru_err_text. */
#ifndef METAPLAST_RUNUTIL_H
#define METAPLAST_RUNUTIL_H

#include <sys/types.h>

#include "testutil.h"

/* A NULL-terminated list of strings: extra flags for ru_new_run / ru_resume_run, needles
 * for ru_expect_failure. */
#define RU_LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The four plots of a run directory. */
extern const char *const ru_png_names[4];

extern char ru_data_dir[4200];                     /* fake EMNIST bymerge, by ru_setup */
extern char ru_out_text[65536], ru_err_text[65536]; /* the last reaped child's output */
extern double ru_last_seconds;                     /* its wall time, from ru_start */
extern long ru_last_maxrss_kb;                     /* its peak memory */
extern int ru_spawned;                             /* how many children ru_start started */

/* Under root: root/data (a fake EMNIST bymerge of 10 classes x 20 images) and the files
 * ru_spawn sends stdout and stderr to. Returns 0 or -1. */
int ru_setup(const char *root);

/* ---- command lines ---------------------------------------------------------------- */

typedef struct {
    const char *argv[64]; /* NULL-terminated */
    int argc;
} ru_cmdline;

void ru_cmd_add(ru_cmdline *c, const char *arg);
/* A new run: the binary, the tests' fast flags (--data_dir ru_data_dir, --res res,
 * --gpu_mode 0 --K 5 --Q 2 --M 3 --episodes episodes --seed 3), then extra. */
ru_cmdline ru_new_run(const char *res, const char *episodes, const char *const *extra);
enum { RU_DATA_DIR_ARG = 4 }; /* index in ru_new_run's argv of the --data_dir value */
/* The binary, --resume run_dir, then extra. */
ru_cmdline ru_resume_run(const char *run_dir, const char *const *extra);

/* ---- running ---------------------------------------------------------------------- */

/* Starts argv (argv[0] the program) with stdout and stderr into out_path and err_path
 * (removed first, so none is stale) and env ("NAME=value", NULL-terminated, or NULL)
 * added to its environment. Fails the test when fork fails. */
pid_t ru_start(const char *const *argv, const char *out_path, const char *err_path, const char *const *env);
/* ru_start of c with the output into ru_setup's files. */
pid_t ru_spawn(const ru_cmdline *c);
/* Waits for pid: its exit status, or -signal when a signal ended it. Reads its output
 * into ru_out_text / ru_err_text and sets ru_last_seconds and ru_last_maxrss_kb. */
int ru_reap(pid_t pid);
/* ru_reap without waiting: 1 with *status set when pid had ended, else 0. */
int ru_try_reap(pid_t pid, int *status);
/* ru_reap(ru_spawn(c)). */
int ru_run(const ru_cmdline *c);

/* Fails with what, the status and both outputs unless got == want. */
void ru_expect_exit(int got, int want, const char *what);
/* Runs c: exit code, and stderr names every needle. Prints what it got. */
void ru_expect_failure(const ru_cmdline *c, int code, const char *const *needles, const char *what);
/* Runs ru_new_run(res, episodes, extra) to exit 0 (failing with what otherwise); its run
 * directory into run_dir. */
void ru_complete_run(const char *res, const char *episodes, const char *const *extra, const char *what,
                     char *run_dir, size_t cap);

/* ---- run directories -------------------------------------------------------------- */

/* The episode of run_dir's checkpoint, or -1 when it has none that loads. */
long ru_checkpoint_episode(const char *run_dir);
/* The one run directory under res, or "" when there is none (yet). Fails when there
 * are several, or the path does not fit in cap. */
void ru_find_run_dir(const char *res, char *out, size_t cap);
/* Columns of metrics.csv: episode, loss, accuracy, 10 theta, 5 E1, 6 angle, 10 grad,
 * skipped, seconds. */
#define RU_CSV_COLUMNS 36

/* metrics.csv of two run directories: line for line the same but the last column
 * (seconds, timing); every line must have RU_CSV_COLUMNS columns. lines < 0: all lines, as many in both; else the
 * first `lines` (both must have them whole). Returns the number of lines compared. */
long ru_assert_same_metrics(const char *ref_dir, const char *got_dir, long lines, const char *label);
/* ru_assert_same_metrics of all lines, then params.txt and the four plots byte for byte.
 * Prints what matched. */
void ru_assert_same_run(const char *ref_dir, const char *got_dir, const char *label);
/* The four plots are there, each a PNG of at least 1000 bytes. */
void ru_assert_pngs(const char *run_dir);

#endif
