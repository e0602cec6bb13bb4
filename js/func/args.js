// What grad and vjp do to their arguments: argnums (PyTorch's
// _slice_argnums), wrapping the differentiated leaves as leaves of the
// transform's level, turning typed arrays into tensors, and afterwards
// writing in-place updates back into the caller's typed arrays.
import { Tensor } from '../tensor.js';
import { TorchError } from '../errors.js';
import { isPlainObject } from '../args.js';
import { isTypedLeaf, isLeaf, treeFlatten, treeUnflatten, typedToTensor, numberToTensor, typeName } from './pytree.js';
import { wrapLeaf } from './level.js';

const isFloat = (dt) => dt === 'float32' || dt === 'float64';

/**
 * PyTorch's argnums rules: a number or a non-empty array of distinct
 * numbers (negative ones count from the end) within the positional args.
 * @returns {number[]} wrapped argnums, in the given order
 */
export function sliceArgnums(argnums, nargs) {
  const isArr = Array.isArray(argnums);
  if (typeof argnums !== 'number' && !isArr)
    throw new TorchError(`argnums must be int or Tuple[int, ...] (a number or an array of numbers), got: ${typeName(argnums)}`);
  const list = (isArr ? argnums : [argnums]).map((a) => {
    if (typeof a !== 'number' || !Number.isInteger(a)) throw new TorchError(`argnum must be int, got: ${typeName(a)}`);
    if (a >= 0 && a < nargs) return a;
    if (a < 0 && a >= -nargs) return a + nargs;
    throw new TorchError(`Got argnum=${a}, but only ${nargs} positional inputs`);
  });
  if (isArr) {
    if (list.length === 0) throw new TorchError('argnums must be non-empty');
    if (new Set(list).size !== list.length) throw new TorchError(`argnums elements must be unique, got [${list.join(', ')}]`);
  }
  return list;
}

/**
 * Copies a pytree rebuilding arrays and plain objects, with fn(leaf,
 * holder, key) at each leaf; holder/key say where the new value sits (null
 * for a leaf at the root).
 */
function rebuild(v, fn, holder = null, key = null) {
  if (isLeaf(v)) return fn(v, holder, key);
  if (Array.isArray(v)) {
    const out = new Array(v.length);
    for (let k = 0; k < v.length; k++) out[k] = rebuild(v[k], fn, out, k);
    return out;
  }
  if (isPlainObject(v)) {
    const out = {};
    for (const k of Object.keys(v)) out[k] = rebuild(v[k], fn, out, k);
    return out;
  }
  return v;
}

/**
 * Prepares a transform's arguments. Every leaf of an argument in `diffArgs`
 * becomes a fresh leaf of level L (Tensors as they are, typed arrays and
 * numbers through a new tensor); every typed array elsewhere becomes a 1-D
 * tensor. The caller runs this inside its scope (all new tensors are freed
 * with it).
 * @param {string} what the transform's name, for errors
 * @returns {{callArgs: any[], diff: Map<number, {spec: object, leaves: {kind: string, w: Tensor}[]}>, sawTensor: boolean, slots: object[]}}
 */
export function prepareArgs(what, L, args, diffArgs) {
  const diff = new Map();
  const slots = []; // typed arrays turned into tensors: where, to write in-place updates back
  let sawTensor = false;
  const fromTyped = (a, holder, key) => {
    const t = typedToTensor(a);
    slots.push({ holder, key, typed: a, tensor: t, version: t._version });
    return t;
  };
  const callArgs = args.map((arg, i) => {
    if (!diffArgs.includes(i)) return rebuild(arg, (leaf, holder, key) => (isTypedLeaf(leaf) ? fromTyped(leaf, holder, key) : leaf));
    const [, spec] = treeFlatten(arg);
    checkNoOpaque(spec);
    const leaves = [];
    const rebuilt = rebuild(arg, (leaf, holder, key) => {
      let kind, t;
      if (leaf instanceof Tensor) {
        kind = 'tensor';
        sawTensor = true;
        t = leaf;
      } else if (isTypedLeaf(leaf)) {
        kind = 'typed';
        if (leaf instanceof Int32Array) t = null;
        else t = fromTyped(leaf, holder, key);
      } else {
        kind = 'number';
        t = numberToTensor(leaf);
      }
      if (!t || !isFloat(t.dtype))
        throw new TorchError(`${what}: only Tensors of floating point dtype can require gradients (argument ${i} has a leaf of dtype ${t ? t.dtype : 'int32'})`);
      const w = wrapLeaf(L, t);
      leaves.push({ kind, w });
      // the slot holds w, which is t's value: not a reassignment to copy back
      if (kind === 'typed') slots[slots.length - 1].wrapped = w;
      return w;
    });
    diff.set(i, { spec, leaves });
    return rebuilt;
  });
  return { callArgs, diff, sawTensor, slots };
}

function checkNoOpaque(spec) {
  if (spec.kind === 'opaque') throw new TorchError(`Thing passed to transform API must be Tensor, got ${typeName(spec.value)}`);
  if (spec.children) spec.children.forEach(checkNoOpaque);
}

/**
 * After f returned: the caller's typed arrays receive what f did to the
 * tensors made from them: in-place updates (the storage version moved) and
 * reassignments of the slot (functionalCall's write-back into a dict). A
 * tensor that replaced one of ours in our own copy of a container is freed
 * unless it is in `keep` (the transform returns it).
 */
export function writeBackTyped(slots, keep) {
  for (const s of slots) {
    const cur = s.holder ? s.holder[s.key] : s.tensor;
    if (cur === s.tensor || (cur === s.wrapped && cur !== undefined)) {
      if (!s.tensor.isDisposed && s.tensor._version !== s.version) s.typed.set(s.tensor.toTypedArray());
    } else if (cur instanceof Tensor && !cur.isDisposed) {
      if (cur.numel === s.typed.length) s.typed.set(cur.toTypedArray());
      if (!keep.has(cur)) cur.dispose();
    }
  }
}

