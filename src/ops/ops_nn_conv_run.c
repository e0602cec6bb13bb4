/* How the convolution evals (ops_nn_conv.c) run: images one at a time or
 * in parallel over the thread pool, each through an im2col GEMM or the
 * indirect route that reads the image in place, and the weight gradient's
 * indirect route. Raw loops over one op's tensors; the ops, their checks
 * and their rules stay in ops_nn_conv.c. */
#include "ops_nn_conv_run.h"

void conv_img_of(const ft_tensor *t, img *m) {
  int o = t->ndim == 4 ? 1 : 0;
  m->N = o ? t->shape[0] : 1;
  m->sn = o ? t->strides[0] : 0;
  m->C = t->shape[o];
  m->H = t->shape[o + 1];
  m->W = t->shape[o + 2];
  m->sc = t->strides[o];
  m->sh = t->strides[o + 1];
  m->sw = t->strides[o + 2];
}
/* Rows of one channel's plane are one run: the plane is a GEMM row. */
bool conv_plane_nested(const img *m) { return (m->sw == 1 || m->W == 1) && (m->sh == m->W || m->H == 1); }

bool conv_is_pointwise(const ft_conv_geom *g) {
  return g->KH == 1 && g->KW == 1 && g->SH == 1 && g->SW == 1 && g->PH == 0 && g->PW == 0 && g->OH == g->H &&
         g->OW == g->W;
}

ft_status conv_scratch(size_t nbytes, void **p) {
  *p = ft_pool_alloc(nbytes ? nbytes : 1);
  if (!*p) return ft_error(FT_ERR_OOM, "out of memory allocating %zu bytes of convolution scratch", nbytes);
  return FT_OK;
}

/* ---- threads: images in parallel ------------------------------------------------ */

/* A convolution whose per-image GEMM is too small for the GEMM's own split
 * (threads.h) runs its images in parallel instead, each thread with its own
 * im2col buffer and packing buffers. Images write disjoint outputs, so the
 * bits do not depend on the split. (CONV2D_GRAD_WEIGHT sums over images, so
 * it stays a serial loop of GEMMs that split themselves when large.) */
#define FT_CONV_IMAGE_SPLIT_MAX (1 << 20) /* multiply-adds of one image's GEMMs */

/* Stride 1, float32, K <= 256 and the usual output size (the rules' larger
 * ones would read past the input). */
bool conv_indirect_fits(ft_dtype dt, const ft_conv_geom *g, int64_t Kc) {
  return dt == FT_F32 && g->SH == 1 && g->SW == 1 && Kc <= 256 && g->OH == g->H + 2 * g->PH - g->DH * (g->KH - 1) &&
         g->OW == g->W + 2 * g->PW - g->DW * (g->KW - 1);
}

/* The offsets of the taps of an image of Cg channels; *boff from the pool
 * (ft_pool_free with Kc entries). */
ft_status conv_indirect_setup(conv_indirect *d, const ft_conv_geom *g, const img *xi, int64_t Cg, int64_t Kc,
                              ptrdiff_t **boff) {
  FT_TRY(conv_scratch(sizeof **boff * (size_t)Kc, (void **)boff));
  d->Hp = g->H + 2 * g->PH;
  d->Wp = g->W + 2 * g->PW;
  d->Nw = (g->OH - 1) * d->Wp + g->OW;
  d->copy = g->PH || g->PW || xi->sw != 1 || xi->sh != g->W || xi->sc != g->H * g->W;
  d->boff = *boff;
  for (int64_t c = 0, r = 0; c < Cg; c++)
    for (int64_t ki = 0; ki < g->KH; ki++)
      for (int64_t kj = 0; kj < g->KW; kj++, r++) (*boff)[r] = (ptrdiff_t)((c * d->Hp + ki * g->DH) * d->Wp + kj * g->DW);
  return FT_OK;
}

