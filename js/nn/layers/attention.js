// MultiheadAttention, with PyTorch 1.13's multi_head_attention_forward
// written in dispatched ops (so every transform runs through it).
import { Module } from '../module.js';
import { TorchError } from '../../errors.js';
import { parseArgs, describe } from '../../args.js';
import * as init from '../init.js';
import { Linear } from './linear.js';
import { F, T, layerArgs, checkDtype, newParameter, checkInt, checkBool, checkInput } from './util.js';

/** PyTorch's name for MultiheadAttention's output projection (a plain Linear). */
export class NonDynamicallyQuantizableLinear extends Linear {}

const fmtShape = (s) => `(${s.join(', ')}${s.length === 1 ? ',' : ''})`;

/**
 * Multi-head attention (Vaswani et al.): parameters in_proj_weight
 * [3E, E] (or q_proj_weight/k_proj_weight/v_proj_weight when kdim/vdim
 * differ from E), in_proj_bias [3E], out_proj (a Linear E→E), and
 * bias_k/bias_v [1, 1, E] with addBiasKv.
 * @example
 * const mha = new nn.MultiheadAttention(8, 2, { batchFirst: true });
 * const [out, weights] = mha.forward(x, x, x);   // x [N, L, 8] → out [N, L, 8], weights [N, L, L]
 */
export class MultiheadAttention extends Module {
  constructor(embedDim, numHeads, ...rest) {
    super();
    const o = layerArgs('MultiheadAttention', rest, ['dropout', 'bias', 'addBiasKv', 'addZeroAttn', 'kdim', 'vdim', 'batchFirst'],
      { dropout: 0.0, bias: true, addBiasKv: false, addZeroAttn: false, kdim: null, vdim: null, batchFirst: false });
    this.embedDim = checkInt('MultiheadAttention', 'embed_dim', embedDim, { min: 1 });
    this.numHeads = checkInt('MultiheadAttention', 'num_heads', numHeads, { min: 1 });
    this.kdim = o.kdim === null || o.kdim === undefined ? embedDim : checkInt('MultiheadAttention', 'kdim', o.kdim, { min: 1 });
    this.vdim = o.vdim === null || o.vdim === undefined ? embedDim : checkInt('MultiheadAttention', 'vdim', o.vdim, { min: 1 });
    this._qkvSameEmbedDim = this.kdim === embedDim && this.vdim === embedDim;
    if (typeof o.dropout !== 'number') throw new TorchError(`MultiheadAttention: dropout must be a number, got ${describe(o.dropout)}`);
    this.dropout = o.dropout;
    this.batchFirst = checkBool('MultiheadAttention', 'batch_first', o.batchFirst);
    this.headDim = Math.floor(embedDim / numHeads);
    if (this.headDim * numHeads !== embedDim) throw new TorchError('embed_dim must be divisible by num_heads');
    const dtype = checkDtype('MultiheadAttention', o.dtype);
    // every argument is checked before the first parameter is made
    const bias = checkBool('MultiheadAttention', 'bias', o.bias);
    const addBiasKv = checkBool('MultiheadAttention', 'add_bias_kv', o.addBiasKv);
    this.addZeroAttn = checkBool('MultiheadAttention', 'add_zero_attn', o.addZeroAttn);
    if (!this._qkvSameEmbedDim) {
      this.q_proj_weight = newParameter([embedDim, embedDim], dtype);
      this.k_proj_weight = newParameter([embedDim, this.kdim], dtype);
      this.v_proj_weight = newParameter([embedDim, this.vdim], dtype);
      this.registerParameter('in_proj_weight', null);
    } else {
      this.in_proj_weight = newParameter([3 * embedDim, embedDim], dtype);
      this.registerParameter('q_proj_weight', null);
      this.registerParameter('k_proj_weight', null);
      this.registerParameter('v_proj_weight', null);
    }
    if (bias) this.in_proj_bias = newParameter([3 * embedDim], dtype);
    else this.registerParameter('in_proj_bias', null);
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, { bias, dtype });
    if (addBiasKv) {
      this.bias_k = newParameter([1, 1, embedDim], dtype);
      this.bias_v = newParameter([1, 1, embedDim], dtype);
    } else {
      this.bias_k = null;
      this.bias_v = null;
    }
    this._resetParameters();
  }
  _resetParameters() {
    if (this._qkvSameEmbedDim) init.xavierUniform_(this.in_proj_weight);
    else {
      init.xavierUniform_(this.q_proj_weight);
      init.xavierUniform_(this.k_proj_weight);
      init.xavierUniform_(this.v_proj_weight);
    }
    if (this.in_proj_bias) {
      init.constant_(this.in_proj_bias, 0);
      init.constant_(this.out_proj.bias, 0);
    }
    if (this.bias_k) init.xavierNormal_(this.bias_k);
    if (this.bias_v) init.xavierNormal_(this.bias_v);
  }

  /**
   * @param {Tensor} query [L, N, E] ([N, L, E] with batchFirst, [L, E] unbatched)
   * @param {Tensor} key [S, N, kdim]
   * @param {Tensor} value [S, N, vdim]
   * @param {{keyPaddingMask?: Tensor|null, needWeights?: boolean, attnMask?: Tensor|null, averageAttnWeights?: boolean}} [opts]
   *   keyPaddingMask [N, S] (bool: true = ignore; float: added), attnMask [L, S] or [N*heads, L, S]
   * @returns {[Tensor, Tensor|null]} output and (with needWeights) the attention weights
   *   [N, L, S] (averaged over heads) or [N, heads, L, S]
   */
  forward(query, key, value, ...rest) {
    const o = parseArgs('MultiheadAttention.forward', rest, ['keyPaddingMask', 'needWeights', 'attnMask', 'averageAttnWeights'],
      { keyPaddingMask: null, needWeights: true, attnMask: null, averageAttnWeights: true });
    for (const [n, t] of [['query', query], ['key', key], ['value', value]]) checkInput(this, t, n, { typedArray: false });
    const torch = T();
    return torch.scope(() => {
      const isBatched = query.ndim === 3;
      let q = query, k = key, v = value;
      if (this.batchFirst && isBatched) {
        q = query.transpose(1, 0);
        k = key === query ? q : key.transpose(1, 0);
        v = value === key ? k : value.transpose(1, 0);
      }
      const [out, weights] = mhaForward(this, q, k, v, o);
      if (this.batchFirst && isBatched) return [out.transpose(1, 0), weights];
      return [out, weights];
    });
  }
}

