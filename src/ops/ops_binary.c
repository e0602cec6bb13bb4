/* Broadcasting binary ops and where: eval, VJP, JVP and batching rules. */
#include "ops.h"

/* ---- eval ------------------------------------------------------------------ */

static ft_status cast_plain(ft_tensor *t, ft_dtype dt, ft_tensor **out) {
  if (t->dtype == dt) { ft_retain(t); *out = t; return FT_OK; }
  FT_TRY(ft_tensor_empty(t->shape, t->ndim, dt, out));
  ft_k_copy(t->dtype, dt, t->ndim, t->shape, ft_data_ptr(t), t->strides, ft_data_ptr(*out), (*out)->strides);
  return FT_OK;
}

static ft_status eval_binary_kind(ft_binary_kind k, ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *a = in[0], *b = in[1];
  ft_dtype dt = ft_promote(a, b);
  bool cmp = k >= FT_BIN_EQ;
  if (k == FT_BIN_DIV && !ft_is_float(dt)) dt = FT_F32; /* true division */
  if (dt == FT_BOOL && !(k == FT_BIN_EQ || k == FT_BIN_NE || k == FT_BIN_MAX || k == FT_BIN_MIN ||
                         k == FT_BIN_MUL || k == FT_BIN_ADD))
    dt = FT_I32;
  int64_t shape[FT_MAX_DIMS], sa[FT_MAX_DIMS], sb[FT_MAX_DIMS];
  int nd;
  FT_TRY(ft_broadcast_shapes(a->shape, a->ndim, b->shape, b->ndim, shape, &nd));
  ft_tensor *ca = NULL, *cb = NULL;
  ft_status st;
  FT_CHECK(cast_plain(a, dt, &ca));
  FT_CHECK(cast_plain(b, dt, &cb));
  FT_CHECK(ft_tensor_empty(shape, nd, cmp ? FT_BOOL : dt, out));
  ft_broadcast_strides(ca, shape, nd, sa);
  ft_broadcast_strides(cb, shape, nd, sb);
  ft_k_binary(k, dt, nd, shape, ft_data_ptr(ca), sa, ft_data_ptr(cb), sb, ft_data_ptr(*out), (*out)->strides);
fail:
  ft_release(ca);
  ft_release(cb);
  return st;
}

