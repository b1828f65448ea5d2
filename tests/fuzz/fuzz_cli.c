/* libFuzzer target for the command line and for args.txt. The first byte picks the mode:
 *
 *   0  the rest, split at NUL bytes, is argv[1..] for mp_cli_parse (help and errors go
 *      to /dev/null);
 *   1  the rest is the text of an args.txt, read by mp_config_read_args;
 *   2  the rest, split at NUL bytes, is the command line of a --resume, applied with
 *      mp_config_for_resume on top of the stored flags of a default run.
 *
 * Whatever the input: no crash, no leak; an accepted configuration holds only values the
 * flags' ranges allow and survives the trip through args.txt (mp_config_write_args then
 * mp_config_read_args) unchanged; a refused args.txt gives a message naming the file; a
 * --resume that is accepted changed nothing but the flags a resume may change. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "metaplast/cli.h"
#include "metaplast/data.h"
#include "model/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t n);

enum { FUZZ_CLI_MAX_TOKENS = 256 };

/* A file the args.txt modes read through a path: an anonymous memory file when the
 * kernel has memfd_create, else a temporary file (removed at exit). */
typedef struct {
    int fd;
    char path[64];
} fuzz_cli_file;

static char fuzz_cli_tmp_paths[2][64];

static void fuzz_cli_cleanup(void) {
    for (int i = 0; i < 2; i++)
        if (fuzz_cli_tmp_paths[i][0]) unlink(fuzz_cli_tmp_paths[i]);
}

static void fuzz_cli_file_open(fuzz_cli_file *f, int which) {
    if (f->path[0]) return;
#ifdef SYS_memfd_create
    f->fd = (int)syscall(SYS_memfd_create, "metaplast-fuzz-args", 0);
    if (f->fd >= 0) {
        snprintf(f->path, sizeof f->path, "/proc/self/fd/%d", f->fd);
        return;
    }
#endif
    snprintf(f->path, sizeof f->path, "/tmp/metaplast-fuzz-args-%ld-%d-XXXXXX", (long)getpid(), which);
    f->fd = mkstemp(f->path);
    if (f->fd < 0) abort();
    memcpy(fuzz_cli_tmp_paths[which], f->path, sizeof f->path);
    atexit(fuzz_cli_cleanup);
}

