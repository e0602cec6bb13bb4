/* The nn family: im2col / col2im convolutions against the scalar reference
 * convolution at odd sizes, strides, padding, dilation and groups (float32
 * and float64, strided inputs); the transposed convolution and the weight
 * gradient against naive loops; pooling against naive windows; PyTorch's
 * messages; and the VJP, JVP, second-derivative and batching rules of
 * every op (primitives and composites) through ops_check_util.h. Also the
 * built-in layers' chain and batch norm's running statistics.
 *
 * Build: every .c under src/ except src/api, with -Iinclude -Isrc -lm (see
 * the command in the family brief); exits non-zero on any failure. */
#include "ops_check_util.h"
#include "ops/ops_nn.h"
#include "nn/layers.h"

static double va[4 * MAXV], vb[4 * MAXV], vc[4 * MAXV];

static ft_tensor *rnd_t(const int64_t *shape, int nd, ft_dtype dt, double lo, double hi, double *store, int layout) {
  spec s = {.nd = nd, .dt = dt, .lo = lo, .hi = hi};
  memcpy(s.shape, shape, sizeof(int64_t) * (size_t)nd);
  gen(&s, ft_shape_numel(shape, nd), store);
  return mk_layout(shape, nd, dt, store, layout);
}

static spec sp_of(int nd, const int64_t *shape, ft_dtype dt, double lo, double hi) {
  spec s = {.nd = nd, .dt = dt, .lo = lo, .hi = hi};
  memcpy(s.shape, shape, sizeof(int64_t) * (size_t)nd);
  return s;
}
#define SP(dt, lo, hi, ...) sp_of(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), (int64_t[]){__VA_ARGS__}, dt, lo, hi)

/* The generic rule checks of one call: VJP in three layouts, JVP, double
 * backward (optional) and every batching combination. */
static void check_rules(const char *name, const call *c, const spec *sp, bool second) {
  for (int layout = 0; layout < 3; layout++) check_vjp(name, c, sp, layout);
  check_jvp(name, c, sp);
  if (second) check_double_backward(name, c, sp);
  check_batch_all(name, c, sp);
}

static double maxdiff(const ft_tensor *a, const double *ref, int64_t n) {
  double m = a->numel == n ? 0 : INFINITY;
  for (int64_t k = 0; k < n && k < a->numel; k++) {
    double d = fabs(get_lin(a, k) - ref[k]) / (1 + fabs(ref[k]));
    if (d > m || d != d) m = d;
  }
  return m;
}

/* ---- convolution against the references ------------------------------------ */

typedef struct {
  int64_t N, C, H, W, O, KH, KW, SH, SW, PH, PW, DH, DW, G;
} conv_case;

static const conv_case k_cases[] = {
    {2, 3, 7, 5, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1},  /* plain 3x3 */
    {1, 4, 9, 8, 6, 3, 2, 2, 3, 1, 2, 1, 1, 2},  /* strides, padding, groups */
    {2, 2, 8, 9, 2, 2, 3, 1, 2, 2, 1, 2, 3, 1},  /* dilation */
    {1, 6, 5, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 6},  /* depthwise */
    {3, 5, 4, 3, 7, 1, 1, 1, 1, 0, 0, 1, 1, 1},  /* pointwise (no im2col) */
    {1, 1, 28, 28, 8, 3, 3, 1, 1, 0, 0, 1, 1, 1}, /* the benchmark's first layer */
    {2, 3, 6, 7, 4, 5, 5, 3, 2, 2, 2, 1, 1, 1},  /* kernel larger than the stride */
    /* stride 1 in float32 takes the indirect GEMM: with padding, dilation and
     * groups it reads a zero-bordered copy of each image */
    {2, 4, 7, 6, 6, 3, 2, 1, 1, 1, 2, 2, 1, 2},
    {3, 2, 5, 9, 5, 2, 4, 1, 1, 0, 0, 1, 2, 1},  /* in place, 5 output channels (a partial row tile) */
    {1, 32, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1}, /* K = 288 > 256: the im2col route */
    {2, 2, 5, 4, 4, 1, 1, 1, 1, 1, 2, 1, 1, 1},  /* 1x1, padded: grad-input crops g */
    {1, 4, 12, 12, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1}, /* 'same' 3x3: grad-input as a flipped convolution */
    {2, 4, 10, 10, 4, 3, 3, 1, 1, 1, 1, 1, 1, 2}, /* the same with groups */
};

