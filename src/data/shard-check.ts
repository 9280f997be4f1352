/**
 * Whether a shard's bytes are the ones a dataset manifest lists: its size, the sha256 of the whole file, a header
 * and payload that decode, the manifest's vocabulary and token count. Every failure names where the bytes came
 * from (a file path or bucket key) and the field that disagrees.
 */
import { createHash } from 'node:crypto';
import { DataError } from './errors.ts';
import type { DatasetManifest, ShardEntry } from './manifest.ts';
import { decodeShard, type TokenShard } from './shard.ts';

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Size and sha256 only (cheap, no decode): what a cache or a publisher compares first. */
export function checkShardDigest(bytes: Uint8Array, entry: ShardEntry, where: string): void {
  if (bytes.length !== entry.bytes) {
    throw new DataError(bytes.length < entry.bytes ? 'ShardTruncated' : 'ShardCorrupt', `${where}: bytes ${bytes.length} != manifest bytes ${entry.bytes}`);
  }
  const digest = sha256Hex(bytes);
  if (digest !== entry.sha256) throw new DataError('ShardCorrupt', `${where}: sha256 ${digest} != manifest sha256 ${entry.sha256}`);
}

/** The decoded shard, once its bytes are exactly those the manifest lists. */
export function verifyShard(bytes: Uint8Array, entry: ShardEntry, manifest: Pick<DatasetManifest, 'tokenizer'>, where: string): TokenShard {
  checkShardDigest(bytes, entry, where);
  return decodeListedShard(bytes, entry, manifest, where);
}

/** The decoded shard of bytes already matched to `entry` by `checkShardDigest` (a disk cache's hit). */
export function decodeListedShard(bytes: Uint8Array, entry: ShardEntry, manifest: Pick<DatasetManifest, 'tokenizer'>, where: string): TokenShard {
  let shard: TokenShard;
  try {
    // the whole file hashed to the manifest's sha256, so the header's own payload checksum adds nothing
    shard = decodeShard(bytes, { payloadVerified: true });
  } catch (err) {
    if (err instanceof DataError) throw new DataError(err.code, `${where}: ${err.message}`, { cause: err });
    throw err;
  }
  if (shard.vocabSize !== manifest.tokenizer.vocabSize) {
    throw new DataError('ShardInvalid', `${where}: shard vocab ${shard.vocabSize} != manifest tokenizer.vocabSize ${manifest.tokenizer.vocabSize}`);
  }
  if (shard.tokens.length !== entry.tokens) throw new DataError('ShardInvalid', `${where}: shard tokens ${shard.tokens.length} != manifest tokens ${entry.tokens}`);
  return shard;
}
