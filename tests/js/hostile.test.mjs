// Hostile input at the JavaScript surface (issue 7): every exported function,
// every function on the exported namespaces, every nn class constructor and
// every Tensor.prototype method is called with wrong types, bad numbers, huge
// and negative sizes, wrong dtypes, disposed tensors, cyclic objects, and (for
// the transforms) user functions that throw or return garbage.
//
// Each call must either throw a torch.TorchError, rethrow the user's own Error
// object unchanged, or return something sane (no NaN from NaN-free input).
// Afterwards the instance must still compute correctly, no transform level or
// no_grad state may be left behind, and torch.memory().tensors must be back
// where it was once inputs and returned values are disposed: right after each
// call (except a returned promise, whose tensors cannot be disposed
// synchronously), and again after gc at the end of each test.
//
// The test fails when an export (or namespace function, or Tensor method) has
// no case: see COVERED / EXCLUDED at the bottom.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torchNs from '../../dist/index.js';
import { writeSync } from 'node:fs';
const TRACE = process.env.HOSTILE_TRACE;

const torch = torchNs.default;
const { Tensor, TorchError } = torchNs;

// ---- hostile values ---------------------------------------------------------

const cyclicObj = () => { const o = { a: 1 }; o.self = o; return o; };
const cyclicArr = () => { const a = [1]; a.push(a); return a; };

