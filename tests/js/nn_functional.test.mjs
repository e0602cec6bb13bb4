// torch.F beyond the generic case tables: PyTorch 1.13 fixtures (values and
// gradients), options and their spellings, errors by message, every loss
// reduction, dropout's randomness, batch norm's running statistics, the
// built-in layer chain (one call into WebAssembly per forward), float32,
// and memory (no tensor outlives a call, also on error paths).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as torch from '../../dist/index.js';
import { rt } from '../../dist/runtime.js';
import { runChain, LAYER } from '../../dist/nn/chain.js';
import { assertClose, rng, initValues } from './util.mjs';
import { conv2dRef, linearRef, maxPool2dRef } from './cases/nn.mjs';

const { F } = torch;
const f64 = (v, shape) => torch.tensor(v, { dtype: 'float64', ...(shape ? { shape } : {}) });
const throwsTorch = (fn, re) => assert.throws(fn, (e) => e instanceof torch.TorchError && re.test(e.message), `expected ${re}`);
const live = () => torch.memory().tensors;
const randn = (shape, seed = 1, dtype = 'float64') => {
  const n = shape.reduce((a, b) => a * b, 1);
  return torch.tensor(initValues(n, 'normal', rng(seed)), { dtype, shape });
};
const plain = (t) => ({ shape: t.shape, data: t.toTypedArray() });

// ---- PyTorch fixtures ------------------------------------------------------------

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/nn_functional.json', import.meta.url), 'utf8'));

const isEnc = (v) => v && typeof v === 'object' && !Array.isArray(v) && 'shape' in v && 'dtype' in v && 'data' in v;
const dec = (v) => (isEnc(v) ? torch.tensor(v.dtype === 'int32' ? Int32Array.from(v.data) : Float64Array.from(v.data), { shape: v.shape }) : v);

for (const c of fixtures.cases) {
  test(`PyTorch ${fixtures.torch}: ${c.name}`, () => {
    const before = live();
    torch.scope(() => {
      const args = c.args.map(dec);
      const wants = Object.keys(c.grads ?? {}).map(Number);
      for (const i of wants) args[i].requiresGrad_();
      const kwargs = Object.fromEntries(Object.entries(c.kwargs).map(([k, v]) => [k, dec(v)]));
      const res = F[c.fn](...args, kwargs);
      const outs = Array.isArray(res) ? res : [res];
      const wantOuts = Array.isArray(c.out) ? c.out : [c.out];
      outs.forEach((o, k) => {
        assert.deepEqual(o.shape, wantOuts[k].shape, `${c.name}: output ${k} shape`);
        assertClose(o.toTypedArray(), wantOuts[k].data, { atol: 1e-10, rtol: 1e-9, msg: `${c.name}: output ${k}` });
      });
      for (const [i, v] of Object.entries(c.after ?? {}))
        assertClose(args[i].toTypedArray(), v.data, { atol: 1e-12, rtol: 1e-10, msg: `${c.name}: argument ${i} after the call` });
      if (wants.length) {
        outs[0].mul(dec(c.cotangent)).sum().backward();
        for (const i of wants) {
          const g = args[i].grad;
          assert.ok(g, `${c.name}: argument ${i} has a gradient`);
          assertClose(g.toTypedArray(), c.grads[i].data, { atol: 1e-9, rtol: 1e-8, msg: `${c.name}: d/d(argument ${i})` });
        }
      }
    });
    assert.equal(live(), before, `${c.name}: tensors leaked`);
  });
}

// ---- convolutions ------------------------------------------------------------------

test('conv2d: positional and option spellings agree; padding valid / same', () => torch.scope(() => {
  const x = randn([1, 2, 5, 6], 2), w = randn([3, 2, 3, 3], 3), b = randn([3], 4);
  const a = F.conv2d(x, w, b, 2, 1), c = F.conv2d(x, w, b, { stride: [2, 2], padding: [1, 1] });
  assertClose(a.toTypedArray(), c.toTypedArray(), { atol: 0, rtol: 0 });
  assertClose(a.toTypedArray(), conv2dRef(plain(x), plain(w), plain(b), [2, 2], [1, 1]).data, { atol: 1e-12 });
  assert.deepEqual(F.conv2d(x, w, null, { padding: 'valid' }).shape, [1, 3, 3, 4]);
  assert.deepEqual(F.conv2d(x, w, null, { padding: 'same', dilation: 2 }).shape, [1, 3, 5, 6]);
  assert.deepEqual(F.conv1d(randn([2, 4]), randn([3, 2, 2]), null, { padding: 'same' }).shape, [3, 4]);
}));

