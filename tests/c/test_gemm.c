/* Standalone test of ft_k_gemm against a naive triple loop in double.
 *
 *   gcc -std=c11 -O2 -Wall -Wextra -Iinclude -Isrc -Isrc/kernels tests/c/test_gemm.c \
 *       src/kernels/gemm.c src/threads.c src/runtime.c -lm -lpthread -o /tmp/tg && /tmp/tg
 *
 * Every operand is allocated with exactly the elements its strides reach, so
 * AddressSanitizer catches reads past the end; C's row padding and a guard
 * after C are filled with a sentinel and must come back untouched.
 * Exits non-zero on any failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "threads.h"


static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}
static double urand(void) { return (double)(rnd() >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0; }

static int g_pass, g_fail;
static double g_worst; /* largest err/tol seen in a passing check */
#define SENTINEL 12345.0

/* Operand layouts: 0 row-major (padded), 1 transposed (padded), 2 both
 * strides non-unit, 3 broadcast (stride 0) along the inner dimension. */
static const char *layout_name[] = {"N", "T", "S", "Z"};

static void strides_for(int layout, int64_t rows, int64_t cols, int64_t *rs, int64_t *cs) {
  switch (layout) {
  case 0: *rs = cols + 3; *cs = 1; break;
  case 1: *rs = 1; *cs = rows + 2; break;
  case 2: *rs = 2 * cols + 1; *cs = 2; break;
  default: *rs = 0; *cs = 1; break; /* every row is the same */
  }
}

static int64_t extent(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (rows == 0 || cols == 0) return 0;
  return (rows - 1) * rs + (cols - 1) * cs + 1;
}

static void *alloc_fill(ft_dtype dt, int64_t n) {
  size_t es = dt == FT_F64 ? 8 : 4;
  void *p = malloc((size_t)(n > 0 ? n : 1) * es);
  for (int64_t i = 0; i < n; i++) {
    double v = urand();
    if (dt == FT_F64) ((double *)p)[i] = v;
    else ((float *)p)[i] = (float)v;
  }
  return p;
}

static double get(ft_dtype dt, const void *p, int64_t i) {
  return dt == FT_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}

static void check(ft_dtype dt, int64_t M, int64_t N, int64_t K, int la, int lb, int acc) {
  int64_t rsa, csa, rsb, csb;
  strides_for(la, M, K, &rsa, &csa);
  strides_for(lb, K, N, &rsb, &csb);
  const int64_t rsc = N + (M % 3);           /* some padded rows */
  const int64_t na = extent(M, K, rsa, csa), nb = extent(K, N, rsb, csb);
  const int64_t nc = M * rsc + 5;            /* + guard */
  void *A = alloc_fill(dt, na), *B = alloc_fill(dt, nb), *C = alloc_fill(dt, nc);
  double *C0 = malloc((size_t)(nc > 0 ? nc : 1) * sizeof(double));
  /* Sentinels in C's padding and guard. */
  for (int64_t i = 0; i < nc; i++) {
    int in = i < M * rsc && (i % rsc) < N;
    if (!in) {
      if (dt == FT_F64) ((double *)C)[i] = SENTINEL;
      else ((float *)C)[i] = (float)SENTINEL;
    }
    C0[i] = get(dt, C, i);
  }

  ft_k_gemm(dt, M, N, K, A, rsa, csa, B, rsb, csb, C, rsc, acc);

  const double eps = dt == FT_F64 ? 2.3e-16 : 1.2e-7;
  int bad = 0;
  double worst = 0;
  for (int64_t i = 0; i < M && !bad; i++) {
    for (int64_t j = 0; j < N; j++) {
      double s = 0, mag = 0;
      for (int64_t k = 0; k < K; k++) {
        double p = get(dt, A, i * rsa + k * csa) * get(dt, B, k * rsb + j * csb);
        s += p;
        mag += fabs(p);
      }
      double c0 = acc ? C0[i * rsc + j] : 0.0;
      double want = c0 + s, got = get(dt, C, i * rsc + j);
      /* Rounding errors of a K-term sum in the kernel's precision grow like
       * sqrt(K) for random-sign data (the worst case, K, is far too loose to
       * notice a dropped K block); 4x margin. */
      double tol = 4.0 * sqrt((double)K + 1.0) * eps * (mag + fabs(c0)) + 1e-30;
      double err = fabs(got - want);
      if (!(err <= tol)) {
        if (!bad)
          fprintf(stderr, "  C[%lld,%lld] = %.9g, want %.9g (err %.3g, tol %.3g)\n", (long long)i,
                  (long long)j, got, want, err, tol);
        bad = 1;
        break;
      }
      if (err / tol > worst) worst = err / tol;
    }
  }
  for (int64_t i = 0; i < nc && !bad; i++) {
    int in = i < M * rsc && (i % rsc) < N;
    if (!in && get(dt, C, i) != C0[i]) {
      fprintf(stderr, "  wrote outside C at offset %lld\n", (long long)i);
      bad = 1;
    }
  }
  if (bad) {
    g_fail++;
    fprintf(stderr, "FAIL %s M=%lld N=%lld K=%lld A=%s B=%s acc=%d\n", dt == FT_F64 ? "f64" : "f32",
            (long long)M, (long long)N, (long long)K, layout_name[la], layout_name[lb], acc);
  } else {
    g_pass++;
    if (worst > g_worst) g_worst = worst;
  }
  free(A);
  free(B);
  free(C);
  free(C0);
}

