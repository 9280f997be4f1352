/**
 * Heterogeneous SparseLoCo with simulated replicas (issue 12; Obeidi et al., arXiv 2601.02360): a replica is a
 * full node or a pipeline group (hetero-replica.ts), possibly slower than the others. SparseLoCo works per stage:
 * replica m's pseudo-gradient Δ_{s,m} = θ_{s,start} − θ_{s,m} for each stage s of the run's split, its own error
 * feedback per stage, chunked top-k and 2-bit quantisation, and the per-stage outer step. A full replica holds
 * every stage. The payload a replica sends is its stages' compressed tensors concatenated, which is exactly the
 * whole model's schema (a stage's parameters are whole, contiguous tensors), so it goes through the real encoder
 * and decoder, and each stage's outer step aggregates only what the decoder accepted for that stage.
 *
 * Speeds: a replica of speed v completes max(1, ⌊v·H⌋) inner steps in a round's window (equal wall-clock); its
 * learning rate follows the run's schedule by round (step n·H + j at its j-th step of round n), so a slow replica
 * is not behind in its schedule, only in its steps. Each payload's metadata states the samples its replica trained, as
 * a miner's does, and the outer step weighs the peers as the network does: `sparseloco.peerWeighting` (default
 * `claimed-samples`, protocol/peer-weights.ts; `equal` is Templar's unweighted rule).
 */
