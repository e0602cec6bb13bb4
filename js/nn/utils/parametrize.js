// nn.utils.parametrize (PyTorch 1.13's torch/nn/utils/parametrize.py).
//
// registerParametrization moves module[name] to
// module.parametrizations[name].original and gives the module a class of its
// own, Parametrized<Cls>, whose prototype has an accessor for `name`:
// reading computes pN(…p1(original)), assigning runs the rightInverse of
// each parametrization in reverse and writes the result into original.
// The accessor consults module._parametrizationBypass first (NOTE: [module
// slots] in ../module.js).
import { Module, Parameter, env } from '../module.js';
import { ModuleList, ModuleDict } from '../containers.js';
import { Tensor } from '../../tensor.js';
import { TorchError } from '../../errors.js';
import { parseArgs, checkBool, checkString, checkFunction } from '../../args.js';
import { typename } from '../repr.js';

const torchSize = (s) => `torch.Size([${s.join(', ')}])`;
const torchDtype = (d) => `torch.${d}`;
const sameShape = (a, b) => a.length === b.length && a.every((s, i) => s === b[i]);
const noGrad = (fn) => env.torch.noGrad(fn);
const typeName = (v) => (v instanceof Tensor ? 'Tensor' : typename(v));

/** Throws unless v is an nn.Module (fname's argument `what`). */
function needModule(fname, v, what = 'module') {
  if (!(v instanceof Module)) throw new TorchError(`${fname}(): ${what} must be an nn.Module, got ${typename(v)}`);
  return v;
}

let cacheEnabled = 0;
let cache = new Map(); // module -> Map<name, Tensor>

/**
 * Runs fn with parametrized tensors computed once per (module, name) and
 * reused (PyTorch's `with parametrize.cached():`). Returns fn's result.
 * @template T
 * @param {() => T} fn
 * @returns {T}
 */
export function cached(fn) {
  checkFunction('cached', fn);
  cacheEnabled++;
  try {
    return fn();
  } finally {
    cacheEnabled--;
    if (!cacheEnabled) cache = new Map();
  }
}

const hasRightInverse = (m) => typeof m.rightInverse === 'function' || typeof m.right_inverse === 'function';
const callRightInverse = (m, x) => (typeof m.rightInverse === 'function' ? m.rightInverse(x) : m.right_inverse(x));

/** Disposes `t` unless it is one of `keep` (a temporary of a chain of calls). */
function dropTemp(t, ...keep) {
  if (t instanceof Tensor && !keep.includes(t) && !(t instanceof Parameter)) t.dispose();
}

/**
 * Writes `value` into `holder`'s slot `name` (PyTorch's original.set_(value)):
 * in place when the shape allows, otherwise by registering a new tensor.
 */
function setOriginal(holder, name, value) {
  const original = holder[name];
  if (value === original) return;
  if (sameShape(value.shape, original.shape)) {
    noGrad(() => original.copy_(value));
    return;
  }
  if (original instanceof Parameter) holder._parameters.set(name, new Parameter(value, original.requiresGrad));
  else holder._buffers.set(name, value);
}

/**
 * The list of parametrizations on one tensor; holds the unparametrized
 * tensor as `original` (or original0, original1, … when a rightInverse
 * returns several tensors). module.parametrizations[name] is one of these.
 */
