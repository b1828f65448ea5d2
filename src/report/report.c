/* The report over many runs (README, "Report over many runs"): finds the run directories
 * under the DIRs it is given, groups the runs that differ only in --seed, and writes, into
 * a new directory, per-group statistics across seeds (summary.csv), per-episode means and
 * sds (group_<g>.csv), what it made of every run (runs.csv) and of every meta-test
 * directory (evals.csv), and the figures (figures.c).
 *
 * A group is the runs whose binding (the "name : value" lines of every number-changing
 * flag and the data's fingerprints, as --resume checks them) is the same but for the seed
 * line, and whose --episodes and --diverge agree: the binding is rebuilt from args.txt with
 * mp_config_binding, so a flag added to the flag table splits groups without a change
 * here, and a run's data directory (not in the binding) does not. A run is read only when
 * it is of this version and its args.txt still gives its binding_crc32, so nothing of
 * another version or a hand-edited file is mixed in, and only when its metrics.csv's theta
 * chain holds (mp_trainer_theta_chain: no data needed; the accuracy and loss columns are
 * trusted) and, finished, its checkpoint follows from its rows; each left-out run is named,
 * with why. A meta-test's row counts for a run only when the theta it judged is the run's
 * final theta. */
#include "metaplast/report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metaplast/checkpoint.h"
#include "metaplast/resume.h"
#include "metaplast/rundir.h"
#include "metaplast/runlog.h"
#include "metaplast/train.h"
#include "report/report_internal.h"

/* Room for a binding and the lines the key adds (the checkpoint caps the binding). */
#define KEY_MAX (MP_CHECKPOINT_BINDING + 256)
/* Deeper than any results tree: a bound on the recursion, not a limit anyone meets. */
#define SCAN_DEPTH_MAX 64
/* Rows of the last-100 accuracy. */
#define LAST_ROWS 100

static char *dup_text(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = mp_malloc(n);
    memcpy(d, s, n);
    return d;
}

static char *join_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = mp_malloc(n);
    snprintf(p, n, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    return p;
}

typedef struct {
    char **v;
    int n, cap;
} strlist;

static void strlist_add(strlist *l, char *s) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        char **v = mp_malloc((size_t)l->cap * sizeof *v);
        if (l->n) memcpy(v, l->v, (size_t)l->n * sizeof *v);
        free(l->v);
        l->v = v;
    }
    l->v[l->n++] = s;
}

static void strlist_free(strlist *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

static int compare_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---- the command line ------------------------------------------------------------- */

typedef struct {
    strlist dirs;
    const char *res, *test_name;
    int avg_window;
} report_args;

static void usage(FILE *f) {
    fprintf(f,
            "usage: metaplast --report DIR [DIR ...] [--res RES] [--test_name NAME] [--avg_window N]\n"
            "\n"
            "Aggregates seeds: finds every run directory (args.txt and metrics.csv) under the DIRs, groups the\n"
            "runs that differ only in --seed (all other number-changing flags, the data's fingerprints, --episodes\n"
            "and --diverge the same), and writes into a new directory RES/NAME/<YYYY-mm-dd_HH-MM-SS>_<n>/:\n"
            "summary.csv (a row per group: its flags, runs, seeds, the last-100-episode accuracy's mean, sd and\n"
            "95%% interval across seeds, the final theta's mean and sd, and the meta-test results of the group's\n"
            "runs found under the DIRs), group_<g>.csv (per episode: mean and sd across the group's runs),\n"
            "runs.csv (every run found and how it was counted), evals.csv (the meta-test directories), args.txt,\n"
            "and figures with a mean line and a band of +-1 sd per group. Unfinished runs count in the\n"
            "per-episode curves up to their last episode, not in the end-of-run statistics; runs of another\n"
            "metaplast version are left out. Each is named on stderr.\n"
            "\n"
            "  --res RES         results root of the report (default: results)\n"
            "  --test_name NAME  the report goes to RES/NAME/ (default: report; '' = RES/ itself)\n"
            "  --avg_window N    episodes in the figures' moving average (default: 10, as a run's)\n"
            "  -h, --help        print this help and exit\n");
}

/* The value of flag `name` at argv[*i] ("--name value" or "--name=value"), or NULL when
 * argv[*i] is another flag; a missing value sets *missing. */
static const char *flag_value(int argc, char **argv, int *i, const char *name, int *missing) {
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0) return NULL;
    if (a[2 + n] == '=') return a + 3 + n;
    if (a[2 + n] != '\0') return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, report_args *a, FILE *out, FILE *err) {
    a->res = "results";
    a->test_name = "report";
    a->avg_window = 10;
    int only_dirs = 0;
    for (int i = 2; i < argc; i++) {
        const char *v;
        int missing = 0;
        if (!only_dirs && strcmp(argv[i], "-h") == 0) {
            usage(out);
            return MP_EXIT_OK;
        }
        if (only_dirs || strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            if (!only_dirs && strcmp(argv[i], "--") == 0) {
                only_dirs = 1; /* what follows is a DIR even if it starts with -- */
                continue;
            }
            if (!argv[i][0]) {
                fprintf(err, "metaplast --report: an empty DIR\n");
                return MP_EXIT_USAGE;
            }
            strlist_add(&a->dirs, dup_text(argv[i]));
        } else if (strcmp(argv[i], "--help") == 0) {
            usage(out);
            return MP_EXIT_OK;
        } else if ((v = flag_value(argc, argv, &i, "res", &missing))) {
            if (!v[0]) {
                fprintf(err, "metaplast --report: --res: '' is not valid (a directory is needed)\n");
                return MP_EXIT_USAGE;
            }
            a->res = v;
        } else if ((v = flag_value(argc, argv, &i, "test_name", &missing))) {
            if (!mp_path_stays_below(v)) { /* the rule of a run's --test_name */
                fprintf(err, "metaplast --report: --test_name: '%s' must stay below --res (no leading '/', no '.' "
                        "or '..' components)\n", v);
                return MP_EXIT_USAGE;
            }
            a->test_name = v;
        } else if ((v = flag_value(argc, argv, &i, "avg_window", &missing))) {
            char *end;
            errno = 0;
            long long w = strtoll(v, &end, 10);
            if (end == v || *end || errno == ERANGE || w < 1 || w > 1000000000LL) {
                fprintf(err, "metaplast --report: --avg_window: '%s' is not an integer from 1 to 1000000000\n", v);
                return MP_EXIT_USAGE;
            }
            a->avg_window = (int)w;
        } else if (missing) {
            fprintf(err, "metaplast --report: %s needs a value\n", argv[i]);
            return MP_EXIT_USAGE;
        } else {
            fprintf(err, "metaplast --report: unknown flag '%s' (the report takes --res, --test_name, --avg_window, "
                    "--help; a DIR that starts with -- goes after --)\n", argv[i]);
            return MP_EXIT_USAGE;
        }
    }
    if (a->dirs.n == 0) {
        fprintf(err, "metaplast --report: no DIR given\n");
        usage(err);
        return MP_EXIT_USAGE;
    }
    return -1;
}

/* ---- finding run and meta-test directories ---------------------------------------- */

static int has_file(const char *dir, const char *name) {
    char *p = join_path(dir, name);
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

static int is_run_dir(const char *dir) { return has_file(dir, "args.txt") && has_file(dir, "metrics.csv"); }
static int is_eval_dir(const char *dir) {
    return has_file(dir, "tasks.csv") && has_file(dir, "summary.csv") && has_file(dir, "curve.csv");
}

/* The directories in dir (not the symbolic links), in name order: 0, or -1 (errno) when
 * dir cannot be read. */
static int list_subdirs(const char *dir, strlist *subdirs) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *p = join_path(dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            strlist_add(subdirs, p);
        else
            free(p);
    }
    closedir(d);
    /* the same order every time */
    if (subdirs->n > 1) qsort(subdirs->v, (size_t)subdirs->n, sizeof *subdirs->v, compare_text);
    return 0;
}

