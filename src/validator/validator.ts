/**
 * The validator ("Gauntlet", reference §4): per window w, after the upload deadline, gather every active miner's
 * gradient with fast checks, run the index-overlap (copy) check, (leader) post the aggregator manifest, evaluate a
 * fair sample of miners (loss before/after applying one miner's update on random and on its assigned data at θ_w;
 * sync score from its debug dict), update the Gauntlet scorer (OpenSkill, BMA, penalties), apply the canonical outer
 * step, set weights every windowsPerWeights windows, (leader) post the peer list and checkpoints. State (parameters,
 * scorer, window) is saved atomically per window; a restarted validator continues where it stopped — the leader
 * posts the manifests of windows it missed, in order, so the network's history has no gaps.
 */
import { join } from 'node:path';
import type { Chain } from '../chain/types.ts';
import { applyPeerUpdate, medianNorms, type PeerUpdate } from '../optim/sparseloco/index.ts';
import {
  aggregatorKey,
  debugKey,
  decodeDebugDict,
  encodeAggregatorManifest,
  encodePeerList,
  encodeStartWindow,
  fetchUploadDeadline,
  isCheckpointStep,
  isPeerReplacementDue,
  isWeightsWindow,
  KEY_PREFIX,
  latestWindowOf,
  parsePeerList,
  peersKey,
  startWindowKey,
  versionKey,
  warmupWindows,
  windowBoundaryBlock,
  type AggregatorEntry,
  type PeerList,
} from '../protocol/index.ts';
import { isStoreError, listAll, type ObjectStore } from '../storage/index.ts';
import { isProtocolError } from '../protocol/errors.ts';
import { peerLocation, type NodeBackend } from '../node/backend.ts';
import { ChainAccess, NodeStopped, type StopSignal } from '../node/chain-access.ts';
import type { NetworkConfig } from '../node/config/network.ts';
import type { NodeEvents } from '../node/events.ts';
import { setUpIdentity, type NodeIdentity } from '../node/identity.ts';
import { BehindError, Replica } from '../node/replica.ts';
import { assignedPool, datasetSamples, type NodeSamples, type SampleSource } from '../node/samples.ts';
import { readStartWindow } from '../node/start-window.ts';
import type { Batch } from '../model/batch.ts';
import {
  checkIndexOverlap,
  eligiblePeers,
  GauntletScorer,
  incentives,
  loadScorer,
  SeededRng,
  selectPeerList,
  serializeScorer,
  type EvalOutcome,
  type OverlapFlag,
  type ScoringParams,
} from './scoring/index.ts';
import { gatherOne, type Gathered } from './gather.ts';

export interface ValidatorOptions {
  readonly net: NetworkConfig;
  readonly chain: Chain;
  readonly name: string;
  readonly nodeDir: string;
  readonly events: NodeEvents;
  /** Stop after processing this window (default: run until stopped). */
  readonly untilWindow?: number;
  readonly samples?: NodeSamples;
  /** Real backends (own S3 bucket, peers' endpoint, wallet keys); default the local network's. */
  readonly backend?: NodeBackend;
}


export class Validator implements StopSignal {
  stopped = false;
  private readonly net: NetworkConfig;
  private readonly access: ChainAccess;
  private readonly samples: SampleSource;
  private replica!: Replica;
  private scorer!: GauntletScorer;
  private id!: NodeIdentity;
  private startWindow = 0;
  private lastProcessed = -1;
  private lastPeerListWindow: number | null = null;
  private readonly heldOut: Batch;

  constructor(private readonly o: ValidatorOptions) {
    this.net = o.net;
    this.access = new ChainAccess(o.chain, o.net.protocol, peerLocation(o.net.storeRoot, o.backend), o.net.faults, this, o.events);
    const sources = o.samples ?? datasetSamples(o.net.train.seqLen);
    this.samples = sources.train;
    this.heldOut = sources.heldOut(o.net.eval.batchSize);
  }

  stop(): void {
    this.stopped = true;
  }

  private get p() {
    return this.net.protocol;
  }

