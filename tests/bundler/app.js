// The page a bundler builds (tests/browser/bundler.test.mjs): imports the
// package by its name, as an application does, and publishes what it computed
// on window.bundled for the test to check against values worked out by hand.
import * as torch from 'torchfunc-wasm';

const { nn, func } = torch;
const round = (a) => Array.from(a, (v) => Math.round(v * 1e6) / 1e6 + 0); // + 0: no -0

function run() {
  // d/dx sum(x^3 + sin x) = 3x^2 + cos x
  const x = torch.tensor([1, 2, 3]);
  const g = func.grad((t) => t.pow(3).add(t.sin()).sum())(x);

  // nn.Linear(3, 2) run through functionalCall with given weights and typed arrays
  const lin = new nn.Linear(3, 2);
  const params = { weight: new Float32Array([1, 2, 3, 4, 5, 6]), bias: new Float32Array([0.5, -1]) };
  const y = func.functionalCall(lin, params, torch.tensor([[1, 0, -1], [2, 1, 0]]));

  // per-sample gradients of (w . x_i)^2 / 2 with respect to w: (w . x_i) x_i
  const w = torch.tensor([1, -1]);
  const xs = torch.tensor([[1, 2], [3, 0], [-1, -1]]);
  const perSample = func.vmap(func.grad((wv, xi) => wv.dot(xi).square().div(2)), { inDims: [null, 0] })(w, xs);

  return {
    version: torch.version,
    simd: torch.simd,
    grad: round(g.toTypedArray()),
    linear: { shape: y.shape, values: round(y.toTypedArray()) },
    perSample: { shape: perSample.shape, values: round(perSample.toTypedArray()) },
    wasmUrl: new URL('./torchfunc.wasm', import.meta.url).href,
  };
}

try {
  window.bundled = { ok: true, ...run() };
} catch (e) {
  window.bundled = { ok: false, error: String(e?.stack ?? e) };
}
document.getElementById('out').textContent = JSON.stringify(window.bundled, null, 2);
