// Seeded data and the timing method shared by our nn benchmarks and the
// peers' scripts, from ../../shared peer-workloads/common.mjs (the method the
// published peer baselines used): mulberry32 data, warm-up then reps until a
// time budget is spent, medians; every rep ends with results read into JS.

export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
export function uniform(n, seed, lo = -1, hi = 1) {
  const r = rng(seed), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}
const prod = (s) => s.reduce((a, b) => a * b, 1);
const param = (shape, fanIn, seed) => {
  const k = 1 / Math.sqrt(fanIn);
  return { shape, data: uniform(prod(shape), seed, -k, k) };
};

/**
 * MLP 784-256-256-10. Weights are [in, out] row-major (y = x @ W + b).
 * The six tensors use seeds s..s+5 (s = 11: the peer baselines' model).
 */
export function mlpParams(s = 11) {
  return {
    W1: param([784, 256], 784, s), b1: param([256], 784, s + 1),
    W2: param([256, 256], 256, s + 2), b2: param([256], 256, s + 3),
    W3: param([256, 10], 256, s + 4), b3: param([10], 256, s + 5),
  };
}
/** The ensemble workload: ENSEMBLE models 784-256-256-10, model k = mlpParams(100 + 10 k), on MLP_BATCH's x. */
export const ENSEMBLE = 8;
export const ensembleParams = (k) => mlpParams(100 + 10 * k);
/** The Hessian workload: f(w) = sum(tanh(A w)) + |w|^2 / 2 at w0, A [100, 100] row-major. */
export function hessianData() {
  return { A: { shape: [100, 100], data: uniform(100 * 100, 31) }, w0: { shape: [100], data: uniform(100, 32) } };
}
/** The exact Hessian of hessianData's f at w0, in float64: A^T diag(tanh''(A w0)) A + I. */
export function hessianExact() {
  const { A: { data: A }, w0: { data: w } } = hessianData(), n = 100, d = new Float64Array(n), H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < n; j++) z += A[i * n + j] * w[j];
    const t = Math.tanh(z);
    d[i] = -2 * t * (1 - t * t);
  }
  for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) {
    let s = j === k ? 1 : 0;
    for (let i = 0; i < n; i++) s += A[i * n + j] * d[i] * A[i * n + k];
    H[j * n + k] = s;
  }
  return H;
}
/** max |a - b| over two equal-length arrays. */
export const maxAbsDiff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
/** CNN params in PyTorch layouts: conv weights OIHW, fc weight [400, 10] with rows in (C,H,W) order. */
export function cnnParams() {
  return {
    c1w: param([8, 1, 3, 3], 9, 21), c1b: param([8], 9, 22),
    c2w: param([16, 8, 3, 3], 72, 23), c2b: param([16], 72, 24),
    fw: param([400, 10], 400, 25), fb: param([10], 400, 26),
  };
}
export function batch(B, features, seed) {
  const x = uniform(B * features, seed, 0, 1);
  const r = rng(seed + 1000), labels = new Int32Array(B), onehot = new Float32Array(B * 10);
  for (let i = 0; i < B; i++) { labels[i] = Math.floor(r() * 10); onehot[i * 10 + labels[i]] = 1; }
  return { x, labels, onehot };
}
export const MLP_BATCH = () => batch(64, 784, 1);
export const CNN_BATCH = () => batch(32, 28 * 28, 2);

/** [R, C] row-major -> [C, R] row-major (nn.Linear keeps weights as [out, in]). */
export function transpose2d({ shape: [R, C], data }) {
  const out = new Float32Array(data.length);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = data[r * C + c];
  return { shape: [C, R], data: out };
}
/** OIHW -> HWIO (tfjs conv2d filters). */
export function oihwToHwio({ shape: [O, I, H, W], data }) {
  const out = new Float32Array(data.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++)
    out[((h * W + w) * I + i) * O + o] = data[((o * I + i) * H + h) * W + w];
  return { shape: [H, W, I, O], data: out };
}
/** fc rows (c,h,w) -> (h,w,c), so that an NHWC flatten computes the same function. */
export function fcRowsChwToHwc({ shape: [R, N], data }, C, H, W) {
  const out = new Float32Array(data.length);
  for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
    const src = (c * H + h) * W + w, dst = (h * W + w) * C + c;
    out.set(data.subarray(src * N, src * N + N), dst * N);
  }
  return { shape: [R, N], data: out };
}

export const sumAbs = (arrs) => arrs.reduce((s, a) => { for (const v of a) s += Math.abs(v); return s; }, 0);

const quantile = (sorted, q) => {
  const p = (sorted.length - 1) * q, lo = Math.floor(p), hi = Math.ceil(p);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (p - lo);
};
/** Warm up, then time `fn` (sync or async) rep by rep until a time budget is used. */
export async function time(fn, { warmup = 3, minReps = 5, maxReps = 100, budgetMs = 3000 } = {}) {
  const w0 = performance.now();
  for (let i = 0; i < warmup; i++) {
    await fn();
    if (performance.now() - w0 > budgetMs / 2) break; // slow peers: at least one warm-up
  }
  const times = [];
  const t0 = performance.now();
  while (times.length < maxReps && (times.length < minReps || performance.now() - t0 < budgetMs)) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
    if (times.length >= 3 && performance.now() - t0 > 20 * budgetMs) break;
  }
  times.sort((a, b) => a - b);
  const r = (v) => Math.round(v * 1000) / 1000;
  return { median_ms: r(quantile(times, 0.5)), p10_ms: r(quantile(times, 0.1)), p90_ms: r(quantile(times, 0.9)), reps: times.length };
}

export const emit = (obj) => console.log(JSON.stringify(obj));
/** `extra` fields for a rep's median: GFLOP/s of an m×k by k×n product, µs per op of nOps ops. */
export const gflops = (m, n, k) => (t) => ({ gflops: Math.round((2 * m * n * k) / (t.median_ms * 1e6) * 100) / 100 });
export const perOp = (nOps) => (t) => ({ per_op_us: Math.round((t.median_ms * 1000) / nOps * 1000) / 1000 });
const round = (v, d = 6) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(d)) : v);

/**
 * Runs one workload: `make()` returns { fn, check } (set-up is not timed);
 * `fn` is one rep, ending with its results read back into JS; `check()` is
 * the sum of |results| of the last rep. Errors become a status line, and
 * so does `meta.unsupported` (a workload the peer has no API for).
 * Options: --filter REGEX and --budget MS on the command line.
 */
export async function run(meta, make) {
  const args = process.argv.slice(2);
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
  if (!new RegExp(opt('--filter', '.')).test(meta.workload)) return;
  const base = { peer: meta.peer, backend: meta.backend, workload: meta.workload };
  if (meta.unsupported) {
    emit({ ...base, status: 'unsupported', median_ms: null, p10_ms: null, p90_ms: null, reps: 0, note: meta.unsupported });
    return;
  }
  try {
    const { fn, check, note, extra = () => ({}) } = await make();
    const t = await time(fn, { budgetMs: Number(opt('--budget', 3000)) });
    emit({ ...base, status: 'ok', ...t, ...extra(t), check: round(check()), ...(note ? { note } : {}) });
  } catch (e) {
    const msg = String(e && e.message ? e.message : e).split('\n')[0].slice(0, 300);
    emit({ ...base, status: 'error', median_ms: null, p10_ms: null, p90_ms: null, reps: 0, error: msg, ...(meta.note ? { note: meta.note } : {}) });
  }
}
