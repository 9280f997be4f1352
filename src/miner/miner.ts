/**
 * The miner (reference §2): per window w, from θ_w train H inner steps on its assigned samples, form the
 * pseudo-gradient, error feedback + compression, wait for the window boundary, upload `gradient-{w}-{uid}` (must land
 * within the upload delta), upload its debug dict, then follow window w's aggregator manifest to θ_{w+1}.
 * Warm-up windows are null rounds. State (parameters, EF buffers, step counters) is saved atomically every window,
 * so a restarted miner resumes where it stopped and catches up from manifests (or the leader's checkpoint).
 * Where a miner may deviate from this (following, the tensors sent, the upload) is asked of its GradientPolicy.
 *
 * With the network option `train.overlapCommunication` (beyond Templar; Streaming DiLoCo / DiLoCoX's one-step-delayed
 * outer update) communication does not stall compute: at window w+1 the miner trains from θ_w, the parameters it
 * holds, while window w's upload runs and window w's manifest is awaited, downloaded and decoded in the background.
 * w's outer step lands as soon as it is ready, between two inner steps: the parameters being trained are set aside,
 * θ_w is restored and the outer step applied (never to a half-trained θ), giving the canonical θ_{w+1} = θ_w +
 * outer(manifest_w), the same on every node; the set-aside parameters move by θ_{w+1} − start and training goes on
 * from there. The pseudo-gradient is then θ_{w+1} − θ_end, the inner steps' own progress, and only the steps before
 * the landing were computed at a stale point (the share of compute that communication takes). When w's outer step is
 * not ready before the inner steps end, it lands after them and window w+1's pseudo-gradient is start − θ_end
 * (one-step delayed). The debug dict uploaded with it is θ_{w+1}'s, as a non-overlapped miner's. With
 * `train.overlapEager` the inner steps start from θ_w plus the miner's own window-w update (its estimate of θ_{w+1});
 * with `train.overlapRebase` a pseudo-gradient whose outer step landed after the steps is taken against θ_{w+1}.
 */
import { join } from 'node:path';
import type { Chain } from '../chain/types.ts';
import { decodeErrorFeedback, encodeErrorFeedback, encodeGradient, type GradientMessage } from '../codec/index.ts';
import { paramSpecs } from '../model/config.ts';
import { applyOuterStep, ErrorFeedback, outerStepOptions, pseudoGradient, rebasePseudoGradient } from '../optim/sparseloco/index.ts';
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
import { cloneParams, type ParamTensor } from '../tensor/params.ts';
import { readFileIfExists, writeFileAtomic } from '../core/durable-write.ts';
import { peerLocation, type NodeBackend } from '../node/backend.ts';
import { ChainAccess, NodeStopped, type StopSignal } from '../node/chain-access.ts';
import type { NetworkConfig } from '../node/config/network.ts';
import { parseSpeedFlag } from '../node/config/flags.ts';
import type { NodeEvents } from '../node/events.ts';
import { setUpIdentity, type NodeIdentity } from '../node/identity.ts';
import { BehindError, Replica, type PreparedWindow } from '../node/replica.ts';
import { assignedPool, type NodeSamples, type SampleLease, type SampleSource } from '../node/samples.ts';
import { openNodeSamples, type NodeDataOptions } from '../node/dataset.ts';
import { isDataError } from '../data/errors.ts';
import { waitForStartWindow } from '../node/start-window.ts';
import { RetentionSweeper } from '../node/retention.ts';
import { mayStartStep, slowedStepMs, uploadReserveMs } from './step-budget.ts';
import { openInnerDevice, type ComputeKind, type InnerDevice } from './inner-device.ts';
import type { WebGpuDevice } from '../tensor/webgpu-device.ts';
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
  /**
   * Testing peers of different speed (default 1): the miner runs like hardware this fraction as fast as one that
   * just fits the window's H inner steps in its training budget. Each step is padded (by sleeping) to
   * budget / (H · speed), so the step budget (mayStartStep) honestly cuts the window to ⌊speed · H⌋ steps (at least
   * one), and the gradient's metadata states the samples those steps trained.
   */
  readonly speed?: number;
  /** Training data (default: the network's dataset, opened with `data`). */
  readonly samples?: NodeSamples;
  readonly data?: NodeDataOptions;
  /** Real backends (own S3 bucket, peers' endpoint, wallet keys); default the local network's. */
  readonly backend?: NodeBackend;
  /** Where the inner steps run (default wasm); webgpu falls back to wasm, saying why, without an adapter. */
  readonly compute?: ComputeKind;
  /** Compute threads of the wasm engine (default 1; results do not depend on it). */
  readonly threads?: number;
  /** WebGPU device source (tests simulate a machine without an adapter). */
  readonly requestWebGpu?: () => Promise<WebGpuDevice>;
}

