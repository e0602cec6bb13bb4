/* NOTE: [threads]
 *
 * The WebAssembly core is single-threaded code with a parallel-for bolted
 * on for the few kernels where it pays (GEMM, and convolution through GEMM).
 * We do not use Emscripten's pthread runtime: it needs Emscripten's generated
 * JS loader, which does not run under Node 20's ES modules and cannot be
 * bundled. Instead the threaded build (-pthread, shared memory) is
 * instantiated by our own loader once on the main thread and once in each
 * Web Worker / worker_thread (js/threads.js), all on the same shared memory.
 * A worker sets its own stack and then calls ft_thread_worker_main, which
 * never returns: it sleeps on `gen` (memory.atomic.wait32) until the main
 * thread publishes a job.
 *
 * Only the main thread ever runs the dispatcher, allocates, or sets errors.
 * Workers run task bodies and nothing else, so none of the core needs locks.
 *
 * A job is published in three steps so that a worker that wakes late (it
 * read `gen` for an old job and was descheduled) can never run a task of the
 * new job with the old job's function, or the reverse: tasks are claimed by
 * compare-and-swap on `next`, which carries the job's generation in its high
 * half; while the main thread rewrites fn/ctx/ntasks the index is CLOSED.
 *
 * The main thread waits for a job's end by spinning: browsers forbid
 * blocking the main thread, and the jobs we split last tens of microseconds
 * to milliseconds.
 *
 * The pool state is the one global here (DESIGN's "pools" exception).
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep, for the native workers */

#include "threads.h"

#include "core.h"

#include <stdatomic.h>
#include <stdint.h>

#if !defined(__EMSCRIPTEN__)
#include <pthread.h>
#include <time.h>
#endif

#define CLOSED 0xFFFFFFFFu
/* Polls of `gen` before a worker goes to sleep: about 20-50 us, enough to
 * catch the next GEMM of a layer chain without a wake-up's latency. */
#define SPIN_POLLS (1 << 14)

typedef struct ft_thread_pool {
  _Atomic uint64_t next; /* generation << 32 | next unclaimed task */
  _Atomic int gen;       /* bumped to publish a job; workers sleep on it */
  _Atomic int done;      /* tasks of the current job that have finished */
  _Atomic int attached;  /* workers that entered ft_thread_worker_main */
  _Atomic int active;    /* threads jobs use, the caller included */
  _Atomic int running;   /* a job is in flight: nested parallel-fors run serially */
  _Atomic int ntasks;
  _Atomic(ft_task_fn) fn;
  _Atomic(void *) ctx;
  int spawned_native;
} ft_thread_pool;

static ft_thread_pool g_pool = {.active = 1};

int ft_threads_count(void) { return atomic_load(&g_pool.active); }

int ft_threads_can_split(void) { return atomic_load(&g_pool.active) > 1 && !atomic_load(&g_pool.running); }

int ft_threads_available(void) {
  const int n = atomic_load(&g_pool.attached) + 1;
  return n < FT_MAX_THREADS ? n : FT_MAX_THREADS;
}

ft_status ft_threads_set(int n) {
  const int avail = ft_threads_available();
  if (n < 1 || n > avail)
    return ft_error(FT_ERR_VALUE, "setNumThreads: expected 1 <= n <= %d (the threads this instance has), got %d",
                    avail, n);
  atomic_store(&g_pool.active, n);
  return FT_OK;
}

/* Claims the next task of generation g, or returns -1 when there is none. */
static int claim(int g, int ntasks) {
  uint64_t v = atomic_load(&g_pool.next);
  for (;;) {
    if ((uint32_t)(v >> 32) != (uint32_t)g) return -1;
    const uint32_t i = (uint32_t)v;
    if (i >= (uint32_t)ntasks) return -1;
    if (atomic_compare_exchange_weak(&g_pool.next, &v, v + 1)) return (int)i;
  }
}

