/**
 * torchfunc-wasm: PyTorch's torch.func for JavaScript.
 *
 * Importing instantiates the WebAssembly core (top-level await); there is no
 * other set-up.
 *
 * @example
 * import * as torch from 'torchfunc-wasm';
 * const x = torch.tensor([1, 2, 3]).requiresGrad_();
 * x.mul(x).sum().backward();
 * x.grad.tolist(); // [2, 4, 6]
 */
import { loadWasm, hasSimd } from './loader.js';
import { initRuntime, rt } from './runtime.js';
import { Tensor } from './tensor.js';
import { TorchError } from './errors.js';
import { checkInt } from './args.js';
import * as creation from './creation.js';
import * as memory from './memory.js';
import * as binary from './ops/binary.js';
import { installFamilies } from './ops/all.js';
import * as nnFunctional from './nn/functional.js';
import * as nnModules from './nn/index.js';
import * as funcTransforms from './func/index.js';
import * as forwardAndJacobians from './func/jacobian.js';
import * as vmapTransform from './func/vmap.js';
import * as functionalizeTransform from './func/functionalize.js';
import * as optimizers from './optim/index.js';
import * as safetensorsIO from './safetensors.js';

const { exports, memory: wasmMemory, threaded } = await loadWasm();
initRuntime(exports, wasmMemory);

/** The namespace every install() adds to; re-exported below. */
const torch = { Tensor, TorchError, F: {} };
// Order matters only where a family extends another's objects: ops before
// nn.functional, nn.functional before nn, func's core before the transforms
// built on it.
for (const part of [creation, memory, binary]) part.install(torch);
installFamilies(torch);
for (const part of [nnFunctional, funcTransforms, optimizers, nnModules, forwardAndJacobians, vmapTransform,
  functionalizeTransform, safetensorsIO]) part.install(torch);

export { Tensor, TorchError };
export const version = '0.1.0';
/** True: the core is built with WebAssembly SIMD128 (the import fails without it). */
export const simd = hasSimd();
/** True when the threaded core was loaded (SharedArrayBuffer available, more than one core). */
export const threads = threaded;

/**
 * Sets how many threads GEMM and convolution use, the calling thread
 * included (PyTorch's torch.set_num_threads). `n` must be an integer from 1
 * to the threads this instance started (all cores by default; set
 * TORCHFUNC_NUM_THREADS in Node to start fewer). Results do not depend on it.
 * @param {number} n
 */
export function setNumThreads(n) {
  checkInt('setNumThreads', n, 'n');
  if (n < 1) throw new TorchError(`setNumThreads(): Number of threads must be positive, got ${n}`);
  const avail = exports.ft_api_threads_available();
  if (n > avail) {
    throw new TorchError(`setNumThreads(): this instance has ${avail} thread(s)` +
      (threaded ? '' : ' (SharedArrayBuffer is not available here, so it runs single-threaded)') + `, got ${n}`);
  }
  if (exports.ft_api_set_num_threads(n) !== 0) throw new TorchError(`setNumThreads(): could not set ${n} threads`);
}

/** The threads GEMM and convolution use now (PyTorch's torch.get_num_threads). */
export function getNumThreads() {
  return exports.ft_api_get_num_threads();
}

/** A resolved promise, for code that wants to await readiness explicitly. */
export const ready = Promise.resolve();
export const F = torch.F;
export const func = torch.func;
export const optim = torch.optim;
export const safetensors = torch.safetensors;
export const nn = torch.nn ?? { functional: torch.F };
if (!nn.functional) nn.functional = torch.F;

/** @internal a live view on a plain contiguous tensor's storage (benchmarks only; invalid after the heap grows) */
export function _dataView(t) {
  const ptr = rt.ex.ft_api_data_ptr(t.handle);
  if (!ptr) throw new TorchError('_dataView: the tensor is not a plain contiguous tensor');
  const Ctor = { float32: Float32Array, float64: Float64Array, int32: Int32Array, bool: Uint8Array }[t.dtype];
  return new Ctor(rt.memory.buffer, ptr, t.numel);
}

/** @internal the op table's names, for tests that enumerate it */
export function _ops() {
  return rt.opNames.map((name, id) => ({ name, flags: rt.opFlags[id], rules: rt.ex.ft_api_op_rules(id), nin: rt.ex.ft_api_op_nin(id) }));
}

export const {
  // creation and conversion
  tensor, full, zeros, ones, empty, rand, randn, arange, linspace, eye, randint, zerosLike, onesLike, emptyLike,
  fullLike, randLike, randnLike, manualSeed, clone, detach, contiguous,
  // memory and autograd
  scope, tidy, noGrad, isGradEnabled,
  // binary
  add, sub, mul, div, pow, maximum, minimum, where, eq, ne, lt, le, gt, ge, subtract, multiply, divide, true_divide,
  // unary
  neg, negative, exp, log, log1p, expm1, sqrt, rsqrt, abs, absolute, sign, sin, cos, tanh, sigmoid, relu, square,
  reciprocal, erf, clamp, clip, clampMin, clampMax,
  // reductions
  sum, mean, std, prod, max, min, amax, amin, argmax, argmin, logsumexp, cumsum, softmax, logSoftmax, norm,
  // shape
  reshape, flatten, unflatten, squeeze, unsqueeze, permute, transpose, swapaxes, swapdims, t, movedim, moveaxis, expand,
  expandAs, repeat, narrow, select, slice, flip, cat, concat, concatenate, stack, split, chunk, diag, diagonal,
  diagEmbed, triu, tril, sliceScatter,
  // indexing
  gather, scatterAdd, indexSelect, indexAdd, index, maskedSelect,
  // matmul
  matmul, mm, bmm, dot, outer, ger, mv, einsum,
} = torch;
// `var` is a reserved word and `memory` names the heap: exported under their torch names only
const { var: var_, memory: memoryStats } = torch;
export { var_ as var };
export { memoryStats as memory };
// `import torch from` gets the same names as `import * as torch` (API.md's form)
Object.assign(torch, { version, simd, threads, setNumThreads, getNumThreads, ready, nn, _dataView, _ops });
export default torch;
