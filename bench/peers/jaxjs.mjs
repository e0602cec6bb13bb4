// jax-js on the workloads our nn and func benchmarks share with it, as the
// peer baselines wrote them (W4 vmap(grad); W5 jacrev, which 0.1.25 breaks,
// jacfwd and the vmap(vjp) workaround; hessian; vmap over stacked params).
// jax-js arrays are reference counted and every call consumes its array
// arguments, so reused inputs are passed as .ref.
// Usage: node jaxjs.mjs eager|jit [--filter REGEX] [--budget MS]
import { numpy as np, nn, lax, init, defaultDevice, grad, vmap, vjp, jit, jacrev, jacfwd, hessian, tree } from '@jax-js/jax';
import { run, emit, sumAbs, uniform, gflops, perOp, mlpParams, cnnParams, MLP_BATCH, CNN_BATCH, ENSEMBLE, ensembleParams, hessianData } from './common.mjs';

const mode = process.argv[2] || 'eager';
// init() with no argument also probes webgpu and throws on Node 20 (no `navigator`).
const got = await init('wasm');
if (!got.includes('wasm')) throw new Error('jax-js wasm device unavailable');
defaultDevice('wasm');
const J = mode === 'jit' ? jit : (f) => f;
const backend = mode === 'jit' ? 'wasm+jit' : 'wasm';
emit({ peer: 'jax-js', backend, workload: 'info', threads: 1, note: 'single-threaded in Node (its worker pool needs a global Worker)' });
const meta = (workload) => ({ peer: 'jax-js', backend, workload });

const A = ({ shape, data }) => np.array(data).reshape(shape);
const read = (t) => Object.values(t).map((a) => a.dataSync()); // consumes the arrays

// W1 matmul first, as in the peer baselines (shared/peer-workloads): a process's first
// large allocations page-fault (glibc maps them fresh until a free raises its threshold).
for (const n of [256, 1024]) {
  await run(meta(`W1_matmul_${n}`), () => {
    const a = A({ shape: [n, n], data: uniform(n * n, 1) }), b = A({ shape: [n, n], data: uniform(n * n, 2) });
    const mm = J((a, b) => np.matmul(a, b));
    let out;
    return { fn: () => { out = mm(a.ref, b.ref).dataSync(); }, check: () => sumAbs([out]), extra: gflops(n, n, n) };
  });
}

const mlp = (p, x) => {
  const h1 = nn.relu(np.matmul(x, p.W1).add(p.b1));
  const h2 = nn.relu(np.matmul(h1, p.W2).add(p.b2));
  return np.matmul(h2, p.W3).add(p.b3);
};
const ce = (logits, y) => np.mean(nn.logSoftmax(logits, -1).mul(y).sum(-1)).neg();
const loss = (p, x, y) => ce(mlp(p, x), y);
const mp = Object.fromEntries(Object.entries(mlpParams()).map(([k, v]) => [k, A(v)]));
const mb = MLP_BATCH();
const X = A({ shape: [64, 784], data: mb.x }), Y = A({ shape: [64, 10], data: mb.onehot });

await run(meta('W2_mlp_forward'), () => {
  const f = J(mlp);
  let out;
  return { fn: () => { out = f(tree.ref(mp), X.ref).dataSync(); }, check: () => sumAbs([out]) };
});

await run(meta('W3_mlp_grad'), () => {
  const g = J(grad(loss));
  let out;
  return { fn: () => { out = read(g(tree.ref(mp), X.ref, Y.ref)); }, check: () => sumAbs(out) };
});

// W4 and W5 exactly as the peer baselines (shared/peer-workloads/bench-jaxjs.mjs).
await run(meta('W4_per_sample_grads'), () => {
  const g = J(vmap(grad(loss), [null, 0, 0]));
  let out;
  return { note: 'vmap(grad(loss), [null,0,0])', fn: () => { out = read(g(tree.ref(mp), X.ref, Y.ref)); }, check: () => sumAbs(out) };
});

const x0 = A({ shape: [784], data: mb.x.slice(0, 784) });
for (const [name, jac, note] of [['W5_jacobian_10x784', jacrev, 'jacrev'], ['W5b_jacfwd_10x784', jacfwd, 'jacfwd (784 JVPs, vmapped; returns the transposed [784, 10] layout)']]) {
  await run({ ...meta(name), note }, () => {
    const f = J(jac((x) => mlp(tree.ref(mp), x)));
    let out;
    return { note, fn: () => { out = f(x0.ref).dataSync(); }, check: () => sumAbs([out]) };
  });
}

