/**
 * The miner (reference §2): per window w, from θ_w train H inner steps on its assigned samples, form the
 * pseudo-gradient, error feedback + compression, wait for the window boundary, upload `gradient-{w}-{uid}` (must land
 * within the upload delta), upload its debug dict, then follow window w's aggregator manifest to θ_{w+1}.
 * Warm-up windows are null rounds. State (parameters, EF buffers, step counters) is saved atomically every window,
 * so a restarted miner resumes where it stopped and catches up from manifests (or the leader's checkpoint).
 * Where a miner may deviate from this (following, the tensors sent, the upload) is asked of its GradientPolicy.
 */
import { join } from 'node:path';
import type { Chain } from '../chain/types.ts';
import { decodeErrorFeedback, encodeErrorFeedback, encodeGradient, type GradientMessage } from '../codec/index.ts';
import { paramSpecs } from '../model/config.ts';
import { InnerTrainer } from '../optim/inner-trainer.ts';
import { ErrorFeedback, pseudoGradient } from '../optim/sparseloco/index.ts';
import {
  buildDebugDict,
  checkDeadline,
  debugKey,
  encodeDebugDict,
  encodeGradientMeta,
  fetchUploadDeadline,
  gradientMeta,
  gradientKey,
  warmupWindows,
  windowBoundaryBlock,
  windowStartBlock,
} from '../protocol/index.ts';
import { isCodecError } from '../codec/errors.ts';
import { hasSparseKernels } from '../tensor/backend.ts';
import { cloneParams } from '../tensor/params.ts';
import { readFileIfExists, writeFileAtomic } from '../core/durable-write.ts';
import { peerLocation, type NodeBackend } from '../node/backend.ts';
import { ChainAccess, NodeStopped, type StopSignal } from '../node/chain-access.ts';
import type { NetworkConfig } from '../node/config/network.ts';
import type { NodeEvents } from '../node/events.ts';
import { setUpIdentity, type NodeIdentity } from '../node/identity.ts';
import { BehindError, Replica } from '../node/replica.ts';
import { assignedPool, type NodeSamples, type SampleLease, type SampleSource } from '../node/samples.ts';
import { openNodeSamples, type NodeDataOptions } from '../node/dataset.ts';
import { isDataError } from '../data/errors.ts';
import { waitForStartWindow } from '../node/start-window.ts';
import { RetentionSweeper } from '../node/retention.ts';
import { honestPolicy, type FollowOutcome, type GradientPolicy, type GradientSource, type TrainedDelta, type TrainOptions } from './gradient-policy.ts';

export interface MinerOptions {
  readonly net: NetworkConfig;
  readonly chain: Chain;
  /** Dev key name (hotkey) and node directory. */
  readonly name: string;
  readonly nodeDir: string;
  readonly events: NodeEvents;
  /** Where the miner's behaviour may differ from the protocol's (default: honest). */
  readonly policy?: GradientPolicy;
  /** Stop after this window has been uploaded (default: run until stopped). */
  readonly untilWindow?: number;
  /** Training data (default: the network's dataset, opened with `data`). */
  readonly samples?: NodeSamples;
  readonly data?: NodeDataOptions;
  /** Real backends (own S3 bucket, peers' endpoint, wallet keys); default the local network's. */
  readonly backend?: NodeBackend;
}

export class Miner implements StopSignal {
  stopped = false;
  private readonly net: NetworkConfig;
  private readonly access: ChainAccess;
  private samples!: SampleSource;
  private replica!: Replica;
  private trainer!: InnerTrainer;
  private ef!: ErrorFeedback;
  private id!: NodeIdentity;
  private startWindow = 0;
  private lastUploaded = -1;
  private readonly policy: GradientPolicy;
  private retention: RetentionSweeper | null = null;

