#!/usr/bin/python3
"""Native PyTorch eager (CPU) on the workloads of bench/workloads/*.mjs.

Run with Debian's interpreter, which has torch 1.13 and functorch
(`apt-get install python3-torch`):

    /usr/bin/python3 bench/peers/torch_native.py [--threads N] [--filter REGEX] [--budget MS]

It builds the same seeded inputs as bench/peers/common.mjs (mulberry32,
ported bit-exactly below and vectorised with numpy: the generator's state is
a counter, so element i is a pure function of seed and i), the same models
(nn.Linear keeps [out, in], so the [in, out] peer weights are transposed, as
bench/workloads/nn.mjs does), and times each workload with the same rules as
common.mjs `time` (up to 3 warm-ups, fewer once they used half the budget;
then reps until the budget is spent, 5 to 100 of them; medians). Every rep
ends with its results viewed as numpy arrays (`.numpy()`: torch's CPU
tensors already live in this process's memory, so "reading back" is free).
`check` is the sum of |results| of the last rep, computed in float64 as the
JS side does, so bench/compare.mjs can check both computed the same function.

Workload names are ours (bench/workloads/*.mjs), one JSON line each, in the
format of bench/peers/common.mjs `run`: {peer, backend, workload, status:
ok|error|unsupported, median_ms, p10_ms, p90_ms, reps, check, note}. The
first line is {workload: "info", ...} with the versions and thread counts.
"""
import argparse
import json
import math
import re
import sys
import time

import numpy as np

ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
ap.add_argument('--threads', type=int, default=1, help='torch.set_num_threads (default 1: ours is single-threaded)')
ap.add_argument('--filter', default='.', help='regex on workload names (search, as JS RegExp.test)')
ap.add_argument('--budget', type=float, default=3000, help='time budget per workload, ms')
args = ap.parse_args()
FILTER = re.compile(args.filter)
BUDGET_MS = args.budget
BASE = {'peer': 'torch', 'backend': 'cpu eager'}


def emit(obj):
    print(json.dumps(obj), flush=True)


try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except Exception as e:  # noqa: BLE001 - reported, not raised
    emit({**BASE, 'workload': 'info', 'status': 'error', 'error': f'import torch failed: {e!r}'[:300]})
    sys.exit(1)

torch.set_num_threads(args.threads)
try:
    torch.set_num_interop_threads(1)  # only usable before any inter-op work; unused by these workloads
except RuntimeError:
    pass
torch.manual_seed(0)  # nothing here draws from torch's RNG; for module construction only

try:
    import functorch
    from functorch import vmap, grad, jacrev, jacfwd, hessian, combine_state_for_ensemble
    FUNCTORCH = getattr(functorch, '__version__', torch.__version__)
    FUNCTORCH_ERR = None
except Exception as e:  # noqa: BLE001
    FUNCTORCH, FUNCTORCH_ERR = None, f'functorch unavailable: {e!r}'[:300]
try:
    from torch.nn.utils.stateless import functional_call
except Exception:  # noqa: BLE001
    functional_call = None



def blas_libraries():
    """The BLAS/LAPACK libraries mapped into this process (Debian's torch links whatever
    libblas.so.3 the alternatives system selects: netlib's reference BLAS by default)."""
    try:
        with open('/proc/self/maps') as f:
            paths = {line.split()[-1] for line in f if '/' in line}
        return sorted(p for p in paths if re.search(r'blas|lapack|mkl|dnnl', p.rsplit('/', 1)[-1]))
    except OSError:
        return []


emit({**BASE, 'workload': 'info', 'status': 'ok', 'torch': torch.__version__, 'functorch': FUNCTORCH,
      'threads': torch.get_num_threads(), 'interop_threads': torch.get_num_interop_threads(),
      'mkldnn': torch.backends.mkldnn.is_available(), 'blas': blas_libraries(), 'python': sys.version.split()[0],
      'note': 'results are host tensors: each rep ends with .numpy() (a view, no copy)'})

