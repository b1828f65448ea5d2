/* End to end through the binary, on a small fake database the test writes (issue 4):
 * a short run leaves metrics.csv (header, one parsable row per episode, theta of
 * episode 1 = (--a, 0, ..., 0)), params.txt (the console lines of stdout), args.txt
 * and the four PNGs; the seed fixes every number; SIGKILL at random moments leaves
 * only whole rows; SIGTERM / SIGINT stop cleanly (exit 143 / 130) with CSV and PNGs;
 * the files use '.' under a comma locale. */
#include "runutil.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NFIELDS RU_CSV_COLUMNS
static const char header_first24[] = "episode,loss,accuracy,theta_0,theta_1,theta_2,theta_3,theta_4,theta_5,theta_6,"
                                     "theta_7,theta_8,theta_9,E1_1,E1_2,E1_3,E1_4,E1_5,angle_0,angle_1,angle_2,"
                                     "angle_3,angle_4,angle_5";

enum { COL_EPISODE = 0, COL_LOSS = 1, COL_ACC = 2, COL_THETA = 3, COL_E1 = 13, COL_ANGLE = 18, COL_GRAD = 24,
       COL_SKIPPED = 34, COL_SECONDS = 35 };

static char *tmp;      /* the test's directory: data/ and results */
static char data[4200];
static pid_t child = -1; /* a run in the background, killed by teardown if a test fails */

/* ---- small helpers --------------------------------------------------------------- */

static int file_exists(const char *dir, const char *name) {
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- metrics.csv ----------------------------------------------------------------- */

typedef struct {
    int nrows;
    double (*v)[NFIELDS]; /* parsed values */
} metrics;

static void metrics_free(metrics *m) {
    free(m->v);
    memset(m, 0, sizeof *m);
}

/* Reads and validates dir/metrics.csv: a header row beginning with the 24
 * columns, then rows of exactly NFIELDS fields that all parse as numbers, every line ending
 * in '\n', episodes 1, 2, ... in order. Fails the test (with what) otherwise. */
static void read_metrics(const char *dir, metrics *m, const char *what) {
    char path[8400];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    size_t len = 0;
    char *csv = tu_read_file(path, &len);
    if (!csv) fail_msg("%s: no %s", what, path);
    if (strlen(csv) != len) fail_msg("%s: NUL byte in metrics.csv", what);
    if (len == 0 || csv[len - 1] != '\n') fail_msg("%s: metrics.csv does not end with a newline (%zu bytes)", what, len);
    if (strncmp(csv, header_first24, strlen(header_first24)) != 0) fail_msg("%s: bad header: %.200s", what, csv);
    char *p = strchr(csv, '\n') + 1;
    *strchr(csv, '\n') = '\0';
    if (tu_count_char(csv, ',') != NFIELDS - 1) fail_msg("%s: header has %d columns", what, tu_count_char(csv, ',') + 1);
    memset(m, 0, sizeof *m);
    int cap = tu_count_char(p, '\n') + 1;
    m->v = malloc((size_t)cap * sizeof *m->v);
    while (*p) {
        char *nl = strchr(p, '\n'); /* present: the file ends with '\n' */
        *nl = '\0';
        int r = m->nrows++;
        if (tu_count_char(p, ',') != NFIELDS - 1)
            fail_msg("%s: row %d has %d fields: '%s'", what, r + 1, tu_count_char(p, ',') + 1, p);
        char *f = p;
        for (int k = 0; k < NFIELDS; k++) {
            char *end;
            m->v[r][k] = strtod(f, &end);
            if (end == f || (*end != ',' && *end != '\0'))
                fail_msg("%s: row %d field %d does not parse: '%s'", what, r + 1, k + 1, p);
            f = end + 1;
        }
        if (m->v[r][COL_EPISODE] != r + 1)
            fail_msg("%s: row %d has episode %.17g", what, r + 1, m->v[r][COL_EPISODE]);
        p = nl + 1;
    }
    free(csv);
}

/* ---- running the binary ---------------------------------------------------------- */

/* Starts the binary with args (NULL-terminated, after argv[0]); stdout and stderr go to
 * out_path and err_path. extra_env: "NAME=value" strings put into the child's environment. */
static pid_t spawn(const char *const *args, const char *out_path, const char *err_path, const char *const *extra_env) {
    ru_cmdline c = {.argc = 0};
    ru_cmd_add(&c, tu_binary());
    for (int i = 0; args[i]; i++) ru_cmd_add(&c, args[i]);
    /* ru_start removes out_path first: the parent polls it for this run's "run directory:" line */
    return ru_start(c.argv, out_path, err_path, extra_env);
}

static int wait_status(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (pid == child) child = -1;
    return st;
}

typedef struct {
    char run_dir[4400];
    char *out, *err; /* the child's stdout and stderr */
    int status;      /* waitpid status */
} run_result;

static void run_result_free(run_result *r) { free(r->out), free(r->err); }

/* Reads "run directory: PATH" from the first line of a stdout file; 0 when not there yet. */
static int run_dir_from(const char *out_path, char *run_dir, size_t cap) {
    char *out = tu_read_file(out_path, NULL);
    if (!out) return 0;
    int ok = 0;
    char *nl = strchr(out, '\n');
    if (nl && strncmp(out, "run directory: ", 15) == 0) {
        *nl = '\0';
        snprintf(run_dir, cap, "%s", out + 15);
        ok = 1;
    }
    free(out);
    return ok;
}

/* Runs to completion. */
static void run_binary(const char *const *args, run_result *r, const char *const *extra_env) {
    char out_path[4300], err_path[4300];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", tmp);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", tmp);
    child = spawn(args, out_path, err_path, extra_env);
    assert_true(child > 0);
    r->status = wait_status(child);
    r->out = tu_read_file(out_path, NULL);
    r->err = tu_read_file(err_path, NULL);
    r->run_dir[0] = '\0';
    if (!run_dir_from(out_path, r->run_dir, sizeof r->run_dir))
        fail_msg("no 'run directory:' line; stdout:\n%.500s\nstderr:\n%.500s", r->out, r->err);
}

