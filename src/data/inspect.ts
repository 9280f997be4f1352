/**
 * Checks a prepared dataset folder against its manifest: every listed shard present, of the listed size and
 * sha256, decodable, of the manifest's vocabulary and token count. The first mismatch is an error naming the file.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Split } from './dataset.ts';
import { DataError } from './errors.ts';
import { DATASET_MANIFEST_FILE, parseDatasetManifest, type DatasetManifest } from './manifest.ts';
import { verifyShard } from './shard-check.ts';

export interface SplitSummary {
  readonly shards: number;
  readonly tokens: number;
  readonly bytes: number;
}

export interface DatasetInspection {
  readonly dir: string;
  readonly name: string;
  readonly tokenizer: DatasetManifest['tokenizer'];
  readonly tokenBytes: number;
  readonly train: SplitSummary;
  readonly validation: SplitSummary;
  /** files in the folder the manifest does not list (not an error) */
  readonly unlisted: readonly string[];
}

export function readDatasetManifest(dir: string): DatasetManifest {
  const path = join(dir, DATASET_MANIFEST_FILE);
  if (!existsSync(path)) throw new DataError('ManifestInvalid', `${path} not found (not a prepared dataset folder)`);
  return parseDatasetManifest(readFileSync(path), path);
}

export function inspectDataset(dir: string): DatasetInspection {
  const manifest = readDatasetManifest(dir);
  const summarize = (split: Split): SplitSummary => {
    let tokens = 0;
    let bytes = 0;
    for (const entry of manifest.splits[split]) {
      const path = join(dir, entry.file);
      if (!existsSync(path)) throw new DataError('ShardTruncated', `${path}: missing (listed in the manifest's ${split} split)`);
      verifyShard(readFileSync(path), entry, manifest, path);
      tokens += entry.tokens;
      bytes += entry.bytes;
    }
    return { shards: manifest.splits[split].length, tokens, bytes };
  };
  const listed = new Set([DATASET_MANIFEST_FILE, ...manifest.splits.train.map((e) => e.file), ...manifest.splits.validation.map((e) => e.file)]);
  return {
    dir,
    name: manifest.name,
    tokenizer: manifest.tokenizer,
    tokenBytes: manifest.tokenBytes,
    train: summarize('train'),
    validation: summarize('validation'),
    unlisted: readdirSync(dir).filter((f) => !listed.has(f)).sort(),
  };
}
