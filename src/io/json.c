/* The strict JSON reader of json.h: recursive descent bounded by the
 * nesting limit, nodes and unescaped strings appended to growing arrays,
 * and a hash set of (object, key) pairs for duplicate keys. Error offsets
 * and words follow the JavaScript reader this replaces, so that a broken
 * header gets the same message from either. */
#include "json.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct parser {
  ft_json_doc *d;
  size_t i;
  int max_depth;
} parser;

/* A syntax error at byte `pos`: the caller formats the message. */
static ft_status syntax(parser *p, size_t pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static ft_status syntax(parser *p, size_t pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->d->err, sizeof p->d->err, fmt, ap);
  va_end(ap);
  p->d->err_pos = pos;
  return FT_ERR_VALUE;
}

static ft_status oom(void) { return ft_error(FT_ERR_OOM, "out of memory reading a JSON header"); }

static inline int at(const parser *p, size_t k) { return k < p->d->n ? p->d->text[k] : -1; }

static void ws(parser *p) {
  const uint8_t *s = p->d->text;
  size_t n = p->d->n;
  while (p->i < n && (s[p->i] == ' ' || s[p->i] == '\n' || s[p->i] == '\r' || s[p->i] == '\t')) p->i++;
}

static ft_status push_node(parser *p, uint32_t type, uint32_t a, uint32_t b, uint32_t *idx) {
  ft_json_doc *d = p->d;
  if (d->nnodes == d->node_cap) {
    if (d->node_cap >= UINT32_MAX / 2) return oom();
    uint32_t cap = d->node_cap ? d->node_cap * 2 : 64;
    ft_json_node *v = realloc(d->nodes, sizeof(ft_json_node) * cap);
    if (!v) return oom();
    d->nodes = v;
    d->node_cap = cap;
  }
  d->nodes[d->nnodes] = (ft_json_node){type, a, b};
  *idx = d->nnodes++;
  return FT_OK;
}

static ft_status put_bytes(ft_json_doc *d, const uint8_t *b, size_t len) {
  if (d->nstr + len > d->str_cap) {
    size_t cap = d->str_cap ? d->str_cap : 256;
    while (cap < d->nstr + len) cap *= 2;
    uint8_t *v = realloc(d->str, cap);
    if (!v) return oom();
    d->str = v;
    d->str_cap = cap;
  }
  if (len) memcpy(d->str + d->nstr, b, len);
  d->nstr += len;
  return FT_OK;
}

static ft_status put_code_point(ft_json_doc *d, uint32_t cp) {
  uint8_t b[4];
  size_t n;
  if (cp < 0x80) b[0] = (uint8_t)cp, n = 1;
  else if (cp < 0x800) b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
  else if (cp < 0x10000)
    b[0] = (uint8_t)(0xE0 | cp >> 12), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), b[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
  else
    b[0] = (uint8_t)(0xF0 | cp >> 18), b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F)),
    b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), b[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
  return put_bytes(d, b, n);
}

/* Four hex digits at k, or -1. */
static int32_t hex4(const parser *p, size_t k) {
  int32_t v = 0;
  for (size_t j = k; j < k + 4; j++) {
    int c = at(p, j);
    int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/* A string at p->i (its opening quote); appends an FT_JSON_STR node. */
static ft_status string(parser *p, uint32_t *idx) {
  ft_json_doc *d = p->d;
  const uint8_t *s = d->text;
  size_t i = p->i + 1, start = i, off = d->nstr;
  for (;;) {
    if (i >= d->n) return syntax(p, d->n, "unterminated string");
    uint8_t c = s[i];
    if (c == '"') break;
    if (c < 0x20) return syntax(p, i, "control character in string");
    if (c != '\\') { i++; continue; }
    FT_TRY(put_bytes(d, s + start, i - start));
    int e = at(p, i + 1);
    size_t esc = i + 1;
    i += 2;
    uint32_t cp;
    switch (e) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u': {
        int32_t u = hex4(p, i);
        if (u < 0) return syntax(p, i, "invalid \\u escape");
        i += 4;
        if (u >= 0xD800 && u <= 0xDBFF) {
          if (at(p, i) != '\\' || at(p, i + 1) != 'u') return syntax(p, i, "lone leading surrogate in \\u escape");
          int32_t v = hex4(p, i + 2);
          if (v < 0) return syntax(p, i + 2, "invalid \\u escape");
          if (v < 0xDC00 || v > 0xDFFF) return syntax(p, i, "lone leading surrogate in \\u escape");
          i += 6;
          cp = 0x10000 + ((uint32_t)(u - 0xD800) << 10) + (uint32_t)(v - 0xDC00);
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          return syntax(p, i, "lone trailing surrogate in \\u escape");
        } else {
          cp = (uint32_t)u;
        }
        break;
      }
      default: return syntax(p, esc, "invalid escape");
    }
    FT_TRY(put_code_point(d, cp));
    start = i;
  }
  FT_TRY(put_bytes(d, s + start, i - start));
  p->i = i + 1;
  return push_node(p, FT_JSON_STR, (uint32_t)off, (uint32_t)(d->nstr - off), idx);
}