static void assert_exit_ok(const run_result *r) {
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        fail_msg("status %#x; stderr:\n%.1000s", r->status, r->err);
}

/* The episode lines of stdout must be params.txt, byte for byte. */
static void assert_params_match_stdout(const run_result *r, int nrows) {
    char path[8400];
    snprintf(path, sizeof path, "%s/params.txt", r->run_dir);
    char *params = tu_read_file(path, NULL);
    assert_non_null(params);
    const char *episodes = strchr(r->out, '\n') + 1; /* after "run directory: ..." */
    assert_string_equal(params, episodes);
    assert_int_equal(tu_count_char(params, '\n'), nrows);
    /* each line is "Train Episode: i\tLoss: ..." in order */
    const char *p = params;
    for (int i = 1; i <= nrows; i++) {
        char want[64];
        snprintf(want, sizeof want, "Train Episode: %d\tLoss: ", i);
        assert_int_equal(strncmp(p, want, strlen(want)), 0);
        p = strchr(p, '\n') + 1;
    }
    free(params);
}

/* ---- setup ----------------------------------------------------------------------- */

static int setup(void **state) {
    (void)state;
    tmp = tu_mkdtemp();
    if (!tmp) return -1;
    snprintf(data, sizeof data, "%s/data", tmp);
    /* 12 classes of 20 images: tasks of M <= 12 classes, K + Q <= 20 */
    if (tu_write_fake_emnist(data, 12, 20) != 0) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (child > 0) kill(child, SIGKILL), wait_status(child);
    tu_rmtree(tmp);
    free(tmp);
    return 0;
}

