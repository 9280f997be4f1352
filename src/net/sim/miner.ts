/**
 * A simulated miner: the real miner's window schedule (src/miner/miner.ts) on the virtual clock, with training
 * replaced by the step-time model. Per window w:
 *   ready   θ it depends on applied (w−1's outer step; with overlap w−2's, the update applied one window late),
 *           the window begun and its previous steps done; a miner that becomes ready only after w ended skips w;
 *   train   min(H, ⌊(budgetEnd − start)/step⌋) steps, at least one (warm-up windows are null rounds: none), where
 *           budgetEnd is the miner's own rule: upload deadline − (2 × last upload time + delta/4);
 *   upload  at the window boundary (not before: the store's lastModified must not be early), unless the deadline has
 *           passed; gradient then debug dict, through its uplink;
 *   follow  window w's aggregator manifest from the leader's bucket (polled every manifestPollMs), its payloads one
 *           after another through the downlink, the outer step (applySeconds); windows apply in order.
 * A miner that registers late bootstraps as the real one does: the leader's latest checkpoint when more than 3
 * windows behind, then the manifests since.
 */
import { isEmbeddedChainError } from '../../chain/embedded/errors.ts';
import { aggregatorKey, checkDeadline, checkpointLatestKey, checkpointModelKey, debugKey, gradientKey, parseAggregatorManifest, parseLatestPointer } from '../../protocol/index.ts';
import { SeededRng } from '../../validator/scoring/rng.ts';
import { stepsWithinBudget, uploadReserveMs } from '../../miner/step-budget.ts';
import type { SimAccount } from './chain.ts';
import { drawQuality } from './quality.ts';
import type { MinerKind } from './scenario.ts';
import { Milestones, type NodeRole, type World } from './world.ts';

export interface SimMinerSpec {
  readonly name: string;
  readonly account: SimAccount;
  readonly link: string;
  readonly kind: MinerKind;
  readonly stepSeconds: number;
  readonly stepJitter: number;
  /** First window it takes part in (registered at genesis: the start window). */
  readonly joinWindow: number;
  readonly leaveWindow: number | null;
  readonly atGenesis: boolean;
}

/** What the validators' scoring model reads about a miner's upload of a window. */
export interface UploadFacts {
  readonly steps: number;
  /** Outer steps it had not applied beyond what its schedule allows (overlap: one). */
  readonly stepsBehind: number;
}

export class SimMiner {
  readonly node: NodeRole;
  readonly quality: number;
  readonly stepMs: number;
  readonly uploads = new Map<number, UploadFacts>();
  private readonly applied = new Milestones();
  private lastApplied: number;
  private lastUploadMs = 0;
  uid: number | null = null;
  leftAt: number | null = null;
  private leaveWindow: number | null;

  constructor(
    private readonly world: World,
    readonly spec: SimMinerSpec,
  ) {
    this.node = world.makeNode(spec.name, spec.account.hotkey, spec.link);
    const rng = new SeededRng(`${world.scenario.seed}/miner/${spec.name}`);
    this.quality = drawQuality(rng);
    this.stepMs = spec.stepSeconds * 1000 * (1 + spec.stepJitter * (2 * rng.next() - 1));
    this.lastApplied = world.startWindow - 1;
    this.applied.reach(this.lastApplied, 0);
    this.leaveWindow = spec.leaveWindow;
  }

  /** Stops taking part from window w on (it stays registered). */
  leaveFrom(w: number): void {
    this.leaveWindow = this.leaveWindow === null ? w : Math.min(this.leaveWindow, w);
  }

  /** Takes part in window w (joined, not left, still registered). */
  activeIn(w: number): boolean {
    return this.uid !== null && this.registered() && (this.leaveWindow === null || w < this.leaveWindow);
  }

  get kind(): MinerKind {
    return this.spec.kind;
  }

  /** Still holds its uid on the chain. */
  registered(): boolean {
    return this.uid !== null && this.world.chain.uidOf(this.spec.account.hotkey) === this.uid;
  }

  async run(): Promise<void> {
    const w0 = this.spec.atGenesis ? this.world.startWindow : await this.join();
    if (w0 === null) return;
    const { world } = this;
    const d = world.scenario.overlap ? 1 : 0;
    let prevEnd = 0;
    let prevWindow: number | null = null;
    const follows: Promise<void>[] = [];
    for (let w = w0; w <= world.lastWindow; w++) {
      if ((this.leaveWindow !== null && w >= this.leaveWindow) || !this.registered()) {
        this.leftAt = w;
        break;
      }
      const dependsOn = await this.applied.when(Math.max(world.startWindow - 1, w - 1 - d));
      const ready = Math.max(world.start(w), prevEnd);
      if (prevWindow !== null) this.closeRound(prevWindow, ready, dependsOn);
      await world.clock.until(Math.max(ready, dependsOn));
      const start = world.clock.now;
      if (start >= world.start(w + 1)) {
        world.ledger.skip(w);
        follows.push(this.follow(w, null));
        prevWindow = null;
        continue;
      }
      const steps = world.isWarmup(w) ? 0 : this.stepsFrom(w, start);
      const round = world.ledger.round(w, this.node.name);
      round.steps = steps;
      round.computeMs = steps * this.stepMs;
      await world.clock.sleep(round.computeMs);
      round.computeEnd = world.clock.now;
      prevEnd = world.clock.now;
      prevWindow = steps > 0 ? w : null;
      const upload = this.upload(w, steps);
      follows.push(this.follow(w, upload));
    }
    await Promise.all(follows);
    if (prevWindow !== null) {
      const ready = Math.max(world.start(prevWindow + 1), prevEnd);
      this.closeRound(prevWindow, ready, await this.applied.when(Math.max(world.startWindow - 1, prevWindow - d)));
    }
  }

