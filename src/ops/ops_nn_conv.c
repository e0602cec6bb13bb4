/* Convolution primitives: CONV2D, CONV2D_GRAD_INPUT (the transposed
 * convolution) and CONV2D_GRAD_WEIGHT. Each is the others' VJP, so any
 * order of derivative stays inside these three ops.
 *
 * Evals lower to ft_k_gemm one image and one group at a time:
 *   CONV2D:      out[n, g]   = W_g [Og, Kc] @ im2col(x[n, g]) [Kc, P]
 *   GRAD_INPUT:  out[n, g]   = col2im(W_g^T [Kc, Og] @ g[n, g] [Og, P])
 *   GRAD_WEIGHT: out[g]     += g[n, g] [Og, P] @ im2col(x[n, g])^T [P, Kc]
 * (Kc = C/groups * KH * KW, P = OH * OW). Transposes are strides given to the
 * GEMM, never copies; 1x1 stride-1 unpadded convolutions skip im2col. The
 * im2col buffer comes from the size-class pool, so a training step reuses it.
 * The bias is fused: the output starts as the bias and the GEMM accumulates.
 *
 * Float32 with stride 1 and K <= 256 (the small CNNs this library trains)
 * skips im2col: the GEMM reads the image in place through each tap's
 * offset (ft_k_gemm_indirect / ft_k_gemm_indirect_a), computing output rows
 * at the input's full width. CONV2D and GRAD_WEIGHT take that route
 * directly; GRAD_INPUT with stride 1 is a stride-1 CONV2D of g with the
 * flipped, transposed weight, and takes it too. Building the im2col matrix
 * (9x the image for a 3x3 kernel) and packing it had cost the small CNN's
 * step more than its multiply-adds. */
#include "ops_nn_conv_run.h"

typedef struct {
  ft_conv_params p;
  bool has_osize;
  int64_t oh, ow;   /* CONV2D: requested output size */
  int64_t e0, e1;   /* GRAD_INPUT: input h, w; GRAD_WEIGHT: kh, kw */
} conv_attrs;

static ft_status read_attrs(const ft_attrs *at, int extra, conv_attrs *c, const char *name) {
  if (at->ni < 7 + extra) return ft_error(FT_ERR_VALUE, "%s: expected %d integer attributes, got %d", name, 7 + extra, at->ni);
  c->p.stride[0] = at->i[0]; c->p.stride[1] = at->i[1];
  c->p.padding[0] = at->i[2]; c->p.padding[1] = at->i[3];
  c->p.dilation[0] = at->i[4]; c->p.dilation[1] = at->i[5];
  c->p.groups = at->i[6];
  c->has_osize = at->ni >= 9;
  c->e0 = c->oh = at->ni > 7 ? at->i[7] : 0;
  c->e1 = c->ow = at->ni > 8 ? at->i[8] : 0;
  if (c->p.stride[0] <= 0 || c->p.stride[1] <= 0) return ft_error(FT_ERR_VALUE, "non-positive stride is not supported");
  if (c->p.padding[0] < 0 || c->p.padding[1] < 0) return ft_error(FT_ERR_VALUE, "negative padding is not supported");
  if (c->p.dilation[0] <= 0 || c->p.dilation[1] <= 0)
    return ft_error(FT_ERR_VALUE, "dilation should be greater than zero, but got [%lld, %lld]",
                    (long long)c->p.dilation[0], (long long)c->p.dilation[1]);
  if (c->p.groups <= 0) return ft_error(FT_ERR_VALUE, "non-positive groups is not supported");
  return FT_OK;
}

static void pack_attrs(const ft_conv_params *p, int64_t e0, int64_t e1, int n, ft_attrs *at) {
  at->ni = 7 + n;
  at->nf = 0;
  at->i[0] = p->stride[0]; at->i[1] = p->stride[1];
  at->i[2] = p->padding[0]; at->i[3] = p->padding[1];
  at->i[4] = p->dilation[0]; at->i[5] = p->dilation[1];
  at->i[6] = p->groups;
  at->i[7] = e0;
  at->i[8] = e1;
}

static const char *scalar_name(ft_dtype dt) {
  return dt == FT_F32 ? "Float" : dt == FT_F64 ? "Double" : dt == FT_I32 ? "Int" : "Bool";
}

static ft_status check_dtypes(const ft_tensor *x, const ft_tensor *w, const ft_tensor *b, const char *name) {
  if (w->dtype != x->dtype)
    return ft_error(FT_ERR_TYPE, "expected scalar type %s but found %s", scalar_name(x->dtype), scalar_name(w->dtype));
  if (b && b->dtype != x->dtype)
    return ft_error(FT_ERR_TYPE, "expected scalar type %s but found %s", scalar_name(x->dtype), scalar_name(b->dtype));
  if (!ft_is_float(x->dtype))
    return ft_error(FT_ERR_TYPE, "%s: expected a floating point input, got %s", name, ft_dtype_name(x->dtype));
  return FT_OK;
}

