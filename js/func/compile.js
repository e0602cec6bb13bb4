// func.compile (torch.compile's and jax.jit's role): a function with f's
// behaviour that is traced once per input signature into a program of ops
// and replayed with one call into WebAssembly.
//
// The first call with a new signature runs f eagerly inside a trace: the
// core records every op where it leaves the levels f's own transforms push
// (so compile(vmap(grad(loss))) records the fully lowered program, and ops
// that transforms compile is called under must see, e.g. grad(compile(f)),
// are recorded at their level), with Tensor arguments and tensors made from
// typed-array arguments as inputs and every other tensor an op reads as a
// constant held by reference (NOTE: [tracing] in src/interp/trace.c). The
// trace's result is f's own. Later calls with the same signature replay the
// program: one call into WebAssembly, intermediates freed at their last use.
//
// The signature: the pytree structure of the arguments, each Tensor's dtype
// and shape (and where it sits on the transform level stack), each typed
// array's type and length, numbers, strings and booleans by value, any other
// object by identity, and which leaves are the same object.
//
// What compile cannot replay makes it fall back to eager for that signature,
// with one console.warn: reading a value into JavaScript that does not come
// straight back as an output (item(), toTypedArray(), tolist() or printing
// feeding control flow), side effects outside ops (backward(), .grad,
// requiresGrad_, manualSeed), an op error the function caught, or an output
// that is not a pytree of Tensors, typed arrays and numbers.
import { Tensor, scopes, unscoped, traceHooks } from '../tensor.js';
import { TorchError } from '../errors.js';
import { rt, views, check, throwLast, readCString, DTYPE_CODE, ARRAY_TYPES } from '../runtime.js';
import { isPlainObject } from '../args.js';
import { isTypedLeaf, typeName } from './pytree.js';

/** The trace being recorded (one at a time: a compiled function called while it records runs inline). */
const tracer = { active: null };

/** Distinct signatures a compiled function keeps before new ones run eagerly. */
const CACHE_LIMIT = 64;

// ---- signatures -------------------------------------------------------------------

const DT = { float32: 'f', float64: 'd', int32: 'i', bool: 'b' };
const objIds = new WeakMap();
const symIds = new Map();
let nextId = 1;
function idOf(v) {
  const m = typeof v === 'symbol' ? symIds : objIds;
  let id = m.get(v);
  if (id === undefined) { id = nextId++; m.set(v, id); }
  return id;
}
const typedCode = (a) => (a instanceof Float32Array ? 'F' : a instanceof Float64Array ? 'D' : 'I');

/**
 * The cache key of an argument list, and its leaves (Tensors and typed
 * arrays, depth first) in the order the program binds them.
 */
function signature(args) {
  const leaves = [];
  const path = new Set();
  const walk = (v) => {
    if (v instanceof Tensor) { leaves.push(v); return `T${DT[v.dtype]}${v.shape.join(',')};`; }
    if (typeof v === 'number') return Object.is(v, -0) ? 'n-0;' : `n${v};`;
    if (isTypedLeaf(v)) { leaves.push(v); return `${typedCode(v)}${v.length};`; }
    if (Array.isArray(v) || isPlainObject(v)) {
      if (path.has(v)) throw new TorchError('compile: the arguments contain a cycle (an array or object that contains itself)');
      path.add(v);
      try {
        let s;
        if (Array.isArray(v)) {
          s = '[';
          for (let i = 0; i < v.length; i++) s += walk(v[i]);
          return s + ']';
        }
        s = '{';
        for (const k of Object.keys(v)) s += JSON.stringify(k) + ':' + walk(v[k]);
        return s + '}';
      } finally { path.delete(v); }
    }
    if (v === null) return 'N;';
    if (v === undefined) return 'U;';
    if (typeof v === 'boolean') return v ? 'b1;' : 'b0;';
    if (typeof v === 'string') return `s${JSON.stringify(v)};`;
    if (typeof v === 'bigint') return `g${v};`;
    return `o${idOf(v)};`; // functions, symbols, modules and other objects: by identity
  };
  let key = '';
  for (const a of args) key += walk(a) + '|';
  if (leaves.length > 1) {
    const first = new Map();
    leaves.forEach((l, i) => {
      const j = first.get(l);
      if (j === undefined) first.set(l, i);
      else key += `@${i}=${j}`;
    });
  }
  // where the Tensors sit on the level stack, and whether their values are contiguous
  let h = 0, n = 0;
  const i32 = views().i32;
  for (const l of leaves) {
    if (!(l instanceof Tensor)) continue;
    i32[rt.inOff + n++] = l.handle; // a disposed Tensor throws its TorchError here
    if (n === rt.maxIn) { h = rt.ex.ft_api_trace_levels(n, h); n = 0; }
  }
  h = rt.ex.ft_api_trace_levels(n, h);
  return { key: key + '#' + h, leaves };
}

