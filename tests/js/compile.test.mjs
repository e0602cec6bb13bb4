// func.compile (issue 6): traced once per input signature, replayed in one
// call into WebAssembly; results equal eager exactly (the same kernels),
// composes with every transform, falls back to eager with one warning where
// it cannot trace, keeps memory flat, and frees what its programs hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../dist/index.js';

const { func, F, nn } = torch;
const gc = globalThis.gc;

/** Every leaf of a pytree of Tensors, typed arrays and numbers, as plain arrays (for exact comparison). */
function flat(v) {
  if (v instanceof torch.Tensor) return [{ dtype: v.dtype, shape: v.shape, data: Array.from(v.toTypedArray()) }];
  if (ArrayBuffer.isView(v)) return [{ typed: v.constructor.name, data: Array.from(v) }];
  if (Array.isArray(v)) return v.flatMap(flat);
  if (v && typeof v === 'object') return Object.keys(v).flatMap((k) => flat(v[k]).map((x) => ({ key: k, ...x })));
  return [v];
}
/** Asserts two results are the same pytree with bit-identical values. */
const same = (a, b, msg) => assert.deepEqual(flat(a), flat(b), msg);

/** Runs `body` with console.warn captured; returns the warnings. */
function warnings(body) {
  const seen = [];
  const orig = console.warn;
  console.warn = (...a) => seen.push(a.join(' '));
  try { body(); } finally { console.warn = orig; }
  return seen;
}

let seed = 1;
const rnd = (...shape) => torch.randn(shape, { dtype: 'float64' });

/**
 * compile(f) against f on three argument lists of one signature: every call
 * equals eager exactly, the first traces and the others replay.
 */
function checkCompiled(f, makeArgs, { calls = 3 } = {}) {
  const c = func.compile(f);
  try {
    for (let i = 0; i < calls; i++) {
      const args = makeArgs(i);
      torch.manualSeed(seed);
      const e = f(...args);
      torch.manualSeed(seed);
      const r = c(...args);
      same(r, e, `call ${i}`);
    }
    const s = c.stats();
    assert.equal(s.traces, 1, 'traced once');
    assert.equal(s.replays, calls - 1, 'replayed after');
    assert.equal(s.fallbacks, 0);
    return s;
  } finally {
    c.dispose();
  }
}

// ---- results equal eager ------------------------------------------------------

test('elementwise chains, matmul, reductions and softmax equal eager exactly', () => {
  torch.scope(() => {
    checkCompiled((x, y) => x.mul(y).add(1).exp().sub(x.sin()).div(y.abs().add(1)).relu().pow(2), () => [rnd(4, 5), rnd(4, 5)]);
    checkCompiled((x, y) => x.add(y, { alpha: 2 }).clamp(-1, 1).where(x.gt(0), y).tanh(), () => [rnd(3, 1), rnd(1, 6)]);
    checkCompiled((a, b) => a.matmul(b).add(a.sum(1, true)).mm(b.T), () => [rnd(5, 3), rnd(3, 4)]);
    checkCompiled((x) => [x.sum(), x.mean(0), x.amax(1), x.var(), x.logsumexp(-1), x.cumsum(0), x.norm(), x.argmax(1)], () => [rnd(6, 7)]);
    checkCompiled((x) => [x.softmax(-1), x.logSoftmax(0), F.crossEntropy(x, torch.tensor([1, 0, 2], { dtype: 'int32' }))], () => [rnd(3, 4)]);
    checkCompiled((x) => torch.cat([x.float().reshape([2, -1]).T.contiguous().flip(0), x.float().reshape([2, -1]).T], 1), () => [rnd(4, 3)]);
  });
});