/** [label, factory(own)]: a fresh hostile value per call; tensors it makes go in `own`. */
const HOSTILE = [
  ['string', () => 'abc'], ['null', () => null], ['undefined', () => undefined],
  ['NaN', () => NaN], ['Infinity', () => Infinity], ['-1', () => -1], ['1.5', () => 1.5], ['2**40', () => 2 ** 40],
  ['bigint', () => 1n], ['symbol', () => Symbol('s')], ['plain object', () => ({ foo: 1 })],
  ['cyclic object', cyclicObj], ['empty array', () => []], ['[-1, -2]', () => [-1, -2]],
  ['[2**40, 2**40]', () => [2 ** 40, 2 ** 40]], ['cyclic array', cyclicArr], ['function', () => () => 1],
  ['disposed tensor', () => { const t = torch.ones(2, 3); t.dispose(); return t; }],
  ['int32 tensor', (own) => { const t = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' }); own.push(t); return t; }],
  ['bool tensor', (own) => { const t = torch.tensor([[true, false, true], [false, true, false]]); own.push(t); return t; }],
  ['Float32Array', () => new Float32Array([1, 2])],
];
function hostileValues(own) { return HOSTILE.map(([l, f]) => [l, f(own)]); }
const hostileAt = (i, own) => [HOSTILE[i][0], HOSTILE[i][1](own)];

const HAS_NONFINITE = (v, seen = new Set()) => {
  if (typeof v === 'number') return !Number.isFinite(v) || Math.abs(v) > 1e30;
  if (v instanceof Tensor) return false;
  if (v && typeof v === 'object' && !seen.has(v)) { seen.add(v); return Object.values(v).some((x) => HAS_NONFINITE(x, seen)); }
  return false;
};

// ---- outcome checking ---------------------------------------------------------

/**
 * Every live Tensor reachable from v (arrays, plain objects, Modules), and
 * every disposable function (a vjpFn or jvpFn holds a graph).
 */
function collectTensors(v, out = new Set(), seen = new Set()) {
  if (v === null || typeof v !== 'object' && typeof v !== 'function') return out;
  if (seen.has(v)) return out;
  seen.add(v);
  if (v instanceof Tensor) { out.add(v); return out; }
  if (typeof v === 'function' && typeof v.dispose === 'function') { out.add(v); return out; }
  if (v instanceof torch.nn.Module) {
    for (const p of v.parameters()) out.add(p);
    for (const b of v.buffers()) out.add(b);
    return out;
  }
  if (v instanceof torch.optim.Optimizer) {
    for (const g of v.paramGroups ?? []) collectTensors(g.params, out, seen);
    for (const s of v.state?.values?.() ?? []) collectTensors(s, out, seen);
    return out;
  }
  if (typeof v === 'function') return out;
  if (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
    for (const x of Object.values(v)) collectTensors(x, out, seen);
  }
  return out;
}

const failures = [];
/** Excused leaks seen right after a call; they must be reclaimed by the FinalizationRegistry (checked per test after gc). */
const softLeaks = [];
let calls = 0;
async function report(startTensors) {
  for (let k = 0; k < 6; k++) { globalThis.gc?.(); await new Promise((r) => setTimeout(r, 5)); }
  const now = torch.memory().tensors;
  const leaks = softLeaks.splice(0);
  if (now !== startTensors) failures.push(`${now - startTensors} tensors still live after gc; calls that leaked: ${leaks.slice(0, 20).join('; ')}`);
  const list = failures.splice(0);
  // one line per distinct (function, message) pair
  const seen = new Map();
  for (const f of list) {
    const key = f.replace(/\(#\d+, [^)]*\)/, '').replace(/ on \w+$/, '').replace(/ = .* on \w+$/, '');
    if (!seen.has(key)) seen.set(key, f);
  }
  if (process.env.HOSTILE_DUMP) writeSync(2, [...seen.values()].join('\n') + '\n');
  assert.ok(list.length === 0, `${list.length} hostile-input failures (${seen.size} distinct):\n${[...seen.values()].slice(0, 60).join('\n')}`);
}

function sane() {
  const a = torch.tensor([1, 2, 3]);
  const b = a.mul(2);
  const s = b.sum();
  const v = s.item();
  for (const t of [a, b, s]) t.dispose();
  if (v !== 12) return `basic computation gives ${v}`;
  if (!torch.isGradEnabled()) return 'grad mode left disabled';
  return null;
}

function saneTransforms() {
  const x = torch.tensor([3]);
  const g = torch.func.grad((y) => y.mul(y).sum())(x);
  const v = g.tolist()[0];
  const vm = torch.func.vmap((r) => r.sum())(torch.ones(2, 3));
  const w = vm.tolist();
  for (const t of [x, g, vm]) t.dispose();
  if (v !== 6) return `func.grad after the call gives ${v}`;
  if (w.join() !== '3,3') return `func.vmap after the call gives ${w}`;
  return null;
}

/**
 * Runs `thunk(hostile)` where `make()` builds fresh inputs; checks the outcome.
 * `userErrors` lists Error objects the call may rethrow unchanged.
 */
function attempt(label, make, thunk, { userErrors = [], nanOk = false } = {}) {
  calls++;
  if (TRACE) writeSync(2, label + '\n');
  const before = torch.memory().tensors;
  const owned = [];
  let result, error = null, inputs;
  try {
    inputs = make(owned);
  } catch (e) {
    failures.push(`${label}: setup threw ${e?.name}: ${e?.message}`);
    return;
  }
  try {
    result = thunk(inputs);
  } catch (e) {
    error = e;
  }
  if (error) {
    if (!(error instanceof TorchError) && !userErrors.includes(error) && error !== 'boom') {
      failures.push(`${label}: threw ${error?.constructor?.name ?? typeof error}: ${String(error?.message ?? error).slice(0, 160)}`);
    }
  } else if (!nanOk && !HAS_NONFINITE(inputs)) {
    for (const t of collectTensors(result)) {
      if (!(t instanceof Tensor) || t.isDisposed || (t.dtype !== 'float32' && t.dtype !== 'float64')) continue;
      let data;
      try { data = t.toTypedArray(); } catch (e) { failures.push(`${label}: result unreadable: ${e.message}`); break; }
      if (data.some((x) => Number.isNaN(x))) { failures.push(`${label}: returned NaN from NaN-free input`); break; }
    }
  }
  // dispose inputs and results
  for (const t of collectTensors(result)) t.dispose();
  for (const t of collectTensors(inputs)) t.dispose();
  for (const t of owned) t.dispose();
  const after = torch.memory().tensors;
  if (after !== before) {
    const leak = `${label}: ${after - before} tensors leaked (${error ? 'after ' + error.name : 'returned'})`;
    if (typeof result?.then === 'function') softLeaks.push(leak);
    else failures.push(leak);
  }
  let bad;
  try { bad = sane(); } catch (e) { bad = `sanity check threw ${e?.name}: ${e?.message}`; }
  if (bad) {
    failures.push(`${label}: instance broken afterwards: ${bad}`);
    throw new Error(`stopping: ${failures.slice(-5).join('\n')}`);
  }
}

// ---- generic argument lists ---------------------------------------------------

/** Argument lists with hostile value h at different positions around valid ones. */
function argLists(x, h) {
  return [
    [h], [x, h], [x, 0, h], [x, x, h], [h, { dim: 0 }],
  ];
}
function methodArgLists(h) {
  return [[h], [0, h], [{ dim: h }]];
}
const baseTensor = () => torch.tensor([[0.5, 1, 1.5], [2, 2.5, 3]]);

// The names each group below covers.
const COVERED = new Set();

// Functions that mutate global state we must restore.
const restoreSeed = () => torch.manualSeed(0);

// ---- top-level functions ---------------------------------------------------------

const TOP_EXCLUDED = {
  default: 'the namespace object itself (its members are the named exports)',
  Tensor: 'class: not constructible from JS (internal handle); its prototype methods are covered below',
  TorchError: 'the error class itself',
  F: 'namespace: covered member by member', nn: 'namespace: covered member by member',
  func: 'namespace: covered member by member', optim: 'namespace: covered member by member',
  safetensors: 'namespace: covered member by member',
  version: 'a string constant', simd: 'a boolean constant', threads: 'a boolean constant', ready: 'a resolved promise',
  _dataView: '@internal benchmark helper: returns a raw view on wasm memory by design',
  _ops: '@internal test helper: takes no arguments',
};

const CALLBACK_TAKERS = new Set(['scope', 'tidy', 'noGrad']);

test('top-level exported functions reject hostile arguments', async () => {
  const startTensors = torch.memory().tensors;
  for (const name of Object.keys(torchNs)) {
    if (name in TOP_EXCLUDED) continue;
    const fn = torchNs[name];
    if (typeof fn !== 'function') continue;
    COVERED.add(name);
    const n = HOSTILE.length;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < argLists(null, null).length; j++) {
        attempt(`${name}(#${j}, ${HOSTILE[i][0]})`, (own) => {
          const x = baseTensor();
          const [, h] = hostileAt(i, own);
          return { x, args: argLists(x, h)[j] };
        }, ({ args }) => fn(...args), { nanOk: ['log', 'sqrt', 'rsqrt', 'rand', 'randn', 'empty', 'emptyLike', 'randLike', 'randnLike', 'var', 'var_', 'std'].includes(name) });
      }
    }
    if (CALLBACK_TAKERS.has(name)) {
      for (const [label, body] of callbackBodies()) {
        const err = new Error('user error');
        // tensors the user's function drops are its own unless fn is a scope: the harness frees them
        const call = name === 'noGrad' ? () => torch.scope(() => fn(body(err))) : () => fn(body(err));
        attempt(`${name}(${label})`, () => ({}), call, { userErrors: [err] });
      }
    }
    if (name === 'manualSeed') restoreSeed();
  }
  await report(startTensors);
});

/** User functions that throw or return garbage. */
function callbackBodies() {
  return [
    ['fn throws Error', (err) => () => { throw err; }],
    ['fn throws after making tensors', (err) => (...a) => { torch.ones(3).mul(2); throw err; }],
    ['fn throws a string', () => () => { throw 'boom'; }],
    ['fn returns number', () => () => 7],
    ['fn returns string', () => () => 'garbage'],
    ['fn returns null', () => () => null],
    ['fn returns undefined', () => () => undefined],
    ['fn returns cyclic', () => () => cyclicObj()],
    ['fn returns disposed tensor', () => () => { const t = torch.ones(2); t.dispose(); return t; }],
    ['fn returns int tensor', () => () => torch.tensor([1, 2], { dtype: 'int32' })],
    ['fn returns bool tensor', () => () => torch.tensor([true])],
    ['fn returns non-scalar', () => (x) => (x instanceof Tensor ? x.mul(2) : torch.ones(3))],
    ['fn returns its input', () => (x) => x],
    ['fn returns plain object', () => () => ({ a: 1 })],
    ['fn returns promise', () => async () => torch.ones(1)],
  ];
}

// ---- namespaces: F, nn.functional, nn.init, nn.utils, optim.functional, safetensors ---------

const NS_FUNCS = {
  F: torch.F,
  'nn.init': torch.nn.init,
  'nn.utils': torch.nn.utils,
  'optim.functional': torch.optim.functional,
  safetensors: torch.safetensors,
};

/** Classes on a namespace (parametrize.ParametrizationList) are called with `new`. */
const isClass = (fn) => /^class[\s{]/.test(Function.prototype.toString.call(fn));

function nsFunctions(obj, prefix, out = []) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    if (typeof v === 'function') out.push([`${prefix}.${k}`, v]);
    else if (v && typeof v === 'object' && !(v instanceof Tensor)) nsFunctions(v, `${prefix}.${k}`, out);
  }
  return out;
}

test('namespace functions (F, nn.init, nn.utils, optim.functional, safetensors) reject hostile arguments', async () => {
  const startTensors = torch.memory().tensors;
  for (const [prefix, obj] of Object.entries(NS_FUNCS)) {
    for (const [name, fn] of nsFunctions(obj, prefix)) {
      COVERED.add(name);
      const n = HOSTILE.length;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < argLists(null, null).length; j++) {
          attempt(`${name}(#${j}, ${HOSTILE[i][0]})`, (own) => {
            const x = baseTensor();
            const [, h] = hostileAt(i, own);
            return { x, args: argLists(x, h)[j] };
          }, ({ args }) => (isClass(fn) ? new fn(...args) : fn(...args)), { nanOk: /dropout|init|uniform|normal|kaiming|xavier|trunc|orthogonal/i.test(name) });
        }
      }
    }
  }
  // nn.functional is the same object as F
  COVERED.add('nn.functional');
  await report(startTensors);
});

