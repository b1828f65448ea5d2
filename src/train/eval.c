/* The meta-test (--eval RUN_DIR ...; docs/METHOD.md, "Meta-test"): each finished run's
 * rule (its --fbk, --vec and final theta) adapts, frozen, to the same fresh test tasks;
 * the query set is scored along each adaptation; the scores are summarised with 95%
 * intervals, and paired against the first rule. */
#include "metaplast/eval.h"

#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "metaplast/checkpoint.h"
#include "metaplast/data.h"
#include "metaplast/plot.h"
#include "metaplast/resume.h"
#include "metaplast/rng.h"
#include "metaplast/rundir.h"
#include "metaplast/stats.h"
#include "metaplast/util.h"
#include "model/rules.h"
#include "train/eval_internal.h"
#include "train/trainer.h"

/* ---- statistics ------------------------------------------------------------------- */

void mp_eval_interval(const double *v, int n, double *mean, double *lo, double *hi, int *used) {
    double *finite = mp_malloc(((size_t)(n > 0 ? n : 0) + 1) * sizeof *finite);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) finite[k++] = v[i];
    mp_summary s = mp_summarize(finite, k);
    free(finite);
    *used = s.n;
    *mean = s.mean, *lo = s.lo, *hi = s.hi;
}

/* ---- one rule on one task ----------------------------------------------------------- */

int mp_eval_adapt(mp_episode_f32 *ep, const mp_draw *d, const double *theta, int NQ, const int *tpoint,
                  int P, size_t nw, int n0, float *W, double *acc, double *loss) {
    memcpy(W, d->W0, nw * sizeof *W);
    int dead = 0;
    for (int j = 0; j < P; j++) {
        int t0 = j ? tpoint[j - 1] : 0, steps = tpoint[j] - t0;
        mp_episode_out o;
        if (!dead) {
            mp_episode_inputs_f32 in = {W, d->B0, theta, 0.0, d->x_train + (size_t)t0 * (size_t)n0, d->y_train + t0,
                                        steps, d->x_query, d->y_query, NQ};
            dead = mp_episode_run_f32(ep, &in, 0, &o) != 0;
        }
        acc[j] = dead ? 0 : o.accuracy;
        loss[j] = dead ? NAN : o.loss;
        if (!dead && j + 1 < P) memcpy(W, mp_episode_weights_f32(ep), nw * sizeof *W);
    }
    return dead;
}

/* ---- the runs judged ---------------------------------------------------------------- */

typedef struct {
    char dir[MP_PATH_MAX];   /* the run directory, absolute */
    mp_config cfg;           /* its flags (args.txt) */
    double theta[MP_THETAS]; /* after its last Adam step (the checkpoint's) */
    char rule[160];          /* "fix", "sym vec 1 2", ... */
    char images_fp[80], labels_fp[80]; /* the fingerprints of the data it was trained on */
    unsigned char trained[MP_MAX_CLASSES]; /* the classes its tasks drew from (all when no --classes) */
    int same_data;           /* the test data are the data it was trained on */
    int held_out;            /* none of the test classes was one of its training classes */
    int seen_all;            /* every test class was */
} judged;

static void rule_text(const mp_config *c, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "%s", c->fbk_sym ? "sym" : "fix");
    for (int i = 0; i < c->nvec && n < cap; i++) n += (size_t)snprintf(buf + n, cap - n, "%s%d", i ? " " : " vec ", c->vec[i]);
}

/* The lines of args.txt that are not flags: the fingerprints, binding_crc32, version
 * ("" when a line is missing: the checks below then refuse the run). */
typedef struct {
    char images_fp[80], labels_fp[80], crc[16], version[32];
} args_extras;

static void read_extras(const char *path, args_extras *x) {
    memset(x, 0, sizeof *x);
    mp_rundir_args_value(path, "images_fingerprint", x->images_fp, sizeof x->images_fp, NULL);
    mp_rundir_args_value(path, "labels_fingerprint", x->labels_fp, sizeof x->labels_fp, NULL);
    mp_rundir_args_value(path, "binding_crc32", x->crc, sizeof x->crc, NULL);
    mp_rundir_args_value(path, "version", x->version, sizeof x->version, NULL);
}

/* major * 1000 + minor of "a.b.c", or -1. */
static int version_number(const char *v) {
    int major, minor;
    return sscanf(v, "%d.%d", &major, &minor) == 2 && major >= 0 && minor >= 0 ? major * 1000 + minor : -1;
}

