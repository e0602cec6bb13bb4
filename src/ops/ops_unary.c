/* Unary elementwise ops (NEG .. ERF, CLAMP, POW_SCALAR): eval, VJP, JVP and
 * batching rules. The activations (LEAKY_RELU .. SILU) are in
 * ops_unary_act.c and share the derivative machinery of unary_rules.h.
 *
 * Every op here is y = f(x) elementwise, so its VJP (g * f'(x)) and its JVP
 * (t * f'(x)) are one rule: each op writes f'(x) once, in dispatched ops,
 * from the saved input x or the saved output y (whichever its flags keep). */
#include "unary_rules.h"

/* ---- eval ------------------------------------------------------------------ */

/* PyTorch's names for our dtypes, for its "not implemented for" messages. */
const char *ft_unary_torch_dtype(ft_dtype dt) {
  switch (dt) {
    case FT_F32: return "Float";
    case FT_F64: return "Double";
    case FT_I32: return "Int";
    case FT_BOOL: return "Bool";
    default: return "unknown";
  }
}

/* out = x converted to dt, contiguous (a fresh tensor, even if dt matches). */
static ft_status converted(ft_tensor *x, ft_dtype dt, ft_tensor **out) {
  FT_TRY(ft_tensor_empty(x->shape, x->ndim, dt, out));
  if (x->numel)
    ft_k_copy(x->dtype, dt, x->ndim, x->shape, ft_data_ptr(x), x->strides, ft_data_ptr(*out), (*out)->strides);
  return FT_OK;
}

/* out = k(x), computed in dtype dt (x is converted first when it differs). */
static ft_status unary_kernel(ft_unary_kind k, ft_tensor *x, ft_dtype dt, ft_tensor **out) {
  if (x->dtype != dt) {
    FT_TRY(converted(x, dt, out));
    x = *out; /* in place: same layout, elementwise */
  } else {
    FT_TRY(ft_tensor_empty(x->shape, x->ndim, dt, out));
  }
  if (x->numel)
    ft_k_unary(k, dt, x->ndim, x->shape, ft_data_ptr(x), x->strides, ft_data_ptr(*out), (*out)->strides);
  return FT_OK;
}

static const ft_unary_kind kind_of[] = {
    [FT_OP_NEG - FT_OP_NEG] = FT_UN_NEG,         [FT_OP_EXP - FT_OP_NEG] = FT_UN_EXP,
    [FT_OP_LOG - FT_OP_NEG] = FT_UN_LOG,         [FT_OP_LOG1P - FT_OP_NEG] = FT_UN_LOG1P,
    [FT_OP_EXPM1 - FT_OP_NEG] = FT_UN_EXPM1,     [FT_OP_SQRT - FT_OP_NEG] = FT_UN_SQRT,
    [FT_OP_RSQRT - FT_OP_NEG] = FT_UN_RSQRT,     [FT_OP_ABS - FT_OP_NEG] = FT_UN_ABS,
    [FT_OP_SIGN - FT_OP_NEG] = FT_UN_SIGN,       [FT_OP_SIN - FT_OP_NEG] = FT_UN_SIN,
    [FT_OP_COS - FT_OP_NEG] = FT_UN_COS,         [FT_OP_TANH - FT_OP_NEG] = FT_UN_TANH,
    [FT_OP_SIGMOID - FT_OP_NEG] = FT_UN_SIGMOID, [FT_OP_RELU - FT_OP_NEG] = FT_UN_RELU,
    [FT_OP_SQUARE - FT_OP_NEG] = FT_UN_SQUARE,   [FT_OP_RECIPROCAL - FT_OP_NEG] = FT_UN_RECIPROCAL,
    [FT_OP_ERF - FT_OP_NEG] = FT_UN_ERF,
};

static ft_status eval_unary_op(ft_op op, ft_tensor *x, ft_tensor **out) {
  ft_unary_kind k = kind_of[op - FT_OP_NEG];
  bool keeps_int = k == FT_UN_NEG || k == FT_UN_ABS || k == FT_UN_SIGN || k == FT_UN_SQUARE || k == FT_UN_RELU;
  ft_dtype dt = x->dtype;
  switch (x->dtype) {
    case FT_F32: case FT_F64: break;
    case FT_I32: if (!keeps_int) dt = FT_F32; break;
    case FT_BOOL:
      if (k == FT_UN_NEG)
        return ft_error(FT_ERR_TYPE, "Negation, the `-` operator, on a bool tensor is not supported. If you are trying "
                                     "to invert a mask, use the `~` or `logical_not()` operator instead.");
      if (k == FT_UN_RELU) return ft_error(FT_ERR_TYPE, "Boolean inputs not supported for relu");
      /* |b| and sign(b) are b itself; b * b is an integer in PyTorch */
      if (k == FT_UN_ABS || k == FT_UN_SIGN) return converted(x, FT_BOOL, out);
      dt = k == FT_UN_SQUARE ? FT_I32 : FT_F32;
      break;
    default: return ft_error(FT_ERR_TYPE, "%s: unsupported dtype code %d", ft_ops[op]->name, (int)x->dtype);
  }
  return unary_kernel(k, x, dt, out);
}