// ---- nn classes ----------------------------------------------------------------

test('nn classes reject hostile constructor arguments', async () => {
  const startTensors = torch.memory().tensors;
  for (const [k, C] of Object.entries(torch.nn)) {
    if (typeof C !== 'function') continue;
    const name = `nn.${k}`;
    COVERED.add(name);
    const n = HOSTILE.length;
    const lists = (h) => [[h], [3, h], [h, 3], [3, 4, h], [2, 3, 3, h], [3, { bias: h }], [{ foo: h }]];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < lists(null).length; j++) {
        attempt(`new ${name}(#${j}, ${HOSTILE[i][0]})`, (own) => {
          const [, h] = hostileAt(i, own);
          return { args: lists(h)[j] };
        }, ({ args }) => new C(...args), { nanOk: true });
      }
    }
  }
  // the same classes' forward with hostile input, on a valid instance
  const valid = {
    Linear: [3, 2], Bilinear: [3, 3, 2], Identity: [], Flatten: [], Conv1d: [1, 1, 1], Conv2d: [1, 1, 1],
    ConvTranspose2d: [1, 1, 1], MaxPool2d: [2], AvgPool2d: [2], AdaptiveAvgPool2d: [1], BatchNorm1d: [3],
    BatchNorm2d: [3], LayerNorm: [3], GroupNorm: [1, 3], ReLU: [], LeakyReLU: [], GELU: [], SiLU: [], Tanh: [],
    Sigmoid: [], Softmax: [1], LogSoftmax: [1], Embedding: [4, 3], Dropout: [], MultiheadAttention: [4, 2],
    NonDynamicallyQuantizableLinear: [3, 2], Sequential: [], ModuleList: [], ModuleDict: [], Module: [],
  };
  for (const [k, ctorArgs] of Object.entries(valid)) {
    const C = torch.nn[k];
    const n = HOSTILE.length;
    for (let i = 0; i < n; i++) {
      attempt(`nn.${k}(...).forward(${HOSTILE[i][0]})`, (own) => {
        const [, h] = hostileAt(i, own);
        return { m: new C(...ctorArgs), h, x: baseTensor() };
      }, ({ m, h, x }) => {
        const first = m.forward(h);
        try { return [first, m.forward(x, h)]; } catch (e) { for (const t of collectTensors(first)) t.dispose(); throw e; }
      }, { nanOk: true });
    }
  }
  await report(startTensors);
});