test('an MLP loss through functionalCall with typed-array parameter dicts', () => {
  torch.scope(() => {
    const mlp = new nn.Sequential(new nn.Linear(5, 8), new nn.Tanh(), new nn.Linear(8, 3));
    const params = (i) => Object.fromEntries(Object.entries(mlp.namedParameters()).map(([k, v]) => [k, Float32Array.from(v.toTypedArray(), (a) => a * (1 + 0.1 * i))]));
    const y = torch.tensor([0, 2, 1, 1], { dtype: 'int32' });
    const loss = (p, x) => F.crossEntropy(func.functionalCall(mlp, p, x), y);
    checkCompiled(loss, (i) => [params(i), torch.randn([4, 5])]);
    // the whole training step's gradient: typed arrays in, typed arrays and a number out
    const s = checkCompiled(func.gradAndValue(loss), (i) => [params(i), torch.randn([4, 5])]);
    assert.ok(s.instructions > 10, `a lowered program (${s.instructions} instructions)`);
    const c = func.compile(func.gradAndValue(loss));
    const [g, l] = c(params(0), torch.randn([4, 5]));
    const [g2, l2] = c(params(1), torch.randn([4, 5]));
    assert.ok(g2['0.weight'] instanceof Float32Array && typeof l2 === 'number' && typeof l === 'number');
    assert.notDeepEqual(Array.from(g['0.weight']), Array.from(g2['0.weight']));
    c.dispose();
  });
});

test('compile of transforms: grad, vmap(grad) per-sample gradients, jacrev, jvp, hessian, vjp', () => {
  torch.scope(() => {
    const loss = (p, x, y) => x.matmul(p.w).add(p.b).tanh().sub(y).square().mean();
    const P = () => ({ w: rnd(3, 2), b: rnd(2) });
    checkCompiled(func.grad(loss), () => [P(), rnd(5, 3), rnd(5, 2)]);
    // per-sample gradients: one example's loss, vmapped over the batch
    const perSample = func.vmap(func.grad(loss), { inDims: [null, 0, 0] });
    checkCompiled(perSample, () => [P(), rnd(7, 3), rnd(7, 2)]);
    checkCompiled(func.jacrev((x) => x.sin().mul(x.sum())), () => [rnd(4)]);
    checkCompiled(func.jacfwd((x) => x.exp().cumsum(0)), () => [rnd(3)]);
    checkCompiled(func.hessian((x) => x.pow(3).sum()), () => [rnd(3)]);
    checkCompiled((x, t) => func.jvp((u) => u.mul(u).sin(), [x], [t]), () => [rnd(5), rnd(5)]);
    checkCompiled((x, ct) => { const [out, back] = func.vjp((u) => u.exp().mul(u), x); const r = [out, back(ct)]; back.dispose(); return r; }, () => [rnd(4), rnd(4)]);
    checkCompiled(func.grad(func.grad((x) => x.pow(4).sum().div(4).mul(1))), () => [rnd(1).reshape([])]);
  });
});

test('grad, vmap and jvp of a compiled function replay through the enclosing transform', () => {
  torch.scope(() => {
    const f = (x) => x.sin().mul(x).sum();
    const c = func.compile(f);
    for (let i = 0; i < 3; i++) {
      const x = rnd(5);
      same(func.grad(c)(x), func.grad(f)(x), 'grad(compile(f))');
      const y = rnd(1).reshape([]);
      const lift = (h) => (u) => h(u.reshape([1]).expand([5]));
      same(func.grad(func.grad(lift(c)))(y), func.grad(func.grad(lift(f)))(y), 'grad(grad(compile(f)))');
    }
    const g = func.compile((x) => x.exp().matmul(x.T));
    for (let i = 0; i < 3; i++) {
      const xs = rnd(4, 2, 3);
      same(func.vmap(g)(xs), func.vmap((x) => x.exp().matmul(x.T))(xs), 'vmap(compile(g))');
      const x = rnd(2, 3), t = rnd(2, 3);
      same(func.jvp(g, [x], [t]), func.jvp((u) => u.exp().matmul(u.T), [x], [t]), 'jvp(compile(g))');
      same(g(x), x.exp().matmul(x.T), 'plain call after transforms');
    }
    // each structure of the level stack is one signature (plain, under grad, under vmap, under jvp)
    const s = g.stats();
    assert.equal(s.traces, 3, `traces: ${JSON.stringify(s)}`);
    assert.equal(s.replays, 6);
    // eager autograd through a compiled function: the replay is recorded on the tape
    const w = rnd(5).requiresGrad_();
    c(w).backward();
    const w2 = w.detach().requiresGrad_();
    f(w2).backward();
    same(w.grad, w2.grad, 'backward through compile');
    c.dispose(); g.dispose();
  });
});

