// Issue 4's workloads: per-sample gradients (vmap(grad)) of the MLP
// 784-256-256-10 for batch 64 and the loop they replace, the Jacobian of its
// 10 outputs w.r.t. one 784 input (jacrev and jacfwd), the Hessian of a
// 100-parameter function, and an ensemble of 8 MLPs (stackModuleState +
// vmap) against the loop over models. Every rep reads its results back
// into JS typed arrays, as the peers do.
import { mlpParams, MLP_BATCH, transpose2d, sumAbs, ENSEMBLE, ensembleParams, hessianData } from '../peers/common.mjs';
import { readBack } from '../timing.mjs';

export default function funcWorkloads(torch) {
  const { nn, F, func } = torch;
  const need = ['vmap', 'grad', 'jacrev', 'jacfwd', 'hessian', 'stackModuleState', 'functionalCall'];
  const missing = need.filter((k) => !func?.[k]);
  const names = ['persample_grad_b64', 'persample_grad_b64_readback', 'persample_grad_b64_loop', 'jacrev_mlp_784', 'jacfwd_mlp_784',
    'jacrev_mlp_784_loop', 'jacfwd_mlp_784_loop', 'hessian_100', 'hessian_100_loop',
    'ensemble8_forward_b64', 'ensemble8_forward_b64_loop'];
  if (missing.length) return names.map((name) => ({ name, skip: `not available yet: ${missing.join(', ')}`, run: () => {} }));

  const out = [];
  const mp = mlpParams(), mb = MLP_BATCH();
  const mlp = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10));
  const dict = {
    '0.weight': transpose2d(mp.W1), '0.bias': mp.b1, '2.weight': transpose2d(mp.W2), '2.bias': mp.b2,
    '4.weight': transpose2d(mp.W3), '4.bias': mp.b3,
  };
  const params = Object.fromEntries(Object.entries(dict).map(([k, v]) => [k, torch.tensor(v.data, { shape: v.shape })]));
  const X = torch.tensor(mb.x, { shape: [64, 784] }), Y = torch.tensor(mb.labels);

  // Per-sample gradients: one example's loss, vmapped over the batch.
  const lossOne = (p, x, y) => F.crossEntropy(func.functionalCall(mlp, p, x.unsqueeze(0)), y.unsqueeze(0));
  const perSample = func.vmap(func.grad(lossOne), { inDims: [null, 0, 0] });
  let ps;
  out.push({
    name: 'persample_grad_b64',
    run: () => { for (const g of Object.values(perSample(params, X, Y))) g.dispose(); },
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'vmap(grad) of all 6 parameters, [64, ...] each (17M floats), left in WebAssembly' }),
  });
  // Reading 68 MB back into fresh JS typed arrays is dominated by the page
  // faults of the new JS allocations on this VM (~200 ms per 51 MB for any
  // library: the peers' W4 figures include it).
  out.push({
    name: 'persample_grad_b64_readback',
    run: () => { ps = readBack(perSample(params, X, Y)); },
    check: () => sumAbs(ps),
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'the same, read back into new JS typed arrays' }),
  });
  // The loop vmap replaces, as the torch.func tutorial writes it: a grad per
  // example, then torch.stack per parameter into [64, ...].
  const gradOne = func.grad(lossOne);
  out.push({
    name: 'persample_grad_b64_loop',
    run: () => torch.scope(() => {
      const per = [];
      for (let i = 0; i < 64; i++) per.push(gradOne(params, X.select(0, i), Y.select(0, i)));
      for (const k of Object.keys(per[0])) torch.stack(per.map((g) => g[k]));
    }),
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'a loop of 64 grads stacked per parameter (what vmap replaces), left in WebAssembly' }),
  });

  // Jacobian of the 10 logits w.r.t. one 784 input.
  const x0 = X.select(0, 0).contiguous();
  const logits = (x) => func.functionalCall(mlp, params, x);
  for (const [name, jac] of [['jacrev_mlp_784', func.jacrev(logits)], ['jacfwd_mlp_784', func.jacfwd(logits)]]) {
    let J;
    out.push({
      name,
      run: () => { const j = jac(x0); J = j.toTypedArray(); j.dispose(); },
      check: () => sumAbs([J]),
      metric: (ms) => ({ value: ms, unit: 'ms', note: '[10, 784] Jacobian, read back' }),
    });
  }

  // The loops jacrev and jacfwd replace: 10 vjps with one-hot cotangents,
  // 784 jvps with one-hot tangents, stacked.
  const eye10 = torch.eye(10), eye784 = torch.eye(784);
  let JL;
  out.push({
    name: 'jacrev_mlp_784_loop',
    run: () => torch.scope(() => {
      const [, vjpFn] = func.vjp(logits, x0);
      const rows = [];
      for (let i = 0; i < 10; i++) rows.push(vjpFn(eye10.select(0, i))[0]);
      JL = torch.stack(rows).toTypedArray();
    }),
    check: () => sumAbs([JL]),
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'a loop of 10 vjps (what jacrev replaces), [10, 784], read back' }),
  });
  let JF;
  out.push({
    name: 'jacfwd_mlp_784_loop',
    run: () => torch.scope(() => {
      const cols = [];
      for (let i = 0; i < 784; i++) cols.push(func.jvp(logits, [x0], [eye784.select(0, i)])[1]);
      JF = torch.stack(cols, 1).toTypedArray();
    }),
    check: () => sumAbs([JF]),
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'a loop of 784 jvps (what jacfwd replaces), [10, 784], read back' }),
  });

  // Hessian of a 100-parameter function: f(w) = sum(tanh(A w)) + |w|^2 / 2,
  // A and w0 seeded as the peers' (bench/peers/common.mjs hessianData).
  const hd = hessianData();
  const A = torch.tensor(hd.A.data, { shape: hd.A.shape });
  const w0 = torch.tensor(hd.w0.data, { shape: hd.w0.shape });
  const hess = func.hessian((w) => A.matmul(w).tanh().sum().add(w.mul(w).sum().mul(0.5)));
  let H;
  out.push({
    name: 'hessian_100',
    run: () => { const h = hess(w0); H = h.toTypedArray(); h.dispose(); },
    check: () => sumAbs([H]),
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'jacfwd(jacrev(f)) for 100 parameters, [100, 100], read back' }),
  });

  const eye100 = torch.eye(100);
  const gradF = func.grad((w) => A.matmul(w).tanh().sum().add(w.mul(w).sum().mul(0.5)));
  let HL;
  out.push({
    name: 'hessian_100_loop',
    run: () => torch.scope(() => {
      const rows = [];
      for (let i = 0; i < 100; i++) rows.push(func.jvp(gradF, [w0], [eye100.select(0, i)])[1]);
      HL = torch.stack(rows).toTypedArray();
    }),
    check: () => sumAbs([HL]),
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'a loop of 100 Hessian-vector products jvp(grad(f)) (what hessian replaces), read back' }),
  });

  // Ensembling: 8 MLPs on one minibatch, vmapped over stacked parameters.
  // Model k has the peers' seeded weights ensembleParams(k) (mlpParams with
  // seeds 100 + 10k ..), transposed to nn.Linear's [out, in], so the check
  // sums agree with the peers'.
  const models = Array.from({ length: ENSEMBLE }, (_, k) => {
    const m = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10));
    const p = ensembleParams(k);
    m.loadStateDict({
      '0.weight': transpose2d(p.W1).data, '0.bias': p.b1.data, '2.weight': transpose2d(p.W2).data, '2.bias': p.b2.data,
      '4.weight': transpose2d(p.W3).data, '4.bias': p.b3.data,
    });
    return m;
  });
  const [stacked, buffers] = func.stackModuleState(models);
  const ensemble = func.vmap((p, b, x) => func.functionalCall(models[0], [p, b], x), { inDims: [0, 0, null] });
  let E;
  out.push({
    name: 'ensemble8_forward_b64',
    run: () => { const y = ensemble(stacked, buffers, X); E = y.toTypedArray(); y.dispose(); },
    check: () => sumAbs([E]),
    metric: (ms) => ({ value: ms, unit: 'ms', note: '8 MLPs 784-256-256-10, [8, 64, 10], read back' }),
  });
  let EL;
  out.push({
    name: 'ensemble8_forward_b64_loop',
    run: () => torch.scope(() => { EL = models.map((m) => m.forward(X).toTypedArray()); }),
    check: () => sumAbs(EL),
    metric: (ms) => ({ value: ms, unit: 'ms', note: 'a loop over the 8 models' }),
  });
  return out;
}
