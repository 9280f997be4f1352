/**
 * Protocol versions: a strict `major.minor.patch` string embedded in every object key (a version bump is a new
 * key namespace) and its integer weights version key, bittensor's `version_as_int` = major·10⁶ + minor·10³ + patch.
 */
import { ProtocolError } from './errors.ts';

export interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** The source of a version inside keys: no leading zeros, no pre-release or build suffix. */
export const VERSION_PATTERN = '(?:0|[1-9][0-9]{0,8})\\.(?:0|[1-9][0-9]{0,2})\\.(?:0|[1-9][0-9]{0,2})';
const VERSION_RE = new RegExp(`^${VERSION_PATTERN}$`);

export function parseVersion(text: string): Version {
  if (typeof text !== 'string' || !VERSION_RE.test(text)) {
    throw new ProtocolError(
      'InvalidVersion',
      `version ${JSON.stringify(text)} is not major.minor.patch (no leading zeros, minor and patch below 1000)`,
    );
  }
  const [major, minor, patch] = text.split('.').map(Number);
  return { major, minor, patch };
}

export function isValidVersion(text: string): boolean {
  return typeof text === 'string' && VERSION_RE.test(text);
}

export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

/** The u64 `version_key` passed with set_weights: major·1_000_000 + minor·1_000 + patch. */
export function versionKey(text: string): number {
  const v = parseVersion(text);
  return v.major * 1_000_000 + v.minor * 1_000 + v.patch;
}

/** Negative, zero or positive like Array.prototype.sort expects. */
export function compareVersions(a: string, b: string): number {
  return versionKey(a) - versionKey(b);
}
