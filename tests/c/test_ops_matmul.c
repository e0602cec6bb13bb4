/* The matmul family: MATMUL_ND's eval against a naive loop (contiguous,
 * transposed, permuted, broadcast and expanded operands; int32), the
 * no-copy guarantee, the composites' rank rules and PyTorch's messages,
 * VJPs (first and second order) against central differences in float64,
 * the JVP rule and the batching rule against per-sample results. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core.h"
#include "ops/ops.h"

static uint64_t g_rng = 0x2545f4914f6cdd1dull;
static double urand(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return (double)(g_rng >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

/* ---- plain-tensor helpers ---------------------------------------------------- */

static double get_off(const ft_tensor *t, int64_t off) {
  switch (t->dtype) {
    case FT_F32: return ((float *)t->storage->data)[off];
    case FT_F64: return ((double *)t->storage->data)[off];
    case FT_I32: return ((int32_t *)t->storage->data)[off];
    default: return ((uint8_t *)t->storage->data)[off];
  }
}
static void set_off(ft_tensor *t, int64_t off, double v) {
  switch (t->dtype) {
    case FT_F32: ((float *)t->storage->data)[off] = (float)v; break;
    case FT_F64: ((double *)t->storage->data)[off] = v; break;
    case FT_I32: ((int32_t *)t->storage->data)[off] = (int32_t)v; break;
    default: ((uint8_t *)t->storage->data)[off] = v != 0; break;
  }
}
/* storage offset of logical element i (row-major over the logical shape) */
static int64_t off_of(const ft_tensor *t, int64_t i) {
  int64_t off = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (i % t->shape[d]) * t->strides[d];
    i /= t->shape[d];
  }
  return off;
}
static double at(ft_tensor *t, int64_t i) {
  ft_tensor *b = ft_base_value(t);
  return get_off(b, off_of(b, i));
}

static ft_tensor *rnd(const int64_t *shape, int nd, ft_dtype dt) {
  ft_tensor *t = NULL;
  if (ft_tensor_empty(shape, nd, dt, &t)) return NULL;
  for (int64_t i = 0; i < t->numel; i++) set_off(t, i, dt == FT_I32 ? (double)(int)(urand() * 6) : urand());
  return t;
}
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__}), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t))

/* A view of `base` with dims d0 and d1 swapped (no copy). */
static ft_tensor *swapped(ft_tensor *base, int d0, int d1) {
  int64_t sh[FT_MAX_DIMS], st[FT_MAX_DIMS];
  memcpy(sh, base->shape, sizeof sh);
  memcpy(st, base->strides, sizeof st);
  int64_t t = sh[d0]; sh[d0] = sh[d1]; sh[d1] = t;
  t = st[d0]; st[d0] = st[d1]; st[d1] = t;
  ft_tensor *v = NULL;
  ft_tensor_view_of(base, sh, st, base->ndim, base->offset, &v);
  return v;
}
/* `base` broadcast to `shape` with stride 0 on new and size-1 dims. */
static ft_tensor *expanded(ft_tensor *base, const int64_t *shape, int nd) {
  int64_t st[FT_MAX_DIMS];
  for (int i = 0; i < nd; i++) {
    int k = i - (nd - base->ndim);
    st[i] = (k < 0 || base->shape[k] == 1) ? 0 : base->strides[k];
  }
  ft_tensor *v = NULL;
  ft_tensor_view_of(base, shape, st, nd, base->offset, &v);
  return v;
}
/* Every other element of the last dim of a [.., 2n] tensor: [.., n], stride 2. */
static ft_tensor *every_other(ft_tensor *base) {
  int64_t sh[FT_MAX_DIMS], st[FT_MAX_DIMS];
  memcpy(sh, base->shape, sizeof sh);
  memcpy(st, base->strides, sizeof st);
  sh[base->ndim - 1] /= 2;
  st[base->ndim - 1] *= 2;
  ft_tensor *v = NULL;
  ft_tensor_view_of(base, sh, st, base->ndim, base->offset, &v);
  return v;
}

/* Naive broadcasting batched product of plain >= 2-D a, b, compared with o. */
static double max_err_vs_ref(ft_tensor *a, ft_tensor *b, ft_tensor *o) {
  int an = a->ndim, bn = b->ndim, on = o->ndim;
  int64_t M = a->shape[an - 2], K = a->shape[an - 1], N = b->shape[bn - 1];
  int64_t nbatch = o->numel / (M * N > 0 ? M * N : 1);
  double worst = 0;
  for (int64_t t = 0; t < nbatch; t++) {
    int64_t idx[FT_MAX_DIMS], r = t;
    for (int i = on - 3; i >= 0; i--) { idx[i] = r % o->shape[i]; r /= o->shape[i]; }
    int64_t oa = a->offset, ob = b->offset;
    for (int i = 0; i < on - 2; i++) {
      int ka = i - (on - an), kb = i - (on - bn);
      if (ka >= 0 && a->shape[ka] > 1) oa += idx[i] * a->strides[ka];
      if (kb >= 0 && b->shape[kb] > 1) ob += idx[i] * b->strides[kb];
    }
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double s = 0;
        for (int64_t k = 0; k < K; k++)
          s += get_off(a, oa + m * a->strides[an - 2] + k * a->strides[an - 1]) *
               get_off(b, ob + k * b->strides[bn - 2] + n * b->strides[bn - 1]);
        double e = fabs(at(o, (t * M + m) * N + n) - s) / (1 + fabs(s));
        if (e > worst) worst = e;
      }
  }
  return worst;
}

