/**
 * The comparison: the same model (same init seed) trained on the same data by DDP-style AdamW, DiLoCo and
 * SparseLoCo with R simulated replicas at equal tokens (every method takes rounds·H inner steps per replica on the
 * same per-replica batch streams), held-out loss evaluated on a fixed batch set every `evalEvery` rounds.
 */
import type { ModelConfig } from '../model/config.ts';
import { countParams, getModelConfig } from '../model/config.ts';
import { createModel, type Model } from '../model/llama.ts';
import type { Batch } from '../model/batch.ts';
import { DdpAdamW, denseBytes, DiLoCo, DILOCO_OUTER_LR, DILOCO_OUTER_MOMENTUM, type SimulatedMethod } from '../optim/baselines/index.ts';
import type { InnerTrainerOptions } from '../optim/inner-trainer.ts';
import { DEFAULT_SPARSELOCO } from '../optim/sparseloco/index.ts';
import { Dataset } from '../data/index.ts';
import type { TokenCorpus } from './corpus.ts';
import { ExperimentError } from './errors.ts';
import { OVERLAP_REMEDIES, SparseLoCoSim, type OverlapRemedy } from './sparseloco-sim.ts';
import { CorpusStreams, DatasetStreams, type ExperimentData } from './streams.ts';

export interface ComparisonOptions {
  readonly model: ModelConfig;
  readonly replicas: number;
  /** H: inner steps per round (DDP: synchronized steps per round). */
  readonly innerSteps: number;
  readonly rounds: number;
  /** Sequences per replica per inner step. */
  readonly batchSize: number;
  readonly seqLen: number;
  /** Inner AdamW peak lr, shared by all methods. */
  readonly innerLr: number;
  /** Linear warm-up (inner steps), then cosine to 0.1·lr at the last inner step. */
  readonly warmupSteps: number;
  readonly maxGradNorm: number;
  readonly weightDecay: number;
  /** Model init seed and data seed. */
  readonly seed: number;
  /** Evaluate every this many rounds (and at round 0 and the last round). */
  readonly evalEvery: number;
  readonly heldOutBatches: number;
  readonly dilocoOuterLr: number;
  readonly dilocoOuterMomentum: number;
  /** The spec row (Templar: 0.4). */
  readonly sparselocoOuterLr: number;
  /** The sparseloco-overlap row's outer lr (default: sparselocoOuterLr). */
  readonly overlapOuterLr?: number;
  /** The sparseloco-overlap row's staleness remedy (SparseLoCoSimOptions.overlapRemedy; default 'none'). */
  readonly overlapRemedy?: OverlapRemedy;
  /** The sparseloco-overlap row: inner steps trained before the outer step in flight lands (SparseLoCoSimOptions). */
  readonly overlapLandsAfter?: number;
  /** Extra SparseLoCo rows with these outer lrs (reported separately from the spec row). */
  readonly extraSparselocoOuterLrs: readonly number[];
  /** Extra DiLoCo rows with these outer settings (momentum 0 = plain model averaging when lr is 1). */
  readonly extraDilocoOuter?: readonly { readonly lr: number; readonly momentum: number }[];
  /** Compute threads for the engine (default: all cores). */
  readonly threads?: number;
  /** Run only these methods (default: DEFAULT_METHODS). */
  readonly methods?: readonly MethodKind[];
}

/** `sparseloco-overlap`: SparseLoCo with the one-step-delayed outer update of overlapped communication (opt-in). */
export type MethodKind = 'ddp' | 'diloco' | 'sparseloco' | 'sparseloco-overlap';
export const METHOD_KINDS: readonly MethodKind[] = ['ddp', 'diloco', 'sparseloco', 'sparseloco-overlap'];
/** What runs when `methods` is not given. */
export const DEFAULT_METHODS: readonly MethodKind[] = ['ddp', 'diloco', 'sparseloco'];

export interface CurvePoint {
  readonly round: number;
  /** Training tokens consumed so far, summed over replicas. */
  readonly tokens: number;
  readonly loss: number;
}

