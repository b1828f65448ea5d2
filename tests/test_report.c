/* The report over many runs (metaplast --report, issue 14) and its statistics: Student's
 * t quantile against known values, the interval against a hand computation; then, through
 * the binary, small runs on the fake database (3 seeds of two configurations, one of them
 * with a run cut short, a one-run group, a seed on another data directory) and checks of
 * the grouping, the counts, the last-100 accuracy, final theta and per-episode mean and sd
 * against an independent computation from the runs' own files, the figures, runs left out
 * (another version, an edited args.txt, a seed twice), DIRs without runs, usage errors, and
 * the merge of hand-written meta-test directories. */
#include "runutil.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"
#include "metaplast/cli.h"
#include "metaplast/rundir.h"
#include "metaplast/stats.h"
#include "report/report_internal.h"

/* ---- Student's t and the interval --------------------------------------------------- */

static void test_t_quantile(void **state) {
    (void)state;
    /* the table (to 1e-8), and the same to 20 digits by mpmath's betainc and
     * findroot (to 1e-12; the table's df-5 entry is 4e-10 off) */
    static const struct {
        int df;
        double table, exact;
    } known[] = {
        {1, 12.7062047362, 12.706204736174704646},   {2, 4.30265272975, 4.3026527297494638523},
        {5, 2.57058183661, 2.5705818356363155147},   {9, 2.26215716274, 2.2621571627982055426},
        {29, 2.04522964213, 2.0452296421327042982},  {99, 1.98421695151, 1.9842169515864174951},
        {1000, 1.96233908082, 1.962339080826408485},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        double t = mp_t_quantile(0.975, known[i].df);
        printf("  t_0.975,%d = %.15g (table %.12g, rel %.1e; exact rel %.1e)\n", known[i].df, t, known[i].table,
               fabs(t - known[i].table) / known[i].table, fabs(t - known[i].exact) / known[i].exact);
        assert_true(fabs(t - known[i].table) <= 1e-8 * known[i].table);
        assert_true(fabs(t - known[i].exact) <= 1e-12 * known[i].exact);
        /* symmetric, and the CDF's inverse */
        assert_true(fabs(mp_t_quantile(0.025, known[i].df) + t) <= 1e-13 * t);
        assert_true(fabs(mp_t_cdf(t, known[i].df) - 0.975) <= 1e-14);
    }
    /* df 1 is Cauchy: tan(pi (p - 1/2)) */
    for (double p = 0.01; p < 1; p += 0.07)
        assert_true(fabs(mp_t_quantile(p, 1) - tan(M_PI * (p - 0.5))) <= 1e-12 * (1 + fabs(tan(M_PI * (p - 0.5)))));
    assert_true(mp_t_quantile(0.5, 7) == 0);
    assert_true(isnan(mp_t_quantile(0, 3)) && isnan(mp_t_quantile(1, 3)) && isnan(mp_t_quantile(0.9, 0)));
    assert_true(isnan(mp_t_quantile(NAN, 3)));
    assert_true(fabs(mp_incbeta(2, 3, 0.4) - 0.5248) <= 1e-14); /* 1 - (1-x)^4 - 4x(1-x)^3 */
}

static void test_interval(void **state) {
    (void)state;
    /* by hand: mean 0.5, sd sqrt(((-0.3)^2 + (-0.1)^2 + 0.4^2) / 2) = sqrt(0.13), half width
     * t_{0.975,2} sd / sqrt(3) = 4.30265272974946 * 0.360555127546399 / 1.73205080756888 */
    const double v[] = {0.2, 0.4, 0.9};
    mp_summary s = mp_summarize(v, 3);
    assert_int_equal(s.n, 3);
    assert_true(fabs(s.mean - 0.5) <= 1e-15);
    assert_true(fabs(s.sd - 0.36055512754639896) <= 1e-15);
    assert_true(fabs(s.lo - -0.39566858950296024) <= 1e-14);
    assert_true(fabs(s.hi - 1.3956685895029604) <= 1e-14);
    s = mp_summarize(v, 1); /* one value: a mean, no sd */
    assert_true(s.mean == 0.2 && isnan(s.sd) && isnan(s.lo) && isnan(s.hi));
    s = mp_summarize(v, 0);
    assert_true(isnan(s.mean) && isnan(s.sd));
}

/* ---- CSV files ---------------------------------------------------------------------- */

typedef struct {
    int nrows, ncols;
    char **cell; /* (nrows + 1) x ncols, row 0 the header */
    char *text;
} csv;

/* Reads a CSV file (quoted fields as RFC 4180); every row must have the header's columns. */
static void csv_read(const char *path, csv *c) {
    memset(c, 0, sizeof *c);
    c->text = tu_read_file(path, NULL);
    if (!c->text) fail_msg("no %s", path);
    int lines = tu_count_char(c->text, '\n');
    int cap = (lines + 1) * 128;
    c->cell = calloc((size_t)cap, sizeof *c->cell);
    int n = 0, row = 0, col = 0;
    char *p = c->text;
    while (*p) {
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '"' && p[1] == '"') *w++ = '"', p += 2;
                else if (*p == '"') { p++; break; }
                else *w++ = *p++;
            }
        } else {
            while (*p && *p != ',' && *p != '\n') *w++ = *p++;
        }
        char end = *p;
        *w = '\0';
        assert_true(n < cap);
        c->cell[n++] = start;
        col++;
        if (end) p++;
        if (end == '\n' || !end) {
            if (row == 0) c->ncols = col;
            else if (col != c->ncols) fail_msg("%s: row %d has %d columns, the header %d", path, row, col, c->ncols);
            row++;
            col = 0;
        }
    }
    c->nrows = row - 1;
}

static void csv_free(csv *c) {
    free(c->cell);
    free(c->text);
}

static int csv_col(const csv *c, const char *name) {
    for (int i = 0; i < c->ncols; i++)
        if (strcmp(c->cell[i], name) == 0) return i;
    return -1;
}

/* Row r (1-based) of column name; fails when there is no such column. */
static const char *csv_get(const csv *c, int r, const char *name) {
    int k = csv_col(c, name);
    if (k < 0) fail_msg("no column %s", name);
    assert_true(r >= 1 && r <= c->nrows);
    return c->cell[r * c->ncols + k];
}

static double csv_num(const csv *c, int r, const char *name) {
    const char *s = csv_get(c, r, name);
    if (!s[0]) return NAN;
    char *end;
    double v = strtod(s, &end);
    if (*end) fail_msg("column %s, row %d: '%s' is not a number", name, r, s);
    return v;
}

