#include "metaplast/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"
#include "metaplast/gradcheck.h"
#include "metaplast/plot.h"
#include "metaplast/runlog.h"
#include "metaplast/rules.h"
#include "metaplast/util.h"

static const int hidden_widths[] = {170, 130, 100, 70};

mp_arch mp_config_arch(const mp_config *cfg, const mp_dataset *ds) {
    mp_arch a;
    a.n[0] = cfg->dim * cfg->dim;
    for (int l = 1; l < MP_LAYERS; l++) a.n[l] = hidden_widths[l - 1];
    a.n[MP_LAYERS] = ds->nclasses;
    a.sym = cfg->fbk_sym;
    a.terms = mp_rule_mask(cfg->vec, cfg->nvec);
    return a;
}

void mp_trainer_initial_state(const mp_config *cfg, mp_checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    ck->theta[0] = cfg->a;
    mp_rng_seed(&ck->rng, (uint64_t)cfg->seed);
}

static void draw_init(mp_draw *d, const mp_trainer *tr) {
    size_t nw = mp_arch_weight_count(&tr->arch), n0 = (size_t)tr->arch.n[0];
    mp_task_init(&d->task, tr->cfg->M, tr->cfg->K, tr->cfg->Q);
    d->W0 = mp_malloc(nw * sizeof(float));
    d->B0 = tr->arch.sym ? NULL : mp_malloc(nw * sizeof(float));
    d->x_train = mp_malloc((size_t)tr->T * n0 * sizeof(float));
    d->x_query = mp_malloc((size_t)tr->NQ * n0 * sizeof(float));
    d->y_train = mp_malloc((size_t)tr->T * sizeof(int));
    d->y_query = mp_malloc((size_t)tr->NQ * sizeof(int));
}

static void draw_free(mp_draw *d) {
    mp_task_free(&d->task);
    free(d->W0), free(d->B0), free(d->x_train), free(d->x_query), free(d->y_train), free(d->y_query);
}

void mp_trainer_init(mp_trainer *tr, const mp_config *cfg, const mp_dataset *ds) {
    memset(tr, 0, sizeof *tr);
    tr->cfg = cfg;
    tr->ds = ds;
    tr->arch = mp_config_arch(cfg, ds);
    tr->T = cfg->M * cfg->K;
    tr->NQ = cfg->M * cfg->Q;
    for (int i = 0; i < 2; i++) draw_init(&tr->draw[i], tr);
    tr->ep = mp_episode_new_f32(&tr->arch, tr->T, tr->NQ);
    if (cfg->threads >= 2 && mp_worker_cpus() >= 2) tr->worker = mp_worker_start();
    mp_episode_set_worker_f32(tr->ep, tr->worker);
    mp_adam_init(&tr->adam, cfg->lr_meta);
    mp_checkpoint start;
    mp_trainer_initial_state(cfg, &start);
    mp_trainer_load_state(tr, &start);
}

void mp_trainer_free(mp_trainer *tr) {
    mp_worker_stop(tr->worker); /* after its last job: a draw ahead may still run */
    mp_episode_free_f32(tr->ep);
    for (int i = 0; i < 2; i++) draw_free(&tr->draw[i]);
}

/* Xavier/Glorot uniform: each entry uniform(-r, r), r = sqrt(6 / (n_in + n_out)). */
static void xavier_uniform(mp_rng *rng, const mp_arch *a, float *W) {
    for (int l = 1; l <= MP_LAYERS; l++) {
        double r = sqrt(6.0 / (a->n[l - 1] + a->n[l]));
        mp_rng_uniform_symmetric(rng, W + mp_arch_offset(a, l), (size_t)a->n[l] * (size_t)a->n[l - 1], r);
    }
}

