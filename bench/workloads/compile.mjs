// Issue 6's workloads: func.compile against eager. The dispatch chain is
// core.mjs's dispatch_add_chain_16 (1000 dependent adds on 16 floats, one
// read), compiled; the gradient steps are an MLP's gradAndValue through
// functionalCall, small (dispatch-bound) and issue 4's 784-256-256-10 (compute-
// bound), eager and compiled, each followed by an SGD update on typed arrays.
import { uniform } from '../timing.mjs';
import { mlpParams, MLP_BATCH, transpose2d, sumAbs } from '../peers/common.mjs';

export default function compileWorkloads(torch) {
  const { nn, F, func } = torch;
  if (!func?.compile) return [{ name: 'dispatch_add_chain_16_compiled', skip: 'func.compile not available', run: () => {} }];
  const out = [];

  const c16 = torch.zeros([16]);
  const d16 = torch.tensor(uniform(16, 7), { shape: [16] });
  const adds = (a, d) => {
    for (let i = 0; i < 1000; i++) a = a.add(d);
    return a;
  };
  for (const [name, fuse, how] of [['dispatch_add_chain_16_compiled', true, 'compiled (fused)'], ['dispatch_add_chain_16_compiled_unfused', false, 'compiled with fuse: false']]) {
    const chain = func.compile(adds, { fuse });
    // Warm past the engine's baseline tier (replays are few, long calls: the
    // harness's 3 warm-up reps would leave most of the timed ones before tier-up).
    for (let i = 0; i < 500; i++) chain(c16, d16).dispose();
    let chainOut;
    out.push({
      name,
      run: () => { const r = chain(c16, d16); chainOut = r.toTypedArray(); r.dispose(); },
      check: () => sumAbs([chainOut]),
      metric: (ms) => ({ value: (ms * 1000) / 1000, unit: 'us/op', note: `the same 1000 dependent adds on 16 floats, ${how}: one replay, one read` }),
    });
  }

  // A memory-bound elementwise chain: GELU's tanh form written out over 1M
  // floats (10 ops after the bias add), as a user writes it.
  const gx = torch.tensor(uniform(1 << 20, 11), { shape: [1024, 1024] });
  const gb = torch.tensor(uniform(1024, 12), { shape: [1024] });
  const gelu = (x, b) => {
    const h = x.add(b);
    return h.mul(0.5).mul(h.mul(h).mul(h).mul(0.044715).add(h).mul(0.7978845608).tanh().add(1));
  };
  for (const [name, f] of [['gelu_chain_1M_eager', gelu], ['gelu_chain_1M_compiled_unfused', func.compile(gelu, { fuse: false })], ['gelu_chain_1M_compiled', func.compile(gelu)]]) {
    let g;
    out.push({
      name,
      run: () => torch.scope(() => { g = f(gx, gb).sum().item(); }),
      check: () => g,
      metric: (ms) => ({ value: ms, unit: 'ms', note: 'h = x + b; 0.5 h (1 + tanh(0.79788 (h + 0.044715 h^3))) over [1024, 1024] float32, and its sum' }),
    });
  }

  // A small MLP's training step: dispatch-bound, typed-array parameters.
  const mlpSmall = new nn.Sequential(new nn.Linear(16, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 4));
  const smallParams = () => Object.fromEntries(Object.entries(mlpSmall.namedParameters()).map(([k, v], i) => [k, uniform(v.numel, 20 + i, -0.3, 0.3)]));
  const xs = torch.tensor(uniform(8 * 16, 30), { shape: [8, 16] });
  const ys = torch.tensor(new Int32Array([0, 1, 2, 3, 0, 1, 2, 3]));
  const lossSmall = (p, x, y) => F.crossEntropy(func.functionalCall(mlpSmall, p, x), y);
  const sgd = (p, g) => { for (const k in p) { const a = p[k], b = g[k]; for (let i = 0; i < a.length; i++) a[i] -= 0.01 * b[i]; } };
  const stepSmall = func.gradAndValue(lossSmall);
  const stepSmallC = func.compile(stepSmall);
  for (const [name, step] of [['grad_step_mlp_small_eager', stepSmall], ['grad_step_mlp_small_compiled', stepSmallC]]) {
    const p = smallParams();
    out.push({
      name,
      run: () => { for (let i = 0; i < 10; i++) { const [g] = step(p, xs, ys); sgd(p, g); } },
      metric: (ms) => ({ value: ms * 100, unit: 'us/step', note: 'gradAndValue of MLP 16-32-32-4 (tanh, cross-entropy), batch 8, typed-array params, SGD in JS' }),
    });
  }

  // Issue 4's MLP 784-256-256-10, batch 64: compute-bound.
  const mp = mlpParams(), mb = MLP_BATCH();
  const mlp = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 256), new nn.ReLU(), new nn.Linear(256, 10));
  const dict = () => ({
    '0.weight': transpose2d(mp.W1).data.slice(), '0.bias': mp.b1.data.slice(), '2.weight': transpose2d(mp.W2).data.slice(),
    '2.bias': mp.b2.data.slice(), '4.weight': transpose2d(mp.W3).data.slice(), '4.bias': mp.b3.data.slice(),
  });
  const X = torch.tensor(mb.x, { shape: [64, 784] }), Y = torch.tensor(mb.labels);
  const lossBig = (p, x, y) => F.crossEntropy(func.functionalCall(mlp, p, x), y);
  const stepBig = func.gradAndValue(lossBig);
  const stepBigC = func.compile(stepBig);
  for (const [name, step] of [['grad_step_mlp_784_eager', stepBig], ['grad_step_mlp_784_compiled', stepBigC]]) {
    const p = dict();
    out.push({
      name,
      run: () => { const [g] = step(p, X, Y); sgd(p, g); },
      metric: (ms) => ({ value: ms, unit: 'ms/step', note: 'gradAndValue of MLP 784-256-256-10 (ReLU, cross-entropy), batch 64, typed-array params, SGD in JS' }),
    });
  }
  return out;
}