// ---- replay -----------------------------------------------------------------------

/** A new plain tensor holding a copy of typed array `data` (a raw handle the caller releases). */
function rawFromTyped(data, shape, code) {
  const i32 = views().i32;
  for (let k = 0; k < shape.length; k++) i32[rt.shapeOff + k] = shape[k];
  check(rt.ex.ft_api_empty(code, shape.length));
  const h = views().i32[rt.outOff];
  if (data.length) new ARRAY_TYPES[code](rt.memory.buffer, rt.ex.ft_api_data_ptr(h), data.length).set(data);
  return h;
}

/** A copy of the data behind handle h (n elements of dtype code). */
function readHandle(h, code, n) {
  const Ctor = ARRAY_TYPES[code];
  let ptr = rt.ex.ft_api_data_ptr(h), tmp = 0;
  if (!ptr) {
    check(rt.ex.ft_api_materialize(h));
    tmp = views().i32[rt.outOff];
    ptr = rt.ex.ft_api_data_ptr(tmp);
  }
  const out = new Ctor(n);
  if (n) out.set(new Ctor(rt.memory.buffer, ptr, n));
  if (tmp) rt.ex.ft_api_release(tmp);
  return out;
}

/** Runs program entry e on the call's leaves and rebuilds the output pytree. */
function replay(e, leaves) {
  const base = e.hin >> 2;
  let temps = null;
  try {
    for (let k = 0; k < e.bindings.length; k++) {
      const b = e.bindings[k];
      let h;
      if (b.code >= 0) {
        h = rawFromTyped(leaves[b.leaf], b.shape, b.code);
        (temps ??= []).push(h);
      } else h = leaves[b.leaf].handle;
      views().i32[base + k] = h;
    }
    if (rt.ex.ft_api_prog_run(e.id) !== 0) throwLast();
  } finally {
    if (temps) for (const h of temps) rt.ex.ft_api_release(h);
  }
  const i32 = views().i32, ob = e.hout >> 2;
  const vals = new Array(e.outs.length);
  for (let j = 0; j < vals.length; j++) {
    const o = e.outs[j], h = i32[ob + j];
    if (o.kind === 'tensor') vals[j] = new Tensor(h, o.dtype, o.shape.slice());
    else {
      const a = readHandle(h, DTYPE_CODE[o.dtype], o.numel);
      rt.ex.ft_api_release(h);
      vals[j] = o.kind === 'typed' ? a : a[0];
    }
  }
  return rebuild(e.plan, vals, leaves);
}

/** The output pytree from its plan, the program's output values and the call's leaves. */
function rebuild(p, vals, leaves) {
  switch (p.k) {
    case 'out': return vals[p.o];
    case 'in': return leaves[p.leaf];
    case 'val': return p.v;
    case 'copy': return p.v.slice();
    case 'arr': return p.c.map((c) => rebuild(c, vals, leaves));
    default: {
      const o = {};
      p.keys.forEach((k, i) => { o[k] = rebuild(p.c[i], vals, leaves); });
      return o;
    }
  }
}

// ---- tracing ----------------------------------------------------------------------

const isConstValue = (v) => v === null || v === undefined || ['string', 'boolean', 'bigint', 'symbol'].includes(typeof v);

/**
 * The plan of f's output: where each leaf comes from on replay. Registers
 * the program's outputs with the core. Returns { plan, outs } or a reason
 * the output cannot be rebuilt.
 */
