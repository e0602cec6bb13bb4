/* Plain tensors (strided views of refcounted storage) and level wrappers. */
#include "core.h"
#include "interp/trace.h"
#include <stdlib.h>

void ft_mem_count_tensor(int delta);

int64_t ft_shape_numel(const int64_t *shape, int ndim) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

void ft_contiguous_strides(const int64_t *shape, int ndim, int64_t *strides) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    strides[i] = s;
    /* Only a tensor with a zero-size dim can get past 2^31 here (its other
     * dims are unchecked); its strides address nothing, so they saturate
     * instead of overflowing. */
    const int64_t cap = (int64_t)1 << 32;
    if (shape[i] > 1) s = shape[i] > cap / s ? cap : s * shape[i];
  }
}

bool ft_is_contiguous(const ft_tensor *t) {
  if (t->numel == 0) return true; /* as PyTorch; and the products below could overflow */
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->strides[i] != s) return false;
    s *= t->shape[i];
  }
  return true;
}

/* Largest element count we accept: keeps byte sizes inside wasm32's 4 GiB
 * and every index computation inside int64 without overflow checks later. */
#define FT_MAX_NUMEL ((int64_t)1 << 31)

ft_status ft_check_shape(const int64_t *shape, int ndim, const char *what) {
  char b[FT_SHAPE_BUF];
  if (ndim < 0 || ndim > FT_MAX_DIMS)
    return ft_error(FT_ERR_VALUE, "%s: at most %d dimensions are supported, got %d", what, FT_MAX_DIMS, ndim);
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return ft_error(FT_ERR_VALUE, "%s: negative dimension %lld in shape %s", what, (long long)shape[i],
                      ft_shape_str(shape, ndim, b, sizeof b));
    /* a zero-size dim does not excuse the others: strides and index
     * arithmetic multiply them whatever the element count */
    if (shape[i] > 1 && n > FT_MAX_NUMEL / shape[i])
      return ft_error(FT_ERR_OOM, "%s: shape %s has too many elements (more than 2^31)", what,
                      ft_shape_str(shape, ndim, b, sizeof b));
    if (shape[i] > 1) n *= shape[i];
  }
  return FT_OK;
}

ft_status ft_wrap_dim(int64_t dim, int ndim, int *out) {
  int64_t n = ndim > 0 ? ndim : 1; /* a 0-d tensor accepts dims -1 and 0, as in PyTorch */
  if (dim < -n || dim >= n)
    return ft_error(FT_ERR_INDEX, "Dimension out of range (expected to be in range of [%lld, %lld], but got %lld)",
                    (long long)-n, (long long)(n - 1), (long long)dim);
  *out = (int)(dim < 0 ? dim + n : dim);
  return FT_OK;
}

ft_status ft_tensor_alloc(ft_tensor **out) {
  ft_tensor *t = ft_pool_alloc(sizeof(ft_tensor));
  if (!t) return ft_error(FT_ERR_OOM, "out of memory allocating a tensor");
  memset(t, 0, sizeof *t);
  t->refcount = 1;
  t->bdim = -1;
  ft_mem_count_tensor(1);
  *out = t;
  return FT_OK;
}

ft_status ft_tensor_empty(const int64_t *shape, int ndim, ft_dtype dt, ft_tensor **out) {
  FT_TRY(ft_check_shape(shape, ndim, "tensor"));
  if ((unsigned)dt >= FT_DTYPE_COUNT) return ft_error(FT_ERR_TYPE, "unknown dtype code %d", (int)dt);
  int64_t n = ft_shape_numel(shape, ndim);
  /* wasm32's size_t is 32 bits: refuse anything over 2 GiB before it can wrap */
  if ((uint64_t)n * ft_dtype_size(dt) > ((uint64_t)1 << 31)) {
    char b[FT_SHAPE_BUF];
    return ft_error(FT_ERR_OOM, "out of memory: a %s tensor of shape %s needs %.1f GiB", ft_dtype_name(dt),
                    ft_shape_str(shape, ndim, b, sizeof b), (double)n * (double)ft_dtype_size(dt) / (1 << 30));
  }
  ft_storage *s;
  FT_TRY(ft_storage_new((size_t)n * ft_dtype_size(dt), &s));
  if (ft_trace_on) ft_trace_new_storage(s); /* func.compile: a tensor made during a trace (trace.c) */
  ft_tensor *t;
  ft_status st = ft_tensor_alloc(&t);
  if (st) { ft_storage_release(s); return st; }
  t->dtype = dt;
  t->ndim = ndim;
  t->numel = n;
  if (ndim) memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
  ft_contiguous_strides(shape, ndim, t->strides);
  t->storage = s;
  *out = t;
  return FT_OK;
}

