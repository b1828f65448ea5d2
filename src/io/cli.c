/* The command line. One table describes every flag (name, type, default, range, meaning);
 * parsing, defaults, the help text, args.txt and reading args.txt back all walk it. */
#include "metaplast/cli.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "metaplast/data.h"
#include "model/rules.h"
#include "metaplast/util.h"

/* Caps that make absurd values fail at once instead of allocating until the machine
 * swaps. M <= 10^4 and K, Q <= 10^5 keep M*(K+Q), a task's image count, within an int
 * (the data check then bounds M and K+Q by the database). dim <= 128: W1 and B1 hold
 * 170*dim^2 floats each (11 MB at 128, 0.5 MB at 28) and the dataset dim^2 bytes per
 * image. The other counts stop at 10^9 (600 episodes take about a minute). */
#define MAX_COUNT 1000000000LL
#define MAX_M 10000
#define MAX_KQ 100000
#define MAX_DIM 128

/* --vec entries are distinct members of the pool, so they always fit. */
_Static_assert(MP_RULE_COUNT - 1 <= MP_MAX_VEC, "mp_config.vec cannot hold the rule pool");

typedef enum { K_INT, K_LONG, K_LLONG, K_DOUBLE, K_STRING, K_CHOICE, K_VEC, K_SWITCH, K_CLASSES, K_PATHS } value_kind;
typedef enum { ANY_FINITE, AT_LEAST_ZERO, ABOVE_ZERO } double_bound;

typedef struct {
    const char *name;
    value_kind kind;
    size_t offset, size;          /* of the mp_config field */
    const char *def;              /* default, spelled as in args.txt */
    const char *metavar;          /* for the help text */
    long long min, max;           /* integer kinds: inclusive range */
    double_bound bound;           /* K_DOUBLE */
    const char *const *choices;   /* K_CHOICE (stored as the index), K_STRING (allowed values) */
    int nonempty;                 /* K_STRING */
    int ours;                     /* added by metaplast, not a flag of the release */
    int resumable;                /* may differ on --resume: it changes no number */
    /* Added after metaplast 0.2: an args.txt may lack its line (the default then), and it
     * enters a checkpoint's binding only when it differs from the default, so runs made
     * before it resume as they did. */
    int late;
    /* Where it applies: 0 = runs only, EVAL_TOO = runs and --eval, EVAL_ONLY = --eval
     * only (never in a run's args.txt). Given where it does not apply, it is an error. */
    int scope;
    const char *help;
} flag;

enum { EVAL_TOO = 1, EVAL_ONLY = 2 };

#define FIELD(m) .offset = offsetof(mp_config, m), .size = sizeof(((mp_config *)0)->m)

static const char *const fbk_names[] = {"fix", "sym", NULL};
static const char *const diverge_names[] = {"stop", "skip", NULL};
static const char *const switch_names[] = {"False", "True", NULL}; /* as args.txt spells them */