  async run(): Promise<void> {
    try {
      await this.setUp();
      await this.loop();
    } catch (err) {
      if (!(err instanceof NodeStopped)) throw err;
    } finally {
      this.o.events.emit('stopped', { lastProcessed: this.lastProcessed, lastApplied: this.replica?.lastApplied });
      this.replica?.dispose();
    }
  }

  private async isLeader(): Promise<boolean> {
    return (await this.access.leader())?.uid === this.id.uid;
  }

  private async setUp(): Promise<void> {
    this.id = await setUpIdentity(this.o.chain, this.net, this.o.name, this.o.nodeDir, this.o.backend);
    this.o.events.emit('registered', { uid: this.id.uid, hotkey: this.id.hotkey.address, leader: await this.isLeader() });
    this.startWindow = await this.postOrAwaitStartWindow();
    this.replica = new Replica(this.net, this.startWindow, this.o.events);
    this.scorer = new GauntletScorer(this.net.scoring as Partial<ScoringParams>);
    const saved = this.replica.loadLocal(this.o.nodeDir);
    if (saved !== null) {
      if (typeof saved.scorer === 'string') this.scorer = loadScorer(saved.scorer, this.net.scoring as Partial<ScoringParams>);
      this.lastProcessed = typeof saved.lastProcessed === 'number' ? saved.lastProcessed : this.replica.lastApplied;
      this.lastPeerListWindow = typeof saved.lastPeerListWindow === 'number' ? saved.lastPeerListWindow : null;
      this.o.events.emit('resumed', { lastProcessed: this.lastProcessed, lastApplied: this.replica.lastApplied, hash: this.replica.hash() });
    } else {
      this.lastProcessed = this.startWindow - 1;
      this.scorer.sync.observe(this.replica.debugSamples());
    }
  }

  /**
   * Leadership can change while waiting (validator permits arrive with the first epoch), so the check is
   * repeated: whoever is leader when no start window exists yet posts it.
   */
  private async postOrAwaitStartWindow(): Promise<number> {
    for (;;) {
      this.access.checkStop();
      if (await this.isLeader()) {
        const existing = await this.id.store.head(startWindowKey(this.p.version));
        if (existing === null) {
          const start = (await this.access.window()) + 1;
          await this.id.store.put(startWindowKey(this.p.version), encodeStartWindow(start));
          this.o.events.emit('startWindow', { startWindow: start });
        }
      }
      const start = await readStartWindow(this.access, this.p.version);
      if (start !== null) return start;
      await this.access.sleep(Math.max(100, this.p.blockTimeMs));
    }
  }

