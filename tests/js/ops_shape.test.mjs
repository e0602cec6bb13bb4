// The shape family beyond the generic cases: argument spellings, PyTorch's
// error messages, int32/bool tensors, views aliasing their base, edge cases
// (0-d, empty, splits that run out) and leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import torch from '../../dist/index.js';

const ar = (n, shape, dtype = 'float32') => torch.arange(n, { dtype }).reshape(shape);
const throwsMsg = (fn, text) =>
  assert.throws(fn, (e) => e instanceof torch.TorchError && e.message.includes(text), `expected a TorchError containing: ${text}`);

test('varargs, arrays and options spell the same call', () => {
  torch.scope(() => {
    const x = ar(24, [2, 3, 4]);
    assert.deepEqual(x.reshape(4, 6).shape, [4, 6]);
    assert.deepEqual(x.reshape([4, -1]).shape, [4, 6]);
    assert.deepEqual(torch.reshape(x, [-1]).shape, [24]);
    assert.deepEqual(x.view(6, 4).shape, [6, 4]);
    assert.deepEqual(x.permute(2, 0, 1).shape, [4, 2, 3]);
    assert.deepEqual(x.permute([2, 0, 1]).tolist(), x.permute(2, 0, 1).tolist());
    assert.deepEqual(x.flatten(1).shape, [2, 12]);
    assert.deepEqual(x.flatten({ startDim: 1 }).shape, [2, 12]);
    assert.deepEqual(torch.flatten(x, 0, 1).shape, [6, 4]);
    assert.deepEqual(x.unsqueeze(0).expand(5, -1, -1, -1).shape, [5, 2, 3, 4]);
    assert.deepEqual(x.unsqueeze(0).expand([5, 2, 3, 4]).shape, [5, 2, 3, 4]);
    assert.deepEqual(x.repeat(1, 2, 1).shape, [2, 6, 4]);
    assert.deepEqual(x.repeat([2, 1, 1, 1]).shape, [2, 2, 3, 4]);
    assert.deepEqual(x.slice(2, 1).shape, [2, 3, 3]);
    assert.deepEqual(x.slice({ dim: 2, end: -1, step: 2 }).tolist(), x.slice(2, 0, 3, 2).tolist());
    assert.deepEqual(torch.cat([x, x], { dim: 1 }).shape, [2, 6, 4]);
    assert.deepEqual(torch.cat([x, x], -1).shape, [2, 3, 8]);
    assert.deepEqual(torch.stack([x, x], { dim: -1 }).shape, [2, 3, 4, 2]);
    assert.deepEqual(x.split(2, { dim: 2 }).map((p) => p.shape), [[2, 3, 2], [2, 3, 2]]);
    assert.deepEqual(x.diagonal({ dim1: 1, dim2: 2 }).shape, [2, 3]);
    assert.deepEqual(x.triu({ diagonal: 1 }).tolist(), x.triu(1).tolist());
    assert.deepEqual(x.squeeze().shape, [2, 3, 4]);
    assert.deepEqual(x.unsqueeze(1).squeeze(1).shape, [2, 3, 4]);
    assert.deepEqual(x.flip(0).tolist(), x.flip([0]).tolist());
    assert.deepEqual(x.swapaxes(0, 2).shape, [4, 3, 2]);
    assert.deepEqual(torch.moveaxis(x, [0, 1], [-1, -2]).shape, [4, 3, 2]);
  });
});

test('t, T and mT', () => {
  torch.scope(() => {
    const m = ar(6, [2, 3]);
    assert.deepEqual(m.t().tolist(), [[0, 3], [1, 4], [2, 5]]);
    assert.deepEqual(m.T.tolist(), m.t().tolist());
    const v = ar(3, [3]);
    assert.deepEqual(v.t().tolist(), [0, 1, 2]);
    assert.deepEqual(v.T.shape, [3]);
    const b = ar(24, [2, 3, 4]);
    assert.deepEqual(b.mT.shape, [2, 4, 3]);
    assert.deepEqual(b.T.shape, [4, 3, 2]);
    throwsMsg(() => b.t(), 't() expects a tensor with <= 2 dimensions, but self is 3D');
    throwsMsg(() => v.mT, 'tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.');
  });
});

