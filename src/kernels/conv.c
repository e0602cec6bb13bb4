/* im2col / col2im and the pooling loops (see conv.h). Written once as
 * macros over the element type; the copies in im2col are contiguous runs
 * (memcpy, vectorised by the compiler) whenever the stride along W is 1,
 * which is the common case and the one that matters for speed; the GEMM
 * that follows does the arithmetic. */
#include "conv.h"
#include "simd.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

typedef ptrdiff_t idx; /* 32-bit on wasm32: cheaper than int64 index math */

/* Keeps clang from turning the short copy loops below back into memcpy /
 * memset calls (out-of-line loops on wasm, costlier than the copies). */
#if defined(__clang__)
#define FT_NO_MEMCALLS __attribute__((no_builtin("memcpy"), no_builtin("memset")))
#else
#define FT_NO_MEMCALLS
#endif

/* ow range [*lo, *hi) whose tap iw = ow * S + off lies in [0, W). */
static void valid_range(idx OW, idx S, idx off, idx W, idx *lo, idx *hi) {
  idx a = off >= 0 ? 0 : (-off + S - 1) / S;
  idx b = W - off <= 0 ? 0 : (W - off + S - 1) / S;
  if (a > OW) a = OW;
  if (b > OW) b = OW;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

/* Short runs (an output row: tens of elements) copied and zeroed inline:
 * on wasm, memcpy / memset are out-of-line loops costlier than the copy. */
/* A run of 4 or more ends with one vector that overlaps the last full one
 * (a copy may write an element twice) instead of a scalar tail: output rows
 * of 26 or 11 floats would otherwise spend more time in the tail than in
 * the vectors. */
FT_NO_MEMCALLS static inline void copy_run_float(float *restrict d, const float *restrict s, idx n) {
  idx i = 0;
  for (; i + 4 <= n; i += 4) ft_v4f_store(d + i, ft_v4f_load(s + i));
  if (i < n && n >= 4) ft_v4f_store(d + n - 4, ft_v4f_load(s + n - 4));
  else
    for (; i < n; i++) d[i] = s[i];
}
FT_NO_MEMCALLS static inline void zero_run_float(float *d, idx n) {
  idx i = 0;
  for (; i + 4 <= n; i += 4) ft_v4f_store(d + i, ft_v4f_zero());
  for (; i < n; i++) d[i] = 0;
}
FT_NO_MEMCALLS static inline void copy_run_double(double *restrict d, const double *restrict s, idx n) {
  idx i = 0;
  for (; i + 2 <= n; i += 2) ft_v2d_store(d + i, ft_v2d_load(s + i));
  if (i < n && n >= 2) ft_v2d_store(d + n - 2, ft_v2d_load(s + n - 2));
  else if (i < n) d[i] = s[i];
}
FT_NO_MEMCALLS static inline void zero_run_double(double *d, idx n) {
  idx i = 0;
  for (; i + 2 <= n; i += 2) ft_v2d_store(d + i, ft_v2d_zero());
  for (; i < n; i++) d[i] = 0;
}

#define IM2COL_BODY(T)                                                                        \
  {                                                                                           \
    const T *xp = (const T *)x;                                                               \
    T *cp = (T *)col;                                                                         \
    const idx OH = (idx)g->OH, OW = (idx)g->OW, H = (idx)g->H, W = (idx)g->W;                 \
    const idx SW = (idx)g->SW, xs0 = (idx)xs[0], xs1 = (idx)xs[1], xs2 = (idx)xs[2];          \
    for (idx c = 0; c < (idx)g->C; c++)                                                       \
      for (idx ki = 0; ki < (idx)g->KH; ki++)                                                 \
        for (idx kj = 0; kj < (idx)g->KW; kj++) {                                             \
          const idx woff = kj * (idx)g->DW - (idx)g->PW;                                      \
          idx lo, hi;                                                                         \
          valid_range(OW, SW, woff, W, &lo, &hi);                                             \
          for (idx oh = 0; oh < OH; oh++, cp += OW) {                                         \
            const idx ih = oh * (idx)g->SH - (idx)g->PH + ki * (idx)g->DH;                    \
            if (ih < 0 || ih >= H) {                                                          \
              zero_run_##T(cp, OW);                                                           \
              continue;                                                                       \
            }                                                                                 \
            const T *src = xp + c * xs0 + ih * xs1;                                           \
            if (lo > 0) zero_run_##T(cp, lo);                                                 \
            if (SW == 1 && xs2 == 1) copy_run_##T(cp + lo, src + lo + woff, hi - lo);         \
            else                                                                              \
              for (idx ow = lo; ow < hi; ow++) cp[ow] = src[(ow * SW + woff) * xs2];          \
            if (hi < OW) zero_run_##T(cp + hi, OW - hi);                                      \
          }                                                                                   \
        }                                                                                     \
  }

FT_NO_MEMCALLS void ft_k_im2col(ft_dtype dt, const ft_conv_geom *g, const void *x, const int64_t *xs, void *col) {
  if (dt == FT_F64) IM2COL_BODY(double)
  else IM2COL_BODY(float)
}

static inline void add_run_float(float *restrict d, const float *restrict s, idx n) {
  idx i = 0;
  for (; i + 4 <= n; i += 4) ft_v4f_store(d + i, ft_v4f_add(ft_v4f_load(d + i), ft_v4f_load(s + i)));
  for (; i < n; i++) d[i] += s[i];
}
static inline void add_run_double(double *restrict d, const double *restrict s, idx n) {
  idx i = 0;
  for (; i + 2 <= n; i += 2) ft_v2d_store(d + i, ft_v2d_add(ft_v2d_load(d + i), ft_v2d_load(s + i)));
  for (; i < n; i++) d[i] += s[i];
}

#define COL2IM_BODY(T)                                                                        \
  {                                                                                           \
    const T *cp = (const T *)col;                                                             \
    T *xp = (T *)x;                                                                           \
    const idx OH = (idx)g->OH, OW = (idx)g->OW, H = (idx)g->H, W = (idx)g->W;                 \
    const idx SW = (idx)g->SW;                                                                \
    for (idx c = 0; c < (idx)g->C; c++)                                                       \
      for (idx ki = 0; ki < (idx)g->KH; ki++)                                                 \
        for (idx kj = 0; kj < (idx)g->KW; kj++) {                                             \
          const idx woff = kj * (idx)g->DW - (idx)g->PW;                                      \
          idx lo, hi;                                                                         \
          valid_range(OW, SW, woff, W, &lo, &hi);                                             \
          for (idx oh = 0; oh < OH; oh++, cp += OW) {                                         \
            const idx ih = oh * (idx)g->SH - (idx)g->PH + ki * (idx)g->DH;                    \
            if (ih < 0 || ih >= H) continue;                                                  \
            T *dst = xp + (c * H + ih) * W + woff;                                            \
            if (SW == 1)                                                                      \
              add_run_##T(dst + lo, cp + lo, hi - lo);                                        \
            else                                                                              \
              for (idx ow = lo; ow < hi; ow++) dst[ow * SW] += cp[ow];                        \
          }                                                                                   \
        }                                                                                     \
  }

void ft_k_col2im(ft_dtype dt, const ft_conv_geom *g, const void *col, void *x) {
  if (dt == FT_F64) COL2IM_BODY(double)
  else COL2IM_BODY(float)
}

#define CONV_REF_BODY(T)                                                                      \
  {                                                                                           \
    const T *xp = (const T *)x, *wp = (const T *)w;                                           \
    T *yp = (T *)y;                                                                           \
    for (int64_t o = 0; o < O; o++)                                                           \
      for (int64_t oh = 0; oh < g->OH; oh++)                                                  \
        for (int64_t ow = 0; ow < g->OW; ow++) {                                              \
          double acc = 0;                                                                     \
          for (int64_t c = 0; c < g->C; c++)                                                  \
            for (int64_t ki = 0; ki < g->KH; ki++)                                            \
              for (int64_t kj = 0; kj < g->KW; kj++) {                                        \
                int64_t ih = oh * g->SH - g->PH + ki * g->DH, iw = ow * g->SW - g->PW + kj * g->DW; \
                if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W) continue;                   \
                acc += (double)xp[(c * g->H + ih) * g->W + iw] *                              \
                       (double)wp[((o * g->C + c) * g->KH + ki) * g->KW + kj];                \
              }                                                                               \
          yp[(o * g->OH + oh) * g->OW + ow] = (T)acc;                                         \
        }                                                                                     \
  }