// ---- optim classes ----------------------------------------------------------------

test('optimizers reject hostile arguments', async () => {
  const startTensors = torch.memory().tensors;
  for (const k of ['Optimizer', 'SGD', 'Adam']) {
    const C = torch.optim[k];
    COVERED.add(`optim.${k}`);
    const n = HOSTILE.length;
    const lists = (p, h) => [[h], [[p], h], [[p], { lr: h }], [[p], { momentum: h }], [[p], { betas: h }],
      [[p], { weightDecay: h }], [[p], { eps: h }], [[p, h]], [[{ params: h }]], [[{ params: [p], lr: h }]]];
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 10; j++) {
        attempt(`new optim.${k}(#${j}, ${HOSTILE[i][0]}) then step`, (own) => {
          const [, h] = hostileAt(i, own);
          const b = baseTensor();
          const p = new torch.nn.Parameter(b);
          return { b, p, args: lists(p, h)[j] };
        }, ({ p, args }) => {
          const opt = new C(...args);
          const g = baseTensor(); p.grad = g; g.dispose();
          opt.step();
          opt.zeroGrad();
          return opt;
        });
      }
    }
  }
  await report(startTensors);
});

// ---- func transforms -----------------------------------------------------------------

/**
 * [own, body(own)]: the tensors and vjp/jvp functions a thunk pushes on `own`
 * travel with its result (so the harness disposes them), or are disposed
 * first when body throws.
 */
