/**
 * Where published checkpoints are: the validators' buckets of a local run directory (each validator's read
 * credentials in `nodes/<name>/bucket.json`, its bucket in the run's filesystem store), or named buckets of any
 * object store (a filesystem store root, an S3 endpoint, AWS S3) opened with read keys from the environment.
 * A bucket publishes `checkpoints/<version>/<window>/model.safetensors` and its `meta.json` (protocol/keys.ts); a
 * model is picked up only once its meta.json is there (a validator writes the model first).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelConfig } from '../model/config.ts';
import { loadRunNetworkConfig, modelOf } from '../node/config/network.ts';
import { S3_ENV } from '../node/config/node-file.ts';
import { readRunManifest } from '../obs/run-files.ts';
import { checkpointMetaKey, KEY_PREFIX, tryParseKey } from '../protocol/keys.ts';
import { parseNodeBucket } from '../storage/credentials.ts';
import { iterateObjects } from '../storage/list.ts';
import { closeStore, openStore } from '../storage/open.ts';
import type { BucketCredentials, ObjectStore } from '../storage/index.ts';
import { EvaluatorError } from './errors.ts';
import type { CheckpointRef } from './history.ts';

export interface CheckpointBucket {
  readonly name: string;
  /** the node that owns it, when known */
  readonly node: string | null;
  readonly store: ObjectStore;
}

export interface CheckpointSource {
  readonly description: string;
  /** The model the network trains, when the source knows it: a checkpoint of another model is refused. */
  readonly expectedModel: ModelConfig | null;
  /** The buckets to look in now (a run's validators may start after the evaluator); problems go to `warn`. */
  buckets(warn: (message: string) => void): CheckpointBucket[];
  close(): void;
}

export interface PublishedCheckpoint {
  readonly bucket: CheckpointBucket;
  readonly ref: CheckpointRef;
  readonly metaKey: string;
}

/** The bucket's published checkpoints that have their meta.json, every protocol version, in key order. */
export async function listPublished(bucket: CheckpointBucket): Promise<PublishedCheckpoint[]> {
  const models: CheckpointRef[] = [];
  const metas = new Set<string>();
  for await (const o of iterateObjects(bucket.store, KEY_PREFIX.checkpoints)) {
    const k = tryParseKey(o.key);
    if (k?.kind === 'checkpointMeta') metas.add(o.key);
    if (k?.kind !== 'checkpointModel') continue;
    models.push({
      bucket: bucket.name, node: bucket.node, key: o.key, version: k.version, window: k.window,
      etag: o.etag, bytes: o.size, publishedAt: o.lastModified.toISOString(),
    });
  }
  return models
    .map((ref) => ({ bucket, ref, metaKey: checkpointMetaKey(ref.window, ref.version) }))
    .filter((c) => metas.has(c.metaKey));
}

/** A local network's run directory (`tessera net up`): its validators' buckets in the run's filesystem store. */
export class RunDirSource implements CheckpointSource {
  readonly runDir: string;
  readonly description: string;
  readonly expectedModel: ModelConfig | null;
  private readonly open = new Map<string, CheckpointBucket>();

  constructor(runDir: string) {
    this.runDir = resolve(runDir);
    if (!existsSync(this.runDir)) throw new EvaluatorError('SourceInvalid', `run directory ${this.runDir} not found`);
    this.description = `run ${this.runDir}`;
    const net = loadRunNetworkConfig(this.runDir);
    this.expectedModel = net === null ? null : modelOf(net);
  }

  /** Validators per nodes.json; without one, every node directory that has a bucket.json. */
  private validatorNames(): string[] {
    const specs = readRunManifest(join(this.runDir, 'nodes.json'));
    if (specs !== null) return specs.filter((s) => s.role === 'validator').map((s) => s.name);
    const nodesDir = join(this.runDir, 'nodes');
    return existsSync(nodesDir) ? readdirSync(nodesDir).filter((n) => existsSync(join(nodesDir, n, 'bucket.json'))).sort() : [];
  }

