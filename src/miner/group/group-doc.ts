/**
 * How the stage nodes of a pipeline group are bound to the one hotkey the group mines under. The group document
 * (`group.json`, format tessera.group/1) names the hotkey, the ed25519 key of the node running each stage, the model
 * split and the boundary compression, and carries the hotkey's sr25519 signature over all of it. Stage 0 holds the
 * hotkey: it registers, uploads, and runs only with a document its own hotkey signed. Every other stage runs only
 * with a document whose signature verifies under the hotkey it names and that lists its own key for its stage. The
 * pipeline transport then admits, at each boundary, only the key the document lists for the neighbouring stage
 * (src/pipeline/transport.ts), so a node holding a key the hotkey did not sign for cannot take part in the group.
 */
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { signatureVerify } from '@polkadot/util-crypto';
import type { HotkeySigner } from '../../chain/types.ts';
import { readFileIfExists, writeFileAtomic } from '../../core/durable-write.ts';
import { JsonFields, parseJsonObject, type JsonErrorFactory } from '../../core/json.ts';
import type { PipelineGroup } from '../../pipeline/transport.ts';
import { GroupError } from './errors.ts';

export const GROUP_DOC_FORMAT = 'tessera.group/1';
const STAGE_KEY_FORMAT = 'tessera.stage-key/1';
const SIGNING_LABEL = 'tessera-group-doc-v1\0';

/** What the hotkey signs. */
export interface GroupDocBody {
  readonly format: typeof GROUP_DOC_FORMAT;
  /** The group's name (its stage-0 node's name on a local network). */
  readonly id: string;
  /** SS58 address of the hotkey the group mines under. */
  readonly hotkey: string;
  /** ed25519 public key (hex) of the node running each stage, in stage order. */
  readonly stageKeys: readonly string[];
  /** Decoder layers where stages 1..S−1 start. */
  readonly boundaries: readonly number[];
  /** GPipe micro-batches per inner step. */
  readonly microBatches: number;
  /** Rank of the subspace-projected boundaries; null: activations cross uncompressed. */
  readonly rank: number | null;
  /** Seed of the boundary basis (every group of a run using one rank should share it). */
  readonly subspaceSeed: number;
}

