#include "metaplast/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>

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
    for (int k = 0; k < MP_THETAS; k++)
        if (!isfinite(tr->theta[k])) {
            snprintf(why, why_cap, "theta%d is not finite after the Adam step", k);
            return -1;
        }
    tr->episode++;
    rec->seconds = now_seconds() - start;
    return 0;
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

static void on_stop_signal(int sig) { stop_signal = sig; }

void mp_install_stop_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
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

/* A machine crash loses at most this much training since the last fsync'd checkpoint
 * (a killed process loses nothing: every episode's checkpoint is atomic). */
#define CHECKPOINT_SYNC_SECONDS 5.0

/* The episode loop; history holds *n records (those of a resumed run first). */
static int train_loop(mp_trainer *tr, mp_runlog *log, const char *run_dir, mp_record **history, long *cap, long *n,
                      FILE *out) {
    const mp_config *cfg = tr->cfg;
    mp_err err;
    double last_sync = now_seconds();
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
        /* the log first, then the checkpoint: a kill in between leaves a row that
         * --resume cuts off and recomputes */
        /* durable every CHECKPOINT_SYNC_SECONDS and at the end; atomic always */
        double t = now_seconds();
        int durable = t - last_sync >= CHECKPOINT_SYNC_SECONDS || tr->episode == cfg->episodes || stop_signal;
        if (mp_runlog_append(log, rec, &err) != 0 ||
            (!diverged && mp_checkpoint_save(run_dir, &ck, durable, &err) != 0)) {
            fprintf(stderr, "metaplast: %s\n", err.msg);
            return MP_EXIT_RUNTIME;
        }
        if (durable) last_sync = t;
        (*n)++;
        mp_format_console_line(rec, line, sizeof line);
        fprintf(out, "%s\n", line);
        fflush(out);
        if (diverged) {
            fprintf(stderr, "metaplast: episode %ld diverged: %s; stopping (everything written so far is kept)\n",
                    rec->episode, why);
            return MP_EXIT_RUNTIME;
        }
        if (stop_signal) return 128 + (int)stop_signal;
        if (cfg->plot_every > 0 && tr->episode % cfg->plot_every == 0 &&
            write_plots(run_dir, *history, *n, cfg->avg_window) != 0)
            return MP_EXIT_RUNTIME;
    }
    return MP_EXIT_OK;
}

int mp_train_run(const mp_config *cfg, const mp_dataset *ds, const char *run_dir, const mp_checkpoint *resume,
                 FILE *out) {
    mp_err err;
    mp_trainer tr;
    mp_trainer_init(&tr, cfg, ds);
    long cap = 1024, n = 0;
    mp_record *history = NULL;
    int status = MP_EXIT_OK;
    if (resume) {
        if (mp_runlog_restore(run_dir, resume->episode, &history, &cap, &err) != 0) status = MP_EXIT_RUNTIME;
        mp_trainer_load_state(&tr, resume);
        n = resume->episode;
    } else {
        history = mp_malloc((size_t)cap * sizeof *history);
    }
    mp_runlog log = {.csv_fd = -1, .params_fd = -1};
    if (status == MP_EXIT_OK && mp_runlog_open(&log, run_dir, &err) != 0) status = MP_EXIT_RUNTIME;
    if (status != MP_EXIT_OK)
        fprintf(stderr, "metaplast: %s\n", err.msg);
    else
        status = train_loop(&tr, &log, run_dir, &history, &cap, &n, out);
    /* whatever episodes finished are plotted, however the loop ended */
    if (n > 0 && write_plots(run_dir, history, n, cfg->avg_window) != 0 && status == MP_EXIT_OK)
        status = MP_EXIT_RUNTIME;
    if (status == 128 + SIGINT || status == 128 + SIGTERM)
        fprintf(stderr, "metaplast: stopped by signal after episode %ld; continue with: metaplast --resume %s\n",
                tr.episode, run_dir);
    mp_runlog_close(&log);
    mp_trainer_free(&tr);
    free(history);
    return status;
}