test('conv2d errors are PyTorch\'s', () => { const before = live(); torch.scope(() => {
  const x = torch.zeros([32, 3, 28, 28]), w = torch.zeros([8, 1, 3, 3]);
  throwsTorch(() => F.conv2d(x, w), /^Given groups=1, weight of size \[8, 1, 3, 3\], expected input\[32, 3, 28, 28\] to have 1 channels, but got 3 channels instead$/);
  throwsTorch(() => F.conv2d(torch.zeros([1, 1, 2, 2]), w),
    /^Calculated padded input size per channel: \(2 x 2\)\. Kernel size: \(3 x 3\)\. Kernel size can't be greater than actual input size$/);
  throwsTorch(() => F.conv2d(torch.zeros([1, 1, 5, 5]), w, torch.zeros([7])),
    /expected bias to be 1-dimensional with 8 elements, but got bias of size \[7\] instead/);
  throwsTorch(() => F.conv2d(torch.zeros([1, 1, 5, 5]), w, null, { stride: 2, padding: 'same' }), /padding='same' is not supported for strided convolutions/);
  throwsTorch(() => F.conv2d(torch.zeros([1, 1, 5, 5]), w, null, { padding: 'foo' }), /Invalid padding string: 'foo'/);
  throwsTorch(() => F.conv2d(torch.zeros([1, 1, 5, 5]), w, null, { stride: [1, 1, 1] }),
    /expected stride to be a single integer value or a list of 2 values to match the convolution dimensions, but got stride=\[1, 1, 1\]/);
  throwsTorch(() => F.conv2d(torch.zeros([5, 5]), w), /Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, but got input of size: \[5, 5\]/);
  throwsTorch(() => F.conv2d(torch.zeros([1, 1, 5, 5]), w.double()), /expected scalar type Float but found Double/);
  throwsTorch(() => F.conv2d(torch.zeros([1, 4, 5, 5]), torch.zeros([9, 2, 3, 3]), null, { groups: 2 }),
    /Given groups=2, expected weight to be divisible by 2 at dimension 0, but got weight of size \[\[9, 2, 3, 3\]\] instead/);
  throwsTorch(() => F.convTranspose2d(torch.zeros([1, 2, 5, 5]), torch.zeros([2, 3, 3, 3]), null, { stride: 2, outputPadding: 2 }),
    /output padding must be smaller than either stride or dilation/);
  throwsTorch(() => F.conv1d(torch.zeros([1, 1, 5]), torch.zeros([8, 2, 3])),
    /Given groups=1, weight of size \[8, 2, 3\], expected input\[1, 1, 5\] to have 2 channels, but got 1 channels instead/);
}); assert.equal(live(), before); });

test('float32 convolution and pooling agree with the float64 reference', () => torch.scope(() => {
  const x = randn([2, 3, 9, 8], 5, 'float32'), w = randn([4, 3, 3, 3], 6, 'float32'), b = randn([4], 7, 'float32');
  const y = F.conv2d(x, w, b, { padding: 1 });
  assert.equal(y.dtype, 'float32');
  assertClose(y.toTypedArray(), conv2dRef(plain(x), plain(w), plain(b), [1, 1], [1, 1]).data, { atol: 1e-5, rtol: 1e-5 });
  const [v, i] = F.maxPool2d(y, 2, { returnIndices: true });
  const [rv, ri] = maxPool2dRef(plain(y), [2, 2], [2, 2]);
  assertClose(v.toTypedArray(), rv.data, { atol: 0, rtol: 0 });
  assert.deepEqual(Array.from(i.toTypedArray()), Array.from(ri.data));
  assert.equal(i.dtype, 'int32');
}));

// ---- pooling -----------------------------------------------------------------------

test('pooling: options, defaults and errors', () => torch.scope(() => {
  const x = randn([1, 2, 6, 7], 8);
  assert.deepEqual(F.maxPool2d(x, 2).shape, [1, 2, 3, 3]);
  assert.deepEqual(F.maxPool2d(x, { kernelSize: 2, ceilMode: true }).shape, [1, 2, 3, 4]);
  assert.deepEqual(F.maxPool2d(x, 3, 2, 1, 1, true, true).map((t) => t.shape), [[1, 2, 4, 4], [1, 2, 4, 4]]);
  assert.deepEqual(F.avgPool2d(x, [2, 3]).shape, [1, 2, 3, 2]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, 1).shape, [1, 2, 1, 1]);
  assert.deepEqual(F.adaptiveAvgPool2d(x, [null, 3]).shape, [1, 2, 6, 3]);
  assertClose(F.adaptiveAvgPool2d(x, 1).toTypedArray(), x.mean([2, 3]).toTypedArray(), { atol: 1e-12 });
  throwsTorch(() => F.maxPool2d(x, 3, { padding: 2 }), /^pad should be at most half of kernel size, but got pad=2 and kernel_size=3$/);
  throwsTorch(() => F.maxPool2d(torch.zeros([1, 1, 2, 2]), 3), /^Given input size: \(1x2x2\)\. Calculated output size: \(1x0x0\)\. Output size is too small$/);
  throwsTorch(() => F.maxPool2d(torch.zeros([5, 5]), 2), /Expected 3D or 4D \(batch mode\) tensor with optional 0 dim batch size for input, but got:\[5, 5\]/);
  throwsTorch(() => F.maxPool2d(x, 0, 1), /kernel size should be greater than zero, but got kH: 0 kW: 0/);
  throwsTorch(() => F.maxPool2d(x), /max_pool2d\(\) missing 1 required positional argument: 'kernel_size'/);
  throwsTorch(() => F.avgPool2d(x, 2, { divisorOverride: 0 }), /divisor must be not zero/);
  throwsTorch(() => F.adaptiveAvgPool2d(torch.zeros([5, 5]), 2), /adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[5, 5\]/);
  throwsTorch(() => F.maxPool2d(torch.zeros([1, 5, 5], { dtype: 'int32' }), 2), /"max_pool2d" not implemented for 'Int'/);
}));