static ft_status check_image(const ft_tensor *x, const char *name) {
  char b1[FT_SHAPE_BUF];
  if (x->ndim != 3 && x->ndim != 4)
    return ft_error(FT_ERR_VALUE, "Expected 3D (unbatched) or 4D (batched) input to %s, but got input of size: %s", name,
                    NN_SHAPE(x, b1));
  return FT_OK;
}

static ft_status check_weight(const ft_tensor *w, const char *name) {
  char b1[FT_SHAPE_BUF];
  if (w->ndim != 4)
    return ft_error(FT_ERR_VALUE, "%s: expected a 4-dimensional weight, but got weight of size %s", name, NN_SHAPE(w, b1));
  return FT_OK;
}

static int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

/* ---- CONV2D ------------------------------------------------------------------ */

static ft_status eval_conv2d(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  if (nin < 2 || nin > 3) return ft_error(FT_ERR_VALUE, "conv2d expects 2 or 3 tensor inputs, got %d", nin);
  ft_tensor *x = in[0], *w = in[1], *b = nin > 2 ? in[2] : NULL;
  conv_attrs ca;
  FT_TRY(read_attrs(at, 0, &ca, "conv2d"));
  FT_TRY(check_image(x, "conv2d"));
  FT_TRY(check_weight(w, "conv2d"));
  FT_TRY(check_dtypes(x, w, b, "conv2d"));
  int64_t G = ca.p.groups, O = w->shape[0], Cg = w->shape[1];
  img xi;
  conv_img_of(x, &xi);
  if (O % G != 0)
    return ft_error(FT_ERR_VALUE,
                    "Given groups=%lld, expected weight to be divisible by %lld at dimension 0, but got weight of size "
                    "[%s] instead",
                    (long long)G, (long long)G, NN_SHAPE(w, b1));
  if (xi.C != Cg * G)
    return ft_error(FT_ERR_VALUE,
                    "Given groups=%lld, weight of size %s, expected input%s to have %lld channels, but got %lld "
                    "channels instead",
                    (long long)G, NN_SHAPE(w, b1), NN_SHAPE(x, b2), (long long)(Cg * G), (long long)xi.C);
  if (b && (b->ndim != 1 || b->shape[0] != O))
    return ft_error(FT_ERR_VALUE,
                    "Given weight of size %s, expected bias to be 1-dimensional with %lld elements, but got bias of "
                    "size %s instead",
                    NN_SHAPE(w, b1), (long long)O, NN_SHAPE(b, b2));
  ft_conv_geom g = {.C = Cg, .H = xi.H, .W = xi.W, .KH = w->shape[2], .KW = w->shape[3], .SH = ca.p.stride[0],
                    .SW = ca.p.stride[1], .PH = ca.p.padding[0], .PW = ca.p.padding[1], .DH = ca.p.dilation[0],
                    .DW = ca.p.dilation[1]};
  if (ca.has_osize) {
    g.OH = ca.oh;
    g.OW = ca.ow;
  } else {
    int64_t eh = g.DH * (g.KH - 1) + 1, ew = g.DW * (g.KW - 1) + 1;
    if (xi.H + 2 * g.PH < eh || xi.W + 2 * g.PW < ew)
      return ft_error(FT_ERR_VALUE,
                      "Calculated padded input size per channel: (%lld x %lld). Kernel size: (%lld x %lld). Kernel "
                      "size can't be greater than actual input size",
                      (long long)(xi.H + 2 * g.PH), (long long)(xi.W + 2 * g.PW), (long long)eh, (long long)ew);
    g.OH = out_size(xi.H, g.KH, g.SH, g.PH, g.DH);
    g.OW = out_size(xi.W, g.KW, g.SW, g.PW, g.DW);
  }
  int64_t shape[4] = {xi.N, O, g.OH, g.OW};
  int batched = x->ndim == 4;
  FT_TRY(ft_tensor_empty(batched ? shape : shape + 1, batched ? 4 : 3, x->dtype, out));
  int64_t Og = O / G, P = g.OH * g.OW, Kc = Cg * g.KH * g.KW;
  if ((*out)->numel == 0) return FT_OK;
  ft_dtype dt = x->dtype;
  size_t es = ft_dtype_size(dt);
  char *op = ft_data_ptr(*out);
  if (Kc == 0) { /* an empty reduction: zeros (plus the bias below) */
    ft_k_fill(dt, op, (*out)->numel, 0.0);
  }
  if (b) {
    const char *bp = ft_data_ptr(b);
    for (int64_t n = 0; n < xi.N; n++)
      for (int64_t o = 0; o < O; o++) {
        double v = dt == FT_F64 ? ((const double *)bp)[o * b->strides[0]] : ((const float *)bp)[o * b->strides[0]];
        ft_k_fill(dt, op + (size_t)((n * O + o) * P) * es, P, v);
      }
  }
  if (Kc == 0) return FT_OK;
  ft_tensor *wc = NULL;
  ptrdiff_t *boff = NULL;
  ft_status st;
  FT_CHECK(ft_plain_contiguous(w, &wc));
  conv_images job = {.grad_input = false, .direct = conv_is_pointwise(&g) && conv_plane_nested(&xi), .dt = dt, .es = es, .g = &g,
                     .G = G, .Og = Og, .Cg = Cg, .O = O, .P = P, .Kc = Kc, .src = ft_data_ptr(x),
                     .wp = ft_data_ptr(wc), .si = xi, .op = op, .has_bias = b != NULL};
  conv_indirect ind;
  if (!job.direct && conv_indirect_fits(dt, &g, Kc)) {
    FT_CHECK(conv_indirect_setup(&ind, &g, &xi, Cg, Kc, &boff));
    job.ind = &ind;
  }
  FT_CHECK(conv_images_run(&job));
fail:
  if (boff) ft_pool_free(boff, sizeof *boff * (size_t)Kc);
  ft_release(wc);
  if (st) { ft_release(*out); *out = NULL; }
  return st;
}

