/* Functionalize levels (func.functionalize): in-place writes and views
 * become out-of-place ops, so the levels below never see a mutation.
 *
 * NOTE: [functionalization]
 * Every value at a functionalize level F is a wrapper whose `inner` (the
 * value one level down) is never written in place: an in-place write gives
 * the wrapper a new inner instead. A wrapper is either a base or a view. A
 * view made by a view op (SLICE, SELECT, DIAGONAL, PERMUTE, RESHAPE when it
 * aliases, EXPAND, DETACH) has a record in F's table holding its root base
 * and the chain of view ops (with their attributes) from that base. Writing
 * into a view computes the base's new value out of place through the
 * inverse ("scatter") of each step of the chain, outermost step last, and
 * bumps the base's generation `func_gen`; a view whose generation differs
 * from its base's regenerates its value from the base (the chain applied to
 * the base's current value) the next time it is used: as an op's input, as
 * the source or destination of a write, when its data is read
 * (ft_func_sync, called by ft_api_materialize) and when it is unwrapped.
 * Every op, scatter and regeneration is dispatched one level down, so the
 * transforms below (grad, jvp, vmap) record and batch them like any other
 * op (PyTorch's FunctionalTensorWrapper, FunctionalStorageImpl and
 * ViewMeta, simplified to our view ops).
 *
 * The table holds a reference to each view and to its base: ft_release
 * knows nothing of F, so the table is where a view's base is owned. A view
 * held by nobody but the table is dropped when the table is pruned
 * (amortised, when it doubles) and all are dropped when F is popped; views
 * that escaped (captured by the caller) are brought up to date first.
 *
 * A wrapper of F may later be lifted in place by an enclosing transform
 * inside F (ft_wrap_in_place moves its fields into a new inner struct):
 * the table's pointers then reach F's struct through `inner` (at_level).
 */
#include "../core.h"
#include "../ops/ops.h"
#include <stdlib.h>

typedef struct func_step {
  ft_op op;
  ft_attrs at;
} func_step;

typedef struct func_record {
  ft_tensor *view;  /* owned; NULL: a free slot */
  ft_tensor *base;  /* owned; the root of the chain (never a view itself) */
  func_step *steps; /* [nsteps], base to view */
  int32_t nsteps;
  int32_t next_free;
} func_record;

typedef struct func_level {
  int32_t id;
  func_record *recs;
  int32_t n, cap;   /* slots used so far, allocated */
  int32_t live;     /* records in use */
  int32_t free_head; /* -1: none */
  int32_t prune_at;
} func_level;

/* Functionalize levels nest like the level stack, so their tables do too. */
static func_level g_func[FT_MAX_LEVELS];
static int g_nfunc;

static func_level *table_of(int32_t id) {
  for (int k = g_nfunc - 1; k >= 0; k--)
    if (g_func[k].id == id) return &g_func[k];
  return NULL;
}

/* t's struct at level F, below any wrappers an enclosing transform lifted onto it. */
static ft_tensor *at_level(ft_tensor *t, int32_t F) {
  while (t->level > F) t = t->inner;
  return t;
}

static func_record *record_of(func_level *fl, const ft_tensor *w) {
  return w->func_view > 0 && w->func_view <= fl->n ? &fl->recs[w->func_view - 1] : NULL;
}

static void set_inner(ft_tensor *w, ft_tensor *v) {
  ft_tensor *old = w->inner;
  w->inner = v;
  ft_release(old);
}

static ft_status apply_steps(ft_tensor *x, const func_step *steps, int n, ft_tensor **out) {
  ft_tensor *cur = x;
  ft_retain(cur);
  for (int k = 0; k < n; k++) {
    ft_tensor *next = NULL;
    ft_status st = ft_dispatch(steps[k].op, 1, &cur, &steps[k].at, &next);
    ft_release(cur);
    if (st) return st;
    cur = next;
  }
  *out = cur;
  return FT_OK;
}

