/* Shape ops that only change geometry: RESHAPE, PERMUTE, EXPAND, and the
 * composites built from them (view, squeeze, unsqueeze, flatten, transpose,
 * movedim, repeat). At the base level each is a plain tensor sharing the
 * input's storage (ft_tensor_view_of); only a reshape the strides can't
 * express copies. */
#include "ops.h"

/* Under vmap, logical dim d of a value whose batch dim sits at b is physical
 * dim phys_dim(d, b). */
static int phys_dim(int d, int32_t b) { return d < b ? d : d + 1; }

static int logical_shape(const ft_tensor *x, int32_t b, int64_t *shape) {
  int n = 0;
  for (int k = 0; k < x->ndim; k++)
    if (k != b) shape[n++] = x->shape[k];
  return n;
}

/* Attributes from JavaScript arrive as given: check the count first. */
static ft_status need_attrs(const ft_attrs *at, int n, ft_op op) {
  if (at->ni < n) return ft_error(FT_ERR_VALUE, "%s: expected %d integer attributes, got %d", ft_ops[op]->name, n, at->ni);
  return FT_OK;
}

static ft_status too_many_dims(const char *op, int n) {
  return ft_error(FT_ERR_VALUE, "%s: at most %d dimensions are supported, got %d", op, FT_MAX_DIMS, n);
}

/* ---- RESHAPE --------------------------------------------------------------- */

/* PyTorch's infer_size: resolves one -1 against numel. */
static ft_status infer_shape(const int64_t *req, int n, int64_t numel, int64_t *shape) {
  char b[FT_SHAPE_BUF];
  int infer = -1;
  int64_t prod = 1;
  if (n > FT_MAX_DIMS) return too_many_dims("reshape", n);
  for (int i = 0; i < n; i++) {
    shape[i] = req[i];
    if (req[i] == -1) {
      if (infer >= 0) return ft_error(FT_ERR_VALUE, "only one dimension can be inferred");
      infer = i;
    } else if (req[i] < 0) {
      return ft_error(FT_ERR_VALUE, "invalid shape dimension %lld", (long long)req[i]);
    } else if (req[i] > 0 && prod > INT64_MAX / req[i]) {
      prod = INT64_MAX; /* saturates: can't match any real numel */
    } else {
      prod *= req[i];
    }
  }
  if (numel == prod || (infer >= 0 && prod > 0 && numel % prod == 0)) {
    /* zero elements: the other dims still obey ft_check_shape's limit */
    if (infer < 0) return ft_check_shape(shape, n, "reshape");
    if (prod == 0)
      return ft_error(FT_ERR_VALUE,
                      "cannot reshape tensor of 0 elements into shape %s because the unspecified dimension size -1 "
                      "can be any value and is ambiguous",
                      ft_shape_str(req, n, b, sizeof b));
    shape[infer] = numel / prod;
    return ft_check_shape(shape, n, "reshape");
  }
  return ft_error(FT_ERR_VALUE, "shape '%s' is invalid for input of size %lld", ft_shape_str(req, n, b, sizeof b),
                  (long long)numel);
}

/* PyTorch's computeStride: strides that view `x` as `shape` without a copy,
 * or false when a dimension of the new shape spans two non-contiguous chunks
 * of the old one. numel(shape) == numel(x) already holds. */
