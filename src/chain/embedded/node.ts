/**
 * A running embedded chain: the runtime, its directory, a block clock and the transaction pool. Transactions
 * are verified on arrival and executed in the next block, in arrival order; `submit` resolves when its block is
 * produced (and, if it changed anything, saved). Blocks come every `blockTimeMs`, timestamped by the local clock.
 */
import type { BlockHeader } from '../types.ts';
import { EmbeddedChainError } from './errors.ts';
import { ChainRuntime, type TxOutcome } from './runtime.ts';
import type { EpochRecord, GenesisConfig } from './state.ts';
import { ChainStore } from './store.ts';
import { verifyTx, type VerifiedTx } from './tx.ts';

export interface ChainNodeOptions {
  /** Chain directory (created if missing; an existing chain there is resumed and `genesis` ignored). */
  dir: string;
  blockTimeMs: number;
  genesis?: GenesisConfig;
  /** Save the state at least every this many blocks (always after blocks with transactions or epochs). Default 10. */
  persistEveryBlocks?: number;
  /** fsync state saves. Default true. */
  durable?: boolean;
  /** Pool capacity in transactions. Default 4096. */
  maxPendingTx?: number;
  /** Pool capacity in (estimated) bytes. Default 32 MiB. */
  maxPendingBytes?: number;
  /** Transactions one signer may have waiting. Default 256. */
  maxPendingPerSigner?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

interface Pending {
  tx: VerifiedTx;
  resolve: (outcome: TxOutcome) => void;
  reject: (err: Error) => void;
}

export class ChainNode {
  readonly runtime: ChainRuntime;
  readonly blockTimeMs: number;
  private readonly store: ChainStore;
  private readonly persistEvery: number;
  private readonly maxPending: number;
  private readonly maxPendingBytes: number;
  private pendingBytes = 0;
  private readonly maxPerSigner: number;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;
  private queue: Pending[] = [];
  private readonly queuedIds = new Set<string>();
  private readonly perSigner = new Map<string, number>();
  private readonly blockListeners = new Set<(h: BlockHeader) => void>();
  private readonly epochListeners = new Set<(e: EpochRecord) => void>();
  private timer: NodeJS.Timeout | undefined;
  private lastSaved: number;
  private stopped = false;

  private constructor(runtime: ChainRuntime, store: ChainStore, opts: ChainNodeOptions) {
    this.runtime = runtime;
    this.store = store;
    this.blockTimeMs = opts.blockTimeMs;
    this.persistEvery = Math.max(1, opts.persistEveryBlocks ?? 10);
    this.maxPending = opts.maxPendingTx ?? 4096;
    this.maxPendingBytes = opts.maxPendingBytes ?? 32 * 1024 * 1024;
    this.maxPerSigner = opts.maxPendingPerSigner ?? 256;
    this.log = opts.log ?? (() => {});
    this.lastSaved = runtime.head.number;
  }

  /** Opens the chain in `dir`: resumes it if a state exists, else creates it from `genesis`. */
  static open(opts: ChainNodeOptions): ChainNode {
    if (!Number.isFinite(opts.blockTimeMs) || opts.blockTimeMs < 10) {
      throw new EmbeddedChainError('InvalidArgument', `blockTimeMs must be at least 10, got ${opts.blockTimeMs}`);
    }
    const store = ChainStore.open(opts.dir, { durable: opts.durable });
    try {
      let runtime: ChainRuntime;
      if (store.hasState()) {
        runtime = new ChainRuntime(store.loadState());
      } else {
        runtime = ChainRuntime.genesis(opts.genesis ?? {});
        store.writeHeader(runtime.head);
        store.saveState(runtime.state);
      }
      return new ChainNode(runtime, store, opts);
    } catch (err) {
      store.close();
      throw err;
    }
  }

  get head(): BlockHeader {
    return { ...this.runtime.head };
  }