#define EVAL_UNARY(fn, OP)                                                                    \
  static ft_status fn(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {     \
    (void)nin; (void)at;                                                                      \
    return eval_unary_op(OP, in[0], out);                                                     \
  }
EVAL_UNARY(eval_neg, FT_OP_NEG)
EVAL_UNARY(eval_exp, FT_OP_EXP)
EVAL_UNARY(eval_log, FT_OP_LOG)
EVAL_UNARY(eval_log1p, FT_OP_LOG1P)
EVAL_UNARY(eval_expm1, FT_OP_EXPM1)
EVAL_UNARY(eval_sqrt, FT_OP_SQRT)
EVAL_UNARY(eval_rsqrt, FT_OP_RSQRT)
EVAL_UNARY(eval_abs, FT_OP_ABS)
EVAL_UNARY(eval_sign, FT_OP_SIGN)
EVAL_UNARY(eval_sin, FT_OP_SIN)
EVAL_UNARY(eval_cos, FT_OP_COS)
EVAL_UNARY(eval_tanh, FT_OP_TANH)
EVAL_UNARY(eval_sigmoid, FT_OP_SIGMOID)
EVAL_UNARY(eval_relu, FT_OP_RELU)
EVAL_UNARY(eval_square, FT_OP_SQUARE)
EVAL_UNARY(eval_reciprocal, FT_OP_RECIPROCAL)
EVAL_UNARY(eval_erf, FT_OP_ERF)

static bool integral(double v) { return isnan(v) || v == floor(v); }

/* Integer inputs stay integer when the bounds are integers (or absent), as
 * PyTorch's result_type(int tensor, int scalar) does; float bounds promote. */
static ft_status eval_clamp(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0];
  double lo = at->f[0], hi = at->f[1];
  if (isnan(lo) && isnan(hi)) return ft_error(FT_ERR_VALUE, "torch.clamp: At least one of 'min' or 'max' must not be None");
  if ((unsigned)x->dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "clamp: unsupported dtype code %d", (int)x->dtype);
  ft_dtype dt = x->dtype;
  if (!ft_is_float(dt)) dt = integral(lo) && integral(hi) ? FT_I32 : FT_F32;
  if (x->dtype != dt) {
    FT_TRY(converted(x, dt, out));
    x = *out;
  } else {
    FT_TRY(ft_tensor_empty(x->shape, x->ndim, dt, out));
  }
  if (x->numel)
    ft_k_clamp(dt, x->ndim, x->shape, ft_data_ptr(x), x->strides, ft_data_ptr(*out), (*out)->strides,
               isnan(lo) ? -INFINITY : lo, isnan(hi) ? INFINITY : hi);
  return FT_OK;
}

static ft_status eval_pow_scalar(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  ft_tensor *x = in[0];
  double c = at->f[0];
  if ((unsigned)x->dtype >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "pow: unsupported dtype code %d", (int)x->dtype);
  ft_dtype dt = x->dtype;
  if (!ft_is_float(dt)) {
    if (!isfinite(c) || c != floor(c)) dt = FT_F32;
    else if (c < 0) return ft_error(FT_ERR_VALUE, "Integers to negative integer powers are not allowed.");
    else dt = FT_I32;
  }
  /* PyTorch's own shortcuts (pow_tensor_scalar_optimized_kernel) */
  if (c == 2) return unary_kernel(FT_UN_SQUARE, x, dt, out);
  if (ft_is_float(dt)) {
    if (c == 0.5) return unary_kernel(FT_UN_SQRT, x, dt, out);
    if (c == -0.5) return unary_kernel(FT_UN_RSQRT, x, dt, out);
    if (c == -1) return unary_kernel(FT_UN_RECIPROCAL, x, dt, out);
  }
  if (x->dtype != dt) {
    FT_TRY(converted(x, dt, out));
    x = *out;
  } else {
    FT_TRY(ft_tensor_empty(x->shape, x->ndim, dt, out));
  }
  float cf = (float)c;
  /* an integer exponent past int32 only matters for x in {-1, 0, 1}: keep its parity */
  int32_t ci = dt != FT_I32 ? 0 : c <= 2147483647.0 ? (int32_t)c : fmod(c, 2.0) == 0 ? 2147483646 : 2147483647;
  const void *cp = dt == FT_F32 ? (const void *)&cf : dt == FT_F64 ? (const void *)&c : (const void *)&ci;
  int64_t zero[FT_MAX_DIMS] = {0};
  if (x->numel)
    ft_k_binary(FT_BIN_POW, dt, x->ndim, x->shape, ft_data_ptr(x), x->strides, cp, zero, ft_data_ptr(*out),
                (*out)->strides);
  return FT_OK;
}

