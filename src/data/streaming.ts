/**
 * A prepared dataset read shard by shard from wherever its manifest and shards live (object storage, a local
 * folder): the manifest says how many samples every shard holds, so the global sample index is known before a
 * byte of a shard is fetched. Shard s of a split contributes floor((tokens_s − 1) / L) samples of length L (a
 * sample never crosses a shard boundary); sample i is the `i − offset_s`-th of its shard, tokens[j·L, j·L + L + 1),
 * and its id is `sampleIdOfTokens` over those stored tokens, exactly as for an in-memory dataset.
 *
 * Shards are fetched when `prepare` asks for them: one fetch per shard however many callers wait for it, checked
 * against the manifest (size, sha256, vocabulary, token count). A shard that fails the check is counted, reported
 * and fetched once more; a second failure is a DataError naming its key, and nothing is trained on it. Leases pin
 * shards in memory (and in the disk cache); released shards stay in memory up to `memoryBytes`.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Batch } from '../model/batch.ts';
import { sampleIdOfTokens, type SampleLease, type SampleSource, type Split } from './dataset.ts';
import { DataError, isDataError } from './errors.ts';
import { DATASET_MANIFEST_FILE, parseDatasetManifest, type DatasetManifest, type ShardEntry } from './manifest.ts';
import type { ShardCache } from './shard-cache.ts';
import { decodeListedShard, sha256Hex, verifyShard } from './shard-check.ts';
import type { TokenShard } from './shard.ts';

/** Reads a dataset's objects (the manifest and its shards, by file name) from where it was published. */
export interface ShardFetcher {
  /** Where `file` is read from, for messages: a bucket key or a path. */
  locate(file: string): string;
  /** The object's bytes (refused past `maxBytes`); a DataError ('ShardUnavailable') when it cannot be read. */
  fetch(file: string, maxBytes?: number): Promise<Uint8Array>;
}

export type StreamEvent =
  | { readonly kind: 'shardRejected'; readonly key: string; readonly reason: string; readonly attempt: number }
  | { readonly kind: 'shardLoaded'; readonly key: string; readonly bytes: number; readonly ms: number; readonly from: 'cache' | 'store' };

export interface StreamingDatasetOptions {
  readonly manifest: DatasetManifest;
  readonly fetcher: ShardFetcher;
  /** Local disk cache of fetched shards (absent: every load fetches). */
  readonly cache?: ShardCache;
  /** Bytes of released shards kept decoded in memory (default 256 MiB); pinned shards do not count. */
  readonly memoryBytes?: number;
  readonly onEvent?: (e: StreamEvent) => void;
}

export interface StreamStats {
  /** Shards read from the fetcher (cache misses), and their bytes. */
  fetched: number;
  fetchedBytes: number;
  /** Fetched shards refused by the manifest check. */
  rejected: number;
}

interface Resident {
  shard: TokenShard | null;
  loading: Promise<TokenShard> | null;
  pins: number;
  lastUsed: number;
}

const MAX_DATASET_MANIFEST_BYTES = 64 * 1024 * 1024;
const DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024;
const FETCH_ATTEMPTS = 2;
/** Content failures of a fetched shard; worth one more fetch (a torn transfer, a bad cache node). */
const CONTENT_ERRORS = new Set(['ShardCorrupt', 'ShardInvalid', 'ShardTruncated']);

export class StreamingDataset {
  readonly manifest: DatasetManifest;
  readonly stats: StreamStats = { fetched: 0, fetchedBytes: 0, rejected: 0 };
  private readonly entries = new Map<string, ShardEntry>();
  private readonly resident = new Map<string, Resident>();
  private readonly memoryBytes: number;
  private clock = 0;

  constructor(private readonly o: StreamingDatasetOptions) {
    this.manifest = o.manifest;
    this.memoryBytes = o.memoryBytes ?? DEFAULT_MEMORY_BYTES;
    for (const split of ['train', 'validation'] as const) for (const e of o.manifest.splits[split]) this.entries.set(e.file, e);
  }

  get vocabSize(): number {
    return this.manifest.tokenizer.vocabSize;
  }

  source(split: Split, seqLen: number): StreamingSampleSource {
    return new StreamingSampleSource(this, split, seqLen);
  }

