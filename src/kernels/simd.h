/* A tiny portable 128-bit vector layer for the kernels.
 *
 * Under Emscripten with -msimd128 (__wasm_simd128__) every operation maps to
 * one WebAssembly SIMD128 instruction (or a short fixed sequence) via
 * <wasm_simd128.h>. Everywhere else it uses GCC/Clang vector extensions, so
 * native builds need nothing beyond the x86-64 SSE2 baseline (plain -O2).
 *
 * Types: v4f = 4 x float, v2d = 2 x double, v4i = 4 x int32. The three types
 * are distinct in both paths (on wasm too, where the intrinsics all take
 * v128_t), so code that mixes them up fails to compile natively and on wasm
 * alike. Reinterpret with ft_v4f_as_v4i and friends, never with C casts of
 * values you intend to convert.
 *
 * Semantics worth knowing (identical in both paths unless noted):
 *  - Loads and stores are unaligned and touch exactly 16 bytes.
 *  - ft_*_fma(a, b, c) is a*b + c rounded twice (mul, then add): SIMD128 in
 *    Emscripten 3.1.6 has no fused multiply-add, and the native path keeps
 *    the same rounding so both give bit-identical results.
 *  - ft_*_min / ft_*_max are NOT NaN-propagating; they are the cheap
 *    "pseudo" min/max of SIMD128 (f32x4.pmin / pmax), one instruction on x86:
 *        min(a, b) = b < a ? b : a        max(a, b) = a < b ? b : a
 *    So if either operand is NaN the result is a (the first operand). For
 *    -0.0 vs +0.0 the result is also a. Kernels that need torch semantics
 *    (NaN wins) must add their own NaN check (ft_v4f_ne(x, x) is the NaN mask).
 *  - Comparisons return a v4i mask with all bits set (-1) in true lanes, 0 in
 *    false ones; for v2d each 64-bit lane is all ones / zeros (so the v4i
 *    lanes come in pairs). ft_*_select(mask, a, b) is a bitwise select
 *    (mask ? a : b, per bit) and works for either.
 *  - ft_v4f_hsum(a) = (a0 + a2) + (a1 + a3) on both paths.
 *  - ft_v4f_to_v4i truncates toward zero. On wasm it saturates (NaN -> 0);
 *    natively out-of-range lanes are unspecified (SSE2 gives INT_MIN). Keep
 *    inputs in range when results must agree.
 *  - ft_v4i_shl / shr / shru take a scalar shift count in [0, 31].
 *  - Lane access: ft_v4f_get(v, i) etc. (vector subscript; any i in range).
 *
 * Names are stable: add new operations, do not rename existing ones.
 */
#ifndef FT_SIMD_H
#define FT_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define FT_SIMD_INLINE static inline __attribute__((always_inline))
#else
#define FT_SIMD_INLINE static inline
#endif

typedef float v4f __attribute__((vector_size(16)));
typedef double v2d __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef int64_t ft__v2l __attribute__((vector_size(16))); /* internal */
typedef uint32_t ft__v4u __attribute__((vector_size(16))); /* internal */

#if defined(__wasm_simd128__)
#define FT_SIMD_WASM 1
#include <wasm_simd128.h>
#define FT__V(x) ((v128_t)(x))
#else
#define FT_SIMD_WASM 0
#endif

/* ---- reinterpretation (free) ----------------------------------------------- */

FT_SIMD_INLINE v4i ft_v4f_as_v4i(v4f a) { return (v4i)a; }
FT_SIMD_INLINE v4f ft_v4i_as_v4f(v4i a) { return (v4f)a; }
FT_SIMD_INLINE v4i ft_v2d_as_v4i(v2d a) { return (v4i)a; }
FT_SIMD_INLINE v2d ft_v4i_as_v2d(v4i a) { return (v2d)a; }

/* ---- v4f: 4 x float -------------------------------------------------------- */

