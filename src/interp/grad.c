/* Grad levels: recording tape nodes, and the reverse pass.
 *
 * NOTE: [saved values]
 * A node saves the inputs and outputs its VJP needs one level down (never
 * the level's own wrappers: an in-place op that rebases a wrapper onto a
 * node that saved it would make a cycle). The edges remember which node or
 * leaf each input came from, so a backward with create_graph rebuilds the
 * level's wrappers around the saved values and records the backward itself.
 * Each saved value's storage version is checked when the backward uses it,
 * as PyTorch does for values modified in place. */
#include "../core.h"
#include "../ops/ops.h"
#include "trace.h"
#include "reach.h"

static bool is_float(ft_dtype dt) { return dt == FT_F32 || dt == FT_F64; }

/* ---- nodes ---------------------------------------------------------------- */

typedef struct ft_tape_pool {
  ft_node *pending; /* nodes whose refcount reached zero, to free iteratively */
  bool draining;
  uint32_t generation; /* topological-sort marks */
} ft_tape_pool;

static ft_tape_pool g_tape;

static size_t node_bytes(int nin, int nout) {
  return sizeof(ft_node) + (size_t)nin * (sizeof(ft_edge) + 2 * sizeof(ft_tensor *) + FT_MAX_DIMS * sizeof(int64_t) +
                                          sizeof(int32_t) + sizeof(ft_dtype) + sizeof(uint32_t)) +
         (size_t)nout * (3 * sizeof(ft_tensor *) + FT_MAX_DIMS * sizeof(int64_t) + sizeof(int32_t) +
                         sizeof(ft_dtype) + sizeof(uint32_t)) + 64;
}

static ft_status node_new(int nin, int nout, ft_node **out) {
  size_t nb = node_bytes(nin, nout);
  char *p = ft_pool_alloc(nb);
  if (!p) return ft_error(FT_ERR_OOM, "out of memory allocating a tape node");
  memset(p, 0, nb);
  ft_node *n = (ft_node *)p;
  p += sizeof(ft_node);
  /* 8-byte members first keeps everything aligned */
  n->in_shapes = (int64_t *)p; p += (size_t)nin * FT_MAX_DIMS * sizeof(int64_t);
  n->out_shapes = (int64_t *)p; p += (size_t)nout * FT_MAX_DIMS * sizeof(int64_t);
  n->edges = (ft_edge *)p; p += (size_t)nin * sizeof(ft_edge);
  n->saved_in = (ft_tensor **)p; p += (size_t)nin * sizeof(ft_tensor *);
  n->saved_out = (ft_tensor **)p; p += (size_t)nout * sizeof(ft_tensor *);
  n->gacc = (ft_tensor **)p; p += (size_t)nout * sizeof(ft_tensor *);
  n->in_ndim = (int32_t *)p; p += (size_t)nin * sizeof(int32_t);
  n->out_ndim = (int32_t *)p; p += (size_t)nout * sizeof(int32_t);
  n->in_dtype = (ft_dtype *)p; p += (size_t)nin * sizeof(ft_dtype);
  n->out_dtype = (ft_dtype *)p; p += (size_t)nout * sizeof(ft_dtype);
  n->saved_ver = (uint32_t *)p;
  n->refcount = 1;
  n->nin = nin;
  n->nout = nout;
  *out = n;
  return FT_OK;
}

static void node_free_saved(ft_node *n) {
  for (int i = 0; i < n->nin; i++) { ft_release(n->saved_in[i]); n->saved_in[i] = NULL; }
  for (int j = 0; j < n->nout; j++) {
    ft_release(n->saved_out[j]); n->saved_out[j] = NULL;
    ft_release(n->gacc[j]); n->gacc[j] = NULL;
  }
}

void ft_node_release(ft_node *n) {
  if (!n || --n->refcount > 0) return;
  n->next = g_tape.pending;
  g_tape.pending = n;
  if (g_tape.draining) return;
  /* Freeing a node releases its producers, which may free theirs: a chain
   * as long as the program. Drain a work list instead of recursing. */
  g_tape.draining = true;
  while (g_tape.pending) {
    ft_node *m = g_tape.pending;
    g_tape.pending = m->next;
    node_free_saved(m);
    for (int i = 0; i < m->nin; i++) {
      ft_node_release(m->edges[i].node);
      ft_release(m->edges[i].leaf);
    }
    ft_pool_free(m, node_bytes(m->nin, m->nout));
  }
  g_tape.draining = false;
}

