/* The fuzz harnesses' shared half (tests/fuzz/README.md).
 *
 * A harness plays the part of js/: it drives the core only through the
 * exports of src/api/wasm_api.c, with the scratch block laid out as
 * js/runtime.js reads it, and it owns tensors the way a JS Tensor does (one
 * reference per slot, released on dispose). Each fuzz input is decoded as a
 * small program (fz_step). After every call the harness checks the status
 * contract: 0, or a known ft_status with a non-empty last error. After
 * every input it unwinds what the program left open (levels, noGrad),
 * releases every slot and checks that the core's live tensor count and
 * storage bytes are back where they started. Any violation aborts, which
 * libFuzzer reports as a crash with its reproducer.
 */
#ifndef FZ_H
#define FZ_H

#include <stddef.h>
#include <stdint.h>

/* ---- the exports (src/api/wasm_api.c), as js/ binds them ------------------- */

void *ft_api_scratch_ptr(void);
int ft_api_scratch_layout(int which);
const char *ft_api_last_error(void);
int ft_api_op_count(void);
const char *ft_api_op_name(int op);
int ft_api_op_nin(int op);
int ft_api_op_nout(int op);
int ft_api_op_flags(int op);
int ft_api_op(int op, int nin, int ni, int nf);
int ft_api_empty(int dtype, int ndim);
int ft_api_full(int dtype, int ndim, double value);
int ft_api_random(int kind, int dtype, int ndim);
int ft_api_randint(double low, double high, int ndim);
int ft_api_arange(double start, double end, double step, int dtype);
int ft_api_linspace(double start, double end, double steps, int dtype);
int ft_api_eye(double n, double m, int dtype);
void ft_api_seed(double seed);
void *ft_api_data_ptr(int32_t h);
int ft_api_materialize(int32_t h);
void ft_api_release(int32_t h);
int ft_api_retain(int32_t h);
int ft_api_info(int32_t h);
int ft_api_is_concrete(int32_t h);
double ft_api_version(int32_t h);
int ft_api_assign(int32_t dst, int32_t src);
int ft_api_requires_grad_(int32_t h, int flag);
int ft_api_grad_flags(int32_t h);
const char *ft_api_grad_fn_name(int32_t h);
int ft_api_get_grad(int32_t h);
int ft_api_set_grad(int32_t h, int32_t g);
int ft_api_backward(int n, int retain_graph, int create_graph);
int ft_api_no_grad_enter(void);
void ft_api_no_grad_exit(int token);
int ft_api_grad_enabled(void);
int ft_api_level_push(int kind, double batch_size, int randomness);
int ft_api_level_pop(int id);
int ft_api_grad_wrap(int level, int32_t h);
int ft_api_backward_level(int level, int n, int retain_graph, int create_graph);
int ft_api_leaf_grad(int level, int32_t h);
int ft_api_unwrap(int level, int32_t h);
int ft_api_jvp_wrap(int level, int32_t primal, int32_t tangent);
int ft_api_jvp_tangent(int level, int32_t h);
int ft_api_vmap_wrap(int level, int32_t h, int bdim);
int ft_api_vmap_bdim(int level, int32_t h);
int ft_api_vmap_unwrap(int level, int32_t h, int out_dim, double batch_size);
void ft_api_memory(void);
int ft_api_grad_tracked(int level, int32_t h);
int ft_api_leaf_grad_take(int level, int32_t h);
void *ft_api_nn_scratch_ptr(void);
int ft_api_nn_scratch_layout(int which);
int ft_api_nn_chain(int nlayers);
int ft_api_func_push(void);
int ft_api_func_pop(int level);
int ft_api_func_wrap(int level, int32_t h);
int ft_api_func_sync_unwrap(int level, int32_t h, int copy_views);
int ft_api_func_propagate(int level, int32_t w, int32_t x);
/* func.compile (js/func/compile.js) */
int ft_api_trace_begin(void);
int ft_api_trace_input(int32_t h);
int ft_api_trace_read(int32_t h);
int ft_api_trace_output(int32_t h);
int ft_api_trace_output_slot(int s);
const char *ft_api_trace_failure(void);
int ft_api_trace_end(int keep);
int ft_api_trace_active(void);
int32_t *ft_api_prog_inputs(int id);
int32_t *ft_api_prog_outputs(int id);
int ft_api_prog_info(int id, int which);
int ft_api_prog_run(int id);
void ft_api_prog_free(int id);

