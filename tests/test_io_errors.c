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
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"

static const char *const png_names[] = {"meta_accuracy.png", "meta_angle.png", "meta_loss.png", "meta_params.png"};

static char *tmp_root;
static char data_dir[4200], out_path[4200], err_path[4200];
static char out_text[65536], err_text[65536];
static char mounted[4200]; /* a tmpfs this program mounted, unmounted at the end */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void read_into(const char *path, char *buf, size_t cap) {
    char *text = tu_read_file(path, NULL);
    snprintf(buf, cap, "%s", text ? text : "");
    free(text);
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static void write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static long count_lines(const char *path, int *torn) {
    size_t n;
    char *text = tu_read_file(path, &n);
    if (!text) return -1;
    long lines = 0;
    for (size_t i = 0; i < n; i++) lines += text[i] == '\n';
    if (torn) *torn = n > 0 && text[n - 1] != '\n';
    free(text);
    return lines;
}

static long checkpoint_episode(const char *run_dir) {
    mp_checkpoint ck;
    mp_err err;
    return mp_checkpoint_load(run_dir, &ck, &err) == 0 ? ck.episode : -1;
}

static void find_run_dir(const char *res, char *out, size_t cap) {
    out[0] = '\0';
    DIR *d = opendir(res);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') snprintf(out, cap, "%s/%s", res, e->d_name);
    closedir(d);
}

/* ---- running the binary ---------------------------------------------------------- */

typedef struct {
    const char *argv[64];
    int argc;
} cmdline;

static void cmd_add(cmdline *c, const char *arg) {
    assert_true(c->argc < 63);
    c->argv[c->argc++] = arg;
    c->argv[c->argc] = NULL;
}

static cmdline new_run(const char *res, const char *episodes, const char *const *extra) {
    cmdline c = {.argc = 0};
    const char *base[] = {tu_binary(), "--database", "emnist_bymerge", "--data_dir", data_dir, "--res", res,
                          "--gpu_mode", "0", "--K", "5", "--Q", "2", "--M", "3", "--episodes", episodes,
                          "--seed", "3", NULL};
    for (int i = 0; base[i]; i++) cmd_add(&c, base[i]);
    for (int i = 0; extra && extra[i]; i++) cmd_add(&c, extra[i]);
    return c;
}

static cmdline resume_run(const char *run_dir, const char *const *extra) {
    cmdline c = {.argc = 0};
    cmd_add(&c, tu_binary());
    cmd_add(&c, "--resume");
    cmd_add(&c, run_dir);
    for (int i = 0; extra && extra[i]; i++) cmd_add(&c, extra[i]);
    return c;
}

static double last_seconds;
static long last_maxrss_kb;

/* Runs cmd; returns its exit status (or -signal). Records its wall time and peak memory. */
static int run(const cmdline *c) {
    fflush(stdout);
    double t0 = now();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(127);
        dup2(o, 1), dup2(e, 2);
        close(o), close(e);
        execv(c->argv[0], (char *const *)c->argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    while (wait4(pid, &st, 0, &ru) < 0) assert_int_equal(errno, EINTR);
    last_seconds = now() - t0;
    last_maxrss_kb = ru.ru_maxrss;
    read_into(out_path, out_text, sizeof out_text);
    read_into(err_path, err_text, sizeof err_text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static void expect_exit(int got, int want, const char *what) {
    if (got != want) fail_msg("%s: exit %d, expected %d\nstdout: %s\nstderr: %s", what, got, want, out_text, err_text);
}

/* Exit `code`, and stderr names every needle. */
static void expect_failure(const cmdline *c, int code, const char *const *needles, const char *what) {
    int st = run(c);
    printf("  %s: exit %d (%.2f s)\n    %s", what, st, last_seconds, err_text[0] ? err_text : "(nothing on stderr)\n");
    expect_exit(st, code, what);
    for (int i = 0; needles[i]; i++)
        if (!strstr(err_text, needles[i])) fail_msg("%s: stderr should mention '%s': %s", what, needles[i], err_text);
}
#define NEEDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* metrics.csv up to the timing column, params.txt and the plots, as in test_resume. */
static void assert_same_run(const char *ref, const char *got, const char *label) {
    char a[4700], b[4700];
    snprintf(a, sizeof a, "%s/metrics.csv", ref);
    snprintf(b, sizeof b, "%s/metrics.csv", got);
    char *ta = tu_read_file(a, NULL), *tb = tu_read_file(b, NULL);
    assert_non_null(ta);
    assert_non_null(tb);
    long lines = 0;
    for (char *sa = ta, *sb = tb; *sa || *sb; lines++) {
        char *ea = strchr(sa, '\n'), *eb = strchr(sb, '\n');
        if (!ea || !eb) fail_msg("%s: metrics.csv line %ld: one file ends early or a line is torn", label, lines + 1);
        *ea = *eb = '\0';
        char *ca = sa, *cb = sb;
        for (int commas = 0; commas < 24 && ca && cb; commas++) {
            ca = strchr(ca, ',');
            cb = strchr(cb, ',');
            if (ca) ca++;
            if (cb) cb++;
        }
        if (!ca || !cb || ca - sa != cb - sb || memcmp(sa, sb, (size_t)(ca - sa)) != 0)
            fail_msg("%s: metrics.csv line %ld differs:\n  %s\n  %s", label, lines + 1, sa, sb);
        sa = ea + 1, sb = eb + 1;
    }
    free(ta), free(tb);
    const char *names[5] = {"params.txt", png_names[0], png_names[1], png_names[2], png_names[3]};
    for (int i = 0; i < 5; i++) {
        size_t na, nb;
        snprintf(a, sizeof a, "%s/%s", ref, names[i]);
        snprintf(b, sizeof b, "%s/%s", got, names[i]);
        ta = tu_read_file(a, &na), tb = tu_read_file(b, &nb);
        if (!ta || !tb) fail_msg("%s: %s is missing (%s)", label, names[i], !ta ? a : b);
        if (na != nb || memcmp(ta, tb, na) != 0) fail_msg("%s: %s differs", label, names[i]);
        free(ta), free(tb);
    }
    printf("  %s: identical to an uninterrupted run (metrics.csv %ld lines, params.txt, 4 PNGs)\n", label, lines);
}

static char ref40[4400]; /* an uninterrupted 40-episode run */

static void make_reference(void) {
    if (ref40[0]) return;
    char res[4400];
    snprintf(res, sizeof res, "%s/ref", tmp_root);
    cmdline c = new_run(res, "40", NULL);
    expect_exit(run(&c), 0, "the reference run");
    find_run_dir(res, ref40, sizeof ref40);
}

/* A finished run of `episodes` episodes under tmp_root/name, to resume later. */
static void make_run(const char *name, const char *episodes, char *run_dir, size_t cap) {
    char res[4400];
    snprintf(res, sizeof res, "%s/%s", tmp_root, name);
    cmdline c = new_run(res, episodes, NULL);
    expect_exit(run(&c), 0, "a short run");
    find_run_dir(res, run_dir, cap);
    assert_true(run_dir[0] != '\0');
}

/* Mounts a tmpfs of `options` on dir; returns 0, or -1 after printing why not. */
static int mount_tmpfs(const char *dir, unsigned long flags, const char *options) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
    if (mount("tmpfs", dir, "tmpfs", flags, options) != 0) {
        printf("  skipped: cannot mount a tmpfs (%s) on %s: %s\n", options, dir, strerror(errno));
        return -1;
    }
    snprintf(mounted, sizeof mounted, "%s", dir);
    return 0;
}

static void unmount_tmpfs(void) {
    if (mounted[0] && umount2(mounted, MNT_DETACH) != 0)
        fprintf(stderr, "warning: cannot unmount %s: %s\n", mounted, strerror(errno));
    mounted[0] = '\0';
}

static int group_setup(void **state) {
    (void)state;
    tmp_root = tu_mkdtemp();
    if (!tmp_root) return -1;
    snprintf(data_dir, sizeof data_dir, "%s/data", tmp_root);
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", tmp_root);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", tmp_root);
    return tu_write_fake_emnist(data_dir, 10, 20);
}

static int group_teardown(void **state) {
    (void)state;
    unmount_tmpfs();
    tu_rmtree(tmp_root);
    free(tmp_root);
    return 0;
}

/* ---- unwritable --res ---------------------------------------------------------------- */

static void test_unwritable_res(void **state) {
    (void)state;
    char file[4400], below[4500], res[4400];
    snprintf(file, sizeof file, "%s/a-file", tmp_root);
    write_file(file, "not a directory\n", 16);

    cmdline c = new_run(file, "3", NULL);
    expect_failure(&c, 1, NEEDS(file, "not a directory"), "--res is a file");
    snprintf(below, sizeof below, "%s/sub/dir", file);
    c = new_run(below, "3", NULL);
    expect_failure(&c, 1, NEEDS(file, "not a directory"), "--res below a file");
    c = new_run("/proc/metaplast-test-res", "3", NULL);
    expect_failure(&c, 1, NEEDS("/proc/metaplast-test-res", strerror(ENOENT)), "--res under /proc");
    c = new_run("/dev/full/res", "3", NULL);
    expect_failure(&c, 1, NEEDS("/dev/full", "not a directory"), "--res under /dev/full");
    /* the file in the way is untouched */
    char *text = tu_read_file(file, NULL);
    assert_string_equal(text, "not a directory\n");
    free(text);

    /* a read-only file system: even root cannot write there */
    snprintf(res, sizeof res, "%s/ro", tmp_root);
    if (mount_tmpfs(res, MS_RDONLY, "size=64k") == 0) {
        snprintf(below, sizeof below, "%s/results", res);
        c = new_run(below, "3", NULL);
        expect_failure(&c, 1, NEEDS(below, strerror(EROFS)), "--res on a read-only tmpfs");
        unmount_tmpfs();
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
    if (mount_tmpfs(mnt, 0, "size=64k") != 0) {
        skip();
        return;
    }
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    static char fill[44 * 1024];
    memset(fill, 'x', sizeof fill);
    write_file(filler, fill, sizeof fill);
    snprintf(res, sizeof res, "%s/results", mnt);
    cmdline c = new_run(res, "40", NULL);
    expect_failure(&c, 1, NEEDS(mnt, strerror(ENOSPC)), "--res on a full 64 KiB tmpfs");
    find_run_dir(res, run_dir, sizeof run_dir);
    assert_true(run_dir[0] != '\0');
    long ck = checkpoint_episode(run_dir);
    int torn_csv = 0, torn_params = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    long rows = count_lines(path, &torn_csv) - 1;
    snprintf(path, sizeof path, "%s/params.txt", run_dir);
    long params = count_lines(path, &torn_params);
    printf("    left behind: checkpoint at episode %ld, metrics.csv %ld complete rows%s, params.txt %ld lines%s\n", ck,
           rows, torn_csv ? " + a torn one" : "", params, torn_params ? " + a torn one" : "");
    assert_true(ck >= 1 && ck < 40);
    assert_true(rows >= ck && rows <= ck + 1);
    assert_true(params >= ck && params <= ck + 1);
    /* the rows the checkpoint covers are those of the uninterrupted run */
    char ref_csv[4600];
    snprintf(ref_csv, sizeof ref_csv, "%s/metrics.csv", ref40);
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    char *a = tu_read_file(ref_csv, NULL), *b = tu_read_file(path, NULL);
    char *ea = a, *eb = b;
    for (long line = 0; line <= ck; line++) { /* header + ck rows, up to the timing column */
        char *ca = ea, *cb = eb;
        for (int commas = 0; commas < 24; commas++) ca = strchr(ca, ',') + 1, cb = strchr(cb, ',') + 1;
        assert_int_equal(ca - ea, cb - eb);
        assert_memory_equal(ea, eb, (size_t)(ca - ea));
        ea = strchr(ea, '\n') + 1, eb = strchr(eb, '\n') + 1;
    }
    free(a), free(b);

    /* space freed: the resume finishes the run as if nothing had happened */
    assert_int_equal(unlink(filler), 0);
    if (mount("tmpfs", mnt, "tmpfs", MS_REMOUNT, "size=1m") != 0) fail_msg("remount %s: %s", mnt, strerror(errno));
    cmdline r = resume_run(run_dir, NULL);
    expect_exit(run(&r), 0, "resume once space is free");
    assert_same_run(ref40, run_dir, "resumed after the disk was full");
    unmount_tmpfs();
}

/* /dev/full behind the checkpoint's temporary file, in a run being resumed. */
static void test_full_checkpoint(void **state) {
    (void)state;
    make_reference();
    char run_dir[4400], tmp[4600], path[4600];
    make_run("devfull-ck", "10", run_dir, sizeof run_dir);
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", run_dir, MP_CHECKPOINT_FILE);
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    size_t n0, n1;
    char *before = tu_read_file(path, &n0);
    assert_int_equal(symlink("/dev/full", tmp), 0);
    cmdline r = resume_run(run_dir, NEEDS("--episodes", "40"));
    expect_failure(&r, 1, NEEDS(tmp, strerror(ENOSPC)), "checkpoint.bin.tmp is /dev/full");
    char *after = tu_read_file(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0); /* the previous checkpoint, untouched */
    free(before), free(after);
    assert_int_equal(checkpoint_episode(run_dir), 10);
    assert_false(exists(tmp)); /* the failed temporary name is cleaned up */
    int torn = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    long rows = count_lines(path, &torn) - 1;
    printf("    left behind: checkpoint at episode 10, metrics.csv %ld complete rows%s\n", rows, torn ? " + torn" : "");
    assert_true(rows == 10 || rows == 11);
    assert_false(torn);
    r = resume_run(run_dir, NEEDS("--episodes", "40"));
    expect_exit(run(&r), 0, "resume after the failed checkpoint");
    assert_same_run(ref40, run_dir, "resumed after a failed checkpoint write");
}

/* /dev/full behind args.txt's temporary file: a resume that extends the run rewrites
 * args.txt first; the old one stays. */
static void test_full_args(void **state) {
    (void)state;
    char run_dir[4400], tmp[4600], path[4600];
    make_run("devfull-args", "5", run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    snprintf(tmp, sizeof tmp, "%s/args.txt.tmp", run_dir);
    size_t n0, n1;
    char *before = tu_read_file(path, &n0);
    assert_int_equal(symlink("/dev/full", tmp), 0);
    cmdline r = resume_run(run_dir, NEEDS("--episodes", "8"));
    expect_failure(&r, 1, NEEDS(path, strerror(ENOSPC)), "args.txt.tmp is /dev/full");
    char *after = tu_read_file(path, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(before), free(after);
    assert_false(exists(tmp));
    assert_int_equal(checkpoint_episode(run_dir), 5);
}

/* /dev/full behind a plot's temporary file: the run ends with exit 1 naming the plot. */
static void test_full_plot(void **state) {
    (void)state;
    char run_dir[4400], tmp[4700], path[4600];
    make_run("devfull-png", "5", run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/meta_loss.png", run_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    size_t n0, n1;
    char *before = tu_read_file(path, &n0);
    assert_int_equal(symlink("/dev/full", tmp), 0);
    cmdline r = resume_run(run_dir, NEEDS("--episodes", "8"));
    expect_failure(&r, 1, NEEDS(path, strerror(ENOSPC)), "meta_loss.png.tmp is /dev/full");
    char *after = tu_read_file(path, &n1);
    /* the old plot is still there, whole (the new one never replaced it) */
    assert_non_null(after);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    free(after);
    assert_false(exists(tmp));
    long ck = checkpoint_episode(run_dir);
    r = resume_run(run_dir, NULL);
    int st = run(&r);
    printf("    checkpoint at episode %ld; --resume then: exit %d: %s", ck, st, out_text);
    expect_exit(st, 0, "resume after the plot could not be written");
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
    cmdline c = new_run(res, "3", NULL);
    c.argv[4] = missing; /* --data_dir */
    expect_failure(&c, 1, NEEDS(missing, "not found"), "--data_dir does not exist");
    assert_false(exists(res)); /* nothing written */

    /* a truncated images file */
    snprintf(broken, sizeof broken, "%s/broken-data", tmp_root);
    assert_int_equal(tu_write_fake_emnist(broken, 10, 20), 0);
    snprintf(path, sizeof path, "%s/emnist/emnist-bymerge-test-images-idx3-ubyte.gz", broken);
    size_t n;
    char *gz = tu_read_file(path, &n);
    write_file(path, gz, n / 2);
    free(gz);
    c = new_run(res, "3", NULL);
    c.argv[4] = broken;
    expect_failure(&c, 1, NEEDS(path), "a truncated images file");
    assert_false(exists(res));

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
    cmdline r = resume_run(run_dir, NEEDS("--episodes", "8", "--data_dir", missing));
    expect_failure(&r, 1, NEEDS(missing, "not found"), "--resume with a missing --data_dir");
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
        cmdline c = new_run(res, "3", NULL);
        cmd_add(&c, cases[i].flag);
        cmd_add(&c, cases[i].value);
        int st = run(&c);
        char both[128];
        snprintf(both, sizeof both, "%s %s", cases[i].flag, cases[i].value);
        printf("  %-34s exit %d, %5.3f s, peak %5ld KiB: %s", both, st, last_seconds, last_maxrss_kb, err_text);
        expect_exit(st, 2, cases[i].flag);
        if (!strstr(err_text, cases[i].flag)) fail_msg("the message should name %s: %s", cases[i].flag, err_text);
        if (last_seconds > worst_time) worst_time = last_seconds;
        if (last_maxrss_kb > worst_rss) worst_rss = last_maxrss_kb;
        assert_true(last_seconds < 1.0);
        assert_true(last_maxrss_kb < 64 * 1024);
    }
    /* in range for the parser, too big for the data: refused once the data is loaded */
    const char *const big[][7] = {{"--K", "100000", "--Q", "100000", "--M", "10000", NULL},
                                  {"--K", "100000", "--Q", "100000", NULL}};
    for (int i = 0; i < 2; i++) {
        cmdline c = new_run(res, "3", big[i]);
        int st = run(&c);
        printf("  %-34s exit %d, %5.3f s, peak %5ld KiB: %s", i ? "--K 100000 --Q 100000" : "--K 100000 --Q 100000 --M 10000",
               st, last_seconds, last_maxrss_kb, err_text);
        expect_exit(st, 2, "--K/--Q/--M beyond the data");
        assert_true(last_seconds < 2.0);
        assert_true(last_maxrss_kb < 256 * 1024);
    }
    assert_false(exists(res)); /* no run directory for a refused command line */
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
