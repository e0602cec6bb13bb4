// The Tensor class: a JavaScript object owning one reference to a core
// tensor (its handle), released by dispose(), by torch.scope, or by the
// FinalizationRegistry when the object becomes unreachable.
import { TorchError } from './errors.js';
import { rt, views, check, throwLast, DTYPES, DTYPE_CODE, ARRAY_TYPES, opId } from './runtime.js';
import { describe } from './args.js';

const registry = new FinalizationRegistry((h) => rt.ex.ft_api_release(h));

/** @internal func.compile's hooks while it traces (js/func/compile.js): onRead(t, array) after a read of t's data, onTyped(data, t) after a typed array became tensor t. */
export const traceHooks = { onRead: null, onTyped: null };

/** Stack of arrays of tensors created inside torch.scope calls. */
export const scopes = [];

/**
 * t has left every scope (returned from the outermost one, or taken out):
 * from now on the GC frees it when it is dropped.
 * @param {Tensor} t
 */
export function unscoped(t) {
  if (t._h && !t._reg) {
    registry.register(t, t._h, t);
    t._reg = true;
  }
}

export class Tensor {
  /** @internal Use torch.tensor() and the factories. */
  constructor(handle, dtype, shape) {
    /** @internal */ this._h = handle;
    /** @type {'float32'|'float64'|'int32'|'bool'} */ this.dtype = dtype;
    /** @type {number[]} */ this.shape = shape;
    // A tensor in an open scope is held by it until the scope frees or
    // releases it, so the GC cannot collect it yet: it joins the
    // FinalizationRegistry only when it leaves the scopes (unscoped()),
    // which spares eager ops in scopes a register and an unregister each.
    /** @internal */ this._reg = scopes.length === 0;
    if (this._reg) registry.register(this, handle, this);
    else scopes[scopes.length - 1].push(this);
  }

  get ndim() { return this.shape.length; }
  get numel() { let n = 1; for (const s of this.shape) n *= s; return n; }
  get isDisposed() { return this._h === 0; }
  /** @internal storage version: changes on every in-place write to this tensor's data */
  get _version() { return rt.ex.ft_api_version(this.handle); }

  /** Frees the tensor now; using it afterwards throws. Idempotent. */
  dispose() {
    if (this._h) {
      if (this._reg) registry.unregister(this);
      rt.ex.ft_api_release(this._h);
      this._h = 0;
    }
  }

  /** @internal the handle, or a TorchError if disposed */
  get handle() {
    if (!this._h) throw new TorchError(`this Tensor (shape [${this.shape}], ${this.dtype}) has been disposed`);
    return this._h;
  }

  /** A copy of the data the caller owns (Uint8Array for bool). */
  toTypedArray() {
    const h = this.handle;
    const Ctor = ARRAY_TYPES[DTYPE_CODE[this.dtype]];
    let ptr = rt.ex.ft_api_data_ptr(h), tmp = 0;
    if (!ptr) {
      check(rt.ex.ft_api_materialize(h));
      tmp = views().i32[rt.outOff];
      ptr = rt.ex.ft_api_data_ptr(tmp);
    }
    const n = this.numel;
    const out = new Ctor(n);
    out.set(new Ctor(rt.memory.buffer, ptr, n));
    if (tmp) rt.ex.ft_api_release(tmp);
    if (traceHooks.onRead) traceHooks.onRead(this, out);
    return out;
  }

  /** Nested arrays of numbers (booleans for bool tensors). */
  tolist() {
    const data = this.toTypedArray(), shape = this.shape, isBool = this.dtype === 'bool';
    let i = 0;
    const build = (d) => {
      if (d === shape.length) { const v = data[i++]; return isBool ? v !== 0 : v; }
      const a = new Array(shape[d]);
      for (let k = 0; k < shape[d]; k++) a[k] = build(d + 1);
      return a;
    };
    return build(0);
  }

  /** The value of a one-element tensor. */
  item() {
    if (this.numel !== 1)
      throw new TorchError(`a Tensor with ${this.numel} elements cannot be converted to Scalar`);
    const v = this.toTypedArray()[0];
    return this.dtype === 'bool' ? v !== 0 : v;
  }

  toString() { return formatTensor(this); }
  [Symbol.for('nodejs.util.inspect.custom')]() { return this.isDisposed ? 'Tensor(<disposed>)' : formatTensor(this); }