void ft_k_conv2d_ref(ft_dtype dt, const ft_conv_geom *g, int64_t O, const void *x, const void *w, void *y) {
  if (dt == FT_F64) CONV_REF_BODY(double)
  else CONV_REF_BODY(float)
}

/* ---- pooling ---------------------------------------------------------------- */

/* PyTorch's cpu_max_pool loop: first tap row/col inside the input, NaN wins. */
#define MAXPOOL_BODY(T)                                                                       \
  {                                                                                           \
    const T *xp = (const T *)x;                                                               \
    T *yp = (T *)y;                                                                           \
    const idx H = (idx)g->H, W = (idx)g->W, OH = (idx)g->OH, OW = (idx)g->OW;                 \
    const idx DH = (idx)g->DH, DW = (idx)g->DW;                                               \
    for (idx p = 0; p < (idx)planes; p++, xp += H * W)                                        \
      for (idx oh = 0; oh < OH; oh++) {                                                       \
        idx ih0 = oh * (idx)g->SH - (idx)g->PH;                                               \
        idx ih1 = ih0 + ((idx)g->KH - 1) * DH + 1;                                            \
        if (ih1 > H) ih1 = H;                                                                 \
        while (ih0 < 0) ih0 += DH;                                                            \
        for (idx ow = 0; ow < OW; ow++, yp++, ip++) {                                         \
          idx iw0 = ow * (idx)g->SW - (idx)g->PW;                                             \
          idx iw1 = iw0 + ((idx)g->KW - 1) * DW + 1;                                          \
          if (iw1 > W) iw1 = W;                                                               \
          while (iw0 < 0) iw0 += DW;                                                          \
          idx best = ih0 * W + iw0;                                                           \
          T m = (T)-INFINITY;                                                                 \
          for (idx ih = ih0; ih < ih1; ih += DH)                                              \
            for (idx iw = iw0; iw < iw1; iw += DW) {                                          \
              T v = xp[ih * W + iw];                                                          \
              if (v > m || v != v) {                                                          \
                m = v;                                                                        \
                best = ih * W + iw;                                                           \
              }                                                                               \
            }                                                                                 \
          *yp = m;                                                                            \
          *ip = (int32_t)best;                                                                \
        }                                                                                     \
      }                                                                                       \
  }

