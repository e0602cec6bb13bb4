// The Tensor API: creation, dtypes, data access, printing, disposal, errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../dist/index.js';

test('tensor() infers dtype and shape from nested arrays and typed arrays', () => {
  const a = torch.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.equal(a.dtype, 'float32');
  assert.deepEqual(a.shape, [2, 3]);
  assert.equal(a.ndim, 2);
  assert.equal(a.numel, 6);
  assert.deepEqual(a.tolist(), [[1, 2, 3], [4, 5, 6]]);
  assert.equal(torch.tensor(new Float64Array([1, 2])).dtype, 'float64');
  assert.equal(torch.tensor(new Int32Array([1, 2])).dtype, 'int32');
  assert.equal(torch.tensor([true, false]).dtype, 'bool');
  const s = torch.tensor(new Float32Array(6).fill(2), { shape: [3, 2] });
  assert.deepEqual(s.shape, [3, 2]);
  assert.equal(torch.tensor(3.5).item(), 3.5);
  assert.deepEqual(torch.tensor(3).shape, []);
  assert.equal(torch.tensor([1.5, 2.5], { dtype: 'int32' }).dtype, 'int32');
  assert.deepEqual(torch.tensor([1.5, -2.5], { dtype: 'int32' }).tolist(), [1, -2]);
});

test('bad shapes and ragged arrays throw a TorchError naming the problem', () => {
  assert.throws(() => torch.tensor([[1, 2], [3]]), (e) => e instanceof torch.TorchError && /expected sequence of length 2/.test(e.message));
  assert.throws(() => torch.tensor(new Float32Array(5), { shape: [2, 3] }), /shape \[2,3\] is invalid for input of size 5/);
  assert.throws(() => torch.tensor('abc'), torch.TorchError);
  assert.throws(() => torch.zeros([2, -1]), /negative dimension -1/);
  assert.throws(() => torch.zeros([2.5]), /must be an integer/);
  assert.throws(() => torch.tensor([1], { dtype: 'float16' }), /unsupported dtype 'float16'/);
});

