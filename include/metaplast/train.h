/* Meta-training, as a program drives it: a whole run, the --gradcheck front end, the
 * stop signals, and the state of a run rebuilt from its rows. (The trainer itself is
 * src/train/trainer.h.) */
#ifndef METAPLAST_TRAIN_H
#define METAPLAST_TRAIN_H

#include <stdio.h>

#include "metaplast/checkpoint.h"
#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "metaplast/record.h"

/* --gradcheck: the first episode's task and initial weights, analytic dL/dtheta against
 * finite differences in double; prints a table to out. Returns the exit status:
 * 0 within MP_GRADCHECK_TOLERANCE, 1 otherwise. */
int mp_gradcheck_main(const mp_config *cfg, const mp_dataset *ds, FILE *out);

/* SIGINT, SIGTERM and SIGHUP ask the training loop to stop after the current episode;
 * a second one ends the process at once. */
void mp_install_stop_handlers(void);

/* --diverge skip: this many skipped episodes in a row stop the run anyway (exit 1). */
#define MP_DIVERGE_MAX_IN_ROW 10

/* How many of the first n rows a run can be continued from: the leading rows that are
 * either skipped (rows[i].skipped) or finished normally: loss, theta and gradient finite
 * and Adam's step on that gradient finite. The first other row is where a run with
 * --diverge stop stopped (kept for the record, recomputed by --resume). */
long mp_trainer_usable_rows(const mp_config *cfg, const mp_record *rows, long n);

/* The theta chain of the first n rows, without the data: each row's theta must be exactly
 * the one the rows before it lead to (theta = (a, 0, ..., 0) at the start, then Adam's
 * step on each row's gradient; none for a skipped row). Into ck: episode (the rows
 * checked), theta, Adam's moments and steps after them (not the generator, which only
 * the data's draws move). Returns 0, or -1 with the first row that is not right in why.
 * What it cannot see: a row's loss, accuracy, angles and E1 (only recomputing the
 * episode, mp_trainer_replay, checks those). The report (--report) uses it. */
int mp_trainer_theta_chain(const mp_config *cfg, const mp_record *rows, long n, mp_checkpoint *ck, char *why,
                           size_t why_cap);

/* The state after the first n episodes, rebuilt from their rows alone: the generator by
 * replaying the n episodes' draws, Adam and theta by replaying its steps on the rows'
 * gradients (none for a skipped row). Each row's theta must be exactly the one the rows before it lead to, and
 * the last row's episode is recomputed and must agree with the row (a skipped row: it must
 * diverge again; so the rows of another run, another seed or other data are refused). Returns 0, or -1 with the first
 * row that is not right in why. --resume uses it to check the rows against a checkpoint
 * and, when the checkpoint is missing or ahead of the rows (a machine crash), instead of
 * it. */
int mp_trainer_replay(const mp_config *cfg, const mp_dataset *ds, const mp_record *rows, long n, mp_checkpoint *ck,
                      char *why, size_t why_cap);

/* The whole run into run_dir (which exists, with args.txt, locked): episodes,
 * metrics.csv, params.txt, a checkpoint after every episode (bound to the run by
 * binding), the console lines on out, plots at the end, every --plot_every episodes and
 * on an early stop. With --diverge skip, a diverged episode is skipped (named on stderr)
 * and MP_DIVERGE_MAX_IN_ROW in a row (those at the end of history included) stop the
 * run. With start (a resumed run), continues from that state, with its n rows in history
 * (cap entries; the logs already cut back to them); history is taken over and freed. Returns the exit status: 0 (complete, also when a stop signal came
 * after the last episode), 1 (divergence: with --diverge stop, or too many skipped in a
 * row; or an I/O error), 128 + signal (stopped by SIGINT, SIGTERM or SIGHUP before the
 * last episode). */
int mp_train_run(const mp_config *cfg, const mp_dataset *ds, const char *run_dir, const mp_checkpoint *start,
                 mp_record *history, long n, long cap, const char *binding, FILE *out);
#endif
