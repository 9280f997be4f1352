/**
 * Signed transactions of the embedded chain. The signer (and, where a call needs it, a cosigner) signs
 *
 *     "tessera-chain/tx/v1:" + canonical JSON of { args, block, call, chain, nonce, signer }
 *
 * with sr25519. Canonical JSON sorts object keys and has no whitespace; integers only (u64 values and amounts
 * travel as decimal strings). `chain` is the genesis hash (no cross-chain replay), `block` a recent block
 * (transactions expire MORTALITY blocks after it) and `nonce` 16 random bytes (no replay within that window:
 * the chain remembers every transaction id until it expires).
 */
import { createHash, randomBytes } from 'node:crypto';
import { hexToU8a, isHex, u8aToHex } from '@polkadot/util';
import { decodeAddress, sr25519Verify } from '@polkadot/util-crypto';
import type { HotkeySigner } from '../types.ts';
import { EmbeddedChainError } from './errors.ts';
import { checkAddress, checkNetuid, toRao } from './state.ts';

export const TX_DOMAIN = 'tessera-chain/tx/v1:';
/** A transaction is valid for this many blocks after its reference block. */
export const MORTALITY = 256;
export const MAX_WEIGHTS = 4096;
export const MAX_COMMITMENT_BYTES = 128;

export type Call =
  | { call: 'register'; args: { netuid: number; coldkey: string } }
  | { call: 'set_weights'; args: { netuid: number; uids: number[]; values: number[]; versionKey: number } }
  | { call: 'set_commitment'; args: { netuid: number; data: string } }
  /** `commit` is the TLECiphertext as 0x-hex. */
  | { call: 'commit_timelocked_weights'; args: { netuid: number; commit: string; revealRound: number; version: number } }
  | { call: 'add_stake'; args: { netuid: number; hotkey: string; amount: bigint } }
  | { call: 'remove_stake'; args: { netuid: number; hotkey: string; amount: bigint } }
  | { call: 'transfer'; args: { dest: string; amount: bigint } }
  | { call: 'create_subnet'; args: { netuid: number; hotkey: string; params: Record<string, unknown> } }
  | { call: 'set_subnet_params'; args: { netuid: number; params: Record<string, unknown> } };

export type CallName = Call['call'];

export interface TxPayload {
  chain: string;
  block: number;
  nonce: string;
  signer: string;
  call: Call;
}

/** What travels over HTTP. */
export interface SignedTx {
  payload: { chain: string; block: number; nonce: string; signer: string; call: CallName; args: unknown };
  signature: string;
  /** A second signature over the same bytes (the coldkey paying a registration burn). */
  cosigner?: string;
  cosignature?: string;
}

function bad(message: string): EmbeddedChainError {
  return new EmbeddedChainError('MalformedRequest', message);
}

// ---------- canonical JSON ----------

type Canon = null | boolean | number | string | Canon[] | { [key: string]: Canon };

export function canonicalJson(value: Canon): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw bad(`canonical JSON carries integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const keys = Object.keys(value).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(value[k])).join(',') + '}';
}

function argsToCanon(call: Call): Canon {
  switch (call.call) {
    case 'add_stake':
    case 'remove_stake':
      return { netuid: call.args.netuid, hotkey: call.args.hotkey, amount: call.args.amount.toString() };
    case 'transfer':
      return { dest: call.args.dest, amount: call.args.amount.toString() };
    case 'create_subnet':
      return { netuid: call.args.netuid, hotkey: call.args.hotkey, params: call.args.params as { [key: string]: Canon } };
    case 'set_subnet_params':
      return { netuid: call.args.netuid, params: call.args.params as { [key: string]: Canon } };
    default:
      return call.args as unknown as Canon;
  }
}

export function payloadBytes(p: TxPayload): Uint8Array {
  const body = canonicalJson({ args: argsToCanon(p.call), block: p.block, call: p.call.call, chain: p.chain, nonce: p.nonce, signer: p.signer });
  return new TextEncoder().encode(TX_DOMAIN + body);
}

/** Transaction id: sha256 of the signed bytes. */
export function txId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------- parsing untrusted calls ----------

function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must be an object`);
  return v as Record<string, unknown>;
}

function onlyKeys(o: Record<string, unknown>, keys: string[], what: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw bad(`${what} has unexpected field ${JSON.stringify(k)}`);
  for (const k of keys) if (!(k in o)) throw bad(`${what} lacks ${k}`);
}

