/**
 * A pipeline stage's share of the network model: the stage's run of parameters, following the network exactly as a
 * whole replica does (node/replica.ts) — window w's canonical manifest (the slot rule), every payload it names
 * downloaded and digest-checked, decoded against the whole model's schema with the same acceptance rules, and the
 * outer step applied — restricted to the stage's parameters. SparseLoCo's aggregation and outer step work one
 * parameter at a time, so the slice after window w is bit for bit the same run of every full replica's parameters.
 * A stage that cannot follow stays behind and catches up later from manifests, or from the newest validator
 * checkpoint (its slice of it) when far behind.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createGradientSchema, decodePeerPayloads, DEFAULT_MAX_META_BYTES, maxEncodedSize, payloadDigest, type GradientSchema, type PeerPayload } from '../../codec/index.ts';
import { readFileIfExists, writeFileAtomic } from '../../core/durable-write.ts';
import { JsonFields, parseJsonObject } from '../../core/json.ts';
import { decodeCheckpoint } from '../../model/checkpoint.ts';
import { paramSpecs, type ModelConfig } from '../../model/config.ts';
import type { StageSpec } from '../../model/stages.ts';
import { applyOuterStep, outerStepOptions } from '../../optim/sparseloco/index.ts';
import { aggregatorKey, checkpointLatestKey, checkpointMetaKey, checkpointModelKey, parseAggregatorManifest, parseCheckpointMeta, parseLatestPointer, type AggregatorManifest } from '../../protocol/index.ts';
import type { Backend, SparseKernels } from '../../tensor/backend.ts';
import type { ParamTensor } from '../../tensor/params.ts';
import type { NetworkConfig } from '../../node/config/network.ts';
import type { NodeEvents } from '../../node/events.ts';
import { BehindError, paramsHash, type ReplicaNetwork } from '../../node/replica.ts';
import { sliceUpdate } from './assembly.ts';
import { GroupError } from './errors.ts';

const MANIFEST_MAX_BYTES = 4 << 20;
const SLICE_FILE = 'slice.bin';
const STATE_FILE = 'slice-state.json';

export interface SliceAppliedInfo {
  readonly uids: readonly number[];
  readonly bytes: number;
  readonly downloadMs: number;
  readonly applyMs: number;
}

export class SliceReplica {
  readonly fullSchema: GradientSchema;
  readonly maxPayloadBytes: number;
  lastApplied: number;
  globalStep = 0;

  /** `params`: live views of the stage's parameters (θ_0's slice at first). */
  constructor(
    readonly net: NetworkConfig,
    readonly config: ModelConfig,
    readonly spec: StageSpec,
    readonly params: readonly ParamTensor[],
    startWindow: number,
    private readonly events: NodeEvents,
    private readonly kernels?: Backend & SparseKernels,
  ) {
    this.fullSchema = createGradientSchema(paramSpecs(config), net.sparseloco, net.protocol.gradientFormat);
    this.maxPayloadBytes = maxEncodedSize(this.fullSchema, DEFAULT_MAX_META_BYTES);
    this.lastApplied = startWindow - 1;
    const names = paramSpecs(config).slice(spec.firstParam, spec.endParam).map((s) => s.name);
    if (params.length !== names.length || params.some((p, i) => p.name !== names[i])) {
      throw new GroupError('Mismatch', `stage ${spec.index}: its parameters are not the model's ${names.join(', ')}`);
    }
  }

  hash(): string {
    return paramsHash(this.params);
  }

  private async canonicalManifest(access: ReplicaNetwork, w: number): Promise<AggregatorManifest | null> {
    const found = await access.manifestFor(w);
    if (found.status !== 'accepted') return null;
    let bytes: Uint8Array;
    try {
      bytes = await found.store.get(aggregatorKey(w, this.net.protocol.version), { maxBytes: MANIFEST_MAX_BYTES });
    } catch (err) {
      throw new BehindError(`window ${w}: the manifest of uid ${found.uid} cannot be read (${(err as Error).message})`, { cause: err });
    }
    try {
      return parseAggregatorManifest(bytes, { expected: { window: w, version: this.net.protocol.version }, maxPayloadBytes: this.maxPayloadBytes });
    } catch (err) {
      throw new BehindError(`window ${w}: the manifest of uid ${found.uid} is invalid (${(err as Error).message})`, { cause: err });
    }
  }

  private async collect(access: ReplicaNetwork, m: AggregatorManifest): Promise<{ payloads: PeerPayload[]; bytes: number }> {
    const payloads: PeerPayload[] = [];
    let bytes = 0;
    for (const e of m.entries) {
      const store = await access.bucketOf(e.uid);
      if (store === null) throw new BehindError(`window ${m.window}: no bucket for uid ${e.uid}`);
      let body: Uint8Array;
      try {
        body = await store.get(e.key, { maxBytes: e.size });
      } catch (err) {
        throw new BehindError(`window ${m.window}: payload of uid ${e.uid} unavailable (${(err as Error).message})`);
      }
      if (body.length !== e.size || payloadDigest(body) !== e.sha256) throw new BehindError(`window ${m.window}: payload of uid ${e.uid} does not match the manifest digest`);
      bytes += body.length;
      payloads.push({ uid: e.uid, bytes: body });
    }
    return { payloads, bytes };
  }

  /** Window w = lastApplied + 1's outer step on the slice: the payloads decoded against the whole model's schema, then cut to the slice. */
  applyPayloads(w: number, payloads: readonly PeerPayload[]): { uids: number[]; rejected: number[] } {
    if (w !== this.lastApplied + 1) throw new BehindError(`cannot apply window ${w} on top of ${this.lastApplied}`);
    const decoded = decodePeerPayloads(payloads, this.fullSchema, { expectWindow: w, maxBytes: this.maxPayloadBytes });
    const r = applyOuterStep(this.params, decoded.accepted.map((u) => sliceUpdate(u, this.spec)), outerStepOptions(this.net.sparseloco), this.kernels);
    this.lastApplied = w;
    this.globalStep += 1;
    return { uids: r.uids, rejected: decoded.rejected.map((x) => x.uid) };
  }

  /**
   * Applies windows lastApplied+1 .. target−1, waiting for each manifest until `untilMs` (epoch ms); false when one
   * was not decided in time. Throws BehindError when a manifest or payload cannot be had. Emits `stageApplied`.
   */
  async syncTo(access: ReplicaNetwork, target: number, untilMs: number, onApplied?: (w: number, info: SliceAppliedInfo) => void): Promise<boolean> {
    while (this.lastApplied + 1 < target) {
      const w = this.lastApplied + 1;
      let m: AggregatorManifest | null = null;
      for (;;) {
        access.checkStop();
        m = await this.canonicalManifest(access, w);
        if (m !== null || Date.now() >= untilMs) break;
        await access.sleep(Math.min(250, Math.max(20, this.net.protocol.blockTimeMs / 2)));
      }
      if (m === null) return false;
      const t0 = performance.now();
      const { payloads, bytes } = await this.collect(access, m);
      const t1 = performance.now();
      const r = this.applyPayloads(w, payloads);
      const info = { uids: r.uids, bytes, downloadMs: t1 - t0, applyMs: performance.now() - t1 };
      this.events.emit('stageApplied', {
        window: w, stage: this.spec.index, uids: r.uids, rejected: r.rejected, globalStep: this.globalStep, sliceHash: this.hash(),
        downloadMs: Math.round(info.downloadMs), applyMs: Math.round(info.applyMs), bytes,
      });
      onApplied?.(w, info);
    }
    return true;
  }

  /** The stage's slice of the highest-stake validator's newest checkpoint ahead of it (sha256-checked); whether one was loaded. */
  async loadLatestCheckpoint(access: ReplicaNetwork): Promise<boolean> {
    const v = this.net.protocol.version;
    const maxBody = paramSpecs(this.config).reduce((s, p) => s + 4 * p.shape.reduce((a, b) => a * b, 1), 0) + (1 << 20);
    for (const b of await access.rankedBuckets()) {
      try {
        const window = parseLatestPointer(await b.store.get(checkpointLatestKey(v), { maxBytes: 4096 }));
        if (window <= this.lastApplied) continue;
        const meta = parseCheckpointMeta(await b.store.get(checkpointMetaKey(window, v), { maxBytes: 16_384 }), { expected: { window, version: v } });
        const body = await b.store.get(checkpointModelKey(window, v), { maxBytes: maxBody });
        if (createHash('sha256').update(body).digest('hex') !== meta.sha256) continue;
        const byName = new Map(decodeCheckpoint(body, this.config).params.map((p) => [p.name, p]));
        if (this.params.some((p) => byName.get(p.name)?.data.length !== p.data.length)) continue;
        for (const p of this.params) p.data.set(byName.get(p.name)!.data);
        this.lastApplied = meta.window;
        this.globalStep = meta.globalStep;
        this.events.emit('checkpointLoaded', { window: meta.window, globalStep: meta.globalStep, from: b.uid, hash: this.hash() });
        return true;
      } catch (err) {
        this.events.emit('checkpointRejected', { from: b.uid, window: -1, reason: (err as Error).message });
      }
    }
    return false;
  }

  /** Saves the slice and its position (slice first; the state names the slice's hash). */
  saveLocal(dir: string, extra: Record<string, unknown> = {}): void {
    const total = this.params.reduce((s, p) => s + p.data.length, 0);
    const flat = new Float32Array(total);
    let at = 0;
    for (const p of this.params) {
      flat.set(p.data, at);
      at += p.data.length;
    }
    writeFileAtomic(join(dir, SLICE_FILE), new Uint8Array(flat.buffer));
    const state = { lastApplied: this.lastApplied, globalStep: this.globalStep, sliceHash: this.hash(), stage: this.spec.index, protocolVersion: this.net.protocol.version, ...extra };
    writeFileAtomic(join(dir, STATE_FILE), JSON.stringify(state) + '\n');
  }

  /** Restores a saved slice; its state's other fields, or null (with `localStateDiscarded`) when there is none that fits. */
  loadLocal(dir: string): Record<string, unknown> | null {
    const stateBytes = readFileIfExists(join(dir, STATE_FILE));
    const sliceBytes = readFileIfExists(join(dir, SLICE_FILE));
    if (stateBytes === null || sliceBytes === null) return null;
    const discard = (reason: string): null => {
      this.events.emit('localStateDiscarded', { dir, reason });
      return null;
    };
    const what = join(dir, STATE_FILE);
    let state: Record<string, unknown>;
    let f: JsonFields;
    try {
      state = parseJsonObject(stateBytes, what, (_k, message, cause) => new GroupError('Malformed', message, { cause }));
      f = new JsonFields(state, what, (_k, message, cause) => new GroupError('Malformed', message, { cause }));
      f.int('lastApplied', -1);
      f.int('globalStep');
      f.string('sliceHash');
    } catch (err) {
      if (!(err instanceof GroupError)) throw err;
      return discard(err.message);
    }
    if (state.protocolVersion !== this.net.protocol.version) return discard(`saved under protocol version ${String(state.protocolVersion)}`);
    if (state.stage !== this.spec.index) return discard(`saved by stage ${String(state.stage)}, this is stage ${this.spec.index}`);
    const total = this.params.reduce((s, p) => s + p.data.length, 0);
    if (sliceBytes.length !== 4 * total) return discard(`${SLICE_FILE} holds ${sliceBytes.length} bytes, the slice is ${4 * total}`);
    const flat = new Float32Array(sliceBytes.buffer.slice(sliceBytes.byteOffset, sliceBytes.byteOffset + sliceBytes.length));
    const backup = this.params.map((p) => p.data.slice());
    let at = 0;
    for (const p of this.params) {
      p.data.set(flat.subarray(at, at + p.data.length));
      at += p.data.length;
    }
    if (this.hash() !== state.sliceHash) {
      this.params.forEach((p, i) => p.data.set(backup[i]));
      return discard(`${SLICE_FILE} hashes to another slice than the saved state's ${String(state.sliceHash)}`);
    }
    this.lastApplied = state.lastApplied as number;
    this.globalStep = state.globalStep as number;
    return state;
  }
}
