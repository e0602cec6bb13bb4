// torch.func: function transforms over pytrees. Arguments are pytrees of
// Tensors, typed arrays and numbers; inside the transformed function every
// typed-array leaf arrives as a 1-D Tensor, so `f` is typed in Tensors and
// the transformed function accepts typed arrays in their place
// (Lift<Parameters<f>>). Gradients keep each argument's structure and leaf
// kinds (GradOf): a Float32Array leaf's gradient is a Float32Array. When no
// argument leaf is a Tensor (typed-array mode), outputs come back as typed
// arrays, 0-d ones as numbers (Out).
import type { Tensor, TypedArray } from '../index.js';
import type { Module } from './nn.js';

/** A leaf of a pytree. */
export type Leaf = Tensor | TypedArray | number;
/** Nested plain objects and arrays with leaves L; null/undefined pass through. */
export type Pytree<L = Leaf> = L | readonly Pytree<L>[] | { readonly [k: string]: Pytree<L> } | null | undefined;

/** What a transformed function accepts where `f` takes T: a Tensor parameter also accepts a typed array or a number. */
export type Lift<T> =
  T extends Tensor ? Tensor | TypedArray | number :
  T extends TypedArray | number | boolean | string | null | undefined | Function ? T :
  T extends readonly unknown[] ? { [K in keyof T]: Lift<T[K]> } :
  T extends object ? { [K in keyof T]: Lift<T[K]> } :
  T;

/** The gradient of an argument: its structure and leaf kinds. */
export type GradOf<T> =
  T extends Tensor ? Tensor :
  T extends Float32Array ? Float32Array :
  T extends Float64Array ? Float64Array :
  T extends Int32Array ? Int32Array :
  T extends Uint8Array ? Uint8Array :
  T extends number ? number :
  T extends null | undefined ? T :
  T extends readonly unknown[] ? { -readonly [K in keyof T]: GradOf<T[K]> } :
  T extends object ? { -readonly [K in keyof T]: GradOf<T[K]> } :
  never;

type LeafKinds<X> =
  X extends Tensor ? 'tensor' :
  X extends TypedArray ? 'typed' :
  X extends number ? 'number' :
  X extends Function | null | undefined | string | boolean ? never :
  X extends readonly (infer E)[] ? LeafKinds<E> :
  X extends object ? { [K in keyof X]-?: LeafKinds<X[K]> }[keyof X] :
  never;
/** True when no leaf of the arguments A is a Tensor (typed-array mode). */
export type TypedMode<A> = 'tensor' extends LeafKinds<A> ? false : true;
/** A Tensor output in typed-array mode: a typed array, a number when 0-d. */
export type Typed<R> =
  R extends Tensor ? TypedArray | number :
  R extends readonly unknown[] ? { -readonly [K in keyof R]: Typed<R[K]> } :
  R extends TypedArray | number | boolean | string | null | undefined | Function ? R :
  R extends object ? { -readonly [K in keyof R]: Typed<R[K]> } :
  R;
/** f's output R as a transform returns it for arguments A. */
export type Out<R, A> = TypedMode<A> extends true ? Typed<R> : R;

export type Argnums = number | readonly number[];
/** The gradients argnums selects: one argument's, or an array of them. */
export type Selected<A extends readonly unknown[], N> =
  N extends readonly number[] ? { -readonly [K in keyof N]: GradOf<A[N[K] & number]> } :
  N extends number ? GradOf<A[N]> : never;

type Fn<P extends unknown[], R> = (...args: P) => R;
declare const transformed: unique symbol;
/**
 * Marks (at the type level only) a function a transform returned, so that
 * vmap of it keeps its generic signature: vmap(grad(f)) takes and returns
 * the same kinds of pytrees as grad(f).
 */
export interface Transformed { readonly [transformed]: true }
/** A function holding recorded state that it frees when collected or disposed. */
export interface Disposable { dispose(): void }

// ---- reverse mode -----------------------------------------------------------------
// With hasAux, f returns [output, aux]: annotate f's return type or write
// `[loss, aux] as const`, so that TypeScript infers a pair, not an array.

export function grad<P extends unknown[], Aux, const N extends Argnums = 0>(f: Fn<P, readonly [Tensor, Aux]>, opts: { argnums?: N; hasAux: true }):
  (<A extends Lift<P>>(...args: A) => [Selected<A, N>, Out<Aux, A>]) & Transformed;
export function grad<P extends unknown[], Aux, const N extends Argnums = 0>(f: Fn<P, readonly [Tensor, Aux]>, argnums: N, hasAux: true):
  (<A extends Lift<P>>(...args: A) => [Selected<A, N>, Out<Aux, A>]) & Transformed;