/* Brings view w (a wrapper of F) up to date with its base's latest write. */
static ft_status sync(func_level *fl, ft_tensor *w) {
  func_record *r = record_of(fl, w);
  if (!r) return FT_OK;
  ft_tensor *b = at_level(r->base, fl->id);
  if (w->func_gen == b->func_gen) return FT_OK;
  ft_tensor *v;
  FT_TRY(apply_steps(b->inner, r->steps, r->nsteps, &v));
  set_inner(w, v);
  w->func_gen = b->func_gen;
  return FT_OK;
}

ft_status ft_func_sync(ft_tensor *w) {
  func_level *fl = w->level > 0 ? table_of(w->level) : NULL;
  return fl && ft_level_get(w->level) ? sync(fl, w) : FT_OK;
}

/* ---- the view table ------------------------------------------------------- */

static void drop_record(func_level *fl, int32_t k) {
  func_record *r = &fl->recs[k];
  ft_tensor *v = r->view, *b = r->base;
  free(r->steps);
  *r = (func_record){.next_free = fl->free_head};
  fl->free_head = k;
  fl->live--;
  ft_release(v);
  ft_release(b);
}

/* Drops the records of views nobody else holds any more. */
static void prune(func_level *fl) {
  for (int32_t k = 0; k < fl->n; k++)
    if (fl->recs[k].view && fl->recs[k].view->refcount == 1) drop_record(fl, k);
  fl->prune_at = fl->live * 2 > 64 ? fl->live * 2 : 64;
}

static ft_status new_slot(func_level *fl, int32_t *k) {
  if (fl->live >= fl->prune_at) prune(fl);
  if (fl->free_head >= 0) {
    *k = fl->free_head;
    fl->free_head = fl->recs[*k].next_free;
    return FT_OK;
  }
  if (fl->n == fl->cap) {
    int32_t cap = fl->cap ? fl->cap * 2 : 64;
    func_record *p = realloc(fl->recs, sizeof(func_record) * (size_t)cap);
    if (!p) return ft_error(FT_ERR_OOM, "out of memory recording a view under functionalize");
    fl->recs = p;
    fl->cap = cap;
  }
  *k = fl->n++;
  return FT_OK;
}

/* Records wrapper `view`, made by op(parent), as a view of parent's base. */
static ft_status add_view(func_level *fl, ft_tensor *parent, ft_tensor *view, ft_op op, const ft_attrs *at) {
  func_record *pr = record_of(fl, parent);
  int32_t n = pr ? pr->nsteps + 1 : 1;
  func_step *steps = malloc(sizeof(func_step) * (size_t)n);
  if (!steps) return ft_error(FT_ERR_OOM, "out of memory recording a view under functionalize");
  if (pr) memcpy(steps, pr->steps, sizeof(func_step) * (size_t)(n - 1));
  steps[n - 1] = (func_step){.op = op, .at = *at};
  ft_tensor *base = pr ? pr->base : parent;
  int32_t k = -1;
  ft_status st = new_slot(fl, &k);
  if (st) { free(steps); return st; }
  /* new_slot may have moved the table: nothing from it is used past here */
  fl->recs[k] = (func_record){.view = view, .base = base, .steps = steps, .nsteps = n, .next_free = -1};
  fl->live++;
  ft_retain(view);
  ft_retain(base);
  view->func_view = k + 1;
  view->func_gen = at_level(base, fl->id)->func_gen;
  return FT_OK;
}

/* ---- levels --------------------------------------------------------------- */

ft_status ft_func_push(int32_t *id) {
  FT_TRY(ft_level_push(FT_LV_FUNC, 0, 0, id));
  g_func[g_nfunc++] = (func_level){.id = *id, .free_head = -1, .prune_at = 64};
  return FT_OK;
}

/* Pops F (the innermost level). Escaped views are brought up to date first,
 * so that, looked through once F is dead, they show their final values. */
