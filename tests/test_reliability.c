/* The reliability fixes of issue 10, end to end on the metaplast binary, each against a
 * behaviour the issue reproduced:
 *   1. one writer per run directory: a second process on a run that is in use exits 1 at
 *      once naming the holder's pid; the lock dies with its holder (SIGKILL); two resumes
 *      started together: one runs, the other is refused, metrics.csv has rows 1..N once;
 *   2. a closed stdout or stderr never puts console lines into metrics.csv;
 *   3. a missing checkpoint (deleted, a dangling link) never empties a run: the state is
 *      rebuilt from metrics.csv, bit-identical; rows that were edited are refused;
 *   4. resume checks what it finds: a hand-edited or duplicated args.txt line, another
 *      run's checkpoint, other data under --data_dir are refused, naming what differs;
 *   5. crash consistency: every mix of checkpoint episode, metrics.csv / params.txt
 *      prefixes and torn or NUL-padded tails a crash can leave resumes to the very run
 *      that was never interrupted;
 *   6. numerics: a saturated episode warns with its number, Adam's overflow is divergence;
 *   7. signals: SIGHUP stops like SIGINT, SIGPIPE (| head -1) costs only the console,
 *      a second SIGINT stops at once, SIGTERM after the last episode is a complete run,
 *      stdout on /dev/full is reported;
 *   8. small ones: the resume hint is shell-quoted, a bad K in args.txt names args.txt, a
 *      complete run in a read-only directory resumes with exit 0, --test_name cannot
 *      escape --res, a deleted params.txt is rebuilt.
 * Each test prints what it observed. */
#include "runutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "metaplast/checkpoint.h"

static char *tmp_root; /* everything this program writes */
static pid_t long_run;     /* a 100000-episode run not reaped yet: killed when a test fails */

/* ---- small helpers ------------------------------------------------------------------ */

static void path_in(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) fail_msg("path too long: %s/%s", dir, name);
}

/* cp -a src dst (dst must not exist; neither path holds a single quote). */
static void copy_dir(const char *src, const char *dst) {
    char cmd[10000];
    snprintf(cmd, sizeof cmd, "cp -a '%s' '%s'", src, dst);
    if (tu_run(cmd, NULL, 0) != 0) fail_msg("failed: %s", cmd);
}

/* A copy of the run directory ref_dir at tmp_root/name (into out). */
static void copy_run(const char *ref_dir, const char *name, char *out, size_t cap) {
    path_in(out, cap, tmp_root, name);
    copy_dir(ref_dir, out);
}

static char *read_in(const char *dir, const char *name, size_t *len) {
    char path[4600];
    path_in(path, sizeof path, dir, name);
    char *text = tu_read_file(path, len);
    if (!text) fail_msg("cannot read %s", path);
    return text;
}

static void write_in(const char *dir, const char *name, const void *bytes, size_t n) {
    char path[4600];
    path_in(path, sizeof path, dir, name);
    if (tu_write_file(path, bytes, n) != 0) fail_msg("cannot write %s", path);
}

static void remove_in(const char *dir, const char *name) {
    char path[4600];
    path_in(path, sizeof path, dir, name);
    if (unlink(path) != 0 && errno != ENOENT) fail_msg("cannot remove %s: %s", path, strerror(errno));
}

/* Replaces the one occurrence of `from` in dir/name by `to`. */
static void edit_in(const char *dir, const char *name, const char *from, const char *to) {
    size_t n;
    char *text = read_in(dir, name, &n);
    char *at = strstr(text, from);
    if (!at || strstr(at + 1, from)) fail_msg("%s/%s: '%s' is not there exactly once", dir, name, from);
    size_t lf = strlen(from), lt = strlen(to);
    char *out = malloc(n - lf + lt + 1);
    assert_non_null(out);
    memcpy(out, text, (size_t)(at - text));
    memcpy(out + (at - text), to, lt);
    memcpy(out + (at - text) + lt, at + lf, n - (size_t)(at - text) - lf);
    write_in(dir, name, out, n - lf + lt);
    free(out), free(text);
}

static long lines_in(const char *dir, const char *name, int *torn) {
    char path[4600];
    path_in(path, sizeof path, dir, name);
    return tu_count_lines(path, torn);
}

/* Fails unless dir/name holds exactly `before` (n bytes). */
static void assert_unchanged(const char *dir, const char *name, const char *before, size_t n, const char *what) {
    size_t m;
    char *now = read_in(dir, name, &m);
    if (m != n || memcmp(now, before, n) != 0) fail_msg("%s: %s/%s was changed (%zu -> %zu bytes)", what, dir, name, n, m);
    free(now);
}

/* How many times needle occurs in s. */
static int count_of(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The line of s that holds needle, without its '\n' (for printing), or "". */
static const char *line_with(const char *s, const char *needle, char *buf, size_t cap) {
    const char *at = strstr(s, needle);
    buf[0] = '\0';
    if (!at) return buf;
    while (at > s && at[-1] != '\n') at--;
    size_t len = strcspn(at, "\n");
    snprintf(buf, cap, "%.*s", (int)(len < cap ? len : cap - 1), at);
    return buf;
}

/* A child's exit status (or -signal), after waiting for it. */
static int wait_status(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0) assert_int_equal(errno, EINTR);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

/* ru_start with the output into tmp_root/tag.out and tag.err (for children that run
 * beside one started with ru_spawn). */
static pid_t spawn_tagged(const ru_cmdline *c, const char *tag) {
    char out[4400], err[4400];
    snprintf(out, sizeof out, "%s/%s.out", tmp_root, tag);
    snprintf(err, sizeof err, "%s/%s.err", tmp_root, tag);
    return ru_start(c->argv, out, err, NULL);
}

static char *tagged_text(const char *tag, const char *ext) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s.%s", tmp_root, tag, ext);
    char *text = tu_read_file(path, NULL);
    return text ? text : strdup("");
}

/* Polls every 0.2 ms until the run under res has a checkpoint at episode >= target;
 * its run directory into run_dir. Fails when pid ends first. Returns the episode. */
