/* I/O errors and adversarial flags, end to end on the metaplast binary. An unwritable
 * --res (a file in the way, a path under /proc or /dev/full, a read-only file system), a
 * full disk (a small tmpfs, or /dev/full behind the checkpoint's or args.txt's temporary
 * name), a missing or broken data directory: each exits 1 with a message naming the path
 * and the error, and what was written before is intact (a resume then finishes the run
 * exactly as if nothing had happened). Absurd flag values exit 2 at once, without a big
 * allocation.
 *
 * The tests run as root (permission bits do not stop root), so read-only and full file
 * systems are real tmpfs mounts; where mounting is not allowed those cases are skipped
 * with the reason printed. */
#include "runutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"

static char *tmp_root;

static char ref40[4400]; /* an uninterrupted 40-episode run */

static void make_reference(void) {
    if (ref40[0]) return;
    char res[4400];
    snprintf(res, sizeof res, "%s/ref", tmp_root);
    ru_complete_run(res, "40", NULL, "the reference run", ref40, sizeof ref40);
}

/* A finished run of `episodes` episodes under tmp_root/name, to resume later. */
static void make_run(const char *name, const char *episodes, char *run_dir, size_t cap) {
    char res[4400];
    snprintf(res, sizeof res, "%s/%s", tmp_root, name);
    ru_complete_run(res, episodes, NULL, "a short run", run_dir, cap);
}

static int group_setup(void **state) {
    (void)state;
    tmp_root = tu_mkdtemp();
    return tmp_root ? ru_setup(tmp_root) : -1;
}

static int group_teardown(void **state) {
    (void)state;
    tu_unmount_tmpfs();
    tu_rmtree(tmp_root);
    free(tmp_root);
    return 0;
}

/* ---- unwritable --res ---------------------------------------------------------------- */

static void test_unwritable_res(void **state) {
    (void)state;
    char file[4400], below[4500], res[4400];
    snprintf(file, sizeof file, "%s/a-file", tmp_root);
    assert_int_equal(tu_write_text(file, "not a directory\n"), 0);

    ru_cmdline c = ru_new_run(file, "3", NULL);
    ru_expect_failure(&c, 1, RU_LIST(file, "not a directory"), "--res is a file");
    snprintf(below, sizeof below, "%s/sub/dir", file);
    c = ru_new_run(below, "3", NULL);
    ru_expect_failure(&c, 1, RU_LIST(file, "not a directory"), "--res below a file");
    c = ru_new_run("/proc/metaplast-test-res", "3", NULL);
    ru_expect_failure(&c, 1, RU_LIST("/proc/metaplast-test-res", strerror(ENOENT)), "--res under /proc");
    c = ru_new_run("/dev/full/res", "3", NULL);
    ru_expect_failure(&c, 1, RU_LIST("/dev/full", "not a directory"), "--res under /dev/full");
    /* the file in the way is untouched */
    char *text = tu_read_file(file, NULL);
    assert_string_equal(text, "not a directory\n");
    free(text);

    /* a read-only file system: even root cannot write there */
    snprintf(res, sizeof res, "%s/ro", tmp_root);
    if (tu_mount_tmpfs(res, MS_RDONLY, "size=64k") == 0) {
        snprintf(below, sizeof below, "%s/results", res);
        c = ru_new_run(below, "3", NULL);
        ru_expect_failure(&c, 1, RU_LIST(below, strerror(EROFS)), "--res on a read-only tmpfs");
        tu_unmount_tmpfs();
    }
}

/* ---- a full disk ------------------------------------------------------------------------ */

/* A 64 KiB tmpfs, mostly taken by a filler file: the run fills it after a few episodes.
 * It stops with exit 1 naming the file it could not write and ENOSPC; the checkpoint and
 * the complete rows before it are intact; with space freed, --resume finishes the run
 * exactly as the uninterrupted one. */
