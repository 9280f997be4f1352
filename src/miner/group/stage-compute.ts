/**
 * What one stage node of a group computes for its own run of parameters, whatever its place in the pipeline: the
 * stage itself (src/pipeline/stage.ts), its share of the network model (SliceReplica), its inner optimizer (AdamW on
 * the stage's flat buffers, clipped by the group's global gradient norm), its error feedback and compression, and —
 * with compressed boundaries — the subspace constraint.
 *
 * Canonical θ and the group's working copy. The slice always holds canonical θ_w between windows (what every replica
 * holds), so the outer step keeps it bit-identical to the network. With subspace compression the group can only train
 * a constrained model (o_proj/down_proj in span(U), the embedding's part outside span(U) fixed to Eperp), which
 * canonical θ_w — moved by unconstrained full replicas — is not. A window therefore starts from the working copy
 * P(θ_w) and the pseudo-gradient is taken against that start, Δ = P(θ_w) − θ_end, never against θ_w: θ_w − θ_end
 * would carry θ_w − P(θ_w), a pull of every replica towards the group's subspace that no training produced. After the
 * inner steps the slice is restored to θ_w. Without compression P is the identity and this is the plain miner's rule.
 */
import { join } from 'node:path';
import { decodeErrorFeedback, encodeErrorFeedback } from '../../codec/index.ts';
import { isCodecError } from '../../codec/errors.ts';
import { readFileIfExists, writeFileAtomic } from '../../core/durable-write.ts';
import type { ModelConfig } from '../../model/config.ts';
import { splitModel, stageParamSpecs, type StageSpec } from '../../model/stages.ts';
import { AdamW, DEFAULT_ADAMW } from '../../optim/adamw.ts';
import { ErrorFeedback, pseudoGradient, type CompressedTensor } from '../../optim/sparseloco/index.ts';
import { stageInitValues } from '../../pipeline/pipeline.ts';
import { Stage, type StageCompression } from '../../pipeline/stage.ts';
import { perpEmbedding, SubspaceConstraint, subspaceBasis, subspaceDigest } from '../../pipeline/subspace.ts';
import { hasSparseKernels } from '../../tensor/backend.ts';
import { cloneParams, type ParamTensor } from '../../tensor/params.ts';
import type { NetworkConfig } from '../../node/config/network.ts';
import { modelOf } from '../../node/config/network.ts';
import type { NodeEvents } from '../../node/events.ts';
import type { GroupDoc } from './group-doc.ts';
import { SliceReplica } from './slice-replica.ts';

/** The boundary compression every stage of the group derives from the document and the run's init seed. */
export function groupCompression(config: ModelConfig, doc: GroupDoc, modelSeed: number): (StageCompression & { readonly digest: string }) | null {
  if (doc.rank === null) return null;
  const basis = subspaceBasis({ dim: config.dim, rank: doc.rank, seed: doc.subspaceSeed });
  const first = splitModel(config, doc.stageKeys.length, doc.boundaries)[0];
  const e0 = stageInitValues(config, first, modelSeed).subarray(0, config.vocabSize * config.dim);
  return { basis, eperp: perpEmbedding(e0, basis, config.dim), digest: subspaceDigest(basis) };
}

function l2(ts: readonly ParamTensor[], minus?: readonly ParamTensor[]): number {
  let s = 0;
  ts.forEach((t, i) => {
    const o = minus?.[i].data;
    for (let j = 0; j < t.data.length; j++) {
      const x = o === undefined ? t.data[j] : t.data[j] - o[j];
      s += x * x;
    }
  });
  return Math.sqrt(s);
}

export interface WindowDelta {
  readonly delta: ParamTensor[];
  /** ‖Δ‖ over the slice. */
  readonly deltaNorm: number;
  /** ‖θ_w − P(θ_w)‖ over the slice: what Δ would have carried had it been taken against θ_w (0 uncompressed). */
  readonly projectionNorm: number;
}

export class StageCompute {
  readonly config: ModelConfig;
  readonly spec: StageSpec;
  readonly stage: Stage;
  readonly replica: SliceReplica;
  readonly subspace: string | null;
  ef: ErrorFeedback;
  private readonly opt: AdamW;
  private readonly constraint: SubspaceConstraint | null;
  private canonical: ParamTensor[] | null = null;
  private from: ParamTensor[] | null = null;
  private efBefore: Float32Array[] | null = null;

