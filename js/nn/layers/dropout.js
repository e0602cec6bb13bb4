// Dropout: zeroes elements with probability p in training mode (scaling
// the rest by 1/(1-p)); the identity in eval mode.
import { Module } from '../module.js';
import { TorchError } from '../../errors.js';
import { parseArgs, describe } from '../../args.js';
import { pyRepr } from '../repr.js';
import { F, checkBool, checkInput } from './util.js';
import { descOf } from './desc.js';

/** @example new nn.Dropout(0.1) */
export class Dropout extends Module {
  constructor(...args) {
    super();
    const o = parseArgs('Dropout', args, ['p', 'inplace'], { p: 0.5, inplace: false });
    if (typeof o.p !== 'number' || !(o.p >= 0 && o.p <= 1))
      throw new TorchError(`dropout probability has to be between 0 and 1, but got ${typeof o.p === 'number' ? o.p : describe(o.p)}`);
    this.p = o.p;
    this.inplace = checkBool('Dropout', 'inplace', o.inplace);
  }
  forward(input) { return F().dropout(checkInput(this, input), this.p, this.training, this.inplace); }
  _desc() {
    if (this.inplace) return null;
    return descOf('DROPOUT', { floats: [this.p], training: this.training });
  }
  extraRepr() { return `p=${pyRepr(this.p, { float: true })}, inplace=${pyRepr(this.inplace)}`; }
}
