// torch.nn.functional (torch.F): convolutions, pooling, normalisation,
// embedding, dropout, padding and the losses, with PyTorch's signatures.
// Ops with a C implementation (src/ops/ops_nn_*.c) are one call into
// WebAssembly each; the other losses are JavaScript composites of public
// ops, run inside torch.scope so their temporaries are freed. A typed
// array (or an index array) given for a tensor becomes a tensor that lives
// only for the call (`scoped`): freed when it returns or throws. The
// activations (relu, gelu, softmax, ...) are installed by the unary and
// reduce families and kept as they are.
import { Tensor, callOp, asTensor, assign, fromTypedArray, opId } from '../tensor.js';
import { collectTensors } from '../memory.js';
import { parseArgs, checkInt, checkNumber, describe } from '../args.js';
import { TorchError } from '../errors.js';
import { initChain } from './chain.js';

const ID = {};
let torch = null;

const isFloat = (t) => t.dtype === 'float32' || t.dtype === 'float64';
const sizeStr = (shape) => `torch.Size([${shape.join(', ')}])`;

/**
 * The tensors made from typed-array (and index-array) arguments by the F
 * function running now; `scoped` disposes them when it returns or throws.
 */
let temps = null;
const temp = (t) => { temps.push(t); return t; };

/**
 * Wraps an F function so that the tensors its arguments were converted into
 * are disposed when it returns or throws (except any it returns), however
 * many arguments were converted before one was rejected.
 */
function scoped(fn) {
  const wrapped = (...args) => {
    const outer = temps;
    temps = [];
    let result;
    try {
      result = fn(...args);
      return result;
    } finally {
      const mine = temps;
      temps = outer;
      if (mine.length) {
        const keep = collectTensors(result);
        for (const t of mine) if (!keep.has(t)) t.dispose();
      }
    }
  };
  Object.defineProperty(wrapped, 'name', { value: fn.name });
  return wrapped;
}

/** A Tensor argument; a typed array becomes a 1-D tensor (a temporary of the running F function). */
function tensorArg(fname, v, what = 'input') {
  if (v instanceof Tensor) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return temp(asTensor(v));
  throw new TorchError(`${fname}(): argument '${what}' must be a Tensor, got ${describe(v)}`);
}
function optTensor(fname, v, what) {
  return v === null || v === undefined ? null : tensorArg(fname, v, what);
}
/** Class-index targets: int32 Tensors, Int32Arrays or arrays of integers. */
function targetArg(fname, v, what = 'target') {
  if (Array.isArray(v)) {
    for (const x of v) checkInt(fname, x, what);
    return temp(fromTypedArray(Int32Array.from(v), [v.length], 'int32'));
  }
  return tensorArg(fname, v, what);
}

/** An int or an array of n ints, as an array of n ints (PyTorch's _pair). */
function tuple(fname, what, v, n) {
  if (typeof v === 'number' && Number.isInteger(v)) return new Array(n).fill(v);
  if (Array.isArray(v) && v.length === 1 && Number.isInteger(v[0])) return new Array(n).fill(v[0]);
  if (Array.isArray(v) && v.length === n && v.every(Number.isInteger)) return v.slice();
  if (Array.isArray(v) && v.every(Number.isInteger))
    throw new TorchError(`expected ${what} to be a single integer value or a list of ${n} values to match the convolution dimensions, but got ${what}=[${v.join(', ')}]`);
  throw new TorchError(`${fname}(): ${what} must be an integer or an array of ${n} integers, got ${describe(v)}`);
}

/** PyTorch's message for a required parameter that was not given. */
function required(fname, a, name, pyName) {
  if (a[name] === undefined || a[name] === null)
    throw new TorchError(`${fname}() missing 1 required positional argument: '${pyName}'`);
  return a[name];
}

const REDUCTIONS = { none: 0, mean: 1, sum: 2 };
let warnedLegacy = false;
/** reduction, or the legacy sizeAverage / reduce pair (PyTorch's legacy_get_string). */
function reductionOf(a) {
  let r = a.reduction;
  if ((a.sizeAverage !== null && a.sizeAverage !== undefined) || (a.reduce !== null && a.reduce !== undefined)) {
    if (!warnedLegacy) {
      warnedLegacy = true;
      console.warn("size_average and reduce args will be deprecated, please use reduction='mean' instead.");
    }
    const sa = a.sizeAverage ?? true, red = a.reduce ?? true;
    r = !red ? 'none' : sa ? 'mean' : 'sum';
  }
  if (!(r in REDUCTIONS)) throw new TorchError(`${typeof r === 'string' ? r : describe(r)} is not a valid value for reduction`);
  return r;
}
const reduceBy = (loss, r) => (r === 'none' ? loss : r === 'sum' ? loss.sum() : loss.mean());