/* ---- recording ------------------------------------------------------------ */

/* A value for a node to save. A plain tensor is saved through a private
 * alias (same storage and geometry): its own struct may be the program's,
 * which an in-place write can turn into a wrapper of this level
 * (grad_assign), and a node must not then hold a wrapper whose history
 * leads back to it (NOTE: [saved values]). Wrappers of lower levels are
 * saved as they are: an alias would lose a leaf's identity. */
static ft_status save_value(ft_tensor *v, ft_tensor **out) {
  if (v->level > 0) {
    ft_retain(v);
    *out = v;
    return FT_OK;
  }
  FT_TRY(ft_tensor_view_of(v, v->shape, v->strides, v->ndim, v->offset, out));
  ft_trace_rewrapped(v, *out); /* func.compile keys the alias as v (trace.c) */
  return FT_OK;
}

ft_status ft_grad_interpret(ft_level *lv, ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at,
                            ft_tensor **out) {
  const ft_op_def *d = ft_ops[op];
  int32_t L = lv->id;
  ft_tensor *peeled[nin > 0 ? nin : 1], *inner[nin > 0 ? nin : 1];
  inner[0] = peeled[0] = NULL; /* nin == 0 (factories): gcc -Wmaybe-uninitialized */
  bool any = false;
  for (int i = 0; i < nin; i++) {
    ft_tensor *p = ft_peel(in[i], L);
    peeled[i] = p;
    bool ours = p->level == L;
    if (ours) FT_TRY(ft_check_view_use(p, d->name));
    inner[i] = ours ? p->inner : p;
    if (ours && p->requires_grad && is_float(p->dtype)) any = true;
  }
  FT_TRY(ft_dispatch(op, nin, inner, at, out));
  if (!any || !(d->flags & FT_F_DIFF) || (d->flags & FT_F_NONDIFF)) return FT_OK;

  ft_node *n = NULL;
  ft_status st = node_new(nin, d->nout, &n);
  if (st) goto fail_outs;
  n->level = L;
  n->op = op;
  n->at = *at;
  for (int i = 0; i < nin; i++) {
    ft_tensor *p = peeled[i];
    memcpy(n->in_shapes + (size_t)i * FT_MAX_DIMS, p->shape, sizeof(int64_t) * (size_t)p->ndim);
    n->in_ndim[i] = p->ndim;
    n->in_dtype[i] = p->dtype;
    if (p->level == L && p->requires_grad && is_float(p->dtype)) {
      if (p->node) { n->edges[i].node = p->node; p->node->refcount++; n->edges[i].idx = p->out_idx; }
      else { n->edges[i].leaf = p; ft_retain(p); }
    }
    if (d->flags & FT_F_SAVE_IN) {
      st = save_value(inner[i], &n->saved_in[i]);
      if (st) { ft_node_release(n); goto fail_outs; }
      n->saved_ver[i] = ft_base_value(inner[i])->storage->version;
    }
  }
  for (int j = 0; j < d->nout; j++) {
    ft_tensor *o = out[j];
    memcpy(n->out_shapes + (size_t)j * FT_MAX_DIMS, o->shape, sizeof(int64_t) * (size_t)o->ndim);
    n->out_ndim[j] = o->ndim;
    n->out_dtype[j] = o->dtype;
    if (d->flags & FT_F_SAVE_OUT) {
      st = save_value(o, &n->saved_out[j]);
      if (st) { ft_node_release(n); goto fail_outs; }
      n->saved_ver[nin + j] = ft_base_value(o)->storage->version;
    }
  }
  for (int j = 0; j < d->nout; j++) {
    if (!is_float(out[j]->dtype)) continue;
    ft_tensor *w;
    st = ft_wrapper_new(L, out[j], &w);
    if (st) { ft_node_release(n); goto fail_outs; }
    w->node = n;
    n->refcount++;
    w->out_idx = j;
    w->requires_grad = true;
    /* reshape copies when strides don't allow a view: only real aliases count */
    if ((d->flags & FT_F_VIEW) && nin > 0 && ft_base_value(out[j])->storage == ft_base_value(inner[0])->storage) {
      w->is_view = true;
      w->view_version = ft_base_value(out[j])->storage->version;
    }
    ft_release(out[j]);
    out[j] = w;
  }
  ft_node_release(n); /* the outputs hold it now */
  return FT_OK;
fail_outs:
  for (int j = 0; j < d->nout; j++) { ft_release(out[j]); out[j] = NULL; }
  return st;
}

