import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { StoreError } from './errors.ts';
import { clipRange, tooLarge, validateKey, validateLimit, validateMaxBytes, validatePrefix, validateRange } from './keys.ts';
import { validateCredentials, type BucketCredentials } from './credentials.ts';
import { resolveRetryPolicy, withRetry, type RetryHooks, type RetryPolicy } from './retry.ts';
import type { GetOptions, IncompleteUpload, IncompleteUploadPage, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.ts';

export interface S3StoreOptions {
  /** Deadline for one HTTP request, before any allowance for the body (default 30 s). */
  requestTimeoutMs?: number;
  /** Bodies get `bytes / minThroughput` extra seconds on top of requestTimeoutMs (default 1 MiB/s). */
  minThroughputBytesPerSec?: number;
  retry?: Partial<RetryPolicy> & RetryHooks;
  /** Objects larger than this go up in parts (default 64 MiB; S3 needs >= 5 MiB parts). */
  multipartThresholdBytes?: number;
  /** Default 16 MiB. */
  partSizeBytes?: number;
  /** Parts in flight at once (default 4). */
  partConcurrency?: number;
  /** Default cap for `get` when the caller passes none: 1 GiB. */
  maxGetBytes?: number;
  /** Default: path-style whenever an endpoint is given (RGW, MinIO, R2 all accept it). */
  forcePathStyle?: boolean;
  /** Sockets per host (default 64). */
  maxSockets?: number;
}

const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const DEFAULT_MAX_GET_BYTES = 1 << 30;

const CREDENTIAL_ERRORS = new Set([
  'SignatureDoesNotMatch',
  'InvalidAccessKeyId',
  'InvalidToken',
  'ExpiredToken',
  'InvalidSecurity',
  'AuthorizationHeaderMalformed',
]);
const TRANSIENT_ERRORS = new Set([
  'SlowDown',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TooManyRequests',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
]);
const NETWORK_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number };
}