ft_status ft_func_pop(int32_t id) {
  ft_level *top = ft_level_at(ft_level_depth() - 1);
  func_level *fl = g_nfunc > 0 ? &g_func[g_nfunc - 1] : NULL;
  if (!top || top->id != id || !fl || fl->id != id)
    return ft_error(FT_ERR_RUNTIME, "level %d is not the innermost functionalize level", (int)id);
  for (int32_t k = 0; k < fl->n; k++) {
    func_record *r = &fl->recs[k];
    if (!r->view) continue;
    /* best effort: a failure here leaves that view as it was */
    if (r->view->refcount > 1) (void)sync(fl, at_level(r->view, id));
  }
  for (int32_t k = 0; k < fl->n; k++)
    if (fl->recs[k].view) drop_record(fl, k);
  free(fl->recs);
  g_nfunc--;
  return ft_level_pop(id);
}

ft_status ft_func_wrap(int32_t level, ft_tensor *x, ft_tensor **out) {
  if (!table_of(level) || !ft_level_get(level))
    return ft_error(FT_ERR_RUNTIME, "functionalize: level %d is not live", (int)level);
  return ft_wrapper_new(level, x, out);
}

/* ---- the interpreter ------------------------------------------------------ */

ft_status ft_func_interpret(ft_level *lv, ft_op op, int nin, ft_tensor *const *in, const ft_attrs *at,
                            ft_tensor **out) {
  const ft_op_def *d = ft_ops[op];
  int32_t F = lv->id;
  func_level *fl = table_of(F);
  if (!fl) return ft_error(FT_ERR_RUNTIME, "functionalize: level %d has no view table", (int)F);
  ft_tensor *peeled[nin > 0 ? nin : 1], *inner[nin > 0 ? nin : 1];
  inner[0] = peeled[0] = NULL; /* nin == 0 (factories): gcc -Wmaybe-uninitialized */
  for (int i = 0; i < nin; i++) {
    ft_tensor *p = ft_peel(in[i], F);
    peeled[i] = p;
    if (p->level == F) FT_TRY(sync(fl, p));
    inner[i] = p->level == F ? p->inner : p;
  }
  FT_TRY(ft_dispatch(op, nin, inner, at, out));
  /* reshape copies when strides don't allow a view: only real aliases are views */
  bool view = (d->flags & FT_F_VIEW) && nin > 0 && peeled[0]->level == F &&
              ft_base_value(out[0])->storage == ft_base_value(inner[0])->storage;
  ft_status st = FT_OK;
  for (int j = 0; j < d->nout && !st; j++) {
    ft_tensor *w;
    st = ft_wrapper_new(F, out[j], &w);
    if (st) break;
    ft_release(out[j]);
    out[j] = w;
  }
  if (!st && view) st = add_view(fl, peeled[0], out[0], op, at);
  if (st)
    for (int j = 0; j < d->nout; j++) { ft_release(out[j]); out[j] = NULL; }
  return st;
}

/* ---- writes --------------------------------------------------------------- */

/* Zeros of x's shape with v where step's view of x lies (SLICE, SELECT, DIAGONAL). */
static ft_status embed(const func_step *s, const ft_tensor *x, ft_tensor *v, ft_tensor **out) {
  const int64_t *a = s->at.i;
  int nd = x->ndim, d1, d2;
  switch (s->op) {
    case FT_OP_SLICE: {
      FT_TRY(ft_wrap_dim(a[0], nd, &d1));
      int64_t size = x->shape[d1], start = a[1];
      if (start < 0) start += size;
      start = start < 0 ? 0 : start > size ? size : start;
      return ft_slice_scatter_zeros(v, x->shape, nd, d1, start, a[3], out);
    }
    case FT_OP_SELECT: {
      FT_TRY(ft_wrap_dim(a[0], nd, &d1));
      int64_t idx = a[1] < 0 ? a[1] + x->shape[d1] : a[1];
      ft_tensor *u;
      FT_TRY(ft_unsqueeze(v, d1, &u));
      ft_status st = ft_slice_scatter_zeros(u, x->shape, nd, d1, idx, 1, out);
      ft_release(u);
      return st;
    }
    case FT_OP_DIAGONAL: {
      /* DIAG_EMBED builds [rest..., n1, n2]; a permute puts n1, n2 back at dim1, dim2 */
      FT_TRY(ft_wrap_dim(a[1], nd, &d1));
      FT_TRY(ft_wrap_dim(a[2], nd, &d2));
      ft_attrs ea = {.ni = 3, .i = {a[0], x->shape[d1], x->shape[d2]}};
      int64_t perm[FT_MAX_DIMS];
      for (int p = 0, r = 0; p < nd; p++) perm[p] = p == d1 ? nd - 2 : p == d2 ? nd - 1 : r++;
      ft_tensor *e;
      FT_TRY(ft_dispatch(FT_OP_DIAG_EMBED, 1, &v, &ea, &e));
      ft_status st = ft_permute(e, perm, nd, out);
      ft_release(e);
      return st;
    }
    default:
      return ft_error(FT_ERR_RUNTIME, "functionalize: %s has no scatter", ft_ops[s->op]->name);
  }
}

