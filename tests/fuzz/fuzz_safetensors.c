/* Fuzz target: the safetensors header reader (src/io/safetensors.c) on
 * random bytes, through the export js/safetensors.js calls
 * (ft_api_st_parse), given the header prefix as JavaScript copies it into
 * the heap, and directly with the whole file. Either call must fail with a
 * "safetensors.load: ..." message or return a table that keeps every
 * promise of safetensors.h: entries sorted by name, readable dtypes, at most
 * 8 dims, offsets in range and tiling the data exactly with dtype x shape
 * bytes each, names and metadata inside the table. Both calls must agree. */
#include "fz.h"
#include "core.h"
#include "io/safetensors.h"
#include <stdio.h>
#include <string.h>

int ft_api_st_parse(const uint8_t *bytes, double avail, double file_len, int fname);
void ft_api_st_free(void *table);

static void check_table(const ft_st_table *t, size_t size) {
  const char *p = (const char *)t;
  if (t->count < 0 || t->nmeta < -1 || t->data_start < 8 || (uint64_t)t->data_start > size)
    fz_fail("bad table header: count %d, nmeta %d, data_start %lld", t->count, t->nmeta, (long long)t->data_start);
  size_t strings = t->total_bytes - t->strings_off;
  if (t->entries_off != sizeof(ft_st_table) ||
      t->meta_off != t->entries_off + sizeof(ft_st_entry) * (size_t)t->count ||
      t->strings_off != t->meta_off + sizeof(ft_st_meta) * (size_t)(t->nmeta > 0 ? t->nmeta : 0) ||
      t->strings_off > t->total_bytes)
    fz_fail("bad table layout");
  const ft_st_entry *e = (const ft_st_entry *)(p + t->entries_off);
  const uint8_t *str = (const uint8_t *)(p + t->strings_off);
  int64_t data_len = (int64_t)size - t->data_start, covered = 0;
  for (int k = 0; k < t->count; k++) {
    if ((size_t)e[k].name_off + e[k].name_len > strings) fz_fail("entry %d's name is outside the table", k);
    if (k) {
      uint32_t n = e[k].name_len < e[k - 1].name_len ? e[k].name_len : e[k - 1].name_len;
      int c = memcmp(str + e[k - 1].name_off, str + e[k].name_off, n);
      if (c > 0 || (c == 0 && e[k - 1].name_len >= e[k].name_len)) fz_fail("entries %d and %d are not in name order", k - 1, k);
    }
    int size_of = ft_st_dtype_size((ft_st_dtype)e[k].dtype);
    if (e[k].dtype < 0 || e[k].dtype >= FT_ST_DTYPE_COUNT || size_of == 0) fz_fail("entry %d: bad dtype %d", k, e[k].dtype);
    if (e[k].ndim < 0 || e[k].ndim > FT_ST_MAX_DIMS) fz_fail("entry %d: %d dims", k, e[k].ndim);
    if (e[k].begin < 0 || e[k].end < e[k].begin || e[k].end > data_len) fz_fail("entry %d: offsets out of range", k);
    int64_t nbytes = size_of;
    for (int d = 0; d < e[k].ndim; d++) nbytes = e[k].shape[d] == 0 || nbytes == 0 ? 0 : nbytes * e[k].shape[d];
    if (nbytes != e[k].end - e[k].begin) fz_fail("entry %d: %lld bytes for [%lld, %lld)", k, (long long)nbytes,
                                                 (long long)e[k].begin, (long long)e[k].end);
    covered += e[k].end - e[k].begin;
  }
  /* exact tiling: no overlap (pairwise, small tables only) and full cover */
  if (covered != data_len) fz_fail("entries cover %lld of %lld data bytes", (long long)covered, (long long)data_len);
  for (int a = 0; a < t->count && t->count <= 64; a++)
    for (int b = a + 1; b < t->count; b++)
      if (e[a].begin < e[b].end && e[b].begin < e[a].end) fz_fail("entries %d and %d overlap", a, b);
  const ft_st_meta *m = (const ft_st_meta *)(p + t->meta_off);
  for (int k = 0; k < t->nmeta; k++)
    if ((size_t)m[k].key_off + m[k].key_len > strings || (size_t)m[k].value_off + m[k].value_len > strings)
      fz_fail("metadata pair %d is outside the table", k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_scratch_bind();
  /* as js/safetensors.js: only the length prefix and the header reach the heap */
  size_t avail = size < 8 ? size : 8;
  if (size >= 8) {
    uint64_t n = 0;
    for (int k = 7; k >= 0; k--) n = n << 8 | data[k];
    if (n <= FT_ST_MAX_HEADER && 8 + n <= size) avail = 8 + (size_t)n;
  }
  fz_clear_error();
  int st = fz_check(ft_api_st_parse(data, (double)avail, (double)size, 0), "safetensors parse");
  char first[1024];
  snprintf(first, sizeof first, "%s", st ? ft_api_last_error() : "");
  if (st && strncmp(first, "safetensors.load: ", 18)) fz_fail("unprefixed message: %s", first);
  ft_st_table *t = NULL;
  if (!st) {
    t = (ft_st_table *)(uintptr_t)fz_s.f[0];
    check_table(t, size);
    ft_api_st_free(t);
  }
  /* the whole file at once: the same verdict */
  fz_clear_error();
  int st2 = fz_check(ft_st_parse(data, size, size, "load", &t), "safetensors parse (whole file)");
  if (st2 != st || (st && strcmp(first, ft_api_last_error())))
    fz_fail("the two calls disagree: %d '%s' vs %d '%s'", st, first, st2, st2 ? ft_api_last_error() : "");
  if (!st2) {
    check_table(t, size);
    ft_st_free(t);
  } else if (t) {
    fz_fail("a failed parse returned a table");
  }
  return 0;
}