static int teardown_child(void **state) {
    (void)state;
    if (child > 0) kill(child, SIGKILL), wait_status(child);
    return 0;
}

#define RES_ARGS(res) "--database", "emnist_bymerge", "--data_dir", data, "--res", res, "--gpu_mode", "0"

/* ---- a short run ----------------------------------------------------------------- */

static void test_short_run(void **state) {
    (void)state;
    char res[4300];
    snprintf(res, sizeof res, "%s/res_short", tmp);
    const char *args[] = {RES_ARGS(res), "--episodes", "6", "--K", "5", "--Q", "2", "--M", "3", "--seed", "7", NULL};
    run_result r;
    run_binary(args, &r, NULL);
    assert_exit_ok(&r);
    assert_int_equal(strncmp(r.run_dir, res, strlen(res)), 0);
    printf("run directory %s\n", r.run_dir);

    metrics m;
    read_metrics(r.run_dir, &m, "short run");
    assert_int_equal(m.nrows, 6);
    /* theta of episode 1: (--a default 1e-3, 0, ..., 0), exactly */
    assert_true(m.v[0][COL_THETA] == 1e-3);
    for (int k = 1; k < 10; k++) assert_true(m.v[0][COL_THETA + k] == 0);
    const int NQ = 3 * 2;
    for (int i = 0; i < m.nrows; i++) {
        const double *v = m.v[i];
        assert_true(isfinite(v[COL_LOSS]) && v[COL_LOSS] > 0);
        assert_true(v[COL_ACC] >= 0 && v[COL_ACC] <= 1);
        assert_true(fabs(v[COL_ACC] * NQ - round(v[COL_ACC] * NQ)) < 1e-9); /* a fraction of the queries */
        for (int l = 0; l < 5; l++) assert_true(isfinite(v[COL_E1 + l]) && v[COL_E1 + l] >= 0);
        for (int l = 0; l < 6; l++) assert_true(v[COL_ANGLE + l] >= 0 && v[COL_ANGLE + l] <= 180);
        assert_true(v[COL_ANGLE + 5] == 0);
        for (int l = 1; l < 5; l++) assert_true(v[COL_ANGLE + l] > 1e-3); /* fix: FA is not BP */
        assert_true(isfinite(v[COL_GRAD]) && v[COL_GRAD] != 0);
        /* no --vec: theta1..4 and their gradients stay 0 */
        for (int k = 1; k < 10; k++) assert_true(v[COL_THETA + k] == 0 && v[COL_GRAD + k] == 0);
        assert_true(v[COL_SKIPPED] == 0);
        assert_true(v[COL_SECONDS] >= 0 && v[COL_SECONDS] < 60);
        /* Adam (lr_meta 1e-3): the first step is lr against the sign of the gradient,
         * later ones at most a few lr */
        if (i == 1) assert_true(fabs(v[COL_THETA] - (1e-3 - 1e-3 * copysign(1, m.v[0][COL_GRAD]))) < 1e-8);
        if (i > 1) assert_true(v[COL_THETA] != m.v[i - 1][COL_THETA] && fabs(v[COL_THETA] - m.v[i - 1][COL_THETA]) < 3e-3);
    }
    /* params.txt holds stdout's 6 console lines, and they show the CSV's numbers */
    assert_params_match_stdout(&r, 6);
    const char *line = strchr(r.out, '\n') + 1;
    for (int i = 0; i < m.nrows; i++) {
        char want[512];
        snprintf(want, sizeof want,
                 "Train Episode: %d\tLoss: %.6f\tAccuracy: %.3f\tMetaParam_1: %.6f\tMetaParam_2: %.6f\t"
                 "MetaParam_3: %.6f\tMetaParam_4: %.6f\tMetaParam_5: %.6f\n",
                 i + 1, m.v[i][COL_LOSS], m.v[i][COL_ACC], m.v[i][COL_THETA], m.v[i][COL_THETA + 1],
                 m.v[i][COL_THETA + 2], m.v[i][COL_THETA + 3], m.v[i][COL_THETA + 4]);
        assert_int_equal(strncmp(line, want, strlen(want)), 0);
        line += strlen(want);
    }
    /* args.txt and the four figures */
    assert_true(file_exists(r.run_dir, "args.txt"));
    char path[8400];
    snprintf(path, sizeof path, "%s/args.txt", r.run_dir);
    char *args_txt = tu_read_file(path, NULL);
    assert_non_null(strstr(args_txt, "episodes : 6\n"));
    assert_non_null(strstr(args_txt, "seed : 7\n"));
    free(args_txt);
    ru_assert_pngs(r.run_dir);
    metrics_free(&m);
    run_result_free(&r);
}

