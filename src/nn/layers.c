/* Built-in layers' forwards in dispatched ops (layers.h has the descriptor
 * table). Each case mirrors the PyTorch module's forward: the same checks,
 * the same functional call, the same in-place buffer updates. */
#include "layers.h"
#include "../ops/ops_nn.h"
#include <limits.h>
#include <math.h>

static ft_status need(int have_i, int ni, int have_f, int nf, int have_t, int nt, int kind) {
  if (have_i < ni || have_f < nf || have_t < nt)
    return ft_error(FT_ERR_VALUE, "layer kind %d: expected %d ints, %d floats and %d tensors, got %d, %d and %d", kind,
                    ni, nf, nt, have_i, have_f, have_t);
  return FT_OK;
}

/* Pads x for a convolution whose padding (lo, hi) per spatial dim is
 * asymmetric or not zeros-mode; *sym receives the padding left for the
 * convolution itself. The pad list is PyTorch's (last dim first). */
static ft_status conv_prepad(ft_tensor *x, int nsp, const int32_t *lo, const int32_t *hi, int pmode, int64_t *sym,
                             ft_tensor **out) {
  int64_t pads[4];
  bool need_pad = false;
  for (int d = 0; d < nsp; d++) {
    int k = 2 * (nsp - 1 - d);
    if (pmode != 0) {
      pads[k] = lo[d];
      pads[k + 1] = hi[d];
      sym[d] = 0;
      need_pad |= lo[d] != 0 || hi[d] != 0;
    } else { /* zeros: the convolution pads min(lo, hi), F.pad the rest */
      int64_t m = lo[d] < hi[d] ? lo[d] : hi[d];
      pads[k] = lo[d] - m;
      pads[k + 1] = hi[d] - m;
      sym[d] = m;
      need_pad |= lo[d] != hi[d];
    }
  }
  if (!need_pad) { ft_retain(x); *out = x; return FT_OK; }
  return ft_pad(x, pads, 2 * nsp, pmode, 0.0, out);
}

/* CONV1D / CONV2D with either the short descriptor (symmetric zero padding:
 * PyTorch's own conv call) or the long one (padding pairs and a mode). */
static ft_status conv_layer(int kind, const int32_t *i, int ni, ft_tensor *const *t, int nt, ft_tensor *x,
                            ft_tensor **out) {
  bool two = kind == FT_NN_CONV2D, full = ni >= (two ? 10 : 6);
  int nsp = two ? 2 : 1;
  int32_t lo[2] = {0, 0}, hi[2] = {0, 0};
  ft_conv_params p = {.stride = {1, 1}, .dilation = {1, 1}};
  int pmode = 0;
  if (two && full) {
    p.stride[0] = i[0]; p.stride[1] = i[1];
    lo[0] = i[2]; hi[0] = i[3]; lo[1] = i[4]; hi[1] = i[5];
    p.dilation[0] = i[6]; p.dilation[1] = i[7];
    p.groups = i[8];
    pmode = i[9];
  } else if (two) {
    p.stride[0] = i[0]; p.stride[1] = i[1];
    lo[0] = hi[0] = i[2]; lo[1] = hi[1] = i[3];
    p.dilation[0] = i[4]; p.dilation[1] = i[5];
    p.groups = i[6];
  } else if (full) {
    p.stride[0] = i[0];
    lo[0] = i[1]; hi[0] = i[2];
    p.dilation[0] = i[3];
    p.groups = i[4];
    pmode = i[5];
  } else {
    p.stride[0] = i[0];
    lo[0] = hi[0] = i[1];
    p.dilation[0] = i[2];
    p.groups = i[3];
  }
  int64_t sym[2] = {0, 0};
  ft_tensor *xp;
  FT_TRY(conv_prepad(x, nsp, lo, hi, pmode, sym, &xp));
  p.padding[0] = sym[0];
  p.padding[1] = sym[1];
  ft_tensor *b = nt > 1 ? t[1] : NULL;
  ft_status st = two ? ft_conv2d(xp, t[0], b, &p, out) : ft_conv1d(xp, t[0], b, &p, out);
  ft_release(xp);
  return st;
}

