/* Elementwise binary ops and where (see elementwise_unary.c for the design). */
#include "elementwise_impl.h"
#include "threads.h"

/* ======================================================================== */
/* Binary                                                                    */
/* ======================================================================== */

DEF_BIN_VEC(bin_f32_add, float, v4f, 4, ft_v4f_load, ft_v4f_store, ft_v4f_splat, ft_v4f_add(a, b))
DEF_BIN_VEC(bin_f32_sub, float, v4f, 4, ft_v4f_load, ft_v4f_store, ft_v4f_splat, ft_v4f_sub(a, b))
DEF_BIN_VEC(bin_f32_mul, float, v4f, 4, ft_v4f_load, ft_v4f_store, ft_v4f_splat, ft_v4f_mul(a, b))
DEF_BIN_VEC(bin_f32_div, float, v4f, 4, ft_v4f_load, ft_v4f_store, ft_v4f_splat, ft_v4f_div(a, b))
DEF_BIN_VEC(bin_f32_max, float, v4f, 4, ft_v4f_load, ft_v4f_store, ft_v4f_splat, ft_v4f_max_nan(a, b))
DEF_BIN_VEC(bin_f32_min, float, v4f, 4, ft_v4f_load, ft_v4f_store, ft_v4f_splat, ft_v4f_min_nan(a, b))
DEF_CMP_VEC(cmp_f32_eq, float, v4f, ft_v4f_load, ft_v4f_splat, ft_v4f_eq)
DEF_CMP_VEC(cmp_f32_ne, float, v4f, ft_v4f_load, ft_v4f_splat, ft_v4f_ne)
DEF_CMP_VEC(cmp_f32_lt, float, v4f, ft_v4f_load, ft_v4f_splat, ft_v4f_lt)
DEF_CMP_VEC(cmp_f32_le, float, v4f, ft_v4f_load, ft_v4f_splat, ft_v4f_le)
DEF_CMP_VEC(cmp_f32_gt, float, v4f, ft_v4f_load, ft_v4f_splat, ft_v4f_gt)
DEF_CMP_VEC(cmp_f32_ge, float, v4f, ft_v4f_load, ft_v4f_splat, ft_v4f_ge)

DEF_BIN_VEC(bin_f64_add, double, v2d, 2, ft_v2d_load, ft_v2d_store, ft_v2d_splat, ft_v2d_add(a, b))
DEF_BIN_VEC(bin_f64_sub, double, v2d, 2, ft_v2d_load, ft_v2d_store, ft_v2d_splat, ft_v2d_sub(a, b))
DEF_BIN_VEC(bin_f64_mul, double, v2d, 2, ft_v2d_load, ft_v2d_store, ft_v2d_splat, ft_v2d_mul(a, b))
DEF_BIN_VEC(bin_f64_div, double, v2d, 2, ft_v2d_load, ft_v2d_store, ft_v2d_splat, ft_v2d_div(a, b))

DEF_BIN_VEC(bin_i32_add, int32_t, v4i, 4, ft_v4i_load, ft_v4i_store, ft_v4i_splat, ft_v4i_add(a, b))
DEF_BIN_VEC(bin_i32_sub, int32_t, v4i, 4, ft_v4i_load, ft_v4i_store, ft_v4i_splat, ft_v4i_sub(a, b))
DEF_BIN_VEC(bin_i32_mul, int32_t, v4i, 4, ft_v4i_load, ft_v4i_store, ft_v4i_splat, ft_v4i_mul(a, b))
DEF_BIN_VEC(bin_i32_max, int32_t, v4i, 4, ft_v4i_load, ft_v4i_store, ft_v4i_splat, ft_v4i_max(a, b))
DEF_BIN_VEC(bin_i32_min, int32_t, v4i, 4, ft_v4i_load, ft_v4i_store, ft_v4i_splat, ft_v4i_min(a, b))
DEF_CMP_VEC(cmp_i32_eq, int32_t, v4i, ft_v4i_load, ft_v4i_splat, ft_v4i_eq)
DEF_CMP_VEC(cmp_i32_ne, int32_t, v4i, ft_v4i_load, ft_v4i_splat, ft_v4i_ne)
DEF_CMP_VEC(cmp_i32_lt, int32_t, v4i, ft_v4i_load, ft_v4i_splat, ft_v4i_lt)
DEF_CMP_VEC(cmp_i32_le, int32_t, v4i, ft_v4i_load, ft_v4i_splat, ft_v4i_le)
DEF_CMP_VEC(cmp_i32_gt, int32_t, v4i, ft_v4i_load, ft_v4i_splat, ft_v4i_gt)
DEF_CMP_VEC(cmp_i32_ge, int32_t, v4i, ft_v4i_load, ft_v4i_splat, ft_v4i_ge)

