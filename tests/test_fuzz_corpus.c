/* The fuzzers' corpora as regression tests, without libFuzzer: every file of
 * tests/fuzz/corpus_<name>/ goes through the entry point of tests/fuzz/fuzz_<name>.c,
 * compiled in here under another name. An entry point aborts when an input breaks one of
 * its checks; under METAPLAST_SANITIZE, ASan/UBSan also catch what the fuzzer would. */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LLVMFuzzerTestOneInput fuzz_idx_entry
#include "fuzz/fuzz_idx.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cli_entry
#include "fuzz/fuzz_cli.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_checkpoint_entry
#include "fuzz/fuzz_checkpoint.c"
#undef LLVMFuzzerTestOneInput

typedef int (*entry_fn)(const uint8_t *, size_t);

static const struct {
    const char *name; /* corpus_<name> */
    entry_fn entry;
} targets[] = {
    {"idx", fuzz_idx_entry},
    {"cli", fuzz_cli_entry},
    {"checkpoint", fuzz_checkpoint_entry},
};
enum { NTARGETS = sizeof targets / sizeof targets[0] };

static char current[4900]; /* the input being run, for the abort handler */

static void on_abort(int sig) {
    static const char msg[] = "\ntest_fuzz_corpus: this input broke a check of its fuzz target: ";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    ignored = write(2, current, strlen(current));
    ignored = write(2, "\n", 1);
    (void)ignored;
    signal(sig, SIG_DFL);
    raise(sig);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs every file of dir through entry; returns how many. */
static int replay(const char *dir, entry_fn entry, size_t *bytes) {
    DIR *d = opendir(dir);
    if (!d) fail_msg("cannot open %s", dir);
    char *names[4096];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            if (n == 4096) fail_msg("%s holds more than 4096 files: minimise it (-merge=1)", dir);
            names[n++] = strdup(e->d_name);
        }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], by_name);
    for (int i = 0; i < n; i++) {
        snprintf(current, sizeof current, "%s/%s", dir, names[i]);
        FILE *f = fopen(current, "rb");
        if (!f) fail_msg("cannot open %s", current);
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, got;
        do {
            if (len == cap) {
                cap = cap ? 2 * cap : 4096;
                buf = realloc(buf, cap);
                assert_non_null(buf);
            }
            got = fread(buf + len, 1, cap - len, f);
            len += got;
        } while (got > 0);
        fclose(f);
        /* an exact-size heap copy, as libFuzzer passes it */
        uint8_t *input = malloc(len ? len : 1);
        assert_non_null(input);
        memcpy(input, buf, len);
        free(buf);
        assert_int_equal(entry(input, len), 0);
        free(input);
        *bytes += len;
        free(names[i]);
    }
    current[0] = '\0';
    return n;
}

static void test_corpora(void **state) {
    (void)state;
    signal(SIGABRT, on_abort); /* over cmocka's handler: name the input, then die */
    char fuzz_dir[4200], dir[4600];
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/tests/fuzz", tu_source_dir());
    DIR *d = opendir(fuzz_dir);
    if (!d) fail_msg("cannot open %s (set METAPLAST_SOURCE_DIR)", fuzz_dir);
    int seen[NTARGETS] = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "corpus_", 7) != 0) continue;
        int t = 0;
        while (t < NTARGETS && strcmp(targets[t].name, e->d_name + 7) != 0) t++;
        if (t == NTARGETS)
            fail_msg("%s/%s has no entry point here: add fuzz_%s's to tests/test_fuzz_corpus.c", fuzz_dir, e->d_name,
                     e->d_name + 7);
        snprintf(dir, sizeof dir, "%s/%s", fuzz_dir, e->d_name);
        size_t bytes = 0;
        int files = replay(dir, targets[t].entry, &bytes);
        printf("  %-18s %4d inputs, %7zu bytes: all pass fuzz_%s's checks\n", e->d_name, files, bytes,
               targets[t].name);
        assert_true(files > 0);
        seen[t] = 1;
    }
    closedir(d);
    for (int t = 0; t < NTARGETS; t++)
        if (!seen[t]) fail_msg("%s/corpus_%s is missing", fuzz_dir, targets[t].name);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpora)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
