/**
 * The retention sweeper every miner and validator runs on its own bucket: once every `everyWindows` windows it lists
 * the bucket's protocol objects, deletes the expired ones (protocol/retention.ts) and aborts uploads left dangling
 * (a crashed multipart upload or temp file) older than `uploadAgeMs`. Work per pass is bounded (list pages,
 * deletes, aborts); what is left waits for the next pass. A pass runs in the background of the node's window loop,
 * one at a time, and a node that stops does not wait for it (a pass cut short is redone by the next). Every failure
 * is a `retentionFailed` event and never reaches the node; a pass that did or left something is a `retentionSwept`
 * event.
 *
 * The upload cut-off compares the store's start time of an upload with this machine's clock: it is housekeeping
 * with a margin of many minutes, not a deadline.
 */
import { DEFAULT_KEPT_CHECKPOINTS, isExpired, retentionPrefixes, retentionView, type ProtocolParams } from '../protocol/index.ts';
import { abortIncompleteUploads, type ObjectInfo, type ObjectStore } from '../storage/index.ts';
import { TesseraError } from '../core/errors.ts';
import type { NodeEventMap, NodeEvents } from './events.ts';

export class RetentionError extends TesseraError<'InvalidOption'> {
  override readonly name = 'RetentionError';
}

export interface RetentionSweeperOptions {
  /** The node's own bucket, with write credentials. */
  readonly store: ObjectStore;
  readonly protocol: ProtocolParams;
  readonly events: NodeEvents;
  /** A pass at most once every this many windows (default 1). */
  readonly everyWindows?: number;
  /** Deletes per pass (default 256). */
  readonly maxDeletes?: number;
  /** List pages per pass over all prefixes (default 16). */
  readonly maxPages?: number;
  /** Keys per list page (default 1000). */
  readonly pageSize?: number;
  /** Aborts per pass (default 64). */
  readonly maxAborts?: number;
  /** Uploads begun longer ago than this are dangling (default two windows, at least 10 minutes). */
  readonly uploadAgeMs?: number;
  /** Checkpoints kept whatever their age (default protocol/retention's 2). */
  readonly keepCheckpoints?: number;
  /** Clock for the upload cut-off (default the machine's). */
  readonly now?: () => Date;
}

/** One sweep: the fields of its `retentionSwept` event but the time, and whether it failed. */
export type RetentionPass = Omit<NodeEventMap['retentionSwept'], 'ms'> & { readonly failed: boolean };