/* Image n, group k, by the indirect route (j->ind). */
static void conv_run_indirect(const conv_images *j, int64_t n, int64_t k, int thread) {
  const conv_indirect *d = j->ind;
  const ft_conv_geom *g = j->g;
  float *wide = j->cols[thread], *pimg = wide + j->Og * d->Nw;
  const float *src = (const float *)j->src + n * j->si.sn + k * j->Cg * j->si.sc;
  if (d->copy) {
    ft_k_pad_copy_f32(src, j->si.sc, j->si.sh, j->si.sw, j->Cg, g->H, g->W, g->PH, g->PW, d->Hp, d->Wp, pimg);
    src = pimg;
  }
  ft_k_gemm_indirect(thread, FT_F32, j->Og, d->Nw, j->Kc, (const float *)j->wp + k * j->Og * j->Kc, j->Kc, 1, src,
                     d->boff, wide, d->Nw, 0);
  float *out = (float *)j->op + (n * j->O + k * j->Og) * j->P;
  for (int64_t o = 0; o < j->Og; o++)
    for (int64_t oh = 0; oh < g->OH; oh++) {
      float *dst = out + o * j->P + oh * g->OW;
      const float *w = wide + o * d->Nw + oh * d->Wp;
      if (j->has_bias)
        for (int64_t ow = 0; ow < g->OW; ow++) dst[ow] += w[ow];
      else
        for (int64_t ow = 0; ow < g->OW; ow++) dst[ow] = w[ow];
    }
}

static void conv_run_images(const conv_images *j, int64_t n0, int64_t n1, int thread) {
  const size_t es = j->es;
  void *col = j->cols[thread];
  int64_t xs[3] = {j->si.sc, j->si.sh, j->si.sw};
  for (int64_t n = n0; n < n1; n++)
    for (int64_t k = 0; k < j->G; k++) {
      if (j->ind) {
        conv_run_indirect(j, n, k, thread);
      } else if (!j->grad_input) {
        const char *xg = j->src + (ptrdiff_t)(n * j->si.sn + k * j->Cg * j->si.sc) * (ptrdiff_t)es;
        const void *B = xg;
        int64_t rsb = j->si.sc;
        if (!j->direct) {
          ft_k_im2col(j->dt, j->g, xg, xs, col);
          B = col;
          rsb = j->P;
        }
        ft_k_gemm_on(thread, j->dt, j->Og, j->P, j->Kc, j->wp + (size_t)(k * j->Og * j->Kc) * es, j->Kc, 1, B, rsb, 1,
                     j->op + (size_t)((n * j->O + k * j->Og) * j->P) * es, j->P, j->has_bias);
      } else {
        const char *A = j->wp + (size_t)(k * j->Og * j->Kc) * es;
        const char *B = j->src + (ptrdiff_t)(n * j->si.sn + k * j->Og * j->si.sc) * (ptrdiff_t)es;
        char *dst = j->op + (size_t)((n * j->C + k * j->Cg) * j->HW) * es;
        if (j->direct) {
          ft_k_gemm_on(thread, j->dt, j->Kc, j->P, j->Og, A, 1, j->Kc, B, j->si.sc, 1, dst, j->HW, 0);
        } else {
          ft_k_gemm_on(thread, j->dt, j->Kc, j->P, j->Og, A, 1, j->Kc, B, j->si.sc, 1, col, j->P, 0);
          ft_k_col2im(j->dt, j->g, col, dst);
        }
      }
    }
}

static void conv_images_task(void *p, int task, int thread) {
  const conv_images *j = p;
  const int64_t lo = task * j->step, hi = lo + j->step < j->si.N ? lo + j->step : j->si.N;
  if (lo < hi) conv_run_images(j, lo, hi, thread);
}

/* Runs every image, in parallel when that pays; im2col buffers come from
 * the pool (one per thread used) and go back before returning. */