#if FT_SIMD_WASM
FT_SIMD_INLINE v4f ft_v4f_load(const float *p) { return (v4f)wasm_v128_load(p); }
FT_SIMD_INLINE void ft_v4f_store(float *p, v4f a) { wasm_v128_store(p, FT__V(a)); }
FT_SIMD_INLINE v4f ft_v4f_splat(float x) { return (v4f)wasm_f32x4_splat(x); }
FT_SIMD_INLINE v4f ft_v4f_load1(const float *p) { return (v4f)wasm_v128_load32_splat(p); }
FT_SIMD_INLINE v4f ft_v4f_min(v4f a, v4f b) { return (v4f)wasm_f32x4_pmin(FT__V(a), FT__V(b)); }
FT_SIMD_INLINE v4f ft_v4f_max(v4f a, v4f b) { return (v4f)wasm_f32x4_pmax(FT__V(a), FT__V(b)); }
FT_SIMD_INLINE v4f ft_v4f_abs(v4f a) { return (v4f)wasm_f32x4_abs(FT__V(a)); }
FT_SIMD_INLINE v4f ft_v4f_sqrt(v4f a) { return (v4f)wasm_f32x4_sqrt(FT__V(a)); }
FT_SIMD_INLINE v4f ft_v4f_floor(v4f a) { return (v4f)wasm_f32x4_floor(FT__V(a)); }
FT_SIMD_INLINE v4f ft_v4f_ceil(v4f a) { return (v4f)wasm_f32x4_ceil(FT__V(a)); }
FT_SIMD_INLINE v4f ft_v4f_trunc(v4f a) { return (v4f)wasm_f32x4_trunc(FT__V(a)); }
FT_SIMD_INLINE v4f ft_v4f_round(v4f a) { return (v4f)wasm_f32x4_nearest(FT__V(a)); }
FT_SIMD_INLINE v4i ft_v4f_to_v4i(v4f a) { return (v4i)wasm_i32x4_trunc_sat_f32x4(FT__V(a)); }
FT_SIMD_INLINE v4f ft_v4i_to_v4f(v4i a) { return (v4f)wasm_f32x4_convert_i32x4(FT__V(a)); }
FT_SIMD_INLINE v4i ft_v4i_select(v4i m, v4i a, v4i b) {
  return (v4i)wasm_v128_bitselect(FT__V(a), FT__V(b), FT__V(m));
}
FT_SIMD_INLINE v4f ft_v4f_hsum_pairs(v4f a) {
  return a + (v4f)wasm_i32x4_shuffle(FT__V(a), FT__V(a), 2, 3, 0, 1);
}
/* r[i][j] <-> r[j][i] for a 4 x 4 tile held as four rows. */
FT_SIMD_INLINE void ft_v4f_transpose4(v4f *r) {
  v128_t t0 = wasm_i32x4_shuffle(FT__V(r[0]), FT__V(r[1]), 0, 4, 1, 5);
  v128_t t1 = wasm_i32x4_shuffle(FT__V(r[0]), FT__V(r[1]), 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(FT__V(r[2]), FT__V(r[3]), 0, 4, 1, 5);
  v128_t t3 = wasm_i32x4_shuffle(FT__V(r[2]), FT__V(r[3]), 2, 6, 3, 7);
  r[0] = (v4f)wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  r[1] = (v4f)wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  r[2] = (v4f)wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  r[3] = (v4f)wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}
#else
FT_SIMD_INLINE v4f ft_v4f_load(const float *p) { v4f r; memcpy(&r, p, 16); return r; }
FT_SIMD_INLINE void ft_v4f_store(float *p, v4f a) { memcpy(p, &a, 16); }
FT_SIMD_INLINE v4f ft_v4f_splat(float x) { v4f r = {x, x, x, x}; return r; }
FT_SIMD_INLINE v4f ft_v4f_load1(const float *p) { return ft_v4f_splat(*p); }
FT_SIMD_INLINE v4i ft_v4i_select(v4i m, v4i a, v4i b) { return (a & m) | (b & ~m); }
FT_SIMD_INLINE v4f ft_v4f_min(v4f a, v4f b) {
  return (v4f)ft_v4i_select((v4i)(b < a), (v4i)b, (v4i)a);
}
FT_SIMD_INLINE v4f ft_v4f_max(v4f a, v4f b) {
  return (v4f)ft_v4i_select((v4i)(a < b), (v4i)b, (v4i)a);
}
FT_SIMD_INLINE v4f ft_v4f_abs(v4f a) {
  v4i m = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
  return (v4f)((v4i)a & m);
}
/* Per-lane libm fallbacks (native builds only; link with -lm). */
#define FT__V4F_MAP(fn) { v4f r = {fn(a[0]), fn(a[1]), fn(a[2]), fn(a[3])}; return r; }
FT_SIMD_INLINE v4f ft_v4f_sqrt(v4f a) FT__V4F_MAP(__builtin_sqrtf)
FT_SIMD_INLINE v4f ft_v4f_floor(v4f a) FT__V4F_MAP(__builtin_floorf)
FT_SIMD_INLINE v4f ft_v4f_ceil(v4f a) FT__V4F_MAP(__builtin_ceilf)
FT_SIMD_INLINE v4f ft_v4f_trunc(v4f a) FT__V4F_MAP(__builtin_truncf)
FT_SIMD_INLINE v4f ft_v4f_round(v4f a) FT__V4F_MAP(__builtin_nearbyintf) /* ties to even */
#undef FT__V4F_MAP
FT_SIMD_INLINE v4i ft_v4f_to_v4i(v4f a) { return __builtin_convertvector(a, v4i); }
FT_SIMD_INLINE v4f ft_v4i_to_v4f(v4i a) { return __builtin_convertvector(a, v4f); }
FT_SIMD_INLINE v4f ft_v4f_hsum_pairs(v4f a) {
  v4f s = {a[2], a[3], a[0], a[1]};
  return a + s;
}
FT_SIMD_INLINE void ft_v4f_transpose4(v4f *r) {
  v4f t[4];
  for (int i = 0; i < 4; i++) {
    v4f c = {r[0][i], r[1][i], r[2][i], r[3][i]};
    t[i] = c;
  }
  for (int i = 0; i < 4; i++) r[i] = t[i];
}
#endif

FT_SIMD_INLINE v4f ft_v4f_zero(void) { return ft_v4f_splat(0.0f); }
FT_SIMD_INLINE v4f ft_v4f_set(float a, float b, float c, float d) { v4f r = {a, b, c, d}; return r; }
FT_SIMD_INLINE float ft_v4f_get(v4f a, int i) { return a[i]; }
FT_SIMD_INLINE v4f ft_v4f_add(v4f a, v4f b) { return a + b; }
FT_SIMD_INLINE v4f ft_v4f_sub(v4f a, v4f b) { return a - b; }
FT_SIMD_INLINE v4f ft_v4f_mul(v4f a, v4f b) { return a * b; }
FT_SIMD_INLINE v4f ft_v4f_div(v4f a, v4f b) { return a / b; }
FT_SIMD_INLINE v4f ft_v4f_neg(v4f a) { return -a; }
/* a*b + c, unfused (two roundings). */
FT_SIMD_INLINE v4f ft_v4f_fma(v4f a, v4f b, v4f c) { return a * b + c; }
/* c - a*b, unfused. */
FT_SIMD_INLINE v4f ft_v4f_fnma(v4f a, v4f b, v4f c) { return c - a * b; }
FT_SIMD_INLINE float ft_v4f_hsum(v4f a) {
  v4f t = ft_v4f_hsum_pairs(a); /* (a0+a2, a1+a3, ...) */
  return t[0] + t[1];
}
FT_SIMD_INLINE v4i ft_v4f_eq(v4f a, v4f b) { return (v4i)(a == b); }
FT_SIMD_INLINE v4i ft_v4f_ne(v4f a, v4f b) { return (v4i)(a != b); }
FT_SIMD_INLINE v4i ft_v4f_lt(v4f a, v4f b) { return (v4i)(a < b); }
FT_SIMD_INLINE v4i ft_v4f_le(v4f a, v4f b) { return (v4i)(a <= b); }
FT_SIMD_INLINE v4i ft_v4f_gt(v4f a, v4f b) { return (v4i)(a > b); }
FT_SIMD_INLINE v4i ft_v4f_ge(v4f a, v4f b) { return (v4i)(a >= b); }
/* m ? a : b per bit (m from a comparison). */
FT_SIMD_INLINE v4f ft_v4f_select(v4i m, v4f a, v4f b) {
  return (v4f)ft_v4i_select(m, (v4i)a, (v4i)b);
}

/* ---- v4i: 4 x int32 -------------------------------------------------------- */

#if FT_SIMD_WASM
FT_SIMD_INLINE v4i ft_v4i_load(const int32_t *p) { return (v4i)wasm_v128_load(p); }
FT_SIMD_INLINE void ft_v4i_store(int32_t *p, v4i a) { wasm_v128_store(p, FT__V(a)); }
FT_SIMD_INLINE v4i ft_v4i_splat(int32_t x) { return (v4i)wasm_i32x4_splat(x); }
FT_SIMD_INLINE v4i ft_v4i_min(v4i a, v4i b) { return (v4i)wasm_i32x4_min(FT__V(a), FT__V(b)); }
FT_SIMD_INLINE v4i ft_v4i_max(v4i a, v4i b) { return (v4i)wasm_i32x4_max(FT__V(a), FT__V(b)); }
FT_SIMD_INLINE v4i ft_v4i_abs(v4i a) { return (v4i)wasm_i32x4_abs(FT__V(a)); }
FT_SIMD_INLINE v4i ft_v4i_shl(v4i a, int n) { return (v4i)wasm_i32x4_shl(FT__V(a), (uint32_t)n); }
FT_SIMD_INLINE v4i ft_v4i_shr(v4i a, int n) { return (v4i)wasm_i32x4_shr(FT__V(a), (uint32_t)n); }
FT_SIMD_INLINE v4i ft_v4i_shru(v4i a, int n) { return (v4i)wasm_u32x4_shr(FT__V(a), (uint32_t)n); }
#else
FT_SIMD_INLINE v4i ft_v4i_load(const int32_t *p) { v4i r; memcpy(&r, p, 16); return r; }
FT_SIMD_INLINE void ft_v4i_store(int32_t *p, v4i a) { memcpy(p, &a, 16); }
FT_SIMD_INLINE v4i ft_v4i_splat(int32_t x) { v4i r = {x, x, x, x}; return r; }
FT_SIMD_INLINE v4i ft_v4i_min(v4i a, v4i b) { return ft_v4i_select(a < b, a, b); }
FT_SIMD_INLINE v4i ft_v4i_max(v4i a, v4i b) { return ft_v4i_select(a > b, a, b); }
/* INT32_MIN stays INT32_MIN, as on wasm (computed in unsigned: no UB). */
FT_SIMD_INLINE v4i ft_v4i_abs(v4i a) {
  v4i s = a >> 31;
  return (v4i)(((ft__v4u)a ^ (ft__v4u)s) - (ft__v4u)s);
}
FT_SIMD_INLINE v4i ft_v4i_shl(v4i a, int n) {
  return (v4i)((ft__v4u)a << (uint32_t)n);
}
FT_SIMD_INLINE v4i ft_v4i_shr(v4i a, int n) { return a >> n; }
FT_SIMD_INLINE v4i ft_v4i_shru(v4i a, int n) {
  return (v4i)((ft__v4u)a >> (uint32_t)n);
}
#endif

FT_SIMD_INLINE v4i ft_v4i_zero(void) { return ft_v4i_splat(0); }
FT_SIMD_INLINE v4i ft_v4i_set(int32_t a, int32_t b, int32_t c, int32_t d) { v4i r = {a, b, c, d}; return r; }
FT_SIMD_INLINE int32_t ft_v4i_get(v4i a, int i) { return a[i]; }
/* Wrapping (two's complement) add/sub/mul, as SIMD128 does; done in
 * unsigned natively so overflow is not UB. */
FT_SIMD_INLINE v4i ft_v4i_add(v4i a, v4i b) { return (v4i)((ft__v4u)a + (ft__v4u)b); }
FT_SIMD_INLINE v4i ft_v4i_sub(v4i a, v4i b) { return (v4i)((ft__v4u)a - (ft__v4u)b); }
FT_SIMD_INLINE v4i ft_v4i_mul(v4i a, v4i b) { return (v4i)((ft__v4u)a * (ft__v4u)b); }
FT_SIMD_INLINE v4i ft_v4i_neg(v4i a) { return (v4i)(-(ft__v4u)a); }
FT_SIMD_INLINE v4i ft_v4i_and(v4i a, v4i b) { return a & b; }
FT_SIMD_INLINE v4i ft_v4i_or(v4i a, v4i b) { return a | b; }
FT_SIMD_INLINE v4i ft_v4i_xor(v4i a, v4i b) { return a ^ b; }
FT_SIMD_INLINE v4i ft_v4i_not(v4i a) { return ~a; }
/* a & ~b */
FT_SIMD_INLINE v4i ft_v4i_andnot(v4i a, v4i b) { return a & ~b; }
FT_SIMD_INLINE v4i ft_v4i_eq(v4i a, v4i b) { return (v4i)(a == b); }
FT_SIMD_INLINE v4i ft_v4i_ne(v4i a, v4i b) { return (v4i)(a != b); }
FT_SIMD_INLINE v4i ft_v4i_lt(v4i a, v4i b) { return (v4i)(a < b); }
FT_SIMD_INLINE v4i ft_v4i_le(v4i a, v4i b) { return (v4i)(a <= b); }
FT_SIMD_INLINE v4i ft_v4i_gt(v4i a, v4i b) { return (v4i)(a > b); }
FT_SIMD_INLINE v4i ft_v4i_ge(v4i a, v4i b) { return (v4i)(a >= b); }
/* Wrapping lane sum. */
FT_SIMD_INLINE int32_t ft_v4i_hsum(v4i a) {
  return (int32_t)((uint32_t)a[0] + (uint32_t)a[1] + (uint32_t)a[2] + (uint32_t)a[3]);
}
/* True if any / all lanes of a comparison mask are set. */
FT_SIMD_INLINE int ft_v4i_any(v4i m) { return (m[0] | m[1] | m[2] | m[3]) != 0; }
FT_SIMD_INLINE int ft_v4i_all(v4i m) { return (m[0] & m[1] & m[2] & m[3]) == -1; }

/* ---- v2d: 2 x double ------------------------------------------------------- */

#if FT_SIMD_WASM
FT_SIMD_INLINE v2d ft_v2d_load(const double *p) { return (v2d)wasm_v128_load(p); }
FT_SIMD_INLINE void ft_v2d_store(double *p, v2d a) { wasm_v128_store(p, FT__V(a)); }
FT_SIMD_INLINE v2d ft_v2d_splat(double x) { return (v2d)wasm_f64x2_splat(x); }
FT_SIMD_INLINE v2d ft_v2d_load1(const double *p) { return (v2d)wasm_v128_load64_splat(p); }
FT_SIMD_INLINE v2d ft_v2d_min(v2d a, v2d b) { return (v2d)wasm_f64x2_pmin(FT__V(a), FT__V(b)); }
FT_SIMD_INLINE v2d ft_v2d_max(v2d a, v2d b) { return (v2d)wasm_f64x2_pmax(FT__V(a), FT__V(b)); }
FT_SIMD_INLINE v2d ft_v2d_abs(v2d a) { return (v2d)wasm_f64x2_abs(FT__V(a)); }
FT_SIMD_INLINE v2d ft_v2d_sqrt(v2d a) { return (v2d)wasm_f64x2_sqrt(FT__V(a)); }
FT_SIMD_INLINE v2d ft_v2d_floor(v2d a) { return (v2d)wasm_f64x2_floor(FT__V(a)); }
FT_SIMD_INLINE v2d ft_v2d_ceil(v2d a) { return (v2d)wasm_f64x2_ceil(FT__V(a)); }
FT_SIMD_INLINE v2d ft_v2d_trunc(v2d a) { return (v2d)wasm_f64x2_trunc(FT__V(a)); }
FT_SIMD_INLINE v2d ft_v2d_round(v2d a) { return (v2d)wasm_f64x2_nearest(FT__V(a)); }
#else
FT_SIMD_INLINE v2d ft_v2d_load(const double *p) { v2d r; memcpy(&r, p, 16); return r; }
FT_SIMD_INLINE void ft_v2d_store(double *p, v2d a) { memcpy(p, &a, 16); }
FT_SIMD_INLINE v2d ft_v2d_splat(double x) { v2d r = {x, x}; return r; }
FT_SIMD_INLINE v2d ft_v2d_load1(const double *p) { return ft_v2d_splat(*p); }
FT_SIMD_INLINE v2d ft_v2d_min(v2d a, v2d b) {
  return (v2d)ft_v4i_select((v4i)(b < a), (v4i)b, (v4i)a);
}
FT_SIMD_INLINE v2d ft_v2d_max(v2d a, v2d b) {
  return (v2d)ft_v4i_select((v4i)(a < b), (v4i)b, (v4i)a);
}
FT_SIMD_INLINE v2d ft_v2d_abs(v2d a) {
  ft__v2l m = {INT64_MAX, INT64_MAX};
  return (v2d)((ft__v2l)a & m);
}
#define FT__V2D_MAP(fn) { v2d r = {fn(a[0]), fn(a[1])}; return r; }
FT_SIMD_INLINE v2d ft_v2d_sqrt(v2d a) FT__V2D_MAP(__builtin_sqrt)
FT_SIMD_INLINE v2d ft_v2d_floor(v2d a) FT__V2D_MAP(__builtin_floor)
FT_SIMD_INLINE v2d ft_v2d_ceil(v2d a) FT__V2D_MAP(__builtin_ceil)
FT_SIMD_INLINE v2d ft_v2d_trunc(v2d a) FT__V2D_MAP(__builtin_trunc)
FT_SIMD_INLINE v2d ft_v2d_round(v2d a) FT__V2D_MAP(__builtin_nearbyint) /* ties to even */
#undef FT__V2D_MAP
#endif

FT_SIMD_INLINE v2d ft_v2d_zero(void) { return ft_v2d_splat(0.0); }
FT_SIMD_INLINE v2d ft_v2d_set(double a, double b) { v2d r = {a, b}; return r; }
FT_SIMD_INLINE double ft_v2d_get(v2d a, int i) { return a[i]; }
FT_SIMD_INLINE v2d ft_v2d_add(v2d a, v2d b) { return a + b; }
FT_SIMD_INLINE v2d ft_v2d_sub(v2d a, v2d b) { return a - b; }
FT_SIMD_INLINE v2d ft_v2d_mul(v2d a, v2d b) { return a * b; }
FT_SIMD_INLINE v2d ft_v2d_div(v2d a, v2d b) { return a / b; }
FT_SIMD_INLINE v2d ft_v2d_neg(v2d a) { return -a; }
FT_SIMD_INLINE v2d ft_v2d_fma(v2d a, v2d b, v2d c) { return a * b + c; } /* unfused */
FT_SIMD_INLINE v2d ft_v2d_fnma(v2d a, v2d b, v2d c) { return c - a * b; } /* unfused */
FT_SIMD_INLINE double ft_v2d_hsum(v2d a) { return a[0] + a[1]; }
FT_SIMD_INLINE v4i ft_v2d_eq(v2d a, v2d b) { return (v4i)(a == b); }
FT_SIMD_INLINE v4i ft_v2d_ne(v2d a, v2d b) { return (v4i)(a != b); }
FT_SIMD_INLINE v4i ft_v2d_lt(v2d a, v2d b) { return (v4i)(a < b); }
FT_SIMD_INLINE v4i ft_v2d_le(v2d a, v2d b) { return (v4i)(a <= b); }
FT_SIMD_INLINE v4i ft_v2d_gt(v2d a, v2d b) { return (v4i)(a > b); }
FT_SIMD_INLINE v4i ft_v2d_ge(v2d a, v2d b) { return (v4i)(a >= b); }
FT_SIMD_INLINE v2d ft_v2d_select(v4i m, v2d a, v2d b) {
  return (v2d)ft_v4i_select(m, (v4i)a, (v4i)b);
}

/* ---- added for the elementwise and reduce kernels ----------------------------------- */

/* NaN-propagating max / min with torch.maximum / torch.minimum semantics:
 * NaN if either operand is NaN; max(-0, +0) = +0 and min(-0, +0) = -0 in
 * either order (f32x4.max / f32x4.min on wasm; NaN payload unspecified). */
#if FT_SIMD_WASM
FT_SIMD_INLINE v4f ft_v4f_max_nan(v4f a, v4f b) { return (v4f)wasm_f32x4_max(FT__V(a), FT__V(b)); }
FT_SIMD_INLINE v4f ft_v4f_min_nan(v4f a, v4f b) { return (v4f)wasm_f32x4_min(FT__V(a), FT__V(b)); }
#else
FT_SIMD_INLINE v4f ft_v4f_max_nan(v4f a, v4f b) {
  v4f r = ft_v4f_select((v4i)(a > b), a, b);
  r = ft_v4f_select((v4i)(a == b), (v4f)((v4i)a & (v4i)b), r);
  return ft_v4f_select((v4i)(a != a) | (v4i)(b != b), a + b, r);
}
FT_SIMD_INLINE v4f ft_v4f_min_nan(v4f a, v4f b) {
  v4f r = ft_v4f_select((v4i)(a < b), a, b);
  r = ft_v4f_select((v4i)(a == b), (v4f)((v4i)a | (v4i)b), r);
  return ft_v4f_select((v4i)(a != a) | (v4i)(b != b), a + b, r);
}
#endif

/* Store the 16 lanes of four comparison masks (m0's lanes first) as bytes
 * 0 / 1 to p[0..15] (unaligned). */
#if FT_SIMD_WASM
FT_SIMD_INLINE void ft_v4i_store_mask_u8x16(uint8_t *p, v4i m0, v4i m1, v4i m2, v4i m3) {
  v128_t a = wasm_i16x8_narrow_i32x4(FT__V(m0), FT__V(m1));
  v128_t b = wasm_i16x8_narrow_i32x4(FT__V(m2), FT__V(m3));
  v128_t c = wasm_i8x16_narrow_i16x8(a, b);
  wasm_v128_store(p, wasm_v128_and(c, wasm_i8x16_splat(1)));
}
/* The reverse: 16 bytes (bool, any nonzero is true) into four v4i masks. */
FT_SIMD_INLINE void ft_v4i_load_mask_u8x16(const uint8_t *p, v4i *m0, v4i *m1, v4i *m2, v4i *m3) {
  v128_t nz = wasm_i8x16_ne(wasm_v128_load(p), wasm_i8x16_splat(0));
  v128_t lo = wasm_i16x8_extend_low_i8x16(nz), hi = wasm_i16x8_extend_high_i8x16(nz);
  *m0 = (v4i)wasm_i32x4_extend_low_i16x8(lo);
  *m1 = (v4i)wasm_i32x4_extend_high_i16x8(lo);
  *m2 = (v4i)wasm_i32x4_extend_low_i16x8(hi);
  *m3 = (v4i)wasm_i32x4_extend_high_i16x8(hi);
}
#else
FT_SIMD_INLINE void ft_v4i_store_mask_u8x16(uint8_t *p, v4i m0, v4i m1, v4i m2, v4i m3) {
  typedef uint8_t ft__v4b __attribute__((vector_size(4)));
  ft__v4b b0 = __builtin_convertvector(m0 & 1, ft__v4b);
  ft__v4b b1 = __builtin_convertvector(m1 & 1, ft__v4b);
  ft__v4b b2 = __builtin_convertvector(m2 & 1, ft__v4b);
  ft__v4b b3 = __builtin_convertvector(m3 & 1, ft__v4b);
  memcpy(p, &b0, 4);
  memcpy(p + 4, &b1, 4);
  memcpy(p + 8, &b2, 4);
  memcpy(p + 12, &b3, 4);
}
FT_SIMD_INLINE void ft_v4i_load_mask_u8x16(const uint8_t *p, v4i *m0, v4i *m1, v4i *m2, v4i *m3) {
  v4i *m[4] = {m0, m1, m2, m3};
  for (int k = 0; k < 4; k++) {
    v4i r = {-(p[4 * k] != 0), -(p[4 * k + 1] != 0), -(p[4 * k + 2] != 0), -(p[4 * k + 3] != 0)};
    *m[k] = r;
  }
}
#endif

#endif /* FT_SIMD_H */
