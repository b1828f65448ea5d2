/* --run_dir DIR, end to end on the metaplast binary: the run directory a seed sweep finds
 * again by its seed (issue 14). A missing DIR (parents too) or an empty one gets a new run,
 * exactly in DIR and the same as the run the time-stamped path gives; the same command
 * again on the complete run exits 0 saying so and changes nothing; stopped by SIGTERM and
 * started again it resumes, to the uninterrupted run byte for byte; a number-changing flag
 * that differs is refused (exit 2, naming it), as are --resume, --res, --test_name and
 * --gradcheck beside --run_dir; a DIR that holds other things and no run is refused (exit
 * 1, naming it and what is there) and left alone; a DIR that holds only what a start
 * killed before args.txt leaves gets the run; a run made without --run_dir is continued by
 * it; and of two first starts on one DIR at once, one runs and the other exits 1 ("in
 * use"), leaving one run. Each test prints what it observed. */
#include "runutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"

#define EPISODES "100" /* long enough that SIGTERM and a second start land mid-run */

static char *tmp_root; /* everything this program writes */
static char ref_dir[4400]; /* the uninterrupted run, in a time-stamped directory */

static void path_in(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) fail_msg("path too long: %s/%s", dir, name);
}

/* The flags of ru_new_run but --res: --run_dir dir instead, then extra. */
static ru_cmdline run_dir_cmd(const char *dir, const char *episodes, const char *const *extra) {
    ru_cmdline c = {.argc = 0};
    const char *base[] = {tu_binary(), "--database", "emnist_bymerge", "--data_dir", ru_data_dir, "--gpu_mode", "0",
                          "--K", "5", "--Q", "2", "--M", "3", "--episodes", episodes, "--seed", "3", "--run_dir",
                          dir, NULL};
    for (int i = 0; base[i]; i++) ru_cmd_add(&c, base[i]);
    for (int i = 0; extra && extra[i]; i++) ru_cmd_add(&c, extra[i]);
    return c;
}

/* The bytes of dir/name (the test fails when it cannot be read). */
static char *read_in(const char *dir, const char *name, size_t *len) {
    char path[4600];
    path_in(path, sizeof path, dir, name);
    char *text = tu_read_file(path, len);
    if (!text) fail_msg("cannot read %s", path);
    return text;
}

/* The number of entries in dir; *subdirs gets how many are directories (a run lives in
 * DIR itself, so it has none). */
static int count_entries(const char *dir, int *subdirs) {
    char cmd[4600], out[64];
    snprintf(cmd, sizeof cmd, "find '%s' -mindepth 1 -maxdepth 1 -type d | wc -l", dir);
    if (tu_run(cmd, out, sizeof out) != 0) fail_msg("failed: %s", cmd);
    *subdirs = atoi(out);
    snprintf(cmd, sizeof cmd, "find '%s' -mindepth 1 -maxdepth 1 | wc -l", dir);
    if (tu_run(cmd, out, sizeof out) != 0) fail_msg("failed: %s", cmd);
    return atoi(out);
}

/* The rows of dir's metrics.csv are episodes 1..n, each once and in order: n. */
static long rows_once_in_order(const char *dir) {
    size_t len;
    char *csv = read_in(dir, "metrics.csv", &len), *p = strchr(csv, '\n');
    long rows = 0;
    assert_non_null(p);
    for (p++; *p; rows++) {
        char *end;
        long ep = strtol(p, &end, 10);
        if (ep != rows + 1 || *end != ',') fail_msg("%s/metrics.csv row %ld is episode %ld", dir, rows + 1, ep);
        p = strchr(p, '\n');
        if (!p) fail_msg("%s/metrics.csv: row %ld is torn", dir, rows + 1);
        p++;
    }
    free(csv);
    return rows;
}

static int group_setup(void **state) {
    (void)state;
    tmp_root = tu_mkdtemp();
    if (!tmp_root || strchr(tmp_root, '\'') || ru_setup(tmp_root) != 0) return -1; /* shell commands quote with '' */
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rmtree(tmp_root);
    free(tmp_root);
    printf("%d metaplast processes started\n", ru_spawned);
    return 0;
}

static void make_reference(void) {
    if (ref_dir[0]) return;
    char res[4400];
    path_in(res, sizeof res, tmp_root, "ref");
    ru_complete_run(res, EPISODES, NULL, "the uninterrupted run (time-stamped directory)", ref_dir, sizeof ref_dir);
}

/* ---- a new run, then the same command again ------------------------------------------ */