/* ---- CONV2D_GRAD_INPUT ------------------------------------------------------ */

static ft_status eval_grad_input(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  ft_tensor *gt = in[0], *w = in[1];
  conv_attrs ca;
  FT_TRY(read_attrs(at, 2, &ca, "conv2d_grad_input"));
  FT_TRY(check_image(gt, "conv_transpose2d"));
  FT_TRY(check_weight(w, "conv_transpose2d"));
  FT_TRY(check_dtypes(gt, w, NULL, "conv_transpose2d"));
  int64_t G = ca.p.groups, O = w->shape[0], Cg = w->shape[1];
  img gi_;
  conv_img_of(gt, &gi_);
  if (O % G != 0)
    return ft_error(FT_ERR_VALUE,
                    "Given groups=%lld, expected weight to be divisible by %lld at dimension 0, but got weight of size "
                    "[%s] instead",
                    (long long)G, (long long)G, NN_SHAPE(w, b1));
  if (gi_.C != O)
    return ft_error(FT_ERR_VALUE,
                    "Given transposed=1, weight of size %s, expected input%s to have %lld channels, but got %lld "
                    "channels instead",
                    NN_SHAPE(w, b1), NN_SHAPE(gt, b2), (long long)O, (long long)gi_.C);
  if (ca.e0 < 0 || ca.e1 < 0) return ft_error(FT_ERR_VALUE, "conv_transpose2d: negative output size");
  ft_conv_geom g = {.C = Cg, .H = ca.e0, .W = ca.e1, .KH = w->shape[2], .KW = w->shape[3], .SH = ca.p.stride[0],
                    .SW = ca.p.stride[1], .PH = ca.p.padding[0], .PW = ca.p.padding[1], .DH = ca.p.dilation[0],
                    .DW = ca.p.dilation[1], .OH = gi_.H, .OW = gi_.W};
  int64_t C = Cg * G, Og = O / G, P = g.OH * g.OW, Kc = Cg * g.KH * g.KW, HW = g.H * g.W;
  int64_t shape[4] = {gi_.N, C, g.H, g.W};
  int batched = gt->ndim == 4;
  FT_TRY(ft_tensor_empty(batched ? shape : shape + 1, batched ? 4 : 3, gt->dtype, out));
  if ((*out)->numel == 0) return FT_OK;
  ft_dtype dt = gt->dtype;
  size_t es = ft_dtype_size(dt);
  char *op = ft_data_ptr(*out);
  bool direct = conv_is_pointwise(&g);
  /* With stride 1 the adjoint is itself a stride-1 convolution: of g, with
   * each group's weight transposed to [Cg, Og] and its taps flipped,
   * padded by DH * (KH - 1) - PH (negative: cropped) instead of PH. */
  ft_conv_geom gf = {.C = Og, .H = g.OH, .W = g.OW, .KH = g.KH, .KW = g.KW, .SH = 1, .SW = 1,
                     .PH = g.DH * (g.KH - 1) - g.PH, .PW = g.DW * (g.KW - 1) - g.PW, .DH = g.DH, .DW = g.DW,
                     .OH = g.H, .OW = g.W};
  const int64_t Kf = Og * g.KH * g.KW;
  /* It multiplies the zeros of g's border too, and computes whole rows of
   * the padded width: worth it while that stays within a quarter more
   * multiply-adds than the GEMM it replaces (at 1.6x, the benchmark CNN's
   * second layer, the two routes ran level). */
  bool flipped = !direct && g.SH == 1 && g.SW == 1 && conv_indirect_fits(dt, &gf, Kf) &&
                 4 * Cg * ((gf.OH - 1) * (gf.W + 2 * gf.PW) + gf.OW) * Kf <= 5 * Kc * P * Og;
  ft_tensor *wc = NULL, *gc = NULL;
  float *wf = NULL;
  ptrdiff_t *boff = NULL;
  const size_t wf_bytes = sizeof(float) * (size_t)(G * Cg * Kf);
  ft_status st;
  if ((!direct && !flipped) || Og == 0) ft_k_fill(dt, op, (*out)->numel, 0.0);
  if (Og == 0 || P == 0) return FT_OK;
  FT_CHECK(ft_plain_contiguous(w, &wc));
  if (!conv_plane_nested(&gi_)) {
    FT_CHECK(ft_plain_contiguous(gt, &gc));
    conv_img_of(gc, &gi_);
  }
  conv_images job = {.grad_input = true, .direct = direct, .dt = dt, .es = es, .g = &g, .G = G, .Og = Og, .Cg = Cg,
                     .C = C, .P = P, .Kc = Kc, .HW = HW, .src = ft_data_ptr(gc ? gc : gt), .wp = ft_data_ptr(wc),
                     .si = gi_, .op = op};
  conv_indirect ind;
  if (flipped) { /* a forward convolution of g instead: the image has Og channels, the output Cg */ /* wf[k, c, o, KH-1-ki, KW-1-kj] = w[k * Og + o, c, ki, kj] */
    FT_CHECK(conv_scratch(wf_bytes, (void **)&wf));
    const float *w0 = ft_data_ptr(wc);
    for (int64_t k = 0; k < G; k++)
      for (int64_t c = 0; c < Cg; c++)
        for (int64_t o = 0; o < Og; o++)
          for (int64_t ki = 0; ki < g.KH; ki++)
            for (int64_t kj = 0; kj < g.KW; kj++)
              wf[(((k * Cg + c) * Og + o) * g.KH + (g.KH - 1 - ki)) * g.KW + (g.KW - 1 - kj)] =
                  w0[(((k * Og + o) * Cg + c) * g.KH + ki) * g.KW + kj];
    FT_CHECK(conv_indirect_setup(&ind, &gf, &gi_, Og, Kf, &boff));
    job.grad_input = false;
    job.ind = &ind;
    job.g = &gf;
    job.Og = Cg, job.Cg = Og, job.O = C, job.P = HW, job.Kc = Kf;
    job.wp = (const char *)wf;
  }
  FT_CHECK(conv_images_run(&job));
fail:
  if (boff) ft_pool_free(boff, sizeof *boff * (size_t)Kf);
  if (wf) ft_pool_free(wf, wf_bytes);
  ft_release(wc);
  ft_release(gc);
  if (st) { ft_release(*out); *out = NULL; }
  return st;
}

