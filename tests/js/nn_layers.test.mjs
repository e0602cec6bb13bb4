// Every nn layer: forward against a plain-JS reference (one small case per
// layer, with a float64 gradcheck by central differences on its parameters
// and input), and forward/backward against PyTorch 1.13
// (tests/fixtures/nn_layers.json, written by nn_layers.py). Also: BatchNorm's
// running statistics, Dropout, Sequential's single-call chain, memory.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as torch from '../../dist/index.js';
import { rng, normal, assertClose, numel } from './util.mjs';
import * as ref from './nn_ref.mjs';

const { nn } = torch;
const fixture = JSON.parse(readFileSync(new URL('../fixtures/nn_layers.json', import.meta.url), 'utf8'));

const ARR = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array };
const fromSpec = (s) => torch.tensor(ARR[s.dtype].from(s.data, (v) => +v), { shape: s.shape });
const camel = (s) => s.replace(/_(\w)/g, (_, c) => c.toUpperCase());
const PARAMETRIC = new Set(['Linear', 'Bilinear', 'Conv1d', 'Conv2d', 'ConvTranspose2d', 'BatchNorm1d', 'BatchNorm2d',
  'LayerNorm', 'GroupNorm', 'Embedding', 'MultiheadAttention']);
const asList = (o) => (Array.isArray(o) ? o : [o]).filter((t) => t !== null);
const TOL = { atol: 1e-10, rtol: 1e-8 };

/** Sets a module's tensor (parameter or buffer) to `data` in place. */
function setData(t, data) {
  const src = torch.tensor(ARR[t.dtype].from(data), { shape: t.shape });
  torch.noGrad(() => t.copy_(src));
  src.dispose();
}

// ---- PyTorch 1.13 fixture ---------------------------------------------------------

function buildFromCase(c) {
  const opts = {};
  for (const [k, v] of Object.entries(c.kwargs)) opts[camel(k)] = v;
  if (PARAMETRIC.has(c.layer)) opts.dtype = 'float64';
  const m = new nn[c.layer](...c.args, opts);
  m.train(c.training);
  for (const [name, spec] of Object.entries(c.params)) setData(m.getParameter(name), spec.data);
  for (const [name, spec] of Object.entries(c.buffers)) setData(m.getBuffer(name), spec.data);
  return m;
}

function runCase(m, c, inputs) {
  const fk = {};
  for (const [k, v] of Object.entries(c.forwardKwargs)) fk[camel(k)] = v && typeof v === 'object' && 'shape' in v ? fromSpec(v) : v;
  if (c.layer === 'ConvTranspose2d') return m.forward(...inputs, fk.outputSize ?? null);
  return Object.keys(fk).length ? m.forward(...inputs, fk) : m.forward(...inputs);
}

describe('layers against PyTorch 1.13', () => {
  assert.match(fixture.torch, /^1\.13/);
  for (const c of fixture.cases) {
    test(c.name, () => torch.scope(() => {
      const m = buildFromCase(c);
      const inputs = c.inputs.map((s) => {
        const t = fromSpec(s);
        return s.dtype.startsWith('float') ? t.requiresGrad_() : t;
      });
      // identical inputs stay one object (MultiheadAttention's self-attention path)
      const ins = inputs.map((t, i) => {
        const j = c.inputs.findIndex((s) => s === c.inputs[i] || (s.data.length === c.inputs[i].data.length && s.data.every((v, k) => v === c.inputs[i].data[k]) && String(s.shape) === String(c.inputs[i].shape)));
        return inputs[j];
      });
      const outs = asList(runCase(m, c, ins));
      assert.equal(outs.length, c.outputs.length, 'number of outputs');
      outs.forEach((o, k) => {
        assert.deepEqual(o.shape, c.outputs[k].shape, `output ${k} shape`);
        assertClose(o.toTypedArray(), c.outputs[k].data, { ...TOL, msg: `output ${k}` });
      });
      let loss = null;
      outs.forEach((o, k) => {
        const term = o.mul(fromSpec(c.cotangents[k])).sum();
        loss = loss ? loss.add(term) : term;
      });
      loss.backward();
      const floatIns = [...new Set(ins)].filter((t) => t.dtype === 'float64');
      const gIns = c.gradInputs.filter((g) => g !== null);
      // the fixture has one gradient per input position; shared inputs sum theirs
      if (floatIns.length === gIns.length) {
        floatIns.forEach((t, k) => assertClose(t.grad.toTypedArray(), gIns[k].data, { ...TOL, msg: `grad input ${k}` }));
      } else {
        const sum = new Float64Array(gIns[0].data.length);
        for (const g of gIns) g.data.forEach((v, i) => { sum[i] += v; });
        assertClose(floatIns[0].grad.toTypedArray(), sum, { ...TOL, msg: 'grad of the shared input' });
      }
      for (const [name, g] of Object.entries(c.gradParams)) {
        const p = m.getParameter(name);
        const got = p.grad ? p.grad.toTypedArray() : new Float64Array(numel(p.shape));
        assertClose(got, g.data, { ...TOL, msg: `grad ${name}` });
      }
      for (const [name, b] of Object.entries(c.buffersAfter))
        assertClose(m.getBuffer(name).toTypedArray(), b.data, { ...TOL, msg: `buffer ${name} after forward` });
    }));
  }
});

// ---- plain-JS references and gradchecks -------------------------------------------

function randData(shape, r, scale = 1) {
  return Float64Array.from({ length: numel(shape) }, () => scale * normal(r));
}

/**
 * Checks m.forward(...inputs) against `reference(inputsData, paramsData)`,
 * then gradchecks L = Σ out·cot w.r.t. every float input and parameter by
 * central differences.
 */
