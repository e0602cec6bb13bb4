/* ft_k_gemm: C[M,N] (+)= A[M,K] @ B[K,N] for F32 and F64 (see kernels.h).
 *
 * F32 layout (BLIS/GotoBLAS shape):
 *
 *   for jc in N step NC            (column block; the unit a later thread split uses)
 *     for pc in K step KC          pack B[pc:pc+kc, jc:jc+nc] -> NR-wide panels   (L2/L3)
 *       for ic in M step MC        pack A[ic:ic+mc, pc:pc+kc] -> MR-tall panels   (L2)
 *         for jr in nc step NR     one B micro-panel (kc x NR) stays in L1
 *           for ir in mc step MR   micro-kernel: MR x NR tile in registers
 *
 * The micro-kernel broadcasts one packed A element per row ("loadsplat":
 * v128.load32_splat, a plain load on x86) and multiplies it by two B vectors,
 * accumulating MR x 8 floats in 2*MR v128 registers. V8 on x86-64 has 15
 * allocatable xmm registers; MR = 4 (8 accumulators + 2 B + splat + temp)
 * is what fits without spills, as in XNNPACK's wasmsimd-x86 kernels.
 *
 * Packing makes every stride combination look the same to the micro-kernel,
 * so transposed operands cost only a (vectorised) transposing pack. Edge
 * tiles are zero-padded in the packs and stored through a small bounce
 * buffer, so nothing outside A, B, C is ever read or written.
 *
 * Blocking (measured in Node 20 / V8 on the dev box, AMD Zen 5, 48 KB L1D,
 * 1 MB L2): KC 128..512, MC 96..288, NC 256..1024 are all within ~2% of
 * each other once packing reads rows sequentially; 256/192/512 was best.
 * MR = 5 and 6 were slower (6 spills: ~27 GFLOP/s against ~51 for MR = 4).
 *
 * Small problems (M*N*K <= FT_GEMM_SMALL, single K block) skip packing A and,
 * when B's rows are contiguous, B; M == 1 or N == 1 go to a GEMV. Packing is
 * cheap enough that the packed path already wins from about 20^3, hence the
 * low threshold. Edge panels 1..4 columns wide use a half-width loop.
 *
 * F64 uses the same driver with a 4 x 4 v2d micro-kernel and scalar packing.
 *
 * Scratch: packing buffers sized by the blocking (kernels.h: the kernel's
 * own pool), one pair per thread. Large products are split over the thread
 * pool (threads.h) by column range [n0, n1), or by rows when N is narrow.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "simd.h"
#include "threads.h"

#if defined(__GNUC__) || defined(__clang__)
#define FT_ALWAYS_INLINE static inline __attribute__((always_inline))
#define FT_NOINLINE static __attribute__((noinline))
#define FT_ALIGN(n) __attribute__((aligned(n)))
#else
#define FT_ALWAYS_INLINE static inline
#define FT_NOINLINE static
#define FT_ALIGN(n)
#endif

/* Fully unroll the fixed-trip register loops: clang does at -O2/-O3, GCC -O2
 * otherwise leaves the accumulators in memory. */
#if defined(__GNUC__) || defined(__clang__)
#define FT_UNROLL _Pragma("GCC unroll 16")
#else
#define FT_UNROLL
#endif

typedef ptrdiff_t idx; /* 32-bit on wasm32: cheaper than int64 index math */

static inline idx imin(idx a, idx b) { return a < b ? a : b; }

/* ---- blocking ----------------------------------------------------------------- */

#ifndef FT_GEMM_F32_MR
#define FT_GEMM_F32_MR 4
#endif
#define F32_MR FT_GEMM_F32_MR
#define F32_NR 8
#ifndef FT_GEMM_F32_KC
#define FT_GEMM_F32_KC 256 /* B micro-panel KC*NR*4 = 8 KB, A micro-panel 4 KB: L1 */
#endif
#ifndef FT_GEMM_F32_MC
#define FT_GEMM_F32_MC 192 /* A block MC*KC*4 = 192 KB: L2 */
#endif
#ifndef FT_GEMM_F32_NC
#define FT_GEMM_F32_NC 512 /* B block KC*NC*4 = 512 KB: L2/L3 */
#endif
#define F32_KC FT_GEMM_F32_KC
#define F32_MC FT_GEMM_F32_MC
#define F32_NC FT_GEMM_F32_NC

#define F64_MR 4
#define F64_NR 4
#define F64_KC 256
#define F64_MC 96  /* 96*256*8 = 192 KB */
#define F64_NC 256 /* 256*256*8 = 512 KB */

#ifndef FT_GEMM_SMALL
#define FT_GEMM_SMALL (16 * 16 * 16)
#endif

#define PACK_A_BYTES (F32_MC * F32_KC * 4 > F64_MC * F64_KC * 8 ? F32_MC * F32_KC * 4 : F64_MC * F64_KC * 8)
#define PACK_B_BYTES (F32_KC * F32_NC * 4 > F64_KC * F64_NC * 8 ? F32_KC * F32_NC * 4 : F64_KC * F64_NC * 8)

_Static_assert(F32_MR % 4 == 0, "packing moves whole v4f: MR must be a multiple of 4");
_Static_assert(F32_MC % F32_MR == 0, "MC must be a multiple of MR");
_Static_assert(F32_NC % F32_NR == 0, "NC must be a multiple of NR");
_Static_assert(F64_MC % F64_MR == 0, "MC must be a multiple of MR");
_Static_assert(F64_NC % F64_NR == 0, "NC must be a multiple of NR");

