import { TesseraError } from '../core/errors.ts';
export type StoreErrorCode =
  /** The object does not exist. */
  | 'NotFound'
  /** The bucket does not exist (or is not visible to these credentials). */
  | 'NoSuchBucket'
  /** The credentials are valid but may not do this (e.g. a write with read-only keys). Never retried. */
  | 'AccessDenied'
  /** The access key is unknown or the secret is wrong. Never retried. */
  | 'InvalidCredentials'
  /** A request exceeded its deadline. Retryable. */
  | 'Timeout'
  /** 5xx, 429/SlowDown, connection reset/refused, or an injected fault. Retryable. */
  | 'Transient'
  /** The object is larger than the caller allows. */
  | 'TooLarge'
  /** The key breaks the key rules (see keys.ts). */
  | 'InvalidKey'
  /** The byte range does not fit the object. */
  | 'InvalidRange'
  /** A malformed argument other than key or range (continuation token, limit, credentials). */
  | 'InvalidArgument'
  /** A chain commitment string that is not a valid 128-char bucket credential. */
  | 'InvalidCommitment'
  /** Anything else the server or the filesystem reported. */
  | 'Unknown';

const RETRYABLE: ReadonlySet<StoreErrorCode> = new Set(['Timeout', 'Transient']);

/** The one error type every ObjectStore throws. */
export class StoreError extends TesseraError<StoreErrorCode> {
  override readonly name = 'StoreError';
  /** HTTP status when the error came from an S3 server. */
  readonly status?: number;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(code, message, options);
    if (options?.status !== undefined) this.status = options.status;
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
