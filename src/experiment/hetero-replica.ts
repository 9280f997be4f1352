/**
 * The two kinds of replica of a heterogeneous SparseLoCo run, behind one interface the simulation drives:
 *
 * - `FullReplica`: one node holding the whole model (an unsplit `LlamaModel`, time-shared by every full replica of
 *   the run; each keeps its own AdamW state).
 * - `GroupReplica`: a pipeline group, S `Stage`s wired by an `InProcessPipeline` and run on the GPipe schedule
 *   (the real pipeline code), each stage with its own AdamW on its own flat buffers. With compression its
 *   boundaries carry subspace coordinates (rank r) and, in the constrained modes, the group keeps its copy of the
 *   model a subspace network: it re-projects the round's start (`projectParams`), projects every gradient
 *   (`projectGradients`) and re-projects after every AdamW step.
 *
 * Both take an inner step the same way, so that a group without compression computes bit for bit what a full
 * replica computes: the batch is cut into M micro-batches (whole rows), the gradient norm is the square root of a
 * sum of per-tensor sums of squares (tensor boundaries are the same whole or split, where a flat-buffer sum's chunks
 * are not), clipping and AdamW follow. A full replica accumulates M unscaled micro-batch gradients and folds 1/M into
 * the norm and the AdamW gradient scale; the pipeline seeds each micro-batch with 1/M. With M a power of two both
 * are exact, hence equal.
 */
import type { Batch } from '../model/batch.ts';
import type { ModelConfig } from '../model/config.ts';
import type { LlamaModel, ParamLayoutEntry } from '../model/llama.ts';
import { splitBatch } from '../model/batch.ts';
import type { StageSpec } from '../model/stages.ts';
import { AdamW, type AdamWConfig } from '../optim/adamw.ts';
import { clipCoefficient } from '../optim/clip.ts';
import { ParamVector } from '../optim/baselines/index.ts';
import { InProcessPipeline, stageValuesFromModel } from '../pipeline/pipeline.ts';
import { microBatch } from '../pipeline/schedule.ts';
import { Stage } from '../pipeline/stage.ts';
import { perpEmbedding, SubspaceConstraint } from '../pipeline/subspace.ts';
import type { Backend, Buf } from '../tensor/backend.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { ExperimentError } from './errors.ts';

/**
 * How a compressed group treats the subspace constraint (docs/hetero.md, "Groups and the constraint"; the
 * experiment's default is `refresh`, the best of the three measured):
 * - `constrained`: the group re-projects the round's start onto the subspace network with the run's initial Eperp
 *   and trains constrained; its pseudo-gradient is taken from that projected start;
 * - `refresh`: as `constrained`, but Eperp is recomputed each round from the global model's embedding (every node
 *   has the aggregated model), so the projection only touches o_proj / down_proj;
 * - `lossy`: no constraint at all; the boundaries project anyway (c Uᵀ + Eperp[token] with the initial Eperp), a
 *   lossy compression whose exact gradients the group follows; its pseudo-gradient is taken from the global model.
 */
export type GroupMode = 'constrained' | 'refresh' | 'lossy';
export const GROUP_MODES: readonly GroupMode[] = ['constrained', 'refresh', 'lossy'];

/** The subspace every compressed group of a run shares. */
export interface RunSubspace {
  /** orthonormal [dim, rank] (subspaceBasis) */
  readonly basis: Float64Array;
  /** Eperp of the run's initial embedding */
  readonly eperp: Float64Array;
}

export interface InnerStepOptions {
  readonly microBatches: number;
  readonly maxGradNorm: number;
  readonly adamw: AdamWConfig;
}

export interface InnerStepResult {
  readonly loss: number;
  /** activation bytes the group's boundaries carried this step, as frames (0 for a full replica) */
  readonly activationBytes: number;
}

