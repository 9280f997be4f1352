/**
 * Weights from final scores (reference §4.4): burnRate to the burn uid; uids with F > 0 ranked by F; the top
 * gatherPeerCount share gatherShare of the rest along linspace(gatherTopRatio, 1, n); the next reservePeerCount share
 * the remainder along reserveDecayRatio^j, scaled down to reserveCapFactor × the lowest gather weight if the best
 * reserve weight would exceed it; then the non-burn weights are rescaled to sum to 1 − burnRate. Without any
 * positive score everything goes to the burn uid. Under payment 'contribution' the non-burn 1 − burnRate is shared in
 * proportion to F among every uid with F > 0 (F is then the measured useful work, not a rank).
 */
import type { ProtocolParams } from '../../protocol/params.ts';
import { ScoringError } from './errors.ts';
import type { ScoringParams } from './params.ts';

export type WeightParams = Pick<ProtocolParams, 'burnUid' | 'burnRate' | 'gatherPeerCount' | 'reservePeerCount'> &
  Pick<ScoringParams, 'gatherShare' | 'gatherTopRatio' | 'reserveDecayRatio' | 'reserveCapFactor'> &
  Partial<Pick<ScoringParams, 'payment'>>;

export interface WeightVector {
  /** Ascending, only uids with weight > 0. */
  readonly uids: number[];
  /** Aligned with uids; sums to 1. */
  readonly weights: number[];
}

/** numpy.linspace(start, stop, n). */
export function linspace(start: number, stop: number, n: number): number[] {
  if (n <= 0) return [];
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : start + i * step));
}

/** Uids with F > 0 (burn uid excluded), best first; ties by lower uid. */
export function rankByScore(scores: Iterable<[number, number]>, burnUid: number): number[] {
  const out: [number, number][] = [];
  for (const [uid, f] of scores) {
    if (!Number.isInteger(uid) || uid < 0) throw new ScoringError('InvalidArgument', `uid ${uid} is not a non-negative integer`);
    if (uid !== burnUid && Number.isFinite(f) && f > 0) out.push([uid, f]);
  }
  return out.sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([uid]) => uid);
}

/** Payment 'contribution': 1 − burnRate shared in proportion to F > 0, the burn uid getting burnRate. */
function proportionalWeights(scores: Iterable<[number, number]>, p: WeightParams): WeightVector {
  const f = new Map<number, number>();
  for (const [uid, x] of scores) f.set(uid, x);
  const paid = rankByScore(f, p.burnUid);
  const total = paid.reduce((s, uid) => s + f.get(uid)!, 0);
  if (paid.length === 0 || p.burnRate >= 1 || !(total > 0) || !Number.isFinite(total)) return { uids: [p.burnUid], weights: [1] };
  const w = new Map(paid.map((uid) => [uid, ((1 - p.burnRate) * f.get(uid)!) / total]));
  if (p.burnRate > 0) w.set(p.burnUid, p.burnRate);
  const uids = [...w.keys()].filter((u) => w.get(u)! > 0).sort((a, b) => a - b);
  return { uids, weights: uids.map((u) => w.get(u)!) };
}

export function computeWeights(scores: Iterable<[number, number]>, p: WeightParams): WeightVector {
  if (p.payment === 'contribution') return proportionalWeights(scores, p);
  const ranked = rankByScore(scores, p.burnUid);
  const burn = p.burnRate;
  const w = new Map<number, number>();
  const gather = ranked.slice(0, p.gatherPeerCount);
  const reserve = ranked.slice(p.gatherPeerCount, p.gatherPeerCount + p.reservePeerCount);
  if (gather.length === 0 || burn >= 1) return { uids: [p.burnUid], weights: [1] };

  const gp = linspace(p.gatherTopRatio, 1, gather.length);
  const gsum = gp.reduce((s, x) => s + x, 0);
  const gw = gp.map((x) => ((1 - burn) * p.gatherShare * x) / gsum);
  const rp = reserve.map((_, j) => p.reserveDecayRatio ** j);
  const rsum = rp.reduce((s, x) => s + x, 0);
  let rw = rp.map((x) => ((1 - burn) * (1 - p.gatherShare) * x) / rsum);
  if (rw.length > 0) {
    const minG = Math.min(...gw);
    const maxR = Math.max(...rw);
    if (maxR > minG) rw = rw.map((x) => x * (minG / maxR) * p.reserveCapFactor);
  }
  const total = gw.reduce((s, x) => s + x, 0) + rw.reduce((s, x) => s + x, 0);
  if (!(total > 0)) return { uids: [p.burnUid], weights: [1] };
  const scale = (1 - burn) / total;
  gather.forEach((uid, i) => w.set(uid, gw[i] * scale));
  reserve.forEach((uid, j) => w.set(uid, rw[j] * scale));
  if (burn > 0) w.set(p.burnUid, burn);
  const uids = [...w.keys()].filter((u) => w.get(u)! > 0).sort((a, b) => a - b);
  return { uids, weights: uids.map((u) => w.get(u)!) };
}
