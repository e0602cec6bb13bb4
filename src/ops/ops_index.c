/* Indexing ops: GATHER, SCATTER_ADD, INDEX_SELECT, INDEX_ADD. Indices are
 * int32 and every one is bounds-checked before anything is written. The
 * loops are here rather than in src/kernels because they are
 * data-dependent gathers, not arithmetic: each element (or slice, for the
 * index_* ops, which call the copy/add kernels per slice) is moved once. */
#include "ops.h"

static ft_status need_attrs(const ft_attrs *at, int n, ft_op op) {
  if (at->ni < n) return ft_error(FT_ERR_VALUE, "%s: expected %d integer attributes, got %d", ft_ops[op]->name, n, at->ni);
  return FT_OK;
}

static ft_status out_of_bounds(int64_t idx, int dim, int64_t size) {
  return ft_error(FT_ERR_INDEX, "index %lld is out of bounds for dimension %d with size %lld", (long long)idx, dim,
                  (long long)size);
}

/* A 0-d tensor is seen as shape [1] (PyTorch's ensure_nonempty_dim). */
typedef struct {
  int ndim;
  int64_t shape[FT_MAX_DIMS], strides[FT_MAX_DIMS];
} geom;
static void geom_of(const ft_tensor *t, geom *g) {
  g->ndim = t->ndim ? t->ndim : 1;
  g->shape[0] = 1;
  g->strides[0] = 0;
  for (int k = 0; k < t->ndim; k++) {
    g->shape[k] = t->shape[k];
    g->strides[k] = t->strides[k];
  }
}

/* Row-major walk over `shape` keeping the element offsets of `nops`
 * strided operands. */
typedef struct {
  int ndim, nops;
  const int64_t *shape;
  const int64_t *st[3];
  int64_t idx[FT_MAX_DIMS], off[3];
} walk;
static void walk_next(walk *w) {
  for (int d = w->ndim - 1; d >= 0; d--) {
    for (int k = 0; k < w->nops; k++) w->off[k] += w->st[k][d];
    if (++w->idx[d] < w->shape[d]) return;
    for (int k = 0; k < w->nops; k++) w->off[k] -= w->st[k][d] * w->shape[d];
    w->idx[d] = 0;
  }
}

static ft_status check_index_dtype(const ft_tensor *index, const char *op) {
  if (index->dtype != FT_I32)
    return ft_error(FT_ERR_TYPE, "%s(): Expected dtype int32 for index, got %s", op, ft_dtype_name(index->dtype));
  return FT_OK;
}

static ft_status check_arith_dtype(ft_dtype dt, const char *op) {
  if (!(dt == FT_F32 || dt == FT_F64 || dt == FT_I32))
    return ft_error(FT_ERR_TYPE, "%s(): not implemented for %s tensors", op, ft_dtype_name(dt));
  return FT_OK;
}

/* ---- GATHER ---------------------------------------------------------------- */

static ft_status gather_check(const geom *x, const geom *ix, int d, const ft_tensor *xt, const ft_tensor *it) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  if (x->ndim != ix->ndim)
    return ft_error(FT_ERR_VALUE, "Index tensor must have the same number of dimensions as input tensor");
  for (int k = 0; k < x->ndim; k++)
    if (k != d && ix->shape[k] > x->shape[k])
      return ft_error(FT_ERR_VALUE,
                      "Size does not match at dimension %d expected index %s to be smaller than self %s apart from "
                      "dimension %d",
                      k, ft_shape_str(it->shape, it->ndim, b1, sizeof b1), ft_shape_str(xt->shape, xt->ndim, b2, sizeof b2),
                      d);
  return FT_OK;
}