static void load_images(const mp_dataset *ds, const int *index, int count, float *x, int *y) {
    size_t n0 = (size_t)ds->dim * (size_t)ds->dim;
    for (int s = 0; s < count; s++) {
        const uint8_t *px = ds->pixels + (size_t)index[s] * n0;
        for (size_t k = 0; k < n0; k++) x[(size_t)s * n0 + k] = (float)px[k] / 255.0f;
        y[s] = ds->labels[index[s]];
    }
}

static void draw_into(const mp_trainer *tr, mp_draw *d, mp_rng *rng) {
    mp_task_draw(&d->task, tr->ds, rng);
    xavier_uniform(rng, &tr->arch, d->W0);
    if (d->B0) xavier_uniform(rng, &tr->arch, d->B0);
    load_images(tr->ds, d->task.train, tr->T, d->x_train, d->y_train);
    load_images(tr->ds, d->task.query, tr->NQ, d->x_query, d->y_query);
}

void mp_trainer_draw(mp_trainer *tr) { draw_into(tr, &tr->draw[tr->cur], &tr->rng); }

/* The worker's job: the next draw, with the generator's copy. */
static void draw_next_part(void *arg, int part) {
    mp_trainer *tr = arg;
    if (part == 1) draw_into(tr, &tr->draw[tr->cur ^ 1], &tr->rng_next);
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int mp_trainer_episode(mp_trainer *tr, mp_record *rec, char *why, size_t why_cap) {
    double start = now_seconds();
    if (tr->next_drawn) {
        mp_worker_wait(tr->worker);
        tr->cur ^= 1;
        tr->rng = tr->rng_next;
        tr->next_drawn = 0;
    } else {
        mp_trainer_draw(tr);
    }
    if (tr->worker && tr->episode + 1 < tr->cfg->episodes) { /* the episode run hands it over */
        tr->rng_next = tr->rng;
        mp_episode_set_background_f32(tr->ep, draw_next_part, tr);
        tr->next_drawn = 1;
    }
    const mp_draw *d = &tr->draw[tr->cur];
    mp_episode_out out;
    int rc = mp_episode_run_f32(tr->ep, d->W0, d->B0, tr->theta, tr->cfg->lamb, d->x_train, d->y_train, tr->T,
                                d->x_query, d->y_query, tr->NQ, MP_EPISODE_GRAD | MP_EPISODE_STATS, &out);
    memset(rec, 0, sizeof *rec);
    rec->episode = tr->episode + 1;
    rec->loss = out.loss;
    rec->accuracy = out.accuracy;
    memcpy(rec->theta, tr->theta, sizeof rec->theta);
    memcpy(rec->E1, out.E1, sizeof rec->E1);
    memcpy(rec->angle, out.angle, sizeof rec->angle);
    memcpy(rec->grad, out.grad, sizeof rec->grad);
    if (rc != 0) {
        snprintf(why, why_cap, "%s", !isfinite(out.loss) ? "the query loss is not finite"
                                     : "the adapted weights or the meta-gradient are not finite");
        return -1;
    }
    mp_adam_step(&tr->adam, tr->theta, out.grad);
    for (int k = 0; k < MP_THETAS; k++) {
        if (!isfinite(tr->theta[k])) {
            snprintf(why, why_cap, "theta%d is not finite after the Adam step", k);
            return -1;
        }
        /* a gradient so large that its square overflows freezes theta without a NaN */
        if (!isfinite(tr->adam.m[k]) || !isfinite(tr->adam.v[k])) {
            snprintf(why, why_cap, "Adam's moment estimates of theta%d are not finite (dL/dtheta%d = %g)", k, k,
                     out.grad[k]);
            return -1;
        }
    }
    tr->episode++;
    rec->seconds = now_seconds() - start;
    return 0;
}

int mp_trainer_saturated(const mp_trainer *tr, const mp_record *rec) {
    for (int k = 0; k < MP_THETAS; k++) {
        if (!(tr->arch.terms & (1u << k))) continue;
        double l1 = tr->cfg->lamb * (rec->theta[k] > 0 ? 1 : rec->theta[k] < 0 ? -1 : 0);
        if (rec->grad[k] - l1 != 0) return 0;
    }
    return 1;
}

int mp_trainer_replay(const mp_config *cfg, const mp_dataset *ds, const mp_record *rows, long n, mp_checkpoint *ck,
                      char *why, size_t why_cap) {
    mp_config one = *cfg;
    one.threads = 1; /* draws only: no worker */
    mp_trainer tr;
    mp_trainer_init(&tr, &one, ds);
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        for (int k = 0; k < MP_THETAS; k++)
            if (memcmp(&rows[i].theta[k], &tr.theta[k], sizeof(double)) != 0) {
                snprintf(why, why_cap,
                         "row %ld: theta_%d is %.17g, but the rows before it lead to %.17g (the file was edited, "
                         "or mixes two runs)", i + 1, k, rows[i].theta[k], tr.theta[k]);
                rc = -1;
                break;
            }
        if (rc != 0) break;
        mp_trainer_draw(&tr); /* the generator moves as the episode's draw moved it */
        mp_adam_step(&tr.adam, tr.theta, rows[i].grad);
        tr.episode++;
    }
    mp_trainer_save_state(&tr, ck);
    mp_trainer_free(&tr);
    return rc;
}

