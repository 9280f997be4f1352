/**
 * Gauntlet scoring settings: their type, defaults (Templar's final hparams, reference §4 and the hparams appendix)
 * and checks. They live with the node configuration because a network's settings carry scoring overrides; the
 * validator's src/validator/scoring/params.ts re-exports them.
 */
import { ConfigFields, definedOnly, OPTIONAL, REQUIRED, type FieldMode, type SectionFields } from './fields.ts';
import type { ConfigErrorFactory } from './errors.ts';

/**
 * How weights follow the scores. rank (Templar): F = OpenSkill ordinal · BMA⁺ · sync, weights by rank along linspace
 * shares of the gather and reserve tiers. contribution (ours): F = EMA of the measured loss improvement on random data
 * (clamped at 0) · BMA⁺ · sync, weights proportional to F — a slower honest miner is paid for the work it did.
 */
export const PAYMENT_RULES = ['rank', 'contribution'] as const;
export type PaymentRule = (typeof PAYMENT_RULES)[number];

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
  /** When the gather success rate (uploads received / gather-list size) is below this, skipped peers get F × 0. */
  readonly gatherSuccessSlashThreshold: number;
  /** Mega slash when the last megaMissWindow gathers are on record and at least megaMissFraction of them missed. */
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
  /**
   * Ours, not Templar's: an upload whose share explained by strictly earlier uploads of the window (R², see
   * src/validator/scoring/derived-share.ts) reaches this is a derived copy: reset and left out, from overlapMinGlobalStep.
   */
  readonly derivedShareThreshold: number;

  /** The last negativeEvalWindow evaluations on record and more than negativeEvalFraction of them negative: F, BMA × negativeEvalMultiplier. */
  readonly negativeEvalWindow: number;
  readonly negativeEvalFraction: number;
  readonly negativeEvalMultiplier: number;
  /** This many negative evaluations in a row exclude a uid from peer selection until a positive one. */
  readonly consecutiveNegativeThreshold: number;
  readonly excludeNegativePeers: boolean;
  /** A window whose badWindowRank-th best match score (the lowest, in a shorter match) is negative is "bad": no negative-eval penalties. */
  readonly badWindowRank: number;

  /** Per window inactive: F × this; reset after resetInactivityWindows. */
  readonly inactivityMultiplier: number;
  readonly resetInactivityWindows: number;

  /** What F and the weights are made of (PAYMENT_RULES); Templar's is rank. */
  readonly payment: PaymentRule;
  /** contribution: gain EMA ← (1−α)·EMA + α·max(0, gain) per evaluation (a missing or late one or a gather miss counts 0; an invalid one resets it to 0). */
  readonly paymentGainAlpha: number;

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
  derivedShareThreshold: 0.3,
  negativeEvalWindow: 8,
  negativeEvalFraction: 0.5,
  negativeEvalMultiplier: 0.25,
  consecutiveNegativeThreshold: 3,
  excludeNegativePeers: true,
  badWindowRank: 5,
  inactivityMultiplier: 0.75,
  resetInactivityWindows: 3,
  payment: 'rank',
  paymentGainAlpha: 0.1,
  gatherShare: 0.75,
  gatherTopRatio: 2,
  reserveDecayRatio: 0.5,
  reserveCapFactor: 0.5,
});

export const SCORING_KEYS: readonly (keyof ScoringParams)[] = Object.freeze(Object.keys(DEFAULT_SCORING) as (keyof ScoringParams)[]);

/** Longest gatherMissMultipliers list accepted. */
const MAX_MISS_MULTIPLIERS = 1_000;

