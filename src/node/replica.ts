/**
 * A node's copy of the network model and how it follows the network: θ_{w+1} = outerStep(θ_w, payloads named by
 * window w's aggregator manifest — the one the slot rule of protocol/manifest-slots.ts accepts, the same on every node). Everyone applies exactly those payloads (digest-verified, sorted by uid), so
 * every honest replica is bit-identical after each window. A replica that cannot obtain a window's payloads stays
 * where it is (it is "behind") and catches up later from manifests, or from the leader's latest checkpoint.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { paramSpecs, type ModelConfig } from '../model/config.ts';
import { createModel, type LlamaModel } from '../model/llama.ts';
import {
  CodecError,
  createGradientSchema,
  decodeGradient,
  DEFAULT_MAX_META_BYTES,
  decodePeerPayloads,
  maxEncodedSize,
  payloadDigest,
  type GradientMessage,
  type GradientSchema,
  type PeerPayload,
} from '../codec/index.ts';
import { applyOuterStep, outerStepOptions } from '../optim/sparseloco/index.ts';
import {
  aggregatorKey,
  checkpointLatestKey,
  checkpointMetaKey,
  checkpointModelKey,
  encodeCheckpointMeta,
  encodeLatestPointer,
  parseAggregatorManifest,
  parseCheckpointMeta,
  parseLatestPointer,
  ProtocolError,
  sampleParams,
  weightedOuterStepOptions,
  type AggregatorManifest,
} from '../protocol/index.ts';
import { isStoreError, type ObjectStore } from '../storage/index.ts';
import { hasSparseKernels } from '../tensor/backend.ts';
import type { ParamTensor } from '../tensor/params.ts';
import { readFileIfExists, writeFileAtomic } from '../core/durable-write.ts';
import type { ChainAccess } from './chain-access.ts';
import { modelOf, stepBudgetSamples, type NetworkConfig } from './config/network.ts';
import type { NodeEvents } from './events.ts';
import { encodeCheckpoint, isCheckpointError, loadCheckpointInto } from '../model/checkpoint.ts';
import { JsonFields, parseJsonObject } from '../core/json.ts';
import { TesseraError } from '../core/errors.ts';

/** This node cannot catch up from the leader's manifests: one is unreadable, a payload is missing or does not match. */
export class BehindError extends TesseraError<'Behind'> {
  override readonly name = 'BehindError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('Behind', message, options);
  }
}

export function isBehindError(err: unknown): err is BehindError {
  return err instanceof BehindError;
}

export interface ReplicaState {
  /** Last window whose outer step is in the parameters (startWindow − 1 before the first). */
  lastApplied: number;
  globalStep: number;
  paramsHash: string;
}

export type LocalStateErrorCode = 'TooLarge' | 'Malformed';

/** The node's saved replica state (`state.json`) cannot be used. */
export class LocalStateError extends TesseraError<LocalStateErrorCode> {
  override readonly name = 'LocalStateError';
}

export function isLocalStateError(err: unknown, code?: LocalStateErrorCode): err is LocalStateError {
  return err instanceof LocalStateError && (code === undefined || err.code === code);
}

/** Reads `state.json`: the replica's fields are checked, other fields (the node's own) are returned as they are. */
export function parseReplicaState(bytes: Uint8Array, what: string): ReplicaState & Record<string, unknown> {
  const obj = parseJsonObject(bytes, what, (code, message, cause) => new LocalStateError(code, message, { cause }));
  const f = new JsonFields(obj, what, (code, message, cause) => new LocalStateError(code, message, { cause }));
  return { ...obj, lastApplied: f.int('lastApplied', -1), globalStep: f.int('globalStep'), paramsHash: f.string('paramsHash') };
}