static void test_new_then_complete(void **state) {
    (void)state;
    make_reference();
    char dir[4400], parent[4400];
    path_in(parent, sizeof parent, tmp_root, "new/not/there");
    path_in(dir, sizeof dir, parent, "seed_3");
    ru_cmdline c = run_dir_cmd(dir, EPISODES, NULL);
    int st = ru_run(&c);
    ru_expect_exit(st, 0, "--run_dir on a missing directory");
    char first[4600];
    snprintf(first, sizeof first, "run directory: %s\n", dir);
    if (strncmp(ru_out_text, first, strlen(first)) != 0) fail_msg("stdout should start with '%s': %s", first, ru_out_text);
    int subdirs, n = count_entries(dir, &subdirs);
    printf("  a missing %s (and its parents): exit 0, %d files in it, %d directories\n", dir, n, subdirs);
    assert_int_equal(subdirs, 0); /* the run is in DIR itself */
    assert_int_equal(ru_checkpoint_episode(dir), atol(EPISODES));
    ru_assert_same_run(ref_dir, dir, "--run_dir run");

    /* the same command again: complete, exit 0, nothing changed */
    static const char *const kept[] = {"args.txt", "metrics.csv", "params.txt", MP_CHECKPOINT_FILE};
    char *before[4];
    size_t before_len[4];
    for (int i = 0; i < 4; i++) before[i] = read_in(dir, kept[i], &before_len[i]);
    st = ru_run(&c);
    printf("  the same command again: exit %d (%.2f s): %s", st, ru_last_seconds, ru_out_text);
    ru_expect_exit(st, 0, "the same command on a complete run");
    if (!strstr(ru_out_text, "complete")) fail_msg("it should say the run is complete: %s", ru_out_text);
    if (strstr(ru_out_text, "Train Episode")) fail_msg("a complete run trained again: %s", ru_out_text);
    for (int i = 0; i < 4; i++) {
        size_t len;
        char *after = read_in(dir, kept[i], &len);
        if (len != before_len[i] || memcmp(after, before[i], len) != 0) fail_msg("%s/%s changed", dir, kept[i]);
        free(after), free(before[i]);
    }
    ru_assert_same_run(ref_dir, dir, "after the same command again");
    printf("  args.txt, metrics.csv, params.txt, %s unchanged\n", MP_CHECKPOINT_FILE);

    /* an empty directory that exists takes a new run too */
    char empty[4400];
    path_in(empty, sizeof empty, tmp_root, "empty");
    assert_int_equal(mkdir(empty, 0755), 0);
    c = run_dir_cmd(empty, EPISODES, NULL);
    ru_expect_exit(ru_run(&c), 0, "--run_dir on an empty directory");
    ru_assert_same_run(ref_dir, empty, "--run_dir on an empty directory");
}

/* ---- SIGTERM, then the same command ---------------------------------------------------- */

static void test_sigterm_then_rerun(void **state) {
    (void)state;
    make_reference();
    char dir[4400];
    path_in(dir, sizeof dir, tmp_root, "stopped/seed_3");
    ru_cmdline c = run_dir_cmd(dir, EPISODES, NULL);
    double t0 = tu_now();
    pid_t pid = ru_spawn(&c);
    long ck = -1;
    while (ck < 5 && tu_now() - t0 < 20) {
        tu_sleep(0.001);
        ck = ru_checkpoint_episode(dir);
    }
    assert_true(ck >= 5);
    kill(pid, SIGTERM);
    int st = ru_reap(pid);
    long after = ru_checkpoint_episode(dir);
    printf("  SIGTERM at checkpoint %ld: exit %d, stopped after episode %ld\n", ck, st, after);
    ru_expect_exit(st, 128 + SIGTERM, "SIGTERM");
    assert_true(after >= ck && after < atol(EPISODES));

    st = ru_run(&c);
    printf("  the same command again: exit %d\n    %s", st, ru_err_text);
    ru_expect_exit(st, 0, "the same command after SIGTERM");
    char said[4600];
    snprintf(said, sizeof said, "--run_dir %s: resuming after episode %ld of %s", dir, after, EPISODES);
    if (!strstr(ru_err_text, said)) fail_msg("stderr should say '%s': %s", said, ru_err_text);
    char next[64];
    snprintf(next, sizeof next, "Train Episode: %ld\t", after + 1);
    if (!strstr(ru_out_text, next) || strstr(ru_out_text, "Train Episode: 1\t"))
        fail_msg("the second start should train from episode %ld on: %s", after + 1, ru_out_text);
    assert_int_equal(rows_once_in_order(dir), atol(EPISODES));
    ru_assert_same_run(ref_dir, dir, "stopped and started again");
}

