/* The safetensors header reader of safetensors.h: the length checks, then
 * json.h's strict parse, then every entry against the format's rules in
 * header order (so the first problem in the file is the one reported),
 * then the tiling of the data buffer, then the table. */
#include "safetensors.h"
#include "json.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_SAFE_INT 9007199254740991ll /* 2^53 - 1: JavaScript's exact integers */

static const struct {
  const char *name;
  int size;      /* bytes; 0 for the sub-byte floats */
  bool readable; /* load() reads it (the JS side decodes it) */
} k_dtypes[FT_ST_DTYPE_COUNT] = {
    [FT_ST_BOOL] = {"BOOL", 1, true},       [FT_ST_F4] = {"F4", 0, false},
    [FT_ST_F6_E2M3] = {"F6_E2M3", 0, false}, [FT_ST_F6_E3M2] = {"F6_E3M2", 0, false},
    [FT_ST_U8] = {"U8", 1, true},           [FT_ST_I8] = {"I8", 1, true},
    [FT_ST_F8_E5M2] = {"F8_E5M2", 1, false}, [FT_ST_F8_E4M3] = {"F8_E4M3", 1, false},
    [FT_ST_F8_E8M0] = {"F8_E8M0", 1, false}, [FT_ST_I16] = {"I16", 2, true},
    [FT_ST_U16] = {"U16", 2, true},         [FT_ST_F16] = {"F16", 2, true},
    [FT_ST_BF16] = {"BF16", 2, true},       [FT_ST_I32] = {"I32", 4, true},
    [FT_ST_U32] = {"U32", 4, true},         [FT_ST_F32] = {"F32", 4, true},
    [FT_ST_C64] = {"C64", 8, false},        [FT_ST_F64] = {"F64", 8, true},
    [FT_ST_I64] = {"I64", 8, true},         [FT_ST_U64] = {"U64", 8, true},
};
/* js/safetensors.js's READ table, in its order (the message lists them so) */
#define SUPPORTED "F32, F64, F16, BF16, I32, I64, U32, U64, I16, U16, I8, U8, BOOL"

const char *ft_st_dtype_name(ft_st_dtype dt) {
  return (unsigned)dt < FT_ST_DTYPE_COUNT ? k_dtypes[dt].name : "";
}
int ft_st_dtype_size(ft_st_dtype dt) { return (unsigned)dt < FT_ST_DTYPE_COUNT ? k_dtypes[dt].size : 0; }

typedef struct reader {
  const char *fname;
  ft_json_doc doc;
} reader;