/* The common 2x2 / stride 2 / no padding case: no window clipping, two rows,
 * branch-free (the NaN test would otherwise mispredict on random data). */
#define MAXPOOL22_SCALAR(T)                                                                   \
  {                                                                                           \
    const idx j = 2 * ow;                                                                     \
    T m = r0[j], v;                                                                           \
    idx b = base + j;                                                                         \
    int c;                                                                                    \
    v = r0[j + 1]; c = (v > m) | (v != v); m = c ? v : m; b = c ? base + j + 1 : b;          \
    v = r1[j];     c = (v > m) | (v != v); m = c ? v : m; b = c ? base + W + j : b;          \
    v = r1[j + 1]; c = (v > m) | (v != v); m = c ? v : m; b = c ? base + W + j + 1 : b;      \
    yp[ow] = m;                                                                               \
    ip[ow] = (int32_t)b;                                                                      \
  }

#if FT_SIMD_WASM
static inline v4f even4(v4f a, v4f b) { return (v4f)wasm_i32x4_shuffle((v128_t)a, (v128_t)b, 0, 2, 4, 6); }
static inline v4f odd4(v4f a, v4f b) { return (v4f)wasm_i32x4_shuffle((v128_t)a, (v128_t)b, 1, 3, 5, 7); }
#elif defined(__clang__)
static inline v4f even4(v4f a, v4f b) { return __builtin_shufflevector(a, b, 0, 2, 4, 6); }
static inline v4f odd4(v4f a, v4f b) { return __builtin_shufflevector(a, b, 1, 3, 5, 7); }
#else
static inline v4f even4(v4f a, v4f b) { return __builtin_shuffle(a, b, (v4i){0, 2, 4, 6}); }
static inline v4f odd4(v4f a, v4f b) { return __builtin_shuffle(a, b, (v4i){1, 3, 5, 7}); }
#endif

/* m, b <- v, k where v > m or v is NaN (PyTorch's update rule), 4 lanes */
static inline void max_step(v4f v, v4i k, v4f *m, v4i *b) {
  v4i c = ft_v4i_or(ft_v4f_gt(v, *m), ft_v4f_ne(v, v));
  *m = ft_v4f_select(c, v, *m);
  *b = ft_v4i_select(c, k, *b);
}

