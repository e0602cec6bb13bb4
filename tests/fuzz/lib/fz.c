/* The harnesses' bookkeeping (fz.h): the input reader's value tables, the
 * status contract, slots, and the end-of-input unwind and leak check. */
#include "fz.h"
#include "core.h"
#include "api/handles.h"
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sanitizers' defaults, so that running a harness binary by hand
 * behaves as scripts/fuzz.mjs does. Allocations over 32 MiB fail (NULL)
 * instead of aborting: the core must turn them into FT_ERR_OOM, as it does
 * when WebAssembly's heap cannot grow, and libFuzzer's own malloc limit
 * (which would report them as crashes) is never reached. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1:max_allocation_size_mb=32:detect_leaks=1:abort_on_error=1:"
         "strict_string_checks=1";
}
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void) { return "print_stacktrace=1:halt_on_error=1"; }

fz_scratch fz_s;

#define HISTORY 8
static struct {
  uint8_t *data[HISTORY];
  size_t size[HISTORY];
  unsigned next;
} g_history;

static void remember(const uint8_t *data, size_t size) {
  unsigned k = g_history.next++ % HISTORY;
  free(g_history.data[k]);
  g_history.data[k] = malloc(size ? size : 1);
  g_history.size[k] = g_history.data[k] ? size : 0;
  if (g_history.data[k] && size) memcpy(g_history.data[k], data, size);
}

void fz_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "\n*** fuzz harness: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  const char *dir = getenv("FZ_HISTORY");
  for (unsigned j = 0; dir && j < HISTORY && j < g_history.next; j++) {
    unsigned k = (g_history.next - 1 - j) % HISTORY;
    char path[4096];
    snprintf(path, sizeof path, "%s/history-%u", dir, j);
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(g_history.data[k], 1, g_history.size[k], f); fclose(f); }
  }
  abort();
}

int32_t fz_int(fz_in *in) {
  static const int32_t extremes[] = {INT32_MIN, INT32_MAX, -65536, 65536, 1 << 20, 100, 16, 9, -9,
                                     31,        32,        63,     64,    -2147483647, 1000, -1000};
  unsigned b = fz_u8(in);
  if (b < 224) return (int32_t)(b % 13) - 4;
  return extremes[b % (sizeof extremes / sizeof extremes[0])];
}

double fz_double(fz_in *in) {
  static const double table[] = {0.0,      1.0,      -1.0,     0.5,      2.0,          -2.0,     1e-5,
                                 0.1,      3.0,      0.9,      100.0,    1e30,         -1e30,    INFINITY,
                                 -INFINITY, NAN,     -0.0,     1e-300,   DBL_MAX,      2147483648.0,
                                 -2147483649.0, 0.25, 4.0,     -0.5,     1e-12,        7.0,      65536.0,
                                 1.5,      -3.0,     0.75,     10.0,     5e-324};
  return table[fz_u8(in) % (sizeof table / sizeof table[0])];
}

void fz_clear_error(void) { ft_error(FT_OK, "%s", ""); }

int fz_trace = -1;

int fz_check(int st, const char *what) {
  if (fz_trace > 0) fprintf(stderr, "  %-20s -> %d %s\n", what, st, st ? ft_api_last_error() : "");
  if (st < 0 || st > FT_ERR_OOM) fz_fail("%s returned %d, not an ft_status", what, st);
  if (st) {
    const char *m = ft_api_last_error();
    if (!m || !m[0]) fz_fail("%s failed with status %d but set no error message", what, st);
    if (!memchr(m, 0, 1024)) fz_fail("%s: the error message is not terminated", what);
  }
  return st;
}

void fz_scratch_bind(void) {
  if (fz_s.in) return;
  char *base = ft_api_scratch_ptr();
  fz_s.in = (int32_t *)(base + ft_api_scratch_layout(0));
  fz_s.out = (int32_t *)(base + ft_api_scratch_layout(1));
  fz_s.i = (int32_t *)(base + ft_api_scratch_layout(2));
  fz_s.shape = (int32_t *)(base + ft_api_scratch_layout(3));
  fz_s.meta = (int32_t *)(base + ft_api_scratch_layout(4));
  fz_s.f = (double *)(base + ft_api_scratch_layout(5));
  fz_s.max_in = ft_api_scratch_layout(6);
  fz_s.meta_stride = ft_api_scratch_layout(7);
  fz_s.max_attr_i = ft_api_scratch_layout(8);
}

static void memory(double *live, double *bytes) {
  ft_api_memory();
  *live = fz_s.f[0];
  *bytes = fz_s.f[1];
}

void fz_begin(fz_state *s, const uint8_t *data, size_t size) {
  remember(data, size);
  if (fz_trace < 0) fz_trace = getenv("FZ_TRACE") != NULL; /* FZ_TRACE=1: print every checked call */
  fz_scratch_bind();
  memset(s, 0, sizeof *s);
  s->op_count = ft_api_op_count();
  ft_api_seed(1234); /* each input runs the same whatever ran before */
  memory(&s->live0, &s->bytes0);
}