test('max pooling: gradient goes to the argmax, and second derivatives run', () => torch.scope(() => {
  const x = f64([1, 5, 3, 2, 0, 4, 7, 6, 9, 8, 2, 1, 3, 3, 5, 4], [1, 1, 4, 4]).requiresGrad_();
  const y = F.maxPool2d(x, 2);
  assert.deepEqual(y.tolist(), [[[[5, 7], [9, 5]]]]);
  const mask = [0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0];
  y.sum().backward();
  assert.deepEqual(Array.from(x.grad.toTypedArray()), mask);
  x.grad = null;
  // d/dx sum(y^2) = 2 y at the argmax, recorded (createGraph): its own gradient is 2 there
  F.maxPool2d(x, 2).square().sum().backward({ createGraph: true });
  const g = x.grad;
  assert.deepEqual(Array.from(g.toTypedArray()), [0, 10, 0, 0, 0, 0, 14, 0, 18, 0, 0, 0, 0, 0, 10, 0]);
  x.grad = null;
  g.sum().backward();
  assert.deepEqual(Array.from(x.grad.toTypedArray()), mask.map((v) => 2 * v));
}));

// ---- dropout ------------------------------------------------------------------------

test('dropout: identity when not training, zeros at p = 1, scaled survivors, reproducible with manualSeed', () => torch.scope(() => {
  const x = torch.ones([4000], { dtype: 'float64' });
  assert.deepEqual(F.dropout(x, 0.5, false).toTypedArray(), x.toTypedArray());
  assert.ok(F.dropout(x, 1.0).toTypedArray().every((v) => v === 0));
  torch.manualSeed(7);
  const a = F.dropout(x, 0.3).toTypedArray();
  const kept = a.filter((v) => v !== 0);
  assert.ok(kept.every((v) => Math.abs(v - 1 / 0.7) < 1e-12));
  assert.ok(Math.abs(kept.length / 4000 - 0.7) < 0.04, `kept ${kept.length}`);
  torch.manualSeed(7);
  assert.deepEqual(F.dropout(x, 0.3).toTypedArray(), a);
  // the gradient is the same mask
  const xr = torch.ones([50], { dtype: 'float64' }).requiresGrad_();
  const y = F.dropout(xr, 0.5, { training: true });
  y.sum().backward();
  assert.deepEqual(Array.from(xr.grad.toTypedArray()), Array.from(y.toTypedArray()));
  throwsTorch(() => F.dropout(x, 1.5), /^dropout probability has to be between 0 and 1, but got 1.5$/);
  const z = torch.ones([10]);
  assert.equal(F.dropout(z, 1.0, true, true), z); // in place returns its input
  assert.ok(z.toTypedArray().every((v) => v === 0));
}));

// ---- normalisation ---------------------------------------------------------------------