static int load_run(const char *given, judged *r, mp_err *err) {
    char real[PATH_MAX], path[PATH_MAX + 32];
    struct stat st;
    if (strpbrk(given, "\n\r")) return mp_errf(err, "--eval: a run directory's path has a line break: '%s'", given);
    if (!realpath(given, real)) return mp_errf(err, "--eval %s: %s", given, strerror(errno));
    if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) return mp_errf(err, "--eval %s: not a directory", given);
    if (strlen(real) >= sizeof r->dir || strpbrk(real, "\n\r"))
        return mp_errf(err, "--eval %s: the path is too long, or has a line break", given);
    snprintf(r->dir, sizeof r->dir, "%s", real);
    snprintf(path, sizeof path, "%s/tasks.csv", real);
    int is_eval = access(path, F_OK) == 0;
    snprintf(path, sizeof path, "%s/metrics.csv", real);
    if (is_eval && access(path, F_OK) != 0)
        return mp_errf(err, "--eval %s: a meta-test's directory (what --eval writes), not a run", given);
    snprintf(path, sizeof path, "%s/args.txt", real);
    if (access(path, F_OK) != 0) return mp_errf(err, "--eval %s: not a run directory (it has no args.txt)", given);
    mp_err e;
    if (mp_resume_check_format(real, &e) != 0) return mp_errf(err, "--eval %s: %s", given, e.msg);
    if (mp_config_read_args(path, &r->cfg, &e) != 0) return mp_errf(err, "--eval %s: %s", given, e.msg);
    args_extras x;
    read_extras(path, &x);
    int v = version_number(x.version), ours = version_number(METAPLAST_VERSION);
    if (v < 0) return mp_errf(err, "--eval %s: its args.txt has no version line: not a run of metaplast", given);
    if (v > ours)
        return mp_errf(err, "--eval %s: written by metaplast %s, newer than this one (%s)", given, x.version,
                       METAPLAST_VERSION);
    snprintf(path, sizeof path, "%s/%s", real, MP_CHECKPOINT_FILE);
    if (access(path, F_OK) != 0)
        return mp_errf(err, "--eval %s: it has no %s, so its final theta (after the last Adam step) is not known",
                       given, MP_CHECKPOINT_FILE);
    mp_checkpoint ck;
    if (mp_checkpoint_load(real, &ck, &e) != 0) return mp_errf(err, "--eval %s: %s", given, e.msg);
    if (ck.episode < r->cfg.episodes)
        return mp_errf(err, "--eval %s: the run is unfinished: %ld of its %ld episodes (finish it with `metaplast "
                       "--resume %s`; or it is being trained now)", given, ck.episode, r->cfg.episodes, given);
    if (ck.episode > r->cfg.episodes)
        return mp_errf(err, "--eval %s: damaged: its checkpoint has %ld episodes, its args.txt says %ld", given,
                       ck.episode, r->cfg.episodes);
    /* the checkpoint's binding is the args.txt's flags and fingerprints, and binding_crc32
     * their checksum: an edited args.txt or another run's checkpoint is caught */
    char binding[MP_CHECKPOINT_BINDING];
    int ok = mp_run_binding_text(&r->cfg, x.images_fp, x.labels_fp, binding, sizeof binding) == 0;
    char crc[16];
    snprintf(crc, sizeof crc, "%08x", ok ? mp_binding_crc32(binding) : 0u);
    if (!ok || strcmp(ck.binding, binding) != 0 || strcmp(crc, x.crc) != 0)
        return mp_errf(err, "--eval %s: damaged: its args.txt was edited, or its %s is another run's (the flags and "
                       "data they record differ)", given, MP_CHECKPOINT_FILE);
    for (int k = 0; k < MP_THETAS; k++)
        if (!isfinite(ck.theta[k])) return mp_errf(err, "--eval %s: its final theta%d is not finite", given, k);
    memcpy(r->theta, ck.theta, sizeof r->theta);
    snprintf(r->images_fp, sizeof r->images_fp, "%s", x.images_fp);
    snprintf(r->labels_fp, sizeof r->labels_fp, "%s", x.labels_fp);
    if (r->cfg.classes[0]) {
        if (mp_classes_parse(r->cfg.classes, r->trained, &e) < 0) return mp_errf(err, "--eval %s: %s", given, e.msg);
    } else {
        memset(r->trained, 1, sizeof r->trained);
    }
    rule_text(&r->cfg, r->rule, sizeof r->rule);
    return 0;
}

/* ---- the test's data and tasks ------------------------------------------------------ */

static int agree_int(const judged *runs, int n, size_t offset, const char *name, int *out, mp_err *err) {
    int first = *(const int *)((const char *)&runs[0].cfg + offset);
    for (int i = 1; i < n; i++) {
        int v = *(const int *)((const char *)&runs[i].cfg + offset);
        if (v != first)
            return mp_errf(err, "--eval: the runs differ in --%s (%d in %s, %d in %s): give --%s for the test", name,
                           first, runs[0].dir, v, runs[i].dir, name);
    }
    *out = first;
    return 0;
}

#define AGREE_INT(f) (mp_config_given(cli, #f) ? 0 : agree_int(runs, n, offsetof(mp_config, f), #f, &t->f, err))

