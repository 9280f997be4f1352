/**
 * A group's later stage (stage 1 of 2): a process without a hotkey, bound to the group by the hotkey-signed group
 * document. It listens for stage 0 (only the document's key for stage 0 gets through the handshake), follows the
 * network on its own slice of the model (reading manifests and payloads like any replica), and per window runs its
 * part of the pipeline's inner steps, then sends stage 0 its slice's compressed pseudo-gradient and debug samples.
 * Its slice and error feedback are saved after every window, so a restarted stage catches up from manifests.
 * A lost link (stage 0 gone, timeout, abort) gives the window up — θ_w restored, the error feedback as it was — and
 * the stage waits for stage 0 to connect again.
 */
import { writeFileSync } from 'node:fs';
import { encodeGradient } from '../../codec/index.ts';
import { errorMessage } from '../../core/errors.ts';
import type { Chain } from '../../chain/types.ts';
import { isPipelineError } from '../../pipeline/errors.ts';
import { runStageStep } from '../../pipeline/schedule.ts';
import { StageListener, type StageConnection } from '../../pipeline/transport.ts';
import { encodeDebugDict, sampleParams } from '../../protocol/index.ts';
import { peerLocation, type NodeBackend } from '../../node/backend.ts';
import { ChainAccess, NodeStopped, type StopSignal } from '../../node/chain-access.ts';
import type { NetworkConfig } from '../../node/config/network.ts';
import type { NodeEvents } from '../../node/events.ts';
import { BehindError } from '../../node/replica.ts';
import { waitForStartWindow } from '../../node/start-window.ts';
import { stageSchema } from './assembly.ts';
import { ControlLink } from './control.ts';
import { GroupError } from './errors.ts';
import { checkStageBound, pipelineGroupOf, stagePublicKey, verifyGroupDoc, type GroupDoc } from './group-doc.ts';
import { StageCompute } from './stage-compute.ts';

export interface StageNodeOptions {
  readonly net: NetworkConfig;
  readonly chain: Chain;
  readonly name: string;
  readonly nodeDir: string;
  readonly events: NodeEvents;
  readonly doc: GroupDoc;
  readonly stage: number;
  /** This node's ed25519 secret key; the document must list its public key for `stage`. */
  readonly secretKey: Uint8Array;
  readonly listen: { readonly host: string; readonly port: number };
  /** Written with `{host, port}` once listening (how stage 0 finds a stage on a local network). */
  readonly addressFile?: string;
  readonly backend?: NodeBackend;
  readonly startup?: StageStartup;
}

/** Where a stage process's start went: its modules loaded, a standby's wait, and when it was told to run. */
export interface StageStartup {
  /** process uptime when the command began (module loading, mostly) */
  readonly loadMs: number;
  /** how long it waited as a standby before it was told to run (0 when it ran at once) */
  readonly standbyMs: number;
  /** performance.now() when it was told to run: setupMs counts from here */
  readonly runAt: number;
}

/** The startup fields of a stageStarted event. */
export function startupFields(s: StageStartup | undefined): { loadMs: number; standbyMs: number; setupMs: number } {
  if (s === undefined) return { loadMs: 0, standbyMs: 0, setupMs: 0 };
  return { loadMs: s.loadMs, standbyMs: s.standbyMs, setupMs: Math.round(performance.now() - s.runAt) };
}

/** Longest wait for the neighbour's next frame: stage 0 uploads and waits for the next window between two windows. */
export function stageLinkTimeoutMs(net: NetworkConfig): number {
  return 4 * net.protocol.blocksPerWindow * net.protocol.blockTimeMs + 5_000;
}

export class GroupStageNode implements StopSignal {
  stopped = false;
  private listener: StageListener | null = null;
  private conn: StageConnection | null = null;

  constructor(private readonly o: StageNodeOptions) {
    if (o.stage < 1 || o.stage !== o.doc.stageKeys.length - 1) {
      throw new GroupError('Mismatch', `a stage node runs the last stage of a 2-stage group (stage 1); asked for stage ${o.stage} of ${o.doc.stageKeys.length}`);
    }
  }

  stop(): void {
    this.stopped = true;
    this.conn?.close();
    void this.listener?.close();
  }

