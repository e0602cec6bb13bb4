/* The safetensors header: parsed and validated in C (so that the fuzz
 * target tests/fuzz/fuzz_safetensors.c can reach it), read by
 * js/safetensors.js through ft_api_st_parse (src/api/wasm_api.c).
 *
 * Layout: an 8-byte little-endian u64 header length N, N bytes of UTF-8
 * JSON ({ name: { dtype, shape, data_offsets: [begin, end] },
 * "__metadata__": { str: str } }), then the data buffer; offsets are
 * relative to the data start, and the entries tile the buffer exactly (no
 * gaps, no overlaps, nothing left over).
 *
 * ft_st_parse checks, before allocating anything sized by the header: the
 * header length (at most 100,000,000 bytes, the reference reader's limit,
 * and inside the file), UTF-8, strict JSON (duplicate keys, non-integer
 * numbers and integers past 2^53 are errors, nesting at most 128 deep),
 * every entry's dtype (known and readable), shape (at most 8 non-negative
 * integer dims), data_offsets (in range, ordered, sized dtype x shape
 * without overflow) and the exact tiling of the data buffer. Every failure
 * is FT_ERR_VALUE with a message "safetensors.<fname>: ..." naming the key
 * and the problem (the words of the JavaScript reader it replaces). The
 * values themselves (int32 range of 64-bit integers) are checked where
 * they are decoded, in JavaScript.
 *
 * The result is one block (free with ft_st_free) holding no pointers, so
 * JavaScript reads it from the heap at the offsets below, which are the
 * same in WebAssembly and natively.
 */
#ifndef FT_IO_SAFETENSORS_H
#define FT_IO_SAFETENSORS_H

#include "../core.h"

#define FT_ST_MAX_HEADER 100000000
#define FT_ST_MAX_DIMS 8
#define FT_ST_MAX_DEPTH 128 /* serde_json's recursion limit */

/* Every dtype the format names, in the reference's enum order (its writer
 * sorts entries by this rank, descending). */
typedef enum {
  FT_ST_BOOL, FT_ST_F4, FT_ST_F6_E2M3, FT_ST_F6_E3M2, FT_ST_U8, FT_ST_I8, FT_ST_F8_E5M2,
  FT_ST_F8_E4M3, FT_ST_F8_E8M0, FT_ST_I16, FT_ST_U16, FT_ST_F16, FT_ST_BF16, FT_ST_I32,
  FT_ST_U32, FT_ST_F32, FT_ST_C64, FT_ST_F64, FT_ST_I64, FT_ST_U64, FT_ST_DTYPE_COUNT
} ft_st_dtype;

typedef struct ft_st_entry { /* 104 bytes */
  int64_t begin, end;                /* data_offsets, from the data start */
  int64_t shape[FT_ST_MAX_DIMS];
  uint32_t name_off, name_len;       /* the name's UTF-8 bytes, at strings_off + name_off */
  int32_t dtype, ndim;               /* ft_st_dtype */
  int32_t index;                     /* its place in the header (values are checked in that order) */
  int32_t pad;
} ft_st_entry;

typedef struct ft_st_meta { /* 16 bytes: one "__metadata__" pair */
  uint32_t key_off, key_len, value_off, value_len;
} ft_st_meta;

typedef struct ft_st_table { /* 32 bytes, then the entries, the pairs and the strings */
  int64_t data_start; /* 8 + N: where the data buffer starts in the file */
  int32_t count;      /* entries, sorted by name (UTF-8 bytes, = code points) */
  int32_t nmeta;      /* "__metadata__" pairs in header order; -1: no metadata (absent or null) */
  uint32_t entries_off, meta_off, strings_off; /* from the table's start */
  uint32_t total_bytes;
} ft_st_table;

_Static_assert(sizeof(ft_st_entry) == 104 && sizeof(ft_st_meta) == 16 && sizeof(ft_st_table) == 32,
               "js/safetensors.js reads these layouts at fixed offsets");

/* Parses the header of a file of `file_len` bytes whose first `avail`
 * bytes are at buf: avail must reach 8 + N when the file does (the data
 * itself is not read). `fname` names the caller in messages ("load").
 * *out receives a new table. */
ft_status ft_st_parse(const uint8_t *buf, size_t avail, uint64_t file_len, const char *fname, ft_st_table **out);
void ft_st_free(ft_st_table *t);
/* The format's name of a dtype ("F32"), and its size in bytes (0: sub-byte). */
const char *ft_st_dtype_name(ft_st_dtype dt);
int ft_st_dtype_size(ft_st_dtype dt);

#endif