test("PyTorch's error messages", () => {
  torch.scope(() => {
    const x = ar(6, [2, 3]);
    throwsMsg(() => x.reshape(2, 5), "shape '[2, 5]' is invalid for input of size 6");
    throwsMsg(() => x.reshape(-1, -1), 'only one dimension can be inferred');
    throwsMsg(() => x.t().view(6),
      "view size is not compatible with input tensor's size and stride (at least one dimension spans across two contiguous subspaces). Use .reshape(...) instead.");
    assert.deepEqual(x.t().reshape(6).tolist(), [0, 3, 1, 4, 2, 5]);
    throwsMsg(() => x.expand(3, 3), 'The expanded size of the tensor (3) must match the existing size (2) at non-singleton dimension 0.  Target sizes: [3, 3].  Tensor sizes: [2, 3]');
    throwsMsg(() => x.expand(3), 'the number of sizes provided (1) must be greater or equal to the number of dimensions in the tensor (2)');
    throwsMsg(() => x.permute(0), 'input.dim() = 2 is not equal to len(dims) = 1');
    throwsMsg(() => x.permute(1, 1), 'permute(): duplicate dims are not allowed.');
    throwsMsg(() => x.transpose(0, 2), 'Dimension out of range (expected to be in range of [-2, 1], but got 2)');
    throwsMsg(() => x.unsqueeze(-4), 'Dimension out of range (expected to be in range of [-3, 2], but got -4)');
    throwsMsg(() => x.narrow(1, 2, 2), 'start (2) + length (2) exceeds dimension size (3).');
    throwsMsg(() => x.select(1, 3), 'select(): index 3 out of range for tensor of size [2, 3] at dimension 1');
    throwsMsg(() => x.slice(0, 0, 2, 0), 'slice step must be positive');
    throwsMsg(() => x.flatten(1, 0), 'flatten() has invalid args: start_dim cannot come after end_dim');
    throwsMsg(() => torch.cat([x, ar(4, [2, 2])]), 'Sizes of tensors must match except in dimension 0. Expected size 3 but got size 2 for tensor number 1 in the list.');
    throwsMsg(() => torch.cat([x, ar(6, [6])]), 'Tensors must have same number of dimensions: got 2 and 1');
    throwsMsg(() => torch.cat([]), 'torch.cat(): expected a non-empty list of Tensors');
    {
      // longer than one call into the core takes (256): joined in chunks, errors name the whole list's index
      const many = Array.from({ length: 600 }, () => x);
      throwsMsg(() => torch.cat([...many, ar(4, [2, 2])]), 'Sizes of tensors must match except in dimension 0. Expected size 3 but got size 2 for tensor number 600 in the list.');
      throwsMsg(() => torch.stack([...many, x.t()]), 'stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at entry 600');
    }
    throwsMsg(() => torch.stack([x, x.t()]), 'stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [3, 2] at entry 1');
    throwsMsg(() => x.split([1, 2], 0), "split_with_sizes expects split_sizes to sum exactly to 2 (input tensor's size at dimension 0), but got split_sizes=[1, 2]");
    throwsMsg(() => x.chunk(0), 'chunk expects `chunks` to be greater than 0, got: 0');
    throwsMsg(() => x.movedim([0, 1], [1, 1]), 'movedim: repeated dim in `destination` ([1, 1])');
    throwsMsg(() => x.movedim([0, 1], [1]), 'movedim: Invalid source or destination dims: source ([0, 1] dims) should contain the same number of dims as destination ([1] dims)');
    throwsMsg(() => x.repeat(2), 'Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor');
    throwsMsg(() => x.diagonal(0, 1, -1), 'diagonal dimensions cannot be identical 1, -1');
    throwsMsg(() => ar(8, [2, 2, 2]).diag(), 'diag(): Supports 1D or 2D tensors. Got 3D');
    throwsMsg(() => ar(3, [3]).triu(), 'triu: input tensor must have at least 2 dimensions');
    throwsMsg(() => x.flip(0, -2), 'dim 0 appears multiple times in the list of dims');
    throwsMsg(() => x.reshape(2.5, 2), 'reshape(): size must be an integer, got 2.5');
    throwsMsg(() => torch.cat(x), 'cat(): expected an array of Tensors');
  });
});

test('int32 and bool tensors', () => {
  torch.scope(() => {
    const i = torch.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' });
    assert.equal(i.t().dtype, 'int32');
    assert.deepEqual(i.t().reshape(-1).tolist(), [1, 4, 2, 5, 3, 6]);
    assert.deepEqual(i.flip(1).tolist(), [[3, 2, 1], [6, 5, 4]]);
    assert.deepEqual(i.triu().tolist(), [[1, 2, 3], [0, 5, 6]]);
    assert.deepEqual(i.repeat(1, 2).tolist(), [[1, 2, 3, 1, 2, 3], [4, 5, 6, 4, 5, 6]]);
    const c = torch.cat([i, torch.tensor([[0.5, 1.5, 2.5]])]);
    assert.equal(c.dtype, 'float32');
    assert.deepEqual(c.tolist()[2], [0.5, 1.5, 2.5]);
    const b = i.gt(2);
    assert.equal(b.dtype, 'bool');
    assert.deepEqual(b.t().tolist(), [[false, true], [false, true], [true, true]]);
    assert.deepEqual(torch.stack([b, b]).shape, [2, 2, 3]);
    assert.deepEqual(b.diag().tolist(), [false, true]);
    assert.deepEqual(b.tril(-1).tolist(), [[false, false, false], [true, false, false]]);
    assert.equal(torch.cat([b, i]).dtype, 'int32');
  });
});