static ft_status eval_gather(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0], *index = in[1];
  int d;
  geom gx, gi;
  FT_TRY(need_attrs(at, 1, FT_OP_GATHER));
  FT_TRY(ft_wrap_dim(at->i[0], x->ndim, &d));
  if (index->numel == 0) return ft_tensor_empty(index->shape, index->ndim, x->dtype, out);
  FT_TRY(check_index_dtype(index, "gather"));
  geom_of(x, &gx);
  geom_of(index, &gi);
  FT_TRY(gather_check(&gx, &gi, d, x, index));
  /* check every index first: nothing is allocated on the error path */
  const int32_t *ip = ft_data_ptr(index);
  walk w = {.ndim = gi.ndim, .nops = 1, .shape = gi.shape, .st = {gi.strides}};
  for (int64_t e = 0; e < index->numel; e++, walk_next(&w)) {
    int32_t v = ip[w.off[0]];
    if (v < 0 || v >= gx.shape[d]) return out_of_bounds(v, d, gx.shape[d]);
  }
  FT_TRY(ft_tensor_empty(index->shape, index->ndim, x->dtype, out));
  int64_t xs[FT_MAX_DIMS], os[FT_MAX_DIMS];
  memcpy(xs, gx.strides, sizeof xs);
  xs[d] = 0; /* the index supplies this coordinate */
  ft_contiguous_strides(gi.shape, gi.ndim, os);
  walk r = {.ndim = gi.ndim, .nops = 3, .shape = gi.shape, .st = {gi.strides, xs, os}};
  size_t es = ft_dtype_size(x->dtype);
  const char *xp = ft_data_ptr(x);
  char *op = ft_data_ptr(*out);
  int64_t xsd = gx.strides[d];
  for (int64_t e = 0; e < index->numel; e++, walk_next(&r))
    memcpy(op + (size_t)r.off[2] * es, xp + (ptrdiff_t)(r.off[1] + ip[r.off[0]] * xsd) * (ptrdiff_t)es, es);
  return FT_OK;
}

/* ---- SCATTER_ADD ----------------------------------------------------------- */

static ft_status scatter_check(const geom *x, const geom *ix, const geom *s, int d, const ft_tensor *xt,
                               const ft_tensor *it, const ft_tensor *st) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF], b3[FT_SHAPE_BUF];
  if (x->ndim != ix->ndim)
    return ft_error(FT_ERR_VALUE, "Index tensor must have the same number of dimensions as self tensor");
  if (s->ndim != ix->ndim)
    return ft_error(FT_ERR_VALUE, "Index tensor must have the same number of dimensions as src tensor");
  bool bad = false;
  for (int k = 0; k < x->ndim; k++) bad |= (k != d && ix->shape[k] > x->shape[k]) || ix->shape[k] > s->shape[k];
  if (bad)
    return ft_error(FT_ERR_VALUE,
                    "Expected index %s to be smaller than self %s apart from dimension %d and to be smaller size than "
                    "src %s",
                    ft_shape_str(it->shape, it->ndim, b1, sizeof b1), ft_shape_str(xt->shape, xt->ndim, b2, sizeof b2),
                    d, ft_shape_str(st->shape, st->ndim, b3, sizeof b3));
  return FT_OK;
}

/* U: the type the sum is taken in; uint32_t for int32 data, whose sums
 * wrap as PyTorch's do (a signed overflow would be undefined) */
#define SCATTER_LOOP(T, U)                                                                       \
  for (int64_t e = 0; e < n; e++, walk_next(&r)) {                                               \
    T *o_ = &((T *)op)[r.off[2] + ip[r.off[0]] * osd];                                           \
    *o_ = (T)((U)*o_ + (U)((const T *)sp)[r.off[1]]);                                            \
  }