/* sym with both extra terms: every angle is 0 (B = W), theta1 and theta2 move, theta3..9
 * stay 0, and --a sets theta0 of episode 1. */
static void test_short_run_sym_vec(void **state) {
    (void)state;
    char res[4300];
    snprintf(res, sizeof res, "%s/res_sym", tmp);
    const char *args[] = {RES_ARGS(res), "--episodes", "4", "--K", "4", "--Q", "2", "--M", "3", "--fbk", "sym",
                          "--vec", "1", "2", "--a", "0.0025", NULL};
    run_result r;
    run_binary(args, &r, NULL);
    assert_exit_ok(&r);
    metrics m;
    read_metrics(r.run_dir, &m, "sym run");
    assert_int_equal(m.nrows, 4);
    assert_true(m.v[0][COL_THETA] == 0.0025);
    for (int k = 1; k < 10; k++) assert_true(m.v[0][COL_THETA + k] == 0);
    /* tolerance: see test_stats.c (angles of identical vectors come out as ~1e-6 degrees) */
    for (int i = 0; i < m.nrows; i++)
        for (int l = 0; l < 6; l++)
            if (!(m.v[i][COL_ANGLE + l] < 1e-5)) fail_msg("sym: row %d angle_%d = %.17g", i + 1, l, m.v[i][COL_ANGLE + l]);
    assert_true(m.v[3][COL_THETA + 1] != 0 && m.v[3][COL_THETA + 2] != 0);
    for (int i = 0; i < m.nrows; i++)
        for (int k = 3; k < 10; k++) assert_true(m.v[i][COL_THETA + k] == 0 && m.v[i][COL_GRAD + k] == 0);
    assert_params_match_stdout(&r, 4);
    ru_assert_pngs(r.run_dir);
    metrics_free(&m);
    run_result_free(&r);
}

/* ---- the seed -------------------------------------------------------------------- */

static void test_seed_reproducible(void **state) {
    (void)state;
    char res[4300];
    snprintf(res, sizeof res, "%s/res_seed", tmp);
    const char *a1[] = {RES_ARGS(res), "--episodes", "5", "--K", "4", "--Q", "2", "--M", "3", "--seed", "11", NULL};
    const char *a2[] = {RES_ARGS(res), "--episodes", "5", "--K", "4", "--Q", "2", "--M", "3", "--seed", "12", NULL};
    run_result r1, r2, r3;
    metrics m1, m2, m3;
    run_binary(a1, &r1, NULL);
    assert_exit_ok(&r1);
    run_binary(a1, &r2, NULL);
    assert_exit_ok(&r2);
    run_binary(a2, &r3, NULL);
    assert_exit_ok(&r3);
    assert_string_not_equal(r1.run_dir, r2.run_dir);
    read_metrics(r1.run_dir, &m1, "seed 11, first");
    read_metrics(r2.run_dir, &m2, "seed 11, second");
    read_metrics(r3.run_dir, &m3, "seed 12");
    /* same seed: the same numbers, to the last digit (wall time aside) */
    assert_int_equal(ru_assert_same_metrics(r1.run_dir, r2.run_dir, -1, "seed 11 twice"), 1 + m1.nrows);
    assert_string_equal(strchr(r1.out, '\n'), strchr(r2.out, '\n'));
    /* another seed: other tasks and weights, other numbers from episode 1 on */
    assert_int_equal(m3.nrows, 5);
    for (int i = 0; i < 5; i++) {
        assert_true(m1.v[i][COL_LOSS] != m3.v[i][COL_LOSS]);
        assert_true(m1.v[i][COL_E1] != m3.v[i][COL_E1]);
        assert_true(m1.v[i][COL_GRAD] != m3.v[i][COL_GRAD]);
    }
    assert_true(m1.v[0][COL_THETA] == m3.v[0][COL_THETA]); /* both start at --a */
    metrics_free(&m1), metrics_free(&m2), metrics_free(&m3);
    run_result_free(&r1), run_result_free(&r2), run_result_free(&r3);
}