typedef void (*bin_f32_fn)(int64_t, const float *, int64_t, const float *, int64_t, float *, int64_t);
typedef void (*bin_f64_fn)(int64_t, const double *, int64_t, const double *, int64_t, double *, int64_t);
typedef void (*bin_i32_fn)(int64_t, const int32_t *, int64_t, const int32_t *, int64_t, int32_t *, int64_t);
typedef void (*cmp_f32_fn)(int64_t, const float *, int64_t, const float *, int64_t, uint8_t *, int64_t);
typedef void (*cmp_i32_fn)(int64_t, const int32_t *, int64_t, const int32_t *, int64_t, uint8_t *, int64_t);

static const bin_f32_fn bin_f32_tab[FT_BIN_COUNT] = {
  [FT_BIN_ADD] = bin_f32_add, [FT_BIN_SUB] = bin_f32_sub, [FT_BIN_MUL] = bin_f32_mul,
  [FT_BIN_DIV] = bin_f32_div, [FT_BIN_MAX] = bin_f32_max, [FT_BIN_MIN] = bin_f32_min,
};
static const cmp_f32_fn cmp_f32_tab[FT_BIN_COUNT] = {
  [FT_BIN_EQ] = cmp_f32_eq, [FT_BIN_NE] = cmp_f32_ne, [FT_BIN_LT] = cmp_f32_lt,
  [FT_BIN_LE] = cmp_f32_le, [FT_BIN_GT] = cmp_f32_gt, [FT_BIN_GE] = cmp_f32_ge,
};
static const bin_f64_fn bin_f64_tab[FT_BIN_COUNT] = {
  [FT_BIN_ADD] = bin_f64_add, [FT_BIN_SUB] = bin_f64_sub, [FT_BIN_MUL] = bin_f64_mul,
  [FT_BIN_DIV] = bin_f64_div,
};
static const bin_i32_fn bin_i32_tab[FT_BIN_COUNT] = {
  [FT_BIN_ADD] = bin_i32_add, [FT_BIN_SUB] = bin_i32_sub, [FT_BIN_MUL] = bin_i32_mul,
  [FT_BIN_MAX] = bin_i32_max, [FT_BIN_MIN] = bin_i32_min,
};
static const cmp_i32_fn cmp_i32_tab[FT_BIN_COUNT] = {
  [FT_BIN_EQ] = cmp_i32_eq, [FT_BIN_NE] = cmp_i32_ne, [FT_BIN_LT] = cmp_i32_lt,
  [FT_BIN_LE] = cmp_i32_le, [FT_BIN_GT] = cmp_i32_gt, [FT_BIN_GE] = cmp_i32_ge,
};

typedef void (*bin_f32_rows_fn)(int64_t, int64_t, const float *, int64_t, int64_t, const float *, int64_t,
                                int64_t, float *, int64_t, int64_t);
typedef void (*bin_f64_rows_fn)(int64_t, int64_t, const double *, int64_t, int64_t, const double *, int64_t,
                                int64_t, double *, int64_t, int64_t);
static const bin_f32_rows_fn bin_f32_rows_tab[FT_BIN_COUNT] = {
  [FT_BIN_ADD] = bin_f32_add_rows, [FT_BIN_SUB] = bin_f32_sub_rows, [FT_BIN_MUL] = bin_f32_mul_rows,
  [FT_BIN_DIV] = bin_f32_div_rows, [FT_BIN_MAX] = bin_f32_max_rows, [FT_BIN_MIN] = bin_f32_min_rows,
};
static const bin_f64_rows_fn bin_f64_rows_tab[FT_BIN_COUNT] = {
  [FT_BIN_ADD] = bin_f64_add_rows, [FT_BIN_SUB] = bin_f64_sub_rows, [FT_BIN_MUL] = bin_f64_mul_rows,
  [FT_BIN_DIV] = bin_f64_div_rows,
};
typedef void (*bin_i32_rows_fn)(int64_t, int64_t, const int32_t *, int64_t, int64_t, const int32_t *, int64_t,
                                int64_t, int32_t *, int64_t, int64_t);