static void test_full_tmpfs(void **state) {
    (void)state;
    make_reference();
    char mnt[4400], res[4500], filler[4500], run_dir[4600], path[4700];
    snprintf(mnt, sizeof mnt, "%s/small", tmp_root);
    if (tu_mount_tmpfs(mnt, 0, "size=64k") != 0) {
        skip();
        return;
    }
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    static char fill[44 * 1024];
    memset(fill, 'x', sizeof fill);
    assert_int_equal(tu_write_file(filler, fill, sizeof fill), 0);
    snprintf(res, sizeof res, "%s/results", mnt);
    ru_cmdline c = ru_new_run(res, "40", NULL);
    ru_expect_failure(&c, 1, RU_LIST(mnt, strerror(ENOSPC)), "--res on a full 64 KiB tmpfs");
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    assert_true(run_dir[0] != '\0');
    long ck = ru_checkpoint_episode(run_dir);
    int torn_csv = 0, torn_params = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    long rows = tu_count_lines(path, &torn_csv) - 1;
    snprintf(path, sizeof path, "%s/params.txt", run_dir);
    long params = tu_count_lines(path, &torn_params);
    printf("    left behind: checkpoint at episode %ld, metrics.csv %ld complete rows%s, params.txt %ld lines%s\n", ck,
           rows, torn_csv ? " + a torn one" : "", params, torn_params ? " + a torn one" : "");
    assert_true(ck >= 1 && ck < 40);
    assert_true(rows >= ck && rows <= ck + 1);
    assert_true(params >= ck && params <= ck + 1);
    /* the rows the checkpoint covers are those of the uninterrupted run */
    ru_assert_same_metrics(ref40, run_dir, 1 + ck, "the rows the checkpoint covers"); /* header + ck rows */

    /* space freed: the resume finishes the run as if nothing had happened */
    assert_int_equal(unlink(filler), 0);
    if (mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=1m") != 0) fail_msg("remount %s: %s", mnt, strerror(errno));
    ru_cmdline r = ru_resume_run(run_dir, NULL);
    ru_expect_exit(ru_run(&r), 0, "resume once space is free");
    ru_assert_same_run(ref40, run_dir, "resumed after the disk was full");
    tu_unmount_tmpfs();
}

/* /dev/full behind tmp, the temporary name under which path is rewritten: a resume of
 * run_dir to `episodes` exits 1 naming `named` and ENOSPC; path is left byte for byte as
 * it was and the failed temporary name is cleaned up. Returns path's content (*len bytes). */
static char *expect_full_behind(const char *run_dir, const char *path, const char *tmp, const char *episodes,
                                const char *named, const char *what, size_t *len) {
    size_t n;
    char *before = tu_read_file(path, len);
    assert_non_null(before);
    assert_int_equal(symlink("/dev/full", tmp), 0);
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", episodes));
    ru_expect_failure(&r, 1, RU_LIST(named, strerror(ENOSPC)), what);
    char *after = tu_read_file(path, &n);
    assert_non_null(after);
    assert_int_equal(*len, n);
    assert_memory_equal(before, after, n);
    free(after);
    assert_false(tu_exists(tmp));
    return before;
}

/* /dev/full behind the checkpoint's temporary file, in a run being resumed. */
static void test_full_checkpoint(void **state) {
    (void)state;
    make_reference();
    char run_dir[4400], tmp[4600], path[4600];
    make_run("devfull-ck", "10", run_dir, sizeof run_dir);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", run_dir, MP_CHECKPOINT_FILE);
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    size_t n;
    /* the previous checkpoint, untouched */
    free(expect_full_behind(run_dir, path, tmp, "40", tmp, "checkpoint.bin.tmp is /dev/full", &n));
    assert_int_equal(ru_checkpoint_episode(run_dir), 10);
    int torn = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    long rows = tu_count_lines(path, &torn) - 1;
    printf("    left behind: checkpoint at episode 10, metrics.csv %ld complete rows%s\n", rows, torn ? " + torn" : "");
    assert_true(rows == 10 || rows == 11);
    assert_false(torn);
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "40"));
    ru_expect_exit(ru_run(&r), 0, "resume after the failed checkpoint");
    ru_assert_same_run(ref40, run_dir, "resumed after a failed checkpoint write");
}

