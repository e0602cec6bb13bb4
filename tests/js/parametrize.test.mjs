// nn.utils.parametrize: registration (rightInverse honoured), the
// parametrized accessor, assignment through rightInverse, chaining, caching,
// removal both ways, errors with PyTorch's texts, and the functionalCall
// bypass hook (_parametrizationBypass).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../../dist/index.js';

const { nn } = torch;
const P = nn.utils.parametrize;
const f64 = (d) => torch.tensor(d, { dtype: 'float64' });

class Symmetric extends nn.Module {
  forward(X) { return X.triu().add(X.triu(1).t()); }
  rightInverse(A) { return A.triu(); }
}
class Double extends nn.Module {
  forward(X) { return X.mul(2); }
}
class InvDouble extends nn.Module {
  forward(X) { return X.mul(2); }
  rightInverse(Y) { return Y.div(2); }
}
class AddOne extends nn.Module {
  forward(X) { return X.add(1); }
  rightInverse(Y) { return Y.sub(1); }
}
class Shrink extends nn.Module {
  forward(X) { return X.select(0, 0); }
}

function linear22() {
  const m = new nn.Linear(2, 2, { dtype: 'float64' });
  m.loadStateDict({ weight: new Float64Array([1, 2, 3, 4]), bias: new Float64Array([0, 0]) });
  return m;
}
/** y = x Wᵀ + b in plain ops, reading the (parametrized) weight through the module. */
const apply = (m, x) => x.matmul(m.weight.t()).add(m.bias);

test('registerParametrization: rightInverse at registration, accessor, class, names (P-01)', () => {
  const m = linear22();
  const w = m.weight;
  assert.equal(P.registerParametrization(m, 'weight', new Symmetric()), m);
  const orig = m.parametrizations.weight.original;
  assert.equal(orig, w, 'the original Parameter keeps its identity');
  assert.deepEqual(orig.tolist(), [[1, 2], [0, 4]]);
  assert.deepEqual(m.weight.tolist(), [[1, 2], [2, 4]]);
  assert.ok(!(m.weight instanceof nn.Parameter));
  assert.notEqual(m.weight, m.weight, 'each read recomputes');
  assert.deepEqual(Object.keys(m.namedParameters()), ['bias', 'parametrizations.weight.original']);
  assert.deepEqual(Object.keys(m.stateDict()), ['bias', 'parametrizations.weight.original']);
  assert.equal(m.constructor.name, 'ParametrizedLinear');
  assert.equal(m._getName(), 'ParametrizedLinear');
  assert.ok(m instanceof nn.Linear);
  assert.equal(P.typeBeforeParametrizations(m), nn.Linear);
  assert.ok(P.isParametrized(m));
  assert.ok(P.isParametrized(m, 'weight'));
  assert.ok(!P.isParametrized(m, 'bias'));
  assert.ok(!P.isParametrized(new nn.Linear(1, 1)));
  assert.deepEqual(apply(m, f64([[1, 1]])).tolist(), [[3, 6]]);
  // gradients reach the original through the parametrization
  m.weight.sum().backward();
  assert.deepEqual(orig.grad.tolist(), [[1, 2], [0, 1]]);
  assert.ok(String(m).startsWith('ParametrizedLinear(\n  in_features=2, out_features=2, bias=True\n  (parametrizations): ModuleDict(\n    (weight): ParametrizationList(\n      (0): Symmetric()'), String(m));
});

test('assigning to a parametrized tensor runs rightInverse (P-02) or throws (P-06)', () => {
  const m = linear22();
  P.registerParametrization(m, 'weight', new Symmetric());
  const orig = m.parametrizations.weight.original;
  m.weight = f64([[5, 6], [6, 7]]);
  assert.equal(m.parametrizations.weight.original, orig);
  assert.deepEqual(orig.tolist(), [[5, 6], [0, 7]]);
  assert.deepEqual(m.weight.tolist(), [[5, 6], [6, 7]]);
  assert.equal(orig.gradFn, null, 'written without recording');
  assert.throws(() => { m.weight = new nn.Parameter(f64([[1, 1], [1, 1]])); }, { message: "attribute 'weight' already exists" });

  const l = new nn.Linear(1, 1, { dtype: 'float64' });
  l.loadStateDict({ weight: new Float64Array([3]), bias: new Float64Array([0.5]) });
  P.registerParametrization(l, 'weight', new Double());
  assert.deepEqual(l.weight.tolist(), [[6]]);
  assert.throws(() => { l.weight = f64([[1]]); }, { name: 'TorchError', message: 'parametrization Double does not implement right_inverse.' });
  assert.deepEqual(l.parametrizations.weight.original.tolist(), [[3]]);
});