static void maxpool22_f32(int64_t planes, const ft_pool_geom *g, const float *xp, float *yp, int32_t *ip) {
  const idx W = (idx)g->W, H = (idx)g->H, OH = (idx)g->OH, OW = (idx)g->OW;
  const v4i lane2 = {0, 2, 4, 6};
  for (idx p = 0; p < (idx)planes; p++, xp += H * W)
    for (idx oh = 0; oh < OH; oh++, yp += OW, ip += OW) {
      const float *r0 = xp + 2 * oh * W, *r1 = r0 + W;
      const idx base = 2 * oh * W;
      idx ow = 0;
      for (; 2 * ow + 8 <= W && ow + 4 <= OW; ow += 4) {
        const idx j = 2 * ow;
        v4f a0 = ft_v4f_load(r0 + j), a1 = ft_v4f_load(r0 + j + 4);
        v4f c0 = ft_v4f_load(r1 + j), c1 = ft_v4f_load(r1 + j + 4);
        v4i k = ft_v4i_add(ft_v4i_splat((int32_t)(base + j)), lane2);
        v4f m = even4(a0, a1);
        v4i b = k;
        max_step(odd4(a0, a1), ft_v4i_add(k, ft_v4i_splat(1)), &m, &b);
        max_step(even4(c0, c1), ft_v4i_add(k, ft_v4i_splat((int32_t)W)), &m, &b);
        max_step(odd4(c0, c1), ft_v4i_add(k, ft_v4i_splat((int32_t)W + 1)), &m, &b);
        ft_v4f_store(yp + ow, m);
        ft_v4i_store(ip + ow, b);
      }
      for (; ow < OW; ow++) MAXPOOL22_SCALAR(float)
    }
}

static void maxpool22_f64(int64_t planes, const ft_pool_geom *g, const double *xp, double *yp, int32_t *ip) {
  const idx W = (idx)g->W, H = (idx)g->H, OH = (idx)g->OH, OW = (idx)g->OW;
  for (idx p = 0; p < (idx)planes; p++, xp += H * W)
    for (idx oh = 0; oh < OH; oh++, yp += OW, ip += OW) {
      const double *r0 = xp + 2 * oh * W, *r1 = r0 + W;
      const idx base = 2 * oh * W;
      for (idx ow = 0; ow < OW; ow++) MAXPOOL22_SCALAR(double)
    }
}

void ft_k_maxpool2d(ft_dtype dt, int64_t planes, const ft_pool_geom *g, const void *x, void *y, int32_t *idx_out) {
  int32_t *ip = idx_out;
  bool two = g->KH == 2 && g->KW == 2 && g->SH == 2 && g->SW == 2 && g->PH == 0 && g->PW == 0 && g->DH == 1 &&
             g->DW == 1 && 2 * g->OH <= g->H && 2 * g->OW <= g->W;
  if (two) {
    if (dt == FT_F64) maxpool22_f64(planes, g, x, y, idx_out);
    else maxpool22_f32(planes, g, x, y, idx_out);
    return;
  }
  if (dt == FT_F64) MAXPOOL_BODY(double)
  else MAXPOOL_BODY(float)
}

#define MAXPOOL_BWD_BODY(T)                                                                   \
  {                                                                                           \
    const T *gp = (const T *)gy;                                                              \
    T *xp = (T *)gx;                                                                          \
    memset(gx, 0, sizeof(T) * (size_t)(planes * hw));                                         \
    for (idx q = 0; q < (idx)planes; q++, xp += hw, gp += p, ip += p)                         \
      for (idx k = 0; k < (idx)p; k++) xp[ip[k]] += gp[k];                                    \
  }

void ft_k_maxpool2d_backward(ft_dtype dt, int64_t planes, int64_t hw, int64_t p, const void *gy, const int32_t *ind,
                             void *gx) {
  const int32_t *ip = ind;
  if (dt == FT_F64) MAXPOOL_BWD_BODY(double)
  else MAXPOOL_BWD_BODY(float)
}

/* PyTorch's avg_pool2d window rules (AvgPoolKernel.cpp). Sets the clipped
 * window and returns the divisor, or 0 for an empty window. */
static idx avg_window(const ft_pool_geom *g, idx oh, idx ow, int count_include_pad, int64_t divisor, idx *h0,
                      idx *h1, idx *w0, idx *w1) {
  idx H = (idx)g->H, W = (idx)g->W;
  idx a = oh * (idx)g->SH - (idx)g->PH, c = ow * (idx)g->SW - (idx)g->PW;
  idx b = a + (idx)g->KH, d = c + (idx)g->KW;
  if (b > H + (idx)g->PH) b = H + (idx)g->PH;
  if (d > W + (idx)g->PW) d = W + (idx)g->PW;
  idx pool = (b - a) * (d - c);
  if (a < 0) a = 0;
  if (c < 0) c = 0;
  if (b > H) b = H;
  if (d > W) d = W;
  *h0 = a; *h1 = b; *w0 = c; *w1 = d;
  if (a >= b || c >= d) return 0;
  if (divisor > 0) return (idx)divisor;
  return count_include_pad ? pool : (b - a) * (d - c);
}