# ---- seeded data: bench/peers/common.mjs, bit for bit -----------------------
M32 = np.uint64(0xFFFFFFFF)


def rng_values(n, seed):
    """The first n outputs of common.mjs rng(seed) (mulberry32), as float64 in [0, 1)."""
    u = np.uint64
    i = np.arange(1, n + 1, dtype=np.uint64)
    a = (u(seed & 0xFFFFFFFF) + i * u(0x6D2B79F5)) & M32  # a += 0x6d2b79f5, i times
    t = a
    t = ((t ^ (t >> u(15))) * (t | u(1))) & M32  # Math.imul(t ^ t >>> 15, t | 1)
    t = t ^ ((t + (((t ^ (t >> u(7))) * (t | u(61))) & M32)) & M32)  # t ^= t + Math.imul(t ^ t >>> 7, t | 61)
    return ((t ^ (t >> u(14))) & M32).astype(np.float64) / 4294967296.0


def uniform(n, seed, lo=-1.0, hi=1.0):
    """common.mjs uniform: lo + (hi - lo) * r in float64, stored as float32."""
    return (lo + (hi - lo) * rng_values(n, seed)).astype(np.float32)


def param(shape, fan_in, seed):
    k = 1 / math.sqrt(fan_in)
    return torch.from_numpy(uniform(int(np.prod(shape)), seed, -k, k)).reshape(shape)


def mlp_params(s=11):
    """common.mjs mlpParams: [in, out] weights, returned as nn.Sequential state ([out, in])."""
    W1, b1 = param([784, 256], 784, s), param([256], 784, s + 1)
    W2, b2 = param([256, 256], 256, s + 2), param([256], 256, s + 3)
    W3, b3 = param([256, 10], 256, s + 4), param([10], 256, s + 5)
    return {'0.weight': W1.t().contiguous(), '0.bias': b1, '2.weight': W2.t().contiguous(), '2.bias': b2,
            '4.weight': W3.t().contiguous(), '4.bias': b3}


def batch(B, features, seed):
    x = torch.from_numpy(uniform(B * features, seed, 0.0, 1.0))
    labels = torch.from_numpy(np.floor(rng_values(B, seed + 1000) * 10).astype(np.int64))
    return x, labels


ENSEMBLE = 8


def make_mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def make_cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 10))


def sum_abs(ts):
    return float(sum(float(t.detach().double().abs().sum()) for t in ts))


# ---- timing: common.mjs `time` -------------------------------------------------
def quantile(s, q):
    p = (len(s) - 1) * q
    lo, hi = math.floor(p), math.ceil(p)
    return s[lo] + (s[hi] - s[lo]) * (p - lo)


def time_fn(fn, warmup=3, min_reps=5, max_reps=100, budget_ms=3000.0):
    now = lambda: time.perf_counter() * 1000.0  # noqa: E731
    w0 = now()
    for _ in range(warmup):
        fn()
        if now() - w0 > budget_ms / 2:
            break
    times = []
    t0 = now()
    while len(times) < max_reps and (len(times) < min_reps or now() - t0 < budget_ms):
        s = now()
        fn()
        times.append(now() - s)
        if len(times) >= 3 and now() - t0 > 20 * budget_ms:
            break
    times.sort()
    r = lambda v: round(v, 3)  # noqa: E731
    return {'median_ms': r(quantile(times, 0.5)), 'p10_ms': r(quantile(times, 0.1)),
            'p90_ms': r(quantile(times, 0.9)), 'reps': len(times)}