/* The test's flags (t): the command line's, else the runs' own. The data: the command
 * line's database (or pair), else the data the runs were trained on, which must be the
 * same (by fingerprint: copies at other paths are the same data). Returns 0 or -1 (a
 * usage error). */
static int test_flags(const mp_config *cli, const judged *runs, int n, mp_config *t, mp_err *err) {
    *t = *cli;
    int cli_source = mp_config_given(cli, "database") || cli->images[0] || cli->labels[0];
    if (!cli_source) {
        for (int i = 1; i < n; i++)
            if (strcmp(runs[i].images_fp, runs[0].images_fp) != 0 || strcmp(runs[i].labels_fp, runs[0].labels_fp) != 0)
                return mp_errf(err, "--eval: the runs were trained on different data (%s: %s, images %s; %s: %s, "
                               "images %s): give --database (or --images and --labels) for the test", runs[0].dir,
                               runs[0].cfg.database, runs[0].images_fp, runs[i].dir, runs[i].cfg.database,
                               runs[i].images_fp);
        snprintf(t->database, sizeof t->database, "%s", runs[0].cfg.database);
        snprintf(t->images, sizeof t->images, "%s", runs[0].cfg.images);
        snprintf(t->labels, sizeof t->labels, "%s", runs[0].cfg.labels);
    }
    if (!mp_config_given(cli, "data_dir")) snprintf(t->data_dir, sizeof t->data_dir, "%s", runs[0].cfg.data_dir);
    if (AGREE_INT(M) || AGREE_INT(K) || AGREE_INT(Q) || AGREE_INT(dim)) return -1;
    return 0;
}

/* The classes of the test (into classes): --classes, else every class of the test data
 * that no run meta-trained on a subset of these data (--classes) drew from (all of them
 * when no run did). Marks each run's same_data and held_out. Returns 0, or -1 (a usage
 * error). */
static int test_classes(const mp_config *cli, judged *runs, int n, const mp_dataset *ds, char *classes, size_t cap,
                        mp_err *err) {
    char fp_images[80], fp_labels[80];
    mp_data_fingerprint(ds->images_bytes, ds->images_crc, fp_images, sizeof fp_images);
    mp_data_fingerprint(ds->labels_bytes, ds->labels_crc, fp_labels, sizeof fp_labels);
    unsigned char mask[MP_MAX_CLASSES] = {0}, trained_here[MP_MAX_CLASSES] = {0};
    for (int c = 0; c < ds->nclasses; c++) mask[c] = 1;
    for (int r = 0; r < n; r++) {
        runs[r].same_data = strcmp(runs[r].images_fp, fp_images) == 0 && strcmp(runs[r].labels_fp, fp_labels) == 0;
        /* a run meta-trained on some classes (--classes) of these data holds the others out */
        if (runs[r].same_data && runs[r].cfg.classes[0])
            for (int c = 0; c < MP_MAX_CLASSES; c++) trained_here[c] |= runs[r].trained[c];
    }
    if (mp_config_given(cli, "classes")) {
        snprintf(classes, cap, "%s", cli->classes);
        if (mp_classes_parse(cli->classes, mask, err) < 0) return -1;
    } else {
        for (int c = 0; c < MP_MAX_CLASSES; c++) mask[c] &= !trained_here[c];
        mp_classes_format(mask, classes, cap);
        if (!classes[0])
            return mp_errf(err, "--eval: no class of %s is held out: the runs were meta-trained on every one of them "
                           "(give --classes for the test, or another database)", ds->labels_path);
    }
    for (int r = 0; r < n; r++) {
        int seen = 0, test = 0;
        for (int c = 0; c < MP_MAX_CLASSES; c++) test += mask[c], seen += runs[r].same_data && mask[c] && runs[r].trained[c];
        runs[r].held_out = seen == 0;
        runs[r].seen_all = seen == test;
    }
    return 0;
}

/* CRC-32 of everything a rule is handed for a task: initial W and B, the images, labels
 * and their order. The same for every rule of a task (tasks.csv shows it). */
static unsigned inputs_crc(const mp_draw *d, size_t nw, int T, int NQ, int n0) {
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, (const Bytef *)d->W0, (uInt)(nw * sizeof(float)));
    if (d->B0) c = crc32(c, (const Bytef *)d->B0, (uInt)(nw * sizeof(float)));
    c = crc32(c, (const Bytef *)d->x_train, (uInt)((size_t)T * n0 * sizeof(float)));
    c = crc32(c, (const Bytef *)d->y_train, (uInt)((size_t)T * sizeof(int)));
    c = crc32(c, (const Bytef *)d->x_query, (uInt)((size_t)NQ * n0 * sizeof(float)));
    c = crc32(c, (const Bytef *)d->y_query, (uInt)((size_t)NQ * sizeof(int)));
    return (unsigned)c;
}

/* ---- what it writes ----------------------------------------------------------------- */

