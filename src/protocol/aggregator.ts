/**
 * The leader's aggregator manifest `aggregator-{w}-v{ver}`: the canonical set of payloads whose outer step defines
 * window w's update. Everyone applies exactly these payloads (downloaded from each miner's bucket, verified against
 * size and SHA-256), in ascending uid order.
 *   { "window": int, "version": str, "entries": [{ "uid", "key", "size", "sha256" }…], "skipped_uids": [uid…] }
 */
import { ProtocolError } from './errors.ts';
import { DocReader, encodeDoc, readObject, type JsonInput, type ParseDocOptions } from './json-doc.ts';
import { gradientKey, MAX_UID } from './keys.ts';
import { isValidVersion } from './version.ts';

export interface AggregatorEntry {
  readonly uid: number;
  /** gradientKey(window, uid, version) in the miner's bucket. */
  readonly key: string;
  /** Payload bytes. */
  readonly size: number;
  /** Lowercase hex SHA-256 of the payload. */
  readonly sha256: string;
}

export interface AggregatorManifest {
  readonly window: number;
  readonly version: string;
  /** Strictly ascending uids. */
  readonly entries: readonly AggregatorEntry[];
  /** Gather peers (and tried reserves) left out: missing, late, or invalid. */
  readonly skippedUids: readonly number[];
}

export interface ParseAggregatorOptions extends ParseDocOptions {
  readonly expected?: { readonly window: number; readonly version: string };
  /** Largest acceptable payload size per entry (default 2^40). */
  readonly maxPayloadBytes?: number;
}

const SHA256 = /^[0-9a-f]{64}$/;
const MAX_ENTRIES = 4096;

function readManifest(r: DocReader, maxPayloadBytes: number): AggregatorManifest {
  const window = r.int('window');
  const version = r.string('version');
  if (!isValidVersion(version)) r.fail(`version ${JSON.stringify(version)} is not major.minor.patch`);
  const raw = r.array('entries', MAX_ENTRIES);
  const entries: AggregatorEntry[] = [];
  let prev = -1;
  for (let i = 0; i < raw.length; i++) {
    const e = raw[i];
    if (e === null || typeof e !== 'object' || Array.isArray(e)) r.fail(`entries[${i}] must be an object`);
    const er = new DocReader(e as Record<string, unknown>, 'InvalidAggregator', `aggregator manifest entries[${i}]`).exactKeys(['uid', 'key', 'size', 'sha256']);
    const uid = er.int('uid', 0, MAX_UID);
    if (uid <= prev) r.fail(`entries must have strictly ascending uids (${uid} after ${prev})`);
    prev = uid;
    const key = er.string('key');
    if (key !== gradientKey(window, uid, version)) er.fail(`key ${JSON.stringify(key)} is not ${gradientKey(window, uid, version)}`);
    entries.push(Object.freeze({ uid, key, size: er.int('size', 0, maxPayloadBytes), sha256: er.string('sha256', SHA256) }));
  }
  const skippedUids = r.uniqueInts('skipped_uids', 0, MAX_UID, MAX_ENTRIES);
  const used = new Set(entries.map((e) => e.uid));
  for (const u of skippedUids) if (used.has(u)) r.fail(`uid ${u} is both aggregated and skipped`);
  return Object.freeze({ window, version, entries: Object.freeze(entries), skippedUids: Object.freeze([...skippedUids]) });
}

function toDoc(m: AggregatorManifest): Record<string, unknown> {
  return {
    window: m.window,
    version: m.version,
    entries: m.entries.map((e) => ({ uid: e.uid, key: e.key, size: e.size, sha256: e.sha256 })),
    skipped_uids: m.skippedUids,
  };
}

/** Entries are sorted by uid here; throws InvalidAggregator on duplicates or bad fields. */
export function makeAggregatorManifest(m: AggregatorManifest): AggregatorManifest {
  const sorted = { ...m, entries: [...m.entries].sort((a, b) => a.uid - b.uid) };
  return readManifest(new DocReader(toDoc(sorted), 'InvalidAggregator', 'aggregator manifest'), Number.MAX_SAFE_INTEGER);
}

export function encodeAggregatorManifest(m: AggregatorManifest): Uint8Array {
  return encodeDoc(toDoc(makeAggregatorManifest(m)));
}

export function parseAggregatorManifest(input: JsonInput, options: ParseAggregatorOptions = {}): AggregatorManifest {
  const r = new DocReader(readObject(input, 'InvalidAggregator', 'aggregator manifest', options), 'InvalidAggregator', 'aggregator manifest');
  const m = readManifest(r.exactKeys(['window', 'version', 'entries', 'skipped_uids']), options.maxPayloadBytes ?? 2 ** 40);
  const e = options.expected;
  if (e !== undefined && (e.window !== m.window || e.version !== m.version)) {
    throw new ProtocolError('InvalidAggregator', `aggregator manifest is for ${m.version}/${m.window}, its key says ${e.version}/${e.window}`);
  }
  return m;
}
