/* --resume, end to end on the metaplast binary: a run killed with SIGKILL at random moments
 * (one of them before the first checkpoint exists) and resumed each time until it is
 * complete gives metrics.csv (all but the timing column), params.txt and the four plots
 * byte for byte as the run that was never interrupted; likewise after SIGINT and SIGTERM
 * (exit 130/143, the message says how to resume, the CSV is complete and the plots are
 * there). Also: resuming a complete run says so and exits 0; a raised --episodes extends
 * a finished run exactly as an uninterrupted longer run; flags that contradict the stored
 * ones, too few --episodes, and directories that are not runs are refused.
 *
 * The kill moments are random: the program prints the seed (set METAPLAST_TEST_SEED to
 * replay a schedule) and, for each kill, when it came and what the run directory held. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"

#define EPISODES_FIX 100 /* long enough that random kills land mid-run */
#define EPISODES_SYM 40

static const char *const png_names[] = {"meta_accuracy.png", "meta_angle.png", "meta_loss.png", "meta_params.png"};

static char *tmp_root;        /* everything this program writes */
static char data_dir[4200];   /* fake EMNIST bymerge */
static char out_path[4200], err_path[4200];
static char out_text[65536], err_text[65536];
static uint64_t rng_state;
static int spawn_count;

/* ---- small helpers --------------------------------------------------------------- */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sleep_seconds(double s) {
    if (s <= 0) return;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double uniform(void) { /* xorshift64*: the schedule must not depend on libc */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static void read_into(const char *path, char *buf, size_t cap) {
    size_t n = 0;
    char *text = tu_read_file(path, &n);
    snprintf(buf, cap, "%s", text ? text : "");
    free(text);
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
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

/* The one run directory under res (test_name is empty), or "" when there is none yet. */
static void find_run_dir(const char *res, char *out, size_t cap) {
    out[0] = '\0';
    DIR *d = opendir(res);
    if (!d) return;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(out, cap, "%s/%s", res, e->d_name);
            found++;
        }
    closedir(d);
    assert_true(found <= 1);
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

/* A new run: the fast flags of the tests, then extra (NULL-terminated). */
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

static pid_t spawn(const cmdline *c) {
    spawn_count++;
    fflush(stdout);
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
    return pid;
}

/* Waits for pid: its exit status, or -signal when a signal ended it. Reads its output. */
static int reap(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0) assert_int_equal(errno, EINTR);
    read_into(out_path, out_text, sizeof out_text);
    read_into(err_path, err_text, sizeof err_text);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

static int run(const cmdline *c) { return reap(spawn(c)); }

static void expect_exit(int got, int want, const char *what) {
    if (got != want) fail_msg("%s: exit %d, expected %d\nstdout: %s\nstderr: %s", what, got, want, out_text, err_text);
}

/* ---- comparing two run directories ---------------------------------------------- */

/* metrics.csv: same lines, each the same up to its 24th comma (the 25th column, seconds,
 * is timing); params.txt and the plots byte for byte. */
static void assert_same_run(const char *ref, const char *got, const char *label) {
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/metrics.csv", ref);
    snprintf(b, sizeof b, "%s/metrics.csv", got);
    size_t na, nb;
    char *ta = tu_read_file(a, &na), *tb = tu_read_file(b, &nb);
    assert_non_null(ta);
    assert_non_null(tb);
    long lines = 0;
    char *sa = ta, *sb = tb;
    while (*sa || *sb) {
        char *ea = strchr(sa, '\n'), *eb = strchr(sb, '\n');
        if (!ea || !eb) fail_msg("%s: metrics.csv line %ld: one file ends early or a line is torn", label, lines + 1);
        *ea = *eb = '\0';
        char *ca = sa, *cb = sb;
        for (int commas = 0; commas < 24; commas++) {
            ca = strchr(ca, ',');
            cb = strchr(cb, ',');
            if (!ca || !cb) fail_msg("%s: metrics.csv line %ld has fewer than 25 columns", label, lines + 1);
            ca++, cb++;
        }
        if (ca - sa != cb - sb || memcmp(sa, sb, (size_t)(ca - sa)) != 0)
            fail_msg("%s: metrics.csv line %ld differs:\n  %s\n  %s", label, lines + 1, sa, sb);
        sa = ea + 1, sb = eb + 1;
        lines++;
    }
    free(ta), free(tb);
    int same_files = 1 + 4;
    const char *names[5] = {"params.txt", png_names[0], png_names[1], png_names[2], png_names[3]};
    size_t params_bytes = 0;
    for (int i = 0; i < same_files; i++) {
        snprintf(a, sizeof a, "%s/%s", ref, names[i]);
        snprintf(b, sizeof b, "%s/%s", got, names[i]);
        ta = tu_read_file(a, &na), tb = tu_read_file(b, &nb);
        if (!ta || !tb) fail_msg("%s: %s is missing (%s)", label, names[i], !ta ? a : b);
        if (na != nb || memcmp(ta, tb, na) != 0) fail_msg("%s: %s differs (%zu vs %zu bytes)", label, names[i], na, nb);
        if (i == 0) params_bytes = na;
        free(ta), free(tb);
    }
    printf("  %s: identical to the uninterrupted run: metrics.csv %ld lines (24 columns), params.txt %zu bytes, "
           "4 PNGs\n",
           label, lines, params_bytes);
}

/* ---- shared fixtures -------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *episodes;
    const char *extra[8];
    char ref_dir[4400];       /* uninterrupted run */
    double seconds;           /* its wall time */
    double startup;           /* wall time of a 1-episode run: loading, plotting */
} variant;

static variant fix_variant = {"fix", "100", {NULL}, "", 0, 0};
static variant sym_variant = {"sym --vec 1 2", "40", {"--fbk", "sym", "--vec", "1", "2", NULL}, "", 0, 0};

static void make_reference(variant *v) {
    if (v->ref_dir[0]) return;
    char res[4400];
    snprintf(res, sizeof res, "%s/ref-%s-%c", tmp_root, v->episodes, v->extra[0] ? 's' : 'f');
    cmdline c = new_run(res, v->episodes, v->extra);
    double t0 = now();
    expect_exit(run(&c), 0, "uninterrupted run");
    v->seconds = now() - t0;
    find_run_dir(res, v->ref_dir, sizeof v->ref_dir);
    assert_true(v->ref_dir[0] != '\0');
    snprintf(res, sizeof res, "%s/startup", tmp_root);
    c = new_run(res, "1", v->extra);
    t0 = now();
    expect_exit(run(&c), 0, "1-episode run");
    v->startup = now() - t0;
    tu_rmtree(res);
    printf("  uninterrupted --fbk %s, %s episodes: %.2f s (a 1-episode run: %.2f s)\n", v->name, v->episodes,
           v->seconds, v->startup);
}

static int group_setup(void **state) {
    (void)state;
    tmp_root = tu_mkdtemp();
    if (!tmp_root) return -1;
    snprintf(data_dir, sizeof data_dir, "%s/data", tmp_root);
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", tmp_root);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", tmp_root);
    if (tu_write_fake_emnist(data_dir, 10, 20) != 0) return -1;
    const char *seed = getenv("METAPLAST_TEST_SEED");
    rng_state = seed && *seed ? strtoull(seed, NULL, 10) : ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid());
    if (!rng_state) rng_state = 1;
    printf("kill schedule seed: %llu (METAPLAST_TEST_SEED=%llu replays it)\n", (unsigned long long)rng_state,
           (unsigned long long)rng_state);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    tu_rmtree(tmp_root);
    free(tmp_root);
    printf("%d metaplast processes started\n", spawn_count);
    return 0;
}

