/* Reductions over dims (SUM, PROD, AMAX, AMIN): eval, VJP, JVP and batching
 * rules, their C op API, and the helpers the family shares (ops_reduce.h).
 * Attribute layouts are in reduce.def. MAX_DIM, MIN_DIM, ARGMAX and ARGMIN
 * are in ops_reduce_arg.c, CUMSUM and the softmaxes in ops_reduce_softmax.c,
 * the composites (MEAN, VAR, STD, LOGSUMEXP, NORM) in ops_reduce_composite.c. */
#include "ops_reduce.h"
#include <stdio.h>

/* ---- attributes ------------------------------------------------------------ */

int ft_red_mask(const ft_attrs *at, int ndim, bool *red) {
  int nd = at->ni > 0 ? (int)at->i[0] : 0, cnt = 0;
  for (int d = 0; d < ndim; d++) red[d] = nd == 0;
  for (int k = 1; k <= nd && k < at->ni; k++) {
    int64_t d = at->i[k];
    if (d >= 0 && d < ndim) red[d] = true;
  }
  for (int d = 0; d < ndim; d++) cnt += red[d];
  return cnt;
}

bool ft_red_keepdim(const ft_attrs *at) {
  int nd = at->ni > 0 ? (int)at->i[0] : 0;
  /* callers may ask before ft_red_check_attrs has refused a bad count
   * (negative, or INT32_MAX, where nd + 1 would overflow) */
  return nd >= 0 && nd < at->ni - 1 && at->i[nd + 1] != 0;
}

ft_status ft_red_check_attrs(const char *name, const ft_attrs *at, int ndim) {
  int nd = at->ni > 0 ? (int)at->i[0] : 0;
  if (nd < 0 || nd > FT_MAX_DIMS || (nd > 0 && at->ni < nd + 1))
    return ft_error(FT_ERR_VALUE, "%s: malformed dims attribute (%d dims, %d integers)", name, nd, (int)at->ni);
  if (ndim == 0) return FT_OK; /* a 0-d input is reduced as one element whatever the dims */
  bool seen[FT_MAX_DIMS] = {0};
  for (int k = 1; k <= nd; k++) {
    int64_t d = at->i[k];
    if (d < 0 || d >= ndim)
      return ft_error(FT_ERR_INDEX, "Dimension out of range (expected to be in range of [%d, %d], but got %lld)", -ndim,
                      ndim - 1, (long long)d);
    if (seen[d]) return ft_error(FT_ERR_VALUE, "dim %lld appears multiple times in the list of dims", (long long)d);
    seen[d] = true;
  }
  return FT_OK;
}

void ft_red_attrs(const bool *red, int ndim, bool keepdim, ft_attrs *at) {
  int cnt = 0;
  for (int d = 0; d < ndim; d++)
    if (red[d]) at->i[1 + cnt++] = d;
  at->i[0] = cnt;
  at->i[cnt + 1] = keepdim;
  at->ni = cnt + 2;
}

int64_t ft_red_count(const int64_t *shape, int ndim, const bool *red) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++)
    if (red[d]) n *= shape[d];
  return n;
}

ft_status ft_red_unreduce(ft_tensor *g, const int64_t *in_shape, int in_ndim, const bool *red, bool keepdim,
                          ft_tensor **out) {
  if (keepdim || g->ndim == in_ndim) { ft_retain(g); *out = g; return FT_OK; }
  int64_t ks[FT_MAX_DIMS];
  for (int d = 0; d < in_ndim; d++) ks[d] = red[d] ? 1 : in_shape[d];
  return ft_reshape(g, ks, in_ndim, out);
}

/* Output shape of a reduction of `shape` over red[]. */
int ft_red_reduced_shape(const int64_t *shape, int ndim, const bool *red, bool keepdim, int64_t *out) {
  int n = 0;
  for (int d = 0; d < ndim; d++) {
    if (!red[d]) out[n++] = shape[d];
    else if (keepdim) out[n++] = 1;
  }
  return n;
}

