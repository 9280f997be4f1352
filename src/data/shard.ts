/**
 * Token shard file: a 64-byte header then uint16 little-endian tokens.
 *   0 magic "TSHD" | 4 u32 format version (1) | 8 u32 vocab size | 12 u32 reserved 0 | 16 f64 token count
 *   24 32-byte sha256 of the token bytes | 56 8 bytes reserved 0
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataError } from './errors.ts';
import { writeFileAtomic } from '../core/durable-write.ts';

const MAGIC = 0x44485354; // "TSHD" little-endian
const VERSION = 1;
export const SHARD_HEADER_BYTES = 64;

export interface TokenShard {
  readonly vocabSize: number;
  readonly tokens: Uint16Array;
}

export function encodeShard(shard: TokenShard): Uint8Array {
  if (!Number.isInteger(shard.vocabSize) || shard.vocabSize < 2 || shard.vocabSize > 65536) {
    throw new DataError('InvalidArgument', `shard vocab size ${shard.vocabSize} out of range`);
  }
  for (let i = 0; i < shard.tokens.length; i++) {
    if (shard.tokens[i] >= shard.vocabSize) throw new DataError('InvalidArgument', `token ${shard.tokens[i]} at ${i} outside vocab ${shard.vocabSize}`);
  }
  const payload = new Uint8Array(shard.tokens.buffer, shard.tokens.byteOffset, shard.tokens.byteLength);
  const out = new Uint8Array(SHARD_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, shard.vocabSize, true);
  view.setFloat64(16, shard.tokens.length, true);
  out.set(createHash('sha256').update(payload).digest(), 24);
  out.set(payload, SHARD_HEADER_BYTES);
  return out;
}

export function decodeShard(bytes: Uint8Array): TokenShard {
  if (bytes.length < SHARD_HEADER_BYTES) throw new DataError('ShardTruncated', `shard has ${bytes.length} bytes, less than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new DataError('ShardInvalid', 'not a token shard (bad magic)');
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new DataError('ShardInvalid', `unsupported shard version ${version}`);
  const vocabSize = view.getUint32(8, true);
  if (vocabSize < 2 || vocabSize > 65536) throw new DataError('ShardInvalid', `shard vocab size ${vocabSize} out of range`);
  if (view.getUint32(12, true) !== 0 || view.getBigUint64(56, true) !== 0n) throw new DataError('ShardInvalid', 'shard reserved header bytes are not zero');
  const count = view.getFloat64(16, true);
  if (!Number.isSafeInteger(count) || count < 0) throw new DataError('ShardInvalid', `shard token count ${count} invalid`);
  const expected = SHARD_HEADER_BYTES + count * 2;
  if (bytes.length < expected) throw new DataError('ShardTruncated', `shard has ${bytes.length} bytes, header says ${expected}`);
  if (bytes.length > expected) throw new DataError('ShardInvalid', `shard has ${bytes.length - expected} trailing bytes`);
  const payload = bytes.subarray(SHARD_HEADER_BYTES);
  const digest = createHash('sha256').update(payload).digest();
  if (!digest.equals(bytes.subarray(24, 56))) throw new DataError('ShardCorrupt', 'shard checksum mismatch');
  const tokens = new Uint16Array(count);
  new Uint8Array(tokens.buffer).set(payload);
  for (let i = 0; i < count; i++) {
    if (tokens[i] >= vocabSize) throw new DataError('ShardCorrupt', `token ${tokens[i]} at ${i} outside vocab ${vocabSize}`);
  }
  return { vocabSize, tokens };
}

/** Atomic and durable (core/durable-write.ts), so a reader never sees half a shard. */
export function writeShardFile(path: string, shard: TokenShard): void {
  writeFileAtomic(path, encodeShard(shard));
}

export function readShardFile(path: string): TokenShard {
  return decodeShard(readFileSync(path));
}
