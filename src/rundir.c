/* The results tree. A run directory is claimed by mkdir itself: mkdir either creates
 * the directory or fails with EEXIST, atomically, so two runs started in the same second
 * (a seed sweep) can never share or overwrite one; the loser takes the next number. */
#include "metaplast/rundir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Run directories of one second before giving up: far more than any sweep starts. */
#define MAX_RUNS_PER_SECOND 100000

static int make_dir(const char *path, mp_err *err) {
    if (mkdir(path, 0777) == 0) return 0;
    int saved = errno;
    struct stat st;
    if (saved == EEXIST && stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return 0;
        return mp_errf(err, "cannot create directory '%s': it exists and is not a directory", path);
    }
    return mp_errf(err, "cannot create directory '%s': %s", path, strerror(saved));
}

/* mkdir -p: each prefix of path that ends before a '/', then path itself. */
static int make_dirs(char *path, mp_err *err) {
    for (char *p = path + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/') continue;
        *p = '\0';
        int rc = make_dir(path, err);
        *p = '/';
        if (rc) return rc;
    }
    return make_dir(path, err);
}

int mp_rundir_create(const char *res, const char *test_name, char *out, size_t cap, mp_err *err) {
    char base[MP_PATH_MAX + 512];
    int n = snprintf(base, sizeof base, "%s%s%s", res, *test_name ? "/" : "", test_name);
    if (n < 0 || (size_t)n >= sizeof base) return mp_errf(err, "results path '%s/%s' is too long", res, test_name);
    if (make_dirs(base, err)) return -1;

    time_t now = time(NULL);
    struct tm local;
    char stamp[32];
    if (!localtime_r(&now, &local) || !strftime(stamp, sizeof stamp, "%Y-%m-%d_%H-%M-%S", &local))
        return mp_errf(err, "cannot format the current time");
    for (int k = 1; k <= MAX_RUNS_PER_SECOND; k++) {
        n = snprintf(out, cap, "%s/%s_%d", base, stamp, k);
        if (n < 0 || (size_t)n >= cap) return mp_errf(err, "run directory path under '%s' is too long", base);
        if (mkdir(out, 0777) == 0) return 0;
        if (errno != EEXIST) return mp_errf(err, "cannot create directory '%s': %s", out, strerror(errno));
    }
    return mp_errf(err, "'%s' already holds %d runs started at %s", base, MAX_RUNS_PER_SECOND, stamp);
}

/* args.txt: the flags as mp_config_write_args writes them (mp_config_read_args reads them
 * back), then the data files and the program version. */
int mp_rundir_write_args(const char *run_dir, const mp_config *cfg, const mp_dataset *ds, mp_err *err) {
    char path[MP_PATH_MAX + 16], tmp[MP_PATH_MAX + 32];
    int n = snprintf(path, sizeof path, "%s/args.txt", run_dir);
    if (n < 0 || (size_t)n >= sizeof path) return mp_errf(err, "path '%s/args.txt' is too long", run_dir);
    /* a temporary file renamed into place: --resume rewrites args.txt when it extends
     * a run, and a kill then must leave the old or the new file, never half of one */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return mp_errf(err, "cannot create '%s': %s", tmp, strerror(errno));
    int ok = mp_config_write_args(cfg, f) == 0 &&
             fprintf(f, "images_file : %s\nlabels_file : %s\nversion : %s\n", ds->images_path, ds->labels_path,
                     METAPLAST_VERSION) >= 0 &&
             fflush(f) == 0 && fsync(fileno(f)) == 0;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) unlink(tmp);
    return ok ? 0 : mp_errf(err, "cannot write '%s': %s", path, strerror(saved));
}