/* /dev/full behind args.txt's temporary file: a resume that extends the run rewrites
 * args.txt first; the old one stays. */
static void test_full_args(void **state) {
    (void)state;
    char run_dir[4400], tmp[4600], path[4600];
    make_run("devfull-args", "5", run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    snprintf(tmp, sizeof tmp, "%s/args.txt.tmp", run_dir);
    size_t n;
    free(expect_full_behind(run_dir, path, tmp, "8", path, "args.txt.tmp is /dev/full", &n));
    assert_int_equal(ru_checkpoint_episode(run_dir), 5);
}

/* /dev/full behind a plot's temporary file: the run ends with exit 1 naming the plot. */
static void test_full_plot(void **state) {
    (void)state;
    char run_dir[4400], tmp[4700], path[4600];
    make_run("devfull-png", "5", run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/meta_loss.png", run_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t n0, n1;
    /* the old plot is still there, whole (the new one never replaced it) */
    char *before = expect_full_behind(run_dir, path, tmp, "8", path, "meta_loss.png.tmp is /dev/full", &n0);
    long ck = ru_checkpoint_episode(run_dir);
    ru_cmdline r = ru_resume_run(run_dir, NULL);
    int st = ru_run(&r);
    printf("    checkpoint at episode %ld; --resume then: exit %d: %s", ck, st, ru_out_text);
    ru_expect_exit(st, 0, "resume after the plot could not be written");
    /* the complete run's resume redrew the plot: it now shows all 8 episodes */
    char *redrawn = tu_read_file(path, &n1);
    assert_non_null(redrawn);
    assert_true(n1 != n0 || memcmp(redrawn, before, n0) != 0);
    free(redrawn), free(before);
}

/* ---- missing or broken data ---------------------------------------------------------------- */

static void test_missing_data(void **state) {
    (void)state;
    char missing[4400], res[4400], run_dir[4400], path[4600], broken[4400];
    snprintf(missing, sizeof missing, "%s/no-such-data", tmp_root);
    snprintf(res, sizeof res, "%s/res-nodata", tmp_root);
    ru_cmdline c = ru_new_run(res, "3", NULL);
    c.argv[RU_DATA_DIR_ARG] = missing; /* --data_dir */
    ru_expect_failure(&c, 1, RU_LIST(missing, "not found"), "--data_dir does not exist");
    assert_false(tu_exists(res)); /* nothing written */

    /* a truncated images file */
    snprintf(broken, sizeof broken, "%s/broken-data", tmp_root);
    assert_int_equal(tu_write_fake_emnist(broken, 10, 20), 0);
    snprintf(path, sizeof path, "%s/emnist/emnist-bymerge-test-images-idx3-ubyte.gz", broken);
    size_t n;
    char *gz = tu_read_file(path, &n);
    assert_int_equal(tu_write_file(path, gz, n / 2), 0);
    free(gz);
    c = ru_new_run(res, "3", NULL);
    c.argv[RU_DATA_DIR_ARG] = broken;
    ru_expect_failure(&c, 1, RU_LIST(path), "a truncated images file");
    assert_false(tu_exists(res));

    /* resuming with the data gone: the run directory is left exactly as it was */
    make_run("nodata-resume", "4", run_dir, sizeof run_dir);
    const char *files[] = {"metrics.csv", "params.txt", "args.txt", MP_CHECKPOINT_FILE, "meta_loss.png"};
    char *before[5];
    size_t len[5];
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, files[i]);
        before[i] = tu_read_file(path, &len[i]);
        assert_non_null(before[i]);
    }
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "8", "--data_dir", missing));
    ru_expect_failure(&r, 1, RU_LIST(missing, "not found"), "--resume with a missing --data_dir");
    for (int i = 0; i < 5; i++) {
        size_t m;
        snprintf(path, sizeof path, "%s/%s", run_dir, files[i]);
        char *after = tu_read_file(path, &m);
        if (!after || m != len[i] || memcmp(after, before[i], m) != 0) fail_msg("%s changed", path);
        free(after), free(before[i]);
    }
}

