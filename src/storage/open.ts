import { StoreError } from './errors.ts';
import { isFileEndpoint, validateCredentials, type BucketCredentials } from './credentials.ts';
import { FsStore, type FsStoreOptions } from './fs-store.ts';
import { S3Store, type S3StoreOptions } from './s3-store.ts';
import { GatewayStore, isGatewayEndpoint } from './gateway-store.ts';
import type { ObjectStore } from './types.ts';

export interface OpenStoreOptions {
  fs?: FsStoreOptions;
  s3?: S3StoreOptions;
  /** Shorthand for both stores' default `get` cap. */
  maxGetBytes?: number;
}

/** Opens the bucket the credentials name: FsStore for a `file://` endpoint, GatewayStore for `tessera+http(s)://`, S3Store otherwise. */
export function openStore(credentials: BucketCredentials, options: OpenStoreOptions = {}): ObjectStore {
  validateCredentials(credentials);
  if (isFileEndpoint(credentials.endpoint)) {
    return new FsStore(credentials, { maxGetBytes: options.maxGetBytes, ...options.fs });
  }
  if (isGatewayEndpoint(credentials.endpoint)) return new GatewayStore(credentials, { maxGetBytes: options.maxGetBytes });
  if (credentials.endpoint !== undefined && !/^https?:/.test(credentials.endpoint)) {
    throw new StoreError('InvalidArgument', `unsupported endpoint ${credentials.endpoint}`);
  }
  return new S3Store(credentials, { maxGetBytes: options.maxGetBytes, ...options.s3 });
}

/** Releases network resources of stores that hold them (S3 connection pools); no-op otherwise. */
export function closeStore(store: ObjectStore): void {
  const closable = store as ObjectStore & { close?: () => void };
  if (typeof closable.close === 'function') closable.close();
}
