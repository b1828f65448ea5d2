/* The command line: defaults, both flag syntaxes, --vec forms, every validation rule,
 * the help text, the data checks, and args.txt written and read back. */
#include "testutil.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/cli.h"
#include "model/rules.h"

static char out_text[32768], err_text[4096];

/* Runs mp_cli_parse on "metaplast" + args (NULL-terminated), capturing out and err. */
static int parse_list(mp_config *cfg, const char *const *args) {
    char *argv[64];
    int argc = 0;
    argv[argc++] = "metaplast";
    while (*args) argv[argc++] = (char *)*args++;
    char *obuf = NULL, *ebuf = NULL;
    size_t on = 0, en = 0;
    FILE *out = open_memstream(&obuf, &on), *err = open_memstream(&ebuf, &en);
    assert_non_null(out);
    assert_non_null(err);
    int rc = mp_cli_parse(argc, argv, cfg, out, err);
    fclose(out);
    fclose(err);
    snprintf(out_text, sizeof out_text, "%s", obuf);
    snprintf(err_text, sizeof err_text, "%s", ebuf);
    free(obuf);
    free(ebuf);
    return rc;
}
#define PARSE(cfg, ...) parse_list((cfg), (const char *const[]){__VA_ARGS__, NULL})

/* Every flag's name, written out independently of the parser's table. */
static const char *const all_flags[] = {"gpu_mode", "seed", "database", "dim", "test_name", "episodes", "K",
                                        "Q", "M", "lamb", "lr_meta", "a", "res", "avg_window", "vec", "fbk",
                                        "data_dir", "plot_every", "threads", "diverge", "gradcheck", "resume",
                                        "run_dir", "classes", "images", "labels"};
enum { NALL = sizeof all_flags / sizeof all_flags[0] };
/* The meta-test's own flags: in the help, never in a run's args.txt. */
static const char *const eval_flags[] = {"eval", "eval_tasks", "eval_seed", "eval_every"};

static void test_defaults(void **state) {
    (void)state;
    mp_config c;
    assert_int_equal(PARSE(&c, NULL), MP_CLI_RUN);
    assert_string_equal(err_text, "");
    assert_int_equal(c.gpu_mode, 1);
    assert_int_equal(c.seed, 1);
    assert_string_equal(c.database, "emnist");
    assert_int_equal(c.dim, 28);
    assert_string_equal(c.test_name, "");
    assert_int_equal(c.episodes, 600);
    assert_int_equal(c.K, 50);
    assert_int_equal(c.Q, 10);
    assert_int_equal(c.M, 5);
    assert_true(c.lamb == 0.0);
    assert_true(c.lr_meta == 1e-3);
    assert_true(c.a == 1e-3);
    assert_string_equal(c.res, "results");
    assert_int_equal(c.avg_window, 10);
    assert_int_equal(c.nvec, 0);
    assert_int_equal(c.fbk_sym, 0);
    assert_string_equal(c.data_dir, "data");
    assert_int_equal(c.plot_every, 0);
    assert_int_equal(c.threads, 2);
    assert_int_equal(c.diverge_skip, 0);
    assert_int_equal(c.gradcheck, 0);
    assert_string_equal(c.resume, "");

    mp_config d;
    mp_config_defaults(&d);
    assert_memory_equal(&c, &d, sizeof c);
}

