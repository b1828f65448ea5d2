/* The report's data, shared by its two sources: report.c (finding, reading and grouping
 * the runs, the CSV files, the console) and figures.c (the PNG figures). Private. */
#ifndef METAPLAST_REPORT_INTERNAL_H
#define METAPLAST_REPORT_INTERNAL_H

#include "metaplast/cli.h"
#include "metaplast/record.h"
#include "metaplast/stats.h"
#include "metaplast/util.h"

/* How a run was counted. */
typedef enum {
    RUN_COUNTED,    /* finished: in the curves and in the end-of-run statistics */
    RUN_UNFINISHED, /* fewer episodes than its --episodes: in the curves only, up to its last */
    RUN_LEFT_OUT,   /* in nothing (why says why) */
} run_status;

typedef struct {
    char *path;              /* as found under a DIR */
    char *real;              /* realpath: what meta-test summaries name */
    run_status status;
    char why[1200];          /* RUN_LEFT_OUT: the reason; RUN_UNFINISHED: how it stopped */
    mp_config cfg;
    unsigned terms;          /* mp_config_terms */
    char *key;               /* what a group shares: the binding without the seed, + episodes, diverge */
    mp_record *rows;         /* the usable rows of metrics.csv, episode 1..nrows */
    long nrows;
    long skipped;            /* rows of skipped episodes (--diverge skip) among the usable ones */
    double acc_last;         /* RUN_COUNTED: mean accuracy of the last min(100, episodes) rows, skipped ones left out */
    double theta[MP_THETAS]; /* RUN_COUNTED: final theta (the checkpoint's, after the last Adam step) */
    int group;               /* index into the groups, -1 when left out */
} report_run;

/* One quantity per episode across a group's runs. */
typedef struct {
    double *mean, *sd; /* per episode; NaN where no run (mean) or fewer than 2 (sd) have a finite value */
} episode_stat;

enum { STAT_ACCURACY, STAT_LOSS, STAT_THETA0, STAT_ANGLE1 = STAT_THETA0 + MP_THETAS, NSTATS = STAT_ANGLE1 + 4 };

typedef struct {
    int number;          /* 1..G, as in the files */
    const char *key;     /* its runs' key */
    int *members;        /* runs in the group (counted and unfinished), by ascending seed */
    int nmembers, ncounted, nunfinished;
    unsigned terms;
    long episodes;       /* rows of the per-episode statistics: the longest member's */
    int *runs_at;        /* per episode: how many members have that row */
    int *skipped_at;     /* per episode: how many of those rows are skipped (left out of accuracy, loss, angles) */
    long skipped_rows;   /* skipped rows of all its members */
    episode_stat stat[NSTATS];
    mp_summary acc;      /* last-100 accuracy across the counted runs */
    mp_summary theta[MP_THETAS];
    char flags[200];     /* the flags in which it differs from the other groups ("" when alone) */
    char label[256];     /* its legend entry in the figures across groups: "g: flags (n runs)" */
} report_group;

/* Writes the figures into dir: accuracy.png and loss.png across the groups (ten groups a
 * figure: accuracy_2.png holds groups 11..20, ...), group_<g>_theta.png and
 * group_<g>_angle.png per group. Returns 0, or -1 with err. */
/* The title of an across-groups figure (accuracy or loss) holding groups first+1 ..
 * first+count of ngroups: "Accuracy across seeds", "..., groups 11-20", "..., group 21". */
void mp_report_figure_title(char *buf, size_t cap, int accuracy, int first, int count, int ngroups);
/* The palette colour of group index g (0-based) in the across-groups figures: its place
 * in its figure of ten. */
int mp_report_series_color(int group_index);

int mp_report_figures(const char *dir, const report_group *groups, int ngroups, int avg_window, mp_err *err);

#endif