test('chained parametrizations apply in order and invert in reverse (P-07)', () => {
  const l = new nn.Linear(1, 1, { dtype: 'float64' });
  l.loadStateDict({ weight: new Float64Array([3]), bias: new Float64Array([0]) });
  P.registerParametrization(l, 'weight', new Double());
  P.registerParametrization(l, 'weight', new AddOne());
  assert.deepEqual(l.weight.tolist(), [[7]]);
  assert.deepEqual(l.parametrizations.weight.original.tolist(), [[3]], 'a later registration leaves original as it is');
  assert.equal(l.parametrizations.weight.length, 2);
  assert.throws(() => { l.weight = f64([[1]]); }, { message: 'parametrization Double does not implement right_inverse.' });
  assert.deepEqual(l.parametrizations.weight.original.tolist(), [[3]]);

  const k = new nn.Linear(1, 1, { dtype: 'float64' });
  k.loadStateDict({ weight: new Float64Array([3]), bias: new Float64Array([0]) });
  P.registerParametrization(k, 'weight', new InvDouble());
  assert.deepEqual(k.parametrizations.weight.original.tolist(), [[1.5]], 'the first registration applies rightInverse');
  P.registerParametrization(k, 'weight', new AddOne());
  assert.deepEqual(k.weight.tolist(), [[4]]);
  k.weight = f64([[9]]); // AddOne⁻¹ then InvDouble⁻¹: (9 - 1) / 2
  assert.deepEqual(k.parametrizations.weight.original.tolist(), [[4]]);
  assert.deepEqual(k.weight.tolist(), [[9]]);
  // a second registration is checked against the current value
  assert.throws(() => P.registerParametrization(l, 'weight', new Shrink()),
    { message: 'Registering a parametrization may not change the shape of the tensor, unless the `unsafe` flag is enabled.\nmodule.weight.shape: torch.Size([1, 1])\nparametrization(module.weight).shape: torch.Size([1])' });
  assert.equal(l.parametrizations.weight.length, 2);
  const d = new Double();
  P.registerParametrization(l, 'weight', d);
  assert.deepEqual(l.weight.tolist(), [[14]]);
  assert.throws(() => { l.weight = f64([[1]]); }, { message: 'parametrization Double does not implement right_inverse.' });
});

test('removeParametrizations with leaveParametrized true and false (P-04)', () => {
  for (const leave of [true, false]) {
    const m = linear22();
    P.registerParametrization(m, 'weight', new Symmetric());
    m.weight = f64([[5, 6], [6, 7]]);
    const orig = m.parametrizations.weight.original;
    assert.equal(P.removeParametrizations(m, 'weight', { leaveParametrized: leave }), m);
    assert.ok(m.weight instanceof nn.Parameter);
    assert.equal(m.weight, orig, 'the original Parameter is the parameter again');
    assert.deepEqual(m.weight.tolist(), leave ? [[5, 6], [6, 7]] : [[5, 6], [0, 7]]);
    assert.deepEqual(Object.keys(m.namedParameters()), ['bias', 'weight']);
    assert.equal(m.constructor, nn.Linear);
    assert.equal(Object.getPrototypeOf(m), nn.Linear.prototype);
    assert.ok(!('parametrizations' in m));
    assert.ok(!P.isParametrized(m));
    assert.equal(m.weight.requiresGrad, true);
    assert.equal(m.weight.gradFn, null);
    // plain module behaviour is back: a tensor to a parameter name is an error
    assert.throws(() => { m.weight = f64([[1, 1], [1, 1]]); }, /cannot assign 'torch.DoubleTensor' as parameter 'weight'/);
  }
  assert.throws(() => P.removeParametrizations(new nn.Linear(1, 1), 'weight'),
    { message: 'Module Linear(in_features=1, out_features=1, bias=True) does not have a parametrization on weight' });
});