export interface ReplicaWorker {
  readonly kind: 'full' | 'group';
  readonly compressed: boolean;
  /** Loads the round's global model; returns where this round's inner steps start (Δ is taken against it). */
  load(global: readonly ParamTensor[]): readonly ParamTensor[];
  /** One inner step at learning rate lr. */
  step(batch: Batch, lr: number): Promise<InnerStepResult>;
  /** The replica's current parameters, full-model order (float32 views). */
  params(): readonly ParamTensor[];
  /** Mean loss of what is loaded (the group: through its own, possibly compressed, boundaries), forward only. */
  evalLoss(batches: readonly Batch[]): number;
  dispose(): void;
}

function checkMicroBatches(m: number): void {
  if (!(Number.isInteger(m) && m >= 1 && (m & (m - 1)) === 0)) {
    throw new ExperimentError('BadOption', `microBatches must be a power of two (exact 1/M scaling), got ${m}`);
  }
}

/** Σ over tensors of the sum of squares of that tensor's gradient: the same number for a whole model or its stages. */
function tensorwiseSquares(backend: Backend, grads: Buf, layout: readonly ParamLayoutEntry[]): number {
  let s = 0;
  for (const e of layout) s += backend.sum(backend.sub(grads, e.offset, e.size), true);
  return s;
}

function checkFinite(loss: number, norm: number): void {
  if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
    throw new ExperimentError('Diverged', `inner step diverged: loss ${loss}, gradient norm ${norm} (lower the inner lr)`);
  }
}

/** A full replica: borrows the shared model's buffers while it trains, keeps its own AdamW moments. */
export class FullReplica implements ReplicaWorker {
  readonly kind = 'full';
  readonly compressed = false;
  private readonly opt: AdamW;
  private readonly start: ParamVector;

  constructor(readonly model: LlamaModel, private readonly o: InnerStepOptions) {
    checkMicroBatches(o.microBatches);
    this.opt = new AdamW(model.backend, model.flat.params, model.flat.grads, model.flat.layout, o.adamw);
    this.start = ParamVector.copyOf(model.parameters());
  }

  load(global: readonly ParamTensor[]): readonly ParamTensor[] {
    this.start.copyFrom(global);
    this.start.copyTo(this.model.parameters());
    return this.start.tensors;
  }

  async step(batch: Batch, lr: number): Promise<InnerStepResult> {
    const M = this.o.microBatches;
    let loss = 0;
    for (let m = 0; m < M; m++) loss += this.model.lossAndGrad(microBatch(batch, m, M), { accumulate: m > 0 });
    loss /= M;
    const norm = Math.sqrt(tensorwiseSquares(this.model.backend, this.model.flat.grads, this.model.flat.layout)) / M;
    checkFinite(loss, norm);
    this.opt.step(lr, clipCoefficient(norm, this.o.maxGradNorm) / M);
    return { loss, activationBytes: 0 };
  }

  params(): readonly ParamTensor[] {
    return this.model.parameters();
  }

  evalLoss(batches: readonly Batch[]): number {
    let s = 0;
    for (const b of batches) s += this.model.loss(b);
    return s / batches.length;
  }

  dispose(): void {
    this.opt.dispose();
  }
}

export interface GroupReplicaOptions extends InnerStepOptions {
  readonly specs: readonly StageSpec[];
  /** null: the boundaries carry the residual stream as it is */
  readonly subspace: RunSubspace | null;
  readonly mode: GroupMode;
  readonly threads?: number;
}

/** A pipeline group: S stages on the GPipe schedule, one AdamW per stage. */
export class GroupReplica implements ReplicaWorker {
  readonly kind = 'group';
  readonly compressed: boolean;
  readonly pipeline: InProcessPipeline;
  private readonly opts: AdamW[];
  private readonly start: ParamVector;
  private readonly config: ModelConfig;
  private constraint: SubspaceConstraint | null;