static ft_status eval_scatter_add(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0], *index = in[1], *src = in[2];
  int d;
  geom gx, gi, gs;
  FT_TRY(need_attrs(at, 1, FT_OP_SCATTER_ADD));
  FT_TRY(ft_wrap_dim(at->i[0], x->ndim, &d));
  if (x->dtype != src->dtype)
    return ft_error(FT_ERR_TYPE, "scatter(): Expected self.dtype to be equal to src.dtype (got %s and %s)",
                    ft_dtype_name(x->dtype), ft_dtype_name(src->dtype));
  FT_TRY(check_arith_dtype(x->dtype, "scatter_add"));
  int64_t n = index->numel;
  if (n) {
    FT_TRY(check_index_dtype(index, "scatter"));
    geom_of(x, &gx);
    geom_of(index, &gi);
    geom_of(src, &gs);
    FT_TRY(scatter_check(&gx, &gi, &gs, d, x, index, src));
    const int32_t *ip = ft_data_ptr(index);
    walk w = {.ndim = gi.ndim, .nops = 1, .shape = gi.shape, .st = {gi.strides}};
    for (int64_t e = 0; e < n; e++, walk_next(&w)) {
      int32_t v = ip[w.off[0]];
      if (v < 0 || v >= gx.shape[d]) return out_of_bounds(v, d, gx.shape[d]);
    }
  }
  FT_TRY(ft_tensor_empty(x->shape, x->ndim, x->dtype, out));
  ft_k_copy(x->dtype, x->dtype, x->ndim, x->shape, ft_data_ptr(x), x->strides, ft_data_ptr(*out), (*out)->strides);
  if (!n) return FT_OK;
  int64_t os[FT_MAX_DIMS];
  ft_contiguous_strides(gx.shape, gx.ndim, os);
  int64_t osd = os[d];
  os[d] = 0;
  walk r = {.ndim = gi.ndim, .nops = 3, .shape = gi.shape, .st = {gi.strides, gs.strides, os}};
  const int32_t *ip = ft_data_ptr(index);
  const void *sp = ft_data_ptr(src);
  void *op = ft_data_ptr(*out);
  switch (x->dtype) {
    case FT_F32: SCATTER_LOOP(float, float) break;
    case FT_F64: SCATTER_LOOP(double, double) break;
    default: SCATTER_LOOP(int32_t, uint32_t) break;
  }
  return FT_OK;
}

/* ---- INDEX_SELECT / INDEX_ADD: one kernel call per selected slice ---------- */

/* Reads and checks a 1-D (or 0-d) int32 index, wrapping negatives if asked. */
static ft_status read_index(const ft_tensor *index, int64_t j, bool wrap, int dim, int64_t size, int64_t *v) {
  int64_t s = index->ndim ? index->strides[0] : 0;
  int64_t i = ((const int32_t *)ft_data_ptr(index))[j * s];
  if (wrap && i < 0) i += size;
  if (i < 0 || i >= size) return out_of_bounds(wrap && i < 0 ? i - size : i, dim, size);
  *v = i;
  return FT_OK;
}

static ft_status check_vector_index(const ft_tensor *index, const char *op) {
  if (index->ndim > 1) return ft_error(FT_ERR_INDEX, "%s(): Index is supposed to be a vector", op);
  if (index->dtype != FT_I32)
    return ft_error(FT_ERR_TYPE, "%s(): Expected dtype int32 for index, got %s", op, ft_dtype_name(index->dtype));
  return FT_OK;
}

/* Shape and strides of t with dim d removed. */
static int drop_dim(const geom *g, int d, int64_t *shape, int64_t *strides) {
  int n = 0;
  for (int k = 0; k < g->ndim; k++) {
    if (k == d) continue;
    shape[n] = g->shape[k];
    strides[n++] = g->strides[k];
  }
  return n;
}

