/* The trainer: the architecture a configuration describes, the draws of an episode
 * (task, initial weights, feedback), one meta-training episode (adaptation,
 * meta-gradient, Adam step) and the state that carries from one episode to the next. */
#include "train/trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metaplast/util.h"
#include "model/rules.h"

static const int hidden_widths[] = {170, 130, 100, 70};

mp_arch mp_config_arch(const mp_config *cfg, const mp_dataset *ds) {
    mp_arch a;
    a.n[0] = cfg->dim * cfg->dim;
    for (int l = 1; l < MP_LAYERS; l++) a.n[l] = hidden_widths[l - 1];
    a.n[MP_LAYERS] = ds->nclasses;
    a.feedback = cfg->fbk_sym ? MP_FEEDBACK_SYMMETRIC : MP_FEEDBACK_FIXED;
    a.terms = mp_rule_mask(cfg->vec, cfg->nvec);
    return a;
}

/* The state before the first episode: theta = (a, 0, ..., 0), Adam at rest, the
 * generator seeded with --seed. */
static void initial_state(const mp_config *cfg, mp_checkpoint *ck) {
    memset(ck, 0, sizeof *ck);
    ck->theta[0] = cfg->a;
    mp_rng_seed(&ck->rng, (uint64_t)cfg->seed);
}

void mp_draw_init(mp_draw *d, const mp_arch *arch, int M, int K, int Q, int with_feedback) {
    size_t nw = mp_arch_weight_count(arch), n0 = (size_t)arch->n[0], T = (size_t)M * K, NQ = (size_t)M * Q;
    mp_task_init(&d->task, M, K, Q);
    d->W0 = mp_malloc(nw * sizeof(float));
    d->B0 = with_feedback ? mp_malloc(nw * sizeof(float)) : NULL;
    d->x_train = mp_malloc(T * n0 * sizeof(float));
    d->x_query = mp_malloc(NQ * n0 * sizeof(float));
    d->y_train = mp_malloc(T * sizeof(int));
    d->y_query = mp_malloc(NQ * sizeof(int));
}

void mp_draw_free(mp_draw *d) {
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
    for (int i = 0; i < 2; i++)
        mp_draw_init(&tr->draw[i], &tr->arch, cfg->M, cfg->K, cfg->Q, tr->arch.feedback != MP_FEEDBACK_SYMMETRIC);
    tr->ep = mp_episode_new_f32(&tr->arch, tr->T, tr->NQ);
    if (cfg->threads >= 2 && mp_worker_cpus() >= 2) tr->worker = mp_worker_start();
    mp_episode_set_worker_f32(tr->ep, tr->worker);
    mp_adam_init(&tr->adam, cfg->lr_meta);
    mp_checkpoint start;
    initial_state(cfg, &start);
    mp_trainer_load_state(tr, &start);
}