  get genesisHash(): string {
    return this.runtime.state.genesisHash;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts producing a block every `blockTimeMs`. */
  start(): void {
    if (this.stopped) throw new EmbeddedChainError('ChainStopped', 'the chain was stopped');
    if (this.timer) return;
    this.schedule();
  }

  private schedule(): void {
    const due = this.runtime.head.timestampMs + this.blockTimeMs - Date.now();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.stopped) return;
      try {
        this.produceBlock();
      } catch (err) {
        this.log('block production failed', { err: err instanceof Error ? err.message : String(err) });
      }
      if (!this.stopped) this.schedule();
    }, Math.max(0, Math.min(due, this.blockTimeMs)));
  }

  /** Produces one block now: initialisation, queued transactions, persistence, notifications. */
  produceBlock(): BlockHeader {
    if (this.stopped) throw new EmbeddedChainError('ChainStopped', 'the chain was stopped');
    const { header, epochs } = this.runtime.beginBlock(Date.now());
    const batch = this.queue;
    this.queue = [];
    this.queuedIds.clear();
    this.perSigner.clear();
    this.pendingBytes = 0;
    const settled: Array<() => void> = [];
    for (const p of batch) {
      try {
        const outcome = this.runtime.apply(p.tx);
        settled.push(() => p.resolve(outcome));
      } catch (err) {
        const e = err instanceof EmbeddedChainError ? err : new EmbeddedChainError('Internal', `runtime failure: ${(err as Error).message}`, { cause: err });
        if (!(err instanceof EmbeddedChainError)) this.log('runtime failure', { err: (err as Error).stack });
        settled.push(() => p.reject(e));
      }
    }
    this.store.writeHeader(header);
    if (batch.length > 0 || epochs.length > 0 || header.number - this.lastSaved >= this.persistEvery) this.save();
    for (const s of settled) s();
    for (const e of epochs) {
      this.log('epoch', { netuid: e.netuid, index: e.index, block: e.block });
      for (const l of this.epochListeners) safely(() => l(e));
    }
    for (const l of this.blockListeners) safely(() => l({ ...header }));
    return header;
  }

  private save(): void {
    this.store.saveState(this.runtime.state);
    this.lastSaved = this.runtime.head.number;
  }

  /**
   * Verifies an untrusted signed transaction and queues it for the next block; resolves with its outcome when
   * the block is produced. Signature, shape, mortality and replay errors reject at once.
   */
  submit(body: unknown): Promise<TxOutcome> {
    if (this.stopped) return Promise.reject(new EmbeddedChainError('ChainStopped', 'the chain was stopped'));
    let tx: VerifiedTx;
    try {
      tx = verifyTx(body, this.genesisHash);
      this.runtime.admissible(tx, this.runtime.head.number + 1);
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.queuedIds.has(tx.id)) return Promise.reject(new EmbeddedChainError('ReplayedTransaction', 'this transaction is already waiting for inclusion'));
    if (this.queue.length >= this.maxPending) return Promise.reject(new EmbeddedChainError('TxPoolFull', `the pool holds ${this.maxPending} transactions`));
    const size = txSize(tx);
    if (this.pendingBytes + size > this.maxPendingBytes) return Promise.reject(new EmbeddedChainError('TxPoolFull', `the pool holds ${this.pendingBytes} bytes of transactions`));
    const mine = this.perSigner.get(tx.payload.signer) ?? 0;
    if (mine >= this.maxPerSigner) return Promise.reject(new EmbeddedChainError('TxPoolFull', `signer has ${mine} transactions waiting`));
    this.perSigner.set(tx.payload.signer, mine + 1);
    this.queuedIds.add(tx.id);
    this.pendingBytes += size;
    return new Promise((resolve, reject) => this.queue.push({ tx, resolve, reject }));
  }

  onBlock(listener: (h: BlockHeader) => void): () => void {
    this.blockListeners.add(listener);
    return () => this.blockListeners.delete(listener);
  }

  onEpoch(listener: (e: EpochRecord) => void): () => void {
    this.epochListeners.add(listener);
    return () => this.epochListeners.delete(listener);
  }

  /** Header of a produced block, or undefined. */
  header(n: number): BlockHeader | undefined {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.runtime.head.number) return undefined;
    if (n === this.runtime.head.number) return this.head;
    const ts = this.store.timestampOf(n);
    return ts === undefined ? undefined : { number: n, timestampMs: ts };
  }

  /** Stops the clock, fails waiting transactions, saves and releases the directory. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = this.queue;
    this.queue = [];
    for (const p of waiting) p.reject(new EmbeddedChainError('ChainStopped', 'the chain stopped before including this transaction'));
    try {
      this.save();
    } finally {
      this.store.close();
    }
    this.blockListeners.clear();
    this.epochListeners.clear();
  }
}

/** Rough in-memory size of a queued transaction: what bounds the pool. */
function txSize(tx: VerifiedTx): number {
  const c = tx.payload.call;
  if (c.call === 'set_weights') return 512 + 32 * c.args.uids.length;
  if (c.call === 'set_commitment') return 512 + 2 * c.args.data.length;
  return 1024;
}

function safely(f: () => void): void {
  try {
    f();
  } catch {
    // listeners must not break block production
  }
}