/* Names the run and meta-test directories below the run directory run (under dir), which
 * the search does not read. */
static void note_below_run(const char *run, const char *dir, int depth, FILE *err) {
    strlist subdirs = {0};
    if (depth >= SCAN_DEPTH_MAX || list_subdirs(dir, &subdirs) != 0) return;
    for (int i = 0; i < subdirs.n; i++) {
        const char *sub = subdirs.v[i];
        if (is_run_dir(sub))
            fprintf(err, "metaplast: report: %s: a run directory below the run %s is not read\n", sub, run);
        else if (is_eval_dir(sub))
            fprintf(err, "metaplast: report: %s: a meta-test directory below the run %s is not read\n", sub, run);
        else
            note_below_run(run, sub, depth + 1, err);
    }
    strlist_free(&subdirs);
}

/* Adds dir, or the run and meta-test directories below it, to the lists. Symbolic links
 * below a DIR are not followed (a link to a parent would never end); the tree below a run
 * directory is not searched (what it holds is named). Returns how many were found. */
static int scan(const char *dir, int depth, strlist *runs, strlist *evals, FILE *err) {
    if (is_run_dir(dir)) {
        strlist_add(runs, dup_text(dir));
        note_below_run(dir, dir, depth, err);
        return 1;
    }
    if (is_eval_dir(dir)) {
        strlist_add(evals, dup_text(dir));
        return 1;
    }
    if (depth >= SCAN_DEPTH_MAX) {
        fprintf(err, "metaplast: report: %s: more than %d directories deep, not searched further\n", dir,
                SCAN_DEPTH_MAX);
        return 0;
    }
    strlist subdirs = {0};
    if (list_subdirs(dir, &subdirs) != 0) {
        fprintf(err, "metaplast: report: cannot read directory %s: %s (left out)\n", dir, strerror(errno));
        strlist_free(&subdirs);
        return 0;
    }
    int found = 0;
    for (int i = 0; i < subdirs.n; i++) found += scan(subdirs.v[i], depth + 1, runs, evals, err);
    strlist_free(&subdirs);
    return found;
}

/* ---- reading a run ---------------------------------------------------------------- */

/* The process that holds a run's lock (0: none): an unfinished run may still be running. */
static long lock_holder(const char *run_dir) {
    char *p = join_path(run_dir, MP_RUNDIR_LOCK_FILE);
    /* read-only and never locked by this process, so closing it drops no lock of ours */
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    free(p);
    if (fd < 0) return 0;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    long pid = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK ? (long)fl.l_pid : 0;
    close(fd);
    return pid;
}

/* Appends to the text in buf (cap bytes), truncating: for labels and notes. */
static void appendf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t cap, const char *fmt, ...) {
    size_t n = strlen(buf);
    if (n + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static int left_out(report_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int left_out(report_run *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    r->status = RUN_LEFT_OUT;
    return -1;
}

/* Reads run r->path: its flags, its key, its usable rows and, when it is finished, its
 * final theta. A run that cannot be counted is RUN_LEFT_OUT with why. */
static void load_run(report_run *r) {
    r->group = -1;
    r->status = RUN_COUNTED;
    char resolved[PATH_MAX];
    r->real = dup_text(realpath(r->path, resolved) ? resolved : r->path);
    mp_err e;
    /* metaplast 0.1 first: its args.txt does not even read */
    if (mp_resume_check_format(r->path, &e) != 0) {
        left_out(r, "%s", e.msg);
        return;
    }
    char *args = join_path(r->path, "args.txt");
    char version[128], images[256], labels[256], crc[64];
    int has_version = mp_rundir_args_value(args, "version", version, sizeof version, NULL);
    if (has_version < 0) {
        left_out(r, "%s cannot be read", args);
    } else if (has_version == 0) {
        left_out(r, "%s has no version line (not written by metaplast)", args);
    } else if (strcmp(version, METAPLAST_VERSION) != 0) {
        left_out(r, "made by metaplast %s, this is %s (its flags and files may mean other things)", version,
                 METAPLAST_VERSION);
    } else if (mp_config_read_args(args, &r->cfg, &e) != 0) {
        left_out(r, "%s", e.msg);
    } else if (mp_rundir_args_value(args, "images_fingerprint", images, sizeof images, NULL) != 1 ||
               mp_rundir_args_value(args, "labels_fingerprint", labels, sizeof labels, NULL) != 1 ||
               mp_rundir_args_value(args, "binding_crc32", crc, sizeof crc, NULL) != 1) {
        left_out(r, "%s has no images_fingerprint, labels_fingerprint or binding_crc32 line", args);
    }
    free(args);
    if (r->status == RUN_LEFT_OUT) return;

    /* the binding as the run made it (mp_run_binding), from args.txt alone */
    char binding[KEY_MAX];
    if (mp_run_binding_text(&r->cfg, images, labels, binding, sizeof binding) != 0) {
        left_out(r, "its flags are too long to compare");
        return;
    }
    char want[16];
    snprintf(want, sizeof want, "%08x", mp_binding_crc32(binding));
    if (strcmp(crc, want) != 0) {
        left_out(r, "args.txt: its flags are not those the run was started with (binding_crc32 %s, the flags give "
                 "%s): the file was edited", crc, want);
        return;
    }
    /* the key: the binding without its seed line, then what else must agree */
    r->key = mp_malloc(KEY_MAX);
    size_t k = 0;
    for (const char *line = binding; *line;) {
        size_t len = strcspn(line, "\n") + (line[strcspn(line, "\n")] == '\n');
        if (strncmp(line, "seed : ", 7) != 0) {
            memcpy(r->key + k, line, len);
            k += len;
        }
        line += len;
    }
    snprintf(r->key + k, KEY_MAX - k, "episodes : %ld\ndiverge : %s\n", r->cfg.episodes,
             r->cfg.diverge_skip ? "skip" : "stop");
    r->terms = mp_config_terms(&r->cfg);

    long cap = 0, rows = 0;
    if (mp_runlog_read(r->path, &r->rows, &cap, &rows, &e) != 0) {
        left_out(r, "%s", e.msg);
        return;
    }
    r->nrows = mp_trainer_usable_rows(&r->cfg, r->rows, rows);
    if (r->nrows > r->cfg.episodes) {
        left_out(r, "metrics.csv has %ld rows, more than its --episodes %ld", r->nrows, r->cfg.episodes);
        return;
    }
    /* the theta chain, as --resume checks it but without the data: every row's theta the
     * one the rows before it lead to by Adam (the accuracy and loss columns are trusted:
     * only recomputing the episodes could check them) */
    mp_checkpoint chain;
    char why[600];
    if (mp_trainer_theta_chain(&r->cfg, r->rows, r->nrows, &chain, why, sizeof why) != 0) {
        left_out(r, "metrics.csv: %s", why);
        return;
    }
    for (long i = 0; i < r->nrows; i++) r->skipped += r->rows[i].skipped != 0;
    if (r->nrows < r->cfg.episodes) {
        r->status = RUN_UNFINISHED;
        long pid = lock_holder(r->path);
        int n2 = snprintf(r->why, sizeof r->why, "%ld of %ld episodes", r->nrows, r->cfg.episodes);
        if (rows > r->nrows)
            n2 += snprintf(r->why + n2, sizeof r->why - n2, "; the row of episode %ld diverged and stopped it",
                           r->nrows + 1);
        if (pid > 0) snprintf(r->why + n2, sizeof r->why - n2, "; still running (process %ld holds its lock)", pid);
        return;
    }
    /* finished: the final theta is the checkpoint's, after the last Adam step; it must
     * be this run's and at its last row */
    mp_checkpoint ck;
    if (mp_checkpoint_load(r->path, &ck, &e) != 0) {
        left_out(r, "finished, but its final theta is not there: %s", e.msg);
        return;
    }
    if (strcmp(ck.binding, binding) != 0 || ck.episode != r->nrows) {
        left_out(r, "finished, but %s/%s is %s (its final theta would be another's)", r->path, MP_CHECKPOINT_FILE,
                 strcmp(ck.binding, binding) != 0 ? "another run's" : "not at its last episode");
        return;
    }
    if (ck.adam_step != chain.adam_step || memcmp(ck.theta, chain.theta, sizeof ck.theta) != 0 ||
        memcmp(ck.adam_m, chain.adam_m, sizeof ck.adam_m) != 0 || memcmp(ck.adam_v, chain.adam_v, sizeof ck.adam_v) != 0) {
        left_out(r, "finished, but the theta and Adam state of %s/%s do not follow from metrics.csv's rows by Adam (the "
                 "rows or the checkpoint were edited, or are another run's)", r->path, MP_CHECKPOINT_FILE);
        return;
    }
    memcpy(r->theta, ck.theta, sizeof r->theta);
    /* the last min(100, episodes) episodes, the skipped ones among them left out (their
     * accuracy is of a diverged adaptation): the same episodes for every run of a group */
    long w = r->nrows < LAST_ROWS ? r->nrows : LAST_ROWS;
    double sum = 0;
    long finite = 0;
    for (long i = r->nrows - w; i < r->nrows; i++)
        if (!r->rows[i].skipped && isfinite(r->rows[i].accuracy)) sum += r->rows[i].accuracy, finite++;
    r->acc_last = finite ? sum / finite : NAN;
}

/* ---- meta-test directories -------------------------------------------------------- */

typedef struct {
    char *path;             /* as found under a DIR */
    char *real;             /* its realpath */
    char database[256], classes[1024], eval_seed[64], tasks[64], M[32], K[32], Q[32], dim[32];
    char eval_tasks[64];    /* its --eval_tasks */
    char stopped[128];      /* args.txt's eval_tasks_done (stopped by a signal), "" when it ran to the end */
    int ok;                 /* 0: left out (why) */
    char why[1200];
    int nrules;             /* rows of its summary.csv */
    char **run_dirs;        /* per row */
    double *acc;            /* per row: acc_mean */
    double (*theta)[MP_THETAS]; /* per row: the theta it judged */
    int *use;               /* per row: 1 when it is counted (a counted run, as the run is now, its first row) */
    int counted, unfinished, elsewhere, twice, stale; /* rows that judged counted runs, unfinished, others, repeats,
                                                        an earlier state of a counted run */
} report_eval;

/* Splits one CSV line in place into at most max fields (quotes as RFC 4180). Returns the
 * number of fields. */
static int csv_split(char *line, char **fields, int max) {
    int n = 0;
    char *p = line;
    line[strcspn(line, "\r\n")] = '\0';
    for (;;) {
        char *start = p, *w = p;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '"' && p[1] == '"') *w++ = '"', p += 2;
                else if (*p == '"') { p++; break; }
                else if (*p == '\0') break;
                else *w++ = *p++;
            }
            while (*p && *p != ',') p++;
        } else {
            while (*p && *p != ',') *w++ = *p++;
        }
        char end = *p;
        *w = '\0';
        if (n < max) fields[n++] = start;
        if (end != ',') break;
        p++;
    }
    return n;
}

