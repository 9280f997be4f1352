/**
 * The continuous evaluator's history: one JSON record per line (`<run-dir>/eval/history.jsonl`), one per published
 * checkpoint it looked at: its scores (`eval`) or why it was refused (`error`). Each record is appended with one
 * write and fsynced, so a crash can only leave a torn last line; opening the history drops such a line (with a
 * warning) before anything is appended after it. Any other line that is not a record makes the history invalid:
 * the evaluator refuses to append to a file it cannot read back.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { JsonFields, parseJsonObject, type JsonErrorFactory } from '../core/json.ts';
import type { Metric } from '../eval/multiple-choice.ts';
import type { TaskKind, TaskScore } from '../eval/task-runner.ts';
import { JsonlTail } from '../obs/jsonl-tail.ts';
import { EvaluatorError } from './errors.ts';

export const HISTORY_FORMAT_VERSION = 1;
/** A record is far below this; a longer line is not one. */
export const MAX_RECORD_BYTES = 1 << 20;
const MAX_TASKS = 256;
const MAX_METRICS = 64;
const TASK_KINDS: readonly TaskKind[] = ['perplexity', 'multiple-choice', 'generation', 'instruction'];

/** Which published checkpoint a record is about: a bucket's object, as listed when it was picked up. */
export interface CheckpointRef {
  /** the bucket's name */
  readonly bucket: string;
  /** the node that owns the bucket, when the source knows it (a local run's `nodes/<name>`) */
  readonly node: string | null;
  /** `checkpoints/<version>/<window>/model.safetensors` */
  readonly key: string;
  readonly version: string;
  readonly window: number;
  /** the store's etag of the object: a checkpoint replaced under the same key is a new one */
  readonly etag: string;
  readonly bytes: number;
  /** when the store received it (ISO 8601) */
  readonly publishedAt: string;
}

export interface ErrorInfo {
  readonly name: string;
  readonly code: string;
  readonly message: string;
}

export interface EvalSettings {
  /** examples per task (null: all) */
  readonly limit: number | null;
  /** validation tokens scored for perplexity */
  readonly maxTokens: number;
}

export interface EvalRecord {
  readonly v: 1;
  readonly kind: 'eval';
  readonly checkpoint: CheckpointRef;
  /** sha256 of model.safetensors (verified against its meta.json) */
  readonly sha256: string;
  /** the validator uid its meta.json names */
  readonly uid: number;
  readonly globalStep: number;
  /** model config name */
  readonly model: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly settings: EvalSettings;
  readonly tasks: readonly TaskScore[];
  readonly taskSeconds: Readonly<Record<string, number>>;
  /** tasks that failed on this checkpoint (a runner's typed error), not scored */
  readonly failed: readonly { readonly task: string; readonly error: ErrorInfo }[];
  /** `<bucket>/<key>` of an earlier record of the same bytes and settings whose scores this one repeats */
  readonly reusedFrom: string | null;
}

export interface ErrorRecord {
  readonly v: 1;
  readonly kind: 'error';
  readonly checkpoint: CheckpointRef;
  /** null when the body was not read (its metadata was refused first) */
  readonly sha256: string | null;
  readonly at: string;
  readonly error: ErrorInfo;
}

export type HistoryRecord = EvalRecord | ErrorRecord;

/** A checkpoint is evaluated once: the same bucket, key and etag. */
export function checkpointIdentity(ref: Pick<CheckpointRef, 'bucket' | 'key' | 'etag'>): string {
  return `${ref.bucket}\n${ref.key}\n${ref.etag}`;
}

