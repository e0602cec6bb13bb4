/* Slicing ops and their embeddings: SLICE and SELECT (views; VJP through
 * SLICE_SCATTER), DIAGONAL (a view; VJP through DIAG_EMBED), TRIU/TRIL, and
 * the composites narrow and diag. */
#include "ops.h"

static int phys_dim(int d, int32_t b) { return d < b ? d : d + 1; }

/* Attributes from JavaScript arrive as given: check the count first. */
static ft_status need_attrs(const ft_attrs *at, int n, ft_op op) {
  if (at->ni < n) return ft_error(FT_ERR_VALUE, "%s: expected %d integer attributes, got %d", ft_ops[op]->name, n, at->ni);
  return FT_OK;
}

static ft_status tangent_same_op(ft_op op, ft_tensor *t, const ft_attrs *at, ft_tensor **tout) {
  return ft_dispatch(op, 1, &t, at, tout);
}

/* Copies src into the strided destination view (same shape). */
static void copy_into(ft_tensor *src, ft_tensor *dst) {
  ft_k_copy(src->dtype, dst->dtype, dst->ndim, dst->shape, ft_data_ptr(src), src->strides, ft_data_ptr(dst),
            dst->strides);
}

/* ---- SLICE ----------------------------------------------------------------- */

typedef struct {
  int dim;
  int64_t start, len, step;
} slice_geom;

/* Python's slice semantics for step > 0: out-of-range bounds clamp. */
static ft_status slice_norm(const int64_t *shape, int ndim, const int64_t *a, slice_geom *g) {
  if (ndim == 0) return ft_error(FT_ERR_INDEX, "slice() cannot be applied to a 0-dim tensor.");
  FT_TRY(ft_wrap_dim(a[0], ndim, &g->dim));
  int64_t size = shape[g->dim], start = a[1], end = a[2], step = a[3];
  if (step <= 0) return ft_error(FT_ERR_VALUE, "slice step must be positive");
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = start < 0 ? 0 : start > size ? size : start;
  end = end < start ? start : end > size ? size : end;
  g->start = start;
  g->step = step;
  g->len = (end - start + step - 1) / step;
  return FT_OK;
}

static ft_status eval_slice(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0];
  slice_geom g;
  FT_TRY(need_attrs(at, 4, FT_OP_SLICE));
  FT_TRY(slice_norm(x->shape, x->ndim, at->i, &g));
  int64_t shape[FT_MAX_DIMS], strides[FT_MAX_DIMS];
  memcpy(shape, x->shape, sizeof shape);
  memcpy(strides, x->strides, sizeof strides);
  shape[g.dim] = g.len;
  /* a dim of size 0 or 1 never steps, and a huge step on a huge stride
   * (slices of slices) would overflow */
  if (g.len > 1) strides[g.dim] *= g.step;
  int64_t off = x->offset + (g.len > 0 ? g.start * x->strides[g.dim] : 0);
  return ft_tensor_view_of(x, shape, strides, x->ndim, off, out);
}

static ft_status vjp_slice(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  slice_geom s;
  FT_TRY(slice_norm(FT_IN_SHAPE(c, 0), c->in_ndim[0], c->at->i, &s));
  return ft_slice_scatter_zeros(g[0], FT_IN_SHAPE(c, 0), c->in_ndim[0], s.dim, s.start, s.step, &gin[0]);
}

static ft_status jvp_slice(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                           ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return tangent_same_op(FT_OP_SLICE, t[0], at, &tout[0]);
}

/* Ops that keep the batch dim where it is and only need their dim
 * attribute (at index k) moved to its physical position. */
static ft_status batch_dim_attr(ft_op op, int k, ft_tensor *x, int32_t b, const ft_attrs *at, ft_tensor **out,
                                int *pd) {
  int d;
  FT_TRY(need_attrs(at, op == FT_OP_SLICE ? 4 : 2, op));
  if (x->ndim - 1 == 0 && (op == FT_OP_SLICE || op == FT_OP_SELECT))
    return ft_error(FT_ERR_INDEX, "%s() cannot be applied to a 0-dim tensor.", ft_ops[op]->name);
  FT_TRY(ft_wrap_dim(at->i[k], x->ndim - 1, &d));
  ft_attrs a = *at;
  a.i[k] = *pd = phys_dim(d, b);
  return ft_dispatch(op, 1, &x, &a, out);
}

