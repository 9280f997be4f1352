import { StoreError } from './errors.ts';
import { MAX_LIST_LIMIT, type ByteRange, type ListOptions } from './types.ts';

/** S3's own limit on key length. */
export const MAX_KEY_BYTES = 1024;

// Control characters, backslash and lone UTF-16 surrogates (which have no UTF-8 form).
const FORBIDDEN = /[\u0000-\u001f\u007f\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkText(what: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== 'string') throw new StoreError('InvalidKey', `${what} must be a string`);
  if (!allowEmpty && value.length === 0) throw new StoreError('InvalidKey', `${what} must not be empty`);
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new StoreError('InvalidKey', `${what} is ${bytes} bytes; the limit is ${MAX_KEY_BYTES}`);
  }
  const bad = FORBIDDEN.exec(value);
  if (bad) {
    const cp = bad[0].codePointAt(0)!.toString(16).padStart(4, '0');
    throw new StoreError('InvalidKey', `${what} ${JSON.stringify(value)} contains a forbidden character (U+${cp})`);
  }
  if (value.startsWith('/')) throw new StoreError('InvalidKey', `${what} ${JSON.stringify(value)} must not start with '/'`);
  return value;
}

/**
 * Keys are relative, '/'-separated paths: 1..1024 UTF-8 bytes, no control characters or backslashes,
 * no leading '/', no empty, '.' or '..' segments. Throws InvalidKey; returns the key.
 */
export function validateKey(key: unknown): string {
  const k = checkText('key', key, false);
  for (const segment of k.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new StoreError('InvalidKey', `key ${JSON.stringify(k)} has an empty, '.' or '..' segment`);
    }
  }
  return k;
}

/** A list prefix: like a key but may be empty, end with '/', or end in a partial segment. */
export function validatePrefix(prefix: unknown): string {
  const p = checkText('prefix', prefix, true);
  const segments = p.split('/');
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i];
    const last = i === segments.length - 1;
    if ((s === '' && !last) || s === '..' || (s === '.' && !last)) {
      throw new StoreError('InvalidKey', `prefix ${JSON.stringify(p)} has an empty, '.' or '..' segment`);
    }
  }
  return p;
}

/** Order of the keys' UTF-8 bytes (S3's listing order), which is code-point order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function validateRange(range: ByteRange): ByteRange {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new StoreError('InvalidRange', `byte range [${start}, ${end}) is not 0 <= start <= end`);
  }
  return range;
}

/** Resolves a requested range against the object's size (end clipped); throws InvalidRange past the end. */
export function clipRange(range: ByteRange, size: number): ByteRange {
  if (range.start === range.end) return { start: Math.min(range.start, size), end: Math.min(range.start, size) };
  if (range.start >= size) {
    throw new StoreError('InvalidRange', `byte range starts at ${range.start} but the object has ${size} bytes`);
  }
  return { start: range.start, end: Math.min(range.end, size) };
}

export function validateLimit(options: ListOptions | undefined): number {
  const limit = options?.limit ?? MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new StoreError('InvalidArgument', `list limit must be an integer in 1..${MAX_LIST_LIMIT}, got ${limit}`);
  }
  return limit;
}

export function validateMaxBytes(maxBytes: number | undefined, fallback: number): number {
  const m = maxBytes ?? fallback;
  if (!Number.isSafeInteger(m) || m < 0) throw new StoreError('InvalidArgument', `maxBytes must be a non-negative integer, got ${m}`);
  return m;
}

export function tooLarge(key: string, size: number, maxBytes: number): StoreError {
  return new StoreError('TooLarge', `object ${JSON.stringify(key)} is ${size} bytes; the caller allows at most ${maxBytes}`);
}
