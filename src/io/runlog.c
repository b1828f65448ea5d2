#include "metaplast/runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(MP_THETAS == 10, "the header below names theta_0..theta_9 and grad_0..grad_9");
const char mp_csv_header[] =
    "episode,loss,accuracy,theta_0,theta_1,theta_2,theta_3,theta_4,theta_5,theta_6,theta_7,theta_8,theta_9,"
    "E1_1,E1_2,E1_3,E1_4,E1_5,angle_0,angle_1,angle_2,angle_3,angle_4,angle_5,"
    "grad_0,grad_1,grad_2,grad_3,grad_4,grad_5,grad_6,grad_7,grad_8,grad_9,skipped,seconds\n";

const char mp_csv_header_before_pool[] =
    "episode,loss,accuracy,theta_0,theta_1,theta_2,theta_3,theta_4,E1_1,E1_2,E1_3,E1_4,E1_5,"
    "angle_0,angle_1,angle_2,angle_3,angle_4,angle_5,grad_0,grad_1,grad_2,grad_3,grad_4,seconds\n";

/* The C locale for the duration of a formatting call: '.' whatever the caller's
 * LC_NUMERIC (a program linking the library may have set one with ','). */
static locale_t c_locale_begin(void) {
    static locale_t c_locale;
    if (!c_locale) c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    return c_locale ? uselocale(c_locale) : (locale_t)0;
}

static void c_locale_end(locale_t previous) {
    if (previous) uselocale(previous);
}

/* Appends to buf[*n..cap) like snprintf, never past cap; *n counts what the whole
 * text needs, as snprintf's return value does. */
static void append(char *buf, size_t cap, int *n, const char *fmt, double v) {
    size_t at = (size_t)*n < cap ? (size_t)*n : cap;
    *n += snprintf(buf + at, cap - at, fmt, v);
}

void mp_format_console_line(const mp_record *r, unsigned terms, char *buf, size_t cap) {
    if (cap == 0) return;
    locale_t previous = c_locale_begin();
    /* the release printed its five thetas as MetaParam_1..5; beyond its terms, all ten */
    int shown = (terms & ~MP_RELEASE_TERMS) ? MP_THETAS : MP_RELEASE_THETAS;
    int n = snprintf(buf, cap, "Train Episode: %ld\tLoss: %.6f\tAccuracy: %.3f", r->episode, r->loss, r->accuracy);
    for (int k = 0; k < shown; k++) {
        char fmt[48];
        snprintf(fmt, sizeof fmt, "\tMetaParam_%d: %%.6f", k + 1);
        append(buf, cap, &n, fmt, r->theta[k]);
    }
    c_locale_end(previous);
}

int mp_format_csv_row(const mp_record *r, char *buf, size_t cap) {
    locale_t previous = c_locale_begin();
    /* %.17g round-trips a double exactly */
    int n = snprintf(buf, cap, "%ld", r->episode);
    append(buf, cap, &n, ",%.17g", r->loss);
    append(buf, cap, &n, ",%.17g", r->accuracy);
    const double *cols[] = {r->theta, r->E1, r->angle, r->grad};
    const int counts[] = {MP_THETAS, MP_LAYERS, MP_LAYERS + 1, MP_THETAS};
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < counts[c]; i++) append(buf, cap, &n, ",%.17g", cols[c][i]);
    append(buf, cap, &n, ",%.0f", r->skipped ? 1.0 : 0.0);
    append(buf, cap, &n, ",%.6f\n", r->seconds);
    c_locale_end(previous);
    return n;
}

/* write(2) until done: a regular file takes a short row in one call. */
static int write_all(int fd, const char *buf, size_t n, const char *path, mp_err *err) {
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return mp_errf(err, "%s: write failed: %s", path, strerror(errno));
        }
        buf += w, n -= (size_t)w;
    }
    return 0;
}

static int open_append(const char *path, mp_err *err) {
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) mp_errf(err, "%s: cannot open for writing: %s", path, strerror(errno));
    return fd;
}