static const flag flags[] = {
    {"gpu_mode", K_INT, FIELD(gpu_mode), .def = "1", .metavar = "N", .min = 0, .max = 1,
     .resumable = 1, .scope = EVAL_TOO, .help = "accepted for compatibility with the release: metaplast has no GPU backend and\n"
             "      runs on the CPU (with 1 it says so once on stderr)"},
    {"seed", K_LLONG, FIELD(seed), .def = "1", .metavar = "N", .min = LLONG_MIN, .max = LLONG_MAX,
     .help = "seed of the random generator (xoshiro256**) behind every draw: tasks, shuffles,\n"
             "      initial weights; same seed and flags, same numbers"},
    {"database", K_STRING, FIELD(database), .def = "emnist", .metavar = "NAME",
     .choices = mp_database_names, .scope = EVAL_TOO, .help = "database to learn from; its files are read from --data_dir"},
    {"dim", K_INT, FIELD(dim), .def = "28", .metavar = "D", .min = 1, .max = MAX_DIM,
     .scope = EVAL_TOO, .help = "images are resized to D x D; the input layer has D*D units"},
    {"test_name", K_STRING, FIELD(test_name), .def = "", .metavar = "NAME",
     .scope = EVAL_TOO, .help = "name of the experiment: its runs go to <res>/<test_name>/"},
    {"episodes", K_LONG, FIELD(episodes), .def = "600", .metavar = "N", .min = 1, .max = MAX_COUNT,
     .resumable = 1, .help = "meta-training episodes: each draws a task, adapts a fresh network with the\n"
             "      rule and takes one Adam step on theta"},
    {"K", K_INT, FIELD(K), .def = "50", .metavar = "N", .min = 1, .max = MAX_KQ,
     .scope = EVAL_TOO, .help = "training images per class: one plasticity step each, T = M*K steps per episode"},
    {"Q", K_INT, FIELD(Q), .def = "10", .metavar = "N", .min = 1, .max = MAX_KQ,
     .scope = EVAL_TOO, .help = "query images per class: the meta-loss is measured on them"},
    {"M", K_INT, FIELD(M), .def = "5", .metavar = "N", .min = 1, .max = MAX_M,
     .scope = EVAL_TOO, .help = "classes per task (distinct)"},
    {"lamb", K_DOUBLE, FIELD(lamb), .def = "0.0", .metavar = "X", .bound = AT_LEAST_ZERO,
     .help = "weight of the L1 penalty lamb * sum_k |theta_k| in the meta-loss"},
    {"lr_meta", K_DOUBLE, FIELD(lr_meta), .def = "1e-3", .metavar = "X", .bound = ABOVE_ZERO,
     .help = "learning rate of Adam on theta"},
    {"a", K_DOUBLE, FIELD(a), .def = "1e-3", .metavar = "X", .bound = ANY_FINITE,
     .help = "initial pseudo-gradient coefficient: theta starts at (a, 0, ..., 0)"},
    {"res", K_STRING, FIELD(res), .def = "results", .metavar = "DIR", .nonempty = 1,
     .scope = EVAL_TOO, .help = "results root: each run gets <res>/<test_name>/<YYYY-mm-dd_HH-MM-SS>_<n>/"},
    {"avg_window", K_INT, FIELD(avg_window), .def = "10", .metavar = "N", .min = 1, .max = MAX_COUNT,
     .resumable = 1, .help = "episodes in the moving average of the accuracy, loss and angle plots"},
    {"vec", K_VEC, FIELD(vec), .def = "[]", .metavar = "[N ...]",
     .help = "plasticity terms added to the pseudo-gradient term (theta0), zero or more\n"
             "      values, e.g. `--vec 1 2`; `--vec all` is the whole pool (args.txt lists it)"},
    {"fbk", K_CHOICE, FIELD(fbk_sym), .def = "fix", .metavar = "fix|sym", .choices = fbk_names,
     .help = "feedback pathway: fix = fixed random matrices B (feedback alignment),\n"
             "      sym = B is the current forward weights W (backprop)"},
    {"data_dir", K_STRING, FIELD(data_dir), .def = "data", .metavar = "DIR", .nonempty = 1, .ours = 1,
     .resumable = 1, .scope = EVAL_TOO, .help = "directory holding the databases' files (e.g. DIR/emnist/)"},
    {"plot_every", K_INT, FIELD(plot_every), .def = "0", .metavar = "N", .min = 0, .max = MAX_COUNT,
     .ours = 1, .resumable = 1, .help = "also redraw the plots every N episodes (0: only at the end of the run)"},
    {"threads", K_INT, FIELD(threads), .def = "2", .metavar = "N", .min = 1, .max = 2, .ours = 1,
     .resumable = 1, .scope = EVAL_TOO, .help = "threads: 2 shares the input layer's matrix products with a second core (used\n"
             "      only when the process may run on 2 CPUs); the numbers are the same with 1"},
    {"diverge", K_CHOICE, FIELD(diverge_skip), .def = "stop", .metavar = "stop|skip", .choices = diverge_names,
     .ours = 1, .resumable = 1,
     .help = "an episode whose loss, weights, meta-gradient or Adam step is not finite:\n"
             "      stop = the run stops there (exit 1); skip = it takes no Adam step, is marked\n"
             "      in metrics.csv (skipped = 1) and on stderr, and the run goes on, until\n"
             "      10 in a row stop it (exit 1). It decides only what happens at a divergence\n"
             "      to come, so --resume may change it"},
    {"gradcheck", K_SWITCH, FIELD(gradcheck), .def = "False", .metavar = "", .choices = switch_names,
     .ours = 1,
     .help = "compare the first episode's analytic meta-gradient with central finite\n"
             "      differences, print both and exit (0 when within tolerance, else 1)"},
    {"resume", K_STRING, FIELD(resume), .def = "", .metavar = "RUN_DIR", .ours = 1,
     .resumable = 1, .help = "continue the run in RUN_DIR from its last finished episode, with the flags\n"
             "      stored in its args.txt ('' = start a new run)"},
    {"run_dir", K_STRING, FIELD(run_dir), .def = "", .metavar = "DIR", .ours = 1, .resumable = 1, .late = 1,
     .help = "the run lives in DIR itself (no time-stamped directory): a missing or empty\n"
             "      DIR starts a new run there (parents created), a DIR that holds a run\n"
             "      continues it as --resume DIR would (a complete run: exit 0, saying so), any\n"
             "      other DIR is refused (exit 1). DIR's lock is taken first, so of two processes\n"
             "      started on one DIR one runs and the other exits 1. For sweeps: rerunning the\n"
             "      same command resumes the run or finds it done. Not with --resume, --res,\n"
             "      --test_name or --gradcheck ('' = a new time-stamped run directory)"},
    {"classes", K_CLASSES, FIELD(classes), .def = "", .metavar = "LIST", .ours = 1, .late = 1, .scope = EVAL_TOO,
     .help = "the classes (by label) tasks are drawn from, e.g. 0-35 or 0-9,20-29 ('' = all).\n"
             "      With --eval: the classes of the test tasks (default: those the runs' meta-\n"
             "      training never saw, the complement of their --classes; all when they used\n"
             "      all, or when the test database is another one)"},
    {"images", K_STRING, FIELD(images), .def = "", .metavar = "FILE", .ours = 1, .late = 1, .resumable = 1,
     .scope = EVAL_TOO,
     .help = "a database of your own: an IDX images file (gzip or raw, idx3: count x side x\n"
             "      side bytes), with --labels; implies --database idx. Checked like the named\n"
             "      databases; C = its largest label + 1, and every label from 0 to it must\n"
             "      have images. A run records the files' sizes and CRC-32: --resume may give\n"
             "      the same pair at another path"},
    {"labels", K_STRING, FIELD(labels), .def = "", .metavar = "FILE", .ours = 1, .late = 1, .resumable = 1,
     .scope = EVAL_TOO, .help = "the IDX labels file (idx1, one byte per image) of --images"},
    {"eval", K_PATHS, FIELD(eval_dirs), .def = "", .metavar = "RUN_DIR [RUN_DIR ...]", .ours = 1, .late = 1,
     .scope = EVAL_ONLY,
     .help = "the meta-test: judge the rule of each finished run (its --fbk, --vec and final\n"
             "      theta) on the same fresh test tasks, and write tasks.csv, curve.csv,\n"
             "      summary.csv, eval_curve.png and args.txt into a new directory\n"
             "      <res>/<test_name or eval>/<YYYY-mm-dd_HH-MM-SS>_<n>/. The data and task\n"
             "      flags (--database, --data_dir, --images, --labels, --M, --K, --Q, --dim,\n"
             "      --classes) default to the runs' own"},
    {"eval_tasks", K_INT, FIELD(eval_tasks), .def = "100", .metavar = "N", .min = 2, .max = 1000000, .ours = 1,
     .late = 1, .scope = EVAL_ONLY, .help = "test tasks every rule adapts to"},
    {"eval_seed", K_LLONG, FIELD(eval_seed), .def = "1", .metavar = "N", .min = LLONG_MIN, .max = LLONG_MAX,
     .ours = 1, .late = 1, .scope = EVAL_ONLY,
     .help = "seed of the test tasks' own generator: tasks, images, order, initial W and B.\n"
             "      It is seeded with the seed XOR 0x6d657461746573, so its draws are not a\n"
             "      run's of the same --seed (only a run whose --seed is that XOR would share them)"},
    {"eval_every", K_INT, FIELD(eval_every), .def = "25", .metavar = "S", .min = 1, .max = MAX_COUNT, .ours = 1,
     .late = 1, .scope = EVAL_ONLY,
     .help = "the learning curve's step: the query set is scored after 0, S, 2S, ... and\n"
             "      all M*K training samples"},
};
enum { NFLAGS = sizeof flags / sizeof flags[0] };

