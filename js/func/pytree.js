import { TorchError } from '../errors.js';
// Pytrees (API.md "Pytrees"): nested arrays and plain objects whose leaves
// are Tensors, typed arrays (Float32Array, Float64Array, Int32Array) or
// numbers. null/undefined are kept in place and are not leaves; any other
// value (a string, a Module, a Map…) is an opaque node: kept as-is, never
// traversed, and not a leaf either (transforms that need tensors reject it).
//
// A spec records the structure so that a list of leaves can be put back
// (treeUnflatten) and two structures compared (specEqual, specString).
import { Tensor, scopes, unscoped, fromTypedArray, scalarTensor } from '../tensor.js';
import { isPlainObject } from '../args.js';
import { rt } from '../runtime.js';
import { typename } from '../nn/repr.js';

/** True for the typed arrays that are pytree leaves. */
export const isTypedLeaf = (v) => v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array;

/** True for a pytree leaf: a Tensor, a leaf typed array or a number. */
export const isLeaf = (v) => v instanceof Tensor || isTypedLeaf(v) || typeof v === 'number';

/** True for the containers a pytree is made of: arrays and plain objects. */
export const isNode = (v) => Array.isArray(v) || isPlainObject(v);

const LEAF = { kind: 'leaf' };

/**
 * Splits a pytree into its leaves (depth first; object keys in insertion
 * order) and a spec of its structure.
 * @param {any} tree
 * @returns {[any[], object]} [leaves, spec]
 */
export function treeFlatten(tree) {
  const leaves = [];
  const path = new Set(); // containers being walked: a cycle is a TorchError, not a stack overflow
  const enter = (v) => {
    if (path.has(v)) throw new TorchError('pytree: the structure contains a cycle (an array or object that contains itself)');
    path.add(v);
  };
  const walk = (v) => {
    if (isLeaf(v)) { leaves.push(v); return LEAF; }
    if (Array.isArray(v)) { enter(v); try { return { kind: 'array', children: v.map(walk) }; } finally { path.delete(v); } }
    if (isPlainObject(v)) {
      enter(v);
      try {
        const keys = Object.keys(v);
        return { kind: 'object', keys, children: keys.map((k) => walk(v[k])) };
      } finally { path.delete(v); }
    }
    if (v === null || v === undefined) return { kind: 'none', value: v };
    return { kind: 'opaque', value: v };
  };
  const spec = walk(tree);
  return [leaves, spec];
}

/**
 * Rebuilds a pytree of `spec`'s structure from `leaves` (in treeFlatten's order).
 * @param {object} spec
 * @param {any[]} leaves
 */
export function treeUnflatten(spec, leaves) {
  let i = 0;
  const build = (s) => {
    switch (s.kind) {
      case 'leaf': return leaves[i++];
      case 'array': return s.children.map(build);
      case 'object': {
        const o = {};
        s.keys.forEach((k, j) => { o[k] = build(s.children[j]); });
        return o;
      }
      default: return s.value;
    }
  };
  return build(spec);
}

/** Number of leaves in a spec. */
export function specLeafCount(spec) {
  if (spec.kind === 'leaf') return 1;
  if (spec.kind === 'array' || spec.kind === 'object') return spec.children.reduce((n, c) => n + specLeafCount(c), 0);
  return 0;
}

/**
 * A pytree of the same structure with fn(leaf) at every leaf.
 * @param {(leaf: any) => any} fn
 * @param {any} tree
 */
export function treeMap(fn, tree) {
  const [leaves, spec] = treeFlatten(tree);
  return treeUnflatten(spec, leaves.map(fn));
}

/** Whether two specs describe the same structure (leaf kinds are not compared). */
export function specEqual(a, b) {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'leaf') return true;
  if (a.kind === 'none') return true;
  if (a.kind === 'opaque') return a.value === b.value;
  if (a.children.length !== b.children.length) return false;
  if (a.kind === 'object' && a.keys.some((k, i) => k !== b.keys[i])) return false;
  return a.children.every((c, i) => specEqual(c, b.children[i]));
}

/**
 * PyTorch's treespec_pprint, with JavaScript's containers: `*` for a leaf,
 * arrays as Python tuples ((*, *), (*,)), objects as dicts ({'a': *}).
 */
export function specString(spec) {
  switch (spec.kind) {
    case 'leaf': return '*';
    case 'none': return 'None';
    case 'opaque': return typename(spec.value);
    case 'array': {
      const parts = spec.children.map(specString);
      return parts.length === 1 ? `(${parts[0]},)` : `(${parts.join(', ')})`;
    }
    default: return `{${spec.keys.map((k, i) => `'${k}': ${specString(spec.children[i])}`).join(', ')}}`;
  }
}

/** A short type name for error messages quoting PyTorch's `<class '...'>`. */
export function typeName(v) {
  if (v instanceof Tensor) return 'Tensor';
  if (ArrayBuffer.isView(v)) return v.constructor.name;
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'object' || typeof v === 'function') return v.constructor?.name ?? typeof v;
  return typeof v;
}

/** The dtype a leaf typed array becomes. */
export function typedDtype(a) {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  return 'int32';
}

/** A new 1-D tensor holding a copy of a leaf typed array. */
export const typedToTensor = (a) => fromTypedArray(a, [a.length], typedDtype(a));

/** A new 0-d float64 tensor holding a number. */
export const numberToTensor = (x) => scalarTensor(x, 'float64');

/**
 * Converts a tensor back to `kind`'s JavaScript value: a typed array
 * (copy), a number (0-d or one-element), or the tensor itself.
 * @param {Tensor} t
 * @param {'tensor'|'typed'|'number'} kind
 */
export function fromTensor(t, kind) {
  // A result that an enclosing transform still tracks (batched by an outer
  // vmap, recorded by an outer grad) stays a Tensor: a typed array or a
  // number would drop the outer transform's dimension or derivative.
  if ((kind === 'typed' || kind === 'number') && !rt.ex.ft_api_is_concrete(t.handle)) return t;
  if (kind === 'typed') return t.toTypedArray();
  if (kind === 'number') return t.item();
  return t;
}

/**
 * Runs body inside a tensor scope of its own: every Tensor created while it
 * runs is disposed when it returns or throws, except those `keep` collects
 * (which move to the enclosing scope, if any, as torch.scope does).
 * @template T
 * @param {(keep: Set<Tensor>) => T} body
 * @returns {T}
 */
export function scoped(body) {
  const mine = [];
  const keep = new Set();
  scopes.push(mine);
  try {
    return body(keep);
  } finally {
    const idx = scopes.lastIndexOf(mine);
    if (idx >= 0) scopes.splice(idx, 1);
    const parent = scopes[scopes.length - 1];
    for (const t of mine) {
      if (keep.has(t)) { if (parent) parent.push(t); else unscoped(t); }
      else t.dispose();
    }
  }
}

/**
 * Takes `t` out of every enclosing scope: it outlives them (a tensor that
 * forward stored in a module, or functionalCall wrote into a dict).
 * @param {Tensor} t
 */
export function escapeScopes(t) {
  if (!(t instanceof Tensor)) return;
  for (const s of scopes) {
    const i = s.indexOf(t);
    if (i >= 0) s.splice(i, 1);
  }
  unscoped(t);
}