static void assert_close(double got, double want, const char *what) {
    if (isnan(want) ? !isnan(got) : !(fabs(got - want) <= 1e-12 * (1 + fabs(want))))
        fail_msg("%s: %.17g, expected %.17g", what, got, want);
}

/* ---- the runs ----------------------------------------------------------------------- */

static char *tmp;
static char sweep[4200], data2[4200], report_res[4200];
enum { SEEDS = 3 };
static char run_a[SEEDS][4400], run_b[SEEDS][4400], run_b_cut[4400], run_c[4400];
static const char *const EP_A = "105", *const EP_B = "6";
enum { CUT_ROWS = 3 };

/* a run of its own under sweep/name/ */
static void make_run(const char *name, const char *episodes, const char *const *extra, char *dir) {
    char res[4400];
    snprintf(res, sizeof res, "%s/%s", sweep, name);
    ru_complete_run(res, episodes, extra, name, dir, 4400);
}

static int setup(void **state) {
    (void)state;
    tmp = tu_mkdtemp();
    if (!tmp || ru_setup(tmp) != 0) return -1;
    snprintf(sweep, sizeof sweep, "%s/sweep", tmp);
    snprintf(data2, sizeof data2, "%s/data2", tmp);
    snprintf(report_res, sizeof report_res, "%s/reports", tmp);
    mkdir(sweep, 0777);
    /* the same files in another directory: the data directory must not split a group */
    if (tu_write_fake_emnist(data2, 10, 20) != 0) return -1;
    double t0 = tu_now();
    const char *seeds[SEEDS] = {"1", "2", "3"};
    for (int s = 0; s < SEEDS; s++) {
        char name[32];
        snprintf(name, sizeof name, "a_seed%s", seeds[s]);
        make_run(name, EP_A,
                 s == 2 ? RU_LIST("--seed", seeds[s], "--threads", "1", "--data_dir", data2)
                        : RU_LIST("--seed", seeds[s], "--threads", "1"),
                 run_a[s]);
        snprintf(name, sizeof name, "b_seed%s", seeds[s]);
        make_run(name, EP_B, RU_LIST("--seed", seeds[s], "--threads", "1", "--vec", "1", "2"), run_b[s]);
    }
    /* an unfinished run of b: its rows cut to the first CUT_ROWS, as a crash leaves it */
    make_run("b_seed4_cut", EP_B, RU_LIST("--seed", "4", "--threads", "1", "--vec", "1", "2"), run_b_cut);
    char path[4500];
    snprintf(path, sizeof path, "%s/metrics.csv", run_b_cut);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    char *p = text;
    for (int line = 0; line < 1 + CUT_ROWS; line++) p = strchr(p, '\n') + 1;
    *p = '\0';
    assert_int_equal(tu_write_text(path, text), 0);
    free(text);
    /* a group of one run */
    make_run("c_sym", EP_B, RU_LIST("--seed", "1", "--threads", "1", "--fbk", "sym"), run_c);
    printf("  setup: %d runs in %.1f s\n", ru_spawned, tu_now() - t0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (tmp) tu_rmtree(tmp);
    free(tmp);
    return 0;
}

/* ---- reading a run independently ---------------------------------------------------- */

typedef struct {
    int rows;
    double acc[200], loss[200], theta[200][MP_THETAS], angle[200][4];
} run_rows;

static void read_rows(const char *dir, run_rows *r) {
    char path[4500];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    csv c;
    csv_read(path, &c);
    assert_true(c.nrows <= 200);
    r->rows = c.nrows;
    for (int i = 1; i <= c.nrows; i++) {
        r->acc[i - 1] = csv_num(&c, i, "accuracy");
        r->loss[i - 1] = csv_num(&c, i, "loss");
        for (int k = 0; k < MP_THETAS; k++) {
            char name[16];
            snprintf(name, sizeof name, "theta_%d", k);
            r->theta[i - 1][k] = csv_num(&c, i, name);
        }
        for (int a = 0; a < 4; a++) {
            char name[16];
            snprintf(name, sizeof name, "angle_%d", a + 1);
            r->angle[i - 1][a] = csv_num(&c, i, name);
        }
    }
    csv_free(&c);
}

static double last100(const run_rows *r) {
    int w = r->rows < 100 ? r->rows : 100;
    double sum = 0;
    for (int i = r->rows - w; i < r->rows; i++) sum += r->acc[i];
    return sum / w;
}

/* mean and sample sd of n values, in long double */
static void mean_sd(const double *v, int n, double *mean, double *sd) {
    long double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += v[i];
    long double m = s / n;
    for (int i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    *mean = (double)m;
    *sd = n > 1 ? (double)sqrtl(ss / (n - 1)) : NAN;
}

/* ---- running the report ------------------------------------------------------------- */

static char report_dir[4400];

/* Runs metaplast --report with args; its exit status. On 0, report_dir is its directory. */
static int report(const char *const *args) {
    ru_cmdline c = {.argc = 0};
    ru_cmd_add(&c, tu_binary());
    ru_cmd_add(&c, "--report");
    for (int i = 0; args[i]; i++) ru_cmd_add(&c, args[i]);
    int st = ru_run(&c);
    report_dir[0] = '\0';
    const char *prefix = "report directory: ";
    if (st == 0) {
        if (strncmp(ru_out_text, prefix, strlen(prefix)) != 0)
            fail_msg("the first line of stdout is not '%s...': %s", prefix, ru_out_text);
        snprintf(report_dir, sizeof report_dir, "%.*s", (int)strcspn(ru_out_text + strlen(prefix), "\n"),
                 ru_out_text + strlen(prefix));
    }
    return st;
}

static void read_report_file(const char *name, csv *c) {
    char path[4500];
    snprintf(path, sizeof path, "%s/%s", report_dir, name);
    csv_read(path, c);
}

static void assert_png(const char *name) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    char path[4500];
    snprintf(path, sizeof path, "%s/%s", report_dir, name);
    size_t len = 0;
    char *png = tu_read_file(path, &len);
    if (!png) fail_msg("no %s", path);
    if (len < 1000 || memcmp(png, sig, 8) != 0) fail_msg("%s: not a PNG (%zu bytes)", path, len);
    free(png);
}

static void expect_stderr(const char *needle) {
    if (!strstr(ru_err_text, needle)) fail_msg("stderr should mention '%s':\n%s", needle, ru_err_text);
}

/* The summary row of the group whose runs include run_dir's seeds... found by its fbk/vec/episodes. */
static int find_group(const csv *s, const char *fbk, const char *vec) {
    for (int r = 1; r <= s->nrows; r++)
        if (strcmp(csv_get(s, r, "fbk"), fbk) == 0 && strcmp(csv_get(s, r, "vec"), vec) == 0) return r;
    fail_msg("no group with fbk %s, vec '%s' in summary.csv", fbk, vec);
    return -1;
}

/* The group's last-100 accuracy and final theta against the runs' own metrics.csv and checkpoint. */
static void check_end_stats(const csv *s, int row, char (*dirs)[4400], int n, unsigned terms, const char *what) {
    double acc[SEEDS], theta[MP_THETAS][SEEDS];
    for (int i = 0; i < n; i++) {
        run_rows r;
        read_rows(dirs[i], &r);
        acc[i] = last100(&r);
        mp_checkpoint ck;
        mp_err err;
        assert_int_equal(mp_checkpoint_load(dirs[i], &ck, &err), 0);
        assert_int_equal(ck.episode, r.rows);
        for (int k = 0; k < MP_THETAS; k++) theta[k][i] = ck.theta[k];
    }
    double mean, sd;
    mean_sd(acc, n, &mean, &sd);
    assert_close(csv_num(s, row, "acc_last100_mean"), mean, what);
    assert_close(csv_num(s, row, "acc_last100_sd"), sd, what);
    double half = n > 1 ? mp_t_quantile(0.975, n - 1) * sd / sqrt(n) : NAN;
    assert_close(csv_num(s, row, "acc_last100_lo"), mean - half, what);
    assert_close(csv_num(s, row, "acc_last100_hi"), mean + half, what);
    for (int k = 0; k < MP_THETAS; k++) {
        char m[32], d[32];
        snprintf(m, sizeof m, "theta_%d_mean", k);
        snprintf(d, sizeof d, "theta_%d_sd", k);
        if (!(terms >> k & 1u)) {
            assert_string_equal(csv_get(s, row, m), "");
            continue;
        }
        mean_sd(theta[k], n, &mean, &sd);
        assert_close(csv_num(s, row, m), mean, m);
        assert_close(csv_num(s, row, d), sd, d);
    }
    printf("  %s: acc_last100 %.4f sd %s, theta_0 %.6f: as computed from the runs' files\n", what,
           csv_num(s, row, "acc_last100_mean"), csv_get(s, row, "acc_last100_sd"), csv_num(s, row, "theta_0_mean"));
}

static void test_groups(void **state) {
    (void)state;
    int st = report(RU_LIST(sweep, "--res", report_res, "--avg_window", "3"));
    ru_expect_exit(st, 0, "report");
    printf("%s", ru_out_text);
    csv s;
    read_report_file("summary.csv", &s);
    assert_int_equal(s.nrows, 3);
    for (int r = 1; r <= 3; r++) assert_int_equal((int)csv_num(&s, r, "group"), r);

    /* a: three seeds, one of them trained from another data directory holding the same files */
    int a = find_group(&s, "fix", "");
    assert_string_equal(csv_get(&s, a, "runs"), "3");
    assert_string_equal(csv_get(&s, a, "seeds"), "1 2 3");
    assert_string_equal(csv_get(&s, a, "unfinished"), "0");
    assert_string_equal(csv_get(&s, a, "episodes"), EP_A);
    assert_string_equal(csv_get(&s, a, "database"), "emnist_bymerge");
    assert_string_equal(csv_get(&s, a, "classes"), "");
    assert_string_equal(csv_get(&s, a, "M"), "3");
    assert_string_equal(csv_get(&s, a, "K"), "5");
    assert_string_equal(csv_get(&s, a, "Q"), "2");
    assert_string_equal(csv_get(&s, a, "lamb"), "0");
    assert_string_equal(csv_get(&s, a, "lr_meta"), "0.001");
    assert_non_null(strstr(csv_get(&s, a, "flags"), "images_fingerprint : "));
    assert_null(strstr(csv_get(&s, a, "flags"), "seed : "));
    check_end_stats(&s, a, run_a, SEEDS, 0x1u, "group a (105 episodes: the last 100 rows)");

    /* b: three finished seeds and one unfinished (curves only) */
    int b = find_group(&s, "fix", "1 2");
    assert_string_equal(csv_get(&s, b, "runs"), "3");
    assert_string_equal(csv_get(&s, b, "seeds"), "1 2 3");
    assert_string_equal(csv_get(&s, b, "unfinished"), "1");
    assert_string_equal(csv_get(&s, b, "unfinished_seeds"), "4");
    check_end_stats(&s, b, run_b, SEEDS, 0x7u, "group b");

    /* c: one run: a mean, no sd, no interval, and a note */
    int c = find_group(&s, "sym", "");
    assert_string_equal(csv_get(&s, c, "runs"), "1");
    assert_string_equal(csv_get(&s, c, "acc_last100_sd"), "");
    assert_string_equal(csv_get(&s, c, "acc_last100_lo"), "");
    assert_string_equal(csv_get(&s, c, "acc_last100_hi"), "");
    assert_string_equal(csv_get(&s, c, "theta_0_sd"), "");
    check_end_stats(&s, c, &run_c, 1, 0x1u, "group c (one run)");
    char note[64];
    snprintf(note, sizeof note, "group %d has one finished run (seed 1): no sd", c);
    expect_stderr(note);

    /* the unfinished run: named, with how it was counted */
    expect_stderr("unfinished");
    expect_stderr(run_b_cut);
    expect_stderr("3 of 6 episodes");

    /* group b per episode: 4 runs in episodes 1..3, 3 after; mean and sd of every column */
    char name[32];
    snprintf(name, sizeof name, "group_%d.csv", b);
    csv g;
    read_report_file(name, &g);
    assert_int_equal(g.nrows, 6);
    run_rows rows[SEEDS + 1];
    for (int i = 0; i < SEEDS; i++) read_rows(run_b[i], &rows[i]);
    read_rows(run_b_cut, &rows[SEEDS]);
    assert_int_equal(rows[SEEDS].rows, CUT_ROWS);
    for (int e = 0; e < 6; e++) {
        int n = e < CUT_ROWS ? SEEDS + 1 : SEEDS;
        assert_int_equal((int)csv_num(&g, e + 1, "episode"), e + 1);
        assert_int_equal((int)csv_num(&g, e + 1, "runs"), n);
        double v[SEEDS + 1], mean, sd;
        const char *cols[] = {"accuracy", "loss", "theta_0", "theta_1", "theta_2", "angle_1", "angle_4"};
        for (size_t q = 0; q < sizeof cols / sizeof cols[0]; q++) {
            for (int i = 0; i < n; i++)
                v[i] = q == 0 ? rows[i].acc[e] : q == 1 ? rows[i].loss[e] : q < 5 ? rows[i].theta[e][q - 2]
                       : q == 5 ? rows[i].angle[e][0] : rows[i].angle[e][3];
            mean_sd(v, n, &mean, &sd);
            char m[32], d[32];
            snprintf(m, sizeof m, "%s_mean", cols[q]);
            snprintf(d, sizeof d, "%s_sd", cols[q]);
            if (!(fabs(csv_num(&g, e + 1, m) - mean) <= 1e-9 * (1 + fabs(mean))) ||
                !(fabs(csv_num(&g, e + 1, d) - sd) <= 1e-7 * (1 + fabs(mean))))
                fail_msg("%s episode %d %s: %.17g %.17g, expected %.17g %.17g", name, e + 1, cols[q],
                         csv_num(&g, e + 1, m), csv_num(&g, e + 1, d), mean, sd);
        }
    }
    assert_int_equal(csv_col(&g, "theta_3_mean"), -1); /* only the terms in use */
    csv_free(&g);
    printf("  group %d per episode: runs 4 then 3, every mean and sd as computed from the rows\n", b);

    /* a one-run group's per-episode sd is empty */
    snprintf(name, sizeof name, "group_%d.csv", c);
    read_report_file(name, &g);
    assert_string_equal(csv_get(&g, 1, "accuracy_sd"), "");
    assert_string_equal(csv_get(&g, 1, "runs"), "1");
    csv_free(&g);

    /* runs.csv: every run and how it was counted */
    csv runs;
    read_report_file("runs.csv", &runs);
    assert_int_equal(runs.nrows, 2 * SEEDS + 2);
    char real[PATH_MAX];
    assert_non_null(realpath(run_b_cut, real));
    int found = 0;
    for (int r = 1; r <= runs.nrows; r++)
        if (strcmp(csv_get(&runs, r, "run_dir"), real) == 0) {
            assert_string_equal(csv_get(&runs, r, "status"), "unfinished");
            assert_string_equal(csv_get(&runs, r, "episodes_done"), "3");
            found = 1;
        } else {
            assert_string_equal(csv_get(&runs, r, "status"), "counted");
        }
    assert_true(found);
    csv_free(&runs);

    /* the figures */
    assert_png("accuracy.png");
    assert_png("loss.png");
    for (int k = 1; k <= 3; k++) {
        snprintf(name, sizeof name, "group_%d_theta.png", k);
        assert_png(name);
        snprintf(name, sizeof name, "group_%d_angle.png", k);
        assert_png(name);
    }
    /* the report's own record of what it was asked */
    char path[4500];
    snprintf(path, sizeof path, "%s/args.txt", report_dir);
    char *args = tu_read_file(path, NULL);
    assert_non_null(args);
    assert_non_null(strstr(args, "avg_window : 3"));
    free(args);
    csv_free(&s);

    /* a second report never writes over the first */
    char first[4400];
    snprintf(first, sizeof first, "%s", report_dir);
    ru_expect_exit(report(RU_LIST(sweep, "--res", report_res, "--avg_window", "3")), 0, "second report");
    assert_string_not_equal(first, report_dir);
}

/* copies run directory src to dst (flat: a run directory has no subdirectories) */
static void copy_run(const char *src, const char *dst) {
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", src, dst);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
}

/* replaces the line that starts with `start` in dir/args.txt by `line` */
static void edit_args(const char *dir, const char *start, const char *line) {
    char path[4500];
    snprintf(path, sizeof path, "%s/args.txt", dir);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    char *at = strstr(text, start);
    assert_non_null(at);
    char *end = strchr(at, '\n');
    char *out = malloc(strlen(text) + strlen(line) + 2);
    sprintf(out, "%.*s%s%s", (int)(at - text), text, line, end);
    assert_int_equal(tu_write_text(path, out), 0);
    free(out), free(text);
}

static void test_left_out(void **state) {
    (void)state;
    char bad[4400], other_version[4500], edited[4500], twice[4500], old[4500];
    snprintf(bad, sizeof bad, "%s/bad", tmp);
    mkdir(bad, 0777);
    snprintf(other_version, sizeof other_version, "%s/other_version", bad);
    snprintf(edited, sizeof edited, "%s/edited", bad);
    snprintf(twice, sizeof twice, "%s/twice", bad);
    snprintf(old, sizeof old, "%s/old", bad);
    copy_run(run_c, other_version);
    edit_args(other_version, "version : ", "version : 9.9.9");
    copy_run(run_c, edited);
    edit_args(edited, "lamb : ", "lamb : 0.5");
    copy_run(run_c, twice); /* the same seed and flags as c: one of the two is counted */
    copy_run(run_c, old);
    edit_args(old, "version : ", "version : 0.1.0");

    int st = report(RU_LIST(bad, run_c, "--res", report_res));
    ru_expect_exit(st, 0, "report over bad runs");
    printf("%s%s", ru_out_text, ru_err_text);
    expect_stderr(other_version);
    expect_stderr("made by metaplast 9.9.9");
    expect_stderr(edited);
    expect_stderr("the file was edited");
    expect_stderr("seed 1 is in its group already");
    expect_stderr(old);
    expect_stderr("metaplast 0.1");
    csv s;
    read_report_file("summary.csv", &s);
    assert_int_equal(s.nrows, 1);
    assert_string_equal(csv_get(&s, 1, "runs"), "1");
    csv_free(&s);
    csv runs;
    read_report_file("runs.csv", &runs);
    assert_int_equal(runs.nrows, 5);
    int left = 0;
    for (int r = 1; r <= runs.nrows; r++) left += strcmp(csv_get(&runs, r, "status"), "left out") == 0;
    assert_int_equal(left, 4);
    csv_free(&runs);

    /* only runs that cannot be counted: nothing to report, nothing written */
    char res[4500];
    snprintf(res, sizeof res, "%s/nothing", tmp);
    st = report(RU_LIST(other_version, edited, "--res", res));
    ru_expect_exit(st, 1, "report of left-out runs only");
    expect_stderr("nothing written");
    assert_false(tu_exists(res));
}

static void test_no_runs(void **state) {
    (void)state;
    char empty[4400], files[4400], missing[4400], res[4400];
    snprintf(empty, sizeof empty, "%s/empty", tmp);
    snprintf(files, sizeof files, "%s/files", tmp);
    snprintf(missing, sizeof missing, "%s/missing", tmp);
    snprintf(res, sizeof res, "%s/no_report", tmp);
    mkdir(empty, 0777);
    mkdir(files, 0777);
    char path[4500];
    snprintf(path, sizeof path, "%s/args.txt", files); /* args.txt alone is no run */
    assert_int_equal(tu_write_text(path, "seed : 1\n"), 0);
    ru_expect_failure(&(ru_cmdline){.argc = 7, .argv = {tu_binary(), "--report", empty, files, sweep, "--res", res}},
                      1, RU_LIST(empty, files, "holds no run directory", "nothing written"), "DIRs without runs");
    assert_false(tu_exists(res));
    ru_expect_failure(&(ru_cmdline){.argc = 5, .argv = {tu_binary(), "--report", missing, "--res", res}}, 1,
                      RU_LIST(missing, "No such file"), "a DIR that does not exist");
    assert_false(tu_exists(res));
}

static void test_usage(void **state) {
    (void)state;
    const char *bin = tu_binary();
    ru_expect_failure(&(ru_cmdline){.argc = 2, .argv = {bin, "--report"}}, 2, RU_LIST("no DIR"), "no DIR");
    ru_expect_failure(&(ru_cmdline){.argc = 4, .argv = {bin, "--report", sweep, "--seed"}}, 2,
                      RU_LIST("--seed"), "a run's flag");
    ru_expect_failure(&(ru_cmdline){.argc = 5, .argv = {bin, "--report", sweep, "--avg_window", "0"}}, 2,
                      RU_LIST("--avg_window", "'0'"), "avg_window 0");
    ru_expect_failure(&(ru_cmdline){.argc = 4, .argv = {bin, "--report", sweep, "--res"}}, 2,
                      RU_LIST("--res", "needs a value"), "--res without value");
    ru_expect_failure(&(ru_cmdline){.argc = 5, .argv = {bin, "--report", sweep, "--test_name", "../x"}}, 2,
                      RU_LIST("--test_name", "below --res"), "test_name leaving res");
    ru_expect_failure(&(ru_cmdline){.argc = 5, .argv = {bin, "--seed", "1", "--report", sweep}}, 2,
                      RU_LIST("--report must be the first argument"), "--report not first");
    ru_cmdline help = {.argc = 3, .argv = {bin, "--report", "--help"}};
    ru_expect_exit(ru_run(&help), 0, "--report --help");
    assert_non_null(strstr(ru_out_text, "usage: metaplast --report DIR"));
    ru_cmdline run_help = {.argc = 2, .argv = {bin, "--help"}};
    ru_expect_exit(ru_run(&run_help), 0, "--help");
    assert_non_null(strstr(ru_out_text, "metaplast --report DIR"));
}

/* ",theta_0,...,theta_9" of run_dir's checkpoint, each the shortest decimal that reads back
 * (as --eval writes them); zeros when it has none. Into buf (static). */
static const char *theta_cells(const char *run_dir) {
    static char buf[1024];
    mp_checkpoint ck;
    mp_err err;
    if (mp_checkpoint_load(run_dir, &ck, &err) != 0) memset(&ck, 0, sizeof ck);
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < MP_THETAS; k++) {
        char cell[32];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(cell, sizeof cell, "%.*g", prec, ck.theta[k]);
            if (strtod(cell, NULL) == ck.theta[k]) break;
        }
        n += (size_t)snprintf(buf + n, sizeof buf - n, ",%s", cell);
    }
    return buf;
}