static ft_status batch_slice(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                             ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  int pd;
  obdim[0] = bdim[0];
  return batch_dim_attr(FT_OP_SLICE, 0, in[0], bdim[0], at, out, &pd);
}

/* ---- SELECT ---------------------------------------------------------------- */

static ft_status select_norm(const int64_t *shape, int ndim, const int64_t *a, int *dim, int64_t *index) {
  char b[FT_SHAPE_BUF];
  if (ndim == 0) return ft_error(FT_ERR_INDEX, "select() cannot be applied to a 0-dim tensor.");
  FT_TRY(ft_wrap_dim(a[0], ndim, dim));
  int64_t size = shape[*dim], i = a[1];
  if (i < -size || i >= size)
    return ft_error(FT_ERR_INDEX, "select(): index %lld out of range for tensor of size %s at dimension %d",
                    (long long)i, ft_shape_str(shape, ndim, b, sizeof b), *dim);
  *index = i < 0 ? i + size : i;
  return FT_OK;
}

static ft_status eval_select(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0];
  int d;
  int64_t idx, shape[FT_MAX_DIMS], strides[FT_MAX_DIMS];
  FT_TRY(need_attrs(at, 2, FT_OP_SELECT));
  FT_TRY(select_norm(x->shape, x->ndim, at->i, &d, &idx));
  for (int i = 0, k = 0; i < x->ndim; i++) {
    if (i == d) continue;
    shape[k] = x->shape[i];
    strides[k++] = x->strides[i];
  }
  return ft_tensor_view_of(x, shape, strides, x->ndim - 1, x->offset + idx * x->strides[d], out);
}

static ft_status vjp_select(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  int d;
  int64_t idx;
  FT_TRY(select_norm(FT_IN_SHAPE(c, 0), c->in_ndim[0], c->at->i, &d, &idx));
  ft_tensor *u;
  FT_TRY(ft_unsqueeze(g[0], d, &u));
  ft_status st = ft_slice_scatter_zeros(u, FT_IN_SHAPE(c, 0), c->in_ndim[0], d, idx, 1, &gin[0]);
  ft_release(u);
  return st;
}

static ft_status jvp_select(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                            ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return tangent_same_op(FT_OP_SELECT, t[0], at, &tout[0]);
}

static ft_status batch_select(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                              ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  int pd;
  FT_TRY(batch_dim_attr(FT_OP_SELECT, 0, in[0], bdim[0], at, out, &pd));
  obdim[0] = pd < bdim[0] ? bdim[0] - 1 : bdim[0];
  return FT_OK;
}

/* ---- SLICE_SCATTER --------------------------------------------------------- */

static ft_status eval_slice_scatter(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  ft_tensor *src = in[0], *view = NULL;
  int n = at->ni - 3, d;
  const int64_t *shape = at->i + 3;
  int64_t start = at->i[1], step = at->i[2];
  if (n < 0 || n > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "slice_scatter: bad attributes");
  FT_TRY(ft_wrap_dim(at->i[0], n, &d));
  bool ok = src->ndim == n && start >= 0 && step > 0;
  for (int k = 0; ok && k < n; k++) ok = k == d || src->shape[k] == shape[k];
  if (ok && n > 0 && src->shape[d] > 0) ok = start + (src->shape[d] - 1) * step < shape[d];
  if (!ok)
    return ft_error(FT_ERR_VALUE,
                    "slice_scatter: expected src to have a size equal to the slice of self. src size = %s, self size "
                    "= %s (dim %d, start %lld, step %lld)",
                    ft_shape_str(src->shape, src->ndim, b1, sizeof b1), ft_shape_str(shape, n, b2, sizeof b2), d,
                    (long long)start, (long long)step);
  FT_TRY(ft_zeros(shape, n, src->dtype, out));
  ft_tensor *o = *out;
  int64_t vs[FT_MAX_DIMS];
  memcpy(vs, o->strides, sizeof vs);
  if (n > 0) vs[d] *= step;
  ft_status st = ft_tensor_view_of(o, src->shape, vs, n, src->numel && n ? start * o->strides[d] : 0, &view);
  if (st) { ft_release(o); *out = NULL; return st; }
  copy_into(src, view);
  ft_release(view);
  return FT_OK;
}