test('noGrad inside a compiled function, and captured tensors that start requiring grad', () => {
  torch.scope(() => {
    const w = torch.randn([3]).requiresGrad_();
    const f = (x) => torch.noGrad(() => x.mul(w)).add(x.mul(w));
    const c = func.compile(f);
    for (let i = 0; i < 3; i++) {
      const x = rnd(3).float();
      const r = c(x), e = f(x);
      same(r, e);
      assert.equal(r.requiresGrad, e.requiresGrad, 'tracked as eager');
      w.zeroGrad_();
      r.sum().backward();
      same(w.grad, x, 'only the op outside noGrad reached the tape');
    }
    assert.equal(c.stats().replays, 2);
    // a captured tensor that starts requiring grad after the trace: traced again
    const v = torch.ones([3]);
    const g = func.compile((x) => x.mul(v).sum());
    const x = torch.tensor([1, 2, 3]);
    assert.equal(g(x).requiresGrad, false);
    assert.equal(g(x).requiresGrad, false);
    v.requiresGrad_();
    const r = g(x);
    assert.equal(r.requiresGrad, true, 'the new program records the tape');
    r.backward();
    assert.deepEqual(v.grad.tolist(), [1, 2, 3]);
    assert.equal(g.stats().traces, 2);
    c.dispose(); g.dispose();
  });
});

test('a compiled function called while another traces runs inline', () => {
  torch.scope(() => {
    const inner = func.compile((x) => x.mul(3));
    const outer = func.compile((x) => inner(x).add(inner(x.exp())));
    for (let i = 0; i < 3; i++) {
      const x = rnd(4);
      same(outer(x), x.mul(3).add(x.exp().mul(3)));
    }
    assert.equal(inner.stats().traces, 0, 'inlined into the outer trace');
    assert.equal(outer.stats().replays, 2);
    inner.dispose(); outer.dispose();
  });
});

// ---- the signature cache ----------------------------------------------------

test('same signature: no retrace; new shape, dtype, structure or number: retrace', () => {
  torch.scope(() => {
    let calls = 0;
    const c = func.compile((x, opt) => {
      calls++;
      const t = x instanceof torch.Tensor ? x : torch.tensor(x);
      return opt?.scale === undefined ? t.mul(2) : t.mul(opt.scale);
    });
    c(torch.ones([3])); c(torch.zeros([3])); c(torch.randn([3]));
    assert.equal(c.stats().traces, 1);
    assert.equal(calls, 1, 'f itself ran once');
    c(torch.ones([4]));
    assert.equal(c.stats().traces, 2, 'new shape');
    c(torch.ones([4], { dtype: 'float64' }));
    assert.equal(c.stats().traces, 3, 'new dtype');
    same(c(torch.ones([4]), { scale: 3 }), torch.full([4], 3));
    same(c(torch.ones([4]), { scale: 5 }), torch.full([4], 5), 'numbers are specialised by value');
    assert.equal(c.stats().traces, 5);
    c(torch.ones([4]), { scale: 5 });
    assert.equal(c.stats().traces, 5);
    c(new Float32Array(4));
    c(new Float32Array([1, 2, 3, 4]));
    assert.equal(c.stats().traces, 6, 'typed arrays: by type and length');
    same(c(new Float32Array([1, 2, 3, 4])), torch.tensor([2, 4, 6, 8]));
    const t = torch.ones([2]);
    c.stats();
    assert.equal(c.stats().signatures, 6);
    const d = func.compile((a, b) => a.add(b));
    same(d(t, t), torch.full([2], 2));
    same(d(t, torch.zeros([2])), torch.ones([2]), 'aliasing is part of the signature');
    assert.equal(d.stats().traces, 2);
    c.dispose(); d.dispose();
  });
});