static void test_both_syntaxes(void **state) {
    (void)state;
    mp_config c;
    assert_int_equal(PARSE(&c, "--K", "7", "--Q=3", "--M", "4", "--episodes=12", "--lamb", "0.5", "--lr_meta=2e-4",
                           "--a", "-2e-3", "--seed=-5", "--dim", "14", "--test_name=", "--res", "out dir",
                           "--database=emnist_bymerge", "--fbk=sym", "--gpu_mode", "0", "--avg_window=3",
                           "--data_dir", "../shared/data", "--plot_every=50", "--threads", "1", "--gradcheck", "--resume",
                           "r/x_1"),
                     MP_CLI_RUN);
    assert_string_equal(err_text, "");
    assert_int_equal(c.K, 7);
    assert_int_equal(c.Q, 3);
    assert_int_equal(c.M, 4);
    assert_int_equal(c.episodes, 12);
    assert_true(c.lamb == 0.5);
    assert_true(c.lr_meta == 2e-4);
    assert_true(c.a == -2e-3);
    assert_int_equal(c.seed, -5);
    assert_int_equal(c.dim, 14);
    assert_string_equal(c.test_name, "");
    assert_string_equal(c.res, "out dir");
    assert_string_equal(c.database, "emnist_bymerge");
    assert_int_equal(c.fbk_sym, 1);
    assert_int_equal(c.gpu_mode, 0);
    assert_int_equal(c.avg_window, 3);
    assert_string_equal(c.data_dir, "../shared/data");
    assert_int_equal(c.plot_every, 50);
    assert_int_equal(c.threads, 1);
    assert_int_equal(c.gradcheck, 1);
    assert_string_equal(c.resume, "r/x_1");

    /* the last occurrence wins, as with the release's argparse */
    assert_int_equal(PARSE(&c, "--K", "7", "--K=8"), MP_CLI_RUN);
    assert_int_equal(c.K, 8);
    /* the caps themselves are accepted, each alone (together they ask for more memory than
     * an episode may take: refused, see test_validation) */
    assert_int_equal(PARSE(&c, "--K", "100000", "--M", "1"), MP_CLI_RUN);
    assert_int_equal(PARSE(&c, "--Q", "100000", "--M", "1"), MP_CLI_RUN);
    assert_int_equal(PARSE(&c, "--M", "10000", "--K", "1", "--Q", "1"), MP_CLI_RUN);
    assert_int_equal(PARSE(&c, "--episodes", "1000000000", "--dim", "128", "--seed", "-9223372036854775808"),
                     MP_CLI_RUN);
    assert_int_equal(c.seed, LLONG_MIN);
    /* nested experiment names and tiny (normal) doubles are fine */
    assert_int_equal(PARSE(&c, "--test_name", "sweep/seed_1", "--lamb", "1e-300", "--a", "-0.5e-3"), MP_CLI_RUN);
    assert_string_equal(c.test_name, "sweep/seed_1");
}

static void test_vec_forms(void **state) {
    (void)state;
    mp_config c;
    assert_int_equal(PARSE(&c, "--vec", "1", "2", "--fbk", "fix"), MP_CLI_RUN);
    assert_int_equal(c.nvec, 2);
    assert_int_equal(c.vec[0], 1);
    assert_int_equal(c.vec[1], 2);
    assert_int_equal(c.fbk_sym, 0);

    assert_int_equal(PARSE(&c, "--vec", "2", "1"), MP_CLI_RUN); /* order kept */
    assert_int_equal(c.nvec, 2);
    assert_int_equal(c.vec[0], 2);

    assert_int_equal(PARSE(&c, "--vec"), MP_CLI_RUN);
    assert_int_equal(c.nvec, 0);
    assert_int_equal(PARSE(&c, "--vec", "--K", "3"), MP_CLI_RUN);
    assert_int_equal(c.nvec, 0);
    assert_int_equal(c.K, 3);

    assert_int_equal(PARSE(&c, "--vec=1"), MP_CLI_RUN);
    assert_int_equal(c.nvec, 1);
    assert_int_equal(c.vec[0], 1);

    assert_int_equal(PARSE(&c, "--vec", "1,2"), MP_CLI_RUN);
    assert_int_equal(c.nvec, 2);

    assert_int_equal(PARSE(&c, "--vec", "1", "--vec", "2"), MP_CLI_RUN); /* last wins */
    assert_int_equal(c.nvec, 1);
    assert_int_equal(c.vec[0], 2);

    /* `all`: every selectable term of the pool, in order, stored as the explicit list */
    const char *const alls[][3] = {{"--vec", "all", NULL}, {"--vec=all", NULL, NULL}, {"--vec", "[all]", NULL}};
    for (int f = 0; f < 3; f++) {
        assert_int_equal(parse_list(&c, alls[f]), MP_CLI_RUN);
        int want = 0;
        for (int k = 0; k < MP_RULE_COUNT; k++)
            if (mp_rule_is_selectable(k)) assert_int_equal(c.vec[want++], k);
        assert_int_equal(c.nvec, want);
        assert_int_equal(c.nvec, MP_RULE_COUNT - 1);
        assert_int_equal(mp_config_terms(&c), (1u << MP_RULE_COUNT) - 1);
    }
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_int_equal(mp_config_write_args(&c, f), 0);
    fclose(f);
    char want_line[256] = "vec : [";
    for (int k = 1; k < MP_RULE_COUNT; k++)
        snprintf(want_line + strlen(want_line), sizeof want_line - strlen(want_line), "%s%d", k > 1 ? ", " : "", k);
    strcat(want_line, "]\n");
    if (!strstr(buf, want_line)) fail_msg("args.txt of --vec all lacks '%s':\n%s", want_line, buf);
    free(buf);
    /* the terms' mask */
    assert_int_equal(PARSE(&c, "--vec", "2"), MP_CLI_RUN);
    assert_int_equal(mp_config_terms(&c), 0x5u);
    assert_int_equal(PARSE(&c, NULL), MP_CLI_RUN);
    assert_int_equal(mp_config_terms(&c), 0x1u);
    /* --diverge */
    assert_int_equal(PARSE(&c, "--diverge", "skip"), MP_CLI_RUN);
    assert_int_equal(c.diverge_skip, 1);
    assert_int_equal(PARSE(&c, "--diverge=stop"), MP_CLI_RUN);
    assert_int_equal(c.diverge_skip, 0);
}