static ft_status eval_index_select(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0], *index = in[1];
  int d;
  FT_TRY(need_attrs(at, 2, FT_OP_INDEX_SELECT));
  FT_TRY(check_vector_index(index, "index_select"));
  FT_TRY(ft_wrap_dim(at->i[0], x->ndim, &d));
  int64_t n = index->numel, v;
  bool wrap = at->i[1] != 0;
  geom gx;
  geom_of(x, &gx);
  if (x->ndim == 0 && n != 1)
    return ft_error(FT_ERR_INDEX, "index_select(): Index to scalar can have only 1 value, got %lld value(s)",
                    (long long)n);
  for (int64_t j = 0; j < n; j++) FT_TRY(read_index(index, j, wrap, d, gx.shape[d], &v));
  int64_t oshape[FT_MAX_DIMS];
  memcpy(oshape, x->shape, sizeof oshape);
  if (x->ndim) oshape[d] = n;
  FT_TRY(ft_tensor_empty(oshape, x->ndim, x->dtype, out));
  geom go;
  geom_of(*out, &go);
  int64_t ss[FT_MAX_DIMS], xs[FT_MAX_DIMS], os[FT_MAX_DIMS];
  int sn = drop_dim(&gx, d, ss, xs);
  drop_dim(&go, d, ss, os);
  size_t es = ft_dtype_size(x->dtype);
  for (int64_t j = 0; j < n; j++) {
    read_index(index, j, wrap, d, gx.shape[d], &v);
    ft_k_copy(x->dtype, x->dtype, sn, ss, (const char *)ft_data_ptr(x) + (ptrdiff_t)(v * gx.strides[d]) * (ptrdiff_t)es,
              xs, (char *)ft_data_ptr(*out) + (size_t)(j * go.strides[d]) * es, os);
  }
  return FT_OK;
}

static ft_status eval_index_add(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  ft_tensor *x = in[0], *index = in[1], *src = in[2];
  int d;
  FT_TRY(need_attrs(at, 2, FT_OP_INDEX_ADD));
  FT_TRY(check_vector_index(index, "index_add_"));
  FT_TRY(ft_wrap_dim(at->i[0], x->ndim, &d));
  if (x->dtype != src->dtype)
    return ft_error(FT_ERR_TYPE, "index_add_(): self (%s) and source (%s) must have the same scalar type",
                    ft_dtype_name(x->dtype), ft_dtype_name(src->dtype));
  FT_TRY(check_arith_dtype(x->dtype, "index_add_"));
  if (d > 0 && d >= src->ndim)
    return ft_error(FT_ERR_INDEX, "index_add_(): Indexing dim %d is out of bounds of the source tensor with dim %d", d,
                    src->ndim);
  geom gx, gs;
  geom_of(x, &gx);
  geom_of(src, &gs);
  int64_t n = index->numel, v;
  if (n != gs.shape[d])
    return ft_error(FT_ERR_INDEX, "index_add_(): Number of indices (%lld) should be equal to source.size(dim) (%lld)",
                    (long long)n, (long long)gs.shape[d]);
  int64_t xsh[FT_MAX_DIMS], xs[FT_MAX_DIMS], ssh[FT_MAX_DIMS], ss[FT_MAX_DIMS], os[FT_MAX_DIMS];
  int xn = drop_dim(&gx, d, xsh, xs), sn = drop_dim(&gs, d, ssh, ss);
  bool same = xn == sn;
  for (int k = 0; same && k < xn; k++) same = xsh[k] == ssh[k];
  if (!same)
    return ft_error(FT_ERR_VALUE,
                    "index_add_(): source %s and self %s must have the same shape apart from dimension %d",
                    ft_shape_str(src->shape, src->ndim, b1, sizeof b1), ft_shape_str(x->shape, x->ndim, b2, sizeof b2), d);
  bool wrap = at->i[1] != 0;
  for (int64_t j = 0; j < n; j++) FT_TRY(read_index(index, j, wrap, d, gx.shape[d], &v));
  FT_TRY(ft_tensor_empty(x->shape, x->ndim, x->dtype, out));
  ft_k_copy(x->dtype, x->dtype, x->ndim, x->shape, ft_data_ptr(x), x->strides, ft_data_ptr(*out), (*out)->strides);
  geom go;
  geom_of(*out, &go);
  drop_dim(&go, d, xsh, os);
  size_t es = ft_dtype_size(x->dtype);
  /* one slice at a time, in order, so repeated indices accumulate */
  for (int64_t j = 0; j < n; j++) {
    read_index(index, j, wrap, d, gx.shape[d], &v);
    char *o = (char *)ft_data_ptr(*out) + (size_t)(v * go.strides[d]) * es;
    const char *s = (const char *)ft_data_ptr(src) + (ptrdiff_t)(j * gs.strides[d]) * (ptrdiff_t)es;
    ft_k_binary(FT_BIN_ADD, x->dtype, xn, xsh, o, os, s, ss, o, os);
  }
  return FT_OK;
}