/* ---- leaves --------------------------------------------------------------- */

ft_status ft_requires_grad_(ft_tensor *t, bool flag) {
  ft_tensor *p = ft_peel(t, FT_EAGER_LEVEL);
  if (flag && !is_float(t->dtype))
    return ft_error(FT_ERR_RUNTIME, "only Tensors of floating point dtype can require gradients (got %s)",
                    ft_dtype_name(t->dtype));
  if (p->level == FT_EAGER_LEVEL) {
    if (p->node && !flag)
      return ft_error(FT_ERR_RUNTIME,
                      "you can only change requires_grad flags of leaf variables. If you want to use a computed "
                      "variable in a subgraph that doesn't require differentiation use var_no_grad = var.detach().");
    p->requires_grad = flag;
    return FT_OK;
  }
  if (!flag) return FT_OK;
  if (t->level > 0)
    return ft_error(FT_ERR_RUNTIME, "requiresGrad_ can only be set on tensors created outside function transforms");
  FT_TRY(ft_wrap_in_place(t, FT_EAGER_LEVEL));
  t->requires_grad = true;
  return FT_OK;
}

ft_status ft_grad_wrap_leaf(int32_t level, ft_tensor *x, ft_tensor **out) {
  if (!is_float(x->dtype))
    return ft_error(FT_ERR_TYPE, "only floating point inputs can be differentiated (got %s)", ft_dtype_name(x->dtype));
  FT_TRY(ft_wrapper_new(level, x, out));
  (*out)->requires_grad = true;
  return FT_OK;
}

/* ---- in-place assignment -------------------------------------------------- */

static ft_status assign_base(ft_tensor *dst, ft_tensor *src) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  int64_t ss[FT_MAX_DIMS];
  if (src->ndim > dst->ndim) goto bad;
  for (int i = 0; i < dst->ndim; i++) {
    int k = i - (dst->ndim - src->ndim);
    if (k < 0) { ss[i] = 0; continue; }
    if (src->shape[k] == dst->shape[i]) ss[i] = src->strides[k];
    else if (src->shape[k] == 1) ss[i] = 0;
    else goto bad;
  }
  ft_k_copy(src->dtype, dst->dtype, dst->ndim, dst->shape, ft_data_ptr(src), ss, ft_data_ptr(dst), dst->strides);
  dst->storage->version++;
  return FT_OK;
bad:
  return ft_error(FT_ERR_VALUE, "output with shape %s doesn't match the broadcast shape %s",
                  ft_shape_str(dst->shape, dst->ndim, b1, sizeof b1), ft_shape_str(src->shape, src->ndim, b2, sizeof b2));
}

ft_status ft_jvp_assign_(ft_level *lv, ft_tensor *dst, ft_tensor *src);
ft_status ft_vmap_assign_(ft_level *lv, ft_tensor *dst, ft_tensor *src);
ft_status ft_func_assign_(ft_level *lv, ft_tensor *dst, ft_tensor *src);

/* functorch's error for an in-place write into a tensor from outside the transform */
ft_status ft_captured_write_error(void) {
  return ft_error(FT_ERR_RUNTIME,
                  "During a grad (vjp, jvp, grad, etc) transform, the function provided attempted to call in-place "
                  "operation (copy_) that would mutate a captured Tensor. This is not supported; please rewrite the "
                  "function being transformed to explicitly accept the mutated Tensor(s) as inputs.");
}
#define captured_write ft_captured_write_error