export function grad<P extends unknown[], const N extends Argnums = 0>(f: Fn<P, Tensor>, opts?: { argnums?: N; hasAux?: false }):
  (<A extends Lift<P>>(...args: A) => Selected<A, N>) & Transformed;
export function grad<P extends unknown[], const N extends Argnums = 0>(f: Fn<P, Tensor>, argnums: N, hasAux?: false):
  (<A extends Lift<P>>(...args: A) => Selected<A, N>) & Transformed;

/** [gradient, value] (with hasAux: [gradient, [value, aux]]); the value is a number in typed-array mode. */
export function gradAndValue<P extends unknown[], Aux, const N extends Argnums = 0>(f: Fn<P, readonly [Tensor, Aux]>, opts: { argnums?: N; hasAux: true }):
  (<A extends Lift<P>>(...args: A) => [Selected<A, N>, [Out<Tensor, A>, Out<Aux, A>]]) & Transformed;
export function gradAndValue<P extends unknown[], Aux, const N extends Argnums = 0>(f: Fn<P, readonly [Tensor, Aux]>, argnums: N, hasAux: true):
  (<A extends Lift<P>>(...args: A) => [Selected<A, N>, [Out<Tensor, A>, Out<Aux, A>]]) & Transformed;
export function gradAndValue<P extends unknown[], const N extends Argnums = 0>(f: Fn<P, Tensor>, opts?: { argnums?: N; hasAux?: false }):
  (<A extends Lift<P>>(...args: A) => [Selected<A, N>, Out<Tensor, A>]) & Transformed;
export function gradAndValue<P extends unknown[], const N extends Argnums = 0>(f: Fn<P, Tensor>, argnums: N, hasAux?: false):
  (<A extends Lift<P>>(...args: A) => [Selected<A, N>, Out<Tensor, A>]) & Transformed;

/** vjpFn(cotangents) returns one gradient per primal. */
export type VjpFn<A extends readonly unknown[]> = ((...cotangents: any[]) => { -readonly [K in keyof A]: GradOf<A[K]> }) & Disposable;
/** vjp(f, ...primals) or vjp(f, [primals]) → [out, vjpFn]; a trailing { hasAux: true } gives [out, vjpFn, aux]. */
export function vjp<P extends unknown[], R, Aux, A extends Lift<P>>(f: Fn<P, readonly [R, Aux]>, ...rest: [...primals: A, opts: { hasAux: true }]): [Out<R, A>, VjpFn<A>, Out<Aux, A>];
export function vjp<P extends unknown[], R, A extends Lift<P>>(f: Fn<P, R>, ...primals: A): [Out<R, A>, VjpFn<A>];
export function vjp<P extends unknown[], R, A extends Lift<P>>(f: Fn<P, R>, primals: A, opts?: { hasAux?: false }): [Out<R, A>, VjpFn<A>];

// ---- forward mode -----------------------------------------------------------------

/** [out, tangentOut] (with hasAux: [out, tangentOut, aux]). strict and hasAux are keyword-only. */
export function jvp<P extends unknown[], R, Aux, A extends Lift<P>>(f: Fn<P, readonly [R, Aux]>, primals: A, tangents: Lift<P>, opts: { hasAux: true; strict?: boolean }):
  [Out<R, A>, Out<R, A>, Out<Aux, A>];
export function jvp<P extends unknown[], R, A extends Lift<P>>(f: Fn<P, R>, primals: A, tangents: Lift<P>, opts?: { hasAux?: false; strict?: boolean }):
  [Out<R, A>, Out<R, A>];
/** linearize(f, ...primals) or linearize(f, [primals]) → [out, jvpFn]; jvpFn(...tangents) gives f's tangent output. */
export function linearize<P extends unknown[], R, A extends Lift<P>>(f: Fn<P, R>, ...primals: A): [Out<R, A>, ((...tangents: any[]) => Out<R, A>) & Disposable];
export function linearize<P extends unknown[], R, A extends Lift<P>>(f: Fn<P, R>, primals: A): [Out<R, A>, ((...tangents: any[]) => Out<R, A>) & Disposable];

// ---- Jacobians ------------------------------------------------------------------------

/** The Jacobian of f's output R with respect to the selected arguments: R's structure, each leaf a Tensor (an array of them for argnums arrays). */
export type Jacobian<R, N> =
  R extends Tensor ? (N extends readonly number[] ? { -readonly [K in keyof N]: Tensor } : Tensor) :
  R extends readonly unknown[] ? { -readonly [K in keyof R]: Jacobian<R[K], N> } :
  R extends object ? { -readonly [K in keyof R]: Jacobian<R[K], N> } :
  R;