test('batchNorm: running statistics updated in place with the unbiased variance; eval uses them', () => torch.scope(() => {
  const x = f64([1, 2, 3, 6, 5, 10], [3, 2]);
  const rm = torch.zeros([2], { dtype: 'float64' }), rv = torch.ones([2], { dtype: 'float64' });
  const y = F.batchNorm(x, rm, rv, null, null, true, 0.1);
  // means [3, 6]; biased variances [8/3, 32/3]; unbiased [4, 16]
  assertClose(rm.toTypedArray(), [0.3, 0.6], { atol: 1e-15 });
  assertClose(rv.toTypedArray(), [0.9 + 0.4, 0.9 + 1.6], { atol: 1e-15 });
  assertClose(y.toTypedArray(), [-2, -4, 0, 0, 2, 4].map((v, i) => v / Math.sqrt((i % 2 ? 32 / 3 : 8 / 3) + 1e-5)), { atol: 1e-12 });
  const e = F.batchNorm(x, rm, rv, f64([2, 1]), f64([0, 1]), false, { eps: 0 });
  assertClose(e.toTypedArray(), [1, 2, 3, 6, 5, 10].map((v, i) => (i % 2 ? (v - 0.6) / Math.sqrt(2.5) + 1 : 2 * (v - 0.3) / Math.sqrt(1.3))), { atol: 1e-12 });
  // no running statistics: batch statistics, nothing updated
  assert.deepEqual(F.batchNorm(x, null, null, { training: true }).shape, [3, 2]);
  throwsTorch(() => F.batchNorm(torch.zeros([1, 3]), null, null, { training: true }),
    /^Expected more than 1 value per channel when training, got input size torch\.Size\(\[1, 3\]\)$/);
  throwsTorch(() => F.batchNorm(x, torch.zeros([4], { dtype: 'float64' }), torch.ones([4], { dtype: 'float64' }), { training: true }),
    /^running_mean should contain 2 elements not 4$/);
  throwsTorch(() => F.batchNorm(x, rm, rv, torch.zeros([3], { dtype: 'float64' })), /^weight should contain 2 elements not 3$/);
}));

test('layerNorm and groupNorm: spellings and errors', () => torch.scope(() => {
  const x = randn([2, 3, 4], 9);
  const a = F.layerNorm(x, 4), b = F.layerNorm(x, [4], null, null, 1e-5), c = F.layerNorm(x, { normalizedShape: [4] });
  assertClose(a.toTypedArray(), b.toTypedArray(), { atol: 0 });
  assertClose(a.toTypedArray(), c.toTypedArray(), { atol: 0 });
  assertClose(a.mean(-1).toTypedArray(), new Float64Array(6), { atol: 1e-12 });
  throwsTorch(() => F.layerNorm(x, [5]), /^Given normalized_shape=\[5\], expected input with shape \[\*, 5\], but got input of size\[2, 3, 4\]$/);
  throwsTorch(() => F.layerNorm(x, [4], randn([3])), /^Expected weight to be of same shape as normalized_shape, but got weight of shape \[3\] and normalized_shape = \[4\]$/);
  assert.deepEqual(F.groupNorm(x, 3).shape, [2, 3, 4]);
  throwsTorch(() => F.groupNorm(randn([2, 6, 4]), 4),
    /^Expected number of channels in input to be divisible by num_groups, but got input of shape \[2, 6, 4\] and num_groups=4$/);
  throwsTorch(() => F.groupNorm(randn([2, 6, 4]), 3, randn([5])),
    /^Expected weight to be a vector of size equal to the number of channels in input, but got weight of shape \[5\] and input of shape \[2, 6, 4\]$/);
}));

// ---- embedding, padding, linear ------------------------------------------------------------

test('embedding: Int32Array indices, padding_idx without gradient, max_norm renormalises, errors', () => torch.scope(() => {
  const w = f64([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]).requiresGrad_();
  const y = F.embedding(new Int32Array([3, 0, 3]), w, { paddingIdx: -1 });
  assert.deepEqual(y.tolist(), [[7, 8], [1, 2], [7, 8]]);
  y.sum().backward();
  assert.deepEqual(Array.from(w.grad.toTypedArray()), [1, 1, 0, 0, 0, 0, 0, 0]);
  const w2 = f64([3, 4, 0.3, 0.4], [2, 2]);
  F.embedding([0], w2, { maxNorm: 1 });
  assertClose(w2.toTypedArray(), [3 / (5 + 1e-7), 4 / (5 + 1e-7), 0.3, 0.4], { atol: 1e-12 });
  throwsTorch(() => F.embedding(new Int32Array([4]), w), /^index out of range in self$/);
  throwsTorch(() => F.embedding(new Int32Array([0]), w, 4), /^Padding_idx must be within num_embeddings$/);
  throwsTorch(() => F.embedding(f64([0]), w), /Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, Int/);
}));

