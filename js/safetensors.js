// torch.safetensors: load / save / metadata for the safetensors format.
//
// Layout: an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } }),
// then the data buffer; offsets are relative to the data start, and the
// entries tile the buffer exactly (no gaps, no overlaps, nothing left over).
//
// load() is streaming-safe: the header length, the JSON, every entry's dtype,
// shape and offsets, the tiling of the data buffer and the int32 range of
// 64-bit integer data are all checked before any tensor (or any buffer sized
// from the header) is allocated. Every failure is a TorchError naming the key
// and the problem. The header is read and validated in C
// (src/io/safetensors.c, fuzzed by tests/fuzz/fuzz_safetensors.c) by a
// strict JSON reader, so that duplicate keys, non-integer numbers ("2.0",
// "1e3", "-1") and integers past 2^53 are seen rather than silently coerced;
// only the values' int32 range is checked here, where they are decoded.
//
// save() writes what the reference writer (huggingface/safetensors) writes
// for the same dict: entries sorted by dtype alignment, descending, then by
// name (UTF-8 byte order); compact JSON with "__metadata__" first; the header
// padded with spaces to a multiple of 8 bytes.
import { TorchError } from './errors.js';
import { Tensor } from './tensor.js';
import { toDtype } from './creation.js';
import { rt, views, check } from './runtime.js';

const MAX_HEADER_SIZE = 100_000_000; /* the reference implementation's limit (src/io/safetensors.h) */

/* Every dtype the format names, with its rank in the reference's enum (the
 * writer sorts by it, descending) and its size in bytes (0 for sub-byte). */
const DTYPES = {
  BOOL: { rank: 0, size: 1 }, F4: { rank: 1, size: 0 }, F6_E2M3: { rank: 2, size: 0 }, F6_E3M2: { rank: 3, size: 0 },
  U8: { rank: 4, size: 1 }, I8: { rank: 5, size: 1 }, F8_E5M2: { rank: 6, size: 1 }, F8_E4M3: { rank: 7, size: 1 },
  F8_E8M0: { rank: 8, size: 1 }, I16: { rank: 9, size: 2 }, U16: { rank: 10, size: 2 }, F16: { rank: 11, size: 2 },
  BF16: { rank: 12, size: 2 }, I32: { rank: 13, size: 4 }, U32: { rank: 14, size: 4 }, F32: { rank: 15, size: 4 },
  C64: { rank: 16, size: 8 }, F64: { rank: 17, size: 8 }, I64: { rank: 18, size: 8 }, U64: { rank: 19, size: 8 },
};
/* What load() reads, and the dtype each becomes. */
const READ = {
  F32: 'float32', F64: 'float64', F16: 'float32', BF16: 'float32',
  I32: 'int32', I64: 'int32', U32: 'int32', U64: 'int32', I16: 'int32', U16: 'int32', I8: 'int32', U8: 'int32',
  BOOL: 'bool',
};
const FLOATING = new Set(['F32', 'F64', 'F16', 'BF16']);
/* What save() writes. */
const WRITE = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const q = (s) => JSON.stringify(String(s).length > 80 ? String(s).slice(0, 80) + '…' : String(s));
const fail = (fname, msg) => { throw new TorchError(`safetensors.${fname}: ${msg}`); };

/* ------------------------------------------------------------------------ */
/* The header, read and validated in C (src/io/safetensors.h).              */

function asBytes(fname, bytes) {
  if (bytes instanceof Uint8Array && bytes.constructor === Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && bytes instanceof SharedArrayBuffer))
    return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let d;
  if (bytes === null) d = 'null';
  else if (bytes instanceof Tensor) d = 'a Tensor';
  else d = typeof bytes === 'object' ? `an object (${bytes.constructor?.name ?? 'Object'})` : typeof bytes;
  return fail(fname, `expected a Uint8Array or an ArrayBuffer holding a safetensors file, got ${d}`);
}