test('views alias their base; copies do not', () => {
  torch.scope(() => {
    const x = ar(6, [2, 3]);
    const v = x.view(3, 2);
    v.zero_();
    assert.deepEqual(x.tolist(), [[0, 0, 0], [0, 0, 0]]);
    const y = ar(6, [2, 3]);
    y.t().select(0, 1).fill_(9); // column 1 of y
    assert.deepEqual(y.tolist(), [[0, 9, 2], [3, 9, 5]]);
    y.slice(1, 0, 3, 2).fill_(-1);
    assert.deepEqual(y.tolist(), [[-1, 9, -1], [-1, 9, -1]]);
    y.diagonal().fill_(7);
    assert.deepEqual(y.tolist(), [[7, 9, -1], [-1, 7, -1]]);
    y.unsqueeze(0).expand(4, 2, 3).narrow(0, 0, 1).squeeze(0).reshape(6).fill_(1);
    assert.deepEqual(y.tolist(), [[1, 1, 1], [1, 1, 1]]);
    const f = y.flip(0);
    f.fill_(5);
    assert.deepEqual(y.tolist(), [[1, 1, 1], [1, 1, 1]]);
    const c = y.t().contiguous();
    c.fill_(3);
    assert.deepEqual(y.tolist(), [[1, 1, 1], [1, 1, 1]]);
    const same = y.contiguous();
    same.fill_(2);
    assert.deepEqual(y.tolist(), [[2, 2, 2], [2, 2, 2]], 'contiguous() of a contiguous tensor is the tensor');
  });
});

