/* Normalisation composites: BATCH_NORM, LAYER_NORM, GROUP_NORM. Written in
 * dispatched ops (mean, biased var, rsqrt, affine), so gradients of every
 * order, jvp and vmap come from the primitives' rules. Batch norm's running
 * statistics are updated in place through ft_assign_ from detached values,
 * which is PyTorch's no-grad update. Attribute layouts are in nn.def. */
#include "ops_nn.h"

/* (x - mean) * rsqrt(var + eps) over the dims in `dims`; optionally returns
 * the (kept-dim) mean and biased variance. */
static ft_status normalize(ft_tensor *x, const int64_t *dims, int nd, double eps, ft_tensor **out, ft_tensor **mean_out,
                           ft_tensor **var_out) {
  ft_nn_tmps tp = {0};
  ft_tensor *mean, *var, *ve, *r, *xc;
  ft_status st;
  NN_TMP(&tp, mean, ft_mean(x, dims, nd, true, &mean));
  NN_TMP(&tp, var, ft_var(x, dims, nd, 0.0, true, &var));
  NN_TMP(&tp, ve, ft_add_scalar(var, eps, &ve));
  NN_TMP(&tp, r, ft_rsqrt(ve, &r));
  NN_TMP(&tp, xc, ft_sub(x, mean, &xc));
  FT_CHECK(ft_mul(xc, r, out));
  if (mean_out) { ft_retain(mean); *mean_out = mean; }
  if (var_out) { ft_retain(var); *var_out = var; }
fail:
  ft_nn_tmps_free(&tp);
  return st;
}

/* y * w + b with w, b reshaped to `shape` (either may be NULL). */
static ft_status affine(ft_tensor *y, ft_tensor *w, ft_tensor *b, const int64_t *shape, int nd, ft_tensor **out) {
  ft_nn_tmps tp = {0};
  ft_tensor *wv, *bv, *t = y, *tw, *tb;
  ft_status st = FT_OK;
  if (w) {
    NN_TMP(&tp, wv, ft_reshape(w, shape, nd, &wv));
    NN_TMP(&tp, tw, ft_mul(t, wv, &tw));
    t = tw;
  }
  if (b) {
    NN_TMP(&tp, bv, ft_reshape(b, shape, nd, &bv));
    NN_TMP(&tp, tb, ft_add(t, bv, &tb));
    t = tb;
  }
  ft_retain(t);
  *out = t;
fail:
  ft_nn_tmps_free(&tp);
  return st;
}

/* The optional inputs after x, in order, as flagged by the attributes. */
static ft_status optional_inputs(ft_tensor *const *in, int nin, const bool *has, int nhas, ft_tensor **opt,
                                 const char *name) {
  int k = 1;
  for (int j = 0; j < nhas; j++) {
    opt[j] = NULL;
    if (!has[j]) continue;
    if (k >= nin) return ft_error(FT_ERR_VALUE, "%s: expected more tensor inputs (got %d)", name, nin);
    opt[j] = in[k++];
  }
  if (k != nin) return ft_error(FT_ERR_VALUE, "%s: expected %d tensor inputs, got %d", name, k, nin);
  return FT_OK;
}

static ft_status check_vec(const ft_tensor *t, int64_t n, const char *what) {
  if (t && t->numel != n)
    return ft_error(FT_ERR_VALUE, "%s should contain %lld elements not %lld", what, (long long)n, (long long)t->numel);
  return FT_OK;
}

/* ---- BATCH_NORM ------------------------------------------------------------- */

/* PyTorch refuses to update unbatched running stats from a vmapped input. */
static ft_status check_vmap_running(ft_tensor *x, ft_tensor *rm, ft_tensor *rv) {
  for (ft_tensor *w = x; w->level > 0; w = w->inner) {
    ft_level *lv = ft_level_get(w->level);
    if (!lv || lv->kind != FT_LV_VMAP) continue;
    if (ft_peel(rm, w->level)->level != w->level || ft_peel(rv, w->level)->level != w->level)
      return ft_error(FT_ERR_RUNTIME,
                      "Batch norm got a batched tensor as input while the running_mean or running_var, which will be "
                      "updated in place, were not batched.\nIf you are using a module and do not need eval mode, "
                      "please set `track_running_stats` to be False.If you are using a prebuilt module and do not need "
                      "eval mode, please see the functorch website for resources on how to patch your module to work "
                      "with vmap");
  }
  return FT_OK;
}