/* --threads changes no number: with 2 threads the worker draws the next episode ahead
 * (default rule) or takes half of the input layer's products (--vec 1 2). */
static void test_threads_same_numbers(void **state) {
    (void)state;
    char res[4300];
    snprintf(res, sizeof res, "%s/res_threads", tmp);
    for (int vec = 0; vec < 2; vec++) {
        run_result r[2];
        for (int i = 0; i < 2; i++) {
            const char *args[] = {RES_ARGS(res), "--episodes", "4", "--K", "4", "--Q", "2", "--M", "3", "--seed", "5",
                                  "--threads", i ? "2" : "1", vec ? "--vec" : NULL, "1", "2", NULL};
            run_binary(args, &r[i], NULL);
            assert_exit_ok(&r[i]);
        }
        assert_int_equal(ru_assert_same_metrics(r[0].run_dir, r[1].run_dir, -1, "--threads 1 vs 2"), 5);
        printf("  %s: --threads 1 and 2 give the same 4 rows\n", vec ? "--vec 1 2" : "default rule");
        run_result_free(&r[0]), run_result_free(&r[1]);
    }
}

/* ---- stopping a run -------------------------------------------------------------- */

/* Starts a long run in the background, waits for its run directory and for at least
 * min_rows rows in metrics.csv. */
static void start_long_run(const char *res, const char *seed, int min_rows, char *run_dir, size_t cap,
                           char *out_path, char *err_path) {
    const char *args[] = {RES_ARGS(res), "--episodes", "1000000", "--K", "2", "--Q", "1", "--M", "2", "--seed", seed,
                          NULL};
    child = spawn(args, out_path, err_path, NULL);
    assert_true(child > 0);
    double t0 = tu_now();
    char csv[8400];
    run_dir[0] = '\0';
    for (;;) {
        if (tu_now() - t0 > 20) fail_msg("the run did not get to %d rows in 20 s", min_rows);
        int st;
        if (waitpid(child, &st, WNOHANG) == child) {
            child = -1;
            char *err = tu_read_file(err_path, NULL);
            fail_msg("the run ended early (status %#x): %.500s", st, err ? err : "");
        }
        if (!run_dir[0] && !run_dir_from(out_path, run_dir, cap)) {
            tu_sleep(0.001);
            continue;
        }
        snprintf(csv, sizeof csv, "%s/metrics.csv", run_dir);
        char *text = tu_read_file(csv, NULL);
        int rows = text ? tu_count_char(text, '\n') - 1 : -1;
        free(text);
        if (rows >= min_rows) return;
        tu_sleep(0.0005);
    }
}

