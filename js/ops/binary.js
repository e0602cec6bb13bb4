// Broadcasting binary ops and where, as torch.* functions and Tensor methods,
// plus the in-place arithmetic (add_ sub_ mul_ div_ copy_ zero_ fill_).
// This file is the pattern for js/ops/<family>.js: resolve op ids once in
// install(), convert operands with asTensor inside the try whose finally disposes
// the temporaries (disposeTemp), so one operand rejected frees those before it.
import { Tensor, callOp, asTensor, disposeTemp, assign, opId } from '../tensor.js';
import { parseArgs, checkNumber } from '../args.js';
import { TorchError } from '../errors.js';

const isFloat = (t) => t instanceof Tensor && (t.dtype === 'float32' || t.dtype === 'float64');

/** Runs a two-operand op where either operand may be a number. */
function binary(id, a, b) {
  const ta = asTensor(a, isFloat(b) ? b.dtype : null);
  let tb;
  try { // converting b may throw: ta is freed all the same
    tb = asTensor(b, isFloat(ta) ? ta.dtype : null);
    return callOp(id, [ta, tb]);
  } finally {
    disposeTemp(ta, a);
    disposeTemp(tb, b);
  }
}

export function install(torch) {
  const ID = {};
  for (const n of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'where'])
    ID[n] = opId(n);

  /** torch.add(input, other, {alpha}) = input + alpha * other */
  function add(input, other, ...rest) {
    const { alpha } = parseArgs('add', rest, ['alpha'], { alpha: 1 });
    if (alpha === 1) return binary(ID.add, input, other);
    checkNumber('add', alpha, 'alpha');
    const scaled = binary(ID.mul, other, alpha);
    try { return binary(ID.add, input, scaled); } finally { scaled.dispose(); }
  }
  function sub(input, other, ...rest) {
    const { alpha } = parseArgs('sub', rest, ['alpha'], { alpha: 1 });
    if (alpha === 1) return binary(ID.sub, input, other);
    checkNumber('sub', alpha, 'alpha');
    const scaled = binary(ID.mul, other, alpha);
    try { return binary(ID.sub, input, scaled); } finally { scaled.dispose(); }
  }
  const mul = (input, other) => binary(ID.mul, input, other);
  /** torch.div(input, other, {roundingMode}) with roundingMode null | 'trunc' | 'floor' */
  function div(input, other, ...rest) {
    const { roundingMode } = parseArgs('div', rest, [], { roundingMode: null }, { keywordOnly: ['roundingMode'] });
    const q = binary(ID.div, input, other);
    if (roundingMode == null) return q;
    if (roundingMode !== 'trunc' && roundingMode !== 'floor')
      throw new TorchError(`div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '${roundingMode}'`);
    try {
      return roundingMode === 'floor' ? torch.floor(q) : torch.trunc(q);
    } finally { q.dispose(); }
  }
  function pow(input, exponent) {
    if (typeof exponent === 'number' && input instanceof Tensor && torch._powScalar) return torch._powScalar(input, exponent);
    return binary(ID.pow, input, exponent);
  }
  const maximum = (a, b) => binary(ID.maximum, a, b);
  const minimum = (a, b) => binary(ID.minimum, a, b);
  const cmp = (name) => (a, b) => binary(ID[name], a, b);

  /** torch.where(condition, input, other) */
  function where(condition, input, other) {
    if (input === undefined && other === undefined)
      throw new TorchError('where(condition) with one argument (nonzero) is not supported; pass input and other');
    const ref = isFloat(input) ? input.dtype : isFloat(other) ? other.dtype : null;
    let c, a, b;
    try { // a rejected operand frees the ones converted before it
      c = asTensor(condition);
      a = asTensor(input, ref);
      b = asTensor(other, isFloat(a) ? a.dtype : ref);
      return callOp(ID.where, [c, a, b]);
    } finally {
      disposeTemp(c, condition); disposeTemp(a, input); disposeTemp(b, other);
    }
  }

  Object.assign(torch, { add, sub, mul, div, pow, maximum, minimum, where,
    eq: cmp('eq'), ne: cmp('ne'), lt: cmp('lt'), le: cmp('le'), gt: cmp('gt'), ge: cmp('ge') });
  torch.subtract = sub; torch.multiply = mul; torch.divide = div; torch.true_divide = div;

  const P = Tensor.prototype;
  P.add = function (other, ...rest) { return add(this, other, ...rest); };
  P.sub = function (other, ...rest) { return sub(this, other, ...rest); };
  P.mul = function (other) { return mul(this, other); };
  P.div = function (other, ...rest) { return div(this, other, ...rest); };
  P.pow = function (exponent) { return pow(this, exponent); };
  P.maximum = function (other) { return maximum(this, other); };
  P.minimum = function (other) { return minimum(this, other); };
  P.where = function (condition, other) { return where(condition, this, other); };
  for (const n of ['eq', 'ne', 'lt', 'le', 'gt', 'ge']) P[n] = function (other) { return torch[n](this, other); };

  // In place: compute out of place, then assign through every level. A
  // tracked tensor is computed from a (recorded) clone, so the value its
  // backward saves is not the one the assignment overwrites (PyTorch keeps
  // the original self the same way).
  const inplace = (fn) => function (...args) {
    const src = this.requiresGrad ? this.clone() : this;
    let r;
    try { r = fn(src, ...args); } finally { if (src !== this) src.dispose(); }
    try { return assign(this, r); } finally { r.dispose(); }
  };
  P.add_ = inplace(add);
  P.sub_ = inplace(sub);
  P.mul_ = inplace(mul);
  P.div_ = inplace(div);
  P.pow_ = inplace(pow);
  /** copy_(src): copies src's values (broadcast, cast) into this tensor. */
  P.copy_ = function (src) {
    const s = asTensor(src, this.dtype);
    try { return assign(this, s); } finally { disposeTemp(s, src); }
  };
  P.fill_ = function (value) {
    const v = value instanceof Tensor ? value : torch.full([], checkNumber('fill_', value, 'value'), { dtype: this.dtype });
    try { return assign(this, v); } finally { disposeTemp(v, value); }
  };
  P.zero_ = function () { return this.fill_(0); };
}
