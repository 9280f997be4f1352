/**
 * The validator ("Gauntlet", reference §4): per window w, after the upload deadline, gather every active miner's
 * gradient with fast checks, run the index-overlap (copy) check, build the aggregator manifest and post it when
 * this validator holds the open manifest slot (protocol/manifest-slots.ts: rank 0 first, the next ranks when it is
 * not posted in time), evaluate a fair sample of miners (loss before/after applying one miner's update on random
 * and on its assigned data at θ_w; sync score from its debug dict), update the Gauntlet scorer (OpenSkill, BMA,
 * penalties), apply the canonical outer step (posting in its own slot while it waits), set weights every
 * windowsPerWeights windows, and — when its manifest was the one applied — post the peer list and checkpoints; one
 * phase each, in phases/. This class holds the lifecycle and the state between windows. State (parameters, scorer,
 * window) is saved atomically per window; a restarted validator continues where it stopped and posts the
 * manifests of windows it missed in its own slots, in order, so the network's history has no gaps.
 */
import type { Chain } from '../chain/types.ts';
import {
  encodeStartWindow,
  fetchUploadDeadline,
  startWindowKey,
  warmupWindows,
  windowBoundaryBlock,
  type UploadDeadline,
} from '../protocol/index.ts';
import { peerLocation, type NodeBackend } from '../node/backend.ts';
import { ChainAccess, NodeStopped, sleep, type StopSignal } from '../node/chain-access.ts';
import { stepBudgetSamples, type NetworkConfig } from '../node/config/network.ts';
import type { NodeEvents } from '../node/events.ts';
import { setUpIdentity, type NodeIdentity } from '../node/identity.ts';
import { Replica } from '../node/replica.ts';
import type { NodeSamples, SampleSource } from '../node/samples.ts';
import { openNodeSamples, type NodeDataOptions } from '../node/dataset.ts';
import { readStartWindow } from '../node/start-window.ts';
import type { Batch } from '../model/batch.ts';
import type { ObjectStore } from '../storage/index.ts';
import { GauntletScorer, loadScorer, SeededRng, serializeScorer, type EvalSelection } from './scoring/index.ts';
import { advanceReplica } from './phases/advance.ts';
import { evaluateWindow, readStepsBehind } from './phases/evaluate.ts';
import { gatherWindow, RecentUploads } from './phases/gather.ts';
import type { GatheredOk } from './gather.ts';
import { buildManifest, readPeerList } from './phases/manifest.ts';
import { offerManifest } from './phases/lead.ts';
import type { AggregatorManifest } from '../protocol/index.ts';
import { publishLeaderDocuments, publishWeights, saveCheckpointIfDue } from './phases/publish.ts';
import { scoreWindow } from './phases/score.ts';
import { screenCopies, type ScreenCopiesResult } from './phases/screen-copies.ts';
import { RetentionSweeper } from '../node/retention.ts';
import { loadQuarantine, Quarantine } from './quarantine.ts';

export interface ValidatorOptions {
  readonly net: NetworkConfig;
  readonly chain: Chain;
  readonly name: string;
  readonly nodeDir: string;
  readonly events: NodeEvents;
  /** Stop after processing this window (default: run until stopped). */
  readonly untilWindow?: number;
  /** Evaluation data (default: the network's dataset, opened with `data`). */
  readonly samples?: NodeSamples;
  readonly data?: NodeDataOptions;
  /** Real backends (own S3 bucket, peers' endpoint, wallet keys); default the local network's. */
  readonly backend?: NodeBackend;
}

/** Windows back that a built, not yet applied manifest is kept for posting in a later slot. */
const MAX_PENDING_OFFERS = 16;

export class Validator implements StopSignal {
  stopped = false;
  private readonly net: NetworkConfig;
  private readonly access: ChainAccess;
  private samples!: SampleSource;
  private checkpointExtra: Readonly<Record<string, string>> | undefined;
  private replica!: Replica;
  private scorer!: GauntletScorer;
  /** Miners whose evaluated updates harmed the model: left out of this validator's manifests (quarantine.ts). */
  private quarantine = new Quarantine();
  private id!: NodeIdentity;
  private startWindow = 0;
  private lastProcessed = -1;
  private lastPeerListWindow: number | null = null;
  private retention: RetentionSweeper | null = null;
  /** Whose manifest this validator applied last (the bucket its peer lists are read from); null: not known yet. */
  private lastHolder: number | null = null;
  /** Manifests this validator built, by window, until the window is applied (it may have to post them in a later slot). */
  private readonly offers = new Map<number, AggregatorManifest>();
  private heldOut!: Batch;
  private recentUploads!: RecentUploads;