static long wait_for_checkpoint(pid_t pid, const char *res, char *run_dir, size_t cap, long target) {
    double t0 = tu_now();
    long ck = -1;
    run_dir[0] = '\0';
    for (;;) {
        int status;
        if (ru_try_reap(pid, &status)) {
            if (pid == long_run) long_run = 0; /* reaped: its pid may be reused */
            fail_msg("the run ended (status %d) before checkpoint %ld: %s", status, target, ru_err_text);
        }
        if (!run_dir[0]) ru_find_run_dir(res, run_dir, cap);
        if (run_dir[0] && (ck = ru_checkpoint_episode(run_dir)) >= target) return ck;
        if (tu_now() - t0 > 30) {
            kill(pid, SIGKILL);
            ru_reap(pid);
            if (pid == long_run) long_run = 0;
            fail_msg("no checkpoint %ld under %s after 30 s", target, res);
        }
        tu_sleep(0.0002);
    }
}

/* ru_new_run's command line behind /bin/sh -c script ("$0" is the binary). */
static ru_cmdline behind_sh(const char *script, const ru_cmdline *c) {
    ru_cmdline s = {.argc = 0};
    ru_cmd_add(&s, "/bin/sh");
    ru_cmd_add(&s, "-c");
    ru_cmd_add(&s, script);
    for (int i = 0; i < c->argc; i++) ru_cmd_add(&s, c->argv[i]);
    return s;
}

/* ru_assert_same_run without its line of output. */
static void assert_same_quietly(const char *ref_dir, const char *got_dir, const char *label) {
    ru_assert_same_metrics(ref_dir, got_dir, -1, label);
    const char *names[5] = {"params.txt", ru_png_names[0], ru_png_names[1], ru_png_names[2], ru_png_names[3]};
    for (int i = 0; i < 5; i++) {
        size_t na, nb;
        char *a = read_in(ref_dir, names[i], &na), *b = read_in(got_dir, names[i], &nb);
        if (na != nb || memcmp(a, b, na) != 0) fail_msg("%s: %s differs (%zu vs %zu bytes)", label, names[i], na, nb);
        free(a), free(b);
    }
}

/* ---- uninterrupted reference runs, one per length ------------------------------------- */

static struct {
    long episodes;
    char dir[4400];
} refs[16];
static int nrefs;

static const char *ref_run(long episodes) {
    for (int i = 0; i < nrefs; i++)
        if (refs[i].episodes == episodes) return refs[i].dir;
    assert_true(nrefs < 16);
    char res[4400], n[32];
    snprintf(res, sizeof res, "%s/ref-%ld", tmp_root, episodes);
    snprintf(n, sizeof n, "%ld", episodes);
    refs[nrefs].episodes = episodes;
    ru_complete_run(res, n, NULL, "an uninterrupted reference run", refs[nrefs].dir, sizeof refs[nrefs].dir);
    return refs[nrefs++].dir;
}

/* ---- tmpfs -------------------------------------------------------------------------------- */

static int group_setup(void **state) {
    (void)state;
    tmp_root = tu_mkdtemp();
    if (!tmp_root || strchr(tmp_root, '\'')) return -1; /* the shell commands quote with '' */
    return ru_setup(tmp_root);
}

static int group_teardown(void **state) {
    (void)state;
    if (long_run > 0 && kill(long_run, SIGKILL) == 0) waitpid(long_run, NULL, 0);
    tu_unmount_tmpfs();
    tu_rmtree(tmp_root);
    free(tmp_root);
    printf("%d metaplast processes started\n", ru_spawned);
    return 0;
}

/* ---- 1. one writer per run directory ------------------------------------------------------- */

static void test_lock_second_writer(void **state) {
    (void)state;
    char res[4400], run_dir[4400], n_text[32];
    snprintf(res, sizeof res, "%s/lock", tmp_root);
    ru_cmdline c = ru_new_run(res, "100000", NULL);
    pid_t first = long_run = ru_spawn(&c);
    wait_for_checkpoint(first, res, run_dir, sizeof run_dir, 1);

    ru_cmdline r = ru_resume_run(run_dir, NULL);
    double t0 = tu_now();
    int st = wait_status(spawn_tagged(&r, "lock-second"));
    double took = tu_now() - t0;
    char *err = tagged_text("lock-second", "err"), holder[64];
    snprintf(holder, sizeof holder, "process %ld", (long)first);
    printf("  --resume beside the running process %ld: exit %d after %.3f s: %s", (long)first, st, took, err);
    int refused = st == 1 && strstr(err, "in use") && strstr(err, holder) && took <= 0.5;
    free(err);
    kill(first, SIGKILL);
    int first_status = ru_reap(first);
    long_run = 0;
    if (!refused) fail_msg("a second writer must exit 1 at once naming '%s' and 'in use'", holder);
    assert_int_equal(first_status, -SIGKILL);
    long ck = ru_checkpoint_episode(run_dir), n = ck + 2;
    assert_true(ck >= 1);
    snprintf(n_text, sizeof n_text, "%ld", n);
    r = ru_resume_run(run_dir, RU_LIST("--episodes", n_text));
    st = ru_run(&r);
    printf("  after SIGKILL of the holder (checkpoint at episode %ld): --resume --episodes %ld: exit %d\n", ck, n, st);
    ru_expect_exit(st, 0, "resume once the holder is dead");
    ru_assert_same_run(ref_run(n), run_dir, "resumed after the holder was killed");
}

static void test_lock_two_resumes(void **state) {
    (void)state;
    char run_dir[4400];
    copy_run(ref_run(10), "lock-race", run_dir, sizeof run_dir);
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "300"));
    pid_t a = spawn_tagged(&r, "race-a"), b = spawn_tagged(&r, "race-b");
    int sa = wait_status(a), sb = wait_status(b);
    char *ea = tagged_text("race-a", "err"), *eb = tagged_text("race-b", "err");
    const char *lost = sa == 0 ? eb : ea;
    printf("  two --resume --episodes 300 at once: exits %d and %d; the refused one: %s", sa, sb, lost);
    if (!((sa == 0 && sb == 1) || (sa == 1 && sb == 0)) || !strstr(lost, "in use"))
        fail_msg("exactly one must run, the other exit 1 with 'in use':\n%s\n%s", ea, eb);
    free(ea), free(eb);
    /* the rows of episodes 1..300, each once, in order */
    size_t len;
    char *csv = read_in(run_dir, "metrics.csv", &len), *p = strchr(csv, '\n');
    long rows = 0;
    assert_non_null(p);
    for (p++; *p; rows++) {
        char *end;
        long ep = strtol(p, &end, 10);
        if (ep != rows + 1 || *end != ',') fail_msg("metrics.csv row %ld is episode %ld", rows + 1, ep);
        p = strchr(p, '\n');
        if (!p) fail_msg("metrics.csv: row %ld is torn", rows + 1);
        p++;
    }
    free(csv);
    assert_int_equal(rows, 300);
    assert_int_equal(ru_checkpoint_episode(run_dir), 300);
    printf("  metrics.csv: rows 1..%ld, each once and in order; checkpoint at episode 300\n", rows);
}

