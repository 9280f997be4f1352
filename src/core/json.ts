/**
 * Strict reading of JSON documents and config files: input is size-capped before decoding, must be UTF-8 and a
 * JSON object, and fields are read through `JsonFields`, whose readers throw the caller's typed error naming the
 * document and the field. Unknown keys are refused by name.
 */
import { readFileSync } from 'node:fs';

export const DEFAULT_MAX_JSON_BYTES = 1 << 20;

export type JsonInput = Uint8Array | string;

/** Builds the caller's typed error; `kind` says whether the input was too large or malformed. */
export type JsonErrorFactory = (kind: 'TooLarge' | 'Malformed', message: string, cause?: unknown) => Error;

export interface ReadJsonOptions {
  /** Refuse larger input; default 1 MiB. */
  readonly maxBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/**
 * Decodes (size cap, UTF-8) and parses `input`: any JSON value, or the factory's error naming `what`. For answers
 * whose shape the caller checks itself; documents are objects (parseJsonObject) or arrays (parseJsonArray).
 */
export function parseJsonValue(input: JsonInput, what: string, fail: JsonErrorFactory, options?: ReadJsonOptions): unknown {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
  let text: string;
  if (typeof input === 'string') {
    // UTF-16 length ≤ UTF-8 byte length ≤ 3 × UTF-16 length: cheap pre-check before measuring.
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) throw fail('TooLarge', `${what} exceeds ${maxBytes} bytes`);
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) throw fail('TooLarge', `${what} is ${input.byteLength} bytes; the limit is ${maxBytes}`);
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw fail('Malformed', `${what} is not valid UTF-8`, cause);
    }
  } else {
    throw fail('Malformed', `${what} must be bytes or a string`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw fail('Malformed', `${what} is not valid JSON: ${(cause as Error).message}`, cause);
  }
}

