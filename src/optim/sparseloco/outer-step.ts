/**
 * The outer optimizer: plain SGD, no momentum, no weight decay (Templar: SGD(lr = 0.4)).
 *   θ ← fl32(θ − fl32(fl32(lr)·g))
 */
import type { Backend, Buf, SparseKernels } from '../../tensor/backend.ts';
import { numel, type ParamTensor } from '../../tensor/params.ts';
import { applyAggregatedTensor, SparseApplyStaging, sortedPeerWeights, sortPeers, type AggregateOptions } from './aggregate.ts';
import type { PeerUpdate } from './compress.ts';
import type { SparseLoCoConfig } from './config.ts';
import { SparseLoCoError } from './errors.ts';

function checkLr(lr: number): number {
  if (!Number.isFinite(lr)) throw new SparseLoCoError('InvalidArgument', `learning rate must be finite, got ${lr}`);
  return Math.fround(lr);
}

/** θ ← θ − lr·g for every gradient, matched to parameters by name (parameters without a gradient are unchanged). */
export function outerStep(params: readonly ParamTensor[], grads: readonly ParamTensor[], lr: number): void {
  const lr32 = checkLr(lr);
  const byName = new Map(params.map((p) => [p.name, p]));
  for (const g of grads) {
    const p = byName.get(g.name);
    if (p === undefined) throw new SparseLoCoError('ShapeMismatch', `gradient ${g.name} has no parameter`);
    if (p.data.length !== g.data.length) throw new SparseLoCoError('ShapeMismatch', `gradient ${g.name} has ${g.data.length} elements, parameter ${p.data.length}`);
  }
  for (const g of grads) {
    const theta = byName.get(g.name)!.data;
    const gd = g.data;
    for (let i = 0; i < theta.length; i++) theta[i] = theta[i] - Math.fround(lr32 * gd[i]);
  }
}

export interface OuterStepOptions extends AggregateOptions {
  readonly lr: number;
}

/** The outer-step options a SparseLoCo config implies (validators pass lr = outerLr·eval_lr_factor to applyPeerUpdate). */
export function outerStepOptions(cfg: SparseLoCoConfig): OuterStepOptions {
  return { lr: cfg.outerLr, mode: cfg.aggregation, clipToMedianNorm: cfg.clipToMedianNorm };
}

export interface OuterStepResult {
  /** uids aggregated, ascending. */
  readonly uids: number[];
  /** Parameters updated. */
  readonly applied: string[];
  /** Parameters left unchanged because their aggregate held NaN/Inf. */
  readonly skipped: string[];
}

/**
 * Aggregates the peers and applies the outer step one parameter at a time, touching only coordinates some peer
 * selected (scratch: a few chunk-sized buffers). `params` must be in the same order as the peers' tensors.
 * With no peers nothing changes. Bit-identical for the same peer set in any arrival order, and bit-identical to
 * outerStep(params, aggregate(peers).grads, lr). Given a backend with SparseKernels whose memory holds every
 * parameter (a model's own parameters), the aggregation runs on its kernels, with the same result; weighted peers
 * (unequal `peerWeights`) are aggregated in plain JS, whose float32 steps are the same on every node.
 */
export function applyOuterStep(
  params: readonly ParamTensor[],
  peers: readonly PeerUpdate[],
  options: OuterStepOptions,
  backend?: Backend & SparseKernels,
): OuterStepResult {
  const lr32 = checkLr(options.lr);
  const sorted = sortPeers(peers);
  if (sorted.length === 0) return { uids: [], applied: [], skipped: [] };
  const tensors = sorted[0].tensors;
  if (tensors.length !== params.length) {
    throw new SparseLoCoError('ShapeMismatch', `peers carry ${tensors.length} tensors, model has ${params.length}`);
  }
  params.forEach((p, i) => {
    const t = tensors[i];
    const n = numel(p.shape);
    if (p.name !== t.name || p.data.length !== n || n !== t.layout.rows * t.layout.cols) {
      throw new SparseLoCoError('ShapeMismatch', `parameter ${i} (${p.name}) does not match update tensor ${t.name}`);
    }
  });
  const applied: string[] = [];
  const skipped: string[] = [];
  const weighted = sortedPeerWeights(sorted, options.peerWeights) !== null;
  const thetas = backend === undefined || weighted ? null : params.map((p) => backend.bufOf(p.data));
  if (backend !== undefined && thetas !== null && thetas.every((b): b is Buf => b !== null)) {
    const staging = new SparseApplyStaging(backend);
    try {
      params.forEach((p, ti) => {
        if (staging.apply(sorted, ti, options, thetas[ti], lr32)) applied.push(p.name);
        else skipped.push(p.name);
      });
    } finally {
      staging.dispose();
    }
  } else {
    params.forEach((p, ti) => {
      if (applyAggregatedTensor(sorted, ti, options, p.data, lr32)) applied.push(p.name);
      else skipped.push(p.name);
    });
  }
  return { uids: sorted.map((p) => p.uid), applied, skipped };
}
