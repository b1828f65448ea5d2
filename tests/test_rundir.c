/* The results tree: layout, never-reused run directories (also across processes),
 * errors naming the path, and args.txt read back. */
#include "testutil.h"

#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metaplast/rundir.h"

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* path is prefix + "/" + <YYYY-mm-dd_HH-MM-SS>_<n> */
static void assert_run_dir_under(const char *path, const char *prefix) {
    size_t n = strlen(prefix);
    assert_memory_equal(path, prefix, n);
    assert_int_equal(path[n], '/');
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}-[0-9]{2}-[0-9]{2}_[1-9][0-9]*$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    if (regexec(&re, path + n + 1, 0, NULL, 0) != 0) fail_msg("bad run directory name '%s'", path + n + 1);
    regfree(&re);
    assert_true(is_dir(path));
}

static void test_layout(void **state) {
    (void)state;
    char *tmp = tu_mkdtemp();
    char res[4200], prefix[4300], run[8192];
    mp_err err;

    /* <res>/<test_name>/..., every missing parent created */
    snprintf(res, sizeof res, "%s/a/b", tmp);
    assert_int_equal(mp_rundir_create(res, "sweep/s1", run, sizeof run, &err), 0);
    snprintf(prefix, sizeof prefix, "%s/sweep/s1", res);
    assert_run_dir_under(run, prefix);

    /* an empty test_name puts runs right under res */
    assert_int_equal(mp_rundir_create(res, "", run, sizeof run, &err), 0);
    assert_run_dir_under(run, res);

    /* a trailing slash and doubled slashes are harmless */
    snprintf(res, sizeof res, "%s//c/", tmp);
    assert_int_equal(mp_rundir_create(res, "t", run, sizeof run, &err), 0);
    snprintf(prefix, sizeof prefix, "%s//c//t", tmp);
    assert_true(is_dir(prefix));

    /* too small an output buffer is an error, not a truncated path */
    assert_int_equal(mp_rundir_create(res, "t", run, 8, &err), -1);
    assert_non_null(strstr(err.msg, "too long"));

    tu_rmtree(tmp);
    free(tmp);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void assert_all_distinct(char **paths, int n) {
    qsort(paths, (size_t)n, sizeof *paths, cmp_str);
    for (int i = 1; i < n; i++)
        if (strcmp(paths[i - 1], paths[i]) == 0) fail_msg("run directory '%s' given twice", paths[i]);
}

enum { RUNS = 40 };

/* Many runs in the same second each get their own directory. */
static void test_unique_in_one_process(void **state) {
    (void)state;
    char *tmp = tu_mkdtemp();
    char *paths[RUNS];
    mp_err err;
    for (int i = 0; i < RUNS; i++) {
        paths[i] = malloc(8192);
        assert_int_equal(mp_rundir_create(tmp, "x", paths[i], 8192, &err), 0);
        assert_true(is_dir(paths[i]));
    }
    assert_all_distinct(paths, RUNS);
    char base[4200];
    snprintf(base, sizeof base, "%s/x", tmp);
    assert_int_equal(count_entries(base), RUNS);
    for (int i = 0; i < RUNS; i++) free(paths[i]);
    tu_rmtree(tmp);
    free(tmp);
}

/* Two processes racing: each claims RUNS directories; none is claimed twice. */
static void test_unique_across_processes(void **state) {
    (void)state;
    char *tmp = tu_mkdtemp();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pids[2];
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            close(fds[0]);
            FILE *w = fdopen(fds[1], "w");
            for (int i = 0; i < RUNS; i++) {
                char run[8192];
                mp_err err;
                if (mp_rundir_create(tmp, "race", run, sizeof run, &err) != 0) _exit(1);
                fprintf(w, "%s\n", run);
            }
            _exit(fclose(w) == 0 ? 0 : 1);
        }
    }
    close(fds[1]);
    FILE *r = fdopen(fds[0], "r");
    char *paths[2 * RUNS];
    char line[8192];
    int n = 0;
    while (n < 2 * RUNS && fgets(line, sizeof line, r)) {
        line[strcspn(line, "\n")] = '\0';
        paths[n++] = strdup(line);
    }
    fclose(r);
    for (int p = 0; p < 2; p++) {
        int status;
        assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(n, 2 * RUNS);
    assert_all_distinct(paths, n);
    char base[4200];
    snprintf(base, sizeof base, "%s/race", tmp);
    assert_int_equal(count_entries(base), 2 * RUNS);
    for (int i = 0; i < n; i++) free(paths[i]);
    tu_rmtree(tmp);
    free(tmp);
}

