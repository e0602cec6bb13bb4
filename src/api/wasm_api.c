/* Every WebAssembly export, in one file (STYLE.md 18). JavaScript binds each
 * once at start-up (js/runtime.js). Arguments that don't fit in scalars go
 * through one scratch block whose layout js/runtime.js mirrors:
 *
 *   int32 in[FT_API_MAX_IN]     tensor handles in
 *   int32 out[FT_API_MAX_OUT]   tensor handles out
 *   int32 i[FT_MAX_ATTR_I]      integer attributes
 *   int32 shape[FT_MAX_DIMS]    a shape (factories, info)
 *   int32 meta[FT_API_MAX_OUT * FT_API_META]  per output: dtype, ndim, shape...
 *   float64 f[FT_MAX_ATTR_F]    float attributes (8-byte aligned)
 *
 * Every function returns a status (0 = ok); ft_api_last_error() has the
 * message. A handle is the tensor's address; 0 is "none". */
#include "../core.h"
#include "../ops/ops.h"
#include "../interp/trace.h"
#include <math.h>
#include <stdlib.h>

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#define FT_EXPORT EMSCRIPTEN_KEEPALIVE
#else
#define FT_EXPORT
#endif

#define FT_API_MAX_IN 256
#define FT_API_MAX_OUT 8
#define FT_API_META (2 + FT_MAX_DIMS)

typedef struct ft_api_scratch {
  int32_t in[FT_API_MAX_IN];
  int32_t out[FT_API_MAX_OUT];
  int32_t i[FT_MAX_ATTR_I];
  int32_t shape[FT_MAX_DIMS];
  int32_t meta[FT_API_MAX_OUT * FT_API_META];
  double f[FT_MAX_ATTR_F];
} ft_api_scratch;

static ft_api_scratch g_scratch;

#include "handles.h"
#ifdef FT_HANDLE_TABLE /* native 64-bit builds (tests/fuzz): handles index a table */
static inline ft_tensor *T(int32_t h) { return ft_handle_tensor(h); }
static inline int32_t H(ft_tensor *t) { return ft_handle_of(t); }
#else
static inline ft_tensor *T(int32_t h) { return (ft_tensor *)(uintptr_t)(uint32_t)h; }
static inline int32_t H(ft_tensor *t) { return (int32_t)(uintptr_t)t; }
#endif

static void write_meta(int j, const ft_tensor *t) {
  int32_t *m = g_scratch.meta + j * FT_API_META;
  m[0] = (int32_t)t->dtype;
  m[1] = t->ndim;
  for (int k = 0; k < t->ndim; k++) m[2 + k] = (int32_t)t->shape[k];
}

static ft_status check_handle(int32_t h, const char *what) {
  if (!h) return ft_error(FT_ERR_VALUE, "%s: expected a tensor, got none", what);
  if (T(h)->refcount <= 0) return ft_error(FT_ERR_RUNTIME, "%s: the tensor has been disposed", what);
  return FT_OK;
}

FT_EXPORT void *ft_api_scratch_ptr(void) { return &g_scratch; }
FT_EXPORT int ft_api_scratch_layout(int which) {
  switch (which) {
    case 0: return (int)offsetof(ft_api_scratch, in);
    case 1: return (int)offsetof(ft_api_scratch, out);
    case 2: return (int)offsetof(ft_api_scratch, i);
    case 3: return (int)offsetof(ft_api_scratch, shape);
    case 4: return (int)offsetof(ft_api_scratch, meta);
    case 5: return (int)offsetof(ft_api_scratch, f);
    case 6: return FT_API_MAX_IN;
    case 7: return FT_API_META;
    case 8: return FT_MAX_ATTR_I;
    case 9: return FT_MAX_DIMS;
    default: return -1;
  }
}
FT_EXPORT const char *ft_api_last_error(void) { return ft_last_error(); }

/* ---- the op table ---------------------------------------------------------- */

FT_EXPORT int ft_api_op_count(void) { return FT_OP_COUNT; }
FT_EXPORT const char *ft_api_op_name(int op) { return (unsigned)op < FT_OP_COUNT ? ft_ops[op]->name : ""; }
FT_EXPORT int ft_api_op_nout(int op) { return (unsigned)op < FT_OP_COUNT ? ft_ops[op]->nout : 0; }
FT_EXPORT int ft_api_op_flags(int op) { return (unsigned)op < FT_OP_COUNT ? (int)ft_ops[op]->flags : 0; }
FT_EXPORT int ft_api_op_nin(int op) { return (unsigned)op < FT_OP_COUNT ? ft_ops[op]->nin : 0; }
/* Which rules an op has: bit 0 eval, 1 vjp, 2 jvp, 3 batch (the tests walk this). */
FT_EXPORT int ft_api_op_rules(int op) {
  if ((unsigned)op >= FT_OP_COUNT) return 0;
  const ft_op_def *d = ft_ops[op];
  return (d->eval ? 1 : 0) | (d->vjp ? 2 : 0) | (d->jvp ? 4 : 0) | (d->batch ? 8 : 0);
}

/* Runs op on in[0..nin) with attributes i[0..ni), f[0..nf); writes out[] and meta[]. */
FT_EXPORT int ft_api_op(int op, int nin, int ni, int nf) {
  if ((unsigned)op >= FT_OP_COUNT) return ft_error(FT_ERR_VALUE, "unknown op code %d", op);
  if (nin < 0 || nin > FT_API_MAX_IN || ni < 0 || ni > FT_MAX_ATTR_I || nf < 0 || nf > FT_MAX_ATTR_F)
    return ft_error(FT_ERR_VALUE, "%s: bad argument counts", ft_ops[op]->name);
  ft_tensor *in[nin > 0 ? nin : 1];
  for (int k = 0; k < nin; k++) {
    int32_t h = g_scratch.in[k];
    if (!h) return ft_error(FT_ERR_VALUE, "%s: argument %d is not a tensor", ft_ops[op]->name, k);
    if (T(h)->refcount <= 0) return ft_error(FT_ERR_RUNTIME, "%s: argument %d has been disposed", ft_ops[op]->name, k);
    in[k] = T(h);
  }
  ft_attrs at = {0}; /* an op that reads past ni or nf reads zeros, not the stack */
  at.ni = ni;
  at.nf = nf;
  for (int k = 0; k < ni; k++) at.i[k] = g_scratch.i[k];
  for (int k = 0; k < nf; k++) at.f[k] = g_scratch.f[k];
  ft_tensor *out[FT_API_MAX_OUT];
  ft_status st = ft_dispatch((ft_op)op, nin, in, &at, out);
  if (st) return st;
  for (int j = 0; j < ft_ops[op]->nout; j++) {
    g_scratch.out[j] = H(out[j]);
    write_meta(j, out[j]);
  }
  return FT_OK;
}

