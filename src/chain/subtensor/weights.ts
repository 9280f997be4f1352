import { SubtensorError } from './errors.ts';

export const U16_MAX = 65535;

/** Python's `round()` on a float: nearest integer, ties to even. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const frac = x - floor;
  if (frac > 0.5) return floor + 1;
  if (frac < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface U16Weights {
  uids: number[];
  values: number[];
}

function checkUid(uid: number): void {
  if (!Number.isInteger(uid) || uid < 0 || uid > U16_MAX) {
    throw new SubtensorError('InvalidWeights', `uid ${uid} is not an integer in [0, ${U16_MAX}]`);
  }
}

/**
 * The Python SDK's `convert_and_normalize_weights_and_uids` (what `subtensor.set_weights` and reveals send):
 * weights are cast to float32, max-upscaled so the largest is 1, scaled by 65535 and rounded half-to-even;
 * zeros are dropped. Unlike the SDK, duplicate uids, non-finite weights and an all-zero vector are refused
 * here (the chain would reject them anyway, after taking a transaction).
 */
export function weightsToU16(uids: readonly number[], weights: readonly number[]): U16Weights {
  if (uids.length !== weights.length) {
    throw new SubtensorError('InvalidWeights', `uids and weights differ in length: ${uids.length} vs ${weights.length}`);
  }
  if (uids.length === 0) throw new SubtensorError('InvalidWeights', 'no weights given');
  if (uids.length > U16_MAX + 1) throw new SubtensorError('InvalidWeights', `${uids.length} weights exceed the u16 uid space`);
  const seen = new Set<number>();
  const w32 = new Array<number>(weights.length);
  let max = 0;
  for (let i = 0; i < uids.length; i++) {
    checkUid(uids[i]);
    if (seen.has(uids[i])) throw new SubtensorError('InvalidWeights', `duplicate uid ${uids[i]}`);
    seen.add(uids[i]);
    const w = Math.fround(weights[i]);
    if (!Number.isFinite(w) || w < 0) {
      throw new SubtensorError('InvalidWeights', `weight ${weights[i]} for uid ${uids[i]} is not a finite non-negative float32`);
    }
    w32[i] = w;
    if (w > max) max = w;
  }
  if (max === 0) throw new SubtensorError('InvalidWeights', 'all weights are zero; there is nothing to set');
  const out: U16Weights = { uids: [], values: [] };
  for (let i = 0; i < uids.length; i++) {
    const v = roundHalfEven((w32[i] / max) * U16_MAX);
    if (v !== 0) {
      out.uids.push(uids[i]);
      out.values.push(v);
    }
  }
  return out;
}

/** Inverse view of chain weights: u16 values as fractions of their sum (the SDK's `convert_weight_uids_and_vals_to_tensor`). */
export function u16ToFractions(values: readonly number[]): number[] {
  const sum = values.reduce((a, b) => a + b, 0);
  return sum > 0 ? values.map((v) => v / sum) : values.map(() => 0);
}

// numpy reduces a contiguous float32 array pairwise: halves down to blocks of <= 128, 8 accumulators each.
const PW_BLOCKSIZE = 128;

function pairwiseSum(a: Float32Array, start: number, n: number): number {
  const f = Math.fround;
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res = f(res + a[start + i]);
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = [a[start], a[start + 1], a[start + 2], a[start + 3], a[start + 4], a[start + 5], a[start + 6], a[start + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] = f(r[j] + a[start + i + j]);
    }
    let res = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
    for (; i < n; i++) res = f(res + a[start + i]);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return f(pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2));
}

/** `np.sum` of a float32 array, bit-for-bit. */
export function float32Sum(a: Float32Array): number {
  return pairwiseSum(a, 0, a.length);
}

/**
 * The Python SDK's `normalize_max_weight(x, limit)` with numpy 2 float32 semantics: returns weights summing
 * to 1 whose maximum does not exceed `limit` (when `n * limit > 1`), clipping the largest at a common cutoff.
 * `limit` is the subnet's max weight limit as a fraction (`MaxWeightsLimit / 65535`).
 */
export function normalizeMaxWeight(x: readonly number[] | Float32Array, limit = 0.1): Float32Array {
  const f = Math.fround;
  const n = x.length;
  if (n === 0) throw new SubtensorError('InvalidWeights', 'no weights given');
  const weights = Float32Array.from(x);
  for (const w of weights) {
    if (!Number.isFinite(w) || w < 0) throw new SubtensorError('InvalidWeights', `weight ${w} is not a finite non-negative float32`);
  }
  if (!Number.isFinite(limit) || limit < 0) throw new SubtensorError('InvalidWeights', `limit ${limit} is not a finite non-negative number`);
  const limit32 = f(limit);
  const eps32 = f(1e-7);

  if (float32Sum(weights) === 0 || n * limit <= 1) return new Float32Array(n).fill(f(1 / n));

  const values = Float32Array.from(weights).sort();
  const valuesSum = float32Sum(values);
  const estimation = values.map((v) => f(v / valuesSum));
  let estMax = 0;
  for (const e of estimation) if (e > estMax) estMax = e;
  if (estMax <= limit32) {
    const s = float32Sum(weights);
    return weights.map((w) => f(w / s));
  }

  const cumsum = new Float32Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) cumsum[i] = acc = i === 0 ? estimation[0] : f(acc + estimation[i]);
  let nValues = 0;
  for (let i = 0; i < n; i++) {
    const estimationSum = f((n - i - 1) * estimation[i]);
    const ratio = f(estimation[i] / f(f(estimationSum + cumsum[i]) + eps32));
    if (ratio < limit32) nValues++;
  }
  // numpy indexes cumsum[-1] (the last element) when no value is below the limit.
  const c = cumsum[nValues === 0 ? n - 1 : nValues - 1];
  const cutoffScale = f(f(limit32 * c) - eps32) / (1 - limit * (n - nValues));
  const cutoff = cutoffScale * valuesSum;
  const cutoff32 = f(cutoff);
  for (let i = 0; i < n; i++) if (weights[i] > cutoff) weights[i] = cutoff32;
  const s = float32Sum(weights);
  return weights.map((w) => f(w / s));
}