/* ---- refusals -------------------------------------------------------------------------- */

static void test_refusals(void **state) {
    (void)state;
    char dir[4400], foreign[4400], path[4600];
    path_in(dir, sizeof dir, tmp_root, "refuse/seed_3");
    ru_cmdline c = run_dir_cmd(dir, "5", NULL);
    ru_expect_exit(ru_run(&c), 0, "a 5-episode --run_dir run");
    size_t ck_len;
    char *ck_before = read_in(dir, MP_CHECKPOINT_FILE, &ck_len);

    /* flags that change numbers must be the stored ones */
    c = run_dir_cmd(dir, "5", RU_LIST("--seed", "4"));
    ru_expect_failure(&c, 2, RU_LIST("--seed", "3", "4"), "--seed 4 on the seed-3 run");
    c = run_dir_cmd(dir, "5", RU_LIST("--fbk", "sym"));
    ru_expect_failure(&c, 2, RU_LIST("--fbk", "fix", "sym"), "--fbk sym on the fix run");
    c = run_dir_cmd(dir, "5", RU_LIST("--K", "6"));
    ru_expect_failure(&c, 2, RU_LIST("--K"), "--K 6 on the K=5 run");
    c = run_dir_cmd(dir, "3", NULL);
    ru_expect_failure(&c, 2, RU_LIST("--episodes", "3", "5"), "--episodes 3 after 5 finished");
    size_t len;
    char *ck_after = read_in(dir, MP_CHECKPOINT_FILE, &len);
    assert_true(len == ck_len && memcmp(ck_after, ck_before, len) == 0);
    free(ck_after), free(ck_before);

    /* flags that say where a run goes, or that none is written: usage errors, nothing made */
    char nowhere[4400];
    path_in(nowhere, sizeof nowhere, tmp_root, "never-made");
    static const char *const others[][3] = {{"--resume", "x"}, {"--test_name", "t"}, {"--test_name=t"},
                                              {"--res", "r"}, {"--gradcheck"}};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char flag[32];
        snprintf(flag, sizeof flag, "%.*s", (int)strcspn(others[i][0], "="), others[i][0]);
        c = run_dir_cmd(nowhere, "5", others[i]);
        ru_expect_failure(&c, 2, RU_LIST("--run_dir", flag), flag);
        assert_false(tu_exists(nowhere));
    }

    /* a directory that holds something else and no run: refused, left as it was */
    path_in(foreign, sizeof foreign, tmp_root, "foreign");
    assert_int_equal(mkdir(foreign, 0755), 0);
    path_in(path, sizeof path, foreign, "notes.txt");
    assert_int_equal(tu_write_text(path, "not a run\n"), 0);
    c = run_dir_cmd(foreign, "5", NULL);
    ru_expect_failure(&c, 1, RU_LIST(foreign, "notes.txt", "holds no run"), "a directory with a stranger's file");
    path_in(path, sizeof path, foreign, "args.txt");
    assert_false(tu_exists(path));
    path_in(path, sizeof path, foreign, "lock"); /* no lock file left behind either */
    assert_false(tu_exists(path));
    /* a meta-test's directory (it has an args.txt too): refused by name, untouched */
    char eval_dir[4400];
    path_in(eval_dir, sizeof eval_dir, tmp_root, "an-eval");
    assert_int_equal(mkdir(eval_dir, 0755), 0);
    path_in(path, sizeof path, eval_dir, "args.txt");
    assert_int_equal(tu_write_text(path, "rule_1 : /x\n"), 0);
    path_in(path, sizeof path, eval_dir, "tasks.csv");
    assert_int_equal(tu_write_text(path, "task,rule\n"), 0);
    c = run_dir_cmd(eval_dir, "5", NULL);
    ru_expect_failure(&c, 1, RU_LIST(eval_dir, "a meta-test's directory"), "a meta-test's directory");
    path_in(path, sizeof path, eval_dir, "lock");
    assert_false(tu_exists(path));
    char *notes = read_in(foreign, "notes.txt", &len);
    assert_string_equal(notes, "not a run\n");
    free(notes);
    /* a file where the directory should be */
    path_in(path, sizeof path, foreign, "notes.txt");
    c = run_dir_cmd(path, "5", NULL);
    ru_expect_failure(&c, 1, RU_LIST(path, "not a directory"), "--run_dir naming a file");
}

