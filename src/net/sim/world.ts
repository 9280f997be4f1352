/**
 * What every simulated node shares: the clock, the links, the chain, the buckets, the scenario's protocol and
 * payload sizes, the window timing, and the ledger that the window records are built from.
 */
import { uploadDeadline, windowStartBlock, type ProtocolParams, type UploadDeadline } from '../../protocol/index.ts';
import { SeededRng } from '../../validator/scoring/rng.ts';
import type { SimChain } from './chain.ts';
import type { VirtualClock } from './clock.ts';
import { mbpsToBytesPerMs, Port, SimEndpoint, type LinkModel } from './links.ts';
import type { PayloadSizes, RealPayloads } from './payloads.ts';
import type { NodeBytes } from './report.ts';
import type { Scenario } from './scenario.ts';
import { SimBucket, SimStore } from './store.ts';

/** One miner's round (window), as the report needs it. */
export interface MinerRound {
  computeMs: number;
  steps: number;
  /** When its inner steps ended (virtual ms); null: it did not train this window. */
  computeEnd: number | null;
  uploadStart: number | null;
  uploadMs: number | null;
  appliedAt: number | null;
  commCriticalMs: number | null;
  idleMs: number | null;
}

export interface LeaderRound {
  gatherMs: number;
  peers: number[];
  gathered: number[];
  reservesUsed: number[];
  downloaded: number;
  late: number[];
  missing: number;
  evaluated: number[];
  activeMiners: number;
}

export class Ledger {
  readonly bytes = new Map<number, Map<string, NodeBytes>>();
  readonly rounds = new Map<number, Map<string, MinerRound>>();
  readonly leader = new Map<number, LeaderRound>();
  readonly registered = new Map<number, number[]>();
  readonly skipped = new Map<number, number>();

  readonly late = new Map<number, number[]>();

  lateUpload(window: number, uid: number): void {
    const l = this.late.get(window);
    if (l === undefined) this.late.set(window, [uid]);
    else l.push(uid);
  }

  skip(window: number): void {
    this.skipped.set(window, (this.skipped.get(window) ?? 0) + 1);
  }

  add(window: number, node: string, direction: 'up' | 'down', bytes: number): void {
    let w = this.bytes.get(window);
    if (w === undefined) this.bytes.set(window, (w = new Map()));
    let n = w.get(node);
    if (n === undefined) w.set(node, (n = { in: 0, out: 0, requests: 0 }));
    n.requests++;
    if (direction === 'up') n.out += bytes;
    else n.in += bytes;
  }

  round(window: number, node: string): MinerRound {
    let w = this.rounds.get(window);
    if (w === undefined) this.rounds.set(window, (w = new Map()));
    let r = w.get(node);
    if (r === undefined) w.set(node, (r = { computeMs: 0, steps: 0, computeEnd: null, uploadStart: null, uploadMs: null, appliedAt: null, commCriticalMs: null, idleMs: null }));
    return r;
  }
}

export interface NodeRole {
  readonly name: string;
  readonly hotkey: string;
  readonly endpoint: SimEndpoint;
  readonly bucket: SimBucket;
}

export class World {
  readonly p: ProtocolParams;
  readonly ledger = new Ledger();
  readonly buckets = new Map<string, SimBucket>();
  private readonly egressCapacity: number | null;
  /** The leading validator's hotkey (highest stake): its bucket holds the peer lists, manifests and checkpoints. */
  leaderHotkey = '';

  constructor(
    readonly clock: VirtualClock,
    readonly links: LinkModel,
    readonly chain: SimChain,
    readonly scenario: Scenario,
    readonly sizes: PayloadSizes,
    readonly real: RealPayloads | null,
    readonly startWindow: number,
    readonly lastWindow: number,
  ) {
    this.p = scenario.protocol;
    this.egressCapacity = scenario.storeEgressMbps === null ? null : mbpsToBytesPerMs(scenario.storeEgressMbps);
  }

  /** A node's endpoint on its scenario link class, and its bucket. */
  makeNode(name: string, hotkey: string, linkClass: string, factor = 1): NodeRole {
    const l = this.scenario.links[linkClass];
    const endpoint = new SimEndpoint(
      name,
      { upBytesPerMs: mbpsToBytesPerMs(l.upMbps) * factor, downBytesPerMs: mbpsToBytesPerMs(l.downMbps) * factor, latencyMs: l.latencyMs, failureRate: l.failureRate },
      new SeededRng(`${this.scenario.seed}/link/${name}`),
    );
    const bucket = new SimBucket(name, this.egressCapacity === null ? null : new Port(`${name}/egress`, this.egressCapacity));
    this.buckets.set(hotkey, bucket);
    return { name, hotkey, endpoint, bucket };
  }

  /** `node`'s view of `bucket`, its traffic booked to `window`. */
  store(node: NodeRole, bucket: SimBucket, window: number): SimStore {
    return new SimStore(this.clock, this.links, node.endpoint, bucket, {
      retryMs: this.scenario.retryMs,
      retryCapMs: this.scenario.retryCapMs,
      resolutionMs: this.p.lastModifiedResolutionMs,
      writable: bucket === node.bucket,
      account: (direction, bytes) => this.ledger.add(window, node.name, direction, bytes),
    });
  }

  leaderBucket(): SimBucket {
    return this.buckets.get(this.leaderHotkey)!;
  }

  /** The window virtual time t falls in. */
  windowAt(t: number): number {
    return Math.floor(t / (this.p.blocksPerWindow * this.p.blockTimeMs));
  }

  /** The bucket a uid's commitment points at (null: none). */
  bucketOfUid(uid: number): SimBucket | null {
    const n = this.chain.subnet.neurons[uid];
    if (n === undefined || !this.chain.hasCommitment(n.hotkey)) return null;
    return this.buckets.get(n.hotkey) ?? null;
  }

  /** Virtual ms at which window w begins (its first block). */
  start(w: number): number {
    return windowStartBlock(w, this.p) * this.p.blockTimeMs;
  }

  deadline(w: number): UploadDeadline {
    return uploadDeadline(w, this.chain.blockTimestamp((w + 1) * this.p.blocksPerWindow), this.p);
  }

  /** A deadline's wall-clock ms as virtual ms. */
  virtual(epochMs: number): number {
    return epochMs - this.clock.epochMs;
  }

  isWarmup(w: number): boolean {
    return w < this.startWindow + this.p.validatorOffset + this.p.peerListWindowMargin;
  }
}

/** A promise per key that someone resolves later (a miner's applied windows). */
export class Milestones {
  private readonly waiting = new Map<number, { promise: Promise<number>; resolve: (t: number) => void }>();
  private readonly done = new Map<number, number>();

  at(key: number): number | undefined {
    return this.done.get(key);
  }

  reach(key: number, t: number): void {
    this.done.set(key, t);
    this.waiting.get(key)?.resolve(t);
    this.waiting.delete(key);
  }

  when(key: number): Promise<number> {
    const t = this.done.get(key);
    if (t !== undefined) return Promise.resolve(t);
    let w = this.waiting.get(key);
    if (w === undefined) {
      let resolve!: (t: number) => void;
      const promise = new Promise<number>((r) => (resolve = r));
      this.waiting.set(key, (w = { promise, resolve }));
    }
    return w.promise;
  }
}