static uint64_t rng_state;
static double rnd(void) { /* uniform [0, 1) */
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* SIGKILL at random moments of different runs: metrics.csv holds only whole rows
 * (each ends with '\n' and has 25 fields), episodes 1..n in order; params.txt, written
 * after the row, holds n or n - 1 whole lines. */
static void test_sigkill_leaves_whole_rows(void **state) {
    (void)state;
    rng_state = 0x2545F4914F6CDD1Dull ^ (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    printf("kill moments seeded with %llu\n", (unsigned long long)rng_state);
    enum { RUNS = 12 };
    int total_rows = 0;
    for (int run = 0; run < RUNS; run++) {
        char res[4300], run_dir[4400], out_path[4300], err_path[4300], seed[16];
        snprintf(res, sizeof res, "%s/res_kill", tmp);
        snprintf(out_path, sizeof out_path, "%s/kill_out_%d.txt", tmp, run);
        snprintf(err_path, sizeof err_path, "%s/kill_err_%d.txt", tmp, run);
        snprintf(seed, sizeof seed, "%d", 100 + run);
        start_long_run(res, seed, 2 + (int)(rnd() * 10), run_dir, sizeof run_dir, out_path, err_path);
        /* then a random moment: 0 to 60 ms (an episode here takes a few ms), in us steps */
        double delay = rnd() * 60;
        tu_sleep(delay / 1000);
        pid_t pid = child;
        assert_int_equal(kill(pid, SIGKILL), 0);
        int st = wait_status(pid);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

        metrics m;
        char what[64];
        snprintf(what, sizeof what, "kill %d (after %.2f ms)", run + 1, delay);
        read_metrics(run_dir, &m, what);
        assert_true(m.nrows >= 2);
        for (int i = 0; i < m.nrows; i++) assert_true(isfinite(m.v[i][COL_LOSS]));
        char path[8400];
        snprintf(path, sizeof path, "%s/params.txt", run_dir);
        size_t len = 0;
        char *params = tu_read_file(path, &len);
        assert_non_null(params);
        int lines = tu_count_char(params, '\n');
        if (len > 0 && params[len - 1] != '\n') fail_msg("%s: params.txt ends in a partial line", what);
        if (lines != m.nrows && lines != m.nrows - 1)
            fail_msg("%s: %d rows in metrics.csv but %d lines in params.txt", what, m.nrows, lines);
        printf("%s: %d whole rows, %d console lines\n", what, m.nrows, lines);
        total_rows += m.nrows;
        free(params);
        metrics_free(&m);
    }
    assert_true(total_rows >= 2 * RUNS);
}

/* SIGTERM and SIGINT: the episode under way finishes, the CSV is complete, the four
 * figures are drawn, and the exit status is 128 + the signal. */
static void check_stop_signal(int sig, const char *seed) {
    char res[4300], run_dir[4400], out_path[4300], err_path[4300];
    snprintf(res, sizeof res, "%s/res_sig%d", tmp, sig);
    snprintf(out_path, sizeof out_path, "%s/sig_out_%d.txt", tmp, sig);
    snprintf(err_path, sizeof err_path, "%s/sig_err_%d.txt", tmp, sig);
    start_long_run(res, seed, 3, run_dir, sizeof run_dir, out_path, err_path);
    tu_sleep(rnd() * 0.020);
    pid_t pid = child;
    assert_int_equal(kill(pid, sig), 0);
    double t0 = tu_now();
    int st = wait_status(pid);
    printf("signal %d: stopped in %.0f ms\n", sig, 1000 * (tu_now() - t0));
    char *err = tu_read_file(err_path, NULL);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 128 + sig)
        fail_msg("signal %d: status %#x, wanted exit %d; stderr: %.500s", sig, st, 128 + sig, err);
    assert_non_null(strstr(err, "stopped by signal"));
    assert_non_null(strstr(err, run_dir));
    free(err);
    metrics m;
    read_metrics(run_dir, &m, sig == SIGTERM ? "SIGTERM" : "SIGINT");
    assert_true(m.nrows >= 3);
    run_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.run_dir, sizeof r.run_dir, "%s", run_dir);
    r.out = tu_read_file(out_path, NULL);
    assert_params_match_stdout(&r, m.nrows); /* a clean stop: every row has its console line */
    ru_assert_pngs(run_dir);
    assert_true(file_exists(run_dir, "args.txt"));
    metrics_free(&m);
    free(r.out);
}