/* ---- tensors --------------------------------------------------------------- */

static ft_status read_shape(int ndim, int64_t *shape) {
  if (ndim < 0 || ndim > FT_USER_MAX_DIMS)
    return ft_error(FT_ERR_VALUE, "tensors have at most %d dimensions, got %d", FT_USER_MAX_DIMS, ndim);
  for (int k = 0; k < ndim; k++) shape[k] = g_scratch.shape[k];
  return FT_OK;
}

static int finish_new(ft_status st, ft_tensor *t) {
  if (st) return st;
  g_scratch.out[0] = H(t);
  write_meta(0, t);
  return FT_OK;
}

/* An uninitialised contiguous tensor of shape[0..ndim); JS fills ft_api_data_ptr. */
FT_EXPORT int ft_api_empty(int dtype, int ndim) {
  int64_t shape[FT_MAX_DIMS];
  FT_TRY(read_shape(ndim, shape));
  if ((unsigned)dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "unknown dtype code %d", dtype);
  ft_tensor *t = NULL;
  return finish_new(ft_tensor_empty(shape, ndim, (ft_dtype)dtype, &t), t);
}
FT_EXPORT int ft_api_full(int dtype, int ndim, double value) {
  int64_t shape[FT_MAX_DIMS];
  FT_TRY(read_shape(ndim, shape));
  if ((unsigned)dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "unknown dtype code %d", dtype);
  ft_tensor *t = NULL;
  return finish_new(ft_full(shape, ndim, (ft_dtype)dtype, value, &t), t);
}
/* Under vmap a factory's draw is a random op like any other (each vmap
 * level applies its randomness): it is dispatched as RAND_LIKE/RANDN_LIKE
 * of an uninitialised tensor that only gives the shape. */
static ft_status random_dispatched(ft_op op, const int64_t *shape, int ndim, ft_dtype dt, ft_tensor **out) {
  ft_tensor *e = NULL;
  FT_TRY(ft_tensor_empty(shape, ndim, dt, &e));
  ft_status st = ft_dispatch(op, 1, &e, NULL, out);
  ft_release(e);
  return st;
}
/* kind: 0 rand, 1 randn */
FT_EXPORT int ft_api_random(int kind, int dtype, int ndim) {
  int64_t shape[FT_MAX_DIMS];
  FT_TRY(read_shape(ndim, shape));
  if ((unsigned)dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "unknown dtype code %d", dtype);
  ft_tensor *t = NULL;
  if (ft_vmap_random_level() || ft_trace_on) { /* func.compile records the draw (trace.c) */
    if (!ft_is_float((ft_dtype)dtype))
      return ft_error(FT_ERR_TYPE, "%s: expected a floating point dtype, got %s", kind ? "randn" : "rand",
                      ft_dtype_name((ft_dtype)dtype));
    return finish_new(random_dispatched(kind ? FT_OP_RANDN_LIKE : FT_OP_RAND_LIKE, shape, ndim, (ft_dtype)dtype, &t), t);
  }
  return finish_new(kind ? ft_randn(shape, ndim, (ft_dtype)dtype, &t) : ft_rand(shape, ndim, (ft_dtype)dtype, &t), t);
}
/* Under vmap: low + floor(u * (high - low)) in dispatched ops, ft_randint's formula. */
static ft_status randint_dispatched(int64_t low, int64_t high, const int64_t *shape, int ndim, ft_tensor **out) {
  ft_tensor *u = NULL, *s = NULL, *i = NULL;
  ft_status st = random_dispatched(FT_OP_RAND_LIKE, shape, ndim, FT_F64, &u);
  if (!st) st = ft_mul_scalar(u, (double)(high - low), &s);
  if (!st) st = ft_cast(s, FT_I32, &i); /* truncation is floor for s >= 0 */
  if (!st) st = ft_add_scalar(i, (double)low, out);
  ft_release(u);
  ft_release(s);
  ft_release(i);
  return st;
}
FT_EXPORT int ft_api_randint(double low, double high, int ndim) {
  int64_t shape[FT_MAX_DIMS];
  FT_TRY(read_shape(ndim, shape));
  ft_tensor *t = NULL;
  if ((ft_vmap_random_level() || ft_trace_on) && high > low)
    return finish_new(randint_dispatched((int64_t)low, (int64_t)high, shape, ndim, &t), t);
  return finish_new(ft_randint((int64_t)low, (int64_t)high, shape, ndim, &t), t);
}
/* A copy of the generator's state (free with ft_api_rng_free). */
FT_EXPORT void *ft_api_rng_save(void) {
  ft_trace_fail("the function saves and restores the random generator's state");
  void *p = malloc(FT_RNG_STATE_BYTES);
  if (p) ft_rng_get_state(p);
  return p;
}
FT_EXPORT void ft_api_rng_restore(const void *p) {
  if (p) ft_rng_set_state(p);
}
FT_EXPORT void ft_api_rng_free(void *p) { free(p); }
FT_EXPORT int ft_api_arange(double start, double end, double step, int dtype) {
  if ((unsigned)dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "unknown dtype code %d", dtype);
  ft_tensor *t = NULL;
  return finish_new(ft_arange(start, end, step, (ft_dtype)dtype, &t), t);
}
FT_EXPORT int ft_api_linspace(double start, double end, double steps, int dtype) {
  if ((unsigned)dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "unknown dtype code %d", dtype);
  if (!(steps >= 0) || steps != floor(steps) || steps > 2147483647.0)
    return ft_error(FT_ERR_VALUE, "linspace: steps must be a non-negative integer, got %g", steps);
  ft_tensor *t = NULL;
  return finish_new(ft_linspace(start, end, (int64_t)steps, (ft_dtype)dtype, &t), t);
}
FT_EXPORT int ft_api_eye(double n, double m, int dtype) {
  if ((unsigned)dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "unknown dtype code %d", dtype);
  if (!(n >= 0) || n != floor(n) || n > 65535 || (m >= 0 && (m != floor(m) || m > 65535)))
    return ft_error(FT_ERR_VALUE, "eye: sizes must be non-negative integers, got n=%g, m=%g", n, m);
  ft_tensor *t = NULL;
  return finish_new(ft_eye((int64_t)n, m < 0 ? -1 : (int64_t)m, (ft_dtype)dtype, &t), t);
}
FT_EXPORT void ft_api_seed(double seed) {
  ft_trace_fail("the function reseeds the random generator (manualSeed)");
  ft_rng_seed((uint64_t)seed);
}