#define EVAL_BINARY(fn, kind)                                                                     \
  static ft_status fn(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {         \
    (void)nin; (void)at;                                                                          \
    return eval_binary_kind(kind, in, out);                                                       \
  }
EVAL_BINARY(eval_add, FT_BIN_ADD)
EVAL_BINARY(eval_sub, FT_BIN_SUB)
EVAL_BINARY(eval_mul, FT_BIN_MUL)
EVAL_BINARY(eval_div, FT_BIN_DIV)
EVAL_BINARY(eval_pow, FT_BIN_POW)
EVAL_BINARY(eval_maximum, FT_BIN_MAX)
EVAL_BINARY(eval_minimum, FT_BIN_MIN)
EVAL_BINARY(eval_eq, FT_BIN_EQ)
EVAL_BINARY(eval_ne, FT_BIN_NE)
EVAL_BINARY(eval_lt, FT_BIN_LT)
EVAL_BINARY(eval_le, FT_BIN_LE)
EVAL_BINARY(eval_gt, FT_BIN_GT)
EVAL_BINARY(eval_ge, FT_BIN_GE)

static ft_status eval_where(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  ft_tensor *c = in[0], *a = in[1], *b = in[2];
  int64_t s1[FT_MAX_DIMS], shape[FT_MAX_DIMS], sc[FT_MAX_DIMS], sa[FT_MAX_DIMS], sb[FT_MAX_DIMS];
  int n1, nd;
  FT_TRY(ft_broadcast_shapes(a->shape, a->ndim, b->shape, b->ndim, s1, &n1));
  FT_TRY(ft_broadcast_shapes(c->shape, c->ndim, s1, n1, shape, &nd));
  ft_dtype dt = ft_promote(a, b);
  ft_tensor *cc = NULL, *ca = NULL, *cb = NULL;
  ft_status st;
  FT_CHECK(cast_plain(c, FT_BOOL, &cc));
  FT_CHECK(cast_plain(a, dt, &ca));
  FT_CHECK(cast_plain(b, dt, &cb));
  FT_CHECK(ft_tensor_empty(shape, nd, dt, out));
  ft_broadcast_strides(cc, shape, nd, sc);
  ft_broadcast_strides(ca, shape, nd, sa);
  ft_broadcast_strides(cb, shape, nd, sb);
  ft_k_where(dt, nd, shape, ft_data_ptr(cc), sc, ft_data_ptr(ca), sa, ft_data_ptr(cb), sb, ft_data_ptr(*out),
             (*out)->strides);
fail:
  ft_release(cc);
  ft_release(ca);
  ft_release(cb);
  return st;
}

/* ---- VJP rules (in dispatched ops) ---------------------------------------- */

/* gin[i] = sum_to_shape(g, input i's shape) */
static ft_status reduce_to_input(const ft_vjp_ctx *c, int i, ft_tensor *g, ft_tensor **gin) {
  return ft_sum_to_shape(g, FT_IN_SHAPE(c, i), c->in_ndim[i], c->in_dtype[i], gin);
}

static ft_status vjp_add(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (c->need[0]) FT_TRY(reduce_to_input(c, 0, g[0], &gin[0]));
  if (c->need[1]) FT_TRY(reduce_to_input(c, 1, g[0], &gin[1]));
  return FT_OK;
}

static ft_status vjp_sub(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (c->need[0]) FT_TRY(reduce_to_input(c, 0, g[0], &gin[0]));
  if (c->need[1]) {
    ft_tensor *n;
    FT_TRY(ft_neg(g[0], &n));
    ft_status st = reduce_to_input(c, 1, n, &gin[1]);
    ft_release(n);
    return st;
  }
  return FT_OK;
}

/* gin[i] = sum_to_shape(g * f) */
static ft_status mul_reduce(const ft_vjp_ctx *c, int i, ft_tensor *g, ft_tensor *f, ft_tensor **gin) {
  ft_tensor *p;
  FT_TRY(ft_mul(g, f, &p));
  ft_status st = reduce_to_input(c, i, p, gin);
  ft_release(p);
  return st;
}

static ft_status vjp_mul(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (c->need[0]) FT_TRY(mul_reduce(c, 0, g[0], c->in[1], &gin[0]));
  if (c->need[1]) FT_TRY(mul_reduce(c, 1, g[0], c->in[0], &gin[1]));
  return FT_OK;
}

static ft_status vjp_div(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  ft_tensor *a = c->in[0], *b = c->in[1], *q = NULL, *t = NULL;
  ft_status st = FT_OK;
  FT_CHECK(ft_div(g[0], b, &q)); /* g / b */
  if (c->need[0]) FT_CHECK(reduce_to_input(c, 0, q, &gin[0]));
  if (c->need[1]) { /* -(g / b) * (a / b) */
    ft_tensor *ab = NULL, *m = NULL;
    FT_CHECK(ft_div(a, b, &ab));
    st = ft_mul(q, ab, &m);
    ft_release(ab);
    if (st) goto fail;
    st = ft_neg(m, &t);
    ft_release(m);
    if (st) goto fail;
    FT_CHECK(reduce_to_input(c, 1, t, &gin[1]));
  }
fail:
  ft_release(q);
  ft_release(t);
  return st;
}

static ft_status vjp_pow(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  ft_tensor *a = c->in[0], *b = c->in[1], *o = c->out[0];
  ft_tensor *t1 = NULL, *t2 = NULL, *t3 = NULL, *z = NULL, *mask = NULL;
  ft_status st = FT_OK;
  if (c->need[0]) { /* g * b * a^(b-1) */
    FT_CHECK(ft_add_scalar(b, -1.0, &t1));
    FT_CHECK(ft_pow(a, t1, &t2));
    ft_release(t1); t1 = NULL;
    FT_CHECK(ft_mul(t2, b, &t1));
    FT_CHECK(mul_reduce(c, 0, g[0], t1, &gin[0]));
    ft_release(t1); ft_release(t2); t1 = t2 = NULL;
  }
  if (c->need[1]) { /* g * out * log(a), zero where a == 0 (PyTorch masks it) */
    FT_CHECK(ft_log(a, &t1));
    FT_CHECK(ft_mul(o, t1, &t2));
    FT_CHECK(ft_scalar(0.0, a->dtype, &z));
    FT_CHECK(ft_compare(FT_OP_EQ, a, z, &mask));
    FT_CHECK(ft_where(mask, z, t2, &t3));
    FT_CHECK(mul_reduce(c, 1, g[0], t3, &gin[1]));
  }
fail:
  ft_release(t1); ft_release(t2); ft_release(t3); ft_release(z); ft_release(mask);
  return st;
}

/* maximum/minimum: the winner takes g; ties split it, as PyTorch does. */
static ft_status vjp_extreme(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin, ft_op a_wins) {
  ft_tensor *a = c->in[0], *b = c->in[1];
  ft_tensor *wa = NULL, *eq = NULL, *half = NULL, *z = NULL, *ga = NULL, *gb = NULL, *t = NULL, *fa = NULL;
  ft_status st = FT_OK;
  FT_CHECK(ft_compare(a_wins, a, b, &wa));      /* a strictly wins */
  FT_CHECK(ft_compare(FT_OP_EQ, a, b, &eq));
  FT_CHECK(ft_mul_scalar(g[0], 0.5, &half));
  FT_CHECK(ft_scalar(0.0, g[0]->dtype, &z));
  FT_CHECK(ft_where(wa, g[0], z, &t));
  FT_CHECK(ft_where(eq, half, t, &ga));         /* a's share */
  if (c->need[0]) FT_CHECK(reduce_to_input(c, 0, ga, &gin[0]));
  if (c->need[1]) {
    FT_CHECK(ft_expand_to(g[0], ga, &fa));
    FT_CHECK(ft_sub(fa, ga, &gb));              /* the rest goes to b */
    FT_CHECK(reduce_to_input(c, 1, gb, &gin[1]));
  }
fail:
  ft_release(wa); ft_release(eq); ft_release(half); ft_release(z);
  ft_release(ga); ft_release(gb); ft_release(t); ft_release(fa);
  return st;
}
static ft_status vjp_maximum(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  return vjp_extreme(c, g, gin, FT_OP_GT);
}
static ft_status vjp_minimum(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  return vjp_extreme(c, g, gin, FT_OP_LT);
}

static ft_status vjp_where(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  ft_tensor *cond = c->in[0], *z = NULL, *t = NULL;
  ft_status st = FT_OK;
  FT_CHECK(ft_scalar(0.0, g[0]->dtype, &z));
  if (c->need[1]) {
    FT_CHECK(ft_where(cond, g[0], z, &t));
    FT_CHECK(reduce_to_input(c, 1, t, &gin[1]));
    ft_release(t); t = NULL;
  }
  if (c->need[2]) {
    FT_CHECK(ft_where(cond, z, g[0], &t));
    FT_CHECK(reduce_to_input(c, 2, t, &gin[2]));
  }
fail:
  ft_release(z); ft_release(t);
  return st;
}

/* ---- JVP rules ------------------------------------------------------------ */

/* tout = t expanded to out's shape, or NULL */
static ft_status tangent_like_out(ft_tensor *t, ft_tensor *out, ft_tensor **tout) {
  if (!t) return FT_OK;
  ft_tensor *e;
  FT_TRY(ft_expand_to(t, out, &e));
  if (e->dtype != out->dtype) {
    ft_status st = ft_cast(e, out->dtype, tout);
    ft_release(e);
    return st;
  }
  *tout = e;
  return FT_OK;
}

static ft_status add_tangents(ft_tensor *x, ft_tensor *y, ft_tensor *out, ft_tensor **tout) {
  if (x && y) return ft_add(x, y, tout);
  return tangent_like_out(x ? x : y, out, tout);
}

static ft_status jvp_add(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                         ft_tensor **tout) {
  (void)in; (void)nin; (void)at;
  FT_TRY(add_tangents(t[0], t[1], out[0], &tout[0]));
  if (t[0] && t[1]) { /* broadcasting may leave tout smaller than out */
    ft_tensor *e;
    FT_TRY(tangent_like_out(tout[0], out[0], &e));
    ft_release(tout[0]);
    tout[0] = e;
  }
  return FT_OK;
}

static ft_status jvp_sub(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                         ft_tensor **tout) {
  ft_tensor *nb = NULL, *tt[2] = {t[0], NULL};
  if (t[1]) FT_TRY(ft_neg(t[1], &nb));
  tt[1] = nb;
  ft_status st = jvp_add(in, tt, nin, at, out, tout);
  ft_release(nb);
  return st;
}

/* tout = ta * fa + tb * fb, with NULL tangents skipped */
static ft_status bilinear(ft_tensor *ta, ft_tensor *fa, ft_tensor *tb, ft_tensor *fb, ft_tensor *out, ft_tensor **tout) {
  ft_tensor *x = NULL, *y = NULL;
  ft_status st = FT_OK;
  if (ta) FT_CHECK(ft_mul(ta, fa, &x));
  if (tb) FT_CHECK(ft_mul(tb, fb, &y));
  FT_CHECK(add_tangents(x, y, out, tout));
  if (x && y) {
    ft_tensor *e;
    FT_CHECK(tangent_like_out(*tout, out, &e));
    ft_release(*tout);
    *tout = e;
  }
fail:
  ft_release(x); ft_release(y);
  return st;
}

static ft_status jvp_mul(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                         ft_tensor **tout) {
  (void)nin; (void)at;
  return bilinear(t[0], in[1], t[1], in[0], out[0], &tout[0]);
}

static ft_status jvp_div(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                         ft_tensor **tout) {
  (void)nin; (void)at;
  /* d(a/b) = ta / b - tb * (out / b) */
  ft_tensor *rb = NULL, *q = NULL, *nq = NULL;
  ft_status st = FT_OK;
  FT_CHECK(ft_reciprocal(in[1], &rb));
  if (t[1]) {
    FT_CHECK(ft_mul(out[0], rb, &q));
    FT_CHECK(ft_neg(q, &nq));
  }
  FT_CHECK(bilinear(t[0], rb, t[1], nq, out[0], &tout[0]));
fail:
  ft_release(rb); ft_release(q); ft_release(nq);
  return st;
}

static ft_status jvp_pow(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                         ft_tensor **tout) {
  (void)nin; (void)at;
  ft_tensor *a = in[0], *b = in[1];
  ft_tensor *fa = NULL, *fb = NULL, *t1 = NULL, *t2 = NULL, *z = NULL, *mask = NULL;
  ft_status st = FT_OK;
  if (t[0]) { /* b * a^(b-1) */
    FT_CHECK(ft_add_scalar(b, -1.0, &t1));
    FT_CHECK(ft_pow(a, t1, &t2));
    FT_CHECK(ft_mul(t2, b, &fa));
    ft_release(t1); ft_release(t2); t1 = t2 = NULL;
  }
  if (t[1]) { /* out * log(a), zero where a == 0 */
    FT_CHECK(ft_log(a, &t1));
    FT_CHECK(ft_mul(out[0], t1, &t2));
    FT_CHECK(ft_scalar(0.0, a->dtype, &z));
    FT_CHECK(ft_compare(FT_OP_EQ, a, z, &mask));
    FT_CHECK(ft_where(mask, z, t2, &fb));
  }
  FT_CHECK(bilinear(t[0], fa, t[1], fb, out[0], &tout[0]));
fail:
  ft_release(fa); ft_release(fb); ft_release(t1); ft_release(t2); ft_release(z); ft_release(mask);
  return st;
}

static ft_status jvp_extreme(ft_tensor *const *in, ft_tensor *const *t, ft_tensor *const *out, ft_tensor **tout,
                             ft_op a_wins) {
  ft_tensor *wa = NULL, *eq = NULL, *w = NULL, *half = NULL, *one = NULL, *wb = NULL, *t1 = NULL;
  ft_status st = FT_OK;
  /* weight of a: 1 where a wins, 1/2 on ties, else 0; b gets 1 - that */
  FT_CHECK(ft_compare(a_wins, in[0], in[1], &wa));
  FT_CHECK(ft_compare(FT_OP_EQ, in[0], in[1], &eq));
  FT_CHECK(ft_cast(wa, out[0]->dtype, &t1));
  FT_CHECK(ft_scalar(0.5, out[0]->dtype, &half));
  FT_CHECK(ft_where(eq, half, t1, &w));
  FT_CHECK(ft_scalar(1.0, out[0]->dtype, &one));
  FT_CHECK(ft_sub(one, w, &wb));
  FT_CHECK(bilinear(t[0], w, t[1], wb, out[0], &tout[0]));
fail:
  ft_release(wa); ft_release(eq); ft_release(w); ft_release(half); ft_release(one); ft_release(wb); ft_release(t1);
  return st;
}
static ft_status jvp_maximum(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                             ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)at;
  return jvp_extreme(in, t, out, tout, FT_OP_GT);
}
static ft_status jvp_minimum(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                             ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)at;
  return jvp_extreme(in, t, out, tout, FT_OP_LT);
}

