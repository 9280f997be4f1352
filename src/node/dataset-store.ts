/**
 * A prepared dataset in object storage: `publishDataset` uploads a prepared folder (every shard checked against
 * its manifest before the first byte goes up; shards first, manifest.json last, so a reader that sees the
 * manifest finds every shard it lists; shards already there with the same content are skipped), and
 * `storeFetcher` reads the manifest and shards back for a StreamingDataset.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DATASET_MANIFEST_FILE,
  DataError,
  isDataError,
  parseDatasetManifest,
  sha256Hex,
  verifyShard,
  type DatasetManifest,
  type ShardEntry,
  type ShardFetcher,
} from '../data/index.ts';
import { createFsBucket, isStoreError, openStore, StoreError, validatePrefix, type BucketCredentials, type ObjectStore } from '../storage/index.ts';
import type { DatasetSettings } from './config/dataset-section.ts';

/** Reads `<prefix><file>` from the store; a store failure becomes a DataError naming the bucket key. */
export function storeFetcher(store: ObjectStore, prefix: string): ShardFetcher {
  validatePrefix(prefix);
  const locate = (file: string) => `${store.description}/${prefix}${file}`;
  return {
    locate,
    fetch: async (file, maxBytes) => {
      try {
        return await store.get(`${prefix}${file}`, maxBytes === undefined ? {} : { maxBytes });
      } catch (err) {
        if (!isStoreError(err)) throw err;
        throw new DataError('ShardUnavailable', `${locate(file)}: ${err.code}: ${err.message}`, { cause: err });
      }
    },
  };
}

export interface PublishResult {
  readonly name: string;
  readonly prefix: string;
  /** sha256 of manifest.json as published (the network's dataset.manifestSha256). */
  readonly manifestSha256: string;
  readonly vocabSize: number;
  readonly shards: number;
  readonly uploaded: number;
  /** Shards already in the store with the same size and content. */
  readonly skipped: number;
  readonly bytes: number;
}

export interface PublishOptions {
  /** The prepared folder: manifest.json beside its shards. */
  readonly dir: string;
  readonly store: ObjectStore;
  /** Key prefix ('' or ending in '/'); default `datasets/<manifest name>/`. */
  readonly prefix?: string;
  readonly onProgress?: (line: string) => void;
}

function entriesOf(m: DatasetManifest): ShardEntry[] {
  return [...m.splits.train, ...m.splits.validation];
}

