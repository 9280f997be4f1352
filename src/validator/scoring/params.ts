/** Gauntlet scoring settings. Defaults are Templar's final hparams (reference §4 and the hparams appendix). */
import { ScoringError } from './errors.ts';

export interface ScoringParams {
  /** UIDs evaluated per window. */
  readonly uidsPerWindow: number;
  /** Rating bins used once the pool holds at least numEvaluationBins·uidsPerWindow uids. */
  readonly numEvaluationBins: number;
  /**
   * Hard bound on evaluation waits (0 = off, Templar's behaviour): uids not evaluated for more than
   * evalStarvationFactor·⌈|pool| / uidsPerWindow⌉ windows are evaluated first.
   */
  readonly evalStarvationFactor: number;

  /** BMA ← (1−α)·BMA + α·b. */
  readonly bmaAlpha: number;
  /** After the warm-up, a BMA below this counts as 0 in the final score. */
  readonly bmaThreshold: number;
  readonly bmaWarmupWindows: number;

  /** OpenSkill score of a missing, late or invalid gradient. */
  readonly missingScore: number;
  readonly openskillBeta: number;
  readonly openskillTau: number;
  readonly openskillMu: number;
  readonly openskillSigma: number;
  /** ordinal = μ − z·σ. */
  readonly openskillZ: number;

  /** EMA factor of the validator's own per-element |Δθ| per window. */
  readonly syncEmaAlpha: number;
  /** Floor of the step size in step_ratio = |θ_miner − θ_val| / max(step, minStep). */
  readonly syncMinStep: number;
  /** Step size used for an element before its EMA exists (Templar falls back to a learning rate). */
  readonly syncFallbackStep: number;
  /** sync = max(0, 1 − min(x, syncMaxSteps)/syncMaxSteps)^syncPower. */
  readonly syncMaxSteps: number;
  readonly syncPower: number;
  /** A gather peer more steps behind than this (or without a debug dict) is slashed. */
  readonly syncMaxStepsBehind: number;

  /** Final scores below this become 0. */
  readonly scoreFloor: number;

  /** Evaluated uid with a missing / too early / too late gradient: F and BMA × this. */
  readonly missingGradientMultiplier: number;
  /** Gather misses in a row: the n-th miss multiplies F by entry n−1 (the last entry repeats). */
  readonly gatherMissMultipliers: readonly number[];
  /** When the gather success rate is below this, skipped peers get F × 0. */
  readonly gatherSuccessSlashThreshold: number;
  /** Mega slash when at least ⌈megaMissFraction·megaMissWindow⌉ of the last megaMissWindow gathers missed. */
  readonly megaMissWindow: number;
  readonly megaMissFraction: number;
  /** Windows a mega-slashed uid stays on the naughty list. */
  readonly naughtyWindows: number;
  /** Out-of-sync gather peer: F and BMA × this. */
  readonly desyncMultiplier: number;

  readonly overlapHighThreshold: number;
  readonly overlapMaxThreshold: number;
  readonly overlapMegaThreshold: number;
  readonly overlapHighMultiplier: number;
  /** The overlap check starts at this global step. */
  readonly overlapMinGlobalStep: number;

  /** More than negativeEvalFraction·negativeEvalWindow negatives among the last negativeEvalWindow evaluations: F, BMA × negativeEvalMultiplier. */
  readonly negativeEvalWindow: number;
  readonly negativeEvalFraction: number;
  readonly negativeEvalMultiplier: number;
  /** This many negative evaluations in a row exclude a uid from peer selection until a positive one. */
  readonly consecutiveNegativeThreshold: number;
  readonly excludeNegativePeers: boolean;
  /** A window whose badWindowRank-th best loss score is negative is "bad": no negative-eval penalties. */
  readonly badWindowRank: number;

  /** Per window inactive: F × this; reset after resetInactivityWindows. */
  readonly inactivityMultiplier: number;
  readonly resetInactivityWindows: number;

  /** Share of the non-burn weight given to gather-ranked uids (the rest goes to reserve-ranked ones). */
  readonly gatherShare: number;
  /** Gather weights follow linspace(gatherTopRatio, 1, n). */
  readonly gatherTopRatio: number;
  /** Reserve weights follow reserveDecayRatio^j. */
  readonly reserveDecayRatio: number;
  /** If the best reserve weight exceeds the worst gather weight, reserves are scaled to reserveCapFactor × that. */
  readonly reserveCapFactor: number;
}