export class ParametrizationList extends ModuleList {
  /**
   * @param {Module[]} modules
   * @param {Tensor} original
   * @param {boolean} [unsafe=false]
   */
  constructor(modules, original, unsafe = false) {
    if (!Array.isArray(modules) && !(modules instanceof ModuleList))
      throw new TorchError(`ParametrizationList(): modules must be an array of nn.Modules, got ${typename(modules)}`);
    if (modules.length === 0) throw new TorchError('ParametrizationList requires one or more modules.');
    for (const m of modules) needModule('ParametrizationList', m, 'modules[i]');
    if (!(original instanceof Tensor)) throw new TorchError(`ParametrizationList(): original must be a Tensor, got ${typename(original)}`);
    checkBool('ParametrizationList', unsafe, 'unsafe');
    super(modules);
    this.unsafe = unsafe;
    const originalShape = original.shape, originalDtype = original.dtype;
    let neu = original;
    noGrad(() => {
      for (const m of Array.from(this).reverse()) {
        if (hasRightInverse(m)) {
          const next = callRightInverse(m, neu);
          if (neu !== original) dropTemp(neu, next);
          neu = next;
        }
      }
    });
    if (!(neu instanceof Tensor) && !Array.isArray(neu))
      throw new TorchError(`'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). Got ${typeName(neu)}`);
    this.isTensor = neu instanceof Tensor;
    this.ntensors = this.isTensor ? 1 : neu.length;
    if (this.isTensor) {
      if (original.dtype !== neu.dtype)
        throw new TorchError(`When \`right_inverse\` outputs one tensor, it may not change the dtype.\noriginal.dtype: ${torchDtype(original.dtype)}\nright_inverse(original).dtype: ${torchDtype(neu.dtype)}`);
      if (original instanceof Parameter) this.registerParameter('original', original);
      else this.registerBuffer('original', original);
    } else {
      neu.forEach((o, i) => {
        if (!(o instanceof Tensor))
          throw new TorchError(`'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). Got element ${i} of the sequence with type ${typeName(o)}.`);
      });
      neu.forEach((o, i) => {
        if (original instanceof Parameter) this.registerParameter(`original${i}`, new Parameter(o, original.requiresGrad));
        else { o.requiresGrad_(original.requiresGrad); this.registerBuffer(`original${i}`, o); }
      });
    }
    // check with rightInverse's value in original's slot; write it into
    // original only when the checks pass (a failed registration changes nothing)
    const slots = original instanceof Parameter ? this._parameters : this._buffers;
    if (this.isTensor && neu !== original) slots.set('original', neu);
    try {
      if (!this.unsafe) this._checkRegistration(originalShape, originalDtype);
    } catch (e) {
      if (this.isTensor && neu !== original) dropTemp(neu);
      throw e;
    } finally {
      if (this.isTensor && neu !== original) slots.set('original', original);
    }
    if (this.isTensor && neu !== original) {
      setOriginal(this, 'original', neu);
      if (this.original !== neu) dropTemp(neu);
    }
  }

  /** @internal PyTorch's checks that p(original) keeps the shape and dtype */
  _checkRegistration(originalShape, originalDtype) {
    const Z = this.forward();
    try {
      if (!(Z instanceof Tensor)) throw new TorchError(`A parametrization must return a tensor. Got ${typeName(Z)}.`);
      if (Z.dtype !== originalDtype)
        throw new TorchError(`Registering a parametrization may not change the dtype of the tensor, unless \`unsafe\` flag is enabled.\nunparametrized dtype: ${torchDtype(originalDtype)}\nparametrized dtype: ${torchDtype(Z.dtype)}`);
      if (!sameShape(Z.shape, originalShape))
        throw new TorchError(`Registering a parametrization may not change the shape of the tensor, unless \`unsafe\` flag is enabled.\nunparametrized shape: ${torchSize(originalShape)}\nparametrized shape: ${torchSize(Z.shape)}`);
    } finally {
      this._dropResult(Z);
    }
  }

  /** @internal the originals (one or several) */
  _originals() {
    if (this.isTensor) return [this.original];
    const out = [];
    for (let i = 0; i < this.ntensors; i++) out.push(this[`original${i}`]);
    return out;
  }
  /** @internal disposes a computed value unless it is an original */
  _dropResult(z) {
    if (z instanceof Tensor && !this._originals().includes(z)) dropTemp(z);
  }

  /** Assigns `value` to the parametrized tensor: rightInverse in reverse order, then into original. */
  rightInverse(value) {
    noGrad(() => {
      let v = value;
      for (const m of Array.from(this).reverse()) {
        if (!hasRightInverse(m)) throw new TorchError(`parametrization ${m.constructor.name} does not implement right_inverse.`);
        const next = callRightInverse(m, v);
        if (v !== value) dropTemp(v, next);
        v = next;
      }
      if (this.isTensor) {
        if (!(v instanceof Tensor)) throw new TorchError(`\`right_inverse\` should return a tensor. Got ${typeName(v)}`);
        if (v.dtype !== this.original.dtype)
          throw new TorchError(`The tensor returned by \`right_inverse\` has dtype ${torchDtype(v.dtype)} while \`original\` has dtype ${torchDtype(this.original.dtype)}`);
        setOriginal(this, 'original', v);
        if (v !== value && this.original !== v) dropTemp(v);
      } else {
        if (!Array.isArray(v)) throw new TorchError(`'right_inverse' must return a sequence of tensors. Got ${typeName(v)}.`);
        if (v.length !== this.ntensors)
          throw new TorchError(`'right_inverse' must return a sequence of tensors of length ${this.ntensors}. Got a sequence of length ${v.length}.`);
        v.forEach((t, i) => {
          const oi = this[`original${i}`];
          if (!(t instanceof Tensor)) throw new TorchError(`\`right_inverse\` must return a sequence of tensors. Got element ${i} of type ${typeName(t)}`);
          if (oi.dtype !== t.dtype) throw new TorchError(`Tensor ${i} returned by \`right_inverse\` has dtype ${torchDtype(t.dtype)} while \`original${i}\` has dtype ${torchDtype(oi.dtype)}`);
        });
        v.forEach((t, i) => setOriginal(this, `original${i}`, t));
      }
    });
  }

