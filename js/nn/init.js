// nn.init: in-place initialisers with PyTorch's formulas (fans, gains),
// each run without recording gradients, each returning its tensor. Every
// argument is checked before the tensor is touched.
import { Tensor } from '../tensor.js';
import { TorchError } from '../errors.js';
import { parseArgs, describe, checkNumber } from '../args.js';
import { env } from './module.js';

function need(fname, t) {
  if (!(t instanceof Tensor)) throw new TorchError(`${fname}(): tensor must be a Tensor, got ${describe(t)}`);
  return t;
}
const noGrad = (fn) => env.torch.noGrad(fn);

/**
 * The recommended gain for a nonlinearity (PyTorch's calculate_gain).
 * @param {string} nonlinearity 'linear', 'conv2d', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu', …
 * @param {number|null} [param] leaky_relu's negative slope (default 0.01)
 */
export function calculateGain(nonlinearity, param = null) {
  if (typeof nonlinearity !== 'string') throw new TorchError(`Unsupported nonlinearity ${describe(nonlinearity)}`);
  const linear = ['linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d'];
  if (linear.includes(nonlinearity) || nonlinearity === 'sigmoid') return 1;
  if (nonlinearity === 'tanh') return 5.0 / 3;
  if (nonlinearity === 'relu') return Math.sqrt(2.0);
  if (nonlinearity === 'leaky_relu') {
    let slope;
    if (param === null || param === undefined) slope = 0.01;
    else if (typeof param === 'number' && !Number.isNaN(param)) slope = param;
    else throw new TorchError(`negative_slope ${describe(param)} not a valid number`);
    return Math.sqrt(2.0 / (1 + slope ** 2));
  }
  if (nonlinearity === 'selu') return 3.0 / 4;
  throw new TorchError(`Unsupported nonlinearity ${nonlinearity}`);
}

/** [fanIn, fanOut] of a weight: dim 1 and dim 0 times the receptive field. */
export function calculateFanInAndFanOut(tensor) {
  const s = need('_calculateFanInAndFanOut', tensor).shape;
  if (s.length < 2) throw new TorchError('Fan in and fan out can not be computed for tensor with fewer than 2 dimensions');
  let rf = 1;
  for (let i = 2; i < s.length; i++) rf *= s[i];
  return [s[1] * rf, s[0] * rf];
}

/** 'fan_in' or 'fan_out' (any case), lower-cased. */
function fanMode(mode) {
  const m = typeof mode === 'string' ? mode.toLowerCase() : null;
  if (m !== 'fan_in' && m !== 'fan_out')
    throw new TorchError(`Mode ${typeof mode === 'string' ? mode : describe(mode)} not supported, please use one of fan_in, fan_out`);
  return m;
}

/** Fills with U(a, b). @example nn.init.uniform_(w, -0.1, 0.1) */
export function uniform_(tensor, ...args) {
  need('uniform_', tensor);
  const { a, b } = parseArgs('uniform_', args, ['a', 'b'], { a: 0, b: 1 });
  checkNumber('uniform_', a, 'a');
  checkNumber('uniform_', b, 'b');
  return noGrad(() => tensor.uniform_(a, b));
}
/** Fills with N(mean, std²). */
export function normal_(tensor, ...args) {
  need('normal_', tensor);
  const { mean, std } = parseArgs('normal_', args, ['mean', 'std'], { mean: 0, std: 1 });
  checkNumber('normal_', mean, 'mean');
  checkNumber('normal_', std, 'std');
  return noGrad(() => tensor.normal_(mean, std));
}
/** Fills with `val`. */
export function constant_(tensor, val) {
  need('constant_', tensor);
  return noGrad(() => tensor.fill_(val));
}
export function zeros_(tensor) { return constant_(tensor, 0); }
export function ones_(tensor) { return constant_(tensor, 1); }

/** Fills a 2-D tensor with the identity (ones on the diagonal). */
export function eye_(tensor) {
  need('eye_', tensor);
  if (tensor.ndim !== 2) throw new TorchError('Only tensors with 2 dimensions are supported');
  return noGrad(() => {
    const e = env.torch.eye(tensor.shape[0], tensor.shape[1], { dtype: tensor.dtype });
    try { return tensor.copy_(e); } finally { e.dispose(); }
  });
}

/**
 * Glorot uniform: U(-a, a), a = gain * sqrt(6 / (fanIn + fanOut)).
 * @param {Tensor} tensor
 * @param {number} [gain=1]
 */
export function xavierUniform_(tensor, ...args) {
  need('xavierUniform_', tensor);
  const gain = checkNumber('xavierUniform_', parseArgs('xavierUniform_', args, ['gain'], { gain: 1 }).gain, 'gain');
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  const a = Math.sqrt(3.0) * std;
  return noGrad(() => tensor.uniform_(-a, a));
}
/** Glorot normal: N(0, std²), std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(tensor, ...args) {
  need('xavierNormal_', tensor);
  const gain = checkNumber('xavierNormal_', parseArgs('xavierNormal_', args, ['gain'], { gain: 1 }).gain, 'gain');
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  return noGrad(() => tensor.normal_(0, std));
}

/** gain / sqrt(fan), or null for a zero-element tensor (which PyTorch leaves as it is). */
function kaimingStd(fname, tensor, args) {
  need(fname, tensor);
  const o = parseArgs(fname, args, ['a', 'mode', 'nonlinearity'], { a: 0, mode: 'fan_in', nonlinearity: 'leaky_relu' });
  const mode = fanMode(o.mode), gain = calculateGain(o.nonlinearity, o.a);
  if (tensor.shape.includes(0)) return null;
  const [fanIn, fanOut] = calculateFanInAndFanOut(tensor);
  return gain / Math.sqrt(mode === 'fan_in' ? fanIn : fanOut);
}
/**
 * He uniform: U(-bound, bound), bound = gain * sqrt(3 / fan). PyTorch's
 * Linear and Conv use a = sqrt(5), which gives bound = 1 / sqrt(fanIn).
 * @param {Tensor} tensor
 * @param {number} [a=0] negative slope of the leaky_relu that follows
 * @param {'fan_in'|'fan_out'} [mode='fan_in']
 * @param {string} [nonlinearity='leaky_relu']
 * @example nn.init.kaimingUniform_(w, { a: Math.sqrt(5) })
 */
export function kaimingUniform_(tensor, ...args) {
  const std = kaimingStd('kaimingUniform_', tensor, args);
  if (std === null) return tensor; // PyTorch warns and skips
  const bound = Math.sqrt(3.0) * std;
  return noGrad(() => tensor.uniform_(-bound, bound));
}
/** He normal: N(0, std²), std = gain / sqrt(fan). */
export function kaimingNormal_(tensor, ...args) {
  const std = kaimingStd('kaimingNormal_', tensor, args);
  if (std === null) return tensor;
  return noGrad(() => tensor.normal_(0, std));
}

/** Everything, as installed at torch.nn.init. */
export const init = {
  calculateGain, uniform_, normal_, constant_, zeros_, ones_, eye_, xavierUniform_, xavierNormal_,
  kaimingUniform_, kaimingNormal_, _calculateFanInAndFanOut: calculateFanInAndFanOut,
};
