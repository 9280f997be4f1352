/**
 * Tokenizer worker threads for `prepareDataset`: batches of texts go to the least busy worker and come back as
 * ids. Each worker opens the same tokenizer (`tokenizerSource`), so which thread encodes a text never changes
 * its ids; the caller consumes batches in the order it submitted them.
 */
import { Worker } from 'node:worker_threads';
import { DataError, type DataErrorCode } from './errors.ts';
import type { TokenizeReply, TokenizeRequest } from './tokenize-worker.ts';
import type { TokenizerSource } from './tokenizer.ts';

export interface TokenizedBatch {
  /** every text's ids, one after another */
  readonly ids: Uint32Array;
  readonly lengths: Uint32Array;
}

/** A batch's text `index` could not be encoded. */
export class TokenizeFailure extends Error {
  constructor(readonly index: number, message: string) {
    super(message);
  }
}

interface Pending {
  readonly resolve: (b: TokenizedBatch) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

const WORKER_URL = new URL('./tokenize-worker.ts', import.meta.url).href;
/**
 * The worker registers tsx itself: a process started through tsx's register() API does not pass it on. Resolved
 * when a pool starts, not at import (a browser bundle imports this module and cannot resolve the package).
 */
const boot = (): string => `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); });`;

export class TokenizePool {
  private nextId = 0;
  private failure: Error | null = null;
  private closed = false;

  private constructor(private readonly slots: readonly Slot[]) {
    for (const slot of slots) {
      slot.worker.on('message', (m: TokenizeReply) => this.onReply(slot, m));
      slot.worker.on('error', (e) => this.fail(new DataError('TokenizerInvalid', `a tokenizer worker failed: ${e.message}`, { cause: e })));
      slot.worker.on('exit', (code) => {
        if (!this.closed) this.fail(new DataError('TokenizerInvalid', `a tokenizer worker exited (code ${code})`));
      });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  /** Starts `size` workers and waits until each has opened the tokenizer. */
  static async open(source: TokenizerSource, size: number): Promise<TokenizePool> {
    if (!Number.isInteger(size) || size < 1) throw new DataError('InvalidArgument', `worker count must be a positive integer, got ${size}`);
    const workers = Array.from({ length: size }, () => new Worker(boot(), { eval: true, workerData: source }));
    try {
      await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
        const onMessage = (m: TokenizeReply): void => {
          w.off('error', reject);
          if (m.type === 'ready') resolve();
          else if (m.type === 'open-failed') reject(new DataError(m.code as DataErrorCode, m.message));
          else reject(new DataError('TokenizerInvalid', `tokenizer worker sent ${m.type} before it was ready`));
        };
        w.once('message', onMessage);
        w.once('error', reject);
      })));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new TokenizePool(workers.map((worker) => ({ worker, pending: new Map() })));
  }

  encode(texts: readonly string[]): Promise<TokenizedBatch> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new DataError('InvalidArgument', 'tokenizer pool is closed'));
    let slot = this.slots[0];
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    return new Promise<TokenizedBatch>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, texts } satisfies TokenizeRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private onReply(slot: Slot, m: TokenizeReply): void {
    if (m.type !== 'done' && m.type !== 'failed') return;
    const p = slot.pending.get(m.id);
    if (p === undefined) return;
    slot.pending.delete(m.id);
    if (m.type === 'done') p.resolve({ ids: m.ids, lengths: m.lengths });
    else p.reject(new TokenizeFailure(m.index, m.message));
  }

  private fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    for (const slot of this.slots) {
      for (const p of slot.pending.values()) p.reject(e);
      slot.pending.clear();
    }
  }
}