function checkLayer(name, m, inputSpecs, reference, { seed = 1, eps = 1e-6, gradTol = 1e-6, beforeEach = null, outputIndex = null, numericMask = {} } = {}) {
  const r = rng(seed);
  const inputsData = inputSpecs.map((s) => (s.data ? s : { ...s, data: randData(s.shape, r, s.scale ?? 1) }));
  const mkInputs = () => inputsData.map((s) => torch.tensor((s.dtype === 'int32' ? Int32Array : Float64Array).from(s.data), { shape: s.shape }));
  const params = m.namedParameters();
  const pick = (out) => (outputIndex === null ? out : out[outputIndex]);
  torch.scope(() => {
    // values
    const xs = mkInputs();
    if (beforeEach) beforeEach();
    const out = pick(m.forward(...xs));
    const expected = reference(inputsData.map((s) => ref.mk(s.shape, s.data)), Object.fromEntries(Object.entries(params).map(([k, p]) => [k, ref.mk(p.shape, p.toTypedArray())])));
    assert.deepEqual(out.shape, expected.shape, `${name}: output shape`);
    assertClose(out.toTypedArray(), expected.data, { atol: 1e-10, rtol: 1e-9, msg: `${name} vs reference` });
    // gradients
    const cot = torch.tensor(randData(out.shape, r), { shape: out.shape });
    const lossOf = (ins) => {
      if (beforeEach) beforeEach();
      return pick(m.forward(...ins)).mul(cot).sum();
    };
    const gin = xs.map((x) => (x.dtype === 'float64' ? x.requiresGrad_() : x));
    m.zeroGrad();
    lossOf(gin).backward();
    const targets = [
      ...gin.map((x, k) => ({ what: `input ${k}`, t: x, data: inputsData[k].data, set: null })).filter((e) => e.t.dtype === 'float64'),
      ...Object.entries(params).map(([k, p]) => ({ what: k, t: p, data: p.toTypedArray(), set: (d) => setData(p, d) })),
    ];
    for (const tg of targets) {
      const analytic = tg.t.grad ? tg.t.grad.toTypedArray() : new Float64Array(tg.data.length);
      const numeric = new Float64Array(tg.data.length);
      for (let i = 0; i < tg.data.length; i++) {
        const evalAt = (delta) => torch.scope(() => {
          const d = Float64Array.from(tg.data);
          d[i] += delta;
          let ins = mkInputs();
          if (tg.set) tg.set(d);
          else ins = ins.map((x, k) => (inputsData[k].data === tg.data ? torch.tensor(d, { shape: x.shape }) : x));
          const v = torch.noGrad(() => lossOf(ins)).item();
          if (tg.set) tg.set(tg.data);
          return v;
        });
        numeric[i] = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
      }
      if (numericMask[tg.what]) numericMask[tg.what](numeric);
      assertClose(analytic, numeric, { atol: gradTol, rtol: gradTol, msg: `${name}: d/d${tg.what}` });
    }
    m.zeroGrad();
  });
}

const P = (p) => p && p.data; // a reference parameter's data