ft_status conv_images_run(conv_images *j) {
  const conv_indirect *d = j->ind;
  const size_t col_bytes =
      d ? (size_t)(j->Og * d->Nw + (d->copy ? j->Cg * d->Hp * d->Wp : 0)) * j->es : (size_t)(j->Kc * j->P) * j->es;
  int nt = 1;
  if (ft_threads_can_split() && j->si.N >= 2 && j->G * j->Og * j->P * j->Kc < FT_CONV_IMAGE_SPLIT_MAX) {
    nt = ft_threads_count() < j->si.N ? ft_threads_count() : (int)j->si.N;
    if (!ft_k_gemm_reserve(nt)) nt = 1;
  }
  ft_status st = FT_OK;
  int have = 0;
  for (; (!j->direct || d) && have < nt; have++) {
    j->cols[have] = ft_pool_alloc(col_bytes ? col_bytes : 1);
    if (!j->cols[have]) {
      if (have == 0) {
        st = ft_error(FT_ERR_OOM, "out of memory allocating %zu bytes of convolution scratch", col_bytes);
        goto done;
      }
      break; /* fewer threads, then */
    }
  }
  if (!j->direct || d) nt = have;
  if (nt > 1) {
    j->step = (j->si.N + nt - 1) / nt;
    ft_parallel_for(nt, conv_images_task, j);
  } else {
    conv_run_images(j, 0, j->si.N, 0);
  }
done:
  for (int t = 0; t < have; t++) ft_pool_free(j->cols[t], col_bytes ? col_bytes : 1);
  return st;
}

/* CONV2D_GRAD_WEIGHT in float32 with stride 1 (indirect_fits), without an
 * im2col matrix: per image and group, gw^T[r, o] += sum_q x[off(r) + q] *
 * g'[q, o], with q running over the input-width output grid of the
 * indirect forward (Nw positions; g' is g laid out [q, o] with zeros in the
 * unused columns) and x read in place through the taps' offsets
 * (ft_k_gemm_indirect_a). *done is false, with nothing written, when the
 * shapes do not fit the GEMM's buffers. out is [G * Og, Kc], zeroed. */
ft_status conv_grad_weight_indirect(const ft_conv_geom *g, int64_t G, int64_t Og, int64_t Cg, int64_t Kc,
                                    const img *gi, const float *gp, const img *xi, const float *xp, float *out,
                                    bool *done) {
  *done = false;
  conv_indirect d;
  ptrdiff_t *boff = NULL;
  float *gq = NULL, *acc = NULL, *pimg = NULL;
  FT_TRY(conv_indirect_setup(&d, g, xi, Cg, Kc, &boff));
  const size_t gq_bytes = sizeof(float) * (size_t)(d.Nw * Og), acc_bytes = sizeof(float) * (size_t)(G * Kc * Og),
               img_bytes = sizeof(float) * (size_t)(d.copy ? Cg * d.Hp * d.Wp : 1);
  ft_status st;
  FT_CHECK(conv_scratch(gq_bytes, (void **)&gq));
  FT_CHECK(conv_scratch(acc_bytes, (void **)&acc));
  FT_CHECK(conv_scratch(img_bytes, (void **)&pimg));
  memset(acc, 0, acc_bytes);
  for (int64_t n = 0; n < xi->N; n++)
    for (int64_t k = 0; k < G; k++) {
      const float *gk = gp + n * gi->sn + k * Og * gi->sc, *src = xp + n * xi->sn + k * Cg * xi->sc;
      ft_k_conv_grid_t_f32(gk, gi->sc, gi->sh, gi->sw, Og, g->OH, g->OW, d.Wp, d.Nw, gq);
      if (d.copy) {
        ft_k_pad_copy_f32(src, xi->sc, xi->sh, xi->sw, Cg, g->H, g->W, g->PH, g->PW, d.Hp, d.Wp, pimg);
        src = pimg;
      }
      if (!ft_k_gemm_indirect_a(0, FT_F32, Kc, Og, d.Nw, src, boff, gq, Og, 1, acc + k * Kc * Og, Og, 1)) goto fail;
    }
  for (int64_t k = 0; k < G; k++) /* out[k * Og + o, r] = acc[k, r, o] */
    for (int64_t r = 0; r < Kc; r++)
      for (int64_t o = 0; o < Og; o++) out[(k * Og + o) * Kc + r] = acc[(k * Kc + r) * Og + o];
  *done = true;
fail:
  if (boff) ft_pool_free(boff, sizeof *boff * (size_t)Kc);
  if (gq) ft_pool_free(gq, gq_bytes);
  if (acc) ft_pool_free(acc, acc_bytes);
  if (pimg) ft_pool_free(pimg, img_bytes);
  return st;
}