static double tol_of(ft_dtype dt) { return dt == FT_F32 ? 1e-5 : dt == FT_F64 ? 1e-12 : 0; }

static void check_nd(const char *what, ft_tensor *a, ft_tensor *b, const int64_t *oshape, int on) {
  ft_tensor *o = NULL;
  ft_status st = ft_matmul_nd(a, b, &o);
  CHECK(st == FT_OK, "%s: %s", what, ft_last_error());
  if (st) return;
  bool same = o->ndim == on;
  for (int i = 0; same && i < on; i++) same = o->shape[i] == oshape[i];
  CHECK(same, "%s: output shape", what);
  CHECK(ft_is_contiguous(o) && o->dtype == a->dtype, "%s: contiguous output of the input dtype", what);
  if (same) {
    double e = max_err_vs_ref(a, b, o);
    CHECK(e <= tol_of(a->dtype), "%s: max error %g", what, e);
  }
  ft_release(o);
}

/* ---- MATMUL_ND eval ------------------------------------------------------------ */

static void test_eval(void) {
  for (int d = 0; d < 3; d++) {
    ft_dtype dt = d == 0 ? FT_F32 : d == 1 ? FT_F64 : FT_I32;
    ft_tensor *a = rnd(SHAPE(3, 4), dt), *b = rnd(SHAPE(4, 5), dt);
    check_nd("2-D", a, b, SHAPE(3, 5));
    ft_tensor *at_ = rnd(SHAPE(4, 3), dt), *bt = rnd(SHAPE(5, 4), dt);
    ft_tensor *va = swapped(at_, 0, 1), *vb = swapped(bt, 0, 1);
    check_nd("transposed a", va, b, SHAPE(3, 5));
    check_nd("transposed b", a, vb, SHAPE(3, 5));
    check_nd("both transposed", va, vb, SHAPE(3, 5));
    ft_tensor *wide = rnd(SHAPE(3, 8), dt), *ev = every_other(wide);
    check_nd("strided a", ev, b, SHAPE(3, 5));
    ft_release(a); ft_release(b); ft_release(at_); ft_release(bt); ft_release(va); ft_release(vb);
    ft_release(wide); ft_release(ev);
  }
  ft_tensor *a3 = rnd(SHAPE(2, 3, 4), FT_F32), *b2 = rnd(SHAPE(4, 5), FT_F32), *b3 = rnd(SHAPE(2, 4, 5), FT_F32);
  check_nd("batched @ 2-D (folded)", a3, b2, SHAPE(2, 3, 5));
  check_nd("batched @ batched", a3, b3, SHAPE(2, 3, 5));
  ft_tensor *a2 = rnd(SHAPE(3, 4), FT_F32);
  check_nd("2-D @ batched", a2, b3, SHAPE(2, 3, 5));
  ft_tensor *a4 = rnd(SHAPE(2, 1, 3, 4), FT_F32), *b33 = rnd(SHAPE(3, 4, 5), FT_F32);
  check_nd("broadcast batch", a4, b33, SHAPE(2, 3, 3, 5));
  /* batch dim not outermost in memory: the fold must not apply */
  ft_tensor *p = rnd(SHAPE(3, 2, 4), FT_F64), *pv = swapped(p, 0, 1), *b64 = rnd(SHAPE(4, 5), FT_F64);
  check_nd("permuted batch @ 2-D", pv, b64, SHAPE(2, 3, 5));
  ft_tensor *pt = swapped(pv, 1, 2);  /* [2, 4, 3] with odd strides */
  ft_tensor *c64 = rnd(SHAPE(3, 6), FT_F64);
  check_nd("permuted and transposed", pt, c64, SHAPE(2, 4, 6));
  /* stride-0 operands */
  ft_tensor *e1 = rnd(SHAPE(1, 3, 4), FT_F32), *ea = expanded(e1, SHAPE(2, 3, 4));
  check_nd("expanded a", ea, b3, SHAPE(2, 3, 5));
  ft_tensor *eb = expanded(b2, SHAPE(2, 4, 5));
  check_nd("expanded b (folded)", a3, eb, SHAPE(2, 3, 5));
  ft_tensor *row = rnd(SHAPE(1, 4), FT_F32), *rows = expanded(row, SHAPE(2, 3, 4));
  check_nd("every row the same", rows, b2, SHAPE(2, 3, 5));
  ft_tensor *v1 = rnd(SHAPE(5, 1, 4), FT_F32);
  check_nd("per-sample rows", v1, b2, SHAPE(5, 1, 5));
  /* empty and K == 0 */
  ft_tensor *k0a = rnd(SHAPE(2, 0), FT_F32), *k0b = rnd(SHAPE(0, 3), FT_F32);
  check_nd("K = 0 gives zeros", k0a, k0b, SHAPE(2, 3));
  ft_tensor *m0 = rnd(SHAPE(0, 4), FT_F32);
  check_nd("M = 0", m0, b2, SHAPE(0, 5));
  ft_tensor *z3 = rnd(SHAPE(0, 3, 4), FT_F32);
  check_nd("empty batch", z3, b2, SHAPE(0, 3, 5));
  ft_release(a3); ft_release(b2); ft_release(b3); ft_release(a2); ft_release(a4); ft_release(b33);
  ft_release(p); ft_release(pv); ft_release(b64); ft_release(pt); ft_release(c64);
  ft_release(e1); ft_release(ea); ft_release(eb); ft_release(row); ft_release(rows); ft_release(v1);
  ft_release(k0a); ft_release(k0b); ft_release(m0); ft_release(z3);
}

