// Sequential, ModuleList and ModuleDict: modules that hold modules, with
// PyTorch's naming ('0', '1', … for the indexed ones) so that dotted names
// such as '0.weight' match PyTorch's state dicts.
import { Module, env } from './module.js';
import { Tensor } from '../tensor.js';
import { TorchError } from '../errors.js';
import { isPlainObject } from '../args.js';
import { typename } from './repr.js';
import { runChain } from './chain.js';

function absIndex(size, idx) {
  if (typeof idx !== 'number' || !Number.isInteger(idx)) throw new TorchError(`index must be an integer, got ${typename(idx)}`);
  if (!(-size <= idx && idx < size)) throw new TorchError(`index ${idx} is out of range`);
  return idx < 0 ? idx + size : idx;
}

/** Renumbers _modules '0', '1', … keeping order (after a deletion or insertion). */
function renumber(mod) {
  const values = Array.from(mod._modules.values());
  mod._modules.clear();
  values.forEach((m, i) => mod._modules.set(String(i), m));
}

/** Entries of a {name: module} object or Map, or of an array of [name, module] pairs. */
function namedEntries(arg) {
  if (arg instanceof Map) return Array.from(arg.entries());
  if (Array.isArray(arg)) return arg;
  return Object.entries(arg);
}

/**
 * Runs its modules in order, each on the previous one's output. When every
 * module is a built-in layer the whole forward is one call into WebAssembly.
 * @example
 * const net = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 1));
 * net.get(0).weight.shape; // [8, 4]
 * new nn.Sequential({ fc: new nn.Linear(4, 2), act: new nn.Tanh() }); // names 'fc', 'act'
 */
export class Sequential extends Module {
  /** @param {...Module} modules modules, or one {name: module} object / Map */
  constructor(...modules) {
    super();
    if (modules.length === 1 && (isPlainObject(modules[0]) || modules[0] instanceof Map)) {
      for (const [k, m] of namedEntries(modules[0])) this.registerModule(k, m);
    } else {
      modules.forEach((m, i) => this.registerModule(String(i), m));
    }
  }
  /** The number of modules. */
  get length() { return this._modules.size; }
  /** @internal the name of the module at idx */
  _keyAt(idx) { return Array.from(this._modules.keys())[absIndex(this._modules.size, idx)]; }
  /** The module at `idx` (negative counts from the end). */
  get(idx) { return this._modules.get(this._keyAt(idx)); }
  /** Replaces the module at `idx`. */
  set(idx, module) { this[this._keyAt(idx)] = module; }
  /** Removes the module at `idx`; the rest are renumbered. */
  delete(idx) { this._modules.delete(this._keyAt(idx)); renumber(this); }
  /** A new Sequential of modules [start, end) keeping their names. */
  slice(start = 0, end = this.length) {
    const entries = Array.from(this._modules.entries()).slice(start, end);
    return new this.constructor(new Map(entries));
  }
  /** Appends `module` under the next index. */
  append(module) { this.registerModule(String(this._modules.size), module); return this; }
  /** Inserts `module` at `index` (the rest move up). */
  insert(index, module) {
    if (!(module instanceof Module)) throw new TorchError(`module should be of type: Module, got ${typename(module)}`);
    const n = this._modules.size;
    if (typeof index !== 'number' || !Number.isInteger(index) || !(-n <= index && index <= n))
      throw new TorchError(`Index out of range: ${index}`);
    const idx = index < 0 ? index + n : index;
    for (let i = n; i > idx; i--) this._modules.set(String(i), this._modules.get(String(i - 1)));
    this._modules.set(String(idx), module);
    return this;
  }
  /** Appends every module of an iterable. */
  extend(modules) { for (const m of modules) this.append(m); return this; }
  /** Removes and returns the module at `idx`. */
  pop(idx = -1) { const m = this.get(idx); this.delete(idx); return m; }
  [Symbol.iterator]() { return this._modules.values(); }

  /** The chain descriptors of every module, or null if one is not a built-in layer. @internal */
  _descs() {
    const descs = [];
    for (const m of this._modules.values()) {
      if (!m || typeof m._desc !== 'function') return null;
      const d = m._desc();
      if (!d) return null;
      descs.push(d);
    }
    return descs;
  }
  /**
   * Runs the modules in order. When every module is a built-in layer that
   * the chain knows (each has a _desc()), the whole forward is one call
   * into WebAssembly (nn/chain.js); otherwise (or when the input is not a
   * Tensor, which the first module checks) each module's forward runs.
   * @param {Tensor} input
   */
  forward(input) {
    if (this._modules.size > 1 && input instanceof Tensor) {
      // descriptors may hold values computed now (a parametrized weight):
      // the scope frees them, keeping the output
      const out = env.torch.scope(() => {
        const descs = this._descs();
        return descs ? runChain(descs, input) : null;
      });
      if (out) return out;
    }
    let x = input;
    for (const m of this._modules.values()) if (m) x = m.forward(x);
    return x;
  }
}