/* ---- VJP rules ------------------------------------------------------------- */

static ft_status op3(ft_op op, ft_tensor *a, ft_tensor *b, ft_tensor *c, const ft_attrs *at, ft_tensor **out) {
  ft_tensor *in[3] = {a, b, c};
  return ft_dispatch(op, 3, in, at, out);
}
static ft_status op2(ft_op op, ft_tensor *a, ft_tensor *b, const ft_attrs *at, ft_tensor **out) {
  ft_tensor *in[2] = {a, b};
  return ft_dispatch(op, 2, in, at, out);
}

/* x's gradient for gather / index_select: g added into zeros of x's shape. */
static ft_status vjp_into_zeros(const ft_vjp_ctx *c, ft_op scatter, ft_tensor *g, ft_tensor **gin) {
  ft_tensor *z;
  FT_TRY(ft_zeros(FT_IN_SHAPE(c, 0), c->in_ndim[0], c->in_dtype[0], &z));
  ft_status st = op3(scatter, z, c->in[1], g, c->at, gin);
  ft_release(z);
  return st;
}

static ft_status vjp_gather(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (c->need[0]) FT_TRY(vjp_into_zeros(c, FT_OP_SCATTER_ADD, g[0], &gin[0]));
  return FT_OK;
}

static ft_status vjp_index_select(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (c->need[0]) FT_TRY(vjp_into_zeros(c, FT_OP_INDEX_ADD, g[0], &gin[0]));
  return FT_OK;
}

/* t embedded at the origin of zeros of `shape` (t is no larger anywhere). */
static ft_status pad_to(ft_tensor *t, const int64_t *shape, int ndim, ft_tensor **out) {
  ft_tensor *cur = t;
  ft_retain(t);
  for (int k = 0; k < ndim && k < t->ndim; k++) {
    if (cur->shape[k] == shape[k]) continue;
    int64_t s[FT_MAX_DIMS];
    memcpy(s, cur->shape, sizeof s);
    s[k] = shape[k];
    ft_tensor *n;
    ft_status st = ft_slice_scatter_zeros(cur, s, cur->ndim, k, 0, 1, &n);
    ft_release(cur);
    if (st) return st;
    cur = n;
  }
  *out = cur;
  return FT_OK;
}

static ft_status vjp_scatter_add(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (c->need[0]) { ft_retain(g[0]); gin[0] = g[0]; }
  if (c->need[2]) {
    ft_tensor *t;
    FT_TRY(op2(FT_OP_GATHER, g[0], c->in[1], c->at, &t));
    /* src larger than index: the unread part gets zero gradient */
    ft_status st = pad_to(t, FT_IN_SHAPE(c, 2), c->in_ndim[2], &gin[2]);
    ft_release(t);
    return st;
  }
  return FT_OK;
}

static ft_status vjp_index_add(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (c->need[0]) { ft_retain(g[0]); gin[0] = g[0]; }
  if (c->need[2]) {
    ft_tensor *t;
    FT_TRY(op2(FT_OP_INDEX_SELECT, g[0], c->in[1], c->at, &t));
    ft_status st = ft_reshape(t, FT_IN_SHAPE(c, 2), c->in_ndim[2], &gin[2]); /* a 0-d source */
    ft_release(t);
    return st;
  }
  return FT_OK;
}

/* ---- JVP rules ------------------------------------------------------------- */