static double *widen(const float *v, size_t n) {
    double *d = mp_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = v[i];
    return d;
}

int mp_gradcheck_main(const mp_config *cfg, const mp_dataset *ds, FILE *out) {
    mp_trainer tr;
    mp_trainer_init(&tr, cfg, ds);
    mp_trainer_draw(&tr);
    size_t nw = mp_arch_weight_count(&tr.arch), n0 = (size_t)tr.arch.n[0];
    const mp_draw *d = &tr.draw[tr.cur];
    double *W = widen(d->W0, nw), *B = d->B0 ? widen(d->B0, nw) : NULL;
    double *xt = widen(d->x_train, (size_t)tr.T * n0), *xq = widen(d->x_query, (size_t)tr.NQ * n0);
    /* theta as training starts: (a, 0, 0, 0, 0) */
    mp_gradcheck_row rows[MP_THETAS];
    double worst;
    int nrows = mp_gradcheck(&tr.arch, W, B, tr.theta, cfg->lamb, xt, d->y_train, tr.T, xq, d->y_query, tr.NQ, rows,
                             &worst);
    int status = 1;
    if (nrows < 0) {
        fprintf(out, "gradcheck: the episode diverged (non-finite loss or weights)\n");
    } else {
        fprintf(out, "gradcheck: fbk %s, T = %d steps, %d queries, double precision, central differences\n",
                cfg->fbk_sym ? "sym" : "fix", tr.T, tr.NQ);
        fprintf(out, "%-8s %-12s %24s %24s %12s\n", "theta", "term", "analytic", "numeric", "rel_error");
        for (int r = 0; r < nrows; r++)
            fprintf(out, "theta%-3d %-12s %24.15e %24.15e %12.3e\n", rows[r].theta, mp_rule_name(rows[r].theta),
                    rows[r].analytic, rows[r].numeric, rows[r].rel_error);
        status = worst <= MP_GRADCHECK_TOLERANCE ? 0 : 1;
        fprintf(out, "worst relative error %.3e, tolerance %.0e: %s\n", worst, MP_GRADCHECK_TOLERANCE,
                status == 0 ? "PASS" : "FAIL");
    }
    free(W), free(B), free(xt), free(xq);
    mp_trainer_free(&tr);
    return status;
}

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