/* ---- 2. a closed stdout or stderr ------------------------------------------------------------ */

static void test_closed_stdio(void **state) {
    (void)state;
    const char *ref6 = ref_run(6), *ref8 = ref_run(8);
    const char *redirs[3] = {">&-", "2>&-", ">&- 2>&-"};
    for (int i = 0; i < 3; i++) {
        char res[4400], run_dir[4400], script[128];
        snprintf(res, sizeof res, "%s/closed-%d", tmp_root, i);
        snprintf(script, sizeof script, "exec \"$0\" \"$@\" %s", redirs[i]);
        ru_cmdline c = ru_new_run(res, "6", NULL);
        ru_cmdline s = behind_sh(script, &c);
        int st = ru_run(&s);
        ru_find_run_dir(res, run_dir, sizeof run_dir);
        int torn = 0;
        long lines = run_dir[0] ? lines_in(run_dir, "metrics.csv", &torn) : -1;
        char *csv = run_dir[0] ? read_in(run_dir, "metrics.csv", NULL) : strdup("");
        int console = count_of(csv, "\nTrain Episode") + count_of(csv, "\nrun directory") +
                      (strncmp(csv, "Train", 5) == 0 || strncmp(csv, "run dir", 7) == 0);
        free(csv);
        if (st == 0 && lines == 7 && !torn && console == 0) assert_same_quietly(ref6, run_dir, redirs[i]);
        ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "8"));
        int rst = run_dir[0] ? ru_run(&r) : -1;
        printf("  %-9s exit %d, metrics.csv the header + %ld rows%s, %d console lines in it; --resume --episodes 8: "
               "exit %d\n",
               redirs[i], st, lines - 1, torn ? " + a torn one" : "", console, rst);
        if (st != 0 || lines != 7 || torn || console != 0 || rst != 0)
            fail_msg("with %s: the run must exit 0 with 6 clean rows and resume", redirs[i]);
        /* before the resume, the rows, params.txt and plots of an uninterrupted 6-episode
         * run (checked above); now those of an 8-episode one */
        ru_assert_same_run(ref8, run_dir, redirs[i]);
    }
}

/* ---- 3. a missing checkpoint never empties a run ------------------------------------------------ */

static void test_missing_checkpoint(void **state) {
    (void)state;
    const char *ref8 = ref_run(8), *ref12 = ref_run(12);
    char run_dir[4400], path[4600];

    copy_run(ref8, "no-ck", run_dir, sizeof run_dir);
    remove_in(run_dir, MP_CHECKPOINT_FILE);
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "12"));
    int st = ru_run(&r);
    printf("  8 rows, checkpoint.bin deleted, --resume --episodes 12: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 0, "resume without a checkpoint");
    if (!strstr(ru_err_text, "rebuilt")) fail_msg("stderr should say the state was rebuilt: %s", ru_err_text);
    ru_assert_same_run(ref12, run_dir, "rebuilt and extended to 12");

    copy_run(ref8, "dangling-ck", run_dir, sizeof run_dir);
    path_in(path, sizeof path, run_dir, MP_CHECKPOINT_FILE);
    remove_in(run_dir, MP_CHECKPOINT_FILE);
    assert_int_equal(symlink("no-such-checkpoint.bin", path), 0);
    r = ru_resume_run(run_dir, NULL);
    st = ru_run(&r);
    printf("  8 rows, checkpoint.bin a dangling symlink, plain --resume: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 0, "resume with a dangling checkpoint link");
    if (!strstr(ru_err_text, "rebuilt")) fail_msg("stderr should say the state was rebuilt: %s", ru_err_text);
    ru_assert_same_run(ref8, run_dir, "complete run with a dangling checkpoint link");

    /* rebuilt from rows that were edited: refused, the file left alone */
    copy_run(ref8, "edited-rows", run_dir, sizeof run_dir);
    remove_in(run_dir, MP_CHECKPOINT_FILE);
    size_t len;
    char *csv = read_in(run_dir, "metrics.csv", &len), *row = csv;
    for (int i = 0; i < 4; i++) row = strchr(row, '\n') + 1; /* the header and rows 1..3 */
    char *col = row;
    for (int c = 0; c < 3; c++) col = strchr(col, ',') + 1; /* episode, loss, accuracy */
    size_t old_len = strcspn(col, ",");
    char edited[256];
    snprintf(edited, sizeof edited, "%.*s", (int)old_len, col);
    free(csv);
    char from[300], to[300];
    snprintf(from, sizeof from, ",%s,", edited);
    snprintf(to, sizeof to, ",%.17g,", 2 * strtod(edited, NULL)); /* a number, another one */
    /* theta_0 of row 4 is unique in the file (it grows every episode) */
    edit_in(run_dir, "metrics.csv", from, to);
    printf("  theta_0 of row 4 edited from %s to %.*s\n", edited, (int)strlen(to) - 2, to + 1);
    char *before = read_in(run_dir, "metrics.csv", &len);
    r = ru_resume_run(run_dir, RU_LIST("--episodes", "12"));
    ru_expect_failure(&r, 1, RU_LIST("metrics.csv", "row 4"), "no checkpoint, theta_0 of row 4 edited");
    assert_unchanged(run_dir, "metrics.csv", before, len, "the refused resume");
    free(before);
}

/* ---- 4. resume does not trust what it finds ------------------------------------------------------ */

/* args.txt of a copy of the 8-episode run with `from` replaced by `to` (lines with their
 * '\n's), and its checkpoint kept or not: --resume exits 1 naming args.txt and saying it
 * was edited (or naming flag), and leaves the directory as it was. */
static void expect_args_refused(const char *name, const char *from, const char *to, int keep_ck, const char *flag) {
    char run_dir[4400], what[128];
    copy_run(ref_run(8), name, run_dir, sizeof run_dir);
    if (!keep_ck) remove_in(run_dir, MP_CHECKPOINT_FILE);
    edit_in(run_dir, "args.txt", from, to);
    size_t na, nm;
    char *args = read_in(run_dir, "args.txt", &na), *csv = read_in(run_dir, "metrics.csv", &nm);
    snprintf(what, sizeof what, "args.txt '%.*s' -> '%.*s' (%s checkpoint)", (int)strlen(from) - 2, from + 1,
             (int)strlen(to) - 2, to + 1, keep_ck ? "with its" : "without a");
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "12"));
    ru_expect_failure(&r, 1, RU_LIST("args.txt"), what);
    if (!strstr(ru_err_text, "edited") && !strstr(ru_err_text, flag))
        fail_msg("%s: the message should say the file was edited or name %s", what, flag);
    assert_unchanged(run_dir, "args.txt", args, na, what); /* not rewritten as if the run had used it */
    assert_unchanged(run_dir, "metrics.csv", csv, nm, what);
    free(args), free(csv);
}

