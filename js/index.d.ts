// Types for torchfunc-wasm: the core (tensors, ops, autograd, memory) here;
// nn, nn.functional (F), func and optim in ./types/*.d.ts.
import * as _nn from './types/nn.js';
import type { Functional } from './types/functional.js';
import type { Func } from './types/func.js';
import type { Optim } from './types/optim.js';

export type { Functional, Reduction, Target } from './types/functional.js';
export type { Func, Leaf, Pytree, Lift, GradOf, Out, Typed, TypedMode, Argnums, Selected, Jacobian, InDims, Randomness,
  VmapOptions, ParamDict, FunctionalCallOptions, VjpFn, Disposable, Transformed, CompileOptions, CompileStats, Compiled } from './types/func.js';
export type { Optim, ParamGroup, SGDOptions, AdamOptions, Grads } from './types/optim.js';
export type { NN, Init, Parametrize, Stateless, FloatDType, FactoryKwargs, StateDictValue, Nonlinearity } from './types/nn.js';

/**
 * The calling convention: PyTorch's positional parameters P, in order (any
 * prefix of them), optionally followed by one options object O naming the
 * rest, e.g. Args<[bias: boolean], { bias?: boolean }> accepts (), (false),
 * ({ bias: false }).
 */
export type Args<P extends unknown[], O> =
  P extends [infer H, ...infer R] ? [options?: O] | [H, ...Args<R, O>] : [options?: O];

export type DType = 'float32' | 'float64' | 'int32' | 'bool';
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;
export type NestedArray = number | boolean | NestedArray[];
export type Shape = readonly number[];
export type Dims = number | readonly number[];
/** A tensor operand: a Tensor or a number. */
export type Operand = Tensor | number;

export class TorchError extends Error {}

export interface FactoryOptions { dtype?: DType; requiresGrad?: boolean }

export class Tensor {
  readonly shape: number[];
  readonly dtype: DType;
  readonly ndim: number;
  readonly numel: number;
  readonly isDisposed: boolean;
  requiresGrad: boolean;
  readonly isLeaf: boolean;
  readonly gradFn: { name: string } | null;
  grad: Tensor | null;
  readonly T: Tensor;
  readonly mT: Tensor;

  toTypedArray(): TypedArray;
  tolist(): any;
  item(): number | boolean;
  toString(): string;
  clone(): Tensor;
  detach(): Tensor;
  contiguous(): Tensor;
  dispose(): void;
  to(dtype: DType | { dtype?: DType; copy?: boolean }): Tensor;
  float(): Tensor; double(): Tensor; int(): Tensor; bool(): Tensor;

  requiresGrad_(flag?: boolean): this;
  zeroGrad_(): this;
  backward(gradient?: Tensor | null | { retainGraph?: boolean; createGraph?: boolean }, opts?: { retainGraph?: boolean; createGraph?: boolean }): void;

  // arithmetic and comparison (numbers broadcast)
  add(other: Operand, opts?: { alpha?: number }): Tensor;
  sub(other: Operand, opts?: { alpha?: number }): Tensor;
  mul(other: Operand): Tensor;
  div(other: Operand, opts?: { roundingMode?: 'trunc' | 'floor' | null }): Tensor;
  pow(exponent: Operand): Tensor;
  maximum(other: Tensor): Tensor; minimum(other: Tensor): Tensor;
  eq(other: Operand): Tensor; ne(other: Operand): Tensor; lt(other: Operand): Tensor;
  le(other: Operand): Tensor; gt(other: Operand): Tensor; ge(other: Operand): Tensor;
  where(condition: Tensor, other: Operand): Tensor;
  neg(): Tensor; exp(): Tensor; log(): Tensor; log1p(): Tensor; expm1(): Tensor; sqrt(): Tensor; rsqrt(): Tensor;
  abs(): Tensor; sign(): Tensor; sin(): Tensor; cos(): Tensor; tanh(): Tensor; sigmoid(): Tensor; relu(): Tensor;
  square(): Tensor; reciprocal(): Tensor; erf(): Tensor;
  clamp(min?: Operand | null, max?: Operand | null): Tensor;
  clamp(opts: { min?: Operand | null; max?: Operand | null }): Tensor;