function planOutput(out, ctx, fresh) {
  const outs = [];
  const byTensor = new Map(); // a Tensor object returned twice is one output
  const byRead = new Map();
  const path = new Set();
  let reason = null;
  const addOut = (meta, register) => {
    register();
    const o = views().i32[rt.outOff];
    if (o !== outs.length) throw new TorchError('internal: compile output indices out of step');
    outs.push(meta);
    return { k: 'out', o };
  };
  const walk = (v) => {
    if (reason) return null;
    if (v instanceof Tensor) {
      const li = ctx.leafIndex.get(v);
      if (li !== undefined) return { k: 'in', leaf: li };
      if (!fresh.has(v)) return { k: 'val', v }; // a Tensor that existed before the call: the same object
      if (v.isDisposed) { reason = 'the function returned a disposed Tensor'; return null; }
      let p = byTensor.get(v);
      if (!p) {
        p = addOut({ kind: 'tensor', dtype: v.dtype, shape: v.shape.slice() }, () => check(rt.ex.ft_api_trace_output(v.handle)));
        byTensor.set(v, p);
      }
      return p;
    }
    if (ArrayBuffer.isView(v)) {
      const r = ctx.readByArray.get(v);
      if (r) {
        r.used = true;
        let p = byRead.get(r);
        if (!p) {
          p = addOut({ kind: 'typed', dtype: r.dtype, numel: r.arr.length }, () => check(rt.ex.ft_api_trace_output_slot(r.slot)));
          byRead.set(r, p);
        }
        return p;
      }
      const li = ctx.leafIndex.get(v);
      if (li !== undefined) return { k: 'in', leaf: li };
      return { k: 'copy', v: v.slice() };
    }
    if (typeof v === 'number') {
      // a number read from a one-element tensor (item(), a transform's typed-array mode)
      const r = ctx.reads.find((q) => !q.used && q.arr.length === 1 && typeof q.arr[0] === 'number' && Object.is(q.arr[0], v));
      if (!r) return { k: 'val', v };
      r.used = true;
      return addOut({ kind: 'number', dtype: r.dtype, numel: 1 }, () => check(rt.ex.ft_api_trace_output_slot(r.slot)));
    }
    if (Array.isArray(v) || isPlainObject(v)) {
      if (path.has(v)) { reason = 'the function returned a cyclic structure'; return null; }
      path.add(v);
      try {
        if (Array.isArray(v)) return { k: 'arr', c: Array.from(v, walk) };
        const keys = Object.keys(v);
        return { k: 'obj', keys, c: keys.map((key) => walk(v[key])) };
      } finally { path.delete(v); }
    }
    if (isConstValue(v)) return { k: 'val', v };
    reason = `the function returned a ${typeName(v)}: compile rebuilds outputs made of Tensors, typed arrays, numbers, strings, booleans, arrays and plain objects`;
    return null;
  };
  const plan = walk(out);
  if (!reason && ctx.reads.some((r) => !r.used))
    reason = "the function reads a tensor's value into JavaScript (item(), toTypedArray(), tolist(), printing) and uses it: its control flow or constants may depend on the data";
  return { plan, outs, reason };
}

/** Every Tensor of a pytree-ish value (for disposing a fullgraph trace's result). */
function tensorsOf(v, out = new Set(), seen = new Set()) {
  if (v instanceof Tensor) out.add(v);
  else if (v && typeof v === 'object' && !seen.has(v) && (Array.isArray(v) || isPlainObject(v))) {
    seen.add(v);
    for (const x of Object.values(v)) tensorsOf(x, out, seen);
  }
  return out;
}

function fnName(f) {
  return f.name ? `'${f.name}'` : 'the function';
}