export function paramsHash(params: readonly ParamTensor[]): string {
  const h = createHash('sha256');
  for (const p of params) h.update(new Uint8Array(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  return h.digest('hex').slice(0, 16);
}

/** What a replica reads from the network: window manifests, the ranked validators' and peers' buckets, the node's clock and stop signal. */
export type ReplicaNetwork = Pick<ChainAccess, 'checkStop' | 'sleep' | 'manifestFor' | 'rankedBuckets' | 'bucketOf'>;

/** A payload this node already holds, decoded (a validator's gathered upload); looked up by sha256. */
export interface HeldPayload {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly message: GradientMessage;
}

export interface AppliedInfo {
  uids: number[];
  downloadMs: number;
  applyMs: number;
  bytes: number;
  /** The validator whose manifest was applied. */
  holder: number;
}

export interface SyncOptions {
  readonly onApplied?: (w: number, info: AppliedInfo) => void;
  /** Payloads this node already holds, by sha256. */
  readonly held?: ReadonlyMap<string, HeldPayload>;
  /** Runs between polls while window w's manifest is not decided. */
  readonly whilePending?: (w: number) => Promise<void>;
}

/**
 * Window w's outer step made ready but not applied: its canonical manifest found and every payload downloaded and
 * digest-checked (and, when asked, decoded). Applying it later gives exactly what syncTo would have applied.
 */
export interface PreparedWindow {
  readonly window: number;
  readonly holder: number;
  readonly slot: number;
  readonly payloads: readonly PeerPayload[];
  readonly bytes: number;
  /** Download + digest checks (+ decoding) of the payloads, ms. */
  readonly downloadMs: number;
  /** Epoch ms when the manifest was found decided. */
  readonly foundAtMs: number;
}

export interface PrepareOptions {
  readonly held?: ReadonlyMap<string, HeldPayload>;
  readonly whilePending?: (w: number) => Promise<void>;
  /** Decode the payloads now (they are not decoded again when applied). */
  readonly decode?: boolean;
}

const MANIFEST_MAX_BYTES = 4 << 20;

export class Replica {
  readonly config: ModelConfig;
  readonly model: LlamaModel;
  readonly params: ParamTensor[];
  readonly schema: GradientSchema;
  readonly maxPayloadBytes: number;
  lastApplied: number;
  globalStep = 0;

  /** `threads`: the wasm engine's compute threads (default 1: a local network runs many nodes on one machine). */
  constructor(readonly net: NetworkConfig, startWindow: number, private readonly events: NodeEvents, threads = 1) {
    this.config = modelOf(net);
    this.model = createModel(this.config, { seed: net.modelSeed, threads });
    this.params = this.model.parameters();
    this.schema = createGradientSchema(paramSpecs(this.config), net.sparseloco, net.protocol.gradientFormat);
    this.maxPayloadBytes = maxEncodedSize(this.schema, DEFAULT_MAX_META_BYTES);
    this.lastApplied = startWindow - 1;
  }

  hash(): string {
    return paramsHash(this.params);
  }

  /**
   * Window w's manifest as every node applies it (the slot rule, protocol/manifest-slots.ts) and whose it is, or null
   * while it is not decided yet. Throws BehindError on an unreadable one.
   */
  async fetchCanonicalManifest(access: ReplicaNetwork, w: number): Promise<{ manifest: AggregatorManifest; holder: number; slot: number } | null> {
    const found = await access.manifestFor(w);
    if (found.status !== 'accepted') return null;
    let bytes: Uint8Array;
    try {
      bytes = await found.store.get(aggregatorKey(w, this.net.protocol.version), { maxBytes: MANIFEST_MAX_BYTES });
    } catch (err) {
      throw new BehindError(`window ${w}: the manifest of uid ${found.uid} cannot be read (${(err as Error).message})`, { cause: err });
    }
    try {
      const manifest = parseAggregatorManifest(bytes, { expected: { window: w, version: this.net.protocol.version }, maxPayloadBytes: this.maxPayloadBytes });
      return { manifest, holder: found.uid, slot: found.slot };
    } catch (err) {
      throw new BehindError(`window ${w}: the manifest of uid ${found.uid} is invalid (${(err as Error).message})`, { cause: err });
    }
  }

  /** fetchCanonicalManifest's manifest alone. */
  async fetchManifest(access: ReplicaNetwork, w: number): Promise<AggregatorManifest | null> {
    return (await this.fetchCanonicalManifest(access, w))?.manifest ?? null;
  }

  /**
   * Downloads (or takes from `held`, keyed by sha256, with its decoded message) every payload of the manifest and
   * checks size and digest.
   */
  async collectPayloads(access: ReplicaNetwork, m: AggregatorManifest, held?: ReadonlyMap<string, HeldPayload>): Promise<{ payloads: PeerPayload[]; bytes: number }> {
    const payloads: PeerPayload[] = [];
    let bytes = 0;
    for (const e of m.entries) {
      const heldPayload = held?.get(e.sha256);
      let body = heldPayload?.bytes;
      if (body === undefined) {
        const store = await access.bucketOf(e.uid);
        if (store === null) throw new BehindError(`window ${m.window}: no bucket for uid ${e.uid}`);
        try {
          body = await store.get(e.key, { maxBytes: e.size });
        } catch (err) {
          throw new BehindError(`window ${m.window}: payload of uid ${e.uid} unavailable (${(err as Error).message})`);
        }
        bytes += body.length;
      }
      if (body.length !== e.size || payloadDigest(body) !== e.sha256) {
        throw new BehindError(`window ${m.window}: payload of uid ${e.uid} does not match the manifest digest`);
      }
      payloads.push({ uid: e.uid, bytes: body, decoded: heldPayload?.message });
    }
    return { payloads, bytes };
  }

  /** Applies the outer step of window w = lastApplied + 1 from the manifest's payloads. */
  applyPayloads(w: number, payloads: readonly PeerPayload[]): { uids: number[]; rejected: number[] } {
    if (w !== this.lastApplied + 1) throw new BehindError(`cannot apply window ${w} on top of ${this.lastApplied}`);
    const decoded = decodePeerPayloads(payloads, this.schema, { expectWindow: w, maxBytes: this.maxPayloadBytes });
    const be = this.model.backend;
    const options = weightedOuterStepOptions(outerStepOptions(this.net.sparseloco), this.net.sparseloco, decoded.accepted, stepBudgetSamples(this.net));
    const r = applyOuterStep(this.params, decoded.accepted, options, hasSparseKernels(be) ? be : undefined);
    this.lastApplied = w;
    this.globalStep += 1;
    return { uids: r.uids, rejected: decoded.rejected.map((x) => x.uid) };
  }

  /**
   * Waits (until `untilMs`, epoch ms) for window w's manifest to be decided, then downloads and checks its payloads
   * (decoding them with `decode`); null when it was not decided in time. Throws BehindError like collectPayloads.
   * Nothing is applied: the parameters may be in use (an overlapped miner trains while this runs).
   */
  async prepareWindow(access: ReplicaNetwork, w: number, untilMs: number, options: PrepareOptions = {}): Promise<PreparedWindow | null> {
    let found: Awaited<ReturnType<Replica['fetchCanonicalManifest']>> = null;
    for (;;) {
      access.checkStop();
      found = await this.fetchCanonicalManifest(access, w);
      if (found !== null || Date.now() >= untilMs) break;
      await options.whilePending?.(w);
      await access.sleep(Math.min(250, Math.max(20, this.net.protocol.blockTimeMs / 2)));
    }
    if (found === null) return null;
    const foundAtMs = Date.now();
    const t0 = performance.now();
    const collected = await this.collectPayloads(access, found.manifest, options.held);
    const payloads = options.decode === true ? collected.payloads.map((p) => this.predecode(w, p)) : collected.payloads;
    return { window: w, holder: found.holder, slot: found.slot, payloads, bytes: collected.bytes, downloadMs: performance.now() - t0, foundAtMs };
  }

  /** The payload with its decoded message when it decodes (a refusal is left for applyPayloads to record). */
  private predecode(w: number, p: PeerPayload): PeerPayload {
    if (p.decoded !== undefined) return p;
    try {
      return { ...p, decoded: decodeGradient(p.bytes, this.schema, { expectWindow: w, expectUid: p.uid, maxBytes: this.maxPayloadBytes }) };
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      return p;
    }
  }

  /** Applies a prepared window (it must be lastApplied + 1) and emits `applied`. */
  applyPrepared(prepared: PreparedWindow): AppliedInfo {
    const w = prepared.window;
    const t1 = performance.now();
    const r = this.applyPayloads(w, prepared.payloads);
    const applyMs = performance.now() - t1;
    this.events.emit('applied', {
      window: w, uids: r.uids, rejected: r.rejected, globalStep: this.globalStep, hash: this.hash(),
      downloadMs: Math.round(prepared.downloadMs), applyMs: Math.round(applyMs), bytes: prepared.bytes, holder: prepared.holder, slot: prepared.slot,
    });
    return { uids: r.uids, downloadMs: prepared.downloadMs, applyMs, bytes: prepared.bytes, holder: prepared.holder };
  }

  /**
   * Applies windows lastApplied+1 .. target−1 from their manifests, waiting for each until `untilMs` (epoch ms);
   * while one is not decided yet `whilePending(w)` runs between polls (a validator posts in its slot there). Returns
   * false when a manifest was not decided in time (the caller retries later).
   */
  async syncTo(access: ReplicaNetwork, target: number, untilMs: number, options: SyncOptions = {}): Promise<boolean> {
    while (this.lastApplied + 1 < target) {
      const w = this.lastApplied + 1;
      const prepared = await this.prepareWindow(access, w, untilMs, { held: options.held, whilePending: options.whilePending });
      if (prepared === null) return false;
      const info = this.applyPrepared(prepared);
      options.onApplied?.(w, info);
    }
    return true;
  }

  /**
   * Bootstraps from the highest-stake validator whose newest checkpoint is ahead of this replica, falling back to
   * the next validator when that checkpoint is missing, unreadable, not the body its metadata hashes (sha256) or
   * not this model's shapes (each refusal is a `checkpointRejected` event). Stake order, not recency, picks: a
   * low-stake validator cannot steer bootstraps with a checkpoint that claims a later window. Returns whether it
   * loaded one.
   */
  async loadLatestCheckpoint(access: ReplicaNetwork): Promise<boolean> {
    const v = this.net.protocol.version;
    const maxBody = this.params.reduce((s, p) => s + p.data.byteLength, 0) + (1 << 20);
    for (const b of await access.rankedBuckets()) {
      let window = -1;
      try {
        window = parseLatestPointer(await b.store.get(checkpointLatestKey(v), { maxBytes: 4096 }));
        if (window <= this.lastApplied) continue;
        const meta = parseCheckpointMeta(await b.store.get(checkpointMetaKey(window, v), { maxBytes: 16_384 }), { expected: { window, version: v } });
        const body = await b.store.get(checkpointModelKey(window, v), { maxBytes: maxBody });
        const digest = createHash('sha256').update(body).digest('hex');
        if (digest !== meta.sha256) throw new ProtocolError('InvalidCheckpoint', `model.safetensors hashes to ${digest}, its metadata says ${meta.sha256}`);
        loadCheckpointInto(body, this.config, this.params);
        this.lastApplied = meta.window;
        this.globalStep = meta.globalStep;
        this.events.emit('checkpointLoaded', { window: meta.window, globalStep: meta.globalStep, from: b.uid, hash: this.hash() });
        return true;
      } catch (err) {
        if (isStoreError(err, 'NotFound') && window < 0) continue; // this validator has no checkpoint
        if (!isStoreError(err) && !isCheckpointError(err) && !(err instanceof ProtocolError)) throw err;
        this.events.emit('checkpointRejected', { from: b.uid, window, reason: (err as Error).message });
      }
    }
    return false;
  }

  /** `extra`: metadata strings the checkpoint carries, e.g. the tokenizer its ids are from. */
  async saveCheckpoint(store: ObjectStore, uid: number, extra?: Readonly<Record<string, string>>): Promise<void> {
    const v = this.net.protocol.version;
    const w = this.lastApplied;
    const body = encodeCheckpoint(this.params, this.config, { window: w, globalStep: this.globalStep, ...(extra === undefined ? {} : { extra }) });
    await store.put(checkpointModelKey(w, v), body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    await store.put(checkpointMetaKey(w, v), encodeCheckpointMeta({ version: v, window: w, syncWindow: w, globalStep: this.globalStep, uid, sha256 }));
    await store.put(checkpointLatestKey(v), encodeLatestPointer(w));
    this.events.emit('checkpointSaved', { window: w, globalStep: this.globalStep, hash: this.hash() });
  }

  /** Saves parameters + replica state atomically (params first; state names the params hash it belongs to). */
  saveLocal(dir: string, extra: Record<string, unknown> = {}): void {
    writeFileAtomic(join(dir, 'params.safetensors'), encodeCheckpoint(this.params, this.config, { window: Math.max(0, this.lastApplied), globalStep: this.globalStep }));
    const state = { lastApplied: this.lastApplied, globalStep: this.globalStep, paramsHash: this.hash(), protocolVersion: this.net.protocol.version, ...extra };
    writeFileAtomic(join(dir, 'state.json'), JSON.stringify(state) + '\n');
  }

  /** Restores a saved replica; returns its fields, or null (with a `localStateDiscarded` event) when there is no consistent saved state. */
  loadLocal(dir: string): Record<string, unknown> | null {
    const statePath = join(dir, 'state.json');
    const stateBytes = readFileIfExists(statePath);
    const paramBytes = readFileIfExists(join(dir, 'params.safetensors'));
    if (stateBytes === null || paramBytes === null) return null;
    const discard = (reason: string): null => {
      this.events.emit('localStateDiscarded', { dir, reason });
      return null;
    };
    let state: ReplicaState & Record<string, unknown>;
    try {
      state = parseReplicaState(stateBytes, statePath);
    } catch (err) {
      if (!isLocalStateError(err)) throw err;
      return discard(err.message);
    }
    // after a protocol version bump the saved parameters belong to another network: bootstrap from its checkpoints
    if (state.protocolVersion !== undefined && state.protocolVersion !== this.net.protocol.version) {
      return discard(`saved under protocol version ${String(state.protocolVersion)}; the network runs ${this.net.protocol.version}`);
    }
    const backup = this.params.map((p) => p.data.slice());
    try {
      loadCheckpointInto(paramBytes, this.config, this.params);
    } catch (err) {
      if (!isCheckpointError(err)) throw err;
      this.params.forEach((p, i) => p.data.set(backup[i]));
      return discard(`params.safetensors: ${err.message}`);
    }
    if (this.hash() !== state.paramsHash) {
      // a crash between the two writes: parameters of another window; start over from the network
      this.params.forEach((p, i) => p.data.set(backup[i]));
      return discard(`params.safetensors hash ${this.hash()} is not the saved state's ${state.paramsHash}`);
    }
    this.lastApplied = state.lastApplied;
    this.globalStep = state.globalStep;
    return state;
  }

  debugSamples() {
    return sampleParams(this.params, this.net.protocol);
  }

  dispose(): void {
    this.model.dispose();
  }
}
