/**
 * Peers of different speed (issue 12 item 3, docs/hetero.md): R SparseLoCo replicas, replica r taking
 * ⌊speed_r·H⌋ (at least 1) of the round's H inner steps, as a miner does when its hardware only fits that many in the
 * window, at equal wall-clock. Rows, each from the same init and the same per-replica batches:
 * - `all-full-speed`: every replica takes H steps (the reference a mixed group cannot beat);
 * - `equal`: the mixed speeds, every peer weighing 1 in the outer step (Templar);
 * - `claimed-samples`: the mixed speeds, each peer's work w_i the samples its payload says it trained over the step
 *   budget; per coordinate Σ Δ_i / max(1, Σ w_i), clipped per unit of work (sparseloco.peerWeighting, CLAIMED_WORK);
 * - `claimed-samples-extrapolated`: Σ Δ_i / Σ w_i (a coordinate only slow peers selected is scaled up to a window);
 * - `claimed-samples-mean`: the weighted mean Σ w_i·Δ_i / Σ w_i (lone selectors keep their value), median of ν_i;
 * - `claimed-samples-mean-floor`: Σ w_i·Δ_i / max(1, Σ w_i);
 * - `drop-slow`: only the full-speed replicas (the slow peers left out).
 * Final held-out loss of each, on a fixed held-out set.
 */