static bool compute_stride(const int64_t *oshape, const int64_t *ostride, int on, const int64_t *shape, int n,
                           int64_t *stride) {
  if (on == 0) {
    for (int i = 0; i < n; i++) stride[i] = 1;
    return true;
  }
  int64_t numel = ft_shape_numel(oshape, on);
  if (numel == 0) {
    bool same = on == n;
    for (int i = 0; same && i < n; i++) same = oshape[i] == shape[i];
    if (same) { memcpy(stride, ostride, sizeof(int64_t) * (size_t)n); return true; }
    for (int i = n - 1; i >= 0; i--) stride[i] = i == n - 1 ? 1 : (shape[i + 1] > 1 ? shape[i + 1] : 1) * stride[i + 1];
    return true;
  }
  int view_d = n - 1;
  int64_t chunk_base = ostride[on - 1], tensor_numel = 1, view_numel = 1;
  for (int d = on - 1; d >= 0; d--) {
    tensor_numel *= oshape[d];
    if (d == 0 || (oshape[d - 1] != 1 && ostride[d - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        stride[view_d] = view_numel * chunk_base;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base = ostride[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

static ft_status eval_reshape(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0], *c;
  int64_t shape[FT_MAX_DIMS], strides[FT_MAX_DIMS];
  int n = at->ni;
  FT_TRY(infer_shape(at->i, n, x->numel, shape));
  if (compute_stride(x->shape, x->strides, x->ndim, shape, n, strides))
    return ft_tensor_view_of(x, shape, strides, n, x->offset, out);
  FT_TRY(ft_plain_contiguous(x, &c));
  ft_contiguous_strides(shape, n, strides);
  ft_status st = ft_tensor_view_of(c, shape, strides, n, c->offset, out);
  ft_release(c);
  return st;
}

static ft_status vjp_reshape(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  return ft_reshape(g[0], FT_IN_SHAPE(c, 0), c->in_ndim[0], &gin[0]);
}

static ft_status jvp_reshape(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                             ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)at;
  return ft_reshape(t[0], out[0]->shape, out[0]->ndim, &tout[0]);
}

static ft_status batch_reshape(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                               ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  ft_tensor *x = in[0], *m;
  int64_t ls[FT_MAX_DIMS];
  int ln = logical_shape(x, bdim[0], ls);
  ft_attrs a = {.ni = at->ni + 1};
  if (a.ni > FT_MAX_DIMS) return too_many_dims("reshape", a.ni);
  a.i[0] = x->shape[bdim[0]];
  /* -1 is resolved against the logical size, so errors read as PyTorch's */
  FT_TRY(infer_shape(at->i, at->ni, ft_shape_numel(ls, ln), a.i + 1));
  FT_TRY(ft_movedim(x, bdim[0], 0, &m));
  ft_status st = ft_dispatch(FT_OP_RESHAPE, 1, &m, &a, out);
  ft_release(m);
  obdim[0] = 0;
  return st;
}

/* ---- PERMUTE --------------------------------------------------------------- */

static ft_status check_perm(const int64_t *req, int n, int ndim, int *perm) {
  if (n != ndim)
    return ft_error(FT_ERR_VALUE,
                    "permute(): number of dimensions in the tensor input does not match the length of the desired "
                    "ordering of dimensions i.e. input.dim() = %d is not equal to len(dims) = %d",
                    ndim, n);
  bool seen[FT_MAX_DIMS] = {0};
  for (int i = 0; i < n; i++) {
    FT_TRY(ft_wrap_dim(req[i], ndim, &perm[i]));
    if (seen[perm[i]]) return ft_error(FT_ERR_VALUE, "permute(): duplicate dims are not allowed.");
    seen[perm[i]] = true;
  }
  return FT_OK;
}

static ft_status eval_permute(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0];
  int perm[FT_MAX_DIMS];
  int64_t shape[FT_MAX_DIMS], strides[FT_MAX_DIMS];
  FT_TRY(check_perm(at->i, at->ni, x->ndim, perm));
  for (int i = 0; i < x->ndim; i++) {
    shape[i] = x->shape[perm[i]];
    strides[i] = x->strides[perm[i]];
  }
  return ft_tensor_view_of(x, shape, strides, x->ndim, x->offset, out);
}

static ft_status vjp_permute(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  int n = c->in_ndim[0], perm[FT_MAX_DIMS];
  int64_t inv[FT_MAX_DIMS];
  FT_TRY(check_perm(c->at->i, c->at->ni, n, perm));
  for (int i = 0; i < n; i++) inv[perm[i]] = i;
  return ft_permute(g[0], inv, n, &gin[0]);
}

static ft_status jvp_permute(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                             ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  return ft_permute(t[0], at->i, at->ni, &tout[0]);
}

static ft_status batch_permute(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                               ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)bsize;
  int32_t b = bdim[0];
  int perm[FT_MAX_DIMS];
  FT_TRY(check_perm(at->i, at->ni, in[0]->ndim - 1, perm));
  ft_attrs a = {.ni = at->ni + 1};
  a.i[0] = b; /* the batch dim goes first, in the same single permute */
  for (int k = 0; k < at->ni; k++) a.i[k + 1] = phys_dim(perm[k], b);
  obdim[0] = 0;
  return ft_dispatch(FT_OP_PERMUTE, 1, in, &a, out);
}

/* ---- EXPAND ---------------------------------------------------------------- */

static const char *legacy_type_name(ft_dtype dt) {
  switch (dt) {
    case FT_F32: return "torch.FloatTensor";
    case FT_F64: return "torch.DoubleTensor";
    case FT_I32: return "torch.IntTensor";
    default: return "torch.BoolTensor";
  }
}

/* PyTorch's inferExpandGeometry, for shapes: resolves -1 and checks. */
static ft_status expand_shape(const int64_t *xs, int xn, ft_dtype dt, const int64_t *req, int n, int64_t *shape) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  if (n > FT_MAX_DIMS) return too_many_dims("expand", n);
  if (n < xn)
    return ft_error(FT_ERR_VALUE,
                    "expand(%s{%s}, size=%s): the number of sizes provided (%d) must be greater or equal to the number "
                    "of dimensions in the tensor (%d)",
                    legacy_type_name(dt), ft_shape_str(xs, xn, b1, sizeof b1), ft_shape_str(req, n, b2, sizeof b2), n,
                    xn);
  for (int i = n - 1; i >= 0; i--) {
    int k = i - (n - xn);
    int64_t want = req[i];
    if (k < 0) {
      if (want < 0)
        return ft_error(FT_ERR_VALUE,
                        "The expanded size of the tensor (%lld) isn't allowed in a leading, non-existing dimension %d",
                        (long long)want, i);
      shape[i] = want;
      continue;
    }
    if (want == -1) want = xs[k];
    if (xs[k] != want && (xs[k] != 1 || want < 0))
      return ft_error(FT_ERR_VALUE,
                      "The expanded size of the tensor (%lld) must match the existing size (%lld) at non-singleton "
                      "dimension %d.  Target sizes: %s.  Tensor sizes: %s",
                      (long long)req[i], (long long)xs[k], i, ft_shape_str(req, n, b1, sizeof b1),
                      ft_shape_str(xs, xn, b2, sizeof b2));
    shape[i] = want;
  }
  return ft_check_shape(shape, n, "expand");
}

static ft_status eval_expand(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0];
  int n = at->ni;
  int64_t shape[FT_MAX_DIMS], strides[FT_MAX_DIMS];
  FT_TRY(expand_shape(x->shape, x->ndim, x->dtype, at->i, n, shape));
  for (int i = 0; i < n; i++) {
    int k = i - (n - x->ndim);
    strides[i] = (k < 0 || x->shape[k] != shape[i]) ? 0 : x->strides[k];
  }
  return ft_tensor_view_of(x, shape, strides, n, x->offset, out);
}

