/* The Student t distribution and sample summaries (include/metaplast/stats.h). The t CDF
 * is the regularized incomplete beta function of df / (df + t^2), evaluated by its
 * continued fraction; the quantile is found by bisection on the tail, which needs no
 * derivative and cannot diverge: 200 halvings of a bracket are far more than double
 * precision needs. */
#include "metaplast/stats.h"

#include <math.h>

/* The continued fraction of I_x(a, b) (Numerical Recipes' betacf, modified Lentz),
 * which converges fast for x < (a + 1) / (a + b + 2). */
static double beta_fraction(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    /* about sqrt(max(a, b)) terms are needed: 10000 covers df of 10^7 and more */
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

double mp_incbeta(double a, double b, double x) {
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1)) return NAN;
    if (x == 0 || x == 1) return x;
    /* lgamma's sign output (signgam) is not needed: a, b > 0 make every gamma positive */
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

/* P(T > t) for t >= 0: half of I_{df/(df+t^2)}(df/2, 1/2), accurate far into the tail. */
static double t_tail(double t, double df) { return 0.5 * mp_incbeta(df / 2, 0.5, df / (df + t * t)); }

double mp_t_cdf(double t, double df) {
    if (!(df > 0) || isnan(t)) return NAN;
    if (isinf(t)) return t > 0 ? 1 : 0;
    double tail = t_tail(fabs(t), df);
    return t >= 0 ? 1 - tail : tail;
}

double mp_t_quantile(double p, int df) {
    if (!(p > 0) || !(p < 1) || df < 1) return NAN;
    if (p == 0.5) return 0;
    /* the upper tail's probability q < 1/2, found as t >= 0, mirrored for p < 1/2 */
    double q = p > 0.5 ? 1 - p : p;
    double lo = 0, hi = 1;
    while (t_tail(hi, df) > q) {
        lo = hi;
        hi *= 2;
        if (!isfinite(hi)) return p > 0.5 ? INFINITY : -INFINITY;
    }
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = lo + (hi - lo) / 2;
        if (t_tail(mid, df) > q)
            lo = mid;
        else
            hi = mid;
    }
    double t = lo + (hi - lo) / 2;
    return p > 0.5 ? t : -t;
}

mp_summary mp_summarize(const double *v, int n) {
    mp_summary s = {n < 0 ? 0 : n, NAN, NAN, NAN, NAN};
    if (s.n == 0) return s;
    double sum = 0;
    for (int i = 0; i < s.n; i++) sum += v[i];
    s.mean = sum / s.n;
    if (s.n < 2) return s;
    /* two passes: the squares of the deviations, not of the values (no cancellation) */
    double ss = 0;
    for (int i = 0; i < s.n; i++) ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = sqrt(ss / (s.n - 1));
    double half = mp_t_quantile(0.975, s.n - 1) * s.sd / sqrt((double)s.n);
    s.lo = s.mean - half;
    s.hi = s.mean + half;
    return s;
}