  buckets(warn: (message: string) => void): CheckpointBucket[] {
    const out: CheckpointBucket[] = [];
    for (const name of this.validatorNames()) {
      const path = join(this.runDir, 'nodes', name, 'bucket.json');
      if (!existsSync(path)) continue; // not started yet
      const known = this.open.get(name);
      if (known !== undefined) {
        out.push(known);
        continue;
      }
      try {
        const creds = parseNodeBucket(readFileSync(path), path).read;
        const bucket = { name: creds.bucket, node: name, store: openStore(creds) };
        this.open.set(name, bucket);
        out.push(bucket);
      } catch (e) {
        warn(`${name}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  close(): void {
    for (const bucket of this.open.values()) closeStore(bucket.store);
    this.open.clear();
  }
}

export interface StoreSourceOptions {
  /** a filesystem store root, an S3 endpoint (http[s]://host[:port]) or `s3://` / `s3://<bucket>` (AWS) */
  readonly store: string;
  /** bucket names (with `s3://<bucket>`, that one is added) */
  readonly buckets: readonly string[];
  /** S3 region (default: auto for an endpoint, us-east-1 for AWS) */
  readonly region?: string;
  /** read keys; default TESSERA_S3_READ_ACCESS_KEY and TESSERA_S3_READ_SECRET */
  readonly env?: NodeJS.ProcessEnv;
  /** the model the network trains, when known */
  readonly expectedModel?: ModelConfig | null;
}

/** Named buckets of one object store, opened with one read key pair. */
export class StoreSource implements CheckpointSource {
  readonly description: string;
  readonly expectedModel: ModelConfig | null;
  private readonly list: CheckpointBucket[];

  constructor(o: StoreSourceOptions) {
    const env = o.env ?? process.env;
    let endpoint: string | undefined;
    let region: string;
    const names = [...o.buckets];
    if (o.store.startsWith('s3://')) {
      const named = o.store.slice('s3://'.length).replace(/\/+$/, '');
      if (named !== '') names.push(named);
      endpoint = undefined;
      region = o.region ?? 'us-east-1';
    } else if (/^https?:\/\//.test(o.store)) {
      endpoint = o.store;
      region = o.region ?? 'auto';
    } else {
      const root = resolve(o.store);
      if (!existsSync(root)) throw new EvaluatorError('SourceInvalid', `store directory ${root} not found`);
      endpoint = pathToFileURL(root).href;
      region = 'local';
    }
    const unique = [...new Set(names)];
    if (unique.length === 0) throw new EvaluatorError('InvalidArgument', `--store ${o.store}: name at least one bucket (--bucket <name>)`);
    const accessKeyId = env[S3_ENV.readAccessKey];
    const secretAccessKey = env[S3_ENV.readSecret];
    if (accessKeyId === undefined || accessKeyId === '' || secretAccessKey === undefined || secretAccessKey === '') {
      throw new EvaluatorError('InvalidArgument', `--store ${o.store}: set the buckets' read keys in ${S3_ENV.readAccessKey} and ${S3_ENV.readSecret}`);
    }
    this.list = unique.map((bucket) => {
      const creds: BucketCredentials = { ...(endpoint === undefined ? {} : { endpoint }), region, bucket, accessKeyId, secretAccessKey };
      try {
        return { name: bucket, node: null, store: openStore(creds) };
      } catch (e) {
        throw new EvaluatorError('InvalidArgument', `bucket ${JSON.stringify(bucket)}: ${(e as Error).message}`, { cause: e });
      }
    });
    this.description = `${o.store} (${unique.join(', ')})`;
    this.expectedModel = o.expectedModel ?? null;
  }

  buckets(): CheckpointBucket[] {
    return this.list;
  }

  close(): void {
    for (const b of this.list) closeStore(b.store);
  }
}