/* ---- shared rule helpers (declared in unary_rules.h) ------------------------ */

ft_status ft_unary_rsub_scalar(double s, ft_tensor *x, ft_tensor **out) {
  ft_tensor *k;
  FT_TRY(ft_scalar(s, x->dtype, &k));
  ft_status st = ft_sub(k, x, out);
  ft_release(k);
  return st;
}

ft_status ft_unary_cmp_scalar(ft_op op, ft_tensor *x, double s, ft_tensor **out) {
  ft_tensor *k;
  FT_TRY(ft_scalar(s, x->dtype, &k));
  ft_status st = ft_compare(op, x, k, out);
  ft_release(k);
  return st;
}

/* out = g * d, g / d, or where(d, g, 0), cast to dt */
static ft_status apply_deriv(ft_tensor *g, ft_tensor *d, int mode, ft_dtype dt, ft_tensor **out) {
  ft_tensor *r = NULL, *z = NULL;
  ft_status st;
  if (mode == FT_D_MUL) FT_CHECK(ft_mul(g, d, &r));
  else if (mode == FT_D_DIV) FT_CHECK(ft_div(g, d, &r));
  else {
    FT_CHECK(ft_scalar(0.0, g->dtype, &z));
    FT_CHECK(ft_where(d, g, z, &r));
  }
  if (r->dtype != dt) FT_CHECK(ft_cast(r, dt, out));
  else { *out = r; r = NULL; }
fail:
  ft_release(r);
  ft_release(z);
  return st;
}

ft_status ft_unary_vjp_with(ft_unary_deriv_fn f, const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  if (!c->need[0]) return FT_OK;
  ft_tensor *d;
  int mode = FT_D_MUL;
  FT_TRY(f(c->in[0], c->out[0], c->at, &d, &mode));
  ft_status st = apply_deriv(g[0], d, mode, c->in_dtype[0], &gin[0]);
  ft_release(d);
  return st;
}

ft_status ft_unary_jvp_with(ft_unary_deriv_fn f, ft_tensor *x, ft_tensor *t, const ft_attrs *at, ft_tensor *y,
                            ft_tensor **tout) {
  if (!t) return FT_OK;
  ft_tensor *d;
  int mode = FT_D_MUL;
  FT_TRY(f(x, y, at, &d, &mode));
  ft_status st = apply_deriv(t, d, mode, y->dtype, tout);
  ft_release(d);
  return st;
}

/* ---- derivatives f'(x), in dispatched ops ------------------------------------ */