const warned = new Set();
function warnSizeMismatch(fname, input, target) {
  const same = input.shape.length === target.shape.length && input.shape.every((s, i) => s === target.shape[i]);
  if (same || warned.has(fname)) return;
  warned.add(fname);
  console.warn(`Using a target size (${sizeStr(target.shape)}) that is different to the input size (${sizeStr(input.shape)}). ` +
    'This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.');
}

// ---- linear ---------------------------------------------------------------------

/**
 * y = x W^T + b (one call into WebAssembly).
 * @param {Tensor} input [..., in]
 * @param {Tensor} weight [out, in]
 * @param {Tensor|null} [bias] [out]
 * @returns {Tensor} [..., out]
 * @example F.linear(torch.randn([4, 3]), torch.randn([2, 3]), torch.zeros([2])).shape // [4, 2]
 */
function linear(input, weight, ...rest) {
  const { bias } = parseArgs('linear', rest, ['bias'], { bias: null });
  const x = tensorArg('linear', input), w = tensorArg('linear', weight, 'weight'), b = optTensor('linear', bias, 'bias');
  return callOp(ID.linear, b ? [x, w, b] : [x, w]);
}

/**
 * y[..., o] = x1 W[o] x2 + b[o].
 * @param {Tensor} input1 [..., in1]
 * @param {Tensor} input2 [..., in2]
 * @param {Tensor} weight [out, in1, in2]
 * @param {Tensor|null} [bias] [out]
 */
function bilinear(input1, input2, weight, ...rest) {
  const { bias } = parseArgs('bilinear', rest, ['bias'], { bias: null });
  const a = tensorArg('bilinear', input1, 'input1'), c = tensorArg('bilinear', input2, 'input2');
  const w = tensorArg('bilinear', weight, 'weight'), b = optTensor('bilinear', bias, 'bias');
  return callOp(ID.bilinear, b ? [a, c, w, b] : [a, c, w]);
}

// ---- convolutions ----------------------------------------------------------------

/**
 * The padding of a convolution: per-dim (lo, hi) pairs from an int, an
 * array, 'valid' or 'same' (PyTorch's _convolution_mode).
 */
