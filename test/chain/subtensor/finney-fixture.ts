/**
 * The recorded finney answers (test/fixtures/subtensor-finney-*.json) as JSON-RPC request → answer pairs,
 * plus the few answers the recording lacks, each marked as synthesized and built from recorded facts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { xxhashAsHex } from '@polkadot/util-crypto';
import type { RecordedAnswer } from '../../../src/chain/subtensor/recorded-provider.ts';

interface RecordedFixture {
  runtimeVersion: Record<string, unknown> & { specVersion: number };
  header: { parentHash: string; number: string; digest: { logs: string[] } } & Record<string, unknown>;
  blockHash: [string, { result: string }][];
  neuronsLite: { params: [string, string, string]; result: string };
  hyper: { params: [string, string]; result: string }[];
  chain: string;
}

interface MetadataFixture {
  method: string;
  params: [string, string];
  result: string;
}

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url)), 'utf8')) as T;
}

export const RECORDED = fixture<RecordedFixture>('subtensor-finney-recorded.json');
export const METADATA_V15 = fixture<MetadataFixture>('subtensor-finney-metadata-v15.json');

/** Head of the recording: finney block 6852690, spec 343. */
export const HEAD_NUMBER = Number.parseInt(RECORDED.header.number, 16);
export const HEAD_HASH = RECORDED.blockHash[0][1].result;
export const PARENT_HASH = RECORDED.header.parentHash;
/** Finney's genesis hash (well known; not part of the recording). */
export const FINNEY_GENESIS = '0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03';
export const NETUID = 1;

/** `Timestamp.Now` storage key: twox128("Timestamp") ++ twox128("Now"). */
export const TIMESTAMP_NOW_KEY = `${xxhashAsHex('Timestamp', 128)}${xxhashAsHex('Now', 128).slice(2)}`;

function withHexPrefix(s: string): string {
  return s.startsWith('0x') ? s : `0x${s}`;
}

/** Aura slot of the head, from its recorded pre-runtime digest (`PreRuntime(*b"aura", slot u64 LE)`). */
export function headAuraSlot(): bigint {
  const log = RECORDED.header.digest.logs.find((l) => l.startsWith('0x0661757261'));
  if (!log) throw new Error('recorded head has no aura pre-runtime digest');
  // 0x06 PreRuntime, "aura", compact length 0x20 (8 bytes), then the slot.
  const slotHex = log.slice(2 + 2 + 8 + 2, 2 + 2 + 8 + 2 + 16);
  return Buffer.from(slotHex, 'hex').readBigUInt64LE(0);
}

/** Subtensor's 12 s slots: Aura requires `Timestamp.Now / 12000 == slot`, so the slot start is a consistent timestamp. */
export const HEAD_TIMESTAMP_MS = headAuraSlot() * 12_000n;

export function u64LeHex(v: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return `0x${b.toString('hex')}`;
}

/** Answers exactly as the recording has them (keys normalised to what polkadot.js sends). */
export function recordedAnswers(): RecordedAnswer[] {
  const [method, data, at] = RECORDED.neuronsLite.params;
  return [
    { method: 'chain_getBlockHash', params: [HEAD_NUMBER], result: HEAD_HASH },
    { method: 'chain_getHeader', params: [], result: RECORDED.header },
    { method: 'chain_getHeader', params: [HEAD_HASH], result: RECORDED.header },
    // Recorded keyed by the head's parent (where a runtime version is read for the head's state).
    { method: 'state_getRuntimeVersion', params: [PARENT_HASH], result: RECORDED.runtimeVersion },
    { method: 'system_chain', params: [], result: RECORDED.chain },
    { method: 'state_call', params: [method, withHexPrefix(data), at], result: RECORDED.neuronsLite.result },
    { method: METADATA_V15.method, params: METADATA_V15.params, result: METADATA_V15.result },
  ];
}

/** Answers the recording lacks, needed to start the API and to sign; each is derived from recorded facts. */
export function synthesizedAnswers(): RecordedAnswer[] {
  return [
    { method: 'chain_getBlockHash', params: [0], result: FINNEY_GENESIS },
    // The latest runtime is the recorded one (spec 343); the head's own state uses it too.
    { method: 'state_getRuntimeVersion', params: [], result: RECORDED.runtimeVersion },
    { method: 'state_getRuntimeVersion', params: [HEAD_HASH], result: RECORDED.runtimeVersion },
    { method: 'system_properties', params: [], result: { ss58Format: 42, tokenDecimals: 9, tokenSymbol: 'TAO' } },
    // Empty list: polkadot.js then exposes every RPC it knows.
    { method: 'rpc_methods', params: [], result: { methods: [] } },
    // SCALE Vec<u32> [14, 15]: the runtime serves metadata v14 and v15.
    { method: 'state_call', params: ['Metadata_metadata_versions', '0x'], result: '0x080e0000000f000000' },
    { method: 'chain_getFinalizedHead', params: [], result: HEAD_HASH },
    { method: 'state_getStorage', params: [TIMESTAMP_NOW_KEY, HEAD_HASH], result: u64LeHex(HEAD_TIMESTAMP_MS) },
  ];
}
