/* Small statistics over runs and tasks: the Student t distribution (its CDF and quantile,
 * through the regularized incomplete beta function, our own code) and the mean, sd and
 * 95% interval of a sample (src/sys/stats.c). Used by the report over many runs; meant
 * for the meta-test's intervals too. Pure functions: no state, safe from any thread. */
#ifndef METAPLAST_STATS_H
#define METAPLAST_STATS_H

/* The regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1]; NaN
 * outside. Continued fraction (modified Lentz), about 1e-14 relative. */
double mp_incbeta(double a, double b, double x);

/* P(T <= t) for Student's t with df > 0 degrees of freedom (df need not be an integer);
 * NaN for df <= 0 or a NaN t. */
double mp_t_cdf(double t, double df);

/* The p-quantile of Student's t with df >= 1 degrees of freedom: the t with
 * mp_t_cdf(t, df) = p, to about 1e-13 relative (bisection on the tail probability).
 * mp_t_quantile(0.975, n - 1) is the factor of a 95% interval of a mean of n values.
 * NaN when p is not in (0, 1) or df < 1. */
double mp_t_quantile(double p, int df);

/* Mean, sample sd and 95% interval of n values: mean +- t_{0.975, n-1} sd / sqrt(n). */
typedef struct {
    int n;
    double mean;     /* NaN when n = 0 */
    double sd;       /* sample sd (divisor n - 1); NaN when n < 2 */
    double lo, hi;   /* the 95% interval; NaN when n < 2 */
} mp_summary;

/* The summary of v[0..n). Non-finite values are the caller's to leave out: they make
 * the mean NaN. */
mp_summary mp_summarize(const double *v, int n);

#endif