static uint64_t key_hash(const ft_json_doc *d, uint32_t obj, uint32_t key) {
  const ft_json_node *k = &d->nodes[key];
  uint64_t h = 1469598103934665603ull ^ ((uint64_t)obj * 0x9E3779B97F4A7C15ull);
  for (uint32_t j = 0; j < k->b; j++) h = (h ^ d->str[k->a + j]) * 1099511628211ull;
  return h ^ (h >> 29);
}

static bool same_key(const ft_json_doc *d, uint32_t a, uint32_t b) {
  const ft_json_node *x = &d->nodes[a], *y = &d->nodes[b];
  return x->b == y->b && !memcmp(d->str + x->a, d->str + y->a, x->b);
}

/* Adds key node `key` of object node `obj`; false if obj already has it. */
static ft_status add_key(ft_json_doc *d, uint32_t obj, uint32_t key, bool *fresh) {
  if (2 * (d->nkeys + 1) > d->key_cap) {
    size_t cap = d->key_cap ? 2 * d->key_cap : 64;
    uint64_t *v = calloc(cap, sizeof(uint64_t));
    if (!v) return oom();
    for (size_t j = 0; j < d->key_cap; j++) {
      uint64_t e = d->keys[j];
      if (!e) continue;
      size_t s = key_hash(d, (uint32_t)((e - 1) >> 32), (uint32_t)(e - 1)) & (cap - 1);
      while (v[s]) s = (s + 1) & (cap - 1);
      v[s] = e;
    }
    free(d->keys);
    d->keys = v;
    d->key_cap = cap;
  }
  size_t s = key_hash(d, obj, key) & (d->key_cap - 1);
  for (; d->keys[s]; s = (s + 1) & (d->key_cap - 1)) {
    uint64_t e = d->keys[s] - 1;
    if ((uint32_t)(e >> 32) == obj && same_key(d, (uint32_t)e, key)) { *fresh = false; return FT_OK; }
  }
  d->keys[s] = ((uint64_t)obj << 32 | key) + 1;
  d->nkeys++;
  *fresh = true;
  return FT_OK;
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }

static ft_status value(parser *p, int depth) {
  ft_json_doc *d = p->d;
  uint32_t idx;
  ws(p);
  if (p->i >= d->n) return syntax(p, p->i, "unexpected end of input");
  int c = d->text[p->i];
  if (c == '{' || c == '[') {
    if (depth >= p->max_depth) return syntax(p, p->i, "nesting deeper than %d", p->max_depth);
    FT_TRY(push_node(p, c == '{' ? FT_JSON_OBJ : FT_JSON_ARR, 0, 0, &idx));
    p->i++;
    ws(p);
    uint32_t count = 0;
    int close = c == '{' ? '}' : ']';
    if (at(p, p->i) == close) {
      p->i++;
    } else {
      for (;;) {
        if (c == '{') {
          ws(p);
          if (at(p, p->i) != '"') return syntax(p, p->i, "expected a string key");
          size_t kpos = p->i;
          uint32_t key;
          bool fresh;
          FT_TRY(string(p, &key));
          FT_TRY(add_key(d, idx, key, &fresh));
          if (!fresh) {
            char q[512];
            ft_json_quote(d->str + d->nodes[key].a, d->nodes[key].b, q, sizeof q);
            return syntax(p, kpos, "duplicate key %s", q);
          }
          ws(p);
          if (at(p, p->i) != ':') return syntax(p, p->i, "expected ':'");
          p->i++;
        }
        FT_TRY(value(p, depth + 1));
        count++;
        ws(p);
        if (at(p, p->i) == ',') { p->i++; continue; }
        if (at(p, p->i) == close) { p->i++; break; }
        return syntax(p, p->i, c == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
    d->nodes[idx].a = count;
    d->nodes[idx].b = d->nnodes;
    return FT_OK;
  }
  if (c == '"') return string(p, &idx);
  static const char *const words[3] = {"null", "false", "true"};
  for (int w = 0; w < 3; w++) {
    size_t len = strlen(words[w]);
    if (d->n - p->i >= len && !memcmp(d->text + p->i, words[w], len)) {
      p->i += len;
      return push_node(p, (uint32_t)w, 0, 0, &idx); /* FT_JSON_NULL, FALSE, TRUE */
    }
  }
  /* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
  size_t k = p->i;
  if (at(p, k) == '-') k++;
  if (at(p, k) == '0') k++;
  else if (at(p, k) >= '1' && at(p, k) <= '9')
    while (is_digit(at(p, k))) k++;
  else {
    char q[32];
    ft_json_quote_unit(d->text + p->i, d->n - p->i, q, sizeof q);
    return syntax(p, p->i, "unexpected character %s", q);
  }
  if (at(p, k) == '.' && is_digit(at(p, k + 1))) {
    k += 2;
    while (is_digit(at(p, k))) k++;
  }
  if (at(p, k) == 'e' || at(p, k) == 'E') {
    size_t j = k + 1;
    if (at(p, j) == '+' || at(p, j) == '-') j++;
    if (is_digit(at(p, j))) {
      k = j + 1;
      while (is_digit(at(p, k))) k++;
    }
  }
  FT_TRY(push_node(p, FT_JSON_NUM, (uint32_t)p->i, (uint32_t)(k - p->i), &idx));
  p->i = k;
  return FT_OK;
}

ft_status ft_json_parse(ft_json_doc *doc, const uint8_t *text, size_t n, int max_depth) {
  memset(doc, 0, sizeof *doc);
  if (n > UINT32_MAX / 2) return ft_error(FT_ERR_VALUE, "a JSON text of %zu bytes is too long", n);
  doc->text = text;
  doc->n = n;
  parser p = {doc, 0, max_depth};
  FT_TRY(value(&p, 0));
  ws(&p);
  if (p.i < n) return syntax(&p, p.i, "trailing characters after the header object");
  return FT_OK;
}

void ft_json_free(ft_json_doc *doc) {
  free(doc->nodes);
  free(doc->str);
  free(doc->keys);
  memset(doc, 0, sizeof *doc);
}

/* ---- UTF-8 and JavaScript's view of it ------------------------------------------ */

bool ft_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) { i++; continue; }
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF; /* the second byte's range */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return false;
    if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return false;
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

size_t ft_utf16_index(const uint8_t *s, size_t pos) {
  size_t u = 0;
  for (size_t k = 0; k < pos; k++) {
    if ((s[k] & 0xC0) != 0x80) u++; /* a character starts here */
    if (s[k] >= 0xF0) u++;          /* and needs a surrogate pair */
  }
  return u;
}

/* Decodes the (valid) UTF-8 character at s; returns its byte length. */
static size_t decode(const uint8_t *s, size_t n, uint32_t *cp) {
  uint8_t c = s[0];
  size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  if (len > n) len = n;
  uint32_t v = len == 1 ? c : len == 2 ? c & 0x1Fu : len == 3 ? c & 0x0Fu : c & 0x07u;
  for (size_t k = 1; k < len; k++) v = v << 6 | (s[k] & 0x3Fu);
  *cp = v;
  return len;
}

typedef struct writer {
  char *buf;
  size_t cap, n;
} writer;

static void w_bytes(writer *w, const char *b, size_t len) {
  for (size_t k = 0; k < len && w->n + 1 < w->cap; k++) w->buf[w->n++] = b[k];
  if (w->cap) w->buf[w->n] = 0;
}

static void w_char(writer *w, const uint8_t *s, size_t len, uint32_t cp) {
  char e[8];
  switch (cp) {
    case '"': w_bytes(w, "\\\"", 2); return;
    case '\\': w_bytes(w, "\\\\", 2); return;
    case '\b': w_bytes(w, "\\b", 2); return;
    case '\f': w_bytes(w, "\\f", 2); return;
    case '\n': w_bytes(w, "\\n", 2); return;
    case '\r': w_bytes(w, "\\r", 2); return;
    case '\t': w_bytes(w, "\\t", 2); return;
    default: break;
  }
  if (cp < 0x20) {
    snprintf(e, sizeof e, "\\u%04x", (unsigned)cp);
    w_bytes(w, e, 6);
    return;
  }
  w_bytes(w, (const char *)s, len);
}

static void w_high_surrogate(writer *w, uint32_t cp) {
  char e[8];
  snprintf(e, sizeof e, "\\u%04x", (unsigned)(0xD800 + ((cp - 0x10000) >> 10)));
  w_bytes(w, e, 6);
}

void ft_json_quote(const uint8_t *s, size_t n, char *buf, size_t cap) {
  writer w = {buf, cap, 0};
  if (cap) buf[0] = 0;
  size_t units = 0;
  for (size_t k = 0; k < n;) {
    uint32_t cp;
    k += decode(s + k, n - k, &cp);
    units += cp > 0xFFFF ? 2 : 1;
  }
  bool cut = units > 80;
  w_bytes(&w, "\"", 1);
  units = 0;
  for (size_t k = 0; k < n;) {
    uint32_t cp;
    size_t len = decode(s + k, n - k, &cp);
    size_t wide = cp > 0xFFFF ? 2 : 1;
    if (cut && units + wide > 80) {
      if (units < 80) w_high_surrogate(&w, cp); /* slice(0, 80) kept half a pair */
      break;
    }
    w_char(&w, s + k, len, cp);
    units += wide;
    k += len;
  }
  if (cut) w_bytes(&w, "\xE2\x80\xA6", 3); /* … */
  w_bytes(&w, "\"", 1);
}

void ft_json_quote_unit(const uint8_t *s, size_t n, char *buf, size_t cap) {
  uint32_t cp;
  size_t len = decode(s, n, &cp);
  if (cp <= 0xFFFF) { ft_json_quote(s, len, buf, cap); return; }
  writer w = {buf, cap, 0};
  w_bytes(&w, "\"", 1);
  w_high_surrogate(&w, cp);
  w_bytes(&w, "\"", 1);
}