/* ---- CONV2D_GRAD_WEIGHT ----------------------------------------------------- */

static ft_status eval_grad_weight(ft_tensor *const *in, int nin, const ft_attrs *at, ft_tensor **out) {
  (void)nin;
  char b1[FT_SHAPE_BUF], b2[FT_SHAPE_BUF];
  ft_tensor *gt = in[0], *x = in[1];
  conv_attrs ca;
  FT_TRY(read_attrs(at, 2, &ca, "conv2d_grad_weight"));
  FT_TRY(check_image(gt, "conv2d_grad_weight"));
  FT_TRY(check_image(x, "conv2d_grad_weight"));
  FT_TRY(check_dtypes(gt, x, NULL, "conv2d_grad_weight"));
  int64_t G = ca.p.groups;
  img gi_, xi;
  conv_img_of(gt, &gi_);
  conv_img_of(x, &xi);
  if (gt->ndim != x->ndim || gi_.N != xi.N || gi_.C % G != 0 || xi.C % G != 0 || ca.e0 < 0 || ca.e1 < 0)
    return ft_error(FT_ERR_VALUE, "conv2d_grad_weight: gradient %s and input %s do not match (groups=%lld)",
                    NN_SHAPE(gt, b1), NN_SHAPE(x, b2), (long long)G);
  int64_t O = gi_.C, Og = O / G, Cg = xi.C / G;
  ft_conv_geom g = {.C = Cg, .H = xi.H, .W = xi.W, .KH = ca.e0, .KW = ca.e1, .SH = ca.p.stride[0],
                    .SW = ca.p.stride[1], .PH = ca.p.padding[0], .PW = ca.p.padding[1], .DH = ca.p.dilation[0],
                    .DW = ca.p.dilation[1], .OH = gi_.H, .OW = gi_.W};
  int64_t P = g.OH * g.OW, Kc = Cg * g.KH * g.KW;
  int64_t shape[4] = {O, Cg, g.KH, g.KW};
  FT_TRY(ft_tensor_empty(shape, 4, gt->dtype, out));
  if ((*out)->numel == 0) return FT_OK;
  ft_dtype dt = gt->dtype;
  size_t es = ft_dtype_size(dt);
  char *op = ft_data_ptr(*out);
  ft_k_fill(dt, op, (*out)->numel, 0.0);
  if (P == 0 || xi.N == 0) return FT_OK;
  bool direct = conv_is_pointwise(&g) && conv_plane_nested(&xi);
  /* The GEMM's register tile is 4 x 8: with few output channels (Og < Kc
   * and Og not a multiple of 8) the transposed product gw^T = col @ g^T
   * wastes less of it; it accumulates in a [Kc, Og] scratch per group. */
  int64_t pad_n = (Kc + 7) / 8 * 8 * ((Og + 3) / 4 * 4), pad_t = (Og + 7) / 8 * 8 * ((Kc + 3) / 4 * 4);
  bool transposed = pad_t < pad_n;
  ft_tensor *gc = NULL;
  void *col = NULL, *acc = NULL;
  size_t col_bytes = (size_t)(Kc * P) * es, acc_bytes = (size_t)(G * Kc * Og) * es;
  ft_status st;
  if (!conv_plane_nested(&gi_)) {
    FT_CHECK(ft_plain_contiguous(gt, &gc));
    conv_img_of(gc, &gi_);
  }
  if (!direct && conv_indirect_fits(dt, &g, Kc)) {
    bool done;
    FT_CHECK(conv_grad_weight_indirect(&g, G, Og, Cg, Kc, &gi_, ft_data_ptr(gc ? gc : gt), &xi, ft_data_ptr(x),
                                  (float *)op, &done));
    if (done) goto fail; /* the common exit */
  }
  if (!direct) FT_CHECK(conv_scratch(col_bytes, &col));
  if (transposed) {
    FT_CHECK(conv_scratch(acc_bytes, &acc));
    ft_k_fill(dt, acc, G * Kc * Og, 0.0);
  }
  const char *gp = ft_data_ptr(gc ? gc : gt), *xp = ft_data_ptr(x);
  int64_t xs[3] = {xi.sc, xi.sh, xi.sw};
  for (int64_t n = 0; n < xi.N; n++)
    for (int64_t k = 0; k < G; k++) {
      const char *xg = xp + (ptrdiff_t)(n * xi.sn + k * Cg * xi.sc) * (ptrdiff_t)es;
      const char *A = gp + (ptrdiff_t)(n * gi_.sn + k * Og * gi_.sc) * (ptrdiff_t)es;
      const void *B = xg;
      int64_t rows = xi.sc; /* col's row stride: a channel's plane in the direct case */
      if (!direct) {
        ft_k_im2col(dt, &g, xg, xs, col);
        B = col;
        rows = P;
      }
      if (transposed) /* acc[r, o] += sum_p col[r, p] g[o, p] */
        ft_k_gemm(dt, Kc, Og, P, B, rows, 1, A, 1, gi_.sc, (char *)acc + (size_t)(k * Kc * Og) * es, Og, 1);
      else /* out[o, r] += sum_p g[o, p] col[r, p] */
        ft_k_gemm(dt, Og, Kc, P, A, gi_.sc, 1, B, 1, rows, op + (size_t)(k * Og * Kc) * es, Kc, 1);
    }
  if (transposed) { /* out[k, o, r] = acc[k, r, o] */
    int64_t shp[3] = {G, Og, Kc}, ss[3] = {Kc * Og, 1, Og}, ds[3] = {Og * Kc, Kc, 1};
    ft_k_copy(dt, dt, 3, shp, acc, ss, op, ds);
  }
fail:
  if (col) ft_pool_free(col, col_bytes);
  if (acc) ft_pool_free(acc, acc_bytes);
  ft_release(gc);
  if (st) { ft_release(*out); *out = NULL; }
  return st;
}