/* ---- SIGKILL at random moments ------------------------------------------------------ */

static void describe_run_dir(const char *run_dir, long *ck_out, char *buf, size_t cap) {
    char path[4600];
    if (!run_dir[0]) {
        snprintf(buf, cap, "no run directory yet");
        *ck_out = -1;
        return;
    }
    long ck = checkpoint_episode(run_dir);
    int torn_csv = 0, torn_params = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    long csv = count_lines(path, &torn_csv);
    snprintf(path, sizeof path, "%s/params.txt", run_dir);
    long params = count_lines(path, &torn_params);
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    int args = exists(path);
    snprintf(path, sizeof path, "%s/%s.tmp", run_dir, MP_CHECKPOINT_FILE);
    int tmp = exists(path);
    int pngs = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, png_names[i]);
        pngs += exists(path);
    }
    char ckbuf[64];
    if (ck >= 0) snprintf(ckbuf, sizeof ckbuf, "checkpoint at episode %ld", ck);
    else snprintf(ckbuf, sizeof ckbuf, "no checkpoint");
    snprintf(buf, cap, "%s, args.txt %s, metrics.csv %ld rows%s, params.txt %ld lines%s, %d PNGs%s", ckbuf,
             args ? "present" : "missing", csv > 0 ? csv - 1 : 0, torn_csv ? " + a torn one" : "",
             params < 0 ? 0 : params, torn_params ? " + a torn one" : "", pngs,
             tmp ? ", checkpoint.bin.tmp left over" : "");
    *ck_out = ck;
    /* whatever the moment, what is on disk is consistent with the checkpoint: the log
     * holds the checkpoint's episodes, or one more (killed between the two writes) */
    if (ck >= 0) {
        if (csv - 1 < ck || csv - 1 > ck + 1 || torn_csv) fail_msg("metrics.csv has %ld rows, checkpoint %ld", csv - 1, ck);
        if (params < ck || params > ck + 1 || torn_params) fail_msg("params.txt has %ld lines, checkpoint %ld", params, ck);
    }
}