static ft_status jvp_gather(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                            ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)out;
  if (!t[0]) return FT_OK;
  return op2(FT_OP_GATHER, t[0], in[1], at, &tout[0]);
}

static ft_status jvp_index_select(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                                  ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)out;
  if (!t[0]) return FT_OK;
  return op2(FT_OP_INDEX_SELECT, t[0], in[1], at, &tout[0]);
}

/* scatter_add and index_add are linear in (x, src). */
static ft_status jvp_scatter_like(ft_op op, ft_tensor *const *in, ft_tensor *const *t, const ft_attrs *at,
                                  ft_tensor *const *out, ft_tensor **tout) {
  if (!t[2]) {
    if (t[0]) { ft_retain(t[0]); tout[0] = t[0]; }
    return FT_OK;
  }
  ft_tensor *z = NULL;
  if (!t[0]) FT_TRY(ft_zeros(out[0]->shape, out[0]->ndim, out[0]->dtype, &z));
  ft_status st = op3(op, t[0] ? t[0] : z, in[1], t[2], at, &tout[0]);
  ft_release(z);
  return st;
}
static ft_status jvp_scatter_add(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                                 ft_tensor *const *out, ft_tensor **tout) {
  (void)nin;
  return jvp_scatter_like(FT_OP_SCATTER_ADD, in, t, at, out, tout);
}
static ft_status jvp_index_add(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                               ft_tensor *const *out, ft_tensor **tout) {
  (void)nin;
  return jvp_scatter_like(FT_OP_INDEX_ADD, in, t, at, out, tout);
}

/* ---- batching rules -------------------------------------------------------- */

/* x with its batch dim in front ([B, logical...]; unbatched values are
 * expanded), and a logical 0-d value made [B, 1] as PyTorch's
 * ensure_nonempty_dim sees it. */
static ft_status to_front(ft_tensor *x, int32_t b, int64_t bsize, ft_tensor **out) {
  ft_tensor *m = NULL, *u = NULL;
  ft_status st;
  if (b >= 0) {
    FT_CHECK(ft_movedim(x, b, 0, &m));
  } else {
    int64_t shape[FT_MAX_DIMS];
    FT_CHECK(ft_unsqueeze(x, 0, &u));
    memcpy(shape, u->shape, sizeof shape);
    shape[0] = bsize;
    FT_CHECK(ft_expand(u, shape, u->ndim, &m));
  }
  if (m->ndim == 1) {
    int64_t s2[2] = {m->shape[0], 1};
    FT_CHECK(ft_reshape(m, s2, 2, out));
  } else {
    *out = m;
    m = NULL;
  }
fail:
  ft_release(m);
  ft_release(u);
  return st;
}

static int logical_ndim(const ft_tensor *x, int32_t b) { return b >= 0 ? x->ndim - 1 : x->ndim; }

/* The op's output has logical shape `like` minus batch: undo to_front's
 * [B, 1] for a 0-d result. */
static ft_status finish(ft_tensor *r, bool scalar, ft_tensor **out, int32_t *obdim) {
  obdim[0] = 0;
  if (!scalar) { *out = r; return FT_OK; }
  int64_t s = r->shape[0];
  ft_status st = ft_reshape(r, &s, 1, out);
  ft_release(r);
  return st;
}

/* A batched 1-D index [B, n] shaped for gather/scatter_add along dim d+1 of
 * a [B, ...] operand of shape `like`: [B, 1.., n, 1..] expanded to `like`. */
