// BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm.
import { Module } from '../module.js';
import { TorchError } from '../../errors.js';
import { describe } from '../../args.js';
import { pyRepr } from '../repr.js';
import * as init from '../init.js';
import { F, T, layerArgs, checkDtype, newParameter, filled, checkInt, checkBool, checkInput, shapeOf } from './util.js';
import { descOf } from './desc.js';

function checkMomentum(cls, m) {
  if (m !== null && typeof m !== 'number') throw new TorchError(`${cls}: momentum must be a number or null, got ${describe(m)}`);
  return m;
}

/**
 * PyTorch's _BatchNorm: weight (ones) and bias (zeros) when affine;
 * running_mean (zeros), running_var (ones) and num_batches_tracked (0, an
 * int32 scalar: PyTorch's is int64) when trackRunningStats.
 */
export class _BatchNorm extends Module {
  /** @internal */
  _setup(cls, numFeatures, rest) {
    const o = layerArgs(cls, rest, ['eps', 'momentum', 'affine', 'trackRunningStats'],
      { eps: 1e-5, momentum: 0.1, affine: true, trackRunningStats: true });
    this.numFeatures = checkInt(cls, 'num_features', numFeatures, { min: 0 });
    if (typeof o.eps !== 'number') throw new TorchError(`${cls}: eps must be a number, got ${describe(o.eps)}`);
    this.eps = o.eps;
    this.momentum = checkMomentum(cls, o.momentum);
    this.affine = checkBool(cls, 'affine', o.affine);
    this.trackRunningStats = checkBool(cls, 'track_running_stats', o.trackRunningStats);
    const dtype = checkDtype(cls, o.dtype);
    if (this.affine) {
      this.weight = newParameter([numFeatures], dtype);
      this.bias = newParameter([numFeatures], dtype);
    } else {
      this.registerParameter('weight', null);
      this.registerParameter('bias', null);
    }
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', filled([numFeatures], 0, dtype));
      this.registerBuffer('running_var', filled([numFeatures], 1, dtype));
      this.registerBuffer('num_batches_tracked', filled([], 0, 'int32'));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
    this.resetParameters();
  }
  resetRunningStats() {
    if (!this.trackRunningStats) return;
    T().noGrad(() => {
      this.running_mean.zero_();
      this.running_var.fill_(1);
      this.num_batches_tracked.zero_();
    });
  }
  resetParameters() {
    this.resetRunningStats();
    if (this.affine) {
      init.ones_(this.weight);
      init.zeros_(this.bias);
    }
  }
  /** @internal throws PyTorch's message for a wrong rank (of a checked input) */
  _checkInputDim(_input) {}