/* ft_st_dtype's order (the reference's enum, which DTYPES' ranks follow). */
const DTYPE_BY_CODE = Object.keys(DTYPES).sort((a, b) => DTYPES[a].rank - DTYPES[b].rank);
/* The names' bytes, BOMs and all (TextDecoder drops a leading BOM unless told). */
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Parses and validates the whole header against the buffer (in C: the
 * length prefix and the header are copied into the heap, the data is not).
 * Returns { entries: [{ name, dtype, shape, numel, begin, end }] in name
 * order, metadata, dataStart }.
 */
function readHeader(fname, bytes) {
  const len = bytes.length, ex = rt.ex;
  let avail = Math.min(len, 8);
  if (len >= 8) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, 8);
    const n = dv.getUint32(0, true), hi = dv.getUint32(4, true);
    if (hi === 0 && n <= MAX_HEADER_SIZE && 8 + n <= len) avail = 8 + n;
  }
  const buf = avail ? ex.malloc(avail) : 0;
  if (avail && !buf) fail(fname, `out of memory reading a ${avail}-byte header`);
  let tab;
  try {
    new Uint8Array(rt.memory.buffer, buf, avail).set(bytes.subarray(0, avail));
    check(ex.ft_api_st_parse(buf, avail, len, fname === 'metadata' ? 1 : 0));
    tab = views().f64[rt.fOff];
  } finally {
    if (buf) ex.free(buf);
  }
  try {
    const heap = rt.memory.buffer, dv = new DataView(heap), u8 = new Uint8Array(heap);
    const u32 = (p) => dv.getUint32(p, true), i32 = (p) => dv.getInt32(p, true);
    const i64 = (p) => u32(p) + i32(p + 4) * 2 ** 32; /* every value is below 2^53 */
    const count = i32(tab + 8), nmeta = i32(tab + 12), so = tab + u32(tab + 24);
    const str = (off, n) => utf8.decode(u8.slice(so + off, so + off + n)); /* a copy: the heap may be shared */
    const entries = [];
    for (let k = 0, e = tab + u32(tab + 16); k < count; k++, e += 104) { /* ft_st_entry */
      const ndim = i32(e + 92), shape = [];
      for (let d = 0; d < ndim; d++) shape.push(i64(e + 16 + 8 * d));
      entries.push({ name: str(u32(e + 80), u32(e + 84)), dtype: DTYPE_BY_CODE[i32(e + 88)], shape,
        numel: shape.reduce((a, b) => a * b, 1), begin: i64(e), end: i64(e + 8), index: i32(e + 96) });
    }
    let metadata = null;
    if (nmeta >= 0) {
      metadata = {};
      for (let k = 0, m = tab + u32(tab + 20); k < nmeta; k++, m += 16) /* ft_st_meta */
        Object.defineProperty(metadata, str(u32(m), u32(m + 4)), { value: str(u32(m + 8), u32(m + 12)), enumerable: true, writable: true, configurable: true });
    }
    return { entries, metadata, dataStart: i64(tab) };
  } finally {
    ex.ft_api_st_free(tab);
  }
}

/* 64-bit and unsigned 32-bit integers become int32: every value must fit
 * (checked in header order, before any tensor is made). */
function checkIntRanges(fname, bytes, entries, dataStart) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const e of [...entries].sort((a, b) => a.index - b.index)) {
    if (e.dtype !== 'I64' && e.dtype !== 'U64' && e.dtype !== 'U32') continue;
    const at = dataStart + e.begin;
    for (let k = 0; k < e.numel; k++) {
      if (e.dtype === 'U32') {
        const v = dv.getUint32(at + 4 * k, true);
        if (v > 0x7fffffff) fail(fname, `tensor ${q(e.name)}: value ${v} at index ${k} is outside the int32 range (U32 is read as int32)`);
        continue;
      }
      const l = dv.getUint32(at + 8 * k, true), h = dv.getInt32(at + 8 * k + 4, true);
      const ok = e.dtype === 'I64' ? (h === 0 && l <= 0x7fffffff) || (h === -1 && l > 0x7fffffff) : h === 0 && l <= 0x7fffffff;
      if (!ok) {
        const v = e.dtype === 'I64' ? dv.getBigInt64(at + 8 * k, true) : dv.getBigUint64(at + 8 * k, true);
        fail(fname, `tensor ${q(e.name)}: value ${v} at index ${k} is outside the int32 range (${e.dtype} is read as int32)`);
      }
    }
  }
}