static int64_t osz(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

/* y[n, o, oh, ow] by the scalar reference, one image and one group at a time */
static void ref_conv(const conv_case *k, const double *x, const double *w, const double *b, double *y) {
  int64_t Cg = k->C / k->G, Og = k->O / k->G;
  ft_conv_geom g = {.C = Cg, .H = k->H, .W = k->W, .KH = k->KH, .KW = k->KW, .SH = k->SH, .SW = k->SW, .PH = k->PH,
                    .PW = k->PW, .DH = k->DH, .DW = k->DW};
  g.OH = osz(k->H, k->KH, k->SH, k->PH, k->DH);
  g.OW = osz(k->W, k->KW, k->SW, k->PW, k->DW);
  int64_t P = g.OH * g.OW;
  for (int64_t n = 0; n < k->N; n++)
    for (int64_t gi = 0; gi < k->G; gi++) {
      ft_k_conv2d_ref(FT_F64, &g, Og, x + (n * k->C + gi * Cg) * k->H * k->W, w + gi * Og * Cg * k->KH * k->KW,
                      y + (n * k->O + gi * Og) * P);
      for (int64_t o = 0; o < Og; o++)
        for (int64_t p = 0; p < P; p++) y[(n * k->O + gi * Og + o) * P + p] += b ? b[gi * Og + o] : 0;
    }
}

static void test_conv_values(void) {
  static double ref[MAXV * 4];
  for (size_t ci = 0; ci < sizeof k_cases / sizeof *k_cases; ci++) {
    const conv_case *k = &k_cases[ci];
    int64_t xs[4] = {k->N, k->C, k->H, k->W}, ws[4] = {k->O, k->C / k->G, k->KH, k->KW}, bs[1] = {k->O};
    ft_conv_params p = {{k->SH, k->SW}, {k->PH, k->PW}, {k->DH, k->DW}, k->G};
    for (int t = 0; t < 2; t++)
      for (int layout = 0; layout < 3; layout++) {
        ft_dtype dt = t ? FT_F64 : FT_F32;
        ft_tensor *x = rnd_t(xs, 4, dt, -1, 1, va, layout), *w = rnd_t(ws, 4, dt, -1, 1, vb, 2 - layout);
        ft_tensor *b = rnd_t(bs, 1, dt, -1, 1, vc, 0), *y = NULL;
        if (dt == FT_F32) { /* the reference sees the float32-rounded values */
          for (int64_t e = 0; e < x->numel; e++) va[e] = (float)va[e];
          for (int64_t e = 0; e < w->numel; e++) vb[e] = (float)vb[e];
          for (int64_t e = 0; e < b->numel; e++) vc[e] = (float)vc[e];
        }
        int64_t oh = osz(k->H, k->KH, k->SH, k->PH, k->DH), ow = osz(k->W, k->KW, k->SW, k->PW, k->DW);
        int64_t n = k->N * k->O * oh * ow;
        memset(ref, 0, sizeof(double) * (size_t)n);
        bool with_b = layout != 1;
        ref_conv(k, va, vb, with_b ? vc : NULL, ref);
        ft_status st = ft_conv2d(x, w, with_b ? b : NULL, &p, &y);
        int64_t os[4] = {k->N, k->O, oh, ow};
        ok(st == FT_OK && same_shape(y, os, 4) && maxdiff(y, ref, n) < (dt == FT_F32 ? 1e-5 : 1e-12),
           "conv2d case %zu (%s, layout %d%s) matches the reference: %s", ci, ft_dtype_name(dt), layout,
           with_b ? ", bias" : "", st ? ft_last_error() : "");
        ft_release(y);
        ft_release(x);
        ft_release(w);
        ft_release(b);
      }
  }
}

/* <im2col(x), c> == <x, col2im(c)>: col2im is im2col's adjoint. */
static void test_col2im_adjoint(void) {
  for (size_t ci = 0; ci < sizeof k_cases / sizeof *k_cases; ci++) {
    const conv_case *k = &k_cases[ci];
    ft_conv_geom g = {.C = k->C, .H = k->H, .W = k->W, .KH = k->KH, .KW = k->KW, .SH = k->SH, .SW = k->SW,
                      .PH = k->PH, .PW = k->PW, .DH = k->DH, .DW = k->DW};
    g.OH = osz(k->H, k->KH, k->SH, k->PH, k->DH) + (ci % 2); /* an output past the input reads zeros */
    g.OW = osz(k->W, k->KW, k->SW, k->PW, k->DW);
    int64_t nx = g.C * g.H * g.W, nc = g.C * g.KH * g.KW * g.OH * g.OW;
    double *x = calloc((size_t)nx, sizeof(double)), *c = calloc((size_t)nc, sizeof(double));
    double *col = calloc((size_t)nc, sizeof(double)), *xb = calloc((size_t)nx, sizeof(double));
    for (int64_t e = 0; e < nx; e++) x[e] = urand() - 0.5;
    for (int64_t e = 0; e < nc; e++) c[e] = urand() - 0.5;
    int64_t xs[3] = {g.H * g.W, g.W, 1};
    ft_k_im2col(FT_F64, &g, x, xs, col);
    ft_k_col2im(FT_F64, &g, c, xb);
    double s1 = 0, s2 = 0;
    for (int64_t e = 0; e < nc; e++) s1 += col[e] * c[e];
    for (int64_t e = 0; e < nx; e++) s2 += x[e] * xb[e];
    ok(close_to(s1, s2, 1e-12), "col2im is the adjoint of im2col (case %zu): %g vs %g", ci, s1, s2);
    free(x); free(c); free(col); free(xb);
  }
}

/* conv_transpose2d and the weight gradient against naive scatter loops, in
 * float64 and float32 (stride-1 float32 grad-input runs as a flipped
 * convolution through the indirect GEMM). */
static void test_grad_ops_values(void) {
  static double ref[MAXV * 4];
  for (size_t cd = 0; cd < 2 * sizeof k_cases / sizeof *k_cases; cd++) {
    const size_t ci = cd / 2;
    const ft_dtype dt = cd % 2 ? FT_F32 : FT_F64;
    const double tol = dt == FT_F32 ? 2e-5 : 1e-12;
    const conv_case *k = &k_cases[ci];
    int64_t oh = osz(k->H, k->KH, k->SH, k->PH, k->DH), ow = osz(k->W, k->KW, k->SW, k->PW, k->DW);
    int64_t Cg = k->C / k->G, Og = k->O / k->G;
    int64_t gs[4] = {k->N, k->O, oh, ow}, ws[4] = {k->O, Cg, k->KH, k->KW}, xs[4] = {k->N, k->C, k->H, k->W};
    ft_conv_params p = {{k->SH, k->SW}, {k->PH, k->PW}, {k->DH, k->DW}, k->G};
    ft_tensor *g = rnd_t(gs, 4, dt, -1, 1, va, 1), *w = rnd_t(ws, 4, dt, -1, 1, vb, 2);
    ft_tensor *x = rnd_t(xs, 4, dt, -1, 1, vc, 1), *y = NULL;
    int64_t nx = k->N * k->C * k->H * k->W, nw = k->O * Cg * k->KH * k->KW;
    if (dt == FT_F32) { /* the reference sees the float32-rounded values */
      for (int64_t e = 0; e < g->numel; e++) va[e] = (float)va[e];
      for (int64_t e = 0; e < w->numel; e++) vb[e] = (float)vb[e];
      for (int64_t e = 0; e < x->numel; e++) vc[e] = (float)vc[e];
    }
    memset(ref, 0, sizeof(double) * (size_t)(nx > nw ? nx : nw));
    for (int64_t n = 0; n < k->N; n++)
      for (int64_t o = 0; o < k->O; o++)
        for (int64_t c = 0; c < Cg; c++)
          for (int64_t ki = 0; ki < k->KH; ki++)
            for (int64_t kj = 0; kj < k->KW; kj++)
              for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                  int64_t h = i * k->SH - k->PH + ki * k->DH, wd = j * k->SW - k->PW + kj * k->DW;
                  if (h < 0 || h >= k->H || wd < 0 || wd >= k->W) continue;
                  int64_t ch = (o / Og) * Cg + c;
                  ref[((n * k->C + ch) * k->H + h) * k->W + wd] +=
                      va[((n * k->O + o) * oh + i) * ow + j] * vb[((o * Cg + c) * k->KH + ki) * k->KW + kj];
                }
    ft_status st = ft_conv2d_grad_input(g, w, &p, k->H, k->W, &y);
    ok(st == FT_OK && same_shape(y, xs, 4) && maxdiff(y, ref, nx) < tol, "conv2d_grad_input case %zu (%s): %s", ci,
       ft_dtype_name(dt), st ? ft_last_error() : "");
    ft_release(y);
    y = NULL;
    memset(ref, 0, sizeof(double) * (size_t)nw);
    for (int64_t n = 0; n < k->N; n++)
      for (int64_t o = 0; o < k->O; o++)
        for (int64_t c = 0; c < Cg; c++)
          for (int64_t ki = 0; ki < k->KH; ki++)
            for (int64_t kj = 0; kj < k->KW; kj++)
              for (int64_t i = 0; i < oh; i++)
                for (int64_t j = 0; j < ow; j++) {
                  int64_t h = i * k->SH - k->PH + ki * k->DH, wd = j * k->SW - k->PW + kj * k->DW;
                  if (h < 0 || h >= k->H || wd < 0 || wd >= k->W) continue;
                  int64_t ch = (o / Og) * Cg + c;
                  ref[((o * Cg + c) * k->KH + ki) * k->KW + kj] +=
                      va[((n * k->O + o) * oh + i) * ow + j] * vc[((n * k->C + ch) * k->H + h) * k->W + wd];
                }
    st = ft_conv2d_grad_weight(g, x, &p, k->KH, k->KW, &y);
    ok(st == FT_OK && same_shape(y, ws, 4) && maxdiff(y, ref, nw) < tol * 30, "conv2d_grad_weight case %zu (%s): %s", ci,
       ft_dtype_name(dt), st ? ft_last_error() : "");
    ft_release(y);
    ft_release(g); ft_release(w); ft_release(x);
  }
}

