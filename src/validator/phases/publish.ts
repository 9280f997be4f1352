/**
 * Phase "publish": weights on the chain every windowsPerWeights windows after warm-up (every validator); the
 * leader's peer list when a replacement is due and a checkpoint at checkpoint steps.
 */
import type { Metagraph } from '../../chain/types.ts';
import {
  encodePeerList,
  isCheckpointStep,
  isPeerReplacementDue,
  isWeightsWindow,
  peersKey,
  versionKey,
  type PeerList,
  type ProtocolParams,
} from '../../protocol/index.ts';
import type { ObjectStore } from '../../storage/index.ts';
import type { NodeEvents } from '../../node/events.ts';
import { eligiblePeers, incentives, SeededRng, selectPeerList, type GauntletScorer, type WeightVector } from '../scoring/index.ts';

export interface PublishWeightsInput {
  readonly window: number;
  readonly warmup: boolean;
  readonly params: ProtocolParams;
  readonly scorer: Pick<GauntletScorer, 'weights'>;
  readonly setWeights: (uids: number[], weights: number[], versionKey: number) => Promise<void>;
  readonly events: NodeEvents;
}

/** The weights of a weights window (posted when any uid has one; a failure is reported, not thrown); else null. */
export async function publishWeights(input: PublishWeightsInput): Promise<WeightVector | null> {
  const { window: w, params: p } = input;
  if (!isWeightsWindow(w, p) || input.warmup) return null;
  const weights = input.scorer.weights(p);
  if (weights.uids.length > 0) {
    try {
      await input.setWeights(weights.uids, weights.weights, versionKey(p.version));
    } catch (err) {
      input.events.emit('setWeightsFailed', { window: w, error: (err as Error).message });
    }
  }
  return weights;
}

/** What the leader reads from the chain for a peer list. */
export interface PeerListChain {
  /** Fresh (maxAgeMs 0). */
  metagraph(maxAgeMs: number): Promise<Metagraph>;
  window(): Promise<number>;
}

export interface PublishLeaderInput {
  readonly window: number;
  readonly params: ProtocolParams;
  /** Window of the last peer list this leader posted; null before the first. */
  readonly lastPeerListWindow: number | null;
  readonly activeUids: readonly number[];
  /** The validator's weights from its current scores (Templar's `self.weights`, recomputed every window, not only on weights windows). */
  readonly weights: WeightVector;
  /** Left out of the peer list: the scorer's selection exclusions and the leader's own uid. */
  readonly excludedUids: readonly number[];
  readonly chain: PeerListChain;
  /** The leader's own bucket. */
  readonly store: Pick<ObjectStore, 'put'>;
  readonly events: NodeEvents;
}

export interface PublishLeaderResult {
  /** The peer list posted in this window, if any. */
  readonly peerList: PeerList | null;
}

export async function publishLeaderDocuments(input: PublishLeaderInput): Promise<PublishLeaderResult> {
  const { window: w, params: p } = input;
  const peerList = isPeerReplacementDue(w, input.lastPeerListWindow, p) ? await postPeerList(input) : null;
  return { peerList };
}

/**
 * Every validator checkpoints at checkpoint steps (not only the leader), so a node that bootstraps can fall back
 * from the highest-stake validator's checkpoint to the next one's. Returns whether it saved.
 */
export async function saveCheckpointIfDue(input: { readonly params: ProtocolParams; readonly applied: boolean; readonly globalStep: number; readonly saveCheckpoint: () => Promise<void> }): Promise<boolean> {
  const due = input.applied && isCheckpointStep(input.globalStep, input.params);
  if (due) await input.saveCheckpoint();
  return due;
}

async function postPeerList(input: PublishLeaderInput): Promise<PeerList | null> {
  const { window: w, params: p, weights } = input;
  const metagraph = await input.chain.metagraph(0);
  const eligible = eligiblePeers({ metagraph, activeUids: input.activeUids, excludedUids: input.excludedUids }, p);
  // Templar's `create_and_post_peers`: on-chain incentive only for the first list (`select_initial_peers`), the
  // validator's own weights afterwards (`select_next_peers`).
  const initial = input.lastPeerListWindow === null;
  const values = initial ? incentives(metagraph) : new Map(weights.uids.map((u, i) => [u, weights.weights[i]]));
  const list = selectPeerList(
    { currentWindow: await input.chain.window(), syncWindow: w, initial, values, eligible, rng: new SeededRng(`peers/${w}`) },
    p,
  );
  if (list === null) return null;
  await input.store.put(peersKey(list.firstEffectiveWindow, p.version), encodePeerList(list));
  input.events.emit('peerList', { window: w, firstEffectiveWindow: list.firstEffectiveWindow, peers: list.peers, reserves: list.reservePeers });
  return list;
}