#define AVGPOOL_BODY(T)                                                                       \
  {                                                                                           \
    const T *xp = (const T *)x;                                                               \
    T *yp = (T *)y;                                                                           \
    const idx H = (idx)g->H, W = (idx)g->W;                                                   \
    for (idx p = 0; p < (idx)planes; p++, xp += H * W)                                        \
      for (idx oh = 0; oh < (idx)g->OH; oh++)                                                 \
        for (idx ow = 0; ow < (idx)g->OW; ow++) {                                             \
          idx h0, h1, w0, w1;                                                                 \
          idx div = avg_window(g, oh, ow, count_include_pad, divisor, &h0, &h1, &w0, &w1);    \
          T s = 0;                                                                            \
          for (idx ih = h0; ih < h1; ih++)                                                    \
            for (idx iw = w0; iw < w1; iw++) s += xp[ih * W + iw];                            \
          *yp++ = div ? s / (T)div : (T)0;                                                    \
        }                                                                                     \
  }

void ft_k_avgpool2d(ft_dtype dt, int64_t planes, const ft_pool_geom *g, int count_include_pad, int64_t divisor,
                    const void *x, void *y) {
  if (dt == FT_F64) AVGPOOL_BODY(double)
  else AVGPOOL_BODY(float)
}

#define AVGPOOL_BWD_BODY(T)                                                                   \
  {                                                                                           \
    const T *gp = (const T *)gy;                                                              \
    T *xp = (T *)gx;                                                                          \
    const idx H = (idx)g->H, W = (idx)g->W;                                                   \
    memset(gx, 0, sizeof(T) * (size_t)(planes * H * W));                                      \
    for (idx p = 0; p < (idx)planes; p++, xp += H * W)                                        \
      for (idx oh = 0; oh < (idx)g->OH; oh++)                                                 \
        for (idx ow = 0; ow < (idx)g->OW; ow++) {                                             \
          idx h0, h1, w0, w1;                                                                 \
          idx div = avg_window(g, oh, ow, count_include_pad, divisor, &h0, &h1, &w0, &w1);    \
          T v = *gp++;                                                                        \
          if (!div) continue;                                                                 \
          v /= (T)div;                                                                        \
          for (idx ih = h0; ih < h1; ih++)                                                    \
            for (idx iw = w0; iw < w1; iw++) xp[ih * W + iw] += v;                            \
        }                                                                                     \
  }

void ft_k_avgpool2d_backward(ft_dtype dt, int64_t planes, const ft_pool_geom *g, int count_include_pad,
                             int64_t divisor, const void *gy, void *gx) {
  if (dt == FT_F64) AVGPOOL_BWD_BODY(double)
  else AVGPOOL_BWD_BODY(float)
}

static idx ad_start(idx o, idx in, idx out) { return (idx)(((int64_t)o * in) / out); }
static idx ad_end(idx o, idx in, idx out) { return (idx)((((int64_t)o + 1) * in + out - 1) / out); }

#define ADAPTIVE_BODY(T, BWD)                                                                 \
  {                                                                                           \
    const idx H = (idx)g->H, W = (idx)g->W, OH = (idx)g->OH, OW = (idx)g->OW;                 \
    if (BWD) memset(gx, 0, sizeof(T) * (size_t)(planes * H * W));                             \
    for (idx p = 0; p < (idx)planes; p++)                                                     \
      for (idx oh = 0; oh < OH; oh++) {                                                       \
        idx h0 = ad_start(oh, H, OH), h1 = ad_end(oh, H, OH);                                 \
        for (idx ow = 0; ow < OW; ow++) {                                                     \
          idx w0 = ad_start(ow, W, OW), w1 = ad_end(ow, W, OW);                               \
          T cnt = (T)((h1 - h0) * (w1 - w0));                                                 \
          if (BWD) {                                                                          \
            T v = ((const T *)gy)[(p * OH + oh) * OW + ow] / cnt;                             \
            T *xp = (T *)gx + p * H * W;                                                      \
            for (idx ih = h0; ih < h1; ih++)                                                  \
              for (idx iw = w0; iw < w1; iw++) xp[ih * W + iw] += v;                          \
          } else {                                                                            \
            const T *xp = (const T *)x + p * H * W;                                           \
            T s = 0;                                                                          \
            for (idx ih = h0; ih < h1; ih++)                                                  \
              for (idx iw = w0; iw < w1; iw++) s += xp[ih * W + iw];                          \
            ((T *)y)[(p * OH + oh) * OW + ow] = s / cnt;                                      \
          }                                                                                   \
        }                                                                                     \
      }                                                                                       \
  }