  // reductions
  sum(dim?: Dims | null, keepdim?: boolean): Tensor;
  sum(opts: { dim?: Dims | null; keepdim?: boolean; dtype?: DType }): Tensor;
  mean(dim?: Dims | null, keepdim?: boolean): Tensor;
  mean(opts: { dim?: Dims | null; keepdim?: boolean }): Tensor;
  var(dim?: Dims | null, opts?: { correction?: number; unbiased?: boolean; keepdim?: boolean }): Tensor;
  std(dim?: Dims | null, opts?: { correction?: number; unbiased?: boolean; keepdim?: boolean }): Tensor;
  prod(dim?: number | null, keepdim?: boolean): Tensor;
  max(): Tensor; max(dim: number, keepdim?: boolean): [Tensor, Tensor]; max(other: Tensor): Tensor;
  min(): Tensor; min(dim: number, keepdim?: boolean): [Tensor, Tensor]; min(other: Tensor): Tensor;
  amax(dim?: Dims, keepdim?: boolean): Tensor; amin(dim?: Dims, keepdim?: boolean): Tensor;
  argmax(dim?: number | null, keepdim?: boolean): Tensor; argmin(dim?: number | null, keepdim?: boolean): Tensor;
  logsumexp(dim: Dims, keepdim?: boolean): Tensor;
  cumsum(dim: number): Tensor;
  softmax(dim: number): Tensor; logSoftmax(dim: number): Tensor;
  norm(p?: number | 'fro' | null, dim?: Dims | null, keepdim?: boolean): Tensor;

  // matmul
  matmul(other: Tensor): Tensor; mm(other: Tensor): Tensor; bmm(other: Tensor): Tensor;
  dot(other: Tensor): Tensor; outer(other: Tensor): Tensor; mv(vec: Tensor): Tensor;

  // shape and views
  reshape(...shape: number[]): Tensor; reshape(shape: Shape): Tensor;
  view(...shape: number[]): Tensor; view(shape: Shape): Tensor;
  flatten(startDim?: number, endDim?: number): Tensor;
  squeeze(dim?: Dims): Tensor; unsqueeze(dim: number): Tensor;
  permute(...dims: number[]): Tensor; permute(dims: Shape): Tensor;
  transpose(dim0: number, dim1: number): Tensor; t(): Tensor;
  movedim(source: Dims, destination: Dims): Tensor;
  expand(...sizes: number[]): Tensor; expand(sizes: Shape): Tensor; expandAs(other: Tensor): Tensor;
  repeat(...sizes: number[]): Tensor; repeat(sizes: Shape): Tensor;
  narrow(dim: number, start: number, length: number): Tensor;
  select(dim: number, index: number): Tensor;
  slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
  flip(dims: Dims): Tensor;
  split(splitSizeOrSections: number | number[], dim?: number): Tensor[];
  chunk(chunks: number, dim?: number): Tensor[];
  diag(diagonal?: number): Tensor; diagonal(offset?: number, dim1?: number, dim2?: number): Tensor;
  triu(diagonal?: number): Tensor; tril(diagonal?: number): Tensor;

  // indexing
  index(...indices: any[]): Tensor;
  gather(dim: number, index: Tensor | Int32Array): Tensor;
  scatterAdd(dim: number, index: Tensor | Int32Array, src: Tensor): Tensor;
  indexSelect(dim: number, index: Tensor | Int32Array | number[]): Tensor;

  // in place (return this)
  add_(other: Operand, opts?: { alpha?: number }): this; sub_(other: Operand, opts?: { alpha?: number }): this;
  mul_(other: Operand): this; div_(other: Operand): this; copy_(src: Operand): this;
  zero_(): this; fill_(value: Operand): this;
  clamp_(min?: Operand | null, max?: Operand | null): this;
  normal_(mean?: number, std?: number): this; uniform_(from?: number, to?: number): this;
}