  constructor(private readonly o: MinerOptions) {
    this.net = o.net;
    this.access = new ChainAccess(o.chain, o.net.protocol, peerLocation(o.net.storeRoot, o.backend), o.net.faults, this, o.events);
    this.policy = o.policy ?? honestPolicy;
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
    this.samples = (this.o.samples ?? (await openNodeSamples(this.net, this.o.nodeDir, this.o.events, this.o.data))).train;
    this.id = await setUpIdentity(this.o.chain, this.net, this.o.name, this.o.nodeDir, this.o.backend);
    this.o.events.emit('registered', { uid: this.id.uid, hotkey: this.id.hotkey.address, adversary: this.policy.adversary });
    this.retention = new RetentionSweeper({ store: this.id.store, protocol: this.p, events: this.o.events });
    this.startWindow = await waitForStartWindow(this.access, this.p.version);
    this.replica = new Replica(this.net, this.startWindow, this.o.events);
    const specs = paramSpecs(this.replica.config);
    const modelBackend = this.replica.model.backend;
    const encoder = hasSparseKernels(modelBackend) ? modelBackend : undefined;
    this.ef = ErrorFeedback.zeros(specs, encoder);
    const saved = this.replica.loadLocal(this.o.nodeDir);
    if (saved !== null) {
      const efPath = join(this.o.nodeDir, 'ef.bin');
      const efBytes = readFileIfExists(efPath);
      if (efBytes !== null && saved.efWindow === saved.lastApplied) {
        try {
          const restored = decodeErrorFeedback(efBytes, specs, encoder);
          this.ef.dispose();
          this.ef = restored;
        } catch (err) {
          if (!isCodecError(err)) throw err;
          this.o.events.emit('efDiscarded', { path: efPath, reason: err.message });
        }
      }
      this.lastUploaded = typeof saved.lastUploaded === 'number' ? saved.lastUploaded : -1;
      this.o.events.emit('resumed', { lastApplied: this.replica.lastApplied, globalStep: this.replica.globalStep, hash: this.replica.hash() });
    }
    const t = this.net.train;
    this.trainer = new InnerTrainer(this.replica.model, {
      schedule: { lr: t.lr, warmupSteps: t.warmupSteps, cosineSteps: t.cosineSteps },
      adamw: { weightDecay: t.weightDecay, decayAll: t.decayAllParams ?? false },
    });
    // token 0 everywhere: any valid batch of the training shape warms the same kernels
    const seqLen = this.samples.seqLen;
    this.trainer.warmUp({ tokens: new Int32Array(t.batchSize * (seqLen + 1)), batchSize: t.batchSize, seqLen });
  }

  private saveState(): void {
    writeFileAtomic(join(this.o.nodeDir, 'ef.bin'), encodeErrorFeedback(this.ef));
    this.replica.saveLocal(this.o.nodeDir, { efWindow: this.replica.lastApplied, lastUploaded: this.lastUploaded, uid: this.id.uid });
  }

  private async loop(): Promise<void> {
    for (;;) {
      this.access.checkStop();
      if (this.o.untilWindow !== undefined && this.lastUploaded >= this.o.untilWindow) return;
      const cur = await this.access.window();
      if (cur < this.startWindow) {
        await this.access.waitForBlock(windowStartBlock(this.startWindow, this.p));
        continue;
      }
      if (cur <= this.lastUploaded) {
        await this.access.waitForBlock(windowStartBlock(this.lastUploaded + 1, this.p));
        continue;
      }
      if ((await this.policy.follow(cur, this.replica, () => this.followNetwork(cur))) === 'notReady') continue;
      await this.trainAndUpload(cur);
      this.retention?.sweepInBackground(cur);
    }
  }

