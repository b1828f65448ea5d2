/* The meta-test's one step, exposed for the tests: a rule adapting to one test task, the
 * query set scored along the way. Private to the library (src/train/). */
#ifndef METAPLAST_TRAIN_EVAL_INTERNAL_H
#define METAPLAST_TRAIN_EVAL_INTERNAL_H

#include <stddef.h>

#include "model/core.h"
#include "train/trainer.h"

/* The rule of ep's architecture with coefficients theta adapts to draw d (T training
 * samples, T = tpoint[P-1]; NQ queries) exactly as in a training episode's adaptation, with no
 * meta-gradient and no L1 term in the loss. The adaptation runs in pieces: from
 * tpoint[j-1] (0 for j = 0) to tpoint[j] samples, j = 0 .. P-1 (tpoint ascending,
 * tpoint[0] = 0, tpoint[P-1] = T), each piece starting from the weights the one before
 * left: the plasticity step reads only the current weights and sample, so the pieces
 * make the same T steps as one run, up to float rounding. After piece j, acc[j] and
 * loss[j] are the query set's accuracy and mean cross-entropy. W is scratch for
 * mp_arch_weight_count floats. Returns 0, or 1 when the weights stopped being finite:
 * from that piece on acc is 0 and loss NaN (a network of non-numbers predicts nothing). */
int mp_eval_adapt(mp_episode_f32 *ep, const mp_draw *d, const double *theta, int NQ, const int *tpoint,
                  int P, size_t nw, int n0, float *W, double *acc, double *loss);

#endif
