/* Matrix products. One primitive, MATMUL_ND (batched, broadcasting, both
 * operands at least 2-D), and the torch-facing composites matmul, mm, bmm,
 * dot and outer, which check ranks and shapes with PyTorch's messages and
 * then reduce to it, so every transform only ever meets MATMUL_ND.
 *
 * Operands are never copied: ft_k_gemm takes row and column strides, so a
 * transposed or permuted view costs nothing here; only the output is
 * allocated (tests/c/test_ops_matmul.c checks the byte count). */
#include "ops.h"

static const char *c10_name(ft_dtype dt) {
  switch (dt) {
    case FT_F32: return "float";
    case FT_F64: return "double";
    case FT_I32: return "int";
    default: return "bool";
  }
}
static const char *scalar_name(ft_dtype dt) {
  switch (dt) {
    case FT_F32: return "Float";
    case FT_F64: return "Double";
    case FT_I32: return "Int";
    default: return "Bool";
  }
}

/* PyTorch has no bool GEMM; int32 runs through a plain loop. */
static ft_status check_dtypes(const ft_tensor *a, const ft_tensor *b, bool bmm_words) {
  if (a->dtype != b->dtype) {
    if (bmm_words)
      return ft_error(FT_ERR_TYPE, "expected scalar type %s but found %s", scalar_name(a->dtype), scalar_name(b->dtype));
    return ft_error(FT_ERR_TYPE, "expected m1 and m2 to have the same dtype, but got: %s != %s", c10_name(a->dtype),
                    c10_name(b->dtype));
  }
  if (a->dtype == FT_BOOL) return ft_error(FT_ERR_TYPE, "\"addmm_impl_cpu_\" not implemented for 'Bool'");
  return FT_OK;
}

static int64_t prod(const int64_t *s, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; i++) p *= s[i];
  return p;
}

/* ---- eval ------------------------------------------------------------------ */

/* Wraps like int32 in C's unsigned arithmetic (PyTorch's int matmul wraps too). */
static void gemm_i32(int64_t M, int64_t N, int64_t K, const int32_t *A, int64_t rsa, int64_t csa, const int32_t *B,
                     int64_t rsb, int64_t csb, int32_t *C, int64_t rsc) {
  if (csb != 1) { /* B's rows are strided: dot products */
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        uint32_t acc = 0;
        for (int64_t k = 0; k < K; k++) acc += (uint32_t)A[i * rsa + k * csa] * (uint32_t)B[k * rsb + j * csb];
        C[i * rsc + j] = (int32_t)acc;
      }
    return;
  }
  /* Rows of C as sums of rows of B: unit-stride inner loops the compiler
   * vectorises (a 1024^3 product is 1e9 multiply-adds; the dot-product
   * order walks B by columns). Integer sums are exact mod 2^32, so the
   * order does not change the result. */
  for (int64_t i = 0; i < M; i++) {
    uint32_t *c = (uint32_t *)(C + i * rsc);
    for (int64_t j = 0; j < N; j++) c[j] = 0;
    for (int64_t k = 0; k < K; k++) {
      const uint32_t a = (uint32_t)A[i * rsa + k * csa];
      const uint32_t *b = (const uint32_t *)(B + k * rsb);
      for (int64_t j = 0; j < N; j++) c[j] += a * b[j];
    }
  }
}

static void gemm_any(ft_dtype dt, int64_t M, int64_t N, int64_t K, const char *A, int64_t rsa, int64_t csa,
                     const char *B, int64_t rsb, int64_t csb, char *C, int64_t rsc) {
  if (dt == FT_I32)
    gemm_i32(M, N, K, (const int32_t *)A, rsa, csa, (const int32_t *)B, rsb, csb, (int32_t *)C, rsc);
  else
    ft_k_gemm(dt, M, N, K, A, rsa, csa, B, rsb, csb, C, rsc, 0);
}

/* When b is shared by every batch matrix, a's batch dims and its M dim are
 * one run of rows if their strides nest; then the whole product is a single
 * GEMM with M' = batch * M rows (the common x @ W case: no per-batch calls).
 * Dims of size 1 never break the run. */
static bool fold_rows(const int64_t *bshape, int nb, const int64_t *sa, int64_t M, int64_t rs_m, int64_t *rows,
                      int64_t *rs) {
  int64_t size = M, stride = rs_m;
  for (int i = nb - 1; i >= 0; i--) {
    if (bshape[i] == 1) continue;
    if (size == 1) { size = bshape[i]; stride = sa[i]; continue; }
    if (sa[i] != stride * size) return false;
    size *= bshape[i];
  }
  *rows = size;
  *rs = stride;
  return true;
}

