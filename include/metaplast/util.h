/* Small helpers shared by every module: checked allocation, error messages. */
#ifndef METAPLAST_UTIL_H
#define METAPLAST_UTIL_H

#include <stddef.h>
#include <stdio.h>

/* Exit statuses of the metaplast binary. */
enum { MP_EXIT_OK = 0, MP_EXIT_RUNTIME = 1, MP_EXIT_USAGE = 2 };

/* An error message filled in by a function that failed; the caller decides
 * whether to print it and exit, so library code never exits on bad input. */
typedef struct {
    char msg[1024];
} mp_err;

/* Formats into err (if not NULL) and returns -1, so `return mp_errf(...)` reads well. */
int mp_errf(mp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Allocation that cannot fail silently: prints file:line and the size, exits 1. */
void *mp_malloc_check(size_t size, const char *file, int line);
void *mp_calloc_check(size_t count, size_t size, const char *file, int line);
#define mp_malloc(size) mp_malloc_check((size), __FILE__, __LINE__)
#define mp_calloc(count, size) mp_calloc_check((count), (size), __FILE__, __LINE__)

/* fopen for a file that must be a regular file: a FIFO, a device or a directory is
 * refused at once (never blocks), with a message naming path. NULL on failure. */
FILE *mp_fopen_regular(const char *path, const char *mode, mp_err *err);

/* Descriptors 0, 1 and 2 that are closed are opened on /dev/null, so that no file the
 * program opens later can take their place (a run started with `>&-` would otherwise
 * print its console lines into metrics.csv). Call first thing in main. */
void mp_protect_std_fds(void);

/* text as one shell word: unchanged when it needs no quoting, else in single quotes.
 * Returns buf (text itself when cap is absurdly small). */
const char *mp_shell_quote(const char *text, char *buf, size_t cap);

/* 1 when path is relative and has no "." or ".." component: it names a place below the
 * directory it is taken from (--test_name below --res). */
int mp_path_stays_below(const char *path);

/* The shortest decimal (%.*g, 1 to 17 digits) that reads back as exactly v. */
void mp_format_double(double v, char *buf, size_t cap);

/* text as one CSV field: quoted (quotes doubled) when it holds a comma, a quote or a
 * line break (RFC 4180), else as it is. */
void mp_csv_text(FILE *f, const char *text);

#define MP_UTIL_PATH_MAX 4400

/* Replaces path with data[0..len) atomically: a temporary path.tmp renamed over it, so a
 * kill at any instant leaves the old or the new file, whole; the one way the library
 * replaces a file. With durable, the file and the rename are fsync'd too (they survive a
 * crash of the machine). The policy: args.txt and a rewritten params.txt are always
 * durable, the checkpoint every few seconds (with the logs before it, see src/train/
 * run.c), the plots never (--resume draws them again). */
int mp_write_file_atomic(const char *path, const void *data, size_t len, int durable, mp_err *err);

#endif