/* ---- leftovers, and runs made the other way -------------------------------------------- */

static void test_leftovers_and_timestamped(void **state) {
    (void)state;
    make_reference();
    /* what a start killed between its lock and args.txt leaves: the lock, args.txt.tmp */
    char dir[4400], path[4600];
    path_in(dir, sizeof dir, tmp_root, "killed-early");
    assert_int_equal(mkdir(dir, 0755), 0);
    path_in(path, sizeof path, dir, "lock");
    assert_int_equal(tu_write_text(path, "12345\n"), 0);
    path_in(path, sizeof path, dir, "args.txt.tmp");
    assert_int_equal(tu_write_text(path, "gpu_mode : 0\nseed : 3\n"), 0);
    ru_cmdline c = run_dir_cmd(dir, EPISODES, NULL);
    int st = ru_run(&c);
    printf("  a directory holding only a stale lock and args.txt.tmp: exit %d\n", st);
    ru_expect_exit(st, 0, "--run_dir after a start killed before args.txt");
    ru_assert_same_run(ref_dir, dir, "after a start killed before args.txt");

    /* a run made in a time-stamped directory, 60 episodes, extended to 100 by --run_dir */
    char res[4400], run[4400];
    path_in(res, sizeof res, tmp_root, "timestamped");
    ru_complete_run(res, "60", NULL, "a 60-episode time-stamped run", run, sizeof run);
    c = run_dir_cmd(run, EPISODES, NULL);
    st = ru_run(&c);
    printf("  --run_dir on it with --episodes %s: exit %d: %s", EPISODES, st, ru_err_text);
    ru_expect_exit(st, 0, "--run_dir on a time-stamped run");
    if (!strstr(ru_err_text, "resuming after episode 60 of " EPISODES))
        fail_msg("it should resume after episode 60: %s", ru_err_text);
    ru_assert_same_run(ref_dir, run, "time-stamped run continued by --run_dir");
    /* args.txt says where the run is now and how it was named */
    size_t len;
    char *args = read_in(run, "args.txt", &len), line[4600];
    snprintf(line, sizeof line, "\nrun_dir : %s\n", run);
    if (!strstr(args, line)) fail_msg("args.txt lacks '%s':\n%s", line + 1, args);
    free(args);
    /* and --resume of a --run_dir run keeps working */
    ru_cmdline r = ru_resume_run(run, NULL);
    ru_expect_exit(ru_run(&r), 0, "--resume of the run");
    assert_non_null(strstr(ru_out_text, "complete"));
}

/* ---- two first starts at once ------------------------------------------------------------ */

static void test_two_first_starts(void **state) {
    (void)state;
    make_reference();
    char dir[4400], out[2][4400], err[2][4400];
    path_in(dir, sizeof dir, tmp_root, "race/seed_3");
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "race-%d.out", i);
        path_in(out[i], sizeof out[i], tmp_root, name);
        snprintf(name, sizeof name, "race-%d.err", i);
        path_in(err[i], sizeof err[i], tmp_root, name);
    }
    ru_cmdline c = run_dir_cmd(dir, EPISODES, NULL);
    pid_t a = ru_start(c.argv, out[0], err[0], NULL), b = ru_start(c.argv, out[1], err[1], NULL);
    int sa = ru_reap(a), sb = ru_reap(b);
    char *ea = tu_read_file(err[0], NULL), *eb = tu_read_file(err[1], NULL);
    assert_non_null(ea);
    assert_non_null(eb);
    const char *lost = sa == 0 ? eb : ea;
    printf("  two first starts on %s at once: exits %d and %d; the refused one: %s", dir, sa, sb, lost);
    if (!((sa == 0 && sb == 1) || (sa == 1 && sb == 0)) || !strstr(lost, "in use") || !strstr(lost, dir))
        fail_msg("exactly one must run, the other exit 1 with 'in use' and the directory:\n%s\n%s", ea, eb);
    free(ea), free(eb);
    int subdirs, n = count_entries(dir, &subdirs);
    assert_int_equal(subdirs, 0);
    assert_int_equal(rows_once_in_order(dir), atol(EPISODES));
    ru_assert_same_run(ref_dir, dir, "the one that ran");
    printf("  one run: %d files, metrics.csv rows 1..%s each once\n", n, EPISODES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_then_complete),
        cmocka_unit_test(test_sigterm_then_rerun),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_leftovers_and_timestamped),
        cmocka_unit_test(test_two_first_starts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
