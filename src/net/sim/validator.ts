/**
 * A simulated validator: the real validator's window (src/validator/validator.ts) on the virtual clock, through the
 * validator's own functions where the work is not a model computation. Per window w, from the upload deadline on:
 *   probe    HEAD every miner's gradient of w (one request each) and judge it with protocol's checkDeadline against
 *            the store's lastModified; HEAD w−1 for the silent ones (validator/phases/gather.ts uploadedRecently's rule)
 *   select   the uids to evaluate: the scorer's fair selection (GauntletScorer.selectEvalUids) outside warm-up
 *   gather   the gather plan (GatherPlan: candidates of the leader's peer list as readPeerList reads it, refilled from
 *            the reserves) — only its downloads, concurrently, through the validator's downlink; real payloads are
 *            decoded by the codec with the window and uid expected
 *   manifest buildManifest, posted by the leader to its bucket (the slot rule is not simulated: the leader is alive)
 *   evaluate the scoring model's losses for the selected uids (quality.ts), debug dicts of the gather list fetched
 *            for the sync score, evalSecondsPerUid each
 *   score    scoreWindow (GauntletScorer), publishWeights → the chain's set_weights, the leader's peer list by
 *            publishLeaderDocuments (eligiblePeers/selectPeerList), the outer step (applySeconds) and, at checkpoint
 *            steps, a full checkpoint upload (saveCheckpointIfDue).
 * Copy screening (index overlap, derived copies) needs payload contents and is not simulated.
 */
import { decodeGradient, payloadDigest, type GradientMessage, type GradientSchema } from '../../codec/index.ts';
import { createHash } from 'node:crypto';
import { checkDeadline, checkpointLatestKey, checkpointMetaKey, checkpointModelKey, debugKey, encodeAggregatorManifest, encodeLatestPointer, gradientKey, aggregatorKey } from '../../protocol/index.ts';
import type { NodeEvents } from '../../node/events.ts';
import { GauntletScorer, SeededRng, type EvalOutcome } from '../../validator/scoring/index.ts';
import type { Gathered, GatheredOk, PeerBuckets, Probe } from '../../validator/gather.ts';
import { gatherWindow, RecentUploads } from '../../validator/phases/gather.ts';
import type { SimStore } from './store.ts';
import { gradientSchemaOf } from './payloads.ts';
import { buildManifest, readPeerList } from '../../validator/phases/manifest.ts';
import { publishLeaderDocuments, publishWeights, saveCheckpointIfDue } from '../../validator/phases/publish.ts';
import { scoreWindow } from '../../validator/phases/score.ts';
import { TEMPLAR_SCORING } from '../../node/config/templar-preset.ts';
import type { SimAccount } from './chain.ts';
import { evalLosses } from './quality.ts';
import type { SimMiner } from './miner.ts';
import type { NodeRole, World } from './world.ts';

/** Collects the events the validator's phases emit that the simulation reports. */
export class EventTally implements NodeEvents {
  readonly counts = new Map<string, number>();
  readonly last = new Map<string, unknown>();
  emit(kind: string, fields: unknown): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.last.set(kind, fields);
  }
}

/**
 * A size-only payload for buildManifest, which reads only a received payload's length and digest: a zero-length
 * byte array whose `length` says the payload's size. It is never read.
 */
function sizedStandIn(size: number): Uint8Array {
  const bytes = new Uint8Array(0);
  Object.defineProperty(bytes, 'length', { value: size });
  return bytes;
}

const NO_MESSAGE: GradientMessage = { uid: 0, window: 0, globalStep: 0, nullRound: false, meta: new Uint8Array(0), tensors: [] };


export class SimValidator {
  readonly node: NodeRole;
  readonly scorer = new GauntletScorer(TEMPLAR_SCORING);
  readonly events = new EventTally();
  private lastPeerListWindow: number | null = null;
  private globalStep = 0;
  private readonly recent: RecentUploads;
  uid = -1;

  constructor(
    private readonly world: World,
    readonly account: SimAccount,
    readonly name: string,
    link: string,
    readonly leader: boolean,
    private readonly miners: () => ReadonlyMap<number, SimMiner>,
  ) {
    this.node = world.makeNode(name, account.hotkey, link);
    this.recent = new RecentUploads(world.p.activeRecentWindows);
  }

