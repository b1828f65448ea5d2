/* --diverge stop|skip, end to end on the metaplast binary (issue 12). A large --a makes
 * the fake data's episodes diverge: with --a 8 some of them (the loss of the adapted
 * network is NaN), with --a 100 every one. Checked:
 *   - skip: the run goes on past diverged episodes, each marked in metrics.csv (skipped =
 *     1) and named on stderr; a skipped episode takes no Adam step (the next row's theta
 *     is its own); the run completes (exit 0);
 *   - 10 skipped in a row stop the run (exit 1, naming the episodes), every row kept;
 *   - stop (the default): the run stops at the first episode skip would skip, with the
 *     same rows before it;
 *   - a run that never diverges gives the same rows with stop and with skip;
 *   - --resume of a run with skipped rows (from its checkpoint, from its rows alone, with
 *     a skipped row last, a streak of skipped rows cut by the resume) is identical to the
 *     uninterrupted run, and a run stopped by a divergence resumed with --diverge skip is
 *     the run made with skip from the start. */
#include "runutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"

#define COL_THETA 3
#define COL_LOSS 1
#define COL_SKIPPED (RU_CSV_COLUMNS - 2)
#define EPISODES 30

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

/* ---- metrics.csv ------------------------------------------------------------------ */

typedef struct {
    int n;
    double v[200][RU_CSV_COLUMNS];
    char text[200][1024]; /* each row as written, without its newline */
} rows;

static void read_rows(const char *run_dir, rows *r) {
    char path[4400];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    char *csv = tu_read_file(path, NULL);
    if (!csv) fail_msg("no %s", path);
    r->n = 0;
    char *p = strchr(csv, '\n') + 1, *nl;
    while ((nl = strchr(p, '\n'))) {
        *nl = '\0';
        assert_true(r->n < 200 && strlen(p) < sizeof r->text[0]);
        snprintf(r->text[r->n], sizeof r->text[0], "%s", p);
        if (tu_count_char(p, ',') != RU_CSV_COLUMNS - 1) fail_msg("row %d: '%s'", r->n + 1, p);
        char *f = p;
        for (int k = 0; k < RU_CSV_COLUMNS; k++) {
            r->v[r->n][k] = strtod(f, &f);
            f++;
        }
        r->n++;
        p = nl + 1;
    }
    free(csv);
}

static int skipped_count(const rows *r) {
    int n = 0;
    for (int i = 0; i < r->n; i++) n += r->v[i][COL_SKIPPED] == 1;
    return n;
}

/* The rows' skipped column as a string of 0s and 1s. */
static const char *pattern(const rows *r) {
    static char s[201];
    for (int i = 0; i < r->n; i++) s[i] = r->v[i][COL_SKIPPED] == 1 ? '1' : '0';
    s[r->n] = '\0';
    return s;
}

/* Row i of a and b the same up to the column `upto` (exclusive, counted in commas). */
static void assert_same_prefix(const rows *a, const rows *b, int i, int upto, const char *what) {
    const char *pa = a->text[i], *pb = b->text[i];
    for (int c = 0; c < upto; c++) {
        pa = strchr(pa, ',') + 1;
        pb = strchr(pb, ',') + 1;
    }
    if (pa - a->text[i] != pb - b->text[i] || memcmp(a->text[i], b->text[i], (size_t)(pa - a->text[i])) != 0)
        fail_msg("%s: row %d differs:\n  %s\n  %s", what, i + 1, a->text[i], b->text[i]);
}

static void path_in(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
}

/* ---- the uninterrupted runs --------------------------------------------------------- */

static char ref_skip[4400]; /* --a 8 --diverge skip, EPISODES episodes */

static void make_ref_skip(void) {
    if (ref_skip[0]) return;
    char res[4400];
    path_in(res, sizeof res, tmp_root, "ref-skip");
    ru_complete_run(res, "30", RU_LIST("--a", "8", "--diverge", "skip"), "--a 8 --diverge skip", ref_skip,
                    sizeof ref_skip);
}

static void test_skip_goes_on(void **state) {
    (void)state;
    make_ref_skip();
    char err_copy[65536];
    snprintf(err_copy, sizeof err_copy, "%s", ru_err_text);
    rows r;
    read_rows(ref_skip, &r);
    int skipped = skipped_count(&r);
    printf("  --a 8 --diverge skip, %d episodes: exit 0, skipped %s (%d)\n", EPISODES, pattern(&r), skipped);
    assert_int_equal(r.n, EPISODES);
    if (skipped < 2 || skipped > EPISODES - 5) fail_msg("--a 8 should make some episodes diverge, not all: %s",
                                                        pattern(&r));
    int longest = 0, streak = 0;
    for (int i = 0; i < r.n; i++) {
        int s = r.v[i][COL_SKIPPED] == 1;
        streak = s ? streak + 1 : 0;
        if (streak > longest) longest = streak;
        char needle[128];
        snprintf(needle, sizeof needle, "episode %d diverged: ", i + 1);
        /* each skipped episode is named on stderr, and only those */
        if (s != (strstr(err_copy, needle) != NULL)) fail_msg("stderr and row %d disagree:\n%s", i + 1, err_copy);
        if (s) {
            /* no Adam step: the next row's theta is this row's */
            if (i + 1 < r.n)
                for (int k = 0; k < MP_THETAS; k++) assert_true(r.v[i + 1][COL_THETA + k] == r.v[i][COL_THETA + k]);
        } else if (i + 1 < r.n) {
            assert_true(r.v[i + 1][COL_THETA] != r.v[i][COL_THETA]); /* an Adam step */
        }
    }
    assert_true(longest < 10);
    assert_non_null(strstr(err_copy, "skipped (--diverge skip"));
    /* the checkpoint counts the Adam steps taken: one per episode not skipped */
    mp_checkpoint ck;
    mp_err err;
    assert_int_equal(mp_checkpoint_load(ref_skip, &ck, &err), 0);
    assert_int_equal(ck.episode, EPISODES);
    assert_int_equal(ck.adam_step, EPISODES - skipped);
    ru_assert_pngs(ref_skip);
}