/**
 * A list of modules, registered as '0', '1', … (their parameters are the
 * list's). Indexing is `list.get(i)`; iteration yields the modules.
 * @example
 * const layers = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 2)]);
 * for (const l of layers) x = l.forward(x);
 */
export class ModuleList extends Module {
  /** @param {Iterable<Module>|null} [modules] */
  constructor(modules = null) {
    super();
    if (modules !== null && modules !== undefined) this.extend(modules);
  }
  /** The number of modules. */
  get length() { return this._modules.size; }
  /** The module at `idx` (negative counts from the end). */
  get(idx) { return this._modules.get(String(absIndex(this._modules.size, idx))); }
  /** Replaces the module at `idx`. */
  set(idx, module) { this.registerModule(String(absIndex(this._modules.size, idx)), module); }
  /** Removes the module at `idx`; the rest are renumbered. */
  delete(idx) { this._modules.delete(String(absIndex(this._modules.size, idx))); renumber(this); }
  /** Removes and returns the module at `idx`. */
  pop(idx = -1) { const m = this.get(idx); this.delete(idx); return m; }
  /** Appends `module`. */
  append(module) { this.registerModule(String(this._modules.size), module); return this; }
  /** Appends every module of an iterable. */
  extend(modules) {
    if (modules === null || typeof modules[Symbol.iterator] !== 'function')
      throw new TorchError(`ModuleList.extend should be called with an iterable, but got ${typename(modules)}`);
    const offset = this._modules.size;
    let i = 0;
    for (const m of modules) this.registerModule(String(offset + i++), m);
    return this;
  }
  /** Inserts `module` before index `index`. */
  insert(index, module) {
    const n = this._modules.size;
    if (typeof index !== 'number' || !Number.isInteger(index)) throw new TorchError(`index must be an integer, got ${typename(index)}`);
    let idx = index < 0 ? Math.max(0, n + index) : Math.min(index, n);
    if (module !== null && !(module instanceof Module)) throw new TorchError(`${typename(module)} is not a Module subclass`);
    for (let i = n; i > idx; i--) this._modules.set(String(i), this._modules.get(String(i - 1)));
    this._modules.set(String(idx), module);
    return this;
  }
  /** A new ModuleList of modules [start, end). */
  slice(start = 0, end = this.length) { return new ModuleList(Array.from(this._modules.values()).slice(start, end)); }
  [Symbol.iterator]() { return this._modules.values(); }
}

/**
 * An ordered dict of modules: get/set/has/delete by name, keys(), values(),
 * items() in insertion order; iteration yields the keys.
 * @example
 * const heads = new nn.ModuleDict({ cls: new nn.Linear(8, 3), box: new nn.Linear(8, 4) });
 * heads.get('cls').forward(x);
 */
export class ModuleDict extends Module {
  /** @param {Record<string, Module>|Map<string, Module>|Array<[string, Module]>|null} [modules] */
  constructor(modules = null) {
    super();
    if (modules !== null && modules !== undefined) this.update(modules);
  }
  /** The number of entries. */
  get length() { return this._modules.size; }
  /** The module under `key` (PyTorch raises KeyError for a missing key). */
  get(key) {
    if (!this._modules.has(key)) throw new TorchError(`KeyError: '${key}'`);
    return this._modules.get(key);
  }
  /** Registers `module` under `key` (replacing any module there). */
  set(key, module) { this.registerModule(key, module); }
  /** Whether `key` is present. */
  has(key) { return this._modules.has(key); }
  /** Removes `key`. */
  delete(key) {
    if (!this._modules.has(key)) throw new TorchError(`KeyError: '${key}'`);
    this._modules.delete(key);
  }
  /** Removes `key` and returns its module. */
  pop(key) { const m = this.get(key); this._modules.delete(key); return m; }
  /** Removes every entry. */
  clear() { this._modules.clear(); }
  /** The keys, in insertion order. */
  keys() { return Array.from(this._modules.keys()); }
  /** The modules, in insertion order. */
  values() { return Array.from(this._modules.values()); }
  /** [key, module] pairs. */
  items() { return Array.from(this._modules.entries()); }
  /** Adds every entry of an object, Map, ModuleDict or array of [key, module] pairs. */
  update(modules) {
    const entries = modules instanceof ModuleDict ? modules.items() : namedEntries(modules);
    entries.forEach((e, j) => {
      if (!Array.isArray(e) || e.length !== 2)
        throw new TorchError(`ModuleDict update sequence element #${j} should be Iterable; is ${typename(e)}`);
      this.registerModule(e[0], e[1]);
    });
    return this;
  }
  [Symbol.iterator]() { return this._modules.keys(); }
}
