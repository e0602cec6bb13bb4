/* A strict JSON reader (RFC 8259) for the safetensors header
 * (src/io/safetensors.c): the whole document becomes a flat array of nodes
 * in document order, so that a header of any size is read without
 * recursion deeper than its nesting limit and freed in one go.
 *
 * It is strict where the format needs it: duplicate keys (in any object)
 * are errors, numbers keep their source text (so "2.0", "1e3" and "-1" can
 * be told apart from integers), strings are unescaped to UTF-8 and lone
 * surrogate escapes are refused. Errors carry the byte offset where they
 * were found and a message, the same words js/safetensors.js used to say.
 */
#ifndef FT_IO_JSON_H
#define FT_IO_JSON_H

#include "../core.h"

typedef enum {
  FT_JSON_NULL,
  FT_JSON_FALSE,
  FT_JSON_TRUE,
  FT_JSON_NUM,
  FT_JSON_STR,
  FT_JSON_ARR,
  FT_JSON_OBJ,
} ft_json_type;

/* One value. Containers are followed by their members (an object's as
 * key, value, key, value...), so node i + 1 is a container's first member
 * and `end` skips the whole subtree. */
typedef struct ft_json_node {
  uint32_t type;
  uint32_t a; /* STR: offset into doc->str; NUM: offset into the text; ARR, OBJ: member count */
  uint32_t b; /* STR, NUM: length in bytes; ARR, OBJ: index of the node after the subtree */
} ft_json_node;

typedef struct ft_json_doc {
  ft_json_node *nodes;
  uint32_t nnodes, node_cap;
  uint8_t *str; /* every string, unescaped, back to back (not terminated) */
  size_t nstr, str_cap;
  uint64_t *keys; /* the duplicate-key set: (object node << 32 | key node) + 1, 0 = empty */
  size_t nkeys, key_cap;
  const uint8_t *text;
  size_t n;
  size_t err_pos; /* on a syntax error: the byte offset into text */
  char err[200];  /* on a syntax error: what is wrong */
} ft_json_doc;

/* Parses text[0..n) (valid UTF-8, checked by the caller) with containers
 * nested at most max_depth deep. FT_ERR_VALUE: a syntax error described by
 * err and err_pos (no message is set: the caller words it); FT_ERR_OOM
 * with the message set. Free the doc with ft_json_free either way. */
ft_status ft_json_parse(ft_json_doc *doc, const uint8_t *text, size_t n, int max_depth);
void ft_json_free(ft_json_doc *doc);

/* The node after node i and everything it contains. */
static inline uint32_t ft_json_next(const ft_json_doc *d, uint32_t i) {
  const ft_json_node *v = &d->nodes[i];
  return v->type == FT_JSON_ARR || v->type == FT_JSON_OBJ ? v->b : i + 1;
}

/* Whether s[0..n) is UTF-8 as a fatal WHATWG decoder accepts it (no
 * overlong forms, surrogates or code points past U+10FFFF). */
bool ft_utf8_valid(const uint8_t *s, size_t n);
/* The UTF-16 index of byte offset `pos` in valid UTF-8 s: JavaScript's
 * character positions. */
size_t ft_utf16_index(const uint8_t *s, size_t pos);
/* Writes UTF-8 s[0..n) as JavaScript's JSON.stringify would write the
 * string cut to its first 80 UTF-16 units plus '…' when longer (a cut
 * surrogate pair shows as its \ud8xx escape). Always terminated. */
void ft_json_quote(const uint8_t *s, size_t n, char *buf, size_t cap);
/* The same for the single UTF-16 unit at s[0] (JavaScript's s[i]): the
 * high surrogate of a 4-byte sequence. */
void ft_json_quote_unit(const uint8_t *s, size_t n, char *buf, size_t cap);

#endif