test('pad: modes, value, negative pads and errors', () => torch.scope(() => {
  const x = f64([1, 2, 3, 4, 5, 6], [1, 2, 3]);
  assert.deepEqual(F.pad(x, [1, 1]).tolist(), [[[0, 1, 2, 3, 0], [0, 4, 5, 6, 0]]]);
  assert.deepEqual(F.pad(x, [0, 0, 1, 0], 'constant', 9).tolist(), [[[9, 9, 9], [1, 2, 3], [4, 5, 6]]]);
  assert.deepEqual(F.pad(x, [-1, 0]).tolist(), [[[2, 3], [5, 6]]]);
  assert.deepEqual(F.pad(x, [2, 1], 'reflect').tolist(), [[[3, 2, 1, 2, 3, 2], [6, 5, 4, 5, 6, 5]]]);
  assert.deepEqual(F.pad(x, [1, 2], { mode: 'replicate' }).tolist(), [[[1, 1, 2, 3, 3, 3], [4, 4, 5, 6, 6, 6]]]);
  assert.deepEqual(F.pad(x, [1, 1], 'circular').tolist(), [[[3, 1, 2, 3, 1], [6, 4, 5, 6, 4]]]);
  throwsTorch(() => F.pad(x, [1, 1, 1]), /^Padding length must be divisible by 2$/);
  throwsTorch(() => F.pad(x, [1, 1, 1, 1, 1, 1, 1, 1]), /^Padding length too large$/);
  throwsTorch(() => F.pad(x, [3, 3], 'reflect'), /Padding size should be less than the corresponding input dimension, but got: padding \(3, 3\) at dimension 2 of input \[1, 2, 3\]/);
  throwsTorch(() => F.pad(x, [4, 4], 'circular'), /Padding value causes wrapping around more than once/);
  throwsTorch(() => F.pad(x, [1, 1], 'foo'), /Unrecognised padding mode foo/);
  throwsTorch(() => F.pad(f64([1, 2, 3]), [1, 1], 'reflect'), /Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now/);
}));

test('linear and bilinear: values and errors', () => torch.scope(() => {
  const x = randn([3, 4], 10), w = randn([2, 4], 11), b = randn([2], 12);
  assertClose(F.linear(x, w, b).toTypedArray(), linearRef(plain(x), plain(w), plain(b)).data, { atol: 1e-12 });
  assertClose(F.linear(x, w, { bias: b }).toTypedArray(), F.linear(x, w, b).toTypedArray(), { atol: 0 });
  throwsTorch(() => F.linear(x, randn([2, 3])), /mat1 and mat2 shapes cannot be multiplied \(3x4 and 3x2\)/);
  throwsTorch(() => F.bilinear(randn([2, 3]), randn([2, 4]), randn([5, 3, 3])), /^bilinear\(\): input2 size does not match weight size: got 4 but expected 3$/);
  assert.deepEqual(F.bilinear(randn([2, 3]), randn([2, 4]), randn([5, 3, 4]), randn([5])).shape, [2, 5]);
}));

// ---- losses -------------------------------------------------------------------------------

test('losses: reductions, legacy sizeAverage/reduce, target spellings', () => torch.scope(() => {
  const x = randn([4, 3], 13), t = new Int32Array([0, 2, 1, 2]);
  const none = F.crossEntropy(x, t, { reduction: 'none' });
  assert.deepEqual(none.shape, [4]);
  const s = none.toTypedArray().reduce((a, v) => a + v, 0);
  assertClose([F.crossEntropy(x, t, { reduction: 'sum' }).item()], [s], { atol: 1e-12 });
  assertClose([F.crossEntropy(x, t).item()], [s / 4], { atol: 1e-12 });
  assertClose([F.crossEntropy(x, [0, 2, 1, 2]).item()], [s / 4], { atol: 1e-12 });
  assertClose([F.crossEntropy(x, torch.tensor(t)).item()], [s / 4], { atol: 1e-12 });
  const origWarn = console.warn;
  console.warn = () => {};
  try {
    assertClose([F.crossEntropy(x, t, { sizeAverage: false }).item()], [s], { atol: 1e-12 });
    assert.deepEqual(F.mseLoss(x, x.mul(2), { reduce: false }).shape, [4, 3]);
  } finally {
    console.warn = origWarn;
  }
  assertClose([F.nllLoss(F.logSoftmax(x, 1), t).item()], [s / 4], { atol: 1e-12 });
  // every target ignored: the mean is 0 / 0
  assert.ok(Number.isNaN(F.crossEntropy(x, [-100, -100, -100, -100]).item()));
  for (const fn of ['crossEntropy', 'nllLoss', 'mseLoss', 'l1Loss', 'smoothL1Loss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv'])
    throwsTorch(() => F[fn](x.sigmoid(), fn.includes('Entropy') || fn === 'nllLoss' ? t : x.sigmoid(), { reduction: 'foo' }), /^foo is not a valid value for reduction$/);
}));

