#include "testutil.h"

#include <sys/mount.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <zlib.h>
#include <unistd.h>

char *tu_mkdtemp(void) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/metaplast-test-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

void tu_rmtree(const char *path) {
    if (!path || !*path || strcmp(path, "/") == 0) return;
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
}

const char *tu_source_dir(void) {
    const char *s = getenv("METAPLAST_SOURCE_DIR");
    return s && *s ? s : ".";
}

const char *tu_shared_dir(void) {
    static char path[4096];
    snprintf(path, sizeof path, "%s/../shared", tu_source_dir());
    return access(path, R_OK) == 0 ? path : NULL;
}

const char *tu_binary(void) {
    const char *s = getenv("METAPLAST_BINARY");
    return s && *s ? s : "./metaplast";
}

int tu_run(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, p)) > 0) {
        if (out && n + 1 < cap) {
            size_t take = got < cap - 1 - n ? got : cap - 1 - n;
            memcpy(out + n, buf, take);
            n += take;
        }
    }
    if (out && cap) out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap) {
            char *grown = realloc(buf, (cap *= 2) + 1);
            if (!grown) free(buf);
            buf = grown;
        }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int tu_count_char(const char *s, char ch) {
    int n = 0;
    for (; *s; s++) n += *s == ch;
    return n;
}

long tu_count_lines(const char *path, int *torn) {
    size_t n;
    char *text = tu_read_file(path, &n);
    if (!text) return -1;
    long lines = 0;
    for (size_t i = 0; i < n; i++) lines += text[i] == '\n';
    if (torn) *torn = n > 0 && text[n - 1] != '\n';
    free(text);
    return lines;
}

int tu_write_file(const char *path, const void *bytes, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(bytes, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int tu_write_text(const char *path, const char *text) { return tu_write_file(path, text, strlen(text)); }

int tu_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

double tu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void tu_sleep(double seconds) {
    if (seconds <= 0) return;
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* The fixture's first member, `char *dir` (a pointer to a struct, converted, points to
 * its first member). */
void *tu_dir_fixture_new(size_t size) {
    char **fx = calloc(1, size);
    if (!fx) return NULL;
    if (!(*fx = tu_mkdtemp())) {
        free(fx);
        return NULL;
    }
    return fx;
}

int tu_dir_fixture_free(void **state) {
    char **fx = *state;
    if (!fx) return 0;
    tu_rmtree(*fx);
    free(*fx);
    free(fx);
    *state = NULL;
    return 0;
}

int tu_write_idx(const char *path, int ndims, const uint32_t *dims, const uint8_t *payload, int gz) {
    uint8_t header[4 + 4 * 3] = {0, 0, 0x08, (uint8_t)ndims};
    size_t n = 1;
    for (int d = 0; d < ndims; d++) {
        for (int b = 0; b < 4; b++) header[4 + 4 * d + b] = (uint8_t)(dims[d] >> (24 - 8 * b));
        n *= dims[d];
    }
    size_t hlen = 4 + 4 * (size_t)ndims;
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f) return -1;
        int ok = gzwrite(f, header, (unsigned)hlen) == (int)hlen && (n == 0 || gzwrite(f, payload, (unsigned)n) == (int)n);
        return gzclose(f) == Z_OK && ok ? 0 : -1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(header, 1, hlen, f) == hlen && fwrite(payload, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int tu_write_fake_emnist(const char *data_dir, int nclasses, int per_class) {
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/emnist", data_dir);
    if (mkdir(data_dir, 0755) != 0 && errno != EEXIST) return -1;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
    uint32_t count = (uint32_t)(nclasses * per_class);
    uint8_t *pixels = malloc((size_t)count * 784), *labels = malloc(count);
    if (!pixels || !labels) return free(pixels), free(labels), -1;
    uint32_t state = 12345;
    for (uint32_t i = 0; i < count; i++) {
        int c = (int)(i % (uint32_t)nclasses); /* classes interleaved, as in the real files */
        labels[i] = (uint8_t)c;
        for (int p = 0; p < 784; p++) {
            state = state * 1664525u + 1013904223u;
            int r = p / 28, col = p % 28;
            int stroke = (r * (c % 7 + 1) + col * (c / 7 + 2)) % 23 < 6 && r > 3 && r < 24 && col > 3 && col < 24;
            int v = stroke ? 200 + (int)(state >> 27) : (int)(state >> 28);
            pixels[(size_t)i * 784 + p] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    uint32_t idims[3] = {count, 28, 28}, ldims[1] = {count};
    snprintf(path, sizeof path, "%s/emnist-bymerge-test-images-idx3-ubyte.gz", dir);
    int rc = tu_write_idx(path, 3, idims, pixels, 1);
    snprintf(path, sizeof path, "%s/emnist-bymerge-test-labels-idx1-ubyte.gz", dir);
    if (rc == 0) rc = tu_write_idx(path, 1, ldims, labels, 1);
    free(pixels), free(labels);
    return rc;
}

static char mounted[4400]; /* the tmpfs this program mounted */

int tu_mount_tmpfs(const char *dir, unsigned long flags, const char *options) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
    if (mount("tmpfs", dir, "tmpfs", flags, options) != 0) {
        printf("  skipped: cannot mount a tmpfs (%s) on %s: %s\n", options, dir, strerror(errno));
        return -1;
    }
    snprintf(mounted, sizeof mounted, "%s", dir);
    return 0;
}

void tu_unmount_tmpfs(void) {
    if (mounted[0] && umount2(mounted, MNT_DETACH) != 0)
        fprintf(stderr, "warning: cannot unmount %s: %s\n", mounted, strerror(errno));
    mounted[0] = '\0';
}