/* C from nt threads must equal C from one thread byte for byte. */
static void check_threads(ft_dtype dt, int64_t M, int64_t N, int64_t K, int la, int lb, int acc, int nt) {
  int64_t rsa, csa, rsb, csb;
  strides_for(la, M, K, &rsa, &csa);
  strides_for(lb, K, N, &rsb, &csb);
  const int64_t rsc = N + 1, nc = M * rsc;
  const size_t es = dt == FT_F64 ? 8 : 4;
  void *A = alloc_fill(dt, extent(M, K, rsa, csa)), *B = alloc_fill(dt, extent(K, N, rsb, csb));
  void *C1 = alloc_fill(dt, nc), *C2 = malloc((size_t)nc * es);
  memcpy(C2, C1, (size_t)nc * es);
  ft_threads_set(1);
  ft_k_gemm(dt, M, N, K, A, rsa, csa, B, rsb, csb, C1, rsc, acc);
  ft_threads_set(nt);
  ft_k_gemm(dt, M, N, K, A, rsa, csa, B, rsb, csb, C2, rsc, acc);
  ft_threads_set(1);
  if (memcmp(C1, C2, (size_t)nc * es) != 0) {
    g_fail++;
    fprintf(stderr, "FAIL threads=%d %s M=%lld N=%lld K=%lld A=%s B=%s acc=%d: differs from 1 thread\n", nt,
            dt == FT_F64 ? "f64" : "f32", (long long)M, (long long)N, (long long)K, layout_name[la],
            layout_name[lb], acc);
  } else {
    g_pass++;
  }
  free(A);
  free(B);
  free(C1);
  free(C2);
}

