/* The results tree. A run directory is claimed by mkdir itself: mkdir either creates
 * the directory or fails with EEXIST, atomically, so two runs started in the same second
 * (a seed sweep) can never share or overwrite one; the loser takes the next number. */
#include "metaplast/rundir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "metaplast/checkpoint.h"

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

void mp_data_fingerprint(uint64_t bytes, uint32_t crc, char *buf, size_t cap) {
    snprintf(buf, cap, "%llu bytes, crc32 %08x", (unsigned long long)bytes, (unsigned)crc);
}

int mp_data_fingerprint_lines(const mp_dataset *ds, FILE *f) {
    char images[64], labels[64];
    mp_data_fingerprint(ds->images_bytes, ds->images_crc, images, sizeof images);
    mp_data_fingerprint(ds->labels_bytes, ds->labels_crc, labels, sizeof labels);
    return fprintf(f, "images_fingerprint : %s\nlabels_fingerprint : %s\n", images, labels) < 0 ? -1 : 0;
}

unsigned mp_binding_crc32(const char *binding) {
    return (unsigned)crc32(crc32(0, NULL, 0), (const unsigned char *)binding, (uInt)strlen(binding));
}

int mp_run_binding_text(const mp_config *cfg, const char *images_fp, const char *labels_fp, char *buf, size_t cap) {
    if (mp_config_binding(cfg, buf, cap) != 0) return -1;
    size_t n = strlen(buf);
    int w = snprintf(buf + n, cap - n, "images_fingerprint : %s\nlabels_fingerprint : %s\n", images_fp, labels_fp);
    return w >= 0 && (size_t)w + 1 < cap - n ? 0 : -1;
}

int mp_run_binding(const mp_config *cfg, const mp_dataset *ds, char *buf, size_t cap) {
    char images[64], labels[64];
    mp_data_fingerprint(ds->images_bytes, ds->images_crc, images, sizeof images);
    mp_data_fingerprint(ds->labels_bytes, ds->labels_crc, labels, sizeof labels);
    return mp_run_binding_text(cfg, images, labels, buf, cap);
}

int mp_rundir_args_value(const char *args_path, const char *name, char *value, size_t cap, mp_err *err) {
    FILE *f = mp_fopen_regular(args_path, "r", err);
    if (!f) return -1;
    char *line = NULL;
    size_t lcap = 0, len = strlen(name);
    int found = 0;
    while (getline(&line, &lcap, f) != -1)
        if (strncmp(line, name, len) == 0 && strncmp(line + len, " : ", 3) == 0) {
            snprintf(value, cap, "%s", line + len + 3);
            value[strcspn(value, "\r\n")] = '\0';
            found = 1;
        }
    free(line);
    fclose(f);
    return found;
}

static unsigned binding_crc(const mp_config *cfg, const mp_dataset *ds) {
    char text[MP_CHECKPOINT_BINDING];
    return mp_run_binding(cfg, ds, text, sizeof text) == 0 ? mp_binding_crc32(text) : 0;
}

/* args.txt: the flags as mp_config_write_args writes them (mp_config_read_args reads them
 * back), then the data files, their fingerprints, the CRC-32 of the run's binding (which
 * --resume checks, so that a hand-edited flag is caught) and the program version. */
int mp_rundir_write_args(const char *run_dir, const mp_config *cfg, const mp_dataset *ds, mp_err *err) {
    char path[MP_PATH_MAX + 16];
    int n = snprintf(path, sizeof path, "%s/args.txt", run_dir);
    if (n < 0 || (size_t)n >= sizeof path) return mp_errf(err, "path '%s/args.txt' is too long", run_dir);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return mp_errf(err, "%s: out of memory", path);
    int ok = mp_config_write_args(cfg, f) == 0 &&
             fprintf(f, "images_file : %s\nlabels_file : %s\n", ds->images_path, ds->labels_path) >= 0 &&
             mp_data_fingerprint_lines(ds, f) == 0 &&
             fprintf(f, "binding_crc32 : %08x\nversion : %s\n", binding_crc(cfg, ds), METAPLAST_VERSION) >= 0;
    ok = fclose(f) == 0 && ok;
    /* --resume rewrites args.txt when it extends a run: atomic, and durable (the run's
     * description must survive whatever the rows do) */
    int rc = ok ? mp_write_file_atomic(path, text, len, 1, err) : mp_errf(err, "%s: out of memory", path);
    free(text);
    return rc;
}