static void load_eval(report_eval *ev) {
    ev->ok = 1;
    snprintf(ev->classes, sizeof ev->classes, "(not given)");
    snprintf(ev->database, sizeof ev->database, "(not given)");
    snprintf(ev->eval_seed, sizeof ev->eval_seed, "(not given)");
    char *args = join_path(ev->path, "args.txt");
    mp_rundir_args_value(args, "database", ev->database, sizeof ev->database, NULL);
    if (mp_rundir_args_value(args, "classes", ev->classes, sizeof ev->classes, NULL) == 1 && !ev->classes[0])
        snprintf(ev->classes, sizeof ev->classes, "all");
    mp_rundir_args_value(args, "eval_seed", ev->eval_seed, sizeof ev->eval_seed, NULL);
    static const char *const sizes[] = {"M", "K", "Q", "dim", "eval_tasks"};
    char *const size_of[] = {ev->M, ev->K, ev->Q, ev->dim, ev->eval_tasks};
    for (int i = 0; i < 5; i++)
        if (mp_rundir_args_value(args, sizes[i], size_of[i], sizeof ev->M, NULL) != 1) snprintf(size_of[i], sizeof ev->M, "?");
    if (mp_rundir_args_value(args, "eval_tasks_done", ev->stopped, sizeof ev->stopped, NULL) != 1) ev->stopped[0] = '\0';
    free(args);
    char resolved[PATH_MAX];
    ev->real = dup_text(realpath(ev->path, resolved) ? resolved : ev->path);

    char *path = join_path(ev->path, "summary.csv");
    FILE *f = mp_fopen_regular(path, "r", NULL);
    char *line = NULL;
    size_t cap = 0;
    enum { MAXF = 64 };
    char *fields[MAXF];
    int col_run = -1, col_acc = -1, col_tasks = -1, col_theta[MP_THETAS];
    for (int k = 0; k < MP_THETAS; k++) col_theta[k] = -1;
    if (!f || getline(&line, &cap, f) == -1) {
        ev->ok = 0;
        snprintf(ev->why, sizeof ev->why, "%s cannot be read or is empty", path);
    } else {
        int nf = csv_split(line, fields, MAXF);
        for (int i = 0; i < nf; i++) {
            if (strcmp(fields[i], "run_dir") == 0) col_run = i;
            if (strcmp(fields[i], "acc_mean") == 0) col_acc = i;
            if (strcmp(fields[i], "tasks") == 0) col_tasks = i;
            for (int k = 0; k < MP_THETAS; k++) {
                char name[16];
                snprintf(name, sizeof name, "theta_%d", k);
                if (strcmp(fields[i], name) == 0) col_theta[k] = i;
            }
        }
        int no_theta = 0;
        for (int k = 0; k < MP_THETAS; k++) no_theta |= col_theta[k] < 0;
        if (col_run < 0 || col_acc < 0) {
            ev->ok = 0;
            snprintf(ev->why, sizeof ev->why, "%s: no run_dir or acc_mean column in its header", path);
        } else if (no_theta) {
            ev->ok = 0;
            snprintf(ev->why, sizeof ev->why, "%s: no theta_0..theta_9 columns in its header (the theta it judged is "
                     "needed to tell whether it judged the runs as they are now)", path);
        }
    }
    int cap_rows = 0;
    long lineno = 1;
    while (ev->ok && getline(&line, &cap, f) != -1) {
        lineno++;
        if (line[strspn(line, "\r\n")] == '\0') continue;
        int nf = csv_split(line, fields, MAXF);
        char *end;
        double acc = nf > col_acc ? strtod(fields[col_acc], &end) : NAN;
        if (nf <= col_run || nf <= col_acc || end == fields[col_acc] || *end || !isfinite(acc)) {
            ev->ok = 0;
            snprintf(ev->why, sizeof ev->why, "%s:%ld: no run_dir or no finite acc_mean", path, lineno);
            break;
        }
        double theta[MP_THETAS];
        int bad = -1;
        for (int k = 0; k < MP_THETAS && bad < 0; k++) {
            theta[k] = nf > col_theta[k] ? strtod(fields[col_theta[k]], &end) : NAN;
            if (nf <= col_theta[k] || end == fields[col_theta[k]] || *end || !isfinite(theta[k])) bad = k;
        }
        if (bad >= 0) {
            ev->ok = 0;
            snprintf(ev->why, sizeof ev->why, "%s:%ld: theta_%d is not a finite number", path, lineno, bad);
            break;
        }
        if (ev->nrules == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 16;
            char **d = mp_malloc((size_t)cap_rows * sizeof *d);
            double *a = mp_malloc((size_t)cap_rows * sizeof *a);
            double(*t)[MP_THETAS] = mp_malloc((size_t)cap_rows * sizeof *t);
            if (ev->nrules) memcpy(d, ev->run_dirs, (size_t)ev->nrules * sizeof *d);
            if (ev->nrules) memcpy(a, ev->acc, (size_t)ev->nrules * sizeof *a);
            if (ev->nrules) memcpy(t, ev->theta, (size_t)ev->nrules * sizeof *t);
            free(ev->run_dirs);
            free(ev->acc);
            free(ev->theta);
            ev->run_dirs = d, ev->acc = a, ev->theta = t;
        }
        memcpy(ev->theta[ev->nrules], theta, sizeof theta);
        if (ev->nrules == 0 && col_tasks >= 0 && nf > col_tasks)
            snprintf(ev->tasks, sizeof ev->tasks, "%s", fields[col_tasks]);
        ev->run_dirs[ev->nrules] = dup_text(realpath(fields[col_run], resolved) ? resolved : fields[col_run]);
        ev->acc[ev->nrules++] = acc;
    }
    free(line);
    if (f) fclose(f);
    free(path);
}

