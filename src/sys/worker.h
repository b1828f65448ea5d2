/* A second thread for the core's large matrix products: a job is split in two parts,
 * part 1 runs on the worker while the caller runs part 0. The parts are the same
 * whether or not a worker exists (without one the caller runs both, in order), so the
 * numbers never depend on the thread count. */
#ifndef METAPLAST_WORKER_H
#define METAPLAST_WORKER_H

typedef struct mp_worker mp_worker;
typedef void (*mp_job)(void *arg, int part);

/* CPUs this process may run on (1 if that cannot be told). */
int mp_worker_cpus(void);
/* Starts the thread; NULL (and a message on stderr) if it cannot be created. */
mp_worker *mp_worker_start(void);
void mp_worker_stop(mp_worker *w);
/* Runs job(arg, 1) on the worker and job(arg, 0) here; returns when both are done.
 * With w NULL: job(arg, 1), then job(arg, 0). */
void mp_worker_split(mp_worker *w, mp_job job, void *arg);
/* Starts job(arg, 1) on the worker and returns (w NULL: runs it here, now). A job still
 * running is waited for first. */
void mp_worker_submit(mp_worker *w, mp_job job, void *arg);
/* Returns when the worker's jobs are done. */
void mp_worker_wait(mp_worker *w);

#endif
