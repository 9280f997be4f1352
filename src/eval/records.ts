/**
 * Reading evaluation data as the public benchmarks ship it: JSONL (one object a line), Parquet (Hugging Face
 * datasets; hyparquet with every codec of hyparquet-compressors) and CSV (RFC 4180: quoted fields, "" escapes,
 * newlines inside quotes). Every record remembers where it came from ("file line 7", "file row 3") so a bad
 * field is reported there; `fieldsOf` reads typed fields with such errors.
 */
import { readFileSync, statSync } from 'node:fs';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { parseJsonObject } from '../core/json.ts';
import { EvalError } from './errors.ts';

/** Evaluation files larger than this are refused (the MMLU test split is 4 MB, GSM8K's 0.7 MB). */
export const MAX_EVAL_FILE_BYTES = 128 * 1024 * 1024;

export interface SourcedRecord {
  readonly value: Readonly<Record<string, unknown>>;
  /** e.g. "data/gsm8k.jsonl line 7" */
  readonly where: string;
}

function invalid(message: string, cause?: unknown): EvalError {
  return new EvalError('TaskInvalid', message, cause === undefined ? undefined : { cause });
}

export function readEvalFile(path: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (cause) {
    throw new EvalError('TaskNotFound', `task file ${path} not found`, { cause });
  }
  if (size > MAX_EVAL_FILE_BYTES) throw invalid(`${path}: ${size} bytes exceeds the ${MAX_EVAL_FILE_BYTES}-byte limit`);
  return readFileSync(path);
}

export function parseJsonlRecords(text: string, path: string): SourcedRecord[] {
  const out: SourcedRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const where = `${path} line ${i + 1}`;
    const value = parseJsonObject(line, where, (_k, message, cause) => invalid(message, cause), { maxBytes: MAX_EVAL_FILE_BYTES });
    out.push({ value, where });
  });
  return out;
}

/** Parquet integers arrive as bigint (INT64) and strings may be nested in lists; numbers that fit become numbers. */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

export async function parseParquetRecords(bytes: Uint8Array, path: string): Promise<SourcedRecord[]> {
  let rows: Record<string, unknown>[];
  try {
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    rows = await parquetReadObjects({ file, compressors });
  } catch (cause) {
    throw invalid(`${path}: not a readable parquet file (${(cause as Error).message})`, cause);
  }
  return rows.map((r, i) => ({ value: plain(r) as Record<string, unknown>, where: `${path} row ${i + 1}` }));
}

/** JSONL or Parquet by extension (.jsonl/.json lines, .parquet). */
export async function readRecords(path: string): Promise<SourcedRecord[]> {
  const bytes = readEvalFile(path);
  if (path.endsWith('.parquet')) return parseParquetRecords(bytes, path);
  if (path.endsWith('.jsonl') || path.endsWith('.json')) return parseJsonlRecords(bytes.toString('utf8'), path);
  throw invalid(`${path}: unknown file type (expected .jsonl, .parquet or .csv)`);
}

export interface CsvRow {
  readonly cells: readonly string[];
  /** 1-based line the record starts on */
  readonly line: number;
}

/** RFC 4180 CSV; blank lines are skipped. */
export function parseCsv(text: string, path: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  let afterQuote = false;
  let any = false;
  const endRow = (): void => {
    if (any || cells.length > 0 || cell !== '') rows.push({ cells: [...cells, cell], line: start });
    cells = [];
    cell = '';
    any = false;
  };
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
          afterQuote = true;
        }
      } else {
        if (c === '\n') line++;
        cell += c;
      }
      continue;
    }
    if (c === '"') {
      if (cell !== '' || afterQuote) throw invalid(`${path} line ${line}: a quote inside an unquoted field`);
      quoted = true;
      any = true;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      afterQuote = false;
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      endRow();
      afterQuote = false;
      line++;
      start = line;
    } else {
      if (afterQuote) throw invalid(`${path} line ${line}: text after a closing quote`);
      cell += c;
    }
  }
  if (quoted) throw invalid(`${path} line ${start}: a quoted field is never closed`);
  endRow();
  return rows;
}

/** Typed field access with errors naming the record and the field. */
export class Fields {
  constructor(private readonly r: SourcedRecord) {}

  get where(): string {
    return this.r.where;
  }

  fail(field: string, why: string): EvalError {
    return invalid(`${this.r.where}: field "${field}" ${why}`);
  }

  has(field: string): boolean {
    return this.r.value[field] !== undefined && this.r.value[field] !== null;
  }

  raw(field: string): unknown {
    return this.r.value[field];
  }

  string(field: string, opts: { allowEmpty?: boolean } = {}): string {
    const v = this.r.value[field];
    if (v === undefined || v === null) throw this.fail(field, 'is missing');
    if (typeof v !== 'string') throw this.fail(field, `must be a string, got ${typeName(v)}`);
    if (!opts.allowEmpty && v.trim() === '') throw this.fail(field, 'is empty');
    return v;
  }

  stringList(field: string, min = 1): string[] {
    const v = this.r.value[field];
    if (v === undefined || v === null) throw this.fail(field, 'is missing');
    if (!Array.isArray(v)) throw this.fail(field, `must be a list of strings, got ${typeName(v)}`);
    if (v.length < min) throw this.fail(field, `must have at least ${min} entries, got ${v.length}`);
    v.forEach((x, i) => {
      if (typeof x !== 'string') throw this.fail(`${field}[${i}]`, `must be a string, got ${typeName(x)}`);
    });
    return v as string[];
  }
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)?.slice(0, 40)}`;
}