static ft_status d_exp(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at; (void)mode;
  ft_retain(y);
  *d = y;
  return FT_OK;
}
static ft_status d_log(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)at;
  *mode = FT_D_DIV; /* g / x, as PyTorch computes it */
  ft_retain(x);
  *d = x;
  return FT_OK;
}
static ft_status d_log1p(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)at;
  *mode = FT_D_DIV;
  return ft_add_scalar(x, 1.0, d);
}
static ft_status d_expm1(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at; (void)mode;
  return ft_add_scalar(y, 1.0, d);
}
static ft_status d_sqrt(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at;
  *mode = FT_D_DIV; /* g / (2 y) */
  return ft_mul_scalar(y, 2.0, d);
}
static ft_status d_rsqrt(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at; (void)mode;
  ft_tensor *c;
  FT_TRY(ft_pow_scalar(y, 3.0, &c)); /* -y^3 / 2 */
  ft_status st = ft_mul_scalar(c, -0.5, d);
  ft_release(c);
  return st;
}
static ft_status d_abs(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)at; (void)mode;
  return ft_sign(x, d); /* 0 at 0, as in PyTorch */
}
static ft_status d_sin(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)at; (void)mode;
  return ft_cos(x, d);
}
static ft_status d_cos(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)at; (void)mode;
  ft_tensor *s;
  FT_TRY(ft_sin(x, &s));
  ft_status st = ft_neg(s, d);
  ft_release(s);
  return st;
}
static ft_status d_tanh(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at; (void)mode;
  ft_tensor *s;
  FT_TRY(ft_mul(y, y, &s)); /* 1 - y^2 */
  ft_status st = ft_unary_rsub_scalar(1.0, s, d);
  ft_release(s);
  return st;
}
static ft_status d_sigmoid(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at; (void)mode;
  ft_tensor *s;
  FT_TRY(ft_unary_rsub_scalar(1.0, y, &s)); /* (1 - y) y */
  ft_status st = ft_mul(s, y, d);
  ft_release(s);
  return st;
}
static ft_status d_relu(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at;
  *mode = FT_D_MASK; /* threshold_backward: g where y > 0 */
  return ft_unary_cmp_scalar(FT_OP_GT, y, 0.0, d);
}
static ft_status d_square(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)at; (void)mode;
  return ft_mul_scalar(x, 2.0, d);
}
static ft_status d_reciprocal(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)x; (void)at; (void)mode;
  ft_tensor *s;
  FT_TRY(ft_mul(y, y, &s)); /* -y^2 */
  ft_status st = ft_neg(s, d);
  ft_release(s);
  return st;
}
static ft_status d_erf(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)at; (void)mode;
  ft_tensor *v[3] = {0};
  ft_status st;
  FT_CHECK(ft_mul(x, x, &v[0])); /* 2/sqrt(pi) exp(-x^2) */
  FT_CHECK(ft_neg(v[0], &v[1]));
  FT_CHECK(ft_exp(v[1], &v[2]));
  FT_CHECK(ft_mul_scalar(v[2], FT_2_SQRTPI, d));
fail:
  for (int i = 0; i < 3; i++) ft_release(v[i]);
  return st;
}
static ft_status d_clamp(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y;
  *mode = FT_D_MASK; /* g where lo <= x <= hi */
  double lo = at->f[0], hi = at->f[1];
  if (isnan(hi)) return ft_unary_cmp_scalar(FT_OP_GE, x, lo, d);
  if (isnan(lo)) return ft_unary_cmp_scalar(FT_OP_LE, x, hi, d);
  ft_tensor *a = NULL, *b = NULL;
  ft_status st;
  FT_CHECK(ft_unary_cmp_scalar(FT_OP_GE, x, lo, &a));
  FT_CHECK(ft_unary_cmp_scalar(FT_OP_LE, x, hi, &b));
  FT_CHECK(ft_mul(a, b, d)); /* bool * bool is logical and */
fail:
  ft_release(a);
  ft_release(b);
  return st;
}
static ft_status d_pow_scalar(ft_tensor *x, ft_tensor *y, const ft_attrs *at, ft_tensor **d, int *mode) {
  (void)y; (void)mode;
  double c = at->f[0];
  if (c == 0) return ft_zeros_like(x, d); /* not c * x^-1, which is NaN at 0 */
  ft_tensor *p;
  FT_TRY(ft_pow_scalar(x, c - 1.0, &p)); /* c x^(c-1) */
  ft_status st = ft_mul_scalar(p, c, d);
  ft_release(p);
  return st;
}

/* ---- rules ------------------------------------------------------------------ */

static ft_status vjp_neg(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  (void)c;
  return ft_neg(g[0], &gin[0]);
}
static ft_status jvp_neg(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at, ft_tensor *const *out,
                         ft_tensor **tout) {
  (void)in; (void)nin; (void)at; (void)out;
  return ft_neg(t[0], &tout[0]);
}
FT_UNARY_BATCH(neg, NEG)

/* sign is piecewise constant: gradient zero (but present, as in PyTorch) */
static ft_status vjp_sign(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  (void)g;
  return ft_zeros(FT_IN_SHAPE(c, 0), c->in_ndim[0], c->in_dtype[0], &gin[0]);
}
static ft_status jvp_sign(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                          ft_tensor *const *out, ft_tensor **tout) {
  (void)in; (void)t; (void)nin; (void)at; (void)out; (void)tout;
  return FT_OK; /* symbolic zero */
}
FT_UNARY_BATCH(sign, SIGN)

FT_UNARY_RULES(exp, EXP)
FT_UNARY_RULES(log, LOG)
FT_UNARY_RULES(log1p, LOG1P)
FT_UNARY_RULES(expm1, EXPM1)
FT_UNARY_RULES(sqrt, SQRT)
FT_UNARY_RULES(rsqrt, RSQRT)
FT_UNARY_RULES(abs, ABS)
FT_UNARY_RULES(sin, SIN)
FT_UNARY_RULES(cos, COS)
FT_UNARY_RULES(tanh, TANH)
FT_UNARY_RULES(sigmoid, SIGMOID)
FT_UNARY_RULES(relu, RELU)
FT_UNARY_RULES(square, SQUARE)
FT_UNARY_RULES(reciprocal, RECIPROCAL)
FT_UNARY_RULES(erf, ERF)
FT_UNARY_RULES(clamp, CLAMP)
FT_UNARY_RULES(pow_scalar, POW_SCALAR)

