import { StoreError } from './errors.ts';
import type { GetOptions, IncompleteUpload, IncompleteUploadKind, IncompleteUploadPage, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.ts';

export interface RetryPolicy {
  /** Total tries including the first (default 4). */
  maxAttempts: number;
  /** Backoff before retry n (1-based) is uniform in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 5_000 };

export interface RetryHooks {
  /** Called before each backoff sleep. */
  onRetry?: (err: StoreError, attempt: number, delayMs: number) => void;
  /** Random source in [0, 1) for jitter (tests pass a seeded one). */
  random?: () => number;
}

export function resolveRetryPolicy(p: Partial<RetryPolicy> | undefined): RetryPolicy {
  const policy = { ...DEFAULT_RETRY_POLICY, ...p };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new StoreError('InvalidArgument', `retry maxAttempts must be a positive integer, got ${policy.maxAttempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) {
    throw new StoreError('InvalidArgument', 'retry delays must be non-negative');
  }
  return policy;
}

export function backoffDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.floor(random() * cap);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `op`, retrying retryable StoreErrors (Transient, Timeout) with exponential backoff and jitter. */
export async function withRetry<T>(op: (attempt: number) => Promise<T>, policy: RetryPolicy, hooks: RetryHooks = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      if (!(err instanceof StoreError) || !err.retryable || attempt >= policy.maxAttempts) throw err;
      const delay = backoffDelayMs(policy, attempt, hooks.random);
      hooks.onRetry?.(err, attempt, delay);
      await sleep(delay);
    }
  }
}

export interface RetryingStoreOptions extends Partial<RetryPolicy>, RetryHooks {
  /**
   * Deadline per attempt: an attempt still pending after this long fails with Timeout (and is retried).
   * The abandoned call is not cancelled, only ignored. Default: none.
   */
  attemptTimeoutMs?: number;
}

/** Adds retries (and optionally per-attempt deadlines) to any store. S3Store already retries internally. */
export class RetryingStore implements ObjectStore {
  readonly description: string;
  readonly incompleteUploads: IncompleteUploadKind;
  private readonly policy: RetryPolicy;

  constructor(
    private readonly inner: ObjectStore,
    private readonly options: RetryingStoreOptions = {},
  ) {
    this.policy = resolveRetryPolicy(options);
    this.description = inner.description;
    this.incompleteUploads = inner.incompleteUploads;
  }

  private run<T>(what: string, op: () => Promise<T>): Promise<T> {
    const timeout = this.options.attemptTimeoutMs;
    const attempt = timeout === undefined ? op : () => withDeadline(op(), timeout, what);
    return withRetry(attempt, this.policy, this.options);
  }

  put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    return this.run(`put ${key}`, () => this.inner.put(key, body));
  }
  get(key: string, options?: GetOptions): Promise<Uint8Array> {
    return this.run(`get ${key}`, () => this.inner.get(key, options));
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.run(`head ${key}`, () => this.inner.head(key));
  }
  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.run(`list ${prefix}`, () => this.inner.list(prefix, options));
  }
  delete(key: string): Promise<void> {
    return this.run(`delete ${key}`, () => this.inner.delete(key));
  }
  listIncompleteUploads(options?: ListOptions): Promise<IncompleteUploadPage> {
    return this.run('list incomplete uploads', () => this.inner.listIncompleteUploads(options));
  }
  abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    return this.run(`abort upload ${upload.id}`, () => this.inner.abortIncompleteUpload(upload));
  }
}

/** Rejects with Timeout if `p` has not settled within `ms`. */
export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError('Timeout', `${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