void mp_trainer_free(mp_trainer *tr) {
    mp_worker_stop(tr->worker); /* after its last job: a draw ahead may still run */
    mp_episode_free_f32(tr->ep);
    for (int i = 0; i < 2; i++) mp_draw_free(&tr->draw[i]);
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

void mp_draw_fill(mp_draw *d, const mp_dataset *ds, const mp_arch *arch, mp_rng *rng) {
    const mp_task *t = &d->task;
    mp_task_draw(&d->task, ds, rng);
    xavier_uniform(rng, arch, d->W0);
    if (d->B0) xavier_uniform(rng, arch, d->B0);
    load_images(ds, t->train, t->M * t->K, d->x_train, d->y_train);
    load_images(ds, t->query, t->M * t->Q, d->x_query, d->y_query);
}

void mp_trainer_draw(mp_trainer *tr) { mp_draw_fill(&tr->draw[tr->cur], tr->ds, &tr->arch, &tr->rng); }

/* The worker's job: the next draw, with the generator's copy. */
static void draw_next_part(void *arg, int part) {
    mp_trainer *tr = arg;
    if (part == 1) mp_draw_fill(&tr->draw[tr->cur ^ 1], tr->ds, &tr->arch, &tr->rng_next);
}


int mp_trainer_episode(mp_trainer *tr, mp_record *rec, char *why, size_t why_cap) {
    double start = mp_now_seconds();
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
    memset(&out, 0, sizeof out); /* a diverged episode leaves the statistics unset */
    int rc = mp_episode_run_f32(tr->ep, &(mp_episode_inputs_f32){d->W0, d->B0, tr->theta, tr->cfg->lamb, d->x_train, d->y_train, tr->T, d->x_query, d->y_query, tr->NQ}, MP_EPISODE_GRAD | MP_EPISODE_STATS, &out);
    memset(rec, 0, sizeof *rec);
    rec->episode = tr->episode + 1;
    rec->loss = out.loss;
    rec->accuracy = out.accuracy;
    memcpy(rec->theta, tr->theta, sizeof rec->theta);
    memcpy(rec->E1, out.E1, sizeof rec->E1);
    memcpy(rec->angle, out.angle, sizeof rec->angle);
    memcpy(rec->grad, out.grad, sizeof rec->grad);
    int diverged = rc != 0;
    if (diverged) {
        snprintf(why, why_cap, "%s", !isfinite(out.loss) ? "the query loss is not finite"
                                     : "the adapted weights or the meta-gradient are not finite");
    } else {
        double theta_before[MP_THETAS];
        mp_adam adam_before = tr->adam;
        memcpy(theta_before, tr->theta, sizeof theta_before);
        mp_adam_step(&tr->adam, tr->theta, out.grad);
        for (int k = 0; k < MP_THETAS && !diverged; k++) {
            if (!isfinite(tr->theta[k])) {
                snprintf(why, why_cap, "theta%d is not finite after the Adam step", k);
                diverged = 1;
            } else if (!isfinite(tr->adam.m[k]) || !isfinite(tr->adam.v[k])) {
                /* a gradient so large that its square overflows freezes theta without a NaN */
                snprintf(why, why_cap, "Adam's moment estimates of theta%d are not finite (dL/dtheta%d = %g)", k, k,
                         out.grad[k]);
                diverged = 1;
            }
        }
        if (diverged) { /* the step is undone: theta and Adam as before the episode */
            tr->adam = adam_before;
            memcpy(tr->theta, theta_before, sizeof theta_before);
        }
    }
    rec->seconds = mp_now_seconds() - start;
    if (diverged && !tr->cfg->diverge_skip) return -1;
    rec->skipped = diverged;
    tr->episode++;
    return diverged;
}

int mp_trainer_saturated(const mp_trainer *tr, const mp_record *rec) {
    for (int k = 0; k < MP_THETAS; k++) {
        if (!(tr->arch.terms & (1u << k))) continue;
        double l1 = tr->cfg->lamb * (rec->theta[k] > 0 ? 1 : rec->theta[k] < 0 ? -1 : 0);
        if (rec->grad[k] - l1 != 0) return 0;
    }
    return 1;
}

/* 1 when a recomputed episode rec agrees with its row: bit for bit on the same build; a
 * tolerance leaves room for another build's rounding (the rows of another run, another
 * seed or other data, differ from the first digits on). */
static int same_episode(const mp_record *rec, const mp_record *row, char *what, size_t cap) {
    if (!(fabs(rec->loss - row->loss) <= 1e-6 * fabs(row->loss))) {
        snprintf(what, cap, "loss %.17g, recomputed %.17g", row->loss, rec->loss);
        return 0;
    }
    double gmax = 0;
    for (int k = 0; k < MP_THETAS; k++) gmax = fmax(gmax, fabs(row->grad[k]));
    for (int k = 0; k < MP_THETAS; k++)
        if (!(fabs(rec->grad[k] - row->grad[k]) <= 1e-4 * gmax)) {
            snprintf(what, cap, "grad_%d %.17g, recomputed %.17g", k, row->grad[k], rec->grad[k]);
            return 0;
        }
    return 1;
}

long mp_trainer_usable_rows(const mp_config *cfg, const mp_record *rows, long n) {
    mp_adam adam;
    mp_adam_init(&adam, cfg->lr_meta);
    double theta[MP_THETAS];
    for (long i = 0; i < n; i++) {
        const mp_record *r = &rows[i];
        for (int k = 0; k < MP_THETAS; k++)
            if (!isfinite(r->theta[k])) return i;
        if (r->skipped) continue; /* no Adam step */
        if (!isfinite(r->loss)) return i;
        for (int k = 0; k < MP_THETAS; k++)
            if (!isfinite(r->grad[k])) return i;
        memcpy(theta, r->theta, sizeof theta); /* only the step's finiteness is looked at */
        mp_adam_step(&adam, theta, r->grad);
        for (int k = 0; k < MP_THETAS; k++)
            if (!isfinite(theta[k]) || !isfinite(adam.m[k]) || !isfinite(adam.v[k])) return i;
    }
    return n;
}

/* Row i's theta is, bit for bit, the theta the rows before it lead to: 0, or -1 with why. */
static int check_row_theta(const mp_record *row, long i, const double *theta, char *why, size_t why_cap) {
    for (int k = 0; k < MP_THETAS; k++)
        if (memcmp(&row->theta[k], &theta[k], sizeof(double)) != 0) {
            snprintf(why, why_cap,
                     "row %ld: theta_%d is %.17g, but the rows before it lead to %.17g (the file was edited, or "
                     "mixes two runs)", i + 1, k, row->theta[k], theta[k]);
            return -1;
        }
    return 0;
}

int mp_trainer_theta_chain(const mp_config *cfg, const mp_record *rows, long n, mp_checkpoint *ck, char *why,
                           size_t why_cap) {
    mp_checkpoint start;
    initial_state(cfg, &start);
    mp_adam adam;
    mp_adam_init(&adam, cfg->lr_meta);
    double theta[MP_THETAS];
    memcpy(theta, start.theta, sizeof theta);
    int rc = 0;
    long i = 0;
    for (; i < n && rc == 0; i++) {
        rc = check_row_theta(&rows[i], i, theta, why, why_cap);
        if (rc == 0 && !rows[i].skipped) mp_adam_step(&adam, theta, rows[i].grad); /* a skipped row took none */
    }
    memset(ck, 0, sizeof *ck);
    ck->episode = i;
    memcpy(ck->theta, theta, sizeof ck->theta);
    memcpy(ck->adam_m, adam.m, sizeof ck->adam_m);
    memcpy(ck->adam_v, adam.v, sizeof ck->adam_v);
    ck->adam_step = adam.step;
    return rc;
}

int mp_trainer_replay(const mp_config *cfg, const mp_dataset *ds, const mp_record *rows, long n, mp_checkpoint *ck,
                      char *why, size_t why_cap) {
    mp_config one = *cfg;
    one.threads = 1; /* draws only, and one episode: no worker (same numbers) */
    one.diverge_skip = 1; /* the last row's episode is recomputed whatever it does */
    mp_trainer tr;
    mp_trainer_init(&tr, &one, ds);
    int rc = 0;
    for (long i = 0; i < n && rc == 0; i++) {
        rc = check_row_theta(&rows[i], i, tr.theta, why, why_cap);
        if (rc != 0) break;
        if (i == n - 1) { /* the last row is recomputed: rows of another run do not pass */
            mp_checkpoint before;
            mp_trainer_save_state(&tr, &before);
            mp_record rec;
            char diverged[256], what[320] = "";
            int got = mp_trainer_episode(&tr, &rec, diverged, sizeof diverged);
            if (got != 0 && !rows[i].skipped)
                snprintf(what, sizeof what, "it diverges: %s", diverged);
            else if (got == 0 && rows[i].skipped)
                snprintf(what, sizeof what, "the row says skipped, the episode does not diverge");
            else if (got != 0 && isfinite(rows[i].loss) && isfinite(rec.loss) &&
                     !(fabs(rec.loss - rows[i].loss) <= 1e-6 * fabs(rows[i].loss)))
                snprintf(what, sizeof what, "loss %.17g, recomputed %.17g", rows[i].loss, rec.loss);
            if (what[0] || (got == 0 && !same_episode(&rec, &rows[i], what, sizeof what))) {
                snprintf(why, why_cap, "row %ld does not match its episode recomputed from the rows before it (%s): the "
                         "rows are another run's, or were edited", i + 1, what);
                rc = -1;
                break;
            }
            mp_trainer_load_state(&tr, &before);
        }
        mp_trainer_draw(&tr); /* the generator moves as the episode's draw moved it */
        if (!rows[i].skipped) mp_adam_step(&tr.adam, tr.theta, rows[i].grad); /* a skipped row took none */
        tr.episode++;
    }
    mp_trainer_save_state(&tr, ck);
    mp_trainer_free(&tr);
    return rc;
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

double mp_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
