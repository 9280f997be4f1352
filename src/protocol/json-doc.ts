/**
 * Strict reading of the small JSON documents peers publish (peer lists, start window, checkpoint pointers,
 * aggregator manifests). Input is untrusted: size-capped before decoding, exact key sets, typed fields.
 */
import { ProtocolError, type ProtocolErrorCode } from './errors.ts';

export const DEFAULT_MAX_DOC_BYTES = 1 << 20;

export type JsonInput = Uint8Array | string;

export interface ParseDocOptions {
  /** Refuse larger input (TooLarge); default 1 MiB. */
  readonly maxBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function encodeDoc(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Decodes and JSON-parses; the result is a plain object or an InvalidX error of `code`. */
export function readObject(input: JsonInput, code: ProtocolErrorCode, what: string, options?: ParseDocOptions): Record<string, unknown> {
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_DOC_BYTES;
  let text: string;
  if (typeof input === 'string') {
    // UTF-16 length ≤ UTF-8 byte length ≤ 3 × UTF-16 length: cheap pre-check before measuring.
    if (input.length > maxBytes || Buffer.byteLength(input, 'utf8') > maxBytes) {
      throw new ProtocolError('TooLarge', `${what} exceeds ${maxBytes} bytes`);
    }
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) throw new ProtocolError('TooLarge', `${what} is ${input.byteLength} bytes; the limit is ${maxBytes}`);
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw new ProtocolError(code, `${what} is not valid UTF-8`, { cause });
    }
  } else {
    throw new ProtocolError(code, `${what} must be bytes or a string`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError(code, `${what} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ProtocolError(code, `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Field readers bound to one document: each throws `code` naming the document and the field. */
export class DocReader {
  constructor(
    private readonly obj: Record<string, unknown>,
    private readonly code: ProtocolErrorCode,
    private readonly what: string,
  ) {}

  fail(message: string): never {
    throw new ProtocolError(this.code, `${this.what}: ${message}`);
  }

  /** Exactly these keys: none missing, none extra. */
  exactKeys(keys: readonly string[]): this {
    for (const k of keys) if (!Object.hasOwn(this.obj, k)) this.fail(`missing field ${JSON.stringify(k)}`);
    for (const k of Object.keys(this.obj)) if (!keys.includes(k)) this.fail(`unknown field ${JSON.stringify(k)}`);
    return this;
  }

  int(key: string, lo = 0, hi = Number.MAX_SAFE_INTEGER): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) {
      this.fail(`${key} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    }
    return v;
  }

  finite(key: string, lo = -Number.MAX_VALUE, hi = Number.MAX_VALUE): number {
    const v = this.obj[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) this.fail(`${key} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string): boolean {
    const v = this.obj[key];
    if (typeof v !== 'boolean') this.fail(`${key} must be a boolean, got ${JSON.stringify(v)}`);
    return v;
  }

  string(key: string, pattern?: RegExp): string {
    const v = this.obj[key];
    if (typeof v !== 'string' || (pattern !== undefined && !pattern.test(v))) this.fail(`${key} is not a valid string: ${JSON.stringify(v)}`);
    return v;
  }

  /** Distinct integers in [lo, hi], at most maxLength of them. */
  uniqueInts(key: string, lo: number, hi: number, maxLength: number): number[] {
    const v = this.obj[key];
    if (!Array.isArray(v)) this.fail(`${key} must be an array`);
    if (v.length > maxLength) this.fail(`${key} has ${v.length} entries; at most ${maxLength} allowed`);
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
