/* --resume: what a run directory holds, checked against the run it claims to be, and
 * the state that continues it.
 *
 * The state comes from checkpoint.bin when it is there and not ahead of metrics.csv;
 * otherwise (no checkpoint, or a machine crash left a checkpoint newer than the rows that
 * reached the disk) it is rebuilt from the rows themselves (mp_trainer_replay), so no row
 * is ever dropped for want of a checkpoint. Either way the rows are checked first: each
 * theta must follow from the rows before it and the last row's episode is recomputed,
 * so rows of another run are refused; a checkpoint must equal the state the rows lead
 * to. The result is bit-identical to a run that was never interrupted. */
#include "metaplast/resume.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metaplast/plot.h"
#include "metaplast/rundir.h"
#include "metaplast/runlog.h"
#include "metaplast/train.h"

/* The first line of a that b does not have the same, into what (for the message). */
static void first_difference(const char *a, const char *b, char *what, size_t cap) {
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || strncmp(a, b, la) != 0) {
            snprintf(what, cap, "'%.*s' there, '%.*s' here", (int)la, a, (int)lb, b);
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
    snprintf(what, cap, "(no line differs)");
}

/* args.txt against the data loaded now and against its own checksum. */
static int check_args(const char *run_dir, const mp_dataset *ds, const char *binding, mp_err *err) {
    char path[MP_PATH_MAX + 16], value[512], want[512];
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    const char *names[2] = {"images_fingerprint", "labels_fingerprint"};
    const char *files[2] = {ds->images_path, ds->labels_path};
    const uint64_t bytes[2] = {ds->images_bytes, ds->labels_bytes};
    const uint32_t crcs[2] = {ds->images_crc, ds->labels_crc};
    for (int i = 0; i < 2; i++) {
        int found = mp_rundir_args_value(path, names[i], value, sizeof value, err);
        if (found < 0) return -1;
        mp_data_fingerprint(bytes[i], crcs[i], want, sizeof want);
        if (!found || !value[0])
            return mp_errf(err, "%s: no %s line (the file was edited)", path, names[i]);
        if (strcmp(value, want) != 0)
            return mp_errf(err, "%s is not the data the run in %s was trained on: it is %s, the run's was %s", files[i],
                           run_dir, want, value);
    }
    value[0] = '\0'; /* none: no checksum matches it */
    if (mp_rundir_args_value(path, "binding_crc32", value, sizeof value, err) < 0) return -1;
    snprintf(want, sizeof want, "%08x", mp_binding_crc32(binding));
    if (strcmp(value, want) != 0)
        return mp_errf(err, "%s: its flags are not those the run was started with (binding_crc32 %s, the flags "
                       "give %s): the file was edited", path, value, want);
    return 0;
}

/* Two states the same bit for bit (the binding aside). */
static int same_state(const mp_checkpoint *a, const mp_checkpoint *b) {
    return a->episode == b->episode && a->adam_step == b->adam_step &&
           memcmp(a->theta, b->theta, sizeof a->theta) == 0 && memcmp(a->adam_m, b->adam_m, sizeof a->adam_m) == 0 &&
           memcmp(a->adam_v, b->adam_v, sizeof a->adam_v) == 0 && memcmp(&a->rng, &b->rng, sizeof a->rng) == 0;
}