  /**
   * The momentum F.batchNorm gets, after counting this batch (PyTorch's
   * exponential_average_factor; momentum null is a cumulative average).
   * @internal
   */
  _averageFactor() {
    let factor = this.momentum ?? 0.0;
    if (this.training && this.trackRunningStats) {
      const nbt = this.num_batches_tracked;
      if (nbt) {
        T().noGrad(() => nbt.add_(1));
        if (this.momentum === null) factor = 1.0 / nbt.item();
      }
    }
    return factor;
  }
  /** @internal whether F.batchNorm normalises with batch statistics */
  _bnTraining() {
    return this.training || (this.running_mean === null && this.running_var === null);
  }
  forward(input) {
    this._checkInputDim(checkInput(this, input));
    const factor = this._averageFactor();
    const useStats = !this.training || this.trackRunningStats;
    return F().batchNorm(input, useStats ? this.running_mean : null, useStats ? this.running_var : null,
      this.weight, this.bias, this._bnTraining(), factor, this.eps);
  }
  /** @internal the rank check of the chain's BATCH_NORM (1: 2-D or 3-D, 2: 4-D) */
  _rankCode() { return 0; }
  _desc() {
    // the chain counts the batch in num_batches_tracked (when training with
    // running statistics) and averages with 1/n for momentum null (NaN)
    const useStats = !this.training || this.trackRunningStats;
    return descOf('BATCH_NORM', {
      ints: [this._bnTraining() ? 1 : 0, this._rankCode()],
      floats: [this.momentum ?? NaN, this.eps],
      tensors: [this.weight, this.bias, useStats ? this.running_mean : null, useStats ? this.running_var : null,
        this.trackRunningStats ? this.num_batches_tracked : null],
      training: this.training,
    });
  }
  extraRepr() {
    return `${this.numFeatures}, eps=${pyRepr(this.eps, { float: true })}, momentum=${pyRepr(this.momentum, { float: true })}, affine=${pyRepr(this.affine)}, track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }
}

/**
 * Batch normalisation over [N, C] or [N, C, L] input.
 * @example new nn.BatchNorm1d(16, { momentum: null })   // cumulative average
 */
export class BatchNorm1d extends _BatchNorm {
  constructor(numFeatures, ...rest) { super(); this._setup('BatchNorm1d', numFeatures, rest); }
  _checkInputDim(input) {
    const ndim = shapeOf(input).length;
    if (ndim !== 2 && ndim !== 3) throw new TorchError(`expected 2D or 3D input (got ${ndim}D input)`);
  }
  _rankCode() { return 1; }
}

/** Batch normalisation over [N, C, H, W] input. */
export class BatchNorm2d extends _BatchNorm {
  constructor(numFeatures, ...rest) { super(); this._setup('BatchNorm2d', numFeatures, rest); }
  _checkInputDim(input) {
    const ndim = shapeOf(input).length;
    if (ndim !== 4) throw new TorchError(`expected 4D input (got ${ndim}D input)`);
  }
  _rankCode() { return 2; }
}

/**
 * Layer normalisation over the trailing normalizedShape dims; weight
 * (ones) and bias (zeros) of that shape when elementwiseAffine.
 * @example new nn.LayerNorm(64)   // new nn.LayerNorm([4, 5], { eps: 1e-6 })
 */
export class LayerNorm extends Module {
  constructor(normalizedShape, ...rest) {
    super();
    const o = layerArgs('LayerNorm', rest, ['eps', 'elementwiseAffine'], { eps: 1e-5, elementwiseAffine: true });
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : Array.isArray(normalizedShape) ? normalizedShape.slice() : null;
    if (!shape || !shape.every((s) => Number.isInteger(s) && s >= 0))
      throw new TorchError(`LayerNorm: normalized_shape must be an integer or an array of integers, got ${describe(normalizedShape)}`);
    this.normalizedShape = shape;
    if (typeof o.eps !== 'number') throw new TorchError(`LayerNorm: eps must be a number, got ${describe(o.eps)}`);
    this.eps = o.eps;
    this.elementwiseAffine = checkBool('LayerNorm', 'elementwise_affine', o.elementwiseAffine);
    const dtype = checkDtype('LayerNorm', o.dtype);
    if (this.elementwiseAffine) {
      this.weight = newParameter(shape, dtype);
      this.bias = newParameter(shape, dtype);
    } else {
      this.registerParameter('weight', null);
      this.registerParameter('bias', null);
    }
    this.resetParameters();
  }
  resetParameters() {
    if (this.elementwiseAffine) { init.ones_(this.weight); init.zeros_(this.bias); }
  }
  forward(input) { return F().layerNorm(checkInput(this, input), this.normalizedShape, this.weight, this.bias, this.eps); }
  _desc() {
    // the chain's LAYER_NORM knows only the number of normalized dims: the
    // affine weight is what checks their sizes
    if (!this.elementwiseAffine) return null;
    return descOf('LAYER_NORM', { ints: [this.normalizedShape.length], floats: [this.eps], tensors: [this.weight, this.bias] });
  }
  extraRepr() {
    return `${pyRepr(this.normalizedShape)}, eps=${pyRepr(this.eps, { float: true })}, elementwise_affine=${pyRepr(this.elementwiseAffine)}`;
  }
}

/** Group normalisation: numChannels split into numGroups groups; per-channel weight/bias. */
export class GroupNorm extends Module {
  constructor(numGroups, numChannels, ...rest) {
    super();
    const o = layerArgs('GroupNorm', rest, ['eps', 'affine'], { eps: 1e-5, affine: true });
    this.numGroups = checkInt('GroupNorm', 'num_groups', numGroups, { min: 1 });
    this.numChannels = checkInt('GroupNorm', 'num_channels', numChannels, { min: 0 });
    if (numChannels % numGroups !== 0) throw new TorchError('num_channels must be divisible by num_groups');
    if (typeof o.eps !== 'number') throw new TorchError(`GroupNorm: eps must be a number, got ${describe(o.eps)}`);
    this.eps = o.eps;
    this.affine = checkBool('GroupNorm', 'affine', o.affine);
    const dtype = checkDtype('GroupNorm', o.dtype);
    if (this.affine) {
      this.weight = newParameter([numChannels], dtype);
      this.bias = newParameter([numChannels], dtype);
    } else {
      this.registerParameter('weight', null);
      this.registerParameter('bias', null);
    }
    this.resetParameters();
  }
  resetParameters() {
    if (this.affine) { init.ones_(this.weight); init.zeros_(this.bias); }
  }
  forward(input) { return F().groupNorm(checkInput(this, input), this.numGroups, this.weight, this.bias, this.eps); }
  _desc() {
    return descOf('GROUP_NORM', { ints: [this.numGroups], floats: [this.eps], tensors: [this.weight, this.bias] });
  }
  extraRepr() { return `${this.numGroups}, ${this.numChannels}, eps=${pyRepr(this.eps, { float: true })}, affine=${pyRepr(this.affine)}`; }
}