static void test_edited_args(void **state) {
    (void)state;
    expect_args_refused("args-K", "\nK : 5\n", "\nK : 7\n", 1, "--K");
    expect_args_refused("args-K-nock", "\nK : 5\n", "\nK : 7\n", 0, "--K");
    expect_args_refused("args-fbk", "\nfbk : fix\n", "\nfbk : sym\n", 1, "--fbk");
    expect_args_refused("args-fbk-nock", "\nfbk : fix\n", "\nfbk : sym\n", 0, "--fbk");

    /* a line given twice */
    char run_dir[4400], needle[64];
    copy_run(ref_run(8), "args-twice", run_dir, sizeof run_dir);
    long lines = lines_in(run_dir, "args.txt", NULL);
    size_t n;
    char *args = read_in(run_dir, "args.txt", &n);
    char *grown = malloc(n + 16);
    memcpy(grown, args, n);
    memcpy(grown + n, "seed : 3\n", 9);
    write_in(run_dir, "args.txt", grown, n + 9);
    free(args), free(grown);
    snprintf(needle, sizeof needle, "args.txt:%ld", lines + 1);
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "12"));
    ru_expect_failure(&r, 1, RU_LIST(needle, "seed", "twice"), "'seed : 3' twice in args.txt");
    assert_int_equal(ru_checkpoint_episode(run_dir), 8);
}

/* A pixel of the fake database's image file changed (same size, another checksum). */
static void change_one_pixel(const char *gz_path) {
    static unsigned char buf[1 << 20];
    gzFile f = gzopen(gz_path, "rb");
    assert_non_null(f);
    int n = gzread(f, buf, sizeof buf);
    gzclose(f);
    assert_true(n > 16 + 784 * 4);
    buf[16 + 784 * 3 + 400] ^= 0x55;
    f = gzopen(gz_path, "wb");
    assert_non_null(f);
    assert_int_equal(gzwrite(f, buf, (unsigned)n), n);
    assert_int_equal(gzclose(f), Z_OK);
}

static void test_foreign_checkpoint_and_data(void **state) {
    (void)state;
    char res1[4400], res2[4400], run1[4400], run2[4400];
    snprintf(res1, sizeof res1, "%s/seed1", tmp_root);
    snprintf(res2, sizeof res2, "%s/seed2", tmp_root);
    ru_complete_run(res1, "5", RU_LIST("--seed", "1"), "a seed-1 run", run1, sizeof run1);
    ru_complete_run(res2, "5", RU_LIST("--seed", "2"), "a seed-2 run", run2, sizeof run2);
    size_t n, nm, n2;
    char *own_ck2 = read_in(run2, MP_CHECKPOINT_FILE, &n2);
    char *ck1 = read_in(run1, MP_CHECKPOINT_FILE, &n);
    write_in(run2, MP_CHECKPOINT_FILE, ck1, n);
    free(ck1);
    char *csv = read_in(run2, "metrics.csv", &nm);
    ru_cmdline r = ru_resume_run(run2, RU_LIST("--episodes", "8"));
    ru_expect_failure(&r, 1, RU_LIST(MP_CHECKPOINT_FILE, "seed"), "seed 1's checkpoint.bin in a seed-2 run");
    assert_unchanged(run2, "metrics.csv", csv, nm, "the refused resume");
    free(csv);

    /* seed 1's rows in a seed-2 run: the rows' theta follow from their own gradients, but
     * the last row's episode, recomputed with the seed-2 draws, does not match; with the
     * run's own checkpoint, and with none */
    char run3[4400];
    snprintf(run3, sizeof run3, "%s/seed2-copy", tmp_root);
    copy_dir(run2, run3); /* seed 2's directory, its own checkpoint back */
    write_in(run3, MP_CHECKPOINT_FILE, own_ck2, n2);
    free(own_ck2);
    char *rows1 = read_in(run1, "metrics.csv", &nm);
    write_in(run3, "metrics.csv", rows1, nm);
    r = ru_resume_run(run3, RU_LIST("--episodes", "8"));
    ru_expect_failure(&r, 1, RU_LIST("metrics.csv", "row 5", "another run"), "seed 1's rows, seed 2's checkpoint");
    assert_unchanged(run3, "metrics.csv", rows1, nm, "the refused resume");
    remove_in(run3, MP_CHECKPOINT_FILE);
    ru_expect_failure(&r, 1, RU_LIST("metrics.csv", "row 5", "another run"), "seed 1's rows, no checkpoint");
    assert_unchanged(run3, "metrics.csv", rows1, nm, "the refused resume");
    free(rows1);
    /* a changed loss in the last row is caught the same way */
    char run4[4400];
    copy_run(ref_run(8), "edited-loss", run4, sizeof run4);
    remove_in(run4, MP_CHECKPOINT_FILE);
    {
        size_t len;
        char *text = read_in(run4, "metrics.csv", &len);
        char *last = text + len - 2;
        while (last > text && last[-1] != '\n') last--;
        char *comma = strchr(last, ',');
        assert_non_null(comma);
        comma[1] = comma[1] == '9' ? '8' : '9'; /* the loss's first digit */
        write_in(run4, "metrics.csv", text, len);
        free(text);
    }
    r = ru_resume_run(run4, RU_LIST("--episodes", "12"));
    ru_expect_failure(&r, 1, RU_LIST("metrics.csv", "row 8", "loss"), "the last row's loss edited, no checkpoint");

    /* --data_dir with other data: refused, naming the file; a byte-identical copy: fine */
    char other[4400], same[4400], run_dir[4400], images[4600];
    snprintf(other, sizeof other, "%s/other-data", tmp_root);
    snprintf(same, sizeof same, "%s/same-data", tmp_root);
    copy_dir(ru_data_dir, other);
    copy_dir(ru_data_dir, same);
    snprintf(images, sizeof images, "%s/emnist/emnist-bymerge-test-images-idx3-ubyte.gz", other);
    change_one_pixel(images);
    copy_run(ref_run(8), "other-data-run", run_dir, sizeof run_dir);
    size_t na;
    char *args = read_in(run_dir, "args.txt", &na);
    r = ru_resume_run(run_dir, RU_LIST("--episodes", "12", "--data_dir", other));
    ru_expect_failure(&r, 1, RU_LIST(images), "--data_dir with one pixel changed");
    assert_unchanged(run_dir, "args.txt", args, na, "the refused resume"); /* the data path is not rewritten */
    free(args);
    r = ru_resume_run(run_dir, RU_LIST("--episodes", "12", "--data_dir", same));
    int st = ru_run(&r);
    printf("  --data_dir with a byte-identical copy in another directory: exit %d\n", st);
    ru_expect_exit(st, 0, "--data_dir with a byte-identical copy");
    ru_assert_same_run(ref_run(12), run_dir, "continued on the copy of the data");
}