static ft_status eval_matmul_nd(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  ft_tensor *a = in[0], *b = in[1];
  int an = a->ndim, bn = b->ndim;
  if (an < 2 || bn < 2)
    return ft_error(FT_ERR_VALUE, "matmul_nd: both operands must be at least 2-D, but they are %dD and %dD", an, bn);
  int64_t M = a->shape[an - 2], K = a->shape[an - 1], Kb = b->shape[bn - 2], N = b->shape[bn - 1];
  int64_t shape[FT_MAX_DIMS];
  int nb;
  FT_TRY(ft_broadcast_shapes(a->shape, an - 2, b->shape, bn - 2, shape, &nb));
  if (nb + 2 > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "matmul: result has too many dimensions (%d)", nb + 2);
  int64_t nbatch = prod(shape, nb);
  if (K != Kb) {
    if (nb == 0)
      return ft_error(FT_ERR_VALUE, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)",
                      (long long)M, (long long)K, (long long)Kb, (long long)N);
    return ft_error(FT_ERR_VALUE,
                    "Expected size for first two dimensions of batch2 tensor to be: [%lld, %lld] but got: [%lld, %lld].",
                    (long long)nbatch, (long long)K, (long long)nbatch, (long long)Kb);
  }
  FT_TRY(check_dtypes(a, b, nb > 0));
  shape[nb] = M;
  shape[nb + 1] = N;
  FT_TRY(ft_tensor_empty(shape, nb + 2, a->dtype, out));
  if ((*out)->numel == 0) return FT_OK;

  int64_t sa[FT_MAX_DIMS], sb[FT_MAX_DIMS];
  bool b_shared = true;
  for (int i = 0; i < nb; i++) {
    int ka = i - (nb - (an - 2)), kb = i - (nb - (bn - 2));
    sa[i] = (ka < 0 || a->shape[ka] == 1) ? 0 : a->strides[ka];
    sb[i] = (kb < 0 || b->shape[kb] == 1) ? 0 : b->strides[kb];
    if (sb[i] != 0 && shape[i] != 1) b_shared = false;
  }
  ft_dtype dt = a->dtype;
  size_t es = ft_dtype_size(dt);
  const char *pa = ft_data_ptr(a), *pb = ft_data_ptr(b);
  char *pc = ft_data_ptr(*out);
  int64_t rsa = a->strides[an - 2], csa = a->strides[an - 1], rsb = b->strides[bn - 2], csb = b->strides[bn - 1];
  int64_t rows, rs;
  if (b_shared && fold_rows(shape, nb, sa, M, rsa, &rows, &rs)) {
    gemm_any(dt, rows, N, K, pa, rs, csa, pb, rsb, csb, pc, N);
    return FT_OK;
  }
  for (int64_t t = 0; t < nbatch; t++) {
    int64_t r = t, oa = 0, ob = 0;
    for (int i = nb - 1; i >= 0; i--) {
      int64_t ix = r % shape[i];
      r /= shape[i];
      oa += ix * sa[i];
      ob += ix * sb[i];
    }
    gemm_any(dt, M, N, K, pa + (size_t)oa * es, rsa, csa, pb + (size_t)ob * es, rsb, csb,
             pc + (size_t)(t * M * N) * es, N);
  }
  return FT_OK;
}

/* ---- VJP (dispatched ops only, so it is itself differentiable) ------------- */

static ft_status vjp_matmul_nd(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  ft_tensor *a = c->in[0], *b = c->in[1], *t = NULL, *p = NULL, *x = NULL, *y = NULL;
  ft_status st = FT_OK;
  if (c->need[0]) { /* ga = g @ b^T, summed over a's broadcast batch dims */
    FT_CHECK(ft_transpose(b, -2, -1, &t));
    FT_CHECK(ft_matmul_nd(g[0], t, &p));
    FT_CHECK(ft_sum_to_shape(p, FT_IN_SHAPE(c, 0), c->in_ndim[0], c->in_dtype[0], &gin[0]));
    ft_release(t); ft_release(p);
    t = p = NULL;
  }
  if (c->need[1]) { /* gb = a^T @ g, summed likewise */
    int an = c->in_ndim[0];
    if (c->in_ndim[1] == 2 && an > 2) {
      /* b served every batch matrix: contract the batch together with M in
       * one GEMM instead of making [batch, K, N] and summing it. */
      const int64_t *as = FT_IN_SHAPE(c, 0);
      int64_t sx[2] = {prod(as, an - 1), as[an - 1]}, sy[2] = {sx[0], FT_IN_SHAPE(c, 1)[1]};
      FT_CHECK(ft_reshape(a, sx, 2, &x));
      FT_CHECK(ft_reshape(g[0], sy, 2, &y));
      FT_CHECK(ft_transpose(x, 0, 1, &t));
      FT_CHECK(ft_matmul_nd(t, y, &p));
    } else {
      FT_CHECK(ft_transpose(a, -2, -1, &t));
      FT_CHECK(ft_matmul_nd(t, g[0], &p));
    }
    FT_CHECK(ft_sum_to_shape(p, FT_IN_SHAPE(c, 1), c->in_ndim[1], c->in_dtype[1], &gin[1]));
  }
fail:
  ft_release(t); ft_release(p); ft_release(x); ft_release(y);
  return st;
}