/* --diverge may change on --resume (it decides only what a divergence to come does);
 * --vec, like every flag that changes numbers, may not. */
static void test_resume_flags(void **state) {
    (void)state;
    mp_config stored, out;
    mp_config_defaults(&stored);
    mp_err err;
    char *argv1[] = {"metaplast", "--resume", "r", "--diverge", "skip", NULL};
    assert_int_equal(mp_config_for_resume(5, argv1, &stored, &out, &err), 0);
    assert_int_equal(out.diverge_skip, 1);
    char *argv2[] = {"metaplast", "--resume", "r", "--vec", "1", NULL};
    assert_int_equal(mp_config_for_resume(5, argv2, &stored, &out, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "--vec"));
    /* the binding (what a checkpoint is tied to) does not hold --diverge */
    char a[2048], b[2048];
    assert_int_equal(mp_config_binding(&stored, a, sizeof a), 0);
    stored.diverge_skip = 1;
    assert_int_equal(mp_config_binding(&stored, b, sizeof b), 0);
    assert_string_equal(a, b);
    assert_null(strstr(a, "diverge"));
}

/* Each rule: the arguments, then strings the message must contain (the flag, the value). */
static const struct {
    const char *args[8];
    const char *needs[3];
} invalid[] = {
    /* unknown flags, stray arguments, missing values */
    {{"--nope", "1"}, {"unknown flag", "--nope"}},
    {{"--nope=1"}, {"unknown flag", "--nope"}},
    {{"-K", "5"}, {"unknown flag", "-K"}},
    {{"--k", "5"}, {"unknown flag", "--k"}},
    {{"stray"}, {"unexpected argument", "stray"}},
    {{"--K", "5", "6"}, {"unexpected argument", "'6'"}},
    {{"--K"}, {"--K", "missing value"}},
    {{"--K", "--M", "5"}, {"--K", "missing value"}},
    {{"--test_name", "-h"}, {"--test_name", "missing value"}},
    {{"--gradcheck=1"}, {"--gradcheck", "no value", "'1'"}},
    /* not numbers, or partly numbers */
    {{"--K", "abc"}, {"--K", "'abc'", "not an integer"}},
    {{"--K=abc"}, {"--K", "'abc'", "not an integer"}},
    {{"--K", "12abc"}, {"--K", "'12abc'", "not an integer"}},
    {{"--K", ""}, {"--K", "''", "not an integer"}},
    {{"--K", " 5"}, {"--K", "' 5'", "not an integer"}},
    {{"--K", "5.0"}, {"--K", "'5.0'", "not an integer"}},
    {{"--episodes", "1e12"}, {"--episodes", "'1e12'", "not an integer"}},
    {{"--seed", "0x10"}, {"--seed", "'0x10'", "not an integer"}},
    {{"--lamb", "x0.1"}, {"--lamb", "'x0.1'", "not a number"}},
    {{"--lr_meta", "0.1x"}, {"--lr_meta", "'0.1x'", "not a number"}},
    {{"--a", ""}, {"--a", "''", "not a number"}},
    /* out of range */
    {{"--episodes", "0"}, {"--episodes", "'0'", "out of range"}},
    {{"--K", "0"}, {"--K", "'0'", "out of range"}},
    {{"--Q", "0"}, {"--Q", "'0'", "out of range"}},
    {{"--M", "0"}, {"--M", "'0'", "out of range"}},
    {{"--M", "-3"}, {"--M", "'-3'", "out of range"}},
    {{"--dim", "0"}, {"--dim", "'0'", "out of range"}},
    {{"--avg_window", "0"}, {"--avg_window", "'0'", "out of range"}},
    {{"--plot_every", "-1"}, {"--plot_every", "'-1'", "out of range"}},
    {{"--threads", "0"}, {"--threads", "'0'", "out of range"}},
    {{"--threads", "3"}, {"--threads", "'3'", "out of range"}},
    {{"--gpu_mode", "2"}, {"--gpu_mode", "'2'", "0 or 1"}},
    {{"--lr_meta", "0"}, {"--lr_meta", "'0'", "> 0"}},
    {{"--lr_meta", "-1e-3"}, {"--lr_meta", "'-1e-3'", "> 0"}},
    {{"--lamb", "-0.1"}, {"--lamb", "'-0.1'", ">= 0"}},
    {{"--fbk", "foo"}, {"--fbk", "'foo'", "fix, sym"}},
    {{"--fbk", "FIX"}, {"--fbk", "'FIX'", "fix, sym"}},
    {{"--vec", "10"}, {"--vec", "'10'", "rule pool, 1 to "}},
    {{"--vec", "0"}, {"--vec", "'0'", "rule pool, 1 to "}},
    {{"--vec", "-1"}, {"--vec", "'-1'", "rule pool, 1 to "}},
    {{"--vec", "x"}, {"--vec", "'x'", "not an integer (from the rule pool, 1 to "}},
    {{"--vec", "alll"}, {"--vec", "'alll'", "or all"}},
    {{"--vec", "1", "1"}, {"--vec", "1 is given twice", "rule pool, 1 to "}},
    {{"--vec=2,2"}, {"--vec", "2 is given twice", "each at most once"}},
    {{"--vec", "all", "1"}, {"--vec", "1 is given twice", "or all"}},
    {{"--vec", "1", "all"}, {"--vec", "1 is given twice", "rule pool"}},
    {{"--diverge", "continue"}, {"--diverge", "'continue'", "stop, skip"}},
    {{"--diverge"}, {"--diverge", "missing value"}},
    {{"--database", "mnist"}, {"--database", "'mnist'", "emnist, emnist_bymerge, fashion_mnist"}},
    {{"--res", ""}, {"--res", "''", "must not be empty"}},
    {{"--data_dir="}, {"--data_dir", "''", "must not be empty"}},
    {{"--test_name", "a\nb"}, {"--test_name", "line break"}},
    /* NaN and Inf in every float flag */
    {{"--lamb", "nan"}, {"--lamb", "'nan'", "not a finite number"}},
    {{"--lr_meta", "inf"}, {"--lr_meta", "'inf'", "not a finite number"}},
    {{"--a", "-inf"}, {"--a", "'-inf'", "not a finite number"}},
    {{"--a", "NaN"}, {"--a", "'NaN'", "not a finite number"}},
    {{"--lamb", "1e999"}, {"--lamb", "'1e999'", "not a finite number"}},
    /* decimal only, and no silent underflow to 0 (issue 10, item 11) */
    {{"--lr_meta", "0x10"}, {"--lr_meta", "'0x10'", "not a number"}},
    {{"--a", "0x1p-3"}, {"--a", "'0x1p-3'", "not a number"}},
    {{"--a", "1e-400"}, {"--a", "'1e-400'", "cannot be held by a double"}},
    {{"--lamb", "4e-320"}, {"--lamb", "'4e-320'", "cannot be held by a double"}},
    /* --test_name stays below --res */
    {{"--test_name", "../x"}, {"--test_name", "'../x'", "below --res"}},
    {{"--test_name", "/tmp/x"}, {"--test_name", "'/tmp/x'", "below --res"}},
    {{"--test_name", "a/../../b"}, {"--test_name", "below --res"}},
    {{"--test_name", "a/./b"}, {"--test_name", "below --res"}},
    {{"--test_name", ".."}, {"--test_name", "below --res"}},
    /* --run_dir names the run's directory: not with the flags that say where a run goes */
    {{"--run_dir", "d", "--resume", "r"}, {"--run_dir", "--resume"}},
    {{"--resume=r", "--run_dir=d"}, {"--run_dir", "--resume"}},
    {{"--run_dir", "d", "--test_name", "t"}, {"--run_dir", "--test_name"}},
    {{"--run_dir", "d", "--res", "results"}, {"--run_dir", "--res"}},
    {{"--gradcheck", "--run_dir", "d"}, {"--run_dir", "--gradcheck"}},
    /* what an episode would hold, before any data is read (issue 10, item 8) */
    {{"--dim", "128", "--K", "100000"}, {"--M/--K/--Q/--dim", "GiB"}},
    {{"--M", "10000", "--K", "10000", "--Q", "10000"}, {"--M/--K/--Q/--dim", "more than the 16 GiB"}},
    /* adversarial sizes: caps and overflow */
    {{"--episodes", "1000000001"}, {"--episodes", "'1000000001'", "1 to 1000000000"}},
    {{"--K", "1000000000"}, {"--K", "'1000000000'", "1 to 100000"}},
    {{"--Q", "100001"}, {"--Q", "'100001'", "1 to 100000"}},
    {{"--M", "10001"}, {"--M", "'10001'", "1 to 10000"}},
    {{"--dim", "100000"}, {"--dim", "'100000'", "1 to 128"}},
    {{"--avg_window", "2147483648"}, {"--avg_window", "'2147483648'", "out of range"}},
    {{"--seed", "9223372036854775808"}, {"--seed", "'9223372036854775808'", "out of range"}},
    {{"--episodes", "-99999999999999999999"}, {"--episodes", "'-99999999999999999999'", "out of range"}},
    {{"--vec", "99999999999999999999"}, {"--vec", "'99999999999999999999'", "rule pool"}},
};