/* A file where a directory should be: the error names the path. */
static void test_file_in_the_way(void **state) {
    (void)state;
    char *tmp = tu_mkdtemp();
    char res[4200], run[8192];
    mp_err err;
    snprintf(res, sizeof res, "%s/res", tmp);
    assert_int_equal(tu_write_text(res, "not a directory\n"), 0);

    assert_int_equal(mp_rundir_create(res, "", run, sizeof run, &err), -1);
    assert_non_null(strstr(err.msg, res));
    assert_non_null(strstr(err.msg, "not a directory"));

    assert_int_equal(mp_rundir_create(res, "name", run, sizeof run, &err), -1);
    assert_non_null(strstr(err.msg, res));

    /* deeper: res/sub is fine, but the test_name's parent is a file */
    char blocker[4300];
    snprintf(res, sizeof res, "%s/ok", tmp);
    assert_int_equal(mp_rundir_create(res, "", run, sizeof run, &err), 0);
    snprintf(blocker, sizeof blocker, "%s/blocker", res);
    assert_int_equal(tu_write_text(blocker, ""), 0);
    assert_int_equal(mp_rundir_create(res, "blocker/t", run, sizeof run, &err), -1);
    assert_non_null(strstr(err.msg, blocker));
    tu_rmtree(tmp);
    free(tmp);
}

static mp_dataset fake_dataset(void) {
    mp_dataset ds;
    memset(&ds, 0, sizeof ds);
    snprintf(ds.images_path, sizeof ds.images_path, "data/emnist/emnist-balanced-test-images-idx3-ubyte.gz");
    snprintf(ds.labels_path, sizeof ds.labels_path, "data/emnist/emnist-balanced-test-labels-idx1-ubyte.gz");
    return ds;
}

static void test_args_round_trip(void **state) {
    (void)state;
    char *tmp = tu_mkdtemp();
    char run[8192], path[8300];
    mp_err err;
    assert_int_equal(mp_rundir_create(tmp, "t", run, sizeof run, &err), 0);

    mp_config cfg, back;
    mp_config_defaults(&cfg);
    cfg.seed = 12345;
    cfg.K = 20;
    cfg.lamb = 0.01;
    cfg.vec[0] = 2;
    cfg.vec[1] = 1;
    cfg.nvec = 2;
    cfg.fbk_sym = 1;
    mp_dataset ds = fake_dataset();
    assert_int_equal(mp_rundir_write_args(run, &cfg, &ds, &err), 0);

    snprintf(path, sizeof path, "%s/args.txt", run);
    assert_int_equal(mp_config_read_args(path, &back, &err), 0);
    assert_memory_equal(&cfg, &back, sizeof cfg);

    char text[16384];
    FILE *f = fopen(path, "r");
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    static const char *const lines[] = {
        "seed : 12345\n", "vec : [2, 1]\n", "fbk : sym\n",
        "images_file : data/emnist/emnist-balanced-test-images-idx3-ubyte.gz\n",
        "labels_file : data/emnist/emnist-balanced-test-labels-idx1-ubyte.gz\n", "version : " METAPLAST_VERSION "\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(text, lines[i])) fail_msg("args.txt lacks '%s' in:\n%s", lines[i], text);
    tu_rmtree(tmp);
    free(tmp);
}

/* Write errors, including those only fflush sees, name the file and the reason. */
static void test_args_write_errors(void **state) {
    (void)state;
    char *tmp = tu_mkdtemp();
    char run[4200], path[4300];
    mp_err err;
    mp_config cfg;
    mp_config_defaults(&cfg);
    mp_dataset ds = fake_dataset();

    snprintf(run, sizeof run, "%s/missing", tmp);
    assert_int_equal(mp_rundir_write_args(run, &cfg, &ds, &err), -1);
    assert_non_null(strstr(err.msg, run));
    assert_non_null(strstr(err.msg, "No such file or directory"));

    if (access("/dev/full", W_OK) == 0) { /* args.txt is written as args.txt.tmp, then renamed */
        snprintf(path, sizeof path, "%s/args.txt.tmp", tmp);
        assert_int_equal(symlink("/dev/full", path), 0);
        assert_int_equal(mp_rundir_write_args(tmp, &cfg, &ds, &err), -1);
        assert_non_null(strstr(err.msg, "args.txt"));
        assert_non_null(strstr(err.msg, "No space left on device"));
    } else {
        print_message("skipped the full-disk case: /dev/full is not writable here\n");
    }
    tu_rmtree(tmp);
    free(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_unique_in_one_process),
        cmocka_unit_test(test_unique_across_processes),
        cmocka_unit_test(test_file_in_the_way),
        cmocka_unit_test(test_args_round_trip),
        cmocka_unit_test(test_args_write_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
