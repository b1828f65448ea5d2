/* The roofline of issue 5: the time of one pass of cblas_sgemv (row-major, NoTrans)
 * through the five weight matrices of the default network 784-170-130-100-70-47, the
 * median of many timed passes after a warm-up, first on one OpenBLAS thread (the
 * reference) and then on two (for the record).
 *   roofline [REPS]   (default 2000)
 * Prints, e.g.:
 *   roofline 1 thread: 9.123 us
 *   roofline 2 threads: 8.456 us
 * with a header line before them; tests/bench/bench.sh reads the "1 thread" line. */
#include <cblas.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { LAYERS = 5, WARMUP = 200 };
static const int sizes[LAYERS + 1] = {784, 170, 130, 100, 70, 47};

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void *xmalloc(size_t size) {
    void *p = malloc(size);
    if (!p) {
        perror("roofline");
        exit(1);
    }
    return p;
}

/* Uniform in [0, 1) from a 32-bit linear congruential generator: any data will do. */
static float uniform(unsigned *seed) {
    *seed = *seed * 1103515245u + 12345u;
    return (float)(*seed >> 8) / 16777216.0f;
}

/* One forward pass: act[l+1] = W[l] act[l], W[l] of sizes[l+1] x sizes[l]. */
static void pass(float *const W[LAYERS], float *const act[LAYERS + 1]) {
    for (int l = 0; l < LAYERS; l++)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, sizes[l + 1], sizes[l], 1.0f, W[l], sizes[l],
                    act[l], 1, 0.0f, act[l + 1], 1);
}

/* Median time of one pass, in microseconds, over reps timed passes. */
static double median_pass_us(float *const W[LAYERS], float *const act[LAYERS + 1], double *t,
                             long reps) {
    for (int i = 0; i < WARMUP; i++) pass(W, act);
    for (long i = 0; i < reps; i++) {
        double t0 = now_us();
        pass(W, act);
        t[i] = now_us() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    return reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
}

/* A whole number >= 1, or false. */
static int parse_reps(const char *text, long *reps) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < 1) return 0;
    *reps = v;
    return 1;
}

int main(int argc, char **argv) {
    long reps = 2000;
    if (argc > 2 || (argc == 2 && !parse_reps(argv[1], &reps))) {
        fprintf(stderr, "usage: roofline [REPS >= 1]\n");
        return 2;
    }
    float *W[LAYERS], *act[LAYERS + 1];
    long weights = 0;
    unsigned seed = 1;
    for (int l = 0; l <= LAYERS; l++) {
        act[l] = xmalloc(sizeof(float) * (size_t)sizes[l]);
        for (int i = 0; i < sizes[l]; i++) act[l][i] = uniform(&seed);
    }
    for (int l = 0; l < LAYERS; l++) {
        size_t n = (size_t)sizes[l + 1] * (size_t)sizes[l];
        W[l] = xmalloc(sizeof(float) * n);
        /* small values around zero keep the activations finite through the layers */
        for (size_t i = 0; i < n; i++) W[l][i] = 0.1f * (uniform(&seed) - 0.5f);
        weights += (long)n;
    }
    double *t = xmalloc(sizeof(double) * (size_t)reps);

    printf("roofline: cblas_sgemv through 784-170-130-100-70-47 (%ld weights), median of %ld passes after %d warm-up\n",
           weights, reps, WARMUP);
    openblas_set_num_threads(1);
    printf("roofline 1 thread: %.3f us\n", median_pass_us(W, act, t, reps));
    openblas_set_num_threads(2);
    printf("roofline 2 threads: %.3f us\n", median_pass_us(W, act, t, reps));

    free(t);
    for (int l = 0; l < LAYERS; l++) free(W[l]);
    for (int l = 0; l <= LAYERS; l++) free(act[l]);
    return 0;
}
