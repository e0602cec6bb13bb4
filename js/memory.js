// torch.scope, torch.memory, and torch.noGrad.
import { rt, views } from './runtime.js';
import { Tensor, scopes, unscoped } from './tensor.js';
import { TorchError } from './errors.js';

/** Every Tensor reachable in a pytree (arrays, plain objects, Maps), and
 * every disposable function (a vjpFn or jvpFn holds a graph). */
export function collectTensors(value, into = new Set(), seen = new Set()) {
  if (value instanceof Tensor) { into.add(value); return into; }
  if (typeof value === 'function') { if (typeof value.dispose === 'function') into.add(value); return into; }
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value)) return into;
  seen.add(value);
  if (value instanceof Map) for (const v of value.values()) collectTensors(v, into, seen);
  else for (const k of Object.keys(value)) collectTensors(value[k], into, seen);
  return into;
}

export function install(torch) {
  /**
   * Runs fn and frees every tensor created inside it except those it
   * returns (anywhere in the returned pytree). Nested scopes work; a
   * returned promise is awaited first.
   * @template T
   * @param {() => T} fn
   * @returns {T}
   */
  function scope(fn) {
    if (typeof fn !== 'function') throw new TorchError('scope(fn): fn must be a function');
    const mine = [];
    mine.user = true; /* a torch.scope, as opposed to a transform's internal one */
    scopes.push(mine);
    const close = (result) => {
      const idx = scopes.lastIndexOf(mine);
      if (idx >= 0) scopes.splice(idx, 1);
      const keep = collectTensors(result);
      const parent = scopes[scopes.length - 1];
      for (const t of mine) {
        if (keep.has(t)) { if (parent) parent.push(t); else unscoped(t); }
        else t.dispose();
      }
      return result;
    };
    let result;
    try {
      result = fn();
    } catch (e) {
      close(undefined);
      throw e;
    }
    if (result && typeof result.then === 'function') return result.then(close, (e) => { close(undefined); throw e; });
    return close(result);
  }

  /** { tensors: live core tensors, bytes: live storage bytes, heapBytes: WebAssembly memory size } */
  function memory() {
    rt.ex.ft_api_memory();
    const f = views().f64;
    return { tensors: f[rt.fOff], bytes: f[rt.fOff + 1], heapBytes: rt.memory.buffer.byteLength };
  }

  /** Runs fn with gradient recording disabled at every level live now. */
  function noGrad(fn) {
    if (typeof fn !== 'function') throw new TorchError('noGrad(fn): fn must be a function');
    const token = rt.ex.ft_api_no_grad_enter();
    try {
      return fn();
    } finally {
      rt.ex.ft_api_no_grad_exit(token);
    }
  }
  const isGradEnabled = () => rt.ex.ft_api_grad_enabled() !== 0;

  Object.assign(torch, { scope, memory, noGrad, isGradEnabled, tidy: scope });
}