export interface GroupDoc extends GroupDocBody {
  /** sr25519 signature (hex) of the hotkey over signingBytes(body). */
  readonly signature: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const malformed = (what: string): JsonErrorFactory => (_kind, message, cause) => new GroupError('Malformed', message.startsWith(what) ? message : `${what}: ${message}`, { cause });

/** The bytes the hotkey signs: a label, then the body's fields as JSON in a fixed order. */
export function signingBytes(b: GroupDocBody): Uint8Array {
  const canonical = JSON.stringify([b.format, b.id, b.hotkey, b.stageKeys, b.boundaries, b.microBatches, b.rank, b.subspaceSeed]);
  return new TextEncoder().encode(SIGNING_LABEL + canonical);
}

export function signGroupDoc(body: GroupDocBody, hotkey: HotkeySigner): GroupDoc {
  if (hotkey.address !== body.hotkey) throw new GroupError('Unbound', `group ${body.id} names hotkey ${body.hotkey}; it cannot be signed by ${hotkey.address}`);
  checkBody(body, `group ${body.id}`);
  return { ...body, signature: hex(hotkey.sign(signingBytes(body))) };
}

function checkBody(b: GroupDocBody, what: string): void {
  if (b.stageKeys.length < 2) throw new GroupError('Malformed', `${what}: a group has 2 stages at least, got ${b.stageKeys.length}`);
  if (b.boundaries.length !== b.stageKeys.length - 1) throw new GroupError('Malformed', `${what}: ${b.stageKeys.length} stages need ${b.stageKeys.length - 1} boundaries, got ${b.boundaries.length}`);
  if (new Set(b.stageKeys).size !== b.stageKeys.length) throw new GroupError('Malformed', `${what}: a stage key is listed twice`);
}

/** Reads a group document; `what` names it in errors (e.g. its path). Fields are checked, the signature is not. */
export function parseGroupDoc(bytes: Uint8Array | string, what: string): GroupDoc {
  const fail = malformed(what);
  const f = new JsonFields(parseJsonObject(bytes, what, fail), what, fail)
    .exactKeys(['format', 'id', 'hotkey', 'stageKeys', 'boundaries', 'microBatches', 'rank', 'subspaceSeed', 'signature']);
  f.oneOf('format', [GROUP_DOC_FORMAT] as const);
  const stageKeys = f.array('stageKeys', 64).map((k, i): string => {
    if (typeof k !== 'string' || !/^[0-9a-f]{64}$/.test(k)) return f.fail(`stageKeys[${i}] must be 64 lowercase hex digits (an ed25519 public key)`);
    return k;
  });
  const doc: GroupDoc = {
    format: GROUP_DOC_FORMAT,
    id: f.string('id', /^[A-Za-z0-9._-]{1,64}$/),
    hotkey: f.string('hotkey', /^[1-9A-HJ-NP-Za-km-z]{40,60}$/),
    stageKeys,
    boundaries: f.array('boundaries', 63).map((b, i): number => {
      if (typeof b !== 'number' || !Number.isSafeInteger(b) || b < 1) return f.fail(`boundaries[${i}] must be a positive integer`);
      return b;
    }),
    microBatches: f.int('microBatches', 1, 1024),
    rank: f.obj.rank === null ? null : f.int('rank', 1, 65_536),
    subspaceSeed: f.int('subspaceSeed', 0, 0xffffffff),
    signature: f.string('signature', /^[0-9a-f]{128}$/),
  };
  checkBody(doc, what);
  return doc;
}

export function loadGroupDoc(path: string): GroupDoc {
  const bytes = readFileIfExists(path);
  if (bytes === null) throw new GroupError('Malformed', `group document ${path} is missing`);
  return parseGroupDoc(bytes, `group document ${path}`);
}

export function saveGroupDoc(path: string, doc: GroupDoc): void {
  writeFileAtomic(path, JSON.stringify(doc, null, 2) + '\n');
}

/**
 * Checks the hotkey's signature, and that the document is for `hotkey` when given (stage 0 passes its own).
 * Throws BadSignature or Unbound.
 */
export function verifyGroupDoc(doc: GroupDoc, hotkey?: string): void {
  if (hotkey !== undefined && doc.hotkey !== hotkey) throw new GroupError('Unbound', `group ${doc.id} is bound to hotkey ${doc.hotkey}, not to this node's ${hotkey}`);
  let valid = false;
  try {
    valid = signatureVerify(signingBytes(doc), Buffer.from(doc.signature, 'hex'), doc.hotkey).isValid;
  } catch {
    valid = false;
  }
  if (!valid) throw new GroupError('BadSignature', `group ${doc.id}: the signature does not verify under hotkey ${doc.hotkey} (document altered, or signed by another key)`);
}

/** Throws Unbound unless the (verified) document lists `publicKey` for `stage`. */
export function checkStageBound(doc: GroupDoc, stage: number, publicKey: Uint8Array): void {
  if (!(Number.isInteger(stage) && stage >= 0 && stage < doc.stageKeys.length)) throw new GroupError('Unbound', `group ${doc.id} has no stage ${stage} (${doc.stageKeys.length} stages)`);
  if (doc.stageKeys[stage] !== hex(publicKey)) {
    throw new GroupError('Unbound', `stage key ${hex(publicKey)} is not bound to hotkey ${doc.hotkey}: group ${doc.id} lists ${doc.stageKeys[stage]} for stage ${stage}`);
  }
}

/** The transport's view of the group: its keys, and the boundary subspace's digest (null: uncompressed). */
export function pipelineGroupOf(doc: GroupDoc, subspace: string | null): PipelineGroup {
  return { id: `${doc.id}/${doc.hotkey}`, stageKeys: doc.stageKeys.map((k) => Uint8Array.from(Buffer.from(k, 'hex'))), subspace };
}

/** A stage node's ed25519 secret key (32 bytes), created once and kept 0600 in `path`. */
export function loadOrCreateStageKey(path: string): Uint8Array {
  const saved = readFileIfExists(path);
  if (saved !== null) {
    const what = `stage key ${path}`;
    const fail = malformed(what);
    const f = new JsonFields(parseJsonObject(saved, what, fail), what, fail).exactKeys(['format', 'secretKey', 'publicKey']);
    f.oneOf('format', [STAGE_KEY_FORMAT] as const);
    const secret = Uint8Array.from(Buffer.from(f.string('secretKey', /^[0-9a-f]{64}$/), 'hex'));
    if (hex(ed25519.getPublicKey(secret)) !== f.string('publicKey')) throw new GroupError('Malformed', `${what}: publicKey is not the secret key's`);
    return secret;
  }
  const secret = new Uint8Array(randomBytes(32));
  writeFileAtomic(path, JSON.stringify({ format: STAGE_KEY_FORMAT, secretKey: hex(secret), publicKey: hex(ed25519.getPublicKey(secret)) }, null, 2) + '\n', 0o600);
  return secret;
}

export function stagePublicKey(secret: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secret);
}
