// Embedding: a lookup table of numEmbeddings rows of size embeddingDim.
import { Module, Parameter } from '../module.js';
import { Tensor } from '../../tensor.js';
import { TorchError } from '../../errors.js';
import { describe } from '../../args.js';
import { pyRepr } from '../repr.js';
import * as init from '../init.js';
import { F, T, layerArgs, checkDtype, newParameter, checkInt, checkBool, checkInput } from './util.js';
import { descOf } from './desc.js';

const NAMES = ['paddingIdx', 'maxNorm', 'normType', 'scaleGradByFreq', 'sparse', '_weight', '_freeze'];
const DEFAULTS = { paddingIdx: null, maxNorm: null, normType: 2.0, scaleGradByFreq: false, sparse: false, _weight: null, _freeze: false };

/**
 * weight [numEmbeddings, embeddingDim] ~ N(0, 1), with the paddingIdx row
 * zero (and excluded from the gradient by F.embedding). Indices are int32.
 * @example
 * const emb = new nn.Embedding(10, 3, { paddingIdx: 0 });
 * emb.forward(torch.tensor([[1, 2], [0, 9]], { dtype: 'int32' })).shape; // [2, 2, 3]
 */
export class Embedding extends Module {
  constructor(numEmbeddings, embeddingDim, ...rest) {
    super();
    const o = layerArgs('Embedding', rest, NAMES, DEFAULTS);
    this.numEmbeddings = checkInt('Embedding', 'num_embeddings', numEmbeddings, { min: 0 });
    this.embeddingDim = checkInt('Embedding', 'embedding_dim', embeddingDim, { min: 0 });
    let pad = o.paddingIdx;
    if (pad !== null && pad !== undefined) {
      checkInt('Embedding', 'padding_idx', pad);
      if (pad > 0 && !(pad < numEmbeddings)) throw new TorchError('Padding_idx must be within num_embeddings');
      if (pad < 0) {
        if (!(pad >= -numEmbeddings)) throw new TorchError('Padding_idx must be within num_embeddings');
        pad = numEmbeddings + pad;
      }
    } else pad = null;
    this.paddingIdx = pad;
    if (o.maxNorm !== null && typeof o.maxNorm !== 'number') throw new TorchError(`Embedding: max_norm must be a number or null, got ${describe(o.maxNorm)}`);
    this.maxNorm = o.maxNorm;
    this.normType = o.normType;
    this.scaleGradByFreq = checkBool('Embedding', 'scale_grad_by_freq', o.scaleGradByFreq);
    this.sparse = checkBool('Embedding', 'sparse', o.sparse);
    if (o._weight === null || o._weight === undefined) {
      this.weight = newParameter([numEmbeddings, embeddingDim], checkDtype('Embedding', o.dtype));
      this.resetParameters();
    } else {
      const w = o._weight;
      if (!(w instanceof Tensor) || w.ndim !== 2 || w.shape[0] !== numEmbeddings || w.shape[1] !== embeddingDim)
        throw new TorchError('Shape of weight does not match num_embeddings and embedding_dim');
      this.weight = new Parameter(w, !o._freeze);
    }
  }
  resetParameters() {
    init.normal_(this.weight);
    this._fillPaddingIdxWithZero();
  }
  /** @internal zeroes the padding row in place */
  _fillPaddingIdxWithZero() {
    if (this.paddingIdx === null) return;
    const torch = T(), w = this.weight;
    const data = w.toTypedArray();
    data.fill(0, this.paddingIdx * this.embeddingDim, (this.paddingIdx + 1) * this.embeddingDim);
    const src = torch.tensor(data, { shape: w.shape });
    try { torch.noGrad(() => w.copy_(src)); } finally { src.dispose(); }
  }
  /** @param {Tensor|Int32Array} input int32 indices of any shape */
  forward(input) {
    return F().embedding(checkInput(this, input), this.weight, this.paddingIdx, this.maxNorm, this.normType, this.scaleGradByFreq, this.sparse);
  }
  _desc() {
    if (this.maxNorm !== null) return null;
    return descOf('EMBEDDING', { ints: [this.paddingIdx ?? -1], tensors: [this.weight] });
  }
  extraRepr() {
    let s = `${this.numEmbeddings}, ${this.embeddingDim}`;
    if (this.paddingIdx !== null) s += `, padding_idx=${this.paddingIdx}`;
    if (this.maxNorm !== null) s += `, max_norm=${pyRepr(this.maxNorm)}`;
    if (this.normType !== 2) s += `, norm_type=${pyRepr(this.normType)}`;
    if (this.scaleGradByFreq !== false) s += `, scale_grad_by_freq=${pyRepr(this.scaleGradByFreq)}`;
    if (this.sparse !== false) s += ', sparse=True';
    return s;
  }

  /**
   * An Embedding whose weight is `embeddings` (shared storage, as PyTorch).
   * @param {Tensor} embeddings [numEmbeddings, embeddingDim]
   * @param {{freeze?: boolean, paddingIdx?: number, maxNorm?: number, normType?: number, scaleGradByFreq?: boolean, sparse?: boolean}} [opts]
   */
  static fromPretrained(embeddings, opts = {}) {
    const { freeze = true, paddingIdx = null, maxNorm = null, normType = 2.0, scaleGradByFreq = false, sparse = false } = opts;
    if (!(embeddings instanceof Tensor) || embeddings.ndim !== 2) throw new TorchError('Embeddings parameter is expected to be 2-dimensional');
    const [rows, cols] = embeddings.shape;
    return new Embedding(rows, cols, { _weight: embeddings, _freeze: freeze, paddingIdx, maxNorm, normType, scaleGradByFreq, sparse });
  }
}