export interface JacrevOptions<N> { argnums?: N; hasAux?: boolean; chunkSize?: number | null }
export interface JacfwdOptions<N> { argnums?: N; hasAux?: boolean; randomness?: 'error' | 'same' | 'different' }
/** hasAux and chunkSize are keyword-only. With hasAux: [jacobian, aux]. */
export function jacrev<P extends unknown[], R, Aux, const N extends Argnums = 0>(f: Fn<P, readonly [R, Aux]>, opts: JacrevOptions<N> & { hasAux: true }):
  (<A extends Lift<P>>(...args: A) => [Out<Jacobian<R, N>, A>, Out<Aux, A>]) & Transformed;
export function jacrev<P extends unknown[], R, Aux, const N extends Argnums = 0>(f: Fn<P, readonly [R, Aux]>, argnums: N, opts: { hasAux: true; chunkSize?: number | null }):
  (<A extends Lift<P>>(...args: A) => [Out<Jacobian<R, N>, A>, Out<Aux, A>]) & Transformed;
export function jacrev<P extends unknown[], R, const N extends Argnums = 0>(f: Fn<P, R>, opts?: JacrevOptions<N> & { hasAux?: false }):
  (<A extends Lift<P>>(...args: A) => Out<Jacobian<R, N>, A>) & Transformed;
export function jacrev<P extends unknown[], R, const N extends Argnums = 0>(f: Fn<P, R>, argnums: N, opts?: { hasAux?: false; chunkSize?: number | null }):
  (<A extends Lift<P>>(...args: A) => Out<Jacobian<R, N>, A>) & Transformed;
/** randomness is keyword-only. With hasAux: [jacobian, aux]. */
export function jacfwd<P extends unknown[], R, Aux, const N extends Argnums = 0>(f: Fn<P, readonly [R, Aux]>, opts: JacfwdOptions<N> & { hasAux: true }):
  (<A extends Lift<P>>(...args: A) => [Out<Jacobian<R, N>, A>, Out<Aux, A>]) & Transformed;
export function jacfwd<P extends unknown[], R, Aux, const N extends Argnums = 0>(f: Fn<P, readonly [R, Aux]>, argnums: N, hasAux: true, opts?: { randomness?: 'error' | 'same' | 'different' }):
  (<A extends Lift<P>>(...args: A) => [Out<Jacobian<R, N>, A>, Out<Aux, A>]) & Transformed;
export function jacfwd<P extends unknown[], R, const N extends Argnums = 0>(f: Fn<P, R>, opts?: JacfwdOptions<N> & { hasAux?: false }):
  (<A extends Lift<P>>(...args: A) => Out<Jacobian<R, N>, A>) & Transformed;
export function jacfwd<P extends unknown[], R, const N extends Argnums = 0>(f: Fn<P, R>, argnums: N, hasAux?: false, opts?: { randomness?: 'error' | 'same' | 'different' }):
  (<A extends Lift<P>>(...args: A) => Out<Jacobian<R, N>, A>) & Transformed;
/** jacfwd(jacrev(f, argnums), argnums). */
export function hessian<P extends unknown[], R, const N extends Argnums = 0>(f: Fn<P, R>, argnums?: N | { argnums?: N }):
  (<A extends Lift<P>>(...args: A) => Out<Jacobian<Jacobian<R, N>, N>, A>) & Transformed;

// ---- vmap ------------------------------------------------------------------------------

/** A dimension per argument/output: a number, null (not batched), or a pytree prefix of them. */
export type InDims = number | null | readonly InDims[] | { readonly [k: string]: InDims };
export type Randomness = 'error' | 'same' | 'different';
export interface VmapOptions { inDims?: InDims; outDims?: InDims; randomness?: Randomness; chunkSize?: number | null }
/** Batched outputs: typed arrays in typed-array mode. */
export type VmapOut<R, A> = TypedMode<A> extends true ? Typed<R> : R;
/** vmap of a transformed function (vmap(grad(f)), vmap(vmap(f))): the same generic signature. */
export function vmap<G extends Transformed>(f: G, opts?: VmapOptions): G;
export function vmap<G extends Transformed>(f: G, inDims: InDims, outDims?: InDims, randomness?: Randomness, opts?: { chunkSize?: number | null }): G;
export function vmap<G extends Transformed>(f: G, inDims: InDims, opts: { outDims?: InDims; randomness?: Randomness; chunkSize?: number | null }): G;
export function vmap<P extends unknown[], R>(f: Fn<P, R>, opts?: VmapOptions): <A extends Lift<P>>(...args: A) => VmapOut<R, A>;
export function vmap<P extends unknown[], R>(f: Fn<P, R>, inDims: InDims, outDims?: InDims, randomness?: Randomness, opts?: { chunkSize?: number | null }):
  (<A extends Lift<P>>(...args: A) => VmapOut<R, A>) & Transformed;