  async run(): Promise<void> {
    const { o } = this;
    verifyGroupDoc(o.doc);
    checkStageBound(o.doc, o.stage, stagePublicKey(o.secretKey));
    const p = o.net.protocol;
    const access = new ChainAccess(o.chain, p, peerLocation(o.net.storeRoot, o.backend), o.net.faults, this, o.events);
    let compute: StageCompute | null = null;
    try {
      const startWindow = await waitForStartWindow(access, p.version);
      compute = new StageCompute(o.net, o.doc, o.stage, startWindow, o.events);
      if (compute.load(o.nodeDir)) o.events.emit('resumed', { lastApplied: compute.replica.lastApplied, globalStep: compute.replica.globalStep, hash: compute.replica.hash() });
      const ep = { group: pipelineGroupOf(o.doc, compute.subspace), stage: o.stage, secretKey: o.secretKey, timeoutMs: stageLinkTimeoutMs(o.net) };
      this.listener = await StageListener.listen(ep, o.listen.host, o.listen.port);
      const address = { host: o.listen.host, port: this.listener.port };
      if (o.addressFile !== undefined) writeFileSync(o.addressFile, JSON.stringify(address) + '\n');
      o.events.emit('stageStarted', {
        group: o.doc.id, stage: o.stage, hotkey: o.doc.hotkey, rank: o.doc.rank, subspace: compute.subspace, listen: `${address.host}:${address.port}`,
        firstLayer: compute.spec.firstLayer, endLayer: compute.spec.endLayer, params: compute.spec.paramCount, lastApplied: compute.replica.lastApplied,
        ...startupFields(o.startup),
      });
      while (!this.stopped) {
        let conn: StageConnection;
        try {
          conn = await this.listener.accept(1_000);
        } catch (err) {
          if (isPipelineError(err, 'StageTimeout')) continue;
          if (!isPipelineError(err)) throw err;
          o.events.emit('stageLink', { stage: o.stage, peer: 0, state: 'refused', reason: err.message });
          continue;
        }
        this.conn = conn;
        o.events.emit('stageLink', { stage: o.stage, peer: 0, state: 'up', reason: null });
        try {
          await this.serve(new ControlLink(conn, 'stage 0'), compute, access);
        } catch (err) {
          if (err instanceof NodeStopped || this.stopped) break;
          if (!isPipelineError(err) && !(err instanceof GroupError) && !(err instanceof BehindError)) throw err;
          compute.restore();
          compute.rollback();
          o.events.emit('stageLink', { stage: o.stage, peer: 0, state: 'lost', reason: `${err.name} (${err.code}): ${err.message}` });
        } finally {
          conn.close();
          this.conn = null;
        }
      }
    } catch (err) {
      if (!(err instanceof NodeStopped)) throw err;
    } finally {
      await this.listener?.close();
      o.events.emit('stopped', { lastApplied: compute?.replica.lastApplied, lastUploaded: -1 });
      compute?.dispose();
    }
  }

  /** Windows on one link, until it fails. */
  private async serve(link: ControlLink, c: StageCompute, access: ChainAccess): Promise<void> {
    const { o } = this;
    const p = o.net.protocol;
    const schema = stageSchema(o.net, c.config, c.spec);
    const conn = link.conn;
    const windowMs = p.blocksPerWindow * p.blockTimeMs;
    for (;;) {
      const { msg: begin } = await link.recv('begin');
      const w = begin.window;
      try {
        if (w - c.replica.lastApplied > 3) await c.replica.loadLatestCheckpoint(access).catch((err: unknown) => o.events.emit('checkpointError', { error: errorMessage(err) }));
        const synced = await c.replica.syncTo(access, w, Date.now() + 2 * windowMs);
        if (!synced) {
          await link.send({ kind: 'notReady', window: w, reason: `stage ${o.stage}: manifest not posted in time (at window ${c.replica.lastApplied})` });
          continue;
        }
      } catch (err) {
        if (!(err instanceof BehindError)) throw err;
        o.events.emit('behind', { window: w, lastApplied: c.replica.lastApplied, reason: err.message });
        await link.send({ kind: 'notReady', window: w, reason: `stage ${o.stage}: ${err.message}` });
        continue;
      }
      c.save(o.nodeDir);
      await link.send({ kind: 'ready', window: w, lastApplied: c.replica.lastApplied, sliceHash: c.replica.hash() });
      const traffic0 = { ...conn.traffic };
      const t0 = performance.now();
      if (!begin.warmup) c.begin();
      let end: { steps: number; nullRound: boolean } | null = null;
      while (end === null) {
        const { msg } = await link.recv('step', 'end', 'abandon');
        if (msg.kind === 'abandon') break;
        if (msg.kind === 'end') {
          end = msg;
          break;
        }
        await runStageStep(c.stage, { prev: conn, next: null }, msg.step);
        await link.send({ kind: 'norm', step: msg.step, sq: c.gradientSquares() });
        const { msg: apply } = await link.recv('apply');
        c.applyStep(msg.lr, apply.scale);
      }
      if (end === null) {
        c.restore();
        continue;
      }
      const trainMs = performance.now() - t0;
      const c0 = performance.now();
      let tensors;
      let deltaNorm = 0;
      let projectionNorm = 0;
      if (end.nullRound || !c.training) {
        c.restore();
        tensors = c.nullRound();
      } else {
        const d = c.finish();
        deltaNorm = d.deltaNorm;
        projectionNorm = d.projectionNorm;
        tensors = c.compress(d.delta);
      }
      const part = encodeGradient({ uid: begin.uid, window: w, globalStep: c.replica.globalStep, nullRound: end.nullRound, meta: new Uint8Array(0), tensors }, schema);
      const debug = encodeDebugDict({ window: w, uid: begin.uid, samples: sampleParams(c.params, p) });
      const compressMs = performance.now() - c0;
      await link.send({
        kind: 'part', window: w, trainMs: Math.round(trainMs), compressMs: Math.round(compressMs), deltaNorm, projectionNorm,
        forwardBytes: conn.traffic.forwardBytes - traffic0.forwardBytes, backwardBytes: conn.traffic.backwardBytes - traffic0.backwardBytes,
      }, [part, debug]);
      const { msg: verdict } = await link.recv('commit', 'abandon');
      if (verdict.kind === 'commit') {
        c.commit();
        c.save(o.nodeDir);
      } else c.rollback();
    }
  }
}