static void test_validation(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        mp_config c;
        int rc = parse_list(&c, invalid[i].args);
        int named = strncmp(err_text, "metaplast: ", 11) == 0;
        for (int k = 0; k < 3 && invalid[i].needs[k]; k++) named = named && strstr(err_text, invalid[i].needs[k]);
        if (rc != MP_CLI_ERROR || !named)
            fail_msg("case %zu (%s %s): rc %d, message: %s", i, invalid[i].args[0],
                     invalid[i].args[1] ? invalid[i].args[1] : "", rc, err_text);
    }
}

static void test_too_long_string(void **state) {
    (void)state;
    char name[300];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    mp_config c;
    assert_int_equal(PARSE(&c, "--test_name", name), MP_CLI_ERROR);
    assert_non_null(strstr(err_text, "--test_name"));
    assert_non_null(strstr(err_text, "too long"));
    name[255] = '\0'; /* 255 bytes fit in test_name[256] */
    assert_int_equal(PARSE(&c, "--test_name", name), MP_CLI_RUN);
}

static void test_help(void **state) {
    (void)state;
    mp_config c;
    assert_int_equal(PARSE(&c, "--help"), MP_CLI_HELP);
    assert_string_equal(err_text, "");
    for (int i = 0; i < NALL; i++) {
        char with_value[64], switch_only[64];
        snprintf(with_value, sizeof with_value, "\n  --%s ", all_flags[i]);
        snprintf(switch_only, sizeof switch_only, "\n  --%s\n", all_flags[i]);
        if (!strstr(out_text, with_value) && !strstr(out_text, switch_only))
            fail_msg("help does not list --%s", all_flags[i]);
    }
    for (size_t i = 0; i < sizeof eval_flags / sizeof eval_flags[0]; i++) {
        char with_value[64];
        snprintf(with_value, sizeof with_value, "\n  --%s ", eval_flags[i]);
        if (!strstr(out_text, with_value)) fail_msg("help does not list --%s", eval_flags[i]);
    }
    static const char *const facts[] = {"-h, --help", "default: 50", "default: 1e-3", "default: emnist",
                                        "default: ''", "default: []", "default: fix", "default: results",
                                        "runs on the CPU", "1 = eHebb", "2 = Oja", "feedback alignment",
                                        "backprop", "emnist_bymerge", "fashion_mnist", "--name=value",
                                        "`--vec all` is the whole pool", "default: stop", "stop|skip",
                                        "10 in a row"};
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
        if (!strstr(out_text, facts[i])) fail_msg("help lacks '%s'", facts[i]);
    /* -h works too, also after other flags */
    assert_int_equal(PARSE(&c, "--K", "3", "-h"), MP_CLI_HELP);
    assert_non_null(strstr(out_text, "--gradcheck"));
}

