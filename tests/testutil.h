/* Helpers shared by the cmocka programs. */
#ifndef METAPLAST_TESTUTIL_H
#define METAPLAST_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh empty directory under $TMPDIR (or /tmp), removed by tu_rmtree. */
char *tu_mkdtemp(void);
void tu_rmtree(const char *path);
/* Directory of the source tree (METAPLAST_SOURCE_DIR set by ctest, else "."). */
const char *tu_source_dir(void);
/* ../shared next to the source tree, or NULL when it is not there. */
const char *tu_shared_dir(void);
/* Path of the metaplast binary (METAPLAST_BINARY set by ctest). */
const char *tu_binary(void);
/* Runs a shell command, returns its exit status (or -1); output captured into out if not NULL. */
int tu_run(const char *cmd, char *out, size_t cap);

/* The whole file, NUL-terminated (malloc'd; *len gets its size when len is not NULL),
 * or NULL when it cannot be opened. */
char *tu_read_file(const char *path, size_t *len);
/* How many times ch occurs in s. */
int tu_count_char(const char *s, char ch);
/* The number of '\n' in the file, or -1 when it cannot be read; *torn (when not NULL) is
 * set when the file does not end with '\n' (a last line cut short). */
long tu_count_lines(const char *path, int *torn);
/* Writes n bytes to path (created or truncated). Returns 0 or -1. */
int tu_write_file(const char *path, const void *bytes, size_t n);
/* tu_write_file of a string, without its NUL. */
int tu_write_text(const char *path, const char *text);
/* Whether anything is at path (lstat: a dangling symbolic link counts). */
int tu_exists(const char *path);

/* Seconds on the monotonic clock. */
double tu_now(void);
/* Sleeps that many seconds (nothing when <= 0), resuming after signals. */
void tu_sleep(double seconds);

/* Fixtures whose first member is `char *dir`: tu_dir_fixture_new callocs `size` bytes
 * and sets dir to a tu_mkdtemp directory (NULL when either fails); tu_dir_fixture_free,
 * a cmocka teardown, removes the directory and frees dir and the fixture in *state. */
void *tu_dir_fixture_new(size_t size);
int tu_dir_fixture_free(void **state);

/* Writes an IDX file (magic 0x0000080<ndims>, big-endian dims, payload), gzip-compressed
 * when gz. Returns 0 or -1. */
int tu_write_idx(const char *path, int ndims, const uint32_t *dims, const uint8_t *payload, int gz);
/* A small learnable fake of EMNIST bymerge under data_dir/emnist/ (the file names of
 * --database emnist_bymerge): nclasses classes of per_class 28x28 images, each class a
 * distinct stroke pattern plus noise. Returns 0 or -1. */
int tu_write_fake_emnist(const char *data_dir, int nclasses, int per_class);
/* Mounts a tmpfs (mount(2) flags, options such as "size=64k") on dir, creating dir; 0, or
 * -1 after printing why not (a test then says it skipped that case). One at a time:
 * tu_unmount_tmpfs unmounts it (nothing when none is mounted). */
int tu_mount_tmpfs(const char *dir, unsigned long flags, const char *options);
void tu_unmount_tmpfs(void);
#endif