/* ---- 5. crash consistency ------------------------------------------------------------------------ */

/* The lines of a file, each with its '\n'. */
typedef struct {
    char *text;
    const char *line[16];
    size_t len[16];
    int n;
} lines_t;

static void split_lines(const char *dir, const char *name, lines_t *l) {
    l->text = read_in(dir, name, NULL);
    l->n = 0;
    for (const char *p = l->text; *p && l->n < 16; l->n++) {
        const char *e = strchr(p, '\n');
        assert_non_null(e);
        l->line[l->n] = p;
        l->len[l->n] = (size_t)(e - p) + 1;
        p = e + 1;
    }
}

/* Removes the files in dir (made when missing): cheaper than tu_rmtree's shell. */
static void empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        assert_int_equal(mkdir(dir, 0755), 0);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) remove_in(dir, e->d_name);
    closedir(d);
}

enum { TAIL_CLEAN, TAIL_CUT, TAIL_NUL, TAILS };
static const char *const tail_names[TAILS] = {"clean", "cut", "NULs"};

/* The first `keep` lines of l (whole), then the tail: nothing, the first half of line
 * keep (the next one), or 100 NUL bytes. keep < 0: no file at all. */
static void write_prefix(const char *dir, const char *name, const lines_t *l, int keep, int tail) {
    if (keep < 0) return;
    static char buf[65536];
    size_t n = 0;
    for (int i = 0; i < keep; i++) {
        memcpy(buf + n, l->line[i], l->len[i]);
        n += l->len[i];
    }
    if (tail == TAIL_CUT) {
        assert_true(keep < l->n);
        memcpy(buf + n, l->line[keep], l->len[keep] / 2);
        n += l->len[keep] / 2;
    } else if (tail == TAIL_NUL) {
        memset(buf + n, 0, 100);
        n += 100;
    }
    write_in(dir, name, buf, n);
}

static void test_crash_consistency(void **state) {
    (void)state;
    enum { N = 5 };
    const char *ref = ref_run(N), *ref6 = ref_run(N + 1);
    /* the checkpoint after each episode k: a fresh run of k episodes (it does not depend
     * on --episodes) */
    char *ck[N + 1] = {NULL};
    size_t ck_len[N + 1] = {0};
    for (int k = 1; k <= N; k++) {
        char name[32], dir[4400];
        snprintf(name, sizeof name, "%d", k);
        if (k == N) {
            snprintf(dir, sizeof dir, "%s", ref);
        } else {
            char res[4400];
            snprintf(res, sizeof res, "%s/ck-%d", tmp_root, k);
            ru_complete_run(res, name, NULL, "a short run for its checkpoint", dir, sizeof dir);
        }
        ck[k] = read_in(dir, MP_CHECKPOINT_FILE, &ck_len[k]);
        assert_int_equal(ru_checkpoint_episode(dir), k);
    }
    size_t args_len;
    char *args = read_in(ref, "args.txt", &args_len);
    /* rows and lines of a 6-episode run: the first 5 are the reference's, the 6th gives
     * the half row a crash leaves after the 5th */
    lines_t csv, params;
    split_lines(ref6, "metrics.csv", &csv);
    split_lines(ref6, "params.txt", &params);
    assert_int_equal(csv.n, N + 2);
    assert_int_equal(params.n, N + 1);

    char dir[4400], label[256];
    snprintf(dir, sizeof dir, "%s/crash", tmp_root);
    int checked = 0, ahead = 0, behind = 0, none = 0, tails[TAILS] = {0}, params_kinds[4] = {0};
    double t0 = tu_now();
    /* Every checkpoint (none, after 1..5) x metrics.csv (-2: no file, -1: an empty one
     * (its tail: half a header, or NULs), else the header and that many rows) x tail;
     * params.txt, which resume writes anew from the rows, takes its variants in turn
     * (0 lines, as many as metrics.csv, all 5, no file) to keep the run time down. */
    int turn = 0;
    for (int c = 0; c <= N; c++)
        for (int rows = -2; rows <= N; rows++)
            for (int tail = 0; tail < TAILS; tail++) {
                if (rows == -2 && tail != TAIL_CLEAN) continue; /* no file has no tail */
                int pi = turn++ % 4;
                int plines = pi == 0 ? 0 : pi == 1 ? (rows > 0 ? rows : 0) : pi == 2 ? N : -1;
                empty_dir(dir);
                write_in(dir, "args.txt", args, args_len);
                if (c > 0) write_in(dir, MP_CHECKPOINT_FILE, ck[c], ck_len[c]);
                if (rows == -1) write_prefix(dir, "metrics.csv", &csv, 0, tail);
                else if (rows >= 0) write_prefix(dir, "metrics.csv", &csv, 1 + rows, tail);
                write_prefix(dir, "params.txt", &params, plines, tail);
                char csv_what[64], params_what[64];
                if (rows == -2) snprintf(csv_what, sizeof csv_what, "no metrics.csv");
                else if (rows == -1) snprintf(csv_what, sizeof csv_what, "metrics.csv without its header");
                else snprintf(csv_what, sizeof csv_what, "metrics.csv with %d rows", rows);
                if (plines < 0) snprintf(params_what, sizeof params_what, "no params.txt");
                else snprintf(params_what, sizeof params_what, "params.txt with %d lines", plines);
                snprintf(label, sizeof label, "checkpoint %s%.0d, %s, %s, tail %s", c ? "after episode " : "none", c,
                         csv_what, params_what, tail_names[tail]);
                ru_cmdline r = ru_resume_run(dir, RU_LIST("--episodes", "5"));
                int st = ru_run(&r);
                if (st != 0) fail_msg("%s: exit %d: %s", label, st, ru_err_text);
                assert_same_quietly(ref, dir, label);
                checked++;
                ahead += c > 0 && c > (rows > 0 ? rows : 0);
                behind += c > 0 && c < rows;
                none += c == 0;
                tails[tail]++;
                params_kinds[pi]++;
            }
    printf("  %d crash states resumed to the uninterrupted 5-episode run in %.1f s: %d with the checkpoint ahead "
           "of the rows, %d behind, %d without one; tails: %d clean, %d cut short, %d NUL-padded; params.txt: %d "
           "empty, %d as long as metrics.csv, %d whole, %d missing\n",
           checked, tu_now() - t0, ahead, behind, none, tails[TAIL_CLEAN], tails[TAIL_CUT], tails[TAIL_NUL],
           params_kinds[0], params_kinds[1], params_kinds[2], params_kinds[3]);
    for (int k = 1; k <= N; k++) free(ck[k]);
    free(args), free(csv.text), free(params.text);
}

