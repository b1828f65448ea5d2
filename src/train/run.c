/* A whole run: the episode loop, what it writes after each episode (row, checkpoint,
 * console line), when it makes them durable, and how signals stop it. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"
#include "metaplast/plot.h"
#include "metaplast/runlog.h"
#include "metaplast/train.h"
#include "metaplast/util.h"
#include "train/trainer.h"

static volatile sig_atomic_t stop_signal;

/* The first SIGINT, SIGTERM or SIGHUP asks the loop to stop after the current episode;
 * a second one ends the process at once (the last checkpoint is whole: each is renamed
 * into place). */
static void on_stop_signal(int sig) {
    if (stop_signal) {
        static const char msg[] = "metaplast: second signal: stopping now (the last checkpoint is intact)\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(128 + sig);
    }
    stop_signal = sig;
}

void mp_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static const char *signal_name(int sig) {
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

static int write_plots(const char *run_dir, const mp_record *rec, long n, int avg_window, unsigned terms) {
    mp_err err;
    if (mp_plot_all(run_dir, rec, (int)n, avg_window, terms, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* How often the logs and the checkpoint are made durable (fsync'd): a machine crash
 * costs at most the episodes of this many seconds, which --resume recomputes. */
#define CHECKPOINT_SYNC_SECONDS 5.0

/* The console lines are a copy of params.txt: when stdout fails (a closed pipe, a full
 * disk) they stop, with one warning, and training goes on. */
static void console_line(FILE *out, const char *line, int *console_ok) {
    if (!*console_ok) return;
    if (fprintf(out, "%s\n", line) < 0 || fflush(out) != 0) {
        *console_ok = 0;
        fprintf(stderr, "metaplast: stdout: %s; no more console lines (params.txt has every one), training goes "
                "on\n", strerror(errno));
    }
}

/* The episode loop; history holds *n records (those of a resumed run first). */
static int train_loop(mp_trainer *tr, mp_runlog *runlog, const char *run_dir, const char *binding, mp_record **history,
                      long *cap, long *n, FILE *out) {
    const mp_config *cfg = tr->cfg;
    mp_err err;
    double last_sync = mp_now_seconds();
    int console_ok = 1;
    /* skipped episodes in a row, counting those at the end of a resumed run's rows */
    int in_row = 0;
    while (in_row < *n && (*history)[*n - 1 - in_row].skipped) in_row++;
    while (tr->episode < cfg->episodes) {
        if (*n == *cap) {
            *cap *= 2;
            mp_record *grown = realloc(*history, (size_t)*cap * sizeof **history);
            if (!grown) {
                fprintf(stderr, "metaplast: out of memory for the episode history\n");
                return MP_EXIT_RUNTIME;
            }
            *history = grown;
        }
        mp_record *rec = &(*history)[*n];
        char why[256], line[MP_CONSOLE_LINE_MAX];
        int result = mp_trainer_episode(tr, rec, why, sizeof why);
        int diverged = result < 0, skipped = result > 0;
        mp_checkpoint ck;
        mp_trainer_save_state(tr, &ck);
        snprintf(ck.binding, sizeof ck.binding, "%s", binding);
        /* The row first, then the checkpoint: a kill in between leaves a row that --resume
         * cuts off and recomputes. Every few seconds (and at the end) both are made
         * durable, the logs before the checkpoint, so that after a machine crash the
         * durable checkpoint is never ahead of the durable rows (and when a checkpoint
         * written since is, --resume rebuilds the state from the rows). A skipped
         * episode is finished like any other: its row, then the checkpoint after it. */
        double t = mp_now_seconds();
        int durable = t - last_sync >= CHECKPOINT_SYNC_SECONDS || tr->episode == cfg->episodes || stop_signal ||
                      diverged || (skipped && in_row + 1 >= MP_DIVERGE_MAX_IN_ROW);
        if (mp_runlog_append(runlog, rec, &err) != 0 || (durable && mp_runlog_sync(runlog, &err) != 0) ||
            (!diverged && mp_checkpoint_save(run_dir, &ck, durable, &err) != 0)) {
            fprintf(stderr, "metaplast: %s\n", err.msg);
            return MP_EXIT_RUNTIME;
        }
        if (durable) last_sync = t;
        (*n)++;
        mp_format_console_line(rec, runlog->terms, line, sizeof line);
        console_line(out, line, &console_ok);
        if (diverged) {
            fprintf(stderr, "metaplast: episode %ld diverged: %s; stopping (everything written so far is kept; "
                    "--diverge skip would skip such an episode and go on)\n", rec->episode, why);
            return MP_EXIT_RUNTIME;
        }
        if (skipped) {
            in_row++;
            fprintf(stderr, "metaplast: episode %ld diverged: %s; skipped (--diverge skip: no Adam step, marked in "
                    "metrics.csv), the run goes on\n", rec->episode, why);
            if (in_row >= MP_DIVERGE_MAX_IN_ROW) {
                fprintf(stderr, "metaplast: episodes %ld to %ld diverged, %d in a row: stopping (--diverge skip gives "
                        "up after %d in a row; everything written so far is kept)\n", rec->episode - in_row + 1,
                        rec->episode, in_row, MP_DIVERGE_MAX_IN_ROW);
                return MP_EXIT_RUNTIME;
            }
        } else {
            in_row = 0;
            if (mp_trainer_saturated(tr, rec))
                fprintf(stderr,
                        "metaplast: warning: episode %ld: the query loss's gradient is exactly 0 (loss %.6f; chance "
                        "is ln %d = %.6f): the network saturated%s\n",
                        rec->episode, rec->loss, tr->arch.n[MP_LAYERS], log((double)tr->arch.n[MP_LAYERS]),
                        fabs(cfg->a) >= 0.1 ? " (is --a too large?)" : "");
        }
        if (stop_signal && tr->episode < cfg->episodes) return 128 + (int)stop_signal;
        if (cfg->plot_every > 0 && tr->episode % cfg->plot_every == 0 &&
            write_plots(run_dir, *history, *n, cfg->avg_window, runlog->terms) != 0)
            return MP_EXIT_RUNTIME;
    }
    return MP_EXIT_OK;
}

int mp_train_run(const mp_config *cfg, const mp_dataset *ds, const char *run_dir, const mp_checkpoint *start,
                 mp_record *history, long n, long cap, const char *binding, FILE *out) {
    mp_err err;
    mp_trainer tr;
    mp_trainer_init(&tr, cfg, ds);
    int status = MP_EXIT_OK;
    if (start) {
        mp_trainer_load_state(&tr, start);
    } else {
        cap = 1024, n = 0;
        history = mp_malloc((size_t)cap * sizeof *history);
    }
    mp_runlog log = {.csv_fd = -1, .params_fd = -1};
    if (mp_runlog_open(&log, run_dir, tr.arch.terms, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        status = MP_EXIT_RUNTIME;
    } else {
        status = train_loop(&tr, &log, run_dir, binding, &history, &cap, &n, out);
    }
    /* whatever episodes finished are plotted, however the loop ended */
    if (n > 0 && write_plots(run_dir, history, n, cfg->avg_window, tr.arch.terms) != 0 && status == MP_EXIT_OK)
        status = MP_EXIT_RUNTIME;
    char quoted[2 * MP_PATH_MAX];
    if (status > 128)
        fprintf(stderr, "metaplast: stopped by signal %s after episode %ld of %ld; continue with: metaplast --resume %s\n",
                signal_name(status - 128), tr.episode, cfg->episodes,
                mp_shell_quote(run_dir, quoted, sizeof quoted));
    else if (status == MP_EXIT_OK && stop_signal)
        fprintf(stderr, "metaplast: %s came after the last episode: the run is complete (%ld episodes, plots "
                "drawn)\n", signal_name(stop_signal), tr.episode);
    mp_runlog_close(&log);
    mp_trainer_free(&tr);
    free(history);
    return status;
}