describe('layers against plain-JS references, with gradchecks', () => {
  test('Linear', () => {
    const m = new nn.Linear(3, 2, { dtype: 'float64' });
    checkLayer('Linear', m, [{ shape: [2, 4, 3] }], ([x], p) => ref.linear(x, p.weight, p.bias));
    checkLayer('Linear no bias', new nn.Linear(3, 2, { bias: false, dtype: 'float64' }), [{ shape: [4, 3] }], ([x], p) => ref.linear(x, p.weight, null));
  });
  test('Bilinear', () => {
    checkLayer('Bilinear', new nn.Bilinear(3, 2, 2, { dtype: 'float64' }), [{ shape: [4, 3] }, { shape: [4, 2] }],
      ([a, b], p) => ref.bilinear(a, b, p.weight, p.bias));
  });
  test('Identity and Flatten', () => {
    checkLayer('Identity', new nn.Identity(54, 'ignored'), [{ shape: [2, 3] }], ([x]) => x);
    checkLayer('Flatten', new nn.Flatten(), [{ shape: [2, 3, 2] }], ([x]) => ref.mk([2, 6], x.data));
    checkLayer('Flatten(0, -2)', new nn.Flatten(0, -2), [{ shape: [2, 3, 2] }], ([x]) => ref.mk([6, 2], x.data));
  });
  test('Conv1d', () => {
    const m = new nn.Conv1d(2, 4, 3, { stride: 2, padding: 1, groups: 2, dtype: 'float64' });
    checkLayer('Conv1d', m, [{ shape: [2, 2, 7] }], ([x], p) => ref.conv1d(x, p.weight, p.bias, { stride: 2, padding: 1, groups: 2 }));
  });
  test('Conv2d', () => {
    const m = new nn.Conv2d(2, 3, [3, 2], { stride: [1, 2], padding: 1, dilation: [2, 1], dtype: 'float64' });
    checkLayer('Conv2d', m, [{ shape: [2, 2, 5, 6] }], ([x], p) => ref.conv2d(x, p.weight, p.bias, { stride: [1, 2], padding: [1, 1], dilation: [2, 1] }));
    const same = new nn.Conv2d(1, 2, 4, { padding: 'same', dtype: 'float64' }); // asymmetric: 1 before, 2 after
    checkLayer('Conv2d same', same, [{ shape: [1, 1, 4, 5] }], ([x], p) => {
      const [N, C, H, W] = x.shape, padded = ref.mk([N, C, H + 3, W + 3], new Float64Array(N * C * (H + 3) * (W + 3)));
      for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) padded.data[(i + 1) * (W + 3) + j + 1] = x.data[i * W + j];
      return ref.conv2d(padded, p.weight, p.bias);
    });
  });
  test('ConvTranspose2d', () => {
    const m = new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dtype: 'float64' });
    checkLayer('ConvTranspose2d', m, [{ shape: [1, 4, 3, 2] }],
      ([x], p) => ref.convTranspose2d(x, p.weight, p.bias, { stride: [2, 2], padding: [1, 1], outputPadding: [1, 1], groups: 2 }));
    const sized = new nn.ConvTranspose2d(1, 1, 3, { stride: 2, dtype: 'float64' });
    const x = torch.zeros([1, 1, 3, 3], { dtype: 'float64' });
    assert.deepEqual(sized.forward(x, [8, 8]).shape, [1, 1, 8, 8]);
    assert.deepEqual(sized.forward(x, [1, 1, 7, 7]).shape, [1, 1, 7, 7]);
    assert.throws(() => sized.forward(x, [9, 9]), { message: 'requested an output size of [9, 9], but valid sizes range from [7, 7] to [8, 8] (for an input of [3, 3])' });
  });
  test('MaxPool2d', () => {
    checkLayer('MaxPool2d', new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }), [{ shape: [1, 2, 6, 5] }],
      ([x]) => ref.maxPool2d(x, { k: [3, 3], s: [2, 2], p: [1, 1], ceil: true }));
    const withIdx = new nn.MaxPool2d(2, { returnIndices: true });
    const [v, idx] = withIdx.forward(torch.tensor([[[[1, 5], [7, 2]]]], { dtype: 'float64' }));
    assert.deepEqual(v.tolist(), [[[[7]]]]);
    assert.deepEqual(idx.tolist(), [[[[2]]]]);
    assert.equal(idx.dtype, 'int32');
  });
  test('AvgPool2d', () => {
    checkLayer('AvgPool2d', new nn.AvgPool2d(3, 2, 1, { ceilMode: true, countIncludePad: false }), [{ shape: [1, 2, 6, 5] }],
      ([x]) => ref.avgPool2d(x, { k: [3, 3], s: [2, 2], p: [1, 1], ceil: true, countIncludePad: false }));
    checkLayer('AvgPool2d divisor', new nn.AvgPool2d([2, 1], { divisorOverride: 3 }), [{ shape: [1, 1, 4, 3] }],
      ([x]) => ref.avgPool2d(x, { k: [2, 1], s: [2, 1], divisor: 3 }));
  });
  test('AdaptiveAvgPool2d', () => {
    checkLayer('AdaptiveAvgPool2d', new nn.AdaptiveAvgPool2d([2, 3]), [{ shape: [2, 1, 5, 7] }], ([x]) => ref.adaptiveAvgPool2d(x, [2, 3]));
    checkLayer('AdaptiveAvgPool2d None', new nn.AdaptiveAvgPool2d([null, 2]), [{ shape: [1, 2, 3, 5] }], ([x]) => ref.adaptiveAvgPool2d(x, [null, 2]));
  });
  test('BatchNorm1d / BatchNorm2d (train and eval)', () => {
    for (const [Cls, shape] of [[nn.BatchNorm1d, [5, 3]], [nn.BatchNorm1d, [4, 3, 2]], [nn.BatchNorm2d, [2, 3, 2, 3]]]) {
      const m = new Cls(3, { dtype: 'float64' });
      setData(m.weight, [0.5, 1.5, -1]);
      setData(m.bias, [0.1, 0, -0.2]);
      checkLayer(`${Cls.name} train`, m, [{ shape }], ([x], p) => ref.batchNorm(x, { weight: P(p.weight), bias: P(p.bias), training: true }).y);
      m.eval();
      setData(m.running_mean, [0.3, -0.2, 0.1]);
      setData(m.running_var, [0.5, 2, 1.2]);
      checkLayer(`${Cls.name} eval`, m, [{ shape }], ([x], p) =>
        ref.batchNorm(x, { weight: P(p.weight), bias: P(p.bias), runningMean: [0.3, -0.2, 0.1], runningVar: [0.5, 2, 1.2], training: false }).y);
    }
  });
  test('LayerNorm', () => {
    const m = new nn.LayerNorm([2, 3], { eps: 1e-3, dtype: 'float64' });
    setData(m.weight, [1, 2, 0.5, -1, 1.5, 0.3]);
    setData(m.bias, [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    checkLayer('LayerNorm', m, [{ shape: [3, 2, 3] }], ([x], p) => ref.layerNorm(x, 2, P(p.weight), P(p.bias), 1e-3));
  });
  test('GroupNorm', () => {
    const m = new nn.GroupNorm(2, 4, { dtype: 'float64' });
    setData(m.weight, [1, 2, 0.5, -1]);
    setData(m.bias, [0, 0.1, 0.2, 0.3]);
    checkLayer('GroupNorm', m, [{ shape: [2, 4, 3] }], ([x], p) => ref.groupNorm(x, 2, P(p.weight), P(p.bias)));
  });
  test('activations', () => {
    const x = [{ shape: [3, 4] }];
    checkLayer('ReLU', new nn.ReLU(), x, ([a]) => ref.map(a, ref.act.relu));
    checkLayer('LeakyReLU', new nn.LeakyReLU(0.2), x, ([a]) => ref.map(a, ref.act.leakyRelu(0.2)));
    checkLayer('GELU', new nn.GELU(), x, ([a]) => ref.map(a, ref.act.gelu));
    checkLayer('GELU tanh', new nn.GELU('tanh'), x, ([a]) => ref.map(a, ref.act.geluTanh));
    checkLayer('SiLU', new nn.SiLU(), x, ([a]) => ref.map(a, ref.act.silu));
    checkLayer('Tanh', new nn.Tanh(), x, ([a]) => ref.map(a, ref.act.tanh));
    checkLayer('Sigmoid', new nn.Sigmoid(), x, ([a]) => ref.map(a, ref.act.sigmoid));
    checkLayer('Softmax', new nn.Softmax(0), [{ shape: [3, 2, 2] }], ([a]) => ref.softmax(a, 0));
    checkLayer('LogSoftmax', new nn.LogSoftmax({ dim: -1 }), [{ shape: [3, 2, 4] }], ([a]) => ref.softmax(a, -1, true));
  });
  test('in-place activations write into their input', () => {
    const x = torch.tensor([-1, 2, -3], { dtype: 'float64' });
    const y = new nn.ReLU(true).forward(x);
    assert.deepEqual(x.tolist(), [0, 2, 0]);
    assert.deepEqual(y.tolist(), [0, 2, 0]);
    const z = torch.tensor([-1, 2], { dtype: 'float64' });
    new nn.LeakyReLU(0.5, true).forward(z);
    assert.deepEqual(z.tolist(), [-0.5, 2]);
  });
  test('Embedding', () => {
    const m = new nn.Embedding(5, 3, { paddingIdx: 1, dtype: 'float64' });
    const idx = { shape: [2, 3], dtype: 'int32', data: [0, 1, 4, 4, 2, 1] };
    // by definition the padding row gets no gradient (not the true derivative)
    checkLayer('Embedding', m, [idx], ([i], p) => ref.embedding(i, p.weight), { numericMask: { weight: (g) => g.fill(0, 3, 6) } });
    // the padding row gets no gradient
    const w = torch.scope(() => {
      m.zeroGrad();
      m.forward(torch.tensor(new Int32Array([1, 1, 2]), { shape: [3] })).sum().backward();
      return m.weight.grad.tolist();
    });
    assert.deepEqual(w[1], [0, 0, 0]);
    assert.deepEqual(w[2], [1, 1, 1]);
  });
  test('MultiheadAttention', () => {
    const m = new nn.MultiheadAttention(4, 2, { dtype: 'float64' });
    const r = rng(5);
    setData(m.in_proj_bias, randData([12], r, 0.3));
    setData(m.out_proj.bias, randData([4], r, 0.3));
    const mask = [0, -1, 0.5, 0.2, 0, -0.3];
    const maskT = () => torch.tensor(new Float64Array(mask), { shape: [2, 3] });
    const fwd = (q, k, v) => m.forward(q, k, v, { attnMask: maskT() });
    const proxy = { namedParameters: () => m.namedParameters(), zeroGrad: () => m.zeroGrad(), forward: fwd };
    const refOf = ([q, k, v], p) => ref.mha(q, k, v, {
      inW: p.in_proj_weight, inB: p.in_proj_bias, outW: p['out_proj.weight'], outB: p['out_proj.bias'], H: 2, mask: ref.mk([2, 3], mask),
    });
    const specs = [{ shape: [2, 2, 4] }, { shape: [3, 2, 4] }, { shape: [3, 2, 4] }];
    checkLayer('MultiheadAttention output', proxy, specs, (ins, p) => refOf(ins, p).out, { outputIndex: 0 });
    checkLayer('MultiheadAttention weights', proxy, specs, (ins, p) => refOf(ins, p).weights, { outputIndex: 1 });
  });
  test('Dropout', () => {
    checkLayer('Dropout eval', new nn.Dropout(0.3).eval(), [{ shape: [3, 4] }], ([x]) => x);
    // training: the same seed before every forward gives the same mask, so
    // the gradient is checkable; the reference applies that mask
    const mask = torch.scope(() => { torch.manualSeed(5); return new nn.Dropout(0.3).forward(torch.ones([3, 4], { dtype: 'float64' })).toTypedArray(); });
    assert.ok(mask.some((v) => v === 0) && mask.some((v) => v > 1));
    checkLayer('Dropout train', new nn.Dropout(0.3), [{ shape: [3, 4] }], ([x]) => ref.mk(x.shape, x.data.map((v, i) => v * mask[i])),
      { beforeEach: () => torch.manualSeed(5) });
  });
  test('Sequential of layers', () => {
    const s = new nn.Sequential(new nn.Linear(3, 4, { dtype: 'float64' }), new nn.Tanh(), new nn.Linear(4, 2, { dtype: 'float64' }));
    checkLayer('Sequential', s, [{ shape: [5, 3] }], ([x], p) =>
      ref.linear(ref.map(ref.linear(x, p['0.weight'], p['0.bias']), Math.tanh), p['2.weight'], p['2.bias']));
  });
});

