/* metaplast: meta-learns plasticity rules for a network that learns through fixed
 * random feedback (Shervani-Tabar & Rosenbaum, Nature Communications 2023). */
#include <cblas.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"
#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "metaplast/rundir.h"
#include "metaplast/train.h"
#include "metaplast/util.h"

/* --resume: the stored flags with the command line on top, and the checkpoint (the
 * initial state when the run stopped before its first episode ended). Returns -1 to
 * go on, or the exit status. */
static int prepare_resume(int argc, char **argv, mp_config *cfg, mp_checkpoint *ck) {
    mp_err err;
    char args_path[MP_PATH_MAX + 16];
    snprintf(args_path, sizeof args_path, "%s/args.txt", cfg->resume);
    mp_config stored;
    if (mp_config_read_args(args_path, &stored, &err) != 0) {
        fprintf(stderr, "metaplast: --resume %s: %s\n", cfg->resume, err.msg);
        return MP_EXIT_RUNTIME;
    }
    if (mp_config_for_resume(argc, argv, &stored, cfg, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        return MP_EXIT_USAGE;
    }
    char ck_path[MP_PATH_MAX + 32];
    snprintf(ck_path, sizeof ck_path, "%s/%s", cfg->resume, MP_CHECKPOINT_FILE);
    if (access(ck_path, F_OK) != 0 && errno == ENOENT) {
        /* stopped before its first episode ended: nothing to keep, start it over */
        fprintf(stderr, "metaplast: --resume %s: no episode had finished; starting the run over there\n",
                cfg->resume);
        mp_trainer_initial_state(cfg, ck);
    } else if (mp_checkpoint_load(cfg->resume, ck, &err) != 0) {
        fprintf(stderr, "metaplast: --resume %s: %s\n", cfg->resume, err.msg);
        return MP_EXIT_RUNTIME;
    }
    if (cfg->episodes < ck->episode) {
        fprintf(stderr, "metaplast: --episodes: %ld is fewer than the %ld episodes the run in %s has finished\n",
                cfg->episodes, ck->episode, cfg->resume);
        return MP_EXIT_USAGE;
    }
    if (cfg->episodes == ck->episode) /* it goes on only to redraw the plots, which a kill may have missed */
        printf("the run in %s is complete (%ld episodes); raise --episodes to extend it\n", cfg->resume,
               ck->episode);
    return -1;
}

int main(int argc, char **argv) {
    /* one OpenBLAS thread: this network's products are too small to share across
     * cores (a second thread made a forward pass slower in most measurements) */
    openblas_set_num_threads(1);
    mp_config cfg;
    int parsed = mp_cli_parse(argc, argv, &cfg, stdout, stderr);
    if (parsed == MP_CLI_HELP) return MP_EXIT_OK;
    if (parsed != MP_CLI_RUN) return MP_EXIT_USAGE;
    mp_checkpoint resume;
    if (cfg.resume[0]) {
        int status = prepare_resume(argc, argv, &cfg, &resume);
        if (status >= 0) return status;
    }
    if (cfg.gpu_mode) fprintf(stderr, "No GPUs on this device! Running on CPU.\n");

    mp_err err;
    mp_dataset ds;
    if (mp_dataset_load(&cfg, &ds, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        return MP_EXIT_RUNTIME;
    }
    int status;
    char run_dir[MP_PATH_MAX + 512];
    if (mp_config_check_data(&cfg, ds.nclasses, ds.smallest_class, stderr) != MP_CLI_RUN) {
        status = MP_EXIT_USAGE;
    } else if (cfg.gradcheck) {
        status = mp_gradcheck_main(&cfg, &ds, stdout);
    } else if ((cfg.resume[0] ? snprintf(run_dir, sizeof run_dir, "%s", cfg.resume) < 0
                              : mp_rundir_create(cfg.res, cfg.test_name, run_dir, sizeof run_dir, &err) != 0) ||
               mp_rundir_write_args(run_dir, &cfg, &ds, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        status = MP_EXIT_RUNTIME;
    } else {
        printf("run directory: %s\n", run_dir);
        fflush(stdout);
        mp_install_stop_handlers();
        status = mp_train_run(&cfg, &ds, run_dir, cfg.resume[0] ? &resume : NULL, stdout);
    }
    mp_dataset_free(&ds);
    return status;
}
