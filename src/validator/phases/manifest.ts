/**
 * Phase "post the manifest": which uploads window w aggregates — the leader's peer list in effect (gather peers,
 * failed slots refilled from the reserves in order) or, before the first list, every miner — and the aggregator
 * manifest naming exactly those payloads (uid order, size, sha256). Every validator builds it; one posts it in its
 * slot (phases/lead.ts).
 */
import {
  gradientKey,
  KEY_PREFIX,
  latestWindowOf,
  makeAggregatorManifest,
  parsePeerList,
  peersKey,
  type AggregatorManifest,
  type PeerList,
} from '../../protocol/index.ts';
import { listAll, type ObjectStore } from '../../storage/index.ts';
import type { NodeEvents } from '../../node/events.ts';
import type { Gathered, GatheredOk } from '../gather.ts';

export interface ManifestInput {
  readonly window: number;
  readonly version: string;
  /** Miner uids, ascending. */
  readonly miners: readonly number[];
  readonly gathered: ReadonlyMap<number, Gathered>;
  readonly copiers: ReadonlySet<number>;
  /** The leader's peer list in effect for the window; null before the first. */
  readonly peerList: PeerList | null;
  readonly gatherPeerCount: number;
  /** Uids not to aggregate although received: naughty-listed or quarantined (validator/quarantine.ts). */
  readonly isBarred: (uid: number) => boolean;
}

export interface ManifestResult {
  /** Every uid tried, in trying order. */
  readonly attempted: readonly number[];
  /** The gather tier: the peer list's gather peers, or before the first list every uid tried. */
  readonly gatherList: readonly number[];
  /** Uids tried whose upload arrived on time and valid (copiers and barred uids included: they were received). */
  readonly received: readonly number[];
  /** Uids tried whose upload did not arrive on time and valid. */
  readonly skipped: readonly number[];
  /** The uids aggregated, ascending. */
  readonly succeeded: readonly number[];
  /** The manifest naming exactly the succeeded payloads (built on every validator: any may have to post it). */
  readonly manifest: AggregatorManifest;
}

export function buildManifest(input: ManifestInput): ManifestResult {
  const { window: w, version, copiers, peerList } = input;
  const usable = new Map<number, GatheredOk>();
  for (const g of input.gathered.values()) if (g.status === 'ok') usable.set(g.uid, g);
  const candidates = peerList === null ? input.miners : [...peerList.peers, ...peerList.reservePeers];
  const want = peerList === null ? input.gatherPeerCount : Math.min(input.gatherPeerCount, peerList.peers.length);
  const attempted: number[] = [];
  const chosen: GatheredOk[] = [];
  for (const uid of candidates) {
    if (chosen.length >= want) break;
    attempted.push(uid);
    const g = usable.get(uid);
    if (g !== undefined && !copiers.has(uid) && !input.isBarred(uid)) chosen.push(g);
  }
  chosen.sort((a, b) => a.uid - b.uid);
  const succeeded = chosen.map((g) => g.uid);
  const gatherList = peerList === null ? attempted : peerList.peers;
  const received = attempted.filter((u) => usable.has(u));
  const skipped = attempted.filter((u) => !usable.has(u));
  const sets = { attempted, gatherList, received, skipped, succeeded };
  const entries = chosen.map((g) => ({ uid: g.uid, key: gradientKey(w, g.uid, version), size: g.payload.bytes.length, sha256: g.payload.sha256 }));
  const skippedUids = attempted.filter((u) => !succeeded.includes(u)).sort((a, b) => a - b);
  const manifest = makeAggregatorManifest({ window: w, version, entries, skippedUids });
  return { ...sets, manifest };
}

export interface PeerListSource {
  leaderBucket(): Promise<{ readonly store: ObjectStore } | null>;
}

/** The leading validator's peer list in effect for window w; null when there is none yet or it cannot be read (reported). */
export async function readPeerList(source: PeerListSource, w: number, version: string, events: NodeEvents): Promise<PeerList | null> {
  const leader = await source.leaderBucket();
  if (leader === null) return null;
  const keys = (await listAll(leader.store, KEY_PREFIX.peers)).map((o) => o.key);
  const at = latestWindowOf(keys, 'peers', version, w);
  if (at === null) return null;
  try {
    return parsePeerList(await leader.store.get(peersKey(at, version), { maxBytes: 1 << 20 }), { expectedFirstEffectiveWindow: at });
  } catch (err) {
    events.emit('peerListError', { window: w, error: (err as Error).message });
    return null;
  }
}
