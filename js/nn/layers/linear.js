// Linear, Bilinear, Identity, Flatten.
import { Module } from '../module.js';
import { parseArgs } from '../../args.js';
import { pyRepr } from '../repr.js';
import * as init from '../init.js';
import { F, layerArgs, checkDtype, newParameter, checkInt, checkBool, checkInput } from './util.js';
import { descOf } from './desc.js';

/**
 * y = x Wᵀ + b. weight [outFeatures, inFeatures], bias [outFeatures];
 * both U(-1/√inFeatures, 1/√inFeatures) as in PyTorch.
 * @example
 * const fc = new nn.Linear(3, 2);                  // or new nn.Linear(3, 2, { bias: false })
 * fc.forward(torch.randn([5, 3])).shape;           // [5, 2]
 */
export class Linear extends Module {
  /**
   * @param {number} inFeatures
   * @param {number} outFeatures
   * @param {boolean|{bias?: boolean, dtype?: string}} [bias=true]
   */
  constructor(inFeatures, outFeatures, ...rest) {
    super();
    const o = layerArgs('Linear', rest, ['bias'], { bias: true });
    this.inFeatures = checkInt('Linear', 'in_features', inFeatures, { min: 0 });
    this.outFeatures = checkInt('Linear', 'out_features', outFeatures, { min: 0 });
    const dtype = checkDtype('Linear', o.dtype), bias = checkBool('Linear', 'bias', o.bias);
    this.weight = newParameter([outFeatures, inFeatures], dtype);
    if (bias) this.bias = newParameter([outFeatures], dtype);
    else this.registerParameter('bias', null);
    this.resetParameters();
  }
  resetParameters() {
    init.kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = init.calculateFanInAndFanOut(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      init.uniform_(this.bias, -bound, bound);
    }
  }
  /** @param {Tensor} input [..., inFeatures] */
  forward(input) { return F().linear(checkInput(this, input), this.weight, this.bias); }
  _desc() { return descOf('LINEAR', { tensors: [this.weight, this.bias] }); }
  extraRepr() { return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`; }
}

/**
 * y = x1ᵀ W x2 + b. weight [outFeatures, in1Features, in2Features], bias
 * [outFeatures], both U(-1/√in1Features, 1/√in1Features).
 */
export class Bilinear extends Module {
  constructor(in1Features, in2Features, outFeatures, ...rest) {
    super();
    const o = layerArgs('Bilinear', rest, ['bias'], { bias: true });
    this.in1Features = checkInt('Bilinear', 'in1_features', in1Features, { min: 0 });
    this.in2Features = checkInt('Bilinear', 'in2_features', in2Features, { min: 0 });
    this.outFeatures = checkInt('Bilinear', 'out_features', outFeatures, { min: 0 });
    const dtype = checkDtype('Bilinear', o.dtype), bias = checkBool('Bilinear', 'bias', o.bias);
    this.weight = newParameter([outFeatures, in1Features, in2Features], dtype);
    if (bias) this.bias = newParameter([outFeatures], dtype);
    else this.registerParameter('bias', null);
    this.resetParameters();
  }
  resetParameters() {
    const bound = 1 / Math.sqrt(this.weight.shape[1]);
    init.uniform_(this.weight, -bound, bound);
    if (this.bias) init.uniform_(this.bias, -bound, bound);
  }
  /**
   * @param {Tensor} input1 [..., in1Features]
   * @param {Tensor} input2 [..., in2Features] (same leading shape)
   */
  forward(input1, input2) {
    return F().bilinear(checkInput(this, input1, 'input1'), checkInput(this, input2, 'input2'), this.weight, this.bias);
  }
  extraRepr() {
    return `in1_features=${this.in1Features}, in2_features=${this.in2Features}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}

/** Returns its input, whatever it is (accepts and ignores any constructor arguments), as PyTorch's. */
export class Identity extends Module {
  constructor(..._args) { super(); }
  forward(input) { return input; }
  _desc() { return descOf('IDENTITY'); }
}

/** input.flatten(startDim, endDim). */
export class Flatten extends Module {
  constructor(...args) {
    super();
    const o = parseArgs('Flatten', args, ['startDim', 'endDim'], { startDim: 1, endDim: -1 });
    this.startDim = checkInt('Flatten', 'start_dim', o.startDim);
    this.endDim = checkInt('Flatten', 'end_dim', o.endDim);
  }
  forward(input) { return checkInput(this, input, 'input', { typedArray: false }).flatten(this.startDim, this.endDim); }
  _desc() { return descOf('FLATTEN', { ints: [this.startDim, this.endDim] }); }
  extraRepr() { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}