_Static_assert(NFLAGS <= 64, "mp_config.given has a bit per flag");

static void *field(const flag *f, mp_config *cfg) { return (char *)cfg + f->offset; }
static const void *cfield(const flag *f, const mp_config *cfg) { return (const char *)cfg + f->offset; }

static const flag *find_flag(const char *name, size_t len) {
    for (int i = 0; i < NFLAGS; i++)
        if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) return &flags[i];
    return NULL;
}

static int choice_index(const char *const *choices, const char *text) {
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], text) == 0) return i;
    return -1;
}

/* What values a flag accepts, in words: for the help text and for error messages. */
static void describe_range(const flag *f, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    switch (f->kind) {
    case K_INT:
    case K_LONG:
    case K_LLONG:
        snprintf(buf, cap, "%lld %s %lld", f->min, f->max == f->min + 1 ? "or" : "to", f->max);
        break;
    case K_DOUBLE: {
        static const char *const words[] = {"any finite number", "a finite number >= 0", "a finite number > 0"};
        snprintf(buf, cap, "%s", words[f->bound]);
        break;
    }
    case K_STRING:
    case K_CHOICE:
        if (f->choices) {
            n += snprintf(buf, cap, "one of:");
            for (int i = 0; f->choices[i] && n < cap; i++)
                n += snprintf(buf + n, cap - n, "%s %s", i ? "," : "", f->choices[i]);
        } else if (f->nonempty) {
            snprintf(buf, cap, "must not be empty");
        }
        break;
    case K_VEC: {
        int first = -1, last = -1;
        for (int k = 0; k < MP_RULE_COUNT; k++)
            if (mp_rule_is_selectable(k)) last = k, first = first < 0 ? k : first;
        n += snprintf(buf, cap, "from the rule pool, %d to %d, each at most once, or all (= %d to %d):", first, last,
                      first, last);
        for (int k = first; k >= 0 && k <= last && n < cap; k++)
            if (mp_rule_is_selectable(k)) n += snprintf(buf + n, cap - n, "%s %d = %s", k == first ? "" : ",", k, mp_rule_name(k));
        break;
    }
    case K_CLASSES:
        snprintf(buf, cap, "labels 0 to %d, as ranges a-b and single labels, comma-separated",
                 MP_MAX_CLASSES - 1);
        break;
    case K_SWITCH:
    case K_PATHS:
        break;
    }
}

