/* The meta-test, --eval (issue 13): the interval against a hand computation, a rule's
 * adaptation in pieces against the one run of a training episode, and end to end on the
 * binary with the fake database: every rule sees the same task i (same classes, images,
 * order, W and B: tasks.csv's inputs_crc32), the curve's last point is the task's score,
 * the summary's intervals are those of tasks.csv, the held-out classes are the
 * complement of the runs' --classes, and each kind of bad input is refused. */
#include "runutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include "metaplast/eval.h"
#include "metaplast/rng.h"
#include "model/rules.h"
#include "train/eval_internal.h"

static char *tmp_root;

static int group_setup(void **state) {
    (void)state;
    tmp_root = tu_mkdtemp();
    return tmp_root && ru_setup(tmp_root) == 0 ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rmtree(tmp_root);
    free(tmp_root);
    printf("%d metaplast processes started\n", ru_spawned);
    return 0;
}

static void path_in(char *out, size_t cap, const char *dir, const char *name) {
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) fail_msg("path too long: %s/%s", dir, name);
}

/* ---- statistics ------------------------------------------------------------------- */

/* One interval by hand (the t quantiles themselves: test_report). */
static void test_interval(void **state) {
    (void)state;
    /* mean 0.5, sd = sqrt(0.26 / 3), half width t_{0.975,3} sd / 2; the NaN is left out */
    const double v[5] = {0.2, 0.4, NAN, 0.5, 0.9};
    double mean, lo, hi;
    int used;
    mp_eval_interval(v, 5, &mean, &lo, &hi, &used);
    double half = 3.18244630528 * sqrt(0.26 / 3) / 2;
    assert_int_equal(used, 4);
    assert_true(fabs(mean - 0.5) < 1e-15);
    assert_true(fabs(lo - (0.5 - half)) < 1e-10 && fabs(hi - (0.5 + half)) < 1e-10);
    printf("  {0.2, 0.4, NaN, 0.5, 0.9}: %.10f [%.10f, %.10f], by hand half width %.10f\n", mean, lo, hi, half);
    mp_eval_interval(v, 1, &mean, &lo, &hi, &used); /* one value: no interval */
    assert_int_equal(used, 1);
    assert_true(isnan(lo) && isnan(hi));
}

/* ---- one rule on one task: pieces against one run ---------------------------------- */

/* The adaptation in pieces ends where the training episode's one run ends (float
 * rounding apart), and every piece's score is that of a run of that many steps. */
static void test_pieces_equal_one_run(void **state) {
    (void)state;
    enum { T = 20, NQ = 12, C = 4 };
    mp_arch base = {.n = {49, 170, 130, 100, 70, C}};
    mp_draw d;
    mp_draw_init(&d, &base, C, 5, 3, 1);
    mp_rng rng;
    mp_rng_seed(&rng, 11);
    const size_t nw = mp_arch_weight_count(&base);
    for (int l = 1; l <= MP_LAYERS; l++) {
        double r = sqrt(6.0 / (base.n[l - 1] + base.n[l]));
        mp_rng_uniform_symmetric(&rng, d.W0 + mp_arch_offset(&base, l), (size_t)base.n[l] * base.n[l - 1], r);
        mp_rng_uniform_symmetric(&rng, d.B0 + mp_arch_offset(&base, l), (size_t)base.n[l] * base.n[l - 1], r);
    }
    for (int i = 0; i < T * 49; i++) d.x_train[i] = (float)mp_rng_uniform(&rng);
    for (int i = 0; i < NQ * 49; i++) d.x_query[i] = (float)mp_rng_uniform(&rng);
    for (int i = 0; i < T; i++) d.y_train[i] = i % C;
    for (int i = 0; i < NQ; i++) d.y_query[i] = (i * 3) % C;
    const int tpoint[4] = {0, 7, 14, T};
    struct {
        const char *name;
        mp_feedback fb;
        int vec[9], nvec;
    } rules[] = {{"fix", MP_FEEDBACK_FIXED, {0}, 0},
                 {"sym", MP_FEEDBACK_SYMMETRIC, {0}, 0},
                 {"fix vec 1 2", MP_FEEDBACK_FIXED, {1, 2}, 2},
                 {"fix, the whole pool", MP_FEEDBACK_FIXED, {1, 2, 3, 4, 5, 6, 7, 8, 9}, 9}};
    double theta[MP_THETAS] = {0.05, -0.01, 0.004, 0.002, -0.003, 0.001, 0.002, -0.001, 0.003, 0.001};
    float *W = malloc(nw * sizeof *W);
    for (size_t r = 0; r < sizeof rules / sizeof rules[0]; r++) {
        mp_arch a = base;
        a.feedback = rules[r].fb;
        a.terms = mp_rule_mask(rules[r].vec, rules[r].nvec);
        mp_episode_f32 *pieces = mp_episode_new_f32(&a, 7, NQ), *one = mp_episode_new_f32(&a, T, NQ);
        double acc[4], loss[4];
        assert_int_equal(mp_eval_adapt(pieces, &d, theta, NQ, tpoint, 4, nw, 49, W, acc, loss), 0);
        double worst = 0;
        for (int j = 0; j < 4; j++) {
            mp_episode_out o;
            mp_episode_inputs_f32 in = {d.W0, d.B0, theta, 0.0, d.x_train, d.y_train, tpoint[j], d.x_query, d.y_query,
                                        NQ};
            assert_int_equal(mp_episode_run_f32(one, &in, 0, &o), 0);
            double rel = fabs(o.loss - loss[j]) / fabs(o.loss);
            if (rel > worst) worst = rel;
            if (rel > 1e-5 || o.accuracy != acc[j])
                fail_msg("%s, after %d samples: one run loss %.9g accuracy %g, in pieces %.9g %g", rules[r].name,
                         tpoint[j], o.loss, o.accuracy, loss[j], acc[j]);
        }
        printf("  %-20s pieces 0-7-14-20 against one run of 0, 7, 14, 20 steps: worst loss difference %.1e "
               "(relative), accuracies equal; loss %.4f -> %.4f\n", rules[r].name, worst, loss[0], loss[3]);
        /* the weights moved: the comparison is not of two idle runs */
        assert_true(fabs(loss[3] - loss[0]) > 1e-3);
        mp_episode_free_f32(pieces);
        mp_episode_free_f32(one);
    }
    free(W);
    mp_draw_free(&d);
}

