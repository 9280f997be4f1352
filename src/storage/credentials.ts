import { randomBytes } from 'node:crypto';
import { StoreError } from './errors.ts';
import { JsonFields, parseJsonObject, type JsonErrorFactory } from '../core/json.ts';

/** Everything needed to open one bucket. */
export interface BucketCredentials {
  /**
   * `https://<account>.r2.cloudflarestorage.com`, `http://127.0.0.1:7480` (RGW, MinIO), or
   * `file:///abs/root` for the filesystem store. Absent: AWS's endpoint for `region`.
   */
  endpoint?: string;
  /** `auto` for R2. */
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A node's own bucket: it writes with `write` and publishes `read` (on chain) for everyone else. */
export interface NodeBucket {
  write: BucketCredentials;
  read: BucketCredentials;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function isFileEndpoint(endpoint: string | undefined): endpoint is string {
  return endpoint !== undefined && endpoint.startsWith('file:');
}

/** Throws InvalidArgument naming the first bad field; returns the credentials. */
export function validateCredentials(c: BucketCredentials): BucketCredentials {
  const bad = (msg: string): never => {
    throw new StoreError('InvalidArgument', `bucket credentials: ${msg}`);
  };
  if (typeof c !== 'object' || c === null) bad('not an object');
  if (typeof c.bucket !== 'string' || !BUCKET_NAME.test(c.bucket) || c.bucket.includes('..')) {
    bad(`bucket ${JSON.stringify(c.bucket)} is not a valid bucket name (3-63 of a-z 0-9 . -)`);
  }
  if (typeof c.region !== 'string' || c.region.length === 0) bad('region is empty');
  if (typeof c.accessKeyId !== 'string' || c.accessKeyId.length === 0) bad('accessKeyId is empty');
  if (typeof c.secretAccessKey !== 'string' || c.secretAccessKey.length === 0) bad('secretAccessKey is empty');
  if (c.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(c.endpoint);
    } catch {
      bad(`endpoint ${JSON.stringify(c.endpoint)} is not a URL`);
    }
    if (!['http:', 'https:', 'file:', 'tessera+http:', 'tessera+https:'].includes(url!.protocol)) {
      bad(`endpoint protocol ${url!.protocol} is not http, https, file or tessera+http(s) (a store gateway)`);
    }
  }
  return c;
}

const CREDENTIAL_FIELDS = ['endpoint', 'region', 'bucket', 'accessKeyId', 'secretAccessKey'];
const MAX_NODE_BUCKET_BYTES = 64 * 1024;

/**
 * A node's saved bucket (`bucket.json`: write and read credentials), read strictly; failures are InvalidArgument
 * naming the file and the field.
 */
export function parseNodeBucket(bytes: Uint8Array, what: string): NodeBucket {
  const fail: JsonErrorFactory = (kind, message, cause) => new StoreError(kind === 'TooLarge' ? 'TooLarge' : 'InvalidArgument', message, { cause });
  const f = new JsonFields(parseJsonObject(bytes, what, fail, { maxBytes: MAX_NODE_BUCKET_BYTES }), what, fail).exactKeys(['write', 'read']);
  const credentials = (key: string): BucketCredentials => {
    const c = f.object(key).allowedKeys(CREDENTIAL_FIELDS);
    return validateCredentials({
      ...(c.has('endpoint') ? { endpoint: c.string('endpoint') } : {}),
      region: c.string('region'),
      bucket: c.string('bucket'),
      accessKeyId: c.string('accessKeyId'),
      secretAccessKey: c.string('secretAccessKey'),
    });
  };
  return { write: credentials('write'), read: credentials('read') };
}

/** For logs: never prints the secret. */
export function describeCredentials(c: BucketCredentials): string {
  const where = c.endpoint ?? `aws:${c.region}`;
  return `${where} bucket=${c.bucket} key=${c.accessKeyId.slice(0, 6)}…`;
}

export interface GeneratedKeys {
  /** 32 lowercase hex characters; Templar uses the account id as the bucket name. */
  accountId: string;
  writeAccessKeyId: string;
  writeSecretAccessKey: string;
  readAccessKeyId: string;
  readSecretAccessKey: string;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function randomKeyId(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += KEY_ALPHABET[b % KEY_ALPHABET.length];
  return out;
}

/** Fresh keys in the R2/Templar shape: 32-char bucket, 32-char key ids, 64-char secrets. */
export function generateBucketKeys(): GeneratedKeys {
  return {
    accountId: randomBytes(16).toString('hex'),
    writeAccessKeyId: randomKeyId(32),
    writeSecretAccessKey: randomBytes(32).toString('hex'),
    readAccessKeyId: randomKeyId(32),
    readSecretAccessKey: randomBytes(32).toString('hex'),
  };
}
