/* --resume, end to end on the metaplast binary: a run killed with SIGKILL at random moments
 * (one of them before the first checkpoint exists) and resumed each time until it is
 * complete gives metrics.csv (all but the timing column), params.txt and the four plots
 * byte for byte as the run that was never interrupted; likewise after SIGINT and SIGTERM
 * (exit 130/143, the message says how to resume, the CSV is complete and the plots are
 * there). Also: resuming a complete run says so and exits 0; a raised --episodes extends
 * a finished run exactly as an uninterrupted longer run; flags that contradict the stored
 * ones, too few --episodes, and directories that are not runs are refused, and so is a run
 * of metaplast 0.1 (5 thetas), told by any one of its files, which it leaves as they were.
 *
 * The kill moments are random: the program prints the seed (set METAPLAST_TEST_SEED to
 * replay a schedule) and, for each kill, when it came and what the run directory held. */
#include "runutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "metaplast/checkpoint.h"
#include "metaplast/runlog.h"

#define EPISODES_FIX 100 /* long enough that random kills land mid-run */
#define EPISODES_SYM 40

static char *tmp_root; /* everything this program writes */
static uint64_t rng_state;

/* ---- small helpers --------------------------------------------------------------- */

static double uniform(void) { /* xorshift64*: the schedule must not depend on libc */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* How many of the four plots run_dir holds. */
static int count_pngs(const char *run_dir) {
    char path[4600];
    int pngs = 0;
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", run_dir, ru_png_names[i]);
        pngs += tu_exists(path);
    }
    return pngs;
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
    ru_complete_run(res, v->episodes, v->extra, "uninterrupted run", v->ref_dir, sizeof v->ref_dir);
    v->seconds = ru_last_seconds;
    snprintf(res, sizeof res, "%s/startup", tmp_root);
    ru_cmdline c = ru_new_run(res, "1", v->extra);
    ru_expect_exit(ru_run(&c), 0, "1-episode run");
    v->startup = ru_last_seconds;
    tu_rmtree(res);
    printf("  uninterrupted --fbk %s, %s episodes: %.2f s (a 1-episode run: %.2f s)\n", v->name, v->episodes,
           v->seconds, v->startup);
}

