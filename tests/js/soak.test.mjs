// Soak tests: 10,000 training steps of each of the three ways a user writes a
// training loop, with the WebAssembly heap and the live-tensor count flat
// after warm-up, and the loss falling (so a loop that silently stopped
// training fails too).
//   1. typed arrays: func.gradAndValue(functionalCall) over a plain object of
//      Float32Arrays, optim.functional.adam updating them in place;
//   2. Tensors left to the FinalizationRegistry: eager autograd where every
//      step creates Tensors (the batch, activations, gradients) and drops them
//      without dispose(); globalThis.gc() every GC_EVERY steps lets the
//      registry free them (needs --expose-gc, which scripts/test.mjs passes);
//   3. transform-heavy: per-sample gradients by vmap(grad(lossOne)), averaged
//      and applied with optim.functional.sgd, inside torch.scope.
// Each test reports its figures with t.diagnostic (visible with the spec
// reporter): heap and live tensors after warm-up and at the end, first and
// last loss, and the time taken.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../dist/index.js';

const { nn, F, func, optim } = torch;
const STEPS = 10_000, WARMUP = 500, GC_EVERY = 250;
const gc = globalThis.gc;

/** A small deterministic regression set: N points in 2-D, a smooth target. */
function dataset(n = 32) {
  const xs = new Float32Array(2 * n), ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = -1 + (2 * i) / (n - 1), b = Math.sin(3 * a + 0.5);
    xs[2 * i] = a;
    xs[2 * i + 1] = b;
    ys[i] = a * b + 0.5 * Math.cos(2 * a);
  }
  return { xs, ys };
}

const mlp = () => new nn.Sequential(new nn.Linear(2, 16), new nn.Tanh(), new nn.Linear(16, 1));
const asTypedArrays = (model) =>
  Object.fromEntries(Object.entries(model.namedParameters()).map(([k, p]) => [k, p.toTypedArray()]));

/**
 * Runs gc and lets the FinalizationRegistry's callbacks run (they are queued
 * as tasks, after the collection), until the live count has stayed the same
 * for three rounds in a row.
 */
async function collect() {
  if (!gc) return;
  let last = -1, same = 0;
  for (let i = 0; i < 50 && same < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 2));
    const now = torch.memory().tensors;
    same = now === last ? same + 1 : 0;
    last = now;
  }
}

function report(t, name, { m0, m1, loss0, loss1, ms }) {
  t.diagnostic(`${name}: heapBytes ${m0.heapBytes} -> ${m1.heapBytes}, live tensors ${m0.tensors} -> ${m1.tensors}, `
    + `live bytes ${m0.bytes} -> ${m1.bytes}, loss ${loss0.toExponential(3)} -> ${loss1.toExponential(3)}, `
    + `${STEPS} steps in ${(ms / 1000).toFixed(2)} s (${(1000 * ms / STEPS).toFixed(0)} µs/step)`);
}

function assertFlat(m0, m1, what) {
  assert.equal(m1.tensors, m0.tensors, `${what}: live tensors after warm-up ${m0.tensors}, at the end ${m1.tensors}`);
  assert.equal(m1.bytes, m0.bytes, `${what}: live bytes after warm-up ${m0.bytes}, at the end ${m1.bytes}`);
  assert.ok(m1.heapBytes <= m0.heapBytes, `${what}: heap grew from ${m0.heapBytes} to ${m1.heapBytes} bytes`);
}

test('soak: 10,000 typed-array steps (gradAndValue(functionalCall) + functional adam) keep memory flat and train', (t) => {
  torch.manualSeed(1);
  const { xs, ys } = dataset();
  const x = torch.tensor(xs, { shape: [ys.length, 2] }), y = torch.tensor(ys, { shape: [ys.length, 1] });
  const model = mlp();
  const params = asTypedArrays(model);
  const lossGrad = func.gradAndValue((p, xb, yb) => F.mseLoss(func.functionalCall(model, p, xb), yb));
  const state = {};
  const step = () => {
    const [grads, loss] = lossGrad(params, x, y);
    for (const k of Object.keys(params)) assert.ok(grads[k] instanceof Float32Array); // typed arrays out
    optim.functional.adam(params, grads, state, { lr: 0.01 });
    return loss;
  };

  const t0 = performance.now();
  const loss0 = step();
  for (let i = 1; i < WARMUP; i++) step();
  const m0 = torch.memory();
  let loss1;
  for (let i = WARMUP; i < STEPS; i++) loss1 = step();
  const m1 = torch.memory();
  const ms = performance.now() - t0;
  report(t, 'typed arrays', { m0, m1, loss0, loss1, ms });

  assertFlat(m0, m1, 'typed arrays');
  assert.equal(typeof loss1, 'number');
  assert.ok(Number.isFinite(loss1) && loss1 < 0.1 * loss0, `loss ${loss0} -> ${loss1}`);
  x.dispose(); y.dispose();
});