/* ------------------------------------------------------------------------ */
/* Decoding one entry into a typed array.                                    */

const f32Bits = new Float32Array(1), u32Bits = new Uint32Array(f32Bits.buffer);

function halfToFloat(h) {
  const s = (h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) {
    if (m === 0) { u32Bits[0] = s; return f32Bits[0]; }
    return (s ? -1 : 1) * m * 2 ** -24; /* subnormal: exact in float32 */
  }
  if (e === 31) u32Bits[0] = s | 0x7f800000 | (m << 13);
  else u32Bits[0] = s | ((e + 112) << 23) | (m << 13);
  return f32Bits[0];
}

/** The typed array for one validated entry; `floatOut` is 'float32' or 'float64' for floating entries. */
function decode(bytes, at, e, floatOut) {
  const n = e.numel, nb = e.end - e.begin;
  const dv = LITTLE_ENDIAN && (e.dtype === 'F32' || e.dtype === 'F64' || e.dtype === 'I32' || e.dtype === 'BOOL') ? null
    : new DataView(bytes.buffer, bytes.byteOffset + at, nb);
  const copy = () => { const c = new Uint8Array(nb); c.set(bytes.subarray(at, at + nb)); return c; };
  /* On a little-endian host: a view on the file's bytes where they are aligned
   * (torch.tensor copies them into the heap), else a copy in a fresh buffer. */
  const native = (Ctor) => ((bytes.byteOffset + at) % Ctor.BYTES_PER_ELEMENT === 0
    ? new Ctor(bytes.buffer, bytes.byteOffset + at, n) : new Ctor(copy().buffer));
  const FloatOut = floatOut === 'float64' ? Float64Array : Float32Array;
  switch (e.dtype) {
    case 'F32':
    case 'F64': {
      const Src = e.dtype === 'F32' ? Float32Array : Float64Array;
      let src;
      if (LITTLE_ENDIAN) src = native(Src);
      else {
        src = new Src(n);
        for (let k = 0; k < n; k++) src[k] = e.dtype === 'F32' ? dv.getFloat32(4 * k, true) : dv.getFloat64(8 * k, true);
      }
      return src instanceof FloatOut ? src : FloatOut.from(src);
    }
    case 'F16':
    case 'BF16': {
      const out = new FloatOut(n);
      if (e.dtype === 'BF16') {
        for (let k = 0; k < n; k++) { u32Bits[0] = dv.getUint16(2 * k, true) << 16; out[k] = f32Bits[0]; }
      } else {
        for (let k = 0; k < n; k++) out[k] = halfToFloat(dv.getUint16(2 * k, true));
      }
      return out;
    }
    case 'I32':
      if (LITTLE_ENDIAN) return native(Int32Array);
      return Int32Array.from({ length: n }, (_, k) => dv.getInt32(4 * k, true));
    case 'U32': return Int32Array.from({ length: n }, (_, k) => dv.getUint32(4 * k, true));
    case 'I64':
    case 'U64': return Int32Array.from({ length: n }, (_, k) => dv.getInt32(8 * k, true)); /* range checked */
    case 'I16': return Int32Array.from({ length: n }, (_, k) => dv.getInt16(2 * k, true));
    case 'U16': return Int32Array.from({ length: n }, (_, k) => dv.getUint16(2 * k, true));
    case 'I8': return Int32Array.from({ length: n }, (_, k) => dv.getInt8(k));
    case 'U8': return Int32Array.from({ length: n }, (_, k) => dv.getUint8(k));
    case 'BOOL': {
      const out = copy();
      for (let k = 0; k < n; k++) if (out[k] > 1) out[k] = 1;
      return out;
    }
    default: throw new TorchError(`safetensors: internal error: no decoder for ${e.dtype}`);
  }
}

/* ------------------------------------------------------------------------ */
/* Writing.                                                                  */

