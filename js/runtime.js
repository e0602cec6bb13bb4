// The binding to the WebAssembly core: each export bound once, the scratch
// block's layout (mirrors src/api/wasm_api.c), and error fetching.
import { TorchError } from './errors.js';

/** Dtype names by the core's codes, and back. */
export const DTYPES = ['float32', 'float64', 'int32', 'bool'];
export const DTYPE_CODE = { float32: 0, float64: 1, int32: 2, bool: 3 };
export const ARRAY_TYPES = [Float32Array, Float64Array, Int32Array, Uint8Array];

/**
 * The runtime: `ex` are the exports; `i32`/`f64`/`u8` are views on the heap
 * (renewed by `views()` after the heap grows); `*Off` are scratch offsets in
 * elements of the view they index.
 */
export const rt = {
  ex: null,
  memory: null,
  i32: null,
  f64: null,
  inOff: 0, outOff: 0, iOff: 0, shapeOff: 0, metaOff: 0, fOff: 0,
  maxIn: 0, metaStride: 0, maxAttrI: 0,
  opIds: new Map(),
  opNames: [],
  opNout: [],
  opFlags: [],
  decoder: new TextDecoder(),
};

/**
 * Set when the threaded core's heap grows (js/threads.js grows it). Its
 * memory is shared, so growing leaves the old views attached, only short.
 */
export const heap = { grown: false };

/**
 * Renews the heap views if the memory has grown. Runs on every op, so it
 * avoids `memory.buffer`, whose getter costs more than the rest of this:
 * growing an unshared memory detaches the old buffer (views of length 0).
 */
export function views() {
  if (rt.i32.length === 0 || heap.grown) {
    heap.grown = false;
    rt.i32 = new Int32Array(rt.memory.buffer);
    rt.f64 = new Float64Array(rt.memory.buffer);
  }
  return rt;
}

export function readCString(ptr) {
  const u8 = new Uint8Array(rt.memory.buffer);
  let end = ptr;
  while (u8[end]) end++;
  // TextDecoder refuses views of shared memory (the threaded core): copy.
  const bytes = u8.subarray(ptr, end);
  return rt.decoder.decode(u8.buffer instanceof ArrayBuffer ? bytes : bytes.slice());
}

/** Throws the core's last error as a TorchError. */
export function throwLast() {
  throw new TorchError(readCString(rt.ex.ft_api_last_error()));
}

/** Throws unless `status` is 0. */
export function check(status) {
  if (status !== 0) throwLast();
}

export function initRuntime(exports, memory) {
  rt.ex = exports;
  rt.memory = memory;
  rt.i32 = new Int32Array(memory.buffer);
  rt.f64 = new Float64Array(memory.buffer);
  const base = exports.ft_api_scratch_ptr();
  const L = (k) => exports.ft_api_scratch_layout(k);
  rt.inOff = (base + L(0)) >> 2;
  rt.outOff = (base + L(1)) >> 2;
  rt.iOff = (base + L(2)) >> 2;
  rt.shapeOff = (base + L(3)) >> 2;
  rt.metaOff = (base + L(4)) >> 2;
  rt.fOff = (base + L(5)) >> 3;
  rt.maxIn = L(6);
  rt.metaStride = L(7);
  rt.maxAttrI = L(8);
  const n = exports.ft_api_op_count();
  for (let i = 0; i < n; i++) {
    const name = readCString(exports.ft_api_op_name(i));
    rt.opIds.set(name, i);
    rt.opNames.push(name);
    rt.opNout.push(exports.ft_api_op_nout(i));
    rt.opFlags.push(exports.ft_api_op_flags(i));
  }
}

/** The op table id of `name` (throws if the core has no such op). */
export function opId(name) {
  const id = rt.opIds.get(name);
  if (id === undefined) throw new TorchError(`internal: the core has no op named '${name}'`);
  return id;
}
