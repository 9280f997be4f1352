/**
 * The heterogeneous SparseLoCo experiment (issue 12 item 4): the same model (init seed) and data, four replicas per
 * row, per-stage SparseLoCo through the wire format (hetero-sim.ts):
 *   full            4 full replicas, no activation compression
 *   selective       2 full replicas + 2 pipeline groups (S stages) with subspace-compressed activations
 *   all-compressed  4 compressed pipeline groups
 *   mixed-speed     4 full replicas with speeds 1, 1, 0.5, 0.25 at equal wall-clock (rounds)
 *   drop-slow       the two speed-1 replicas of mixed-speed alone
 * Rows full / selective / all-compressed train equal tokens; mixed-speed and drop-slow train the same rounds, with
 * the tokens their replicas manage. Replica r always trains on data stream r.
 */
import type { Batch } from '../model/batch.ts';
import { countParams, getModelConfig, type ModelConfig } from '../model/config.ts';
import { DEFAULT_PEER_WEIGHTING, DEFAULT_SPARSELOCO, PEER_WEIGHTINGS, SparseLoCoError, validateSparseLoCoConfig, type PeerWeighting, type SparseLoCoConfig } from '../optim/sparseloco/index.ts';
import { Dataset } from '../data/index.ts';
import type { TokenCorpus } from './corpus.ts';
import { ExperimentError } from './errors.ts';
import { GROUP_MODES, type GroupMode } from './hetero-replica.ts';
import { groupActivationBytesPerStep, HeteroSparseLoCoSim, innerStepsAtSpeed, SLOW_REPLICAS, type ReplicaSpec, type SlowReplicas } from './hetero-sim.ts';
import { CorpusStreams, DatasetStreams, type ExperimentData } from './streams.ts';

export type HeteroRowKind = 'full' | 'selective' | 'all-compressed' | 'mixed-speed' | 'drop-slow';
export const HETERO_ROWS: readonly HeteroRowKind[] = ['full', 'selective', 'all-compressed', 'mixed-speed', 'drop-slow'];

/** The speeds of the mixed-speed row's replicas. */
export const MIXED_SPEEDS: readonly number[] = [1, 1, 0.5, 0.25];

export interface HeteroOptions {
  readonly model: ModelConfig;
  /** H: a full-speed replica's inner steps per round */
  readonly innerSteps: number;
  readonly rounds: number;
  readonly batchSize: number;
  readonly seqLen: number;
  /** micro-batches per inner step, every replica (a power of two dividing batchSize) */
  readonly microBatches: number;
  /** pipeline stages of a group */
  readonly stages: number;
  /** subspace rank of the compressed boundaries */
  readonly rank: number;
  readonly groupMode: GroupMode;
  readonly innerLr: number;
  readonly warmupSteps: number;
  readonly maxGradNorm: number;
  readonly weightDecay: number;
  readonly outerLr: number;
  /** SparseLoCo values kept per chunk (default DEFAULT_SPARSELOCO.topk, Templar's 64 of each 64×64 chunk) */
  readonly topk?: number;
  /** how the outer step weighs peers of different speed (sparseloco.peerWeighting; default the network's, claimed-samples) */
  readonly peerWeighting: PeerWeighting;
  /** how slow replicas spend their share of a window (default fewer-steps, what a miner does; hetero-sim.ts) */
  readonly slowReplicas?: SlowReplicas;
  /** model init and data seed */
  readonly seed: number;
  readonly evalEvery: number;
  readonly heldOutBatches: number;
  readonly threads?: number;
  /** rows to run (default all, in HETERO_ROWS order) */
  readonly rows?: readonly HeteroRowKind[];
}

export interface HeteroCurvePoint {
  readonly round: number;
  /** training tokens so far, all replicas */
  readonly tokens: number;
  readonly loss: number;
}