test('soak: 10,000 Tensor steps (eager autograd + optim.Adam, nothing disposed) freed by the FinalizationRegistry', { skip: !gc && 'needs --expose-gc' }, async (t) => {
  torch.manualSeed(2);
  const { xs, ys } = dataset();
  const model = mlp();
  const opt = new optim.Adam(model.parameters(), { lr: 0.01 });
  const n = ys.length;
  const step = () => {
    // every Tensor made here (the batch, the graph, the loss, the gradients
    // zeroGrad drops) becomes unreachable and is never disposed
    const x = torch.tensor(xs, { shape: [n, 2] }), y = torch.tensor(ys, { shape: [n, 1] });
    opt.zeroGrad();
    const loss = F.mseLoss(model.forward(x), y);
    loss.backward();
    opt.step();
    return loss.item();
  };

  const t0 = performance.now();
  const loss0 = step();
  for (let i = 1; i < WARMUP; i++) {
    step();
    if (i % GC_EVERY === 0) await collect();
  }
  await collect();
  const m0 = torch.memory();
  let loss1, peak = m0.tensors;
  for (let i = WARMUP; i < STEPS; i++) {
    loss1 = step();
    if (i % GC_EVERY === 0) {
      peak = Math.max(peak, torch.memory().tensors);
      await collect();
    }
  }
  await collect();
  const m1 = torch.memory();
  const ms = performance.now() - t0;
  report(t, 'Tensors + FinalizationRegistry', { m0, m1, loss0, loss1, ms });
  t.diagnostic(`Tensors + FinalizationRegistry: at most ${peak} live tensors between collections`);

  assertFlat(m0, m1, 'Tensors + FinalizationRegistry');
  // the registry really did the freeing: tens of tensors a step, thousands unfreed otherwise
  assert.ok(m1.tensors < 100, `${m1.tensors} tensors alive after collection`);
  assert.ok(peak > m0.tensors, 'steps created tensors between collections');
  assert.ok(Number.isFinite(loss1) && loss1 < 0.1 * loss0, `loss ${loss0} -> ${loss1}`);
});

test('soak: 10,000 transform-heavy steps (vmap(grad) per-sample gradients) keep memory flat and train', (t) => {
  torch.manualSeed(3);
  const { xs, ys } = dataset(16);
  const x = torch.tensor(xs, { shape: [ys.length, 2] }), y = torch.tensor(ys, { shape: [ys.length, 1] });
  const model = mlp();
  const params = asTypedArrays(model);
  const lossOne = (p, xi, yi) => F.mseLoss(func.functionalCall(model, p, xi.unsqueeze(0)), yi.unsqueeze(0));
  const perSample = func.vmap(func.grad(lossOne), { inDims: [null, 0, 0] });
  const loss = () => torch.scope(() => torch.noGrad(() => F.mseLoss(func.functionalCall(model, params, x), y).item()));
  const state = {};
  const step = () => torch.scope(() => {
    const grads = perSample(params, x, y); // { name: [B, numel] }
    const mean = {};
    for (const [k, g] of Object.entries(grads)) {
      assert.deepEqual(g.shape, [ys.length, params[k].length]);
      mean[k] = g.mean(0).toTypedArray();
    }
    optim.functional.sgd(params, mean, state, { lr: 0.1, momentum: 0.9 });
  });

  const t0 = performance.now();
  const loss0 = loss();
  for (let i = 0; i < WARMUP; i++) step();
  const m0 = torch.memory();
  for (let i = WARMUP; i < STEPS; i++) step();
  const m1 = torch.memory();
  const loss1 = loss();
  const ms = performance.now() - t0;
  report(t, 'vmap(grad)', { m0, m1, loss0, loss1, ms });

  assertFlat(m0, m1, 'vmap(grad)');
  assert.ok(Number.isFinite(loss1) && loss1 < 0.1 * loss0, `loss ${loss0} -> ${loss1}`);
  x.dispose(); y.dispose();
});
