/**
 * The network's training data (`dataset` in network.json or a node config's `network` section): which prepared
 * dataset every node of the network trains and evaluates on (its manifest's sha256, so nodes that read it from
 * different places still agree byte for byte), the tokenizer's vocabulary (the model's vocabSize) and where it
 * was published. Absent: the shipped Brown corpus with the 4,096-token BPE.
 *
 *   "dataset": {
 *     "name": "fineweb-edu-10b", "manifestSha256": "<64 hex>", "vocabSize": 128256,
 *     "store": { "endpoint": "https://….r2.cloudflarestorage.com", "region": "auto", "bucket": "datasets",
 *                "prefix": "datasets/fineweb-edu-10b/", "accessKeyId": "…", "secretAccessKey": "…" }
 *   }
 *
 * The store's key pair is a read-only one every participant may use; it may instead come from
 * TESSERA_DATASET_ACCESS_KEY / TESSERA_DATASET_SECRET.
 */
import { MAX_VOCAB_SIZE } from '../../data/shard.ts';
import { OPTIONAL, REQUIRED, type ConfigFields } from './fields.ts';

export const DATASET_ENV = Object.freeze({ accessKey: 'TESSERA_DATASET_ACCESS_KEY', secret: 'TESSERA_DATASET_SECRET' });

export interface DatasetStoreLocation {
  /** S3 endpoint URL, or `file:///abs/root` for a filesystem store; absent: AWS for `region`. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix of manifest.json and the shards ('' or ending in '/'). */
  readonly prefix: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
}

export interface DatasetSettings {
  readonly name: string;
  /** sha256 (hex) of the published manifest.json. */
  readonly manifestSha256: string;
  /** The tokenizer's vocabulary: the model's vocabSize. */
  readonly vocabSize: number;
  /** Where it was published (absent: every node names a copy with --dataset). */
  readonly store?: DatasetStoreLocation;
}

const SHA256 = /^[0-9a-f]{64}$/;

export function readDatasetSettings(f: ConfigFields): DatasetSettings {
  f.allowedKeys(['name', 'manifestSha256', 'vocabSize', 'store']);
  const store = OPTIONAL.take(f, 'store', (k) => readStoreLocation(f.object(k)));
  return {
    name: REQUIRED.take(f, 'name', (k) => f.text(k)),
    manifestSha256: REQUIRED.take(f, 'manifestSha256', (k) => f.string(k, SHA256)),
    vocabSize: REQUIRED.take(f, 'vocabSize', (k) => f.int(k, 2, MAX_VOCAB_SIZE)),
    ...(store === undefined ? {} : { store }),
  };
}

function readStoreLocation(f: ConfigFields): DatasetStoreLocation {
  f.allowedKeys(['endpoint', 'region', 'bucket', 'prefix', 'accessKeyId', 'secretAccessKey']);
  const prefix = REQUIRED.take(f, 'prefix', (k) => f.string(k));
  if (prefix !== '' && !prefix.endsWith('/')) f.failField('prefix', `must be empty or end in "/", got ${JSON.stringify(prefix)}`);
  const endpoint = OPTIONAL.take(f, 'endpoint', (k) => f.text(k));
  if (endpoint !== undefined && !/^(https?|file):\/\//.test(endpoint)) f.failField('endpoint', `must be an http(s):// or file:// URL, got ${JSON.stringify(endpoint)}`);
  const accessKeyId = OPTIONAL.take(f, 'accessKeyId', (k) => f.text(k));
  const secretAccessKey = OPTIONAL.take(f, 'secretAccessKey', (k) => f.text(k));
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) f.failHere('accessKeyId and secretAccessKey come together');
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    region: REQUIRED.take(f, 'region', (k) => f.text(k)),
    bucket: REQUIRED.take(f, 'bucket', (k) => f.text(k)),
    prefix,
    ...(accessKeyId === undefined ? {} : { accessKeyId, secretAccessKey }),
  };
}