/* ---- 6. numerics ------------------------------------------------------------------------------ */

static void test_numerics(void **state) {
    (void)state;
    char res[4400], run_dir[4400], line[512];
    snprintf(res, sizeof res, "%s/a1", tmp_root);
    /* 40 episodes: on the fake data --a 1 saturates 1 or 2 of the first 20, 4 or 5 of 40 */
    ru_cmdline c = ru_new_run(res, "40", RU_LIST("--a", "1"));
    int st = ru_run(&c);
    int warnings = count_of(ru_err_text, "saturated");
    const char *w = strstr(ru_err_text, "warning: episode ");
    long ep = w ? strtol(w + strlen("warning: episode "), NULL, 10) : 0;
    printf("  --a 1, 40 episodes: exit %d, %d saturation warnings, e.g.: %s\n", st, warnings,
           line_with(ru_err_text, "saturated", line, sizeof line));
    ru_expect_exit(st, 0, "--a 1");
    if (warnings < 1 || ep < 1 || ep > 40) fail_msg("expected a 'warning: episode N: ... saturated' line: %s", ru_err_text);
    /* the episode it names: chance loss (ln 10 on the 10 classes) and dL/dtheta0 exactly 0 */
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    char *csv = read_in(run_dir, "metrics.csv", NULL), *row = csv;
    for (long i = 0; i < ep && row; i++) row = strchr(row, '\n') ? strchr(row, '\n') + 1 : NULL;
    assert_non_null(row);
    assert_int_equal(strtol(row, NULL, 10), ep);
    double loss = strtod(strchr(row, ',') + 1, NULL);
    const char *col = row;
    for (int k = 0; k < 19; k++) col = strchr(col, ',') + 1; /* grad_0 is the 20th column */
    double grad0 = strtod(col, NULL);
    printf("    its row: loss %.9f (ln 10 = %.9f), grad_0 %g\n", loss, log(10.0), grad0);
    assert_true(fabs(loss - log(10.0)) < 1e-6);
    assert_true(grad0 == 0);
    free(csv);

    snprintf(res, sizeof res, "%s/lamb", tmp_root);
    c = ru_new_run(res, "20", RU_LIST("--lamb", "1e300"));
    ru_expect_failure(&c, 1, RU_LIST("diverged", "Adam"), "--lamb 1e300");
    w = strstr(ru_err_text, "episode ");
    ep = w ? strtol(w + strlen("episode "), NULL, 10) : 0;
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    int torn = 0, ptorn = 0;
    long rows = lines_in(run_dir, "metrics.csv", &torn) - 1, plines = lines_in(run_dir, "params.txt", &ptorn);
    printf("    diverged at episode %ld: metrics.csv keeps %ld rows, params.txt %ld lines\n", ep, rows, plines);
    assert_true(ep >= 1);
    assert_int_equal(rows, ep);
    assert_int_equal(plines, ep);
    assert_false(torn || ptorn);
}

/* ---- 7. signals --------------------------------------------------------------------------------- */

static void test_sighup(void **state) {
    (void)state;
    const char *ref = ref_run(60);
    char res[4400], run_dir[4400];
    snprintf(res, sizeof res, "%s/sighup", tmp_root);
    ru_cmdline c = ru_new_run(res, "60", NULL);
    pid_t pid = ru_spawn(&c);
    long ck = wait_for_checkpoint(pid, res, run_dir, sizeof run_dir, 5);
    kill(pid, SIGHUP);
    int st = ru_reap(pid);
    printf("  SIGHUP at checkpoint %ld: exit %d: %s", ck, st, ru_err_text);
    ru_expect_exit(st, 129, "SIGHUP");
    if (!strstr(ru_err_text, "stopped by signal SIGHUP") || !strstr(ru_err_text, "continue with: metaplast --resume"))
        fail_msg("SIGHUP: stderr should say it stopped and how to continue: %s", ru_err_text);
    ru_assert_pngs(run_dir);
    ru_cmdline r = ru_resume_run(run_dir, NULL);
    ru_expect_exit(ru_run(&r), 0, "resume after SIGHUP");
    ru_assert_same_run(ref, run_dir, "stopped by SIGHUP and resumed");
}