/* Address of a plain contiguous tensor's first element (0 otherwise). */
FT_EXPORT void *ft_api_data_ptr(int32_t h) {
  ft_tensor *t = T(h);
  if (!h || t->refcount <= 0 || t->level != 0 || !ft_is_contiguous(t)) return NULL;
  return ft_data_ptr(t);
}

ft_status ft_func_sync(ft_tensor *w); /* src/interp/functionalize.c */

/* The value under every grad/jvp wrapper, as a new plain contiguous tensor
 * (reading data is allowed under grad and jvp, not under vmap). A view under
 * functionalize first catches up with writes to its base. */
FT_EXPORT int ft_api_materialize(int32_t h) {
  FT_TRY(check_handle(h, "reading data"));
  ft_tensor *t = T(h);
  for (ft_tensor *w = t; w->level > 0; w = w->inner) {
    ft_level *lv = ft_level_get(w->level);
    if (lv && lv->kind == FT_LV_FUNC) FT_TRY(ft_func_sync(w));
    if (lv && lv->kind == FT_LV_VMAP)
      return ft_error(FT_ERR_RUNTIME,
                      "vmap: It looks like you're attempting to use a Tensor in some data-dependent control flow. We "
                      "don't support that yet, please shout over at https://github.com/pytorch/functorch/issues/257 .");
  }
  ft_tensor *out = NULL;
  FT_TRY(ft_plain_contiguous(ft_base_value(t), &out));
  /* a vmap wrapper whose level was popped looks through to its batched
   * value, which has more elements than the shape JavaScript was given */
  bool same = out->ndim == t->ndim;
  for (int k = 0; same && k < t->ndim; k++) same = out->shape[k] == t->shape[k];
  if (!same) {
    ft_release(out);
    return ft_error(FT_ERR_RUNTIME, "reading data: this tensor escaped from a vmap that has returned; its value is "
                                    "only defined inside the vmap");
  }
  return finish_new(FT_OK, out);
}

FT_EXPORT void ft_api_release(int32_t h) {
  if (h && T(h)->refcount > 0) ft_release(T(h));
}
FT_EXPORT int ft_api_retain(int32_t h) {
  FT_TRY(check_handle(h, "retain"));
  ft_retain(T(h));
  return FT_OK;
}
FT_EXPORT int ft_api_info(int32_t h) {
  FT_TRY(check_handle(h, "info"));
  write_meta(0, T(h));
  return FT_OK;
}

/* 1 when h is a plain value at every live level (no live transform wraps
 * it), so it can become a typed array or a number without losing anything. */
FT_EXPORT int ft_api_is_concrete(int32_t h) {
  if (!h || T(h)->refcount <= 0) return 0;
  return ft_top_level(T(h)) == 0 || ft_top_level(T(h)) == FT_EAGER_LEVEL;
}

/* The storage version of h's value: bumped by every in-place write, so
 * functionalCall can tell which typed-array entries need writing back. */
FT_EXPORT double ft_api_version(int32_t h) {
  if (!h || T(h)->refcount <= 0) return -1;
  return (double)ft_base_value(T(h))->storage->version;
}

/* In-place: dst <- src (broadcast, cast), through every level. */
FT_EXPORT int ft_api_assign(int32_t dst, int32_t src) {
  FT_TRY(check_handle(dst, "in-place destination"));
  FT_TRY(check_handle(src, "in-place source"));
  return ft_assign_(T(dst), T(src));
}

/* ---- eager autograd -------------------------------------------------------- */

