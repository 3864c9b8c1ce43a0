/* The one way the engine's C loops use several threads: fn(ctx, chunk, worker) for every chunk.
 *
 * Up to n_threads threads (this one included) take chunks in turn from an atomic counter; `worker`
 * (0 .. n_threads-1) names the thread, for per-thread buffers. A chunk's result must not depend
 * on the thread that ran it, so results do not depend on the thread count. Threads are started
 * per call and joined before it returns (nothing outlives a call; safe after fork). */
#ifndef ENGINE_PARALLEL_H
#define ENGINE_PARALLEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define MAX_THREADS 64

typedef void (*chunk_fn)(void *ctx, int64_t chunk, int worker);

typedef struct {
    chunk_fn fn;
    void *ctx;
    int64_t n_chunks;
    atomic_llong next;
} chunk_job;

typedef struct {
    chunk_job *job;
    int worker;
} chunk_worker_arg;

static void *chunk_worker(void *arg) {
    chunk_worker_arg *a = arg;
    for (int64_t c; (c = atomic_fetch_add(&a->job->next, 1)) < a->job->n_chunks;) a->job->fn(a->job->ctx, c, a->worker);
    return NULL;
}

/* How many workers for_each_chunk uses: the size of per-worker buffers. */
static inline int chunk_workers(int64_t n_chunks, int n_threads) {
    int64_t wanted = n_threads < n_chunks ? n_threads : n_chunks;
    if (wanted > MAX_THREADS) wanted = MAX_THREADS;
    return wanted < 1 ? 1 : (int)wanted;
}

static void for_each_chunk(int64_t n_chunks, int n_threads, chunk_fn fn, void *ctx) {
    chunk_job job = {fn, ctx, n_chunks, 0};
    pthread_t threads[MAX_THREADS];
    chunk_worker_arg args[MAX_THREADS];
    int wanted = chunk_workers(n_chunks, n_threads), started = 0;
    for (int t = 1; t < wanted; t++) {
        args[started] = (chunk_worker_arg){&job, started + 1};
        if (pthread_create(&threads[started], NULL, chunk_worker, &args[started]) == 0) started++;
    }
    chunk_worker_arg self = {&job, 0};
    chunk_worker(&self); /* this thread works too; if no thread could start, it does everything */
    for (int t = 0; t < started; t++) pthread_join(threads[t], NULL);
}

#endif