static void test_sigpipe(void **state) {
    (void)state;
    const char *ref = ref_run(30);
    char res[4400], run_dir[4400], status_path[4400], script[4600];
    snprintf(res, sizeof res, "%s/sigpipe", tmp_root);
    snprintf(status_path, sizeof status_path, "%s/sigpipe.status", tmp_root);
    snprintf(script, sizeof script, "(\"$0\" \"$@\"; echo $? > '%s') | head -1", status_path);
    ru_cmdline c = ru_new_run(res, "30", NULL);
    ru_cmdline s = behind_sh(script, &c);
    int st = ru_run(&s);
    char *status = tu_read_file(status_path, NULL);
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    long rows = run_dir[0] ? lines_in(run_dir, "metrics.csv", NULL) - 1 : -1;
    printf("  metaplast ... | head -1: pipeline exit %d, metaplast exit %s, metrics.csv %ld rows, head printed: %s"
           "    stderr: %s",
           st, status ? strtok(status, "\n") : "(none)", rows, ru_out_text, ru_err_text);
    if (!status || strcmp(status, "0") != 0) fail_msg("metaplast should exit 0 when its stdout pipe closes");
    free(status);
    assert_int_equal(rows, 30);
    assert_int_equal(count_of(ru_err_text, "stdout:"), 1);
    ru_assert_same_run(ref, run_dir, "stdout piped into head -1");
}

/* Waits (up to 1 s) until sig is no longer pending for pid: a handler has taken it. Two
 * signals sent before the process runs again would merge into one. */
static void wait_delivered(pid_t pid, int sig) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    for (double t0 = tu_now(); tu_now() - t0 < 1; tu_sleep(0.0001)) {
        char *s = tu_read_file(path, NULL);
        if (!s) return;
        const char *shd = strstr(s, "\nShdPnd:"), *pnd = strstr(s, "\nSigPnd:");
        unsigned long long mask = (shd ? strtoull(shd + 8, NULL, 16) : 0) | (pnd ? strtoull(pnd + 8, NULL, 16) : 0);
        free(s);
        if (!(mask & (1ULL << (sig - 1)))) return;
    }
}

static int count_pngs(const char *run_dir) {
    int n = 0;
    for (int i = 0; i < 4; i++) {
        char path[4600];
        path_in(path, sizeof path, run_dir, ru_png_names[i]);
        n += tu_exists(path);
    }
    return n;
}

static void test_second_sigint(void **state) {
    (void)state;
    char res[4400], run_dir[4400], n_text[32];
    snprintf(res, sizeof res, "%s/sigint2", tmp_root);
    ru_cmdline c = ru_new_run(res, "100000", NULL);
    pid_t pid = long_run = ru_spawn(&c);
    long ck = wait_for_checkpoint(pid, res, run_dir, sizeof run_dir, 3);
    double t0 = tu_now();
    kill(pid, SIGINT);
    wait_delivered(pid, SIGINT);
    /* Then SIGINT again every 2 ms until the process ends: "delivered" only means the
     * kernel handed the signal over, and a sanitizer's runtime takes it first and runs
     * our handler later, merging a second SIGINT that comes before into the first. */
    int st = 0, sent = 1;
    for (;;) {
        tu_sleep(0.002);
        if (ru_try_reap(pid, &st)) break;
        kill(pid, SIGINT);
        sent++;
        if (tu_now() - t0 > 30) {
            kill(pid, SIGKILL);
            st = ru_reap(pid);
            break;
        }
    }
    long_run = 0;
    double took = tu_now() - t0;
    long after = ru_checkpoint_episode(run_dir);
    printf("  %d SIGINTs 2 ms apart at checkpoint %ld: exit %d after %.3f s, checkpoint loads at episode %ld, %d of 4 "
           "PNGs: %s",
           sent, ck, st, took, after, count_pngs(run_dir), ru_err_text);
    ru_expect_exit(st, 130, "a second SIGINT");
    if (!strstr(ru_err_text, "second signal")) fail_msg("the second SIGINT should stop the run at once");
    /* at once: no plots drawn (the first signal alone would draw them); the time is
     * only a guard against a hang (a sanitizer build is many times slower) */
    assert_int_equal(count_pngs(run_dir), 0);
    assert_true(took < 5);
    assert_true(after >= ck);
    long n = after + 3 <= 60 ? 60 : after + 3;
    snprintf(n_text, sizeof n_text, "%ld", n);
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", n_text));
    ru_expect_exit(ru_run(&r), 0, "resume after a second SIGINT");
    ru_assert_same_run(ref_run(n), run_dir, "stopped by two SIGINTs and resumed");
}

static void test_sigterm_after_last(void **state) {
    (void)state;
    char res[4400], run_dir[4400];
    snprintf(res, sizeof res, "%s/sigterm-last", tmp_root);
    ru_cmdline c = ru_new_run(res, "20", NULL);
    pid_t pid = ru_spawn(&c);
    int st = 0, exited = 0;
    double t0 = tu_now();
    run_dir[0] = '\0';
    for (;;) { /* until the checkpoint says 20 of 20 */
        if ((exited = ru_try_reap(pid, &st))) break;
        if (!run_dir[0]) ru_find_run_dir(res, run_dir, sizeof run_dir);
        if (run_dir[0] && ru_checkpoint_episode(run_dir) == 20) break;
        assert_true(tu_now() - t0 < 30);
        tu_sleep(0.0001);
    }
    if (!exited) {
        kill(pid, SIGTERM);
        st = ru_reap(pid);
    }
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    printf("  SIGTERM once the checkpoint said 20 of 20: %s, exit %d: %s", exited ? "the run had already exited" : "sent",
           st, ru_err_text[0] ? ru_err_text : "(nothing on stderr)\n");
    ru_expect_exit(st, 0, "SIGTERM after the last episode");
    ru_assert_pngs(run_dir);
    assert_int_equal(ru_checkpoint_episode(run_dir), 20);
}

static void test_stdout_full(void **state) {
    (void)state;
    const char *ref = ref_run(12);
    char res[4400], run_dir[4400];
    snprintf(res, sizeof res, "%s/devfull", tmp_root);
    ru_cmdline c = ru_new_run(res, "12", NULL);
    ru_cmdline s = behind_sh("exec \"$0\" \"$@\" >/dev/full", &c);
    int st = ru_run(&s);
    printf("  stdout on /dev/full: exit %d: %s", st, ru_err_text);
    ru_expect_exit(st, 0, "stdout on /dev/full");
    if (!strstr(ru_err_text, "stdout:") || !strstr(ru_err_text, "No space left on device"))
        fail_msg("stderr should report stdout's error: %s", ru_err_text);
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    ru_assert_same_run(ref, run_dir, "stdout on /dev/full");
}