// ---- behaviour ------------------------------------------------------------------

test('BatchNorm updates running statistics in training mode, as PyTorch', () => {
  const bn = new nn.BatchNorm1d(2, { dtype: 'float64' });
  const x = torch.full([4, 2], 128, { dtype: 'float64' });
  torch.scope(() => bn.forward(x));
  assertClose(bn.running_mean.toTypedArray(), [12.8, 12.8], { atol: 1e-12 });
  assertClose(bn.running_var.toTypedArray(), [0.9, 0.9], { atol: 1e-12 });
  assert.equal(bn.num_batches_tracked.item(), 1);
  torch.scope(() => bn.forward(x));
  assertClose(bn.running_mean.toTypedArray(), [24.32, 24.32], { atol: 1e-12 });
  assertClose(bn.running_var.toTypedArray(), [0.81, 0.81], { atol: 1e-12 });
  assert.equal(bn.num_batches_tracked.item(), 2);
  // momentum null: a cumulative average over the batches seen
  const cum = new nn.BatchNorm1d(1, { momentum: null, dtype: 'float64' });
  for (const v of [[1, 3], [5, 7], [0, 0]]) torch.scope(() => cum.forward(torch.tensor([[v[0]], [v[1]]], { dtype: 'float64' })));
  assertClose(cum.running_mean.toTypedArray(), [(2 + 6 + 0) / 3], { atol: 1e-12 });
  assertClose(cum.running_var.toTypedArray(), [(2 + 2 + 0) / 3], { atol: 1e-12 });
  assert.equal(cum.num_batches_tracked.item(), 3);
  // eval uses and keeps the running statistics
  bn.eval();
  const y = torch.scope(() => bn.forward(torch.tensor([[24.32, 0]], { dtype: 'float64' })).tolist());
  assertClose(y[0], [0, -24.32 / Math.sqrt(0.81 + 1e-5)], { atol: 1e-9 });
  assert.equal(bn.num_batches_tracked.item(), 2);
  // without running statistics, eval mode normalises with the batch's
  const free = new nn.BatchNorm1d(1, { trackRunningStats: false, affine: false, dtype: 'float64' }).eval();
  const z = free.forward(torch.tensor([[1], [3]], { dtype: 'float64' })).toTypedArray();
  assertClose(z, [-1 / Math.sqrt(1 + 1e-5), 1 / Math.sqrt(1 + 1e-5)], { atol: 1e-12 });
  assert.throws(() => bn.forward(torch.zeros([2, 2, 2, 2])), { message: 'expected 2D or 3D input (got 4D input)' });
  assert.throws(() => new nn.BatchNorm2d(2).forward(torch.zeros([2, 2])), { message: 'expected 4D input (got 2D input)' });
});

