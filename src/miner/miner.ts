/**
 * The miner (reference §2): per window w, from θ_w train H inner steps on its assigned samples, form the
 * pseudo-gradient, error feedback + compression, wait for the window boundary, upload `gradient-{w}-{uid}` (must land
 * within the upload delta), upload its debug dict, then follow the leader's aggregator manifest to θ_{w+1}.
 * Warm-up windows are null rounds. State (parameters, EF buffers, step counters) is saved atomically every window,
 * so a restarted miner resumes where it stopped and catches up from manifests (or the leader's checkpoint).
 */
import { join } from 'node:path';
import type { Chain } from '../chain/types.ts';
import { decodeErrorFeedback, decodeGradient, encodeErrorFeedback, encodeGradient, type GradientMessage } from '../codec/index.ts';
import { paramSpecs } from '../model/config.ts';
import { InnerTrainer } from '../optim/inner-trainer.ts';
import { compress, ErrorFeedback, pseudoGradient, type CompressedTensor } from '../optim/sparseloco/index.ts';
import {
  buildDebugDict,
  checkDeadline,
  debugKey,
  encodeDebugDict,
  fetchUploadDeadline,
  gradientKey,
  warmupWindows,
  windowBoundaryBlock,
  windowStartBlock,
} from '../protocol/index.ts';
import { isStoreError } from '../storage/index.ts';
import { isCodecError } from '../codec/errors.ts';
import { cloneParams, type ParamTensor } from '../tensor/params.ts';
import { Rng } from '../tensor/rng.ts';
import type { AdversaryKind } from '../net/adversaries.ts';
import { readFileIfExists, writeFileAtomic } from '../core/durable-write.ts';
import { peerLocation, type NodeBackend } from '../node/backend.ts';
import { ChainAccess, NodeStopped, type StopSignal } from '../node/chain-access.ts';
import type { NetworkConfig } from '../node/config/network.ts';
import type { NodeEvents } from '../node/events.ts';
import { setUpIdentity, type NodeIdentity } from '../node/identity.ts';
import { BehindError, Replica } from '../node/replica.ts';
import { assignedPool, datasetSamples, sampleDigest, type NodeSamples, type SampleSource } from '../node/samples.ts';
import { waitForStartWindow } from '../node/start-window.ts';

export interface MinerOptions {
  readonly net: NetworkConfig;
  readonly chain: Chain;
  /** Dev key name (hotkey) and node directory. */
  readonly name: string;
  readonly nodeDir: string;
  readonly events: NodeEvents;
  readonly adversary?: AdversaryKind;
  /** Stop after this window has been uploaded (default: run until stopped). */
  readonly untilWindow?: number;
  readonly samples?: NodeSamples;
  /** Real backends (own S3 bucket, peers' endpoint, wallet keys); default the local network's. */
  readonly backend?: NodeBackend;
}

export class Miner implements StopSignal {
  stopped = false;
  private readonly net: NetworkConfig;
  private readonly access: ChainAccess;
  private readonly samples: SampleSource;
  private replica!: Replica;
  private trainer!: InnerTrainer;
  private ef!: ErrorFeedback;
  private id!: NodeIdentity;
  private startWindow = 0;
  private lastUploaded = -1;
  private previous: GradientMessage | null = null;
  private readonly rng: Rng;

