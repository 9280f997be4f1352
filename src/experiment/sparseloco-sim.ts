/**
 * SparseLoCo with R simulated replicas, end to end through the wire format: each round every replica takes H inner
 * AdamW steps from the global θ, folds its pseudo-gradient into its error feedback (β), compresses (chunked top-k,
 * 2-bit quantization), and ENCODES the result into the real gradient payload. The outer step consumes only what
 * the decoder accepts from those bytes (median-norm clipping, per-index mean, SGD lr), so the bytes counted are
 * exactly the bytes that carried the update.
 *
 * Overlapped (`overlap: true`, beyond Templar; Streaming DiLoCo / DiLoCoX's one-step-delayed outer update): round r's
 * inner steps start from θ_{r−1}, the global model BEFORE round r−1's outer step, because that step is still in
 * flight (its payloads are being uploaded, gathered and applied while the replicas compute). The pseudo-gradient is
 * Δ_r = θ_{r−1} − θ_end (relative to where training started), goes through error feedback, compression and the wire
 * format exactly as in the plain variant, and its outer step is applied to the current θ_r:
 * θ_{r+1} = θ_r − lr·agg(Δ_r). What is delayed: the starting point of the inner steps (one outer step stale), hence the
 * update is applied one step after the model it was computed at. Round 0 trains from θ_0 (θ_{−1} := θ_0).
 *
 * Remedies for the staleness (`overlapRemedy`), none of which changes how θ is formed from the payloads:
 * - 'none': as above.
 * - 'current': Δ_r = θ_r − θ_end, the current global model against the replica's end point (the outer step pulls θ_r
 *   toward where the replicas got, as Streaming DiLoCo mixes local and global parameters).
 * - 'eager': replica i starts from its own estimate of θ_r, θ_{r−1} with only its own round r−1 payload applied
 *   (Kale et al. 2025, "eager updates": the local outer gradient stands in for the one still in flight), and
 *   Δ_r = start − θ_end. Replicas then start from different points; θ stays the same on every node.
 * - 'eager-current': the eager start with Δ_r = θ_r − θ_end (the estimate's error, the others' part of the last
 *   outer step that the replica's start lacks, is taken out of its pseudo-gradient).
 *
 * Landing mid-round (`overlapLandsAfter: k`, remedies 'none' and 'eager'): the step in flight lands after k of the H
 * inner steps, as on the network when communication takes k/H of the compute time. The replica then shifts its
 * parameters by what its start lacked (θ_r − start) and trains the other H − k steps from there, and Δ_r = θ_r − θ_end
 * (the inner steps' own progress: the shift cancels). k = H is the plain one-step delay; k = 0 would be SparseLoCo.
 */
import {
  createGradientSchema,
  decodePeerPayloads,
  encodeGradient,
  type GradientMessage,
  type GradientSchema,
  type PeerPayload,
} from '../codec/index.ts';
import type { Batch } from '../model/batch.ts';
import type { Model } from '../model/llama.ts';
import {
  BaselineError,
  meanLoss,
  ParamVector,
  ReplicaPool,
  roundShape,
  type RoundResult,
  type SimulatedMethod,
} from '../optim/baselines/index.ts';
import type { InnerTrainerOptions } from '../optim/inner-trainer.ts';
import {
  applyOuterStep,
  DEFAULT_SPARSELOCO,
  type OuterStepOptions,
  ErrorFeedback,
  outerStepOptions,
  pseudoGradient,
  validateSparseLoCoConfig,
  type SparseLoCoConfig,
} from '../optim/sparseloco/index.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { encodeGradientMeta, weightedOuterStepOptions, type ClaimWeightingVariant } from '../protocol/index.ts';

export interface SparseLoCoSimOptions {
  readonly replicas: number;
  readonly inner: InnerTrainerOptions;
  /** Overrides of DEFAULT_SPARSELOCO (Templar: top-64 of 64×64 chunks, 4 bins, β 0.95, lr 0.4, selected-mean). */
  readonly sparseloco?: Partial<SparseLoCoConfig>;
  /** Row label (default "sparseloco", or "sparseloco-overlap" with `overlap`). */
  readonly name?: string;
  /** One-step-delayed outer update: round r trains from θ_{r−1} (see the file comment). */
  readonly overlap?: boolean;
  /** Overlapped only: the staleness remedy (see the file comment; default 'none'). */
  readonly overlapRemedy?: OverlapRemedy;
  /** Overlapped only: inner steps trained before the outer step in flight lands (default: all of them). */
  readonly overlapLandsAfter?: number;
  /**
   * Peers of different speed: replica r trains only the first innerSteps[r] (1..H) of its H batches each round, its
   * inner-lr schedule kept at round·H as a miner's is, and its payload's metadata states the samples it trained (what
   * `sparseloco.peerWeighting: 'claimed-samples'` weighs). Absent: every replica trains all H, with no claim.
   */
  readonly innerSteps?: readonly number[];
  /** With `peerWeighting: 'claimed-samples'`: how the claims enter the outer step (default CLAIMED_WORK; measurements). */
  readonly claimWeighting?: ClaimWeightingVariant;
}