/* A meta-test directory in the format of --eval: tasks.csv, curve.csv, summary.csv, args.txt. */
static void write_eval(const char *dir, const char *database, const char *classes, const char *extra_args,
                       const char *summary_rows) {
    char path[4500];
    assert_int_equal(mkdir(dir, 0777), 0);
    snprintf(path, sizeof path, "%s/tasks.csv", dir);
    assert_int_equal(tu_write_text(path, "rule,task,acc,loss\n1,1,0.5,1.0\n"), 0);
    snprintf(path, sizeof path, "%s/curve.csv", dir);
    assert_int_equal(tu_write_text(path, "rule,samples,acc_mean,loss_mean\n1,0,0.2,1.6\n"), 0);
    snprintf(path, sizeof path, "%s/args.txt", dir);
    char args[1024];
    snprintf(args, sizeof args, "eval_tasks : 20\neval_seed : 7\n%sdatabase : %s\nM : 3\nK : 5\nQ : 2\ndim : 28\n"
             "classes : %s\nversion : 0.2.0\n", extra_args, database, classes);
    assert_int_equal(tu_write_text(path, args), 0);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    char *text = malloc(strlen(summary_rows) + 200);
    sprintf(text, "rule,run_dir,fbk,vec,tasks,acc_mean,acc_lo,acc_hi,diff_mean,diff_lo,diff_hi,loss_mean,theta_0,"
            "theta_1,theta_2,theta_3,theta_4,theta_5,theta_6,theta_7,theta_8,theta_9\n%s", summary_rows);
    assert_int_equal(tu_write_text(path, text), 0);
    free(text);
}