static ft_status jvp_where(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                           ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)at;
  ft_tensor *z = NULL, *ta = t[1], *tb = t[2];
  ft_status st = FT_OK;
  if (!ta || !tb) FT_CHECK(ft_scalar(0.0, out[0]->dtype, &z));
  FT_CHECK(ft_where(in[0], ta ? ta : z, tb ? tb : z, &tout[0]));
  {
    ft_tensor *e;
    FT_CHECK(tangent_like_out(tout[0], out[0], &e));
    ft_release(tout[0]);
    tout[0] = e;
  }
fail:
  ft_release(z);
  return st;
}

/* ---- batching rules -------------------------------------------------------- */

#define BATCH_BROADCAST(fn, OP)                                                                         \
  static ft_status fn(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,           \
                      int64_t bsize, ft_tensor **out, int32_t *obdim) {                                 \
    return ft_batch_broadcasting(OP, in, bdim, nin, at, bsize, out, obdim);                             \
  }
BATCH_BROADCAST(batch_add, FT_OP_ADD)
BATCH_BROADCAST(batch_sub, FT_OP_SUB)
BATCH_BROADCAST(batch_mul, FT_OP_MUL)
BATCH_BROADCAST(batch_div, FT_OP_DIV)
BATCH_BROADCAST(batch_pow, FT_OP_POW)
BATCH_BROADCAST(batch_maximum, FT_OP_MAXIMUM)
BATCH_BROADCAST(batch_minimum, FT_OP_MINIMUM)
BATCH_BROADCAST(batch_eq, FT_OP_EQ)
BATCH_BROADCAST(batch_ne, FT_OP_NE)
BATCH_BROADCAST(batch_lt, FT_OP_LT)
BATCH_BROADCAST(batch_le, FT_OP_LE)
BATCH_BROADCAST(batch_gt, FT_OP_GT)
BATCH_BROADCAST(batch_ge, FT_OP_GE)
BATCH_BROADCAST(batch_where, FT_OP_WHERE)