/* x's new value when its view through step s becomes v, out of place. */
static ft_status scatter_step(const func_step *s, ft_tensor *x, ft_tensor *v, ft_tensor **out) {
  switch (s->op) {
    case FT_OP_DETACH: ft_retain(v); *out = v; return FT_OK;
    case FT_OP_RESHAPE: return ft_reshape(v, x->shape, x->ndim, out);
    case FT_OP_PERMUTE: {
      int64_t inv[FT_MAX_DIMS];
      for (int k = 0; k < x->ndim; k++) {
        int p;
        FT_TRY(ft_wrap_dim(s->at.i[k], x->ndim, &p));
        inv[p] = k;
      }
      return ft_permute(v, inv, x->ndim, out);
    }
    case FT_OP_SLICE:
    case FT_OP_SELECT:
    case FT_OP_DIAGONAL: {
      /* where(mask, embedded v, x): exact, unlike x + embed(v - view(x)) */
      ft_tensor *ones = NULL, *mask = NULL, *e = NULL;
      ft_status st = ft_ones(v->shape, v->ndim, FT_BOOL, &ones);
      if (!st) st = embed(s, x, ones, &mask);
      if (!st) st = embed(s, x, v, &e);
      if (!st) st = ft_where(mask, e, x, out);
      ft_release(ones);
      ft_release(mask);
      ft_release(e);
      return st;
    }
    default:
      return ft_error(FT_ERR_RUNTIME, "functionalize: %s has no scatter", ft_ops[s->op]->name);
  }
}

/* The base's new value when view record r's value becomes v: the chain's
 * values from base value x0 forward, then the scatters backward. */
static ft_status scatter_chain(const func_record *r, ft_tensor *x0, ft_tensor *v, ft_tensor **out) {
  int n = r->nsteps;
  ft_tensor *vals[n];
  vals[0] = x0;
  ft_status st = FT_OK;
  int made = 1;
  for (; made < n && !st; made++)
    st = ft_dispatch(r->steps[made - 1].op, 1, &vals[made - 1], &r->steps[made - 1].at, &vals[made]);
  if (st) made--;
  ft_tensor *cur = v;
  ft_retain(cur);
  for (int k = n - 1; k >= 0 && !st; k--) {
    ft_tensor *next = NULL;
    st = scatter_step(&r->steps[k], vals[k], cur, &next);
    ft_release(cur);
    cur = next;
  }
  for (int k = 1; k < made; k++) ft_release(vals[k]);
  if (st) { ft_release(cur); return st; }
  *out = cur;
  return FT_OK;
}