/* ---- end to end ------------------------------------------------------------------- */

/* A CSV file: its rows (header first) split into fields (no quoting in these tests). */
typedef struct {
    int n;
    char *field[256][16];
    char *text;
} table;

static void read_table(const char *dir, const char *name, table *t) {
    char path[4400];
    path_in(path, sizeof path, dir, name);
    t->text = tu_read_file(path, NULL);
    if (!t->text) fail_msg("no %s", path);
    t->n = 0;
    char *save_line, *line;
    for (line = strtok_r(t->text, "\n", &save_line); line; line = strtok_r(NULL, "\n", &save_line)) {
        assert_true(t->n < 256);
        int k = 0;
        char *p = line;
        while (k < 16) {
            t->field[t->n][k++] = p;
            char *comma = strchr(p, ',');
            if (!comma) break;
            *comma = '\0';
            p = comma + 1;
        }
        while (k < 16) t->field[t->n][k++] = NULL;
        t->n++;
    }
}

static int column(const table *t, const char *name) {
    for (int k = 0; k < 16 && t->field[0][k]; k++)
        if (strcmp(t->field[0][k], name) == 0) return k;
    fail_msg("no column %s", name);
    return -1;
}

static double num(const table *t, int row, const char *name) { return strtod(t->field[row][column(t, name)], NULL); }

static char runs[3][4400]; /* fix, sym, fix --vec 1 2; meta-trained on --classes 0-5 */

static void make_runs(void) {
    if (runs[0][0]) return;
    const char *const extra[3][5] = {{"--classes", "0-5", NULL},
                                     {"--classes", "0-5", "--fbk", "sym", NULL},
                                     {"--classes", "0-5", "--vec", "1", "2"}};
    for (int r = 0; r < 3; r++) {
        char res[4400], name[32];
        snprintf(name, sizeof name, "runs-%d", r);
        path_in(res, sizeof res, tmp_root, name);
        const char *list[6] = {0};
        for (int k = 0; k < 5 && extra[r][k]; k++) list[k] = extra[r][k];
        ru_complete_run(res, "4", list, "a run to judge", runs[r], sizeof runs[r]);
    }
}

/* --eval of the given runs and flags into res; returns the exit status, the eval
 * directory in dir ("" when none was printed). */