static ft_status batch_norm_layer(const int32_t *i, int ni, const double *f, ft_tensor *const *t, int nt,
                                  bool training, ft_tensor *x, ft_tensor **out) {
  static const char *const want[] = {"", "2D or 3D", "4D", "5D"};
  int rank = ni > 1 ? i[1] : 0;
  if (rank >= 1 && rank <= 3) {
    bool ok = rank == 1 ? (x->ndim == 2 || x->ndim == 3) : x->ndim == rank + 2;
    if (!ok) return ft_error(FT_ERR_VALUE, "expected %s input (got %dD input)", want[rank], x->ndim);
  }
  ft_tensor *w = nt > 0 ? t[0] : NULL, *b = nt > 1 ? t[1] : NULL, *rm = nt > 2 ? t[2] : NULL,
            *rv = nt > 3 ? t[3] : NULL, *nbt = nt > 4 ? t[4] : NULL;
  double factor = isnan(f[0]) ? 0.0 : f[0];
  if (training && rm && nbt) { /* num_batches_tracked += 1, outside autograd */
    ft_tensor *d = NULL, *s = NULL;
    ft_status st = ft_detach(nbt, &d);
    if (!st) st = ft_add_scalar(d, 1.0, &s);
    if (!st) st = ft_assign_(nbt, s);
    ft_release(d);
    ft_release(s);
    if (st) return st;
    if (isnan(f[0])) { /* momentum None: the cumulative average */
      ft_tensor *v = ft_base_value(nbt);
      /* a dict may put anything in the slot: read one element of its own dtype */
      if (v->numel < 1) return ft_error(FT_ERR_VALUE, "batch_norm: num_batches_tracked has no elements");
      const void *p = ft_data_ptr(v);
      double n = v->dtype == FT_I32 ? *(const int32_t *)p : v->dtype == FT_F64 ? *(const double *)p
                 : v->dtype == FT_F32 ? *(const float *)p : *(const uint8_t *)p;
      factor = n > 0 ? 1.0 / n : 0.0;
    }
  }
  bool bn_training = ni > 0 ? i[0] != 0 : (training || !rm);
  return ft_batch_norm(x, rm, rv, w, b, bn_training, factor, f[1], out);
}