static void run_tasks(int g, int thread) {
  const int ntasks = atomic_load(&g_pool.ntasks);
  const ft_task_fn fn = atomic_load(&g_pool.fn);
  void *ctx = atomic_load(&g_pool.ctx);
  int t;
  while ((t = claim(g, ntasks)) >= 0) {
    fn(ctx, t, thread);
    atomic_fetch_add(&g_pool.done, 1);
  }
}

static void wake_workers(void) {
#if defined(__EMSCRIPTEN__) && defined(__wasm_atomics__)
  __builtin_wasm_memory_atomic_notify((int *)&g_pool.gen, (unsigned)-1);
#endif
}

/* Sleeps until gen != seen (or a spurious wake-up). */
static void sleep_on_gen(int seen) {
#if defined(__EMSCRIPTEN__) && defined(__wasm_atomics__)
  __builtin_wasm_memory_atomic_wait32((int *)&g_pool.gen, seen, -1);
#elif !defined(__EMSCRIPTEN__)
  (void)seen;
  const struct timespec ts = {0, 50000};
  nanosleep(&ts, NULL);
#else
  (void)seen;
#endif
}

void ft_parallel_for(int ntasks, ft_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  if (!ft_threads_can_split() || ntasks == 1) {
    for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  atomic_store(&g_pool.running, 1);
  const int g = atomic_load(&g_pool.gen) + 1;
  atomic_store(&g_pool.next, ((uint64_t)(uint32_t)g << 32) | CLOSED);
  atomic_store(&g_pool.ntasks, ntasks);
  atomic_store(&g_pool.fn, fn);
  atomic_store(&g_pool.ctx, ctx);
  atomic_store(&g_pool.done, 0);
  atomic_store(&g_pool.next, (uint64_t)(uint32_t)g << 32);
  atomic_store(&g_pool.gen, g);
  wake_workers();
  run_tasks(g, 0);
  while (atomic_load(&g_pool.done) < ntasks) {
  }
  atomic_store(&g_pool.running, 0);
}

void ft_thread_attach(void) { atomic_fetch_add(&g_pool.attached, 1); }

void ft_thread_worker_main(int id) {
  int seen = atomic_load(&g_pool.gen);
  for (;;) {
    int g = atomic_load(&g_pool.gen);
    for (int i = 0; g == seen && i < SPIN_POLLS; i++) g = atomic_load(&g_pool.gen);
    if (g == seen) {
      sleep_on_gen(seen);
      continue;
    }
    seen = g;
    /* `active` only changes between jobs, so this read is the job's. */
    if (id < atomic_load(&g_pool.active)) run_tasks(g, id);
  }
}

#if !defined(__EMSCRIPTEN__)
static void *native_worker(void *arg) {
  ft_thread_attach();
  ft_thread_worker_main((int)(intptr_t)arg);
  return NULL;
}
#endif

ft_status ft_threads_spawn_native(int n) {
#if defined(__EMSCRIPTEN__)
  (void)n;
  return ft_error(FT_ERR_VALUE, "threads: WebAssembly workers are started by the JavaScript loader");
#else
  if (n < 1 || n > FT_MAX_THREADS) return ft_error(FT_ERR_VALUE, "threads: expected 1 <= n <= %d, got %d", FT_MAX_THREADS, n);
  for (int id = g_pool.spawned_native + 1; id < n; id++) {
    pthread_t th;
    if (pthread_create(&th, NULL, native_worker, (void *)(intptr_t)id) != 0)
      return ft_error(FT_ERR_RUNTIME, "threads: pthread_create failed for worker %d", id);
    pthread_detach(th);
    g_pool.spawned_native = id;
  }
  /* Wait until they have attached, so ft_threads_set(n) can be called next. */
  while (atomic_load(&g_pool.attached) < n - 1) {
    const struct timespec ts = {0, 100000};
    nanosleep(&ts, NULL);
  }
  return FT_OK;
#endif
}