static ft_status vjp_expand(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  return ft_sum_to_shape(g[0], FT_IN_SHAPE(c, 0), c->in_ndim[0], c->in_dtype[0], &gin[0]);
}

static ft_status jvp_expand(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                            ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)nin; (void)at;
  return ft_expand(t[0], out[0]->shape, out[0]->ndim, &tout[0]);
}

static ft_status batch_expand(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                              ft_tensor **out, int32_t *obdim) {
  (void)nin;
  ft_tensor *x = in[0], *m;
  int64_t ls[FT_MAX_DIMS];
  int ln = logical_shape(x, bdim[0], ls);
  ft_attrs a = {.ni = at->ni + 1};
  if (a.ni > FT_MAX_DIMS) return too_many_dims("expand", a.ni);
  FT_TRY(expand_shape(ls, ln, x->dtype, at->i, at->ni, a.i + 1));
  a.i[0] = x->shape[bdim[0]];
  /* [B, 1.., logical dims]: new leading dims go after the batch dim */
  FT_TRY(ft_move_bdim_front(x, bdim[0], bsize, at->ni, &m));
  ft_status st = ft_dispatch(FT_OP_EXPAND, 1, &m, &a, out);
  ft_release(m);
  obdim[0] = 0;
  return st;
}

/* ---- the table entries ---------------------------------------------------- */