int mp_runlog_open(mp_runlog *log, const char *run_dir, unsigned terms, mp_err *err) {
    log->terms = terms;
    snprintf(log->csv_path, sizeof log->csv_path, "%s/metrics.csv", run_dir);
    snprintf(log->params_path, sizeof log->params_path, "%s/params.txt", run_dir);
    log->csv_fd = log->params_fd = -1;
    if ((log->csv_fd = open_append(log->csv_path, err)) < 0) return -1;
    struct stat st;
    if (fstat(log->csv_fd, &st) == 0 && st.st_size == 0 &&
        write_all(log->csv_fd, mp_csv_header, strlen(mp_csv_header), log->csv_path, err) != 0)
        return -1;
    if ((log->params_fd = open_append(log->params_path, err)) < 0) return -1;
    return 0;
}

int mp_runlog_append(mp_runlog *log, const mp_record *rec, mp_err *err) {
    char row[MP_CONSOLE_LINE_MAX + 2];
    int n = mp_format_csv_row(rec, row, sizeof row);
    if (write_all(log->csv_fd, row, (size_t)n, log->csv_path, err) != 0) return -1;
    mp_format_console_line(rec, log->terms, row, sizeof row - 1);
    strcat(row, "\n");
    return write_all(log->params_fd, row, strlen(row), log->params_path, err);
}

void mp_runlog_close(mp_runlog *log) {
    if (log->csv_fd >= 0) close(log->csv_fd);
    if (log->params_fd >= 0) close(log->params_fd);
    log->csv_fd = log->params_fd = -1;
}

/* Parses one metrics.csv row (the columns of mp_format_csv_row). */
static int parse_csv_row(char *line, mp_record *r) {
    double *cols[] = {&r->loss, &r->accuracy};
    char *p = line, *end;
    r->episode = strtol(p, &end, 10);
    if (end == p || *end != ',') return -1;
    for (int c = 0; c < 2; c++) {
        *cols[c] = strtod(p = end + 1, &end);
        if (end == p || *end != ',') return -1;
    }
    double *arrays[] = {r->theta, r->E1, r->angle, r->grad};
    const int counts[] = {MP_THETAS, MP_LAYERS, MP_LAYERS + 1, MP_THETAS};
    for (int a = 0; a < 4; a++)
        for (int i = 0; i < counts[a]; i++) {
            arrays[a][i] = strtod(p = end + 1, &end);
            if (end == p || *end != ',') return -1;
        }
    p = end + 1; /* skipped: 0 or 1, nothing else */
    if ((p[0] != '0' && p[0] != '1') || p[1] != ',') return -1;
    r->skipped = p[0] == '1';
    end = p + 1;
    r->seconds = strtod(p = end + 1, &end);
    return end == p || *end != '\n' ? -1 : 0;
}

/* 1 when f holds nothing but NUL bytes from here to its end: what a machine crash can
 * leave after the last row (the file's size was written, its last blocks were not). */
static int only_nuls_left(FILE *f) {
    int c;
    while ((c = getc(f)) != EOF)
        if (c != '\0') return 0;
    return 1;
}