static void test_evals(void **state) {
    (void)state;
    char evals[4400], e1[4500], e2[4500];
    snprintf(evals, sizeof evals, "%s/evals", tmp);
    mkdir(evals, 0777);
    snprintf(e1, sizeof e1, "%s/eval/2026-01-01_00-00-00_1", evals);
    snprintf(e2, sizeof e2, "%s/eval/2026-01-01_00-00-00_2", evals);
    char d[6][PATH_MAX + 1];
    const char *dirs[6] = {run_a[0], run_a[1], run_a[2], run_b[0], run_b_cut, run_c};
    for (int i = 0; i < 6; i++) assert_non_null(realpath(dirs[i], d[i]));
    /* eval 1: all three of a (acc 0.60, 0.70, 0.95), one of b, the unfinished run, a run
     * not in the report, a quoted run_dir with a comma */
    char rows[32768];
    char th[6][1024];
    for (int i = 0; i < 6; i++) snprintf(th[i], sizeof th[i], "%s", theta_cells(dirs[i]));
    snprintf(rows, sizeof rows,
             "1,%s,fix,,20,0.60,0.5,0.7,0,0,0,1.1%s\n"
             "2,%s,fix,,20,0.70,0.6,0.8,0.1,0,0.2,1.0%s\n"
             "3,\"%s\",fix,,20,0.95,0.9,1.0,0.35,0.3,0.4,0.9%s\n"
             "4,%s,fix,1 2,20,0.80,0.7,0.9,0.2,0.1,0.3,0.8%s\n"
             "5,%s,fix,1 2,20,0.10,0.0,0.2,-0.5,-0.6,-0.4,2.0%s\n"
             "6,\"/nowhere/a,b\",fix,,20,0.50,0.4,0.6,0,0,0,1.2%s\n",
             d[0], th[0], d[1], th[1], d[2], th[2], d[3], th[3], d[4], th[4], th[0]);
    char parent[4500];
    snprintf(parent, sizeof parent, "%s/eval", evals);
    mkdir(parent, 0777);
    write_eval(e1, "emnist_bymerge", "", "", rows);
    /* eval 2: another database, judged c only, stopped by a signal after 10 of its 20 tasks */
    snprintf(rows, sizeof rows, "1,%s,sym,,10,0.42,0.3,0.5,0,0,0,1.5%s\n", d[5], th[5]);
    write_eval(e2, "fashion_mnist", "0 1 2", "eval_tasks_done : 10 (stopped by a signal)\n", rows);

    int st = report(RU_LIST(sweep, evals, "--res", report_res));
    ru_expect_exit(st, 0, "report with meta-tests");
    printf("%s%s", ru_out_text, ru_err_text);
    csv s;
    read_report_file("summary.csv", &s);
    int a = find_group(&s, "fix", ""), b = find_group(&s, "fix", "1 2"), c = find_group(&s, "sym", "");
    /* by hand: 0.60, 0.70, 0.95: mean 0.75, sd sqrt((0.0225 + 0.0025 + 0.04) / 2) = sqrt(0.0325) */
    assert_string_equal(csv_get(&s, a, "eval_1_runs"), "3");
    assert_close(csv_num(&s, a, "eval_1_acc_mean"), 0.75, "eval 1 group a mean");
    assert_close(csv_num(&s, a, "eval_1_acc_sd"), sqrt(0.0325), "eval 1 group a sd");
    double half = 4.3026527297494638523 * sqrt(0.0325) / sqrt(3);
    assert_close(csv_num(&s, a, "eval_1_acc_lo"), 0.75 - half, "eval 1 group a lo");
    assert_close(csv_num(&s, a, "eval_1_acc_hi"), 0.75 + half, "eval 1 group a hi");
    /* b: one counted run judged (the unfinished one is not counted) */
    assert_string_equal(csv_get(&s, b, "eval_1_runs"), "1");
    assert_close(csv_num(&s, b, "eval_1_acc_mean"), 0.80, "eval 1 group b");
    assert_string_equal(csv_get(&s, b, "eval_1_acc_sd"), "");
    assert_string_equal(csv_get(&s, c, "eval_1_runs"), "0");
    assert_string_equal(csv_get(&s, c, "eval_1_acc_mean"), "");
    assert_string_equal(csv_get(&s, c, "eval_2_runs"), "1");
    assert_close(csv_num(&s, c, "eval_2_acc_mean"), 0.42, "eval 2 group c");
    assert_string_equal(csv_get(&s, a, "eval_2_runs"), "0");
    csv_free(&s);
    expect_stderr("judged the unfinished run");
    expect_stderr("1 of its 6 rules are of runs not counted");
    /* the legend */
    csv e;
    read_report_file("evals.csv", &e);
    assert_int_equal(e.nrows, 2);
    char real[PATH_MAX];
    assert_non_null(realpath(e1, real));
    assert_string_equal(csv_get(&e, 1, "eval_dir"), real); /* its real path, as runs.csv's run_dir */
    assert_string_equal(csv_get(&e, 1, "M"), "3");
    assert_string_equal(csv_get(&e, 1, "K"), "5");
    assert_string_equal(csv_get(&e, 1, "Q"), "2");
    assert_string_equal(csv_get(&e, 1, "dim"), "28");
    assert_string_equal(csv_get(&e, 1, "stopped"), "");
    assert_string_equal(csv_get(&e, 1, "rules_stale"), "0");
    /* eval 2 was stopped early: said, and still counted (its numbers are of the tasks it judged) */
    assert_string_equal(csv_get(&e, 2, "stopped"), "yes");
    assert_non_null(strstr(csv_get(&e, 2, "note"), "stopped by a signal after 10 of its 20 tasks"));
    expect_stderr("stopped by a signal after 10 of its 20 tasks");
    assert_string_equal(csv_get(&e, 1, "database"), "emnist_bymerge");
    assert_string_equal(csv_get(&e, 1, "classes"), "all");
    assert_string_equal(csv_get(&e, 1, "eval_seed"), "7");
    assert_string_equal(csv_get(&e, 1, "tasks"), "20");
    assert_string_equal(csv_get(&e, 1, "rules"), "6");
    assert_string_equal(csv_get(&e, 1, "rules_counted"), "4");
    assert_string_equal(csv_get(&e, 1, "rules_unfinished"), "1");
    assert_string_equal(csv_get(&e, 1, "rules_elsewhere"), "1");
    assert_string_equal(csv_get(&e, 2, "database"), "fashion_mnist");
    assert_string_equal(csv_get(&e, 2, "classes"), "0 1 2");
    csv_free(&e);
    assert_non_null(strstr(ru_out_text, "eval 1: "));
    assert_non_null(strstr(ru_out_text, "database fashion_mnist, classes 0 1 2, M 3, K 5, Q 2, dim 28"));
    assert_non_null(strstr(ru_out_text, "stopped by a signal"));
    tu_rmtree(evals);
}