  private saveState(): void {
    this.replica.saveLocal(this.o.nodeDir, {
      lastProcessed: this.lastProcessed,
      lastPeerListWindow: this.lastPeerListWindow,
      scorer: serializeScorer(this.scorer),
      uid: this.id.uid,
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      this.access.checkStop();
      const w = this.lastProcessed + 1;
      if (this.o.untilWindow !== undefined && w > this.o.untilWindow) return;
      await this.access.waitForBlock(windowBoundaryBlock(w, this.p));
      const deadline = await fetchUploadDeadline(this.o.chain, w, this.p);
      const slack = Math.min(500, this.p.blockTimeMs);
      await this.access.sleep(Math.max(0, deadline.timeMaxMs + slack - Date.now()));
      await this.processWindow(w, deadline);
    }
  }

  private async minerUids(): Promise<number[]> {
    const m = await this.access.metagraph(0);
    return m.neurons.filter((n) => n.uid !== this.id.uid && n.stake <= this.p.maxMinerStake && this.access.hasCommitment(n.hotkey)).map((n) => n.uid).sort((a, b) => a - b);
  }

  /** The leader's peer list in effect for window w (null: none yet → gather every active miner). */
  private async peerListFor(w: number): Promise<PeerList | null> {
    const leader = await this.access.leaderBucket();
    if (leader === null) return null;
    const keys = (await listAll(leader.store, KEY_PREFIX.peers)).map((o) => o.key);
    const at = latestWindowOf(keys, 'peers', this.p.version, w);
    if (at === null) return null;
    try {
      return parsePeerList(await leader.store.get(peersKey(at, this.p.version), { maxBytes: 1 << 20 }), { expectedFirstEffectiveWindow: at });
    } catch (err) {
      this.o.events.emit('peerListError', { window: w, error: (err as Error).message });
      return null;
    }
  }

  private async processWindow(w: number, deadline: Awaited<ReturnType<typeof fetchUploadDeadline>>): Promise<void> {
    const t0 = performance.now();
    const p = this.p;
    const warm = w < this.startWindow + warmupWindows(p);
    const leader = await this.isLeader();
    const cur = await this.access.window();
    const behind = cur > w + 2;
    const miners = await this.minerUids();
    const metagraph = await this.access.metagraph();

    // gather every miner's gradient for w (fast checks + deadline status)
    const gathered = new Map<number, Gathered>();
    await Promise.all(miners.map(async (uid) => gathered.set(uid, await gatherOne(this.access, this.replica, uid, deadline, p, warm))));
    const ok = (uid: number) => gathered.get(uid)?.status === 'ok';

    // active = uploaded something in this window or the previous one
    const active = miners.filter((u) => gathered.get(u)!.status !== 'missing');
    const prevActive = await this.activeInPrevious(miners.filter((u) => !active.includes(u)), w);
    const activeUids = [...active, ...prevActive].sort((a, b) => a - b);

    // copy check on the valid non-null payloads
    const valid = miners.filter(ok).map((u) => gathered.get(u)!);
    const sp = this.scorer.params;
    const overlap = warm
      ? null
      : checkIndexOverlap(
          valid.map((g) => ({
            uid: g.uid,
            uploadedAt: g.uploadedAt!,
            tensors: g.msg!.tensors.map((t) => ({ name: t.name, chunkLen: t.layout.chunkLen, k: t.layout.k, indices: t.indices })),
          })),
          sp,
        );
    const overlapActive = this.replica.globalStep >= sp.overlapMinGlobalStep;
    const copiers = new Set(overlapActive && overlap ? overlap.offenders.filter((f) => f.level !== 'high').map((f) => f.uid) : []);

    // gather set: the peer list (gather peers, refilled from reserves) or every miner
    const list = await this.peerListFor(w);
    const candidates = list === null ? miners : [...list.peers, ...list.reservePeers];
    const want = list === null ? p.gatherPeerCount : Math.min(p.gatherPeerCount, list.peers.length);
    const attempted: number[] = [];
    const succeeded: number[] = [];
    for (const uid of candidates) {
      if (succeeded.length >= want) break;
      attempted.push(uid);
      if (ok(uid) && !copiers.has(uid) && !this.scorer.isNaughty(uid, w)) succeeded.push(uid);
    }
    succeeded.sort((a, b) => a - b);
    const cache = new Map<string, Uint8Array>();
    for (const g of valid) cache.set(g.sha256!, g.bytes!);

    if (leader) {
      const entries: AggregatorEntry[] = succeeded.map((uid) => {
        const g = gathered.get(uid)!;
        return { uid, key: `gradient-${w}-${uid}-v${p.version}`, size: g.bytes!.length, sha256: g.sha256! };
      });
      const skippedUids = attempted.filter((u) => !succeeded.includes(u)).sort((a, b) => a - b);
      await this.id.store.put(aggregatorKey(w, p.version), encodeAggregatorManifest({ window: w, version: p.version, entries, skippedUids }));
      this.o.events.emit('manifest', { window: w, uids: succeeded, skipped: skippedUids });
    }

    // evaluation at θ_w (only when our replica is exactly at θ_w and the window is not a warm-up)
    const evaluations: EvalOutcome[] = [];
    const sync = new Map<number, number | null>();
    const evalDetails: Record<string, unknown>[] = [];
    let heldOutLoss: number | null = null;
    const atThetaW = this.replica.lastApplied === w - 1;
    if (atThetaW) heldOutLoss = this.replica.model.loss(this.heldOut);
    if (!warm && !behind && atThetaW) {
      const rng = new SeededRng(`${this.id.hotkey.address}/${w}/${Date.now()}`);
      const pool = activeUids.filter((u) => !copiers.has(u));
      const selection = this.scorer.selectEvalUids(pool, w, rng);
      const medians = medianNorms(valid.filter((g) => !copiers.has(g.uid)).map((g) => g.msg as PeerUpdate));
      const ev = this.net.eval;
      const lr = this.net.sparseloco.outerLr * ev.lrFactor;
      const randomIdx = assignedPool(1000 + rng.int(1_000_000), w, ev.batchSize, this.samples.sampleCount);
      const randomBatch = this.samples.batch(randomIdx);
      const randomBefore = this.replica.model.loss(randomBatch);
      for (const uid of selection.uids) {
        const g = gathered.get(uid)!;
        if (g.status !== 'ok') {
          evaluations.push(g.status === 'invalid' ? { uid, status: 'invalid', detail: g.detail } : { uid, status: g.status });
          evalDetails.push({ uid, status: g.status, detail: g.detail });
          continue;
        }
        const poolIdx = assignedPool(uid, w, p.innerSteps * this.net.train.batchSize, this.samples.sampleCount);
        const own = this.samples.batch(rng.shuffled(poolIdx).slice(0, ev.batchSize));
        const ownBefore = this.replica.model.loss(own);
        const applied = applyPeerUpdate(this.replica.params, g.msg!, medians.size > 0 ? medians : undefined, lr);
        let ownAfter: number;
        let randomAfter: number;
        try {
          ownAfter = this.replica.model.loss(own);
          randomAfter = this.replica.model.loss(randomBatch);
        } finally {
          applied.undo();
        }
        const stepsBehind = await this.stepsBehind(uid, w);
        sync.set(uid, stepsBehind);
        evaluations.push({ uid, status: 'ok', losses: { ownBefore, ownAfter, randomBefore, randomAfter }, stepsBehind });
        evalDetails.push({ uid, ownBefore, ownAfter, randomBefore, randomAfter, stepsBehind });
      }
    }
    const report = this.scorer.processWindow({
      window: w,
      startWindow: this.startWindow,
      globalStep: this.replica.globalStep,
      hotkeys: new Map(metagraph.neurons.map((n) => [n.uid, n.hotkey])),
      activeUids,
      overlap: overlap ? (overlap.offenders as OverlapFlag[]) : undefined,
      sync,
      gather: { attempted, succeeded },
      evaluations,
    });
    const flags = report.events.filter((e) => e.kind !== 'evaluated');

    // the canonical outer step of w
    let applied = false;
    try {
      const until = leader ? Date.now() : Date.now() + p.blocksPerWindow * p.blockTimeMs;
      applied = await this.replica.syncTo(this.access, w + 1, until, undefined, cache);
    } catch (err) {
      if (!(err instanceof BehindError)) throw err;
      this.o.events.emit('behind', { window: w, reason: err.message });
    }
    if (applied) this.scorer.sync.observe(this.replica.debugSamples());
    else if (!leader) {
      // far behind: a newer checkpoint lets the replica skip ahead
      try {
        if (await this.replica.loadLatestCheckpoint(this.access)) this.scorer.sync.observe(this.replica.debugSamples());
      } catch (err) {
        this.o.events.emit('checkpointError', { error: (err as Error).message });
      }
    }

    // weights
    let weights: { uids: number[]; weights: number[] } | null = null;
    if (isWeightsWindow(w, p) && !warm) {
      weights = this.scorer.weights(p);
      if (weights.uids.length > 0) {
        try {
          await this.o.chain.setWeights(this.id.hotkey, weights.uids, weights.weights, versionKey(p.version));
        } catch (err) {
          this.o.events.emit('setWeightsFailed', { window: w, error: (err as Error).message });
        }
      }
    }

    // peer list and checkpoints (leader)
    if (leader) {
      if (isPeerReplacementDue(w, this.lastPeerListWindow, p)) await this.postPeerList(w, activeUids, weights);
      if (applied && isCheckpointStep(this.replica.globalStep, p)) await this.replica.saveCheckpoint(this.id.store, this.id.uid);
    }

    this.lastProcessed = w;
    this.saveState();
    const scores = Object.fromEntries([...this.scorer.finalScores()].filter(([, f]) => f !== 0).map(([u, f]) => [u, Number(f.toFixed(5))]));
    this.o.events.emit('window', {
      window: w,
      leader,
      warmup: warm,
      heldOutLoss,
      gathered: Object.fromEntries([...gathered].map(([u, g]) => [u, g.status])),
      aggregated: succeeded,
      copiers: [...copiers],
      overlapMax: overlap?.maxRatio ?? null,
      evaluated: evalDetails,
      flags: flags.map((e) => ({ ...e })),
      scores,
      ratings: Object.fromEntries(this.scorer.knownUids().map((u) => {
        const r = this.scorer.rating(u);
        return [u, { mu: Number(r.mu.toFixed(4)), sigma: Number(r.sigma.toFixed(4)), ordinal: Number(this.scorer.ordinal(u).toFixed(4)) }];
      })),
      weights,
      applied,
      hash: this.replica.hash(),
      lastApplied: this.replica.lastApplied,
      ms: Math.round(performance.now() - t0),
    });
  }

  private async activeInPrevious(uids: number[], w: number): Promise<number[]> {
    if (w === 0 || uids.length === 0) return [];
    const out: number[] = [];
    await Promise.all(
      uids.map(async (uid) => {
        const store = await this.access.bucketOf(uid);
        if (store === null) return;
        for (let back = 1; back < this.p.activeRecentWindows && w - back >= 0; back++) {
          try {
            if ((await store.head(`gradient-${w - back}-${uid}-v${this.p.version}`)) !== null) {
              out.push(uid);
              return;
            }
          } catch (err) {
            if (!isStoreError(err)) throw err;
            this.o.events.emit('activityProbeFailed', { window: w, uid, probed: w - back, reason: err.message });
            return;
          }
        }
      }),
    );
    return out;
  }

  private async stepsBehind(uid: number, w: number): Promise<number | null> {
    const store: ObjectStore | null = await this.access.bucketOf(uid);
    if (store === null) return null;
    try {
      const dict = decodeDebugDict(await store.get(debugKey(w, uid, this.p.version), { maxBytes: 1 << 20 }));
      if (dict.window !== w || dict.uid !== uid) return null;
      const x = this.scorer.sync.stepsBehind(dict.samples);
      return Number.isFinite(x) ? x : null;
    } catch (err) {
      if (!isStoreError(err) && !isProtocolError(err)) throw err;
      if (!isStoreError(err, 'NotFound')) this.o.events.emit('debugDictUnreadable', { window: w, uid, reason: err.message });
      return null;
    }
  }

  private async postPeerList(w: number, activeUids: number[], weights: { uids: number[]; weights: number[] } | null): Promise<void> {
    const metagraph = await this.access.metagraph(0);
    const eligible = eligiblePeers({ metagraph, activeUids, excludedUids: [...this.scorer.selectionExclusions(w), this.id.uid] }, this.p);
    const initial = weights === null || weights.uids.length === 0;
    const values = initial ? incentives(metagraph) : new Map(weights.uids.map((u, i) => [u, weights.weights[i]]));
    const list = selectPeerList(
      { currentWindow: await this.access.window(), syncWindow: w, initial, values, eligible, rng: new SeededRng(`peers/${w}`) },
      this.p,
    );
    if (list === null) return;
    await this.id.store.put(peersKey(list.firstEffectiveWindow, this.p.version), encodePeerList(list));
    this.lastPeerListWindow = w;
    this.o.events.emit('peerList', { window: w, firstEffectiveWindow: list.firstEffectiveWindow, peers: list.peers, reserves: list.reservePeers });
  }
}