static union { double d[PACK_A_BYTES / 8]; float f[PACK_A_BYTES / 4]; } FT_ALIGN(64) g_pack_a;
static union { double d[PACK_B_BYTES / 8]; float f[PACK_B_BYTES / 4]; } FT_ALIGN(64) g_pack_b;

/* Split [0, n) into ceil(n / max) near-equal blocks rounded up to `mult`. */
static idx balanced_block(idx n, idx max, idx mult) {
  idx nb = (n + max - 1) / max;
  idx b = (n + nb - 1) / nb;
  b = (b + mult - 1) / mult * mult;
  return b < max ? b : max;
}

/* ---- threads ------------------------------------------------------------------ */

/* Column blocks (or row blocks) of C are independent and every element is
 * summed in the same order whatever the split (the K blocking depends on K
 * alone), so results are bit-identical for any thread count. Each thread
 * packs into its own buffers: thread 0 uses the static ones, others get
 * theirs from the heap on the first threaded GEMM, allocated here on the
 * calling thread because tasks must not allocate (threads.h). */

/* Below this many multiply-adds a split costs more than it saves (a job's
 * publish and join is a few microseconds; 2^20 FMAs take ~20 us). */
#ifndef FT_GEMM_PARALLEL_MIN
#define FT_GEMM_PARALLEL_MIN (1 << 20)
#endif

static void *g_thread_pack[FT_MAX_THREADS]; /* [t]: PACK_A_BYTES + PACK_B_BYTES, t >= 1 */

static int thread_buffers(int nthreads) {
  for (int t = 1; t < nthreads; t++) {
    if (!g_thread_pack[t]) g_thread_pack[t] = aligned_alloc(64, PACK_A_BYTES + PACK_B_BYTES);
    if (!g_thread_pack[t]) return 0;
  }
  return 1;
}

typedef struct gemm_job {
  ft_dtype dt;
  idx M, N, K;
  const void *A, *B;
  void *C;
  idx rsa, csa, rsb, csb, rsc;
  int accumulate, by_rows;
  idx step; /* columns (or rows) per task */
} gemm_job;

static void gemm_f32_cols(idx M, idx n0, idx n1, idx K, const float *A, idx rsa, idx csa,
                          const float *B, idx rsb, idx csb, float *C, idx rsc, int accumulate,
                          float *pa, float *pb);
static void gemm_f64_cols(idx M, idx n0, idx n1, idx K, const double *A, idx rsa, idx csa,
                          const double *B, idx rsb, idx csb, double *C, idx rsc, int accumulate,
                          double *pa, double *pb);

/* Thread t's packing buffers (thread_buffers must have run for t > 0). */
static void pack_buffers(int thread, char **pa, char **pb) {
  *pa = thread ? (char *)g_thread_pack[thread] : (char *)&g_pack_a;
  *pb = thread ? *pa + PACK_A_BYTES : (char *)&g_pack_b;
}

int ft_k_gemm_reserve(int nthreads) {
  return nthreads <= FT_MAX_THREADS && thread_buffers(nthreads);
}

static void gemm_task(void *p, int task, int thread) {
  const gemm_job *j = p;
  char *pa, *pb;
  pack_buffers(thread, &pa, &pb);
  const idx lo = task * j->step, extent = j->by_rows ? j->M : j->N;
  const idx hi = imin(extent, lo + j->step);
  if (lo >= hi) return;
  const size_t es = j->dt == FT_F64 ? 8 : 4;
  /* A row block is a smaller GEMM on row-offset views of A and C. */
  const char *A = (const char *)j->A + (j->by_rows ? (size_t)(lo * j->rsa) * es : 0);
  char *C = (char *)j->C + (j->by_rows ? (size_t)(lo * j->rsc) * es : 0);
  const idx M = j->by_rows ? hi - lo : j->M;
  const idx n0 = j->by_rows ? 0 : lo, n1 = j->by_rows ? j->N : hi;
  if (j->dt == FT_F64)
    gemm_f64_cols(M, n0, n1, j->K, (const double *)A, j->rsa, j->csa, j->B, j->rsb, j->csb,
                  (double *)C, j->rsc, j->accumulate, (double *)pa, (double *)pb);
  else
    gemm_f32_cols(M, n0, n1, j->K, (const float *)A, j->rsa, j->csa, j->B, j->rsb, j->csb,
                  (float *)C, j->rsc, j->accumulate, (float *)pa, (float *)pb);
}

/* Runs a packed-path GEMM over the thread pool; returns 0 (and does
 * nothing) when it is too small to split or there is one thread. */
static int gemm_parallel(ft_dtype dt, idx M, idx N, idx K, const void *A, idx rsa, idx csa,
                         const void *B, idx rsb, idx csb, void *C, idx rsc, int accumulate) {
  if (!ft_threads_can_split() || (int64_t)M * N * K < FT_GEMM_PARALLEL_MIN) return 0;
  const int nt = ft_threads_count();
  const idx nr = dt == FT_F64 ? F64_NR : F32_NR, mr = dt == FT_F64 ? F64_MR : F32_MR;
  gemm_job j = {dt, M, N, K, A, B, C, rsa, csa, rsb, csb, rsc, accumulate, 0, 0};
  /* Prefer columns: each task then packs only its share of B. Rows when N
   * is too narrow to give every thread whole register tiles. */
  if (N >= 2 * nr * nt) {
    j.step = (N + nt - 1) / nt;
    j.step = (j.step + nr - 1) / nr * nr;
  } else if (M >= 2 * mr * nt) {
    j.by_rows = 1;
    j.step = (M + nt - 1) / nt;
    j.step = (j.step + mr - 1) / mr * mr;
  } else {
    return 0;
  }
  if (!thread_buffers(nt)) return 0; /* out of memory: run single-threaded */
  const idx extent = j.by_rows ? M : N;
  ft_parallel_for((int)((extent + j.step - 1) / j.step), gemm_task, &j);
  return 1;
}