test('Dropout: identity in eval, zeroes ~p and scales by 1/(1-p) in training', () => {
  const d = new nn.Dropout(0.25);
  const x = torch.ones([4000], { dtype: 'float64' });
  torch.manualSeed(11);
  const y = d.forward(x).toTypedArray();
  const zeros = y.filter((v) => v === 0).length;
  assert.ok(Math.abs(zeros / 4000 - 0.25) < 0.03, `dropped ${zeros}`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-12));
  torch.manualSeed(11);
  assert.deepEqual(Array.from(d.forward(x).toTypedArray()), Array.from(y), 'manualSeed makes it reproducible');
  d.eval();
  assert.deepEqual(Array.from(d.forward(x).toTypedArray()), Array.from(x.toTypedArray()));
  d.train();
  assert.ok(new nn.Dropout(0).forward(x).toTypedArray().every((v) => v === 1));
  assert.ok(new nn.Dropout(1).forward(x).toTypedArray().every((v) => v === 0));
});

test('MultiheadAttention options: batchFirst, masks, needWeights, unbatched', () => {
  torch.manualSeed(2);
  const m = new nn.MultiheadAttention(4, 2, { dtype: 'float64' });
  const bf = new nn.MultiheadAttention(4, 2, { batchFirst: true, dtype: 'float64' });
  bf.loadStateDict(m.stateDict());
  const x = torch.randn([3, 2, 4], { dtype: 'float64' });
  const [o1, w1] = m.forward(x, x, x);
  const xb = x.transpose(0, 1);
  const [o2, w2] = bf.forward(xb, xb, xb);
  assertClose(o2.transpose(0, 1).contiguous().toTypedArray(), o1.toTypedArray(), { atol: 1e-12 });
  assertClose(w2.toTypedArray(), w1.toTypedArray(), { atol: 1e-12 });
  assert.deepEqual(w1.shape, [2, 3, 3]);
  const [, wh] = m.forward(x, x, x, { averageAttnWeights: false });
  assert.deepEqual(wh.shape, [2, 2, 3, 3]);
  const [o3, none] = m.forward(x, x, x, { needWeights: false });
  assert.equal(none, null);
  assertClose(o3.toTypedArray(), o1.toTypedArray(), { atol: 1e-12 });
  // a key masked by keyPaddingMask gets zero weight
  const kpm = torch.tensor(new Uint8Array([0, 1, 0, 0, 0, 0]), { shape: [2, 3] });
  const [, wk] = m.forward(x, x, x, { keyPaddingMask: kpm });
  assert.ok(wk.tolist()[0].every((row) => row[1] === 0));
  // unbatched input equals the batch of one
  const u = x.select(1, 0);
  const [ou, wu] = m.forward(u, u, u);
  assert.deepEqual(ou.shape, [3, 4]);
  assertClose(ou.toTypedArray(), o1.select(1, 0).contiguous().toTypedArray(), { atol: 1e-12 });
  assertClose(wu.toTypedArray(), w1.select(0, 0).contiguous().toTypedArray(), { atol: 1e-12 });
  assert.throws(() => m.forward(x, x.select(1, 0), x), /For batched \(3-D\) `query`, expected `key` and `value` to be 3-D but found 2-D and 3-D tensors respectively/);
  assert.throws(() => m.forward(x, x, x, { attnMask: torch.zeros([2, 3]) }), /The shape of the 2D attn_mask is \[2, 3\], but should be \(3, 3\)\./);
});