/* ---- groups ----------------------------------------------------------------------- */

static const report_run *sort_runs; /* for compare_seed */
static int compare_seed(const void *a, const void *b) {
    long long sa = sort_runs[*(const int *)a].cfg.seed, sb = sort_runs[*(const int *)b].cfg.seed;
    return sa < sb ? -1 : sa > sb;
}

static double stat_value(const mp_record *r, int s) {
    if (s == STAT_ACCURACY) return r->accuracy;
    if (s == STAT_LOSS) return r->loss;
    if (s < STAT_ANGLE1) return r->theta[s - STAT_THETA0];
    return r->angle[1 + s - STAT_ANGLE1];
}

/* The per-episode statistics of a group: over the members that have the row, their finite
 * values; a skipped row (--diverge skip: a diverged adaptation, no Adam step) counts in
 * theta only (the theta it used), not in accuracy, loss and the angles. */
static void group_episodes(report_group *g, const report_run *runs) {
    g->episodes = 0;
    for (int m = 0; m < g->nmembers; m++)
        if (runs[g->members[m]].nrows > g->episodes) g->episodes = runs[g->members[m]].nrows;
    long E = g->episodes;
    g->runs_at = mp_calloc((size_t)E + 1, sizeof *g->runs_at);
    g->skipped_at = mp_calloc((size_t)E + 1, sizeof *g->skipped_at);
    g->skipped_rows = 0;
    for (int m = 0; m < g->nmembers; m++) {
        const report_run *r = &runs[g->members[m]];
        g->skipped_rows += r->skipped;
        for (long e = 0; e < r->nrows; e++) g->skipped_at[e] += r->rows[e].skipped != 0;
    }
    double *v = mp_calloc((size_t)g->nmembers + 1, sizeof *v);
    for (int s = 0; s < NSTATS; s++) {
        g->stat[s].mean = mp_calloc((size_t)E + 1, sizeof(double));
        g->stat[s].sd = mp_calloc((size_t)E + 1, sizeof(double));
        for (long e = 0; e < E; e++) {
            int n = 0, have = 0;
            for (int m = 0; m < g->nmembers; m++) {
                const report_run *r = &runs[g->members[m]];
                if (e >= r->nrows) continue;
                have++;
                if (r->rows[e].skipped && (s < STAT_THETA0 || s >= STAT_ANGLE1)) continue;
                double x = stat_value(&r->rows[e], s);
                if (isfinite(x)) v[n++] = x;
            }
            g->runs_at[e] = have;
            mp_summary sm = mp_summarize(v, n);
            g->stat[s].mean[e] = sm.mean;
            g->stat[s].sd[e] = sm.sd;
        }
    }
    free(v);
}

static void group_end_stats(report_group *g, const report_run *runs) {
    double *v = mp_calloc((size_t)g->nmembers + 1, sizeof *v);
    int n = 0;
    for (int m = 0; m < g->nmembers; m++) {
        const report_run *r = &runs[g->members[m]];
        if (r->status == RUN_COUNTED && isfinite(r->acc_last)) v[n++] = r->acc_last;
    }
    g->acc = mp_summarize(v, n);
    for (int k = 0; k < MP_THETAS; k++) {
        n = 0;
        for (int m = 0; m < g->nmembers; m++) {
            const report_run *r = &runs[g->members[m]];
            if (r->status == RUN_COUNTED) v[n++] = r->theta[k];
        }
        g->theta[k] = mp_summarize(v, n);
    }
    free(v);
}

/* The value of line `name` of a key ("" when it has none), into buf. */
static const char *key_value(const char *key, const char *name, char *buf, size_t cap) {
    size_t len = strlen(name);
    buf[0] = '\0';
    for (const char *line = key; *line;) {
        size_t l = strcspn(line, "\n");
        if (l > len + 3 && strncmp(line, name, len) == 0 && strncmp(line + len, " : ", 3) == 0)
            snprintf(buf, cap, "%.*s", (int)(l - len - 3), line + len + 3);
        line += l + (line[l] == '\n');
    }
    return buf;
}

/* args.txt's "[1, 2]" as "1 2" (the meta-test's form); "[]" as "". */
static const char *vec_words(const char *key, char *buf, size_t cap) {
    char v[256];
    key_value(key, "vec", v, sizeof v);
    size_t n = 0;
    for (const char *p = v; *p && n + 1 < cap; p++)
        if (*p != '[' && *p != ']' && *p != ',') buf[n++] = *p;
    buf[n] = '\0';
    char *s = buf;
    while (*s == ' ') s++;
    memmove(buf, s, strlen(s) + 1);
    return buf;
}

/* The legend entry of each group: the key lines that are not the same in every group
 * (fingerprints only when nothing else differs), then the number of runs. */
static void label_groups(report_group *groups, int ng) {
    const char *key = groups[0].key;
    for (int pass = 0; pass < 2; pass++) {
        int any = 0;
        for (int g = 0; g < ng; g++) groups[g].label[0] = '\0';
        for (const char *line = key; *line;) {
            size_t l = strcspn(line, "\n");
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(strcspn(line, " ") < l ? strcspn(line, " ") : l), line);
            line += l + (line[l] == '\n');
            int fingerprint = strstr(name, "_fingerprint") != NULL;
            if (fingerprint != pass) continue;
            char a[512], b[512];
            int differs = 0;
            for (int g = 1; g < ng && !differs; g++)
                differs = strcmp(key_value(key, name, a, sizeof a), key_value(groups[g].key, name, b, sizeof b)) != 0;
            if (!differs) continue;
            any = 1;
            for (int g = 0; g < ng; g++)
                appendf(groups[g].label, sizeof groups[g].label, "%s%s %s", groups[g].label[0] ? ", " : "", name,
                        key_value(groups[g].key, name, a, sizeof a));
        }
        if (any || pass == 1) break;
    }
    for (int g = 0; g < ng; g++) {
        report_group *G = &groups[g];
        G->flags[0] = '\0';
        appendf(G->flags, sizeof G->flags, "%s", G->label);
        G->label[0] = '\0';
        appendf(G->label, sizeof G->label, "%d%s%s (%d run%s)", G->number, G->flags[0] ? ": " : "", G->flags,
                G->nmembers, G->nmembers == 1 ? "" : "s");
    }
}

