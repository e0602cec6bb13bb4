// The threaded core: selection at load time, setNumThreads/getNumThreads,
// results independent of the thread count (bit for bit), memory growth of
// the shared heap, and workers that never keep Node alive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as torch from '../../dist/index.js';
import { rng, normal } from './util.mjs';

// TORCHFUNC_NUM_THREADS=n picks the count at load (1: the single-threaded
// core); the default, one thread per core, is what most tests here check.
const env = process.env.TORCHFUNC_NUM_THREADS;
const cores = env ? Math.max(1, Number(env)) : Math.min(availableParallelism(), 16);
const single = (cores < 2 || !torch.threads) && 'the single-threaded core';
const INDEX = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

function randn(shape, seed, dtype = 'float32') {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const Ctor = dtype === 'float64' ? Float64Array : Float32Array;
  const data = new Ctor(n);
  for (let i = 0; i < n; i++) data[i] = normal(r);
  return torch.tensor(data, { dtype }).reshape(shape);
}

/** Runs fn with n threads, restoring the count; returns its typed-array result(s). */
function withThreads(n, fn) {
  const before = torch.getNumThreads();
  torch.setNumThreads(n);
  try {
    return fn();
  } finally {
    torch.setNumThreads(before);
  }
}

function sameBits(a, b, what) {
  assert.equal(a.length, b.length, `${what}: lengths`);
  const ua = new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ub = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.fail(`${what}: byte ${i} differs between thread counts`);
}

test('the threaded core is loaded in Node when there is more than one core, with every core in use', () => {
  assert.equal(torch.threads, cores > 1 && typeof SharedArrayBuffer === 'function');
  assert.equal(torch.getNumThreads(), cores > 1 ? cores : 1);
});

test('setNumThreads checks its argument and getNumThreads reports it', () => {
  const n0 = torch.getNumThreads();
  for (const bad of ['2', 1.5, NaN, null, undefined, {}]) {
    assert.throws(() => torch.setNumThreads(bad), (e) => e instanceof torch.TorchError && /setNumThreads\(\): n must be an integer/.test(e.message));
  }
  assert.throws(() => torch.setNumThreads(0), /setNumThreads\(\): Number of threads must be positive, got 0/);
  assert.throws(() => torch.setNumThreads(-3), /must be positive, got -3/);
  assert.throws(() => torch.setNumThreads(cores + 1), new RegExp(`this instance has ${cores > 1 ? cores : 1} thread\\(s\\).*got ${cores + 1}`));
  assert.equal(torch.getNumThreads(), n0, 'a refused call changes nothing');
  torch.setNumThreads(1);
  assert.equal(torch.getNumThreads(), 1);
  torch.setNumThreads(n0);
  assert.equal(torch.getNumThreads(), n0);
});

// Shapes that split by columns, by rows (narrow N), and ragged edges; the
// K blocking depends on K alone, so every element sums in the same order.
const SHAPES = [[256, 256, 256], [64, 784, 256], [784, 64, 256], [1000, 300, 10], [67, 129, 1030], [513, 520, 40]];

test('matmul gives the same bits for every thread count (float32 and float64, transposed operands)', { skip: single }, () => {
  let seed = 1;
  for (const [M, K, N] of SHAPES) {
    for (const dtype of ['float32', 'float64']) {
      const a = randn([M, K], seed++, dtype), b = randn([K, N], seed++, dtype);
      const bt = randn([N, K], seed++, dtype).t();
      const run = () => torch.scope(() => [a.matmul(b).toTypedArray(), a.matmul(bt).toTypedArray()]);
      const one = withThreads(1, run), many = withThreads(cores, run);
      sameBits(one[0], many[0], `${dtype} [${M},${K}]@[${K},${N}]`);
      sameBits(one[1], many[1], `${dtype} [${M},${K}]@[${N},${K}]^T`);
      for (const t of [a, b, bt]) t.dispose();
    }
  }
  // And the threaded values are right, not just stable: against a float64 loop.
  const a = randn([130, 300], 99), b = randn([300, 70], 100);
  const c = withThreads(cores, () => a.matmul(b).toTypedArray());
  const A = a.toTypedArray(), B = b.toTypedArray();
  for (const [i, j] of [[0, 0], [129, 69], [64, 33], [7, 68]]) {
    let s = 0;
    for (let k = 0; k < 300; k++) s += A[i * 300 + k] * B[k * 70 + j];
    assert.ok(Math.abs(c[i * 70 + j] - s) < 1e-4 * (1 + Math.abs(s)), `C[${i},${j}]`);
  }
});