  async run(): Promise<void> {
    const { world } = this;
    this.uid = world.chain.uidOf(this.account.hotkey)!;
    for (let w = world.startWindow; w <= world.lastWindow; w++) {
      const deadline = world.deadline(w);
      await world.clock.until(world.virtual(deadline.timeMaxMs) + Math.min(500, world.p.blockTimeMs));
      await this.processWindow(w);
    }
  }

  private minerUids(): number[] {
    const m = this.world.chain.metagraph();
    return m.neurons.filter((n) => n.uid !== this.uid && n.stake <= this.world.p.maxMinerStake && this.world.chain.hasCommitment(n.hotkey)).map((n) => n.uid);
  }

  private buckets(w: number): PeerBuckets {
    return { bucketOf: async (uid) => {
      const bucket = this.world.bucketOfUid(uid);
      return bucket === null ? null : this.world.store(this.node, bucket, w);
    } };
  }

  /** The scenario model's wire format (size-only runs: only its shape is needed, never a decode). */
  private sizedSchema: GradientSchema | null = null;

  /** Size-only payloads: the validator's own gather phase, with the download of a size-only object in place of the decode. */
  private fetchSized(w: number): (probe: Probe, onDownloaded: (bytes: number) => void) => Promise<Gathered> {
    const p = this.world.p;
    return async (probe, onDownloaded) => {
      if (probe.status !== 'onTime') return probe;
      const key = gradientKey(w, probe.uid, p.version);
      let size: number;
      try {
        size = (await (probe.store as SimStore).getAny(key)).size;
      } catch (err) {
        return { uid: probe.uid, status: 'missing', detail: `download failed: ${(err as Error).message}` };
      }
      onDownloaded(size);
      return { uid: probe.uid, status: 'ok', uploadedAt: probe.uploadedAt, payload: { bytes: sizedStandIn(size), sha256: createHash('sha256').update(key).digest('hex'), message: NO_MESSAGE } };
    };
  }

  private async processWindow(w: number): Promise<void> {
    const { world } = this;
    const p = world.p;
    const t0 = world.clock.now;
    const warmup = world.isWarmup(w);
    const miners = this.minerUids();
    const metagraph = world.chain.metagraph();
    const rng = new SeededRng(`${world.scenario.seed}/${this.name}/${w}`);
    const pick = (active: readonly number[]) => (warmup ? [] : this.scorer.selectEvalUids(active, w, rng).uids);
    const leaderStore = world.store(this.node, world.leaderBucket(), w);
    const peerList = await readPeerList({ leaderBucket: async () => ({ store: leaderStore }) }, w, p.version, this.events);
    const gather = await gatherWindow({
      miners,
      buckets: this.buckets(w),
      format: { schema: world.real?.schema ?? (this.sizedSchema ??= gradientSchemaOf(world.scenario.model)), maxPayloadBytes: world.sizes.payloadBytes },
      deadline: world.deadline(w),
      params: p,
      warmup,
      events: this.events,
      peerList,
      recent: this.recent,
      pickEvalUids: pick,
      unusable: (ok) => new Set(ok.map((g) => g.uid).filter((u) => this.scorer.isNaughty(u, w))),
      ...(world.real === null ? { fetch: this.fetchSized(w) } : {}),
    });
    const { gathered, activeUids, evalUids } = gather;
    const manifest = buildManifest({ window: w, version: p.version, miners, gathered, copiers: new Set(), peerList, gatherPeerCount: p.gatherPeerCount, isBarred: (uid) => this.scorer.isNaughty(uid, w) });
    if (this.leader) await world.store(this.node, this.node.bucket, w).put(aggregatorKey(w, p.version), encodeAggregatorManifest(manifest.manifest));
    const gatherMs = world.clock.now - t0;

    const { evaluations, sync } = await this.evaluate(w, warmup, evalUids, gathered, manifest.gatherList);
    scoreWindow({
      scorer: this.scorer,
      window: w,
      startWindow: world.startWindow,
      globalStep: this.globalStep,
      metagraph,
      activeUids,
      overlap: null,
      derived: null,
      sync,
      gather: { gatherListSize: manifest.gatherList.length, gathered: manifest.received, skipped: manifest.skipped },
      evaluations,
    });
    await this.advance(w);
    const weights = await publishWeights({
      window: w,
      warmup,
      params: p,
      scorer: this.scorer,
      setWeights: async (uids, values, version) => world.chain.setWeights(this.account.hotkey, uids, values, version),
      events: this.events,
    });
    if (this.leader) {
      const published = await publishLeaderDocuments({
        window: w,
        params: p,
        lastPeerListWindow: this.lastPeerListWindow,
        activeUids,
        weights: weights ?? this.scorer.weights(p, w),
        excludedUids: [...this.scorer.selectionExclusions(w), this.uid],
        chain: { metagraph: async () => world.chain.metagraph(), window: async () => Math.floor(world.chain.head / p.blocksPerWindow) },
        store: world.store(this.node, this.node.bucket, w),
        events: this.events,
      });
      if (published.peerList !== null) this.lastPeerListWindow = w;
      const peers = peerList?.peers ?? [];
      world.ledger.leader.set(w, {
        gatherMs,
        peers: [...peers],
        gathered: [...manifest.succeeded],
        reservesUsed: peerList === null ? [] : manifest.succeeded.filter((u) => !peers.includes(u)),
        downloaded: gather.traffic.downloads,
        late: [...gathered.values()].filter((x) => x.status === 'tooLate').map((x) => x.uid),
        missing: [...gathered.values()].filter((x) => x.status === 'missing').length,
        evaluated: [...evalUids],
        activeMiners: activeUids.length,
      });
    }
    if (world.scenario.checkpoints) {
      await saveCheckpointIfDue({
        params: p,
        applied: true,
        globalStep: this.globalStep,
        saveCheckpoint: async () => {
          const store = world.store(this.node, this.node.bucket, w);
          await store.putSized(checkpointModelKey(w, p.version), world.sizes.checkpointBytes);
          await store.putSized(checkpointMetaKey(w, p.version), 256);
          await store.put(checkpointLatestKey(p.version), encodeLatestPointer(w));
        },
      });
    }
  }

