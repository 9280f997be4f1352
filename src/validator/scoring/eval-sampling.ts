/**
 * Which uids a validator evaluates in a window (reference §4.2). With a pool of at least bins·uidsPerWindow uids,
 * the pool is sorted by OpenSkill ordinal into `bins` contiguous bins and one bin is drawn uniformly; then up to
 * uidsPerWindow uids of it are drawn without replacement, weighted by a fairness counter that grows by 1 every
 * window a pool member is not evaluated and is reset to 1 when it is.
 */
import { ScoringError } from './errors.ts';
import type { SeededRng } from './rng.ts';

function checkPool(pool: readonly number[]): void {
  const seen = new Set<number>();
  for (const u of pool) {
    if (!Number.isInteger(u) || u < 0) throw new ScoringError('InvalidArgument', `pool uid ${u} is not a non-negative integer`);
    if (seen.has(u)) throw new ScoringError('InvalidArgument', `pool repeats uid ${u}`);
    seen.add(u);
  }
}

/**
 * The pool split into rating bins, best ordinal first (ties: lower uid first). Bins are contiguous and differ in
 * size by at most one (the first |pool| mod bins get the extra uid). One bin holding everyone when the pool is
 * smaller than numBins·uidsPerWindow.
 */
export function evaluationBins(
  pool: readonly number[],
  ordinalOf: (uid: number) => number,
  numBins: number,
  uidsPerWindow: number,
): number[][] {
  checkPool(pool);
  const sorted = [...pool].sort((a, b) => ordinalOf(b) - ordinalOf(a) || a - b);
  if (sorted.length < numBins * uidsPerWindow || numBins <= 1) return [sorted];
  const base = Math.floor(sorted.length / numBins);
  const extra = sorted.length % numBins;
  const bins: number[][] = [];
  let at = 0;
  for (let b = 0; b < numBins; b++) {
    const size = base + (b < extra ? 1 : 0);
    bins.push(sorted.slice(at, at + size));
    at += size;
  }
  return bins;
}

/** Successive weighted draws without replacement (each draw ∝ remaining weights). Weights must be finite and > 0. */
export function weightedSampleWithoutReplacement(items: readonly number[], weights: readonly number[], k: number, rng: SeededRng): number[] {
  if (items.length !== weights.length) throw new ScoringError('InvalidArgument', `${items.length} items but ${weights.length} weights`);
  for (const w of weights) if (!(w > 0 && Number.isFinite(w))) throw new ScoringError('InvalidArgument', `sampling weight ${w} is not a positive finite number`);
  const left = [...items];
  const lw = [...weights];
  const out: number[] = [];
  const n = Math.min(Math.max(0, Math.floor(k)), left.length);
  for (let draw = 0; draw < n; draw++) {
    let total = 0;
    for (const w of lw) total += w;
    let r = rng.next() * total;
    let pick = lw.length - 1;
    for (let i = 0; i < lw.length; i++) {
      r -= lw[i];
      if (r < 0) {
        pick = i;
        break;
      }
    }
    out.push(left[pick]);
    left.splice(pick, 1);
    lw.splice(pick, 1);
  }
  return out;
}

export interface EvalSelection {
  /** The uids to evaluate, in draw order. */
  readonly uids: number[];
  /** The bin they came from (index into `bins`) and how many bins there were. */
  readonly bin: number;
  readonly bins: number;
  /** How many were taken first because they waited too long. */
  readonly forced: number;
}

/** Fairness counters per uid (absent = 1) and the window's selection. */
export class EvalFairness {
  private readonly counters: Map<number, number>;

  constructor(counters: Iterable<[number, number]> = []) {
    this.counters = new Map(counters);
    for (const [uid, c] of this.counters) {
      if (!Number.isInteger(uid) || uid < 0 || !Number.isSafeInteger(c) || c < 1) {
        throw new ScoringError('InvalidArgument', `fairness counter ${uid} → ${c} is invalid`);
      }
    }
  }

  weight(uid: number): number {
    return this.counters.get(uid) ?? 1;
  }

  /**
   * Draws this window's uids and updates the counters: chosen → 1, other pool members +1, non-members dropped.
   * starvationFactor > 0 adds a hard bound on waiting (not in Templar, whose bound is only probabilistic): uids whose
   * counter exceeds starvationFactor·⌈|pool| / uidsPerWindow⌉ are taken first, longest-waiting first, from any bin.
   */
  select(
    pool: readonly number[],
    uidsPerWindow: number,
    numBins: number,
    ordinalOf: (uid: number) => number,
    rng: SeededRng,
    starvationFactor = 0,
  ): EvalSelection {
    const bins = evaluationBins(pool, ordinalOf, numBins, uidsPerWindow);
    const bin = bins.length === 1 ? 0 : rng.int(bins.length);
    const cap = starvationFactor > 0 ? starvationFactor * Math.ceil(pool.length / uidsPerWindow) : Number.POSITIVE_INFINITY;
    const forced = pool
      .filter((u) => this.weight(u) > cap)
      .sort((a, b) => this.weight(b) - this.weight(a) || a - b)
      .slice(0, uidsPerWindow);
    const taken = new Set(forced);
    const candidates = bins[bin].filter((u) => !taken.has(u));
    const drawn = weightedSampleWithoutReplacement(candidates, candidates.map((u) => this.weight(u)), uidsPerWindow - forced.length, rng);
    const uids = [...forced, ...drawn];
    this.record(pool, uids);
    return { uids, bin, bins: bins.length, forced: forced.length };
  }

  /** Counter update for a window in which `evaluated` (a subset of `pool`) were evaluated. */
  record(pool: readonly number[], evaluated: readonly number[]): void {
    const chosen = new Set(evaluated);
    const inPool = new Set(pool);
    for (const uid of [...this.counters.keys()]) if (!inPool.has(uid)) this.counters.delete(uid);
    for (const uid of pool) this.counters.set(uid, chosen.has(uid) ? 1 : this.weight(uid) + 1);
  }

  forget(uid: number): void {
    this.counters.delete(uid);
  }

  entries(): [number, number][] {
    return [...this.counters.entries()].sort((a, b) => a[0] - b[0]);
  }
}