/** Compares two strings by Unicode code point (= UTF-8 byte order, as Rust's String ordering). */
function cmpCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i), y = b.codePointAt(i);
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkName(fname, s, what) {
  if (LONE_SURROGATE.test(s)) fail(fname, `${what} ${q(s)} contains a lone UTF-16 surrogate (not representable in UTF-8)`);
}

function isPlain(o) {
  if (o === null || typeof o !== 'object') return false;
  const p = Object.getPrototypeOf(o);
  return p === Object.prototype || p === null;
}

export function install(torch) {
  /**
   * Reads a safetensors file into `{ name: Tensor }` (name order). F32/F64/I32
   * and BOOL load as float32/float64/int32/bool; F16 and BF16 widen to
   * float32; I64, U32, U64 and the 8/16-bit integers load as int32 (a value
   * outside int32 is an error naming the key). `dtype` ('float32' or
   * 'float64') converts every floating-point entry. The whole file is
   * validated before any tensor is created.
   * @param {Uint8Array | ArrayBuffer} bytes
   * @param {{ dtype?: 'float32' | 'float64' }} [opts]
   * @returns {Record<string, Tensor>}
   * @example const sd = torch.safetensors.load(readFileSync('model.safetensors')); model.loadStateDict(sd);
   */
  function load(bytes, opts = {}) {
    if (!isPlain(opts)) fail('load', `options must be an object, got ${opts === null ? 'null' : typeof opts}`);
    let floatOut = null;
    if (opts.dtype !== undefined && opts.dtype !== null) {
      floatOut = toDtype(opts.dtype, 'safetensors.load');
      if (floatOut !== 'float32' && floatOut !== 'float64')
        fail('load', `dtype must be a floating-point dtype ('float32' or 'float64'), got '${floatOut}'`);
    }
    const buf = asBytes('load', bytes);
    const { entries, dataStart } = readHeader('load', buf);
    checkIntRanges('load', buf, entries, dataStart);
    const out = {};
    const made = [];
    try {
      for (const e of entries) {
        const floating = FLOATING.has(e.dtype);
        const data = decode(buf, dataStart + e.begin, e, floating ? (floatOut ?? READ[e.dtype]) : null);
        const t = torch.tensor(data, { shape: e.shape });
        made.push(t);
        Object.defineProperty(out, e.name, { value: t, enumerable: true, writable: true, configurable: true });
      }
    } catch (err) {
      for (const t of made) t.dispose();
      if (err instanceof TorchError) throw err;
      throw new TorchError(`safetensors.load: ${err?.message ?? err}`);
    }
    return out;
  }

  /**
   * The `__metadata__` of a safetensors file (an object of strings), or null
   * when it has none. The whole header is validated; no tensor is created.
   * @param {Uint8Array | ArrayBuffer} bytes
   * @returns {Record<string, string> | null}
   */
  function metadata(bytes) {
    const buf = asBytes('metadata', bytes);
    const { entries, metadata, dataStart } = readHeader('metadata', buf);
    checkIntRanges('metadata', buf, entries, dataStart);
    return metadata;
  }

  /**
   * Writes `{ name: Tensor | Float32Array | Float64Array | Int32Array | Uint8Array }`
   * as a safetensors file, byte for byte as the reference writer does.
   * Tensors keep their shape (float32/float64/int32/bool → F32/F64/I32/BOOL);
   * typed arrays are 1-D (a Uint8Array is BOOL and must hold only 0 and 1).
   * `metadata` is an object of strings stored as `__metadata__`.
   * @param {Record<string, Tensor | Float32Array | Float64Array | Int32Array | Uint8Array> | Map<string, any>} dict
   * @param {{ metadata?: Record<string, string> | null }} [opts]
   * @returns {Uint8Array}
   */
  function save(dict, opts = {}) {
    if (!isPlain(opts)) fail('save', `options must be an object, got ${opts === null ? 'null' : typeof opts}`);
    const pairs = dict instanceof Map ? [...dict.entries()] : isPlain(dict) ? Object.entries(dict) : null;
    if (!pairs) {
      const d = dict === null ? 'null' : dict instanceof Tensor ? 'a Tensor' : Array.isArray(dict) ? 'an array' : typeof dict;
      fail('save', `expected a dict (plain object or Map) of tensors, got ${d}`);
    }
    const meta = opts.metadata ?? null;
    let metaPairs = null;
    if (meta !== null) {
      if (!isPlain(meta) && !(meta instanceof Map)) fail('save', 'metadata must be an object of strings');
      metaPairs = meta instanceof Map ? [...meta.entries()] : Object.entries(meta);
      for (const [k, v] of metaPairs) {
        if (typeof k !== 'string') fail('save', `metadata keys must be strings, got ${typeof k}`);
        if (typeof v !== 'string') fail('save', `metadata value for ${q(k)} must be a string, got ${v === null ? 'null' : typeof v}`);
        checkName('save', k, 'metadata key'); checkName('save', v, 'metadata value');
      }
    }
    const items = [];
    for (const [name, v] of pairs) {
      if (typeof name !== 'string') fail('save', `tensor names must be strings, got ${typeof name}`);
      if (name === '__metadata__') fail('save', `the name "__metadata__" is reserved for metadata`);
      checkName('save', name, 'tensor name');
      const key = `tensor ${q(name)}`;
      if (v instanceof Tensor) {
        if (v.isDisposed) fail('save', `${key} has been disposed`);
        const dtype = WRITE[v.dtype];
        if (!dtype) fail('save', `${key}: cannot write dtype ${v.dtype}`);
        items.push({ name, dtype, shape: v.shape, src: v });
      } else if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof Uint8Array) {
        const dtype = v instanceof Float32Array ? 'F32' : v instanceof Float64Array ? 'F64' : v instanceof Int32Array ? 'I32' : 'BOOL';
        if (dtype === 'BOOL') for (let k = 0; k < v.length; k++) if (v[k] > 1) fail('save', `${key}: a Uint8Array is written as BOOL and must hold only 0 and 1 (index ${k} is ${v[k]})`);
        items.push({ name, dtype, shape: [v.length], src: v });
      } else {
        let d = v === null ? 'null' : v === undefined ? 'undefined' : ArrayBuffer.isView(v) ? `a ${v.constructor.name}` : typeof v === 'object' ? 'an object' : typeof v;
        fail('save', `${key}: expected a Tensor, Float32Array, Float64Array, Int32Array or Uint8Array, got ${d}`);
      }
    }
    items.sort((a, b) => DTYPES[b.dtype].rank - DTYPES[a.dtype].rank || cmpCodePoints(a.name, b.name));

    let offset = 0;
    const parts = [];
    if (metaPairs) parts.push(`"__metadata__":{${metaPairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
    for (const it of items) {
      const nbytes = it.shape.reduce((a, b) => a * b, 1) * DTYPES[it.dtype].size;
      it.begin = offset;
      offset += nbytes;
      parts.push(`${JSON.stringify(it.name)}:{"dtype":"${it.dtype}","shape":[${it.shape.join(',')}],"data_offsets":[${it.begin},${offset}]}`);
    }
    const json = new TextEncoder().encode(`{${parts.join(',')}}`);
    const n = Math.ceil(json.length / 8) * 8;
    if (n > MAX_HEADER_SIZE) fail('save', `the header would be ${n} bytes, over the ${MAX_HEADER_SIZE}-byte limit readers accept`);
    const out = new Uint8Array(8 + n + offset);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, n, true);
    dv.setUint32(4, 0, true);
    out.set(json, 8);
    out.fill(0x20, 8 + json.length, 8 + n);
    for (const it of items) {
      const at = 8 + n + it.begin;
      const data = it.src instanceof Tensor ? it.src.toTypedArray() : it.src;
      if (LITTLE_ENDIAN || data.BYTES_PER_ELEMENT === 1) {
        out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      } else {
        const w = new DataView(out.buffer, at, data.byteLength);
        for (let k = 0; k < data.length; k++) {
          if (data instanceof Float32Array) w.setFloat32(4 * k, data[k], true);
          else if (data instanceof Float64Array) w.setFloat64(8 * k, data[k], true);
          else w.setInt32(4 * k, data[k], true);
        }
      }
    }
    return out;
  }

  torch.safetensors = { load, save, metadata };
}
