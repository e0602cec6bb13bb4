// torch.tensor, the factories, random seeding, and dtype conversions.
import { TorchError } from './errors.js';
import { rt, check, views, DTYPE_CODE, ARRAY_TYPES } from './runtime.js';
import { Tensor, fromTypedArray, wrapOut, callOp, opId } from './tensor.js';
import { parseArgs, varargsList, describe, checkNumber, checkInt, isPlainObject } from './args.js';

const DTYPE_ALIASES = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64',
  int32: 'int32', int: 'int32', bool: 'bool',
};

/** Normalises a dtype name ('float32', 'float64', 'int32', 'bool', or torch-style aliases). */
export function toDtype(dt, fname = 'dtype') {
  if (dt === undefined || dt === null) return null;
  const s = typeof dt === 'string' ? dt.replace(/^torch\./, '') : dt;
  const r = DTYPE_ALIASES[s];
  if (!r) throw new TorchError(`${fname}: unsupported dtype ${describe(dt)} (expected 'float32', 'float64', 'int32' or 'bool')`);
  return r;
}

function shapeOf(fname, args) {
  const shape = varargsList(fname, args);
  for (const s of shape) if (s < 0) throw new TorchError(`${fname}(): negative dimension ${s} in size [${shape}]`);
  if (shape.length > 8) throw new TorchError(`${fname}(): tensors have at most 8 dimensions, got ${shape.length}`);
  return shape;
}

/** Splits f(…sizes, opts) into sizes and options. */
function sizesAndOpts(args) {
  const a = Array.from(args);
  const opts = a.length && isPlainObject(a[a.length - 1]) ? a.pop() : {};
  return [a, opts];
}

function flattenNested(fname, data) {
  const shape = [];
  let probe = data;
  while (Array.isArray(probe)) { shape.push(probe.length); probe = probe[0]; }
  const n = shape.reduce((a, b) => a * b, 1);
  const flat = new Array(n);
  let k = 0, sawBool = false, sawFloat = false;
  const walk = (v, d) => {
    if (d === shape.length) {
      if (typeof v === 'boolean') { sawBool = true; flat[k++] = v ? 1 : 0; return; }
      if (typeof v !== 'number') throw new TorchError(`${fname}(): expected a number at depth ${d}, got ${describe(v)}`);
      if (!Number.isInteger(v)) sawFloat = true;
      flat[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d])
      throw new TorchError(`${fname}(): expected sequence of length ${shape[d]} at dim ${d} (got ${Array.isArray(v) ? v.length : describe(v)})`);
    for (const e of v) walk(e, d + 1);
  };
  walk(data, 0);
  return { flat, shape, sawBool, sawFloat };
}