export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === 'string' ? code : 'Unknown', message: err.message };
  }
  return { name: 'Error', code: 'Unknown', message: String(err) };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** Exactly the TaskScore fields (a runner's extra fields are not history); non-finite metrics are written as null. */
function taskJson(t: TaskScore): Record<string, unknown> {
  const metrics = Object.fromEntries(Object.entries(t.metrics).map(([k, m]) => [k, { value: finiteOrNull(m.value), stderr: finiteOrNull(m.stderr) }]));
  return { task: t.task, kind: t.kind, n: t.n, primary: t.primary, metrics };
}

/** One line (with its newline). */
export function encodeRecord(r: HistoryRecord): string {
  const json = r.kind === 'eval' ? { ...r, tasks: r.tasks.map(taskJson) } : r;
  return JSON.stringify(json) + '\n';
}

const fail: JsonErrorFactory = (_kind, message, cause) => new EvaluatorError('HistoryInvalid', message, { cause });
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const SHA256 = /^[0-9a-f]{64}$/;

function numberOrNaN(f: JsonFields, key: string): number {
  const v = f.obj[key];
  if (v === null) return NaN;
  return f.finite(key);
}

function readError(f: JsonFields): ErrorInfo {
  f.exactKeys(['name', 'code', 'message']);
  return { name: f.string('name'), code: f.string('code'), message: f.string('message') };
}

function readRef(f: JsonFields): CheckpointRef {
  f.exactKeys(['bucket', 'node', 'key', 'version', 'window', 'etag', 'bytes', 'publishedAt']);
  return {
    bucket: f.string('bucket', /^.{1,255}$/),
    node: f.obj.node === null ? null : f.string('node', /^.{1,255}$/),
    key: f.string('key', /^checkpoints\//),
    version: f.string('version'),
    window: f.int('window'),
    etag: f.string('etag'),
    bytes: f.int('bytes'),
    publishedAt: f.string('publishedAt', ISO),
  };
}

function readTask(v: unknown, what: string): TaskScore {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw fail('Malformed', `${what} must be an object`);
  const f = new JsonFields(v as Record<string, unknown>, what, fail).exactKeys(['task', 'kind', 'n', 'primary', 'metrics']);
  const m = f.object('metrics');
  const names = Object.keys(m.obj);
  if (names.length > MAX_METRICS) m.fail(`has ${names.length} metrics; at most ${MAX_METRICS}`);
  const metrics: Record<string, Metric> = {};
  for (const name of names) {
    const e = m.object(name).exactKeys(['value', 'stderr']);
    metrics[name] = { value: numberOrNaN(e, 'value'), stderr: numberOrNaN(e, 'stderr') };
  }
  const primary = f.string('primary');
  if (!(primary in metrics)) f.fail(`primary ${JSON.stringify(primary)} is not one of its metrics`);
  return { task: f.string('task', /^.{1,255}$/), kind: f.oneOf('kind', TASK_KINDS), n: f.int('n'), primary, metrics };
}

function readSeconds(f: JsonFields): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(f.obj)) out[k] = f.finite(k, 0);
  return out;
}

/** Parses one line strictly; EvaluatorError HistoryInvalid naming `what` and the field. */
export function parseRecord(line: string, what: string): HistoryRecord {
  const f = new JsonFields(parseJsonObject(line, what, fail, { maxBytes: MAX_RECORD_BYTES }), what, fail);
  if (f.obj.v !== HISTORY_FORMAT_VERSION) f.fail(`v must be ${HISTORY_FORMAT_VERSION}, got ${JSON.stringify(f.obj.v)}`);
  const kind = f.oneOf('kind', ['eval', 'error'] as const);
  if (kind === 'error') {
    f.exactKeys(['v', 'kind', 'checkpoint', 'sha256', 'at', 'error']);
    return {
      v: 1, kind, checkpoint: readRef(f.object('checkpoint')),
      sha256: f.obj.sha256 === null ? null : f.string('sha256', SHA256), at: f.string('at', ISO), error: readError(f.object('error')),
    };
  }
  f.exactKeys(['v', 'kind', 'checkpoint', 'sha256', 'uid', 'globalStep', 'model', 'startedAt', 'finishedAt', 'seconds', 'settings', 'tasks', 'taskSeconds', 'failed', 'reusedFrom']);
  const s = f.object('settings').exactKeys(['limit', 'maxTokens']);
  const failed = f.array('failed', MAX_TASKS).map((x, i) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) f.fail(`failed[${i}] must be an object`);
    const e = new JsonFields(x as Record<string, unknown>, `${what}.failed[${i}]`, fail).exactKeys(['task', 'error']);
    return { task: e.string('task'), error: readError(e.object('error')) };
  });
  return {
    v: 1,
    kind,
    checkpoint: readRef(f.object('checkpoint')),
    sha256: f.string('sha256', SHA256),
    uid: f.int('uid'),
    globalStep: f.int('globalStep'),
    model: f.string('model', /^.{1,255}$/),
    startedAt: f.string('startedAt', ISO),
    finishedAt: f.string('finishedAt', ISO),
    seconds: f.finite('seconds', 0),
    settings: { limit: s.obj.limit === null ? null : s.int('limit', 1), maxTokens: s.int('maxTokens', 1) },
    tasks: f.array('tasks', MAX_TASKS).map((t, i) => readTask(t, `${what}.tasks[${i}]`)),
    taskSeconds: readSeconds(f.object('taskSeconds')),
    failed,
    reusedFrom: f.obj.reusedFrom === null ? null : f.string('reusedFrom'),
  };
}

export interface OpenHistoryOptions {
  /** told about a torn last line that was dropped */
  readonly onWarning?: (message: string) => void;
}

/** The history file of one evaluator: its records so far, and appends. */
export class EvalHistory {
  private readonly byIdentity = new Map<string, HistoryRecord>();
  private readonly list: HistoryRecord[] = [];