/* ---- VJP rules ------------------------------------------------------------- */

static ft_status call_conv(ft_op op, ft_tensor *a, ft_tensor *b, ft_tensor *bias, const ft_conv_params *p, int64_t e0,
                           int64_t e1, ft_tensor **out) {
  ft_attrs at;
  pack_attrs(p, e0, e1, 2, &at);
  ft_tensor *in[3] = {a, b, bias};
  return ft_dispatch(op, bias ? 3 : 2, in, &at, out);
}

static void params_of(const ft_attrs *at, ft_conv_params *p) {
  conv_attrs ca;
  read_attrs(at, 0, &ca, "");
  *p = ca.p;
}

static int64_t last(const int64_t *shape, int nd, int k) { return shape[nd - k]; }

static ft_status cast_to(ft_tensor *t, ft_dtype dt, ft_tensor **out) {
  if (t->dtype == dt) { *out = t; return FT_OK; }
  ft_status st = ft_cast(t, dt, out);
  ft_release(t);
  return st;
}

static ft_status vjp_conv2d(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  ft_conv_params p;
  params_of(c->at, &p);
  const int64_t *xs = FT_IN_SHAPE(c, 0), *ws = FT_IN_SHAPE(c, 1);
  int xn = c->in_ndim[0];
  ft_tensor *t = NULL;
  if (c->need[0]) {
    FT_TRY(call_conv(FT_OP_CONV2D_GRAD_INPUT, g[0], c->in[1], NULL, &p, last(xs, xn, 2), last(xs, xn, 1), &t));
    FT_TRY(cast_to(t, c->in_dtype[0], &gin[0]));
  }
  if (c->need[1]) {
    FT_TRY(call_conv(FT_OP_CONV2D_GRAD_WEIGHT, g[0], c->in[0], NULL, &p, ws[2], ws[3], &t));
    FT_TRY(cast_to(t, c->in_dtype[1], &gin[1]));
  }
  if (c->nin > 2 && c->need[2]) { /* the planes first (contiguous rows), then the batch */
    int64_t hw[2] = {g[0]->ndim - 2, g[0]->ndim - 1}, n0 = 0;
    ft_tensor *s = NULL;
    FT_TRY(ft_sum(g[0], hw, 2, false, &s));
    if (g[0]->ndim == 4) {
      ft_status st = ft_sum(s, &n0, 1, false, &t);
      ft_release(s);
      FT_TRY(st);
    } else {
      t = s;
    }
    FT_TRY(cast_to(t, c->in_dtype[2], &gin[2]));
  }
  return FT_OK;
}