function owning(body) {
  const own = [];
  try {
    return [own, body(own)];
  } catch (e) {
    for (const t of collectTensors(own)) t.dispose();
    throw e;
  }
}

/** call(c) with compiled function c, disposed afterwards, its fallback warnings silenced. */
function compiling(c, call) {
  const warn = console.warn;
  console.warn = () => {};
  try { return call(c); } finally { console.warn = warn; c.dispose(); }
}

test('func transforms: hostile functions, inputs and options', async () => {
  const startTensors = torch.memory().tensors;
  const f = torch.func;
  for (const k of Object.keys(f)) COVERED.add(`func.${k}`);
  // the library's own helper functions tolerate non-Tensor input (a TypeError there would be ours, not the library's)
  const m2 = (y) => (y instanceof Tensor ? y.mul(2) : torch.tensor(0.5));
  const sq = (y) => (y instanceof Tensor ? y.mul(y).sum() : torch.tensor(0.5));
  const xform = {
    grad: (fn, x) => f.grad(fn)(x),
    gradArgnums: (fn, x, h) => f.grad(fn, h)(x),
    gradAndValue: (fn, x) => f.gradAndValue(fn)(x),
    gradHasAux: (fn, x) => f.grad(fn, { hasAux: true })(x),
    vjp: (fn, x) => owning((own) => {
      const [out, back] = f.vjp(fn, x);
      own.push(out, back);
      const ct = torch.ones(...(out?.shape ?? [1]));
      own.push(ct);
      return back(ct);
    }),
    vjpBack: (fn, x, h) => owning((own) => { own.push(...f.vjp(m2, x)); return own[1](h); }),
    jvp: (fn, x) => owning((own) => { own.push(torch.onesLike(x)); return f.jvp(fn, [x], [own[0]]); }),
    jvpTangent: (fn, x, h) => f.jvp(m2, [x], [h]),
    jvpPrimals: (fn, x, h) => f.jvp(m2, h, [x]),
    linearize: (fn, x) => owning((own) => {
      own.push(...f.linearize(fn, x));
      own.push(torch.onesLike(x));
      return own[1](own[2]);
    }),
    linearizeTangent: (fn, x, h) => owning((own) => { own.push(...f.linearize(m2, x)); return own[1](h); }),
    jacrev: (fn, x) => f.jacrev(fn)(x),
    jacfwd: (fn, x) => f.jacfwd(fn)(x),
    hessian: (fn, x) => f.hessian(fn)(x),
    vmap: (fn, x) => f.vmap(fn)(x),
    vmapInDims: (fn, x, h) => f.vmap(m2, h)(x),
    vmapOutDims: (fn, x, h) => f.vmap(m2, 0, h)(x),
    vmapOpts: (fn, x, h) => f.vmap(m2, { inDims: h, randomness: h, chunkSize: h })(x),
    vmapGrad: (fn, x) => f.vmap(f.grad(fn))(x),
    functionalize: (fn, x) => f.functionalize(fn)(x),
    functionalizeOpts: (fn, x, h) => f.functionalize(m2, h)(x),
    functionalCall: (fn, x) => {
      // not a transform: what the user's forward drops is the user's to free
      const m = new torch.nn.Module(); m.forward = (...a) => torch.scope(() => fn(...a));
      return f.functionalCall(m, {}, [x]);
    },
    functionalCallDict: (fn, x, h) => {
      const m = new torch.nn.Linear(3, 2);
      try { return f.functionalCall(m, h, [x]); } finally { for (const p of m.parameters()) p.dispose(); }
    },
    functionalCallArgs: (fn, x, h) => {
      const m = new torch.nn.Linear(3, 2);
      try { return f.functionalCall(m, { weight: x }, h); } finally { for (const p of m.parameters()) p.dispose(); }
    },
    functionalCallModule: (fn, x, h) => f.functionalCall(h, {}, [x]),
    stackModuleState: (fn, x, h) => f.stackModuleState(h),
    stackModuleStateList: (fn, x, h) => f.stackModuleState([h, h]),
    replaceAllBatchNormModules_: (fn, x, h) => f.replaceAllBatchNormModules_(h),
    transformOfGarbage: (fn, x, h) => [f.grad(h)(x)],
    jacrevGarbage: (fn, x, h) => f.jacrev(h)(x),
    jacfwdArgnums: (fn, x, h) => f.jacfwd(m2, h)(x),
    hessianArgnums: (fn, x, h) => f.hessian(sq, h)(x),
    nestedThrow: (fn, x) => f.grad((y) => { const r = f.vmap((z) => fn(z))(y instanceof Tensor ? y.unsqueeze(0) : torch.ones(1, 2)); return r instanceof Tensor ? r.sum() : r; })(x),
    // func.compile: traced, then replayed; disposed after (its programs hold constants). Not a
    // transform: what the user's function drops is the user's (a scope frees it), and its
    // fallback warnings are silenced here
    compile: (fn, x) => compiling(f.compile((...a) => torch.scope(() => fn(...a))), (c) => {
      const r = c(x);
      return typeof r?.then === 'function' ? r : [r, c(x)]; // a promise is checked as a promise
    }),
    compileGrad: (fn, x) => compiling(f.compile(f.grad(fn)), (c) => [c(x), c(x)]),
    compileOpts: (fn, x, h) => compiling(f.compile(m2, h), (c) => c(x)),
    gradOfCompile: (fn, x) => compiling(f.compile(fn), (c) => f.grad(c)(x)),
  };
  const n = HOSTILE.length;
  /** [label, factory]: inputs for the misbehaving functions, made fresh per call */
  const xs = [
    ['float', baseTensor],
    ['scalar', () => torch.tensor(2.5)],
    ['int', () => torch.tensor([1, 2, 3], { dtype: 'int32' })],
    ['disposed', () => { const t = torch.ones(3); t.dispose(); return t; }],
    ['cyclic pytree', cyclicObj],
    ['cyclic array pytree', cyclicArr],
    ['pytree with string', () => ({ a: torch.ones(2), b: 'x' })],
    ['string', () => 'abc'],
    ['null', () => null],
  ];
  for (const [tname, tf] of Object.entries(xform)) {
    // the user's function misbehaving, on various inputs
    for (let bi = 0; bi < callbackBodies().length; bi++) {
      for (const [xlabel, makeX] of xs) {
        const err = new Error('user error');
        const [blabel, body] = callbackBodies()[bi];
        attempt(`func ${tname}(${blabel}) on ${xlabel}`, () => ({ x: makeX() }), ({ x }) => tf(body(err), x, 0), { userErrors: [err], nanOk: true });
      }
    }
    // well-behaved function, hostile extra argument
    for (let i = 0; i < n; i++) {
      attempt(`func ${tname}(good fn, ${HOSTILE[i][0]})`, (own) => {
        const [, h] = hostileAt(i, own);
        return { x: baseTensor(), h };
      }, ({ x, h }) => tf((y) => (y instanceof Tensor ? y.mul(y).sum() : torch.tensor(0)), x, h), { nanOk: true });
      attempt(`func ${tname}(fn, input=${HOSTILE[i][0]})`, (own) => {
        const [, h] = hostileAt(i, own);
        return { h };
      }, ({ h }) => tf((y) => (y instanceof Tensor ? y.mul(y).sum() : torch.tensor(0)), h, 0), { nanOk: true });
    }
    const bad = saneTransforms();
    if (bad) failures.push(`func ${tname}: transforms broken afterwards: ${bad}`);
  }
  await report(startTensors);
});

