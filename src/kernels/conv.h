/* Convolution and pooling kernels: im2col / col2im (convolution lowers to
 * ft_k_gemm through them), and the 2-D pooling loops.
 *
 * Conventions (as kernels.h): sizes and strides in elements; F32 and F64;
 * kernels cannot fail (the ops layer validates first); tails are scalar and
 * nothing outside the given extents is read or written.
 *
 * Layouts: one image is [C, H, W]. im2col's matrix `col` is contiguous
 * [C * KH * KW, OH * OW] (row (c, ki, kj), column (oh, ow)), so
 *   out[o, p] = sum_r W[o, r] * col[r, p]
 * is a GEMM with W viewed as [O, C * KH * KW]. Taps that fall in the padding
 * read as zero (im2col) or are dropped (col2im).
 */
#ifndef FT_KERNELS_CONV_H
#define FT_KERNELS_CONV_H

#include <stddef.h>
#include <stdint.h>
#include "torchfunc.h"

typedef struct ft_conv_geom {
  int64_t C, H, W;    /* input channels (of one group), height, width */
  int64_t KH, KW;     /* kernel */
  int64_t SH, SW;     /* stride */
  int64_t PH, PW;     /* padding (top/left; the bottom/right is implied by OH/OW) */
  int64_t DH, DW;     /* dilation */
  int64_t OH, OW;     /* output size: any size, taps past the input read zero */
} ft_conv_geom;

/* col[C*KH*KW, OH*OW] <- patches of x (one image, strides xs = {c, h, w}). */
void ft_k_im2col(ft_dtype dt, const ft_conv_geom *g, const void *x, const int64_t *xs, void *col);

/* x[C, H, W] (contiguous) += the patches in col[C*KH*KW, OH*OW]: the adjoint
 * of im2col. */
void ft_k_col2im(ft_dtype dt, const ft_conv_geom *g, const void *col, void *x);

/* Scalar reference convolution of one image and one group, for tests:
 * y[O, OH, OW] (contiguous) = sum w[O, C, KH, KW] (contiguous) * x (contiguous). */
void ft_k_conv2d_ref(ft_dtype dt, const ft_conv_geom *g, int64_t O, const void *x, const void *w, void *y);

/* ---- the indirect convolution's layouts (float32; ops_nn_conv.c) ---------- */

/* dst[C, Hp, Wp] (contiguous) = src[C, H, W] (strides sc, sh, sw) with a
 * zero border: PH rows above, PW columns left (negative: cropped). */
void ft_k_pad_copy_f32(const float *src, int64_t sc, int64_t sh, int64_t sw, int64_t C, int64_t H, int64_t W,
                       int64_t PH, int64_t PW, int64_t Hp, int64_t Wp, float *dst);

/* gq[q, o] (contiguous [Nw, Og]) = g[o, oh, ow] (strides sc, sh, sw) at
 * q = oh * Wp + ow for ow < OW, and 0 at the other columns of each row:
 * g transposed onto an output grid Wp wide, for q < Nw. */
void ft_k_conv_grid_t_f32(const float *g, int64_t sc, int64_t sh, int64_t sw, int64_t Og, int64_t OH, int64_t OW,
                          int64_t Wp, int64_t Nw, float *gq);

/* ---- pooling: `planes` contiguous [H, W] planes in, [OH, OW] planes out --- */

typedef struct ft_pool_geom {
  int64_t H, W, KH, KW, SH, SW, PH, PW, DH, DW, OH, OW;
} ft_pool_geom;

/* Max over each window (dilated taps inside the input only); idx gets the
 * flat index ih * W + iw of the max within its plane. NaN wins, as in
 * PyTorch; ties keep the first tap. */
void ft_k_maxpool2d(ft_dtype dt, int64_t planes, const ft_pool_geom *g, const void *x, void *y, int32_t *idx);

/* Max pooling's adjoint: gx[planes, hw] (overwritten) receives gy[planes, p]
 * at the flat indices idx[planes, p] (repeated indices accumulate). */
void ft_k_maxpool2d_backward(ft_dtype dt, int64_t planes, int64_t hw, int64_t p, const void *gy, const int32_t *idx,
                             void *gx);

/* Average pool (DH, DW ignored). divisor > 0 overrides the divisor;
 * otherwise count_include_pad chooses between the window clipped to
 * input + padding and the window clipped to the input (PyTorch's rules). */
void ft_k_avgpool2d(ft_dtype dt, int64_t planes, const ft_pool_geom *g, int count_include_pad, int64_t divisor,
                    const void *x, void *y);
/* Its adjoint: gx[planes, H, W] (overwritten) from gy[planes, OH, OW]. */
void ft_k_avgpool2d_backward(ft_dtype dt, int64_t planes, const ft_pool_geom *g, int count_include_pad,
                             int64_t divisor, const void *gy, void *gx);

/* Adaptive average pool: window [floor(o*H/OH), ceil((o+1)*H/OH)) per dim
 * (only H, W, OH, OW of g are used), and its adjoint (gx overwritten). */
void ft_k_adaptive_avgpool2d(ft_dtype dt, int64_t planes, const ft_pool_geom *g, const void *x, void *y);
void ft_k_adaptive_avgpool2d_backward(ft_dtype dt, int64_t planes, const ft_pool_geom *g, const void *gy, void *gx);

#endif