test('losses: PyTorch\'s error messages', () => { const before = live(); torch.scope(() => {
  const x = randn([3, 5], 14);
  throwsTorch(() => F.crossEntropy(x, new Int32Array([1, 2])), /^Expected input batch_size \(3\) to match target batch_size \(2\)\.$/);
  throwsTorch(() => F.crossEntropy(x, new Int32Array([1, 2, 5])), /^Target 5 is out of bounds\.$/);
  throwsTorch(() => F.crossEntropy(x, new Int32Array([1, 2, -1])), /^Target -1 is out of bounds\.$/);
  throwsTorch(() => F.crossEntropy(x, new Int32Array([1, 2, 3]), { weight: randn([4]) }),
    /^weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: \[4\]$/);
  throwsTorch(() => F.crossEntropy(randn([2, 5, 4]), torch.tensor(new Int32Array(6), { shape: [2, 3] })), /^Expected target size \[2, 4\], got \[2, 3\]$/);
  throwsTorch(() => F.crossEntropy(x, new Int32Array([1, 2, 3]), { labelSmoothing: 1.5 }), /^label_smoothing must be between 0.0 and 1.0. Got: 1.5$/);
  throwsTorch(() => F.binaryCrossEntropy(torch.rand([3]), torch.rand([4])),
    /^Using a target size \(torch\.Size\(\[4\]\)\) that is different to the input size \(torch\.Size\(\[3\]\)\) is deprecated\. Please ensure they have the same size\.$/);
  throwsTorch(() => F.binaryCrossEntropyWithLogits(torch.rand([3]), torch.rand([4])),
    /^Target size \(torch\.Size\(\[4\]\)\) must be the same as input size \(torch\.Size\(\[3\]\)\)$/);
  throwsTorch(() => F.smoothL1Loss(x, x, { beta: -1 }), /^smooth_l1_loss does not support negative values for beta\.$/);
}); assert.equal(live(), before); });

test('binaryCrossEntropy clamps its logs at -100; the logits version is stable', () => torch.scope(() => {
  const l = F.binaryCrossEntropy(f64([0, 1]), f64([1, 0]), { reduction: 'none' });
  assert.deepEqual(Array.from(l.toTypedArray()), [100, 100]);
  const z = F.binaryCrossEntropyWithLogits(f64([1000, -1000]), f64([0, 1]), { reduction: 'none' });
  assertClose(z.toTypedArray(), [1000, 1000], { atol: 1e-9 });
}));

test('scaledDotProductAttention: bool mask, dropout option, errors', () => torch.scope(() => {
  const q = randn([2, 3, 4], 20), k = randn([2, 5, 4], 21), v = randn([2, 5, 3], 22);
  const keep = torch.tensor(Uint8Array.from({ length: 15 }, (_, i) => (i % 5 <= i / 5 + 1 ? 1 : 0)), { shape: [3, 5] });
  const add = torch.where(keep, 0, -Infinity);
  const a = F.scaledDotProductAttention(q, k, v, keep), b = F.scaledDotProductAttention(q, k, v, add.double());
  assertClose(a.toTypedArray(), b.toTypedArray(), { atol: 1e-12 });
  assert.deepEqual(F.scaledDotProductAttention(q, k, v, null, 0.5).shape, [2, 3, 3]);
  throwsTorch(() => F.scaledDotProductAttention(q, k, v, keep, 0, true), /Explicit attn_mask should not be set when is_causal=True/);
}));

// ---- the layer chain --------------------------------------------------------------------------