/* ---- writing ---------------------------------------------------------------------- */

/* A number, or nothing for NaN (an sd of one run is empty, not "nan"). */
static void csv_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.17g", v);
}

/* A text of any length, built with open_memstream. */
static FILE *text_open(char **text, size_t *len) {
    *text = NULL, *len = 0;
    FILE *f = open_memstream(text, len);
    if (!f) {
        fprintf(stderr, "metaplast: out of memory\n");
        exit(MP_EXIT_RUNTIME);
    }
    return f;
}

static char *text_close(FILE *f, char **text) {
    if (fclose(f) != 0 || !*text) {
        fprintf(stderr, "metaplast: out of memory\n");
        exit(MP_EXIT_RUNTIME);
    }
    return *text;
}

/* The seeds of the group's runs counted as `which`, ascending, space-separated, in full
 * (malloc'd). */
static char *seeds_text(const report_group *g, const report_run *runs, run_status which) {
    char *text;
    size_t len;
    FILE *f = text_open(&text, &len);
    int any = 0;
    for (int m = 0; m < g->nmembers; m++)
        if (runs[g->members[m]].status == which) fprintf(f, "%s%lld", any++ ? " " : "", runs[g->members[m]].cfg.seed);
    return text_close(f, &text);
}

/* A key on one line, "name : value; ..." (malloc'd). */
static char *key_line(const char *key) {
    char *text;
    size_t len;
    FILE *f = text_open(&text, &len);
    int any = 0;
    for (const char *line = key; *line;) {
        size_t l = strcspn(line, "\n");
        fprintf(f, "%s%.*s", any++ ? "; " : "", (int)l, line);
        line += l + (line[l] == '\n');
    }
    return text_close(f, &text);
}

/* Builds a file in memory and replaces dir/name with it. */
typedef struct {
    char *text;
    size_t len;
    FILE *f;
} membuf;

static FILE *mem_open(membuf *m) {
    m->f = text_open(&m->text, &m->len);
    return m->f;
}

static int mem_save(membuf *m, const char *dir, const char *name, mp_err *err) {
    int ok = fclose(m->f) == 0;
    char *path = join_path(dir, name);
    int rc = ok ? mp_write_file_atomic(path, m->text, m->len, 0, err) : mp_errf(err, "%s: out of memory", path);
    free(path);
    free(m->text);
    return rc;
}

/* One eval's summary of a group: the counted runs it judged. */
static mp_summary eval_of_group(const report_eval *ev, const report_group *g, const report_run *runs) {
    double *v = mp_calloc((size_t)g->nmembers + 1, sizeof *v);
    int n = 0;
    for (int m = 0; m < g->nmembers; m++) {
        const report_run *r = &runs[g->members[m]];
        if (r->status != RUN_COUNTED) continue;
        for (int i = 0; i < ev->nrules; i++)
            if (ev->use[i] && strcmp(ev->run_dirs[i], r->real) == 0) {
                v[n++] = ev->acc[i];
                break;
            }
    }
    mp_summary s = mp_summarize(v, n);
    free(v);
    return s;
}

static int write_summary(const char *dir, const report_group *groups, int ng, const report_run *runs,
                         const report_eval *evals, int ne, mp_err *err) {
    membuf m;
    FILE *f = mem_open(&m);
    fputs("group,runs,seeds,unfinished,unfinished_seeds,skipped_rows,database,classes,fbk,vec,lamb,lr_meta,a,episodes,M,K,Q,dim,"
          "acc_last100_mean,acc_last100_sd,acc_last100_lo,acc_last100_hi", f);
    for (int k = 0; k < MP_THETAS; k++) fprintf(f, ",theta_%d_mean,theta_%d_sd", k, k);
    for (int i = 1; i <= ne; i++)
        fprintf(f, ",eval_%d_runs,eval_%d_acc_mean,eval_%d_acc_sd,eval_%d_acc_lo,eval_%d_acc_hi", i, i, i, i, i);
    fputs(",flags\n", f);
    /* classes: the binding holds --classes only when it is set; empty = all */
    static const char *const columns[] = {"database", "classes", "fbk", "vec", "lamb", "lr_meta", "a",
                                          "episodes", "M", "K", "Q", "dim"};
    for (int gi = 0; gi < ng; gi++) {
        const report_group *g = &groups[gi];
        char buf[4096];
        fprintf(f, "%d,%d,", g->number, g->ncounted);
        char *seeds = seeds_text(g, runs, RUN_COUNTED);
        mp_csv_text(f, seeds);
        free(seeds);
        fprintf(f, ",%d,", g->nunfinished);
        seeds = seeds_text(g, runs, RUN_UNFINISHED);
        mp_csv_text(f, seeds);
        free(seeds);
        fprintf(f, ",%ld", g->skipped_rows);
        for (size_t c = 0; c < sizeof columns / sizeof columns[0]; c++) {
            fputc(',', f);
            if (strcmp(columns[c], "vec") == 0)
                mp_csv_text(f, vec_words(g->key, buf, sizeof buf));
            else
                mp_csv_text(f, key_value(g->key, columns[c], buf, sizeof buf));
        }
        const double acc[4] = {g->acc.mean, g->acc.sd, g->acc.lo, g->acc.hi};
        for (int c = 0; c < 4; c++) fputc(',', f), csv_num(f, acc[c]);
        for (int k = 0; k < MP_THETAS; k++) {
            int used = g->terms >> k & 1u;
            fputc(',', f), csv_num(f, used ? g->theta[k].mean : NAN);
            fputc(',', f), csv_num(f, used ? g->theta[k].sd : NAN);
        }
        for (int i = 0; i < ne; i++) {
            mp_summary s = evals[i].ok ? eval_of_group(&evals[i], g, runs) : (mp_summary){0, NAN, NAN, NAN, NAN};
            fprintf(f, ",%d", s.n);
            const double e[4] = {s.mean, s.sd, s.lo, s.hi};
            for (int c = 0; c < 4; c++) fputc(',', f), csv_num(f, e[c]);
        }
        /* the whole key on one line: every flag the group shares */
        char *flags = key_line(g->key);
        fputc(',', f);
        mp_csv_text(f, flags);
        free(flags);
        fputc('\n', f);
    }
    return mem_save(&m, dir, "summary.csv", err);
}

static int write_group_csv(const char *dir, const report_group *g, mp_err *err) {
    membuf m;
    FILE *f = mem_open(&m);
    fputs("episode,runs,skipped,accuracy_mean,accuracy_sd,loss_mean,loss_sd", f);
    for (int k = 0; k < MP_THETAS; k++)
        if (g->terms >> k & 1u) fprintf(f, ",theta_%d_mean,theta_%d_sd", k, k);
    for (int a = 1; a <= 4; a++) fprintf(f, ",angle_%d_mean,angle_%d_sd", a, a);
    fputc('\n', f);
    for (long e = 0; e < g->episodes; e++) {
        fprintf(f, "%ld,%d,%d", e + 1, g->runs_at[e], g->skipped_at[e]);
        for (int s = 0; s < NSTATS; s++) {
            if (s >= STAT_THETA0 && s < STAT_ANGLE1 && !(g->terms >> (s - STAT_THETA0) & 1u)) continue;
            fputc(',', f), csv_num(f, g->stat[s].mean[e]);
            fputc(',', f), csv_num(f, g->stat[s].sd[e]);
        }
        fputc('\n', f);
    }
    char name[64];
    snprintf(name, sizeof name, "group_%d.csv", g->number);
    return mem_save(&m, dir, name, err);
}