const MIN_UPLOAD_AGE_MS = 10 * 60_000;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RetentionError('InvalidOption', `retention sweeper option ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export class RetentionSweeper {
  private readonly everyWindows: number;
  private readonly maxDeletes: number;
  private readonly maxPages: number;
  private readonly pageSize: number;
  private readonly maxAborts: number;
  private readonly uploadAgeMs: number;
  private readonly keepCheckpoints: number;
  private readonly now: () => Date;
  private lastPass: number | null = null;
  private running: Promise<unknown> | null = null;

  constructor(private readonly o: RetentionSweeperOptions) {
    const p = o.protocol;
    this.everyWindows = positiveInt('everyWindows', o.everyWindows, 1);
    this.maxDeletes = positiveInt('maxDeletes', o.maxDeletes, 256);
    this.maxPages = positiveInt('maxPages', o.maxPages, 16);
    this.pageSize = positiveInt('pageSize', o.pageSize, 1000);
    this.maxAborts = positiveInt('maxAborts', o.maxAborts, 64);
    this.uploadAgeMs = positiveInt('uploadAgeMs', o.uploadAgeMs, Math.max(MIN_UPLOAD_AGE_MS, 2 * p.blocksPerWindow * p.blockTimeMs));
    this.keepCheckpoints = positiveInt('keepCheckpoints', o.keepCheckpoints, DEFAULT_KEPT_CHECKPOINTS);
    this.now = o.now ?? (() => new Date());
  }

  /** Whether a pass is due in `window`. */
  due(window: number): boolean {
    return this.lastPass === null || window - this.lastPass >= this.everyWindows;
  }

  /** Starts a due pass without waiting for it; skipped while one is still running. */
  sweepInBackground(window: number): void {
    if (this.running !== null || !this.due(window)) return;
    this.running = this.sweep(window).finally(() => {
      this.running = null;
    });
  }

  /** Resolves when no pass is running. */
  async idle(): Promise<void> {
    await this.running;
  }

  /** One pass for `window` (null when not due). Never rejects: failures are `retentionFailed` events. */
  async sweep(window: number): Promise<RetentionPass | null> {
    if (!this.due(window)) return null;
    this.lastPass = window;
    const t0 = performance.now();
    const objects = await this.listOwn(window);
    let deleted = 0;
    let bytesFreed = 0;
    let truncated = objects.truncated;
    let failed = objects.failed;
    for (const info of objects.expired) {
      if (deleted >= this.maxDeletes) {
        truncated = true;
        break;
      }
      try {
        await this.o.store.delete(info.key);
      } catch (err) {
        this.fail(window, 'delete', err);
        failed = true;
        break;
      }
      deleted++;
      bytesFreed += info.size;
    }
    let abortedUploads = 0;
    try {
      const cutoff = new Date(this.now().getTime() - this.uploadAgeMs);
      const r = await abortIncompleteUploads(this.o.store, cutoff, { maxAborts: this.maxAborts, maxPages: 1, pageSize: this.pageSize });
      abortedUploads = r.aborted.length;
      truncated ||= r.truncated;
    } catch (err) {
      this.fail(window, 'uploads', err);
      failed = true;
    }
    const pass: RetentionPass = { window, listed: objects.listed, deleted, bytesFreed, abortedUploads, truncated, failed };
    if (deleted === 0 && abortedUploads === 0 && !truncated) return pass;
    this.o.events.emit('retentionSwept', {
      window,
      listed: pass.listed,
      deleted,
      bytesFreed,
      abortedUploads,
      truncated,
      ms: Math.round(performance.now() - t0),
    });
    return pass;
  }

  /**
   * The expired objects among the bucket's protocol objects, in list order. The view (kept checkpoints, peer list in
   * effect) comes from the checkpoint and peer-list prefixes, listed first; when one of those lists is cut short by
   * the page budget or fails, nothing whose expiry depends on it is judged in this pass.
   */
  private async listOwn(window: number): Promise<{ expired: ObjectInfo[]; listed: number; truncated: boolean; failed: boolean }> {
    const p = this.o.protocol;
    const [gradients, debug, aggregators, peers, checkpoints] = retentionPrefixes(p.version);
    const byPrefix = new Map<string, ObjectInfo[]>();
    const complete = new Set<string>();
    let pages = 0;
    let truncated = false;
    let failed = false;
    for (const prefix of [checkpoints, peers, aggregators, gradients, debug]) {
      const infos: ObjectInfo[] = [];
      byPrefix.set(prefix, infos);
      let token: string | undefined;
      let done = false;
      try {
        while (!done && pages < this.maxPages) {
          const page = await this.o.store.list(prefix, { limit: this.pageSize, continuationToken: token });
          pages++;
          infos.push(...page.objects);
          token = page.nextToken;
          done = token === undefined;
        }
      } catch (err) {
        this.fail(window, 'list', err);
        failed = true;
        continue;
      }
      if (done) complete.add(prefix);
      else truncated = true;
    }
    const all = [...byPrefix.values()].flat();
    const view = retentionView(all.map((o) => o.key), window, p, this.keepCheckpoints);
    const judged = (prefix: string): boolean => {
      if (prefix === checkpoints || prefix === aggregators) return complete.has(checkpoints);
      if (prefix === peers) return complete.has(peers);
      return true;
    };
    const expired: ObjectInfo[] = [];
    for (const [prefix, infos] of byPrefix) {
      if (!judged(prefix)) continue;
      for (const info of infos) if (isExpired(info.key, view, p)) expired.push(info);
    }
    return { expired, listed: all.length, truncated, failed };
  }

  private fail(window: number, stage: 'list' | 'delete' | 'uploads', err: unknown): void {
    this.o.events.emit('retentionFailed', { window, stage, error: err instanceof Error ? err.message : String(err) });
  }
}