/* ======================================================================
 * F32
 * ====================================================================== */

/* ---- packing ---------------------------------------------------------------- */

/* 4x4 transpose of rows r0..r3 into columns. */
FT_ALWAYS_INLINE void tr4(v4f *r0, v4f *r1, v4f *r2, v4f *r3) {
#if FT_SIMD_WASM
  v128_t t0 = wasm_i32x4_shuffle((v128_t)*r0, (v128_t)*r1, 0, 4, 1, 5);
  v128_t t1 = wasm_i32x4_shuffle((v128_t)*r0, (v128_t)*r1, 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle((v128_t)*r2, (v128_t)*r3, 0, 4, 1, 5);
  v128_t t3 = wasm_i32x4_shuffle((v128_t)*r2, (v128_t)*r3, 2, 6, 3, 7);
  *r0 = (v4f)wasm_i64x2_shuffle(t0, t2, 0, 2);
  *r1 = (v4f)wasm_i64x2_shuffle(t0, t2, 1, 3);
  *r2 = (v4f)wasm_i64x2_shuffle(t1, t3, 0, 2);
  *r3 = (v4f)wasm_i64x2_shuffle(t1, t3, 1, 3);
#else
  v4f a = *r0, b = *r1, c = *r2, d = *r3;
  v4f o0 = {a[0], b[0], c[0], d[0]};
  v4f o1 = {a[1], b[1], c[1], d[1]};
  v4f o2 = {a[2], b[2], c[2], d[2]};
  v4f o3 = {a[3], b[3], c[3], d[3]};
  *r0 = o0; *r1 = o1; *r2 = o2; *r3 = o3;
#endif
}

/* Pack w <= P columns t of a strip: dst[k*P + t] = src[t*st + k*sk] for
 * k < kc, zero for w <= t < P. P is a multiple of 4. Used for A (P = MR,
 * t = row) and B (P = NR, t = column). */
FT_ALWAYS_INLINE void pack_strip_f32(int P, idx kc, idx w, const float *src, idx st, idx sk,
                                     float *restrict dst) {
  if (w == P && sk == 1) {
    /* Contiguous along k: 4x4 transposes (P streams read in parallel). */
    idx k = 0;
    for (; k + 4 <= kc; k += 4) {
      for (int t = 0; t < P; t += 4) {
        v4f r0 = ft_v4f_load(src + (t + 0) * st + k);
        v4f r1 = ft_v4f_load(src + (t + 1) * st + k);
        v4f r2 = ft_v4f_load(src + (t + 2) * st + k);
        v4f r3 = ft_v4f_load(src + (t + 3) * st + k);
        tr4(&r0, &r1, &r2, &r3);
        ft_v4f_store(dst + (k + 0) * P + t, r0);
        ft_v4f_store(dst + (k + 1) * P + t, r1);
        ft_v4f_store(dst + (k + 2) * P + t, r2);
        ft_v4f_store(dst + (k + 3) * P + t, r3);
      }
    }
    for (; k < kc; k++)
      for (int t = 0; t < P; t++) dst[k * P + t] = src[t * st + k];
    return;
  }
  for (idx k = 0; k < kc; k++) {
    int t = 0;
    for (; t < w; t++) dst[t] = src[t * st + k * sk];
    for (; t < P; t++) dst[t] = 0.0f;
    dst += P;
  }
}

/* Pack n columns t (P-wide strips, strip stride kc*P) when the t direction
 * is contiguous (st == 1): walk the source row by row, 4 rows at a time, so
 * reads are sequential and each strip receives whole 64-byte lines. (Walking
 * strip by strip instead reads kc lines at a large stride, which thrashes L1
 * sets when the stride is a multiple of 1 KB.) */
FT_ALWAYS_INLINE void pack_rows_f32(int P, idx kc, idx n, const float *src, idx sk,
                                    float *restrict dst) {
  const idx full = n / P, sstride = kc * P;
  idx k = 0;
  for (; k + 4 <= kc; k += 4) {
    const float *r0 = src + k * sk, *r1 = r0 + sk, *r2 = r1 + sk, *r3 = r2 + sk;
    float *d = dst + k * P;
    for (idx s = 0; s < full; s++, d += sstride) {
      const idx o = s * P;
      for (int t = 0; t < P; t += 4) {
        const v4f x0 = ft_v4f_load(r0 + o + t), x1 = ft_v4f_load(r1 + o + t);
        const v4f x2 = ft_v4f_load(r2 + o + t), x3 = ft_v4f_load(r3 + o + t);
        ft_v4f_store(d + t, x0);
        ft_v4f_store(d + P + t, x1);
        ft_v4f_store(d + 2 * P + t, x2);
        ft_v4f_store(d + 3 * P + t, x3);
      }
    }
  }
  for (; k < kc; k++) {
    const float *r0 = src + k * sk;
    float *d = dst + k * P;
    for (idx s = 0; s < full; s++, d += sstride)
      for (int t = 0; t < P; t += 4) ft_v4f_store(d + t, ft_v4f_load(r0 + s * P + t));
  }
  if (full * P < n) pack_strip_f32(P, kc, n - full * P, src + full * P, 1, sk, dst + full * sstride);
}

/* Pack rows [0, m) x k [0, kc) of A into MR-tall panels (panel stride kc*MR). */
static void pack_a_f32(idx m, idx kc, const float *a, idx rsa, idx csa, float *restrict dst) {
  if (rsa == 1) {
    pack_rows_f32(F32_MR, kc, m, a, csa, dst);
    return;
  }
  for (idx i = 0; i < m; i += F32_MR) {
    pack_strip_f32(F32_MR, kc, imin(F32_MR, m - i), a + i * rsa, rsa, csa, dst);
    dst += kc * F32_MR;
  }
}

/* Pack k [0, kc) x columns [0, n) of B into NR-wide panels (panel stride kc*NR). */
static void pack_b_f32(idx kc, idx n, const float *b, idx rsb, idx csb, float *restrict dst) {
  if (csb == 1) {
    pack_rows_f32(F32_NR, kc, n, b, rsb, dst);
    return;
  }
  for (idx j = 0; j < n; j += F32_NR) {
    pack_strip_f32(F32_NR, kc, imin(F32_NR, n - j), b + j * csb, csb, rsb, dst);
    dst += kc * F32_NR;
  }
}

/* ---- micro-kernel ------------------------------------------------------------- */

/* Store an MR x 8 register tile (acc[2*i], acc[2*i+1] = row i) to C. */
FT_ALWAYS_INLINE void store_tile_f32(v4f *acc, float *c, idx rsc, int mr, int nr, int accumulate) {
  if (mr == F32_MR && nr == F32_NR) {
    FT_UNROLL
    for (int i = 0; i < F32_MR; i++) {
      float *ci = c + i * rsc;
      v4f x0 = acc[2 * i], x1 = acc[2 * i + 1];
      if (accumulate) {
        x0 = ft_v4f_add(x0, ft_v4f_load(ci));
        x1 = ft_v4f_add(x1, ft_v4f_load(ci + 4));
      }
      ft_v4f_store(ci, x0);
      ft_v4f_store(ci + 4, x1);
    }
  } else {
    float tmp[F32_MR * F32_NR];
    FT_UNROLL
    for (int i = 0; i < F32_MR; i++) {
      ft_v4f_store(tmp + i * F32_NR, acc[2 * i]);
      ft_v4f_store(tmp + i * F32_NR + 4, acc[2 * i + 1]);
    }
    for (int i = 0; i < mr; i++) {
      float *ci = c + i * rsc;
      if (accumulate)
        for (int j = 0; j < nr; j++) ci[j] += tmp[i * F32_NR + j];
      else
        for (int j = 0; j < nr; j++) ci[j] = tmp[i * F32_NR + j];
    }
  }
}

/* C[0:mr, 0:nr] (+)= A[0:MR, 0:kc] @ B[0:kc, 0:8].
 * A(i, k) = a[i*ars + k*acs] for every i < MR (callers clamp rows past mr
 * to valid memory); B(k, 0:8) = b[k*bs + 0:8]. */
FT_ALWAYS_INLINE void ukr_f32_body(idx kc, const float *restrict a, idx ars, idx acs,
                                   const float *restrict b, idx bs, float *restrict c, idx rsc,
                                   int mr, int nr, int accumulate) {
  v4f acc[2 * F32_MR];
  FT_UNROLL
  for (int i = 0; i < 2 * F32_MR; i++) acc[i] = ft_v4f_zero();
  if (nr <= 4) {
    /* Narrow edge panel (N % 8 in 1..4): half the work of the full tile. */
    for (idx k = 0; k < kc; k++) {
      const v4f b0 = ft_v4f_load(b);
      b += bs;
      FT_UNROLL
      for (int i = 0; i < F32_MR; i++) acc[2 * i] = ft_v4f_fma(ft_v4f_load1(a + i * ars), b0, acc[2 * i]);
      a += acs;
    }
    store_tile_f32(acc, c, rsc, mr, nr, accumulate);
    return;
  }
  for (idx k = 0; k < kc; k++) {
    const v4f b0 = ft_v4f_load(b);
    const v4f b1 = ft_v4f_load(b + 4);
    b += bs;
    FT_UNROLL
    for (int i = 0; i < F32_MR; i++) {
      const v4f ai = ft_v4f_load1(a + i * ars);
      acc[2 * i] = ft_v4f_fma(ai, b0, acc[2 * i]);
      acc[2 * i + 1] = ft_v4f_fma(ai, b1, acc[2 * i + 1]);
    }
    a += acs;
  }
  store_tile_f32(acc, c, rsc, mr, nr, accumulate);
}

/* Both operands packed. */
FT_NOINLINE void ukr_f32_packed(idx kc, const float *restrict a, const float *restrict b,
                                float *restrict c, idx rsc, int mr, int nr, int accumulate) {
  ukr_f32_body(kc, a, 1, F32_MR, b, F32_NR, c, rsc, mr, nr, accumulate);
}

/* A read in place through its strides, B through a row stride (unit columns). */
FT_NOINLINE void ukr_f32_direct(idx kc, const float *restrict a, idx ars, idx acs,
                                const float *restrict b, idx bs, float *restrict c, idx rsc,
                                int mr, int nr, int accumulate) {
  ukr_f32_body(kc, a, ars, acs, b, bs, c, rsc, mr, nr, accumulate);
}

/* B's row k at b + boff[k] (8 unit columns): a convolution's image read in
 * place through its taps' offsets (ft_k_gemm_indirect). ukr_f32_body's
 * loop with another B address: folding it into the body behind a
 * `boff ? ... : ...` slowed the convolutions 10% (the test stayed in the
 * loop), so it stays a loop of its own. */
FT_NOINLINE void ukr_f32_indirect(idx kc, const float *restrict a, idx ars, idx acs, const float *restrict b,
                                  const idx *restrict boff, float *restrict c, idx rsc, int mr, int accumulate) {
  v4f acc[2 * F32_MR];
  FT_UNROLL
  for (int i = 0; i < 2 * F32_MR; i++) acc[i] = ft_v4f_zero();
  for (idx k = 0; k < kc; k++) {
    const float *bk = b + boff[k];
    const v4f b0 = ft_v4f_load(bk);
    const v4f b1 = ft_v4f_load(bk + 4);
    FT_UNROLL
    for (int i = 0; i < F32_MR; i++) {
      const v4f ai = ft_v4f_load1(a + i * ars);
      acc[2 * i] = ft_v4f_fma(ai, b0, acc[2 * i]);
      acc[2 * i + 1] = ft_v4f_fma(ai, b1, acc[2 * i + 1]);
    }
    a += acs;
  }
  store_tile_f32(acc, c, rsc, mr, F32_NR, accumulate);
}

/* A's rows at a + aoff[i] (unit k stride), B packed: a convolution's weight
 * gradient reading the image in place through its taps' offsets
 * (ft_k_gemm_indirect_a). Rows past mr repeat row 0 (valid memory; their
 * sums are dropped by the store). */
FT_NOINLINE void ukr_f32_indirect_a(idx kc, const float *restrict a, const idx *restrict aoff, int mr,
                                    const float *restrict b, float *restrict c, idx rsc, int nr, int accumulate) {
  const float *r[F32_MR];
  FT_UNROLL
  for (int i = 0; i < F32_MR; i++) r[i] = a + aoff[i < mr ? i : 0];
  v4f acc[2 * F32_MR];
  FT_UNROLL
  for (int i = 0; i < 2 * F32_MR; i++) acc[i] = ft_v4f_zero();
  for (idx k = 0; k < kc; k++) {
    const v4f b0 = ft_v4f_load(b), b1 = ft_v4f_load(b + 4);
    b += F32_NR;
    FT_UNROLL
    for (int i = 0; i < F32_MR; i++) {
      const v4f ai = ft_v4f_load1(r[i] + k);
      acc[2 * i] = ft_v4f_fma(ai, b0, acc[2 * i]);
      acc[2 * i + 1] = ft_v4f_fma(ai, b1, acc[2 * i + 1]);
    }
  }
  store_tile_f32(acc, c, rsc, mr, nr, accumulate);
}

/* ---- drivers ------------------------------------------------------------------ */

/* Columns [n0, n1) of C (+)= A @ B. Whole column blocks of NC are independent:
 * this is the unit a threaded version hands to each worker (with its own
 * packing buffers). */
static void gemm_f32_cols(idx M, idx n0, idx n1, idx K, const float *A, idx rsa, idx csa,
                          const float *B, idx rsb, idx csb, float *C, idx rsc, int accumulate,
                          float *pa, float *pb) {
  const idx kcb = balanced_block(K, F32_KC, 4);
  const idx mcb = balanced_block(M, F32_MC, F32_MR);
  for (idx jc = n0; jc < n1; jc += F32_NC) {
    const idx nc = imin(F32_NC, n1 - jc);
    for (idx pc = 0; pc < K; pc += kcb) {
      const idx kc = imin(kcb, K - pc);
      const int acc = accumulate || pc > 0;
      pack_b_f32(kc, nc, B + pc * rsb + jc * csb, rsb, csb, pb);
      for (idx ic = 0; ic < M; ic += mcb) {
        const idx mc = imin(mcb, M - ic);
        pack_a_f32(mc, kc, A + ic * rsa + pc * csa, rsa, csa, pa);
        for (idx jr = 0; jr < nc; jr += F32_NR) {
          const int nr = (int)imin(F32_NR, nc - jr);
          const float *bp = pb + jr * kc;
          float *cj = C + ic * rsc + jc + jr;
          for (idx ir = 0; ir < mc; ir += F32_MR) {
            const int mr = (int)imin(F32_MR, mc - ir);
            ukr_f32_packed(kc, pa + ir * kc, bp, cj + ir * rsc, rsc, mr, nr, acc);
          }
        }
      }
    }
  }
}

/* Small problems (K <= KC, N*K fits the B buffer): no A packing; B read in
 * place when its rows are contiguous, except the last partial panel. */
static void gemm_f32_small(idx M, idx N, idx K, const float *A, idx rsa, idx csa,
                           const float *B, idx rsb, idx csb, float *C, idx rsc, int accumulate,
                           float *pa, float *pb) {
  const int direct_b = (csb == 1);
  if (!direct_b) pack_b_f32(K, N, B, rsb, csb, pb);
  /* Rows past the last whole MR group go through a zero-padded panel. */
  const idx m_full = M / F32_MR * F32_MR;
  if (m_full < M) pack_a_f32(M - m_full, K, A + m_full * rsa, rsa, csa, pa);
  for (idx j = 0; j < N; j += F32_NR) {
    const int nr = (int)imin(F32_NR, N - j);
    const float *bp;
    idx bs;
    if (!direct_b) {
      bp = pb + j * K;
      bs = F32_NR;
    } else if (nr == F32_NR) {
      bp = B + j;
      bs = rsb;
    } else {
      pack_b_f32(K, nr, B + j, rsb, 1, pb);
      bp = pb;
      bs = F32_NR;
    }
    for (idx i = 0; i < M; i += F32_MR) {
      const int mr = (int)imin(F32_MR, M - i);
      if (mr == F32_MR)
        ukr_f32_direct(K, A + i * rsa, rsa, csa, bp, bs, C + i * rsc + j, rsc, mr, nr, accumulate);
      else
        ukr_f32_direct(K, pa, 1, F32_MR, bp, bs, C + i * rsc + j, rsc, mr, nr, accumulate);
    }
  }
}

/* y[j*incy] (+)= sum_k x[k] * W[k*wk + j*wn], j < n, with x contiguous. */
static void gemv_f32(idx n, idx K, const float *x, const float *W, idx wk, idx wn,
                     float *y, idx incy, int accumulate) {
  if (wn == 1) {
    /* Rows of W contiguous: y += x[k] * W[k, :], 32 outputs in registers. */
    idx j = 0;
    for (; j + 32 <= n; j += 32) {
      v4f s[8];
      FT_UNROLL
      for (int q = 0; q < 8; q++) s[q] = ft_v4f_zero();
      const float *w = W + j;
      for (idx k = 0; k < K; k++, w += wk) {
        const v4f xk = ft_v4f_load1(x + k);
        FT_UNROLL
        for (int q = 0; q < 8; q++) s[q] = ft_v4f_fma(xk, ft_v4f_load(w + 4 * q), s[q]);
      }
      float t[32];
      FT_UNROLL
      for (int q = 0; q < 8; q++) ft_v4f_store(t + 4 * q, s[q]);
      for (int q = 0; q < 32; q++) {
        float *o = y + (j + q) * incy;
        *o = accumulate ? *o + t[q] : t[q];
      }
    }
    for (; j + 4 <= n; j += 4) {
      v4f s = ft_v4f_zero();
      const float *w = W + j;
      for (idx k = 0; k < K; k++, w += wk) s = ft_v4f_fma(ft_v4f_load1(x + k), ft_v4f_load(w), s);
      for (int q = 0; q < 4; q++) {
        float *o = y + (j + q) * incy;
        *o = accumulate ? *o + s[q] : s[q];
      }
    }
    for (; j < n; j++) {
      float s = 0.0f;
      for (idx k = 0; k < K; k++) s += x[k] * W[k * wk + j];
      float *o = y + j * incy;
      *o = accumulate ? *o + s : s;
    }
    return;
  }
  if (wk == 1) {
    /* Columns of W contiguous along k: dot products, 4 outputs at a time. */
    idx j = 0;
    for (; j + 4 <= n; j += 4) {
      const float *w0 = W + (j + 0) * wn, *w1 = W + (j + 1) * wn;
      const float *w2 = W + (j + 2) * wn, *w3 = W + (j + 3) * wn;
      v4f s0 = ft_v4f_zero(), s1 = s0, s2 = s0, s3 = s0;
      idx k = 0;
      for (; k + 4 <= K; k += 4) {
        const v4f xk = ft_v4f_load(x + k);
        s0 = ft_v4f_fma(xk, ft_v4f_load(w0 + k), s0);
        s1 = ft_v4f_fma(xk, ft_v4f_load(w1 + k), s1);
        s2 = ft_v4f_fma(xk, ft_v4f_load(w2 + k), s2);
        s3 = ft_v4f_fma(xk, ft_v4f_load(w3 + k), s3);
      }
      float r[4] = {ft_v4f_hsum(s0), ft_v4f_hsum(s1), ft_v4f_hsum(s2), ft_v4f_hsum(s3)};
      for (; k < K; k++) {
        r[0] += x[k] * w0[k];
        r[1] += x[k] * w1[k];
        r[2] += x[k] * w2[k];
        r[3] += x[k] * w3[k];
      }
      for (int q = 0; q < 4; q++) {
        float *o = y + (j + q) * incy;
        *o = accumulate ? *o + r[q] : r[q];
      }
    }
    for (; j < n; j++) {
      const float *w = W + j * wn;
      v4f s = ft_v4f_zero();
      idx k = 0;
      for (; k + 4 <= K; k += 4) s = ft_v4f_fma(ft_v4f_load(x + k), ft_v4f_load(w + k), s);
      float r = ft_v4f_hsum(s);
      for (; k < K; k++) r += x[k] * w[k];
      float *o = y + j * incy;
      *o = accumulate ? *o + r : r;
    }
    return;
  }
  for (idx j = 0; j < n; j++) {
    float s = 0.0f;
    for (idx k = 0; k < K; k++) s += x[k] * W[k * wk + j * wn];
    float *o = y + j * incy;
    *o = accumulate ? *o + s : s;
  }
}

static void gemm_f32(idx M, idx N, idx K, const float *A, idx rsa, idx csa, const float *B,
                     idx rsb, idx csb, float *C, idx rsc, int accumulate, int thread) {
  char *pac, *pbc;
  pack_buffers(thread, &pac, &pbc);
  float *pa = (float *)pac, *pb = (float *)pbc;
  if (M == 1 || N == 1) {
    /* GEMV. M == 1: y = C row, x = A row, W = B (k-stride rsb, n-stride csb).
     *       N == 1: y = C column, x = B column, W = A (k-stride csa, n-stride rsa).
     * A strided x is copied, a chunk of K at a time, into the A packing buffer. */
    const float *x = M == 1 ? A : B;
    const idx incx = M == 1 ? csa : rsb;
    const float *W = M == 1 ? B : A;
    const idx wk = M == 1 ? rsb : csa, wn = M == 1 ? csb : rsa;
    const idx n = M == 1 ? N : M, incy = M == 1 ? 1 : rsc;
    const idx chunk = incx == 1 ? K : (idx)(PACK_A_BYTES / 4);
    for (idx k0 = 0; k0 < K; k0 += chunk) {
      const idx kc = imin(chunk, K - k0);
      const float *xk = x + k0 * incx;
      if (incx != 1) {
        for (idx k = 0; k < kc; k++) pa[k] = xk[k * incx];
        xk = pa;
      }
      gemv_f32(n, kc, xk, W + k0 * wk, wk, wn, C, incy, accumulate || k0 > 0);
    }
    return;
  }
  /* Small: one K block, and B (padded to whole panels) fits the B buffer. */
  if ((int64_t)M * N * K <= FT_GEMM_SMALL && K <= F32_KC && (int64_t)(N + F32_NR) * K <= PACK_B_BYTES / 4) {
    gemm_f32_small(M, N, K, A, rsa, csa, B, rsb, csb, C, rsc, accumulate, pa, pb);
    return;
  }
  if (thread == 0 && gemm_parallel(FT_F32, M, N, K, A, rsa, csa, B, rsb, csb, C, rsc, accumulate)) return;
  gemm_f32_cols(M, 0, N, K, A, rsa, csa, B, rsb, csb, C, rsc, accumulate, pa, pb);
}

/* The indirect GEMM (kernels.h). Panels of 8 columns outermost: a panel's
 * K rows of B stay in L1 while every MR-row tile of A passes over them.
 * The last partial panel is copied, zero-padded, so nothing past column N
 * is read; so are A's rows past the last whole MR group. One K pass, in
 * order: the sums are the ones gemm_f32_cols makes for K <= KC. */
int ft_k_gemm_indirect(int thread, ft_dtype dt, int64_t M64, int64_t N64, int64_t K64, const void *A, int64_t rsa,
                       int64_t csa, const void *B, const ptrdiff_t *boff, void *C, int64_t rsc, int accumulate) {
  const idx M = (idx)M64, N = (idx)N64, K = (idx)K64;
  if (dt != FT_F32 || K > F32_KC || (int64_t)K * F32_NR > PACK_B_BYTES / 4 || (int64_t)K * F32_MR > PACK_A_BYTES / 4)
    return 0;
  if (M <= 0 || N <= 0 || K <= 0) return 0;
  char *pac, *pbc;
  pack_buffers(thread, &pac, &pbc);
  float *pa = (float *)pac, *pb = (float *)pbc;
  const float *a = A, *b = B;
  float *c = C;
  const idx m_full = M / F32_MR * F32_MR;
  if (m_full < M) pack_a_f32(M - m_full, K, a + m_full * rsa, (idx)rsa, (idx)csa, pa);
  for (idx j = 0; j < N; j += F32_NR) {
    const int nr = (int)imin(F32_NR, N - j);
    if (nr < F32_NR)
      for (idx k = 0; k < K; k++) {
        const float *src = b + boff[k] + j;
        float *d = pb + k * F32_NR;
        for (int t = 0; t < F32_NR; t++) d[t] = t < nr ? src[t] : 0.0f;
      }
    for (idx i = 0; i < M; i += F32_MR) {
      const int mr = (int)imin(F32_MR, M - i);
      const float *ai = mr == F32_MR ? a + i * rsa : pa;
      const idx ars = mr == F32_MR ? (idx)rsa : 1, acs = mr == F32_MR ? (idx)csa : F32_MR;
      float *ci = c + i * (idx)rsc + j;
      if (nr == F32_NR) ukr_f32_indirect(K, ai, ars, acs, b + j, boff, ci, (idx)rsc, mr, accumulate != 0);
      else ukr_f32_direct(K, ai, ars, acs, pb, F32_NR, ci, (idx)rsc, mr, nr, accumulate != 0);
    }
  }
  return 1;
}

/* The indirect-A GEMM (kernels.h): B packed whole into NR-wide panels,
 * then every MR-row tile of A passes over each panel. One K pass. */
int ft_k_gemm_indirect_a(int thread, ft_dtype dt, int64_t M64, int64_t N64, int64_t K64, const void *A,
                         const ptrdiff_t *aoff, const void *B, int64_t rsb, int64_t csb, void *C, int64_t rsc,
                         int accumulate) {
  const idx M = (idx)M64, N = (idx)N64, K = (idx)K64;
  if (dt != FT_F32 || (int64_t)K * ((N + F32_NR - 1) / F32_NR * F32_NR) > PACK_B_BYTES / 4) return 0;
  if (M <= 0 || N <= 0 || K <= 0) return 0;
  char *pac, *pbc;
  pack_buffers(thread, &pac, &pbc);
  float *pb = (float *)pbc;
  pack_b_f32(K, N, B, (idx)rsb, (idx)csb, pb);
  for (idx j = 0; j < N; j += F32_NR) {
    const int nr = (int)imin(F32_NR, N - j);
    for (idx i = 0; i < M; i += F32_MR)
      ukr_f32_indirect_a(K, A, aoff + i, (int)imin(F32_MR, M - i), pb + j * K, (float *)C + i * (idx)rsc + j,
                         (idx)rsc, nr, accumulate != 0);
  }
  return 1;
}

/* ======================================================================
 * F64: same driver, 4 x 4 v2d micro-kernel, scalar packing.
 * ====================================================================== */

static void pack_a_f64(idx m, idx kc, const double *a, idx rsa, idx csa, double *restrict dst) {
  for (idx i = 0; i < m; i += F64_MR) {
    const idx w = imin(F64_MR, m - i);
    const double *src = a + i * rsa;
    for (idx k = 0; k < kc; k++) {
      idx t = 0;
      for (; t < w; t++) dst[t] = src[t * rsa + k * csa];
      for (; t < F64_MR; t++) dst[t] = 0.0;
      dst += F64_MR;
    }
  }
}

static void pack_b_f64(idx kc, idx n, const double *b, idx rsb, idx csb, double *restrict dst) {
  for (idx j = 0; j < n; j += F64_NR) {
    const idx w = imin(F64_NR, n - j);
    const double *src = b + j * csb;
    for (idx k = 0; k < kc; k++) {
      idx t = 0;
      for (; t < w; t++) dst[t] = src[k * rsb + t * csb];
      for (; t < F64_NR; t++) dst[t] = 0.0;
      dst += F64_NR;
    }
  }
}

FT_NOINLINE void ukr_f64_packed(idx kc, const double *restrict a, const double *restrict b,
                                double *restrict c, idx rsc, int mr, int nr, int accumulate) {
  v2d acc[2 * F64_MR];
  FT_UNROLL
  for (int i = 0; i < 2 * F64_MR; i++) acc[i] = ft_v2d_zero();
  for (idx k = 0; k < kc; k++) {
    const v2d b0 = ft_v2d_load(b), b1 = ft_v2d_load(b + 2);
    b += F64_NR;
    FT_UNROLL
    for (int i = 0; i < F64_MR; i++) {
      const v2d ai = ft_v2d_load1(a + i);
      acc[2 * i] = ft_v2d_fma(ai, b0, acc[2 * i]);
      acc[2 * i + 1] = ft_v2d_fma(ai, b1, acc[2 * i + 1]);
    }
    a += F64_MR;
  }
  if (mr == F64_MR && nr == F64_NR) {
    FT_UNROLL
    for (int i = 0; i < F64_MR; i++) {
      double *ci = c + i * rsc;
      v2d x0 = acc[2 * i], x1 = acc[2 * i + 1];
      if (accumulate) {
        x0 = ft_v2d_add(x0, ft_v2d_load(ci));
        x1 = ft_v2d_add(x1, ft_v2d_load(ci + 2));
      }
      ft_v2d_store(ci, x0);
      ft_v2d_store(ci + 2, x1);
    }
  } else {
    double tmp[F64_MR * F64_NR];
    FT_UNROLL
    for (int i = 0; i < F64_MR; i++) {
      ft_v2d_store(tmp + i * F64_NR, acc[2 * i]);
      ft_v2d_store(tmp + i * F64_NR + 2, acc[2 * i + 1]);
    }
    for (int i = 0; i < mr; i++) {
      double *ci = c + i * rsc;
      for (int j = 0; j < nr; j++) ci[j] = accumulate ? ci[j] + tmp[i * F64_NR + j] : tmp[i * F64_NR + j];
    }
  }
}

static void gemm_f64_cols(idx M, idx n0, idx n1, idx K, const double *A, idx rsa, idx csa,
                          const double *B, idx rsb, idx csb, double *C, idx rsc, int accumulate,
                          double *pa, double *pb) {
  const idx kcb = balanced_block(K, F64_KC, 2);
  const idx mcb = balanced_block(M, F64_MC, F64_MR);
  for (idx jc = n0; jc < n1; jc += F64_NC) {
    const idx nc = imin(F64_NC, n1 - jc);
    for (idx pc = 0; pc < K; pc += kcb) {
      const idx kc = imin(kcb, K - pc);
      const int acc = accumulate || pc > 0;
      pack_b_f64(kc, nc, B + pc * rsb + jc * csb, rsb, csb, pb);
      for (idx ic = 0; ic < M; ic += mcb) {
        const idx mc = imin(mcb, M - ic);
        pack_a_f64(mc, kc, A + ic * rsa + pc * csa, rsa, csa, pa);
        for (idx jr = 0; jr < nc; jr += F64_NR) {
          const int nr = (int)imin(F64_NR, nc - jr);
          for (idx ir = 0; ir < mc; ir += F64_MR) {
            const int mr = (int)imin(F64_MR, mc - ir);
            ukr_f64_packed(kc, pa + ir * kc, pb + jr * kc, C + (ic + ir) * rsc + jc + jr, rsc, mr,
                           nr, acc);
          }
        }
      }
    }
  }
}

/* ======================================================================
 * entry point
 * ====================================================================== */

void ft_k_gemm_on(int thread, ft_dtype dt, int64_t M64, int64_t N64, int64_t K64, const void *A, int64_t rsa,
                  int64_t csa, const void *B, int64_t rsb, int64_t csb, void *C, int64_t rsc,
                  int accumulate) {
  const idx M = (idx)M64, N = (idx)N64, K = (idx)K64;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (accumulate) return;
    for (idx i = 0; i < M; i++) {
      if (dt == FT_F64) {
        double *c = (double *)C + i * (idx)rsc;
        for (idx j = 0; j < N; j++) c[j] = 0.0;
      } else {
        float *c = (float *)C + i * (idx)rsc;
        for (idx j = 0; j < N; j++) c[j] = 0.0f;
      }
    }
    return;
  }
  if (dt == FT_F64) {
    char *pa, *pb;
    pack_buffers(thread, &pa, &pb);
    if (thread == 0 && gemm_parallel(FT_F64, M, N, K, A, (idx)rsa, (idx)csa, B, (idx)rsb, (idx)csb, C, (idx)rsc,
                      accumulate != 0))
      return;
    gemm_f64_cols(M, 0, N, K, (const double *)A, (idx)rsa, (idx)csa, (const double *)B, (idx)rsb,
                  (idx)csb, (double *)C, (idx)rsc, accumulate != 0, (double *)pa, (double *)pb);
  } else
    gemm_f32(M, N, K, (const float *)A, (idx)rsa, (idx)csa, (const float *)B, (idx)rsb, (idx)csb,
             (float *)C, (idx)rsc, accumulate != 0, thread);
}

void ft_k_gemm(ft_dtype dt, int64_t M, int64_t N, int64_t K, const void *A, int64_t rsa, int64_t csa,
               const void *B, int64_t rsb, int64_t csb, void *C, int64_t rsc, int accumulate) {
  ft_k_gemm_on(0, dt, M, N, K, A, rsa, csa, B, rsb, csb, C, rsc, accumulate);
}
