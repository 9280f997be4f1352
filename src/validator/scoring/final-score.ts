/**
 * Final score F = ordinal · BMA⁺ · sync (reference §4.3), where BMA⁺ = max(0, BMA), and after the warm-up
 * (windows since start ≥ bmaWarmupWindows) a BMA⁺ below bmaThreshold counts as 0. Scores below scoreFloor are 0.
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

/** x · m when x > 0, else x unchanged (penalties never push a negative score further down or up). */
export function scaleIfPositive(x: number, m: number): number {
  return x > 0 ? x * m : x;
}