test('a non-contiguous input with other strides traces again: reshape is a view for one layout, a copy for the other', () => {
  torch.scope(() => {
    const f = (x) => { x.reshape([-1]).add_(1); return x.sum(); };
    const c = func.compile(f);
    const copies = () => torch.arange(12, { dtype: 'float32' }).reshape([3, 4]).T; // strides [1, 4]: reshape copies
    const views = () => torch.arange(24, { dtype: 'float32' }).reshape([4, 6]).slice(1, 0, 6, 2); // [6, 2]: a view
    for (const make of [copies, views, copies]) {
      const xc = make(), xe = make();
      same(c(xc), f(xe), 'result');
      same(xc, xe, 'the input after the call: written through the view, or not');
    }
    const s = c.stats();
    assert.equal(s.traces, 2, 'one trace per layout');
    assert.equal(s.replays, 1);
    c.dispose();
  });
});

test('typed-array arguments are inputs; their values are not baked in', () => {
  torch.scope(() => {
    const c = func.compile((p, x) => torch.tensor(p.w, { shape: [2, 2] }).matmul(x).sum());
    for (let i = 0; i < 3; i++) {
      const w = new Float64Array([i, 1, 2, -i]);
      const x = rnd(2, 3);
      same(c({ w }, x), torch.tensor(w, { shape: [2, 2] }).matmul(x).sum());
    }
    assert.equal(c.stats().replays, 2);
    c.dispose();
    // a converted copy cannot be rebound: eager, with a warning
    const d = func.compile((w) => torch.tensor(w, { dtype: 'float64' }).sum());
    let r;
    assert.equal(warnings(() => { r = d(new Float32Array([1, 2])); }).length, 1);
    assert.equal(r.item(), 3);
    assert.equal(d(new Float32Array([3, 4])).item(), 7);
    d.dispose();
  });
});

// ---- what compile returns ----------------------------------------------------

test('outputs: inputs and outer tensors by identity, fresh constants fresh, JS values kept', () => {
  torch.scope(() => {
    const w = torch.ones([2]);
    const c = func.compile((x) => ({ x, w, zeros: torch.zeros([2]), label: 'out', n: 7, nothing: null, y: x.add(w) }));
    for (let i = 0; i < 3; i++) {
      const x = rnd(2);
      const r = c(x);
      assert.equal(r.x, x, 'the input object itself');
      assert.equal(r.w, w, 'a tensor from outside, the same object');
      assert.deepEqual(r.zeros.tolist(), [0, 0]);
      r.zeros.add_(1); // a fresh tensor each call: writing it changes nothing else
      assert.equal(r.label, 'out');
      assert.equal(r.n, 7);
      assert.equal(r.nothing, null);
      same(r.y, x.add(w));
    }
    c.dispose();
  });
});

test('in-place updates of parameters inside a compiled training step', () => {
  torch.scope(() => {
    const loss = (p, x, y) => x.matmul(p.w).add(p.b).sub(y).square().mean();
    const make = () => ({ w: torch.tensor([[0.1, -0.2], [0.3, 0.4], [-0.5, 0.6]], { dtype: 'float64' }), b: torch.zeros([2], { dtype: 'float64' }) });
    const step = (p, x, y) => {
      const [g, l] = func.gradAndValue(loss)(p, x, y);
      for (const k of Object.keys(p)) p[k].sub_(g[k].mul(0.1));
      return l;
    };
    const pe = make(), pc = make();
    const cstep = func.compile(step);
    for (let i = 0; i < 5; i++) {
      const x = rnd(4, 3), y = rnd(4, 2);
      same(cstep(pc, x, y), step(pe, x, y), `loss at step ${i}`);
      same(pc, pe, `parameters after step ${i}`);
    }
    assert.equal(cstep.stats().replays, 4);
    cstep.dispose();
  });
});

// ---- fusion ------------------------------------------------------------------

