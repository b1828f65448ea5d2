#include "metaplast/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mp_errf(mp_err *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void *mp_malloc_check(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) {
        fprintf(stderr, "metaplast: out of memory allocating %zu bytes at %s:%d\n", size, file, line);
        exit(1);
    }
    return p;
}

void *mp_calloc_check(size_t count, size_t size, const char *file, int line) {
    if (size && count > SIZE_MAX / size) {
        fprintf(stderr, "metaplast: allocation of %zu x %zu bytes overflows at %s:%d\n", count, size, file, line);
        exit(1);
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "metaplast: out of memory allocating %zu x %zu bytes at %s:%d\n", count, size, file, line);
        exit(1);
    }
    return p;
}

/* O_NONBLOCK so that opening a FIFO returns at once instead of waiting for a writer;
 * it is cleared again once the file is known to be regular. */
FILE *mp_fopen_regular(const char *path, const char *mode, mp_err *err) {
    int write = strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+');
    int flags = (write ? (strchr(mode, 'r') ? O_RDWR : O_WRONLY | O_CREAT) : O_RDONLY) | O_NONBLOCK | O_CLOEXEC;
    if (strchr(mode, 'w')) flags |= O_TRUNC;
    if (strchr(mode, 'a')) flags |= O_APPEND;
    int fd = open(path, flags, 0644);
    if (fd < 0) {
        mp_errf(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    int statted = fstat(fd, &st) == 0;
    if (!statted || !S_ISREG(st.st_mode)) {
        int e = statted ? 0 : errno;
        close(fd);
        if (!statted) {
            mp_errf(err, "%s: cannot stat: %s", path, strerror(e));
            return NULL;
        }
        if (S_ISDIR(st.st_mode)) mp_errf(err, "%s: is a directory, not a file", path);
        else mp_errf(err, "%s: not a regular file (%s)", path, S_ISFIFO(st.st_mode) ? "a FIFO" : "a device or socket");
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, mode);
    if (!f) {
        mp_errf(err, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

void mp_protect_std_fds(void) {
    for (int fd = 0; fd <= 2; fd++)
        if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
            /* open returns the lowest free descriptor: this one, as the lower ones are open */
            int got = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
            if (got >= 0 && got != fd) close(got);
        }
}

const char *mp_shell_quote(const char *text, char *buf, size_t cap) {
    if (*text && strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=.,:/@%") ==
                     strlen(text)) {
        snprintf(buf, cap, "%s", text);
        return buf;
    }
    size_t n = 0;
    if (cap < 3) return text;
    buf[n++] = '\'';
    for (const char *p = text; *p && n + 6 < cap; p++) {
        if (*p == '\'') { /* close, an escaped quote, reopen */
            memcpy(buf + n, "'\\''", 4);
            n += 4;
        } else {
            buf[n++] = *p;
        }
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return buf;
}

int mp_write_file_atomic(const char *path, const void *data, size_t len, int durable, mp_err *err) {
    char tmp[MP_UTIL_PATH_MAX + 8];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return mp_errf(err, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return mp_errf(err, "%s: cannot create: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    int e = 0;
    while (left > 0 && !e) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) e = w < 0 ? errno : ENOSPC;
        else p += w, left -= (size_t)w;
    }
    if (!e && durable && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (e) {
        unlink(tmp);
        return mp_errf(err, "%s: cannot write: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return mp_errf(err, "%s: cannot replace: %s", path, strerror(e));
    }
    if (durable) { /* the rename itself: fsync of the directory that holds the file */
        char dir[MP_UTIL_PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
        int dfd = open(slash && dir[0] == '\0' ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

int mp_path_stays_below(const char *path) {
    if (path[0] == '/') return 0;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
        p += n;
        while (*p == '/') p++;
    }
    return 1;
}

void mp_format_double(double v, char *buf, size_t cap) {
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void mp_csv_text(FILE *f, const char *text) {
    if (!strpbrk(text, ",\"\n\r")) {
        fputs(text, f);
        return;
    }
    fputc('"', f);
    for (const char *p = text; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}
