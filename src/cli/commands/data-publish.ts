/**
 * `tessera data publish`: uploads a prepared dataset folder to object storage (a filesystem store root or an S3
 * endpoint) and prints the network's `dataset` settings that name it.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DataError } from '../../data/errors.ts';
import { NodeConfigError } from '../../node/config/errors.ts';
import { S3_ENV } from '../../node/config/node-file.ts';
import { datasetSettingsOf, publishDataset, publishToFsStore } from '../../node/dataset-store.ts';
import { closeStore, ensureS3Bucket, openStore, StoreError, type BucketCredentials } from '../../storage/index.ts';

interface PublishOptions {
  dir: string;
  store: string;
  bucket: string;
  prefix?: string;
  region: string;
  createBucket?: boolean;
}

function writeKeys(env: NodeJS.ProcessEnv): { accessKeyId: string; secretAccessKey: string } | undefined {
  const accessKeyId = env[S3_ENV.writeAccessKey];
  const secretAccessKey = env[S3_ENV.writeSecret];
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
}

async function publish(o: PublishOptions): Promise<void> {
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const dir = resolve(o.dir);
  if (!/^https?:\/\//.test(o.store)) {
    const { result, settings, createdWriteKeys } = await publishToFsStore({ dir, root: o.store, bucket: o.bucket, prefix: o.prefix, writeKeys: writeKeys(process.env), onProgress: progress });
    // a bucket created now: its write pair is shown once, for later publishes into it (${S3_ENV.writeAccessKey} / _SECRET)
    console.log(JSON.stringify({ ...result, dataset: settings, ...(createdWriteKeys === undefined ? {} : { writeKeys: createdWriteKeys }) }, null, 2));
    return;
  }
  const keys = writeKeys(process.env);
  if (keys === undefined) throw new NodeConfigError('MissingField', `publishing to ${o.store} needs the bucket's write key pair in ${S3_ENV.writeAccessKey} and ${S3_ENV.writeSecret}`);
  const credentials: BucketCredentials = { endpoint: o.store, region: o.region, bucket: o.bucket, ...keys };
  if (o.createBucket === true) await ensureS3Bucket(credentials);
  const store = openStore(credentials);
  try {
    const result = await publishDataset({ dir, store, prefix: o.prefix, onProgress: progress });
    // nodes read with a read-only key pair of their own (TESSERA_DATASET_ACCESS_KEY / _SECRET)
    console.log(JSON.stringify({ ...result, dataset: datasetSettingsOf(result, { endpoint: o.store, region: o.region, bucket: o.bucket }) }, null, 2));
  } finally {
    closeStore(store);
  }
}

export function registerPublish(data: Command): void {
  data
    .command('publish')
    .description('upload a prepared dataset (shards checked against its manifest first; manifest last) and print the network "dataset" settings')
    .requiredOption('--dir <dir>', 'prepared dataset folder (manifest.json and its shards)')
    .requiredOption('--store <dir|url>', 'filesystem store root (the bucket is created when missing) or an S3 endpoint, e.g. http://127.0.0.1:7480')
    .requiredOption('--bucket <name>', 'bucket name')
    .option('--prefix <prefix>', 'key prefix (default datasets/<manifest name>/)')
    .option('--region <region>', 'S3 region', 'auto')
    .option('--create-bucket', 'S3: create the bucket with the write keys when it does not exist')
    .addHelpText('after', `\nS3 (and an existing filesystem bucket) take the write key pair from ${S3_ENV.writeAccessKey} and ${S3_ENV.writeSecret}.`)
    .action(async (o: PublishOptions) => {
      try {
        await publish(o);
      } catch (err) {
        if (!(err instanceof DataError || err instanceof StoreError || err instanceof NodeConfigError)) throw err;
        console.error(`error: ${err.name} (${err.code}): ${err.message}`);
        process.exitCode = 1;
      }
    });
}