async function readLocal(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new DataError('ShardUnavailable', `${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** The manifest already published under the prefix, or null (absent or unreadable: nothing is assumed from it). */
async function publishedManifest(store: ObjectStore, key: string): Promise<DatasetManifest | null> {
  try {
    return parseDatasetManifest(await store.get(key, { maxBytes: 64 * 1024 * 1024 }), key);
  } catch (err) {
    if (isStoreError(err) || isDataError(err)) return null;
    throw err;
  }
}

/**
 * Whether the object at `key` already holds `bytes`: same size, and either its etag is their MD5 (S3 single-part
 * uploads) or the manifest published there lists the same sha256 for it (a publish only writes the manifest after
 * checking and uploading every shard).
 */
async function alreadyThere(store: ObjectStore, key: string, bytes: Uint8Array, entry: ShardEntry, published: DatasetManifest | null): Promise<boolean> {
  const info = await store.head(key);
  if (info === null || info.size !== bytes.length) return false;
  if (info.etag.replace(/"/g, '') === createHash('md5').update(bytes).digest('hex')) return true;
  return published !== null && entriesOf(published).some((e) => e.file === entry.file && e.sha256 === entry.sha256 && e.bytes === entry.bytes);
}

export async function publishDataset(o: PublishOptions): Promise<PublishResult> {
  const manifestPath = join(o.dir, DATASET_MANIFEST_FILE);
  const manifestBytes = await readLocal(manifestPath);
  const manifest = parseDatasetManifest(manifestBytes, manifestPath);
  const prefix = o.prefix ?? `datasets/${manifest.name}/`;
  validatePrefix(prefix);
  if (prefix !== '' && !prefix.endsWith('/')) throw new DataError('InvalidArgument', `prefix ${JSON.stringify(prefix)} must be empty or end in "/"`);
  const entries = entriesOf(manifest);
  // every shard is checked before anything is uploaded: a bad dataset is never half-published
  for (const e of entries) verifyShard(await readLocal(join(o.dir, e.file)), e, manifest, join(o.dir, e.file));
  o.onProgress?.(`${entries.length} shards of ${manifest.name} match ${manifestPath}`);
  const published = await publishedManifest(o.store, `${prefix}${DATASET_MANIFEST_FILE}`);
  let uploaded = 0;
  let skipped = 0;
  let bytes = 0;
  for (const e of entries) {
    const path = join(o.dir, e.file);
    const body = await readLocal(path);
    // the file may have changed since it was checked
    verifyShard(body, e, manifest, path);
    const key = `${prefix}${e.file}`;
    if (await alreadyThere(o.store, key, body, e, published)) {
      skipped++;
      continue;
    }
    await o.store.put(key, body);
    uploaded++;
    bytes += body.length;
    o.onProgress?.(`uploaded ${key} (${body.length} bytes)`);
  }
  await o.store.put(`${prefix}${DATASET_MANIFEST_FILE}`, manifestBytes);
  return {
    name: manifest.name,
    prefix,
    manifestSha256: sha256Hex(manifestBytes),
    vocabSize: manifest.tokenizer.vocabSize,
    shards: entries.length,
    uploaded,
    skipped,
    bytes,
  };
}

/**
 * Publishes a prepared folder into a filesystem store's bucket (created with fresh keys when missing) and returns
 * the network's `dataset` settings naming it, with the bucket's read-only key pair: what `net up --dataset` does
 * for a local network. An existing bucket needs its write key pair.
 */
export async function publishToFsStore(o: { dir: string; root: string; bucket: string; prefix?: string; writeKeys?: { accessKeyId: string; secretAccessKey: string }; onProgress?: (line: string) => void }): Promise<{ result: PublishResult; settings: DatasetSettings; createdWriteKeys?: { accessKeyId: string; secretAccessKey: string } }> {
  const root = resolve(o.root);
  let write: BucketCredentials;
  let read: { accessKeyId: string; secretAccessKey: string } | undefined;
  if (existsSync(join(root, o.bucket))) {
    if (o.writeKeys === undefined) throw new StoreError('InvalidCredentials', `filesystem bucket ${o.bucket} exists under ${root}: its write key pair is needed`);
    write = { endpoint: pathToFileURL(root).href, region: 'local', bucket: o.bucket, ...o.writeKeys };
  } else {
    const created = await createFsBucket(root, o.bucket);
    write = created.write;
    read = { accessKeyId: created.read.accessKeyId, secretAccessKey: created.read.secretAccessKey };
  }
  const result = await publishDataset({ dir: o.dir, store: openStore(write), prefix: o.prefix, onProgress: o.onProgress });
  const settings = datasetSettingsOf(result, { endpoint: write.endpoint, region: write.region, bucket: write.bucket }, read);
  return read === undefined ? { result, settings } : { result, settings, createdWriteKeys: { accessKeyId: write.accessKeyId, secretAccessKey: write.secretAccessKey } };
}

/** The network's `dataset` section for a published dataset (with a read key pair when one is to be shared). */
export function datasetSettingsOf(result: PublishResult, where: { endpoint?: string; region: string; bucket: string }, read?: { accessKeyId: string; secretAccessKey: string }): DatasetSettings {
  return {
    name: result.name,
    manifestSha256: result.manifestSha256,
    vocabSize: result.vocabSize,
    store: { ...(where.endpoint === undefined ? {} : { endpoint: where.endpoint }), region: where.region, bucket: where.bucket, prefix: result.prefix, ...(read ?? {}) },
  };
}