int mp_resume_prepare(const mp_config *cfg, const mp_dataset *ds, const char *binding, mp_resume *r, FILE *note,
                      mp_err *err) {
    const char *run_dir = cfg->resume;
    memset(r, 0, sizeof *r);
    if (check_args(run_dir, ds, binding, err) != 0) return MP_EXIT_RUNTIME;
    if (mp_runlog_read(run_dir, &r->history, &r->cap, &r->rows, err) != 0) return MP_EXIT_RUNTIME;

    char ck_path[MP_PATH_MAX + 32];
    snprintf(ck_path, sizeof ck_path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    struct stat st;
    int have_ck = !(lstat(ck_path, &st) != 0 && errno == ENOENT);
    if (have_ck && S_ISLNK(st.st_mode) && stat(ck_path, &st) != 0) have_ck = 0; /* dangling link */
    if (have_ck) {
        if (mp_checkpoint_load(run_dir, &r->state, err) != 0) return MP_EXIT_RUNTIME;
        if (strcmp(r->state.binding, binding) != 0) {
            char what[512];
            first_difference(r->state.binding, binding, what, sizeof what);
            mp_errf(err, "%s belongs to another run: %s (the checkpoint against args.txt and the data)", ck_path,
                    what);
            return MP_EXIT_RUNTIME;
        }
    }
    /* the row of an episode that diverged and stopped the run (--diverge stop; kept for the
     * record) ends what can be continued from; skipped rows (--diverge skip) do not */
    long usable = mp_trainer_usable_rows(cfg, r->history, r->rows);
    char why[512];
    mp_checkpoint rebuilt;
    if (have_ck && r->state.episode <= usable) {
        /* rows after the checkpoint (a kill between row and checkpoint) are recomputed;
         * the rows up to it must be the ones that led to it */
        if (mp_trainer_replay(cfg, ds, r->history, r->state.episode, &rebuilt, why, sizeof why) != 0) {
            mp_errf(err, "%s/metrics.csv: %s", run_dir, why);
            return MP_EXIT_RUNTIME;
        }
        if (!same_state(&rebuilt, &r->state)) {
            mp_errf(err, "%s does not follow from the first %ld rows of metrics.csv (the rows or the checkpoint are "
                    "another run's)", ck_path, r->state.episode);
            return MP_EXIT_RUNTIME;
        }
        r->n = r->state.episode;
    } else {
        long ck_episode = have_ck ? r->state.episode : 0;
        const char *flag = cfg->run_dir[0] ? "--run_dir" : "--resume";
        if (mp_trainer_replay(cfg, ds, r->history, usable, &r->state, why, sizeof why) != 0) {
            mp_errf(err, "%s/metrics.csv: %s", run_dir, why);
            return MP_EXIT_RUNTIME;
        }
        r->n = usable;
        if (have_ck)
            fprintf(note, "metaplast: %s %s: the checkpoint (episode %ld) is ahead of metrics.csv (%ld whole "
                    "rows; a machine crash leaves this): the state after episode %ld is rebuilt from the rows\n",
                    flag, run_dir, ck_episode, usable, usable);
        else if (usable > 0)
            fprintf(note, "metaplast: %s %s: %s is missing: the state after episode %ld is rebuilt from the "
                    "%ld rows of metrics.csv (every row is kept)\n", flag, run_dir, MP_CHECKPOINT_FILE, usable, usable);
        else
            fprintf(note, "metaplast: %s %s: no episode had finished; the run starts at episode 1\n", flag, run_dir);
    }
    if (cfg->episodes < r->n) {
        mp_errf(err, "--episodes: %ld is fewer than the %ld episodes the run in %s has finished", cfg->episodes,
                r->n, run_dir);
        return MP_EXIT_USAGE;
    }
    r->complete = cfg->episodes == r->n;
    return MP_EXIT_OK;
}

int mp_resume_check_format(const char *run_dir, mp_err *err) {
    char path[MP_PATH_MAX + 32];
    /* metrics.csv's header */
    snprintf(path, sizeof path, "%s/metrics.csv", run_dir);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        FILE *f = mp_fopen_regular(path, "r", NULL);
        char line[1024];
        int old = f && fgets(line, sizeof line, f) && strcmp(line, mp_csv_header_before_pool) == 0;
        if (f) fclose(f);
        if (old) return mp_errf(err, "%s: %s", path, MP_BEFORE_POOL_WHY);
    }
    /* the checkpoint's version */
    snprintf(path, sizeof path, "%s/%s", run_dir, MP_CHECKPOINT_FILE);
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
        FILE *f = mp_fopen_regular(path, "rb", NULL);
        uint8_t head[16];
        size_t got = f ? fread(head, 1, sizeof head, f) : 0;
        if (f) fclose(f);
        unsigned version = mp_checkpoint_peek_version(head, got);
        if (version == 1 || version == 2)
            return mp_errf(err, "%s: checkpoint version %u, %s", path, version, MP_BEFORE_POOL_WHY);
    }
    /* args.txt's version line (a run killed before its first row has nothing else) */
    snprintf(path, sizeof path, "%s/args.txt", run_dir);
    char version[64];
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
        mp_rundir_args_value(path, "version", version, sizeof version, NULL) == 1 && strncmp(version, "0.1", 3) == 0 &&
        (version[3] == '\0' || version[3] == '.'))
        return mp_errf(err, "%s: version %s, %s", path, version, MP_BEFORE_POOL_WHY);
    return 0;
}

int mp_resume_has_plots(const char *run_dir) {
    for (int i = 0; mp_plot_file(i); i++) {
        char path[MP_PATH_MAX + 64];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", run_dir, mp_plot_file(i));
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return 0;
    }
    return 1;
}