#define VIEWOP (FT_F_DIFF | FT_F_VIEW)
const ft_op_def ft_opdef_RESHAPE = {"reshape", 1, 1, VIEWOP, eval_reshape, vjp_reshape, jvp_reshape, batch_reshape};
const ft_op_def ft_opdef_PERMUTE = {"permute", 1, 1, VIEWOP, eval_permute, vjp_permute, jvp_permute, batch_permute};
const ft_op_def ft_opdef_EXPAND = {"expand", 1, 1, VIEWOP, eval_expand, vjp_expand, jvp_expand, batch_expand};

/* ---- the C op API ---------------------------------------------------------- */

static bool same_shape(const ft_tensor *x, const int64_t *shape, int n) {
  if (x->ndim != n) return false;
  for (int i = 0; i < n; i++)
    if (x->shape[i] != shape[i]) return false;
  return true;
}

static ft_status pack_shape(const char *op, const int64_t *shape, int n, ft_attrs *a) {
  if (n < 0 || n > FT_MAX_DIMS) return too_many_dims(op, n);
  a->ni = n;
  a->nf = 0;
  if (n) memcpy(a->i, shape, sizeof(int64_t) * (size_t)n);
  return FT_OK;
}

ft_status ft_reshape(ft_tensor *x, const int64_t *shape, int ndim, ft_tensor **out) {
  ft_attrs a;
  FT_TRY(pack_shape("reshape", shape, ndim, &a));
  FT_TRY(infer_shape(shape, ndim, x->numel, a.i));
  if (same_shape(x, a.i, ndim)) { ft_retain(x); *out = x; return FT_OK; }
  return ft_dispatch(FT_OP_RESHAPE, 1, &x, &a, out);
}

ft_status ft_view(ft_tensor *x, const int64_t *shape, int ndim, ft_tensor **out) {
  ft_attrs a;
  FT_TRY(pack_shape("view", shape, ndim, &a));
  FT_TRY(infer_shape(shape, ndim, x->numel, a.i));
  /* The layout is known where no vmap level reshaped the value: every
   * wrapper then has its base value's shape. */
  ft_tensor *b = ft_base_value(x);
  int64_t strides[FT_MAX_DIMS];
  if (same_shape(b, x->shape, x->ndim) && !compute_stride(b->shape, b->strides, b->ndim, a.i, ndim, strides))
    return ft_error(FT_ERR_VALUE,
                    "view size is not compatible with input tensor's size and stride (at least one dimension spans "
                    "across two contiguous subspaces). Use .reshape(...) instead.");
  return ft_dispatch(FT_OP_RESHAPE, 1, &x, &a, out);
}

ft_status ft_permute(ft_tensor *x, const int64_t *perm, int ndim, ft_tensor **out) {
  ft_attrs a;
  int p[FT_MAX_DIMS];
  FT_TRY(pack_shape("permute", perm, ndim, &a));
  FT_TRY(check_perm(perm, ndim, x->ndim, p));
  bool id = true;
  for (int i = 0; i < ndim; i++) id &= p[i] == i;
  if (id) { ft_retain(x); *out = x; return FT_OK; }
  return ft_dispatch(FT_OP_PERMUTE, 1, &x, &a, out);
}

ft_status ft_transpose(ft_tensor *x, int64_t d0, int64_t d1, ft_tensor **out) {
  int a, b;
  FT_TRY(ft_wrap_dim(d0, x->ndim, &a));
  FT_TRY(ft_wrap_dim(d1, x->ndim, &b));
  if (a == b || x->ndim < 2) { ft_retain(x); *out = x; return FT_OK; }
  int64_t perm[FT_MAX_DIMS];
  for (int i = 0; i < x->ndim; i++) perm[i] = i;
  perm[a] = b;
  perm[b] = a;
  return ft_permute(x, perm, x->ndim, out);
}

/* PyTorch's movedim: the moved dims land at their destinations, the others
 * keep their order in the remaining slots. */