static void test_conv_errors(void) {
  int64_t xs[4] = {32, 3, 28, 28}, ws[4] = {8, 1, 3, 3}, x2[4] = {1, 1, 2, 2}, bs[1] = {7};
  ft_tensor *x = NULL, *w = rnd_t(ws, 4, FT_F32, 0, 1, vb, 0), *y = NULL;
  MUST(ft_zeros(xs, 4, FT_F32, &x));
  ft_tensor *small = rnd_t(x2, 4, FT_F32, 0, 1, va, 0), *b = rnd_t(bs, 1, FT_F32, 0, 1, vc, 0);
  ft_conv_params p = {{1, 1}, {0, 0}, {1, 1}, 1};
  check_error("conv2d channels", ft_conv2d(x, w, NULL, &p, &y),
              "Given groups=1, weight of size [8, 1, 3, 3], expected input[32, 3, 28, 28] to have 1 channels, but got "
              "3 channels instead");
  check_error("conv2d kernel", ft_conv2d(small, w, NULL, &p, &y),
              "Calculated padded input size per channel: (2 x 2). Kernel size: (3 x 3). Kernel size can't be greater "
              "than actual input size");
  check_error("conv2d bias", ft_conv2d(small, w, b, &p, &y),
              "Given weight of size [8, 1, 3, 3], expected bias to be 1-dimensional with 8 elements, but got bias of "
              "size [7] instead");
  p.groups = 3;
  check_error("conv2d groups", ft_conv2d(x, w, NULL, &p, &y),
              "Given groups=3, expected weight to be divisible by 3 at dimension 0, but got weight of size [[8, 1, 3, 3]] instead");
  p.groups = 1;
  p.stride[0] = 0;
  check_error("conv2d stride", ft_conv2d(x, w, NULL, &p, &y), "non-positive stride is not supported");
  p.stride[0] = 1;
  p.padding[1] = -1;
  check_error("conv2d padding", ft_conv2d(x, w, NULL, &p, &y), "negative padding is not supported");
  ft_tensor *wd = NULL;
  MUST(ft_cast(w, FT_F64, &wd));
  p.padding[1] = 0;
  check_error("conv2d dtype", ft_conv2d(small, wd, NULL, &p, &y), "expected scalar type Float but found Double");
  ft_tensor *flat = NULL;
  MUST(ft_reshape(small, (int64_t[]){2, 2}, 2, &flat));
  check_error("conv2d rank", ft_conv2d(flat, w, NULL, &p, &y),
              "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: [2, 2]");
  int64_t op[2] = {2, 2};
  p.stride[0] = p.stride[1] = 2;
  int64_t w2s[4] = {1, 3, 3, 3};
  ft_tensor *w2 = rnd_t(w2s, 4, FT_F32, 0, 1, vb, 0);
  check_error("conv_transpose2d output padding", ft_conv_transpose2d(small, w2, NULL, &p, op, &y),
              "output padding must be smaller than either stride or dilation, but got output_padding_height: 2 "
              "output_padding_width: 2 stride_height: 2 stride_width: 2 dilation_height: 1 dilation_width: 1");
  op[0] = op[1] = 0;
  check_error("conv_transpose2d channels", ft_conv_transpose2d(x, w2, NULL, &p, op, &y),
              "Given transposed=1, weight of size [1, 3, 3, 3], expected input[32, 3, 28, 28] to have 1 channels, "
              "but got 3 channels instead");
  ft_release(x); ft_release(w); ft_release(small); ft_release(b); ft_release(wd); ft_release(flat); ft_release(w2);
}

static call conv_call(ft_op op, int nin, const int64_t *a, int n) {
  call c = {.op = op, .nin = nin, .at = {.ni = n}};
  for (int k = 0; k < n; k++) c.at.i[k] = a[k];
  return c;
}

static void test_conv_rules(void) {
  /* x [2, 4, 5, 4], w [6, 2, 3, 2] (groups 2), stride (2, 1), padding (1, 1), dilation (1, 2) */
  int64_t a[9] = {2, 1, 1, 1, 1, 2, 2, 3, 2};
  spec sp[3] = {SP(FT_F64, -1, 1, 2, 4, 5, 4), SP(FT_F64, -1, 1, 6, 2, 3, 2), SP(FT_F64, -1, 1, 6)};
  call c = conv_call(FT_OP_CONV2D, 3, a, 7);
  check_rules("conv2d", &c, sp, true);
  c.nin = 2;
  check_rules("conv2d (no bias)", &c, sp, true);
  spec sp3[3] = {SP(FT_F64, -1, 1, 4, 5, 4), SP(FT_F64, -1, 1, 6, 2, 3, 2), SP(FT_F64, -1, 1, 6)};
  c.nin = 3;
  check_rules("conv2d (unbatched image)", &c, sp3, false);
  /* the transposed convolution: g [2, 6, 3, 3] -> [2, 4, 5, 4] */
  a[7] = 5; a[8] = 4;
  spec sg[2] = {SP(FT_F64, -1, 1, 2, 6, 3, 3), SP(FT_F64, -1, 1, 6, 2, 3, 2)};
  c = conv_call(FT_OP_CONV2D_GRAD_INPUT, 2, a, 9);
  check_rules("conv2d_grad_input", &c, sg, true);
  /* the weight gradient: g [2, 6, 3, 3], x [2, 4, 5, 4] -> [6, 2, 3, 2] */
  a[7] = 3; a[8] = 2;
  spec sw[2] = {SP(FT_F64, -1, 1, 2, 6, 3, 3), SP(FT_F64, -1, 1, 2, 4, 5, 4)};
  c = conv_call(FT_OP_CONV2D_GRAD_WEIGHT, 2, a, 9);
  check_rules("conv2d_grad_weight", &c, sw, true);
  /* pointwise (the direct GEMM path) */
  int64_t pw[7] = {1, 1, 0, 0, 1, 1, 1};
  spec sp1[3] = {SP(FT_F64, -1, 1, 2, 3, 2, 3), SP(FT_F64, -1, 1, 4, 3, 1, 1), SP(FT_F64, -1, 1, 4)};
  c = conv_call(FT_OP_CONV2D, 3, pw, 7);
  check_rules("conv2d 1x1", &c, sp1, true);
  /* composites: conv1d (stride 2, padding 1, dilation 1, groups 1), conv_transpose2d */
  int64_t a1[4] = {2, 1, 1, 1};
  spec s1[3] = {SP(FT_F64, -1, 1, 2, 3, 7), SP(FT_F64, -1, 1, 4, 3, 3), SP(FT_F64, -1, 1, 4)};
  c = conv_call(FT_OP_CONV1D, 3, a1, 4);
  check_rules("conv1d", &c, s1, true);
  int64_t at[9] = {2, 2, 1, 0, 1, 1, 1, 1, 2};
  spec st[3] = {SP(FT_F64, -1, 1, 2, 4, 3, 3), SP(FT_F64, -1, 1, 4, 3, 2, 3), SP(FT_F64, -1, 1, 6)};
  c = conv_call(FT_OP_CONV_TRANSPOSE2D, 3, at, 9);
  check_rules("conv_transpose2d", &c, st, true);
}

/* ---- pooling ---------------------------------------------------------------- */

