/**
 * The simulated object store: one bucket per node, written only by its owner, read by everyone. Objects are either
 * real bytes (documents, real payloads) or size-only (a payload of the size the codec gives, no bytes). Each node
 * sees a bucket through a SimStore, an ObjectStore whose every call is a request on that node's link (links.ts):
 * PUT through the node's uplink, GET through its downlink (and the bucket's egress, when the scenario limits it),
 * HEAD and LIST one round trip. lastModified is the virtual clock at the end of the PUT, truncated to the store's
 * resolution (S3 and R2: whole seconds), so upload deadlines are judged by protocol's checkDeadline on it.
 */
import { StoreError } from '../../storage/errors.ts';
import { compareKeys, validateKey, validatePrefix } from '../../storage/keys.ts';
import type { GetOptions, IncompleteUploadPage, ListOptions, ListPage, ObjectInfo, ObjectStore } from '../../storage/types.ts';
import type { VirtualClock } from './clock.ts';
import { request, type LinkModel, type Port, type SimEndpoint } from './links.ts';

interface SimObject {
  readonly info: ObjectInfo;
  /** null: a size-only object. */
  readonly body: Uint8Array | null;
}

interface Waiter {
  readonly key: string;
  readonly since: number;
  readonly periodMs: number;
  readonly wake: () => void;
}

export class SimBucket {
  readonly objects = new Map<string, SimObject>();
  private etag = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly name: string,
    /** Egress port of the bucket (null: no limit). */
    readonly egress: Port | null,
  ) {}

  store(key: string, size: number, body: Uint8Array | null, lastModified: Date): ObjectInfo {
    const info: ObjectInfo = { key, size, lastModified, etag: `"s${++this.etag}"` };
    this.objects.set(key, { info, body });
    return info;
  }

  /**
   * Resolves once `key` exists, as seen by a reader that polls every `periodMs` from `since` on: at the first poll
   * tick at or after the object appeared. The ticks are computed, not simulated one by one; `polls` counts them.
   */
  waitFor(clock: VirtualClock, key: string, periodMs: number): Promise<{ polls: number }> {
    const since = clock.now;
    if (this.objects.has(key)) return Promise.resolve({ polls: 1 });
    return new Promise((resolve) => {
      this.waiters.push({
        key,
        since,
        periodMs,
        wake: () => {
          const ticks = Math.ceil((clock.now - since) / periodMs);
          clock.at(since + ticks * periodMs, () => resolve({ polls: ticks + 1 }));
        },
      });
    });
  }

  /** Wakes the readers waiting for `key` (after a PUT of it). */
  notify(key: string): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w.key !== key) continue;
      this.waiters.splice(i, 1);
      w.wake();
    }
  }

  delete(key: string): void {
    this.objects.delete(key);
  }
}

export interface SimStoreOptions {
  readonly retryMs: number;
  readonly retryCapMs: number;
  /** lastModified resolution (ms). */
  readonly resolutionMs: number;
  /** Only the bucket's owner may write. */
  readonly writable: boolean;
  /** Told the payload bytes of every request that succeeded (0 for HEAD and LIST). */
  readonly account?: (direction: 'up' | 'down', bytes: number) => void;
}

/** `node`'s view of `bucket`. */
export class SimStore implements ObjectStore {
  readonly description: string;
  readonly incompleteUploads = 'none';

  constructor(
    private readonly clock: VirtualClock,
    private readonly links: LinkModel,
    readonly node: SimEndpoint,
    readonly bucket: SimBucket,
    private readonly o: SimStoreOptions,
  ) {
    this.description = `sim://${bucket.name} (as ${node.name})`;
  }

  private async call(what: string, bytes: number, direction: 'up' | 'down'): Promise<void> {
    const remote = direction === 'down' && this.bucket.egress !== null ? [this.bucket.egress] : [];
    const ok = await request(this.clock, this.links, this.node, { bytes, direction, remote, retryMs: this.o.retryMs, retryCapMs: this.o.retryCapMs });
    if (!ok) throw new StoreError('Transient', `${what} on ${this.description}: every attempt failed within ${this.o.retryCapMs} ms`);
    this.o.account?.(direction, bytes);
  }

