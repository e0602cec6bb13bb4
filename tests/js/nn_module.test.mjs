// nn.Module and nn.Parameter: PyTorch's __setattr__ rules, registration,
// tied parameters, the named accessors' order, stateDict/loadStateDict,
// train/eval, apply, zeroGrad, the containers, reprs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../dist/index.js';

const { nn } = torch;
const P = (data, opts) => new nn.Parameter(torch.tensor(data, { dtype: 'float64' }), opts);
const keys = (o) => Object.keys(o);
const live = () => torch.memory().tensors;

class Leaf extends nn.Module {
  constructor() {
    super();
    this.w = P([1, 2]);
    this.registerBuffer('b', torch.tensor([3], { dtype: 'float64' }));
  }
  forward(x) { return x.mul(this.w).add(this.b); }
}

class Tree extends nn.Module {
  constructor() {
    super();
    this.a = P([1]);
    this.left = new Leaf();
    this.registerBuffer('buf', torch.zeros([1]));
    this.right = new Leaf();
    this.z = P([2]);
  }
}

test('Parameter is a Tensor sharing its source data, a leaf that requires grad', () => {
  const src = torch.tensor([1, 2, 3], { dtype: 'float64' });
  const p = new nn.Parameter(src);
  assert.ok(p instanceof torch.Tensor);
  assert.ok(p instanceof nn.Parameter);
  assert.equal(p.requiresGrad, true);
  assert.equal(p.isLeaf, true);
  assert.equal(src.requiresGrad, false);
  torch.noGrad(() => src.mul_(2)); // shared storage: the parameter sees it
  assert.deepEqual(p.tolist(), [2, 4, 6]);
  assert.equal(new nn.Parameter(src, false).requiresGrad, false);
  assert.equal(new nn.Parameter(src, { requiresGrad: false }).requiresGrad, false);
  assert.ok(String(p).startsWith('Parameter containing:\ntensor([2., 4., 6.]'), String(p));
  assert.deepEqual(new nn.Parameter().shape, [0]);
  assert.throws(() => new nn.Parameter(torch.tensor([1, 2], { dtype: 'int32' })), /floating point/);
  assert.throws(() => new nn.Parameter([1, 2]), /must be a Tensor/);
  // a Parameter from a non-leaf is a detached leaf
  const x = torch.tensor([1.5], { dtype: 'float64' }).requiresGrad_();
  const q = new nn.Parameter(x.mul(2));
  assert.equal(q.gradFn, null);
  assert.deepEqual(q.tolist(), [3]);
});

test('subclass constructors run on the proxy; assignment registers', () => {
  const m = new Leaf();
  assert.ok(m instanceof Leaf && m instanceof nn.Module);
  assert.deepEqual([...m._parameters.keys()], ['w']);
  assert.deepEqual([...m._buffers.keys()], ['b']);
  assert.ok(m._parameters instanceof Map && m._buffers instanceof Map && m._modules instanceof Map);
  assert.ok(m._nonPersistentBuffers instanceof Set);
  assert.equal(m.training, true);
  assert.ok('w' in m && 'b' in m && !('nope' in m));
  // class fields define rather than assign: they register too
  class Fields extends nn.Module {
    weight = P([1]);
    child = new nn.Identity();
    plain = 3;
  }
  const f = new Fields();
  assert.deepEqual(keys(f.namedParameters()), ['weight']);
  assert.deepEqual(keys(f.namedChildren()), ['child']);
  assert.equal(f.plain, 3);
  assert.ok(!Object.prototype.hasOwnProperty.call(f, 'weight'));
});

test('__setattr__ rules: parameters, modules, buffers, plain attributes', () => {
  const m = new Leaf();
  const w0 = m.w;
  // a Tensor to a buffer name replaces the buffer
  const nb = torch.tensor([7], { dtype: 'float64' });
  m.b = nb;
  assert.equal(m.b, nb);
  assert.equal(m._buffers.get('b'), nb);
  // a plain Tensor to a parameter name is PyTorch's TypeError
  assert.throws(() => { m.w = torch.ones([2]); },
    { name: 'TorchError', message: "cannot assign 'torch.FloatTensor' as parameter 'w' (torch.nn.Parameter or None expected)" });
  assert.throws(() => { m.w = torch.ones([2], { dtype: 'float64' }); }, /cannot assign 'torch.DoubleTensor' as parameter 'w'/);
  assert.equal(m.w, w0);
  // null sets the slot to null and keeps the registration
  m.w = null;
  assert.equal(m.w, null);
  assert.ok(m._parameters.has('w'));
  assert.deepEqual(keys(m.namedParameters()), []);
  m.w = w0;
  assert.equal(m.w, w0);
  m.b = null;
  assert.equal(m.b, null);
  assert.ok(m._buffers.has('b'));
  assert.throws(() => { m.b = 3; }, { message: "cannot assign 'int' as buffer 'b' (torch.Tensor or None expected)" });
  // a Parameter to a buffer's name moves it to the parameters
  const p = P([5]);
  m.b = p;
  assert.ok(!m._buffers.has('b'));
  assert.equal(m._parameters.get('b'), p);
  // modules
  const child = new nn.Identity();
  m.child = child;
  assert.equal(m.child, child);
  assert.equal(m._modules.get('child'), child);
  assert.throws(() => { m.child = 1.5; }, { message: "cannot assign 'float' as child module 'child' (torch.nn.Module or None expected)" });
  m.child = null;
  assert.equal(m.child, null);
  assert.ok(m._modules.has('child'));
  // a plain Tensor to a new name is a plain attribute (not a buffer)
  const t = torch.ones([1]);
  m.extra = t;
  assert.equal(m.extra, t);
  assert.ok(!m._buffers.has('extra'));
  m.extra = P([1]); // now a Parameter: the plain attribute goes, the parameter registers
  assert.ok(m._parameters.has('extra'));
  assert.ok(!Object.prototype.hasOwnProperty.call(m, 'extra'));
  // delete removes registrations
  delete m.extra;
  delete m.child;
  assert.ok(!m._parameters.has('extra') && !m._modules.has('child'));
  assert.equal(m.extra, undefined);
});