/* FT_ERR_VALUE with "safetensors.<fname>: <message>". */
static ft_status fail(const reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static ft_status fail(const reader *r, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ft_error(FT_ERR_VALUE, "safetensors.%s: %s", r->fname, msg);
}

/* ---- JSON values as js/safetensors.js described them ------------------------------ */

typedef struct text {
  char s[600];
} text;

static text quoted(const reader *r, uint32_t node) {
  text t;
  const ft_json_node *v = &r->doc.nodes[node];
  ft_json_quote(r->doc.str + v->a, v->b, t.s, sizeof t.s);
  return t;
}

static text describe(const reader *r, uint32_t node) {
  text t;
  const ft_json_node *v = &r->doc.nodes[node];
  switch (v->type) {
    case FT_JSON_NULL: snprintf(t.s, sizeof t.s, "null"); break;
    case FT_JSON_FALSE: snprintf(t.s, sizeof t.s, "false"); break;
    case FT_JSON_TRUE: snprintf(t.s, sizeof t.s, "true"); break;
    case FT_JSON_OBJ: snprintf(t.s, sizeof t.s, "an object"); break;
    case FT_JSON_ARR: snprintf(t.s, sizeof t.s, "an array"); break;
    case FT_JSON_NUM:
      snprintf(t.s, sizeof t.s, "the number %.*s", (int)(v->b < 500 ? v->b : 500), (const char *)r->doc.text + v->a);
      break;
    default: snprintf(t.s, sizeof t.s, "the string %s", quoted(r, node).s); break;
  }
  return t;
}

static bool str_is(const reader *r, uint32_t node, const char *s) {
  const ft_json_node *v = &r->doc.nodes[node];
  size_t n = strlen(s);
  return v->type == FT_JSON_STR && v->b == n && !memcmp(r->doc.str + v->a, s, n);
}

/* The value of member `key` of object node obj, or 0 (node 0 is the root,
 * never a member). */
static uint32_t member(const reader *r, uint32_t obj, const char *key) {
  uint32_t j = obj + 1;
  for (uint32_t m = 0; m < r->doc.nodes[obj].a; m++) {
    if (str_is(r, j, key)) return j + 1;
    j = ft_json_next(&r->doc, j + 1);
  }
  return 0;
}

/* A non-negative integer in JSON integer syntax, at most 2^53 - 1. */
static ft_status header_int(const reader *r, uint32_t node, const char *what, int64_t *out) {
  const ft_json_node *v = &r->doc.nodes[node];
  if (v->type != FT_JSON_NUM) return fail(r, "%s must be a non-negative integer, got %s", what, describe(r, node).s);
  const char *raw = (const char *)r->doc.text + v->a;
  int len = (int)(v->b < 500 ? v->b : 500);
  bool digits = v->b > 0 && (raw[0] != '0' || v->b == 1);
  for (uint32_t k = 0; digits && k < v->b; k++) digits = raw[k] >= '0' && raw[k] <= '9';
  if (!digits) return fail(r, "%s must be a non-negative integer, got %.*s", what, len, raw);
  int64_t x = 0;
  for (uint32_t k = 0; k < v->b; k++) {
    if (k >= 16 || (x = x * 10 + (raw[k] - '0')) > MAX_SAFE_INT) return fail(r, "%s is too large (%.*s)", what, len, raw);
  }
  *out = x;
  return FT_OK;
}

/* ---- entries --------------------------------------------------------------------- */

typedef struct span {
  int64_t begin, end;
  int32_t index; /* header order: ties keep it, as JavaScript's stable sort */
} span;

static int by_offsets(const void *a, const void *b) {
  const span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static int name_cmp(const uint8_t *str, const ft_st_entry *x, const ft_st_entry *y) {
  uint32_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(str + x->name_off, str + y->name_off, n);
  if (c) return c;
  return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

/* Sorts a[0..n) by name (UTF-8 bytes: code point order, as the reference's
 * Rust strings), merging through tmp: qsort has no context argument. */
static void sort_by_name(const uint8_t *str, ft_st_entry *a, ft_st_entry *tmp, size_t n) {
  if (n < 2) return;
  size_t h = n / 2;
  sort_by_name(str, a, tmp, h);
  sort_by_name(str, a + h, tmp, n - h);
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) tmp[k++] = name_cmp(str, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
  while (i < h) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, sizeof(ft_st_entry) * n);
}

static void shape_list(const int64_t *shape, int ndim, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (int k = 0; k < ndim && n < cap; k++) n += (size_t)snprintf(buf + n, cap - n, k ? ",%lld" : "%lld", (long long)shape[k]);
}

/* One tensor entry (object node `info` of member name `key`) into *e. */
static ft_status read_entry(const reader *r, uint32_t key, uint32_t info, uint64_t data_len, ft_st_entry *e) {
  char k[640], what[700];
  snprintf(k, sizeof k, "tensor %s", quoted(r, key).s);
  const ft_json_node *v = &r->doc.nodes[info];
  if (v->type != FT_JSON_OBJ)
    return fail(r, "%s: expected an object with dtype, shape and data_offsets, got %s", k, describe(r, info).s);
  static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
  uint32_t f[3];
  for (int j = 0; j < 3; j++)
    if (!(f[j] = member(r, info, fields[j]))) return fail(r, "%s: missing field '%s'", k, fields[j]);
  /* dtype */
  const ft_json_node *dt = &r->doc.nodes[f[0]];
  if (dt->type != FT_JSON_STR) return fail(r, "%s: dtype must be a string, got %s", k, describe(r, f[0]).s);
  int code = -1;
  for (int c = 0; c < FT_ST_DTYPE_COUNT && code < 0; c++)
    if (str_is(r, f[0], k_dtypes[c].name)) code = c;
  if (code < 0) return fail(r, "%s: unknown dtype %s", k, quoted(r, f[0]).s);
  if (!k_dtypes[code].readable)
    return fail(r, "%s: dtype %s is not supported (supported: %s)", k, k_dtypes[code].name, SUPPORTED);
  /* shape */
  const ft_json_node *sh = &r->doc.nodes[f[1]];
  if (sh->type != FT_JSON_ARR) return fail(r, "%s: shape must be an array, got %s", k, describe(r, f[1]).s);
  if (sh->a > FT_ST_MAX_DIMS)
    return fail(r, "%s: shape has %u dimensions; tensors have at most %d", k, sh->a, FT_ST_MAX_DIMS);
  memset(e, 0, sizeof *e);
  e->ndim = (int32_t)sh->a;
  e->dtype = code;
  for (uint32_t d = 0, j = f[1] + 1; d < sh->a; d++, j = ft_json_next(&r->doc, j)) {
    snprintf(what, sizeof what, "%s: shape[%u]", k, d);
    FT_TRY(header_int(r, j, what, &e->shape[d]));
  }
  /* data_offsets */
  const ft_json_node *of = &r->doc.nodes[f[2]];
  if (of->type != FT_JSON_ARR || of->a != 2) {
    char len[32] = "";
    if (of->type == FT_JSON_ARR) snprintf(len, sizeof len, " of length %u", of->a);
    return fail(r, "%s: data_offsets must be an array [begin, end], got %s%s", k, describe(r, f[2]).s, len);
  }
  uint32_t j0 = f[2] + 1, j1 = ft_json_next(&r->doc, j0);
  snprintf(what, sizeof what, "%s: data_offsets[0]", k);
  FT_TRY(header_int(r, j0, what, &e->begin));
  snprintf(what, sizeof what, "%s: data_offsets[1]", k);
  FT_TRY(header_int(r, j1, what, &e->end));
  long long b = e->begin, x = e->end;
  if (x < b) return fail(r, "%s: data_offsets [%lld, %lld] end before they begin", k, b, x);
  if ((uint64_t)x > data_len)
    return fail(r, "%s: data_offsets [%lld, %lld] are out of range (the data buffer is %llu bytes)", k, b, x,
                (unsigned long long)data_len);
  /* bytes = numel * size, exact while at most 2^53 - 1 (a zero dim makes it 0) */
  int64_t nbytes = k_dtypes[code].size;
  bool big = false, zero = false;
  for (int d = 0; d < e->ndim; d++) {
    if (e->shape[d] == 0) zero = true;
    else if (nbytes > MAX_SAFE_INT / e->shape[d]) big = true;
    else nbytes *= e->shape[d];
  }
  char sl[200];
  shape_list(e->shape, e->ndim, sl, sizeof sl);
  if (zero) nbytes = 0;
  else if (big) return fail(r, "%s: shape [%s] overflows", k, sl);
  if (nbytes != x - b)
    return fail(r, "%s: shape [%s] of %s needs %lld bytes, but data_offsets [%lld, %lld] hold %lld", k, sl,
                k_dtypes[code].name, (long long)nbytes, b, x, x - b);
  const ft_json_node *kn = &r->doc.nodes[key];
  e->name_off = kn->a;
  e->name_len = kn->b;
  return FT_OK;
}

/* The entries must tile the data buffer: sorted by offsets, each begins
 * where the previous one ended, the last one ends at the end. */
static ft_status check_tiling(const reader *r, const ft_st_entry *ent, int count, uint64_t data_len) {
  span *s = malloc(sizeof(span) * (size_t)(count ? count : 1));
  if (!s) return ft_error(FT_ERR_OOM, "safetensors.%s: out of memory", r->fname);
  for (int k = 0; k < count; k++) s[k] = (span){ent[k].begin, ent[k].end, k};
  qsort(s, (size_t)count, sizeof(span), by_offsets);
  ft_status st = FT_OK;
  long long pos = 0;
  const ft_st_entry *prev = NULL;
  for (int k = 0; k < count && !st; k++) {
    const ft_st_entry *e = &ent[s[k].index];
    char q1[512], q2[512];
    ft_json_quote(r->doc.str + e->name_off, e->name_len, q1, sizeof q1);
    if (e->begin < pos) {
      ft_json_quote(r->doc.str + prev->name_off, prev->name_len, q2, sizeof q2);
      st = fail(r, "tensor %s: data_offsets [%lld, %lld] overlap tensor %s [%lld, %lld]", q1, (long long)e->begin,
                (long long)e->end, q2, (long long)prev->begin, (long long)prev->end);
    } else if (e->begin > pos) {
      st = fail(r, "tensor %s: data bytes [%lld, %lld) before it are not covered by any tensor", q1, pos,
                (long long)e->begin);
    }
    pos = e->end;
    prev = e;
  }
  free(s);
  if (!st && (uint64_t)pos != data_len)
    st = fail(r, "data bytes [%lld, %llu) at the end of the file are not covered by any tensor", pos,
              (unsigned long long)data_len);
  return st;
}

/* "__metadata__": null, or an object of strings. */
static ft_status check_metadata(const reader *r, uint32_t val) {
  const ft_json_node *v = &r->doc.nodes[val];
  if (v->type != FT_JSON_OBJ)
    return fail(r, "\"__metadata__\" must be an object of strings, got %s", describe(r, val).s);
  for (uint32_t m = 0, j = val + 1; m < v->a; m++, j = ft_json_next(&r->doc, j + 1))
    if (r->doc.nodes[j + 1].type != FT_JSON_STR)
      return fail(r, "\"__metadata__\" value for %s must be a string, got %s", quoted(r, j).s, describe(r, j + 1).s);
  return FT_OK;
}

/* ---- the table ------------------------------------------------------------------- */

static ft_status make_table(const reader *r, ft_st_entry *ent, int count, uint32_t meta, uint64_t data_start,
                            ft_st_table **out) {
  int nmeta = meta ? (int)r->doc.nodes[meta].a : -1;
  size_t eo = sizeof(ft_st_table), mo = eo + sizeof(ft_st_entry) * (size_t)count;
  size_t so = mo + sizeof(ft_st_meta) * (size_t)(nmeta > 0 ? nmeta : 0), total = so + r->doc.nstr;
  if (total > UINT32_MAX) return ft_error(FT_ERR_OOM, "safetensors.%s: the header's table is too large", r->fname);
  char *p = malloc(total);
  if (!p) return ft_error(FT_ERR_OOM, "safetensors.%s: out of memory for the header's table", r->fname);
  ft_st_table *t = (ft_st_table *)p;
  *t = (ft_st_table){.data_start = (int64_t)data_start, .count = count, .nmeta = nmeta, .entries_off = (uint32_t)eo,
                     .meta_off = (uint32_t)mo, .strings_off = (uint32_t)so, .total_bytes = (uint32_t)total};
  /* the table's entry space is the merge buffer */
  sort_by_name(r->doc.str, ent, (ft_st_entry *)(p + eo), (size_t)count);
  if (count) memcpy(p + eo, ent, sizeof(ft_st_entry) * (size_t)count);
  ft_st_meta *pairs = (ft_st_meta *)(p + mo);
  for (int m = 0, j = (int)meta + 1; m < nmeta; m++, j = (int)ft_json_next(&r->doc, (uint32_t)j + 1)) {
    const ft_json_node *kn = &r->doc.nodes[j], *vn = &r->doc.nodes[j + 1];
    pairs[m] = (ft_st_meta){kn->a, kn->b, vn->a, vn->b};
  }
  if (r->doc.nstr) memcpy(p + so, r->doc.str, r->doc.nstr);
  *out = t;
  return FT_OK;
}

ft_status ft_st_parse(const uint8_t *buf, size_t avail, uint64_t file_len, const char *fname, ft_st_table **out) {
  reader r = {.fname = fname};
  *out = NULL;
  unsigned long long len = (unsigned long long)file_len;
  if (file_len < 8) return fail(&r, "the file is %llu bytes, too short for the 8-byte header length", len);
  if (avail < 8) return fail(&r, "internal error: the first 8 bytes were not given");
  uint64_t n = 0;
  for (int k = 7; k >= 0; k--) n = n << 8 | buf[k];
  if (n > FT_ST_MAX_HEADER)
    return fail(&r, "header length %llu exceeds the %d-byte limit", (unsigned long long)n, FT_ST_MAX_HEADER);
  if (8 + n > file_len)
    return fail(&r, "header length %llu runs past the end of the file (%llu bytes)", (unsigned long long)n, len);
  if (avail < 8 + n) return fail(&r, "internal error: only %zu of the header's bytes were given", avail);
  const uint8_t *h = buf + 8;
  if (n == 0 || h[0] != '{') return fail(&r, "the header does not start with '{' (not a safetensors file?)");
  if (!ft_utf8_valid(h, (size_t)n)) return fail(&r, "the header is not valid UTF-8");

  ft_st_entry *ent = NULL;
  ft_status st = ft_json_parse(&r.doc, h, (size_t)n, FT_ST_MAX_DEPTH);
  if (st == FT_ERR_VALUE)
    st = fail(&r, "the header is not valid JSON: %s at character %zu", r.doc.err, ft_utf16_index(h, r.doc.err_pos));
  if (st) goto done;
  const ft_json_node *root = &r.doc.nodes[0];
  if (root->type != FT_JSON_OBJ) { /* unreachable after the '{' check; kept for the contract */
    st = fail(&r, "the header must be a JSON object, got %s", describe(&r, 0).s);
    goto done;
  }
  uint64_t data_start = 8 + n, data_len = file_len - data_start;
  ent = malloc(sizeof(ft_st_entry) * (root->a ? root->a : 1));
  if (!ent) { st = ft_error(FT_ERR_OOM, "safetensors.%s: out of memory", fname); goto done; }
  int count = 0;
  uint32_t meta = 0;
  for (uint32_t m = 0, j = 1; m < root->a; m++, j = ft_json_next(&r.doc, j + 1)) {
    if (str_is(&r, j, "__metadata__")) {
      if (r.doc.nodes[j + 1].type == FT_JSON_NULL) continue;
      if ((st = check_metadata(&r, j + 1))) goto done;
      meta = j + 1;
      continue;
    }
    if ((st = read_entry(&r, j, j + 1, data_len, &ent[count]))) goto done;
    ent[count].index = count;
    count++;
  }
  if ((st = check_tiling(&r, ent, count, data_len))) goto done;
  st = make_table(&r, ent, count, meta, data_start, out);
done:
  free(ent);
  ft_json_free(&r.doc);
  return st;
}

void ft_st_free(ft_st_table *t) { free(t); }
