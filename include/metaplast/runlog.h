/* What a run writes as it goes: metrics.csv (one row per episode) and params.txt
 * (the release's console lines). Each row is written with a single write(2) once its
 * episode is over, so a run killed at any moment leaves only whole rows. */
#ifndef METAPLAST_RUNLOG_H
#define METAPLAST_RUNLOG_H

#include <stddef.h>

#include "metaplast/record.h"
#include "metaplast/util.h"

typedef struct {
    int csv_fd, params_fd;
    unsigned terms; /* the terms in use, for the console line */
    char csv_path[4200], params_path[4200];
} mp_runlog;

/* The header row of metrics.csv (with its newline):
 * episode,loss,accuracy,theta_0..theta_9,E1_1..E1_5,angle_0..angle_5,grad_0..grad_9,skipped,seconds */
extern const char mp_csv_header[];
/* The header of metaplast 0.1 (theta_0..theta_4, grad_0..grad_4, no skipped): such a
 * metrics.csv is refused with MP_BEFORE_POOL_WHY. */
extern const char mp_csv_header_before_pool[];

/* The terms of the release (0 pseudo-gradient, 1 eHebb, 2 Oja, as a mask of
 * mp_rule_mask) and the thetas its console line shows (MetaParam_1..MetaParam_5). */
#define MP_RELEASE_TERMS 0x7u
#define MP_RELEASE_THETAS 5
/* Room for any console line (ten thetas of any size in %.6f). */
#define MP_CONSOLE_LINE_MAX 4096

/* Opens (creating, or appending to) metrics.csv and params.txt in run_dir; a new
 * metrics.csv gets the header row. terms: the mask of the terms in use (mp_config_terms),
 * which decides the console line's form. */
int mp_runlog_open(mp_runlog *log, const char *run_dir, unsigned terms, mp_err *err);
/* Appends the episode's CSV row and console line; every write is checked. */
int mp_runlog_append(mp_runlog *log, const mp_record *rec, mp_err *err);
void mp_runlog_close(mp_runlog *log);

/* Makes what was appended so far durable (fsync of both files). */
int mp_runlog_sync(mp_runlog *log, mp_err *err);

/* For --resume: reads the complete rows of run_dir/metrics.csv into *history (allocated,
 * *cap entries), *rows of them, episode 1, 2, ... in order. What a crash can leave after
 * the last row (a row cut short, NUL bytes to the end) ends the rows; a damaged row with
 * rows after it, or a wrong header, is an error naming the file (metaplast 0.1's header:
 * MP_BEFORE_POOL_WHY). No file: 0 rows. */
int mp_runlog_read(const char *run_dir, mp_record **history, long *cap, long *rows, mp_err *err);
/* Keeps the header and the first n rows of metrics.csv, and writes params.txt anew from
 * history[0..n) (it is the rows' console lines, for the terms in use), atomically. */
int mp_runlog_cut(const char *run_dir, const mp_record *history, long n, unsigned terms, mp_err *err);

/* The console line, without newline. With no term beyond the release's on (terms within
 * MP_RELEASE_TERMS), the release's line exactly:
 * "Train Episode: N\tLoss: x.xxxxxx\tAccuracy: x.xxx\tMetaParam_1: ...\t...\tMetaParam_5: ..."
 * (MetaParam_k+1 is theta_k); with any of terms 3..9 on, the same with all ten thetas,
 * MetaParam_1..MetaParam_10. Truncated to cap (MP_CONSOLE_LINE_MAX always suffices). */
void mp_format_console_line(const mp_record *rec, unsigned terms, char *buf, size_t cap);
/* One metrics.csv row, with its newline, truncated to cap. Returns the length of the
 * whole row (as snprintf does). Both formatters write '.' whatever the locale. */
int mp_format_csv_row(const mp_record *rec, char *buf, size_t cap);

#endif