  /** The critical-path communication and idle time of the round that ended at computeEnd. */
  private closeRound(w: number, ready: number, dependsOn: number): void {
    const round = this.world.ledger.round(w, this.node.name);
    if (round.computeEnd === null) return;
    round.idleMs = ready - round.computeEnd;
    round.commCriticalMs = Math.max(0, dependsOn - ready);
  }

  private stepsFrom(w: number, start: number): number {
    const { world } = this;
    const delta = world.p.timeWindowDeltaMs;
    // the simulated miner's compression is part of its step time
    const budgetEnd = world.virtual(world.deadline(w).timeMaxMs) - uploadReserveMs({ compressMs: 0, uploadMs: this.lastUploadMs, timeWindowDeltaMs: delta });
    return stepsWithinBudget(world.p.innerSteps, start, budgetEnd, this.stepMs);
  }

  /** Uploads window w's gradient and debug dict at the boundary; false when the deadline had passed. */
  private async upload(w: number, steps: number): Promise<boolean> {
    const { world } = this;
    const deadline = world.deadline(w);
    await world.clock.until(world.virtual(deadline.timeMinMs));
    if (world.clock.now > world.virtual(deadline.timeMaxMs)) return false;
    const store = world.store(this.node, this.node.bucket, w);
    const round = world.ledger.round(w, this.node.name);
    round.uploadStart = world.clock.now;
    const uid = this.uid!;
    this.uploads.set(w, { steps, stepsBehind: Math.max(0, w - 1 - (world.scenario.overlap ? 1 : 0) - this.lastApplied) });
    try {
      const key = gradientKey(w, uid, world.p.version);
      const info = world.real !== null ? await store.put(key, world.real.encode(uid, w, this.lastApplied - world.startWindow + 1)) : await store.putSized(key, world.sizes.payloadBytes);
      // judged as every reader judges it: the store's lastModified against the boundary block's timestamp
      if (checkDeadline(info.lastModified, deadline, world.p) === 'TooLate') world.ledger.lateUpload(w, uid);
      await store.putSized(debugKey(w, uid, world.p.version), world.sizes.debugBytes);
    } catch {
      return false;
    }
    round.uploadMs = world.clock.now - round.uploadStart;
    this.lastUploadMs = round.uploadMs;
    return true;
  }

  /** Window w's outer step, after w−1's: its manifest, its payloads, the update. */
  private async follow(w: number, upload: Promise<boolean> | null): Promise<void> {
    await Promise.all([upload, this.applied.when(w - 1)]);
    await this.applyWindow(w, w);
  }

  private async applyWindow(w: number, bookTo: number): Promise<void> {
    const { world } = this;
    const leader = world.leaderBucket();
    const store = world.store(this.node, leader, bookTo);
    const key = aggregatorKey(w, world.p.version);
    await store.waitFor(key, world.scenario.manifestPollMs);
    const got = await store.getAny(key);
    const manifest = parseAggregatorManifest(got.body!, { expected: { window: w, version: world.p.version }, maxPayloadBytes: world.sizes.payloadBytes });
    for (const e of manifest.entries) {
      // a uid re-registered since then points at its new owner's bucket: the payload is gone (the real replica
      // then falls back to a checkpoint; the simulation counts the bytes it could fetch and goes on)
      const bucket = world.bucketOfUid(e.uid);
      if (bucket === null || !bucket.objects.has(e.key)) continue;
      await world.store(this.node, bucket, bookTo).getAny(e.key);
    }
    await world.clock.sleep(world.scenario.compute.applySeconds * 1000);
    this.lastApplied = w;
    const round = world.ledger.round(bookTo, this.node.name);
    round.appliedAt = world.clock.now;
    this.applied.reach(w, world.clock.now);
  }

  /**
   * Registers (one block later when the block's registrations are full), commits its bucket, and catches up:
   * the leader's latest checkpoint when far behind, then every manifest since. Returns the first window it trains.
   */
  private async join(): Promise<number | null> {
    const { world } = this;
    await world.clock.until(world.start(this.spec.joinWindow));
    for (;;) {
      try {
        this.uid = world.chain.register(this.spec.account);
        break;
      } catch (err) {
        if (!isEmbeddedChainError(err) || err.code !== 'TooManyRegistrationsThisBlock') throw err;
        await world.clock.until((world.chain.head + 1) * world.p.blockTimeMs);
      }
    }
    world.chain.setCommitment(this.spec.account.hotkey, 'x'.repeat(128));
    let registered = world.ledger.registered.get(this.spec.joinWindow);
    if (registered === undefined) world.ledger.registered.set(this.spec.joinWindow, (registered = []));
    registered.push(this.uid);
    const cur = world.windowAt(world.clock.now);
    const book = this.spec.joinWindow;
    if (cur - this.lastApplied > 3) {
      const leader = world.store(this.node, world.leaderBucket(), book);
      const pointer = await leader.head(checkpointLatestKey(world.p.version));
      if (pointer !== null) {
        const at = parseLatestPointer((await leader.getAny(checkpointLatestKey(world.p.version))).body!);
        await leader.getAny(checkpointModelKey(at, world.p.version));
        this.lastApplied = at;
        this.applied.reach(at, world.clock.now);
      }
    }
    for (let w = this.lastApplied + 1; w < cur; w++) await this.applyWindow(w, book);
    return cur;
  }
}