static const bin_i32_rows_fn bin_i32_rows_tab[FT_BIN_COUNT] = {
  [FT_BIN_ADD] = bin_i32_add_rows, [FT_BIN_SUB] = bin_i32_sub_rows, [FT_BIN_MUL] = bin_i32_mul_rows,
  [FT_BIN_MAX] = bin_i32_max_rows, [FT_BIN_MIN] = bin_i32_min_rows,
};

/* 1 / a, for POW's exponent -1 shortcut (the unary family has the same loop). */
DEF_UN_VEC(pow_f32_recip, float, v4f, 4, ft_v4f_load, ft_v4f_store, ft_v4f_div(ft_v4f_splat(1.0f), v))

/* F32 POW: vectorised for a broadcast exponent with an exact shortcut. */
static void pow_f32(int64_t n, const float *pa, int64_t as, const float *pb, int64_t bs,
                    float *o, int64_t os) {
  if (bs == 0 && as == 1 && os == 1) {
    float e = pb[0];
    if (e == 2.0f) { bin_f32_mul(n, pa, 1, pa, 1, o, 1); return; }
    if (e == -1.0f) { pow_f32_recip(n, pa, 1, o, 1); return; }
    if (e == 0.5f) {
      /* sqrt(x) + 0 (turns -0 into +0), and pow(-inf, .5) = +inf */
      int64_t i = 0;
      const v4f zero = ft_v4f_zero(), ninf = ft_v4f_splat(-INFINITY), pinf = ft_v4f_splat(INFINITY);
      for (; i + 4 <= n; i += 4) {
        v4f a = ft_v4f_load(pa + i);
        v4f r = ft_v4f_add(ft_v4f_sqrt(a), zero);
        ft_v4f_store(o + i, ft_v4f_select(ft_v4f_eq(a, ninf), pinf, r));
      }
      for (; i < n; i++) o[i] = s_powf(pa[i], e);
      return;
    }
  }
  for (int64_t i = 0; i < n; i++) o[i * os] = s_powf(pa[i * as], pb[i * bs]);
}

typedef struct { ft_binary_kind k; ft_dtype dt; } bin_ctx;

static void bin_inner(const void *vctx, int64_t n, char *const *p, const int64_t *s) {
  const bin_ctx *c = (const bin_ctx *)vctx;
  ft_binary_kind k = c->k;
  /* operands: 0 output, 1 a, 2 b */
  switch (c->dt) {
  case FT_F32: {
    const float *a = (const float *)p[1], *b = (const float *)p[2];
    if (s_is_cmp(k)) cmp_f32_tab[k](n, a, s[1], b, s[2], (uint8_t *)p[0], s[0]);
    else if (k == FT_BIN_POW) pow_f32(n, a, s[1], b, s[2], (float *)p[0], s[0]);
    else bin_f32_tab[k](n, a, s[1], b, s[2], (float *)p[0], s[0]);
    break;
  }
  case FT_F64: {
    const double *a = (const double *)p[1], *b = (const double *)p[2];
    if (s_is_cmp(k)) {
      uint8_t *o = (uint8_t *)p[0];
      for (int64_t i = 0; i < n; i++) {
        double x = a[i * s[1]], y = b[i * s[2]];
        o[i * s[0]] = (uint8_t)S_CMP(k, x, y);
      }
    } else if (bin_f64_tab[k]) {
      bin_f64_tab[k](n, a, s[1], b, s[2], (double *)p[0], s[0]);
    } else {
      double *o = (double *)p[0];
      for (int64_t i = 0; i < n; i++) o[i * s[0]] = s_binary_f64(k, a[i * s[1]], b[i * s[2]]);
    }
    break;
  }
  case FT_I32: {
    const int32_t *a = (const int32_t *)p[1], *b = (const int32_t *)p[2];
    if (s_is_cmp(k)) cmp_i32_tab[k](n, a, s[1], b, s[2], (uint8_t *)p[0], s[0]);
    else if (bin_i32_tab[k]) bin_i32_tab[k](n, a, s[1], b, s[2], (int32_t *)p[0], s[0]);
    else {
      int32_t *o = (int32_t *)p[0];
      for (int64_t i = 0; i < n; i++) o[i * s[0]] = s_binary_i32(k, a[i * s[1]], b[i * s[2]]);
    }
    break;
  }
  case FT_BOOL: {
    const uint8_t *a = (const uint8_t *)p[1], *b = (const uint8_t *)p[2];
    uint8_t *o = (uint8_t *)p[0];
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {
      for (int64_t i = 0; i < n; i++) o[i] = s_binary_bool(k, a[i], b[i]);
    } else {
      for (int64_t i = 0; i < n; i++) o[i * s[0]] = s_binary_bool(k, a[i * s[1]], b[i * s[2]]);
    }
    break;
  }
  default: break;
  }
}

