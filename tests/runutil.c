#include "runutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"

const char *const ru_png_names[4] = {"meta_accuracy.png", "meta_angle.png", "meta_loss.png", "meta_params.png"};

char ru_data_dir[4200];
char ru_out_text[65536], ru_err_text[65536];
double ru_last_seconds;
long ru_last_maxrss_kb;
int ru_spawned;

static char out_path[4200], err_path[4200];
static double started; /* when ru_start last started a child */

/* dir/name into buf; fails the test when it does not fit. */
static void join(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) fail_msg("path too long: %s/%s", dir, name);
}

int ru_setup(const char *root) {
    int a = snprintf(ru_data_dir, sizeof ru_data_dir, "%s/data", root);
    int b = snprintf(out_path, sizeof out_path, "%s/stdout.txt", root);
    int c = snprintf(err_path, sizeof err_path, "%s/stderr.txt", root);
    if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof ru_data_dir || (size_t)b >= sizeof out_path ||
        (size_t)c >= sizeof err_path)
        return -1;
    return tu_write_fake_emnist(ru_data_dir, 10, 20);
}

/* ---- command lines ---------------------------------------------------------------- */

void ru_cmd_add(ru_cmdline *c, const char *arg) {
    assert_true(c->argc < 63);
    c->argv[c->argc++] = arg;
    c->argv[c->argc] = NULL;
}

ru_cmdline ru_new_run(const char *res, const char *episodes, const char *const *extra) {
    ru_cmdline c = {.argc = 0};
    const char *base[] = {tu_binary(), "--database", "emnist_bymerge", "--data_dir", ru_data_dir, "--res", res,
                          "--gpu_mode", "0", "--K", "5", "--Q", "2", "--M", "3", "--episodes", episodes,
                          "--seed", "3", NULL};
    for (int i = 0; base[i]; i++) ru_cmd_add(&c, base[i]);
    for (int i = 0; extra && extra[i]; i++) ru_cmd_add(&c, extra[i]);
    return c;
}

ru_cmdline ru_resume_run(const char *run_dir, const char *const *extra) {
    ru_cmdline c = {.argc = 0};
    ru_cmd_add(&c, tu_binary());
    ru_cmd_add(&c, "--resume");
    ru_cmd_add(&c, run_dir);
    for (int i = 0; extra && extra[i]; i++) ru_cmd_add(&c, extra[i]);
    return c;
}

/* ---- running ---------------------------------------------------------------------- */

