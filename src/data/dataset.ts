/**
 * The prepared dataset: the corpus tokenized once into a train and a validation shard on disk.
 * A sample of length L is the slice tokens[i·L, i·L + L + 1): L inputs and their L next-token targets.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blake2AsU8a } from '@polkadot/util-crypto';
import type { Batch } from '../model/batch.ts';
import { BpeTokenizer, parseBpe } from './bpe.ts';
import { loadBrownCorpus } from './corpus.ts';
import { DataError } from './errors.ts';
import { sampleDigest } from './sampler.ts';
import { readShardFile, writeShardFile, type TokenArray, type TokenShard } from './shard.ts';

export type Split = 'train' | 'validation';

export const DEFAULT_TOKENIZER_PATH = fileURLToPath(new URL('../../assets/tokenizer/brown-bpe-4096.json', import.meta.url));
export const DEFAULT_DATA_ROOT = fileURLToPath(new URL('../../.tessera/data', import.meta.url));
/** Bumped whenever corpus cleaning or shard layout changes, so stale shards are never reused. */
export const PREPARE_VERSION = 1;

export interface DatasetOptions {
  /** Root folder for prepared shards (default: $TESSERA_DATA_DIR or .tessera/data in the repo). */
  readonly root?: string;
  readonly tokenizerPath?: string;
  /** Rebuild the shards even if they exist (e.g. after a corrupt-shard error). */
  readonly force?: boolean;
  /** Called with a line of progress while preparing. */
  readonly onProgress?: (message: string) => void;
  /** Called while tokenizing a split: documents done of total. */
  readonly onDocuments?: (split: Split, done: number, total: number) => void;
}

/** Holds the shards `SampleSource.prepare` fetched in memory until released (idempotent). */
export interface SampleLease {
  release(): void;
}

/** A lease on data that is always in memory. */
export const HELD_LEASE: SampleLease = Object.freeze({ release: () => undefined });

/**
 * The seam the miner and validator train and evaluate through. `batch` and `sampleId` are synchronous: they answer
 * for samples whose shards are in memory, so a source that streams shards is asked to `prepare` the indices first
 * (fetch, verify and pin their shards); the lease keeps them until released.
 */
export interface SampleSource {
  readonly sampleCount: number;
  readonly seqLen: number;
  prepare(indices: readonly number[]): Promise<SampleLease>;
  batch(indices: readonly number[]): Batch;
  sampleId(index: number): bigint;
}

/**
 * Templar's sample id: uint64 (little-endian) of blake2b-64 over the sample's token bytes as stored (uint16 LE
 * for vocabularies up to 65,536, uint32 LE above).
 */
export function sampleIdOfTokens(tokens: TokenArray): bigint {
  const digest = blake2AsU8a(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength), 64);
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0, true);
}

/** The digest a miner reports for its assigned samples (see `sampleDigest`). */
export function poolDigest(source: Pick<SampleSource, 'sampleId'>, indices: readonly number[]): string {
  return sampleDigest(indices.map((i) => source.sampleId(i)));
}

export class Dataset {
  constructor(
    readonly tokenizer: BpeTokenizer,
    private readonly shards: Readonly<Record<Split, TokenShard>>,
    readonly dir: string,
  ) {}

  get vocabSize(): number {
    return this.tokenizer.vocabSize;
  }

  tokenCount(split: Split): number {
    return this.shards[split].tokens.length;
  }

  numSamples(split: Split, seqLen: number): number {
    checkSeqLen(seqLen);
    return Math.max(0, Math.floor((this.shards[split].tokens.length - 1) / seqLen));
  }

