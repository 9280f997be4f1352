/**
 * Proof of sync (reference §4.3). For each sampled element, step_ratio = |θ_miner − θ_val| / max(step, minStep) where
 * step is the EMA (α) of the validator's own per-window |Δθ| at that element; x = interquartile mean of all ratios
 * ("steps behind"); sync = max(0, 1 − min(x, 3)/3)^2.5. A missing debug dict scores 0.
 */
import type { DebugSample } from '../../protocol/debug-dict.ts';
import { ScoringError } from './errors.ts';

/** Quantile with linear interpolation between order statistics (numpy/torch "linear"); `sorted` ascending. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const frac = pos - lo;
  const a = sorted[lo];
  if (frac === 0) return a;
  const b = sorted[lo + 1];
  if (a === b) return a;
  return a + (b - a) * frac;
}

/**
 * Mean of the values v with Q1 ≤ v ≤ Q3 (linear quantiles). +Infinity entries are allowed (an unmatched element is
 * infinitely far behind) and make the result Infinity only when they reach into the interquartile range. NaN for [].
 */
export function interquartileMean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  for (const v of values) if (Number.isNaN(v)) throw new ScoringError('InvalidArgument', 'interquartileMean of NaN');
  const sorted = [...values].sort((a, b) => a - b);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  let sum = 0;
  let n = 0;
  for (const v of sorted) {
    if (v >= q1 && v <= q3) {
      sum += v;
      n++;
    }
  }
  // With very few values no sample may lie between the quartiles (e.g. [0, 1]); use their midpoint then.
  return n === 0 ? (q1 + q3) / 2 : sum / n;
}

/** max(0, 1 − min(x, maxSteps)/maxSteps)^power; NaN and +Infinity give 0. */
export function syncScoreFromStepsBehind(x: number, maxSteps = 3, power = 2.5): number {
  if (Number.isNaN(x)) return 0;
  const base = Math.max(0, 1 - Math.min(Math.max(x, 0), maxSteps) / maxSteps);
  return base ** power;
}

export interface SyncTrackerOptions {
  /** EMA factor (default 0.2). */
  readonly alpha?: number;
  /** Step floor (default 1e-9). */
  readonly minStep?: number;
  /** Step used before an element's EMA exists (default 0.4). */
  readonly fallbackStep?: number;
}

/** Serializable per-parameter tracking state. `ema[j]` is null until two observations exist. */
export interface SyncParamState {
  readonly start: number;
  readonly last: readonly number[];
  readonly ema: readonly (number | null)[];
}

interface Tracked {
  start: number;
  last: Float32Array;
  ema: (number | null)[];
}

/**
 * The validator's own sampled elements over time. Call `observe` with the validator's samples after every outer
 * step; then `stepsBehind` compares a miner's debug samples taken at the same point against the latest observation.
 */
export class SyncTracker {
  readonly alpha: number;
  readonly minStep: number;
  readonly fallbackStep: number;
  private readonly params = new Map<string, Tracked>();

  constructor(options: SyncTrackerOptions = {}, state?: Iterable<[string, SyncParamState]>) {
    this.alpha = options.alpha ?? 0.2;
    this.minStep = options.minStep ?? 1e-9;
    this.fallbackStep = options.fallbackStep ?? 0.4;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new ScoringError('InvalidArgument', `sync EMA alpha ${this.alpha} not in (0, 1]`);
    if (!(this.minStep > 0) || !(this.fallbackStep > 0)) throw new ScoringError('InvalidArgument', 'sync step sizes must be positive');
    for (const [name, s] of state ?? []) {
      if (s.last.length !== s.ema.length) throw new ScoringError('InvalidState', `sync state of ${name}: last and ema lengths differ`);
      this.params.set(name, { start: s.start, last: Float32Array.from(s.last), ema: [...s.ema] });
    }
  }

  /** Records the validator's current samples and updates the |Δθ| EMAs (a parameter whose sampling changed restarts). */
  observe(samples: readonly DebugSample[]): void {
    const seen = new Set<string>();
    for (const s of samples) {
      seen.add(s.name);
      const t = this.params.get(s.name);
      if (t === undefined || t.start !== s.start || t.last.length !== s.values.length) {
        this.params.set(s.name, { start: s.start, last: Float32Array.from(s.values), ema: s.values.length ? Array(s.values.length).fill(null) : [] });
        continue;
      }
      for (let j = 0; j < s.values.length; j++) {
        const delta = Math.abs(s.values[j] - t.last[j]);
        if (!Number.isFinite(delta)) continue;
        const prev = t.ema[j];
        t.ema[j] = prev === null ? delta : this.alpha * delta + (1 - this.alpha) * prev;
      }
      t.last = Float32Array.from(s.values);
    }
    for (const name of [...this.params.keys()]) if (!seen.has(name)) this.params.delete(name);
  }

  /** One step_ratio per tracked element; Infinity where the miner lacks the element or holds a non-finite value. */
  stepRatios(miner: readonly DebugSample[]): number[] {
    const byName = new Map<string, DebugSample>();
    for (const s of miner) byName.set(s.name, s);
    const ratios: number[] = [];
    for (const [name, t] of this.params) {
      const m = byName.get(name);
      const comparable = m !== undefined && m.start === t.start && m.values.length === t.last.length;
      for (let j = 0; j < t.last.length; j++) {
        if (!comparable) {
          ratios.push(Number.POSITIVE_INFINITY);
          continue;
        }
        const diff = Math.abs(m.values[j] - t.last[j]);
        const step = Math.max(t.ema[j] ?? this.fallbackStep, this.minStep);
        ratios.push(Number.isFinite(diff) ? diff / step : Number.POSITIVE_INFINITY);
      }
    }
    return ratios;
  }

  /** Interquartile mean of the step ratios; Infinity for no miner samples or nothing tracked yet. */
  stepsBehind(miner: readonly DebugSample[] | null): number {
    if (miner === null) return Number.POSITIVE_INFINITY;
    const ratios = this.stepRatios(miner);
    return ratios.length === 0 ? Number.POSITIVE_INFINITY : interquartileMean(ratios);
  }

  state(): [string, SyncParamState][] {
    return [...this.params.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([name, t]) => [name, { start: t.start, last: Array.from(t.last), ema: [...t.ema] }]);
  }
}
