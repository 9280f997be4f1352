/**
 * Float weights to the u16 values `set_weights` carries, as the Python SDK prepares them: when the subnet limits
 * the largest weight (`max_weight_limit` < 1), `normalize_max_weight` first; then
 * `convert_weights_and_uids_for_emit` — float32 inputs, max-upscale so the largest is 65535, Python `round()`
 * (ties to even), zeros dropped. The chain then max-upscales again in fixed point and checks the limit.
 */
import { EmbeddedChainError } from './errors.ts';

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** `normalize_max_weight`: sum to 1 with no value above `limit` (clips the largest values and renormalises). */
export function normalizeMaxWeight(x: readonly number[], limit: number): number[] {
  const epsilon = 1e-7;
  const n = x.length;
  const total = x.reduce((a, b) => a + b, 0);
  if (total === 0 || n * limit <= 1) return x.map(() => 1 / n);
  const values = [...x].sort((a, b) => a - b);
  const valuesSum = values.reduce((a, b) => a + b, 0);
  const estimation = values.map((v) => v / valuesSum);
  if (estimation.reduce((a, b) => Math.max(a, b), 0) <= limit) return x.map((v) => v / total);
  const cumsum: number[] = [];
  let run = 0;
  for (const e of estimation) cumsum.push((run += e));
  const estimationSum = estimation.map((e, i) => (n - i - 1) * e);
  let nValues = 0;
  for (let i = 0; i < n; i++) if (estimation[i] / (estimationSum[i] + cumsum[i] + epsilon) < limit) nValues++;
  const cutoffScale = (limit * cumsum[nValues - 1] - epsilon) / (1 - limit * (n - nValues));
  const cutoff = cutoffScale * valuesSum;
  const clipped = x.map((v) => (v > cutoff ? cutoff : v));
  const clippedSum = clipped.reduce((a, b) => a + b, 0);
  return clipped.map((v) => v / clippedSum);
}

export interface U16Weights {
  uids: number[];
  values: number[];
}

/**
 * @param maxWeightLimit largest allowed weight as a fraction of the total (hyperparams().maxWeightsLimit); 1 = off.
 */
export function weightsForChain(uids: readonly number[], weights: readonly number[], maxWeightLimit = 1): U16Weights {
  if (uids.length !== weights.length) {
    throw new EmbeddedChainError('InvalidWeights', `uids and weights differ in length: ${uids.length} vs ${weights.length}`);
  }
  if (uids.length === 0) throw new EmbeddedChainError('InvalidWeights', 'no weights given');
  for (let i = 0; i < uids.length; i++) {
    if (!Number.isInteger(uids[i]) || uids[i] < 0 || uids[i] > 65535) throw new EmbeddedChainError('InvalidWeights', `uid ${uids[i]} is not in [0, 65535]`);
    if (!Number.isFinite(weights[i]) || weights[i] < 0) throw new EmbeddedChainError('InvalidWeights', `weight ${weights[i]} for uid ${uids[i]} is not finite and non-negative`);
  }
  let w = weights.map((v) => Math.fround(v));
  if (maxWeightLimit < 1) w = normalizeMaxWeight(w, maxWeightLimit).map((v) => Math.fround(v));
  const max = w.reduce((a, b) => Math.max(a, b), 0);
  if (max === 0) throw new EmbeddedChainError('InvalidWeights', 'all weights are zero; there is nothing to set');
  const out: U16Weights = { uids: [], values: [] };
  for (let i = 0; i < w.length; i++) {
    const v = roundHalfEven((w[i] / max) * 65535);
    if (v !== 0) {
      out.uids.push(uids[i]);
      out.values.push(v);
    }
  }
  return out;
}
