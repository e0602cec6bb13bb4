/* func.compile's elementwise fusion (src/interp/trace_fuse.c): which chains
 * fuse (counted through ft_program_info), and that a fused replay gives
 * exactly the eager values (bit for bit) for contiguous, broadcast-row,
 * broadcast-column and scalar externals, for one block and many, for
 * float32 and float64, when the result is written into a dying input, and
 * when a replay's input is laid out unlike the trace's (the one-by-one
 * fallback). Every replay is checked for leaks. */
#include "check.h"
#include "core.h"
#include "ops/ops.h"
#include "interp/trace.h"
#include <string.h>

typedef ft_status (*fn_t)(ft_tensor *const *in, ft_tensor **out);

static uint32_t g_rng = 12345;
static double urand(void) {
  g_rng = g_rng * 1664525u + 1013904223u;
  return (double)(g_rng >> 8) / (double)(1u << 24) * 2 - 1;
}

static ft_tensor *rnd(const int64_t *shape, int nd, ft_dtype dt) {
  ft_tensor *t = NULL;
  if (ft_tensor_empty(shape, nd, dt, &t)) return NULL;
  for (int64_t i = 0; i < t->numel; i++) {
    if (dt == FT_F64) ((double *)t->storage->data)[i] = urand();
    else ((float *)t->storage->data)[i] = (float)urand();
  }
  return t;
}
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* Element i (row-major over the shape) of t. */
static double at(const ft_tensor *t, int64_t i) {
  int64_t off = t->offset, rem = i;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (rem % t->shape[d]) * t->strides[d];
    rem /= t->shape[d];
  }
  return t->dtype == FT_F64 ? ((double *)t->storage->data)[off] : ((float *)t->storage->data)[off];
}

static bool identical(const ft_tensor *a, const ft_tensor *b) {
  if (a->dtype != b->dtype || a->ndim != b->ndim || a->numel != b->numel) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return false;
  for (int64_t i = 0; i < a->numel; i++) {
    double x = at(a, i), y = at(b, i);
    if (memcmp(&x, &y, sizeof x)) return false;
  }
  return true;
}

static ft_program *trace(fn_t f, ft_tensor *const *in, int nin, bool fuse) {
  ft_program *p = NULL;
  ft_tensor *out = NULL;
  int32_t k;
  CHECK_OK(ft_trace_begin());
  for (int i = 0; i < nin; i++) CHECK_OK(ft_trace_input(in[i], &k));
  CHECK_OK(f(in, &out));
  if (out) CHECK_OK(ft_trace_output(out, &k));
  CHECK_OK(ft_trace_end(true, fuse, &p));
  ft_release(out);
  return p;
}

/* Traces f on `in` fused and not; checks the fused program's counts (-1:
 * not checked) and that both replays on `again` equal an eager call,
 * bit for bit, without leaks. */
static void check_fn(const char *what, fn_t f, ft_tensor *const *in, ft_tensor *const *again, int nin, int groups,
                     int fused) {
  int64_t live0 = ft_mem_live_tensors();
  ft_tensor *eager = NULL;
  CHECK_OK(f(again, &eager));
  for (int mode = 1; mode >= 0; mode--) {
    ft_program *p = trace(f, in, nin, mode == 1);
    if (!p) { CHECK(0, "%s: no program", what); continue; }
    if (mode == 1 && groups >= 0)
      CHECK(ft_program_info(p, 7) == groups && ft_program_info(p, 8) == fused, "%s: %d groups of %d ops (expected %d, %d)",
            what, ft_program_info(p, 7), ft_program_info(p, 8), groups, fused);
    if (mode == 0) CHECK(ft_program_info(p, 7) == 0, "%s: unfused program has no groups", what);
    for (int rep = 0; rep < 2; rep++) { /* the second replay runs on the pool's blocks */
      for (int i = 0; i < nin; i++) ft_program_inputs(p)[i] = again[i];
      int64_t live1 = ft_mem_live_tensors();
      CHECK_OK(ft_program_run(p));
      ft_tensor *r = ft_program_outputs(p)[0];
      CHECK(ft_mem_live_tensors() == live1 + 1, "%s: a replay leaves only its output (%lld)", what,
            (long long)(ft_mem_live_tensors() - live1));
      CHECK(r && eager && identical(ft_base_value(r), eager), "%s (%s, replay %d): replay differs from eager", what,
            mode ? "fused" : "unfused", rep);
      ft_release(r);
    }
    ft_program_free(p);
  }
  ft_release(eager);
  CHECK(ft_mem_live_tensors() == live0, "%s: all freed (%lld)", what, (long long)(ft_mem_live_tensors() - live0));
}

/* ---- functions --------------------------------------------------------------- */