/* y = GI(g, w): linear in g (adjoint: conv2d) and in w (adjoint: GW). */
static ft_status vjp_grad_input(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  ft_conv_params p;
  params_of(c->at, &p);
  const int64_t *gs = FT_IN_SHAPE(c, 0), *ws = FT_IN_SHAPE(c, 1);
  int gn = c->in_ndim[0];
  ft_tensor *t = NULL;
  if (c->need[0]) {
    FT_TRY(call_conv(FT_OP_CONV2D, g[0], c->in[1], NULL, &p, last(gs, gn, 2), last(gs, gn, 1), &t));
    FT_TRY(cast_to(t, c->in_dtype[0], &gin[0]));
  }
  if (c->need[1]) {
    FT_TRY(call_conv(FT_OP_CONV2D_GRAD_WEIGHT, c->in[0], g[0], NULL, &p, ws[2], ws[3], &t));
    FT_TRY(cast_to(t, c->in_dtype[1], &gin[1]));
  }
  return FT_OK;
}

/* gw = GW(g, x): linear in g (adjoint: conv2d of x) and in x (adjoint: GI). */
static ft_status vjp_grad_weight(const ft_vjp_ctx *c, ft_tensor *const *g, ft_tensor **gin) {
  ft_conv_params p;
  params_of(c->at, &p);
  const int64_t *gs = FT_IN_SHAPE(c, 0), *xs = FT_IN_SHAPE(c, 1);
  int gn = c->in_ndim[0], xn = c->in_ndim[1];
  ft_tensor *t = NULL;
  if (c->need[0]) {
    FT_TRY(call_conv(FT_OP_CONV2D, c->in[1], g[0], NULL, &p, last(gs, gn, 2), last(gs, gn, 1), &t));
    FT_TRY(cast_to(t, c->in_dtype[0], &gin[0]));
  }
  if (c->need[1]) {
    FT_TRY(call_conv(FT_OP_CONV2D_GRAD_INPUT, c->in[0], g[0], NULL, &p, last(xs, xn, 2), last(xs, xn, 1), &t));
    FT_TRY(cast_to(t, c->in_dtype[1], &gin[1]));
  }
  return FT_OK;
}

/* ---- JVP rules: every op here is bilinear -------------------------------- */

static ft_status add_into(ft_tensor **acc, ft_tensor *t) {
  if (!*acc) { *acc = t; return FT_OK; }
  ft_tensor *s;
  ft_status st = ft_add(*acc, t, &s);
  ft_release(t);
  ft_release(*acc);
  *acc = st ? NULL : s;
  return st;
}

/* tout = op(ta, b) + op(a, tb) with the op's own extra attributes */
static ft_status jvp_bilinear(ft_op op, ft_tensor *a, ft_tensor *b, ft_tensor *ta, ft_tensor *tb, const ft_attrs *at,
                              ft_tensor **tout) {
  ft_tensor *acc = NULL, *t;
  ft_tensor *in[2];
  if (ta) {
    in[0] = ta; in[1] = b;
    FT_TRY(ft_dispatch(op, 2, in, at, &t));
    FT_TRY(add_into(&acc, t));
  }
  if (tb) {
    in[0] = a; in[1] = tb;
    ft_status st = ft_dispatch(op, 2, in, at, &t);
    if (!st) st = add_into(&acc, t);
    if (st) { ft_release(acc); return st; }
  }
  *tout = acc;
  return FT_OK;
}