/* ---- JVP: ta @ b + a @ tb --------------------------------------------------- */

static ft_status jvp_matmul_nd(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                               ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)at; (void)out;
  ft_tensor *x = NULL, *y = NULL, *ct = NULL;
  ft_status st = FT_OK;
  if (t[0]) {
    FT_CHECK(ft_cast(t[0], in[0]->dtype, &ct));
    FT_CHECK(ft_matmul_nd(ct, in[1], &x));
    ft_release(ct);
    ct = NULL;
  }
  if (t[1]) {
    FT_CHECK(ft_cast(t[1], in[1]->dtype, &ct));
    FT_CHECK(ft_matmul_nd(in[0], ct, &y));
  }
  if (x && y) FT_CHECK(ft_add(x, y, &tout[0]));
  else {
    tout[0] = x ? x : y;
    x = y = NULL;
  }
fail:
  ft_release(x); ft_release(y); ft_release(ct);
  return st;
}

/* ---- batching ---------------------------------------------------------------- */

/* Size of logical dim k of a value whose batch dim (-1: none) is bdim. */
static int64_t logical_size(const ft_tensor *t, int32_t bdim, int k) {
  return t->shape[bdim >= 0 && k >= bdim ? k + 1 : k];
}

/* The batch dim goes to the front and joins the batch dims. A batched a
 * against a shared 2-D b (per-sample x @ W) is folded into M instead, so
 * the level below sees one [B*M, K] @ [K, N] GEMM. */
static ft_status batch_matmul_nd(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                 int64_t bsize, ft_tensor **out, int32_t *obdim) {
  (void)nin; (void)at;
  ft_tensor *a = in[0], *b = in[1], *x = NULL, *y = NULL, *r = NULL;
  int la = a->ndim - (bdim[0] >= 0), lb = b->ndim - (bdim[1] >= 0);
  ft_status st = FT_OK;
  if (la >= 2 && lb >= 2 && logical_size(a, bdim[0], la - 1) == 1 && logical_size(b, bdim[1], lb - 2) == 1 &&
      a->dtype == b->dtype && ft_is_float(a->dtype)) {
    /* K == 1: batched outer products (per-sample weight gradients, g^T x).
     * A broadcast multiply writes them at memory speed; a GEMM per batch
     * entry would pack and run a depth-1 micro-kernel B times. */
    int L = la > lb ? la : lb;
    FT_CHECK(ft_move_bdim_front(a, bdim[0], bsize, L, &x)); /* [B, ..., M, 1] */
    FT_CHECK(ft_move_bdim_front(b, bdim[1], bsize, L, &y)); /* [B, ..., 1, N] */
    FT_CHECK(ft_mul(x, y, &out[0]));
  } else if (bdim[0] >= 0 && bdim[1] < 0 && lb == 2) {
    FT_CHECK(ft_move_bdim_front(a, bdim[0], bsize, la, &x)); /* [B, ..., M, K] */
    int64_t s2[2] = {prod(x->shape, x->ndim - 1), x->shape[x->ndim - 1]}, os[FT_MAX_DIMS];
    FT_CHECK(ft_reshape(x, s2, 2, &y));
    FT_CHECK(ft_matmul_nd(y, b, &r));
    memcpy(os, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    os[x->ndim - 1] = b->shape[1];
    FT_CHECK(ft_reshape(r, os, x->ndim, &out[0]));
  } else {
    int L = la > lb ? la : lb;
    FT_CHECK(ft_move_bdim_front(a, bdim[0], bsize, L, &x));
    FT_CHECK(ft_move_bdim_front(b, bdim[1], bsize, L, &y));
    FT_CHECK(ft_matmul_nd(x, y, &out[0]));
  }
  obdim[0] = 0;
fail:
  ft_release(x); ft_release(y); ft_release(r);
  return st;
}

/* ---- composites: torch's rank rules and messages ------------------------------ */

static ft_status dot_impl(ft_tensor *a, ft_tensor *b, ft_tensor **out) {
  if (a->ndim != 1 || b->ndim != 1)
    return ft_error(FT_ERR_VALUE, "1D tensors expected, but got %dD and %dD tensors", a->ndim, b->ndim);
  if (a->dtype != b->dtype)
    return ft_error(FT_ERR_TYPE, "dot : expected both vectors to have same dtype, but found %s and %s",
                    scalar_name(a->dtype), scalar_name(b->dtype));
  if (a->shape[0] != b->shape[0])
    return ft_error(FT_ERR_VALUE,
                    "inconsistent tensor size, expected tensor [%lld] and src [%lld] to have the same number of "
                    "elements, but got %lld and %lld elements respectively",
                    (long long)a->shape[0], (long long)b->shape[0], (long long)a->shape[0], (long long)b->shape[0]);
  if (a->dtype == FT_BOOL) return ft_error(FT_ERR_TYPE, "\"dot\" not implemented for 'Bool'");
  ft_tensor *x = NULL, *y = NULL, *r = NULL;
  int64_t scalar_shape[1];
  ft_status st = FT_OK;
  FT_CHECK(ft_unsqueeze(a, 0, &x)); /* [1, K] */
  FT_CHECK(ft_unsqueeze(b, 1, &y)); /* [K, 1] */
  FT_CHECK(ft_matmul_nd(x, y, &r));
  FT_CHECK(ft_reshape(r, scalar_shape, 0, out));
fail:
  ft_release(x); ft_release(y); ft_release(r);
  return st;
}

static ft_status mm_shapes(const ft_tensor *a, const ft_tensor *b) {
  if (a->shape[1] != b->shape[0])
    return ft_error(FT_ERR_VALUE, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)",
                    (long long)a->shape[0], (long long)a->shape[1], (long long)b->shape[0], (long long)b->shape[1]);
  return check_dtypes(a, b, false);
}