static int write_plots(const char *run_dir, const mp_record *rec, long n, int avg_window) {
    mp_err err;
    if (mp_plot_all(run_dir, rec, (int)n, avg_window, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        return -1;
    }
    return 0;
}

void mp_trainer_save_state(const mp_trainer *tr, mp_checkpoint *ck) {
    ck->episode = tr->episode;
    memcpy(ck->theta, tr->theta, sizeof ck->theta);
    memcpy(ck->adam_m, tr->adam.m, sizeof ck->adam_m);
    memcpy(ck->adam_v, tr->adam.v, sizeof ck->adam_v);
    ck->adam_step = tr->adam.step;
    ck->rng = tr->rng;
    memset(ck->binding, 0, sizeof ck->binding);
}

void mp_trainer_load_state(mp_trainer *tr, const mp_checkpoint *ck) {
    if (tr->next_drawn) { /* drawn with the generator being replaced: forget it */
        mp_worker_wait(tr->worker);
        tr->next_drawn = 0;
    }
    tr->episode = ck->episode;
    memcpy(tr->theta, ck->theta, sizeof tr->theta);
    memcpy(tr->adam.m, ck->adam_m, sizeof tr->adam.m);
    memcpy(tr->adam.v, ck->adam_v, sizeof tr->adam.v);
    tr->adam.step = ck->adam_step;
    tr->rng = ck->rng;
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
    double last_sync = now_seconds();
    int console_ok = 1;
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
        char why[256], line[512];
        int diverged = mp_trainer_episode(tr, rec, why, sizeof why) != 0;
        mp_checkpoint ck;
        mp_trainer_save_state(tr, &ck);
        snprintf(ck.binding, sizeof ck.binding, "%s", binding);
        /* The row first, then the checkpoint: a kill in between leaves a row that --resume
         * cuts off and recomputes. Every few seconds (and at the end) both are made
         * durable, the logs before the checkpoint, so that after a machine crash the
         * durable checkpoint is never ahead of the durable rows (and when a checkpoint
         * written since is, --resume rebuilds the state from the rows). */
        double t = now_seconds();
        int durable = t - last_sync >= CHECKPOINT_SYNC_SECONDS || tr->episode == cfg->episodes || stop_signal;
        if (mp_runlog_append(runlog, rec, &err) != 0 || (durable && mp_runlog_sync(runlog, &err) != 0) ||
            (!diverged && mp_checkpoint_save(run_dir, &ck, durable, &err) != 0)) {
            fprintf(stderr, "metaplast: %s\n", err.msg);
            return MP_EXIT_RUNTIME;
        }
        if (durable) last_sync = t;
        (*n)++;
        mp_format_console_line(rec, line, sizeof line);
        console_line(out, line, &console_ok);
        if (diverged) {
            fprintf(stderr, "metaplast: episode %ld diverged: %s; stopping (everything written so far is kept)\n",
                    rec->episode, why);
            return MP_EXIT_RUNTIME;
        }
        if (mp_trainer_saturated(tr, rec))
            fprintf(stderr,
                    "metaplast: warning: episode %ld: the query loss's gradient is exactly 0 (loss %.6f; chance is "
                    "ln %d = %.6f): the network saturated%s\n",
                    rec->episode, rec->loss, tr->arch.n[MP_LAYERS], log((double)tr->arch.n[MP_LAYERS]),
                    fabs(cfg->a) >= 0.1 ? " (is --a too large?)" : "");
        if (stop_signal && tr->episode < cfg->episodes) return 128 + (int)stop_signal;
        if (cfg->plot_every > 0 && tr->episode % cfg->plot_every == 0 &&
            write_plots(run_dir, *history, *n, cfg->avg_window) != 0)
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
    if (mp_runlog_open(&log, run_dir, &err) != 0) {
        fprintf(stderr, "metaplast: %s\n", err.msg);
        status = MP_EXIT_RUNTIME;
    } else {
        status = train_loop(&tr, &log, run_dir, binding, &history, &cap, &n, out);
    }
    /* whatever episodes finished are plotted, however the loop ended */
    if (n > 0 && write_plots(run_dir, history, n, cfg->avg_window) != 0 && status == MP_EXIT_OK)
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
