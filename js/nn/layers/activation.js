// ReLU, LeakyReLU, GELU, SiLU, Tanh, Sigmoid, Softmax, LogSoftmax.
import { Module } from '../module.js';
import { TorchError } from '../../errors.js';
import { parseArgs, describe } from '../../args.js';
import { pyRepr } from '../repr.js';
import { F, checkBool, checkInput, shapeOf } from './util.js';
import { descOf } from './desc.js';

const inplaceRepr = (inplace) => (inplace ? 'inplace=True' : '');

/** max(0, x). `inplace` writes the result into the input. */
export class ReLU extends Module {
  constructor(...args) {
    super();
    this.inplace = checkBool('ReLU', 'inplace', parseArgs('ReLU', args, ['inplace'], { inplace: false }).inplace);
  }
  forward(input) {
    checkInput(this, input);
    return this.inplace ? F().relu(input, true) : F().relu(input);
  }
  _desc() { return this.inplace ? null : descOf('RELU'); }
  extraRepr() { return inplaceRepr(this.inplace); }
}

/** max(0, x) + negativeSlope * min(0, x). */
export class LeakyReLU extends Module {
  constructor(...args) {
    super();
    const o = parseArgs('LeakyReLU', args, ['negativeSlope', 'inplace'], { negativeSlope: 0.01, inplace: false });
    if (typeof o.negativeSlope !== 'number') throw new TorchError(`LeakyReLU: negative_slope must be a number, got ${describe(o.negativeSlope)}`);
    this.negativeSlope = o.negativeSlope;
    this.inplace = checkBool('LeakyReLU', 'inplace', o.inplace);
  }
  forward(input) {
    checkInput(this, input);
    return this.inplace ? F().leakyRelu(input, this.negativeSlope, true) : F().leakyRelu(input, this.negativeSlope);
  }
  _desc() { return this.inplace ? null : descOf('LEAKY_RELU', { floats: [this.negativeSlope] }); }
  extraRepr() { return `negative_slope=${pyRepr(this.negativeSlope, { float: true })}${this.inplace ? ', inplace=True' : ''}`; }
}

/** x Φ(x); approximate 'tanh' uses the tanh formula. */
export class GELU extends Module {
  constructor(...args) {
    super();
    const o = parseArgs('GELU', args, ['approximate'], { approximate: 'none' });
    if (o.approximate !== 'none' && o.approximate !== 'tanh') throw new TorchError(`approximate argument must be either none or tanh.`);
    this.approximate = o.approximate;
  }
  forward(input) { return F().gelu(checkInput(this, input), { approximate: this.approximate }); }
  _desc() { return descOf('GELU', { ints: [this.approximate === 'tanh' ? 1 : 0] }); }
  extraRepr() { return `approximate=${pyRepr(this.approximate)}`; }
}

/** x sigmoid(x). */
export class SiLU extends Module {
  constructor(...args) {
    super();
    this.inplace = checkBool('SiLU', 'inplace', parseArgs('SiLU', args, ['inplace'], { inplace: false }).inplace);
  }
  forward(input) {
    checkInput(this, input);
    return this.inplace ? F().silu(input, true) : F().silu(input);
  }
  _desc() { return this.inplace ? null : descOf('SILU'); }
  extraRepr() { return inplaceRepr(this.inplace); }
}

/** tanh(x). */
export class Tanh extends Module {
  forward(input) { return F().tanh(checkInput(this, input)); }
  _desc() { return descOf('TANH'); }
}

/** 1 / (1 + exp(-x)). */
export class Sigmoid extends Module {
  forward(input) { return F().sigmoid(checkInput(this, input)); }
  _desc() { return descOf('SIGMOID'); }
}

let warnedImplicitDim = false;
/** PyTorch's legacy softmax dim when dim is None (with its deprecation warning). */
function softmaxDim(name, ndim) {
  if (!warnedImplicitDim) {
    warnedImplicitDim = true;
    console.warn(`Implicit dimension choice for ${name} has been deprecated. Change the call to include dim=X as an argument.`);
  }
  return ndim === 0 || ndim === 1 || ndim === 3 ? 0 : 1;
}

function dimArg(cls, args) {
  const { dim } = parseArgs(cls, args, ['dim'], { dim: null });
  if (dim !== null && !Number.isInteger(dim)) throw new TorchError(`${cls}: dim must be an integer or null, got ${describe(dim)}`);
  return dim;
}

/** softmax along `dim`. @example new nn.Softmax(-1) */
export class Softmax extends Module {
  constructor(...args) { super(); this.dim = dimArg('Softmax', args); }
  forward(input) {
    checkInput(this, input);
    return F().softmax(input, this.dim ?? softmaxDim('softmax', shapeOf(input).length));
  }
  _desc() { return this.dim === null ? null : descOf('SOFTMAX', { ints: [this.dim] }); }
  extraRepr() { return `dim=${pyRepr(this.dim)}`; }
}

/** log(softmax) along `dim`, computed stably. */
export class LogSoftmax extends Module {
  constructor(...args) { super(); this.dim = dimArg('LogSoftmax', args); }
  forward(input) {
    checkInput(this, input);
    return F().logSoftmax(input, this.dim ?? softmaxDim('log_softmax', shapeOf(input).length));
  }
  _desc() { return this.dim === null ? null : descOf('LOG_SOFTMAX', { ints: [this.dim] }); }
  extraRepr() { return `dim=${pyRepr(this.dim)}`; }
}