export interface HeteroRowResult {
  readonly kind: HeteroRowKind;
  readonly label: string;
  readonly replicas: readonly ReplicaSpec[];
  readonly innerStepsPerRound: readonly number[];
  readonly tokens: number;
  /** held-out loss of the run's model (unsplit θ when a full replica exists, else the groups' model) */
  readonly finalLoss: number;
  /** held-out loss of θ as a compressed group loads and runs it (null without groups) */
  readonly groupViewLoss: number | null;
  readonly curve: readonly HeteroCurvePoint[];
  readonly trainLoss: readonly number[];
  /** largest encoded pseudo-gradient payload, per replica per round */
  readonly pseudoGradientBytes: number;
  /** a group's activation bytes per inner step, measured over its in-process boundaries (null: no groups) */
  readonly activationBytesPerStep: number | null;
  /** the same messages uncompressed (exact, messages.ts) ÷ the measured bytes (null: no compressed group) */
  readonly activationCompressionRatio: number | null;
  readonly seconds: number;
}

export interface HeteroChecks {
  /** selective / full − 1; goal ≤ 0.02 */
  readonly selectiveGap: number | null;
  readonly selectiveWithin2Pct: boolean | null;
  readonly selectiveBeatsAllCompressed: boolean | null;
  readonly mixedBeatsDropSlow: boolean | null;
}

export interface HeteroResult {
  readonly model: string;
  readonly params: number;
  readonly data: { readonly description: string; readonly trainTokens: number; readonly heldOutTokens: number };
  readonly options: Omit<HeteroOptions, 'model'> & { readonly model: string };
  /** exact activation bytes per inner step of one group: uncompressed and at the rank */
  readonly activationBytesFormula: { readonly uncompressed: number; readonly compressed: number };
  readonly rows: readonly HeteroRowResult[];
  readonly checks: HeteroChecks;
}

export type HeteroProgress =
  | { readonly kind: 'start'; readonly row: HeteroRowKind }
  | { readonly kind: 'eval'; readonly row: HeteroRowKind; readonly round: number; readonly tokens: number; readonly loss: number }
  | { readonly kind: 'done'; readonly row: HeteroRowKind; readonly seconds: number };

/** Sized for a few minutes per row on 2 shared cores (tiny, batch 8 × 64, H 10, 30 rounds, rank 8, groups `refresh`). */
export function defaultHeteroOptions(): HeteroOptions {
  return {
    model: getModelConfig('tiny'), innerSteps: 10, rounds: 30, batchSize: 8, seqLen: 64, microBatches: 2, stages: 2, rank: 8,
    groupMode: 'refresh', innerLr: 1e-2, warmupSteps: 20, maxGradNorm: 1, weightDecay: 0.1, outerLr: DEFAULT_SPARSELOCO.outerLr,
    peerWeighting: DEFAULT_PEER_WEIGHTING, seed: 0, evalEvery: 3, heldOutBatches: 8,
  };
}

export function rowReplicas(kind: HeteroRowKind): ReplicaSpec[] {
  const full: ReplicaSpec = { kind: 'full' };
  const group: ReplicaSpec = { kind: 'group', compressed: true };
  switch (kind) {
    case 'full':
      return [full, full, full, full];
    case 'selective':
      return [full, full, group, group];
    case 'all-compressed':
      return [group, group, group, group];
    case 'mixed-speed':
      return MIXED_SPEEDS.map((speed) => ({ kind: 'full', speed }));
    case 'drop-slow':
      return MIXED_SPEEDS.filter((v) => v === 1).map((speed) => ({ kind: 'full', speed }));
  }
}

function rowLabel(kind: HeteroRowKind, o: HeteroOptions): string {
  const g = `${o.stages}-stage groups, rank ${o.rank} of ${o.model.dim}`;
  switch (kind) {
    case 'full':
      return '(a) 4 full replicas, no activation compression';
    case 'selective':
      return `(b) 2 full + 2 compressed ${g} (selective)`;
    case 'all-compressed':
      return `(c) 4 compressed ${g}`;
    case 'mixed-speed':
      return `(d) 4 full replicas, speeds ${MIXED_SPEEDS.join(', ')}, equal wall-clock`;
    case 'drop-slow':
      return '(d′) drop slow: the 2 speed-1 replicas only';
  }
}

