import { add, div, type Fx, sub, sum, ZERO } from './fixed.ts';
import type { SparseMatrix } from './sparse.ts';

/** x / Σx, or x unchanged when the sum is 0 (`inplace_normalize`). */
export function normalize(x: readonly Fx[]): Fx[] {
  const s = sum(x);
  return s === ZERO ? x.slice() : x.map((v) => div(v, s));
}

/**
 * True where the value is non-zero and among the k largest (`is_topk_nonzero`): when n ≥ k, indices are stably
 * sorted ascending by value and the first n − k are switched off, so ties keep the higher uids.
 */
export function isTopkNonzero(x: readonly Fx[], k: number): boolean[] {
  const n = x.length;
  const out = x.map((v) => v !== ZERO);
  if (n < k) return out;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => (x[a] < x[b] ? -1 : x[a] > x[b] ? 1 : a - b));
  for (let t = 0; t < n - k; t++) out[idx[t]] = false;
  return out;
}

/**
 * Stake-weighted median by deterministic mid-pivot search (`weighted_median`): narrows the partition until the
 * stake below and above the pivot brackets `minority`. Gives up with 0 after |partition| rounds, as the chain does.
 */
export function weightedMedian(
  stake: readonly Fx[],
  score: readonly Fx[],
  partition: readonly number[],
  minority: Fx,
  lo: Fx,
  hi: Fx,
): Fx {
  let part = partition.slice();
  const limit = partition.length;
  for (let iteration = 0; iteration <= limit; iteration++) {
    const n = part.length;
    if (n === 0) return ZERO;
    if (n === 1) return score[part[0]] ?? ZERO;
    const pivot = score[part[Math.floor(n / 2)]] ?? ZERO;
    const lower: number[] = [];
    const upper: number[] = [];
    let loStake = ZERO;
    let hiStake = ZERO;
    for (const i of part) {
      const s = score[i] ?? ZERO;
      if (s === pivot) continue;
      if (s < pivot) {
        loStake = add(loStake, stake[i] ?? ZERO);
        lower.push(i);
      } else {
        hiStake = add(hiStake, stake[i] ?? ZERO);
        upper.push(i);
      }
    }
    if (minority < add(lo, loStake) && lower.length > 0) {
      part = lower;
      hi = add(lo, loStake);
    } else if (sub(hi, hiStake) <= minority && upper.length > 0) {
      part = upper;
      lo = sub(hi, hiStake);
    } else {
      return pivot;
    }
  }
  return ZERO;
}

/**
 * Column-wise stake-weighted median over the rows with positive stake (`weighted_median_col_sparse`):
 * the consensus weight C_j, with kappa as the majority ratio.
 */
export function weightedMedianColumns(stake: readonly Fx[], weights: SparseMatrix, columns: number, majority: Fx): Fx[] {
  const useStake = normalize(stake.filter((s) => s > ZERO));
  const stakeSum = sum(useStake);
  const minority = sub(stakeSum, majority);
  const rows = useStake.length;
  const byColumn: Fx[][] = Array.from({ length: columns }, () => new Array<Fx>(rows).fill(ZERO));
  let k = 0;
  for (let i = 0; i < stake.length && i < weights.length; i++) {
    if (!(stake[i] > ZERO)) continue;
    for (const [j, v] of weights[i]) if (j < columns) byColumn[j][k] = v;
    k++;
  }
  const partition = Array.from({ length: rows }, (_, i) => i);
  return byColumn.map((scores) => weightedMedian(useStake, scores, partition, minority, ZERO, stakeSum));
}