static void dispose_leaf(int32_t h);

void fz_end(fz_state *s) {
  /* what a JS program's finally blocks do: innermost first */
  while (s->nlevels > 0) {
    fz_level *lv = &s->level[--s->nlevels];
    fz_clear_error();
    int st = lv->kind == 4 ? ft_api_func_pop(lv->id) : ft_api_level_pop(lv->id);
    if (fz_check(st, "level pop (unwind)")) fz_fail("popping level %d (kind %d) at the end failed: %s", lv->id,
                                                    lv->kind, ft_api_last_error());
  }
  while (s->nnograd > 0) ft_api_no_grad_exit(s->nograd[--s->nnograd]);
  if (!ft_api_grad_enabled()) fz_fail("grad mode is still disabled after every noGrad exited");
  for (int k = 0; k < FZ_SLOTS; k++) fz_drop(s, k);
  while (s->nkept > 0) dispose_leaf(s->kept[--s->nkept]);
  double live, bytes;
  memory(&live, &bytes);
  if (live != s->live0 || bytes != s->bytes0)
    fz_fail("leak: %.0f live tensors and %.0f storage bytes after the input, %.0f and %.0f before", live, bytes,
            s->live0, s->bytes0);
  ft_handles_reset();
}

/* zeroGrad, then dispose: what a program that owns a parameter does last. */
static void dispose_leaf(int32_t h) {
  fz_clear_error();
  fz_check(ft_api_set_grad(h, 0), "zeroGrad");
  ft_api_release(h);
}

void fz_drop(fz_state *s, int k) {
  if (k < 0 || !s->slot[k].h) return;
  int32_t h = s->slot[k].h;
  s->slot[k].h = 0;
  int has_grad = !ft_api_get_grad(h) && fz_s.out[0];
  if (fz_trace > 0) fprintf(stderr, "drop h%d flags %d has_grad %d\n", h, ft_api_grad_flags(h), has_grad);
  if (has_grad) ft_api_release(fz_s.out[0]);
  if ((ft_api_grad_flags(h) & 5) == 5 || has_grad) { /* a parameter: kept (fz_state.kept) */
    if (s->nkept < (int)(sizeof s->kept / sizeof s->kept[0])) { s->kept[s->nkept++] = h; return; }
    dispose_leaf(h);
    return;
  }
  ft_api_release(h);
}

int fz_take(fz_state *s, int j) {
  int32_t h = fz_s.out[j];
  if (!h) return -1;
  const int32_t *m = fz_s.meta + j * fz_s.meta_stride;
  if (m[0] < 0 || m[0] > 3 || m[1] < 0 || m[1] > 16) fz_fail("output %d has a bad meta: dtype %d, ndim %d", j, m[0], m[1]);
  int64_t numel = 1, span = 1; /* span: the dims' product without the zeros (ft_check_shape's limit) */
  for (int k = 0; k < m[1]; k++) {
    if (m[2 + k] < 0) fz_fail("output %d has a negative size %d in dim %d", j, m[2 + k], k);
    numel *= m[2 + k];
    if (m[2 + k] > 1) span *= m[2 + k];
    if (span > ((int64_t)1 << 31)) fz_fail("output %d's sizes multiply past 2^31", j);
  }
  if (numel > FZ_MAX_NUMEL) {
    ft_api_release(h);
    return -1;
  }
  fz_slot t = {.h = h, .dtype = m[0], .ndim = m[1], .numel = numel};
  if (fz_trace > 0) fprintf(stderr, "  -> h%d dtype %d ndim %d numel %lld\n", h, m[0], m[1], (long long)numel);
  memcpy(t.shape, m + 2, sizeof(int32_t) * (size_t)m[1]); /* before fz_drop's calls overwrite the meta */
  /* a free slot, else evict one (which one depends on the handle) */
  int k = 0;
  while (k < FZ_SLOTS && s->slot[k].h) k++;
  if (k == FZ_SLOTS) {
    k = (int)((unsigned)(h ^ (h >> 7)) % FZ_SLOTS);
    fz_drop(s, k);
  }
  s->slot[k] = t;
  return k;
}

int fz_pick(fz_state *s, fz_in *in) {
  int k = (int)fz_below(in, FZ_SLOTS);
  for (int n = 0; n < FZ_SLOTS; n++, k = (k + 1) % FZ_SLOTS)
    if (s->slot[k].h) return k;
  return -1;
}

int fz_pick_like(fz_state *s, fz_in *in, int k) {
  int j = (int)fz_below(in, FZ_SLOTS);
  for (int n = 0; n < FZ_SLOTS; n++, j = (j + 1) % FZ_SLOTS) {
    const fz_slot *a = &s->slot[j], *b = &s->slot[k];
    if (!a->h || a->dtype != b->dtype || a->ndim != b->ndim) continue;
    if (!memcmp(a->shape, b->shape, sizeof(int32_t) * (size_t)a->ndim)) return j;
  }
  return -1;
}
