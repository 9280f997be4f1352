/**
 * Token shard file: a 64-byte header then little-endian tokens of 2 or 4 bytes each.
 *   0 magic "TSHD" | 4 u32 format version | 8 u32 vocab size | 12 u32 bytes per token (v2; 0 in v1)
 *   16 f64 token count | 24 32-byte sha256 of the token bytes | 56 8 bytes reserved 0
 * Version 1 (always 2-byte tokens, vocab ≤ 65,536) still decodes; version 2 adds 4-byte tokens for
 * vocabularies such as LLaMA-3's 128,256.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataError } from './errors.ts';
import { writeFileAtomic } from '../core/durable-write.ts';

const MAGIC = 0x44485354; // "TSHD" little-endian
const VERSION = 2;
export const SHARD_HEADER_BYTES = 64;
export const MAX_VOCAB_SIZE = 2 ** 31;

export type TokenArray = Uint16Array | Uint32Array;
export type TokenBytes = 2 | 4;

export interface TokenShard {
  readonly vocabSize: number;
  readonly tokens: TokenArray;
}

/** 2 while every id fits in 16 bits, else 4. */
export function tokenBytesFor(vocabSize: number): TokenBytes {
  return vocabSize <= 65536 ? 2 : 4;
}

/** An empty token array of the width `vocabSize` needs. */
export function allocTokens(vocabSize: number, length: number): TokenArray {
  return tokenBytesFor(vocabSize) === 2 ? new Uint16Array(length) : new Uint32Array(length);
}

function checkVocab(vocabSize: number, fail: (why: string) => DataError): void {
  if (!Number.isInteger(vocabSize) || vocabSize < 2 || vocabSize > MAX_VOCAB_SIZE) throw fail(`shard vocab size ${vocabSize} out of range [2, ${MAX_VOCAB_SIZE}]`);
}

export function encodeShard(shard: TokenShard): Uint8Array {
  checkVocab(shard.vocabSize, (why) => new DataError('InvalidArgument', why));
  const width = shard.tokens.BYTES_PER_ELEMENT;
  if (width !== tokenBytesFor(shard.vocabSize)) {
    throw new DataError('InvalidArgument', `vocab ${shard.vocabSize} takes ${tokenBytesFor(shard.vocabSize)}-byte tokens, got ${width}-byte`);
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
  view.setUint32(12, width, true);
  view.setFloat64(16, shard.tokens.length, true);
  out.set(createHash('sha256').update(payload).digest(), 24);
  out.set(payload, SHARD_HEADER_BYTES);
  return out;
}

/** `payloadVerified`: the caller already matched the whole file against a trusted digest; skip the payload hash. */
export function decodeShard(bytes: Uint8Array, opts: { payloadVerified?: boolean } = {}): TokenShard {
  if (bytes.length < SHARD_HEADER_BYTES) throw new DataError('ShardTruncated', `shard has ${bytes.length} bytes, less than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new DataError('ShardInvalid', 'not a token shard (bad magic)');
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== 2) throw new DataError('ShardInvalid', `unsupported shard version ${version}`);
  const vocabSize = view.getUint32(8, true);
  checkVocab(vocabSize, (why) => new DataError('ShardInvalid', why));
  const widthField = view.getUint32(12, true);
  if (version === 1 && widthField !== 0) throw new DataError('ShardInvalid', 'shard reserved header bytes are not zero');
  const width = version === 1 ? 2 : widthField;
  if (width !== tokenBytesFor(vocabSize)) throw new DataError('ShardInvalid', `shard stores ${width}-byte tokens for vocab ${vocabSize}`);
  if (view.getBigUint64(56, true) !== 0n) throw new DataError('ShardInvalid', 'shard reserved header bytes are not zero');
  const count = view.getFloat64(16, true);
  if (!Number.isSafeInteger(count) || count < 0) throw new DataError('ShardInvalid', `shard token count ${count} invalid`);
  const expected = SHARD_HEADER_BYTES + count * width;
  if (bytes.length < expected) throw new DataError('ShardTruncated', `shard has ${bytes.length} bytes, header says ${expected}`);
  if (bytes.length > expected) throw new DataError('ShardInvalid', `shard has ${bytes.length - expected} trailing bytes`);
  const payload = bytes.subarray(SHARD_HEADER_BYTES);
  if (opts.payloadVerified !== true) {
    const digest = createHash('sha256').update(payload).digest();
    if (!digest.equals(bytes.subarray(24, 56))) throw new DataError('ShardCorrupt', 'shard checksum mismatch');
  }
  const tokens = allocTokens(vocabSize, count);
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
