/**
 * A node's real backends, when it does not use the local network's defaults: its own S3 bucket (write and read
 * credentials; the read pair is what it commits on chain), where peers' committed buckets live, and its wallet keys.
 * Everything absent falls back to the local network: a filesystem bucket under `storeRoot`, peers opened under the
 * same root, the network's deterministic dev keys.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { HotkeySigner } from '../chain/types.ts';
import {
  commitmentFor,
  isFileEndpoint,
  r2Endpoint,
  StoreError,
  validateCredentials,
  type CommitmentLocation,
  type NodeBucket,
} from '../storage/index.ts';

export interface NodeKeys {
  readonly hotkey: HotkeySigner;
  readonly coldkeyAddress: string;
  /** Needed only to register a hotkey that is not registered yet (burned registration is signed by the coldkey). */
  readonly coldkey?: HotkeySigner;
}

/** Where peers' buckets are: `endpoint` may contain `{account}` (the commitment's 32-char account id / bucket). */
export interface PeerStoreLocation {
  readonly endpoint: string;
  readonly region: string;
}

export interface NodeBackend {
  readonly bucket?: NodeBucket;
  /** Create the bucket with the write keys when it does not exist (RGW, MinIO; on R2 create it in the dashboard). */
  readonly createBucket?: boolean;
  readonly peers?: PeerStoreLocation;
  readonly keys?: NodeKeys;
}

export const R2_ENDPOINT_TEMPLATE = 'https://{account}.r2.cloudflarestorage.com';

const R2_HOST = /^https:\/\/([a-z0-9]{32})\.r2\.cloudflarestorage\.com\/?$/;

export function isR2Endpoint(endpoint: string | undefined): boolean {
  return endpoint !== undefined && R2_HOST.test(endpoint);
}

/**
 * Checks that a configured bucket can be committed on chain as Templar does (bucket = 32 of a-z 0-9, key ids
 * 32 of A-Z a-z 0-9, secrets 64 characters) and that write and read name the same bucket. Returns the bucket.
 */
export function validateNodeBucket(b: NodeBucket): NodeBucket {
  validateCredentials(b.write);
  validateCredentials(b.read);
  if (b.write.bucket !== b.read.bucket || b.write.endpoint !== b.read.endpoint) {
    throw new StoreError('InvalidArgument', 'bucket: write and read credentials must name the same bucket and endpoint');
  }
  try {
    commitmentFor(b.read);
  } catch (err) {
    throw new StoreError(
      'InvalidCommitment',
      `bucket: the read credentials cannot be committed on chain (${(err as Error).message}); the bucket name must be 32 of a-z 0-9 ` +
        '(R2: the account id), the read access key id 32 of A-Z a-z 0-9 and its secret 64 characters',
    );
  }
  return b;
}

/**
 * How this node opens a peer's committed bucket. Configured peers win; otherwise a node with its own R2 bucket
 * assumes R2 (the account id in a commitment names the endpoint, as in Templar), a node with its own bucket on
 * another S3 server assumes every peer uses that server, and a node without a configured bucket uses the
 * filesystem store root.
 */
export function peerLocation(storeRoot: string, backend: NodeBackend | undefined): CommitmentLocation {
  const fromTemplate = (p: PeerStoreLocation): CommitmentLocation => ({
    endpoint: p.endpoint.includes('{account}') ? (account: string) => p.endpoint.split('{account}').join(account) : p.endpoint,
    region: p.region,
  });
  if (backend?.peers !== undefined) return fromTemplate(backend.peers);
  const own = backend?.bucket?.read;
  if (own !== undefined && !isFileEndpoint(own.endpoint)) {
    if (own.endpoint === undefined || isR2Endpoint(own.endpoint)) return { endpoint: r2Endpoint, region: 'auto' };
    return { endpoint: own.endpoint, region: own.region };
  }
  if (own !== undefined && isFileEndpoint(own.endpoint)) return { endpoint: own.endpoint, region: 'local' };
  return { endpoint: pathToFileURL(resolve(storeRoot)).href, region: 'local' };
}