static ft_status eval_mm(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  if (in[0]->ndim != 2) return ft_error(FT_ERR_VALUE, "self must be a matrix");
  if (in[1]->ndim != 2) return ft_error(FT_ERR_VALUE, "mat2 must be a matrix");
  FT_TRY(mm_shapes(in[0], in[1]));
  return ft_matmul_nd(in[0], in[1], out);
}

static ft_status eval_bmm(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  ft_tensor *a = in[0], *b = in[1];
  if (a->ndim != 3) return ft_error(FT_ERR_VALUE, "batch1 must be a 3D tensor");
  if (b->ndim != 3) return ft_error(FT_ERR_VALUE, "batch2 must be a 3D tensor");
  if (b->shape[0] != a->shape[0] || b->shape[1] != a->shape[2])
    return ft_error(FT_ERR_VALUE,
                    "Expected size for first two dimensions of batch2 tensor to be: [%lld, %lld] but got: [%lld, %lld].",
                    (long long)a->shape[0], (long long)a->shape[2], (long long)b->shape[0], (long long)b->shape[1]);
  FT_TRY(check_dtypes(a, b, true));
  return ft_matmul_nd(a, b, out);
}

static ft_status eval_dot(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  return dot_impl(in[0], in[1], out);
}

static ft_status eval_outer(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  if (in[0]->ndim != 1) return ft_error(FT_ERR_VALUE, "outer: Expected 1-D argument self, but got %d-D", in[0]->ndim);
  if (in[1]->ndim != 1) return ft_error(FT_ERR_VALUE, "outer: Expected 1-D argument vec2, but got %d-D", in[1]->ndim);
  ft_tensor *x;
  FT_TRY(ft_unsqueeze(in[0], 1, &x));
  ft_status st = ft_mul(x, in[1], out);
  ft_release(x);
  return st;
}

/* torch.matmul: 1-D operands gain a dim for the product and lose it after;
 * a >= 3-D a with a 1-D or 2-D b folds its batch into M (PyTorch's
 * should_fold), which is why those errors speak of mm/mv shapes; anything
 * else is a broadcasting batched product with bmm's messages. */
