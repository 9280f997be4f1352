/**
 * A node's training data, as its network names it: without a `dataset` section the shipped Brown corpus (in
 * memory, offline); with one, the prepared dataset streamed from the store it was published to (or from a local
 * copy, `--dataset <dir>`), its manifest checked against the network's manifestSha256 and its tokenizer's
 * vocabulary against the model's, shards cached on disk under the node's directory.
 */
import { join, resolve } from 'node:path';
import {
  DataError,
  ensureDataset,
  fetchDatasetManifest,
  folderFetcher,
  ShardCache,
  StreamingDataset,
  type ShardFetcher,
  type StreamEvent,
} from '../data/index.ts';
import { openStore, RetryingStore, StoreError, type BucketCredentials } from '../storage/index.ts';
import { DATASET_ENV, type DatasetStoreLocation } from './config/dataset-section.ts';
import { modelOf, type NetworkConfig } from './config/network.ts';
import { NodeConfigError } from './config/errors.ts';
import { storeFetcher } from './dataset-store.ts';
import type { NodeEvents } from './events.ts';
import { datasetSamples, streamingSamples, type NodeSamples } from './samples.ts';

export const DEFAULT_DATA_CACHE_BYTES = 8 * 1024 ** 3;

export interface NodeDataOptions {
  /** A local copy of the network's prepared dataset (its manifest must hash to the network's manifestSha256). */
  readonly datasetDir?: string;
  /** Disk cache of fetched shards (default `<nodeDir>/data-cache`). */
  readonly cacheDir?: string;
  /** The cache's bound in bytes (default 8 GiB). */
  readonly cacheBytes?: number;
}

/** The dataset's bucket with its read-only key pair (from the settings, else TESSERA_DATASET_ACCESS_KEY / _SECRET). */
export function datasetCredentials(store: DatasetStoreLocation, env: NodeJS.ProcessEnv = process.env): BucketCredentials {
  const accessKeyId = store.accessKeyId ?? env[DATASET_ENV.accessKey];
  const secretAccessKey = store.secretAccessKey ?? env[DATASET_ENV.secret];
  if (accessKeyId === undefined || accessKeyId === '' || secretAccessKey === undefined || secretAccessKey === '') {
    throw new NodeConfigError('MissingField', `dataset.store: no read key pair for bucket ${store.bucket}; set ${DATASET_ENV.accessKey} and ${DATASET_ENV.secret} (or dataset.store.accessKeyId / secretAccessKey)`);
  }
  return { ...(store.endpoint === undefined ? {} : { endpoint: store.endpoint }), region: store.region, bucket: store.bucket, accessKeyId, secretAccessKey };
}

/** Large shards over a slow link: a generous deadline per attempt, a few retries (S3Store retries inside too). */
function datasetFetcher(store: DatasetStoreLocation, env: NodeJS.ProcessEnv): ShardFetcher {
  const opened = new RetryingStore(openStore(datasetCredentials(store, env)), { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000, attemptTimeoutMs: 600_000 });
  return storeFetcher(opened, store.prefix);
}

function streamEvent(events: NodeEvents): (e: StreamEvent) => void {
  return (e) => {
    if (e.kind === 'shardLoaded') events.emit('shardLoaded', { key: e.key, bytes: e.bytes, ms: e.ms, from: e.from });
    else events.emit('shardRejected', { key: e.key, reason: e.reason, attempt: e.attempt });
  };
}

export async function openNodeSamples(net: NetworkConfig, nodeDir: string, events: NodeEvents, o: NodeDataOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<NodeSamples> {
  const model = modelOf(net);
  const seqLen = net.train.seqLen;
  const settings = net.dataset;
  if (settings === undefined) {
    if (o.datasetDir !== undefined) {
      throw new NodeConfigError('Incompatible', `--dataset ${o.datasetDir}: the network names no dataset (it trains on the shipped Brown corpus); every node of a network must use the same data, so name it in the network settings ("dataset", e.g. \`tessera net up --dataset\`)`);
    }
    const ds = ensureDataset();
    if (ds.vocabSize !== model.vocabSize) {
      throw new DataError('VocabMismatch', `tokenizer vocab ${ds.vocabSize} of the shipped dataset (${ds.dir}) != model ${net.model} vocabSize ${model.vocabSize}`);
    }
    const samples = datasetSamples(seqLen, ds);
    events.emit('datasetOpened', { name: 'brown', manifestSha256: null, vocabSize: ds.vocabSize, trainSamples: samples.train.sampleCount, source: ds.dir });
    return samples;
  }
  const { dataset: ds, manifestSha256: sha256, fetcher } = await openNetworkDataset(net, settings, nodeDir, o, env, streamEvent(events));
  const { manifest } = ds;
  const samples = streamingSamples(seqLen, ds);
  if (samples.train.sampleCount === 0) throw new DataError('InvalidArgument', `dataset ${manifest.name}: its train split has no samples of length ${seqLen}`);
  events.emit('datasetOpened', { name: manifest.name, manifestSha256: sha256, vocabSize: manifest.tokenizer.vocabSize, trainSamples: samples.train.sampleCount, source: fetcher.locate('') });
  return samples;
}

/**
 * The network's prepared dataset, streamed: its manifest fetched and checked against the network's manifestSha256
 * and its tokenizer's vocabulary against the model's. Also what tools beside a network (the evaluator) read it with.
 */
export async function openNetworkDataset(
  net: NetworkConfig,
  settings: NonNullable<NetworkConfig['dataset']>,
  nodeDir: string,
  o: NodeDataOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  onEvent?: (e: StreamEvent) => void,
): Promise<{ dataset: StreamingDataset; manifestSha256: string; fetcher: ShardFetcher }> {
  const model = modelOf(net);
  let fetcher: ShardFetcher;
  let cache: ShardCache | undefined;
  if (o.datasetDir !== undefined) {
    fetcher = folderFetcher(resolve(o.datasetDir));
  } else {
    if (settings.store === undefined) {
      throw new NodeConfigError('MissingField', `the network's dataset ${settings.name} names no store (dataset.store): pass a local copy with --dataset <dir>`);
    }
    try {
      fetcher = datasetFetcher(settings.store, env);
    } catch (err) {
      if (err instanceof StoreError) throw new NodeConfigError('InvalidField', `dataset.store: ${err.message}`, { cause: err });
      throw err;
    }
    cache = new ShardCache({ dir: o.cacheDir ?? join(nodeDir, 'data-cache'), maxBytes: o.cacheBytes ?? DEFAULT_DATA_CACHE_BYTES });
  }
  const { manifest, sha256 } = await fetchDatasetManifest(fetcher, settings.manifestSha256);
  if (manifest.tokenizer.vocabSize !== model.vocabSize) {
    throw new DataError('VocabMismatch', `${fetcher.locate('manifest.json')}: tokenizer ${manifest.tokenizer.name} vocab ${manifest.tokenizer.vocabSize} != model ${net.model} vocabSize ${model.vocabSize}`);
  }
  return { dataset: new StreamingDataset({ manifest, fetcher, cache, onEvent }), manifestSha256: sha256, fetcher };
}
