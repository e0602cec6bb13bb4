// Memory: scopes, disposal, the FinalizationRegistry, and flat use in loops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../dist/index.js';

const gc = globalThis.gc;

test('scope frees everything created inside except what it returns', () => {
  const before = torch.memory().tensors;
  const kept = torch.scope(() => {
    const a = torch.ones([3]);
    const b = a.mul(2);
    const inner = torch.scope(() => ({ keep: b.add(1), drop: b.add(2) }).keep);
    return { out: [inner, b.sum()] };
  });
  assert.deepEqual(kept.out[0].tolist(), [3, 3, 3]);
  assert.equal(kept.out[1].item(), 6);
  assert.equal(torch.memory().tensors, before + 2);
  kept.out.forEach((t) => t.dispose());
  assert.equal(torch.memory().tensors, before);
});

test('scope frees on throw', () => {
  const before = torch.memory().tensors;
  assert.throws(() => torch.scope(() => { torch.ones([4]); throw new Error('boom'); }), /boom/);
  assert.equal(torch.memory().tensors, before);
});

test('10,000 iterations of an op chain leave memory flat', () => {
  const x = torch.randn([64]);
  const w = torch.randn([64]).requiresGrad_();
  const step = () => torch.scope(() => {
    const y = x.mul(w).add(1).mul(x).sub(w).sum();
    y.backward();
    w.zeroGrad_();
  });
  for (let i = 0; i < 200; i++) step(); // warm the pool
  const m0 = torch.memory();
  for (let i = 0; i < 10000; i++) step();
  const m1 = torch.memory();
  assert.equal(m1.tensors, m0.tensors);
  assert.equal(m1.bytes, m0.bytes);
  assert.equal(m1.heapBytes, m0.heapBytes);
});

test('unreachable tensors are freed by the FinalizationRegistry', async () => {
  if (!gc) return; // run with --expose-gc (npm test does)
  const before = torch.memory().tensors;
  (() => { for (let i = 0; i < 1000; i++) torch.ones([16]).add(1); })();
  for (let i = 0; i < 10 && torch.memory().tensors > before + 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(torch.memory().tensors <= before + 10, `live ${torch.memory().tensors - before}`);
});

test('tensors returned from the outermost scope, or taken out of scopes, are still freed by the FinalizationRegistry', async () => {
  if (!gc) return;
  // Tensors in an open scope join the registry only when they leave the
  // scopes (js/tensor.js: unscoped): returned from the outermost one,
  // kept by a transform's internal scope, or stored by a module.
  const before = torch.memory().tensors;
  (() => {
    for (let i = 0; i < 300; i++) {
      torch.scope(() => torch.ones([16]).add(1)); // returned from the outermost scope
      torch.scope(() => torch.scope(() => torch.ones([4]).mul(2))); // through a nested one
      torch.func.grad((x) => x.sin().sum())(torch.ones([3])); // a transform's internal scopes
      const lin = torch.scope(() => new torch.nn.Linear(3, 2)); // stored by a module made in a scope
      lin.weight.add(0);
    }
  })();
  assert.ok(torch.memory().tensors > before + 300, 'the loop should leave garbage for the GC');
  for (let i = 0; i < 20 && torch.memory().tensors > before + 10; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(torch.memory().tensors <= before + 10, `live ${torch.memory().tensors - before}`);
});

test('memory() reports live tensors, bytes and heap size', () => {
  const m0 = torch.memory();
  const t = torch.zeros([1000], { dtype: 'float64' });
  const m1 = torch.memory();
  assert.equal(m1.tensors, m0.tensors + 1);
  assert.equal(m1.bytes, m0.bytes + 8000);
  assert.ok(m1.heapBytes >= 16 * 1024 * 1024);
  t.dispose();
  assert.equal(torch.memory().bytes, m0.bytes);
});

test('scope frees the graph of a vjpFn made inside it, unless the vjpFn is returned', () => {
  const before = torch.memory().tensors;
  torch.scope(() => { torch.func.vjp((x) => x.sin(), torch.ones([2])); });
  assert.equal(torch.memory().tensors, before);
  const [out, vjpFn] = torch.scope(() => torch.func.vjp((x) => x.sin().sum(), torch.ones([2], { dtype: 'float64' })));
  const ct = torch.tensor(1, { dtype: 'float64' });
  const [g] = vjpFn(ct);
  assert.deepEqual(g.tolist().map((v) => +v.toFixed(6)), [0.540302, 0.540302]);
  vjpFn.dispose(); out.dispose(); g.dispose(); ct.dispose();
  assert.equal(torch.memory().tensors, before);
});
