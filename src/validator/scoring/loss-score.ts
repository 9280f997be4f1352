/**
 * Loss-based scores of one evaluated uid (reference §4.3): the relative loss improvement its update brings on random
 * data (the "gradient score"), and the binary indicator that it trained on its own assigned data.
 */
import { ScoringError } from './errors.ts';

/** (before − after) / before. Throws InvalidArgument unless both are finite and before > 0. */
export function lossImprovement(before: number, after: number): number {
  if (!Number.isFinite(before) || !Number.isFinite(after) || !(before > 0)) {
    throw new ScoringError('InvalidArgument', `losses must be finite with before > 0, got before=${before} after=${after}`);
  }
  return (before - after) / before;
}

export interface LossPair {
  readonly before: number;
  readonly after: number;
}

export interface EvalLosses {
  /** Loss on the uid's assigned data before / after applying its update. */
  readonly ownBefore: number;
  readonly ownAfter: number;
  /** Loss on random (unassigned) data before / after. */
  readonly randomBefore: number;
  readonly randomAfter: number;
  /**
   * The own data split in parts of the samples the miner claims to have trained (the claimed prefix's first and
   * second half, whose union is the own batch): when given, the own-data check takes the weakest part, so samples
   * claimed but never trained (the tail of an overclaim) fail it even when the trained ones improve a lot.
   */
  readonly ownParts?: readonly LossPair[];
}

export interface LossScores {
  /** (L_rand_before − L_rand_after) / L_rand_before. */
  readonly gradientScore: number;
  /** The own-data improvement: of the whole own batch, or of its weakest part when parts are given. */
  readonly ownImprovement: number;
  /** +1 when the own-data improvement beats the random-data improvement, else −1. */
  readonly binaryIndicator: 1 | -1;
}

export function lossScores(l: EvalLosses): LossScores {
  const gradientScore = lossImprovement(l.randomBefore, l.randomAfter);
  const parts = l.ownParts ?? [];
  const ownImprovement = parts.length === 0 ? lossImprovement(l.ownBefore, l.ownAfter) : Math.min(...parts.map((x) => lossImprovement(x.before, x.after)));
  return { gradientScore, ownImprovement, binaryIndicator: ownImprovement > gradientScore ? 1 : -1 };
}

/** BMA ← (1 − α)·BMA + α·b. */
export function updateBinaryMovingAverage(previous: number, indicator: number, alpha: number): number {
  return (1 - alpha) * previous + alpha * indicator;
}