test('every layer\'s forward checks its input: a TorchError naming the layer and the argument, nothing left behind', () => {
  const layers = [
    new nn.Linear(3, 2), new nn.Conv1d(1, 1, 1), new nn.Conv2d(1, 1, 1), new nn.ConvTranspose2d(1, 1, 1), new nn.MaxPool2d(2),
    new nn.AvgPool2d(2), new nn.AdaptiveAvgPool2d(1), new nn.BatchNorm1d(3), new nn.BatchNorm2d(3), new nn.LayerNorm(3),
    new nn.GroupNorm(1, 3), new nn.Embedding(4, 3), new nn.Dropout(), new nn.ReLU(), new nn.LeakyReLU(), new nn.GELU(),
    new nn.SiLU(), new nn.Tanh(), new nn.Sigmoid(), new nn.Softmax(1), new nn.LogSoftmax(), new nn.Flatten(),
  ];
  class MyLinear extends nn.Linear {}
  const bil = new nn.Bilinear(3, 3, 2), mha = new nn.MultiheadAttention(4, 2), mine = new MyLinear(3, 2);
  const seq = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU());
  const byName = (n) => layers.find((m) => m.constructor.name === n);
  const x = torch.ones([2, 3]), q = torch.ones([3, 4]), img = torch.ones([1, 1, 2, 2]);
  const bad = [[null, 'null'], [undefined, 'undefined'], ['x', "'x'"], [Symbol('s'), 'Symbol\\(s\\)'], [2n, '2n'],
    [{}, 'an object \\(Object\\)'], [[1, 2], 'an array of length 2']];
  const before = torch.memory().tensors;
  for (const m of layers) {
    const name = m.constructor.name;
    for (const [v, shown] of bad) {
      const re = new RegExp(`^${name}\\.forward\\(\\): argument 'input' must be a Tensor, got ${shown}$`);
      assert.throws(() => m.forward(v), (e) => e instanceof torch.TorchError && re.test(e.message), `${name}.forward(${shown})`);
    }
  }
  assert.throws(() => bil.forward(x, 'y'), { name: 'TorchError', message: "Bilinear.forward(): argument 'input2' must be a Tensor, got 'y'" });
  assert.throws(() => mha.forward(q, 5, q), { name: 'TorchError', message: "MultiheadAttention.forward(): argument 'key' must be a Tensor, got 5" });
  assert.throws(() => mha.forward(q, q, new Float32Array(4)),
    { message: "MultiheadAttention.forward(): argument 'value' must be a Tensor, got a Float32Array of length 4" });
  // Flatten calls a Tensor method, so a typed array is refused there; BatchNorm reads one as 1-D
  assert.throws(() => byName('Flatten').forward(new Float32Array(2)),
    { message: "Flatten.forward(): argument 'input' must be a Tensor, got a Float32Array of length 2" });
  assert.throws(() => byName('BatchNorm1d').forward(new Float32Array(3)), { message: 'expected 2D or 3D input (got 1D input)' });
  assert.throws(() => byName('ConvTranspose2d').forward(img, 'big'),
    { message: "ConvTranspose2d.forward(): output_size must be an array of integers, got 'big'" });
  // a Sequential leaves the check to its first layer; subclasses are named as themselves
  assert.throws(() => seq.forward(null), { message: "Linear.forward(): argument 'input' must be a Tensor, got null" });
  assert.throws(() => mine.forward(null), { message: "MyLinear.forward(): argument 'input' must be a Tensor, got null" });
  assert.equal(torch.memory().tensors, before, 'the throws left no tensors');
  // Identity takes anything, as PyTorch's
  assert.equal(new nn.Identity().forward('anything'), 'anything');
  // typed arrays still go through the layers nn.functional serves, as 1-D tensors
  const y = byName('Linear').forward(new Float32Array([1, 2, 3]));
  assert.deepEqual(y.shape, [2]);
  const r = new nn.Sequential(new nn.Tanh(), new nn.ReLU()).forward(new Float32Array([-1, 1]));
  assert.deepEqual(r.shape, [2]);
  assert.equal(r.toTypedArray()[0], 0);
  for (const t of [x, q, img, y, r]) t.dispose();
  for (const m of [...layers, bil, mha, mine, seq]) for (const t of [...m.parameters(), ...m.buffers()]) t.dispose();
});

test('layers compose with eager autograd and float32', () => {
  const net = new nn.Sequential(new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(),
    new nn.Linear(4 * 4 * 4, 3), new nn.LogSoftmax(1));
  const x = torch.randn([2, 1, 8, 8]);
  const out = net.forward(x);
  assert.deepEqual(out.shape, [2, 3]);
  assert.equal(out.dtype, 'float32');
  out.sum().backward();
  for (const p of net.parameters()) assert.deepEqual(p.grad.shape, p.shape);
  net.zeroGrad();
});

test('repeated forward/backward inside torch.scope leaks no tensors', () => {
  const net = new nn.Sequential(new nn.Linear(6, 8), new nn.LayerNorm(8), new nn.GELU(), new nn.Dropout(0.1), new nn.Linear(8, 2));
  const bn = new nn.BatchNorm1d(2);
  const mha = new nn.MultiheadAttention(4, 2);
  const conv = new nn.Sequential(new nn.Conv2d(2, 2, 3), new nn.BatchNorm2d(2), new nn.AvgPool2d(2), new nn.GroupNorm(1, 2),
    new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(2, 2));
  const bil = new nn.Bilinear(2, 3, 2);
  const emb = new nn.Embedding(5, 4, { paddingIdx: 0 });
  const x = torch.randn([4, 6]), q = torch.randn([3, 2, 4]), img = torch.randn([2, 2, 6, 6]);
  const idx = torch.tensor(new Int32Array([0, 1, 2, 4]), { shape: [4] });
  const step = () => torch.scope(() => {
    const y = bn.forward(net.forward(x)).sum();
    const [a, w] = mha.forward(q, q, q);
    const c = conv.forward(img);
    const b = bil.forward(c, x.narrow(1, 0, 3).narrow(0, 0, 2)).sum();
    y.add(a.sum()).add(w.sum()).add(b).add(emb.forward(idx).sum()).backward();
    for (const m of [net, bn, mha, conv, emb, bil]) m.zeroGrad();
  });
  step();
  const n0 = torch.memory().tensors;
  for (let i = 0; i < 10; i++) step();
  assert.equal(torch.memory().tensors, n0);
});