static ft_status jvp_none(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                          ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)t; (void)nin; (void)at; (void)out; (void)tout;
  return FT_OK;
}

/* ---- the table entries ---------------------------------------------------- */

#define DIFF FT_F_DIFF
const ft_op_def ft_opdef_ADD = {"add", 2, 1, DIFF, eval_add, vjp_add, jvp_add, batch_add, FT_FUSE_BIN(FT_BIN_ADD)};
const ft_op_def ft_opdef_SUB = {"sub", 2, 1, DIFF, eval_sub, vjp_sub, jvp_sub, batch_sub, FT_FUSE_BIN(FT_BIN_SUB)};
const ft_op_def ft_opdef_MUL = {"mul", 2, 1, DIFF | FT_F_SAVE_IN, eval_mul, vjp_mul, jvp_mul, batch_mul, FT_FUSE_BIN(FT_BIN_MUL)};
const ft_op_def ft_opdef_DIV = {"div", 2, 1, DIFF | FT_F_SAVE_IN, eval_div, vjp_div, jvp_div, batch_div, FT_FUSE_BIN(FT_BIN_DIV)};
const ft_op_def ft_opdef_POW = {"pow", 2, 1, DIFF | FT_F_SAVE_IN | FT_F_SAVE_OUT, eval_pow, vjp_pow, jvp_pow, batch_pow};
const ft_op_def ft_opdef_MAXIMUM = {"maximum", 2, 1, DIFF | FT_F_SAVE_IN, eval_maximum, vjp_maximum, jvp_maximum,
                                    batch_maximum, FT_FUSE_BIN(FT_BIN_MAX)};