int mp_rundir_lock(const char *run_dir, int *read_only, mp_err *err) {
    char path[MP_PATH_MAX + 32];
    int n = snprintf(path, sizeof path, "%s/%s", run_dir, MP_RUNDIR_LOCK_FILE);
    if (n < 0 || (size_t)n >= sizeof path) return mp_errf(err, "path '%s/%s' is too long", run_dir, MP_RUNDIR_LOCK_FILE);
    if (read_only) *read_only = 0;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) {
        int e = errno;
        if (read_only && (e == EACCES || e == EROFS || e == EPERM)) {
            *read_only = 1; /* nothing can write here: a reader needs no lock */
            return -1;
        }
        return mp_errf(err, "%s: cannot open the run's lock file: %s", path, strerror(e));
    }
    /* A POSIX record lock: the kernel drops it when the process ends, however it ends,
     * and NFS carries it to the server. (It is also dropped when the process closes any
     * descriptor of this file, so the file is opened here only, once.) */
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_SETLK, &fl) != 0) {
        int e = errno;
        struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
        char holder[64] = "another process";
        if ((e == EACCES || e == EAGAIN) && fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0)
            snprintf(holder, sizeof holder, "process %ld", (long)who.l_pid);
        close(fd);
        if (e == EACCES || e == EAGAIN)
            return mp_errf(err, "run directory '%s' is in use: %s holds its lock (%s); one process at a time "
                           "may write a run", run_dir, holder, path);
        return mp_errf(err, "%s: cannot lock: %s", path, strerror(e));
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) { /* only informative */
    }
    return fd; /* kept open for the life of the process */
}

/* What may be in a directory where a run was started but wrote no args.txt yet (killed
 * in between): its lock and the atomic write's temporary file of args.txt. */
static int before_args(const char *name) {
    return strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, MP_RUNDIR_LOCK_FILE) == 0 ||
           strcmp(name, "args.txt.tmp") == 0;
}

int mp_rundir_claim(const char *dir, int *holds_run, int *read_only, mp_err *err) {
    char path[MP_PATH_MAX + 16];
    int n = snprintf(path, sizeof path, "%s", dir);
    if (n < 0 || (size_t)n >= sizeof path - 10) return mp_errf(err, "run directory path '%s' is too long", dir);
    *holds_run = 0;
    if (make_dirs(path, err)) return -1;
    /* what --eval and --report write also has an args.txt: not a run (and not to be locked) */
    static const char *const outputs[][2] = {{"tasks.csv", "a meta-test's directory (what --eval writes)"},
                                            {"runs.csv", "a report's directory (what --report writes)"}};
    struct stat st;
    char probe[MP_PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/metrics.csv", dir);
    int has_metrics = lstat(probe, &st) == 0;
    for (size_t k = 0; k < sizeof outputs / sizeof outputs[0] && !has_metrics; k++) {
        snprintf(probe, sizeof probe, "%s/%s", dir, outputs[k][0]);
        if (lstat(probe, &st) == 0) return mp_errf(err, "'%s' is %s, not a run", dir, outputs[k][1]);
    }
    /* the lock before the look inside: of two first starts, the one that loses the lock
     * never decides anything, and the winner sees what no other writer changes */
    snprintf(probe, sizeof probe, "%s/lock", dir);
    int had_lock = lstat(probe, &st) == 0;
    int fd = mp_rundir_lock(dir, read_only, err);
    if (fd < 0 && !(read_only && *read_only)) return -1;
    snprintf(path + n, sizeof path - (size_t)n, "/args.txt");
    if (lstat(path, &st) == 0) {
        *holds_run = 1; /* --resume's checks decide whether it is a run */
        return fd;
    }
    DIR *d = opendir(dir);
    if (!d) {
        mp_errf(err, "cannot list run directory '%s': %s", dir, strerror(errno));
    } else {
        struct dirent *e;
        while ((e = readdir(d)) && before_args(e->d_name)) {
        }
        if (e) {
            mp_errf(err, "'%s' holds no run (no args.txt) but is not empty (it has '%s'): a new run starts only in "
                    "a missing or empty directory", dir, e->d_name);
            if (!had_lock) unlink(probe); /* left as it was found */
        }
        else if (read_only && *read_only)
            mp_errf(err, "cannot start a run in '%s': the directory is read-only", dir);
        closedir(d);
        if (!e && !(read_only && *read_only)) return fd;
    }
    if (fd >= 0) close(fd);
    return -1;
}