test('registerParameter / registerBuffer / registerModule errors', () => {
  const m = new Leaf();
  assert.throws(() => m.registerParameter('a.b', P([1])), { message: 'parameter name can\'t contain "."' });
  assert.throws(() => m.registerParameter('', P([1])), { message: 'parameter name can\'t be empty string ""' });
  assert.throws(() => m.registerParameter('b', P([1])), { message: "attribute 'b' already exists" });
  assert.throws(() => m.registerParameter('training', P([1])), { message: "attribute 'training' already exists" });
  assert.throws(() => m.registerParameter('q', torch.ones([1])),
    { message: "cannot assign 'torch.FloatTensor' object to parameter 'q' (torch.nn.Parameter or None required)" });
  m.registerParameter('none', null);
  assert.equal(m.none, null);
  assert.throws(() => m.registerBuffer('w', torch.ones([1])), { message: "attribute 'w' already exists" });
  assert.throws(() => m.registerBuffer('c.d', torch.ones([1])), { message: 'buffer name can\'t contain "."' });
  assert.throws(() => m.registerBuffer('c', 3), { message: "cannot assign 'int' object to buffer 'c' (torch Tensor or None required)" });
  assert.throws(() => m.registerModule('m', 3), { message: 'int is not a Module subclass' });
  assert.throws(() => m.registerModule('a.b', new nn.Identity()), { message: 'module name can\'t contain ".", got: a.b' });
  assert.throws(() => m.registerModule('w', new nn.Identity()), { message: "attribute 'w' already exists" });
  m.addModule('sub', new nn.Identity());
  assert.ok(m.sub instanceof nn.Identity);
});

test('non-persistent buffers are buffers but not state', () => {
  const m = new Leaf();
  m.registerBuffer('tmp', torch.ones([1]), { persistent: false });
  assert.deepEqual(keys(m.namedBuffers()), ['b', 'tmp']);
  assert.deepEqual(keys(m.stateDict()), ['w', 'b']);
  assert.ok(m._nonPersistentBuffers.has('tmp'));
  m.registerBuffer('tmp', torch.ones([1])); // re-registering as persistent
  assert.deepEqual(keys(m.stateDict()), ['w', 'b', 'tmp']);
});

test('named accessors: own entries first, then children depth-first; prefix, recurse', () => {
  const t = new Tree();
  assert.deepEqual(keys(t.namedParameters()), ['a', 'z', 'left.w', 'right.w']);
  assert.deepEqual(keys(t.namedBuffers()), ['buf', 'left.b', 'right.b']);
  assert.deepEqual(keys(t.namedParameters({ prefix: 'model' })), ['model.a', 'model.z', 'model.left.w', 'model.right.w']);
  assert.deepEqual(keys(t.namedParameters({ recurse: false })), ['a', 'z']);
  assert.equal(t.parameters().length, 4);
  assert.equal(t.parameters()[2], t.left.w);
  assert.deepEqual(t.buffers().map((b) => b.shape), [[1], [1], [1]]);
  assert.deepEqual(keys(t.namedChildren()), ['left', 'right']);
  assert.deepEqual(t.children(), [t.left, t.right]);
  assert.deepEqual(keys(t.namedModules()), ['', 'left', 'right']);
  assert.deepEqual(t.modules(), [t, t.left, t.right]);
  assert.deepEqual(keys(t.stateDict()), ['a', 'z', 'buf', 'left.w', 'left.b', 'right.w', 'right.b']);
});