ft_status ft_movedims(ft_tensor *x, const int64_t *src, const int64_t *dst, int n, ft_tensor **out) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  int nd = x->ndim;
  if (n < 0 || n > FT_MAX_DIMS) return too_many_dims("movedim", n);
  int s[FT_MAX_DIMS], d[FT_MAX_DIMS];
  bool sused[FT_MAX_DIMS] = {0}, dused[FT_MAX_DIMS] = {0};
  int64_t perm[FT_MAX_DIMS];
  for (int i = 0; i < n; i++) {
    FT_TRY(ft_wrap_dim(src[i], nd, &s[i]));
    FT_TRY(ft_wrap_dim(dst[i], nd, &d[i]));
    if (sused[s[i]])
      return ft_error(FT_ERR_VALUE, "movedim: repeated dim in `source` (%s)", ft_shape_str(src, n, b1, sizeof b1));
    if (dused[d[i]])
      return ft_error(FT_ERR_VALUE, "movedim: repeated dim in `destination` (%s)", ft_shape_str(dst, n, b2, sizeof b2));
    sused[s[i]] = dused[d[i]] = true;
  }
  if (nd == 0) { ft_retain(x); *out = x; return FT_OK; }
  for (int i = 0; i < nd; i++) perm[i] = -1;
  for (int i = 0; i < n; i++) perm[d[i]] = s[i];
  for (int i = 0, r = 0; i < nd; i++) {
    if (perm[i] >= 0) continue;
    while (sused[r]) r++;
    perm[i] = r++;
  }
  return ft_permute(x, perm, nd, out);
}

ft_status ft_movedim(ft_tensor *x, int64_t src, int64_t dst, ft_tensor **out) {
  return ft_movedims(x, &src, &dst, 1, out);
}

ft_status ft_expand(ft_tensor *x, const int64_t *shape, int ndim, ft_tensor **out) {
  ft_attrs a;
  FT_TRY(pack_shape("expand", shape, ndim, &a));
  FT_TRY(expand_shape(x->shape, x->ndim, x->dtype, shape, ndim, a.i));
  if (same_shape(x, a.i, ndim)) { ft_retain(x); *out = x; return FT_OK; }
  return ft_dispatch(FT_OP_EXPAND, 1, &x, &a, out);
}

ft_status ft_squeeze(ft_tensor *x, const int64_t *dims, int ndims, ft_tensor **out) {
  bool drop[FT_MAX_DIMS] = {0};
  if (ndims < 0 || ndims > FT_MAX_DIMS) return too_many_dims("squeeze", ndims);
  for (int i = 0; i < ndims; i++) {
    int d;
    FT_TRY(ft_wrap_dim(dims[i], x->ndim, &d));
    if (x->ndim > 0) drop[d] = x->shape[d] == 1; /* PyTorch keeps dims that aren't 1 */
  }
  int64_t shape[FT_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < x->ndim; i++)
    if (!(ndims ? drop[i] : x->shape[i] == 1)) shape[n++] = x->shape[i];
  return ft_reshape(x, shape, n, out);
}

ft_status ft_unsqueeze(ft_tensor *x, int64_t dim, ft_tensor **out) {
  int d;
  FT_TRY(ft_wrap_dim(dim, x->ndim + 1, &d));
  if (x->ndim + 1 > FT_MAX_DIMS) return too_many_dims("unsqueeze", x->ndim + 1);
  int64_t shape[FT_MAX_DIMS];
  for (int i = 0, k = 0; i <= x->ndim; i++) shape[i] = i == d ? 1 : x->shape[k++];
  return ft_reshape(x, shape, x->ndim + 1, out);
}

ft_status ft_flatten(ft_tensor *x, int64_t start, int64_t end, ft_tensor **out) {
  int s, e;
  FT_TRY(ft_wrap_dim(start, x->ndim, &s));
  FT_TRY(ft_wrap_dim(end, x->ndim, &e));
  if (s > e) return ft_error(FT_ERR_VALUE, "flatten() has invalid args: start_dim cannot come after end_dim");
  int64_t shape[FT_MAX_DIMS];
  if (x->ndim == 0) { shape[0] = 1; return ft_reshape(x, shape, 1, out); }
  int n = 0;
  for (int i = 0; i < s; i++) shape[n++] = x->shape[i];
  shape[n++] = ft_shape_numel(x->shape + s, e - s + 1);
  for (int i = e + 1; i < x->ndim; i++) shape[n++] = x->shape[i];
  return ft_reshape(x, shape, n, out);
}

/* x.repeat(r): x viewed as [1, s0, 1, s1, ...], expanded to [r0, s0, r1, s1,
 * ...] and reshaped to [r0*s0, r1*s1, ...]; the reshape makes the copy. */