/* ---- adversarial flags ---------------------------------------------------------------------- */

static void test_adversarial_flags(void **state) {
    (void)state;
    struct {
        const char *flag, *value;
    } cases[] = {
        {"--episodes", "1e12"},        {"--episodes", "1000000000000"}, {"--episodes", "-1"},
        {"--K", "1000000000"},         {"--K", "1e9"},                  {"--Q", "100000000"},
        {"--M", "1000000"},            {"--dim", "100000"},             {"--dim", "0"},
        {"--avg_window", "99999999999"}, {"--plot_every", "-3"},        {"--seed", "99999999999999999999"},
        {"--lamb", "nan"},             {"--lamb", "-nan"},              {"--lamb", "-1"},
        {"--lr_meta", "inf"},          {"--lr_meta", "0"},              {"--a", "-inf"},
        {"--a", "1e999"},              {"--a", "0x1p99999"},            {"--lamb", "infinity"},
        {"--vec", "99"},               {"--vec", "0"},
    };
    char res[4400];
    snprintf(res, sizeof res, "%s/res-flags", tmp_root);
    double worst_time = 0;
    long worst_rss = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ru_cmdline c = ru_new_run(res, "3", NULL);
        ru_cmd_add(&c, cases[i].flag);
        ru_cmd_add(&c, cases[i].value);
        int st = ru_run(&c);
        char both[128];
        snprintf(both, sizeof both, "%s %s", cases[i].flag, cases[i].value);
        printf("  %-34s exit %d, %5.3f s, peak %5ld KiB: %s", both, st, ru_last_seconds, ru_last_maxrss_kb, ru_err_text);
        ru_expect_exit(st, 2, cases[i].flag);
        if (!strstr(ru_err_text, cases[i].flag)) fail_msg("the message should name %s: %s", cases[i].flag, ru_err_text);
        if (ru_last_seconds > worst_time) worst_time = ru_last_seconds;
        if (ru_last_maxrss_kb > worst_rss) worst_rss = ru_last_maxrss_kb;
        assert_true(ru_last_seconds < 1.0);
        assert_true(ru_last_maxrss_kb < 64 * 1024);
    }
    /* in range for the parser, too big for the data: refused once the data is loaded */
    const char *const big[][7] = {{"--K", "100000", "--Q", "100000", "--M", "10000", NULL},
                                  {"--K", "100000", "--Q", "100000", NULL}};
    for (int i = 0; i < 2; i++) {
        ru_cmdline c = ru_new_run(res, "3", big[i]);
        int st = ru_run(&c);
        printf("  %-34s exit %d, %5.3f s, peak %5ld KiB: %s", i ? "--K 100000 --Q 100000" : "--K 100000 --Q 100000 --M 10000",
               st, ru_last_seconds, ru_last_maxrss_kb, ru_err_text);
        ru_expect_exit(st, 2, "--K/--Q/--M beyond the data");
        assert_true(ru_last_seconds < 2.0);
        assert_true(ru_last_maxrss_kb < 256 * 1024);
    }
    assert_false(tu_exists(res)); /* no run directory for a refused command line */
    printf("  slowest refusal %.3f s, largest peak memory %ld KiB\n", worst_time, worst_rss);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unwritable_res),  cmocka_unit_test(test_full_tmpfs),
        cmocka_unit_test(test_full_checkpoint), cmocka_unit_test(test_full_args),
        cmocka_unit_test(test_full_plot),       cmocka_unit_test(test_missing_data),
        cmocka_unit_test(test_adversarial_flags),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