const ft_op_def ft_opdef_MINIMUM = {"minimum", 2, 1, DIFF | FT_F_SAVE_IN, eval_minimum, vjp_minimum, jvp_minimum,
                                    batch_minimum, FT_FUSE_BIN(FT_BIN_MIN)};
const ft_op_def ft_opdef_EQ = {"eq", 2, 1, FT_F_NONDIFF, eval_eq, NULL, jvp_none, batch_eq};
const ft_op_def ft_opdef_NE = {"ne", 2, 1, FT_F_NONDIFF, eval_ne, NULL, jvp_none, batch_ne};
const ft_op_def ft_opdef_LT = {"lt", 2, 1, FT_F_NONDIFF, eval_lt, NULL, jvp_none, batch_lt};
const ft_op_def ft_opdef_LE = {"le", 2, 1, FT_F_NONDIFF, eval_le, NULL, jvp_none, batch_le};
const ft_op_def ft_opdef_GT = {"gt", 2, 1, FT_F_NONDIFF, eval_gt, NULL, jvp_none, batch_gt};
const ft_op_def ft_opdef_GE = {"ge", 2, 1, FT_F_NONDIFF, eval_ge, NULL, jvp_none, batch_ge};
const ft_op_def ft_opdef_WHERE = {"where", 3, 1, DIFF | FT_F_SAVE_IN, eval_where, vjp_where, jvp_where, batch_where};

