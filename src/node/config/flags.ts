/** Command-line values of a node or a local network: a bad one is a NodeConfigError naming the flag. */
import { NodeConfigError } from './errors.ts';

/** An integer flag in [lo, hi] (decimal digits; code may pass a number). */
export function parseIntFlag(flag: string, value: string | number, lo = 0, hi = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'number' ? value : /^-?\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= lo && n <= hi)) {
    throw new NodeConfigError('InvalidField', `${flag} must be an integer in [${lo}, ${hi}], got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A finite number flag in [lo, hi]. */
export function parseNumberFlag(flag: string, value: string | number, lo: number, hi: number): number {
  const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
  if (!(Number.isFinite(n) && n >= lo && n <= hi)) {
    throw new NodeConfigError('InvalidField', `${flag} must be a number in [${lo}, ${hi}], got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A miner's relative speed for testing peers of different speed: a number in (0, 1]. */
export function parseSpeedFlag(flag: string, value: string | number): number {
  const n = typeof value === 'number' ? value : value.trim() === '' ? Number.NaN : Number(value);
  if (!(Number.isFinite(n) && n > 0 && n <= 1)) throw new NodeConfigError('InvalidField', `${flag} must be a number in (0, 1], got ${JSON.stringify(value)}`);
  return n;
}