import { createModel } from '../model/llama.ts';
import type { Batch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import type { InnerTrainerOptions } from '../optim/inner-trainer.ts';
import type { PeerWeighting } from '../optim/sparseloco/index.ts';
import { Dataset } from '../data/index.ts';
import type { ComparisonData } from './compare.ts';
import { ExperimentError } from './errors.ts';
import { SparseLoCoSim } from './sparseloco-sim.ts';
import { CLAIMED_WORK, type ClaimWeightingVariant } from '../protocol/index.ts';
import { CorpusStreams, DatasetStreams, type ExperimentData } from './streams.ts';

export interface SpeedWeightingOptions {
  readonly model: ModelConfig;
  /** Relative speed of each replica, in (0, 1]; 1 = all H inner steps. */
  readonly speeds: readonly number[];
  /** H. */
  readonly innerSteps: number;
  readonly rounds: number;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly innerLr: number;
  readonly warmupSteps: number;
  readonly maxGradNorm: number;
  readonly weightDecay: number;
  readonly outerLr: number;
  /** Model init and data seed. */
  readonly seed: number;
  readonly heldOutBatches: number;
  readonly threads?: number;
}

export type SpeedWeightingRowName =
  | 'all-full-speed' | 'equal' | 'claimed-samples' | 'claimed-samples-extrapolated' | 'claimed-samples-mean' | 'claimed-samples-mean-floor' | 'drop-slow';
export const SPEED_WEIGHTING_ROWS: readonly SpeedWeightingRowName[] = [
  'all-full-speed', 'equal', 'claimed-samples', 'claimed-samples-extrapolated', 'claimed-samples-mean', 'claimed-samples-mean-floor', 'drop-slow',
];

export interface SpeedWeightingRow {
  readonly name: SpeedWeightingRowName;
  /** Inner steps per round of each replica taking part. */
  readonly innerSteps: readonly number[];
  /** Training tokens over the run, all replicas. */
  readonly tokens: number;
  readonly initialLoss: number;
  readonly finalLoss: number;
  readonly seconds: number;
}

export interface SpeedWeightingResult {
  readonly model: string;
  readonly options: Omit<SpeedWeightingOptions, 'model'>;
  readonly data: string;
  readonly rows: readonly SpeedWeightingRow[];
}

/** The tiny model, 4 replicas at speeds 1, 1, 0.5, 0.25, H 10, 30 rounds (as `experiment compare`'s tiny defaults). */
export function defaultSpeedWeightingOptions(model: ModelConfig): SpeedWeightingOptions {
  return {
    model, speeds: [1, 1, 0.5, 0.25], innerSteps: 10, rounds: 30, batchSize: 8, seqLen: 64, innerLr: 1e-2, warmupSteps: 20,
    maxGradNorm: 1, weightDecay: 0.1, outerLr: 0.4, seed: 0, heldOutBatches: 8,
  };
}

/** Inner steps a replica of this speed takes of H: ⌊speed·H⌋, at least 1 (the step budget's first step always runs). */
export function stepsAtSpeed(speed: number, innerSteps: number): number {
  return Math.max(1, Math.floor(speed * innerSteps + 1e-9));
}

function validate(o: SpeedWeightingOptions): void {
  for (const k of ['innerSteps', 'rounds', 'batchSize', 'seqLen', 'heldOutBatches'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new ExperimentError('BadOption', `${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.speeds.length < 2 || o.speeds.some((s) => !(s > 0 && s <= 1))) {
    throw new ExperimentError('BadOption', `speeds must be at least 2 numbers in (0, 1], got ${JSON.stringify(o.speeds)}`);
  }
  if (!o.speeds.includes(1)) throw new ExperimentError('BadOption', 'at least one replica must run at speed 1 (the drop-slow row keeps those)');
  if (o.warmupSteps >= o.rounds * o.innerSteps) throw new ExperimentError('BadOption', `warmupSteps must be below ${o.rounds * o.innerSteps}`);
  if (!(o.outerLr > 0 && o.innerLr > 0)) throw new ExperimentError('BadOption', 'learning rates must be positive');
}

interface RowSpec {
  readonly name: SpeedWeightingRowName;
  /** Stream (replica) index of each participant. */
  readonly streams: readonly number[];
  readonly steps: readonly number[];
  readonly weighting: PeerWeighting;
  readonly variant?: ClaimWeightingVariant;
}

function rowSpecs(o: SpeedWeightingOptions): RowSpec[] {
  const all = o.speeds.map((_, i) => i);
  const steps = o.speeds.map((s) => stepsAtSpeed(s, o.innerSteps));
  const fast = all.filter((i) => steps[i] === o.innerSteps);
  return [
    { name: 'all-full-speed', streams: all, steps: all.map(() => o.innerSteps), weighting: 'equal' },
    { name: 'equal', streams: all, steps, weighting: 'equal' },
    { name: 'claimed-samples', streams: all, steps, weighting: 'claimed-samples', variant: CLAIMED_WORK },
    { name: 'claimed-samples-extrapolated', streams: all, steps, weighting: 'claimed-samples', variant: { use: 'work', floor: 0 } },
    { name: 'claimed-samples-mean', streams: all, steps, weighting: 'claimed-samples', variant: { use: 'mean', floor: 0 } },
    { name: 'claimed-samples-mean-floor', streams: all, steps, weighting: 'claimed-samples', variant: { use: 'mean', floor: 1 } },
    { name: 'drop-slow', streams: fast, steps: fast.map(() => o.innerSteps), weighting: 'equal' },
  ];
}

export function runSpeedWeighting(
  o: SpeedWeightingOptions,
  source: ComparisonData,
  only: readonly SpeedWeightingRowName[] = SPEED_WEIGHTING_ROWS,
  onRow: (row: SpeedWeightingRow) => void = () => {},
): SpeedWeightingResult {
  validate(o);
  const streamOptions = { seqLen: o.seqLen, batchSize: o.batchSize, seed: o.seed };
  const data: ExperimentData = source instanceof Dataset ? new DatasetStreams(source, streamOptions) : new CorpusStreams(source, streamOptions);
  if (data.vocabSize > o.model.vocabSize) throw new ExperimentError('BadOption', `data vocabulary ${data.vocabSize} exceeds the model's ${o.model.vocabSize}`);
  const heldOut = data.heldOutBatches(o.heldOutBatches);
  const totalInner = o.rounds * o.innerSteps;
  const inner: InnerTrainerOptions = {
    schedule: { lr: o.innerLr, warmupSteps: o.warmupSteps, cosineSteps: totalInner - o.warmupSteps },
    adamw: { weightDecay: o.weightDecay },
    maxGradNorm: o.maxGradNorm,
  };
  const rows: SpeedWeightingRow[] = [];
  for (const spec of rowSpecs(o).filter((s) => only.includes(s.name))) {
    const t0 = performance.now();
    const model = createModel(o.model, { seed: o.seed, threads: o.threads });
    const sim = new SparseLoCoSim(model, {
      replicas: spec.streams.length,
      inner,
      name: spec.name,
      innerSteps: spec.steps,
      ...(spec.variant === undefined ? {} : { claimWeighting: spec.variant }),
      sparseloco: { outerLr: o.outerLr, peerWeighting: spec.weighting },
    });
    try {
      const initialLoss = sim.evalLoss(heldOut);
      for (let round = 0; round < o.rounds; round++) {
        const batches: Batch[][] = spec.streams.map((r) => data.roundBatches(r, round, o.innerSteps));
        sim.round(batches);
      }
      const row: SpeedWeightingRow = {
        name: spec.name,
        innerSteps: spec.steps,
        tokens: o.rounds * spec.steps.reduce((s, n) => s + n, 0) * o.batchSize * o.seqLen,
        initialLoss,
        finalLoss: sim.evalLoss(heldOut),
        seconds: (performance.now() - t0) / 1000,
      };
      rows.push(row);
      onRow(row);
    } finally {
      sim.dispose();
      model.dispose();
    }
  }
  const { model, ...rest } = o;
  return { model: model.name, options: rest, data: data.description, rows };
}