static ft_status vjp_slice_scatter(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  int n = c->at->ni - 3, d;
  FT_TRY(ft_wrap_dim(c->at->i[0], n, &d));
  int64_t m = n > 0 ? FT_IN_SHAPE(c, 0)[d] : 1, start = c->at->i[1], step = c->at->i[2];
  if (n == 0) { ft_retain(g[0]); gin[0] = g[0]; return FT_OK; }
  return ft_slice(g[0], d, start, m > 0 ? start + (m - 1) * step + 1 : start, step, &gin[0]);
}

static ft_status jvp_slice_scatter(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                                   ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return tangent_same_op(FT_OP_SLICE_SCATTER, t[0], at, &tout[0]);
}

static ft_status batch_slice_scatter(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                     int64_t bsize, ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  ft_tensor *x = in[0];
  int32_t b = bdim[0];
  int n = at->ni - 3, d;
  if (n < 0 || n + 1 > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "slice_scatter: bad attributes");
  FT_TRY(ft_wrap_dim(at->i[0], n, &d));
  ft_attrs a = {.ni = at->ni + 1};
  a.i[0] = phys_dim(d, b);
  a.i[1] = at->i[1];
  a.i[2] = at->i[2];
  for (int k = 0, m = 0; k <= n; k++) a.i[3 + k] = k == b ? x->shape[b] : at->i[3 + m++];
  obdim[0] = b;
  return ft_dispatch(FT_OP_SLICE_SCATTER, 1, &x, &a, out);
}

/* ---- DIAGONAL -------------------------------------------------------------- */

static ft_status diag_norm(const int64_t *shape, int ndim, const int64_t *a, int *d1, int *d2, int64_t *len) {
  FT_TRY(ft_wrap_dim(a[1], ndim, d1));
  FT_TRY(ft_wrap_dim(a[2], ndim, d2));
  if (*d1 == *d2 || ndim < 2)
    return ft_error(FT_ERR_VALUE, "diagonal dimensions cannot be identical %lld, %lld", (long long)a[1],
                    (long long)a[2]);
  int64_t off = a[0], n1 = shape[*d1], n2 = shape[*d2];
  int64_t l = off >= 0 ? (n1 < n2 - off ? n1 : n2 - off) : (n1 + off < n2 ? n1 + off : n2);
  *len = l > 0 ? l : 0;
  return FT_OK;
}

static ft_status eval_diagonal(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0];
  int d1, d2;
  FT_TRY(need_attrs(at, 3, FT_OP_DIAGONAL));
  int64_t len, shape[FT_MAX_DIMS], strides[FT_MAX_DIMS], off = at->i[0];
  FT_TRY(diag_norm(x->shape, x->ndim, at->i, &d1, &d2, &len));
  int k = 0;
  for (int i = 0; i < x->ndim; i++) {
    if (i == d1 || i == d2) continue;
    shape[k] = x->shape[i];
    strides[k++] = x->strides[i];
  }
  shape[k] = len;
  strides[k++] = x->strides[d1] + x->strides[d2];
  int64_t o = x->offset;
  if (len > 0) o += off >= 0 ? off * x->strides[d2] : -off * x->strides[d1];
  return ft_tensor_view_of(x, shape, strides, k, o, out);
}

static ft_status diag_embed_rc(ft_tensor *x, int64_t offset, int64_t rows, int64_t cols, ft_tensor **out) {
  ft_attrs a = {.ni = 3, .i = {offset, rows, cols}};
  return ft_dispatch(FT_OP_DIAG_EMBED, 1, &x, &a, out);
}

/* The diagonal written into zeros of the input's shape: DIAG_EMBED builds
 * [rest..., n1, n2], and a permute puts n1 and n2 back at dim1 and dim2. */
static ft_status vjp_diagonal(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  const int64_t *shape = FT_IN_SHAPE(c, 0);
  int nd = c->in_ndim[0], d1, d2;
  int64_t len, perm[FT_MAX_DIMS];
  FT_TRY(diag_norm(shape, nd, c->at->i, &d1, &d2, &len));
  ft_tensor *e;
  FT_TRY(diag_embed_rc(g[0], c->at->i[0], shape[d1], shape[d2], &e));
  for (int p = 0, r = 0; p < nd; p++) perm[p] = p == d1 ? nd - 2 : p == d2 ? nd - 1 : r++;
  ft_status st = ft_permute(e, perm, nd, &gin[0]);
  ft_release(e);
  return st;
}