static int run_eval(const char *res, const char *const *dirs, const char *const *extra, char *dir, size_t cap) {
    ru_cmdline c = {.argc = 0};
    ru_cmd_add(&c, tu_binary());
    ru_cmd_add(&c, "--eval");
    for (int i = 0; dirs[i]; i++) ru_cmd_add(&c, dirs[i]);
    ru_cmd_add(&c, "--res");
    ru_cmd_add(&c, res);
    for (int i = 0; extra && extra[i]; i++) ru_cmd_add(&c, extra[i]);
    int st = ru_run(&c);
    dir[0] = '\0';
    const char *at = strstr(ru_out_text, "eval directory: ");
    if (at) {
        at += strlen("eval directory: ");
        snprintf(dir, cap, "%.*s", (int)strcspn(at, "\n"), at);
    }
    return st;
}

static void test_same_tasks_curve_and_summary(void **state) {
    (void)state;
    make_runs();
    char res[4400], dir[4400];
    path_in(res, sizeof res, tmp_root, "eval");
    int st = run_eval(res, RU_LIST(runs[0], runs[1], runs[2]), RU_LIST("--eval_tasks", "12", "--eval_every", "4"),
                      dir, sizeof dir);
    printf("%s", ru_out_text);
    ru_expect_exit(st, 0, "--eval of three runs");
    assert_true(dir[0]);
    table tasks, curve, summary;
    read_table(dir, "tasks.csv", &tasks);
    read_table(dir, "curve.csv", &curve);
    read_table(dir, "summary.csv", &summary);
    assert_int_equal(tasks.n, 1 + 12 * 3);
    /* task i: the same classes and inputs for every rule; other tasks, other inputs;
     * classes only from 6-9, the ones the runs never saw */
    int distinct = 0;
    for (int i = 0; i < 12; i++) {
        int row0 = 1 + i * 3;
        for (int r = 1; r < 3; r++) {
            assert_string_equal(tasks.field[row0 + r][column(&tasks, "inputs_crc32")],
                                tasks.field[row0][column(&tasks, "inputs_crc32")]);
            assert_string_equal(tasks.field[row0 + r][column(&tasks, "classes")],
                                tasks.field[row0][column(&tasks, "classes")]);
        }
        if (i > 0) distinct += strcmp(tasks.field[row0][column(&tasks, "inputs_crc32")],
                                      tasks.field[row0 - 3][column(&tasks, "inputs_crc32")]) != 0;
        const char *cls = tasks.field[row0][column(&tasks, "classes")];
        for (const char *p = cls; *p; p++)
            if (*p != ' ' && (*p < '6' || *p > '9')) fail_msg("task %d has classes %s, not only of 6-9", i + 1, cls);
    }
    assert_int_equal(distinct, 11);
    /* the curve: points 0, 4, 8, 12, 15; its last point is the mean of the tasks' scores */
    assert_int_equal(curve.n, 1 + 3 * 5);
    const int samples[5] = {0, 4, 8, 12, 15};
    for (int r = 0; r < 3; r++) {
        for (int j = 0; j < 5; j++) assert_int_equal((int)num(&curve, 1 + r * 5 + j, "samples"), samples[j]);
        double acc[12], mean, lo, hi;
        int used;
        for (int i = 0; i < 12; i++) acc[i] = num(&tasks, 1 + i * 3 + r, "accuracy");
        mp_eval_interval(acc, 12, &mean, &lo, &hi, &used);
        double last = num(&curve, 1 + r * 5 + 4, "acc_mean");
        if (fabs(last - mean) > 1e-12) fail_msg("rule %d: curve ends at %.17g, tasks' mean %.17g", r + 1, last, mean);
        /* the summary's interval, recomputed here from tasks.csv: t_{0.975,11} = 2.20098516009 */
        double sum = 0, ss = 0;
        for (int i = 0; i < 12; i++) sum += acc[i];
        for (int i = 0; i < 12; i++) ss += (acc[i] - sum / 12) * (acc[i] - sum / 12);
        double half = 2.20098516009 * sqrt(ss / 11) / sqrt(12.0);
        assert_true(fabs(num(&summary, 1 + r, "acc_mean") - sum / 12) < 1e-12);
        assert_true(fabs(num(&summary, 1 + r, "acc_lo") - (sum / 12 - half)) < 1e-9);
        assert_true(fabs(num(&summary, 1 + r, "acc_hi") - (sum / 12 + half)) < 1e-9);
        /* paired against rule 1 */
        if (r > 0) {
            double dsum = 0, dss = 0, diff[12];
            for (int i = 0; i < 12; i++) diff[i] = acc[i] - num(&tasks, 1 + i * 3, "accuracy"), dsum += diff[i];
            for (int i = 0; i < 12; i++) dss += (diff[i] - dsum / 12) * (diff[i] - dsum / 12);
            double dhalf = 2.20098516009 * sqrt(dss / 11) / sqrt(12.0);
            assert_true(fabs(num(&summary, 1 + r, "diff_mean") - dsum / 12) < 1e-12);
            assert_true(fabs(num(&summary, 1 + r, "diff_lo") - (dsum / 12 - dhalf)) < 1e-9);
        } else {
            assert_string_equal(summary.field[1][column(&summary, "diff_mean")], "");
        }
        char real[4400];
        assert_non_null(realpath(runs[r], real));
        assert_string_equal(summary.field[1 + r][column(&summary, "run_dir")], real);
    }
    char args_path[4400];
    path_in(args_path, sizeof args_path, dir, "args.txt");
    char *args = tu_read_file(args_path, NULL);
    assert_non_null(strstr(args, "classes : 6-9\n"));
    assert_non_null(strstr(args, "eval_seed : 1\n"));
    assert_non_null(strstr(args, "rule_3_flags : fix vec 1 2\n"));
    free(args);
    path_in(args_path, sizeof args_path, dir, "eval_curve.png");
    size_t png_bytes = 0;
    char *png = tu_read_file(args_path, &png_bytes);
    assert_non_null(png);
    assert_true(png_bytes > 1000 && memcmp(png, "\x89PNG", 4) == 0);
    free(png);

    /* again, in another order and with the rules repeated: each rule's scores, task for task */
    char dir2[4400];
    ru_expect_exit(run_eval(res, RU_LIST(runs[2], runs[0]), RU_LIST("--eval_tasks", "12", "--eval_every", "4"), dir2,
                            sizeof dir2),
                   0, "--eval in another order");
    table again;
    read_table(dir2, "tasks.csv", &again);
    for (int i = 0; i < 12; i++) {
        assert_string_equal(again.field[1 + i * 2][column(&again, "accuracy")],
                            tasks.field[1 + i * 3 + 2][column(&tasks, "accuracy")]);
        assert_string_equal(again.field[1 + i * 2 + 1][column(&again, "loss")],
                            tasks.field[1 + i * 3][column(&tasks, "loss")]);
        assert_string_equal(again.field[1 + i * 2][column(&again, "inputs_crc32")],
                            tasks.field[1 + i * 3][column(&tasks, "inputs_crc32")]);
    }
    /* --threads 1: the same numbers (with 2, two tasks are judged at a time) */
    char dir1[4400];
    ru_expect_exit(run_eval(res, RU_LIST(runs[0], runs[1], runs[2]),
                            RU_LIST("--eval_tasks", "12", "--eval_every", "4", "--threads", "1"), dir1, sizeof dir1),
                   0, "--eval --threads 1");
    table one;
    read_table(dir1, "tasks.csv", &one);
    for (int row = 1; row < tasks.n; row++)
        for (int k = 0; k < 7; k++) assert_string_equal(one.field[row][k], tasks.field[row][k]);
    free(one.text);
    /* another --eval_seed: other tasks */
    char dir3[4400];
    ru_expect_exit(run_eval(res, RU_LIST(runs[0]), RU_LIST("--eval_tasks", "12", "--eval_seed", "2"), dir3,
                            sizeof dir3),
                   0, "--eval_seed 2");
    table other;
    read_table(dir3, "tasks.csv", &other);
    assert_string_not_equal(other.field[1][column(&other, "inputs_crc32")],
                            tasks.field[1][column(&tasks, "inputs_crc32")]);
    printf("  12 tasks x 3 rules: identical inputs per task, 12 distinct tasks, classes only 6-9; curve ends at "
           "each rule's mean score; intervals as recomputed; another order, --threads 1: the same scores; eval seed 2: other "
           "tasks\n");
    free(tasks.text), free(curve.text), free(summary.text), free(again.text), free(other.text);
}