/* Every episode diverges: 10 skipped in a row stop the run, every row kept. */
static void test_ten_in_a_row_stop(void **state) {
    (void)state;
    char res[4400], run_dir[4400];
    path_in(res, sizeof res, tmp_root, "all-diverge");
    ru_cmdline c = ru_new_run(res, "30", RU_LIST("--a", "100", "--diverge", "skip"));
    ru_expect_failure(&c, 1, RU_LIST("episode 10 diverged", "episodes 1 to 10 diverged, 10 in a row: stopping"),
                      "--a 100 --diverge skip");
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    rows r;
    read_rows(run_dir, &r);
    assert_int_equal(r.n, 10);
    assert_int_equal(skipped_count(&r), 10);
    assert_true(ru_checkpoint_episode(run_dir) == 10);
    ru_assert_pngs(run_dir);

    /* the same, interrupted after 5 (a complete 5-episode run: exit 0) and resumed: the
     * streak carries over the resume, the run stops at episode 10 as the uninterrupted one */
    char res5[4400], run5[4400];
    path_in(res5, sizeof res5, tmp_root, "all-diverge-5");
    ru_complete_run(res5, "5", RU_LIST("--a", "100", "--diverge", "skip"), "5 diverging episodes", run5, sizeof run5);
    ru_cmdline r2 = ru_resume_run(run5, RU_LIST("--episodes", "30"));
    ru_expect_failure(&r2, 1, RU_LIST("episodes 1 to 10 diverged, 10 in a row"), "resumed to 30");
    ru_assert_same_run(run_dir, run5, "10 in a row across a resume");

    /* resuming the stopped run: the 11th diverges too, and stops it at once */
    ru_cmdline r3 = ru_resume_run(run5, NULL);
    ru_expect_failure(&r3, 1, RU_LIST("episodes 1 to 11 diverged, 11 in a row"), "resumed after 10 in a row");
    read_rows(run5, &r);
    assert_int_equal(r.n, 11);
}

/* --diverge stop (the default) stops at the first episode skip skips, the rows before it
 * the same; stop and skip give the same numbers when nothing diverges. */
static void test_stop_and_never_diverging(void **state) {
    (void)state;
    make_ref_skip();
    rows skip, stop;
    read_rows(ref_skip, &skip);
    int first = 0;
    while (first < skip.n && skip.v[first][COL_SKIPPED] != 1) first++;
    assert_true(first < skip.n);
    char res[4400], run_dir[4400], needle[64];
    path_in(res, sizeof res, tmp_root, "stop");
    snprintf(needle, sizeof needle, "episode %d diverged", first + 1);
    ru_cmdline c = ru_new_run(res, "30", RU_LIST("--a", "8"));
    ru_expect_failure(&c, 1, RU_LIST(needle, "stopping"), "--a 8 (stop)");
    assert_null(strstr(ru_err_text, "skipped"));
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    read_rows(run_dir, &stop);
    assert_int_equal(stop.n, first + 1);
    for (int i = 0; i < first; i++) assert_same_prefix(&skip, &stop, i, RU_CSV_COLUMNS - 1, "stop against skip");
    /* the diverged row: the same numbers, not marked skipped */
    assert_same_prefix(&skip, &stop, first, RU_CSV_COLUMNS - 2, "the diverged row");
    assert_true(stop.v[first][COL_SKIPPED] == 0);
    assert_true(ru_checkpoint_episode(run_dir) == (first ? first : -1)); /* none before episode 1 */
    printf("  --a 8 (stop): stopped at episode %d, the rows before it as with skip\n", first + 1);

    /* resumed with --diverge skip, it is the skip run */
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--diverge", "skip"));
    ru_expect_exit(ru_run(&r), 0, "the stopped run resumed with --diverge skip");
    ru_assert_same_run(ref_skip, run_dir, "stopped, resumed with --diverge skip");
    char args[4400];
    path_in(args, sizeof args, run_dir, "args.txt");
    char *text = tu_read_file(args, NULL);
    assert_non_null(strstr(text, "diverge : skip\n"));
    free(text);

    /* nothing diverges (the default --a): the same rows with either */
    char a[4400], b[4400], res_a[4400], res_b[4400];
    path_in(res_a, sizeof res_a, tmp_root, "calm-stop");
    path_in(res_b, sizeof res_b, tmp_root, "calm-skip");
    ru_complete_run(res_a, "12", RU_LIST("--vec", "1", "2"), "--vec 1 2", a, sizeof a);
    ru_complete_run(res_b, "12", RU_LIST("--vec", "1", "2", "--diverge", "skip"), "--vec 1 2 --diverge skip", b,
                    sizeof b);
    ru_assert_same_run(a, b, "no divergence: stop and skip");
    rows calm;
    read_rows(b, &calm);
    assert_int_equal(skipped_count(&calm), 0);
}

