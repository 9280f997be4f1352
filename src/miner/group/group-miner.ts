/**
 * A pipeline group as one miner on chain: this is its stage 0, which holds the hotkey. It registers and commits its
 * bucket like any miner, takes the group's assigned samples, drives the window's inner steps through the pipeline
 * (GPipe micro-batches over the authenticated link to stage 1, optionally subspace-compressed boundaries), computes its
 * own slice's pseudo-gradient, error feedback and compression, receives stage 1's compressed part, and uploads ONE
 * payload of the whole model's schema — validators gather and score it like any miner's. Both stages then follow the
 * same manifests on their own slices (SliceReplica), so the group's slices stay bit-identical to every replica.
 *
 * All or nothing: a window whose pipeline fails at any point (stage 1 killed, a timeout, a refused peer, stage 1 not
 * synced) is missed — nothing is uploaded, θ_w is restored on both stages and their error feedback rolled back — and
 * the group tries again in the next window, reconnecting to stage 1 (restarted by its supervisor) when it is back.
 */
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Chain } from '../../chain/types.ts';
import { decodeGradient, encodeGradient, type GradientMessage } from '../../codec/index.ts';
import { errorMessage } from '../../core/errors.ts';
import { isDataError } from '../../data/errors.ts';
import { paramSpecs } from '../../model/config.ts';
import { clipCoefficient } from '../../optim/clip.ts';
import { lrAt } from '../../optim/schedule.ts';
import type { CompressedTensor } from '../../optim/sparseloco/index.ts';
import { isPipelineError } from '../../pipeline/errors.ts';
import { runStageStep } from '../../pipeline/schedule.ts';
import { StageConnection } from '../../pipeline/transport.ts';
import {
  checkDeadline,
  debugKey,
  decodeDebugDict,
  encodeDebugDict,
  encodeGradientMeta,
  fetchUploadDeadline,
  gradientKey,
  gradientMeta,
  sampleParams,
  warmupWindows,
  windowBoundaryBlock,
  windowStartBlock,
} from '../../protocol/index.ts';
import { peerLocation, type NodeBackend } from '../../node/backend.ts';
import { ChainAccess, NodeStopped, type StopSignal } from '../../node/chain-access.ts';
import type { NetworkConfig } from '../../node/config/network.ts';
import { openNodeSamples, type NodeDataOptions } from '../../node/dataset.ts';
import type { NodeEvents } from '../../node/events.ts';
import { setUpIdentity, type NodeIdentity } from '../../node/identity.ts';
import { BehindError } from '../../node/replica.ts';
import { RetentionSweeper } from '../../node/retention.ts';
import { assignedPool, type NodeSamples, type SampleSource } from '../../node/samples.ts';
import { waitForStartWindow } from '../../node/start-window.ts';
import { mayStartStep, uploadReserveMs } from '../step-budget.ts';
import { assembleSamples, assembleTensors, stageSchema } from './assembly.ts';
import { ControlLink } from './control.ts';
import { GroupError } from './errors.ts';
import { checkStageBound, pipelineGroupOf, stagePublicKey, verifyGroupDoc, type GroupDoc } from './group-doc.ts';
import { StageCompute } from './stage-compute.ts';
import { stageLinkTimeoutMs, startupFields, type StageStartup } from './stage-node.ts';
import { splitModel } from '../../model/stages.ts';

/** Where stage 1 listens: fixed, or read (again before every attempt) from the file a local stage writes. */
export type StageAddress = { readonly host: string; readonly port: number } | { readonly file: string };

export interface GroupMinerOptions {
  readonly net: NetworkConfig;
  readonly chain: Chain;
  /** Dev key name (hotkey) and node directory, as a miner's. */
  readonly name: string;
  readonly nodeDir: string;
  readonly events: NodeEvents;
  readonly doc: GroupDoc;
  /** This node's ed25519 stage key; the document must list its public key for stage 0. */
  readonly secretKey: Uint8Array;
  readonly stage1: StageAddress;
  readonly untilWindow?: number;
  readonly samples?: NodeSamples;
  readonly data?: NodeDataOptions;
  readonly backend?: NodeBackend;
  readonly startup?: StageStartup;
}

interface Drafted {
  readonly msg: GradientMessage;
  readonly debug: Uint8Array;
  readonly loss: number;
  readonly steps: number;
  readonly trainMs: number;
  readonly stages: readonly StageFigures[];
}