// jacrev above fails in 0.1.25 for a 1-D input; the manual equivalent is vmap over
// the cotangent basis of a vjp, with a [1, 784] input (jacrev itself rejects 2-D inputs).
await run(meta('W5c_vmap_vjp_10x784'), () => {
  const x1 = A({ shape: [1, 784], data: mb.x.slice(0, 784) });
  const eye = A({ shape: [10, 1, 10], data: np.eye(10).dataSync() });
  const jac = J((x, basis) => {
    const [y, vjpFn] = vjp((x) => mlp(tree.ref(mp), x), [x]);
    y.dispose();
    const J = vmap((ct) => vjpFn(ct)[0], [0])(basis);
    vjpFn.dispose();
    return J;
  });
  let out;
  return { note: 'workaround for jacrev: vmap(vjp) over 10 one-hot cotangents', fn: () => { out = jac(x1.ref, eye.ref).dataSync(); }, check: () => sumAbs([out]) };
});

// Hessian of f(w) = sum(tanh(A w)) + |w|^2/2 (jax-js's hessian is jacfwd(grad(f))).
await run(meta('hessian_100'), () => {
  const hd = hessianData();
  const Am = A(hd.A), w0 = A(hd.w0);
  const f = (w) => np.sum(np.tanh(np.matmul(Am.ref, w.ref))).add(w.ref.mul(w).sum().mul(0.5));
  const h = J(hessian(f));
  let out;
  return { note: 'hessian(f) = jacfwd(grad(f))', fn: () => { out = h(w0.ref).dataSync(); }, check: () => sumAbs([out]) };
});

// 8 MLPs on one batch: vmap over the stacked parameters (the input is shared).
await run(meta('ensemble8_forward_b64'), () => {
  const models = [...Array(ENSEMBLE).keys()].map(ensembleParams);
  const stacked = Object.fromEntries(Object.keys(models[0]).map((k) => {
    const { shape } = models[0][k], data = new Float32Array(ENSEMBLE * models[0][k].data.length);
    models.forEach((m, i) => data.set(m[k].data, i * m[k].data.length));
    return [k, A({ shape: [ENSEMBLE, ...shape], data })];
  }));
  const f = J(vmap(mlp, [0, null]));
  let out;
  return { note: `vmap(mlp, [0, null]) over ${ENSEMBLE} stacked parameter sets`, fn: () => { out = f(tree.ref(stacked), X.ref).dataSync(); }, check: () => sumAbs([out]) };
});
// The same as a loop over the models (what vmap replaces), then np.stack.
await run(meta('ensemble8_forward_b64_loop'), () => {
  const models = [...Array(ENSEMBLE).keys()].map((k) => Object.fromEntries(Object.entries(ensembleParams(k)).map(([n, v]) => [n, A(v)])));
  const f = J(mlp);
  let out;
  return { note: `a loop over the ${ENSEMBLE} models, then np.stack`, fn: () => { out = np.stack(models.map((p) => f(tree.ref(p), X.ref))).dataSync(); }, check: () => sumAbs([out]) };
});

// NCHW / OIHW like PyTorch
await run(meta('W6_cnn_grad'), () => {
  const cp = Object.fromEntries(Object.entries(cnnParams()).map(([k, v]) => [k, A(v)]));
  const cb = CNN_BATCH();
  const x = A({ shape: [32, 1, 28, 28], data: cb.x }), y = A({ shape: [32, 10], data: cb.onehot });
  const pool = (h) => lax.reduceWindow(h, (w) => np.max(w), [2, 2], [2, 2]);
  const block = (h, w, b) => pool(nn.relu(lax.conv(h, w, [1, 1], 'VALID').add(b.reshape([1, -1, 1, 1]))));
  const cnnLoss = (p, x, y) => {
    let h = block(x, p.c1w, p.c1b);
    h = block(h, p.c2w, p.c2b);
    return ce(np.matmul(h.reshape([32, 400]), p.fw).add(p.fb), y);
  };
  const g = J(grad(cnnLoss));
  let out;
  return { fn: () => { out = read(g(tree.ref(cp), x.ref, y.ref)); }, check: () => sumAbs(out) };
});

// W7 dispatch exactly as the peer baselines.
await run(meta('W7_dispatch_1000_adds'), () => {
  const b = A({ shape: [16], data: uniform(16, 7) });
  const add = J((a, b) => a.add(b));
  let out;
  return {
    note: mode === 'jit' ? '1000 calls of a jitted single add' : 'eager ops (jax-js eager is lazy: realized on read)',
    fn: () => { let a = np.zeros([16]); for (let i = 0; i < 1000; i++) a = add(a, b.ref); out = a.dataSync(); },
    check: () => sumAbs([out]), extra: perOp(1000),
  };
});
