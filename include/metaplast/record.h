/* One episode's record: what the console line, metrics.csv and the plots show. */
#ifndef METAPLAST_RECORD_H
#define METAPLAST_RECORD_H

#define MP_THETAS 10 /* theta_0..theta_9: one per term of the rule pool (src/model/rules.h) */
#define MP_LAYERS 5  /* weight matrices W1..W5 */

/* Why a run directory of metaplast 0.1 (5 thetas: metrics.csv of 25 columns, checkpoint
 * versions 1 and 2, args.txt without --diverge) is not continued: the messages that
 * refuse one end with this. */
#define MP_BEFORE_POOL_WHY                                                                                        \
    "written by metaplast 0.1, before the rule pool (5 thetas, metrics.csv of 25 columns); this metaplast "      \
    "(10 thetas) does not continue such a run: finish it with the metaplast that started it, or start a new run"

typedef struct {
    long episode;                   /* 1-based */
    double loss;                    /* query loss incl. lamb * sum|theta| */
    double accuracy;                /* query accuracy */
    double theta[MP_THETAS];        /* as used in this episode (before the Adam step) */
    double E1[MP_LAYERS];           /* E1_1..E1_5, orthonormality errors */
    double angle[MP_LAYERS + 1];    /* angle_0..angle_5, degrees */
    double grad[MP_THETAS];         /* dL/dtheta of this episode */
    int skipped;                    /* 1: diverged and skipped (--diverge skip): no Adam step */
    double seconds;                 /* wall time of the episode */
} mp_record;

#endif