  private checkWritable(key: string): void {
    if (!this.o.writable) throw new StoreError('AccessDenied', `put ${JSON.stringify(key)}: ${this.node.name} cannot write ${this.bucket.name}`);
  }

  private stamp(): Date {
    const res = this.o.resolutionMs;
    return new Date(Math.floor(this.clock.date().getTime() / res) * res);
  }

  async put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    validateKey(key);
    this.checkWritable(key);
    const copy = body.slice();
    await this.call(`put ${key}`, copy.length, 'up');
    const info = this.bucket.store(key, copy.length, copy, this.stamp());
    this.bucket.notify(key);
    return { ...info };
  }

  /** Stores a size-only object of `size` bytes (a payload whose bytes the simulation does not need). */
  async putSized(key: string, size: number): Promise<ObjectInfo> {
    validateKey(key);
    this.checkWritable(key);
    await this.call(`put ${key}`, size, 'up');
    const info = this.bucket.store(key, size, null, this.stamp());
    this.bucket.notify(key);
    return { ...info };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    await this.call(`head ${key}`, 0, 'down');
    const o = this.bucket.objects.get(key);
    return o === undefined ? null : { ...o.info };
  }

  private existing(key: string): SimObject {
    const o = this.bucket.objects.get(key);
    if (o === undefined) throw new StoreError('NotFound', `get ${JSON.stringify(key)} on ${this.description}: no such object`);
    return o;
  }

  async get(key: string, options: GetOptions = {}): Promise<Uint8Array> {
    validateKey(key);
    const o = this.existing(key);
    if (options.maxBytes !== undefined && o.info.size > options.maxBytes) {
      throw new StoreError('TooLarge', `get ${JSON.stringify(key)}: ${o.info.size} bytes exceed the limit of ${options.maxBytes}`);
    }
    if (o.body === null) throw new StoreError('InvalidArgument', `get ${JSON.stringify(key)}: a size-only object has no bytes (use getSized)`);
    if (options.range !== undefined) throw new StoreError('InvalidArgument', 'ranged reads are not simulated');
    await this.call(`get ${key}`, o.info.size, 'down');
    return o.body.slice();
  }

  /** Downloads the object whatever it holds; its bytes (null for a size-only object) and size. */
  async getAny(key: string): Promise<{ size: number; body: Uint8Array | null }> {
    validateKey(key);
    const o = this.existing(key);
    await this.call(`get ${key}`, o.info.size, 'down');
    return { size: o.info.size, body: o.body };
  }

  /** Resolves when `key` exists, polling every periodMs (computed ticks: SimBucket.waitFor). */
  async waitFor(key: string, periodMs: number): Promise<number> {
    const { polls } = await this.bucket.waitFor(this.clock, key, periodMs);
    this.node.requests += polls;
    await this.clock.sleep(this.node.spec.latencyMs);
    return polls;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    validatePrefix(prefix);
    await this.call(`list ${prefix}`, 0, 'down');
    const limit = options.limit ?? 1000;
    const after = options.continuationToken;
    const keys = [...this.bucket.objects.keys()].filter((k) => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0)).sort(compareKeys);
    const objects = keys.slice(0, limit).map((k) => ({ ...this.bucket.objects.get(k)!.info }));
    return keys.length > limit ? { objects, nextToken: objects[objects.length - 1].key } : { objects };
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    this.checkWritable(key);
    await this.call(`delete ${key}`, 0, 'up');
    this.bucket.delete(key);
  }

  async listIncompleteUploads(): Promise<IncompleteUploadPage> {
    return { uploads: [] };
  }

  async abortIncompleteUpload(): Promise<void> {}
}