static int out_of_range(const flag *f, const char *text, mp_err *err) {
    char range[512];
    describe_range(f, range, sizeof range);
    int numeric = f->kind == K_INT || f->kind == K_LONG || f->kind == K_LLONG || f->kind == K_DOUBLE;
    return mp_errf(err, "--%s: '%s' is %s (%s)", f->name, text, numeric ? "out of range" : "not valid", range);
}

/* The whole text must be a base-10 integer: no blanks, no trailing characters, no exponent. */
static int parse_integer(const flag *f, const char *text, long long *out, mp_err *err) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || isspace((unsigned char)text[0]))
        return mp_errf(err, "--%s: '%s' is not an integer", f->name, text);
    if (errno == ERANGE) return out_of_range(f, text, err);
    *out = v;
    return 0;
}

/* Unused entries stay zero, so equal configs compare equal bytewise. */
static void vec_clear(mp_config *cfg) {
    memset(cfg->vec, 0, sizeof cfg->vec);
    cfg->nvec = 0;
}

static int vec_append(const flag *f, const char *text, mp_config *cfg, mp_err *err) {
    if (strcmp(text, "all") == 0) { /* the whole pool, in order */
        for (int k = 0; k < MP_RULE_COUNT; k++) {
            char index[16];
            snprintf(index, sizeof index, "%d", k);
            if (mp_rule_is_selectable(k) && vec_append(f, index, cfg, err)) return -1;
        }
        return 0;
    }
    char range[512], *end;
    describe_range(f, range, sizeof range);
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (end == text || *end || isspace((unsigned char)text[0]))
        return mp_errf(err, "--vec: '%s' is not an integer (%s)", text, range);
    if (errno == ERANGE || v < 0 || v >= MP_RULE_COUNT || !mp_rule_is_selectable((int)v))
        return out_of_range(f, text, err);
    for (int i = 0; i < cfg->nvec; i++)
        if (cfg->vec[i] == v) return mp_errf(err, "--vec: %lld is given twice (%s)", v, range);
    cfg->vec[cfg->nvec++] = (int)v;
    return 0;
}

/* Appends the entries of a list: "1 2", "1,2", "[1, 2]", "[]", "" or "all". */
static int vec_append_list(const flag *f, const char *text, mp_config *cfg, mp_err *err) {
    size_t n = strlen(text);
    if (n >= 2 && text[0] == '[' && text[n - 1] == ']') { /* args.txt's form */
        text++;
        n -= 2;
    }
    char *copy = mp_malloc(n + 1);
    memcpy(copy, text, n);
    copy[n] = '\0';
    int rc = 0;
    char *save;
    for (char *tok = strtok_r(copy, ", ", &save); tok && rc == 0; tok = strtok_r(NULL, ", ", &save))
        rc = vec_append(f, tok, cfg, err);
    free(copy);
    return rc;
}

