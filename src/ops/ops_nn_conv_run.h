/* Internal to the convolution ops: ops_nn_conv.c (the evals, checks and
 * rules) and ops_nn_conv_run.c (how the evals run over images). */
#ifndef FT_OPS_NN_CONV_RUN_H
#define FT_OPS_NN_CONV_RUN_H

#include "ops_nn.h"
#include "threads.h" /* FT_MAX_THREADS */

/* An image tensor seen as [N, C, H, W] with the element strides of each dim
 * (the batch stride is 0 for a 3-D image). */
typedef struct {
  int64_t N, C, H, W, sn, sc, sh, sw;
} img;

/* The indirect forward (float32, stride 1, K <= 256): the GEMM reads the
 * image in place through each tap's offset (ft_k_gemm_indirect), computing
 * every output row at the input's full width (Wp columns, the last
 * Wp - OW of each row unused), into a scratch [Og, Nw] that is then
 * compacted into the output. No im2col matrix, which for a 3x3 kernel is
 * 9x the image, and no packing of it: the small CNN's convolutions spent
 * more time building and packing that matrix than multiplying. A padded
 * or non-contiguous image is first copied into a zero-bordered scratch
 * [Cg, Hp, Wp]. The sums are the im2col GEMM's, in the same order. */
typedef struct conv_indirect {
  int64_t Hp, Wp, Nw; /* padded input, and the wide output's columns: (OH - 1) * Wp + OW */
  bool copy;          /* the image goes through the padded scratch */
  ptrdiff_t *boff;    /* [Kc]: tap (c, ki, kj) at c * Hp * Wp + ki * DH * Wp + kj * DW */
} conv_indirect;

/* One image's work: forward (col2im == false) or grad-input (true). */
typedef struct conv_images {
  bool grad_input, direct;
  const conv_indirect *ind; /* forward only: the indirect route, or NULL */
  ft_dtype dt;
  size_t es;
  const ft_conv_geom *g;
  int64_t G, Og, Cg, C, O, P, Kc, HW;
  const char *src, *wp; /* x (forward) or the gradient (grad-input); the weight */
  img si;
  char *op;
  int has_bias;
  int64_t step;
  void *cols[FT_MAX_THREADS];
} conv_images;

void conv_img_of(const ft_tensor *t, img *m);
/* Rows of one channel's plane are one run: the plane is a GEMM row. */
bool conv_plane_nested(const img *m);
/* 1x1, stride 1, unpadded, the usual output size: no im2col at all. */
bool conv_is_pointwise(const ft_conv_geom *g);
/* nbytes from the size-class pool, or an out-of-memory error. */
ft_status conv_scratch(size_t nbytes, void **p);
/* Stride 1, float32, K <= 256 and the usual output size (the rules' larger
 * ones would read past the input). */
bool conv_indirect_fits(ft_dtype dt, const ft_conv_geom *g, int64_t Kc);
/* The indirect route for an image of Cg channels; *boff (Kc entries) from
 * the pool: ft_pool_free it with Kc entries. */
ft_status conv_indirect_setup(conv_indirect *d, const ft_conv_geom *g, const img *xi, int64_t Cg, int64_t Kc,
                              ptrdiff_t **boff);
/* Runs every image of job j, in parallel when that pays. */
ft_status conv_images_run(conv_images *j);
/* CONV2D_GRAD_WEIGHT by the indirect route into out [G * Og, Kc] (zeroed);
 * *done false, with nothing written, when the shapes do not fit. */
ft_status conv_grad_weight_indirect(const ft_conv_geom *g, int64_t G, int64_t Og, int64_t Cg, int64_t Kc,
                                    const img *gi, const float *gp, const img *xi, const float *xp, float *out,
                                    bool *done);

#endif