export interface MethodResult {
  readonly name: string;
  /** Outer-optimizer / communication summary for the table. */
  readonly setting: string;
  readonly finalLoss: number;
  readonly curve: readonly CurvePoint[];
  /** Mean inner training loss per round. */
  readonly trainLoss: readonly number[];
  readonly bytesPerReplicaPerRound: number;
  readonly totalBytesPerReplica: number;
  /** Dense fp32 pseudo-gradient bytes (one per round) ÷ this method's bytes per round. */
  readonly ratioVsFp32Dense: number;
  readonly ratioVsBf16Dense: number;
  readonly seconds: number;
}

export interface ComparisonResult {
  readonly model: string;
  readonly params: number;
  readonly replicas: number;
  readonly innerSteps: number;
  readonly rounds: number;
  readonly tokensPerMethod: number;
  readonly data: { readonly description: string; readonly trainTokens: number; readonly heldOutTokens: number };
  readonly options: Omit<ComparisonOptions, 'model'> & { readonly model: string };
  readonly methods: readonly MethodResult[];
}

export type ProgressEvent =
  | { readonly kind: 'start'; readonly method: string }
  | { readonly kind: 'eval'; readonly method: string; readonly round: number; readonly tokens: number; readonly loss: number }
  | { readonly kind: 'done'; readonly method: string; readonly seconds: number };

/** Defaults sized to finish in a few minutes on 2 shared cores for `tiny`. */
export function defaultComparisonOptions(model: 'tiny' | 'small' = 'tiny'): ComparisonOptions {
  const common = {
    maxGradNorm: 1.0,
    weightDecay: 0.1,
    seed: 0,
    dilocoOuterLr: DILOCO_OUTER_LR,
    dilocoOuterMomentum: DILOCO_OUTER_MOMENTUM,
    sparselocoOuterLr: DEFAULT_SPARSELOCO.outerLr,
    extraSparselocoOuterLrs: [] as number[],
  };
  if (model === 'small') {
    return { ...common, model: getModelConfig('small'), replicas: 4, innerSteps: 10, rounds: 12, batchSize: 4, seqLen: 128, innerLr: 3e-3, warmupSteps: 10, evalEvery: 2, heldOutBatches: 4 };
  }
  return { ...common, model: getModelConfig('tiny'), replicas: 4, innerSteps: 10, rounds: 30, batchSize: 8, seqLen: 64, innerLr: 1e-2, warmupSteps: 20, evalEvery: 3, heldOutBatches: 8 };
}

