/* One episode's record: what the console line, metrics.csv and the plots show. */
#ifndef METAPLAST_RECORD_H
#define METAPLAST_RECORD_H

#define MP_THETAS 5  /* theta0..theta4 */
#define MP_LAYERS 5  /* weight matrices W1..W5 */

typedef struct {
    long episode;                   /* 1-based */
    double loss;                    /* query loss incl. lamb * sum|theta| */
    double accuracy;                /* query accuracy */
    double theta[MP_THETAS];        /* as used in this episode (before the Adam step) */
    double E1[MP_LAYERS];           /* E1_1..E1_5, orthonormality errors */
    double angle[MP_LAYERS + 1];    /* angle_0..angle_5, degrees */
    double grad[MP_THETAS];         /* dL/dtheta of this episode */
    double seconds;                 /* wall time of the episode */
} mp_record;

#endif