/* r <- (1 - m) * r + m * v, from detached values (no history). */
static ft_status running_update(ft_tensor *r, ft_tensor *v, double m) {
  ft_nn_tmps tp = {0};
  ft_tensor *rd, *vd, *vr, *a, *b, *s;
  ft_status st;
  NN_TMP(&tp, rd, ft_detach(r, &rd));
  NN_TMP(&tp, vd, ft_detach(v, &vd));
  NN_TMP(&tp, vr, ft_reshape(vd, r->shape, r->ndim, &vr));
  NN_TMP(&tp, a, ft_mul_scalar(rd, 1.0 - m, &a));
  NN_TMP(&tp, b, ft_mul_scalar(vr, m, &b));
  NN_TMP(&tp, s, ft_add(a, b, &s));
  st = ft_assign_(r, s);
fail:
  ft_nn_tmps_free(&tp);
  return st;
}

static ft_status eval_batch_norm(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  char b1[FT_SHAPE_BUF];
  if (at->ni < 4 || at->nf < 2) return ft_error(FT_ERR_VALUE, "batch_norm: expected 4 integer and 2 float attributes");
  ft_tensor *x = in[0], *opt[4];
  bool has[4] = {at->i[1] != 0, at->i[2] != 0, at->i[3] != 0, at->i[3] != 0};
  FT_TRY(optional_inputs(in, nin, has, 4, opt, "batch_norm"));
  ft_tensor *w = opt[0], *b = opt[1], *rm = opt[2], *rv = opt[3];
  bool training = at->i[0] != 0;
  double momentum = at->f[0], eps = at->f[1];
  if (!ft_is_float(x->dtype))
    return ft_error(FT_ERR_TYPE, "batch_norm: expected a floating point input, got %s", ft_dtype_name(x->dtype));
  int64_t C = x->ndim >= 2 ? x->shape[1] : 0;
  FT_TRY(check_vec(rm, C, "running_mean"));
  FT_TRY(check_vec(rv, C, "running_var"));
  FT_TRY(check_vec(w, C, "weight"));
  FT_TRY(check_vec(b, C, "bias"));
  if (x->ndim < 2)
    return ft_error(FT_ERR_VALUE, "batch_norm: expected an input with at least 2 dimensions, got input of size %s",
                    NN_SHAPE(x, b1));
  int64_t count = C ? x->numel / C : 0;
  if (training && count == 1)
    return ft_error(FT_ERR_VALUE, "Expected more than 1 value per channel when training, got input size torch.Size(%s)",
                    NN_SHAPE(x, b1));
  int64_t dims[FT_MAX_DIMS], vshape[FT_MAX_DIMS];
  int nd = 0;
  for (int k = 0; k < x->ndim; k++) {
    vshape[k] = k == 1 ? C : 1;
    if (k != 1) dims[nd++] = k;
  }
  bool batch_stats = training || !rm;
  ft_nn_tmps tp = {0};
  ft_tensor *y, *mean, *var, *unb, *mv, *vv, *ve, *r, *xc;
  ft_status st;
  if (batch_stats) {
    if (training && rm) FT_TRY(check_vmap_running(x, rm, rv));
    mean = var = NULL;
    st = normalize(x, dims, nd, eps, &y, training && rm ? &mean : NULL, training && rm ? &var : NULL);
    if (mean) tp.t[tp.n++] = mean;
    if (var) tp.t[tp.n++] = var;
    if (st) goto fail;
    tp.t[tp.n++] = y;
    if (training && rm) {
      FT_CHECK(running_update(rm, mean, momentum));
      NN_TMP(&tp, unb, ft_mul_scalar(var, (double)count / (double)(count - 1), &unb));
      FT_CHECK(running_update(rv, unb, momentum));
    }
  } else {
    NN_TMP(&tp, mv, ft_reshape(rm, vshape, x->ndim, &mv));
    NN_TMP(&tp, vv, ft_reshape(rv, vshape, x->ndim, &vv));
    NN_TMP(&tp, ve, ft_add_scalar(vv, eps, &ve));
    NN_TMP(&tp, r, ft_rsqrt(ve, &r));
    NN_TMP(&tp, xc, ft_sub(x, mv, &xc));
    NN_TMP(&tp, y, ft_mul(xc, r, &y));
  }
  st = affine(y, w, b, vshape, x->ndim, out);
fail:
  ft_nn_tmps_free(&tp);
  return st;
}