/* When a kill comes, in one of three ways:
 *   K_RUNDIR    as soon as the new run's directory exists, plus a random part of an
 *               episode: the run has written args.txt but most likely no checkpoint;
 *   K_STARTUP   a random moment of a resume's start (loading data, cutting the logs);
 *   K_PROGRESS  when the checkpoint reaches a random episode, plus a random part of an
 *               episode: anywhere inside an episode, between its two log writes, or
 *               between the log and the checkpoint. */
typedef enum { K_RUNDIR, K_STARTUP, K_PROGRESS } kill_kind;

typedef struct {
    kill_kind kind;
    long target;  /* K_PROGRESS: checkpoint episode to wait for */
    double delay; /* seconds after the trigger (K_STARTUP: after the start) */
} kill_plan;

/* Starts cmd, SIGKILLs it as planned (unless it has finished by then), and prints what
 * the run directory holds afterwards. Returns 1 when the kill landed. */
static int kill_as_planned(const cmdline *c, kill_plan plan, const char *res, int k, long episodes) {
    double t0 = now(), trigger = t0;
    pid_t pid = spawn(c);
    int st = 0, exited = 0;
    char run_dir[4400];
    run_dir[0] = '\0';
    if (plan.kind != K_STARTUP) {
        for (;;) { /* poll every 0.2 ms for the trigger */
            if (waitpid(pid, &st, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            if (!run_dir[0]) find_run_dir(res, run_dir, sizeof run_dir);
            if (plan.kind == K_RUNDIR && run_dir[0]) break;
            if (plan.kind == K_PROGRESS && run_dir[0] && checkpoint_episode(run_dir) >= plan.target) break;
            assert_true(now() - t0 < 30);
            sleep_seconds(0.0002);
        }
        trigger = now();
    }
    if (!exited) {
        sleep_seconds(plan.delay);
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0) assert_int_equal(errno, EINTR);
    }
    double when = now() - t0;
    read_into(out_path, out_text, sizeof out_text);
    read_into(err_path, err_text, sizeof err_text);
    int status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    char state[1024], moment[256];
    long ck;
    find_run_dir(res, run_dir, sizeof run_dir);
    describe_run_dir(run_dir, &ck, state, sizeof state);
    const char *who = c->argv[1] && strcmp(c->argv[1], "--resume") == 0 ? "resume" : "new run";
    if (plan.kind == K_RUNDIR)
        snprintf(moment, sizeof moment, "%.1f ms after the run directory appeared", 1000 * plan.delay);
    else if (plan.kind == K_STARTUP)
        snprintf(moment, sizeof moment, "at a random moment of the start-up (%.0f ms)", 1000 * plan.delay);
    else
        snprintf(moment, sizeof moment, "%.1f ms after checkpoint %ld appeared", 1000 * plan.delay, plan.target);
    if (status == -SIGKILL)
        printf("  kill %d: SIGKILL %s, %.0f ms after the %s started -> %s\n", k, moment, 1000 * when, who, state);
    else
        printf("  kill %d: planned %s, but the %s had exited %d (after %.0f ms) -> %s\n", k, moment, who, status,
               1000 * when, state);
    (void)trigger;
    if (status != -SIGKILL) {
        expect_exit(status, 0, "a run that was not killed");
        assert_int_equal(ck, episodes);
    }
    return status == -SIGKILL;
}

static void kill_and_resume(variant *v, int kills) {
    make_reference(v);
    long episodes = atol(v->episodes);
    double per_episode = (v->seconds - v->startup) / (double)(episodes - 1);
    if (per_episode < 1e-3) per_episode = 1e-3;
    char res[4400], run_dir[4400];
    snprintf(res, sizeof res, "%s/killed-%c", tmp_root, v->extra[0] ? 's' : 'f');
    cmdline fresh = new_run(res, v->episodes, v->extra);

    /* kill 1: as soon as the run directory exists, before the first checkpoint */
    int landed = kill_as_planned(&fresh, (kill_plan){K_RUNDIR, 0, 0.5 * per_episode * uniform()}, res, 1, episodes);
    find_run_dir(res, run_dir, sizeof run_dir);
    long ck = run_dir[0] ? checkpoint_episode(run_dir) : -1;
    if (ck < 0) {
        /* no episode finished: with args.txt there, --resume starts the run over in its
         * directory (checked at the end against the reference); without it there is no
         * run to resume: --resume refuses, naming the file, and a new run starts */
        char args[4600];
        snprintf(args, sizeof args, "%s/args.txt", run_dir);
        if (run_dir[0] && !exists(args)) {
            cmdline r = resume_run(run_dir, NULL);
            int st = run(&r);
            printf("    --resume of that directory: exit %d: %s", st, err_text);
            expect_exit(st, 1, "--resume without args.txt");
            if (!strstr(err_text, run_dir)) fail_msg("the message does not name %s: %s", run_dir, err_text);
            printf("    nothing to resume: starting the run over in a new directory\n");
            tu_rmtree(res);
            run_dir[0] = '\0';
        } else if (run_dir[0]) {
            printf("    no checkpoint yet: --resume starts the run over in that directory\n");
        }
        ck = 0;
    }

    /* kills 2..: alternately inside an episode and during a resume's start */
    for (int k = 2; k <= kills && ck < episodes; k++) {
        cmdline c = run_dir[0] ? resume_run(run_dir, NULL) : fresh;
        kill_plan plan;
        if (run_dir[0] && k % 2 == 1) {
            plan = (kill_plan){K_STARTUP, 0, 0.9 * v->startup * uniform()};
        } else {
            long left = episodes - ck, span = k == kills ? left - 1 : left / 2;
            if (span < 1) span = 1;
            plan = (kill_plan){K_PROGRESS, ck + 1 + (long)(uniform() * (double)span), per_episode * uniform()};
            if (plan.target >= episodes) plan.target = episodes - 1;
        }
        landed += kill_as_planned(&c, plan, res, k, episodes);
        find_run_dir(res, run_dir, sizeof run_dir);
        ck = run_dir[0] ? checkpoint_episode(run_dir) : -1;
        if (ck < 0) {
            tu_rmtree(res);
            run_dir[0] = '\0';
            ck = 0;
        }
    }
    assert_true(landed >= kills - 1);
    /* resume until complete */
    int resumes = 0;
    do {
        cmdline c = run_dir[0] ? resume_run(run_dir, NULL) : fresh;
        expect_exit(run(&c), 0, "the final resume");
        find_run_dir(res, run_dir, sizeof run_dir);
        ck = checkpoint_episode(run_dir);
        assert_true(++resumes <= 2);
    } while (ck < episodes);
    printf("  final resume: exit 0, checkpoint at episode %ld\n", ck);
    assert_same_run(v->ref_dir, run_dir, "killed and resumed");

    /* and once more: the run is complete */
    cmdline c = resume_run(run_dir, NULL);
    expect_exit(run(&c), 0, "resuming a complete run");
    if (!strstr(out_text, "complete")) fail_msg("resuming a complete run should say so: %s", out_text);
    printf("  resuming it again: exit 0: %s", out_text);
    assert_same_run(v->ref_dir, run_dir, "after resuming the complete run");
}

static void test_kill_resume_fix(void **state) {
    (void)state;
    kill_and_resume(&fix_variant, 5);
}

static void test_kill_resume_sym_vec(void **state) {
    (void)state;
    kill_and_resume(&sym_variant, 4);
}

/* ---- SIGINT / SIGTERM ------------------------------------------------------------- */

static void stop_and_resume(int sig) {
    variant *v = &fix_variant;
    make_reference(v);
    long episodes = atol(v->episodes);
    char res[4400], run_dir[4400], path[4600];
    snprintf(res, sizeof res, "%s/signal-%d", tmp_root, sig);
    cmdline c = new_run(res, v->episodes, v->extra);
    long target = 5 + (long)(uniform() * (double)(episodes / 2));
    double t0 = now();
    pid_t pid = spawn(&c);
    /* wait until the run has finished `target` episodes, then signal it */
    run_dir[0] = '\0';
    long ck = -1;
    while (ck < target && now() - t0 < 20) {
        sleep_seconds(0.001);
        if (!run_dir[0]) find_run_dir(res, run_dir, sizeof run_dir);
        if (run_dir[0]) ck = checkpoint_episode(run_dir);
    }
    assert_true(ck >= target);
    kill(pid, sig);
    double sent = now() - t0;
    int status = reap(pid);
    long after = checkpoint_episode(run_dir);
    printf("  %s at %.0f ms (checkpoint at episode %ld): exit %d, stopped after episode %ld\n  stderr: %s",
           sig == SIGINT ? "SIGINT" : "SIGTERM", 1000 * sent, ck, status, after, err_text);
    expect_exit(status, 128 + sig, sig == SIGINT ? "SIGINT" : "SIGTERM");
    char hint[4600];
    snprintf(hint, sizeof hint, "--resume %s", run_dir);
    if (!strstr(err_text, hint)) fail_msg("stderr should say how to resume (%s): %s", hint, err_text);
    assert_true(after >= ck && after < episodes);
    /* the CSV is complete (one whole row per finished episode), the plots are there */
    int torn = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    assert_int_equal(count_lines(path, &torn), after + 1);
    assert_false(torn);
    snprintf(path, sizeof path, "%s/params.txt", run_dir);
    assert_int_equal(count_lines(path, &torn), after);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, png_names[i]);
        size_t n;
        char *png = tu_read_file(path, &n);
        if (!png || n < 8 || memcmp(png, "\x89PNG\r\n\x1a\n", 8) != 0) fail_msg("%s is missing or not a PNG", path);
        free(png);
    }
    printf("  metrics.csv: %ld complete rows; params.txt: %ld lines; 4 PNGs present\n", after, after);
    cmdline r = resume_run(run_dir, NULL);
    expect_exit(run(&r), 0, "resume after a signal");
    assert_same_run(v->ref_dir, run_dir, "stopped and resumed");
}

