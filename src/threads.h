/* The thread pool: a parallel-for for the kernels that are worth splitting
 * (GEMM, and convolution through it). See NOTE: [threads] in threads.c. */
#ifndef FT_THREADS_H
#define FT_THREADS_H

#include "torchfunc.h"

/* Most threads (the caller included) a job may use; per-thread kernel
 * scratch is sized by it. */
#define FT_MAX_THREADS 16

/* One task: `task` in [0, ntasks), `thread` in [0, ft_threads_count()) names
 * the per-thread scratch the task may use. */
typedef void (*ft_task_fn)(void *ctx, int task, int thread);

/* Threads a job uses now, the caller included (1 when single-threaded). */
int ft_threads_count(void);

/* True when a parallel-for would really split: more than one thread, and
 * not already inside a job (a task's own parallel-for runs serially, on
 * the task's thread, so kernels that keep per-thread scratch must check
 * this before handing out anything but thread 0's). */
int ft_threads_can_split(void);

/* Threads that could be used: attached workers + 1. */
int ft_threads_available(void);

/* Sets the number of threads jobs use, the caller included; n must be in
 * [1, ft_threads_available()]. */
ft_status ft_threads_set(int n);

/* Runs fn(ctx, t, thread) for every t in [0, ntasks) and returns when all
 * have finished. The caller runs tasks too. Inside a job (a task's own
 * parallel-for) it runs the tasks serially, passing thread 0: a task must
 * therefore not call a kernel that uses per-thread scratch. Tasks must not allocate, call
 * ft_error, or start another parallel job: workers share nothing else. */
void ft_parallel_for(int ntasks, ft_task_fn fn, void *ctx);

/* Counts a worker as available to ft_threads_set; called by each worker
 * once, before it reports ready (it may enter its loop a little later: jobs
 * published before that are simply done by the other threads). */
void ft_thread_attach(void);

/* The body of worker thread `id` (1-based): waits for jobs until the process
 * ends. WebAssembly workers call it after ft_thread_attach and setting up
 * their stack; native builds start it from ft_threads_spawn_native. */
void ft_thread_worker_main(int id);

/* Native builds only (tests): starts n-1 pthreads running the worker body.
 * Returns FT_ERR_VALUE on WebAssembly builds, where JavaScript owns threads. */
ft_status ft_threads_spawn_native(int n);

#endif
