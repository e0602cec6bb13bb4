// Shape and view ops as torch.* functions and Tensor methods: reshape view
// flatten unflatten squeeze unsqueeze permute transpose t T mT movedim expand
// expandAs repeat narrow select slice flip cat stack split chunk diag
// diagonal diagEmbed triu tril contiguous. Dims and shapes go to the core as
// given: it wraps negative dims and raises PyTorch's messages against the
// logical shape at every transform level (attribute layouts: src/ops/shape.def).
import { Tensor, callOp, opId } from '../tensor.js';
import { rt } from '../runtime.js';
import { parseArgs, checkInt, describe } from '../args.js';
import { TorchError } from '../errors.js';

const ID = {};
const id = (name) => ID[name] ?? (ID[name] = opId(name));

/** A dim wrapped against rank ndim (a 0-d tensor takes -1 and 0), or PyTorch's message. */
export function wrapDim(dim, ndim) {
  const n = Math.max(ndim, 1);
  if (dim < -n || dim >= n)
    throw new TorchError(`Dimension out of range (expected to be in range of [${-n}, ${n - 1}], but got ${dim})`);
  return dim < 0 ? dim + n : dim;
}

function tensorArg(fname, t, what = 'input') {
  if (!(t instanceof Tensor)) throw new TorchError(`${fname}(): ${what} must be a Tensor, got ${describe(t)}`);
  return t;
}

/** Shape arguments: f(2, 3), f([2, 3]) or f(typedArray); integers only. */
function sizes(fname, args) {
  const list = args.length === 1 && (Array.isArray(args[0]) || ArrayBuffer.isView(args[0])) ? Array.from(args[0]) : Array.from(args);
  for (const v of list) checkInt(fname, v, 'size');
  return list;
}

/** A number or an array of numbers. */
function intList(fname, v, what) {
  const list = typeof v === 'number' ? [v] : Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v) : null;
  if (!list) throw new TorchError(`${fname}(): ${what} must be an integer or an array of integers, got ${describe(v)}`);
  for (const d of list) checkInt(fname, d, what);
  return list;
}

function tensorList(fname, tensors) {
  if (!Array.isArray(tensors))
    throw new TorchError(`${fname}(): expected an array of Tensors, got ${describe(tensors)}`);
  tensors.forEach((t, i) => tensorArg(fname, t, `tensors[${i}]`));
  return tensors;
}

const op1 = (name, t, ints) => callOp(id(name), [t], ints);

/** Largest int32: "to the end" for slice's end. */
const END = 2147483647;