export function tensor(data: NestedArray | TypedArray, opts?: { dtype?: DType; shape?: Shape }): Tensor;
export function zeros(...shapeAndOpts: any[]): Tensor;
export function ones(...shapeAndOpts: any[]): Tensor;
export function empty(...shapeAndOpts: any[]): Tensor;
export function rand(...shapeAndOpts: any[]): Tensor;
export function randn(...shapeAndOpts: any[]): Tensor;
export function full(shape: Shape, value: number | boolean, opts?: FactoryOptions): Tensor;
export function arange(end: number, opts?: FactoryOptions): Tensor;
export function arange(start: number, end: number, step?: number, opts?: FactoryOptions): Tensor;
export function linspace(start: number, end: number, steps: number, opts?: FactoryOptions): Tensor;
export function eye(n: number, m?: number | FactoryOptions, opts?: FactoryOptions): Tensor;
export function randint(low: number, high: number, size: Shape, opts?: FactoryOptions): Tensor;
export function zerosLike(t: Tensor, opts?: FactoryOptions): Tensor;
export function onesLike(t: Tensor, opts?: FactoryOptions): Tensor;
export function emptyLike(t: Tensor, opts?: FactoryOptions): Tensor;
export function fullLike(t: Tensor, value: number, opts?: FactoryOptions): Tensor;
export function randLike(t: Tensor, opts?: FactoryOptions): Tensor;
export function randnLike(t: Tensor, opts?: FactoryOptions): Tensor;
export function manualSeed(seed: number): unknown;

export function scope<T>(fn: () => T): T;
export function tidy<T>(fn: () => T): T;
export function noGrad<T>(fn: () => T): T;
export function isGradEnabled(): boolean;
export function memory(): { tensors: number; bytes: number; heapBytes: number };

type Bin = (a: Operand, b: Operand) => Tensor;
type Un = (x: Tensor) => Tensor;
export const add: (a: Operand, b: Operand, opts?: { alpha?: number }) => Tensor;
export const sub: (a: Operand, b: Operand, opts?: { alpha?: number }) => Tensor;
export const mul: Bin, div: Bin, pow: Bin, maximum: Bin, minimum: Bin, eq: Bin, ne: Bin, lt: Bin, le: Bin, gt: Bin, ge: Bin;
export const subtract: Bin, multiply: Bin, divide: Bin, true_divide: Bin;
export function where(condition: Tensor, input: Operand, other: Operand): Tensor;
export const neg: Un, negative: Un, exp: Un, log: Un, log1p: Un, expm1: Un, sqrt: Un, rsqrt: Un, abs: Un, absolute: Un,
  sign: Un, sin: Un, cos: Un, tanh: Un, sigmoid: Un, relu: Un, square: Un, reciprocal: Un, erf: Un, clone: Un,
  detach: Un, contiguous: Un;
