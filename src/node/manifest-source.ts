/**
 * Finds window w's manifest the way every node must: the posts (LastModified of `aggregator-{w}`) in the buckets of
 * the ranked validators, and of other validator-like neurons so that their posts are seen and reported, judged by
 * the slot rule of protocol/manifest-slots.ts against the chain's block timestamps. An ignored post is reported once
 * (`manifestIgnored`).
 */
import type { Chain, Metagraph } from '../chain/types.ts';
import { aggregatorKey, resolveManifestSlot, validatorRanking, type ManifestPost, type ProtocolParams, type SlotResolution } from '../protocol/index.ts';
import type { ObjectStore } from '../storage/index.ts';
import type { NodeEvents } from './events.ts';

/** The window's manifest as everyone applies it: in `store`, the bucket of `uid`, posted in `slot`. */
export interface AcceptedManifest {
  readonly status: 'accepted';
  readonly uid: number;
  readonly slot: number;
  readonly store: ObjectStore;
}

export type ManifestLookup = AcceptedManifest | Extract<SlotResolution, { status: 'pending' }>;

/** What the lookup reads. */
export interface ManifestSourceAccess {
  readonly p: ProtocolParams;
  metagraph(): Promise<Metagraph>;
  /** Whether the hotkey has a bucket commitment (a neuron without one cannot have posted). */
  hasCommitment(hotkey: string): boolean;
  bucketOf(uid: number): Promise<ObjectStore | null>;
  readonly chain: Pick<Chain, 'currentBlock' | 'blockTimestamp'>;
}

const MAX_CACHED_TIMESTAMPS = 4096;

export class ManifestSource {
  private readonly timestamps = new Map<number, number>();
  private readonly reported = new Set<string>();

  constructor(private readonly access: ManifestSourceAccess, private readonly events: NodeEvents) {}

  async lookUp(w: number): Promise<ManifestLookup> {
    const p = this.access.p;
    const metagraph = await this.access.metagraph();
    const ranked = validatorRanking(metagraph);
    const ranking = ranked.map((n) => n.uid);
    const others = metagraph.neurons.filter((n) => !ranking.includes(n.uid) && (n.validatorPermit || n.stake > p.maxMinerStake));
    const key = aggregatorKey(w, p.version);
    const posts: ManifestPost[] = [];
    const stores = new Map<number, ObjectStore>();
    const candidates = [...ranked, ...others].filter((n) => this.access.hasCommitment(n.hotkey));
    const found = await Promise.all(
      candidates.map(async ({ uid }) => {
        const store = await this.access.bucketOf(uid);
        const info = store === null ? null : await store.head(key);
        return info === null || store === null ? null : { uid, store, lastModifiedMs: info.lastModified.getTime() };
      }),
    );
    for (const f of found) {
      if (f === null) continue;
      stores.set(f.uid, f.store);
      posts.push({ uid: f.uid, lastModifiedMs: f.lastModifiedMs });
    }
    const head = await this.access.chain.currentBlock();
    const clock = {
      latestBlock: head.number,
      timestampOf: async (block: number) => (block === head.number ? head.timestampMs : this.timestampOf(block)),
    };
    const r = await resolveManifestSlot(w, ranking, posts, clock, p);
    for (const x of r.ignored) {
      const post = posts.find((q) => q.uid === x.uid);
      const id = `${w}/${x.uid}/${post?.lastModifiedMs}`;
      if (this.reported.has(id)) continue;
      if (this.reported.size >= MAX_CACHED_TIMESTAMPS) this.reported.clear();
      this.reported.add(id);
      this.events.emit('manifestIgnored', { window: w, uid: x.uid, slot: x.slot, owner: x.owner, reason: x.reason });
    }
    if (r.status === 'pending') return r;
    return { status: 'accepted', uid: r.uid, slot: r.slot, store: stores.get(r.uid)! };
  }

  private async timestampOf(block: number): Promise<number> {
    let t = this.timestamps.get(block);
    if (t === undefined) {
      t = await this.access.chain.blockTimestamp(block);
      if (this.timestamps.size >= MAX_CACHED_TIMESTAMPS) this.timestamps.clear();
      this.timestamps.set(block, t);
    }
    return t;
  }
}
