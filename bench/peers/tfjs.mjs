// TensorFlow.js on the workloads our nn and func benchmarks share with it,
// written as the peer baselines wrote them (tf.variableGrads, results read
// with dataSync). tfjs has no vmap, no Jacobian/Hessian API and no forward
// mode, so W4, W5, the Hessian and the ensemble are Python-style loops.
// Usage: node tfjs.mjs wasm|cpu [--filter REGEX] [--budget MS]
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs'; // the union package: registers every gradient (tfjs-core alone registers none) and the cpu backend
import * as tfwasm from '@tensorflow/tfjs-backend-wasm';
import { run, emit, sumAbs, uniform, gflops, perOp, mlpParams, cnnParams, MLP_BATCH, CNN_BATCH, oihwToHwio, fcRowsChwToHwc, ENSEMBLE, ensembleParams, hessianData, hessianExact, maxAbsDiff } from './common.mjs';

const backend = process.argv[2] || 'wasm';
// In a browser page (tfjs_browser.mjs), the wasm files' URL and the thread
// count: tfjs uses its threaded build there when the page is
// cross-origin isolated (under Node it never does: tfjs#3830).
if (globalThis.__tfjsWasm) {
  tfwasm.setWasmPaths(globalThis.__tfjsWasm.paths);
  tfwasm.setThreadsCount(globalThis.__tfjsWasm.threads);
}
await tf.setBackend(backend);
await tf.ready();
if (tf.getBackend() !== backend) throw new Error(`backend ${backend} not active`);
const info = { tfjs: tf.version_core, backend };
if (backend === 'wasm') {
  info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  info.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  info.threads = tfwasm.getThreadsCount();
}
emit({ peer: 'tfjs', backend, workload: 'info', ...info });

const meta = (workload) => ({ peer: 'tfjs', backend, workload });
const T = ({ shape, data }) => tf.tensor(data, shape, 'float32');

// W1 matmul first, as in the peer baselines (shared/peer-workloads): a process's first
// large allocations page-fault (glibc maps them fresh until a free raises its threshold).
for (const n of [256, 1024]) {
  await run(meta(`W1_matmul_${n}`), () => {
    const a = tf.tensor(uniform(n * n, 1), [n, n]), b = tf.tensor(uniform(n * n, 2), [n, n]);
    let out;
    return {
      fn: () => { const c = tf.matMul(a, b); out = c.dataSync(); c.dispose(); },
      check: () => sumAbs([out]), extra: gflops(n, n, n),
    };
  });
}

const mp = mlpParams(), mb = MLP_BATCH();
const vars = Object.fromEntries(Object.entries(mp).map(([k, v]) => [k, tf.variable(T(v), true, k)]));
const X = tf.tensor(mb.x, [64, 784]), Y = tf.tensor(mb.onehot, [64, 10]);
const mlp = (p, x) => {
  const h1 = tf.relu(tf.add(tf.matMul(x, p.W1), p.b1));
  const h2 = tf.relu(tf.add(tf.matMul(h1, p.W2), p.b2));
  return tf.add(tf.matMul(h2, p.W3), p.b3);
};
const ce = (logits, y) => tf.losses.softmaxCrossEntropy(y, logits); // mean over the batch

await run(meta('W2_mlp_forward'), () => {
  let out;
  return { fn: () => { const y = tf.tidy(() => mlp(vars, X)); out = y.dataSync(); y.dispose(); }, check: () => sumAbs([out]) };
});

await run(meta('W3_mlp_grad'), () => {
  let out;
  return {
    fn: () => {
      const { value, grads } = tf.variableGrads(() => ce(mlp(vars, X), Y));
      out = Object.values(grads).map((g) => g.dataSync());
      value.dispose(); tf.dispose(grads);
    },
    check: () => sumAbs(out),
  };
});

// W4 and W5 exactly as the peer baselines (shared/peer-workloads/bench-tfjs.mjs).
await run(meta('W4_per_sample_grads'), () => {
  const xs = tf.unstack(X).map((x) => x.reshape([1, 784])), ys = tf.unstack(Y).map((y) => y.reshape([1, 10]));
  let out;
  return {
    note: 'no vmap: python-style loop over 64 samples, tf.variableGrads each, then tf.stack',
    fn: () => {
      const per = xs.map((x, i) => tf.variableGrads(() => ce(mlp(vars, x), ys[i])));
      const stacked = tf.tidy(() => Object.keys(vars).map((k) => tf.stack(per.map((r) => r.grads[k]))));
      out = stacked.map((s) => s.dataSync());
      per.forEach((r) => { r.value.dispose(); tf.dispose(r.grads); });
      tf.dispose(stacked);
    },
    check: () => sumAbs(out),
  };
});