/* Sets a flag from its text (command line, default, or args.txt), checking it. */
static int set_value(const flag *f, const char *text, mp_config *cfg, mp_err *err) {
    void *p = field(f, cfg);
    switch (f->kind) {
    case K_INT:
    case K_LONG:
    case K_LLONG: {
        long long v = 0;
        if (parse_integer(f, text, &v, err)) return -1;
        if (v < f->min || v > f->max) return out_of_range(f, text, err);
        if (f->kind == K_INT) *(int *)p = (int)v;
        else if (f->kind == K_LONG) *(long *)p = (long)v;
        else *(long long *)p = v;
        return 0;
    }
    case K_DOUBLE: {
        char *end;
        errno = 0;
        double v = strtod(text, &end);
        /* decimal only: strtod also takes hex ("0x10" is 16), which the integer flags refuse */
        int decimal = strspn(text, "0123456789+-.eE") == strlen(text);
        if (end == text || *end || isspace((unsigned char)text[0]) || (decimal == 0 && isfinite(v)))
            return mp_errf(err, "--%s: '%s' is not a number (decimal notation only)", f->name, text);
        if (!isfinite(v)) return mp_errf(err, "--%s: '%s' is not a finite number", f->name, text);
        if (errno == ERANGE)
            return mp_errf(err, "--%s: '%s' cannot be held by a double (it would become %g)", f->name, text, v);
        if ((f->bound == AT_LEAST_ZERO && !(v >= 0)) || (f->bound == ABOVE_ZERO && !(v > 0)))
            return out_of_range(f, text, err);
        *(double *)p = v == 0 ? 0.0 : v; /* -0 is 0: one value, one text in args.txt */
        return 0;
    }
    case K_STRING:
        /* args.txt holds one value per line */
        if (strpbrk(text, "\n\r")) return mp_errf(err, "--%s: '%s' contains a line break", f->name, text);
        if (strlen(text) >= f->size)
            return mp_errf(err, "--%s: '%s' is too long (at most %zu bytes)", f->name, text, f->size - 1);
        if ((f->nonempty && !*text) || (f->choices && choice_index(f->choices, text) < 0))
            return out_of_range(f, text, err);
        if (f->offset == offsetof(mp_config, test_name) && !mp_path_stays_below(text))
            return mp_errf(err, "--test_name: '%s' must stay below --res (no leading '/', no '.' or '..' "
                           "components)", text);
        memset(p, 0, f->size); /* zero tail: equal configs compare equal bytewise */
        memcpy(p, text, strlen(text));
        return 0;
    case K_CHOICE:
    case K_SWITCH: {
        int i = choice_index(f->choices, text);
        if (i < 0) return out_of_range(f, text, err);
        *(int *)p = i;
        return 0;
    }
    case K_VEC:
        vec_clear(cfg);
        return vec_append_list(f, text, cfg, err);
    case K_CLASSES: { /* held in its canonical form, so that equal lists compare equal */
        unsigned char mask[MP_MAX_CLASSES];
        memset(p, 0, f->size);
        if (!*text) return 0;
        if (mp_classes_parse(text, mask, err) < 0) return -1;
        mp_classes_format(mask, (char *)p, f->size);
        return 0;
    }
    case K_PATHS: /* only from the command line (parse_flag); the default is none */
        cfg->eval_dirs = NULL;
        cfg->eval_first = NULL;
        cfg->eval_n = 0;
        return *text ? mp_errf(err, "--%s: takes its values on the command line", f->name) : 0;
    }
    return mp_errf(err, "--%s: unknown kind of flag", f->name);
}

void mp_config_defaults(mp_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < NFLAGS; i++) {
        int rc = set_value(&flags[i], flags[i].def, cfg, NULL);
        assert(rc == 0); /* the table's defaults are valid */
        (void)rc;
    }
}

static void print_help(FILE *out) {
    fprintf(out,
            "usage: metaplast [--flag value ...]\n"
            "\n"
            "Meta-learns the coefficients theta of a plasticity rule that trains a 5-layer\n"
            "network through random feedback (Shervani-Tabar & Rosenbaum 2023). Each episode\n"
            "adapts a fresh network to a few-shot task with the rule; Adam then updates theta\n"
            "from the loss on the task's query images.\n"
            "\n"
            "Flags take `--name value` or `--name=value`.\n");
    for (int i = 0; i < NFLAGS; i++) {
        const flag *f = &flags[i];
        int section = f->scope == EVAL_ONLY ? 2 : f->ours;
        static const char *const headings[] = {
            "Flags of the release:", "Added by metaplast:",
            ("The meta-test (--eval; it also takes --database, --data_dir, --images, --labels,\n"
             "--M, --K, --Q, --dim, --classes, --res, --test_name, --threads, --gpu_mode; no other):")};
        if (i == 0 || section != (flags[i - 1].scope == EVAL_ONLY ? 2 : flags[i - 1].ours))
            fprintf(out, "\n%s\n", headings[section]);
        char range[512];
        describe_range(f, range, sizeof range);
        fprintf(out, "  --%s%s%s\n      %s\n", f->name, *f->metavar ? " " : "", f->metavar, f->help);
        if (f->kind == K_SWITCH)
            fprintf(out, "      (a switch: takes no value)\n");
        else if (f->kind == K_PATHS)
            fprintf(out, "      (one or more values)\n");
        else
            fprintf(out, "      default: %s%s%s\n", *f->def ? f->def : "''", *range ? "; " : "", range);
        if (f->resumable && strcmp(f->name, "resume") != 0 && strcmp(f->name, "run_dir") != 0)
            fprintf(out, "      (may differ from the stored value on --resume)\n");
    }
    fprintf(out, "  -h, --help\n      print this help and exit\n");
}

