/**
 * Writes a prepared dataset folder (shards + manifest.json) from token arrays, as `tessera data prepare` does, for
 * tests of publishing and streaming.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  allocTokens,
  DATASET_MANIFEST_FILE,
  encodeShard,
  serializeDatasetManifest,
  sha256Hex,
  tokenBytesFor,
  type DatasetManifest,
  type ShardEntry,
  type TokenArray,
} from '../../src/data/index.ts';

export interface PreparedDataset {
  readonly dir: string;
  readonly manifest: DatasetManifest;
  /** sha256 of manifest.json's bytes */
  readonly manifestSha256: string;
}

export function writePreparedDataset(
  dir: string,
  o: { name: string; vocabSize: number; train: readonly TokenArray[]; validation: readonly TokenArray[]; eosId?: number },
): PreparedDataset {
  mkdirSync(dir, { recursive: true });
  const entries = (split: string, list: readonly TokenArray[]): ShardEntry[] =>
    list.map((tokens, i) => {
      const file = `${split}-${String(i).padStart(5, '0')}.shard`;
      const bytes = encodeShard({ vocabSize: o.vocabSize, tokens });
      writeFileSync(join(dir, file), bytes);
      return { file, tokens: tokens.length, bytes: bytes.length, sha256: sha256Hex(bytes) };
    });
  const manifest: DatasetManifest = {
    format: 'tessera-dataset',
    version: 1,
    name: o.name,
    tokenizer: { name: 'synthetic', vocabSize: o.vocabSize, eosId: o.eosId ?? o.vocabSize - 1, sha256: 'e'.repeat(64) },
    tokenBytes: tokenBytesFor(o.vocabSize),
    splits: { train: entries('train', o.train), validation: entries('validation', o.validation) },
  };
  const text = serializeDatasetManifest(manifest);
  writeFileSync(join(dir, DATASET_MANIFEST_FILE), text);
  return { dir, manifest, manifestSha256: sha256Hex(Buffer.from(text)) };
}

/** `count` pseudo-random tokens below `vocabSize` (deterministic per seed). */
export function syntheticTokens(vocabSize: number, count: number, seed: number): TokenArray {
  const out = allocTokens(vocabSize, count);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % vocabSize;
  }
  return out;
}