def run(workload, make, unsupported=None, note=None):
    """make() -> (fn, check): set-up is not timed; fn is one rep; check() sums |results| of the last rep."""
    if not FILTER.search(workload):
        return
    base = {**BASE, 'workload': workload}
    if unsupported:
        emit({**base, 'status': 'unsupported', 'median_ms': None, 'p10_ms': None, 'p90_ms': None, 'reps': 0,
              'note': unsupported})
        return
    try:
        fn, check = make()
        t = time_fn(fn, budget_ms=BUDGET_MS)
        emit({**base, 'status': 'ok', **t, 'check': float(f'{check():.6g}'), **({'note': note} if note else {})})
    except Exception as e:  # noqa: BLE001 - one failing workload must not stop the others
        emit({**base, 'status': 'error', 'median_ms': None, 'p10_ms': None, 'p90_ms': None, 'reps': 0,
              'error': f'{type(e).__name__}: {e}'.split('\n')[0][:300], **({'note': note} if note else {})})


def view(t):
    return t.detach().numpy()


need_func = FUNCTORCH_ERR or (None if functional_call else 'torch.nn.utils.stateless.functional_call missing')

# ---- core.mjs: matmul, dispatch -------------------------------------------------
for n in (256, 1024):
    def make_matmul(n=n):
        a = torch.from_numpy(uniform(n * n, 1)).reshape(n, n)
        b = torch.from_numpy(uniform(n * n, 2)).reshape(n, n)
        out = {}

        def fn():
            out['c'] = view(a @ b)
        return fn, lambda: float(np.abs(out['c'].astype(np.float64)).sum())
    run(f'matmul_{n}', make_matmul)


def make_dispatch():
    c16 = torch.zeros(16)  # the peers' W7: zeros plus 1000 adds of uniform(16, 7)
    d16 = torch.from_numpy(uniform(16, 7))
    out = {}

    def fn():
        a = c16
        for _ in range(1000):
            a = a.add(d16)
        out['a'] = view(a)
        return out['a'][0]
    return fn, lambda: float(np.abs(out['a'].astype(np.float64)).sum())


run('dispatch_add_chain_16', make_dispatch, note='1000 dependent Tensor.add on 16 floats, one read: ms = µs/op')

# ---- nn.mjs: MLP forward and gradient, CNN gradient ----------------------------
MLP_P = mlp_params()
X, Y = batch(64, 784, 1)
X = X.reshape(64, 784)
MLP = make_mlp()


def mlp_loss(p, x, y):
    return F.cross_entropy(functional_call(MLP, p, (x,)), y)


def make_mlp_forward():
    out = {}

    def fn():
        with torch.no_grad():
            out['y'] = view(functional_call(MLP, MLP_P, (X,)))
    return fn, lambda: float(np.abs(out['y'].astype(np.float64)).sum())


run('mlp_forward_b64', make_mlp_forward, unsupported=None if functional_call else need_func,
    note='stateless.functional_call under no_grad')


def make_mlp_grad():
    g = grad(mlp_loss)
    out = {}

    def fn():
        out['g'] = [view(v) for v in g(MLP_P, X, Y).values()]
    return fn, lambda: sum(float(np.abs(a.astype(np.float64)).sum()) for a in out['g'])


run('mlp_grad_b64', make_mlp_grad, unsupported=need_func,
    note='functorch.grad(cross_entropy(functional_call(...))) of all 6 parameters')


def make_cnn_grad():
    cnn = make_cnn()
    P = {'0.weight': param([8, 1, 3, 3], 9, 21), '0.bias': param([8], 9, 22),
         '3.weight': param([16, 8, 3, 3], 72, 23), '3.bias': param([16], 72, 24),
         '7.weight': param([400, 10], 400, 25).t().contiguous(), '7.bias': param([10], 400, 26)}
    cx, cy = batch(32, 28 * 28, 2)
    cx = cx.reshape(32, 1, 28, 28)
    g = grad(lambda p, x, y: F.cross_entropy(functional_call(cnn, p, (x,)), y))
    out = {}

    def fn():
        out['g'] = [view(v) for v in g(P, cx, cy).values()]
    return fn, lambda: sum(float(np.abs(a.astype(np.float64)).sum()) for a in out['g'])


run('cnn_grad_b32', make_cnn_grad, unsupported=need_func,
    note='functorch.grad of cross_entropy(functional_call(cnn)), NCHW, all 6 parameters')