static const char *status_name(run_status s) {
    return s == RUN_COUNTED ? "counted" : s == RUN_UNFINISHED ? "unfinished" : "left out";
}

static int write_runs(const char *dir, const report_run *runs, int nr, const report_group *groups, mp_err *err) {
    membuf m;
    FILE *f = mem_open(&m);
    fputs("run_dir,group,seed,episodes_done,episodes,skipped_rows,status,acc_last100,note\n", f);
    for (int i = 0; i < nr; i++) {
        const report_run *r = &runs[i];
        mp_csv_text(f, r->real);
        fputc(',', f);
        if (r->group >= 0) fprintf(f, "%d", groups[r->group].number);
        fputc(',', f);
        if (r->key) fprintf(f, "%lld,%ld,%ld,%ld", r->cfg.seed, r->nrows, r->cfg.episodes, r->skipped);
        else fputs(",,,", f);
        fprintf(f, ",%s,", status_name(r->status));
        csv_num(f, r->status == RUN_COUNTED ? r->acc_last : NAN);
        fputc(',', f);
        mp_csv_text(f, r->why);
        fputc('\n', f);
    }
    return mem_save(&m, dir, "runs.csv", err);
}

static int write_evals(const char *dir, const report_eval *evals, int ne, mp_err *err) {
    membuf m;
    FILE *f = mem_open(&m);
    fputs("eval,eval_dir,database,classes,eval_seed,M,K,Q,dim,tasks,stopped,rules,rules_counted,rules_unfinished,"
          "rules_elsewhere,rules_twice,rules_stale,note\n", f);
    for (int i = 0; i < ne; i++) {
        const report_eval *ev = &evals[i];
        fprintf(f, "%d,", i + 1);
        mp_csv_text(f, ev->real);
        const char *const cells[] = {ev->database, ev->classes, ev->eval_seed, ev->M, ev->K, ev->Q, ev->dim, ev->tasks};
        for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++) fputc(',', f), mp_csv_text(f, cells[c]);
        fprintf(f, ",%s,%d,%d,%d,%d,%d,%d,", ev->stopped[0] ? "yes" : "", ev->nrules, ev->counted, ev->unfinished,
                ev->elsewhere, ev->twice, ev->stale);
        char note[1600] = "";
        if (!ev->ok)
            appendf(note, sizeof note, "left out: %s", ev->why);
        if (ev->stopped[0])
            appendf(note, sizeof note, "%sstopped by a signal after %.*s of its %s tasks", note[0] ? "; " : "",
                    (int)strcspn(ev->stopped, " "), ev->stopped, ev->eval_tasks);
        if (ev->stale)
            appendf(note, sizeof note, "%s%d rule%s judged an earlier state of the run (its theta is not the run's "
                    "final theta now): not counted", note[0] ? "; " : "", ev->stale, ev->stale == 1 ? "" : "s");
        mp_csv_text(f, note);
        fputc('\n', f);
    }
    return mem_save(&m, dir, "evals.csv", err);
}

static int write_report_args(const char *dir, const report_args *a, int nruns, int nevals, mp_err *err) {
    membuf m;
    FILE *f = mem_open(&m);
    fputs("report :", f);
    for (int i = 0; i < a->dirs.n; i++) {
        char q[MP_PATH_MAX * 2];
        fprintf(f, " %s", mp_shell_quote(a->dirs.v[i], q, sizeof q));
    }
    fprintf(f, "\nres : %s\ntest_name : %s\navg_window : %d\nrun_dirs_found : %d\neval_dirs_found : %d\n"
            "version : %s\n", a->res, a->test_name, a->avg_window, nruns, nevals, METAPLAST_VERSION);
    return mem_save(&m, dir, "args.txt", err);
}

/* ---- the console ------------------------------------------------------------------ */

/* The name of a key line, into buf. */
static void line_name(const char *line, size_t l, char *buf, size_t cap) {
    size_t n = strcspn(line, " ");
    snprintf(buf, cap, "%.*s", (int)(n < l ? n : l), line);
}

/* A key without its fingerprint lines (malloc'd). */
static char *key_without_fingerprints(const char *key) {
    char *text;
    size_t len;
    FILE *f = text_open(&text, &len);
    for (const char *line = key; *line;) {
        size_t l = strcspn(line, "\n");
        char name[128];
        line_name(line, l, name, sizeof name);
        if (!strstr(name, "_fingerprint")) fprintf(f, "%.*s\n", (int)l, line);
        line += l + (line[l] == '\n');
    }
    return text_close(f, &text);
}

/* The console's columns beyond its fixed ones: every key line (a flag, or the data's
 * fingerprints when two groups differ in nothing else) whose value is not the same in
 * every group. Their names into names (malloc'd each), how many returned. */
static int extra_columns(const report_group *groups, int ng, strlist *names) {
    static const char *const fixed[] = {"fbk", "vec", "lamb", "lr_meta", "episodes"};
    int fingerprints = 0; /* two groups the same but for the data's fingerprints */
    char **plain = mp_calloc((size_t)ng + 1, sizeof *plain);
    for (int g = 0; g < ng; g++) plain[g] = key_without_fingerprints(groups[g].key);
    for (int g = 0; g < ng && !fingerprints; g++)
        for (int h = g + 1; h < ng && !fingerprints; h++) fingerprints = strcmp(plain[g], plain[h]) == 0;
    for (int g = 0; g < ng; g++) free(plain[g]);
    free(plain);
    for (int g = 0; g < ng; g++)
        for (const char *line = groups[g].key; *line;) {
            size_t l = strcspn(line, "\n");
            char name[128];
            line_name(line, l, name, sizeof name);
            line += l + (line[l] == '\n');
            int skip = !fingerprints && strstr(name, "_fingerprint") != NULL;
            for (size_t k = 0; k < sizeof fixed / sizeof fixed[0] && !skip; k++) skip = strcmp(name, fixed[k]) == 0;
            for (int k = 0; k < names->n && !skip; k++) skip = strcmp(name, names->v[k]) == 0;
            if (skip) continue;
            char a[512], b[512];
            int differs = 0;
            for (int h = 1; h < ng && !differs; h++)
                differs = strcmp(key_value(groups[0].key, name, a, sizeof a),
                                 key_value(groups[h].key, name, b, sizeof b)) != 0;
            if (differs) strlist_add(names, dup_text(name));
        }
    return names->n;
}