ft_status ft_repeat(ft_tensor *x, const int64_t *reps, int nreps, ft_tensor **out) {
  char b[FT_SHAPE_BUF];
  if (nreps < x->ndim)
    return ft_error(FT_ERR_VALUE,
                    "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  if (2 * nreps > FT_MAX_DIMS) return too_many_dims("repeat", 2 * nreps);
  int64_t s1[FT_MAX_DIMS], s2[FT_MAX_DIMS], s3[FT_MAX_DIMS];
  for (int i = 0; i < nreps; i++) {
    if (reps[i] < 0)
      return ft_error(FT_ERR_VALUE, "Trying to create tensor with negative dimension %lld: %s", (long long)reps[i],
                      ft_shape_str(reps, nreps, b, sizeof b));
    int k = i - (nreps - x->ndim);
    int64_t s = k < 0 ? 1 : x->shape[k];
    s1[2 * i] = 1; s1[2 * i + 1] = s;
    s2[2 * i] = reps[i]; s2[2 * i + 1] = s;
    s3[i] = reps[i] * s;
  }
  FT_TRY(ft_check_shape(s3, nreps, "repeat"));
  ft_tensor *v = NULL, *e = NULL;
  ft_status st;
  FT_CHECK(ft_reshape(x, s1, 2 * nreps, &v));
  FT_CHECK(ft_expand(v, s2, 2 * nreps, &e));
  FT_CHECK(ft_reshape(e, s3, nreps, out));
fail:
  ft_release(v);
  ft_release(e);
  return st;
}

/* ---- composite table entries: JavaScript's entry points ------------------- */

static ft_status eval_view(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  return ft_view(in[0], at->i, at->ni, out);
}
static ft_status eval_squeeze(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  return ft_squeeze(in[0], at->i, at->ni, out);
}
static ft_status eval_unsqueeze(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  FT_TRY(need_attrs(at, 1, FT_OP_UNSQUEEZE));
  return ft_unsqueeze(in[0], at->i[0], out);
}
static ft_status eval_flatten(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  return ft_flatten(in[0], at->ni > 0 ? at->i[0] : 0, at->ni > 1 ? at->i[1] : -1, out);
}
static ft_status eval_transpose(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  FT_TRY(need_attrs(at, 2, FT_OP_TRANSPOSE));
  return ft_transpose(in[0], at->i[0], at->i[1], out);
}
static ft_status eval_movedim(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  int64_t ns = at->ni > 0 ? at->i[0] : -1, nd = at->ni - 1 - ns;
  if (ns < 0 || nd < 0) return ft_error(FT_ERR_VALUE, "movedim: bad attributes");
  if (ns != nd)
    return ft_error(FT_ERR_VALUE,
                    "movedim: Invalid source or destination dims: source (%s dims) should contain the same number of "
                    "dims as destination (%s dims)",
                    ft_shape_str(at->i + 1, (int)ns, b1, sizeof b1), ft_shape_str(at->i + 1 + ns, (int)nd, b2, sizeof b2));
  return ft_movedims(in[0], at->i + 1, at->i + 1 + ns, (int)ns, out);
}
static ft_status eval_repeat(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  return ft_repeat(in[0], at->i, at->ni, out);
}

/* ft_contiguous (ops_creation.c): x itself when already contiguous, else a clone */
static ft_status eval_contiguous(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  return ft_contiguous(in[0], out);
}

#define COMPOSITE(ID, name, fn) const ft_op_def ft_opdef_##ID = {name, 1, 1, FT_F_COMPOSITE, fn, NULL, NULL, NULL}
COMPOSITE(VIEW, "view", eval_view);
COMPOSITE(SQUEEZE, "squeeze", eval_squeeze);
COMPOSITE(UNSQUEEZE, "unsqueeze", eval_unsqueeze);
COMPOSITE(FLATTEN, "flatten", eval_flatten);
COMPOSITE(TRANSPOSE, "transpose", eval_transpose);
COMPOSITE(MOVEDIM, "movedim", eval_movedim);
COMPOSITE(REPEAT, "repeat", eval_repeat);
COMPOSITE(CONTIGUOUS, "contiguous", eval_contiguous);