  sampleTokens(split: Split, index: number, seqLen: number): TokenArray {
    const n = this.numSamples(split, seqLen);
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new DataError('InvalidArgument', `sample ${index} out of range [0, ${n}) for ${split} at seqLen ${seqLen}`);
    }
    return this.shards[split].tokens.subarray(index * seqLen, index * seqLen + seqLen + 1);
  }

  /** uint64 from blake2b-64 of the sample's token bytes (Templar's sample id). */
  sampleId(split: Split, index: number, seqLen: number): bigint {
    return sampleIdOfTokens(this.sampleTokens(split, index, seqLen));
  }

  sampleIds(split: Split, indices: readonly number[], seqLen: number): bigint[] {
    return indices.map((i) => this.sampleId(split, i, seqLen));
  }

  batch(split: Split, indices: readonly number[], seqLen: number): Batch {
    if (indices.length === 0) throw new DataError('InvalidArgument', 'a batch needs at least one sample');
    const row = seqLen + 1;
    const tokens = new Int32Array(indices.length * row);
    indices.forEach((idx, r) => tokens.set(this.sampleTokens(split, idx, seqLen), r * row));
    return { tokens, batchSize: indices.length, seqLen };
  }

  source(split: Split, seqLen: number): SampleSource {
    return {
      sampleCount: this.numSamples(split, seqLen),
      seqLen,
      prepare: async () => HELD_LEASE,
      batch: (indices) => this.batch(split, indices, seqLen),
      sampleId: (index) => this.sampleId(split, index, seqLen),
    };
  }

  /** A fixed held-out set: `count` batches of `batchSize` evenly spaced validation samples. */
  validationBatches(seqLen: number, batchSize: number, count: number): Batch[] {
    const n = this.numSamples('validation', seqLen);
    const total = Math.min(n, batchSize * count);
    if (total === 0) throw new DataError('InvalidArgument', `validation split has no samples of length ${seqLen}`);
    const step = n / total;
    const ids = Array.from({ length: total }, (_, i) => Math.floor(i * step));
    const batches: Batch[] = [];
    for (let i = 0; i < ids.length; i += batchSize) batches.push(this.batch('validation', ids.slice(i, i + batchSize), seqLen));
    return batches;
  }
}

function checkSeqLen(seqLen: number): void {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new DataError('InvalidArgument', `seqLen must be a positive integer, got ${seqLen}`);
}

export function loadTokenizer(path = DEFAULT_TOKENIZER_PATH): BpeTokenizer {
  if (!existsSync(path)) throw new DataError('TokenizerInvalid', `tokenizer file ${path} not found`);
  return new BpeTokenizer(parseBpe(readFileSync(path, 'utf8')));
}

function tokenize(tokenizer: BpeTokenizer, docs: readonly string[], onDoc?: (done: number, total: number) => void): Uint16Array {
  const parts: number[][] = [];
  let total = 0;
  for (const d of docs) {
    const ids = tokenizer.encode(d);
    ids.push(tokenizer.eosId);
    parts.push(ids);
    total += ids.length;
    onDoc?.(parts.length, docs.length);
  }
  const out = new Uint16Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Returns the prepared dataset, tokenizing the corpus first if needed (about 2 s). Idempotent; concurrent
 * callers (threads or processes) each write identical shards to a temp file and rename, so a reader only ever
 * sees a complete shard and whoever renames last replaces it with the same bytes.
 */
export function ensureDataset(opts: DatasetOptions = {}): Dataset {
  const tokenizerPath = opts.tokenizerPath ?? DEFAULT_TOKENIZER_PATH;
  const tokenizer = loadTokenizer(tokenizerPath);
  const tokHash = createHash('sha256').update(readFileSync(tokenizerPath)).digest('hex').slice(0, 12);
  const root = opts.root ?? process.env.TESSERA_DATA_DIR ?? DEFAULT_DATA_ROOT;
  const dir = join(root, `brown-v${PREPARE_VERSION}-${tokHash}`);
  const paths: Record<Split, string> = { train: join(dir, 'train.shard'), validation: join(dir, 'validation.shard') };
  if (opts.force) for (const p of Object.values(paths)) rmSync(p, { force: true });
  if (!existsSync(paths.train) || !existsSync(paths.validation)) {
    opts.onProgress?.(`preparing dataset in ${dir}`);
    const corpus = loadBrownCorpus();
    for (const split of ['validation', 'train'] as const) {
      const docs = split === 'train' ? corpus.train : corpus.validation;
      const onDocuments = opts.onDocuments;
      const tokens = tokenize(tokenizer, docs, onDocuments && ((done, total) => onDocuments(split, done, total)));
      writeShardFile(paths[split], { vocabSize: tokenizer.vocabSize, tokens });
      opts.onProgress?.(`${split}: ${docs.length} documents, ${tokens.length} tokens`);
    }
  }
  let shards: Record<Split, TokenShard>;
  try {
    shards = { train: readShardFile(paths.train), validation: readShardFile(paths.validation) };
  } catch (e) {
    if (e instanceof DataError) throw new DataError(e.code, `${e.message} in ${dir} (rebuild with: tessera data prepare --force)`);
    throw e;
  }
  for (const split of ['train', 'validation'] as const) {
    if (shards[split].vocabSize !== tokenizer.vocabSize) {
      throw new DataError('ShardInvalid', `${split} shard vocab ${shards[split].vocabSize} != tokenizer vocab ${tokenizer.vocabSize}`);
    }
  }
  return new Dataset(tokenizer, shards, dir);
}
