/**
 * A slowed miner for local networks (`net up --hetero`): an honest miner whose hardware is taken to run at
 * `speedFactor` of the others', modelled as a cap on its step budget — it trains ⌈speedFactor·H⌉ of the window's H
 * inner steps (at least one) on the first batches of its assigned samples, and its gradient metadata states the tokens
 * it actually trained, as any miner whose window ran short. Everything else is the protocol's.
 */
import { TesseraError } from '../core/errors.ts';
import { honestPolicy, type GradientPolicy } from './gradient-policy.ts';

export class SlowedMinerError extends TesseraError<'InvalidSpeed'> {
  override readonly name = 'SlowedMinerError';
}

/** Inner steps a miner at `speedFactor` trains of H. */
export function slowedSteps(innerSteps: number, speedFactor: number): number {
  return Math.max(1, Math.min(innerSteps, Math.ceil(speedFactor * innerSteps - 1e-9)));
}

export function slowedPolicy(speedFactor: number): GradientPolicy {
  if (!(Number.isFinite(speedFactor) && speedFactor > 0 && speedFactor <= 1)) {
    throw new SlowedMinerError('InvalidSpeed', `speed factor must be in (0, 1], got ${speedFactor}`);
  }
  return {
    ...honestPolicy,
    produce: async (source) => source.compress((await source.train({ steps: slowedSteps(source.innerSteps, speedFactor) })).delta),
  };
}