export function vmap<P extends unknown[], R>(f: Fn<P, R>, inDims: InDims, outDims: InDims, opts: { randomness?: Randomness; chunkSize?: number | null }):
  (<A extends Lift<P>>(...args: A) => VmapOut<R, A>) & Transformed;
export function vmap<P extends unknown[], R>(f: Fn<P, R>, inDims: InDims, opts: { outDims?: InDims; randomness?: Randomness; chunkSize?: number | null }):
  (<A extends Lift<P>>(...args: A) => VmapOut<R, A>) & Transformed;

// ---- modules ---------------------------------------------------------------------------

export type ParamDict = Record<string, Tensor | Float32Array | Float64Array | Int32Array | null>;
export interface FunctionalCallOptions { args?: unknown; kwargs?: unknown; tieWeights?: boolean; strict?: boolean }
type Forward<M extends Module> = ReturnType<M['forward']>;
/**
 * Runs module.forward with the given tensors in place of its own.
 * args: an array is the argument list; anything else is the single argument.
 */
export function functionalCall<M extends Module>(module: M, parameterAndBufferDicts: ParamDict | readonly ParamDict[],
  args?: unknown, kwargs?: unknown, opts?: { tieWeights?: boolean; strict?: boolean }): Forward<M>;
export function functionalCall<M extends Module>(module: M, parameterAndBufferDicts: ParamDict | readonly ParamDict[],
  args: unknown, opts: { kwargs?: unknown; tieWeights?: boolean; strict?: boolean }): Forward<M>;
export function functionalCall<M extends Module>(module: M, parameterAndBufferDicts: ParamDict | readonly ParamDict[], opts: FunctionalCallOptions): Forward<M>;

/** The same function, with in-place updates replaced by out-of-place ones. remove is keyword-only. */
export function functionalize<F extends (...args: any[]) => any>(f: F, opts?: { remove?: 'mutations' | 'mutations_and_views' }): F;
/** [params, buffers], each entry stacked over the models along a new leading dimension. */
export function stackModuleState(models: readonly Module[]): [Record<string, Tensor>, Record<string, Tensor>];
/** Sets running stats of every BatchNorm in root to null (for vmap); returns root. */
export function replaceAllBatchNormModules_<M extends Module>(root: M): M;

// ---- compile -------------------------------------------------------------------------

export interface CompileOptions {
  /** Throw a TorchError where f cannot be traced, instead of running it eagerly with a warning. */
  fullgraph?: boolean;
  /**
   * Run chains of elementwise ops (unary math, add, sub, mul, div, maximum,
   * minimum of one float dtype) as one loop over cache-sized blocks, in place
   * of the chain's producer's result where it dies there. Results are
   * bit-identical to unfused ones. Default true.
   */
  fuse?: boolean;
}
export interface CompileStats {
  /** Calls that traced a new signature. */ traces: number;
  /** Calls that replayed a program. */ replays: number;
  /** Calls that ran f eagerly (a signature that fell back, or past the cache's limit). */ eagerCalls: number;
  /** Signatures that fell back to eager. */ fallbacks: number;
  /** Programs cached, and their instructions in all (a fused group counts as one). */ signatures: number; instructions: number;
  /** Fused groups in the cached programs, and the ops they replaced. */ fusedGroups: number; fusedOps: number;
}
/** A compiled function: f's own signature, plus dispose() (frees its programs) and stats(). */
export type Compiled<F> = F & Disposable & { stats(): CompileStats };
/**
 * f traced once per input signature into a program of ops, replayed in one
 * call into WebAssembly; composes with every transform; falls back to eager,
 * with one warning, where f's behaviour depends on values read into JavaScript.
 */
export function compile<F extends (...args: any[]) => any>(f: F, opts?: CompileOptions): Compiled<F>;

export interface Func {
  functionalCall: typeof functionalCall;
  compile: typeof compile;
  grad: typeof grad; gradAndValue: typeof gradAndValue; vjp: typeof vjp;
  jvp: typeof jvp; linearize: typeof linearize;
  jacrev: typeof jacrev; jacfwd: typeof jacfwd; hessian: typeof hessian;
  vmap: typeof vmap; functionalize: typeof functionalize;
  stackModuleState: typeof stackModuleState; replaceAllBatchNormModules_: typeof replaceAllBatchNormModules_;
}