/* ---- LAYER_NORM ------------------------------------------------------------- */

static ft_status eval_layer_norm(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  if (at->ni < 3 || at->nf < 1) return ft_error(FT_ERR_VALUE, "layer_norm: expected 3 integer and 1 float attributes");
  int k = (int)at->i[0];
  if (k < 0 || k > at->ni - 3) return /* not 3 + k: k may be INT32_MAX */ ft_error(FT_ERR_VALUE, "layer_norm: bad normalized_shape");
  const int64_t *ns = at->i + 3;
  ft_tensor *x = in[0], *opt[2];
  bool has[2] = {at->i[1] != 0, at->i[2] != 0};
  FT_TRY(optional_inputs(in, nin, has, 2, opt, "layer_norm"));
  if (!ft_is_float(x->dtype))
    return ft_error(FT_ERR_TYPE, "layer_norm: expected a floating point input, got %s", ft_dtype_name(x->dtype));
  bool ok = x->ndim >= k;
  for (int j = 0; ok && j < k; j++) ok = x->shape[x->ndim - k + j] == ns[j];
  if (!ok) {
    char nb[FT_SHAPE_BUF];
    ft_shape_str(ns, k, nb, sizeof nb);
    /* PyTorch prints the expected shape as [*, a, b] */
    return ft_error(FT_ERR_VALUE, "Given normalized_shape=%s, expected input with shape [*, %.*s], but got input of size%s",
                    nb, (int)strlen(nb) - 2, nb + 1, NN_SHAPE(x, b1));
  }
  const char *what[2] = {"weight", "bias"};
  for (int j = 0; j < 2; j++) {
    ft_tensor *t = opt[j];
    if (!t) continue;
    bool same = t->ndim == k;
    for (int q = 0; same && q < k; q++) same = t->shape[q] == ns[q];
    if (!same)
      return ft_error(FT_ERR_VALUE,
                      "Expected %s to be of same shape as normalized_shape, but got %s of shape %s and "
                      "normalized_shape = %s",
                      what[j], what[j], NN_SHAPE(t, b1), ft_shape_str(ns, k, b2, sizeof b2));
  }
  int64_t dims[FT_MAX_DIMS];
  for (int j = 0; j < k; j++) dims[j] = x->ndim - k + j;
  ft_nn_tmps tp = {0};
  ft_tensor *y;
  ft_status st;
  if (k == 0) { /* normalising over nothing: every element is its own mean */
    NN_TMP(&tp, y, ft_mul_scalar(x, 0.0, &y));
  } else {
    NN_TMP(&tp, y, normalize(x, dims, k, at->f[0], &y, NULL, NULL));
  }
  st = affine(y, opt[0], opt[1], ns, k, out);
fail:
  ft_nn_tmps_free(&tp);
  return st;
}

/* ---- GROUP_NORM ------------------------------------------------------------- */