/* Only the output is allocated: transposed operands are read in place. */
static void test_no_copies(void) {
  ft_tensor *a = rnd(SHAPE(784, 64), FT_F32), *b = rnd(SHAPE(256, 784), FT_F32);
  ft_tensor *va = swapped(a, 0, 1), *vb = swapped(b, 0, 1), *o = NULL;
  int64_t before = ft_mem_storage_bytes();
  CHECK_OK(ft_matmul(va, vb, &o));
  CHECK(ft_mem_storage_bytes() - before == 64 * 256 * 4, "matmul of transposed views allocated %lld bytes",
        (long long)(ft_mem_storage_bytes() - before));
  ft_release(o);
  ft_tensor *x = rnd(SHAPE(3, 2, 5, 4), FT_F64), *px = swapped(x, 0, 1), *y = rnd(SHAPE(2, 3, 6, 4), FT_F64);
  ft_tensor *py = swapped(y, 2, 3);
  before = ft_mem_storage_bytes();
  CHECK_OK(ft_matmul(px, py, &o));
  CHECK(ft_mem_storage_bytes() - before == 2 * 3 * 5 * 6 * 8, "batched permuted matmul allocated %lld bytes",
        (long long)(ft_mem_storage_bytes() - before));
  if (o) CHECK(max_err_vs_ref(px, py, o) < 1e-12, "batched permuted values");
  ft_release(o); ft_release(a); ft_release(b); ft_release(va); ft_release(vb);
  ft_release(x); ft_release(px); ft_release(y); ft_release(py);
}

/* ---- composites ----------------------------------------------------------------- */

typedef ft_status (*binop)(ft_tensor *, ft_tensor *, ft_tensor **);

/* x viewed with a size-1 dim inserted at `dim` (for the reference). */
static ft_tensor *with_unit(ft_tensor *x, int dim) {
  int64_t sh[FT_MAX_DIMS], st[FT_MAX_DIMS];
  int n = 0;
  for (int i = 0; i <= x->ndim; i++) {
    if (i == dim) { sh[n] = 1; st[n++] = 1; }
    if (i < x->ndim) { sh[n] = x->shape[i]; st[n++] = x->strides[i]; }
  }
  ft_tensor *v = NULL;
  ft_tensor_view_of(x, sh, st, n, x->offset, &v);
  return v;
}

static void check_composite(const char *what, binop f, ft_tensor *a, ft_tensor *b, const int64_t *oshape, int on) {
  ft_tensor *o = NULL;
  ft_status st = f(a, b, &o);
  CHECK(st == FT_OK, "%s: %s", what, ft_last_error());
  if (st) return;
  bool same = o->ndim == on;
  for (int i = 0; same && i < on; i++) same = o->shape[i] == oshape[i];
  CHECK(same, "%s: shape (ndim %d)", what, o->ndim);
  if (same) {
    ft_tensor *ra = a->ndim == 1 ? with_unit(a, 0) : (ft_retain(a), a);
    ft_tensor *rb = b->ndim == 1 ? with_unit(b, 1) : (ft_retain(b), b);
    /* o holds the reference's elements in order, without the unit dims */
    int64_t sh[FT_MAX_DIMS], cs[FT_MAX_DIMS];
    int nb = on - (a->ndim > 1) - (b->ndim > 1);
    memcpy(sh, o->shape, sizeof(int64_t) * (size_t)nb);
    sh[nb] = ra->shape[ra->ndim - 2];
    sh[nb + 1] = rb->shape[rb->ndim - 1];
    ft_contiguous_strides(sh, nb + 2, cs);
    ft_tensor *ov = NULL;
    ft_tensor_view_of(o, sh, cs, nb + 2, o->offset, &ov);
    double e = max_err_vs_ref(ra, rb, ov);
    CHECK(e <= tol_of(a->dtype), "%s: max error %g", what, e);
    ft_release(ov); ft_release(ra); ft_release(rb);
  }
  ft_release(o);
}