static ft_status index_for_gather(ft_tensor *index, int32_t bi, const ft_tensor *like, int d, bool wrap,
                                  int64_t size, ft_tensor **out) {
  ft_tensor *m = NULL, *w = NULL, *r = NULL, *neg = NULL, *z = NULL, *sh = NULL;
  ft_status st;
  FT_CHECK(ft_movedim(index, bi, 0, &m));
  if (wrap) { /* gather doesn't wrap: do it here */
    FT_CHECK(ft_scalar(0, FT_I32, &z));
    FT_CHECK(ft_compare(FT_OP_LT, m, z, &neg));
    FT_CHECK(ft_add_scalar(m, (double)size, &sh));
    FT_CHECK(ft_where(neg, sh, m, &w));
  } else {
    w = m;
    ft_retain(m);
  }
  int64_t shape[FT_MAX_DIMS];
  for (int k = 0; k < like->ndim; k++) shape[k] = 1;
  shape[0] = w->shape[0];
  shape[d + 1] = w->ndim > 1 ? w->shape[1] : 1;
  FT_CHECK(ft_reshape(w, shape, like->ndim, &r));
  memcpy(shape, like->shape, sizeof shape);
  shape[d + 1] = r->shape[d + 1];
  FT_CHECK(ft_expand(r, shape, like->ndim, out));
fail:
  ft_release(m); ft_release(w); ft_release(r); ft_release(neg); ft_release(z); ft_release(sh);
  return st;
}

static ft_status batch_gather_like(ft_op op, ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                   int64_t bsize, ft_tensor **out, int32_t *obdim) {
  FT_TRY(need_attrs(at, 1, op));
  int d;
  FT_TRY(ft_wrap_dim(at->i[0], logical_ndim(in[0], bdim[0]), &d));
  bool scalar = logical_ndim(op == FT_OP_GATHER ? in[1] : in[0], op == FT_OP_GATHER ? bdim[1] : bdim[0]) == 0;
  ft_tensor *f[3] = {0}, *r = NULL;
  ft_status st = FT_OK;
  for (int k = 0; k < nin; k++) FT_CHECK(to_front(in[k], bdim[k], bsize, &f[k]));
  ft_attrs a = *at;
  a.i[0] = d + 1;
  FT_CHECK(ft_dispatch(op, nin, f, &a, &r));
  st = finish(r, scalar, out, obdim);
fail:
  for (int k = 0; k < 3; k++) ft_release(f[k]);
  return st;
}

static ft_status batch_gather(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                              ft_tensor **out, int32_t *obdim) {
  return batch_gather_like(FT_OP_GATHER, in, bdim, nin, at, bsize, out, obdim);
}
static ft_status batch_scatter_add(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                   int64_t bsize, ft_tensor **out, int32_t *obdim) {
  return batch_gather_like(FT_OP_SCATTER_ADD, in, bdim, nin, at, bsize, out, obdim);
}

static ft_status batch_index_select(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                    int64_t bsize, ft_tensor **out, int32_t *obdim) {
  (void)nin;
  FT_TRY(need_attrs(at, 2, FT_OP_INDEX_SELECT));
  ft_tensor *x = in[0], *index = in[1], *xf = NULL, *ix = NULL, *r = NULL;
  int d, lx = logical_ndim(x, bdim[0]);
  FT_TRY(ft_wrap_dim(at->i[0], lx, &d));
  ft_status st = FT_OK;
  if (bdim[1] < 0 && bdim[0] >= 0 && lx > 0) { /* the common case: one call, bdim stays */
    ft_attrs a = *at;
    a.i[0] = d < bdim[0] ? d : d + 1;
    obdim[0] = bdim[0];
    return ft_dispatch(FT_OP_INDEX_SELECT, 2, in, &a, out);
  }
  FT_CHECK(to_front(x, bdim[0], bsize, &xf));
  if (bdim[1] < 0) {
    ft_attrs a = *at;
    a.i[0] = d + 1;
    FT_CHECK(op2(FT_OP_INDEX_SELECT, xf, index, &a, &r));
  } else {
    if (index->ndim > 2) FT_CHECK(ft_error(FT_ERR_INDEX, "index_select(): Index is supposed to be a vector"));
    FT_CHECK(index_for_gather(index, bdim[1], xf, d, at->i[1] != 0, xf->shape[d + 1], &ix));
    ft_attrs a = {.ni = 1, .i = {d + 1}};
    FT_CHECK(op2(FT_OP_GATHER, xf, ix, &a, &r));
  }
  st = finish(r, lx == 0, out, obdim);
  r = NULL;
fail:
  ft_release(xf); ft_release(ix); ft_release(r);
  return st;
}