static void test_sigint(void **state) {
    (void)state;
    stop_and_resume(SIGINT);
}

static void test_sigterm(void **state) {
    (void)state;
    stop_and_resume(SIGTERM);
}

/* ---- extending a finished run ------------------------------------------------------- */

static void test_extend(void **state) {
    (void)state;
    variant *v = &fix_variant;
    make_reference(v);
    char res[4400], run_dir[4400], path[4600];
    snprintf(res, sizeof res, "%s/extend", tmp_root);
    cmdline c = new_run(res, "60", v->extra);
    expect_exit(run(&c), 0, "a 60-episode run");
    find_run_dir(res, run_dir, sizeof run_dir);
    assert_int_equal(checkpoint_episode(run_dir), 60);
    cmdline r = resume_run(run_dir, (const char *const[]){"--episodes", v->episodes, NULL});
    expect_exit(run(&r), 0, "--resume --episodes 100");
    printf("  60 episodes, then --resume --episodes %s: exit 0\n", v->episodes);
    assert_same_run(v->ref_dir, run_dir, "extended 60 -> 100");
    /* args.txt now says 100, so a plain --resume finds the run complete */
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    char *args = tu_read_file(path, NULL);
    assert_non_null(args);
    assert_non_null(strstr(args, "\nepisodes : 100\n"));
    free(args);
    r = resume_run(run_dir, NULL);
    expect_exit(run(&r), 0, "plain --resume after extending");
    assert_non_null(strstr(out_text, "complete"));
}