# ---- func.mjs: per-sample grads, Jacobians, Hessian, ensembles -----------------


def loss_one(p, x, y):
    return F.cross_entropy(functional_call(MLP, p, (x.unsqueeze(0),)), y.unsqueeze(0))


def make_persample(copy=False):
    f = vmap(grad(loss_one), in_dims=(None, 0, 0))
    out = {}

    def fn():
        out['g'] = [view(v).copy() if copy else view(v) for v in f(MLP_P, X, Y).values()]
    return fn, lambda: sum(float(np.abs(a.astype(np.float64)).sum()) for a in out['g'])


run('persample_grad_b64', make_persample, unsupported=need_func,
    note='functorch.vmap(grad(loss), in_dims=(None, 0, 0)) over functional_call, [64, ...] each')

run('persample_grad_b64_copy', lambda: make_persample(copy=True), unsupported=need_func,
    note='the same, each result copied into a new numpy array (as ours reads back into new JS arrays)')


def make_persample_loop():
    g = grad(loss_one)
    out = {}

    def fn():
        out['g'] = [[view(v) for v in g(MLP_P, X[i], Y[i]).values()] for i in range(64)]
    return fn, lambda: sum(float(np.abs(a.astype(np.float64)).sum()) for gs in out['g'] for a in gs)


run('persample_grad_b64_loop', make_persample_loop, unsupported=need_func,
    note='a loop of 64 functorch.grad calls (what vmap replaces)')

X0 = X[0].contiguous()
for name, jname in (('jacrev_mlp_784', 'jacrev'), ('jacfwd_mlp_784', 'jacfwd')):
    def make_jac(jname=jname):
        jac = (jacrev if jname == 'jacrev' else jacfwd)(lambda x: functional_call(MLP, MLP_P, (x,)))
        out = {}

        def fn():
            out['J'] = view(jac(X0))
        return fn, lambda: float(np.abs(out['J'].astype(np.float64)).sum())
    run(name, make_jac, unsupported=need_func, note=f'functorch.{jname}, [10, 784]')


def make_hessian():
    A = torch.from_numpy(uniform(100 * 100, 31)).reshape(100, 100)
    w0 = torch.from_numpy(uniform(100, 32))
    h = hessian(lambda w: (A @ w).tanh().sum() + (w * w).sum() * 0.5)
    out = {}

    def fn():
        out['H'] = view(h(w0))
    return fn, lambda: float(np.abs(out['H'].astype(np.float64)).sum())


run('hessian_100', make_hessian, unsupported=FUNCTORCH_ERR, note='functorch.hessian = jacfwd(jacrev(f)), [100, 100]')


def ensemble_models():
    models = []
    for k in range(ENSEMBLE):
        m = make_mlp()
        m.load_state_dict(mlp_params(100 + 10 * k))
        models.append(m)
    return models


def make_ensemble():
    fmodel, params, buffers = combine_state_for_ensemble(ensemble_models())
    params = tuple(p.detach() for p in params)
    f = vmap(fmodel, in_dims=(0, 0, None))
    out = {}

    def fn():
        with torch.no_grad():
            out['y'] = view(f(params, buffers, X))
    return fn, lambda: float(np.abs(out['y'].astype(np.float64)).sum())


run('ensemble8_forward_b64', make_ensemble, unsupported=FUNCTORCH_ERR,
    note='functorch.combine_state_for_ensemble + vmap(fmodel, in_dims=(0, 0, None)), no_grad')


def make_ensemble_loop():
    models = ensemble_models()
    out = {}

    def fn():
        with torch.no_grad():
            out['y'] = [view(m(X)) for m in models]
    return fn, lambda: sum(float(np.abs(a.astype(np.float64)).sum()) for a in out['y'])


run('ensemble8_forward_b64_loop', make_ensemble_loop, note='a loop over the 8 modules, no_grad')
