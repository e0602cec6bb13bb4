// Issue 2's workloads: GEMM, elementwise bandwidth, dispatch cost, softmax.
import { uniform } from '../timing.mjs';
import { sumAbs } from '../peers/common.mjs';

export default function core(torch) {
  const out = [];
  for (const n of [64, 256, 1024]) {
    const a = torch.tensor(uniform(n * n, 1), { shape: [n, n] });
    const b = torch.tensor(uniform(n * n, 2), { shape: [n, n] });
    out.push({
      name: `matmul_${n}`,
      run: () => { const c = a.matmul(b); c.dispose(); },
      metric: (ms) => ({ value: (2 * n ** 3) / (ms * 1e6), unit: 'GFLOP/s' }),
    });
    // the peers' W1: the product read back into JS every rep
    let c;
    if (n >= 256) out.push({
      name: `matmul_${n}_readback`,
      run: () => { const t = a.matmul(b); c = t.toTypedArray(); t.dispose(); },
      check: () => sumAbs([c]),
      metric: (ms) => ({ value: (2 * n ** 3) / (ms * 1e6), unit: 'GFLOP/s', note: 'read back into a new Float32Array' }),
    });
  }
  const N = 1 << 20;
  const x = torch.tensor(uniform(N, 3), { shape: [N] });
  const y = torch.tensor(uniform(N, 4), { shape: [N] });
  out.push({
    name: 'add_1M',
    run: () => { const z = x.add(y); z.dispose(); },
    metric: (ms) => ({ value: (12 * N) / (ms * 1e6), unit: 'GB/s', note: 'bytes read + written' }),
  });
  out.push({
    name: 'exp_1M',
    run: () => { const z = x.exp(); z.dispose(); },
    metric: (ms) => ({ value: (8 * N) / (ms * 1e6), unit: 'GB/s', note: 'bytes read + written' }),
  });
  // The memcpy-bound reference: the engine's own copy (TypedArray.set, a
  // memmove) of the same 4 MB between two tensors' storage in the heap.
  const z0 = torch.zeros([N]);
  out.push({
    name: 'memcpy_4MB_reference',
    run: () => torch._dataView(z0).set(torch._dataView(x)),
    metric: (ms) => ({ value: (8 * N) / (ms * 1e6), unit: 'GB/s', note: 'bytes read + written by a memmove in the wasm heap' }),
  });
  // The peers' W7 exactly (shared/peer-workloads): zeros plus 1000 dependent
  // adds of uniform(16, 7), one read at the end.
  const c16 = torch.zeros([16]);
  const d16 = torch.tensor(uniform(16, 7), { shape: [16] });
  let chainOut;
  out.push({
    name: 'dispatch_add_chain_16',
    run: () => torch.scope(() => {
      let a = c16;
      for (let i = 0; i < 1000; i++) a = a.add(d16);
      chainOut = a.toTypedArray();
    }),
    check: () => sumAbs([chainOut]),
    metric: (ms) => ({ value: (ms * 1000) / 1000, unit: 'us/op', note: '1000 dependent adds on 16 floats, one read' }),
  });
  // Per-example weight gradients' broadcast multiply (vmap(grad) of a
  // Linear 784->256, batch 64): g[64,784,1] * x[64,1,256] -> [64,784,256].
  const og = torch.tensor(uniform(64 * 784, 8), { shape: [64, 784, 1] });
  const ox = torch.tensor(uniform(64 * 256, 9), { shape: [64, 1, 256] });
  out.push({
    name: 'outer_product_b64_784x256',
    run: () => { const z = og.mul(ox); z.dispose(); },
    metric: (ms) => ({ value: (4 * 64 * 784 * 256) / (ms * 1e6), unit: 'GB/s', note: 'bytes written' }),
  });
  // The fixed cost of func.functionalCall: a tiny 5-layer model, its own
  // forward against a functionalCall with a dict of all 6 parameters.
  if (torch.nn?.Sequential && torch.func?.functionalCall) {
    const { nn, func } = torch;
    const tiny = new nn.Sequential(new nn.Linear(8, 8), new nn.ReLU(), new nn.Linear(8, 8), new nn.ReLU(), new nn.Linear(8, 2));
    const tp = Object.fromEntries(Object.entries(tiny.namedParameters()).map(([k, v]) => [k, v.detach().clone()]));
    const tx = torch.tensor(uniform(4 * 8, 10), { shape: [4, 8] });
    out.push({
      name: 'forward_tiny_mlp',
      run: () => { for (let i = 0; i < 100; i++) tiny.forward(tx).dispose(); },
      metric: (ms) => ({ value: ms * 10, unit: 'us/call', note: 'Linear(8,8)-ReLU-Linear(8,8)-ReLU-Linear(8,2), [4, 8] input' }),
    });
    out.push({
      name: 'functional_call_tiny_mlp',
      run: () => { for (let i = 0; i < 100; i++) func.functionalCall(tiny, tp, tx).dispose(); },
      metric: (ms) => ({ value: ms * 10, unit: 'us/call', note: 'the same through func.functionalCall with all 6 parameters' }),
    });
  }
  const s = torch.tensor(uniform(256 * 1000, 7), { shape: [256, 1000] });
  out.push({
    name: 'softmax_256x1000',
    run: () => { const z = s.softmax(-1); z.dispose(); },
    metric: (ms) => ({ value: ms, unit: 'ms' }),
  });
  return out;
}