/* ---- eval ------------------------------------------------------------------ */

/* Lays plain x out for the kernels' contiguous [outer, n, inner] with the dims
 * in red[] as n, converting to dtype dt. x itself (retained) when it already
 * is; a copy in x's dim order when the reduced dims form one block (size-1
 * dims don't matter); otherwise a copy with the reduced dims moved last. The
 * kept dims stay in order either way, so [outer, inner] is the output's
 * row-major order. */
ft_status ft_red_layout(ft_tensor *x, const bool *red, ft_dtype dt, ft_tensor **buf, int64_t *outer, int64_t *n,
                            int64_t *inner) {
  int nd = x->ndim, a = nd, b = nd;
  for (int d = 0; d < nd; d++)
    if (red[d] && x->shape[d] != 1) { if (a == nd) a = d; b = d + 1; }
  bool block = true;
  for (int d = a; d < b; d++)
    if (!red[d] && x->shape[d] != 1) block = false;
  if (block) {
    *outer = ft_shape_numel(x->shape, a);
    *n = ft_shape_numel(x->shape + a, b - a);
    *inner = ft_shape_numel(x->shape + b, nd - b);
    if (x->dtype == dt && ft_is_contiguous(x)) { ft_retain(x); *buf = x; return FT_OK; }
    FT_TRY(ft_tensor_empty(x->shape, nd, dt, buf));
    ft_k_copy(x->dtype, dt, nd, x->shape, ft_data_ptr(x), x->strides, ft_data_ptr(*buf), (*buf)->strides);
    return FT_OK;
  }
  int64_t ps[FT_MAX_DIMS], pst[FT_MAX_DIMS];
  int k = 0;
  *outer = *n = 1;
  for (int pass = 0; pass < 2; pass++)
    for (int d = 0; d < nd; d++)
      if (red[d] == (pass == 1)) {
        ps[k] = x->shape[d];
        pst[k++] = x->strides[d];
        if (pass) *n *= x->shape[d]; else *outer *= x->shape[d];
      }
  *inner = 1;
  FT_TRY(ft_tensor_empty(ps, nd, dt, buf));
  ft_k_copy(x->dtype, dt, nd, ps, ft_data_ptr(x), pst, ft_data_ptr(*buf), (*buf)->strides);
  return FT_OK;
}

/* Reduces plain x over red[] with kernel k, computing in (and giving) dtype dt. */
static ft_status reduce_plain(ft_reduce_kind k, ft_tensor *x, const bool *red, bool keepdim, ft_dtype dt,
                              ft_tensor **out) {
  int64_t os[FT_MAX_DIMS], outer, n, inner;
  int ond = ft_red_reduced_shape(x->shape, x->ndim, red, keepdim, os);
  ft_tensor *buf = NULL;
  ft_status st;
  FT_CHECK(ft_red_layout(x, red, dt, &buf, &outer, &n, &inner));
  FT_CHECK(ft_tensor_empty(os, ond, dt, out));
  ft_k_reduce(k, dt, outer, n, inner, ft_data_ptr(buf), ft_data_ptr(*out));
fail:
  ft_release(buf);
  return st;
}

ft_status ft_red_check_nonempty(const char *fn, const ft_tensor *x, const bool *red) {
  for (int d = 0; d < x->ndim; d++)
    if (red[d] && x->shape[d] == 0)
      return ft_error(FT_ERR_INDEX, "%s: Expected reduction dim %d to have non-zero size.", fn, d);
  return FT_OK;
}