/** One stage's figures of a window (the dashboard's per-stage columns). */
export interface StageFigures {
  readonly stage: number;
  readonly trainMs: number;
  readonly compressMs: number;
  /** Activation (forward) and activation-gradient (backward) frame bytes on this stage's downstream boundary. */
  readonly forwardBytes: number;
  readonly backwardBytes: number;
  /** Its compressed part of the payload (stage 1: as sent to stage 0). */
  readonly partBytes: number;
  readonly deltaNorm: number;
  readonly projectionNorm: number;
}

/** A window the group gave up: why, for the `groupWindow` event. */
class Missed extends Error {}

export class GroupMiner implements StopSignal {
  stopped = false;
  private readonly net: NetworkConfig;
  private readonly access: ChainAccess;
  private samples!: SampleSource;
  private id!: NodeIdentity;
  private compute!: StageCompute;
  private startWindow = 0;
  private lastUploaded = -1;
  private link: ControlLink | null = null;
  private lastUploadMs = 0;
  private compressEstimateMs = 0;
  private trainMsTotal = 0;
  private commMsTotal = 0;
  private commBytesTotal = 0;
  private compressMsTotal = 0;
  private stepCounter = 0;

  constructor(private readonly o: GroupMinerOptions) {
    this.net = o.net;
    this.access = new ChainAccess(o.chain, o.net.protocol, peerLocation(o.net.storeRoot, o.backend), o.net.faults, this, o.events);
  }