/* ---- the C op API ---------------------------------------------------------- */

static ft_status call2(ft_op op, ft_tensor *a, ft_tensor *b, ft_tensor **out) {
  ft_tensor *in[2] = {a, b};
  return ft_dispatch(op, 2, in, NULL, out);
}
ft_status ft_add(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_ADD, a, b, out); }
ft_status ft_sub(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_SUB, a, b, out); }
ft_status ft_mul(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_MUL, a, b, out); }
ft_status ft_div(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_DIV, a, b, out); }
ft_status ft_pow(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_POW, a, b, out); }
ft_status ft_maximum(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_MAXIMUM, a, b, out); }
ft_status ft_minimum(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_MINIMUM, a, b, out); }
ft_status ft_compare(ft_op op, ft_tensor *a, ft_tensor *b, ft_tensor **out) {
  if (op < FT_OP_EQ || op > FT_OP_GE) return ft_error(FT_ERR_VALUE, "ft_compare: %s is not a comparison", ft_ops[op]->name);
  return call2(op, a, b, out);
}
ft_status ft_where(ft_tensor *cond, ft_tensor *a, ft_tensor *b, ft_tensor **out) {
  ft_tensor *in[3] = {cond, a, b};
  return ft_dispatch(FT_OP_WHERE, 3, in, NULL, out);
}
static ft_status with_scalar(ft_op op, ft_tensor *a, double s, ft_tensor **out) {
  ft_tensor *k;
  ft_dtype dt = a->dtype;
  /* the range test first: casting a double outside int32 is undefined */
  if (!ft_is_float(dt) && !(s >= -2147483648.0 && s <= 2147483647.0 && s == (double)(int32_t)s)) dt = FT_F32;
  FT_TRY(ft_scalar(s, dt, &k));
  ft_status st = call2(op, a, k, out);
  ft_release(k);
  return st;
}
ft_status ft_mul_scalar(ft_tensor *a, double s, ft_tensor **out) { return with_scalar(FT_OP_MUL, a, s, out); }
ft_status ft_add_scalar(ft_tensor *a, double s, ft_tensor **out) { return with_scalar(FT_OP_ADD, a, s, out); }