export function install(torch) {
  /**
   * torch.tensor(data, {dtype, shape}): data is a number, boolean, nested array or typed array.
   * @example torch.tensor([[1, 2], [3, 4]], { dtype: 'float64' })
   */
  function tensor(data, opts = {}) {
    if (!isPlainObject(opts)) throw new TorchError(`tensor(): options must be an object, got ${describe(opts)}`);
    let dtype = toDtype(opts.dtype, 'tensor()');
    let flat, shape;
    if (data instanceof Tensor) {
      const t = data.detach();
      try { return dtype && dtype !== t.dtype ? t.to(dtype) : t.clone(); } finally { t.dispose(); }
    }
    if (ArrayBuffer.isView(data)) {
      const inferred = data instanceof Float32Array ? 'float32' : data instanceof Float64Array ? 'float64'
        : data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'bool' : null;
      if (!inferred) throw new TorchError(`tensor(): unsupported typed array ${data.constructor.name} (use Float32Array, Float64Array, Int32Array or Uint8Array)`);
      dtype ??= inferred;
      flat = data;
      shape = opts.shape ? varargsList('tensor', [opts.shape], 'shape') : [data.length];
      const n = shape.reduce((a, b) => a * b, 1);
      if (shape.some((s) => s < 0) || n !== data.length)
        throw new TorchError(`tensor(): shape [${shape}] is invalid for input of size ${data.length}`);
    } else if (typeof data === 'number' || typeof data === 'boolean') {
      dtype ??= typeof data === 'boolean' ? 'bool' : 'float32';
      flat = [typeof data === 'boolean' ? +data : data];
      shape = [];
    } else if (Array.isArray(data)) {
      const r = flattenNested('tensor', data);
      flat = r.flat; shape = r.shape;
      dtype ??= r.sawBool && !r.sawFloat ? 'bool' : 'float32';
      if (opts.shape) {
        const s = varargsList('tensor', [opts.shape], 'shape');
        if (s.reduce((a, b) => a * b, 1) !== flat.length) throw new TorchError(`tensor(): shape [${s}] is invalid for input of size ${flat.length}`);
        shape = s;
      }
    } else {
      throw new TorchError(`tensor(): data must be a number, a nested array or a typed array, got ${describe(data)}`);
    }
    if (shape.length > 8) throw new TorchError(`tensor(): tensors have at most 8 dimensions, got ${shape.length}`);
    const Ctor = ARRAY_TYPES[DTYPE_CODE[dtype]];
    const typed = flat instanceof Ctor ? flat : Ctor.from(flat);
    return fromTypedArray(typed, shape, dtype);
  }

  function full(shape, value, opts = {}) {
    const s = shapeOf('full', [shape]);
    checkNumber('full', typeof value === 'boolean' ? +value : value, 'fill_value');
    const dtype = toDtype(opts.dtype, 'full') ?? (typeof value === 'boolean' ? 'bool' : 'float32');
    const i32 = views().i32;
    for (let k = 0; k < s.length; k++) i32[rt.shapeOff + k] = s[k];
    check(rt.ex.ft_api_full(DTYPE_CODE[dtype], s.length, +value));
    return applyRequiresGrad(wrapOut(0), opts);
  }
  const filled = (name, value) => function (...args) {
    const [sizes, opts] = sizesAndOpts(args);
    return full(shapeOf(name, sizes), value, opts);
  };
  function random(name, kind, args) {
    const [sizes, opts] = sizesAndOpts(args);
    const s = shapeOf(name, sizes);
    const dtype = toDtype(opts.dtype, name) ?? 'float32';
    const i32 = views().i32;
    for (let k = 0; k < s.length; k++) i32[rt.shapeOff + k] = s[k];
    check(rt.ex.ft_api_random(kind, DTYPE_CODE[dtype], s.length));
    return applyRequiresGrad(wrapOut(0), opts);
  }
  function applyRequiresGrad(t, opts) {
    if (opts.requiresGrad) t.requiresGrad_(true);
    return t;
  }

  /** arange(end) | arange(start, end, step=1), {dtype}: int32 when all arguments are integers. */
  function arange(...args) {
    const [nums, opts] = sizesAndOpts(args);
    for (const v of nums) checkNumber('arange', v);
    let start = 0, end, step = 1;
    if (nums.length === 1) [end] = nums;
    else if (nums.length === 2) [start, end] = nums;
    else if (nums.length === 3) [start, end, step] = nums;
    else throw new TorchError(`arange() takes 1 to 3 numbers, got ${nums.length}`);
    const dtype = toDtype(opts.dtype, 'arange') ?? (nums.every(Number.isInteger) ? 'int32' : 'float32');
    check(rt.ex.ft_api_arange(start, end, step, DTYPE_CODE[dtype]));
    return applyRequiresGrad(wrapOut(0), opts);
  }
  function linspace(start, end, steps, opts = {}) {
    checkNumber('linspace', start, 'start'); checkNumber('linspace', end, 'end'); checkInt('linspace', steps, 'steps');
    check(rt.ex.ft_api_linspace(start, end, steps, DTYPE_CODE[toDtype(opts.dtype, 'linspace') ?? 'float32']));
    return applyRequiresGrad(wrapOut(0), opts);
  }
  function eye(n, ...rest) {
    const { m, dtype } = parseArgs('eye', rest, ['m'], { m: null }, { keywordOnly: ['dtype', 'requiresGrad'] });
    checkInt('eye', n, 'n');
    if (m != null) checkInt('eye', m, 'm');
    check(rt.ex.ft_api_eye(n, m == null ? -1 : m, DTYPE_CODE[toDtype(dtype, 'eye') ?? 'float32']));
    const opts = rest.length && isPlainObject(rest[rest.length - 1]) ? rest[rest.length - 1] : {};
    return applyRequiresGrad(wrapOut(0), opts);
  }
  function randint(low, high, size, opts = {}) {
    if (size === undefined || isPlainObject(size)) { opts = size ?? {}; size = high; high = low; low = 0; }
    checkInt('randint', low, 'low'); checkInt('randint', high, 'high');
    const s = shapeOf('randint', [size]);
    const i32 = views().i32;
    for (let k = 0; k < s.length; k++) i32[rt.shapeOff + k] = s[k];
    check(rt.ex.ft_api_randint(low, high, s.length));
    const t = wrapOut(0);
    const dt = toDtype(opts.dtype, 'randint');
    if (dt && dt !== 'int32') { try { return t.to(dt); } finally { t.dispose(); } }
    return t;
  }
  const like = (fn) => (t, ...rest) => {
    if (!(t instanceof Tensor)) throw new TorchError(`expected a Tensor, got ${describe(t)}`);
    const opts = rest.length && isPlainObject(rest[rest.length - 1]) ? rest.pop() : {};
    return fn(t, rest, { dtype: t.dtype, ...opts });
  };

  Object.assign(torch, {
    tensor,
    full,
    zeros: filled('zeros', 0),
    ones: filled('ones', 1),
    empty: filled('empty', 0),
    rand: (...a) => random('rand', 0, a),
    randn: (...a) => random('randn', 1, a),
    arange, linspace, eye, randint,
    zerosLike: like((t, r, o) => full(t.shape, 0, o)),
    onesLike: like((t, r, o) => full(t.shape, 1, o)),
    emptyLike: like((t, r, o) => full(t.shape, 0, o)),
    fullLike: like((t, r, o) => full(t.shape, r[0], o)),
    randLike: like((t, r, o) => random('randLike', 0, [t.shape, o])),
    randnLike: like((t, r, o) => random('randnLike', 1, [t.shape, o])),
    /** Seeds every random op (rand, randn, randint, dropout, normal_, …). */
    manualSeed(seed) {
      checkInt('manualSeed', seed, 'seed');
      rt.ex.ft_api_seed(seed >>> 0 === seed ? seed : Math.abs(seed) % 2 ** 53);
      return torch;
    },
  });

  // ---- conversions and copies ---------------------------------------------
  const CAST = opId('cast'), CLONE = opId('clone'), DETACH = opId('detach');
  const P = Tensor.prototype;
  /** to(dtype) — a new tensor unless the dtype already matches (then this tensor, as PyTorch). */
  P.to = function (dtype, opts = {}) {
    if (isPlainObject(dtype)) { opts = dtype; dtype = opts.dtype; }
    const dt = toDtype(dtype, 'to');
    if (!dt || dt === this.dtype) return opts.copy ? this.clone() : this;
    return callOp(CAST, [this], [DTYPE_CODE[dt]]);
  };
  P.float = function () { return this.to('float32'); };
  P.double = function () { return this.to('float64'); };
  P.int = function () { return this.to('int32'); };
  P.bool = function () { return this.to('bool'); };
  P.clone = function () { return callOp(CLONE, [this]); };
  /** A tensor sharing this one's data that no transform or autograd tracks. */
  P.detach = function () { return callOp(DETACH, [this]); };
  P.detach_ = function () { throw new TorchError('detach_() is not supported: use detach(), which returns a new tensor'); };
  torch.clone = (t) => P.clone.call(asTensorArg('clone', t));
  torch.detach = (t) => P.detach.call(asTensorArg('detach', t));

  const NORMAL = opId('randn_like'), UNIFORM = opId('rand_like');
  /** normal_(mean=0, std=1) in place */
  P.normal_ = function (...args) {
    const { mean, std } = parseArgs('normal_', args, ['mean', 'std'], { mean: 0, std: 1 });
    checkNumber('normal_', mean, 'mean'); checkNumber('normal_', std, 'std');
    const r = callOp(NORMAL, [this], [1]); // 1: an in-place draw (vmap's randomness checks)
    try {
      if (mean !== 0 || std !== 1) { const s = r.mul(std), m = s.add(mean); s.dispose(); return finish(this, m); }
      return this.copy_(r);
    } finally { r.dispose(); }
  };
  /** uniform_(from=0, to=1) in place */
  P.uniform_ = function (...args) {
    const { from, to } = parseArgs('uniform_', args, ['from', 'to'], { from: 0, to: 1 });
    checkNumber('uniform_', from, 'from'); checkNumber('uniform_', to, 'to');
    const r = callOp(UNIFORM, [this], [1]); // 1: an in-place draw (vmap's randomness checks)
    try {
      if (from !== 0 || to !== 1) { const s = r.mul(to - from), m = s.add(from); s.dispose(); return finish(this, m); }
      return this.copy_(r);
    } finally { r.dispose(); }
  };
}

function finish(t, m) {
  try { return t.copy_(m); } finally { m.dispose(); }
}

/** The Tensor argument of a torch.* wrapper, or a TorchError naming the function. */
function asTensorArg(fname, t) {
  if (!(t instanceof Tensor)) throw new TorchError(`${fname}(): argument 'input' must be a Tensor, got ${describe(t)}`);
  return t;
}