static void test_sigterm_stops_cleanly(void **state) {
    (void)state;
    check_stop_signal(SIGTERM, "21");
}

static void test_sigint_stops_cleanly(void **state) {
    (void)state;
    check_stop_signal(SIGINT, "22");
}

/* ---- locale ---------------------------------------------------------------------- */

/* A user's comma locale in the environment does not reach the files: '.' decimals.
 * Uses an installed comma locale, else compiles de_DE with localedef (LOCPATH). */
static void test_comma_locale_environment(void **state) {
    (void)state;
    static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8",
                                  "nl_NL.UTF-8", "es_ES.UTF-8", "it_IT.UTF-8"};
    const char *loc = NULL;
    static char locpath[4300];
    static char env_lc[128], env_num[128], env_locpath[4400];
    for (size_t i = 0; i < sizeof names / sizeof *names && !loc; i++)
        if (setlocale(LC_NUMERIC, names[i]) && strcmp(localeconv()->decimal_point, ",") == 0) loc = names[i];
    setlocale(LC_NUMERIC, "C");
    env_locpath[0] = '\0';
    if (!loc && access("/usr/share/i18n/locales/de_DE", R_OK) == 0) {
        snprintf(locpath, sizeof locpath, "%s/locales", tmp);
        mkdir(locpath, 0755);
        char cmd[4600];
        snprintf(cmd, sizeof cmd, "localedef -i de_DE -f ISO-8859-1 '%s/de_DE.ISO-8859-1' >/dev/null 2>&1", locpath);
        int rc = tu_run(cmd, NULL, 0);
        if (rc == 0 || rc == 1) {
            loc = "de_DE.ISO-8859-1";
            snprintf(env_locpath, sizeof env_locpath, "LOCPATH=%s", locpath);
        }
    }
    if (!loc) {
        printf("SKIPPED: no comma-decimal locale installed (locale -a) and none could be built\n");
        skip();
    }
    snprintf(env_lc, sizeof env_lc, "LC_ALL=%s", loc);
    snprintf(env_num, sizeof env_num, "LC_NUMERIC=%s", loc);
    const char *env[] = {env_lc, env_num, "LANG=de_DE.UTF-8", env_locpath[0] ? env_locpath : NULL, NULL};
    char res[4300];
    snprintf(res, sizeof res, "%s/res_locale", tmp);
    const char *args[] = {RES_ARGS(res), "--episodes", "3", "--K", "3", "--Q", "2", "--M", "3", NULL};
    run_result r;
    run_binary(args, &r, env);
    assert_exit_ok(&r);
    printf("ran with %s%s%s\n", env_lc, env_locpath[0] ? ", " : "", env_locpath);
    metrics m;
    read_metrics(r.run_dir, &m, "comma locale");
    assert_int_equal(m.nrows, 3);
    assert_non_null(strstr(r.out, "\tLoss: "));
    assert_null(strstr(r.out, "Accuracy: 0,"));
    assert_null(strstr(r.out, "Accuracy: 1,"));
    assert_non_null(strstr(r.out, "MetaParam_1: 0.001000"));
    assert_params_match_stdout(&r, 3);
    metrics_free(&m);
    run_result_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_short_run, teardown_child),
        cmocka_unit_test_teardown(test_short_run_sym_vec, teardown_child),
        cmocka_unit_test_teardown(test_seed_reproducible, teardown_child),
        cmocka_unit_test_teardown(test_threads_same_numbers, teardown_child),
        cmocka_unit_test_teardown(test_sigkill_leaves_whole_rows, teardown_child),
        cmocka_unit_test_teardown(test_sigterm_stops_cleanly, teardown_child),
        cmocka_unit_test_teardown(test_sigint_stops_cleanly, teardown_child),
        cmocka_unit_test_teardown(test_comma_locale_environment, teardown_child),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