/* ---- what the red-team pass found ----------------------------------------------------- */

/* Sets cell (row, column name) of dir/metrics.csv (row 1 = the first episode) to value. */
static void edit_metrics(const char *dir, int row, const char *column, const char *value) {
    char path[4500];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    /* the column's index from the header */
    int col = -1, k = 0;
    for (const char *p = text; *p && *p != '\n'; k++) {
        size_t n = strcspn(p, ",\n");
        if (n == strlen(column) && strncmp(p, column, n) == 0) col = k;
        p += n + (p[n] == ',');
    }
    assert_true(col >= 0);
    char *line = text;
    for (int r = 0; r < row; r++) line = strchr(line, '\n') + 1;
    char *cell = line;
    for (int c = 0; c < col; c++) cell = strchr(cell, ',') + 1;
    size_t n = strcspn(cell, ",\n");
    char *out = malloc(strlen(text) + strlen(value) + 1);
    sprintf(out, "%.*s%s%s", (int)(cell - text), text, value, cell + n);
    assert_int_equal(tu_write_text(path, out), 0);
    free(out), free(text);
}

/* Makes args.txt's binding_crc32 and the checkpoint's binding those of its (edited) flags. */
static void rebind(const char *dir) {
    char path[4500];
    snprintf(path, sizeof path, "%s/args.txt", dir);
    mp_config cfg;
    mp_err err;
    if (mp_config_read_args(path, &cfg, &err) != 0) fail_msg("%s", err.msg);
    char binding[4096];
    assert_int_equal(mp_config_binding(&cfg, binding, sizeof binding), 0);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    const char *names[] = {"images_fingerprint : ", "labels_fingerprint : "};
    for (int i = 0; i < 2; i++) {
        const char *at = strstr(text, names[i]);
        assert_non_null(at);
        size_t n = strlen(binding);
        snprintf(binding + n, sizeof binding - n, "%.*s\n", (int)strcspn(at, "\n"), at);
    }
    free(text);
    char line[64];
    snprintf(line, sizeof line, "binding_crc32 : %08x", mp_binding_crc32(binding));
    edit_args(dir, "binding_crc32 : ", line);
    mp_checkpoint ck;
    assert_int_equal(mp_checkpoint_load(dir, &ck, &err), 0);
    memset(ck.binding, 0, sizeof ck.binding);
    snprintf(ck.binding, sizeof ck.binding, "%s", binding);
    assert_int_equal(mp_checkpoint_save(dir, &ck, 0, &err), 0);
}