static ft_status jvp_diagonal(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                              ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return tangent_same_op(FT_OP_DIAGONAL, t[0], at, &tout[0]);
}

static ft_status batch_diagonal(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                                ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  int32_t b = bdim[0];
  int d1, d2;
  FT_TRY(need_attrs(at, 3, FT_OP_DIAGONAL));
  FT_TRY(ft_wrap_dim(at->i[1], in[0]->ndim - 1, &d1));
  FT_TRY(ft_wrap_dim(at->i[2], in[0]->ndim - 1, &d2));
  if (d1 == d2)
    return ft_error(FT_ERR_VALUE, "diagonal dimensions cannot be identical %lld, %lld", (long long)at->i[1],
                    (long long)at->i[2]);
  ft_attrs a = {.ni = 3, .i = {at->i[0], phys_dim(d1, b), phys_dim(d2, b)}};
  obdim[0] = b - (a.i[1] < b) - (a.i[2] < b);
  return ft_dispatch(FT_OP_DIAGONAL, 1, in, &a, out);
}

/* ---- DIAG_EMBED ------------------------------------------------------------ */

static ft_status eval_diag_embed(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0], *view = NULL;
  FT_TRY(need_attrs(at, 3, FT_OP_DIAG_EMBED));
  int64_t off = at->i[0], rows = at->i[1], cols = at->i[2];
  if (x->ndim < 1) return ft_error(FT_ERR_VALUE, "diag_embed(): expected a tensor with at least 1 dimension");
  if (x->ndim + 1 > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "diag_embed(): too many dimensions");
  int64_t L = x->shape[x->ndim - 1];
  int64_t l = off >= 0 ? (rows < cols - off ? rows : cols - off) : (rows + off < cols ? rows + off : cols);
  if (rows < 0 || cols < 0 || (l > 0 ? l : 0) != L)
    return ft_error(FT_ERR_VALUE,
                    "diag_embed(): diagonal %lld of a %lldx%lld matrix has %lld elements, but the input's last "
                    "dimension has size %lld",
                    (long long)off, (long long)rows, (long long)cols, (long long)(l > 0 ? l : 0), (long long)L);
  int64_t shape[FT_MAX_DIMS], vs[FT_MAX_DIMS];
  int nd = x->ndim + 1;
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)(x->ndim - 1));
  shape[nd - 2] = rows;
  shape[nd - 1] = cols;
  FT_TRY(ft_zeros(shape, nd, x->dtype, out));
  ft_tensor *o = *out;
  memcpy(vs, o->strides, sizeof(int64_t) * (size_t)(nd - 2));
  vs[nd - 2] = cols + 1;
  int64_t start = L == 0 ? 0 : off >= 0 ? off : -off * cols;
  ft_status st = ft_tensor_view_of(o, x->shape, vs, x->ndim, start, &view);
  if (st) { ft_release(o); *out = NULL; return st; }
  copy_into(x, view);
  ft_release(view);
  return FT_OK;
}

static ft_status vjp_diag_embed(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  return ft_diagonal(g[0], c->at->i[0], -2, -1, &gin[0]);
}

static ft_status jvp_diag_embed(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                                ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return tangent_same_op(FT_OP_DIAG_EMBED, t[0], at, &tout[0]);
}

/* Ops on the trailing `tail` dims: a batch dim before them stays put;
 * otherwise it moves to the front. */
static ft_status batch_trailing(ft_op op, int tail, ft_tensor *x, int32_t b, const ft_attrs *at, ft_tensor **out,
                                int32_t *obdim) {
  FT_TRY(need_attrs(at, op == FT_OP_DIAG_EMBED ? 3 : 1, op));
  if (b < x->ndim - tail) {
    obdim[0] = b;
    return ft_dispatch(op, 1, &x, at, out);
  }
  ft_tensor *m;
  FT_TRY(ft_movedim(x, b, 0, &m));
  ft_status st = ft_dispatch(op, 1, &m, at, out);
  ft_release(m);
  obdim[0] = 0;
  return st;
}