/* ---- the table entries ------------------------------------------------------ */

#define DIFF FT_F_DIFF
#define IN (FT_F_DIFF | FT_F_SAVE_IN)
#define OUT (FT_F_DIFF | FT_F_SAVE_OUT)
#define ENTRY(ID, name, flags, fuse) \
  const ft_op_def ft_opdef_##ID = {#name, 1, 1, flags, eval_##name, vjp_##name, jvp_##name, batch_##name, fuse};
#define UN(k) FT_FUSE_UN(FT_UN_##k)
ENTRY(NEG, neg, DIFF, UN(NEG))
ENTRY(EXP, exp, OUT, UN(EXP))
ENTRY(LOG, log, IN, UN(LOG))
ENTRY(LOG1P, log1p, IN, UN(LOG1P))
ENTRY(EXPM1, expm1, OUT, UN(EXPM1))
ENTRY(SQRT, sqrt, OUT, UN(SQRT))
ENTRY(RSQRT, rsqrt, OUT, UN(RSQRT))
ENTRY(ABS, abs, IN, UN(ABS))
ENTRY(SIGN, sign, DIFF, UN(SIGN))
ENTRY(SIN, sin, IN, UN(SIN))
ENTRY(COS, cos, IN, UN(COS))
ENTRY(TANH, tanh, OUT, UN(TANH))
ENTRY(SIGMOID, sigmoid, OUT, UN(SIGMOID))
ENTRY(RELU, relu, OUT, UN(RELU))
ENTRY(SQUARE, square, IN, UN(SQUARE))
ENTRY(RECIPROCAL, reciprocal, OUT, UN(RECIPROCAL))
ENTRY(ERF, erf, IN, UN(ERF))
ENTRY(CLAMP, clamp, IN, 0)
ENTRY(POW_SCALAR, pow_scalar, IN, 0)

/* ---- the C op API ------------------------------------------------------------ */

ft_status ft_unary(ft_op op, ft_tensor *x, ft_tensor **out) {
  if (op < FT_OP_NEG || op > FT_OP_ERF)
    return ft_error(FT_ERR_VALUE, "ft_unary: op %d is not an attribute-free unary op", (int)op);
  return ft_dispatch(op, 1, &x, NULL, out);
}
ft_status ft_neg(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_NEG, 1, &x, NULL, out); }
ft_status ft_exp(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_EXP, 1, &x, NULL, out); }
ft_status ft_log(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_LOG, 1, &x, NULL, out); }
ft_status ft_log1p(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_LOG1P, 1, &x, NULL, out); }
ft_status ft_expm1(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_EXPM1, 1, &x, NULL, out); }
ft_status ft_sqrt(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_SQRT, 1, &x, NULL, out); }
ft_status ft_rsqrt(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_RSQRT, 1, &x, NULL, out); }
ft_status ft_abs(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_ABS, 1, &x, NULL, out); }
ft_status ft_sign(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_SIGN, 1, &x, NULL, out); }
ft_status ft_sin(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_SIN, 1, &x, NULL, out); }
ft_status ft_cos(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_COS, 1, &x, NULL, out); }
ft_status ft_tanh(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_TANH, 1, &x, NULL, out); }
ft_status ft_sigmoid(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_SIGMOID, 1, &x, NULL, out); }
ft_status ft_relu(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_RELU, 1, &x, NULL, out); }
ft_status ft_square(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_SQUARE, 1, &x, NULL, out); }
ft_status ft_reciprocal(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_RECIPROCAL, 1, &x, NULL, out); }
ft_status ft_erf(ft_tensor *x, ft_tensor **out) { return ft_dispatch(FT_OP_ERF, 1, &x, NULL, out); }
ft_status ft_clamp(ft_tensor *x, double lo, double hi, ft_tensor **out) {
  ft_attrs at = {.nf = 2, .f = {lo, hi}};
  return ft_dispatch(FT_OP_CLAMP, 1, &x, &at, out);
}
ft_status ft_pow_scalar(ft_tensor *x, double e, ft_tensor **out) {
  ft_attrs at = {.nf = 1, .f = {e}};
  return ft_dispatch(FT_OP_POW_SCALAR, 1, &x, &at, out);
}