/* ---- the input, read as a stream of bytes (zeros once exhausted) ----------- */

typedef struct fz_in {
  const uint8_t *p;
  size_t n, i;
} fz_in;

static inline int fz_done(const fz_in *in) { return in->i >= in->n; }
static inline unsigned fz_u8(fz_in *in) { return in->i < in->n ? in->p[in->i++] : 0; }
static inline unsigned fz_below(fz_in *in, unsigned k) { return k ? fz_u8(in) % k : 0; }
/* Small integers mostly (-4..8), now and then an extreme one. */
int32_t fz_int(fz_in *in);
/* Ordinary and special doubles (0, +-1, NaN, +-inf, huge, tiny, -0). */
double fz_double(fz_in *in);

/* ---- the "JavaScript side": tensors owned by slots, levels, noGrad --------- */

#define FZ_SLOTS 12
#define FZ_MAX_NUMEL 4096  /* bigger outputs are released at once: keeps runs fast */
#define FZ_MAX_LEVELS 12
#define FZ_MAX_NOGRAD 4

typedef struct fz_slot {
  int32_t h; /* 0: empty */
  int32_t dtype, ndim;
  int32_t shape[16];
  int64_t numel;
} fz_slot;

typedef struct fz_level {
  int32_t id, kind; /* kind: 1 grad, 2 jvp, 3 vmap, 4 functionalize */
  int32_t batch;    /* vmap */
} fz_level;

typedef struct fz_state {
  fz_slot slot[FZ_SLOTS];
  fz_level level[FZ_MAX_LEVELS];
  int nlevels;
  int nograd[FZ_MAX_NOGRAD];
  int nnograd;
  int op_count;
  /* Leaves that require grad are not disposed when the program drops them
   * but kept here until the input ends, as a model keeps its parameters:
   * backward with createGraph (and x.grad = y) make reference cycles
   * through .grad that PyTorch makes too, and only the owner of the leaf
   * can break them (zeroGrad), which fz_end does before disposing. */
  int32_t kept[160];
  int nkept;
  double live0, bytes0;
} fz_state;

/* The scratch block (js/runtime.js's offsets). */
typedef struct fz_scratch {
  int32_t *in, *out, *i, *shape, *meta;
  double *f;
  int max_in, meta_stride, max_attr_i;
} fz_scratch;
extern fz_scratch fz_s;

/* Finds the scratch block, once (fz_begin does it). */
void fz_scratch_bind(void);
/* Starts an input: binds the scratch block once, records the live counts,
 * and keeps the input in a ring of the last 8: when FZ_HISTORY names a
 * folder, fz_fail writes them there (history-0 the failing one), for
 * failures that depend on what earlier inputs left behind in the core. */
void fz_begin(fz_state *s, const uint8_t *data, size_t size);
/* Ends an input: unwinds levels and noGrad, releases every slot, checks
 * that nothing leaked, clears the handle table. */
void fz_end(fz_state *s);

/* > 0 (environment FZ_TRACE set): every checked call is printed to stderr. */
extern int fz_trace;
/* Checks the status contract of the call named `what`; returns st. */
int fz_check(int st, const char *what);
/* Clears the last error, so fz_check sees whether a failing call set one. */
void fz_clear_error(void);
/* Aborts with a message (a harness-detected bug). */
void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

/* Takes output j of the last call (handle in out[j], meta) into a slot, as
 * js/tensor.js's wrapOut does; checks the meta; returns the slot or -1
 * (no handle, or too big: released at once). */
int fz_take(fz_state *s, int j);
/* Releases slot k (dispose). */
void fz_drop(fz_state *s, int k);
/* A random occupied slot, or -1 when none is. */
int fz_pick(fz_state *s, fz_in *in);
/* An occupied slot whose shape and dtype match slot k's (or -1). */
int fz_pick_like(fz_state *s, fz_in *in, int k);

/* One step of the program. `features`: what the step may do. */
enum {
  FZ_F_OPS = 1 << 0,    /* creation, random ops, views, in-place, eager autograd */
  FZ_F_LEVELS = 1 << 1, /* grad/jvp/vmap/functionalize levels in nests */
};
void fz_step(fz_state *s, fz_in *in, unsigned features);
/* A new tensor from the input (dims 0..8, sizes 0..3, any dtype). */
void fz_new_tensor(fz_state *s, fz_in *in);

#endif