/* A run extended (--resume --episodes more) after a meta-test judged it: that row is of an
 * earlier state of the run and is not counted. */
static void test_eval_stale(void **state) {
    (void)state;
    char res[4000], run[4400], evals[4000], e1[4100], real[PATH_MAX];
    snprintf(res, sizeof res, "%s/stale", tmp);
    ru_complete_run(res, "4", RU_LIST("--seed", "7", "--threads", "1", "--fbk", "sym"), "stale", run, sizeof run);
    assert_non_null(realpath(run, real));
    snprintf(evals, sizeof evals, "%s/stale_evals", tmp);
    mkdir(evals, 0777);
    snprintf(e1, sizeof e1, "%s/e1", evals);
    char rows[8192];
    snprintf(rows, sizeof rows, "1,%s,sym,,20,0.55,0.5,0.6,0,0,0,1.1%s\n", real, theta_cells(run));
    write_eval(e1, "emnist_bymerge", "", "", rows);
    /* as judged: counted */
    ru_expect_exit(report(RU_LIST(run, evals, "--res", report_res)), 0, "report of the judged run");
    csv s;
    read_report_file("summary.csv", &s);
    assert_string_equal(csv_get(&s, 1, "eval_1_runs"), "1");
    assert_close(csv_num(&s, 1, "eval_1_acc_mean"), 0.55, "eval of the judged run");
    csv_free(&s);
    /* extended: the meta-test judged its theta after 4 episodes, the run is now at 6 */
    ru_cmdline c = ru_resume_run(run, RU_LIST("--episodes", "6"));
    ru_expect_exit(ru_run(&c), 0, "--resume --episodes 6");
    ru_expect_exit(report(RU_LIST(run, evals, "--res", report_res)), 0, "report of the extended run");
    printf("%s%s", ru_out_text, ru_err_text);
    read_report_file("summary.csv", &s);
    assert_string_equal(csv_get(&s, 1, "episodes"), "6");
    assert_string_equal(csv_get(&s, 1, "eval_1_runs"), "0");
    assert_string_equal(csv_get(&s, 1, "eval_1_acc_mean"), "");
    csv_free(&s);
    csv e;
    read_report_file("evals.csv", &e);
    assert_string_equal(csv_get(&e, 1, "rules_counted"), "0");
    assert_string_equal(csv_get(&e, 1, "rules_stale"), "1");
    assert_non_null(strstr(csv_get(&e, 1, "note"), "earlier state"));
    csv_free(&e);
    expect_stderr("judged an earlier state of the run");
    expect_stderr(real);
    tu_rmtree(evals);
}