ft_status ft_nn_layer_forward(int kind, const int32_t *i, int ni, const double *f, int nf, ft_tensor *const *t, int nt,
                              bool training, ft_tensor *x, ft_tensor **out) {
  switch (kind) {
    case FT_NN_IDENTITY:
      ft_retain(x);
      *out = x;
      return FT_OK;
    case FT_NN_LINEAR:
      FT_TRY(need(ni, 0, nf, 0, nt, 1, kind));
      return ft_linear(x, t[0], nt > 1 ? t[1] : NULL, out);
    case FT_NN_CONV1D:
      FT_TRY(need(ni, 4, nf, 0, nt, 1, kind));
      return conv_layer(kind, i, ni, t, nt, x, out);
    case FT_NN_CONV2D:
      FT_TRY(need(ni, 7, nf, 0, nt, 1, kind));
      return conv_layer(kind, i, ni, t, nt, x, out);
    case FT_NN_CONV_TRANSPOSE2D: {
      FT_TRY(need(ni, 9, nf, 0, nt, 1, kind));
      ft_conv_params p = {.stride = {i[0], i[1]}, .padding = {i[2], i[3]}, .dilation = {i[6], i[7]}, .groups = i[8]};
      int64_t op[2] = {i[4], i[5]};
      return ft_conv_transpose2d(x, t[0], nt > 1 ? t[1] : NULL, &p, op, out);
    }
    case FT_NN_MAX_POOL2D: {
      FT_TRY(need(ni, 9, nf, 0, nt, 0, kind));
      int64_t k[2] = {i[0], i[1]}, s[2] = {i[2], i[3]}, p[2] = {i[4], i[5]}, d[2] = {i[6], i[7]};
      return ft_max_pool2d(x, k, s, p, d, i[8] != 0, out, NULL);
    }
    case FT_NN_AVG_POOL2D: {
      FT_TRY(need(ni, 9, nf, 0, nt, 0, kind));
      int64_t k[2] = {i[0], i[1]}, s[2] = {i[2], i[3]}, p[2] = {i[4], i[5]};
      return ft_avg_pool2d(x, k, s, p, i[6] != 0, i[7] != 0, i[8], out);
    }
    case FT_NN_ADAPTIVE_AVG_POOL2D: {
      FT_TRY(need(ni, 2, nf, 0, nt, 0, kind));
      int64_t o[2] = {i[0], i[1]};
      return ft_adaptive_avg_pool2d(x, o, out);
    }
    case FT_NN_BATCH_NORM:
      FT_TRY(need(ni, 0, nf, 2, nt, 0, kind));
      return batch_norm_layer(i, ni, f, t, nt, training, x, out);
    case FT_NN_LAYER_NORM:
      FT_TRY(need(ni, 1, nf, 1, nt, 0, kind));
      return ft_layer_norm(x, i[0], nt > 0 ? t[0] : NULL, nt > 1 ? t[1] : NULL, f[0], out);
    case FT_NN_GROUP_NORM:
      FT_TRY(need(ni, 1, nf, 1, nt, 0, kind));
      return ft_group_norm(x, i[0], nt > 0 ? t[0] : NULL, nt > 1 ? t[1] : NULL, f[0], out);
    case FT_NN_EMBEDDING:
      FT_TRY(need(ni, 1, nf, 0, nt, 1, kind));
      /* the module keeps padding_idx non-negative: a negative one means none */
      return ft_embedding(t[0], x, i[0] < 0 ? INT32_MIN : i[0], out);
    case FT_NN_DROPOUT:
      FT_TRY(need(ni, 0, nf, 1, nt, 0, kind));
      return ft_dropout(x, f[0], training, out);
    case FT_NN_RELU: return ft_relu(x, out);
    case FT_NN_LEAKY_RELU:
      FT_TRY(need(ni, 0, nf, 1, nt, 0, kind));
      return ft_leaky_relu(x, f[0], out);
    case FT_NN_GELU:
      FT_TRY(need(ni, 1, nf, 0, nt, 0, kind));
      return ft_gelu(x, i[0] != 0, out);
    case FT_NN_SILU: return ft_silu(x, out);
    case FT_NN_TANH: return ft_tanh(x, out);
    case FT_NN_SIGMOID: return ft_sigmoid(x, out);
    case FT_NN_SOFTMAX:
      FT_TRY(need(ni, 1, nf, 0, nt, 0, kind));
      return ft_softmax(x, i[0], out);
    case FT_NN_LOG_SOFTMAX:
      FT_TRY(need(ni, 1, nf, 0, nt, 0, kind));
      return ft_log_softmax(x, i[0], out);
    case FT_NN_FLATTEN:
      FT_TRY(need(ni, 2, nf, 0, nt, 0, kind));
      return ft_flatten(x, i[0], i[1], out);
    case FT_NN_ELU:
      FT_TRY(need(ni, 0, nf, 1, nt, 0, kind));
      return ft_elu(x, f[0], out);
    case FT_NN_SOFTPLUS:
      FT_TRY(need(ni, 0, nf, 2, nt, 0, kind));
      return ft_softplus(x, f[0], f[1], out);
    default:
      return ft_error(FT_ERR_VALUE, "unknown layer kind %d", kind);
  }
}

ft_status ft_nn_chain_forward(const ft_nn_layer_desc *layers, int n, ft_tensor *x, ft_tensor **out) {
  ft_tensor *cur = x;
  ft_retain(x);
  for (int k = 0; k < n; k++) {
    const ft_nn_layer_desc *d = &layers[k];
    ft_tensor *next = NULL;
    ft_status st = ft_nn_layer_forward(d->kind, d->ints, d->ni, d->floats, d->nf, d->tensors, d->nt, d->training, cur,
                                       &next);
    ft_release(cur);
    if (st) return st;
    cur = next;
  }
  *out = cur;
  return FT_OK;
}
