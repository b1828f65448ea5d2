/* Meta-training: episodes of task draw, adaptation, meta-gradient and Adam step. */
#ifndef METAPLAST_TRAIN_H
#define METAPLAST_TRAIN_H

#include <stdio.h>

#include "metaplast/adam.h"
#include "metaplast/checkpoint.h"
#include "metaplast/cli.h"
#include "metaplast/core.h"
#include "metaplast/data.h"
#include "metaplast/record.h"
#include "metaplast/rng.h"
#include "metaplast/task.h"

/* One episode's draw: its task, initial weights W0 and feedback B0 (NULL in sym mode),
 * and the task's images and labels. */
typedef struct {
    mp_task task;
    float *W0, *B0, *x_train, *x_query;
    int *y_train, *y_query;
} mp_draw;

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
 * Returns 0, or -1 when something diverged, with what in why. */
int mp_trainer_episode(mp_trainer *tr, mp_record *rec, char *why, size_t why_cap);

/* The architecture and rule that cfg and the data describe. */
mp_arch mp_config_arch(const mp_config *cfg, const mp_dataset *ds);

/* --gradcheck: the first episode's task and initial weights, analytic dL/dtheta against
 * finite differences in double; prints a table to out. Returns the exit status:
 * 0 within MP_GRADCHECK_TOLERANCE, 1 otherwise. */
int mp_gradcheck_main(const mp_config *cfg, const mp_dataset *ds, FILE *out);

/* SIGINT, SIGTERM and SIGHUP ask the training loop to stop after the current episode;
 * a second one ends the process at once. */
void mp_install_stop_handlers(void);

/* The state before the first episode: theta = (a, 0, 0, 0, 0), Adam at rest, the
 * generator seeded with --seed. */
void mp_trainer_initial_state(const mp_config *cfg, mp_checkpoint *ck);
/* The state a checkpoint carries, to and from a trainer. */
void mp_trainer_save_state(const mp_trainer *tr, mp_checkpoint *ck);
void mp_trainer_load_state(mp_trainer *tr, const mp_checkpoint *ck);

/* 1 when the episode's rec shows a saturated network: the query loss's part of dL/dtheta
 * (without the L1 penalty's) is exactly 0 for every term in use. */
int mp_trainer_saturated(const mp_trainer *tr, const mp_record *rec);

/* The state after the first n episodes, rebuilt from their rows alone (for --resume when
 * the checkpoint is missing, or ahead of the rows after a machine crash): the generator
 * by replaying the n episodes' draws, Adam and theta by replaying its steps on the rows'
 * gradients. Each row's theta must be exactly the one the rows before it lead to;
 * returns 0, or -1 with the first row that is not in why. */
int mp_trainer_replay(const mp_config *cfg, const mp_dataset *ds, const mp_record *rows, long n, mp_checkpoint *ck,
                      char *why, size_t why_cap);

/* The whole run into run_dir (which exists, with args.txt, locked): episodes,
 * metrics.csv, params.txt, a checkpoint after every episode (bound to the run by
 * binding), the console lines on out, plots at the end, every --plot_every episodes and
 * on an early stop. With start (a resumed run), continues from that state, with its n
 * rows in history (cap entries; the logs already cut back to them); history is taken
 * over and freed. Returns the exit status: 0 (complete, also when a stop signal came
 * after the last episode), 1 (divergence or I/O error), 128 + signal (stopped by SIGINT,
 * SIGTERM or SIGHUP before the last episode). */
int mp_train_run(const mp_config *cfg, const mp_dataset *ds, const char *run_dir, const mp_checkpoint *start,
                 mp_record *history, long n, long cap, const char *binding, FILE *out);
#endif