/* Nothing of the eval directory exists when res has nothing under it. */
static void expect_nothing_written(const char *res) {
    char eval_dir[4400];
    path_in(eval_dir, sizeof eval_dir, res, "eval");
    if (tu_exists(eval_dir)) {
        char cmd[4500], out[4096];
        snprintf(cmd, sizeof cmd, "ls -A '%s'", eval_dir);
        tu_run(cmd, out, sizeof out);
        if (out[0]) fail_msg("a failed --eval left %s", out);
    }
}

static void copy_dir(const char *from, const char *to) {
    char cmd[40000], out[256];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", from, to);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
}

static void test_bad_runs(void **state) {
    (void)state;
    make_runs();
    char res[4400], dir[4400], path[4500];
    path_in(res, sizeof res, tmp_root, "bad-eval");
    struct {
        const char *what, *needle;
        char dir[4400];
    } cases[6];
    int n = 0;
    /* missing */
    cases[n].what = "a missing directory", cases[n].needle = "No such file or directory";
    path_in(cases[n++].dir, sizeof cases[0].dir, tmp_root, "no-such-run");
    /* not a run */
    cases[n].what = "a directory with no args.txt", cases[n].needle = "not a run directory";
    path_in(cases[n].dir, sizeof cases[0].dir, tmp_root, "empty-dir");
    mkdir(cases[n++].dir, 0755);
    /* unfinished: args.txt says 6 episodes, the checkpoint has 4 */
    cases[n].what = "an unfinished run", cases[n].needle = "unfinished: 4 of its 6 episodes";
    path_in(cases[n].dir, sizeof cases[0].dir, tmp_root, "unfinished");
    copy_dir(runs[0], cases[n].dir);
    path_in(path, sizeof path, cases[n].dir, "args.txt");
    char *args = tu_read_file(path, NULL), *at = strstr(args, "episodes : 4\n");
    assert_non_null(at);
    at[11] = '6';
    assert_int_equal(tu_write_text(path, args), 0);
    free(args);
    n++;
    /* a damaged checkpoint */
    cases[n].what = "a damaged checkpoint", cases[n].needle = "checkpoint.bin";
    path_in(cases[n].dir, sizeof cases[0].dir, tmp_root, "damaged");
    copy_dir(runs[0], cases[n].dir);
    path_in(path, sizeof path, cases[n].dir, "checkpoint.bin");
    assert_int_equal(truncate(path, 40), 0);
    n++;
    /* no checkpoint */
    cases[n].what = "no checkpoint", cases[n].needle = "final theta";
    path_in(cases[n].dir, sizeof cases[0].dir, tmp_root, "no-checkpoint");
    copy_dir(runs[0], cases[n].dir);
    path_in(path, sizeof path, cases[n].dir, "checkpoint.bin");
    assert_int_equal(unlink(path), 0);
    n++;
    /* metaplast 0.1 */
    cases[n].what = "a run of metaplast 0.1", cases[n].needle = "0.1";
    path_in(cases[n].dir, sizeof cases[0].dir, tmp_root, "old-version");
    copy_dir(runs[0], cases[n].dir);
    path_in(path, sizeof path, cases[n].dir, "args.txt");
    args = tu_read_file(path, NULL);
    at = strstr(args, "version : ");
    assert_non_null(at);
    snprintf(at, strlen(at) + 1, "version : 0.1.0\n");
    assert_int_equal(tu_write_text(path, args), 0);
    free(args);
    n++;
    for (int i = 0; i < n; i++) {
        int st = run_eval(res, RU_LIST(runs[1], cases[i].dir), NULL, dir, sizeof dir);
        printf("  %s: exit %d: %s", cases[i].what, st, ru_err_text);
        ru_expect_exit(st, 1, cases[i].what);
        if (!strstr(ru_err_text, cases[i].dir) || !strstr(ru_err_text, cases[i].needle))
            fail_msg("%s: the message should name %s and say '%s': %s", cases[i].what, cases[i].dir,
                     cases[i].needle, ru_err_text);
    }
    expect_nothing_written(res);
}

