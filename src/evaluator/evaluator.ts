/**
 * The continuous evaluator: watches a checkpoint source for published checkpoints and evaluates each new one once
 * with every task runner, appending one record per checkpoint to its history. Pending checkpoints go newest first
 * (highest window; the list is read again after each evaluation, so a checkpoint published meanwhile jumps the
 * queue): the live quality curve follows the network, and older checkpoints, which validators delete after a few
 * windows anyway, are filled in while they last. A checkpoint that cannot be evaluated (unreadable, not the body its
 * meta.json hashes, not the network's model) is refused with an `error` record, so it is not retried; a store that
 * fails for a moment only postpones it to the next look. Identical bytes evaluated before with the same settings
 * reuse those scores (honest validators publish the same model for a window).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTesseraError } from '../core/errors.ts';
import { modelFromCheckpointBytes } from '../eval/checkpoint-source.ts';
import type { EvalTaskRunner, TaskScore, TextTokenizer } from '../eval/task-runner.ts';
import { isCheckpointError } from '../model/checkpoint.ts';
import { parseCheckpointMeta } from '../protocol/checkpoint.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { isStoreError } from '../storage/errors.ts';
import { EvaluatorError } from './errors.ts';
import { errorInfo, type CheckpointRef, type ErrorInfo, type EvalHistory, type EvalRecord, type EvalSettings, type HistoryRecord } from './history.ts';
import type { EvaluatorMetrics } from './metrics.ts';
import { listPublished, type CheckpointSource, type PublishedCheckpoint } from './sources.ts';

export interface EvaluatorLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Checkpoints larger than this are refused unless told otherwise (a 1B-parameter F32 model is ~4.4 GB). */
export const DEFAULT_MAX_CHECKPOINT_BYTES = 8 * 1024 ** 3;

export interface EvaluatorOptions {
  readonly source: CheckpointSource;
  readonly runners: readonly EvalTaskRunner[];
  readonly tokenizer: TextTokenizer;
  readonly history: EvalHistory;
  /** recorded with every evaluation; `limit` also goes to every runner */
  readonly settings: EvalSettings;
  readonly batchSize?: number;
  readonly threads?: number;
  readonly maxCheckpointBytes?: number;
  readonly log: EvaluatorLog;
  readonly metrics?: EvaluatorMetrics | null;
  readonly now?: () => Date;
}

export interface RoundResult {
  readonly evaluated: number;
  readonly refused: number;
  /** postponed (the store failed for now) or gone (deleted before it was read) */
  readonly skipped: number;
}

type Outcome = 'evaluated' | 'refused' | 'skipped' | 'stopped';

class Refused extends Error {
  constructor(readonly info: ErrorInfo, readonly sha256: string | null) {
    super(info.message);
  }
}

const label = (ref: CheckpointRef): string => `${ref.node ?? ref.bucket}/${ref.key}`;

/** The order pending checkpoints are evaluated in: highest window first, then earliest published, then bucket name. */
export function newestFirst(a: PublishedCheckpoint, b: PublishedCheckpoint): number {
  return b.ref.window - a.ref.window || a.ref.publishedAt.localeCompare(b.ref.publishedAt) || a.ref.bucket.localeCompare(b.ref.bucket);
}

export class Evaluator {
  private readonly now: () => Date;
  private readonly maxBytes: number;

  constructor(private readonly o: EvaluatorOptions) {
    const names = o.runners.map((r) => r.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup !== undefined) throw new EvaluatorError('InvalidArgument', `two tasks are named ${JSON.stringify(dup)}`);
    if (o.runners.length === 0) throw new EvaluatorError('InvalidArgument', 'no tasks to evaluate');
    this.now = o.now ?? (() => new Date());
    this.maxBytes = o.maxCheckpointBytes ?? DEFAULT_MAX_CHECKPOINT_BYTES;
    for (const r of o.history.records) o.metrics?.observe(r, false);
  }

