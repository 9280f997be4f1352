import { StoreError } from './errors.ts';
import { clipRange, compareKeys, tooLarge, validateKey, validateLimit, validateMaxBytes, validatePrefix, validateRange } from './keys.ts';
import type { GetOptions, IncompleteUpload, IncompleteUploadPage, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.ts';

interface Entry {
  data: Uint8Array;
  info: ObjectInfo;
}

/** The contents of one in-memory bucket; share it between a writer's and readers' MemoryStores. */
export class MemoryBucket {
  readonly objects = new Map<string, Entry>();
  private version = 0;
  nextEtag(): string {
    return `"m${++this.version}"`;
  }
}

/** In-process store for tests of higher layers. Same semantics as FsStore/S3Store; copies bytes in and out. */
export class MemoryStore implements ObjectStore {
  readonly description: string;
  readonly incompleteUploads = 'none';

  constructor(
    readonly bucket: MemoryBucket = new MemoryBucket(),
    private readonly options: { readOnly?: boolean; name?: string; maxGetBytes?: number; now?: () => Date } = {},
  ) {
    this.description = `memory://${options.name ?? 'bucket'}`;
  }

  async put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    validateKey(key);
    if (!(body instanceof Uint8Array)) throw new StoreError('InvalidArgument', 'put body must be a Uint8Array');
    if (this.options.readOnly) throw new StoreError('AccessDenied', `put ${JSON.stringify(key)}: these credentials are read-only`);
    const info: ObjectInfo = { key, size: body.length, lastModified: this.options.now?.() ?? new Date(), etag: this.bucket.nextEtag() };
    this.bucket.objects.set(key, { data: body.slice(), info });
    return { ...info };
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    validateKey(key);
    const maxBytes = validateMaxBytes(options.maxBytes, this.options.maxGetBytes ?? 1 << 30);
    if (options.range !== undefined) validateRange(options.range);
    const entry = this.bucket.objects.get(key);
    if (entry === undefined) throw new StoreError('NotFound', `get ${JSON.stringify(key)}: no such object`);
    const { start, end } = options.range === undefined ? { start: 0, end: entry.data.length } : clipRange(options.range, entry.data.length);
    if (end - start > maxBytes) throw tooLarge(key, end - start, maxBytes);
    return entry.data.slice(start, end);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    const entry = this.bucket.objects.get(key);
    return entry === undefined ? null : { ...entry.info };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    const limit = validateLimit(options);
    const after = options.continuationToken;
    if (after !== undefined && typeof after !== 'string') throw new StoreError('InvalidArgument', 'bad continuation token');
    const keys = [...this.bucket.objects.keys()]
      .filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0))
      .sort(compareKeys);
    const objects = keys.slice(0, limit).map((k) => ({ ...this.bucket.objects.get(k)!.info }));
    const page: ListPage = { objects };
    if (keys.length > limit) page.nextToken = objects[objects.length - 1].key;
    return page;
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    if (this.options.readOnly) throw new StoreError('AccessDenied', `delete ${JSON.stringify(key)}: these credentials are read-only`);
    this.bucket.objects.delete(key);
  }

  async listIncompleteUploads(options: ListOptions = {}): Promise<IncompleteUploadPage> {
    validateLimit(options);
    return { uploads: [] };
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    if (this.options.readOnly) throw new StoreError('AccessDenied', `abort upload ${JSON.stringify(upload.id)}: these credentials are read-only`);
  }
}