test('elementwise chains fuse: counted in stats, equal to eager and to unfused bit for bit', () => {
  torch.scope(() => {
    const f32 = (...shape) => torch.randn(shape);
    // a GELU (tanh form) written out, with a bias: 9 elementwise ops after a matmul
    const gelu = (x, w, b) => {
      const h = x.matmul(w).add(b);
      return h.mul(0.5).mul(h.mul(h).mul(h).mul(0.044715).add(h).mul(0.7978845608).tanh().add(1));
    };
    const args = [[f32(33, 16), f32(16, 300), f32(300)], [f32(33, 16), f32(16, 300), f32(300)]];
    const fused = func.compile(gelu), plain = func.compile(gelu, { fuse: false });
    for (const a of args) {
      const e = gelu(...a);
      same(fused(...a), e, 'fused = eager');
      same(plain(...a), e, 'unfused = eager');
    }
    const s = fused.stats(), u = plain.stats();
    assert.equal(u.fusedGroups, 0);
    assert.ok(s.fusedGroups >= 1 && s.fusedOps >= 9, `fused ${s.fusedOps} ops in ${s.fusedGroups} group(s)`);
    assert.equal(s.instructions, u.instructions - s.fusedOps + s.fusedGroups, 'each group replaces its ops');
    // a value read twice or returned stays a full tensor: h is both
    const two = func.compile((x) => { const h = x.exp(); return [h, h.mul(h).add(1).sqrt()]; });
    const x = f32(50);
    same(two(x), [x.exp(), x.exp().mul(x.exp()).add(1).sqrt()]);
    assert.equal(two.stats().fusedOps, 3, 'mul, add and sqrt fuse; exp does not');
    // a training step: the optimizer's update chains fuse too
    const loss = (p, xb) => xb.matmul(p.w).tanh().square().mean();
    const step = (p, xb) => {
      const g = func.grad(loss)(p, xb);
      p.m.mul_(0.9).add_(g.w.mul(0.1));
      p.w.sub_(p.m.mul(0.05).div(p.m.abs().add(1e-3).sqrt()));
      return p.w;
    };
    const make = () => ({ w: torch.randn([8, 4]).mul(0.3), m: torch.zeros([8, 4]) });
    torch.manualSeed(3);
    const pe = make();
    torch.manualSeed(3);
    const pc = make();
    const cstep = func.compile((p, xb) => step(p, xb));
    for (let i = 0; i < 4; i++) {
      const xb = f32(6, 8);
      same(cstep(pc, xb), step(pe, xb), `w after step ${i}`);
      same(pc.m, pe.m, `m after step ${i}`);
    }
    assert.ok(cstep.stats().fusedGroups >= 1, 'the update fuses');
    for (const c of [fused, plain, two, cstep]) c.dispose();
  });
  assert.throws(() => func.compile((x) => x, { fuse: 1 }), /compile: fuse must be a boolean, got number/);
});

// ---- randomness --------------------------------------------------------------

test('random ops draw fresh numbers on every replay, the same stream as eager', () => {
  torch.scope(() => {
    const f = (x) => [x.add(torch.randn([3], { dtype: 'float64' })), F.dropout(x, 0.5), torch.randLike(x), torch.randint(0, 10, [3])];
    const c = func.compile(f);
    const x = torch.ones([3], { dtype: 'float64' });
    torch.manualSeed(123);
    const eager = [f(x), f(x), f(x)];
    torch.manualSeed(123);
    const comp = [c(x), c(x), c(x)];
    same(comp, eager);
    assert.notDeepEqual(flat(comp[1]), flat(comp[2]), 'fresh draws each replay');
    assert.equal(c.stats().replays, 2);
    c.dispose();
  });
});

// ---- fallback ------------------------------------------------------------------