void ft_k_adaptive_avgpool2d(ft_dtype dt, int64_t planes, const ft_pool_geom *g, const void *x, void *y) {
  void *gx = NULL;
  const void *gy = NULL;
  (void)gx; (void)gy;
  if (dt == FT_F64) ADAPTIVE_BODY(double, 0)
  else ADAPTIVE_BODY(float, 0)
}

void ft_k_adaptive_avgpool2d_backward(ft_dtype dt, int64_t planes, const ft_pool_geom *g, const void *gy, void *gx) {
  const void *x = NULL;
  void *y = NULL;
  (void)x; (void)y;
  if (dt == FT_F64) ADAPTIVE_BODY(double, 1)
  else ADAPTIVE_BODY(float, 1)
}

/* ---- the indirect convolution's layouts (float32) --------------------------- */

/* dst[C, Hp, Wp] = src[C, H, W] (strides sc, sh, sw) bordered with zeros:
 * PH rows above, PW columns left (negative: cropped). Whole rows are
 * zeroed or copied by vectors when they can be. */
FT_NO_MEMCALLS void ft_k_pad_copy_f32(const float *src, int64_t sc, int64_t sh, int64_t sw, int64_t C, int64_t H, int64_t W,
                        int64_t PH, int64_t PW, int64_t Hp, int64_t Wp, float *dst) {
  const bool fast = PH >= 0 && PW >= 0 && sw == 1 && PW + W <= Wp;
  for (int64_t c = 0; c < C; c++)
    for (int64_t h = 0; h < Hp; h++) {
      float *row = dst + (c * Hp + h) * Wp;
      const int64_t ih = h - PH;
      if (fast) {
        if (ih < 0 || ih >= H) {
          zero_run_float(row, (idx)Wp);
          continue;
        }
        zero_run_float(row, (idx)PW);
        copy_run_float(row + PW, src + c * sc + ih * sh, (idx)W);
        zero_run_float(row + PW + W, (idx)(Wp - PW - W));
        continue;
      }
      for (int64_t w = 0; w < Wp; w++) {
        const int64_t iw = w - PW;
        row[w] = ih >= 0 && ih < H && iw >= 0 && iw < W ? src[c * sc + ih * sh + iw * sw] : 0.0f;
      }
    }
}

/* gq[q, o] = g[o, oh, ow] at q = oh * Wp + ow (ow < OW), 0 at the other
 * columns of each row, for q < Nw: g transposed onto the indirect route's
 * output grid, 4 x 4 tiles at a time when g's rows are contiguous. */
void ft_k_conv_grid_t_f32(const float *g, int64_t sc, int64_t sh, int64_t sw, int64_t Og, int64_t OH, int64_t OW,
                      int64_t Wp, int64_t Nw, float *gq) {
  for (int64_t oh = 0; oh < OH; oh++) {
    float *rows = gq + oh * Wp * Og;
    int64_t ow = 0;
    if (sw == 1 && Og % 4 == 0)
      for (; ow + 4 <= OW; ow += 4)
        for (int64_t o = 0; o < Og; o += 4) {
          v4f t[4];
          for (int i = 0; i < 4; i++) t[i] = ft_v4f_load(g + (o + i) * sc + oh * sh + ow);
          ft_v4f_transpose4(t);
          for (int i = 0; i < 4; i++) ft_v4f_store(rows + (ow + i) * Og + o, t[i]);
        }
    for (; ow < OW; ow++)
      for (int64_t o = 0; o < Og; o++) rows[ow * Og + o] = g[o * sc + oh * sh + ow * sw];
    const int64_t end = oh == OH - 1 ? Nw - oh * Wp : Wp; /* the last row stops at Nw */
    for (int64_t w = OW; w < end; w++)
      for (int64_t o = 0; o < Og; o++) rows[w * Og + o] = 0.0f;
  }
}