  /** Published checkpoints without a record yet, newest first. A bucket that cannot be listed now is left out. */
  async pending(): Promise<PublishedCheckpoint[]> {
    const out: PublishedCheckpoint[] = [];
    const buckets = this.o.source.buckets((message) => this.o.log.warn({ kind: 'sourceProblem' }, message));
    for (const b of buckets) {
      try {
        for (const c of await listPublished(b)) if (this.o.history.find(c.ref) === undefined) out.push(c);
      } catch (e) {
        if (!isStoreError(e)) throw e;
        this.o.log.warn({ kind: 'listFailed', bucket: b.name, validator: b.node, code: e.code }, `cannot list ${b.node ?? b.name}: ${e.message}`);
      }
    }
    out.sort(newestFirst);
    this.o.metrics?.setPending(out.length);
    return out;
  }

  /**
   * Evaluates what is pending, newest first. `relist`: look again after each checkpoint (a newer one goes next);
   * otherwise only what was there at the start (`--once`). Stops between tasks when `signal` aborts (the checkpoint
   * being evaluated then gets no record and is evaluated again next time).
   */
  async runRound(o: { relist?: boolean; signal?: AbortSignal } = {}): Promise<RoundResult> {
    const counts = { evaluated: 0, refused: 0, skipped: 0 };
    const postponed = new Set<string>();
    let queue = await this.pending();
    while (queue.length > 0 && o.signal?.aborted !== true) {
      const next = queue.shift()!;
      const outcome = await this.evaluate(next, o.signal);
      if (outcome === 'stopped') break;
      counts[outcome]++;
      if (outcome === 'skipped') postponed.add(`${next.ref.bucket}\n${next.ref.key}`);
      if (o.relist === true) queue = (await this.pending()).filter((c) => !postponed.has(`${c.ref.bucket}\n${c.ref.key}`));
      else this.o.metrics?.setPending(queue.length);
    }
    return counts;
  }

