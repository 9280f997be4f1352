/**
 * Phase "score": the window's outcomes (activity, copies, sync, gather, evaluations) through the Gauntlet scorer
 * (reference §4.3–§4.5).
 */
import type { Metagraph } from '../../chain/types.ts';
import type { DerivedReport, EvalOutcome, GatherOutcome, GauntletScorer, OverlapReport, ScoringEvent, WindowReport } from '../scoring/index.ts';

export interface ScoreInput {
  readonly scorer: Pick<GauntletScorer, 'processWindow'>;
  readonly window: number;
  readonly startWindow: number;
  readonly globalStep: number;
  /** Hotkeys by uid (re-registrations reset a uid's score). */
  readonly metagraph: Metagraph;
  readonly activeUids: readonly number[];
  /** null during warm-up. */
  readonly overlap: OverlapReport | null;
  /** null during warm-up. */
  readonly derived: DerivedReport | null;
  readonly sync: ReadonlyMap<number, number | null>;
  readonly gather: GatherOutcome;
  readonly evaluations: readonly EvalOutcome[];
}

export interface ScoreResult {
  readonly report: WindowReport;
  /** The report's events other than plain evaluations (slashes, resets, naughty-listing, ...). */
  readonly flags: readonly Exclude<ScoringEvent, { kind: 'evaluated' }>[];
}

export function scoreWindow(input: ScoreInput): ScoreResult {
  const report = input.scorer.processWindow({
    window: input.window,
    startWindow: input.startWindow,
    globalStep: input.globalStep,
    hotkeys: new Map(input.metagraph.neurons.map((n) => [n.uid, n.hotkey])),
    activeUids: input.activeUids,
    overlap: input.overlap ? input.overlap.offenders : undefined,
    derived: input.derived ? input.derived.offenders : undefined,
    sync: input.sync,
    gather: input.gather,
    evaluations: input.evaluations,
  });
  return { report, flags: report.events.filter((e) => e.kind !== 'evaluated') };
}