static ft_status eval_reduce(ft_reduce_kind k, const char *name, ft_tensor *x, const ft_attrs *at, ft_tensor **out) {
  FT_TRY(ft_red_check_attrs(name, at, x->ndim));
  bool red[FT_MAX_DIMS];
  ft_red_mask(at, x->ndim, red);
  bool extreme = k == FT_RED_MAX || k == FT_RED_MIN;
  if (extreme) {
    char fn[32];
    snprintf(fn, sizeof fn, "%s()", name);
    FT_TRY(ft_red_check_nonempty(fn, x, red));
  }
  /* bool sums and products count (PyTorch promotes to int64; we have int32);
   * bool max/min are any/all and stay bool */
  ft_dtype dt = x->dtype == FT_BOOL && !extreme ? FT_I32 : x->dtype;
  return reduce_plain(k, x, red, ft_red_keepdim(at), dt, out);
}

#define EVAL_REDUCE(fn, kind, name)                                                         \
  static ft_status fn(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) { \
    (void)nin;                                                                              \
    return eval_reduce(kind, name, in[0], at, out);                                         \
  }
EVAL_REDUCE(eval_sum, FT_RED_SUM, "sum")
EVAL_REDUCE(eval_prod, FT_RED_PROD, "prod")
EVAL_REDUCE(eval_amax, FT_RED_MAX, "amax")
EVAL_REDUCE(eval_amin, FT_RED_MIN, "amin")

/* ---- VJP rules (in dispatched ops) ---------------------------------------- */

static ft_status cast_to(ft_tensor *t, ft_dtype dt, ft_tensor **out) {
  if (t->dtype == dt) { ft_retain(t); *out = t; return FT_OK; }
  return ft_cast(t, dt, out);
}

static ft_status vjp_sum(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (!c->need[0]) return FT_OK;
  const int64_t *shape = FT_IN_SHAPE(c, 0);
  int nd = c->in_ndim[0];
  bool red[FT_MAX_DIMS];
  ft_red_mask(c->at, nd, red);
  ft_red_tmps tp = {0};
  ft_tensor *gk, *ge;
  ft_status st;
  TMP(&tp, gk, ft_red_unreduce(g[0], shape, nd, red, ft_red_keepdim(c->at), &gk));
  TMP(&tp, ge, ft_expand(gk, shape, nd, &ge));
  st = cast_to(ge, c->in_dtype[0], &gin[0]);
fail:
  ft_red_tmps_free(&tp);
  return st;
}

/* d prod / dx, shaped like x, correct with zeros (PyTorch's prod_backward):
 * the product of the other elements of x's slice. With no zero in a slice it
 * is prod / x; with exactly one zero it is the product of the others at the
 * zero and 0 elsewhere; with more it is 0. Written with the product of the
 * non-zeros, and with the zero-valued x's kept as factors where the value is
 * 0 but the derivative is not, so that its own derivative (hessian, jvp of
 * grad) is exact too: with one zero x_i, the factor at j != i is
 * x_i * prod_nz / x_j; with two zeros x_i, x_k, it is x_k * prod_nz at i. */