/* The args.txt lines of c, into a buffer the caller owns. */
static void args_text(const mp_config *c, char *text, size_t cap) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    assert_int_equal(mp_config_write_args(c, f), 0);
    fclose(f);
    assert_true(n < cap);
    memcpy(text, buf, n + 1);
    free(buf);
}

static void test_write_args_format(void **state) {
    (void)state;
    mp_config c;
    assert_int_equal(PARSE(&c, "--vec", "1", "2"), MP_CLI_RUN);
    char text[16384];
    args_text(&c, text, sizeof text);
    static const char *const lines[] = {"gpu_mode : 1\n", "seed : 1\n", "database : emnist\n", "dim : 28\n",
                                        "test_name : \n", "episodes : 600\n", "K : 50\n", "lamb : 0\n",
                                        "lr_meta : 0.001\n", "a : 0.001\n", "res : results\n", "vec : [1, 2]\n",
                                        "fbk : fix\n", "threads : 2\n", "diverge : stop\n", "gradcheck : False\n",
                                        "resume : \n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(text, lines[i])) fail_msg("args lack '%s' in:\n%s", lines[i], text);
    /* one line per flag */
    int nlines = 0;
    for (const char *p = text; *p; p++) nlines += *p == '\n';
    assert_int_equal(nlines, NALL);
}

static void test_args_round_trip(void **state) {
    (void)state;
    char *dir = tu_mkdtemp();
    assert_non_null(dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/args.txt", dir);

    mp_config c, back;
    assert_int_equal(PARSE(&c, "--seed", "-9223372036854775808", "--lamb", "0.1", "--a", "-0.3333333333333333",
                           "--lr_meta", "1e-300", "--test_name", " sweep : a/b ", "--vec", "2", "1", "--fbk", "sym",
                           "--diverge", "skip", "--gradcheck", "--res", "/tmp/r", "--database", "fashion_mnist", "--episodes", "999999999"),
                     MP_CLI_RUN);
    char text[16384], again[16384], with_extras[16640];
    args_text(&c, text, sizeof text);
    /* rundir appends these; the reader skips lines that are not flags */
    snprintf(with_extras, sizeof with_extras, "%simages_file : x.gz\nlabels_file : y.gz\nversion : 0.3.0\n", text);
    assert_int_equal(tu_write_text(path, with_extras), 0);
    mp_err err;
    assert_int_equal(mp_config_read_args(path, &back, &err), 0);
    c.given = 0; /* which flags the command line gave: args.txt does not say */
    assert_memory_equal(&c, &back, sizeof c); /* both start zeroed by mp_config_defaults */
    args_text(&back, again, sizeof again);
    assert_string_equal(text, again);

    /* defaults round-trip too */
    mp_config_defaults(&c);
    args_text(&c, text, sizeof text);
    assert_int_equal(tu_write_text(path, text), 0);
    assert_int_equal(mp_config_read_args(path, &back, &err), 0);
    assert_memory_equal(&c, &back, sizeof c);

    /* args.txt of a run from before --run_dir (a late flag) has no line for it: it is '' */
    char *run_dir_line = strstr(text, "run_dir : ");
    assert_non_null(run_dir_line);
    memmove(run_dir_line, strchr(run_dir_line, '\n') + 1, strlen(strchr(run_dir_line, '\n') + 1) + 1);
    assert_int_equal(tu_write_text(path, text), 0);
    assert_int_equal(mp_config_read_args(path, &back, &err), 0);
    assert_memory_equal(&c, &back, sizeof c);
    args_text(&c, text, sizeof text);

    /* a bad value names the file, the line and the flag */
    assert_int_equal(tu_write_text(path, "K : 0\n"), 0);
    assert_int_equal(mp_config_read_args(path, &back, &err), -1);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, ":1:"));
    assert_non_null(strstr(err.msg, "--K"));

    /* a missing flag is refused */
    char *resume_line = strstr(text, "resume : ");
    assert_non_null(resume_line);
    resume_line[0] = '\0'; /* drop its line and every one after it */
    assert_int_equal(tu_write_text(path, text), 0);
    assert_int_equal(mp_config_read_args(path, &back, &err), -1);
    assert_non_null(strstr(err.msg, "resume"));

    /* garbage */
    assert_int_equal(tu_write_text(path, "this is not an args file\n"), 0);
    assert_int_equal(mp_config_read_args(path, &back, &err), -1);
    assert_non_null(strstr(err.msg, ":1:"));

    /* a file that is not there */
    snprintf(path, sizeof path, "%s/missing.txt", dir);
    assert_int_equal(mp_config_read_args(path, &back, &err), -1);
    assert_non_null(strstr(err.msg, path));

    tu_rmtree(dir);
    free(dir);
}