static int group_setup(void **state) {
    (void)state;
    tmp_root = tu_mkdtemp();
    if (!tmp_root || ru_setup(tmp_root) != 0) return -1;
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
    printf("%d metaplast processes started\n", ru_spawned);
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
    long ck = ru_checkpoint_episode(run_dir);
    int torn_csv = 0, torn_params = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    long csv = tu_count_lines(path, &torn_csv);
    snprintf(path, sizeof path, "%s/params.txt", run_dir);
    long params = tu_count_lines(path, &torn_params);
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    int args = tu_exists(path);
    snprintf(path, sizeof path, "%s/%s.tmp", run_dir, MP_CHECKPOINT_FILE);
    int tmp = tu_exists(path);
    int pngs = count_pngs(run_dir);
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
static int kill_as_planned(const ru_cmdline *c, kill_plan plan, const char *res, int k, long episodes) {
    double t0 = tu_now(), trigger = t0;
    pid_t pid = ru_spawn(c);
    int status = 0, exited = 0;
    char run_dir[4400];
    run_dir[0] = '\0';
    if (plan.kind != K_STARTUP) {
        for (;;) { /* poll every 0.2 ms for the trigger */
            if (ru_try_reap(pid, &status)) {
                exited = 1;
                break;
            }
            if (!run_dir[0]) ru_find_run_dir(res, run_dir, sizeof run_dir);
            if (plan.kind == K_RUNDIR && run_dir[0]) break;
            if (plan.kind == K_PROGRESS && run_dir[0] && ru_checkpoint_episode(run_dir) >= plan.target) break;
            assert_true(tu_now() - t0 < 30);
            tu_sleep(0.0002);
        }
        trigger = tu_now();
    }
    if (!exited) {
        tu_sleep(plan.delay);
        kill(pid, SIGKILL);
        status = ru_reap(pid);
    }
    double when = tu_now() - t0;
    char state[1024], moment[256];
    long ck;
    ru_find_run_dir(res, run_dir, sizeof run_dir);
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
        ru_expect_exit(status, 0, "a run that was not killed");
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
    ru_cmdline fresh = ru_new_run(res, v->episodes, v->extra);

    /* kill 1: as soon as the run directory exists, before the first checkpoint */
    int landed = kill_as_planned(&fresh, (kill_plan){K_RUNDIR, 0, 0.5 * per_episode * uniform()}, res, 1, episodes);
    ru_find_run_dir(res, run_dir, sizeof run_dir);
    long ck = run_dir[0] ? ru_checkpoint_episode(run_dir) : -1;
    if (ck < 0) {
        /* no episode finished: with args.txt there, --resume starts the run over in its
         * directory (checked at the end against the reference); without it there is no
         * run to resume: --resume refuses, naming the file, and a new run starts */
        char args[4600];
        snprintf(args, sizeof args, "%s/args.txt", run_dir);
        if (run_dir[0] && !tu_exists(args)) {
            ru_cmdline r = ru_resume_run(run_dir, NULL);
            int st = ru_run(&r);
            printf("    --resume of that directory: exit %d: %s", st, ru_err_text);
            ru_expect_exit(st, 1, "--resume without args.txt");
            if (!strstr(ru_err_text, run_dir)) fail_msg("the message does not name %s: %s", run_dir, ru_err_text);
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
        ru_cmdline c = run_dir[0] ? ru_resume_run(run_dir, NULL) : fresh;
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
        ru_find_run_dir(res, run_dir, sizeof run_dir);
        ck = run_dir[0] ? ru_checkpoint_episode(run_dir) : -1;
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
        ru_cmdline c = run_dir[0] ? ru_resume_run(run_dir, NULL) : fresh;
        ru_expect_exit(ru_run(&c), 0, "the final resume");
        ru_find_run_dir(res, run_dir, sizeof run_dir);
        ck = ru_checkpoint_episode(run_dir);
        assert_true(++resumes <= 2);
    } while (ck < episodes);
    printf("  final resume: exit 0, checkpoint at episode %ld\n", ck);
    ru_assert_same_run(v->ref_dir, run_dir, "killed and resumed");

    /* and once more: the run is complete */
    ru_cmdline c = ru_resume_run(run_dir, NULL);
    ru_expect_exit(ru_run(&c), 0, "resuming a complete run");
    if (!strstr(ru_out_text, "complete")) fail_msg("resuming a complete run should say so: %s", ru_out_text);
    printf("  resuming it again: exit 0: %s", ru_out_text);
    ru_assert_same_run(v->ref_dir, run_dir, "after resuming the complete run");
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
    ru_cmdline c = ru_new_run(res, v->episodes, v->extra);
    long target = 5 + (long)(uniform() * (double)(episodes / 2));
    double t0 = tu_now();
    pid_t pid = ru_spawn(&c);
    /* wait until the run has finished `target` episodes, then signal it */
    run_dir[0] = '\0';
    long ck = -1;
    while (ck < target && tu_now() - t0 < 20) {
        tu_sleep(0.001);
        if (!run_dir[0]) ru_find_run_dir(res, run_dir, sizeof run_dir);
        if (run_dir[0]) ck = ru_checkpoint_episode(run_dir);
    }
    assert_true(ck >= target);
    kill(pid, sig);
    double sent = tu_now() - t0;
    int status = ru_reap(pid);
    long after = ru_checkpoint_episode(run_dir);
    printf("  %s at %.0f ms (checkpoint at episode %ld): exit %d, stopped after episode %ld\n  stderr: %s",
           sig == SIGINT ? "SIGINT" : "SIGTERM", 1000 * sent, ck, status, after, ru_err_text);
    ru_expect_exit(status, 128 + sig, sig == SIGINT ? "SIGINT" : "SIGTERM");
    char hint[4600];
    snprintf(hint, sizeof hint, "--resume %s", run_dir);
    if (!strstr(ru_err_text, hint)) fail_msg("stderr should say how to resume (%s): %s", hint, ru_err_text);
    assert_true(after >= ck && after < episodes);
    /* the CSV is complete (one whole row per finished episode), the plots are there */
    int torn = 0;
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    assert_int_equal(tu_count_lines(path, &torn), after + 1);
    assert_false(torn);
    snprintf(path, sizeof path, "%s/params.txt", run_dir);
    assert_int_equal(tu_count_lines(path, &torn), after);
    ru_assert_pngs(run_dir);
    printf("  metrics.csv: %ld complete rows; params.txt: %ld lines; 4 PNGs present\n", after, after);
    ru_cmdline r = ru_resume_run(run_dir, NULL);
    ru_expect_exit(ru_run(&r), 0, "resume after a signal");
    ru_assert_same_run(v->ref_dir, run_dir, "stopped and resumed");
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
    ru_complete_run(res, "60", v->extra, "a 60-episode run", run_dir, sizeof run_dir);
    assert_int_equal(ru_checkpoint_episode(run_dir), 60);
    ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", v->episodes));
    ru_expect_exit(ru_run(&r), 0, "--resume --episodes 100");
    printf("  60 episodes, then --resume --episodes %s: exit 0\n", v->episodes);
    ru_assert_same_run(v->ref_dir, run_dir, "extended 60 -> 100");
    /* args.txt now says 100, so a plain --resume finds the run complete */
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    char *args = tu_read_file(path, NULL);
    assert_non_null(args);
    assert_non_null(strstr(args, "\nepisodes : 100\n"));
    free(args);
    r = ru_resume_run(run_dir, NULL);
    ru_expect_exit(ru_run(&r), 0, "plain --resume after extending");
    assert_non_null(strstr(ru_out_text, "complete"));
}

/* ---- refusals ------------------------------------------------------------------------ */

static void test_refusals(void **state) {
    (void)state;
    char res[4400], run_dir[4400], path[4600], empty[4400], missing[4400];
    snprintf(res, sizeof res, "%s/refuse", tmp_root);
    ru_complete_run(res, "5", NULL, "a 5-episode run", run_dir, sizeof run_dir);
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    size_t ck_len;
    char *ck_before = tu_read_file(path, &ck_len);

#define RESUME(...) ru_resume_run(run_dir, RU_LIST(__VA_ARGS__))
    ru_cmdline r = RESUME("--fbk", "sym");
    ru_expect_failure(&r, 2, RU_LIST("--fbk", "fix", "sym"), "--fbk sym on a fix run");
    r = RESUME("--seed", "9");
    ru_expect_failure(&r, 2, RU_LIST("--seed", "3", "9"), "--seed 9 on a seed-3 run");
    r = RESUME("--vec", "1");
    ru_expect_failure(&r, 2, RU_LIST("--vec"), "--vec 1 on a run without");
    r = RESUME("--K", "6");
    ru_expect_failure(&r, 2, RU_LIST("--K"), "--K 6 on a K=5 run");
    r = RESUME("--episodes", "3");
    ru_expect_failure(&r, 2, RU_LIST("--episodes", "3", "5"), "--episodes 3 after 5 finished");
    r = RESUME("--episodes", "0");
    ru_expect_failure(&r, 2, RU_LIST("--episodes"), "--episodes 0");
    /* the stored values themselves, and flags that change no number, are fine */
    r = RESUME("--seed", "3", "--fbk", "fix", "--K", "5", "--gpu_mode", "1", "--plot_every", "2", "--threads", "1");
    ru_expect_exit(ru_run(&r), 0, "resume with the stored values");
    assert_non_null(strstr(ru_out_text, "complete"));
    printf("  %s: exit 0 (%.2f s)\n    %s", "--seed 3 --fbk fix --K 5 ...", ru_last_seconds, ru_out_text);

    /* directories that are not runs */
    snprintf(empty, sizeof empty, "%s/empty-dir", tmp_root);
    assert_int_equal(mkdir(empty, 0755), 0);
    r = ru_resume_run(empty, NULL);
    ru_expect_failure(&r, 1, RU_LIST(empty, "args.txt"), "an empty directory");
    snprintf(missing, sizeof missing, "%s/no-such-dir", tmp_root);
    r = ru_resume_run(missing, NULL);
    ru_expect_failure(&r, 1, RU_LIST(missing), "a missing directory");
    /* args.txt but no checkpoint (a run killed before its first episode finished):
     * the run starts over in that directory */
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    char cmd[9200];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/'", path, empty);
    assert_int_equal(tu_run(cmd, NULL, 0), 0);
    r = ru_resume_run(empty, NULL);
    ru_expect_exit(ru_run(&r), 0, "resume of a run without a checkpoint");
    assert_non_null(strstr(ru_err_text, "no episode had finished"));
    printf("  %s: exit 0 (%.2f s)\n    %s", "args.txt without checkpoint.bin", ru_last_seconds, ru_err_text);
    assert_true(ru_checkpoint_episode(empty) == 5);
    /* a damaged checkpoint */
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    ck_before[40] ^= 4;
    assert_int_equal(tu_write_file(path, ck_before, ck_len), 0);
    r = ru_resume_run(run_dir, NULL);
    ru_expect_failure(&r, 1, RU_LIST(path, "checksum"), "a checkpoint with a flipped bit");
    free(ck_before);
#undef RESUME
}

/* ---- a run of metaplast 0.1 ---------------------------------------------------------- */

/* What metaplast 0.1 (5 thetas) wrote, each file alone in an otherwise current run:
 * args.txt with version 0.1.0 and no --diverge, metrics.csv with the 25 columns, a
 * version 2 checkpoint. Each is refused (exit 1) with the reason, nothing is changed. */
static void test_before_pool_refused(void **state) {
    (void)state;
    for (int which = 0; which < 3; which++) {
        char res[4400], run_dir[4400], path[4600];
        snprintf(res, sizeof res, "%s/before-pool-%d", tmp_root, which);
        ru_complete_run(res, "3", NULL, "a 3-episode run", run_dir, sizeof run_dir);
        const char *file = which == 0 ? "args.txt" : which == 1 ? "metrics.csv" : MP_CHECKPOINT_FILE;
        snprintf(path, sizeof path, "%s/%s", run_dir, file);
        size_t len;
        char *text = tu_read_file(path, &len), *out = malloc(len + 2048);
        size_t n = 0;
        if (which == 0) { /* every line but --diverge's, the version 0.1.0 */
            for (char *line = text, *nl; (nl = strchr(line, '\n')); line = nl + 1) {
                if (strncmp(line, "diverge : ", 10) == 0) continue;
                if (strncmp(line, "version : ", 10) == 0) {
                    n += (size_t)sprintf(out + n, "version : 0.1.0\n");
                    continue;
                }
                memcpy(out + n, line, (size_t)(nl - line + 1));
                n += (size_t)(nl - line + 1);
            }
        } else if (which == 1) { /* the old header over the rows */
            n = (size_t)sprintf(out, "%s", mp_csv_header_before_pool);
            char *rows = strchr(text, '\n') + 1;
            memcpy(out + n, rows, len - (size_t)(rows - text));
            n += len - (size_t)(rows - text);
        } else { /* version 2: magic, version, length, the 5-theta payload, CRC */
            memcpy(out, "MPLASTCK\2\0\0\0", 12);
            uint32_t payload = 8 + 5 * 8 * 3 + 8 + 4 * 8 + MP_CHECKPOINT_BINDING;
            for (int b = 0; b < 4; b++) out[12 + b] = (char)(payload >> (8 * b));
            memset(out + 16, 0, payload);
            n = 16 + payload;
            uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), (const unsigned char *)out, (uInt)n);
            for (int b = 0; b < 4; b++) out[n++] = (char)(crc >> (8 * b));
        }
        assert_int_equal(tu_write_file(path, out, n), 0);
        char what[64];
        snprintf(what, sizeof what, "metaplast 0.1's %s", file);
        ru_cmdline r = ru_resume_run(run_dir, RU_LIST("--episodes", "6"));
        ru_expect_failure(&r, 1, RU_LIST(path, "before the rule pool", "finish it with the metaplast that started it"),
                          what);
        size_t after_len;
        char *after = tu_read_file(path, &after_len);
        assert_true(after_len == n && memcmp(after, out, n) == 0);
        assert_true(ru_checkpoint_episode(run_dir) == (which == 2 ? -1 : 3));
        free(after);
        free(text);
        free(out);
    }
}