static void test_max_pool(void) {
  typedef struct { int64_t k[2], s[2], p[2], d[2]; bool ceil; } pc;
  const pc cases[] = {{{2, 2}, {2, 2}, {0, 0}, {1, 1}, false}, {{3, 2}, {2, 1}, {1, 1}, {1, 1}, true},
                      {{3, 3}, {1, 2}, {1, 0}, {2, 2}, false}, {{2, 2}, {2, 2}, {0, 0}, {1, 1}, true}};
  int64_t shapes[2][4] = {{2, 3, 7, 6}, {1, 2, 6, 21}}; /* the second reaches the SIMD 2x2 loop */
  for (int si = 0; si < 2; si++)
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
    for (int layout = 0; layout < 3; layout++) {
      const pc *q = &cases[ci];
      const int64_t *xs = shapes[si];
      ft_tensor *x = rnd_t(xs, 4, layout ? FT_F64 : FT_F32, -1, 1, va, layout), *y = NULL, *ix = NULL;
      ft_status st = ft_max_pool2d(x, q->k, q->s, q->p, q->d, q->ceil, &y, &ix);
      bool good = st == FT_OK;
      for (int64_t e = 0; good && e < y->numel; e++) {
        int64_t o[4];
        unravel(e, y->shape, 4, o);
        double m = -INFINITY;
        int64_t best = -1;
        for (int64_t i = 0; i < q->k[0]; i++)
          for (int64_t j = 0; j < q->k[1]; j++) {
            int64_t h = o[2] * q->s[0] - q->p[0] + i * q->d[0], w = o[3] * q->s[1] - q->p[1] + j * q->d[1];
            if (h < 0 || h >= xs[2] || w < 0 || w >= xs[3]) continue;
            double v = get_at(x, (int64_t[]){o[0], o[1], h, w});
            if (v > m) { m = v; best = h * xs[3] + w; }
          }
        good = get_lin(y, e) == m && get_lin(ix, e) == best;
      }
      ok(good, "max_pool2d shape %d case %zu layout %d: %s", si, ci, layout, st ? ft_last_error() : "");
      ft_release(x); ft_release(y); ft_release(ix);
    }
  /* NaN wins in the SIMD loop too (the last NaN of a window, as PyTorch) */
  double vn[32];
  for (int e = 0; e < 32; e++) vn[e] = e % 5;
  vn[3] = NAN; vn[18] = NAN; vn[19] = NAN; vn[5] = INFINITY;
  ft_tensor *xn = mk((int64_t[]){1, 2, 16}, 3, FT_F32, vn), *yn, *in_;
  int64_t k22[2] = {2, 2}, z22[2] = {0, 0}, o22[2] = {1, 1};
  MUST(ft_max_pool2d(xn, k22, k22, z22, o22, false, &yn, &in_));
  ok(get_lin(yn, 2) == INFINITY && get_lin(in_, 2) == 5, "max_pool2d SIMD: inf wins with its index");
  ok(isnan(get_lin(yn, 1)) && get_lin(in_, 1) == 19, "max_pool2d SIMD: the last NaN's index (got %g)", get_lin(in_, 1));
  ft_release(xn); ft_release(yn); ft_release(in_);
  /* NaN wins, and its index is reported */
  double v[4] = {1, NAN, 3, 2};
  ft_tensor *x = mk((int64_t[]){1, 2, 2}, 3, FT_F32, v), *y, *ix;
  int64_t k[2] = {2, 2}, s[2] = {2, 2}, p[2] = {0, 0}, d[2] = {1, 1};
  MUST(ft_max_pool2d(x, k, s, p, d, false, &y, &ix));
  ok(isnan(get_lin(y, 0)) && get_lin(ix, 0) == 1, "max_pool2d: NaN propagates with its index");
  ft_release(y); ft_release(ix);
  int64_t k0[2] = {0, 0}, p2[2] = {2, 2}, k3[2] = {3, 3};
  check_error("max_pool2d kernel", ft_max_pool2d(x, k0, s, p, d, false, &y, &ix),
              "kernel size should be greater than zero, but got kH: 0 kW: 0");
  check_error("max_pool2d pad", ft_max_pool2d(x, k3, s, p2, d, false, &y, &ix),
              "pad should be at most half of kernel size, but got pad=2 and kernel_size=3");
  check_error("max_pool2d small", ft_max_pool2d(x, k3, s, p, d, false, &y, &ix),
              "Given input size: (1x2x2). Calculated output size: (1x0x0). Output size is too small");
  ft_release(x);
  /* gradient: finite differences on distinct values (no ties) */
  int64_t gs[4] = {2, 2, 5, 5};
  int64_t kk[2] = {3, 2}, ss[2] = {2, 1}, pp[2] = {1, 0}, dd[2] = {1, 2};
  double vals[100];
  for (int e = 0; e < 100; e++) vals[e] = (double)((e * 37) % 100) * 0.01;
  ft_tensor *xg = mk(gs, 4, FT_F64, vals), *wv, *pr, *l;
  MUST(ft_requires_grad_(xg, true));
  MUST(ft_max_pool2d(xg, kk, ss, pp, dd, true, &y, NULL));
  double wvals[200];
  for (int64_t e = 0; e < y->numel; e++) wvals[e] = urand() - 0.5;
  wv = mk(y->shape, y->ndim, FT_F64, wvals);
  MUST(ft_mul(y, wv, &pr));
  MUST(ft_sum(pr, NULL, 0, false, &l));
  MUST(ft_backward(FT_EAGER_LEVEL, 1, &l, NULL, false, false));
  ft_tensor *gx = ft_peel(xg, FT_EAGER_LEVEL)->grad;
  bool good = gx != NULL;
  for (int e = 0; good && e < 100; e++) {
    double fd = 0;
    for (int sgn = -1; sgn <= 1; sgn += 2) {
      double v2[100];
      memcpy(v2, vals, sizeof v2);
      v2[e] += sgn * 1e-6;
      ft_tensor *x2 = mk(gs, 4, FT_F64, v2), *y2, *p2t, *l2;
      MUST(ft_max_pool2d(x2, kk, ss, pp, dd, true, &y2, NULL));
      MUST(ft_mul(y2, wv, &p2t));
      MUST(ft_sum(p2t, NULL, 0, false, &l2));
      fd += sgn * get_lin(l2, 0) / 2e-6;
      ft_release(x2); ft_release(y2); ft_release(p2t); ft_release(l2);
    }
    good = close_to(get_lin(gx, e), fd, 1e-6);
  }
  ok(good, "max_pool2d: gradient matches finite differences");
  ft_release(l); ft_release(pr); ft_release(wv); ft_release(y); ft_release(xg);
}

/* the values half of max_pool2d as a one-output call, for the generic checks */
static void test_max_pool_rules(void) {
  /* JVP and vmap through the two-output op: compare with per-example calls */
  int64_t xs[4] = {2, 3, 4, 5};
  int32_t V;
  double vals[3 * 120];
  for (int e = 0; e < 360; e++) vals[e] = (double)((e * 71) % 360) * 0.01;
  ft_tensor *X = mk((int64_t[]){3, 2, 3, 4, 5}, 5, FT_F64, vals), *w, *y[2];
  MUST(ft_level_push(FT_LV_VMAP, 3, 0, &V));
  MUST(ft_wrapper_new(V, X, &w));
  w->bdim = 0;
  w->ndim = 4;
  memcpy(w->shape, xs, sizeof xs);
  w->numel = 120;
  ft_attrs at = {.ni = 9, .i = {2, 3, 2, 1, 1, 1, 1, 1, 1}};
  ft_status st = ft_dispatch(FT_OP_MAX_POOL2D, 1, &w, &at, y);
  MUST(ft_level_pop(V));
  bool good = st == FT_OK && y[0]->level == V && y[1]->level == V;
  for (int64_t b = 0; good && b < 3; b++) {
    ft_tensor *xb = mk(xs, 4, FT_F64, vals + b * 120), *r[2];
    MUST(ft_dispatch(FT_OP_MAX_POOL2D, 1, &xb, &at, r));
    for (int j = 0; j < 2; j++) {
      ft_tensor *Y = y[j]->inner;
      int64_t per = Y->numel / 3;
      for (int64_t e = 0; good && e < per; e++) good = get_lin(Y, b * per + e) == get_lin(r[j], e) && y[j]->bdim == 0;
      ft_release(r[j]);
    }
    ft_release(xb);
  }
  ok(good, "max_pool2d vmap: values and indices match per-example calls");
  if (st == FT_OK) { ft_release(y[0]); ft_release(y[1]); }
  ft_release(w);
  ft_release(X);
  /* JVP: the tangent is gathered at the argmax */
  int32_t J;
  MUST(ft_level_push(FT_LV_JVP, 0, 0, &J));
  ft_tensor *x = mk(xs, 4, FT_F64, vals), *dual, *t;
  double tv[120];
  for (int e = 0; e < 120; e++) tv[e] = urand() - 0.5;
  t = mk(xs, 4, FT_F64, tv);
  MUST(ft_wrapper_new(J, x, &dual));
  dual->tangent = t;
  st = ft_dispatch(FT_OP_MAX_POOL2D, 1, &dual, &at, y);
  MUST(ft_level_pop(J));
  good = st == FT_OK && y[0]->tangent;
  for (int64_t e = 0; good && e < y[0]->numel; e++) {
    int64_t o[4];
    unravel(e, y[0]->shape, 4, o);
    int64_t i = (int64_t)get_lin(y[1], e);
    good = get_lin(y[0]->tangent, e) == tv[((o[0] * 3 + o[1]) * 4) * 5 + i];
  }
  ok(good, "max_pool2d jvp: the tangent at each argmax");
  if (st == FT_OK) { ft_release(y[0]); ft_release(y[1]); }
  ft_release(dual);
  ft_release(x);
}