// ---- Sequential: one call into WebAssembly ------------------------------------------

import { rt } from '../../dist/runtime.js';

/** Runs fn counting the calls made into WebAssembly. */
function countCalls(fn) {
  const orig = rt.ex;
  let calls = 0;
  // the exports object is frozen: count through a copy whose functions count
  rt.ex = Object.fromEntries(Object.entries(orig).map(([k, v]) =>
    [k, typeof v === 'function' ? (...a) => { calls++; return v(...a); } : v]));
  try {
    const result = fn();
    return [result, calls];
  } finally {
    rt.ex = orig;
  }
}

/** Copies every parameter and buffer of `src` into `dst` (same architecture). */
const cloneState = (dst, src) => dst.loadStateDict(src.stateDict());

test('a Sequential of built-in layers runs its forward in one call into WebAssembly', () => {
  const make = () => new nn.Sequential(
    new nn.Conv2d(1, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(4, 4, 3, { padding: 'same', paddingMode: 'reflect' }), new nn.GELU(), new nn.AvgPool2d(2),
    new nn.Flatten(), new nn.Linear(16, 8), new nn.LayerNorm(8), new nn.Dropout(0.2), new nn.Tanh(), new nn.Linear(8, 3),
    new nn.LogSoftmax(1));
  const net = make();
  const x = torch.randn([2, 1, 8, 8]);
  torch.scope(() => net.forward(x)); // warm-up (lazy initialisation, pools)
  for (const training of [true, false]) {
    net.train(training);
    const [y, calls] = countCalls(() => net.forward(x));
    assert.equal(calls, 1, `one crossing (training=${training})`);
    assert.deepEqual(y.shape, [2, 3]);
    y.dispose();
  }
  // the same values and gradients as the layers' own forwards, one by one
  net.eval();
  const eager = make().eval();
  cloneState(eager, net);
  eager._descs = () => null; // force the layer-by-layer path
  torch.scope(() => {
    const a = net.forward(x), b = eager.forward(x);
    assertClose(a.toTypedArray(), b.toTypedArray(), { atol: 1e-6 });
    a.sum().backward();
    b.sum().backward();
    const pa = net.parameters(), pb = eager.parameters();
    pa.forEach((p, i) => assertClose(p.grad.toTypedArray(), pb[i].grad.toTypedArray(), { atol: 1e-5, msg: `grad ${i}` }));
  });
  net.zeroGrad();
  eager.zeroGrad();
});

describe('the chain computes what each layer\'s forward computes', () => {
  const f64 = { dtype: 'float64' };
  const cases = [
    ['Linear', () => new nn.Linear(4, 3, f64), [3, 4]],
    ['Linear no bias', () => new nn.Linear(4, 3, { bias: false, ...f64 }), [2, 5, 4]],
    ['Conv1d same reflect', () => new nn.Conv1d(2, 3, 4, { padding: 'same', paddingMode: 'reflect', ...f64 }), [2, 2, 7]],
    ['Conv1d groups', () => new nn.Conv1d(4, 2, 3, { stride: 2, padding: 1, dilation: 2, groups: 2, ...f64 }), [1, 4, 9]],
    ['Conv2d', () => new nn.Conv2d(2, 3, 3, { stride: 2, padding: [1, 0], ...f64 }), [2, 2, 6, 5]],
    ['Conv2d same even kernel', () => new nn.Conv2d(2, 2, [2, 4], { padding: 'same', ...f64 }), [1, 2, 5, 6]],
    ['Conv2d circular', () => new nn.Conv2d(2, 2, 3, { padding: 2, paddingMode: 'circular', ...f64 }), [1, 2, 4, 4]],
    ['Conv2d replicate', () => new nn.Conv2d(2, 2, 3, { padding: [1, 2], paddingMode: 'replicate', ...f64 }), [1, 2, 4, 4]],
    ['ConvTranspose2d', () => new nn.ConvTranspose2d(4, 2, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dilation: 1, ...f64 }), [2, 4, 3, 3]],
    ['MaxPool2d', () => new nn.MaxPool2d(3, { stride: 2, padding: 1, dilation: 1, ceilMode: true }), [1, 2, 7, 6]],
    ['AvgPool2d', () => new nn.AvgPool2d(3, 2, 1, { ceilMode: true, countIncludePad: false, divisorOverride: null }), [1, 2, 7, 6]],
    ['AvgPool2d divisor', () => new nn.AvgPool2d(2, { divisorOverride: 3 }), [1, 1, 4, 4]],
    ['AdaptiveAvgPool2d', () => new nn.AdaptiveAvgPool2d([null, 3]), [2, 2, 4, 7]],
    ['BatchNorm1d train', () => new nn.BatchNorm1d(3, f64), [4, 3]],
    ['BatchNorm1d momentum null', () => new nn.BatchNorm1d(3, { momentum: null, ...f64 }), [4, 3, 2]],
    ['BatchNorm2d eval', () => new nn.BatchNorm2d(3, { momentum: 0.3, ...f64 }).eval(), [2, 3, 2, 2]],
    ['BatchNorm2d no running stats', () => new nn.BatchNorm2d(3, { trackRunningStats: false, ...f64 }).eval(), [2, 3, 2, 2]],
    ['LayerNorm', () => new nn.LayerNorm([2, 3], f64), [4, 2, 3]],
    ['GroupNorm', () => new nn.GroupNorm(2, 4, { affine: false, ...f64 }), [2, 4, 3]],
    ['Dropout eval', () => new nn.Dropout(0.5).eval(), [3, 4]],
    ['ReLU', () => new nn.ReLU(), [3, 4]],
    ['LeakyReLU', () => new nn.LeakyReLU(0.3), [3, 4]],
    ['GELU tanh', () => new nn.GELU('tanh'), [3, 4]],
    ['SiLU', () => new nn.SiLU(), [3, 4]],
    ['Sigmoid', () => new nn.Sigmoid(), [3, 4]],
    ['Softmax', () => new nn.Softmax(0), [3, 4]],
    ['Flatten', () => new nn.Flatten(0, 1), [2, 3, 4]],
    ['Identity', () => new nn.Identity(), [2, 2]],
  ];
  for (const [name, make, shape] of cases) {
    test(name, () => torch.scope(() => {
      torch.manualSeed(4);
      const a = make(), b = make();
      for (const p of a.parameters()) torch.noGrad(() => p.normal_());
      for (const [k, t] of Object.entries(a.namedBuffers())) if (t.dtype !== 'int32') torch.noGrad(() => t.uniform_(0.5, 1.5)); else void k;
      cloneState(b, a);
      b.train(a.training);
      const chain = new nn.Sequential(a, new nn.Identity());
      const x = torch.randn(shape, f64).requiresGrad_();
      assert.ok(chain._descs(), 'the chain knows the layer');
      const ya = chain.forward(x);
      const yb = b.forward(x);
      assert.deepEqual(ya.shape, yb.shape);
      assertClose(ya.toTypedArray(), yb.toTypedArray(), { atol: 1e-12, rtol: 1e-10 });
      const [ga] = [ya.mul(ya).sum()];
      ga.backward();
      const gx = x.grad.toTypedArray();
      x.zeroGrad_();
      yb.mul(yb).sum().backward();
      assertClose(gx, x.grad.toTypedArray(), { atol: 1e-12, rtol: 1e-10, msg: 'input grad' });
      const pa = a.parameters(), pb = b.parameters();
      pa.forEach((p, i) => assertClose(p.grad.toTypedArray(), pb[i].grad.toTypedArray(), { atol: 1e-12, rtol: 1e-10 }));
      const ba = a.namedBuffers(), bb = b.namedBuffers();
      for (const k of Object.keys(ba)) assertClose(ba[k].toTypedArray(), bb[k].toTypedArray(), { atol: 1e-12, msg: `buffer ${k}` });
    }));
  }
  test('Embedding and training-mode Dropout (same seed)', () => torch.scope(() => {
    const e = new nn.Embedding(6, 3, { paddingIdx: 2, ...f64 });
    const idx = torch.tensor(new Int32Array([0, 2, 5, 2]), { shape: [2, 2] });
    const chained = new nn.Sequential(e, new nn.Dropout(0.4));
    torch.manualSeed(9);
    const ya = chained.forward(idx);
    chained._descs = () => null;
    torch.manualSeed(9);
    const yb = chained.forward(idx);
    assert.deepEqual(Array.from(ya.toTypedArray()), Array.from(yb.toTypedArray()));
  }));
  test('layers the chain cannot run make Sequential fall back', () => {
    assert.equal(new nn.Sequential(new nn.ReLU(true), new nn.Tanh())._descs(), null);
    assert.equal(new nn.Sequential(new nn.Softmax(), new nn.Tanh())._descs(), null);
    assert.equal(new nn.Sequential(new nn.MaxPool2d(2, { returnIndices: true }), new nn.Tanh())._descs(), null);
    assert.equal(new nn.Sequential(new nn.LayerNorm(3, { elementwiseAffine: false }), new nn.Tanh())._descs(), null);
    assert.equal(new nn.Sequential(new nn.Linear(2, 2), new nn.MultiheadAttention(2, 1))._descs(), null);
    class Custom extends nn.Module { forward(x) { return x.mul(2); } }
    const s = new nn.Sequential(new nn.Linear(2, 2, f64), new Custom());
    assert.equal(s._descs(), null);
    const x = torch.ones([1, 2], f64);
    assertClose(s.forward(x).toTypedArray(), s.get(0).forward(x).mul(2).toTypedArray(), { atol: 1e-12 });
  });
  test('errors inside the chain are the layers\' own', () => {
    const s = new nn.Sequential(new nn.Linear(3, 2), new nn.BatchNorm1d(2));
    assert.throws(() => s.forward(torch.zeros([4, 5])), /mat1 and mat2 shapes cannot be multiplied|shape/);
    const t = new nn.Sequential(new nn.Identity(), new nn.BatchNorm2d(2));
    assert.throws(() => t.forward(torch.zeros([4, 2])), { message: 'expected 4D input (got 2D input)' });
  });
  test('a parametrized layer in a Sequential: the chain sees the parametrized weight, nothing leaks', () => {
    class Double extends nn.Module { forward(X) { return X.mul(2); } }
    const s = new nn.Sequential(new nn.Linear(2, 2, f64), new nn.ReLU());
    const x = torch.tensor([[1, -1]], f64);
    const before = torch.scope(() => s.forward(x).tolist());
    nn.utils.parametrize.registerParametrization(s.get(0), 'weight', new Double());
    const w = s.get(0).parametrizations.weight.original.tolist();
    const b = s.get(0).bias.tolist();
    const expect = [0, 1].map((o) => Math.max(0, 2 * (w[o][0] - w[o][1]) + b[o]));
    const n0 = torch.memory().tensors;
    const y = s.forward(x);
    assertClose(y.toTypedArray(), expect, { atol: 1e-12 });
    y.dispose();
    assert.equal(torch.memory().tensors, n0);
    void before;
  });
});