/** A window's message ready for its upload, with what goes out beside it (taken when it was drafted). */
interface Drafted {
  readonly window: number;
  readonly draft: GradientMessage;
  readonly loss: number;
  readonly trainMs: number;
  readonly innerSteps: number;
  /** The encoded debug dict of the replica's parameters once the window was drafted. */
  readonly debug: Uint8Array;
  readonly hash: string;
}

export class Miner implements StopSignal {
  stopped = false;
  private readonly net: NetworkConfig;
  private readonly access: ChainAccess;
  private samples!: SampleSource;
  private replica!: Replica;
  private inner!: InnerDevice;
  private ef!: ErrorFeedback;
  private id!: NodeIdentity;
  private startWindow = 0;
  private lastUploaded = -1;
  /** Last window whose message was drafted (overlapped: its upload may still be in flight). */
  private lastDrafted = -1;
  /** Overlapped: the upload in flight (rejections surface where it is awaited). */
  private uploading: Promise<void> | null = null;
  /** Overlapped: applies the window prefetched during training (then null), given the inner steps trained before. */
  private pendingApply: ((stepsBefore: number) => Promise<void>) | null = null;
  /** Overlapped: the prefetch of the window in flight has settled, so pendingApply will not wait. */
  private prefetchSettled = false;
  private prefetchToken = 0;
  /** Overlapped: this miner's own last trained message (eager: applied locally before the next inner steps). */
  private lastOwn: GradientMessage | null = null;
  /** Inner steps are running (an outer step landing now lands mid-window). */
  private training = false;
  /** Eager: the own update the next inner steps start after (consumed by train()). */
  private eagerUpdate: GradientMessage | null = null;
  private readonly policy: GradientPolicy;
  private retention: RetentionSweeper | null = null;