/* A number for a CSV cell: empty when it is not finite (no interval, no finite loss). */
static void csv_number(FILE *f, double v) {
    if (!isfinite(v)) return;
    char buf[32];
    mp_format_double(v, buf, sizeof buf); /* the shortest decimal that reads back as v */
    fputs(buf, f);
}

typedef struct {
    char path[MP_PATH_MAX + 640];
    char *text;
    size_t len;
    FILE *f;
} out_file;

static FILE *out_open(out_file *o, const char *dir, const char *name) {
    snprintf(o->path, sizeof o->path, "%s/%s", dir, name);
    o->text = NULL;
    o->len = 0;
    o->f = open_memstream(&o->text, &o->len);
    if (!o->f) {
        fprintf(stderr, "metaplast: out of memory\n");
        exit(MP_EXIT_RUNTIME);
    }
    return o->f;
}

/* Every file appears whole or not at all (written to a temporary and renamed). */
static int out_close(out_file *o, mp_err *err) {
    int ok = fclose(o->f) == 0;
    int rc = ok ? mp_write_file_atomic(o->path, o->text, o->len, 1, err) : mp_errf(err, "%s: out of memory", o->path);
    free(o->text);
    return rc;
}

typedef struct {
    const mp_config *t;
    const mp_dataset *ds;
    const judged *runs;
    int R, N, P;
    const int *tpoint;
    const double *acc, *loss; /* [r][i][j]: rule r, task i, point j */
    const int *diverged;      /* [r][i] */
    const unsigned *crc;      /* [r][i] */
    const double *seconds;    /* [r][i]: the adaptation's wall time */
    const int *task_classes;  /* [i][M] */
    const char *classes;      /* the test's pool, canonical */
    int done;                 /* tasks judged (N unless a signal stopped the meta-test) */
} results;

#define ACC(res, r, i, j) (res)->acc[((size_t)(r) * (res)->N + (i)) * (res)->P + (j)]
#define LOSS(res, r, i, j) (res)->loss[((size_t)(r) * (res)->N + (i)) * (res)->P + (j)]

static int write_args(const char *dir, const mp_config *t, const mp_dataset *ds, const judged *runs, int R,
                      const char *classes, int done, mp_err *err) {
    out_file o;
    FILE *f = out_open(&o, dir, "args.txt");
    for (int r = 0; r < R; r++)
        fprintf(f, "rule_%d : %s\nrule_%d_flags : %s\nrule_%d_held_out : %s\n", r + 1, runs[r].dir, r + 1,
                runs[r].rule, r + 1, runs[r].held_out ? "yes" : "no");
    fprintf(f, "eval_tasks : %d\neval_seed : %lld\neval_every : %d\n", t->eval_tasks, t->eval_seed, t->eval_every);
    if (done >= 0) fprintf(f, "eval_tasks_done : %d (stopped by a signal)\n", done);
    fprintf(f, "database : %s\ndata_dir : %s\nimages : %s\nlabels : %s\n", t->database, t->data_dir, t->images,
            t->labels);
    fprintf(f, "M : %d\nK : %d\nQ : %d\ndim : %d\nclasses : %s\n", t->M, t->K, t->Q, t->dim, classes);
    fprintf(f, "images_file : %s\nlabels_file : %s\n", ds->images_path, ds->labels_path);
    mp_data_fingerprint_lines(ds, f);
    fprintf(f, "version : %s\n", METAPLAST_VERSION);
    return out_close(&o, err);
}

typedef struct rule_summary rule_summary;

static int write_tasks(const char *dir, const results *res, const rule_summary *s, double *scratch, mp_err *err) {
    (void)s, (void)scratch;
    out_file o;
    FILE *f = out_open(&o, dir, "tasks.csv");
    fprintf(f, "task,rule,accuracy,loss,diverged,classes,inputs_crc32,seconds\n");
    for (int i = 0; i < res->done; i++)
        for (int r = 0; r < res->R; r++) {
            fprintf(f, "%d,%d,", i + 1, r + 1);
            csv_number(f, ACC(res, r, i, res->P - 1));
            fputc(',', f);
            csv_number(f, LOSS(res, r, i, res->P - 1));
            fprintf(f, ",%d,", res->diverged[r * res->N + i]);
            for (int m = 0; m < res->t->M; m++) fprintf(f, "%s%d", m ? " " : "", res->task_classes[i * res->t->M + m]);
            fprintf(f, ",%08x,%.6f\n", res->crc[r * res->N + i], res->seconds[r * res->N + i]);
        }
    return out_close(&o, err);
}

/* Per rule and curve point: the mean accuracy over tasks and its interval. */
typedef struct {
    double mean, lo, hi, loss;
} point_stats;

static point_stats stats_at(const results *res, int r, int j, double *scratch) {
    point_stats p;
    int used;
    for (int i = 0; i < res->done; i++) scratch[i] = ACC(res, r, i, j);
    mp_eval_interval(scratch, res->done, &p.mean, &p.lo, &p.hi, &used);
    double lo, hi;
    for (int i = 0; i < res->done; i++) scratch[i] = LOSS(res, r, i, j);
    mp_eval_interval(scratch, res->done, &p.loss, &lo, &hi, &used);
    return p;
}

