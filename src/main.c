/* metaplast: meta-learns plasticity rules for a network that learns through fixed
 * random feedback (Shervani-Tabar & Rosenbaum, Nature Communications 2023). */
#include <cblas.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/checkpoint.h"
#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "metaplast/eval.h"
#include "metaplast/plot.h"
#include "metaplast/report.h"
#include "metaplast/resume.h"
#include "metaplast/rundir.h"
#include "metaplast/runlog.h"
#include "metaplast/train.h"
#include "metaplast/util.h"

/* The flag a continued run was named by, for messages: --run_dir is set only when it was
 * (open_resume keeps the command line's). */
static const char *resume_flag(const mp_config *cfg) { return cfg->run_dir[0] ? "--run_dir" : "--resume"; }

/* --resume (or --run_dir on a directory that holds a run), before the data: the stored
 * flags with the command line on top, and the run directory's lock (taken already when
 * locked). Returns -1 to go on, or the exit status. */
static int open_resume(int argc, char **argv, mp_config *cfg, int locked, int *read_only) {
    mp_err err;
    char dir[MP_PATH_MAX], args_path[MP_PATH_MAX + 16];
    const char *how = resume_flag(cfg);
    snprintf(dir, sizeof dir, "%s", cfg->resume);
    snprintf(args_path, sizeof args_path, "%s/args.txt", dir);
    if (mp_resume_check_format(dir, &err) != 0) { /* a run of metaplast 0.1 */
        fprintf(stderr, "metaplast: %s %s: %s\n", how, dir, err.msg);
        return MP_EXIT_RUNTIME;
    }
    mp_config stored;
    if (mp_config_read_args(args_path, &stored, &err) != 0) {
        fprintf(stderr, "metaplast: %s %s: %s\n", how, dir, err.msg);
        return MP_EXIT_RUNTIME;
    }
    int by_run_dir = cfg->run_dir[0] != '\0';
    if (mp_config_for_resume(argc, argv, &stored, cfg, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        return MP_EXIT_USAGE;
    }
    /* where the run is comes from this command line, never from args.txt (a run moved, or
     * started one way and continued the other) */
    memset(cfg->resume, 0, sizeof cfg->resume);
    snprintf(cfg->resume, sizeof cfg->resume, "%s", dir);
    if (!by_run_dir) memset(cfg->run_dir, 0, sizeof cfg->run_dir);
    if (!locked && mp_rundir_lock(cfg->resume, read_only, &err) < 0 && !*read_only) {
        fprintf(stderr, "metaplast: --resume: %s\n", err.msg);
        return MP_EXIT_RUNTIME;
    }
    return -1;
}

/* --run_dir DIR, before the data: DIR is created when missing and locked, then what it
 * holds decides. A run is continued as --resume DIR would; an empty DIR takes a new run
 * (cfg->resume stays ''); anything else is refused. Returns -1 to go on, or the exit
 * status. */
static int open_run_dir(int argc, char **argv, mp_config *cfg, int *read_only) {
    mp_err err;
    int holds_run = 0;
    if (mp_rundir_claim(cfg->run_dir, &holds_run, read_only, &err) < 0 && !(*read_only && holds_run)) {
        fprintf(stderr, "metaplast: --run_dir: %s\n", err.msg);
        return MP_EXIT_RUNTIME;
    }
    if (!holds_run) return -1;
    snprintf(cfg->resume, sizeof cfg->resume, "%s", cfg->run_dir);
    return open_resume(argc, argv, cfg, 1, read_only);
}

/* --resume, with the data: the state to continue from, the logs cut back to it. Returns
 * -1 to train, or the exit status (a complete run ends here). */
static int continue_run(const mp_config *cfg, const mp_dataset *ds, const char *binding, int read_only,
                        mp_resume *r) {
    mp_err err;
    const char *how = resume_flag(cfg);
    int status = mp_resume_prepare(cfg, ds, binding, r, stderr, &err);
    if (status != MP_EXIT_OK) {
        fprintf(stderr, "metaplast: %s %s: %s\n", how, cfg->resume, err.msg);
        return status;
    }
    if (r->complete)
        printf("the run in %s is complete (%ld episodes); raise --episodes to extend it\n", cfg->resume, r->n);
    /* a read-only run directory can be asked about, not written: fine when nothing is missing */
    if (read_only && r->complete && r->rows == r->n && mp_resume_has_plots(cfg->resume)) return MP_EXIT_OK;
    if (read_only) {
        fprintf(stderr, "metaplast: %s %s: the directory is read-only, and the run needs %s\n", how, cfg->resume,
                r->complete ? "its plots drawn" : "more episodes");
        return MP_EXIT_RUNTIME;
    }
    unsigned terms = mp_config_terms(cfg);
    if (mp_runlog_cut(cfg->resume, r->history, r->n, terms, &err) != 0) {
        fprintf(stderr, "metaplast: %s %s: %s\n", how, cfg->resume, err.msg);
        return MP_EXIT_RUNTIME;
    }
    if (r->complete) { /* the plots again: a kill during them may have left them behind */
        if (mp_plot_all(cfg->resume, r->history, (int)r->n, cfg->avg_window, terms, &err) != 0) {
            fprintf(stderr, "metaplast: %s\n", err.msg);
            return MP_EXIT_RUNTIME;
        }
        return MP_EXIT_OK;
    }
    /* a sweep's log says which start of a seed did what */
    fprintf(stderr, "metaplast: %s %s: resuming after episode %ld of %ld\n", how, cfg->resume, r->n, cfg->episodes);
    return -1;
}

int main(int argc, char **argv) {
    mp_protect_std_fds();
    /* a closed pipe on stdout must not end a run: its writes fail with EPIPE instead */
    signal(SIGPIPE, SIG_IGN);
    /* one OpenBLAS thread: this network's products are too small to share across
     * cores (a second thread made a forward pass slower in most measurements) */
    openblas_set_num_threads(1);
    /* the report over many runs has its own command line (src/report/report.c) */
    if (argc > 1 && strcmp(argv[1], "--report") == 0) return mp_report_main(argc, argv, stdout, stderr);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--report") == 0) {
            fprintf(stderr, "metaplast: --report must be the first argument: metaplast --report DIR [DIR ...] "
                    "(metaplast --report --help)\n");
            return MP_EXIT_USAGE;
        }
    mp_config cfg;
    int parsed = mp_cli_parse(argc, argv, &cfg, stdout, stderr);
    if (parsed == MP_CLI_HELP) {
        printf("\nmetaplast --report DIR [DIR ...] [--res RES] [--test_name NAME] [--avg_window N]: the report over\n"
               "many runs (their seeds aggregated); `metaplast --report --help` says more\n");
        return MP_EXIT_OK;
    }
    if (parsed != MP_CLI_RUN) return MP_EXIT_USAGE;
    if (cfg.eval_n > 0) return mp_eval_main(&cfg, stdout, stderr);
    int read_only = 0;
    if (cfg.resume[0] || cfg.run_dir[0]) {
        int status = cfg.resume[0] ? open_resume(argc, argv, &cfg, 0, &read_only)
                                   : open_run_dir(argc, argv, &cfg, &read_only);
        if (status >= 0) return status;
    }
    if (cfg.gpu_mode) fprintf(stderr, "No GPUs on this device! Running on CPU.\n");

    mp_err err;
    mp_dataset ds;
    mp_data_request want = mp_config_data_request(&cfg);
    int loaded = mp_dataset_load(&want, &ds, &err);
    if (loaded != 0) {
        if (cfg.resume[0] && loaded == -2)
            fprintf(stderr, "metaplast: %s %s: with the flags of %s/args.txt: %s\n", resume_flag(&cfg), cfg.resume,
                    cfg.resume, err.msg);
        else
            fprintf(stderr, "metaplast: %s\n", err.msg);
        return loaded == -2 ? MP_EXIT_USAGE : MP_EXIT_RUNTIME;
    }
    int status = -1;
    char run_dir[MP_PATH_MAX + 512], binding[MP_CHECKPOINT_BINDING];
    mp_resume r = {0};
    if (cfg.gradcheck) {
        status = mp_gradcheck_main(&cfg, &ds, stdout);
    } else if (mp_run_binding(&cfg, &ds, binding, sizeof binding) != 0) {
        fprintf(stderr, "metaplast: the run's flags are too long to record (%zu bytes at most)\n", sizeof binding);
        status = MP_EXIT_USAGE;
    } else if (cfg.resume[0]) {
        snprintf(run_dir, sizeof run_dir, "%s", cfg.resume);
        status = continue_run(&cfg, &ds, binding, read_only, &r);
    } else if (cfg.run_dir[0]) { /* empty, and locked by open_run_dir */
        snprintf(run_dir, sizeof run_dir, "%s", cfg.run_dir);
    } else if (mp_rundir_create(cfg.res, cfg.test_name, run_dir, sizeof run_dir, &err) != 0 ||
               mp_rundir_lock(run_dir, NULL, &err) < 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        status = MP_EXIT_RUNTIME;
    }
    /* args.txt names the data directory absolutely: --eval and --report read it from anywhere */
    char data_dir[PATH_MAX];
    if (status < 0 && realpath(cfg.data_dir, data_dir) && strlen(data_dir) < sizeof cfg.data_dir) {
        memset(cfg.data_dir, 0, sizeof cfg.data_dir);
        memcpy(cfg.data_dir, data_dir, strlen(data_dir));
    }
    if (status < 0 && mp_rundir_write_args(run_dir, &cfg, &ds, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        status = MP_EXIT_RUNTIME;
    }
    if (status < 0) {
        printf("run directory: %s\n", run_dir);
        fflush(stdout);
        mp_install_stop_handlers();
        status = mp_train_run(&cfg, &ds, run_dir, cfg.resume[0] ? &r.state : NULL, r.history, r.n, r.cap, binding,
                              stdout);
        r.history = NULL; /* taken over */
    }
    free(r.history);
    mp_dataset_free(&ds);
    return status;
}