  // ---- autograd -----------------------------------------------------------
  get requiresGrad() { return (rt.ex.ft_api_grad_flags(this.handle) & 1) !== 0; }
  set requiresGrad(v) { this.requiresGrad_(v); }
  /** Makes this tensor a leaf that records operations (in place, as PyTorch). */
  requiresGrad_(flag = true) {
    check(rt.ex.ft_api_requires_grad_(this.handle, flag ? 1 : 0));
    return this;
  }
  get isLeaf() { return (rt.ex.ft_api_grad_flags(this.handle) & 4) !== 0; }
  /** The op that produced this tensor ({ name }), or null for leaves and untracked values. */
  get gradFn() {
    const f = rt.ex.ft_api_grad_flags(this.handle);
    if (!(f & 2)) return null;
    const ptr = rt.ex.ft_api_grad_fn_name(this.handle);
    let name = '';
    const u8 = new Uint8Array(rt.memory.buffer);
    for (let p = ptr; u8[p]; p++) name += String.fromCharCode(u8[p]);
    return { name: name.charAt(0).toUpperCase() + name.slice(1).replace(/_(\w)/g, (_, c) => c.toUpperCase()) + 'Backward' };
  }
  /** The accumulated gradient (a Tensor) or null. */
  get grad() {
    check(rt.ex.ft_api_get_grad(this.handle));
    return views().i32[rt.outOff] ? wrapOut(0) : null;
  }
  set grad(g) {
    const h = this.handle;
    const t = g == null ? null : asTensor(g);
    try { // the core retains the grad it keeps; a converted temporary's own reference goes
      check(rt.ex.ft_api_set_grad(h, t ? t.handle : 0));
    } finally { disposeTemp(t, g); }
  }
  zeroGrad_() { this.grad = null; return this; }
  /**
   * Accumulates d(this)/d(leaf) into every leaf's .grad.
   * @param {Tensor|null} [gradient] required unless this has one element
   * @param {{retainGraph?: boolean, createGraph?: boolean}} [opts]
   */
  backward(gradient = null, opts = {}) {
    if (gradient && !(gradient instanceof Tensor) && typeof gradient === 'object' && !ArrayBuffer.isView(gradient) && !Array.isArray(gradient)) {
      opts = gradient;
      gradient = null;
    }
    const { retainGraph = false, createGraph = false } = opts ?? {};
    const h = this.handle; // a disposed tensor is rejected before gradient is converted
    let g = null;
    try { // the converted gradient is freed however this ends
      g = gradient == null ? null : asTensor(gradient, this.dtype);
      const v = views();
      v.i32[rt.inOff] = h;
      v.i32[rt.inOff + 1] = g ? g.handle : 0;
      check(rt.ex.ft_api_backward(1, retainGraph || createGraph ? 1 : 0, createGraph ? 1 : 0));
    } finally { disposeTemp(g, gradient); }
  }
}

/** Wraps output slot j of the last call (handle and meta in the scratch block). */
export function wrapOut(j) {
  const i32 = views().i32;
  const h = i32[rt.outOff + j];
  const m = rt.metaOff + j * rt.metaStride;
  const nd = i32[m + 1];
  const shape = new Array(nd);
  for (let k = 0; k < nd; k++) shape[k] = i32[m + 2 + k];
  return new Tensor(h, DTYPES[i32[m]], shape);
}

/**
 * Runs op `id` on `inputs` (Tensors) with integer and float attributes.
 * Returns a Tensor, or an array for ops with several outputs.
 */
export function callOp(id, inputs, ints = null, floats = null) {
  let i32 = views().i32;
  const n = inputs.length;
  if (n > rt.maxIn) throw new TorchError(`${rt.opNames[id]}: too many tensor arguments (${n})`);
  for (let k = 0; k < n; k++) {
    const t = inputs[k];
    if (!(t instanceof Tensor)) throw new TorchError(`${rt.opNames[id]}: argument ${k} must be a Tensor, got ${describe(t)}`);
    i32[rt.inOff + k] = t.handle;
  }
  let ni = 0, nf = 0;
  if (ints) {
    ni = ints.length;
    if (ni > rt.maxAttrI) throw new TorchError(`${rt.opNames[id]}: too many integer arguments (${ni})`);
    for (let k = 0; k < ni; k++) i32[rt.iOff + k] = ints[k];
  }
  if (floats) {
    nf = floats.length;
    for (let k = 0; k < nf; k++) rt.f64[rt.fOff + k] = floats[k];
  }
  if (rt.ex.ft_api_op(id, n, ni, nf) !== 0) throwLast();
  const nout = rt.opNout[id];
  if (nout === 1) return wrapOut(0);
  const outs = new Array(nout);
  for (let j = 0; j < nout; j++) outs[j] = wrapOut(j);
  return outs;
}

