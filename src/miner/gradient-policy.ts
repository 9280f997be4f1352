/**
 * The points where a miner's behaviour may differ from the protocol, as one policy the miner calls: whether the
 * replica follows the network before a window's training, which tensors are sent after warm-up, and what is uploaded
 * (and when) once the window's deadline is known. The honest policy is `honestPolicy`; dishonest ones exist only for
 * local networks and tests (src/net/adversaries.ts).
 */
import type { GradientMessage, GradientSchema } from '../codec/index.ts';
import type { Metagraph } from '../chain/types.ts';
import type { NodeEvents } from '../node/events.ts';
import type { CompressedTensor, CompressionConfig } from '../optim/sparseloco/index.ts';
import type { UploadDeadline } from '../protocol/index.ts';
import type { ObjectStore } from '../storage/index.ts';
import type { ParamTensor } from '../tensor/params.ts';

/** 'ready': the replica is at θ_w, train window w; 'notReady': skip to the next loop turn (not synced in time). */
export type FollowOutcome = 'ready' | 'notReady';

/** The replica's position as a policy may see and set it. */
export interface ReplicaPosition {
  lastApplied: number;
}

/** One window's inner training: Δ = θ_w − θ_H (θ_w is restored), the mean loss and the steps taken. */
export interface TrainedDelta {
  readonly delta: ParamTensor[];
  readonly loss: number;
  readonly steps: number;
}

/** How a dishonest policy bends one window's training; omitted fields: the protocol's. */
export interface TrainOptions {
  /** At most this many inner steps (default H). */
  readonly steps?: number;
  /** Sample indices to train on instead of the assigned pool (batch s is pool[s·B, (s+1)·B)). */
  readonly pool?: readonly number[];
}

/** The honest gradient pipeline of one window after warm-up, for a policy to use. */
export interface GradientSource {
  readonly window: number;
  /** θ_w (read only: a policy must not change the replica's parameters). */
  readonly params: readonly ParamTensor[];
  readonly compression: CompressionConfig;
  /** H, the protocol's inner steps per window. */
  readonly innerSteps: number;
  /** The window's assigned sample indices (H batches). */
  readonly pool: readonly number[];
  /** H inner steps on the assigned samples (fewer when the window's time runs out). */
  train(o?: TrainOptions): Promise<TrainedDelta>;
  /** Error feedback + top-k compression of a pseudo-gradient (updates the error-feedback buffers). */
  compress(delta: readonly ParamTensor[]): CompressedTensor[];
  /** An all-zero update (resets the error-feedback buffers). */
  nullRound(): CompressedTensor[];
}

/** Read access to the other nodes, as the miner sees them. */
export interface PeerAccess {
  metagraph(maxAgeMs?: number): Promise<Metagraph>;
  bucketOf(uid: number): Promise<ObjectStore | null>;
}

/** What a policy knows when the window's upload is due (the boundary block is there, so is the deadline). */
export interface UploadContext {
  readonly window: number;
  readonly uid: number;
  readonly warmup: boolean;
  readonly deadline: UploadDeadline;
  readonly version: string;
  readonly schema: GradientSchema;
  readonly maxPayloadBytes: number;
  readonly peers: PeerAccess;
  readonly events: NodeEvents;
  /** Waits (ends early with NodeStopped when the miner is stopped). */
  sleep(ms: number): Promise<void>;
}

/** The message to upload; `evenIfLate`: upload it after the deadline too (an honest miner drops a late upload). */
export interface Outgoing {
  readonly msg: GradientMessage;
  readonly evenIfLate?: boolean;
}

export interface GradientPolicy {
  /** Reported in the miner's 'registered' event: the dishonest behaviour's name, null for an honest miner. */
  readonly adversary: string | null;
  /** Brings the replica to θ_w before window w's training; `followNetwork` is the protocol's way. */
  follow(w: number, replica: ReplicaPosition, followNetwork: () => Promise<FollowOutcome>): Promise<FollowOutcome>;
  /** The tensors to send for a window after warm-up. */
  produce(source: GradientSource): Promise<CompressedTensor[]>;
  /** Called every window at its boundary, once the upload deadline is known: what to upload (it may wait first), or null for nothing. */
  outgoing(draft: GradientMessage, ctx: UploadContext): Promise<Outgoing | null>;
}

/** The protocol's miner: follows the network, trains and compresses, uploads its own message in time. */
export const honestPolicy: GradientPolicy = {
  adversary: null,
  follow: (_w, _replica, followNetwork) => followNetwork(),
  produce: async (source) => source.compress((await source.train()).delta),
  outgoing: async (draft) => ({ msg: draft }),
};