/** Every scoring field with its type and range (unknown keys refused). */
export function readScoringFields<Absent>(f: ConfigFields, mode: FieldMode<Absent>): SectionFields<ScoringParams, Absent> {
  f.allowedKeys(SCORING_KEYS);
  const int = (key: keyof ScoringParams, lo: number) => mode.take(f, key, (k) => f.int(k, lo));
  const num = (key: keyof ScoringParams, lo: number, hi: number) => mode.take(f, key, (k) => f.finite(k, lo, hi));
  const positive = (key: keyof ScoringParams, hi: number) => mode.take(f, key, (k) => f.positive(k, hi));
  const unit = (key: keyof ScoringParams) => num(key, 0, 1);
  return {
    uidsPerWindow: int('uidsPerWindow', 1),
    numEvaluationBins: int('numEvaluationBins', 1),
    evalStarvationFactor: num('evalStarvationFactor', 0, 1e6),
    bmaAlpha: positive('bmaAlpha', 1),
    bmaThreshold: unit('bmaThreshold'),
    bmaWarmupWindows: int('bmaWarmupWindows', 0),
    missingScore: num('missingScore', -1e9, 1e9),
    openskillBeta: positive('openskillBeta', 1e9),
    openskillTau: num('openskillTau', 0, 1e9),
    openskillMu: num('openskillMu', -1e9, 1e9),
    openskillSigma: positive('openskillSigma', 1e9),
    openskillZ: num('openskillZ', 0, 1e3),
    syncEmaAlpha: positive('syncEmaAlpha', 1),
    syncMinStep: positive('syncMinStep', 1e9),
    syncFallbackStep: positive('syncFallbackStep', 1e9),
    syncMaxSteps: positive('syncMaxSteps', 1e9),
    syncPower: positive('syncPower', 1e3),
    syncMaxStepsBehind: num('syncMaxStepsBehind', 0, 1e9),
    scoreFloor: num('scoreFloor', 0, 1e9),
    missingGradientMultiplier: unit('missingGradientMultiplier'),
    gatherMissMultipliers: mode.take(f, 'gatherMissMultipliers', (k) => Object.freeze(f.numbers(k, 0, 1, MAX_MISS_MULTIPLIERS))),
    gatherSuccessSlashThreshold: unit('gatherSuccessSlashThreshold'),
    megaMissWindow: int('megaMissWindow', 1),
    megaMissFraction: positive('megaMissFraction', 1),
    naughtyWindows: int('naughtyWindows', 0),
    desyncMultiplier: unit('desyncMultiplier'),
    overlapHighThreshold: unit('overlapHighThreshold'),
    overlapMaxThreshold: unit('overlapMaxThreshold'),
    overlapMegaThreshold: unit('overlapMegaThreshold'),
    overlapHighMultiplier: unit('overlapHighMultiplier'),
    overlapMinGlobalStep: int('overlapMinGlobalStep', 0),
    derivedShareThreshold: positive('derivedShareThreshold', 1),
    negativeEvalWindow: int('negativeEvalWindow', 1),
    negativeEvalFraction: unit('negativeEvalFraction'),
    negativeEvalMultiplier: unit('negativeEvalMultiplier'),
    consecutiveNegativeThreshold: int('consecutiveNegativeThreshold', 1),
    excludeNegativePeers: mode.take(f, 'excludeNegativePeers', (k) => f.bool(k)),
    badWindowRank: int('badWindowRank', 1),
    inactivityMultiplier: unit('inactivityMultiplier'),
    resetInactivityWindows: int('resetInactivityWindows', 1),
    payment: mode.take(f, 'payment', (k) => f.oneOf<PaymentRule>(k, PAYMENT_RULES)),
    paymentGainAlpha: positive('paymentGainAlpha', 1),
    gatherShare: unit('gatherShare'),
    gatherTopRatio: num('gatherTopRatio', 1, 1e6),
    reserveDecayRatio: positive('reserveDecayRatio', 1),
    reserveCapFactor: unit('reserveCapFactor'),
  };
}

/** The rule across fields: overlap thresholds high ≤ max ≤ mega. */
function checkOverlapOrder(p: ScoringParams, f: ConfigFields): void {
  if (!(p.overlapHighThreshold <= p.overlapMaxThreshold && p.overlapMaxThreshold <= p.overlapMegaThreshold)) {
    f.failField(
      'overlapHighThreshold',
      `≤ overlapMaxThreshold ≤ overlapMegaThreshold must hold, got ${p.overlapHighThreshold}, ${p.overlapMaxThreshold}, ${p.overlapMegaThreshold}`,
    );
  }
}

/** Complete scoring parameters, every field checked; errors come from `raise` and name `what` and the field. */
export function checkScoringParams(p: ScoringParams, what: string, raise: ConfigErrorFactory): ScoringParams {
  const f = new ConfigFields({ ...p }, what, '', raise);
  checkOverlapOrder(readScoringFields(f, REQUIRED), f);
  return p;
}

/** Overrides of DEFAULT_SCORING from a config section: each given field checked, and the overlap order of the result. */
export function readScoringOverrides(f: ConfigFields): Partial<ScoringParams> {
  const overrides = definedOnly<ScoringParams>(readScoringFields(f, OPTIONAL));
  checkOverlapOrder({ ...DEFAULT_SCORING, ...overrides }, f);
  return overrides;
}