static int all_nul(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

int mp_runlog_read(const char *run_dir, mp_record **history, long *cap, long *rows, mp_err *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    *rows = 0;
    *cap = 1024;
    *history = mp_calloc((size_t)*cap, sizeof(mp_record));
    struct stat st;
    if (lstat(path, &st) != 0 && errno == ENOENT) return 0; /* killed before it was created */
    FILE *f = mp_fopen_regular(path, "r", err);
    if (!f) return -1;
    char *line = NULL;
    size_t line_cap = 0;
    int rc = 0;
    ssize_t len = getline(&line, &line_cap, f);
    if (len > 0 && line[len - 1] == '\n' && strcmp(line, mp_csv_header_before_pool) == 0)
        rc = mp_errf(err, "%s: %s", path, MP_BEFORE_POOL_WHY);
    else if (len > 0 && line[len - 1] == '\n' && strcmp(line, mp_csv_header) != 0)
        rc = mp_errf(err, "%s: the first line is not metaplast's header row", path);
    else if (len > 0 && line[len - 1] == '\n')
        while ((len = getline(&line, &line_cap, f)) > 0) {
            if (*rows == *cap) {
                *cap *= 2;
                mp_record *grown = realloc(*history, (size_t)*cap * sizeof **history);
                if (!grown) {
                    rc = mp_errf(err, "%s: out of memory for %ld rows", path, *rows);
                    break;
                }
                *history = grown;
            }
            mp_record *r = &(*history)[*rows];
            int whole = line[len - 1] == '\n';
            if (whole && parse_csv_row(line, r) == 0 && r->episode == *rows + 1) {
                (*rows)++;
                continue;
            }
            /* a row cut short at the end of the file, or NULs to the end: a crash's leftovers */
            if (!whole || (memchr(line, '\0', (size_t)len) && all_nul(line, (size_t)len - 1) && only_nuls_left(f)))
                break;
            rc = mp_errf(err, "%s: row %ld is damaged", path, *rows + 1);
            break;
        }
    if (rc == 0 && ferror(f)) rc = mp_errf(err, "%s: cannot read: %s", path, strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

/* Keeps the first `lines` lines of path (after `skip` header lines). */
static int keep_lines(const char *path, int skip, long lines, mp_err *err) {
    FILE *f = mp_fopen_regular(path, "r+", err);
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    long offset = 0;
    int rc = 0;
    for (long h = 0; h < skip + lines && rc == 0; h++) {
        ssize_t len = getline(&line, &cap, f);
        if (len <= 0 || line[len - 1] != '\n')
            rc = mp_errf(err, "%s: has %ld complete rows, %ld are needed", path, h < skip ? 0 : h - skip, lines);
        offset += len > 0 ? (long)len : 0;
    }
    free(line);
    if (rc == 0 && (fflush(f) != 0 || ftruncate(fileno(f), offset) != 0))
        rc = mp_errf(err, "%s: cannot cut off the rows after episode %ld: %s", path, lines, strerror(errno));
    fclose(f);
    return rc;
}

int mp_runlog_cut(const char *run_dir, const mp_record *history, long n, unsigned terms, mp_err *err) {
    char csv[4200], params[4200];
    snprintf(csv, sizeof csv, "%s/metrics.csv", run_dir);
    snprintf(params, sizeof params, "%s/params.txt", run_dir);
    struct stat st;
    int has_csv = !(lstat(csv, &st) != 0 && errno == ENOENT);
    if (has_csv && n == 0 && truncate(csv, 0) != 0) /* the header is written again on open */
        return mp_errf(err, "%s: cannot empty it: %s", csv, strerror(errno));
    if (has_csv && n > 0 && keep_lines(csv, 1, n, err) != 0) return -1;
    if (!has_csv && n > 0) return mp_errf(err, "%s: missing, %ld rows are needed", csv, n);
    /* params.txt holds the console lines of the rows: written anew from them, so that a
     * params.txt lost or cut short by a crash costs nothing */
    size_t cap = (size_t)(n > 0 ? n : 1) * 256, len = 0;
    char *text = mp_malloc(cap);
    for (long i = 0; i < n; i++) {
        char line[MP_CONSOLE_LINE_MAX];
        mp_format_console_line(&history[i], terms, line, sizeof line);
        size_t l = strlen(line);
        if (len + l + 2 > cap) {
            cap = 2 * cap + l + 2;
            char *grown = realloc(text, cap);
            if (!grown) {
                free(text);
                return mp_errf(err, "%s: out of memory", params);
            }
            text = grown;
        }
        memcpy(text + len, line, l);
        len += l;
        text[len++] = '\n';
    }
    int rc = mp_write_file_atomic(params, text, len, 1, err);
    free(text);
    return rc;
}

int mp_runlog_sync(mp_runlog *log, mp_err *err) {
    if (fsync(log->csv_fd) != 0) return mp_errf(err, "%s: fsync failed: %s", log->csv_path, strerror(errno));
    if (fsync(log->params_fd) != 0)
        return mp_errf(err, "%s: fsync failed: %s", log->params_path, strerror(errno));
    return 0;
}
