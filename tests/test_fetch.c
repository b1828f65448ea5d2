/* data/fetch-emnist.sh on a local zip laid out like NIST's gzip.zip, with fake files:
 * checksum mismatch (the real sums), success (sums given), files already there,
 * extraction by python3 when unzip is absent, and the missing-tool message. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static const char *const files[4] = {
    "emnist-balanced-test-images-idx3-ubyte.gz",
    "emnist-balanced-test-labels-idx1-ubyte.gz",
    "emnist-bymerge-test-images-idx3-ubyte.gz",
    "emnist-bymerge-test-labels-idx1-ubyte.gz",
};

typedef struct {
    char *dir; /* first: tu_dir_fixture_new / tu_dir_fixture_free */
    char script[4096];
    char out[16384];
} fixture;

static int have(const char *tool) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return tu_run(cmd, NULL, 0) == 0;
}

/* Runs a shell command built from fmt, output (stdout and stderr) into fx->out. */
static int run(fixture *fx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int run(fixture *fx, const char *fmt, ...) {
    char cmd[16384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd - 8, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd - 8);
    strcat(cmd, " 2>&1");
    int rc = tu_run(cmd, fx->out, sizeof fx->out);
    printf("$ %s -> %d\n%s", cmd, rc, fx->out);
    return rc;
}

static int dest_has(fixture *fx, const char *name) {
    char path[8192];
    snprintf(path, sizeof path, "%s/dest/%s", fx->dir, name);
    return access(path, F_OK) == 0;
}

/* In fx->dir: gzip/<the four files> with fake contents, gzip.zip holding them (plus
 * another member, as the real archive has many), partial.zip lacking one, and sums. */
static int setup(void **state) {
    fixture *fx = tu_dir_fixture_new(sizeof *fx);
    if (!fx) return -1;
    snprintf(fx->script, sizeof fx->script, "%s/data/fetch-emnist.sh", tu_source_dir());
    int rc = run(fx,
                 "cd '%s' && mkdir gzip && for f in %s %s %s %s emnist-other.gz; do "
                 "echo \"fake $f\" | gzip > gzip/$f; done && "
                 "(cd gzip && sha256sum emnist-b*.gz) > sums && "
                 "python3 -c 'import sys, zipfile\n"
                 "for name, members in ((\"gzip.zip\", sys.argv[1:]), (\"partial.zip\", sys.argv[2:])):\n"
                 "    with zipfile.ZipFile(name, \"w\") as z:\n"
                 "        for m in members: z.write(\"gzip/\" + m)' "
                 "%s %s %s %s emnist-other.gz",
                 fx->dir, files[0], files[1], files[2], files[3], files[0], files[1], files[2],
                 files[3]);
    *state = fx;
    return rc == 0 ? 0 : -1;
}

static void assert_dest_complete(fixture *fx) {
    for (int i = 0; i < 4; i++)
        assert_int_equal(run(fx, "cmp '%s/gzip/%s' '%s/dest/%s'", fx->dir, files[i], fx->dir, files[i]), 0);
}

/* NIST's checksums do not match the fake files: each is reported and deleted. */
static void test_mismatch_deletes(void **state) {
    fixture *fx = *state;
    assert_int_equal(run(fx, "'%s' --zip '%s/gzip.zip' --dest '%s/dest'", fx->script, fx->dir, fx->dir), 1);
    for (int i = 0; i < 4; i++) {
        char line[256];
        snprintf(line, sizeof line, "sha256 mismatch for %s: expected ", files[i]);
        assert_non_null(strstr(fx->out, line));
        assert_false(dest_has(fx, files[i]));
    }
    assert_non_null(strstr(fx->out, "117fc12b015e37ea98bfb2cbba3f77c3782c056cdbd219b87abfc8661d7135db"));
    /* No work directory left behind. */
    assert_int_equal(run(fx, "test -z \"$(ls -A '%s/dest')\"", fx->dir), 0);
}

static void test_success_and_rerun(void **state) {
    fixture *fx = *state;
    assert_int_equal(run(fx, "'%s' --zip '%s/gzip.zip' --dest '%s/dest' --sums '%s/sums'", fx->script,
                         fx->dir, fx->dir, fx->dir), 0);
    assert_dest_complete(fx);
    assert_false(dest_has(fx, "emnist-other.gz"));
    /* Everything there and intact: nothing to fetch, so no zip needed. */
    assert_int_equal(run(fx, "'%s' --zip /nonexistent.zip --dest '%s/dest' --sums '%s/sums'", fx->script,
                         fx->dir, fx->dir), 0);
    assert_non_null(strstr(fx->out, "already there"));
    /* A damaged file is deleted and fetched again; the others are kept. */
    assert_int_equal(run(fx, "echo damaged > '%s/dest/%s'", fx->dir, files[2]), 0);
    assert_int_equal(run(fx, "'%s' --zip '%s/gzip.zip' --dest '%s/dest' --sums '%s/sums'", fx->script,
                         fx->dir, fx->dir, fx->dir), 0);
    assert_non_null(strstr(fx->out, "sha256 mismatch for emnist-bymerge-test-images"));
    assert_non_null(strstr(fx->out, "ok: "));
    assert_dest_complete(fx);
}

static void test_member_missing(void **state) {
    fixture *fx = *state;
    assert_int_equal(run(fx, "'%s' --zip '%s/partial.zip' --dest '%s/dest' --sums '%s/sums'", fx->script,
                         fx->dir, fx->dir, fx->dir), 1);
    assert_non_null(strstr(fx->out, "cannot extract"));
}

static void test_bad_arguments(void **state) {
    fixture *fx = *state;
    assert_int_equal(run(fx, "'%s' --zip", fx->script), 1);
    assert_non_null(strstr(fx->out, "--zip needs a value"));
    assert_int_equal(run(fx, "'%s' --frobnicate", fx->script), 1);
    assert_non_null(strstr(fx->out, "unknown argument: --frobnicate"));
    assert_int_equal(run(fx, "'%s' --help", fx->script), 0);
    assert_non_null(strstr(fx->out, "Usage:"));
}

/* A PATH holding only the tools a fresh Debian has (and python3 if with_python),
 * so the script cannot find unzip. */
static void make_bin(fixture *fx, int with_python) {
    assert_int_equal(run(fx, "mkdir -p '%s/bin' && for t in bash dirname mkdir mktemp rm mv sha256sum cat; do "
                             "ln -sf \"$(command -v $t)\" '%s/bin/'; done",
                         fx->dir, fx->dir), 0);
    if (with_python)
        assert_int_equal(run(fx, "ln -sf \"$(python3 -c 'import sys; print(sys.executable)')\" '%s/bin/python3'",
                             fx->dir), 0);
}

static void test_python_extracts(void **state) {
    fixture *fx = *state;
    make_bin(fx, 1);
    assert_int_equal(run(fx, "PATH='%s/bin' '%s' --zip '%s/gzip.zip' --dest '%s/dest' --sums '%s/sums'",
                         fx->dir, fx->script, fx->dir, fx->dir, fx->dir), 0);
    assert_dest_complete(fx);
    assert_int_equal(run(fx, "PATH='%s/bin' '%s' --zip '%s/partial.zip' --dest '%s/dest2' --sums '%s/sums'",
                         fx->dir, fx->script, fx->dir, fx->dir, fx->dir), 1);
    assert_non_null(strstr(fx->out, "cannot extract"));
}

static void test_no_extractor(void **state) {
    fixture *fx = *state;
    make_bin(fx, 0);
    assert_int_equal(run(fx, "PATH='%s/bin' '%s' --zip '%s/gzip.zip' --dest '%s/dest' --sums '%s/sums'",
                         fx->dir, fx->script, fx->dir, fx->dir, fx->dir), 1);
    assert_non_null(strstr(fx->out, "apt-get install unzip"));
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, tu_dir_fixture_free)
    const struct CMUnitTest tests[] = {
        T(test_mismatch_deletes), T(test_success_and_rerun), T(test_member_missing),
        T(test_bad_arguments),    T(test_python_extracts),   T(test_no_extractor),
    };
#undef T
    /* python3 builds the test zip (and is the script's fallback extractor). */
    const char *const tools[] = {"bash", "sha256sum", "gzip", "python3"};
    for (int i = 0; i < 4; i++)
        if (!have(tools[i])) {
            printf("SKIPPED: %s not found (the fetch-emnist.sh tests need it)\n", tools[i]);
            return 0;
        }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
