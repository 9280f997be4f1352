/**
 * Phase "screen copies": two checks over the window's usable uploads. Templar's index-overlap check (reference §4.1):
 * offenders above the "high" level are copiers. Ours, the derived-copy check: an upload largely explained by
 * uploads stamped before it (averaged or blended from other miners' work) is a copier. Both are enforced once the
 * run has taken overlapMinGlobalStep outer steps; copiers are left out of the aggregation and of evaluation.
 */
import { checkDerivedCopies, checkIndexOverlap, type DerivedReport, type OverlapReport, type ScoringParams } from '../scoring/index.ts';
import type { GatheredOk } from '../gather.ts';

export interface ScreenCopiesInput {
  readonly ok: readonly GatheredOk[];
  /** No check during warm-up. */
  readonly warmup: boolean;
  /** Outer steps applied so far. */
  readonly globalStep: number;
  readonly params: Pick<ScoringParams, 'overlapHighThreshold' | 'overlapMaxThreshold' | 'overlapMegaThreshold' | 'overlapMinGlobalStep' | 'derivedShareThreshold'>;
}

export interface ScreenCopiesResult {
  /** null during warm-up. */
  readonly overlap: OverlapReport | null;
  /** null during warm-up. */
  readonly derived: DerivedReport | null;
  readonly copiers: ReadonlySet<number>;
}

export function screenCopies(input: ScreenCopiesInput): ScreenCopiesResult {
  const { ok, warmup, globalStep, params } = input;
  if (warmup) return { overlap: null, derived: null, copiers: new Set() };
  const overlap = checkIndexOverlap(
    ok.map((g) => ({
      uid: g.uid,
      uploadedAt: g.uploadedAt,
      tensors: g.payload.message.tensors.map((t) => ({ name: t.name, chunkLen: t.layout.chunkLen, k: t.layout.k, indices: t.indices })),
    })),
    params,
  );
  const overlapCopiers = new Set(overlap.offenders.filter((f) => f.level !== 'high').map((f) => f.uid));
  const report = checkDerivedCopies(ok.map((g) => ({ uid: g.uid, uploadedAt: g.uploadedAt, tensors: g.payload.message.tensors })), params);
  // a copy the overlap check already caught is its offender alone (one reset, one reason)
  const derived = { ...report, offenders: report.offenders.filter((f) => !overlapCopiers.has(f.uid)) };
  if (globalStep < params.overlapMinGlobalStep) return { overlap, derived, copiers: new Set() };
  return { overlap, derived, copiers: new Set([...overlapCopiers, ...derived.offenders.map((f) => f.uid)]) };
}