static void print_table(FILE *out, const report_group *groups, int ng, const report_run *runs,
                        const report_eval *evals, int ne) {
    strlist extra = {0};
    extra_columns(groups, ng, &extra);
    int *width = mp_calloc((size_t)extra.n + 1, sizeof *width);
    for (int c = 0; c < extra.n; c++) {
        width[c] = (int)strlen(extra.v[c]);
        for (int g = 0; g < ng; g++) {
            char v[512];
            int n = (int)strlen(key_value(groups[g].key, extra.v[c], v, sizeof v));
            if (n > width[c]) width[c] = n;
        }
    }
    fprintf(out, "%5s %5s %-12s %-4s %-17s %-8s %-8s %8s", "group", "runs", "seeds", "fbk", "vec", "lamb", "lr_meta",
            "episodes");
    for (int c = 0; c < extra.n; c++) fprintf(out, " %-*s", width[c], extra.v[c]);
    fprintf(out, "  %s\n", "last-100 accuracy: mean, sd, 95% interval");
    for (int gi = 0; gi < ng; gi++) {
        const report_group *g = &groups[gi];
        char fbk[16], vec[256], lamb[64], lr[64], ep[64], acc[160];
        char *seeds = seeds_text(g, runs, RUN_COUNTED);
        vec_words(g->key, vec, sizeof vec);
        if (!vec[0]) snprintf(vec, sizeof vec, "-");
        if (g->ncounted == 0)
            snprintf(acc, sizeof acc, "(no finished run)");
        else if (g->acc.n < 2)
            snprintf(acc, sizeof acc, "%.4f (one run: no sd)", g->acc.mean);
        else
            snprintf(acc, sizeof acc, "%.4f  %.4f  [%.4f, %.4f]", g->acc.mean, g->acc.sd, g->acc.lo, g->acc.hi);
        fprintf(out, "%5d %5d %-12s %-4s %-17s %-8s %-8s %8s", g->number, g->ncounted, seeds[0] ? seeds : "-",
                key_value(g->key, "fbk", fbk, sizeof fbk), vec, key_value(g->key, "lamb", lamb, sizeof lamb),
                key_value(g->key, "lr_meta", lr, sizeof lr), key_value(g->key, "episodes", ep, sizeof ep));
        free(seeds);
        for (int c = 0; c < extra.n; c++) {
            char v[512];
            key_value(g->key, extra.v[c], v, sizeof v);
            fprintf(out, " %-*s", width[c], v[0] ? v : "-");
        }
        fprintf(out, "  %s", acc);
        if (g->skipped_rows)
            fprintf(out, "  (%ld skipped episode%s left out)", g->skipped_rows, g->skipped_rows == 1 ? "" : "s");
        if (g->nunfinished) {
            seeds = seeds_text(g, runs, RUN_UNFINISHED);
            fprintf(out, "  + %d unfinished (seed%s %s: curves only)", g->nunfinished, g->nunfinished > 1 ? "s" : "",
                    seeds);
            free(seeds);
        }
        fputc('\n', out);
    }
    free(width);
    strlist_free(&extra);
    for (int i = 0; i < ne; i++) {
        const report_eval *ev = &evals[i];
        fprintf(out, "eval %d: %s (database %s, classes %s, M %s, K %s, Q %s, dim %s, eval_seed %s%s%s%s)%s%s\n", i + 1,
                ev->real, ev->database, ev->classes, ev->M, ev->K, ev->Q, ev->dim, ev->eval_seed,
                ev->tasks[0] ? ", tasks " : "", ev->tasks, ev->stopped[0] ? ", stopped by a signal" : "",
                ev->ok ? "" : ": left out, ", ev->ok ? "" : ev->why);
        if (ev->ok && ev->stale)
            fprintf(out, "  (%d rule%s judged an earlier state of the run: not counted)\n", ev->stale,
                    ev->stale == 1 ? "" : "s");
        for (int gi = 0; ev->ok && gi < ng; gi++) {
            mp_summary s = eval_of_group(ev, &groups[gi], runs);
            if (s.n == 0) continue;
            if (s.n < 2)
                fprintf(out, "  group %d: 1 run, acc_mean %.4f (one run: no sd)\n", groups[gi].number, s.mean);
            else
                fprintf(out, "  group %d: %d runs, acc_mean %.4f  sd %.4f  [%.4f, %.4f]\n", groups[gi].number, s.n,
                        s.mean, s.sd, s.lo, s.hi);
        }
    }
}

/* ---- the whole report ------------------------------------------------------------- */

/* Which runs each eval row judged, and the notes about those that are not counted. */
static void match_evals(report_eval *evals, int ne, const report_run *runs, int nr, FILE *err) {
    for (int i = 0; i < ne; i++) {
        report_eval *ev = &evals[i];
        if (!ev->ok) {
            fprintf(err, "metaplast: report: meta-test directory %s left out: %s\n", ev->path, ev->why);
            continue;
        }
        if (ev->stopped[0])
            fprintf(err, "metaplast: report: eval %d (%s) was stopped by a signal after %.*s of its %s tasks: its "
                    "results are of those tasks\n", i + 1, ev->path, (int)strcspn(ev->stopped, " "), ev->stopped,
                    ev->eval_tasks);
        ev->use = mp_calloc((size_t)ev->nrules + 1, sizeof *ev->use);
        for (int row = 0; row < ev->nrules; row++) {
            int twice = 0;
            for (int j = 0; j < row && !twice; j++) twice = strcmp(ev->run_dirs[j], ev->run_dirs[row]) == 0;
            if (twice) {
                ev->twice++;
                fprintf(err, "metaplast: report: eval %d (%s) judged %s twice: its first row is counted\n", i + 1,
                        ev->path, ev->run_dirs[row]);
                continue;
            }
            int r = -1;
            for (int k = 0; k < nr && r < 0; k++)
                if (strcmp(runs[k].real, ev->run_dirs[row]) == 0) r = k;
            int k = 0;
            if (r >= 0 && runs[r].status == RUN_COUNTED)
                while (k < MP_THETAS && ev->theta[row][k] == runs[r].theta[k]) k++;
            if (r >= 0 && runs[r].status == RUN_COUNTED && k < MP_THETAS) {
                /* extended (--resume --episodes more) or made anew at that path after the meta-test */
                ev->stale++;
                fprintf(err, "metaplast: report: eval %d (%s) judged an earlier state of the run %s (its theta_%d "
                        "%.17g, the run's final theta_%d %.17g): not counted\n", i + 1, ev->path, ev->run_dirs[row], k,
                        ev->theta[row][k], k, runs[r].theta[k]);
            } else if (r >= 0 && runs[r].status == RUN_COUNTED) {
                ev->counted++;
                ev->use[row] = 1;
            } else if (r >= 0 && runs[r].status == RUN_UNFINISHED) {
                ev->unfinished++;
                fprintf(err, "metaplast: report: eval %d (%s) judged the unfinished run %s: not counted\n", i + 1,
                        ev->path, ev->run_dirs[row]);
            } else {
                ev->elsewhere++;
            }
        }
        if (ev->elsewhere)
            fprintf(err, "metaplast: report: eval %d (%s): %d of its %d rules are of runs not counted in this report "
                    "(not under the DIRs, or left out): not counted\n", i + 1, ev->path, ev->elsewhere, ev->nrules);
    }
}

