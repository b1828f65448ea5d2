#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "sys/worker.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metaplast/util.h"

/* Jobs come every few microseconds during an episode: the worker spins that long
 * before it sleeps, and a waiting caller spins before it yields its core. */
enum { SPIN_BEFORE_SLEEP = 1 << 16, SPIN_BEFORE_YIELD = 1 << 12 };

struct mp_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_uint posted, finished; /* job counters: a job is pending while they differ */
    atomic_int sleeping, stop;
    mp_job job;
    void *arg;
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *p) {
    mp_worker *w = p;
    unsigned done = 0;
    for (;;) {
        for (int spin = 0; atomic_load(&w->posted) == done && spin < SPIN_BEFORE_SLEEP; spin++) cpu_relax();
        if (atomic_load(&w->posted) == done) {
            /* sleeping is set before posted is read again under the lock, and the caller
             * stores posted before it reads sleeping: one of the two sees the other */
            pthread_mutex_lock(&w->lock);
            atomic_store(&w->sleeping, 1);
            while (atomic_load(&w->posted) == done && !atomic_load(&w->stop)) pthread_cond_wait(&w->wake, &w->lock);
            atomic_store(&w->sleeping, 0);
            pthread_mutex_unlock(&w->lock);
        }
        if (atomic_load(&w->stop)) return NULL;
        w->job(w->arg, 1);
        atomic_store(&w->finished, ++done);
    }
}

static void wake_worker(mp_worker *w) {
    if (!atomic_load(&w->sleeping)) return;
    pthread_mutex_lock(&w->lock);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

mp_worker *mp_worker_start(void) {
    mp_worker *w = mp_calloc(1, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc != 0) {
        fprintf(stderr, "metaplast: cannot start a second thread (%s): running on one\n", strerror(rc));
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return NULL;
    }
    return w;
}

void mp_worker_stop(mp_worker *w) {
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stop, 1);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    atomic_fetch_add(&w->posted, 1); /* ends the worker's spin */
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}

void mp_worker_wait(mp_worker *w) {
    if (!w) return;
    unsigned n = atomic_load(&w->posted);
    for (int spin = 0; atomic_load(&w->finished) != n; spin++) {
        if (spin < SPIN_BEFORE_YIELD)
            cpu_relax();
        else
            sched_yield(); /* the worker lost its core, or has a long job: let it have ours */
    }
}

void mp_worker_submit(mp_worker *w, mp_job job, void *arg) {
    if (!w) {
        job(arg, 1);
        return;
    }
    mp_worker_wait(w); /* one job at a time */
    w->job = job;
    w->arg = arg;
    atomic_fetch_add(&w->posted, 1);
    wake_worker(w);
}

void mp_worker_split(mp_worker *w, mp_job job, void *arg) {
    mp_worker_submit(w, job, arg);
    job(arg, 0);
    mp_worker_wait(w);
}

int mp_worker_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    return CPU_COUNT(&set);
}