  stop(): void {
    this.stopped = true;
    this.link?.close();
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
      this.link?.close();
      this.o.events.emit('stopped', { lastApplied: this.compute?.replica.lastApplied, lastUploaded: this.lastUploaded });
      this.compute?.dispose();
    }
  }

  private async setUp(): Promise<void> {
    const { o } = this;
    if (o.doc.stageKeys.length !== 2) throw new GroupError('Mismatch', `group ${o.doc.id}: ${o.doc.stageKeys.length} stages; a group miner runs 2`);
    this.samples = (o.samples ?? (await openNodeSamples(this.net, o.nodeDir, o.events, o.data))).train;
    this.id = await setUpIdentity(o.chain, this.net, o.name, o.nodeDir, o.backend);
    // the hotkey this node mines under must be the one that signed the group, and this node's key stage 0's
    verifyGroupDoc(o.doc, this.id.hotkey.address);
    checkStageBound(o.doc, 0, stagePublicKey(o.secretKey));
    o.events.emit('registered', { uid: this.id.uid, hotkey: this.id.hotkey.address, adversary: null });
    this.startWindow = await waitForStartWindow(this.access, this.p.version);
    this.compute = new StageCompute(this.net, o.doc, 0, this.startWindow, o.events);
    if (this.compute.load(o.nodeDir)) {
      const saved = JSON.parse(readFileSync(join(o.nodeDir, 'slice-state.json'), 'utf8')) as { lastUploaded?: unknown };
      this.lastUploaded = typeof saved.lastUploaded === 'number' ? saved.lastUploaded : -1;
      o.events.emit('resumed', { lastApplied: this.compute.replica.lastApplied, globalStep: this.compute.replica.globalStep, hash: this.compute.replica.hash() });
    }
    o.events.emit('stageStarted', {
      group: o.doc.id, stage: 0, hotkey: o.doc.hotkey, rank: o.doc.rank, subspace: this.compute.subspace, listen: null,
      firstLayer: this.compute.spec.firstLayer, endLayer: this.compute.spec.endLayer, params: this.compute.spec.paramCount, lastApplied: this.compute.replica.lastApplied,
      ...startupFields(o.startup),
    });
    this.retention = new RetentionSweeper({ store: this.id.store, protocol: this.p, events: o.events });
  }

  private retention: RetentionSweeper | null = null;

  private save(): void {
    this.compute.save(this.o.nodeDir, { lastUploaded: this.lastUploaded, uid: this.id.uid });
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
      let drafted: Drafted | null = null;
      try {
        drafted = await this.draftWindow(cur);
      } catch (err) {
        if (err instanceof NodeStopped) throw err;
        if (!(err instanceof Missed) && !isPipelineError(err) && !(err instanceof GroupError)) throw err;
        this.compute.restore();
        this.compute.rollback();
        if (isPipelineError(err) || err instanceof GroupError) {
          this.o.events.emit('stageLink', { stage: 0, peer: 1, state: 'lost', reason: `${err.name} (${(err as GroupError).code}): ${err.message}` });
          this.link?.close();
          this.link = null;
        } else if (this.link !== null) {
          await this.link.send({ kind: 'abandon', window: cur, reason: err.message }).catch(() => undefined);
        }
        this.o.events.emit('groupWindow', { window: cur, outcome: 'missed', reason: errorMessage(err), steps: 0, trainMs: 0, payloadBytes: 0, stages: [] });
      }
      this.lastUploaded = cur;
      if (drafted !== null) await this.upload(cur, drafted);
      else this.save();
      this.retention?.sweepInBackground(cur);
    }
  }

  /** The link to stage 1, connected (again) if needed; retried until `untilMs`. */
  private async ensureLink(untilMs: number): Promise<ControlLink> {
    if (this.link !== null) return this.link;
    const ep = { group: pipelineGroupOf(this.o.doc, this.compute.subspace), stage: 0, secretKey: this.o.secretKey, timeoutMs: stageLinkTimeoutMs(this.net) };
    let last = 'no address';
    for (;;) {
      this.access.checkStop();
      const addr = this.stageAddress();
      if (addr !== null) {
        try {
          const conn = await StageConnection.connect({ ...ep, timeoutMs: Math.min(ep.timeoutMs, 5_000) }, addr.host, addr.port);
          this.link = new ControlLink(conn, 'stage 1');
          this.o.events.emit('stageLink', { stage: 0, peer: 1, state: 'up', reason: null });
          return this.link;
        } catch (err) {
          if (!isPipelineError(err)) throw err;
          // a key the group does not bind is refused for good; anything else may be a stage still starting
          if (err.code === 'Unauthenticated' || err.code === 'BadConfig') {
            this.o.events.emit('stageLink', { stage: 0, peer: 1, state: 'refused', reason: err.message });
            throw new Missed(`stage 1 refused: ${err.message}`);
          }
          last = err.message;
        }
      }
      if (Date.now() >= untilMs) throw new Missed(`stage 1 unreachable (${last})`);
      await this.access.sleep(300);
    }
  }

  private stageAddress(): { host: string; port: number } | null {
    const a = this.o.stage1;
    if (!('file' in a)) return a;
    try {
      const v = JSON.parse(readFileSync(a.file, 'utf8')) as { host?: unknown; port?: unknown };
      return typeof v.host === 'string' && typeof v.port === 'number' ? { host: v.host, port: v.port } : null;
    } catch {
      return null;
    }
  }

  private isWarmup(w: number): boolean {
    return w < this.startWindow + warmupWindows(this.p);
  }

  private assignedPool(w: number): number[] {
    return assignedPool(this.id.uid, w, this.p.innerSteps * this.net.train.batchSize, this.samples.sampleCount);
  }

  private async trainingBudgetEnd(w: number): Promise<number> {
    const blocksLeft = windowBoundaryBlock(w, this.p) - (await this.access.block());
    const deadlineMs = Date.now() + Math.max(0, blocksLeft) * this.p.blockTimeMs + this.p.timeWindowDeltaMs;
    return deadlineMs - uploadReserveMs({ compressMs: this.compressEstimateMs, uploadMs: this.lastUploadMs, timeWindowDeltaMs: this.p.timeWindowDeltaMs });
  }

  /** Window w through the pipeline: both stages at θ_w, the inner steps, both parts, one message. Throws Missed/PipelineError. */
  private async draftWindow(w: number): Promise<Drafted> {
    const c = this.compute;
    const budgetEnd = await this.trainingBudgetEnd(w);
    if (w - c.replica.lastApplied > 3) await c.replica.loadLatestCheckpoint(this.access).catch((err: unknown) => this.o.events.emit('checkpointError', { error: errorMessage(err) }));
    const link = await this.ensureLink(budgetEnd);
    const warm = this.isWarmup(w);
    const H = this.p.innerSteps;
    await link.send({ kind: 'begin', window: w, uid: this.id.uid, warmup: warm, trainStep: Math.max(0, w - this.startWindow) * H });
    const windowMs = this.p.blocksPerWindow * this.p.blockTimeMs;
    const [own, theirs] = await Promise.all([
      c.replica.syncTo(this.access, w, Date.now() + 2 * windowMs).catch((err: unknown) => {
        if (!(err instanceof BehindError)) throw err;
        this.o.events.emit('behind', { window: w, lastApplied: c.replica.lastApplied, reason: err.message });
        return false;
      }),
      link.recv('ready', 'notReady'),
    ]);
    if (theirs.msg.kind === 'notReady') throw new Missed(theirs.msg.reason);
    if (!own) throw new Missed(`stage 0: manifest of window ${c.replica.lastApplied + 1} not applied in time`);
    if (theirs.msg.lastApplied !== c.replica.lastApplied) throw new Missed(`stages at different windows (stage 0 at ${c.replica.lastApplied}, stage 1 at ${theirs.msg.lastApplied})`);
    this.save();
    if ((await this.access.window()) !== w) throw new Missed('caught up after the window ended');

    const pool = this.assignedPool(w);
    let lease;
    try {
      lease = await this.samples.prepare(pool);
    } catch (err) {
      if (!isDataError(err)) throw err;
      this.o.events.emit('dataUnavailable', { window: w, reason: err.message });
      throw new Missed(`data unavailable: ${err.message}`);
    }
    try {
      return await this.trainAndAssemble(w, warm, pool, link, budgetEnd);
    } finally {
      lease.release();
    }
  }

  private async trainAndAssemble(w: number, warm: boolean, pool: readonly number[], link: ControlLink, budgetEnd: number): Promise<Drafted> {
    const c = this.compute;
    const t = this.net.train;
    const H = this.p.innerSteps;
    const conn = link.conn;
    const traffic0 = { ...conn.traffic };
    const t0 = performance.now();
    let steps = 0;
    let lossSum = 0;
    if (!warm) {
      c.begin();
      const schedule = { lr: t.lr, warmupSteps: t.warmupSteps, cosineSteps: t.cosineSteps };
      const first = Math.max(0, w - this.startWindow) * H;
      const started = Date.now();
      for (let s = 0; s < H; s++) {
        if (s > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        if (!mayStartStep(s, started, Date.now(), budgetEnd)) break;
        const lr = lrAt(schedule, first + s);
        const step = this.stepCounter++;
        await link.send({ kind: 'step', step, lr });
        const batch = this.samples.batch(pool.slice(s * t.batchSize, (s + 1) * t.batchSize));
        const r = await runStageStep(c.stage, { prev: null, next: conn }, step, batch, this.o.doc.microBatches);
        const sq = c.gradientSquares();
        const { msg: norm } = await link.recv('norm');
        const gradNorm = Math.sqrt(sq + norm.sq);
        if (!Number.isFinite(r.loss) || !Number.isFinite(gradNorm)) throw new Missed(`non-finite loss ${r.loss} / grad norm ${gradNorm}`);
        const scale = clipCoefficient(gradNorm, 1.0);
        await link.send({ kind: 'apply', step, scale });
        c.applyStep(lr, scale);
        lossSum += r.loss;
        steps++;
      }
      if (steps < H) this.o.events.emit('shortWindow', { window: w, steps, of: H, reason: 'inner steps cut to meet the upload deadline' });
    }
    const trainMs = performance.now() - t0;
    await link.send({ kind: 'end', window: w, steps, nullRound: warm, globalStep: c.replica.globalStep });
    const c0 = performance.now();
    let ownTensors: CompressedTensor[];
    let deltaNorm = 0;
    let projectionNorm = 0;
    if (warm) ownTensors = c.nullRound();
    else {
      const d = c.finish();
      deltaNorm = d.deltaNorm;
      projectionNorm = d.projectionNorm;
      ownTensors = c.compress(d.delta);
    }
    const ownCompressMs = performance.now() - c0;
    const { msg: part, blobs } = await link.recv('part');
    if (part.window !== w || blobs.length !== 2) throw new GroupError('Mismatch', `stage 1 sent a part of window ${part.window} with ${blobs.length} blobs for window ${w}`);
    const spec1 = splitModel(c.config, 2, this.o.doc.boundaries)[1];
    let theirTensors: readonly CompressedTensor[];
    let theirSamples;
    try {
      const decoded = decodeGradient(blobs[0], stageSchema(this.net, c.config, spec1), { expectWindow: w, expectUid: this.id.uid });
      if (decoded.nullRound !== warm) throw new Error(`nullRound ${decoded.nullRound}, expected ${warm}`);
      theirTensors = decoded.tensors;
      const dd = decodeDebugDict(blobs[1]);
      if (dd.window !== w) throw new Error(`debug samples of window ${dd.window}`);
      theirSamples = dd.samples;
    } catch (err) {
      throw new GroupError('Mismatch', `stage 1's part of window ${w} does not decode: ${errorMessage(err)}`, { cause: err });
    }
    const specs = paramSpecs(c.config);
    const msg: GradientMessage = {
      uid: this.id.uid,
      window: w,
      globalStep: c.replica.globalStep,
      nullRound: warm,
      meta: encodeGradientMeta(gradientMeta(w, pool, this.samples, t.batchSize * steps)),
      tensors: assembleTensors([ownTensors, theirTensors], specs),
    };
    const debug = encodeDebugDict({ window: w, uid: this.id.uid, samples: assembleSamples([sampleParams(c.params, this.p), theirSamples], specs) });
    await link.send({ kind: 'commit', window: w });
    c.commit();
    this.compressEstimateMs = Math.max(ownCompressMs, part.compressMs);
    this.compressMsTotal += this.compressEstimateMs;
    this.trainMsTotal += trainMs;
    const ownPart = encodeGradient({ uid: this.id.uid, window: w, globalStep: c.replica.globalStep, nullRound: warm, meta: new Uint8Array(0), tensors: ownTensors }, stageSchema(this.net, c.config, c.spec)).length;
    const stages: StageFigures[] = [
      {
        stage: 0, trainMs: Math.round(trainMs), compressMs: Math.round(ownCompressMs),
        forwardBytes: conn.traffic.forwardBytes - traffic0.forwardBytes, backwardBytes: conn.traffic.backwardBytes - traffic0.backwardBytes,
        partBytes: ownPart, deltaNorm, projectionNorm,
      },
      { stage: 1, trainMs: part.trainMs, compressMs: part.compressMs, forwardBytes: part.forwardBytes, backwardBytes: part.backwardBytes, partBytes: blobs[0].length, deltaNorm: part.deltaNorm, projectionNorm: part.projectionNorm },
    ];
    return { msg, debug, loss: steps > 0 ? lossSum / steps : NaN, steps, trainMs, stages };
  }

  /** At window w's boundary: the group's one payload and its debug dict, if still in time. */
  private async upload(w: number, d: Drafted): Promise<void> {
    await this.access.waitForBlock(windowBoundaryBlock(w, this.p));
    const deadline = await fetchUploadDeadline(this.o.chain, w, this.p);
    const bytes = encodeGradient(d.msg, this.compute.replica.fullSchema);
    const base = { window: w, steps: d.steps, trainMs: Math.round(d.trainMs), payloadBytes: bytes.length, stages: d.stages };
    if (Date.now() > deadline.timeMaxMs) {
      this.o.events.emit('missedDeadline', { window: w, lateByMs: Date.now() - deadline.timeMaxMs });
      this.o.events.emit('groupWindow', { ...base, outcome: 'missed', reason: 'upload deadline passed' });
      this.save();
      return;
    }
    const u0 = performance.now();
    const info = await this.id.store.put(gradientKey(w, this.id.uid, this.p.version), bytes);
    await this.id.store.put(debugKey(w, this.id.uid, this.p.version), d.debug);
    const uploadMs = performance.now() - u0;
    this.lastUploadMs = uploadMs;
    this.commMsTotal += uploadMs;
    this.commBytesTotal += bytes.length + d.debug.length;
    const status = checkDeadline(info.lastModified, deadline, this.p);
    this.save();
    this.o.events.emit('uploaded', {
      window: w, bytes: bytes.length, status, nullRound: d.msg.nullRound, loss: Number.isFinite(d.loss) ? d.loss : null, trainMs: Math.round(d.trainMs), innerSteps: d.steps,
      uploadMs: Math.round(uploadMs), debugBytes: d.debug.length, deadlineMarginMs: deadline.timeMaxMs - info.lastModified.getTime(),
      commMsTotal: Math.round(this.commMsTotal), trainMsTotal: Math.round(this.trainMsTotal), compressMsTotal: Math.round(this.compressMsTotal),
      commBytesTotal: this.commBytesTotal, hash: this.compute.replica.hash(),
    });
    this.o.events.emit('groupWindow', { ...base, outcome: 'uploaded', reason: null });
  }
}