/**
 * torch.func.compile: f, traced once per input signature into a program of
 * ops and replayed in one call into WebAssembly (intermediates freed at
 * their last use). Composes with every transform in both directions:
 * compile(vmap(grad(loss))) records the lowered program, grad(compile(f))
 * and vmap(compile(f)) replay it through the enclosing transform. Falls back
 * to eager, with one console.warn per signature, where f's behaviour depends
 * on tensor values read into JavaScript or on side effects outside ops.
 *
 * Specialisation: numbers, strings and booleans in the arguments are part of
 * the signature by value, other objects by identity; tensors f closes over
 * are constants held by reference (in-place updates are seen, a reassigned
 * variable is not); JavaScript state f reads (module.training, closures) is
 * what it was at the trace. Dispose the compiled function to free what its
 * programs hold, or leave it to the garbage collector.
 * @template {(...args: any[]) => any} F
 * @param {F} f
 * @param {{fullgraph?: boolean, fuse?: boolean}} [opts] fullgraph: throw a TorchError instead of falling
 *   back to eager; fuse (default true): run chains of elementwise ops as one loop over cache-sized
 *   blocks (results are bit-identical either way; false is for measuring what fusion gains)
 * @returns {F & {dispose(): void, stats(): object}}
 * @example
 * const step = func.compile((p, x, y) => func.gradAndValue(loss)(p, x, y));
 * const [g, l] = step(params, xb, yb); // traced; later calls replay
 */