static void test_max_pool_backward_rules(void) {
  int64_t a[2] = {4, 5};
  spec sp[2] = {SP(FT_F64, -1, 1, 2, 2, 3, 3), SP(FT_I32, 0, 20, 2, 2, 3, 3)};
  call c = conv_call(FT_OP_MAX_POOL2D_BACKWARD, 2, a, 2);
  check_rules("max_pool2d_backward", &c, sp, true);
  spec s3[2] = {SP(FT_F64, -1, 1, 2, 3, 3), SP(FT_I32, 0, 20, 2, 3, 3)};
  check_rules("max_pool2d_backward (unbatched image)", &c, s3, true);
}

static double avg_ref(const double *x, int64_t H, int64_t W, const int64_t *k, const int64_t *s, const int64_t *p,
                      bool cip, int64_t div, int64_t oh, int64_t ow) {
  int64_t h0 = oh * s[0] - p[0], w0 = ow * s[1] - p[1];
  int64_t h1 = h0 + k[0] < H + p[0] ? h0 + k[0] : H + p[0], w1 = w0 + k[1] < W + p[1] ? w0 + k[1] : W + p[1];
  int64_t pool = (h1 - h0) * (w1 - w0);
  double sum = 0;
  int64_t cnt = 0;
  for (int64_t i = h0; i < h1; i++)
    for (int64_t j = w0; j < w1; j++)
      if (i >= 0 && i < H && j >= 0 && j < W) { sum += x[i * W + j]; cnt++; }
  if (!cnt) return 0;
  return sum / (double)(div ? div : cip ? pool : cnt);
}

static void test_avg_pools(void) {
  int64_t xs[4] = {2, 2, 7, 6};
  int64_t k[2] = {3, 2}, s[2] = {2, 2}, p[2] = {1, 1};
  for (int mode = 0; mode < 4; mode++) {
    bool cip = mode & 1, ceil = mode & 2;
    int64_t div = mode == 3 ? 5 : 0;
    ft_tensor *x = rnd_t(xs, 4, FT_F64, -1, 1, va, mode % 3), *y = NULL;
    ft_status st = ft_avg_pool2d(x, k, s, p, ceil, cip, div, &y);
    bool good = st == FT_OK;
    for (int64_t e = 0; good && e < y->numel; e++) {
      int64_t o[4];
      unravel(e, y->shape, 4, o);
      double r = avg_ref(va + (o[0] * 2 + o[1]) * 42, 7, 6, k, s, p, cip, div, o[2], o[3]);
      good = close_to(get_lin(y, e), r, 1e-12);
    }
    ok(good, "avg_pool2d (count_include_pad %d, ceil %d, divisor %lld): %s", cip, ceil, (long long)div,
       st ? ft_last_error() : "");
    ft_release(x);
    ft_release(y);
  }
  /* adaptive: uneven windows */
  int64_t as[3] = {3, 7, 5};
  ft_tensor *x = rnd_t(as, 3, FT_F64, -1, 1, va, 1), *y = NULL;
  int64_t osz2[2] = {3, 4};
  MUST(ft_adaptive_avg_pool2d(x, osz2, &y));
  bool good = y->shape[0] == 3 && y->shape[1] == 3 && y->shape[2] == 4;
  for (int64_t e = 0; good && e < y->numel; e++) {
    int64_t o[3];
    unravel(e, y->shape, 3, o);
    int64_t h0 = o[1] * 7 / 3, h1 = ((o[1] + 1) * 7 + 2) / 3, w0 = o[2] * 5 / 4, w1 = ((o[2] + 1) * 5 + 3) / 4;
    double sum = 0;
    for (int64_t i = h0; i < h1; i++)
      for (int64_t j = w0; j < w1; j++) sum += va[(o[0] * 7 + i) * 5 + j];
    good = close_to(get_lin(y, e), sum / (double)((h1 - h0) * (w1 - w0)), 1e-12);
  }
  ok(good, "adaptive_avg_pool2d matches uneven windows");
  ft_release(x);
  ft_release(y);
  /* rules */
  int64_t ap[9] = {3, 2, 2, 2, 1, 1, 1, 0, 0};
  spec sx[1] = {SP(FT_F64, -1, 1, 2, 2, 5, 4)};
  call c = conv_call(FT_OP_AVG_POOL2D, 1, ap, 9);
  check_rules("avg_pool2d", &c, sx, true);
  ap[7] = 1;
  check_rules("avg_pool2d count_include_pad", &c, sx, false);
  int64_t ab[11] = {3, 2, 2, 2, 1, 1, 1, 0, 0, 5, 4};
  spec sg[1] = {SP(FT_F64, -1, 1, 2, 2, 3, 3)};
  c = conv_call(FT_OP_AVG_POOL2D_BACKWARD, 1, ab, 11);
  check_rules("avg_pool2d_backward", &c, sg, true);
  int64_t ad[2] = {2, 3};
  spec sa[1] = {SP(FT_F64, -1, 1, 2, 5, 4)};
  c = conv_call(FT_OP_ADAPTIVE_AVG_POOL2D, 1, ad, 2);
  check_rules("adaptive_avg_pool2d", &c, sa, true);
  int64_t adb[2] = {5, 4};
  spec sab[1] = {SP(FT_F64, -1, 1, 2, 2, 3)};
  c = conv_call(FT_OP_ADAPTIVE_AVG_POOL2D_BACKWARD, 1, adb, 2);
  check_rules("adaptive_avg_pool2d_backward", &c, sab, true);
}

/* ---- padding ---------------------------------------------------------------- */

static void test_pad(void) {
  int64_t xs[3] = {2, 3, 4};
  ft_tensor *x = rnd_t(xs, 3, FT_F64, -1, 1, va, 1), *y = NULL;
  int64_t pads[4] = {1, -1, 2, 0};
  MUST(ft_pad(x, pads, 4, 0, 7.5, &y));
  bool good = y->shape[0] == 2 && y->shape[1] == 5 && y->shape[2] == 4;
  for (int64_t e = 0; good && e < y->numel; e++) {
    int64_t o[3];
    unravel(e, y->shape, 3, o);
    int64_t i = o[1] - 2, j = o[2] - 1;
    double want = (i >= 0 && i < 3 && j >= 0 && j < 4) ? get_at(x, (int64_t[]){o[0], i, j}) : 7.5;
    good = get_lin(y, e) == want;
  }
  ok(good, "pad constant (with a crop)");
  ft_release(y);
  const char *names[4] = {"", "reflect", "replicate", "circular"};
  for (int mode = 1; mode <= 3; mode++) {
    int64_t pp[4] = {2, 1, 1, 2};
    MUST(ft_pad(x, pp, 4, mode, 0, &y));
    good = y->shape[1] == 6 && y->shape[2] == 7;
    for (int64_t e = 0; good && e < y->numel; e++) {
      int64_t o[3];
      unravel(e, y->shape, 3, o);
      int64_t i = o[1] - 1, j = o[2] - 2;
      int64_t n[2] = {3, 4}, *ij[2] = {&i, &j};
      for (int q = 0; q < 2; q++) {
        int64_t *v = ij[q];
        if (mode == 1) { if (*v < 0) *v = -*v; if (*v >= n[q]) *v = 2 * (n[q] - 1) - *v; }
        else if (mode == 2) *v = *v < 0 ? 0 : *v >= n[q] ? n[q] - 1 : *v;
        else *v = ((*v % n[q]) + n[q]) % n[q];
      }
      good = get_lin(y, e) == get_at(x, (int64_t[]){o[0], i, j});
    }
    ok(good, "pad %s", names[mode]);
    ft_release(y);
  }
  int64_t bad[2] = {4, 4};
  check_error("pad reflect too large", ft_pad(x, bad, 2, 1, 0, &y),
              "Argument #4: Padding size should be less than the corresponding input dimension, but got: padding (4, "
              "4) at dimension 2 of input [2, 3, 4]");
  int64_t odd[3] = {1, 1, 1};
  check_error("pad odd", ft_pad(x, odd, 3, 0, 0, &y), "Padding length must be divisible by 2");
  int64_t neg[2] = {-5, 0};
  check_error("pad negative size", ft_pad(x, neg, 2, 0, 0, &y), "resulted in a negative output size");
  ft_release(x);
  int64_t pa[4] = {1, 2, 0, -1};
  spec sx[1] = {SP(FT_F64, -1, 1, 2, 3, 3)};
  call c = conv_call(FT_OP_PAD, 1, pa, 4);
  check_rules("pad", &c, sx, true);
  int64_t pr[5] = {1, 2, 1, 1, 0};
  c = conv_call(FT_OP_PAD_INDEXED, 1, pr, 5);
  check_rules("pad reflect", &c, sx, true);
  pr[0] = 3;
  check_rules("pad circular", &c, sx, false);
}

