export { StoreError, isStoreError, type StoreErrorCode } from './errors.ts';
export type {
  ObjectStore,
  ObjectInfo,
  ByteRange,
  GetOptions,
  ListOptions,
  ListPage,
  IncompleteUpload,
  IncompleteUploadKind,
  IncompleteUploadPage,
} from './types.ts';
export { MAX_LIST_LIMIT } from './types.ts';
export { validateKey, validatePrefix, compareKeys, MAX_KEY_BYTES } from './keys.ts';
export { iterateObjects, listAll } from './list.ts';
export { abortIncompleteUploads, type AbortIncompleteUploadsOptions, type AbortIncompleteUploadsResult } from './uploads.ts';
export {
  validateCredentials,
  describeCredentials,
  generateBucketKeys,
  isFileEndpoint,
  type BucketCredentials,
  type NodeBucket,
  type GeneratedKeys,
} from './credentials.ts';
export {
  encodeCommitment,
  decodeCommitment,
  commitmentFor,
  credentialsFromCommitment,
  r2Endpoint,
  COMMITMENT_LENGTH,
  type BucketCommitment,
  type CommitmentLocation,
} from './commitment.ts';
export { FsStore, createFsBucket, bucketKeyOf, type FsStoreOptions } from './fs-store.ts';
export { S3Store, ensureS3Bucket, mapS3Error, type S3StoreOptions } from './s3-store.ts';
export { MemoryStore, MemoryBucket } from './memory-store.ts';
export { GatewayStore, isGatewayEndpoint, gatewayHttpBase, type GatewayStoreOptions } from './gateway-store.ts';
export { storeGateway, type StoreGatewayOptions } from './gateway-server.ts';
export { signedHeaders } from './gateway-auth.ts';
export { openStore, closeStore, type OpenStoreOptions } from './open.ts';
export {
  RetryingStore,
  withRetry,
  withDeadline,
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type RetryHooks,
  type RetryingStoreOptions,
} from './retry.ts';
export { FaultyStore, seededRandom, type FaultOptions, type FaultStats, type StoreOperation } from './faulty.ts';
export { startLocalRgw, radosgwInstalled, LocalRgwError, type LocalRgw, type StartLocalRgwOptions } from './local-rgw.ts';