/** Decodes and parses `input`; the result is a plain JSON object, or the factory's error naming `what`. */
export function parseJsonObject(input: JsonInput, what: string, fail: JsonErrorFactory, options?: ReadJsonOptions): Record<string, unknown> {
  const value = parseJsonValue(input, what, fail, options);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail('Malformed', `${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** Decodes and parses `input`; the result is a JSON array (entries unchecked), or the factory's error naming `what`. */
export function parseJsonArray(input: JsonInput, what: string, fail: JsonErrorFactory, options?: ReadJsonOptions): unknown[] {
  const value = parseJsonValue(input, what, fail, options);
  if (!Array.isArray(value)) throw fail('Malformed', `${what} must be a JSON array`);
  return value;
}

export interface ReadJsonLinesOptions extends ReadJsonOptions {
  /**
   * Skip a last line that is not valid JSON and has no newline after it: the line a writer was appending when it
   * crashed (or is appending now). Default false.
   */
  readonly allowTornLastLine?: boolean;
}

/**
 * A JSON-lines stream (one object per line, empty lines skipped, `maxBytes` capping the whole input): the objects
 * in order, or the factory's error naming `what` and the line.
 */
export function parseJsonLines(input: JsonInput, what: string, fail: JsonErrorFactory, options?: ReadJsonLinesOptions): Record<string, unknown>[] {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_JSON_BYTES;
  let text: string;
  if (typeof input === 'string') {
    text = input;
    if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) throw fail('TooLarge', `${what} exceeds ${maxBytes} bytes`);
  } else {
    if (input.byteLength > maxBytes) throw fail('TooLarge', `${what} is ${input.byteLength} bytes; the limit is ${maxBytes}`);
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw fail('Malformed', `${what} is not valid UTF-8`, cause);
    }
  }
  const lines = text.split('\n');
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].length === 0) continue;
    const torn = i === lines.length - 1 && options?.allowTornLastLine === true;
    const value = parseJsonLine(lines[i], `${what} line ${i + 1}`, torn ? tornLine : fail);
    if (value !== null) out.push(value);
  }
  return out;
}

/** What a torn last line throws; never leaves parseJsonLine. */
const TORN_LINE = new Error('torn last line');
const tornLine: JsonErrorFactory = () => TORN_LINE;

function parseJsonLine(line: string, what: string, fail: JsonErrorFactory): Record<string, unknown> | null {
  try {
    return parseJsonObject(line, what, fail, { maxBytes: Number.MAX_SAFE_INTEGER });
  } catch (err) {
    // the last line without its newline is still being written (or was, when the writer crashed)
    if (err === TORN_LINE) return null;
    throw err;
  }
}

/** Reads and parses a JSON object file; a missing or unreadable file is the factory's Malformed error naming the path. */
export function readJsonObjectFile(path: string, what: string, fail: JsonErrorFactory, options?: ReadJsonOptions): Record<string, unknown> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw fail('Malformed', `cannot read ${what} ${path}: ${(cause as Error).message}`, cause);
  }
  return parseJsonObject(bytes, `${what} ${path}`, fail, options);
}

/** Field readers bound to one JSON object: each failure throws the factory's Malformed error naming the document and the field. */
export class JsonFields {
  constructor(
    readonly obj: Record<string, unknown>,
    readonly what: string,
    private readonly failWith: JsonErrorFactory,
  ) {}

  fail(message: string): never {
    throw this.failWith('Malformed', `${this.what}: ${message}`);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.obj, key) && this.obj[key] !== undefined;
  }

  /** Exactly these keys: none missing, none extra. */
  exactKeys(keys: readonly string[]): this {
    for (const k of keys) if (!Object.hasOwn(this.obj, k)) this.fail(`missing field ${JSON.stringify(k)}`);
    return this.allowedKeys(keys);
  }

  /** No key outside `keys` (missing ones are allowed). */
  allowedKeys(keys: readonly string[]): this {
    for (const k of Object.keys(this.obj)) if (!keys.includes(k)) this.fail(`unknown field ${JSON.stringify(k)} (allowed: ${keys.join(', ')})`);
    return this;
  }

  int(key: string, lo = 0, hi = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) this.fail(`${key} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  }

  finite(key: string, lo = -Number.MAX_VALUE, hi = Number.MAX_VALUE): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) this.fail(`${key} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string): boolean {
    const v = this.obj[key];
    if (typeof v !== 'boolean') this.fail(`${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  string(key: string, pattern?: RegExp): string {
    const v = this.obj[key];
    if (typeof v !== 'string' || (pattern !== undefined && !pattern.test(v))) this.fail(`${key} is not a valid string: ${JSON.stringify(v)}`);
    return v;
  }

  /** One of `choices`. */
  oneOf<T extends string>(key: string, choices: readonly T[]): T {
    const v = this.obj[key];
    if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) this.fail(`${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  /** A nested object, read with its own field readers (its name is `<what>.<key>`). */
  object(key: string): JsonFields {
    const v = this.obj[key];
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(`${key} must be an object`);
    return new JsonFields(v as Record<string, unknown>, `${this.what}.${key}`, this.failWith);
  }

  /** Distinct integers in [lo, hi], at most maxLength of them. */
  uniqueInts(key: string, lo: number, hi: number, maxLength: number): number[] {
    const v = this.array(key, maxLength);
    const seen = new Set<number>();
    for (const x of v) {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < lo || x > hi) this.fail(`${key} holds ${JSON.stringify(x)}, not an integer in [${lo}, ${hi}]`);
      if (seen.has(x)) this.fail(`${key} repeats ${x}`);
      seen.add(x);
    }
    return v as number[];
  }

  array(key: string, maxLength: number): unknown[] {
    const v = this.obj[key];
    if (!Array.isArray(v)) this.fail(`${key} must be an array`);
    if (v.length > maxLength) this.fail(`${key} has ${v.length} entries; at most ${maxLength} allowed`);
    return v;
  }
}