test('data-dependent control flow falls back to eager with one warning per signature', () => {
  torch.scope(() => {
    const f = (x) => (x.sum().item() > 0 ? x.mul(2) : x.mul(-1));
    const c = func.compile(f);
    let results;
    const w = warnings(() => {
      results = [c(torch.tensor([1, 2])), c(torch.tensor([-1, -2])), c(torch.tensor([3, 4]))];
    });
    assert.equal(w.length, 1, `one warning: ${w}`);
    assert.match(w[0], /eager/);
    assert.match(w[0], /item\(\)/);
    assert.deepEqual(results.map((r) => r.tolist()), [[2, 4], [1, 2], [6, 8]], 'eager results, each branch taken');
    const s = c.stats();
    assert.equal(s.fallbacks, 1);
    assert.equal(s.eagerCalls, 2);
    const w2 = warnings(() => c(torch.tensor([1, 2, 3])));
    assert.equal(w2.length, 1, 'a new signature warns once more');
    // side effects outside ops, and reads that feed constants
    const others = [
      (x) => { const y = x.clone().requiresGrad_(); y.sum().backward(); return y.grad; },
      (x) => x.mul(x.max().item()),
      (x) => { torch.manualSeed(1); return x.add(torch.rand([2])); },
      (x) => x.tolist().map((v) => v * 2),
      (x) => new Map([['x', x.mul(2)]]),
    ];
    for (const g of others) {
      const cg = func.compile(g);
      const x = torch.tensor([1, 2]);
      let r;
      assert.equal(warnings(() => { r = cg(x); }).length, 1, String(g));
      same(r instanceof Map ? r.get('x') : r, (() => { const e = g(x); return e instanceof Map ? e.get('x') : e; })());
      assert.equal(cg.stats().fallbacks, 1);
      cg.dispose();
    }
    c.dispose();
  });
});

test('reads whose values come straight back are outputs, not control flow', () => {
  torch.scope(() => {
    const c = func.compile((x) => [x.exp().toTypedArray(), x.sum().item(), x.mul(2)]);
    for (let i = 0; i < 3; i++) {
      const x = rnd(3);
      const [a, n, t] = c(x);
      assert.ok(a instanceof Float64Array);
      assert.deepEqual(Array.from(a), Array.from(x.exp().toTypedArray()));
      assert.equal(n, x.sum().item());
      same(t, x.mul(2));
    }
    assert.equal(c.stats().replays, 2);
    c.dispose();
  });
});

test('fullgraph: true raises instead of falling back', () => {
  const before = torch.memory().tensors;
  const c = func.compile((x) => x.mul(x.sum().item()), { fullgraph: true });
  torch.scope(() => {
    assert.throws(() => c(torch.ones([2])), (e) => e instanceof torch.TorchError && /fullgraph/.test(e.message) && /item\(\)/.test(e.message));
  });
  c.dispose();
  assert.equal(torch.memory().tensors, before);
});

// ---- errors ----------------------------------------------------------------------

test('bad arguments are TorchErrors; a throwing f leaves memory where it was', () => {
  assert.throws(() => func.compile(3), torch.TorchError);
  assert.throws(() => func.compile((x) => x, 5), torch.TorchError);
  assert.throws(() => func.compile((x) => x, { dynamic: true }), /unexpected keyword argument 'dynamic'/);
  assert.throws(() => func.compile((x) => x, { fullgraph: 'yes' }), torch.TorchError);
  const before = torch.memory().tensors;
  const c = func.compile((x, y) => x.mul(2).add(y));
  const x = torch.ones([3]);
  // the user's temporaries are the user's (as eager): a scope frees them
  torch.scope(() => assert.throws(() => c(x), torch.TorchError, 'missing argument: the op rejects undefined'));
  torch.scope(() => assert.throws(() => c(x, 'abc'), torch.TorchError, 'a string where a tensor belongs'));
  const d = torch.ones([3]); d.dispose();
  assert.throws(() => c(d, x), /disposed/);
  const cyc = [x]; cyc.push(cyc);
  assert.throws(() => c(cyc, x), /cycle/);
  assert.equal(c.stats().traces, 2);
  torch.scope(() => {
    same(c(x, x), torch.full([3], 3), 'works after errors');
    same(c(x, x), torch.full([3], 3));
  });
  // a throwing f: the user's error, unchanged, and nothing left behind
  const err = new Error('user error');
  const t = func.compile((y) => torch.scope(() => { y.mul(2).exp(); throw err; }));
  const m0 = torch.memory().tensors;
  assert.throws(() => t(x), (e) => e === err);
  assert.throws(() => t(x), (e) => e === err, 'not cached: traced again');
  assert.equal(torch.memory().tensors, m0);
  assert.equal(t.stats().signatures, 0);
  t.dispose(); c.dispose();
  assert.throws(() => c(x, x), /disposed/);
  x.dispose();
  assert.equal(torch.memory().tensors, before);
});