/* [rows, n] blocks for the vectorised arithmetic kinds; everything else row by row. */
static void bin_rows(const void *vctx, int64_t rows, int64_t n, char *const *p, const int64_t *rs,
                     const int64_t *s) {
  const bin_ctx *c = (const bin_ctx *)vctx;
  if (c->dt == FT_F32 && bin_f32_rows_tab[c->k]) {
    bin_f32_rows_tab[c->k](rows, n, (const float *)p[1], rs[1], s[1], (const float *)p[2], rs[2], s[2],
                           (float *)p[0], rs[0], s[0]);
    return;
  }
  if (c->dt == FT_F64 && bin_f64_rows_tab[c->k]) {
    bin_f64_rows_tab[c->k](rows, n, (const double *)p[1], rs[1], s[1], (const double *)p[2], rs[2], s[2],
                           (double *)p[0], rs[0], s[0]);
    return;
  }
  if (c->dt == FT_I32 && bin_i32_rows_tab[c->k]) {
    bin_i32_rows_tab[c->k](rows, n, (const int32_t *)p[1], rs[1], s[1], (const int32_t *)p[2], rs[2], s[2],
                           (int32_t *)p[0], rs[0], s[0]);
    return;
  }
  size_t e = ft__esize(c->dt), oe = s_is_cmp(c->k) ? 1 : e;
  for (int64_t r = 0; r < rows; r++) {
    char *q[3] = {p[0] + r * rs[0] * (int64_t)oe, p[1] + r * rs[1] * (int64_t)e, p[2] + r * rs[2] * (int64_t)e};
    bin_inner(c, n, q, s);
  }
}

static void binary_serial(ft_binary_kind k, ft_dtype dt, int ndim, const int64_t *shape,
                          const void *a, const int64_t *as, const void *b, const int64_t *bs,
                          void *o, const int64_t *os) {
  ft__it it;
  const int64_t *st[3] = {os, as, bs};
  if (!it_init(&it, 3, ndim, shape, st)) return;
  char *base[3] = {(char *)o, (char *)a, (char *)b};
  size_t e = ft__esize(dt);
  size_t esz[3] = {s_is_cmp(k) ? 1 : e, e, e};
  bin_ctx c = {k, dt};
  it_run2(&it, base, esz, bin_inner, bin_rows, &c);
}

/* Large outputs are split along dim 0 over the thread pool: slabs are
 * independent, so the bits do not depend on the split. It pays for the
 * big broadcasts (vmap's per-sample outer products write tens of MB),
 * not below a few hundred thousand elements. */
#define FT_EW_PARALLEL_MIN (1 << 18)

typedef struct bin_job {
  ft_binary_kind k;
  ft_dtype dt;
  int ndim;
  const int64_t *shape, *as, *bs, *os;
  const char *a, *b;
  char *o;
  int64_t step;
} bin_job;

static void binary_task(void *p, int task, int thread) {
  (void)thread;
  const bin_job *j = p;
  const int64_t lo = task * j->step, hi = lo + j->step < j->shape[0] ? lo + j->step : j->shape[0];
  if (lo >= hi) return;
  int64_t sub[FT_MAX_DIMS];
  memcpy(sub, j->shape, sizeof(int64_t) * (size_t)j->ndim);
  sub[0] = hi - lo;
  const size_t e = ft__esize(j->dt), oe = s_is_cmp(j->k) ? 1 : e;
  binary_serial(j->k, j->dt, j->ndim, sub, j->a + lo * j->as[0] * (int64_t)e, j->as, j->b + lo * j->bs[0] * (int64_t)e,
                j->bs, j->o + lo * j->os[0] * (int64_t)oe, j->os);
}

void ft_k_binary(ft_binary_kind k, ft_dtype dt, int ndim, const int64_t *shape,
                 const void *a, const int64_t *as, const void *b, const int64_t *bs,
                 void *o, const int64_t *os) {
  if ((unsigned)k >= FT_BIN_COUNT || (unsigned)dt >= FT_DTYPE_COUNT) return;
  if (ndim >= 1 && ndim <= FT_MAX_DIMS && ft_threads_can_split()) {
    const int nt = ft_threads_count();
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    if (n >= FT_EW_PARALLEL_MIN && shape[0] >= nt) {
      bin_job j = {k, dt, ndim, shape, as, bs, os, a, b, o, (shape[0] + nt - 1) / nt};
      ft_parallel_for(nt, binary_task, &j);
      return;
    }
  }
  binary_serial(k, dt, ndim, shape, a, as, b, bs, o, os);
}

