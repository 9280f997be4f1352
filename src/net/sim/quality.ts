/**
 * The scoring model that stands in for loss measurements. Evaluation on a 72B model is not simulated; instead each
 * miner has a kind and a quality drawn once, and an evaluated update yields the four losses the Gauntlet scorer
 * takes (validator/scoring/loss-score.ts), from which the real scorer derives the gradient score and the binary
 * indicator:
 *   L(w) = 2 + 8 / (1 + w/20)                                      the model's loss before the update
 *   honest: g = gain·q·(steps/H) + noise, q = 1 + 0.2·u            improvement on random data (relative)
 *           own-data improvement = g + 0.5·gain·(steps/H)          it trained on its assigned pages: indicator +1
 *   lazy:   g = noise − gain/10, own = g − gain/10                 no training: indicator −1, gradient score ≈ 0
 * with gain = 0.003, u uniform in [−1, 1] per miner, noise uniform ±gain/5 per evaluation. Steps behind (the sync
 * score) is how many manifests the miner had not applied when it uploaded.
 */
import type { EvalLosses } from '../../validator/scoring/loss-score.ts';
import type { SeededRng } from '../../validator/scoring/rng.ts';
import type { MinerKind } from './scenario.ts';

export const GAIN = 0.003;

export function lossLevel(window: number): number {
  return 2 + 8 / (1 + window / 20);
}

/** A miner's fixed quality factor (honest: 0.8–1.2). */
export function drawQuality(rng: SeededRng): number {
  return 1 + 0.2 * (2 * rng.next() - 1);
}

export interface EvalInput {
  readonly kind: MinerKind;
  readonly quality: number;
  readonly window: number;
  /** Inner steps the miner ran / H. */
  readonly stepFraction: number;
}

export function evalLosses(x: EvalInput, rng: SeededRng): EvalLosses {
  const L = lossLevel(x.window);
  const noise = (GAIN / 5) * (2 * rng.next() - 1);
  let g: number;
  let own: number;
  if (x.kind === 'honest') {
    g = GAIN * x.quality * x.stepFraction + noise;
    own = g + 0.5 * GAIN * x.stepFraction;
  } else {
    g = noise - GAIN / 10;
    own = g - GAIN / 10;
  }
  return { randomBefore: L, randomAfter: L * (1 - g), ownBefore: L, ownAfter: L * (1 - own) };
}
