/* Kernels: raw pointers, sizes, strides and dtypes. Nothing here knows about
 * tensors' lifetimes, autograd or levels (see DESIGN.md, "Layers").
 *
 * Conventions shared by every kernel in this folder:
 *  - Strides and sizes are in elements, not bytes. A stride of 0 broadcasts.
 *  - Tail contract: kernels never read or write past the last element they
 *    are given; SIMD loops finish with scalar tails. Allocations are not
 *    padded.
 *  - Kernels cannot fail: the ops layer validates shapes and dtypes first.
 *  - Every SIMD kernel has a scalar reference (`*_ref`, declared at the end
 *    of this header), and tests/c compares them at sizes 1..67.
 */
#ifndef FT_KERNELS_H
#define FT_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include "torchfunc.h" /* ft_dtype */

/* ---- elementwise ---------------------------------------------------------- */

typedef enum {
  FT_UN_NEG, FT_UN_EXP, FT_UN_LOG, FT_UN_LOG1P, FT_UN_EXPM1, FT_UN_SQRT,
  FT_UN_RSQRT, FT_UN_ABS, FT_UN_SIGN, FT_UN_SIN, FT_UN_COS, FT_UN_TANH,
  FT_UN_SIGMOID, FT_UN_RELU, FT_UN_SQUARE, FT_UN_RECIPROCAL, FT_UN_ERF,
  FT_UN_STEP,  /* x > 0 ? 1 : 0, relu's derivative */
  FT_UN_COUNT
} ft_unary_kind;

typedef enum {
  FT_BIN_ADD, FT_BIN_SUB, FT_BIN_MUL, FT_BIN_DIV, FT_BIN_POW, FT_BIN_MAX,
  FT_BIN_MIN,
  /* comparisons write uint8 (FT_BOOL) 0/1 whatever the input dtype */
  FT_BIN_EQ, FT_BIN_NE, FT_BIN_LT, FT_BIN_LE, FT_BIN_GT, FT_BIN_GE,
  FT_BIN_COUNT
} ft_binary_kind;

/* o = f(x) over an n-d strided layout; x and o have the same dtype.
 * Supported dtypes: F32 and F64 for every kind; I32 for NEG, ABS, SIGN,
 * SQUARE, RELU. */
void ft_k_unary(ft_unary_kind k, ft_dtype dt, int ndim, const int64_t *shape,
                const void *x, const int64_t *xs, void *o, const int64_t *os);

/* o = f(a, b); a, b of dtype dt (strides 0 broadcast); o has dtype dt, or
 * FT_BOOL for comparisons. Supported: F32, F64 all kinds; I32 all kinds
 * (DIV truncates toward zero like C, POW by repeated squaring);
 * BOOL for EQ/NE/MAX/MIN/MUL (logical and)/ADD (logical or). */
void ft_k_binary(ft_binary_kind k, ft_dtype dt, int ndim, const int64_t *shape,
                 const void *a, const int64_t *as, const void *b, const int64_t *bs,
                 void *o, const int64_t *os);

/* o = cond ? a : b; cond is uint8 (FT_BOOL), a/b/o of dtype dt. */
void ft_k_where(ft_dtype dt, int ndim, const int64_t *shape,
                const uint8_t *cond, const int64_t *cs, const void *a, const int64_t *as,
                const void *b, const int64_t *bs, void *o, const int64_t *os);

/* o = min(max(x, lo), hi); pass -INFINITY / INFINITY for a missing bound. */
void ft_k_clamp(ft_dtype dt, int ndim, const int64_t *shape, const void *x,
                const int64_t *xs, void *o, const int64_t *os, double lo, double hi);

/* Strided copy with conversion (same dtype: the copy that makes a view
 * contiguous). Float to int truncates toward zero; anything to BOOL is x != 0. */
void ft_k_copy(ft_dtype src_dt, ft_dtype dst_dt, int ndim, const int64_t *shape,
               const void *x, const int64_t *xs, void *o, const int64_t *os);

/* o[i] = value for a contiguous run of n elements. */
void ft_k_fill(ft_dtype dt, void *o, int64_t n, double value);

/* ---- reductions (contiguous input viewed as [outer, n, inner]) ------------ */

typedef enum { FT_RED_SUM, FT_RED_PROD, FT_RED_MAX, FT_RED_MIN, FT_RED_COUNT } ft_reduce_kind;

/* o[outer, inner] = reduce over n of x[outer, n, inner]. x, o contiguous.
 * n == 0 gives the identity (0, 1, -inf, +inf). F32 accumulates in float32
 * with several SIMD lanes (pairwise blocks for long rows); F64 in double;
 * I32 in int32. MAX/MIN propagate NaN. */
void ft_k_reduce(ft_reduce_kind k, ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                 const void *x, void *o);

/* o[outer, inner] = index (int32) of the first max/min over n. NaN wins. */
void ft_k_argreduce(int is_max, ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                    const void *x, int32_t *o);

/* Softmax or log-softmax over n of contiguous [outer, n, inner]; F32/F64. */
void ft_k_softmax(int log, ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                  const void *x, void *o);