  /** The parametrized value: pN(…p1(original)). */
  forward() {
    const n = this.length;
    let x = this.isTensor ? this.get(0).forward(this.original) : this.get(0).forward(...this._originals());
    for (let i = 1; i < n; i++) {
      const y = this.get(i).forward(x);
      if (y !== x) this._dropResult(x);
      x = y;
    }
    return x;
  }
}

/** Gives `module` a class of its own, Parametrized<Cls>, to carry the accessors. */
function injectNewClass(module) {
  const cls = module.constructor;
  const name = `Parametrized${cls.name}`;
  const ParamCls = { [name]: class extends cls {} }[name];
  Object.setPrototypeOf(module, ParamCls.prototype);
}

function injectProperty(module, tensorName) {
  const proto = Object.getPrototypeOf(module);
  Object.defineProperty(proto, tensorName, {
    configurable: true,
    enumerable: false,
    get() {
      const bypass = this._parametrizationBypass;
      if (bypass.has(tensorName)) return bypass.get(tensorName);
      const plist = this._modules.get('parametrizations').get(tensorName);
      if (!cacheEnabled) return plist.forward();
      let per = cache.get(this);
      if (!per) cache.set(this, (per = new Map()));
      let t = per.get(tensorName);
      if (!t || t.isDisposed) per.set(tensorName, (t = plist.forward()));
      return t;
    },
    set(value) {
      const bypass = this._parametrizationBypass;
      if (bypass.has(tensorName)) {
        if (value !== null && !(value instanceof Tensor))
          throw new TorchError(`cannot assign '${typename(value)}' to '${tensorName}' (torch.Tensor or None expected)`);
        bypass.set(tensorName, value);
        return;
      }
      this._modules.get('parametrizations').get(tensorName).rightInverse(value);
    },
  });
}

/**
 * Whether module has a parametrization (on `tensorName`, if given).
 * @param {Module} module
 * @param {string|null} [tensorName]
 */
export function isParametrized(module, tensorName = null) {
  const p = module?._modules?.get('parametrizations');
  if (!(p instanceof ModuleDict)) return false;
  if (tensorName === null || tensorName === undefined) return p.length > 0;
  return p.has(tensorName);
}

/** The module's class before any parametrization (PyTorch's type_before_parametrizations). */
export function typeBeforeParametrizations(module) {
  needModule('typeBeforeParametrizations', module);
  if (isParametrized(module)) return Object.getPrototypeOf(Object.getPrototypeOf(module)).constructor;
  return module.constructor;
}

/**
 * Parametrizes module[tensorName] by `parametrization` (a Module with
 * forward(x) and optionally rightInverse(x)). Registering again on the same
 * name chains: the value becomes p2(p1(original)).
 * @param {Module} module
 * @param {string} tensorName a parameter or buffer (or an already parametrized name)
 * @param {Module} parametrization
 * @param {{unsafe?: boolean}|boolean} [opts] unsafe skips the shape and dtype checks
 * @returns {Module} module
 * @example
 * class Symmetric extends nn.Module {
 *   forward(X) { return X.triu().add(X.triu(1).t()); }
 *   rightInverse(A) { return A.triu(); }
 * }
 * nn.utils.parametrize.registerParametrization(linear, 'weight', new Symmetric());
 * linear.weight;                           // symmetric
 * linear.parametrizations.weight.original; // the Parameter the optimizer updates
 */