FT_EXPORT int ft_api_requires_grad_(int32_t h, int flag) {
  FT_TRY(check_handle(h, "requiresGrad_"));
  ft_trace_fail("the function calls requiresGrad_");
  return ft_requires_grad_(T(h), flag != 0);
}
/* bit 0: requires grad, bit 1: has a grad_fn, bit 2: leaf (at the innermost live grad level) */
FT_EXPORT int ft_api_grad_flags(int32_t h) {
  if (!h || T(h)->refcount <= 0) return 0;
  ft_tensor *t = T(h);
  while (t->level > 0) {
    ft_level *lv = ft_level_get(t->level);
    if (lv && lv->kind == FT_LV_GRAD) break;
    t = t->inner;
  }
  if (t->level == 0) return 4;
  return (t->requires_grad ? 1 : 0) | (t->node ? 2 : 0) | (t->node ? 0 : 4);
}
FT_EXPORT const char *ft_api_grad_fn_name(int32_t h) {
  ft_tensor *t = T(h);
  while (t && t->level > 0 && !t->node) t = t->inner;
  return t && t->level > 0 && t->node ? ft_ops[t->node->op]->name : "";
}
static ft_tensor *grad_holder(int32_t h) {
  ft_tensor *t = T(h);
  while (t->level > 0 && t->level != FT_EAGER_LEVEL) t = t->inner;
  return t->level == FT_EAGER_LEVEL ? t : NULL;
}
/* The accumulated .grad (new handle in out[0], 0 if none). */
FT_EXPORT int ft_api_get_grad(int32_t h) {
  FT_TRY(check_handle(h, "grad"));
  ft_trace_fail("the function reads a tensor's .grad");
  ft_tensor *t = grad_holder(h);
  g_scratch.out[0] = 0;
  if (t && t->grad) {
    ft_retain(t->grad);
    g_scratch.out[0] = H(t->grad);
    write_meta(0, t->grad);
  }
  return FT_OK;
}
/* Sets .grad (g = 0 clears it). */
FT_EXPORT int ft_api_set_grad(int32_t h, int32_t g) {
  FT_TRY(check_handle(h, "grad"));
  ft_trace_fail("the function assigns a tensor's .grad");
  ft_tensor *t = grad_holder(h);
  if (!t) {
    if (!g) return FT_OK;
    return ft_error(FT_ERR_RUNTIME, "cannot assign .grad of a tensor that does not require grad");
  }
  if (g) {
    FT_TRY(check_handle(g, "grad value"));
    ft_tensor *gv = T(g);
    /* PyTorch's check; without it t would own itself and never be freed */
    if (gv == T(h) || gv == t) return ft_error(FT_ERR_RUNTIME, "can't assign Variable as its own grad");
    bool same = gv->ndim == t->ndim && gv->dtype == t->dtype;
    for (int k = 0; same && k < t->ndim; k++) same = gv->shape[k] == t->shape[k];
    if (!same) {
      char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
      return ft_error(FT_ERR_VALUE, "assigned grad has data of a different size or type: %s %s, expected %s %s",
                      ft_dtype_name(gv->dtype), ft_shape_str(gv->shape, gv->ndim, b1, sizeof b1),
                      ft_dtype_name(t->dtype), ft_shape_str(t->shape, t->ndim, b2, sizeof b2));
    }
    ft_retain(gv);
  }
  ft_release(t->grad);
  t->grad = g ? T(g) : NULL;
  return FT_OK;
}
/* Eager backward from in[0..n) with gradients in in[n..2n) (0 = ones). */
FT_EXPORT int ft_api_backward(int n, int retain_graph, int create_graph) {
  if (n < 1 || 2 * n > FT_API_MAX_IN) return ft_error(FT_ERR_VALUE, "backward: bad number of roots %d", n);
  ft_tensor *roots[n], *grads[n];
  for (int k = 0; k < n; k++) {
    FT_TRY(check_handle(g_scratch.in[k], "backward"));
    roots[k] = T(g_scratch.in[k]);
    int32_t g = g_scratch.in[n + k];
    if (g) FT_TRY(check_handle(g, "backward gradient"));
    grads[k] = g ? T(g) : NULL;
  }
  ft_trace_fail("the function calls backward() (eager autograd): use func.grad inside compile");
  return ft_backward(FT_EAGER_LEVEL, n, roots, grads, retain_graph != 0, create_graph != 0);
}

/* noGrad: disables every grad level live now; returns a token for exit. */
FT_EXPORT int ft_api_no_grad_enter(void) {
  int depth = ft_level_depth();
  for (int k = 0; k < depth; k++)
    if (ft_level_at(k)->kind == FT_LV_GRAD) ft_level_at(k)->disabled++;
  return depth;
}
FT_EXPORT void ft_api_no_grad_exit(int token) {
  for (int k = 0; k < token && k < ft_level_depth(); k++)
    if (ft_level_at(k)->kind == FT_LV_GRAD) ft_level_at(k)->disabled--;
}
FT_EXPORT int ft_api_grad_enabled(void) {
  ft_level *lv = ft_level_at(0);
  return lv && !lv->disabled;
}

/* ---- levels (function transforms) ------------------------------------------ */

/* kind: 1 grad, 2 jvp, 3 vmap; the new level's id in out[0]. */
FT_EXPORT int ft_api_level_push(int kind, double batch_size, int randomness) {
  if (kind < FT_LV_GRAD || kind > FT_LV_VMAP) return ft_error(FT_ERR_VALUE, "unknown level kind %d", kind);
  int32_t id;
  FT_TRY(ft_level_push((ft_level_kind)kind, (int64_t)batch_size, randomness, &id));
  g_scratch.out[0] = id;
  return FT_OK;
}
FT_EXPORT int ft_api_level_pop(int id) { return ft_level_pop(id); }

/* func.grad's inputs: a fresh leaf at grad level `level`. */
/* A transform wraps its inputs at its own level, which must be live and of
 * its kind, and they come from outside it: js/ wraps them right after the
 * push, but a wrapper of the level itself (or of one inside it) would nest
 * a level in itself, a structure every interpreter assumes away. */
/* t with the wrappers of popped levels on top looked through (NOTE:
 * [levels]): what a transform wraps, so that the wrapper's shape is its
 * value's (an escaped vmap wrapper's value has its batch dim). */
static ft_tensor *live_value(ft_tensor *t) {
  while (t->level > 0 && !ft_level_get(t->level)) t = t->inner;
  return t;
}

static ft_status check_wrap(int level, ft_level_kind kind, ft_tensor *x, const char *what) {
  ft_level *lv = ft_level_get(level);
  if (!lv || lv->kind != kind) return ft_error(FT_ERR_RUNTIME, "%s: level %d is not a live level of this transform", what, level);
  for (ft_tensor *t = x; t->level > 0; t = t->inner)
    if (t->level >= level && ft_level_get(t->level))
      return ft_error(FT_ERR_RUNTIME, "%s: the tensor already belongs to this transform (level %d) or to one inside it",
                      what, level);
  return FT_OK;
}