/** Asserts with PyTorch's text. */
function check(cond, msg) { if (!cond) throw new TorchError(msg); }

function shapeCheck(query, key, value, kpm, attnMask, numHeads) {
  if (query.ndim === 3) {
    check(key.ndim === 3 && value.ndim === 3,
      `For batched (3-D) \`query\`, expected \`key\` and \`value\` to be 3-D but found ${key.ndim}-D and ${value.ndim}-D tensors respectively`);
    if (kpm) check(kpm.ndim === 2, `For batched (3-D) \`query\`, expected \`key_padding_mask\` to be \`None\` or 2-D but found ${kpm.ndim}-D tensor instead`);
    if (attnMask) check(attnMask.ndim === 2 || attnMask.ndim === 3, `For batched (3-D) \`query\`, expected \`attn_mask\` to be \`None\`, 2-D or 3-D but found ${attnMask.ndim}-D tensor instead`);
    return true;
  }
  if (query.ndim === 2) {
    check(key.ndim === 2 && value.ndim === 2,
      `For unbatched (2-D) \`query\`, expected \`key\` and \`value\` to be 2-D but found ${key.ndim}-D and ${value.ndim}-D tensors respectively`);
    if (kpm) check(kpm.ndim === 1, `For unbatched (2-D) \`query\`, expected \`key_padding_mask\` to be \`None\` or 1-D but found ${kpm.ndim}-D tensor instead`);
    if (attnMask) {
      check(attnMask.ndim === 2 || attnMask.ndim === 3, `For unbatched (2-D) \`query\`, expected \`attn_mask\` to be \`None\`, 2-D or 3-D but found ${attnMask.ndim}-D tensor instead`);
      if (attnMask.ndim === 3) {
        const expected = [numHeads, query.shape[0], key.shape[0]];
        check(expected.every((s, i) => s === attnMask.shape[i]), `Expected \`attn_mask\` shape to be ${fmtShape(expected)} but got [${attnMask.shape.join(', ')}]`);
      }
    }
    return false;
  }
  throw new TorchError(`query should be unbatched 2D or batched 3D tensor but received ${query.ndim}-D query tensor`);
}