static int write_curve(const char *dir, const results *res, const rule_summary *s, double *scratch, mp_err *err) {
    (void)s;
    out_file o;
    FILE *f = out_open(&o, dir, "curve.csv");
    fprintf(f, "rule,samples,acc_mean,acc_lo,acc_hi,loss_mean,tasks\n");
    for (int r = 0; r < res->R; r++)
        for (int j = 0; j < res->P; j++) {
            point_stats p = stats_at(res, r, j, scratch);
            fprintf(f, "%d,%d,", r + 1, res->tpoint[j]);
            csv_number(f, p.mean), fputc(',', f);
            csv_number(f, p.lo), fputc(',', f);
            csv_number(f, p.hi), fputc(',', f);
            csv_number(f, p.loss);
            fprintf(f, ",%d\n", res->done);
        }
    return out_close(&o, err);
}

static int write_figure(const char *dir, const results *res, const rule_summary *s, double *scratch, mp_err *err) {
    (void)s;
    size_t n = (size_t)res->R * res->P;
    double *mean = mp_malloc(n * sizeof *mean), *lo = mp_malloc(n * sizeof *lo), *hi = mp_malloc(n * sizeof *hi);
    char (*labels)[200] = mp_malloc((size_t)res->R * sizeof *labels);
    const char **names = mp_malloc((size_t)res->R * sizeof *names);
    for (int r = 0; r < res->R; r++) {
        for (int j = 0; j < res->P; j++) {
            point_stats p = stats_at(res, r, j, scratch);
            mean[r * res->P + j] = p.mean, lo[r * res->P + j] = p.lo, hi[r * res->P + j] = p.hi;
        }
        snprintf(labels[r], sizeof labels[r], "%d: %s", r + 1, res->runs[r].rule);
        names[r] = labels[r];
    }
    char subtitle[400], path[MP_PATH_MAX + 640];
    snprintf(subtitle, sizeof subtitle, "mean of %d test tasks, band: 95%% interval; %.64s classes %.200s%s", res->done,
             res->t->database, res->classes, res->R > 10 ? "; rules 1-10" : "");
    snprintf(path, sizeof path, "%s/eval_curve.png", dir);
    int rc = mp_plot_eval_curve(path, res->R, names, res->tpoint, res->P, mean, lo, hi, res->t->M, subtitle, err);
    free(mean), free(lo), free(hi), free(labels), free(names);
    return rc;
}

struct rule_summary {
    point_stats score;
    double diff, diff_lo, diff_hi;
    int diverged;
};

static void summarise(const results *res, rule_summary *s, double *scratch) {
    for (int r = 0; r < res->R; r++) {
        s[r].score = stats_at(res, r, res->P - 1, scratch);
        for (int i = 0; i < res->done; i++) scratch[i] = ACC(res, r, i, res->P - 1) - ACC(res, 0, i, res->P - 1);
        int used;
        mp_eval_interval(scratch, res->done, &s[r].diff, &s[r].diff_lo, &s[r].diff_hi, &used);
        s[r].diverged = 0;
        for (int i = 0; i < res->done; i++) s[r].diverged += res->diverged[r * res->N + i];
    }
}

static int write_summary(const char *dir, const results *res, const rule_summary *s, double *scratch, mp_err *err) {
    (void)scratch;
    out_file o;
    FILE *f = out_open(&o, dir, "summary.csv");
    fprintf(f, "rule,run_dir,fbk,vec,tasks,acc_mean,acc_lo,acc_hi,diff_mean,diff_lo,diff_hi,loss_mean,diverged,held_out");
    for (int k = 0; k < MP_THETAS; k++) fprintf(f, ",theta_%d", k);
    fputc('\n', f);
    for (int r = 0; r < res->R; r++) {
        const mp_config *c = &res->runs[r].cfg;
        fprintf(f, "%d,", r + 1);
        mp_csv_text(f, res->runs[r].dir);
        fprintf(f, ",%s,", c->fbk_sym ? "sym" : "fix");
        for (int i = 0; i < c->nvec; i++) fprintf(f, "%s%d", i ? " " : "", c->vec[i]);
        fprintf(f, ",%d,", res->done);
        const double cells[] = {s[r].score.mean, s[r].score.lo, s[r].score.hi, s[r].diff, s[r].diff_lo, s[r].diff_hi,
                                s[r].score.loss};
        for (int k = 0; k < 7; k++) {
            /* the first rule is the reference: no difference to itself */
            if (!(r == 0 && k >= 3 && k <= 5)) csv_number(f, cells[k]);
            fputc(',', f);
        }
        fprintf(f, "%d,%d", s[r].diverged, res->runs[r].held_out);
        for (int k = 0; k < MP_THETAS; k++) fputc(',', f), csv_number(f, res->runs[r].theta[k]);
        fputc('\n', f);
    }
    return out_close(&o, err);
}