/** A timer that aborts a request; can be pushed back once the body's size is known. */
class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  expired = false;

  constructor(private ms: number) {
    this.timer = setTimeout(() => this.fire(), ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get budgetMs(): number {
    return this.ms;
  }

  extendTo(totalMs: number): void {
    if (this.expired || totalMs <= this.ms) return;
    clearTimeout(this.timer);
    this.ms = totalMs;
    this.timer = setTimeout(() => this.fire(), Math.max(0, this.startedAt + totalMs - Date.now()));
  }

  private fire(): void {
    this.expired = true;
    this.controller.abort();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

export function mapS3Error(err: unknown, what: string, timedOut = false): StoreError {
  if (err instanceof StoreError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode ?? e.$response?.statusCode;
  const name = e.Code ?? e.name ?? '';
  const code = e.code ?? '';
  const message = e.message && e.message !== name && e.message !== 'UnknownError' ? `: ${e.message}` : '';
  const detail = `${what}: ${name || code || 'error'}${status ? ` (HTTP ${status})` : ''}${message}`;
  const opts = { cause: err, status };
  if (timedOut || name === 'TimeoutError' || (code === 'ETIMEDOUT' && status === undefined)) {
    return new StoreError('Timeout', `${what}: timed out`, opts);
  }
  if (name === 'NoSuchBucket') return new StoreError('NoSuchBucket', detail, opts);
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new StoreError('NotFound', detail, opts);
  if (CREDENTIAL_ERRORS.has(name)) return new StoreError('InvalidCredentials', detail, opts);
  if (name === 'AccessDenied' || status === 403) return new StoreError('AccessDenied', detail, opts);
  if (name === 'InvalidRange' || status === 416) return new StoreError('InvalidRange', detail, opts);
  if (name === 'EntityTooLarge') return new StoreError('TooLarge', detail, opts);
  if (TRANSIENT_ERRORS.has(name) || status === 429 || status === 408 || (status !== undefined && status >= 500)) {
    return new StoreError('Transient', detail, opts);
  }
  if (NETWORK_ERRORS.has(code) || NETWORK_ERRORS.has(name) || /socket hang up|ECONNRESET|other side closed/i.test(e.message ?? '')) {
    return new StoreError('Transient', detail, opts);
  }
  return new StoreError('Unknown', detail, opts);
}

interface Body {
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  destroy?: (err?: Error) => void;
}

function asBody(x: unknown): Body | undefined {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x ? (x as Body) : undefined;
}

/** Reads a response body into one buffer, refusing more than `maxBytes`. */
async function readBody(body: Body, expected: number | undefined, maxBytes: number, key: string, signal: AbortSignal): Promise<Uint8Array> {
  const onAbort = () => body.destroy?.(new Error('deadline exceeded'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (expected !== undefined) {
      const out = new Uint8Array(expected);
      let n = 0;
      for await (const chunk of body) {
        if (n + chunk.length > expected) throw new StoreError('Transient', `get ${JSON.stringify(key)}: body longer than its Content-Length`);
        out.set(chunk, n);
        n += chunk.length;
      }
      if (n !== expected) throw new StoreError('Transient', `get ${JSON.stringify(key)}: body ended after ${n} of ${expected} bytes`);
      return out;
    }
    const chunks: Uint8Array[] = [];
    let n = 0;
    for await (const chunk of body) {
      n += chunk.length;
      if (n > maxBytes) throw tooLarge(key, n, maxBytes);
      chunks.push(chunk);
    }
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  } catch (err) {
    body.destroy?.();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Runs `fn` over `items` with bounded concurrency; after a failure starts nothing new, waits for the rest, rethrows. */
async function runPool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: { err: unknown } | undefined;
  const worker = async () => {
    while (firstError === undefined && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        firstError ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (firstError !== undefined) throw firstError.err;
}

/** S3-compatible store (R2, AWS, Ceph RGW, MinIO) on one bucket. Retries transient failures itself. */
export class S3Store implements ObjectStore {
  readonly description: string;
  readonly incompleteUploads = 'multipart';
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly requestTimeoutMs: number;
  private readonly minThroughput: number;
  private readonly policy: RetryPolicy;
  private readonly hooks: RetryHooks;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private readonly maxGetBytes: number;

  constructor(
    private readonly credentials: BucketCredentials,
    options: S3StoreOptions = {},
  ) {
    validateCredentials(credentials);
    if (credentials.endpoint?.startsWith('file:')) {
      throw new StoreError('InvalidArgument', 'S3Store cannot open a file:// endpoint; use FsStore');
    }
    this.bucket = credentials.bucket;
    this.description = `s3://${credentials.bucket}${credentials.endpoint ? ` at ${credentials.endpoint}` : ''}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.minThroughput = options.minThroughputBytesPerSec ?? 1024 * 1024;
    const { onRetry, random, ...policy } = options.retry ?? {};
    this.policy = resolveRetryPolicy(policy);
    this.hooks = { onRetry, random };
    this.partSize = Math.max(MIN_PART_BYTES, options.partSizeBytes ?? 16 * 1024 * 1024);
    this.multipartThreshold = Math.max(this.partSize, options.multipartThresholdBytes ?? 64 * 1024 * 1024);
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 4);
    this.maxGetBytes = validateMaxBytes(options.maxGetBytes, DEFAULT_MAX_GET_BYTES);
    if (!(this.requestTimeoutMs > 0) || !(this.minThroughput > 0)) {
      throw new StoreError('InvalidArgument', 'requestTimeoutMs and minThroughputBytesPerSec must be positive');
    }
    const maxSockets = options.maxSockets ?? 64;
    this.client = new S3Client({
      endpoint: credentials.endpoint,
      region: credentials.region,
      forcePathStyle: options.forcePathStyle ?? credentials.endpoint !== undefined,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      maxAttempts: 1, // retries are ours (withRetry): typed errors, jitter, no retry on 403
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: Math.min(this.requestTimeoutMs, 10_000),
        httpAgent: { keepAlive: true, maxSockets },
        httpsAgent: { keepAlive: true, maxSockets },
      },
    });
  }

  /** Frees the connection pool. */
  close(): void {
    this.client.destroy();
  }

  private budget(bytes: number): number {
    return this.requestTimeoutMs + Math.ceil((bytes / this.minThroughput) * 1000);
  }

  /** One HTTP exchange under a deadline, with typed errors. */
  private async attempt<T>(what: string, bytes: number, fn: (deadline: Deadline) => Promise<T>): Promise<T> {
    const deadline = new Deadline(this.budget(bytes));
    try {
      return await fn(deadline);
    } catch (err) {
      throw mapS3Error(err, what, deadline.expired);
    } finally {
      deadline.clear();
    }
  }

  private retried<T>(what: string, bytes: number, fn: (deadline: Deadline) => Promise<T>): Promise<T> {
    return withRetry(() => this.attempt(what, bytes, fn), this.policy, this.hooks);
  }

  async put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    validateKey(key);
    if (!(body instanceof Uint8Array)) throw new StoreError('InvalidArgument', 'put body must be a Uint8Array');
    if (body.length > this.multipartThreshold) await this.putMultipart(key, body);
    else {
      await this.retried(`put ${JSON.stringify(key)}`, body.length, (d) =>
        this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length }),
          { abortSignal: d.signal },
        ),
      );
    }
    // Size, server time and ETag as the server records them (the Complete response's ETag is unreliable on RGW).
    const info = await this.head(key);
    if (info === null) throw new StoreError('Unknown', `put ${JSON.stringify(key)}: object missing right after upload`);
    return info;
  }

  private async putMultipart(key: string, body: Uint8Array): Promise<void> {
    const partSize = Math.max(this.partSize, Math.ceil(body.length / MAX_PARTS));
    const what = `put ${JSON.stringify(key)} (multipart)`;
    const created = await this.retried(what, 0, (d) =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }), { abortSignal: d.signal }),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new StoreError('Unknown', `${what}: server returned no UploadId`);
    try {
      const numbers = Array.from({ length: Math.ceil(body.length / partSize) }, (_, i) => i + 1);
      const parts: CompletedPart[] = [];
      await runPool(numbers, this.partConcurrency, async (n) => {
        const chunk = body.subarray((n - 1) * partSize, Math.min(n * partSize, body.length));
        const res = await this.retried(`${what} part ${n}`, chunk.length, (d) =>
          this.client.send(
            new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: chunk, ContentLength: chunk.length }),
            { abortSignal: d.signal },
          ),
        );
        if (!res.ETag) throw new StoreError('Unknown', `${what}: part ${n} has no ETag`);
        parts.push({ ETag: res.ETag, PartNumber: n });
      });
      parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
      await this.retried(`${what} complete`, 0, (d) =>
        this.client.send(
          new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
          { abortSignal: d.signal },
        ),
      );
    } catch (err) {
      // best effort: the caller needs the upload's own failure, rethrown below, not the abort's
      await this.attempt(`${what} abort`, 0, (d) =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }), { abortSignal: d.signal }),
      ).catch(() => undefined);
      throw err;
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    validateKey(key);
    const maxBytes = validateMaxBytes(options.maxBytes, this.maxGetBytes);
    const range = options.range === undefined ? undefined : validateRange(options.range);
    if (range !== undefined && range.start === range.end) {
      // HTTP cannot ask for zero bytes; still report a missing object as NotFound.
      if ((await this.head(key)) === null) throw new StoreError('NotFound', `get ${JSON.stringify(key)}: no such object`);
      return new Uint8Array(0);
    }
    const what = `get ${JSON.stringify(key)}`;
    return this.retried(what, 0, async (d) => {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined }),
        { abortSignal: d.signal },
      );
      const body = asBody(res.Body);
      if (body === undefined) throw new StoreError('Unknown', `${what}: response has no body`);
      const length = res.ContentLength;
      if (length !== undefined && length > maxBytes) {
        body.destroy?.();
        throw tooLarge(key, length, maxBytes);
      }
      d.extendTo(this.budget(length ?? maxBytes));
      const bytes = await readBody(body, length, maxBytes, key, d.signal);
      if (range !== undefined && res.ContentRange === undefined) {
        // The server ignored the Range header and sent the whole object.
        const r = clipRange(range, bytes.length);
        return bytes.slice(r.start, r.end);
      }
      return bytes;
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    const what = `head ${JSON.stringify(key)}`;
    try {
      const res = await this.retried(what, 0, (d) =>
        this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: d.signal }),
      );
      return {
        key,
        size: res.ContentLength ?? 0,
        lastModified: res.LastModified ?? new Date(0),
        etag: res.ETag ?? '',
      };
    } catch (err) {
      if (err instanceof StoreError && err.code === 'NotFound') return null;
      if (err instanceof StoreError && err.code === 'AccessDenied') throw await this.classifyForbidden(err, key);
      throw err;
    }
  }

  /**
   * HEAD answers carry no error body, so a bad secret and a missing permission both look like a bare 403.
   * One LIST (which does carry the error code) tells them apart.
   */
  private async classifyForbidden(err: StoreError, key: string): Promise<StoreError> {
    try {
      await this.attempt('classify 403', 0, (d) =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }), { abortSignal: d.signal }),
      );
    } catch (listErr) {
      if (listErr instanceof StoreError && listErr.code === 'InvalidCredentials') {
        return new StoreError('InvalidCredentials', `head ${JSON.stringify(key)}: ${listErr.message}`, { cause: listErr, status: 403 });
      }
    }
    return err;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = validateLimit(options);
    const token = options.continuationToken;
    if (token !== undefined && (typeof token !== 'string' || token.length === 0 || token.length > 4096)) {
      throw new StoreError('InvalidArgument', 'continuation token is not one this store issued');
    }
    const res = await this.retried(`list ${JSON.stringify(prefix)}`, 0, (d) =>
      this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix || undefined, MaxKeys: limit, ContinuationToken: token }),
        { abortSignal: d.signal },
      ),
    );
    const objects: ObjectInfo[] = (res.Contents ?? []).map((o) => ({
      key: o.Key ?? '',
      size: o.Size ?? 0,
      lastModified: o.LastModified ?? new Date(0),
      etag: o.ETag ?? '',
    }));
    const page: ListPage = { objects };
    if (res.IsTruncated && res.NextContinuationToken) page.nextToken = res.NextContinuationToken;
    return page;
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.retried(`delete ${JSON.stringify(key)}`, 0, (d) =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: d.signal }),
    );
  }
  /** ListMultipartUploads; the token carries the (KeyMarker, UploadIdMarker) pair of the next page. */
  async listIncompleteUploads(options: ListOptions = {}): Promise<IncompleteUploadPage> {
    const limit = validateLimit(options);
    const [keyMarker, uploadIdMarker] = options.continuationToken === undefined ? [undefined, undefined] : decodeUploadToken(options.continuationToken);
    const res = await this.retried('list incomplete uploads', 0, (d) =>
      this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, MaxUploads: limit, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        { abortSignal: d.signal },
      ),
    );
    const uploads: IncompleteUpload[] = (res.Uploads ?? [])
      .filter((u) => u.Key !== undefined && u.UploadId !== undefined)
      .map((u) => ({ key: u.Key ?? '', id: u.UploadId ?? '', initiated: u.Initiated ?? new Date(0) }));
    const page: IncompleteUploadPage = { uploads };
    if (res.IsTruncated && res.NextKeyMarker) page.nextToken = encodeUploadToken(res.NextKeyMarker, res.NextUploadIdMarker ?? '');
    return page;
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    // the key comes from the server's own listing: any non-empty key it reports can be aborted
    if (typeof upload?.key !== 'string' || upload.key.length === 0) throw new StoreError('InvalidArgument', 'abort upload: the key is empty');
    if (typeof upload.id !== 'string' || upload.id.length === 0) throw new StoreError('InvalidArgument', 'abort upload: the upload id is empty');
    try {
      await this.retried(`abort upload of ${JSON.stringify(upload.key)}`, 0, (d) =>
        this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: upload.key, UploadId: upload.id }), { abortSignal: d.signal }),
      );
    } catch (err) {
      // NoSuchUpload: completed or aborted already
      if (err instanceof StoreError && err.code === 'NotFound') return;
      throw err;
    }
  }
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

function encodeUploadToken(keyMarker: string, uploadIdMarker: string): string {
  return `${b64(keyMarker)}.${b64(uploadIdMarker)}`;
}

function decodeUploadToken(token: string): [string, string | undefined] {
  const parts = typeof token === 'string' && token.length <= 4096 ? token.split('.') : [];
  const [key, id] = parts.map((p) => Buffer.from(p, 'base64url').toString('utf8'));
  if (parts.length !== 2 || !key || b64(key) !== parts[0] || b64(id) !== parts[1]) {
    throw new StoreError('InvalidArgument', 'continuation token is not one this store issued');
  }
  return [key, id === '' ? undefined : id];
}

/**
 * Creates the bucket of `credentials` (owner keys) if it does not exist. Uses region us-east-1 for the
 * call itself: RGW rejects the LocationConstraint the SDK derives from region `auto`.
 */
export async function ensureS3Bucket(credentials: BucketCredentials, options: { requestTimeoutMs?: number } = {}): Promise<void> {
  validateCredentials(credentials);
  const client = new S3Client({
    endpoint: credentials.endpoint,
    region: 'us-east-1',
    forcePathStyle: credentials.endpoint !== undefined,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: 3,
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: credentials.bucket }), {
      abortSignal: AbortSignal.timeout(options.requestTimeoutMs ?? 30_000),
    });
  } catch (err) {
    const name = (err as SdkErrorShape).name;
    if (name !== 'BucketAlreadyOwnedByYou') throw mapS3Error(err, `create bucket ${credentials.bucket}`);
  } finally {
    client.destroy();
  }
}