test('tied parameters: one Parameter under two names', () => {
  const t = new Tree();
  t.right.w = t.left.w; // tie
  t.tied = t.a;
  assert.equal(t.right.w, t.left.w);
  assert.deepEqual(keys(t.namedParameters()), ['a', 'z', 'left.w']);
  assert.deepEqual(keys(t.namedParameters({ removeDuplicate: false })), ['a', 'z', 'tied', 'left.w', 'right.w']);
  assert.equal(t.parameters().length, 3);
  // stateDict keeps every name (as PyTorch)
  assert.deepEqual(keys(t.stateDict()), ['a', 'z', 'tied', 'buf', 'left.w', 'left.b', 'right.w', 'right.b']);
  // a shared submodule appears once in modules(), twice without removeDuplicate
  const s = new nn.Module();
  const shared = new Leaf();
  s.x = shared;
  s.y = shared;
  assert.deepEqual(keys(s.namedModules()), ['', 'x']);
  assert.deepEqual(keys(s.namedModules({ removeDuplicate: false })), ['', 'x', 'y']);
  assert.deepEqual(keys(s.namedParameters()), ['x.w']);
  assert.deepEqual(keys(s.namedParameters({ removeDuplicate: false })), ['x.w', 'y.w']);
  assert.deepEqual(s.children(), [shared]);
});

test('stateDict: detached tensors sharing storage', () => {
  const m = new Leaf();
  const sd = m.stateDict();
  assert.equal(sd.w.requiresGrad, false);
  assert.notEqual(sd.w, m.w);
  torch.noGrad(() => m.w.add_(10));
  assert.deepEqual(sd.w.tolist(), [11, 12]);
  const kv = m.stateDict({ keepVars: true });
  assert.equal(kv.w, m.w);
  assert.deepEqual(keys(m.stateDict({ prefix: 'p.' })), ['p.w', 'p.b']);
});

class Net extends nn.Module {
  constructor() {
    super();
    this.fc = new nn.Linear(2, 2, { dtype: 'float64' });
    this.registerBuffer('scale', torch.ones([2], { dtype: 'float64' }));
  }
}

test('loadStateDict copies in place (tensors, typed arrays, flat arrays)', () => {
  const m = new Net();
  const w = m.fc.weight;
  const res = m.loadStateDict({
    'fc.weight': torch.tensor([[1, 2], [3, 4]], { dtype: 'float64' }),
    'fc.bias': new Float64Array([5, 6]),
    scale: new Float32Array([7, 8]),
  });
  assert.deepEqual(res, { missingKeys: [], unexpectedKeys: [] });
  assert.equal(m.fc.weight, w); // in place: same Parameter object
  assert.equal(w.requiresGrad, true);
  assert.deepEqual(m.fc.weight.tolist(), [[1, 2], [3, 4]]);
  assert.deepEqual(m.fc.bias.tolist(), [5, 6]);
  assert.deepEqual(m.scale.tolist(), [7, 8]);
  m.loadStateDict({ 'fc.weight': new Float64Array([9, 8, 7, 6]), 'fc.bias': new Float64Array(2), scale: new Float64Array(2) });
  assert.deepEqual(m.fc.weight.tolist(), [[9, 8], [7, 6]]);
  // round trip
  const other = new Net();
  other.loadStateDict(m.stateDict());
  assert.deepEqual(other.fc.weight.tolist(), [[9, 8], [7, 6]]);
});

test('loadStateDict errors use PyTorch\'s messages and change nothing', () => {
  const m = new Net();
  const before = m.fc.weight.tolist();
  const z2 = torch.zeros([2], { dtype: 'float64' }), z32 = torch.zeros([3, 2], { dtype: 'float64' });
  const good = torch.ones([2, 2], { dtype: 'float64' });
  const n0 = live();
  assert.throws(() => m.loadStateDict({ 'fc.weight': z32, 'fc.bias': z2, scale: z2 }), {
    name: 'TorchError',
    message: 'Error(s) in loading state_dict for Net:\n\tsize mismatch for fc.weight: copying a param with shape [3, 2] from checkpoint, the shape in current model is [2, 2].',
  });
  assert.throws(() => m.loadStateDict({ 'fc.weight': new Float64Array(5) }), /size mismatch for fc.weight: copying a param with shape \[5\] from checkpoint, the shape in current model is \[2, 2\]\./);
  // missing and unexpected keys (strict)
  assert.throws(() => m.loadStateDict({ 'fc.weight': good, c: z2, 'fc.x': z2 }), {
    message: 'Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: "scale", "fc.bias". \n\tUnexpected key(s) in state_dict: "c", "fc.x". ',
  });
  // all-or-nothing: the good key was not copied
  assert.deepEqual(m.fc.weight.tolist(), before);
  assert.throws(() => m.loadStateDict({ 'fc.weight': good, 'fc.bias': 'x', scale: good }), /While copying the parameter named "fc.bias", expected torch.Tensor or Tensor-like object from checkpoint but received str/);
  assert.deepEqual(m.fc.weight.tolist(), before);
  assert.equal(live(), n0, 'no tensors leaked by failed loads');
  assert.throws(() => m.loadStateDict({ 'fc.weight': good, 'fc.bias': z2, scale: new Float64Array(3) }), /size mismatch for scale/);
  assert.deepEqual(m.fc.weight.tolist(), before);
  assert.equal(live(), n0);
  // non-strict: returns the keys, copies what matches
  const r = m.loadStateDict({ 'fc.bias': new Float64Array([1, 1]), extra: torch.ones([1]) }, { strict: false });
  assert.deepEqual(r, { missingKeys: [], unexpectedKeys: [] });
  assert.deepEqual(m.fc.bias.tolist(), [1, 1]);
  assert.throws(() => m.loadStateDict(null), /Expected state_dict to be dict-like/);
});