/* ---- a kill while the final plots are drawn ------------------------------------------ */

/* The checkpoint of the last episode is written before the plots: a SIGKILL in between
 * leaves a run whose checkpoint says complete but whose plots are missing or stale.
 * Resuming it must not leave it that way. */
static void test_kill_while_plotting(void **state) {
    (void)state;
    variant *v = &fix_variant;
    make_reference(v);
    char res[4400], run_dir[4400];
    snprintf(res, sizeof res, "%s/plotting", tmp_root);
    ru_cmdline c = ru_new_run(res, "20", NULL);
    double t0 = tu_now();
    pid_t pid = ru_spawn(&c);
    run_dir[0] = '\0';
    long ck = -1;
    while (ck < 20 && tu_now() - t0 < 20) {
        if (!run_dir[0]) ru_find_run_dir(res, run_dir, sizeof run_dir);
        if (run_dir[0]) ck = ru_checkpoint_episode(run_dir);
        if (ck < 20) tu_sleep(0.0002);
    }
    kill(pid, SIGKILL);
    int status = ru_reap(pid);
    int pngs = count_pngs(run_dir);
    printf("  SIGKILL as soon as the checkpoint said 20 of 20 (%.0f ms): %s, %d of 4 PNGs on disk\n",
           1000 * (tu_now() - t0), status == -SIGKILL ? "killed" : "had already exited", pngs);
    if (status != -SIGKILL || pngs == 4) {
        printf("  (the kill missed the plotting window; nothing to check)\n");
        return;
    }
    ru_cmdline r = ru_resume_run(run_dir, NULL);
    int st = ru_run(&r);
    int after = count_pngs(run_dir);
    printf("  --resume: exit %d, %d of 4 PNGs afterwards: %s", st, after, ru_out_text);
    ru_expect_exit(st, 0, "resume of a run killed while plotting");
    assert_int_equal(after, 4); /* resuming a complete run redraws its plots */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_resume_fix), cmocka_unit_test(test_kill_resume_sym_vec),
        cmocka_unit_test(test_sigint),          cmocka_unit_test(test_sigterm),
        cmocka_unit_test(test_extend),          cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_kill_while_plotting), cmocka_unit_test(test_before_pool_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