/* relu(x @ w + b): the bias add and relu fuse, written into the matmul's result */
static ft_status f_linear_relu(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *m = NULL, *a = NULL;
  ft_status st = ft_matmul(in[0], in[1], &m);
  if (!st) st = ft_add(m, in[2], &a);
  if (!st) st = ft_relu(a, out);
  ft_release(m); ft_release(a);
  return st;
}

/* exp((x - c) * s) / (1 + sqrt(x * x)) with c, s columns [rows, 1]: 7 ops */
static ft_status f_columns(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *t[6] = {0}, *one = NULL;
  ft_status st = ft_full(NULL, 0, in[0]->dtype, 1.0, &one);
  if (!st) st = ft_sub(in[0], in[1], &t[0]);
  if (!st) st = ft_mul(t[0], in[2], &t[1]);
  if (!st) st = ft_exp(t[1], &t[2]);
  if (!st) st = ft_mul(in[0], in[0], &t[3]);
  if (!st) st = ft_sqrt(t[3], &t[4]);
  if (!st) st = ft_add(t[4], one, &t[5]);
  if (!st) st = ft_div(t[2], t[5], out);
  for (int i = 0; i < 6; i++) ft_release(t[i]);
  ft_release(one);
  return st;
}

/* a chain of 40 ops alternating tanh and add of a scalar */
static ft_status f_long(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *x = in[0], *c = NULL;
  ft_retain(x);
  ft_status st = ft_full(NULL, 0, x->dtype, 0.25, &c);
  for (int i = 0; i < 20 && !st; i++) {
    ft_tensor *a = NULL, *b = NULL;
    st = ft_tanh(x, &a);
    if (!st) st = ft_add(a, c, &b);
    ft_release(a);
    ft_release(x);
    x = b;
  }
  ft_release(c);
  if (st) { ft_release(x); return st; }
  *out = x;
  return FT_OK;
}

/* x [2, 3, 4] + b [3, 1], then neg: b needs three dims over the result: not fused */
static ft_status f_three_dims(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *a = NULL;
  ft_status st = ft_add(in[0], in[1], &a);
  if (!st) st = ft_neg(a, out);
  ft_release(a);
  return st;
}

/* e = exp(x) read three times, all inside the chain: e * e + e fuses whole */
static ft_status f_reads_inside(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *e = NULL, *m = NULL;
  ft_status st = ft_exp(in[0], &e);
  if (!st) st = ft_mul(e, e, &m);
  if (!st) st = ft_add(m, e, out);
  ft_release(e); ft_release(m);
  return st;
}

/* e = exp(x) also read by a sum: e * e + sum(e) fuses mul and add only */
static ft_status f_read_outside(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *e = NULL, *m = NULL, *s = NULL;
  ft_status st = ft_exp(in[0], &e);
  if (!st) st = ft_sum(e, NULL, 0, false, &s);
  if (!st) st = ft_mul(e, e, &m);
  if (!st) st = ft_add(m, s, out);
  ft_release(e); ft_release(m); ft_release(s);
  return st;
}

/* x (float32) * y (float64) promotes: mul is no chain member; neg(sigmoid(.)) is */
static ft_status f_promoting(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *m = NULL, *s = NULL;
  ft_status st = ft_mul(in[0], in[1], &m);
  if (!st) st = ft_sigmoid(m, &s);
  if (!st) st = ft_neg(s, out);
  ft_release(m); ft_release(s);
  return st;
}

/* a = exp(x); x2 = x * 2 written into w (a constant) in place; a + w: the
 * write between exp and add keeps exp out of the chain */
