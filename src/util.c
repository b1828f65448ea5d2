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
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        close(fd);
        if (S_ISDIR(st.st_mode)) mp_errf(err, "%s: is a directory, not a file", path);
        else mp_errf(err, "%s: not a regular file (%s)", path, S_ISFIFO(st.st_mode) ? "a FIFO" : e ? strerror(e) : "a device or socket");
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