static int is_flag_token(const char *t) { return strncmp(t, "--", 2) == 0 || strcmp(t, "-h") == 0; }

/* Consumes the flag at argv[*i] and its values; advances *i past the values. */
static int parse_flag(int argc, char **argv, int *i, mp_config *cfg, mp_err *err) {
    const char *tok = argv[*i];
    if (strncmp(tok, "--", 2) != 0)
        return mp_errf(err, tok[0] == '-' ? "unknown flag '%s' (see --help)" : "unexpected argument '%s'", tok);
    const char *name = tok + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const flag *f = find_flag(name, len);
    if (!f) return mp_errf(err, "unknown flag '--%.*s' (see --help)", (int)len, name);
    cfg->given |= 1ULL << (f - flags);
    if (f->kind == K_PATHS) { /* one or more values: every following token that is not a flag */
        if (cfg->eval_n > 0)
            return mp_errf(err, "--%s is given twice: list every run directory after one --%s", f->name, f->name);
        cfg->eval_first = NULL;
        cfg->eval_dirs = argv + *i + 1;
        cfg->eval_n = 0;
        if (eq) { /* --eval=DIR: DIR is the first; the ones after it follow */
            if (!eq[1]) return mp_errf(err, "--%s: give at least one run directory", f->name);
            cfg->eval_first = eq + 1;
            cfg->eval_n = 1;
        }
        while (*i + 1 < argc && !is_flag_token(argv[*i + 1])) ++*i, cfg->eval_n++;
        if (cfg->eval_n == 0) return mp_errf(err, "--%s: give at least one run directory", f->name);
        return 0;
    }

    if (f->kind == K_SWITCH)
        return eq ? mp_errf(err, "--%s: takes no value, got '%s'", f->name, eq + 1) : set_value(f, "True", cfg, err);
    if (f->kind == K_VEC) { /* zero or more values: every following token that is not a flag */
        vec_clear(cfg);
        if (eq) return vec_append_list(f, eq + 1, cfg, err);
        while (*i + 1 < argc && !is_flag_token(argv[*i + 1]))
            if (vec_append_list(f, argv[++*i], cfg, err)) return -1;
        return 0;
    }
    if (eq) return set_value(f, eq + 1, cfg, err);
    if (*i + 1 >= argc || is_flag_token(argv[*i + 1])) return mp_errf(err, "--%s: missing value", f->name);
    return set_value(f, argv[++*i], cfg, err);
}

/* A bound on what one episode holds, checked before any data is loaded: the task's
 * images as floats for two draws (the current and the one drawn ahead) and, per step,
 * the input and the vectors the reverse sweep keeps (about 2048 floats). It is an
 * overestimate of what the trainer allocates, and the limit leaves the machine room. */
#define MAX_EPISODE_GIB 16.0

static int check_episode_memory(const mp_config *cfg, mp_err *err) {
    double n0 = (double)cfg->dim * cfg->dim, T = (double)cfg->M * cfg->K, NQ = (double)cfg->M * cfg->Q;
    double gib = 4.0 * (3.0 * (T + NQ) * n0 + 2048.0 * T) / (1024.0 * 1024.0 * 1024.0);
    if (gib <= MAX_EPISODE_GIB) return 0;
    return mp_errf(err, "--M/--K/--Q/--dim: an episode of M*K = %.0f steps and M*Q = %.0f queries on %dx%d images "
                   "needs about %.1f GiB, more than the %.0f GiB metaplast allows", T, NQ, cfg->dim, cfg->dim, gib,
                   MAX_EPISODE_GIB);
}

/* --run_dir names the run's directory itself: the flags that say where a run goes, or
 * that it goes nowhere, contradict it. */
static int check_run_dir(const mp_config *cfg, mp_err *err) {
    static const char *const others[] = {"resume", "res", "test_name", "gradcheck"};
    if (!cfg->run_dir[0]) return 0;
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        if (mp_config_given(cfg, others[i]))
            return mp_errf(err, "--run_dir: cannot be combined with --%s (--run_dir names the run's directory "
                           "itself%s)", others[i], strcmp(others[i], "gradcheck") == 0 ? "; --gradcheck writes none"
                           : strcmp(others[i], "resume") == 0 ? " and continues the run it holds" : "");
    return 0;
}