// ---- Tensor.prototype ------------------------------------------------------------------

const PROTO_EXCLUDED = {
  constructor: 'internal (takes a raw wasm handle); not part of the public surface',
  handle: '@internal getter',
  _version: '@internal getter',
};

test('Tensor.prototype methods and accessors reject hostile arguments', async () => {
  const startTensors = torch.memory().tensors;
  const n = HOSTILE.length;
  const protoNames = Object.getOwnPropertyNames(Tensor.prototype);
  for (const name of protoNames) {
    if (name in PROTO_EXCLUDED) continue;
    COVERED.add(`Tensor#${name}`);
    const desc = Object.getOwnPropertyDescriptor(Tensor.prototype, name);
    const receivers = ['float', 'int', 'disposed'];
    const recv = (kind) => {
      switch (kind) {
        case 'float': return baseTensor();
        case 'int': return torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' });
        case 'bool': return torch.tensor([true, false]);
        case 'disposed': { const t = torch.ones(2); t.dispose(); return t; }
        case 'empty': return torch.zeros(0, 3);
        default: return torch.tensor(1.5);
      }
    };
    if (desc.get || desc.set) {
      for (const kind of receivers) {
        attempt(`Tensor#${name} get on ${kind}`, () => ({ x: recv(kind) }), ({ x }) => { const v = x[name]; return v instanceof Tensor ? v : null; });
        if (desc.set) {
          for (let i = 0; i < n; i++) {
            attempt(`Tensor#${name} = ${HOSTILE[i][0]} on ${kind}`, (own) => {
              const [, h] = hostileAt(i, own);
              return { x: recv(kind), h };
            }, ({ x, h }) => { x[name] = h; });
          }
        }
      }
      continue;
    }
    const fn = desc.value;
    for (const kind of receivers) {
      attempt(`Tensor#${name}() on ${kind}`, () => ({ x: recv(kind) }), ({ x }) => fn.call(x), { nanOk: true });
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < methodArgLists(null).length; j++) {
          if (kind !== 'float' && j > 0) continue;
          attempt(`Tensor#${name}(#${j}, ${HOSTILE[i][0]}) on ${kind}`, (own) => {
            const [, h] = hostileAt(i, own);
            return { x: recv(kind), args: methodArgLists(h)[j] };
          }, ({ x, args }) => fn.call(x, ...args), { nanOk: /normal_|uniform_|var|std|fill_|copy_|where|pow/.test(name) || kind !== 'float' });
        }
      }
    }
    // (Unbound calls with a non-Tensor `this`, e.g. Tensor.prototype.add.call(null), are not
    // tested: that is misuse of JavaScript itself, like calling torch.Tensor.add(None) in Python.)
  }
  await report(startTensors);
});