test('two parametrized tensors: the class stays until the last one is removed', () => {
  const m = linear22();
  P.registerParametrization(m, 'weight', new Symmetric());
  P.registerParametrization(m, 'bias', new AddOne());
  assert.deepEqual(m.parametrizations.bias.original.tolist(), [-1, -1]);
  assert.deepEqual(m.bias.tolist(), [0, 0]);
  assert.deepEqual(Object.keys(m.namedParameters()), ['parametrizations.weight.original', 'parametrizations.bias.original']);
  P.removeParametrizations(m, 'weight');
  assert.equal(m.constructor.name, 'ParametrizedLinear');
  assert.ok(P.isParametrized(m, 'bias') && !P.isParametrized(m, 'weight'));
  P.removeParametrizations(m, 'bias', { leaveParametrized: false });
  assert.equal(m.constructor, nn.Linear);
  assert.deepEqual(m.bias.tolist(), [-1, -1]);
  assert.deepEqual(Object.keys(m.namedParameters()), ['weight', 'bias']);
});

test('buffers can be parametrized; originals stay buffers', () => {
  class M extends nn.Module {
    constructor() { super(); this.registerBuffer('buf', f64([1, 2])); }
  }
  const m = new M();
  P.registerParametrization(m, 'buf', new AddOne());
  assert.deepEqual(m.parametrizations.buf.original.tolist(), [0, 1]);
  assert.deepEqual(m.buf.tolist(), [1, 2]);
  assert.deepEqual(Object.keys(m.namedBuffers()), ['parametrizations.buf.original']);
  assert.deepEqual(Object.keys(m.namedParameters()), []);
  P.removeParametrizations(m, 'buf');
  assert.deepEqual(Object.keys(m.namedBuffers()), ['buf']);
  assert.deepEqual(m.buf.tolist(), [1, 2]);
});

test('errors with PyTorch\'s messages leave the module unchanged (P-05)', () => {
  const m = new nn.Linear(2, 2);
  assert.throws(() => P.registerParametrization(m, 'foo', new Double()),
    { message: "Module 'Linear(in_features=2, out_features=2, bias=True)' does not have a parameter, a buffer, or a parametrized element with name 'foo'" });
  const w = m.weight, before = w.tolist();
  assert.throws(() => P.registerParametrization(m, 'weight', new Shrink()),
    { message: 'Registering a parametrization may not change the shape of the tensor, unless `unsafe` flag is enabled.\nunparametrized shape: torch.Size([2, 2])\nparametrized shape: torch.Size([2])' });
  class ToDouble extends nn.Module { forward(X) { return X.double(); } }
  assert.throws(() => P.registerParametrization(m, 'weight', new ToDouble()),
    { message: 'Registering a parametrization may not change the dtype of the tensor, unless `unsafe` flag is enabled.\nunparametrized dtype: torch.float32\nparametrized dtype: torch.float64' });
  class BadInverse extends nn.Module { forward(X) { return X.select(0, 0); } rightInverse(X) { return X.mul(10); } }
  assert.throws(() => P.registerParametrization(m, 'weight', new BadInverse()), /may not change the shape/);
  assert.equal(m.weight, w);
  assert.deepEqual(w.tolist(), before, 'a failed registration does not write rightInverse\'s value');
  assert.equal(m.constructor, nn.Linear);
  assert.ok(!P.isParametrized(m));
  class NotTensor extends nn.Module { forward() { return 3; } }
  assert.throws(() => P.registerParametrization(m, 'weight', new NotTensor()), { message: 'A parametrization must return a tensor. Got int.' });
  class InvDtype extends nn.Module { forward(X) { return X; } rightInverse(X) { return X.double(); } }
  assert.throws(() => P.registerParametrization(m, 'weight', new InvDtype()),
    { message: 'When `right_inverse` outputs one tensor, it may not change the dtype.\noriginal.dtype: torch.float32\nright_inverse(original).dtype: torch.float64' });
  assert.throws(() => P.registerParametrization(new nn.Linear(2, 2, { bias: false }), 'bias', new Double()), /does not have a parameter, a buffer, or a parametrized element with name 'bias'/);
  // unsafe allows the change
  P.registerParametrization(m, 'weight', new Shrink(), { unsafe: true });
  assert.deepEqual(m.weight.shape, [2]);
  assert.equal(m.parametrizations.weight.unsafe, true);
});