/* metrics.csv's rows: the theta chain is checked (an edited theta or gradient leaves the
 * run out, naming the row); the accuracy and loss columns are trusted (documented). */
static void test_theta_chain(void **state) {
    (void)state;
    char dir[4000], grad[4100], theta[4100], last[4100], acc[4100];
    snprintf(dir, sizeof dir, "%s/chain", tmp);
    mkdir(dir, 0777);
    snprintf(grad, sizeof grad, "%s/grad", dir);
    snprintf(theta, sizeof theta, "%s/theta", dir);
    snprintf(last, sizeof last, "%s/last_grad", dir);
    snprintf(acc, sizeof acc, "%s/accuracy", dir);
    copy_run(run_c, grad);
    edit_metrics(grad, 2, "grad_0", "0.5"); /* row 3's theta no longer follows */
    copy_run(run_c, theta);
    edit_metrics(theta, 4, "theta_0", "0.123");
    copy_run(run_c, last);
    edit_metrics(last, 6, "grad_0", "0.5"); /* the checkpoint no longer follows */
    copy_run(run_c, acc);
    edit_metrics(acc, 6, "accuracy", "0.999"); /* not seen: only recomputing the episode would */
    ru_expect_exit(report(RU_LIST(dir, "--res", report_res)), 0, "report of edited rows");
    printf("%s%s", ru_out_text, ru_err_text);
    expect_stderr(grad);
    expect_stderr("row 3: theta_0 is");
    expect_stderr("row 4: theta_0 is 0.123");
    expect_stderr(last);
    expect_stderr("do not follow from metrics.csv's rows by Adam");
    csv runs;
    read_report_file("runs.csv", &runs);
    assert_int_equal(runs.nrows, 4);
    int counted = 0;
    for (int r = 1; r <= runs.nrows; r++) counted += strcmp(csv_get(&runs, r, "status"), "counted") == 0;
    assert_int_equal(counted, 1);
    csv_free(&runs);
    tu_rmtree(dir);
}

/* 215 runs with 19-digit seeds: the seeds column holds every one (more than 4095 characters). */
static void test_long_seeds(void **state) {
    (void)state;
    enum { N = 215 };
    char dir[4000];
    snprintf(dir, sizeof dir, "%s/many", tmp);
    mkdir(dir, 0777);
    char *want = calloc(N, 24);
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        char run[4100], line[64];
        long long seed = 1000000000000000000LL + 7LL * i;
        snprintf(run, sizeof run, "%s/run_%03d", dir, i);
        copy_run(run_c, run);
        snprintf(line, sizeof line, "seed : %lld", seed);
        edit_args(run, "seed : ", line);
        rebind(run);
        n += (size_t)sprintf(want + n, "%s%lld", i ? " " : "", seed);
    }
    assert_true(n > 4095);
    ru_expect_exit(report(RU_LIST(dir, "--res", report_res)), 0, "report of 215 runs");
    csv s;
    read_report_file("summary.csv", &s);
    assert_int_equal(s.nrows, 1);
    assert_string_equal(csv_get(&s, 1, "runs"), "215");
    assert_string_equal(csv_get(&s, 1, "seeds"), want);
    assert_non_null(strstr(csv_get(&s, 1, "flags"), "fbk : sym"));
    csv_free(&s);
    assert_non_null(strstr(ru_out_text, want));
    printf("  215 runs: seeds column of %zu characters in full\n", n);
    free(want);
    tu_rmtree(dir);
}

