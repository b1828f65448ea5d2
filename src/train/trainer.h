/* The trainer: what one meta-training episode needs and the state that carries from one
 * episode to the next. Private to the library (src/train/). */
#ifndef METAPLAST_TRAIN_TRAINER_H
#define METAPLAST_TRAIN_TRAINER_H

#include <stddef.h>

#include "metaplast/checkpoint.h"
#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "metaplast/record.h"
#include "metaplast/rng.h"
#include "model/core.h"
#include "sys/worker.h"
#include "train/adam.h"
#include "train/task.h"

/* One episode's draw: its task, initial weights W0 and feedback B0 (NULL in sym mode),
 * and the task's images and labels. */
typedef struct {
    mp_task task;
    float *W0, *B0, *x_train, *x_query;
    int *y_train, *y_query;
} mp_draw;

/* Room for a draw of arch's network and a task of M classes, K + Q images each; B0 only
 * with_feedback. */
void mp_draw_init(mp_draw *d, const mp_arch *arch, int M, int K, int Q, int with_feedback);
void mp_draw_free(mp_draw *d);
/* Draws, in this order, the task (from ds's class pool), W0 and B0 (when d has room for
 * it) from rng, then copies the task's images (pixels / 255) and labels into d. */
void mp_draw_fill(mp_draw *d, const mp_dataset *ds, const mp_arch *arch, mp_rng *rng);

/* Everything an episode needs; theta, adam, rng and episode are the state that carries
 * from one episode to the next (what a checkpoint saves). */
typedef struct {
    const mp_config *cfg;
    const mp_dataset *ds;
    mp_arch arch;
    int T, NQ;
    mp_rng rng;        /* as after the current draw's last random number */
    mp_draw draw[2];   /* the current draw (draw[cur]) and the next one, drawn ahead */
    int cur;
    /* With a worker, the worker draws episode k+1 with a copy of the generator while
     * episode k runs; the copy becomes the generator when episode k+1 starts, so the
     * numbers are the same either way. */
    int next_drawn;
    mp_rng rng_next;
    mp_episode_f32 *ep;
    mp_worker *worker; /* --threads 2 on a machine with 2 CPUs, else NULL */
    double theta[MP_THETAS];
    mp_adam adam;
    long episode; /* episodes finished */
} mp_trainer;

void mp_trainer_init(mp_trainer *tr, const mp_config *cfg, const mp_dataset *ds);
void mp_trainer_free(mp_trainer *tr);
/* Draws the next episode's task, initial weights and feedback (in this order) from the
 * trainer's generator into draw[cur]. */
void mp_trainer_draw(mp_trainer *tr);
/* One whole episode: draw, adapt, meta-gradient, statistics, Adam step. Fills rec.
 * Returns 0; or, when the loss, the weights, the meta-gradient, theta or Adam's moments
 * after the step are not finite (with what in why), theta and Adam stay as they were
 * before the episode (the generator has moved past its draw) and: with --diverge stop,
 * -1 (the episode is not counted as finished); with --diverge skip, 1 (it is:
 * rec->skipped = 1, episode + 1, no Adam step). */
int mp_trainer_episode(mp_trainer *tr, mp_record *rec, char *why, size_t why_cap);

/* The architecture and rule that cfg and the data describe. */
mp_arch mp_config_arch(const mp_config *cfg, const mp_dataset *ds);

/* The state a checkpoint carries, to and from a trainer. */
void mp_trainer_save_state(const mp_trainer *tr, mp_checkpoint *ck);
void mp_trainer_load_state(mp_trainer *tr, const mp_checkpoint *ck);

/* 1 when the episode's rec shows a saturated network: the query loss's part of dL/dtheta
 * (without the L1 penalty's) is exactly 0 for every term in use. */
int mp_trainer_saturated(const mp_trainer *tr, const mp_record *rec);

/* Seconds on a monotonic clock. */
double mp_now_seconds(void);

#endif