/* ======================================================================== */
/* Where                                                                     */
/* ======================================================================== */

#define DEF_WHERE(NAME, T)                                                      \
  static void NAME(int64_t n, const uint8_t *c, int64_t cs, const T *a, int64_t as, \
                   const T *b, int64_t bs, T *o, int64_t os) {                  \
    if (os == 1 && cs == 1 && as == 1 && bs == 1) {                             \
      for (int64_t i = 0; i < n; i++) {                                         \
        T av = a[i], bv = b[i];                                                 \
        T m = (T)0 - (T)(c[i] != 0);                                            \
        o[i] = (av & m) | (bv & (T)~m);                                         \
      }                                                                         \
    } else {                                                                    \
      for (int64_t i = 0; i < n; i++) {                                         \
        T av = a[i * as], bv = b[i * bs];                                       \
        o[i * os] = c[i * cs] ? av : bv;                                        \
      }                                                                         \
    }                                                                           \
  }
DEF_WHERE(where_u8, uint8_t)
DEF_WHERE(where_u32, uint32_t)
DEF_WHERE(where_u64, uint64_t)

/* 4-byte elements, cond and output contiguous, a and b contiguous or
 * broadcast (relu's backward: where(y > 0, g, 0)): 16 at a time. */
static int64_t where_u32_vec(int64_t n, const uint8_t *c, const uint32_t *a, int64_t as, const uint32_t *b,
                             int64_t bs, uint32_t *o) {
  int64_t i = 0;
  const v4i sa = ft_v4i_splat((int32_t)a[0]), sb = ft_v4i_splat((int32_t)b[0]);
  for (; i + 16 <= n; i += 16) {
    v4i m[4];
    ft_v4i_load_mask_u8x16(c + i, &m[0], &m[1], &m[2], &m[3]);
    for (int k = 0; k < 4; k++) {
      v4i va = as ? ft_v4i_load((const int32_t *)a + i + 4 * k) : sa;
      v4i vb = bs ? ft_v4i_load((const int32_t *)b + i + 4 * k) : sb;
      ft_v4i_store((int32_t *)o + i + 4 * k, ft_v4i_select(m[k], va, vb));
    }
  }
  return i;
}

static void where_inner(const void *vctx, int64_t n, char *const *p, const int64_t *s) {
  size_t e = *(const size_t *)vctx;
  /* operands: 0 output, 1 cond, 2 a, 3 b */
  const uint8_t *c = (const uint8_t *)p[1];
  if (e == 4 && n >= 16 && s[0] == 1 && s[1] == 1 && (s[2] | 1) == 1 && (s[3] | 1) == 1) {
    const uint32_t *a = (const uint32_t *)p[2], *b = (const uint32_t *)p[3];
    int64_t i = where_u32_vec(n, c, a, s[2], b, s[3], (uint32_t *)p[0]);
    where_u32(n - i, c + i, 1, a + i * s[2], s[2], b + i * s[3], s[3], (uint32_t *)p[0] + i, 1);
    return;
  }
  if (e == 4)
    where_u32(n, c, s[1], (const uint32_t *)p[2], s[2], (const uint32_t *)p[3], s[3], (uint32_t *)p[0], s[0]);
  else if (e == 8)
    where_u64(n, c, s[1], (const uint64_t *)p[2], s[2], (const uint64_t *)p[3], s[3], (uint64_t *)p[0], s[0]);
  else
    where_u8(n, c, s[1], (const uint8_t *)p[2], s[2], (const uint8_t *)p[3], s[3], (uint8_t *)p[0], s[0]);
}

void ft_k_where(ft_dtype dt, int ndim, const int64_t *shape,
                const uint8_t *cond, const int64_t *cs, const void *a, const int64_t *as,
                const void *b, const int64_t *bs, void *o, const int64_t *os) {
  if ((unsigned)dt >= FT_DTYPE_COUNT) return;
  ft__it it;
  const int64_t *st[4] = {os, cs, as, bs};
  if (!it_init(&it, 4, ndim, shape, st)) return;
  char *base[4] = {(char *)o, (char *)cond, (char *)a, (char *)b};
  size_t e = ft__esize(dt);
  size_t esz[4] = {e, 1, e, e};
  it_run(&it, base, esz, where_inner, &e);
}
