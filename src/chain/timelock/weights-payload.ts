/**
 * What a timelocked weight commit encrypts: SCALE `WeightsTlockPayload { hotkey: Vec<u8>, uids: Vec<u16>,
 * values: Vec<u16>, version_key: u64 }` (subtensor `coinbase/reveal_commits.rs`), and the beacon round it is
 * encrypted to, computed as `bittensor-drand`'s `generate_commit` does.
 */
import { compactFromU8a, compactToU8a, u8aConcat } from '@polkadot/util';
import { type BeaconInfo } from './beacon.ts';
import { TimelockError } from './errors.ts';

const U16_MAX = 0xffff;
const U64_MAX = (1n << 64n) - 1n;
/** Blocks after the first reveal block by which the round must have been ingested (`SECURITY_BLOCK_OFFSET`). */
export const REVEAL_SAFETY_BLOCKS = 3;
/** `CommitRevealWeightsVersion` of current runtimes: the version a timelocked commit must state. */
export const COMMIT_REVEAL_VERSION = 4;
/** `MAX_CRV3_COMMIT_SIZE_BYTES`: the longest timelocked commit subtensor stores. */
export const MAX_TIMELOCKED_COMMIT_BYTES = 5000;

export interface WeightsTlockPayload {
  /** The committing hotkey's 32-byte public key; the chain drops a reveal whose hotkey is not the signer. */
  readonly hotkey: Uint8Array;
  readonly uids: readonly number[];
  readonly values: readonly number[];
  readonly versionKey: bigint;
}

function u16s(values: readonly number[], what: string): Uint8Array {
  const out = new Uint8Array(2 * values.length);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v > U16_MAX) throw new TimelockError('BadPayload', `${what} ${v} is not a u16`);
    out[2 * i] = v & 0xff;
    out[2 * i + 1] = v >> 8;
  });
  return out;
}

export function encodeWeightsTlockPayload(p: WeightsTlockPayload): Uint8Array {
  if (p.uids.length !== p.values.length) throw new TimelockError('BadPayload', `${p.uids.length} uids but ${p.values.length} values`);
  if (p.versionKey < 0n || p.versionKey > U64_MAX) throw new TimelockError('BadPayload', `version key ${p.versionKey} is not a u64`);
  const version = new Uint8Array(8);
  new DataView(version.buffer).setBigUint64(0, p.versionKey, true);
  return u8aConcat(
    compactToU8a(p.hotkey.length), p.hotkey,
    compactToU8a(p.uids.length), u16s(p.uids, 'uid'),
    compactToU8a(p.values.length), u16s(p.values, 'value'),
    version,
  );
}

/** Decodes the payload, refusing short input (subtensor ignores trailing bytes; so does this). */
export function decodeWeightsTlockPayload(bytes: Uint8Array): WeightsTlockPayload {
  let off = 0;
  const need = (n: number, what: string): void => {
    if (off + n > bytes.length) throw new TimelockError('BadPayload', `weights payload: ${what} needs ${n} bytes at offset ${off}, ${bytes.length - off} left`);
  };
  const compact = (what: string): number => {
    need(1, `${what} length`);
    const [len, value] = compactFromU8a(bytes.subarray(off));
    if (value.gtn(bytes.length)) throw new TimelockError('BadPayload', `weights payload: ${what} length ${value.toString()} exceeds the payload`);
    off += len;
    return value.toNumber();
  };
  const hotkeyLen = compact('hotkey');
  need(hotkeyLen, 'hotkey');
  const hotkey = bytes.slice(off, off + hotkeyLen);
  off += hotkeyLen;
  const readU16s = (what: string): number[] => {
    const n = compact(what);
    need(2 * n, what);
    const out = Array.from({ length: n }, (_, i) => bytes[off + 2 * i] | (bytes[off + 2 * i + 1] << 8));
    off += 2 * n;
    return out;
  };
  const uids = readU16s('uids');
  const values = readU16s('values');
  need(8, 'version key');
  const versionKey = new DataView(bytes.buffer, bytes.byteOffset + off, 8).getBigUint64(0, true);
  if (uids.length !== values.length) throw new TimelockError('BadPayload', `weights payload: ${uids.length} uids but ${values.length} values`);
  return { hotkey, uids, values, versionKey };
}

export interface RevealRoundInput {
  readonly currentBlock: number;
  /** The subnet's storage index (mechanism · 4096 + netuid). */
  readonly netuidIndex: number;
  readonly tempo: number;
  /** `RevealPeriodEpochs` (hyperparameter `commit_reveal_period`). */
  readonly revealPeriodEpochs: number;
  /** Seconds per block (12 on subtensor). */
  readonly blockTimeSeconds: number;
  /** Unix seconds now (float). */
  readonly nowSeconds: number;
}

/**
 * The beacon round a commit made now is encrypted to: the round published about `REVEAL_SAFETY_BLOCKS` blocks
 * after the first block of the reveal epoch (`commit epoch + reveal period`), by the legacy epoch formula
 * `(block + netuid + 1) / (tempo + 1)` that bittensor-drand uses.
 */
export function revealRound(beacon: BeaconInfo, input: RevealRoundInput): number {
  const tp1 = input.tempo + 1;
  const np1 = input.netuidIndex + 1;
  const epoch = Math.floor((input.currentBlock + np1) / tp1);
  const firstRevealBlock = Math.max(0, (epoch + input.revealPeriodEpochs) * tp1 - np1);
  const blocksUntil = Math.max(0, firstRevealBlock + REVEAL_SAFETY_BLOCKS - input.currentBlock);
  const target = input.nowSeconds + blocksUntil * input.blockTimeSeconds;
  return Math.max(1, Math.floor((target - beacon.genesisTime) / beacon.period));
}