static ft_status prod_factor(ft_tensor *x, const ft_attrs *at, ft_tensor **out) {
  bool red[FT_MAX_DIMS];
  ft_red_mask(at, x->ndim, red);
  ft_attrs ak;
  ft_red_attrs(red, x->ndim, true, &ak);
  ft_red_tmps tp = {0};
  ft_tensor *zero, *one, *izero, *ione, *itwo, *isz, *xnz, *pnz, *cnt, *c0, *c1, *c2, *zx, *s1, *a, *s1p, *s1pa, *b1,
      *sx, *sxp, *b2, *e2, *e1;
  ft_status st;
  TMP(&tp, zero, ft_scalar(0.0, x->dtype, &zero));
  TMP(&tp, one, ft_scalar(1.0, x->dtype, &one));
  TMP(&tp, izero, ft_scalar(0.0, FT_I32, &izero));
  TMP(&tp, ione, ft_scalar(1.0, FT_I32, &ione));
  TMP(&tp, itwo, ft_scalar(2.0, FT_I32, &itwo));
  TMP(&tp, isz, ft_compare(FT_OP_EQ, x, zero, &isz));
  TMP(&tp, xnz, ft_where(isz, one, x, &xnz));
  TMP(&tp, pnz, ft_dispatch(FT_OP_PROD, 1, &xnz, &ak, &pnz));
  TMP(&tp, cnt, ft_dispatch(FT_OP_SUM, 1, &isz, &ak, &cnt)); /* zeros per slice (int32) */
  TMP(&tp, c0, ft_compare(FT_OP_EQ, cnt, izero, &c0));
  TMP(&tp, c1, ft_compare(FT_OP_EQ, cnt, ione, &c1));
  TMP(&tp, c2, ft_compare(FT_OP_EQ, cnt, itwo, &c2));
  TMP(&tp, zx, ft_where(isz, x, zero, &zx));                /* the zeros, as values of x */
  TMP(&tp, s1, ft_dispatch(FT_OP_SUM, 1, &zx, &ak, &s1));   /* 0, differentiable */
  TMP(&tp, a, ft_div(pnz, xnz, &a));                        /* no zero: prod / x */
  TMP(&tp, s1p, ft_mul(s1, pnz, &s1p));
  TMP(&tp, s1pa, ft_div(s1p, xnz, &s1pa));
  TMP(&tp, b1, ft_where(isz, pnz, s1pa, &b1));              /* one zero */
  TMP(&tp, sx, ft_sub(s1, x, &sx));                         /* at a zero: the other zero */
  TMP(&tp, sxp, ft_mul(sx, pnz, &sxp));
  TMP(&tp, b2, ft_where(isz, sxp, zero, &b2));              /* two zeros */
  TMP(&tp, e2, ft_where(c2, b2, zero, &e2));
  TMP(&tp, e1, ft_where(c1, b1, e2, &e1));
  st = ft_where(c0, a, e1, out);
fail:
  ft_red_tmps_free(&tp);
  return st;
}

static ft_status vjp_prod(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (!c->need[0]) return FT_OK;
  ft_tensor *x = c->in[0];
  bool red[FT_MAX_DIMS];
  ft_red_mask(c->at, x->ndim, red);
  ft_red_tmps tp = {0};
  ft_tensor *f, *gk;
  ft_status st;
  TMP(&tp, f, prod_factor(x, c->at, &f));
  TMP(&tp, gk, ft_red_unreduce(g[0], x->shape, x->ndim, red, ft_red_keepdim(c->at), &gk));
  st = ft_mul(gk, f, &gin[0]);
fail:
  ft_red_tmps_free(&tp);
  return st;
}

/* x == (the reduced value restored to keepdim shape): the winners' mask */
static ft_status winners(ft_tensor *x, ft_tensor *y, const bool *red, bool keepdim, ft_tensor **mask) {
  ft_tensor *yk;
  FT_TRY(ft_red_unreduce(y, x->shape, x->ndim, red, keepdim, &yk));
  ft_status st = ft_compare(FT_OP_EQ, x, yk, mask);
  ft_release(yk);
  return st;
}

/* amax/amin: g is shared evenly among the tied winners, as PyTorch does. */
static ft_status vjp_amaxmin(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (!c->need[0]) return FT_OK;
  ft_tensor *x = c->in[0];
  bool red[FT_MAX_DIMS], keep = ft_red_keepdim(c->at);
  ft_red_mask(c->at, x->ndim, red);
  ft_attrs ak;
  ft_red_attrs(red, x->ndim, true, &ak);
  ft_red_tmps tp = {0};
  ft_tensor *mask, *cnt, *gk, *share, *zero;
  ft_status st;
  TMP(&tp, mask, winners(x, c->out[0], red, keep, &mask));
  TMP(&tp, cnt, ft_dispatch(FT_OP_SUM, 1, &mask, &ak, &cnt));
  TMP(&tp, gk, ft_red_unreduce(g[0], x->shape, x->ndim, red, keep, &gk));
  TMP(&tp, share, ft_div(gk, cnt, &share));
  TMP(&tp, zero, ft_scalar(0.0, share->dtype, &zero));
  st = ft_where(mask, share, zero, &gin[0]);
fail:
  ft_red_tmps_free(&tp);
  return st;
}