  constructor(private readonly o: MinerOptions) {
    this.net = o.net;
    this.access = new ChainAccess(o.chain, o.net.protocol, peerLocation(o.net.storeRoot, o.backend), o.net.faults, this, o.events);
    this.policy = o.policy ?? honestPolicy;
    if (o.speed !== undefined) parseSpeedFlag('speed', o.speed);
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
      await this.uploading?.catch(() => {});
      this.o.events.emit('stopped', { lastApplied: this.replica?.lastApplied, lastUploaded: this.lastUploaded });
      this.inner?.dispose();
      this.replica?.dispose();
    }
  }

  private async setUp(): Promise<void> {
    this.samples = (this.o.samples ?? (await openNodeSamples(this.net, this.o.nodeDir, this.o.events, this.o.data))).train;
    this.id = await setUpIdentity(this.o.chain, this.net, this.o.name, this.o.nodeDir, this.o.backend);
    this.o.events.emit('registered', { uid: this.id.uid, hotkey: this.id.hotkey.address, adversary: this.policy.adversary });
    this.retention = new RetentionSweeper({ store: this.id.store, protocol: this.p, events: this.o.events });
    this.startWindow = await waitForStartWindow(this.access, this.p.version);
    this.replica = new Replica(this.net, this.startWindow, this.o.events, this.o.threads);
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
      this.lastDrafted = this.lastUploaded;
      this.o.events.emit('resumed', { lastApplied: this.replica.lastApplied, globalStep: this.replica.globalStep, hash: this.replica.hash() });
    }
    const t = this.net.train;
    this.inner = await openInnerDevice(this.o.compute ?? 'wasm', this.replica.model, {
      schedule: { lr: t.lr, warmupSteps: t.warmupSteps, cosineSteps: t.cosineSteps },
      adamw: { weightDecay: t.weightDecay, decayAll: t.decayAllParams ?? false },
    }, this.o.requestWebGpu);
    if (this.inner.fallback !== null) this.o.events.emit('computeFallback', { requested: this.o.compute ?? 'wasm', using: this.inner.kind, reason: this.inner.fallback });
    this.o.events.emit('computeBackend', { backend: this.inner.kind, adapter: this.inner.adapter });
    // token 0 everywhere: any valid batch of the training shape warms the same kernels
    const seqLen = this.samples.seqLen;
    await this.inner.warmUp({ tokens: new Int32Array(t.batchSize * (seqLen + 1)), batchSize: t.batchSize, seqLen });
  }

  private saveState(): void {
    writeFileAtomic(join(this.o.nodeDir, 'ef.bin'), encodeErrorFeedback(this.ef));
    this.replica.saveLocal(this.o.nodeDir, { efWindow: this.replica.lastApplied, lastUploaded: this.lastUploaded, uid: this.id.uid });
  }

  private get overlapped(): boolean {
    return this.net.train.overlapCommunication === true;
  }

  private async loop(): Promise<void> {
    if (this.overlapped) return this.overlappedLoop();
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
      if ((await this.policy.follow(cur, this.replica, () => this.followNetwork(cur, cur))) === 'notReady') continue;
      await this.trainAndUpload(cur);
      this.retention?.sweepInBackground(cur);
    }
  }

  /**
   * Overlapped communication: window cur trains from θ_{cur−1} (following only up to there), while window cur−1's
   * upload (started when it was drafted) and its manifest's download run; the manifest is applied after the inner
   * steps, then cur's message is drafted and its upload started in the background.
   */
  private async overlappedLoop(): Promise<void> {
    for (;;) {
      this.access.checkStop();
      if (this.o.untilWindow !== undefined && this.lastDrafted >= this.o.untilWindow) {
        await this.uploading;
        return;
      }
      const cur = await this.access.window();
      if (cur < this.startWindow) {
        await this.access.waitForBlock(windowStartBlock(this.startWindow, this.p));
        continue;
      }
      if (cur <= this.lastDrafted) {
        await this.access.waitForBlock(windowStartBlock(this.lastDrafted + 1, this.p));
        continue;
      }
      if ((await this.policy.follow(cur, this.replica, () => this.followNetwork(cur, cur - 1))) === 'notReady') continue;
      const prefetched = this.replica.lastApplied === cur - 2 ? cur - 1 : null;
      const eager = prefetched !== null && this.net.train.overlapEager === true && this.lastOwn?.window === prefetched ? this.lastOwn : null;
      this.eagerUpdate = eager;
      const trainStartMs = Date.now();
      let manifestFoundMs: number | null = null;
      let prefetch: Promise<PreparedWindow | null> | null = null;
      this.prefetchSettled = false;
      this.prefetchToken++;
      if (prefetched !== null) {
        const untilMs = await this.trainingBudgetEnd(cur);
        prefetch = this.replica.prepareWindow(this.access, prefetched, untilMs, { decode: true }).then((x) => {
          if (x !== null) manifestFoundMs = x.foundAtMs;
          return x;
        });
        const token = ++this.prefetchToken;
        const settle = (): void => {
          if (this.prefetchToken === token) this.prefetchSettled = true;
        };
        prefetch.then(settle, settle);
        this.pendingApply = async (stepsBefore: number) => {
          this.pendingApply = null;
          const pausedMs = Date.now();
          const midWindow = this.training;
          await this.applyPrefetched(cur, prefetched, prefetch!);
          const appliedMs = Date.now();
          this.lastApplyMs = appliedMs - pausedMs;
          if (this.replica.lastApplied === prefetched) {
            this.o.events.emit('overlapApplied', { window: cur, applied: prefetched, eager: eager !== null, midWindow, stepsBefore, trainStartMs, manifestFoundMs, appliedMs, waitedMs: appliedMs - pausedMs });
          }
        };
      }
      let drafted: Drafted | null;
      try {
        drafted = await this.draftWindow(cur);
        // a window that trained nothing (warm-up, data unavailable, a policy's choice) applies here
        await this.pendingApply?.(0);
      } finally {
        this.pendingApply = null;
        this.eagerUpdate = null;
      }
      this.lastOwn = drafted !== null && !drafted.draft.nullRound ? drafted.draft : null;
      await this.uploading;
      this.uploading = null;
      this.lastDrafted = cur;
      if (drafted === null) this.lastUploaded = cur;
      else {
        const upload = this.upload(drafted, false);
        upload.catch(() => {});
        this.uploading = upload;
      }
      this.saveState();
      this.retention?.sweepInBackground(cur);
    }
  }

  /** After window cur's inner steps: applies window w's prefetched outer step, or says why the replica stays behind. */
  private async applyPrefetched(cur: number, w: number, prefetch: Promise<PreparedWindow | null>): Promise<void> {
    let prepared: PreparedWindow | null;
    try {
      prepared = await prefetch;
    } catch (err) {
      if (!(err instanceof BehindError)) throw err;
      this.o.events.emit('behind', { window: cur, lastApplied: this.replica.lastApplied, reason: err.message });
      return;
    }
    if (prepared === null) {
      this.o.events.emit('behind', { window: cur, lastApplied: this.replica.lastApplied, reason: `manifest of window ${w} not posted before the inner steps' budget ran out` });
      return;
    }
    if (this.replica.lastApplied !== w - 1) return; // a policy moved the replica meanwhile
    const info = this.replica.applyPrepared(prepared);
    this.commAcc(info.downloadMs + info.applyMs, info.bytes, 0);
  }

  /**
   * Brings the replica to θ_target (θ_cur; overlapped θ_{cur−1}): the newest validator checkpoint when far behind,
   * then the aggregator manifests.
   */
  private async followNetwork(cur: number, target: number): Promise<FollowOutcome> {
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
      synced = await this.replica.syncTo(this.access, target, untilMs, { onApplied: (_w, info) => this.commAcc(info.downloadMs + info.applyMs, info.bytes, 0) });
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
  /** Overlapped: time the last draft spent waiting for and applying the previous window's outer step (not training). */
  private lastApplyMs = 0;

  private commAcc(ms: number, downBytes: number, upBytes: number): void {
    this.commMs += ms;
    this.commBytes += downBytes + upBytes;
  }

  private isWarmup(w: number): boolean {
    return w < this.startWindow + warmupWindows(this.p);
  }

  private async trainAndUpload(w: number): Promise<void> {
    const drafted = await this.draftWindow(w);
    this.lastDrafted = w;
    if (drafted === null) {
      this.lastUploaded = w;
      return;
    }
    await this.upload(drafted, true);
  }

  /**
   * Window w's message, trained and compressed, with the debug dict and hash of θ_w that go out with it (overlapped,
   * θ_w is what the replica holds once window w−1's outer step has been applied after the inner steps).
   */
  private async draftWindow(w: number): Promise<Drafted | null> {
    const t0 = performance.now();
    this.lastApplyMs = 0;
    const draft = await this.draftOf(w);
    if (draft === null) return null;
    const trainMs = performance.now() - t0 - this.lastApplyMs;
    this.trainMsTotal += trainMs;
    this.compressMsTotal += this.lastCompressMs;
    // taken now: an overlapped miner is training the next window on these parameters while this one uploads
    const debug = encodeDebugDict(buildDebugDict(this.replica.params, w, this.id.uid, this.p));
    return { window: w, draft, loss: this.lastLoss, trainMs, innerSteps: this.lastInnerSteps, debug, hash: this.replica.hash() };
  }

  /** At window w's boundary: the policy's outgoing message, uploaded with the debug dict if still in time. */
  private async upload(d: Drafted, save: boolean): Promise<void> {
    const w = d.window;
    const { draft, loss, trainMs } = d;
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
    const dbg = d.debug;
    await this.id.store.put(debugKey(w, this.id.uid, this.p.version), dbg);
    const uploadMs = performance.now() - u0;
    this.lastUploadMs = uploadMs;
    this.commAcc(uploadMs, 0, bytes.length + dbg.length);
    const status = checkDeadline(info.lastModified, deadline, this.p);
    this.lastUploaded = w;
    // overlapped, the parameters are mid-training now: the state is saved once the window's outer step is applied
    if (save) this.saveState();
    this.o.events.emit('uploaded', {
      window: w,
      bytes: bytes.length,
      status,
      nullRound: msg.nullRound,
      loss: Number.isFinite(loss) ? loss : null,
      trainMs: Math.round(trainMs),
      innerSteps: d.innerSteps,
      uploadMs: Math.round(uploadMs),
      debugBytes: dbg.length,
      deadlineMarginMs: deadline.timeMaxMs - info.lastModified.getTime(),
      commMsTotal: Math.round(this.commMs),
      trainMsTotal: Math.round(this.trainMsTotal),
      compressMsTotal: Math.round(this.compressMsTotal),
      commBytesTotal: this.commBytes,
      hash: d.hash,
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
      // overlapped: the previous window's outer step lands before the message names its global step
      await this.pendingApply?.(this.lastInnerSteps);
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
          const r = await this.train(w, await this.trainingBudgetEnd(w), o);
          this.lastLoss = r.loss;
          this.lastInnerSteps = r.steps;
          // overlapped: the inner steps are over and θ_w is restored, so an outer step still in flight can land
          const before = this.replica.lastApplied;
          await this.pendingApply?.(r.steps);
          if (this.net.train.overlapRebase === true && this.replica.lastApplied !== before) rebasePseudoGradient(r.delta, r.from, this.replica.params);
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
    return deadlineMs - uploadReserveMs({ compressMs: this.compressEstimateMs, uploadMs: this.lastUploadMs, timeWindowDeltaMs: this.p.timeWindowDeltaMs });
  }

  /**
   * H inner steps on the assigned samples, or fewer when the machine is too slow for the window: a step is only
   * started when the mean step time so far says it ends before `budgetEndMs` (the first step always runs). A late
   * upload scores as missing, while fewer steps still improve the model and keep the miner in the aggregation.
   */
  private async train(w: number, budgetEndMs: number, o: TrainOptions = {}): Promise<TrainedDelta & { readonly from: readonly ParamTensor[] }> {
    const t = this.net.train;
    const H = Math.min(this.p.innerSteps, o.steps ?? Infinity);
    const pool = o.pool ?? this.assignedPool(w);
    let start = cloneParams(this.replica.params);
    // eager (overlapped): start after the own last update, the miner's estimate of the outer step in flight
    const eager = this.eagerUpdate;
    this.eagerUpdate = null;
    if (eager !== null) {
      const be = this.replica.model.backend;
      applyOuterStep(this.replica.params, [eager], outerStepOptions(this.net.sparseloco), hasSparseKernels(be) ? be : undefined);
    }
    let from = eager === null ? start : cloneParams(this.replica.params);
    this.inner.trainer.setStep(Math.max(0, w - this.startWindow) * this.p.innerSteps);
    this.inner.push(this.replica.params);
    let lossSum = 0;
    let steps = 0;
    const t0 = Date.now();
    const slowStepMs = slowedStepMs(this.o.speed ?? 1, budgetEndMs - t0, this.p.innerSteps);
    this.training = true;
    try {
      for (let s = 0; s < H; s++) {
        // between steps the event loop runs: uploads, manifest downloads and polls progress during compute
        if (s > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        if (s > 0 && this.pendingApply !== null && this.prefetchSettled) {
          await this.inner.pull(this.replica.params);
          const landed = await this.landMidWindow(start, from, steps);
          if (landed !== null) start = from = landed;
          this.inner.push(this.replica.params);
        }
        if (!mayStartStep(s, t0, Date.now(), budgetEndMs)) break;
        const r = await this.inner.step(this.samples.batch(pool.slice(s * t.batchSize, (s + 1) * t.batchSize)));
        lossSum += r.loss;
        steps++;
        if (slowStepMs > 0) await this.access.sleep(t0 + steps * slowStepMs - Date.now());
      }
    } finally {
      this.training = false;
    }
    await this.inner.pull(this.replica.params);
    if (steps < H) this.o.events.emit('shortWindow', { window: w, steps, of: H, reason: 'inner steps cut to meet the upload deadline' });
    const delta = pseudoGradient(from, this.replica.params);
    this.replica.params.forEach((p, i) => p.data.set(start[i].data));
    return { delta, loss: lossSum / steps, steps, from };
  }

  /**
   * Overlapped: the outer step in flight lands between two inner steps. θ_w (`start`) is restored, the outer step
   * applied to it, and the parameters being trained move by θ_{w+1} − `from`; returns θ_{w+1}, the new start (null:
   * the outer step could not be applied, and the parameters are as they were).
   */
  private async landMidWindow(start: readonly ParamTensor[], from: readonly ParamTensor[], stepsBefore: number): Promise<ParamTensor[] | null> {
    const params = this.replica.params;
    const trained = cloneParams(params);
    params.forEach((p, i) => p.data.set(start[i].data));
    const before = this.replica.lastApplied;
    await this.pendingApply?.(stepsBefore);
    if (this.replica.lastApplied === before) {
      params.forEach((p, i) => p.data.set(trained[i].data));
      return null;
    }
    const landed = cloneParams(params);
    params.forEach((p, i) => {
      const d = p.data;
      const t = trained[i].data;
      const l = landed[i].data;
      const f = from[i].data;
      for (let j = 0; j < d.length; j++) d[j] = t[j] + (l[j] - f[j]);
    });
    return landed;
  }
}