export function clamp(x: Tensor, min?: Operand | null, max?: Operand | null): Tensor;
export const clip: typeof clamp;
export function clampMin(x: Tensor, min: Operand): Tensor;
export function clampMax(x: Tensor, max: Operand): Tensor;
type VarOpts = { dim?: Dims | null; correction?: number; unbiased?: boolean; keepdim?: boolean };
export function sum(x: Tensor, dim?: Dims | null, keepdim?: boolean): Tensor;
export function sum(x: Tensor, opts: { dim?: Dims | null; keepdim?: boolean; dtype?: DType }): Tensor;
export function sum(x: Tensor, dim: Dims | null, opts: { keepdim?: boolean; dtype?: DType }): Tensor;
export function mean(x: Tensor, dim?: Dims | null, keepdim?: boolean): Tensor;
export function mean(x: Tensor, opts: { dim?: Dims | null; keepdim?: boolean; dtype?: DType }): Tensor;
export function mean(x: Tensor, dim: Dims | null, opts: { keepdim?: boolean; dtype?: DType }): Tensor;
declare function var_(x: Tensor, dim?: Dims | null, opts?: VarOpts): Tensor;
declare function var_(x: Tensor, opts: VarOpts): Tensor;
export { var_ as var };
export function std(x: Tensor, dim?: Dims | null, opts?: VarOpts): Tensor;
export function std(x: Tensor, opts: VarOpts): Tensor;
export function prod(x: Tensor, dim?: number | null, keepdim?: boolean): Tensor;
export function prod(x: Tensor, opts: { dim?: number | null; keepdim?: boolean; dtype?: DType }): Tensor;
export function max(x: Tensor): Tensor;
export function max(x: Tensor, dim: number, keepdim?: boolean): [Tensor, Tensor];
export function max(x: Tensor, opts: { dim: number; keepdim?: boolean }): [Tensor, Tensor];
export function max(x: Tensor, other: Tensor): Tensor;
export function min(x: Tensor): Tensor;
export function min(x: Tensor, dim: number, keepdim?: boolean): [Tensor, Tensor];
export function min(x: Tensor, opts: { dim: number; keepdim?: boolean }): [Tensor, Tensor];
export function min(x: Tensor, other: Tensor): Tensor;
export function amax(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor;
export function amax(x: Tensor, opts: { dim?: Dims; keepdim?: boolean }): Tensor;
export function amin(x: Tensor, dim?: Dims, keepdim?: boolean): Tensor;
export function amin(x: Tensor, opts: { dim?: Dims; keepdim?: boolean }): Tensor;
export function argmax(x: Tensor, dim?: number | null, keepdim?: boolean): Tensor;
export function argmax(x: Tensor, opts: { dim?: number | null; keepdim?: boolean }): Tensor;
export function argmin(x: Tensor, dim?: number | null, keepdim?: boolean): Tensor;
export function argmin(x: Tensor, opts: { dim?: number | null; keepdim?: boolean }): Tensor;
export function logsumexp(x: Tensor, dim: Dims, keepdim?: boolean): Tensor;
export function logsumexp(x: Tensor, opts: { dim: Dims; keepdim?: boolean }): Tensor;
export function cumsum(x: Tensor, dim: number): Tensor;
export function softmax(x: Tensor, dim: number): Tensor;
export function logSoftmax(x: Tensor, dim: number): Tensor;
export function norm(x: Tensor, p?: number | 'fro' | null, dim?: Dims | null, keepdim?: boolean): Tensor;
export function norm(x: Tensor, opts: { p?: number | 'fro' | null; dim?: Dims | null; keepdim?: boolean }): Tensor;
export function norm(x: Tensor, p: number | 'fro' | null, opts: { dim?: Dims | null; keepdim?: boolean }): Tensor;
export function matmul(a: Tensor, b: Tensor): Tensor;
export function mm(a: Tensor, b: Tensor): Tensor;
export function bmm(a: Tensor, b: Tensor): Tensor;
export function dot(a: Tensor, b: Tensor): Tensor;
export function outer(a: Tensor, b: Tensor): Tensor;
export const ger: typeof outer;
export function mv(a: Tensor, v: Tensor): Tensor;
export function einsum(equation: string, ...operands: (Tensor | Tensor[])[]): Tensor;
export function reshape(x: Tensor, shape: Shape): Tensor;
export function flatten(x: Tensor, startDim?: number, endDim?: number): Tensor;
export function unflatten(x: Tensor, dim: number, sizes: Shape): Tensor;
export function squeeze(x: Tensor, dim?: Dims): Tensor;
export function unsqueeze(x: Tensor, dim: number): Tensor;
export function permute(x: Tensor, dims: Shape): Tensor;
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor;
export const swapaxes: typeof transpose, swapdims: typeof transpose;
export function t(x: Tensor): Tensor;
export function movedim(x: Tensor, source: Dims, destination: Dims): Tensor;
export const moveaxis: typeof movedim;
export function expand(x: Tensor, sizes: Shape): Tensor;
export function expandAs(x: Tensor, other: Tensor): Tensor;
export function repeat(x: Tensor, sizes: Shape): Tensor;
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor;
export function select(x: Tensor, dim: number, index: number): Tensor;
export function slice(x: Tensor, dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
export function flip(x: Tensor, dims: Dims): Tensor;
export function cat(tensors: Tensor[], dim?: number): Tensor;
export const concat: typeof cat, concatenate: typeof cat;
export function stack(tensors: Tensor[], dim?: number): Tensor;
export function split(x: Tensor, splitSizeOrSections: number | number[], dim?: number): Tensor[];
export function chunk(x: Tensor, chunks: number, dim?: number): Tensor[];
export function diag(x: Tensor, diagonal?: number): Tensor;
export function diagonal(x: Tensor, offset?: number, dim1?: number, dim2?: number): Tensor;
export function diagEmbed(x: Tensor, offset?: number, dim1?: number, dim2?: number): Tensor;
export function triu(x: Tensor, diagonal?: number): Tensor;
export function tril(x: Tensor, diagonal?: number): Tensor;
export function sliceScatter(input: Tensor, src: Tensor, dim?: number, start?: number | null, end?: number | null, step?: number): Tensor;
export function gather(x: Tensor, dim: number, index: Tensor | Int32Array): Tensor;
export function scatterAdd(x: Tensor, dim: number, index: Tensor | Int32Array, src: Tensor): Tensor;
export function indexSelect(x: Tensor, dim: number, index: Tensor | Int32Array | number[]): Tensor;
export function indexAdd(x: Tensor, dim: number, index: Tensor | Int32Array | number[], source: Tensor, opts?: { alpha?: number }): Tensor;
export function index(x: Tensor, ...indices: any[]): Tensor;
export function maskedSelect(x: Tensor, mask: Tensor): Tensor;

export const version: string;
export const simd: boolean;
/** True when the threaded core was loaded (SharedArrayBuffer available and more than one core). */
export const threads: boolean;
/** Threads GEMM and convolution use, the calling thread included (1 to the threads started; results do not depend on it). */
export function setNumThreads(n: number): void;
/** The threads GEMM and convolution use now. */
export function getNumThreads(): number;
export const ready: Promise<void>;
/** torch.nn.functional. */
export const F: Functional;
export const func: Func;
export const optim: Optim;
export declare namespace nn {
  export import Module = _nn.Module;
  export import Parameter = _nn.Parameter;
  export import Linear = _nn.Linear;
  export import Bilinear = _nn.Bilinear;
  export import Identity = _nn.Identity;
  export import Flatten = _nn.Flatten;
  export import Conv1d = _nn.Conv1d;
  export import Conv2d = _nn.Conv2d;
  export import ConvTranspose2d = _nn.ConvTranspose2d;
  export import MaxPool2d = _nn.MaxPool2d;
  export import AvgPool2d = _nn.AvgPool2d;
  export import AdaptiveAvgPool2d = _nn.AdaptiveAvgPool2d;
  export import BatchNorm1d = _nn.BatchNorm1d;
  export import BatchNorm2d = _nn.BatchNorm2d;
  export import LayerNorm = _nn.LayerNorm;
  export import GroupNorm = _nn.GroupNorm;
  export import ReLU = _nn.ReLU;
  export import LeakyReLU = _nn.LeakyReLU;
  export import GELU = _nn.GELU;
  export import SiLU = _nn.SiLU;
  export import Tanh = _nn.Tanh;
  export import Sigmoid = _nn.Sigmoid;
  export import Softmax = _nn.Softmax;
  export import LogSoftmax = _nn.LogSoftmax;
  export import Embedding = _nn.Embedding;
  export import Dropout = _nn.Dropout;
  export import MultiheadAttention = _nn.MultiheadAttention;
  export import NonDynamicallyQuantizableLinear = _nn.NonDynamicallyQuantizableLinear;
  export import Sequential = _nn.Sequential;
  export import ModuleList = _nn.ModuleList;
  export import ModuleDict = _nn.ModuleDict;
  const init: _nn.Init;
  const functional: Functional;
  const utils: { parametrize: _nn.Parametrize; stateless: _nn.Stateless };
}
export const safetensors: {
  load(bytes: Uint8Array | ArrayBuffer, opts?: { dtype?: 'float32' | 'float64' }): Record<string, Tensor>;
  save(dict: Record<string, Tensor | Float32Array | Float64Array | Int32Array | Uint8Array> | Map<string, any>,
    opts?: { metadata?: Record<string, string> | null }): Uint8Array;
  metadata(bytes: Uint8Array | ArrayBuffer): Record<string, string> | null;
};
/** @internal a live view on a plain contiguous tensor's storage (benchmarks only) */
export function _dataView(t: Tensor): TypedArray;
/** @internal the op table */
export function _ops(): Array<{ name: string; flags: number; rules: number; nin: number }>;
declare const torch: typeof import('./index.js');
export default torch;