static void test_composites(void) {
  ft_tensor *v3 = rnd(SHAPE(3), FT_F64), *w3 = rnd(SHAPE(3), FT_F64), *m23 = rnd(SHAPE(2, 3), FT_F64);
  ft_tensor *m34 = rnd(SHAPE(3, 4), FT_F64), *t234 = rnd(SHAPE(2, 3, 4), FT_F64), *t534 = rnd(SHAPE(5, 3, 4), FT_F64);
  ft_tensor *q4 = rnd(SHAPE(2, 1, 2, 3), FT_F64), *t5 = rnd(SHAPE(5, 2, 3), FT_F64);
  check_composite("1-D @ 1-D", ft_matmul, v3, w3, (const int64_t[]){0}, 0);
  check_composite("2-D @ 1-D", ft_matmul, m23, v3, SHAPE(2));
  check_composite("1-D @ 2-D", ft_matmul, v3, m34, SHAPE(4));
  check_composite("2-D @ 2-D", ft_matmul, m23, m34, SHAPE(2, 4));
  check_composite("3-D @ 1-D", ft_matmul, t5, v3, SHAPE(5, 2));
  check_composite("1-D @ 3-D", ft_matmul, v3, t534, SHAPE(5, 4));
  check_composite("3-D @ 2-D", ft_matmul, t5, m34, SHAPE(5, 2, 4));
  check_composite("2-D @ 3-D", ft_matmul, m23, t534, SHAPE(5, 2, 4));
  check_composite("4-D @ 3-D broadcast", ft_matmul, q4, t534, SHAPE(2, 5, 2, 4));
  check_composite("mm", ft_mm, m23, m34, SHAPE(2, 4));
  ft_tensor *b3 = rnd(SHAPE(5, 4, 2), FT_F64);
  check_composite("bmm", ft_bmm, t534, b3, SHAPE(5, 3, 2));
  check_composite("dot", ft_dot, v3, w3, (const int64_t[]){0}, 0);
  /* outer: promotes, like mul */
  ft_tensor *f2 = rnd(SHAPE(2), FT_F32), *o = NULL;
  CHECK_OK(ft_outer(f2, v3, &o));
  if (o) {
    CHECK(o->ndim == 2 && o->shape[0] == 2 && o->shape[1] == 3 && o->dtype == FT_F64, "outer shape/dtype");
    double e = 0;
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++) e = fmax(e, fabs(at(o, i * 3 + j) - at(f2, i) * at(v3, j)));
    CHECK(e < 1e-12, "outer values %g", e);
  }
  ft_release(o);
  ft_tensor *i3 = rnd(SHAPE(3), FT_I32), *j3 = rnd(SHAPE(3), FT_I32);
  o = NULL;
  CHECK_OK(ft_dot(i3, j3, &o));
  if (o) CHECK(o->dtype == FT_I32 && at(o, 0) == at(i3, 0) * at(j3, 0) + at(i3, 1) * at(j3, 1) + at(i3, 2) * at(j3, 2),
               "int dot");
  ft_release(o);
  /* int32 products wrap mod 2^32, as PyTorch's: 2^30 * 4 + 3 * 5 == 15 */
  ft_tensor *wa = rnd(SHAPE(1, 2), FT_I32), *wb = rnd(SHAPE(2, 1), FT_I32);
  set_off(wa, 0, 1 << 30); set_off(wa, 1, 3); set_off(wb, 0, 4); set_off(wb, 1, 5);
  o = NULL;
  CHECK_OK(ft_mm(wa, wb, &o));
  if (o) CHECK(at(o, 0) == 15, "int32 matmul wraps: got %g", at(o, 0));
  ft_release(o); ft_release(wa); ft_release(wb);
  ft_release(v3); ft_release(w3); ft_release(m23); ft_release(m34); ft_release(t234); ft_release(t534);
  ft_release(q4); ft_release(t5); ft_release(b3); ft_release(f2); ft_release(i3); ft_release(j3);
}

static void expect_error(const char *what, binop f, ft_tensor *a, ft_tensor *b, const char *msg) {
  ft_tensor *o = NULL;
  int64_t live = ft_mem_live_tensors(), bytes = ft_mem_storage_bytes();
  ft_status st = f(a, b, &o);
  CHECK(st != FT_OK && o == NULL, "%s: expected an error", what);
  CHECK(strstr(ft_last_error(), msg) != NULL, "%s: message '%s', expected '%s'", what, ft_last_error(), msg);
  CHECK(ft_mem_live_tensors() == live && ft_mem_storage_bytes() == bytes, "%s: leaked", what);
  ft_release(o);
}