static ft_status jvp_conv2d(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                            ft_tensor *const *out, ft_tensor **tout) {
  /* the output size in the attributes keeps each term the size of out */
  ft_attrs a = *at;
  a.ni = 9;
  a.i[7] = out[0]->shape[out[0]->ndim - 2];
  a.i[8] = out[0]->shape[out[0]->ndim - 1];
  FT_TRY(jvp_bilinear(FT_OP_CONV2D, in[0], in[1], t[0], t[1], &a, &tout[0]));
  if (nin > 2 && t[2]) {
    ft_tensor *r;
    int64_t s3[3] = {-1, 1, 1};
    FT_TRY(ft_reshape(t[2], s3, 3, &r));
    ft_tensor *e;
    ft_status st = ft_expand(r, out[0]->shape, out[0]->ndim, &e);
    ft_release(r);
    if (!st) st = add_into(&tout[0], e);
    return st;
  }
  return FT_OK;
}

static ft_status jvp_grad_input(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                                ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)out;
  return jvp_bilinear(FT_OP_CONV2D_GRAD_INPUT, in[0], in[1], t[0], t[1], at, &tout[0]);
}

static ft_status jvp_grad_weight(ft_tensor *const *in, ft_tensor *const *t, int nin, const ft_attrs *at,
                                 ft_tensor *const *out, ft_tensor **tout) {
  (void)nin; (void)out;
  return jvp_bilinear(FT_OP_CONV2D_GRAD_WEIGHT, in[0], in[1], t[0], t[1], at, &tout[0]);
}

/* ---- batching rules --------------------------------------------------------
 * A batch of images folds into N. A batched weight becomes extra groups
 * (functorch's trick): the vmap batch B moves next to the channels of both
 * operands, [N, B * C, H, W] and [B * O, ...], with groups * B. */

/* [N, B * C, H, W] from an image operand (batched or not, 3-D or 4-D logical). */
static ft_status to_group_image(ft_tensor *x, int32_t bdim, int64_t B, ft_tensor **out) {
  ft_tensor *f = NULL, *u = NULL, *m = NULL;
  ft_status st;
  FT_CHECK(ft_nn_bdim_front(x, bdim, B, &f)); /* [B, N?, C, H, W] */
  if (f->ndim == 4) FT_CHECK(ft_unsqueeze(f, 1, &u));
  else { u = f; ft_retain(f); }
  FT_CHECK(ft_movedim(u, 0, 1, &m)); /* [N, B, C, H, W] */
  int64_t s[4] = {m->shape[0], m->shape[1] * m->shape[2], m->shape[3], m->shape[4]};
  FT_CHECK(ft_reshape(m, s, 4, out));
fail:
  ft_release(f); ft_release(u); ft_release(m);
  return st;
}

/* [B * O, ...] from a weight operand. */
static ft_status to_group_weight(ft_tensor *w, int32_t bdim, int64_t B, ft_tensor **out) {
  ft_tensor *f = NULL;
  FT_TRY(ft_nn_bdim_front(w, bdim, B, &f));
  int64_t s[4] = {f->shape[0] * f->shape[1], f->shape[2], f->shape[3], f->shape[4]};
  ft_status st = ft_reshape(f, s, 4, out);
  ft_release(f);
  return st;
}

/* [N, B * C', ...] -> [B, N, C', ...] (or [B, C', ...] for an unbatched-image call). */
static ft_status from_group_image(ft_tensor *r, int64_t B, bool image3, ft_tensor **out) {
  ft_tensor *v = NULL;
  int64_t s[5] = {r->shape[0], B, r->shape[1] / B, r->shape[2], r->shape[3]};
  FT_TRY(ft_reshape(r, s, 5, &v));
  ft_status st;
  if (image3) st = ft_select(v, 0, 0, out);
  else st = ft_movedim(v, 1, 0, out);
  ft_release(v);
  return st;
}

static int logical(const ft_tensor *t, int32_t b) { return b >= 0 ? t->ndim - 1 : t->ndim; }

/* One call of `op` with the batch folded into the groups; an optional bias
 * (batched or not) becomes [B * O] alongside the weight. */
static ft_status batch_grouped(ft_op op, ft_tensor *a, int32_t ba, ft_tensor *w, int32_t bw, ft_tensor *bias,
                               int32_t bb, const ft_attrs *at, int64_t B, ft_tensor **out) {
  ft_tensor *ga = NULL, *gw = NULL, *bf = NULL, *gb = NULL, *r = NULL;
  ft_status st;
  bool image3 = logical(a, ba) == 3;
  FT_CHECK(to_group_image(a, ba, B, &ga));
  FT_CHECK(to_group_weight(w, bw, B, &gw));
  if (bias) {
    FT_CHECK(ft_nn_bdim_front(bias, bb, B, &bf));
    int64_t n = bf->shape[0] * bf->shape[1];
    FT_CHECK(ft_reshape(bf, &n, 1, &gb));
  }
  ft_attrs a2 = *at;
  a2.i[6] *= B;
  ft_tensor *in[3] = {ga, gw, gb};
  FT_CHECK(ft_dispatch(op, bias ? 3 : 2, in, &a2, &r));
  FT_CHECK(from_group_image(r, B, image3, out));
fail:
  ft_release(ga); ft_release(gw); ft_release(bf); ft_release(gb); ft_release(r);
  return st;
}