export function install(torch) {
  const reshape = (input, ...shape) => op1('reshape', tensorArg('reshape', input), sizes('reshape', shape));
  const view = (input, ...shape) => {
    if (shape.length === 1 && typeof shape[0] === 'string')
      throw new TorchError('view(dtype) is not supported: use .to(dtype)');
    return op1('view', tensorArg('view', input), sizes('view', shape));
  };

  /** torch.flatten(input, startDim = 0, endDim = -1) */
  function flatten(input, ...rest) {
    const a = parseArgs('flatten', rest, ['startDim', 'endDim'], { startDim: 0, endDim: -1 });
    return op1('flatten', tensorArg('flatten', input), [checkInt('flatten', a.startDim, 'startDim'), checkInt('flatten', a.endDim, 'endDim')]);
  }

  /** unflatten(input, dim, sizes): dim split into sizes (one -1 allowed). */
  function unflatten(input, dim, sz) {
    tensorArg('unflatten', input);
    const d = wrapDim(checkInt('unflatten', dim, 'dim'), input.ndim);
    const s = intList('unflatten', sz, 'sizes');
    if (!s.length) throw new TorchError('unflatten: sizes must be non-empty');
    return reshape(input, [...input.shape.slice(0, d), ...s, ...input.shape.slice(d + 1)]);
  }

  /** torch.squeeze(input, dim?): dim a number, an array, or omitted (every size-1 dim). */
  function squeeze(input, ...rest) {
    const a = parseArgs('squeeze', rest, ['dim'], { dim: null });
    const dims = a.dim == null ? [] : intList('squeeze', a.dim, 'dim');
    if (a.dim != null && !dims.length) return op1('reshape', tensorArg('squeeze', input), input.shape);
    return op1('squeeze', tensorArg('squeeze', input), dims);
  }
  const unsqueeze = (input, dim) => op1('unsqueeze', tensorArg('unsqueeze', input), [checkInt('unsqueeze', dim, 'dim')]);
  const permute = (input, ...dims) => op1('permute', tensorArg('permute', input), sizes('permute', dims));
  const transpose = (input, dim0, dim1) =>
    op1('transpose', tensorArg('transpose', input), [checkInt('transpose', dim0, 'dim0'), checkInt('transpose', dim1, 'dim1')]);
  function t(input) {
    tensorArg('t', input);
    if (input.ndim > 2) throw new TorchError(`t() expects a tensor with <= 2 dimensions, but self is ${input.ndim}D`);
    return transpose(input, 0, -1);
  }
  /** movedim(input, source, destination): numbers or arrays of numbers. */
  function movedim(input, source, destination) {
    tensorArg('movedim', input);
    const s = intList('movedim', source, 'source'), d = intList('movedim', destination, 'destination');
    return op1('movedim', input, [s.length, ...s, ...d]);
  }

  /** expand(input, ...sizes): -1 keeps a dim; new dims go in front. */
  const expand = (input, ...shape) => op1('expand', tensorArg('expand', input), sizes('expand', shape));
  const expandAs = (input, other) => expand(input, tensorArg('expandAs', other, 'other').shape);
  const repeat = (input, ...reps) => op1('repeat', tensorArg('repeat', input), sizes('repeat', reps));

  const narrow = (input, dim, start, length) =>
    op1('narrow', tensorArg('narrow', input), [checkInt('narrow', dim, 'dim'), checkInt('narrow', start, 'start'), checkInt('narrow', length, 'length')]);
  const select = (input, dim, index) =>
    op1('select', tensorArg('select', input), [checkInt('select', dim, 'dim'), checkInt('select', index, 'index')]);
  /** slice(input, dim = 0, start = null, end = null, step = 1): Python's input[..., start:end:step] on one dim. */
  function slice(input, ...rest) {
    const a = parseArgs('slice', rest, ['dim', 'start', 'end', 'step'], { dim: 0, start: null, end: null, step: 1 });
    const start = a.start == null ? 0 : checkInt('slice', a.start, 'start');
    const end = a.end == null ? END : checkInt('slice', a.end, 'end');
    return op1('slice', tensorArg('slice', input), [checkInt('slice', a.dim, 'dim'), clampInt(start), clampInt(end), checkInt('slice', a.step, 'step')]);
  }
  const flip = (input, ...dims) => op1('flip', tensorArg('flip', input), dims.length === 1 && typeof dims[0] === 'number' ? [dims[0]] : sizes('flip', dims));

  /**
   * One call joins at most rt.maxIn tensors; a longer list is joined in
   * chunks whose results are catted along the same dim (`join(chunk)` makes
   * each chunk's piece: cat, or stack, whose pieces then line up along dim).
   */
  function chunked(name, tensors, dim, join) {
    if (tensors.length <= rt.maxIn) return join(tensors);
    checkJoin(name, tensors, dim); // PyTorch's messages, with indices into the whole list
    const parts = [];
    try {
      for (let k = 0; k < tensors.length; k += rt.maxIn) parts.push(join(tensors.slice(k, k + rt.maxIn)));
      return chunked(name, parts, dim, (ts) => callOp(id('cat'), ts, [dim]));
    } finally {
      for (const p of parts) p.dispose();
    }
  }
  /** The core's join checks, made on the whole list before it is chunked. */
  function checkJoin(name, tensors, dim) {
    const s0 = tensors[0].shape;
    for (let i = 1; i < tensors.length; i++) {
      const si = tensors[i].shape;
      if (name === 'stack') {
        if (si.length !== s0.length || si.some((v, k) => v !== s0[k]))
          throw new TorchError(`stack expects each tensor to be equal size, but got [${s0.join(', ')}] at entry 0 and [${si.join(', ')}] at entry ${i}`);
        continue;
      }
      if (si.length !== s0.length) throw new TorchError(`Tensors must have same number of dimensions: got ${s0.length} and ${si.length}`);
      const d = dim < 0 ? dim + s0.length : dim;
      for (let k = 0; k < s0.length; k++)
        if (k !== d && si[k] !== s0[k])
          throw new TorchError(`Sizes of tensors must match except in dimension ${d}. Expected size ${s0[k]} but got size ${si[k]} for tensor number ${i} in the list.`);
    }
  }
  /** torch.cat(tensors, dim = 0) */
  function cat(tensors, ...rest) {
    const a = parseArgs('cat', rest, ['dim'], { dim: 0 });
    tensorList('cat', tensors);
    const dim = checkInt('cat', a.dim, 'dim');
    return chunked('cat', tensors, dim, (ts) => callOp(id('cat'), ts, [dim]));
  }
  /** torch.stack(tensors, dim = 0) */
  function stack(tensors, ...rest) {
    const a = parseArgs('stack', rest, ['dim'], { dim: 0 });
    tensorList('stack', tensors);
    const dim = checkInt('stack', a.dim, 'dim');
    // each piece has the new dim; a negative dim names it in the pieces too
    return chunked('stack', tensors, dim, (ts) => callOp(id('stack'), ts, [dim]));
  }

  /** Pieces of `input` along dim with the given sizes (views). */
  function pieces(input, d, lens) {
    const out = [];
    let off = 0;
    try {
      for (const n of lens) {
        out.push(callOp(id('slice'), [input], [d, off, off + n, 1]));
        off += n;
      }
    } catch (e) {
      for (const p of out) p.dispose();
      throw e;
    }
    return out;
  }
  /** torch.split(tensor, splitSizeOrSections, dim = 0) -> Tensor[] */
  function split(input, splitSizeOrSections, ...rest) {
    const a = parseArgs('split', rest, ['dim'], { dim: 0 });
    tensorArg('split', input);
    if (input.ndim === 0) throw new TorchError('split expects at least a 1-dimensional tensor');
    const d = wrapDim(checkInt('split', a.dim, 'dim'), input.ndim), size = input.shape[d];
    if (typeof splitSizeOrSections === 'number') {
      const s = checkInt('split', splitSizeOrSections, 'split_size');
      if (s < 0) throw new TorchError(`split expects split_size be non-negative, but got split_size=${s}`);
      if (s === 0 && size !== 0)
        throw new TorchError(`split_size can only be 0 if dimension size is 0, but got dimension size of ${size}`);
      const n = s === 0 ? 1 : Math.max(Math.ceil(size / s), 1);
      const lens = Array.from({ length: n }, (_, k) => (k < n - 1 ? s : size - s * (n - 1)));
      return pieces(input, d, lens);
    }
    const lens = intList('split', splitSizeOrSections, 'split_size_or_sections');
    const sum = lens.reduce((x, y) => x + y, 0);
    if (lens.some((v) => v < 0) || sum !== size)
      throw new TorchError(`split_with_sizes expects split_sizes to sum exactly to ${size} (input tensor's size at dimension ${d}), but got split_sizes=[${lens.join(', ')}]`);
    return pieces(input, d, lens);
  }
  /** torch.chunk(input, chunks, dim = 0) -> Tensor[] (the last chunk may be smaller; fewer chunks if they run out) */
  function chunk(input, chunks, ...rest) {
    const a = parseArgs('chunk', rest, ['dim'], { dim: 0 });
    tensorArg('chunk', input);
    checkInt('chunk', chunks, 'chunks');
    if (input.ndim === 0) throw new TorchError('chunk expects at least a 1-dimensional tensor');
    if (chunks <= 0) throw new TorchError(`chunk expects \`chunks\` to be greater than 0, got: ${chunks}`);
    const d = wrapDim(checkInt('chunk', a.dim, 'dim'), input.ndim), size = input.shape[d];
    const s = Math.ceil(size / chunks);
    if (s === 0) return pieces(input, d, new Array(chunks).fill(0));
    return split(input, s, d);
  }

  /** torch.diag(input, diagonal = 0): 1-D -> a matrix with it on a diagonal, 2-D -> that diagonal. */
  function diag(input, ...rest) {
    const a = parseArgs('diag', rest, ['diagonal'], { diagonal: 0 });
    return op1('diag', tensorArg('diag', input), [checkInt('diag', a.diagonal, 'diagonal')]);
  }
  /** torch.diagonal(input, offset = 0, dim1 = 0, dim2 = 1): a view, the diagonal appended as the last dim. */
  function diagonal(input, ...rest) {
    const a = parseArgs('diagonal', rest, ['offset', 'dim1', 'dim2'], { offset: 0, dim1: 0, dim2: 1 });
    return op1('diagonal', tensorArg('diagonal', input), [checkInt('diagonal', a.offset, 'offset'), checkInt('diagonal', a.dim1, 'dim1'), checkInt('diagonal', a.dim2, 'dim2')]);
  }
  /** torch.diagEmbed(input, offset = 0, dim1 = -2, dim2 = -1) */
  function diagEmbed(input, ...rest) {
    const a = parseArgs('diagEmbed', rest, ['offset', 'dim1', 'dim2'], { offset: 0, dim1: -2, dim2: -1 });
    tensorArg('diagEmbed', input);
    const off = checkInt('diagEmbed', a.offset, 'offset');
    const nd = input.ndim + 1;
    const d1 = wrapDim(checkInt('diagEmbed', a.dim1, 'dim1'), nd), d2 = wrapDim(checkInt('diagEmbed', a.dim2, 'dim2'), nd);
    if (d1 === d2) throw new TorchError(`diagonal dimensions cannot be identical ${a.dim1}, ${a.dim2}`);
    if (input.ndim === 0) throw new TorchError('diag_embed(): expected a tensor with at least 1 dimension');
    const n = input.shape[input.ndim - 1] + Math.abs(off);
    const e = callOp(id('diag_embed'), [input], [off, n, n]);
    if (d1 === nd - 2 && d2 === nd - 1) return e;
    try { return movedim(e, [nd - 2, nd - 1], [d1, d2]); } finally { e.dispose(); }
  }
  const tri = (name) => (input, ...rest) => {
    const a = parseArgs(name, rest, ['diagonal'], { diagonal: 0 });
    return op1(name, tensorArg(name, input), [checkInt(name, a.diagonal, 'diagonal')]);
  };
  const triu = tri('triu'), tril = tri('tril');
  /**
   * torch.sliceScatter(input, src, dim = 0, start = null, end = null, step = 1): input with
   * input[..., start:end:step, ...] (along dim) replaced by src; differentiable in both.
   */
  function sliceScatter(input, src, ...rest) {
    const a = parseArgs('sliceScatter', rest, ['dim', 'start', 'end', 'step'], { dim: 0, start: null, end: null, step: 1 });
    tensorArg('sliceScatter', input);
    tensorArg('sliceScatter', src, 'src');
    if (input.ndim === 0) throw new TorchError('slice() cannot be applied to a 0-dim tensor.');
    const d = wrapDim(checkInt('sliceScatter', a.dim, 'dim'), input.ndim), size = input.shape[d];
    const step = checkInt('sliceScatter', a.step, 'step');
    if (step <= 0) throw new TorchError('slice step must be positive');
    let start = a.start == null ? 0 : checkInt('sliceScatter', a.start, 'start');
    let end = a.end == null ? size : checkInt('sliceScatter', a.end, 'end');
    if (start < 0) start += size;
    if (end < 0) end += size;
    start = Math.min(Math.max(start, 0), size);
    end = Math.min(Math.max(end, start), size);
    const want = input.shape.slice();
    want[d] = Math.ceil((end - start) / step);
    if (src.ndim !== want.length || src.shape.some((v, k) => v !== want[k]))
      throw new TorchError(`Expected src to have a size equal to the slice of self. src size = [${src.shape.join(', ')}], slice size = [${want.join(', ')}]`);
    const attrs = [d, start, step, ...input.shape];
    const old = callOp(id('slice'), [input], [d, start, end, step]);
    const parts = [];
    try {
      parts.push(callOp(id('slice_scatter'), [old], attrs));
      parts.push(callOp(id('slice_scatter'), [src], attrs));
      parts.push(torch.sub(input, parts[0]));
      return torch.add(parts[2], parts[1]);
    } finally {
      old.dispose();
      for (const p of parts) p.dispose();
    }
  }
  const contiguous = (input) => callOp(id('contiguous'), [tensorArg('contiguous', input)]);

  Object.assign(torch, {
    reshape, flatten, unflatten, squeeze, unsqueeze, permute, transpose, swapaxes: transpose, swapdims: transpose, t,
    movedim, moveaxis: movedim, expand, expandAs, repeat, narrow, select, slice, flip, cat, concat: cat,
    concatenate: cat, stack, split, chunk, diag, diagonal, diagEmbed, triu, tril, contiguous, sliceScatter,
  });

  const P = Tensor.prototype;
  P.reshape = function (...shape) { return reshape(this, ...shape); };
  P.view = function (...shape) { return view(this, ...shape); };
  P.viewAs = function (other) { return view(this, tensorArg('viewAs', other, 'other').shape); };
  P.reshapeAs = function (other) { return reshape(this, tensorArg('reshapeAs', other, 'other').shape); };
  P.flatten = function (...rest) { return flatten(this, ...rest); };
  P.unflatten = function (dim, sz) { return unflatten(this, dim, sz); };
  P.squeeze = function (...rest) { return squeeze(this, ...rest); };
  P.unsqueeze = function (dim) { return unsqueeze(this, dim); };
  P.permute = function (...dims) { return permute(this, ...dims); };
  P.transpose = function (d0, d1) { return transpose(this, d0, d1); };
  P.swapaxes = P.transpose;
  P.swapdims = P.transpose;
  P.t = function () { return t(this); };
  P.movedim = function (s, d) { return movedim(this, s, d); };
  P.moveaxis = P.movedim;
  P.expand = function (...shape) { return expand(this, ...shape); };
  P.expandAs = function (other) { return expandAs(this, other); };
  P.repeat = function (...reps) { return repeat(this, ...reps); };
  P.narrow = function (dim, start, length) { return narrow(this, dim, start, length); };
  P.select = function (dim, index) { return select(this, dim, index); };
  P.slice = function (...rest) { return slice(this, ...rest); };
  P.flip = function (...dims) { return flip(this, ...dims); };
  P.split = function (s, ...rest) { return split(this, s, ...rest); };
  P.chunk = function (c, ...rest) { return chunk(this, c, ...rest); };
  P.diag = function (...rest) { return diag(this, ...rest); };
  P.diagonal = function (...rest) { return diagonal(this, ...rest); };
  P.diagEmbed = function (...rest) { return diagEmbed(this, ...rest); };
  P.triu = function (...rest) { return triu(this, ...rest); };
  P.tril = function (...rest) { return tril(this, ...rest); };
  P.contiguous = function () { return contiguous(this); };
  P.sliceScatter = function (src, ...rest) { return sliceScatter(this, src, ...rest); };
  Object.defineProperty(P, 'T', {
    configurable: true,
    /** The dims reversed (x.permute(n-1, ..., 0)). */
    get() { return permute(this, this.shape.map((_, i) => this.ndim - 1 - i)); },
  });
  Object.defineProperty(P, 'mT', {
    configurable: true,
    /** The last two dims swapped (a batch of transposed matrices). */
    get() {
      if (this.ndim < 2) throw new TorchError(`tensor.mT is only supported on matrices or batches of matrices. Got ${this.ndim}-D tensor.`);
      return transpose(this, -2, -1);
    },
  });
}

function clampInt(v) { return v > END ? END : v < -END ? -END : v; }