static void fuzz_cli_file_set(fuzz_cli_file *f, const uint8_t *bytes, size_t n) {
    if (ftruncate(f->fd, 0) != 0) abort();
    for (size_t done = 0; done < n;) {
        ssize_t w = pwrite(f->fd, bytes + done, n - done, (off_t)done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
}

static FILE *fuzz_cli_devnull(void) {
    static FILE *f;
    if (!f && !(f = fopen("/dev/null", "w"))) abort();
    return f;
}

static int fuzz_cli_terminated(const char *s, size_t cap) { return memchr(s, '\0', cap) != NULL; }

/* Everything an accepted configuration may hold (cli.c's table of flags). */
static void fuzz_cli_check_config(const mp_config *c) {
    int ok = c->gpu_mode >= 0 && c->gpu_mode <= 1 && c->dim >= 1 && c->dim <= 128 && c->episodes >= 1 &&
             c->episodes <= 1000000000L && c->K >= 1 && c->K <= 100000 && c->Q >= 1 && c->Q <= 100000 &&
             c->M >= 1 && c->M <= 10000 && isfinite(c->lamb) && c->lamb >= 0 && isfinite(c->lr_meta) &&
             c->lr_meta > 0 && isfinite(c->a) && c->avg_window >= 1 && c->plot_every >= 0 && c->nvec >= 0 &&
             c->nvec <= MP_MAX_VEC && c->fbk_sym >= 0 && c->fbk_sym <= 1 && c->gradcheck >= 0 &&
             c->gradcheck <= 1 && c->diverge_skip >= 0 && c->diverge_skip <= 1;
    ok = ok && fuzz_cli_terminated(c->database, sizeof c->database) &&
         fuzz_cli_terminated(c->test_name, sizeof c->test_name) && fuzz_cli_terminated(c->res, sizeof c->res) &&
         fuzz_cli_terminated(c->data_dir, sizeof c->data_dir) && fuzz_cli_terminated(c->resume, sizeof c->resume) &&
         fuzz_cli_terminated(c->run_dir, sizeof c->run_dir) &&
         fuzz_cli_terminated(c->classes, sizeof c->classes) && fuzz_cli_terminated(c->images, sizeof c->images) &&
         fuzz_cli_terminated(c->labels, sizeof c->labels) && c->eval_n >= 0 && c->eval_tasks >= 2 &&
         c->eval_every >= 1;
    if (!ok) abort();
    if (!mp_database_known(c->database) || !c->res[0] || !c->data_dir[0]) abort();
    /* --run_dir says where the run is: never beside --resume */
    if (c->run_dir[0] && c->resume[0]) abort();
    /* the database "idx" is a user's pair: both paths, and only then */
    if ((strcmp(c->database, "idx") == 0) != (c->images[0] && c->labels[0])) abort();
    for (int i = 0; i < c->nvec; i++) {
        if (!mp_rule_is_selectable(c->vec[i])) abort();
        for (int j = 0; j < i; j++)
            if (c->vec[j] == c->vec[i]) abort();
    }
    for (int i = c->nvec; i < MP_MAX_VEC; i++)
        if (c->vec[i] != 0) abort();
}

/* args.txt written from an accepted configuration reads back as the same configuration. */
static void fuzz_cli_round_trip(const mp_config *c) {
    static fuzz_cli_file out = {-1, ""};
    fuzz_cli_file_open(&out, 1);
    FILE *f = fopen(out.path, "w");
    if (!f) abort();
    if (mp_config_write_args(c, f) != 0) abort();
    if (fclose(f) != 0) abort();
    mp_config back;
    mp_err err;
    if (mp_config_read_args(out.path, &back, &err) != 0) {
        fprintf(stderr, "args.txt round trip refused: %s\n", err.msg);
        abort();
    }
    /* args.txt holds a run's flags: not which the command line gave, nor --eval's */
    mp_config run = *c, defaults;
    mp_config_defaults(&defaults);
    run.given = 0;
    run.eval_dirs = NULL;
    run.eval_first = NULL;
    run.eval_n = 0;
    run.eval_tasks = defaults.eval_tasks, run.eval_seed = defaults.eval_seed, run.eval_every = defaults.eval_every;
    if (memcmp(&back, &run, sizeof back) != 0) {
        fprintf(stderr, "args.txt round trip changed the configuration\n");
        abort();
    }
}

/* Splits bytes at NUL into argv[1..]; argv[0] is the program. Each token gets its own
 * allocation of exactly its length, so ASan sees a read past its end. */
static int fuzz_cli_split(const uint8_t *bytes, size_t n, char **argv) {
    int argc = 0;
    argv[argc++] = strdup("metaplast");
    size_t start = 0;
    for (size_t i = 0; i <= n && argc < FUZZ_CLI_MAX_TOKENS; i++) {
        if (i < n && bytes[i] != '\0') continue;
        if (i == n && start == n && n > 0) break; /* a trailing NUL ends the last token */
        size_t len = i - start;
        char *tok = malloc(len + 1);
        if (!tok) abort();
        memcpy(tok, bytes + start, len);
        tok[len] = '\0';
        argv[argc++] = tok;
        start = i + 1;
    }
    argv[argc] = NULL;
    return argc;
}

static void fuzz_cli_argv(const uint8_t *bytes, size_t n) {
    char *argv[FUZZ_CLI_MAX_TOKENS + 1];
    int argc = n ? fuzz_cli_split(bytes, n, argv) : 1;
    if (!n) argv[0] = strdup("metaplast"), argv[1] = NULL;
    mp_config cfg;
    int rc = mp_cli_parse(argc, argv, &cfg, fuzz_cli_devnull(), fuzz_cli_devnull());
    if (rc != MP_CLI_RUN && rc != MP_CLI_HELP && rc != MP_CLI_ERROR) abort();
    if (rc == MP_CLI_RUN) {
        fuzz_cli_check_config(&cfg);
        fuzz_cli_round_trip(&cfg);
    }
    for (int i = 0; i < argc; i++) free(argv[i]);
}

static void fuzz_cli_args_file(const uint8_t *bytes, size_t n) {
    static fuzz_cli_file in = {-1, ""};
    fuzz_cli_file_open(&in, 0);
    fuzz_cli_file_set(&in, bytes, n);
    mp_config cfg;
    mp_err err;
    err.msg[0] = '\0';
    if (mp_config_read_args(in.path, &cfg, &err) == 0) {
        fuzz_cli_check_config(&cfg);
        fuzz_cli_round_trip(&cfg);
    } else if (!strstr(err.msg, in.path)) {
        fprintf(stderr, "message without the file's name: %s\n", err.msg);
        abort();
    }
}

/* Fields a --resume must keep: what mp_config_binding prints (every flag the table does
 * not mark resumable, but for where the run is), and where the run is. */
static int fuzz_cli_same_numbers(const mp_config *a, const mp_config *b) {
    static char ta[8192], tb[8192];
    if (mp_config_binding(a, ta, sizeof ta) != 0 || mp_config_binding(b, tb, sizeof tb) != 0) abort();
    return strcmp(ta, tb) == 0 && strcmp(a->res, b->res) == 0 && strcmp(a->test_name, b->test_name) == 0;
}

static void fuzz_cli_resume(const uint8_t *bytes, size_t n) {
    char *argv[FUZZ_CLI_MAX_TOKENS + 1];
    int argc = n ? fuzz_cli_split(bytes, n, argv) : 1;
    if (!n) argv[0] = strdup("metaplast"), argv[1] = NULL;
    mp_config stored, out;
    mp_config_defaults(&stored);
    mp_err err;
    err.msg[0] = '\0';
    if (mp_config_for_resume(argc, argv, &stored, &out, &err) == 0) {
        fuzz_cli_check_config(&out);
        if (!fuzz_cli_same_numbers(&stored, &out)) abort();
    } else if (!err.msg[0]) {
        abort();
    }
    for (int i = 0; i < argc; i++) free(argv[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t n) {
    if (n == 0) return 0;
    switch (bytes[0] % 3) {
    case 0: fuzz_cli_argv(bytes + 1, n - 1); break;
    case 1: fuzz_cli_args_file(bytes + 1, n - 1); break;
    default: fuzz_cli_resume(bytes + 1, n - 1); break;
    }
    return 0;
}