test('loadStateDict with typed arrays leaks no tensors', () => {
  const m = new Net();
  const sd = { 'fc.weight': new Float64Array(4), 'fc.bias': new Float64Array(2), scale: new Float64Array(2) };
  m.loadStateDict(sd);
  const n0 = live();
  for (let i = 0; i < 20; i++) m.loadStateDict(sd);
  assert.equal(live(), n0);
});

test('train / eval propagate; apply visits children first', () => {
  const t = new Tree();
  assert.equal(t.eval(), t);
  assert.deepEqual(t.modules().map((m) => m.training), [false, false, false]);
  t.train();
  assert.deepEqual(t.modules().map((m) => m.training), [true, true, true]);
  t.left.train(false);
  assert.deepEqual(t.modules().map((m) => m.training), [true, false, true]);
  assert.throws(() => t.train('yes'), { message: 'training mode is expected to be boolean' });
  const order = [];
  t.apply((m) => order.push(m === t ? 'root' : m === t.left ? 'left' : 'right'));
  assert.deepEqual(order, ['left', 'right', 'root']);
});

test('zeroGrad clears gradients (or zeroes them in place)', () => {
  const m = new Leaf();
  m.forward(torch.tensor([1, 1], { dtype: 'float64' })).sum().backward();
  assert.deepEqual(m.w.grad.tolist(), [1, 1]);
  m.zeroGrad({ setToNone: false });
  assert.deepEqual(m.w.grad.tolist(), [0, 0]);
  m.zeroGrad();
  assert.equal(m.w.grad, null);
});

test('getSubmodule, getParameter, getBuffer', () => {
  const t = new Tree();
  assert.equal(t.getSubmodule(''), t);
  assert.equal(t.getSubmodule('left'), t.left);
  assert.equal(t.getParameter('left.w'), t.left.w);
  assert.equal(t.getParameter('a'), t.a);
  assert.equal(t.getBuffer('right.b'), t.right.b);
  assert.throws(() => t.getSubmodule('left.nope'), { message: 'Leaf has no attribute `nope`' });
  assert.throws(() => t.getSubmodule('a'), { message: '`a` is not an nn.Module' });
  assert.throws(() => t.getParameter('buf'), { message: '`buf` is not an nn.Parameter' });
  assert.throws(() => t.getBuffer('a'), { message: '`a` is not a buffer' });
});