static ft_tensor *g_w;
static ft_status f_write_between(ft_tensor *const *in, ft_tensor **out) {
  ft_tensor *a = NULL, *d = NULL;
  ft_status st = ft_exp(in[0], &a);
  if (!st) st = ft_add(in[0], in[0], &d);
  if (!st) st = ft_assign_(g_w, d);
  if (!st) st = ft_add(a, g_w, out);
  ft_release(a); ft_release(d);
  return st;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_linear_relu(void) {
  for (int d = 0; d < 2; d++) {
    ft_dtype dt = d ? FT_F64 : FT_F32;
    ft_tensor *in[3] = {rnd(SHAPE(5, 7), dt), rnd(SHAPE(7, 9), dt), rnd(SHAPE(9), dt)};
    ft_tensor *in2[3] = {rnd(SHAPE(5, 7), dt), in[1], rnd(SHAPE(9), dt)};
    check_fn(d ? "linear+relu f64" : "linear+relu f32", f_linear_relu, in, in2, 3, 1, 2);
    /* rows longer than a block, and many short rows */
    ft_tensor *w[3] = {rnd(SHAPE(3, 4), dt), rnd(SHAPE(4, 3000), dt), rnd(SHAPE(3000), dt)};
    ft_tensor *w2[3] = {rnd(SHAPE(3, 4), dt), w[1], w[2]};
    check_fn("long rows", f_linear_relu, w, w2, 3, 1, 2);
    ft_tensor *s[3] = {rnd(SHAPE(2000, 4), dt), rnd(SHAPE(4, 3), dt), rnd(SHAPE(3), dt)};
    ft_tensor *s2[3] = {rnd(SHAPE(2000, 4), dt), s[1], s[2]};
    check_fn("short rows", f_linear_relu, s, s2, 3, 1, 2);
    for (int i = 0; i < 3; i++) { ft_release(in[i]); ft_release(w[i]); ft_release(s[i]); }
    ft_release(in2[0]); ft_release(in2[2]); ft_release(w2[0]); ft_release(s2[0]);
  }
}

static void test_columns_and_scalars(void) {
  for (int d = 0; d < 2; d++) {
    ft_dtype dt = d ? FT_F64 : FT_F32;
    ft_tensor *in[3] = {rnd(SHAPE(37, 29), dt), rnd(SHAPE(37, 1), dt), rnd(SHAPE(37, 1), dt)};
    ft_tensor *in2[3] = {rnd(SHAPE(37, 29), dt), rnd(SHAPE(37, 1), dt), rnd(SHAPE(37, 1), dt)};
    check_fn("broadcast columns", f_columns, in, in2, 3, 1, 7);
    ft_tensor *x = rnd(SHAPE(5001), dt), *x2 = rnd(SHAPE(5001), dt);
    check_fn("a 40-op chain over 5001 elements", f_long, &x, &x2, 1, 1, 40);
    ft_tensor *z = rnd(NULL, 0, dt), *z2 = rnd(NULL, 0, dt);
    check_fn("a 0-d chain", f_long, &z, &z2, 1, 1, 40);
    for (int i = 0; i < 3; i++) { ft_release(in[i]); ft_release(in2[i]); }
    ft_release(x); ft_release(x2); ft_release(z); ft_release(z2);
  }
}

static void test_not_fused(void) {
  ft_tensor *in[2] = {rnd(SHAPE(2, 3, 4), FT_F32), rnd(SHAPE(3, 1), FT_F32)};
  ft_tensor *in2[2] = {rnd(SHAPE(2, 3, 4), FT_F32), rnd(SHAPE(3, 1), FT_F32)};
  check_fn("three-dim broadcast", f_three_dims, in, in2, 2, 0, 0);
  ft_tensor *e = rnd(SHAPE(10), FT_F32), *e2 = rnd(SHAPE(10), FT_F32);
  check_fn("a value read three times in the chain", f_reads_inside, &e, &e2, 1, 1, 3);
  check_fn("a value also read outside the chain", f_read_outside, &e, &e2, 1, 1, 2);
  ft_tensor *pr[2] = {rnd(SHAPE(6), FT_F32), rnd(SHAPE(6), FT_F64)};
  ft_tensor *pr2[2] = {rnd(SHAPE(6), FT_F32), rnd(SHAPE(6), FT_F64)};
  check_fn("a promoting mul", f_promoting, pr, pr2, 2, 1, 2);
  g_w = rnd(SHAPE(8), FT_F64);
  ft_tensor *x = rnd(SHAPE(8), FT_F64), *x2 = rnd(SHAPE(8), FT_F64);
  check_fn("a write between producer and root", f_write_between, &x, &x2, 1, 0, 0);
  ft_release(g_w);
  for (int i = 0; i < 2; i++) { ft_release(in[i]); ft_release(in2[i]); ft_release(pr[i]); ft_release(pr2[i]); }
  ft_release(e); ft_release(e2); ft_release(x); ft_release(x2);
}

/* A replay whose input has other strides than the trace's (both
 * non-contiguous, same shape): the group runs its evals one by one. */
static void test_other_layout(void) {
  ft_tensor *base = rnd(SHAPE(4, 37), FT_F32), *wide = rnd(SHAPE(37, 8), FT_F32);
  ft_tensor *t = NULL, *s = NULL;
  CHECK_OK(ft_transpose(base, 0, 1, &t));     /* [37, 4], strides [1, 37] */
  CHECK_OK(ft_slice(wide, 1, 0, 8, 2, &s));   /* [37, 4], strides [8, 2] */
  ft_tensor *c[2] = {rnd(SHAPE(37, 1), FT_F32), rnd(SHAPE(37, 1), FT_F32)};
  ft_tensor *in[3] = {t, c[0], c[1]}, *in2[3] = {s, c[0], c[1]};
  check_fn("an input laid out unlike the trace", f_columns, in, in2, 3, 1, 7);
  check_fn("the same, with a buffer read three times", f_reads_inside, &t, &s, 1, 1, 3);
  ft_release(t); ft_release(s); ft_release(base); ft_release(wide); ft_release(c[0]); ft_release(c[1]);
}

int main(void) {
  test_linear_relu();
  test_columns_and_scalars();
  test_not_fused();
  test_other_layout();
  return test_summary();
}