import { createGradientSchema, decodePeerPayloads, encodeGradient, type GradientMessage, type GradientSchema, type PeerPayload } from '../codec/index.ts';
import type { Batch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import { createModel, type LlamaModel } from '../model/llama.ts';
import { splitModel, type StageSpec } from '../model/stages.ts';
import { DEFAULT_ADAMW, type AdamWConfig } from '../optim/adamw.ts';
import { ParamVector } from '../optim/baselines/index.ts';
import { lrAt, type LrScheduleConfig } from '../optim/schedule.ts';
import {
  applyOuterStep,
  DEFAULT_SPARSELOCO,
  ErrorFeedback,
  outerStepOptions,
  pseudoGradient,
  validateSparseLoCoConfig,
  type CompressedTensor,
  type OuterStepOptions,
  type PeerUpdate,
  type SparseLoCoConfig,
} from '../optim/sparseloco/index.ts';
import { boundaryStepBytes } from '../pipeline/messages.ts';
import { perpEmbedding, subspaceBasis } from '../pipeline/subspace.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { encodeGradientMeta, weightedOuterStepOptions, type ClaimWeightingVariant } from '../protocol/index.ts';
import { ExperimentError } from './errors.ts';
import { FullReplica, GroupReplica, type GroupMode, type ReplicaWorker, type RunSubspace } from './hetero-replica.ts';

export interface ReplicaSpec {
  readonly kind: 'full' | 'group';
  /** group only: subspace-compressed boundaries (default true) */
  readonly compressed?: boolean;
  /** share of a full-speed replica's inner steps it completes per round (default 1) */
  readonly speed?: number;
}

export interface HeteroSimOptions {
  readonly replicas: readonly ReplicaSpec[];
  /** S: stages of every group, and the stages SparseLoCo works per */
  readonly stages: number;
  /** H: a full-speed replica's inner steps per round */
  readonly innerSteps: number;
  /** micro-batches per inner step, for every replica (a power of two) */
  readonly microBatches: number;
  readonly schedule: LrScheduleConfig;
  readonly maxGradNorm: number;
  readonly adamw?: Partial<AdamWConfig>;
  /** subspace rank of compressed boundaries */
  readonly rank: number;
  readonly groupMode: GroupMode;
  /** model init seed; the subspace basis is drawn from seed + 1 */
  readonly seed: number;
  /** overrides of DEFAULT_SPARSELOCO; `peerWeighting` decides how the peers' claimed samples weigh in the outer step */
  readonly sparseloco?: Partial<SparseLoCoConfig>;
  /** with `peerWeighting: 'claimed-samples'`: how the claims enter the outer step (default CLAIMED_WORK; measurements) */
  readonly claimWeighting?: ClaimWeightingVariant;
  /** how a slow replica spends its share of a window's samples (default `fewer-steps`, what a miner does; SlowReplicas) */
  readonly slowReplicas?: SlowReplicas;
  readonly threads?: number;
}

/** What one replica put into a round (its payload claims `samples`, which the outer step weighs under claimed-samples). */
export interface ReplicaContribution {
  readonly uid: number;
  readonly kind: 'full' | 'group';
  readonly compressed: boolean;
  readonly innerSteps: number;
  readonly tokens: number;
  /** samples (sequences) trained, what its payload's metadata claims */
  readonly samples: number;
  /** the encoded pseudo-gradient payload's length */
  readonly payloadBytes: number;
  /** activation bytes per inner step over all the group's boundaries, measured (0 for a full replica) */
  readonly activationBytesPerStep: number;
}

export interface HeteroRoundResult {
  /** mean inner training loss over every step of every replica */
  readonly trainLoss: number;
  readonly contributions: readonly ReplicaContribution[];
}

/**
 * How a replica of speed v < 1 trains the stepsOf(r)·B samples it manages in a window (equal wall-clock):
 * `fewer-steps` takes ⌊v·H⌋ steps of the full batch B (a miner cut short by its step budget);
 * `smaller-batches` takes up to H steps of fewer rows (the same samples, the whole window's trajectory length and lr
 * schedule, each step's gradient from fewer samples): smallerBatchShape.
 */
export type SlowReplicas = 'fewer-steps' | 'smaller-batches';
export const SLOW_REPLICAS: readonly SlowReplicas[] = ['fewer-steps', 'smaller-batches'];

/**
 * Steps and rows per step for `samples` samples under `smaller-batches`: rows a multiple of the micro-batches (at least
 * one per micro-batch), as close to samples / H as that allows, and as many whole steps of them as the samples fill
 * (at most H).
 */
export function smallerBatchShape(samples: number, innerSteps: number, microBatches: number): { steps: number; rows: number } {
  const rows = Math.max(microBatches, Math.floor(samples / innerSteps / microBatches) * microBatches);
  return { steps: Math.max(1, Math.min(innerSteps, Math.floor(samples / rows))), rows: Math.min(rows, samples) };
}

/** `steps` batches of `rows` rows each, cut in order from the rows of `batches` (which must hold enough of them). */
export function recutBatches(batches: readonly Batch[], rows: number, steps: number): Batch[] {
  const seqLen = batches[0].seqLen;
  const row = seqLen + 1;
  const total = batches.reduce((n, b) => n + b.batchSize, 0);
  if (rows * steps > total) throw new ExperimentError('BadOption', `${steps} batches of ${rows} rows need ${rows * steps} rows, given ${total}`);
  const tokens = new Int32Array(total * row);
  const masked = batches.some((b) => b.targetMask !== undefined);
  const mask = masked ? new Uint8Array(total * seqLen).fill(1) : null;
  let at = 0;
  for (const b of batches) {
    if (b.seqLen !== seqLen) throw new ExperimentError('BadOption', 'batches of different sequence lengths');
    tokens.set(b.tokens, at * row);
    if (mask !== null && b.targetMask !== undefined) mask.set(b.targetMask, at * seqLen);
    at += b.batchSize;
  }
  return Array.from({ length: steps }, (_, j) => ({
    tokens: tokens.slice(j * rows * row, (j + 1) * rows * row),
    batchSize: rows,
    seqLen,
    ...(mask === null ? {} : { targetMask: mask.slice(j * rows * seqLen, (j + 1) * rows * seqLen) }),
  }));
}

/** Inner steps a replica of speed v completes in a round of H full-speed steps. */
export function innerStepsAtSpeed(speed: number, innerSteps: number): number {
  return Math.max(1, Math.floor(speed * innerSteps + 1e-9));
}

/** The run's subspace: basis from seed + 1, Eperp of the initial embedding. */
export function runSubspace(config: ModelConfig, rank: number, seed: number, initEmbedding: Float32Array): RunSubspace {
  const basis = subspaceBasis({ dim: config.dim, rank, seed: seed + 1 });
  return { basis, eperp: perpEmbedding(initEmbedding, basis, config.dim) };
}

/**
 * Exact activation bytes one group sends per inner step (all boundaries, both directions, whole frames) for a batch
 * of batchSize × seqLen tokens in M micro-batches; width is the subspace rank when compressed, dim otherwise.
 */
export function groupActivationBytesPerStep(config: ModelConfig, stages: number, batchSize: number, seqLen: number, microBatches: number, width: number): number {
  return (stages - 1) * boundaryStepBytes((batchSize / microBatches) * seqLen, microBatches, width, 4);
}

export function validateHeteroSimOptions(o: HeteroSimOptions, config: ModelConfig): void {
  if (o.replicas.length < 1 || o.replicas.length > 256) throw new ExperimentError('BadOption', `1 to 256 replicas, got ${o.replicas.length}`);
  for (const [i, r] of o.replicas.entries()) {
    if (r.kind !== 'full' && r.kind !== 'group') throw new ExperimentError('BadOption', `replica ${i}: kind must be full or group`);
    const v = r.speed ?? 1;
    if (!(Number.isFinite(v) && v > 0 && v <= 1)) throw new ExperimentError('BadOption', `replica ${i}: speed must be in (0, 1], got ${v}`);
    if (r.kind === 'full' && r.compressed === true) throw new ExperimentError('BadOption', `replica ${i}: a full replica has no boundary to compress`);
  }
  const ints = { stages: o.stages, innerSteps: o.innerSteps, microBatches: o.microBatches, rank: o.rank } as const;
  for (const [k, v] of Object.entries(ints)) {
    if (!Number.isInteger(v) || v < 1) throw new ExperimentError('BadOption', `${k} must be a positive integer, got ${v}`);
  }
  if (o.slowReplicas !== undefined && !SLOW_REPLICAS.includes(o.slowReplicas)) throw new ExperimentError('BadOption', `slowReplicas must be one of ${SLOW_REPLICAS.join(', ')}`);
  if (o.stages < 2 && o.replicas.some((r) => r.kind === 'group')) throw new ExperimentError('BadOption', 'a pipeline group needs 2 stages at least');
  if (o.stages > config.nLayers) throw new ExperimentError('BadOption', `${o.stages} stages for ${config.nLayers} layers`);
  if (o.rank > config.dim) throw new ExperimentError('BadOption', `rank ${o.rank} exceeds the model dim ${config.dim}`);
  if (!(o.maxGradNorm > 0)) throw new ExperimentError('BadOption', 'maxGradNorm must be positive');
}

export class HeteroSparseLoCoSim {
  readonly config: SparseLoCoConfig;
  readonly specs: readonly StageSpec[];
  readonly schema: GradientSchema;
  readonly global: ParamVector;
  readonly subspace: RunSubspace | null;
  readonly workers: readonly ReplicaWorker[];
  /** the model full replicas time-share (and the unsplit evaluator) */
  readonly model: LlamaModel;
  /** Outer rounds completed (the payloads' window). */
  rounds = 0;
  /** The last round's encoded payloads, one per replica (what went on the wire). */
  lastPayloads: readonly PeerPayload[] = [];
  /** The last round's pseudo-gradients Δ (before error feedback), one list per replica, full-model order. */
  lastDeltas: readonly (readonly ParamTensor[])[] = [];
  private readonly feedback: ErrorFeedback[][];
  private disposed = false;

  constructor(
    readonly modelConfig: ModelConfig,
    readonly options: HeteroSimOptions,
  ) {
    validateHeteroSimOptions(options, modelConfig);
    this.config = { ...DEFAULT_SPARSELOCO, ...options.sparseloco };
    validateSparseLoCoConfig(this.config);
    this.specs = splitModel(modelConfig, options.stages);
    const workers: ReplicaWorker[] = [];
    this.workers = workers;
    this.model = createModel(modelConfig, { seed: options.seed, threads: options.threads });
    try {
      const params = this.model.parameters();
      this.global = ParamVector.copyOf(params);
      this.schema = createGradientSchema(params, this.config);
      const compressedGroups = options.replicas.some((r) => r.kind === 'group' && r.compressed !== false);
      this.subspace = compressedGroups ? runSubspace(modelConfig, options.rank, options.seed, params[0].data) : null;
      const inner = { microBatches: options.microBatches, maxGradNorm: options.maxGradNorm, adamw: { ...DEFAULT_ADAMW, ...options.adamw } };
      for (const r of options.replicas) {
        workers.push(
          r.kind === 'full'
            ? new FullReplica(this.model, inner)
            : new GroupReplica(this.model, {
                ...inner,
                specs: this.specs,
                subspace: r.compressed === false ? null : this.subspace,
                mode: options.groupMode,
                threads: options.threads,
              }),
        );
      }
      this.feedback = options.replicas.map(() => this.specs.map((s) => ErrorFeedback.zeros(this.stageSlice(this.global.tensors, s))));
    } catch (e) {
      for (const w of workers) w.dispose();
      this.model.dispose();
      throw e;
    }
  }

  /** Inner steps replica r takes per round. */
  stepsOf(r: number): number {
    return innerStepsAtSpeed(this.options.replicas[r].speed ?? 1, this.options.innerSteps);
  }

  /** What replica r trains this round from its stepsOf(r) batches: them, or (`smaller-batches`) their rows re-cut. */
  private trainedBatches(r: number, batches: readonly Batch[]): readonly Batch[] {
    if ((this.options.slowReplicas ?? 'fewer-steps') === 'fewer-steps' || batches.length === this.options.innerSteps) return batches;
    const samples = batches.reduce((n, b) => n + b.batchSize, 0);
    const { steps, rows } = smallerBatchShape(samples, this.options.innerSteps, this.options.microBatches);
    return recutBatches(batches, rows, steps);
  }

  private stageSlice<T>(list: readonly T[], s: StageSpec): T[] {
    return list.slice(s.firstParam, s.endParam);
  }

  /** One round: `batches[r]` holds replica r's stepsOf(r) batches. */
  async round(batches: readonly (readonly Batch[])[]): Promise<HeteroRoundResult> {
    this.check();
    const R = this.workers.length;
    if (batches.length !== R) throw new ExperimentError('BadOption', `a round needs batches for ${R} replicas, got ${batches.length}`);
    const window = this.rounds;
    const payloads: PeerPayload[] = [];
    const deltas: ParamTensor[][] = [];
    const contributions: ReplicaContribution[] = [];
    let lossSum = 0;
    let steps = 0;
    for (let r = 0; r < R; r++) {
      const w = this.workers[r];
      const want = this.stepsOf(r);
      if (batches[r].length !== want) throw new ExperimentError('BadOption', `replica ${r} takes ${want} inner steps this round, given ${batches[r].length} batches`);
      const start = w.load(this.global.tensors);
      const trained = this.trainedBatches(r, batches[r]);
      let tokens = 0;
      let samples = 0;
      let actBytes = 0;
      for (const [j, b] of trained.entries()) {
        const res = await w.step(b, lrAt(this.options.schedule, window * this.options.innerSteps + j));
        lossSum += res.loss;
        steps++;
        tokens += b.batchSize * b.seqLen;
        samples += b.batchSize;
        actBytes = Math.max(actBytes, res.activationBytes);
      }
      const delta = pseudoGradient(start, w.params());
      const tensors: CompressedTensor[] = [];
      this.specs.forEach((s, si) => tensors.push(...this.feedback[r][si].step(this.stageSlice(delta, s), this.config)));
      const meta = encodeGradientMeta({ window, sampleDigest: '0'.repeat(32), sampleCount: this.options.innerSteps * batches[r][0].batchSize, samples });
      const bytes = encodeGradient({ uid: r, window, globalStep: window, nullRound: false, meta, tensors }, this.schema);
      payloads.push({ uid: r, bytes });
      deltas.push(delta);
      contributions.push({ uid: r, kind: w.kind, compressed: w.compressed, innerSteps: trained.length, tokens, samples, payloadBytes: bytes.length, activationBytesPerStep: actBytes });
    }
    const { accepted, rejected } = decodePeerPayloads(payloads, this.schema, { expectWindow: window });
    if (rejected.length > 0) {
      const first = rejected[0];
      throw new ExperimentError('BadOption', `own payload of replica ${first.uid} rejected: ${first.error.code} ${first.error.message}`);
    }
    this.aggregate(accepted, this.options.innerSteps * batches[0][0].batchSize);
    this.rounds++;
    this.lastPayloads = payloads;
    this.lastDeltas = deltas;
    return { trainLoss: lossSum / steps, contributions };
  }

  /**
   * The per-stage outer step over the accepted payloads, the peers weighed as on the network (outerStepOptions):
   * under `claimed-samples` by the samples their metadata claims over the window's step budget `maxSamples`.
   */
  private aggregate(accepted: readonly GradientMessage[], maxSamples: number): void {
    const opts = this.outerStepOptions(accepted, maxSamples);
    for (const s of this.specs) {
      const peers: PeerUpdate[] = accepted.map((m) => ({ uid: m.uid, tensors: this.stageSlice(m.tensors, s) }));
      applyOuterStep(this.stageSlice(this.global.tensors, s), peers, opts);
    }
  }

  /** The outer step's options for these messages: the config's, with the peer weights its peerWeighting gives them. */
  outerStepOptions(accepted: readonly GradientMessage[], maxSamples: number): OuterStepOptions {
    return weightedOuterStepOptions(outerStepOptions(this.config), this.config, accepted, maxSamples, this.options.claimWeighting);
  }

  /** The run's model: the global θ unsplit when some replica is full; otherwise what the groups run. */
  evalLoss(batches: readonly Batch[]): number {
    this.check();
    const full = this.workers.find((w) => w.kind === 'full');
    if (full !== undefined) {
      full.load(this.global.tensors);
      return full.evalLoss(batches);
    }
    return this.groupViewLoss(batches)!;
  }

  /** The global θ as a (compressed, where there is one) group loads and runs it; null without groups. */
  groupViewLoss(batches: readonly Batch[]): number | null {
    this.check();
    const group = this.workers.find((w) => w.kind === 'group' && w.compressed) ?? this.workers.find((w) => w.kind === 'group');
    if (group === undefined) return null;
    group.load(this.global.tensors);
    return group.evalLoss(batches);
  }

  /** Replica r's error-feedback buffers, full-model order. */
  errorFeedback(r: number): readonly ParamTensor[] {
    return this.feedback[r].flatMap((f) => [...f.buffers]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const w of this.workers) w.dispose();
    this.model.dispose();
  }

  private check(): void {
    if (this.disposed) throw new ExperimentError('Disposed', 'heterogeneous SparseLoCo simulation was disposed');
  }
}