test('reprs follow PyTorch', () => {
  class Model extends nn.Module {
    constructor() {
      super();
      this.features = new nn.Sequential(new nn.Conv2d(1, 8, 3, { padding: 1 }), new nn.ReLU(), new nn.MaxPool2d(2));
      this.head = new nn.Linear(3, 2, { bias: false });
      this.none = null;
    }
  }
  assert.equal(String(new Model()), [
    'Model(',
    '  (features): Sequential(',
    '    (0): Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))',
    '    (1): ReLU()',
    '    (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)',
    '  )',
    '  (head): Linear(in_features=3, out_features=2, bias=False)',
    ')',
  ].join('\n'));
  assert.equal(String(new nn.Linear(3, 2)), 'Linear(in_features=3, out_features=2, bias=True)');
  assert.equal(String(new nn.BatchNorm1d(4)), 'BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
  assert.equal(String(new nn.LayerNorm([2, 3])), 'LayerNorm((2, 3), eps=1e-05, elementwise_affine=True)');
  assert.equal(String(new nn.GroupNorm(2, 4)), 'GroupNorm(2, 4, eps=1e-05, affine=True)');
  assert.equal(String(new nn.Dropout()), 'Dropout(p=0.5, inplace=False)');
  assert.equal(String(new nn.LeakyReLU()), 'LeakyReLU(negative_slope=0.01)');
  assert.equal(String(new nn.GELU({ approximate: 'tanh' })), "GELU(approximate='tanh')");
  assert.equal(String(new nn.Softmax(1)), 'Softmax(dim=1)');
  assert.equal(String(new nn.Embedding(10, 3, { paddingIdx: -1 })), 'Embedding(10, 3, padding_idx=9)');
  assert.equal(String(new nn.Conv2d(4, 4, [3, 2], { stride: 2, groups: 2, dilation: [1, 2], bias: false, paddingMode: 'reflect' })),
    'Conv2d(4, 4, kernel_size=(3, 2), stride=(2, 2), dilation=(1, 2), groups=2, bias=False, padding_mode=reflect)');
  assert.equal(String(new nn.Conv1d(2, 2, 4, { padding: 'same' })), 'Conv1d(2, 2, kernel_size=(4,), stride=(1,), padding=same)');
  assert.equal(String(new nn.ConvTranspose2d(2, 3, 3, 2, 1, 1)),
    'ConvTranspose2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))');
  assert.equal(String(new nn.AvgPool2d(3, 2, 1)), 'AvgPool2d(kernel_size=3, stride=2, padding=1)');
  assert.equal(String(new nn.AdaptiveAvgPool2d([null, 2])), 'AdaptiveAvgPool2d(output_size=(None, 2))');
  assert.equal(String(new nn.Flatten()), 'Flatten(start_dim=1, end_dim=-1)');
  assert.equal(String(new nn.MultiheadAttention(4, 2)),
    'MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=4, out_features=4, bias=True)\n)');
  assert.equal(String(new nn.ModuleDict({ a: new nn.Tanh() })), 'ModuleDict(\n  (a): Tanh()\n)');
  assert.equal(new nn.Linear(1, 1)._getName(), 'Linear');
});

test('forward must be defined', () => {
  assert.throws(() => new nn.Module().forward(1), { message: 'Module [Module] is missing the required "forward" function' });
  const m = new Leaf();
  const x = torch.tensor([1, 1], { dtype: 'float64' });
  assert.deepEqual(m.call(x).tolist(), [4, 5]);
});

test('Sequential: names, indexing, append/insert/delete, iteration', () => {
  const a = new nn.Identity(), b = new nn.Tanh(), c = new nn.ReLU();
  const s = new nn.Sequential(a, b);
  assert.equal(s.length, 2);
  assert.equal(s.get(0), a);
  assert.equal(s.get(-1), b);
  assert.throws(() => s.get(2), { message: 'index 2 is out of range' });
  assert.throws(() => s.get(-3), { message: 'index -3 is out of range' });
  s.append(c);
  assert.deepEqual([...s], [a, b, c]);
  assert.deepEqual([...s._modules.keys()], ['0', '1', '2']);
  const d = new nn.Sigmoid();
  s.insert(1, d);
  assert.deepEqual([...s], [a, d, b, c]);
  assert.deepEqual([...s._modules.keys()], ['0', '1', '2', '3']);
  assert.throws(() => s.insert(9, d), { message: 'Index out of range: 9' });
  s.delete(0);
  assert.deepEqual([...s], [d, b, c]);
  assert.deepEqual([...s._modules.keys()], ['0', '1', '2']);
  s.set(-1, a);
  assert.equal(s.get(2), a);
  const sl = s.slice(1, 3);
  assert.ok(sl instanceof nn.Sequential);
  assert.deepEqual([...sl], [b, a]);
  assert.deepEqual([...sl._modules.keys()], ['1', '2']);
  const named = new nn.Sequential({ fc: new nn.Linear(2, 2), act: new nn.ReLU() });
  assert.deepEqual(keys(named.namedParameters()), ['fc.weight', 'fc.bias']);
  assert.deepEqual(keys(new nn.Sequential(new nn.Linear(2, 2), new nn.ReLU(), new nn.Linear(2, 1)).namedParameters()),
    ['0.weight', '0.bias', '2.weight', '2.bias']);
  // an empty Sequential is the identity
  const x = torch.ones([2]);
  assert.equal(new nn.Sequential().forward(x), x);
});

test('ModuleList: get/set/length/append/extend/insert/iterate', () => {
  const l = new nn.ModuleList([new nn.Linear(1, 1), new nn.Linear(1, 2)]);
  assert.equal(l.length, 2);
  assert.deepEqual(keys(l.namedParameters()), ['0.weight', '0.bias', '1.weight', '1.bias']);
  const t = new nn.Tanh();
  l.append(t);
  assert.equal(l.get(2), t);
  assert.equal(l.get(-1), t);
  l.extend([new nn.ReLU(), new nn.Sigmoid()]);
  assert.equal(l.length, 5);
  const g = new nn.GELU();
  l.insert(1, g);
  assert.equal(l.get(1), g);
  assert.equal(l.get(3), t);
  assert.deepEqual([...l._modules.keys()], ['0', '1', '2', '3', '4', '5']);
  l.set(0, t);
  assert.equal(l.get(0), t);
  assert.throws(() => l.get(6), { message: 'index 6 is out of range' });
  assert.throws(() => l.extend(3), { message: 'ModuleList.extend should be called with an iterable, but got int' });
  l.delete(1);
  assert.equal(l.length, 5);
  assert.deepEqual([...l._modules.keys()], ['0', '1', '2', '3', '4']);
  assert.equal([...l].length, 5);
  const last = l.get(4);
  assert.equal(l.pop(), last);
  assert.equal(l.length, 4);
  assert.throws(() => l.forward(1), /missing the required "forward" function/);
});

test('ModuleDict: get/set/keys/values/items/has/delete keep insertion order', () => {
  const a = new nn.Tanh(), b = new nn.ReLU();
  // a plain object enumerates integer-like keys first (JavaScript's rule);
  // an array of pairs or a Map gives any order
  const d = new nn.ModuleDict({ z: a, '1': b });
  assert.deepEqual(d.keys(), ['1', 'z']);
  const d2 = new nn.ModuleDict([['z', a], ['1', b]]);
  assert.deepEqual(d2.keys(), ['z', '1']);
  assert.deepEqual(d2.values(), [a, b]);
  assert.deepEqual(d2.items(), [['z', a], ['1', b]]);
  assert.ok(d2.has('z') && !d2.has('q'));
  assert.equal(d2.get('1'), b);
  assert.throws(() => d2.get('q'), /KeyError: 'q'/);
  const c = new nn.Sigmoid();
  d2.set('c', c);
  assert.deepEqual([...d2], ['z', '1', 'c']);
  d2.delete('z');
  assert.deepEqual(d2.keys(), ['1', 'c']);
  assert.equal(d2.pop('c'), c);
  assert.equal(d2.length, 1);
  assert.throws(() => d2.set('keys', c), { message: "attribute 'keys' already exists" });
  d2.update({ e: new nn.Identity() });
  assert.deepEqual(d2.keys(), ['1', 'e']);
  d2.clear();
  assert.equal(d2.length, 0);
});

test('to(dtype) converts floating-point state, keeps ties and integer buffers', () => {
  const m = new nn.Sequential(new nn.Linear(2, 2), new nn.BatchNorm1d(2));
  m.tie = m.get(0).weight;
  const w = m.get(0).weight;
  m.double();
  assert.equal(m.get(0).weight.dtype, 'float64');
  assert.equal(m.get(0).weight.requiresGrad, true);
  assert.ok(m.get(0).weight instanceof nn.Parameter);
  assert.equal(m.tie, m.get(0).weight);
  assert.deepEqual(m.get(0).weight.tolist().flat().map((v) => Math.fround(v)), w.tolist().flat());
  assert.equal(m.get(1).running_mean.dtype, 'float64');
  assert.equal(m.get(1).num_batches_tracked.dtype, 'int32');
  m.float();
  assert.equal(m.get(0).weight.dtype, 'float32');
});

test('layer constructors: PyTorch shapes, defaults, argument spellings and errors', () => {
  const l = new nn.Linear(3, 2, { bias: false });
  assert.equal(l.bias, null);
  assert.deepEqual(keys(l.namedParameters()), ['weight']);
  assert.deepEqual(new nn.Linear(3, 2, false).namedParameters().weight.shape, [2, 3]);
  const c = new nn.Conv2d(1, 8, 3, { padding: 1 });
  assert.deepEqual(c.weight.shape, [8, 1, 3, 3]);
  assert.deepEqual(c.padding, [1, 1]);
  assert.deepEqual(new nn.Conv2d(1, 8, 3, 2, 1).stride, [2, 2]);
  assert.deepEqual(new nn.Conv2d(4, 6, [3, 5], { groups: 2 }).weight.shape, [6, 2, 3, 5]);
  assert.deepEqual(new nn.Conv1d(4, 6, 3).weight.shape, [6, 4, 3]);
  assert.deepEqual(new nn.ConvTranspose2d(4, 6, 3, { groups: 2 }).weight.shape, [4, 3, 3, 3]);
  assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), { message: 'in_channels must be divisible by groups' });
  assert.throws(() => new nn.Conv2d(4, 3, 3, { groups: 2 }), { message: 'out_channels must be divisible by groups' });
  assert.throws(() => new nn.Conv2d(4, 4, 3, { groups: 0 }), { message: 'groups must be a positive integer' });
  assert.throws(() => new nn.Conv2d(1, 1, 3, { padding: 'full' }), /Invalid padding string 'full'/);
  assert.throws(() => new nn.Conv2d(1, 1, 3, { padding: 'same', stride: 2 }), { message: "padding='same' is not supported for strided convolutions" });
  assert.throws(() => new nn.Conv2d(1, 1, 3, { paddingMode: 'mirror' }), /padding_mode must be one of/);
  assert.throws(() => new nn.ConvTranspose2d(1, 1, 3, { paddingMode: 'reflect' }), { message: 'Only "zeros" padding mode is supported for ConvTranspose2d' });
  assert.throws(() => new nn.Linear(3, 2, { bais: false }), /unexpected keyword argument 'bais'/);
  const bn = new nn.BatchNorm2d(3);
  assert.deepEqual(keys(bn.namedParameters()), ['weight', 'bias']);
  assert.deepEqual(keys(bn.namedBuffers()), ['running_mean', 'running_var', 'num_batches_tracked']);
  assert.deepEqual(bn.weight.tolist(), [1, 1, 1]);
  assert.deepEqual(bn.bias.tolist(), [0, 0, 0]);
  assert.deepEqual(bn.running_mean.tolist(), [0, 0, 0]);
  assert.deepEqual(bn.running_var.tolist(), [1, 1, 1]);
  assert.equal(bn.num_batches_tracked.item(), 0);
  assert.equal(bn.num_batches_tracked.dtype, 'int32');
  assert.deepEqual(bn.num_batches_tracked.shape, []);
  const bn2 = new nn.BatchNorm1d(2, { affine: false, trackRunningStats: false });
  assert.deepEqual(keys(bn2.namedParameters()), []);
  assert.deepEqual(keys(bn2.namedBuffers()), []);
  assert.equal(bn2.running_mean, null);
  assert.ok(bn2._buffers.has('num_batches_tracked'));
  const ln = new nn.LayerNorm([2, 3]);
  assert.deepEqual(ln.weight.shape, [2, 3]);
  assert.throws(() => new nn.GroupNorm(3, 4), { message: 'num_channels must be divisible by num_groups' });
  const e = new nn.Embedding(5, 3, { paddingIdx: 2 });
  assert.deepEqual(e.weight.tolist()[2], [0, 0, 0]);
  assert.throws(() => new nn.Embedding(5, 3, { paddingIdx: 5 }), { message: 'Padding_idx must be within num_embeddings' });
  assert.throws(() => new nn.Embedding(5, 3, { paddingIdx: -6 }), { message: 'Padding_idx must be within num_embeddings' });
  const pre = torch.ones([4, 2]);
  const ep = nn.Embedding.fromPretrained(pre);
  assert.equal(ep.weight.requiresGrad, false);
  assert.deepEqual(ep.weight.shape, [4, 2]);
  assert.equal(nn.Embedding.fromPretrained(pre, { freeze: false }).weight.requiresGrad, true);
  assert.throws(() => new nn.Dropout(1.5), { message: 'dropout probability has to be between 0 and 1, but got 1.5' });
  const mha = new nn.MultiheadAttention(4, 2);
  assert.deepEqual(keys(mha.namedParameters()), ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
  assert.deepEqual(mha.in_proj_weight.shape, [12, 4]);
  assert.deepEqual(mha.in_proj_bias.tolist(), new Array(12).fill(0));
  assert.deepEqual(mha.out_proj.bias.tolist(), [0, 0, 0, 0]);
  assert.equal(mha.q_proj_weight, null);
  const mha2 = new nn.MultiheadAttention(4, 2, { kdim: 3, vdim: 5, addBiasKv: true, bias: false });
  assert.deepEqual(keys(mha2.namedParameters()), ['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'bias_k', 'bias_v', 'out_proj.weight']);
  assert.deepEqual(mha2.k_proj_weight.shape, [4, 3]);
  assert.throws(() => new nn.MultiheadAttention(5, 2), { message: 'embed_dim must be divisible by num_heads' });
  assert.equal(new nn.Linear(2, 2, { dtype: 'float64' }).weight.dtype, 'float64');
});

test('default initialisation: PyTorch\'s bounds and statistics', () => {
  torch.manualSeed(3);
  const l = new nn.Linear(400, 300);
  const w = l.weight.toTypedArray(), b = l.bias.toTypedArray();
  const bound = 1 / Math.sqrt(400); // kaiming_uniform_(a=sqrt(5)) on fan_in 400
  const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(maxAbs(w) <= bound && maxAbs(w) > 0.97 * bound, `weight bound ${maxAbs(w)} vs ${bound}`);
  assert.ok(maxAbs(b) <= bound && maxAbs(b) > 0.9 * bound);
  const variance = (a) => { const m = a.reduce((s, v) => s + v, 0) / a.length; return a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length; };
  assert.ok(Math.abs(variance(w) - bound * bound / 3) < 0.05 * bound * bound / 3);
  const c = new nn.Conv2d(8, 16, 3);
  const cb = 1 / Math.sqrt(8 * 9);
  assert.ok(maxAbs(c.weight.toTypedArray()) <= cb && maxAbs(c.bias.toTypedArray()) <= cb);
  const ct = new nn.ConvTranspose2d(8, 16, 3); // fan_in = weight.size(1) * k*k = 16*9
  assert.ok(maxAbs(ct.bias.toTypedArray()) <= 1 / Math.sqrt(16 * 9));
  const e = new nn.Embedding(200, 50);
  const ev = e.weight.toTypedArray();
  assert.ok(Math.abs(variance(ev) - 1) < 0.05);
  const mha = new nn.MultiheadAttention(16, 4);
  const xa = Math.sqrt(6 / (16 + 48));
  assert.ok(maxAbs(mha.in_proj_weight.toTypedArray()) <= xa);
  // nn.init
  const t = torch.zeros([100, 50]);
  nn.init.constant_(t, 0.5);
  assert.equal(t.toTypedArray()[17], 0.5);
  nn.init.zeros_(t); nn.init.ones_(t);
  assert.equal(t.toTypedArray()[3], 1);
  nn.init.xavierNormal_(t);
  assert.ok(Math.abs(variance(t.toTypedArray()) - 2 / 150) < 0.1 * 2 / 150);
  nn.init.kaimingNormal_(t, { mode: 'fan_out', nonlinearity: 'relu' });
  assert.ok(Math.abs(variance(t.toTypedArray()) - 2 / 100) < 0.1 * 2 / 100);
  nn.init.uniform_(t, -2, -1);
  assert.ok(t.toTypedArray().every((v) => v >= -2 && v <= -1));
  nn.init.normal_(t, { mean: 3, std: 0.01 });
  assert.ok(Math.abs(t.toTypedArray()[0] - 3) < 0.1);
  nn.init.eye_(t);
  assert.equal(t.toTypedArray()[51], 1);
  assert.equal(nn.init.calculateGain('leaky_relu', 0.2), Math.sqrt(2 / 1.04));
  assert.equal(nn.init.calculateGain('tanh'), 5 / 3);
  assert.throws(() => nn.init.calculateGain('swish'), { message: 'Unsupported nonlinearity swish' });
  assert.throws(() => nn.init.kaimingUniform_(torch.zeros([3])), { message: 'Fan in and fan out can not be computed for tensor with fewer than 2 dimensions' });
  assert.throws(() => nn.init.kaimingUniform_(t, { mode: 'fan_avg' }), { message: 'Mode fan_avg not supported, please use one of fan_in, fan_out' });
  // initialisers run without recording: a parameter stays a leaf
  const p = new nn.Parameter(torch.zeros([3, 3]));
  nn.init.kaimingUniform_(p);
  assert.equal(p.gradFn, null);
  assert.equal(p.requiresGrad, true);
});

test('nn.init checks every argument before touching the tensor: TorchErrors naming it, nothing leaked', () => {
  const t = torch.ones([4, 3]), empty = torch.zeros([0, 3]);
  const before = live();
  const refused = (fn, message) => assert.throws(fn, (e) => e instanceof torch.TorchError && e.message === message, message);
  refused(() => nn.init.calculateGain(Symbol('s')), 'Unsupported nonlinearity Symbol(s)');
  refused(() => nn.init.calculateGain(null), 'Unsupported nonlinearity null');
  refused(() => nn.init.calculateGain('leaky_relu', 'x'), "negative_slope 'x' not a valid number");
  refused(() => nn.init.calculateGain('leaky_relu', 1n), 'negative_slope 1n not a valid number');
  refused(() => nn.init.uniform_(t, 0, null), 'uniform_(): b must be a number, got null');
  refused(() => nn.init.uniform_(t, { a: Symbol('a') }), 'uniform_(): a must be a number, got Symbol(a)');
  refused(() => nn.init.normal_(t, 'abc'), "normal_(): mean must be a number, got 'abc'");
  refused(() => nn.init.normal_(t, 0, 1n), 'normal_(): std must be a number, got 1n');
  refused(() => nn.init.xavierUniform_(t, 1n), 'xavierUniform_(): gain must be a number, got 1n');
  refused(() => nn.init.xavierNormal_(t, { gain: Symbol('g') }), 'xavierNormal_(): gain must be a number, got Symbol(g)');
  refused(() => nn.init.kaimingUniform_(t, 0, Symbol('m')), 'Mode Symbol(m) not supported, please use one of fan_in, fan_out');
  refused(() => nn.init.kaimingNormal_(t, { nonlinearity: 7 }), 'Unsupported nonlinearity 7');
  refused(() => nn.init.kaimingUniform_(empty, { mode: 'fan_avg' }), 'Mode fan_avg not supported, please use one of fan_in, fan_out');
  refused(() => nn.init._calculateFanInAndFanOut(null), '_calculateFanInAndFanOut(): tensor must be a Tensor, got null');
  refused(() => nn.init._calculateFanInAndFanOut('abc'), "_calculateFanInAndFanOut(): tensor must be a Tensor, got 'abc'");
  refused(() => nn.init.constant_(undefined, 1), 'constant_(): tensor must be a Tensor, got undefined');
  assert.equal(live(), before, 'a refused initialiser leaves no tensor behind');
  assert.ok(t.toTypedArray().every((v) => v === 1), 'and does not touch the tensor');
  assert.equal(nn.init.kaimingUniform_(empty), empty, 'a zero-element tensor is left as it is, as PyTorch');
  t.dispose(); empty.dispose();
});

test('layer constructors check every argument before making a parameter', () => {
  const before = live();
  assert.throws(() => new nn.Linear(3, 2, 'yes'), { name: 'TorchError', message: "Linear: bias must be a boolean, got 'yes'" });
  assert.throws(() => new nn.Bilinear(3, 3, 2, { bias: 1 }), { message: 'Bilinear: bias must be a boolean, got 1' });
  assert.throws(() => new nn.Conv2d(1, 1, 3, { bias: null }), { message: 'Conv2d: bias must be a boolean, got null' });
  assert.throws(() => new nn.MultiheadAttention(4, 2, { kdim: 'k' }), { message: "MultiheadAttention: kdim must be an integer >= 1, got 'k'" });
  assert.throws(() => new nn.MultiheadAttention(4, 2, { addBiasKv: 'no' }), { message: "MultiheadAttention: add_bias_kv must be a boolean, got 'no'" });
  assert.throws(() => new nn.MultiheadAttention(4, 2, { bias: 0 }), { message: 'MultiheadAttention: bias must be a boolean, got 0' });
  assert.equal(live(), before, 'a refused constructor leaves no parameter behind');
});

test('a refused assignment changes nothing', () => {
  const m = new Leaf();
  const b = m.b;
  assert.throws(() => { m.forward = P([1]); }, { message: "attribute 'forward' already exists" });
  assert.equal(typeof m.forward, 'function');
  assert.throws(() => { m['a.b'] = P([1]); }, { message: 'parameter name can\'t contain "."' });
  assert.equal(m.b, b);
  assert.deepEqual([...m._buffers.keys()], ['b']);
  m.b = P([2]); // accepted: the buffer b becomes a parameter
  assert.deepEqual([...m._buffers.keys()], []);
  assert.deepEqual([...m._parameters.keys()], ['w', 'b']);
});