/* --classes: ranges and single labels, held in one canonical form; bad lists refused by name. */
static void test_classes(void **state) {
    (void)state;
    mp_config c;
    assert_int_equal(PARSE(&c, "--lamb", "-0"), MP_CLI_RUN); /* -0 is 0 (one text in args.txt) */
    assert_false(signbit(c.lamb));
    assert_int_equal(PARSE(&c, "--classes", "20-29,0-9"), MP_CLI_RUN);
    assert_string_equal(c.classes, "0-9,20-29");
    assert_int_equal(PARSE(&c, "--classes", "3,1,2,7"), MP_CLI_RUN);
    assert_string_equal(c.classes, "1-3,7");
    assert_int_equal(PARSE(&c, "--classes", "255"), MP_CLI_RUN);
    assert_string_equal(c.classes, "255");
    static const char *const bad[][2] = {{"9-3", "backwards"},   {"1,2,2", "listed twice"}, {"0-9,5", "listed twice"},
                                         {"256", "0 to 255"},    {"a-b", "not a list"},     {"1,", "not a list"},
                                         {"1-", "not a list"},   {"-3", "not a list"},      {"1 2", "not a list"},
                                         {"0x3", "not a list"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(PARSE(&c, "--classes", bad[i][0]), MP_CLI_ERROR);
        printf("  --classes %s: %s", bad[i][0], err_text);
        if (!strstr(err_text, bad[i][1]) || !strstr(err_text, bad[i][0]))
            fail_msg("--classes %s: expected '%s' and the value in: %s", bad[i][0], bad[i][1], err_text);
    }
    /* in the binding only when given: the runs made before --classes existed keep theirs */
    char binding[4096];
    assert_int_equal(PARSE(&c, "--seed", "3"), MP_CLI_RUN);
    assert_int_equal(mp_config_binding(&c, binding, sizeof binding), 0);
    assert_null(strstr(binding, "classes"));
    assert_int_equal(PARSE(&c, "--classes", "0-35"), MP_CLI_RUN);
    assert_int_equal(mp_config_binding(&c, binding, sizeof binding), 0);
    assert_non_null(strstr(binding, "classes : 0-35\n"));
    /* not resumable: a resumed run keeps its classes */
    mp_config stored = c, out;
    mp_err err;
    char *argv1[] = {"metaplast", "--resume", "r", "--classes", "0-36", NULL};
    assert_int_equal(mp_config_for_resume(5, argv1, &stored, &out, &err), -1);
    printf("  %s\n", err.msg);
    assert_non_null(strstr(err.msg, "--classes"));
    char *argv2[] = {"metaplast", "--resume", "r", "--classes", "35,0-34", NULL};
    assert_int_equal(mp_config_for_resume(5, argv2, &stored, &out, &err), 0); /* the same list */
}

/* --images/--labels: a database of one's own, "idx"; --eval takes only the flags it uses. */
static void test_idx_pair_and_eval_scope(void **state) {
    (void)state;
    mp_config c;
    assert_int_equal(PARSE(&c, "--images", "/x/i.gz", "--labels", "/x/l.gz"), MP_CLI_RUN);
    assert_string_equal(c.database, "idx");
    assert_int_equal(PARSE(&c, "--database", "idx", "--images", "/x/i.gz", "--labels", "/x/l.gz"), MP_CLI_RUN);
    struct {
        const char *args[6], *needle;
    } bad[] = {
        {{"--images", "/x/i.gz"}, "both --images FILE and --labels FILE"},
        {{"--database", "idx"}, "both --images FILE and --labels FILE"},
        {{"--database", "emnist", "--images", "/x/i", "--labels", "/x/l"}, "drop --database emnist"},
        {{"--eval", "r1", "--fbk", "sym"}, "--fbk does not apply to --eval"},
        {{"--eval", "r1", "r2", "--seed", "2"}, "--seed does not apply to --eval"},
        {{"--eval", "r1", "--resume", "r1"}, "--resume does not apply to --eval"},
        {{"--eval_tasks", "10"}, "--eval_tasks applies only to the meta-test"},
        {{"--eval"}, "at least one run directory"},
        {{"--eval", "r1", "--eval", "r2"}, "--eval is given twice"},
        {{"--eval="}, "at least one run directory"},
        {{"--eval", "r1", "--eval_tasks", "1"}, "out of range"},
        {{"--eval", "r1", "--eval_every", "0"}, "out of range"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[8] = {0};
        int n = 0;
        while (n < 6 && bad[i].args[n]) argv[n] = bad[i].args[n], n++;
        assert_int_equal(parse_list(&c, argv), MP_CLI_ERROR);
        printf("  %s", err_text);
        if (!strstr(err_text, bad[i].needle)) fail_msg("expected '%s' in: %s", bad[i].needle, err_text);
    }
    assert_int_equal(PARSE(&c, "--eval", "r1", "r2", "--M", "4", "--classes", "0-9", "--eval_tasks", "7"), MP_CLI_RUN);
    assert_int_equal(c.eval_n, 2);
    assert_string_equal(c.eval_dirs[0], "r1");
    assert_string_equal(c.eval_dirs[1], "r2");
    assert_int_equal(c.eval_tasks, 7);
    assert_true(mp_config_given(&c, "M"));
    assert_false(mp_config_given(&c, "K"));
    assert_int_equal(PARSE(&c, "--eval=r0", "r1", "--K", "4"), MP_CLI_RUN);
    assert_int_equal(c.eval_n, 2);
    assert_string_equal(mp_config_eval_dir(&c, 0), "r0");
    assert_string_equal(mp_config_eval_dir(&c, 1), "r1");
    /* the eval flags never reach a run's args.txt */
    char text[16384];
    args_text(&c, text, sizeof text);
    assert_null(strstr(text, "eval"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),         cmocka_unit_test(test_both_syntaxes),
        cmocka_unit_test(test_vec_forms),        cmocka_unit_test(test_resume_flags),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_too_long_string),  cmocka_unit_test(test_help),
        cmocka_unit_test(test_write_args_format),
        cmocka_unit_test(test_args_round_trip),  cmocka_unit_test(test_classes),
        cmocka_unit_test(test_idx_pair_and_eval_scope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