export type OverlapRemedy = 'none' | 'current' | 'eager' | 'eager-current';
export const OVERLAP_REMEDIES: readonly OverlapRemedy[] = ['none', 'current', 'eager', 'eager-current'];

export class SparseLoCoSim implements SimulatedMethod {
  readonly name: string;
  readonly replicas: number;
  readonly config: SparseLoCoConfig;
  readonly schema: GradientSchema;
  readonly global: ParamVector;
  /** Overlapped: θ_{r−1}, where the next round's inner steps start; null for the plain variant. */
  readonly previous: ParamVector | null;
  readonly overlapRemedy: OverlapRemedy;
  readonly overlapLandsAfter: number | null;
  /** Eager: each replica's own accepted message of the last round, and the scratch vector its start is built in. */
  private ownLast: readonly GradientMessage[] | null = null;
  private readonly eagerStart: ParamVector | null;
  /** Outer rounds completed (the payloads' window number). */
  rounds = 0;
  /** The encoded payloads of the last round, one per replica (what went on the wire). */
  lastPayloads: readonly PeerPayload[] = [];
  private readonly pool: ReplicaPool;
  private readonly feedback: ErrorFeedback[];
  private readonly innerSteps: readonly number[] | null;
  private readonly claimWeighting: ClaimWeightingVariant | undefined;
  private disposed = false;

  constructor(
    readonly model: Model,
    options: SparseLoCoSimOptions,
  ) {
    this.name = options.name ?? (options.overlap === true ? 'sparseloco-overlap' : 'sparseloco');
    this.replicas = options.replicas;
    this.config = { ...DEFAULT_SPARSELOCO, ...options.sparseloco };
    validateSparseLoCoConfig(this.config);
    const params = model.parameters();
    this.global = ParamVector.copyOf(params);
    this.previous = options.overlap === true ? ParamVector.copyOf(params) : null;
    this.overlapRemedy = options.overlapRemedy ?? 'none';
    this.overlapLandsAfter = options.overlap === true ? (options.overlapLandsAfter ?? null) : null;
    const k = this.overlapLandsAfter;
    if (k !== null && (!Number.isInteger(k) || k < 1)) throw new BaselineError('BadOption', `overlapLandsAfter must be a positive integer, got ${k}`);
    if (k !== null && (this.overlapRemedy === 'current' || this.overlapRemedy === 'eager-current')) {
      throw new BaselineError('BadOption', `overlapLandsAfter works with the remedies none and eager (Δ is taken against θ_r already), not ${this.overlapRemedy}`);
    }
    const eager = this.overlapRemedy === 'eager' || this.overlapRemedy === 'eager-current';
    this.eagerStart = this.previous !== null && eager ? ParamVector.copyOf(params) : null;
    this.schema = createGradientSchema(params, this.config);
    this.feedback = Array.from({ length: options.replicas }, () => ErrorFeedback.zeros(params));
    this.innerSteps = options.innerSteps ?? null;
    this.claimWeighting = options.claimWeighting;
    if (this.innerSteps !== null && (this.innerSteps.length !== options.replicas || this.innerSteps.some((n) => !Number.isInteger(n) || n < 1))) {
      throw new BaselineError('BadOption', `innerSteps needs ${options.replicas} positive integers, got ${JSON.stringify(this.innerSteps)}`);
    }
    this.pool = new ReplicaPool(model, options.replicas, options.inner);
  }