static ft_status batch_diag_embed(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                  int64_t bsize, ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  return batch_trailing(FT_OP_DIAG_EMBED, 1, in[0], bdim[0], at, out, obdim);
}

/* ---- TRIU / TRIL ----------------------------------------------------------- */

static ft_status eval_tri(ft_tensor *const *in, const ft_attrs *at, bool upper, ft_tensor **out) {
  ft_tensor *x = in[0];
  FT_TRY(need_attrs(at, 1, upper ? FT_OP_TRIU : FT_OP_TRIL));
  if (x->ndim < 2)
    return ft_error(FT_ERR_VALUE, "%s: input tensor must have at least 2 dimensions", upper ? "triu" : "tril");
  FT_TRY(ft_tensor_empty(x->shape, x->ndim, x->dtype, out));
  copy_into(x, *out);
  int64_t R = x->shape[x->ndim - 2], C = x->shape[x->ndim - 1], k = at->i[0];
  int64_t nmat = (R > 0 && C > 0) ? x->numel / (R * C) : 0;
  size_t es = ft_dtype_size(x->dtype);
  char *p = ft_data_ptr(*out);
  for (int64_t m = 0; m < nmat; m++) {
    for (int64_t i = 0; i < R; i++, p += (size_t)C * es) {
      /* triu keeps j >= i + k, tril keeps j <= i + k */
      int64_t lo = upper ? 0 : i + k + 1, hi = upper ? i + k : C;
      lo = lo < 0 ? 0 : lo > C ? C : lo;
      hi = hi < 0 ? 0 : hi > C ? C : hi;
      if (hi > lo) memset(p + (size_t)lo * es, 0, (size_t)(hi - lo) * es);
    }
  }
  return FT_OK;
}
static ft_status eval_triu(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  return eval_tri(in, at, true, out);
}
static ft_status eval_tril(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  return eval_tri(in, at, false, out);
}

static ft_status vjp_triu(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  return ft_triu(g[0], c->at->i[0], &gin[0]);
}
static ft_status vjp_tril(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  return ft_tril(g[0], c->at->i[0], &gin[0]);
}
static ft_status jvp_triu(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                          ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return tangent_same_op(FT_OP_TRIU, t[0], at, &tout[0]);
}
static ft_status jvp_tril(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                          ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return tangent_same_op(FT_OP_TRIL, t[0], at, &tout[0]);
}
static ft_status batch_triu(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                            ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  return batch_trailing(FT_OP_TRIU, 2, in[0], bdim[0], at, out, obdim);
}
static ft_status batch_tril(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                            ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  return batch_trailing(FT_OP_TRIL, 2, in[0], bdim[0], at, out, obdim);
}

/* ---- composites ------------------------------------------------------------ */

static ft_status eval_narrow(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  FT_TRY(need_attrs(at, 3, FT_OP_NARROW));
  return ft_narrow(in[0], at->i[0], at->i[1], at->i[2], out);
}
static ft_status eval_diag(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  return ft_diag(in[0], at->ni > 0 ? at->i[0] : 0, out);
}

/* ---- the table entries ---------------------------------------------------- */

#define DIFF FT_F_DIFF
#define VIEWOP (FT_F_DIFF | FT_F_VIEW)
const ft_op_def ft_opdef_SLICE = {"slice", 1, 1, VIEWOP, eval_slice, vjp_slice, jvp_slice, batch_slice};
const ft_op_def ft_opdef_SELECT = {"select", 1, 1, VIEWOP, eval_select, vjp_select, jvp_select, batch_select};
const ft_op_def ft_opdef_DIAGONAL = {"diagonal", 1, 1, VIEWOP, eval_diagonal, vjp_diagonal, jvp_diagonal,
                                     batch_diagonal};
const ft_op_def ft_opdef_SLICE_SCATTER = {"slice_scatter", 1, 1, DIFF, eval_slice_scatter, vjp_slice_scatter,
                                          jvp_slice_scatter, batch_slice_scatter};
const ft_op_def ft_opdef_DIAG_EMBED = {"diag_embed", 1, 1, DIFF, eval_diag_embed, vjp_diag_embed, jvp_diag_embed,
                                       batch_diag_embed};
