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

#endif