  /** The validator's fixed held-out batch: `batchSize` evenly spaced validation samples (as `Dataset.validationBatches`). */
  async heldOutBatch(seqLen: number, batchSize: number): Promise<Batch> {
    const source = this.source('validation', seqLen);
    const ids = evenlySpaced(source.sampleCount, batchSize);
    if (ids.length === 0) throw new DataError('InvalidArgument', `dataset ${this.manifest.name}: validation split has no samples of length ${seqLen}`);
    const lease = await source.prepare(ids);
    try {
      return source.batch(ids);
    } finally {
      lease.release();
    }
  }

  /** The decoded shard when it is in memory (pinned or kept), else null. */
  residentShard(file: string): TokenShard | null {
    const r = this.resident.get(file);
    if (r?.shard == null) return null;
    r.lastUsed = ++this.clock;
    return r.shard;
  }

  /** Fetches (or finds) and pins the shards; on failure pins nothing and throws the first error. */
  async acquire(files: readonly string[]): Promise<SampleLease> {
    const unique = [...new Set(files)];
    for (const f of unique) this.pin(f);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const f of unique) this.unpin(f);
      this.trimMemory();
    };
    const loads = await Promise.allSettled(unique.map((f) => this.load(f)));
    const failed = loads.find((l): l is PromiseRejectedResult => l.status === 'rejected');
    if (failed !== undefined) {
      release();
      throw failed.reason;
    }
    return { release };
  }

  private entry(file: string): ShardEntry {
    const e = this.entries.get(file);
    if (e === undefined) throw new DataError('InvalidArgument', `dataset ${this.manifest.name} lists no shard ${file}`);
    return e;
  }

  private pin(file: string): void {
    const e = this.entry(file);
    let r = this.resident.get(file);
    if (r === undefined) {
      r = { shard: null, loading: null, pins: 0, lastUsed: 0 };
      this.resident.set(file, r);
    }
    r.pins++;
    r.lastUsed = ++this.clock;
    this.o.cache?.pin(e.sha256);
  }

  private unpin(file: string): void {
    const r = this.resident.get(file);
    if (r === undefined) return;
    r.pins--;
    this.o.cache?.unpin(this.entry(file).sha256);
  }

  private load(file: string): Promise<TokenShard> {
    const r = this.resident.get(file)!;
    if (r.shard !== null) return Promise.resolve(r.shard);
    r.loading ??= this.read(this.entry(file)).then(
      (shard) => {
        r.shard = shard;
        r.loading = null;
        return shard;
      },
      (err: unknown) => {
        r.loading = null;
        throw err;
      },
    );
    return r.loading;
  }

  private async read(entry: ShardEntry): Promise<TokenShard> {
    const key = this.o.fetcher.locate(entry.file);
    const t0 = performance.now();
    const cached = (await this.o.cache?.get(entry)) ?? null;
    if (cached !== null) {
      // the cache matched size and sha256 to the manifest on reading it
      const shard = decodeListedShard(cached, entry, this.manifest, `cached ${key}`);
      this.o.onEvent?.({ kind: 'shardLoaded', key, bytes: cached.length, ms: Math.round(performance.now() - t0), from: 'cache' });
      return shard;
    }
    for (let attempt = 1; ; attempt++) {
      const bytes = await this.o.fetcher.fetch(entry.file, entry.bytes);
      this.stats.fetched++;
      this.stats.fetchedBytes += bytes.length;
      try {
        const shard = verifyShard(bytes, entry, this.manifest, key);
        await this.o.cache?.put(entry, bytes);
        this.o.onEvent?.({ kind: 'shardLoaded', key, bytes: bytes.length, ms: Math.round(performance.now() - t0), from: 'store' });
        return shard;
      } catch (err) {
        if (!isDataError(err) || !CONTENT_ERRORS.has(err.code)) throw err;
        this.stats.rejected++;
        this.o.onEvent?.({ kind: 'shardRejected', key, reason: err.message, attempt });
        if (attempt >= FETCH_ATTEMPTS) throw err;
      }
    }
  }

  /** Drops the least recently used released shards past `memoryBytes`. */
  private trimMemory(): void {
    let bytes = 0;
    const released: Array<[string, Resident]> = [];
    for (const [file, r] of this.resident) {
      if (r.pins > 0 || r.loading !== null) continue;
      if (r.shard === null) {
        this.resident.delete(file);
        continue;
      }
      bytes += r.shard.tokens.byteLength;
      released.push([file, r]);
    }
    released.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [file, r] of released) {
      if (bytes <= this.memoryBytes) return;
      bytes -= r.shard!.tokens.byteLength;
      this.resident.delete(file);
    }
  }
}

