/* func.compile's tracer and replayer: records the ops a function runs into a
 * program, plans its memory once, and replays it in one call (NOTE:
 * [tracing] in trace.c). */
#ifndef FT_TRACE_H
#define FT_TRACE_H

#include "../core.h"

typedef struct ft_program ft_program;

/* Read by the dispatcher on every op: non-zero while a trace records and no
 * recorded op is running. Level ids >= ft_trace_boundary were pushed inside
 * the trace (INT32_MAX when no trace runs). ft_trace_on: a trace is open. */
extern int ft_trace_recording;
extern int32_t ft_trace_boundary;
extern int ft_trace_on;

/* ---- tracing (driven by js/func/compile.js) ------------------------------- */

/* Opens a trace; fails if one is open already. */
ft_status ft_trace_begin(void);
/* Registers t as the program's next input; *index is its position. */
ft_status ft_trace_input(ft_tensor *t, int32_t *index);
/* The slot of t when its value depends on the inputs (an input, an op's
 * result, or a constant written in place), else -1 (a constant). */
int32_t ft_trace_read(ft_tensor *t);
/* How many references to t the open trace holds (0 when none is open). */
int32_t ft_trace_holds(const ft_tensor *t);
/* Appends an output: t's slot (a constant if t was never seen; a tensor
 * made during the trace outside ops is made anew by each replay). */
ft_status ft_trace_output(ft_tensor *t, int32_t *index);
/* Appends an output by slot (a value JavaScript read during the trace). */
ft_status ft_trace_output_slot(int32_t slot, int32_t *index);
/* Marks the trace untraceable (replay could not reproduce what happened). */
void ft_trace_fail(const char *why);
/* Why the trace cannot become a program, or NULL. */
const char *ft_trace_failure(void);
/* Closes the trace; with keep (and no failure) builds the program, with
 * its elementwise chains fused if `fuse`. Every reference the trace held is
 * released either way. */
ft_status ft_trace_end(bool keep, bool fuse, ft_program **out);
/* A hash of the level stack and of where each tensor is wrapped on it (and
 * whether its value is contiguous, and if not its strides): part of
 * compile's signature key. */
uint32_t ft_trace_level_sig(ft_tensor *const *ts, int n, uint32_t seed);

/* ---- hooks (dispatch.c, grad.c, tensor.c) --------------------------------- */

ft_status ft_trace_record(ft_op op, int32_t top, int nin, ft_tensor *const *in, const ft_attrs *at,
                          ft_tensor **out);
ft_status ft_trace_assign(ft_tensor *dst, ft_tensor *src);
/* A storage was made (tensor.c): one made during the trace outside recorded
 * ops belongs to a tensor f made, remade by each replay if written or returned. */
void ft_trace_new_storage(ft_storage *s);
/* ft_wrap_in_place moved t's value into `inner`. */
void ft_trace_rewrapped(ft_tensor *t, ft_tensor *inner);
/* The dispatcher below the trace hook: runs op at level `top` (dispatch.c). */
ft_status ft_dispatch_at(ft_op op, int32_t top, int nin, ft_tensor *const *in, const ft_attrs *at, ft_tensor **out);
/* ft_assign_ below the trace hook (grad.c). */
ft_status ft_assign_impl(ft_tensor *dst, ft_tensor *src);

/* ---- programs ------------------------------------------------------------- */

/* The caller writes input tensors (borrowed) into ft_program_inputs(p), runs,
 * and owns the new references ft_program_run leaves in ft_program_outputs(p). */
ft_tensor **ft_program_inputs(ft_program *p);
ft_tensor **ft_program_outputs(ft_program *p);
ft_status ft_program_run(ft_program *p);
/* 0 inputs, 1 outputs, 2 instructions, 3 constants, 4 slots, 5 instructions removed as dead,
 * 6 stale (a run found a constant wrapped differently than in the trace: trace again),
 * 7 fused groups, 8 instructions fused into them (each group is one of the 2) */
int32_t ft_program_info(const ft_program *p, int which);
void ft_program_free(ft_program *p);

#endif