test('argument checks: TorchErrors naming the argument at fault, the module unchanged', () => {
  const m = linear22();
  const refused = (fn, message) => assert.throws(fn, (e) => e instanceof torch.TorchError && e.message === message, message);
  refused(() => P.registerParametrization(5, 'weight', new Double()), 'registerParametrization(): module must be an nn.Module, got int');
  refused(() => P.registerParametrization(m, Symbol('w'), new Double()), 'registerParametrization(): tensorName must be a string, got Symbol(w)');
  refused(() => P.registerParametrization(m, 'weight', null), 'registerParametrization(): parametrization must be an nn.Module, got NoneType');
  refused(() => P.registerParametrization(m, 'weight', new Double(), { unsafe: 'yes' }), "registerParametrization(): unsafe must be a boolean, got 'yes'");
  refused(() => P.registerParametrization(m, 'weight', new Double(), { usafe: true }), "registerParametrization() got an unexpected keyword argument 'usafe'");
  assert.ok(!P.isParametrized(m));
  P.registerParametrization(m, 'weight', new InvDouble(), true); // positional unsafe, as PyTorch
  refused(() => P.removeParametrizations(Symbol('m'), 'weight'), 'removeParametrizations(): module must be an nn.Module, got Symbol');
  refused(() => P.removeParametrizations(m, 1n), 'removeParametrizations(): tensorName must be a string, got 1n');
  refused(() => P.removeParametrizations(m, 'weight', null), 'removeParametrizations(): leaveParametrized must be a boolean, got null');
  refused(() => P.removeParametrizations(m, 'weight', { leaveParametrized: 'no' }), "removeParametrizations(): leaveParametrized must be a boolean, got 'no'");
  assert.ok(P.isParametrized(m, 'weight'));
  refused(() => P.typeBeforeParametrizations(null), 'typeBeforeParametrizations(): module must be an nn.Module, got NoneType');
  refused(() => P.typeBeforeParametrizations(undefined), 'typeBeforeParametrizations(): module must be an nn.Module, got NoneType');
  refused(() => P.cached('abc'), "cached(): fn must be a function, got 'abc'");
  refused(() => new P.ParametrizationList('abc', m.bias), 'ParametrizationList(): modules must be an array of nn.Modules, got str');
  refused(() => new P.ParametrizationList([], m.bias), 'ParametrizationList requires one or more modules.');
  refused(() => new P.ParametrizationList([new Double(), 3], m.bias), 'ParametrizationList(): modules[i] must be an nn.Module, got int');
  refused(() => new P.ParametrizationList([new Double()], null), 'ParametrizationList(): original must be a Tensor, got NoneType');
  refused(() => new P.ParametrizationList([new Double()], m.bias, 'x'), "ParametrizationList(): unsafe must be a boolean, got 'x'");
  P.removeParametrizations(m, 'weight', false); // positional leaveParametrized: back to original = rightInverse(W) = W / 2
  assert.equal(m.constructor, nn.Linear);
  assert.deepEqual(m.weight.tolist(), [[0.5, 1], [1.5, 2]]);
});

test('cached() computes each parametrized tensor once (P-08)', () => {
  const m = linear22();
  P.registerParametrization(m, 'weight', new Symmetric());
  const [a, b] = P.cached(() => [m.weight, m.weight]);
  assert.equal(a, b);
  P.cached(() => P.cached(() => assert.equal(m.weight, m.weight)));
  assert.notEqual(m.weight, m.weight);
});