  /** The scoring model's losses for the selected uids; steps behind of the gather list from their debug dicts. */
  private async evaluate(
    w: number,
    warmup: boolean,
    evalUids: readonly number[],
    gathered: ReadonlyMap<number, Gathered>,
    gatherList: readonly number[],
  ): Promise<{ evaluations: EvalOutcome[]; sync: Map<number, number | null> }> {
    const { world } = this;
    const sync = new Map<number, number | null>();
    const evaluations: EvalOutcome[] = [];
    if (warmup) return { evaluations, sync };
    const rng = new SeededRng(`${world.scenario.seed}/${this.name}/eval/${w}`);
    const byUid = this.miners();
    const behind = async (uid: number): Promise<number | null> => {
      const bucket = world.bucketOfUid(uid);
      const facts = byUid.get(uid)?.uploads.get(w);
      if (bucket === null || facts === undefined) return null;
      try {
        await world.store(this.node, bucket, w).getAny(debugKey(w, uid, world.p.version));
      } catch {
        return null;
      }
      return facts.stepsBehind;
    };
    const need = [...new Set([...gatherList, ...evalUids])].sort((a, b) => a - b);
    const steps = new Map(await Promise.all(need.map(async (u) => [u, await behind(u)] as const)));
    for (const uid of gatherList) sync.set(uid, steps.get(uid) ?? null);
    for (const uid of evalUids) {
      const g = gathered.get(uid) ?? { uid, status: 'missing' as const };
      if (g.status !== 'ok') {
        evaluations.push(g.status === 'invalid' ? { uid, status: 'invalid', detail: g.detail } : { uid, status: g.status === 'unread' ? 'missing' : g.status });
        continue;
      }
      const miner = byUid.get(uid)!;
      const facts = miner.uploads.get(w)!;
      const losses = evalLosses({ kind: miner.kind, quality: miner.quality, window: w, stepFraction: facts.steps / world.p.innerSteps }, rng);
      evaluations.push({ uid, status: 'ok', losses, stepsBehind: steps.get(uid) ?? null });
      await world.clock.sleep(world.scenario.compute.evalSecondsPerUid * 1000);
    }
    return { evaluations, sync };
  }

  /** The outer step of window w: the leader's manifest (its own, or read from its bucket), then applySeconds. */
  private async advance(w: number): Promise<void> {
    const { world } = this;
    if (!this.leader) {
      const store = world.store(this.node, world.leaderBucket(), w);
      await store.waitFor(aggregatorKey(w, world.p.version), world.scenario.manifestPollMs);
      await store.getAny(aggregatorKey(w, world.p.version));
    }
    await world.clock.sleep(world.scenario.compute.applySeconds * 1000);
    this.globalStep++;
  }
}