export const DEFAULT_SCORING: ScoringParams = Object.freeze({
  uidsPerWindow: 20,
  numEvaluationBins: 5,
  evalStarvationFactor: 2,
  bmaAlpha: 0.05,
  bmaThreshold: 0.1,
  bmaWarmupWindows: 10,
  missingScore: -99,
  openskillBeta: 7,
  openskillTau: 0.1,
  openskillMu: 25,
  openskillSigma: 25 / 3,
  openskillZ: 3,
  syncEmaAlpha: 0.2,
  syncMinStep: 1e-9,
  syncFallbackStep: 0.4,
  syncMaxSteps: 3,
  syncPower: 2.5,
  syncMaxStepsBehind: 2,
  scoreFloor: 1e-4,
  missingGradientMultiplier: 0.75,
  gatherMissMultipliers: Object.freeze([0.75, 0.5, 0]),
  gatherSuccessSlashThreshold: 0.4,
  megaMissWindow: 8,
  megaMissFraction: 0.5,
  naughtyWindows: 20,
  desyncMultiplier: 0.75,
  overlapHighThreshold: 0.4,
  overlapMaxThreshold: 0.5,
  overlapMegaThreshold: 0.6,
  overlapHighMultiplier: 0.5,
  overlapMinGlobalStep: 20,
  negativeEvalWindow: 8,
  negativeEvalFraction: 0.5,
  negativeEvalMultiplier: 0.25,
  consecutiveNegativeThreshold: 3,
  excludeNegativePeers: true,
  badWindowRank: 5,
  inactivityMultiplier: 0.75,
  resetInactivityWindows: 3,
  gatherShare: 0.75,
  gatherTopRatio: 2,
  reserveDecayRatio: 0.5,
  reserveCapFactor: 0.5,
});

function bad(field: string, why: string): never {
  throw new ScoringError('InvalidParams', `scoring parameter ${field} ${why}`);
}

export function validateScoringParams(p: ScoringParams): ScoringParams {
  const int = (f: keyof ScoringParams, lo: number) => {
    const v = p[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo) bad(f, `must be an integer ≥ ${lo}, got ${String(v)}`);
  };
  const num = (f: keyof ScoringParams, lo: number, hi: number, openLo = false) => {
    const v = p[f];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (openLo && v === lo)) {
      bad(f, `must be a number in ${openLo ? '(' : '['}${lo}, ${hi}], got ${String(v)}`);
    }
  };
  const unit = (f: keyof ScoringParams) => num(f, 0, 1);
  int('uidsPerWindow', 1);
  int('numEvaluationBins', 1);
  num('evalStarvationFactor', 0, 1e6);
  num('bmaAlpha', 0, 1, true);
  unit('bmaThreshold');
  int('bmaWarmupWindows', 0);
  num('missingScore', -1e9, 1e9);
  num('openskillBeta', 0, 1e9, true);
  num('openskillTau', 0, 1e9);
  num('openskillMu', -1e9, 1e9);
  num('openskillSigma', 0, 1e9, true);
  num('openskillZ', 0, 1e3);
  num('syncEmaAlpha', 0, 1, true);
  num('syncMinStep', 0, 1e9, true);
  num('syncFallbackStep', 0, 1e9, true);
  num('syncMaxSteps', 0, 1e9, true);
  num('syncPower', 0, 1e3, true);
  num('syncMaxStepsBehind', 0, 1e9);
  num('scoreFloor', 0, 1e9);
  unit('missingGradientMultiplier');
  if (!Array.isArray(p.gatherMissMultipliers) || p.gatherMissMultipliers.length === 0) bad('gatherMissMultipliers', 'must be a non-empty array');
  for (const m of p.gatherMissMultipliers) if (typeof m !== 'number' || !(m >= 0 && m <= 1)) bad('gatherMissMultipliers', `entries must be in [0, 1], got ${m}`);
  unit('gatherSuccessSlashThreshold');
  int('megaMissWindow', 1);
  num('megaMissFraction', 0, 1, true);
  int('naughtyWindows', 0);
  unit('desyncMultiplier');
  unit('overlapHighThreshold');
  unit('overlapMaxThreshold');
  unit('overlapMegaThreshold');
  if (!(p.overlapHighThreshold <= p.overlapMaxThreshold && p.overlapMaxThreshold <= p.overlapMegaThreshold)) {
    bad('overlap thresholds', 'must satisfy high ≤ max ≤ mega');
  }
  unit('overlapHighMultiplier');
  int('overlapMinGlobalStep', 0);
  int('negativeEvalWindow', 1);
  unit('negativeEvalFraction');
  unit('negativeEvalMultiplier');
  int('consecutiveNegativeThreshold', 1);
  if (typeof p.excludeNegativePeers !== 'boolean') bad('excludeNegativePeers', 'must be a boolean');
  int('badWindowRank', 1);
  unit('inactivityMultiplier');
  int('resetInactivityWindows', 1);
  unit('gatherShare');
  num('gatherTopRatio', 1, 1e6);
  num('reserveDecayRatio', 0, 1, true);
  unit('reserveCapFactor');
  return p;
}

/** DEFAULT_SCORING with overrides, validated and frozen. */
export function resolveScoringParams(overrides: Partial<ScoringParams> = {}, base: ScoringParams = DEFAULT_SCORING): ScoringParams {
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in base)) throw new ScoringError('InvalidParams', `unknown scoring parameter ${JSON.stringify(k)}`);
    if (v !== undefined) merged[k] = v;
  }
  return Object.freeze(validateScoringParams(merged as unknown as ScoringParams));
}