pid_t ru_start(const char *const *argv, const char *out, const char *err, const char *const *env) {
    unlink(out), unlink(err);
    fflush(stdout), fflush(stderr);
    ru_spawned++;
    started = tu_now();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (o < 0 || e < 0) _exit(126);
        dup2(o, 1), dup2(e, 2);
        close(o), close(e);
        for (int i = 0; env && env[i]; i++) putenv((char *)env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

pid_t ru_spawn(const ru_cmdline *c) { return ru_start(c->argv, out_path, err_path, NULL); }

static void read_into(const char *path, char *buf, size_t cap) {
    char *text = tu_read_file(path, NULL);
    snprintf(buf, cap, "%s", text ? text : "");
    free(text);
}

/* wait4 with options; 1 and *status (exit code or -signal) when pid has ended. */
static int wait_for(pid_t pid, int options, int *status) {
    int st;
    struct rusage ru;
    pid_t got;
    while ((got = wait4(pid, &st, options, &ru)) < 0) assert_int_equal(errno, EINTR);
    if (got == 0) return 0;
    ru_last_seconds = tu_now() - started;
    ru_last_maxrss_kb = ru.ru_maxrss;
    read_into(out_path, ru_out_text, sizeof ru_out_text);
    read_into(err_path, ru_err_text, sizeof ru_err_text);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return 1;
}

int ru_reap(pid_t pid) {
    int status = 0;
    wait_for(pid, 0, &status);
    return status;
}

int ru_try_reap(pid_t pid, int *status) { return wait_for(pid, WNOHANG, status); }

int ru_run(const ru_cmdline *c) { return ru_reap(ru_spawn(c)); }

void ru_expect_exit(int got, int want, const char *what) {
    if (got != want)
        fail_msg("%s: exit %d, expected %d\nstdout: %s\nstderr: %s", what, got, want, ru_out_text, ru_err_text);
}

void ru_expect_failure(const ru_cmdline *c, int code, const char *const *needles, const char *what) {
    int st = ru_run(c);
    printf("  %s: exit %d (%.2f s)\n    %s", what, st, ru_last_seconds,
           ru_err_text[0] ? ru_err_text : "(nothing on stderr)\n");
    ru_expect_exit(st, code, what);
    for (int i = 0; needles[i]; i++)
        if (!strstr(ru_err_text, needles[i]))
            fail_msg("%s: stderr should mention '%s': %s", what, needles[i], ru_err_text);
}

void ru_complete_run(const char *res, const char *episodes, const char *const *extra, const char *what,
                     char *run_dir, size_t cap) {
    ru_cmdline c = ru_new_run(res, episodes, extra);
    ru_expect_exit(ru_run(&c), 0, what);
    ru_find_run_dir(res, run_dir, cap);
    if (!run_dir[0]) fail_msg("%s: no run directory under %s", what, res);
}

/* ---- run directories -------------------------------------------------------------- */

long ru_checkpoint_episode(const char *run_dir) {
    mp_checkpoint ck;
    mp_err err;
    return mp_checkpoint_load(run_dir, &ck, &err) == 0 ? ck.episode : -1;
}

/* The run directory's name is the time stamp alone (no --test_name), hence one per res
 * as the tests use it. */
void ru_find_run_dir(const char *res, char *out, size_t cap) {
    out[0] = '\0';
    DIR *d = opendir(res);
    if (!d) return;
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            join(out, cap, res, e->d_name);
            found++;
        }
    closedir(d);
    if (found > 1) fail_msg("%d entries under %s, expected one run directory", found, res);
}

long ru_assert_same_metrics(const char *ref_dir, const char *got_dir, long lines, const char *label) {
    char a[4400], b[4400];
    join(a, sizeof a, ref_dir, "metrics.csv");
    join(b, sizeof b, got_dir, "metrics.csv");
    char *ta = tu_read_file(a, NULL), *tb = tu_read_file(b, NULL);
    if (!ta || !tb) fail_msg("%s: %s is missing", label, !ta ? a : b);
    long n = 0;
    for (char *sa = ta, *sb = tb; lines < 0 ? (*sa || *sb) : n < lines; n++) {
        char *ea = strchr(sa, '\n'), *eb = strchr(sb, '\n');
        if (!ea || !eb) fail_msg("%s: metrics.csv line %ld: one file ends early or a line is torn", label, n + 1);
        *ea = *eb = '\0';
        /* everything up to the last comma: the last column, seconds, is timing */
        const char *ca = strrchr(sa, ','), *cb = strrchr(sb, ',');
        if (!ca || !cb || tu_count_char(sa, ',') != RU_CSV_COLUMNS - 1)
            fail_msg("%s: metrics.csv line %ld does not have %d columns: %s", label, n + 1, RU_CSV_COLUMNS,
                     !ca || tu_count_char(sa, ',') != RU_CSV_COLUMNS - 1 ? sa : sb);
        if (ca - sa != cb - sb || memcmp(sa, sb, (size_t)(ca - sa)) != 0)
            fail_msg("%s: metrics.csv line %ld differs:\n  %s\n  %s", label, n + 1, sa, sb);
        sa = ea + 1, sb = eb + 1;
    }
    free(ta), free(tb);
    return n;
}

void ru_assert_same_run(const char *ref_dir, const char *got_dir, const char *label) {
    long lines = ru_assert_same_metrics(ref_dir, got_dir, -1, label);
    const char *names[5] = {"params.txt", ru_png_names[0], ru_png_names[1], ru_png_names[2], ru_png_names[3]};
    size_t params_bytes = 0;
    for (int i = 0; i < 5; i++) {
        char a[4400], b[4400];
        size_t na = 0, nb = 0;
        join(a, sizeof a, ref_dir, names[i]);
        join(b, sizeof b, got_dir, names[i]);
        char *ta = tu_read_file(a, &na), *tb = tu_read_file(b, &nb);
        if (!ta || !tb) fail_msg("%s: %s is missing (%s)", label, names[i], !ta ? a : b);
        if (na != nb || memcmp(ta, tb, na) != 0) fail_msg("%s: %s differs (%zu vs %zu bytes)", label, names[i], na, nb);
        if (i == 0) params_bytes = na;
        free(ta), free(tb);
    }
    printf("  %s: identical to the uninterrupted run: metrics.csv %ld lines (%d columns), params.txt %zu bytes, "
           "4 PNGs\n",
           label, lines, RU_CSV_COLUMNS - 1, params_bytes);
}

void ru_assert_pngs(const char *run_dir) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    for (int i = 0; i < 4; i++) {
        char path[4400];
        join(path, sizeof path, run_dir, ru_png_names[i]);
        size_t len = 0;
        char *png = tu_read_file(path, &len);
        if (!png) fail_msg("no %s", path);
        if (len < 1000 || memcmp(png, sig, 8) != 0) fail_msg("%s: not a PNG (%zu bytes)", path, len);
        free(png);
    }
}