/* What the flags say together: --images with --labels (the database "idx"), and which
 * flags apply to a run or to --eval. */
static int check_combination(mp_config *cfg, mp_err *err) {
    int pair = cfg->images[0] || cfg->labels[0];
    if (pair && mp_config_given(cfg, "database") && strcmp(cfg->database, "idx") != 0)
        return mp_errf(err, "--images/--labels are a database of their own: drop --database %s (or give "
                       "--database idx)", cfg->database);
    if (pair) { /* zero tail: equal configs compare equal bytewise */
        memset(cfg->database, 0, sizeof cfg->database);
        memcpy(cfg->database, "idx", 3);
    }
    if (strcmp(cfg->database, "idx") == 0 && (!cfg->images[0] || !cfg->labels[0]))
        return mp_errf(err, "--database idx reads a user's IDX pair: give both --images FILE and --labels FILE");
    /* absolute, so that args.txt still names them from another directory */
    char *paths[2] = {cfg->images, cfg->labels};
    for (int i = 0; i < 2; i++) {
        char resolved[PATH_MAX];
        if (paths[i][0] && paths[i][0] != '/' && realpath(paths[i], resolved) && strlen(resolved) < MP_PATH_MAX) {
            memset(paths[i], 0, MP_PATH_MAX);
            memcpy(paths[i], resolved, strlen(resolved));
        }
    }
    for (int i = 0; i < NFLAGS; i++) {
        if (!(cfg->given >> i & 1)) continue;
        if (cfg->eval_n > 0 && flags[i].scope == 0)
            return mp_errf(err, "--%s does not apply to --eval: a judged rule's flags and theta come from its run "
                           "directory (see --help)", flags[i].name);
        if (cfg->eval_n == 0 && flags[i].scope == EVAL_ONLY)
            return mp_errf(err, "--%s applies only to the meta-test, --eval RUN_DIR ...", flags[i].name);
    }
    return 0;
}

int mp_cli_parse(int argc, char **argv, mp_config *cfg, FILE *out, FILE *err) {
    mp_config_defaults(cfg);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help(out);
            return MP_CLI_HELP;
        }
        mp_err e;
        if (parse_flag(argc, argv, &i, cfg, &e)) {
            fprintf(err, "metaplast: %s\n", e.msg);
            return MP_CLI_ERROR;
        }
    }
    mp_err e;
    if (check_combination(cfg, &e) != 0 || check_run_dir(cfg, &e) != 0 || check_episode_memory(cfg, &e) != 0) {
        fprintf(err, "metaplast: %s\n", e.msg);
        return MP_CLI_ERROR;
    }
    return MP_CLI_RUN;
}

static int write_value(const flag *f, const mp_config *cfg, FILE *out) {
    const void *p = cfield(f, cfg);
    switch (f->kind) {
    case K_INT: return fprintf(out, "%d", *(const int *)p);
    case K_LONG: return fprintf(out, "%ld", *(const long *)p);
    case K_LLONG: return fprintf(out, "%lld", *(const long long *)p);
    case K_DOUBLE: {
        char buf[32];
        mp_format_double(*(const double *)p, buf, sizeof buf);
        return fputs(buf, out);
    }
    case K_STRING:
    case K_CLASSES: return fputs((const char *)p, out);
    case K_PATHS:
        for (int i = 0; i < cfg->eval_n; i++)
            if (fprintf(out, "%s%s", i ? " " : "", mp_config_eval_dir(cfg, i)) < 0) return -1;
        return 0;
    case K_CHOICE:
    case K_SWITCH: return fputs(f->choices[*(const int *)p], out);
    case K_VEC:
        if (fputc('[', out) == EOF) return -1;
        for (int i = 0; i < cfg->nvec; i++)
            if (fprintf(out, "%s%d", i ? ", " : "", cfg->vec[i]) < 0) return -1;
        return fputc(']', out);
    }
    return -1;
}

int mp_config_write_args(const mp_config *cfg, FILE *f) {
    for (int i = 0; i < NFLAGS; i++) {
        if (flags[i].scope == EVAL_ONLY) continue;
        if (fprintf(f, "%s : ", flags[i].name) < 0 || write_value(&flags[i], cfg, f) < 0 || fputc('\n', f) == EOF)
            return -1;
    }
    return 0;
}