  /** Rounds every `intervalMs` until `signal` aborts. */
  async watch(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.runRound({ relist: true, signal });
      try {
        await sleep(intervalMs, undefined, { signal });
      } catch (e) {
        if ((e as Error).name !== 'AbortError') throw e;
      }
    }
  }

  /** Evaluates one checkpoint and records the result; 'skipped' when it is gone or the store failed for now. */
  async evaluate(c: PublishedCheckpoint, signal?: AbortSignal): Promise<Outcome> {
    const { ref } = c;
    const started = this.now();
    const t0 = performance.now();
    try {
      const { body, sha256, uid } = await this.download(c);
      const settings = this.o.settings;
      const names = this.o.runners.map((r) => r.name);
      const same = this.o.history.findScores(sha256, settings, names);
      let record: EvalRecord;
      if (same !== undefined) {
        record = {
          ...same, checkpoint: ref, uid, startedAt: started.toISOString(), finishedAt: this.now().toISOString(),
          seconds: (performance.now() - t0) / 1000, reusedFrom: `${same.checkpoint.bucket}/${same.checkpoint.key}`,
        };
      } else {
        const scored = await this.score(c, body, sha256, signal);
        if (scored === null) return 'stopped';
        record = {
          v: 1, kind: 'eval', checkpoint: ref, sha256, uid, globalStep: scored.globalStep, model: scored.model,
          startedAt: started.toISOString(), finishedAt: this.now().toISOString(), seconds: (performance.now() - t0) / 1000,
          settings, tasks: scored.tasks, taskSeconds: scored.taskSeconds, failed: scored.failed, reusedFrom: null,
        };
      }
      this.record(record);
      const headline = Object.fromEntries(record.tasks.map((t) => [t.task, t.metrics[t.primary]?.value]));
      this.o.log.info(
        { kind: 'checkpointEvaluated', window: ref.window, bucket: ref.bucket, validator: ref.node, seconds: round(record.seconds), scores: headline, reusedFrom: record.reusedFrom ?? undefined, failed: record.failed.length || undefined },
        `evaluated ${label(ref)} (window ${ref.window})`,
      );
      return 'evaluated';
    } catch (e) {
      if (isStoreError(e)) {
        const gone = e.code === 'NotFound';
        this.o.log[gone ? 'info' : 'warn']({ kind: 'checkpointSkipped', window: ref.window, bucket: ref.bucket, code: e.code }, `${gone ? 'gone before it was read' : 'postponed'}: ${label(ref)}: ${e.message}`);
        return 'skipped';
      }
      if (!(e instanceof Refused)) throw e;
      this.record({ v: 1, kind: 'error', checkpoint: ref, sha256: e.sha256, at: this.now().toISOString(), error: e.info });
      this.o.log.warn({ kind: 'checkpointRefused', window: ref.window, bucket: ref.bucket, validator: ref.node, code: e.info.code }, `refused ${label(ref)}: ${e.info.name} ${e.info.code}: ${e.info.message}`);
      return 'refused';
    }
  }

  private record(r: HistoryRecord): void {
    this.o.history.append(r);
    this.o.metrics?.observe(r, true);
  }

  /** The checkpoint's bytes, verified against its meta.json; a store failure propagates, anything else is Refused. */
  private async download(c: PublishedCheckpoint): Promise<{ body: Uint8Array; sha256: string; uid: number }> {
    const { ref, bucket } = c;
    const refuse = (err: unknown, sha256: string | null = null): never => {
      throw new Refused(errorInfo(err), sha256);
    };
    let meta;
    try {
      meta = parseCheckpointMeta(await bucket.store.get(c.metaKey, { maxBytes: 16_384 }), { expected: { window: ref.window, version: ref.version } });
    } catch (e) {
      if (e instanceof ProtocolError || isStoreError(e, 'TooLarge')) refuse(e);
      throw e;
    }
    if (ref.bytes > this.maxBytes) refuse(new EvaluatorError('CheckpointRefused', `${ref.bytes} bytes is more than the ${this.maxBytes} allowed (--max-checkpoint-bytes)`));
    let body: Uint8Array;
    try {
      body = await bucket.store.get(ref.key, { maxBytes: this.maxBytes });
    } catch (e) {
      if (isStoreError(e, 'TooLarge')) refuse(e);
      throw e;
    }
    const sha256 = createHash('sha256').update(body).digest('hex');
    if (sha256 !== meta.sha256) refuse(new EvaluatorError('CheckpointRefused', `model.safetensors hashes to ${sha256}, its meta.json says ${meta.sha256}`), sha256);
    return { body, sha256, uid: meta.uid };
  }

  /** Loads the model and runs every task; null when stopped between tasks. */
  private async score(c: PublishedCheckpoint, body: Uint8Array, sha256: string, signal?: AbortSignal) {
    const { ref } = c;
    let loaded;
    try {
      loaded = modelFromCheckpointBytes(body, label(ref), { threads: this.o.threads, expected: this.o.source.expectedModel ?? undefined });
    } catch (e) {
      if (isCheckpointError(e)) throw new Refused(errorInfo(e), sha256);
      throw e;
    }
    const { model, config, meta } = loaded;
    try {
      if (meta.window !== ref.window) {
        throw new Refused(errorInfo(new EvaluatorError('CheckpointRefused', `${label(ref)}: the checkpoint says window ${meta.window}, its key says ${ref.window}`)), sha256);
      }
      const tasks: TaskScore[] = [];
      const taskSeconds: Record<string, number> = {};
      const failed: { task: string; error: ErrorInfo }[] = [];
      for (const runner of this.o.runners) {
        await sleep(0); // let /metrics answer between tasks
        if (signal?.aborted === true) return null;
        const t = performance.now();
        try {
          const score = await runner.run(model, this.o.tokenizer, { limit: this.o.settings.limit ?? undefined, batchSize: this.o.batchSize });
          if (score.task !== runner.name) throw new EvaluatorError('InvalidArgument', `task runner ${runner.name} answered for task ${score.task}`);
          tasks.push(score);
          taskSeconds[runner.name] = round((performance.now() - t) / 1000);
          this.o.log.info(
            { kind: 'taskScored', window: ref.window, task: runner.name, [score.primary]: score.metrics[score.primary]?.value, n: score.n, seconds: taskSeconds[runner.name] },
            `${runner.name}: ${score.primary} ${fmt(score.metrics[score.primary]?.value)} (n ${score.n})`,
          );
        } catch (e) {
          if (!isTesseraError(e)) throw e;
          failed.push({ task: runner.name, error: errorInfo(e) });
          this.o.log.warn({ kind: 'taskFailed', window: ref.window, task: runner.name, code: e.code }, `${runner.name} failed on ${label(ref)}: ${e.message}`);
        }
      }
      return { tasks, taskSeconds, failed, model: config.name, globalStep: meta.globalStep };
    } finally {
      model.dispose();
    }
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
const fmt = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? String(x) : x.toFixed(4));