export function validateHeteroOptions(o: HeteroOptions): void {
  const ints = ['innerSteps', 'rounds', 'batchSize', 'seqLen', 'microBatches', 'stages', 'rank', 'evalEvery', 'heldOutBatches'] as const;
  for (const k of ints) {
    if (!Number.isInteger(o[k]) || o[k] < 1) throw new ExperimentError('BadOption', `${k} must be a positive integer, got ${o[k]}`);
  }
  if (o.batchSize % o.microBatches !== 0) throw new ExperimentError('BadOption', `batchSize ${o.batchSize} does not split into ${o.microBatches} micro-batches`);
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed >= 4096) throw new ExperimentError('BadOption', `seed must be an integer in [0, 4096), got ${o.seed}`);
  if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0 || o.warmupSteps >= o.rounds * o.innerSteps) {
    throw new ExperimentError('BadOption', `warmupSteps must be in [0, ${o.rounds * o.innerSteps}), got ${o.warmupSteps}`);
  }
  if (o.seqLen > o.model.maxSeqLen) throw new ExperimentError('BadOption', `seqLen ${o.seqLen} exceeds ${o.model.name}'s context ${o.model.maxSeqLen}`);
  for (const [k, v] of Object.entries({ innerLr: o.innerLr, maxGradNorm: o.maxGradNorm, outerLr: o.outerLr })) {
    if (!(Number.isFinite(v) && v > 0)) throw new ExperimentError('BadOption', `${k} must be a positive number, got ${v}`);
  }
  try {
    validateSparseLoCoConfig(rowSparseLoCo(o));
  } catch (e) {
    if (!(e instanceof SparseLoCoError)) throw e;
    throw new ExperimentError('BadOption', e.message, { cause: e });
  }
  if (!(o.weightDecay >= 0)) throw new ExperimentError('BadOption', 'weightDecay must be >= 0');
  if (o.slowReplicas !== undefined && !SLOW_REPLICAS.includes(o.slowReplicas)) throw new ExperimentError('BadOption', `slowReplicas must be one of ${SLOW_REPLICAS.join(', ')}`);
  if (!PEER_WEIGHTINGS.includes(o.peerWeighting)) throw new ExperimentError('BadOption', `peerWeighting must be one of ${PEER_WEIGHTINGS.join(', ')}`);
  if (!GROUP_MODES.includes(o.groupMode)) throw new ExperimentError('BadOption', `groupMode must be one of ${GROUP_MODES.join(', ')}`);
  if (o.rows !== undefined && (o.rows.length === 0 || o.rows.some((r) => !HETERO_ROWS.includes(r)))) {
    throw new ExperimentError('BadOption', `rows must be a non-empty subset of ${HETERO_ROWS.join(', ')}`);
  }
}

export type HeteroData = Dataset | TokenCorpus;

/** Every row's SparseLoCo settings: the defaults with the run's outer lr, peer weighting and top-k. */
function rowSparseLoCo(o: HeteroOptions): SparseLoCoConfig {
  return { ...DEFAULT_SPARSELOCO, outerLr: o.outerLr, peerWeighting: o.peerWeighting, ...(o.topk === undefined ? {} : { topk: o.topk }) };
}

export async function runHetero(o: HeteroOptions, source: HeteroData, onProgress: (e: HeteroProgress) => void = () => {}): Promise<HeteroResult> {
  validateHeteroOptions(o);
  const streamOptions = { seqLen: o.seqLen, batchSize: o.batchSize, seed: o.seed };
  const data: ExperimentData = source instanceof Dataset ? new DatasetStreams(source, streamOptions) : new CorpusStreams(source, streamOptions);
  if (data.vocabSize > o.model.vocabSize) throw new ExperimentError('BadOption', `data vocabulary ${data.vocabSize} exceeds the model's ${o.model.vocabSize}`);
  const heldOut = data.heldOutBatches(o.heldOutBatches);
  const formula = {
    uncompressed: groupActivationBytesPerStep(o.model, o.stages, o.batchSize, o.seqLen, o.microBatches, o.model.dim),
    compressed: groupActivationBytesPerStep(o.model, o.stages, o.batchSize, o.seqLen, o.microBatches, o.rank),
  };
  const rows: HeteroRowResult[] = [];
  for (const kind of o.rows ?? HETERO_ROWS) {
    onProgress({ kind: 'start', row: kind });
    rows.push(await runRow(kind, o, data, heldOut, formula, onProgress));
  }
  const { model, ...rest } = o;
  return {
    model: model.name,
    params: countParams(model),
    data: { description: data.description, trainTokens: data.trainTokens, heldOutTokens: data.heldOutTokens },
    options: { ...rest, model: model.name },
    activationBytesFormula: formula,
    rows,
    checks: heteroChecks(rows),
  };
}