FT_EXPORT int ft_api_grad_wrap(int level, int32_t h) {
  FT_TRY(check_handle(h, "grad input"));
  FT_TRY(check_wrap(level, FT_LV_GRAD, T(h), "grad input"));
  ft_tensor *t = NULL;
  return finish_new(ft_grad_wrap_leaf(level, live_value(T(h)), &t), t);
}
/* Reverse pass at `level` from in[0..n), cotangents in[n..2n) (0 = ones). */
FT_EXPORT int ft_api_backward_level(int level, int n, int retain_graph, int create_graph) {
  if (n < 1 || 2 * n > FT_API_MAX_IN) return ft_error(FT_ERR_VALUE, "backward: bad number of roots %d", n);
  ft_tensor *roots[n], *grads[n];
  for (int k = 0; k < n; k++) {
    FT_TRY(check_handle(g_scratch.in[k], "backward"));
    roots[k] = T(g_scratch.in[k]);
    int32_t g = g_scratch.in[n + k];
    if (g) FT_TRY(check_handle(g, "backward cotangent"));
    grads[k] = g ? T(g) : NULL;
  }
  if (level < ft_trace_boundary) ft_trace_fail("the function runs the reverse pass of a transform it was called under");
  return ft_backward(level, n, roots, grads, retain_graph != 0, create_graph != 0);
}
/* The gradient accumulated in a leaf of `level` (new handle, 0 if none). */
FT_EXPORT int ft_api_leaf_grad(int level, int32_t h) {
  FT_TRY(check_handle(h, "grad"));
  ft_tensor *t = ft_peel(T(h), level);
  while (t->level > level) t = t->inner;
  g_scratch.out[0] = 0;
  if (t->level == level && t->grad) {
    ft_retain(t->grad);
    g_scratch.out[0] = H(t->grad);
    write_meta(0, t->grad);
  }
  return FT_OK;
}
/* The value of h one level below `level` if h is wrapped at it, else h itself
 * (new handle). Used to return a transform's outputs. */
/* Strips h's wrappers above `level`, which js/ only asks of levels that
 * are gone (a transform reads its outputs after the ones inside it
 * returned): the value under a live wrapper must not reach JavaScript,
 * whose in-place writes would then change what that wrapper holds. */
static ft_status strip_above(int level, ft_tensor **t, const char *what) {
  for (; (*t)->level > level; *t = (*t)->inner)
    if (ft_level_get((*t)->level))
      return ft_error(FT_ERR_RUNTIME, "%s: the tensor is wrapped by transform level %d, which is still live", what,
                      (int)(*t)->level);
  return FT_OK;
}

FT_EXPORT int ft_api_unwrap(int level, int32_t h) {
  FT_TRY(check_handle(h, "unwrap"));
  ft_tensor *t = T(h);
  FT_TRY(strip_above(level, &t, "unwrap")); /* dead inner levels: behave as their value */
  if (t->level == level) t = t->inner;
  ft_retain(t);
  g_scratch.out[0] = H(t);
  write_meta(0, t);
  return FT_OK;
}
/* A jvp-level wrapper (primal, tangent); tangent 0 = zero. */
FT_EXPORT int ft_api_jvp_wrap(int level, int32_t primal, int32_t tangent) {
  FT_TRY(check_handle(primal, "jvp primal"));
  FT_TRY(check_wrap(level, FT_LV_JVP, T(primal), "jvp primal"));
  if (tangent) { /* js/ matches it to the primal first; a mismatch would break every rule */
    FT_TRY(check_handle(tangent, "jvp tangent"));
    FT_TRY(check_wrap(level, FT_LV_JVP, T(tangent), "jvp tangent"));
    ft_tensor *p = live_value(T(primal)), *g = live_value(T(tangent));
    bool same = p->ndim == g->ndim && p->dtype == g->dtype;
    for (int k = 0; same && k < p->ndim; k++) same = p->shape[k] == g->shape[k];
    if (!same) {
      char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
      return ft_error(FT_ERR_VALUE, "jvp: the tangent (%s %s) must have the primal's shape and dtype (%s %s)",
                      ft_dtype_name(g->dtype), ft_shape_str(g->shape, g->ndim, b1, sizeof b1), ft_dtype_name(p->dtype),
                      ft_shape_str(p->shape, p->ndim, b2, sizeof b2));
    }
  }
  ft_tensor *t = NULL;
  ft_status st = ft_wrapper_new(level, live_value(T(primal)), &t);
  if (!st && tangent) {
    ft_retain(live_value(T(tangent)));
    t->tangent = live_value(T(tangent));
  }
  return finish_new(st, t);
}
/* The tangent of h at jvp level `level` (new handle; 0 = zero). */
FT_EXPORT int ft_api_jvp_tangent(int level, int32_t h) {
  FT_TRY(check_handle(h, "jvp output"));
  ft_tensor *t = T(h);
  FT_TRY(strip_above(level, &t, "jvp"));
  g_scratch.out[0] = 0;
  if (t->level == level && t->tangent) {
    ft_retain(t->tangent);
    g_scratch.out[0] = H(t->tangent);
    write_meta(0, t->tangent);
  }
  return FT_OK;
}
/* A vmap-level wrapper whose batch dimension is `bdim` of x. */
FT_EXPORT int ft_api_vmap_wrap(int level, int32_t h, int bdim) {
  FT_TRY(check_handle(h, "vmap input"));
  ft_tensor *x = live_value(T(h)), *t = NULL;
  FT_TRY(check_wrap(level, FT_LV_VMAP, x, "vmap input"));
  if (bdim < 0 || bdim >= x->ndim) return ft_error(FT_ERR_INDEX, "vmap: bad batch dimension %d for a %d-d input", bdim, x->ndim);
  if (x->shape[bdim] != ft_level_get(level)->batch_size) /* js/ checks it first; the rules rely on it */
    return ft_error(FT_ERR_VALUE, "vmap: the input's size %lld in dim %d differs from the batch size %lld",
                    (long long)x->shape[bdim], bdim, (long long)ft_level_get(level)->batch_size);
  ft_status st = ft_wrapper_new(level, x, &t);
  if (!st) {
    t->bdim = bdim;
    t->ndim = x->ndim - 1;
    for (int k = 0, m = 0; k < x->ndim; k++)
      if (k != bdim) t->shape[m++] = x->shape[k];
    t->numel = ft_shape_numel(t->shape, t->ndim);
  }
  return finish_new(st, t);
}
/* h's batch dimension at vmap level `level` (live or popped), -1 if h is
 * not batched there: vmap's out_dims=None check. */