/* src's value as dst's new value: dst's dtype, broadcast to dst's shape. */
static ft_status conform(ft_tensor *src, const ft_tensor *dst, ft_tensor **out) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  bool same = src->ndim == dst->ndim, ok = src->ndim <= dst->ndim;
  for (int i = 0; i < dst->ndim && ok; i++) {
    int k = i - (dst->ndim - src->ndim);
    if (k < 0) continue;
    if (src->shape[k] != dst->shape[i]) {
      same = false;
      ok = src->shape[k] == 1;
    }
  }
  if (!ok)
    return ft_error(FT_ERR_VALUE, "output with shape %s doesn't match the broadcast shape %s",
                    ft_shape_str(dst->shape, dst->ndim, b1, sizeof b1),
                    ft_shape_str(src->shape, src->ndim, b2, sizeof b2));
  ft_tensor *c;
  FT_TRY(ft_cast(src, dst->dtype, &c));
  if (same) { *out = c; return FT_OK; }
  /* materialised, so later views and reshapes see a dense tensor as in eager mode */
  ft_tensor *e;
  ft_status st = ft_expand(c, dst->shape, dst->ndim, &e);
  ft_release(c);
  if (st) return st;
  st = ft_clone(e, out);
  ft_release(e);
  return st;
}

ft_status ft_func_assign_(ft_level *lv, ft_tensor *dst, ft_tensor *src) {
  int32_t F = lv->id;
  func_level *fl = table_of(F);
  if (!fl) return ft_error(FT_ERR_RUNTIME, "functionalize: level %d has no view table", (int)F);
  ft_tensor *dp = ft_peel(dst, F), *sp = ft_peel(src, F);
  if (sp->level == F) FT_TRY(sync(fl, sp));
  ft_tensor *sv = sp->level == F ? sp->inner : sp;
  /* a tensor the level never saw (made by a factory inside f, or captured) is written as in eager mode */
  if (dp->level != F) return ft_assign_(dp, sv);
  func_record *r = record_of(fl, dp);
  for (int k = 0; r && k < r->nsteps; k++)
    if (r->steps[k].op == FT_OP_EXPAND)
      return ft_error(FT_ERR_RUNTIME,
                      "unsupported operation: more than one element of the written-to tensor refers to a single "
                      "memory location. Please clone() the tensor before performing the operation.");
  ft_tensor *nv, *nb;
  FT_TRY(conform(sv, dp, &nv));
  ft_tensor *b = r ? at_level(r->base, F) : dp;
  ft_status st = FT_OK;
  if (r) {
    st = scatter_chain(r, b->inner, nv, &nb);
    ft_release(nv);
    if (st) return st;
  } else {
    nb = nv;
  }
  /* A base's value must not share storage with src's: the caller may write
   * src (an input written back at exit, an output) in place later, and in
   * eager mode dst holds its own copy. Casts, broadcasts and the scatters'
   * `where` already made fresh data; a plain copy_ or a permute/reshape
   * chain did not. */
  if (ft_base_value(nb)->storage == ft_base_value(sv)->storage) {
    ft_tensor *c;
    st = ft_clone(nb, &c);
    ft_release(nb);
    if (st) return st;
    nb = c;
  }
  set_inner(b, nb);
  b->func_gen++; /* every view of b regenerates when next used */
  return FT_OK;
}

/* ---- leaving the level ------------------------------------------------------ */

/* h's value one level below F with its pending writes applied (a new
 * reference): a copy for views when copy_views ('mutations_and_views'). */
ft_status ft_func_unwrap(int32_t F, ft_tensor *h, bool copy_views, ft_tensor **out) {
  ft_tensor *t = at_level(h, F);
  if (t->level != F) { ft_retain(t); *out = t; return FT_OK; }
  func_level *fl = ft_level_get(F) ? table_of(F) : NULL;
  if (fl) FT_TRY(sync(fl, t));
  if (copy_views && t->func_view) return ft_clone(t->inner, out);
  ft_retain(t->inner);
  *out = t->inner;
  return FT_OK;
}

/* PyTorch's _propagate_functional_input_mutation: if input wrapper w (made
 * by ft_func_wrap around x) was written, x receives its final value. */
ft_status ft_func_propagate(int32_t F, ft_tensor *w, ft_tensor *x) {
  ft_tensor *t = at_level(w, F);
  if (t->level != F || t->inner == x) return FT_OK;
  return ft_assign_(x, t->inner);
}