static ft_status eval_matmul(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin; (void)at;
  ft_tensor *a = in[0], *b = in[1];
  int da = a->ndim, db = b->ndim;
  if (da == 0 || db == 0)
    return ft_error(FT_ERR_VALUE, "both arguments to matmul need to be at least 1D, but they are %dD and %dD", da, db);
  if (da == 1 && db == 1) return dot_impl(a, b, out);
  if (da == 2 && db == 2) {
    FT_TRY(mm_shapes(a, b));
    return ft_matmul_nd(a, b, out);
  }
  int64_t K = a->shape[da - 1], Kb = db == 1 ? b->shape[0] : b->shape[db - 2], N = b->shape[db - 1];
  bool batched = db >= 3;
  if (!batched && K != Kb) {
    long long rows = (long long)prod(a->shape, da - 1);
    if (da == 1)
      return ft_error(FT_ERR_VALUE, "mat1 and mat2 shapes cannot be multiplied (1x%lld and %lldx%lld)", (long long)K,
                      (long long)Kb, (long long)N);
    if (db == 1)
      return ft_error(FT_ERR_VALUE, "size mismatch, got input (%lld), mat (%lldx%lld), vec (%lld)", rows, rows,
                      (long long)K, (long long)Kb);
    return ft_error(FT_ERR_VALUE, "mat1 and mat2 shapes cannot be multiplied (%lldx%lld and %lldx%lld)", rows,
                    (long long)K, (long long)Kb, (long long)N);
  }
  if (batched) {
    int64_t bs[FT_MAX_DIMS];
    int nb;
    FT_TRY(ft_broadcast_shapes(a->shape, da > 2 ? da - 2 : 0, b->shape, db - 2, bs, &nb));
    if (K != Kb) {
      long long B = (long long)prod(bs, nb);
      return ft_error(FT_ERR_VALUE,
                      "Expected size for first two dimensions of batch2 tensor to be: [%lld, %lld] but got: [%lld, "
                      "%lld].",
                      B, (long long)K, B, (long long)Kb);
    }
  }
  FT_TRY(check_dtypes(a, b, batched));
  ft_tensor *x = NULL, *y = NULL, *r = NULL;
  ft_status st = FT_OK;
  if (da == 1) FT_CHECK(ft_unsqueeze(a, 0, &x));
  else { x = a; ft_retain(a); }
  if (db == 1) FT_CHECK(ft_unsqueeze(b, 1, &y));
  else { y = b; ft_retain(b); }
  if (da > 1 && db > 1) FT_CHECK(ft_matmul_nd(x, y, out));
  else {
    FT_CHECK(ft_matmul_nd(x, y, &r));
    int64_t os[FT_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < r->ndim; i++)
      if (!(da == 1 && i == r->ndim - 2) && !(db == 1 && i == r->ndim - 1)) os[n++] = r->shape[i];
    FT_CHECK(ft_reshape(r, os, n, out));
  }
fail:
  ft_release(x); ft_release(y); ft_release(r);
  return st;
}

/* ---- the table entries -------------------------------------------------------- */

#define COMPOSITE FT_F_COMPOSITE
const ft_op_def ft_opdef_MATMUL_ND = {"matmul_nd", 2, 1, FT_F_DIFF | FT_F_SAVE_IN, eval_matmul_nd, vjp_matmul_nd,
                                      jvp_matmul_nd, batch_matmul_nd};
const ft_op_def ft_opdef_MATMUL = {"matmul", 2, 1, COMPOSITE, eval_matmul, NULL, NULL, NULL};
const ft_op_def ft_opdef_MM = {"mm", 2, 1, COMPOSITE, eval_mm, NULL, NULL, NULL};
const ft_op_def ft_opdef_BMM = {"bmm", 2, 1, COMPOSITE, eval_bmm, NULL, NULL, NULL};
const ft_op_def ft_opdef_DOT = {"dot", 2, 1, COMPOSITE, eval_dot, NULL, NULL, NULL};
const ft_op_def ft_opdef_OUTER = {"outer", 2, 1, COMPOSITE, eval_outer, NULL, NULL, NULL};

/* ---- the C op API ---------------------------------------------------------------- */

static ft_status call2(ft_op op, ft_tensor *a, ft_tensor *b, ft_tensor **out) {
  ft_tensor *in[2] = {a, b};
  return ft_dispatch(op, 2, in, NULL, out);
}
ft_status ft_matmul_nd(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_MATMUL_ND, a, b, out); }
ft_status ft_matmul(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_MATMUL, a, b, out); }
ft_status ft_mm(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_MM, a, b, out); }
ft_status ft_bmm(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_BMM, a, b, out); }
ft_status ft_dot(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_DOT, a, b, out); }
ft_status ft_outer(ft_tensor *a, ft_tensor *b, ft_tensor **out) { return call2(FT_OP_OUTER, a, b, out); }