/* --diverge skip: skipped rows out of the accuracy and loss means and the last-100 accuracy, counted. */
static void test_skipped(void **state) {
    (void)state;
    char res[4000], runs_dir[2][4400];
    snprintf(res, sizeof res, "%s/skip", tmp);
    const char *seeds[2] = {"3", "5"};
    for (int i = 0; i < 2; i++) {
        char r[4100];
        snprintf(r, sizeof r, "%s/s%s", res, seeds[i]);
        ru_complete_run(r, "30", RU_LIST("--seed", seeds[i], "--threads", "1", "--a", "8", "--diverge", "skip"),
                        "--a 8 --diverge skip", runs_dir[i], sizeof runs_dir[i]);
    }
    ru_expect_exit(report(RU_LIST(res, "--res", report_res)), 0, "report of skipping runs");
    printf("%s%s", ru_out_text, ru_err_text);
    /* independently: per run, the skipped column and the non-skipped accuracies */
    int skipped[2][30], total = 0;
    double acc[2][30], accs[2];
    for (int i = 0; i < 2; i++) {
        char path[9000];
        snprintf(path, sizeof path, "%s/metrics.csv", runs_dir[i]);
        csv m;
        csv_read(path, &m);
        assert_int_equal(m.nrows, 30);
        double sum = 0;
        int k = 0;
        for (int r = 1; r <= 30; r++) {
            skipped[i][r - 1] = (int)csv_num(&m, r, "skipped");
            acc[i][r - 1] = csv_num(&m, r, "accuracy");
            total += skipped[i][r - 1];
            if (!skipped[i][r - 1]) sum += acc[i][r - 1], k++;
        }
        accs[i] = sum / k;
        csv_free(&m);
    }
    printf("  %d skipped rows in the two runs\n", total);
    assert_true(total > 0);
    csv s;
    read_report_file("summary.csv", &s);
    assert_int_equal((int)csv_num(&s, 1, "skipped_rows"), total);
    double mean, sd;
    mean_sd(accs, 2, &mean, &sd);
    assert_close(csv_num(&s, 1, "acc_last100_mean"), mean, "last-100 accuracy without skipped rows");
    csv_free(&s);
    csv g;
    read_report_file("group_1.csv", &g);
    for (int e = 0; e < 30; e++) {
        double v[2];
        int n = 0;
        for (int i = 0; i < 2; i++)
            if (!skipped[i][e]) v[n++] = acc[i][e];
        assert_int_equal((int)csv_num(&g, e + 1, "skipped"), skipped[0][e] + skipped[1][e]);
        assert_int_equal((int)csv_num(&g, e + 1, "runs"), 2);
        if (n == 0) {
            assert_string_equal(csv_get(&g, e + 1, "accuracy_mean"), "");
            assert_string_equal(csv_get(&g, e + 1, "loss_mean"), "");
        } else {
            mean_sd(v, n, &mean, &sd);
            assert_close(csv_num(&g, e + 1, "accuracy_mean"), mean, "accuracy mean without skipped rows");
        }
        assert_true(!isnan(csv_num(&g, e + 1, "theta_0_mean"))); /* theta of a skipped row counts */
    }
    csv_free(&g);
    tu_rmtree(res);
}

/* A run directory below another is not read, and said. */
static void test_nested(void **state) {
    (void)state;
    char dir[4000], outer[4100], inner[4300];
    snprintf(dir, sizeof dir, "%s/nest", tmp);
    mkdir(dir, 0777);
    snprintf(outer, sizeof outer, "%s/outer", dir);
    snprintf(inner, sizeof inner, "%s/deeper/inner", outer);
    copy_run(run_c, outer);
    char deeper[4200];
    snprintf(deeper, sizeof deeper, "%s/deeper", outer);
    mkdir(deeper, 0777);
    copy_run(run_b[0], inner);
    ru_expect_exit(report(RU_LIST(dir, "--res", report_res)), 0, "report of a run inside a run");
    char note[9400];
    snprintf(note, sizeof note, "%s: a run directory below the run %s is not read", inner, outer);
    expect_stderr(note);
    tu_rmtree(dir);
}

/* Groups that differ only in a flag the table has no column for get one (here --a 0.002). */
static void test_flag_columns(void **state) {
    (void)state;
    char res[4000], run[4400];
    snprintf(res, sizeof res, "%s/a2", tmp);
    ru_complete_run(res, EP_B, RU_LIST("--seed", "1", "--threads", "1", "--fbk", "sym", "--a", "0.002"), "--a 0.002", run,
                    sizeof run);
    ru_expect_exit(report(RU_LIST(run_c, run, "--res", report_res)), 0, "report of groups differing in --a");
    printf("%s", ru_out_text);
    const char *header = strchr(ru_out_text, '\n') + 1;
    char line[4096];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(header, "\n"), header);
    assert_non_null(strstr(line, " episodes a "));
    const char *row2 = strstr(ru_out_text, "\n    2 ");
    assert_non_null(row2);
    snprintf(line, sizeof line, "%.*s", (int)strcspn(row2 + 1, "\n"), row2 + 1);
    assert_non_null(strstr(line, " 0.002 "));
    tu_rmtree(res);
}

/* The figures across groups: the colour of a group's place in its figure, "group 11" alone. */
static void test_figure_titles(void **state) {
    (void)state;
    char t[64];
    mp_report_figure_title(t, sizeof t, 1, 0, 3, 3);
    assert_string_equal(t, "Accuracy across seeds");
    mp_report_figure_title(t, sizeof t, 1, 0, 10, 11);
    assert_string_equal(t, "Accuracy across seeds, groups 1-10");
    mp_report_figure_title(t, sizeof t, 1, 10, 1, 11);
    assert_string_equal(t, "Accuracy across seeds, group 11");
    mp_report_figure_title(t, sizeof t, 0, 10, 5, 15);
    assert_string_equal(t, "Loss across seeds, groups 11-15");
    assert_int_equal(mp_report_series_color(0), 0);
    assert_int_equal(mp_report_series_color(9), 9);
    assert_int_equal(mp_report_series_color(10), 0);
    assert_int_equal(mp_report_series_color(21), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t_quantile), cmocka_unit_test(test_interval), cmocka_unit_test(test_groups),
        cmocka_unit_test(test_left_out),   cmocka_unit_test(test_no_runs),  cmocka_unit_test(test_usage),
        cmocka_unit_test(test_evals),      cmocka_unit_test(test_eval_stale),  cmocka_unit_test(test_theta_chain),
        cmocka_unit_test(test_long_seeds), cmocka_unit_test(test_skipped),     cmocka_unit_test(test_nested),
        cmocka_unit_test(test_flag_columns), cmocka_unit_test(test_figure_titles),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
