/* Size-class pool for tensor storage and tensor structs, so that a steady
 * training loop does no malloc after warm-up (DESIGN.md, "Performance model").
 * Classes are powers of two from 64 bytes; each keeps a free list of blocks
 * threaded through their first word. Blocks above FT_POOL_MAX_CLASS go
 * straight to malloc. Data is 16-byte aligned (malloc's guarantee here). */
#include "core.h"
#include <stdlib.h>

#define FT_POOL_MIN_SHIFT 6
#define FT_POOL_CLASSES 26 /* 64 B .. 2 GiB */
#define FT_POOL_MAX_CACHED_BYTES ((int64_t)256 << 20)

typedef struct ft_pool {
  void *free_list[FT_POOL_CLASSES];
  int64_t cached_bytes;
  int64_t live_storage_bytes;
  int64_t live_tensors;
} ft_pool;

static ft_pool g_pool;

static int size_class_of(size_t n) {
  int c = 0;
  size_t cap = (size_t)1 << FT_POOL_MIN_SHIFT;
  while (cap < n && c < FT_POOL_CLASSES) { cap <<= 1; c++; }
  return c < FT_POOL_CLASSES ? c : -1;
}

void *ft_pool_alloc(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
#ifdef FT_NO_POOL /* the fuzz build (CMakeLists.txt FT_FUZZ): ASan must see every free */
  return malloc(nbytes);
#endif
  int c = size_class_of(nbytes);
  if (c < 0) return malloc(nbytes);
  void *p = g_pool.free_list[c];
  size_t cap = (size_t)1 << (c + FT_POOL_MIN_SHIFT);
  if (p) {
    g_pool.free_list[c] = *(void **)p;
    g_pool.cached_bytes -= (int64_t)cap;
    return p;
  }
  p = malloc(cap);
  if (!p) { /* give cached blocks back and try once more */
    ft_mem_trim();
    p = malloc(cap);
  }
  return p;
}

void ft_pool_free(void *p, size_t nbytes) {
  if (!p) return;
#ifdef FT_NO_POOL
  free(p);
  return;
#endif
  if (nbytes == 0) nbytes = 1;
  int size_class = size_class_of(nbytes);
  if (size_class < 0) { free(p); return; }
  size_t cap = (size_t)1 << (size_class + FT_POOL_MIN_SHIFT);
  if (g_pool.cached_bytes + (int64_t)cap > FT_POOL_MAX_CACHED_BYTES) { free(p); return; }
  *(void **)p = g_pool.free_list[size_class];
  g_pool.free_list[size_class] = p;
  g_pool.cached_bytes += (int64_t)cap;
}

void ft_mem_trim(void) {
  for (int c = 0; c < FT_POOL_CLASSES; c++) {
    void *p = g_pool.free_list[c];
    while (p) { void *n = *(void **)p; free(p); p = n; }
    g_pool.free_list[c] = NULL;
  }
  g_pool.cached_bytes = 0;
}

ft_status ft_storage_new(size_t nbytes, ft_storage **out) {
  ft_storage *s = ft_pool_alloc(sizeof(ft_storage));
  if (!s) return ft_error(FT_ERR_OOM, "out of memory allocating a storage header");
  void *d = ft_pool_alloc(nbytes);
  if (!d) {
    ft_pool_free(s, sizeof(ft_storage));
    return ft_error(FT_ERR_OOM, "out of memory allocating %zu bytes of tensor storage", nbytes);
  }
  s->refcount = 1;
  s->nbytes = nbytes;
  s->data = d;
  g_pool.live_storage_bytes += (int64_t)nbytes;
  *out = s;
  return FT_OK;
}

void ft_storage_retain(ft_storage *s) { s->refcount++; }

void ft_storage_release(ft_storage *s) {
  if (!s || --s->refcount > 0) return;
  g_pool.live_storage_bytes -= (int64_t)s->nbytes;
  ft_pool_free(s->data, s->nbytes);
  ft_pool_free(s, sizeof(ft_storage));
}

int64_t ft_mem_storage_bytes(void) { return g_pool.live_storage_bytes; }
int64_t ft_mem_live_tensors(void) { return g_pool.live_tensors; }
void ft_mem_count_tensor(int delta) { g_pool.live_tensors += delta; }