/* ---- composites ---------------------------------------------------------------- */

static call with_f(call c, int nf, const double *f) {
  c.at.nf = nf;
  for (int k = 0; k < nf; k++) c.at.f[k] = f[k];
  return c;
}

static void test_composites(void) {
  call c = CALL0(FT_OP_LINEAR, 3);
  spec sl[3] = {SP(FT_F64, -1, 1, 2, 3, 4), SP(FT_F64, -1, 1, 5, 4), SP(FT_F64, -1, 1, 5)};
  check_rules("linear", &c, sl, true);
  c.nin = 2;
  check_rules("linear (no bias)", &c, sl, true);
  c = CALL0(FT_OP_BILINEAR, 4);
  spec sb[4] = {SP(FT_F64, -1, 1, 3, 2), SP(FT_F64, -1, 1, 3, 4), SP(FT_F64, -1, 1, 2, 2, 4), SP(FT_F64, -1, 1, 2)};
  check_rules("bilinear", &c, sb, true);

  double eps = 1e-5;
  c = with_f(CALL(FT_OP_LAYER_NORM, 3, 2, 1, 1, 3, 4), 1, &eps);
  spec sn[3] = {SP(FT_F64, -1, 1, 2, 3, 4), SP(FT_F64, -1, 1, 3, 4), SP(FT_F64, -1, 1, 3, 4)};
  check_rules("layer_norm", &c, sn, false); /* not quadratic: see check_double_backward */
  c = with_f(CALL(FT_OP_GROUP_NORM, 3, 2, 1, 1), 1, &eps);
  spec sg[3] = {SP(FT_F64, -1, 1, 2, 4, 3), SP(FT_F64, -1, 1, 4), SP(FT_F64, -1, 1, 4)};
  check_rules("group_norm", &c, sg, false);
  double bnf[2] = {0.1, 1e-5};
  c = with_f(CALL(FT_OP_BATCH_NORM, 3, 1, 1, 1, 0), 2, bnf);
  spec sbn[3] = {SP(FT_F64, -1, 1, 4, 3, 2), SP(FT_F64, -1, 1, 3), SP(FT_F64, -1, 1, 3)};
  check_rules("batch_norm (batch stats)", &c, sbn, false);
  c = with_f(CALL(FT_OP_BATCH_NORM, 5, 0, 1, 1, 1), 2, bnf);
  spec sbe[5] = {SP(FT_F64, -1, 1, 4, 3, 2), SP(FT_F64, -1, 1, 3), SP(FT_F64, -1, 1, 3), SP(FT_F64, -1, 1, 3),
                 SP(FT_F64, 0.5, 2, 3)};
  (void)sbe; /* 5 inputs exceed MAXIN: the eval mode is checked in test_batch_norm */

  c = CALL(FT_OP_EMBEDDING, 2, INT32_MIN); /* padding_idx is checked in test_embedding */
  spec se[2] = {SP(FT_F64, -1, 1, 5, 3), SP(FT_I32, 0, 5, 2, 3)};
  check_rules("embedding", &c, se, true);

  /* losses: mean, sum, none; weights, ignore_index, label smoothing */
  for (int r = 0; r < 3; r++) {
    char name[80];
    call m = CALL(FT_OP_MSE_LOSS, 2, r);
    spec sm[2] = {SP(FT_F64, -1, 1, 3, 4), SP(FT_F64, -1, 1, 3, 4)};
    snprintf(name, sizeof name, "mse_loss reduction %d", r);
    check_rules(name, &m, sm, false);
    double ls = r == 1 ? 0.2 : 0.0;
    call ce = with_f(CALL(FT_OP_CROSS_ENTROPY, 3, r, -100, 1), 1, &ls);
    spec sc[3] = {SP(FT_F64, -1, 1, 3, 4, 2), SP(FT_I32, 0, 4, 3, 2), SP(FT_F64, 0.5, 2, 4)};
    snprintf(name, sizeof name, "cross_entropy weighted reduction %d", r);
    check_rules(name, &ce, sc, true);
    ce = with_f(CALL(FT_OP_CROSS_ENTROPY, 2, r, 2, 0), 1, &ls); /* class 2 ignored */
    snprintf(name, sizeof name, "cross_entropy ignore_index reduction %d", r);
    check_rules(name, &ce, sc, true);
    ce = with_f(CALL(FT_OP_CROSS_ENTROPY, 3, r, -100, 1), 1, &ls);
    spec sp[3] = {SP(FT_F64, -1, 1, 3, 4), SP(FT_F64, 0, 1, 3, 4), SP(FT_F64, 0.5, 2, 4)};
    snprintf(name, sizeof name, "cross_entropy probabilities reduction %d", r);
    check_rules(name, &ce, sp, true);
    call nl = CALL(FT_OP_NLL_LOSS, 3, r, 1, 1);
    spec sn2[3] = {SP(FT_F64, -1, 1, 7, 3), SP(FT_I32, 0, 3, 7), SP(FT_F64, 0.5, 2, 3)};
    snprintf(name, sizeof name, "nll_loss reduction %d", r);
    check_rules(name, &nl, sn2, true);
  }
}

/* cross-entropy's values against the formula, with every option */
static void test_cross_entropy_values(void) {
  double xv[12], tv[3] = {1, 3, 0}, wv[4] = {0.5, 1, 2, 1.5};
  for (int e = 0; e < 12; e++) xv[e] = urand() * 4 - 2;
  ft_tensor *x = mk((int64_t[]){3, 4}, 2, FT_F64, xv), *t = mk((int64_t[]){3}, 1, FT_I32, tv);
  ft_tensor *w = mk((int64_t[]){4}, 1, FT_F64, wv), *y = NULL;
  double lp[12];
  for (int n = 0; n < 3; n++) {
    double m = -INFINITY, s = 0;
    for (int k = 0; k < 4; k++) m = fmax(m, xv[n * 4 + k]);
    for (int k = 0; k < 4; k++) s += exp(xv[n * 4 + k] - m);
    for (int k = 0; k < 4; k++) lp[n * 4 + k] = xv[n * 4 + k] - m - log(s);
  }
  /* weighted mean, target 0 ignored (ignore_index 0), label smoothing 0.1 */
  double ls = 0.1, num = 0, den = 0, snum = 0;
  for (int n = 0; n < 3; n++) {
    int c = (int)tv[n];
    if (c == 0) continue;
    num += -wv[c] * lp[n * 4 + c];
    den += wv[c];
    for (int k = 0; k < 4; k++) snum += -wv[k] * lp[n * 4 + k];
  }
  double want = (1 - ls) * num / den + ls / 4 * snum / den;
  MUST(ft_cross_entropy(x, t, w, FT_LOSS_MEAN, 0, ls, &y));
  ok(close_to(get_lin(y, 0), want, 1e-12), "cross_entropy weighted, ignore_index, smoothing: %.12g vs %.12g",
     get_lin(y, 0), want);
  ft_release(y);
  double tbad[3] = {1, 5, 0};
  ft_tensor *tb = mk((int64_t[]){3}, 1, FT_I32, tbad);
  check_error("cross_entropy target", ft_cross_entropy(x, tb, NULL, FT_LOSS_MEAN, -100, 0, &y),
              "Target 5 is out of bounds.");
  ft_tensor *t2 = mk((int64_t[]){2}, 1, FT_I32, tv);
  check_error("cross_entropy batch", ft_cross_entropy(x, t2, NULL, FT_LOSS_MEAN, -100, 0, &y),
              "Expected input batch_size (3) to match target batch_size (2).");
  ft_tensor *w3 = mk((int64_t[]){3}, 1, FT_F64, wv);
  check_error("cross_entropy weight", ft_cross_entropy(x, t, w3, FT_LOSS_MEAN, -100, 0, &y),
              "weight tensor should be defined either for all 4 classes or no classes but got weight tensor of "
              "shape: [3]");
  ft_release(x); ft_release(t); ft_release(w); ft_release(tb); ft_release(t2); ft_release(w3);
}

