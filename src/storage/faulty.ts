import { StoreError } from './errors.ts';
import { sleep } from './retry.ts';
import type { GetOptions, IncompleteUpload, IncompleteUploadKind, IncompleteUploadPage, ListOptions, ListPage, ObjectInfo, ObjectStore } from './types.ts';

export type StoreOperation = 'put' | 'get' | 'head' | 'list' | 'delete' | 'listUploads' | 'abortUpload';

export interface FaultOptions {
  /** Fraction (0..1) of requests that fail with a Transient error. Default 0. */
  failureRate?: number;
  /** Seed of the RNG that picks failing requests and latencies (default 1): same seed, same faults. */
  seed?: number;
  /** Added before every request: a fixed delay or uniform in [min, max] ms. */
  latencyMs?: number | { min: number; max: number };
  /** Every request fails (Transient, like a refused connection). */
  dead?: boolean;
  /** Every request hangs until `revive()` or forever (like a peer that accepts but never answers). */
  hang?: boolean;
  /** Which operations are subject to faults (default all). */
  operations?: readonly StoreOperation[];
  /**
   * When injected failures happen: 'before' the inner call (request lost), 'after' it (response lost:
   * the write took effect but the caller sees an error), or 'either' (coin flip). Default 'before'.
   */
  timing?: 'before' | 'after' | 'either';
}

export interface FaultStats {
  calls: number;
  injectedFailures: number;
}

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decorator for fault-tolerance tests: injects transient failures, latency, death or hangs. */
export class FaultyStore implements ObjectStore {
  readonly description: string;
  readonly stats: FaultStats = { calls: 0, injectedFailures: 0 };
  readonly incompleteUploads: IncompleteUploadKind;
  private readonly random: () => number;
  private options: FaultOptions;
  private readonly hung = new Set<() => void>();

  constructor(
    private readonly inner: ObjectStore,
    options: FaultOptions = {},
  ) {
    const rate = options.failureRate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new StoreError('InvalidArgument', `failureRate must be in [0, 1], got ${rate}`);
    this.options = { ...options };
    this.random = seededRandom(options.seed ?? 1);
    this.description = `faulty(${inner.description})`;
    this.incompleteUploads = inner.incompleteUploads;
  }

  /** Change the fault settings mid-test (e.g. kill a peer, then bring it back). */
  configure(options: Partial<FaultOptions>): void {
    this.options = { ...this.options, ...options };
    if (!this.options.hang) this.releaseHung();
  }

  setDead(dead: boolean): void {
    this.configure({ dead });
  }

  /** Ends death and hangs; hung requests proceed. */
  revive(): void {
    this.configure({ dead: false, hang: false });
  }

  private releaseHung(): void {
    for (const release of this.hung) release();
    this.hung.clear();
  }

  private subject(op: StoreOperation): boolean {
    return this.options.operations === undefined || this.options.operations.includes(op);
  }

  private async call<T>(op: StoreOperation, what: string, fn: () => Promise<T>): Promise<T> {
    this.stats.calls++;
    if (!this.subject(op)) return fn();
    const o = this.options;
    const latency = o.latencyMs;
    if (latency !== undefined) {
      const ms = typeof latency === 'number' ? latency : latency.min + this.random() * (latency.max - latency.min);
      if (ms > 0) await sleep(ms);
    }
    if (o.hang) await new Promise<void>((resolve) => this.hung.add(resolve));
    if (o.dead) {
      this.stats.injectedFailures++;
      throw new StoreError('Transient', `${what}: injected fault: store is unreachable`);
    }
    const fail = (o.failureRate ?? 0) > 0 && this.random() < (o.failureRate ?? 0);
    if (!fail) return fn();
    const after = o.timing === 'after' || (o.timing === 'either' && this.random() < 0.5);
    // the request reached the store and its answer is lost: the injected fault is the outcome, whatever it was
    if (after) await fn().catch(() => undefined);
    this.stats.injectedFailures++;
    throw new StoreError('Transient', `${what}: injected fault (${after ? 'response' : 'request'} lost)`);
  }

  put(key: string, body: Uint8Array): Promise<ObjectInfo> {
    return this.call('put', `put ${key}`, () => this.inner.put(key, body));
  }
  get(key: string, options?: GetOptions): Promise<Uint8Array> {
    return this.call('get', `get ${key}`, () => this.inner.get(key, options));
  }
  head(key: string): Promise<ObjectInfo | null> {
    return this.call('head', `head ${key}`, () => this.inner.head(key));
  }
  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    return this.call('list', `list ${prefix}`, () => this.inner.list(prefix, options));
  }
  delete(key: string): Promise<void> {
    return this.call('delete', `delete ${key}`, () => this.inner.delete(key));
  }
  listIncompleteUploads(options?: ListOptions): Promise<IncompleteUploadPage> {
    return this.call('listUploads', 'list incomplete uploads', () => this.inner.listIncompleteUploads(options));
  }
  abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    return this.call('abortUpload', `abort upload ${upload.id}`, () => this.inner.abortIncompleteUpload(upload));
  }
}
