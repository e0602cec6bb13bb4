/* Helpers every op family uses: broadcasting, promotion, sum-to-shape. */
#include "ops.h"

bool ft_is_float(ft_dtype dt) { return dt == FT_F32 || dt == FT_F64; }

ft_status ft_broadcast_shapes(const int64_t *a, int an, const int64_t *b, int bn, int64_t *out, int *on) {
  int n = an > bn ? an : bn;
  if (n > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "broadcast result has too many dimensions (%d)", n);
  for (int i = 0; i < n; i++) {
    int ia = i - (n - an), ib = i - (n - bn);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else {
      char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
      return ft_error(FT_ERR_VALUE,
                      "The size of tensor a (%lld) must match the size of tensor b (%lld) at non-singleton dimension %d "
                      "(shapes %s and %s)",
                      (long long)da, (long long)db, i, ft_shape_str(a, an, b1, sizeof b1), ft_shape_str(b, bn, b2, sizeof b2));
    }
  }
  *on = n;
  return FT_OK;
}

void ft_broadcast_strides(const ft_tensor *t, const int64_t *shape, int ndim, int64_t *strides) {
  (void)shape;
  for (int i = 0; i < ndim; i++) {
    int k = i - (ndim - t->ndim);
    strides[i] = (k < 0 || t->shape[k] == 1) ? 0 : t->strides[k];
  }
}

static int dtype_rank(ft_dtype dt) {
  switch (dt) {
    case FT_BOOL: return 0;
    case FT_I32: return 1;
    case FT_F32: return 2;
    case FT_F64: return 3;
    default: return 0;
  }
}
static int category(ft_dtype dt) { return dt == FT_BOOL ? 0 : dt == FT_I32 ? 1 : 2; }

ft_dtype ft_promote(const ft_tensor *a, const ft_tensor *b) {
  if (a->dtype == b->dtype) return a->dtype;
  bool a0 = a->ndim == 0, b0 = b->ndim == 0;
  if (a0 != b0) {
    const ft_tensor *dim = a0 ? b : a, *zd = a0 ? a : b;
    /* a 0-d operand only matters when it is of a higher category */
    if (category(zd->dtype) <= category(dim->dtype)) return dim->dtype;
    return zd->dtype == FT_F64 ? FT_F32 : zd->dtype; /* default float for int tensors */
  }
  return dtype_rank(a->dtype) > dtype_rank(b->dtype) ? a->dtype : b->dtype;
}

ft_status ft_sum_to_shape(ft_tensor *g, const int64_t *shape, int ndim, ft_dtype dt, ft_tensor **out) {
  int lead = g->ndim - ndim;
  int64_t dims[FT_MAX_DIMS];
  int nd = 0;
  for (int i = 0; i < g->ndim; i++) {
    int k = i - lead;
    if (k < 0 || (shape[k] == 1 && g->shape[i] != 1)) dims[nd++] = i;
  }
  ft_tensor *s = g, *r = NULL;
  ft_retain(g);
  if (nd > 0) {
    FT_TRY(ft_sum(g, dims, nd, true, &r));
    ft_release(s);
    s = r;
  }
  if (lead > 0 || nd > 0) {
    bool same = s->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = s->shape[i] == shape[i];
    if (!same) {
      ft_status st = ft_reshape(s, shape, ndim, &r);
      ft_release(s);
      if (st) return st;
      s = r;
    }
  }
  if (s->dtype != dt) {
    ft_status st = ft_cast(s, dt, &r);
    ft_release(s);
    if (st) return st;
    s = r;
  }
  *out = s;
  return FT_OK;
}

ft_status ft_plain_contiguous(ft_tensor *t, ft_tensor **out) {
  if (ft_is_contiguous(t)) { ft_retain(t); *out = t; return FT_OK; }
  FT_TRY(ft_tensor_empty(t->shape, t->ndim, t->dtype, out));
  ft_k_copy(t->dtype, t->dtype, t->ndim, t->shape, ft_data_ptr(t), t->strides, ft_data_ptr(*out), (*out)->strides);
  return FT_OK;
}

/* ---- rule makers shared by the families ----------------------------------- */

ft_status ft_move_bdim_front(ft_tensor *x, int32_t bdim, int64_t bsize, int logical_ndim, ft_tensor **out) {
  /* bdim == -1 leaves x alone (it broadcasts); otherwise moves the batch dim
   * to 0 and pads with size-1 dims so the logical dims right-align with a
   * logical rank of `logical_ndim`. */
  (void)bsize;
  if (bdim < 0) { ft_retain(x); *out = x; return FT_OK; }
  ft_tensor *m;
  if (bdim != 0) FT_TRY(ft_movedim(x, bdim, 0, &m));
  else { m = x; ft_retain(x); }
  int lx = m->ndim - 1;
  if (lx >= logical_ndim) { *out = m; return FT_OK; }
  int64_t shape[FT_MAX_DIMS];
  int nd = 0;
  shape[nd++] = m->shape[0];
  for (int i = lx; i < logical_ndim; i++) shape[nd++] = 1;
  for (int i = 1; i <= lx; i++) shape[nd++] = m->shape[i];
  ft_status st = ft_reshape(m, shape, nd, out);
  ft_release(m);
  return st;
}

ft_status ft_batch_broadcasting(ft_op op, ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                int64_t bsize, ft_tensor **out, int32_t *obdim) {
  int L = 0;
  for (int i = 0; i < nin; i++) {
    int l = bdim[i] >= 0 ? in[i]->ndim - 1 : in[i]->ndim;
    if (l > L) L = l;
  }
  ft_tensor *moved[nin > 0 ? nin : 1];
  moved[0] = NULL; /* gcc -Wmaybe-uninitialized */
  ft_status st = FT_OK;
  int k = 0;
  for (; k < nin; k++) if ((st = ft_move_bdim_front(in[k], bdim[k], bsize, L, &moved[k]))) break;
  if (!st) st = ft_dispatch(op, nin, moved, at, out);
  for (int i = 0; i < k; i++) ft_release(moved[i]);
  for (int j = 0; !st && j < ft_ops[op]->nout; j++) obdim[j] = 0;
  return st;
}

ft_status ft_batch_elementwise(ft_op op, ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                               int64_t bsize, ft_tensor **out, int32_t *obdim) {
  (void)bsize;
  if (nin == 1) { /* the batch dim stays where it is */
    FT_TRY(ft_dispatch(op, 1, in, at, out));
    for (int j = 0; j < ft_ops[op]->nout; j++) obdim[j] = bdim[0];
    return FT_OK;
  }
  return ft_batch_broadcasting(op, in, bdim, nin, at, bsize, out, obdim);
}

ft_status ft_expand_to(ft_tensor *t, const ft_tensor *like, ft_tensor **out) {
  bool same = t->ndim == like->ndim;
  for (int i = 0; same && i < t->ndim; i++) same = t->shape[i] == like->shape[i];
  if (same) { ft_retain(t); *out = t; return FT_OK; }
  return ft_expand(t, like->shape, like->ndim, out);
}

ft_status ft_batch_expand_front(ft_tensor *x, int64_t bsize, ft_tensor **out) {
  ft_tensor *u;
  FT_TRY(ft_unsqueeze(x, 0, &u));
  int64_t shape[FT_MAX_DIMS];
  memcpy(shape, u->shape, sizeof(int64_t) * (size_t)u->ndim);
  shape[0] = bsize;
  ft_status st = ft_expand(u, shape, u->ndim, out);
  ft_release(u);
  return st;
}