ft_status ft_tensor_view_of(const ft_tensor *base, const int64_t *shape, const int64_t *strides, int ndim,
                            int64_t offset, ft_tensor **out) {
  if (ndim > FT_MAX_DIMS) return ft_error(FT_ERR_VALUE, "view: too many dimensions (%d)", ndim);
  ft_tensor *t;
  FT_TRY(ft_tensor_alloc(&t));
  t->dtype = base->dtype;
  t->ndim = ndim;
  if (ndim) {
    memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    memcpy(t->strides, strides, sizeof(int64_t) * (size_t)ndim);
  }
  t->numel = ft_shape_numel(shape, ndim);
  t->offset = offset;
  t->storage = base->storage;
  ft_storage_retain(t->storage);
  *out = t;
  return FT_OK;
}

ft_status ft_wrapper_new(int32_t level, ft_tensor *inner, ft_tensor **out) {
  ft_tensor *t;
  FT_TRY(ft_tensor_alloc(&t));
  t->level = level;
  t->dtype = inner->dtype;
  t->ndim = inner->ndim;
  t->numel = inner->numel;
  memcpy(t->shape, inner->shape, sizeof(int64_t) * (size_t)inner->ndim);
  t->inner = inner;
  ft_retain(inner);
  *out = t;
  return FT_OK;
}

void ft_retain(ft_tensor *t) {
  if (t) t->refcount++;
}

void ft_release(ft_tensor *t) {
  /* Wrapper chains are as deep as the level stack; node chains, which can be
   * as long as a training loop, are released iteratively in ft_node_release. */
  while (t && --t->refcount == 0) {
    ft_tensor *next = t->inner;
    if (t->storage) ft_storage_release(t->storage);
    if (t->node) ft_node_release(t->node);
    if (t->grad) ft_release(t->grad);
    if (t->tangent) ft_release(t->tangent);
    ft_mem_count_tensor(-1);
    ft_pool_free(t, sizeof(ft_tensor));
    t = next;
  }
}

/* Turns `t` itself into a wrapper at `level` whose inner holds what t held,
 * so every holder of t sees the new level (requiresGrad_ mutates in place,
 * as in PyTorch; in-place ops lift a captured tensor the same way). */
ft_status ft_wrap_in_place(ft_tensor *t, int32_t level) {
  ft_tensor *inner;
  FT_TRY(ft_tensor_alloc(&inner));
  *inner = *t;
  inner->refcount = 1;
  ft_tensor keep = *t;
  memset(t, 0, sizeof *t);
  t->refcount = keep.refcount;
  t->level = level;
  t->dtype = keep.dtype;
  t->ndim = keep.ndim;
  t->numel = keep.numel;
  memcpy(t->shape, keep.shape, sizeof t->shape);
  t->bdim = -1;
  t->inner = inner;
  ft_trace_rewrapped(t, inner); /* func.compile keys the value's new struct (trace.c) */
  return FT_OK;
}

ft_status ft_check_view_use(const ft_tensor *w, const char *op_name) {
  if (!w->is_view) return FT_OK;
  if (ft_base_value((ft_tensor *)w)->storage->version == w->view_version) return FT_OK;
  return ft_error(FT_ERR_RUNTIME,
                  "%s: a view of a tensor that requires grad (or carries a tangent) was used after its data was "
                  "modified by an in-place operation; its derivative would be wrong. Clone the view before modifying "
                  "the base, or take the view after the in-place operation.", op_name);
}