test('conv2d forward and both backward passes, and an MLP gradient, give the same bits for every thread count', { skip: single }, () => {
  const x = randn([16, 8, 28, 28], 7), w = randn([32, 8, 3, 3], 8), bias = randn([32], 9);
  const W1 = randn([256, 784], 10), W2 = randn([10, 256], 11), xb = randn([64, 784], 12);
  const run = () => torch.scope(() => {
    const xs = x.clone().requiresGrad_(), ws = w.clone().requiresGrad_();
    const y = torch.F.conv2d(xs, ws, bias, { padding: 1 });
    y.square().sum().backward();
    const g = torch.func.grad((p) => torch.F.linear(torch.F.relu(torch.F.linear(xb, p.W1)), p.W2).square().mean())({ W1, W2 });
    return [y.toTypedArray(), xs.grad.toTypedArray(), ws.grad.toTypedArray(), g.W1.toTypedArray(), g.W2.toTypedArray()];
  });
  const one = withThreads(1, run), many = withThreads(cores, run);
  ['conv2d', 'conv2d grad input', 'conv2d grad weight', 'MLP dW1', 'MLP dW2'].forEach((what, i) => sameBits(one[i], many[i], what));
});

test('large elementwise binaries (broadcast, transposed, comparisons) give the same bits for every thread count', { skip: single }, () => {
  const g = randn([64, 256, 1], 21), x = randn([64, 1, 784], 22), y = randn([784, 600], 23), z = randn([600, 784], 24);
  const d = randn([70000], 25, 'float64'), e = randn([70000], 26, 'float64');
  const run = () => torch.scope(() => [
    g.mul(x).toTypedArray(), // the per-sample outer products of vmap(grad)
    y.t().add(z).toTypedArray(), // a transposed operand
    y.t().gt(z).toTypedArray(), // a comparison: 1-byte output
    d.reshape([7, 10000]).div(e.reshape([7, 10000])).toTypedArray(), // float64, few rows
    torch.func.vmap((a) => a.sub(z))(y.t().reshape([1, 600, 784]).expand([3, 600, 784])).toTypedArray(),
  ]);
  const one = withThreads(1, run), many = withThreads(cores, run);
  ['outer products', 'transposed add', 'comparison', 'float64 div', 'vmapped sub'].forEach((what, i) => sameBits(one[i], many[i], what));
  // and the split result is right: spot values
  const G = g.toTypedArray(), X = x.toTypedArray(), P = many[0];
  for (const [b, i, j] of [[0, 0, 0], [63, 255, 783], [31, 100, 400]]) assert.equal(P[(b * 256 + i) * 784 + j], Math.fround(G[b * 256 + i] * X[b * 784 + j]));
});

test('the shared heap grows under the threaded core and keeps its contents', () => {
  const before = torch.memory().heapBytes;
  const keep = randn([64, 64], 5);
  const ref = keep.toTypedArray();
  // calls that go through the scratch block and the layer descriptors
  // (js/runtime.js views(), which must notice the growth)
  const net = new torch.nn.Sequential(new torch.nn.Linear(64, 8), new torch.nn.ReLU(), new torch.nn.Linear(8, 3));
  const run = () => [net.forward(keep).toTypedArray(), keep.sum(1, true).toTypedArray(), torch.func.grad((x) => x.tanh().sum())(keep).toTypedArray()];
  const refs = run();
  const big = torch.zeros([64, 1024, 1024]); // 256 MB: forces memory.grow
  assert.ok(torch.memory().heapBytes > before, 'the heap grew');
  sameBits(keep.toTypedArray(), ref, 'a tensor made before the growth');
  run().forEach((got, i) => sameBits(got, refs[i], `call ${i} after the growth`));
  const c = withThreads(torch.threads ? cores : 1, () => keep.matmul(keep).sum().item());
  assert.ok(Number.isFinite(c));
  big.dispose();
  keep.dispose();
});

test('TORCHFUNC_NUM_THREADS picks the thread count at load, 1 selecting the single-threaded core', () => {
  const script = `const t = await import(${JSON.stringify(INDEX)}); console.log(JSON.stringify([t.threads, t.getNumThreads()]));`;
  const run = (env) => spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30000,
  });
  const one = run({ TORCHFUNC_NUM_THREADS: '1' });
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual(JSON.parse(one.stdout), [false, 1]);
  if (cores > 1) {
    const two = run({ TORCHFUNC_NUM_THREADS: '2' });
    assert.equal(two.status, 0, two.stderr);
    assert.deepEqual(JSON.parse(two.stdout), [true, 2]);
  }
  const bad = run({ TORCHFUNC_NUM_THREADS: 'many' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /TORCHFUNC_NUM_THREADS must be a positive integer, got 'many'/);
});

test('the workers never keep a Node process alive', () => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(INDEX)});`], {
    encoding: 'utf8', timeout: 20000,
  });
  assert.equal(r.status, 0, `exit status ${r.status} signal ${r.signal}: ${r.stderr}`);
  assert.ok(performance.now() - t0 < 15000);
});