  constructor(readonly net: NetworkConfig, readonly doc: GroupDoc, index: number, startWindow: number, private readonly events: NodeEvents) {
    this.config = modelOf(net);
    this.spec = splitModel(this.config, doc.stageKeys.length, doc.boundaries)[index];
    const comp = groupCompression(this.config, doc, net.modelSeed);
    this.subspace = comp?.digest ?? null;
    this.stage = new Stage(this.config, this.spec, stageInitValues(this.config, this.spec, net.modelSeed), { threads: 1, compression: comp });
    this.constraint = comp === null ? null : new SubspaceConstraint(this.config, comp.basis, comp.eperp);
    const be = this.stage.backend;
    const kernels = hasSparseKernels(be) ? be : undefined;
    this.replica = new SliceReplica(net, this.config, this.spec, this.stage.paramTensors(), startWindow, events, kernels);
    this.ef = ErrorFeedback.zeros(stageParamSpecs(this.config, this.spec), kernels);
    const t = net.train;
    this.opt = new AdamW(be, this.stage.flat.params, this.stage.flat.grads, this.stage.flat.layout, { ...DEFAULT_ADAMW, weightDecay: t.weightDecay, decayAll: t.decayAllParams ?? false });
  }

  get params(): readonly ParamTensor[] {
    return this.replica.params;
  }

  /** Starts a window's inner steps from θ_w (projected onto the constrained model when the boundaries are compressed). */
  begin(): void {
    this.canonical = cloneParams(this.params);
    if (this.constraint !== null) this.constraint.projectParams(this.stage.parameters());
    this.from = this.constraint === null ? this.canonical : cloneParams(this.params);
  }

  get training(): boolean {
    return this.canonical !== null;
  }

  /** After a pipeline step: the constrained model's gradients; returns their squared norm over the slice. */
  gradientSquares(): number {
    if (this.constraint !== null) this.constraint.projectGradients(this.stage.gradients());
    return this.stage.backend.sum(this.stage.flat.grads, true);
  }

  /** The AdamW update at `lr`, gradients scaled by the group's clip coefficient; re-projected when constrained. */
  applyStep(lr: number, gradScale: number): void {
    this.opt.step(lr, gradScale);
    if (this.constraint !== null) this.constraint.projectParams(this.stage.parameters());
  }

  /** Ends the window: Δ against where the steps started, and θ_w back in the slice. */
  finish(): WindowDelta {
    if (this.canonical === null || this.from === null) throw new Error('finish() without begin()');
    const delta = pseudoGradient(this.from, this.params);
    const projectionNorm = this.from === this.canonical ? 0 : l2(this.canonical, this.from);
    this.restore();
    return { delta, deltaNorm: l2(delta), projectionNorm };
  }

  /** Gives the window up: θ_w back in the slice. */
  restore(): void {
    const c = this.canonical;
    if (c !== null) this.params.forEach((p, i) => p.data.set(c[i].data));
    this.canonical = null;
    this.from = null;
  }

  /** Error feedback + compression of Δ; the buffers before it are kept until commit() or rollback(). */
  compress(delta: readonly ParamTensor[]): CompressedTensor[] {
    this.efBefore = this.ef.buffers.map((b) => b.data.slice());
    return this.ef.step(delta, this.net.sparseloco);
  }

  /** A null round's part (resets the error feedback, reversibly until commit()). */
  nullRound(): CompressedTensor[] {
    this.efBefore = this.ef.buffers.map((b) => b.data.slice());
    return this.ef.nullRound(this.net.sparseloco);
  }

  /** The group's payload was assembled: the error feedback's step stands. */
  commit(): void {
    this.efBefore = null;
  }

  /** The group's payload will not go out: the error feedback as it was before compress()/nullRound(). */
  rollback(): void {
    const b = this.efBefore;
    if (b !== null) this.ef.buffers.forEach((t, i) => t.data.set(b[i]));
    this.efBefore = null;
  }

  /** Saves the error feedback, then the slice and its state (with the node's own `extra` fields). */
  save(dir: string, extra: Record<string, unknown> = {}): void {
    writeFileAtomic(join(dir, 'ef.bin'), encodeErrorFeedback(this.ef));
    this.replica.saveLocal(dir, { ...extra, efWindow: this.replica.lastApplied });
  }

  /** Restores the slice and the error feedback saved at the same window; whether a slice was restored. */
  load(dir: string): boolean {
    const saved = this.replica.loadLocal(dir);
    if (saved === null) return false;
    const bytes = readFileIfExists(join(dir, 'ef.bin'));
    if (bytes !== null && saved.efWindow === saved.lastApplied) {
      try {
        const be = this.stage.backend;
        const restored = decodeErrorFeedback(bytes, stageParamSpecs(this.config, this.spec), hasSparseKernels(be) ? be : undefined);
        this.ef.dispose();
        this.ef = restored;
      } catch (err) {
        if (!isCodecError(err)) throw err;
        this.events.emit('efDiscarded', { path: join(dir, 'ef.bin'), reason: err.message });
      }
    }
    return true;
  }

  dispose(): void {
    this.ef.dispose();
    this.opt.dispose();
    this.stage.dispose();
  }
}