export function registerParametrization(module, tensorName, parametrization, ...rest) {
  const f = 'registerParametrization';
  needModule(f, module);
  checkString(f, tensorName, 'tensorName');
  needModule(f, parametrization, 'parametrization');
  let { unsafe } = parseArgs(f, rest, ['unsafe'], { unsafe: false });
  if (unsafe === undefined) unsafe = false;
  checkBool(f, unsafe, 'unsafe');
  parametrization.train(module.training);
  if (isParametrized(module, tensorName)) {
    const plist = module.parametrizations.get(tensorName);
    if (!unsafe) {
      const Y = plist.forward();
      let X = null, Z = null;
      try {
        X = parametrization.forward(Y);
        if (!(X instanceof Tensor)) throw new TorchError(`A parametrization must return a tensor. Got ${typeName(X)}.`);
        if (X.dtype !== Y.dtype)
          throw new TorchError(`Registering a parametrization may not change the dtype of the tensor, unless the \`unsafe\` flag is enabled.\nmodule.${tensorName}.dtype: ${torchDtype(Y.dtype)}\nparametrization(module.${tensorName}).dtype: ${torchDtype(X.dtype)}`);
        if (!sameShape(X.shape, Y.shape))
          throw new TorchError(`Registering a parametrization may not change the shape of the tensor, unless the \`unsafe\` flag is enabled.\nmodule.${tensorName}.shape: ${torchSize(Y.shape)}\nparametrization(module.${tensorName}).shape: ${torchSize(X.shape)}`);
        if (hasRightInverse(parametrization)) {
          Z = noGrad(() => callRightInverse(parametrization, X));
          if (!(Z instanceof Tensor)) throw new TorchError(`parametrization.right_inverse must return a tensor. Got: ${typeName(Z)}`);
          if (Z.dtype !== Y.dtype)
            throw new TorchError(`The tensor returned by parametrization.right_inverse must have the same dtype as module.${tensorName}, unless the \`unsafe\` flag is enabled.\nmodule.${tensorName}.dtype: ${torchDtype(Y.dtype)}\nreturned dtype: ${torchDtype(Z.dtype)}`);
          if (!sameShape(Z.shape, Y.shape))
            throw new TorchError(`The tensor returned by parametrization.right_inverse must have the same shape as module.${tensorName}, unless the \`unsafe\` flag is enabled.\nmodule.${tensorName}.shape: ${torchSize(Y.shape)}\nreturned shape: ${torchSize(Z.shape)}`);
        }
      } finally {
        for (const t of [Z, X]) if (t !== Y) plist._dropResult(t);
        plist._dropResult(Y);
      }
    }
    plist.append(parametrization);
    plist.unsafe = plist.unsafe || unsafe;
  } else if (module._buffers.get(tensorName) || module._parameters.get(tensorName)) {
    const original = module[tensorName];
    const plist = new ParametrizationList([parametrization], original, unsafe);
    delete module[tensorName];
    if (!isParametrized(module)) {
      injectNewClass(module);
      module.parametrizations = new ModuleDict();
    }
    injectProperty(module, tensorName);
    module.parametrizations.set(tensorName, plist);
  } else {
    throw new TorchError(`Module '${module}' does not have a parameter, a buffer, or a parametrized element with name '${tensorName}'`);
  }
  return module;
}

/**
 * Removes the parametrizations on module[tensorName]. With
 * leaveParametrized (default) the tensor keeps its current parametrized
 * value (written into the original Parameter, which keeps its identity);
 * otherwise it goes back to `original`.
 * @param {Module} module
 * @param {string} tensorName
 * @param {{leaveParametrized?: boolean}|boolean} [opts]
 * @returns {Module} module
 */
export function removeParametrizations(module, tensorName, ...rest) {
  const f = 'removeParametrizations';
  needModule(f, module);
  checkString(f, tensorName, 'tensorName');
  let { leaveParametrized } = parseArgs(f, rest, ['leaveParametrized'], { leaveParametrized: true });
  if (leaveParametrized === undefined) leaveParametrized = true;
  checkBool(f, leaveParametrized, 'leaveParametrized');
  if (!isParametrized(module, tensorName))
    throw new TorchError(`Module ${module} does not have a parametrization on ${tensorName}`);
  const plist = module.parametrizations.get(tensorName);
  let original;
  if (plist.isTensor) {
    original = plist.original;
    if (leaveParametrized) {
      const t = noGrad(() => plist.forward());
      try {
        if (t.dtype !== original.dtype)
          throw new TorchError(`The parametrization changes the dtype of the tensor from ${torchDtype(original.dtype)} to ${torchDtype(t.dtype)}. It is not supported to leave the tensor parametrized (\`leave_parametrized=True\`) in this case.`);
        setOriginal(plist, 'original', t);
        original = plist.original;
      } finally {
        if (t !== original) plist._dropResult(t);
      }
    }
  } else {
    if (!leaveParametrized)
      throw new TorchError('Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in terms of a sequence of tensors.');
    const t = plist.forward();
    original = t.requiresGrad ? new Parameter(t) : t;
  }
  const proto = Object.getPrototypeOf(module);
  delete proto[tensorName];
  module.parametrizations.delete(tensorName);
  if (original instanceof Parameter) module.registerParameter(tensorName, original);
  else module.registerBuffer(tensorName, original);
  if (!isParametrized(module)) {
    delete module.parametrizations;
    Object.setPrototypeOf(module, Object.getPrototypeOf(proto));
  }
  return module;
}

/** nn.utils.parametrize, as installed. */
export const parametrize = {
  registerParametrization, removeParametrizations, isParametrized, typeBeforeParametrizations, cached, ParametrizationList,
};
