import { StoreError } from './errors.ts';
import type { BucketCredentials } from './credentials.ts';

/**
 * Templar's on-chain bucket commitment (`set_commitment` Raw128): exactly 128 ASCII characters,
 * account id (also the bucket name) 32 + access key id 32 + secret access key 64. Miners publish their
 * READ keys this way. The same string serves the filesystem store: bucket name + read key id + read secret.
 */
export interface BucketCommitment {
  /** Cloudflare account id = bucket name: 32 of [a-z0-9]. */
  accountId: string;
  /** 32 of [A-Za-z0-9]. */
  accessKeyId: string;
  /** 64 of [A-Za-z0-9+/=_.-]. */
  secretAccessKey: string;
}

export const COMMITMENT_LENGTH = 128;

const ACCOUNT = /^[a-z0-9]{32}$/;
const ACCESS_KEY = /^[A-Za-z0-9]{32}$/;
const SECRET = /^[A-Za-z0-9+/=_.-]{64}$/;

function check(c: BucketCommitment): BucketCommitment {
  if (!ACCOUNT.test(c.accountId)) {
    throw new StoreError('InvalidCommitment', 'commitment account id / bucket must be 32 characters of a-z 0-9');
  }
  if (!ACCESS_KEY.test(c.accessKeyId)) {
    throw new StoreError('InvalidCommitment', 'commitment access key id must be 32 characters of A-Z a-z 0-9');
  }
  if (!SECRET.test(c.secretAccessKey)) {
    throw new StoreError('InvalidCommitment', 'commitment secret must be 64 characters of A-Z a-z 0-9 + / = _ . -');
  }
  return c;
}

export function encodeCommitment(c: BucketCommitment): string {
  check(c);
  return c.accountId + c.accessKeyId + c.secretAccessKey;
}

export function decodeCommitment(s: unknown): BucketCommitment {
  if (typeof s !== 'string') throw new StoreError('InvalidCommitment', 'commitment must be a string');
  if (s.length !== COMMITMENT_LENGTH) {
    throw new StoreError('InvalidCommitment', `commitment must be ${COMMITMENT_LENGTH} characters, got ${s.length}`);
  }
  return check({ accountId: s.slice(0, 32), accessKeyId: s.slice(32, 64), secretAccessKey: s.slice(64) });
}

/** The commitment a node publishes for its read credentials (bucket name must be the 32-char account id). */
export function commitmentFor(read: BucketCredentials): string {
  return encodeCommitment({ accountId: read.bucket, accessKeyId: read.accessKeyId, secretAccessKey: read.secretAccessKey });
}

/** Where a committed bucket lives: R2 (the default), a local RGW, or a filesystem root. */
export interface CommitmentLocation {
  /** Endpoint URL, or a function of the account id. Default: `https://<account>.r2.cloudflarestorage.com`. */
  endpoint?: string | ((accountId: string) => string);
  /** Default `auto` (R2). */
  region?: string;
}

export function r2Endpoint(accountId: string): string {
  return `https://${accountId}.r2.cloudflarestorage.com`;
}

/** Read credentials for a peer's bucket from its on-chain commitment. Throws InvalidCommitment. */
export function credentialsFromCommitment(s: unknown, location: CommitmentLocation = {}): BucketCredentials {
  const c = decodeCommitment(s);
  const ep = location.endpoint ?? r2Endpoint;
  return {
    endpoint: typeof ep === 'function' ? ep(c.accountId) : ep,
    region: location.region ?? 'auto',
    bucket: c.accountId,
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
  };
}