static void test_bad_flags(void **state) {
    (void)state;
    make_runs();
    char res[4400], dir[4400], run8[4400], res8[4400], runM[4400], resM[4400];
    path_in(res, sizeof res, tmp_root, "bad-flags");
    /* trained on 0-7: the held-out 8-9 are fewer than M = 3 */
    path_in(res8, sizeof res8, tmp_root, "runs-0-7");
    ru_complete_run(res8, "2", RU_LIST("--classes", "0-7"), "--classes 0-7", run8, sizeof run8);
    int st = run_eval(res, RU_LIST(run8), NULL, dir, sizeof dir);
    printf("  held-out classes fewer than M: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 2, "held-out classes fewer than M");
    assert_non_null(strstr(ru_err_text, "8-9"));
    assert_non_null(strstr(ru_err_text, "--M"));
    /* runs that differ in M, and no --M */
    path_in(resM, sizeof resM, tmp_root, "runs-M2");
    ru_complete_run(resM, "2", RU_LIST("--M", "2", "--classes", "0-5"), "--M 2", runM, sizeof runM);
    st = run_eval(res, RU_LIST(runs[0], runM), NULL, dir, sizeof dir);
    printf("  runs with other M: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 2, "runs that differ in --M");
    assert_non_null(strstr(ru_err_text, "--M"));
    /* ... which --M settles */
    st = run_eval(res, RU_LIST(runs[0], runM), RU_LIST("--M", "2", "--eval_tasks", "3"), dir, sizeof dir);
    ru_expect_exit(st, 0, "runs that differ in --M, with --M 2");
    /* --classes of a class the database lacks */
    st = run_eval(res, RU_LIST(runs[0]), RU_LIST("--classes", "5-12"), dir, sizeof dir);
    printf("  --classes 5-12: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 2, "--classes beyond the database");
    assert_non_null(strstr(ru_err_text, "class 10 is not in the database"));
    /* a database of 14x14 images: the runs' input is 28x28 */
    char images[4400], labels[4400];
    path_in(images, sizeof images, tmp_root, "small-images.gz");
    path_in(labels, sizeof labels, tmp_root, "small-labels.gz");
    enum { COUNT = 40 };
    uint8_t px[COUNT * 196], y[COUNT];
    for (int i = 0; i < COUNT * 196; i++) px[i] = (uint8_t)(i * 7);
    for (int i = 0; i < COUNT; i++) y[i] = (uint8_t)(i % 4);
    const uint32_t idims[3] = {COUNT, 14, 14}, ldims[1] = {COUNT};
    assert_int_equal(tu_write_idx(images, 3, idims, px, 1), 0);
    assert_int_equal(tu_write_idx(labels, 1, ldims, y, 1), 0);
    st = run_eval(res, RU_LIST(runs[0]), RU_LIST("--images", images, "--labels", labels), dir, sizeof dir);
    printf("  14x14 images: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 2, "images that do not fit the runs' input");
    assert_non_null(strstr(ru_err_text, "--dim"));
    assert_non_null(strstr(ru_err_text, "14x14"));
    /* with --dim, judged on them: all 4 classes (another database), C = 4 */
    st = run_eval(res, RU_LIST(runs[0], runs[2]),
                  RU_LIST("--images", images, "--labels", labels, "--dim", "14", "--K", "3", "--eval_tasks", "4"), dir,
                  sizeof dir);
    printf("%s", ru_out_text);
    ru_expect_exit(st, 0, "another database, with --dim");
    char args_path[4500];
    path_in(args_path, sizeof args_path, dir, "args.txt");
    char *args = tu_read_file(args_path, NULL);
    assert_non_null(strstr(args, "classes : 0-3\n"));
    assert_non_null(strstr(args, "database : idx\n"));
    free(args);
}

/* --classes on a run: recorded, and a resume keeps it. */
static void test_classes_on_runs(void **state) {
    (void)state;
    make_runs();
    char path[4500];
    path_in(path, sizeof path, runs[0], "args.txt");
    char *args = tu_read_file(path, NULL);
    assert_non_null(strstr(args, "classes : 0-5\n"));
    free(args);
    ru_cmdline c = ru_resume_run(runs[0], RU_LIST("--classes", "0-6"));
    ru_expect_failure(&c, 2, RU_LIST("--classes", "0-5", "0-6"), "--resume with other --classes");
    ru_cmdline same = ru_resume_run(runs[0], RU_LIST("--classes", "5,0-4"));
    ru_expect_exit(ru_run(&same), 0, "--resume with the same --classes, written otherwise");
}

/* A run of metaplast 0.2 (its args.txt has no line for the flags added since) resumes. */
static void test_run_before_classes(void **state) {
    (void)state;
    make_runs();
    char old[4400], path[4500];
    path_in(old, sizeof old, tmp_root, "made-by-0.2");
    char res[4400];
    path_in(res, sizeof res, tmp_root, "runs-0.2");
    ru_complete_run(res, "3", NULL, "a run on all classes", old, sizeof old);
    path_in(path, sizeof path, old, "args.txt");
    char *args = tu_read_file(path, NULL), *out = malloc(strlen(args) + 1), *o = out;
    for (char *line = strtok(args, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strncmp(line, "classes :", 9) || !strncmp(line, "images :", 8) || !strncmp(line, "labels :", 8)) continue;
        if (!strncmp(line, "version :", 9)) line = "version : 0.2.0";
        o += sprintf(o, "%s\n", line);
    }
    assert_int_equal(tu_write_text(path, out), 0);
    free(args), free(out);
    ru_cmdline c = ru_resume_run(old, RU_LIST("--episodes", "5"));
    ru_expect_exit(ru_run(&c), 0, "--resume of a run whose args.txt predates --classes");
    assert_int_equal(ru_checkpoint_episode(old), 5);
}

/* Training on a user's IDX pair: args.txt names it; --resume takes the same pair at
 * another path and refuses other contents. */
static void test_train_on_idx_pair(void **state) {
    (void)state;
    char images[4400], labels[4400], moved_i[4400], moved_l[4400], res[4400], run[4400], cmd[20000], out[256];
    path_in(images, sizeof images, tmp_root, "pair-images.gz");
    path_in(labels, sizeof labels, tmp_root, "pair-labels");
    path_in(moved_i, sizeof moved_i, tmp_root, "moved-images.gz");
    path_in(moved_l, sizeof moved_l, tmp_root, "moved-labels");
    enum { COUNT = 60 };
    uint8_t px[COUNT * 100], y[COUNT];
    for (int i = 0; i < COUNT * 100; i++) px[i] = (uint8_t)((i * 37) % 251);
    for (int i = 0; i < COUNT; i++) y[i] = (uint8_t)(i % 5);
    const uint32_t idims[3] = {COUNT, 10, 10}, ldims[1] = {COUNT};
    assert_int_equal(tu_write_idx(images, 3, idims, px, 1), 0);
    assert_int_equal(tu_write_idx(labels, 1, ldims, y, 0), 0);
    path_in(res, sizeof res, tmp_root, "runs-pair");
    ru_cmdline c = {.argc = 0};
    const char *argv[] = {tu_binary(), "--images", images, "--labels", labels, "--dim", "10", "--res", res,
                          "--gpu_mode", "0", "--K", "5", "--Q", "2", "--M", "3", "--episodes", "3", NULL};
    for (int i = 0; argv[i]; i++) ru_cmd_add(&c, argv[i]);
    ru_expect_exit(ru_run(&c), 0, "a run on --images/--labels");
    ru_find_run_dir(res, run, sizeof run);
    char path[4500];
    path_in(path, sizeof path, run, "args.txt");
    char *args = tu_read_file(path, NULL);
    assert_non_null(strstr(args, "database : idx\n"));
    assert_non_null(strstr(args, images));
    free(args);
    snprintf(cmd, sizeof cmd, "mv '%s' '%s' && mv '%s' '%s'", images, moved_i, labels, moved_l);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    ru_cmdline r = ru_resume_run(run, RU_LIST("--images", moved_i, "--labels", moved_l, "--episodes", "5"));
    ru_expect_exit(ru_run(&r), 0, "--resume with the pair at another path");
    assert_int_equal(ru_checkpoint_episode(run), 5);
    y[0] = 4; /* other labels */
    assert_int_equal(tu_write_idx(moved_l, 1, ldims, y, 0), 0);
    ru_cmdline bad = ru_resume_run(run, RU_LIST("--images", moved_i, "--labels", moved_l, "--episodes", "6"));
    ru_expect_failure(&bad, 1, RU_LIST(moved_l, "is not the data the run"), "--resume with other labels");
}

/* What a red-team pass found: the data told by fingerprint, not path; an edited classes
 * line; a result too large to hold; a run of its own --dim; an eval directory given as a
 * run; a signal during the meta-test. */
static void test_red_team_cases(void **state) {
    (void)state;
    make_runs();
    char res[4400], dir[4400], copy[4400], cmd[20000], out[256], path[4500];
    path_in(res, sizeof res, tmp_root, "red");
    /* the same data at another path: the runs' classes are still held out */
    path_in(copy, sizeof copy, tmp_root, "data-copy");
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", ru_data_dir, copy);
    assert_int_equal(tu_run(cmd, out, sizeof out), 0);
    int st = run_eval(res, RU_LIST(runs[0]), RU_LIST("--data_dir", copy, "--eval_tasks", "3"), dir, sizeof dir);
    ru_expect_exit(st, 0, "--eval with a copy of the data");
    path_in(path, sizeof path, dir, "args.txt");
    char *args = tu_read_file(path, NULL);
    assert_non_null(strstr(args, "classes : 6-9\n"));
    assert_non_null(strstr(args, "rule_1_held_out : yes\n"));
    free(args);
    /* an args.txt whose classes line was emptied: refused, as another run's checkpoint is */
    char edited[4400];
    path_in(edited, sizeof edited, tmp_root, "edited-classes");
    copy_dir(runs[0], edited);
    path_in(path, sizeof path, edited, "args.txt");
    args = tu_read_file(path, NULL);
    char *at = strstr(args, "classes : 0-5\n");
    assert_non_null(at);
    memmove(at + 10, at + 13, strlen(at + 13) + 1);
    assert_int_equal(tu_write_text(path, args), 0);
    free(args);
    st = run_eval(res, RU_LIST(edited), NULL, dir, sizeof dir);
    printf("  classes line emptied: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 1, "an edited classes line");
    assert_non_null(strstr(ru_err_text, "damaged"));
    /* results beyond 4 GiB: refused before any work */
    const char *many[12];
    for (int i = 0; i < 11; i++) many[i] = runs[0];
    many[11] = NULL;
    st = run_eval(res, many, RU_LIST("--eval_tasks", "1000000", "--eval_every", "1", "--K", "18"), dir, sizeof dir);
    printf("  11 rules x 10^6 tasks x 55 points: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 2, "results too large");
    assert_non_null(strstr(ru_err_text, "GiB"));
    /* a run of --dim 14 on 28x28 data: judged on its own data, resized as it was trained */
    char res14[4400], run14[4400];
    path_in(res14, sizeof res14, tmp_root, "runs-dim14");
    ru_complete_run(res14, "2", RU_LIST("--dim", "14", "--classes", "0-5"), "--dim 14", run14, sizeof run14);
    st = run_eval(res, RU_LIST(run14), RU_LIST("--eval_tasks", "3"), dir, sizeof dir);
    ru_expect_exit(st, 0, "a --dim 14 run on its own data");
    /* an eval directory given as a run */
    st = run_eval(res, RU_LIST(dir), NULL, copy, sizeof copy);
    printf("  an eval directory as a run: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 1, "an eval directory as a run");
    assert_non_null(strstr(ru_err_text, "a meta-test's directory"));
    /* SIGINT during the meta-test: the tasks done are written, marked in args.txt */
    char sig_res[4400];
    path_in(sig_res, sizeof sig_res, tmp_root, "red-sigint");
    ru_cmdline c = {.argc = 0};
    const char *argv[] = {tu_binary(), "--eval", runs[0], runs[1], "--eval_tasks", "1000000", "--res", sig_res, NULL};
    for (int i = 0; argv[i]; i++) ru_cmd_add(&c, argv[i]);
    pid_t pid = ru_spawn(&c);
    char found[4400] = "";
    for (double t0 = tu_now(); tu_now() - t0 < 20 && !found[0]; tu_sleep(0.05)) {
        snprintf(cmd, sizeof cmd, "find '%s' -name args.txt", sig_res);
        if (tu_run(cmd, found, sizeof found) != 0) found[0] = '\0';
    }
    assert_true(found[0]);
    tu_sleep(1.0); /* a task takes milliseconds (tens under a sanitizer) */
    kill(pid, SIGINT);
    st = ru_reap(pid);
    printf("  SIGINT: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 130, "--eval stopped by SIGINT");
    found[strcspn(found, "\n")] = '\0';
    args = tu_read_file(found, NULL);
    assert_non_null(strstr(args, "eval_tasks_done : "));
    long done = strtol(strstr(args, "eval_tasks_done : ") + 18, NULL, 10);
    free(args);
    char sig_dir[4400];
    snprintf(sig_dir, sizeof sig_dir, "%.*s", (int)(strlen(found) - strlen("/args.txt")), found);
    path_in(path, sizeof path, sig_dir, "tasks.csv");
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    int rows = tu_count_char(text, '\n') - 1;
    free(text);
    printf("  stopped after %ld tasks: tasks.csv has %d rows\n", done, rows);
    assert_true(done >= 1 && rows == 2 * done);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_pieces_equal_one_run),
        cmocka_unit_test(test_same_tasks_curve_and_summary),
        cmocka_unit_test(test_bad_runs),
        cmocka_unit_test(test_bad_flags),
        cmocka_unit_test(test_classes_on_runs),
        cmocka_unit_test(test_run_before_classes),
        cmocka_unit_test(test_train_on_idx_pair),
        cmocka_unit_test(test_red_team_cases),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