const ft_op_def ft_opdef_TRIU = {"triu", 1, 1, DIFF, eval_triu, vjp_triu, jvp_triu, batch_triu};
const ft_op_def ft_opdef_TRIL = {"tril", 1, 1, DIFF, eval_tril, vjp_tril, jvp_tril, batch_tril};
const ft_op_def ft_opdef_NARROW = {"narrow", 1, 1, FT_F_COMPOSITE, eval_narrow, NULL, NULL, NULL};
const ft_op_def ft_opdef_DIAG = {"diag", 1, 1, FT_F_COMPOSITE, eval_diag, NULL, NULL, NULL};

/* ---- the C op API ---------------------------------------------------------- */

ft_status ft_slice(ft_tensor *x, int64_t dim, int64_t start, int64_t end, int64_t step, ft_tensor **out) {
  ft_attrs a = {.ni = 4, .i = {dim, start, end, step}};
  return ft_dispatch(FT_OP_SLICE, 1, &x, &a, out);
}

ft_status ft_narrow(ft_tensor *x, int64_t dim, int64_t start, int64_t length, ft_tensor **out) {
  int d;
  if (x->ndim == 0) return ft_error(FT_ERR_INDEX, "narrow() cannot be applied to a 0-dim tensor.");
  if (length < 0) return ft_error(FT_ERR_VALUE, "narrow(): length must be non-negative.");
  FT_TRY(ft_wrap_dim(dim, x->ndim, &d));
  int64_t size = x->shape[d];
  if (start < -size || start > size)
    return ft_error(FT_ERR_INDEX, "start out of range (expected to be in range of [%lld, %lld], but got %lld)",
                    (long long)-size, (long long)size, (long long)start);
  if (start < 0) start += size;
  if (start > size - length)
    return ft_error(FT_ERR_VALUE, "start (%lld) + length (%lld) exceeds dimension size (%lld).", (long long)start,
                    (long long)length, (long long)size);
  return ft_slice(x, d, start, start + length, 1, out);
}

ft_status ft_select(ft_tensor *x, int64_t dim, int64_t index, ft_tensor **out) {
  ft_attrs a = {.ni = 2, .i = {dim, index}};
  return ft_dispatch(FT_OP_SELECT, 1, &x, &a, out);
}

ft_status ft_slice_scatter_zeros(ft_tensor *src, const int64_t *shape, int ndim, int64_t dim, int64_t start,
                                 int64_t step, ft_tensor **out) {
  if (ndim < 0 || ndim > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "slice_scatter: too many dimensions (%d)", ndim);
  ft_attrs a = {.ni = 3 + ndim, .i = {dim, start, step}};
  memcpy(a.i + 3, shape, sizeof(int64_t) * (size_t)ndim);
  return ft_dispatch(FT_OP_SLICE_SCATTER, 1, &src, &a, out);
}

ft_status ft_diagonal(ft_tensor *x, int64_t offset, int64_t d1, int64_t d2, ft_tensor **out) {
  ft_attrs a = {.ni = 3, .i = {offset, d1, d2}};
  return ft_dispatch(FT_OP_DIAGONAL, 1, &x, &a, out);
}

ft_status ft_diag_embed(ft_tensor *x, int64_t offset, ft_tensor **out) {
  if (x->ndim < 1) return ft_error(FT_ERR_VALUE, "diag_embed(): expected a tensor with at least 1 dimension");
  int64_t n = x->shape[x->ndim - 1] + (offset < 0 ? -offset : offset);
  return diag_embed_rc(x, offset, n, n, out);
}

ft_status ft_diag(ft_tensor *x, int64_t offset, ft_tensor **out) {
  if (x->ndim == 1) return ft_diag_embed(x, offset, out);
  if (x->ndim == 2) return ft_diagonal(x, offset, 0, 1, out);
  return ft_error(FT_ERR_VALUE, "diag(): Supports 1D or 2D tensors. Got %dD", x->ndim);
}

ft_status ft_triu(ft_tensor *x, int64_t k, ft_tensor **out) {
  ft_attrs a = {.ni = 1, .i = {k}};
  return ft_dispatch(FT_OP_TRIU, 1, &x, &a, out);
}

ft_status ft_tril(ft_tensor *x, int64_t k, ft_tensor **out) {
  ft_attrs a = {.ni = 1, .i = {k}};
  return ft_dispatch(FT_OP_TRIL, 1, &x, &a, out);
}