  private constructor(readonly path: string) {}

  /**
   * Reads the history (a missing file is an empty one). A last line without its newline is a crash's torn append:
   * kept (and completed) when it is a whole record, otherwise cut off with a warning.
   */
  static open(path: string, o: OpenHistoryOptions = {}): EvalHistory {
    const h = new EvalHistory(path);
    if (!existsSync(path)) return h;
    let bytes: Buffer = readFileSync(path);
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) bytes = h.repairTail(bytes, o);
    const lines = bytes.toString('utf8').split('\n');
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      h.remember(parseRecord(line, `${path} line ${i + 1}`));
    });
    return h;
  }

  private repairTail(bytes: Buffer, o: OpenHistoryOptions): Buffer {
    const cut = bytes.lastIndexOf(0x0a) + 1;
    const tail = bytes.subarray(cut).toString('utf8');
    const lineNo = bytes.subarray(0, cut).toString('utf8').split('\n').length;
    let whole = false;
    try {
      parseRecord(tail, `${this.path} line ${lineNo}`);
      whole = true;
    } catch (e) {
      if (!(e instanceof EvaluatorError)) throw e;
    }
    const fd = openSync(this.path, 'r+');
    try {
      if (whole) {
        writeSync(fd, '\n', bytes.length);
      } else {
        ftruncateSync(fd, cut);
        o.onWarning?.(`${this.path} line ${lineNo}: dropped a torn last line (${bytes.length - cut} bytes, an append cut short by a crash)`);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return whole ? Buffer.concat([bytes, Buffer.from('\n')]) : bytes.subarray(0, cut);
  }

  private remember(r: HistoryRecord): void {
    this.list.push(r);
    this.byIdentity.set(checkpointIdentity(r.checkpoint), r);
  }

  get records(): readonly HistoryRecord[] {
    return this.list;
  }

  /** The record of this checkpoint, if it was already evaluated (or refused). */
  find(ref: Pick<CheckpointRef, 'bucket' | 'key' | 'etag'>): HistoryRecord | undefined {
    return this.byIdentity.get(checkpointIdentity(ref));
  }

  /** An evaluation of the same bytes with the same settings and tasks, whose scores can be reused. */
  findScores(sha256: string, settings: EvalSettings, tasks: readonly string[]): EvalRecord | undefined {
    const want = tasks.join('\n');
    return this.list.find((r): r is EvalRecord =>
      r.kind === 'eval' && r.sha256 === sha256 && r.failed.length === 0 && r.settings.limit === settings.limit &&
      r.settings.maxTokens === settings.maxTokens && r.tasks.map((t) => t.task).join('\n') === want);
  }

  /** Appends one record: a single write of the whole line, then fsync. */
  append(r: HistoryRecord): void {
    const line = Buffer.from(encodeRecord(r), 'utf8');
    mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, 'a');
    try {
      let at = 0;
      while (at < line.length) at += writeSync(fd, line, at, line.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.remember(r);
  }
}

export interface HistoryView {
  readonly path: string;
  /** the newest records (at most `maxRecords`), in file order */
  readonly records: readonly HistoryRecord[];
  readonly skipped: { readonly malformed: number; readonly oversized: number };
}

/**
 * Follows a history file that an evaluator may be appending to (the dashboard): each `poll()` reads what was
 * appended; a partial last line waits for its newline; lines that are not records are counted and skipped.
 */
export class HistoryFollower {
  private readonly tail: JsonlTail;
  private list: HistoryRecord[] = [];
  private malformed = 0;
  private oversized = 0;
  private lineNo = 0;

  constructor(readonly path: string, private readonly maxRecords = 10_000) {
    this.tail = new JsonlTail(path, { maxLineBytes: MAX_RECORD_BYTES, maxReadBytes: 16 << 20 });
  }

  /** Returns whether anything changed. */
  poll(): boolean {
    let changed = false;
    for (;;) {
      const r = this.tail.read();
      if (r.reset) {
        this.list = [];
        this.malformed = 0;
        this.oversized = 0;
        this.lineNo = 0;
        changed = true;
      }
      this.oversized += r.oversized;
      for (const line of r.lines) {
        this.lineNo++;
        try {
          this.list.push(parseRecord(line, `${this.path} line ${this.lineNo}`));
        } catch (e) {
          if (!(e instanceof EvaluatorError)) throw e;
          this.malformed++;
        }
      }
      if (r.lines.length > 0 || r.oversized > 0) changed = true;
      if (!r.more) break;
    }
    if (this.list.length > this.maxRecords) this.list = this.list.slice(-this.maxRecords);
    return changed;
  }

  view(): HistoryView {
    return { path: this.path, records: this.list, skipped: { malformed: this.malformed, oversized: this.oversized } };
  }
}