static void test_batch_norm(void) {
  /* training: batch statistics, running stats updated with the unbiased variance */
  double xv[12];
  for (int e = 0; e < 12; e++) xv[e] = urand() * 4 - 2;
  double rmv[3] = {0.5, -1, 0}, rvv[3] = {1, 2, 0.5};
  ft_tensor *x = mk((int64_t[]){2, 3, 2}, 3, FT_F64, xv), *rm = mk((int64_t[]){3}, 1, FT_F64, rmv);
  ft_tensor *rv = mk((int64_t[]){3}, 1, FT_F64, rvv), *y = NULL;
  MUST(ft_requires_grad_(x, true));
  MUST(ft_batch_norm(x, rm, rv, NULL, NULL, true, 0.1, 1e-5, &y));
  bool good = true;
  for (int c = 0; c < 3; c++) {
    double m = 0, v = 0;
    for (int n = 0; n < 2; n++)
      for (int k = 0; k < 2; k++) m += xv[(n * 3 + c) * 2 + k] / 4;
    for (int n = 0; n < 2; n++)
      for (int k = 0; k < 2; k++) v += pow(xv[(n * 3 + c) * 2 + k] - m, 2);
    good &= close_to(get_lin(rm, c), 0.9 * rmv[c] + 0.1 * m, 1e-12);
    good &= close_to(get_lin(rv, c), 0.9 * rvv[c] + 0.1 * v / 3, 1e-12);
    for (int n = 0; n < 2; n++)
      for (int k = 0; k < 2; k++) {
        int64_t e = (n * 3 + c) * 2 + k;
        good &= close_to(get_lin(y, e), (xv[e] - m) / sqrt(v / 4 + 1e-5), 1e-9);
      }
  }
  ok(good, "batch_norm training: output and running statistics");
  ok(ft_peel(rm, FT_EAGER_LEVEL)->level == 0 && rm->level == 0, "batch_norm: running stats stay untracked");
  ft_release(y);
  /* eval: running statistics */
  MUST(ft_batch_norm(x, rm, rv, NULL, NULL, false, 0.1, 1e-5, &y));
  good = true;
  for (int64_t e = 0; e < 12; e++) {
    int c = (int)((e / 2) % 3);
    good &= close_to(get_lin(y, e), (xv[e] - get_lin(rm, c)) / sqrt(get_lin(rv, c) + 1e-5), 1e-9);
  }
  ok(good, "batch_norm eval uses the running statistics");
  ft_release(y);
  ft_tensor *one = mk((int64_t[]){1, 3}, 2, FT_F64, xv);
  check_error("batch_norm one value", ft_batch_norm(one, NULL, NULL, NULL, NULL, true, 0.1, 1e-5, &y),
              "Expected more than 1 value per channel when training, got input size torch.Size([1, 3])");
  ft_tensor *r4 = mk((int64_t[]){4}, 1, FT_F64, xv), *r4b = mk((int64_t[]){4}, 1, FT_F64, xv);
  check_error("batch_norm running size", ft_batch_norm(x, r4, r4b, NULL, NULL, true, 0.1, 1e-5, &y),
              "running_mean should contain 3 elements not 4");
  /* vmap over the input with unbatched running stats: PyTorch's error */
  int32_t V;
  MUST(ft_level_push(FT_LV_VMAP, 2, 0, &V));
  ft_tensor *w;
  MUST(ft_wrapper_new(V, x, &w));
  w->bdim = 2; /* logical [2, 3]: three channels */
  w->ndim = 2;
  w->shape[0] = 2;
  w->shape[1] = 3;
  w->numel = 6;
  check_error("batch_norm vmap", ft_batch_norm(w, rm, rv, NULL, NULL, true, 0.1, 1e-5, &y),
              "Batch norm got a batched tensor as input while the running_mean or running_var, which will be updated "
              "in place, were not batched.");
  MUST(ft_level_pop(V));
  ft_release(w);
  ft_release(one); ft_release(r4); ft_release(r4b); ft_release(x); ft_release(rm); ft_release(rv);
}

/* padding_idx: its row's value is used, its gradient stays zero */
static void test_embedding(void) {
  double wv[8] = {1, 2, 3, 4, 5, 6, 7, 8}, iv[4] = {1, 3, 1, 0};
  ft_tensor *w = mk((int64_t[]){4, 2}, 2, FT_F64, wv), *ix = mk((int64_t[]){2, 2}, 2, FT_I32, iv), *y, *s;
  MUST(ft_requires_grad_(w, true));
  MUST(ft_embedding(w, ix, -3, &y)); /* -3 is row 1 */
  bool good = same_shape(y, (int64_t[]){2, 2, 2}, 3);
  for (int k = 0; good && k < 8; k++) good = get_lin(y, k) == wv[(int)iv[k / 2] * 2 + k % 2];
  ok(good, "embedding values (padding row included)");
  MUST(ft_sum(y, NULL, 0, false, &s));
  MUST(ft_backward(FT_EAGER_LEVEL, 1, &s, NULL, false, false));
  ft_tensor *g = ft_peel(w, FT_EAGER_LEVEL)->grad;
  double want[8] = {1, 1, 0, 0, 0, 0, 1, 1};
  good = g != NULL;
  for (int k = 0; good && k < 8; k++) good = get_lin(g, k) == want[k];
  ok(good, "embedding: padding_idx gets no gradient, repeated rows accumulate");
  ft_release(s); ft_release(y); ft_release(w); ft_release(ix);
}

/* ---- errors of the composites ------------------------------------------------- */