/* ---- refusals ------------------------------------------------------------------------ */

static void expect_refused(const cmdline *c, int code, const char *const *needles, const char *what) {
    int st = run(c);
    printf("  %-34s exit %d: %s", what, st, err_text[0] ? err_text : "(nothing on stderr)\n");
    expect_exit(st, code, what);
    for (int i = 0; needles[i]; i++)
        if (!strstr(err_text, needles[i])) fail_msg("%s: stderr should mention '%s': %s", what, needles[i], err_text);
}

static void test_refusals(void **state) {
    (void)state;
    char res[4400], run_dir[4400], path[4600], empty[4400], missing[4400];
    snprintf(res, sizeof res, "%s/refuse", tmp_root);
    cmdline c = new_run(res, "5", NULL);
    expect_exit(run(&c), 0, "a 5-episode run");
    find_run_dir(res, run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    size_t ck_len;
    char *ck_before = tu_read_file(path, &ck_len);

#define RESUME(...) resume_run(run_dir, (const char *const[]){__VA_ARGS__, NULL})
#define NEEDS(...) ((const char *const[]){__VA_ARGS__, NULL})
    cmdline r = RESUME("--fbk", "sym");
    expect_refused(&r, 2, NEEDS("--fbk", "fix", "sym"), "--fbk sym on a fix run:");
    r = RESUME("--seed", "9");
    expect_refused(&r, 2, NEEDS("--seed", "3", "9"), "--seed 9 on a seed-3 run:");
    r = RESUME("--vec", "1");
    expect_refused(&r, 2, NEEDS("--vec"), "--vec 1 on a run without:");
    r = RESUME("--K", "6");
    expect_refused(&r, 2, NEEDS("--K"), "--K 6 on a K=5 run:");
    r = RESUME("--episodes", "3");
    expect_refused(&r, 2, NEEDS("--episodes", "3", "5"), "--episodes 3 after 5 finished:");
    r = RESUME("--episodes", "0");
    expect_refused(&r, 2, NEEDS("--episodes"), "--episodes 0:");
    /* the stored values themselves, and flags that change no number, are fine */
    r = RESUME("--seed", "3", "--fbk", "fix", "--K", "5", "--gpu_mode", "1", "--plot_every", "2");
    expect_exit(run(&r), 0, "resume with the stored values");
    assert_non_null(strstr(out_text, "complete"));
    printf("  %-34s exit 0: %s", "--seed 3 --fbk fix --K 5 ...:", out_text);

    /* directories that are not runs */
    snprintf(empty, sizeof empty, "%s/empty-dir", tmp_root);
    assert_int_equal(mkdir(empty, 0755), 0);
    r = resume_run(empty, NULL);
    expect_refused(&r, 1, NEEDS(empty, "args.txt"), "an empty directory:");
    snprintf(missing, sizeof missing, "%s/no-such-dir", tmp_root);
    r = resume_run(missing, NULL);
    expect_refused(&r, 1, NEEDS(missing), "a missing directory:");
    /* args.txt but no checkpoint (a run killed before its first episode finished):
     * the run starts over in that directory */
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    char cmd[9200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/'", path, empty);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
    r = resume_run(empty, NULL);
    expect_exit(run(&r), 0, "resume of a run without a checkpoint");
    assert_non_null(strstr(err_text, "starting the run over"));
    printf("  %-34s exit 0: %s", "args.txt without checkpoint.bin:", err_text);
    assert_true(checkpoint_episode(empty) == 5);
    /* a damaged checkpoint */
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    ck_before[40] ^= 4;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(ck_before, 1, ck_len, f), ck_len);
    fclose(f);
    r = resume_run(run_dir, NULL);
    expect_refused(&r, 1, NEEDS(path, "checksum"), "a checkpoint with a flipped bit:");
    free(ck_before);
#undef RESUME
#undef NEEDS
}

/* ---- a kill while the final plots are drawn ------------------------------------------ */

/* The checkpoint of the last episode is written before the plots: a SIGKILL in between
 * leaves a run whose checkpoint says complete but whose plots are missing or stale.
 * Resuming it must not leave it that way. */
static void test_kill_while_plotting(void **state) {
    (void)state;
    variant *v = &fix_variant;
    make_reference(v);
    char res[4400], run_dir[4400], path[4600];
    snprintf(res, sizeof res, "%s/plotting", tmp_root);
    cmdline c = new_run(res, "20", NULL);
    double t0 = now();
    pid_t pid = spawn(&c);
    run_dir[0] = '\0';
    long ck = -1;
    while (ck < 20 && now() - t0 < 20) {
        if (!run_dir[0]) find_run_dir(res, run_dir, sizeof run_dir);
        if (run_dir[0]) ck = checkpoint_episode(run_dir);
        if (ck < 20) sleep_seconds(0.0002);
    }
    kill(pid, SIGKILL);
    int status = reap(pid);
    int pngs = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, png_names[i]);
        pngs += exists(path);
    }
    printf("  SIGKILL as soon as the checkpoint said 20 of 20 (%.0f ms): %s, %d of 4 PNGs on disk\n",
           1000 * (now() - t0), status == -SIGKILL ? "killed" : "had already exited", pngs);
    if (status != -SIGKILL || pngs == 4) {
        printf("  (the kill missed the plotting window; nothing to check)\n");
        return;
    }
    cmdline r = resume_run(run_dir, NULL);
    int st = run(&r);
    int after = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, png_names[i]);
        after += exists(path);
    }
    printf("  --resume: exit %d, %d of 4 PNGs afterwards: %s", st, after, out_text);
    expect_exit(st, 0, "resume of a run killed while plotting");
    assert_int_equal(after, 4); /* resuming a complete run redraws its plots */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_resume_fix), cmocka_unit_test(test_kill_resume_sym_vec),
        cmocka_unit_test(test_sigint),          cmocka_unit_test(test_sigterm),
        cmocka_unit_test(test_extend),          cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_kill_while_plotting),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