/** Counts every call into WebAssembly made through rt.ex while fn runs. */
function countCalls(fn) {
  const orig = rt.ex; // the instance's exports object is frozen: wrap a copy
  const counts = {};
  const wrapped = {};
  for (const [name, v] of Object.entries(orig))
    wrapped[name] = typeof v === 'function' ? (...args) => { counts[name] = (counts[name] ?? 0) + 1; return v(...args); } : v;
  rt.ex = wrapped;
  try {
    const result = fn();
    return { result, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  } finally {
    rt.ex = orig;
  }
}

test('a chain of built-in layers (Linear-ReLU-Linear) runs its forward in exactly one call into WebAssembly', () => torch.scope(() => {
  const x = randn([5, 4], 30), w1 = randn([6, 4], 31), b1 = randn([6], 32), w2 = randn([3, 6], 33), b2 = randn([3], 34);
  const descs = [
    { kind: LAYER.LINEAR, tensors: [w1, b1] },
    { kind: LAYER.RELU },
    { kind: LAYER.LINEAR, ints: [], floats: [], tensors: [w2, b2], training: false },
  ];
  const { result, counts, total } = countCalls(() => runChain(descs, x));
  assert.equal(total, 1, `calls: ${JSON.stringify(counts)}`);
  assert.deepEqual(counts, { ft_api_nn_chain: 1 });
  const h = linearRef(plain(x), plain(w1), plain(b1));
  h.data = h.data.map((v) => Math.max(v, 0));
  assertClose(result.toTypedArray(), linearRef(h, plain(w2), plain(b2)).data, { atol: 1e-12 });
  // the same forward op by op crosses once per op
  const byOps = countCalls(() => F.linear(F.relu(F.linear(x, w1, b1)), w2, b2));
  assert.ok(byOps.counts.ft_api_op >= 3);
}));

test('runChain: a small CNN equals the op-by-op forward, and gradients flow through it', () => torch.scope(() => {
  const x = randn([2, 1, 8, 8], 40);
  const w1 = randn([3, 1, 3, 3], 41).requiresGrad_(), b1 = randn([3], 42).requiresGrad_();
  const w2 = randn([4, 27], 43).requiresGrad_();
  const descs = [
    { kind: 'conv2d', ints: [1, 1, 0, 0, 1, 1, 1], tensors: [w1, b1] },
    { kind: LAYER.RELU },
    { kind: 'maxpool2d', ints: [2, 2, 2, 2, 0, 0, 1, 1, 0] },
    { kind: LAYER.FLATTEN, ints: [1, -1] },
    { kind: LAYER.LINEAR, tensors: [w2, null] },
    { kind: LAYER.LOG_SOFTMAX, ints: [1] },
  ];
  const y = runChain(descs, x);
  const ref = F.logSoftmax(F.linear(F.maxPool2d(F.relu(F.conv2d(x, w1, b1)), 2).flatten(1), w2), 1);
  assertClose(y.toTypedArray(), ref.toTypedArray(), { atol: 1e-12 });
  y.sum().backward();
  const g1 = w1.grad.toTypedArray(), g2 = w2.grad.toTypedArray();
  w1.grad = null; w2.grad = null; b1.grad = null;
  ref.sum().backward();
  assertClose(g1, w1.grad.toTypedArray(), { atol: 1e-12 });
  assertClose(g2, w2.grad.toTypedArray(), { atol: 1e-12 });
}));

test('runChain: batch norm updates its buffers in C (num_batches_tracked too); dropout follows the training flag', () => torch.scope(() => {
  const x = f64([1, 2, 3, 6, 5, 10], [3, 2]);
  const rm = torch.zeros([2], { dtype: 'float64' }), rv = torch.ones([2], { dtype: 'float64' });
  const nbt = torch.zeros([], { dtype: 'int32' });
  const desc = { kind: LAYER.BATCH_NORM, ints: [1, 1], floats: [null, 1e-5], tensors: [null, null, rm, rv, nbt], training: true };
  const { total } = countCalls(() => runChain([desc, { kind: LAYER.DROPOUT, floats: [0.5], training: false }], x));
  assert.equal(total, 1);
  assert.equal(nbt.item(), 1);
  assertClose(rm.toTypedArray(), [3, 6], { atol: 1e-15 }); // momentum None: the cumulative average
  throwsTorch(() => runChain([{ ...desc }], randn([2, 2, 2, 2])), /^expected 2D or 3D input \(got 4D input\)$/);
  throwsTorch(() => runChain([{ kind: 'nope' }], x), /unknown layer kind 'nope'/);
}));

test('typed-array arguments are temporaries of the call: freed at once when a later argument is rejected', () => {
  const w = randn([2, 3], 60, 'float32'), x = randn([2, 3], 61);
  const f32 = () => new Float32Array([1, 2, 3]);
  const before = live(); // no gc and no scope: every tensor the calls make must be gone when they return
  throwsTorch(() => F.linear(f32(), 'abc'), /^linear\(\): argument 'weight' must be a Tensor, got 'abc'$/);
  throwsTorch(() => F.linear(f32(), w, Symbol('b')), /^linear\(\): argument 'bias' must be a Tensor, got Symbol\(b\)$/);
  throwsTorch(() => F.bilinear(f32(), f32(), null), /^bilinear\(\): argument 'weight' must be a Tensor, got null$/);
  throwsTorch(() => F.conv1d(f32(), f32(), 1n), /^conv1d\(\): argument 'bias' must be a Tensor, got 1n$/);
  throwsTorch(() => F.batchNorm(f32(), f32(), f32(), { weight: 'w' }), /^batch_norm\(\): argument 'weight' must be a Tensor, got 'w'$/);
  throwsTorch(() => F.crossEntropy(f32(), [0, 1.5]), /^cross_entropy\(\): target must be an integer, got 1\.5$/);
  throwsTorch(() => F.nllLoss(x, new Int32Array([0, 1]), { weight: {} }), /^nll_loss\(\): argument 'weight' must be a Tensor, got an object \(Object\)$/);
  throwsTorch(() => F.embedding([1, 2], 'w'), /^embedding\(\): argument 'weight' must be a Tensor, got 'w'$/);
  throwsTorch(() => F.mseLoss(f32(), undefined), /^mse_loss\(\): argument 'target' must be a Tensor, got undefined$/);
  throwsTorch(() => F.binaryCrossEntropy(f32(), new Float32Array(2)), /^Using a target size \(torch\.Size\(\[2\]\)\) that is different/);
  throwsTorch(() => F.binaryCrossEntropyWithLogits(f32(), f32(), { posWeight: 'p' }), /^binary_cross_entropy_with_logits\(\): argument 'pos_weight' must be a Tensor, got 'p'$/);
  throwsTorch(() => F.klDiv(f32(), [1, 2, 3]), /^kl_div\(\): argument 'target' must be a Tensor, got an array of length 3$/);
  throwsTorch(() => F.cosineSimilarity(f32(), null, 0), /^cosine_similarity\(\): argument 'x2' must be a Tensor, got null$/);
  throwsTorch(() => F.scaledDotProductAttention(f32(), f32(), null), /^scaled_dot_product_attention\(\): argument 'value' must be a Tensor, got null$/);
  throwsTorch(() => F.layerNorm(f32(), [3], { eps: 'e' }), /^layer_norm\(\): eps must be a number, got 'e'$/);
  throwsTorch(() => F.pad(f32(), [1, 1, 1, 1, 1, 1]), /^Padding length too large$/);
  assert.equal(live(), before);
  // on success only the result is new; an in-place result made from a typed array is kept, not freed
  const y = F.linear(f32(), w);
  assert.deepEqual(y.shape, [2]);
  assert.equal(live(), before + 1);
  const d = F.dropout(f32(), 0, true, true);
  assert.ok(!d.isDisposed);
  assert.deepEqual(Array.from(d.toTypedArray()), [1, 2, 3]);
  assert.equal(live(), before + 2);
  for (const t of [y, d, w, x]) t.dispose();
});

test('runChain errors leave nothing behind', () => {
  const x = randn([2, 3], 50), w = randn([4, 5], 51);
  const before = live();
  throwsTorch(() => runChain([{ kind: LAYER.RELU }, { kind: LAYER.LINEAR, tensors: [w] }], x), /mat1 and mat2 shapes cannot be multiplied/);
  assert.equal(live(), before);
  x.dispose(); w.dispose();
});

test('F is torch.nn.functional, and keeps the activations of the other families', () => {
  assert.equal(torch.nn.functional, F);
  for (const n of ['linear', 'conv1d', 'conv2d', 'convTranspose2d', 'maxPool2d', 'avgPool2d', 'adaptiveAvgPool2d', 'relu',
    'leakyRelu', 'gelu', 'silu', 'elu', 'softplus', 'tanh', 'sigmoid', 'softmax', 'logSoftmax', 'dropout', 'batchNorm',
    'layerNorm', 'groupNorm', 'embedding', 'pad', 'crossEntropy', 'nllLoss', 'mseLoss', 'l1Loss', 'smoothL1Loss',
    'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'klDiv', 'cosineSimilarity', 'scaledDotProductAttention'])
    assert.equal(typeof F[n], 'function', `F.${n}`);
});