  constructor(private readonly o: ValidatorOptions) {
    this.net = o.net;
    this.access = new ChainAccess(o.chain, o.net.protocol, peerLocation(o.net.storeRoot, o.backend), o.net.faults, this, o.events);
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
    const sources = this.o.samples ?? (await openNodeSamples(this.net, this.o.nodeDir, this.o.events, this.o.data));
    this.samples = sources.train;
    this.heldOut = await sources.heldOut(this.net.eval.batchSize);
    // so `tessera generate` and the evaluator read a published checkpoint with the tokenizer it was trained on
    this.checkpointExtra = sources.tokenizer === undefined ? undefined : { tokenizer: sources.tokenizer.name, tokenizer_sha256: sources.tokenizer.sha256 };
    this.id = await setUpIdentity(this.o.chain, this.net, this.o.name, this.o.nodeDir, this.o.backend);
    this.o.events.emit('registered', { uid: this.id.uid, hotkey: this.id.hotkey.address, leader: await this.isLeader() });
    this.retention = new RetentionSweeper({ store: this.id.store, protocol: this.p, events: this.o.events });
    this.startWindow = await this.postOrAwaitStartWindow();
    this.replica = new Replica(this.net, this.startWindow, this.o.events);
    this.recentUploads = new RecentUploads(this.p.activeRecentWindows);
    this.scorer = new GauntletScorer(this.net.scoring);
    const saved = this.replica.loadLocal(this.o.nodeDir);
    if (saved !== null) {
      if (typeof saved.scorer === 'string') this.scorer = loadScorer(saved.scorer, this.net.scoring);
      this.quarantine = loadQuarantine(saved.quarantine, `${this.o.nodeDir}/state.json`);
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

  /** Posts window w's manifest if this validator built one and holds the open slot (phases/lead.ts). */
  private async offer(w: number): Promise<void> {
    const manifest = this.offers.get(w);
    if (manifest === undefined) return;
    await offerManifest({ window: w, uid: this.id.uid, manifest, slots: this.access, store: this.id.store, events: this.o.events });
  }

  /** Offers window w's manifest once a block until stopped; a failure surfaces from stop(). */
  private watchSlot(w: number): { stop(): Promise<void> } {
    let running = true;
    let failure: unknown = null;
    const done = (async () => {
      while (running && !this.stopped) {
        await this.offer(w);
        await sleep(Math.max(20, this.p.blockTimeMs));
      }
    })().catch((err: unknown) => {
      failure = err;
    });
    return {
      stop: async () => {
        running = false;
        await done;
        if (failure !== null) throw failure;
      },
    };
  }

  /** Peer lists come from the validator whose manifest was applied last (before any, the leader). */
  private async peerListBucket(): Promise<{ store: ObjectStore } | null> {
    if (this.lastHolder === null) return this.access.leaderBucket();
    const store = await this.access.bucketOf(this.lastHolder);
    return store === null ? null : { store };
  }

  private saveState(): void {
    this.replica.saveLocal(this.o.nodeDir, {
      lastProcessed: this.lastProcessed,
      lastPeerListWindow: this.lastPeerListWindow,
      scorer: serializeScorer(this.scorer),
      quarantine: this.quarantine.entries(),
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
      this.retention?.sweepInBackground(w);
    }
  }

  private async minerUids(): Promise<number[]> {
    const m = await this.access.metagraph(0);
    return m.neurons.filter((n) => n.uid !== this.id.uid && n.stake <= this.p.maxMinerStake && this.access.hasCommitment(n.hotkey)).map((n) => n.uid).sort((a, b) => a - b);
  }

  private async processWindow(w: number, deadline: UploadDeadline): Promise<void> {
    const t0 = performance.now();
    const p = this.p;
    const warmup = w < this.startWindow + warmupWindows(p);
    const behind = (await this.access.window()) > w + 2;
    const miners = await this.minerUids();
    const metagraph = await this.access.metagraph();

    const evaluating = !warmup && !behind && this.replica.lastApplied === w - 1;
    const rng = new SeededRng(`${this.id.hotkey.address}/${w}/${Date.now()}`);
    let selection: EvalSelection = { uids: [], bin: 0, bins: 0, forced: 0 };
    const isBarred = (uid: number) => this.scorer.isNaughty(uid, w) || this.quarantine.has(uid);
    // the last download round and the manifest screen the same uploads: the copy checks run once per set
    let screened: { readonly uids: string; readonly result: ScreenCopiesResult } | null = null;
    const screen = (ok: readonly GatheredOk[]): ScreenCopiesResult => {
      const uids = ok.map((g) => g.uid).join(',');
      if (screened?.uids !== uids) screened = { uids, result: screenCopies({ ok, warmup, globalStep: this.replica.globalStep, params: this.scorer.params }) };
      return screened.result;
    };
    const peerList = await readPeerList({ leaderBucket: () => this.peerListBucket() }, w, p.version, this.o.events);
    const gather = await gatherWindow({
      miners,
      buckets: this.access,
      format: this.replica,
      deadline,
      params: p,
      warmup,
      events: this.o.events,
      peerList,
      recent: this.recentUploads,
      pickEvalUids: (active) => {
        if (evaluating) selection = this.scorer.selectEvalUids(active, w, rng);
        return selection.uids;
      },
      unusable: (ok) => new Set([...screen(ok).copiers, ...ok.map((g) => g.uid).filter(isBarred)]),
    });
    const { overlap, derived, copiers } = screen(gather.ok);
    const manifest = buildManifest({
      window: w,
      version: p.version,
      miners,
      gathered: gather.gathered,
      copiers,
      peerList,
      gatherPeerCount: p.gatherPeerCount,
      isBarred,
    });
    this.offers.set(w, manifest.manifest);
    await this.offer(w);
    // while evaluating, this validator's slot may open (the leader did not post): it posts then, not after evaluating
    const watch = this.watchSlot(w);
    let evaluation: Awaited<ReturnType<typeof evaluateWindow>>;
    try {
      evaluation = await evaluateWindow({
        window: w,
        warmup,
        behind,
        replica: this.replica,
        heldOut: this.heldOut,
        samples: this.samples,
        gathered: gather.gathered,
        ok: gather.ok,
        copiers,
        gatherList: manifest.gatherList,
        rng,
        selection,
        stepsBehind: (uid) => readStepsBehind({ buckets: this.access, uid, window: w, version: p.version, tracker: this.scorer.sync, events: this.o.events }),
        settings: {
          batchSize: this.net.eval.batchSize,
          lr: this.net.sparseloco.outerLr * this.net.eval.lrFactor,
          ownPoolSize: stepBudgetSamples(this.net),
        },
      });
    } finally {
      await watch.stop();
    }
    if (evaluation.dataUnavailable !== null) this.o.events.emit('dataUnavailable', { window: w, reason: evaluation.dataUnavailable });
    const { flags } = scoreWindow({
      scorer: this.scorer,
      window: w,
      startWindow: this.startWindow,
      globalStep: this.replica.globalStep,
      metagraph,
      activeUids: gather.activeUids,
      overlap,
      derived,
      sync: evaluation.sync,
      gather: { gatherListSize: manifest.gatherList.length, gathered: manifest.received, skipped: manifest.skipped },
      evaluations: evaluation.evaluations,
    });
    for (const f of flags) if (f.kind === 'reset' && f.reason === 'hotkeyChanged') this.quarantine.forget(f.uid);
    const quarantineChanges = this.quarantine.observe(evaluation.evaluations);
    const { applied, holder } = await advanceReplica({
      window: w,
      waitMs: p.blocksPerWindow * p.blockTimeMs,
      whilePending: (pw) => this.offer(pw),
      replica: this.replica,
      network: this.access,
      held: gather.held,
      tracker: this.scorer.sync,
      events: this.o.events,
    });
    const weights = await publishWeights({
      window: w,
      warmup,
      params: p,
      scorer: this.scorer,
      setWeights: (uids, values, version) => this.o.chain.setWeights(this.id.hotkey, uids, values, version),
      events: this.o.events,
    });
    for (const ow of this.offers.keys()) if (ow <= this.replica.lastApplied || ow < w - MAX_PENDING_OFFERS) this.offers.delete(ow);
    if (holder !== null) this.lastHolder = holder;
    const leader = holder === this.id.uid;
    if (leader) {
      const published = await publishLeaderDocuments({
        window: w,
        params: p,
        lastPeerListWindow: this.lastPeerListWindow,
        activeUids: gather.activeUids,
        weights: weights ?? this.scorer.weights(p, w),
        excludedUids: [...this.scorer.selectionExclusions(w), this.id.uid],
        chain: this.access,
        store: this.id.store,
        events: this.o.events,
      });
      if (published.peerList !== null) this.lastPeerListWindow = w;
    }
    await saveCheckpointIfDue({
      params: p,
      applied,
      globalStep: this.replica.globalStep,
      saveCheckpoint: () => this.replica.saveCheckpoint(this.id.store, this.id.uid, this.checkpointExtra),
    });

    this.lastProcessed = w;
    this.saveState();
    const scores = Object.fromEntries([...this.scorer.finalScores()].filter(([, f]) => f !== 0).map(([u, f]) => [u, Number(f.toFixed(5))]));
    this.o.events.emit('window', {
      window: w,
      leader,
      warmup,
      heldOutLoss: evaluation.heldOutLoss,
      gathered: Object.fromEntries([...gather.gathered].map(([u, g]) => [u, g.status])),
      traffic: gather.traffic,
      aggregated: manifest.succeeded,
      copiers: [...copiers],
      overlapMax: overlap?.maxRatio ?? null,
      derivedMax: derived === null ? null : Number(derived.maxShare.toFixed(4)),
      evaluated: evaluation.details,
      flags: [...flags.map((e) => ({ ...e })), ...quarantineChanges.map((c) => ({ ...c }))],
      quarantined: this.quarantine.uids(),
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
}
