/**
 * Phase "screen copies": the index-overlap check over the window's usable uploads (reference §4.1). Once the run
 * has taken overlapMinGlobalStep outer steps, offenders above the "high" level are copiers: left out of the
 * aggregation and of evaluation.
 */
import { checkIndexOverlap, type OverlapReport, type ScoringParams } from '../scoring/index.ts';
import type { GatheredOk } from '../gather.ts';

export interface ScreenCopiesInput {
  readonly ok: readonly GatheredOk[];
  /** No check during warm-up. */
  readonly warmup: boolean;
  /** Outer steps applied so far. */
  readonly globalStep: number;
  readonly params: Pick<ScoringParams, 'overlapHighThreshold' | 'overlapMaxThreshold' | 'overlapMegaThreshold' | 'overlapMinGlobalStep'>;
}

export interface ScreenCopiesResult {
  /** null during warm-up. */
  readonly overlap: OverlapReport | null;
  readonly copiers: ReadonlySet<number>;
}

export function screenCopies(input: ScreenCopiesInput): ScreenCopiesResult {
  const { ok, warmup, globalStep, params } = input;
  const overlap = warmup
    ? null
    : checkIndexOverlap(
        ok.map((g) => ({
          uid: g.uid,
          uploadedAt: g.uploadedAt,
          tensors: g.payload.message.tensors.map((t) => ({ name: t.name, chunkLen: t.layout.chunkLen, k: t.layout.k, indices: t.indices })),
        })),
        params,
      );
  const enforced = globalStep >= params.overlapMinGlobalStep;
  const copiers = new Set(enforced && overlap ? overlap.offenders.filter((f) => f.level !== 'high').map((f) => f.uid) : []);
  return { overlap, copiers };
}
