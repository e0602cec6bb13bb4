// Conv1d, Conv2d, ConvTranspose2d (PyTorch's _ConvNd: parameter shapes,
// Kaiming-uniform initialisation, padding strings and padding modes).
import { Module } from '../module.js';
import { TorchError } from '../../errors.js';
import { describe } from '../../args.js';
import { pyRepr } from '../repr.js';
import * as init from '../init.js';
import { F, layerArgs, checkDtype, newParameter, ntuple, checkInt, checkBool, checkInput, shapeOf } from './util.js';
import { descOf } from './desc.js';

const PADDING_MODES = ['zeros', 'reflect', 'replicate', 'circular'];

/** The shared machinery of the convolutions (PyTorch's _ConvNd). */
export class _ConvNd extends Module {
  /** @internal */
  _setup(cls, n, inChannels, outChannels, kernelSize, o, transposed) {
    this.inChannels = checkInt(cls, 'in_channels', inChannels, { min: 1 });
    this.outChannels = checkInt(cls, 'out_channels', outChannels, { min: 1 });
    const groups = checkInt(cls, 'groups', o.groups);
    if (groups <= 0) throw new TorchError('groups must be a positive integer');
    if (inChannels % groups !== 0) throw new TorchError('in_channels must be divisible by groups');
    if (outChannels % groups !== 0) throw new TorchError('out_channels must be divisible by groups');
    this.kernelSize = ntuple(cls, 'kernel_size', kernelSize, n);
    this.stride = ntuple(cls, 'stride', o.stride, n);
    this.dilation = ntuple(cls, 'dilation', o.dilation, n);
    this.outputPadding = ntuple(cls, 'output_padding', o.outputPadding ?? 0, n);
    this.groups = groups;
    this.transposed = transposed;
    if (typeof o.padding === 'string') {
      if (o.padding !== 'same' && o.padding !== 'valid')
        throw new TorchError(`Invalid padding string '${o.padding}', should be one of {'valid', 'same'}`);
      if (o.padding === 'same' && this.stride.some((s) => s !== 1))
        throw new TorchError("padding='same' is not supported for strided convolutions");
      this.padding = o.padding;
    } else {
      this.padding = ntuple(cls, 'padding', o.padding, n);
    }
    if (!PADDING_MODES.includes(o.paddingMode))
      throw new TorchError(`padding_mode must be one of {'zeros', 'reflect', 'replicate', 'circular'}, but got padding_mode='${o.paddingMode}'`);
    this.paddingMode = o.paddingMode;
    // F.pad's order: last dim first, (left, right) per dim
    const rev = new Array(2 * n).fill(0);
    for (let d = 0; d < n; d++) {
      const i = n - 1 - d;
      if (this.padding === 'same') {
        const total = this.dilation[d] * (this.kernelSize[d] - 1);
        rev[2 * i] = Math.floor(total / 2);
        rev[2 * i + 1] = total - rev[2 * i];
      } else if (this.padding !== 'valid') {
        rev[2 * i] = rev[2 * i + 1] = this.padding[d];
      }
    }
    this._reversedPaddingRepeatedTwice = rev;
    const dtype = checkDtype(cls, o.dtype), bias = checkBool(cls, 'bias', o.bias);
    const wshape = transposed ? [inChannels, outChannels / groups, ...this.kernelSize] : [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = newParameter(wshape, dtype);
    if (bias) this.bias = newParameter([outChannels], dtype);
    else this.registerParameter('bias', null);
    this.resetParameters();
  }
  resetParameters() {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      if (fanIn !== 0) {
        const bound = 1 / Math.sqrt(fanIn);
        init.uniform_(this.bias, -bound, bound);
      }
    }
  }
  /**
   * The padding F.conv gets: numbers when symmetric; otherwise [0…] and the
   * input padded first with `mode` (asymmetric 'same', non-zero padding modes).
   * @internal
   */
  _paddingPlan() {
    const n = this.kernelSize.length, rev = this._reversedPaddingRepeatedTwice;
    const zeros = new Array(n).fill(0);
    if (this.paddingMode !== 'zeros') return { pre: rev, mode: this.paddingMode, padding: zeros };
    let symmetric = true;
    for (let i = 0; i < n; i++) if (rev[2 * i] !== rev[2 * i + 1]) symmetric = false;
    const sym = new Array(n);
    for (let d = 0; d < n; d++) sym[d] = rev[2 * (n - 1 - d)];
    if (symmetric) return { pre: null, padding: sym };
    return { pre: rev, mode: 'constant', padding: zeros };
  }
  /** @internal runs F.conv{n}d with the padding plan */
  _convForward(fname, input, weight, bias) {
    checkInput(this, input);
    const plan = this._paddingPlan();
    const f = F();
    if (!plan.pre) return f[fname](input, weight, bias, this.stride, plan.padding, this.dilation, this.groups);
    const padded = f.pad(input, plan.pre, plan.mode);
    try {
      return f[fname](padded, weight, bias, this.stride, plan.padding, this.dilation, this.groups);
    } finally {
      padded.dispose();
    }
  }
  extraRepr() {
    const tup = (a) => (typeof a === 'string' ? a : pyRepr(a));
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${tup(this.kernelSize)}, stride=${tup(this.stride)}`;
    if (typeof this.padding === 'string' || this.padding.some((p) => p !== 0)) s += `, padding=${tup(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${tup(this.dilation)}`;
    if (this.outputPadding.some((d) => d !== 0)) s += `, output_padding=${tup(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ', bias=False';
    if (this.paddingMode !== 'zeros') s += `, padding_mode=${this.paddingMode}`;
    return s;
  }
}

const CONV_NAMES = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode'];
const CONV_DEFAULTS = { stride: 1, padding: 0, dilation: 1, groups: 1, bias: true, paddingMode: 'zeros' };

/**
 * 1-D convolution over [N, C, L] (or [C, L]) input. weight
 * [outChannels, inChannels / groups, kernelSize], bias [outChannels].
 * @example new nn.Conv1d(4, 8, 3, { padding: 'same' })
 */
export class Conv1d extends _ConvNd {
  constructor(inChannels, outChannels, kernelSize, ...rest) {
    super();
    this._setup('Conv1d', 1, inChannels, outChannels, kernelSize, layerArgs('Conv1d', rest, CONV_NAMES, CONV_DEFAULTS), false);
  }
  forward(input) { return this._convForward('conv1d', input, this.weight, this.bias); }
  _desc() {
    const [l, r] = this._reversedPaddingRepeatedTwice;
    return descOf('CONV1D', { ints: [this.stride[0], l, r, this.dilation[0], this.groups, PADDING_MODES.indexOf(this.paddingMode)], tensors: [this.weight, this.bias] });
  }
}

/**
 * 2-D convolution over [N, C, H, W] (or [C, H, W]) input. weight
 * [outChannels, inChannels / groups, kH, kW], bias [outChannels].
 * @example new nn.Conv2d(1, 8, 3, { padding: 1 })   // positional: new nn.Conv2d(1, 8, 3, 1, 1)
 */
export class Conv2d extends _ConvNd {
  constructor(inChannels, outChannels, kernelSize, ...rest) {
    super();
    this._setup('Conv2d', 2, inChannels, outChannels, kernelSize, layerArgs('Conv2d', rest, CONV_NAMES, CONV_DEFAULTS), false);
  }
  forward(input) { return this._convForward('conv2d', input, this.weight, this.bias); }
  _desc() {
    const [l, r, t, b] = this._reversedPaddingRepeatedTwice;
    return descOf('CONV2D', {
      ints: [...this.stride, t, b, l, r, ...this.dilation, this.groups, PADDING_MODES.indexOf(this.paddingMode)],
      tensors: [this.weight, this.bias],
    });
  }
}

/**
 * Transposed 2-D convolution (the gradient of Conv2d w.r.t. its input).
 * weight [inChannels, outChannels / groups, kH, kW], bias [outChannels].
 * Constructor order as PyTorch: (in, out, kernelSize, stride, padding,
 * outputPadding, groups, bias, dilation, paddingMode).
 */
export class ConvTranspose2d extends _ConvNd {
  constructor(inChannels, outChannels, kernelSize, ...rest) {
    super();
    const o = layerArgs('ConvTranspose2d', rest, ['stride', 'padding', 'outputPadding', 'groups', 'bias', 'dilation', 'paddingMode'],
      { stride: 1, padding: 0, outputPadding: 0, groups: 1, bias: true, dilation: 1, paddingMode: 'zeros' });
    if (o.paddingMode !== 'zeros') throw new TorchError('Only "zeros" padding mode is supported for ConvTranspose2d');
    if (typeof o.padding === 'string') throw new TorchError(`ConvTranspose2d: padding must be an integer or an array of 2 integers, got '${o.padding}'`);
    this._setup('ConvTranspose2d', 2, inChannels, outChannels, kernelSize, o, true);
  }
  /**
   * @param {Tensor} input [N, inChannels, H, W] or [inChannels, H, W]
   * @param {number[]|null} [outputSize] picks outputPadding so the output has this size
   */
  forward(input, outputSize = null) {
    checkInput(this, input);
    const outputPadding = this._outputPadding(input, outputSize);
    return F().convTranspose2d(input, this.weight, this.bias, this.stride, this.padding, outputPadding, this.groups, this.dilation);
  }
  /** @internal PyTorch's _output_padding */
  _outputPadding(input, outputSize) {
    if (outputSize === null || outputSize === undefined) return this.outputPadding;
    const nsp = 2, shape = shapeOf(input);
    const nonSpatial = shape.length === nsp + 2 ? 2 : 1;
    if (!(Array.isArray(outputSize) || ArrayBuffer.isView(outputSize)) || !Array.from(outputSize).every(Number.isInteger))
      throw new TorchError(`${this._getName()}.forward(): output_size must be an array of integers, got ${describe(outputSize)}`);
    let size = Array.from(outputSize);
    if (size.length === nonSpatial + nsp) size = size.slice(nonSpatial);
    if (size.length !== nsp)
      throw new TorchError(`ConvTranspose${nsp}D: for ${shape.length}D input, output_size must have ${nsp} or ${nonSpatial + nsp} elements (got ${outputSize.length})`);
    const minSizes = [], maxSizes = [];
    for (let d = 0; d < nsp; d++) {
      const dim = (shape[d + nonSpatial] - 1) * this.stride[d] - 2 * this.padding[d] + this.dilation[d] * (this.kernelSize[d] - 1) + 1;
      minSizes.push(dim);
      maxSizes.push(dim + this.stride[d] - 1);
    }
    for (let i = 0; i < nsp; i++) {
      if (size[i] < minSizes[i] || size[i] > maxSizes[i])
        throw new TorchError(`requested an output size of [${size.join(', ')}], but valid sizes range from [${minSizes.join(', ')}] to [${maxSizes.join(', ')}] (for an input of [${shape.slice(2).join(', ')}])`);
    }
    return size.map((s, d) => s - minSizes[d]);
  }
  _desc() {
    return descOf('CONV_TRANSPOSE2D', {
      ints: [...this.stride, ...this.padding, ...this.outputPadding, ...this.dilation, this.groups], tensors: [this.weight, this.bias],
    });
  }
}
