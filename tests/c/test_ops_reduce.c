/* Reductions: evals against naive loops (contiguous, permuted and expanded
 * inputs; every dtype the op takes), VJPs against central differences in
 * float64, JVPs against directional differences, batching rules against a
 * loop over the batch, and the error paths.
 *
 * Build: every .c under src/ except src/api, with -Iinclude -Isrc -lm (see
 * the command in the family brief); exits non-zero on any failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

static int g_pass, g_fail;
static void ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void ok(bool cond, const char *fmt, ...) {
  if (cond) { g_pass++; return; }
  g_fail++;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
}
#define MUST(expr)                                                                        \
  do {                                                                                    \
    ft_status s_ = (expr);                                                                \
    if (s_) { fprintf(stderr, "%s:%d: %s -> %s\n", __FILE__, __LINE__, #expr, ft_last_error()); exit(2); } \
  } while (0)

static uint64_t g_rng = 0x2545F4914F6CDD1Dull;
static double urand(void) { /* [-1, 1) */
  g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
  return (double)(g_rng >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

/* ---- tensor helpers ----------------------------------------------------------- */

static void unravel(int64_t lin, const int64_t *shape, int nd, int64_t *idx) {
  for (int d = nd - 1; d >= 0; d--) {
    int64_t s = shape[d] > 0 ? shape[d] : 1;
    idx[d] = lin % s;
    lin /= s;
  }
}
static double get_at(const ft_tensor *t0, const int64_t *idx) {
  const ft_tensor *t = ft_base_value((ft_tensor *)t0);
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->strides[d];
  const void *p = t->storage->data;
  switch (t->dtype) {
    case FT_F32: return ((const float *)p)[off];
    case FT_F64: return ((const double *)p)[off];
    case FT_I32: return ((const int32_t *)p)[off];
    default: return ((const uint8_t *)p)[off];
  }
}
static double get_lin(const ft_tensor *t, int64_t lin) {
  int64_t idx[FT_MAX_DIMS];
  unravel(lin, t->shape, t->ndim, idx);
  return get_at(t, idx);
}
static void set_lin(ft_tensor *t, int64_t lin, double v) { /* contiguous plain */
  void *p = ft_data_ptr(t);
  switch (t->dtype) {
    case FT_F32: ((float *)p)[lin] = (float)v; break;
    case FT_F64: ((double *)p)[lin] = v; break;
    case FT_I32: ((int32_t *)p)[lin] = (int32_t)v; break;
    default: ((uint8_t *)p)[lin] = v != 0; break;
  }
}
static ft_tensor *mk(const int64_t *shape, int nd, ft_dtype dt, const double *vals) {
  ft_tensor *t;
  MUST(ft_tensor_empty(shape, nd, dt, &t));
  for (int64_t i = 0; i < t->numel; i++) set_lin(t, i, vals[i]);
  return t;
}
/* random values suited to the dtype: ints in [-4, 4], bools, floats in [lo, hi) */
static void fill_rand(double *v, int64_t n, ft_dtype dt, double lo, double hi) {
  for (int64_t i = 0; i < n; i++) {
    double u = (urand() + 1) / 2;
    if (dt == FT_I32) v[i] = floor(u * 9) - 4;
    else if (dt == FT_BOOL) v[i] = u < 0.5;
    else v[i] = lo + (hi - lo) * u;
    if (dt == FT_F32) v[i] = (float)v[i];
  }
}

/* Layouts for the same logical values: 0 contiguous, 1 permuted (a view of
 * the reversed-dims contiguous tensor), 2 expanded (stride 0 where size 1 in
 * `base`, which then has to hold the values repeated). */
static ft_tensor *mk_layout(const int64_t *shape, int nd, ft_dtype dt, const double *vals, int layout) {
  if (layout == 0 || nd < 2) return mk(shape, nd, dt, vals);
  int64_t rs[FT_MAX_DIMS] = {0}, st[FT_MAX_DIMS], idx[FT_MAX_DIMS];
  for (int d = 0; d < nd; d++) rs[d] = shape[nd - 1 - d];
  ft_tensor *base, *v;
  MUST(ft_tensor_empty(rs, nd, dt, &base));
  for (int d = 0; d < nd; d++) st[d] = base->strides[nd - 1 - d];
  MUST(ft_tensor_view_of(base, shape, st, nd, 0, &v));
  for (int64_t i = 0; i < v->numel; i++) {
    unravel(i, shape, nd, idx);
    int64_t off = 0;
    for (int d = 0; d < nd; d++) off += idx[d] * st[d];
    set_lin(base, off, vals[i]);
  }
  ft_release(base);
  return v;
}

static bool close_to(double a, double b, double tol) {
  if (isnan(a) && isnan(b)) return true;
  if (isinf(a) || isinf(b)) return a == b;
  return fabs(a - b) <= tol * (1 + fabs(b));
}

static bool same_shape(const ft_tensor *t, const int64_t *shape, int nd) {
  if (t->ndim != nd) return false;
  for (int d = 0; d < nd; d++)
    if (t->shape[d] != shape[d]) return false;
  return true;
}

/* ---- reference reductions -------------------------------------------------- */

enum { R_SUM, R_PROD, R_MAX, R_MIN, R_MEAN, R_VAR, R_LSE, R_NORM, R_ARGMAX, R_ARGMIN };

/* out[k] for each keepdim-shaped output index k; returns the output count */
static int64_t ref_reduce(int kind, const int64_t *shape, int nd, const double *x, const bool *red, double param,
                          double *out) {
  int64_t ks[FT_MAX_DIMS], idx[FT_MAX_DIMS];
  for (int d = 0; d < nd; d++) ks[d] = red[d] ? 1 : shape[d];
  int64_t no = ft_shape_numel(ks, nd), n = ft_shape_numel(shape, nd);
  for (int64_t k = 0; k < no; k++) {
    double acc = kind == R_PROD ? 1 : kind == R_MAX ? -INFINITY : kind == R_MIN ? INFINITY : 0, m = 0, best = 0;
    int64_t cnt = 0, bi = -1;
    /* first pass: the slice's elements in row-major order */
    double vals[4096];
    for (int64_t i = 0; i < n; i++) {
      unravel(i, shape, nd, idx);
      int64_t lin = 0;
      for (int d = 0; d < nd; d++) lin = lin * ks[d] + (red[d] ? 0 : idx[d]);
      if (lin != k) continue;
      vals[cnt++] = x[i];
    }
    for (int64_t j = 0; j < cnt; j++) {
      double v = vals[j];
      switch (kind) {
        case R_SUM: case R_MEAN: acc += v; break;
        case R_PROD: acc *= v; break;
        case R_MAX: acc = v > acc || isnan(v) ? v : acc; break;
        case R_MIN: acc = v < acc || isnan(v) ? v : acc; break;
        case R_ARGMAX: if (bi < 0 || v > best) { best = v; bi = j; } break;
        case R_ARGMIN: if (bi < 0 || v < best) { best = v; bi = j; } break;
        default: break;
      }
    }
    if (kind == R_MEAN) acc /= (double)cnt;
    if (kind == R_ARGMAX || kind == R_ARGMIN) acc = (double)bi;
    if (kind == R_VAR) {
      for (int64_t j = 0; j < cnt; j++) m += vals[j];
      m /= (double)cnt;
      for (int64_t j = 0; j < cnt; j++) acc += (vals[j] - m) * (vals[j] - m);
      acc /= fmax(0.0, (double)cnt - param);
    }
    if (kind == R_LSE) {
      double mx = -INFINITY;
      for (int64_t j = 0; j < cnt; j++) mx = fmax(mx, vals[j]);
      for (int64_t j = 0; j < cnt; j++) acc += exp(vals[j] - mx);
      acc = log(acc) + mx;
    }
    if (kind == R_NORM) {
      double p = param;
      if (isinf(p)) {
        acc = p > 0 ? 0 : INFINITY;
        for (int64_t j = 0; j < cnt; j++) acc = p > 0 ? fmax(acc, fabs(vals[j])) : fmin(acc, fabs(vals[j]));
      } else if (p == 0) {
        for (int64_t j = 0; j < cnt; j++) acc += vals[j] != 0;
      } else {
        for (int64_t j = 0; j < cnt; j++) acc += pow(fabs(vals[j]), p);
        acc = pow(acc, 1 / p);
      }
    }
    out[k] = acc;
  }
  return no;
}

/* ---- op calls ------------------------------------------------------------------- */

typedef struct {
  ft_op op;
  ft_attrs at;
  int out_idx; /* which output the checks look at */
} opcall;

static opcall red_call(ft_op op, const int64_t *dims, int nd, bool keep, double f) {
  opcall c = {.op = op};
  c.at.i[0] = nd;
  for (int k = 0; k < nd; k++) c.at.i[1 + k] = dims[k];
  c.at.i[nd + 1] = keep;
  c.at.ni = nd + 2;
  c.at.nf = 1;
  c.at.f[0] = f;
  return c;
}
static opcall dim_call(ft_op op, int64_t dim, bool keep, int out_idx) {
  opcall c = {.op = op, .out_idx = out_idx};
  c.at.i[0] = dim;
  c.at.i[1] = keep;
  c.at.ni = 2;
  return c;
}

static ft_status run_op(ft_tensor *x, const opcall *c, ft_tensor **y) {
  ft_tensor *outs[FT_MAX_OUTS] = {0};
  FT_TRY(ft_dispatch(c->op, 1, &x, &c->at, outs));
  for (int j = 0; j < ft_ops[c->op]->nout; j++)
    if (j != c->out_idx) ft_release(outs[j]);
  *y = outs[c->out_idx];
  return FT_OK;
}

/* ---- eval checks ----------------------------------------------------------------- */

static const char *dtn(ft_dtype dt) { return ft_dtype_name(dt); }

static void check_reduce_eval(const char *name, ft_op op, int kind, ft_dtype dt, ft_dtype odt, const int64_t *shape,
                              int nd, const int64_t *dims, int ndims, bool keep, double param, double lo, double hi) {
  double x[4096], ref[4096];
  int64_t n = ft_shape_numel(shape, nd);
  fill_rand(x, n, dt, lo, hi);
  bool red[FT_MAX_DIMS] = {0};
  for (int d = 0; d < nd; d++) red[d] = ndims == 0;
  for (int k = 0; k < ndims; k++) red[dims[k]] = true;
  int64_t no = ref_reduce(kind, shape, nd, x, red, param, ref);
  int64_t os[FT_MAX_DIMS];
  int ond = 0;
  for (int d = 0; d < nd; d++) if (!red[d] || keep) os[ond++] = red[d] ? 1 : shape[d];
  opcall c = red_call(op, dims, ndims, keep, param);
  if (kind == R_ARGMAX || kind == R_ARGMIN) c = dim_call(op, ndims ? dims[0] : -1, keep, 0);
  if (kind == R_ARGMAX || kind == R_ARGMIN) {
    if (ndims == 0) { /* flattened: keepdim gives all ones */
      ond = keep ? nd : 0;
      for (int d = 0; d < ond; d++) os[d] = 1;
    }
  }
  double tol = dt == FT_F32 || odt == FT_F32 ? 2e-5 : 1e-12;
  for (int layout = 0; layout < 2; layout++) {
    ft_tensor *t = mk_layout(shape, nd, dt, x, layout), *y = NULL;
    ft_status st = run_op(t, &c, &y);
    ok(st == FT_OK, "%s %s layout %d: %s", name, dtn(dt), layout, st ? ft_last_error() : "");
    if (!st) {
      ok(y->dtype == odt, "%s %s: dtype %s, expected %s", name, dtn(dt), dtn(y->dtype), dtn(odt));
      ok(same_shape(y, os, ond), "%s %s layout %d keep %d: wrong shape (ndim %d)", name, dtn(dt), layout, keep, y->ndim);
      bool good = y->numel == no;
      for (int64_t k = 0; good && k < no; k++) {
        double v = get_lin(y, k), r = ref[k];
        if (odt == FT_BOOL) r = r != 0;
        if (!close_to(v, r, tol)) {
          fprintf(stderr, "  %s[%lld] = %.17g, expected %.17g\n", name, (long long)k, v, r);
          good = false;
        }
      }
      ok(good, "%s %s layout %d keep %d ndims %d: values", name, dtn(dt), layout, keep, ndims);
    }
    ft_release(y);
    ft_release(t);
  }
}

static void test_reduce_evals(void) {
  const int64_t s3[3] = {3, 4, 5}, s1[1] = {7}, s2[2] = {6, 1};
  const int64_t d0[1] = {0}, d1[1] = {1}, d2[1] = {2}, d02[2] = {0, 2}, d12[2] = {1, 2}, d01[2] = {0, 1};
  const int64_t *dl[] = {NULL, d0, d1, d2, d02, d12, d01};
  const int nds[] = {0, 1, 1, 1, 2, 2, 2};
  ft_dtype dts[] = {FT_F32, FT_F64, FT_I32, FT_BOOL};
  for (int di = 0; di < 4; di++) {
    ft_dtype dt = dts[di], sdt = dt == FT_BOOL ? FT_I32 : dt;
    for (int k = 0; k < 7; k++)
      for (int keep = 0; keep < 2; keep++) {
        check_reduce_eval("sum", FT_OP_SUM, R_SUM, dt, sdt, s3, 3, dl[k], nds[k], keep, 0, -1, 1);
        check_reduce_eval("prod", FT_OP_PROD, R_PROD, dt, sdt, s3, 3, dl[k], nds[k], keep, 0, 0.7, 1.3);
        check_reduce_eval("amax", FT_OP_AMAX, R_MAX, dt, dt, s3, 3, dl[k], nds[k], keep, 0, -1, 1);
        check_reduce_eval("amin", FT_OP_AMIN, R_MIN, dt, dt, s3, 3, dl[k], nds[k], keep, 0, -1, 1);
        if (nds[k] <= 1) {
          check_reduce_eval("argmax", FT_OP_ARGMAX, R_ARGMAX, dt, FT_I32, s3, 3, dl[k], nds[k], keep, 0, -1, 1);
          check_reduce_eval("argmin", FT_OP_ARGMIN, R_ARGMIN, dt, FT_I32, s3, 3, dl[k], nds[k], keep, 0, -1, 1);
        }
        if (dt == FT_F32 || dt == FT_F64) {
          check_reduce_eval("mean", FT_OP_MEAN, R_MEAN, dt, dt, s3, 3, dl[k], nds[k], keep, 0, -1, 1);
          check_reduce_eval("var", FT_OP_VAR, R_VAR, dt, dt, s3, 3, dl[k], nds[k], keep, 1, -1, 1);
          check_reduce_eval("var0", FT_OP_VAR, R_VAR, dt, dt, s3, 3, dl[k], nds[k], keep, 0, -1, 1);
          check_reduce_eval("logsumexp", FT_OP_LOGSUMEXP, R_LSE, dt, dt, s3, 3, dl[k], nds[k], keep, 0, -30, 30);
          const double ps[] = {2, 1, 3, 0.5, 0, INFINITY, -INFINITY, -2};
          for (int pi = 0; pi < 8; pi++)
            check_reduce_eval("norm", FT_OP_NORM, R_NORM, dt, dt, s3, 3, dl[k], nds[k], keep, ps[pi], -1, 1);
        }
      }
    check_reduce_eval("sum1", FT_OP_SUM, R_SUM, dt, sdt, s1, 1, d0, 1, false, 0, -1, 1);
    check_reduce_eval("sum0d", FT_OP_SUM, R_SUM, dt, sdt, s1, 0, NULL, 0, false, 0, -1, 1);
    check_reduce_eval("amax0d", FT_OP_AMAX, R_MAX, dt, dt, s1, 0, NULL, 0, true, 0, -1, 1);
    check_reduce_eval("argmax-unit", FT_OP_ARGMAX, R_ARGMAX, dt, FT_I32, s2, 2, d1, 1, true, 0, -1, 1);
    check_reduce_eval("sum-unit", FT_OP_SUM, R_SUM, dt, sdt, s2, 2, d0, 1, true, 0, -1, 1);
  }
  /* a long row, for the kernels' blocked paths */
  const int64_t big[2] = {3, 1000};
  check_reduce_eval("sum-long", FT_OP_SUM, R_SUM, FT_F64, FT_F64, big, 2, d1, 1, false, 0, -1, 1);
  check_reduce_eval("amax-long", FT_OP_AMAX, R_MAX, FT_F32, FT_F32, big, 2, d0, 1, false, 0, -1, 1);
}

/* an expanded input (stride 0) reduces like its materialised values */
static void test_expanded(void) {
  const int64_t bs[2] = {1, 4}, es[3] = {3, 2, 4}, est[3] = {0, 0, 1};
  double v[4] = {1, -2, 3, 0.5};
  ft_tensor *b = mk(bs, 2, FT_F64, v), *e, *s, *m;
  MUST(ft_tensor_view_of(b, es, est, 3, 0, &e));
  int64_t d[2] = {0, 2};
  MUST(ft_sum(e, d, 2, false, &s));
  ok(s->ndim == 1 && s->shape[0] == 2 && get_lin(s, 0) == 3 * 2.5 && get_lin(s, 1) == 3 * 2.5, "sum of expanded");
  int64_t d1 = 1;
  MUST(ft_amax(e, &d1, 1, true, &m));
  ok(m->ndim == 3 && m->shape[1] == 1 && get_lin(m, 2) == 3 && get_lin(m, 3) == 0.5, "amax of expanded");
  ft_release(s); ft_release(m); ft_release(e); ft_release(b);
}

static void test_max_dim_eval(void) {
  const int64_t sh[2] = {3, 4};
  double v[12] = {1, 5, 5, 2, /**/ 7, 7, 0, 7, /**/ -1, -3, -3, -2};
  for (int layout = 0; layout < 2; layout++) {
    ft_tensor *x = mk_layout(sh, 2, FT_F64, v, layout), *vals, *idx;
    MUST(ft_max_dim(x, 1, false, &vals, &idx));
    ok(idx->dtype == FT_I32 && vals->ndim == 1 && vals->shape[0] == 3, "max_dim shapes");
    ok(get_lin(vals, 0) == 5 && get_lin(vals, 1) == 7 && get_lin(vals, 2) == -1, "max_dim values");
    ok(get_lin(idx, 0) == 1 && get_lin(idx, 1) == 0 && get_lin(idx, 2) == 0, "max_dim first index on ties");
    ft_release(vals); ft_release(idx);
    MUST(ft_min_dim(x, -2, true, &vals, &idx));
    ok(vals->ndim == 2 && vals->shape[0] == 1 && vals->shape[1] == 4, "min_dim keepdim shape");
    ok(get_lin(vals, 0) == -1 && get_lin(vals, 1) == -3 && get_lin(idx, 2) == 2 && get_lin(idx, 3) == 2, "min_dim");
    ft_release(vals); ft_release(idx);
    ft_release(x);
  }
  /* NaN wins, as in PyTorch */
  double nv[4] = {1, NAN, 3, NAN};
  const int64_t s4 = 4;
  ft_tensor *x = mk(&s4, 1, FT_F32, nv), *vals, *idx, *a;
  MUST(ft_max_dim(x, 0, false, &vals, &idx));
  ok(isnan(get_lin(vals, 0)) && get_lin(idx, 0) == 1, "max_dim NaN");
  MUST(ft_argmin(x, -100, false, &a));
  ok(get_lin(a, 0) == 1, "argmin flattened NaN");
  ft_release(vals); ft_release(idx); ft_release(a); ft_release(x);
  /* 0-d */
  ft_tensor *z;
  MUST(ft_scalar(4.5, FT_F64, &z));
  MUST(ft_max_dim(z, -1, true, &vals, &idx));
  ok(vals->ndim == 0 && get_lin(vals, 0) == 4.5 && get_lin(idx, 0) == 0, "max_dim of 0-d");
  ft_release(vals); ft_release(idx);
  MUST(ft_argmax(z, 0, true, &a));
  ok(a->ndim == 0 && get_lin(a, 0) == 0, "argmax of 0-d");
  ft_release(a); ft_release(z);
}

/* cumsum, softmax, log_softmax along each dim of a [3, 4, 5] tensor */
static void test_along_evals(void) {
  const int64_t sh[3] = {3, 4, 5};
  double x[60], ref[60];
  int64_t idx[3];
  ft_dtype dts[] = {FT_F32, FT_F64, FT_I32, FT_BOOL};
  for (int di = 0; di < 4; di++) {
    ft_dtype dt = dts[di];
    fill_rand(x, 60, dt, -3, 3);
    for (int dim = 0; dim < 3; dim++)
      for (int which = 0; which < 3; which++) {
        if (which > 0 && (dt == FT_I32 || dt == FT_BOOL)) continue;
        for (int64_t i = 0; i < 60; i++) {
          unravel(i, sh, 3, idx);
          int64_t st = 1;
          for (int d = dim + 1; d < 3; d++) st *= sh[d];
          int64_t first = i - idx[dim] * st;
          if (which == 0) {
            double acc = 0;
            for (int64_t r = 0; r <= idx[dim]; r++) acc += x[first + r * st];
            ref[i] = acc;
          } else {
            double mx = -INFINITY, s = 0;
            for (int64_t r = 0; r < sh[dim]; r++) mx = fmax(mx, x[first + r * st]);
            for (int64_t r = 0; r < sh[dim]; r++) s += exp(x[first + r * st] - mx);
            ref[i] = which == 1 ? exp(x[i] - mx) / s : x[i] - mx - log(s);
          }
        }
        ft_op op = which == 0 ? FT_OP_CUMSUM : which == 1 ? FT_OP_SOFTMAX : FT_OP_LOG_SOFTMAX;
        for (int layout = 0; layout < 2; layout++) {
          ft_tensor *t = mk_layout(sh, 3, dt, x, layout), *y;
          ft_attrs at = {.ni = 1, .i = {dim}};
          MUST(ft_dispatch(op, 1, &t, &at, &y));
          ft_dtype odt = dt == FT_BOOL ? FT_I32 : dt;
          bool good = y->dtype == odt && same_shape(y, sh, 3);
          double tol = dt == FT_F32 ? 1e-5 : 1e-12;
          for (int64_t i = 0; good && i < 60; i++)
            if (!close_to(get_lin(y, i), ref[i], tol)) {
              fprintf(stderr, "  %s[%lld] = %g, expected %g\n", ft_ops[op]->name, (long long)i, get_lin(y, i), ref[i]);
              good = false;
            }
          ok(good, "%s %s dim %d layout %d", ft_ops[op]->name, dtn(dt), dim, layout);
          ft_release(y);
          ft_release(t);
        }
      }
  }
  /* 0-d inputs */
  ft_tensor *z, *y;
  MUST(ft_scalar(2.0, FT_F32, &z));
  MUST(ft_softmax(z, -1, &y));
  ok(y->ndim == 0 && get_lin(y, 0) == 1, "softmax of 0-d");
  ft_release(y);
  MUST(ft_log_softmax(z, 0, &y));
  ok(y->ndim == 0 && get_lin(y, 0) == 0, "log_softmax of 0-d");
  ft_release(y);
  MUST(ft_cumsum(z, 0, &y));
  ok(y->ndim == 0 && get_lin(y, 0) == 2, "cumsum of 0-d");
  ft_release(y);
  ft_release(z);
  /* softmax of -inf rows and large values stays finite where it should */
  const int64_t s3 = 3;
  double v[3] = {1000, 1000, -INFINITY};
  ft_tensor *xl = mk(&s3, 1, FT_F32, v);
  MUST(ft_softmax(xl, 0, &y));
  ok(get_lin(y, 0) == 0.5 && get_lin(y, 2) == 0, "softmax of large values");
  ft_release(y);
  ft_release(xl);
}

static void test_composite_edges(void) {
  const int64_t s3 = 3, s0 = 0;
  double v[3] = {-INFINITY, -INFINITY, -INFINITY}, w[3] = {0, 0, 0};
  ft_tensor *x = mk(&s3, 1, FT_F64, v), *y, *e, *z = mk(&s3, 1, FT_F64, w);
  MUST(ft_logsumexp(x, NULL, 0, false, &y));
  ok(isinf(get_lin(y, 0)) && get_lin(y, 0) < 0, "logsumexp of -inf is -inf");
  ft_release(y);
  double big[3] = {1e4, 1e4, 1e4};
  ft_tensor *xb = mk(&s3, 1, FT_F32, big);
  MUST(ft_logsumexp(xb, NULL, 0, true, &y));
  ok(y->ndim == 1 && close_to(get_lin(y, 0), 1e4 + log(3.0), 1e-6), "logsumexp stable for large values");
  ft_release(y);
  MUST(ft_tensor_empty(&s0, 1, FT_F64, &e));
  MUST(ft_logsumexp(e, NULL, 0, false, &y));
  ok(isinf(get_lin(y, 0)) && get_lin(y, 0) < 0, "logsumexp of empty is -inf");
  ft_release(y);
  MUST(ft_sum(e, NULL, 0, false, &y));
  ok(get_lin(y, 0) == 0, "sum of empty is 0");
  ft_release(y);
  MUST(ft_prod(e, NULL, 0, false, &y));
  ok(get_lin(y, 0) == 1, "prod of empty is 1");
  ft_release(y);
  MUST(ft_mean(e, NULL, 0, false, &y));
  ok(isnan(get_lin(y, 0)), "mean of empty is nan");
  ft_release(y);
  MUST(ft_norm(e, 2, NULL, 0, false, &y));
  ok(get_lin(y, 0) == 0, "norm of empty is 0");
  ft_release(y);
  MUST(ft_std(z, NULL, 0, 1, false, &y));
  ok(get_lin(y, 0) == 0, "std of constant is 0");
  ft_release(y);
  double one[1] = {3};
  ft_tensor *o = mk(&(int64_t){1}, 1, FT_F64, one);
  MUST(ft_var(o, NULL, 0, 1, false, &y));
  ok(isnan(get_lin(y, 0)), "var of one element with correction 1 is nan");
  ft_release(y);
  /* int32 inputs: logsumexp promotes to float32 */
  double iv[3] = {1, 2, 3};
  ft_tensor *xi = mk(&s3, 1, FT_I32, iv);
  MUST(ft_logsumexp(xi, NULL, 0, false, &y));
  ok(y->dtype == FT_F32 && close_to(get_lin(y, 0), log(exp(1) + exp(2) + exp(3)), 1e-6), "logsumexp of int32");
  ft_release(y);
  ft_release(xi); ft_release(o); ft_release(e); ft_release(x); ft_release(xb); ft_release(z);
}

static void expect_error(ft_status st, ft_status code, const char *needle, const char *what) {
  ok(st == code && strstr(ft_last_error(), needle) != NULL, "%s: status %d, message '%s' (wanted '%s')", what, st,
     st ? ft_last_error() : "", needle);
}

static void test_errors(void) {
  const int64_t sh[2] = {2, 0}, s2[2] = {2, 3};
  ft_tensor *e, *x, *y = NULL, *i = NULL, *xi;
  MUST(ft_tensor_empty(sh, 2, FT_F32, &e));
  MUST(ft_zeros(s2, 2, FT_F32, &x));
  MUST(ft_zeros(s2, 2, FT_I32, &xi));
  int64_t d1 = 1, d0 = 0, bad = 2, dup[2] = {1, -1};
  expect_error(ft_amax(e, &d1, 1, false, &y), FT_ERR_INDEX, "amax(): Expected reduction dim 1 to have non-zero size.",
               "amax empty dim");
  expect_error(ft_amin(e, NULL, 0, false, &y), FT_ERR_INDEX, "amin(): Expected reduction dim 1 to have non-zero size.",
               "amin empty all");
  MUST(ft_amax(e, &d0, 1, false, &y)); /* reducing the non-empty dim is fine */
  ok(y->ndim == 1 && y->shape[0] == 0, "amax over a non-empty dim of an empty tensor");
  ft_release(y);
  expect_error(ft_max_dim(e, 1, false, &y, &i), FT_ERR_INDEX, "max(): Expected reduction dim 1 to have non-zero size.",
               "max_dim empty");
  expect_error(ft_argmax(e, -100, false, &y), FT_ERR_INDEX,
               "argmax(): Expected reduction dim to be specified for input.numel() == 0.", "argmax empty");
  expect_error(ft_sum(x, &bad, 1, false, &y), FT_ERR_INDEX,
               "Dimension out of range (expected to be in range of [-2, 1], but got 2)", "sum dim out of range");
  expect_error(ft_sum(x, dup, 2, false, &y), FT_ERR_VALUE, "dim 1 appears multiple times in the list of dims",
               "sum duplicate dims");
  expect_error(ft_softmax(xi, 0, &y), FT_ERR_TYPE, "softmax", "softmax of int32");
  expect_error(ft_mean(xi, NULL, 0, false, &y), FT_ERR_TYPE,
               "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: Int",
               "mean of int32");
  expect_error(ft_var(xi, NULL, 0, 1, false, &y), FT_ERR_TYPE, "std and var only support floating point", "var of int");
  expect_error(ft_norm(xi, 2, NULL, 0, false, &y), FT_ERR_TYPE, "Expected a floating point or complex tensor", "norm int");
  expect_error(ft_norm(e, INFINITY, NULL, 0, false, &y), FT_ERR_VALUE, "cannot compute the inf norm on an empty tensor",
               "inf norm of empty");
  expect_error(ft_cumsum(x, 2, &y), FT_ERR_INDEX, "Dimension out of range", "cumsum dim out of range");
  /* malformed attributes straight into the dispatcher (as JavaScript could send) */
  ft_attrs at = {.ni = 3, .i = {1, 5, 0}};
  expect_error(ft_dispatch(FT_OP_SUM, 1, &x, &at, &y), FT_ERR_INDEX, "Dimension out of range", "sum attr out of range");
  ft_attrs at2 = {.ni = 4, .i = {2, 1, 1, 0}};
  expect_error(ft_dispatch(FT_OP_PROD, 1, &x, &at2, &y), FT_ERR_VALUE, "appears multiple times", "prod attr duplicate");
  ft_attrs at3 = {.ni = 1, .i = {7}};
  expect_error(ft_dispatch(FT_OP_AMAX, 1, &x, &at3, &y), FT_ERR_VALUE, "malformed", "amax malformed attrs");
  ft_release(e); ft_release(x); ft_release(xi);
}

/* ---- gradients ---------------------------------------------------------------- */

/* sum(op(x) * w) for plain x, as a double */
static double loss_plain(const int64_t *shape, int nd, const double *xv, const opcall *c, const ft_tensor *w) {
  ft_tensor *x = mk(shape, nd, FT_F64, xv), *y;
  MUST(run_op(x, c, &y));
  double s = 0;
  for (int64_t k = 0; k < y->numel; k++) s += get_lin(y, k) * get_lin(w, k);
  ft_release(y);
  ft_release(x);
  return s;
}

/* Reverse mode through the eager level against central differences. */
static void check_vjp(const char *name, const int64_t *shape, int nd, const double *xv, const opcall *c, double tol) {
  ft_tensor *x = mk(shape, nd, FT_F64, xv), *y, *w, *p, *loss;
  MUST(ft_requires_grad_(x, true));
  MUST(run_op(x, c, &y));
  double wv[4096];
  fill_rand(wv, y->numel, FT_F64, -1, 1);
  w = mk(y->shape, y->ndim, FT_F64, wv);
  MUST(ft_mul(y, w, &p));
  MUST(ft_sum(p, NULL, 0, false, &loss));
  ft_status st = ft_backward(FT_EAGER_LEVEL, 1, &loss, NULL, false, false);
  ok(st == FT_OK, "%s: backward: %s", name, st ? ft_last_error() : "");
  ft_tensor *g = x->grad;
  ok(g && same_shape(g, shape, nd) && g->dtype == FT_F64, "%s: grad shape/dtype", name);
  int64_t n = ft_shape_numel(shape, nd);
  double xs[4096];
  memcpy(xs, xv, sizeof(double) * (size_t)n);
  bool good = g != NULL;
  for (int64_t i = 0; good && i < n; i++) {
    double h = 1e-6 * fmax(1, fabs(xv[i]));
    xs[i] = xv[i] + h;
    double lp = loss_plain(shape, nd, xs, c, w);
    xs[i] = xv[i] - h;
    double lm = loss_plain(shape, nd, xs, c, w);
    xs[i] = xv[i];
    double fd = (lp - lm) / (2 * h), an = get_lin(g, i);
    if (!close_to(an, fd, tol)) {
      fprintf(stderr, "  %s: d/dx[%lld] = %.10g, finite difference %.10g\n", name, (long long)i, an, fd);
      good = false;
    }
  }
  ok(good, "%s: gradient matches finite differences", name);
  ft_release(loss); ft_release(p); ft_release(w); ft_release(y); ft_release(x);
}

/* The gradient of sum(op(x) * w) at x, as plain values (for kinks FD can't see). */
static void grad_at(const int64_t *shape, int nd, const double *xv, const opcall *c, const double *wv, double *out) {
  ft_tensor *x = mk(shape, nd, FT_F64, xv), *y, *w, *p, *loss;
  MUST(ft_requires_grad_(x, true));
  MUST(run_op(x, c, &y));
  w = mk(y->shape, y->ndim, FT_F64, wv);
  MUST(ft_mul(y, w, &p));
  MUST(ft_sum(p, NULL, 0, false, &loss));
  MUST(ft_backward(FT_EAGER_LEVEL, 1, &loss, NULL, false, false));
  for (int64_t i = 0; i < x->numel; i++) out[i] = get_lin(x->grad, i);
  ft_release(loss); ft_release(p); ft_release(w); ft_release(y); ft_release(x);
}

static void test_vjps(void) {
  const int64_t s3[3] = {2, 3, 4}, s1 = 5;
  double x[24], xp[24], xs[5];
  fill_rand(x, 24, FT_F64, -2, 2);
  fill_rand(xp, 24, FT_F64, 0.5, 1.5);
  fill_rand(xs, 5, FT_F64, -2, 2);
  const int64_t d1[1] = {1}, d02[2] = {0, 2}, d2[1] = {2};
  for (int keep = 0; keep < 2; keep++) {
    const int64_t *dl[] = {NULL, d1, d02};
    const int nds[] = {0, 1, 2};
    for (int k = 0; k < 3; k++) {
      char nm[64];
      opcall c;
#define VJP(label, OP, F, xs_)                                     \
  c = red_call(OP, dl[k], nds[k], keep, F);                        \
  snprintf(nm, sizeof nm, "%s dims%d keep%d", label, k, keep);     \
  check_vjp(nm, s3, 3, xs_, &c, 1e-6);
      VJP("sum", FT_OP_SUM, 0, x)
      VJP("prod", FT_OP_PROD, 0, xp)
      VJP("amax", FT_OP_AMAX, 0, x)
      VJP("amin", FT_OP_AMIN, 0, x)
      VJP("mean", FT_OP_MEAN, 0, x)
      VJP("var", FT_OP_VAR, 1, x)
      VJP("var0", FT_OP_VAR, 0, x)
      VJP("std", FT_OP_STD, 1, x)
      VJP("logsumexp", FT_OP_LOGSUMEXP, 0, x)
      VJP("norm2", FT_OP_NORM, 2, x)
      VJP("norm1", FT_OP_NORM, 1, x)
      VJP("norm3", FT_OP_NORM, 3, x)
      VJP("norm-inf", FT_OP_NORM, INFINITY, x)
      VJP("norm-ninf", FT_OP_NORM, -INFINITY, x)
      VJP("norm0.5", FT_OP_NORM, 0.5, xp)
#undef VJP
    }
    for (int dim = 0; dim < 3; dim++) {
      char nm[64];
      opcall c = dim_call(FT_OP_MAX_DIM, dim, keep, 0);
      snprintf(nm, sizeof nm, "max_dim %d keep%d", dim, keep);
      check_vjp(nm, s3, 3, x, &c, 1e-6);
      c = dim_call(FT_OP_MIN_DIM, dim, keep, 0);
      snprintf(nm, sizeof nm, "min_dim %d keep%d", dim, keep);
      check_vjp(nm, s3, 3, x, &c, 1e-6);
      if (keep) continue;
      opcall a = {.op = FT_OP_CUMSUM, .at = {.ni = 1, .i = {dim}}};
      snprintf(nm, sizeof nm, "cumsum %d", dim);
      check_vjp(nm, s3, 3, x, &a, 1e-6);
      a.op = FT_OP_SOFTMAX;
      snprintf(nm, sizeof nm, "softmax %d", dim);
      check_vjp(nm, s3, 3, x, &a, 1e-6);
      a.op = FT_OP_LOG_SOFTMAX;
      snprintf(nm, sizeof nm, "log_softmax %d", dim);
      check_vjp(nm, s3, 3, x, &a, 1e-6);
    }
  }
  opcall c = red_call(FT_OP_SUM, d2, 0, false, 0);
  check_vjp("sum 1-d", &s1, 1, xs, &c, 1e-6);
  c = red_call(FT_OP_PROD, NULL, 0, false, 0);
  check_vjp("prod 0-d", &s1, 0, xs, &c, 1e-6);

  /* prod with zeros: one zero gets the product of the others, two zeros give 0 */
  const int64_t s4 = 4;
  double z1[4] = {2, 0, 3, -1}, z2[4] = {2, 0, 0, 5}, wv[1] = {1}, g[4];
  c = red_call(FT_OP_PROD, NULL, 0, false, 0);
  grad_at(&s4, 1, z1, &c, wv, g);
  ok(g[0] == 0 && g[1] == -6 && g[2] == 0 && g[3] == 0, "prod grad with one zero: [%g %g %g %g]", g[0], g[1], g[2], g[3]);
  grad_at(&s4, 1, z2, &c, wv, g);
  ok(g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0, "prod grad with two zeros");
  check_vjp("prod with one zero (FD)", &s4, 1, z1, &c, 1e-6);
  /* amax ties share the gradient evenly; max_dim gives it to the first index */
  double t[4] = {3, 1, 3, 3};
  c = red_call(FT_OP_AMAX, NULL, 0, false, 0);
  grad_at(&s4, 1, t, &c, wv, g);
  ok(close_to(g[0], 1.0 / 3, 1e-15) && g[1] == 0 && close_to(g[3], 1.0 / 3, 1e-15), "amax ties share the gradient");
  c = dim_call(FT_OP_MAX_DIM, 0, false, 0);
  grad_at(&s4, 1, t, &c, wv, g);
  ok(g[0] == 1 && g[2] == 0 && g[3] == 0, "max_dim gradient goes to the first index");
  /* norm and std at zero: gradient 0, not NaN (PyTorch's masked backward) */
  double zz[4] = {0, 0, 0, 0}, cc[4] = {2, 2, 2, 2};
  const double ps[] = {2, 3, 0.5, 1};
  for (int pi = 0; pi < 4; pi++) {
    c = red_call(FT_OP_NORM, NULL, 0, false, ps[pi]);
    grad_at(&s4, 1, zz, &c, wv, g);
    ok(g[0] == 0 && g[3] == 0, "norm p=%g gradient at zero is 0 (got %g)", ps[pi], g[0]);
  }
  c = red_call(FT_OP_STD, NULL, 0, false, 1);
  grad_at(&s4, 1, cc, &c, wv, g);
  ok(g[0] == 0 && g[3] == 0, "std gradient of a constant is 0 (got %g)", g[0]);
}

/* grad of grad: d/dx sum(w * d/dx logsumexp(x)) etc. via create_graph, against FD of the first gradient */
static void check_double_backward(const char *name, const opcall *c) {
  const int64_t sh[2] = {3, 4};
  double xv[12], wv[12];
  fill_rand(xv, 12, FT_F64, -1, 1);
  for (int i = 0; i < 12; i++) xv[i] += i % 2 ? 0.3 : -0.2; /* keep away from ties and zeros */
  fill_rand(wv, 12, FT_F64, -1, 1);
  ft_tensor *x = mk(sh, 2, FT_F64, xv), *y, *l, *w = mk(sh, 2, FT_F64, wv), *p, *l2;
  MUST(ft_requires_grad_(x, true));
  MUST(run_op(x, c, &y));
  MUST(ft_sum(y, NULL, 0, false, &l));
  MUST(ft_backward(FT_EAGER_LEVEL, 1, &l, NULL, true, true));
  ft_tensor *g1 = x->grad;
  ft_retain(g1);
  ft_release(x->grad);
  x->grad = NULL;
  /* g1 is tracked at the eager level: differentiate sum(g1 * w) */
  MUST(ft_mul(g1, w, &p));
  MUST(ft_sum(p, NULL, 0, false, &l2));
  ft_status st = ft_backward(FT_EAGER_LEVEL, 1, &l2, NULL, false, false);
  ok(st == FT_OK && x->grad, "%s double backward runs: %s", name, st ? ft_last_error() : "");
  bool good = st == FT_OK && x->grad;
  for (int i = 0; good && i < 12; i++) {
    double h = 1e-5, gp = 0, gm = 0, g[12];
    double wone[12];
    for (int k = 0; k < 12; k++) wone[k] = 1;
    xv[i] += h;
    grad_at(sh, 2, xv, c, wone, g);
    for (int k = 0; k < 12; k++) gp += g[k] * wv[k];
    xv[i] -= 2 * h;
    grad_at(sh, 2, xv, c, wone, g);
    for (int k = 0; k < 12; k++) gm += g[k] * wv[k];
    xv[i] += h;
    double fd = (gp - gm) / (2 * h), an = get_lin(x->grad, i);
    if (!close_to(an, fd, 1e-5)) {
      fprintf(stderr, "  %s: second derivative [%d] = %g, FD %g\n", name, i, an, fd);
      good = false;
    }
  }
  ok(good, "%s: second derivative matches FD of the gradient", name);
  ft_release(l2); ft_release(p); ft_release(g1); ft_release(l); ft_release(y); ft_release(w); ft_release(x);
}

static void test_double_backward(void) {
  const int64_t d1[1] = {1};
  opcall c = red_call(FT_OP_LOGSUMEXP, d1, 1, false, 0);
  check_double_backward("logsumexp", &c);
  c = red_call(FT_OP_PROD, d1, 1, true, 0);
  check_double_backward("prod", &c);
  c = red_call(FT_OP_NORM, NULL, 0, false, 2);
  check_double_backward("norm", &c);
  c = red_call(FT_OP_STD, d1, 1, false, 1);
  check_double_backward("std", &c);
  opcall s = {.op = FT_OP_SOFTMAX, .at = {.ni = 1, .i = {1}}};
  check_double_backward("softmax", &s);
  s.op = FT_OP_LOG_SOFTMAX;
  check_double_backward("log_softmax", &s);
  c = red_call(FT_OP_VAR, NULL, 0, true, 0);
  check_double_backward("var", &c);
  c = red_call(FT_OP_NORM, d1, 1, false, 3);
  check_double_backward("norm3", &c);
  /* amax, max_dim and cumsum have gradients that are constant in x */
}

/* ---- forward mode --------------------------------------------------------------- */

static void check_jvp(const char *name, const int64_t *shape, int nd, const double *xv, const opcall *c) {
  int64_t n = ft_shape_numel(shape, nd);
  double tv[4096], xs[4096] = {0};
  fill_rand(tv, n, FT_F64, -1, 1);
  int32_t J;
  MUST(ft_level_push(FT_LV_JVP, 0, 0, &J));
  ft_tensor *x = mk(shape, nd, FT_F64, xv), *t = mk(shape, nd, FT_F64, tv), *xd, *y;
  MUST(ft_wrapper_new(J, x, &xd));
  xd->tangent = t;
  ft_status st = run_op(xd, c, &y);
  ok(st == FT_OK, "%s jvp: %s", name, st ? ft_last_error() : "");
  if (!st && !(y->level == J && y->tangent)) fprintf(stderr, "  %s jvp: level %d, attrs %lld %lld %lld %lld\n", name, y->level, (long long)c->at.i[0], (long long)c->at.i[1], (long long)c->at.i[2], (long long)c->at.i[3]);
  if (st) { ft_level_pop(J); ft_release(xd); ft_release(x); return; }
  ok(y->level == J && y->tangent && same_shape(y->tangent, y->shape, y->ndim) && y->tangent->dtype == y->dtype,
     "%s: tangent present with the output's shape and dtype", name);
  ft_tensor *ty = y->tangent;
  ft_retain(ty);
  MUST(ft_level_pop(J));
  /* directional difference */
  double h = 1e-6;
  for (int64_t i = 0; i < n; i++) xs[i] = xv[i] + h * tv[i];
  ft_tensor *xp = mk(shape, nd, FT_F64, xs), *yp, *ym;
  for (int64_t i = 0; i < n; i++) xs[i] = xv[i] - h * tv[i];
  ft_tensor *xm = mk(shape, nd, FT_F64, xs);
  MUST(run_op(xp, c, &yp));
  MUST(run_op(xm, c, &ym));
  bool good = ty->numel == yp->numel;
  for (int64_t k = 0; good && k < yp->numel; k++) {
    double fd = (get_lin(yp, k) - get_lin(ym, k)) / (2 * h), an = get_lin(ty, k);
    if (!close_to(an, fd, 1e-6)) {
      fprintf(stderr, "  %s: tangent[%lld] = %g, FD %g\n", name, (long long)k, an, fd);
      good = false;
    }
  }
  ok(good, "%s: JVP matches directional differences", name);
  ft_release(ty); ft_release(y); ft_release(xd); ft_release(x);
  ft_release(xp); ft_release(xm); ft_release(yp); ft_release(ym);
}

static void test_jvps(void) {
  const int64_t s3[3] = {2, 3, 4};
  double x[24], xp[24];
  fill_rand(x, 24, FT_F64, -2, 2);
  fill_rand(xp, 24, FT_F64, 0.5, 1.5);
  const int64_t d1[1] = {1}, d02[2] = {0, 2};
  const int64_t *dl[] = {NULL, d1, d02};
  const int nds[] = {0, 1, 2};
  for (int k = 0; k < 3; k++)
    for (int keep = 0; keep < 2; keep++) {
      opcall c = red_call(FT_OP_SUM, dl[k], nds[k], keep, 0);
      check_jvp("sum", s3, 3, x, &c);
      c.op = FT_OP_PROD;
      check_jvp("prod", s3, 3, xp, &c);
      c.op = FT_OP_AMAX;
      check_jvp("amax", s3, 3, x, &c);
      c.op = FT_OP_AMIN;
      check_jvp("amin", s3, 3, x, &c);
      c.op = FT_OP_LOGSUMEXP;
      check_jvp("logsumexp", s3, 3, x, &c);
      c.op = FT_OP_STD;
      check_jvp("std", s3, 3, x, &c);
      c.op = FT_OP_NORM;
      c.at.f[0] = 2;
      check_jvp("norm", s3, 3, x, &c);
      c.at.f[0] = 0.5;
      check_jvp("norm0.5", s3, 3, x, &c);
    }
  for (int dim = 0; dim < 3; dim++) {
    opcall c = dim_call(FT_OP_MAX_DIM, dim, dim == 1, 0);
    check_jvp("max_dim", s3, 3, x, &c);
    c.op = FT_OP_MIN_DIM;
    check_jvp("min_dim", s3, 3, x, &c);
    opcall a = {.op = FT_OP_CUMSUM, .at = {.ni = 1, .i = {dim}}};
    check_jvp("cumsum", s3, 3, x, &a);
    a.op = FT_OP_SOFTMAX;
    check_jvp("softmax", s3, 3, x, &a);
    a.op = FT_OP_LOG_SOFTMAX;
    check_jvp("log_softmax", s3, 3, x, &a);
  }
  /* prod with a zero: the tangent is the product of the others times its tangent */
  double z[24];
  memcpy(z, xp, sizeof z);
  z[5] = 0;
  opcall c = red_call(FT_OP_PROD, d1, 1, false, 0);
  check_jvp("prod with a zero", s3, 3, z, &c);
}

/* ---- batching ----------------------------------------------------------------------- */

/* vmap(op) over dim `bd` of X against op on each slice (logical shape `shape`). */
static void check_batch(const char *name, const int64_t *shape, int nd, int bd, const opcall *c, ft_dtype dt) {
  const int64_t B = 3;
  int64_t ps[FT_MAX_DIMS];
  for (int d = 0, k = 0; d <= nd; d++) ps[d] = d == bd ? B : shape[k++];
  int64_t n = ft_shape_numel(ps, nd + 1);
  double xv[4096];
  fill_rand(xv, n, dt, -2, 2);
  ft_tensor *X = mk(ps, nd + 1, dt, xv), *xw, *yw;
  int32_t V;
  MUST(ft_level_push(FT_LV_VMAP, B, 0, &V));
  MUST(ft_wrapper_new(V, X, &xw));
  xw->bdim = bd;
  xw->ndim = nd;
  memcpy(xw->shape, shape, sizeof(int64_t) * (size_t)nd);
  xw->numel = ft_shape_numel(shape, nd);
  ft_status st = run_op(xw, c, &yw);
  ok(st == FT_OK, "%s vmap bdim %d: %s", name, bd, st ? ft_last_error() : "");
  if (st) { ft_level_pop(V); ft_release(xw); ft_release(X); return; }
  ft_tensor *Y = yw->level == V ? yw->inner : yw;
  int ybd = yw->level == V ? yw->bdim : -1;
  ft_retain(Y);
  MUST(ft_level_pop(V));
  ok(ybd >= 0 && Y->ndim == yw->ndim + 1 && Y->shape[ybd] == B, "%s vmap bdim %d: output batched", name, bd);
  bool good = ybd >= 0;
  for (int64_t b = 0; good && b < B; b++) {
    /* slice b of X and of Y, as views */
    int64_t ss[FT_MAX_DIMS], st2[FT_MAX_DIMS];
    for (int d = 0, k = 0; d <= nd; d++)
      if (d != bd) { ss[k] = X->shape[d]; st2[k++] = X->strides[d]; }
    ft_tensor *xb, *yb, *ref;
    MUST(ft_tensor_view_of(X, ss, st2, nd, X->offset + b * X->strides[bd], &xb));
    for (int d = 0, k = 0; d < Y->ndim; d++)
      if (d != ybd) { ss[k] = Y->shape[d]; st2[k++] = Y->strides[d]; }
    MUST(ft_tensor_view_of(Y, ss, st2, Y->ndim - 1, Y->offset + b * Y->strides[ybd], &yb));
    MUST(run_op(xb, c, &ref));
    good = same_shape(yb, ref->shape, ref->ndim) && yb->dtype == ref->dtype;
    for (int64_t k = 0; good && k < ref->numel; k++)
      if (!close_to(get_lin(yb, k), get_lin(ref, k), 1e-12)) {
        fprintf(stderr, "  %s vmap: batch %lld [%lld] = %g, expected %g\n", name, (long long)b, (long long)k,
                get_lin(yb, k), get_lin(ref, k));
        good = false;
      }
    ft_release(xb); ft_release(yb); ft_release(ref);
  }
  ok(good, "%s vmap bdim %d: matches the per-example results", name, bd);
  ft_release(Y); ft_release(yw); ft_release(xw); ft_release(X);
}

static void test_batching(void) {
  const int64_t s3[3] = {2, 3, 4}, s0[1] = {1};
  const int64_t d1[1] = {1}, d02[2] = {0, 2};
  const int64_t *dl[] = {NULL, d1, d02};
  const int nds[] = {0, 1, 2};
  ft_op rops[] = {FT_OP_SUM, FT_OP_PROD, FT_OP_AMAX, FT_OP_AMIN, FT_OP_MEAN, FT_OP_VAR, FT_OP_STD, FT_OP_LOGSUMEXP,
                  FT_OP_NORM};
  for (int bd = 0; bd <= 3; bd += 1)
    for (int k = 0; k < 3; k++)
      for (int keep = 0; keep < 2; keep++)
        for (int r = 0; r < 9; r++) {
          opcall c = red_call(rops[r], dl[k], nds[k], keep, rops[r] == FT_OP_NORM ? 3 : 1);
          check_batch(ft_ops[rops[r]]->name, s3, 3, bd, &c, FT_F64);
        }
  for (int bd = 0; bd <= 3; bd++)
    for (int dim = 0; dim < 3; dim++)
      for (int keep = 0; keep < 2; keep++) {
        opcall c = dim_call(FT_OP_MAX_DIM, dim, keep, 0);
        check_batch("max_dim values", s3, 3, bd, &c, FT_F64);
        c.out_idx = 1;
        check_batch("max_dim indices", s3, 3, bd, &c, FT_F64);
        c = dim_call(FT_OP_ARGMIN, dim, keep, 0);
        check_batch("argmin", s3, 3, bd, &c, FT_I32);
        c = dim_call(FT_OP_ARGMAX, -1, keep, 0);
        check_batch("argmax flat", s3, 3, bd, &c, FT_F64);
        opcall a = {.op = FT_OP_CUMSUM, .at = {.ni = 1, .i = {dim}}};
        check_batch("cumsum", s3, 3, bd, &a, FT_I32);
        a.op = FT_OP_SOFTMAX;
        check_batch("softmax", s3, 3, bd, &a, FT_F64);
        a.op = FT_OP_LOG_SOFTMAX;
        check_batch("log_softmax", s3, 3, bd, &a, FT_F64);
      }
  /* logical 0-d examples */
  for (int r = 0; r < 9; r++) {
    opcall c = red_call(rops[r], NULL, 0, true, 2);
    check_batch(ft_ops[rops[r]]->name, s0, 0, 0, &c, FT_F64);
  }
  opcall c = dim_call(FT_OP_MAX_DIM, 0, true, 1);
  check_batch("max_dim 0-d", s0, 0, 0, &c, FT_F64);
  c = dim_call(FT_OP_ARGMAX, -1, true, 0);
  check_batch("argmax 0-d", s0, 0, 0, &c, FT_F64);
  opcall a = {.op = FT_OP_SOFTMAX, .at = {.ni = 1, .i = {0}}};
  check_batch("softmax 0-d", s0, 0, 0, &a, FT_F64);
  a.op = FT_OP_CUMSUM;
  check_batch("cumsum 0-d", s0, 0, 0, &a, FT_BOOL);
}

/* vmap(grad(f)): per-example gradients through the batching rules of the ops
 * the VJPs use, against the eager gradient of each example. */
static void check_vmap_grad(const char *name, const int64_t *shape, int nd, const opcall *c, const char *init) {
  const int64_t B = 3;
  int64_t ps[FT_MAX_DIMS];
  ps[0] = B;
  memcpy(ps + 1, shape, sizeof(int64_t) * (size_t)nd);
  int64_t n = ft_shape_numel(shape, nd);
  double xv[4096], wv[4096], g[4096];
  fill_rand(xv, B * n, FT_F64, init[0] == 'p' ? 0.5 : -2, init[0] == 'p' ? 1.5 : 2);
  ft_tensor *X = mk(ps, nd + 1, FT_F64, xv), *xw, *leaf, *y, *w, *p, *l;
  int32_t V, G;
  MUST(ft_level_push(FT_LV_VMAP, B, 0, &V));
  MUST(ft_wrapper_new(V, X, &xw));
  xw->bdim = 0;
  xw->ndim = nd;
  memcpy(xw->shape, shape, sizeof(int64_t) * (size_t)nd);
  xw->numel = n;
  MUST(ft_level_push(FT_LV_GRAD, 0, 0, &G));
  MUST(ft_grad_wrap_leaf(G, xw, &leaf));
  ft_status st = run_op(leaf, c, &y);
  ok(st == FT_OK, "%s vmap(grad): forward: %s", name, st ? ft_last_error() : "");
  if (st) { ft_level_pop(G); ft_level_pop(V); ft_release(leaf); ft_release(xw); ft_release(X); return; }
  fill_rand(wv, y->numel, FT_F64, -1, 1);
  w = mk(y->shape, y->ndim, FT_F64, wv);
  MUST(ft_mul(y, w, &p));
  MUST(ft_sum(p, NULL, 0, false, &l));
  st = ft_backward(G, 1, &l, NULL, false, false);
  ok(st == FT_OK, "%s vmap(grad): backward: %s", name, st ? ft_last_error() : "");
  ft_tensor *gw = leaf->grad;
  bool good = st == FT_OK && gw != NULL;
  ft_tensor *gp = NULL;
  int gbd = -1;
  if (good) {
    gp = gw->level == V ? gw->inner : gw;
    gbd = gw->level == V ? gw->bdim : -1;
    ft_retain(gp);
  }
  ft_release(l); ft_release(p); ft_release(y);
  MUST(ft_level_pop(G));
  MUST(ft_level_pop(V));
  for (int64_t b = 0; good && b < B; b++) {
    grad_at(shape, nd, xv + b * n, c, wv, g);
    int64_t idx[FT_MAX_DIMS + 1], pidx[FT_MAX_DIMS + 1];
    for (int64_t k = 0; good && k < n; k++) {
      unravel(k, shape, nd, idx);
      double v;
      if (gbd < 0) v = get_at(gp, idx);
      else {
        for (int d = 0, m = 0; d <= nd; d++) pidx[d] = d == gbd ? b : idx[m++];
        v = get_at(gp, pidx);
      }
      if (!close_to(v, g[k], 1e-10)) {
        fprintf(stderr, "  %s vmap(grad): example %lld [%lld] = %g, expected %g\n", name, (long long)b, (long long)k, v, g[k]);
        good = false;
      }
    }
  }
  ok(good, "%s: vmap(grad) matches per-example gradients", name);
  ft_release(gp); ft_release(w); ft_release(leaf); ft_release(xw); ft_release(X);
}

static void test_vmap_grad(void) {
  const int64_t s2[2] = {3, 4}, d1[1] = {1}, d0[1] = {0};
  opcall c;
  c = red_call(FT_OP_SUM, d1, 1, false, 0); check_vmap_grad("sum", s2, 2, &c, "n");
  c = red_call(FT_OP_PROD, d0, 1, true, 0); check_vmap_grad("prod", s2, 2, &c, "p");
  c = red_call(FT_OP_AMAX, d1, 1, false, 0); check_vmap_grad("amax", s2, 2, &c, "n");
  c = red_call(FT_OP_AMIN, NULL, 0, false, 0); check_vmap_grad("amin all", s2, 2, &c, "n");
  c = red_call(FT_OP_MEAN, d0, 1, false, 0); check_vmap_grad("mean", s2, 2, &c, "n");
  c = red_call(FT_OP_STD, d1, 1, true, 1); check_vmap_grad("std", s2, 2, &c, "n");
  c = red_call(FT_OP_LOGSUMEXP, d1, 1, false, 0); check_vmap_grad("logsumexp", s2, 2, &c, "n");
  c = red_call(FT_OP_NORM, NULL, 0, false, 2); check_vmap_grad("norm", s2, 2, &c, "n");
  c = red_call(FT_OP_NORM, d0, 1, false, INFINITY); check_vmap_grad("norm inf", s2, 2, &c, "n");
  c = dim_call(FT_OP_MAX_DIM, 1, false, 0); check_vmap_grad("max_dim", s2, 2, &c, "n");
  c = dim_call(FT_OP_MIN_DIM, 0, true, 0); check_vmap_grad("min_dim", s2, 2, &c, "n");
  opcall a = {.op = FT_OP_SOFTMAX, .at = {.ni = 1, .i = {1}}};
  check_vmap_grad("softmax", s2, 2, &a, "n");
  a.op = FT_OP_LOG_SOFTMAX; check_vmap_grad("log_softmax", s2, 2, &a, "n");
  a.op = FT_OP_CUMSUM; a.at.i[0] = 0; check_vmap_grad("cumsum", s2, 2, &a, "n");
}

int main(void) {
  int64_t live0 = ft_mem_live_tensors();
  test_reduce_evals();
  test_expanded();
  test_max_dim_eval();
  test_along_evals();
  test_composite_edges();
  test_errors();
  test_vjps();
  test_double_backward();
  test_jvps();
  test_batching();
  test_vmap_grad();
  int64_t live1 = ft_mem_live_tensors();
  ok(live1 == live0, "no tensors leaked (%lld live before, %lld after)", (long long)live0, (long long)live1);
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail != 0;
}