await run(meta('W5_jacobian_10x784'), () => {
  const x0 = tf.tensor(mb.x.subarray(0, 784), [1, 784]);
  const rows = [...Array(10).keys()].map((i) => tf.oneHot(tf.tensor1d([i], 'int32'), 10).toFloat());
  const gfs = rows.map((e) => tf.grad((x) => tf.sum(tf.mul(mlp(vars, x), e))));
  let out;
  return {
    note: 'no jacobian API: 10 tf.grad calls (one per output row, each re-runs forward)',
    fn: () => { const J = tf.tidy(() => tf.concat(gfs.map((g) => g(x0)), 0)); out = J.dataSync(); J.dispose(); },
    check: () => sumAbs([out]),
  };
});
await run({ ...meta('W5b_jacfwd_10x784'), unsupported: 'no forward-mode AD in tfjs (no jvp / jacfwd)' }, () => ({}));

// Hessian of f(w) = sum(tanh(A w)) + |w|^2/2, 100 parameters: row i is the
// gradient of (grad f)_i, i.e. 100 gradient-of-gradient passes. tfjs 4.22
// gets this wrong: gradients that use a kernel's saved output (tanh, exp,
// sigmoid) are not themselves differentiated, so tanh's second derivative is
// dropped (H comes out as the identity, check 100). The result is compared
// with the exact Hessian before timing, and a wrong one is reported, not timed.
await run(meta('hessian_100'), () => {
  const hd = hessianData();
  const A = T(hd.A), w0 = T(hd.w0);
  const f = (w) => tf.add(tf.sum(tf.tanh(tf.matMul(A, tf.reshape(w, [100, 1])))), tf.mul(tf.scalar(0.5), tf.sum(tf.square(w))));
  const g = tf.grad(f);
  const basis = [...Array(100).keys()].map((i) => tf.oneHot(tf.tensor1d([i], 'int32'), 100).reshape([100]).toFloat());
  const rows = basis.map((e) => tf.grad((w) => tf.sum(tf.mul(g(w), e))));
  const probe = tf.tidy(() => tf.stack(rows.map((r) => r(w0))));
  const err = maxAbsDiff(probe.dataSync(), hessianExact());
  probe.dispose();
  if (!(err < 1e-3)) throw new Error(`wrong Hessian from tf.grad(tf.grad(f)): max |H - exact| = ${err.toPrecision(3)} (tanh's second derivative is dropped: saved-output gradients are not differentiable in tfjs)`);
  let out;
  return {
    note: 'no hessian API: 100 tf.grad(tf.grad) passes, one per row',
    fn: () => { const H = tf.tidy(() => tf.stack(rows.map((r) => r(w0)))); out = H.dataSync(); H.dispose(); },
    check: () => sumAbs([out]),
  };
});

// 8 MLPs on one batch: no vmap, so a loop over the models.
await run(meta('ensemble8_forward_b64'), () => {
  const models = [...Array(ENSEMBLE).keys()].map((k) => Object.fromEntries(Object.entries(ensembleParams(k)).map(([n, v]) => [n, T(v)])));
  let out;
  return {
    note: `no vmap: a loop over the ${ENSEMBLE} models, then tf.stack`,
    fn: () => { const y = tf.tidy(() => tf.stack(models.map((p) => mlp(p, X)))); out = y.dataSync(); y.dispose(); },
    check: () => sumAbs([out]),
  };
});

// NHWC / HWIO, with the weights permuted so that tfjs computes the same function.
await run(meta('W6_cnn_grad'), () => {
  const cp = cnnParams(), cb = CNN_BATCH();
  const p = {
    c1w: tf.variable(T(oihwToHwio(cp.c1w))), c1b: tf.variable(T(cp.c1b)),
    c2w: tf.variable(T(oihwToHwio(cp.c2w))), c2b: tf.variable(T(cp.c2b)),
    fw: tf.variable(T(fcRowsChwToHwc(cp.fw, 16, 5, 5))), fb: tf.variable(T(cp.fb)),
  };
  const x = tf.tensor(cb.x, [32, 28, 28, 1]), y = tf.tensor(cb.onehot, [32, 10]);
  const net = () => {
    let h = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, p.c1w, 1, 'valid'), p.c1b)), 2, 2, 'valid');
    h = tf.maxPool(tf.relu(tf.add(tf.conv2d(h, p.c2w, 1, 'valid'), p.c2b)), 2, 2, 'valid');
    return tf.add(tf.matMul(tf.reshape(h, [32, 400]), p.fw), p.fb);
  };
  let out;
  return {
    fn: () => {
      const { value, grads } = tf.variableGrads(() => ce(net(), y), Object.values(p));
      out = Object.values(grads).map((g) => g.dataSync());
      value.dispose(); tf.dispose(grads);
    },
    check: () => sumAbs(out),
  };
});

// W7 dispatch exactly as the peer baselines.
await run(meta('W7_dispatch_1000_adds'), () => {
  const b = tf.tensor(uniform(16, 7), [16]), a0 = tf.zeros([16]);
  let out;
  return {
    fn: () => {
      const r = tf.tidy(() => { let a = a0; for (let i = 0; i < 1000; i++) a = tf.add(a, b); return a; });
      out = r.dataSync(); r.dispose();
    },
    check: () => sumAbs([out]), extra: perOp(1000),
  };
});