static ft_status grad_assign(ft_level *lv, ft_tensor *dst, ft_tensor *src) {
  int32_t L = lv->id;
  ft_tensor *dp = ft_peel(dst, L), *sp = ft_peel(src, L);
  bool src_tracked = sp->level == L && sp->requires_grad;
  if (dp->level == L && !dp->node && dp->requires_grad)
    return ft_error(FT_ERR_RUNTIME, "a leaf Variable that requires grad is being used in an in-place operation.");
  if (dp->level == L && dp->is_view)
    return ft_error(FT_ERR_RUNTIME,
                    "an in-place operation on a view of a tensor that requires grad is not supported yet: its base's "
                    "gradient would be wrong. Clone the view first, or write the base out of place "
                    "(e.g. with sliceScatter).");
  bool same = sp->ndim == dp->ndim && sp->dtype == dp->dtype;
  for (int d = 0; same && d < dp->ndim; d++) same = sp->shape[d] == dp->shape[d];
  if (src_tracked && !same && ft_is_float(dp->dtype)) {
    /* x.copy_(y) casts and broadcasts y: x's history is y cast and expanded
     * (whose backward casts and sums the gradient back to y, as PyTorch's
     * CopyBackwards does), not y's own */
    ft_tensor *c = src, *e = NULL;
    ft_status st = sp->dtype != dp->dtype ? ft_cast(src, dp->dtype, &c) : FT_OK;
    if (!st) st = ft_expand(c, dp->shape, dp->ndim, &e);
    if (c != src) ft_release(c);
    if (!st) st = grad_assign(lv, dst, e);
    ft_release(e);
    return st;
  }
  if (src_tracked && !sp->node) {
    /* a leaf's value: dst's history needs a node leading to it (PyTorch's
     * CopyBackwards), or its gradient would be lost */
    ft_tensor *c;
    FT_TRY(ft_clone(sp, &c));
    ft_status st = grad_assign(lv, dst, c);
    ft_release(c);
    return st;
  }
  bool rewrap = dp->level != L;
  if (rewrap && !src_tracked) return ft_assign_(dp, sp->level == L ? sp->inner : sp);
  /* dp takes src's history: if that history refers to dp, dp would own
   * itself, a cycle never freed (reach.c). Only a plain dp, or a leaf that
   * stopped requiring grad, can be referred to (a tracked dp was refused
   * above or has a node of its own). Saved values that are a plain dp
   * itself (y.mul_(x): the product saved y) are pointed at its old contents
   * once it is wrapped; the write bumps the version, so their backward
   * still reports it, as PyTorch's does. */
  /* A plain dp becomes a wrapper in place, keeping its address. Safe only
   * when the program's handle is its one reference: a struct that a
   * wrapper, a grad or a tangent also holds (a transform's input, seen from
   * outside it) would change under them; functorch refuses such writes.
   * (A functionalize view wrapper is also held by its level's view table,
   * which expects it to be lifted: NOTE: [functionalization].) */
  if (rewrap && src_tracked && dp->level == 0 && dp->refcount - ft_trace_holds(dp) > 1) return captured_write();
  if (src_tracked && (rewrap || (!dp->node && !dp->requires_grad))) {
    unsigned how = 0;
    FT_TRY(ft_reach(sp, dp, &how));
    if (how & FT_REACH_LEAF)
      return ft_error(FT_ERR_RUNTIME,
                      "an in-place operation would make this tensor part of its own history: it is a leaf of the graph "
                      "that computed the value written into it (it required grad when that graph was built). Write "
                      "into a clone of it instead.");
    if (how & FT_REACH_OTHER) return captured_write(); /* dp is inside one of the graph's values */
  }
  if (rewrap) FT_TRY(ft_wrap_in_place(dp, L));
  FT_TRY(ft_assign_(dp->inner, sp->level == L ? sp->inner : sp));
  if (rewrap) FT_TRY(ft_reach_redirect_saved(sp, dp));
  ft_node *old = dp->node;
  if (src_tracked && sp->node) {
    dp->node = sp->node;
    dp->node->refcount++;
    dp->out_idx = sp->out_idx;
    dp->requires_grad = true;
  } else {
    dp->node = NULL;
    dp->requires_grad = false;
  }
  ft_node_release(old);
  return FT_OK;
}

ft_status ft_assign_(ft_tensor *dst, ft_tensor *src) {
  if (ft_trace_recording) return ft_trace_assign(dst, src); /* func.compile (trace.c) */
  return ft_assign_impl(dst, src);
}

ft_status ft_assign_impl(ft_tensor *dst, ft_tensor *src) {
  int32_t top = ft_top_level(dst), ts = ft_top_level(src);
  if (ts > top) top = ts;
  if (top == 0) return assign_base(ft_base_value(dst), ft_base_value(src));
  ft_level *lv = ft_level_get(top);
  switch (lv->kind) {
    case FT_LV_GRAD: return grad_assign(lv, dst, src);
    case FT_LV_JVP: return ft_jvp_assign_(lv, dst, src);
    case FT_LV_VMAP: return ft_vmap_assign_(lv, dst, src);
    case FT_LV_FUNC: return ft_func_assign_(lv, dst, src);
  }
  return ft_error(FT_ERR_RUNTIME, "corrupt level %d", (int)top);
}

uint32_t ft_tape_next_generation(void) {
  g_tape.generation += 2;
  return g_tape.generation;
}