/** A float mask to add to the attention logits: bool true → -inf, float as is. */
function additiveMask(torch, mask, dtype) {
  if (mask.dtype === 'bool') return torch.where(mask, torch.full([], -Infinity, { dtype }), torch.full([], 0, { dtype }));
  check(mask.dtype === 'float32' || mask.dtype === 'float64', `Only float, byte, and bool types are supported for attn_mask, not torch.${mask.dtype}`);
  return mask;
}

/** Appends a zero column to the last dim of a mask (PyTorch's pad(mask, (0, 1))). */
function padMask(torch, mask) {
  const shape = mask.shape.slice();
  shape[shape.length - 1] = 1;
  return torch.cat([mask, torch.zeros(shape, { dtype: mask.dtype })], -1);
}

/** F.multi_head_attention_forward (PyTorch 1.13), inputs [L, N, E]. Runs inside a scope. */
function mhaForward(m, query, key, value, o) {
  const torch = T(), f = F();
  const H = m.numHeads, E = m.embedDim;
  let kpm = o.keyPaddingMask ?? null, attnMask = o.attnMask ?? null;
  const isBatched = shapeCheck(query, key, value, kpm, attnMask, H);
  if (!isBatched) {
    const uq = query.unsqueeze(1);
    const uk = key === query ? uq : key.unsqueeze(1);
    const uv = value === key ? uk : value === query ? uq : value.unsqueeze(1);
    query = uq; key = uk; value = uv;
    if (kpm) kpm = kpm.unsqueeze(0);
  }
  const [tgtLen, bsz, embedDim] = query.shape;
  let srcLen = key.shape[0];
  if (kpm) check(kpm.dtype === 'bool' || kpm.dtype === 'float32' || kpm.dtype === 'float64', 'only bool and floating types of key_padding_mask are supported');
  check(embedDim === E, `was expecting embedding dimension of ${E}, but got ${embedDim}`);
  const hd = m.headDim;
  let q, k, v;
  const sep = !m._qkvSameEmbedDim;
  if (sep) {
    check(key.shape[0] === value.shape[0] && key.shape[1] === value.shape[1],
      `key's sequence and batch dims (${key.shape.slice(0, 2).join(', ')}) do not match value's (${value.shape.slice(0, 2).join(', ')})`);
    const b = m.in_proj_bias;
    const [bq, bk, bv] = b ? b.chunk(3) : [null, null, null];
    q = f.linear(query, m.q_proj_weight, bq);
    k = f.linear(key, m.k_proj_weight, bk);
    v = f.linear(value, m.v_proj_weight, bv);
  } else {
    check(key.ndim === value.ndim && key.shape.every((s, i) => s === value.shape[i]),
      `key shape [${key.shape.join(', ')}] does not match value shape [${value.shape.join(', ')}]`);
    const w = m.in_proj_weight, b = m.in_proj_bias;
    if (query === key && key === value) {
      const proj = f.linear(query, w, b);                      // (L, N, 3E)
      [q, k, v] = proj.chunk(3, -1);
    } else {
      const [wq, wk, wv] = w.chunk(3);
      const [bq, bk, bv] = b ? b.chunk(3) : [null, null, null];
      q = f.linear(query, wq, bq);
      k = f.linear(key, wk, bk);
      v = f.linear(value, wv, bv);
    }
  }
  const dtype = q.dtype;
  if (attnMask) {
    check(attnMask.dtype === 'bool' || attnMask.dtype === 'float32' || attnMask.dtype === 'float64',
      `Only float, byte, and bool types are supported for attn_mask, not torch.${attnMask.dtype}`);
    if (attnMask.ndim === 2) {
      if (attnMask.shape[0] !== tgtLen || attnMask.shape[1] !== srcLen)
        throw new TorchError(`The shape of the 2D attn_mask is [${attnMask.shape.join(', ')}], but should be (${tgtLen}, ${srcLen}).`);
      attnMask = attnMask.unsqueeze(0);
    } else if (attnMask.ndim === 3) {
      const want = [bsz * H, tgtLen, srcLen];
      if (!want.every((s, i) => s === attnMask.shape[i]))
        throw new TorchError(`The shape of the 3D attn_mask is [${attnMask.shape.join(', ')}], but should be (${want.join(', ')}).`);
    } else throw new TorchError(`attn_mask's dimension ${attnMask.ndim} is not supported`);
    attnMask = additiveMask(torch, attnMask, dtype);
  }
  if (kpm) kpm = additiveMask(torch, kpm, dtype);
  if (m.bias_k && m.bias_v) {
    k = torch.cat([k, m.bias_k.repeat([1, bsz, 1])]);
    v = torch.cat([v, m.bias_v.repeat([1, bsz, 1])]);
    if (attnMask) attnMask = padMask(torch, attnMask);
    if (kpm) kpm = padMask(torch, kpm);
  }
  q = q.reshape([tgtLen, bsz * H, hd]).transpose(0, 1);          // (N*H, L, hd)
  k = k.reshape([k.shape[0], bsz * H, hd]).transpose(0, 1);      // (N*H, S, hd)
  v = v.reshape([v.shape[0], bsz * H, hd]).transpose(0, 1);
  if (m.addZeroAttn) {
    k = torch.cat([k, torch.zeros([bsz * H, 1, hd], { dtype: k.dtype })], 1);
    v = torch.cat([v, torch.zeros([bsz * H, 1, hd], { dtype: v.dtype })], 1);
    if (attnMask) attnMask = padMask(torch, attnMask);
    if (kpm) kpm = padMask(torch, kpm);
  }
  srcLen = k.shape[1];
  if (kpm) {
    if (kpm.shape[0] !== bsz || kpm.shape[1] !== srcLen)
      throw new TorchError(`expecting key_padding_mask shape of (${bsz}, ${srcLen}), but got [${kpm.shape.join(', ')}]`);
    const km = kpm.reshape([bsz, 1, 1, srcLen]).expand([-1, H, -1, -1]).reshape([bsz * H, 1, srcLen]);
    attnMask = attnMask ? attnMask.add(km) : km;
  }
  const dropoutP = m.training ? m.dropout : 0.0;
  const qScaled = q.div(Math.sqrt(hd));
  let w = qScaled.bmm(k.transpose(-2, -1));                      // (N*H, L, S)
  if (attnMask) w = w.add(attnMask);
  w = f.softmax(w, -1);
  if (dropoutP > 0) w = f.dropout(w, dropoutP, true);
  let out = w.bmm(v);                                            // (N*H, L, hd)
  out = out.transpose(0, 1).reshape([tgtLen * bsz, embedDim]);
  out = f.linear(out, m.out_proj.weight, m.out_proj.bias);
  out = out.reshape([tgtLen, bsz, out.shape[1]]);
  if (!o.needWeights) return [isBatched ? out : out.squeeze(1), null];
  w = w.reshape([bsz, H, tgtLen, srcLen]);
  if (o.averageAttnWeights) w = w.sum(1).div(H);
  if (!isBatched) return [out.squeeze(1), w.squeeze(0)];
  return [out, w];
}
