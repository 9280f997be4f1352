/** What a store knows about one object. */
export interface ObjectInfo {
  key: string;
  /** Bytes. */
  size: number;
  /**
   * When the server stored the object, by the server's clock (S3: Last-Modified, 1 s resolution on
   * HEAD; filesystem: mtime). Upload deadlines are judged against this, never against the uploader's clock.
   */
  lastModified: Date;
  /** Changes whenever the content is replaced; opaque (S3: quoted MD5 or multipart tag). */
  etag: string;
}

/** Half-open byte range [start, end): `end` is exclusive, like `Uint8Array.subarray`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface GetOptions {
  /** Only these bytes. `end` past the object's size is clipped; `start` at or past it is InvalidRange. */
  range?: ByteRange;
  /** Refuse (TooLarge) to buffer more than this many bytes; checked before reading the body. */
  maxBytes?: number;
}

export interface ListOptions {
  /** Page size, 1..1000 (default 1000). */
  limit?: number;
  /** `nextToken` of the previous page. */
  continuationToken?: string;
}

export interface ListPage {
  /** In ascending order of the keys' UTF-8 bytes. */
  objects: ObjectInfo[];
  /** Present when more objects follow. */
  nextToken?: string;
}

/**
 * An upload the store began and never finished: S3 a multipart upload never completed or aborted (its parts are
 * stored and billed but invisible to get/list), FsStore the temp file of a write that crashed before its rename.
 */
export interface IncompleteUpload {
  /** The key it was meant for; '' when the store cannot tell (FsStore cuts long names in temp file names). */
  key: string;
  /** Opaque handle for `abortIncompleteUpload` (S3: the UploadId; FsStore: the temp file's name). */
  id: string;
  /** When it began, by the server's clock (S3: Initiated; FsStore: the temp file's mtime). */
  initiated: Date;
}

export interface IncompleteUploadPage {
  /** In ascending order of (key, id) for S3, of id for FsStore. */
  uploads: IncompleteUpload[];
  /** Present when more uploads follow. */
  nextToken?: string;
}

/**
 * How a store can be left holding part of an upload: 'multipart' (S3), 'tempFiles' (FsStore), or 'none'
 * (MemoryStore: a put is one in-process step, nothing can dangle; its list is always empty).
 */
export type IncompleteUploadKind = 'multipart' | 'tempFiles' | 'none';

/**
 * One bucket. Implementations: FsStore (filesystem, default for local networks), S3Store (R2, AWS,
 * Ceph RGW, MinIO), MemoryStore (tests); decorators: RetryingStore, FaultyStore.
 * Every failure is a StoreError.
 */
export interface ObjectStore {
  /** Human-readable identity for logs, e.g. `s3://bucket` or `file:///root/bucket`. */
  readonly description: string;
  /** Stores (or replaces) the object atomically: readers see the old or the new bytes, never a mix. */
  put(key: string, body: Uint8Array): Promise<ObjectInfo>;
  get(key: string, options?: GetOptions): Promise<Uint8Array>;
  /** `null` when the object does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Idempotent: deleting a missing object succeeds. */
  delete(key: string): Promise<void>;
  readonly incompleteUploads: IncompleteUploadKind;
  /**
   * Uploads begun and not finished, including ones in flight right now: callers abort only those older than a
   * cut-off (see `abortIncompleteUploads`). Always empty when `incompleteUploads` is 'none'.
   */
  listIncompleteUploads(options?: ListOptions): Promise<IncompleteUploadPage>;
  /** Frees what the upload holds; a write still in flight then fails. Idempotent; needs write credentials. */
  abortIncompleteUpload(upload: IncompleteUpload): Promise<void>;
}

export const MAX_LIST_LIMIT = 1000;