FT_EXPORT int ft_api_vmap_bdim(int level, int32_t h) {
  if (!h || T(h)->refcount <= 0) return -1;
  ft_tensor *t = T(h);
  while (t->level > level) t = t->inner;
  return t->level == level ? t->bdim : -1;
}
/* h's value at vmap level `level` with its batch dim moved to `out_dim`
 * (an unbatched value is expanded to batch_size). New handle. */
FT_EXPORT int ft_api_vmap_unwrap(int level, int32_t h, int out_dim, double batch_size) {
  FT_TRY(check_handle(h, "vmap output"));
  ft_tensor *t = T(h);
  FT_TRY(strip_above(level, &t, "vmap"));
  ft_tensor *r = NULL;
  ft_status st;
  if (t->level == level) {
    int nd = t->inner->ndim;
    int d = out_dim < 0 ? out_dim + nd : out_dim;
    if (d < 0 || d >= nd) return ft_error(FT_ERR_INDEX, "vmap: out_dims=%d is out of range for an output of %d dims", out_dim, nd - 1);
    st = ft_movedim(t->inner, t->bdim, d, &r);
  } else {
    int nd = t->ndim + 1;
    int d = out_dim < 0 ? out_dim + nd : out_dim;
    if (d < 0 || d >= nd) return ft_error(FT_ERR_INDEX, "vmap: out_dims=%d is out of range for an output of %d dims", out_dim, t->ndim);
    ft_tensor *u = NULL;
    st = ft_unsqueeze(t, d, &u);
    if (!st) {
      int64_t shape[FT_MAX_DIMS];
      memcpy(shape, u->shape, sizeof(int64_t) * (size_t)u->ndim);
      shape[d] = (int64_t)batch_size;
      st = ft_expand(u, shape, u->ndim, &r);
      ft_release(u);
    }
  }
  return finish_new(st, r);
}

/* ---- memory ---------------------------------------------------------------- */

/* f[0] = live tensor structs, f[1] = live storage bytes */
FT_EXPORT void ft_api_memory(void) {
  g_scratch.f[0] = (double)ft_mem_live_tensors();
  g_scratch.f[1] = (double)ft_mem_storage_bytes();
}
FT_EXPORT void ft_api_trim(void) { ft_mem_trim(); }

/* ---- func (js/func/grad.js) ------------------------------------------------ */

/* Whether h, seen at grad level `level` (live or popped), is tracked there:
 * grad/vjp skip the reverse pass for outputs that don't depend on the inputs
 * (their gradients are zeros, as torch.func's). */
FT_EXPORT int ft_api_grad_tracked(int level, int32_t h) {
  if (!h || T(h)->refcount <= 0) return 0;
  ft_tensor *t = T(h);
  while (t->level > level) t = t->inner;
  return t->level == level && t->requires_grad;
}
/* Moves the gradient accumulated in leaf h of grad level `level` (live or
 * popped) out to the caller (new handle in out[0], 0 if none) and clears the
 * leaf, so that vjp's vjpFn can run its reverse pass again from zero (as
 * torch.autograd.grad does: nothing accumulates across calls). */
FT_EXPORT int ft_api_leaf_grad_take(int level, int32_t h) {
  FT_TRY(check_handle(h, "grad"));
  ft_tensor *t = T(h);
  while (t->level > level) t = t->inner;
  g_scratch.out[0] = 0;
  if (t->level == level && t->grad) {
    g_scratch.out[0] = H(t->grad);
    write_meta(0, t->grad);
    t->grad = NULL; /* the caller's reference now */
  }
  return FT_OK;
}

/* ---- nn (src/nn): exports added by the nn family go below this line ------- */

#include "../nn/layers.h"

/* The chain executor's own scratch block (js/nn/chain.js mirrors it): per
 * layer a header {kind, ni, nf, nt, training}; the layers' ints, tensor
 * handles (0 = none) and floats, each list concatenated in layer order. The
 * input handle is in[0] of the main scratch block; the output comes back
 * like ft_api_op's (out[0] and meta). */
#define FT_NN_MAX_LAYERS 256
#define FT_NN_MAX_INTS 4096
#define FT_NN_MAX_TENSORS 1024
#define FT_NN_MAX_FLOATS 1024

typedef struct ft_api_nn_scratch {
  int32_t hdr[FT_NN_MAX_LAYERS * 5];
  int32_t ints[FT_NN_MAX_INTS];
  int32_t tensors[FT_NN_MAX_TENSORS];
  double floats[FT_NN_MAX_FLOATS];
} ft_api_nn_scratch;

static ft_api_nn_scratch g_nn;

FT_EXPORT void *ft_api_nn_scratch_ptr(void) { return &g_nn; }
FT_EXPORT int ft_api_nn_scratch_layout(int which) {
  switch (which) {
    case 0: return (int)offsetof(ft_api_nn_scratch, hdr);
    case 1: return (int)offsetof(ft_api_nn_scratch, ints);
    case 2: return (int)offsetof(ft_api_nn_scratch, tensors);
    case 3: return (int)offsetof(ft_api_nn_scratch, floats);
    case 4: return FT_NN_MAX_LAYERS;
    case 5: return FT_NN_MAX_INTS;
    case 6: return FT_NN_MAX_TENSORS;
    case 7: return FT_NN_MAX_FLOATS;
    default: return -1;
  }
}

