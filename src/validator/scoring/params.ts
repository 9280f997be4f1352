/** Gauntlet scoring settings: type, defaults and checks live in src/node/config/scoring.ts (network settings carry overrides). */
import { ScoringError } from './errors.ts';
import { checkScoringParams, DEFAULT_SCORING, PAYMENT_RULES, type PaymentRule, type ScoringParams } from '../../node/config/scoring.ts';
import type { ConfigErrorFactory } from '../../node/config/errors.ts';

export { DEFAULT_SCORING, PAYMENT_RULES, type PaymentRule, type ScoringParams };

const invalidParams: ConfigErrorFactory = (_code, message, cause) => new ScoringError('InvalidParams', message, { cause });

export function validateScoringParams(p: ScoringParams): ScoringParams {
  return checkScoringParams(p, 'scoring parameters', invalidParams);
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