// ---- coverage -----------------------------------------------------------------------------

test('every export, namespace function and Tensor method has a case', () => {
  const missing = [];
  for (const name of Object.keys(torchNs)) {
    if (name in TOP_EXCLUDED) continue;
    if (!COVERED.has(name)) missing.push(name);
  }
  for (const [k, v] of Object.entries(torch.nn)) {
    if (typeof v === 'function' && !COVERED.has(`nn.${k}`)) missing.push(`nn.${k}`);
    else if (v && typeof v === 'object' && !['functional', 'init', 'utils'].includes(k)) missing.push(`nn.${k} (unhandled namespace)`);
  }
  for (const [prefix, obj] of Object.entries({ F: torch.F, 'nn.init': torch.nn.init, 'nn.utils': torch.nn.utils, 'optim.functional': torch.optim.functional, safetensors: torch.safetensors })) {
    for (const [name] of nsFunctions(obj, prefix)) if (!COVERED.has(name)) missing.push(name);
  }
  for (const [k, v] of Object.entries(torch.optim)) {
    if (typeof v === 'function' && !COVERED.has(`optim.${k}`)) missing.push(`optim.${k}`);
    else if (v && typeof v === 'object' && k !== 'functional') missing.push(`optim.${k} (unhandled namespace)`);
  }
  for (const [k, v] of Object.entries(torch.func)) if (!COVERED.has(`func.${k}`)) missing.push(`func.${k}`);
  for (const k of Object.keys(torch.safetensors)) if (!COVERED.has(`safetensors.${k}`)) missing.push(`safetensors.${k}`);
  for (const k of Object.getOwnPropertyNames(Tensor.prototype)) {
    if (!(k in PROTO_EXCLUDED) && !COVERED.has(`Tensor#${k}`)) missing.push(`Tensor#${k}`);
  }
  assert.deepEqual(missing, [], `exports with no hostile-input case: ${missing.join(', ')}`);
  console.log(`hostile: ${COVERED.size} names covered, ${calls} calls`);
});