static void test_misc_errors(void) {
  double z[64] = {0};
  ft_tensor *x = mk((int64_t[]){2, 3}, 2, FT_F64, z), *y = NULL;
  ft_tensor *w4 = mk((int64_t[]){4}, 1, FT_F64, z), *w2 = mk((int64_t[]){2}, 1, FT_F64, z);
  check_error("layer_norm shape", ft_layer_norm(x, 1, w2, NULL, 1e-5, &y),
              "Expected weight to be of same shape as normalized_shape, but got weight of shape [2] and "
              "normalized_shape = [3]");
  ft_tensor *x3 = mk((int64_t[]){2, 6, 2}, 3, FT_F64, z);
  check_error("group_norm groups", ft_group_norm(x3, 4, NULL, NULL, 1e-5, &y),
              "Expected number of channels in input to be divisible by num_groups, but got input of shape [2, 6, 2] "
              "and num_groups=4");
  check_error("group_norm weight", ft_group_norm(x3, 3, w4, NULL, 1e-5, &y),
              "Expected weight to be a vector of size equal to the number of channels in input, but got weight of "
              "shape [4] and input of shape [2, 6, 2]");
  double iv[2] = {5, 0};
  ft_tensor *ix = mk((int64_t[]){2}, 1, FT_I32, iv), *emb = mk((int64_t[]){3, 2}, 2, FT_F64, z);
  check_error("embedding range", ft_embedding(emb, ix, INT32_MIN, &y), "index out of range in self");
  check_error("embedding dtype", ft_embedding(emb, x, INT32_MIN, &y),
              "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int");
  check_error("dropout p", ft_dropout(x, 1.5, true, &y), "dropout probability has to be between 0 and 1, but got 1.5");
  ft_tensor *wb = mk((int64_t[]){5, 3, 3}, 3, FT_F64, z), *x4 = mk((int64_t[]){2, 4}, 2, FT_F64, z);
  check_error("bilinear sizes", ft_bilinear(x, x4, wb, NULL, &y),
              "bilinear(): input2 size does not match weight size: got 4 but expected 3");
  ft_release(x); ft_release(w4); ft_release(w2); ft_release(x3); ft_release(ix); ft_release(emb);
  ft_release(wb); ft_release(x4);
  /* dropout: identity when not training, zeros at p = 1, scaled kept values otherwise */
  double ones[1000];
  for (int e = 0; e < 1000; e++) ones[e] = 1;
  ft_tensor *o = mk((int64_t[]){1000}, 1, FT_F64, ones);
  MUST(ft_dropout(o, 0.3, false, &y));
  ok(y == o, "dropout eval returns the input");
  ft_release(y);
  MUST(ft_dropout(o, 1.0, true, &y));
  bool good = true;
  for (int e = 0; e < 1000; e++) good &= get_lin(y, e) == 0;
  ok(good, "dropout p = 1 gives zeros");
  ft_release(y);
  MUST(ft_dropout(o, 0.25, true, &y));
  int kept = 0;
  good = true;
  for (int e = 0; e < 1000; e++) {
    double v = get_lin(y, e);
    kept += v != 0;
    good &= v == 0 || close_to(v, 1 / 0.75, 1e-12);
  }
  ok(good && kept > 650 && kept < 850, "dropout keeps about 1 - p, scaled by 1 / (1 - p) (kept %d)", kept);
  ft_release(y);
  ft_release(o);
}

/* ---- layers and the chain ------------------------------------------------------ */

static void test_chain(void) {
  double xv[6], w1[12], b1[4], w2[8], b2[2];
  for (int e = 0; e < 6; e++) xv[e] = urand() - 0.5;
  for (int e = 0; e < 12; e++) w1[e] = urand() - 0.5;
  for (int e = 0; e < 4; e++) b1[e] = urand() - 0.5;
  for (int e = 0; e < 8; e++) w2[e] = urand() - 0.5;
  for (int e = 0; e < 2; e++) b2[e] = urand() - 0.5;
  ft_tensor *x = mk((int64_t[]){2, 3}, 2, FT_F64, xv), *W1 = mk((int64_t[]){4, 3}, 2, FT_F64, w1);
  ft_tensor *B1 = mk((int64_t[]){4}, 1, FT_F64, b1), *W2 = mk((int64_t[]){2, 4}, 2, FT_F64, w2);
  ft_tensor *B2 = mk((int64_t[]){2}, 1, FT_F64, b2), *y = NULL;
  ft_tensor *t1[2] = {W1, B1}, *t2[2] = {W2, B2};
  ft_nn_layer_desc d[3] = {{.kind = FT_NN_LINEAR, .nt = 2, .tensors = t1},
                           {.kind = FT_NN_RELU},
                           {.kind = FT_NN_LINEAR, .nt = 2, .tensors = t2}};
  MUST(ft_nn_chain_forward(d, 3, x, &y));
  bool good = y->shape[0] == 2 && y->shape[1] == 2;
  for (int n = 0; n < 2; n++)
    for (int o = 0; o < 2; o++) {
      double acc = b2[o];
      for (int j = 0; j < 4; j++) {
        double h = b1[j];
        for (int i = 0; i < 3; i++) h += xv[n * 3 + i] * w1[j * 3 + i];
        acc += (h > 0 ? h : 0) * w2[o * 4 + j];
      }
      good &= close_to(get_lin(y, n * 2 + o), acc, 1e-12);
    }
  ok(good, "chain Linear-ReLU-Linear matches the plain computation");
  ft_release(y);
  /* a conv layer with 'same' padding for an even kernel (asymmetric) */
  int64_t xs[4] = {1, 2, 5, 6}, ws[4] = {3, 2, 2, 4};
  ft_tensor *xi = rnd_t(xs, 4, FT_F64, -1, 1, va, 0), *wc = rnd_t(ws, 4, FT_F64, -1, 1, vb, 0), *pad = NULL, *ref = NULL;
  int32_t ci[10] = {1, 1, 0, 1, 1, 2, 1, 1, 1, 0};
  ft_tensor *tc[2] = {wc, NULL};
  MUST(ft_nn_layer_forward(FT_NN_CONV2D, ci, 10, NULL, 0, tc, 2, false, xi, &y));
  int64_t pads[4] = {1, 2, 0, 1};
  MUST(ft_pad(xi, pads, 4, 0, 0, &pad));
  ft_conv_params p = {{1, 1}, {0, 0}, {1, 1}, 1};
  MUST(ft_conv2d(pad, wc, NULL, &p, &ref));
  good = same_shape(y, (int64_t[]){1, 3, 5, 6}, 4);
  for (int64_t e = 0; good && e < y->numel; e++) good = close_to(get_lin(y, e), get_lin(ref, e), 1e-12);
  ok(good, "conv2d layer with asymmetric 'same' padding");
  ft_release(y); ft_release(pad); ft_release(ref);
  /* batch norm layer: num_batches_tracked and momentum None (cumulative average) */
  double z3[3] = {0, 0, 0}, o3[3] = {1, 1, 1}, nb = 0;
  ft_tensor *rm = mk((int64_t[]){3}, 1, FT_F64, z3), *rv = mk((int64_t[]){3}, 1, FT_F64, o3);
  ft_tensor *nbt = mk(NULL, 0, FT_I32, &nb), *xb = rnd_t((int64_t[]){4, 3}, 2, FT_F64, -1, 1, va, 0);
  ft_tensor *tb[5] = {NULL, NULL, rm, rv, nbt};
  double fb[2] = {NAN, 1e-5};
  int32_t ib[2] = {1, 1}; /* batch statistics; BatchNorm1d rank check */
  MUST(ft_nn_layer_forward(FT_NN_BATCH_NORM, ib, 2, fb, 2, tb, 5, true, xb, &y));
  ok(get_lin(nbt, 0) == 1, "batch norm layer: num_batches_tracked incremented");
  double m0 = (va[0] + va[3] + va[6] + va[9]) / 4;
  ok(close_to(get_lin(rm, 0), m0, 1e-12), "batch norm layer: momentum None averages (factor 1 on the first batch)");
  ft_release(y);
  ft_tensor *x3 = rnd_t((int64_t[]){2, 3, 2, 2}, 4, FT_F64, -1, 1, va, 0);
  check_error("batch norm 1d rank", ft_nn_layer_forward(FT_NN_BATCH_NORM, ib, 2, fb, 2, tb, 5, true, x3, &y),
              "expected 2D or 3D input (got 4D input)");
  ft_release(x3);
  ft_release(rm); ft_release(rv); ft_release(nbt); ft_release(xb);
  ft_release(xi); ft_release(wc);
  ft_release(x); ft_release(W1); ft_release(B1); ft_release(W2); ft_release(B2);
}

int main(void) {
  int64_t live0 = ft_mem_live_tensors();
  test_conv_values();
  test_col2im_adjoint();
  test_grad_ops_values();
  test_conv_errors();
  test_conv_rules();
  test_max_pool();
  test_max_pool_rules();
  test_max_pool_backward_rules();
  test_avg_pools();
  test_pad();
  test_composites();
  test_cross_entropy_values();
  test_embedding();
  test_batch_norm();
  test_misc_errors();
  test_chain();
  ok(ft_mem_live_tensors() == live0, "no tensors leaked (%lld live, %lld at start)", (long long)ft_mem_live_tensors(),
     (long long)live0);
  printf("%d passed, %d failed\n", g_pass, g_fail);
  return g_fail ? 1 : 0;
}