/* Runs `nlayers` built-in layers on in[0]: one call per Sequential forward. */
FT_EXPORT int ft_api_nn_chain(int nlayers) {
  if (nlayers < 0 || nlayers > FT_NN_MAX_LAYERS) return ft_error(FT_ERR_VALUE, "nn chain: bad layer count %d", nlayers);
  FT_TRY(check_handle(g_scratch.in[0], "nn chain input"));
  ft_nn_layer_desc descs[nlayers > 0 ? nlayers : 1];
  ft_tensor *tens[FT_NN_MAX_TENSORS];
  int oi = 0, of = 0, ot = 0;
  for (int k = 0; k < nlayers; k++) {
    const int32_t *h = g_nn.hdr + 5 * k;
    ft_nn_layer_desc *d = &descs[k];
    d->kind = h[0];
    d->ni = h[1];
    d->nf = h[2];
    d->nt = h[3];
    d->training = h[4] != 0;
    if (d->ni < 0 || d->nf < 0 || d->nt < 0 || oi + d->ni > FT_NN_MAX_INTS || of + d->nf > FT_NN_MAX_FLOATS ||
        ot + d->nt > FT_NN_MAX_TENSORS)
      return ft_error(FT_ERR_VALUE, "nn chain: layer %d's descriptor overflows the scratch block", k);
    for (int j = 0; j < d->nt; j++) {
      int32_t th = g_nn.tensors[ot + j];
      if (th && T(th)->refcount <= 0)
        return ft_error(FT_ERR_RUNTIME, "nn chain: a tensor of layer %d has been disposed", k);
      tens[ot + j] = th ? T(th) : NULL;
    }
    d->ints = g_nn.ints + oi;
    d->floats = g_nn.floats + of;
    d->tensors = tens + ot;
    oi += d->ni;
    of += d->nf;
    ot += d->nt;
  }
  ft_tensor *out = NULL;
  FT_TRY(ft_nn_chain_forward(descs, nlayers, T(g_scratch.in[0]), &out));
  g_scratch.out[0] = H(out);
  write_meta(0, out);
  return FT_OK;
}

/* ---- functionalize (js/func/functionalize.js, src/interp/functionalize.c) -- */

ft_status ft_func_push(int32_t *id);
ft_status ft_func_pop(int32_t id);
ft_status ft_func_wrap(int32_t level, ft_tensor *x, ft_tensor **out);
ft_status ft_func_unwrap(int32_t level, ft_tensor *h, bool copy_views, ft_tensor **out);
ft_status ft_func_propagate(int32_t level, ft_tensor *w, ft_tensor *x);

/* Pushes a functionalize level; its id in out[0]. */
FT_EXPORT int ft_api_func_push(void) {
  int32_t id;
  FT_TRY(ft_func_push(&id));
  g_scratch.out[0] = id;
  return FT_OK;
}
/* Pops functionalize level `level` (the innermost) and frees its view table. */
FT_EXPORT int ft_api_func_pop(int level) { return ft_func_pop(level); }
/* An input of the functionalized function: a base wrapper at `level` around h. */
FT_EXPORT int ft_api_func_wrap(int level, int32_t h) {
  FT_TRY(check_handle(h, "functionalize input"));
  FT_TRY(check_wrap(level, FT_LV_FUNC, T(h), "functionalize input"));
  ft_tensor *t = NULL;
  return finish_new(ft_func_wrap(level, live_value(T(h)), &t), t);
}
/* An output: h's value one level below `level` with pending writes applied
 * (h itself if not wrapped there); views are copied when copy_views. */
FT_EXPORT int ft_api_func_sync_unwrap(int level, int32_t h, int copy_views) {
  FT_TRY(check_handle(h, "functionalize output"));
  ft_tensor *above = T(h);
  FT_TRY(strip_above(level, &above, "functionalize"));
  ft_tensor *t = NULL;
  return finish_new(ft_func_unwrap(level, T(h), copy_views != 0, &t), t);
}
/* Copies the final value of input wrapper w into the caller's tensor x if f wrote it. */
FT_EXPORT int ft_api_func_propagate(int level, int32_t w, int32_t x) {
  FT_TRY(check_handle(w, "functionalize input"));
  FT_TRY(check_handle(x, "functionalize input"));
  return ft_func_propagate(level, T(w), T(x));
}

/* ---- threads (NOTE: [threads] in src/threads.c) ---------------------------- */
#include "../threads.h"

/* Bytes a worker's thread block reserves for Emscripten's pthread struct
 * (about 200 bytes in 3.1.6); it only ever holds the worker's identity. */
#define FT_API_THREAD_TB 1024

/* Allocates a worker's zeroed thread block followed by its stack, on the
 * main thread (workers must not allocate). The block lives as long as the
 * instance: workers never exit. Returns 0 when out of memory. */
FT_EXPORT int32_t ft_api_thread_block(int32_t stack_bytes) {
  if (stack_bytes < 16384) return 0;
  void *p = calloc(1, (size_t)FT_API_THREAD_TB + (size_t)stack_bytes);
  return (int32_t)(uintptr_t)p;
}
FT_EXPORT int ft_api_thread_block_header(void) { return FT_API_THREAD_TB; }
FT_EXPORT void ft_api_thread_attach(void) { ft_thread_attach(); }
/* A worker's body; returns only on builds without threads. */
FT_EXPORT void ft_api_thread_worker(int id) {
#if defined(__wasm_atomics__) || !defined(__EMSCRIPTEN__)
  ft_thread_worker_main(id);
#else
  (void)id;
#endif
}
FT_EXPORT int ft_api_set_num_threads(int n) { return ft_threads_set(n); }
FT_EXPORT int ft_api_get_num_threads(void) { return ft_threads_count(); }
FT_EXPORT int ft_api_threads_available(void) { return ft_threads_available(); }

/* ---- compile (js/func/compile.js; NOTE: [tracing] in src/interp/trace.c) --- */

/* Programs are named by small ids; each has two int32 handle arrays that
 * JavaScript reads and writes in place: inputs before a run, outputs after. */
typedef struct ft_api_prog {
  ft_program *p;
  int32_t *hin, *hout;
} ft_api_prog;

static ft_api_prog *g_progs;
static int32_t g_nprogs;

static ft_api_prog *prog_of(int id) { return id > 0 && id <= g_nprogs && g_progs[id - 1].p ? &g_progs[id - 1] : NULL; }