/* ---- JVP rules -------------------------------------------------------------- */

static ft_status jvp_sum(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                         ft_tensor **tout) {
  (void)in; (void)nin; (void)out;
  if (!t[0]) return FT_OK;
  return ft_dispatch(FT_OP_SUM, 1, &t[0], at, &tout[0]);
}

static ft_status jvp_prod(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                          ft_tensor **tout) {
  (void)nin; (void)out;
  if (!t[0]) return FT_OK;
  ft_red_tmps tp = {0};
  ft_tensor *f, *p;
  ft_status st;
  TMP(&tp, f, prod_factor(in[0], at, &f));
  TMP(&tp, p, ft_mul(t[0], f, &p));
  st = ft_dispatch(FT_OP_SUM, 1, &p, at, &tout[0]);
fail:
  ft_red_tmps_free(&tp);
  return st;
}

/* the mean of the tangent over the tied winners */
static ft_status jvp_amaxmin(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                             ft_tensor *const *out, ft_tensor **tout) {
  (void)nin;
  if (!t[0]) return FT_OK;
  ft_tensor *x = in[0];
  bool red[FT_MAX_DIMS], keep = ft_red_keepdim(at);
  ft_red_mask(at, x->ndim, red);
  ft_red_tmps tp = {0};
  ft_tensor *mask, *cnt, *zero, *sel, *s;
  ft_status st;
  TMP(&tp, mask, winners(x, out[0], red, keep, &mask));
  TMP(&tp, cnt, ft_dispatch(FT_OP_SUM, 1, &mask, at, &cnt));
  TMP(&tp, zero, ft_scalar(0.0, t[0]->dtype, &zero));
  TMP(&tp, sel, ft_where(mask, t[0], zero, &sel));
  TMP(&tp, s, ft_dispatch(FT_OP_SUM, 1, &sel, at, &s));
  st = ft_div(s, cnt, &tout[0]);
fail:
  ft_red_tmps_free(&tp);
  return st;
}

/* ---- batching rules ---------------------------------------------------------- */

/* Logical dim d of a value whose batch dim is b, in physical terms. */
static int64_t phys(int64_t d, int b) { return d < b ? d : d + 1; }

/* A logical 0-d value is physically [B]: give it a unit dim 1 to reduce. */
static ft_status unit_dim(ft_tensor *x, ft_tensor **out) { return ft_unsqueeze(x, 1, out); }

static ft_status batch_reduce(ft_op op, ft_tensor *const *in, const int32_t *bdim, const ft_attrs *at,
                              ft_tensor **out, int32_t *obdim) {
  ft_tensor *x = in[0];
  int b = bdim[0], L = x->ndim - 1;
  ft_attrs a2 = *at;
  /* before rewriting them: a bad dim count would reduce the batch dim too */
  FT_TRY(ft_red_check_attrs(ft_ops[op]->name, at, L));
  if (L == 0) {
    ft_tensor *u;
    FT_TRY(unit_dim(x, &u));
    a2.i[0] = 1; a2.i[1] = 1; a2.i[2] = 0; a2.ni = 3;
    ft_status st = ft_dispatch(op, 1, &u, &a2, out);
    ft_release(u);
    obdim[0] = 0;
    return st;
  }
  bool red[FT_MAX_DIMS], keep = ft_red_keepdim(at);
  ft_red_mask(at, L, red);
  int cnt = 0, before = 0;
  for (int d = 0; d < L; d++) {
    if (!red[d]) continue;
    a2.i[1 + cnt++] = phys(d, b);
    before += d < b;
  }
  a2.i[0] = cnt;
  a2.i[cnt + 1] = keep;
  a2.ni = cnt + 2;
  FT_TRY(ft_dispatch(op, 1, &x, &a2, out));
  obdim[0] = keep ? b : b - before;
  return FT_OK;
}