  /** Brings the replica to θ_cur: the newest validator checkpoint when far behind, then the aggregator manifests. */
  private async followNetwork(cur: number): Promise<FollowOutcome> {
    const bpw = this.p.blocksPerWindow;
    // Far behind (e.g. restarted after a long pause): a checkpoint newer than our state saves replaying.
    if (cur - this.replica.lastApplied > 3) {
      try {
        await this.replica.loadLatestCheckpoint(this.access);
      } catch (err) {
        this.o.events.emit('checkpointError', { error: (err as Error).message });
      }
    }
    const untilMs = Date.now() + 2 * bpw * this.p.blockTimeMs;
    let synced: boolean;
    try {
      synced = await this.replica.syncTo(this.access, cur, untilMs, { onApplied: (_w, info) => this.commAcc(info.downloadMs + info.applyMs, info.bytes, 0) });
    } catch (err) {
      if (!(err instanceof BehindError)) throw err;
      this.o.events.emit('behind', { window: cur, lastApplied: this.replica.lastApplied, reason: err.message });
      await this.access.sleep(this.p.blockTimeMs * 2);
      return 'notReady';
    }
    if (!synced) {
      this.o.events.emit('behind', { window: cur, lastApplied: this.replica.lastApplied, reason: 'manifest not posted in time' });
      return 'notReady';
    }
    this.saveState();
    const now = await this.access.window();
    if (now !== cur) {
      this.o.events.emit('skippedWindow', { window: cur, reason: 'caught up after the window ended' });
      return 'notReady';
    }
    return 'ready';
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
  private lastLoss = NaN;

  private commAcc(ms: number, downBytes: number, upBytes: number): void {
    this.commMs += ms;
    this.commBytes += downBytes + upBytes;
  }

  private isWarmup(w: number): boolean {
    return w < this.startWindow + warmupWindows(this.p);
  }

  private async trainAndUpload(w: number): Promise<void> {
    const t0 = performance.now();
    const draft = await this.draftOf(w);
    if (draft === null) {
      this.lastUploaded = w;
      return;
    }
    const loss = this.lastLoss;
    const trainMs = performance.now() - t0;
    this.trainMsTotal += trainMs;
    this.compressMsTotal += this.lastCompressMs;
    const warm = draft.nullRound;
    // the upload may not land before the boundary block's timestamp
    await this.access.waitForBlock(windowBoundaryBlock(w, this.p));
    const deadline = await fetchUploadDeadline(this.o.chain, w, this.p);
    const out = await this.policy.outgoing(draft, {
      window: w,
      uid: this.id.uid,
      warmup: warm,
      deadline,
      version: this.p.version,
      schema: this.replica.schema,
      maxPayloadBytes: this.replica.maxPayloadBytes,
      peers: this.access,
      events: this.o.events,
      sleep: (ms) => this.access.sleep(ms),
    });
    if (out === null) {
      this.lastUploaded = w;
      return;
    }
    const msg = out.msg;
    if (Date.now() > deadline.timeMaxMs && out.evenIfLate !== true) {
      this.o.events.emit('missedDeadline', { window: w, lateByMs: Date.now() - deadline.timeMaxMs });
      this.lastUploaded = w;
      return;
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
  }

  /**
   * Window w's message before the upload: trained (or a null round in warm-up), its metadata the digest of the
   * assigned pool. The pool's shards are fetched and pinned first; when they cannot be read the window is skipped
   * (null): nothing is trained on data that is missing or disagrees with the dataset manifest.
   */
  private async draftOf(w: number): Promise<GradientMessage | null> {
    const warm = this.isWarmup(w);
    this.lastCompressMs = 0;
    this.lastInnerSteps = 0;
    this.lastLoss = NaN;
    let lease: SampleLease | null = null;
    try {
      lease = await this.samples.prepare(this.assignedPool(w));
      const tensors = warm ? this.ef.nullRound(this.net.sparseloco) : await this.policy.produce(this.gradientSource(w));
      return {
        uid: this.id.uid,
        window: w,
        globalStep: this.replica.globalStep,
        nullRound: warm,
        meta: encodeGradientMeta(gradientMeta(w, this.assignedPool(w), this.samples, this.net.train.batchSize * this.lastInnerSteps)),
        tensors,
      };
    } catch (err) {
      if (!isDataError(err)) throw err;
      this.o.events.emit('dataUnavailable', { window: w, reason: err.message });
      return null;
    } finally {
      lease?.release();
    }
  }

  /** The honest pipeline of window w for the policy; records the loss, steps and compression time it reports. */
  private gradientSource(w: number): GradientSource {
    return {
      window: w,
      params: this.replica.params,
      compression: this.net.sparseloco,
      innerSteps: this.p.innerSteps,
      pool: this.assignedPool(w),
      train: async (o?: TrainOptions): Promise<TrainedDelta> => {
        // a policy may train on another pool than the assigned one (held by draftOf)
        const lease = o?.pool === undefined ? null : await this.samples.prepare(o.pool);
        try {
          const r = this.train(w, await this.trainingBudgetEnd(w), o);
          this.lastLoss = r.loss;
          this.lastInnerSteps = r.steps;
          return r;
        } finally {
          lease?.release();
        }
      },
      compress: (delta) => {
        const c0 = performance.now();
        const tensors = this.ef.step(delta, this.net.sparseloco);
        this.lastCompressMs = performance.now() - c0;
        this.compressEstimateMs = this.lastCompressMs;
        return tensors;
      },
      nullRound: () => this.ef.nullRound(this.net.sparseloco),
    };
  }

  /** This miner's samples of window w: H batches. */
  private assignedPool(w: number): number[] {
    return assignedPool(this.id.uid, w, this.p.innerSteps * this.net.train.batchSize, this.samples.sampleCount);
  }

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
  private train(w: number, budgetEndMs: number, o: TrainOptions = {}): TrainedDelta {
    const t = this.net.train;
    const H = Math.min(this.p.innerSteps, o.steps ?? Infinity);
    const pool = o.pool ?? this.assignedPool(w);
    const start = cloneParams(this.replica.params);
    this.trainer.setStep(Math.max(0, w - this.startWindow) * this.p.innerSteps);
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
}