// ---- memory --------------------------------------------------------------------

test('1,000 compiled and 1,000 eager training steps: heap and live tensors flat', () => {
  const mlp = new nn.Sequential(new nn.Linear(6, 16), new nn.Tanh(), new nn.Linear(16, 3));
  const p = Object.fromEntries(Object.entries(mlp.namedParameters()).map(([k, v]) => [k, v.toTypedArray()]));
  const X = torch.randn([8, 6]), Y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'int32' });
  const loss = (q, x, y) => F.crossEntropy(func.functionalCall(mlp, q, x), y);
  const eager = func.gradAndValue(loss);
  const compiled = func.compile(eager);
  const sgd = (g) => { for (const k in p) for (let i = 0; i < p[k].length; i++) p[k][i] -= 0.05 * g[k][i]; };
  // Tensor parameters updated in place inside the compiled step
  const tp = { w: torch.randn([6, 3]), b: torch.zeros([3]) };
  const tloss = (q, x, y) => F.crossEntropy(x.matmul(q.w).add(q.b), y);
  const tstep = func.compile((q, x, y) => {
    const [g, l] = func.gradAndValue(tloss)(q, x, y);
    for (const k in q) q[k].sub_(g[k].mul(0.05));
    return l;
  });
  for (const [name, step] of [
    ['compiled', () => sgd(compiled(p, X, Y)[0])],
    ['eager', () => sgd(eager(p, X, Y)[0])],
    ['compiled, in place', () => tstep(tp, X, Y).dispose()],
  ]) {
    let first = null, last = null;
    for (let i = 0; i < 50; i++) step(); // warm the pool
    const m0 = torch.memory();
    for (let i = 0; i < 1000; i++) {
      step();
      if (i === 0) first = torch.memory();
    }
    last = torch.memory();
    assert.equal(last.heapBytes, m0.heapBytes, `${name}: heap grew`);
    assert.equal(last.tensors, m0.tensors, `${name}: live tensors`);
    assert.equal(last.bytes, m0.bytes, `${name}: live bytes`);
    assert.equal(first.tensors, m0.tensors, name);
  }
  assert.equal(compiled.stats().replays, 1049);
  assert.equal(tstep.stats().replays, 1049);
  compiled.dispose(); tstep.dispose();
});

test('dispose() frees the constants programs hold; so does the garbage collector', async () => {
  const before = torch.memory().tensors;
  const w = torch.randn([4]);
  const c = func.compile((x) => x.mul(w).add(2).mul(torch.tensor([1, 2, 3, 4])));
  const x = torch.ones([4]);
  torch.scope(() => { c(x); c(x); });
  assert.ok(torch.memory().tensors > before + 2, 'the program holds its constants');
  c.dispose();
  c.dispose(); // idempotent
  x.dispose(); w.dispose();
  assert.equal(torch.memory().tensors, before);
  if (!gc) return;
  const settle = async () => { for (let i = 0; i < 6; i++) { gc(); await new Promise((r) => setTimeout(r, 10)); } };
  await settle(); // garbage of earlier tests first
  const m0 = torch.memory().tensors;
  (() => {
    const k = func.compile((y) => y.add(torch.ones([4])).mul(3));
    torch.scope(() => { const y = torch.ones([4]); k(y); k(y); });
  })();
  await settle();
  assert.equal(torch.memory().tensors, m0, 'a collected compiled function frees its programs');
});

test('the types export func.compile', () => {
  assert.equal(typeof func.compile, 'function');
  assert.equal(torch.default.func.compile, func.compile);
});