#define BATCH_REDUCE(fn, OP)                                                                          \
  static ft_status fn(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,         \
                      int64_t bsize, ft_tensor **out, int32_t *obdim) {                               \
    (void)nin; (void)bsize;                                                                           \
    return batch_reduce(OP, in, bdim, at, out, obdim);                                                \
  }
BATCH_REDUCE(batch_sum, FT_OP_SUM)
BATCH_REDUCE(batch_prod, FT_OP_PROD)
BATCH_REDUCE(batch_amax, FT_OP_AMAX)
BATCH_REDUCE(batch_amin, FT_OP_AMIN)

/* ---- the table entries -------------------------------------------------------- */

#define DIFF FT_F_DIFF
const ft_op_def ft_opdef_SUM = {"sum", 1, 1, DIFF, eval_sum, vjp_sum, jvp_sum, batch_sum};
const ft_op_def ft_opdef_PROD = {"prod", 1, 1, DIFF | FT_F_SAVE_IN, eval_prod, vjp_prod, jvp_prod, batch_prod};
const ft_op_def ft_opdef_AMAX = {"amax", 1, 1, DIFF | FT_F_SAVE_IN | FT_F_SAVE_OUT, eval_amax, vjp_amaxmin,
                                 jvp_amaxmin, batch_amax};
const ft_op_def ft_opdef_AMIN = {"amin", 1, 1, DIFF | FT_F_SAVE_IN | FT_F_SAVE_OUT, eval_amin, vjp_amaxmin,
                                 jvp_amaxmin, batch_amin};

/* ---- the C op API ---------------------------------------------------------------- */

/* (declared in ops_reduce.h) */
ft_status ft_red_pack_dims(const ft_tensor *x, const int64_t *dims, int ndims, bool keepdim, ft_attrs *at) {
  if (ndims < 0 || ndims > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "too many dims (%d) for a reduction", ndims);
  bool red[FT_MAX_DIMS] = {0};
  for (int k = 0; dims && k < ndims; k++) {
    int d;
    FT_TRY(ft_wrap_dim(dims[k], x->ndim, &d));
    if (red[d]) return ft_error(FT_ERR_VALUE, "dim %d appears multiple times in the list of dims", d);
    red[d] = true;
  }
  memset(at, 0, sizeof *at);
  if (!dims || ndims == 0 || x->ndim == 0) for (int d = 0; d < x->ndim; d++) red[d] = false;
  ft_red_attrs(red, x->ndim, keepdim, at);
  return FT_OK;
}

static ft_status reduce_call(ft_op op, ft_tensor *x, const int64_t *dims, int ndims, bool keepdim, ft_tensor **out) {
  ft_attrs at;
  FT_TRY(ft_red_pack_dims(x, dims, ndims, keepdim, &at));
  return ft_dispatch(op, 1, &x, &at, out);
}
ft_status ft_sum(ft_tensor *x, const int64_t *dims, int ndims, bool keepdim, ft_tensor **out) {
  return reduce_call(FT_OP_SUM, x, dims, ndims, keepdim, out);
}
ft_status ft_prod(ft_tensor *x, const int64_t *dims, int ndims, bool keepdim, ft_tensor **out) {
  return reduce_call(FT_OP_PROD, x, dims, ndims, keepdim, out);
}
ft_status ft_amax(ft_tensor *x, const int64_t *dims, int ndims, bool keepdim, ft_tensor **out) {
  return reduce_call(FT_OP_AMAX, x, dims, ndims, keepdim, out);
}
ft_status ft_amin(ft_tensor *x, const int64_t *dims, int ndims, bool keepdim, ft_tensor **out) {
  return reduce_call(FT_OP_AMIN, x, dims, ndims, keepdim, out);
}