function convPadding(fname, padding, kernel, dilation, stride) {
  const n = kernel.length;
  if (typeof padding === 'string') {
    if (padding === 'valid') return kernel.map(() => [0, 0]);
    if (padding !== 'same') throw new TorchError(`Invalid padding string: '${padding}'`);
    if (stride.some((s) => s !== 1)) throw new TorchError("padding='same' is not supported for strided convolutions");
    return kernel.map((k, d) => {
      const total = dilation[d] * (k - 1);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
  }
  return tuple(fname, 'padding', padding, n).map((p) => [p, p]);
}

/** Pads x by (hi - lo) where a convolution's padding is asymmetric; returns [x', symmetric padding]. */
function prepad(x, pairs) {
  const sym = pairs.map(([lo, hi]) => Math.min(lo, hi));
  if (pairs.every(([lo, hi]) => lo === hi)) return [x, sym];
  const pads = [];
  for (let d = pairs.length - 1; d >= 0; d--) pads.push(pairs[d][0] - sym[d], pairs[d][1] - sym[d]);
  return [callOp(ID.pad, [x], pads, [0]), sym];
}

function convNd(fname, n, input, weight, rest) {
  const a = parseArgs(fname, rest, ['bias', 'stride', 'padding', 'dilation', 'groups'],
    { bias: null, stride: 1, padding: 0, dilation: 1, groups: 1 });
  const x = tensorArg(fname, input), w = tensorArg(fname, weight, 'weight'), b = optTensor(fname, a.bias, 'bias');
  const stride = tuple(fname, 'stride', a.stride, n), dilation = tuple(fname, 'dilation', a.dilation, n);
  checkInt(fname, a.groups, 'groups');
  if (w.ndim !== n + 2)
    throw new TorchError(`${fname}(): expected a ${n + 2}-dimensional weight, but got weight of size [${w.shape.join(', ')}]`);
  const pairs = convPadding(fname, a.padding, w.shape.slice(2), dilation, stride);
  const [xp, sym] = prepad(x, pairs);
  try {
    const ints = n === 2 ? [...stride, ...sym, ...dilation, a.groups] : [stride[0], sym[0], dilation[0], a.groups];
    return callOp(n === 2 ? ID.conv2d : ID.conv1d, b ? [xp, w, b] : [xp, w], ints);
  } finally {
    if (xp !== x) xp.dispose();
  }
}

/**
 * 2-D convolution over [N, C, H, W] (or [C, H, W]) input, weight [O, C / groups, kH, kW].
 * stride, padding, dilation: an int or [h, w]; padding may be 'same' or 'valid'.
 * @example F.conv2d(x, w, b, { stride: 2, padding: 1 })
 */
const conv2d = (input, weight, ...rest) => convNd('conv2d', 2, input, weight, rest);
/** 1-D convolution over [N, C, L] (or [C, L]) input, weight [O, C / groups, k]. */
const conv1d = (input, weight, ...rest) => convNd('conv1d', 1, input, weight, rest);

/**
 * Transposed 2-D convolution: weight [C_in, C_out / groups, kH, kW].
 * @example F.convTranspose2d(x, w, null, { stride: 2, outputPadding: 1 })
 */
function convTranspose2d(input, weight, ...rest) {
  const a = parseArgs('conv_transpose2d', rest, ['bias', 'stride', 'padding', 'outputPadding', 'groups', 'dilation'],
    { bias: null, stride: 1, padding: 0, outputPadding: 0, groups: 1, dilation: 1 });
  const f = 'conv_transpose2d';
  const x = tensorArg(f, input), w = tensorArg(f, weight, 'weight'), b = optTensor(f, a.bias, 'bias');
  if (typeof a.padding === 'string') throw new TorchError(`${f}(): padding must be an integer or an array of 2 integers, got '${a.padding}'`);
  const ints = [...tuple(f, 'stride', a.stride, 2), ...tuple(f, 'padding', a.padding, 2),
    ...tuple(f, 'output_padding', a.outputPadding, 2), ...tuple(f, 'dilation', a.dilation, 2), checkInt(f, a.groups, 'groups')];
  return callOp(ID.conv_transpose2d, b ? [x, w, b] : [x, w], ints);
}

// ---- pooling ---------------------------------------------------------------------

function poolTuple(fname, what, v) {
  if (typeof v === 'number' && Number.isInteger(v)) return [v, v];
  if (Array.isArray(v) && (v.length === 1 || v.length === 2) && v.every(Number.isInteger)) return v.length === 1 ? [v[0], v[0]] : v.slice();
  throw new TorchError(`${fname}(): ${what} must be an integer or an array of 2 integers, got ${describe(v)}`);
}
const strideOr = (fname, stride, k) =>
  stride === null || stride === undefined || (Array.isArray(stride) && stride.length === 0) ? k : poolTuple(fname, 'stride', stride);

/**
 * 2-D max pooling. Returns the values, or [values, int32 indices] with returnIndices.
 * @example F.maxPool2d(x, 2)                                  // stride defaults to the kernel
 * @example const [y, idx] = F.maxPool2d(x, 3, 2, 1, { returnIndices: true })
 */
function maxPool2d(input, ...rest) {
  const f = 'max_pool2d';
  const a = parseArgs(f, rest, ['kernelSize', 'stride', 'padding', 'dilation', 'ceilMode', 'returnIndices'],
    { stride: null, padding: 0, dilation: 1, ceilMode: false, returnIndices: false });
  const k = poolTuple(f, 'kernel_size', required(f, a, 'kernelSize', 'kernel_size'));
  const x = tensorArg(f, input);
  const ints = [...k, ...strideOr(f, a.stride, k), ...poolTuple(f, 'padding', a.padding), ...poolTuple(f, 'dilation', a.dilation), a.ceilMode ? 1 : 0];
  const [values, indices] = callOp(ID.max_pool2d, [x], ints);
  if (a.returnIndices) return [values, indices];
  indices.dispose();
  return values;
}

/**
 * 2-D average pooling.
 * @example F.avgPool2d(x, 3, 2, 1, { countIncludePad: false })
 */
function avgPool2d(input, ...rest) {
  const f = 'avg_pool2d';
  const a = parseArgs(f, rest, ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'],
    { stride: null, padding: 0, ceilMode: false, countIncludePad: true, divisorOverride: null });
  const k = poolTuple(f, 'kernel_size', required(f, a, 'kernelSize', 'kernel_size'));
  const x = tensorArg(f, input);
  let div = 0;
  if (a.divisorOverride !== null && a.divisorOverride !== undefined) {
    div = checkInt(f, a.divisorOverride, 'divisor_override');
    if (div === 0) throw new TorchError('divisor must be not zero');
    if (div < 0) throw new TorchError(`${f}(): divisor_override must be positive, got ${div}`);
  }
  const ints = [...k, ...strideOr(f, a.stride, k), ...poolTuple(f, 'padding', a.padding), a.ceilMode ? 1 : 0,
    a.countIncludePad ? 1 : 0, div];
  return callOp(ID.avg_pool2d, [x], ints);
}

/**
 * Average pooling to outputSize (an int, or [h, w] where null keeps that input size).
 * @example F.adaptiveAvgPool2d(x, 1)   // global average pooling
 */
function adaptiveAvgPool2d(input, ...rest) {
  const f = 'adaptive_avg_pool2d';
  const outputSize = required(f, parseArgs(f, rest, ['outputSize']), 'outputSize', 'output_size');
  const x = tensorArg(f, input);
  let o;
  if (typeof outputSize === 'number' && Number.isInteger(outputSize)) o = [outputSize, outputSize];
  else if (Array.isArray(outputSize) && outputSize.length === 2 && outputSize.every((v) => v === null || Number.isInteger(v)))
    o = outputSize.map((v, i) => (v === null ? x.shape[x.ndim - 2 + i] ?? -1 : v));
  else throw new TorchError(`${f}(): output_size must be an integer or an array of 2 integers (or nulls), got ${describe(outputSize)}`);
  return callOp(ID.adaptive_avg_pool2d, [x], o);
}

// ---- dropout, normalisation, embedding, padding -----------------------------------------

/**
 * Zeroes each element with probability p during training and scales the rest by 1 / (1 - p).
 * @example F.dropout(x, 0.1, model.training)
 */
function dropout(input, ...rest) {
  const { p, training, inplace } = parseArgs('dropout', rest, ['p', 'training', 'inplace'], { p: 0.5, training: true, inplace: false });
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw new TorchError(`dropout probability has to be between 0 and 1, but got ${typeof p === 'number' ? p : describe(p)}`);
  const x = tensorArg('dropout', input);
  const y = callOp(ID.dropout, [x], [training ? 1 : 0], [p]);
  if (!inplace) return y;
  try { return assign(x, y); } finally { y.dispose(); }
}

/**
 * Batch normalisation over dim 1. training uses batch statistics and
 * updates runningMean/runningVar in place (unbiased variance, momentum).
 * @example F.batchNorm(x, rm, rv, w, b, true, 0.1, 1e-5)
 */
function batchNorm(input, runningMean, runningVar, ...rest) {
  const f = 'batch_norm';
  const a = parseArgs(f, rest, ['weight', 'bias', 'training', 'momentum', 'eps'],
    { weight: null, bias: null, training: false, momentum: 0.1, eps: 1e-5 });
  const x = tensorArg(f, input), rm = optTensor(f, runningMean, 'running_mean'), rv = optTensor(f, runningVar, 'running_var');
  const w = optTensor(f, a.weight, 'weight'), b = optTensor(f, a.bias, 'bias');
  if (!rm !== !rv) throw new TorchError(`${f}(): running_mean and running_var must both be given or both be null`);
  if (!rm && !a.training) throw new TorchError(`${f}(): running_mean and running_var must be given when training is false`);
  checkNumber(f, a.momentum ?? 0, 'momentum');
  checkNumber(f, a.eps, 'eps');
  const ins = [x];
  if (w) ins.push(w);
  if (b) ins.push(b);
  if (rm) ins.push(rm, rv);
  return callOp(ID.batch_norm, ins, [a.training ? 1 : 0, w ? 1 : 0, b ? 1 : 0, rm ? 1 : 0], [a.momentum ?? 0, a.eps]);
}

/**
 * Layer normalisation over the trailing dims given by normalizedShape.
 * @example F.layerNorm(x, [x.shape.at(-1)], w, b)
 */
function layerNorm(input, ...rest) {
  const f = 'layer_norm';
  const a = parseArgs(f, rest, ['normalizedShape', 'weight', 'bias', 'eps'], { weight: null, bias: null, eps: 1e-5 });
  const normalizedShape = required(f, a, 'normalizedShape', 'normalized_shape');
  const ns = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
  if (!Array.isArray(ns) || !ns.every(Number.isInteger))
    throw new TorchError(`${f}(): normalized_shape must be an integer or an array of integers, got ${describe(normalizedShape)}`);
  const x = tensorArg(f, input), w = optTensor(f, a.weight, 'weight'), b = optTensor(f, a.bias, 'bias');
  checkNumber(f, a.eps, 'eps');
  const ins = [x];
  if (w) ins.push(w);
  if (b) ins.push(b);
  return callOp(ID.layer_norm, ins, [ns.length, w ? 1 : 0, b ? 1 : 0, ...ns], [a.eps]);
}

/** Group normalisation: channels (dim 1) split into numGroups groups. */
function groupNorm(input, ...rest) {
  const f = 'group_norm';
  const a = parseArgs(f, rest, ['numGroups', 'weight', 'bias', 'eps'], { weight: null, bias: null, eps: 1e-5 });
  const numGroups = checkInt(f, required(f, a, 'numGroups', 'num_groups'), 'num_groups');
  const x = tensorArg(f, input), w = optTensor(f, a.weight, 'weight'), b = optTensor(f, a.bias, 'bias');
  checkNumber(f, a.eps, 'eps');
  const ins = [x];
  if (w) ins.push(w);
  if (b) ins.push(b);
  return callOp(ID.group_norm, ins, [numGroups, w ? 1 : 0, b ? 1 : 0], [a.eps]);
}

/**
 * Rows of weight at int32 indices; the paddingIdx row gets no gradient.
 * maxNorm renormalises the looked-up rows of weight in place first.
 * @example F.embedding(new Int32Array([1, 2]), weight)
 */
function embedding(input, weight, ...rest) {
  const f = 'embedding';
  const a = parseArgs(f, rest, ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse'],
    { paddingIdx: null, maxNorm: null, normType: 2.0, scaleGradByFreq: false, sparse: false });
  if (a.scaleGradByFreq) throw new TorchError(`${f}(): scale_grad_by_freq is not supported`);
  if (a.sparse) throw new TorchError(`${f}(): sparse gradients are not supported`);
  const idx = targetArg(f, input), w = tensorArg(f, weight, 'weight');
  let pidx = -(2 ** 31);
  if (a.paddingIdx !== null && a.paddingIdx !== undefined) {
    checkInt(f, a.paddingIdx, 'padding_idx');
    const n = w.shape[0];
    if (a.paddingIdx >= n || a.paddingIdx < -n) throw new TorchError('Padding_idx must be within num_embeddings');
    pidx = a.paddingIdx < 0 ? a.paddingIdx + n : a.paddingIdx;
  }
  if (a.maxNorm !== null && a.maxNorm !== undefined) renorm(idx, w, checkNumber(f, a.maxNorm, 'max_norm'), a.normType);
  return callOp(ID.embedding, [w, idx], [pidx]);
}

/** PyTorch's embedding_renorm_: rows looked up with norm > maxNorm are scaled to maxNorm, in place, without grad. */
function renorm(idx, w, maxNorm, normType) {
  torch.noGrad(() => torch.scope(() => {
    if (idx.dtype !== 'int32') return;
    const rows = new Set(idx.toTypedArray());
    const n = w.shape[0], scale = new Float64Array(n).fill(1);
    const norms = torch.norm(w.detach(), normType, 1).toTypedArray();
    for (const r of rows) if (r >= 0 && r < n && norms[r] > maxNorm) scale[r] = maxNorm / (norms[r] + 1e-7);
    const s = torch.tensor(scale, { dtype: w.dtype }).reshape([n, ...w.shape.slice(1).map(() => 1)]);
    assign(w, w.detach().mul(s));
  }));
}

const PAD_MODES = { constant: 0, reflect: 1, replicate: 2, circular: 3 };
/**
 * Pads the last dims: pad = [left, right, top, bottom, ...] (last dim first).
 * mode 'constant' (value, default 0), 'reflect', 'replicate' or 'circular'.
 * @example F.pad(x, [1, 1, 2, 0], 'constant', 0.5)
 */
function pad(input, ...rest) {
  const f = 'pad';
  const a = parseArgs(f, rest, ['pad', 'mode', 'value'], { mode: 'constant', value: null });
  const padList = required(f, a, 'pad', 'pad');
  if (!Array.isArray(padList) || !padList.every(Number.isInteger))
    throw new TorchError(`${f}(): pad must be an array of integers, got ${describe(padList)}`);
  if (!(a.mode in PAD_MODES)) throw new TorchError(`Unrecognised padding mode ${a.mode}`);
  const x = tensorArg(f, input);
  if (padList.length % 2) throw new TorchError('Padding length must be divisible by 2');
  if (padList.length / 2 > x.ndim) throw new TorchError('Padding length too large');
  if (a.mode === 'constant') return callOp(ID.pad, [x], padList, [a.value === null ? 0 : checkNumber(f, a.value, 'value')]);
  if (a.value !== null && a.value !== 0) throw new TorchError(`Padding mode "${a.mode}" doesn't take in value argument`);
  return callOp(ID.pad_indexed, [x], [PAD_MODES[a.mode], ...padList]);
}

// ---- losses ------------------------------------------------------------------------

const LOSS_NAMES = ['weight', 'sizeAverage', 'ignoreIndex', 'reduce', 'reduction'];
const LOSS_DEFAULTS = { weight: null, sizeAverage: null, ignoreIndex: -100, reduce: null, reduction: 'mean' };

/**
 * Cross-entropy of logits (class dim 1, or 0 for a 1-D input) against
 * int32 class indices or class probabilities (same shape as the input).
 * @example F.crossEntropy(logits, new Int32Array([0, 3]), { labelSmoothing: 0.1 })
 */
function crossEntropy(input, target, ...rest) {
  const f = 'cross_entropy';
  const a = parseArgs(f, rest, [...LOSS_NAMES, 'labelSmoothing'], { ...LOSS_DEFAULTS, labelSmoothing: 0.0 });
  const r = reductionOf(a);
  checkNumber(f, a.labelSmoothing, 'label_smoothing');
  checkInt(f, a.ignoreIndex, 'ignore_index');
  const x = tensorArg(f, input), t = targetArg(f, target), w = optTensor(f, a.weight, 'weight');
  return callOp(ID.cross_entropy, w ? [x, t, w] : [x, t], [REDUCTIONS[r], a.ignoreIndex, w ? 1 : 0], [a.labelSmoothing]);
}

/**
 * Negative log-likelihood of log-probabilities against int32 class indices.
 * @example F.nllLoss(F.logSoftmax(x, 1), target, { reduction: 'sum' })
 */
function nllLoss(input, target, ...rest) {
  const f = 'nll_loss';
  const a = parseArgs(f, rest, LOSS_NAMES, LOSS_DEFAULTS);
  const r = reductionOf(a);
  checkInt(f, a.ignoreIndex, 'ignore_index');
  const x = tensorArg(f, input), t = targetArg(f, target), w = optTensor(f, a.weight, 'weight');
  return callOp(ID.nll_loss, w ? [x, t, w] : [x, t], [REDUCTIONS[r], a.ignoreIndex, w ? 1 : 0]);
}

const PAIR_NAMES = ['sizeAverage', 'reduce', 'reduction'];
const PAIR_DEFAULTS = { sizeAverage: null, reduce: null, reduction: 'mean' };

/** Mean squared error (one call into WebAssembly). */
function mseLoss(input, target, ...rest) {
  const f = 'mse_loss';
  const a = parseArgs(f, rest, PAIR_NAMES, PAIR_DEFAULTS);
  const r = reductionOf(a);
  const x = tensorArg(f, input), t = tensorArg(f, target, 'target');
  warnSizeMismatch(f, x, t);
  return callOp(ID.mse_loss, [x, t], [REDUCTIONS[r]]);
}

/** A JavaScript composite loss: body() and the reduction, in a scope that frees the intermediates. */
const composite = (r, body) => torch.scope(() => reduceBy(body(), r));

/** Mean absolute error. */
function l1Loss(input, target, ...rest) {
  const f = 'l1_loss';
  const r = reductionOf(parseArgs(f, rest, PAIR_NAMES, PAIR_DEFAULTS));
  const x = tensorArg(f, input), t = tensorArg(f, target, 'target');
  return composite(r, () => {
    warnSizeMismatch(f, x, t);
    return x.sub(t).abs();
  });
}

/** Huber-like loss: 0.5 d^2 / beta where |d| < beta, else |d| - beta / 2. */
function smoothL1Loss(input, target, ...rest) {
  const f = 'smooth_l1_loss';
  const a = parseArgs(f, rest, [...PAIR_NAMES, 'beta'], { ...PAIR_DEFAULTS, beta: 1.0 });
  const r = reductionOf(a);
  checkNumber(f, a.beta, 'beta');
  if (a.beta < 0) throw new TorchError('smooth_l1_loss does not support negative values for beta.');
  const x = tensorArg(f, input), t = tensorArg(f, target, 'target');
  return composite(r, () => {
    warnSizeMismatch(f, x, t);
    const d = x.sub(t).abs();
    if (a.beta === 0) return d;
    return torch.where(d.lt(a.beta), d.square().mul(0.5 / a.beta), d.sub(0.5 * a.beta));
  });
}

/** max(log(v), -100) with a zero gradient where v == 0 (PyTorch clamps the log). */
function clampedLog(v) {
  const pos = v.gt(0);
  const safe = torch.where(pos, v, 1);
  return torch.where(pos, safe.log().clampMin(-100), -100);
}

/**
 * Binary cross-entropy of probabilities (logs clamped to -100, as PyTorch).
 * @example F.binaryCrossEntropy(torch.sigmoid(z), y, { weight: w })
 */
function binaryCrossEntropy(input, target, ...rest) {
  const f = 'binary_cross_entropy';
  const a = parseArgs(f, rest, ['weight', ...PAIR_NAMES], { weight: null, ...PAIR_DEFAULTS });
  const r = reductionOf(a);
  const x = tensorArg(f, input), t = tensorArg(f, target, 'target');
  const same = x.shape.length === t.shape.length && x.shape.every((s, i) => s === t.shape[i]);
  if (!same)
    throw new TorchError(`Using a target size (${sizeStr(t.shape)}) that is different to the input size (${sizeStr(x.shape)}) is deprecated. Please ensure they have the same size.`);
  const w = optTensor(f, a.weight, 'weight');
  return composite(r, () => {
    const l = t.mul(clampedLog(x)).add(torch.sub(1, t).mul(clampedLog(torch.sub(1, x)))).neg();
    return w ? l.mul(w) : l;
  });
}

/**
 * Binary cross-entropy of logits, computed stably; posWeight weighs the positive class.
 * @example F.binaryCrossEntropyWithLogits(z, y, { posWeight: torch.tensor([3]) })
 */
function binaryCrossEntropyWithLogits(input, target, ...rest) {
  const f = 'binary_cross_entropy_with_logits';
  const a = parseArgs(f, rest, ['weight', ...PAIR_NAMES, 'posWeight'], { weight: null, ...PAIR_DEFAULTS, posWeight: null });
  const r = reductionOf(a);
  const x = tensorArg(f, input), t = tensorArg(f, target, 'target');
  const same = x.shape.length === t.shape.length && x.shape.every((s, i) => s === t.shape[i]);
  if (!same) throw new TorchError(`Target size (${sizeStr(t.shape)}) must be the same as input size (${sizeStr(x.shape)})`);
  const w = optTensor(f, a.weight, 'weight'), pw = optTensor(f, a.posWeight, 'pos_weight');
  return composite(r, () => {
    const sp = torch.F.softplus(x.neg()); // log(1 + exp(-x)), stable
    const lw = pw ? pw.sub(1).mul(t).add(1) : null;
    const l = torch.sub(1, t).mul(x).add(lw ? lw.mul(sp) : sp);
    return w ? l.mul(w) : l;
  });
}

let warnedKl = false;
/**
 * Kullback-Leibler divergence with input in log space; target in
 * probabilities (or log space with logTarget). reduction 'batchmean'
 * divides the sum by the batch size.
 */
function klDiv(input, target, ...rest) {
  const f = 'kl_div';
  const a = parseArgs(f, rest, [...PAIR_NAMES, 'logTarget'], { ...PAIR_DEFAULTS, logTarget: false });
  const batchmean = a.reduction === 'batchmean' && a.sizeAverage == null && a.reduce == null;
  const r = batchmean ? 'sum' : reductionOf(a);
  if (r === 'mean' && !warnedKl) {
    warnedKl = true;
    console.warn("reduction: 'mean' divides the total loss by both the batch size and the support size.'batchmean' divides only by the batch size, and aligns with the KL div math definition.'mean' will be changed to behave the same as 'batchmean' in the next major release.");
  }
  const x = tensorArg(f, input), t = tensorArg(f, target, 'target');
  const out = composite(r, () => {
    if (a.logTarget) return t.exp().mul(t.sub(x));
    const zero = t.eq(0);
    const xlogy = torch.where(zero, 0, t.mul(torch.where(zero, 1, t).log()));
    return xlogy.sub(t.mul(x));
  });
  if (!batchmean || x.ndim === 0) return out;
  try { return out.div(x.shape[0]); } finally { out.dispose(); }
}

/**
 * Cosine similarity along dim: x1 . x2 / (max(|x1|, eps) max(|x2|, eps)).
 * @example F.cosineSimilarity(a, b, { dim: 0 })
 */
function cosineSimilarity(x1, x2, ...rest) {
  const f = 'cosine_similarity';
  const a = parseArgs(f, rest, ['dim', 'eps'], { dim: 1, eps: 1e-8 });
  checkInt(f, a.dim, 'dim');
  checkNumber(f, a.eps, 'eps');
  const u = tensorArg(f, x1, 'x1'), v = tensorArg(f, x2, 'x2');
  return composite('none', () => {
    const w12 = u.mul(v).sum(a.dim);
    const n1 = torch.norm(u, 2, a.dim).clampMin(a.eps), n2 = torch.norm(v, 2, a.dim).clampMin(a.eps);
    return w12.div(n1.mul(n2));
  });
}

/**
 * softmax(Q K^T * scale + mask) V, with PyTorch 2's options.
 * attnMask: a bool mask (true = attend) or an additive float mask.
 * @example F.scaledDotProductAttention(q, k, v, { isCausal: true })
 */
function scaledDotProductAttention(query, key, value, ...rest) {
  const f = 'scaled_dot_product_attention';
  const a = parseArgs(f, rest, ['attnMask', 'dropoutP', 'isCausal'], { attnMask: null, dropoutP: 0.0, isCausal: false },
    { keywordOnly: ['scale'] });
  const q = tensorArg(f, query, 'query'), k = tensorArg(f, key, 'key'), v = tensorArg(f, value, 'value');
  const m = optTensor(f, a.attnMask, 'attn_mask');
  return torch.scope(() => {
    if (q.ndim < 2 || k.ndim < 2 || v.ndim < 2) throw new TorchError(`${f}(): query, key and value must be at least 2-D`);
    if (a.isCausal && m) throw new TorchError('_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True');
    const L = q.shape[q.ndim - 2], S = k.shape[k.ndim - 2], E = q.shape[q.ndim - 1];
    const scale = a.scale === null || a.scale === undefined ? 1 / Math.sqrt(E) : checkNumber(f, a.scale, 'scale');
    let w = q.matmul(k.transpose(-2, -1)).mul(scale);
    if (a.isCausal) {
      const keep = torch.ones([L, S], { dtype: q.dtype }).tril().gt(0);
      w = torch.where(keep, w, -Infinity);
    }
    if (m) w = m.dtype === 'bool' ? torch.where(m, w, -Infinity) : w.add(m);
    w = torch.F.softmax(w, -1);
    if (a.dropoutP > 0) w = dropout(w, a.dropoutP, true);
    return w.matmul(v);
  });
}

/**
 * Installs torch.F (and torch.nn.functional) entries of the nn family.
 * The activations already on torch.F (relu, gelu, softmax, ...) are kept.
 * @param {object} torchNs the namespace js/index.js builds
 */
export function install(torchNs) {
  torch = torchNs;
  for (const n of ['linear', 'bilinear', 'conv1d', 'conv2d', 'conv_transpose2d', 'max_pool2d', 'avg_pool2d',
    'adaptive_avg_pool2d', 'pad', 'pad_indexed', 'dropout', 'batch_norm', 'layer_norm', 'group_norm', 'embedding',
    'cross_entropy', 'nll_loss', 'mse_loss']) ID[n] = opId(n);
  initChain();
  const F = (torch.F = torch.F || {});
  const fns = {
    linear, bilinear, conv1d, conv2d, convTranspose2d, maxPool2d, avgPool2d, adaptiveAvgPool2d, dropout, batchNorm,
    layerNorm, groupNorm, embedding, pad, crossEntropy, nllLoss, mseLoss, l1Loss, smoothL1Loss, binaryCrossEntropy,
    binaryCrossEntropyWithLogits, klDiv, cosineSimilarity, scaledDotProductAttention,
  };
  for (const [k, v] of Object.entries(fns)) if (!(k in F)) F[k] = scoped(v);
  torch.nn = torch.nn || {};
  torch.nn.functional = torch.F;
}