static void print_table(FILE *out, const results *res, const rule_summary *s) {
    fprintf(out, "%d test tasks (%d classes of %s: %s; M %d, K %d, Q %d), score after all %d samples:\n", res->done,
            res->ds->npool, res->t->database, res->classes, res->t->M, res->t->K, res->t->Q, res->tpoint[res->P - 1]);
    int w = 22; /* the flags column: as wide as the widest rule */
    for (int r = 0; r < res->R; r++) w = (int)strlen(res->runs[r].rule) > w ? (int)strlen(res->runs[r].rule) : w;
    fprintf(out, "  %-4s %-*s %-26s %-28s %s\n", "rule", w, "flags", "accuracy [95% interval]",
            "vs rule 1 [95% interval]", "run");
    for (int r = 0; r < res->R; r++) {
        char score[64], diff[64] = "";
        snprintf(score, sizeof score, "%.3f [%.3f, %.3f]", s[r].score.mean, s[r].score.lo, s[r].score.hi);
        if (r > 0) snprintf(diff, sizeof diff, "%+.3f [%+.3f, %+.3f]", s[r].diff, s[r].diff_lo, s[r].diff_hi);
        fprintf(out, "  %-4d %-*s %-26s %-28s %s\n", r + 1, w, res->runs[r].rule, score, r ? diff : "(reference)",
                res->runs[r].dir);
        if (s[r].diverged)
            fprintf(out, "       %d of %d tasks diverged (weights not finite): scored 0\n", s[r].diverged, res->done);
    }
}

/* ---- judging tasks ----------------------------------------------------------------- */

/* One thread's share: every rule on one task (task < 0: none), into the task's slots. */
typedef struct {
    const judged *runs;
    int R, N, P, T, NQ, n0;
    size_t nw;
    const int *tpoint;
    double *acc, *loss, *seconds;
    int *diverged;
    unsigned *crc;
    mp_episode_f32 **eps; /* per rule, this lane's work space */
    float *W;
    mp_draw d;
    int task;
} lane;

static void judge_task(lane *ln) {
    const int i = ln->task;
    if (i < 0) return;
    for (int r = 0; r < ln->R; r++) {
        size_t at = ((size_t)r * ln->N + i) * ln->P;
        ln->crc[r * ln->N + i] = inputs_crc(&ln->d, ln->nw, ln->T, ln->NQ, ln->n0);
        double start = mp_now_seconds();
        ln->diverged[r * ln->N + i] = mp_eval_adapt(ln->eps[r], &ln->d, ln->runs[r].theta, ln->NQ, ln->tpoint,
                                                    ln->P, ln->nw, ln->n0, ln->W, ln->acc + at, ln->loss + at);
        ln->seconds[r * ln->N + i] = mp_now_seconds() - start;
    }
}

static void judge_lane(void *arg, int part) { judge_task((lane *)arg + part); }

/* ---- the whole meta-test ------------------------------------------------------------ */

/* The most the results may hold: accuracy and loss per rule, task and curve point. */
#define MAX_RESULT_BYTES ((double)(4ULL << 30))

static volatile sig_atomic_t eval_signal;

/* The first SIGINT, SIGTERM or SIGHUP ends the meta-test after the current task, with
 * the tasks done so far written; a second one ends the process at once. */
static void on_eval_signal(int sig) {
    if (eval_signal) _exit(128 + sig);
    eval_signal = sig;
}

static void notes(FILE *errf, const judged *runs, int R, const mp_config *t) {
    for (int r = 0; r < R; r++) {
        if (!runs[r].held_out)
            fprintf(errf, "metaplast: --eval: note: rule %d (%s) was meta-trained on %s of the test classes: the "
                    "tasks are new to it, %s\n", r + 1, runs[r].dir, runs[r].seen_all ? "all" : "some",
                    runs[r].seen_all ? "their classes are not" : "not all of their classes");
        else if (!runs[r].same_data && strcmp(runs[r].cfg.database, t->database) == 0)
            fprintf(errf, "metaplast: --eval: note: rule %d (%s) was trained on other files of %s than these "
                    "(their fingerprints differ): all of their classes count as unseen\n", r + 1, runs[r].dir,
                    t->database);
    }
}