export function validateComparisonOptions(o: ComparisonOptions): void {
  const ints = ['replicas', 'innerSteps', 'rounds', 'batchSize', 'seqLen', 'evalEvery', 'heldOutBatches'] as const;
  for (const k of ints) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new ExperimentError('BadOption', `${k} must be a positive integer, got ${o[k]}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 4096) throw new ExperimentError('BadOption', `seed must be an integer in [0, 4096), got ${o.seed}`);
  if (o.replicas > 256) throw new ExperimentError('BadOption', `at most 256 replicas, got ${o.replicas}`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0) throw new ExperimentError('BadOption', `warmupSteps must be a non-negative integer`);
  if (o.warmupSteps >= o.rounds * o.innerSteps) throw new ExperimentError('BadOption', `warmupSteps (${o.warmupSteps}) must be below the ${o.rounds * o.innerSteps} inner steps`);
  if (o.seqLen > o.model.maxSeqLen) throw new ExperimentError('BadOption', `seqLen ${o.seqLen} exceeds ${o.model.name}'s context ${o.model.maxSeqLen}`);
  const positive = { innerLr: o.innerLr, maxGradNorm: o.maxGradNorm, dilocoOuterLr: o.dilocoOuterLr, sparselocoOuterLr: o.sparselocoOuterLr, overlapOuterLr: o.overlapOuterLr ?? o.sparselocoOuterLr };
  for (const [k, v] of Object.entries(positive)) {
    if (!(Number.isFinite(v) && v > 0)) throw new ExperimentError('BadOption', `${k} must be a positive number, got ${v}`);
  }
  for (const x of o.extraDilocoOuter ?? []) {
    if (!(Number.isFinite(x.lr) && x.lr > 0 && x.momentum >= 0 && x.momentum < 1)) {
      throw new ExperimentError('BadOption', `extra DiLoCo row needs lr > 0 and momentum in [0, 1), got ${x.lr}:${x.momentum}`);
    }
  }
  for (const v of o.extraSparselocoOuterLrs) {
    if (!(Number.isFinite(v) && v > 0)) throw new ExperimentError('BadOption', `extra SparseLoCo outer lr must be positive, got ${v}`);
  }
  if (o.methods !== undefined && (o.methods.length === 0 || o.methods.some((m) => !METHOD_KINDS.includes(m)))) {
    throw new ExperimentError('BadOption', `methods must be a non-empty subset of ${METHOD_KINDS.join(', ')}`);
  }
  if (o.overlapRemedy !== undefined && !OVERLAP_REMEDIES.includes(o.overlapRemedy)) {
    throw new ExperimentError('BadOption', `overlapRemedy must be one of ${OVERLAP_REMEDIES.join(', ')}, got ${String(o.overlapRemedy)}`);
  }
  if (!(o.weightDecay >= 0)) throw new ExperimentError('BadOption', 'weightDecay must be >= 0');
  if (!(o.dilocoOuterMomentum >= 0 && o.dilocoOuterMomentum < 1)) throw new ExperimentError('BadOption', 'DiLoCo momentum must be in [0, 1)');
}

interface MethodSpec {
  readonly kind: MethodKind;
  readonly name: string;
  readonly setting: string;
  readonly build: (model: Model, inner: InnerTrainerOptions) => SimulatedMethod;
}

function methodSpecs(o: ComparisonOptions): MethodSpec[] {
  const specs: MethodSpec[] = [
    {
      kind: 'ddp',
      name: 'ddp-adamw',
      setting: 'all-reduce dense fp32 gradient every step',
      build: (model, inner) => new DdpAdamW(model, { replicas: o.replicas, inner }),
    },
    {
      kind: 'diloco',
      name: 'diloco',
      setting: `outer Nesterov lr ${o.dilocoOuterLr} momentum ${o.dilocoOuterMomentum}, dense fp32`,
      build: (model, inner) => new DiLoCo(model, { replicas: o.replicas, inner, outerLr: o.dilocoOuterLr, outerMomentum: o.dilocoOuterMomentum }),
    },
  ];
  for (const x of o.extraDilocoOuter ?? []) {
    specs.push({
      kind: 'diloco',
      name: `diloco (outer lr ${x.lr}, momentum ${x.momentum})`,
      setting: x.momentum > 0 ? `outer Nesterov lr ${x.lr} momentum ${x.momentum}, dense fp32` : `outer SGD lr ${x.lr}, no momentum, dense fp32`,
      build: (model, inner) => new DiLoCo(model, { replicas: o.replicas, inner, outerLr: x.lr, outerMomentum: x.momentum }),
    });
  }
  const sparse = (lr: number, name: string): MethodSpec => ({
    kind: 'sparseloco',
    name,
    setting: `outer SGD lr ${lr}, EF β ${DEFAULT_SPARSELOCO.beta}, top-${DEFAULT_SPARSELOCO.topk}/4096, 2-bit`,
    build: (model, inner) => new SparseLoCoSim(model, { replicas: o.replicas, inner, name, sparseloco: { outerLr: lr } }),
  });
  specs.push(sparse(o.sparselocoOuterLr, 'sparseloco'));
  for (const lr of o.extraSparselocoOuterLrs) specs.push(sparse(lr, `sparseloco (outer lr ${lr})`));
  const overlapLr = o.overlapOuterLr ?? o.sparselocoOuterLr;
  const remedy = o.overlapRemedy ?? 'none';
  const remedyText: Record<OverlapRemedy, string> = {
    none: 'Δ = θ_{r−1} − θ_end',
    current: 'Δ = θ_r − θ_end',
    eager: 'eager: starts from θ_{r−1} + own last update',
    'eager-current': 'eager start, Δ = θ_r − θ_end',
  };
  specs.push({
    kind: 'sparseloco-overlap',
    name: 'sparseloco-overlap',
    setting:
      `as sparseloco with outer SGD lr ${overlapLr}; round r trains from θ_{r−1} (outer step one round delayed), ` +
      remedyText[remedy] +
      (o.overlapLandsAfter === undefined ? '' : `; the step in flight lands after ${o.overlapLandsAfter} inner steps, Δ = θ_r − θ_end`),
    build: (model, inner) =>
      new SparseLoCoSim(model, {
        replicas: o.replicas,
        inner,
        name: 'sparseloco-overlap',
        overlap: true,
        overlapRemedy: remedy,
        sparseloco: { outerLr: overlapLr },
        ...(o.overlapLandsAfter === undefined ? {} : { overlapLandsAfter: o.overlapLandsAfter }),
      }),
  });
  const only = o.methods ?? DEFAULT_METHODS;
  return specs.filter((s) => only.includes(s.kind));
}

/** The project dataset (src/data) or a token corpus (e.g. byte-level text files). */
export type ComparisonData = Dataset | TokenCorpus;

export function runComparison(
  o: ComparisonOptions,
  source: ComparisonData,
  onProgress: (e: ProgressEvent) => void = () => {},
): ComparisonResult {
  validateComparisonOptions(o);
  const streamOptions = { seqLen: o.seqLen, batchSize: o.batchSize, seed: o.seed };
  const data: ExperimentData = source instanceof Dataset ? new DatasetStreams(source, streamOptions) : new CorpusStreams(source, streamOptions);
  if (data.vocabSize > o.model.vocabSize) {
    throw new ExperimentError('BadOption', `data vocabulary ${data.vocabSize} exceeds the model's ${o.model.vocabSize}`);
  }
  const heldOut = data.heldOutBatches(o.heldOutBatches);
  const totalInner = o.rounds * o.innerSteps;
  const inner: InnerTrainerOptions = {
    schedule: { lr: o.innerLr, warmupSteps: o.warmupSteps, cosineSteps: totalInner - o.warmupSteps },
    adamw: { weightDecay: o.weightDecay },
    maxGradNorm: o.maxGradNorm,
  };
  const params = countParams(o.model);
  const denseFp32 = denseBytes(params, 'fp32');
  const denseBf16 = denseBytes(params, 'bf16');
  const tokensPerRound = o.replicas * o.innerSteps * o.batchSize * o.seqLen;
  const methods: MethodResult[] = [];
  for (const spec of methodSpecs(o)) {
    onProgress({ kind: 'start', method: spec.name });
    const t0 = performance.now();
    const model = createModel(o.model, { seed: o.seed, threads: o.threads });
    let method: SimulatedMethod | undefined;
    try {
      method = spec.build(model, inner);
      const curve: CurvePoint[] = [];
      const trainLoss: number[] = [];
      let bytesPerRound = 0;
      let totalBytes = 0;
      const evaluate = (round: number): void => {
        const point = { round, tokens: round * tokensPerRound, loss: method!.evalLoss(heldOut) };
        curve.push(point);
        onProgress({ kind: 'eval', method: spec.name, ...point });
      };
      evaluate(0);
      for (let round = 1; round <= o.rounds; round++) {
        const batches: Batch[][] = Array.from({ length: o.replicas }, (_, r) => data.roundBatches(r, round - 1, o.innerSteps));
        const res = method.round(batches);
        trainLoss.push(res.trainLoss);
        bytesPerRound = Math.max(bytesPerRound, res.bytesSentPerReplica);
        totalBytes += res.bytesSentPerReplica;
        if (round % o.evalEvery === 0 || round === o.rounds) evaluate(round);
      }
      const seconds = (performance.now() - t0) / 1000;
      methods.push({
        name: spec.name,
        setting: spec.setting,
        finalLoss: curve[curve.length - 1].loss,
        curve,
        trainLoss,
        bytesPerReplicaPerRound: bytesPerRound,
        totalBytesPerReplica: totalBytes,
        ratioVsFp32Dense: denseFp32 / bytesPerRound,
        ratioVsBf16Dense: denseBf16 / bytesPerRound,
        seconds,
      });
      onProgress({ kind: 'done', method: spec.name, seconds });
    } finally {
      method?.dispose();
      model.dispose();
    }
  }
  const { model, ...rest } = o;
  return {
    model: model.name,
    params,
    replicas: o.replicas,
    innerSteps: o.innerSteps,
    rounds: o.rounds,
    tokensPerMethod: o.rounds * tokensPerRound,
    data: { description: data.description, trainTokens: data.trainTokens, heldOutTokens: data.heldOutTokens },
    options: { ...rest, model: model.name },
    methods,
  };
}