  constructor(private readonly o: MinerOptions) {
    this.net = o.net;
    this.access = new ChainAccess(o.chain, o.net.protocol, peerLocation(o.net.storeRoot, o.backend), o.net.faults, this, o.events);
    this.samples = (o.samples ?? datasetSamples(o.net.train.seqLen)).train;
    this.rng = new Rng(Date.now() % 2 ** 31);
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
      this.o.events.emit('stopped', { lastApplied: this.replica?.lastApplied, lastUploaded: this.lastUploaded });
      this.trainer?.dispose();
      this.replica?.dispose();
    }
  }

  private async setUp(): Promise<void> {
    this.id = await setUpIdentity(this.o.chain, this.net, this.o.name, this.o.nodeDir, this.o.backend);
    this.o.events.emit('registered', { uid: this.id.uid, hotkey: this.id.hotkey.address, adversary: this.o.adversary ?? null });
    this.startWindow = await waitForStartWindow(this.access, this.p.version);
    this.replica = new Replica(this.net, this.startWindow, this.o.events);
    const specs = paramSpecs(this.replica.config);
    this.ef = ErrorFeedback.zeros(specs);
    const saved = this.replica.loadLocal(this.o.nodeDir);
    if (saved !== null) {
      const efPath = join(this.o.nodeDir, 'ef.bin');
      const efBytes = readFileIfExists(efPath);
      if (efBytes !== null && saved.efWindow === saved.lastApplied) {
        try {
          this.ef = decodeErrorFeedback(efBytes, specs);
        } catch (err) {
          if (!isCodecError(err)) throw err;
          this.o.events.emit('efDiscarded', { path: efPath, reason: err.message });
          this.ef = ErrorFeedback.zeros(specs);
        }
      }
      this.lastUploaded = typeof saved.lastUploaded === 'number' ? saved.lastUploaded : -1;
      this.o.events.emit('resumed', { lastApplied: this.replica.lastApplied, globalStep: this.replica.globalStep, hash: this.replica.hash() });
    }
    const t = this.net.train;
    this.trainer = new InnerTrainer(this.replica.model, {
      schedule: { lr: t.lr, warmupSteps: t.warmupSteps, cosineSteps: t.cosineSteps },
      adamw: { weightDecay: t.weightDecay },
    });
  }

  private saveState(): void {
    writeFileAtomic(join(this.o.nodeDir, 'ef.bin'), encodeErrorFeedback(this.ef));
    this.replica.saveLocal(this.o.nodeDir, { efWindow: this.replica.lastApplied, lastUploaded: this.lastUploaded, uid: this.id.uid });
  }

  private async loop(): Promise<void> {
    const bpw = this.p.blocksPerWindow;
    for (;;) {
      this.access.checkStop();
      if (this.o.untilWindow !== undefined && this.lastUploaded >= this.o.untilWindow) return;
      let cur = await this.access.window();
      if (cur < this.startWindow) {
        await this.access.waitForBlock(windowStartBlock(this.startWindow, this.p));
        continue;
      }
      if (cur <= this.lastUploaded) {
        await this.access.waitForBlock(windowStartBlock(this.lastUploaded + 1, this.p));
        continue;
      }
      // Far behind (e.g. restarted after a long pause): a checkpoint newer than our state saves replaying.
      if (cur - this.replica.lastApplied > 3 && this.o.adversary !== 'desynced') {
        try {
          await this.replica.loadLatestCheckpoint(this.access);
        } catch (err) {
          this.o.events.emit('checkpointError', { error: (err as Error).message });
        }
      }
      if (this.o.adversary !== 'desynced') {
        const untilMs = Date.now() + 2 * bpw * this.p.blockTimeMs;
        let synced: boolean;
        try {
          synced = await this.replica.syncTo(this.access, cur, untilMs, (w, info) => this.commAcc(info.downloadMs + info.applyMs, info.bytes, 0));
        } catch (err) {
          if (!(err instanceof BehindError)) throw err;
          this.o.events.emit('behind', { window: cur, lastApplied: this.replica.lastApplied, reason: err.message });
          await this.access.sleep(this.p.blockTimeMs * 2);
          continue;
        }
        if (!synced) {
          this.o.events.emit('behind', { window: cur, lastApplied: this.replica.lastApplied, reason: 'manifest not posted in time' });
          continue;
        }
        this.saveState();
        const now = await this.access.window();
        if (now !== cur) {
          this.o.events.emit('skippedWindow', { window: cur, reason: 'caught up after the window ended' });
          continue;
        }
      } else {
        // trains from its own stale model; pretends to be current
        this.replica.lastApplied = cur - 1;
      }
      cur = await this.trainAndUpload(cur);
    }
  }

  private commMs = 0;
  private commBytes = 0;
  /** Inner steps + error feedback + compression (compression also reported on its own). */
  private trainMsTotal = 0;
  private compressMsTotal = 0;
  private lastCompressMs = 0;
  private lastUploadMs = 0;
  private compressEstimateMs = 0;
  private lastInnerSteps = 0;

  private commAcc(ms: number, downBytes: number, upBytes: number): void {
    this.commMs += ms;
    this.commBytes += downBytes + upBytes;
  }

  private isWarmup(w: number): boolean {
    return w < this.startWindow + warmupWindows(this.p);
  }

  private async trainAndUpload(w: number): Promise<number> {
    const adv = this.o.adversary;
    const warm = this.isWarmup(w);
    this.lastCompressMs = 0;
    this.lastInnerSteps = 0;
    const t0 = performance.now();
    let tensors: CompressedTensor[];
    let loss = NaN;
    if (warm || adv === 'free-rider') {
      tensors = this.ef.nullRound(this.net.sparseloco);
    } else if (adv === 'noise') {
      // random direction of a plausible size (validators clip it to the window's median norm anyway)
      const noise = this.replica.params.map((p) => {
        const d = new Float32Array(p.data.length);
        for (let i = 0; i < d.length; i++) d[i] = this.rng.normal() * 0.02;
        return { name: p.name, shape: p.shape, data: d };
      });
      tensors = compress(noise, this.net.sparseloco);
    } else if (adv === 'copycat') {
      tensors = [];
    } else {
      const r = this.train(w, await this.trainingBudgetEnd(w));
      loss = r.loss;
      this.lastInnerSteps = r.steps;
      let delta = r.delta;
      if (adv === 'poisoner') {
        delta = delta.map((d) => ({ ...d, data: d.data.map((x) => -10 * x) }));
      }
      const c0 = performance.now();
      tensors = this.ef.step(delta, this.net.sparseloco);
      this.lastCompressMs = performance.now() - c0;
      this.compressEstimateMs = this.lastCompressMs;
    }
    const trainMs = performance.now() - t0;
    this.trainMsTotal += trainMs;
    this.compressMsTotal += this.lastCompressMs;
    let msg: GradientMessage = {
      uid: this.id.uid,
      window: w,
      globalStep: this.replica.globalStep,
      nullRound: warm,
      meta: new TextEncoder().encode(JSON.stringify({ samples: this.net.train.batchSize * this.lastInnerSteps })),
      tensors,
    };
    if (adv === 'stale' && !warm) {
      const prev = this.previous;
      this.previous = msg;
      if (prev !== null) msg = { ...prev, window: w, globalStep: this.replica.globalStep };
    }
    // the upload may not land before the boundary block's timestamp
    await this.access.waitForBlock(windowBoundaryBlock(w, this.p));
    const deadline = await fetchUploadDeadline(this.o.chain, w, this.p);
    if (adv === 'late') await this.access.sleep(Math.max(0, deadline.timeMaxMs - Date.now()) + 1500);
    if (adv === 'copycat' && !warm) {
      const copied = await this.copyVictim(w, deadline.timeMaxMs);
      if (copied === null) {
        this.lastUploaded = w;
        return w;
      }
      msg = { ...copied, uid: this.id.uid };
    }
    if (Date.now() > deadline.timeMaxMs && adv !== 'late') {
      this.o.events.emit('missedDeadline', { window: w, lateByMs: Date.now() - deadline.timeMaxMs });
      this.lastUploaded = w;
      return w;
    }
    const bytes = encodeGradient(msg, this.replica.schema);
    const u0 = performance.now();
    const info = await this.id.store.put(gradientKey(w, this.id.uid, this.p.version), bytes);
    const dbg = encodeDebugDict(buildDebugDict(this.replica.params, w, this.id.uid, this.p));
    await this.id.store.put(debugKey(w, this.id.uid, this.p.version), dbg);
    const uploadMs = performance.now() - u0;
    this.lastUploadMs = uploadMs;
    this.commAcc(uploadMs, 0, bytes.length + dbg.length);
    const status = checkDeadline(info.lastModified, deadline, this.p);
    this.lastUploaded = w;
    this.saveState();
    this.o.events.emit('uploaded', {
      window: w,
      bytes: bytes.length,
      status,
      nullRound: msg.nullRound,
      loss: Number.isFinite(loss) ? loss : null,
      trainMs: Math.round(trainMs),
      innerSteps: this.lastInnerSteps,
      uploadMs: Math.round(uploadMs),
      debugBytes: dbg.length,
      deadlineMarginMs: deadline.timeMaxMs - info.lastModified.getTime(),
      commMsTotal: Math.round(this.commMs),
      trainMsTotal: Math.round(this.trainMsTotal),
      compressMsTotal: Math.round(this.compressMsTotal),
      commBytesTotal: this.commBytes,
      hash: this.replica.hash(),
    });
    return w;
  }

  /** H inner steps from θ_w on the assigned samples; returns Δ = θ_w − θ_H and restores θ_w. */
  /**
   * Wall-clock time by which the inner steps must end so that compression and the upload still land before the
   * window's deadline (the boundary block's expected time plus timeWindowDeltaMs), judged from the chain's head.
   */
  private async trainingBudgetEnd(w: number): Promise<number> {
    const blocksLeft = windowBoundaryBlock(w, this.p) - (await this.access.block());
    const deadlineMs = Date.now() + Math.max(0, blocksLeft) * this.p.blockTimeMs + this.p.timeWindowDeltaMs;
    const reserveMs = 2 * this.compressEstimateMs + 2 * this.lastUploadMs + this.p.timeWindowDeltaMs / 4;
    return deadlineMs - reserveMs;
  }

  /**
   * H inner steps on the assigned samples, or fewer when the machine is too slow for the window: a step is only
   * started when the mean step time so far says it ends before `budgetEndMs` (the first step always runs). A late
   * upload scores as missing, while fewer steps still improve the model and keep the miner in the aggregation.
   */
  private train(w: number, budgetEndMs: number): { delta: ParamTensor[]; loss: number; steps: number } {
    const t = this.net.train;
    const H = this.p.innerSteps;
    const pool = assignedPool(this.id.uid, w, H * t.batchSize, this.samples.sampleCount);
    const start = cloneParams(this.replica.params);
    this.trainer.setStep(Math.max(0, w - this.startWindow) * H);
    let lossSum = 0;
    let steps = 0;
    const t0 = Date.now();
    for (let s = 0; s < H; s++) {
      if (s > 0 && Date.now() + (Date.now() - t0) / s > budgetEndMs) break;
      const r = this.trainer.step(this.samples.batch(pool.slice(s * t.batchSize, (s + 1) * t.batchSize)));
      lossSum += r.loss;
      steps++;
    }
    if (steps < H) this.o.events.emit('shortWindow', { window: w, steps, of: H, reason: 'inner steps cut to meet the upload deadline' });
    const delta = pseudoGradient(start, this.replica.params);
    this.replica.params.forEach((p, i) => p.data.set(start[i].data));
    return { delta, loss: lossSum / steps, steps };
  }

  /** Copycat: waits for another miner's upload, then re-labels it as its own. */
  private async copyVictim(w: number, untilMs: number): Promise<GradientMessage | null> {
    const m = await this.access.metagraph(0);
    const victims = m.neurons.filter((n) => n.uid !== this.id.uid && !n.validatorPermit).map((n) => n.uid).sort((a, b) => a - b);
    while (Date.now() < untilMs) {
      for (const v of victims) {
        const store = await this.access.bucketOf(v);
        if (store === null) continue;
        try {
          const bytes = await store.get(gradientKey(w, v, this.p.version), { maxBytes: this.replica.maxPayloadBytes });
          const msg = decodeGradient(bytes, this.replica.schema, { expectWindow: w, expectUid: v });
          if (msg.nullRound) continue;
          this.o.events.emit('copied', { window: w, from: v });
          return msg;
        } catch (err) {
          if (!isStoreError(err, 'NotFound') && !isCodecError(err)) throw err;
        }
      }
      await this.access.sleep(100);
    }
    return null;
  }
}