int mp_config_read_args(const char *path, mp_config *cfg, mp_err *err) {
    FILE *f = mp_fopen_regular(path, "r", err);
    if (!f) return -1;
    mp_config_defaults(cfg);
    long seen[NFLAGS] = {0}; /* the line that set each flag */
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (len == 0) continue;
        /* "name : value"; names have no blanks, so the first " :" ends the name */
        char *sep = strstr(line, " :");
        if (!sep) {
            rc = mp_errf(err, "%s:%ld: expected 'name : value', got '%s'", path, lineno, line);
            break;
        }
        const char *value = sep[2] == ' ' ? sep + 3 : sep + 2;
        const flag *fl = find_flag(line, (size_t)(sep - line));
        if (!fl || fl->scope == EVAL_ONLY) continue; /* not a run's flag: the data files and version that rundir adds */
        if (seen[fl - flags]) {
            rc = mp_errf(err, "%s:%ld: '%s' is given twice (also on line %ld)", path, lineno, fl->name,
                         seen[fl - flags]);
            break;
        }
        mp_err e;
        if (set_value(fl, value, cfg, &e)) rc = mp_errf(err, "%s:%ld: %s", path, lineno, e.msg);
        seen[fl - flags] = lineno;
    }
    if (rc == 0 && ferror(f)) rc = mp_errf(err, "cannot read '%s': %s", path, strerror(errno));
    for (int i = 0; i < NFLAGS && rc == 0; i++)
        if (!seen[i] && !flags[i].late) rc = mp_errf(err, "%s: no line for '%s'", path, flags[i].name);
    free(line);
    fclose(f);
    return rc;
}

unsigned mp_config_terms(const mp_config *cfg) { return mp_rule_mask(cfg->vec, cfg->nvec); }

mp_data_request mp_config_data_request(const mp_config *cfg) {
    return (mp_data_request){cfg->database, cfg->data_dir, cfg->dim, cfg->M, cfg->K + cfg->Q, cfg->images,
                             cfg->labels, cfg->classes};
}

const char *mp_config_eval_dir(const mp_config *cfg, int i) {
    if (cfg->eval_first) return i == 0 ? cfg->eval_first : cfg->eval_dirs[i - 1];
    return cfg->eval_dirs[i];
}

int mp_config_given(const mp_config *cfg, const char *name) {
    const flag *f = find_flag(name, strlen(name));
    return f && (cfg->given >> (f - flags) & 1);
}

static void value_text(const flag *f, const mp_config *cfg, char *buf, size_t cap);

int mp_config_binding(const mp_config *cfg, char *buf, size_t cap) {
    FILE *m = fmemopen(buf, cap, "w");
    if (!m) return -1;
    int rc = 0;
    mp_config defaults;
    mp_config_defaults(&defaults);
    for (int i = 0; i < NFLAGS && rc == 0; i++) {
        const flag *f = &flags[i];
        if (f->resumable || f->scope == EVAL_ONLY || strcmp(f->name, "res") == 0 || strcmp(f->name, "test_name") == 0)
            continue;
        if (f->late) { /* only when set: the binding of a run made before the flag existed stays the same */
            char now[MP_PATH_MAX + 64], def[MP_PATH_MAX + 64];
            value_text(f, cfg, now, sizeof now);
            value_text(f, &defaults, def, sizeof def);
            if (strcmp(now, def) == 0) continue;
        }
        if (fprintf(m, "%s : ", f->name) < 0 || write_value(f, cfg, m) < 0 || fputc('\n', m) == EOF) rc = -1;
    }
    if (fclose(m) != 0 || rc != 0) return -1;
    return strlen(buf) + 1 < cap ? 0 : -1;
}

static void value_text(const flag *f, const mp_config *cfg, char *buf, size_t cap) {
    memset(buf, 0, cap); /* an empty value writes nothing, and fmemopen may leave the old bytes */
    FILE *m = fmemopen(buf, cap, "w");
    if (!m) {
        snprintf(buf, cap, "?");
        return;
    }
    write_value(f, cfg, m);
    fclose(m);
}

int mp_config_for_resume(int argc, char **argv, const mp_config *stored, mp_config *out, mp_err *err) {
    *out = *stored;
    for (int i = 1; i < argc; i++)
        if (parse_flag(argc, argv, &i, out, err)) return -1;
    if (check_combination(out, err) != 0) return -1;
    for (int i = 0; i < NFLAGS; i++) {
        char was[MP_PATH_MAX + 64], now[MP_PATH_MAX + 64];
        value_text(&flags[i], stored, was, sizeof was);
        value_text(&flags[i], out, now, sizeof now);
        if (strcmp(was, now) != 0 && !flags[i].resumable)
            return mp_errf(err, "--%s: the run to resume was made with '%s', not '%s' (a resumed run keeps its flags)",
                           flags[i].name, was, now);
    }
    return 0;
}