/* Inclusive cumulative sum over n of contiguous [outer, n, inner]. */
void ft_k_cumsum(ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                 const void *x, void *o);

/* ---- GEMM ------------------------------------------------------------------ */

/* C[M,N] (+)= A[M,K] @ B[K,N] for F32 or F64.
 * Element (i,k) of A is A[i*rsa + k*csa]; likewise B and C (C's column
 * stride is 1). Transposed operands are just swapped strides: never
 * materialise a transpose. accumulate = 0 overwrites C, 1 adds to it.
 * K == 0 writes zeros (or leaves C when accumulating). */
void ft_k_gemm(ft_dtype dt, int64_t M, int64_t N, int64_t K,
               const void *A, int64_t rsa, int64_t csa,
               const void *B, int64_t rsb, int64_t csb,
               void *C, int64_t rsc, int accumulate);

/* The same, inside a task of a parallel-for running on `thread` (threads.h):
 * packs into that thread's buffers and never splits further. thread 0 is
 * ft_k_gemm itself, which splits large products over the pool. */
void ft_k_gemm_on(int thread, ft_dtype dt, int64_t M, int64_t N, int64_t K,
                  const void *A, int64_t rsa, int64_t csa,
                  const void *B, int64_t rsb, int64_t csb,
                  void *C, int64_t rsc, int accumulate);

/* C[M,N] (+)= A[M,K] @ B where row k of B is the N unit-stride values at
 * B + boff[k] (in elements): a stride-1 convolution's image read in place
 * through its taps' offsets, with no im2col matrix. Runs on `thread`'s
 * packing buffers, like ft_k_gemm_on. F32 with K <= 256 only: returns 0
 * (doing nothing) otherwise, and the caller takes the im2col route. Sums
 * over k in order, as ft_k_gemm does for K <= 256. */
int ft_k_gemm_indirect(int thread, ft_dtype dt, int64_t M, int64_t N, int64_t K,
                       const void *A, int64_t rsa, int64_t csa,
                       const void *B, const ptrdiff_t *boff, void *C, int64_t rsc, int accumulate);

/* C[M,N] (+)= A[M,K] @ B where row i of A is the K unit-stride values at
 * A + aoff[i] (in elements) and B is strided: a stride-1 convolution's
 * weight gradient, the image read in place through its taps' offsets.
 * Runs on `thread`'s packing buffers. F32 only, and B (K x N, padded to
 * whole 8-column panels) must fit the packing buffer: returns 0 (doing
 * nothing) otherwise. Sums over k in order, in one pass. */
int ft_k_gemm_indirect_a(int thread, ft_dtype dt, int64_t M, int64_t N, int64_t K,
                         const void *A, const ptrdiff_t *aoff,
                         const void *B, int64_t rsb, int64_t csb, void *C, int64_t rsc, int accumulate);

/* Makes sure threads [0, nthreads) have packing buffers, so tasks can call
 * ft_k_gemm_on (they must not allocate). Call it before the parallel-for;
 * returns 0 when out of memory (then run single-threaded). */
int ft_k_gemm_reserve(int nthreads);

/* Scratch memory for packing is taken from the kernel's own static
 * per-thread buffer sized for its blocking (no malloc in the hot path). */

/* ---- scalar references ---------------------------------------------------- */

/* Plain loops over libm with the same signatures and semantics as the SIMD
 * kernels above, defined next to them (elementwise_ref.c, reduce.c); the
 * kernel tests compare every fast path against these. */
void ft_k_unary_ref(ft_unary_kind k, ft_dtype dt, int ndim, const int64_t *shape,
                    const void *x, const int64_t *xs, void *o, const int64_t *os);
void ft_k_binary_ref(ft_binary_kind k, ft_dtype dt, int ndim, const int64_t *shape,
                     const void *a, const int64_t *as, const void *b, const int64_t *bs,
                     void *o, const int64_t *os);
void ft_k_where_ref(ft_dtype dt, int ndim, const int64_t *shape,
                    const uint8_t *cond, const int64_t *cs, const void *a, const int64_t *as,
                    const void *b, const int64_t *bs, void *o, const int64_t *os);
void ft_k_clamp_ref(ft_dtype dt, int ndim, const int64_t *shape, const void *x,
                    const int64_t *xs, void *o, const int64_t *os, double lo, double hi);
void ft_k_copy_ref(ft_dtype src_dt, ft_dtype dst_dt, int ndim, const int64_t *shape,
                   const void *x, const int64_t *xs, void *o, const int64_t *os);
void ft_k_fill_ref(ft_dtype dt, void *o, int64_t n, double value);
void ft_k_reduce_ref(ft_reduce_kind k, ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                     const void *x, void *o);
void ft_k_argreduce_ref(int is_max, ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                        const void *x, int32_t *o);
void ft_k_softmax_ref(int log, ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                      const void *x, void *o);
void ft_k_cumsum_ref(ft_dtype dt, int64_t outer, int64_t n, int64_t inner,
                     const void *x, void *o);

#endif