static ft_status batch_index_add(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                 int64_t bsize, ft_tensor **out, int32_t *obdim) {
  (void)nin;
  FT_TRY(need_attrs(at, 2, FT_OP_INDEX_ADD));
  ft_tensor *xf = NULL, *sf = NULL, *ix = NULL, *r = NULL;
  int d, lx = logical_ndim(in[0], bdim[0]);
  FT_TRY(ft_wrap_dim(at->i[0], lx, &d));
  ft_status st = FT_OK;
  FT_CHECK(to_front(in[0], bdim[0], bsize, &xf));
  FT_CHECK(to_front(in[2], bdim[2], bsize, &sf));
  if (bdim[1] < 0) {
    ft_attrs a = *at;
    a.i[0] = d + 1;
    FT_CHECK(op3(FT_OP_INDEX_ADD, xf, in[1], sf, &a, &r));
  } else {
    if (in[1]->ndim > 2) FT_CHECK(ft_error(FT_ERR_INDEX, "index_add_(): Index is supposed to be a vector"));
    FT_CHECK(index_for_gather(in[1], bdim[1], sf, d, at->i[1] != 0, xf->shape[d + 1], &ix));
    ft_attrs a = {.ni = 1, .i = {d + 1}};
    FT_CHECK(op3(FT_OP_SCATTER_ADD, xf, ix, sf, &a, &r));
  }
  st = finish(r, lx == 0, out, obdim);
  r = NULL;
fail:
  ft_release(xf); ft_release(sf); ft_release(ix); ft_release(r);
  return st;
}

/* ---- the table entries ---------------------------------------------------- */

#define IDX (FT_F_DIFF | FT_F_SAVE_IN)
const ft_op_def ft_opdef_GATHER = {"gather", 2, 1, IDX, eval_gather, vjp_gather, jvp_gather, batch_gather};
const ft_op_def ft_opdef_SCATTER_ADD = {"scatter_add", 3, 1, IDX, eval_scatter_add, vjp_scatter_add, jvp_scatter_add,
                                        batch_scatter_add};
const ft_op_def ft_opdef_INDEX_SELECT = {"index_select", 2, 1, IDX, eval_index_select, vjp_index_select,
                                         jvp_index_select, batch_index_select};
const ft_op_def ft_opdef_INDEX_ADD = {"index_add", 3, 1, IDX, eval_index_add, vjp_index_add, jvp_index_add,
                                      batch_index_add};

/* ---- the C op API ---------------------------------------------------------- */

ft_status ft_gather(ft_tensor *x, int64_t dim, ft_tensor *index, ft_tensor **out) {
  ft_attrs a = {.ni = 1, .i = {dim}};
  return op2(FT_OP_GATHER, x, index, &a, out);
}

ft_status ft_scatter_add(ft_tensor *x, int64_t dim, ft_tensor *index, ft_tensor *src, ft_tensor **out) {
  ft_attrs a = {.ni = 1, .i = {dim}};
  return op3(FT_OP_SCATTER_ADD, x, index, src, &a, out);
}

ft_status ft_index_select(ft_tensor *x, int64_t dim, ft_tensor *index, ft_tensor **out) {
  ft_attrs a = {.ni = 2, .i = {dim, 0}};
  return op2(FT_OP_INDEX_SELECT, x, index, &a, out);
}

ft_status ft_index_add(ft_tensor *x, int64_t dim, ft_tensor *index, ft_tensor *src, ft_tensor **out) {
  ft_attrs a = {.ni = 2, .i = {dim, 0}};
  return op3(FT_OP_INDEX_ADD, x, index, src, &a, out);
}