static ft_status batch_conv2d(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at, int64_t bsize,
                              ft_tensor **out, int32_t *obdim) {
  /* eval's checks, first: this rule reads bdim[1] */
  if (nin < 2 || nin > 3) return ft_error(FT_ERR_VALUE, "conv2d expects 2 or 3 tensor inputs, got %d", nin);
  if (at->ni < 7) return ft_error(FT_ERR_VALUE, "conv2d: expected 7 integer attributes");
  int32_t bb = nin > 2 ? bdim[2] : -1;
  if (bdim[1] < 0 && bb < 0) /* only the images are batched: fold into N */
    return ft_nn_batch_fold(FT_OP_CONV2D, in, bdim, nin, at, bsize, 3, out, obdim);
  obdim[0] = 0;
  return batch_grouped(FT_OP_CONV2D, in[0], bdim[0], in[1], bdim[1], nin > 2 ? in[2] : NULL, bb, at, bsize, out);
}

static ft_status batch_grad_input(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                  int64_t bsize, ft_tensor **out, int32_t *obdim) {
  if (bdim[1] < 0) return ft_nn_batch_fold(FT_OP_CONV2D_GRAD_INPUT, in, bdim, nin, at, bsize, 3, out, obdim);
  obdim[0] = 0;
  return batch_grouped(FT_OP_CONV2D_GRAD_INPUT, in[0], bdim[0], in[1], bdim[1], NULL, -1, at, bsize, out);
}

static ft_status batch_grad_weight(ft_tensor *const *in, const int32_t *bdim, int nin, const ft_attrs *at,
                                   int64_t bsize, ft_tensor **out, int32_t *obdim) {
  (void)nin;
  ft_tensor *gg = NULL, *gx = NULL, *r = NULL;
  ft_status st;
  FT_CHECK(to_group_image(in[0], bdim[0], bsize, &gg));
  FT_CHECK(to_group_image(in[1], bdim[1], bsize, &gx));
  ft_attrs a2 = *at;
  a2.i[6] *= bsize;
  ft_tensor *args[2] = {gg, gx};
  FT_CHECK(ft_dispatch(FT_OP_CONV2D_GRAD_WEIGHT, 2, args, &a2, &r)); /* [B * O, Cg, kh, kw] */
  int64_t s[5] = {bsize, r->shape[0] / bsize, r->shape[1], r->shape[2], r->shape[3]};
  FT_CHECK(ft_reshape(r, s, 5, out));
  obdim[0] = 0;
fail:
  ft_release(gg); ft_release(gx); ft_release(r);
  return st;
}

/* ---- the table entries ---------------------------------------------------- */

#define CONV_FLAGS (FT_F_DIFF | FT_F_SAVE_IN)
const ft_op_def ft_opdef_CONV2D = {"conv2d", 3, 1, CONV_FLAGS | FT_F_VARIADIC, eval_conv2d, vjp_conv2d, jvp_conv2d,
                                   batch_conv2d};
const ft_op_def ft_opdef_CONV2D_GRAD_INPUT = {"conv2d_grad_input", 2, 1, CONV_FLAGS, eval_grad_input,
                                              vjp_grad_input, jvp_grad_input, batch_grad_input};
const ft_op_def ft_opdef_CONV2D_GRAD_WEIGHT = {"conv2d_grad_weight", 2, 1, CONV_FLAGS, eval_grad_weight,
                                               vjp_grad_weight, jvp_grad_weight, batch_grad_weight};

/* ---- the C op API ---------------------------------------------------------- */

ft_status ft_conv2d(ft_tensor *x, ft_tensor *w, ft_tensor *b, const ft_conv_params *p, ft_tensor **out) {
  ft_attrs at;
  pack_attrs(p, 0, 0, 0, &at);
  ft_tensor *in[3] = {x, w, b};
  return ft_dispatch(FT_OP_CONV2D, b ? 3 : 2, in, &at, out);
}

ft_status ft_conv2d_grad_input(ft_tensor *g, ft_tensor *w, const ft_conv_params *p, int64_t h, int64_t wd,
                               ft_tensor **out) {
  return call_conv(FT_OP_CONV2D_GRAD_INPUT, g, w, NULL, p, h, wd, out);
}

ft_status ft_conv2d_grad_weight(ft_tensor *g, ft_tensor *x, const ft_conv_params *p, int64_t kh, int64_t kw,
                                ft_tensor **out) {
  return call_conv(FT_OP_CONV2D_GRAD_WEIGHT, g, x, NULL, p, kh, kw, out);
}
