// The calling convention of API.md: PyTorch's parameters in PyTorch's order,
// where any trailing run of optional parameters may instead be given by name
// (camelCase) in one final plain options object.
import { TorchError } from './errors.js';

/** True for `{...}` literals (not Tensors, arrays, typed arrays or null). */
export function isPlainObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/**
 * Reads `args` against `names` (parameter names in order) with `defaults`.
 * A final plain object supplies names not given positionally; positional
 * and named spellings of one parameter may not be mixed.
 * @param {string} fname for error messages
 * @param {ArrayLike<any>} args
 * @param {string[]} names
 * @param {Record<string, any>} [defaults]
 * @param {{keywordOnly?: string[]}} [spec] names accepted only in the options object
 */
export function parseArgs(fname, args, names, defaults = {}, spec = {}) {
  let n = args.length;
  if (n === 0) { // the common call: every op's options left out
    const out = {};
    for (const k of names) out[k] = k in defaults ? defaults[k] : undefined;
    for (const k of spec.keywordOnly ?? []) out[k] = k in defaults ? defaults[k] : undefined;
    return out;
  }
  let opts = null;
  if (n > 0 && isPlainObject(args[n - 1])) {
    opts = args[n - 1];
    n--;
  }
  if (n > names.length) throw new TorchError(`${fname}() takes at most ${names.length} positional arguments but ${n} were given`);
  const out = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (i < n) out[name] = args[i];
    else out[name] = name in defaults ? defaults[name] : undefined;
  }
  if (opts) {
    const allowed = new Set([...names, ...(spec.keywordOnly ?? [])]);
    for (const key of Object.keys(opts)) {
      if (!allowed.has(key)) throw new TorchError(`${fname}() got an unexpected keyword argument '${key}'`);
      const pos = names.indexOf(key);
      if (pos >= 0 && pos < n) throw new TorchError(`${fname}() got multiple values for argument '${key}'`);
      if (opts[key] !== undefined) out[key] = opts[key];
    }
  }
  for (const k of spec.keywordOnly ?? []) if (!(k in out)) out[k] = k in defaults ? defaults[k] : undefined;
  return out;
}

/** PyTorch's varargs-or-array spelling: f(2, 3) or f([2, 3]). */
export function varargsList(fname, args, what = 'size') {
  const list = args.length === 1 && (Array.isArray(args[0]) || ArrayBuffer.isView(args[0])) ? Array.from(args[0]) : Array.from(args);
  for (const v of list) checkInt(fname, v, what);
  return list;
}

/** Throws unless v is an integer number (or a 0-d int tensor's number). */
export function checkInt(fname, v, what = 'argument') {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TorchError(`${fname}(): ${what} must be an integer, got ${describe(v)}`);
  return v;
}

export function checkNumber(fname, v, what = 'argument') {
  if (typeof v !== 'number') throw new TorchError(`${fname}(): ${what} must be a number, got ${describe(v)}`);
  return v;
}

export function checkBool(fname, v, what = 'argument') {
  if (typeof v !== 'boolean') throw new TorchError(`${fname}(): ${what} must be a boolean, got ${describe(v)}`);
  return v;
}

export function checkString(fname, v, what = 'argument') {
  if (typeof v !== 'string') throw new TorchError(`${fname}(): ${what} must be a string, got ${describe(v)}`);
  return v;
}

export function checkFunction(fname, v, what = 'fn') {
  if (typeof v !== 'function') throw new TorchError(`${fname}(): ${what} must be a function, got ${describe(v)}`);
  return v;
}

/** A short description of a value for error messages. */
export function describe(v) {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return v.toString();
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name} of length ${v.length}`;
  if (typeof v === 'function') return 'a function';
  if (v?.constructor?.name === 'Tensor' || v?.constructor?.name === 'Parameter') return `a Tensor of shape [${v.shape}]`;
  return `an object (${v?.constructor?.name ?? 'Object'})`;
}

/** Dims: a number or an array of numbers (or undefined/null for all). */
export function dimList(fname, dim) {
  if (dim === undefined || dim === null) return null;
  if (typeof dim === 'number') return [checkInt(fname, dim, 'dim')];
  if (Array.isArray(dim)) return dim.map((d) => checkInt(fname, d, 'dim'));
  throw new TorchError(`${fname}(): dim must be an integer or an array of integers, got ${describe(dim)}`);
}