/* Opens a trace of one call (the level stack's next id is its boundary). */
FT_EXPORT int ft_api_trace_begin(void) { return ft_trace_begin(); }
/* Registers h as the program's next input; its index in out[0]. */
FT_EXPORT int ft_api_trace_input(int32_t h) {
  FT_TRY(check_handle(h, "compile input"));
  int32_t k;
  FT_TRY(ft_trace_input(T(h), &k));
  g_scratch.out[0] = k;
  return FT_OK;
}
/* The slot of h if its value depends on the inputs (a read JavaScript must account for), else -1. */
FT_EXPORT int ft_api_trace_read(int32_t h) { return h && T(h)->refcount > 0 ? ft_trace_read(T(h)) : -1; }
/* Appends output h; its index in out[0]. */
FT_EXPORT int ft_api_trace_output(int32_t h) {
  FT_TRY(check_handle(h, "compile output"));
  int32_t k;
  FT_TRY(ft_trace_output(T(h), &k));
  g_scratch.out[0] = k;
  return FT_OK;
}
/* Appends the value of slot s (read during the trace) as an output; its index in out[0]. */
FT_EXPORT int ft_api_trace_output_slot(int s) {
  int32_t k;
  FT_TRY(ft_trace_output_slot(s, &k));
  g_scratch.out[0] = k;
  return FT_OK;
}
/* Why the trace cannot become a program ("" if it can). */
FT_EXPORT const char *ft_api_trace_failure(void) {
  const char *f = ft_trace_failure();
  return f ? f : "";
}
/* Closes the trace; keep 1 (fused) or 2 (not fused): the new program's id in out[0]. */
FT_EXPORT int ft_api_trace_end(int keep) {
  ft_program *p = NULL;
  FT_TRY(ft_trace_end(keep != 0, keep == 1, &p));
  g_scratch.out[0] = 0;
  if (!p) return FT_OK;
  int32_t id = 0;
  for (int32_t k = 0; k < g_nprogs && !id; k++)
    if (!g_progs[k].p) id = k + 1;
  if (!id) {
    ft_api_prog *np = realloc(g_progs, sizeof *np * (size_t)(g_nprogs + 1));
    if (!np) { ft_program_free(p); return ft_error(FT_ERR_OOM, "out of memory keeping a compiled program"); }
    g_progs = np;
    id = ++g_nprogs;
  }
  ft_api_prog *e = &g_progs[id - 1];
  e->hin = calloc((size_t)ft_program_info(p, 0) + 1, sizeof(int32_t));
  e->hout = calloc((size_t)ft_program_info(p, 1) + 1, sizeof(int32_t));
  if (!e->hin || !e->hout) {
    free(e->hin); free(e->hout);
    e->p = NULL;
    ft_program_free(p);
    return ft_error(FT_ERR_OOM, "out of memory keeping a compiled program");
  }
  e->p = p;
  g_scratch.out[0] = id;
  return FT_OK;
}
FT_EXPORT int ft_api_trace_active(void) { return ft_trace_on; }
/* A hash of where in[0..n) sit on the level stack, chained from seed. */
FT_EXPORT int ft_api_trace_levels(int n, int seed) {
  if (n < 0 || n > FT_API_MAX_IN) return 0;
  ft_tensor *ts[n > 0 ? n : 1];
  for (int k = 0; k < n; k++) {
    int32_t h = g_scratch.in[k];
    if (!h || T(h)->refcount <= 0) return 0;
    ts[k] = T(h);
  }
  return (int)ft_trace_level_sig(ts, n, (uint32_t)seed);
}
/* The program's input and output handle arrays (int32 each). */
FT_EXPORT int32_t *ft_api_prog_inputs(int id) { ft_api_prog *e = prog_of(id); return e ? e->hin : NULL; }
FT_EXPORT int32_t *ft_api_prog_outputs(int id) { ft_api_prog *e = prog_of(id); return e ? e->hout : NULL; }
/* ft_program_info's counts (inputs, outputs, instructions, constants, slots, dead; 6: stale). */
FT_EXPORT int ft_api_prog_info(int id, int which) { ft_api_prog *e = prog_of(id); return e ? ft_program_info(e->p, which) : -1; }
/* Replays program id on the handles in its input array; new handles in its output array. */
FT_EXPORT int ft_api_prog_run(int id) {
  ft_api_prog *e = prog_of(id);
  if (!e) return ft_error(FT_ERR_RUNTIME, "compile: this compiled program has been freed");
  ft_tensor **in = ft_program_inputs(e->p), **out = ft_program_outputs(e->p);
  int32_t ni = ft_program_info(e->p, 0), no = ft_program_info(e->p, 1);
  for (int32_t k = 0; k < ni; k++) in[k] = e->hin[k] ? T(e->hin[k]) : NULL;
  FT_TRY(ft_program_run(e->p));
  for (int32_t j = 0; j < no; j++) e->hout[j] = H(out[j]);
  return FT_OK;
}
/* Frees program id and the constants it holds. */
FT_EXPORT void ft_api_prog_free(int id) {
  ft_api_prog *e = prog_of(id);
  if (!e) return;
  ft_program_free(e->p);
  free(e->hin);
  free(e->hout);
  e->p = NULL;
}

/* ---- safetensors (js/safetensors.js, src/io/safetensors.c) ------------------ */

#include "../io/safetensors.h"

/* Parses and validates a safetensors header. bytes[0..avail) are the file's
 * first bytes (8 + its header length, or all of a shorter file); file_len
 * is the whole file's size; fname: 0 "load", 1 "metadata" (for messages).
 * The table's address goes in f[0] of the scratch block (a double holds any
 * address exactly, wasm32's and x86-64's alike); free it with
 * ft_api_st_free. */
FT_EXPORT int ft_api_st_parse(const uint8_t *bytes, double avail, double file_len, int fname) {
  const char *name = fname ? "metadata" : "load";
  if (!(avail >= 0 && file_len >= 0 && avail <= file_len && file_len <= 9007199254740991.0) || (avail && !bytes))
    return ft_error(FT_ERR_VALUE, "safetensors.%s: bad buffer arguments", name);
  ft_st_table *t = NULL;
  FT_TRY(ft_st_parse(bytes, (size_t)avail, (uint64_t)file_len, name, &t));
  g_scratch.f[0] = (double)(uintptr_t)t;
  return FT_OK;
}
FT_EXPORT void ft_api_st_free(void *table) { ft_st_free(table); }
