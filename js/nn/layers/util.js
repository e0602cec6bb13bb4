// Shared pieces of the layer files: parameter and buffer creation with a
// dtype (PyTorch's factory_kwargs), tuple arguments, forward inputs,
// nn.functional lookup.
import { TorchError } from '../../errors.js';
import { describe, parseArgs } from '../../args.js';
import { Tensor } from '../../tensor.js';
import { Parameter, env } from '../module.js';

/** torch.F, looked up at call time (installed after the layers). */
export const F = () => env.torch.F;
export const T = () => env.torch;

/** Parses a layer's constructor arguments: PyTorch's positional order, then { ... } options. */
export function layerArgs(cls, args, names, defaults) {
  return parseArgs(cls, args, [...names, 'device', 'dtype'], { device: null, dtype: null, ...defaults });
}

export function checkDtype(cls, dtype) {
  if (dtype === null || dtype === undefined) return 'float32';
  const dt = { float32: 'float32', float: 'float32', float64: 'float64', double: 'float64' }[String(dtype).replace(/^torch\./, '')];
  if (!dt) throw new TorchError(`${cls}: dtype must be a floating point dtype ('float32' or 'float64'), got ${describe(dtype)}`);
  return dt;
}

/** A new Parameter of `shape` (uninitialised: zeros) in `dtype`. */
export function newParameter(shape, dtype) {
  const t = env.torch.zeros(shape, { dtype });
  try { return new Parameter(t); } finally { t.dispose(); }
}

/** A tensor filled with `value` (a buffer's initial value). */
export const filled = (shape, value, dtype) => env.torch.full(shape, value, { dtype });

/** PyTorch's _ntuple: a number repeated n times, or an array of n numbers. */
export function ntuple(cls, what, v, n) {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TorchError(`${cls}: ${what} must be an integer or an array of ${n} integers, got ${v}`);
    return new Array(n).fill(v);
  }
  if (Array.isArray(v) && v.length === n && v.every(Number.isInteger)) return v.slice();
  throw new TorchError(`${cls}: ${what} must be an integer or an array of ${n} integers, got ${describe(v)}`);
}

export function checkInt(cls, what, v, { min = -Infinity } = {}) {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new TorchError(`${cls}: ${what} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${describe(v)}`);
  return v;
}

export function checkBool(cls, what, v) {
  if (typeof v !== 'boolean') throw new TorchError(`${cls}: ${what} must be a boolean, got ${describe(v)}`);
  return v;
}

const isTypedArray = (v) => ArrayBuffer.isView(v) && !(v instanceof DataView);

/**
 * Checks a forward() input: a Tensor, or (unless `typedArray` is false, for
 * layers that call Tensor methods on it) a typed array, which nn.functional
 * reads as a 1-D tensor. Every layer checks its inputs with this, so a wrong
 * input is a TorchError naming the layer and the argument.
 * @param {{_getName(): string}} layer the module whose forward runs (named in the message)
 * @param {any} v
 * @param {string} [what] the argument's name
 * @param {{typedArray?: boolean}} [opts]
 */
export function checkInput(layer, v, what = 'input', { typedArray = true } = {}) {
  if (v instanceof Tensor || (typedArray && isTypedArray(v))) return v;
  throw new TorchError(`${layer._getName()}.forward(): argument '${what}' must be a Tensor, got ${describe(v)}`);
}

/** The shape of a checked forward input (a typed array is 1-D). */
export const shapeOf = (v) => (v instanceof Tensor ? v.shape : [v.length]);