test('edge cases: 0-d, empty tensors, uneven chunks', () => {
  torch.scope(() => {
    const s = torch.tensor(3);
    assert.deepEqual(s.reshape(1, 1).tolist(), [[3]]);
    assert.deepEqual(s.unsqueeze(0).tolist(), [3]);
    assert.deepEqual(s.flatten().shape, [1]);
    assert.deepEqual(s.expand(2, 2).tolist(), [[3, 3], [3, 3]]);
    assert.deepEqual(s.T.shape, []);
    assert.deepEqual(s.squeeze().shape, []);
    throwsMsg(() => s.select(0, 0), 'select() cannot be applied to a 0-dim tensor.');
    throwsMsg(() => torch.cat([s, s]), 'zero-dimensional tensor (at position 0) cannot be concatenated');
    assert.deepEqual(torch.stack([s, s]).tolist(), [3, 3]);
    const e = torch.zeros([0, 3]);
    assert.deepEqual(e.reshape(3, 0).shape, [3, 0]);
    assert.deepEqual(e.t().shape, [3, 0]);
    throwsMsg(() => e.reshape(-1, 0), 'cannot reshape tensor of 0 elements into shape [-1, 0] because the unspecified dimension size -1 can be any value and is ambiguous');
    // PyTorch skips 1-D empty tensors in cat whatever their rank
    const x = ar(6, [2, 3]);
    assert.deepEqual(torch.cat([x, torch.zeros([0]), x], 1).shape, [2, 6]);
    assert.deepEqual(torch.cat([torch.zeros([0]), torch.zeros([0])]).shape, [0]);
    // chunk returns fewer chunks when they run out, as PyTorch does
    assert.deepEqual(ar(5, [5]).chunk(4).map((c) => c.tolist()), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(ar(6, [6]).chunk(4).map((c) => c.shape[0]), [2, 2, 2]);
    assert.deepEqual(torch.zeros([0]).chunk(3).map((c) => c.shape[0]), [0, 0, 0]);
    assert.deepEqual(ar(5, [5]).split(5).map((c) => c.shape[0]), [5]);
    assert.deepEqual(ar(5, [5]).slice(0, 10, 20).shape, [0]);
    assert.deepEqual(ar(5, [5]).slice(0, -100, 2).tolist(), [0, 1]);
    assert.deepEqual(ar(4, [4]).diag(5).shape, [9, 9]);
    assert.deepEqual(ar(6, [2, 3]).diagonal(5).shape, [0]);
  });
});

test('gradients flow through views and joins', () => {
  torch.scope(() => {
    const x = torch.arange(6, { dtype: 'float64' }).reshape(2, 3).requiresGrad_();
    const y = torch.cat([x.t().reshape(-1), x.diagonal(), x.index(1)]);
    assert.equal(y.gradFn.name, 'CatBackward');
    y.mul(torch.arange(y.shape[0], { dtype: 'float64' })).sum().backward();
    // t().reshape(-1) reads x in column order: weights 0..5 at [0,0],[1,0],[0,1],[1,1],[0,2],[1,2]
    // diagonal: weights 6, 7 at [0,0], [1,1]; row 1: weights 8, 9, 10
    assert.deepEqual(x.grad.tolist(), [[0 + 6, 2, 4], [1 + 8, 3 + 7 + 9, 5 + 10]]);
    assert.equal(x.reshape(6).gradFn.name, 'ReshapeBackward');
    assert.equal(x.expand(2, 2, 3).gradFn.name, 'ExpandBackward');
    assert.equal(x.flip(0).gradFn.name, 'FlipBackward');
  });
});

test('split and chunk pieces are independent tensors that free cleanly', () => {
  const before = torch.memory().tensors;
  torch.scope(() => {
    const x = ar(10, [10]);
    const parts = x.split([3, 3, 4]);
    assert.deepEqual(parts.map((p) => p.tolist()), [[0, 1, 2], [3, 4, 5], [6, 7, 8, 9]]);
    for (const p of parts) p.dispose();
    assert.deepEqual(x.chunk(2)[1].tolist(), [5, 6, 7, 8, 9]);
  });
  assert.equal(torch.memory().tensors, before);
});

test('errors leave nothing behind', () => {
  const x = ar(6, [2, 3]), xt = x.t();
  const before = torch.memory().tensors;
  for (const f of [() => x.reshape(4, 4), () => torch.cat([x, xt]), () => x.split([1, 5]), () => x.diagEmbed(0, 1, 1),
    () => x.narrow(0, 1, 5), () => torch.sliceScatter(x, x, 0, 0, 1)])
    assert.throws(f, torch.TorchError);
  assert.equal(torch.memory().tensors, before);
  x.dispose();
  xt.dispose();
});

test('sliceScatter replaces a slice and differentiates into both inputs', () => {
  torch.scope(() => {
    const x = torch.zeros([2, 4], { dtype: 'float64' }).requiresGrad_();
    const s = torch.ones([2, 2], { dtype: 'float64' }).requiresGrad_();
    const y = torch.sliceScatter(x, s, 1, 0, null, 2);
    assert.deepEqual(y.tolist(), [[1, 0, 1, 0], [1, 0, 1, 0]]);
    y.mul(torch.arange(8, { dtype: 'float64' }).reshape(2, 4)).sum().backward();
    assert.deepEqual(x.grad.tolist(), [[0, 1, 0, 3], [0, 5, 0, 7]]);
    assert.deepEqual(s.grad.tolist(), [[0, 2], [4, 6]]);
    throwsMsg(() => torch.sliceScatter(x, s, 1, 0, 3), 'Expected src to have a size equal to the slice of self. src size = [2, 2], slice size = [2, 3]');
  });
});

test('cat and stack of more tensors than one core call takes (600), with grad and vmap', () => {
  const n = 600;
  const xs = Array.from({ length: n }, (_, i) => torch.tensor([i, -i, 0.5 * i]));
  for (const dim of [0, 1, -1]) {
    const s = torch.stack(xs, dim);
    assert.deepEqual(s.shape, dim === 0 ? [n, 3] : [3, n]);
    const v = s.toTypedArray();
    for (let i = 0; i < n; i++) {
      const at = (k) => (dim === 0 ? v[i * 3 + k] : v[k * n + i]);
      assert.deepEqual([at(0), at(1), at(2)], [i, -i, 0.5 * i], `stack dim ${dim}, entry ${i}`);
    }
  }
  const c = torch.cat(xs);
  assert.deepEqual(c.shape, [3 * n]);
  assert.equal(c.toTypedArray()[3 * 599 + 1], -599);
  // each input's gradient comes back through the chunked pieces
  const g = torch.func.grad((ts) => torch.stack(ts).mul(torch.arange(3 * n).reshape(n, 3)).sum())(xs);
  assert.equal(g.length, n);
  assert.deepEqual(Array.from(g[n - 1].toTypedArray()), [3 * (n - 1), 3 * (n - 1) + 1, 3 * (n - 1) + 2]);
  // under vmap every entry is batched; the result matches the batch stacked by hand
  const b = torch.func.vmap((t) => torch.stack(Array.from({ length: n }, (_, i) => t.mul(i))))(torch.tensor([[1, 2], [3, 4]]));
  assert.deepEqual(b.shape, [2, n, 2]);
  assert.deepEqual(Array.from(b.select(1, 599).toTypedArray()), [599, 1198, 1797, 2396]);
});