/* ---- 8. small ones ---------------------------------------------------------------------------------- */

static void test_quoted_hint(void **state) {
    (void)state;
    const char *ref = ref_run(60);
    char res[4400], run_dir[4400], cmd[9000];
    snprintf(res, sizeof res, "%s/with space's", tmp_root);
    ru_cmdline c = ru_new_run(res, "60", NULL);
    pid_t pid = ru_spawn(&c);
    wait_for_checkpoint(pid, res, run_dir, sizeof run_dir, 3);
    kill(pid, SIGTERM);
    int st = ru_reap(pid);
    ru_expect_exit(st, 143, "SIGTERM");
    const char *hint = strstr(ru_err_text, "continue with: ");
    if (!hint) fail_msg("no resume hint: %s", ru_err_text);
    hint += strlen("continue with: ");
    size_t len = strcspn(hint, "\n");
    if (strncmp(hint, "metaplast ", 10) != 0) fail_msg("the hint does not start with 'metaplast ': %s", hint);
    snprintf(cmd, sizeof cmd, "'%s' %.*s", tu_binary(), (int)(len - 10), hint + 10);
    printf("  SIGTERM in %s: the hint is: %.*s\n", run_dir, (int)len, hint);
    ru_cmdline s = {.argc = 0};
    ru_cmd_add(&s, "/bin/sh");
    ru_cmd_add(&s, "-c");
    ru_cmd_add(&s, cmd);
    st = ru_run(&s);
    printf("    that command through /bin/sh -c: exit %d\n", st);
    ru_expect_exit(st, 0, "the printed resume command");
    ru_assert_same_run(ref, run_dir, "resumed with the printed command");
}

static void test_args_k_too_large(void **state) {
    (void)state;
    char run_dir[4400];
    copy_run(ref_run(8), "args-K500", run_dir, sizeof run_dir);
    edit_in(run_dir, "args.txt", "\nK : 5\n", "\nK : 500\n");
    ru_cmdline r = ru_resume_run(run_dir, NULL);
    int st = ru_run(&r);
    printf("  args.txt 'K : 500' (20 images per class): exit %d: %s", st, ru_err_text);
    if ((st != 1 && st != 2) || !strstr(ru_err_text, "args.txt"))
        fail_msg("a K too large in args.txt: exit 1 or 2 naming args.txt");
    assert_int_equal(ru_checkpoint_episode(run_dir), 8);
}

static void test_readonly_complete(void **state) {
    (void)state;
    char mnt[4400], res[4500], run_dir[4600];
    snprintf(mnt, sizeof mnt, "%s/ro", tmp_root);
    if (tu_mount_tmpfs(mnt, 0, "size=8m") != 0) {
        skip();
        return;
    }
    snprintf(res, sizeof res, "%s/res", mnt);
    ru_complete_run(res, "5", NULL, "a run on the tmpfs", run_dir, sizeof run_dir);
    if (mount("tmpfs", mnt, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) != 0) {
        printf("  skipped: cannot remount %s read-only: %s\n", mnt, strerror(errno));
        tu_unmount_tmpfs();
        skip();
        return;
    }
    ru_cmdline r = ru_resume_run(run_dir, NULL);
    int st = ru_run(&r);
    printf("  a complete run on a read-only tmpfs, --resume: exit %d: %s%s", st, ru_out_text, ru_err_text);
    ru_expect_exit(st, 0, "resume of a complete run in a read-only directory");
    if (!strstr(ru_out_text, "complete")) fail_msg("it should say the run is complete: %s", ru_out_text);
    tu_unmount_tmpfs();
}

static void test_test_name_escape(void **state) {
    (void)state;
    char base[4400], res[4500], abs_name[4500], cmd[9000], listing[4096];
    snprintf(base, sizeof base, "%s/tn", tmp_root);
    assert_int_equal(mkdir(base, 0755), 0);
    snprintf(res, sizeof res, "%s/res", base);
    snprintf(abs_name, sizeof abs_name, "%s/abs-x", tmp_root);
    const char *names[3] = {"../x", "a/../../x", abs_name};
    for (int i = 0; i < 3; i++) {
        ru_cmdline c = ru_new_run(res, "3", RU_LIST("--test_name", names[i]));
        char what[4600];
        snprintf(what, sizeof what, "--test_name %s", names[i]);
        ru_expect_failure(&c, 2, RU_LIST("--test_name"), what);
    }
    snprintf(cmd, sizeof cmd, "ls -A '%s'", base);
    assert_int_equal(tu_run(cmd, listing, sizeof listing), 0);
    printf("    afterwards the directory that holds --res has: '%s'; %s exists: %s\n", listing, abs_name,
           tu_exists(abs_name) ? "yes" : "no");
    assert_string_equal(listing, ""); /* neither res/ nor x/ */
    assert_false(tu_exists(abs_name));
}

static void test_deleted_params(void **state) {
    (void)state;
    char run_dir[4400];
    copy_run(ref_run(8), "no-params", run_dir, sizeof run_dir);
    remove_in(run_dir, "params.txt");
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "12"));
    int st = ru_run(&r);
    printf("  params.txt deleted, --resume --episodes 12: exit %d\n", st);
    ru_expect_exit(st, 0, "resume without params.txt");
    ru_assert_same_run(ref_run(12), run_dir, "params.txt rebuilt");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_second_writer),
        cmocka_unit_test(test_lock_two_resumes),
        cmocka_unit_test(test_closed_stdio),
        cmocka_unit_test(test_missing_checkpoint),
        cmocka_unit_test(test_edited_args),
        cmocka_unit_test(test_foreign_checkpoint_and_data),
        cmocka_unit_test(test_crash_consistency),
        cmocka_unit_test(test_numerics),
        cmocka_unit_test(test_sighup),
        cmocka_unit_test(test_sigpipe),
        cmocka_unit_test(test_second_sigint),
        cmocka_unit_test(test_sigterm_after_last),
        cmocka_unit_test(test_stdout_full),
        cmocka_unit_test(test_quoted_hint),
        cmocka_unit_test(test_args_k_too_large),
        cmocka_unit_test(test_readonly_complete),
        cmocka_unit_test(test_test_name_escape),
        cmocka_unit_test(test_deleted_params),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