static void test_errors(void) {
  ft_tensor *s = rnd((const int64_t[]){1}, 0, FT_F32), *v3 = rnd(SHAPE(3), FT_F32), *v4 = rnd(SHAPE(4), FT_F32);
  ft_tensor *m23 = rnd(SHAPE(2, 3), FT_F32), *m45 = rnd(SHAPE(4, 5), FT_F32), *m34d = rnd(SHAPE(3, 4), FT_F64);
  ft_tensor *t234 = rnd(SHAPE(2, 3, 4), FT_F32), *t256 = rnd(SHAPE(2, 5, 6), FT_F32), *t345 = rnd(SHAPE(3, 4, 5), FT_F32);
  ft_tensor *m56 = rnd(SHAPE(5, 6), FT_F32), *v3d = rnd(SHAPE(3), FT_F64), *t245d = rnd(SHAPE(2, 4, 5), FT_F64);
  ft_tensor *bb = NULL, *bb2 = NULL;
  ft_full((const int64_t[]){2, 2}, 2, FT_BOOL, 1, &bb);
  ft_full((const int64_t[]){2, 2}, 2, FT_BOOL, 1, &bb2);
  expect_error("0-D", ft_matmul, s, m23, "both arguments to matmul need to be at least 1D, but they are 0D and 2D");
  expect_error("mm shapes", ft_mm, m23, m45, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
  expect_error("matmul 2-D shapes", ft_matmul, m23, m45, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
  expect_error("mm rank", ft_mm, v3, m45, "self must be a matrix");
  expect_error("mm rank 2", ft_mm, m23, t234, "mat2 must be a matrix");
  expect_error("bmm rank", ft_bmm, m23, t234, "batch1 must be a 3D tensor");
  expect_error("bmm rank 2", ft_bmm, t234, m23, "batch2 must be a 3D tensor");
  expect_error("bmm shapes", ft_bmm, t234, t256,
               "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5].");
  expect_error("bmm dtype", ft_bmm, t234, t245d, "expected scalar type Float but found Double");
  expect_error("dot rank", ft_dot, m23, m23, "1D tensors expected, but got 2D and 2D tensors");
  expect_error("dot size", ft_dot, v3, v4,
               "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got "
               "3 and 4 elements respectively");
  expect_error("dot dtype", ft_dot, v3, v3d, "dot : expected both vectors to have same dtype, but found Float and Double");
  expect_error("mv", ft_matmul, m23, v4, "size mismatch, got input (2), mat (2x3), vec (4)");
  expect_error("vm", ft_matmul, v3, m45, "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)");
  expect_error("folded", ft_matmul, t234, m56, "mat1 and mat2 shapes cannot be multiplied (6x4 and 5x6)");
  expect_error("folded mv", ft_matmul, t234, v3, "size mismatch, got input (6), mat (6x4), vec (3)");
  expect_error("batched", ft_matmul, t234, t256,
               "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5].");
  expect_error("batch broadcast", ft_matmul, t234, t345, "The size of tensor a (2) must match the size of tensor b (3)");
  expect_error("dtype", ft_matmul, m23, m34d, "expected m1 and m2 to have the same dtype, but got: float != double");
  expect_error("bool", ft_matmul, bb, bb2, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
  expect_error("outer", ft_outer, m23, v3, "outer: Expected 1-D argument self, but got 2-D");
  expect_error("outer 2", ft_outer, v3, m23, "outer: Expected 1-D argument vec2, but got 2-D");
  expect_error("matmul_nd rank", ft_matmul_nd, v3, m45, "at least 2-D");
  ft_release(s); ft_release(v3); ft_release(v4); ft_release(m23); ft_release(m45); ft_release(m34d);
  ft_release(t234); ft_release(t256); ft_release(t345); ft_release(m56); ft_release(v3d); ft_release(t245d);
  ft_release(bb); ft_release(bb2);
}

/* ---- VJP against central differences (float64, eager level) ---------------------- */

/* <G, f(a, b)> at the base level */
static double pairing(binop f, ft_tensor *a, ft_tensor *b, ft_tensor *G) {
  ft_tensor *o = NULL;
  if (f(a, b, &o)) return NAN;
  double s = 0;
  for (int64_t i = 0; i < o->numel; i++) s += at(o, i) * at(G, i);
  ft_release(o);
  return s;
}

/* Central difference of <G, f> along logical element i of x (x must not
 * alias itself: no stride-0 dims). */
static double fd(binop f, ft_tensor *a, ft_tensor *b, ft_tensor *G, ft_tensor *x, int64_t i) {
  const double h = 1e-6;
  int64_t off = off_of(x, i);
  double v = get_off(x, off);
  set_off(x, off, v + h);
  double p = pairing(f, a, b, G);
  set_off(x, off, v - h);
  double m = pairing(f, a, b, G);
  set_off(x, off, v);
  return (p - m) / (2 * h);
}

static ft_tensor *alias(ft_tensor *x) {
  ft_tensor *v = NULL;
  ft_tensor_view_of(x, x->shape, x->strides, x->ndim, x->offset, &v);
  return v;
}

static void check_vjp(const char *what, binop f, ft_tensor *a, ft_tensor *b) {
  int64_t live = ft_mem_live_tensors();
  ft_tensor *la = alias(a), *lb = alias(b), *o = NULL, *G = NULL;
  CHECK_OK(ft_requires_grad_(la, true));
  CHECK_OK(ft_requires_grad_(lb, true));
  ft_status st = f(la, lb, &o);
  CHECK(st == FT_OK, "%s: %s", what, ft_last_error());
  if (!st) {
    G = rnd(o->shape, o->ndim, FT_F64);
    st = ft_backward(FT_EAGER_LEVEL, 1, &o, &G, false, false);
    CHECK(st == FT_OK, "%s backward: %s", what, ft_last_error());
  }
  ft_tensor *leaf[2] = {la, lb}, *base[2] = {a, b};
  for (int w = 0; !st && w < 2; w++) {
    ft_tensor *g = leaf[w]->grad;
    CHECK(g && g->ndim == base[w]->ndim && g->dtype == FT_F64, "%s: grad %d missing or misshapen", what, w);
    if (!g) continue;
    double worst = 0;
    for (int64_t i = 0; i < base[w]->numel; i++) worst = fmax(worst, fabs(fd(f, a, b, G, base[w], i) - at(g, i)));
    CHECK(worst < 1e-6, "%s: grad %d off by %g", what, w, worst);
  }
  ft_release(o); ft_release(G); ft_release(la); ft_release(lb);
  CHECK(ft_mem_live_tensors() == live, "%s: leaked %lld tensors", what, (long long)(ft_mem_live_tensors() - live));
}

static void test_vjp(void) {
  ft_tensor *a = rnd(SHAPE(3, 4), FT_F64), *b = rnd(SHAPE(4, 2), FT_F64);
  check_vjp("2-D", ft_matmul_nd, a, b);
  ft_tensor *bt = rnd(SHAPE(2, 4), FT_F64), *vbt = swapped(bt, 0, 1);
  check_vjp("transposed b", ft_matmul_nd, a, vbt);
  ft_tensor *a3 = rnd(SHAPE(2, 3, 4), FT_F64), *b3 = rnd(SHAPE(2, 4, 2), FT_F64);
  check_vjp("batched", ft_matmul_nd, a3, b3);
  check_vjp("batched @ shared 2-D", ft_matmul_nd, a3, b);
  check_vjp("shared 2-D @ batched", ft_matmul_nd, a, b3);
  ft_tensor *a4 = rnd(SHAPE(2, 1, 3, 4), FT_F64), *b4 = rnd(SHAPE(3, 4, 2), FT_F64);
  check_vjp("broadcast batch", ft_matmul_nd, a4, b4);
  ft_tensor *v4 = rnd(SHAPE(4), FT_F64), *w4 = rnd(SHAPE(4), FT_F64), *v3 = rnd(SHAPE(3), FT_F64);
  check_vjp("matmul 1-D @ 1-D", ft_matmul, v4, w4);
  check_vjp("matmul 2-D @ 1-D", ft_matmul, a, v4);
  check_vjp("matmul 1-D @ 2-D", ft_matmul, v3, a);
  check_vjp("matmul 3-D @ 1-D", ft_matmul, a3, v4);
  check_vjp("matmul 1-D @ 3-D", ft_matmul, v3, a3);
  check_vjp("matmul 4-D @ 3-D", ft_matmul, a4, b4);
  check_vjp("mm", ft_mm, a, b);
  check_vjp("bmm", ft_bmm, a3, b3);
  check_vjp("dot", ft_dot, v4, w4);
  check_vjp("outer", ft_outer, v3, v4);
  ft_release(a); ft_release(b); ft_release(bt); ft_release(vbt); ft_release(a3); ft_release(b3);
  ft_release(a4); ft_release(b4); ft_release(v4); ft_release(w4); ft_release(v3);
}

/* Second order: the VJP is made of dispatched MATMUL_NDs, so d<grad_a, V>/db
 * is recorded and matches differences of the first-order gradient. */
static double grad_a_pairing(ft_tensor *a, ft_tensor *b, ft_tensor *G, ft_tensor *V) {
  ft_tensor *la = alias(a), *o = NULL;
  double s = NAN;
  if (ft_requires_grad_(la, true) || ft_matmul_nd(la, b, &o) || ft_backward(FT_EAGER_LEVEL, 1, &o, &G, false, false))
    goto done;
  s = 0;
  for (int64_t i = 0; i < a->numel; i++) s += at(la->grad, i) * at(V, i);
done:
  ft_release(o); ft_release(la);
  return s;
}

static void test_double_backward(void) {
  int64_t live = ft_mem_live_tensors();
  ft_tensor *a = rnd(SHAPE(2, 3, 4), FT_F64), *b = rnd(SHAPE(4, 2), FT_F64);
  ft_tensor *la = alias(a), *lb = alias(b), *o = NULL, *G = rnd(SHAPE(2, 3, 2), FT_F64), *V = rnd(SHAPE(2, 3, 4), FT_F64);
  ft_tensor *ga = NULL;
  CHECK_OK(ft_requires_grad_(la, true));
  CHECK_OK(ft_requires_grad_(lb, true));
  CHECK_OK(ft_matmul_nd(la, lb, &o));
  CHECK_OK(ft_backward(FT_EAGER_LEVEL, 1, &o, &G, false, true));
  ga = la->grad;
  la->grad = NULL;
  ft_release(lb->grad);
  lb->grad = NULL;
  CHECK(ga != NULL, "first-order grad");
  if (ga) {
    CHECK_OK(ft_backward(FT_EAGER_LEVEL, 1, &ga, &V, false, false));
    ft_tensor *g2 = lb->grad;
    CHECK(g2 && g2->ndim == 2, "second-order grad for b");
    double worst = 0;
    const double h = 1e-6;
    for (int64_t i = 0; g2 && i < b->numel; i++) {
      int64_t off = off_of(b, i);
      double v = get_off(b, off);
      set_off(b, off, v + h);
      double p = grad_a_pairing(a, b, G, V);
      set_off(b, off, v - h);
      double m = grad_a_pairing(a, b, G, V);
      set_off(b, off, v);
      worst = fmax(worst, fabs((p - m) / (2 * h) - at(g2, i)));
    }
    CHECK(worst < 1e-6, "second order off by %g", worst);
  }
  ft_release(ga); ft_release(o); ft_release(G); ft_release(V); ft_release(la); ft_release(lb);
  ft_release(a); ft_release(b);
  CHECK(ft_mem_live_tensors() == live, "double backward leaked %lld", (long long)(ft_mem_live_tensors() - live));
}

/* ---- JVP --------------------------------------------------------------------------- */

/* x + s * t as a new contiguous float64 tensor */
static ft_tensor *axpy(ft_tensor *x, double s, ft_tensor *t) {
  ft_tensor *o = NULL;
  if (ft_tensor_empty(x->shape, x->ndim, FT_F64, &o)) return NULL;
  for (int64_t i = 0; i < o->numel; i++) set_off(o, i, at(x, i) + s * at(t, i));
  return o;
}

static void check_jvp(const char *what, binop f, ft_tensor *a, ft_tensor *b) {
  int64_t live = ft_mem_live_tensors();
  int32_t J;
  if (ft_level_push(FT_LV_JVP, 0, 0, &J)) { CHECK(0, "push"); return; }
  ft_tensor *ta = rnd(a->shape, a->ndim, FT_F64), *tb = rnd(b->shape, b->ndim, FT_F64);
  ft_tensor *wa = NULL, *wb = NULL, *o = NULL;
  ft_wrapper_new(J, a, &wa);
  ft_wrapper_new(J, b, &wb);
  wa->tangent = ta; ft_retain(ta);
  wb->tangent = tb; ft_retain(tb);
  ft_status st = f(wa, wb, &o);
  CHECK(st == FT_OK, "%s: %s", what, ft_last_error());
  ft_tensor *t = (o && o->level == J) ? o->tangent : NULL;
  CHECK(t != NULL, "%s: no tangent", what);
  ft_level_pop(J);
  if (t) {
    /* <G, t> against the difference of <G, f> along (ta, tb) */
    const double h = 1e-6;
    ft_tensor *G = rnd(t->shape, t->ndim, FT_F64);
    ft_tensor *ap = axpy(a, h, ta), *am = axpy(a, -h, ta), *bp = axpy(b, h, tb), *bm = axpy(b, -h, tb);
    double want = (pairing(f, ap, bp, G) - pairing(f, am, bm, G)) / (2 * h), got = 0;
    for (int64_t i = 0; i < t->numel; i++) got += at(t, i) * at(G, i);
    CHECK(fabs(want - got) < 1e-6 * (1 + fabs(want)), "%s: jvp %g vs %g", what, got, want);
    ft_release(G); ft_release(ap); ft_release(am); ft_release(bp); ft_release(bm);
  }
  ft_release(o); ft_release(wa); ft_release(wb); ft_release(ta); ft_release(tb);
  CHECK(ft_mem_live_tensors() == live, "%s: leaked %lld", what, (long long)(ft_mem_live_tensors() - live));
}

static void test_jvp(void) {
  ft_tensor *a = rnd(SHAPE(2, 3, 4), FT_F64), *b = rnd(SHAPE(4, 2), FT_F64), *v = rnd(SHAPE(4), FT_F64);
  check_jvp("matmul_nd", ft_matmul_nd, a, b);
  check_jvp("matmul 3-D @ 1-D", ft_matmul, a, v);
  check_jvp("dot", ft_dot, v, v);
  ft_release(a); ft_release(b); ft_release(v);
}

/* ---- batching rule: vmap(f)(A, B) == stack of f(A[i], B[i]) ------------------------ */

/* A vmap wrapper over physical x with batch dim bd (or x itself when bd < 0). */
static ft_tensor *batched(int32_t V, ft_tensor *x, int bd) {
  if (bd < 0) { ft_retain(x); return x; }
  ft_tensor *w = NULL;
  ft_wrapper_new(V, x, &w);
  w->bdim = bd;
  w->ndim = x->ndim - 1;
  for (int k = 0, m = 0; k < x->ndim; k++)
    if (k != bd) w->shape[m++] = x->shape[k];
  w->numel = ft_shape_numel(w->shape, w->ndim);
  return w;
}
/* x's slice i along bd (a view), or x when bd < 0 */
static ft_tensor *slice_of(ft_tensor *x, int bd, int64_t i) {
  if (bd < 0) { ft_retain(x); return x; }
  int64_t sh[FT_MAX_DIMS], st[FT_MAX_DIMS];
  int n = 0;
  for (int k = 0; k < x->ndim; k++)
    if (k != bd) { sh[n] = x->shape[k]; st[n++] = x->strides[k]; }
  ft_tensor *v = NULL;
  ft_tensor_view_of(x, sh, st, n, x->offset + i * x->strides[bd], &v);
  return v;
}

static void check_vmap(const char *what, binop f, ft_tensor *A, int bda, ft_tensor *B, int bdb, int64_t bsize) {
  int64_t live = ft_mem_live_tensors();
  int32_t V;
  if (ft_level_push(FT_LV_VMAP, bsize, 0, &V)) { CHECK(0, "push"); return; }
  ft_tensor *wa = batched(V, A, bda), *wb = batched(V, B, bdb), *o = NULL;
  ft_status st = f(wa, wb, &o);
  CHECK(st == FT_OK, "%s: %s", what, ft_last_error());
  ft_level_pop(V);
  if (o) {
    CHECK(o->level == V, "%s: output not batched", what);
    ft_tensor *phys = o->inner;
    double worst = 0;
    for (int64_t i = 0; i < bsize; i++) {
      ft_tensor *ai = slice_of(A, bda, i), *bi = slice_of(B, bdb, i), *ref = NULL, *got = slice_of(phys, o->bdim, i);
      if (f(ai, bi, &ref) == FT_OK && ref->numel == got->numel) {
        for (int64_t k = 0; k < ref->numel; k++) worst = fmax(worst, fabs(at(ref, k) - at(got, k)));
      } else worst = INFINITY;
      ft_release(ai); ft_release(bi); ft_release(ref); ft_release(got);
    }
    CHECK(worst < 1e-12, "%s: per-sample mismatch %g", what, worst);
  }
  ft_release(o); ft_release(wa); ft_release(wb);
  CHECK(ft_mem_live_tensors() == live, "%s: leaked %lld", what, (long long)(ft_mem_live_tensors() - live));
}

static void test_vmap(void) {
  ft_tensor *A = rnd(SHAPE(5, 3, 4), FT_F64), *W = rnd(SHAPE(4, 2), FT_F64), *Wb = rnd(SHAPE(5, 4, 2), FT_F64);
  ft_tensor *Am = rnd(SHAPE(3, 5, 4), FT_F64), *X = rnd(SHAPE(5, 4), FT_F64), *Y = rnd(SHAPE(4, 5), FT_F64);
  ft_tensor *T = rnd(SHAPE(2, 4, 5, 2), FT_F64), *S = rnd(SHAPE(3, 4), FT_F64);
  check_vmap("batched a @ shared W", ft_matmul_nd, A, 0, W, -1, 5);
  check_vmap("batch dim 1 @ shared W", ft_matmul_nd, Am, 1, W, -1, 5);
  check_vmap("both batched", ft_matmul_nd, A, 0, Wb, 0, 5);
  check_vmap("shared a @ batched b", ft_matmul_nd, S, -1, T, 2, 5);
  check_vmap("per-sample vector @ W", ft_matmul, X, 0, W, -1, 5);
  check_vmap("dot of batched vectors", ft_dot, X, 0, Y, 1, 5);
  check_vmap("batched a @ batched 4-D", ft_matmul, A, 0, T, 2, 5);
  check_vmap("outer", ft_outer, X, 0, Y, 1, 5);
  ft_tensor *U = rnd(SHAPE(2, 3, 4), FT_F64);
  check_vmap("shared 3-D a @ batched 2-D b", ft_matmul_nd, U, -1, Wb, 0, 5);
  check_vmap("batched 2-D a @ batched 4-D b", ft_matmul_nd, Am, 1, T, 2, 5);
  ft_release(U);
  ft_release(A); ft_release(W); ft_release(Wb); ft_release(Am); ft_release(X); ft_release(Y); ft_release(T);
  ft_release(S);
}

int main(void) {
  test_eval();
  test_no_copies();
  test_composites();
  test_errors();
  test_vjp();
  test_double_backward();
  test_jvp();
  test_vmap();
  return test_summary();
}