test('factories', () => {
  assert.deepEqual(torch.zeros([2, 2]).tolist(), [[0, 0], [0, 0]]);
  assert.deepEqual(torch.ones(2, 3).shape, [2, 3]);
  assert.deepEqual(torch.full([2], 7, { dtype: 'float64' }).tolist(), [7, 7]);
  assert.deepEqual(torch.arange(4).tolist(), [0, 1, 2, 3]);
  assert.equal(torch.arange(4).dtype, 'int32');
  assert.deepEqual(torch.arange(1, 2, 0.25).tolist(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(torch.linspace(0, 1, 5).tolist(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(torch.eye(2).tolist(), [[1, 0], [0, 1]]);
  assert.deepEqual(torch.eye(2, 3).shape, [2, 3]);
  const r = torch.rand([1000]).toTypedArray();
  assert.ok(r.every((v) => v >= 0 && v < 1));
  const n = torch.randn([4000]).toTypedArray();
  const mean = n.reduce((a, b) => a + b) / n.length;
  const v = n.reduce((a, b) => a + (b - mean) ** 2, 0) / n.length;
  assert.ok(Math.abs(mean) < 0.1 && Math.abs(v - 1) < 0.1, `randn mean ${mean} var ${v}`);
  const ri = torch.randint(3, 7, [500]).toTypedArray();
  assert.ok(ri.every((x) => x >= 3 && x < 7) && new Set(ri).size === 4);
  const z = torch.zerosLike(torch.ones([2, 3], { dtype: 'float64' }));
  assert.equal(z.dtype, 'float64');
  assert.deepEqual(torch.fullLike(z, 2).tolist(), [[2, 2, 2], [2, 2, 2]]);
  assert.deepEqual(torch.onesLike(z).shape, [2, 3]);
  assert.deepEqual(torch.randnLike(z).shape, [2, 3]);
  assert.deepEqual(torch.empty(3).shape, [3]);
});

test('manualSeed makes random ops reproducible', () => {
  torch.manualSeed(42);
  const a = torch.randn([5]).tolist();
  const u = torch.rand([3]).tolist();
  torch.manualSeed(42);
  assert.deepEqual(torch.randn([5]).tolist(), a);
  assert.deepEqual(torch.rand([3]).tolist(), u);
  torch.manualSeed(43);
  assert.notDeepEqual(torch.randn([5]).tolist(), a);
});

test('toTypedArray returns a copy the caller owns', () => {
  const t = torch.tensor([1, 2, 3]);
  const a = t.toTypedArray();
  assert.ok(a instanceof Float32Array);
  a[0] = 100;
  assert.equal(t.tolist()[0], 1);
  assert.ok(torch.tensor([true]).toTypedArray() instanceof Uint8Array);
});

test('item() needs one element', () => {
  assert.throws(() => torch.ones([2]).item(), /a Tensor with 2 elements cannot be converted to Scalar/);
  assert.equal(torch.ones([1, 1]).item(), 1);
});

test('toString prints like PyTorch', () => {
  assert.equal(String(torch.tensor([1, 2])), 'tensor([1., 2.])');
  assert.equal(String(torch.tensor([[1.5, 2], [3, 4]], { dtype: 'float64' })),
    'tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]], dtype=torch.float64)');
  assert.equal(String(torch.tensor([1, 2]).requiresGrad_()), 'tensor([1., 2.], requires_grad=True)');
});

test('a disposed tensor errors clearly and dispose is idempotent', () => {
  const t = torch.ones([2]);
  t.dispose();
  assert.ok(t.isDisposed);
  t.dispose();
  assert.throws(() => t.add(1), (e) => e instanceof torch.TorchError && /has been disposed/.test(e.message));
  assert.throws(() => t.toTypedArray(), /has been disposed/);
  assert.equal(String(t), 'tensor(<disposed>)');
});

test('a failed op throws a TorchError and leaves the instance usable and leak-free', () => {
  const a = torch.ones([2, 3]), b = torch.ones([4, 5]);
  const before = torch.memory();
  for (let i = 0; i < 100; i++) {
    assert.throws(() => a.add(b), (e) => e instanceof torch.TorchError && /\[2, 3\] and \[4, 5\]/.test(e.message));
  }
  assert.deepEqual(torch.memory().tensors, before.tensors);
  assert.deepEqual(a.add(a).tolist(), [[2, 2, 2], [2, 2, 2]]);
});

test('a failed allocation is a TorchError and the instance stays usable', () => {
  assert.throws(() => torch.zeros([1 << 16, 1 << 16]), (e) => e instanceof torch.TorchError && /too many elements|out of memory/.test(e.message));
  assert.throws(() => torch.zeros([30000, 30000]), (e) => e instanceof torch.TorchError && /out of memory/.test(e.message));
  assert.deepEqual(torch.ones([2]).mul(3).tolist(), [3, 3]);
});

test('numbers are accepted wherever a tensor operand is', () => {
  const x = torch.tensor([1, 2, 3]);
  assert.deepEqual(x.mul(2).tolist(), [2, 4, 6]);
  assert.deepEqual(torch.sub(10, x).tolist(), [9, 8, 7]);
  assert.equal(x.mul(2).dtype, 'float32');
  assert.equal(torch.arange(3).mul(2).dtype, 'int32');
  assert.equal(torch.arange(3).mul(0.5).dtype, 'float32');
  assert.equal(torch.arange(3).div(2).dtype, 'float32');
});

test('in-place ops', () => {
  const x = torch.tensor([1, 2, 3]);
  x.add_(1);
  assert.deepEqual(x.tolist(), [2, 3, 4]);
  x.mul_(torch.tensor([2]));
  assert.deepEqual(x.tolist(), [4, 6, 8]);
  x.sub_(1).div_(2);
  assert.deepEqual(x.tolist(), [1.5, 2.5, 3.5]);
  x.fill_(7);
  assert.deepEqual(x.tolist(), [7, 7, 7]);
  x.zero_();
  assert.deepEqual(x.tolist(), [0, 0, 0]);
  x.copy_(torch.tensor([1, 2, 3], { dtype: 'float64' }));
  assert.deepEqual(x.tolist(), [1, 2, 3]);
  assert.equal(x.dtype, 'float32');
  torch.manualSeed(1);
  x.uniform_(-2, -1);
  assert.ok(x.toTypedArray().every((v) => v >= -2 && v < -1));
  x.normal_(100, 0.01);
  assert.ok(x.toTypedArray().every((v) => Math.abs(v - 100) < 1));
  // views see in-place updates of their base
  const base = torch.zeros([2, 2]);
  const row = base.select(0, 1);
  row.add_(5);
  assert.deepEqual(base.tolist(), [[0, 0], [5, 5]]);
  assert.throws(() => torch.ones([2]).add_(torch.ones([3])), /doesn't match the broadcast shape|must match/);
});

test('dtype conversions', () => {
  const x = torch.tensor([1.7, -0.2, 0]);
  assert.equal(x.double().dtype, 'float64');
  assert.deepEqual(x.int().tolist(), [1, 0, 0]);
  assert.deepEqual(x.bool().tolist(), [true, true, false]);
  assert.deepEqual(torch.tensor([true, false]).float().tolist(), [1, 0]);
  assert.equal(x.to('float32'), x);
  assert.equal(x.to({ dtype: 'float64' }).dtype, 'float64');
  assert.deepEqual(torch.tensor([1, 2]).lt(2).tolist(), [true, false]);
});

test('version, simd, ready', async () => {
  assert.equal(typeof torch.version, 'string');
  assert.equal(torch.simd, true);
  await torch.ready;
});

// A call that throws after converting an operand (a number, typed array) to a
// temporary tensor must free it before throwing: the live count is checked
// right after the throw, without gc (the FinalizationRegistry would hide it).
function throwsWithoutLeak(fn, message) {
  const before = torch.memory().tensors;
  assert.throws(fn, (e) => e instanceof torch.TorchError && message.test(e.message));
  assert.equal(torch.memory().tensors, before, 'tensors left live by the throw');
}

test('binary ops free the converted first operand when the second is rejected', () => {
  throwsWithoutLeak(() => torch.add(2, 'abc'), /^expected a Tensor or a number, got 'abc'$/);
  throwsWithoutLeak(() => torch.mul(new Float32Array([1, 2]), {}), /^expected a Tensor or a number, got an object/);
  throwsWithoutLeak(() => torch.sub(new Float64Array([1]), undefined), /^expected a Tensor or a number, got undefined$/);
  throwsWithoutLeak(() => torch.lt(3.5, null), /^expected a Tensor or a number, got null$/);
});

test('where() frees the operands converted before the one it rejects', () => {
  const x = torch.ones([3]);
  throwsWithoutLeak(() => torch.where(new Uint8Array([1, 0, 1]), new Float32Array(3), 'x'), /^expected a Tensor or a number, got 'x'$/);
  throwsWithoutLeak(() => torch.where(new Uint8Array([1, 0, 1]), 'x', x), /^expected a Tensor or a number, got 'x'$/);
  throwsWithoutLeak(() => x.where(new Uint8Array([1, 0, 1]), null), /^expected a Tensor or a number, got null$/);
  assert.deepEqual(torch.where(new Uint8Array([1, 0, 1]), x, 0).tolist(), [1, 0, 1]);
  x.dispose();
});

test('the grad setter frees a converted temporary, kept or rejected', () => {
  const w = torch.ones([3]).requiresGrad_();
  throwsWithoutLeak(() => { w.grad = new Float64Array([1, 2, 3]); },
    /^assigned grad has data of a different size or type: float64 \[3\], expected float32 \[3\]$/);
  const before = torch.memory().tensors;
  w.grad = new Float32Array([1, 2, 3]); // the grad's own reference only
  assert.equal(torch.memory().tensors, before + 1);
  const g = w.grad;
  assert.deepEqual(g.tolist(), [1, 2, 3]);
  g.dispose();
  w.grad = null;
  assert.equal(torch.memory().tensors, before);
  w.dispose();
});

test('backward() rejects a disposed tensor before converting gradient', () => {
  const d = torch.ones([3]);
  d.dispose();
  throwsWithoutLeak(() => d.backward(new Float32Array([1, 2, 3])), /^this Tensor \(shape \[3\], float32\) has been disposed$/);
  const w = torch.ones([3]).requiresGrad_(), y = w.mul(2);
  throwsWithoutLeak(() => y.backward(new Float32Array([1, 2])), /^Mismatch in shape: grad_output\[0\] has a shape of \[2\]/);
  y.backward(new Float32Array([1, 1, 1]));
  const g = w.grad;
  assert.deepEqual(g.tolist(), [2, 2, 2]);
  for (const t of [g, y, w]) t.dispose();
});

test('normal_() checks mean and std before drawing', () => {
  const x = torch.zeros([4]);
  throwsWithoutLeak(() => x.normal_('abc'), /^normal_\(\): mean must be a number, got 'abc'$/);
  throwsWithoutLeak(() => x.normal_(0, [1]), /^normal_\(\): std must be a number, got/);
  throwsWithoutLeak(() => x.normal_({ mean: 1, std: 'x' }), /^normal_\(\): std must be a number, got 'x'$/);
  assert.deepEqual(x.tolist(), [0, 0, 0, 0]); // not drawn into
  x.dispose();
});