/** `count` evenly spaced indices of [0, n) (fewer when n < count). */
export function evenlySpaced(n: number, count: number): number[] {
  const total = Math.min(n, count);
  if (total <= 0) return [];
  const step = n / total;
  return Array.from({ length: total }, (_, i) => Math.floor(i * step));
}

/** One split of a streaming dataset as a SampleSource of length-`seqLen` samples. */
export class StreamingSampleSource implements SampleSource {
  readonly sampleCount: number;
  private readonly shards: readonly ShardEntry[];
  /** offsets[s]: the global index of shard s's first sample; offsets[shards.length] = sampleCount. */
  private readonly offsets: number[];

  constructor(
    private readonly dataset: StreamingDataset,
    readonly split: Split,
    readonly seqLen: number,
  ) {
    if (!Number.isInteger(seqLen) || seqLen < 1) throw new DataError('InvalidArgument', `seqLen must be a positive integer, got ${seqLen}`);
    this.shards = dataset.manifest.splits[split];
    this.offsets = [0];
    for (const s of this.shards) this.offsets.push(this.offsets[this.offsets.length - 1] + Math.max(0, Math.floor((s.tokens - 1) / seqLen)));
    this.sampleCount = this.offsets[this.offsets.length - 1];
  }

  /** The shard index holding global sample `index`, and the sample's index within it. */
  locate(index: number): { shard: number; local: number } {
    if (!Number.isInteger(index) || index < 0 || index >= this.sampleCount) {
      throw new DataError('InvalidArgument', `sample ${index} out of range [0, ${this.sampleCount}) for ${this.split} at seqLen ${this.seqLen}`);
    }
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= index) lo = mid;
      else hi = mid - 1;
    }
    return { shard: lo, local: index - this.offsets[lo] };
  }

  /** The files of the shards these samples live in. */
  shardFiles(indices: readonly number[]): string[] {
    return [...new Set(indices.map((i) => this.shards[this.locate(i).shard].file))];
  }

  prepare(indices: readonly number[]): Promise<SampleLease> {
    return this.dataset.acquire(this.shardFiles(indices));
  }

  sampleTokens(index: number): TokenShard['tokens'] {
    const { shard, local } = this.locate(index);
    const file = this.shards[shard].file;
    const resident = this.dataset.residentShard(file);
    if (resident === null) throw new DataError('NotPrepared', `sample ${index} lives in shard ${file}, which is not in memory (prepare the samples first)`);
    return resident.tokens.subarray(local * this.seqLen, local * this.seqLen + this.seqLen + 1);
  }

  batch(indices: readonly number[]): Batch {
    if (indices.length === 0) throw new DataError('InvalidArgument', 'a batch needs at least one sample');
    const row = this.seqLen + 1;
    const tokens = new Int32Array(indices.length * row);
    indices.forEach((idx, r) => tokens.set(this.sampleTokens(idx), r * row));
    return { tokens, batchSize: indices.length, seqLen: this.seqLen };
  }

  sampleId(index: number): bigint {
    return sampleIdOfTokens(this.sampleTokens(index));
  }
}

/** The dataset's manifest through its fetcher; with `sha256`, refused unless its bytes hash to it. */
export async function fetchDatasetManifest(fetcher: ShardFetcher, sha256?: string): Promise<{ manifest: DatasetManifest; sha256: string }> {
  const where = fetcher.locate(DATASET_MANIFEST_FILE);
  const bytes = await fetcher.fetch(DATASET_MANIFEST_FILE, MAX_DATASET_MANIFEST_BYTES);
  const digest = sha256Hex(bytes);
  if (sha256 !== undefined && digest !== sha256) {
    throw new DataError('DatasetMismatch', `${where}: manifest sha256 ${digest} != the network's dataset.manifestSha256 ${sha256}`);
  }
  return { manifest: parseDatasetManifest(bytes, where), sha256: digest };
}

/** A prepared dataset's folder (manifest.json beside its shards) as a fetcher. */
export function folderFetcher(dir: string): ShardFetcher {
  return {
    locate: (file) => join(dir, file),
    fetch: async (file) => {
      try {
        return await readFile(join(dir, file));
      } catch (err) {
        throw new DataError('ShardUnavailable', `${join(dir, file)}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
