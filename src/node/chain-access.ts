/**
 * What a node needs from the chain and the stores around it: the clock (blocks → windows), the leader, uid ↔ hotkey,
 * and every peer's bucket opened from its on-chain commitment (read credentials), with optional fault injection.
 */
import type { Chain, Metagraph, NeuronInfo } from '../chain/types.ts';
import { findLeader, validatorRanking } from '../protocol/leader.ts';
import { windowOfBlock, type ProtocolParams } from '../protocol/index.ts';
import {
  credentialsFromCommitment,
  FaultyStore,
  isStoreError,
  openStore,
  RetryingStore,
  type BucketCredentials,
  type CommitmentLocation,
  type ObjectStore,
} from '../storage/index.ts';
import { peerLocation } from './backend.ts';
import type { FaultSettings } from './config/network.ts';
import { silentEvents, type NodeEvents } from './events.ts';
import { ManifestSource, type ManifestLookup } from './manifest-source.ts';
import { TesseraError } from '../core/errors.ts';

/** Thrown from a node's waits once it was asked to stop; its run loop ends quietly on it. */
export class NodeStopped extends TesseraError<'Stopped'> {
  override readonly name = 'NodeStopped';
  constructor(message: string) {
    super('Stopped', message);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wraps a store with the network's fault settings (FaultyStore) and retries (RetryingStore). */
export function wrapStore(store: ObjectStore, faults: FaultSettings, seed: number): ObjectStore {
  const faulty = faults.failureRate > 0 || faults.latencyMs > 0
    ? new FaultyStore(store, { failureRate: faults.failureRate, latencyMs: faults.latencyMs > 0 ? { min: 0, max: faults.latencyMs } : undefined, seed, timing: 'either' })
    : store;
  return new RetryingStore(faulty, { maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 1000, attemptTimeoutMs: 30_000 });
}

export interface StopSignal {
  readonly stopped: boolean;
}

export class ChainAccess {
  private meta: Metagraph | null = null;
  private metaAt = 0;
  private commitments: Map<string, string> = new Map();
  private stores = new Map<string, ObjectStore>();
  private readonly peers: CommitmentLocation;
  private faultSeed = 1;
  /** Commitments already reported unusable (`commitmentInvalid` is emitted once per uid and commitment). */
  private readonly reportedCommitments = new Set<string>();
  private readonly manifests: ManifestSource;

  /** `peers`: a filesystem store root, or where committed buckets live (see backend.ts `peerLocation`). */
  constructor(
    readonly chain: Chain,
    readonly p: ProtocolParams,
    peers: string | CommitmentLocation,
    private readonly faults: FaultSettings,
    private readonly stop: StopSignal,
    private readonly events: NodeEvents = silentEvents,
  ) {
    this.peers = typeof peers === 'string' ? peerLocation(peers, undefined) : peers;
    this.manifests = new ManifestSource(this, events);
  }

  async block(): Promise<number> {
    return (await this.chain.currentBlock()).number;
  }

  async window(): Promise<number> {
    return windowOfBlock(await this.block(), this.p);
  }

  checkStop(): void {
    if (this.stop.stopped) throw new NodeStopped('stopping');
  }

  async sleep(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      this.checkStop();
      await sleep(Math.min(100, end - Date.now()));
    }
    this.checkStop();
  }

  /** Resolves once the chain reaches `block`. */
  async waitForBlock(block: number): Promise<number> {
    for (;;) {
      this.checkStop();
      const b = await this.block();
      if (b >= block) return b;
      await this.sleep(Math.max(20, Math.min(this.p.blockTimeMs / 2, (block - b) * this.p.blockTimeMs * 0.5)));
    }
  }

  async metagraph(maxAgeMs = 2_000): Promise<Metagraph> {
    if (this.meta === null || Date.now() - this.metaAt > maxAgeMs) {
      this.meta = await this.chain.metagraph();
      this.commitments = await this.chain.commitments();
      this.metaAt = Date.now();
    }
    return this.meta;
  }

  /** Whether the hotkey has published a bucket commitment (as of the last metagraph refresh). */
  hasCommitment(hotkey: string): boolean {
    return this.commitments.has(hotkey);
  }

  async leader(): Promise<NeuronInfo | null> {
    return findLeader(await this.metagraph());
  }

  async uidOf(hotkey: string): Promise<number | null> {
    const m = await this.metagraph(0);
    return m.neurons.find((n) => n.hotkey === hotkey)?.uid ?? null;
  }

  async neuron(uid: number): Promise<NeuronInfo | null> {
    return (await this.metagraph()).neurons.find((n) => n.uid === uid) ?? null;
  }

  /** The uid's bucket (read credentials from its commitment); null without a valid commitment. */
  async bucketOf(uid: number): Promise<ObjectStore | null> {
    let n = await this.neuron(uid);
    let c = n ? this.commitments.get(n.hotkey) : undefined;
    if (c === undefined) {
      await this.metagraph(0);
      n = await this.neuron(uid);
      c = n ? this.commitments.get(n.hotkey) : undefined;
    }
    if (n === null || c === undefined) return null;
    let creds: BucketCredentials;
    const cacheKey = `${uid}:${c}`;
    try {
      creds = credentialsFromCommitment(c, this.peers);
    } catch (err) {
      if (!isStoreError(err)) throw err;
      if (!this.reportedCommitments.has(cacheKey)) {
        this.reportedCommitments.add(cacheKey);
        this.events.emit('commitmentInvalid', { uid, reason: err.message });
      }
      return null;
    }
    let s = this.stores.get(cacheKey);
    if (s === undefined) {
      s = wrapStore(openStore(creds), this.faults, this.faultSeed++);
      this.stores.set(cacheKey, s);
    }
    return s;
  }

  /** Window w's manifest by the slot rule (protocol/manifest-slots.ts): the one to apply, or pending. */
  async manifestFor(w: number): Promise<ManifestLookup> {
    return this.manifests.lookUp(w);
  }

  /** The ranked validators' buckets in leading order (those without a usable commitment left out). */
  async rankedBuckets(): Promise<{ uid: number; store: ObjectStore }[]> {
    const out: { uid: number; store: ObjectStore }[] = [];
    for (const n of validatorRanking(await this.metagraph())) {
      const store = await this.bucketOf(n.uid);
      if (store !== null) out.push({ uid: n.uid, store });
    }
    return out;
  }

  async leaderBucket(): Promise<{ uid: number; store: ObjectStore } | null> {
    const l = await this.leader();
    if (l === null) return null;
    const store = await this.bucketOf(l.uid);
    return store === null ? null : { uid: l.uid, store };
  }
}
