/**
 * A prepared dataset's manifest (`manifest.json` beside its shards, locally and in object storage): the
 * tokenizer it was made with and every shard of each split with its token count, size and sha256, so a node
 * knows the whole sample space before it fetches a byte and refuses a shard that is not the one listed.
 */
import { parseJsonObject } from '../core/json.ts';
import { DataError } from './errors.ts';
import { MAX_VOCAB_SIZE, SHARD_HEADER_BYTES, tokenBytesFor, type TokenBytes } from './shard.ts';
import type { Split } from './dataset.ts';

export const DATASET_MANIFEST_FORMAT = 'tessera-dataset';
export const DATASET_MANIFEST_VERSION = 1;
export const DATASET_MANIFEST_FILE = 'manifest.json';
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
const SHARD_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export interface ShardEntry {
  /** file name relative to the manifest (no folders) */
  readonly file: string;
  readonly tokens: number;
  /** the shard file's size: header + tokens × tokenBytes */
  readonly bytes: number;
  /** sha256 (hex) of the whole shard file */
  readonly sha256: string;
}

export interface ManifestTokenizer {
  /** 'llama3', 'gpt2', 'brown-bpe-4096' or a tokenizer.json's file name */
  readonly name: string;
  readonly vocabSize: number;
  readonly eosId: number;
  /** sha256 (hex) of the tokenizer's definition, so two datasets agree on what their ids mean */
  readonly sha256: string;
}

export interface DatasetManifest {
  readonly format: typeof DATASET_MANIFEST_FORMAT;
  readonly version: typeof DATASET_MANIFEST_VERSION;
  readonly name: string;
  readonly tokenizer: ManifestTokenizer;
  readonly tokenBytes: TokenBytes;
  readonly splits: Readonly<Record<Split, readonly ShardEntry[]>>;
}

export function serializeDatasetManifest(m: DatasetManifest): string {
  validateDatasetManifest(m, 'manifest');
  return `${JSON.stringify(m, null, 2)}\n`;
}

export function parseDatasetManifest(input: string | Uint8Array, source: string): DatasetManifest {
  const o = parseJsonObject(input, source, (_kind, message, cause) => new DataError('ManifestInvalid', message, { cause }), { maxBytes: MAX_MANIFEST_BYTES });
  return validateDatasetManifest(o, source);
}

function fail(source: string, field: string, why: string): DataError {
  return new DataError('ManifestInvalid', `${source}: ${field} ${why}`);
}

function objectAt(v: unknown, source: string, field: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fail(source, field, 'must be an object');
  return v as Record<string, unknown>;
}

function stringAt(v: unknown, source: string, field: string, pattern?: RegExp): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw fail(source, field, 'must be a non-empty string of at most 256 characters');
  if (pattern !== undefined && !pattern.test(v)) throw fail(source, field, `must match ${pattern}`);
  return v;
}

function intAt(v: unknown, source: string, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw fail(source, field, `must be an integer in [${min}, ${max}]`);
  return v;
}

function validateDatasetManifest(value: unknown, source: string): DatasetManifest {
  const o = objectAt(value, source, 'manifest');
  if (o.format !== DATASET_MANIFEST_FORMAT) throw fail(source, 'format', `must be "${DATASET_MANIFEST_FORMAT}"`);
  if (o.version !== DATASET_MANIFEST_VERSION) throw fail(source, 'version', `must be ${DATASET_MANIFEST_VERSION} (got ${String(o.version)})`);
  const name = stringAt(o.name, source, 'name', SHARD_FILE);
  const t = objectAt(o.tokenizer, source, 'tokenizer');
  const vocabSize = intAt(t.vocabSize, source, 'tokenizer.vocabSize', 2, MAX_VOCAB_SIZE);
  const tokenizer: ManifestTokenizer = {
    name: stringAt(t.name, source, 'tokenizer.name'),
    vocabSize,
    eosId: intAt(t.eosId, source, 'tokenizer.eosId', 0, vocabSize - 1),
    sha256: stringAt(t.sha256, source, 'tokenizer.sha256', SHA256),
  };
  const tokenBytes = intAt(o.tokenBytes, source, 'tokenBytes', 2, 4);
  if (tokenBytes !== tokenBytesFor(vocabSize)) throw fail(source, 'tokenBytes', `must be ${tokenBytesFor(vocabSize)} for vocab ${vocabSize}`);
  const s = objectAt(o.splits, source, 'splits');
  const files = new Set<string>();
  const split = (key: Split): ShardEntry[] => {
    const list = s[key];
    if (!Array.isArray(list)) throw fail(source, `splits.${key}`, 'must be an array');
    return list.map((entry: unknown, i) => {
      const field = `splits.${key}[${i}]`;
      const e = objectAt(entry, source, field);
      const file = stringAt(e.file, source, `${field}.file`, SHARD_FILE);
      if (file === DATASET_MANIFEST_FILE || files.has(file)) throw fail(source, `${field}.file`, `"${file}" is listed twice or names the manifest`);
      files.add(file);
      const tokens = intAt(e.tokens, source, `${field}.tokens`, 0);
      const bytes = intAt(e.bytes, source, `${field}.bytes`, SHARD_HEADER_BYTES);
      if (bytes !== SHARD_HEADER_BYTES + tokens * tokenBytes) throw fail(source, `${field}.bytes`, `must be ${SHARD_HEADER_BYTES} + tokens × ${tokenBytes}`);
      return { file, tokens, bytes, sha256: stringAt(e.sha256, source, `${field}.sha256`, SHA256) };
    });
  };
  const splits = { train: split('train'), validation: split('validation') };
  if (splits.train.length === 0) throw fail(source, 'splits.train', 'must list at least one shard');
  return { format: DATASET_MANIFEST_FORMAT, version: DATASET_MANIFEST_VERSION, name, tokenizer, tokenBytes: tokenBytes as TokenBytes, splits };
}