/* --resume of a skip run: from the checkpoint, from the rows alone (the checkpoint
 * removed), with a skipped row last; each is the uninterrupted run. */
static void test_resume_with_skipped_rows(void **state) {
    (void)state;
    make_ref_skip();
    rows ref;
    read_rows(ref_skip, &ref);
    int last_skipped = -1, last_kept = -1; /* episodes (1-based) between 2 and 28 */
    for (int i = 1; i < EPISODES - 2; i++) {
        if (ref.v[i][COL_SKIPPED] == 1) last_skipped = i + 1;
        else last_kept = i + 1;
    }
    assert_true(last_skipped > 0 && last_kept > 0);
    struct {
        int stop_at, drop_checkpoint;
        const char *what;
    } cases[] = {
        {last_skipped, 0, "stopped after a skipped episode, from its checkpoint"},
        {last_skipped, 1, "stopped after a skipped episode, from the rows alone"},
        {last_kept, 1, "stopped after a kept episode, from the rows alone"},
        {last_kept, 0, "stopped after a kept episode, from its checkpoint"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char res[4400], run_dir[4400], n[16];
        snprintf(res, sizeof res, "%s/resume-%zu", tmp_root, k);
        snprintf(n, sizeof n, "%d", cases[k].stop_at);
        ru_complete_run(res, n, RU_LIST("--a", "8", "--diverge", "skip"), cases[k].what, run_dir, sizeof run_dir);
        if (cases[k].drop_checkpoint) {
            char ck[4400];
            path_in(ck, sizeof ck, run_dir, MP_CHECKPOINT_FILE);
            assert_int_equal(unlink(ck), 0);
        }
        ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "30"));
        ru_expect_exit(ru_run(&r), 0, cases[k].what);
        if (cases[k].drop_checkpoint && !strstr(ru_err_text, "rebuilt"))
            fail_msg("%s: stderr should say the state was rebuilt: %s", cases[k].what, ru_err_text);
        printf("  episode %d (%s):\n", cases[k].stop_at, ref.v[cases[k].stop_at - 1][COL_SKIPPED] ? "skipped" : "kept");
        ru_assert_same_run(ref_skip, run_dir, cases[k].what);
    }

    /* a kept row marked skipped is refused: in the middle (the next row's theta does not
     * follow), or last (its episode, recomputed, does not diverge) */
    int first_kept = 1;
    while (ref.v[first_kept - 1][COL_SKIPPED] == 1) first_kept++;
    assert_true(first_kept < last_kept);
    const int edit_rows[2] = {first_kept, last_kept};
    for (int e = 0; e < 2; e++) {
        char res[4400], run_dir[4400], n[16], path[4400], needle[64];
        snprintf(res, sizeof res, "%s/edited-%d", tmp_root, e);
        snprintf(n, sizeof n, "%d", last_kept);
        ru_complete_run(res, n, RU_LIST("--a", "8", "--diverge", "skip"), "to edit", run_dir, sizeof run_dir);
        path_in(path, sizeof path, run_dir, "metrics.csv");
        size_t len;
        char *csv = tu_read_file(path, &len);
        char *row = csv;
        for (int i = 0; i < edit_rows[e]; i++) row = strchr(row, '\n') + 1; /* the header and the rows before */
        char *mark = strchr(row, '\n');
        while (*--mark != ',') {
        }
        mark -= 1; /* the row's skipped column, before the seconds */
        assert_true(*mark == '0' && mark[-1] == ',');
        *mark = '1';
        assert_int_equal(tu_write_file(path, csv, len), 0);
        free(csv);
        for (int drop = 0; drop < 2; drop++) {
            if (drop) {
                path_in(path, sizeof path, run_dir, MP_CHECKPOINT_FILE);
                assert_int_equal(unlink(path), 0);
            }
            snprintf(needle, sizeof needle, "row %d", edit_rows[e] + (e == 0));
            ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "30"));
            ru_expect_failure(&r, 1, RU_LIST("metrics.csv", needle), e ? "the last kept row marked skipped"
                                                                          : "a kept row marked skipped");
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skip_goes_on),
        cmocka_unit_test(test_ten_in_a_row_stop),
        cmocka_unit_test(test_stop_and_never_diverging),
        cmocka_unit_test(test_resume_with_skipped_rows),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
