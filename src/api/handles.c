/* Native handle table (handles.h): an array from handle to (obfuscated)
 * tensor address, and an open-addressing hash from address to handle.
 * Addresses are stored complemented so that LeakSanitizer does not count the
 * table as a reference to a tensor the core has leaked. */
#include "handles.h"

#ifdef FT_HANDLE_TABLE
#include <stdio.h>
#include <stdlib.h>

typedef struct ft_handles {
  uintptr_t *addr; /* [cap]: ~address of handle k (k >= 1) */
  int32_t count;   /* handles given out: 1..count */
  int32_t cap;
  int32_t *hash; /* [hcap]: handle, or 0 for an empty slot */
  size_t hcap;   /* a power of two, at least 2 * cap */
} ft_handles;

static ft_handles g_h;

static size_t slot_of(uintptr_t a, size_t hcap) {
  uint64_t x = (uint64_t)a * 0x9E3779B97F4A7C15ull; /* Fibonacci hashing */
  return (size_t)(x >> 17) & (hcap - 1);
}

static void die_oom(void) {
  fprintf(stderr, "torchfunc: out of memory growing the native handle table\n");
  abort();
}

static void grow(void) {
  int32_t cap = g_h.cap ? g_h.cap * 2 : 1024;
  uintptr_t *addr = realloc(g_h.addr, sizeof(uintptr_t) * (size_t)cap);
  if (!addr) die_oom();
  g_h.addr = addr;
  g_h.cap = cap;
  size_t hcap = (size_t)cap * 2;
  int32_t *hash = calloc(hcap, sizeof(int32_t));
  if (!hash) die_oom();
  for (int32_t k = 1; k <= g_h.count; k++) {
    size_t s = slot_of(g_h.addr[k], hcap);
    while (hash[s]) s = (s + 1) & (hcap - 1);
    hash[s] = k;
  }
  free(g_h.hash);
  g_h.hash = hash;
  g_h.hcap = hcap;
}

ft_tensor *ft_handle_tensor(int32_t h) {
  if (h <= 0 || h > g_h.count) return NULL;
  return (ft_tensor *)~g_h.addr[h];
}

int32_t ft_handle_of(ft_tensor *t) {
  if (!t) return 0;
  uintptr_t a = ~(uintptr_t)t;
  if (g_h.hcap) {
    for (size_t s = slot_of(a, g_h.hcap); g_h.hash[s]; s = (s + 1) & (g_h.hcap - 1))
      if (g_h.addr[g_h.hash[s]] == a) return g_h.hash[s];
  }
  if (g_h.count + 1 >= g_h.cap) {
    if (g_h.cap >= INT32_MAX / 4) die_oom();
    grow();
  }
  int32_t h = ++g_h.count;
  g_h.addr[h] = a;
  size_t s = slot_of(a, g_h.hcap);
  while (g_h.hash[s]) s = (s + 1) & (g_h.hcap - 1);
  g_h.hash[s] = h;
  return h;
}

void ft_handles_reset(void) {
  free(g_h.addr);
  free(g_h.hash);
  g_h = (ft_handles){0};
}
#else
typedef int ft_handles_unused; /* WebAssembly: handles are addresses (handles.h) */
#endif