  /** `init`: a model holding the run's initial parameters (only read). */
  constructor(init: LlamaModel, private readonly o: GroupReplicaOptions) {
    checkMicroBatches(o.microBatches);
    this.config = init.config;
    this.compressed = o.subspace !== null;
    const sub = o.subspace;
    this.pipeline = new InProcessPipeline(
      o.specs.map(
        (sp) =>
          new Stage(init.config, sp, stageValuesFromModel(init, sp), {
            threads: o.threads,
            compression: sub === null ? null : { basis: sub.basis, eperp: sub.eperp },
          }),
      ),
    );
    this.opts = this.pipeline.stages.map((st) => new AdamW(st.backend, st.flat.params, st.flat.grads, st.flat.layout, o.adamw));
    this.start = ParamVector.copyOf(this.params());
    this.constraint = sub === null || o.mode === 'lossy' ? null : new SubspaceConstraint(init.config, sub.basis, sub.eperp);
  }

  /** Whether the group keeps its model a subspace network (compressed, not lossy). */
  get constrained(): boolean {
    return this.constraint !== null;
  }

  load(global: readonly ParamTensor[]): readonly ParamTensor[] {
    this.start.copyFrom(global);
    const sub = this.o.subspace;
    if (sub !== null && this.o.mode === 'refresh') {
      const embed = global[0];
      if (embed.name !== 'model.embed_tokens.weight') throw new ExperimentError('BadOption', `the first parameter is ${embed.name}, not the embedding`);
      const eperp = perpEmbedding(embed.data, sub.basis, this.config.dim);
      this.constraint = new SubspaceConstraint(this.config, sub.basis, eperp);
      for (const st of this.pipeline.stages) st.setPerpEmbedding(eperp);
    }
    if (this.constraint !== null) this.constraint.projectParams(this.start.tensors);
    this.start.copyTo(this.params());
    return this.start.tensors;
  }

  async step(batch: Batch, lr: number): Promise<InnerStepResult> {
    const res = await this.pipeline.runStep(batch, this.o.microBatches);
    let squares = 0;
    for (const st of this.pipeline.stages) {
      if (this.constraint !== null) this.constraint.projectGradients(st.gradients());
      squares += tensorwiseSquares(st.backend, st.flat.grads, st.flat.layout);
    }
    const norm = Math.sqrt(squares);
    checkFinite(res.loss, norm);
    const scale = clipCoefficient(norm, this.o.maxGradNorm);
    this.pipeline.stages.forEach((st, i) => {
      this.opts[i].step(lr, scale);
      if (this.constraint !== null) this.constraint.projectParams(st.parameters());
    });
    let bytes = 0;
    for (const t of res.traffic) bytes += t.forwardBytes + t.backwardBytes;
    return { loss: res.loss, activationBytes: bytes };
  }

  params(): readonly ParamTensor[] {
    return this.pipeline.stages.flatMap((st) => st.paramTensors());
  }

  evalLoss(batches: readonly Batch[]): number {
    let s = 0;
    for (const b of batches) s += pipelineLoss(this.pipeline.stages, b, this.config);
    return s / batches.length;
  }

  dispose(): void {
    for (const o of this.opts) o.dispose();
    this.pipeline.dispose();
  }
}

/** The mean loss of one batch through the stages, forward only (one micro-batch). */
export function pipelineLoss(stages: readonly Stage[], batch: Batch, config: ModelConfig): number {
  const { inputs, targets } = splitBatch(batch, config);
  const base = { mb: 0, batchSize: batch.batchSize, seqLen: batch.seqLen, inputs, targets };
  let acts: Float32Array | Float64Array | null = null;
  try {
    for (const st of stages) {
      st.beginStep();
      const out = st.forward({ ...base, acts });
      if (out.kind === 'loss') return out.loss;
      acts = out.acts;
    }
  } finally {
    for (const st of stages) st.endStep();
  }
  throw new ExperimentError('BadOption', 'the last stage returned no loss');
}