int mp_report_main(int argc, char **argv, FILE *out, FILE *err) {
    report_args a = {.dirs = {0}};
    int status = parse_args(argc, argv, &a, out, err);
    if (status >= 0) {
        strlist_free(&a.dirs);
        return status;
    }

    /* find: every DIR must hold something, or it is named (a mistyped path) */
    strlist run_dirs = {0}, eval_dirs = {0};
    int empty = 0;
    for (int i = 0; i < a.dirs.n; i++) {
        struct stat st;
        int bad = stat(a.dirs.v[i], &st) != 0 ? errno : 0;
        if (bad || !S_ISDIR(st.st_mode)) {
            fprintf(err, "metaplast: report: %s: %s\n", a.dirs.v[i], bad ? strerror(bad) : "not a directory");
            empty++;
            continue;
        }
        if (scan(a.dirs.v[i], 0, &run_dirs, &eval_dirs, err) == 0) {
            fprintf(err, "metaplast: report: %s holds no run directory (args.txt and metrics.csv) and no meta-test "
                    "directory\n", a.dirs.v[i]);
            empty++;
        }
    }
    if (empty) {
        fprintf(err, "metaplast: report: %d of the DIRs hold%s no runs: nothing written\n", empty,
                empty == 1 ? "s" : "");
        strlist_free(&a.dirs), strlist_free(&run_dirs), strlist_free(&eval_dirs);
        return MP_EXIT_RUNTIME;
    }

    /* read every run once (a DIR given twice, or a DIR and its parent, finds it twice) */
    report_run *runs = mp_calloc((size_t)run_dirs.n + 1, sizeof *runs);
    int nr = 0;
    for (int i = 0; i < run_dirs.n; i++) {
        report_run *r = &runs[nr];
        r->path = run_dirs.v[i];
        run_dirs.v[i] = NULL;
        load_run(r);
        int seen = 0;
        for (int k = 0; k < nr && !seen; k++) seen = strcmp(runs[k].real, r->real) == 0;
        if (seen) {
            free(r->path), free(r->real), free(r->key), free(r->rows);
            memset(r, 0, sizeof *r);
            continue;
        }
        nr++;
    }

    /* groups, in the order their first run was found */
    report_group *groups = mp_calloc((size_t)nr + 1, sizeof *groups);
    int ng = 0;
    for (int i = 0; i < nr; i++) {
        report_run *r = &runs[i];
        if (r->status == RUN_LEFT_OUT) continue;
        int g = 0;
        while (g < ng && strcmp(groups[g].key, r->key) != 0) g++;
        if (g == ng) {
            groups[ng].key = r->key;
            groups[ng].terms = r->terms;
            groups[ng].members = mp_calloc((size_t)nr, sizeof(int));
            ng++;
        }
        /* one run per seed: the same seed and flags are the same numbers, and counting a
         * copy twice would shrink the sd. A finished run wins over an unfinished one. */
        report_group *G = &groups[g];
        int same = -1;
        for (int m = 0; m < G->nmembers && same < 0; m++)
            if (runs[G->members[m]].cfg.seed == r->cfg.seed) same = m;
        if (same >= 0) {
            report_run *other = &runs[G->members[same]];
            report_run *loser = r;
            if (other->status == RUN_UNFINISHED && r->status == RUN_COUNTED) {
                loser = other;
                G->members[same] = i;
                r->group = g;
            }
            const char *winner = loser == r ? other->path : r->path;
            left_out(loser, "seed %lld is in its group already (%s): one run per seed", loser->cfg.seed, winner);
            loser->group = -1;
            continue;
        }
        G->members[G->nmembers++] = i;
        r->group = g;
    }
    for (int g = 0; g < ng; g++) {
        report_group *G = &groups[g];
        G->number = g + 1;
        sort_runs = runs;
        qsort(G->members, (size_t)G->nmembers, sizeof *G->members, compare_seed);
        for (int m = 0; m < G->nmembers; m++)
            if (runs[G->members[m]].status == RUN_COUNTED) G->ncounted++;
            else G->nunfinished++;
        group_episodes(G, runs);
        group_end_stats(G, runs);
    }

    /* say how every run was counted */
    int left = 0;
    for (int i = 0; i < nr; i++)
        if (runs[i].status == RUN_LEFT_OUT) {
            fprintf(err, "metaplast: report: left out %s: %s\n", runs[i].path, runs[i].why);
            left++;
        }
    for (int g = 0; g < ng; g++) {
        const report_group *G = &groups[g];
        for (int m = 0; m < G->nmembers; m++) {
            const report_run *r = &runs[G->members[m]];
            if (r->status == RUN_UNFINISHED && r->nrows == 0)
                fprintf(err, "metaplast: report: unfinished %s (group %d, seed %lld): %s; no episode to count\n",
                        r->path, G->number, r->cfg.seed, r->why);
            else if (r->status == RUN_UNFINISHED)
                fprintf(err, "metaplast: report: unfinished %s (group %d, seed %lld): %s; in the per-episode curves up "
                        "to episode %ld, not in the end-of-run statistics\n", r->path, G->number, r->cfg.seed, r->why,
                        r->nrows);
        }
        if (G->ncounted == 0)
            fprintf(err, "metaplast: report: group %d has no finished run: no end-of-run statistics\n", G->number);
        else if (G->ncounted == 1) {
            char *seed = seeds_text(G, runs, RUN_COUNTED);
            fprintf(err, "metaplast: report: group %d has one finished run (seed %s): no sd and no interval\n",
                    G->number, seed);
            free(seed);
        }
    }

    report_eval *evals = mp_calloc((size_t)eval_dirs.n + 1, sizeof *evals);
    int ne = eval_dirs.n;
    for (int i = 0; i < ne; i++) {
        evals[i].path = eval_dirs.v[i];
        eval_dirs.v[i] = NULL;
        load_eval(&evals[i]);
    }
    match_evals(evals, ne, runs, nr, err);

    mp_err e;
    char dir[MP_PATH_MAX + 512];
    if (ng == 0) {
        fprintf(err, "metaplast: report: none of the %d run%s found can be counted (see above): nothing written\n", nr,
                nr == 1 ? "" : "s");
        status = MP_EXIT_RUNTIME;
    } else if (mp_rundir_create(a.res, a.test_name, dir, sizeof dir, &e) != 0) {
        fprintf(err, "metaplast: report: %s\n", e.msg);
        status = MP_EXIT_RUNTIME;
    } else {
        fprintf(out, "report directory: %s\n", dir);
        fflush(out);
        label_groups(groups, ng);
        int rc = write_report_args(dir, &a, nr, ne, &e);
        if (rc == 0) rc = write_summary(dir, groups, ng, runs, evals, ne, &e);
        for (int g = 0; g < ng && rc == 0; g++) rc = write_group_csv(dir, &groups[g], &e);
        if (rc == 0) rc = write_runs(dir, runs, nr, groups, &e);
        if (rc == 0) rc = write_evals(dir, evals, ne, &e);
        if (rc == 0) rc = mp_report_figures(dir, groups, ng, a.avg_window, &e);
        if (rc != 0) {
            fprintf(err, "metaplast: report: %s\n", e.msg);
            status = MP_EXIT_RUNTIME;
        } else {
            print_table(out, groups, ng, runs, evals, ne);
            fprintf(out, "%d group%s of %d run%s (%d left out); %d meta-test director%s\n", ng, ng == 1 ? "" : "s",
                    nr - left, nr - left == 1 ? "" : "s", left, ne, ne == 1 ? "y" : "ies");
            status = MP_EXIT_OK;
        }
    }

    for (int g = 0; g < ng; g++) {
        free(groups[g].members);
        free(groups[g].runs_at);
        free(groups[g].skipped_at);
        for (int s = 0; s < NSTATS; s++) free(groups[g].stat[s].mean), free(groups[g].stat[s].sd);
    }
    free(groups);
    for (int i = 0; i < nr; i++) free(runs[i].path), free(runs[i].real), free(runs[i].key), free(runs[i].rows);
    free(runs);
    for (int i = 0; i < ne; i++) {
        for (int k = 0; k < evals[i].nrules; k++) free(evals[i].run_dirs[k]);
        free(evals[i].run_dirs), free(evals[i].acc), free(evals[i].theta), free(evals[i].use);
        free(evals[i].path), free(evals[i].real);
    }
    free(evals);
    strlist_free(&a.dirs), strlist_free(&run_dirs), strlist_free(&eval_dirs);
    return status;
}