export const SELECTIVE_MAX_GAP = 0.02;

export function heteroChecks(rows: readonly HeteroRowResult[]): HeteroChecks {
  const loss = (k: HeteroRowKind): number | undefined => rows.find((r) => r.kind === k)?.finalLoss;
  const full = loss('full'), sel = loss('selective'), all = loss('all-compressed'), mixed = loss('mixed-speed'), drop = loss('drop-slow');
  const gap = full !== undefined && sel !== undefined ? sel / full - 1 : null;
  return {
    selectiveGap: gap,
    selectiveWithin2Pct: gap === null ? null : gap <= SELECTIVE_MAX_GAP,
    selectiveBeatsAllCompressed: sel !== undefined && all !== undefined ? sel < all : null,
    mixedBeatsDropSlow: mixed !== undefined && drop !== undefined ? mixed < drop : null,
  };
}

async function runRow(
  kind: HeteroRowKind,
  o: HeteroOptions,
  data: ExperimentData,
  heldOut: readonly Batch[],
  formula: { readonly uncompressed: number; readonly compressed: number },
  onProgress: (e: HeteroProgress) => void,
): Promise<HeteroRowResult> {
  const t0 = performance.now();
  const replicas = rowReplicas(kind);
  const totalInner = o.rounds * o.innerSteps;
  const sim = new HeteroSparseLoCoSim(o.model, {
    replicas,
    stages: o.stages,
    innerSteps: o.innerSteps,
    microBatches: o.microBatches,
    schedule: { lr: o.innerLr, warmupSteps: o.warmupSteps, cosineSteps: totalInner - o.warmupSteps },
    maxGradNorm: o.maxGradNorm,
    adamw: { weightDecay: o.weightDecay },
    rank: o.rank,
    groupMode: o.groupMode,
    seed: o.seed,
    sparseloco: rowSparseLoCo(o),
    ...(o.slowReplicas === undefined ? {} : { slowReplicas: o.slowReplicas }),
    threads: o.threads,
  });
  try {
    const steps = replicas.map((r) => innerStepsAtSpeed(r.speed ?? 1, o.innerSteps));
    const curve: HeteroCurvePoint[] = [];
    const trainLoss: number[] = [];
    let tokens = 0;
    let payload = 0;
    let actBytes: number | null = null;
    let stepsTaken: readonly number[] = steps;
    const evaluate = (round: number): void => {
      const point = { round, tokens, loss: sim.evalLoss(heldOut) };
      curve.push(point);
      onProgress({ kind: 'eval', row: kind, ...point });
    };
    evaluate(0);
    for (let round = 1; round <= o.rounds; round++) {
      const batches = steps.map((h, r) => data.roundBatches(r, round - 1, h));
      const res = await sim.round(batches);
      trainLoss.push(res.trainLoss);
      stepsTaken = res.contributions.map((c) => c.innerSteps);
      for (const c of res.contributions) {
        tokens += c.tokens;
        payload = Math.max(payload, c.payloadBytes);
        if (c.kind === 'group') {
          const want = c.compressed ? formula.compressed : formula.uncompressed;
          if (c.activationBytesPerStep !== want) {
            throw new ExperimentError('BadOption', `replica ${c.uid} measured ${c.activationBytesPerStep} activation bytes per step, the formula says ${want}`);
          }
          actBytes = Math.max(actBytes ?? 0, c.activationBytesPerStep);
        }
      }
      if (round % o.evalEvery === 0 || round === o.rounds) evaluate(round);
    }
    const hasCompressed = replicas.some((r) => r.kind === 'group' && r.compressed !== false);
    const seconds = (performance.now() - t0) / 1000;
    onProgress({ kind: 'done', row: kind, seconds });
    return {
      kind,
      label: rowLabel(kind, o),
      replicas,
      innerStepsPerRound: stepsTaken,
      tokens,
      finalLoss: curve[curve.length - 1].loss,
      groupViewLoss: sim.groupViewLoss(heldOut),
      curve,
      trainLoss,
      pseudoGradientBytes: payload,
      activationBytesPerStep: actBytes,
      activationCompressionRatio: hasCompressed && actBytes !== null ? formula.uncompressed / actBytes : null,
      seconds,
    };
  } finally {
    sim.dispose();
  }
}