static ft_status eval_group_norm(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  if (at->ni < 3 || at->nf < 1) return ft_error(FT_ERR_VALUE, "group_norm: expected 3 integer and 1 float attributes");
  ft_tensor *x = in[0], *opt[2];
  bool has[2] = {at->i[1] != 0, at->i[2] != 0};
  FT_TRY(optional_inputs(in, nin, has, 2, opt, "group_norm"));
  int64_t G = at->i[0];
  if (x->ndim < 2)
    return ft_error(FT_ERR_VALUE, "Expected at least 2 dimensions for input tensor but received %d", x->ndim);
  if (!ft_is_float(x->dtype))
    return ft_error(FT_ERR_TYPE, "group_norm: expected a floating point input, got %s", ft_dtype_name(x->dtype));
  int64_t N = x->shape[0], C = x->shape[1];
  if (G <= 0 || C % G != 0)
    return ft_error(FT_ERR_VALUE,
                    "Expected number of channels in input to be divisible by num_groups, but got input of shape %s and "
                    "num_groups=%lld",
                    NN_SHAPE(x, b1), (long long)G);
  const char *what[2] = {"weight", "bias"};
  for (int j = 0; j < 2; j++)
    if (opt[j] && (opt[j]->ndim != 1 || opt[j]->numel != C))
      return ft_error(FT_ERR_VALUE,
                      "Expected %s to be a vector of size equal to the number of channels in input, but got %s of "
                      "shape %s and input of shape %s",
                      what[j], what[j], NN_SHAPE(opt[j], b1), NN_SHAPE(x, b2));
  int64_t vshape[FT_MAX_DIMS];
  for (int k = 0; k < x->ndim - 1; k++) vshape[k] = k == 0 ? C : 1;
  ft_nn_tmps tp = {0};
  ft_tensor *xr, *yr, *y;
  ft_status st;
  int64_t gs[3] = {N, G, -1};
  if (N * C == 0) { gs[2] = 0; }
  NN_TMP(&tp, xr, ft_reshape(x, gs, 3, &xr));
  NN_TMP(&tp, yr, normalize(xr, (int64_t[]){2}, 1, at->f[0], &yr, NULL, NULL));
  NN_TMP(&tp, y, ft_reshape(yr, x->shape, x->ndim, &y));
  st = affine(y, opt[0], opt[1], vshape, x->ndim - 1, out);
fail:
  ft_nn_tmps_free(&tp);
  return st;
}

/* ---- the table entries ---------------------------------------------------- */

#define NORM_FLAGS (FT_F_COMPOSITE | FT_F_VARIADIC)
const ft_op_def ft_opdef_BATCH_NORM = {"batch_norm", 5, 1, NORM_FLAGS, eval_batch_norm, NULL, NULL, NULL};
const ft_op_def ft_opdef_LAYER_NORM = {"layer_norm", 3, 1, NORM_FLAGS, eval_layer_norm, NULL, NULL, NULL};
const ft_op_def ft_opdef_GROUP_NORM = {"group_norm", 3, 1, NORM_FLAGS, eval_group_norm, NULL, NULL, NULL};

/* ---- the C op API ---------------------------------------------------------- */

ft_status ft_batch_norm(ft_tensor *x, ft_tensor *rm, ft_tensor *rv, ft_tensor *w, ft_tensor *b, bool training,
                        double momentum, double eps, ft_tensor **out) {
  if (!rm != !rv) return ft_error(FT_ERR_VALUE, "batch_norm: running_mean and running_var must both be given or both be none");
  ft_attrs at = {.ni = 4, .nf = 2, .i = {training, w != NULL, b != NULL, rm != NULL}, .f = {momentum, eps}};
  ft_tensor *in[5];
  int n = 0;
  in[n++] = x;
  if (w) in[n++] = w;
  if (b) in[n++] = b;
  if (rm) { in[n++] = rm; in[n++] = rv; }
  return ft_dispatch(FT_OP_BATCH_NORM, n, in, &at, out);
}

ft_status ft_layer_norm(ft_tensor *x, int k, ft_tensor *w, ft_tensor *b, double eps, ft_tensor **out) {
  if (k < 0 || k > x->ndim || k + 3 > FT_MAX_ATTR_I)
    return ft_error(FT_ERR_VALUE, "layer_norm: cannot normalise the last %d dims of a %d-d input", k, x->ndim);
  ft_attrs at = {.ni = 3 + k, .nf = 1, .i = {k, w != NULL, b != NULL}, .f = {eps}};
  for (int j = 0; j < k; j++) at.i[3 + j] = x->shape[x->ndim - k + j];
  ft_tensor *in[3];
  int n = 0;
  in[n++] = x;
  if (w) in[n++] = w;
  if (b) in[n++] = b;
  return ft_dispatch(FT_OP_LAYER_NORM, n, in, &at, out);
}

ft_status ft_group_norm(ft_tensor *x, int64_t groups, ft_tensor *w, ft_tensor *b, double eps, ft_tensor **out) {
  ft_attrs at = {.ni = 3, .nf = 1, .i = {groups, w != NULL, b != NULL}, .f = {eps}};
  ft_tensor *in[3];
  int n = 0;
  in[n++] = x;
  if (w) in[n++] = w;
  if (b) in[n++] = b;
  return ft_dispatch(FT_OP_GROUP_NORM, n, in, &at, out);
}
