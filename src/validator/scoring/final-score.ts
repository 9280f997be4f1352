/**
 * Final score F = ordinal · BMA⁺ · sync (reference §4.3; payment 'rank'), or F = GAIN_UNIT · gain EMA · BMA⁺ · sync
 * (payment 'contribution': the useful work measured instead of the rank, see updateGainEma), where BMA⁺ = max(0, BMA),
 * and after the warm-up (windows since start ≥ bmaWarmupWindows) a BMA⁺ below bmaThreshold counts as 0. Scores below
 * scoreFloor are 0.
 */
import type { ScoringParams } from './params.ts';

export function effectiveBma(bma: number, windowsSinceStart: number, p: Pick<ScoringParams, 'bmaThreshold' | 'bmaWarmupWindows'>): number {
  const positive = Math.max(0, bma);
  if (windowsSinceStart >= p.bmaWarmupWindows && positive < p.bmaThreshold) return 0;
  return positive;
}

export function applyScoreFloor(score: number, floor: number): number {
  return Number.isFinite(score) && score >= floor ? score : 0;
}

export interface FinalScoreInput {
  readonly ordinal: number;
  readonly bma: number;
  readonly sync: number;
  readonly windowsSinceStart: number;
}

export function finalScore(x: FinalScoreInput, p: Pick<ScoringParams, 'bmaThreshold' | 'bmaWarmupWindows' | 'scoreFloor'>): number {
  return applyScoreFloor(x.ordinal * effectiveBma(x.bma, x.windowsSinceStart, p) * x.sync, p.scoreFloor);
}

/**
 * The measured gain's moving average (payment 'contribution'): EMA ← (1−α)·EMA + α·max(0, gain); the first
 * measurement (previous null) starts it, so peers evaluated a different number of times compare fairly. A negative
 * gain did no useful work and counts 0; so does a missing or late gradient or a gather miss (the scorer passes gain 0).
 */
export function updateGainEma(previous: number | null, gain: number, alpha: number): number {
  const g = Number.isFinite(gain) ? Math.max(0, gain) : 0;
  return previous === null ? g : (1 - alpha) * previous + alpha * g;
}

/**
 * Under payment 'contribution' F is in basis points of relative loss improvement: measured gains are ~1e-4–1e-3 per
 * window, which would sit at Templar's scoreFloor (1e-4) in plain units; in basis points they read 1–10.
 */
export const GAIN_UNIT = 1e4;

/** F under the scorer's payment rule: `ordinal` is the rank-based value, `gain` the gain EMA (null: 0). */
export function paymentScore(
  x: FinalScoreInput & { readonly gain: number | null },
  p: Pick<ScoringParams, 'payment' | 'bmaThreshold' | 'bmaWarmupWindows' | 'scoreFloor'>,
): number {
  return finalScore(p.payment === 'contribution' ? { ...x, ordinal: GAIN_UNIT * (x.gain ?? 0) } : x, p);
}

/** x · m when x > 0, else x unchanged (penalties never push a negative score further down or up). */
export function scaleIfPositive(x: number, m: number): number {
  return x > 0 ? x * m : x;
}
