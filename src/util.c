#include "metaplast/util.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

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