int mp_eval_main(const mp_config *cli, FILE *out, FILE *errf) {
    mp_err err;
    int R = cli->eval_n, status = MP_EXIT_OK;
    judged *runs = mp_calloc((size_t)R, sizeof *runs);
    for (int r = 0; r < R && status == MP_EXIT_OK; r++)
        if (load_run(mp_config_eval_dir(cli, r), &runs[r], &err) != 0) {
            fprintf(errf, "metaplast: %s\n", err.msg);
            status = MP_EXIT_RUNTIME;
        }
    mp_config t;
    if (status == MP_EXIT_OK && test_flags(cli, runs, R, &t, &err) != 0) {
        fprintf(errf, "metaplast: %s\n", err.msg);
        status = MP_EXIT_USAGE;
    }
    if (status != MP_EXIT_OK) {
        free(runs);
        return status;
    }
    const int T = t.M * t.K, NQ = t.M * t.Q, s = t.eval_every;
    const int P = T / s + 1 + (T % s != 0);
    int N = t.eval_tasks;
    double result_bytes = 16.0 * R * (double)N * P;
    if (result_bytes > MAX_RESULT_BYTES) {
        fprintf(errf, "metaplast: --eval_tasks/--eval_every: %d rules x %d tasks x %d curve points would hold %.1f GiB "
                "of results, more than the %.0f GiB metaplast allows: fewer tasks or a larger --eval_every\n", R, N, P,
                result_bytes / (1 << 30), MAX_RESULT_BYTES / (1 << 30));
        free(runs);
        return MP_EXIT_USAGE;
    }
    /* the data with every class (K + Q checked against the test's classes below) */
    mp_dataset ds;
    mp_data_request want = {t.database, t.data_dir, t.dim, 1, 0, t.images, t.labels, NULL};
    int loaded = mp_dataset_load(&want, &ds, &err);
    if (loaded != 0) {
        fprintf(errf, "metaplast: --eval: %s\n", err.msg);
        free(runs);
        return loaded == -2 ? MP_EXIT_USAGE : MP_EXIT_RUNTIME;
    }
    char classes[1200];
    int usage = test_classes(cli, runs, R, &ds, classes, sizeof classes, &err) != 0;
    if (!usage && mp_dataset_use_classes(&ds, classes, t.M, t.K + t.Q, &err) != 0) {
        usage = 1;
        if (!mp_config_given(cli, "classes")) { /* say where the list came from */
            mp_err e = err;
            mp_errf(&err, "the test classes, those the runs were not meta-trained on (%s): %s", classes, e.msg);
        }
    }
    for (int r = 0; r < R && !usage; r++)
        if (!runs[r].same_data && !mp_config_given(cli, "dim") && ds.native_dim != t.dim) {
            mp_errf(&err, "the images of %s are %dx%d, the runs' input is %dx%d: give --dim (--dim %d resizes them to "
                    "the runs' size, --dim %d takes them as they are; a rule's coefficients do not depend on the "
                    "input size)", ds.images_path, ds.native_dim, ds.native_dim, t.dim, t.dim, t.dim, ds.native_dim);
            usage = 1;
        }
    if (usage) {
        fprintf(errf, "metaplast: --eval: %s\n", err.msg);
        mp_dataset_free(&ds);
        free(runs);
        return MP_EXIT_USAGE;
    }
    unsigned char mask[MP_MAX_CLASSES] = {0};
    for (int c = 0; c < ds.npool; c++) mask[ds.pool[c]] = 1;
    mp_classes_format(mask, classes, sizeof classes);
    notes(errf, runs, R, &t);

    char dir[MP_PATH_MAX + 512];
    if (mp_rundir_create(t.res, t.test_name[0] ? t.test_name : "eval", dir, sizeof dir, &err) != 0 ||
        write_args(dir, &t, &ds, runs, R, classes, -1, &err) != 0) {
        fprintf(errf, "metaplast: %s\n", err.msg);
        mp_dataset_free(&ds);
        free(runs);
        return MP_EXIT_RUNTIME;
    }
    fprintf(out, "eval directory: %s\n", dir);
    fflush(out);

    int *tpoint = mp_malloc((size_t)P * sizeof *tpoint);
    for (int j = 0; j < P; j++) tpoint[j] = (long)j * s < T ? j * s : T;
    mp_arch base = mp_config_arch(&t, &ds);
    base.feedback = MP_FEEDBACK_FIXED;
    base.terms = mp_rule_mask(NULL, 0);
    const size_t nw = mp_arch_weight_count(&base);
    /* Two lanes, each with its own work space for every rule: task 2k goes to lane 0 (this
     * thread), task 2k+1 to lane 1 (the worker, when there is one; else this thread after
     * lane 0). A task is judged the same in either lane, so the numbers do not depend on
     * the thread count; the tasks are drawn in order, here, from the one generator. */
    mp_worker *worker = t.threads >= 2 && mp_worker_cpus() >= 2 ? mp_worker_start() : NULL;
    double *acc = mp_malloc((size_t)R * N * P * sizeof *acc), *loss = mp_malloc((size_t)R * N * P * sizeof *loss);
    int *diverged = mp_calloc((size_t)R * N, sizeof *diverged), *task_classes = mp_malloc((size_t)N * t.M * sizeof(int));
    unsigned *crc = mp_malloc((size_t)R * N * sizeof *crc);
    double *seconds = mp_malloc((size_t)R * N * sizeof *seconds);
    lane lanes[2];
    for (int k = 0; k < 2; k++) {
        lane *ln = &lanes[k];
        *ln = (lane){.runs = runs, .R = R, .N = N, .P = P, .T = T, .NQ = NQ, .n0 = base.n[0], .nw = nw,
                     .tpoint = tpoint, .acc = acc, .loss = loss, .diverged = diverged, .crc = crc,
                     .seconds = seconds, .task = -1};
        ln->eps = mp_malloc((size_t)R * sizeof *ln->eps);
        for (int r = 0; r < R; r++) {
            mp_arch a = base;
            a.feedback = runs[r].cfg.fbk_sym ? MP_FEEDBACK_SYMMETRIC : MP_FEEDBACK_FIXED;
            a.terms = mp_config_terms(&runs[r].cfg);
            ln->eps[r] = mp_episode_new_f32(&a, s < T ? s : T, NQ);
        }
        ln->W = mp_malloc(nw * sizeof *ln->W);
        mp_draw_init(&ln->d, &base, t.M, t.K, t.Q, 1); /* B too: a fixed rule's feedback, the same for each */
    }
    mp_rng rng;
    mp_rng_seed(&rng, (uint64_t)t.eval_seed ^ MP_EVAL_STREAM);
    struct sigaction sa, old[3];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_eval_signal;
    sigemptyset(&sa.sa_mask);
    const int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int k = 0; k < 3; k++) sigaction(sigs[k], &sa, &old[k]);
    int done = 0;
    double start = mp_now_seconds();
    while (done < N && !eval_signal) {
        for (int k = 0; k < 2; k++) {
            lanes[k].task = done + k < N ? done + k : -1;
            if (lanes[k].task < 0) continue;
            mp_draw_fill(&lanes[k].d, &ds, &base, &rng);
            memcpy(task_classes + (size_t)lanes[k].task * t.M, lanes[k].d.task.classes, (size_t)t.M * sizeof(int));
        }
        mp_worker_split(worker, judge_lane, lanes);
        done += lanes[1].task >= 0 ? 2 : 1;
    }
    double wall = mp_now_seconds() - start;
    for (int k = 0; k < 3; k++) sigaction(sigs[k], &old[k], NULL);
    for (int k = 0; k < 2; k++) {
        for (int r = 0; r < R; r++) mp_episode_free_f32(lanes[k].eps[r]);
        free(lanes[k].eps);
        free(lanes[k].W);
        mp_draw_free(&lanes[k].d);
    }
    mp_worker_stop(worker);
    if (done > 0)
        fprintf(out, "judged %d tasks x %d rules in %.2f s: %.2f ms per task and rule (%s)\n", done, R, wall,
                1000 * wall / ((double)done * R), worker ? "2 threads, a task each" : "1 thread");

    int stopped = eval_signal;
    if (stopped && done == 0) { /* nothing judged: no directory that looks like a result */
        char args_path[sizeof dir + 16];
        snprintf(args_path, sizeof args_path, "%s/args.txt", dir);
        unlink(args_path);
        rmdir(dir);
        fprintf(errf, "metaplast: --eval stopped by a signal before the first task was judged; nothing written\n");
        status = 128 + stopped;
    } else {
        /* the results of the tasks done; with the rows of task i at i * P as when all were done */
        results res = {&t, &ds, runs, R, N, P, tpoint, acc, loss, diverged, crc, seconds, task_classes, classes, done};
        double *scratch = mp_malloc((size_t)N * sizeof *scratch);
        rule_summary *sum = mp_malloc((size_t)R * sizeof *sum);
        summarise(&res, sum, scratch);
        /* the table first: whatever the disk does, the numbers are shown */
        print_table(out, &res, sum);
        fflush(out);
        mp_err first = {{0}};
        int failed = 0;
        if (stopped) failed |= write_args(dir, &t, &ds, runs, R, classes, done, &first) != 0;
        int (*const writers[])(const char *, const results *, const rule_summary *, double *, mp_err *) = {
            write_tasks, write_summary, write_curve, write_figure};
        for (size_t k = 0; k < sizeof writers / sizeof writers[0]; k++) {
            mp_err e;
            if (writers[k](dir, &res, sum, scratch, &e) != 0) {
                fprintf(errf, "metaplast: %s\n", e.msg);
                failed = 1;
            }
        }
        if (failed && first.msg[0]) fprintf(errf, "metaplast: %s\n", first.msg);
        if (stopped)
            fprintf(errf, "metaplast: --eval stopped by a signal after %d of %d tasks: the results of those are in %s\n",
                    done, N, dir);
        status = stopped ? 128 + stopped : failed ? MP_EXIT_RUNTIME : MP_EXIT_OK;
        free(scratch), free(sum);
    }
    free(acc), free(loss), free(diverged), free(task_classes), free(crc), free(seconds), free(tpoint);
    mp_dataset_free(&ds);
    free(runs);
    return status;
}