int main(int argc, char **argv) {
  int big = !(argc > 1 && strcmp(argv[1], "--quick") == 0);
  static const int64_t S[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 31, 33, 64, 67};
  const int ns = (int)(sizeof S / sizeof S[0]);

  /* 1. Full cross of a size set x all layouts of A and B x accumulate, F32. */
  for (int a = 0; a < ns; a++)
    for (int b = 0; b < ns; b++)
      for (int c = 0; c < ns; c++)
        for (int la = 0; la < 3; la++)
          for (int lb = 0; lb < 3; lb++) check(FT_F32, S[a], S[b], S[c], la, lb, (a + b + c + la + lb) & 1);

  /* 2. Every (M, N) in 1..67 with a random K in 1..67, random layouts and
   * accumulate, both dtypes. */
  for (int64_t M = 1; M <= 67; M++)
    for (int64_t N = 1; N <= 67; N++) {
      int64_t K = 1 + (int64_t)(rnd() % 67);
      ft_dtype dt = (rnd() & 3) == 0 ? FT_F64 : FT_F32;
      check(dt, M, N, K, (int)(rnd() % 4), (int)(rnd() % 4), (int)(rnd() & 1));
    }

  /* 3. F64 cross on a smaller set. */
  static const int64_t S2[] = {1, 3, 4, 5, 8, 13, 33, 67};
  for (int a = 0; a < 8; a++)
    for (int b = 0; b < 8; b++)
      for (int c = 0; c < 8; c++)
        for (int l = 0; l < 4; l++) check(FT_F64, S2[a], S2[b], S2[c], l & 1, l >> 1, (a + c) & 1);

  /* 4. K == 0, M == 0, N == 0. */
  for (int dt = 0; dt < 2; dt++)
    for (int acc = 0; acc < 2; acc++) {
      check((ft_dtype)dt, 5, 7, 0, 0, 0, acc);
      check((ft_dtype)dt, 1, 9, 0, 1, 1, acc);
      check((ft_dtype)dt, 0, 9, 4, 0, 0, acc);
      check((ft_dtype)dt, 6, 0, 4, 0, 0, acc);
    }

  /* 5. GEMV-like and long-K thin shapes (crossing KC with small M*N). */
  static const int64_t thin[][3] = {{1, 256, 784}, {1, 1, 1000}, {3, 5, 600}, {256, 1, 784},
                                    {2, 300, 513}, {300, 2, 513}, {1, 1000, 3}, {1000, 1, 3},
                                    {7, 9, 1500}, {1, 33, 20000}, {33, 1, 20000}, {1, 3, 100000},
                                    {3, 1, 100000}};
  for (int t = 0; t < (int)(sizeof thin / sizeof thin[0]); t++)
    for (int la = 0; la < 4; la++)
      for (int lb = 0; lb < 4; lb++)
        check((la + lb) % 3 == 2 ? FT_F64 : FT_F32, thin[t][0], thin[t][1], thin[t][2], la, lb,
              (la ^ lb) & 1);

  /* 6. Larger sizes: several K, M and N blocks, edge tiles. */
  if (big) {
    static const int64_t L[][3] = {{255, 256, 257}, {256, 256, 256}, {257, 255, 256},
                                   {513, 257, 255}, {64, 513, 784}, {129, 1030, 300},
                                   {500, 70, 513}};
    for (int t = 0; t < (int)(sizeof L / sizeof L[0]); t++)
      for (int l = 0; l < 4; l++) {
        check(FT_F32, L[t][0], L[t][1], L[t][2], l & 1, l >> 1, l == 1 || l == 2);
        if (l == 0 || t < 3) check(FT_F64, L[t][0], L[t][1], L[t][2], l & 1, l >> 1, l != 0);
      }
  }

  /* 7. Threads: the split products give the single-threaded bytes exactly
   * (threads.c: every element is summed in the same order), for column and
   * row splits, ragged edges and every layout; plus the usual value check
   * while threaded. */
  if (ft_threads_spawn_native(4) != FT_OK || ft_threads_available() != 4) {
    fprintf(stderr, "FAIL could not start native worker threads\n");
    g_fail++;
  } else {
    static const int64_t T[][3] = {{256, 256, 256}, {64, 784, 256}, {784, 256, 64}, {1000, 10, 300},
                                   {67, 1030, 129}, {513, 40, 520}, {64, 256, 784}, {9, 5000, 33}};
    for (int t = 0; t < (int)(sizeof T / sizeof T[0]); t++)
      for (int nt = 2; nt <= 4; nt++)
        for (int l = 0; l < 4; l++) {
          const ft_dtype dt = (t + l) % 3 == 2 ? FT_F64 : FT_F32;
          check_threads(dt, T[t][0], T[t][1], T[t][2], l & 1, l >> 1, (t + nt) & 1, nt);
        }
    ft_threads_set(3);
    for (int t = 0; t < 4; t++) check(FT_F32, T[t][0], T[t][1], T[t][2], t & 1, (t >> 1) & 1, t & 1);
    if (ft_threads_set(5) == FT_OK || ft_threads_set(0) == FT_OK) {
      fprintf(stderr, "FAIL ft_threads_set accepted a count outside [1, 4]\n");
      g_fail++;
    } else {
      g_pass++;
    }
    ft_threads_set(1);
  }

  printf("test_gemm: %d passed, %d failed (largest err/tol %.3f)\n", g_pass, g_fail, g_worst);
  return g_fail != 0;
}
