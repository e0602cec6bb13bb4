// MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (no parameters).
import { Module } from '../module.js';
import { TorchError } from '../../errors.js';
import { parseArgs, describe } from '../../args.js';
import { pyRepr } from '../repr.js';
import { F, checkBool, checkInput } from './util.js';
import { descOf } from './desc.js';

function intOrPair(cls, what, v) {
  const ok = (typeof v === 'number' && Number.isInteger(v)) || (Array.isArray(v) && v.length === 2 && v.every(Number.isInteger));
  if (!ok) throw new TorchError(`${cls}: ${what} must be an integer or an array of 2 integers, got ${describe(v)}`);
  return Array.isArray(v) ? v.slice() : v;
}
const pair = (v) => (Array.isArray(v) ? v : [v, v]);

/**
 * 2-D max pooling; stride defaults to kernelSize.
 * @example new nn.MaxPool2d(2)   // new nn.MaxPool2d(3, { stride: 2, padding: 1 })
 */
export class MaxPool2d extends Module {
  constructor(kernelSize, ...rest) {
    super();
    const o = parseArgs('MaxPool2d', rest, ['stride', 'padding', 'dilation', 'returnIndices', 'ceilMode'],
      { stride: null, padding: 0, dilation: 1, returnIndices: false, ceilMode: false });
    this.kernelSize = intOrPair('MaxPool2d', 'kernel_size', kernelSize);
    this.stride = o.stride === null || o.stride === undefined ? this.kernelSize : intOrPair('MaxPool2d', 'stride', o.stride);
    this.padding = intOrPair('MaxPool2d', 'padding', o.padding);
    this.dilation = intOrPair('MaxPool2d', 'dilation', o.dilation);
    this.returnIndices = checkBool('MaxPool2d', 'return_indices', o.returnIndices);
    this.ceilMode = checkBool('MaxPool2d', 'ceil_mode', o.ceilMode);
  }
  /** @returns {Tensor|[Tensor, Tensor]} the pooled values (and int32 indices with returnIndices) */
  forward(input) {
    return F().maxPool2d(checkInput(this, input), this.kernelSize, this.stride, this.padding, this.dilation,
      { ceilMode: this.ceilMode, returnIndices: this.returnIndices });
  }
  _desc() {
    if (this.returnIndices) return null;
    return descOf('MAX_POOL2D', { ints: [...pair(this.kernelSize), ...pair(this.stride), ...pair(this.padding), ...pair(this.dilation), this.ceilMode ? 1 : 0] });
  }
  extraRepr() {
    return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}, dilation=${pyRepr(this.dilation)}, ceil_mode=${pyRepr(this.ceilMode)}`;
  }
}

/** 2-D average pooling; stride defaults to kernelSize. */
export class AvgPool2d extends Module {
  constructor(kernelSize, ...rest) {
    super();
    const o = parseArgs('AvgPool2d', rest, ['stride', 'padding', 'ceilMode', 'countIncludePad', 'divisorOverride'],
      { stride: null, padding: 0, ceilMode: false, countIncludePad: true, divisorOverride: null });
    this.kernelSize = intOrPair('AvgPool2d', 'kernel_size', kernelSize);
    this.stride = o.stride === null || o.stride === undefined ? this.kernelSize : intOrPair('AvgPool2d', 'stride', o.stride);
    this.padding = intOrPair('AvgPool2d', 'padding', o.padding);
    this.ceilMode = checkBool('AvgPool2d', 'ceil_mode', o.ceilMode);
    this.countIncludePad = checkBool('AvgPool2d', 'count_include_pad', o.countIncludePad);
    if (o.divisorOverride !== null && o.divisorOverride !== undefined && (!Number.isInteger(o.divisorOverride) || o.divisorOverride === 0))
      throw new TorchError(`AvgPool2d: divisor_override must be a non-zero integer, got ${describe(o.divisorOverride)}`);
    this.divisorOverride = o.divisorOverride ?? null;
  }
  forward(input) {
    return F().avgPool2d(checkInput(this, input), this.kernelSize, this.stride, this.padding, this.ceilMode, this.countIncludePad, this.divisorOverride);
  }
  _desc() {
    return descOf('AVG_POOL2D', { ints: [...pair(this.kernelSize), ...pair(this.stride), ...pair(this.padding), this.ceilMode ? 1 : 0, this.countIncludePad ? 1 : 0, this.divisorOverride ?? 0] });
  }
  extraRepr() { return `kernel_size=${pyRepr(this.kernelSize)}, stride=${pyRepr(this.stride)}, padding=${pyRepr(this.padding)}`; }
}

/** Average pooling to a fixed output size (null in outputSize keeps the input's size). */
export class AdaptiveAvgPool2d extends Module {
  constructor(outputSize) {
    super();
    const ok = (v) => v === null || (Number.isInteger(v) && v >= 0);
    if (!(ok(outputSize) && outputSize !== null) && !(Array.isArray(outputSize) && outputSize.length === 2 && outputSize.every(ok)))
      throw new TorchError(`AdaptiveAvgPool2d: output_size must be an integer or an array of 2 integers (or nulls), got ${describe(outputSize)}`);
    this.outputSize = Array.isArray(outputSize) ? outputSize.slice() : outputSize;
  }
  forward(input) { return F().adaptiveAvgPool2d(checkInput(this, input), this.outputSize); }
  _desc() {
    const [h, w] = pair(this.outputSize);
    return descOf('ADAPTIVE_AVG_POOL2D', { ints: [h ?? -1, w ?? -1] });
  }
  extraRepr() { return `output_size=${pyRepr(this.outputSize)}`; }
}