/** Hyperparameter updates are flat: each value a boolean, a safe integer or a decimal string. */
function flatParams(v: unknown): Record<string, unknown> {
  const o = obj(v, 'params');
  const keys = Object.keys(o);
  if (keys.length > 64) throw bad('params has too many fields');
  for (const k of keys) {
    const x = o[k];
    const ok = typeof x === 'boolean' || (typeof x === 'number' && Number.isSafeInteger(x)) || (typeof x === 'string' && x.length <= 40);
    if (!ok) throw bad(`params.${k} must be a boolean, an integer or a short decimal string`);
  }
  return o;
}

function u16List(v: unknown, what: string): number[] {
  if (!Array.isArray(v)) throw bad(`${what} must be an array`);
  if (v.length > MAX_WEIGHTS) throw new EmbeddedChainError('InvalidWeights', `${what} has ${v.length} entries; at most ${MAX_WEIGHTS}`);
  return v.map((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 65535) {
      throw new EmbeddedChainError('InvalidWeights', `${what}[${i}] must be an integer in [0, 65535]`);
    }
    return x;
  });
}

function amount(v: unknown, what: string): bigint {
  if (typeof v !== 'string') throw bad(`${what} must be a decimal string of rao`);
  try {
    return toRao(v, what);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

function address(v: unknown, what: string): string {
  try {
    return checkAddress(v, what);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

function netuid(v: unknown): number {
  try {
    return checkNetuid(v);
  } catch (err) {
    throw bad((err as Error).message);
  }
}

/** Printable ASCII up to 128 bytes: Templar's bucket string is 128 characters of [A-Za-z0-9+/=_.-]. */
export function checkCommitment(data: unknown): string {
  if (typeof data !== 'string') throw new EmbeddedChainError('InvalidCommitment', 'commitment must be a string');
  if (data.length > MAX_COMMITMENT_BYTES) {
    throw new EmbeddedChainError('InvalidCommitment', `commitment is ${data.length} characters; a Raw field holds at most ${MAX_COMMITMENT_BYTES}`);
  }
  if (!/^[\x20-\x7e]*$/.test(data)) throw new EmbeddedChainError('InvalidCommitment', 'commitment must be printable ASCII');
  return data;
}

export function parseCall(name: unknown, args: unknown): Call {
  const a = obj(args, 'args');
  switch (name) {
    case 'register':
      onlyKeys(a, ['netuid', 'coldkey'], 'register args');
      return { call: 'register', args: { netuid: netuid(a.netuid), coldkey: address(a.coldkey, 'coldkey') } };
    case 'set_weights': {
      onlyKeys(a, ['netuid', 'uids', 'values', 'versionKey'], 'set_weights args');
      if (typeof a.versionKey !== 'number' || !Number.isSafeInteger(a.versionKey) || a.versionKey < 0) {
        throw bad('versionKey must be a non-negative safe integer');
      }
      return {
        call: 'set_weights',
        args: { netuid: netuid(a.netuid), uids: u16List(a.uids, 'uids'), values: u16List(a.values, 'values'), versionKey: a.versionKey },
      };
    }
    case 'commit_timelocked_weights': {
      onlyKeys(a, ['netuid', 'commit', 'revealRound', 'version'], 'commit_timelocked_weights args');
      // 5000 bytes (MAX_CRV3_COMMIT_SIZE_BYTES) as hex, with headroom for the chain to name the size it refuses
      if (typeof a.commit !== 'string' || !/^0x([0-9a-f]{2})*$/.test(a.commit) || a.commit.length > 2 + 2 * 8192) {
        throw bad('commit must be lower-case 0x-hex of at most 8192 bytes');
      }
      if (typeof a.revealRound !== 'number' || !Number.isSafeInteger(a.revealRound) || a.revealRound < 1) throw bad('revealRound must be a positive safe integer');
      if (typeof a.version !== 'number' || !Number.isInteger(a.version) || a.version < 0 || a.version > 65535) throw bad('version must be a u16');
      return { call: 'commit_timelocked_weights', args: { netuid: netuid(a.netuid), commit: a.commit, revealRound: a.revealRound, version: a.version } };
    }
    case 'set_commitment':
      onlyKeys(a, ['netuid', 'data'], 'set_commitment args');
      return { call: 'set_commitment', args: { netuid: netuid(a.netuid), data: checkCommitment(a.data) } };
    case 'add_stake':
    case 'remove_stake':
      onlyKeys(a, ['netuid', 'hotkey', 'amount'], `${name} args`);
      return { call: name, args: { netuid: netuid(a.netuid), hotkey: address(a.hotkey, 'hotkey'), amount: amount(a.amount, 'amount') } };
    case 'transfer':
      onlyKeys(a, ['dest', 'amount'], 'transfer args');
      return { call: 'transfer', args: { dest: address(a.dest, 'dest'), amount: amount(a.amount, 'amount') } };
    case 'create_subnet':
      onlyKeys(a, ['netuid', 'hotkey', 'params'], 'create_subnet args');
      return { call: 'create_subnet', args: { netuid: netuid(a.netuid), hotkey: address(a.hotkey, 'hotkey'), params: flatParams(a.params) } };
    case 'set_subnet_params':
      onlyKeys(a, ['netuid', 'params'], 'set_subnet_params args');
      return { call: 'set_subnet_params', args: { netuid: netuid(a.netuid), params: flatParams(a.params) } };
    default:
      throw bad(`unknown call ${JSON.stringify(name)}`);
  }
}

export interface VerifiedTx {
  payload: TxPayload;
  id: string;
  cosigner?: string;
}

function checkSignature(bytes: Uint8Array, signature: unknown, signer: string, what: string): void {
  if (typeof signature !== 'string' || !isHex(signature) || signature.length !== 130) {
    throw new EmbeddedChainError('BadSignature', `${what} must be a 64-byte hex signature`);
  }
  let ok = false;
  try {
    ok = sr25519Verify(bytes, hexToU8a(signature), decodeAddress(signer));
  } catch {
    ok = false;
  }
  if (!ok) throw new EmbeddedChainError('BadSignature', `${what} is not a valid sr25519 signature by ${signer}`);
}

/** Validates the shape of an untrusted request and its signatures (not mortality or replay; the node does those). */
export function verifyTx(body: unknown, genesisHash: string): VerifiedTx {
  const o = obj(body, 'request');
  for (const k of Object.keys(o)) if (!['payload', 'signature', 'cosigner', 'cosignature'].includes(k)) throw bad(`request has unexpected field ${JSON.stringify(k)}`);
  const p = obj(o.payload, 'payload');
  onlyKeys(p, ['chain', 'block', 'nonce', 'signer', 'call', 'args'], 'payload');
  if (p.chain !== genesisHash) throw new EmbeddedChainError('BadSignature', 'transaction was signed for another chain (genesis hash differs)');
  if (typeof p.block !== 'number' || !Number.isSafeInteger(p.block) || p.block < 0) throw bad('block must be a non-negative integer');
  if (typeof p.nonce !== 'string' || !/^0x[0-9a-f]{32}$/.test(p.nonce)) throw bad('nonce must be 16 bytes of lowercase 0x-hex');
  const signer = address(p.signer, 'signer');
  const payload: TxPayload = { chain: genesisHash, block: p.block, nonce: p.nonce, signer, call: parseCall(p.call, p.args) };
  const bytes = payloadBytes(payload);
  checkSignature(bytes, o.signature, signer, 'signature');
  let cosigner: string | undefined;
  if (o.cosigner !== undefined || o.cosignature !== undefined) {
    cosigner = address(o.cosigner, 'cosigner');
    checkSignature(bytes, o.cosignature, cosigner, 'cosignature');
  }
  return { payload, id: txId(bytes), cosigner };
}

/** Builds and signs a transaction (client side). */
export function signTx(
  chain: string,
  block: number,
  signer: HotkeySigner,
  call: Call,
  cosigner?: HotkeySigner,
): SignedTx {
  const nonce = u8aToHex(randomBytes(16));
  const payload: TxPayload = { chain, block, nonce, signer: signer.address, call };
  const bytes = payloadBytes(payload);
  const args = JSON.parse(canonicalJson(argsToCanon(call))) as unknown;
  const tx: SignedTx = {
    payload: { chain, block, nonce, signer: signer.address, call: call.call, args },
    signature: u8aToHex(signer.sign(bytes)),
  };
  if (cosigner) {
    tx.cosigner = cosigner.address;
    tx.cosignature = u8aToHex(cosigner.sign(bytes));
  }
  return tx;
}