/** Creates a tensor from a typed array of the dtype's element type. */
export function fromTypedArray(data, shape, dtype) {
  const code = DTYPE_CODE[dtype];
  const i32 = views().i32;
  for (let k = 0; k < shape.length; k++) i32[rt.shapeOff + k] = shape[k];
  check(rt.ex.ft_api_empty(code, shape.length));
  const t = wrapOut(0);
  if (data.length) {
    const Ctor = ARRAY_TYPES[code];
    new Ctor(rt.memory.buffer, rt.ex.ft_api_data_ptr(t._h), data.length).set(data);
  }
  if (traceHooks.onTyped) traceHooks.onTyped(data, t);
  return t;
}

/** A 0-d tensor: numbers give float64 (0-d tensors don't raise another operand's dtype) or int32 for integers when `intOk`. */
export function scalarTensor(value, dtype) {
  check(rt.ex.ft_api_full(DTYPE_CODE[dtype], 0, value));
  return wrapOut(0);
}

/**
 * A Tensor operand from a Tensor, number, boolean or typed array. Numbers
 * become 0-d tensors: float64 for non-integers, int32 for integers unless
 * `floatDtype` says the partner is floating point (then that dtype).
 */
export function asTensor(x, floatDtype = null) {
  if (x instanceof Tensor) return x;
  if (typeof x === 'number') {
    if (floatDtype === 'float32' || floatDtype === 'float64') return scalarTensor(x, floatDtype);
    return scalarTensor(x, Number.isInteger(x) && Math.abs(x) < 2 ** 31 ? 'int32' : 'float64');
  }
  if (typeof x === 'boolean') return scalarTensor(x ? 1 : 0, 'bool');
  if (x instanceof Float32Array) return fromTypedArray(x, [x.length], 'float32');
  if (x instanceof Float64Array) return fromTypedArray(x, [x.length], 'float64');
  if (x instanceof Int32Array) return fromTypedArray(x, [x.length], 'int32');
  if (x instanceof Uint8Array) return fromTypedArray(x, [x.length], 'bool');
  throw new TorchError(`expected a Tensor or a number, got ${describe(x)}`);
}

/** Disposes `t` if it is not `orig` (a temporary made by asTensor). */
export function disposeTemp(t, orig) {
  if (t !== orig && t instanceof Tensor) t.dispose();
}

/** dst <- src in place, through every transform level (PyTorch's in-place semantics). */
export function assign(dst, src) {
  check(rt.ex.ft_api_assign(dst.handle, src.handle));
  return dst;
}

// ---- printing ---------------------------------------------------------------

function formatTensor(t) {
  if (t.isDisposed) return 'tensor(<disposed>)';
  const data = t.toTypedArray();
  const isFloat = t.dtype === 'float32' || t.dtype === 'float64';
  let fmt;
  if (t.dtype === 'bool') fmt = (v) => (v ? 'True' : 'False');
  else if (!isFloat) fmt = (v) => String(v);
  else {
    let allInt = true, maxAbs = 0;
    for (const v of data) {
      if (Number.isFinite(v)) { if (!Number.isInteger(v)) allInt = false; maxAbs = Math.max(maxAbs, Math.abs(v)); }
    }
    const sci = maxAbs >= 1e8 || (maxAbs > 0 && maxAbs < 1e-4);
    fmt = (v) => {
      if (Number.isNaN(v)) return 'nan';
      if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
      if (sci) return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
      return allInt ? `${v}.` : v.toFixed(4);
    };
  }
  const strs = Array.from(data, fmt);
  const width = strs.reduce((w, s) => Math.max(w, s.length), 0);
  let i = 0;
  const shape = t.shape;
  const build = (d, indent) => {
    if (d === shape.length) return strs[i++].padStart(width);
    const parts = [];
    for (let k = 0; k < shape[d]; k++) parts.push(build(d + 1, indent + 1));
    const sep = d === shape.length - 1 ? ', ' : ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1);
    return '[' + parts.join(sep) + ']';
  };
  let body = build(0, 7);
  const extras = [];
  if (t.dtype !== 'float32' && !(t.dtype === 'int32' && false)) extras.push(`dtype=torch.${t.dtype}`);
  const gf = t.gradFn;
  if (gf) extras.push(`grad_fn=<${gf.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
}

export { opId };