  round(batches: readonly (readonly Batch[])[]): RoundResult {
    this.check();
    const h = roundShape(batches, this.replicas);
    if (h < 0) throw new BaselineError('BadBatches', `a round needs ${this.replicas} equal, non-empty batch lists`);
    const window = this.rounds;
    let lossSum = 0;
    let stepsTaken = 0;
    const payloads: PeerPayload[] = [];
    const rows = batches[0][0].batchSize;
    for (let r = 0; r < this.replicas; r++) {
      const start = this.replicaStart(r);
      const current = this.overlapRemedy === 'current' || this.overlapRemedy === 'eager-current';
      const landsAfter = this.previous !== null && this.overlapLandsAfter !== null && this.overlapLandsAfter < h ? this.overlapLandsAfter : null;
      const against = this.previous !== null && (current || landsAfter !== null) ? this.global : start;
      const steps = Math.min(h, this.innerSteps?.[r] ?? h);
      if (this.innerSteps !== null) this.pool.setStep(r, window * h);
      const trained = batches[r].slice(0, steps);
      if (landsAfter === null || landsAfter >= steps) {
        for (const l of this.pool.runInner(r, start, trained)) lossSum += l;
        if (landsAfter !== null) this.land(start);
      } else {
        for (const l of this.pool.runInner(r, start, trained.slice(0, landsAfter))) lossSum += l;
        this.land(start);
        for (const l of this.pool.continueInner(r, trained.slice(landsAfter))) lossSum += l;
      }
      stepsTaken += steps;
      const delta = pseudoGradient(against.tensors, this.model.parameters());
      const tensors = this.feedback[r].step(delta, this.config);
      const meta = this.innerSteps === null ? new Uint8Array(0) : encodeGradientMeta({ window, sampleDigest: '0'.repeat(32), sampleCount: h * rows, samples: steps * rows });
      const bytes = encodeGradient({ uid: r, window, globalStep: window, nullRound: false, meta, tensors }, this.schema);
      payloads.push({ uid: r, bytes });
    }
    const { accepted, rejected } = decodePeerPayloads(payloads, this.schema, { expectWindow: window });
    if (rejected.length > 0) {
      const first = rejected[0];
      throw new BaselineError('ShapeMismatch', `own payload of replica ${first.uid} rejected: ${first.error.code} ${first.error.message}`);
    }
    // overlapped: the next round starts from θ_r (this round's target) while θ_{r+1} is being formed
    this.previous?.copyFrom(this.global.tensors);
    applyOuterStep(this.global.tensors, accepted, this.outerOptions(accepted, h * rows));
    this.ownLast = accepted;
    this.rounds++;
    this.lastPayloads = payloads;
    return {
      trainLoss: lossSum / stepsTaken,
      bytesSentPerReplica: Math.max(...payloads.map((p) => p.bytes.length)),
    };
  }

  /** The outer step in flight lands mid-round: the model's parameters move by θ_r − start. */
  private land(start: ParamVector): void {
    const g = this.global.tensors;
    const s = start.tensors;
    this.model.parameters().forEach((p, i) => {
      const gi = g[i].data;
      const si = s[i].data;
      const d = p.data;
      for (let j = 0; j < d.length; j++) d[j] += gi[j] - si[j];
    });
  }

  /** The outer step's options, with the peers' weights from their claims under `claimed-samples`. */
  private outerOptions(accepted: readonly GradientMessage[], maxSamples: number): OuterStepOptions {
    return weightedOuterStepOptions(outerStepOptions(this.config), this.config, accepted, maxSamples, this.claimWeighting);
  }

  /** Where the next round's inner steps start: θ_r, or θ_{r−1} when overlapped (before any eager estimate). */
  trainStart(): ParamVector {
    return this.previous ?? this.global;
  }

  /** Replica r's start this round: trainStart(), or with 'eager' θ_{r−1} plus its own last payload's outer step. */
  private replicaStart(r: number): ParamVector {
    const base = this.trainStart();
    const own = this.ownLast?.find((m) => m.uid === r);
    if (this.eagerStart === null || own === undefined) return base;
    this.eagerStart.copyFrom(base.tensors);
    applyOuterStep(this.eagerStart.tensors, [own], outerStepOptions(this.config));
    return this.eagerStart;
  }

  globalParams(): readonly ParamTensor[] {
    return this.global.tensors;
  }

  evalLoss(batches: readonly Batch[]): number {
    this.check();
    this.global.copyTo(this.model.parameters());
    return meanLoss(this.model, batches);
  }

  /** Replica r's error-feedback buffers (for inspection). */
  errorFeedback(r: number): readonly ParamTensor[] {
    return this.feedback[r].buffers;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.pool.dispose();
  }

  private check(): void {
    if (this.disposed) throw new BaselineError('Disposed', 'SparseLoCo simulation was disposed');
  }
}