test('a rightInverse returning several tensors: original0, original1, …', () => {
  class Split extends nn.Module {
    forward(a, b) { return a.add(b); }
    rightInverse(X) { return [X.mul(0.5), X.mul(0.5)]; }
  }
  const m = linear22();
  P.registerParametrization(m, 'weight', new Split());
  const pl = m.parametrizations.weight;
  assert.equal(pl.isTensor, false);
  assert.equal(pl.ntensors, 2);
  assert.deepEqual(Object.keys(m.namedParameters()), ['bias', 'parametrizations.weight.original0', 'parametrizations.weight.original1']);
  assert.deepEqual(pl.original0.tolist(), [[0.5, 1], [1.5, 2]]);
  assert.deepEqual(m.weight.tolist(), [[1, 2], [3, 4]]);
  m.weight = f64([[2, 2], [2, 2]]);
  assert.deepEqual(pl.original1.tolist(), [[1, 1], [1, 1]]);
  assert.throws(() => P.removeParametrizations(m, 'weight', { leaveParametrized: false }),
    { message: 'Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is parametrized in terms of a sequence of tensors.' });
  P.removeParametrizations(m, 'weight');
  assert.deepEqual(m.weight.tolist(), [[2, 2], [2, 2]]);
  assert.ok(m.weight instanceof nn.Parameter);
});

test('_parametrizationBypass: a raw value in place of the parametrization (functionalCall\'s plain key)', () => {
  const l = new nn.Linear(1, 1, { dtype: 'float64' });
  l.loadStateDict({ weight: new Float64Array([3]), bias: new Float64Array([0.5]) });
  P.registerParametrization(l, 'weight', new Double());
  assert.ok(l._parametrizationBypass instanceof Map);
  const raw = f64([[5]]);
  l._parametrizationBypass.set('weight', raw);
  assert.equal(l.weight, raw);
  const repl = f64([[7]]);
  l.weight = repl; // while bypassed, an assignment replaces the bypass value
  assert.equal(l._parametrizationBypass.get('weight'), repl);
  assert.deepEqual(l.parametrizations.weight.original.tolist(), [[3]]);
  l._parametrizationBypass.set('weight', null);
  assert.equal(l.weight, null);
  l._parametrizationBypass.delete('weight');
  assert.deepEqual(l.weight.tolist(), [[6]]);
  // swapping the original (what functionalCall does for 'parametrizations.weight.original') keeps the parametrization
  const pl = l.parametrizations.weight;
  const own = pl._parameters.get('original');
  pl._parameters.set('original', f64([[5]]));
  assert.deepEqual(apply(l, f64([[2]])).tolist(), [[20.5]]);
  pl._parameters.set('original', own);
  assert.deepEqual(apply(l, f64([[2]])).tolist(), [[12.5]]);
});

test('stateDict / loadStateDict round-trip parametrized modules', () => {
  const a = linear22(), b = new nn.Linear(2, 2, { dtype: 'float64' });
  P.registerParametrization(a, 'weight', new Symmetric());
  P.registerParametrization(b, 'weight', new Symmetric());
  b.loadStateDict(a.stateDict());
  assert.deepEqual(b.weight.tolist(), [[1, 2], [2, 4]]);
});

test('reading parametrized tensors inside scopes leaks nothing', () => {
  const m = linear22();
  P.registerParametrization(m, 'weight', new Symmetric());
  P.registerParametrization(m, 'weight', new AddOne());
  const step = () => torch.scope(() => { apply(m, f64([[1, 1]])).sum().backward(); m.zeroGrad(); });
  step();
  const n0 = torch.memory().tensors;
  for (let i = 0; i < 20; i++) step();
  torch.scope(() => { P.cached(() => [m.weight, m.weight]); });
  assert.equal(torch.memory().tensors, n0);
  // assignments through rightInverse free their temporaries too
  const v = f64([[1, 2], [2, 1]]);
  m.weight = v;
  const n1 = torch.memory().tensors;
  for (let i = 0; i < 10; i++) m.weight = v;
  assert.equal(torch.memory().tensors, n1);
});
