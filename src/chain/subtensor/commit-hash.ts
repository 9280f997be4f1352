import { compactToU8a, u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { SubtensorError } from './errors.ts';
import { U16_MAX } from './weights.ts';

const U64_MAX = (1n << 64n) - 1n;
/** Storage index stride of sub-subnet mechanisms: `netuid_index = mecid * 4096 + netuid`. */
export const MECHANISM_STRIDE = 4096;

export function netuidIndex(netuid: number, mechanism = 0): number {
  const index = mechanism * MECHANISM_STRIDE + netuid;
  if (!Number.isInteger(index) || netuid < 0 || netuid > U16_MAX || mechanism < 0 || index > U16_MAX) {
    throw new SubtensorError('InvalidArgument', `netuid ${netuid} / mechanism ${mechanism} has no u16 storage index`);
  }
  return index;
}

function u16Le(v: number, what: string): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > U16_MAX) throw new SubtensorError('InvalidWeights', `${what} ${v} is not a u16`);
  return new Uint8Array([v & 0xff, v >> 8]);
}

function vecU16(values: readonly number[], what: string): Uint8Array {
  return u8aConcat(compactToU8a(values.length), ...values.map((v) => u16Le(v, what)));
}

export function toU64(v: bigint | number, what: string): bigint {
  const b = typeof v === 'bigint' ? v : Number.isSafeInteger(v) ? BigInt(v) : -1n;
  if (b < 0n || b > U64_MAX) throw new SubtensorError('InvalidArgument', `${what} ${v} is not a u64 (safe integer or bigint)`);
  return b;
}

export interface WeightCommitInput {
  hotkeyPublicKey: Uint8Array;
  netuidIndex: number;
  uids: readonly number[];
  values: readonly number[];
  salt: readonly number[];
  versionKey: bigint | number;
}

/** SCALE(hotkey public key [u8;32], netuid_index u16, uids Vec<u16>, values Vec<u16>, salt Vec<u16>, version_key u64). */
export function weightCommitPreimage(input: WeightCommitInput): Uint8Array {
  if (input.hotkeyPublicKey.length !== 32) {
    throw new SubtensorError('InvalidArgument', `hotkey public key must be 32 bytes, got ${input.hotkeyPublicKey.length}`);
  }
  if (input.uids.length !== input.values.length) {
    throw new SubtensorError('InvalidWeights', `uids and values differ in length: ${input.uids.length} vs ${input.values.length}`);
  }
  const version = toU64(input.versionKey, 'version key');
  const versionLe = new Uint8Array(8);
  new DataView(versionLe.buffer).setBigUint64(0, version, true);
  return u8aConcat(
    input.hotkeyPublicKey,
    u16Le(input.netuidIndex, 'netuid index'),
    vecU16(input.uids, 'uid'),
    vecU16(input.values, 'weight value'),
    vecU16(input.salt, 'salt'),
    versionLe,
  );
}

/**
 * CR-v2 commit hash, byte-identical to subtensor's `get_commit_hash` and the Python SDK's `generate_weight_hash`:
 * blake2b-256 of `weightCommitPreimage`.
 */
export function weightCommitHash(input: WeightCommitInput): `0x${string}` {
  return u8aToHex(blake2AsU8a(weightCommitPreimage(input), 256));
}

/** A fresh random salt of `length` u16 values. */
export function randomSalt(length = 8): number[] {
  if (!Number.isInteger(length) || length < 1 || length > 64) {
    throw new SubtensorError('InvalidArgument', `salt length ${length} is not in [1, 64]`);
  }
  return Array.from(crypto.getRandomValues(new Uint16Array(length)));
}