export function compile(f, opts = undefined) {
  if (typeof f !== 'function') throw new TorchError(`compile: expected f to be a function, got ${typeName(f)}`);
  if (opts !== undefined && !isPlainObject(opts)) throw new TorchError(`compile: options must be an object, got ${typeName(opts)}`);
  for (const k of Object.keys(opts ?? {}))
    if (k !== 'fullgraph' && k !== 'fuse') throw new TorchError(`compile() got an unexpected keyword argument '${k}'`);
  const fullgraph = opts?.fullgraph ?? false;
  if (typeof fullgraph !== 'boolean') throw new TorchError(`compile: fullgraph must be a boolean, got ${typeName(fullgraph)}`);
  const fuse = opts?.fuse ?? true;
  if (typeof fuse !== 'boolean') throw new TorchError(`compile: fuse must be a boolean, got ${typeName(fuse)}`);

  const cache = new Map();
  const held = { ids: [] }; // program ids, freed by dispose() or the FinalizationRegistry
  const stats = { traces: 0, replays: 0, eagerCalls: 0, fallbacks: 0 };
  let disposed = false, warnedLimit = false;

  function trace(key, leaves, args) {
    stats.traces++;
    const ctx = { reads: [], readByArray: new Map(), bindings: [], leafIndex: new Map(), buffers: new Set(), failure: null };
    leaves.forEach((l, i) => {
      if (!ctx.leafIndex.has(l)) ctx.leafIndex.set(l, i);
      if (!(l instanceof Tensor)) ctx.buffers.add(l.buffer);
    });
    const bind = (h, b) => {
      check(rt.ex.ft_api_trace_input(h));
      if (views().i32[rt.outOff] !== ctx.bindings.length) throw new TorchError('internal: compile input indices out of step');
      ctx.bindings.push(b);
    };
    check(rt.ex.ft_api_trace_begin());
    let open = true;
    try {
      leaves.forEach((l, i) => { if (l instanceof Tensor) bind(l.handle, { leaf: i, code: -1 }); });
      const mine = [];
      const parent = scopes[scopes.length - 1];
      if (parent?.user) mine.user = true;
      scopes.push(mine);
      tracer.active = ctx;
      traceHooks.onRead = (t, arr) => {
        const slot = rt.ex.ft_api_trace_read(t._h);
        if (slot < 0) return; // a constant's data: not data-dependent
        const r = { slot, arr, dtype: t.dtype, used: false };
        ctx.reads.push(r);
        ctx.readByArray.set(arr, r);
      };
      traceHooks.onTyped = (data, t) => {
        const i = ctx.leafIndex.get(data);
        if (i !== undefined) bind(t._h, { leaf: i, code: DTYPE_CODE[t.dtype], shape: t.shape.slice() });
        else if (ctx.buffers.has(data.buffer))
          ctx.failure ??= 'the function makes a tensor from part of a typed-array argument (a subarray), which compile cannot rebind';
        else if (leaves.some((l) => !(l instanceof Tensor) && l.length > 0 && l.length === data.length && l.every((v, k) => v === data[k])))
          // most likely a converted copy (another element type, Array.from): it would be a constant of the trace
          ctx.failure ??= 'the function makes a tensor from a copy of a typed-array argument (converted to another type?), which compile cannot rebind: pass the typed array itself or a Tensor';
      };
      let out;
      try {
        out = f(...args);
      } finally {
        traceHooks.onRead = traceHooks.onTyped = null;
        tracer.active = null;
        const idx = scopes.lastIndexOf(mine);
        if (idx >= 0) scopes.splice(idx, 1);
        const top = scopes[scopes.length - 1];
        if (top) for (const t of mine) top.push(t);
        else for (const t of mine) unscoped(t);
      }
      const fresh = new Set(mine);
      const { plan, outs, reason: planReason } = planOutput(out, ctx, fresh);
      const cFailure = readCString(rt.ex.ft_api_trace_failure());
      const reason = ctx.failure ?? planReason ?? (cFailure || null);
      if (reason) {
        open = false;
        check(rt.ex.ft_api_trace_end(0));
        cache.set(key, null);
        stats.fallbacks++;
        if (fullgraph) {
          for (const t of tensorsOf(out)) if (fresh.has(t)) t.dispose();
          throw new TorchError(`compile(fullgraph=true): cannot compile ${fnName(f)}: ${reason}`);
        }
        console.warn(`torch.func.compile: ${fnName(f)} runs eagerly for this input signature: ${reason}`);
        return out;
      }
      open = false;
      check(rt.ex.ft_api_trace_end(fuse ? 1 : 2));
      const id = views().i32[rt.outOff];
      held.ids.push(id);
      cache.set(key, {
        id, bindings: ctx.bindings, plan, outs,
        hin: rt.ex.ft_api_prog_inputs(id), hout: rt.ex.ft_api_prog_outputs(id),
        instructions: rt.ex.ft_api_prog_info(id, 2),
        fusedGroups: rt.ex.ft_api_prog_info(id, 7), fusedOps: rt.ex.ft_api_prog_info(id, 8),
      });
      return out;
    } finally {
      if (open) rt.ex.ft_api_trace_end(0);
    }
  }

  function compiled(...args) {
    if (disposed) throw new TorchError('compile: this compiled function has been disposed');
    if (tracer.active) return f(...args); // inside another trace: f's ops join it
    const { key, leaves } = signature(args);
    const e = cache.get(key);
    if (e === undefined) {
      if (cache.size >= CACHE_LIMIT) {
        if (!warnedLimit) {
          warnedLimit = true;
          console.warn(`torch.func.compile: ${fnName(f)} was traced for ${CACHE_LIMIT} input signatures; new ones run eagerly (numbers in the arguments are specialised by value)`);
        }
        stats.eagerCalls++;
        return f(...args);
      }
      return trace(key, leaves, args);
    }
    if (e === null) {
      stats.eagerCalls++;
      return f(...args);
    }
    stats.replays++;
    try {
      return replay(e, leaves);
    } catch (err) {
      if (rt.ex.ft_api_prog_info(e.id, 6) !== 1) throw err;
      // stale: a tensor the program captured changed transform level (requiresGrad_): trace again
      stats.replays--;
      rt.ex.ft_api_prog_free(e.id);
      held.ids.splice(held.ids.indexOf(e.id), 1);
      cache.delete(key);
      return trace(key, leaves, args);
    }
  }

  /** Frees every program (and the constants they hold); calling afterwards throws. */
  compiled.dispose = () => {
    if (disposed) return;
    disposed = true;
    programs.unregister(compiled);
    for (const id of held.ids) rt.ex.ft_api_prog_free(id);
    held.ids.length = 0;
    cache.clear();
  };
  /** Counters: traces, replays, eager calls, signatures that fell back; signatures, instructions and fused groups cached. */
  compiled.stats = () => {
    let signatures = 0, instructions = 0, fusedGroups = 0, fusedOps = 0;
    for (const e of cache.values())
      if (e) { signatures++; instructions += e.instructions; fusedGroups += e.fusedGroups; fusedOps += e.fusedOps; }
    return { ...stats, signatures, instructions, fusedGroups, fusedOps };
  };
  programs.register(compiled, held, compiled);
  return compiled;
}

const programs = new FinalizationRegistry((held) => { for (const id of held.ids) rt.ex.ft_api_prog_free(id); });

/** @internal whether a trace is recording (tests). */
export const _tracing = () => tracer.active !== null;
